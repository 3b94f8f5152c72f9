// Operator tools for an Ark data dir (what ZooKeeper offers as zkSnapShotToolkit, zkTxnLogToolkit,
// the snapshot/log checks and PurgeTxnLog): read snapshots and log segments and return plain,
// JSON-ready data; the CLI (src/cli/data.ts) prints it. Nothing here changes a file except
// purgeDataDir. Every judgement about a file reuses the readers recovery uses (scanSegment,
// readSnapshot), so "verify says intact" means "the server can load it".
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, statSync, truncateSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OpCode, Perms, opName, type ACL } from '../wire/protocol.js';
import { isContainerOwner, ownerTtlMs, type Txn, type TxnHeader } from '../wire/txn.js';
import { errorName } from '../util/errors.js';
import { DATA_SUBDIR, fsyncPath, listSegments } from './filelog.js';
import { LOG_HEADER_BYTES, LOG_MAGIC, parseSegmentName, readSegment, type SegmentRead } from './txnlog.js';
import { SNAP_MAGIC, SnapshotCorruptError, isGzip, parseSnapshotName, readSnapshot } from './snapshot.js';
import { DataDir } from './datadir.js';
import { follows, missing, planRecovery } from './recovery.js';
import { describeHolder, liveHolder, lockDataDirs } from './lock.js';
import { ZK_LOG_MAGIC, ZK_SNAP_MAGIC } from './zkformat.js';
import { hexZxid } from '../util/zxid.js';
import type { OnProgress } from '../util/progress.js';

/**
 * A tool cannot do what it was asked. `usage`: the input is wrong (missing file, not an Ark
 * file, bad argument); otherwise the file is damaged.
 */
export class DataToolError extends Error {
  constructor(
    message: string,
    readonly usage: boolean,
  ) {
    super(message);
    this.name = 'DataToolError';
  }
}

// ---------- formatting helpers shared by the tools and the CLI ----------

export { hexZxid } from '../util/zxid.js';
export const hexId = (id: bigint): string => `0x${BigInt.asUintN(64, id).toString(16)}`;

export function isoTime(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return `${ms}ms`;
  return new Date(ms).toISOString();
}

/** Data as text when it is printable UTF-8, else base64; null stays null (ZooKeeper's "null" data). */
export interface ShownData {
  data: string | null;
  dataEncoding: 'utf8' | 'base64' | null;
}

// C0 controls other than tab / newline / carriage return, and DEL
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this regex is for
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function showData(b: Buffer | null): ShownData {
  if (b === null) return { data: null, dataEncoding: null };
  const s = b.toString('utf8');
  if (Buffer.byteLength(s, 'utf8') === b.length && Buffer.from(s, 'utf8').equals(b) && !CONTROL.test(s)) {
    return { data: s, dataEncoding: 'utf8' };
  }
  return { data: b.toString('base64'), dataEncoding: 'base64' };
}

/** Permissions as zkCli prints them: c d r w a. */
export function permString(perms: number): string {
  let s = '';
  if (perms & Perms.CREATE) s += 'c';
  if (perms & Perms.DELETE) s += 'd';
  if (perms & Perms.READ) s += 'r';
  if (perms & Perms.WRITE) s += 'w';
  if (perms & Perms.ADMIN) s += 'a';
  const extra = perms & ~Perms.ALL;
  if (extra !== 0) s += `+0x${(extra >>> 0).toString(16)}`;
  return s;
}

/** scheme:id:perms */
export function aclString(a: ACL): string {
  return `${a.id.scheme}:${a.id.id}:${permString(a.perms)}`;
}

// ---------- dumping a log segment ----------

/** A txn body in readable form (also the sub-ops of a multi). */
export interface TxnBodyDump {
  type: string;
  path?: string;
  data?: string | null;
  dataEncoding?: 'utf8' | 'base64' | null;
  acl?: string[];
  /** create / create2: owned by the txn's session */
  ephemeral?: boolean;
  ttlMs?: number;
  parentCVersion?: number;
  version?: number;
  ops?: TxnBodyDump[];
  /** error txns: the error's name and code */
  err?: string;
  errCode?: number;
  timeoutMs?: number;
  /** restoreSubtree: how many nodes the subtree now holds */
  nodes?: number;
  /** closeSession: the ephemeral nodes it deletes */
  paths2Delete?: string[];
}

export interface TxnDump extends TxnBodyDump {
  zxid: string;
  time: string;
  sessionId: string;
  cxid: number;
}

export function txnBodyDump(txn: Txn): TxnBodyDump {
  const type = opName(txn.type);
  switch (txn.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL: {
      const out: TxnBodyDump = { type, path: txn.path, ...showData(txn.data), acl: txn.acl.map(aclString) };
      if (txn.type === OpCode.create || txn.type === OpCode.create2) out.ephemeral = txn.ephemeralOwner !== 0n;
      if (txn.type === OpCode.createTTL) out.ttlMs = ownerTtlMs(txn.ephemeralOwner) ?? 0;
      out.parentCVersion = txn.parentCVersion;
      return out;
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, path: txn.path };
    case OpCode.setData:
      return { type, path: txn.path, ...showData(txn.data), version: txn.version };
    case OpCode.setACL:
      return { type, path: txn.path, acl: txn.acl.map(aclString), version: txn.version };
    case OpCode.check:
      return { type, path: txn.path, version: txn.version };
    case OpCode.multi:
      return { type, ops: txn.txns.map(txnBodyDump) };
    case OpCode.error:
      return { type, err: errorName(txn.err), errCode: txn.err };
    case OpCode.createSession:
      return { type, timeoutMs: txn.timeOutMs };
    case OpCode.closeSession:
      return { type, paths2Delete: txn.paths2Delete };
    case OpCode.restoreSubtree:
      return { type, path: txn.path, parentCVersion: txn.parentCVersion, nodes: txn.nodes.length };
  }
}

export function txnDump(hdr: TxnHeader, txn: Txn): TxnDump {
  return { zxid: hexZxid(hdr.zxid), time: isoTime(hdr.time), sessionId: hexId(hdr.sessionId), cxid: hdr.cxid, ...txnBodyDump(txn) };
}

export interface LogDump {
  file: string;
  /** from the segment header (null when the header itself is unreadable) */
  firstZxid: string | null;
  bytes: number;
  /** header + whole valid records; the rest is preallocated zeros, a torn record or damage */
  usedBytes: number;
  records: TxnDump[];
  /** a record cut short (or failing its checksum) at the very end: a crash mid-write */
  tornTailAt: number | null;
  /** damage that stops the reading; records holds what came before it */
  damage: { offset: number | null; what: string } | null;
  /** after damage in place: where valid records start again, and the index in records of the first of them */
  resumedAt: { offset: number; index: number } | null;
}

function readInput(file: string, what: string): Buffer {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataToolError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${(e as Error).message})`, true);
  }
  if (st.isDirectory()) throw new DataToolError(`${file}: is a directory, not ${what}`, true);
  try {
    return readFileSync(file);
  } catch (e) {
    throw new DataToolError(`${file}: cannot read (${(e as Error).message})`, true);
  }
}

/** Names what a file is when it is not what a tool expected (by its first bytes). */
function foreignKind(buf: Buffer): string | null {
  if (isGzip(buf)) return 'gzip-compressed: an Ark snapshot, probably';
  if (buf.length < 4) return null;
  switch (buf.readUInt32BE(0)) {
    case LOG_MAGIC:
      return 'an Ark txn log segment';
    case SNAP_MAGIC:
      return 'an Ark snapshot';
    case ZK_LOG_MAGIC:
      return 'an Apache ZooKeeper txn log (version-2/log.*), not an Ark file';
    case ZK_SNAP_MAGIC:
      return 'an Apache ZooKeeper snapshot (version-2/snapshot.*), not an Ark file';
    default:
      return null;
  }
}

/** Every record of one log segment, in readable form. Throws DataToolError for a file that is not a log segment. */
export function dumpLog(file: string): LogDump {
  const buf = readInput(file, 'a txn log segment');
  if (buf.length >= 4 && buf.readUInt32BE(0) !== LOG_MAGIC && buf.readUInt32BE(0) !== 0) {
    const kind = foreignKind(buf);
    throw new DataToolError(
      `${file}: not an Ark txn log segment (${kind ? `it is ${kind}` : 'it does not start with "ARKL"'})` +
        (kind?.startsWith('an Ark snapshot') || kind?.startsWith('gzip') ? '; use `ark data dump-snapshot`' : ''),
      true,
    );
  }
  const s = readSegment(buf);
  const records = s.records.map((r) => txnDump(r.hdr, r.txn));
  let resumedAt: LogDump['resumedAt'] = null;
  if (s.end.kind === 'damage' && s.end.resync) {
    // damage in place: show what follows it as well
    const rest = readSegment(Buffer.concat([buf.subarray(0, LOG_HEADER_BYTES), buf.subarray(s.end.resync.offset)]));
    records.push(...rest.records.map((r) => txnDump(r.hdr, r.txn)));
    resumedAt = { offset: s.end.resync.offset, index: s.records.length };
  }
  return {
    file,
    firstZxid: s.firstZxid === null ? null : hexZxid(s.firstZxid),
    bytes: buf.length,
    usedBytes: s.validBytes,
    records,
    tornTailAt: s.end.kind === 'torn' ? s.end.offset : null,
    damage: s.end.kind === 'damage' ? { offset: s.end.offset, what: s.end.what } : null,
    resumedAt,
  };
}

// ---------- dumping a snapshot ----------

export interface NodeStatDump {
  czxid: string;
  mzxid: string;
  pzxid: string;
  /** ms since the epoch */
  ctime: number;
  mtime: number;
  version: number;
  /** as stored: child creates; a client sees 2 * cversion - numChildren (ZooKeeper's copyStat) */
  cversion: number;
  aversion: number;
  /** raw: a session id, 0, the container marker 0x8000000000000000, or a TTL encoding 0xff.. */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

export interface NodeDump extends ShownData {
  path: string;
  depth: number;
  acl: string[];
  stat: NodeStatDump;
}

export interface SnapshotDump {
  file: string;
  zxid: string;
  time: string;
  compressed: boolean;
  bytes: number;
  nodeCount: number;
  digest: string;
  sessions: Array<{ id: string; timeoutMs: number }>;
  /** pre-order from "/", children in name order */
  nodes: NodeDump[];
}

/** Header and every node of a snapshot. Throws DataToolError (not a snapshot, or damaged). */
export function dumpSnapshot(file: string): SnapshotDump {
  const raw = readInput(file, 'a snapshot');
  if (!isGzip(raw) && raw.length >= 4 && raw.readUInt32BE(0) !== SNAP_MAGIC) {
    const kind = foreignKind(raw);
    throw new DataToolError(
      `${file}: not an Ark snapshot (${kind ? `it is ${kind}` : 'it does not start with "ARKS"'})` +
        (kind === 'an Ark txn log segment' ? '; use `ark data dump-log`' : ''),
      true,
    );
  }
  let snap: ReturnType<typeof readSnapshot>;
  try {
    snap = readSnapshot(file, raw);
  } catch (e) {
    if (e instanceof SnapshotCorruptError) throw new DataToolError(e.message, false);
    throw e;
  }
  const nodes: NodeDump[] = [];
  const stack: Array<{ path: string; depth: number }> = [{ path: '/', depth: 0 }];
  while (stack.length > 0) {
    const { path, depth } = stack.pop()!;
    const n = snap.tree.nodes.get(path);
    if (!n) continue;
    nodes.push({
      path,
      depth,
      ...showData(n.data),
      acl: n.acl.map(aclString),
      stat: {
        czxid: hexZxid(n.czxid),
        mzxid: hexZxid(n.mzxid),
        pzxid: hexZxid(n.pzxid),
        ctime: n.ctime,
        mtime: n.mtime,
        version: n.version,
        cversion: n.cversion,
        aversion: n.aversion,
        ephemeralOwner: hexId(n.ephemeralOwner),
        dataLength: n.dataLength,
        numChildren: n.numChildren,
      },
    });
    const kids = [...(n.children ?? [])].sort().reverse();
    for (const k of kids) stack.push({ path: path === '/' ? `/${k}` : `${path}/${k}`, depth: depth + 1 });
  }
  return {
    file,
    zxid: hexZxid(snap.zxid),
    time: isoTime(snap.timeMs),
    compressed: isGzip(raw),
    bytes: raw.length,
    nodeCount: snap.nodeCount,
    digest: hexId(snap.digest),
    sessions: snap.sessions.map((s) => ({ id: hexId(s.id), timeoutMs: s.timeoutMs })),
    nodes,
  };
}

/** "container", "ttl 5000ms" or null for a raw ephemeralOwner that is not a session. */
export function ownerKind(rawHex: string): string | null {
  const owner = BigInt.asIntN(64, BigInt(rawHex));
  if (isContainerOwner(owner)) return 'container';
  const ttl = ownerTtlMs(owner);
  return ttl === null ? null : `ttl ${ttl}ms`;
}

// ---------- a whole data dir ----------

export interface Dirs {
  /** the directories as given to the server (dataDir, dataLogDir) */
  dataDir: string;
  dataLogDir: string;
  /** their ark-v1 subdirectories */
  snapDir: string;
  logDir: string;
}

function arkRoot(dir: string, option: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new DataToolError(`${option} ${dir}: no such directory`, true);
  }
  if (!st.isDirectory()) throw new DataToolError(`${option} ${dir}: not a directory`, true);
  const sub = join(dir, DATA_SUBDIR);
  if (existsSync(sub) && statSync(sub).isDirectory()) return dir;
  // pointed at ark-v1 itself
  if (basename(dir) === DATA_SUBDIR) return dirname(dir);
  const zk = join(dir, 'version-2');
  if (existsSync(zk))
    throw new DataToolError(`${option} ${dir}: an Apache ZooKeeper data dir (version-2/), not an Ark one (${DATA_SUBDIR}/)`, true);
  throw new DataToolError(`${option} ${dir}: not an Ark data dir (it has no ${DATA_SUBDIR}/ subdirectory)`, true);
}

/** Resolves and checks the directories: each must be (or hold) an Ark ark-v1 directory. */
export function resolveDirs(dataDir: string, dataLogDir?: string): Dirs {
  const d = arkRoot(dataDir, '--data-dir');
  const l = dataLogDir === undefined ? d : arkRoot(dataLogDir, '--log-dir');
  return { dataDir: d, dataLogDir: l, snapDir: join(d, DATA_SUBDIR), logDir: join(l, DATA_SUBDIR) };
}

export interface SnapshotReport {
  file: string;
  /** from the file name */
  zxid: string;
  bytes: number;
  compressed: boolean;
  valid: boolean;
  error: string | null;
  time: string | null;
  nodes: number | null;
  sessions: number | null;
  digest: string | null;
}

export interface SegmentReport {
  file: string;
  /** from the file name */
  firstZxid: string;
  lastZxid: string | null;
  txns: number;
  /** file size, preallocated zeros included */
  bytes: number;
  /** header + whole valid records */
  usedBytes: number;
  tornTail: boolean;
  /** damage that stops the reading, with its offset when known */
  error: string | null;
  errorOffset: number | null;
}

export interface RecoveryPlanReport {
  /** the newest snapshot that checks out, null when recovery starts from an empty tree */
  snapshot: string | null;
  snapshotZxid: string | null;
  /** damaged snapshots newer than that one, passed over */
  skipped: string[];
  /** the segments recovery reads */
  segments: string[];
  /** txns replayed after the snapshot */
  txns: number;
  /** the zxid the server would resume from */
  lastZxid: string | null;
  /** a torn record recovery would cut off, and why it counts as torn */
  truncateAt: { file: string; offset: number; why: string } | null;
  /** why recovery would refuse to start, null when it would succeed */
  error: string | null;
}

export interface DataDirReport {
  dataDir: string;
  dataLogDir: string;
  snapDir: string;
  logDir: string;
  /** whose rules recovery applies: an ensemble member's (dataDir holds myid) or a standalone server's */
  rules: 'standalone' | 'ensemble';
  /** oldest first */
  snapshots: SnapshotReport[];
  /** oldest first */
  segments: SegmentReport[];
  /** anything else in the ark-v1 directories (e.g. *.tmp of an interrupted snapshot) */
  otherFiles: string[];
  zxidRange: { first: string | null; last: string | null };
  recovery: RecoveryPlanReport;
  problems: string[];
  warnings: string[];
}

interface SnapScan {
  file: string;
  nameZxid: number;
  bytes: number;
  compressed: boolean;
  loaded: { zxid: number; timeMs: number; sessions: number; nodes: number; digest: bigint } | null;
  error: string | null;
}

interface SegScan {
  file: string;
  nameZxid: number;
  bytes: number;
  read: SegmentRead;
  zxids: number[];
}

function scanSnapshot(file: string, nameZxid: number): SnapScan {
  const raw = readFileSync(file);
  const base = { file, nameZxid, bytes: raw.length, compressed: isGzip(raw) };
  try {
    const s = readSnapshot(file, raw);
    return {
      ...base,
      loaded: { zxid: s.zxid, timeMs: s.timeMs, sessions: s.sessions.length, nodes: s.nodeCount, digest: s.digest },
      error: null,
    };
  } catch (e) {
    if (!(e instanceof SnapshotCorruptError)) throw e;
    const prefix = `${file}: `;
    return { ...base, loaded: null, error: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message };
  }
}

function scanLogSegment(file: string, nameZxid: number): SegScan {
  const buf = readFileSync(file);
  const read = readSegment(buf);
  return { file, nameZxid, bytes: buf.length, read, zxids: read.records.map((r) => r.hdr.zxid) };
}

interface Scanned {
  dirs: Dirs;
  /** the rules recovery applies: an ensemble member's (dataDir holds myid) or a standalone server's */
  ensemble: boolean;
  snaps: SnapScan[];
  segs: SegScan[];
  otherFiles: string[];
}

function scanAll(dirs: Dirs): Scanned {
  const snaps: SnapScan[] = [];
  const otherFiles: string[] = [];
  for (const name of readdirSync(dirs.snapDir).sort()) {
    const z = parseSnapshotName(name);
    if (z !== null) snaps.push(scanSnapshot(join(dirs.snapDir, name), z));
    else if (dirs.logDir !== dirs.snapDir || parseSegmentName(name) === null) otherFiles.push(join(dirs.snapDir, name));
  }
  if (dirs.logDir !== dirs.snapDir) {
    for (const name of readdirSync(dirs.logDir).sort()) {
      if (parseSegmentName(name) === null) otherFiles.push(join(dirs.logDir, name));
    }
  }
  snaps.sort((a, b) => a.nameZxid - b.nameZxid);
  const segs = listSegments(dirs.logDir).map((s) => scanLogSegment(join(dirs.logDir, s.name), s.firstZxid));
  return { dirs, ensemble: existsSync(join(dirs.dataDir, 'myid')), snaps, segs, otherFiles };
}

/** planRecovery over what was scanned: the very rules start-up applies (DataDir.recover). */
function plan(sc: Scanned): ReturnType<typeof planRecovery> {
  const snaps = new Map(sc.snaps.map((s) => [s.file, s]));
  const segs = new Map(sc.segs.map((g) => [g.file, g]));
  return planRecovery({
    dataDir: sc.dirs.dataDir,
    dataLogDir: sc.dirs.dataLogDir,
    logDir: sc.dirs.logDir,
    ensemble: sc.ensemble,
    snapshots: [...sc.snaps].reverse().map((s) => ({ file: s.file, zxid: s.nameZxid })),
    segments: sc.segs.map((g) => ({ file: g.file, firstZxid: g.nameZxid })),
    // the reason as readSnapshot gives it (with the file), word for word what start-up says
    loadSnapshot: (file) => snaps.get(file)!.loaded?.zxid ?? `${file}: ${snaps.get(file)!.error!}`,
    readSegment: (file) => segs.get(file)!.read,
  });
}

interface Judged {
  recovery: RecoveryPlanReport;
  /** the reason start-up refuses (also the first problem), null when it starts */
  refusal: string | null;
  problems: string[];
  warnings: string[];
}

/**
 * What recovery would do (the plan, shared with start-up) and, beyond it, what is wrong with the
 * files recovery does not read or passes over: those are problems too, but not reasons to refuse.
 */
function judge(sc: Scanned): Judged {
  const p = plan(sc);
  const problems: string[] = p.refusal ? [p.refusal] : [];
  const warnings: string[] = [];
  const chosen = p.snapshot ? sc.snaps.find((s) => s.file === p.snapshot!.file)! : null;
  snapshotFindings(sc, chosen, problems, warnings);
  oldSegmentFindings(sc, p.firstSegment, problems);
  segmentWarnings(sc, p, chosen, warnings);
  for (const f of sc.otherFiles) {
    if (f.endsWith('.tmp'))
      warnings.push(`${f}: left over from a snapshot that did not finish (the server stopped while writing it): safe to delete`);
  }
  const last = p.records.at(-1)?.hdr.zxid ?? p.snapshot?.zxid ?? null;
  const recovery: RecoveryPlanReport = {
    snapshot: p.snapshot?.file ?? null,
    snapshotZxid: p.snapshot ? hexZxid(p.snapshot.zxid) : null,
    skipped: p.skipped.map((s) => s.file),
    segments: sc.segs.slice(p.firstSegment).map((g) => g.file),
    txns: p.records.length,
    lastZxid: last === null ? null : hexZxid(last),
    truncateAt: p.truncate,
    error: p.refusal,
  };
  return { recovery, refusal: p.refusal, problems, warnings };
}

/** Damaged snapshots: passed over (newer than the one in use) or not needed (older); renamed ones; fallbacks. */
function snapshotFindings(sc: Scanned, chosen: SnapScan | null, problems: string[], warnings: string[]): void {
  for (const s of sc.snaps) {
    if (s.loaded === null) {
      const fallback =
        chosen && chosen.nameZxid < s.nameZxid
          ? `Recovery passes over it and uses ${basename(chosen.file)} plus the log instead`
          : chosen
            ? 'Recovery does not need it (a newer snapshot checks out)'
            : 'Recovery passes over it';
      problems.push(`${s.file}: ${s.error}. ${fallback}; move the file out of ${sc.dirs.snapDir} (keep a copy) and take a backup`);
      continue;
    }
    if (s.loaded.zxid !== s.nameZxid) {
      problems.push(
        `${s.file}: holds the tree at zxid ${hexZxid(s.loaded.zxid)} but its name says ${hexZxid(s.nameZxid)}: it was renamed by hand; give it its right name (snapshot.${s.loaded.zxid.toString(16).padStart(16, '0')})`,
      );
    }
    if (s === chosen) continue;
    // an older snapshot is a fallback only if the log after it is still there
    const z = s.loaded.zxid;
    let k = 0;
    while (k + 1 < sc.segs.length && sc.segs[k + 1]!.nameZxid <= z + 1) k++;
    const next = sc.segs
      .slice(k)
      .flatMap((g) => g.zxids)
      .find((x) => x > z);
    if (next !== undefined && !follows(z, next, sc.ensemble)) {
      warnings.push(
        `${s.file}: cannot serve as a fallback: the log after it starts at ${hexZxid(next)}, not ${hexZxid(z + 1)}; \`ark purge\` removes it`,
      );
    }
  }
}

/**
 * Segments older than the ones recovery reads (below index `upTo`): damage, cuts and overlaps
 * there are reported but lose nothing recovery needs.
 */
function oldSegmentFindings(sc: Scanned, upTo: number, problems: string[]): void {
  const notRead = 'Recovery does not read it (it is older than the snapshot in use): `ark purge` removes it, or move it aside';
  let prev: SegScan | null = null;
  for (const g of sc.segs.slice(0, upTo)) {
    const end = g.read.end;
    if (end.kind === 'damage') problems.push(`${g.file}: ${end.what} at offset ${end.offset}. ${notRead}`);
    if (end.kind === 'torn')
      problems.push(
        `${g.file}: a record is cut short at offset ${end.offset} (${end.why}) in a segment that is not the last one. ${notRead}`,
      );
    const back = g.zxids.findIndex((z, i) => i > 0 && !follows(g.zxids[i - 1]!, z, sc.ensemble));
    if (back > 0)
      problems.push(`${g.file}: the zxids do not run on from ${hexZxid(g.zxids[back - 1]!)} to ${hexZxid(g.zxids[back]!)}. ${notRead}`);
    if (g.zxids.length === 0) continue;
    // after damage, the records read stop early: a "gap" there says nothing more
    if (prev && prev.read.end.kind === 'clean' && !follows(prev.zxids.at(-1)!, g.zxids[0]!, sc.ensemble)) {
      const a = prev.zxids.at(-1)!;
      const b = g.zxids[0]!;
      problems.push(
        `${g.file}: ${b <= a ? `starts at zxid ${hexZxid(b)}, not after the end of ${basename(prev.file)} (${hexZxid(a)}): the segments overlap` : `${missing(a + 1, b - 1)} between ${basename(prev.file)} and this segment`}. ${notRead}`,
      );
    }
    prev = g;
  }
}

function segmentWarnings(sc: Scanned, p: ReturnType<typeof planRecovery>, chosen: SnapScan | null, warnings: string[]): void {
  if (p.truncate) {
    warnings.push(
      `${p.truncate.file}: ends in a record cut short at offset ${p.truncate.offset} (${p.truncate.why}): a crash mid-write; the server cuts it off there on start; such a txn was never acknowledged`,
    );
  }
  sc.segs.forEach((g, i) => {
    const last = i === sc.segs.length - 1;
    if (g.zxids.length === 0 && g.read.end.kind === 'clean') {
      warnings.push(
        `${g.file}: ${g.bytes === 0 ? 'an empty file (0 bytes)' : 'holds no txns'}${last ? ' (a crash right after the segment was created)' : ''}: safe to delete`,
      );
    }
  });
  if (sc.snaps.length > 0 && sc.segs.length === 0) {
    warnings.push(
      `${sc.dirs.logDir}: holds no log segments${sc.dirs.logDir === sc.dirs.snapDir ? ': if zoo.cfg sets dataLogDir, pass that directory with --log-dir' : ''}`,
    );
  }
  const lastLogged = [...sc.segs].reverse().find((g) => g.zxids.length > 0);
  const lastLogZxid = lastLogged ? lastLogged.zxids.at(-1)! : null;
  if (chosen?.loaded && lastLogZxid !== null && lastLogZxid < chosen.loaded.zxid) {
    warnings.push(
      `${sc.dirs.logDir}: the log ends at zxid ${hexZxid(lastLogZxid)}, before ${basename(chosen.file)} (${hexZxid(chosen.loaded.zxid)}): the segments holding the txns up to the snapshot are gone (recovery does not need them)`,
    );
  }
}

/** A warning when a live process holds the dirs: what a reader sees may change under it. */
function liveWarnings(dirs: Dirs): string[] {
  const out: string[] = [];
  for (const dir of new Set([dirs.dataDir, dirs.dataLogDir])) {
    const h = liveHolder(dir);
    if (h)
      out.push(
        `${dir} is in use by ${describeHolder(h)}: this reads a live data dir, so the newest segment may still be growing (a record being written can look torn); stop the server for a verdict that holds`,
      );
  }
  return out;
}

function report(sc: Scanned): DataDirReport {
  const { recovery, problems, warnings } = judge(sc);
  const snapshots: SnapshotReport[] = sc.snaps.map((s) => ({
    file: s.file,
    zxid: hexZxid(s.nameZxid),
    bytes: s.bytes,
    compressed: s.compressed,
    valid: s.loaded !== null,
    error: s.error,
    time: s.loaded ? isoTime(s.loaded.timeMs) : null,
    nodes: s.loaded?.nodes ?? null,
    sessions: s.loaded?.sessions ?? null,
    digest: s.loaded ? hexId(s.loaded.digest) : null,
  }));
  const segments: SegmentReport[] = sc.segs.map((g) => ({
    file: g.file,
    firstZxid: hexZxid(g.nameZxid),
    lastZxid: g.zxids.length > 0 ? hexZxid(g.zxids.at(-1)!) : null,
    txns: g.zxids.length,
    bytes: g.bytes,
    usedBytes: g.read.validBytes,
    tornTail: g.read.end.kind === 'torn',
    error: g.read.end.kind === 'damage' ? g.read.end.what : null,
    errorOffset: g.read.end.kind === 'damage' ? g.read.end.offset : null,
  }));
  const all: number[] = [
    ...sc.snaps.map((s) => s.nameZxid),
    ...sc.segs.flatMap((g) => (g.zxids.length > 0 ? [g.zxids[0]!, g.zxids.at(-1)!] : [])),
  ];
  const lo = all.length > 0 ? Math.min(...all) : null;
  const hi = all.length > 0 ? Math.max(...all) : null;
  return {
    ...sc.dirs,
    rules: sc.ensemble ? 'ensemble' : 'standalone',
    snapshots,
    segments,
    otherFiles: sc.otherFiles,
    zxidRange: { first: lo === null ? null : hexZxid(lo), last: hi === null ? null : hexZxid(hi) },
    recovery,
    problems,
    warnings: [...liveWarnings(sc.dirs), ...warnings],
  };
}

/**
 * Everything in a data dir: snapshots, log segments, the zxid range and what recovery would use.
 * Reads only.
 */
export function inspectDataDir(dataDir: string, dataLogDir?: string): DataDirReport {
  return report(scanAll(resolveDirs(dataDir, dataLogDir)));
}

export interface VerifyResult {
  /** nothing is damaged */
  ok: boolean;
  /** what start-up does on this dir: the same rules decide (planRecovery) */
  startup: 'starts' | 'refuses';
  problems: string[];
  warnings: string[];
  checked: { snapshots: number; segments: number };
}

/**
 * Checks every snapshot (checksum, rebuild, digest) and every log segment (every record's
 * checksum, torn records, zxid continuity within and across segments), and judges the dir by the
 * rules start-up applies (planRecovery): `startup` says whether the server starts on it. A
 * problem in a file recovery does not read (or passes over) is reported without making start-up
 * refuse. Reads only; warns when a running process holds the dir.
 */
export function verifyDataDir(dataDir: string, dataLogDir?: string): VerifyResult {
  const dirs = resolveDirs(dataDir, dataLogDir);
  const sc = scanAll(dirs);
  const { refusal, problems, warnings } = judge(sc);
  return {
    ok: problems.length === 0,
    startup: refusal ? 'refuses' : 'starts',
    problems,
    warnings: [...liveWarnings(dirs), ...warnings],
    checked: { snapshots: sc.snaps.length, segments: sc.segs.length },
  };
}

export interface PurgeResult {
  removed: string[];
  keptSnapshots: string[];
  warnings: string[];
}

/**
 * Keeps the newest `keep` snapshots and the log segments needed to replay from the oldest of
 * them, and deletes the rest (DataDir.purge). Refuses when a snapshot it would keep is damaged:
 * then the older ones may be what recovery falls back to, and while a process holds the dir.
 */
/** `onProgress`: bytes of the kept snapshots checked (each is read whole before anything is deleted). */
export function purgeDataDir(dataDir: string, dataLogDir: string | undefined, keep: number, onProgress?: OnProgress): PurgeResult {
  if (!Number.isSafeInteger(keep) || keep < 1)
    throw new DataToolError(`--keep must be a whole number of snapshots, at least 1 (got ${keep})`, true);
  const dirs = resolveDirs(dataDir, dataLogDir);
  const lock = lockDataDirs(dirs.dataDir, dirs.dataLogDir, 'ark purge');
  try {
    return purgeLocked(dirs, keep, onProgress);
  } finally {
    lock.release();
  }
}

function purgeLocked(dirs: Dirs, keep: number, onProgress?: OnProgress): PurgeResult {
  const dd = new DataDir(dirs.dataDir, dirs.dataLogDir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 });
  const warnings: string[] = [];
  if (keep < 3)
    warnings.push(
      `keeping only ${keep} snapshot${keep === 1 ? '' : 's'}: ZooKeeper's PurgeTxnLog insists on at least 3 so that a damaged newest snapshot still has fallbacks`,
    );
  const kept = dd.snapshots().slice(0, keep);
  // progress in bytes: the files' sizes are known up front, their node counts only once each is opened
  const total = kept.reduce((n, s) => n + s.bytes, 0);
  let before = 0;
  onProgress?.({ done: 0, total, unit: 'bytes' });
  for (const s of kept) {
    const at = before;
    const inFile = onProgress
      ? (p: { done: number; total: number | null }) =>
          onProgress({ done: at + (p.total ? Math.round((s.bytes * p.done) / p.total) : 0), total, unit: 'bytes' })
      : undefined;
    before += s.bytes;
    try {
      readSnapshot(s.file, readFileSync(s.file), inFile);
    } catch (e) {
      if (!(e instanceof SnapshotCorruptError)) throw e;
      throw new DataToolError(
        `refusing to purge: ${e.message}. It would be one of the snapshots kept, so older ones may be all that recovery can use; run \`ark data verify\` and move the damaged file aside first`,
        false,
      );
    }
  }
  const removed = dd.purge(keep);
  return { removed, keptSnapshots: kept.map((s) => s.file), warnings };
}

// ---------- accepting a damaged log's loss ----------

export interface TruncateResult {
  /** the segment cut, at offset */
  file: string;
  offset: number;
  /** the copy of the segment as it was */
  copy: string;
  /** later segments moved aside (renamed to <name>.cut, which no reader takes for a segment) */
  movedAside: string[];
  /** the last txn kept, null when none is left in the log */
  lastKeptZxid: string | null;
  /** the verdict on the dir afterwards (the rules start-up applies) */
  startup: 'starts' | 'refuses';
  problems: string[];
}

/**
 * `ark data truncate-log`: the explicit way to accept losing the txns from a damaged record on,
 * which recovery never does by itself. Only where start-up refuses over a record (`--at` must be
 * that file and offset, as verify and the refusal name them), with the dir locked. The segment is
 * copied to <file>.cut-<offset> first, cut there, and any later segment is renamed <name>.cut.
 */
export function truncateLog(dataDir: string, dataLogDir: string | undefined, at: string): TruncateResult {
  const m = /^(.+):(\d+)$/.exec(at);
  if (!m)
    throw new DataToolError(`--at ${at}: expected FILE:OFFSET, e.g. log.0000000000000001:4096 (as \`ark data verify\` names it)`, true);
  const dirs = resolveDirs(dataDir, dataLogDir);
  const file = join(dirs.logDir, basename(m[1]!));
  const offset = Number(m[2]);
  const lock = lockDataDirs(dirs.dataDir, dirs.dataLogDir, 'ark data truncate-log');
  try {
    const before = plan(scanAll(dirs));
    if (before.damageAt?.file !== file || before.damageAt.offset !== offset) {
      const where = before.damageAt ? `${before.damageAt.file}:${before.damageAt.offset}` : null;
      throw new DataToolError(
        `--at ${at}: recovery does not stop at a damaged record there (${where ? `it stops at ${where}` : before.refusal ? `it refuses for another reason: ${before.refusal}` : 'the log checks out'}); nothing was changed`,
        true,
      );
    }
    const copy = `${file}.cut-${offset}`;
    copyFileSync(file, copy);
    fsyncPath(copy);
    truncateSync(file, offset);
    fsyncPath(file);
    const segs = listSegments(dirs.logDir);
    const movedAside: string[] = [];
    for (const s of segs.slice(segs.findIndex((g) => join(dirs.logDir, g.name) === file) + 1)) {
      const f = join(dirs.logDir, s.name);
      renameSync(f, `${f}.cut`);
      movedAside.push(`${f}.cut`);
    }
    fsyncPath(dirs.logDir);
    const after = judge(scanAll(dirs));
    const kept = readSegment(readFileSync(file)).records.at(-1)?.hdr.zxid ?? null;
    return {
      file,
      offset,
      copy,
      movedAside,
      lastKeptZxid: kept === null ? null : hexZxid(kept),
      startup: after.refusal ? 'refuses' : 'starts',
      problems: after.problems,
    };
  } finally {
    lock.release();
  }
}
