// Reading a run of committed txns back out of this server's own txn log, as the log framed them
// (for the archive: chunks copy records, checksums and all, without decoding the txns). Reads go
// block by block off the event loop; the segment being appended to is read only up to `upTo`,
// which the caller knows to be on disk.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { listSegments } from './filelog.js';
import { LOG_HEADER_BYTES } from './txnlog.js';

const RECORD_HEADER_BYTES = 8;
const BLOCK_BYTES = 1024 * 1024;
const TWO_32 = 4294967296;

/** Does `next` directly follow `prev` in one history (+1, or the first txn of a later epoch)? */
function follows(prev: number, next: number): boolean {
  return next === prev + 1 || (Math.floor(next / TWO_32) > Math.floor(prev / TWO_32) && next % TWO_32 === 1);
}

export interface RecordRun {
  /** the txn (or snapshot) the run continues */
  prevZxid: number;
  firstZxid: number;
  lastZxid: number;
  count: number;
  firstTime: number;
  lastTime: number;
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
   * txn after it; a restore's snapshot (counter 0) starts another history, which a run never crosses
   */
  snapshots: readonly number[];
}

/** Framed records of one segment file, in order, one block read at a time; stops at the zero fill. */
async function* segmentRecords(file: string): AsyncGenerator<{ zxid: number; time: number; framed: Buffer }> {
  const fh = await open(file, 'r');
  try {
    let pos = LOG_HEADER_BYTES;
    let buf = Buffer.alloc(0);
    let eof = false;
    for (;;) {
      while (!eof && buf.length < RECORD_HEADER_BYTES) eof = await fill();
      if (buf.length < RECORD_HEADER_BYTES) return;
      const len = buf.readInt32BE(0);
      if (len <= 0) return; // the preallocated zeros after the last record
      while (!eof && buf.length < RECORD_HEADER_BYTES + len) eof = await fill();
      if (buf.length < RECORD_HEADER_BYTES + len) return; // a record still being written (past what the caller asks for)
      const framed = buf.subarray(0, RECORD_HEADER_BYTES + len);
      const payload = framed.subarray(RECORD_HEADER_BYTES);
      if ((crc32(payload) >>> 0) !== framed.readUInt32BE(4)) throw new Error(`${file}: record checksum mismatch at offset ${pos}`);
      yield { zxid: payload.readInt32BE(12) * TWO_32 + payload.readUInt32BE(16), time: payload.readInt32BE(20) * TWO_32 + payload.readUInt32BE(24), framed };
      buf = buf.subarray(framed.length);
      pos += framed.length;
    }
    async function fill(): Promise<boolean> {
      const block = Buffer.alloc(BLOCK_BYTES);
      const { bytesRead } = await fh.read(block, 0, BLOCK_BYTES, pos + buf.length);
      buf = Buffer.concat([buf, block.subarray(0, bytesRead)]);
      return bytesRead === 0;
    }
  } finally {
    await fh.close();
  }
}

/**
 * The committed txns after `after` up to `upTo` from the log in `logDir` (an ark-v1 directory), or
 * 'missing' when this log cannot continue from `after` (it starts later, or holds another history).
 */
export async function readRecordRun(logDir: string, req: RunRequest): Promise<RecordRun | 'missing'> {
  const segs = listSegments(logDir);
  // the segment that holds `after` (or the first txn after it): the last one starting at or before after + 1
  let start = 0;
  for (let i = 0; i < segs.length; i++) if (segs[i]!.firstZxid <= req.after + 1) start = i;
  const snapshots = new Set(req.snapshots);
  const framed: Buffer[] = [];
  let bytes = 0;
  let prev: number | null = null;
  let first = { zxid: 0, time: 0 };
  let last = { zxid: 0, time: 0 };
  scan: for (let i = start; i < segs.length; i++) {
    for await (const r of segmentRecords(join(logDir, segs[i]!.name))) {
      if (r.zxid <= req.after) {
        if (r.zxid === req.after) prev = r.zxid;
        continue;
      }
      if (r.zxid > req.upTo) break scan;
      if (prev === null) {
        // the first record after `after`: it must continue it, from the txn itself or a snapshot at
        // it; a restore's base (epoch << 32) is followed by its epoch's first txn whatever the
        // snapshot files left (only the leader of that epoch, whose history starts there, made it)
        const restoreBase = req.after > 0 && req.after % TWO_32 === 0 && r.zxid === req.after + 1;
        const fromSnapshot = restoreBase || snapshots.has(req.after) || (req.after === 0 && r.zxid % TWO_32 === 1 && ![...snapshots].some((s) => s < r.zxid && s > 0));
        if (!fromSnapshot || !follows(req.after, r.zxid)) return 'missing';
        prev = req.after;
      }
      // a restore's snapshot starts another history at epoch << 32: its first txn does not follow what came before
      if (r.zxid % TWO_32 === 1 && snapshots.has(r.zxid - 1) && prev !== r.zxid - 1) break scan;
      // segments a SNAP left for the archive end where the snapshot begins: the run ends there too
      if (!follows(prev, r.zxid)) break scan;
      if (framed.length > 0 && bytes + r.framed.length > req.bytesMax) break scan;
      if (framed.length === 0) first = { zxid: r.zxid, time: r.time };
      last = { zxid: r.zxid, time: r.time };
      framed.push(Buffer.from(r.framed));
      bytes += r.framed.length;
      prev = r.zxid;
      if (r.zxid === req.upTo) break scan;
    }
  }
  // nothing after `after` that this log can vouch for (it starts later, or its history forks there)
  if (prev === null || framed.length === 0) return 'missing';
  return { prevZxid: req.after, firstZxid: first.zxid, lastZxid: last.zxid, count: framed.length, firstTime: first.time, lastTime: last.time, bytes: Buffer.concat(framed) };
}
