// Breaks in a txn log: where a SNAP install kept the old log (for the archive) and the new log
// resumes after the snapshot, with the txns in between in neither.
//
// A SNAP install at S keeps the log segments up to the member's commit point `keep`
// (DataDir.installSnapshot, keepLogUpTo), and the new log starts after S. The records keep and
// the first one after S can look consecutive: when the first new txn is counter 1 of a later
// epoch, `follows(keep, E:1)` holds, and a reader would cross from keep into the new epoch,
// silently dropping keep+1..S. Nothing in the segments says the history broke there (the new
// records may even go into the same segment file), so the install records it durably, as an
// empty file `break.<keep>.<S>` (zxids in hex) in the log's ark-v1 directory, and the log reader
// (logreader.ts) never continues a run from keep (or before it) to a record after it.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncPath } from './filelog.js';

export interface LogBreak {
  /** the last txn the old log kept */
  keep: number;
  /** the snapshot the new log continues */
  snapshot: number;
}

const hex16 = (z: number): string => z.toString(16).padStart(16, '0');

export function breakName(b: LogBreak): string {
  return `break.${hex16(b.keep)}.${hex16(b.snapshot)}`;
}

export function parseBreakName(name: string): LogBreak | null {
  const m = /^break\.([0-9a-f]{16})\.([0-9a-f]{16})$/.exec(name);
  return m ? { keep: parseInt(m[1]!, 16), snapshot: parseInt(m[2]!, 16) } : null;
}

/** The breaks recorded in `dir` (an ark-v1 log directory), by keep. */
export function listBreaks(dir: string): LogBreak[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map(parseBreakName)
    .filter((b): b is LogBreak => b !== null)
    .sort((a, b) => a.keep - b.keep);
}

/** Records a break durably (the file and its directory entry are fsynced); writing it again is harmless. */
export function writeBreak(dir: string, b: LogBreak): void {
  const file = join(dir, breakName(b));
  writeFileSync(file, '');
  fsyncPath(file);
  fsyncPath(dir);
}

/**
 * Removes the breaks no run can meet any more: those whose kept txns are gone, i.e. no segment
 * starts at or before `keep` (`firstSegmentZxid`: the first remaining segment's first zxid, null
 * when there is none). Returns the files removed.
 */
export function pruneBreaks(dir: string, firstSegmentZxid: number | null): string[] {
  const removed: string[] = [];
  for (const b of listBreaks(dir)) {
    if (firstSegmentZxid !== null && firstSegmentZxid <= b.keep) continue;
    const file = join(dir, breakName(b));
    rmSync(file, { force: true });
    removed.push(file);
  }
  if (removed.length > 0) fsyncPath(dir);
  return removed;
}

/**
 * Does moving from `prev` to the record `next` cross a break (prev at or before its keep, next
 * after it)? A run continuing from the snapshot (prev = S, or anything after keep) crosses none.
 */
export function crossesBreak(breaks: readonly LogBreak[], prev: number, next: number): boolean {
  return breaks.some((b) => prev <= b.keep && next > b.keep);
}
