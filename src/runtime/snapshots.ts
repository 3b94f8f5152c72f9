// Background snapshots (one at a time, written in slices while requests are served), the storage
// hooks both commit paths share (fsync and snapshot times), and autopurge.
import type { ServerCore } from '../server/core.js';
import type { DataDir, SnapshotInfo } from '../storage/datadir.js';
import type { RuntimeStats } from '../admin/fourletter.js';
import type { FileTxnLog } from '../storage/filelog.js';
import type { Logger } from '../util/log.js';
import type { ServerMetrics } from '../metrics/metrics.js';
import { SnapshotSchedule } from '../server/snapschedule.js';

/**
 * The storage hooks both runtimes set the same way: each txn-log fsync and each snapshot goes to
 * mntr's figures and, when on, to /metrics; a slow fsync is counted and logged.
 */
export function observeStorage(
  log: FileTxnLog,
  snapshots: SnapshotRunner,
  o: { metrics: ServerMetrics | null; stats: RuntimeStats; thresholdMs: number; logger: Logger },
): void {
  const { metrics, stats, logger, thresholdMs } = o;
  log.onFsync = (ms) => {
    metrics?.fsync(ms);
    stats.fsync.add(Math.round(ms));
    if (ms <= thresholdMs) return;
    stats.fsyncThresholdExceeded++;
    logger.warn(
      { ms: Math.round(ms), thresholdMs, dir: log.dir },
      'fsync of the txn log was slow: every write waits for it; put dataLogDir on a faster disk of its own, or raise fsync.warningthresholdms if this disk is expected to be slow',
    );
  };
  if (metrics) snapshots.onSnapshot = (info) => metrics.snapshotWritten(info.ms);
  snapshots.stats = stats;
}

export type WrittenSnapshot = SnapshotInfo & { nodes: number; ms: number };

/**
 * One background snapshot at a time: written in slices while requests are served; the log rolls
 * first, so purge can drop the segments it replaces. `capturing` is the tree capture mutex that
 * backups share.
 */
export class SnapshotRunner {
  private run: { done: Promise<void>; abort: AbortController } | null = null;
  capturing: Promise<unknown> | null = null;
  last: WrittenSnapshot | null = null;
  /** called with each snapshot written (metrics: snapshottime) */
  onSnapshot: ((info: WrittenSnapshot) => void) | null = null;
  /** mntr's zk_*_snapshottime */
  stats: RuntimeStats | null = null;

  /**
   * When a snapshot is due: the runtime tells it of recovery (`recovered`), a SNAP installed
   * (`installed`) and the start of serving (`servingStarted`) directly; the runner itself counts
   * applied txns and log bytes (`applied`) and reports starts and writes.
   */
  readonly schedule: SnapshotSchedule;
  /** the log's bytesAppended when applied() last looked */
  private logBytesSeen = 0;

  constructor(
    private readonly dataDir: DataDir,
    private readonly gzip: boolean,
    private readonly logger: Logger,
    limits: { snapCount: number; snapSizeBytes: number },
    random: () => number,
  ) {
    this.schedule = new SnapshotSchedule(limits.snapCount, limits.snapSizeBytes, random);
  }

  /** Counts applied txns (and the log written meanwhile); true once a snapshot is due. */
  applied(n: number): boolean {
    const bytes = this.dataDir.log.bytesAppended - this.logBytesSeen;
    this.logBytesSeen += bytes;
    return this.schedule.applied(n, bytes);
  }

  get busy(): boolean {
    return this.run !== null || this.capturing !== null;
  }

  get done(): Promise<void> | undefined {
    return this.run?.done;
  }

  /**
   * Starts a snapshot of `core` unless one (or a backup's capture) is running: then it is skipped,
   * as ZooKeeper's "Too busy to snap", and tried again after the next snapCount/2.. txns.
   */
  start(core: ServerCore, onWritten?: (info: WrittenSnapshot) => void): boolean {
    this.schedule.started();
    if (this.busy) {
      this.logger.warn(
        'Too busy to snap, skipping: the previous snapshot or a backup is still being written; if this repeats, raise snapCount or put dataDir on a faster disk',
      );
      return false;
    }
    this.dataDir.log.roll();
    const abort = new AbortController();
    const done = this.dataDir
      .writeSnapshot(core.tree, core.sessionRecords(), { gzip: this.gzip, now: Date.now(), signal: abort.signal })
      .then(
        (info) => {
          this.last = info;
          this.schedule.written(info.zxid);
          onWritten?.(info);
          this.onSnapshot?.(info);
          this.stats?.snapshot.add(info.ms);
          this.logger.info(
            { file: info.file, zxid: `0x${info.zxid.toString(16)}`, nodes: info.nodes, bytes: info.bytes, ms: info.ms },
            'snapshot written',
          );
        },
        (e: unknown) => {
          if (!abort.signal.aborted)
            this.logger.error(
              { err: (e as Error).message },
              'snapshot failed: the txn log still holds every write; check free space and permissions of dataDir (the next snapshot is tried after snapCount more txns)',
            );
        },
      )
      .finally(() => {
        this.run = null;
        if (this.capturing === done) this.capturing = null;
      });
    this.run = { done, abort };
    this.capturing = done;
    return true;
  }

  abort(): void {
    this.run?.abort.abort();
  }

  /** Waits until no capture (snapshot or backup) holds the tree. */
  async idle(): Promise<void> {
    while (this.capturing) await this.capturing.catch(() => undefined);
  }

  /**
   * Runs `job` (a backup's capture, a restore replacing the tree) once no other capture holds the
   * tree, and holds it meanwhile. The check and the claim happen in one turn of the event loop, so
   * two callers that wait together never both start (a snapshot that comes due meanwhile is
   * skipped, as ZooKeeper's "Too busy to snap").
   */
  async exclusive<T>(job: () => Promise<T>): Promise<T> {
    while (this.capturing) await this.capturing.catch(() => undefined);
    const run = job();
    this.capturing = run;
    try {
      return await run;
    } finally {
      if (this.capturing === run) this.capturing = null;
    }
  }
}

/** autopurge: keep the newest snapshots and the log they need (and the txns not archived yet). */
export function purgeDataDir(dataDir: DataDir, keep: number, logger: Logger, keepLogAfter = Number.POSITIVE_INFINITY): void {
  try {
    const removed = dataDir.purge(keep, keepLogAfter);
    if (removed.length > 0) logger.info({ removed: removed.length, kept: keep }, 'autopurge removed old snapshots and log segments');
  } catch (e) {
    logger.error(
      { err: (e as Error).message },
      'autopurge failed: old snapshots and log segments stay; check permissions of dataDir and dataLogDir (purge runs again after autopurge.purgeInterval hours, or run ark purge)',
    );
  }
}
