// Backup files: one self-describing, compressed, checksummed file per backup.
//
//   gzip( "ARKB", int32 format version, int32 length + JSON metadata (backup point zxid and time,
//         when and by what it was made), then an Ark snapshot (snapshot.ts: sessions, every node
//         with its full persisted stat and ACL, node count, ZooKeeper's tree digest, CRC32) )
//   "ARKC" + uint32 crc32 of every file byte before it (so a byte changed anywhere, gzip header
//   included, is caught)
//
// A backup is the storage format itself: restore lays the snapshot down as a data dir, and
// point-in-time recovery replays archived txn-log segments after it with the same apply().
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { createGzip, crc32, gunzipSync } from 'node:zlib';
import {
  SnapshotNodeCounter,
  SnapshotWriter,
  gunzipAsync,
  readSnapshot,
  readSnapshotAsync,
  type LoadedSnapshot,
  type SessionRecord,
} from '../storage/snapshot.js';
import type { DataTree } from '../tree/datatree.js';
import type { OnProgress } from '../util/progress.js';

export const BACKUP_MAGIC = 0x41524b42; // "ARKB"
export const BACKUP_VERSION = 1;
const TRAILER_MAGIC = 0x41524b43; // "ARKC"
/** "ARKC" + crc32, after the gzip stream */
export const BACKUP_TRAILER_BYTES = 8;

export interface BackupMeta {
  format: 'ark-backup';
  version: number;
  /** backup point, hex */
  zxid: string;
  /** time of the last txn at the backup point is not tracked; this is when the capture began */
  time: string;
  createdBy: string;
  sessions: number;
}

export class BackupCorruptError extends Error {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`${file}: ${what}`);
    this.name = 'BackupCorruptError';
  }
}

/** Appends "ARKC" + crc32 of everything that passed through. */
class ChecksumTrailer extends Transform {
  private crc = 0;
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const t = Buffer.alloc(8);
    t.writeUInt32BE(TRAILER_MAGIC, 0);
    t.writeUInt32BE(this.crc >>> 0, 4);
    this.bytes += 8;
    cb(null, t);
  }
}

export interface BackupResult {
  zxid: number;
  nodes: number;
  bytes: number;
  ms: number;
  digest: bigint;
}

/** The file's first bytes: magic, version and the metadata. */
function backupHead(meta: BackupMeta): Buffer {
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.alloc(12);
  head.writeUInt32BE(BACKUP_MAGIC, 0);
  head.writeInt32BE(BACKUP_VERSION, 4);
  head.writeInt32BE(metaBytes.length, 8);
  return Buffer.concat([head, metaBytes]);
}

/**
 * A backup file's bytes, made from an Ark snapshot's bytes as they come (uncompressed): the
 * metadata in front, all of it gzipped, the checksum trailer behind. Memory stays flat.
 */
export async function* backupStream(meta: BackupMeta, snapshot: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const source = Readable.from(
    (async function* () {
      yield backupHead(meta);
      yield* snapshot;
    })(),
  );
  const trailer = new ChecksumTrailer();
  // a failure anywhere destroys every stream, and the loop below throws it
  const flowing = pipeline(source, createGzip({ level: 1 }), trailer).then(
    () => null,
    (e: unknown) => e as Error,
  );
  try {
    for await (const c of trailer) yield c as Buffer;
  } finally {
    source.destroy(); // the consumer stopped early (an abort): stop reading the snapshot
  }
  const err = await flowing;
  if (err) throw err;
}

/** Metadata for a backup of the state at `zxid`. */
export function backupMeta(zxid: number, sessions: number, createdBy: string, time = new Date()): BackupMeta {
  return { format: 'ark-backup', version: BACKUP_VERSION, zxid: `0x${zxid.toString(16)}`, time: time.toISOString(), createdBy, sessions };
}

/**
 * Streams a consistent backup of `tree` (captured at its current zxid, copy-on-write) into `out`,
 * `nodesPerSlice` nodes per turn of the event loop: memory stays flat and requests keep flowing.
 */
export async function writeBackup(
  tree: DataTree,
  sessions: SessionRecord[],
  out: Writable,
  opts: {
    createdBy: string;
    nodesPerSlice?: number;
    signal?: AbortSignal;
    /** the capture point: its zxid and how many znodes the backup will hold */
    onStart?: (zxid: number, nodes: number) => void;
  },
): Promise<BackupResult> {
  const t0 = Date.now();
  const writer = new SnapshotWriter(tree, sessions, Date.now());
  opts.onStart?.(writer.zxid, writer.capturedNodes);
  const meta = backupMeta(writer.zxid, sessions.length, opts.createdBy);
  const per = opts.nodesPerSlice ?? 2000;
  async function* slices(): AsyncGenerator<Buffer> {
    for (;;) {
      if (opts.signal?.aborted) throw new Error('backup aborted');
      const c = writer.next(per);
      if (!c) return;
      yield c;
      await yieldTurn();
    }
  }
  let bytes = 0;
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const c of backupStream(meta, slices())) {
      bytes += c.length;
      yield c;
    }
  };
  try {
    // an abort destroys the whole pipeline, even while it waits on a client that stopped reading
    await pipeline(Readable.from(counted()), out, ...(opts.signal ? [{ signal: opts.signal }] : []));
  } finally {
    writer.abort();
  }
  return { zxid: writer.zxid, nodes: writer.nodeCount, bytes, ms: Date.now() - t0, digest: writer.treeDigest };
}

export interface LoadedBackup {
  meta: BackupMeta;
  snapshot: LoadedSnapshot;
  /** the Ark snapshot inside, as bytes (what an ensemble member forwards to its leader) */
  snapshotBytes: Buffer;
  bytes: number;
}

/** Checks the file checksum, the gzip stream, and the snapshot inside (checksum and tree digest). */
/** The gzipped part of a backup file, once its trailer and checksum check out (cheap: no gunzip). */
export function checkedBody(file: string, raw: Buffer): Buffer {
  if (raw.length < 8 + 20) throw new BackupCorruptError(file, `only ${raw.length} bytes: not a whole Ark backup`);
  const at = raw.length - 8;
  if (raw.readUInt32BE(at) !== TRAILER_MAGIC)
    throw new BackupCorruptError(file, 'no "ARKC" trailer: the file is truncated or not an Ark backup');
  if (crc32(raw.subarray(0, at)) >>> 0 !== raw.readUInt32BE(at + 4))
    throw new BackupCorruptError(file, 'file checksum mismatch: the backup is damaged');
  return raw.subarray(0, at);
}

/** The metadata and the snapshot's bytes of a gunzipped backup body. */
function parts(file: string, body: Buffer): { meta: BackupMeta; snapshotBytes: Buffer } {
  if (body.length < 12 || body.readUInt32BE(0) !== BACKUP_MAGIC) throw new BackupCorruptError(file, 'not an Ark backup (bad magic)');
  const version = body.readInt32BE(4);
  if (version !== BACKUP_VERSION)
    throw new BackupCorruptError(file, `backup format version ${version}; this Ark reads version ${BACKUP_VERSION}`);
  const metaLen = body.readInt32BE(8);
  if (metaLen < 0 || 12 + metaLen > body.length) throw new BackupCorruptError(file, 'metadata length out of range');
  try {
    return { meta: JSON.parse(body.toString('utf8', 12, 12 + metaLen)) as BackupMeta, snapshotBytes: body.subarray(12 + metaLen) };
  } catch {
    throw new BackupCorruptError(file, 'metadata is not valid JSON');
  }
}

/** The backup whole, once its snapshot is rebuilt by `read` (sync or not) and matches the metadata. */
function loaded(file: string, raw: Buffer, meta: BackupMeta, snapshotBytes: Buffer, snapshot: LoadedSnapshot): LoadedBackup {
  if (meta.zxid !== `0x${snapshot.zxid.toString(16)}`)
    throw new BackupCorruptError(file, `metadata says zxid ${meta.zxid}, the snapshot is at 0x${snapshot.zxid.toString(16)}`);
  return { meta, snapshot, snapshotBytes, bytes: raw.length };
}

function damagedInside(file: string, e: unknown): BackupCorruptError {
  return new BackupCorruptError(file, `the snapshot inside is damaged: ${(e as Error).message.replace(`${file}: `, '')}`);
}

/** Checks the file checksum, the gzip stream, and the snapshot inside (checksum and tree digest). */
/** A failure to check or inflate a backup's body, as the error the readers throw. */
function bodyError(file: string, e: unknown): BackupCorruptError {
  return e instanceof BackupCorruptError ? e : new BackupCorruptError(file, `compressed data is damaged (${(e as Error).message})`);
}

/** How a backup is read: `onProgress` hears of the znodes rebuilt (of the count the snapshot's trailer names). */
export interface ReadBackupOptions {
  onProgress?: OnProgress;
}

export function readBackup(file: string, raw: Buffer, opts: ReadBackupOptions = {}): LoadedBackup {
  let body: Buffer;
  try {
    body = gunzipSync(checkedBody(file, raw));
  } catch (e) {
    throw bodyError(file, e);
  }
  const { meta, snapshotBytes } = parts(file, body);
  let snapshot: LoadedSnapshot;
  try {
    snapshot = readSnapshot(file, snapshotBytes, opts.onProgress);
  } catch (e) {
    throw damagedInside(file, e);
  }
  return loaded(file, raw, meta, snapshotBytes, snapshot);
}

/** readBackup without holding the event loop (an online restore: the server keeps answering /health). */
export async function readBackupAsync(file: string, raw: Buffer, opts: ReadBackupOptions = {}): Promise<LoadedBackup> {
  let body: Buffer;
  try {
    body = await gunzipAsync(checkedBody(file, raw));
  } catch (e) {
    throw bodyError(file, e);
  }
  const { meta, snapshotBytes } = parts(file, body);
  let snapshot: LoadedSnapshot;
  try {
    snapshot = await readSnapshotAsync(file, snapshotBytes, undefined, opts.onProgress);
  } catch (e) {
    throw damagedInside(file, e);
  }
  return loaded(file, raw, meta, snapshotBytes, snapshot);
}

/**
 * Counts the znodes of a backup as its gunzipped bytes stream by (the metadata in front skipped),
 * for progress while one downloads; see SnapshotNodeCounter.
 */
export class BackupNodeCounter {
  private readonly snapshot = new SnapshotNodeCounter();
  private head = Buffer.alloc(0);
  /** bytes of head left to skip; null until the metadata's length is known */
  private skip: number | null = null;

  get nodes(): number {
    return this.snapshot.nodes;
  }

  feed(chunk: Buffer): void {
    let rest = chunk;
    if (this.skip === null) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 12) return;
      this.skip = 12 + Math.max(0, this.head.readInt32BE(8));
      rest = this.head;
      this.head = Buffer.alloc(0);
    }
    if (this.skip > 0) {
      const n = Math.min(this.skip, rest.length);
      this.skip -= n;
      rest = rest.subarray(n);
    }
    if (rest.length > 0) this.snapshot.feed(rest);
  }
}

export function backupName(zxid: number): string {
  return `backup.${zxid.toString(16).padStart(16, '0')}.arkb`;
}

export function parseBackupName(name: string): number | null {
  const m = /^backup\.([0-9a-f]{16})\.arkb$/.exec(name);
  return m ? parseInt(m[1]!, 16) : null;
}
