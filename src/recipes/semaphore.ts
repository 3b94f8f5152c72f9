// A counting semaphore across processes: Curator's InterProcessSemaphoreV2. Under the semaphore's
// path, `locks/` holds an InterProcessMutex and `leases/` one EPHEMERAL_SEQUENTIAL node per lease
// (`_c_<uuid>-lease-<seq>`). To acquire, a contender takes the mutex, adds its lease node, and,
// still holding the mutex, waits (child watch on leases/) until at most maxLeases lease nodes
// exist; then it releases the mutex. Only the mutex holder adds a lease and waits, so the waiters
// queue fairly behind it and no more than maxLeases leases are ever granted at once (as long as
// every participant uses the same maxLeases: Curator's caveat too). A lease is its node: it goes
// when released or when its session expires.
import { CreateMode, type Data } from '../client/ops.js';
import type { ZooKeeperClient } from '../client/zookeeper.js';
import { InterProcessMutex } from './lock.js';
import {
  Ops,
  RecipeError,
  TypedEmitter,
  Wake,
  deadlineOf,
  isSessionLoss,
  join,
  nameOf,
  onConnectionChange,
  remainingMs,
  sortedBySequence,
  type RecipeOptions,
  type Stat,
  type WaitOptions,
} from './internal.js';

const LOCK_PARENT = 'locks';
const LEASE_PARENT = 'leases';
const LEASE_NAME = 'lease-';

export interface SemaphoreOptions extends RecipeOptions {
  /** stored in each lease node; default none */
  data?: Data;
}

export interface SemaphoreEvents {
  /** the connection was lost: leases may or may not still be held */
  suspended: () => void;
  reconnected: () => void;
  /** the session expired: these leases are gone */
  lost: (info: { leases: Lease[] }) => void;
}

/** One granted lease: release it when done (Curator's Lease). */
export class Lease {
  private released = false;
  private lostFlag = false;

  constructor(
    private readonly semaphore: InterProcessSemaphore,
    readonly path: string,
    private readonly stat: Stat,
  ) {}

  /** The czxid of the lease node: grows with every lease granted (a fencing token, see InterProcessMutex). */
  get fencingToken(): number {
    return this.stat.czxid;
  }

  /** Not released and its session has not expired. */
  get valid(): boolean {
    return !this.released && !this.lostFlag;
  }

  /** Deletes the lease node (retried while the session lives). Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.semaphore.returnLease(this);
  }

  /** @internal */
  markLost(): void {
    this.lostFlag = true;
  }
}

export class InterProcessSemaphore extends TypedEmitter<SemaphoreEvents> {
  private readonly ops: Ops;
  private readonly leasesPath: string;
  private readonly lockPath: string;
  private readonly data: Data;
  private readonly held = new Set<Lease>();
  private unsubscribe: (() => void) | null = null;

  /**
   * @param path the semaphore's node (locks/ and leases/ go below it)
   * @param maxLeases how many leases may be held at once, by everyone
   */
  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    readonly maxLeases: number,
    private readonly options: SemaphoreOptions = {},
  ) {
    super();
    if (!Number.isInteger(maxLeases) || maxLeases < 1)
      throw new RecipeError('BAD_ARGUMENT', `maxLeases must be a positive integer, not ${maxLeases}`);
    this.ops = new Ops(client, options.retryPolicy);
    this.leasesPath = join(path, LEASE_PARENT);
    this.lockPath = join(path, LOCK_PARENT);
    this.data = options.data ?? null;
  }

  /** One lease, waiting as needed; null after timeoutMs; rejects with signal.reason on abort. */
  async acquire(o: WaitOptions = {}): Promise<Lease | null> {
    const leases = await this.acquireMany(1, o);
    return leases ? leases[0]! : null;
  }

  /**
   * qty leases (all or none: leases taken before a timeout or an abort are returned). Asking for
   * more than maxLeases would wait forever, so it is refused.
   */
  async acquireMany(qty: number, o: WaitOptions = {}): Promise<Lease[] | null> {
    if (!Number.isInteger(qty) || qty < 1 || qty > this.maxLeases) {
      throw new RecipeError('BAD_ARGUMENT', `qty must be between 1 and maxLeases (${this.maxLeases}), not ${qty}`);
    }
    const deadline = deadlineOf(o);
    const got: Lease[] = [];
    try {
      while (got.length < qty) {
        const lease = await this.acquireOne(deadline, o.signal);
        if (!lease) {
          await Promise.all(got.map((l) => l.release()));
          return null;
        }
        got.push(lease);
      }
    } catch (e) {
      await Promise.all(got.map((l) => l.release().catch(() => undefined)));
      throw e;
    }
    return got;
  }

  /** Every lease node, in order (Curator's getParticipantNodes). */
  async getParticipantNodes(): Promise<string[]> {
    return sortedBySequence(await this.ops.childrenOrEmpty(this.leasesPath), [LEASE_NAME]).map((n) => join(this.leasesPath, n));
  }

  /** Curator's internalAcquire1Lease. */
  private async acquireOne(deadline: number | null, signal: AbortSignal | undefined): Promise<Lease | null> {
    for (;;) {
      // a fresh mutex per attempt: the mutex is reentrant per instance, and two acquisitions in
      // this process must queue like any two contenders
      const mutex = new InterProcessMutex(
        this.client,
        this.lockPath,
        this.options.retryPolicy ? { retryPolicy: this.options.retryPolicy } : {},
      );
      const timeoutMs = remainingMs(deadline);
      if (!(await mutex.acquire({ ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(signal ? { signal } : {}) }))) return null;
      try {
        const r = await this.addLeaseAndWait(deadline, signal);
        if (r !== 'retry') return r;
      } finally {
        await mutex.release();
      }
      await this.client.waitForConnected(signal ? { signal } : {});
    }
  }

  private async addLeaseAndWait(deadline: number | null, signal: AbortSignal | undefined): Promise<Lease | null | 'retry'> {
    let node: { path: string; stat: Stat };
    try {
      node = await this.ops.createProtected(this.leasesPath, LEASE_NAME, this.data, CreateMode.EPHEMERAL_SEQUENTIAL, signal);
    } catch (e) {
      if (isSessionLoss(e)) return 'retry';
      throw e;
    }
    const ours = nameOf(node.path);
    try {
      for (;;) {
        const wake = new Wake();
        const children = await this.ops.childrenOrEmpty(this.leasesPath, { watch: wake.watcher, ...(signal ? { signal } : {}) });
        // our node went with an expired session: Curator's RETRY_DUE_TO_MISSING_NODE
        if (!children.includes(ours)) return 'retry';
        if (children.length <= this.maxLeases) {
          this.ops.forgetWatch(this.leasesPath, wake.watcher);
          if (node.stat.ephemeralOwner !== this.client.sessionId) {
            // left from a session this client lost: not a lease; it goes with that session
            await this.ops.deleteGuaranteed(node.path);
            return 'retry';
          }
          return this.grant(node);
        }
        let woke: boolean;
        try {
          woke = await wake.wait(deadline, signal);
        } finally {
          if (!wake.event) this.ops.forgetWatch(this.leasesPath, wake.watcher);
        }
        if (!woke) {
          await this.ops.deleteGuaranteed(node.path);
          return null;
        }
      }
    } catch (e) {
      await this.ops.deleteGuaranteed(node.path).catch(() => undefined);
      if (isSessionLoss(e)) return 'retry';
      throw e;
    }
  }

  private grant(node: { path: string; stat: Stat }): Lease {
    const lease = new Lease(this, node.path, node.stat);
    this.held.add(lease);
    this.unsubscribe ??= onConnectionChange(this.client, (change) => {
      if (change === 'suspended') this.emit('suspended');
      else if (change === 'reconnected') this.emit('reconnected');
      else if (change === 'lost' || change === 'closed') {
        const leases = [...this.held];
        this.held.clear();
        for (const l of leases) l.markLost();
        this.stopListening();
        if (leases.length > 0) this.emit('lost', { leases });
      }
    });
    return lease;
  }

  /** @internal */
  async returnLease(lease: Lease): Promise<void> {
    const wasHeld = this.held.delete(lease);
    if (this.held.size === 0) this.stopListening();
    if (wasHeld) await this.ops.deleteGuaranteed(lease.path);
  }

  private stopListening(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
