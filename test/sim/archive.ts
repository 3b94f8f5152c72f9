// The continuous archive in the simulator: one archive shared by every simulated member, each
// member running the real Archiver (src/backup/archiver.ts) against its simulated disk, the chain
// read with the real chain rules (src/backup/chain.ts), and the invariant the archive must keep
// under every fault the simulator injects: every committed txn is in it exactly once, in order, in
// links that each continue the one before.
import { Archiver, type ActionResult, type ArchiveAction, type ArchiveView, type MemberState } from '../../src/backup/archiver.js';
import { START_LINK, buildChain, isJump, isRestoreBase, linkName, type Chain, type Link } from '../../src/backup/chain.js';
import { follows, recordCrc } from '../../src/backup/chunk.js';
import { viewOf } from '../../src/backup/archive.js';
import type { Entry } from '../../src/consensus/messages.js';
import { crossesBreak, type LogBreak } from '../../src/storage/logbreaks.js';

/** Archive timing in simulated ms: short, so a run of a few seconds archives many times. */
export const SIM_ARCHIVE = {
  archiveIntervalMs: 100,
  staleMs: 300,
  refreshMs: 50,
  backupIntervalMs: 1500,
  retention: false,
  chunkTxnsMax: 40,
};
/** at most this many txns per link, so chains have many links */
const CHUNK_TXNS_MAX = 25;

type SimLink = Link & { entries: Entry[] };

/** What an archive action may read of a member: its disk, as the member holds it now. */
export interface SimMemberDisk {
  /** durable entries, including older ones a snapshot covers but the archive does not hold yet (zxid order) */
  entries(): readonly Entry[];
  /** the zxid of its snapshot, if any */
  snapshot: number | null;
  /** where a SNAP install kept the old log up to `keep` and the new log resumes after `snapshot` (logbreaks.ts) */
  breaks: readonly LogBreak[];
  /** a backup of its applied state now: zxid and digest */
  capture(): { zxid: number; digest: bigint };
  /** its snapshot as a backup: digest */
  snapshotDigest(): bigint;
}

/** What the cluster knows of the one true history, for checking each link as it is written. */
export interface SimHistory {
  /**
   * every txn known committed, ascending: the history in order, since zxids only grow along it (a
   * restore starts an epoch above everything before it, and the history it replaced ends below)
   */
  committed(): readonly number[];
  /** the bases restores started new histories at (an image installed with counter 0) */
  readonly restoreBases: ReadonlySet<number>;
}

export class SimArchive {
  readonly links = new Map<string, SimLink>();
  readonly backups = new Map<number, { timeMs: number; digest: bigint }>();
  counts = { chunks: 0, fills: 0, jumps: 0, collisions: 0, missing: 0, captures: 0, bases: 0, unreachable: 0 };
  /** scripted outage: the archive cannot be read or written (an unmounted share, a full disk) */
  down = false;
  /** the chain and view as of the last write (members read them every few simulated ms) */
  private cached: { chain: Chain; view: ArchiveView } | null = null;
  /** which link holds each archived txn */
  private readonly holder = new Map<number, string>();
  /** the first link found not to hold consecutive committed txns (reported by problem()) */
  private violation: string | null = null;

  /**
   * `listOrder` picks the order the store lists links in each time the chain is read: a directory
   * lists in no particular order (ext4: hash order), and the chain must not depend on it.
   */
  constructor(
    private readonly history: SimHistory = { committed: () => [], restoreBases: new Set() },
    private readonly listOrder: (n: number) => number = () => 0,
  ) {}

  /** The links as a directory listing gives them: in an order drawn from the seed. */
  private listed(): SimLink[] {
    const xs = [...this.links.values()];
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.listOrder(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  private get current(): { chain: Chain; view: ArchiveView } {
    if (!this.cached) {
      const chain = buildChain(this.listed());
      const backups = [...this.backups.entries()].sort((a, b) => a[0] - b[0]).map(([zxid, b]) => ({ zxid, timeMs: b.timeMs }));
      this.cached = { chain, view: viewOf(chain, backups) };
    }
    return this.cached;
  }

  view(): ArchiveView {
    return this.current.view;
  }

  private create(name: string, link: SimLink): ActionResult {
    if (this.links.has(name)) {
      this.counts.collisions++;
      return { ok: false, reason: 'exists' };
    }
    this.violation ??= this.inconsecutive(link);
    this.links.set(name, link);
    this.cached = null;
    return { ok: true, wrote: { zxid: link.last } };
  }

  /** Carries out one archive action against a member's disk, as the runtime does against files. */
  perform(a: ArchiveAction, disk: SimMemberDisk, now: number): ActionResult {
    if (this.down) {
      this.counts.unreachable++;
      return { ok: false, reason: 'error', message: 'archive unreachable' };
    }
    switch (a.kind) {
      case 'refresh':
        return { ok: true, view: this.view() };
      case 'chunk':
        return this.chunk(a, disk);
      case 'jump': {
        const r = this.create(linkName(a.from), {
          name: linkName(a.from),
          prev: a.from,
          first: a.to,
          last: a.to,
          count: 0,
          firstTime: 0,
          lastTime: 0,
          lastCrc: null,
          entries: [],
        });
        if (r.ok) this.counts.jumps++;
        return r;
      }
      case 'base': {
        if (disk.snapshot !== a.snapshot) return { ok: false, reason: 'missing' };
        if (this.backups.has(a.snapshot)) return { ok: false, reason: 'exists' };
        this.backups.set(a.snapshot, { timeMs: now, digest: disk.snapshotDigest() });
        this.cached = null;
        this.counts.bases++;
        return { ok: true, wrote: { zxid: a.snapshot } };
      }
      case 'capture': {
        const c = disk.capture();
        if (this.backups.has(c.zxid)) return { ok: false, reason: 'exists' };
        this.backups.set(c.zxid, { timeMs: now, digest: c.digest });
        this.cached = null;
        this.counts.captures++;
        return { ok: true, wrote: { zxid: c.zxid } };
      }
      case 'status':
      case 'prune':
        return { ok: true };
    }
  }

  /**
   * readRecordRun's rules over a simulated disk: continue `after` from the txn itself or a snapshot
   * at it; never across a break a SNAP install recorded, or past a snapshot between two records;
   * never from a txn whose checksum is not the archived one (in one history: never).
   */
  private chunk({ after, upTo, slot, afterCrc }: Extract<ArchiveAction, { kind: 'chunk' }>, disk: SimMemberDisk): ActionResult {
    const es = disk.entries();
    const snapshots = disk.snapshot === null ? [] : [disk.snapshot];
    const barrier = (prev: number, next: number): boolean =>
      crossesBreak(disk.breaks, prev, next) || snapshots.some((z) => z > prev && z < next) || !follows(prev, next);
    let i = es.findIndex((e) => e.zxid === after);
    if (i >= 0 && afterCrc !== null && recordCrc(es[i]!.data) !== afterCrc) {
      this.violation ??= `a member's txn at 0x${after.toString(16)} has another checksum than the archived one: one history cannot diverge from itself`;
      return { ok: false, reason: 'diverged' };
    }
    if (i >= 0) i++;
    else if (disk.snapshot === after || (after === 0 && disk.snapshot === null) || isRestoreBase(after))
      i = es.findIndex((e) => e.zxid > after);
    if (i < 0 || i >= es.length || barrier(after, es[i]!.zxid)) {
      this.counts.missing++;
      return { ok: false, reason: 'missing' };
    }
    const entries: Entry[] = [];
    let prev = after;
    for (; i < es.length && es[i]!.zxid <= upTo && entries.length < CHUNK_TXNS_MAX; i++) {
      const e = es[i]!;
      if (barrier(prev, e.zxid)) break; // kept txns end where a SNAP's snapshot begins
      entries.push(e);
      prev = e.zxid;
    }
    if (entries.length === 0) {
      this.counts.missing++;
      return { ok: false, reason: 'missing' };
    }
    const name = slot === 'start' ? START_LINK : linkName(after, slot === 'fill');
    const r = this.create(name, {
      name,
      prev: after,
      first: entries[0]!.zxid,
      last: prev,
      count: entries.length,
      firstTime: 0,
      lastTime: 0,
      lastCrc: recordCrc(entries.at(-1)!.data),
      entries,
    });
    if (r.ok) this.counts.chunks++;
    if (r.ok && slot === 'fill') this.counts.fills++;
    return r;
  }

  /**
   * Does a link skip or cross what the ensemble committed? Each txn must be the committed one right
   * after the txn (or base) before it: the next in history.order after a txn, never the first txn
   * of a restored history after another txn, and after a base (0, or a restore's) its first txn.
   * Checked as each link is written, so the schedule that wrote a bad one is the one reported.
   */
  private inconsecutive(link: SimLink): string | null {
    if (link.entries.length === 0) return null;
    const order = this.history.committed();
    const position = new Map(order.map((z, i) => [z, i]));
    const hex = (z: number): string => `0x${z.toString(16)}`;
    let prev = link.prev;
    for (const e of link.entries) {
      const at = position.get(e.zxid);
      if (at === undefined) return `${link.name} holds ${hex(e.zxid)}, which was never committed`;
      const p = position.get(prev);
      const restoreStart = this.history.restoreBases.has(e.zxid - 1);
      const ok =
        p !== undefined
          ? at === p + 1 && !restoreStart
          : prev === 0
            ? at === 0
            : this.history.restoreBases.has(prev) && e.zxid === prev + 1;
      if (!ok)
        return `${link.name} goes from ${hex(prev)} to ${hex(e.zxid)}, but the committed history goes ${p === undefined ? `from ${hex(prev)} (not a committed txn)` : `${hex(prev)} -> ${order[p + 1] === undefined ? 'nothing yet' : hex(order[p + 1]!)}`}`;
      prev = e.zxid;
    }
    return null;
  }

  /**
   * The invariant, checked after every write: no txn is in two links, every link's txns are the
   * committed ones, in order, each link continues the one before it (a jump continues at a
   * backup), and no link is off the chain. Returns a problem, or null.
   */
  problem(committed: ReadonlyMap<number, Buffer>, digests: ReadonlyMap<number, bigint>): string | null {
    if (this.violation) return this.violation;
    for (const l of this.links.values()) {
      let prev = l.prev;
      for (const e of l.entries) {
        const other = this.holder.get(e.zxid);
        if (other !== undefined && other !== l.name) return `txn 0x${e.zxid.toString(16)} is archived twice: in ${other} and ${l.name}`;
        if (other === undefined) this.holder.set(e.zxid, l.name);
        if (!follows(prev, e.zxid)) return `${l.name}: 0x${e.zxid.toString(16)} does not follow 0x${prev.toString(16)}`;
        const want = committed.get(e.zxid);
        if (want && !want.equals(Buffer.from(e.data))) return `archived txn 0x${e.zxid.toString(16)} differs from the committed one`;
        prev = e.zxid;
      }
      if (isJump(l) && !this.backups.has(l.last)) return `${l.name} jumps to 0x${l.last.toString(16)}, where there is no backup`;
    }
    const chain = this.current.chain;
    if (chain.unlinked.length > 0) return `links off the chain: ${chain.unlinked.map((l) => l.name).join(', ')}`;
    for (const [zxid, b] of this.backups) {
      const d = digests.get(zxid);
      if (d !== undefined && d !== b.digest) return `the archive's backup at 0x${zxid.toString(16)} is not the committed state there`;
    }
    return null;
  }

  /**
   * At the end, with every member up: every committed txn after the chain's base is archived, in a
   * link or as the state of a backup the chain jumps to, and no jump left open skips a txn a
   * restore could want (one whose txns some member still held would have been filled).
   */
  incomplete(committedOrder: readonly number[], disks: ReadonlyArray<readonly Entry[]>): string | null {
    const chain = this.current.chain;
    if (chain.links.length === 0) return committedOrder.length === 0 ? null : 'nothing was archived';
    const archived = this.holder;
    const base = chain.links[0]!.prev;
    const targets = new Set(chain.jumps.map((j) => j.to));
    // a hole may stay only where no member's disk still holds the txns that would fill it
    const fillable = (after: number, before: number): boolean =>
      disks.some((es) => {
        let i = es.findIndex((e) => e.zxid === after);
        if (i < 0) return false;
        for (let prev = after; ++i < es.length && follows(prev, es[i]!.zxid); prev = es[i]!.zxid) if (es[i]!.zxid === before) return true;
        return false;
      });
    const open = chain.jumps.filter((j) => j.filledTo !== j.to);
    const holes = open.filter((j) => !j.restore && fillable(j.filledTo, j.to));
    // skipped on purpose: a restore replaced the history after its jump's start; and a hole no
    // member can fill (its txns went with the disks that held them; the archiver reported it)
    const skipped = (z: number): boolean => open.some((j) => z > j.filledTo && z < j.to && !holes.includes(j));
    const lacking = committedOrder.filter((z) => z > base && !archived.has(z) && !targets.has(z) && !skipped(z));
    if (lacking.length > 0 || holes.length > 0) {
      return `${lacking.length} committed txns after the chain's base (0x${base.toString(16)}) are not archived${lacking.length > 0 ? `, e.g. 0x${lacking[0]!.toString(16)}` : ''}; holes: ${JSON.stringify(holes.map((h) => [h.filledTo.toString(16), h.to.toString(16)]))}`;
    }
    return null;
  }
}

/** One member's archiver and its action in flight (lost if the member crashes first). */
export class SimArchiving {
  readonly archiver = new Archiver(SIM_ARCHIVE);
  private inFlight: { action: ArchiveAction; doneAt: number } | null = null;

  /** One step: finish the action in flight when due, then start the next. `delay` draws how long an action takes. */
  step(archive: SimArchive, now: number, localNow: number, m: MemberState, disk: SimMemberDisk, delay: () => number): ArchiveAction | null {
    let finished: ArchiveAction | null = null;
    if (this.inFlight) {
      if (now < this.inFlight.doneAt) return null;
      finished = this.inFlight.action;
      this.archiver.done(localNow, archive.perform(finished, disk, localNow));
      this.inFlight = null;
    }
    const next = this.archiver.next(localNow, m);
    if (next) this.inFlight = { action: next, doneAt: now + delay() };
    return finished;
  }
}
