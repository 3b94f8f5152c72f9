// The continuous archive and point-in-time recovery. An archive holds
//   backups/backup.<zxid>.arkb   full backups: the chain's bases (format.ts)
//   txns/                        the chain's links: chunks of committed txns and jumps (chain.ts)
//   status.json                  up to which txn, as of when, every committed txn is archived
// The archiver (archiver.ts) decides who writes what; this module reads an archive whole: which
// zxids and times it can restore to, which gaps it has, the state at a point in time, retention.
import { createGunzip } from 'node:zlib';
import type { SessionRecord } from '../storage/snapshot.js';
import type { DataTree } from '../tree/datatree.js';
import type { LogRecord } from '../storage/txnlog.js';
import { OpCode } from '../wire/protocol.js';
import { BACKUP_MAGIC, BACKUP_TRAILER_BYTES, backupName, parseBackupName, readBackup, type BackupMeta } from './format.js';
import { CHUNK_HEADER_BYTES, readChunk, readChunkHeader, type ChunkHeader } from './chunk.js';
import { buildChain, isJump, parseLinkName, runsOf, type Chain, type Link, type Run } from './chain.js';
import type { ArchiveView } from './archiver.js';
import type { ArchiveStore } from './store.js';
import { KeyError } from './crypt.js';
import { epochOf, hexZxid as hex } from '../util/zxid.js';
import type { OnProgress } from '../util/progress.js';

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export const TXNS = 'txns';
export const BACKUPS = 'backups';
export const STATUS = 'status.json';

export const linkPath = (name: string): string => `${TXNS}/${name}`;
export const backupPath = (zxid: number): string => `${BACKUPS}/${backupName(zxid)}`;

const iso = (ms: number): string => new Date(ms).toISOString();

export interface BackupFile {
  path: string;
  zxid: number;
  bytes: number;
  mtimeMs: number;
}
/** A link as stored: its header, where it is, how big, when written. */
export interface StoredLink extends Link {
  path: string;
  bytes: number;
  mtimeMs: number;
}

/** The link a chunk header describes, under its name in txns/. */
export function linkOf(name: string, h: ChunkHeader): Link {
  return {
    name,
    prev: h.prevZxid,
    first: h.firstZxid,
    last: h.lastZxid,
    count: h.count,
    firstTime: h.firstTime,
    lastTime: h.lastTime,
    lastCrc: h.lastCrc,
  };
}

/**
 * Every link whose header checks out, and those that do not. `cache` (kept by the caller between
 * reads) saves reading headers again: links never change once written.
 */
export async function listLinks(
  store: ArchiveStore,
  cache: Map<string, StoredLink | string> = new Map(),
): Promise<{ links: StoredLink[]; damaged: Array<{ path: string; problem: string }> }> {
  const listed = await store.list(TXNS);
  const present = new Set(listed.map((o) => o.path));
  for (const path of [...cache.keys()]) if (!present.has(path)) cache.delete(path);
  for (const o of listed) {
    const name = o.path.slice(TXNS.length + 1);
    // a link replaced under its name (only on object storage that ignores conditional writes:
    // s3store.ts) is read again
    const had = cache.get(o.path);
    if (had !== undefined && typeof had !== 'string' && (had.bytes !== o.bytes || had.mtimeMs !== o.mtimeMs)) cache.delete(o.path);
    if (cache.has(o.path) || !parseLinkName(name)) continue;
    try {
      const h = readChunkHeader(o.path, await store.readHead(o.path, CHUNK_HEADER_BYTES));
      const parsed = parseLinkName(name)!;
      if (parsed.kind !== 'start' && parsed.prev !== h.prevZxid)
        throw new Error(`${o.path}: its name says it continues ${hex(parsed.prev)}, its header ${hex(h.prevZxid)}`);
      cache.set(o.path, { ...linkOf(name, h), path: o.path, bytes: o.bytes, mtimeMs: o.mtimeMs });
    } catch (e) {
      cache.set(o.path, (e as Error).message);
    }
  }
  const links: StoredLink[] = [];
  const damaged: Array<{ path: string; problem: string }> = [];
  for (const [path, v] of cache) {
    if (typeof v === 'string') damaged.push({ path, problem: v });
    else links.push(v);
  }
  return { links, damaged };
}

export async function listBackupFiles(store: ArchiveStore): Promise<BackupFile[]> {
  const out: BackupFile[] = [];
  for (const o of await store.list(BACKUPS)) {
    const zxid = parseBackupName(o.path.slice(BACKUPS.length + 1));
    if (zxid !== null) out.push({ path: o.path, zxid, bytes: o.bytes, mtimeMs: o.mtimeMs });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

/**
 * What the archiver needs to know of a chain and the backups beside it: where it ends and where
 * it has holes, each with the checksum of the archived txn there (what a member continuing it
 * must hold: chunk.ts, lastCrc; null where the position is a base, which holds no record).
 */
export function viewOf(chain: Chain, backups: ReadonlyArray<{ zxid: number; timeMs: number }>): ArchiveView {
  const crcAt = new Map<number, number | null>();
  for (const l of [...chain.links, ...chain.jumps.flatMap((j) => j.fill)]) if (!isJump(l)) crcAt.set(l.last, l.lastCrc);
  const last = chain.links.at(-1);
  return {
    end: chain.end,
    endCrc: last && !isJump(last) ? last.lastCrc : null,
    endTime: last ? (isJump(last) ? (backups.find((b) => b.zxid === last.last)?.timeMs ?? null) : last.lastTime) : null,
    backups,
    holes: [
      ...chain.jumps
        .filter((j) => !j.restore && j.filledTo !== j.to)
        .map((j) => ({ after: j.filledTo, before: j.to, jumpFrom: j.from, afterCrc: crcAt.get(j.filledTo) ?? null })),
      // a lost link: a member that still holds those txns writes it again, under its own name
      ...chain.breaks.map((b) => ({ after: b.after, before: b.before, jumpFrom: -1, afterCrc: crcAt.get(b.after) ?? null })),
    ],
  };
}

/** The archive as the archiver sees it: the chain's end, its bases, the jumps not filled yet. */
export async function readArchiveView(store: ArchiveStore, cache?: Map<string, StoredLink | string>): Promise<ArchiveView> {
  const { links } = await listLinks(store, cache);
  const backups = await listBackupFiles(store);
  return viewOf(
    buildChain(links),
    backups.map((b) => ({ zxid: b.zxid, timeMs: b.mtimeMs })),
  );
}

/** A write left unfinished this long is abandoned (its writer died): nothing writes an hour without touching its file. */
export const ABANDONED_WRITE_MS = 60 * 60 * 1000;

/**
 * Removes what writers killed mid-write (kill -9, a machine lost) left in the archive's folders:
 * temp files nothing lists or reads, which would otherwise fill the disk over the years. Returns
 * how many went.
 */
export async function removeAbandonedWrites(store: ArchiveStore, now: number): Promise<number> {
  let removed = 0;
  for (const folder of ['', TXNS, BACKUPS]) removed += await store.removeAbandoned(folder, ABANDONED_WRITE_MS, now);
  return removed;
}

export interface ArchiveStatus {
  zxid: number;
  asOfMs: number;
  serverId: number;
}

export async function readStatus(store: ArchiveStore): Promise<ArchiveStatus | null> {
  try {
    const s = JSON.parse((await store.read(STATUS)).toString('utf8')) as { zxid?: string; asOf?: string; serverId?: number };
    const zxid = Number(s.zxid);
    const asOfMs = Date.parse(s.asOf ?? '');
    return Number.isSafeInteger(zxid) && Number.isFinite(asOfMs) ? { zxid, asOfMs, serverId: s.serverId ?? 0 } : null;
  } catch {
    return null;
  }
}

export function writeStatus(store: ArchiveStore, s: ArchiveStatus): Promise<void> {
  return store.put(STATUS, Buffer.from(`${JSON.stringify({ zxid: hex(s.zxid), asOf: iso(s.asOfMs), serverId: s.serverId })}\n`));
}

/** A backup's metadata from the head of its file (gunzipping only what it needs). */
export async function readBackupMeta(store: ArchiveStore, path: string): Promise<BackupMeta> {
  const HEAD_BYTES = 64 * 1024;
  const read = await store.readHead(path, HEAD_BYTES);
  // a backup shorter than the head: its checksum trailer follows the gzip stream, and gunzip
  // fails on it (as another gzip member) before it hands out what it decompressed
  const head = read.length < HEAD_BYTES ? read.subarray(0, Math.max(0, read.length - BACKUP_TRAILER_BYTES)) : read;
  const plain = await new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = [];
    const gunzip = createGunzip();
    gunzip.on('data', (c: Buffer) => parts.push(c));
    // the head is cut off mid-stream: the end of the input is expected
    gunzip.on('error', () => resolve(Buffer.concat(parts)));
    gunzip.on('end', () => resolve(Buffer.concat(parts)));
    gunzip.end(head);
  });
  if (plain.length < 12 || plain.readUInt32BE(0) !== BACKUP_MAGIC) throw new ArchiveError(`${path}: not an Ark backup`);
  const len = plain.readInt32BE(8);
  if (len < 0 || 12 + len > plain.length) throw new ArchiveError(`${path}: its metadata is damaged`);
  return JSON.parse(plain.toString('utf8', 12, 12 + len)) as BackupMeta;
}

// ---------- what can be reached ----------

/** The links of a run that hold the txns after a base at `b` (null: the run does not start at or pass b). */
function enter(run: Run, b: number): Link[] | null {
  if (b < run.prev || b > run.last) return null;
  return run.links.filter((l) => l.last > b);
}

export interface RestoreRange {
  /** the backup a restore in this range starts from */
  backup: BackupFile;
  fromZxid: number;
  toZxid: number;
  /** the time of the txn at toZxid (null: the range is the backup alone, whose time is its capture) */
  toTime: number | null;
}

/** Exactly the zxid ranges a point-in-time restore can reach: each base and the run that continues it. */
export function restoreRanges(runs: readonly Run[], backups: readonly BackupFile[]): RestoreRange[] {
  return backups.map((b) => {
    const run = runs.find((r) => enter(r, b.zxid) !== null);
    const reach = run && run.last > b.zxid ? { toZxid: run.last, toTime: run.lastTime } : { toZxid: b.zxid, toTime: null };
    return { backup: b, fromZxid: b.zxid, ...reach };
  });
}

/** The ranges for people: one per stretch, from the oldest backup that starts it (a newer backup inside adds no zxid). */
export function mergedRanges(ranges: readonly RestoreRange[]): RestoreRange[] {
  return ranges.filter(
    (r, i) => !ranges.some((o, j) => j !== i && o.fromZxid <= r.fromZxid && o.toZxid >= r.toZxid && (o.fromZxid < r.fromZxid || j < i)),
  );
}

export interface Gap {
  /** the last archived txn before the gap */
  afterZxid: number;
  /** where the archive continues: the base (or txn) after the gap */
  resumeZxid: number;
  kind: 'restore' | 'hole' | 'missing';
  text: string;
}

/** Every break of the chain: jumps no fill closed and links that are missing, and why each is there. */
export function gaps(chain: Chain): Gap[] {
  const missing = chain.breaks.map(
    (b): Gap => ({
      afterZxid: b.after,
      resumeZxid: b.before,
      kind: 'missing',
      text: `missing: the txns after ${hex(b.after)} up to ${hex(b.before)} are not in the archive (their link was deleted or lost; a member that still holds them archives them again when it serves); points in between cannot be restored`,
    }),
  );
  return [
    ...missing,
    ...chain.jumps
      .filter((j) => j.filledTo !== j.to)
      .map(
        (j): Gap =>
          j.restore
            ? {
                afterZxid: j.from,
                resumeZxid: j.to,
                kind: 'restore',
                text: `restored at ${hex(j.to)}: a restore replaced the history after ${hex(j.from)} (epoch ${epochOf(j.to)} starts from the backup at ${hex(j.to)})`,
              }
            : {
                afterZxid: j.filledTo,
                resumeZxid: j.to,
                kind: 'hole',
                text: `hole: the txns after ${hex(j.filledTo)} up to ${hex(j.to)} were in no serving member's log when they were to be archived; the archive continues from the full backup at ${hex(j.to)} (a member that still holds them fills the hole when it serves)`,
              },
      ),
  ].sort((a, b) => a.afterZxid - b.afterZxid);
}

// ---------- point in time ----------

export type Target = { zxid: number } | { timeMs: number };

export interface PointInTime {
  tree: DataTree;
  sessions: SessionRecord[];
  backup: string;
  backupZxid: number;
  zxid: number;
  /** the time of the last txn replayed, or of the backup's capture when none was */
  timeMs: number;
  replayed: number;
}

/** Replays txns after `after` up to `upTo` (inclusive) onto tree and sessions. */
/** Txns replayed between two progress reports inside one archived link. */
const REPLAY_PROGRESS_TXNS = 20_000;

function replay(
  records: readonly LogRecord[],
  after: number,
  upTo: number,
  tree: DataTree,
  sessions: Map<bigint, number>,
  onTxns?: (n: number) => void,
): { last: LogRecord | null; n: number } {
  let last: LogRecord | null = null;
  let n = 0;
  for (const r of records) {
    if (r.hdr.zxid <= after) continue;
    if (r.hdr.zxid > upTo) break;
    tree.apply(r.hdr, r.txn, []);
    if (r.txn.type === OpCode.createSession) sessions.set(r.hdr.sessionId, r.txn.timeOutMs);
    if (r.txn.type === OpCode.closeSession) sessions.delete(r.hdr.sessionId);
    last = r;
    n++;
    if (n % REPLAY_PROGRESS_TXNS === 0) onTxns?.(n);
  }
  return { last, n };
}

/** When the state at `zxid` was captured, from its backup's metadata (null: no backup there, or no time in it). */
async function capturedAt(store: ArchiveStore, backups: readonly BackupFile[], zxid: number): Promise<number | null> {
  const b = backups.find((x) => x.zxid === zxid);
  if (!b) return null;
  const t = Date.parse((await readBackupMeta(store, b.path)).time);
  return Number.isFinite(t) ? t : null;
}

/** The last txn at or before T in a stretch whose first txn is at or before T. */
async function lastTxnBy(store: ArchiveStore, run: Run, timeMs: number): Promise<number> {
  let prev = run.prev;
  for (const l of run.links) {
    if (l.firstTime > timeMs) return prev;
    if (l.lastTime <= timeMs) {
      prev = l.last;
      continue;
    }
    for (const r of readChunk(l.name, await store.read(linkPath(l.name))).records) {
      if (r.hdr.time > timeMs) return prev;
      prev = r.hdr.zxid;
    }
  }
  return prev;
}

/** Where the archive resumes after stretch `i`: the next stretch's base, or the base the chain's last jump went to (null: nothing after it). */
function resumeAfter(chain: Chain, runs: readonly Run[], i: number): number | null {
  if (i + 1 < runs.length) return runs[i + 1]!.prev;
  const last = i >= 0 ? runs[i]!.last : -1;
  return chain.end !== null && chain.end > last ? chain.end : null;
}

/**
 * The zxid of the state at time T: the last txn decided at or before T, in the stretch that holds
 * it. Past a stretch's last txn the archive vouches for that state only up to the gap after it
 * (a hole, a missing link, or a restore that replaced the history): txns decided in the gap are
 * not in the archive. So T in a gap is refused, unless the base the archive resumes from was
 * captured at or before T, which is then the state at T (the txns after it came later). A
 * restore's base counts the same way, captured when the restore made it.
 */
async function zxidAtTime(
  store: ArchiveStore,
  chain: Chain,
  runs: readonly Run[],
  backups: readonly BackupFile[],
  timeMs: number,
): Promise<number> {
  let i = -1;
  runs.forEach((r, k) => {
    if (r.firstTime <= timeMs) i = k;
  });
  if (i >= 0 && runs[i]!.lastTime > timeMs) return lastTxnBy(store, runs[i]!, timeMs);
  const resume = i < 0 ? (runs[0]?.prev ?? chain.end) : resumeAfter(chain, runs, i);
  if (i >= 0 && resume === null) return runs[i]!.last;
  const captured = resume === null ? null : await capturedAt(store, backups, resume);
  if (resume !== null && captured !== null && captured <= timeMs) return resume;
  if (i < 0)
    throw new ArchiveError(
      `no archived txn is at or before ${iso(timeMs)}${resume !== null && captured !== null ? `, and the oldest base (${hex(resume)}) was captured later, at ${iso(captured)}` : ''}`,
    );
  const run = runs[i]!;
  const gap = gaps(chain).find((g) => g.afterZxid === run.last);
  const until = captured === null ? '' : `, until the base at ${hex(resume!)} was captured at ${iso(captured)}`;
  throw new ArchiveError(
    `${iso(timeMs)} falls in a gap of the archive: after its txn ${hex(run.last)} (${iso(run.lastTime)})${until}, ` +
      `the txns decided are not in it${gap ? ` (${gap.text})` : ''}. Restore to ${hex(run.last)} (--to-zxid), the last state before the gap` +
      `${captured === null ? '' : `, or to a time from ${iso(captured)} on`}`,
  );
}

/** Up to when the archive vouches for its newest state: its last txn's time, or the capture of the base its last jump went to. */
async function newestArchived(
  store: ArchiveStore,
  chain: Chain,
  runs: readonly Run[],
  backups: readonly BackupFile[],
): Promise<{ zxid: number; timeMs: number } | null> {
  const newest = runs.at(-1);
  const end = resumeAfter(chain, runs, runs.length - 1);
  if (end !== null) return { zxid: end, timeMs: (await capturedAt(store, backups, end)) ?? newest?.lastTime ?? 0 };
  return newest ? { zxid: newest.last, timeMs: newest.lastTime } : null;
}

/** Rebuilds the state as of `target` from the newest backup that reaches it plus the archived txns after it. */
/** Progress of a point-in-time rebuild: the backup's znodes loaded, then the archived txns replayed. */
export interface RebuildProgress {
  loading?: OnProgress;
  replaying?: OnProgress;
}

export async function pointInTime(store: ArchiveStore, target: Target, progress: RebuildProgress = {}): Promise<PointInTime> {
  const { links } = await listLinks(store);
  const chain = buildChain(links);
  const runs = runsOf(chain);
  const backups = await listBackupFiles(store);
  if (backups.length === 0) throw new ArchiveError(`${store.location}: no backup in ${BACKUPS}/: the archive has no base to restore from`);
  let zxid: number;
  if ('zxid' in target) {
    zxid = target.zxid;
  } else {
    const newest = await newestArchived(store, chain, runs, backups);
    const status = await readStatus(store);
    if (newest && newest.timeMs < target.timeMs && !(status && status.zxid === newest.zxid && status.asOfMs >= target.timeMs)) {
      const asOf = status && status.zxid === newest.zxid ? `; the archive was complete as of ${iso(status.asOfMs)}` : '';
      throw new ArchiveError(
        `the newest archived state is ${hex(newest.zxid)} at ${iso(newest.timeMs)}${asOf}: txns after it, up to ${iso(target.timeMs)}, may not be archived yet. ` +
          'Pick an earlier time, or wait for the next archive interval (backup.archiveIntervalMs)',
      );
    }
    zxid = await zxidAtTime(store, chain, runs, backups, target.timeMs);
  }
  const reaching = restoreRanges(runs, backups).filter((r) => r.fromZxid <= zxid && r.toZxid >= zxid);
  if (reaching.length === 0) throw new ArchiveError(unreachable(zxid, chain, runs, backups));
  const problems: string[] = [];
  // the newest backup that reaches the target replays the fewest txns; a damaged one falls back to an older one
  for (const r of reaching.sort((a, b) => b.fromZxid - a.fromZxid)) {
    try {
      return await rebuild(store, runs, r.backup, zxid, progress);
    } catch (e) {
      if (e instanceof KeyError) throw e; // no older backup opens without the key either
      problems.push((e as Error).message);
    }
  }
  throw new ArchiveError(`no usable backup reaches ${hex(zxid)}: ${problems.join('; ')}`);
}

async function rebuild(
  store: ArchiveStore,
  runs: readonly Run[],
  backup: BackupFile,
  zxid: number,
  progress: RebuildProgress,
): Promise<PointInTime> {
  const { meta, snapshot } = readBackup(
    backup.path,
    await store.read(backup.path),
    progress.loading ? { onProgress: progress.loading } : {},
  );
  const tree = snapshot.tree;
  const sessions = new Map(snapshot.sessions.map((s) => [s.id, s.timeoutMs]));
  let last: LogRecord | null = null;
  let replayed = 0;
  if (zxid > snapshot.zxid) {
    // within one epoch zxids go up by one a txn, so the count is known; across epochs it is not
    const total = epochOf(zxid) === epochOf(snapshot.zxid) ? zxid - snapshot.zxid : null;
    const report = (done: number): void => progress.replaying?.({ done, total, unit: 'txns' });
    report(0);
    const run = runs.find((r) => enter(r, snapshot.zxid) !== null)!;
    for (const l of enter(run, snapshot.zxid)!) {
      if (l.prev >= zxid) break;
      const at = replayed;
      const chunk = readChunk(l.name, await store.read(linkPath(l.name))).records;
      const r = replay(chunk, snapshot.zxid, zxid, tree, sessions, (n) => report(at + n));
      if (r.last) last = r.last;
      replayed += r.n;
      report(replayed);
    }
  }
  const reached = last?.hdr.zxid ?? snapshot.zxid;
  if (reached !== zxid)
    throw new ArchiveError(`${hex(zxid)} is not a txn of the archived history (the txns go from ${hex(reached)} to the next one)`);
  return {
    tree,
    sessions: [...sessions].map(([id, timeoutMs]) => ({ id, timeoutMs })),
    backup: backup.path,
    backupZxid: snapshot.zxid,
    zxid: reached,
    timeMs: last?.hdr.time ?? Date.parse(meta.time),
    replayed,
  };
}

/** Why `zxid` cannot be reached: not archived yet, in a gap, or before every backup. */
function unreachable(zxid: number, chain: Chain, runs: readonly Run[], backups: readonly BackupFile[]): string {
  const newest = runs.at(-1);
  if (zxid > (chain.end ?? -1) && zxid > (backups.at(-1)?.zxid ?? -1)) {
    return (
      `${hex(zxid)} is not archived yet: the newest archived txn is ${newest ? `${hex(newest.last)} (${iso(newest.lastTime)})` : 'none'}. ` +
      'Txns reach the archive within backup.archiveIntervalMs of their commit'
    );
  }
  if (zxid < backups[0]!.zxid)
    return `${hex(zxid)} is before the archive's oldest backup (${hex(backups[0]!.zxid)}): retention removed what led there, or it was never archived`;
  const gap = gaps(chain).find((g) => g.afterZxid < zxid && zxid < g.resumeZxid);
  if (gap) return `${hex(zxid)} cannot be reached: ${gap.text}`;
  return `${hex(zxid)} cannot be reached from any backup: the chain from the nearest backup before it does not lead there (a link is missing or damaged; run ark backup list)`;
}

// ---------- retention ----------

export interface RetentionPolicy {
  retainCount: number;
  retainHours: number;
}

/**
 * Keeps the newest `retainCount` backups and those younger than `retainHours` (either rule keeps
 * a backup; the newest is always kept), and the links after the oldest kept backup; removes the
 * rest once. The chain's last link and links younger than `graceMs` always stay: a member
 * extending the chain from a view that old then finds its name taken instead of starting a second
 * chain. Returns what it removed.
 */
export async function pruneArchive(store: ArchiveStore, policy: RetentionPolicy, now: number, graceMs: number): Promise<string[]> {
  const backups = await listBackupFiles(store);
  if (backups.length <= 1 || (policy.retainCount <= 0 && policy.retainHours <= 0)) return [];
  const byAge = [...backups].reverse();
  const keep = new Set<BackupFile>([byAge[0]!]);
  byAge.forEach((b, i) => {
    if (policy.retainCount > 0 && i < policy.retainCount) keep.add(b);
    if (policy.retainHours > 0 && now - b.mtimeMs < policy.retainHours * 3600_000) keep.add(b);
  });
  const removed: string[] = [];
  for (const b of backups) {
    if (keep.has(b)) continue;
    await store.remove(b.path);
    removed.push(b.path);
  }
  const oldestKept = Math.min(...[...keep].map((b) => b.zxid));
  const { links } = await listLinks(store);
  const lastLink = buildChain(links).links.at(-1);
  for (const l of links) {
    if (l.last > oldestKept || l === lastLink || now - l.mtimeMs < graceMs) continue;
    await store.remove(l.path);
    removed.push(l.path);
  }
  return removed;
}

export { isJump };
export type { Chain, Run, StoredLink as ChunkInfo };
