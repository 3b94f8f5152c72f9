// `ark migrate from-zookeeper`: imports an Apache ZooKeeper 3.5-3.9 data dir (version-2/
// snapshots and txn logs) into a new Ark data dir, keeping every znode's data, ACL and Stat, the
// sessions and the zxid. Formats: ../shared/reference/zookeeper.md section 4.
//
// How (ZooKeeper's own recovery, FileTxnSnapLog.restore, done offline):
// - Snapshot: the newest snapshot.<zxid> that parses with valid Adler32 seals (.gz is gunzipped;
//   .snappy is refused with what to change); damaged ones are passed over with the reason.
//   Without any usable snapshot the logs must reach back to zxid 1 (replayed onto an empty tree).
// - Logs: every log.<zxid> in zxid order from the newest one whose first zxid <= the snapshot's
//   zxid (it straddles the snapshot and holds txns after it); every record's Adler32 is checked,
//   txns after the snapshot are applied with DataTree.apply (which tolerates NodeExists/NoNode as
//   ZooKeeper's replay over a fuzzy snapshot does), with zxid continuity proven (+1, or a new
//   epoch). reconfig (type 16) is a SetDataTxn on /zookeeper/config and is applied as one.
//   A record cut short (or failing its checksum with only zeros after it) at the end of a file is
//   a torn write: reading stops there, as in ZooKeeper; anywhere else damage stops the import.
// - Digests: ZooKeeper snapshots are fuzzy (nodes may already hold txns past the snapshot's zxid)
//   up to the zxid of the digest trailer; each logged txn carries the tree digest after it. Ark's
//   digest after each replayed txn must equal ZooKeeper's once past that fuzzy window, and the
//   trailer's digest must equal the tree's when its zxid is reached. A mismatch stops the import
//   (--force imports anyway).
// - Ephemerals whose session is gone are deleted at the last zxid, as ZooKeeper does on load
//   (ZooKeeperServer.loadData, killSession of dead sessions).
// - Sessions are kept: their clients may reconnect to Ark within their timeout (session passwords
//   are the same function of the id in both) and keep their ephemerals; otherwise they expire.
// - The Ark snapshot is written at the last imported zxid, so new writes continue ZooKeeper's zxids.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataTree } from '../tree/datatree.js';
import { DIGEST_VERSION } from '../tree/digest.js';
import type { WatchEvent } from '../tree/watches.js';
import { JuteReader } from '../wire/jute.js';
import { OpCode, OPEN_ACL_UNSAFE, type ACL } from '../wire/protocol.js';
import { readTxnBody, readTxnHeader, type Txn, type TxnHeader } from '../wire/txn.js';
import { DataDir } from '../storage/datadir.js';
import { DATA_SUBDIR, DataDirError } from '../storage/filelog.js';
import { lockDataDirs } from '../storage/lock.js';
import type { SessionRecord } from '../storage/snapshot.js';
import { adler32, readZkSnapshot, ZK_LOG_MAGIC, type ZkSnapshot } from '../storage/zkformat.js';
import { epochOf, hexZxid as hex } from '../util/zxid.js';
import type { OnProgress } from '../util/progress.js';

export class MigrateError extends Error {
  /** usage: a problem with the arguments or the target (exit 2), not with the data (exit 1) */
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
    this.name = 'MigrateError';
  }
}

export interface ImportOptions {
  /** ZooKeeper's dataDir (holding version-2/), or version-2/ itself */
  source: string;
  /** ZooKeeper's dataLogDir when it differs from dataDir */
  logDir?: string;
  /** znodes of ZooKeeper's snapshot loaded, then its txns replayed (then, migrating, the Ark snapshot written) */
  progress?: { loading?: OnProgress; replaying?: OnProgress; writing?: OnProgress };
}

export interface MigrateOptions extends ImportOptions {
  /** the new Ark data dir */
  dataDir: string;
  /** replace an existing Ark data dir; import even when the digests disagree */
  force: boolean;
  now?: number;
}

export interface SnapshotDigestCheck {
  zxid: string;
  expected: string;
  actual: string | null;
  /**
   * match / mismatch when the tree reached the trailer's zxid; empty: ZooKeeper wrote no digest
   * (zxid 0); ignored: its zxid is below the snapshot's (then the snapshot is not fuzzy);
   * not-reached: the log ends before it; other-version: not digest version 2
   */
  result: 'match' | 'mismatch' | 'empty' | 'ignored' | 'not-reached' | 'other-version';
}

export interface TxnDigestComparison {
  zxid: string;
  expected: string;
  actual: string;
  match: boolean;
}

export interface DigestReport {
  /** match: every check past the fuzzy window agreed; unverified: nothing to compare */
  result: 'match' | 'mismatch' | 'unverified';
  snapshot: SnapshotDigestCheck | null;
  txns: {
    compared: number;
    /** mismatches past the fuzzy window (errors) */
    mismatched: number;
    /** mismatches inside the fuzzy window (expected: the snapshot already held later txns) */
    fuzzyMismatches: number;
    firstMismatch: TxnDigestComparison | null;
    last: TxnDigestComparison | null;
  };
  /** the zxid up to which the snapshot may hold later changes (digest trailer zxid, or the snapshot's) */
  fuzzyUntil: string;
  message: string;
}

export interface LogReport {
  file: string;
  firstZxid: string | null;
  lastZxid: string | null;
  /** whole records read (each checksum checked) */
  txns: number;
  /** of them, applied (after the snapshot) */
  replayed: number;
  /** it starts at or before the snapshot's zxid and was read for the txns after it */
  straddles: boolean;
  /** offset of a torn last record, where reading stopped */
  tornAt: number | null;
}

export interface ImportReport {
  source: { snapDir: string; logDir: string };
  snapshot: {
    file: string;
    zxid: string;
    compression: 'none' | 'gz';
    nodes: number;
    sessions: number;
    digest: string | null;
    maxZxidInNodes: string;
  } | null;
  skippedSnapshots: Array<{ file: string; reason: string }>;
  logs: LogReport[];
  txnsReplayed: number;
  /** replayed txns whose ops found a node already there / already gone (normal in a fuzzy window) */
  replayConflicts: number;
  lastZxid: string;
  nodes: number;
  sessions: number;
  ephemerals: number;
  containers: number;
  ttlNodes: number;
  /** ephemerals of sessions that no longer exist, deleted as ZooKeeper does on load */
  orphanEphemeralsRemoved: string[];
  digest: DigestReport;
  warnings: string[];
}

export interface MigrateReport extends ImportReport {
  target: { dataDir: string; snapshot: string; bytes: number; zxid: string; replaced: number };
}

export interface ImportResult {
  tree: DataTree;
  sessions: SessionRecord[];
  report: ImportReport;
}

/** An error's message with its cause (a jute MarshallingError says what ran short in its cause). */
function describe(e: unknown): string {
  const err = e as Error;
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/** The version-2 directory of a ZooKeeper dataDir / dataLogDir (or the directory itself). */
export function findVersion2(dir: string, what: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new MigrateError(`${what} ${dir}: no such directory`, true);
  if (!statSync(abs).isDirectory()) throw new MigrateError(`${what} ${dir}: not a directory`, true);
  const v2 = join(abs, 'version-2');
  if (existsSync(v2) && statSync(v2).isDirectory()) return v2;
  if (basename(abs) === 'version-2' || readdirSync(abs).some((f) => parseSnapName(f) !== null || parseLogName(f) !== null)) return abs;
  throw new MigrateError(
    `${what} ${dir}: no version-2/ directory (is this ZooKeeper's dataDir? snapshots and logs live in <dataDir>/version-2)`,
    true,
  );
}

interface SnapName {
  file: string;
  zxid: number;
  compression: 'none' | 'gz' | 'snappy';
}

function parseSnapName(name: string): { zxid: number; compression: SnapName['compression'] } | null {
  const m = /^snapshot\.([0-9a-fA-F]{1,16})(\.gz|\.snappy)?$/.exec(name);
  if (!m) return null;
  return { zxid: parseInt(m[1]!, 16), compression: m[2] === '.gz' ? 'gz' : m[2] === '.snappy' ? 'snappy' : 'none' };
}

function parseLogName(name: string): number | null {
  const m = /^log\.([0-9a-fA-F]{1,16})$/.exec(name);
  return m ? parseInt(m[1]!, 16) : null;
}

/** Newest first. */
function listSnapshots(dir: string): SnapName[] {
  const out: SnapName[] = [];
  for (const f of readdirSync(dir)) {
    const p = parseSnapName(f);
    if (p) out.push({ file: join(dir, f), ...p });
  }
  return out.sort((a, b) => b.zxid - a.zxid || (a.compression === 'none' ? -1 : 1));
}

/** Oldest first. */
function listLogs(dir: string): Array<{ file: string; zxid: number }> {
  const out: Array<{ file: string; zxid: number }> = [];
  for (const f of readdirSync(dir)) {
    const z = parseLogName(f);
    if (z !== null) out.push({ file: join(dir, f), zxid: z });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

const SNAPPY_HELP =
  'snappy-compressed snapshots are not supported: set zookeeper.snapshot.compression.method to none ' +
  'on ZooKeeper and restart it to write an uncompressed snapshot, then migrate again';

/** A snapshot passed over for a stated reason. */
class UnusableSnapshot extends Error {}

function loadSnapshotFile(s: SnapName): ZkSnapshot {
  if (s.compression === 'snappy') throw new UnusableSnapshot(SNAPPY_HELP);
  let buf: Buffer = readFileSync(s.file);
  if (s.compression === 'gz') {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new UnusableSnapshot(`gzip data is damaged (${(e as Error).message})`);
    }
  }
  return readZkSnapshot(s.file, buf);
}

/** One txn body, with reconfig (16: a SetDataTxn on /zookeeper/config) read as the setData it applies as. */
function readZkTxnBody(r: JuteReader, type: number, sessionId: bigint): Txn {
  if (type === OpCode.reconfig) return readTxnBody(r, OpCode.setData, sessionId);
  if (type === OpCode.multi) {
    const txns =
      r.vector((sr) => {
        const t = sr.int();
        return readZkTxnBody(new JuteReader(sr.buffer()), t, sessionId);
      }, 8) ?? [];
    return { type: OpCode.multi, txns };
  }
  return readTxnBody(r, type, sessionId);
}

interface LogEntry {
  offset: number;
  hdr: TxnHeader;
  txn: Txn;
  digest: { version: number; value: bigint } | null;
}

const RECORD_MIN = 12 + 32 + 1; // crc, len, TxnHeader, EOR

/** Where a whole, checksummed record starts after `from` (proof that what came before is damage, not a torn tail). */
function wholeRecordAfter(buf: Buffer, from: number): number | null {
  let last = buf.length - 1;
  while (last >= from && buf[last] === 0) last--;
  for (let p = from; p + RECORD_MIN <= last + 1; p++) {
    // the Adler32 is stored as a long: its high 4 bytes are zero
    if (buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 0 || buf[p + 3] !== 0) continue;
    const len = buf.readInt32BE(p + 8);
    if (len < 32 || p + 12 + len >= buf.length || buf[p + 12 + len] !== 0x42) continue;
    if (buf.readUInt32BE(p + 4) === adler32(buf, p + 12, p + 12 + len)) return p;
  }
  return null;
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Reads one ZooKeeper txn log, checking every record. Stops at the zero fill or a torn last
 * record; throws MigrateError naming the file and offset on damage.
 */
export function readZkLogFile(file: string, buf: Buffer, isLast: boolean): { entries: LogEntry[]; tornAt: number | null } {
  if (buf.length < 16 || buf.readInt32BE(0) !== ZK_LOG_MAGIC)
    throw new MigrateError(`${file}: not a ZooKeeper txn log (bad magic at offset 0)`);
  const version = buf.readInt32BE(4);
  if (version !== 2) throw new MigrateError(`${file}: txn log format version ${version} at offset 4, expected 2`);
  const entries: LogEntry[] = [];
  let offset = 16;
  const stop = (at: number, what: string): { entries: LogEntry[]; tornAt: number | null } => {
    const next = wholeRecordAfter(buf, at + 1);
    if (next !== null) {
      throw new MigrateError(
        `${file}: ${what} at offset ${at}, but a whole record follows at offset ${next}: the log is damaged ` +
          '(ZooKeeper would stop reading here and lose the txns after it)',
      );
    }
    return { entries, tornAt: at };
  };
  while (offset < buf.length) {
    if (buf.length - offset < 12) {
      return allZero(buf, offset) ? { entries, tornAt: null } : stop(offset, 'a record cut short');
    }
    const crcHi = buf.readUInt32BE(offset);
    const crc = buf.readUInt32BE(offset + 4);
    const len = buf.readInt32BE(offset + 8);
    if (len === 0) {
      // ZooKeeper preallocates with zeros: an empty record is the end of the log
      if (crcHi === 0 && crc === 0) {
        const next = wholeRecordAfter(buf, offset + 1);
        if (next !== null)
          throw new MigrateError(`${file}: zeros at offset ${offset}, but a whole record follows at offset ${next}: the log is damaged`);
        return { entries, tornAt: null };
      }
      return stop(offset, 'an empty record with a checksum');
    }
    const end = offset + 12 + len;
    if (len < 0 || end + 1 > buf.length) return stop(offset, `a record of ${len} bytes cut short`);
    if (buf[end] !== 0x42) return stop(offset, 'a record without its end mark');
    if (crcHi !== 0 || crc !== adler32(buf, offset + 12, end)) {
      if (isLast && allZero(buf, end + 1)) return { entries, tornAt: offset };
      throw new MigrateError(
        `${file}: txn Adler32 mismatch at offset ${offset}: the log is damaged ` +
          '(ZooKeeper refuses it too; zkTxnLogToolkit.sh -r can cut it off, losing the txns from there on)',
      );
    }
    const r = new JuteReader(buf, offset + 12, end);
    let hdr: TxnHeader;
    let txn: Txn;
    try {
      hdr = readTxnHeader(r);
    } catch (e) {
      throw new MigrateError(`${file}: unreadable txn header at offset ${offset} (${describe(e)})`);
    }
    try {
      txn = readZkTxnBody(r, hdr.type, hdr.sessionId);
    } catch (e) {
      throw new MigrateError(`${file}: txn zxid ${hex(hdr.zxid)} (type ${hdr.type}) at offset ${offset} cannot be read: ${describe(e)}`);
    }
    const digest = r.remaining >= 12 ? { version: r.int(), value: r.longBig() } : null;
    entries.push({ offset, hdr, txn, digest });
    offset = end + 1;
  }
  return { entries, tornAt: null };
}

function aclsFor(snap: ZkSnapshot, path: string, aclId: bigint): ACL[] {
  // ReferenceCountedACLCache: -1 is OPEN_ACL_UNSAFE (world:anyone, all permissions), never in the map
  if (aclId === -1n) return OPEN_ACL_UNSAFE;
  const acl = snap.acls.get(aclId);
  if (!acl) throw new UnusableSnapshot(`node ${path} uses ACL ${aclId}, which the snapshot's ACL map does not hold`);
  return acl;
}

/** A snapshot loaded into a tree, with the highest zxid any of its nodes carries. */
interface LoadedSnapshot {
  s: SnapName;
  snap: ZkSnapshot;
  tree: DataTree;
  maxZxid: number;
}

/** Nodes loaded into the tree between two progress reports. */
const PROGRESS_NODES = 50_000;

function loadSnapshotTree(s: SnapName, onProgress?: OnProgress): LoadedSnapshot {
  const snap = loadSnapshotFile(s);
  const tree = new DataTree();
  let maxZxid = 0;
  const total = snap.nodes.length;
  let done = 0;
  onProgress?.({ done, total, unit: 'znodes' });
  for (const n of snap.nodes) {
    if (!tree.loadNode(n.path, n.data, aclsFor(snap, n.path, n.aclId), n.stat)) {
      throw new UnusableSnapshot(`node ${n.path} comes before its parent`);
    }
    maxZxid = Math.max(maxZxid, n.stat.czxid, n.stat.mzxid, n.stat.pzxid);
    if (++done % PROGRESS_NODES === 0) onProgress?.({ done, total, unit: 'znodes' });
  }
  onProgress?.({ done, total, unit: 'znodes' });
  tree.finishLoad(s.zxid);
  return { s, snap, tree, maxZxid };
}

/** The newest snapshot that parses, seals and loads (null: none does), and why each newer one was passed over. */
function newestUsableSnapshot(
  snapFiles: SnapName[],
  onProgress?: OnProgress,
): { chosen: LoadedSnapshot | null; skipped: ImportReport['skippedSnapshots'] } {
  const skipped: ImportReport['skippedSnapshots'] = [];
  for (const s of snapFiles) {
    try {
      return { chosen: loadSnapshotTree(s, onProgress), skipped };
    } catch (e) {
      const msg = describe(e);
      skipped.push({
        file: s.file,
        reason: msg.startsWith(`${s.file}: `)
          ? msg.slice(s.file.length + 2)
          : e instanceof UnusableSnapshot
            ? msg
            : `cannot be parsed (${msg})`,
      });
    }
  }
  return { chosen: null, skipped };
}

/** A snapshot digest for a zxid past the snapshot's (a fuzzy snapshot): checked when replay reaches that zxid. */
interface PendingDigest {
  check: SnapshotDigestCheck;
  zxid: number;
  value: bigint;
}

/** The snapshot digest against the tree's, now that the tree is at the digest's zxid. */
function settleDigest(check: SnapshotDigestCheck, tree: DataTree, expected: bigint): void {
  check.actual = tree.digest.toString();
  check.result = tree.digest === expected ? 'match' : 'mismatch';
}

/** The snapshot's digest trailer: checked at once when it is for the snapshot's own zxid, pending when for a later one. */
function snapshotDigest(
  snap: ZkSnapshot,
  snapZxid: number,
  tree: DataTree,
): { check: SnapshotDigestCheck | null; pending: PendingDigest | null } {
  const d = snap.digest;
  if (!d) return { check: null, pending: null };
  const check: SnapshotDigestCheck = { zxid: hex(d.zxid), expected: d.value.toString(), actual: null, result: 'not-reached' };
  if (d.zxid <= 0) check.result = 'empty';
  else if (d.zxid < snapZxid) check.result = 'ignored';
  else if (d.version !== DIGEST_VERSION) check.result = 'other-version';
  else if (d.zxid === snapZxid) settleDigest(check, tree, d.value);
  else return { check, pending: { check, zxid: d.zxid, value: d.value } };
  return { check, pending: null };
}

/** What the logs are replayed onto: the chosen snapshot, or an empty tree. */
interface ReplayStart {
  tree: DataTree;
  /** the snapshot's zxid; 0 without one */
  zxid: number;
  /** session id -> timeout (ms), kept up to date by the replay */
  sessions: Map<bigint, number>;
  /** the snapshot's file, named when the txns after it do not follow it */
  file: string | null;
  digest: SnapshotDigestCheck | null;
  pendingDigest: PendingDigest | null;
  report: ImportReport['snapshot'];
}

function startFromSnapshot({ s, snap, tree, maxZxid }: LoadedSnapshot): ReplayStart {
  const { check, pending } = snapshotDigest(snap, s.zxid, tree);
  return {
    tree,
    zxid: s.zxid,
    sessions: new Map(snap.sessions.map((x) => [x.id, x.timeoutMs])),
    file: s.file,
    digest: check,
    pendingDigest: pending,
    report: {
      file: s.file,
      zxid: hex(s.zxid),
      compression: s.compression === 'gz' ? 'gz' : 'none',
      nodes: tree.nodeCount,
      sessions: snap.sessions.length,
      digest: snap.digest ? snap.digest.value.toString() : null,
      maxZxidInNodes: hex(maxZxid),
    },
  };
}

/** No usable snapshot: the logs alone must hold the whole history (ZooKeeper starts from an empty tree). */
function startFromLogsAlone(
  snapDir: string,
  logFiles: Array<{ zxid: number }>,
  skipped: ImportReport['skippedSnapshots'],
  warnings: string[],
): ReplayStart {
  const first = logFiles[0];
  const reasons = skipped.map((x) => `${x.file}: ${x.reason}`).join('; ');
  if (!first || first.zxid > 1) {
    throw new MigrateError(
      skipped.length > 0
        ? `no usable snapshot (${reasons}), and the txn logs do not reach back to zxid 0x1 to rebuild without one`
        : `${snapDir}: no snapshot, and the txn logs start at ${first ? hex(first.zxid) : 'nothing'}, not at zxid 0x1`,
    );
  }
  if (skipped.length > 0) warnings.push(`no usable snapshot (${reasons}): rebuilt from the txn logs alone, from zxid 0x1`);
  const tree = new DataTree();
  tree.finishLoad(0);
  return { tree, zxid: 0, sessions: new Map(), file: null, digest: null, pendingDigest: null, report: null };
}

/**
 * Replays ZooKeeper txn logs onto the start's tree as its recovery does: only the txns after the
 * snapshot, each the next zxid or the first of a later epoch; Ark's digest after each is compared
 * with the one ZooKeeper logged, and with the snapshot's when its zxid comes.
 */
/** Txns replayed between two progress reports. */
const REPLAY_PROGRESS_TXNS = 20_000;

class LogReplay {
  /** the last zxid applied (the snapshot's before any) */
  last: number;
  replayed = 0;
  /** txns whose ops found a node already there / already gone */
  conflicts = 0;
  readonly txnDigests: DigestReport['txns'] = { compared: 0, mismatched: 0, fuzzyMismatches: 0, firstMismatch: null, last: null };
  /** up to this zxid the snapshot may already hold later changes, so digests may differ */
  readonly fuzzyUntil: number;
  private pendingDigest: PendingDigest | null;
  private readonly events: WatchEvent[] = [];

  constructor(
    private readonly start: ReplayStart,
    private readonly onProgress?: OnProgress,
  ) {
    this.last = start.zxid;
    this.pendingDigest = start.pendingDigest;
    this.fuzzyUntil = Math.max(start.zxid, start.pendingDigest?.zxid ?? 0);
  }

  /** Reads one log and applies its txns after the snapshot; a misnamed file and a torn last record are warnings. */
  log(lf: { file: string; zxid: number }, isLast: boolean, warnings: string[]): LogReport {
    const snapZxid = this.start.zxid;
    const { entries, tornAt } = readZkLogFile(lf.file, readFileSync(lf.file), isLast);
    const rep: LogReport = {
      file: lf.file,
      firstZxid: entries[0] ? hex(entries[0].hdr.zxid) : null,
      lastZxid: entries.length > 0 ? hex(entries[entries.length - 1]!.hdr.zxid) : null,
      txns: entries.length,
      replayed: 0,
      straddles: lf.zxid <= snapZxid && entries.some((e) => e.hdr.zxid > snapZxid),
      tornAt,
    };
    if (entries[0] && entries[0].hdr.zxid !== lf.zxid) {
      warnings.push(`${lf.file}: its name says zxid ${hex(lf.zxid)} but its first txn is ${hex(entries[0].hdr.zxid)}`);
    }
    for (const e of entries) {
      if (this.last === snapZxid && e.hdr.zxid <= snapZxid) continue;
      this.checkFollows(lf.file, e);
      this.apply(e);
      rep.replayed++;
    }
    if (tornAt !== null) {
      warnings.push(
        `${lf.file}: a torn record at offset ${tornAt} (a write cut short by a crash); reading stopped there, as ZooKeeper does`,
      );
    }
    return rep;
  }

  private checkFollows(file: string, e: LogEntry): void {
    const z = e.hdr.zxid;
    const last = this.last;
    if (z === last + 1 || (z > last && epochOf(z) > epochOf(last))) return;
    throw new MigrateError(
      `${file}: txn zxid ${hex(z)} at offset ${e.offset} does not follow zxid ${hex(last)}` +
        `${z <= last ? ' (it goes backwards)' : ': txns are missing'}${last === this.start.zxid && this.start.file !== null ? ` after snapshot ${this.start.file}` : ''}`,
    );
  }

  private apply(e: LogEntry): void {
    const { tree, sessions } = this.start;
    this.events.length = 0;
    const res = tree.apply(e.hdr, e.txn, this.events);
    if (e.txn.type !== OpCode.error && e.txn.type !== OpCode.multi && res.type === OpCode.error) this.conflicts++;
    if (e.hdr.type === OpCode.createSession && e.txn.type === OpCode.createSession) sessions.set(e.hdr.sessionId, e.txn.timeOutMs);
    if (e.hdr.type === OpCode.closeSession) sessions.delete(e.hdr.sessionId);
    this.last = e.hdr.zxid;
    this.replayed++;
    // the logs are read one at a time: how many txns they hold in all is not known up front
    if (this.replayed % REPLAY_PROGRESS_TXNS === 0) this.onProgress?.({ done: this.replayed, total: null, unit: 'txns' });
    if (e.digest && e.digest.version === DIGEST_VERSION) this.compareTxnDigest(e.hdr.zxid, e.digest.value);
    if (this.pendingDigest && e.hdr.zxid === this.pendingDigest.zxid) {
      settleDigest(this.pendingDigest.check, tree, this.pendingDigest.value);
      this.pendingDigest = null;
    }
  }

  /** A difference inside the fuzzy window is expected (the snapshot held later txns); past it, an error. */
  private compareTxnDigest(zxid: number, expected: bigint): void {
    const tree = this.start.tree;
    const cmp: TxnDigestComparison = {
      zxid: hex(zxid),
      expected: expected.toString(),
      actual: tree.digest.toString(),
      match: tree.digest === expected,
    };
    const t = this.txnDigests;
    t.compared++;
    t.last = cmp;
    if (cmp.match) return;
    if (zxid <= this.fuzzyUntil) t.fuzzyMismatches++;
    else {
      t.mismatched++;
      t.firstMismatch ??= cmp;
    }
  }
}

/** Deletes the ephemerals of sessions that are gone at zxid `at` (ZooKeeperServer.loadData kills them at load); returns their paths. */
function removeOrphanEphemerals(tree: DataTree, sessions: ReadonlyMap<bigint, number>, at: number): string[] {
  const orphans: string[] = [];
  const events: WatchEvent[] = [];
  for (const [owner, paths] of [...tree.ephemerals]) {
    if (sessions.has(owner)) continue;
    orphans.push(...[...paths].sort());
    events.length = 0;
    tree.apply(
      { sessionId: owner, cxid: 0, zxid: at, time: 0, type: OpCode.closeSession },
      { type: OpCode.closeSession, paths2Delete: [] },
      events,
    );
  }
  return orphans;
}

/** Signs that the logs stop short of what the snapshot already holds. */
function logsEndEarly(start: ReplayStart, last: number): string[] {
  const out: string[] = [];
  if (start.digest && start.digest.result === 'not-reached') {
    out.push(
      `the snapshot's digest is for zxid ${start.digest.zxid}, which the logs do not reach (they end at ${hex(last)}): txns may be missing`,
    );
  }
  const snap = start.report;
  if (snap && parseInt(snap.maxZxidInNodes, 16) > last) {
    out.push(
      `nodes of ${snap.file} carry zxid ${snap.maxZxidInNodes}, past the last txn found (${hex(last)}): the log after the snapshot is incomplete`,
    );
  }
  return out;
}

/** Reads a ZooKeeper data dir into a tree, in memory. Throws MigrateError. */
export function importZooKeeper(opts: ImportOptions): ImportResult {
  const snapDir = findVersion2(opts.source, '--source');
  const logDir = opts.logDir !== undefined ? findVersion2(opts.logDir, '--log-dir') : snapDir;
  const snapFiles = listSnapshots(snapDir);
  const logFiles = listLogs(logDir);
  if (snapFiles.length === 0 && logFiles.length === 0) {
    throw new MigrateError(`${snapDir}: no ZooKeeper snapshot (snapshot.<zxid>) or txn log (log.<zxid>) here`, true);
  }
  const warnings: string[] = [];
  const { chosen, skipped } = newestUsableSnapshot(snapFiles, opts.progress?.loading);
  const start = chosen ? startFromSnapshot(chosen) : startFromLogsAlone(snapDir, logFiles, skipped, warnings);

  // the newest log starting at or before the snapshot straddles it; with none, all of them
  let startIdx = 0;
  for (let i = 0; i < logFiles.length; i++) if (logFiles[i]!.zxid <= start.zxid) startIdx = i;
  const replay = new LogReplay(start, opts.progress?.replaying);
  opts.progress?.replaying?.({ done: 0, total: null, unit: 'txns' });
  const logs = logFiles.slice(startIdx).map((lf, i, read) => replay.log(lf, i === read.length - 1, warnings));
  opts.progress?.replaying?.({ done: replay.replayed, total: replay.replayed, unit: 'txns' });

  const { tree, sessions } = start;
  const last = replay.last;
  const orphans = removeOrphanEphemerals(tree, sessions, last);
  if (orphans.length > 0)
    warnings.push(
      `${orphans.length} ephemeral node(s) of sessions that no longer exist were deleted, as ZooKeeper does on start: ${orphans.slice(0, 5).join(', ')}${orphans.length > 5 ? ', ...' : ''}`,
    );
  warnings.push(...logsEndEarly(start, last));
  const sessionList = [...sessions].map(([id, timeoutMs]) => ({ id, timeoutMs })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const report: ImportReport = {
    source: { snapDir, logDir },
    snapshot: start.report,
    skippedSnapshots: skipped,
    logs,
    txnsReplayed: replay.replayed,
    replayConflicts: replay.conflicts,
    lastZxid: hex(last),
    nodes: tree.nodeCount,
    sessions: sessionList.length,
    ephemerals: tree.ephemeralCount,
    containers: tree.containers.size,
    ttlNodes: tree.ttls.size,
    orphanEphemeralsRemoved: orphans,
    digest: digestVerdict(start.digest, replay.txnDigests, replay.fuzzyUntil),
    warnings,
  };
  if (tree.lastProcessedZxid !== last) tree.lastProcessedZxid = last;
  return { tree, sessions: sessionList, report };
}

function digestVerdict(snap: SnapshotDigestCheck | null, txns: DigestReport['txns'], fuzzyUntil: number): DigestReport {
  const base = { snapshot: snap, txns, fuzzyUntil: hex(fuzzyUntil) };
  const fuzzyNote =
    txns.fuzzyMismatches > 0
      ? ` (${txns.fuzzyMismatches} difference(s) inside the fuzzy window up to ${hex(fuzzyUntil)}, where the snapshot already held later txns, as expected)`
      : '';
  if (snap?.result === 'mismatch') {
    return {
      ...base,
      result: 'mismatch',
      message: `at zxid ${snap.zxid} ZooKeeper's snapshot digest is ${snap.expected}, the imported tree's is ${snap.actual}`,
    };
  }
  if (txns.firstMismatch) {
    const m = txns.firstMismatch;
    return {
      ...base,
      result: 'mismatch',
      message: `${txns.mismatched} txn(s) leave a different tree than ZooKeeper's: first at zxid ${m.zxid}, ZooKeeper's digest ${m.expected}, the imported tree's ${m.actual}`,
    };
  }
  const checks: string[] = [];
  if (snap?.result === 'match') checks.push(`the snapshot digest at ${snap.zxid}`);
  if (txns.compared > 0) checks.push(`${txns.compared} txn digest(s), the last at ${txns.last!.zxid}`);
  if (checks.length === 0) {
    return {
      ...base,
      result: 'unverified',
      message:
        snap?.result === 'not-reached'
          ? "not verified: the logs end before the snapshot digest's zxid"
          : 'not verified: ZooKeeper recorded no digest to compare with (zookeeper.digest.enabled=false, or ZooKeeper before 3.6)',
    };
  }
  return { ...base, result: 'match', message: `equal to ZooKeeper's: ${checks.join(' and ')}${fuzzyNote}` };
}

/** Ark files in DIR/ark-v1 (a target that holds any is refused without --force). */
function existingArkFiles(dataDir: string): string[] {
  const sub = join(dataDir, DATA_SUBDIR);
  if (!existsSync(sub)) return [];
  return readdirSync(sub).map((f) => join(sub, f));
}

/** Imports a ZooKeeper data dir and writes it as a new Ark data dir. */
export async function migrateFromZooKeeper(opts: MigrateOptions): Promise<MigrateReport> {
  const target = resolve(opts.dataDir);
  if (existsSync(target) && !statSync(target).isDirectory()) throw new MigrateError(`--data-dir ${opts.dataDir}: not a directory`, true);
  // never into the data dir of a running server (--force would delete the log it writes)
  const lock = lockDataDirs(target, target, 'ark migrate');
  try {
    return await migrateLocked(opts, target);
  } finally {
    lock.release();
  }
}

async function migrateLocked(opts: MigrateOptions, target: string): Promise<MigrateReport> {
  const zkHere = join(target, 'version-2');
  if (existsSync(zkHere) && readdirSync(zkHere).some((f) => parseSnapName(f) !== null || parseLogName(f) !== null)) {
    throw new MigrateError(
      `--data-dir ${opts.dataDir} holds a ZooKeeper data dir (version-2/): write the Ark data dir somewhere else`,
      true,
    );
  }
  const existing = existingArkFiles(target);
  if (existing.length > 0 && !opts.force) {
    throw new MigrateError(
      `--data-dir ${opts.dataDir} is not empty (${existing.length} file(s) in ${join(target, DATA_SUBDIR)}, e.g. ${basename(existing[0]!)}): ` +
        'migrate into an empty directory, or pass --force to replace its contents',
      true,
    );
  }
  const { tree, sessions, report } = importZooKeeper(opts);
  if (report.digest.result === 'mismatch') {
    if (!opts.force)
      throw new MigrateError(`digest check failed: ${report.digest.message}; nothing was written (pass --force to import anyway)`);
    report.warnings.push(`digest check failed and --force was given: imported anyway (${report.digest.message})`);
  }
  // only Ark's own files go (a leftover log segment after our snapshot would be replayed on top of it)
  const replaced = existingArkFiles(target).filter((f) => /^(snapshot|log)\./.test(basename(f)));
  for (const f of replaced) rmSync(f, { force: true });
  const dd = new DataDir(target, target, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 20 });
  try {
    dd.prepare();
  } catch (e) {
    if (e instanceof DataDirError) throw new MigrateError(`--data-dir ${opts.dataDir}: ${e.message}`, true);
    throw e;
  }
  const info = await dd.writeSnapshot(tree, sessions, {
    gzip: false,
    now: opts.now ?? Date.now(),
    ...(opts.progress?.writing ? { onProgress: opts.progress.writing } : {}),
  });
  return {
    ...report,
    target: { dataDir: target, snapshot: info.file, bytes: info.bytes, zxid: hex(info.zxid), replaced: replaced.length },
  };
}
