// The commit path of an ensemble member: the pure Replica (server core + Zab) driven by the
// ReplicaHost (replica/host.ts: the order of disk operations, group commit, when a snapshot may
// run), here over the data dir and the peer transport; the simulator runs the same host over
// simulated ones. This file adds what only a real member has: ports, logs, metrics, timers,
// restores read off the event loop.
import { DataTree } from '../tree/datatree.js';
import { PeerTransport, type PeerSecurity } from '../net/peers.js';
import { randomBytes } from 'node:crypto';
import { peerTlsOptions } from './tlsfiles.js';
import { quorumAuthPolicy } from './authfiles.js';
import { watchFiles } from './certwatch.js';
import type { DataDir, Recovery } from '../storage/datadir.js';
import { readEpochState, writeEpochState } from '../storage/epoch.js';
import { readBackupAsync } from '../backup/format.js';
import { progressLog } from './loadlog.js';
import type { EnsembleView, ServerView } from '../admin/fourletter.js';
import type { QuorumServerSpec } from '../config/serverline.js';
import { Replica, encodeEntry, type DurableImage, type ReplicaReady } from '../replica/replica.js';
import type { RestoreResult } from '../replica/payloads.js';
import { decodeMsg, encodeMsg, PeerCodecError } from '../consensus/codec.js';
import { epochOf, type Envelope } from '../consensus/messages.js';
import { hexZxid } from '../util/zxid.js';
import { ReplicaHost, type DiskDone, type HostDisk } from '../replica/host.js';
import type { ServerCore } from '../server/core.js';
import { coreOptions } from './standalone.js';
import type { CommitPath, HostServices, RestoreOutcome } from './commit.js';
import type { WrittenSnapshot } from './snapshots.js';

/** Consensus ticks this often; ZooKeeper's tick-based limits are converted to these ticks. */
const ZAB_TICK_MS = 50;
/** Base election timeout (each wait is drawn from [base, 2 base)). */
const ELECTION_TIMEOUT_MS = 200;
/** How long a restore may take before its asker gives up waiting (the ensemble may still take it). */
const RESTORE_WAIT_MS = 10 * 60_000;
/** Largest peer message: a SNAP carries the whole tree. */
const PEER_FRAME_BYTES_MAX = 1024 * 1024 * 1024;

export type QuorumRole = 'leader' | 'follower' | 'observer' | 'looking';

/** A recovered data dir as the replica takes it: the snapshot's tree and the log after it. */
export function durableImage(rec: Recovery): DurableImage {
  return {
    tree: rec.snapshot?.tree ?? new DataTree(),
    sessions: rec.snapshot?.sessions ?? [],
    baseZxid: rec.snapshot?.zxid ?? 0,
    entries: rec.records.map((r) => ({ zxid: r.hdr.zxid, data: encodeEntry(r.hdr, r.txn) })),
    decoded: rec.records,
  };
}

export class QuorumPath implements CommitPath {
  replica: Replica;
  private peers!: PeerTransport;
  private readonly me: QuorumServerSpec;
  private readonly voters: number[];
  private readonly observers: number[];
  /** carries out the replica's decisions once load() gave it the data dir's state */
  private member: ReplicaHost | null = null;
  private scheduled = false;
  private stopping = false;
  private lastRole = '';
  private lastWaiting = '';
  private lastZabRole = '';
  private lookingSinceMs = Date.now(); // consensus starts LOOKING
  private servingSinceMs = 0;
  private servedOnce = false;
  private lastTickAt = Date.now();
  /** online restores asked through this member, waiting for their result */
  private readonly restoreWaiters = new Map<number, (r: RestoreResult) => void>();
  /** quorum-port messages with each peer since the first one it sent on its connection (the leader's observers command) */
  private readonly peerStats = new Map<number, { establishedMs: number; packetsReceived: number; packetsSent: number }>();
  /** TLS and SASL between members, read by prepareSecurity() */
  private security: PeerSecurity | null = null;
  private stopWatching: (() => void) | null = null;
  readonly tickMs = ZAB_TICK_MS;
  readonly ensembleView: EnsembleView;
  readonly quorumView;

  constructor(
    private readonly host: HostServices,
    private readonly myId: number,
  ) {
    const { config } = host;
    const me = config.servers.find((s) => s.id === myId);
    if (!me) throw new Error(`myid ${myId} is not among the server.N entries of zoo.cfg`);
    this.me = me;
    this.voters = config.servers.filter((s) => s.role === 'participant').map((s) => s.id);
    this.observers = config.servers.filter((s) => s.role === 'observer').map((s) => s.id);
    this.replica = this.newReplica({
      tree: new DataTree(),
      sessions: [],
      baseZxid: 0,
      entries: [],
      state: { acceptedEpoch: 0, currentEpoch: 0, votedFor: 0 },
    });
    this.ensembleView = this.makeEnsembleView();
    this.quorumView = {
      initLimit: config.initLimit ?? 10,
      syncLimit: config.syncLimit ?? 5,
      electionPort: me.electionPort,
      quorumPort: me.quorumPort,
      observer: me.role === 'observer',
      membership: config.servers.map(
        (x) =>
          `server.${x.id}=${x.host}:${x.quorumPort}:${x.electionPort}:${x.role}` +
          `;${x.clientAddress ?? config.clientPortAddress ?? '0.0.0.0'}:${x.clientPort ?? (x.id === myId ? (config.clientPort ?? 2181) : 0)}`,
      ),
    };
  }

  get core(): ServerCore {
    return this.replica.core;
  }

  get role(): QuorumRole {
    const z = this.replica.zab;
    if (!z.serving) return 'looking';
    return z.role === 'leading' ? 'leader' : z.role === 'observing' ? 'observer' : 'follower';
  }

  mode(): ServerView['mode'] {
    if (this.core.mode === 'readonly') return 'read-only';
    const r = this.role;
    return r === 'looking' ? 'follower' : r;
  }

  serving(): boolean {
    return this.replica.zab.serving;
  }

  /**
   * The member's replica over `rec`. Until load() there is one over an empty state (never started:
   * it neither ticks nor talks), so every view the AdminServer reads while the data dir loads
   * answers (as LOOKING) instead of failing.
   */
  private newReplica(rec: ConstructorParameters<typeof Replica>[1]): Replica {
    const { config } = this.host;
    const syncLimitTicks = Math.max(4, Math.ceil(((config.syncLimit ?? 5) * config.tickTimeMs) / ZAB_TICK_MS));
    const initLimitTicks = Math.max(8, Math.ceil(((config.initLimit ?? 10) * config.tickTimeMs) / ZAB_TICK_MS));
    return new Replica(
      {
        core: coreOptions(config, this.myId, this.host.auth),
        zab: {
          id: this.myId,
          voters: this.voters,
          observers: this.observers,
          syncLimitTicks,
          initLimitTicks,
          electionTicks: Math.max(2, Math.round(ELECTION_TIMEOUT_MS / ZAB_TICK_MS)),
          logRetainEntries: config.commitLogCount,
          random: Math.random,
        },
        readOnlyMode: config.readOnlyModeEnabled,
      },
      rec,
      Date.now(),
    );
  }

  load(rec: Recovery, onReplayed?: (n: number) => void): void {
    const { config, dataDir } = this.host;
    const img = { ...durableImage(rec), ...(onReplayed ? { onReplayed } : {}) };
    const lastZxid = img.entries.at(-1)?.zxid ?? img.baseZxid;
    let state = readEpochState(config.dataDir);
    if (!state) {
      // ZooKeeper derives missing epoch files from the last zxid (QuorumPeer.loadDataBase)
      state = { acceptedEpoch: epochOf(lastZxid), currentEpoch: epochOf(lastZxid), votedFor: 0 };
      writeEpochState(config.dataDir, state);
    }
    this.replica = this.newReplica({ ...img, state });
    this.member = new ReplicaHost(this.replica, {
      disk: this.disk(),
      links: { send: (m) => this.sendPeer(m), flush: () => this.peers.flushNow() },
      clock: Date.now,
      schedule: () => this.schedule(),
      fatal: (err) => this.diskFailed(err),
      coreChanged: (core) => this.host.coreChanged(core),
      servingStarted: () => this.host.servingStarted(),
      keepCommittedLog: this.host.config.backup !== null,
    });
    this.host.coreChanged(this.core);
    this.host.logger.info(
      {
        myid: this.myId,
        voters: this.voters,
        observers: this.observers,
        snapshotZxid: `0x${img.baseZxid.toString(16)}`,
        zxid: `0x${lastZxid.toString(16)}`,
        acceptedEpoch: state.acceptedEpoch,
        currentEpoch: state.currentEpoch,
        dataDir: dataDir.dataDir,
      },
      'looking for a leader',
    );
  }

  /**
   * Reads the quorum certificates and the JAAS file's QuorumServer / QuorumLearner sections; a
   * store or section that is missing or bad throws ConfigError naming its key, before the data
   * dir loads (as ZooKeeper fails to create its SSLContext or to log in).
   */
  prepareSecurity(env: NodeJS.ProcessEnv = process.env): void {
    const { config, logger } = this.host;
    const sec = config.quorumSecurity;
    const auth = quorumAuthPolicy(config, env);
    const tls =
      sec.tls === null
        ? null
        : {
            sslQuorum: sec.sslQuorum,
            portUnification: sec.portUnification,
            options: peerTlsOptions(sec.tls),
            hostnameVerification: sec.tls.hostnameVerification,
            clientHostnameVerification: sec.tls.clientHostnameVerification,
            clientAuth: sec.tls.clientAuth,
            handshakeTimeoutMs: sec.tls.handshakeTimeoutMs,
          };
    // 128 bits, base64 (RFC 2831: an opaque quoted string without '"' and ',')
    this.security = { tls, auth, nonce: () => randomBytes(16).toString('base64') };
    logger.info(
      {
        sslQuorum: sec.sslQuorum,
        portUnification: sec.portUnification,
        sslQuorumReloadCertFiles: sec.reloadCertFiles,
        hostnameVerification: sec.tls?.hostnameVerification,
        clientHostnameVerification: sec.tls?.clientHostnameVerification,
        clientAuth: sec.tls?.clientAuth,
        quorumSasl: auth === null ? false : { learnerRequireSasl: auth.learnerRequireSasl, serverRequireSasl: auth.serverRequireSasl },
      },
      'quorum port security',
    );
  }

  /** sslQuorumReloadCertFiles: a changed store is read again and used for new connections; a bad one is logged and the old kept. */
  private watchCertificates(): void {
    const t = this.host.config.quorumSecurity.tls;
    if (t === null || !this.host.config.quorumSecurity.reloadCertFiles) return;
    const files = [t.keyStore.location, ...(t.trustStore ? [t.trustStore.location] : [])];
    this.stopWatching = watchFiles(files, () => {
      try {
        this.peers.setTlsOptions(peerTlsOptions(t));
        this.host.logger.info({ files }, 'quorum certificates reloaded (sslQuorumReloadCertFiles): new peer connections use them');
      } catch (e) {
        this.host.logger.error(
          { files, err: (e as Error).message },
          'quorum certificates changed but cannot be used: keeping the previous ones; fix the files (they are read again on the next change)',
        );
      }
    });
  }

  async start(): Promise<void> {
    const { config, logger } = this.host;
    if (this.security === null) this.prepareSecurity();
    this.peers = new PeerTransport({
      security: this.security!,
      myId: this.myId,
      listenHost: this.me.host,
      listenPort: this.me.quorumPort,
      peers: config.servers.filter((s) => s.id !== this.myId).map((s) => ({ id: s.id, host: s.host, port: s.quorumPort })),
      frameBytesMax: PEER_FRAME_BYTES_MAX,
      // a SNAP is one frame: the send queue must hold it whole
      queueBytesMax: PEER_FRAME_BYTES_MAX + 64 * 1024 * 1024,
      log: logger,
      onMessage: (from, data) => this.onPeerMessage(from, data),
      onPeerDown: (id) => {
        this.peerStats.delete(id);
        this.replica.peerDown(id);
        this.schedule();
      },
    });
    await this.peers.start();
    this.watchCertificates();
    this.lastTickAt = Date.now();
    this.schedule();
  }

  tick(now: number): void {
    const stalled = now - this.lastTickAt > 4 * ZAB_TICK_MS;
    this.lastTickAt = now;
    const tick = (): void => {
      this.replica.tick(Date.now());
      this.schedule();
    };
    // after a stall (a large SNAP built, a GC pause), read what the peers sent meanwhile (session
    // touches, acks) before the tick can judge sessions or learners silent: timers run before I/O
    if (stalled) setImmediate(tick);
    else tick();
  }

  private onPeerMessage(from: number, data: Buffer): void {
    let msg: ReturnType<typeof decodeMsg>;
    try {
      msg = decodeMsg(data);
    } catch (e) {
      if (!(e instanceof PeerCodecError)) throw e;
      this.host.logger.warn(
        { peer: from, err: e.message },
        'undecodable message from peer: dropped; run the same Ark version on every member of the ensemble',
      );
      return;
    }
    this.replica.receive(from, msg, Date.now());
    this.peer(from).packetsReceived++;
    this.schedule();
  }

  /**
   * Before a client's request is taken: a commit that arrived from the leader (and is known to
   * consensus) is applied first, so a read that comes after a COMMIT sees it, instead of waiting
   * for this turn's round (ZooKeeper's follower applies commits on their own thread at once).
   */
  catchUp(): void {
    const r = this.replica;
    if (!this.stopping && !r.awaitingReload && r.zab.commitZxid > this.core.lastApplied && r.zab.commitZxid <= r.zab.lastZxid)
      this.process();
  }

  schedule(): void {
    if (this.scheduled || this.stopping) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.process();
    });
  }

  /** One round: the host carries out the replica's decisions; this member adds clients, restores, logs and metrics. */
  private process(): void {
    const member = this.member;
    if (!member || this.stopping) return;
    this.replica.restoreFloor = this.host.archiveEnd();
    const rd = member.round(Date.now());
    if (!rd) return; // a reload queued on the disk calls back
    const r = this.replica;
    this.host.send(this.core, rd.outputs);
    for (const a of rd.restoreAsks) this.readRestore(a);
    for (const e of r.errors.splice(0))
      this.host.logger.warn(
        { err: e },
        'bad payload from a peer: ignored; if this repeats, check that every member runs the same Ark version',
      );
    this.noteRole();
    this.noteWaiting();
    this.notePhase();
    this.host.metrics?.ensembleStep(r.zab, rd.entries, rd.applied, Date.now());
    if (rd.applied.length > 0) this.host.applied(rd.applied.length);
    for (const x of rd.restores) {
      this.restoreWaiters.get(x.id)?.(x.result);
      this.restoreWaiters.delete(x.id);
    }
  }

  private sendPeer(m: Envelope): void {
    this.peers.send(m.to, encodeMsg(m.msg));
    const p = this.peerStats.get(m.to);
    if (p) p.packetsSent++;
  }

  /** For mntr and the AdminServer: elections timed (LOOKING until leading or following), serving since when. */
  private notePhase(): void {
    const z = this.replica.zab;
    const now = Date.now();
    if (z.role !== this.lastZabRole) {
      if (z.role === 'looking') this.lookingSinceMs = now;
      else if (this.lastZabRole === 'looking' || this.lastZabRole === '') {
        this.host.stats.electionEnded({
          endedMs: now,
          durationMs: now - this.lookingSinceMs,
          leaderId: z.leaderId,
          epoch: z.activeEpoch,
          role: z.role,
        });
        this.host.metrics?.electionEnded(now - this.lookingSinceMs);
      }
      this.lastZabRole = z.role;
    }
    if (z.serving !== this.servingSinceMs > 0) this.servingSinceMs = z.serving ? now : 0;
    if (z.serving && !this.servedOnce) {
      this.servedOnce = true;
      // the ensemble's side of "how long until it serves": load, election and sync, from the process's start
      this.host.logger.info(
        { msSinceProcessStart: Math.round(performance.now()), role: z.role },
        'serving clients (first time since start)',
      );
    }
  }

  /** Says (once per change) when this member, holding no data, waits to hear from every voter before it elects. */
  private noteWaiting(): void {
    const w = this.replica.zab.waitingForVoters;
    const key = w ? `${w.heard.join(',')}/${w.missing.join(',')}` : '';
    if (key === this.lastWaiting) return;
    this.lastWaiting = key;
    if (w) {
      this.host.logger.info(
        { heard: w.heard, missing: w.missing },
        "this member holds no data: it helps elect a member that holds none only once it has heard from every voter (a brand-new ensemble). Wiped members cannot elect each other while a member holding the ensemble's data (a restored one) is down; start the missing voters",
      );
    }
  }

  private noteRole(): void {
    const z = this.replica.zab;
    const readOnly = this.core.mode === 'readonly';
    const role = `${this.role}/${z.activeEpoch}/${readOnly}`;
    if (role === this.lastRole) return;
    this.lastRole = role;
    const logger = this.host.logger;
    if (readOnly) {
      logger.info(
        { zxid: `0x${this.core.lastApplied.toString(16)}` },
        'READ-ONLY: no quorum; serving reads to clients that asked for read-only (readonlymode.enabled), refusing writes',
      );
    } else if (this.role === 'looking') {
      logger.info(
        { zxid: `0x${z.lastZxid.toString(16)}`, acceptedEpoch: z.acceptedEpoch },
        'LOOKING: not serving clients until a leader is established',
      );
    } else {
      logger.info(
        { role: this.role, epoch: z.activeEpoch, leader: z.leaderId, zxid: `0x${this.core.lastApplied.toString(16)}` },
        `${this.role.toUpperCase()}: serving clients`,
      );
    }
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
  notReadyReason(): string | null {
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

  /** mntr's quorum figures (the leader's: zk_followers, zk_synced_followers, zk_pending_syncs) */
  extraMetrics(): Array<[string, number]> {
    const z = this.replica.zab;
    const out: Array<[string, number]> = [
      ['zk_quorum_size', this.voters.length],
      ['zk_epoch', z.activeEpoch],
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

  /** The live consensus state the AdminServer's leader, zabstate, voting_view and observers commands read. */
  private makeEnsembleView(): EnsembleView {
    const zab = (): Replica['zab'] => this.replica.zab;
    const servers = this.host.config.servers;
    return {
      myId: this.myId,
      servers,
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
        for (const s of servers) {
          const p = s.role === 'observer' ? this.peerStats.get(s.id) : undefined;
          if (p) Object.assign(p, { packetsReceived: 0, packetsSent: 0 });
        }
      },
      servingSinceMs: () => this.servingSinceMs,
    };
  }

  // ---------- disk ----------

  /**
   * The data dir as the ReplicaHost drives it. A SNAP install, TRUNC or reload waits for a snapshot
   * being written (its file must not land afterwards), then runs synchronously.
   */
  private disk(): HostDisk {
    const { config, dataDir, logger } = this.host;
    const afterSnapshot = (job: () => void, done: DiskDone): void => {
      void this.host.snapshotDone().then(() => {
        if (this.stopping) {
          done(null);
          return;
        } // the host ignores it: nothing more is written
        try {
          job();
        } catch (e) {
          done(e as Error);
          return;
        }
        done(null);
      });
    };
    return {
      writeEpoch: (state) => writeEpochState(config.dataDir, state),
      append: (entries, done) => {
        this.host.metrics?.batch(entries.length);
        dataDir.log.appendEntries(entries, done);
      },
      install: (image, keepLogUpTo, done) =>
        afterSnapshot(() => {
          dataDir.installSnapshot(image.zxid, image.data, keepLogUpTo);
          this.host.snapshotInstalled(image.zxid);
          logger.info({ zxid: hexZxid(image.zxid), bytes: image.data.length }, "SNAP: took the leader's snapshot");
        }, done),
      truncate: (zxid, done) =>
        afterSnapshot(() => {
          const dropped = dataDir.truncateAfter(zxid);
          if (dropped > 0)
            logger.warn(
              { zxid: hexZxid(zxid), dropped },
              "TRUNC: dropped logged txns that the leader's history does not hold; no action needed, they were never committed",
            );
        }, done),
      reload: (done) => {
        let image: DurableImage | null = null;
        afterSnapshot(
          () => {
            image = durableImage(reloadData(dataDir));
          },
          (err) => done(err, image),
        );
      },
    };
  }

  private diskFailed(err: Error): void {
    this.stopping = true;
    this.host.fatal(err);
  }

  // ---------- snapshots, restore, archive ----------

  canSnapshot(): boolean {
    return this.member?.canSnapshot() ?? false;
  }

  snapshotWritten(info: WrittenSnapshot): void {
    this.member?.snapshotWritten(info.zxid);
  }

  /**
   * Restores the whole ensemble (Replica.restore: the leader makes it a new epoch whose history is
   * the backup; a follower forwards it to the leader). Resolves once a quorum took it.
   */
  /**
   * The backup goes to the leader as the bytes it came in (this member may be the leader); the
   * leader reads it off the event loop (readRestore) and runs the restore.
   */
  async restore(raw: Buffer): Promise<RestoreOutcome> {
    const id = this.replica.restore(raw);
    this.schedule();
    const result = await new Promise<RestoreResult>((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            ok: false,
            error: `no answer from the leader within ${RESTORE_WAIT_MS / 60_000} minutes: the ensemble may or may not have taken the restore; check the members' zxid (srvr) before retrying`,
          }),
        RESTORE_WAIT_MS,
      );
      timer.unref();
      this.restoreWaiters.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    if (!result.ok) throw new Error(result.error);
    return { zxid: result.zxid, backupZxid: result.backupZxid, nodes: result.nodes, sessions: result.sessions };
  }

  /** Leader: reads a backup to restore (asked here or forwarded) with the yielding parser, then runs it. */
  private readRestore(a: ReplicaReady['restoreAsks'][number]): void {
    const bytes = Buffer.isBuffer(a.bytes) ? a.bytes : Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
    const name = a.from === 0 ? 'the uploaded backup' : `the backup forwarded by server ${a.from}`;
    void readBackupAsync(name, bytes, { onProgress: progressLog(this.host.logger, `restore: loading ${name}`) }).then(
      (b) => {
        if (this.stopping) return;
        this.replica.restoreFloor = this.host.archiveEnd();
        this.replica.runRestore(a.from, a.id, b.snapshot, Date.now());
        this.schedule();
      },
      (e: unknown) => {
        if (this.stopping) return;
        this.replica.restoreUnreadable(a.from, a.id, (e as Error).message);
        this.schedule();
      },
    );
  }

  committedZxid(): number {
    return this.replica.zab.commitZxid;
  }

  archivableZxid(): number {
    const z = this.replica.zab;
    return Math.min(z.commitZxid, z.persisted, this.core.lastApplied);
  }

  archiveDuty(): boolean {
    return this.replica.zab.isEstablishedLeader;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopWatching?.();
    this.member?.stop();
    while (this.member?.diskBusy) await new Promise((r) => setTimeout(r, 5));
    await this.peers?.close();
  }
}

/** A reload after a TRUNC below what was applied: the data dir as recovery reads it. */
function reloadData(dataDir: DataDir): Recovery {
  return dataDir.recover({ repair: true, ensemble: true });
}
