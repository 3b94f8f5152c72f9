// Tree digest as ZooKeeper 3.6+ computes it (DigestCalculator, version 2): per node a CRC32 over
// the path ("" for the root), the data and a 60-byte block of the persisted stat; nodes under
// /zookeeper/ count 0; the tree's digest is the wrapping int64 sum (AdHash), kept current per txn.
// A snapshot carries it so a load or restore can prove it rebuilt the same tree, and replicas at
// the same zxid can be compared by it.
import { crc32 } from 'node:zlib';
import type { Stat } from '../wire/protocol.js';
import { viewOf } from '../wire/jute.js';

export const DIGEST_VERSION = 2;

/** The persisted stat fields (not dataLength / numChildren) plus the data. */
export type DigestFields = Pick<
  Stat,
  'czxid' | 'mzxid' | 'pzxid' | 'ctime' | 'mtime' | 'version' | 'cversion' | 'aversion' | 'ephemeralOwner'
> &
  (
    | { data: Buffer | null }
    /** the data as a latin1 string (a ZNode) */
    | { dataBytes: string | null }
  );

/** path, data and stat block of one node, laid out for a single crc32 call */
let scratch = Buffer.alloc(4096);
/** the stat block's numbers go in through a DataView: Buffer.writeInt32BE and friends check their arguments at every call */
let view = viewOf(scratch);
/**
 * scratch.subarray(0, n) for the lengths seen, so a digest allocates no Buffer: crc32 takes no
 * length, and a new view per node was a third of a digest's cost
 */
const prefixes = new Map<number, Buffer>();
const PREFIXES_MAX = 256;

function room(bytes: number): void {
  if (scratch.length >= bytes) return;
  scratch = Buffer.alloc(Math.max(bytes, scratch.length * 2));
  view = viewOf(scratch);
  prefixes.clear();
}

function prefix(length: number): Buffer {
  let b = prefixes.get(length);
  if (!b) {
    if (prefixes.size >= PREFIXES_MAX) prefixes.clear();
    b = scratch.subarray(0, length);
    prefixes.set(length, b);
  }
  return b;
}

const TWO_32 = 4294967296;

function putLong(at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  view.setInt32(at, hi);
  view.setUint32(at + 4, v - hi * TWO_32);
}

const STAT_BLOCK_BYTES = 60;

export function nodeDigest(path: string, n: DigestFields): number {
  if (path.startsWith('/zookeeper/')) return 0;
  // one crc32 over path ‖ data ‖ stat block equals ZooKeeper's chained updates over the three
  room(Buffer.byteLength(path) + ('dataBytes' in n ? (n.dataBytes?.length ?? 0) : (n.data?.length ?? 0)) + STAT_BLOCK_BYTES);
  let at = path === '/' ? 0 : scratch.write(path, 0, 'utf8');
  if ('dataBytes' in n) {
    if (n.dataBytes !== null) at += scratch.write(n.dataBytes, at, 'latin1');
  } else if (n.data !== null) {
    at += n.data.copy(scratch, at);
  }
  putLong(at, n.czxid);
  putLong(at + 8, n.mzxid);
  putLong(at + 16, n.pzxid);
  putLong(at + 24, n.ctime);
  putLong(at + 32, n.mtime);
  view.setInt32(at + 40, n.version);
  view.setInt32(at + 44, n.cversion);
  view.setInt32(at + 48, n.aversion);
  view.setBigInt64(at + 52, BigInt.asIntN(64, n.ephemeralOwner));
  return crc32(prefix(at + STAT_BLOCK_BYTES));
}

export function addDigest(sum: bigint, delta: number): bigint {
  return BigInt.asIntN(64, sum + BigInt(delta));
}
