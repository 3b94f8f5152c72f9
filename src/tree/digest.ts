// Tree digest as ZooKeeper 3.6+ computes it (DigestCalculator, version 2): per node a CRC32 over
// the path ("" for the root), the data and a 60-byte block of the persisted stat; nodes under
// /zookeeper/ count 0; the tree's digest is the wrapping int64 sum (AdHash), kept current per txn.
// A snapshot carries it so a load or restore can prove it rebuilt the same tree, and replicas at
// the same zxid can be compared by it.
import { crc32 } from 'node:zlib';
import type { Stat } from '../wire/protocol.js';

export const DIGEST_VERSION = 2;

/** The persisted stat fields (not dataLength / numChildren) plus the data. */
export type DigestFields = Pick<Stat, 'czxid' | 'mzxid' | 'pzxid' | 'ctime' | 'mtime' | 'version' | 'cversion' | 'aversion' | 'ephemeralOwner'> & {
  data: Buffer | null;
};

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
  if (n.data && n.data.length > 0) c = crc32(n.data, c);
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
