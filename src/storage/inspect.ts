// Operator tools for an Ark data dir (what ZooKeeper offers as zkSnapShotToolkit, zkTxnLogToolkit,
// the snapshot/log checks and PurgeTxnLog): read snapshots and log segments and return plain,
// JSON-ready data; the CLI (src/cli/data.ts) prints it. Nothing here changes a file except
// purgeDataDir. Every judgement about a file reuses the readers recovery uses (scanSegment,
// readSnapshot), so "verify says intact" means "the server can load it".
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { JuteReader } from '../wire/jute.js';
import { OpCode, Perms, opName, type ACL } from '../wire/protocol.js';
import { isContainerOwner, ownerTtlMs, readTxnBody, readTxnHeader, type Txn, type TxnHeader } from '../wire/txn.js';
import { errorName } from '../util/errors.js';
import { DATA_SUBDIR, listSegments } from './filelog.js';
import { findValidRecordAfter, LOG_HEADER_BYTES, LOG_MAGIC, LogCorruptError, parseSegmentName, scanSegment, type LogRecord } from './txnlog.js';
import { SNAP_MAGIC, SnapshotCorruptError, isGzip, parseSnapshotName, readSnapshot } from './snapshot.js';
import { DataDir } from './datadir.js';
import { ZK_LOG_MAGIC, ZK_SNAP_MAGIC } from './zkformat.js';

/**
 * A tool cannot do what it was asked. `usage`: the input is wrong (missing file, not an Ark
 * file, bad argument); otherwise the file is damaged.
 */
export class DataToolError extends Error {
  constructor(message: string, readonly usage: boolean) {
    super(message);
    this.name = 'DataToolError';
  }
}

// ---------- formatting helpers shared by the tools and the CLI ----------

export const hexZxid = (z: number): string => `0x${z.toString(16)}`;
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
  let st;
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
    case LOG_MAGIC: return 'an Ark txn log segment';
    case SNAP_MAGIC: return 'an Ark snapshot';
    case ZK_LOG_MAGIC: return 'an Apache ZooKeeper txn log (version-2/log.*), not an Ark file';
    case ZK_SNAP_MAGIC: return 'an Apache ZooKeeper snapshot (version-2/snapshot.*), not an Ark file';
    default: return null;
  }
}

/** "what" of a LogCorruptError without the file name and the advice around it. */
function corruptWhat(e: LogCorruptError): string {
  const prefix = `${e.file}: `;
  const end = e.message.indexOf(` at offset ${e.offset}.`);
  return e.message.startsWith(prefix) && end > prefix.length ? e.message.slice(prefix.length, end) : e.message;
}

interface SegmentRead {
  headerZxid: number | null;
  records: LogRecord[];
  validBytes: number;
  tornTail: boolean;
  damage: { offset: number | null; what: string } | null;
}

/** scanSegment, but damage becomes data (with the records before it) instead of an exception. */
function readSegment(file: string, buf: Buffer): SegmentRead {
  try {
    const s = scanSegment(file, buf);
    return { headerZxid: buf.length === 0 ? null : s.firstZxid, records: s.records, validBytes: s.validBytes, tornTail: s.tornTail, damage: null };
  } catch (e) {
    if (e instanceof LogCorruptError) {
      let before: ReturnType<typeof scanSegment> | null = null;
      if (e.offset >= LOG_HEADER_BYTES) {
        try { before = scanSegment(file, buf.subarray(0, e.offset)); } catch { /* the header itself is bad */ }
      }
      return {
        headerZxid: before?.firstZxid ?? null, records: before?.records ?? [], validBytes: before ? e.offset : 0,
        tornTail: false, damage: { offset: e.offset, what: corruptWhat(e) },
      };
    }
    // a record whose checksum holds but whose body does not parse: find it by walking the frames
    const bad = firstUnparsable(buf);
    const before = bad !== null ? safeScan(file, buf.subarray(0, bad)) : null;
    return {
      headerZxid: before?.firstZxid ?? null, records: before?.records ?? [], validBytes: bad ?? 0, tornTail: false,
      damage: { offset: bad, what: `a record passes its checksum but does not parse (${(e as Error).message}); it was written by a newer or broken Ark` },
    };
  }
}

function safeScan(file: string, buf: Buffer): ReturnType<typeof scanSegment> | null {
  try { return scanSegment(file, buf); } catch { return null; }
}

function firstUnparsable(buf: Buffer): number | null {
  let off = LOG_HEADER_BYTES;
  while (off + 8 <= buf.length) {
    const len = buf.readInt32BE(off);
    if (len <= 0 || off + 8 + len > buf.length) return null;
    const payload = buf.subarray(off + 8, off + 8 + len);
    try {
      const r = new JuteReader(payload);
      const hdr = readTxnHeader(r);
      readTxnBody(r, hdr.type, hdr.sessionId);
    } catch {
      return off;
    }
    off += 8 + len;
  }
  return null;
}

/** Every record of one log segment, in readable form. Throws DataToolError for a file that is not a log segment. */
export function dumpLog(file: string): LogDump {
  const buf = readInput(file, 'a txn log segment');
  if (buf.length >= 4 && buf.readUInt32BE(0) !== LOG_MAGIC) {
    const kind = foreignKind(buf);
    throw new DataToolError(`${file}: not an Ark txn log segment (${kind ? `it is ${kind}` : 'it does not start with "ARKL"'})` +
      (kind?.startsWith('an Ark snapshot') || kind?.startsWith('gzip') ? '; use `ark data dump-snapshot`' : ''), true);
  }
  const s = readSegment(file, buf);
  const records = s.records.map((r) => txnDump(r.hdr, r.txn));
  let damage = s.damage;
  let tornTailAt = s.tornTail ? s.validBytes : null;
  let resumedAt: LogDump['resumedAt'] = null;
  if (s.tornTail && buf.length >= LOG_HEADER_BYTES) {
    // a "torn" record followed by valid ones is damage in place: show what follows as well
    const next = findValidRecordAfter(buf, s.validBytes, s.records[s.records.length - 1]?.hdr.zxid ?? -1);
    if (next) {
      const rest = readSegment(file, Buffer.concat([buf.subarray(0, LOG_HEADER_BYTES), buf.subarray(next.offset)]));
      records.push(...rest.records.map((r) => txnDump(r.hdr, r.txn)));
      damage = { offset: s.validBytes, what: 'a damaged record, not a crash mid-write since valid records follow it' };
      resumedAt = { offset: next.offset, index: s.records.length };
      tornTailAt = null;
    }
  }
  return {
    file, firstZxid: s.headerZxid === null ? null : hexZxid(s.headerZxid), bytes: buf.length, usedBytes: s.validBytes,
    records, tornTailAt, damage, resumedAt,
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
    throw new DataToolError(`${file}: not an Ark snapshot (${kind ? `it is ${kind}` : 'it does not start with "ARKS"'})` +
      (kind === 'an Ark txn log segment' ? '; use `ark data dump-log`' : ''), true);
  }
  let snap;
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
      path, depth, ...showData(n.data), acl: n.acl.map(aclString),
      stat: {
        czxid: hexZxid(n.czxid), mzxid: hexZxid(n.mzxid), pzxid: hexZxid(n.pzxid), ctime: n.ctime, mtime: n.mtime,
        version: n.version, cversion: n.cversion, aversion: n.aversion, ephemeralOwner: hexId(n.ephemeralOwner),
        dataLength: n.dataLength, numChildren: n.numChildren,
      },
    });
    const kids = [...(n.children ?? [])].sort().reverse();
    for (const k of kids) stack.push({ path: path === '/' ? `/${k}` : `${path}/${k}`, depth: depth + 1 });
  }
  return {
    file, zxid: hexZxid(snap.zxid), time: isoTime(snap.timeMs), compressed: isGzip(raw), bytes: raw.length,
    nodeCount: snap.nodeCount, digest: hexId(snap.digest),
    sessions: snap.sessions.map((s) => ({ id: hexId(s.id), timeoutMs: s.timeoutMs })), nodes,
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
  let st;
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
  if (existsSync(zk)) throw new DataToolError(`${option} ${dir}: an Apache ZooKeeper data dir (version-2/), not an Ark one (${DATA_SUBDIR}/)`, true);
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

export interface RecoveryPlan {
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
  /** a torn record recovery would cut off */
  truncateAt: { file: string; offset: number } | null;
  /** why recovery would refuse to start, null when it would succeed */
  error: string | null;
}

export interface DataDirReport {
  dataDir: string;
  dataLogDir: string;
  snapDir: string;
  logDir: string;
  /** oldest first */
  snapshots: SnapshotReport[];
  /** oldest first */
  segments: SegmentReport[];
  /** anything else in the ark-v1 directories (e.g. *.tmp of an interrupted snapshot) */
  otherFiles: string[];
  zxidRange: { first: string | null; last: string | null };
  recovery: RecoveryPlan;
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
  headerZxid: number | null;
  zxids: number[];
  validBytes: number;
  tornTail: boolean;
  damage: { offset: number | null; what: string } | null;
  /** after a torn tail: a valid record further on (so it is damage, not a crash mid-write) */
  resync: { offset: number; zxid: number } | null;
  /** the torn last record is all there (its length fits, no zeroed tail): a flipped bit rather than a crash */
  tornLooksWhole: boolean;
}

/**
 * A write cut short by a crash leaves a prefix of the new bytes over the preallocated zeros, at
 * sector granularity: so a torn record ends in zeros from a 512-byte boundary on.
 */
function looksWhole(buf: Buffer, start: number): boolean {
  if (start + 8 > buf.length) return false;
  const len = buf.readInt32BE(start);
  const end = start + 8 + len;
  if (len <= 0 || end > buf.length) return false;
  let zeroFrom = end;
  while (zeroFrom > start && buf[zeroFrom - 1] === 0) zeroFrom--;
  // the first sector boundary inside the record from which everything is zero
  const boundary = Math.ceil(Math.max(zeroFrom, start + 1) / 512) * 512;
  return boundary >= end;
}

function scanSnapshot(file: string, nameZxid: number): SnapScan {
  const raw = readFileSync(file);
  const base = { file, nameZxid, bytes: raw.length, compressed: isGzip(raw) };
  try {
    const s = readSnapshot(file, raw);
    return { ...base, loaded: { zxid: s.zxid, timeMs: s.timeMs, sessions: s.sessions.length, nodes: s.nodeCount, digest: s.digest }, error: null };
  } catch (e) {
    if (!(e instanceof SnapshotCorruptError)) throw e;
    const prefix = `${file}: `;
    return { ...base, loaded: null, error: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message };
  }
}

function scanLogSegment(file: string, nameZxid: number): SegScan {
  const buf = readFileSync(file);
  const s = readSegment(file, buf);
  const zxids = s.records.map((r) => r.hdr.zxid);
  const resync = s.tornTail ? findValidRecordAfter(buf, s.validBytes, zxids[zxids.length - 1] ?? nameZxid - 1) : null;
  const tornLooksWhole = s.tornTail && resync === null && looksWhole(buf, s.validBytes);
  return { file, nameZxid, bytes: buf.length, headerZxid: s.headerZxid, zxids, validBytes: s.validBytes, tornTail: s.tornTail, damage: s.damage, resync, tornLooksWhole };
}

const epochOf = (zxid: number): number => Math.floor(zxid / 4294967296);
/** The rule recovery proves (continuityProblem): +1, or the first txn of a later epoch. */
const follows = (prev: number, z: number): boolean => z === prev + 1 || epochOf(z) > epochOf(prev);

function missing(from: number, to: number): string {
  return from === to ? `zxid ${hexZxid(from)} is missing` : `zxids ${hexZxid(from)}..${hexZxid(to)} are missing`;
}

interface Scanned {
  dirs: Dirs;
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
  return { dirs, snaps, segs, otherFiles };
}

const RESTORE = 'restore this server\'s data from a backup, or (in an ensemble) clear it and let it resync from the leader';
const RESTORE_S = 'Restore this server\'s data from a backup, or (in an ensemble) clear it and let it resync from the leader';

/** Judges the files one by one and together, and works out what recovery would do. */
function analyze(sc: Scanned): { recovery: RecoveryPlan; problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { snaps, segs } = sc;

  // what recovery would use: the newest snapshot that checks out, and the segments from the one holding its zxid + 1
  const newestFirst = [...snaps].reverse();
  const chosen = newestFirst.find((s) => s.loaded !== null) ?? null;
  const skipped = newestFirst.slice(0, chosen ? newestFirst.indexOf(chosen) : newestFirst.length).map((s) => s.file);
  const from = chosen ? chosen.loaded!.zxid : 0;
  let firstNeeded = 0;
  while (firstNeeded + 1 < segs.length && segs[firstNeeded + 1]!.nameZxid <= from + 1) firstNeeded++;
  const needed = segs.slice(firstNeeded);
  const isNeeded = (i: number): boolean => i >= firstNeeded;
  let recoveryError: string | null = null;
  const fail = (why: string): void => { recoveryError ??= why; };

  // snapshots
  for (const s of snaps) {
    if (s.loaded === null) {
      const fallback = chosen && chosen.nameZxid < s.nameZxid
        ? `Recovery passes over it and uses ${basename(chosen.file)} plus the log instead`
        : chosen ? 'Recovery does not need it (a newer snapshot checks out)' : 'Recovery passes over it';
      problems.push(`${s.file}: ${s.error}. ${fallback}; move the file out of ${sc.dirs.snapDir} (keep a copy) and take a backup`);
      continue;
    }
    if (s.loaded.zxid !== s.nameZxid) {
      problems.push(`${s.file}: holds the tree at zxid ${hexZxid(s.loaded.zxid)} but its name says ${hexZxid(s.nameZxid)}: it was renamed by hand; give it its right name (snapshot.${s.loaded.zxid.toString(16).padStart(16, '0')})`);
    }
  }
  if (chosen === null && snaps.length > 0) {
    const firstZ = segs.find((g) => g.zxids.length > 0)?.zxids[0];
    if (firstZ === undefined || !follows(0, firstZ)) {
      const why = `no snapshot checks out and the log does not reach back to the first txn (it starts at ${firstZ === undefined ? 'nothing' : hexZxid(firstZ)}), so the tree cannot be rebuilt: ${RESTORE}`;
      problems.push(`${sc.dirs.snapDir}: ${why}`);
      fail(why);
    }
  }

  // segments, one by one and in sequence
  let prev: { file: string; last: number; damaged: boolean } | null = null;
  segs.forEach((g, i) => {
    const last = i === segs.length - 1;
    const at = (off: number | null): string => (off === null ? '' : ` at offset ${off}`);
    if (g.damage) {
      const keepUpTo = g.zxids.length > 0 ? `keeping the txns up to ${hexZxid(g.zxids[g.zxids.length - 1]!)}` : 'losing every txn in it';
      const cut = last && g.damage.offset !== null && g.damage.offset >= LOG_HEADER_BYTES
        ? `; or, accepting the loss of the txns after that point, keep a copy and cut the file there (truncate -s ${g.damage.offset}), ${keepUpTo}` : '';
      const advice = isNeeded(i)
        ? `The server will refuse to start. ${RESTORE_S}${cut}`
        : 'Recovery does not read it (it is older than the snapshot in use): `ark purge` removes it, or move it aside';
      problems.push(`${g.file}: ${g.damage.what}${at(g.damage.offset)}. ${advice}`);
      if (isNeeded(i)) fail(`${g.file}: ${g.damage.what}${at(g.damage.offset)}`);
    }
    if (g.headerZxid !== null && g.headerZxid !== g.nameZxid) {
      problems.push(`${g.file}: its header says it starts at zxid ${hexZxid(g.headerZxid)} but its name says ${hexZxid(g.nameZxid)}: it was renamed by hand; give it back its name`);
    } else if (g.zxids.length > 0 && g.zxids[0] !== g.nameZxid) {
      problems.push(`${g.file}: its first txn is zxid ${hexZxid(g.zxids[0]!)} but its name says ${hexZxid(g.nameZxid)}: the file was renamed or rewritten. ${RESTORE_S}`);
    }
    for (let k = 1; k < g.zxids.length; k++) {
      const a = g.zxids[k - 1]!;
      const b = g.zxids[k]!;
      if (!follows(a, b)) {
        const what = b <= a ? `the zxid goes back from ${hexZxid(a)} to ${hexZxid(b)}` : `${missing(a + 1, b - 1)} (it jumps from ${hexZxid(a)} to ${hexZxid(b)})`;
        problems.push(`${g.file}: ${what}. ${RESTORE_S}`);
        if (isNeeded(i)) fail(`${g.file}: ${what}`);
        break;
      }
    }
    if (g.tornTail) {
      const lost = g.resync ? `, but a valid record (zxid ${hexZxid(g.resync.zxid)}) follows at offset ${g.resync.offset}` : '';
      if (!last) {
        problems.push(`${g.file}: a record is cut short at offset ${g.validBytes}${lost} in a segment that is not the last one. ${isNeeded(i) ? `The server will refuse to start. ${RESTORE_S}` : 'Recovery does not read it (it is older than the snapshot in use): `ark purge` removes it, or move it aside'}`);
        if (isNeeded(i)) fail(`${g.file}: a record is cut short at offset ${g.validBytes} in a segment that is not the last one`);
      } else if (g.resync) {
        problems.push(`${g.file}: the record at offset ${g.validBytes} is damaged${lost}: this is damage, not a crash mid-write, and on start the server would cut the log there and silently lose every txn from that offset on. Do not start the server on this dir: ${RESTORE}`);
      } else if (g.bytes > 0) {
        warnings.push(g.tornLooksWhole
          ? `${g.file}: its last record, at offset ${g.validBytes}, fails its checksum although it looks completely written: unless the server crashed while writing it, ` +
            'this is damage to a txn that may have been acknowledged; on start the server drops it. Keep a copy of the file'
          : `${g.file}: ends in a record cut short at offset ${g.validBytes} (a crash mid-write): the server cuts it off there on start; such a txn was never acknowledged`);
      }
    }
    if (g.zxids.length === 0 && !g.damage && g.resync === null && (last || !g.tornTail)) {
      warnings.push(`${g.file}: ${g.bytes === 0 ? 'an empty file (0 bytes)' : 'holds no txns'}${last ? ' (a crash right after the segment was created)' : ''}: safe to delete`);
    }
    if (g.zxids.length > 0) {
      const first = g.zxids[0]!;
      if (prev && !prev.damaged && !follows(prev.last, first)) {
        const what = first <= prev.last
          ? `starts at zxid ${hexZxid(first)}, not after the end of ${basename(prev.file)} (${hexZxid(prev.last)}): the segments overlap`
          : `${missing(prev.last + 1, first - 1)} between ${basename(prev.file)} (ends at ${hexZxid(prev.last)}) and this segment (starts at ${hexZxid(first)})`;
        problems.push(`${g.file}: ${what}: a segment was deleted or copied in by hand. ${RESTORE_S}`);
        if (isNeeded(i) && isNeeded(i - 1)) fail(`${g.file}: ${what}`);
      }
      prev = { file: g.file, last: g.zxids[g.zxids.length - 1]!, damaged: g.damage !== null || g.tornTail };
    } else if (g.damage || g.tornTail) {
      prev = { file: g.file, last: prev?.last ?? 0, damaged: true };
    }
  });

  // the log must carry on right after the snapshot in use
  const after: number[] = [];
  for (const g of needed) for (const z of g.zxids) if (z > from) after.push(z);
  const lastLogged = [...segs].reverse().find((g) => g.zxids.length > 0);
  const lastLogZxid = lastLogged ? lastLogged.zxids[lastLogged.zxids.length - 1]! : null;
  if (after.length > 0 && !follows(from, after[0]!)) {
    const why = `${chosen ? `${basename(chosen.file)} is at zxid ${hexZxid(from)}` : 'there is no snapshot'} but the log carries on at ${hexZxid(after[0]!)}: ${missing(from + 1, after[0]! - 1)}`;
    problems.push(`${sc.dirs.logDir}: ${why}. ${RESTORE_S}`);
    fail(why);
  }
  if (snaps.length > 0 && segs.length === 0) {
    warnings.push(`${sc.dirs.logDir}: holds no log segments${sc.dirs.logDir === sc.dirs.snapDir ? ': if zoo.cfg sets dataLogDir, pass that directory with --log-dir' : ''}`);
  }
  if (chosen && lastLogZxid !== null && lastLogZxid < from) {
    warnings.push(`${sc.dirs.logDir}: the log ends at zxid ${hexZxid(lastLogZxid)}, before ${basename(chosen.file)} (${hexZxid(from)}): the segments holding the txns up to the snapshot are gone (recovery does not need them)`);
  }
  // older snapshots are fallbacks only if the log after them is still there
  for (const s of snaps) {
    if (!s.loaded || s === chosen) continue;
    const z = s.loaded.zxid;
    let k = 0;
    while (k + 1 < segs.length && segs[k + 1]!.nameZxid <= z + 1) k++;
    const next = segs.slice(k).flatMap((g) => g.zxids).find((x) => x > z);
    if (next !== undefined && !follows(z, next)) {
      warnings.push(`${s.file}: cannot serve as a fallback: the log after it starts at ${hexZxid(next)}, not ${hexZxid(z + 1)}; \`ark purge\` removes it`);
    }
  }
  for (const f of sc.otherFiles) {
    if (f.endsWith('.tmp')) warnings.push(`${f}: left over from a snapshot that did not finish (the server stopped while writing it): safe to delete`);
  }

  const tail = segs[segs.length - 1];
  const recovery: RecoveryPlan = {
    snapshot: chosen?.file ?? null,
    snapshotZxid: chosen ? hexZxid(from) : null,
    skipped,
    segments: needed.map((g) => g.file),
    txns: after.length,
    lastZxid: after.length > 0 ? hexZxid(after[after.length - 1]!) : chosen ? hexZxid(from) : null,
    truncateAt: tail && tail.tornTail ? { file: tail.file, offset: tail.validBytes } : null,
    error: recoveryError,
  };
  return { recovery, problems, warnings };
}

function report(sc: Scanned): DataDirReport {
  const { recovery, problems, warnings } = analyze(sc);
  const snapshots: SnapshotReport[] = sc.snaps.map((s) => ({
    file: s.file, zxid: hexZxid(s.nameZxid), bytes: s.bytes, compressed: s.compressed, valid: s.loaded !== null, error: s.error,
    time: s.loaded ? isoTime(s.loaded.timeMs) : null, nodes: s.loaded?.nodes ?? null, sessions: s.loaded?.sessions ?? null,
    digest: s.loaded ? hexId(s.loaded.digest) : null,
  }));
  const segments: SegmentReport[] = sc.segs.map((g) => ({
    file: g.file, firstZxid: hexZxid(g.nameZxid), lastZxid: g.zxids.length > 0 ? hexZxid(g.zxids[g.zxids.length - 1]!) : null,
    txns: g.zxids.length, bytes: g.bytes, usedBytes: g.validBytes, tornTail: g.tornTail,
    error: g.damage?.what ?? null, errorOffset: g.damage?.offset ?? null,
  }));
  const all: number[] = [...sc.snaps.map((s) => s.nameZxid), ...sc.segs.flatMap((g) => (g.zxids.length > 0 ? [g.zxids[0]!, g.zxids[g.zxids.length - 1]!] : []))];
  const lo = all.length > 0 ? Math.min(...all) : null;
  const hi = all.length > 0 ? Math.max(...all) : null;
  return {
    ...sc.dirs, snapshots, segments, otherFiles: sc.otherFiles,
    zxidRange: { first: lo === null ? null : hexZxid(lo), last: hi === null ? null : hexZxid(hi) },
    recovery, problems, warnings,
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
  ok: boolean;
  problems: string[];
  warnings: string[];
  checked: { snapshots: number; segments: number };
}

/**
 * Checks every snapshot (checksum, rebuild, digest) and every log segment (every record's
 * checksum, torn records, zxid continuity within and across segments), and that the newest
 * valid snapshot plus the log reach the last txn. Then, if nothing was found, runs recovery
 * itself without repairing (recover({repair:false})) as the final word. Reads only.
 */
export function verifyDataDir(dataDir: string, dataLogDir?: string): VerifyResult {
  const dirs = resolveDirs(dataDir, dataLogDir);
  const sc = scanAll(dirs);
  const { problems, warnings } = analyze(sc);
  if (problems.length === 0) {
    try {
      new DataDir(dirs.dataDir, dirs.dataLogDir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 }).recover({ repair: false });
    } catch (e) {
      problems.push(`recovery would fail: ${(e as Error).message}`);
    }
  }
  return { ok: problems.length === 0, problems, warnings, checked: { snapshots: sc.snaps.length, segments: sc.segs.length } };
}

export interface PurgeResult {
  removed: string[];
  keptSnapshots: string[];
  warnings: string[];
}

/**
 * Keeps the newest `keep` snapshots and the log segments needed to replay from the oldest of
 * them, and deletes the rest (DataDir.purge). Refuses when a snapshot it would keep is damaged:
 * then the older ones may be what recovery falls back to. The one function here that deletes.
 */
export function purgeDataDir(dataDir: string, dataLogDir: string | undefined, keep: number): PurgeResult {
  if (!Number.isSafeInteger(keep) || keep < 1) throw new DataToolError(`--keep must be a whole number of snapshots, at least 1 (got ${keep})`, true);
  const dirs = resolveDirs(dataDir, dataLogDir);
  const dd = new DataDir(dirs.dataDir, dirs.dataLogDir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 });
  const warnings: string[] = [];
  if (keep < 3) warnings.push(`keeping only ${keep} snapshot${keep === 1 ? '' : 's'}: ZooKeeper's PurgeTxnLog insists on at least 3 so that a damaged newest snapshot still has fallbacks`);
  const kept = dd.snapshots().slice(0, keep);
  for (const s of kept) {
    try {
      readSnapshot(s.file, readFileSync(s.file));
    } catch (e) {
      if (!(e instanceof SnapshotCorruptError)) throw e;
      throw new DataToolError(`refusing to purge: ${e.message}. It would be one of the snapshots kept, so older ones may be all that recovery can use; run \`ark data verify\` and move the damaged file aside first`, false);
    }
  }
  const removed = dd.purge(keep);
  return { removed, keptSnapshots: kept.map((s) => s.file), warnings };
}
