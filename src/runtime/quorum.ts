// The commit path of an ensemble member: the pure Replica (server core + Zab) with the peer
// transport and the data dir. Each ready() is carried out in the order the design depends on:
//   1. the epoch file, written and fsynced synchronously (before any message that depends on it);
//   2. SNAP installs and TRUNCs, after the log writes queued before them;
//   3. log appends: group commit, one write + fdatasync, then persisted() back into consensus;
//   4. messages to peers, bytes to clients.
import { DataTree } from '../tree/datatree.js';
import { PeerTransport } from '../net/peers.js';
import type { DataDir, Recovery } from '../storage/datadir.js';
import { readEpochState, writeEpochState } from '../storage/epoch.js';
import { readBackupAsync } from '../backup/format.js';
import type { EnsembleView } from '../admin/fourletter.js';
import type { QuorumServerSpec } from '../config/zoocfg.js';
import { Replica, encodeEntry, type DurableImage, type ReplicaReady } from '../replica/replica.js';
import type { RestoreResult } from '../replica/payloads.js';
import { decodeMsg, encodeMsg, PeerCodecError } from '../consensus/codec.js';
import { epochOf, type Entry, type SnapshotImage } from '../consensus/messages.js';
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

type DiskOp =
  | { kind: 'append'; generation: number; entries: Entry[] }
  | { kind: 'truncate'; generation: number; zxid: number }
  | { kind: 'install'; generation: number; image: SnapshotImage; keepLogUpTo: number }
  | { kind: 'reload' };

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
  private scheduled = false;
  private stopping = false;
  private readonly diskOps: DiskOp[] = [];
  private diskBusy = false;
  private lastRole = '';
  private lastWaiting = '';
  private lastZabRole = '';
  private lookingSinceMs = Date.now(); // consensus starts LOOKING
  private servingSinceMs = 0;
  private lastTickAt = Date.now();
  /** online restores asked through this member, waiting for their result */
  private readonly restoreWaiters = new Map<number, (r: RestoreResult) => void>();
  /** consensus's commit point as of the last round: the txns up to it are committed whatever a SNAP brings */
  private committedSeen = 0;
  /** quorum-port messages with each peer since the first one it sent on its connection (the leader's observers command) */
  private readonly peerStats = new Map<number, { establishedMs: number; packetsReceived: number; packetsSent: number }>();
  readonly tickMs = ZAB_TICK_MS;
  readonly ensembleView: EnsembleView;
  readonly quorumView;

  constructor(private readonly host: HostServices, private readonly myId: number) {
    const { config } = host;
    const me = config.servers.find((s) => s.id === myId);
    if (!me) throw new Error(`myid ${myId} is not among the server.N entries of zoo.cfg`);
    this.me = me;
    this.voters = config.servers.filter((s) => s.role === 'participant').map((s) => s.id);
    this.observers = config.servers.filter((s) => s.role === 'observer').map((s) => s.id);
    this.replica = this.newReplica({ tree: new DataTree(), sessions: [], baseZxid: 0, entries: [], state: { acceptedEpoch: 0, currentEpoch: 0, votedFor: 0 } });
    this.ensembleView = this.makeEnsembleView();
    this.quorumView = {
      initLimit: config.initLimit ?? 10, syncLimit: config.syncLimit ?? 5,
      electionPort: me.electionPort, quorumPort: me.quorumPort, observer: me.role === 'observer',
      membership: config.servers.map((x) => `server.${x.id}=${x.host}:${x.quorumPort}:${x.electionPort}:${x.role}` +
        `;${x.clientAddress ?? config.clientPortAddress ?? '0.0.0.0'}:${x.clientPort ?? (x.id === myId ? config.clientPort ?? 2181 : 0)}`),
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

  mode(): 'leader' | 'follower' | 'observer' {
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
    const syncLimitTicks = Math.max(4, Math.ceil((config.syncLimit ?? 5) * config.tickTimeMs / ZAB_TICK_MS));
    const initLimitTicks = Math.max(8, Math.ceil((config.initLimit ?? 10) * config.tickTimeMs / ZAB_TICK_MS));
    return new Replica({
      core: coreOptions(config, this.myId),
      zab: {
        id: this.myId, voters: this.voters, observers: this.observers, syncLimitTicks, initLimitTicks,
        electionTicks: Math.max(2, Math.round(ELECTION_TIMEOUT_MS / ZAB_TICK_MS)), logRetainEntries: config.commitLogCount,
        random: Math.random,
      },
    }, rec, Date.now());
  }

  load(rec: Recovery): void {
    const { config, dataDir } = this.host;
    const img = durableImage(rec);
    const lastZxid = img.entries.at(-1)?.zxid ?? img.baseZxid;
    let state = readEpochState(config.dataDir);
    if (!state) {
      // ZooKeeper derives missing epoch files from the last zxid (QuorumPeer.loadDataBase)
      state = { acceptedEpoch: epochOf(lastZxid), currentEpoch: epochOf(lastZxid), votedFor: 0 };
      writeEpochState(config.dataDir, state);
    }
    this.replica = this.newReplica({ ...img, state });
    this.host.coreChanged(this.core);
    // committed at start: the snapshot (an ensemble member snapshots only while it serves)
    this.committedSeen = this.replica.zab.commitZxid;
    this.host.logger.info({
      myid: this.myId, voters: this.voters, observers: this.observers, snapshotZxid: `0x${img.baseZxid.toString(16)}`,
      zxid: `0x${lastZxid.toString(16)}`, acceptedEpoch: state.acceptedEpoch, currentEpoch: state.currentEpoch, dataDir: dataDir.dataDir,
    }, 'looking for a leader');
  }

  async start(): Promise<void> {
    const { config, logger } = this.host;
    this.peers = new PeerTransport({
      myId: this.myId,
      listenHost: this.me.host,
      listenPort: this.me.quorumPort,
      peers: config.servers.filter((s) => s.id !== this.myId).map((s) => ({ id: s.id, host: s.host, port: s.quorumPort })),
      frameBytesMax: PEER_FRAME_BYTES_MAX,
      // a SNAP is one frame: the send queue must hold it whole
      queueBytesMax: PEER_FRAME_BYTES_MAX + 64 * 1024 * 1024,
      log: logger,
      onMessage: (from, data) => this.onPeerMessage(from, data),
      onPeerDown: (id) => { this.peerStats.delete(id); this.replica.peerDown(id); this.schedule(); },
    });
    await this.peers.start();
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
    let msg;
    try {
      msg = decodeMsg(data);
    } catch (e) {
      if (!(e instanceof PeerCodecError)) throw e;
      this.host.logger.warn({ peer: from, err: e.message }, 'undecodable message from peer: dropped; run the same Ark version on every member of the ensemble');
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
    if (!this.stopping && !r.awaitingReload && r.zab.commitZxid > this.core.lastApplied && r.zab.commitZxid <= r.zab.lastZxid) this.process();
  }

  schedule(): void {
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
    if (r.awaitingReload || this.stopping) return; // the reload queued on the disk calls back
    r.restoreFloor = this.host.archiveEnd();
    const rd = r.ready(Date.now());
    if (rd.state) writeEpochState(this.host.config.dataDir, rd.state);
    // order: the install or the cut, then (after a cut below what was applied) the reload from
    // what the disk holds at that point, then the new entries
    // a SNAP replaces the log, but the committed txns in it stay while an archive may still need them
    if (rd.snapshot) this.diskOps.push({ kind: 'install', generation: rd.generation, image: rd.snapshot, keepLogUpTo: this.host.config.backup ? this.committedSeen : -1 });
    if (rd.truncateAfter !== null) this.diskOps.push({ kind: 'truncate', generation: rd.generation, zxid: rd.truncateAfter });
    if (r.awaitingReload) this.diskOps.push({ kind: 'reload' });
    if (rd.entries.length > 0) this.diskOps.push({ kind: 'append', generation: rd.generation, entries: rd.entries });
    this.runDisk();
    for (const m of rd.messages) this.peers.send(m.to, encodeMsg(m.msg));
    for (const m of rd.messages) { const p = this.peerStats.get(m.to); if (p) p.packetsSent++; }
    // commits reach the followers before the replies they commit reach the clients
    if (rd.outputs.length > 0) this.peers.flushNow();
    this.host.send(this.core, rd.outputs);
    for (const a of rd.restoreAsks) this.readRestore(a);
    for (const e of r.errors.splice(0)) this.host.logger.warn({ err: e }, 'bad payload from a peer: ignored; if this repeats, check that every member runs the same Ark version');
    this.noteRole();
    this.noteWaiting();
    this.notePhase();
    this.host.metrics?.ensembleStep(r.zab, rd.entries, rd.applied, Date.now());
    if (rd.applied.length > 0) this.host.applied(rd.applied.length);
    this.committedSeen = r.zab.commitZxid;
    for (const x of rd.restores) {
      this.restoreWaiters.get(x.id)?.(x.result);
      this.restoreWaiters.delete(x.id);
    }
  }

  /** For mntr and the AdminServer: elections timed (LOOKING until leading or following), serving since when. */
  private notePhase(): void {
    const z = this.replica.zab;
    const now = Date.now();
    if (z.role !== this.lastZabRole) {
      if (z.role === 'looking') this.lookingSinceMs = now;
      else if (this.lastZabRole === 'looking' || this.lastZabRole === '') {
        this.host.stats.election.add(now - this.lookingSinceMs);
        this.host.metrics?.electionEnded(now - this.lookingSinceMs);
      }
      this.lastZabRole = z.role;
    }
    if (z.serving !== (this.servingSinceMs > 0)) this.servingSinceMs = z.serving ? now : 0;
  }

  /** Says (once per change) when this member, holding no data, waits to hear from every voter before it elects. */
  private noteWaiting(): void {
    const w = this.replica.zab.waitingForVoters;
    const key = w ? `${w.heard.join(',')}/${w.missing.join(',')}` : '';
    if (key === this.lastWaiting) return;
    this.lastWaiting = key;
    if (w) {
      this.host.logger.info({ heard: w.heard, missing: w.missing },
        'this member holds no data: it helps elect a member that holds none only once it has heard from every voter (a brand-new ensemble). Wiped members cannot elect each other while a member holding the ensemble\'s data (a restored one) is down; start the missing voters');
    }
  }

  private noteRole(): void {
    const z = this.replica.zab;
    const role = `${this.role}/${z.activeEpoch}`;
    if (role === this.lastRole) return;
    this.lastRole = role;
    const logger = this.host.logger;
    if (this.role === 'looking') {
      logger.info({ zxid: `0x${z.lastZxid.toString(16)}`, acceptedEpoch: z.acceptedEpoch }, 'LOOKING: not serving clients until a leader is established');
    } else {
      logger.info({ role: this.role, epoch: z.activeEpoch, leader: z.leaderId, zxid: `0x${this.core.lastApplied.toString(16)}` }, `${this.role.toUpperCase()}: serving clients`);
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
      this.host.metrics?.batch(entries.length);
      this.diskBusy = true;
      this.host.dataDir.log.appendEntries(entries, (err) => {
        this.diskBusy = false;
        if (err) { this.diskFailed(err); return; }
        this.replica.persisted(generation, entries.at(-1)!.zxid, Date.now());
        this.runDisk();
        this.schedule();
      });
      return;
    }
    this.diskBusy = true;
    // a SNAP install or TRUNC waits for a snapshot being written (its file must not land afterwards)
    void this.host.snapshotDone().then(() => {
      if (this.stopping) { this.diskBusy = false; return; }
      try {
        this.diskOps.shift();
        this.syncDiskOp(op);
      } catch (e) {
        this.diskBusy = false; // nothing more is written (stopping); stop() must not wait for it
        this.diskFailed(e as Error);
        return;
      }
      this.diskBusy = false;
      this.runDisk();
      this.schedule();
    });
  }

  private syncDiskOp(op: Exclude<DiskOp, { kind: 'append' }>): void {
    const { dataDir, logger } = this.host;
    switch (op.kind) {
      case 'install':
        dataDir.installSnapshot(op.image.zxid, op.image.data, op.keepLogUpTo);
        logger.info({ zxid: `0x${op.image.zxid.toString(16)}`, bytes: op.image.data.length }, 'SNAP: took the leader\'s snapshot');
        // durable now: consensus may write currentEpoch and acknowledge (never before)
        this.replica.persisted(op.generation, op.image.zxid, Date.now());
        this.host.coreChanged(this.core);
        return;
      case 'truncate': {
        const dropped = dataDir.truncateAfter(op.zxid);
        if (dropped > 0) logger.warn({ zxid: `0x${op.zxid.toString(16)}`, dropped }, 'TRUNC: dropped logged txns that the leader\'s history does not hold; no action needed, they were never committed');
        this.replica.persisted(op.generation, op.zxid, Date.now());
        return;
      }
      case 'reload': {
        this.replica.reloaded(durableImage(reloadData(dataDir)));
        this.host.coreChanged(this.core);
        return;
      }
    }
  }

  private diskFailed(err: Error): void {
    this.stopping = true;
    this.diskOps.length = 0;
    this.host.fatal(err);
  }

  // ---------- snapshots, restore, archive ----------

  canSnapshot(): boolean {
    return this.core.mode !== 'down';
  }

  snapshotWritten(info: WrittenSnapshot): void {
    // the log before it is then only needed for DIFFs (a window of it stays in memory); a replica
    // replaced meanwhile (never here: the replica lives as long as the path) would not match
    this.replica.zab.compact(info.zxid);
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
      const timer = setTimeout(() => resolve({ ok: false, error: `no answer from the leader within ${RESTORE_WAIT_MS / 60_000} minutes: the ensemble may or may not have taken the restore; check the members' zxid (srvr) before retrying` }), RESTORE_WAIT_MS);
      timer.unref();
      this.restoreWaiters.set(id, (r) => { clearTimeout(timer); resolve(r); });
    });
    if (!result.ok) throw new Error(result.error);
    return { zxid: result.zxid, backupZxid: result.backupZxid, nodes: result.nodes, sessions: result.sessions };
  }

  /** Leader: reads a backup to restore (asked here or forwarded) with the yielding parser, then runs it. */
  private readRestore(a: ReplicaReady['restoreAsks'][number]): void {
    const bytes = Buffer.isBuffer(a.bytes) ? a.bytes : Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
    const name = a.from === 0 ? 'the uploaded backup' : `the backup forwarded by server ${a.from}`;
    void readBackupAsync(name, bytes).then((b) => {
      if (this.stopping) return;
      this.replica.restoreFloor = this.host.archiveEnd();
      this.replica.runRestore(a.from, a.id, b.snapshot, Date.now());
      this.schedule();
    }, (e: unknown) => {
      if (this.stopping) return;
      this.replica.restoreUnreadable(a.from, a.id, (e as Error).message);
      this.schedule();
    });
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
    while (this.diskBusy) await new Promise((r) => setTimeout(r, 5));
    await this.peers?.close();
  }
}

/** A reload after a TRUNC below what was applied: the data dir as recovery reads it. */
function reloadData(dataDir: DataDir): Recovery {
  return dataDir.recover({ repair: true, ensemble: true });
}
