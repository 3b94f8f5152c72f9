// The ensemble runtime: one member of a replicated ensemble. It composes the pure Replica (server
// core + Zab) with the client port, the peer transport, the data dir and timers, and carries out
// each ready() in the order the design depends on:
//   1. the epoch file, written and fsynced synchronously (before any message that depends on it);
//   2. SNAP installs and TRUNCs, after the log writes queued before them;
//   3. log appends: group commit, one write + fdatasync, then persisted() back into consensus;
//   4. messages to peers, bytes to clients.
import { DataTree } from '../tree/datatree.js';
import { zookeeperSessionPassword } from '../session/sessions.js';
import type { ClientPort } from '../net/clientport.js';
import { PeerTransport } from '../net/peers.js';
import type { FileTxnLog } from '../storage/filelog.js';
import { DataDir } from '../storage/datadir.js';
import { lockDataDirs, startHolding, type DirLock } from '../storage/lock.js';
import { readEpochState, writeEpochState } from '../storage/epoch.js';
import type { ServerView } from '../admin/fourletter.js';
import { AdminServer } from '../admin/adminserver.js';
import { writeBackup, type BackupResult } from '../backup/format.js';
import type { Writable } from 'node:stream';
import { ARK_VERSION } from '../version.js';
import type { ServerConfig } from '../config/zoocfg.js';
import type { Logger } from '../util/log.js';
import { ConnectionLimit, SnapshotRunner, coreClientPort, numberProp, purgeDataDir, serverView, writeOutputs, PREALLOC_KB_DEFAULT, SEGMENT_BYTES_DEFAULT } from './shared.js';
import { Replica, encodeEntry, type DurableImage } from '../replica/replica.js';
import { decodeMsg, encodeMsg, PeerCodecError } from '../consensus/codec.js';
import { epochOf, type Entry, type SnapshotImage } from '../consensus/messages.js';
import type { StartedServer } from './server.js';
import { countFds, maxFds } from './shared.js';
import { observeStorage } from './shared.js';
import { RuntimeStats, type EnsembleView } from '../admin/fourletter.js';
import { ServerMetrics } from '../metrics/metrics.js';

/** Consensus ticks this often; ZooKeeper's tick-based limits are converted to these ticks. */
const ZAB_TICK_MS = 50;
/** Base election timeout (each wait is drawn from [base, 2 base)). */
const ELECTION_TIMEOUT_MS = 200;
/**
 * Entries kept in memory past the last snapshot, so a follower slightly behind gets a DIFF rather
 * than a SNAP (ZooKeeper's committedLog, zookeeper.commitLogCount, default 500).
 */
const COMMIT_LOG_COUNT_DEFAULT = 500;
/** Largest peer message: a SNAP carries the whole tree. */
const PEER_FRAME_BYTES_MAX = 1024 * 1024 * 1024;

type DiskOp =
  | { kind: 'append'; generation: number; entries: Entry[] }
  | { kind: 'truncate'; generation: number; zxid: number }
  | { kind: 'install'; generation: number; image: SnapshotImage }
  | { kind: 'reload' };

export type QuorumRole = 'leader' | 'follower' | 'observer' | 'looking';

export class EnsembleServer {
  replica!: Replica;
  readonly dataDir: DataDir;
  private readonly log: FileTxnLog;
  readonly port: ClientPort;
  private peers!: PeerTransport;
  private admin: AdminServer | null = null;
  private readonly view: ServerView;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private scheduled = false;
  private readonly diskOps: DiskOp[] = [];
  private diskBusy = false;
  private readonly limit: ConnectionLimit;
  private boundPort = 0;
  private readonly myId: number;
  private txnsSinceSnapshot = 0;
  private snapshotAfter: number;
  private readonly snapshots: SnapshotRunner;
  private purgeTimer: NodeJS.Timeout | null = null;
  private lastRole = '';
  /** mntr's and the AdminServer's measured figures, and what they need of the roles over time */
  private readonly runtimeStats = new RuntimeStats();
  private lastZabRole = '';
  private lookingSinceMs = 0;
  private servingSinceMs = 0;
  /** quorum-port messages with each peer since the first one it sent on its connection (the leader's observers command) */
  private readonly peerStats = new Map<number, { establishedMs: number; packetsReceived: number; packetsSent: number }>();
  private readonly gzipSnapshots: boolean;
  /** Prometheus metrics (metricsProvider.className), null when off */
  private readonly metrics: ServerMetrics | null;
  private dirLock: DirLock | null = null;

  constructor(private readonly config: ServerConfig, private readonly logger: Logger, myId: number) {
    this.myId = myId;
    this.dataDir = new DataDir(config.dataDir, config.dataLogDir, {
      forceSync: config.forceSync,
      segmentBytesMax: numberProp(config, 'zookeeper.txnLogSizeLimitInKb', SEGMENT_BYTES_DEFAULT / 1024) * 1024,
      preAllocBytes: numberProp(config, 'zookeeper.preAllocSize', PREALLOC_KB_DEFAULT) * 1024,
      spareSegments: true,
    });
    this.log = this.dataDir.log;
    this.gzipSnapshots = config.systemProperties.get('zookeeper.snapshot.compression.method') === 'gz';
    this.snapshotAfter = this.nextSnapshotPoint();
    this.snapshots = new SnapshotRunner(this.dataDir, this.gzipSnapshots, logger);
    this.metrics = config.prometheus && new ServerMetrics({
      core: () => this.core, uptimeMs: () => Date.now() - this.view.startedAt, openFds: countFds, maxFds,
      bytesReceived: () => this.port.bytesReceived, portInternalErrors: () => this.port.internalErrors,
      quorum: { zab: () => this.replica.zab, voters: config.servers.filter((s) => s.role === 'participant').length },
    }, config.prometheus);
    observeStorage(this.log, this.snapshots, { metrics: this.metrics, stats: this.runtimeStats, config, logger });
    this.limit = new ConnectionLimit(config.maxClientCnxns, () => this.core, logger);
    this.port = coreClientPort({
      core: () => this.core, view: () => this.view, logger, config, metrics: this.metrics,
      open: (conn, addr, rport) => this.limit.open(conn, addr, rport),
      closed: (conn, addr) => this.limit.closed(conn, addr),
      flush: () => this.schedule(),
    });
    const me = config.servers.find((x) => x.id === myId);
    this.view = serverView({
      config, core: () => this.core, port: () => this.port, boundPort: () => this.boundPort, serverId: myId,
      mode: () => (this.quorumRole === 'looking' ? 'follower' : this.quorumRole),
      extraMetrics: () => this.quorumMetrics(),
      serving: () => this.replica.zab.serving,
      stats: this.runtimeStats, dataDir: this.dataDir,
      notReady: () => this.notReadyReason(),
      ensemble: this.ensembleView(),
      quorum: {
        initLimit: config.initLimit ?? 10, syncLimit: config.syncLimit ?? 5,
        electionPort: me?.electionPort ?? 0, quorumPort: me?.quorumPort ?? 0, observer: me?.role === 'observer',
        membership: config.servers.map((x) => `server.${x.id}=${x.host}:${x.quorumPort}:${x.electionPort}:${x.role}` +
          `;${x.clientAddress ?? config.clientPortAddress ?? '0.0.0.0'}:${x.clientPort ?? (x.id === myId ? config.clientPort ?? 2181 : 0)}`),
      },
    });
  }

  get core(): Replica['core'] {
    return this.replica.core;
  }

  get quorumRole(): QuorumRole {
    const z = this.replica.zab;
    if (!z.serving) return 'looking';
    return z.role === 'leading' ? 'leader' : z.role === 'observing' ? 'observer' : 'follower';
  }

  /** mntr's quorum figures (the leader's: zk_followers, zk_synced_followers, zk_pending_syncs) */
  private quorumMetrics(): Array<[string, number]> {
    const z = this.replica.zab;
    const out: Array<[string, number]> = [
      ['zk_quorum_size', this.config.servers.filter((s) => s.role === 'participant').length],
      ['zk_epoch', z.activeEpoch],
      ['zk_last_snapshot_zxid', this.snapshots.last?.zxid ?? 0],
    ];
    if (z.isEstablishedLeader) {
      const learners = z.learnerSummary();
      out.push(
        ['zk_learners', learners.filter((l) => l.status !== 'unknown').length],
        ['zk_followers', learners.filter((l) => !l.observer && l.status !== 'unknown').length],
        ['zk_synced_followers', learners.filter((l) => !l.observer && l.status === 'synced').length],
        ['zk_synced_non_voting_followers', 0],
        ['zk_synced_observers', learners.filter((l) => l.observer && l.status === 'synced').length],
        ['zk_pending_syncs', z.pendingBarrierCount],
      );
    }
    return out;
  }

  async start(): Promise<StartedServer> {
    // before anything reads or writes the dirs; held until stop() (the kernel frees it on kill -9)
    this.dirLock = lockDataDirs(this.config.dataDir, this.config.dataLogDir, `ark server (ensemble member ${this.myId})`);
    return startHolding(this.dirLock, () => this.startLocked());
  }

  private async startLocked(): Promise<StartedServer> {
    const config = this.config;
    const me = config.servers.find((s) => s.id === this.myId);
    if (!me) throw new Error(`myid ${this.myId} is not among the server.N entries of zoo.cfg`);
    const voters = config.servers.filter((s) => s.role === 'participant').map((s) => s.id);
    const observers = config.servers.filter((s) => s.role === 'observer').map((s) => s.id);
    if (!config.forceSync) this.logger.warn('forceSync=no: this server acknowledges txns before they reach its disk; the ensemble can lose acknowledged writes when a quorum loses power. Remove forceSync=no from zoo.cfg unless that risk is acceptable');
    this.dataDir.prepare();
    const t0 = Date.now();
    const loadStart = performance.now();
    const rec = this.dataDir.recover({ repair: true, ensemble: true });
    for (const s of rec.skipped) this.logger.error({ reason: s.reason }, 'damaged snapshot passed over: recovered from an older snapshot and the log instead; move the file aside once you have a backup (or wipe this member\'s ark-v1 directory: it then takes a SNAP from the leader)');
    for (const t of rec.truncated) this.logger.warn({ file: t.file, offset: t.offset }, 'txn log ended in a partial record (crash mid-write): truncated it there; no action needed, a txn cut short was never acknowledged');
    const img = this.image(rec);
    const lastZxid = img.entries.at(-1)?.zxid ?? img.baseZxid;
    let state = readEpochState(config.dataDir);
    if (!state) {
      // ZooKeeper derives missing epoch files from the last zxid (QuorumPeer.loadDataBase)
      state = { acceptedEpoch: epochOf(lastZxid), currentEpoch: epochOf(lastZxid), votedFor: 0 };
      writeEpochState(config.dataDir, state);
    }
    const syncLimitTicks = Math.max(4, Math.ceil((config.syncLimit ?? 5) * config.tickTimeMs / ZAB_TICK_MS));
    const initLimitTicks = Math.max(8, Math.ceil((config.initLimit ?? 10) * config.tickTimeMs / ZAB_TICK_MS));
    const replayStart = performance.now();
    this.replica = new Replica({
      core: {
        tickTimeMs: config.tickTimeMs, minSessionTimeoutMs: config.minSessionTimeoutMs, maxSessionTimeoutMs: config.maxSessionTimeoutMs,
        serverId: this.myId, extendedTypesEnabled: config.extendedTypesEnabled, enforceQuota: config.enforceQuota,
        superDigest: config.superDigest, containerCheckIntervalMs: config.containerCheckIntervalMs,
        sessionPassword: zookeeperSessionPassword, replyBytesMax: config.juteMaxBufferBytes,
      },
      zab: {
        id: this.myId, voters, observers, syncLimitTicks, initLimitTicks,
        electionTicks: Math.max(2, Math.round(ELECTION_TIMEOUT_MS / ZAB_TICK_MS)), logRetainEntries: numberProp(config, 'zookeeper.commitLogCount', COMMIT_LOG_COUNT_DEFAULT),
        random: Math.random,
      },
    }, { ...img, state }, Date.now());
    this.lookingSinceMs = Date.now(); // consensus starts LOOKING
    this.core.tree.onQuotaWarning = (message) => this.logger.warn(message);
    this.core.observer = this.metrics?.observer ?? null;
    this.metrics?.startup({
      dbInitMs: performance.now() - loadStart, snapshotLoadMs: rec.snapshotLoadMs, txnsLoadMs: rec.logLoadMs + performance.now() - replayStart, txns: rec.records.length,
    });
    this.logger.info({
      myid: this.myId, voters, observers, snapshotZxid: `0x${img.baseZxid.toString(16)}`, txns: img.entries.length,
      zxid: `0x${lastZxid.toString(16)}`, acceptedEpoch: state.acceptedEpoch, currentEpoch: state.currentEpoch, ms: Date.now() - t0,
    }, 'data loaded; looking for a leader');

    this.peers = new PeerTransport({
      myId: this.myId,
      listenHost: me.host,
      listenPort: me.quorumPort,
      peers: config.servers.filter((s) => s.id !== this.myId).map((s) => ({ id: s.id, host: s.host, port: s.quorumPort })),
      frameBytesMax: PEER_FRAME_BYTES_MAX,
      // a SNAP is one frame: the send queue must hold it whole
      queueBytesMax: PEER_FRAME_BYTES_MAX + 64 * 1024 * 1024,
      log: this.logger,
      onMessage: (from, data) => this.onPeerMessage(from, data),
      onPeerDown: (id) => { this.peerStats.delete(id); this.replica.peerDown(id); this.schedule(); },
    });
    await this.peers.start();
    const bound = await this.port.listen(config.clientPort ?? 2181, config.clientPortAddress);
    this.boundPort = bound.port;
    let lastTickAt = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      const stalled = now - lastTickAt > 4 * ZAB_TICK_MS;
      lastTickAt = now;
      const tick = (): void => {
        this.replica.tick(Date.now());
        this.schedule();
      };
      // after a stall (a large SNAP built, a GC pause), read what the peers sent meanwhile (session
      // touches, acks) before the tick can judge sessions or learners silent: timers run before I/O
      if (stalled) setImmediate(tick);
      else tick();
    }, ZAB_TICK_MS);
    if (config.autopurgePurgeIntervalHours > 0) {
      const purge = (): void => purgeDataDir(this.dataDir, config.autopurgeSnapRetainCount, this.logger);
      purge();
      this.purgeTimer = setInterval(purge, config.autopurgePurgeIntervalHours * 3600_000);
      this.purgeTimer.unref();
    }
    let adminPort: number | null = null;
    if (config.adminEnabled) {
      this.admin = new AdminServer(this.view, this.logger, {
        backupTo: (out, onStart, signal) => this.backupTo(out, onStart, signal),
        superDigest: config.superDigest,
        restore: () => Promise.reject(new Error('online restore is not available in an ensemble: restore one member offline with `ark restore` and let the others SNAP from it')),
        rootAcl: () => this.core.tree.get('/')?.acl ?? [],
      });
      adminPort = await this.admin.start(config.adminServerPort, config.adminServerAddress);
    }
    await this.metrics?.start(this.logger);
    this.logger.info({ address: bound.address, port: bound.port, quorumPort: me.quorumPort, adminPort }, 'client port open (clients are served once a leader is established)');
    this.schedule();
    return { address: bound.address, port: bound.port, adminPort, stop: () => this.stop() };
  }

  private image(rec: ReturnType<DataDir['recover']>): DurableImage {
    return {
      tree: rec.snapshot?.tree ?? new DataTree(),
      sessions: rec.snapshot?.sessions ?? [],
      baseZxid: rec.snapshot?.zxid ?? 0,
      entries: rec.records.map((r) => ({ zxid: r.hdr.zxid, data: encodeEntry(r.hdr, r.txn) })),
      decoded: rec.records,
    };
  }

  private onPeerMessage(from: number, data: Buffer): void {
    let msg;
    try {
      msg = decodeMsg(data);
    } catch (e) {
      if (!(e instanceof PeerCodecError)) throw e;
      this.logger.warn({ peer: from, err: e.message }, 'undecodable message from peer: dropped; run the same Ark version on every member of the ensemble');
      return;
    }
    this.replica.receive(from, msg, Date.now());
    this.peer(from).packetsReceived++;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopping) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.process();
    });
  }

  /** One round: take what the replica decided and carry it out in order. */
  private process(): void {
    const r = this.replica;
    if (r.awaitingReload) return; // the reload queued on the disk calls back
    const rd = r.ready(Date.now());
    if (rd.state) writeEpochState(this.config.dataDir, rd.state);
    // order: the install or the cut, then (after a cut below what was applied) the reload from
    // what the disk holds at that point, then the new entries
    if (rd.snapshot) this.diskOps.push({ kind: 'install', generation: rd.generation, image: rd.snapshot });
    if (rd.truncateAfter !== null) this.diskOps.push({ kind: 'truncate', generation: rd.generation, zxid: rd.truncateAfter });
    if (r.awaitingReload) this.diskOps.push({ kind: 'reload' });
    if (rd.entries.length > 0) this.diskOps.push({ kind: 'append', generation: rd.generation, entries: rd.entries });
    this.runDisk();
    for (const m of rd.messages) this.peers.send(m.to, encodeMsg(m.msg));
    for (const m of rd.messages) { const p = this.peerStats.get(m.to); if (p) p.packetsSent++; }
    writeOutputs(this.core, rd.outputs, this.port, this.logger, this.metrics, this.runtimeStats);
    for (const e of r.errors.splice(0)) this.logger.warn({ err: e }, 'bad payload from a peer: ignored; if this repeats, check that every member runs the same Ark version');
    this.txnsSinceSnapshot += rd.applied.length;
    this.noteRole();
    this.notePhase();
    this.metrics?.ensembleStep(r.zab, rd.entries, rd.applied, Date.now());
    if (this.txnsSinceSnapshot >= this.snapshotAfter && this.core.mode !== 'down') this.startSnapshot();
  }

  /** For mntr and the AdminServer: elections timed (LOOKING until leading or following), serving since when. */
  private notePhase(): void {
    const z = this.replica.zab;
    const now = Date.now();
    if (z.role !== this.lastZabRole) {
      if (z.role === 'looking') this.lookingSinceMs = now;
      else if (this.lastZabRole === 'looking' || this.lastZabRole === '') {
        this.runtimeStats.election.add(now - this.lookingSinceMs);
        this.metrics?.electionEnded(now - this.lookingSinceMs);
      }
      this.lastZabRole = z.role;
    }
    if (z.serving !== (this.servingSinceMs > 0)) this.servingSinceMs = z.serving ? now : 0;
  }

  private peer(id: number): { establishedMs: number; packetsReceived: number; packetsSent: number } {
    let p = this.peerStats.get(id);
    if (!p) {
      p = { establishedMs: Date.now(), packetsReceived: 0, packetsSent: 0 };
      this.peerStats.set(id, p);
    }
    return p;
  }

  /** /ready's answer: null while clients are served */
  private notReadyReason(): string | null {
    if (this.stopping) return 'shutting down';
    const z = this.replica.zab;
    if (z.serving) return null;
    switch (z.role) {
      case 'looking':
        return 'looking for a leader: no quorum of voters has elected one (is a majority of the server.N members up and reachable on its quorum port?)';
      case 'leading':
        return `leading epoch ${z.activeEpoch} but not established: waiting for a quorum of followers to take its history`;
      default:
        return `syncing with leader ${z.leaderId} (epoch ${z.activeEpoch})`;
    }
  }

  /** The live consensus state the AdminServer's leader, zabstate, voting_view and observers commands read. */
  private ensembleView(): EnsembleView {
    const zab = (): Replica['zab'] => this.replica.zab;
    return {
      myId: this.myId,
      servers: this.config.servers,
      role: () => zab().role,
      phase: () => zab().phase,
      leaderId: () => zab().leaderId,
      epoch: () => zab().activeEpoch,
      learners: () => (zab().role === 'leading' ? zab().learnerSummary() : []),
      pendingSyncs: () => zab().pendingBarrierCount,
      counts: () => zab().counts,
      proposalBytes: () => zab().proposalBytes,
      peer: (id) => this.peerStats.get(id) ?? null,
      resetObserverStats: () => {
        for (const s of this.config.servers) {
          const p = s.role === 'observer' ? this.peerStats.get(s.id) : undefined;
          if (p) Object.assign(p, { packetsReceived: 0, packetsSent: 0 });
        }
      },
      servingSinceMs: () => this.servingSinceMs,
    };
  }

  private noteRole(): void {
    const z = this.replica.zab;
    const role = `${this.quorumRole}/${z.activeEpoch}`;
    if (role === this.lastRole) return;
    this.lastRole = role;
    if (this.quorumRole === 'looking') {
      this.snapshots.abort();
      this.logger.info({ zxid: `0x${z.lastZxid.toString(16)}`, acceptedEpoch: z.acceptedEpoch }, 'LOOKING: not serving clients until a leader is established');
    } else {
      this.logger.info({ role: this.quorumRole, epoch: z.activeEpoch, leader: z.leaderId, zxid: `0x${this.core.lastApplied.toString(16)}` }, `${this.quorumRole.toUpperCase()}: serving clients`);
    }
  }

  // ---------- disk ----------

  /** Carries out disk operations in order; consecutive appends share one write + fdatasync. */
  private runDisk(): void {
    if (this.diskBusy || this.diskOps.length === 0) return;
    const op = this.diskOps[0]!;
    if (op.kind === 'append') {
      const entries: Entry[] = [];
      const generation = op.generation;
      while (this.diskOps.length > 0 && this.diskOps[0]!.kind === 'append' && (this.diskOps[0] as { generation: number }).generation === generation) {
        entries.push(...(this.diskOps.shift() as { entries: Entry[] }).entries);
      }
      this.metrics?.batch(entries.length);
      this.diskBusy = true;
      this.log.appendEntries(entries, (err) => {
        this.diskBusy = false;
        if (err) this.diskFailed(err);
        this.replica.persisted(generation, entries.at(-1)!.zxid, Date.now());
        this.runDisk();
        this.schedule();
      });
      return;
    }
    this.diskBusy = true;
    // a SNAP install or TRUNC waits for a snapshot being written (its file must not land afterwards)
    const wait = this.snapshots.done ?? Promise.resolve();
    void wait.then(() => {
      try {
        this.diskOps.shift();
        this.syncDiskOp(op);
      } catch (e) {
        this.diskFailed(e as Error);
      }
      this.diskBusy = false;
      this.runDisk();
      this.schedule();
    });
  }

  private syncDiskOp(op: Exclude<DiskOp, { kind: 'append' }>): void {
    switch (op.kind) {
      case 'install':
        this.dataDir.installSnapshot(op.image.zxid, op.image.data);
        this.logger.info({ zxid: `0x${op.image.zxid.toString(16)}`, bytes: op.image.data.length }, 'SNAP: took the leader\'s snapshot');
        // durable now: consensus may write currentEpoch and acknowledge (never before)
        this.replica.persisted(op.generation, op.image.zxid, Date.now());
        return;
      case 'truncate': {
        const dropped = this.dataDir.truncateAfter(op.zxid);
        if (dropped > 0) this.logger.warn({ zxid: `0x${op.zxid.toString(16)}`, dropped }, 'TRUNC: dropped logged txns that the leader\'s history does not hold; no action needed, they were never committed');
        this.replica.persisted(op.generation, op.zxid, Date.now());
        return;
      }
      case 'reload': {
        const rec = this.dataDir.recover({ repair: true, ensemble: true });
        this.replica.reloaded(this.image(rec));
        this.core.tree.onQuotaWarning = (message) => this.logger.warn(message);
        return;
      }
    }
  }

  private diskFailed(err: Error): never {
    this.logger.fatal({ err: err.message, dir: this.log.dir }, 'cannot write the data dir: stopping so that no unlogged txn is acknowledged; check free space, permissions and the disk under dir, then restart this member');
    process.exit(2);
  }

  // ---------- snapshots, backups, purge ----------

  private nextSnapshotPoint(): number {
    const half = Math.max(1, Math.floor(this.config.snapCount / 2));
    return half + 1 + Math.floor(Math.random() * half);
  }

  private startSnapshot(): void {
    if (this.snapshots.busy) return;
    this.txnsSinceSnapshot = 0;
    this.snapshotAfter = this.nextSnapshotPoint();
    const replica = this.replica;
    // the log before it is then only needed for DIFFs (a window of it stays in memory)
    this.snapshots.start(this.core, (info) => { if (replica === this.replica) replica.zab.compact(info.zxid); });
  }

  async backupTo(out: Writable, onStart?: (zxid: number) => void, signal?: AbortSignal): Promise<BackupResult> {
    await this.snapshots.idle();
    const run = writeBackup(this.core.tree, this.core.sessionRecords(), out, {
      createdBy: `ark ${ARK_VERSION}`, ...(onStart ? { onStart } : {}), ...(signal ? { signal } : {}),
    });
    this.snapshots.capturing = run;
    this.metrics?.backup(run);
    try {
      return await run;
    } finally {
      this.snapshots.capturing = null;
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.snapshots.abort();
    await this.snapshots.done;
    await this.admin?.stop();
    await this.metrics?.stop();
    while (this.diskBusy) await new Promise((r) => setTimeout(r, 5));
    await this.port.stop();
    await this.peers.close();
    this.log.closeSegment();
    await this.log.settle();
    this.dirLock?.release();
    this.logger.info('stopped');
  }
}

