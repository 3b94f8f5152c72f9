// `ark backup create --data-dir D [--log-dir L] --out FILE`: a backup of a stopped server's data
// dir (Ark's, or Apache ZooKeeper's), the same file an online backup writes: the state start-up
// would recover, with its sessions, checked after writing as an online backup is.
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encrypt } from '../backup/crypt.js';
import { backupExists, s3File, uploadBackup } from '../backup/files.js';
import { BackupCorruptError, readBackup, writeBackup } from '../backup/format.js';
import { OfflineError, readOffline } from '../backup/offline.js';
import { fsyncPath } from '../storage/filelog.js';
import { isS3Url, parseS3File } from '../util/s3url.js';
import { hexZxid } from '../util/zxid.js';
import { ARK_VERSION } from '../version.js';

export interface OfflineCreateOpts {
  dataDir: string;
  logDir?: string;
  out: string;
  force?: boolean;
  json?: boolean;
  /** age public keys to encrypt the file to (none: in clear), as --recipient of an online backup */
  recipients?: readonly string[];
  onProgress?: (p: { done: number; total: number | null; unit: string }) => void;
}

export interface OfflineCreateResult {
  file: string;
  source: string;
  kind: 'ark' | 'zookeeper';
  encrypted: boolean;
  zxid: string;
  time: string;
  nodes: number;
  sessions: number;
  bytes: number;
  seconds: number;
  snapshotZxid: string | null;
  replayedTxns: number;
  notes: string[];
}

/** Reads the data dir, writes FILE.partial, reads it back whole, then renames it to FILE. */
export async function createOfflineBackup(o: OfflineCreateOpts): Promise<OfflineCreateResult> {
  const toS3 = isS3Url(o.out);
  if (toS3) {
    // a URL that does not parse stops here, before the data dir is read
    try {
      parseS3File(o.out);
    } catch (e) {
      throw new OfflineError((e as Error).message, true);
    }
  }
  if (!o.force && (toS3 ? await backupExists(o.out) : existsSync(o.out)))
    throw new OfflineError(`${o.out} exists; choose another --out or pass --force`, true);
  const t0 = Date.now();
  const state = readOffline({
    dataDir: o.dataDir,
    ...(o.logDir !== undefined ? { logDir: o.logDir } : {}),
    purpose: 'ark backup create --data-dir',
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const tmp = `${o.out}.partial`;
  const recipients = o.recipients ?? [];
  try {
    // the plain backup is kept for the check after the write (as an online backup keeps it): the
    // file may be encrypted to keys this process does not hold; as much memory as the file
    const parts: Buffer[] = [];
    const keep = new Writable({
      write(chunk: Buffer, _e, cb) {
        parts.push(chunk);
        cb();
      },
    });
    await writeBackup(state.tree, state.sessions, keep, {
      createdBy: `ark ${ARK_VERSION} (offline, from the ${state.kind === 'ark' ? 'Ark' : 'ZooKeeper'} data dir ${o.dataDir})`,
    });
    const plain = Buffer.concat(parts);
    // the check an online backup gets, every checksum and the tree digest: of the file read back
    // from disk, or (encrypted) of the plain bytes it was made from
    let b: ReturnType<typeof readBackup>;
    let bytes: number;
    if (toS3) {
      // checked before it goes; the upload names the object only once all of it arrived (files.ts)
      b = readBackup(o.out, plain);
      if (!(await uploadBackup(o.out, Readable.from([plain]), o.force === true, { recipients })))
        throw new OfflineError(`${o.out} exists (written meanwhile by someone else); choose another --out or pass --force`, true);
      const { store, name } = s3File(o.out);
      bytes = (await store.size(name)) ?? 0;
    } else if (recipients.length === 0) {
      await pipeline(Readable.from([plain]), createWriteStream(tmp));
      b = readBackup(tmp, readFileSync(tmp));
    } else {
      b = readBackup(tmp, plain);
      await pipeline(Readable.from(encrypt(Readable.from([plain]), recipients)), createWriteStream(tmp));
    }
    if (!toS3) {
      fsyncPath(tmp);
      renameSync(tmp, o.out);
      bytes = statSync(o.out).size;
    }
    return {
      file: o.out,
      source: o.dataDir,
      kind: state.kind,
      encrypted: recipients.length > 0,
      zxid: b.meta.zxid,
      time: b.meta.time,
      nodes: b.snapshot.nodeCount,
      sessions: b.snapshot.sessions.length,
      bytes: bytes!,
      seconds: (Date.now() - t0) / 1000,
      snapshotZxid: state.snapshotZxid === null ? null : hexZxid(state.snapshotZxid),
      replayedTxns: state.replayed,
      notes: state.notes,
    };
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof BackupCorruptError) throw new OfflineError(`the backup written did not read back whole: ${e.message}`);
    throw e;
  }
}

export function printOfflineCreated(r: OfflineCreateResult, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  for (const n of r.notes) console.error(`note: ${n}`);
  const from = r.snapshotZxid === null ? 'the log alone' : `snapshot ${r.snapshotZxid}`;
  console.log(
    `backup ${r.file}: zxid ${r.zxid}, ${r.nodes} znodes, ${r.sessions} sessions, ${(r.bytes / 1e6).toFixed(2)} MB in ${r.seconds.toFixed(2)} s${r.encrypted ? ' (encrypted)' : ''}`,
  );
  console.log(
    `read offline from the stopped ${r.kind === 'ark' ? 'Ark' : 'ZooKeeper'} data dir ${r.source} (${from} + ${r.replayedTxns} txns)`,
  );
}
