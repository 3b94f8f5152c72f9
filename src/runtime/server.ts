// The standalone runtime: composes the pure core with the client port, the txn log and timers.
// Order per batch: persist (one write + fdatasync for every txn decided meanwhile: group commit)
// -> apply -> send replies and watch events.
import { join } from 'node:path';
import { ServerCore, type PendingTxn } from '../server/core.js';
import { zookeeperSessionPassword } from '../session/sessions.js';
import type { ClientPort } from '../net/clientport.js';
import { fsyncPath, type FileTxnLog } from '../storage/filelog.js';
import { DataDir } from '../storage/datadir.js';
import { lockDataDirs, startHolding, type DirLock } from '../storage/lock.js';
import type { ServerView } from '../admin/fourletter.js';
import { AdminServer } from '../admin/adminserver.js';
import { archiveSegments, pruneArchive, archivePaths } from '../backup/archive.js';
import { backupName, readBackup, writeBackup, type BackupResult } from '../backup/format.js';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ARK_VERSION } from '../version.js';
import type { ServerConfig } from '../config/zoocfg.js';
import type { Logger } from '../util/log.js';
import { numberProp, PREALLOC_KB_DEFAULT, SEGMENT_BYTES_DEFAULT } from './shared.js';
import { ConnectionLimit, SnapshotRunner, coreClientPort, purgeDataDir, serverView, writeOutputs, type WrittenSnapshot } from './shared.js';
import { observeStorage } from './shared.js';
import { RuntimeStats } from '../admin/fourletter.js';
import { countFds, maxFds } from './shared.js';
import { ServerMetrics } from '../metrics/metrics.js';

export interface StartedServer {
  address: string;
  port: number;
  /** the AdminServer's port, null when it is off or could not bind */
  adminPort: number | null;
  stop(): Promise<void>;
}

export class ArkServer {
  /** replaced only by an online restore */
  core: ServerCore;
  private restoring = false;
  readonly dataDir: DataDir;
  private readonly log: FileTxnLog;
  private txnsSinceSnapshot = 0;
  private snapshotAfter: number;
  private readonly snapshots: SnapshotRunner;
  private purgeTimer: NodeJS.Timeout | null = null;
  private readonly gzipSnapshots: boolean;
  private readonly archiveDir: string | null;
  private backupTimer: NodeJS.Timeout | null = null;
  /** for mntr: the last backup this server made (scheduled or streamed) */
  lastBackup: { timeMs: number; bytes: number; ms: number; ok: boolean; zxid: number } | null = null;
  private archivedZxid = 0;
  readonly port: ClientPort;
  private syncing = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly view: ServerView;
  private boundPort = 0;
  private flushScheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly limit: ConnectionLimit;
  private admin: AdminServer | null = null;
  /** mntr's and the AdminServer's measured figures */
  private readonly runtimeStats = new RuntimeStats();
  /** Prometheus metrics (metricsProvider.className), null when off */
  private readonly metrics: ServerMetrics | null;
  private dirLock: DirLock | null = null;

  constructor(private readonly config: ServerConfig, private readonly logger: Logger) {
    const archiving = config.systemProperties.has('zookeeper.backup.archiveDir');
    this.metrics = config.prometheus && new ServerMetrics({
      core: () => this.core, uptimeMs: () => Date.now() - this.view.startedAt, openFds: countFds, maxFds,
      bytesReceived: () => this.port.bytesReceived, portInternalErrors: () => this.port.internalErrors,
      ...(archiving ? { archiveLagTxns: () => this.archiveLagTxns } : {}),
    }, config.prometheus);
    this.core = this.newCore();
    this.dataDir = new DataDir(config.dataDir, config.dataLogDir, {
      forceSync: config.forceSync,
      segmentBytesMax: numberProp(config, 'zookeeper.txnLogSizeLimitInKb', SEGMENT_BYTES_DEFAULT / 1024) * 1024,
      preAllocBytes: numberProp(config, 'zookeeper.preAllocSize', PREALLOC_KB_DEFAULT) * 1024,
      spareSegments: true,
    });
    this.log = this.dataDir.log;
    this.gzipSnapshots = config.systemProperties.get('zookeeper.snapshot.compression.method') === 'gz';
    this.snapshotAfter = this.nextSnapshotPoint();
    this.archiveDir = config.systemProperties.get('zookeeper.backup.archiveDir') ?? null;
    if (this.archiveDir) this.log.onRoll = () => setImmediate(() => this.archive());
    this.snapshots = new SnapshotRunner(this.dataDir, this.gzipSnapshots, logger);
    observeStorage(this.log, this.snapshots, { metrics: this.metrics, stats: this.runtimeStats, config, logger });
    this.limit = new ConnectionLimit(config.maxClientCnxns, () => this.core, logger);
    this.port = coreClientPort({
      core: () => this.core, view: () => this.view, logger, config, metrics: this.metrics,
      // an online restore refuses new clients until the restored tree serves
      open: (conn, addr, rport) => !this.restoring && this.limit.open(conn, addr, rport),
      closed: (conn, addr) => this.limit.closed(conn, addr),
      flush: () => this.scheduleFlush(),
    });
    this.view = serverView({
      config, core: () => this.core, port: () => this.port, boundPort: () => this.boundPort, serverId: 0,
      mode: () => 'standalone',
      stats: this.runtimeStats, dataDir: this.dataDir,
      notReady: () => (this.stopping ? 'shutting down' : this.restoring ? 'an online restore is replacing the tree: clients are refused until it serves' : null),
      extraMetrics: () => [
        ['zk_last_backup_time_ms', this.lastBackup?.timeMs ?? 0],
        ['zk_last_backup_size_bytes', this.lastBackup?.bytes ?? 0],
        ['zk_last_backup_duration_ms', this.lastBackup?.ms ?? 0],
        ['zk_last_backup_success', this.lastBackup ? (this.lastBackup.ok ? 1 : 0) : -1],
        ['zk_last_backup_zxid', this.lastBackup?.zxid ?? 0],
        ['zk_archive_lag_txns', this.archiveLagTxns],
        ['zk_last_snapshot_zxid', this.lastSnapshot?.zxid ?? 0],
      ],
    });
  }

  /** Loads the newest snapshot and replays the log after it, then opens the client port. */
  async start(): Promise<StartedServer> {
    // before anything reads or writes the dirs; held until stop() (the kernel frees it on kill -9)
    this.dirLock = lockDataDirs(this.config.dataDir, this.config.dataLogDir, 'ark server');
    return startHolding(this.dirLock, () => this.startLocked());
  }

  private async startLocked(): Promise<StartedServer> {
    if (!this.config.forceSync) this.logger.warn('forceSync=no: writes are acknowledged before they reach the disk, so a power loss can lose acknowledged data. Remove forceSync=no from zoo.cfg unless that risk is acceptable');
    this.dataDir.prepare();
    const t0 = Date.now();
    const loadStart = performance.now();
    const rec = this.dataDir.recover();
    for (const s of rec.skipped) this.logger.error({ reason: s.reason }, 'damaged snapshot passed over: recovered from an older snapshot and the log instead; move the file aside once you have a backup');
    for (const t of rec.truncated) this.logger.warn({ file: t.file, offset: t.offset }, 'txn log ended in a partial record (crash mid-write): truncated it there; no action needed, a write cut short was never acknowledged');
    if (rec.snapshot) this.core.restore(rec.snapshot.tree, rec.snapshot.sessions, rec.snapshot.zxid);
    const replayStart = performance.now();
    for (const r of rec.records) this.core.replay(r.hdr, r.txn);
    this.core.recovered(Date.now());
    this.metrics?.startup({
      dbInitMs: performance.now() - loadStart, snapshotLoadMs: rec.snapshotLoadMs, txnsLoadMs: rec.logLoadMs + performance.now() - replayStart, txns: rec.records.length,
    });
    this.logger.info({
      snapshotZxid: rec.snapshot ? `0x${rec.snapshot.zxid.toString(16)}` : null, txns: rec.records.length,
      zxid: `0x${this.core.lastZxid.toString(16)}`, ms: Date.now() - t0, znodes: this.core.tree.nodeCount,
    }, 'data loaded');
    // a snapshot now makes the next start-up fast and lets purge drop the replayed log
    if (rec.records.length > 0) this.startSnapshot();
    if (this.archiveDir) {
      this.archive();
      const every = Number(this.config.systemProperties.get('zookeeper.backup.intervalMs') ?? 0);
      if (every > 0) {
        // a backup at start, so the archive can restore any point from now on
        void this.scheduledBackup();
        this.backupTimer = setInterval(() => { void this.scheduledBackup(); }, every);
        this.backupTimer.unref();
      }
    }
    if (this.config.autopurgePurgeIntervalHours > 0) {
      const purge = (): void => purgeDataDir(this.dataDir, this.config.autopurgeSnapRetainCount, this.logger);
      purge(); // DatadirCleanupManager runs once at start, then every interval
      this.purgeTimer = setInterval(purge, this.config.autopurgePurgeIntervalHours * 3600_000);
      this.purgeTimer.unref();
    }
    const port = this.config.clientPort ?? 2181;
    const bound = await this.port.listen(port, this.config.clientPortAddress);
    this.boundPort = bound.port;
    const tickMs = Math.max(10, Math.min(this.config.tickTimeMs / 2, 500));
    this.timer = setInterval(() => {
      if (this.restoring) return; // the old tree must not decide anything more
      this.core.tick(Date.now());
      this.scheduleFlush();
    }, tickMs);
    let adminPort: number | null = null;
    if (this.config.adminEnabled) {
      this.admin = new AdminServer(this.view, this.logger, {
        backupTo: (out, onStart, signal) => this.backupTo(out, onStart, signal),
        superDigest: this.config.superDigest,
        restore: (raw) => this.restoreOnline(raw),
        rootAcl: () => this.core.tree.get('/')?.acl ?? [],
      });
      adminPort = await this.admin.start(this.config.adminServerPort, this.config.adminServerAddress);
    }
    await this.metrics?.start(this.logger);
    this.logger.info({ address: bound.address, port: bound.port, adminPort, dataDir: this.config.dataDir }, 'serving clients');
    return { address: bound.address, port: bound.port, adminPort, stop: () => this.stop() };
  }

  private newCore(): ServerCore {
    const config = this.config;
    const core = new ServerCore({
      tickTimeMs: config.tickTimeMs,
      minSessionTimeoutMs: config.minSessionTimeoutMs,
      maxSessionTimeoutMs: config.maxSessionTimeoutMs,
      serverId: 1, // standalone: ZooKeeperServer's createSessionTrackerServerId
      extendedTypesEnabled: config.extendedTypesEnabled,
      enforceQuota: config.enforceQuota,
      superDigest: config.superDigest,
      containerCheckIntervalMs: config.containerCheckIntervalMs,
      sessionPassword: zookeeperSessionPassword,
      replyBytesMax: config.juteMaxBufferBytes,
    }, Date.now());
    core.tree.onQuotaWarning = (message) => this.logger.warn(message);
    core.observer = this.metrics?.observer ?? null;
    return core;
  }

  /**
   * Online restore (ZooKeeper 3.9's POST /commands/restore): the backup replaces the tree. Clients
   * are disconnected (their sessions come back from the backup, or expire), the restored tree is
   * made durable as a snapshot in a new zxid epoch above everything this server handed out, then
   * served.
   */
  async restoreOnline(raw: Buffer): Promise<{ zxid: number; backupZxid: number; nodes: number; sessions: number }> {
    const b = readBackup('the uploaded backup', raw);
    if (this.restoring) throw new Error('a restore is already running');
    this.restoring = true;
    try {
      await this.snapshots.idle();
      this.port.closeAll();
      await new Promise<void>((resolve) => { this.idleWaiters.push(resolve); this.persist(); });
      const epochOf = (z: number): number => Math.floor(z / 4294967296);
      const zxid = (Math.max(epochOf(b.snapshot.zxid), epochOf(this.core.lastZxid)) + 1) * 4294967296;
      const tree = b.snapshot.tree;
      tree.lastProcessedZxid = zxid;
      this.log.closeSegment();
      await this.dataDir.writeSnapshot(tree, b.snapshot.sessions, { gzip: this.gzipSnapshots, now: Date.now() });
      await new Promise<void>((resolve) => { this.idleWaiters.push(resolve); this.persist(); });
      const core = this.newCore();
      core.restore(tree, b.snapshot.sessions, zxid);
      core.recovered(Date.now());
      core.tree.onQuotaWarning = (message) => this.logger.warn(message);
      this.core = core;
      this.logger.warn({ backupZxid: `0x${b.snapshot.zxid.toString(16)}`, zxid: `0x${zxid.toString(16)}`, znodes: tree.nodeCount }, 'online restore done: the tree was replaced by the backup; clients were disconnected and reconnect to the restored tree');
      // the archive needs a backup at the start of the new epoch: older history does not lead here
      if (this.archiveDir) { this.archive(true); void this.scheduledBackup(true); }
      return { zxid, backupZxid: b.snapshot.zxid, nodes: tree.nodeCount, sessions: b.snapshot.sessions.length };
    } finally {
      this.restoring = false;
    }
  }

  /** Coalesces everything one turn of the event loop produced into one write per socket and one log append. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushOutputs();
      this.persist();
    });
  }

  private flushOutputs(): void {
    writeOutputs(this.core, this.core.takeOutputs(), this.port, this.logger, this.metrics, this.runtimeStats);
  }

  private persist(): void {
    if (this.syncing) return;
    if (!this.core.hasTxns) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    const core = this.core; // an online restore may swap this.core while the fsync runs
    const txns: PendingTxn[] = core.takeTxns();
    this.metrics?.batch(txns.length);
    this.syncing = true;
    this.log.append(txns, (err) => {
      this.syncing = false;
      if (err) {
        this.logger.fatal({ err: err.message, dir: this.log.dir }, 'cannot write the txn log: stopping so that no unlogged write is acknowledged; check free space, permissions and the disk under dir, then restart');
        process.exit(2);
      }
      // the txns decided meanwhile start for the disk before this batch is applied and answered,
      // so the next fsync runs while the event loop applies and replies (ZooKeeper overlaps them
      // on separate threads); the log keeps its order, as this batch is already durable
      this.persist();
      core.committed(txns, Date.now());
      this.flushOutputs();
      this.txnsSinceSnapshot += txns.length;
      if (this.txnsSinceSnapshot >= this.snapshotAfter) this.startSnapshot();
    });
  }

  /** snapCount/2 + random(snapCount/2), so that ensemble members do not snapshot together (SyncRequestProcessor). */
  private nextSnapshotPoint(): number {
    const half = Math.max(1, Math.floor(this.config.snapCount / 2));
    return half + 1 + Math.floor(Math.random() * half);
  }

  private startSnapshot(): void {
    if (this.snapshots.busy) {
      this.logger.warn('Too busy to snap, skipping: the previous snapshot or a backup is still being written; if this repeats, raise snapCount or put dataDir on a faster disk');
      return;
    }
    this.txnsSinceSnapshot = 0;
    this.snapshotAfter = this.nextSnapshotPoint();
    this.snapshots.start(this.core);
  }

  /**
   * Streams a consistent backup into `out` (the AdminServer's snapshot command, scheduled backups).
   * Waits for a snapshot or another backup that is capturing the tree.
   */
  async backupTo(out: Writable, onStart?: (zxid: number) => void, signal?: AbortSignal): Promise<BackupResult> {
    await this.snapshots.idle();
    const t0 = Date.now();
    const run = writeBackup(this.core.tree, this.core.sessionRecords(), out, {
      createdBy: `ark ${ARK_VERSION}`, ...(onStart ? { onStart } : {}), ...(signal ? { signal } : {}),
    });
    this.snapshots.capturing = run;
    this.metrics?.backup(run);
    try {
      const r = await run;
      this.lastBackup = { timeMs: Date.now(), bytes: r.bytes, ms: r.ms, ok: true, zxid: r.zxid };
      this.logger.info({ zxid: `0x${r.zxid.toString(16)}`, nodes: r.nodes, bytes: r.bytes, ms: r.ms }, 'backup written');
      return r;
    } catch (e) {
      this.lastBackup = { timeMs: Date.now(), bytes: 0, ms: Date.now() - t0, ok: false, zxid: 0 };
      throw e;
    } finally {
      this.snapshots.capturing = null;
    }
  }

  /** A scheduled backup into the archive, then retention. */
  private lastArchivedBackupZxid = -1;

  private async scheduledBackup(force = false): Promise<void> {
    // nothing new since the last backup: the archive already has this point
    if (!force && this.lastArchivedBackupZxid === this.core.lastApplied) return;
    const dir = archivePaths(this.archiveDir!).backups;
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.backup-${Date.now()}.tmp`);
    try {
      const r = await this.backupTo(createWriteStream(tmp));
      fsyncPath(tmp);
      renameSync(tmp, join(dir, backupName(r.zxid)));
      fsyncPath(dir);
      this.lastArchivedBackupZxid = r.zxid;
      const keep = Number(this.config.systemProperties.get('zookeeper.backup.retainCount') ?? 0);
      if (keep > 0) for (const f of pruneArchive(this.archiveDir!, keep)) this.logger.info({ file: f }, 'archive retention removed');
    } catch (e) {
      rmSync(tmp, { force: true });
      this.logger.error({ err: (e as Error).message, dir }, 'scheduled backup failed: check that backup.archiveDir exists, is writable and has free space; the next scheduled backup tries again');
    }
  }

  /** Copies closed log segments to the archive (continuous archiving for point-in-time restore). */
  private archive(includeActive = false): void {
    if (!this.archiveDir) return;
    try {
      const copied = archiveSegments(this.log.dir, this.archiveDir, includeActive ? null : this.log.activeSegment);
      if (copied.length > 0) this.logger.info({ segments: copied.length, archive: this.archiveDir }, 'log segments archived');
      this.archivedZxid = this.core.lastApplied;
    } catch (e) {
      this.logger.error({ err: (e as Error).message, archive: this.archiveDir }, 'archiving log segments failed: point-in-time restore will stop at the last archived segment; check the archive directory');
    }
  }

  /** Txns applied since the last archived segment boundary (mntr: archive lag). */
  get archiveLagTxns(): number {
    return this.archiveDir ? Math.max(0, this.core.lastApplied - this.archivedZxid) : 0;
  }

  /** The last snapshot written by this process (for mntr / admin). */
  get lastSnapshot(): WrittenSnapshot | null {
    return this.snapshots.last;
  }

  /** Waits for a snapshot in progress (tests, shutdown). */
  async snapshotIdle(): Promise<void> {
    await this.snapshots.done;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    if (this.backupTimer) clearInterval(this.backupTimer);
    this.snapshots.abort();
    await this.snapshots.done;
    // closing the AdminServer ends any backup streaming to a client, which releases its capture
    await this.admin?.stop();
    await this.snapshots.idle();
    this.flushOutputs();
    // let what is decided reach the disk and its replies go out
    await new Promise<void>((resolve) => { this.idleWaiters.push(resolve); this.persist(); });
    this.flushOutputs();
    await this.port.stop();
    await this.admin?.stop();
    await this.metrics?.stop();
    this.log.closeSegment();
    await this.log.settle();
    this.archive(true);
    this.dirLock?.release();
    this.logger.info('stopped');
  }
}
