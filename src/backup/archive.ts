// Continuous archiving and point-in-time recovery. An archive dir holds
//   backups/backup.<zxid>.arkb   full backups (scheduled, or copied there)
//   logs/log.<first zxid>        closed txn-log segments, copied as written (CRC32 per record)
// Restoring to a zxid or a time = the newest backup at or before it + the archived txns after it,
// replayed with the same pure apply() the server runs.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncPath, listSegments } from '../storage/filelog.js';
import { scanSegment, type LogRecord } from '../storage/txnlog.js';
import { continuityProblem } from '../storage/datadir.js';
import type { SessionRecord } from '../storage/snapshot.js';
import type { DataTree } from '../tree/datatree.js';
import { OpCode } from '../wire/protocol.js';
import { parseBackupName, readBackup, type BackupMeta } from './format.js';

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export function archivePaths(dir: string): { backups: string; logs: string } {
  return { backups: join(dir, 'backups'), logs: join(dir, 'logs') };
}

/**
 * Copies every closed segment of `logDir` (all but `activeName`) that the archive lacks, trimmed
 * of its preallocated zeros. A closed segment never changes again (a restart always opens a new
 * one), so one already in the archive is not read again. Returns the files copied.
 */
export function archiveSegments(logDir: string, archiveDir: string, activeName: string | null): string[] {
  const { logs } = archivePaths(archiveDir);
  mkdirSync(logs, { recursive: true });
  const copied: string[] = [];
  for (const seg of listSegments(logDir)) {
    if (seg.name === activeName) continue;
    const src = join(logDir, seg.name);
    const dst = join(logs, seg.name);
    if (existsSync(dst)) continue;
    const scan = scanSegment(src, readFileSync(src));
    const tmp = `${dst}.tmp`;
    copyFileSync(src, tmp);
    // drop the preallocated zeros: the archive keeps what was written
    truncateSync(tmp, scan.validBytes);
    fsyncPath(tmp);
    renameSync(tmp, dst);
    copied.push(dst);
  }
  if (copied.length > 0) fsyncPath(logs);
  return copied;
}

export interface ArchivedBackup { file: string; zxid: number; time: string; bytes: number; meta: BackupMeta | null; error: string | null }
export interface ArchivedSegment { file: string; firstZxid: number; lastZxid: number; firstTime: number; lastTime: number; txns: number }

export function listBackups(archiveDir: string, opts: { check: boolean } = { check: false }): ArchivedBackup[] {
  const { backups } = archivePaths(archiveDir);
  if (!existsSync(backups)) return [];
  return readdirSync(backups)
    .map((name) => ({ name, zxid: parseBackupName(name) }))
    .filter((b): b is { name: string; zxid: number } => b.zxid !== null)
    .sort((a, b) => a.zxid - b.zxid)
    .map((b) => {
      const file = join(backups, b.name);
      const bytes = statSync(file).size;
      if (!opts.check) return { file, zxid: b.zxid, time: '', bytes, meta: null, error: null };
      try {
        const { meta } = readBackup(file, readFileSync(file));
        return { file, zxid: b.zxid, time: meta.time, bytes, meta, error: null };
      } catch (e) {
        return { file, zxid: b.zxid, time: '', bytes, meta: null, error: (e as Error).message };
      }
    });
}

export function listArchivedSegments(archiveDir: string): ArchivedSegment[] {
  const { logs } = archivePaths(archiveDir);
  return listSegments(logs).map((s) => {
    const file = join(logs, s.name);
    const recs = scanSegment(file, readFileSync(file)).records;
    return {
      file, firstZxid: recs[0]?.hdr.zxid ?? s.firstZxid, lastZxid: recs[recs.length - 1]?.hdr.zxid ?? s.firstZxid - 1,
      firstTime: recs[0]?.hdr.time ?? 0, lastTime: recs[recs.length - 1]?.hdr.time ?? 0, txns: recs.length,
    };
  });
}

export type Target = { zxid: number } | { timeMs: number };

export interface PointInTime { tree: DataTree; sessions: SessionRecord[]; backup: string; zxid: number; timeMs: number | null; replayed: number }

/** Rebuilds the state as of `target` from the newest backup before it plus the archived log. */
export function pointInTime(archiveDir: string, target: Target): PointInTime {
  const backups = listBackups(archiveDir, { check: true }).filter((b) => b.error === null);
  if (backups.length === 0) throw new ArchiveError(`${archiveDir}: no valid backup in ${archivePaths(archiveDir).backups}`);
  const usable = 'zxid' in target
    ? backups.filter((b) => b.zxid <= target.zxid)
    : backups.filter((b) => Date.parse(b.time) <= target.timeMs);
  const chosen = usable[usable.length - 1];
  if (!chosen) {
    const first = backups[0]!;
    throw new ArchiveError(`the archive's oldest backup (zxid 0x${first.zxid.toString(16)}, ${first.time}) is after the requested point`);
  }
  const { snapshot } = readBackup(chosen.file, readFileSync(chosen.file));
  const tree = snapshot.tree;
  const sessions = new Map(snapshot.sessions.map((s) => [s.id, s.timeoutMs]));
  const records: LogRecord[] = [];
  for (const seg of listArchivedSegments(archiveDir)) {
    if (seg.lastZxid <= snapshot.zxid) continue;
    for (const r of scanSegment(seg.file, readFileSync(seg.file)).records) if (r.hdr.zxid > snapshot.zxid) records.push(r);
  }
  records.sort((a, b) => a.hdr.zxid - b.hdr.zxid);
  const wanted = records.filter((r) => ('zxid' in target ? r.hdr.zxid <= target.zxid : r.hdr.time <= target.timeMs));
  // the txns up to the target must all be there
  const gap = continuityProblem(snapshot.zxid, wanted);
  if (gap) throw new ArchiveError(`archive ${archiveDir}: after backup ${chosen.file}, ${gap}`);
  if ('timeMs' in target) {
    // the archive must reach past the target, or later txns up to it may not be archived yet
    const lastTime = records[records.length - 1]?.hdr.time ?? 0;
    if (lastTime < target.timeMs) {
      throw new ArchiveError(`the archive's last txn is at ${new Date(lastTime).toISOString()}, before ${new Date(target.timeMs).toISOString()}: ` +
        'later txns may not be archived yet (segments are archived when the log rolls and at a clean stop)');
    }
  }
  if ('zxid' in target) {
    const reached = wanted[wanted.length - 1]?.hdr.zxid ?? snapshot.zxid;
    if (reached < target.zxid) {
      throw new ArchiveError(`the archive reaches zxid 0x${reached.toString(16)}, not 0x${target.zxid.toString(16)}: the later log segments are not archived yet`);
    }
  }
  for (const r of wanted) {
    tree.apply(r.hdr, r.txn, []);
    if (r.txn.type === OpCode.createSession) sessions.set(r.hdr.sessionId, r.txn.timeOutMs);
    if (r.txn.type === OpCode.closeSession) sessions.delete(r.hdr.sessionId);
  }
  const last = wanted[wanted.length - 1];
  return {
    tree, sessions: [...sessions].map(([id, timeoutMs]) => ({ id, timeoutMs })), backup: chosen.file,
    zxid: last?.hdr.zxid ?? snapshot.zxid, timeMs: last?.hdr.time ?? null, replayed: wanted.length,
  };
}

/** Keeps the newest `keep` backups and the archived segments needed after the oldest of them. */
export function pruneArchive(archiveDir: string, keep: number): string[] {
  const removed: string[] = [];
  const backups = listBackups(archiveDir);
  if (backups.length <= keep || keep < 1) return removed;
  for (const b of backups.slice(0, backups.length - keep)) { rmSync(b.file, { force: true }); removed.push(b.file); }
  const oldestKept = backups[backups.length - keep]!.zxid;
  const segs = listArchivedSegments(archiveDir);
  for (const s of segs) if (s.lastZxid <= oldestKept && s.txns > 0) { rmSync(s.file, { force: true }); removed.push(s.file); }
  return removed;
}
