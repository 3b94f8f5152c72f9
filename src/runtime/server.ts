// The server host: one Ark server, standalone or an ensemble member. It owns what both share (the
// data dir, snapshots, the client port, the AdminServer, metrics, backups and the archive, timers,
// start and stop) and plugs in the commit path that differs: one member's group commit
// (standalone.ts) or Zab (quorum.ts). Nothing here exits the process: a fatal storage error stops
// the server and is emitted as 'fatal' for the caller (the CLI turns it into exit code 2).
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import type { CoreAuth, Output, ServerCore } from '../server/core.js';
import type { ClientPort, PortSecurity } from '../net/clientport.js';
import { DataDir } from '../storage/datadir.js';
import { listSegments } from '../storage/filelog.js';
import { lockDataDirs, startHolding, type DirLock } from '../storage/lock.js';
import { RuntimeStats, type ServerView } from '../admin/fourletter.js';
import { AdminServer } from '../admin/adminserver.js';
import { Console } from '../admin/console.js';
import { ensembleState } from '../admin/console-ensemble.js';
import { sessionPasswd, sessionsView } from '../admin/console-sessions.js';
import { metricsSample } from '../admin/console-metrics.js';
import { checkedBody, readBackupAsync, writeBackup, type BackupResult } from '../backup/format.js';
import { openArchive } from '../backup/store.js';
import { archiveWithKeys } from '../backup/crypt-store.js';
import { ConfigError } from '../config/error.js';
import { archiveRecipients } from './archivekeys.js';
import { ARK_VERSION, VERSION_STRING } from '../version.js';
import type { ServerConfig } from '../config/serverconfig.js';
import type { Logger } from '../util/log.js';
import { ServerMetrics } from '../metrics/metrics.js';
import { ConnectionLimit, coreClientPort, writeOutputs } from './clients.js';
import { countFds, maxFds, serverView } from './view.js';
import { SnapshotRunner, observeStorage, purgeDataDir, type WrittenSnapshot } from './snapshots.js';
import type { CommitPath, HostServices, RestoreOutcome } from './commit.js';
import { StandalonePath } from './standalone.js';
import { QuorumPath } from './quorum.js';
import { ArchiveRunner } from './archiving.js';
import { clientTlsOptions } from './tlsfiles.js';
import { coreAuth } from './authfiles.js';
import { LoadLog, progressLog } from './loadlog.js';
import { restoreSubtreeLive } from './subtree.js';

export interface StartedServer {
  address: string;
  port: number;
  /** the AdminServer's port, null when it is off or could not bind */
  adminPort: number | null;
  /** the secure (TLS) client port, null without secureClientPort */
  securePort: number | null;
  stop(): Promise<void>;
}

export interface ArkServerEvents {
  /** the data dir could not be written: the server stopped serving; exit or restart it */
  fatal: [Error];
}

export class ArkServer extends EventEmitter<ArkServerEvents> {
  readonly dataDir: DataDir;
  readonly port: ClientPort;
  private readonly commit: CommitPath;
  private readonly snapshots: SnapshotRunner;
  private readonly limit: ConnectionLimit;
  private readonly view: ServerView;
  /** mntr's and the AdminServer's measured figures */
  private readonly runtimeStats = new RuntimeStats();
  /** Prometheus metrics (metricsProvider.className), null when off */
  private readonly metrics: ServerMetrics | null;
  private admin: AdminServer | null = null;
  /** the exclusive hold on dataDir and dataLogDir, from start until stop (the kernel frees it on kill -9) */
  private dirLock: DirLock | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private boundPort = 0;
  /** the web console's sessions connect here once clients are served (ClientPort.listenLocal) */
  private consoleSocket: string | null = null;
  private boundSecurePort = -1;
  /** the secure (or unified) client port's TLS options, read from the stores at start */
  private tlsOptions: TlsOptions | null = null;
  /** the AdminServer's (admin.forceHttps / admin.portUnification) and the metrics endpoint's (metricsProvider.httpsPort) */
  private adminTlsOptions: TlsOptions | null = null;
  private metricsTlsOptions: TlsOptions | null = null;
  private loading = true;
  private restoring = false;
  /** an online restore was asked and has not ended (it flushes the archive before `restoring`) */
  private restoreAsked = false;
  private stopped: Promise<void> | null = null;
  private stopping = false;
  private failed = false;
  /** for mntr: the last backup this server made (scheduled or streamed) */
  lastBackup: { timeMs: number; bytes: number; ms: number; ok: boolean; zxid: number } | null = null;
  /** the continuous archive (backup.archiveDir), null when not configured */
  private readonly archiving: ArchiveRunner | null;
  /** a problem with the archive's public keys: start() refuses with it (the constructor cannot) */
  private readonly keysRefusal: ConfigError | null = null;
  /** the JAAS file could not be read or served: start() refuses with it */
  private readonly authRefusal: ConfigError | null = null;
  private readonly auth: CoreAuth;
  /** how many public keys the archive is encrypted to (0: written in clear) */
  private readonly archiveRecipients: number = 0;

  constructor(
    private readonly config: ServerConfig,
    private readonly logger: Logger,
    myId?: number,
  ) {
    super();
    this.dataDir = new DataDir(config.dataDir, config.dataLogDir, {
      forceSync: config.forceSync,
      segmentBytesMax: config.txnLogSegmentBytes,
      preAllocBytes: config.preAllocBytes,
      spareSegments: true,
    });
    this.snapshots = new SnapshotRunner(
      this.dataDir,
      config.snapshotCompression === 'gz',
      logger,
      { snapCount: config.snapCount, snapSizeBytes: config.snapSizeLimitKb * 1024 },
      Math.random,
    );
    try {
      this.auth = coreAuth(config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.authRefusal = e;
      this.auth = coreAuth({ ...config, auth: { ...config.auth, loginConfigKey: undefined } }, {});
    }
    const host = this.services();
    if (config.distributed) {
      if (myId === undefined) throw new Error('an ensemble member needs its id (dataDir/myid)');
      this.commit = new QuorumPath(host, myId);
    } else {
      this.commit = new StandalonePath(host);
    }
    this.metrics = this.makeMetrics();
    // the standalone path made its core before the metrics existed
    if (this.commit instanceof StandalonePath) this.core.observer = this.metrics?.observer ?? null;
    observeStorage(this.dataDir.log, this.snapshots, {
      metrics: this.metrics,
      stats: this.runtimeStats,
      thresholdMs: config.fsyncWarningThresholdMs,
      logger,
    });
    let recipients: string[] = [];
    try {
      recipients = config.backup ? archiveRecipients(config.backup) : [];
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.keysRefusal = e;
    }
    this.archiveRecipients = recipients.length;
    this.archiving =
      config.backup &&
      new ArchiveRunner(archiveWithKeys(openArchive(config.backup.archiveDir, config.backup.s3), { recipients }), config.backup, {
        serverId: myId ?? 0,
        dataDir: this.dataDir,
        logger,
        createdBy: `ark ${ARK_VERSION}`,
        member: () => ({
          serving: !this.loading && !this.restoring && !this.failed && this.commit.serving(),
          duty: this.commit.archiveDuty(),
          committed: this.commit.committedZxid(),
          archivable: this.commit.archivableZxid(),
          applied: this.core.lastApplied,
        }),
        backupTo: (out, onStart, signal) => this.backupTo(out, onStart, signal),
      });
    this.limit = new ConnectionLimit(config.maxClientCnxns, () => this.core, logger);
    const commit: CommitPath = this.commit;
    this.port = coreClientPort({
      core: () => this.core,
      view: () => this.view,
      logger,
      config,
      metrics: this.metrics,
      // an online restore refuses new clients until the restored tree serves
      open: (conn, addr, rport, certSubject) => !this.restoring && !this.stopping && this.limit.open(conn, addr, rport, certSubject),
      closed: (conn, addr) => this.limit.closed(conn, addr),
      flush: () => this.commit.schedule(),
      ...(commit.catchUp ? { beforeRequest: () => commit.catchUp!() } : {}),
    });
    this.view = serverView({
      config,
      core: () => this.core,
      port: () => this.port,
      boundPort: () => this.boundPort,
      boundSecurePort: () => this.boundSecurePort,
      serverId: myId ?? 0,
      mode: () => this.commit.mode(),
      serving: () => !this.loading && !this.restoring && this.commit.serving(),
      extraMetrics: () => this.extraMetrics(),
      stats: this.runtimeStats,
      dataDir: this.dataDir,
      notReady: () => this.notReadyReason(),
      loading: () => this.loading,
      ...(commit.ensembleView ? { ensemble: commit.ensembleView } : {}),
      ...(commit.quorumView ? { quorum: commit.quorumView } : {}),
    });
  }

  /** The core serving clients now. */
  get core(): ServerCore {
    return this.commit.core;
  }

  /** One line on what authenticates clients, so an operator sees SASL and x509 are on (or why not). */
  private logAuth(): void {
    const { config, logger, auth } = this;
    const users = auth.saslUsers;
    if (users) logger.info({ users: users.size }, 'SASL DIGEST-MD5 for clients: users from the JAAS Server section');
    else if (config.auth.saslProvider) {
      logger.warn(
        'authProvider names SASLAuthenticationProvider but no JAAS file with a Server section was given (-Djava.security.auth.login.config in SERVER_JVMFLAGS, or java.security.auth.login.config in zoo.cfg): no client can authenticate with SASL',
      );
    }
    if (auth.enforceSchemes)
      logger.info({ schemes: [...auth.enforceSchemes] }, 'clients must authenticate before any request (enforce.auth)');
  }

  /** What the commit paths may use of the host. */
  private services(): HostServices {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const host = this; // the metrics are made after the commit path (they read it): looked up when used
    return {
      config: this.config,
      auth: this.auth,
      logger: this.logger,
      dataDir: this.dataDir,
      get metrics() {
        return host.metrics;
      },
      stats: this.runtimeStats,
      send: (core, outputs) => this.send(core, outputs),
      applied: (n) => this.applied(n),
      fatal: (err) => this.fail(err),
      coreChanged: (core) => {
        core.observer = this.metrics?.observer ?? null;
        this.archiving?.archiver.historyChanged();
      },
      snapshotDone: () => this.snapshots.done ?? Promise.resolve(),
      servingStarted: () => {
        this.snapshotIf(this.snapshots.schedule.servingStarted(this.core.lastApplied));
      },
      snapshotInstalled: (zxid) => this.snapshots.schedule.installed(zxid),
      archiveEnd: () => this.archiveEnd(),
    };
  }

  private makeMetrics(): ServerMetrics | null {
    const { config } = this;
    if (!config.prometheus) return null;
    const commit = this.commit;
    return new ServerMetrics(
      {
        core: () => this.core,
        uptimeMs: () => Date.now() - this.view.startedAt,
        openFds: countFds,
        maxFds,
        bytesReceived: () => this.port.bytesReceived,
        portInternalErrors: () => this.port.internalErrors,
        ...(config.backup ? { archiveLag: () => this.archiveLag() } : {}),
        ...(commit instanceof QuorumPath
          ? { quorum: { zab: () => commit.replica.zab, voters: config.servers.filter((s) => s.role === 'participant').length } }
          : {}),
      },
      config.prometheus,
    );
  }

  private send(core: ServerCore, outputs: readonly Output[]): void {
    writeOutputs(core, outputs, this.port, this.logger, this.metrics, this.runtimeStats);
  }

  private extraMetrics(): Array<[string, number]> {
    return [
      ...this.commit.extraMetrics(),
      ['zk_last_backup_time_ms', this.lastBackup?.timeMs ?? 0],
      ['zk_last_backup_size_bytes', this.lastBackup?.bytes ?? 0],
      ['zk_last_backup_duration_ms', this.lastBackup?.ms ?? 0],
      ['zk_last_backup_success', this.lastBackup ? (this.lastBackup.ok ? 1 : 0) : -1],
      ['zk_last_backup_zxid', this.lastBackup?.zxid ?? 0],
      ...this.archiveMetrics(),
      ['zk_last_snapshot_zxid', this.snapshots.last?.zxid ?? 0],
    ];
  }

  private notReadyReason(): string | null {
    if (this.failed) return 'stopped: the data dir could not be written (see the log)';
    if (this.stopping) return 'shutting down';
    if (this.loading) return 'loading the data dir';
    if (this.restoring) return 'an online restore is replacing the tree: clients are refused until it serves';
    return this.commit.notReadyReason();
  }

  /** Loads the newest snapshot and the log after it, then opens the client port (and the peers). */
  async start(): Promise<StartedServer> {
    // before anything reads or writes the dirs: a second server, a restore or a purge is refused
    const purpose = this.config.distributed ? `ark server (ensemble member ${this.view.config.serverId})` : 'ark server';
    this.dirLock = lockDataDirs(this.config.dataDir, this.config.dataLogDir, purpose);
    return startHolding(this.dirLock, () => this.startLocked());
  }

  private async startLocked(): Promise<StartedServer> {
    const { config, logger } = this;
    if (this.keysRefusal) throw this.keysRefusal;
    if (this.authRefusal) throw this.authRefusal;
    this.logAuth();
    if (config.backup && this.archiveRecipients > 0)
      logger.info(
        { archive: config.backup.archiveDir, recipients: this.archiveRecipients },
        'the archive is encrypted (age) to the public keys of backup.recipients / backup.recipientsFile: reading it back needs a private key, which this server does not hold',
      );
    // the certificates first: a store that cannot be read stops start-up before the data dir loads
    this.tlsOptions = config.clientTls && clientTlsOptions(config.clientTls);
    if (this.commit instanceof QuorumPath) this.commit.prepareSecurity();
    this.adminTlsOptions = config.adminTls && clientTlsOptions(config.adminTls);
    this.metricsTlsOptions = config.prometheus?.tls ? clientTlsOptions(config.prometheus.tls) : null;
    if (!config.forceSync) {
      logger.warn(
        'forceSync=no: writes are acknowledged before they reach the disk, so a power loss (of a quorum, in an ensemble) can lose acknowledged data. Remove forceSync=no from zoo.cfg unless that risk is acceptable',
      );
    }
    this.dataDir.prepare();
    // the AdminServer first: /health answers while a large data dir loads, /ready says why not yet
    const adminPort = await this.startAdmin();
    try {
      return await this.open(adminPort);
    } catch (e) {
      // whatever started (the AdminServer, the peers, timers) stops again; the caller frees the lock
      await this.stop().catch(() => undefined);
      throw e;
    }
  }

  /** Everything after the AdminServer: load the data dir, then open the ports and start the timers. */
  private async open(adminPort: number | null): Promise<StartedServer> {
    const { config, logger } = this;
    await this.load();
    await this.commit.start();
    const { bound, securePort } = await this.openClientPorts();
    this.boundPort = bound.port;
    this.boundSecurePort = securePort ?? -1;
    if (this.admin && config.adminConsoleEnabled) await this.openConsoleSocket();
    this.every(this.commit.tickMs, () => this.commit.tick(Date.now()), false);
    this.archiving?.start();
    if (config.autopurgePurgeIntervalHours > 0) {
      // the txns not archived yet stay (behind its end, or in a hole this member can fill), and
      // the one a new link would continue; when the archive has not been read yet, all of them
      const keepLogAfter = (): number => {
        if (!this.archiving) return Number.POSITIVE_INFINITY;
        const logFrom = listSegments(this.dataDir.log.dir)[0]?.firstZxid ?? null;
        const from = this.archiving.archiver.retainFrom({ archivable: this.commit.archivableZxid(), logFrom });
        return from === null ? 0 : from - 1;
      };
      const purge = (): void => purgeDataDir(this.dataDir, config.autopurgeSnapRetainCount, logger, keepLogAfter());
      purge(); // DatadirCleanupManager runs once at start, then every interval
      this.every(config.autopurgePurgeIntervalHours * 3600_000, purge);
    }
    await this.metrics?.start(logger, this.metricsTlsOptions);
    logger.info(
      {
        address: bound.address,
        port: bound.port,
        securePort,
        adminPort,
        // what the AdminServer speaks (admin.forceHttps / admin.portUnification)
        ...(adminPort !== null ? { admin: { plain: 'http', tls: 'https', unified: 'http+https' }[config.adminSecurity] } : {}),
        dataDir: config.dataDir,
        // what an operator waits for after a restart
        msSinceProcessStart: Math.round(performance.now()),
      },
      config.distributed ? 'client port open (clients are served once a leader is established)' : 'serving clients',
    );
    return { address: bound.address, port: bound.port, adminPort, securePort, stop: () => this.stop() };
  }

  /**
   * clientPort (plain, or TLS and plain with client.portUnification) and secureClientPort (TLS). With
   * only secureClientPort set there is no plain port, as in ZooKeeper; `bound` is then the secure one.
   * The secure port is bound first: whoever waits for the plain port to accept (a health check, a
   * supervisor, a test) finds the secure one up too.
   */
  private async openClientPorts(): Promise<{ bound: { address: string; port: number }; securePort: number | null }> {
    const { config } = this;
    const tls = this.tlsOptions;
    const secure =
      config.secureClientPort !== undefined && tls
        ? await this.port.listen(config.secureClientPort, config.secureClientPortAddress, {
            kind: 'tls',
            options: tls,
            handshakeTimeoutMs: config.clientTls?.handshakeTimeoutMs,
          })
        : null;
    if (config.clientPort === undefined && secure) return { bound: secure, securePort: secure.port };
    const hint =
      config.secureClientPort === undefined
        ? ' (this server has no TLS port: see secureClientPort and client.portUnification)'
        : ` (its TLS port is secureClientPort ${config.secureClientPort})`;
    const security: PortSecurity =
      config.portUnification && tls
        ? { kind: 'unified', options: tls, handshakeTimeoutMs: config.clientTls?.handshakeTimeoutMs }
        : { kind: 'plain', tlsHint: hint };
    const plain = await this.port.listen(config.clientPort ?? 2181, config.clientPortAddress, security);
    return { bound: plain, securePort: secure?.port ?? null };
  }

  /**
   * The web console's ZooKeeper sessions come in on a Unix domain socket (abstract on Linux, so no
   * file is left behind): with no network address they carry no ip id, and an ip ACL granting
   * loopback grants nothing to a console user.
   */
  private async openConsoleSocket(): Promise<void> {
    const name = `ark-console-${process.pid}-${randomBytes(8).toString('hex')}`;
    const path = process.platform === 'linux' ? `\0${name}` : join(tmpdir(), `${name}.sock`);
    await this.port.listenLocal(path);
    this.consoleSocket = path;
  }

  private async startAdmin(): Promise<number | null> {
    const { config } = this;
    if (!config.adminEnabled) return null;
    this.admin = new AdminServer(
      this.view,
      this.logger,
      {
        backupTo: (out, onStart, signal) => this.backupTo(out, onStart, signal),
        superDigest: config.superDigest,
        restore: (raw) => this.restoreOnline(raw),
        restoreSubtree: (raw, path, credentials) =>
          restoreSubtreeLive(raw, path, {
            host: loopbackFor(config.clientPortAddress),
            port: config.clientPort === undefined ? null : this.boundPort,
            juteMaxBufferBytes: config.juteMaxBufferBytes,
            credentials,
          }),
        rootAcl: () => this.core.tree.get('/')?.acl ?? [],
      },
      config.adminConsoleEnabled
        ? new Console({
            log: this.logger,
            superDigest: config.superDigest,
            socketPath: () => this.consoleSocket,
            aclLists: () => this.core.tree.aclLists(),
            serverInfo: () => ({
              mode: this.view.mode,
              serverId: this.view.config.serverId,
              version: VERSION_STRING,
              ensemble: config.distributed,
            }),
            ensemble: () => ensembleState(this.view),
            sessions: () => sessionsView(this.view),
            sessionPasswd: (id) => sessionPasswd(this.view, id),
            metricsSample: () => metricsSample(this.view),
            backupTo: (out, onStart, signal) => this.backupTo(out, onStart, signal),
            // mntr's figures for backups (backup.intervalMs) and the archive (backup.archiveDir), without the zk_ prefix
            backupStatus: () =>
              Object.fromEntries(
                this.extraMetrics()
                  .filter(([k]) => /^zk_(last_backup|archive)_/.test(k))
                  .map(([k, v]) => [k.slice(3), v]),
              ),
            rootAcl: () => this.core.tree.get('/')?.acl ?? [],
            requestBytesMax: config.juteMaxBufferBytes,
            now: () => Date.now(),
          })
        : null,
    );
    const tls = this.adminTlsOptions;
    return this.admin.start(
      config.adminServerPort,
      config.adminServerAddress,
      config.adminSecurity !== 'plain' && tls ? { kind: config.adminSecurity, options: tls } : { kind: 'plain' },
    );
  }

  private async load(): Promise<void> {
    const t0 = Date.now();
    const loadStart = performance.now();
    const progress = new LoadLog(this.logger);
    const rec = await this.dataDir.recoverAsync({
      repair: true,
      ensemble: this.config.distributed,
      onSnapshot: progress.onSnapshot,
      onProgress: progress.onProgress,
    });
    progress.loaded(rec);
    const member = this.config.distributed ? " (or wipe this member's ark-v1 directory: it then takes a SNAP from the leader)" : '';
    for (const s of rec.skipped)
      this.logger.error(
        { reason: s.reason },
        `damaged snapshot passed over: recovered from an older snapshot and the log instead; move the file aside once you have a backup${member}`,
      );
    for (const t of rec.truncated)
      this.logger.warn(
        { file: t.file, offset: t.offset },
        'txn log ended in a partial record (crash mid-write): truncated it there; no action needed, a write cut short was never acknowledged',
      );
    const replayStart = performance.now();
    this.commit.load(rec, progress.onReplayed(rec.records.length));
    progress.replayed(rec.records.length, performance.now() - replayStart);
    // warnings of replayed txns were logged when they were new
    this.core.tree.quotaWarnings.length = 0;
    this.metrics?.startup({
      dbInitMs: performance.now() - loadStart,
      snapshotLoadMs: rec.snapshotLoadMs,
      txnsLoadMs: rec.logLoadMs + performance.now() - replayStart,
      txns: rec.records.length,
    });
    this.logger.info(
      {
        snapshotZxid: rec.snapshot ? `0x${rec.snapshot.zxid.toString(16)}` : null,
        txns: rec.records.length,
        zxid: `0x${this.core.lastApplied.toString(16)}`,
        ms: Date.now() - t0,
        znodes: this.core.tree.nodeCount,
      },
      'data loaded',
    );
    this.loading = false;
    // the replayed txns count towards the next snapshot: the count runs from the newest snapshot
    // on disk, not from this process's start (else a member restarted often never snapshots)
    this.snapshots.schedule.recovered(rec.records.length, rec.snapshot?.zxid ?? 0);
    // a snapshot now makes the next start-up fast and lets purge drop the replayed log (an
    // ensemble member takes it once it serves: its log may still be cut by the leader)
    this.snapshotIf(rec.records.length > 0);
  }

  /** A timer that runs while the server runs; `unref` ones do not keep the process alive. */
  private every(ms: number, f: () => void, unref = true): void {
    const t = setInterval(f, ms);
    if (unref) t.unref();
    this.timers.push(t);
  }

  private applied(n: number): void {
    this.snapshotIf(this.snapshots.applied(n));
  }

  /** Starts a snapshot when one is `due` and the commit path allows one now (a member: only of known-committed state). */
  private snapshotIf(due: boolean): void {
    if (due && this.commit.canSnapshot()) this.startSnapshot();
  }

  private startSnapshot(): void {
    const commit = this.commit;
    this.snapshots.start(this.core, (info) => commit.snapshotWritten(info));
  }

  /** The data dir cannot be written: stop acknowledging at once, then tell the caller. */
  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.logger.fatal(
      { err: err.message, dir: this.dataDir.log.dir },
      `cannot write the data dir: stopping so that no unlogged write is acknowledged; check free space, permissions and the disk under dir, then restart ${this.config.distributed ? 'this member' : 'the server'}`,
    );
    this.port.closeAll();
    this.emit('fatal', err);
    void this.stop().catch(() => undefined);
  }

  // ---------- backups and restore ----------

  /**
   * Streams a consistent backup into `out` (the AdminServer's snapshot command, scheduled backups).
   * Waits for a snapshot or another backup that is capturing the tree.
   */
  async backupTo(out: Writable, onStart?: (zxid: number, nodes: number) => void, signal?: AbortSignal): Promise<BackupResult> {
    const t0 = Date.now();
    const run = this.snapshots.exclusive(() =>
      writeBackup(this.core.tree, this.core.sessionRecords(), out, {
        createdBy: `ark ${ARK_VERSION}`,
        ...(onStart ? { onStart } : {}),
        ...(signal ? { signal } : {}),
      }),
    );
    this.metrics?.backup(run);
    try {
      const r = await run;
      this.lastBackup = { timeMs: Date.now(), bytes: r.bytes, ms: r.ms, ok: true, zxid: r.zxid };
      this.logger.info({ zxid: `0x${r.zxid.toString(16)}`, nodes: r.nodes, bytes: r.bytes, ms: r.ms }, 'backup written');
      return r;
    } catch (e) {
      this.lastBackup = { timeMs: Date.now(), bytes: 0, ms: Date.now() - t0, ok: false, zxid: 0 };
      throw e;
    }
  }

  /**
   * Online restore (ZooKeeper 3.9's POST /commands/restore): the backup replaces the tree in a new
   * epoch; clients are disconnected and reconnect to the restored tree.
   */
  async restoreOnline(raw: Buffer): Promise<RestoreOutcome> {
    const name = 'the uploaded backup';
    checkedBody(name, raw); // a damaged upload is refused before anything changes
    if (this.restoreAsked) throw new Error('a restore is already running');
    this.restoreAsked = true;
    try {
      // the history about to be replaced goes to the archive first, so a point-in-time restore can
      // still reach its last txn (an unreachable archive must not block the restore): up to what
      // is committed now, while this member still serves (the archiver writes only then); the
      // member with the duty does it (a follower's restore runs on the leader, which archives
      // within the interval as always)
      if (this.archiving && this.commit.archiveDuty() && !(await this.archiving.flush(10_000, this.commit.archivableZxid()))) {
        this.logger.warn(
          'the archive could not take the txns before this restore within 10 s: point-in-time restore may not reach the last of them',
        );
      }
      this.restoring = true;
      this.port.closeAll();
      // no snapshot or backup captures the tree while it is replaced
      const r = await this.snapshots.exclusive(() =>
        this.commit.restore(raw, () => readBackupAsync(name, raw, { onProgress: progressLog(this.logger, 'restore: loading the backup') })),
      );
      this.logger.warn(
        { backupZxid: `0x${r.backupZxid.toString(16)}`, zxid: `0x${r.zxid.toString(16)}`, znodes: r.nodes },
        'online restore done: the tree was replaced by the backup; clients were disconnected and reconnect to the restored tree',
      );
      this.archiving?.archiver.historyChanged();
      return r;
    } finally {
      this.restoring = false;
      this.restoreAsked = false;
    }
  }

  // ---------- the archive ----------

  /** The highest zxid the archive holds as last read: its chain's end or a backup above it (0: none). */
  private archiveEnd(): number {
    const v = this.archiving?.archiver.archive;
    return v ? Math.max(v.end ?? 0, ...v.backups.map((b) => b.zxid)) : 0;
  }

  /**
   * Txns and milliseconds the archive is behind what this member could give it, and whether this
   * member's history is not the archive's (it then archives nothing: Archiver.mismatch) (mntr, metrics).
   */
  private archiveLag(): { txns: number; ms: number; mismatch: boolean } {
    if (!this.archiving) return { txns: 0, ms: 0, mismatch: false };
    const a = this.archiving.archiver;
    return { txns: a.lagTxns({ archivable: this.commit.archivableZxid() }), ms: a.lagMs(Date.now()), mismatch: a.mismatch() !== null };
  }

  private archiveMetrics(): Array<[string, number]> {
    if (!this.archiving) return [];
    const lag = this.archiveLag();
    return [
      ['zk_archive_lag_txns', lag.txns],
      ['zk_archive_lag_ms', lag.ms],
      ['zk_archive_last_zxid', this.archiving.archiver.archive?.end ?? 0],
      ['zk_archive_history_mismatch', lag.mismatch ? 1 : 0],
    ];
  }

  /** The last snapshot written by this process (for mntr / admin). */
  get lastSnapshot(): WrittenSnapshot | null {
    return this.snapshots.last;
  }

  /** Waits for a snapshot in progress (tests, shutdown). */
  async snapshotIdle(): Promise<void> {
    await this.snapshots.done;
  }

  /** Stops the server; every caller (a signal, a fatal error, a test) waits for the same shutdown. */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  private async shutDown(): Promise<void> {
    this.stopping = true;
    // no client requests from here (the port refuses new ones): what is committed now is what the
    // archive must take, a fixed target
    this.port.closeAll();
    if (this.archiving) {
      // a clean stop leaves nothing committed outside the archive (the leader's, or a standalone
      // server's); consensus keeps ticking meanwhile: a leader that stopped pinging for the
      // flush's 10 s would lose its followers
      if (!this.failed && this.commit.archiveDuty() && !(await this.archiving.flush(10_000, this.commit.archivableZxid()))) {
        this.logger.warn(
          'the archive could not take the last txns within 10 s: they stay in the txn log and are archived by whoever archives next',
        );
      }
      await this.archiving.stop();
    }
    for (const t of this.timers) clearInterval(t);
    this.snapshots.abort();
    await this.snapshots.done;
    // closing the AdminServer ends any backup streaming to a client, which releases its capture
    await this.admin?.stop();
    await this.snapshots.idle();
    await this.commit.stop();
    await this.port.stop();
    await this.metrics?.stop();
    this.dataDir.log.closeSegment();
    await this.dataDir.log.settle();
    this.dirLock?.release();
    this.logger.info('stopped');
  }
}

/** Where this server reaches its own client port: its address, or loopback when it listens on every address. */
function loopbackFor(address: string | undefined): string {
  if (address === undefined || address === '0.0.0.0' || address === '') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}
