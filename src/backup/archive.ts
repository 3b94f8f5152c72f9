// The continuous archive and point-in-time recovery. An archive holds
//   backups/backup.<zxid>.arkb   full backups: the chain's bases (format.ts)
//   txns/txns.<first zxid>       chunks of committed txns, each naming the txn it continues (chunk.ts)
//   status.json                  up to which txn, as of when, every committed txn is archived
// The archiver (archiver.ts) decides who writes what; this module reads an archive whole: which
// zxids and times it can restore to, which gaps it has, the state at a point in time, retention.
import { createGunzip } from 'node:zlib';
import type { SessionRecord } from '../storage/snapshot.js';
import type { DataTree } from '../tree/datatree.js';
import type { LogRecord } from '../storage/txnlog.js';
import { OpCode } from '../wire/protocol.js';
import { BACKUP_MAGIC, backupName, parseBackupName, readBackup, type BackupMeta } from './format.js';
import { CHUNK_HEADER_BYTES, ChunkCorruptError, chunkName, parseChunkName, readChunk, readChunkHeader, type ChunkHeader } from './chunk.js';
import type { ArchiveView } from './archiver.js';
import { isRestoreBase } from './archiver.js';
import type { ArchiveStore, StoredObject } from './store.js';

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export const TXNS = 'txns';
export const BACKUPS = 'backups';
export const STATUS = 'status.json';

export const chunkPath = (firstZxid: number): string => `${TXNS}/${chunkName(firstZxid)}`;
export const backupPath = (zxid: number): string => `${BACKUPS}/${backupName(zxid)}`;

const hex = (z: number): string => `0x${z.toString(16)}`;
const iso = (ms: number): string => new Date(ms).toISOString();

export interface ChunkInfo extends ChunkHeader { path: string; bytes: number }
export interface BackupFile { path: string; zxid: number; bytes: number; mtimeMs: number }

/** The chunks whose headers check out, by first zxid, and those that do not. */
export async function listChunks(store: ArchiveStore): Promise<{ chunks: ChunkInfo[]; damaged: Array<{ path: string; problem: string }> }> {
  const chunks: ChunkInfo[] = [];
  const damaged: Array<{ path: string; problem: string }> = [];
  for (const o of await store.list(TXNS)) {
    const first = parseChunkName(o.path.slice(TXNS.length + 1));
    if (first === null) continue;
    try {
      const h = readChunkHeader(o.path, await store.readHead(o.path, CHUNK_HEADER_BYTES));
      if (h.firstZxid !== first) throw new ChunkCorruptError(o.path, `its name says zxid ${hex(first)}, its header ${hex(h.firstZxid)}`);
      chunks.push({ ...h, path: o.path, bytes: o.bytes });
    } catch (e) {
      damaged.push({ path: o.path, problem: (e as Error).message });
    }
  }
  chunks.sort((a, b) => a.firstZxid - b.firstZxid);
  return { chunks, damaged };
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
 * What the archiver needs to know of the archive: the chain's end and its bases. Chunks never
 * overlap, so the end is in the chunk with the highest first zxid: only its header is read (the
 * next one down if it is damaged).
 */
export async function readArchiveView(store: ArchiveStore): Promise<ArchiveView> {
  const firsts = (await store.list(TXNS)).map((o) => parseChunkName(o.path.slice(TXNS.length + 1))).filter((z): z is number => z !== null);
  firsts.sort((a, b) => b - a);
  let end: number | null = null;
  for (const first of firsts) {
    try {
      end = readChunkHeader(chunkPath(first), await store.readHead(chunkPath(first), CHUNK_HEADER_BYTES)).lastZxid;
      break;
    } catch { /* damaged or being removed: the one before */ }
  }
  const backups = await listBackupFiles(store);
  return { end, backups: backups.map((b) => ({ zxid: b.zxid, timeMs: b.mtimeMs })) };
}

export interface ArchiveStatus { zxid: number; asOfMs: number; serverId: number }

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
  const head = await store.readHead(path, 64 * 1024);
  const plain = await new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    const gunzip = createGunzip();
    gunzip.on('data', (c: Buffer) => parts.push(c));
    // the head is cut off mid-stream: the end of the input is expected
    gunzip.on('error', () => resolve(Buffer.concat(parts)));
    gunzip.on('end', () => resolve(Buffer.concat(parts)));
    gunzip.end(head);
    setImmediate(() => { if (parts.length === 0) reject(new ArchiveError(`${path}: not a gzip stream`)); });
  });
  if (plain.length < 12 || plain.readUInt32BE(0) !== BACKUP_MAGIC) throw new ArchiveError(`${path}: not an Ark backup`);
  const len = plain.readInt32BE(8);
  if (len < 0 || 12 + len > plain.length) throw new ArchiveError(`${path}: its metadata is damaged`);
  return JSON.parse(plain.toString('utf8', 12, 12 + len)) as BackupMeta;
}

// ---------- the chain ----------

/** Chunks that follow each other without a gap (each one's prevZxid is the last zxid of the one before). */
export interface Run { prevZxid: number; firstZxid: number; lastZxid: number; firstTime: number; lastTime: number; chunks: ChunkInfo[] }

export function runs(chunks: readonly ChunkInfo[]): Run[] {
  const out: Run[] = [];
  for (const c of chunks) {
    const cur = out.at(-1);
    if (cur && c.prevZxid === cur.lastZxid) {
      cur.chunks.push(c);
      cur.lastZxid = c.lastZxid;
      cur.lastTime = c.lastTime;
    } else {
      out.push({ prevZxid: c.prevZxid, firstZxid: c.firstZxid, lastZxid: c.lastZxid, firstTime: c.firstTime, lastTime: c.lastTime, chunks: [c] });
    }
  }
  return out;
}

/** Where a run can be entered from a base at zxid `b`: the chunks holding the txns after b. */
function enter(run: Run, b: number): ChunkInfo[] | null {
  if (b < run.prevZxid || b > run.lastZxid) return null;
  const i = run.chunks.findIndex((c) => c.lastZxid > b);
  return i < 0 ? [] : run.chunks.slice(i);
}

export interface RestoreRange {
  /** the backup a restore in this range starts from */
  backup: BackupFile;
  fromZxid: number;
  toZxid: number;
  /** the time of the txn at toZxid (null: the range is the backup alone, whose time is its capture) */
  toTime: number | null;
}

/** Exactly the zxid ranges a point-in-time restore can reach: each base and the chain that continues it. */
export function restoreRanges(allRuns: readonly Run[], backups: readonly BackupFile[]): RestoreRange[] {
  const out: RestoreRange[] = [];
  for (const b of backups) {
    const run = allRuns.find((r) => enter(r, b.zxid) !== null);
    const reach = run && run.lastZxid > b.zxid ? { toZxid: run.lastZxid, toTime: run.lastTime } : { toZxid: b.zxid, toTime: null };
    out.push({ backup: b, fromZxid: b.zxid, ...reach });
  }
  return out;
}

/** The ranges for people: one per stretch, from the oldest backup that starts it (a newer backup inside adds no zxid). */
export function mergedRanges(ranges: readonly RestoreRange[]): RestoreRange[] {
  return ranges.filter((r, i) => !ranges.some((o, j) => j !== i && o.fromZxid <= r.fromZxid && o.toZxid >= r.toZxid && (o.fromZxid < r.fromZxid || j < i)));
}

export interface Gap {
  /** the last archived txn before the gap */
  afterZxid: number;
  /** where the archive continues: the txn the next chunk follows */
  resumeZxid: number;
  kind: 'restore' | 'hole' | 'missing';
  text: string;
}

/** Every place the chain breaks, and why. */
export function gaps(allRuns: readonly Run[], backups: readonly BackupFile[]): Gap[] {
  const out: Gap[] = [];
  for (let i = 1; i < allRuns.length; i++) {
    const before = allRuns[i - 1]!;
    const next = allRuns[i]!;
    const after = before.lastZxid;
    const resume = next.prevZxid;
    const base = backups.some((b) => b.zxid === resume);
    if (base && isRestoreBase(resume)) {
      out.push({ afterZxid: after, resumeZxid: resume, kind: 'restore', text: `restored at ${hex(resume)}: a restore replaced the history after ${hex(after)} (epoch ${Math.floor(resume / 4294967296)} starts from backup ${hex(resume)})` });
    } else if (base) {
      out.push({ afterZxid: after, resumeZxid: resume, kind: 'hole', text: `hole: the txns after ${hex(after)} up to ${hex(resume)} were in no member's log when they were to be archived; the archive continues from the full backup at ${hex(resume)}` });
    } else {
      out.push({ afterZxid: after, resumeZxid: resume, kind: 'missing', text: `missing: the txns after ${hex(after)} up to ${hex(resume)} are not in the archive (a chunk was deleted or lost); points in between cannot be restored` });
    }
  }
  return out;
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

/** Replays a chunk's txns after `after` up to `upTo` (inclusive) onto tree and sessions. */
function replay(records: readonly LogRecord[], after: number, upTo: number, tree: DataTree, sessions: Map<bigint, number>): { last: LogRecord | null; n: number } {
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
  }
  return { last, n };
}

/** The zxid of the state at time T: the last txn before the first one decided after T, in the chain that reaches T. */
async function zxidAtTime(store: ArchiveStore, allRuns: readonly Run[], timeMs: number): Promise<number> {
  const run = [...allRuns].reverse().find((r) => r.firstTime <= timeMs);
  if (!run) throw new ArchiveError(`no archived txn is at or before ${iso(timeMs)}`);
  let prev = run.prevZxid;
  for (const c of run.chunks) {
    if (c.firstTime > timeMs) return prev;
    if (c.lastTime <= timeMs) { prev = c.lastZxid; continue; }
    for (const r of readChunk(c.path, await store.read(c.path)).records) {
      if (r.hdr.time > timeMs) return prev;
      prev = r.hdr.zxid;
    }
  }
  return prev;
}

/** Rebuilds the state as of `target` from the newest backup that reaches it plus the archived txns after it. */
export async function pointInTime(store: ArchiveStore, target: Target): Promise<PointInTime> {
  const { chunks } = await listChunks(store);
  const allRuns = runs(chunks);
  const backups = await listBackupFiles(store);
  if (backups.length === 0) throw new ArchiveError(`${store.location}: no backup in ${BACKUPS}/: the archive has no base to restore from`);
  let zxid: number;
  if ('zxid' in target) {
    zxid = target.zxid;
  } else {
    const newest = allRuns.at(-1);
    const status = await readStatus(store);
    if (newest && newest.lastTime < target.timeMs && !(status && status.zxid === newest.lastZxid && status.asOfMs >= target.timeMs)) {
      const asOf = status && status.zxid === newest.lastZxid ? `; the archive was complete as of ${iso(status.asOfMs)}` : '';
      throw new ArchiveError(`the newest archived txn is ${hex(newest.lastZxid)} at ${iso(newest.lastTime)}${asOf}: txns after it, up to ${iso(target.timeMs)}, may not be archived yet. ` +
        'Pick an earlier time, or wait for the next archive interval (backup.archiveIntervalMs)');
    }
    zxid = await zxidAtTime(store, allRuns, target.timeMs);
  }
  const ranges = restoreRanges(allRuns, backups).filter((r) => r.fromZxid <= zxid);
  const reaching = ranges.filter((r) => r.toZxid >= zxid);
  if (reaching.length === 0) throw new ArchiveError(unreachable(zxid, allRuns, backups));
  const problems: string[] = [];
  // the newest backup that reaches the target replays the fewest txns; a damaged one falls back to an older one
  for (const r of reaching.sort((a, b) => b.fromZxid - a.fromZxid)) {
    try {
      return await rebuild(store, allRuns, r.backup, zxid);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  throw new ArchiveError(`no usable backup reaches ${hex(zxid)}: ${problems.join('; ')}`);
}

async function rebuild(store: ArchiveStore, allRuns: readonly Run[], backup: BackupFile, zxid: number): Promise<PointInTime> {
  const { meta, snapshot } = readBackup(backup.path, await store.read(backup.path));
  const tree = snapshot.tree;
  const sessions = new Map(snapshot.sessions.map((s) => [s.id, s.timeoutMs]));
  let last: LogRecord | null = null;
  let replayed = 0;
  if (zxid > snapshot.zxid) {
    const run = allRuns.find((r) => enter(r, snapshot.zxid) !== null)!;
    for (const c of enter(run, snapshot.zxid)!) {
      if (c.prevZxid >= zxid) break;
      const r = replay(readChunk(c.path, await store.read(c.path)).records, snapshot.zxid, zxid, tree, sessions);
      if (r.last) last = r.last;
      replayed += r.n;
    }
  }
  const reached = last?.hdr.zxid ?? snapshot.zxid;
  if (reached !== zxid) throw new ArchiveError(`${hex(zxid)} is not a txn of the archived history (the txns go from ${hex(reached)} to the next one)`);
  return {
    tree, sessions: [...sessions].map(([id, timeoutMs]) => ({ id, timeoutMs })), backup: backup.path, backupZxid: snapshot.zxid,
    zxid: reached, timeMs: last?.hdr.time ?? Date.parse(meta.time), replayed,
  };
}

/** Why `zxid` cannot be reached: not archived yet, in a gap, or before every backup. */
function unreachable(zxid: number, allRuns: readonly Run[], backups: readonly BackupFile[]): string {
  const end = allRuns.at(-1)?.lastZxid ?? -1;
  if (zxid > end && zxid > (backups.at(-1)?.zxid ?? -1)) {
    const newest = allRuns.at(-1);
    return `${hex(zxid)} is not archived yet: the newest archived txn is ${newest ? `${hex(newest.lastZxid)} (${iso(newest.lastTime)})` : 'none'}. ` +
      'Txns reach the archive within backup.archiveIntervalMs of their commit';
  }
  if (zxid < backups[0]!.zxid) return `${hex(zxid)} is before the archive's oldest backup (${hex(backups[0]!.zxid)}): retention removed what led there, or it was never archived`;
  const gap = gaps(allRuns, backups).find((g) => g.afterZxid < zxid && zxid < g.resumeZxid);
  if (gap) return `${hex(zxid)} cannot be reached: ${gap.text}`;
  return `${hex(zxid)} cannot be reached from any backup: the chunks from the nearest backup before it do not lead there (run ark backup list to see the ranges)`;
}

// ---------- retention ----------

export interface RetentionPolicy { retainCount: number; retainHours: number }

/**
 * Keeps the newest `retainCount` backups and those younger than `retainHours` (either rule keeps
 * a backup; the newest is always kept), and the chunks after the oldest kept backup; removes the
 * rest once. Returns what it removed.
 */
export async function pruneArchive(store: ArchiveStore, policy: RetentionPolicy, now: number): Promise<string[]> {
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
  const { chunks } = await listChunks(store);
  for (const c of chunks) {
    if (c.lastZxid > oldestKept) continue;
    await store.remove(c.path);
    removed.push(c.path);
  }
  return removed;
}

export type { StoredObject };
