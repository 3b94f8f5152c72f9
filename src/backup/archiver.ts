// The continuous archive's decisions, as a pure state machine: what a member should write to the
// archive next, given what the archive holds and what the member holds. The runtime
// (src/runtime/archiving.ts) carries each action out against the real archive and data dir; the
// simulator (test/sim) carries it out against simulated ones, with the same decisions.
//
// The archive (archive.ts) is a chain: full backups are its bases, and each chunk of committed
// txns names the txn it continues (chunk.ts). Who writes:
//   - The member with the duty (a standalone server, or the ensemble's established leader) extends
//     the chain with the committed txns it holds on disk, at least every archiveIntervalMs (the
//     RPO), takes the scheduled full backups and applies retention, once for the whole ensemble.
//   - Any other serving member extends it only when it has not advanced for staleMs while that
//     member holds committed txns beyond its end: a new leader whose log cannot continue the chain
//     (it took a SNAP past the archive's end) is covered by a follower that still holds those txns.
//   - Chunks are created exclusively under the name of their first zxid. Two writers that read
//     the same end write the same name (the committed history is the same on every member), so one
//     of them fails and re-reads: no txn is archived twice, whoever wins, and leadership need not
//     be exact (an old leader that still believes it leads writes only committed txns too).
//   - When no member can continue the chain (the txns after its end are in no log any more, or a
//     restore replaced the history), the chain restarts at a new base: this member's snapshot
//     above the end (written as a backup) or a backup taken now. A restore's snapshot (zxid
//     counter 0) is a new history, written at once; any other base leaves a hole that is reported.

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
  /** the last txn of the chain (the highest chunk end), null when there is no chunk */
  end: number | null;
  /** full backups (the chain's bases), oldest first, with when each was made */
  backups: ReadonlyArray<{ zxid: number; timeMs: number }>;
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

export type ArchiveAction =
  | { kind: 'refresh' }
  /** copy this member's committed txns after `after` up to `upTo` into a chunk (stops at a restore) */
  | { kind: 'chunk'; after: number; upTo: number }
  /** write this member's snapshot at `snapshot` as a backup; `hole`: the txns after the chain's end nobody could archive */
  | { kind: 'base'; snapshot: number; hole: { after: number; before: number } | null }
  /** take a full backup of the live tree now */
  | { kind: 'capture'; reason: 'first' | 'scheduled' | 'gap'; hole: { after: number; before: number } | null }
  /** every txn committed before now is archived, up to `zxid` */
  | { kind: 'status'; zxid: number }
  | { kind: 'prune' };

export type ActionResult =
  | { ok: true; view?: ArchiveView; wrote?: { zxid: number } }
  /** exists: another member wrote this name first; missing: this member's disk cannot provide what was asked */
  | { ok: false; reason: 'exists' | 'missing' | 'error'; message?: string };

const COUNTER_SPAN = 4294967296;
const epochOf = (zxid: number): number => Math.floor(zxid / COUNTER_SPAN);

/** Restores start a new history at a snapshot whose zxid has counter 0 (restore.ts, the online restores). */
export function isRestoreBase(zxid: number): boolean {
  return zxid > 0 && zxid % COUNTER_SPAN === 0;
}

export class Archiver {
  private view: ArchiveView | null = null;
  private inFlight: ArchiveAction | null = null;
  private nextRefreshAt = 0;
  /** when the chain (its end or its newest base) last moved, as seen here */
  private lastAdvanceAt = 0;
  /** since when txns wait to be archived, as seen here */
  private pendingSince: number | null = null;
  /** continuation points this member's disk could not provide (cleared when its history changes) */
  private readonly missing = new Set<number>();
  private lastStatus = { zxid: -1, at: 0 };
  private pruneDue = false;
  private flushRequested = false;

  constructor(readonly opts: ArchiverOptions) {}

  /** The state of the archive as last read (null before the first refresh). */
  get archive(): ArchiveView | null {
    return this.view;
  }

  /** Where this member would continue the chain: its end, else the oldest base above it that this member can continue. */
  continuation(): number | null {
    const v = this.view;
    if (!v) return null;
    if (v.end !== null && !this.missing.has(v.end)) return v.end;
    for (const b of v.backups) if (b.zxid > (v.end ?? -1) && !this.missing.has(b.zxid)) return b.zxid;
    return null;
  }

  /** Txns this member could archive now but has not (mntr's archive lag, in txns of one epoch). */
  lagTxns(m: Pick<MemberState, 'archivable'>): number {
    const p = this.continuation() ?? this.view?.end ?? 0;
    if (m.archivable <= p) return 0;
    return epochOf(m.archivable) === epochOf(p) ? m.archivable - p : m.archivable % COUNTER_SPAN;
  }

  /** How long the oldest txn not archived has waited, as seen here (ms). */
  lagMs(now: number): number {
    return this.pendingSince === null ? 0 : now - this.pendingSince;
  }

  /** This member's history changed (a SNAP, a TRUNC, a restore): what it could not provide may be there now. */
  historyChanged(): void {
    this.missing.clear();
  }

  /** Archive what is committed now without waiting for the interval (before a restore, at a clean stop). */
  flush(): void {
    this.flushRequested = true;
  }

  /** The next action to carry out, or null; one at a time (call done() with its result). */
  next(now: number, m: MemberState): ArchiveAction | null {
    if (this.inFlight) return null;
    const action = this.decide(now, m);
    this.inFlight = action;
    return action;
  }

  private decide(now: number, m: MemberState): ArchiveAction | null {
    if (this.view === null || now >= this.nextRefreshAt) return { kind: 'refresh' };
    if (!m.serving) return null;
    const v = this.view;
    if (v.backups.length === 0) return m.duty ? { kind: 'capture', reason: 'first', hole: null } : null;
    if (m.duty && this.pruneDue) return { kind: 'prune' };
    const p = this.continuation();
    const chain = p === null ? this.baseAction(now, m) : this.chunkAction(now, m, p);
    if (chain) return chain;
    return m.duty ? this.scheduled(now, m) : null;
  }

  private chunkAction(now: number, m: MemberState, p: number): ArchiveAction | null {
    if (m.archivable <= p) {
      this.pendingSince = null;
      this.flushRequested = false;
      // up to date: record that every txn committed so far is archived (point-in-time restore by
      // time may then reach past the last txn, up to this moment)
      if (m.duty && m.committed === p && (this.lastStatus.zxid !== p || now - this.lastStatus.at >= this.opts.archiveIntervalMs / 2)) {
        return { kind: 'status', zxid: p };
      }
      return null;
    }
    if (this.pendingSince === null) this.pendingSince = now;
    const waited = now - this.pendingSince;
    const many = epochOf(m.archivable) !== epochOf(p) || m.archivable - p >= this.opts.chunkTxnsMax;
    const due = m.duty
      ? waited >= this.opts.archiveIntervalMs || many || this.flushRequested
      : waited >= this.opts.staleMs && now - this.lastAdvanceAt >= this.opts.staleMs;
    return due ? { kind: 'chunk', after: p, upTo: m.archivable } : null;
  }

  /** The chain cannot be continued from this member's disk: a new base, from a snapshot or taken now. */
  private baseAction(now: number, m: MemberState): ArchiveAction | null {
    const v = this.view!;
    const end = Math.max(v.end ?? 0, ...v.backups.map((b) => b.zxid));
    const above = m.snapshots.filter((s) => s > end && s <= m.archivable && !this.missing.has(s));
    const restore = above.find(isRestoreBase);
    // a restore replaced the history: its snapshot is where the new one starts (no hole)
    if (restore !== undefined) return { kind: 'base', snapshot: restore, hole: null };
    // otherwise the txns after the end are gone from this member: let a member that still holds
    // them fill in first (the duty member waits as long as the others would before stepping in)
    if (!m.duty || now - this.lastAdvanceAt < this.opts.staleMs) return null;
    const oldest = above[0];
    if (oldest !== undefined) return { kind: 'base', snapshot: oldest, hole: { after: end, before: oldest } };
    return { kind: 'capture', reason: 'gap', hole: { after: end, before: m.applied } };
  }

  private scheduled(now: number, m: MemberState): ArchiveAction | null {
    const newest = this.view!.backups.at(-1);
    if (this.opts.backupIntervalMs <= 0 || !newest) return null;
    if (now - newest.timeMs < this.opts.backupIntervalMs || newest.zxid === m.applied) return null;
    return { kind: 'capture', reason: 'scheduled', hole: null };
  }

  /** The result of the action next() returned. */
  done(now: number, result: ActionResult): void {
    const a = this.inFlight;
    this.inFlight = null;
    if (!a) return;
    if (!result.ok) {
      if (result.reason === 'missing' && a.kind === 'chunk') this.missing.add(a.after);
      if (result.reason === 'missing' && a.kind === 'base') this.missing.add(a.snapshot);
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
      case 'chunk':
        this.nextRefreshAt = now;
        return;
    }
  }

  private observe(now: number, v: ArchiveView): void {
    const before = this.view;
    const moved = !before || before.end !== v.end || before.backups.at(-1)?.zxid !== v.backups.at(-1)?.zxid;
    if (moved) this.lastAdvanceAt = now;
    this.view = v;
    this.nextRefreshAt = now + this.opts.refreshMs;
  }
}
