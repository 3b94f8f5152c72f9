// What a member does around its Replica, once, for the runtime (quorum.ts: the data dir and the
// peer transport) and the simulator (test/sim: simulated disks and network). The Replica decides;
// the host carries each ready() out in the order the design depends on:
//   1. the epoch file, written and synced before anything of the round leaves (Zab: a promise is
//      durable before it is relied on; ZooKeeper's QuorumPeer.setAcceptedEpoch writes first);
//   2. a SNAP install, then a TRUNC, then (after a cut below what was applied) the reload from what
//      the disk holds at that point, then the new entries: one disk operation at a time, in order;
//   3. entries queued while the disk is busy are written together: one write and one sync for the
//      lot (group commit), and persisted() reports the last of them back to consensus;
//   4. messages to peers, flushed before the round's client replies (a commit reaches the
//      followers before the reply it commits reaches the client).
// It also owns the rule for when a member may snapshot (never while a SNAP install, TRUNC or
// reload is queued: the file it writes must not land across one) and what follows a snapshot.
//
// Pure: time comes in as arguments and through `clock`; the disk and the links are interfaces.
import type { Entry, Envelope, SnapshotImage } from '../consensus/messages.js';
import type { PersistentState } from '../consensus/zab.js';
import type { ServerCore } from '../server/core.js';
import type { DurableImage, Replica, ReplicaReady } from './replica.js';

/** A disk operation's end: null when it is durable. */
export type DiskDone = (err: Error | null) => void;

/**
 * The member's data dir. Each operation but writeEpoch completes through its callback (at once or
 * later); the host starts the next only after the previous one completed.
 */
export interface HostDisk {
  /** Writes and syncs the epoch state before returning. */
  writeEpoch(state: PersistentState): void;
  /** Appends entries to the log and syncs them. */
  append(entries: readonly Entry[], done: DiskDone): void;
  /**
   * Makes `image` the member's snapshot and drops the log before it, but for the committed txns up
   * to keepLogUpTo (-1: none) that an archive may still need (DataDir.installSnapshot).
   */
  install(image: SnapshotImage, keepLogUpTo: number, done: DiskDone): void;
  /** Drops the logged txns after `zxid` (the leader's history does not hold them). */
  truncate(zxid: number, done: DiskDone): void;
  /** Reads back the snapshot and log the disk holds, as recovery does. */
  reload(done: (err: Error | null, image: DurableImage | null) => void): void;
}

/** The member's links to its peers. */
export interface HostLinks {
  send(m: Envelope): void;
  /** Pushes what was sent out now (before client replies leave). */
  flush(): void;
}

export interface ReplicaHostOptions {
  disk: HostDisk;
  links: HostLinks;
  /** the member's clock (the simulator's skewed one) */
  clock: () => number;
  /** asks for another round soon (a disk operation completed) */
  schedule: () => void;
  /** the disk failed: nothing more is written or acknowledged; the member stops */
  fatal: (err: Error) => void;
  /** another core serves from now on (SNAP install, reload) */
  coreChanged: (core: ServerCore) => void;
  /** the member began serving clients (an established leader, or a learner in sync) */
  servingStarted: () => void;
  /**
   * Keep the committed txns a SNAP would drop from the log (an archive may still need them):
   * the member's commit point before the SNAP arrived is what is known committed whatever it brings.
   */
  keepCommittedLog: boolean;
}

type DiskOp =
  | { kind: 'append'; generation: number; entries: Entry[] }
  | { kind: 'install'; generation: number; image: SnapshotImage; keepLogUpTo: number }
  | { kind: 'truncate'; generation: number; zxid: number }
  | { kind: 'reload' };

export class ReplicaHost {
  private readonly queue: DiskOp[] = [];
  /** the kind of the disk operation running (null: none) */
  private running: DiskOp['kind'] | null = null;
  private serving = false;
  private stopped = false;
  /** consensus's commit point as of the last round: the txns up to it are committed whatever a SNAP brings */
  private committedSeen: number;

  constructor(
    readonly replica: Replica,
    private readonly o: ReplicaHostOptions,
  ) {
    // committed at start: the snapshot (a member snapshots only while it serves)
    this.committedSeen = replica.zab.commitZxid;
  }

  /** A disk operation is running (stop waits for it: a write in flight completes or fails). */
  get diskBusy(): boolean {
    return this.running !== null;
  }

  /**
   * One round: takes what the replica decided and carries out its disk and peer parts. Returns it
   * for the caller's own parts (client bytes, restores, metrics), or null when no round may run now
   * (a reload is queued and calls back; the host stopped).
   */
  round(now: number): ReplicaReady | null {
    const r = this.replica;
    if (r.awaitingReload || this.stopped) return null;
    const rd = r.ready(now);
    if (rd.state) this.o.disk.writeEpoch(rd.state);
    if (rd.snapshot) {
      const keepLogUpTo = this.o.keepCommittedLog ? this.committedSeen : -1;
      this.queue.push({ kind: 'install', generation: rd.generation, image: rd.snapshot, keepLogUpTo });
    }
    if (rd.truncateAfter !== null) this.queue.push({ kind: 'truncate', generation: rd.generation, zxid: rd.truncateAfter });
    if (r.awaitingReload && !this.queue.some((op) => op.kind === 'reload')) this.queue.push({ kind: 'reload' });
    if (rd.entries.length > 0) this.queue.push({ kind: 'append', generation: rd.generation, entries: rd.entries });
    this.runDisk();
    for (const m of rd.messages) this.o.links.send(m);
    // commits reach the followers before the replies they commit reach the clients
    if (rd.outputs.length > 0) this.o.links.flush();
    this.committedSeen = r.zab.commitZxid;
    if (r.zab.serving !== this.serving) {
      this.serving = r.zab.serving;
      if (this.serving) this.o.servingStarted();
    }
    return rd;
  }

  /**
   * May a snapshot of the tree start now? Only while the core serves a state it applied, no SNAP
   * install, TRUNC or reload is waiting or running (each replaces what a snapshot would describe),
   * and every txn the tree holds is known committed. A member applies its whole log at start-up
   * before it knows what is committed (ZOOKEEPER-1549): until the commit point passes that state,
   * a snapshot could keep a txn the leader then drops, and a restart takes a snapshot for
   * committed (the simulator found it: seed 8486). The snapshot may run ahead of the log's durable
   * end: what it holds is committed, so the file holds nothing the ensemble may drop.
   */
  canSnapshot(): boolean {
    const mode = this.replica.core.mode;
    // a read-only member serves a state no quorum vouched for: nothing of it is snapshotted
    if (this.stopped || mode === 'down' || mode === 'readonly' || this.replica.awaitingReload) return false;
    if (this.replica.core.lastApplied > this.replica.zab.commitZxid) return false;
    if (this.running !== null && this.running !== 'append') return false;
    return this.queue.every((op) => op.kind === 'append');
  }

  /** A snapshot at `zxid` is durable: consensus keeps only a window of the log before it in memory (for DIFFs). */
  snapshotWritten(zxid: number): void {
    this.replica.zab.compact(zxid);
  }

  /** Nothing more is started; a disk operation in flight completes (diskBusy says when). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  /** Starts the next disk operation unless one runs; consecutive appends of one generation share one write. */
  private runDisk(): void {
    if (this.running !== null || this.stopped || this.queue.length === 0) return;
    const op = this.queue.shift()!;
    this.running = op.kind;
    switch (op.kind) {
      case 'append': {
        const entries = op.entries.slice();
        for (let next = this.queue[0]; next?.kind === 'append' && next.generation === op.generation; next = this.queue[0]) {
          entries.push(...next.entries);
          this.queue.shift();
        }
        this.o.disk.append(entries, (err) =>
          this.completed(err, () => this.replica.persisted(op.generation, entries.at(-1)!.zxid, this.o.clock())),
        );
        return;
      }
      case 'install':
        this.o.disk.install(op.image, op.keepLogUpTo, (err) =>
          this.completed(err, () => {
            // durable now: consensus may write currentEpoch and acknowledge (never before)
            this.replica.persisted(op.generation, op.image.zxid, this.o.clock());
            this.o.coreChanged(this.replica.core);
          }),
        );
        return;
      case 'truncate':
        this.o.disk.truncate(op.zxid, (err) => this.completed(err, () => this.replica.persisted(op.generation, op.zxid, this.o.clock())));
        return;
      case 'reload':
        this.o.disk.reload((err, image) =>
          this.completed(err, () => {
            this.replica.reloaded(image!);
            this.o.coreChanged(this.replica.core);
          }),
        );
        return;
    }
  }

  private completed(err: Error | null, then: () => void): void {
    this.running = null;
    if (this.stopped) return;
    if (err) {
      this.fail(err);
      return;
    }
    try {
      then();
    } catch (e) {
      // a broken invariant taking the result (Replica.reloaded, persisted) stops the member as a
      // failed write does, instead of escaping from the disk's callback
      this.fail(e as Error);
      return;
    }
    this.runDisk();
    this.o.schedule();
  }

  private fail(err: Error): void {
    this.stopped = true;
    this.queue.length = 0;
    this.o.fatal(err);
  }
}
