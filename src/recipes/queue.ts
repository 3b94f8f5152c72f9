// A distributed queue with priorities whose consumers take items safely: kazoo's LockingQueue
// layout (`entries/entry-<priority>-<seq>` and `taken/<entry>`), with a stricter take/consume
// protocol in the spirit of Curator's DistributedQueue with a lock path ("guaranteed delivery").
//
// Why not "read the first child and delete it" (Curator's plain queue, kazoo's Queue): a consumer
// that crashes after the delete and before it has done the work loses the item. Here:
//
// - take(): an item is taken by one multi: create `taken/<entry>` as an EPHEMERAL node of the
//   consumer's session *and* setData on the entry at the version just read (its data unchanged).
//   The first op makes the taker exclusive while its session lives; the second bumps the entry's
//   version, so every take of an entry has its own version w.
// - consume(): one multi deletes the entry at version w and the taken node. It succeeds only if
//   nobody took the entry since: if this consumer's session expired (it crashed, or was paused
//   too long) its taken node went with it, another consumer took the entry and moved its version
//   on, and this delete fails with BadVersion: consume() resolves false and the work must be
//   treated as not committed. So each entry is consumed (deleted) exactly once; the work for it
//   runs at least once (a crashed consumer's item goes to the next one), which is the most a
//   queue can promise without the work itself being transactional with the delete.
// - release(): gives the item back (delete the taken node, checked against w the same way).
//
// kazoo's consume() checks the lock's value and then deletes without a version (a window in
// which another consumer can take the item); the version check here closes it.
import { BadVersionError, NoNodeError, NodeExistsError, SessionExpiredError, isRetryable } from '../client/errors.js';
import { CreateMode, Op, type Data, type TxnOp } from '../client/ops.js';
import type { ZooKeeperClient } from '../client/zookeeper.js';
import { randomUUID } from 'node:crypto';
import { Ops, RecipeError, Wake, acrossSessions, deadlineOf, join, type RecipeOptions, type WaitOptions } from './internal.js';

const ENTRIES = 'entries';
const TAKEN = 'taken';
const ENTRY_PREFIX = 'entry-';
export const DEFAULT_PRIORITY = 100;

export interface QueueOptions extends RecipeOptions {
  /** stored in the taken nodes of this consumer (to see who holds what); default a random id */
  consumerId?: string;
}

/** One taken item: consume() it when done, or release() it to give it back. */
export interface QueueItem {
  /** the entry's name (`entry-<priority>-<seq>`) */
  readonly id: string;
  readonly priority: number;
  readonly data: Buffer | null;
  /**
   * Deletes the entry, only if this consumer still holds it: false when it was lost meanwhile
   * (session expired and the item went to another consumer, or it was consumed already).
   */
  consume(): Promise<boolean>;
  /** Gives the item back to the queue (false when it was not held any more). */
  release(): Promise<boolean>;
}

export class DistributedQueue {
  readonly consumerId: string;
  private readonly ops: Ops;
  private readonly entriesPath: string;
  private readonly takenPath: string;
  private ready = false;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    options: QueueOptions = {},
  ) {
    this.ops = new Ops(client, options.retryPolicy);
    this.consumerId = options.consumerId ?? randomUUID();
    this.entriesPath = join(path, ENTRIES);
    this.takenPath = join(path, TAKEN);
  }

  /**
   * Adds an item; lower priority values are taken first (0-999, default 100, as kazoo), items of
   * one priority in the order they were put. Returns the entry's name. A put retried after a
   * lost connection may add the item twice (ZooKeeper has no idempotent create).
   */
  async put(data: Data, o: { priority?: number } = {}): Promise<string> {
    await this.ensure();
    const name = `${ENTRY_PREFIX}${priorityPart(o.priority)}-`;
    const path = await this.ops.retry(() =>
      this.client.create(join(this.entriesPath, name), data, { mode: CreateMode.PERSISTENT_SEQUENTIAL }),
    );
    return path.slice(this.entriesPath.length + 1);
  }

  /** Adds several items at one priority, all or none (one multi). */
  async putAll(items: Data[], o: { priority?: number } = {}): Promise<string[]> {
    await this.ensure();
    const name = join(this.entriesPath, `${ENTRY_PREFIX}${priorityPart(o.priority)}-`);
    const results = await this.ops.retry(() =>
      this.client.multi(items.map((d) => Op.create(name, d, { mode: CreateMode.PERSISTENT_SEQUENTIAL }))),
    );
    return results.map((r) => (r.type === 'create' ? r.path.slice(this.entriesPath.length + 1) : ''));
  }

  /** Entries in the queue, taken ones included. */
  async size(): Promise<number> {
    return (await this.ops.childrenOrEmpty(this.entriesPath)).length;
  }

  /**
   * Takes the first item no other consumer holds, waiting for one as long as needed: null after
   * timeoutMs; rejects with signal.reason on abort.
   */
  async take(o: WaitOptions = {}): Promise<QueueItem | null> {
    const deadline = deadlineOf(o);
    return acrossSessions(this.client, () => this.takeOnce(deadline, o), o.signal);
  }

  private async takeOnce(deadline: number | null, o: WaitOptions): Promise<QueueItem | null> {
    await this.ensure();
    const so = o.signal ? { signal: o.signal } : {};
    for (;;) {
      o.signal?.throwIfAborted();
      // one wake for both watches: a new entry, or a taken node gone (a consumer released or died)
      const wake = new Wake();
      const entries = (await this.ops.childrenOrEmpty(this.entriesPath, { watch: wake.watcher, ...so }))
        .filter((c) => c.startsWith(ENTRY_PREFIX))
        .sort();
      const taken = new Set(await this.ops.childrenOrEmpty(this.takenPath, { watch: wake.watcher, ...so }));
      for (const id of entries) {
        if (taken.has(id)) continue;
        const item = await this.tryTake(id, o.signal);
        if (item) {
          this.ops.forgetWatch(this.entriesPath, wake.watcher);
          this.ops.forgetWatch(this.takenPath, wake.watcher);
          return item;
        }
      }
      let woke: boolean;
      try {
        woke = await wake.wait(deadline, o.signal);
      } finally {
        this.ops.forgetWatch(this.entriesPath, wake.watcher);
        this.ops.forgetWatch(this.takenPath, wake.watcher);
      }
      if (!woke) return null;
    }
  }

  /**
   * Takes one item, runs handler on it and consumes it when the handler resolves (releases it when
   * it throws, and rethrows). Resolves with whether the consume went through (false: the item was
   * lost meanwhile and another consumer will process it), or null after timeoutMs.
   */
  async consume(handler: (data: Buffer | null, item: QueueItem) => Promise<void> | void, o: WaitOptions = {}): Promise<boolean | null> {
    const item = await this.take(o);
    if (!item) return null;
    try {
      await handler(item.data, item);
    } catch (e) {
      await item.release().catch(() => false);
      throw e;
    }
    return item.consume();
  }

  /** take(): the multi that makes the taker exclusive and gives this take its own entry version. */
  private async tryTake(id: string, signal: AbortSignal | undefined): Promise<QueueItem | null> {
    const entryPath = join(this.entriesPath, id);
    const takenPath = join(this.takenPath, id);
    const so = signal ? { signal } : {};
    const current = await this.ops.getDataOrNull(entryPath, so);
    if (!current) return null;
    const token = `${this.consumerId} ${randomUUID()}`;
    const version = current.stat.version + 1;
    const ops = [Op.create(takenPath, token, { mode: CreateMode.EPHEMERAL }), Op.setData(entryPath, current.data, current.stat.version)];
    // no signal from here on: once the multi is sent its outcome must be known, or a take that
    // went through would hold the item for as long as the session lives
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.multi(ops);
        break;
      } catch (e) {
        if (e instanceof NodeExistsError || e instanceof BadVersionError || e instanceof NoNodeError) return null;
        if (!isRetryable(e)) throw e;
        // lost connection: did the multi go through? The taken node carries this take's token.
        await this.client.waitForConnected();
        const mine = await this.ops.getDataOrNull(takenPath);
        if (mine?.data?.toString('utf8') === token && mine.stat.ephemeralOwner === this.client.sessionId) break;
        if (mine || attempt >= 5) return null;
      }
    }
    const item = this.item(id, current.data, version);
    if (signal?.aborted) {
      await item.release();
      throw signal.reason;
    }
    return item;
  }

  private item(id: string, data: Buffer | null, version: number): QueueItem {
    const entryPath = join(this.entriesPath, id);
    const takenPath = join(this.takenPath, id);
    const takeSession = this.client.sessionId;
    let done = false;
    const settle = async (ops: TxnOp[], consuming: boolean): Promise<boolean> => {
      if (done) return false;
      done = true;
      for (let retried = false; ; retried = true) {
        try {
          await this.client.multi(ops);
          return true;
        } catch (e) {
          if (!isRetryable(e)) {
            // A consume retried after a lost connection finds the entry gone when the first
            // attempt went through. Nobody else can have consumed it while our taken node lived,
            // and it lives as long as the session that took the item: same session, our delete.
            if (consuming && retried && e instanceof NoNodeError && this.client.sessionId === takeSession) return true;
            if (e instanceof BadVersionError || e instanceof NoNodeError || e instanceof SessionExpiredError) return false;
            throw e;
          }
          await this.client.waitForConnected();
        }
      }
    };
    return {
      id,
      priority: Number(id.slice(ENTRY_PREFIX.length, ENTRY_PREFIX.length + 3)),
      data,
      consume: () => settle([Op.delete(entryPath, version), Op.delete(takenPath)], true),
      release: () => settle([Op.check(entryPath, version), Op.delete(takenPath)], false),
    };
  }

  private async ensure(): Promise<void> {
    if (this.ready) return;
    await this.ops.ensurePath(this.entriesPath);
    await this.ops.ensurePath(this.takenPath);
    this.ready = true;
  }
}

function priorityPart(priority = DEFAULT_PRIORITY): string {
  if (!Number.isInteger(priority) || priority < 0 || priority > 999)
    throw new RecipeError('BAD_ARGUMENT', `priority must be an integer 0-999, not ${priority}`);
  return String(priority).padStart(3, '0');
}
