// Step-level tests of the Zab state machine (src/consensus/zab.ts), one per protocol property, in
// the manner of etcd's raft_paper_test.go: each drives a few Zab instances by hand (this file
// delivers their messages, advances their ticks and reports their disk writes) and checks the
// outcome. Nothing here waits on real time: Zab's clock is tick().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Zab, type PersistentState, type Ready, type ZabOptions } from '../../src/consensus/zab.js';
import { makeZxid, type Entry, type Envelope, type Msg } from '../../src/consensus/messages.js';

// ---------- harness ----------

const E1 = (counter: number): number => makeZxid(1, counter);

/** Txns epoch:from..epoch:to, each carrying its counter as its one byte. */
function txns(epoch: number, from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let c = from; c <= to; c++) out.push({ zxid: makeZxid(epoch, c), data: new Uint8Array([c & 0xff]) });
  return out;
}

interface NodeSpec {
  /** durable state at start (default: accepted = current = 1, no vote) */
  state?: Partial<PersistentState>;
  /** durable log at start (default: none) */
  log?: Entry[];
}

interface ClusterSpec {
  voters: number[];
  observers?: number[];
  nodes?: Record<number, NodeSpec>;
  opts?: Partial<Pick<ZabOptions, 'syncLimitTicks' | 'initLimitTicks' | 'electionTicks' | 'logRetainEntries'>>;
}

/** A message as it left its sender, with what the sender's disk held at that moment. */
interface Sent {
  env: Envelope;
  durableState: PersistentState;
  durableZxid: number;
}

/**
 * N Zab instances and the host around them: a FIFO network that can cut links, a disk whose log
 * writes complete (persistedUpTo) at once unless held, and a record of everything sent.
 */
class Cluster {
  readonly zabs = new Map<number, Zab>();
  readonly sent: Sent[] = [];
  readonly readies = new Map<number, Ready[]>();
  /** servers whose log writes do not complete until persist(id) */
  readonly holdDisk = new Set<number>();
  /** messages for which this returns true are lost */
  dropIf: ((env: Envelope) => boolean) | null = null;
  private readonly queue: Envelope[] = [];
  private readonly cuts = new Set<string>();
  private readonly durableState = new Map<number, PersistentState>();
  private readonly durableZxid = new Map<number, number>();
  private readonly generation = new Map<number, number>();
  private readonly applied = new Map<number, number>();

  constructor(spec: ClusterSpec) {
    const observers = spec.observers ?? [];
    for (const id of [...spec.voters, ...observers]) {
      const n = spec.nodes?.[id] ?? {};
      const state: PersistentState = { acceptedEpoch: 1, currentEpoch: 1, votedFor: 0, ...n.state };
      const log = n.log ?? [];
      // a constant per server: distinct election timeouts, so ticking everyone never splits votes forever
      const r = ((id * 7) % 10) / 10;
      const zab = new Zab(
        {
          id,
          voters: spec.voters,
          observers,
          syncLimitTicks: 5,
          initLimitTicks: 10,
          electionTicks: 10,
          logRetainEntries: 100,
          ...spec.opts,
          random: () => r,
          snapshot: () => ({ zxid: this.applied.get(id)!, data: new Uint8Array([id]) }),
        },
        { state, baseZxid: 0, entries: log },
      );
      this.zabs.set(id, zab);
      this.readies.set(id, []);
      this.durableState.set(id, { ...state });
      this.durableZxid.set(id, zab.lastZxid);
      this.generation.set(id, 0);
      this.applied.set(id, zab.lastZxid);
    }
    for (const id of this.zabs.keys()) this.flush(id);
  }

  z(id: number): Zab {
    const z = this.zabs.get(id);
    assert.ok(z, `no server ${id}`);
    return z;
  }

  cut(a: number, b: number): void {
    this.cuts.add(`${Math.min(a, b)}-${Math.max(a, b)}`);
  }
  heal(): void {
    this.cuts.clear();
  }
  isolate(id: number): void {
    for (const other of this.zabs.keys()) if (other !== id) this.cut(id, other);
  }

  /** Carry out everything the server has ready, as a host does (state, disk, network, apply). */
  flush(id: number): void {
    const z = this.z(id);
    while (z.hasReady()) {
      const r = z.ready();
      this.readies.get(id)!.push(r);
      if (r.state) this.durableState.set(id, { ...r.state });
      if (r.snapshot) this.applied.set(id, r.snapshot.zxid);
      if (r.truncateAfter !== null) this.durableZxid.set(id, Math.min(this.durableZxid.get(id)!, r.truncateAfter));
      this.generation.set(id, r.generation);
      for (const env of r.messages) {
        this.sent.push({ env, durableState: { ...this.durableState.get(id)! }, durableZxid: this.durableZxid.get(id)! });
        this.queue.push(env);
      }
      if (r.reload) {
        // rebuild the applied state from disk: everything up to the truncation point
        z.reloaded(r.truncateAfter!);
        this.applied.set(id, r.truncateAfter!);
      }
      for (const e of r.committed) this.applied.set(id, e.zxid);
      if (!this.holdDisk.has(id)) this.completeWrites(id);
    }
  }

  /** The server's log writes so far are on disk: report it. */
  persist(id: number): void {
    this.completeWrites(id);
    this.flush(id);
  }

  private completeWrites(id: number): void {
    const z = this.z(id);
    this.durableZxid.set(id, z.lastZxid);
    z.persistedUpTo(this.generation.get(id)!, z.lastZxid);
  }

  /** Propose a txn at the leader `id` and hand its proposals to the network. */
  propose(id: number, data: Uint8Array): number | null {
    const zxid = this.z(id).propose(data);
    this.flush(id);
    return zxid;
  }

  /** Hand one message to a server directly, as if it came from `from`. */
  step(to: number, from: number, msg: Msg): void {
    this.z(to).step(from, msg);
    this.flush(to);
  }

  /** Deliver every message in flight, and those they cause, until the network is quiet. */
  deliver(): void {
    for (let n = 0; this.queue.length > 0; n++) {
      assert.ok(n < 100_000, 'message storm');
      const env = this.queue.shift()!;
      if (this.cuts.has(`${Math.min(env.from, env.to)}-${Math.max(env.from, env.to)}`)) continue;
      if (this.dropIf?.(env)) continue;
      if (!this.zabs.has(env.to)) continue;
      this.step(env.to, env.from, env.msg);
    }
  }

  /** n rounds of: every server ticks, then the network settles. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.zabs.keys()) {
        this.z(id).tick();
        this.flush(id);
      }
      this.deliver();
    }
  }

  /** Tick only `id` until it campaigns (sends a pre-vote or vote request), then settle the network. */
  campaign(id: number): void {
    const mark = this.sent.length;
    const campaigned = (): boolean =>
      this.sent.slice(mark).some((s) => s.env.from === id && (s.env.msg.type === 'prevote_req' || s.env.msg.type === 'vote_req'));
    for (let i = 0; !campaigned(); i++) {
      assert.ok(i < 100, `server ${id} never campaigned`);
      this.z(id).tick();
      this.flush(id);
    }
    this.deliver();
  }

  /** Messages sent since index `mark` (default: all), optionally of one type. */
  messages<T extends Msg['type']>(type: T, mark = 0): Array<Sent & { env: { msg: Extract<Msg, { type: T }> } }> {
    return this.sent.slice(mark).filter((s) => s.env.msg.type === type) as Array<Sent & { env: { msg: Extract<Msg, { type: T }> } }>;
  }
}

/** Three voters with the same history (E1 1..3); server 1 elected and established in a new epoch (3: a pre-vote for 2, then the vote above it). */
function establishedTrio(spec: Partial<ClusterSpec> = {}): Cluster {
  const c = new Cluster({
    voters: [1, 2, 3],
    nodes: { 1: { log: txns(1, 1, 3) }, 2: { log: txns(1, 1, 3) }, 3: { log: txns(1, 1, 3) } },
    ...spec,
  });
  c.campaign(1);
  assert.ok(c.z(1).isEstablishedLeader, 'server 1 leads');
  return c;
}

// ---------- 0: election ----------

// zab.ts atLeastAsUpToDate / electable / onPrevoteReq / onVoteReq: a voter helps elect only a
// candidate whose history (currentEpoch, lastZxid) is at least its own, so whoever wins holds every
// committed txn (FastLeaderElection's totalOrderPredicate; Raft's election restriction, 5.4.1).
test('voter_refuses_a_candidate_whose_history_is_behind_its_own', () => {
  const c = new Cluster({
    voters: [1, 2, 3],
    nodes: { 1: { log: txns(1, 1, 3) }, 2: { log: txns(1, 1, 5) }, 3: { log: txns(1, 1, 5) } },
  });
  c.campaign(1);
  const replies = c.messages('prevote').filter((s) => s.env.to === 1);
  assert.equal(replies.length, 2);
  assert.ok(
    replies.every((s) => !s.env.msg.granted),
    'both voters refuse the pre-vote',
  );
  assert.equal(c.z(1).role, 'looking');
  assert.equal(c.messages('vote_req').length, 0, 'a refused pre-vote leads to no vote');
  for (const id of [1, 2, 3]) assert.equal(c.z(id).acceptedEpoch, 1, `server ${id} promised nothing`);

  // the vote itself is refused too (a restore's campaign skips the pre-vote), though the epoch is promised
  const mark = c.sent.length;
  c.step(2, 1, { type: 'vote_req', epoch: 2, currentEpoch: 1, lastZxid: E1(3) });
  const [vote] = c.messages('vote', mark);
  assert.ok(vote && !vote.env.msg.granted, 'vote refused');
  assert.equal(vote.durableState.votedFor, 0);

  // the most up-to-date candidate wins and brings the other to its history
  c.campaign(3);
  assert.ok(c.z(3).isEstablishedLeader);
  assert.equal(c.z(1).role, 'following');
  assert.equal(c.z(1).lastZxid, E1(5));
});

// zab.ts atLeastAsUpToDate: currentEpoch first, then lastZxid. A server that kept uncommitted txns
// of an old epoch (E1 4, 5 here) is behind one that took a later leader's history, however long
// its log (ZooKeeper compares the peer epoch before the zxid; Zab's f.a before f.zxid).
test('history_order_compares_current_epoch_before_last_zxid', () => {
  const c = new Cluster({
    voters: [1, 2, 3],
    nodes: {
      1: { state: { acceptedEpoch: 2, currentEpoch: 2 }, log: txns(1, 1, 3) },
      2: { state: { acceptedEpoch: 2, currentEpoch: 1 }, log: txns(1, 1, 5) },
      3: { state: { acceptedEpoch: 2, currentEpoch: 2 }, log: txns(1, 1, 3) },
    },
  });
  c.campaign(2);
  assert.equal(c.z(2).role, 'looking', 'the longer but older history does not win');
  assert.ok(
    c
      .messages('prevote')
      .filter((s) => s.env.to === 2)
      .every((s) => !s.env.msg.granted),
  );
  c.campaign(1);
  assert.ok(c.z(1).isEstablishedLeader);
  // and server 2's extra txns are cut (TRUNC to the leader's E1 3)
  assert.equal(firstSyncTo(c, 2).mode, 'trunc');
  assert.equal(c.z(2).lastZxid, E1(3));
  assert.equal(c.z(2).currentEpoch, c.z(1).activeEpoch);
});

// zab.ts onVoteReq: granting a vote for epoch e writes acceptedEpoch = e and votedFor first (the
// ready that carries the vote carries the state, which the host writes before sending), and a
// second candidate for the same epoch is refused: at most one leader per epoch (Zab's discovery;
// Raft 5.2's one vote per term). Ark has no id tie-break: equal histories, first asker wins.
test('voter_grants_one_candidate_per_epoch_and_persists_the_promise_before_answering', () => {
  const c = new Cluster({ voters: [1, 2, 3], nodes: { 1: { log: txns(1, 1, 3) }, 2: { log: txns(1, 1, 3) }, 3: { log: txns(1, 1, 3) } } });
  const mark = c.sent.length;
  c.step(3, 1, { type: 'vote_req', epoch: 2, currentEpoch: 1, lastZxid: E1(3) });
  c.step(3, 2, { type: 'vote_req', epoch: 2, currentEpoch: 1, lastZxid: E1(3) });
  const votes = c.messages('vote', mark);
  assert.deepEqual(
    votes.map((s) => [s.env.to, s.env.msg.granted]),
    [
      [1, true],
      [2, false],
    ],
  );
  assert.deepEqual(votes[0]!.durableState, { acceptedEpoch: 2, currentEpoch: 1, votedFor: 1 }, 'promise on disk before the grant left');
  // a repeat of the granted request is granted again (a lost vote is re-sent)
  c.step(3, 1, { type: 'vote_req', epoch: 2, currentEpoch: 1, lastZxid: E1(3) });
  assert.equal(c.messages('vote', mark).at(-1)!.env.msg.granted, true);
});

// zab.ts electable / blankVoters: voters with no history elect one with none only once they heard
// every voter has none, so members whose data dirs were wiped cannot outvote a member that holds
// the ensemble's data while it is down.
test('blank_voters_elect_a_blank_candidate_only_once_every_voter_is_known_blank', () => {
  const blank = { state: { acceptedEpoch: 0, currentEpoch: 0 } };
  const c = new Cluster({ voters: [1, 2, 3], nodes: { 1: blank, 2: blank, 3: blank } });
  c.isolate(3);
  c.tickAll(60);
  for (const id of [1, 2]) assert.equal(c.z(id).role, 'looking', `server ${id} is not elected without hearing server 3`);
  assert.deepEqual(c.z(2).waitingForVoters, { heard: [1], missing: [3] });
  c.heal();
  c.tickAll(60);
  const leaders = [1, 2, 3].filter((id) => c.z(id).isEstablishedLeader);
  assert.equal(leaders.length, 1, 'with all three heard, a leader is elected');
});

// ---------- pre-vote ----------

// zab.ts onPrevoteReq (leaderAlive): a follower that hears its leader refuses a pre-vote, and a
// pre-vote persists nothing, so a server cut off from its leader cannot make the ensemble move to
// a new epoch (Raft thesis 9.6; ZooKeeper has no pre-vote, its followers ignore notifications
// while they follow).
test('follower_that_hears_its_leader_refuses_a_prevote', () => {
  const c = establishedTrio();
  const epoch = c.z(1).activeEpoch;
  c.cut(1, 3); // 3 no longer hears the leader; 2 does
  c.tickAll(60);
  assert.equal(c.z(3).role, 'looking', 'a follower that stops hearing its leader goes looking');
  const toThree = c.messages('prevote').filter((s) => s.env.from === 2 && s.env.to === 3);
  assert.ok(toThree.length >= 2, 'server 3 kept asking');
  assert.ok(
    toThree.every((s) => !s.env.msg.granted),
    'server 2 refused every pre-vote',
  );
  assert.equal(c.messages('vote_req').filter((s) => s.env.from === 3).length, 0, 'server 3 never asked for votes');
  for (const id of [1, 2, 3]) assert.equal(c.z(id).acceptedEpoch, epoch, `server ${id} still in epoch ${epoch}`);
  assert.ok(c.z(1).isEstablishedLeader);
  assert.equal(c.z(2).role, 'following');
});

// ---------- sync ----------

/** Leader 1 with E1 1..10, keeping 3 entries past its snapshot (log from E1 8); learners as given. */
function syncCluster(): Cluster {
  const c = new Cluster({
    voters: [1, 2, 3, 4, 5],
    opts: { logRetainEntries: 3 },
    nodes: {
      1: { log: txns(1, 1, 10) },
      2: { log: txns(1, 1, 9) }, // slightly behind
      3: { log: txns(1, 1, 2) }, // behind the leader's retained log
      4: { log: txns(1, 1, 11) }, // ahead: E1 11 was never committed
      5: { log: txns(1, 1, 10) },
    },
  });
  c.z(1).compact(E1(10));
  c.campaign(1);
  assert.ok(c.z(1).isEstablishedLeader);
  return c;
}

function firstSyncTo(c: Cluster, id: number): Extract<Msg, { type: 'sync' }> {
  const s = c.messages('sync').find((x) => x.env.to === id);
  assert.ok(s, `a sync to ${id}`);
  return s.env.msg;
}

// zab.ts syncLearner: a learner whose last zxid the leader holds gets DIFF, the txns after it
// (ZooKeeper LearnerHandler.syncFollower, the DIFF case).
test('learner_slightly_behind_gets_diff', () => {
  const c = syncCluster();
  const s = firstSyncTo(c, 2);
  assert.equal(s.mode, 'diff');
  assert.equal(s.prevZxid, E1(9));
  assert.deepEqual(
    s.entries.map((e) => e.zxid),
    [E1(10)],
  );
  assert.equal(c.z(2).lastZxid, E1(10));
  assert.ok(c.z(2).serving);
});

// zab.ts syncLearner: a learner with txns the leader does not have is cut back to the last zxid
// they share (TRUNC), never given a snapshot for it (LearnerHandler's TRUNC case).
test('learner_ahead_with_txns_the_leader_lacks_gets_trunc', () => {
  const c = syncCluster();
  const s = firstSyncTo(c, 4);
  assert.equal(s.mode, 'trunc');
  assert.equal(s.prevZxid, E1(10));
  assert.deepEqual(s.entries, []);
  assert.ok(
    c.readies.get(4)!.some((r) => r.truncateAfter === E1(10)),
    'the learner truncated its disk',
  );
  assert.equal(c.z(4).lastZxid, E1(10));
  assert.ok(c.z(4).serving);
});

// zab.ts syncLearner (peerLast < logBase) and compact: a learner behind the leader's retained log
// gets SNAP, the snapshot and the txns after it (LearnerHandler's SNAP case when the peer's zxid
// is below minCommittedLog).
test('learner_behind_the_retained_log_gets_snap', () => {
  const c = syncCluster();
  const s = firstSyncTo(c, 3);
  assert.equal(s.mode, 'snap');
  assert.equal(s.snapshot?.zxid, E1(10));
  assert.ok(
    c.readies.get(3)!.some((r) => r.snapshot?.zxid === E1(10)),
    'the learner installed the snapshot',
  );
  assert.equal(c.z(3).lastZxid, E1(10));
  assert.ok(c.z(3).serving);
  assert.equal(c.messages('sync').filter((x) => x.env.msg.mode === 'snap').length, 1, 'only server 3 needed a snapshot');
});

// zab.ts onSync (snapshotFloor): a learner never truncates below its own durable snapshot, which
// may hold txns applied at start-up that were never committed (ZOOKEEPER-1549); it answers the
// TRUNC with a NAK and takes a SNAP instead.
test('learner_asked_to_truncate_below_its_snapshot_takes_a_snap_instead', () => {
  const c = new Cluster({
    voters: [1, 2, 3],
    nodes: { 1: { log: txns(1, 1, 10) }, 2: { log: txns(1, 1, 10) }, 3: { log: txns(1, 1, 11) } },
  });
  c.z(3).compact(E1(11)); // server 3 snapshotted E1 11 (keeping its log)
  c.campaign(1);
  assert.equal(firstSyncTo(c, 3).mode, 'trunc');
  assert.equal(c.messages('sync_nak').length, 1);
  assert.ok(
    c.readies.get(3)!.every((r) => r.truncateAfter === null),
    'server 3 never truncated',
  );
  const syncs = c.messages('sync').filter((x) => x.env.to === 3);
  assert.equal(syncs.at(-1)!.env.msg.mode, 'snap');
  assert.equal(c.z(3).lastZxid, E1(10));
  assert.ok(c.z(3).serving);
});

// zab.ts learnerPersisted: a learner writes the synced txns, then currentEpoch, then sends
// ACK-NEWLEADER; never the ack before the disk has what it acknowledges (ZOOKEEPER-3911, -4643,
// -4646: a quorum "acknowledged" a history some of them would lose in a crash).
test('learner_acks_newleader_only_after_the_synced_txns_are_durable', () => {
  const c = new Cluster({ voters: [1, 2, 3], nodes: { 1: { log: txns(1, 1, 5) }, 2: { log: txns(1, 1, 2) }, 3: { log: txns(1, 1, 5) } } });
  c.holdDisk.add(2);
  c.campaign(1);
  assert.ok(c.z(1).isEstablishedLeader, 'established with server 3');
  assert.equal(firstSyncTo(c, 2).mode, 'diff');
  assert.equal(c.z(2).lastZxid, E1(5), 'server 2 has the txns in memory');
  assert.equal(c.messages('ack_newleader').filter((s) => s.env.from === 2).length, 0, 'no ack before the write completes');
  assert.equal(c.z(2).currentEpoch, 1, 'nor currentEpoch');
  assert.equal(c.z(2).serving, false);

  c.persist(2);
  c.deliver();
  const [ack] = c.messages('ack_newleader').filter((s) => s.env.from === 2);
  assert.ok(ack);
  assert.equal(ack.durableZxid, E1(5), 'the synced txns were on disk when the ack left');
  assert.equal(ack.durableState.currentEpoch, c.z(1).activeEpoch, 'and so was currentEpoch');
  assert.ok(c.z(2).serving, 'the leader answered with UPTODATE');
});

// zab.ts installSnapshot / awaitingDurable: after a SNAP the learner acknowledges only once the
// host reports the snapshot itself durable, even when no txns follow it.
test('learner_acks_newleader_after_a_snap_only_once_the_snapshot_is_durable', () => {
  const c = new Cluster({
    voters: [1, 2, 3],
    opts: { logRetainEntries: 0 },
    nodes: { 1: { log: txns(1, 1, 5) }, 2: { log: txns(1, 1, 1) }, 3: { log: txns(1, 1, 5) } },
  });
  c.z(1).compact(E1(5));
  c.holdDisk.add(2);
  c.campaign(1);
  const s = firstSyncTo(c, 2);
  assert.equal(s.mode, 'snap');
  assert.deepEqual(s.entries, []);
  assert.ok(c.readies.get(2)!.some((r) => r.snapshot?.zxid === E1(5)));
  assert.equal(c.messages('ack_newleader').filter((x) => x.env.from === 2).length, 0, 'no ack before the snapshot is on disk');
  c.persist(2);
  c.deliver();
  assert.equal(c.messages('ack_newleader').filter((x) => x.env.from === 2).length, 1);
  assert.ok(c.z(2).serving);
});

// ---------- broadcast ----------

// zab.ts advanceCommit (establishment): the epoch is established, and the leader serves, only
// once a quorum of voters took its history; observers' NEWLEADER acks do not count (ZooKeeper's
// Leader.waitForNewLeaderAck counts only voting members).
test('epoch_is_established_only_by_a_quorum_of_voters', () => {
  const c = new Cluster({
    voters: [1, 2, 3],
    observers: [4, 5],
    nodes: {
      1: { log: txns(1, 1, 3) },
      2: { log: txns(1, 1, 3) },
      3: { log: txns(1, 1, 3) },
      4: { log: txns(1, 1, 3) },
      5: { log: txns(1, 1, 3) },
    },
  });
  c.dropIf = (env) => env.msg.type === 'follower_info' && (env.from === 2 || env.from === 3);
  c.campaign(1);
  assert.equal(c.z(1).role, 'leading');
  assert.equal(
    c.messages('ack_newleader').filter((s) => s.env.from === 4 || s.env.from === 5).length,
    2,
    'both observers took the history',
  );
  assert.equal(c.z(1).isEstablishedLeader, false, 'two observers are not a quorum');
  assert.equal(c.z(4).serving, false);
  c.dropIf = null;
  c.tickAll(2);
  assert.ok(c.z(1).isEstablishedLeader);
  assert.ok(c.z(4).serving);
});

// zab.ts advanceCommit: a txn is committed once a quorum of voters has it on disk (the median of
// the voters' acked zxids); fewer acks commit nothing (Zab phase 3; ZooKeeper Leader.processAck).
test('txn_commits_only_with_acks_from_a_quorum_of_voters', () => {
  const c = new Cluster({ voters: [1, 2, 3, 4, 5], nodes: Object.fromEntries([1, 2, 3, 4, 5].map((id) => [id, { log: txns(1, 1, 3) }])) });
  c.campaign(1);
  assert.ok(c.z(1).isEstablishedLeader);
  const first = makeZxid(c.z(1).activeEpoch, 1);
  for (const id of [2, 3, 4, 5]) c.holdDisk.add(id);
  const mark = c.sent.length;
  const zxid = c.propose(1, new Uint8Array([42]));
  assert.equal(zxid, first);
  c.deliver();
  assert.equal(c.z(1).commitZxid, E1(3), 'the leader alone is not a quorum of five');
  c.persist(2);
  c.deliver();
  assert.equal(c.z(1).commitZxid, E1(3), 'two of five are not a quorum');
  assert.equal(c.messages('commit', mark).length, 0);
  c.persist(3);
  c.deliver();
  assert.equal(c.z(1).commitZxid, first, 'three of five are');
  assert.ok(c.messages('commit', mark).length > 0 && c.messages('commit', mark).every((s) => s.env.msg.zxid === first));
  assert.equal(c.z(5).commitZxid, first, 'the commit reached a follower that has not acked');
});

// zab.ts advanceCommit (acked = [persistedZxid, ...]): the leader's own vote for a txn is its own
// completed write, not its in-memory log (ZooKeeper's leader acks itself from its
// SyncRequestProcessor, after the fsync).
test('leader_counts_its_own_ack_only_once_its_write_is_durable', () => {
  const c = establishedTrio();
  const first = makeZxid(c.z(1).activeEpoch, 1);
  c.holdDisk.add(1);
  c.holdDisk.add(3);
  c.propose(1, new Uint8Array([1]));
  c.deliver();
  assert.ok(
    c.messages('ack').some((s) => s.env.from === 2 && s.env.msg.zxid === first),
    'server 2 acked',
  );
  assert.equal(c.z(1).commitZxid, E1(3), "server 2's ack and the leader's unfinished write are not a quorum");
  c.persist(1);
  c.deliver();
  assert.equal(c.z(1).commitZxid, first);
});

// zab.ts advanceCommit (voters only, not observers) and stepLeader 'ack': an observer that holds a
// txn (here it synced after the proposal, so its NEWLEADER ack covers it) does not help commit it
// (ZooKeeper observers never send ACKs; the quorum verifier counts voting members only).
test('observer_acks_never_count_toward_the_commit_quorum', () => {
  const c = establishedTrio({
    observers: [4],
    nodes: { 1: { log: txns(1, 1, 3) }, 2: { log: txns(1, 1, 3) }, 3: { log: txns(1, 1, 3) }, 4: { log: txns(1, 1, 3) } },
  });
  const first = makeZxid(c.z(1).activeEpoch, 1);
  c.cut(1, 3);
  c.isolate(4);
  c.tickAll(6); // the leader counts the observer gone (syncLimit)
  c.holdDisk.add(2);
  c.propose(1, new Uint8Array([7]));
  c.deliver();
  assert.equal(c.z(1).commitZxid, E1(3));
  // the observer comes back and is synced with the proposal in its DIFF
  c.heal();
  c.cut(1, 3);
  c.tickAll(1);
  const obsAck = c
    .messages('ack_newleader')
    .filter((s) => s.env.from === 4)
    .at(-1);
  assert.equal(obsAck?.env.msg.zxid, first, 'the observer holds the proposal on disk');
  // even an (unexpected) plain ack from it is not counted
  c.step(1, 4, { type: 'ack', epoch: c.z(1).activeEpoch, zxid: first });
  c.tickAll(1); // pings: server 2 re-acks what it has, so the leader counts again
  assert.equal(c.z(1).commitZxid, E1(3), 'leader + observer are not a quorum of voters');
  c.persist(2);
  c.deliver();
  assert.equal(c.z(1).commitZxid, first);
});

// ---------- leader liveness ----------

// zab.ts tickLeading (hasQuorumContact): an established leader that has not heard a quorum of
// voters within syncLimit ticks steps down; observers it still hears do not keep it in office
// (ZooKeeper's Leader.lead loop shuts down when the synced voting followers are not a quorum).
test('leader_that_loses_a_quorum_of_voters_steps_down', () => {
  const c = establishedTrio({
    observers: [4],
    nodes: { 1: { log: txns(1, 1, 3) }, 2: { log: txns(1, 1, 3) }, 3: { log: txns(1, 1, 3) }, 4: { log: txns(1, 1, 3) } },
  });
  assert.ok(c.z(4).serving);
  // one voter gone: still a quorum
  c.cut(1, 3);
  c.tickAll(20);
  assert.ok(c.z(1).isEstablishedLeader, 'leader + one follower are a quorum');
  // both gone, the observer still there
  c.cut(1, 2);
  c.tickAll(1);
  assert.ok(c.z(1).isEstablishedLeader, 'not after one tick');
  c.tickAll(5);
  assert.equal(c.z(1).role, 'looking', 'within syncLimit ticks the leader steps down');
  assert.equal(c.z(1).serving, false);
});

// zab.ts peerDown: a leader whose connections to a quorum of voters are reset steps down at once,
// without waiting for syncLimit.
test('leader_whose_connections_to_a_quorum_drop_steps_down_at_once', () => {
  const c = establishedTrio();
  c.z(1).peerDown(2);
  assert.ok(c.z(1).isEstablishedLeader, 'one lost follower leaves a quorum');
  c.z(1).peerDown(3);
  assert.equal(c.z(1).role, 'looking');
});
