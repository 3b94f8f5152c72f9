// Distributed locks: InterProcessMutex and InterProcessReadWriteLock, as Curator's recipes
// (LockInternals, StandardLockInternalsDriver, InterProcessReadWriteLock) and the lock recipe of
// the ZooKeeper documentation ("Recipes and Solutions: Locks"):
//
// - each contender creates an EPHEMERAL_SEQUENTIAL node under the lock path, named
//   `_c_<uuid>-lock-<seq>` (Curator's protected name: a create lost to a connection error is found
//   again by its uuid instead of being left behind);
// - the contender with the lowest sequence number holds the lock; every other one watches only
//   its predecessor (getData with a watch, as Curator, so no watch lingers on a missing node), so a
//   release wakes one waiter, not all of them (no herd effect);
// - release deletes the node, retried for as long as the session lives (Curator's guaranteed
//   delete); a holder that dies loses the node with its session.
//
// Connection states follow Curator's advice to lock holders: on 'suspended' (connection lost,
// the session may or may not live) the holder must act as if it may no longer hold the lock:
// `isHeld` turns false and 'suspended' is emitted; on 'reconnected' the lock node is checked to
// still be this session's and 'reconnected' is emitted, else 'lost'; on session expiry the node
// is gone: 'lost', and `signal` (handed out with the hold) aborts. A mutex does not re-acquire by
// itself (neither does Curator's); a waiter whose session expires while it waits does start over
// with a new node (Curator's LockInternals retries after its node vanished).
import { CreateMode, type Data } from '../client/ops.js';
import type { ZooKeeperClient } from '../client/zookeeper.js';
import {
  LockLostError,
  NotHeldError,
  Ops,
  TypedEmitter,
  Wake,
  deadlineOf,
  isSessionLoss,
  join,
  nameOf,
  onConnectionChange,
  sortedBySequence,
  type RecipeOptions,
  type Stat,
  type WaitOptions,
} from './internal.js';

/**
 * Decides, from the sorted contender names, whether `ours` holds the lock or which node it must
 * wait on (Curator's LockInternalsDriver.getsTheLock).
 */
export interface LockDriver {
  /** the name our node carries after the protection prefix ('lock-' for a mutex) */
  readonly lockName: string;
  /** every name that takes part in the order (a read-write lock orders reads and writes together) */
  readonly orderNames: readonly string[];
  getsTheLock(sorted: readonly string[], ours: string): { gets: true } | { gets: false; watch: string };
}

/** Holds when fewer than maxLeases nodes precede ours; else waits on the one maxLeases before it. */
export function standardDriver(lockName: string, maxLeases = 1): LockDriver {
  return {
    lockName,
    orderNames: [lockName],
    getsTheLock(sorted, ours) {
      const i = sorted.indexOf(ours);
      if (i < maxLeases) return { gets: true };
      return { gets: false, watch: sorted[i - maxLeases]! };
    },
  };
}

export interface MutexOptions extends RecipeOptions {
  /** stored in the lock node (Curator stores the host's address); default none */
  data?: Data;
}

export interface LockEvents {
  /** the lock was acquired (the first, not a reentrant, acquisition) */
  acquired: (info: { path: string; fencingToken: number }) => void;
  /** the last release deleted the lock node */
  released: () => void;
  /** the connection was lost: the lock may or may not still be held; stop acting on it until 'reconnected' */
  suspended: () => void;
  /** the same session is back and the lock node is still ours */
  reconnected: () => void;
  /** the lock is gone (session expired, node deleted, client closed); release() is still owed */
  lost: (info: { reason: string }) => void;
}

interface Hold {
  path: string;
  stat: Stat;
  controller: AbortController;
  unsubscribe: () => void;
}

/**
 * A reentrant distributed mutex (Curator's InterProcessMutex). Reentrancy is per instance: the
 * instance plays the part of Curator's owning thread, so use one instance per logical owner;
 * acquire() on an instance that already holds the lock only counts, and the lock goes with the
 * matching number of release() calls.
 *
 * **Fencing.** `fencingToken` is the czxid of the lock node: the zxid of the transaction that
 * created it. zxids only grow, so each later holder of the lock has a larger token. Why it
 * matters: a holder can be paused (a GC pause, a stopped VM, a slow disk, a long network stall)
 * for longer than its session timeout; the server then expires the session, deletes the lock
 * node, and the next waiter acquires the lock, while the paused holder, when it resumes, still
 * believes it holds it and may write before it hears of the expiry. No lock service can prevent
 * that on its own; the resource it guards can: pass the token with every write and have the
 * resource refuse a token lower than the highest it has seen (Chubby's sequencers; Kleppmann,
 * "How to do distributed locking").
 */
export class InterProcessMutex extends TypedEmitter<LockEvents> {
  private readonly ops: Ops;
  private readonly data: Data;
  private count = 0;
  private hold: Hold | null = null;
  private lostReason: string | null = null;
  private suspended = false;
  /** acquisitions on this instance wait for each other (the instance is one owner) */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly client: ZooKeeperClient,
    readonly basePath: string,
    options: MutexOptions = {},
    private readonly driver: LockDriver = standardDriver('lock-'),
  ) {
    super();
    this.ops = new Ops(client, options.retryPolicy);
    this.data = options.data ?? null;
  }

  /**
   * Acquires the lock, waiting as long as it takes, or until timeoutMs (then resolves false, as
   * Curator's acquire(time, unit)) or the signal aborts (rejects with its reason). Either way a
   * node created for the attempt is deleted. Rejects with LockLostError when this instance held
   * the lock and lost it: release() it first.
   */
  acquire(o: WaitOptions = {}): Promise<boolean> {
    const deadline = deadlineOf(o);
    const run = this.chain.then(() => this.acquireNow(deadline, o.signal));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async acquireNow(deadline: number | null, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.count > 0) {
      if (this.lostReason !== null) throw new LockLostError(this.basePath, this.lostReason);
      this.count++;
      return true;
    }
    signal?.throwIfAborted();
    const node = await this.attemptLock(deadline, signal);
    if (!node) return false;
    this.startHold(node);
    this.count = 1;
    this.emit('acquired', { path: node.path, fencingToken: node.stat.czxid });
    return true;
  }

  /**
   * Releases one acquisition; the last one deletes the lock node (retried while the session
   * lives). After 'lost' it only counts down. Rejects with NotHeldError when nothing is held.
   */
  async release(): Promise<void> {
    if (this.count === 0) throw new NotHeldError(this.basePath);
    if (--this.count > 0) return;
    const h = this.hold;
    this.hold = null;
    this.lostReason = null;
    this.suspended = false;
    if (!h) return;
    h.unsubscribe();
    h.controller.abort(new LockLostError(this.basePath, 'released'));
    await this.ops.deleteGuaranteed(h.path);
    this.emit('released');
  }

  /** Held by this instance (Curator's isAcquiredInThisProcess); true while suspended too. */
  isAcquiredInThisProcess(): boolean {
    return this.count > 0 && this.lostReason === null;
  }

  /** Held and safe to act on: acquired, not lost, and the connection is up (not suspended). */
  get isHeld(): boolean {
    return this.isAcquiredInThisProcess() && !this.suspended && this.client.connected;
  }

  /** The czxid of the lock node while held (see the class comment), else null. */
  get fencingToken(): number | null {
    return this.hold && this.lostReason === null ? this.hold.stat.czxid : null;
  }

  /** The lock node's path while held, else null. */
  get lockPath(): string | null {
    return this.hold?.path ?? null;
  }

  /** Aborts (with a LockLostError) when the current hold ends: lost or released. Null when not held. */
  get signal(): AbortSignal | null {
    return this.hold?.controller.signal ?? null;
  }

  /** Every contender's node, in lock order (Curator's getParticipantNodes). */
  async getParticipantNodes(): Promise<string[]> {
    const children = await this.ops.childrenOrEmpty(this.basePath);
    return sortedBySequence(children, this.driver.orderNames).map((c) => join(this.basePath, c));
  }

  // ---------- acquiring ----------

  /** Curator's LockInternals.attemptLock: create our node, then wait for our turn. */
  private async attemptLock(deadline: number | null, signal: AbortSignal | undefined): Promise<{ path: string; stat: Stat } | null> {
    for (;;) {
      let node: { path: string; stat: Stat };
      try {
        node = await this.ops.createProtected(this.basePath, this.driver.lockName, this.data, CreateMode.EPHEMERAL_SEQUENTIAL, signal);
      } catch (e) {
        if (!isSessionLoss(e)) throw e;
        await this.client.waitForConnected(signal ? { signal } : {});
        continue;
      }
      let got: boolean | 'gone';
      try {
        got = await this.lockLoop(node, deadline, signal);
      } catch (e) {
        if (isSessionLoss(e)) got = 'gone';
        else {
          await this.ops.deleteGuaranteed(node.path);
          throw e;
        }
      }
      if (got === true) return node;
      if (got === false) {
        await this.ops.deleteGuaranteed(node.path);
        return null;
      }
      // our node went with an expired session: start over (behind everyone now), as Curator's
      // LockInternals retries after NoNode; the old node is deleted in case it still lingers
      await this.ops.deleteGuaranteed(node.path);
      await this.client.waitForConnected(signal ? { signal } : {});
    }
  }

  /** Curator's internalLockLoop: true when ours is the lock, false at the deadline, 'gone' when our node vanished. */
  private async lockLoop(
    node: { path: string; stat: Stat },
    deadline: number | null,
    signal: AbortSignal | undefined,
  ): Promise<boolean | 'gone'> {
    const ours = nameOf(node.path);
    for (;;) {
      signal?.throwIfAborted();
      const children = await this.ops.childrenOrEmpty(this.basePath, signal ? { signal } : {});
      const sorted = sortedBySequence(children, this.driver.orderNames);
      if (!sorted.includes(ours)) return 'gone';
      const verdict = this.driver.getsTheLock(sorted, ours);
      if (verdict.gets) {
        // a node left from a session this client already lost (expired locally, not yet on the
        // server) is in the list but will vanish: it is not a lock
        return node.stat.ephemeralOwner === this.client.sessionId ? true : 'gone';
      }
      const wake = new Wake();
      const watchPath = join(this.basePath, verdict.watch);
      const predecessor = await this.ops.getDataOrNull(watchPath, { watch: wake.watcher, ...(signal ? { signal } : {}) });
      if (predecessor === null) continue;
      let woke: boolean;
      try {
        woke = await wake.wait(deadline, signal);
      } finally {
        if (!wake.event) this.ops.forgetWatch(watchPath, wake.watcher);
      }
      if (!woke) return false;
    }
  }

  // ---------- holding ----------

  private startHold(node: { path: string; stat: Stat }): void {
    const controller = new AbortController();
    const h: Hold = { path: node.path, stat: node.stat, controller, unsubscribe: () => undefined };
    h.unsubscribe = onConnectionChange(this.client, (change) => {
      if (this.hold !== h || this.lostReason !== null) return;
      switch (change) {
        case 'suspended':
          this.suspended = true;
          this.emit('suspended');
          return;
        case 'reconnected':
          void this.verify(h);
          return;
        case 'lost':
          this.lose(h, 'session expired');
          return;
        case 'closed':
          this.lose(h, 'client closed');
          return;
        case 'renewed':
          this.lose(h, 'new session');
          return;
      }
    });
    this.hold = h;
    this.suspended = false;
    this.lostReason = null;
  }

  /** After a reconnect: is the lock node still there and still this session's? */
  private async verify(h: Hold): Promise<void> {
    let stat: Stat | null;
    try {
      stat = await this.client.exists(h.path);
    } catch (e) {
      // connection lost again ('suspended' follows) or the session ended ('lost' follows)
      if (isSessionLoss(e)) this.lose(h, 'session expired');
      return;
    }
    if (this.hold !== h || this.lostReason !== null) return;
    if (stat && stat.czxid === h.stat.czxid && stat.ephemeralOwner === this.client.sessionId) {
      this.suspended = false;
      this.emit('reconnected');
    } else {
      this.lose(h, 'lock node gone');
    }
  }

  private lose(h: Hold, reason: string): void {
    if (this.hold !== h || this.lostReason !== null) return;
    this.lostReason = reason;
    this.suspended = false;
    h.unsubscribe();
    h.controller.abort(new LockLostError(this.basePath, reason));
    this.emit('lost', { reason });
    // a node that outlived the local expiry would block the others until the server expires it
    if (reason !== 'client closed') void this.ops.deleteGuaranteed(h.path).catch(() => undefined);
  }
}

// ---------- read-write lock ----------

/** Curator's node names, so both can share a lock path. */
export const READ_LOCK_NAME = '__READ__';
export const WRITE_LOCK_NAME = '__WRIT__';

/**
 * A distributed read-write lock (Curator's InterProcessReadWriteLock): any number of readers or
 * one writer. Reads and writes queue in one order (fair: a reader that arrives after a waiting
 * writer waits for it). Both locks are reentrant per instance, and a holder of the write lock
 * may take the read lock too (downgrade: acquire read, release write); a reader asking for the
 * write lock deadlocks, as in Curator.
 */
export class InterProcessReadWriteLock {
  readonly writeLock: InterProcessMutex;
  readonly readLock: InterProcessMutex;

  constructor(client: ZooKeeperClient, basePath: string, options: MutexOptions = {}) {
    const order = [READ_LOCK_NAME, WRITE_LOCK_NAME];
    const writeDriver: LockDriver = { ...standardDriver(WRITE_LOCK_NAME, 1), orderNames: order };
    this.writeLock = new InterProcessMutex(client, basePath, options, writeDriver);
    const writeLock = this.writeLock;
    const readDriver: LockDriver = {
      lockName: READ_LOCK_NAME,
      orderNames: order,
      getsTheLock(sorted, ours) {
        if (writeLock.isAcquiredInThisProcess()) return { gets: true };
        // a reader holds unless a writer is ahead of it; it waits on the first writer (Curator)
        const ourIndex = sorted.indexOf(ours);
        const firstWrite = sorted.findIndex((n) => n.includes(WRITE_LOCK_NAME));
        if (firstWrite < 0 || ourIndex < firstWrite) return { gets: true };
        return { gets: false, watch: sorted[firstWrite]! };
      },
    };
    this.readLock = new InterProcessMutex(client, basePath, options, readDriver);
  }
}
