// One backup file named on the command line: a local path or an object s3://bucket/key. Reading
// gives its bytes (from S3, streamed into memory as a local file is read: no temp file); writing
// to S3 streams in parts and names the object only once the whole stream arrived and its
// checksum trailer checks out (format.ts), so a cut or damaged stream never looks like a backup.
import { existsSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { AGE_MAGIC, decryptBackup, encrypt, isEncrypted, readBackupFileBytes, type Identities, type Progress } from './crypt.js';
import { BACKUP_TRAILER_BYTES, BackupCorruptError } from './format.js';
import { isS3Url, parseS3File } from '../util/s3url.js';
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
 * set. Nothing appears under the key unless the whole stream arrived and checks out. With
 * `recipients` the checked plain stream is age-encrypted on its way up: a stream that fails its
 * check fails the encryption's source, so the upload is aborted the same.
 */
export async function uploadBackup(
  url: string,
  source: AsyncIterable<Buffer>,
  replace: boolean,
  opts: { recipients?: readonly string[]; onProgress?: OnProgress } = {},
): Promise<boolean> {
  const { store, name } = s3File(url);
  const checked = checkedBackupStream(url, source);
  const body = opts.recipients && opts.recipients.length > 0 ? encrypt(checked, opts.recipients) : checked;
  return store.write(name, body, !replace, opts.onProgress);
}

/**
 * A backup file's plain bytes, from a path or an s3:// URL, decrypted when it is age-encrypted
 * (crypt.ts: told by its header; a missing or wrong key is a KeyError). `onProgress`: the
 * encrypted bytes read, for an encrypted file.
 */
export async function readPlainBackup(location: string, ids: Identities, onProgress?: (p: Progress) => void): Promise<Buffer> {
  if (!isS3Url(location)) {
    if (!existsSync(location)) throw new NoSuchBackupError(`${location}: no such file`);
    return readBackupFileBytes(location, ids, onProgress);
  }
  const raw = await readBackupBytes(location);
  if (!isEncrypted(raw.subarray(0, AGE_MAGIC.length))) return raw;
  return decryptBackup([raw], ids, location, raw.length, onProgress);
}
