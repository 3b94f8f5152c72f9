// Tree digest as ZooKeeper 3.6+ computes it (DigestCalculator, version 2): per node a CRC32 over
// the path ("" for the root), the data and a 60-byte block of the persisted stat; nodes under
// /zookeeper/ count 0; the tree's digest is the wrapping int64 sum (AdHash), kept current per txn.
// A snapshot carries it so a load or restore can prove it rebuilt the same tree, and replicas at
// the same zxid can be compared by it.
import { crc32 } from 'node:zlib';
import type { Stat } from '../wire/protocol.js';

export const DIGEST_VERSION = 2;

/** The persisted stat fields (not dataLength / numChildren) plus the data. */
export type DigestFields = Pick<Stat, 'czxid' | 'mzxid' | 'pzxid' | 'ctime' | 'mtime' | 'version' | 'cversion' | 'aversion' | 'ephemeralOwner'> & (
  | { data: Buffer | null }
  /** the data as a latin1 string (a ZNode) */
  | { dataBytes: string | null }
);

let scratch = Buffer.alloc(4096);

/** The data's bytes: a Buffer as is, a latin1 string through a reused scratch buffer. */
function dataOf(n: DigestFields): Buffer | null {
  if (!('dataBytes' in n)) return n.data;
  const s = n.dataBytes;
  if (s === null) return null;
  if (scratch.length < s.length) scratch = Buffer.alloc(Math.max(s.length, scratch.length * 2));
  scratch.write(s, 0, 'latin1');
  return scratch.subarray(0, s.length);
}

const TWO_32 = 4294967296;
const block = Buffer.alloc(60);

function putLong(at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  block.writeInt32BE(hi, at);
  block.writeUInt32BE(v - hi * TWO_32, at + 4);
}

export function nodeDigest(path: string, n: DigestFields): number {
  if (path.startsWith('/zookeeper/')) return 0;
  let c = crc32(path === '/' ? '' : path);
  const data = dataOf(n);
  if (data && data.length > 0) c = crc32(data, c);
  putLong(0, n.czxid);
  putLong(8, n.mzxid);
  putLong(16, n.pzxid);
  putLong(24, n.ctime);
  putLong(32, n.mtime);
  block.writeInt32BE(n.version, 40);
  block.writeInt32BE(n.cversion, 44);
  block.writeInt32BE(n.aversion, 48);
  block.writeBigInt64BE(BigInt.asIntN(64, n.ephemeralOwner), 52);
  return crc32(block, c);
}

export function addDigest(sum: bigint, delta: number): bigint {
  return BigInt.asIntN(64, sum + BigInt(delta));
}
