// The state a stopped server's data dir holds, read as that server's start-up would: for an Ark
// data dir, DataDir.recover (the newest snapshot that checks out, the log after it, a torn last
// record cut off, an ensemble member's rules when the dir holds myid); for an Apache ZooKeeper
// data dir (version-2/), the import `ark migrate` runs (ZooKeeper's own FileTxnSnapLog.restore
// done offline). `ark backup create --data-dir` writes it as a backup, `ark backup diff` compares it.
//
// The source is only read: a torn tail is left for the server's own next start to cut (repair
// off), and nothing else is written but the lock file. The lock (storage/lock.ts) is held while
// reading, so a server that holds the dir is refused with its name, and none can start meanwhile.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataDir } from '../storage/datadir.js';
import { DATA_SUBDIR, DataDirError, listSegments } from '../storage/filelog.js';
import { DataDirLockedError, lockDataDirs } from '../storage/lock.js';
import type { SessionRecord } from '../storage/snapshot.js';
import { DataTree } from '../tree/datatree.js';
import { OpCode } from '../wire/protocol.js';
import { hexZxid } from '../util/zxid.js';
import { importZooKeeper } from './migrate.js';

export class OfflineError extends Error {
  constructor(
    message: string,
    /** a problem with the arguments (exit 2), not with the data (exit 1) */
    readonly usage = false,
  ) {
    super(message);
    this.name = 'OfflineError';
  }
}

export interface OfflineState {
  kind: 'ark' | 'zookeeper';
  tree: DataTree;
  /** the sessions open at the last txn, as a restart keeps them */
  sessions: SessionRecord[];
  /** the last txn in the state */
  zxid: number;
  /** the snapshot recovery started from (null: the log alone) and the txns replayed after it */
  snapshotZxid: number | null;
  replayed: number;
  /** what start-up would say about the files: a torn tail cut off, damaged snapshots passed over, import warnings */
  notes: string[];
}

export interface OfflineOptions {
  dataDir: string;
  /** dataLogDir, when zoo.cfg sets one */
  logDir?: string;
  /** who reads (named in the lock file and in a refusal) */
  purpose: string;
  onProgress?: (p: { done: number; total: number | null; unit: string }) => void;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Which kind of data dir `dir` is: Ark's (ark-v1/), ZooKeeper's (version-2/), or neither (an error). */
export function dataDirKind(dir: string, option = '--data-dir'): 'ark' | 'zookeeper' {
  if (!existsSync(dir)) throw new OfflineError(`${option} ${dir}: no such directory`, true);
  if (!isDir(dir)) throw new OfflineError(`${option} ${dir}: not a directory`, true);
  if (isDir(join(dir, DATA_SUBDIR))) return 'ark';
  if (isDir(join(dir, 'version-2'))) return 'zookeeper';
  throw new OfflineError(
    `${option} ${dir}: neither an Ark data dir (${DATA_SUBDIR}/) nor an Apache ZooKeeper one (version-2/); give the directory zoo.cfg names as dataDir`,
    true,
  );
}

/** The state of a stopped server's data dir (Ark's or ZooKeeper's). Throws OfflineError. */
export function readOffline(opts: OfflineOptions): OfflineState {
  const kind = dataDirKind(opts.dataDir);
  if (opts.logDir !== undefined) {
    const logKind = dataDirKind(opts.logDir, '--log-dir');
    if (logKind !== kind)
      throw new OfflineError(`--log-dir ${opts.logDir} is a ${logKind} dir, --data-dir ${opts.dataDir} a ${kind} one`, true);
  }
  return kind === 'ark' ? readArk(opts) : readZooKeeper(opts);
}

/** Holds the data-dir lock while `f` runs; a dir a server holds is refused, naming it. */
function whileLocked<T>(opts: OfflineOptions, f: () => T): T {
  let lock: ReturnType<typeof lockDataDirs>;
  try {
    lock = lockDataDirs(opts.dataDir, opts.logDir ?? opts.dataDir, opts.purpose);
  } catch (e) {
    if (e instanceof DataDirLockedError)
      throw new OfflineError(
        `${e.message}. A running server is backed up online instead: ark backup create --admin http://HOST:ADMINPORT --out FILE`,
      );
    if (e instanceof DataDirError) throw new OfflineError(e.message);
    throw e;
  }
  try {
    return f();
  } finally {
    lock.release();
  }
}

function readArk(opts: OfflineOptions): OfflineState {
  return whileLocked(opts, () => {
    const dd = new DataDir(opts.dataDir, opts.logDir ?? opts.dataDir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 });
    const ensemble = existsSync(join(opts.dataDir, 'myid'));
    let rec: ReturnType<DataDir['recover']>;
    try {
      // repair off: what a crash left is read as start-up reads it, and left for the server to cut
      rec = dd.recover({ repair: false, ensemble });
    } catch (e) {
      if (e instanceof DataDirError) throw new OfflineError(`${opts.dataDir}: the server could not start from it either: ${e.message}`);
      throw e;
    }
    const tree = rec.snapshot?.tree ?? new DataTree();
    const sessions = new Map<bigint, number>((rec.snapshot?.sessions ?? []).map((s) => [s.id, s.timeoutMs]));
    let done = 0;
    const total = rec.records.length;
    opts.onProgress?.({ done, total, unit: 'txns' });
    // the replay start-up does (ServerCore.replay): apply, and keep the session table as it goes
    for (const r of rec.records) {
      tree.apply(r.hdr, r.txn, [], 'replay');
      if (r.txn.type === OpCode.createSession) sessions.set(r.hdr.sessionId, r.txn.timeOutMs);
      else if (r.txn.type === OpCode.closeSession) sessions.delete(r.hdr.sessionId);
      if (++done % 10_000 === 0) opts.onProgress?.({ done, total, unit: 'txns' });
    }
    opts.onProgress?.({ done, total, unit: 'txns' });
    const notes = [
      ...rec.truncated.map(
        (t) =>
          `${t.file} ends in a partial record at offset ${t.offset} (${t.why}): left out, as the server's start-up does (a write cut short by a crash was never acknowledged)`,
      ),
      ...rec.skipped.map((s) => `damaged snapshot passed over, as start-up does: ${s.reason}`),
    ];
    const logDir = opts.logDir ?? opts.dataDir;
    const noLog = listSegments(join(logDir, DATA_SUBDIR)).length === 0;
    if (noLog && !rec.snapshot)
      throw new OfflineError(
        `${opts.dataDir} holds neither a snapshot nor a txn log: nothing to back up. If zoo.cfg sets dataLogDir, pass that directory with --log-dir`,
        true,
      );
    if (noLog && rec.snapshot)
      notes.push(
        `${logDir} holds no txn log: the state is the newest snapshot's (${hexZxid(rec.snapshot.zxid)}) alone. If zoo.cfg sets dataLogDir, pass that directory with --log-dir`,
      );
    if (ensemble)
      notes.push(
        `${opts.dataDir} is an ensemble member's (it holds myid): its log may end in txns the ensemble never committed, which its leader would cut on rejoining; back up the member that was leader, or online`,
      );
    return {
      kind: 'ark',
      tree,
      sessions: [...sessions].map(([id, timeoutMs]) => ({ id, timeoutMs })),
      zxid: tree.lastProcessedZxid,
      snapshotZxid: rec.snapshot?.zxid ?? null,
      replayed: rec.records.length,
      notes,
    };
  });
}

/**
 * ZooKeeper keeps no lock on its data dir, so a running ZooKeeper cannot be detected: the
 * caller's word that it is stopped is all there is (its newest log may still grow otherwise).
 */
function readZooKeeper(opts: OfflineOptions): OfflineState {
  let r: ReturnType<typeof importZooKeeper>;
  try {
    r = importZooKeeper({ source: opts.dataDir, ...(opts.logDir !== undefined ? { logDir: opts.logDir } : {}) });
  } catch (e) {
    throw new OfflineError((e as Error).message, (e as { usage?: boolean }).usage === true);
  }
  const notes = [...r.report.warnings];
  if (r.report.digest.result === 'mismatch')
    throw new OfflineError(`the imported tree differs from ZooKeeper's: ${r.report.digest.message}`);
  notes.push(`ZooKeeper digest check: ${r.report.digest.message}`);
  const last = parseInt(r.report.lastZxid, 16);
  return {
    kind: 'zookeeper',
    tree: r.tree,
    sessions: r.sessions,
    zxid: Number.isFinite(last) ? last : r.tree.lastProcessedZxid,
    snapshotZxid: r.report.snapshot ? parseInt(r.report.snapshot.zxid, 16) : null,
    replayed: r.report.txnsReplayed,
    notes,
  };
}
