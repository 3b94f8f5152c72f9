// The deterministic ensemble simulator: N replicas (the real ServerCore + Zab, composed by
// Replica), M clients speaking the real request records, a simulated network, simulated disks and
// crashes, all from one seed. Checkers run after every step; a failure names the seed, which
// replays the run exactly (reliability.md §2; TigerBeetle's VOPR).
import { JuteReader } from '../../src/wire/jute.js';
import {
  CreateFlag,
  OpCode,
  OPEN_ACL_UNSAFE,
  readConnectResponse,
  readStat,
  type Request,
  type RestoreSubtreeRequest,
} from '../../src/wire/protocol.js';
import { DataTree } from '../../src/tree/datatree.js';
import { encodeSnapshotNow, readSnapshot } from '../../src/storage/snapshot.js';
import type { RestoreResult } from '../../src/replica/payloads.js';
import { zookeeperSessionPassword } from '../../src/session/sessions.js';
import { Replica, encodeEntry, type DurableImage, type ReplicaReady } from '../../src/replica/replica.js';
import { ReplicaHost, type DiskDone, type HostDisk } from '../../src/replica/host.js';
import { SnapshotSchedule } from '../../src/server/snapschedule.js';
import type { PersistentState } from '../../src/consensus/zab.js';
import type { Entry, Envelope, Msg } from '../../src/consensus/messages.js';
import { Rng } from './rng.js';
import { SimNetwork } from './network.js';
import { SWARM_STEP_MS, asymmetricLinks, describeSwarm, drawSwarm, partitionGroups, shapeToLinks, type SwarmOptions } from './swarm.js';
import { SimArchive, SimArchiving, type SimMemberDisk } from './archive.js';
import { isRestoreBase } from '../../src/backup/chain.js';
import { IMPOSTOR_P, attempt, drawImpostor } from './impostor.js';
import type { LogBreak } from '../../src/storage/logbreaks.js';

export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    message: string,
    readonly trace: string[],
  ) {
    super(`seed=${seed}: ${message}`);
  }
}

const TICK_MS = 10;
const T0 = 1_700_000_000_000;

/** snapCount of the simulated members: small, so that snapshots happen often in a run */
const SIM_SNAP_COUNT = 60;

/** The disk operation a member's host started (one at a time, as on the runtime's data dir). */
interface InFlight {
  kind: 'append' | 'install' | 'truncate' | 'reload';
  doneAt: number;
  /** an append's entries (a crash keeps a prefix of them when the write is torn) */
  entries?: readonly Entry[] | undefined;
  finish: () => void;
}

interface SimDisk {
  state: PersistentState;
  snapshot: { zxid: number; data: Buffer } | null;
  log: Entry[];
  /**
   * entries a snapshot made redundant for recovery but the archive does not hold yet: purge keeps
   * them (as the runtime keeps such log segments), so a member can still archive them
   */
  old: Entry[];
  /** where a SNAP install kept `old` up to `keep` and the log resumes after `snapshot` (the runtime's break files) */
  breaks: LogBreak[];
  /**
   * the operation the member's ReplicaHost started (it orders and batches them, as on the
   * runtime's data dir); it completes at doneAt, and a crash loses it (a torn write keeps a prefix
   * of an append)
   */
  inflight: InFlight | null;
}

interface SimNode {
  id: number;
  observer: boolean;
  replica: Replica | null;
  /** the shipping host code around the replica (replica/host.ts), over this node's disk and links */
  host: ReplicaHost | null;
  /** when it snapshots: the runtime's schedule */
  snapshots: SnapshotSchedule;
  /** what its host sent in the current round (it leaves once the round's stall, if any, is known) */
  sent: Envelope[];
  disk: SimDisk;
  clockOffsetMs: number;
  nextTickAt: number;
  downUntil: number;
  lastRole: string;
  /** serving read-only clients (readOnlyMode) as of its last round */
  readOnly: boolean;
  /** its archiver, as a running member has one (a crash loses the action in flight) */
  archiving: SimArchiving | null;
  /**
   * blocked by a synchronous job until then (stallMs): it neither ticks nor hears nor finishes
   * disk work, and what it sent in that round leaves when the job ends
   */
  busyUntil: number;
  /** the restore base its history starts from, when it installed one (0: none) */
  historyBase: number;
  held: Array<{ from: number; payload: Msg }>;
  outbox: Array<{ from: number; to: number; msg: Msg }>;
}

type OpKind = 'roots' | 'createSeq' | 'setReg' | 'getReg' | 'sync' | 'syncRead' | 'createEph' | 'close' | 'restoreSubtree';

interface PendingOp {
  kind: OpKind;
  xid: number;
  at: number;
  /** syncRead: the newest /reg write acknowledged before the sync was sent */
  mustSeeZxid?: number;
  path?: string;
}

interface SimClient {
  id: number;
  sessionId: bigint;
  sessionSeq: number;
  lastZxid: number;
  server: number | null;
  connId: number;
  connecting: boolean;
  connectAt: number;
  pending: PendingOp | null;
  nextXid: number;
  opsDone: number;
  nextActionAt: number;
  rootsDone: boolean;
  ephDone: boolean;
  /** after a sync, the read that must follow it on the same connection */
  afterSync: { mustSeeZxid: number } | null;
}

export interface SimResult {
  seed: number;
  swarm: string;
  steps: number;
  committed: number;
  ackedWrites: number;
  crashes: number;
  partitions: number;
  elections: number;
  faults: Record<string, number>;
}

export interface SimRunOptions {
  /** override drawn swarm options */
  swarm?: Partial<SwarmOptions>;
  /** keep a trace of notable events (printed on failure) */
  traceMax?: number;
  /** scripted scenario hook, called every step before faults */
  script?: (c: Cluster) => void;
  /** skip random faults (scripted scenarios) */
  noRandomFaults?: boolean;
  /** scripted scenarios: see every message as it is sent; return 'drop' to lose it */
  // biome-ignore lint/suspicious/noConfusingVoidType: a script's hook returns nothing unless it drops the message
  onSend?: (c: Cluster, from: number, to: number, msg: Msg) => 'drop' | void;
  /** scripted scenarios: see every message as it is delivered */
  onDeliver?: (c: Cluster, from: number, to: number, msg: Msg) => void;
  /**
   * scripted scenarios: ms the node's host is blocked after this round, as the runtime is by a
   * synchronous job (encoding a restore's or a SNAP's image of a large tree, installing it)
   */
  stallMs?: (c: Cluster, node: number, rd: ReplicaReady) => number;
  /** the members' snapCount (default SIM_SNAP_COUNT): smaller makes leaders compact sooner, so laggards need a SNAP */
  snapCount?: number;
}

export class Cluster {
  readonly rng: Rng;
  readonly swarm: SwarmOptions;
  now = T0;
  readonly startedAt = T0;
  /** free for scripts: when their current phase began */
  phaseAt = 0;
  readonly nodes = new Map<number, SimNode>();
  readonly net: SimNetwork<Msg>;
  private readonly clients: SimClient[] = [];
  private readonly connClient = new Map<number, SimClient>();
  private nextConnId = 1;
  readonly trace: string[] = [];
  private readonly traceMax: number;
  // checker state
  private readonly leaders = new Map<number, number>();
  private readonly committed = new Map<number, Buffer>();
  private readonly committedOrder: number[] = [];
  private readonly digests = new Map<number, bigint>();
  private readonly ackedCreates = new Map<string, number>();
  private maxAckedRegZxid = 0;
  /** online restores asked in a scenario (restore()), and how they ended */
  readonly restores: Array<{ node: number; id: number; result: RestoreResult | null; lost?: true }> = [];
  private maxCommitted = 0;
  /** every client op gets a unique number, written as its data (exactly-once check) */
  private opSeq = 0;
  /** the zxid of the last online restore that completed (0: none) */
  restoredAt = 0;
  /** backups a leader is reading for a restore (the runtime's readBackupAsync) */
  private readonly backupReads: Array<{ node: number; replica: Replica; ask: ReplicaReady['restoreAsks'][number]; at: number }> = [];
  /** the zxids of restore images any member installed (counter 0: a new history starts there) */
  private readonly restoreBases = new Set<number>();
  /** the end of a run: clients start nothing new */
  private clientsPaused = false;
  /** when the liveness phase healed everything (null before) */
  private healthySince: number | null = null;
  private readonly checkedLeaders = new Set<string>();
  private ackedWrites = 0;
  readonly faults: Record<string, number> = {};
  private partitionActive = false;
  private readonly rFault: Rng;
  private readonly rClient: Rng;
  private readonly rDisk: Rng;
  private readonly rZab: Rng;
  private readonly rArchive: Rng;
  /** impostors (impostor.ts): their own stream, so adding them changed no other draw of a seed */
  private readonly rImpostor: Rng;
  private readonly slowDisk: boolean;
  /**
   * txns known committed that no member reported applying: a member applies its whole log at
   * start-up (Replica.load) before it knows what is committed, so a txn every member loaded that
   * way (or took only as a SNAP's snapshot) is committed later without an `applied` report; serving
   * members' disks and states up to their commit point tell (learnCommitted). Kept apart from
   * `committed`, for the archive's checks only.
   */
  private readonly learned = new Set<number>();
  /** per member: up to where its disk was looked at for `learned` */
  private readonly learnedTo = new Map<number, number>();
  private sortedCommitted: { size: number; zxids: number[] } = { size: -1, zxids: [] };
  /** the archive every member shares (backup.archiveDir) */
  readonly archive: SimArchive;
  steps = 0;
  /** scripted actions to run at the start of the next step (e.g. a crash right after a send) */
  readonly actions: Array<() => void> = [];

  constructor(
    readonly seed: number,
    readonly opts: SimRunOptions = {},
  ) {
    this.rng = new Rng(seed);
    this.swarm = drawSwarm(this.rng.split('swarm'), opts.swarm);
    this.net = new SimNetwork<Msg>(this.rng.split('net'), this.swarm.network);
    this.rFault = this.rng.split('faults');
    this.rClient = this.rng.split('clients');
    this.rDisk = this.rng.split('disk');
    this.rZab = this.rng.split('zab');
    this.rArchive = this.rng.split('archive');
    this.rImpostor = this.rng.split('impostor');
    const listing = this.rng.split('archive-listing');
    this.archive = new SimArchive({ committed: () => this.committedZxids(), restoreBases: this.restoreBases }, (n) => listing.int(n));
    this.slowDisk = this.rng.split('slowdisk').bool(0.3) && !opts.noRandomFaults;
    // half the seeds lose messages as TCP does: a loss breaks the connection and both ends see it
    if (this.rng.split('tcp').bool(0.5)) {
      this.net.onLoss = (from, to) => {
        this.count('connection_reset');
        this.actions.push(() => {
          this.nodes.get(from)?.replica?.peerDown(to);
          this.nodes.get(to)?.replica?.peerDown(from);
        });
      };
    }
    this.traceMax = opts.traceMax ?? 400;
    const voters = [...Array(this.swarm.nodes).keys()].map((i) => i + 1);
    const observers = [...Array(this.swarm.observers).keys()].map((i) => this.swarm.nodes + i + 1);
    for (const id of [...voters, ...observers]) {
      const node: SimNode = {
        id,
        observer: observers.includes(id),
        replica: null,
        host: null,
        snapshots: this.snapshotSchedule(),
        sent: [],
        clockOffsetMs: 0,
        nextTickAt: this.now + this.rFault.int(TICK_MS),
        downUntil: 0,
        lastRole: 'looking',
        readOnly: false,
        disk: emptyDisk(),
        archiving: null,
        busyUntil: 0,
        historyBase: 0,
        held: [],
        outbox: [],
      };
      this.nodes.set(id, node);
      this.start(node, voters, observers);
    }
    for (let i = 0; i < this.swarm.clients; i++) {
      this.clients.push({
        id: i + 1,
        sessionId: 0n,
        sessionSeq: 0,
        lastZxid: 0,
        server: null,
        connId: 0,
        connecting: false,
        connectAt: 0,
        pending: null,
        nextXid: 1,
        opsDone: 0,
        nextActionAt: this.now + 50 + this.rClient.int(200),
        rootsDone: false,
        ephDone: false,
        afterSync: null,
      });
    }
  }

  get voterIds(): number[] {
    return [...this.nodes.values()].filter((n) => !n.observer).map((n) => n.id);
  }
  get allIds(): number[] {
    return [...this.nodes.keys()];
  }

  private log(line: string): void {
    this.trace.push(`${this.now - T0}ms ${line}`);
    if (this.trace.length > this.traceMax) this.trace.shift();
  }

  fail(message: string): never {
    throw new SimFailure(this.seed, `${message}\n  swarm: ${describeSwarm(this.swarm)}`, this.trace);
  }

  // ---------- nodes ----------

  private start(node: SimNode, voters = this.voterIds, observers = this.allIds.filter((i) => this.nodes.get(i)!.observer)): void {
    const img = this.durableImage(node);
    node.replica = new Replica(
      {
        core: {
          tickTimeMs: 100,
          minSessionTimeoutMs: 200,
          maxSessionTimeoutMs: 20_000,
          serverId: node.id,
          extendedTypesEnabled: true,
          enforceQuota: false,
          superDigest: undefined,
          containerCheckIntervalMs: 1000,
          replyBytesMax: 1 << 20,
          sessionPassword: zookeeperSessionPassword,
        },
        zab: {
          id: node.id,
          voters,
          observers,
          syncLimitTicks: 20,
          initLimitTicks: 50,
          electionTicks: 10,
          logRetainEntries: 20,
          random: () => this.rZab.next(),
        },
        readOnlyMode: this.swarm.readOnlyMode,
      },
      { ...img, state: { ...node.disk.state } },
      this.nodeNow(node),
    );
    // as the runtime's load: the replayed txns count from the newest snapshot on disk
    node.snapshots = this.snapshotSchedule();
    node.snapshots.recovered(img.entries.length, img.baseZxid);
    node.host = new ReplicaHost(node.replica, {
      disk: this.hostDisk(node),
      links: { send: (m) => node.sent.push(m), flush: () => undefined },
      clock: () => this.nodeNow(node),
      schedule: () => undefined, // every node runs a round every step
      fatal: (err) => this.fail(`node ${node.id}: disk failed: ${err.message}`),
      coreChanged: () => this.checkDigest(node, 'new core'),
      servingStarted: () => {
        // as the runtime's host: the first time it serves, a member behind its newest snapshot takes one
        if (!node.snapshots.servingStarted(node.replica!.core.lastApplied) || !node.host!.canSnapshot()) return;
        this.count('snapshot_on_serving');
        this.snapshot(node);
      },
      keepCommittedLog: true, // every member archives
    });
    node.archiving = new SimArchiving();
    this.checkDigest(node, 'start-up');
  }

  private snapshotSchedule(): SnapshotSchedule {
    return new SnapshotSchedule(this.opts.snapCount ?? SIM_SNAP_COUNT, 0, () => this.rDisk.next());
  }

  private durableImage(node: SimNode): DurableImage {
    const d = node.disk;
    if (d.snapshot) {
      const s = readSnapshot(`node ${node.id} snapshot`, d.snapshot.data);
      // as recovery reads it: the log after the snapshot (one ahead of the log leaves older records)
      return { tree: s.tree, sessions: s.sessions, baseZxid: s.zxid, entries: d.log.filter((e) => e.zxid > s.zxid) };
    }
    return { tree: new DataTree(), sessions: [], baseZxid: 0, entries: d.log.slice() };
  }

  private nodeNow(node: SimNode): number {
    return this.now + node.clockOffsetMs;
  }

  crash(id: number, downMs: number): void {
    const node = this.nodes.get(id)!;
    if (!node.replica) return;
    node.replica = null;
    node.host = null;
    node.sent = [];
    node.archiving = null;
    node.downUntil = this.now + downMs;
    node.busyUntil = 0;
    node.held = [];
    node.outbox = [];
    // a restore asked of it dies with it (the AdminServer's HTTP request fails)
    for (const r of this.restores) if (r.node === id && r.result === null) r.lost = true;
    // unsynced writes are lost; a torn write keeps a prefix of the first unsynced batch
    const first = node.disk.inflight;
    if (first?.kind === 'append' && this.rDisk.bool(this.swarm.tornWriteP)) {
      const keep = this.rDisk.int(first.entries!.length + 1);
      node.disk.log.push(...first.entries!.slice(0, keep));
      if (keep > 0) this.count('torn_write');
    }
    node.disk.inflight = null;
    this.net.dropNode(id);
    // kill -9 resets its TCP connections, which the others notice at once; a power loss does not
    if (this.rFault.bool(0.8)) {
      for (const other of this.nodes.values()) if (other !== node) other.replica?.peerDown(id);
    }
    for (const c of this.clients) if (c.server === id) this.dropConnection(c, 'server crashed');
    this.count('crash');
    this.log(`crash node ${id} for ${downMs}ms`);
  }

  restart(id: number): void {
    const node = this.nodes.get(id)!;
    if (node.replica) return;
    this.start(node);
    this.count('restart');
    this.log(`restart node ${id} (disk to 0x${durableEnd(node.disk).toString(16)})`);
  }

  /** Wipes a stopped node's disk (a replaced machine): it must rejoin by SNAP. */
  wipe(id: number): void {
    const node = this.nodes.get(id)!;
    node.disk = emptyDisk();
    node.historyBase = 0;
    this.count('wipe');
  }

  count(k: string): void {
    this.faults[k] = (this.faults[k] ?? 0) + 1;
  }

  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes.values()) {
      if (n.replica?.zab.isEstablishedLeader && (!best || n.replica.zab.activeEpoch > best.replica!.zab.activeEpoch)) best = n;
    }
    return best;
  }

  // ---------- the loop ----------

  run(): SimResult {
    const faultEnd = this.now + this.swarm.faultPhaseMs;
    let nextFaultAt = this.now;
    while (this.now < faultEnd) {
      if (this.now >= nextFaultAt) {
        nextFaultAt += SWARM_STEP_MS;
        this.opts.script?.(this);
        if (!this.opts.noRandomFaults) this.randomFaults();
      }
      this.step();
    }
    return this.liveness();
  }

  /** One simulated millisecond: deliveries, fsyncs, ticks, clients, then each replica's ready. */
  step(): void {
    this.steps++;
    for (const a of this.actions.splice(0)) a();
    for (const node of this.nodes.values()) if (node.replica && node.busyUntil <= this.now) this.unblock(node);
    this.finishBackupReads();
    for (const d of this.net.takeDue(this.now)) {
      const node = this.nodes.get(d.to)!;
      if (!node.replica) continue;
      if (node.busyUntil > this.now) {
        node.held.push(d);
        continue;
      }
      this.opts.onDeliver?.(this, d.from, d.to, d.payload);
      node.replica.receive(d.from, d.payload, this.nodeNow(node));
    }
    for (const node of this.nodes.values()) {
      const r = node.replica;
      if (!r) {
        if (this.now >= node.downUntil && node.downUntil > 0 && !this.opts.noRandomFaults) this.restart(node.id);
        continue;
      }
      if (node.busyUntil > this.now) continue;
      // a completed operation may start the next (a reload completes at once)
      for (let f = node.disk.inflight; f && f.doneAt <= this.now && node.replica; f = node.disk.inflight) {
        node.disk.inflight = null;
        f.finish();
      }
      if (this.now >= node.nextTickAt) {
        node.nextTickAt += TICK_MS;
        r.tick(this.nodeNow(node));
      }
    }
    this.runClients();
    for (const node of this.nodes.values()) this.process(node);
    for (const node of this.nodes.values()) this.archiveStep(node);
    this.checkStep();
    this.now++;
  }

  /** Backups the leader reads for a restore (restoreAsks), handed back when due unless it restarted meanwhile. */
  private finishBackupReads(): void {
    for (const r of this.backupReads.filter((x) => x.at <= this.now)) {
      this.backupReads.splice(this.backupReads.indexOf(r), 1);
      const node = this.nodes.get(r.node)!;
      if (node.replica !== r.replica || node.busyUntil > this.now) {
        if (node.replica === r.replica) this.backupReads.push({ ...r, at: node.busyUntil });
        continue;
      }
      const bytes = Buffer.from(r.ask.bytes);
      let loaded: ReturnType<typeof readSnapshot>;
      try {
        loaded = readSnapshot(`backup for node ${r.node}`, bytes);
      } catch (e) {
        r.replica.restoreUnreadable(r.ask.from, r.ask.id, (e as Error).message);
        continue;
      }
      r.replica.restoreFloor = 0;
      r.replica.runRestore(r.ask.from, r.ask.id, loaded, this.nodeNow(node));
    }
  }

  /** A blocked node's job ended: what it sent leaves, then it hears what arrived meanwhile. */
  private unblock(node: SimNode): void {
    for (const m of node.outbox.splice(0)) this.net.send(m.from, m.to, m.msg, this.now, m.msg.type !== 'app');
    for (const d of node.held.splice(0)) {
      this.opts.onDeliver?.(this, d.from, node.id, d.payload);
      node.replica!.receive(d.from, d.payload, this.nodeNow(node));
    }
  }

  /** Every txn known committed, ascending (the history's order: zxids only grow along it). */
  private committedZxids(): readonly number[] {
    const size = this.committed.size + this.learned.size;
    if (this.sortedCommitted.size !== size) {
      this.sortedCommitted = { size, zxids: [...new Set([...this.committed.keys(), ...this.learned])].sort((a, b) => a - b) };
    }
    return this.sortedCommitted.zxids;
  }

  /** A serving member's durable txns up to its commit point are committed (see `learned`). */
  private learnCommitted(node: SimNode): void {
    const z = node.replica!.zab;
    if (!z.serving) return;
    const upTo = Math.min(z.commitZxid, z.persisted);
    // the state it serves is committed too: a txn it holds only as its snapshot (a SNAP) is one
    for (const zx of [node.disk.snapshot?.zxid ?? 0, node.replica!.core.lastApplied]) {
      if (zx > 0 && zx <= z.commitZxid && !isRestoreBase(zx) && !this.committed.has(zx)) this.learned.add(zx);
    }
    const from = this.learnedTo.get(node.id) ?? -1;
    if (upTo <= from) return;
    for (const es of [node.disk.log, node.disk.old]) {
      for (let i = es.length - 1; i >= 0 && es[i]!.zxid > from; i--) {
        const zx = es[i]!.zxid;
        if (zx <= upTo && !this.committed.has(zx)) this.learned.add(zx);
      }
    }
    this.learnedTo.set(node.id, upTo);
  }

  /** The member's archiver: one action at a time against the shared archive; each write checked. */
  private archiveStep(node: SimNode): void {
    const r = node.replica;
    if (!r || !node.archiving) return;
    this.learnCommitted(node);
    const z = r.zab;
    const disk = node.disk;
    const view: SimMemberDisk = {
      entries: () => [...disk.old, ...disk.log],
      snapshot: disk.snapshot?.zxid ?? null,
      breaks: disk.breaks,
      capture: () => ({ zxid: r.core.lastApplied, digest: r.core.tree.digest }),
      snapshotDigest: () => readSnapshot(`node ${node.id} snapshot`, disk.snapshot!.data).digest,
    };
    const member = {
      serving: z.serving,
      duty: z.isEstablishedLeader,
      committed: z.commitZxid,
      archivable: Math.min(z.commitZxid, z.persisted, r.core.lastApplied),
      applied: r.core.lastApplied,
      snapshots: disk.snapshot ? [disk.snapshot.zxid] : [],
    };
    const done = node.archiving.step(this.archive, this.now, this.nodeNow(node), member, view, () => 1 + this.rArchive.int(15));
    // one history: no member may find it is not the archive's (the duty member behind the
    // archive's end for long, or a txn whose checksum differs)
    const mismatch = node.archiving.archiver.mismatch();
    if (mismatch) this.fail(`archive: node ${node.id} finds its history is not the archive's: ${JSON.stringify(mismatch)}`);
    if (!done || done.kind === 'refresh' || done.kind === 'status') return;
    const problem = this.archive.problem(this.committed, this.digests);
    if (problem) this.fail(`archive: ${problem} (written by node ${node.id})`);
  }

  /**
   * The node's disk as its ReplicaHost drives it: each operation completes after a drawn delay
   * (a reload at once), as the runtime's data dir does (DataDir.installSnapshot, truncateAfter,
   * recover).
   */
  private hostDisk(node: SimNode): HostDisk {
    const start = (kind: InFlight['kind'], finish: () => void, entries?: readonly Entry[]): void => {
      if (node.disk.inflight) this.fail(`node ${node.id}: its host started a disk operation while one ran`);
      node.disk.inflight = { kind, entries, finish, doneAt: kind === 'reload' ? this.now : this.now + this.diskDelay() };
    };
    return {
      writeEpoch: (state) => {
        node.disk.state = { ...state };
      },
      append: (entries, done) =>
        start(
          'append',
          () => {
            node.disk.log.push(...entries);
            done(null);
          },
          entries,
        ),
      install: (image, keepLogUpTo, done) =>
        start('install', () => this.installSnap(node, { zxid: image.zxid, data: Buffer.from(image.data) }, keepLogUpTo, done)),
      truncate: (zxid, done) => start('truncate', () => this.truncateLog(node, zxid, done)),
      reload: (done) =>
        start('reload', () => {
          this.count('reload');
          done(null, this.durableImage(node));
          this.log(`node ${node.id} reloaded at 0x${node.replica!.core.lastApplied.toString(16)}`);
        }),
    };
  }

  private installSnap(node: SimNode, image: { zxid: number; data: Buffer }, keepLogUpTo: number, done: DiskDone): void {
    const disk = node.disk;
    // as the runtime: the log goes, but for the committed txns an archive may still need, and
    // a break records where the kept log ends (DataDir.installSnapshot)
    const keep = Math.min(keepLogUpTo, image.zxid);
    if (keep < image.zxid) disk.breaks.push({ keep, snapshot: image.zxid });
    const retain = this.retainFrom(node);
    disk.old = [...disk.old, ...disk.log].filter((e) => e.zxid <= keep && e.zxid >= retain);
    disk.snapshot = image;
    disk.log = [];
    node.snapshots.installed(image.zxid);
    this.pruneBreaks(disk);
    this.count('snap_sync');
    this.log(`node ${node.id} installed SNAP at 0x${image.zxid.toString(16)}`);
    done(null);
  }

  private truncateLog(node: SimNode, t: number, done: DiskDone): void {
    const disk = node.disk;
    if (disk.snapshot && disk.snapshot.zxid > t)
      this.fail(`node ${node.id} truncates to 0x${t.toString(16)} below its snapshot 0x${disk.snapshot.zxid.toString(16)}`);
    const before = disk.log.length;
    disk.log = disk.log.filter((e) => e.zxid <= t);
    if (disk.log.length < before) {
      this.count('trunc');
      this.log(`node ${node.id} TRUNC after 0x${t.toString(16)} (${before - disk.log.length} dropped)`);
    }
    done(null);
  }

  /** As the runtime's autopurge: the member's archiver says from which txn on its log must stay (-1: all of it). */
  private retainFrom(node: SimNode): number {
    const r = node.replica!;
    const z = r.zab;
    const logFrom = node.disk.old[0]?.zxid ?? node.disk.log[0]?.zxid ?? null;
    return node.archiving?.archiver.retainFrom({ archivable: Math.min(z.commitZxid, z.persisted, r.core.lastApplied), logFrom }) ?? -1;
  }

  /** As DataDir's purge: a break goes once no txn at or before its keep is left on the disk. */
  private pruneBreaks(disk: SimDisk): void {
    const first = disk.old[0]?.zxid ?? disk.log[0]?.zxid ?? null;
    disk.breaks = disk.breaks.filter((b) => first !== null && first <= b.keep);
  }

  private diskDelay(): number {
    const base = this.swarm.fsyncDelayMinMs + this.rDisk.int(this.swarm.fsyncDelayMaxMs - this.swarm.fsyncDelayMinMs + 1);
    // some seeds have a disk that now and then stalls for longer than an election takes
    return this.slowDisk && this.rDisk.bool(0.05) ? base + this.rDisk.int(300) : base;
  }

  private process(node: SimNode): void {
    const r = node.replica;
    if (!r || !node.host || node.busyUntil > this.now) return;
    const rd = node.host.round(this.nodeNow(node));
    if (!rd) return; // a queued reload calls back
    this.carryOut(node, rd);
    if (r.zab.role !== node.lastRole) {
      const wasRole = node.lastRole;
      node.lastRole = r.zab.role;
      this.log(`node ${node.id}: ${wasRole} -> ${r.zab.role} (epoch ${r.zab.activeEpoch}, last 0x${r.zab.lastZxid.toString(16)})`);
      if (r.zab.role === 'leading') this.count('election');
    }
    const readOnly = r.core.mode === 'readonly';
    if (readOnly !== node.readOnly) {
      node.readOnly = readOnly;
      this.log(`node ${node.id}: ${readOnly ? 'read-only mode' : 'left read-only mode'}`);
      if (readOnly) this.count('read_only');
    }
    // read-only mode is a member without a quorum: looking, deciding nothing
    if (readOnly && (r.zab.role !== 'looking' || r.core.hasTxns)) this.fail(`node ${node.id} is read-only while ${r.zab.role}`);
    for (const e of r.errors.splice(0)) this.fail(`node ${node.id} payload error: ${e}`);
    for (const e of r.core.internalErrors.splice(0)) this.fail(`node ${node.id} internal error: ${e}`);
  }

  /** A backup of a node's state now, as `ark backup create` takes it: the snapshot's bytes. */
  backupOf(id: number): Buffer {
    const r = this.nodes.get(id)!.replica!;
    return encodeSnapshotNow(r.core.tree, r.core.sessionRecords(), this.nodeNow(this.nodes.get(id)!));
  }

  /** POST /commands/restore to a node: the ensemble's state becomes the backup's, in a new epoch. */
  restore(id: number, backup: Buffer): void {
    const node = this.nodes.get(id)!;
    const n = node.replica!.restore(backup);
    this.restores.push({ node: id, id: n, result: null });
    this.log(`node ${id}: restore ${n} asked`);
  }

  /**
   * A restore ended. Done: the writes acknowledged before it were rolled back on purpose, so the
   * checkers' memory of them goes; what is acknowledged from now on must survive as before.
   */
  private restoreEnded(node: SimNode, x: { id: number; result: RestoreResult }): void {
    const asked = this.restores.find((r) => r.node === node.id && r.id === x.id);
    if (!asked) this.fail(`node ${node.id} reported restore ${x.id}, which nobody asked of it`);
    asked.result = x.result;
    this.count(x.result.ok ? 'restore_ok' : 'restore_failed');
    this.log(`node ${node.id}: restore ${x.id} ${x.result.ok ? `done at 0x${x.result.zxid.toString(16)}` : `failed: ${x.result.error}`}`);
    if (x.result.ok) this.restoreTookEffect(x.result.zxid);
  }

  /**
   * A restore's history (from `base`) became the ensemble's: the writes acknowledged before it were
   * rolled back on purpose, so the checkers forget them; what is acknowledged from now on must
   * survive as before. Known when it is reported done, or when an established leader's history
   * starts at its base (a restore reported in doubt that took effect after all).
   */
  private restoreTookEffect(base: number): void {
    if (base <= this.restoredAt) return;
    for (const [path, z] of this.ackedCreates) if (z < base) this.ackedCreates.delete(path);
    if (this.maxAckedRegZxid < base) this.maxAckedRegZxid = 0;
    this.restoredAt = base;
  }

  /** The simulator's part of a round, after the host carried out the disk and peer parts. */
  private carryOut(node: SimNode, rd: ReplicaReady): void {
    // the runtime reads a backup to restore off the event loop: it comes back a little later
    for (const a of rd.restoreAsks)
      this.backupReads.push({ node: node.id, replica: node.replica!, ask: a, at: this.now + this.diskDelay() });
    const stall = this.opts.stallMs?.(this, node.id, rd) ?? 0;
    if (stall > 0) {
      node.busyUntil = this.now + stall;
      this.log(`node ${node.id} blocked for ${stall} ms`);
    }
    for (const x of rd.restores) this.restoreEnded(node, x);
    if (rd.snapshot) {
      // a restore's image (its own, or the SNAP bringing it): the first txn of its epoch starts a new history
      const restoreBase = isRestoreBase(rd.snapshot.zxid);
      if (restoreBase) this.restoreBases.add(rd.snapshot.zxid);
      // its history now starts at this snapshot: a restore's base, or the leader's state
      node.historyBase = restoreBase ? rd.snapshot.zxid : 0;
      this.checkDigest(node, 'SNAP install');
    }
    for (const m of node.sent.splice(0)) {
      if (this.opts.onSend?.(this, m.from, m.to, m.msg) === 'drop') continue;
      // a forwarded client request is not idempotent (a second create of a sequential node makes
      // a second node); TCP never delivers one twice, so neither does the simulated network. Every
      // consensus message must survive duplication, and does.
      if (node.busyUntil > this.now) node.outbox.push(m);
      else this.net.send(m.from, m.to, m.msg, this.now, m.msg.type !== 'app');
    }
    this.checkApplied(node, rd);
    for (const o of rd.outputs) this.toClient(node, o);
    if (node.snapshots.applied(rd.applied.length) && node.host!.canSnapshot()) this.snapshot(node);
  }

  /**
   * A snapshot of the applied tree, as the runtime's SnapshotRunner takes it when its schedule says
   * so and the host allows (written at once here: the runtime's install and TRUNC wait for its
   * file). It may run ahead of the log's durable end (a member applies what a quorum holds before
   * its own fsync ends); recovery then reads the snapshot and the log after it.
   */
  private snapshot(node: SimNode): void {
    node.snapshots.started();
    const r = node.replica!;
    const disk = node.disk;
    const tree = r.core.tree;
    const zxid = tree.lastProcessedZxid;
    if (zxid <= (disk.snapshot?.zxid ?? 0)) return;
    if (zxid > durableEnd(disk)) this.count('snapshot_ahead_of_log');
    disk.snapshot = { zxid, data: encodeSnapshotNow(tree, r.core.sessionRecords(), this.nodeNow(node)) };
    node.snapshots.written(zxid);
    // purge keeps what the archive does not hold yet, and the txn a new link would continue
    const archived = this.retainFrom(node);
    disk.old = [...disk.old, ...disk.log.filter((e) => e.zxid <= zxid)].filter((e) => e.zxid >= archived);
    disk.log = disk.log.filter((e) => e.zxid > zxid);
    this.pruneBreaks(disk);
    node.host!.snapshotWritten(zxid);
  }

  // ---------- faults ----------

  private randomFaults(): void {
    const s = this.swarm;
    const rf = this.rFault;
    if (rf.bool(s.crashP)) {
      const up = [...this.nodes.values()].filter((n) => n.replica);
      if (up.length > 0) {
        const victim = rf.pick(up);
        const wipe = rf.bool(0.1) && this.wipeIsRepairable(victim);
        this.crash(victim.id, 1 + Math.round(rf.exp(800)));
        if (wipe) this.wipeOnRestart(victim.id);
      }
    }
    if (!this.partitionActive && rf.bool(s.partitionP) && s.partitionModes.length > 0) {
      const mode = rf.pick(s.partitionModes);
      const leader = this.leader();
      const shape = partitionGroups(mode, this.allIds, leader?.id ?? null, rf);
      let links = shapeToLinks(shape, this.allIds);
      if (rf.bool(s.asymmetricP)) links = asymmetricLinks(links, rf);
      this.net.blockLinks(links);
      this.partitionActive = true;
      this.count(`partition_${mode}`);
      this.log(`partition ${mode}: ${this.net.describe()}`);
    } else if (this.partitionActive && rf.bool(s.partitionHealP)) {
      this.net.heal();
      this.partitionActive = false;
      this.log('heal');
    }
    if (this.rImpostor.bool(IMPOSTOR_P)) this.impostorTries();
    if (s.clockStepMs > 0 && rf.bool(0.002)) {
      const n = rf.pick([...this.nodes.values()]);
      n.clockOffsetMs += rf.bool(0.5) ? s.clockStepMs : -s.clockStepMs;
      this.count('clock_step');
    }
  }

  /**
   * A process with a wrong credential tries to join (impostor.ts): at a crashed member's address if
   * there is one (it took that machine's place), else claiming a random member's id. Every live
   * member runs the runtime's quorum auth (src/net/peerauth.ts) on its connection from the
   * impostor and on its own connection to it; admitting it either way fails the seed.
   */
  private impostorTries(): void {
    const down = [...this.nodes.values()].filter((n) => !n.replica);
    const claims = (down.length > 0 ? this.rImpostor.pick(down) : this.rImpostor.pick([...this.nodes.values()])).id;
    const imp = drawImpostor(this.rImpostor, claims);
    this.count('impostor_attempt');
    this.count(`impostor_${imp.kind}`);
    for (const n of this.nodes.values()) {
      if (!n.replica || n.id === claims) continue;
      const r = attempt(imp, this.rImpostor);
      if (r.inbound.kind === 'admit')
        this.fail(`impostor (${imp.kind}) claiming server ${claims} admitted by node ${n.id}: its votes and acks would count`);
      // a member's connections carry data one way, from it: admitted, the impostor would get its proposals, commits and SNAPs
      if (r.outbound.kind === 'admit')
        this.fail(`node ${n.id} admitted its connection to an impostor (${imp.kind}) at server ${claims}'s address`);
      this.count('impostor_refused');
    }
    this.log(`impostor (${imp.kind}) claiming server ${claims} refused`);
  }

  /**
   * Losing a disk is repairable only while every other voter is up, holds every committed txn on
   * disk and remembers every epoch the victim promised or took (TigerBeetle's fault atlas: inject
   * only damage the cluster can repair; a wiped voter that had the only other copy of a txn, or of
   * an epoch's promise, would lose it, in ZooKeeper too).
   */
  private wipeIsRepairable(victim: SimNode): boolean {
    if (victim.observer) return true;
    const lost = victim.disk.state;
    for (const n of this.nodes.values()) {
      if (n === victim || n.observer) continue;
      const end = durableEnd(n.disk);
      if (!n.replica || end < this.maxCommitted) return false;
      // the victim's promises must outlive it too: a voter that forgot it promised (or took) an
      // epoch can form a quorum with one that never knew of it, for a lower epoch whose history a
      // member of the forgotten epoch later outranks (Zab's quorum intersection needs memory)
      if (n.disk.state.acceptedEpoch < lost.acceptedEpoch || n.disk.state.currentEpoch < lost.currentEpoch) return false;
    }
    return true;
  }

  private wipeOnRestart(id: number): void {
    this.wipe(id);
    this.log(`node ${id} disk wiped`);
  }

  // ---------- liveness ----------

  private liveness(): SimResult {
    this.net.heal();
    this.partitionActive = false;
    // a healed network is what the runtime's TCP links give: no loss, no duplicates, and FIFO per
    // link. Zab assumes FIFO channels (as ZooKeeper on TCP): a learner that sees a proposal
    // arrive ahead of an earlier one takes it for a lost one and resyncs, so with reordering
    // left on, steady writes could keep a learner resyncing for ever (seed 3335). The fault phase
    // keeps reordering, for safety.
    this.net.setOptions({ lossP: 0, duplicateP: 0, reorder: false });
    for (const n of this.nodes.values()) if (!n.replica) this.restart(n.id);
    this.log('liveness phase: healed, all up');
    this.healthySince = this.now;
    const end = this.now + this.swarm.livenessPhaseMs;
    const probe = this.clients[0]!;
    probe.opsDone = 0;
    const ackedBefore = this.ackedWrites;
    while (this.now < end) {
      this.step();
      const leader = this.leader();
      if (
        leader &&
        [...this.nodes.values()].every((n) => n.replica?.zab.serving && n.replica.core.lastApplied === leader.replica!.core.lastApplied) &&
        this.ackedWrites > ackedBefore &&
        this.clients.every((c) => c.pending === null)
      ) {
        // quiet: no client waits; everyone applied the same
        break;
      }
    }
    const leader = this.leader();
    if (!leader) this.fail('liveness: no established leader after healing');
    if (this.ackedWrites <= ackedBefore) {
      const p = this.clients[0]!;
      this.fail(
        `liveness: no write acknowledged after healing (probe client: server ${p.server} connecting=${p.connecting} pending=${p.pending?.kind} xid=${p.pending?.xid} since ${p.pending ? this.now - p.pending.at : 0}ms, next action in ${p.nextActionAt - this.now}ms, ops ${p.opsDone})`,
      );
    }
    // let the last commits reach everyone
    for (let i = 0; i < 2000; i++) {
      const l = this.leader();
      if (l && [...this.nodes.values()].every((n) => n.replica?.zab.serving && n.replica.core.lastApplied === l.replica!.core.lastApplied))
        break;
      this.step();
    }
    this.finalChecks();
    this.archiveComplete();
    return {
      seed: this.seed,
      swarm: describeSwarm(this.swarm),
      steps: this.steps,
      committed: this.committedOrder.length,
      ackedWrites: this.ackedWrites,
      crashes: this.faults.crash ?? 0,
      partitions: Object.entries(this.faults)
        .filter(([k]) => k.startsWith('partition_'))
        .reduce((a, [, v]) => a + v, 0),
      elections: this.faults.election ?? 0,
      faults: { ...this.faults },
    };
  }

  /**
   * With every member up and the network whole, the archive must come to hold every committed txn
   * after its first base, once: the leader archives within the interval, and a member that held
   * txns no one else had fills the hole they left.
   */
  private archiveComplete(): void {
    this.clientsPaused = true; // no new txns: the archive must catch up with a fixed history
    const deadline = this.now + 5000;
    const disks = (): Entry[][] => [...this.nodes.values()].map((n) => [...n.disk.old, ...n.disk.log]);
    let lacking = this.archive.incomplete(this.committedOrder, disks());
    while (lacking !== null && this.now < deadline) {
      this.step();
      lacking = this.archive.incomplete(this.committedOrder, disks());
    }
    if (lacking !== null) this.fail(`archive: ${lacking}`);
    for (const [k, v] of Object.entries(this.archive.counts)) this.faults[`archive_${k}`] = v;
  }

  private finalChecks(): void {
    const leader = this.leader()!;
    const want = leader.replica!.core.lastApplied;
    const digest = leader.replica!.core.tree.digest;
    for (const n of this.nodes.values()) {
      const r = n.replica!;
      if (!r.zab.serving) this.fail(`liveness: node ${n.id} is not serving (${r.zab.role}/${r.zab.status})`);
      if (r.core.lastApplied !== want) {
        this.fail(
          `liveness: node ${n.id} applied 0x${r.core.lastApplied.toString(16)}, leader 0x${want.toString(16)} (${r.zab.role}/${r.zab.status} last 0x${r.zab.lastZxid.toString(16)} commit 0x${r.zab.commitZxid.toString(16)} persisted 0x${r.zab.persisted.toString(16)} disk busy ${n.disk.inflight?.kind ?? 'no'})`,
        );
      }
      if (r.core.tree.digest !== digest) this.fail(`node ${n.id} digest differs from the leader's at 0x${want.toString(16)}`);
      for (const [path, zxid] of this.ackedCreates) {
        if (!r.core.tree.get(path)) this.fail(`acknowledged create ${path} (zxid 0x${zxid.toString(16)}) missing on node ${n.id}`);
      }
    }
    // exactly once: every sequential create carries its client's unique op number as data
    const tree = leader.replica!.core.tree;
    const seen = new Set<string>();
    for (const name of tree.get('/w')?.children ?? []) {
      const data = tree.get(`/w/${name}`)?.data?.toString() ?? '';
      if (seen.has(data)) this.fail(`a create was applied twice: two children of /w carry ${data}`);
      seen.add(data);
    }
    // a restore asked of a server that stayed up is answered: done, failed, or of unknown outcome
    for (const r of this.restores)
      if (r.result === null && !r.lost) this.fail(`restore ${r.id} asked of node ${r.node} was never answered`);
    const last = this.committedOrder.at(-1) ?? 0;
    if (want < last) this.fail(`committed txn 0x${last.toString(16)} vanished: the ensemble is at 0x${want.toString(16)}`);
  }

  // ---------- checkers ----------

  private checkStep(): void {
    for (const n of this.nodes.values()) {
      const r = n.replica;
      if (!r) continue;
      if (r.zab.role === 'leading') {
        const e = r.zab.activeEpoch;
        const prev = this.leaders.get(e);
        if (prev !== undefined && prev !== n.id) this.fail(`two leaders in epoch ${e}: ${prev} and ${n.id}`);
        this.leaders.set(e, n.id);
        const key = `${e}/${n.id}`;
        if (r.zab.isEstablishedLeader && !this.checkedLeaders.has(key)) {
          this.checkedLeaders.add(key);
          this.checkLeaderComplete(n);
          if (n.historyBase > 0) this.restoreTookEffect(n.historyBase);
        }
      }
      if (r.zab.currentEpoch > r.zab.acceptedEpoch) this.fail(`node ${n.id}: currentEpoch above acceptedEpoch`);
      for (const owner of r.core.tree.ephemerals.keys()) {
        if (!r.core.sessions.get(owner))
          this.fail(`node ${n.id}: ephemeral of session 0x${BigInt.asUintN(64, owner).toString(16)} that it does not know`);
      }
    }
  }

  private checkApplied(node: SimNode, rd: ReplicaReady): void {
    if (rd.applied.length === 0) return;
    for (const a of rd.applied) {
      const z = a.hdr.zxid;
      const bytes = encodeEntry(a.hdr, a.txn);
      const known = this.committed.get(z);
      if (known) {
        if (!known.equals(bytes)) this.fail(`node ${node.id} applied a different txn at 0x${z.toString(16)}`);
      } else {
        this.committed.set(z, bytes);
        this.committedOrder.push(z);
        if (z > this.maxCommitted) this.maxCommitted = z;
      }
    }
    this.checkDigest(node, 'apply');
  }

  /** Leader completeness: an established leader holds every txn committed before it. */
  private checkLeaderComplete(node: SimNode): void {
    const z = node.replica!.zab;
    if (z.lastZxid < this.maxCommitted)
      this.fail(
        `leader ${node.id} of epoch ${z.activeEpoch} ends at 0x${z.lastZxid.toString(16)}, but 0x${this.maxCommitted.toString(16)} was committed`,
      );
    const tree = node.replica!.core.tree;
    for (const c of this.committedOrder) {
      if (c > tree.lastProcessedZxid && !z.hasZxid(c))
        this.fail(`leader ${node.id} of epoch ${z.activeEpoch} lacks committed txn 0x${c.toString(16)}`);
    }
  }

  private checkDigest(node: SimNode, when: string): void {
    const tree = node.replica?.core.tree;
    if (!tree) return;
    const z = tree.lastProcessedZxid;
    const d = this.digests.get(z);
    if (d === undefined) {
      if (this.committed.has(z)) this.digests.set(z, tree.digest);
      return;
    }
    if (d !== tree.digest) this.fail(`node ${node.id} digest at 0x${z.toString(16)} differs from another replica's (${when})`);
  }

  // ---------- clients ----------

  private runClients(): void {
    for (const c of this.clients) {
      // a request or connect unanswered for long: the client gives up on the connection (ConnectionLoss)
      const since = c.pending?.at ?? (c.connecting ? c.connectAt : undefined);
      if (since !== undefined && this.now - since > 4000) {
        // once the network is healthy and everyone is up, nothing may hang: a request sent then
        // is answered, or its connection closes (ZooKeeper clients have no per-request timeout)
        if (this.healthySince !== null && since >= this.healthySince + 1000) {
          this.fail(
            `client ${c.id}: ${c.pending ? `request ${c.pending.kind} (xid ${c.pending.xid})` : 'connect'} to node ${c.server} sent ${this.now - since} ms ago after the network healed is still unanswered`,
          );
        }
        this.count('client_timeout');
        this.dropConnection(c, 'request timed out');
        continue;
      }
      if (this.now < c.nextActionAt) continue;
      if (c.server === null) {
        this.connect(c);
        continue;
      }
      if (c.connecting || c.pending) continue;
      this.nextOp(c);
    }
  }

  private connect(c: SimClient): void {
    const up = [...this.nodes.values()].filter((n) => n.replica);
    if (up.length === 0) {
      c.nextActionAt = this.now + 50;
      return;
    }
    const node = this.rClient.pick(up);
    c.server = node.id;
    c.connId = this.nextConnId++;
    c.connecting = true;
    c.connectAt = this.now;
    if (c === this.clients[0])
      this.log(`client ${c.id} connects to node ${node.id} (session 0x${BigInt.asUintN(64, c.sessionId).toString(16)})`);
    this.connClient.set(c.connId, c);
    const core = node.replica!.core;
    core.openConnection(c.connId, `10.0.0.${c.id}`, 40000 + c.id, this.nodeNow(node));
    core.connect(
      c.connId,
      {
        protocolVersion: 0,
        lastZxidSeen: c.lastZxid,
        timeOut: 3000,
        sessionId: c.sessionId,
        passwd: c.sessionId === 0n ? Buffer.alloc(16) : zookeeperSessionPassword(c.sessionId),
        readOnly: false,
      },
      this.nodeNow(node),
    );
  }

  private dropConnection(c: SimClient, why: string): void {
    if (c.server !== null) {
      const node = this.nodes.get(c.server);
      node?.replica?.core.connectionClosed(c.connId);
    }
    this.connClient.delete(c.connId);
    c.server = null;
    c.connecting = false;
    c.pending = null;
    c.afterSync = null;
    c.nextActionAt = this.now + 10 + this.rClient.int(200);
    if (c === this.clients[0]) this.log(`client ${c.id} dropped: ${why}`);
  }

  private nextOp(c: SimClient): void {
    if (this.clientsPaused) return;
    if (c.opsDone >= this.swarm.opsPerClient && c !== this.clients[0]) return;
    const rc = this.rClient;
    let kind: OpKind;
    if (!c.rootsDone) kind = 'roots';
    else if (c.afterSync) kind = 'getReg';
    else if (!c.ephDone) kind = 'createEph';
    else {
      const x = rc.next();
      kind = x < 0.3 ? 'createSeq' : x < 0.55 ? 'setReg' : x < 0.75 ? 'getReg' : x < 0.97 ? 'sync' : 'close';
    }
    const xid = c.nextXid++;
    let req: Request;
    const op: PendingOp = { kind, xid, at: this.now };
    const data = Buffer.from(`${c.id}:${this.opSeq++}`);
    switch (kind) {
      case 'roots': {
        const which = ['/w', '/e', '/reg'][rc.int(3)]!;
        op.path = which;
        req = { type: OpCode.create, req: { path: which, data: null, acl: OPEN_ACL_UNSAFE, flags: CreateFlag.PERSISTENT, ttl: -1 } };
        break;
      }
      case 'createSeq':
        req = {
          type: OpCode.create,
          req: { path: `/w/c${c.id}-`, data, acl: OPEN_ACL_UNSAFE, flags: CreateFlag.PERSISTENT_SEQUENTIAL, ttl: -1 },
        };
        break;
      case 'setReg':
        req = { type: OpCode.setData, req: { path: '/reg', data, version: -1 } };
        break;
      case 'getReg':
        if (c.afterSync) {
          op.kind = 'syncRead';
          op.mustSeeZxid = c.afterSync.mustSeeZxid;
          c.afterSync = null;
        }
        req = { type: OpCode.getData, req: { path: '/reg', watch: false } };
        break;
      case 'sync':
        op.mustSeeZxid = this.maxAckedRegZxid;
        req = { type: OpCode.sync, req: { path: '/reg' } };
        break;
      case 'createEph':
        op.path = `/e/c${c.id}-s${c.sessionSeq}`;
        req = { type: OpCode.create, req: { path: op.path, data, acl: OPEN_ACL_UNSAFE, flags: CreateFlag.EPHEMERAL, ttl: -1 } };
        break;
      default:
        req = { type: OpCode.closeSession, req: null };
    }
    c.pending = op;
    c.opsDone++;
    const node = this.nodes.get(c.server!)!;
    node.replica!.core.request(c.connId, xid, req, this.nodeNow(node));
  }

  private toClient(node: SimNode, o: { kind: 'send'; conn: number; data: Buffer } | { kind: 'close'; conn: number; reason: string }): void {
    const c = this.connClient.get(o.conn);
    if (!c || c.server !== node.id) return;
    if (o.kind === 'close') {
      if (o.reason === 'session expired') this.newSession(c);
      this.dropConnection(c, o.reason);
      return;
    }
    const r = new JuteReader(o.data, 4);
    if (c.connecting) {
      const resp = readConnectResponse(r);
      c.connecting = false;
      if (resp.timeOut <= 0) {
        this.newSession(c);
        this.dropConnection(c, 'session expired');
        return;
      }
      if (c.sessionId === 0n) {
        c.sessionId = resp.sessionId;
        c.ephDone = false;
      } else if (resp.sessionId !== c.sessionId) {
        this.fail(`client ${c.id} reconnected to session 0x${c.sessionId.toString(16)} but got 0x${resp.sessionId.toString(16)}`);
      }
      c.nextActionAt = this.now + this.rClient.int(20);
      return;
    }
    const xid = r.int();
    const zxid = r.long();
    const err = r.int();
    if (xid < 0) return; // notification or ping
    const op = c.pending;
    if (!op || op.xid !== xid) this.fail(`client ${c.id} got a reply for xid ${xid}, waiting for ${op?.xid}`);
    c.pending = null;
    c.nextActionAt = this.now + this.rClient.int(30);
    if (zxid >= 0) {
      if (zxid < c.lastZxid)
        this.fail(
          `client ${c.id} (session 0x${c.sessionId.toString(16)}) saw zxid go back: 0x${zxid.toString(16)} after 0x${c.lastZxid.toString(16)} (op ${op.kind} on node ${node.id})`,
        );
      c.lastZxid = zxid;
    }
    this.onReply(c, op, err, zxid, r);
  }

  /**
   * Scripted scenarios: a connected, idle client sends Ark's restoreSubtree (as `ark restore
   * --online --path` makes its server do). False when no client can send it this step.
   */
  clientRestoreSubtree(req: RestoreSubtreeRequest): boolean {
    const c = this.clients.find((x) => x.server !== null && !x.connecting && x.pending === null && x.sessionId !== 0n);
    if (!c) return false;
    const xid = c.nextXid++;
    c.pending = { kind: 'restoreSubtree', xid, at: this.now };
    const node = this.nodes.get(c.server!)!;
    node.replica!.core.request(c.connId, xid, { type: OpCode.restoreSubtree, req }, this.nodeNow(node));
    this.count('subtree_restore_sent');
    return true;
  }

  private newSession(c: SimClient): void {
    c.sessionId = 0n;
    c.sessionSeq++;
    c.lastZxid = 0;
    c.ephDone = false;
  }

  private onReply(c: SimClient, op: PendingOp, err: number, zxid: number, r: JuteReader): void {
    switch (op.kind) {
      case 'roots':
        if (err === 0 || err === -110) c.rootsDone = c.rootsDone || this.rClient.bool(0.5) || err === -110;
        if (err === 0) this.ackedCreates.set(op.path!, zxid);
        return;
      case 'createSeq':
        if (err === 0) {
          this.ackedCreates.set(r.string(), zxid);
          this.ackedWrites++;
        } else if (err === -101) c.rootsDone = false;
        return;
      case 'setReg':
        if (err === 0) {
          const stat = readStat(r);
          if (stat.mzxid > this.maxAckedRegZxid) this.maxAckedRegZxid = stat.mzxid;
          this.ackedWrites++;
        } else if (err === -101) c.rootsDone = false;
        return;
      case 'sync':
        if (err === 0) c.afterSync = { mustSeeZxid: op.mustSeeZxid! };
        return;
      case 'syncRead':
      case 'getReg':
        if (err === 0) {
          r.bufferOrNull();
          const stat = readStat(r);
          // a restore that took effect after the write (its base between the write and the state
          // read) rolled the write back on purpose, whether or not its asker has heard yet
          const rolledBack = [...this.restoreBases].some((b) => b > op.mustSeeZxid! && b <= zxid);
          if (op.kind === 'syncRead' && stat.mzxid < op.mustSeeZxid! && !rolledBack) {
            this.fail(
              `client ${c.id}: read after sync saw /reg at 0x${stat.mzxid.toString(16)}, but 0x${op.mustSeeZxid!.toString(16)} was acknowledged before the sync began`,
            );
          }
        }
        return;
      case 'createEph':
        if (err === 0 || err === -110) c.ephDone = true;
        if (err === -101) c.rootsDone = false;
        return;
      case 'close':
        if (err === 0) this.newSession(c);
        return;
      case 'restoreSubtree':
        if (err === 0) this.count('subtree_restored');
        return;
    }
  }
}

export function runSeed(seed: number, opts: SimRunOptions = {}): SimResult {
  return new Cluster(seed, opts).run();
}

function emptyDisk(): SimDisk {
  return { state: { acceptedEpoch: 0, currentEpoch: 0, votedFor: 0 }, snapshot: null, log: [], old: [], breaks: [], inflight: null };
}

/** The last txn the disk holds, in its log or its snapshot (which may run ahead of the log). */
function durableEnd(disk: SimDisk): number {
  return Math.max(disk.log.at(-1)?.zxid ?? 0, disk.snapshot?.zxid ?? 0);
}
