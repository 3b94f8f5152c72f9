// Barriers, as Curator's DistributedBarrier and DistributedDoubleBarrier (and kazoo's Barrier and
// DoubleBarrier; both follow the ZooKeeper documentation's "Barriers" and "Double Barriers").
import { CreateMode } from '../client/ops.js';
import type { ZooKeeperClient } from '../client/zookeeper.js';
import { randomUUID } from 'node:crypto';
import { NoNodeError, NodeExistsError, SessionExpiredError } from '../client/errors.js';
import {
  Ops,
  RecipeError,
  Wake,
  acrossSessions,
  deadlineOf,
  isSessionLoss,
  join,
  type RecipeOptions,
  type WaitOptions,
} from './internal.js';

/**
 * A barrier that holds everyone waiting while its node exists (Curator's DistributedBarrier):
 * setBarrier() creates the node, removeBarrier() deletes it and every waiter goes on.
 */
export class Barrier {
  private readonly ops: Ops;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    options: RecipeOptions = {},
  ) {
    this.ops = new Ops(client, options.retryPolicy);
  }

  /** Raises the barrier (creates the node, and its parents; already raised is fine). */
  async setBarrier(): Promise<void> {
    try {
      await this.ops.retry(() => this.client.create(this.path, null, { createParents: 'container' }));
    } catch (e) {
      if (!(e instanceof NodeExistsError)) throw e;
    }
  }

  /** Lowers the barrier: every waiter goes on. */
  async removeBarrier(): Promise<void> {
    try {
      await this.ops.retry(() => this.client.delete(this.path));
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e;
    }
  }

  /**
   * Waits until the barrier is not raised: true then, false after timeoutMs; rejects with
   * signal.reason on abort. An exists-watch wakes it, and the client re-registers that watch on
   * reconnect, so a barrier removed while disconnected still wakes it.
   */
  async waitOnBarrier(o: WaitOptions = {}): Promise<boolean> {
    const deadline = deadlineOf(o);
    return acrossSessions(this.client, () => this.waitOnce(deadline, o), o.signal);
  }

  private async waitOnce(deadline: number | null, o: WaitOptions): Promise<boolean> {
    for (;;) {
      const wake = new Wake();
      const stat = await this.ops.retry(
        () => this.client.exists(this.path, { watch: wake.watcher, ...(o.signal ? { signal: o.signal } : {}) }),
        o.signal,
      );
      if (stat === null) {
        this.ops.forgetWatch(this.path, wake.watcher);
        return true;
      }
      let woke: boolean;
      try {
        woke = await wake.wait(deadline, o.signal);
      } finally {
        if (!wake.event) this.ops.forgetWatch(this.path, wake.watcher);
      }
      if (!woke) return false;
    }
  }
}

const READY_NODE = 'ready';

/**
 * A double barrier (Curator's DistributedDoubleBarrier): enter() waits until memberQty members
 * have entered, leave() waits until all of them have left. Each member is an ephemeral node
 * named by a fresh id under the barrier path; the member that completes the count creates
 * `ready`, whose exists-watch wakes the others. Leaving follows the documented recipe: the
 * lowest member waits for the highest to go, every other member deletes its own node and waits
 * for the lowest, so each departure wakes one member, not all.
 *
 * If the session expires while a member waits, its ephemeral node goes with it: enter() then
 * creates it again with the next session; leave() treats a missing own node as having left
 * (Curator does the same after a lost connection).
 */
export class DoubleBarrier {
  private readonly ops: Ops;
  private readonly ourName: string;
  private readonly readyPath: string;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    readonly memberQty: number,
    options: RecipeOptions & { id?: string } = {},
  ) {
    if (!Number.isInteger(memberQty) || memberQty < 1)
      throw new RecipeError('BAD_ARGUMENT', `memberQty must be a positive integer, not ${memberQty}`);
    this.ops = new Ops(client, options.retryPolicy);
    this.ourName = options.id ?? randomUUID();
    this.readyPath = join(path, READY_NODE);
  }

  get memberPath(): string {
    return join(this.path, this.ourName);
  }

  /** Enters and waits for memberQty members: true, or false after timeoutMs (our node is then removed). */
  async enter(o: WaitOptions = {}): Promise<boolean> {
    const deadline = deadlineOf(o);
    const signal = o.signal;
    for (;;) {
      try {
        return await this.enterOnce(deadline, signal);
      } catch (e) {
        if (!isSessionLoss(e)) {
          await this.ops.deleteGuaranteed(this.memberPath).catch(() => undefined);
          throw e;
        }
        await this.client.waitForConnected(signal ? { signal } : {});
      }
    }
  }

  private async enterOnce(deadline: number | null, signal: AbortSignal | undefined): Promise<boolean> {
    const wake = new Wake();
    const so = signal ? { signal } : {};
    const readyExists = (await this.ops.retry(() => this.client.exists(this.readyPath, { watch: wake.watcher, ...so }), signal)) !== null;
    try {
      await this.ops.retry(
        () => this.client.create(this.memberPath, null, { mode: CreateMode.EPHEMERAL, createParents: 'container', ...so }),
        signal,
      );
    } catch (e) {
      // ours from a retried create, or from an earlier enter() of this instance
      if (!(e instanceof NodeExistsError)) throw e;
    }
    if (readyExists) {
      this.ops.forgetWatch(this.readyPath, wake.watcher);
      return true;
    }
    try {
      for (;;) {
        if (wake.event?.type === 'NodeCreated') return true;
        // the watch ended with the session, or our node went with it: start over (enter())
        if (wake.event?.type === 'None') throw new SessionExpiredError(this.readyPath);
        const children = (await this.ops.childrenOrEmpty(this.path, so)).filter((c) => c !== READY_NODE);
        if (!children.includes(this.ourName)) throw new SessionExpiredError(this.memberPath);
        if (children.length >= this.memberQty) {
          try {
            await this.ops.retry(() => this.client.create(this.readyPath, null, so), signal);
          } catch (e) {
            if (!(e instanceof NodeExistsError)) throw e;
          }
          return true;
        }
        if (!(await wake.wait(deadline, signal))) {
          await this.ops.deleteGuaranteed(this.memberPath);
          return false;
        }
      }
    } finally {
      if (!wake.event) this.ops.forgetWatch(this.readyPath, wake.watcher);
    }
  }

  /** Leaves and waits until every member has left: true, or false after timeoutMs. */
  async leave(o: WaitOptions = {}): Promise<boolean> {
    const deadline = deadlineOf(o);
    const signal = o.signal;
    const so = signal ? { signal } : {};
    let ourNodeShouldExist = true;
    let result = true;
    for (;;) {
      const children = (await this.ops.childrenOrEmpty(this.path, so)).filter((c) => c !== READY_NODE).sort();
      if (children.length === 0) break;
      const ourIndex = children.indexOf(this.ourName);
      if (ourIndex < 0 && ourNodeShouldExist) {
        // gone with an expired session: we have left, in effect; wait for the others as usual
        ourNodeShouldExist = false;
      }
      if (children.length === 1 && ourIndex === 0) {
        await this.ops.deleteGuaranteed(this.memberPath);
        break;
      }
      const wake = new Wake();
      let watchPath: string;
      if (ourIndex === 0) {
        watchPath = join(this.path, children[children.length - 1]!);
      } else {
        watchPath = join(this.path, children[0]!);
        if (ourNodeShouldExist) {
          await this.ops.deleteGuaranteed(this.memberPath);
          ourNodeShouldExist = false;
        }
      }
      const stat = await this.ops.retry(() => this.client.exists(watchPath, { watch: wake.watcher, ...so }), signal);
      if (stat === null) {
        this.ops.forgetWatch(watchPath, wake.watcher);
        continue;
      }
      let woke: boolean;
      try {
        woke = await wake.wait(deadline, signal);
      } finally {
        if (!wake.event) this.ops.forgetWatch(watchPath, wake.watcher);
      }
      if (!woke) {
        result = false;
        break;
      }
    }
    try {
      await this.ops.retry(() => this.client.delete(this.readyPath));
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e;
    }
    return result;
  }
}
