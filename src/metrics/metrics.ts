// Prometheus metrics of a running server (ZooKeeper's PrometheusMetricsProvider): the families keep
// ZooKeeper's names and no prefix (ServerMetrics.java, the registerGauge calls of ZooKeeperServer,
// QuorumZooKeeperServer and LeaderZooKeeperServer), Ark's own are prefixed ark_, and prom-client's
// Node process metrics stand where ZooKeeper exports the JVM's.
//
// Where each value comes from:
//   - gauges are read when Prometheus scrapes (the core's tree, stats and sessions, the consensus
//     core's learners): nothing is computed for them between scrapes;
//   - request latencies and op counts come from the core's CoreObserver, timed with the core's own
//     `now` arguments (arrival -> answer);
//   - durations the runtime owns (fsync, snapshots, start-up, elections, syncs) are handed in by
//     the runtime where it measures them;
//   - the consensus core's counters (looking, syncs, proposals, commits) are plain numbers it keeps,
//     read at scrape.
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { OpCode } from '../wire/protocol.js';
import type { TxnHeader } from '../wire/txn.js';
import { zkAverage, type CoreObserver, type ServerCore } from '../server/core.js';
import type { Role, Zab } from '../consensus/zab.js';
import { epochOf, type Entry } from '../consensus/messages.js';
import type { BackupResult } from '../backup/format.js';
import type { PrometheusConfig } from '../config/serverconfig.js';
import type { Logger } from '../util/log.js';
import { Collected, WindowedSummary, register } from './families.js';
import { MetricsHttpServer } from './http.js';
import type { HttpSecurity } from '../net/httpendpoint.js';
import type { TlsOptions } from 'node:tls';

/** What the metrics read from the server when scraped. */
export interface MetricsSource {
  /** the core serving now (an online restore replaces it) */
  core(): ServerCore;
  uptimeMs(): number;
  openFds(): number;
  maxFds(): number;
  /** bytes read from client connections so far */
  bytesReceived(): number;
  /** bugs that cost a connection, counted by the client port (the core's are counted through internalError()) */
  portInternalErrors(): number;
  /** committed txns this member holds that are not in the archive yet, how long the oldest waited, and whether its history is not the archive's; absent without an archive */
  archiveLag?: () => { txns: number; ms: number; mismatch: boolean };
  /** an ensemble member's consensus core and the number of voting members */
  quorum?: { zab: () => Zab; voters: number };
}

// ZooKeeper's detail levels: BASIC summaries report the median, ADVANCED ones also p95 and p99
const BASIC = [0.5];
const ADVANCED = [0.5, 0.95, 0.99];
/** quantiles cover 10 minutes in 5 windows (simpleclient's defaults, which ZooKeeper 3.6-3.8 used) */
const WINDOW_MS = 120_000;

/** op_count_* as ZooKeeper's FinalRequestProcessor counts them: the opcodes each name covers. */
const OP_COUNTS: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['add_watch', [OpCode.addWatch]],
  ['check', [OpCode.check]],
  ['check_watches', [OpCode.checkWatches]],
  ['close_session', [OpCode.closeSession]],
  ['create', [OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL]],
  ['create_session', [OpCode.createSession]],
  ['delete', [OpCode.delete]],
  ['exists', [OpCode.exists]],
  ['get_acl', [OpCode.getACL]],
  ['get_all_children_number', [OpCode.getAllChildrenNumber]],
  ['get_children', [OpCode.getChildren, OpCode.getChildren2]],
  ['get_data', [OpCode.getData]],
  ['get_ephemerals', [OpCode.getEphemerals]],
  ['multi', [OpCode.multi]],
  ['multi_read', [OpCode.multiRead]],
  ['ping', [OpCode.ping]],
  ['remove_watches', [OpCode.removeWatches]],
  ['set_acl', [OpCode.setACL]],
  ['set_data', [OpCode.setData]],
  ['set_watches', [OpCode.setWatches, OpCode.setWatches2]],
  ['sync', [OpCode.sync]],
  ['who_am_i', [OpCode.whoAmI]],
];

/**
 * The time a txn was decided, from a replicated entry's bytes without decoding it: an entry is a
 * TxnHeader followed by the txn (replica.ts encodeEntry), and the header is ZooKeeper's jute
 * record `long sessionId, int cxid, long zxid, long time, int type`, so time is the big-endian
 * int64 at byte 20.
 */
export function entryTxnTime(data: Uint8Array): number {
  if (data.length < 28) return Number.NaN;
  const hi = (data[20]! << 24) | (data[21]! << 16) | (data[22]! << 8) | data[23]!;
  const lo = ((data[24]! << 24) >>> 0) + (data[25]! << 16) + (data[26]! << 8) + data[27]!;
  return hi * 4294967296 + lo;
}

export class ServerMetrics {
  private readonly registry = new Registry();
  /** families ZooKeeper registers only while this server leads (LeaderZooKeeperServer) */
  private readonly leaderRegistry = new Registry();
  private readonly summaries: WindowedSummary[] = [];
  private readonly rotation: NodeJS.Timeout;
  private http: MetricsHttpServer | null = null;

  private readonly readLatency = this.summary(
    'readlatency',
    "Milliseconds from the arrival of a request that is not a txn (reads, ping, sync) to its answer, requests of this server's clients",
    ADVANCED,
  );
  private readonly updateLatency = this.summary(
    'updatelatency',
    "Milliseconds from the arrival of a request that became a txn (a write, createSession) to its answer, requests of this server's clients",
    ADVANCED,
  );
  private readonly fsyncTime = this.summary('fsynctime', 'Milliseconds each fdatasync of the txn log took', BASIC);
  private readonly batchSize = this.summary(
    'sync_processor_batch_size',
    'Txns written to the txn log by one write + fdatasync (group commit)',
    BASIC,
  );
  private readonly snapshotTime = this.summary(
    'snapshottime',
    'Milliseconds to write a snapshot (while requests are served), including its fsync',
    BASIC,
  );
  private readonly dbInitTime = this.summary(
    'dbinittime',
    'Milliseconds to load the data at start-up: snapshot and txn log read and replayed',
    BASIC,
  );
  private readonly startupSnapLoadTime = this.summary(
    'startup_snap_load_time',
    'Milliseconds to read and check the snapshot at start-up',
    BASIC,
  );
  private readonly startupTxnsLoadTime = this.summary(
    'startup_txns_load_time',
    'Milliseconds to read the txn log after the snapshot at start-up and apply it',
    BASIC,
  );
  private readonly startupTxnsLoaded = this.summary('startup_txns_loaded', 'Txns read from the log and applied at start-up', BASIC);

  private readonly opCounts = new Map<number, Counter>();
  private readonly opTotal = this.counter('op_count_total', "Requests answered to this server's clients, every type counted by op_count_*");
  private readonly connectionRequests = this.counter('connection_request_count', 'ConnectRequests (new sessions and reconnects) received');
  private readonly connectionsRejected = this.counter(
    'connection_rejected',
    'Client connections refused when accepted (maxClientCnxns from one address, or an online restore in progress)',
  );
  private coreInternalErrors = 0;

  private readonly backups = new Counter({
    name: 'ark_backups_total',
    help: 'Backups this server streamed (AdminServer snapshot command, scheduled backups), by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private lastBackup: { bytes: number; ms: number; zxid: number; atMs: number } | null = null;

  // ensemble members only
  private readonly quorumAckLatency: WindowedSummary | null = null;
  private readonly proposalLatency: WindowedSummary | null = null;
  private readonly commitPropagationLatency: WindowedSummary | null = null;
  private readonly electionTime: WindowedSummary | null = null;
  private readonly followerSyncTime: WindowedSummary | null = null;
  private readonly observerSyncTime: WindowedSummary | null = null;
  private role: Role | null = null;
  private serving = false;
  private syncSinceMs = 0;
  private leaderSinceMs = 0;

  /** For the core: request latencies and op counts (ServerCore.observer). */
  readonly observer: CoreObserver = {
    answered: (type: number, update: boolean, latencyMs: number): void => {
      (update ? this.updateLatency : this.readLatency).observe(latencyMs);
      const c = this.opCounts.get(type);
      if (c !== undefined) {
        c.inc();
        this.opTotal.inc();
      }
    },
  };

  /** For FileTxnLog.onFsync. */
  readonly fsync = (ms: number): void => {
    this.fsyncTime.observe(ms);
  };

  constructor(
    private readonly source: MetricsSource,
    private readonly endpoint: PrometheusConfig,
  ) {
    for (const [name, codes] of OP_COUNTS) {
      const c = this.counter(`op_count_${name}`, `Requests of type ${name} answered to this server's clients`);
      for (const code of codes) this.opCounts.set(code, c);
    }
    this.gauges(source);
    this.backupFamilies(source);
    const q = source.quorum;
    if (q) {
      this.quorumAckLatency = this.summary(
        'quorum_ack_latency',
        "Milliseconds from a write's arrival at the leader to its commit by a quorum of acks (on the leader)",
        ADVANCED,
      );
      this.proposalLatency = this.summary(
        'proposal_latency',
        "Milliseconds from a txn's decision at the leader to its proposal reaching this follower (the two hosts' clocks)",
        ADVANCED,
      );
      this.commitPropagationLatency = this.summary(
        'commit_propagation_latency',
        "Milliseconds from a txn's decision at the leader to its commit on this learner (the two hosts' clocks)",
        ADVANCED,
      );
      this.electionTime = this.summary(
        'election_time',
        'Milliseconds from starting to look for a leader to leading or following one',
        BASIC,
      );
      this.followerSyncTime = this.summary(
        'follower_sync_time',
        'Milliseconds a follower took to sync with its leader (DIFF, TRUNC or SNAP) until it served clients',
        BASIC,
      );
      this.observerSyncTime = this.summary(
        'observer_sync_time',
        'Milliseconds an observer took to sync with its leader until it served clients',
        BASIC,
      );
      this.quorumFamilies(q);
    }
    if (endpoint.exportProcessMetrics) collectDefaultMetrics({ register: this.registry });
    this.rotation = setInterval(() => {
      for (const s of this.summaries) s.rotate();
    }, WINDOW_MS);
    this.rotation.unref();
  }

  private summary(name: string, help: string, quantiles: readonly number[]): WindowedSummary {
    const s = new WindowedSummary(name, help, quantiles);
    register(this.registry, s);
    this.summaries.push(s);
    return s;
  }

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }

  private collected(name: string, help: string, type: 'gauge' | 'counter', read: () => number | null, registry = this.registry): void {
    register(registry, new Collected(name, help, type, read));
  }

  /** ZooKeeperServer.registerMetrics: the same figures as mntr, read when scraped. */
  private gauges(s: MetricsSource): void {
    const core = s.core;
    const latency = (pick: (st: ServerCore['stats']) => number): number => (core().stats.completed === 0 ? 0 : pick(core().stats));
    this.collected(
      'znode_count',
      'Znodes in the tree, counted as ZooKeeper counts them (the root twice)',
      'gauge',
      () => core().tree.reportedNodeCount,
    );
    this.collected(
      'watch_count',
      'Data and child watches registered',
      'gauge',
      () => core().tree.dataWatches.size + core().tree.childWatches.size,
    );
    this.collected('ephemerals_count', 'Ephemeral znodes', 'gauge', () => core().tree.ephemeralCount);
    this.collected('approximate_data_size', 'Bytes of znode data and paths, approximately', 'gauge', () => core().tree.approximateDataSize);
    this.collected('num_alive_connections', 'Client connections open', 'gauge', () => core().conns.size);
    this.collected('outstanding_requests', 'Requests received and not yet answered', 'gauge', () => core().outstanding);
    this.collected('avg_latency', 'Average milliseconds from arrival to answer since start or srst', 'gauge', () =>
      zkAverage(core().stats.totalLatencyMs, core().stats.completed),
    );
    this.collected('min_latency', 'Least milliseconds from arrival to answer since start or srst', 'gauge', () =>
      latency((st) => st.minLatencyMs),
    );
    this.collected('max_latency', 'Most milliseconds from arrival to answer since start or srst', 'gauge', () => core().stats.maxLatencyMs);
    this.collected('packets_received', 'Client packets received since start or srst', 'gauge', () => core().stats.packetsReceived);
    this.collected('packets_sent', 'Client packets sent since start or srst', 'gauge', () => core().stats.packetsSent);
    this.collected('global_sessions', 'Sessions', 'gauge', () => core().sessions.sessions.size);
    this.collected('open_file_descriptor_count', 'File descriptors this process has open', 'gauge', () => s.openFds());
    this.collected('max_file_descriptor_count', 'The soft limit on open file descriptors', 'gauge', () => s.maxFds());
    this.collected('uptime', 'Milliseconds since the server started', 'gauge', () => s.uptimeMs());
    this.collected('bytes_received_count', 'Bytes read from client connections', 'counter', () => s.bytesReceived());
    this.collected(
      'unrecoverable_error_count',
      'Internal errors (bugs in Ark) that cost a client its connection; each is logged',
      'counter',
      () => s.portInternalErrors() + this.coreInternalErrors,
    );
  }

  private backupFamilies(s: MetricsSource): void {
    this.backups.inc({ result: 'success' }, 0);
    this.backups.inc({ result: 'failure' }, 0);
    const last = <T>(pick: (b: NonNullable<ServerMetrics['lastBackup']>) => T): T | null =>
      this.lastBackup ? pick(this.lastBackup) : null;
    this.collected('ark_last_backup_duration_seconds', 'How long the last successful backup took', 'gauge', () => last((b) => b.ms / 1000));
    this.collected('ark_last_backup_size_bytes', 'Size of the last successful backup', 'gauge', () => last((b) => b.bytes));
    this.collected('ark_last_backup_zxid', 'The zxid the last successful backup holds the tree at', 'gauge', () => last((b) => b.zxid));
    this.collected('ark_last_backup_timestamp_seconds', 'When the last successful backup finished (Unix time)', 'gauge', () =>
      last((b) => b.atMs / 1000),
    );
    const lag = s.archiveLag;
    if (!lag) return;
    this.collected(
      'ark_archive_lag_txns',
      'Committed txns this server holds that are not in the archive (backup.archiveDir) yet: what a point-in-time restore cannot reach yet',
      'gauge',
      () => lag().txns,
    );
    this.collected(
      'ark_archive_lag_seconds',
      'How long the oldest committed txn not in the archive yet has waited (the RPO now; backup.archiveIntervalMs bounds it)',
      'gauge',
      () => lag().ms / 1000,
    );
    this.collected(
      'ark_archive_history_mismatch',
      "1 when this server's history is not the archive's (another history wrote it): nothing is archived from this server (see its log for what to do)",
      'gauge',
      () => (lag().mismatch ? 1 : 0),
    );
  }

  /** QuorumZooKeeperServer and LeaderZooKeeperServer gauges, and the consensus core's counters. */
  private quorumFamilies(q: NonNullable<MetricsSource['quorum']>): void {
    const zab = q.zab;
    this.collected('quorum_size', 'Voting members of the ensemble', 'gauge', () => q.voters);
    this.collected(
      'looking_count',
      'Times this server started looking for a leader (start-up included)',
      'counter',
      () => zab().counts.looking,
    );
    this.collected(
      'diff_count',
      'Learner syncs this server sent as leader by DIFF (TRUNC included)',
      'counter',
      () => zab().counts.diffSyncs,
    );
    this.collected('snap_count', 'Learner syncs this server sent as leader by SNAP', 'counter', () => zab().counts.snapSyncs);
    this.collected('proposal_count', 'Txns this server proposed as leader', 'counter', () => zab().counts.proposals);
    this.collected('commit_count', 'Txns this server committed as leader on a quorum of acks', 'counter', () => zab().counts.committed);
    const lr = this.leaderRegistry;
    const learners = (): ReturnType<Zab['learnerSummary']> => zab().learnerSummary();
    this.collected(
      'learners',
      'Learners connected to this leader (syncing or synced)',
      'gauge',
      () => learners().filter((l) => l.status !== 'unknown').length,
      lr,
    );
    this.collected(
      'synced_followers',
      'Followers in sync with this leader',
      'gauge',
      () => learners().filter((l) => !l.observer && l.status === 'synced').length,
      lr,
    );
    this.collected(
      'synced_observers',
      'Observers in sync with this leader',
      'gauge',
      () => learners().filter((l) => l.observer && l.status === 'synced').length,
      lr,
    );
    this.collected(
      'pending_syncs',
      'sync requests waiting for a quorum to confirm this leadership',
      'gauge',
      () => zab().pendingBarrierCount,
      lr,
    );
    this.collected(
      'leader_uptime',
      'Milliseconds since this server became an established leader',
      'gauge',
      () => (this.role === 'leading' && this.serving ? Date.now() - this.leaderSinceMs : null),
      lr,
    );
    this.collected(
      'last_proposal_size',
      'Bytes of the last txn proposed in this reign (-1 before the first)',
      'gauge',
      () => zab().proposalBytes.last,
      lr,
    );
    this.collected(
      'min_proposal_size',
      'Bytes of the smallest txn proposed in this reign (-1 before the first)',
      'gauge',
      () => zab().proposalBytes.min,
      lr,
    );
    this.collected(
      'max_proposal_size',
      'Bytes of the largest txn proposed in this reign (-1 before the first)',
      'gauge',
      () => zab().proposalBytes.max,
      lr,
    );
  }

  // ---------- what the runtime measures ----------

  /** One group commit: this many txns in one write + fdatasync. */
  batch(txns: number): void {
    this.batchSize.observe(txns);
  }

  snapshotWritten(ms: number): void {
    this.snapshotTime.observe(ms);
  }

  /** Start-up: the data loaded (ZKDatabase.loadDataBase and FileTxnSnapLog.restore's figures). */
  startup(t: { dbInitMs: number; snapshotLoadMs: number | null; txnsLoadMs: number; txns: number }): void {
    this.dbInitTime.observe(t.dbInitMs);
    if (t.snapshotLoadMs !== null) this.startupSnapLoadTime.observe(t.snapshotLoadMs);
    this.startupTxnsLoadTime.observe(t.txnsLoadMs);
    this.startupTxnsLoaded.observe(t.txns);
  }

  /** An election ended (the runtime times LOOKING until leading or following, for mntr too). */
  electionEnded(ms: number): void {
    this.electionTime?.observe(ms);
  }

  connectRequest(): void {
    this.connectionRequests.inc();
  }

  connectionRejected(): void {
    this.connectionsRejected.inc();
  }

  /** The core reported a bug that cost a connection (the runtime logs it). */
  internalError(): void {
    this.coreInternalErrors++;
  }

  /** A backup started: counted, and remembered when it completes. */
  backup(run: Promise<BackupResult>): void {
    void run.then(
      (r) => {
        this.backups.inc({ result: 'success' });
        this.lastBackup = { bytes: r.bytes, ms: r.ms, zxid: r.zxid, atMs: Date.now() };
      },
      () => {
        this.backups.inc({ result: 'failure' });
      },
    );
  }

  /**
   * After each step of an ensemble member: role changes (election_time, follower/observer sync
   * time, leader_uptime), proposals that reached this follower, txns committed here. Only txns of
   * the current epoch, in a step that began and ended in service, are timed: the others came with
   * a sync.
   */
  ensembleStep(zab: Zab, entries: readonly Entry[], applied: ReadonlyArray<{ hdr: TxnHeader }>, nowMs: number): void {
    const wasServing = this.serving;
    this.roleStep(zab.role, zab.serving, nowMs);
    if (!wasServing || !this.serving) return;
    const epoch = zab.activeEpoch;
    if (this.role === 'following' && this.proposalLatency) {
      for (const e of entries) if (epochOf(e.zxid) === epoch) this.proposalLatency.observe(nowMs - entryTxnTime(e.data));
    }
    const committed = this.role === 'leading' ? this.quorumAckLatency : this.commitPropagationLatency;
    if (committed) for (const a of applied) if (epochOf(a.hdr.zxid) === epoch) committed.observe(nowMs - a.hdr.time);
  }

  private roleStep(role: Role, serving: boolean, nowMs: number): void {
    const learner = role === 'following' || role === 'observing';
    if (this.role === null) this.role = 'looking'; // an ensemble member starts looking for a leader
    if (role !== this.role) {
      if (learner) this.syncSinceMs = nowMs;
      this.role = role;
    }
    if (serving === this.serving) return;
    this.serving = serving;
    if (!serving) {
      if (learner) this.syncSinceMs = nowMs; // it lost its sync: the next one starts now
      return;
    }
    if (role === 'leading') this.leaderSinceMs = nowMs;
    else if (role === 'following') this.followerSyncTime?.observe(nowMs - this.syncSinceMs);
    else if (role === 'observing') this.observerSyncTime?.observe(nowMs - this.syncSinceMs);
  }

  // ---------- exposition ----------

  /** The exposition text (Prometheus text format 0.0.4). */
  async render(): Promise<string> {
    const text = await this.registry.metrics();
    const zab = this.source.quorum?.zab();
    return zab?.isEstablishedLeader ? text + (await this.leaderRegistry.metrics()) : text;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Serves GET /metrics on metricsProvider.httpHost: httpPort (HTTP), httpsPort (HTTPS, with `tls`
   * built from its stores), or both on one port when they are equal. A port that cannot be bound is
   * logged and left out.
   */
  async start(log: Logger, tls: TlsOptions | null): Promise<void> {
    const http = new MetricsHttpServer(this, log);
    this.http = http;
    const host = this.endpoint.httpHost;
    for (const l of metricsListeners(this.endpoint, tls)) {
      const port = await http.start(l.port, host, l.security);
      if (port === null) continue;
      const urls = l.security.kind === 'unified' ? ['http', 'https'] : [l.security.kind === 'tls' ? 'https' : 'http'];
      log.info({ urls: urls.map((u) => `${u}://${host}:${port}/metrics`) }, 'Prometheus metrics served');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.rotation);
    await this.http?.stop();
    this.http = null;
  }
}

/** The ports of the endpoint: httpPort and httpsPort, or one port for both when they are equal (ZOOKEEPER-5029). */
export function metricsListeners(c: PrometheusConfig, tls: TlsOptions | null): Array<{ port: number; security: HttpSecurity }> {
  const out: Array<{ port: number; security: HttpSecurity }> = [];
  if (c.httpsPort !== null) {
    if (tls === null) throw new Error('metricsProvider.httpsPort is set but its TLS options were not built (runtime/tlsfiles.ts)');
    out.push({ port: c.httpsPort, security: { kind: c.httpsPort === c.httpPort ? 'unified' : 'tls', options: tls } });
  }
  if (c.httpPort !== null && c.httpPort !== c.httpsPort) out.unshift({ port: c.httpPort, security: { kind: 'plain' } });
  return out;
}
