// Apache ZooKeeper's on-disk formats (read side), for import and for checking Ark against
// ZooKeeper: snapshot.<zxid> (FileSnap) and log.<zxid> (FileTxnLog), both jute with Adler32.
// Layouts: ../shared/reference/zookeeper.md section 4.
import { JuteReader } from '../wire/jute.js';
import { readACLs, readStatPersisted, type ACL, type StatPersisted } from '../wire/protocol.js';
import { readTxnBody, readTxnHeader, type Txn, type TxnHeader } from '../wire/txn.js';

export const ZK_SNAP_MAGIC = 0x5a4b534e; // "ZKSN"
export const ZK_LOG_MAGIC = 0x5a4b4c47; // "ZKLG"

export class ZkFormatError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    what: string,
  ) {
    super(`${file}: ${what} at offset ${offset}`);
    this.name = 'ZkFormatError';
  }
}

/** Adler-32 (java.util.zip.Adler32), optionally continuing from a previous value. */
export function adler32(buf: Buffer, start = 0, end = buf.length, prev = 1): number {
  let a = prev & 0xffff;
  let b = (prev >>> 16) & 0xffff;
  for (let i = start; i < end; ) {
    const stop = Math.min(end, i + 3800); // keeps b below 2^31 before the modulo
    for (; i < stop; i++) {
      a += buf[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

export type ZkStatPersisted = StatPersisted;

export interface ZkSnapshot {
  sessions: Array<{ id: bigint; timeoutMs: number }>;
  acls: Map<bigint, ACL[]>;
  /** pre-order, parents before children; the root's path is "" in the file and "/" here */
  nodes: Array<{ path: string; data: Buffer | null; aclId: bigint; stat: ZkStatPersisted }>;
  digest: { zxid: number; version: number; value: bigint } | null;
  lastProcessedZxid: number | null;
}

/** Parses an uncompressed ZooKeeper snapshot, checking its Adler32 seals. */
export function readZkSnapshot(file: string, buf: Buffer): ZkSnapshot {
  const r = new JuteReader(buf);
  if (buf.length < 16 || r.int() !== ZK_SNAP_MAGIC) throw new ZkFormatError(file, 0, 'not a ZooKeeper snapshot (bad magic)');
  const version = r.int();
  if (version !== 2) throw new ZkFormatError(file, 4, `snapshot version ${version}, expected 2`);
  r.long(); // dbid
  const sessions = r.vector((rr) => ({ id: rr.longBig(), timeoutMs: rr.int() }), 12) ?? [];
  const aclCount = r.int();
  const acls = new Map<bigint, ACL[]>();
  for (let i = 0; i < aclCount; i++) acls.set(r.longBig(), readACLs(r) ?? []);
  const nodes: ZkSnapshot['nodes'] = [];
  for (;;) {
    const path = r.string();
    if (path === '/') break;
    const d = r.bufferOrNull();
    nodes.push({
      path: path === '' ? '/' : path,
      data: d === null ? null : Buffer.from(d),
      aclId: r.longBig(),
      stat: readStatPersisted(r),
    });
  }
  const sealAt = r.position;
  const seal = r.long();
  if (seal !== adler32(buf, 0, sealAt)) throw new ZkFormatError(file, sealAt, 'Adler32 seal mismatch');
  if (r.string() !== '/') throw new ZkFormatError(file, r.position, 'missing "/" after the seal');
  let digest: ZkSnapshot['digest'] = null;
  let lastProcessedZxid: number | null = null;
  // trailers by bytes left: 33 digest, 21 lastProcessedZxid, 54 both (3.9)
  const sealedTrailer = (read: () => void): void => {
    read();
    const at = r.position;
    const s = r.long();
    if (s !== adler32(buf, 0, at)) throw new ZkFormatError(file, at, 'Adler32 seal mismatch in trailer');
    r.string();
  };
  if (r.remaining === 33 || r.remaining === 54) {
    sealedTrailer(() => {
      digest = { zxid: r.long(), version: r.int(), value: r.longBig() };
    });
  }
  if (r.remaining === 21)
    sealedTrailer(() => {
      lastProcessedZxid = r.long();
    });
  return { sessions, acls, nodes, digest, lastProcessedZxid };
}

export interface ZkLogEntry {
  hdr: TxnHeader;
  txn: Txn;
  digest: { version: number; value: bigint } | null;
}

/** Reads a ZooKeeper txn log: stops at zero fill or a torn last record; a bad checksum throws. */
export function readZkLog(file: string, buf: Buffer): { firstZxid: number | null; entries: ZkLogEntry[]; torn: boolean } {
  const r = new JuteReader(buf);
  if (buf.length < 16 || r.int() !== ZK_LOG_MAGIC) throw new ZkFormatError(file, 0, 'not a ZooKeeper txn log (bad magic)');
  r.int(); // version
  r.long(); // dbid
  const entries: ZkLogEntry[] = [];
  let offset = 16;
  while (buf.length - offset >= 12) {
    const crc = buf.readBigInt64BE(offset);
    const len = buf.readInt32BE(offset + 8);
    if (len === 0 && crc === 0n) break; // preallocated zeros
    const end = offset + 12 + len;
    if (len < 0 || end + 1 > buf.length) return { firstZxid: entries[0]?.hdr.zxid ?? null, entries, torn: true };
    if (buf[end] !== 0x42) return { firstZxid: entries[0]?.hdr.zxid ?? null, entries, torn: true };
    if (Number(crc) !== adler32(buf, offset + 12, end)) throw new ZkFormatError(file, offset, 'txn Adler32 mismatch');
    const pr = new JuteReader(buf, offset + 12, end);
    const hdr = readTxnHeader(pr);
    const txn = readTxnBody(pr, hdr.type, hdr.sessionId);
    let digest: ZkLogEntry['digest'] = null;
    if (pr.remaining >= 12) digest = { version: pr.int(), value: pr.longBig() };
    entries.push({ hdr, txn, digest });
    offset = end + 1;
  }
  return { firstZxid: entries[0]?.hdr.zxid ?? null, entries, torn: false };
}
