// Where an archive lives. Everything the archive needs of its storage is here, so another kind
// (object storage) is one more implementation: list a folder, read an object (or its head),
// create an object only if nothing is there yet (never leaving a partial one under its name),
// replace a small object, remove one.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isS3Url, type S3Options } from '../util/s3url.js';
import { S3ArchiveStore } from './s3store.js';

export interface StoredObject {
  /** the path inside the archive, e.g. txns/txns.0000000100000001 */
  path: string;
  bytes: number;
  mtimeMs: number;
}

export interface ArchiveStore {
  /** for messages: the directory (or URL) of the archive */
  readonly location: string;
  /** the objects directly inside `folder` (not its temp files), any order; none when it does not exist */
  list(folder: string): Promise<StoredObject[]>;
  read(path: string): Promise<Buffer>;
  /** the first `bytes` bytes (fewer when the object is shorter) */
  readHead(path: string, bytes: number): Promise<Buffer>;
  /**
   * Writes `data` as `path` if nothing exists there: true when written, false when `path` existed
   * (someone else created it first). A crash or error leaves no object under `path`.
   */
  createExclusive(path: string, data: Buffer | AsyncIterable<Buffer>): Promise<boolean>;
  /** replaces a small object whole (an interrupted write leaves the old one) */
  put(path: string, data: Buffer): Promise<void>;
  remove(path: string): Promise<void>;
  /**
   * Removes what writes into `folder` ('' the top) left unfinished (a writer killed mid-write)
   * and untouched for `olderThanMs`; returns how many. A write in progress is touched as it goes.
   */
  removeAbandoned(folder: string, olderThanMs: number, now: number): Promise<number>;
}

const TEMP_PREFIX = '.tmp-';

/** A temp name no other writer uses: temp files start with '.', which list() never returns. */
function tempName(dir: string): string {
  return join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * An archive in a local (or network-mounted) directory. Exclusive creation is a hard link from a
 * fully written and fsynced temp file to the final name: link(2) fails with EEXIST when the name
 * exists, atomically even on NFS, so two members racing for one name never both win and a reader
 * never sees a partial file under it.
 */
export class LocalArchiveStore implements ArchiveStore {
  constructor(readonly location: string) {}

  private abs(path: string): string {
    return join(this.location, path);
  }

  async list(folder: string): Promise<StoredObject[]> {
    const dir = this.abs(folder);
    if (!existsSync(dir)) return [];
    const out: StoredObject[] = [];
    for (const name of await readdir(dir)) {
      if (name.startsWith('.')) continue;
      try {
        const s = await stat(join(dir, name));
        if (s.isFile()) out.push({ path: `${folder}/${name}`, bytes: s.size, mtimeMs: s.mtimeMs });
      } catch {
        /* removed meanwhile */
      }
    }
    return out;
  }

  read(path: string): Promise<Buffer> {
    return readFile(this.abs(path));
  }

  async readHead(path: string, bytes: number): Promise<Buffer> {
    const fh = await open(this.abs(path), 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async createExclusive(path: string, data: Buffer | AsyncIterable<Buffer>): Promise<boolean> {
    const final = this.abs(path);
    const dir = dirname(final);
    await mkdir(dir, { recursive: true });
    if (existsSync(final)) return false;
    const tmp = tempName(dir);
    try {
      await pipeline(Buffer.isBuffer(data) ? Readable.from([data]) : Readable.from(data), createWriteStream(tmp));
      await fsyncPath(tmp);
      try {
        await link(tmp, final);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
      await fsyncPath(dir);
      return true;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async put(path: string, data: Buffer): Promise<void> {
    const final = this.abs(path);
    const dir = dirname(final);
    await mkdir(dir, { recursive: true });
    const tmp = tempName(dir);
    try {
      await writeFile(tmp, data);
      await fsyncPath(tmp);
      await rename(tmp, final);
      await fsyncPath(dir);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async remove(path: string): Promise<void> {
    await rm(this.abs(path), { force: true });
  }

  async removeAbandoned(folder: string, olderThanMs: number, now: number): Promise<number> {
    const dir = this.abs(folder);
    if (!existsSync(dir)) return 0;
    let removed = 0;
    for (const name of await readdir(dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      try {
        const s = await stat(join(dir, name));
        if (!s.isFile() || now - s.mtimeMs < olderThanMs) continue;
        await unlink(join(dir, name));
        removed++;
      } catch {
        /* removed meanwhile (by another member's sweep) */
      }
    }
    return removed;
  }
}

/**
 * The store for an archive location given on the command line or in zoo.cfg: an s3:// URL
 * (s3store.ts; `s3` from zoo.cfg, the rest from the environment) or a local path.
 */
export function openArchive(location: string, s3: S3Options = {}): ArchiveStore {
  return isS3Url(location) ? new S3ArchiveStore(location, s3) : new LocalArchiveStore(location);
}
