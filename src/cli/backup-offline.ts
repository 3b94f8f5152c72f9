// `ark backup create --data-dir D [--log-dir L] --out FILE`: a backup of a stopped server's data
// dir (Ark's, or Apache ZooKeeper's), the same file an online backup writes: the state start-up
// would recover, with its sessions, checked after writing as an online backup is.
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encrypt } from '../backup/crypt.js';
import { BackupCorruptError, readBackup, writeBackup } from '../backup/format.js';
import { OfflineError, readOffline } from '../backup/offline.js';
import { fsyncPath } from '../storage/filelog.js';
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
  if (existsSync(o.out) && !o.force) throw new OfflineError(`${o.out} exists; choose another --out or pass --force`, true);
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
    if (recipients.length === 0) {
      await pipeline(Readable.from([plain]), createWriteStream(tmp));
      b = readBackup(tmp, readFileSync(tmp));
    } else {
      b = readBackup(tmp, plain);
      await pipeline(Readable.from(encrypt(Readable.from([plain]), recipients)), createWriteStream(tmp));
    }
    fsyncPath(tmp);
    renameSync(tmp, o.out);
    return {
      file: o.out,
      source: o.dataDir,
      kind: state.kind,
      encrypted: recipients.length > 0,
      zxid: b.meta.zxid,
      time: b.meta.time,
      nodes: b.snapshot.nodeCount,
      sessions: b.snapshot.sessions.length,
      bytes: statSync(o.out).size,
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
