// A data dir as a whole: snapshots in dataDir/ark-v1, txn log segments in dataLogDir/ark-v1.
// Recovery = the newest snapshot that checks out + the log after it, with zxid continuity proven;
// snapshot writing streams in slices so requests keep being served; purge keeps the newest N
// snapshots and the log segments they need.
import {
  createWriteStream,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type { DataTree } from '../tree/datatree.js';
import { DATA_SUBDIR, DataDirError, FileTxnLog, fsyncPath, listSegments, prepareDir, type LogOptions } from './filelog.js';
import { LogCorruptError, readSegment, type LogRecord } from './txnlog.js';
import { pruneBreaks, writeBreak } from './logbreaks.js';
import { continuityProblem, planRecovery, type PlanInput } from './recovery.js';
import {
  SnapshotCorruptError,
  SnapshotWriter,
  parseSnapshotName,
  readSnapshot,
  readSnapshotAsync,
  snapshotName,
  type LoadedSnapshot,
  type SessionRecord,
} from './snapshot.js';
import { isEpochStart } from '../util/zxid.js';
import { checkWrittenSnapshot } from './readback.js';
import type { OnProgress } from '../util/progress.js';

export interface Recovery {
  snapshot: LoadedSnapshot | null;
  /** txns after the snapshot, in order */
  records: LogRecord[];
  truncated: Array<{ file: string; offset: number; why: string }>;
  /** damaged snapshots passed over (an older one plus the log covered for them) */
  skipped: Array<{ file: string; reason: string }>;
  /** milliseconds spent reading and checking snapshots (null: none was loaded), and reading the log (metrics) */
  snapshotLoadMs: number | null;
  logLoadMs: number;
}

export interface SnapshotInfo {
  file: string;
  zxid: number;
  bytes: number;
}

/** present while a SNAP install is being finished (see DataDir.installSnapshot) */
const INSTALL_MARKER = 'installing-snapshot';

export class DataDir {
  readonly snapDir: string;
  readonly log: FileTxnLog;

  constructor(
    readonly dataDir: string,
    readonly dataLogDir: string,
    logOpts: LogOptions,
  ) {
    this.snapDir = join(dataDir, DATA_SUBDIR);
    this.log = new FileTxnLog(dataLogDir, logOpts);
  }

  prepare(): void {
    prepareDir(this.dataDir);
    if (this.dataLogDir !== this.dataDir) prepareDir(this.dataLogDir);
  }

  /** Newest first. Leftover temp files of an interrupted snapshot are ignored. */
  snapshots(): SnapshotInfo[] {
    if (!existsSync(this.snapDir)) return [];
    return readdirSync(this.snapDir)
      .map((name) => ({ name, zxid: parseSnapshotName(name) }))
      .filter((s): s is { name: string; zxid: number } => s.zxid !== null)
      .map((s) => ({ file: join(this.snapDir, s.name), zxid: s.zxid, bytes: statSync(join(this.snapDir, s.name)).size }))
      .sort((a, b) => b.zxid - a.zxid);
  }

  /**
   * Loads the newest usable snapshot and the log after it, by the rules of planRecovery (the
   * ones `ark data verify` applies). Throws DataDirError when the data cannot be trusted. With
   * repair, a torn last record is cut off and an interrupted SNAP install is finished.
   */
  recover(
    opts: { repair: boolean; ensemble?: boolean; preloaded?: ReadonlyMap<string, LoadedSnapshot | string> } = { repair: true },
  ): Recovery {
    if (opts.repair) this.completeInstall();
    const t0 = performance.now();
    let loaded: LoadedSnapshot | null = null;
    let snapshotMs = 0;
    const plan = planRecovery({
      ...this.planInput(opts.ensemble ?? false),
      loadSnapshot: (file) => {
        const pre = opts.preloaded?.get(file);
        if (typeof pre === 'string') return pre;
        if (pre) {
          loaded = pre;
          return pre.zxid;
        }
        const t = performance.now();
        try {
          loaded = readSnapshot(file, readFileSync(file));
          return loaded.zxid;
        } catch (e) {
          if (!(e instanceof SnapshotCorruptError)) throw e;
          return e.message;
        } finally {
          snapshotMs += performance.now() - t;
        }
      },
      readSegment: memo((file) => readSegment(readFileSync(file))),
    });
    if (plan.refusal) throw new DataDirError(plan.refusal);
    const truncated: Recovery['truncated'] = [];
    if (plan.truncate) {
      if (opts.repair) {
        truncateSync(plan.truncate.file, plan.truncate.offset);
        fsyncPath(plan.truncate.file);
      }
      truncated.push({ file: plan.truncate.file, offset: plan.truncate.offset, why: plan.truncate.why });
    }
    return {
      snapshot: loaded,
      records: plan.records,
      truncated,
      skipped: plan.skipped,
      snapshotLoadMs: loaded ? snapshotMs : null,
      logLoadMs: performance.now() - t0 - snapshotMs,
    };
  }

  /**
   * recover() for a server: the snapshots are read without holding the event loop (the newest
   * first, until one checks out, as recovery takes them), so /health answers while a large data
   * dir loads; the log after it is read as recover() reads it.
   */
  async recoverAsync(opts: {
    repair: boolean;
    ensemble?: boolean;
    /** a snapshot is about to be read (the newest first, until one checks out) */
    onSnapshot?: (s: SnapshotInfo) => void;
    /** znodes of that snapshot rebuilt so far, of the count its trailer names */
    onProgress?: OnProgress;
  }): Promise<Recovery> {
    if (opts.repair) this.completeInstall();
    const preloaded = new Map<string, LoadedSnapshot | string>();
    const t = performance.now();
    for (const s of this.snapshots()) {
      try {
        opts.onSnapshot?.(s);
        preloaded.set(s.file, await readSnapshotAsync(s.file, await readFile(s.file), undefined, opts.onProgress));
        break;
      } catch (e) {
        if (!(e instanceof SnapshotCorruptError)) throw e;
        preloaded.set(s.file, e.message);
      }
    }
    const snapshotMs = performance.now() - t;
    const rec = this.recover({ repair: opts.repair, ...(opts.ensemble !== undefined ? { ensemble: opts.ensemble } : {}), preloaded });
    return { ...rec, snapshotLoadMs: rec.snapshot ? snapshotMs : null };
  }

  /** What planRecovery is given about this data dir, apart from the readers. */
  planInput(ensemble: boolean): Omit<PlanInput, 'loadSnapshot' | 'readSegment'> {
    return {
      dataDir: this.dataDir,
      dataLogDir: this.dataLogDir,
      logDir: this.log.dir,
      ensemble,
      snapshots: this.snapshots(),
      segments: listSegments(this.log.dir).map((s) => ({ file: join(this.log.dir, s.name), firstZxid: s.firstZxid })),
    };
  }

  /**
   * Writes a consistent snapshot of `tree` at its current zxid, `nodesPerSlice` nodes per turn of
   * the event loop, to a temp file that is fsynced and renamed into place.
   */
  async writeSnapshot(
    tree: DataTree,
    sessions: SessionRecord[],
    opts: { gzip: boolean; nodesPerSlice?: number; now: number; signal?: AbortSignal; onProgress?: OnProgress },
  ): Promise<SnapshotInfo & { nodes: number; ms: number }> {
    const t0 = Date.now();
    const total = tree.nodes.size; // what the writer captures, in the same turn
    const writer = new SnapshotWriter(tree, sessions, opts.now);
    opts.onProgress?.({ done: 0, total, unit: 'znodes' });
    const file = join(this.snapDir, snapshotName(writer.zxid, opts.gzip));
    const tmp = `${file}.tmp`;
    // ~2,000 nodes (a few ms) per turn of the event loop: a large snapshot must not stall replies
    const per = opts.nodesPerSlice ?? 2000;
    let bytes = 0;
    async function* slices(): AsyncGenerator<Buffer> {
      for (;;) {
        if (opts.signal?.aborted) throw new Error('snapshot aborted');
        const chunk = writer.next(per);
        if (!chunk) return;
        bytes += chunk.length;
        opts.onProgress?.({ done: writer.nodeCount, total, unit: 'znodes' });
        yield chunk;
        await yieldTurn();
      }
    }
    const out = createWriteStream(tmp, { flags: 'w' });
    try {
      if (opts.gzip) await pipeline(Readable.from(slices()), createGzip({ level: 1 }), out);
      else await pipeline(Readable.from(slices()), out);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      // what is on disk is what was written, before the file counts as a snapshot
      await checkWrittenSnapshot(tmp, {
        zxid: writer.zxid,
        timeMs: opts.now,
        nodes: writer.nodeCount,
        digest: writer.treeDigest,
        bytes,
        gzip: opts.gzip,
      });
      renameSync(tmp, file);
      fsyncPath(this.snapDir);
    } catch (e) {
      writer.abort();
      // the stream may still be opening the file: remove it only once the stream is closed
      if (!out.closed) await new Promise<void>((r) => out.once('close', () => r()));
      rmSync(tmp, { force: true });
      throw e;
    }
    return { file, zxid: writer.zxid, bytes: statSync(file).size, nodes: writer.nodeCount, ms: Date.now() - t0 };
  }

  /**
   * Makes a snapshot received from the leader (SNAP) this server's state, all or nothing: the
   * snapshot is written and synced under a temp name, then a marker naming it is made durable;
   * from then on the install is finished even across a crash (recover() completes it): the old log
   * goes (its txns may not belong to the leader's history), snapshots above it go, the snapshot is
   * renamed into place, and the marker goes. `keepLogUpTo`: the txns up to here are known
   * committed (and at or below the snapshot): they stay, for the archive that may still need them;
   * recovery reads none of them. The kept log and the new one (after the snapshot) do not join:
   * a break file records where (logbreaks.ts), so the archive never reads across.
   */
  installSnapshot(zxid: number, data: Uint8Array, keepLogUpTo = -1): void {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const tmp = this.installTemp(zxid);
    writeFileSync(tmp, buf);
    fsyncPath(tmp);
    const marker = join(this.snapDir, INSTALL_MARKER);
    const keep = Math.min(keepLogUpTo, zxid);
    // judged now, while the log still holds what proves a restore was taken, and kept in the
    // marker: a crash after the log is cut must not judge again from the cut log
    const loggedAfter = (image: number): boolean => logsAfter(this.log.dir, image);
    const unproven = this.snapshots()
      .filter((s) => unprovenRestore(s.zxid, zxid, keep, loggedAfter))
      .map((s) => s.zxid);
    writeFileSync(marker, `${zxid}\n${keep}\n${unproven.join(',')}\n`);
    fsyncPath(marker);
    fsyncPath(this.snapDir);
    this.finishInstall(zxid, keep, unproven);
  }

  private installTemp(zxid: number): string {
    return join(this.snapDir, `${snapshotName(zxid, false)}.install`);
  }

  private finishInstall(zxid: number, keepLogUpTo: number, unproven: readonly number[]): void {
    // the kept log ends at keepLogUpTo and the new one resumes after the snapshot: recorded before
    // the log is cut, so a crash leaves the break recorded or the install to finish (the marker)
    if (keepLogUpTo >= 0 && keepLogUpTo < zxid) writeBreak(this.log.dir, { keep: keepLogUpTo, snapshot: zxid });
    if (keepLogUpTo >= 0) this.log.truncateAfter(keepLogUpTo);
    else this.log.removeAll();
    this.pruneLogBreaks();
    for (const s of this.snapshots()) if (s.zxid > zxid || unproven.includes(s.zxid)) rmSync(s.file, { force: true });
    const tmp = this.installTemp(zxid);
    if (existsSync(tmp)) renameSync(tmp, join(this.snapDir, snapshotName(zxid, false)));
    fsyncPath(this.snapDir);
    rmSync(join(this.snapDir, INSTALL_MARKER), { force: true });
    fsyncPath(this.snapDir);
  }

  /** An install a crash interrupted after its marker was written is finished; an earlier one left no trace that counts. */
  private completeInstall(): void {
    const marker = join(this.snapDir, INSTALL_MARKER);
    if (!existsSync(marker)) return;
    const [zxidLine, keepLine, unprovenLine] = readFileSync(marker, 'utf8').split('\n');
    const zxid = Number(zxidLine);
    const keep = Number(keepLine);
    // the images the install judged unproven (a marker without the line removes none)
    const unproven = (unprovenLine ?? '')
      .split(',')
      .filter((x) => x !== '')
      .map(Number)
      .filter(Number.isSafeInteger);
    const ready =
      Number.isSafeInteger(zxid) && (existsSync(this.installTemp(zxid)) || existsSync(join(this.snapDir, snapshotName(zxid, false))));
    if (ready) this.finishInstall(zxid, Number.isSafeInteger(keep) && keepLine !== '' ? keep : -1, unproven);
    else rmSync(marker, { force: true });
  }

  /** Zab TRUNC: drops logged txns after zxid, and any snapshot above it. */
  truncateAfter(zxid: number): number {
    // a snapshot above the cut holds txns that were applied but never committed (a dirty
    // snapshot, ZOOKEEPER-1549); the older snapshots and the log rebuild the state without them
    for (const s of this.snapshots()) if (s.zxid > zxid) rmSync(s.file, { force: true });
    return this.log.truncateAfter(zxid);
  }

  /**
   * Keeps the newest `keep` snapshots and the log segments needed to replay from the oldest of
   * them; deletes the rest. `keepLogAfter`: segments holding a txn after this zxid stay too (the
   * txns not archived yet). Returns what it deleted.
   */
  purge(keep: number, keepLogAfter = Number.POSITIVE_INFINITY): string[] {
    if (keep < 1) throw new DataDirError(`purge must keep at least one snapshot (asked for ${keep})`);
    const snaps = this.snapshots();
    if (snaps.length <= keep && snaps.length > 0) return this.purgeLogsBefore(Math.min(snaps[snaps.length - 1]!.zxid, keepLogAfter));
    if (snaps.length === 0) return [];
    const kept = snaps.slice(0, keep);
    const removed: string[] = [];
    for (const s of snaps.slice(keep)) {
      rmSync(s.file, { force: true });
      removed.push(s.file);
    }
    return [...removed, ...this.purgeLogsBefore(Math.min(kept[kept.length - 1]!.zxid, keepLogAfter))];
  }

  /** Deletes segments whose every txn is at or before zxid (the next segment starts by zxid + 1), and the breaks only they met. */
  private purgeLogsBefore(zxid: number): string[] {
    const segs = listSegments(this.log.dir);
    const removed: string[] = [];
    for (let i = 0; i + 1 < segs.length; i++) {
      if (segs[i + 1]!.firstZxid > zxid + 1) break;
      const f = join(this.log.dir, segs[i]!.name);
      rmSync(f, { force: true });
      removed.push(f);
    }
    return [...removed, ...this.pruneLogBreaks()];
  }

  /** Drops the log's break records (logbreaks.ts) whose kept txns are gone: no run can meet them. */
  private pruneLogBreaks(): string[] {
    return pruneBreaks(this.log.dir, listSegments(this.log.dir)[0]?.firstZxid ?? null);
  }
}

/**
 * A restore's image (zxid counter 0) below a snapshot installed from the leader, with no txn this
 * member saw committed after it (`keepLogUpTo`: the last it saw; -1 unknown) and no txn after it
 * in its log (`loggedAfter`): nothing proves it is the ensemble's history. It is what a restore
 * campaign that failed leaves on the restorer's disk (Zab.becomeLeader installs the image before
 * any quorum took it; the others elect a leader of the old history, whose SNAP above the image
 * brings the restorer back before it logs anything, since a TRUNC below its snapshot is a SNAP):
 * left as an older snapshot, the archive took it for a restore base (a state the ensemble never
 * had) and recovery for a fallback. A txn logged after the image came from a leader whose history
 * holds it (its own epoch's proposals once a quorum took it, or a later leader's DIFF), so it
 * proves the restore was taken; after a restart a member knows nothing committed past its
 * snapshot, and `keepLogUpTo` alone would condemn a restore the ensemble went on from.
 */
function unprovenRestore(snapshot: number, installed: number, keepLogUpTo: number, loggedAfter: (image: number) => boolean): boolean {
  return isEpochStart(snapshot) && snapshot < installed && snapshot >= keepLogUpTo && !loggedAfter(snapshot);
}

/** Does the log in `logDir` hold a txn after `image`? (A segment named above it holds one: it is named after its first txn.) */
function logsAfter(logDir: string, image: number): boolean {
  const segs = listSegments(logDir);
  if (segs.some((g) => g.firstZxid > image)) return true;
  // otherwise only the last segment starting at or before the image can hold such a txn
  const holder = segs.at(-1);
  if (!holder) return false;
  return readSegment(readFileSync(join(logDir, holder.name))).records.some((r) => r.hdr.zxid > image);
}

/** f with its results kept per argument (a segment is read once per recovery however often the rules look at it) */
export function memo<T>(f: (key: string) => T): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    if (!seen.has(key)) seen.set(key, f(key));
    return seen.get(key)!;
  };
}

export { DataDirError, LogCorruptError, SnapshotCorruptError, continuityProblem };
