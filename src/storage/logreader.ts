// Reading a run of committed txns back out of this server's own txn log, as the log framed them
// (for the archive: chunks copy records, checksums and all, without decoding the txns). Reads go
// block by block off the event loop; the segment being appended to is read only up to `upTo`,
// which the caller knows to be on disk.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { listSegments } from './filelog.js';
import { crossesBreak, listBreaks, type LogBreak } from './logbreaks.js';
import { LOG_HEADER_BYTES, payloadTime, payloadZxid } from './txnlog.js';
import { counterOf, followsAcrossEpochs as follows, hexZxid, isEpochStart } from '../util/zxid.js';

const RECORD_HEADER_BYTES = 8;
const BLOCK_BYTES = 1024 * 1024;

export interface RecordRun {
  /** the txn (or snapshot) the run continues */
  prevZxid: number;
  firstZxid: number;
  lastZxid: number;
  count: number;
  /** txn times (the leader's clock when each was decided), ms */
  firstTime: number;
  lastTime: number;
  /** the crc32 field of the last record, as the log framed it (what the chunk header names) */
  lastCrc: number;
  /** the records, framed as in the log */
  bytes: Buffer;
}

export interface RunRequest {
  /** the run starts right after this txn */
  after: number;
  /** and ends at this txn at the latest */
  upTo: number;
  /** stops before the record that would take it past this many bytes (at least one record is taken) */
  bytesMax: number;
  /**
   * zxids of this server's snapshots: a snapshot at `after` lets the run start at the log's first
   * txn after it; a run never passes over one (the log skipped the txns it holds, or a restore's
   * snapshot, counter 0, started another history there)
   */
  snapshots: readonly number[];
  /**
   * the checksum the archive holds for the txn at `after` (null: nothing to compare, `after` is a
   * base): when this log holds `after` with another checksum it is another history ('diverged')
   */
  afterCrc?: number | null;
}

/** One framed record as a segment holds it; `framed` is a view into the block read (no copy). */
interface SegmentRecord {
  zxid: number;
  time: number;
  crc: number;
  framed: Buffer;
}

/**
 * Visits the framed records of one segment file in order until `visit` returns false or the
 * records end (the zero fill, or a record still being written). The file is read a block at a
 * time off the event loop; the records of a block are visited synchronously (a chunk's 200k txns
 * cost one await per block, not one per record: bench/logreader.ts).
 */
async function scanSegment(file: string, order: ZxidOrder, visit: (r: SegmentRecord) => boolean): Promise<void> {
  const fh = await open(file, 'r');
  try {
    // records appended after this are past what the caller asks for (it knows `upTo` is on disk)
    const size = (await fh.stat()).size;
    let pos = LOG_HEADER_BYTES; // file offset of buf[0]
    let buf = Buffer.alloc(0);
    for (;;) {
      const room = size - pos; // the bytes from buf[0] to the end of the file
      if (room <= buf.length) return; // what is left is a record still being written
      // a fresh block each time (the visitor may keep views into the last one), large enough for
      // the record it starts with, never past the end of the file (a damaged length is not an allocation)
      const need = buf.length >= RECORD_HEADER_BYTES ? RECORD_HEADER_BYTES + Math.max(0, buf.readInt32BE(0)) : 0;
      const block = Buffer.allocUnsafe(Math.min(Math.max(BLOCK_BYTES, need), room));
      buf.copy(block);
      const { bytesRead } = await fh.read(block, buf.length, block.length - buf.length, pos + buf.length);
      if (bytesRead === 0) return;
      buf = block.subarray(0, buf.length + bytesRead);
      let at = 0;
      for (;;) {
        if (buf.length - at < RECORD_HEADER_BYTES) break;
        const len = buf.readInt32BE(at);
        if (len <= 0) return; // the preallocated zeros after the last record
        if (buf.length - at < RECORD_HEADER_BYTES + len) break;
        const framed = buf.subarray(at, at + RECORD_HEADER_BYTES + len);
        const payload = framed.subarray(RECORD_HEADER_BYTES);
        const crc = framed.readUInt32BE(4);
        if (crc32(payload) >>> 0 !== crc) throw new Error(`${file}: record checksum mismatch at offset ${pos + at}`);
        const zxid = payloadZxid(payload);
        checkAscending(order, zxid, file, pos + at);
        if (!visit({ zxid, time: payloadTime(payload), crc, framed })) return;
        at += framed.length;
      }
      pos += at;
      buf = buf.subarray(at);
    }
  } finally {
    await fh.close();
  }
}

/** The last zxid a run's scan read, across the segments it reads in turn. */
interface ZxidOrder {
  last: number | null;
}

/**
 * FileTxnLog appends only above what it appended, across segments too; read back, a record at or
 * below one read before is a second history in this log, never a record to pass over (readSegment
 * refuses the same in a segment; the archive must not ship a run from such a log).
 */
function checkAscending(order: ZxidOrder, zxid: number, file: string, offset: number): void {
  if (order.last !== null && zxid <= order.last) {
    throw new Error(
      `${file}: the record at offset ${offset} has zxid ${hexZxid(zxid)}, not above the ${hexZxid(order.last)} read before it: two histories in one log`,
    );
  }
  order.last = zxid;
}

/** Views of consecutive records, joined where they lie side by side in one block: copied once, at the end. */
class Gather {
  private readonly parts: Buffer[] = [];
  bytes = 0;
  count = 0;

  add(framed: Buffer): void {
    const last = this.parts.at(-1);
    if (last && last.buffer === framed.buffer && last.byteOffset + last.length === framed.byteOffset) {
      this.parts[this.parts.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + framed.length);
    } else {
      this.parts.push(framed);
    }
    this.bytes += framed.length;
    this.count++;
  }

  take(): Buffer {
    return Buffer.concat(this.parts, this.bytes);
  }
}

/**
 * Where a run may not go from `prev` to the record `next`: across a break a SNAP install recorded
 * (logbreaks.ts), or past a snapshot strictly between them (the log skipped the txns the snapshot
 * holds: a second guard for a break whose file is missing, and a restore's base, whose epoch's
 * first txn does not follow what came before).
 */
function barrier(breaks: readonly LogBreak[], snapshots: readonly number[], prev: number, next: number): boolean {
  return crossesBreak(breaks, prev, next) || snapshots.some((s) => s > prev && s < next);
}

/** Can the log's first record after `after` continue it, from the txn itself or a snapshot at it? */
function continuesFrom(after: number, first: number, snapshots: ReadonlySet<number>): boolean {
  // a restore's base (epoch << 32) is followed by its epoch's first txn whatever the snapshot
  // files left (only the leader of that epoch, whose history starts there, made it)
  const restoreBase = isEpochStart(after) && first === after + 1;
  const fromStart = after === 0 && counterOf(first) === 1 && ![...snapshots].some((s) => s < first && s > 0);
  return (restoreBase || snapshots.has(after) || fromStart) && follows(after, first);
}

/** The segment to read from: the last one starting at or before `after` (it holds the txn at `after`, whose record the run must see). */
function firstSegment(segs: ReadonlyArray<{ firstZxid: number }>, after: number): number {
  let start = 0;
  for (let i = 0; i < segs.length; i++) if (segs[i]!.firstZxid <= after) start = i;
  return start;
}

/**
 * The committed txns after `after` up to `upTo` from the log in `logDir` (an ark-v1 directory), or
 * 'missing' when this log cannot continue from `after` (it starts later, holds another history,
 * or breaks there: a SNAP install kept the old log only up to `after`), or 'diverged' when it holds
 * a txn at `after` that is not the archived one (req.afterCrc). A log that holds no record at
 * `after` (it continues from a snapshot there) cannot be compared: the zxid alone vouches for it.
 */
export async function readRecordRun(logDir: string, req: RunRequest): Promise<RecordRun | 'missing' | 'diverged'> {
  const segs = listSegments(logDir);
  const breaks = listBreaks(logDir);
  const snapshots = new Set(req.snapshots);
  const out = new Gather();
  let prev: number | null = null;
  let first = { zxid: 0, time: 0 };
  let last = { zxid: 0, time: 0, crc: 0 };
  const state: { end: 'more' | 'done' | 'missing' | 'diverged' } = { end: 'more' };
  // false: stop reading (the run ends here, or cannot be read)
  const visit = (r: SegmentRecord): boolean => {
    if (r.zxid <= req.after) {
      if (r.zxid !== req.after) return true;
      if (req.afterCrc != null && r.crc !== req.afterCrc) {
        state.end = 'diverged';
        return false;
      }
      prev = r.zxid;
      return true;
    }
    if (r.zxid > req.upTo) {
      state.end = 'done';
      return false;
    }
    if (prev === null) {
      // the first record after `after`, and this log does not hold `after` itself
      if (!continuesFrom(req.after, r.zxid, snapshots)) {
        state.end = 'missing';
        return false;
      }
      prev = req.after;
    }
    // kept segments end where the snapshot of a SNAP begins; a restore starts another history
    if (barrier(breaks, req.snapshots, prev, r.zxid) || !follows(prev, r.zxid)) {
      state.end = 'done';
      return false;
    }
    if (out.count > 0 && out.bytes + r.framed.length > req.bytesMax) {
      state.end = 'done';
      return false;
    }
    if (out.count === 0) first = { zxid: r.zxid, time: r.time };
    last = { zxid: r.zxid, time: r.time, crc: r.crc };
    out.add(r.framed);
    prev = r.zxid;
    if (r.zxid === req.upTo) {
      state.end = 'done';
      return false;
    }
    return true;
  };
  const order: ZxidOrder = { last: null };
  for (let i = firstSegment(segs, req.after); i < segs.length && state.end === 'more'; i++)
    await scanSegment(join(logDir, segs[i]!.name), order, visit);
  if (state.end === 'missing' || state.end === 'diverged') return state.end;
  // nothing after `after` that this log can vouch for (it starts later, or its history forks there)
  if (prev === null || out.count === 0) return 'missing';
  return {
    prevZxid: req.after,
    firstZxid: first.zxid,
    lastZxid: last.zxid,
    count: out.count,
    firstTime: first.time,
    lastTime: last.time,
    lastCrc: last.crc,
    bytes: out.take(),
  };
}
