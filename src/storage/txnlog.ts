// Transaction log: append-only segment files of CRC32-framed txns (TxnHeader + txn body in jute).
// Segment file: "ARKL" magic, int32 format version, int64 first zxid; then records of
// int32 payload length, uint32 crc32(payload), payload. A record cut short at the end of the
// last segment (a crash mid-write) is truncated on recovery; anything else that does not check
// out stops the server with the file and offset named.
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
  constructor(readonly file: string, readonly offset: number, what: string) {
    super(`${file}: ${what} at offset ${offset}. The log is damaged before its end, so Ark will not guess: ` +
      'restore this server from a backup or let it resync from its ensemble; move the file aside only if you accept losing the txns from that point on');
    this.name = 'LogCorruptError';
  }
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
  w.int(buf.length).int(crc32(buf) | 0).raw(buf);
}

export interface SegmentScan {
  firstZxid: number;
  records: LogRecord[];
  /** bytes of whole, valid records including the header */
  validBytes: number;
  /** a partial record at the end (torn write) */
  tornTail: boolean;
}

/**
 * Reads a segment. A record that runs past the end of the file is a torn tail; a full-length
 * record whose checksum fails, or a bad header, throws LogCorruptError. Zero fill at the end
 * (length 0) ends the segment.
 */
export function scanSegment(file: string, buf: Buffer): SegmentScan {
  if (buf.length < LOG_HEADER_BYTES) {
    if (buf.length === 0) return { firstZxid: 0, records: [], validBytes: 0, tornTail: true };
    throw new LogCorruptError(file, 0, `file of ${buf.length} bytes is shorter than a segment header`);
  }
  const r = new JuteReader(buf);
  if (r.int() !== LOG_MAGIC) throw new LogCorruptError(file, 0, 'not an Ark txn log segment (bad magic)');
  const version = r.int();
  if (version !== LOG_VERSION) throw new LogCorruptError(file, 4, `segment format version ${version}, this Ark reads ${LOG_VERSION}`);
  const firstZxid = r.long();
  const records: LogRecord[] = [];
  let offset = LOG_HEADER_BYTES;
  while (offset < buf.length) {
    if (buf.length - offset < RECORD_HEADER_BYTES) {
      return { firstZxid, records, validBytes: offset, tornTail: !allZero(buf, offset) };
    }
    const len = buf.readInt32BE(offset);
    const crc = buf.readUInt32BE(offset + 4);
    if (len === 0 && crc === 0) {
      if (!allZero(buf, offset)) throw new LogCorruptError(file, offset, 'data after the zero-filled end of the log');
      return { firstZxid, records, validBytes: offset, tornTail: false };
    }
    if (len < 0) throw new LogCorruptError(file, offset, `negative record length ${len}`);
    const end = offset + RECORD_HEADER_BYTES + len;
    const payloadOk = end <= buf.length && (crc32(buf.subarray(offset + RECORD_HEADER_BYTES, end)) >>> 0) === crc;
    if (!payloadOk) {
      // A crash mid-write leaves the last record cut short (past the end, or followed only by
      // zeros). If a whole record still follows, this is damage, not a tear: never drop what follows.
      const tail = end > buf.length || allZero(buf, end);
      if (tail && !findValidRecordAfter(buf, offset, records[records.length - 1]?.hdr.zxid ?? -1)) return { firstZxid, records, validBytes: offset, tornTail: true };
      throw new LogCorruptError(file, offset, end > buf.length ? `record length ${len} runs past the end of the file while whole records follow` : 'record checksum mismatch');
    }
    const payload = buf.subarray(offset + RECORD_HEADER_BYTES, end);
    const pr = new JuteReader(payload);
    const hdr = readTxnHeader(pr);
    const txn = readTxnBody(pr, hdr.type, hdr.sessionId);
    records.push({ hdr, txn, end });
    offset = end;
  }
  return { firstZxid, records, validBytes: offset, tornTail: false };
}

const TXN_TYPES = new Set<number>([OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.delete,
  OpCode.deleteContainer, OpCode.setData, OpCode.setACL, OpCode.check, OpCode.multi, OpCode.error, OpCode.createSession, OpCode.closeSession]);

/**
 * After a record that does not check out at `from`: the first later offset where a whole record
 * with a good checksum and a plausible header (zxid after `afterZxid`, a known txn type) starts.
 * A crash mid-write leaves nothing valid after the torn record; a valid record after it means
 * the bytes were damaged in place.
 */
export function findValidRecordAfter(buf: Buffer, from: number, afterZxid: number): { offset: number; zxid: number } | null {
  let end = buf.length;
  while (end > from && buf[end - 1] === 0) end--;
  for (let off = from + 1; off + RECORD_HEADER_BYTES + TXN_HEADER_BYTES <= end; off++) {
    const len = buf.readInt32BE(off);
    if (len < TXN_HEADER_BYTES || off + RECORD_HEADER_BYTES + len > buf.length) continue;
    const p = off + RECORD_HEADER_BYTES;
    const zxid = buf.readInt32BE(p + 12) * 4294967296 + buf.readUInt32BE(p + 16);
    if (zxid <= afterZxid || !Number.isSafeInteger(zxid) || !TXN_TYPES.has(buf.readInt32BE(p + 28))) continue;
    if ((crc32(buf.subarray(p, p + len)) >>> 0) !== buf.readUInt32BE(off + 4)) continue;
    return { offset: off, zxid };
  }
  return null;
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

export function segmentName(firstZxid: number): string {
  return `log.${firstZxid.toString(16).padStart(16, '0')}`;
}

export function parseSegmentName(name: string): number | null {
  const m = /^log\.([0-9a-f]{16})$/.exec(name);
  return m ? parseInt(m[1]!, 16) : null;
}
