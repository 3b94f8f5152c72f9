// Leader election, two ways, as Curator has them:
//
// LeaderLatch (Curator's LeaderLatch): every participant keeps an EPHEMERAL_SEQUENTIAL node
// `_c_<uuid>-latch-<seq>` (data: its id) under the latch path; the lowest one leads; the others
// watch their predecessor only. Connection states as Curator's default error policy: on
// 'suspended' leadership is given up at once (notLeader: the session may be expiring and another
// participant may lead soon); on 'reconnected' the latch re-reads the children and leads again
// if its node is still first and still this session's; on session expiry leadership is lost and,
// with the next session, the latch creates a new node and queues again (Curator's reset()).
//
// LeaderElection (Curator's LeaderSelector): an InterProcessMutex on the election path; whoever
// holds it runs takeLeadership(signal) and leads until that returns; then the mutex is released
// and, with autoRequeue, the participant queues again. The signal aborts when the connection is
// suspended or the session lost (Curator's LeaderSelectorListenerAdapter cancels leadership on
// SUSPENDED and LOST by interrupting the leader's thread): takeLeadership must stop promptly.
import { CreateMode } from '../client/ops.js';
import type { ZooKeeperClient } from '../client/zookeeper.js';
import { InterProcessMutex, standardDriver } from './lock.js';
import {
  Kicker,
  Ops,
  RecipeClosedError,
  TypedEmitter,
  Wake,
  deadlineOf,
  isClosed,
  isSessionLoss,
  join,
  nameOf,
  onConnectionChange,
  sortedBySequence,
  type ConnectionChange,
  type RecipeOptions,
  type WaitOptions,
} from './internal.js';
import { sleep } from '../client/retry.js';

const LATCH_NAME = 'latch-';
const SELECTOR_NAME = 'lock-';

export interface Participant {
  id: string;
  isLeader: boolean;
}

export interface LeaderOptions extends RecipeOptions {
  /** this participant's id, stored in its node (getParticipants shows it); default '' */
  id?: string;
}

export interface LeaderLatchEvents {
  isLeader: () => void;
  notLeader: () => void;
  /** a background failure (other than connection trouble, which is retried) */
  error: (e: unknown) => void;
}

type LatchState = 'latent' | 'started' | 'closed';

export class LeaderLatch extends TypedEmitter<LeaderLatchEvents> {
  readonly id: string;
  private readonly ops: Ops;
  private state: LatchState = 'latent';
  private ourPath: string | null = null;
  private leader = false;
  private readonly kicker: Kicker;
  private unsubscribe: (() => void) | null = null;
  private readonly leaderWaiters = new Set<() => void>();
  private readonly predecessorWatcher = (e: { type: string }): void => {
    if (e.type === 'NodeDeleted' || e.type === 'None') this.kicker.kick();
  };

  constructor(
    readonly client: ZooKeeperClient,
    readonly latchPath: string,
    options: LeaderOptions = {},
  ) {
    super();
    this.id = options.id ?? '';
    this.ops = new Ops(client, options.retryPolicy);
    this.kicker = new Kicker(
      client,
      () => this.check(),
      (e) => this.report(e),
    );
  }

  /** Joins the election; resolves once this participant's node exists (leadership comes as an event). */
  async start(): Promise<void> {
    if (this.state !== 'latent') throw new RecipeClosedError('LeaderLatch (already started)');
    this.state = 'started';
    this.unsubscribe = onConnectionChange(this.client, (c) => this.onConnection(c));
    this.kicker.kick();
    await this.kicker.idle();
  }

  /**
   * Leaves the election: deletes this participant's node, so the next one leads. With
   * notifyLeader, a leader hears 'notLeader' (Curator's CloseMode.NOTIFY_LEADER); by default it
   * does not (CloseMode.SILENT).
   */
  async close(o: { notifyLeader?: boolean } = {}): Promise<void> {
    if (this.state !== 'started') return;
    this.state = 'closed';
    this.kicker.stop();
    this.unsubscribe?.();
    // not waiting for a pass in progress (it may wait for a connection): a node it creates from
    // now on is deleted by that pass itself, as the state is no longer 'started'
    const path = this.ourPath;
    this.ourPath = null;
    this.setLeader(false, o.notifyLeader === true);
    for (const w of this.leaderWaiters) w();
    if (path) await this.ops.deleteGuaranteed(path).catch(() => undefined);
  }

  hasLeadership(): boolean {
    return this.state === 'started' && this.leader;
  }

  /**
   * Waits until this participant leads: true then, false after timeoutMs or when the latch is
   * closed; rejects with signal.reason on abort (Curator's await).
   */
  async await(o: WaitOptions = {}): Promise<boolean> {
    const deadline = deadlineOf(o);
    for (;;) {
      if (this.hasLeadership()) return true;
      if (this.state === 'closed') return false;
      const wake = new Wake();
      const fire = (): void => wake.fire();
      this.leaderWaiters.add(fire);
      try {
        if (!(await wake.wait(deadline, o.signal))) return false;
      } finally {
        this.leaderWaiters.delete(fire);
      }
    }
  }

  /** This participant's node, once created. */
  get path(): string | null {
    return this.ourPath;
  }

  /** Every participant, the leader first. */
  getParticipants(): Promise<Participant[]> {
    return participants(this.ops, this.latchPath, [LATCH_NAME]);
  }

  /** The current leader, or null when nobody takes part. */
  async getLeader(): Promise<Participant | null> {
    return (await this.getParticipants())[0] ?? null;
  }

  private onConnection(c: ConnectionChange): void {
    switch (c) {
      case 'suspended':
      case 'lost':
      case 'closed':
        this.setLeader(false, true);
        return;
      case 'reconnected':
      case 'renewed':
        this.kicker.kick();
        return;
    }
  }

  /** Curator's getChildren + checkLeadership, as one pass; the Kicker runs it again on every change. */
  private async check(): Promise<void> {
    if (this.state !== 'started') return;
    if (this.ourPath === null) {
      const node = await this.ops.createProtected(this.latchPath, LATCH_NAME, this.id, CreateMode.EPHEMERAL_SEQUENTIAL);
      if (this.state !== 'started') {
        await this.ops.deleteGuaranteed(node.path);
        return;
      }
      this.ourPath = node.path;
    }
    const ours = nameOf(this.ourPath);
    const sorted = sortedBySequence(await this.ops.childrenOrEmpty(this.latchPath), [LATCH_NAME]);
    const index = sorted.indexOf(ours);
    if (index < 0) return this.reset();
    if (index === 0) {
      // the first node, but is it this session's? (one left from a session lost locally is not)
      const d = await this.ops.getDataOrNull(this.ourPath);
      if (!d || d.stat.ephemeralOwner !== this.client.sessionId) return this.reset();
      if (this.state === 'started' && this.client.connected) this.setLeader(true, true);
      return;
    }
    this.setLeader(false, true);
    const watchPath = join(this.latchPath, sorted[index - 1]!);
    // one watcher function for every pass, so repeated passes do not pile up watchers
    const exists = await this.ops.getDataOrNull(watchPath, { watch: this.predecessorWatcher });
    if (!exists) this.kicker.kick();
  }

  /** Curator's reset(): leadership off, our old node deleted, a new one created behind the others. */
  private async reset(): Promise<void> {
    this.setLeader(false, true);
    const old = this.ourPath;
    this.ourPath = null;
    if (old) await this.ops.deleteGuaranteed(old);
    this.kicker.kick();
  }

  private setLeader(leader: boolean, notify: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    if (notify) this.emit(leader ? 'isLeader' : 'notLeader');
    for (const w of this.leaderWaiters) w();
  }
}

// ---------- LeaderElection ----------

export interface LeaderElectionOptions extends LeaderOptions {
  /** queue again after leadership ends (Curator's autoRequeue); default false */
  autoRequeue?: boolean;
}

export interface LeaderElectionEvents {
  /** takeLeadership is about to run */
  leader: () => void;
  /** takeLeadership ended (returned, threw, or was cancelled) and leadership was given up */
  leadershipEnded: (info: { reason: 'returned' | 'threw' | 'cancelled' }) => void;
  error: (e: unknown) => void;
}

/**
 * Runs takeLeadership while this participant leads (Curator's LeaderSelector). `signal` aborts
 * when leadership must end early: connection suspended or session lost (the leader cannot know
 * whether another one has taken over), interruptLeadership(), or close().
 */
export type TakeLeadership = (signal: AbortSignal) => Promise<void> | void;

export class LeaderElection extends TypedEmitter<LeaderElectionEvents> {
  readonly id: string;
  private readonly ops: Ops;
  private readonly mutex: InterProcessMutex;
  private readonly autoRequeue: boolean;
  private closed = false;
  private queued = false;
  private leading: AbortController | null = null;
  private readonly closing = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    readonly client: ZooKeeperClient,
    readonly leaderPath: string,
    private readonly takeLeadership: TakeLeadership,
    options: LeaderElectionOptions = {},
  ) {
    super();
    this.id = options.id ?? '';
    this.ops = new Ops(client, options.retryPolicy);
    this.autoRequeue = options.autoRequeue === true;
    this.mutex = new InterProcessMutex(
      client,
      leaderPath,
      { data: this.id, ...(options.retryPolicy ? { retryPolicy: options.retryPolicy } : {}) },
      standardDriver(SELECTOR_NAME),
    );
    this.mutex.on('suspended', () => this.leading?.abort(new Error('connection suspended')));
    this.mutex.on('lost', ({ reason }) => this.leading?.abort(new Error(`leadership lost: ${reason}`)));
  }

  /** Joins the election (Curator's start: queue once). */
  start(): void {
    if (this.closed) throw new RecipeClosedError('LeaderElection');
    this.requeue();
  }

  /**
   * Queues again when not queued or leading (Curator's requeue); returns whether it did. With
   * autoRequeue this happens by itself after each leadership.
   */
  requeue(): boolean {
    if (this.closed || this.queued) return false;
    this.queued = true;
    this.loop = this.runOnce();
    return true;
  }

  hasLeadership(): boolean {
    return this.leading !== null;
  }

  /** Aborts takeLeadership's signal, as Curator's interruptLeadership. */
  interruptLeadership(): void {
    this.leading?.abort(new Error('leadership interrupted'));
  }

  /** Leaves the election: a leader's signal aborts; resolves once its node is gone. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new RecipeClosedError('LeaderElection'));
    this.leading?.abort(new RecipeClosedError('LeaderElection'));
    await this.loop.catch(() => undefined);
  }

  getParticipants(): Promise<Participant[]> {
    return participants(this.ops, this.leaderPath, [SELECTOR_NAME]);
  }

  async getLeader(): Promise<Participant | null> {
    return (await this.getParticipants())[0] ?? null;
  }

  private async runOnce(): Promise<void> {
    let failed = false;
    try {
      let acquired = false;
      try {
        acquired = await this.mutex.acquire({ signal: this.closing.signal });
      } catch (e) {
        if (!this.closed && !isClosed(this.client, e)) {
          this.report(e);
          failed = true;
        }
        return;
      }
      if (!acquired) return;
      await this.lead();
    } finally {
      this.queued = false;
    }
    if (this.autoRequeue && !this.closed) {
      // after a failure, not at once: a lasting one (e.g. NoAuth) must not spin
      if (failed) await sleep(1000, this.closing.signal).catch(() => undefined);
      this.requeue();
    }
  }

  /** Holds the mutex: runs takeLeadership, then gives the mutex back. */
  private async lead(): Promise<void> {
    const controller = new AbortController();
    this.leading = controller;
    // the lock may already be in doubt by the time we get here
    if (!this.mutex.isHeld) controller.abort(new Error('connection suspended'));
    if (this.closed) controller.abort(new RecipeClosedError('LeaderElection'));
    let reason: 'returned' | 'threw' | 'cancelled' | null = null;
    try {
      if (!controller.signal.aborted) {
        reason = 'returned';
        this.emit('leader');
        await this.takeLeadership(controller.signal);
        if (controller.signal.aborted) reason = 'cancelled';
      }
    } catch (e) {
      reason = controller.signal.aborted ? 'cancelled' : 'threw';
      if (reason === 'threw') this.report(e);
    } finally {
      this.leading = null;
      await this.mutex.release().catch((e: unknown) => {
        if (!isSessionLoss(e) && !isClosed(this.client, e)) this.report(e);
      });
    }
    if (reason) this.emit('leadershipEnded', { reason });
  }
}

async function participants(ops: Ops, path: string, names: string[]): Promise<Participant[]> {
  const sorted = sortedBySequence(await ops.childrenOrEmpty(path), names);
  const out: Participant[] = [];
  for (const name of sorted) {
    const d = await ops.getDataOrNull(join(path, name));
    if (d) out.push({ id: d.data?.toString('utf8') ?? '', isLeader: out.length === 0 });
  }
  return out;
}
