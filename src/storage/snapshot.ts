// Ark snapshot format (pure encode / decode). A snapshot is a consistent image of the tree at one
// zxid, taken while txns keep applying (DataTree capture, copy-on-write), so recovery is
// "load the snapshot, replay the log after its zxid" with no fuzzy window to reconcile.
//
//   header   "ARKS" magic, int32 format version, int64 zxid, int64 time (ms)
//   sessions vector of {int64 id, int32 timeoutMs}
//   records  byte tag: 1 = ACL list {int32 index, vector<ACL>} (defined before first use)
//                      2 = node {ustring path, buffer data, int32 aclIndex, StatPersisted}
//                      0 = end
//   trailer  int64 node count, int32 digest version, int64 tree digest (ZooKeeper's algorithm),
//            uint32 crc32 of every byte before it
// Nodes come parent first (pre-order). The file may be gzip-compressed as a whole (.gz).
import { createGunzip, crc32, gunzip, gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import { assert } from '../util/errors.js';
import { readACLs, readStatPersisted, writeACLs, type ACL } from '../wire/protocol.js';
import { DataTree, type Capture, type ZNode } from '../tree/datatree.js';
import { DIGEST_VERSION, addDigest } from '../tree/digest.js';
import type { OnProgress } from '../util/progress.js';

/**
 * Gunzips on the thread pool into one buffer allocated up front from the gzip trailer's size
 * (ISIZE: the length mod 2^32), so no turn of the event loop copies the whole result at once, as
 * zlib.gunzip's final concat of every output chunk does (about half a second for 180 MB).
 */
export function gunzipAsync(raw: Buffer): Promise<Buffer> {
  const size = raw.length >= 18 ? raw.readUInt32LE(raw.length - 4) : 0;
  // ISIZE wraps past 4 GiB and a damaged trailer may say anything: zlib's own way then
  if (size === 0 || size > 2 ** 31) return promisify(gunzip)(raw);
  return new Promise((resolve, reject) => {
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    const z = createGunzip();
    z.on('data', (c: Buffer) => {
      if (at + c.length > size) {
        z.destroy(new Error(`more data than the gzip trailer's size ${size}`));
        return;
      }
      c.copy(out, at);
      at += c.length;
    });
    z.on('error', reject);
    z.on('end', () => (at === size ? resolve(out) : reject(new Error(`${at} bytes, the gzip trailer says ${size}`))));
    z.end(raw);
  });
}
export const SNAP_MAGIC = 0x41524b53; // "ARKS"
export const SNAP_VERSION = 1;
const TAG_END = 0;
const TAG_ACL = 1;
const TAG_NODE = 2;
const SLICE_BYTES_MAX = 4 * 1024 * 1024;

export class SnapshotCorruptError extends Error {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`${file}: ${what}`);
    this.name = 'SnapshotCorruptError';
  }
}

export interface SessionRecord {
  id: bigint;
  timeoutMs: number;
}

/** Writes a snapshot in slices: next() returns the next chunk, null after the trailer. */
export class SnapshotWriter {
  private readonly capture: Capture;
  /**
   * Depth-first, parent before child: each frame is a written node's children at the capture
   * point, named one at a time (a parent with 250,000 children must not build 250,000 paths in
   * one turn of the event loop).
   */
  private readonly stack: Array<{ prefix: string; names: string[]; next: number }> = [{ prefix: '', names: ['/'], next: 0 }];
  private readonly aclIndex = new Map<ACL[], number>();
  private readonly w = new JuteWriter(1 << 20);
  private crc = 0;
  private count = 0;
  /** the tree's node count at the capture point: what a complete snapshot holds */
  private readonly expected: number;
  private digest = 0n;
  private digestPart = 0;
  private done = false;
  private headerWritten = false;

  /**
   * `live`: write the tree as it is, in one synchronous run (no capture: nothing can change in
   * between); used for SNAP sync while a background snapshot may hold the capture.
   */
  constructor(
    private readonly tree: DataTree,
    private readonly sessions: SessionRecord[],
    private readonly timeMs: number,
    private readonly live = false,
  ) {
    this.capture = live ? { epoch: -1, zxid: tree.lastProcessedZxid, pre: new Map(), removed: new Map() } : tree.beginCapture();
    this.expected = tree.nodes.size;
  }

  get zxid(): number {
    return this.capture.zxid;
  }
  get nodeCount(): number {
    return this.count;
  }
  /** the nodes the snapshot will hold: the tree's count at the capture point */
  get capturedNodes(): number {
    return this.expected;
  }
  get treeDigest(): bigint {
    return this.digest;
  }

  private emit(): Buffer {
    const out = this.w.take();
    this.w.reset();
    this.crc = crc32(out, this.crc);
    return out;
  }

  /** Up to maxNodes more nodes. */
  next(maxNodes: number): Buffer | null {
    if (this.done) return null;
    const w = this.w;
    if (!this.headerWritten) {
      this.headerWritten = true;
      w.int(SNAP_MAGIC).int(SNAP_VERSION).long(this.capture.zxid).long(this.timeMs);
      w.vector(this.sessions, (ww, s) => {
        ww.longBig(s.id).int(s.timeoutMs);
      });
    }
    const pre = this.capture.pre;
    // a slice ends after maxNodes nodes or ~4 MiB, whichever first: large znodes must not make one turn huge
    for (let n = 0; n < maxNodes && this.stack.length > 0 && w.length < SLICE_BYTES_MAX; n++) {
      // no frame on the stack is exhausted: the last name taken pops its frame
      const top = this.stack[this.stack.length - 1]!;
      const path = top.prefix + top.names[top.next++]!;
      if (top.next === top.names.length) this.stack.pop();
      const live = this.tree.nodes.get(path);
      const node = pre.get(path) ?? live;
      if (!node) continue; // unreachable: a path on the stack existed at the capture point
      if (node === live && !this.live) live.snapEpoch = this.capture.epoch;
      this.writeNode(path, node);
      const prefix = path === '/' ? '/' : `${path}/`;
      const kids = node === live ? (live.children ? [...live.children] : []) : this.childrenAtCapture(prefix, path, live);
      if (kids.length > 0) this.stack.push({ prefix, names: kids, next: 0 });
    }
    this.digest = addDigest(this.digest, this.digestPart);
    this.digestPart = 0;
    if (this.stack.length === 0) {
      // every node the tree held at the capture point, each once: a snapshot that misses one (a
      // capture bug) would load as a smaller tree with its own, matching digest
      if (!this.live) this.tree.endCapture();
      this.done = true;
      assert(
        this.count === this.expected,
        `snapshot at 0x${this.capture.zxid.toString(16)} wrote ${this.count} nodes; the tree held ${this.expected} at its capture point`,
      );
      w.byte(TAG_END).long(this.count).int(DIGEST_VERSION).longBig(this.digest);
      const body = this.emit();
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(this.crc >>> 0, 0);
      return Buffer.concat([body, crc]);
    }
    return this.emit();
  }

  /** A changed node's children as they were at the capture point (see Capture.removed). */
  private childrenAtCapture(prefix: string, path: string, live: ZNode | undefined): string[] {
    const { pre, zxid } = this.capture;
    const kids: string[] = [];
    if (live?.children) {
      for (const name of live.children) {
        const child = pre.get(prefix + name) ?? this.tree.nodes.get(prefix + name);
        if (child && child.czxid <= zxid) kids.push(name);
      }
    }
    const removed = this.capture.removed.get(path);
    if (removed) {
      const have = new Set(kids);
      for (const name of removed) {
        // a removed child that existed at the capture point has its pre-image (czxid at or below it)
        const before = pre.get(prefix + name);
        if (have.has(name) || !before || before.czxid > zxid) continue;
        have.add(name);
        kids.push(name);
      }
    }
    return kids;
  }

  private writeNode(path: string, node: ZNode): void {
    const w = this.w;
    let idx = this.aclIndex.get(node.acl);
    if (idx === undefined) {
      idx = this.aclIndex.size;
      this.aclIndex.set(node.acl, idx);
      w.byte(TAG_ACL).int(idx);
      writeACLs(w, node.acl);
    }
    w.byte(TAG_NODE)
      .string(path)
      .latin1Buffer(node.dataBytes)
      .int(idx)
      .long(node.czxid)
      .long(node.mzxid)
      .long(node.ctime)
      .long(node.mtime)
      .int(node.version)
      .int(node.cversion)
      .int(node.aversion)
      .longBig(node.ephemeralOwner)
      .long(node.pzxid);
    this.count++;
    // the digest the tree keeps for the node (the same function of its state at the capture point,
    // see DataTree.digestOf), summed as a number (exact below 2^53) and folded in before it gets there
    this.digestPart += this.tree.digestOf(path, node);
    if (this.digestPart > 4e15) {
      this.digest = addDigest(this.digest, this.digestPart);
      this.digestPart = 0;
    }
  }

  /** Stops early (e.g. on shutdown): the tree stops keeping pre-images. */
  abort(): void {
    if (!this.done && !this.live) this.tree.endCapture();
    this.done = true;
  }
}

/** The whole tree as snapshot bytes, now, synchronously (SNAP sync of a learner). */
export function encodeSnapshotNow(tree: DataTree, sessions: SessionRecord[], timeMs: number): Buffer {
  const w = new SnapshotWriter(tree, sessions, timeMs, true);
  const parts: Buffer[] = [];
  for (let b = w.next(Number.MAX_SAFE_INTEGER); b !== null; b = w.next(Number.MAX_SAFE_INTEGER)) parts.push(b);
  return Buffer.concat(parts);
}

export interface LoadedSnapshot {
  zxid: number;
  timeMs: number;
  sessions: SessionRecord[];
  tree: DataTree;
  nodeCount: number;
  digest: bigint;
}

export function isGzip(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Nodes rebuilt between two progress reports of a synchronous read. */
const PROGRESS_NODES = 50_000;

/** Checks the checksum, rebuilds the tree and proves it by the digest. Throws SnapshotCorruptError. */
export function readSnapshot(file: string, raw: Buffer, onProgress?: OnProgress): LoadedSnapshot {
  let buf = raw;
  if (isGzip(raw)) {
    try {
      buf = gunzipSync(raw);
    } catch (e) {
      throw new SnapshotCorruptError(file, `gzip data is damaged (${(e as Error).message})`);
    }
  }
  const parser = new SnapshotParser(file, buf, onProgress);
  for (;;) {
    const done = parser.step(onProgress ? PROGRESS_NODES : Number.POSITIVE_INFINITY);
    if (done) return done;
  }
}

/**
 * readSnapshot without holding the event loop: the gunzip runs on the thread pool and the tree is
 * rebuilt `nodesPerSlice` nodes per turn, so a server loading a large snapshot (at start-up, in an
 * online restore) still answers /health and its other connections.
 */
export async function readSnapshotAsync(
  file: string,
  raw: Buffer,
  nodesPerSlice = 5_000,
  onProgress?: OnProgress,
): Promise<LoadedSnapshot> {
  let buf = raw;
  if (isGzip(raw)) {
    try {
      buf = await gunzipAsync(raw);
    } catch (e) {
      throw new SnapshotCorruptError(file, `gzip data is damaged (${(e as Error).message})`);
    }
  }
  const parser = new SnapshotParser(file, buf, onProgress);
  for (;;) {
    const done = parser.step(nodesPerSlice);
    if (done) return done;
    await yieldTurn();
  }
}

/** Rebuilds a snapshot's tree a slice at a time: step() until it returns the result. Throws SnapshotCorruptError. */
export class SnapshotParser {
  private readonly r: JuteReader;
  private readonly zxid: number;
  private readonly timeMs: number;
  private readonly sessions: SessionRecord[];
  private readonly tree = new DataTree();
  private readonly acls: ACL[][] = [];
  private count = 0;
  /** the checksum runs along with the parse (over what each step read), so no step holds the loop for all of it */
  private crc = 0;
  private crcAt = 0;
  /** what the trailer says the snapshot holds (for progress only: finish() checks it), null if implausible */
  readonly expectedNodes: number | null;

  constructor(
    private readonly file: string,
    private readonly buf: Buffer,
    private readonly onProgress?: OnProgress,
  ) {
    if (buf.length < 24 + 4) throw new SnapshotCorruptError(file, `only ${buf.length} bytes: not a whole snapshot`);
    if (buf.readInt32BE(0) !== SNAP_MAGIC) throw new SnapshotCorruptError(file, 'not an Ark snapshot (bad magic)');
    const version = buf.readInt32BE(4);
    if (version !== SNAP_VERSION)
      throw new SnapshotCorruptError(file, `snapshot format version ${version}; this Ark reads version ${SNAP_VERSION}`);
    this.r = new JuteReader(buf, 8, buf.length - 4);
    try {
      this.zxid = this.r.long();
      this.timeMs = this.r.long();
      this.sessions = this.r.vector((rr) => ({ id: rr.longBig(), timeoutMs: rr.int() }), 12) ?? [];
    } catch (e) {
      throw this.damaged(`cannot be parsed (${(e as Error).message})`);
    }
    this.expectedNodes = trailerNodeCount(buf);
    onProgress?.({ done: 0, total: this.expectedNodes, unit: 'znodes' });
  }

  /** Reads up to `maxNodes` more nodes; the snapshot once the last is read (and checked), else null. */
  step(maxNodes: number): LoadedSnapshot | null {
    const done = this.checkedStep(maxNodes);
    // outside the parse's error handling: a failing reporter is not a damaged file
    this.onProgress?.({ done: this.count, total: done ? this.count : this.expectedNodes, unit: 'znodes' });
    return done;
  }

  private checkedStep(maxNodes: number): LoadedSnapshot | null {
    try {
      const done = this.read(maxNodes);
      this.checksumUpTo(done ? this.buf.length - 4 : this.r.position);
      if (done && this.crc >>> 0 !== this.buf.readUInt32BE(this.buf.length - 4))
        throw new SnapshotCorruptError(this.file, 'checksum mismatch: the file is damaged');
      return done;
    } catch (e) {
      if (e instanceof SnapshotCorruptError && e.message.endsWith('checksum mismatch: the file is damaged')) throw e;
      throw this.damaged(
        e instanceof SnapshotCorruptError ? e.message.slice(this.file.length + 2) : `cannot be parsed (${(e as Error).message})`,
      );
    }
  }

  private checksumUpTo(end: number): void {
    if (end <= this.crcAt) return;
    this.crc = crc32(this.buf.subarray(this.crcAt, end), this.crc);
    this.crcAt = end;
  }

  /** A file that does not parse is reported as damaged by its checksum when that is what fails. */
  private damaged(what: string): SnapshotCorruptError {
    this.checksumUpTo(this.buf.length - 4);
    const bad = this.crc >>> 0 !== this.buf.readUInt32BE(this.buf.length - 4);
    return new SnapshotCorruptError(this.file, bad ? 'checksum mismatch: the file is damaged' : what);
  }

  private read(maxNodes: number): LoadedSnapshot | null {
    const { r, tree, acls, file } = this;
    for (let n = 0; n < maxNodes; ) {
      const tag = r.byte();
      if (tag === TAG_END) return this.finish();
      if (tag === TAG_ACL) {
        const idx = r.int();
        acls[idx] = tree.internACL(readACLs(r) ?? []);
        continue;
      }
      if (tag !== TAG_NODE) throw new SnapshotCorruptError(file, `unknown record tag ${tag} at offset ${r.position - 1}`);
      const path = r.string();
      const data = r.latin1OrNull();
      const acl = acls[r.int()];
      if (!acl) throw new SnapshotCorruptError(file, `node ${path} uses an ACL that was not defined`);
      const ok = tree.loadNode(path, data, acl, readStatPersisted(r));
      if (!ok) throw new SnapshotCorruptError(file, `node ${path} comes before its parent`);
      this.count++;
      n++;
    }
    return null;
  }

  private finish(): LoadedSnapshot {
    const { r, tree, file, count } = this;
    const nodeCount = r.long();
    const digestVersion = r.int();
    const digest = r.longBig();
    if (nodeCount !== count) throw new SnapshotCorruptError(file, `trailer says ${nodeCount} nodes, the file holds ${count}`);
    if (digestVersion !== DIGEST_VERSION) throw new SnapshotCorruptError(file, `digest version ${digestVersion} unknown`);
    tree.finishLoad(this.zxid);
    if (tree.digest !== digest)
      throw new SnapshotCorruptError(
        file,
        `tree digest ${tree.digest} differs from the recorded ${digest}: the tree was not rebuilt exactly`,
      );
    return { zxid: this.zxid, timeMs: this.timeMs, sessions: this.sessions, tree, nodeCount, digest };
  }
}

/**
 * The node count in a snapshot's trailer (TAG_END, int64 count, int32 digest version, int64
 * digest, uint32 crc: the count is 24 bytes from the end), read before parsing so that loading
 * can say "N of M znodes". Only a hint: a damaged file may say anything, and the parse checks it.
 */
export function trailerNodeCount(buf: Buffer): number | null {
  if (buf.length < 24 + 28) return null;
  const n = Number(buf.readBigInt64BE(buf.length - 24));
  return buf[buf.length - 25] === TAG_END && n >= 0 && n <= buf.length ? n : null;
}

/** int32 at `at`, a jute length: -1 (null) counts as 0 bytes; any other negative value is not a snapshot */
function lengthAt(buf: Buffer, at: number): number {
  const n = buf.readInt32BE(at);
  return n === -1 ? 0 : n;
}

/** A StatPersisted on disk: czxid, mzxid, ctime, mtime (8 each), version, cversion, aversion (4 each), ephemeralOwner, pzxid (8 each). */
const STAT_PERSISTED_BYTES = 60;

/**
 * Counts the node records of a snapshot as its (uncompressed) bytes stream by, without rebuilding
 * anything: `ark backup create` says "N of M znodes" while a backup downloads. Only for progress:
 * bytes that do not parse stop the count, and the download's own check says what is wrong.
 */
export class SnapshotNodeCounter {
  nodes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** bytes needed before the next record can be measured */
  private need = 1;
  private header = true;
  private stopped = false;

  feed(chunk: Buffer): void {
    if (this.stopped) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.need) return;
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    let at = 0;
    for (;;) {
      const step = this.measure(buf, at);
      if (step === null) break;
      if (step <= 0) {
        this.need = -step;
        break;
      }
      at += step;
    }
    buf = buf.subarray(at);
    this.pending = buf.length > 0 ? [buf] : [];
    this.pendingBytes = buf.length;
  }

  /** The length of the record at `at` (a node counted), -(bytes needed) when incomplete, null once stopped. */
  private measure(buf: Buffer, at: number): number | null {
    if (this.stopped) return null;
    const avail = buf.length - at;
    if (this.header) {
      // magic, version, zxid, time, then the sessions: a vector of {int64 id, int32 timeout}
      if (avail < 28) return -28;
      if (buf.readInt32BE(at) !== SNAP_MAGIC) return this.stop();
      const len = 28 + 12 * lengthAt(buf, at + 24);
      if (len < 28) return this.stop();
      if (avail < len) return -len;
      this.header = false;
      return len;
    }
    if (avail < 1) return -1;
    const tag = buf[at];
    if (tag === TAG_NODE) {
      if (avail < 5) return -5;
      const path = lengthAt(buf, at + 1);
      if (path < 0) return this.stop();
      if (avail < 9 + path) return -(9 + path);
      const data = lengthAt(buf, at + 5 + path);
      if (data < 0) return this.stop();
      const len = 9 + path + data + 4 + STAT_PERSISTED_BYTES;
      if (avail < len) return -len;
      this.nodes++;
      return len;
    }
    if (tag === TAG_ACL) {
      // index, then a vector of {int32 perms, string scheme, string id}
      if (avail < 9) return -9;
      const count = lengthAt(buf, at + 5);
      if (count < 0) return this.stop();
      let len = 9;
      for (let i = 0; i < count; i++) {
        if (avail < len + 8) return -(len + 8);
        const scheme = lengthAt(buf, at + len + 4);
        if (scheme < 0 || avail < len + 12 + scheme) return scheme < 0 ? this.stop() : -(len + 12 + scheme);
        const id = lengthAt(buf, at + len + 8 + scheme);
        if (id < 0) return this.stop();
        len += 12 + scheme + id;
      }
      if (avail < len) return -len;
      return len;
    }
    return this.stop(); // TAG_END (the count is complete) or not a snapshot
  }

  private stop(): null {
    this.stopped = true;
    return null;
  }
}

export function snapshotName(zxid: number, gzip: boolean): string {
  return `snapshot.${zxid.toString(16).padStart(16, '0')}${gzip ? '.gz' : ''}`;
}

export function parseSnapshotName(name: string): number | null {
  const m = /^snapshot\.([0-9a-f]{16})(\.gz)?$/.exec(name);
  return m ? parseInt(m[1]!, 16) : null;
}
