// Zab, as a pure state machine: step(from, msg) / tick() in, ready() out, persisted() back.
//
// Phases (Junqueira, Reed, Serafini, "Zab: High-performance broadcast for primary-backup
// systems", 2011; ZooKeeper's Leader / Learner / LearnerHandler):
//   0 election   pre-vote, then a vote that is also Zab's discovery: granting a vote for epoch e
//                persists acceptedEpoch = e first, so no voter accepts two leaders for one epoch.
//                Only a voter whose (currentEpoch, lastZxid) is at least the candidate's grants,
//                so the elected leader holds every committed txn (FastLeaderElection compares the
//                same pair, then the id).
//   1/2 sync     the leader brings each learner to its history with DIFF, TRUNC or SNAP; the
//                learner persists the txns, THEN currentEpoch, THEN acknowledges (the order whose
//                violations are ZOOKEEPER-3911, 4643, 4646). A quorum of acknowledgements
//                establishes the epoch and commits the leader's whole history.
//   3 broadcast  propose -> ack from a quorum that has it on disk -> commit.
// Heartbeats both ways: a leader that does not hear a quorum for syncLimit ticks steps down; a
// learner that does not hear its leader goes looking.
//
// The host carries out ready() in order: persist `state`; install `snapshot`; truncate; append
// `entries` (asynchronously, then persisted()); send `messages`; apply `committed`.
import { assert } from '../util/errors.js';
import { epochOf, makeZxid, counterOf, type Entry, type Envelope, type Msg, type SnapshotImage } from './messages.js';
import { Majority } from './quorum.js';

/** An entry from the network owns its bytes (a view would keep a whole SNAP frame alive). */
function ownEntry(e: Entry): Entry {
  return { zxid: e.zxid, data: e.data.slice() };
}

const SEQ_SPAN = 0x1_0000_0000;
const INCARNATIONS = 0x10_0000;
/**
 * Ticks a learner waits before sending its NEWLEADER acknowledgement again while the leader has
 * not answered with UPTODATE: the ack may have been lost (a reconnect), and the leader ignores
 * a repeat.
 */
const ACK_NEWLEADER_RESEND_TICKS = 5;
/** Ticks before a learner asks its leader again for a quorum barrier (sync) not answered yet. */
const BARRIER_RESEND_TICKS = 10;

export interface PersistentState {
  /** the highest epoch this server promised to follow (Zab's acceptedEpoch, f.p) */
  acceptedEpoch: number;
  /** the epoch of the last leader whose history this server took in full (Zab's currentEpoch, f.a) */
  currentEpoch: number;
  /** whom this server voted for in acceptedEpoch (0: nobody) */
  votedFor: number;
}

export interface ZabOptions {
  id: number;
  voters: readonly number[];
  observers: readonly number[];
  /** a learner goes looking, a leader steps down, after this many ticks without contact */
  syncLimitTicks: number;
  /** a new leader must be established (or a learner synced) within this many ticks */
  initLimitTicks: number;
  /** base election timeout; each wait is drawn from [base, 2 * base) */
  electionTicks: number;
  /** entries kept in memory beyond the last snapshot, so DIFF can serve learners slightly behind */
  logRetainEntries: number;
  /** injected randomness in [0, 1) (a seeded generator in the simulator) */
  random: () => number;
  /** the host's applied state, for SNAP sync; its zxid is the last entry the host applied */
  snapshot: () => SnapshotImage;
}

export interface Restored {
  state: PersistentState;
  /** zxid of the snapshot the log continues from (0: none) */
  baseZxid: number;
  /** the durable log after baseZxid, in zxid order; the host has applied all of it */
  entries: Entry[];
}

export type Role = 'looking' | 'leading' | 'following' | 'observing';

export interface Ready {
  /** write and fsync before sending `messages` */
  state: PersistentState | null;
  /** replace the durable state with this image and drop the whole log (SNAP) */
  snapshot: SnapshotImage | null;
  /** drop durable log entries after this zxid */
  truncateAfter: number | null;
  /** the host's applied state went past a truncation point: rebuild it from disk (snapshot + log) */
  reload: boolean;
  /** append to the log; call persisted(generation, last zxid) once they are on disk */
  entries: Entry[];
  generation: number;
  messages: Envelope[];
  /** committed and on local disk: apply in order */
  committed: Entry[];
  /** application payloads received from the leader / learners of the current epoch */
  app: Array<{ from: number; data: Uint8Array }>;
  /** quorum barriers that completed: ids given to barrier(), with the zxid to apply before answering */
  barriers: Array<{ id: number; zxid: number }>;
  /** barriers that can no longer complete (leadership lost) */
  barriersFailed: number[];
  /** online restores this server ran as leader (restore()): established in their epoch, or not */
  restores: RestoreOutcome[];
}

/** How a restore() ended: its state is the ensemble's (the new epoch established with it), or why not. */
export type RestoreOutcome = { ok: true; zxid: number } | { ok: false; error: string };

interface LearnerState {
  /** 'unknown': no follower_info yet; 'syncing': sync sent; 'synced': ack_newleader received */
  status: 'unknown' | 'syncing' | 'synced';
  observer: boolean;
  ackedZxid: number;
  lastHeardTick: number;
  lastPongRound: number;
  /** the learner's last follower_info seq, echoed in the sync that answers it */
  seq: number;
  /** when its current sync was sent */
  syncSentTick: number;
  /** false from the host's peerDown until the learner is heard again: it cannot count for the quorum meanwhile */
  connected: boolean;
}

interface PendingBarrier {
  from: number; // 0: the leader's own
  id: number;
  zxid: number;
  round: number;
}

type Status = 'discovering' | 'syncing' | 'broadcast';

export class Zab {
  role: Role = 'looking';
  private state: PersistentState;
  private stateDirty = false;
  /** in-memory log after logBase; entries[i].zxid strictly increasing */
  private log: Entry[];
  private logBase: number;
  /**
   * zxid of the host's newest durable snapshot: state up to here cannot be cut back by TRUNC
   * (it may hold txns applied at start-up that were never committed: ZOOKEEPER-1549's dirty
   * snapshot), so a sync that would cut below it asks for SNAP instead.
   */
  private snapshotFloor: number;
  private generation = 0;
  private persistedZxid: number;
  commitZxid: number;
  /** last zxid handed to the host to apply (or applied by it at start-up) */
  private releasedZxid: number;
  private tickCount = 0;
  private out: Envelope[] = [];
  private newEntries: Entry[] = [];
  private pendingSnapshot: SnapshotImage | null = null;
  private pendingTruncate: number | null = null;
  private pendingReload = false;
  /**
   * a SNAP install or TRUNC of this generation is not on disk yet: nothing is acknowledged until
   * the host reports it durable (persistedUpTo with the new generation)
   */
  private awaitingDurable = false;
  /** the host is rebuilding its state from disk after a TRUNC: commits wait for reloaded() */
  private reloadOutstanding = false;
  private appIn: Array<{ from: number; data: Uint8Array }> = [];
  private barriersDone: Array<{ id: number; zxid: number }> = [];
  private barriersFailed: number[] = [];

  // looking
  private electionDeadline = 0;
  private prevotes = new Set<number>();
  private votes = new Set<number>();
  private candidateEpoch = 0;
  private inElection: 'prevote' | 'vote' | null = null;
  private highestSeenEpoch = 0;
  /**
   * This voter promised its own leader's restore campaign (Zab.restore) and waits for it to lead:
   * an elected restorer installs the backup durably before its leader_hello, which at a million
   * znodes takes seconds, not an election timeout. Like a ZooKeeper follower that gives a new
   * leader initLimit to sync it, the voter neither campaigns nor helps a rival until `untilTick`,
   * unless its connection to the restorer drops (the restorer is gone: elect at once).
   */
  private awaitingRestorer: { id: number; untilTick: number } | null = null;

  // learner
  leaderId = 0;
  private epoch = 0;
  status: Status = 'discovering';
  private lastLeaderTick = -1_000_000;
  private syncEndZxid = 0;
  private newLeaderAcked = false;
  private lastInfoTick = -1_000_000;
  /**
   * follower_info sequence: an incarnation (random, high bits) and a counter, so the leader can tell
   * a duplicate or reordered old report (ignored) from a restarted learner's first one (accepted)
   */
  private infoSeq: number;
  private lastAckNewLeaderTick = 0;
  /** the first follower_info seq of the current discovering phase */
  private discoverSeq = 0;
  private newPhase = true;
  /** barriers sent to the leader and not yet answered, with the tick they were (re)sent */
  private barriersOut = new Map<number, number>();
  private readonly barrierBase: number;

  // leader
  private learners = new Map<number, LearnerState>();
  private established = false;
  private establishZxid = 0;
  private leaderStartTick = 0;
  private pingRound = 0;
  private barriers: PendingBarrier[] = [];
  private lastCommitSent = 0;

  /**
   * Plain counts for the host's metrics, over this server's life and every role it had (ZooKeeper's
   * looking_count, diff_count (TRUNC included), snap_count, proposal_count, and commit_count as
   * txns committed on a quorum of acks).
   */
  readonly counts = { looking: 0, diffSyncs: 0, snapSyncs: 0, proposals: 0, committed: 0 };
  /** bytes of this reign's proposals (ZooKeeper's proposal BufferStats: -1 before the first) */
  readonly proposalBytes = { last: -1, min: -1, max: -1 };

  private readonly isVoter: boolean;
  private readonly majority: Majority;
  /** the majority's size (votes and pre-votes count this many, the candidate included) */
  private readonly quorum: number;

  /**
   * An online restore this server (the leader) is making the ensemble's next epoch: it campaigns
   * for `epoch` claiming the history "the image, at epoch << 32", and installs the image when
   * elected; the restore is done once that epoch is established.
   */
  private restoring: { epoch: number; image: (zxid: number) => SnapshotImage; installed: boolean } | null = null;
  private restoreOutcomes: RestoreOutcome[] = [];
  /**
   * Voters heard campaigning with no history at all. A voter with no history takes part in
   * electing a candidate with none only once every voter is known to have none (a brand-new
   * ensemble): members whose data dirs were wiped cannot elect each other and acknowledge writes
   * while a member that holds the ensemble's data (a restored one) is down.
   */
  private readonly blankVoters = new Set<number>();

  constructor(
    readonly opts: ZabOptions,
    restored: Restored,
  ) {
    assert(opts.voters.length > 0, 'an ensemble needs at least one voter');
    this.isVoter = opts.voters.includes(opts.id);
    assert(this.isVoter || opts.observers.includes(opts.id), `server ${opts.id} is neither a voter nor an observer`);
    this.majority = new Majority(opts.voters);
    this.quorum = this.majority.size;
    this.state = { ...restored.state };
    this.log = restored.entries.slice();
    this.logBase = restored.baseZxid;
    this.snapshotFloor = restored.baseZxid;
    for (let i = 0; i < this.log.length; i++) {
      const prev = i === 0 ? this.logBase : this.log[i - 1]!.zxid;
      assert(this.log[i]!.zxid > prev, 'restored log out of order');
    }
    this.persistedZxid = this.lastZxid;
    this.releasedZxid = this.lastZxid;
    this.commitZxid = this.logBase;
    this.highestSeenEpoch = this.state.acceptedEpoch;
    this.infoSeq = Math.floor(opts.random() * INCARNATIONS) * SEQ_SPAN;
    this.barrierBase = Math.floor(opts.random() * INCARNATIONS) * SEQ_SPAN;
    this.becomeLooking();
  }

  // ---------- queries ----------

  get lastZxid(): number {
    return this.log.length > 0 ? this.log[this.log.length - 1]!.zxid : this.logBase;
  }
  get currentEpoch(): number {
    return this.state.currentEpoch;
  }
  get acceptedEpoch(): number {
    return this.state.acceptedEpoch;
  }
  /** the epoch this server leads or follows (0 while looking) */
  get activeEpoch(): number {
    return this.role === 'looking' ? 0 : this.epoch;
  }
  /** true when clients may be served: an established leader, or a learner that is up to date */
  get serving(): boolean {
    if (this.role === 'leading') return this.established;
    if (this.role === 'following' || this.role === 'observing') return this.status === 'broadcast';
    return false;
  }
  get isEstablishedLeader(): boolean {
    return this.role === 'leading' && this.established;
  }
  /**
   * The phase in ZooKeeper's ZabState names (the AdminServer's zabstate, mntr's peer_state). The
   * vote is Ark's discovery of the epoch; after it a leader is in discovery until a learner reports
   * (follower_info), then in synchronization until a quorum took its history.
   */
  get phase(): 'election' | 'discovery' | 'synchronization' | 'broadcast' {
    if (this.role === 'looking') return 'election';
    if (this.role === 'leading') {
      if (this.established) return 'broadcast';
      for (const l of this.learners.values()) if (l.status !== 'unknown') return 'synchronization';
      return 'discovery';
    }
    return this.status === 'discovering' ? 'discovery' : this.status === 'syncing' ? 'synchronization' : 'broadcast';
  }
  get persisted(): number {
    return this.persistedZxid;
  }
  /**
   * A voter with no history waiting to hear from every voter before it helps elect a candidate
   * with none (electable): which voters it has heard with no history so far. Null when not waiting.
   */
  get waitingForVoters(): { heard: number[]; missing: number[] } | null {
    if (!this.isVoter || this.role !== 'looking' || this.state.currentEpoch !== 0 || this.lastZxid !== 0 || this.opts.voters.length === 1)
      return null;
    const others = this.opts.voters.filter((v) => v !== this.opts.id);
    const missing = others.filter((v) => !this.blankVoters.has(v));
    return missing.length === 0 ? null : { heard: others.filter((v) => this.blankVoters.has(v)), missing };
  }

  /** learners in sync with this leader (for mntr: zk_synced_followers) */
  learnerSummary(): Array<{ id: number; status: string; observer: boolean; ackedZxid: number }> {
    return [...this.learners].map(([id, l]) => ({ id, status: l.status, observer: l.observer, ackedZxid: l.ackedZxid }));
  }
  get pendingBarrierCount(): number {
    return this.barriers.length;
  }
  /** has this log (or the snapshot it continues from) got zxid z? */
  hasZxid(z: number): boolean {
    if (z === this.logBase) return true;
    if (z < this.logBase || z > this.lastZxid) return false;
    return this.indexOf(z) >= 0;
  }

  private indexOf(z: number): number {
    let lo = 0;
    let hi = this.log.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.log[mid]!.zxid;
      if (m === z) return mid;
      if (m < z) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** index of the first entry with zxid > z */
  private upperBound(z: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.zxid <= z) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---------- inputs from the host ----------

  /** One tick of the injected clock. */
  tick(): void {
    this.tickCount++;
    switch (this.role) {
      case 'looking':
        this.tickLooking();
        break;
      case 'leading':
        this.tickLeading();
        break;
      default:
        this.tickLearner();
    }
  }

  /** The entries of `generation` up to `zxid` are on disk. */
  persistedUpTo(generation: number, zxid: number): void {
    if (generation !== this.generation) return;
    const wasAwaiting = this.awaitingDurable;
    this.awaitingDurable = false;
    if (zxid <= this.persistedZxid && !wasAwaiting) return;
    if (zxid > this.persistedZxid) this.persistedZxid = Math.min(zxid, this.lastZxid);
    if (this.role === 'leading') {
      this.advanceCommit();
    } else if (this.role === 'following' || this.role === 'observing') {
      this.learnerPersisted();
    }
  }

  /** The host lost its connection to a peer (e.g. TCP reset): a learner whose leader it was looks at once. */
  peerDown(id: number): void {
    if (this.awaitingRestorer?.id === id) this.awaitingRestorer = null;
    if ((this.role === 'following' || this.role === 'observing') && id === this.leaderId) {
      this.becomeLooking();
      // the leader is gone for sure (its connection reset): elect soon, staggered by rank among
      // the voters so that the survivors rarely split their votes
      const rank = Math.max(0, this.opts.voters.indexOf(this.opts.id));
      if (rank === 0 && this.isVoter) this.startPrevote();
      else this.electionDeadline = this.tickCount + rank;
      return;
    }
    const l = this.role === 'leading' ? this.learners.get(id) : undefined;
    if (!l) return;
    l.connected = false;
    if (l.status !== 'unknown') {
      // it restarted or lost us: it must report and sync again before it counts
      l.status = 'unknown';
      l.ackedZxid = 0;
      this.send(id, { type: 'leader_hello', epoch: this.epoch });
    }
    // a leader that lost its connections to a quorum steps down now, not after syncLimit: its
    // clients move to a member that can serve them (ZooKeeper's leader checks its synced quorum
    // every half tick and shuts down without one)
    if (this.established && !this.hasQuorumContact()) this.becomeLooking();
  }

  /** Leader only: append a txn. Returns its zxid, or null when not an established leader. */
  propose(data: Uint8Array): number | null {
    if (!this.isEstablishedLeader) return null;
    const prev = this.lastZxid;
    const zxid = epochOf(prev) === this.epoch ? prev + 1 : makeZxid(this.epoch, 1);
    assert(counterOf(zxid) !== 0 && epochOf(zxid) === this.epoch, 'zxid counter overflow: a new epoch is needed');
    const entry: Entry = { zxid, data };
    const pb = this.proposalBytes;
    pb.last = data.length;
    if (pb.min < 0 || data.length < pb.min) pb.min = data.length;
    if (data.length > pb.max) pb.max = data.length;
    this.counts.proposals++;
    this.append(entry);
    this.toLearnersInSync({ type: 'propose', epoch: this.epoch, entry });
    return zxid;
  }

  /**
   * To every learner that was sent a sync: proposals, commits and barrier pings go to those still
   * syncing too (protocol-spec issues: a learner that ACKed the epoch must not miss a proposal).
   */
  private toLearnersInSync(msg: Msg): void {
    for (const [id, l] of this.learners) if (l.status !== 'unknown') this.send(id, msg);
  }

  /** Send an application payload to the leader (learner) or to a learner (leader). */
  sendApp(to: number, data: Uint8Array): boolean {
    if (!this.serving) return false;
    this.send(to, { type: 'app', epoch: this.epoch, data });
    return true;
  }

  /**
   * A quorum barrier (the `sync` that ZooKeeper does not make a quorum operation, ZOOKEEPER-1675):
   * completes with a zxid Z such that every write committed before the barrier started has zxid <= Z,
   * and only after a quorum confirmed this leadership after that moment.
   */
  barrier(id: number): boolean {
    if (!this.serving) return false;
    if (this.role === 'leading') {
      this.addBarrier(0, id);
    } else {
      // on the wire the id carries this incarnation, so an answer to a barrier of before a
      // restart cannot complete a new one
      const wire = this.barrierBase + id;
      this.barriersOut.set(wire, this.tickCount);
      this.send(this.leaderId, { type: 'barrier', epoch: this.epoch, id: wire });
    }
    return true;
  }

  /**
   * Online restore, on the established leader: replaces the ensemble's state with `image(zxid)`
   * (zxid = the new epoch << 32) as one replicated decision. The leader leaves its epoch and asks
   * the voters for a new one, claiming the image's history; voters promise it (acceptedEpoch, as
   * for any vote) because it is newer than theirs. Elected, it installs the image durably, then
   * writes currentEpoch, and brings every learner to it by SNAP; the restore is done when a quorum
   * took it (the epoch is established). Returns why not, or null once started (the outcome comes
   * in ready().restores).
   *
   * Why this is safe: the image becomes this server's history only after a quorum promised its
   * epoch, so any later leader has a higher epoch; a history established later (its txns
   * acknowledged) beats this one in any election; and before the quorum took it, the restore was
   * never reported done. A failed campaign leaves the old state everywhere.
   */
  restore(minEpoch: number, image: (zxid: number) => SnapshotImage): string | null {
    if (!this.isEstablishedLeader) return 'only the established leader can run a restore';
    if (this.restoring) return 'a restore is already running';
    const epoch = Math.max(this.state.acceptedEpoch, this.highestSeenEpoch, minEpoch) + 1;
    this.restoring = { epoch, image, installed: false };
    this.becomeLooking();
    this.candidateEpoch = epoch;
    // no pre-vote: the leader asks its own followers, and they answer their leader
    this.startVote();
    return null;
  }

  /** The restore did not become the ensemble's state (or may have only on this server's disk). */
  private restoreFailed(why: string): void {
    const r = this.restoring;
    if (!r) return;
    this.restoring = null;
    this.restoreOutcomes.push({
      ok: false,
      error: r.installed
        ? `the restore was installed on this server in epoch ${r.epoch} but no quorum took it before ${why}: the ensemble takes it if this server leads again; check the members' zxid (srvr) before retrying`
        : `the restore did not happen (${why}); nothing changed, try again`,
    });
  }

  /** The history this server claims in a campaign: its own, or the restore's. */
  private claim(): { currentEpoch: number; lastZxid: number } {
    const r = this.restoring;
    return r
      ? { currentEpoch: r.epoch, lastZxid: makeZxid(r.epoch, 0) }
      : { currentEpoch: this.state.currentEpoch, lastZxid: this.lastZxid };
  }

  /** The host rebuilt its state from disk after a `reload`: committed entries flow again. */
  reloaded(zxid: number): void {
    assert(zxid <= this.lastZxid, 'reloaded past the log');
    this.reloadOutstanding = false;
    this.releasedZxid = zxid;
  }

  /** After the host wrote a snapshot at zxid: drop older entries, keeping a window for DIFF. */
  compact(zxid: number): void {
    if (zxid > this.snapshotFloor) this.snapshotFloor = zxid;
    const upTo = Math.min(zxid, this.releasedZxid);
    const cut = this.upperBound(upTo) - this.opts.logRetainEntries;
    if (cut <= 0) return;
    this.logBase = this.log[cut - 1]!.zxid;
    this.log = this.log.slice(cut);
  }

  step(from: number, msg: Msg): void {
    if (from === this.opts.id) return;
    if (msg.epoch > this.highestSeenEpoch) this.highestSeenEpoch = msg.epoch;
    switch (msg.type) {
      case 'prevote_req':
        this.onPrevoteReq(from, msg);
        return;
      case 'vote_req':
        this.onVoteReq(from, msg);
        return;
      case 'prevote':
      case 'vote':
        this.onVote(from, msg);
        return;
      case 'leader_hello':
        this.onLeaderHello(from, msg.epoch);
        return;
      case 'ping':
        // a looking server that hears a leader's heartbeat joins it (the leader may still think it follows)
        if (this.role === 'looking') {
          this.onLeaderHello(from, msg.epoch);
          return;
        }
        break;
      default:
    }
    if (this.role === 'leading') this.stepLeader(from, msg);
    else if (this.role !== 'looking') this.stepLearner(from, msg);
  }

  ready(): Ready {
    const r: Ready = {
      state: this.stateDirty ? { ...this.state } : null,
      snapshot: this.pendingSnapshot,
      truncateAfter: this.pendingTruncate,
      reload: this.pendingReload,
      entries: this.newEntries,
      generation: this.generation,
      messages: this.out,
      committed: this.takeCommitted(),
      app: this.appIn,
      barriers: this.barriersDone,
      barriersFailed: this.barriersFailed,
      restores: this.restoreOutcomes,
    };
    this.stateDirty = false;
    this.pendingSnapshot = null;
    this.pendingTruncate = null;
    this.pendingReload = false;
    this.newEntries = [];
    this.out = [];
    this.appIn = [];
    this.barriersDone = [];
    this.barriersFailed = [];
    this.restoreOutcomes = [];
    return r;
  }

  hasReady(): boolean {
    return (
      this.stateDirty ||
      this.pendingSnapshot !== null ||
      this.pendingTruncate !== null ||
      this.newEntries.length > 0 ||
      this.out.length > 0 ||
      this.appIn.length > 0 ||
      this.barriersDone.length > 0 ||
      this.barriersFailed.length > 0 ||
      this.restoreOutcomes.length > 0 ||
      (!this.reloadOutstanding && Math.min(this.commitZxid, this.lastZxid) > this.releasedZxid)
    );
  }

  // ---------- log plumbing ----------

  private send(to: number, msg: Msg): void {
    this.out.push({ from: this.opts.id, to, msg });
  }

  private setState(s: Partial<PersistentState>): void {
    Object.assign(this.state, s);
    assert(this.state.currentEpoch <= this.state.acceptedEpoch, 'currentEpoch above acceptedEpoch');
    this.stateDirty = true;
  }

  private append(entry: Entry): void {
    assert(entry.zxid > this.lastZxid, `append out of order: 0x${entry.zxid.toString(16)} after 0x${this.lastZxid.toString(16)}`);
    this.log.push(entry);
    this.newEntries.push(entry);
  }

  /** Drops every entry after z, in memory and (through ready) on disk. */
  private truncateAfter(z: number): void {
    if (this.lastZxid <= z) return;
    this.log.length = this.upperBound(z);
    this.generation++;
    this.newEntries = [];
    this.pendingTruncate = this.pendingTruncate === null ? z : Math.min(this.pendingTruncate, z);
    if (this.persistedZxid > z) this.persistedZxid = z;
    this.awaitingDurable = true;
    if (this.commitZxid > z) {
      // only uncommitted txns can be truncated (the new leader holds every committed one); a
      // commit index past z came from an older epoch's view of the log and is re-established
      this.commitZxid = z;
    }
    if (this.releasedZxid > z) {
      this.releasedZxid = z;
      this.pendingReload = true;
      this.reloadOutstanding = true;
    }
  }

  private installSnapshot(image: SnapshotImage): void {
    this.log = [];
    this.logBase = image.zxid;
    this.generation++;
    this.newEntries = [];
    this.pendingTruncate = null;
    this.pendingReload = false;
    this.reloadOutstanding = false;
    this.pendingSnapshot = image;
    this.persistedZxid = image.zxid;
    this.awaitingDurable = true;
    this.snapshotFloor = image.zxid;
    this.commitZxid = image.zxid;
    this.releasedZxid = image.zxid;
  }

  /**
   * Committed entries are applied as soon as they are known committed, whether or not this
   * server's own fsync of them has finished: a quorum holds them on disk already (ZooKeeper's
   * CommitProcessor does the same). A crash can leave this server's disk behind what it served;
   * a client that saw more is refused here after the restart and goes elsewhere.
   */
  private takeCommitted(): Entry[] {
    if (this.reloadOutstanding) return [];
    const upTo = Math.min(this.commitZxid, this.lastZxid);
    if (upTo <= this.releasedZxid) return [];
    const from = this.upperBound(this.releasedZxid);
    const to = this.upperBound(upTo);
    this.releasedZxid = upTo;
    return this.log.slice(from, to);
  }

  // ---------- roles ----------

  private resetElectionTimer(): void {
    const base = this.opts.electionTicks;
    this.electionDeadline = this.tickCount + base + Math.floor(this.opts.random() * base);
  }

  private becomeLooking(): void {
    if (this.restoring?.installed) this.restoreFailed('it lost its quorum');
    this.counts.looking++;
    this.failBarriers();
    this.role = 'looking';
    this.epoch = 0;
    this.leaderId = 0;
    this.status = 'discovering';
    this.learners.clear();
    this.established = false;
    this.inElection = null;
    this.lastLeaderTick = -1_000_000;
    this.resetElectionTimer();
    if (this.isVoter && this.opts.voters.length === 1 && !this.restoring) this.startPrevote();
  }

  private becomeLeader(epoch: number): void {
    assert(this.isVoter, 'an observer cannot lead');
    assert(this.state.acceptedEpoch === epoch && this.state.votedFor === this.opts.id, 'leading an epoch not voted for');
    this.role = 'leading';
    this.epoch = epoch;
    this.leaderId = this.opts.id;
    this.established = false;
    if (this.restoring?.epoch === epoch) {
      // the epoch was promised for the restore's history: it becomes this server's, durably first
      this.installSnapshot(this.restoring.image(makeZxid(epoch, 0)));
      this.restoring.installed = true;
    } else {
      this.restoreFailed(`server ${this.opts.id} was elected for epoch ${epoch} instead`);
    }
    this.establishZxid = this.lastZxid;
    this.leaderStartTick = this.tickCount;
    Object.assign(this.proposalBytes, { last: -1, min: -1, max: -1 });
    this.inElection = null;
    this.learners.clear();
    for (const id of [...this.opts.voters, ...this.opts.observers]) {
      if (id === this.opts.id) continue;
      this.learners.set(id, {
        status: 'unknown',
        observer: this.opts.observers.includes(id),
        ackedZxid: 0,
        lastHeardTick: this.tickCount,
        lastPongRound: 0,
        seq: -1,
        syncSentTick: 0,
        connected: true,
      });
      this.send(id, { type: 'leader_hello', epoch });
    }
    this.advanceCommit();
  }

  private becomeLearner(leaderId: number, epoch: number): void {
    this.restoreFailed(`server ${leaderId} leads epoch ${epoch}`);
    this.failBarriers();
    this.role = this.isVoter ? 'following' : 'observing';
    this.leaderId = leaderId;
    this.epoch = epoch;
    this.status = 'discovering';
    this.newPhase = true;
    this.inElection = null;
    this.newLeaderAcked = false;
    this.lastLeaderTick = this.tickCount;
    this.learners.clear();
    this.established = false;
    if (epoch > this.state.acceptedEpoch) this.setState({ acceptedEpoch: epoch, votedFor: 0 });
    this.sendInfo();
  }

  private sendInfo(): void {
    this.lastInfoTick = this.tickCount;
    this.infoSeq++;
    if (this.newPhase) {
      this.discoverSeq = this.infoSeq;
      this.newPhase = false;
    }
    this.send(this.leaderId, {
      type: 'follower_info',
      epoch: this.epoch,
      seq: this.infoSeq,
      currentEpoch: this.state.currentEpoch,
      lastZxid: this.lastZxid,
      observer: !this.isVoter,
    });
  }

  private failBarriers(): void {
    for (const b of this.barriers) if (b.from === 0) this.barriersFailed.push(b.id);
    this.barriers = [];
    for (const wire of this.barriersOut.keys()) this.barriersFailed.push(wire - this.barrierBase);
    this.barriersOut.clear();
  }

  // ---------- election ----------

  /** Zab's total order on histories: currentEpoch, then last zxid. */
  private atLeastAsUpToDate(currentEpoch: number, lastZxid: number): boolean {
    if (currentEpoch !== this.state.currentEpoch) return currentEpoch > this.state.currentEpoch;
    return lastZxid >= this.lastZxid;
  }

  /** Has this server heard from a live leader recently (or is it one)? Then it refuses to elect. */
  private leaderAlive(): boolean {
    if (this.role === 'leading') return this.hasQuorumContact();
    if (this.role === 'following' || this.role === 'observing') {
      return this.tickCount - this.lastLeaderTick < this.opts.electionTicks;
    }
    return false;
  }

  private tickLooking(): void {
    if (!this.isVoter) return; // observers wait for a leader_hello
    if (this.waitingForRestorer()) return;
    if (this.tickCount >= this.electionDeadline) this.startPrevote();
  }

  /** Is this voter still giving the restorer it voted for time to lead (awaitingRestorer)? */
  private waitingForRestorer(): boolean {
    const w = this.awaitingRestorer;
    if (w === null) return false;
    if (this.role === 'looking' && this.tickCount < w.untilTick) return true;
    this.awaitingRestorer = null;
    if (this.role === 'looking') this.resetElectionTimer();
    return false;
  }

  private startPrevote(): void {
    this.restoreFailed('no quorum voted for its epoch in time');
    this.resetElectionTimer();
    this.inElection = 'prevote';
    this.candidateEpoch = Math.max(this.state.acceptedEpoch, this.highestSeenEpoch) + 1;
    this.prevotes = new Set([this.opts.id]);
    if (this.prevotes.size >= this.quorum) {
      this.startVote();
      return;
    }
    for (const id of this.opts.voters) {
      if (id !== this.opts.id) {
        this.send(id, { type: 'prevote_req', epoch: this.candidateEpoch, currentEpoch: this.state.currentEpoch, lastZxid: this.lastZxid });
      }
    }
  }

  private startVote(): void {
    this.inElection = 'vote';
    this.candidateEpoch = Math.max(this.candidateEpoch, this.state.acceptedEpoch + 1, this.highestSeenEpoch + 1);
    // persisted before the vote requests leave (ready: state before messages)
    this.setState({ acceptedEpoch: this.candidateEpoch, votedFor: this.opts.id });
    this.votes = new Set([this.opts.id]);
    if (this.votes.size >= this.quorum) {
      this.becomeLeader(this.candidateEpoch);
      return;
    }
    const claim = this.claim();
    for (const id of this.opts.voters) {
      if (id !== this.opts.id) {
        this.send(id, { type: 'vote_req', epoch: this.candidateEpoch, ...claim });
      }
    }
  }

  /**
   * May this server help elect a candidate claiming (currentEpoch, lastZxid)? Its history must be
   * at least as new as ours (Zab's order); and a candidate with no history at all, only when every
   * voter is known to have none (blankVoters).
   */
  private electable(from: number, currentEpoch: number, lastZxid: number): boolean {
    if (currentEpoch === 0 && lastZxid === 0) {
      this.blankVoters.add(from);
      if (!this.opts.voters.every((v) => v === this.opts.id || this.blankVoters.has(v))) return false;
    } else {
      // it holds data now: what this process once heard of it no longer says the ensemble is new
      this.blankVoters.delete(from);
    }
    return this.atLeastAsUpToDate(currentEpoch, lastZxid);
  }

  /** A live leader keeps its voters from electing another; its own request for a new epoch (a restore) it may make. */
  private heldByLeader(from: number): boolean {
    return this.leaderAlive() && !(this.role === 'following' && from === this.leaderId);
  }

  private onPrevoteReq(from: number, m: Extract<Msg, { type: 'prevote_req' }>): void {
    if (!this.isVoter) return;
    const granted =
      m.epoch > this.state.acceptedEpoch &&
      !this.leaderAlive() &&
      (!this.waitingForRestorer() || from === this.awaitingRestorer?.id) &&
      this.electable(from, m.currentEpoch, m.lastZxid);
    this.send(from, { type: 'prevote', epoch: granted ? m.epoch : Math.max(m.epoch, this.state.acceptedEpoch), granted });
  }

  private onVoteReq(from: number, m: Extract<Msg, { type: 'vote_req' }>): void {
    if (!this.isVoter) return;
    if (m.epoch < this.state.acceptedEpoch || this.heldByLeader(from)) {
      this.send(from, { type: 'vote', epoch: Math.max(m.epoch, this.state.acceptedEpoch), granted: false });
      return;
    }
    const upToDate = this.electable(from, m.currentEpoch, m.lastZxid);
    if (m.epoch === this.state.acceptedEpoch) {
      const granted = this.state.votedFor === from && upToDate;
      this.send(from, { type: 'vote', epoch: m.epoch, granted });
      return;
    }
    // a higher epoch: promise it (Zab discovery: acceptedEpoch is persisted before the answer)
    const restorer = this.role === 'following' && from === this.leaderId;
    if (this.role !== 'looking') this.becomeLooking();
    this.awaitingRestorer = restorer && upToDate ? { id: from, untilTick: this.tickCount + this.opts.initLimitTicks } : null;
    this.inElection = null; // our own candidacy for a lower epoch is over
    this.setState({ acceptedEpoch: m.epoch, votedFor: upToDate ? from : 0 });
    if (upToDate) this.resetElectionTimer();
    this.send(from, { type: 'vote', epoch: m.epoch, granted: upToDate });
  }

  private onVote(from: number, m: Extract<Msg, { type: 'prevote' | 'vote' }>): void {
    if (this.role === 'leading' && m.type === 'vote' && !m.granted && m.epoch > this.epoch && this.opts.voters.includes(from)) {
      // a voter promised a later epoch (its own failed candidacy) and cannot follow us: hold a
      // new election above it rather than leave it out for good
      this.becomeLooking();
      return;
    }
    if (this.role !== 'looking') return;
    const want = m.type === 'prevote' ? 'prevote' : 'vote';
    if (this.inElection !== want || m.epoch !== this.candidateEpoch) return;
    if (!m.granted) return;
    if (want === 'prevote') {
      this.prevotes.add(from);
      if (this.prevotes.size >= this.quorum) this.startVote();
    } else {
      this.votes.add(from);
      if (this.votes.size >= this.quorum) this.becomeLeader(this.candidateEpoch);
    }
  }

  private onLeaderHello(from: number, epoch: number): void {
    if (epoch < this.state.acceptedEpoch) {
      // a promise to a later epoch stands; tell the leader, which must move past it to include us
      if (this.isVoter) this.send(from, { type: 'vote', epoch: this.state.acceptedEpoch, granted: false });
      return;
    }
    if ((this.role === 'following' || this.role === 'observing') && this.epoch === epoch && this.leaderId === from) {
      this.lastLeaderTick = this.tickCount;
      // our follower_info was lost, or the leader dropped us (we were silent for syncLimit):
      // report again, at most once per tick
      if (this.status !== 'discovering') this.resync();
      else if (this.tickCount > this.lastInfoTick) this.sendInfo();
      return;
    }
    if (this.role === 'leading' && this.epoch >= epoch) return;
    if (this.role !== 'looking' && this.epoch > epoch) return;
    this.becomeLearner(from, epoch);
  }

  // ---------- leader ----------

  private hasQuorumContact(): boolean {
    return this.majority.reached(
      this.learners,
      (l) => !l.observer && l.connected && this.tickCount - l.lastHeardTick < this.opts.syncLimitTicks,
    );
  }

  private tickLeading(): void {
    if (!this.established && this.tickCount - this.leaderStartTick > this.opts.initLimitTicks) {
      this.becomeLooking();
      return;
    }
    if (this.established && !this.hasQuorumContact()) {
      this.becomeLooking();
      return;
    }
    this.pingRound++;
    for (const [id, l] of this.learners) {
      // a learner silent for syncLimit has left: it must report and sync again before it counts.
      // One being synced gets initLimit, as ZooKeeper's LearnerHandler reads with initLimit until
      // NEWLEADER is acknowledged: taking a SNAP of a million znodes keeps it busy for seconds,
      // and calling it gone then started a second SNAP on top of the first
      const limit = l.status === 'syncing' ? this.opts.initLimitTicks : this.opts.syncLimitTicks;
      if (l.status !== 'unknown' && this.tickCount - l.lastHeardTick >= limit) {
        l.status = 'unknown';
        l.ackedZxid = 0;
      }
      if (l.status === 'unknown') this.send(id, { type: 'leader_hello', epoch: this.epoch });
      else this.send(id, { type: 'ping', epoch: this.epoch, round: this.pingRound, commitZxid: this.commitZxid });
    }
    this.checkBarriers();
  }

  private stepLeader(from: number, msg: Msg): void {
    const l = this.learners.get(from);
    if (!l || msg.epoch !== this.epoch) return;
    l.lastHeardTick = this.tickCount;
    l.connected = true;
    switch (msg.type) {
      case 'follower_info': {
        const sameIncarnation = Math.floor(msg.seq / SEQ_SPAN) === Math.floor(l.seq / SEQ_SPAN);
        // a duplicate or an older report of a learner we already sync: answering it would
        // send a sync the learner ignores, and leave it waiting forever
        if (l.status !== 'unknown' && sameIncarnation && msg.seq <= l.seq) return;
        // a newer report that crossed our sync on the way (our hellos go out every tick until its
        // first report arrives): the sync answers it too (the learner takes any sync of its
        // discovering phase, whose log does not change), so a second one, a SNAP of a million
        // znodes at worst, would be sent for nothing. Its retry after initLimit is answered.
        if (l.status === 'syncing' && sameIncarnation && this.tickCount - l.syncSentTick < this.opts.initLimitTicks) return;
        l.seq = msg.seq;
        this.syncLearner(from, l, msg.lastZxid, msg.observer && this.opts.observers.includes(from));
        return;
      }
      case 'sync_nak':
        // a nak answers some report of the learner's current phase (any seq of this incarnation)
        if (Math.floor(msg.seq / SEQ_SPAN) === Math.floor(l.seq / SEQ_SPAN) && l.status === 'syncing') this.sendSnap(from, l);
        return;
      case 'ack_newleader':
        // a repeat: our uptodate was lost
        if (l.status === 'synced' && this.established)
          this.send(from, { type: 'uptodate', epoch: this.epoch, commitZxid: this.commitZxid });
        if (l.status !== 'syncing') return;
        l.status = 'synced';
        l.ackedZxid = Math.max(l.ackedZxid, msg.zxid);
        if (this.established) {
          this.send(from, { type: 'uptodate', epoch: this.epoch, commitZxid: this.commitZxid });
        } else {
          this.advanceCommit();
        }
        return;
      case 'ack':
        if (l.status !== 'synced' || l.observer) return;
        if (msg.zxid > l.ackedZxid) l.ackedZxid = msg.zxid;
        this.advanceCommit();
        return;
      case 'pong':
        if (msg.round > l.lastPongRound) l.lastPongRound = msg.round;
        this.checkBarriers();
        return;
      // a learner serves only after its sync: a request from one we count as syncing again (its
      // report was repeated) is still its clients' request
      case 'barrier':
        if (l.status === 'unknown' || !this.established) return;
        this.addBarrier(from, msg.id);
        return;
      case 'app':
        if (l.status !== 'unknown' && this.established) this.appIn.push({ from, data: msg.data });
        return;
      default:
    }
  }

  private syncLearner(id: number, l: LearnerState, peerLast: number, observer: boolean): void {
    l.observer = observer;
    l.status = 'syncing';
    l.syncSentTick = this.tickCount;
    l.ackedZxid = 0;
    const last = this.lastZxid;
    if (peerLast < this.logBase) {
      this.sendSnap(id, l);
      return;
    }
    if (this.hasZxid(peerLast)) {
      this.sendSync(id, 'diff', peerLast);
      return;
    }
    // the learner has txns we do not: cut back to the last zxid below its end that we hold (TRUNC)
    const idx = this.upperBound(Math.min(peerLast, last)) - 1;
    const prev = idx >= 0 ? this.log[idx]!.zxid : this.logBase;
    this.sendSync(id, 'trunc', prev);
  }

  private sendSync(id: number, mode: 'diff' | 'trunc', prevZxid: number): void {
    this.counts.diffSyncs++;
    const entries = this.log.slice(this.upperBound(prevZxid));
    this.send(id, {
      type: 'sync',
      epoch: this.epoch,
      seq: this.learners.get(id)!.seq,
      mode,
      prevZxid,
      snapshot: null,
      entries,
      newLeaderZxid: this.lastZxid,
    });
  }

  private sendSnap(id: number, l: LearnerState): void {
    this.counts.snapSyncs++;
    l.status = 'syncing';
    l.syncSentTick = this.tickCount;
    const image = this.opts.snapshot();
    assert(image.zxid === this.releasedZxid, `snapshot at 0x${image.zxid.toString(16)}, applied 0x${this.releasedZxid.toString(16)}`);
    assert(this.hasZxid(image.zxid), 'snapshot zxid outside the in-memory log');
    const entries = this.log.slice(this.upperBound(image.zxid));
    this.send(id, {
      type: 'sync',
      epoch: this.epoch,
      seq: l.seq,
      mode: 'snap',
      prevZxid: image.zxid,
      snapshot: image,
      entries,
      newLeaderZxid: this.lastZxid,
    });
  }

  /** Commit what a quorum of voters has on disk; establish the epoch once a quorum took its history. */
  private advanceCommit(): void {
    if (this.role !== 'leading') return;
    if (!this.established) {
      if (this.persistedZxid < this.establishZxid || this.awaitingDurable) return;
      // the leader's history is the epoch's starting history: on disk first, then currentEpoch
      // (written before anything of this step leaves), as for every learner
      if (this.state.currentEpoch !== this.epoch) this.setState({ currentEpoch: this.epoch });
      if (!this.majority.reached(this.learners, (l) => l.status === 'synced' && !l.observer)) return;
      this.established = true;
      // the leader's history up to here is now on a quorum: committed (Zab phase 2 end)
      if (this.establishZxid > this.commitZxid) this.commitZxid = this.establishZxid;
      if (this.restoring?.epoch === this.epoch) {
        this.restoreOutcomes.push({ ok: true, zxid: this.establishZxid });
        this.restoring = null;
      }
      for (const [id, ls] of this.learners) {
        if (ls.status === 'synced') this.send(id, { type: 'uptodate', epoch: this.epoch, commitZxid: this.commitZxid });
      }
    }
    const q = this.majority.committed(this.persistedZxid, this.learners, (l) =>
      l.status === 'synced' && !l.observer ? l.ackedZxid : null,
    );
    if (q === null) return;
    // only txns of our own epoch are committed by counting acks (earlier ones came with the history)
    if (q > this.commitZxid && epochOf(q) === this.epoch) {
      // zxids of one epoch are consecutive: the count committed now (from counter 1 when the commit index was an older epoch's)
      this.counts.committed += epochOf(this.commitZxid) === this.epoch ? q - this.commitZxid : counterOf(q);
      this.commitZxid = q;
    }
    if (this.commitZxid > this.lastCommitSent) {
      this.lastCommitSent = this.commitZxid;
      this.toLearnersInSync({ type: 'commit', epoch: this.epoch, zxid: this.commitZxid });
    }
    this.checkBarriers();
  }

  private addBarrier(from: number, id: number): void {
    // a round started after the barrier arrived: a quorum answering it proves we still lead
    this.pingRound++;
    this.barriers.push({ from, id, zxid: this.commitZxid, round: this.pingRound });
    this.toLearnersInSync({ type: 'ping', epoch: this.epoch, round: this.pingRound, commitZxid: this.commitZxid });
    this.checkBarriers();
  }

  private checkBarriers(): void {
    if (this.barriers.length === 0 || !this.established) return;
    const keep: PendingBarrier[] = [];
    for (const b of this.barriers) {
      if (!this.majority.reached(this.learners, (l) => l.status === 'synced' && !l.observer && l.lastPongRound >= b.round)) {
        keep.push(b);
        continue;
      }
      if (b.from === 0) this.barriersDone.push({ id: b.id, zxid: b.zxid });
      else this.send(b.from, { type: 'barrier_ok', epoch: this.epoch, id: b.id, zxid: b.zxid });
    }
    this.barriers = keep;
  }

  // ---------- learner ----------

  private tickLearner(): void {
    const limit = this.status === 'broadcast' ? this.opts.syncLimitTicks : this.opts.initLimitTicks;
    if (this.tickCount - this.lastLeaderTick >= limit) {
      this.becomeLooking();
      return;
    }
    if (this.status === 'syncing' && this.newLeaderAcked && this.tickCount - this.lastAckNewLeaderTick >= ACK_NEWLEADER_RESEND_TICKS)
      this.sendAckNewLeader();
    if (this.status === 'broadcast') {
      for (const [id, at] of this.barriersOut) {
        if (this.tickCount - at < BARRIER_RESEND_TICKS) continue;
        this.barriersOut.set(id, this.tickCount);
        this.send(this.leaderId, { type: 'barrier', epoch: this.epoch, id });
      }
    }
    // a lost report or sync: ask again (not too often: each answer may carry a snapshot)
    if (this.status === 'discovering' && this.tickCount - this.lastInfoTick >= Math.max(2, this.opts.initLimitTicks)) this.sendInfo();
  }

  private stepLearner(from: number, msg: Msg): void {
    if (from !== this.leaderId || msg.epoch !== this.epoch) return;
    this.lastLeaderTick = this.tickCount;
    switch (msg.type) {
      case 'sync':
        this.onSync(msg);
        return;
      case 'propose':
        this.onPropose(msg.entry);
        return;
      case 'commit':
        this.onCommit(msg.zxid);
        return;
      case 'uptodate':
        if (this.status !== 'syncing' || !this.newLeaderAcked) return;
        this.status = 'broadcast';
        this.onCommit(msg.commitZxid);
        return;
      case 'ping':
        this.send(from, { type: 'pong', epoch: this.epoch, round: msg.round });
        // acks are cumulative: repeating the last one covers a lost one
        if (this.newLeaderAcked && this.role === 'following' && !this.awaitingDurable)
          this.send(from, { type: 'ack', epoch: this.epoch, zxid: this.persistedZxid });
        if (this.status !== 'discovering') this.onCommit(msg.commitZxid);
        return;
      case 'barrier_ok':
        if (!this.barriersOut.delete(msg.id)) return; // answered already, or not ours
        this.barriersDone.push({ id: msg.id - this.barrierBase, zxid: msg.zxid });
        return;
      case 'app':
        if (this.status === 'broadcast') this.appIn.push({ from, data: msg.data });
        return;
      default:
    }
  }

  /**
   * Would this server act on a SNAP sync from `from` now (the host parses a snapshot only then:
   * at a million znodes that is seconds)? The checks of stepLearner and onSync, in short.
   */
  takesSnapshot(from: number, m: Extract<Msg, { type: 'sync' }>): boolean {
    const learner = this.role === 'following' || this.role === 'observing';
    return learner && from === this.leaderId && m.epoch === this.epoch && this.status === 'discovering' && this.answersThisPhase(m.seq);
  }

  /** A sync answers a report of this discovering phase (our log does not change meanwhile). */
  private answersThisPhase(seq: number): boolean {
    return seq >= this.discoverSeq && seq <= this.infoSeq;
  }

  private onSync(m: Extract<Msg, { type: 'sync' }>): void {
    // answers a report of this discovering phase, once: a sync for an earlier phase could cut
    // txns acknowledged since (our log does not change while discovering, so any report of this
    // phase describes it, and a slow SNAP is not thrown away because a report was repeated)
    if (!this.answersThisPhase(m.seq)) return;
    if (this.status !== 'discovering') {
      // a second answer to a report of this phase (a report was repeated): the leader counts us
      // as syncing again; our history already holds what it sends, so acknowledge again (once
      // our own sync is durable), or it would leave us out and drop our forwarded requests
      if (this.newLeaderAcked && !this.awaitingDurable) this.sendAckNewLeader();
      return;
    }
    if (m.mode === 'snap') {
      assert(m.snapshot !== null, 'snap sync without a snapshot');
      this.installSnapshot(m.snapshot);
    } else {
      if (!this.hasZxid(m.prevZxid)) {
        this.send(this.leaderId, { type: 'sync_nak', epoch: this.epoch, seq: m.seq });
        return;
      }
      // keep what we already hold of the leader's history (same zxid, same txn: one leader per epoch)
      let keep = m.prevZxid;
      let i = 0;
      while (i < m.entries.length && this.hasZxid(m.entries[i]!.zxid)) keep = m.entries[i++]!.zxid;
      if (keep < this.lastZxid && keep < this.snapshotFloor) {
        this.send(this.leaderId, { type: 'sync_nak', epoch: this.epoch, seq: m.seq });
        return;
      }
      this.truncateAfter(keep);
      for (; i < m.entries.length; i++) this.append(ownEntry(m.entries[i]!));
      this.status = 'syncing';
      this.syncEndZxid = m.newLeaderZxid;
      this.newLeaderAcked = false;
      this.learnerPersisted();
      return;
    }
    for (const e of m.entries) this.append(ownEntry(e));
    this.status = 'syncing';
    this.syncEndZxid = m.newLeaderZxid;
    this.newLeaderAcked = false;
    this.learnerPersisted();
  }

  private onPropose(entry: Entry): void {
    if (this.status === 'discovering') return;
    const last = this.lastZxid;
    if (entry.zxid <= last) return; // a duplicate (the spec must tolerate them: protocol-spec issues)
    const contiguous =
      entry.zxid === last + 1 || (epochOf(entry.zxid) === this.epoch && counterOf(entry.zxid) === 1 && epochOf(last) < this.epoch);
    if (!contiguous) {
      // a proposal went missing (a connection broke): resync rather than leave a hole in the log
      this.resync();
      return;
    }
    this.append(ownEntry(entry));
  }

  private onCommit(zxid: number): void {
    if (zxid <= this.commitZxid) return;
    if (zxid > this.lastZxid) {
      // the leader committed something we never received
      if (this.status === 'broadcast') this.resync();
      return;
    }
    this.commitZxid = zxid;
  }

  private resync(): void {
    this.status = 'discovering';
    this.newPhase = true;
    this.newLeaderAcked = false;
    this.sendInfo();
  }

  private sendAckNewLeader(): void {
    this.lastAckNewLeaderTick = this.tickCount;
    this.send(this.leaderId, { type: 'ack_newleader', epoch: this.epoch, zxid: this.persistedZxid });
  }

  private learnerPersisted(): void {
    if (this.status === 'discovering' || this.awaitingDurable) return;
    if (!this.newLeaderAcked) {
      if (this.persistedZxid < this.syncEndZxid) return;
      // Zab: txns on disk, then currentEpoch on disk (ready: state before messages), then ACK NEWLEADER
      this.newLeaderAcked = true;
      if (this.state.currentEpoch !== this.epoch) this.setState({ currentEpoch: this.epoch });
      this.sendAckNewLeader();
      return;
    }
    if (this.role === 'following') this.send(this.leaderId, { type: 'ack', epoch: this.epoch, zxid: this.persistedZxid });
  }
}
