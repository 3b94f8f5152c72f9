// A snapshot file, once written and synced, is read back at its ends and compared with what the
// writer wrote, before it is renamed into place: the header (magic, version, zxid, time) and, for
// a plain file, its size and trailer (node count, digest); for a gzipped one, the start inflated
// and the gzip trailer's size. A whole read-back would cost as much as the write; the ends cost
// two small reads, and catch a write that lost or misplaced bytes (a bug in the write path, or a
// disk that lies) before purge trusts the file and deletes the log it replaces.
import { open, type FileHandle } from 'node:fs/promises';
import { constants, gunzipSync } from 'node:zlib';
import { assert } from '../util/errors.js';
import { hexZxid } from '../util/zxid.js';
import { JuteReader } from '../wire/jute.js';
import { DIGEST_VERSION } from '../tree/digest.js';
import { SNAP_MAGIC, SNAP_VERSION } from './snapshot.js';

/** What the writer wrote (SnapshotWriter's zxid, node count and digest; the bytes before gzip). */
export interface WrittenSnapshot {
  zxid: number;
  timeMs: number;
  nodes: number;
  digest: bigint;
  bytes: number;
  gzip: boolean;
}

/** magic, format version, zxid, time */
const HEAD_BYTES = 24;
/** node count, digest version, digest, crc32 */
const TRAILER_BYTES = 24;
/** of a gzipped file: inflated, enough for the header many times over */
const GZIP_HEAD_BYTES = 4096;

/** Throws AssertionError when the file at `file` does not hold, at its ends, what was written. */
export async function checkWrittenSnapshot(file: string, w: WrittenSnapshot): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    if (w.gzip) {
      // a prefix of the stream inflates to a prefix of the snapshot (no error for the missing rest)
      checkHead(file, gunzipSync(await readAt(fh, 0, Math.min(size, GZIP_HEAD_BYTES)), { finishFlush: constants.Z_SYNC_FLUSH }), w);
      const isize = size < 4 ? -1 : (await readAt(fh, size - 4, 4)).readUInt32LE(0);
      assert(
        isize === w.bytes % 2 ** 32,
        () => `${file}: its gzip trailer says ${isize} bytes (mod 2^32), the writer wrote ${w.bytes}: written and read back differ`,
      );
      return;
    }
    assert(size === w.bytes, () => `${file}: ${size} bytes on disk, the writer wrote ${w.bytes}: written and read back differ`);
    checkHead(file, await readAt(fh, 0, HEAD_BYTES), w);
    checkTrailer(file, await readAt(fh, size - TRAILER_BYTES, TRAILER_BYTES), w);
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, at: number, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  const { bytesRead } = await fh.read(buf, 0, n, at);
  return buf.subarray(0, bytesRead);
}

function checkHead(file: string, head: Buffer, w: WrittenSnapshot): void {
  assert(head.length >= HEAD_BYTES, () => `${file}: its header reads back as ${head.length} bytes: written and read back differ`);
  const r = new JuteReader(head);
  const [magic, version, zxid, time] = [r.int(), r.int(), r.long(), r.long()];
  assert(
    magic === SNAP_MAGIC && version === SNAP_VERSION && zxid === w.zxid && time === w.timeMs,
    () =>
      `${file}: its header reads back as magic 0x${(magic >>> 0).toString(16)}, version ${version}, zxid ${hexZxid(zxid)}, time ${time}; ` +
      `the writer wrote version ${SNAP_VERSION}, zxid ${hexZxid(w.zxid)}, time ${w.timeMs}: written and read back differ`,
  );
}

function checkTrailer(file: string, trailer: Buffer, w: WrittenSnapshot): void {
  const r = new JuteReader(trailer);
  const [nodes, digestVersion, digest] = [r.long(), r.int(), r.longBig()];
  assert(
    nodes === w.nodes && digestVersion === DIGEST_VERSION && digest === w.digest,
    () =>
      `${file}: its trailer reads back as ${nodes} nodes, digest ${digest} (version ${digestVersion}); the writer wrote ${w.nodes} nodes, digest ${w.digest}: written and read back differ`,
  );
}
