// One ensemble member as a pure state machine: the server core (connections, prep, apply) on top
// of the Zab core. The real runtime and the simulator both drive it: client events and peer
// messages in, then ready() -> { what to persist, what to send to peers, bytes for clients }.
//
// Division of labour:
//   leader   prep turns requests (its own clients' and those learners forward) into txns; each txn
//            is proposed; a committed txn is applied and answers whoever waits for it.
//   learner  writes and new sessions are forwarded to the leader (an `app` payload); reads are
//            answered from the local tree; committed txns are applied in zxid order and matched
//            to the waiting request by (session, cxid), as ZooKeeper's CommitProcessor does.
//   both     client activity on a learner is reported to the leader, whose session tracker alone
//            expires sessions (closeSession txns).
import { AssertionError, assert } from '../util/errors.js';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import { readTxnBody, readTxnHeader, writeTxnBody, writeTxnHeader, type Txn, type TxnHeader } from '../wire/txn.js';
import { ServerCore, type CoreOptions, type Forward, type Output, type PendingTxn } from '../server/core.js';
import { encodeSnapshotNow, readSnapshot, type LoadedSnapshot, type SessionRecord } from '../storage/snapshot.js';
import type { DataTree } from '../tree/datatree.js';
import { Zab, type PersistentState, type RestoreOutcome, type ZabOptions } from '../consensus/zab.js';
import { epochOf, makeZxid, type Entry, type Envelope, type SnapshotImage } from '../consensus/messages.js';
import { decodePayload, encodePayload, type AppPayload, type RestoreResult } from './payloads.js';

export interface ReplicaOptions {
  core: CoreOptions;
  zab: Omit<ZabOptions, 'snapshot'>;
  /** readonlymode.enabled: serve read-only clients while looking for longer than readOnlyGraceMs */
  readOnlyMode?: boolean;
}

/**
 * How long a member looks for a quorum before it serves read-only clients: max(2 s, tickTime), as
 * QuorumPeer waits before it starts its ReadOnlyZooKeeperServer ("lower-bound grace period to 2 secs").
 */
export function readOnlyGraceMs(tickTimeMs: number): number {
  return Math.max(2000, tickTimeMs);
}

/** What the host read from disk: the snapshot's tree and sessions (at baseZxid) and the log after it. */
export interface Recovered {
  tree: DataTree;
  sessions: SessionRecord[];
  state: PersistentState;
  baseZxid: number;
  entries: Entry[];
  /** the same entries already decoded, when the host has them (the log scan does): not decoded again */
  decoded?: ReadonlyArray<{ hdr: TxnHeader; txn: Txn }>;
  /** told how many entries are replayed so far (start-up logs how far it is), every REPLAY_REPORT_EVERY and at the end */
  onReplayed?: (n: number) => void;
}

/** Entries replayed between two reports to onReplayed. */
export const REPLAY_REPORT_EVERY = 20_000;

/** What a reload needs: the durable snapshot and log, as at start-up (state is unchanged). */
export type DurableImage = Omit<Recovered, 'state'>;

export interface ReplicaReady {
  /** persist (fsync) before sending `messages` */
  state: PersistentState | null;
  /** a SNAP from the leader: write it as this server's snapshot, drop the log, before appending */
  snapshot: SnapshotImage | null;
  truncateAfter: number | null;
  /** append and fsync, then call persisted(generation, last zxid) */
  entries: Entry[];
  generation: number;
  messages: Envelope[];
  /** committed txns applied in this step, for the host's bookkeeping (archives, digests) */
  applied: Array<{ hdr: TxnHeader; txn: Txn }>;
  /** bytes for client connections */
  outputs: Output[];
  /** online restores asked of this server (restore()) that ended, by the id restore() returned */
  restores: Array<{ id: number; result: RestoreResult }>;
  /**
   * Leader: backups to restore (asked here, from = 0, or forwarded by learner `from`). The host
   * reads each off the event loop (a million znodes take seconds to parse) and hands it back with
   * runRestore(), or restoreUnreadable() with why.
   */
  restoreAsks: Array<{ from: number; id: number; bytes: Uint8Array }>;
}

export function encodeEntry(hdr: TxnHeader, txn: Txn, w = new JuteWriter(256)): Buffer {
  w.reset();
  writeTxnHeader(w, hdr);
  writeTxnBody(w, txn);
  return w.take();
}

export function decodeEntry(data: Uint8Array): { hdr: TxnHeader; txn: Txn } {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const r = new JuteReader(buf);
  const hdr = readTxnHeader(r);
  const txn = readTxnBody(r, hdr.type, hdr.sessionId);
  return { hdr, txn };
}

export class Replica {
  readonly core: ServerCore;
  readonly zab: Zab;
  /** leader: its own txns between propose and commit, so commit needs no decode */
  private readonly proposed = new Map<number, PendingTxn>();
  private readonly writer = new JuteWriter(4096);
  private now: number;
  private servingEpoch = -1;
  private needsReload = false;
  private readonly appBacklog: Array<{ from: number; data: Uint8Array }> = [];
  /** SNAP images already parsed and checked on receipt, for the install */
  private readonly checkedSnapshots = new WeakMap<SnapshotImage, LoadedSnapshot>();
  /** peer payloads that could not be decoded (a bug or a hostile peer); the host logs them */
  readonly errors: string[] = [];
  /** the restore this server runs as leader: who asked (0: this server's own host) and what it restores */
  private restoring: { from: number; id: number; backupZxid: number; nodes: number; sessions: number } | null = null;
  /** results to hand the host, and replies owed to learners that forwarded a restore (sent once they are in sync) */
  private restoreResults: Array<{ id: number; result: RestoreResult }> = [];
  private restoreReplies: Array<{ to: number; id: number; result: RestoreResult }> = [];
  private restoreAsks: ReplicaReady['restoreAsks'] = [];
  private nextRestoreId = 1;
  /**
   * A restore's new epoch goes above this zxid (the host's archive end: another history may have
   * written there, and a restored history must not reuse its zxids); set by the host.
   */
  restoreFloor = 0;
  /** restores this learner forwarded, by id, with the leader it forwarded them to */
  private forwarded = new Map<number, number>();
  /** the last SNAP image, reused while the tree has not moved (several learners, or a restore, SNAP at once) */
  private lastImage: { tree: DataTree; image: SnapshotImage } | null = null;
  /** read-only mode: when consensus last started looking (null while it is not looking); null grace: disabled */
  private lookingSince: number | null = null;
  private readonly readOnlyGrace: number | null;

  constructor(opts: ReplicaOptions, rec: Recovered, now: number) {
    this.now = now;
    this.readOnlyGrace = opts.readOnlyMode ? readOnlyGraceMs(opts.core.tickTimeMs) : null;
    this.core = new ServerCore(opts.core, now);
    this.core.setMode('down', 0, now);
    this.load(rec);
    this.zab = new Zab(
      { ...opts.zab, snapshot: () => this.snapshotImage() },
      { state: rec.state, baseZxid: rec.baseZxid, entries: rec.entries },
    );
  }

  /** Snapshot, then every logged txn after it (committed or not: a later TRUNC reloads). */
  private load(img: DurableImage): void {
    assert(img.tree.lastProcessedZxid === img.baseZxid, 'the snapshot tree must be at baseZxid');
    this.core.restore(img.tree, img.sessions, img.baseZxid);
    assert(!img.decoded || img.decoded.length === img.entries.length, 'decoded entries do not match the entries');
    img.entries.forEach((e, i) => {
      const d = img.decoded?.[i] ?? decodeEntry(e.data);
      assert(d.hdr.zxid === e.zxid, 'log entry zxid differs from its txn header');
      this.core.replay(d.hdr, d.txn);
      if ((i + 1) % REPLAY_REPORT_EVERY === 0) img.onReplayed?.(i + 1);
    });
    img.onReplayed?.(img.entries.length);
    this.core.recovered(this.now);
  }

  get role(): string {
    return this.zab.role;
  }

  /** The host carried out a `reload` request: this is what its disk holds now. */
  reloaded(img: DurableImage): void {
    assert(this.core.mode === 'down', 'reload while serving');
    this.load(img);
    assert(this.core.lastApplied <= this.zab.lastZxid, 'reloaded past the log');
    this.needsReload = false;
    this.zab.reloaded(this.core.lastApplied);
  }

  get awaitingReload(): boolean {
    return this.needsReload;
  }

  private snapshotImage(): SnapshotImage {
    const tree = this.core.tree;
    const last = this.lastImage;
    if (last && last.tree === tree && last.image.zxid === tree.lastProcessedZxid) return last.image;
    const image = { zxid: tree.lastProcessedZxid, data: encodeSnapshotNow(tree, this.core.sessionRecords(), this.now) };
    this.lastImage = { tree, image };
    return image;
  }

  // ---------- online restore ----------

  /**
   * Restores the ensemble to the backup in `bytes` as one replicated decision: the leader runs it
   * (Zab.restore: a new epoch whose history is the backup's state); a learner forwards the bytes
   * to the leader as they are (a compressed backup is a tenth of the tree it holds). Returns an id;
   * the result comes in ready().restores.
   */
  restore(bytes: Uint8Array): number {
    const id = this.nextRestoreId++;
    if (this.zab.isEstablishedLeader) {
      this.restoreAsks.push({ from: 0, id, bytes });
    } else if (this.core.mode === 'learner') {
      // a writer of its own, sized for the backup: the shared one would keep a backup's size for good
      const payload = encodePayload({ type: 'restore', id, backup: bytes }, new JuteWriter(bytes.length + 16));
      if (this.zab.sendApp(this.zab.leaderId, payload)) this.forwarded.set(id, this.zab.leaderId);
      else this.restoreResults.push({ id, result: { ok: false, error: 'this server lost its leader: try again once it serves' } });
    } else {
      this.restoreResults.push({ id, result: { ok: false, error: 'this server does not serve: no leader is established' } });
    }
    return id;
  }

  /** Leader: the host read a backup of restoreAsks: the restore starts, or is answered why not. */
  runRestore(from: number, id: number, snapshot: LoadedSnapshot, now: number): void {
    this.now = now;
    if (!this.zab.isEstablishedLeader) {
      this.restoreEnded(from, id, { ok: false, error: 'the leader stopped leading while it read the backup; nothing changed, try again' });
      return;
    }
    this.startRestore(from, id, snapshot);
  }

  /** Leader: a backup of restoreAsks could not be read (damaged, or not a backup). */
  restoreUnreadable(from: number, id: number, error: string): void {
    this.restoreEnded(from, id, { ok: false, error });
  }

  /** Leader: starts the restore for `from` (0: this server), or answers why it cannot. */
  private startRestore(from: number, id: number, snapshot: LoadedSnapshot): void {
    const original = snapshot.zxid;
    const minEpoch = epochOf(Math.max(original, this.restoreFloor));
    const why = this.restoring
      ? 'a restore is already running'
      : this.zab.restore(minEpoch, (zxid) => {
          // the backup's tree, labelled with the new epoch's first zxid: the image every member takes
          const tree = snapshot.tree;
          tree.lastProcessedZxid = zxid;
          const image = { zxid, data: encodeSnapshotNow(tree, snapshot.sessions, this.now) };
          this.checkedSnapshots.set(image, { ...snapshot, zxid });
          this.lastImage = { tree, image };
          return image;
        });
    if (why !== null) {
      this.restoreEnded(from, id, { ok: false, error: why });
      return;
    }
    this.restoring = { from, id, backupZxid: original, nodes: snapshot.tree.nodeCount, sessions: snapshot.sessions.length };
  }

  private restoreEnded(from: number, id: number, result: RestoreResult): void {
    if (from === 0) this.restoreResults.push({ id, result });
    else this.restoreReplies.push({ to: from, id, result });
  }

  /** Consensus says how this server's restore ended. */
  private restoreOutcome(o: RestoreOutcome): void {
    const r = this.restoring;
    if (!r) return;
    this.restoring = null;
    this.restoreEnded(r.from, r.id, o.ok ? { ok: true, zxid: o.zxid, backupZxid: r.backupZxid, nodes: r.nodes, sessions: r.sessions } : o);
  }

  /** Leader: replies owed to learners go out once each is in sync in the established epoch (it drops app payloads before). */
  private sendRestoreReplies(): void {
    if (!this.zab.isEstablishedLeader || this.restoreReplies.length === 0) return;
    const synced = new Set(
      this.zab
        .learnerSummary()
        .filter((l) => l.status === 'synced')
        .map((l) => l.id),
    );
    this.restoreReplies = this.restoreReplies.filter((rep) => {
      if (!synced.has(rep.to)) return true;
      this.zab.sendApp(rep.to, encodePayload({ type: 'restored', id: rep.id, result: rep.result }, this.writer));
      return false;
    });
  }

  /**
   * Learner: a forwarded restore is answered by the leader it went to, which runs it as a new
   * epoch and answers once this server synced to that epoch. Another leader (or a lost
   * connection: the leader may have restarted) will never answer; the outcome is then unknown.
   */
  private abandonForwarded(leaderGone: number | null): void {
    if (this.forwarded.size === 0) return;
    const following = this.zab.role === 'following' || this.zab.role === 'observing';
    for (const [id, to] of this.forwarded) {
      const moved = this.zab.role === 'leading' || (following && this.zab.leaderId !== to);
      if (!moved && leaderGone !== to) continue;
      this.forwarded.delete(id);
      this.restoreResults.push({
        id,
        result: {
          ok: false,
          error: `server ${to}, the leader this server forwarded the restore to, stopped leading or lost its connection before it answered: the ensemble may or may not have taken the restore; check the members' zxid (srvr) before retrying`,
        },
      });
    }
  }

  /** Learner: the leader's answer to a restore this server forwarded. */
  private onRestored(id: number, result: RestoreResult): void {
    if (!this.forwarded.delete(id)) return; // already reported as abandoned
    this.restoreResults.push({ id, result });
  }

  // ---------- inputs ----------

  tick(now: number): void {
    this.now = now;
    this.zab.tick();
    this.syncMode();
    if (this.core.mode === 'leader' || this.core.mode === 'readonly') this.core.tick(now);
    if (this.core.mode === 'learner') {
      const touched = this.core.takeTouched();
      if (touched.length > 0) this.zab.sendApp(this.zab.leaderId, encodePayload({ type: 'touch', sessionIds: touched }, this.writer));
    }
  }

  receive(from: number, msg: Envelope['msg'], now: number): void {
    this.now = now;
    // a SNAP consensus takes is checked (CRC, digest) before it acts on it: a damaged or foreign
    // one is dropped here, and the learner asks again, instead of failing the install later; one
    // it would not take (a repeat, an old phase's) is not parsed at all (seconds at 1M znodes)
    if (msg.type === 'sync' && msg.snapshot && this.zab.takesSnapshot(from, msg)) {
      try {
        this.checkedSnapshots.set(msg.snapshot, this.parseSnapshot(msg.snapshot));
      } catch (e) {
        this.errors.push(`SNAP from server ${from} refused: ${(e as Error).message}`);
        return;
      }
    }
    this.zab.step(from, msg);
  }

  private parseSnapshot(image: SnapshotImage): LoadedSnapshot {
    const buf = Buffer.isBuffer(image.data) ? image.data : Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    const loaded = readSnapshot('snapshot from leader', buf);
    if (loaded.zxid !== image.zxid)
      throw new Error(`its header says zxid 0x${loaded.zxid.toString(16)}, the message 0x${image.zxid.toString(16)}`);
    return loaded;
  }

  peerDown(id: number): void {
    this.abandonForwarded(id);
    this.zab.peerDown(id);
  }

  persisted(generation: number, zxid: number, now: number): void {
    this.now = now;
    this.zab.persistedUpTo(generation, zxid);
  }

  // ---------- the step ----------

  /** Brings core and consensus in line, then hands the host what to do, in order. */
  ready(now: number): ReplicaReady {
    this.now = now;
    assert(!this.needsReload, 'ready() before the reload was done');
    const out: ReplicaReady = {
      state: null,
      snapshot: null,
      truncateAfter: null,
      entries: [],
      generation: 0,
      messages: [],
      applied: [],
      outputs: [],
      restores: [],
      restoreAsks: [],
    };
    // a few rounds: applying a commit can produce proposals, answering forwards produces txns
    for (let round = 0; round < 8; round++) {
      this.syncMode();
      this.pump();
      this.sendRestoreReplies();
      if (!this.zab.hasReady()) break;
      const r = this.zab.ready();
      if (r.state) out.state = r.state;
      if (r.snapshot) {
        out.snapshot = r.snapshot;
        out.truncateAfter = null;
        out.entries = [];
        this.installSnapshot(r.snapshot);
      }
      if (r.truncateAfter !== null) {
        out.truncateAfter = out.truncateAfter === null ? r.truncateAfter : Math.min(out.truncateAfter, r.truncateAfter);
        out.entries = out.entries.filter((e) => e.zxid <= r.truncateAfter!);
      }
      out.entries.push(...r.entries);
      out.generation = r.generation;
      out.messages.push(...r.messages);
      if (r.reload) {
        this.needsReload = true;
        assert(r.committed.length === 0, 'commits with a reload');
        break;
      }
      for (const e of r.committed) this.apply(e, out);
      for (const o of r.restores) this.restoreOutcome(o);
      // a learner acts on one payload from the leader: the answer to a restore it forwarded
      if (!this.zab.isEstablishedLeader) for (const a of r.app) this.onLeaderApp(a.from, a.data);
      // handled by pump() next round: a new leader may still be applying its history
      else for (const a of r.app) this.appBacklog.push(a);
      for (const b of r.barriers) this.core.barrierDone(b.id, b.zxid, now);
      for (const id of r.barriersFailed) this.core.barrierDone(id, Number.POSITIVE_INFINITY, now);
    }
    this.abandonForwarded(null);
    out.outputs = this.core.takeOutputs();
    out.restores = this.restoreResults;
    this.restoreResults = [];
    out.restoreAsks = this.restoreAsks;
    this.restoreAsks = [];
    return out;
  }

  /**
   * Moves the core's mode with consensus: serve only as an established leader or an up-to-date
   * learner; with read-only mode on, a member that has been looking for the grace period serves
   * read-only clients until consensus stops looking (QuorumPeer runs its ReadOnlyZooKeeperServer
   * only while LOOKING, and shuts it down, closing its connections, when the election ends).
   */
  private syncMode(): void {
    const z = this.zab;
    if (z.role !== 'looking') this.lookingSince = null;
    else if (this.lookingSince === null) this.lookingSince = this.now;
    const readOnly = this.readOnlyGrace !== null && this.lookingSince !== null && this.now - this.lookingSince >= this.readOnlyGrace;
    const want = !z.serving ? (readOnly ? 'readonly' : 'down') : z.role === 'leading' ? 'leader' : 'learner';
    const epoch = z.serving ? z.activeEpoch : -1;
    if (this.core.mode === want && this.servingEpoch === epoch) return;
    if (want === 'leader') {
      // every txn the old reign left is committed with the new epoch; prep starts once they are
      // applied (the next ready round), so it sees the tree it extends. The next zxid is epoch|1.
      if (this.core.lastApplied !== z.lastZxid) {
        if (this.core.mode !== 'down') this.core.setMode('down', 0, this.now);
        this.servingEpoch = -1;
        return;
      }
      this.proposed.clear();
      this.core.setMode('leader', makeZxid(epoch, 0), this.now);
    } else {
      this.proposed.clear();
      this.core.setMode(want, 0, this.now);
    }
    this.servingEpoch = epoch;
  }

  /** Moves decided txns into consensus (leader) and forwards to the leader (learner). */
  private pump(): void {
    const core = this.core;
    if (core.mode === 'leader') {
      while (this.appBacklog.length > 0 && this.zab.isEstablishedLeader) {
        const a = this.appBacklog.shift()!;
        this.onApp(a.from, a.data);
      }
      if (!this.zab.isEstablishedLeader) {
        // a forwarded restore made this server leave its epoch (Zab.restore): what it prepped in
        // this reign cannot be proposed; the core goes down with the reign (its clients and the
        // learners' clients reconnect and retry, as after any change of leader)
        this.appBacklog.length = 0;
        this.syncMode();
        return;
      }
      for (const p of core.takeTxns()) {
        const zxid = this.zab.propose(encodeEntry(p.hdr, p.txn, this.writer));
        assert(zxid === p.hdr.zxid, `prep gave 0x${p.hdr.zxid.toString(16)}, consensus 0x${zxid?.toString(16)}`);
        this.proposed.set(zxid, p);
      }
    }
    if (!this.zab.isEstablishedLeader) {
      // a learner's payloads from the leader carry nothing it acts on yet
      this.appBacklog.length = 0;
    }
    if (core.mode === 'learner') {
      for (const f of core.takeForwards()) this.zab.sendApp(this.zab.leaderId, encodePayload(forwardPayload(f), this.writer));
    }
    if (core.mode !== 'down') {
      for (const id of core.takeBarrierAsks()) {
        if (!this.zab.barrier(id)) core.barrierDone(id, Number.POSITIVE_INFINITY, this.now);
      }
    }
  }

  private apply(e: Entry, out: ReplicaReady): void {
    if (e.zxid <= this.core.lastApplied) return; // recovered at start-up already
    const mine = this.proposed.get(e.zxid);
    let p: PendingTxn;
    if (mine) {
      this.proposed.delete(e.zxid);
      p = mine;
    } else {
      const d = decodeEntry(e.data);
      p = { hdr: d.hdr, txn: d.txn, origin: null, connect: null };
    }
    assert(p.hdr.zxid === e.zxid, 'entry zxid differs from its txn header');
    this.core.committed([p], this.now);
    out.applied.push({ hdr: p.hdr, txn: p.txn });
  }

  private installSnapshot(image: SnapshotImage): void {
    const loaded = this.checkedSnapshots.get(image) ?? this.parseSnapshot(image);
    this.core.restore(loaded.tree, loaded.sessions, loaded.zxid);
    this.core.recovered(this.now);
  }

  // ---------- app payloads ----------

  /** A payload from the leader to this learner: only the answer to a restore it forwarded is acted on. */
  private onLeaderApp(from: number, data: Uint8Array): void {
    try {
      const p = decodePayload(data);
      if (p.type === 'restored') this.onRestored(p.id, p.result);
    } catch (e) {
      this.errors.push(`payload from leader ${from}: ${(e as Error).message}`);
    }
  }

  /** Leader: a payload from learner `from`. */
  private onApp(from: number, data: Uint8Array): void {
    try {
      this.onLearnerPayload(from, decodePayload(data));
    } catch (e) {
      // a payload that does not decode is the peer's; a broken invariant in prepping it is this
      // server's state, and must stop it rather than be logged as a bad payload
      if (e instanceof AssertionError) throw e;
      this.errors.push(`payload from server ${from}: ${(e as Error).message}`);
    }
  }

  private onLearnerPayload(from: number, p: AppPayload): void {
    switch (p.type) {
      case 'touch':
        this.core.touchSessions(p.sessionIds, this.now);
        return;
      case 'forward_create':
      case 'forward_request':
        this.core.forwarded(payloadForward(p), this.now);
        return;
      case 'restore':
        this.restoreAsks.push({ from, id: p.id, bytes: p.backup });
        return;
      case 'restored':
        throw new Error('a restore result, which only a leader sends');
    }
  }
}

/** A learner's forward as the payload that carries it to the leader. */
function forwardPayload(f: Forward): AppPayload {
  if (f.kind === 'create') return { type: 'forward_create', sessionId: f.sessionId, timeoutMs: f.timeoutMs };
  return { type: 'forward_request', sessionId: f.sessionId, xid: f.xid, authInfo: f.authInfo, request: f.request };
}

/** The leader's side of forwardPayload. */
function payloadForward(p: Extract<AppPayload, { type: 'forward_create' | 'forward_request' }>): Forward {
  if (p.type === 'forward_create') return { kind: 'create', sessionId: p.sessionId, timeoutMs: p.timeoutMs };
  return { kind: 'request', sessionId: p.sessionId, xid: p.xid, authInfo: p.authInfo, request: p.request };
}
