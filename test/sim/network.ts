// Simulated message network for the deterministic simulator (reliability.md §2.2: TigerBeetle's
// packet simulator; §1.5: Jepsen partition shapes). The harness owns the clock: `now` is an
// integer count of simulated milliseconds, passed to send() and takeDue().
//
// Semantics:
// - A message sent at `now` is delivered at `now + max(1, ceil(delay))`, delay = delayMinMs +
//   exp(delayMeanMs - delayMinMs). The 1 ms floor means a message is never due in the step it was
//   sent in, so zero-delay ping-pong cannot livelock a step.
// - reorder=false: each directed link is FIFO (a message's deliverAt is at least that of the
//   previous message on the link, and ties deliver in send order). reorder=true: independent delays.
// - A blocked link drops at send time. Blocking a link (setLink, partition, isolate, blockLinks)
//   or crashing a node (dropNode) drops what is in flight on it at once, like a broken TCP
//   connection: healing later does not bring those messages back. A link is also reset when it
//   goes down, so the FIFO floor of a new "connection" starts fresh.
// - Pending messages sit in a binary heap keyed by (deliverAt, seq); seq is a global send counter.
// - Randomness: loss, duplication and delay each draw from their own stream split from the given
//   Rng, and each send that passes the link check draws loss, duplication and delay once whatever
//   the outcome, so changing lossP or duplicateP does not shift the delays of other messages
//   (with reorder=true; with FIFO links a message's arrival also depends on its predecessors).

import type { Rng } from './rng.js';

export interface NetworkOptions {
  /** one-way delay = delayMinMs + exponential(delayMeanMs - delayMinMs) */
  delayMinMs: number;
  delayMeanMs: number;
  /** per message drop probability */
  lossP: number;
  /** per message probability of delivering a second copy (with its own delay) */
  duplicateP: number;
  /** false: each directed link is FIFO; true: independent delays */
  reorder: boolean;
}

export interface Delivery<T> {
  from: number;
  to: number;
  payload: T;
}

interface Pending<T> {
  deliverAt: number;
  seq: number;
  from: number;
  to: number;
  payload: T;
}

/** Node ids must be integers in [0, 2^21) so a directed link packs into one safe integer. */
const ID_LIMIT = 2 ** 21;

function linkKey(from: number, to: number): number {
  return from * ID_LIMIT + to;
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= ID_LIMIT) {
    throw new RangeError(`SimNetwork: node id must be an integer in [0, 2^21), got ${id}`);
  }
}

function checkOptions(o: NetworkOptions): void {
  const prob = (name: string, p: number): void => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`SimNetwork: ${name} must be in [0, 1], got ${p}`);
  };
  prob('lossP', o.lossP);
  prob('duplicateP', o.duplicateP);
  if (!(o.delayMinMs >= 0) || !Number.isFinite(o.delayMinMs)) {
    throw new RangeError(`SimNetwork: delayMinMs must be >= 0, got ${o.delayMinMs}`);
  }
  if (!(o.delayMeanMs >= 0) || !Number.isFinite(o.delayMeanMs)) {
    throw new RangeError(`SimNetwork: delayMeanMs must be >= 0, got ${o.delayMeanMs}`);
  }
}

/** Min-heap on (deliverAt, seq). */
class PendingHeap<T> {
  items: Pending<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Pending<T> | undefined {
    return this.items[0];
  }

  private static less<T>(x: Pending<T>, y: Pending<T>): boolean {
    return x.deliverAt < y.deliverAt || (x.deliverAt === y.deliverAt && x.seq < y.seq);
  }

  push(item: Pending<T>): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as Pending<T>;
      if (!PendingHeap.less(item, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = item;
  }

  pop(): Pending<T> | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined) return undefined;
    if (a.length > 0) {
      a[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Keep only items satisfying `keep`; O(n). Returns how many were removed. */
  filter(keep: (p: Pending<T>) => boolean): number {
    const before = this.items.length;
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
    return before - this.items.length;
  }

  private siftDown(i: number): void {
    const a = this.items;
    const n = a.length;
    const item = a[i] as Pending<T>;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && PendingHeap.less(a[r] as Pending<T>, a[l] as Pending<T>)) c = r;
      const child = a[c] as Pending<T>;
      if (!PendingHeap.less(child, item)) break;
      a[i] = child;
      i = c;
    }
    a[i] = item;
  }
}

export class SimNetwork<T> {
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  private opts: NetworkOptions;
  private readonly lossRng: Rng;
  private readonly dupRng: Rng;
  private readonly delayRng: Rng;
  private readonly heap = new PendingHeap<T>();
  private seq = 0;
  /** FIFO floor per directed link (reorder=false): deliverAt of the last message queued on it. */
  private readonly lastAt = new Map<number, number>();
  /** Individually blocked directed links (setLink/blockLinks/isolate). */
  private readonly blocked = new Set<number>();
  /** Group partition: node -> group index; null when no group partition is in force. */
  private groupOf: Map<number, number> | null = null;
  private groups: number[][] | null = null;

  constructor(rng: Rng, opts: NetworkOptions) {
    checkOptions(opts);
    this.opts = { ...opts };
    this.lossRng = rng.split('net.loss');
    this.dupRng = rng.split('net.dup');
    this.delayRng = rng.split('net.delay');
  }

  get options(): Readonly<NetworkOptions> {
    return this.opts;
  }

  /** Messages currently in flight. */
  get inFlight(): number {
    return this.heap.size;
  }

  setOptions(opts: Partial<NetworkOptions>): void {
    const next: NetworkOptions = { ...this.opts };
    if (opts.delayMinMs !== undefined) next.delayMinMs = opts.delayMinMs;
    if (opts.delayMeanMs !== undefined) next.delayMeanMs = opts.delayMeanMs;
    if (opts.lossP !== undefined) next.lossP = opts.lossP;
    if (opts.duplicateP !== undefined) next.duplicateP = opts.duplicateP;
    if (opts.reorder !== undefined) next.reorder = opts.reorder;
    checkOptions(next);
    this.opts = next;
  }

  /** `canDuplicate` false: the payload is never delivered twice (even when duplicateP says so). */
  send(from: number, to: number, payload: T, now: number, canDuplicate = true): void {
    checkId(from);
    checkId(to);
    this.stats.sent++;
    if (!this.linkUp(from, to)) {
      this.stats.dropped++;
      return;
    }
    // Draw loss, duplication and the delay whatever the outcome, so each stream advances once
    // per send and changing one probability leaves the other streams' draws in place.
    const lost = this.lossRng.next() < this.opts.lossP;
    const dup = this.dupRng.next() < this.opts.duplicateP;
    const delay = this.drawDelay(this.delayRng);
    if (lost) {
      this.stats.dropped++;
      if (this.onLoss) {
        // TCP-like: a loss is the connection breaking: what was in flight on it is gone, and
        // both ends are told (the harness delivers peer-down)
        this.resetLink(from, to);
        this.onLoss(from, to);
      }
    } else {
      this.enqueue(from, to, payload, now, delay);
    }
    if (dup && canDuplicate) {
      this.stats.duplicated++;
      this.enqueue(from, to, payload, now, this.drawDelay(this.dupRng));
    }
  }

  /** Messages due at or before `now`, removed from the network, in (deliverAt, seq) order. */
  takeDue(now: number): Array<Delivery<T>> {
    const out: Array<Delivery<T>> = [];
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.deliverAt > now) break;
      this.heap.pop();
      // Blocking purges eagerly, so this only guards against future changes to that rule.
      if (!this.linkUp(top.from, top.to)) {
        this.stats.dropped++;
        continue;
      }
      this.stats.delivered++;
      out.push({ from: top.from, to: top.to, payload: top.payload });
    }
    return out;
  }

  /** deliverAt of the earliest pending message, or undefined when nothing is in flight. */
  nextDueAt(): number | undefined {
    return this.heap.peek()?.deliverAt;
  }

  /** Block (up=false) or unblock one directed link. Blocking drops what is in flight on it. */
  setLink(from: number, to: number, up: boolean): void {
    checkId(from);
    checkId(to);
    const k = linkKey(from, to);
    if (up) {
      this.blocked.delete(k);
    } else if (!this.blocked.has(k)) {
      this.blocked.add(k);
      this.purge();
    }
  }

  /** Block many directed links with a single purge of the in-flight queue. */
  blockLinks(links: ReadonlyArray<readonly [number, number]>): void {
    for (const [from, to] of links) {
      checkId(from);
      checkId(to);
      this.blocked.add(linkKey(from, to));
    }
    if (links.length > 0) this.purge();
  }

  /**
   * Nodes in different groups cannot talk (both directions); nodes not listed in any group are
   * isolated from everyone (a node can always reach itself). Replaces any previous group
   * partition; individually blocked links (setLink/blockLinks/isolate) stay blocked.
   */
  partition(groups: number[][]): void {
    const groupOf = new Map<number, number>();
    groups.forEach((g, i) => {
      for (const id of g) {
        checkId(id);
        if (groupOf.has(id)) throw new RangeError(`SimNetwork.partition: node ${id} is in two groups`);
        groupOf.set(id, i);
      }
    });
    this.groupOf = groupOf;
    this.groups = groups.map((g) => [...g]);
    this.purge();
  }

  /** Cut `id` off from every other node of `allIds`, both directions (as blocked links). */
  isolate(id: number, allIds: number[]): void {
    const links: Array<[number, number]> = [];
    for (const other of allIds) {
      if (other === id) continue;
      links.push([id, other], [other, id]);
    }
    this.blockLinks(links);
  }

  /** All links up: clears the group partition and every blocked link. In-flight dropped stay dropped. */
  heal(): void {
    this.blocked.clear();
    this.groupOf = null;
    this.groups = null;
  }

  /** A crashed node: drop everything in flight to or from it (its TCP connections broke). */
  dropNode(id: number): void {
    const n = this.heap.filter((p) => p.from !== id && p.to !== id);
    this.stats.dropped += n;
    for (const k of [...this.lastAt.keys()]) {
      const from = Math.floor(k / ID_LIMIT);
      const to = k % ID_LIMIT;
      if (from === id || to === id) this.lastAt.delete(k);
    }
  }

  linkUp(from: number, to: number): boolean {
    if (from === to) return true;
    if (this.blocked.has(linkKey(from, to))) return false;
    if (this.groupOf !== null) {
      const gf = this.groupOf.get(from);
      if (gf === undefined || gf !== this.groupOf.get(to)) return false;
    }
    return true;
  }

  /** Current partition state, for logs: "healed", or e.g. "groups=[1,2|3] blocked=[1>3,3>1]". */
  describe(): string {
    const parts: string[] = [];
    if (this.groups !== null) parts.push(`groups=[${this.groups.map((g) => g.join(',')).join('|')}]`);
    if (this.blocked.size > 0) {
      const links = [...this.blocked].sort((x, y) => x - y).map((k) => `${Math.floor(k / ID_LIMIT)}>${k % ID_LIMIT}`);
      parts.push(`blocked=[${links.join(',')}]`);
    }
    return parts.length === 0 ? 'healed' : parts.join(' ');
  }

  private drawDelay(rng: Rng): number {
    const { delayMinMs, delayMeanMs } = this.opts;
    return delayMinMs + rng.exp(Math.max(0, delayMeanMs - delayMinMs));
  }

  private enqueue(from: number, to: number, payload: T, now: number, delay: number): void {
    let deliverAt = now + Math.max(1, Math.ceil(delay));
    // The floor is tracked even while reordering, so switching reorder off keeps new messages
    // behind everything already in flight on the link.
    const k = linkKey(from, to);
    const last = this.lastAt.get(k);
    if (last !== undefined && last > deliverAt) {
      if (!this.opts.reorder) deliverAt = last;
    } else {
      this.lastAt.set(k, deliverAt);
    }
    this.heap.push({ deliverAt, seq: this.seq++, from, to, payload });
  }

  /**
   * When set, a lost message resets its directed link (TCP semantics) and this is called;
   * otherwise a loss drops only that message (packet semantics).
   */
  onLoss: ((from: number, to: number) => void) | null = null;

  /** Drop everything in flight from `from` to `to` (a broken connection). */
  resetLink(from: number, to: number): void {
    this.stats.dropped += this.heap.filter((p) => !(p.from === from && p.to === to));
    this.lastAt.delete(linkKey(from, to));
  }

  /** Drop in-flight messages on links that are now down, and reset those links' FIFO floors. */
  private purge(): void {
    this.stats.dropped += this.heap.filter((p) => this.linkUp(p.from, p.to));
    for (const k of [...this.lastAt.keys()]) {
      if (!this.linkUp(Math.floor(k / ID_LIMIT), k % ID_LIMIT)) this.lastAt.delete(k);
    }
  }
}
