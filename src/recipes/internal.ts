// What every recipe shares: the retry of single operations across connection loss, Curator's
// "protected" sequential create, sorting by sequence number, waiting on a one-shot watch with a
// deadline and an AbortSignal, the connection-state mapping (Curator's SUSPENDED / RECONNECTED /
// LOST), a "run again when kicked" loop for recipes that converge on the server's state, and
// typed events. Built on the client's public API only (test/unit/layering.test.ts checks it).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ConnectionClosedError, NoNodeError, NodeExistsError, SessionExpiredError, isRetryable } from '../client/errors.js';
import type { CreateMode, Data, WatchedEvent, Watcher } from '../client/ops.js';
import { ExponentialBackoff, RetryForever, sleep, type RetryPolicy } from '../client/retry.js';
import { WatcherType, type NodeData, type ZooKeeperClient } from '../client/zookeeper.js';

/** A znode's Stat, as the client returns it. */
export type Stat = NodeData['stat'];

/** What every recipe takes. */
export interface RecipeOptions {
  /**
   * How single operations are retried after connection-type errors (the client's isRetryable),
   * waiting for the connection in between; default: up to 30 retries, 100 ms to 2 s apart
   * (Curator's recipes use the client's RetryPolicy the same way).
   */
  retryPolicy?: RetryPolicy;
}

/** How long to wait, and a way to stop waiting. */
export interface WaitOptions {
  /** give up after this long (the call then resolves false / null, as Curator's timed variants) */
  timeoutMs?: number;
  /** stop waiting: the call rejects with signal.reason and undoes what it started */
  signal?: AbortSignal;
}

export const DEFAULT_RETRY: RetryPolicy = new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 2000, maxRetries: 30 });
/** For cleanup that must happen while the session lives (Curator's guaranteed delete). */
export const RETRY_FOREVER: RetryPolicy = new RetryForever({ baseDelayMs: 100, maxDelayMs: 1000 });

// ---------- errors ----------

/** A recipe's own failures (not ZooKeeper's: those stay KeeperErrors from the client). */
export class RecipeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecipeError';
  }
}
/** The lock (or lease) was lost while held: the session expired or the lock node went. */
export class LockLostError extends RecipeError {
  constructor(path: string, reason: string) {
    super('LOCK_LOST', `lock ${path} lost: ${reason}`);
    this.name = 'LockLostError';
  }
}
/** release() of a lock this instance does not hold (Curator's IllegalMonitorStateException). */
export class NotHeldError extends RecipeError {
  constructor(path: string) {
    super('NOT_HELD', `lock ${path} is not held by this instance`);
    this.name = 'NotHeldError';
  }
}
/** The recipe was closed. */
export class RecipeClosedError extends RecipeError {
  constructor(what: string) {
    super('CLOSED', `${what} is closed`);
    this.name = 'RecipeClosedError';
  }
}

// ---------- paths and names ----------

export function join(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The server's sequence suffix (`%010d` of a signed int, so it may carry a sign), or null. */
export function sequenceOf(name: string): number | null {
  if (name.length < 10) return null;
  const tail = name.slice(-10);
  return /^-?\d+$/.test(tail) ? Number(tail) : null;
}

/**
 * The names that contain one of `markers` and end with a sequence number, in sequence order
 * (Curator's LockInternals.getSortedChildren: the part after the lock name decides, so the
 * protection prefix does not).
 */
export function sortedBySequence(children: readonly string[], markers: readonly string[]): string[] {
  return children
    .filter((c) => markers.some((m) => c.includes(m)) && sequenceOf(c) !== null)
    .sort((a, b) => sequenceOf(a)! - sequenceOf(b)!);
}

// ---------- operations ----------

export class Ops {
  constructor(
    readonly client: ZooKeeperClient,
    readonly policy: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /** Runs op again after connection-type errors, waiting for the connection in between. */
  retry<T>(op: () => Promise<T>, signal?: AbortSignal, policy = this.policy): Promise<T> {
    return this.client.retry(() => op(), { policy, ...(signal ? { signal } : {}) });
  }

  /** getData, or null when the node does not exist. */
  async getDataOrNull(path: string, o: { watch?: Watcher; signal?: AbortSignal } = {}): Promise<NodeData | null> {
    try {
      return await this.retry(
        () => this.client.getData(path, { ...(o.watch ? { watch: o.watch } : {}), ...(o.signal ? { signal: o.signal } : {}) }),
        o.signal,
      );
    } catch (e) {
      if (e instanceof NoNodeError) return null;
      throw e;
    }
  }

  /** getChildren, or [] when the parent does not exist. */
  async childrenOrEmpty(path: string, o: { watch?: Watcher; signal?: AbortSignal } = {}): Promise<string[]> {
    try {
      return await this.retry(
        () => this.client.getChildren(path, { ...(o.watch ? { watch: o.watch } : {}), ...(o.signal ? { signal: o.signal } : {}) }),
        o.signal,
      );
    } catch (e) {
      if (e instanceof NoNodeError) return [];
      throw e;
    }
  }

  /** Creates path (and its parents, as containers as Curator's creatingParentContainersIfNeeded); NodeExists is fine. */
  async ensurePath(path: string, signal?: AbortSignal): Promise<void> {
    if (path === '/') return;
    try {
      await this.retry(() => this.client.create(path, null, { createParents: 'container', ...(signal ? { signal } : {}) }), signal);
    } catch (e) {
      if (!(e instanceof NodeExistsError)) throw e;
    }
  }

  /**
   * Curator's protected mode (CreateBuilder.withProtection): the node's name starts with
   * `_c_<uuid>-`, so when a create fails with a connection error (it may or may not have been
   * applied) the retry first looks for a child with that prefix and adopts it instead of leaving
   * an orphan that would hold a lock or a leadership slot for as long as the session lives.
   * Parents are created as containers.
   */
  async createProtected(
    parent: string,
    name: string,
    data: Data,
    mode: CreateMode,
    signal?: AbortSignal,
  ): Promise<{ path: string; stat: Stat }> {
    const prefix = `_c_${randomUUID()}-`;
    let sent = false;
    try {
      return await this.retry(async () => {
        if (sent) {
          const found = (await this.childrenOrEmpty(parent)).find((c) => c.startsWith(prefix));
          if (found) {
            const d = await this.getDataOrNull(join(parent, found));
            if (d) return { path: join(parent, found), stat: d.stat };
          }
        }
        sent = true;
        // no signal on the create itself: once sent, its outcome must be known (an abort is
        // honoured between attempts, and by the caller right after)
        return this.client.createWithStat(join(parent, prefix + name), data, { mode, createParents: 'container' });
      }, signal);
    } catch (e) {
      // a create that may have been applied, then given up on: find it by its prefix and delete
      // it (Curator's protected-mode cleanup), or it would hold a place in the queue
      if (sent) void this.deleteByPrefix(parent, prefix);
      throw e;
    }
  }

  private async deleteByPrefix(parent: string, prefix: string): Promise<void> {
    try {
      for (const c of await this.childrenOrEmpty(parent)) if (c.startsWith(prefix)) await this.deleteGuaranteed(join(parent, c));
    } catch {
      // best effort: an ephemeral goes with its session anyway
    }
  }

  /**
   * Deletes a node this session owns and keeps trying while the session lives (Curator's
   * guaranteed delete, which LockInternals uses to release): a lock node left behind would block
   * every other waiter for as long as the session lasts. NoNode, an expired session and a closed
   * client all mean the node is gone (or going) anyway.
   */
  async deleteGuaranteed(path: string, version = -1): Promise<void> {
    try {
      await this.retry(() => this.client.delete(path, { version }), undefined, RETRY_FOREVER);
    } catch (e) {
      if (e instanceof NoNodeError || e instanceof SessionExpiredError) return;
      throw e;
    }
  }

  /** Drops a one-shot watcher we no longer wait for, on the client only (no round trip). */
  forgetWatch(path: string, watcher: Watcher, type: number = WatcherType.Any): void {
    // best effort: NoWatcherError means it already fired
    this.client.removeWatches(path, type, { watcher, local: true }).catch(() => undefined);
  }
}

/** A session error after which the recipe can start over on a renewed session (not a closed client). */
export function isSessionLoss(e: unknown): boolean {
  return e instanceof SessionExpiredError && !(e instanceof ConnectionClosedError);
}

/**
 * Runs fn again after the session was lost, once the client has its next session: for waits that
 * hold nothing on the server (a take that has not taken yet, a barrier wait).
 */
export async function acrossSessions<T>(client: ZooKeeperClient, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isSessionLoss(e)) throw e;
      await client.waitForConnected(signal ? { signal } : {});
    }
  }
}

/** The client is closed, or closing (requests made after close() fail with ConnectionClosedError). */
export function isClosed(client: ZooKeeperClient, e?: unknown): boolean {
  return client.state === 'closed' || e instanceof ConnectionClosedError;
}

// ---------- waiting ----------

export function deadlineOf(o: WaitOptions): number | null {
  return o.timeoutMs === undefined ? null : Date.now() + Math.max(0, o.timeoutMs);
}

export function remainingMs(deadline: number | null): number | undefined {
  return deadline === null ? undefined : Math.max(0, deadline - Date.now());
}

/**
 * A one-shot wake-up: give `watcher` to a watch (or call fire()), then wait(). A fire before the
 * wait counts. wait() resolves true when fired, false at the deadline, and rejects with the
 * signal's reason when it aborts.
 */
export class Wake {
  private fired = false;
  private resolve: ((v: boolean) => void) | null = null;
  event: WatchedEvent | null = null;
  readonly watcher: Watcher = (e) => {
    this.event = e;
    this.fire();
  };

  fire(): void {
    this.fired = true;
    const r = this.resolve;
    this.resolve = null;
    r?.(true);
  }

  wait(deadline: number | null, signal?: AbortSignal): Promise<boolean> {
    if (this.fired) return Promise.resolve(true);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (deadline !== null && Date.now() >= deadline) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      let t: NodeJS.Timeout | null = null;
      const done = (): void => {
        if (t) clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        this.resolve = null;
      };
      const onAbort = (): void => {
        done();
        reject(signal!.reason);
      };
      this.resolve = (v) => {
        done();
        resolve(v);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (deadline !== null)
        t = setTimeout(
          () => {
            done();
            resolve(false);
          },
          Math.max(0, deadline - Date.now()),
        );
    });
  }
}

// ---------- connection states ----------

/**
 * Curator's connection states, from the client's events: 'suspended' (connection lost, session
 * may live: SUSPENDED), 'reconnected' (same session back: RECONNECTED), 'lost' (session expired:
 * LOST), 'renewed' (a new session after a loss: Curator reports it as RECONNECTED after LOST, but
 * every ephemeral and watch of the old one is gone, so recipes need to know), 'closed'.
 */
export type ConnectionChange = 'suspended' | 'reconnected' | 'lost' | 'renewed' | 'closed';

// one set of listeners per client, whatever the number of recipes on it (no MaxListeners warning
// for a process holding many locks on one client)
const dispatchers = new WeakMap<ZooKeeperClient, Set<(c: ConnectionChange) => void>>();

export function onConnectionChange(client: ZooKeeperClient, fn: (c: ConnectionChange) => void): () => void {
  let subscribers = dispatchers.get(client);
  if (!subscribers) {
    const set = new Set<(c: ConnectionChange) => void>();
    subscribers = set;
    dispatchers.set(client, set);
    const dispatch = (c: ConnectionChange): void => {
      for (const f of [...set]) {
        try {
          f(c);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    };
    client
      .on('suspended', () => dispatch('suspended'))
      .on('reconnected', () => dispatch('reconnected'))
      .on('expired', () => dispatch('lost'))
      .on('connected', () => dispatch('renewed'))
      .on('closed', () => dispatch('closed'));
  }
  const set = subscribers;
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

// ---------- a loop that converges ----------

/**
 * Runs `body` whenever kicked, never twice at once: a kick while it runs makes it run once more
 * afterwards. Recipes that follow the server's state (leader latch, caches, ephemeral members)
 * re-read it on every watch event or connection change instead of trying to apply each event;
 * the last run always sees the newest state. A failure is handed to onError; a connection-type
 * failure runs again once the client is connected.
 */
export class Kicker {
  private running = false;
  private again = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly client: ZooKeeperClient,
    private readonly body: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves once no run is going on or pending. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.body();
      } catch (e) {
        if (this.stopped || isClosed(this.client, e)) break;
        if (isRetryable(e) || isSessionLoss(e)) {
          // the next connection change ('reconnected' / 'renewed') kicks again; in case the
          // connection is already back, wait for it here too
          try {
            await sleep(100);
            await this.client.waitForConnected();
          } catch {
            break;
          }
          this.again = true;
        } else {
          this.onError(e);
        }
      }
    } while (this.again && !this.stopped);
    this.running = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

// ---------- typed events ----------

// biome-ignore lint/suspicious/noExplicitAny: the base of every listener signature (a listener of (path: string) must fit)
type Listener = (...args: any[]) => void;

/** An EventEmitter whose event names and listener signatures are checked. */
export class TypedEmitter<E extends { [K in keyof E]: Listener }> extends EventEmitter {
  override on<K extends keyof E & string>(event: K, listener: E[K]): this {
    return super.on(event, listener);
  }
  override once<K extends keyof E & string>(event: K, listener: E[K]): this {
    return super.once(event, listener);
  }
  override off<K extends keyof E & string>(event: K, listener: E[K]): this {
    return super.off(event, listener);
  }
  override emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    // a listener's exception must not break the recipe's own bookkeeping (as the client's safeEmit)
    try {
      return super.emit(event, ...args);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
      return true;
    }
  }

  /**
   * A background failure: emitted as 'error' when someone listens (Curator's
   * UnhandledErrorListener), a process warning otherwise, never an unhandled 'error' event.
   */
  protected report(e: unknown): void {
    if (this.listenerCount('error') > 0) super.emit('error', e);
    else process.emitWarning(e instanceof Error ? e : new Error(String(e)), { code: 'ARK_RECIPE' });
  }
}

export function toBytes(d: Data | undefined): Buffer | null {
  if (d === null || d === undefined) return null;
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
