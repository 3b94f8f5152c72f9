// The continuous archive's decisions, as a pure state machine: what a member should write to the
// archive next, given what the archive holds and what the member holds. The runtime
// (src/runtime/archiving.ts) carries each action out against the real archive and data dir; the
// simulator (test/sim) carries it out against simulated ones, with the same decisions.
//
// The archive is a chain of links (chain.ts): chunks of committed txns and jumps to full backups,
// each link named after the position it continues and created exclusively, so each position has
// one successor whoever writes. Who writes:
//   - The member with the duty (a standalone server, or the ensemble's established leader)
//     extends the chain with the committed txns it holds on disk, at least every
//     archiveIntervalMs (the RPO), takes the scheduled full backups and applies retention, once
//     for the whole ensemble.
//   - Any other serving member extends it only when it has not advanced for staleMs while that
//     member holds committed txns beyond its end: a new leader whose log cannot continue the chain
//     (it took a SNAP past the archive's end) is covered by a follower that still holds those txns.
//     Leadership need not be exact: an old leader that still believes it leads writes only
//     committed txns, and names decide who wins.
//   - When no member can continue the chain (the txns after its end are in no serving member's
//     log, or a restore replaced the history), the chain jumps to a base: a full backup above its
//     end (written first, from this member's snapshot or taken now). A restore's snapshot (zxid
//     counter 0) starts a new history and is jumped to at once; any other jump leaves a hole,
//     reported, that a member holding those txns later (one that was down) fills.
//   - A member whose history is not the archive's writes nothing but a jump to its own restore's
//     base above the archive's end (the documented way a new history continues an archive). It
//     knows from the archived txn's checksum where its log holds that zxid (the chunk's lastCrc,
//     compared by logreader.ts), or, as the duty member, from the archive ending past everything
//     it committed (a server restored elsewhere at an older point, or another cluster pointed at
//     the same archiveDir). It reports that as a mismatch (mismatch(), mntr) until its history
//     changes.

export { isRestoreBase } from './chain.js';
import { isRestoreBase } from './chain.js';
import { counterOf, epochOf } from '../util/zxid.js';

export interface ArchiverOptions {
  /** committed txns reach the archive within this long (backup.archiveIntervalMs) */
  archiveIntervalMs: number;
  /** a member without the duty steps in once the archive has not advanced for this long */
  staleMs: number;
  /** the archive is re-read this often (others may have written to it) */
  refreshMs: number;
  /** a full backup this often (backup.intervalMs); 0: only when the chain needs a base */
  backupIntervalMs: number;
  /** backup.retainCount or backup.retainHours is set: prune after each backup */
  retention: boolean;
  /** archive without waiting for the interval once this many txns wait */
  chunkTxnsMax: number;
}

/** What a refresh read from the archive. */
export interface ArchiveView {
  /** where the chain ends (the last txn, or the base of its last jump), null when it has no link */
  end: number | null;
  /** the checksum of the archived txn at `end` (chunk.ts, lastCrc); null when `end` is a base */
  endCrc: number | null;
  /**
   * when the txn at `end` was committed (the leader's clock), or its base captured; null: not
   * known. Every txn not archived yet came after it: what lag is counted from.
   */
  endTime?: number | null;
  /** full backups (the chain's bases), oldest first, with when each was made */
  backups: ReadonlyArray<{ zxid: number; timeMs: number }>;
  /**
   * where txns are missing: after `after` up to `before` (a jump not filled up to its base yet,
   * whose first fill link takes the fill name while `after` is `jumpFrom`; or a lost link, jumpFrom -1)
   */
  holes: ReadonlyArray<{ after: number; before: number; jumpFrom: number; afterCrc: number | null }>;
}

/** What the member knows of itself at this moment. */
export interface MemberState {
  /** clients are served (an established leader, a learner in sync, a standalone server) */
  serving: boolean;
  /** this member keeps the archive up to date (standalone, or the established leader) */
  duty: boolean;
  /** the last zxid committed in the ensemble, as far as this member knows */
  committed: number;
  /** committed, applied and on this member's disk: what it can archive */
  archivable: number;
  /** applied here: the zxid a backup taken now would have */
  applied: number;
  /** zxids of this member's snapshots, ascending (bases it can write as backups) */
  snapshots: readonly number[];
}

/** Which name a new link takes: the chain's first, the one after `after`, or the first of a fill of the jump at `after`. */
export type LinkSlot = 'start' | 'next' | 'fill';

export type ArchiveAction =
  | { kind: 'refresh' }
  /**
   * copy this member's committed txns after `after` up to `upTo` into a new link (it stops at a
   * restore); `afterCrc`: the archived txn at `after` has this checksum, and this member's must too
   */
  | { kind: 'chunk'; after: number; upTo: number; slot: LinkSlot; afterCrc: number | null }
  /** write this member's snapshot at `snapshot` as a backup (a base to jump to) */
  | { kind: 'base'; snapshot: number }
  /** take a full backup of the live tree now */
  | { kind: 'capture'; reason: 'first' | 'scheduled' | 'gap' }
  /** link the chain's end `from` to the backup at `to`: the txns in between are in no log this side of `to` */
  | { kind: 'jump'; from: number; to: number }
  /** every txn committed before now is archived, up to `zxid` */
  | { kind: 'status'; zxid: number }
  | { kind: 'prune' };

export type ActionResult =
  | { ok: true; view?: ArchiveView; wrote?: { zxid: number } }
  /**
   * exists: another member took the name first; missing: this member's disk cannot provide what
   * was asked; diverged: its txn at the chunk's `after` is not the archived one (another history)
   */
  | { ok: false; reason: 'exists' | 'missing' | 'diverged' | 'error'; message?: string };

/** This member's history is not the archive's: it writes nothing to it (see the header). */
export interface HistoryMismatch {
  /**
   * diverged: its txn at `archiveZxid` differs from the archived one; above: the archive ends at
   * `archiveZxid`, past everything this member committed
   */
  kind: 'diverged' | 'above';
  archiveZxid: number;
  /** what this member had committed when it found out */
  memberZxid: number;
  /** since when (this member's clock) */
  since: number;
}

export type Hole = ArchiveView['holes'][number];

/** See Archiver.retainFrom: the chain's end (its newest backup while it has no link) and the holes `counts` keeps. */
export function retainFrom(v: ArchiveView | null, counts: (h: Hole) => boolean = () => true): number | null {
  if (!v) return null;
  return Math.min(v.end ?? v.backups.at(-1)?.zxid ?? 0, ...v.holes.filter(counts).map((h) => h.after));
}

/** What retention needs to know of this member's log, beyond MemberState. */
export interface LogExtent {
  archivable: number;
  /** the first zxid its log holds (null: no log) */
  logFrom: number | null;
}

export class Archiver {
  private view: ArchiveView | null = null;
  private inFlight: ArchiveAction | null = null;
  private nextRefreshAt = 0;
  /** when the chain's end last moved, as seen here */
  private lastAdvanceAt = 0;
  /** since when txns wait to be archived, as seen here */
  private pendingSince: number | null = null;
  /** positions this member's disk could not continue from (cleared when its history changes) */
  private readonly missing = new Set<number>();
  private lastStatus = { zxid: -1, at: 0 };
  private pruneDue = false;
  /**
   * flush(): archive up to this zxid without waiting for the interval (-1: what is archivable at
   * the next step; null: no flush asked). A fixed target, so a flush under a steady load ends.
   */
  private flushTo: number | null = null;
  /** this member's history is not the archive's (null: as far as it can tell, it is) */
  private mismatched: HistoryMismatch | null = null;
  /** since when the archive's end has been above what this member (with the duty) committed */
  private aboveSince: number | null = null;
  /** the member as of the last next() */
  private seen: MemberState | null = null;

  constructor(readonly opts: ArchiverOptions) {}

  /** The state of the archive as last read (null before the first refresh). */
  get archive(): ArchiveView | null {
    return this.view;
  }

  /**
   * Where this member would extend the chain: its end; with no link yet, the newest backup this
   * member can continue (null: neither).
   */
  continuation(): number | null {
    const v = this.view;
    if (!v) return null;
    if (v.end !== null) return this.missing.has(v.end) ? null : v.end;
    const bases = v.backups.filter((b) => !this.missing.has(b.zxid));
    return bases.at(-1)?.zxid ?? null;
  }

  /**
   * The lowest zxid whose successors the archive still lacks and this member may give it (the
   * chain's end, or a hole behind it this member can fill): purge keeps the txns from here on.
   * Null while the archive has not been read (keep everything).
   *
   * Only holes this member can fill count: its log reaches the hole's start (a fill continues
   * exactly the txn before the hole) and its disk has not already failed to continue it. Keeping
   * its log for a hole it cannot fill would help nobody, and one such hole (its txns went with the
   * one disk that held them) stopped this member's autopurge for good. That is safe: the hole is
   * reported (ark backup list --archive, the jump's log line), and a member that can fill it
   * keeps its own log for it. What it gives up: txns deeper inside a hole, which would help only
   * after another member had filled the hole up to them (two members each holding part of it).
   */
  retainFrom(m: LogExtent): number | null {
    return retainFrom(this.view, (h) => this.canFill(h, m));
  }

  private canFill(h: Hole, m: LogExtent): boolean {
    return !this.missing.has(h.after) && m.archivable > h.after && m.logFrom !== null && m.logFrom <= h.after + 1;
  }

  /** Txns this member could archive now but has not (mntr's archive lag, in txns of one epoch). */
  lagTxns(m: Pick<MemberState, 'archivable'>): number {
    // another history: none of its txns go to this archive (those of its epoch, at least)
    if (this.mismatched) return counterOf(m.archivable);
    const p = this.view?.end ?? this.view?.backups.at(-1)?.zxid ?? 0;
    if (m.archivable <= p) return 0;
    return epochOf(m.archivable) === epochOf(p) ? m.archivable - p : counterOf(m.archivable);
  }

  /** How long the oldest txn not archived has waited, as seen here (ms). */
  lagMs(now: number): number {
    const since = Math.min(this.pendingSince ?? now, this.mismatched?.since ?? now);
    return now - since;
  }

  /** Whether this member's history is not the archive's, and why (null: it is, as far as it can tell). */
  mismatch(): HistoryMismatch | null {
    return this.mismatched;
  }

  /** This member's history changed (a SNAP, a TRUNC, a restore): what it could not provide may be there now. */
  historyChanged(): void {
    this.missing.clear();
    this.mismatched = null;
    this.aboveSince = null;
  }

  /** Archive what is committed now without waiting for the interval (before a restore, at a clean stop). */
  flush(upTo = -1): void {
    this.flushTo = Math.max(this.flushTo ?? -1, upTo);
  }

  /** The next action to carry out, or null; one at a time (call done() with its result). */
  next(now: number, m: MemberState): ArchiveAction | null {
    if (this.inFlight) return null;
    this.seen = m;
    const action = this.decide(now, m);
    this.inFlight = action;
    return action;
  }

  private decide(now: number, m: MemberState): ArchiveAction | null {
    if (this.view === null || now >= this.nextRefreshAt) return { kind: 'refresh' };
    if (!m.serving) return null;
    const v = this.view;
    this.checkAbove(now, m, v);
    // another history: only its own restore's base may continue the archive (a new history there)
    if (this.mismatched) return v.end === null ? null : this.restoreJump(m, v.end);
    if (m.duty && this.pruneDue) return { kind: 'prune' };
    const p = this.continuation();
    let chain: ArchiveAction | null;
    if (p !== null) chain = this.extend(now, m, p, v.end === null ? 'start' : 'next');
    else if (v.end === null) chain = m.duty ? { kind: 'capture', reason: 'first' } : null;
    else chain = this.jump(now, m, v.end);
    return chain ?? this.fillHole(m) ?? (m.duty ? this.scheduled(now, m) : null);
  }

  /** Extends the chain from `p` once that is due. */
  private extend(now: number, m: MemberState, p: number, slot: LinkSlot): ArchiveAction | null {
    if (this.flushTo === -1) this.flushTo = m.archivable;
    if (this.flushTo !== null && p >= this.flushTo) this.flushTo = null;
    if (m.archivable <= p) {
      this.pendingSince = null;
      this.flushTo = null;
      // up to date: record that every txn committed so far is archived (point-in-time restore by
      // time may then reach past the last txn, up to this moment)
      if (
        m.duty &&
        m.committed === p &&
        slot === 'next' &&
        (this.lastStatus.zxid !== p || now - this.lastStatus.at >= this.opts.archiveIntervalMs / 2)
      ) {
        return { kind: 'status', zxid: p };
      }
      return null;
    }
    if (this.pendingSince === null) this.pendingSince = now;
    const waited = now - this.pendingSince;
    const many = epochOf(m.archivable) !== epochOf(p) || m.archivable - p >= this.opts.chunkTxnsMax;
    const due = m.duty
      ? waited >= this.opts.archiveIntervalMs || many || this.flushTo !== null
      : waited >= this.opts.staleMs && now - this.lastAdvanceAt >= this.opts.staleMs;
    // the txn at `p` must be the archived one (with no link yet, p is a backup: no record to compare)
    return due ? { kind: 'chunk', after: p, upTo: m.archivable, slot, afterCrc: slot === 'next' ? this.view!.endCrc : null } : null;
  }

  /**
   * The duty member holds every committed txn (a standalone server, or the established leader),
   * so an archive ending past what it committed holds txns of another history: a server restored
   * elsewhere at an older point, another cluster pointed at the same archiveDir, a log that lost
   * its tail. Archiving nothing and reporting no lag would hide that. It must last staleMs: an
   * old leader that has not yet noticed a newer one is behind the archive for a moment.
   */
  private checkAbove(now: number, m: MemberState, v: ArchiveView): void {
    if (!(m.duty && v.end !== null && v.end > m.committed)) {
      this.aboveSince = null;
      if (this.mismatched?.kind === 'above') this.mismatched = null;
      return;
    }
    this.aboveSince ??= now;
    if (!this.mismatched && now - this.aboveSince >= this.opts.staleMs) {
      this.mismatched = { kind: 'above', archiveZxid: v.end, memberZxid: m.committed, since: now };
    }
  }

  /** A restore replaced this member's history: its snapshot (counter 0) above the chain's end is where the new history starts. */
  private restoreJump(m: MemberState, end: number): ArchiveAction | null {
    const restore = m.snapshots.find((s) => s > end && !this.missing.has(s) && s <= m.archivable && isRestoreBase(s));
    if (restore === undefined) return null;
    return this.view!.backups.some((b) => b.zxid === restore)
      ? { kind: 'jump', from: end, to: restore }
      : { kind: 'base', snapshot: restore };
  }

  /** The chain's end cannot be continued from this member's disk: jump to a base above it. */
  private jump(now: number, m: MemberState, end: number): ArchiveAction | null {
    const backups = this.view!.backups;
    const above = (z: number): boolean => z > end && !this.missing.has(z);
    // a restore replaced the history: its snapshot is where the new one starts, at once
    const restore = this.restoreJump(m, end);
    if (restore) return restore;
    // otherwise the txns after the end are gone from this member: let a member that still holds
    // them extend the chain first (the duty member waits as long as the others would)
    if (!m.duty || now - this.lastAdvanceAt < this.opts.staleMs) return null;
    // a base above the end (written by this member a moment ago, or scheduled): jump once this
    // member's disk holds the txn it is at, and take no second one meanwhile
    const base = backups.find((b) => above(b.zxid));
    if (base) return base.zxid <= m.archivable ? { kind: 'jump', from: end, to: base.zxid } : null;
    const snapshot = m.snapshots.find((s) => above(s) && s <= m.archivable);
    return snapshot !== undefined ? { kind: 'base', snapshot } : { kind: 'capture', reason: 'gap' };
  }

  /** A hole this member may hold the txns of: archive them, ending exactly at the base the chain jumped to. */
  private fillHole(m: MemberState): ArchiveAction | null {
    for (const h of this.view!.holes) {
      if (this.missing.has(h.after) || m.archivable <= h.after) continue;
      return {
        kind: 'chunk',
        after: h.after,
        upTo: Math.min(h.before, m.archivable),
        slot: h.after === h.jumpFrom ? 'fill' : 'next',
        afterCrc: h.afterCrc,
      };
    }
    return null;
  }

  private scheduled(now: number, m: MemberState): ArchiveAction | null {
    const newest = this.view!.backups.at(-1);
    if (this.opts.backupIntervalMs <= 0 || !newest) return null;
    if (now - newest.timeMs < this.opts.backupIntervalMs || newest.zxid === m.applied) return null;
    return { kind: 'capture', reason: 'scheduled' };
  }

  /** The result of the action next() returned. */
  done(now: number, result: ActionResult): void {
    const a = this.inFlight;
    this.inFlight = null;
    if (!a) return;
    if (!result.ok) {
      if (result.reason === 'missing' && a.kind === 'chunk') this.missing.add(a.after);
      if (result.reason === 'missing' && a.kind === 'base') this.missing.add(a.snapshot);
      // until its history changes: the archive's txn there stays what it is
      if (result.reason === 'diverged' && a.kind === 'chunk')
        this.mismatched ??= { kind: 'diverged', archiveZxid: a.after, memberZxid: this.seen?.committed ?? 0, since: now };
      // someone else wrote first, or a write failed: read the archive again before anything else
      this.nextRefreshAt = now;
      return;
    }
    switch (a.kind) {
      case 'refresh':
        this.observe(now, result.view!);
        return;
      case 'status':
        this.lastStatus = { zxid: a.zxid, at: now };
        return;
      case 'prune':
        this.pruneDue = false;
        return;
      case 'capture':
      case 'base':
        if (this.opts.retention) this.pruneDue = true;
        this.nextRefreshAt = now;
        return;
      case 'jump':
        // its own restore's base now continues the archive: from here on the histories agree
        if (isRestoreBase(a.to)) this.mismatched = null;
        this.nextRefreshAt = now;
        return;
      case 'chunk':
        this.nextRefreshAt = now;
        return;
    }
  }

  private observe(now: number, v: ArchiveView): void {
    if (!this.view || this.view.end !== v.end) this.lastAdvanceAt = now;
    // the txns still waiting were all committed after the archive's newest one, whoever archived
    // it: under a steady load the archive never catches up completely, and counting from the first
    // txn that ever waited would report an ever-growing lag (and make every step due)
    if (this.pendingSince !== null && v.endTime != null) this.pendingSince = Math.max(this.pendingSince, Math.min(v.endTime, now));
    this.view = v;
    this.nextRefreshAt = now + this.opts.refreshMs;
  }
}
