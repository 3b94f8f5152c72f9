// The one set of rules that decides whether a data dir can be recovered and how: start-up
// (DataDir.recover) and `ark data verify` (inspect.ts) both call planRecovery, so verify's
// verdict (the server starts, or refuses) is what start-up does (issue 12: a dir that verify
// called damaged used to start). What a file holds is judged by readSegment (txnlog.ts: torn
// write or damage) and readSnapshot; this decides what recovery reads and whether it fits together.
import { basename } from 'node:path';
import type { LogRecord, SegmentRead } from './txnlog.js';
import { epochOf, followsAcrossEpochs, hexZxid as hex } from '../util/zxid.js';

export interface PlanInput {
  /** as the server was given them (for the advice in messages) */
  dataDir: string;
  dataLogDir: string;
  /** the ark-v1 directory holding the segments */
  logDir: string;
  /** Zab's rule for a new epoch inside the log (an ensemble member) or the standalone one */
  ensemble: boolean;
  /** newest first, zxid from the file name */
  snapshots: ReadonlyArray<{ file: string; zxid: number }>;
  /** oldest first, first zxid from the file name */
  segments: ReadonlyArray<{ file: string; firstZxid: number }>;
  /** the snapshot's zxid when it checks out, else why not; called newest first, only until one checks out */
  loadSnapshot(file: string): number | string;
  /** called only for the segments recovery reads (and the one before them) */
  readSegment(file: string): SegmentRead;
}

export interface RecoveryPlan {
  /** the newest snapshot that checks out (zxid from its content), null: recovery starts from an empty tree */
  snapshot: { file: string; zxid: number } | null;
  /** damaged snapshots newer than that one, passed over */
  skipped: Array<{ file: string; reason: string }>;
  /** index in `segments` of the first segment recovery reads */
  firstSegment: number;
  /** the txns after the snapshot, in order */
  records: LogRecord[];
  /** a torn last record recovery cuts off */
  truncate: { file: string; offset: number; why: string } | null;
  /** why recovery refuses (file, what, what to do); null when it proceeds */
  refusal: string | null;
  /** when it refuses over a record that does not check out: where (what `ark data truncate-log` may cut) */
  damageAt: { file: string; offset: number } | null;
}

/**
 * Whether `z` may follow `prev` in one history: +1; in an ensemble also the first txn of a later
 * epoch (counter 1: Zab's sync proved the history before it, TRUNC cut anything after). A
 * standalone server never changes epoch inside its log (a restore starts an epoch with a snapshot).
 */
export function follows(prev: number, z: number, ensemble: boolean): boolean {
  return z === prev + 1 || (ensemble && followsAcrossEpochs(prev, z));
}

/**
 * Proves the txns follow `fromZxid` without a gap. An epoch jump where it is not allowed means
 * two histories meet: refused.
 */
export function continuityProblem(fromZxid: number, records: readonly LogRecord[], ensemble = false): string | null {
  let prev = fromZxid;
  for (const r of records) {
    const z = r.hdr.zxid;
    if (!follows(prev, z, ensemble)) return jump(prev, z);
    prev = z;
  }
  return null;
}

/** Why z cannot follow prev (z > prev). */
function jump(prev: number, z: number): string {
  return epochOf(z) !== epochOf(prev)
    ? `the log goes from epoch ${epochOf(prev)} (zxid ${hex(prev)}) to epoch ${epochOf(z)} (${hex(z)}) without the snapshot that starts that epoch (a restore happened here)`
    : `the log jumps from zxid ${hex(prev)} to ${hex(z)}: ${missing(prev + 1, z - 1)}`;
}

/** What to do about a log that is damaged at file:offset (the refusal's advice). */
export function logDamageAdvice(inp: Pick<PlanInput, 'dataDir' | 'dataLogDir' | 'ensemble'>, file: string, offset: number): string {
  const cut = `ark data truncate-log --data-dir ${inp.dataDir}${inp.dataLogDir !== inp.dataDir ? ` --log-dir ${inp.dataLogDir}` : ''} --at ${basename(file)}:${offset}`;
  const accept = `to accept losing every txn from that offset on (only if this server crashed or lost power while writing there, or you have no better copy), stop here and run \`${cut}\`, which keeps a copy of what it cuts`;
  return inp.ensemble
    ? 'Ark will not guess whether the txns from there on were acknowledged. This is an ensemble member: while the other members run and form a quorum, ' +
        "move this member's ark-v1 directory aside (keep it) and start it again: it takes the leader's snapshot (SNAP). Do one member at a time. Or, " +
        accept
    : `Ark will not guess whether the txns from there on were acknowledged. Restore this server from a backup (\`ark restore\`), or, ${accept}`;
}

export function missing(from: number, to: number): string {
  return from === to ? `zxid ${hex(from)} is missing` : `zxids ${hex(from)}..${hex(to)} are missing`;
}

const RESTORE =
  "Restore from a backup (ark restore), or in an ensemble move this member's ark-v1 aside and let it take the leader's snapshot";

/** The plan, or the first reason recovery refuses. */
export function planRecovery(inp: PlanInput): RecoveryPlan {
  const plan: RecoveryPlan = { snapshot: null, skipped: [], firstSegment: 0, records: [], truncate: null, refusal: null, damageAt: null };
  for (const s of inp.snapshots) {
    const r = inp.loadSnapshot(s.file);
    if (typeof r === 'string') {
      plan.skipped.push({ file: s.file, reason: r });
      continue;
    }
    plan.snapshot = { file: s.file, zxid: r };
    break;
  }
  const segs = inp.segments;
  // without a usable snapshot the log alone must hold the whole history, from zxid 1
  if (!plan.snapshot && plan.skipped.length > 0 && (segs.length === 0 || segs[0]!.firstZxid > 1)) {
    return refuse(
      plan,
      `no usable snapshot: ${plan.skipped.map((s) => s.reason).join('; ')}. The log does not reach back to the ` +
        'first txn, so the data cannot be rebuilt without them. Restore from a backup (ark restore) or move the damaged files aside to start empty.',
    );
  }
  const from = plan.snapshot?.zxid ?? 0;
  let first = 0;
  while (first + 1 < segs.length && segs[first + 1]!.firstZxid <= from + 1) first++;
  plan.firstSegment = first;
  const why = boundaryProblem(inp, first, from) ?? readNeeded(inp, plan, first, from);
  if (why) return refuse(plan, why);
  const gap = continuityProblem(from, plan.records, inp.ensemble);
  if (gap) {
    const start = plan.snapshot ? `${plan.snapshot.file} is at zxid ${hex(from)} but` : 'there is no snapshot and';
    return refuse(plan, `${start} ${gap} (log dir ${inp.logDir}). ${RESTORE}.`);
  }
  return plan;
}

function refuse(plan: RecoveryPlan, why: string): RecoveryPlan {
  plan.refusal = why;
  return plan;
}

/**
 * The segment before the first one recovery reads must end at or before the snapshot, and before
 * the next segment starts: txns after the snapshot in a segment recovery skips mean two histories
 * in one dir (two servers wrote it) or a segment renamed by hand, and would be lost silently.
 */
function boundaryProblem(inp: PlanInput, first: number, from: number): string | null {
  if (first === 0) return null;
  const prev = inp.segments[first - 1]!;
  const last = inp.readSegment(prev.file).records.at(-1)?.hdr.zxid;
  if (last === undefined) return null;
  const next = inp.readSegment(inp.segments[first]!.file).records[0]?.hdr.zxid;
  if (last > from) {
    return (
      `${prev.file} holds txns up to ${hex(last)}, after the snapshot recovery starts from (${hex(from)}), but recovery reads the log from ` +
      `${basename(inp.segments[first]!.file)} on: the segments overlap (two servers wrote this dir, or a segment was renamed), and those txns would be lost. ${RESTORE}.`
    );
  }
  if (next !== undefined && next <= last) {
    return (
      `${inp.segments[first]!.file} starts at zxid ${hex(next)}, not after the end of ${basename(prev.file)} (${hex(last)}): the segments overlap ` +
      `(two servers wrote this dir, or a segment was copied in). ${RESTORE}.`
    );
  }
  return null;
}

/** Reads the segments from `first` on into the plan; the first reason to refuse, or null. */
function readNeeded(inp: PlanInput, plan: RecoveryPlan, first: number, from: number): string | null {
  const segs = inp.segments;
  let prev: { file: string; zxid: number } | null = null;
  for (let i = first; i < segs.length; i++) {
    const { file, firstZxid: nameZxid } = segs[i]!;
    const g = inp.readSegment(file);
    const isLast = i === segs.length - 1;
    if (g.end.kind === 'damage') {
      plan.damageAt = { file, offset: g.end.offset };
      return `${file}: ${g.end.what} at offset ${g.end.offset}. ${logDamageAdvice(inp, file, g.end.offset)}`;
    }
    if (g.firstZxid !== null && g.firstZxid !== nameZxid) {
      return `${file}: its header says it starts at zxid ${hex(g.firstZxid)} but its name says ${hex(nameZxid)}: it was renamed by hand; give it back its name (log.${g.firstZxid.toString(16).padStart(16, '0')})`;
    }
    const z0 = g.records[0]?.hdr.zxid;
    if (z0 !== undefined && z0 !== nameZxid)
      return `${file}: its first txn is zxid ${hex(z0)} but its name says ${hex(nameZxid)}: the file was renamed or rewritten. ${RESTORE}.`;
    if (g.end.kind === 'torn') {
      if (!isLast) {
        plan.damageAt = { file, offset: g.end.offset };
        return (
          `${file}: a record is cut short at offset ${g.end.offset} (${g.end.why}) in a segment that is not the last one: a later segment exists, so this ` +
          `one was complete once; this is damage. ${logDamageAdvice(inp, file, g.end.offset)}`
        );
      }
      plan.truncate = { file, offset: g.end.offset, why: g.end.why };
    }
    if (z0 !== undefined) {
      if (prev && !follows(prev.zxid, z0, inp.ensemble)) {
        return z0 <= prev.zxid
          ? `${file} starts at zxid ${hex(z0)}, not after the end of ${basename(prev.file)} (${hex(prev.zxid)}): the segments overlap (two servers wrote this dir, or a segment was copied in). ${RESTORE}.`
          : `${file} does not carry on from ${basename(prev.file)}: ${jump(prev.zxid, z0)} (a segment was deleted?). ${RESTORE}.`;
      }
      prev = { file, zxid: g.records.at(-1)!.hdr.zxid };
    }
    for (const r of g.records) if (r.hdr.zxid > from) plan.records.push(r);
  }
  return null;
}
