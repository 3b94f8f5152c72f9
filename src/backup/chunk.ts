// The links of the archive's chain (chain.ts), as files: a chunk of committed txns, or a jump.
//
//   header (CHUNK_HEADER_BYTES): "ARKA", int32 format version (2), int64 prevZxid, int64 firstZxid,
//          int64 lastZxid, int32 count, int64 firstTime, int64 lastTime, int64 lastCrc (the crc32
//          field of its last record, as the log framed it; -1 for a jump, which has none), uint32
//          crc32 of the bytes before it
//   then `count` records framed as in the txn log (txnlog.ts): int32 length, uint32 crc32, payload
//   (ZooKeeper's TxnHeader + txn body)
//
// A chunk says which txn it continues (prevZxid: the zxid of the committed txn, or of the backup,
// right before its first one), so the archive is a chain that proves its own continuity across
// epochs, leader changes and restores, whoever wrote each link. It is complete only when its
// header checks out and its records are exactly `count`, from firstZxid to lastZxid, each
// following the one before (+1, or the first txn of a later epoch). Records are copied as the log
// wrote them, checksums included. A jump is a header alone: count 0, firstZxid = lastZxid = the
// base backup the chain continues from.
//
// lastCrc is the chain's proof of history at its end: a member extends the chain only from a txn
// whose record in its own log has that checksum, so another history (a server restored elsewhere,
// another cluster pointed at the same archive) cannot write its txns onto this one where the
// zxids happen to line up (archiver.ts, logreader.ts). Version 1 had no lastCrc; its headers are
// refused by name, not misread.
import { crc32 } from 'node:zlib';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import { readTxnBody, readTxnHeader } from '../wire/txn.js';
import type { LogRecord } from '../storage/txnlog.js';
import type { RecordRun } from '../storage/logreader.js';
import { followsAcrossEpochs } from '../util/zxid.js';

export const CHUNK_MAGIC = 0x41524b41; // "ARKA"
export const CHUNK_VERSION = 2;
export const CHUNK_HEADER_BYTES = 64;
const RECORD_HEADER_BYTES = 8;

/** What a chunk's header says: the run of txns it holds as the log reader describes one (RecordRun). */
export interface ChunkHeader extends Omit<RecordRun, 'bytes' | 'lastCrc'> {
  /** the crc32 field of the last record (null: a jump, which holds none) */
  lastCrc: number | null;
}

export class ChunkCorruptError extends Error {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`${file}: ${what}`);
    this.name = 'ChunkCorruptError';
  }
}

export function encodeChunkHeader(h: ChunkHeader): Buffer {
  const w = new JuteWriter(CHUNK_HEADER_BYTES);
  w.int(CHUNK_MAGIC)
    .int(CHUNK_VERSION)
    .long(h.prevZxid)
    .long(h.firstZxid)
    .long(h.lastZxid)
    .int(h.count)
    .long(h.firstTime)
    .long(h.lastTime)
    .long(h.lastCrc ?? -1);
  const body = w.take();
  const out = Buffer.alloc(CHUNK_HEADER_BYTES);
  body.copy(out);
  out.writeUInt32BE(crc32(body) >>> 0, CHUNK_HEADER_BYTES - 4);
  return out;
}

/** Reads a chunk's header (the first CHUNK_HEADER_BYTES of the file). */
export function readChunkHeader(file: string, buf: Buffer): ChunkHeader {
  // magic and version first: an older header is shorter, and would otherwise read as a damaged one
  if (buf.length >= 8 && buf.readUInt32BE(0) === CHUNK_MAGIC && buf.readInt32BE(4) !== CHUNK_VERSION) {
    throw new ChunkCorruptError(
      file,
      `chunk format version ${buf.readInt32BE(4)}; this Ark reads version ${CHUNK_VERSION} only. ` +
        'The archive was written by another Ark version: point backup.archiveDir (and ark restore --archive) at an archive this version wrote, or a new, empty directory',
    );
  }
  if (buf.length < CHUNK_HEADER_BYTES) throw new ChunkCorruptError(file, `only ${buf.length} bytes: shorter than a chunk header`);
  if (crc32(buf.subarray(0, CHUNK_HEADER_BYTES - 4)) >>> 0 !== buf.readUInt32BE(CHUNK_HEADER_BYTES - 4))
    throw new ChunkCorruptError(file, 'header checksum mismatch');
  const r = new JuteReader(buf.subarray(0, CHUNK_HEADER_BYTES - 4));
  if (r.int() !== CHUNK_MAGIC) throw new ChunkCorruptError(file, 'not an Ark archive chunk (bad magic)');
  r.int(); // the version, checked above
  const h = { prevZxid: r.long(), firstZxid: r.long(), lastZxid: r.long(), count: r.int(), firstTime: r.long(), lastTime: r.long() };
  const crc = r.long();
  const jump = h.count === 0 && h.firstZxid === h.lastZxid;
  if (h.count < 0 || h.firstZxid <= h.prevZxid || h.lastZxid < h.firstZxid || (h.count === 0 && !jump))
    throw new ChunkCorruptError(file, 'header describes no run of txns and no jump');
  if (jump ? crc !== -1 : crc < 0 || crc > 0xffffffff) throw new ChunkCorruptError(file, 'header names no checksum for its last txn');
  return { ...h, lastCrc: jump ? null : crc };
}

/** Does `next` directly follow `prev` in one committed history (+1, or the first txn of a later epoch)? */
export const follows = followsAcrossEpochs;

/**
 * Reads and checks a whole chunk: header, every record's checksum, count, the zxid run and its
 * times. Returns the header and the decoded txns.
 */
export function readChunk(file: string, buf: Buffer): { header: ChunkHeader; records: LogRecord[] } {
  const header = readChunkHeader(file, buf);
  const records: LogRecord[] = [];
  let offset = CHUNK_HEADER_BYTES;
  let prev = header.prevZxid;
  let lastCrc: number | null = null;
  while (offset < buf.length) {
    if (buf.length - offset < RECORD_HEADER_BYTES) throw new ChunkCorruptError(file, `a record header is cut short at offset ${offset}`);
    const len = buf.readInt32BE(offset);
    const end = offset + RECORD_HEADER_BYTES + len;
    if (len < 28 || end > buf.length) throw new ChunkCorruptError(file, `record at offset ${offset} runs past the end of the chunk`);
    const payload = buf.subarray(offset + RECORD_HEADER_BYTES, end);
    if (crc32(payload) >>> 0 !== buf.readUInt32BE(offset + 4))
      throw new ChunkCorruptError(file, `record checksum mismatch at offset ${offset}`);
    const pr = new JuteReader(payload);
    const hdr = readTxnHeader(pr);
    if (!follows(prev, hdr.zxid))
      throw new ChunkCorruptError(file, `txn 0x${hdr.zxid.toString(16)} does not follow 0x${prev.toString(16)}`);
    records.push({ hdr, txn: readTxnBody(pr, hdr.type, hdr.sessionId) });
    lastCrc = buf.readUInt32BE(offset + 4);
    prev = hdr.zxid;
    offset = end;
  }
  if (records.length !== header.count)
    throw new ChunkCorruptError(file, `holds ${records.length} txns, its header says ${header.count}: the chunk is incomplete`);
  if (header.count === 0) return { header, records }; // a jump
  const first = records[0]!.hdr;
  const last = records[records.length - 1]!.hdr;
  if (first.zxid !== header.firstZxid || last.zxid !== header.lastZxid)
    throw new ChunkCorruptError(file, 'its txns do not match the zxids its header names');
  if (first.time !== header.firstTime || last.time !== header.lastTime)
    throw new ChunkCorruptError(file, 'its txns do not match the times its header names');
  if (lastCrc !== header.lastCrc) throw new ChunkCorruptError(file, "its last txn's checksum differs from the one its header names");
  return { header, records };
}

/** The crc32 field the log's framing gives a record payload: what a chunk header's lastCrc names. */
export function recordCrc(payload: Uint8Array): number {
  return crc32(payload) >>> 0;
}

/** Frames one record payload as the log does (for chunks assembled from decoded txns: tests, the simulator). */
export function frameRecord(w: JuteWriter, payload: Buffer): void {
  w.int(payload.length)
    .int(crc32(payload) | 0)
    .raw(payload);
}
