// Transaction log: append-only segment files of CRC32-framed txns (TxnHeader + txn body in jute).
// Segment file: "ARKL" magic, int32 format version, int64 first zxid; then records of
// int32 payload length, uint32 crc32(payload), payload. A record cut short at the end of the
// last segment (a crash mid-write) is truncated on recovery; anything else that does not check
// out stops the server with the file and offset named (the rule: "torn write or damage" below).
import { crc32 } from 'node:zlib';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import { OpCode } from '../wire/protocol.js';
import { readTxnBody, readTxnHeader, writeTxnBody, writeTxnHeader, type Txn, type TxnHeader } from '../wire/txn.js';

export const LOG_MAGIC = 0x41524b4c; // "ARKL"
export const LOG_VERSION = 1;
export const LOG_HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 8;
/** sessionId, cxid, zxid, time, type: the least a record's payload holds */
const TXN_HEADER_BYTES = 32;

export class LogCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    what: string,
  ) {
    super(
      `${file}: ${what} at offset ${offset}. Ark will not guess whether the txns from there on were acknowledged: ` +
        '`ark data verify` says what to do (restore from a backup, resync an ensemble member, or accept the loss with `ark data truncate-log`)',
    );
    this.name = 'LogCorruptError';
  }
}

/**
 * The zxid and time in a record payload's TxnHeader (sessionId, cxid, zxid, time, type) at
 * `at`, read without decoding the txn.
 */
export function payloadZxid(buf: Buffer, at = 0): number {
  return buf.readInt32BE(at + 12) * 4294967296 + buf.readUInt32BE(at + 16);
}
export function payloadTime(buf: Buffer, at = 0): number {
  return buf.readInt32BE(at + 20) * 4294967296 + buf.readUInt32BE(at + 24);
}

export function encodeLogHeader(firstZxid: number): Buffer {
  return new JuteWriter(LOG_HEADER_BYTES).int(LOG_MAGIC).int(LOG_VERSION).long(firstZxid).take();
}

/** Appends one framed record to w. */
export function encodeRecord(w: JuteWriter, hdr: TxnHeader, txn: Txn): void {
  // written in place: length and checksum are patched once the payload is there
  const lenAt = w.reserveInt();
  const crcAt = w.reserveInt();
  const start = w.length;
  writeTxnHeader(w, hdr);
  writeTxnBody(w, txn);
  w.patchInt(lenAt, w.length - start);
  w.patchInt(crcAt, crc32(w.view(start)) | 0);
}

export interface LogRecord {
  hdr: TxnHeader;
  txn: Txn;
  /** offset just past this record in its segment (set by scanSegment) */
  end?: number;
}

/** Appends one framed record whose payload (TxnHeader + txn, as encodeRecord writes) is already encoded. */
export function encodeRawRecord(w: JuteWriter, payload: Uint8Array): void {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  w.int(buf.length)
    .int(crc32(buf) | 0)
    .raw(buf);
}

export interface SegmentScan {
  firstZxid: number;
  records: LogRecord[];
  /** bytes of whole, valid records including the header */
  validBytes: number;
  /** a partial record at the end (torn write) */
  tornTail: boolean;
}

/** How a segment ends after its last valid record (see judgeEnd for the rule). */
export type SegmentEnd =
  | { kind: 'clean' }
  | { kind: 'torn'; offset: number; why: string }
  | { kind: 'damage'; offset: number; what: string; resync: { offset: number; zxid: number } | null };

export interface SegmentRead {
  /** from the header; null when the file has none (empty, or all zeros: created but never written) */
  firstZxid: number | null;
  records: LogRecord[];
  /** header + whole valid records: where recovery would cut */
  validBytes: number;
  end: SegmentEnd;
}

/**
 * Reads a segment and judges how it ends; damage is data here, never an exception (the data
 * tools show it, recovery refuses on it). A segment that is empty or all zeros (created, then a
 * crash before its header reached the disk) holds no txn.
 */
export function readSegment(buf: Buffer): SegmentRead {
  if (lastNonZero(buf, 0) < 0) return { firstZxid: null, records: [], validBytes: 0, end: { kind: 'clean' } };
  const bad = (offset: number, what: string): SegmentRead => ({
    firstZxid: null,
    records: [],
    validBytes: 0,
    end: { kind: 'damage', offset, what, resync: null },
  });
  if (buf.length < LOG_HEADER_BYTES) return bad(0, `file of ${buf.length} bytes is shorter than a segment header`);
  const r = new JuteReader(buf);
  if (r.int() !== LOG_MAGIC) return bad(0, 'not an Ark txn log segment (bad magic)');
  const version = r.int();
  if (version !== LOG_VERSION) return bad(4, `segment format version ${version}, this Ark reads ${LOG_VERSION}`);
  const firstZxid = r.long();
  const records: LogRecord[] = [];
  let offset = LOG_HEADER_BYTES;
  const damaged = (what: string): SegmentRead => ({
    firstZxid,
    records,
    validBytes: offset,
    end: { kind: 'damage', offset, what, resync: null },
  });
  for (;;) {
    const rec = wholeRecord(buf, offset);
    if (rec === null) break;
    if (rec instanceof Error)
      return damaged(`a record passes its checksum but does not parse (${rec.message}); it was written by a newer or broken Ark`);
    // the writer appends only above what it appended before (FileTxnLog.checkAscending): read
    // back, a record at or below the one before it is a second history written into this file
    const prev = records.at(-1)?.hdr.zxid;
    if (prev !== undefined && rec.hdr.zxid <= prev)
      return damaged(
        `a record's zxid 0x${rec.hdr.zxid.toString(16)} is not above the one before it (0x${prev.toString(16)}): two histories were written into this segment`,
      );
    records.push(rec);
    offset = rec.end!;
  }
  const end = judgeEnd(buf, offset, records.at(-1)?.hdr.zxid ?? firstZxid - 1);
  return { firstZxid, records, validBytes: offset, end };
}

/** The record at `offset` when it is whole and checks out; an Error when it checks out but does not parse. */
function wholeRecord(buf: Buffer, offset: number): LogRecord | Error | null {
  if (buf.length - offset < RECORD_HEADER_BYTES) return null;
  const len = buf.readInt32BE(offset);
  const end = offset + RECORD_HEADER_BYTES + len;
  if (len <= 0 || end > buf.length) return null;
  const payload = buf.subarray(offset + RECORD_HEADER_BYTES, end);
  if (crc32(payload) >>> 0 !== buf.readUInt32BE(offset + 4)) return null;
  try {
    const pr = new JuteReader(payload);
    const hdr = readTxnHeader(pr);
    return { hdr, txn: readTxnBody(pr, hdr.type, hdr.sessionId), end };
  } catch (e) {
    return e as Error;
  }
}

/**
 * Reads a segment; damage throws LogCorruptError, a torn last record is reported (tornTail) for
 * the caller to cut. For code that reads segments whose judgement was made (archive, TRUNC).
 */
export function scanSegment(file: string, buf: Buffer): SegmentScan {
  const s = readSegment(buf);
  if (s.end.kind === 'damage') throw new LogCorruptError(file, s.end.offset, s.end.what);
  return { firstZxid: s.firstZxid ?? 0, records: s.records, validBytes: s.validBytes, tornTail: s.end.kind === 'torn' };
}

// ---------- torn write or damage ----------
//
// How Ark writes the log (FileTxnLog): segments are preallocated sparsely, so unwritten space
// reads as zeros; each group commit is ONE write of whole records right after the previous
// commit's, then fdatasync, and no txn of it is acknowledged before that returns; the next
// commit is written only after that (one commit in flight). A crash can therefore leave only the
// in-flight commit unfinished: a prefix of it, or any subset of its sectors in any order (the page
// cache and the disk's cache both reorder), with what did not reach the disk still reading as
// zeros, or the file shorter than the commit (the size change of a preallocation was lost).
// Everything before that commit is durable and must check out.
//
// So where valid records stop (at V), the bytes from V on are either zeros (the end of the log)
// or the unfinished commit. A record at V is TORN - cut off with a warning, because no txn from V
// on was ever acknowledged - only when a crash can have produced exactly what is there:
//   - nothing but zeros follows the record's extent (the file ends inside it, or the rest is zero),
//   - no whole record with a good checksum starts anywhere after V,
//   - and the record is visibly incomplete: the file ends inside its header, or its length runs
//     past the end of the file, or its last more than 8 bytes are zeros (its end never reached
//     the disk; a txn's own last bytes hold at most 4 zero bytes, e.g. an empty paths2Delete or a
//     check of version 0), or a whole 512-byte sector inside it is zeros (a sector that did not
//     reach the disk while later ones did).
// Everything else is DAMAGE, and start-up refuses naming the file, the offset and what to do:
//   - a record whose every byte is there (no missing end, no zeroed sector, nothing after it) but
//     whose checksum fails: a flipped bit in an acknowledged txn (issue 12; ZooKeeper 3.8 refuses
//     to start with "CRC check failed" on the same); also a length field damaged so that the
//     record claims zeros after it, found by the payload parsing whole at another length that
//     matches the checksum;
//   - anything after the bad record: a whole valid record may be an acknowledged txn;
//   - a zero header followed by data; a negative length; any of this in a segment not the last.
// Crash shapes this refuses anyway (the price of never dropping an acknowledged txn): a commit
// whose later sectors reached the disk while an earlier one did not (data after the hole), and a
// cut that left at most 8 zero bytes at a record's end. Both are rare; after a power loss the
// operator accepts the cut explicitly with `ark data truncate-log`. The converse blind spot:
// damage that zeroes the end of the last record looks exactly like a torn write.

const SECTOR = 512;
/** a zeroed end of a record must be longer than this to count as never written */
const ZERO_TAIL_MIN = 8;

function judgeEnd(buf: Buffer, at: number, lastZxid: number): SegmentEnd {
  const last = lastNonZero(buf, at);
  if (last < 0) return { kind: 'clean' };
  const damage = (what: string, resync: { offset: number; zxid: number } | null = null): SegmentEnd => ({
    kind: 'damage',
    offset: at,
    what,
    resync,
  });
  const resync = findValidRecordAfter(buf, at, lastZxid);
  if (resync)
    return damage(
      `${badRecord(buf, at)} while whole records follow (zxid 0x${resync.zxid.toString(16)} at offset ${resync.offset})`,
      resync,
    );
  if (buf.length - at < RECORD_HEADER_BYTES) return { kind: 'torn', offset: at, why: 'the file ends inside a record header' };
  const len = buf.readInt32BE(at);
  if (len < 0) return damage(`negative record length ${len}`);
  const end = at + RECORD_HEADER_BYTES + len;
  if (last >= end)
    return damage(len === 0 ? 'data after the zero-filled end of the log' : `data after a record (length ${len}) that fails its checksum`);
  if (wholeWithOtherLength(buf, at, len))
    return damage(`record length ${len} is damaged: the record is whole and matches its checksum at another length`);
  if (end > buf.length) return { kind: 'torn', offset: at, why: `its length (${len}) runs past the end of the file` };
  const zeroFrom = lastNonZero(buf.subarray(0, end), at) + 1;
  if (end - zeroFrom > ZERO_TAIL_MIN)
    return { kind: 'torn', offset: at, why: `its last ${end - zeroFrom} bytes were never written (zeros)` };
  const hole = zeroedSector(buf, at, end);
  if (hole !== null) return { kind: 'torn', offset: at, why: `its sector at offset ${hole} was never written (zeros)` };
  return damage(
    'record checksum mismatch in a record that is completely written (nothing of it is missing and nothing follows): damage to the bytes, not a write cut short by a crash',
  );
}

/** What is wrong with the record at `at` on its own. */
function badRecord(buf: Buffer, at: number): string {
  if (buf.length - at < RECORD_HEADER_BYTES) return 'a record header cut short';
  const len = buf.readInt32BE(at);
  if (len < 0) return `negative record length ${len}`;
  if (len === 0) return 'a zero record header';
  return at + RECORD_HEADER_BYTES + len > buf.length ? `record length ${len} runs past the end of the file` : 'record checksum mismatch';
}

/** A whole 512-byte sector inside the record [at, end) that holds only zeros. */
function zeroedSector(buf: Buffer, at: number, end: number): number | null {
  for (let s = Math.ceil(at / SECTOR) * SECTOR; s + SECTOR <= end; s += SECTOR) {
    if (lastNonZero(buf.subarray(s, s + SECTOR), 0) < 0) return s;
  }
  return null;
}

/** The payload at `at` parses as a txn of another length whose checksum is the record's: its length field was damaged. */
function wholeWithOtherLength(buf: Buffer, at: number, len: number): boolean {
  const p = at + RECORD_HEADER_BYTES;
  let parsed: number;
  try {
    const r = new JuteReader(buf, p);
    const hdr = readTxnHeader(r);
    readTxnBody(r, hdr.type, hdr.sessionId);
    parsed = r.position - p;
  } catch {
    return false;
  }
  return parsed !== len && crc32(buf.subarray(p, p + parsed)) >>> 0 === buf.readUInt32BE(at + 4);
}

const TXN_TYPES = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
  OpCode.error,
  OpCode.createSession,
  OpCode.closeSession,
  OpCode.restoreSubtree,
]);

/**
 * After a record that does not check out at `from`: the first later offset where a whole record
 * with a good checksum and a plausible header (zxid after `afterZxid`, a known txn type) starts.
 * A crash mid-write leaves nothing valid after the torn record; a valid record after it means
 * the bytes were damaged in place.
 */
export function findValidRecordAfter(buf: Buffer, from: number, afterZxid: number): { offset: number; zxid: number } | null {
  const end = lastNonZero(buf, from) + 1;
  for (let off = from + 1; off + RECORD_HEADER_BYTES + TXN_HEADER_BYTES <= end; off++) {
    const len = buf.readInt32BE(off);
    if (len < TXN_HEADER_BYTES || off + RECORD_HEADER_BYTES + len > buf.length) continue;
    const p = off + RECORD_HEADER_BYTES;
    const zxid = payloadZxid(buf, p);
    if (zxid <= afterZxid || !Number.isSafeInteger(zxid) || !TXN_TYPES.has(buf.readInt32BE(p + 28))) continue;
    if (crc32(buf.subarray(p, p + len)) >>> 0 !== buf.readUInt32BE(off + 4)) continue;
    return { offset: off, zxid };
  }
  return null;
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Index of the last non-zero byte at or after `from`, -1 when there is none. Compares 64 KiB at a
 * time with zeros (memcmp): a segment is mostly preallocated zeros (64 MiB by default).
 */
function lastNonZero(buf: Buffer, from: number): number {
  for (let end = buf.length; end > from; ) {
    const start = Math.max(from, end - ZEROS.length);
    if (buf.compare(ZEROS, 0, end - start, start, end) !== 0) {
      for (let i = end - 1; i >= start; i--) if (buf[i] !== 0) return i;
    }
    end = start;
  }
  return -1;
}

export function segmentName(firstZxid: number): string {
  return `log.${firstZxid.toString(16).padStart(16, '0')}`;
}

export function parseSegmentName(name: string): number | null {
  const m = /^log\.([0-9a-f]{16})$/.exec(name);
  return m ? parseInt(m[1]!, 16) : null;
}
