// One backup file named on the command line: a local path or an object s3://bucket/key. Reading
// gives its bytes (from S3, streamed into memory as a local file is read: no temp file); writing
// to S3 streams in parts and names the object only once the whole stream arrived and its
// checksum trailer checks out (format.ts), so a cut or damaged stream never looks like a backup.
import { existsSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { BACKUP_TRAILER_BYTES, BackupCorruptError } from './format.js';
import { isS3Url, parseS3File } from './location.js';
import { S3ArchiveStore, type OnProgress } from './s3store.js';

/** The store holding an s3:// file's object, and the object's name in it. */
export function s3File(url: string): { store: S3ArchiveStore; name: string } {
  const { bucket, key } = parseS3File(url);
  const slash = key.lastIndexOf('/');
  return { store: new S3ArchiveStore(`s3://${bucket}/${key.slice(0, slash + 1)}`), name: key.slice(slash + 1) };
}

export class NoSuchBackupError extends Error {}

/** A backup file's bytes; NoSuchBackupError when there is none. */
export async function readBackupBytes(location: string): Promise<Buffer> {
  if (!isS3Url(location)) {
    if (!existsSync(location)) throw new NoSuchBackupError(`${location}: no such file`);
    return readFileSync(location);
  }
  const { store, name } = s3File(location);
  if (!(await store.exists(name))) throw new NoSuchBackupError(`${location}: no such object`);
  return store.read(name);
}

/** Whether a backup file (or object) is there. */
export async function backupExists(location: string): Promise<boolean> {
  if (!isS3Url(location)) return existsSync(location);
  const { store, name } = s3File(location);
  return store.exists(name);
}

/**
 * Passes `source` through, checking as it goes the trailer every backup ends with ("ARKC" +
 * crc32 of the bytes before it): the end of the source throws when it does not check out, before
 * the last part leaves, so the upload is aborted. Memory: the last 8 bytes.
 */
export async function* checkedBackupStream(file: string, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let crc = 0;
  let held = Buffer.alloc(0);
  let total = 0;
  for await (const chunk of source) {
    const all = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
    const cut = Math.max(0, all.length - BACKUP_TRAILER_BYTES);
    const out = all.subarray(0, cut);
    held = Buffer.from(all.subarray(cut));
    total += chunk.length;
    if (out.length > 0) {
      crc = crc32(out, crc);
      yield out;
    }
  }
  if (total < BACKUP_TRAILER_BYTES + 20) throw new BackupCorruptError(file, `only ${total} bytes arrived: not a whole Ark backup`);
  if (held.readUInt32BE(0) !== 0x41524b43)
    throw new BackupCorruptError(file, 'no "ARKC" trailer: the stream was cut short or is not an Ark backup');
  if (crc >>> 0 !== held.readUInt32BE(4)) throw new BackupCorruptError(file, 'file checksum mismatch: the stream was damaged');
  yield held;
}

/**
 * Uploads a backup stream to an s3:// URL: false when an object is there and `replace` is not
 * set. Nothing appears under the key unless the whole stream arrived and checks out.
 */
export async function uploadBackup(
  url: string,
  source: AsyncIterable<Buffer>,
  replace: boolean,
  onProgress?: OnProgress,
): Promise<boolean> {
  const { store, name } = s3File(url);
  return store.write(name, checkedBackupStream(url, source), !replace, onProgress);
}
