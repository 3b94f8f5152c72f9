// The data tree: znodes with ZooKeeper's Stat, ephemeral / container / TTL bookkeeping and the
// watch registries. apply(header, txn) is the one pure function every replica, recovery and
// restore runs (DataTree.processTxn). Reads never change the tree except for watch registration.
import { ErrorCode, assert } from '../util/errors.js';
import { hexZxid } from '../util/zxid.js';
import { EventType, OpCode, Perms, type ACL, type Stat, type StatPersisted } from '../wire/protocol.js';
import { isContainerOwner, isEphemeralOwner, ownerTtlMs, type Txn, type TxnHeader } from '../wire/txn.js';
import { WatchManager, WatchMode, basename, parentOf, type WatchEvent, type WatcherId } from './watches.js';
import { addDigest, nodeDigest } from './digest.js';
import { assertFitsLive } from './invariants.js';
import { LIMIT_NODE, QUOTA_ROOT, STAT_NODE, StatsTrack, limitPath, quotaViolation, statPath, trimQuotaPath } from './quota.js';

export class ZNode {
  children: Set<string> | null = null;
  /** the snapshot capture that has already written this node (see DataTree.beginCapture) */
  snapEpoch = 0;
  /**
   * The data as a latin1 string: one char per byte, so it round-trips every byte exactly. A
   * string costs its length plus 16 bytes; a Buffer of 100 bytes costs about 200 (the typed-array
   * object around it). With a million znodes that is most of the difference to ZooKeeper.
   */
  dataBytes: string | null;
  /**
   * This node's digest (a crc32, kept as int32 so it stays a small integer) as of its current
   * state, or undefined until first computed: a change then needs one digest computation, not two.
   * Only DataTree sets it, and every change of a node goes through DataTree.change.
   */
  digestCache: number | undefined = undefined;
  constructor(
    data: Buffer | string | null,
    public acl: ACL[],
    public czxid: number,
    public mzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    public ephemeralOwner: bigint,
    public pzxid: number,
  ) {
    this.dataBytes = typeof data === 'string' || data === null ? data : data.toString('latin1');
  }

  /** A copy of the data (writers that can take the latin1 string use dataBytes instead). */
  get data(): Buffer | null {
    return this.dataBytes === null ? null : Buffer.from(this.dataBytes, 'latin1');
  }

  set data(v: Buffer | null) {
    this.dataBytes = v === null ? null : v.toString('latin1');
  }

  get numChildren(): number {
    return this.children?.size ?? 0;
  }

  get dataLength(): number {
    return this.dataBytes?.length ?? 0;
  }

  /**
   * The Stat a client sees (DataNode.copyStat): the stored cversion counts child creates, the
   * visible one is 2*creates - children = creates + deletes; containers and TTL nodes show owner 0.
   */
  stat(): Stat {
    const n = this.numChildren;
    return {
      czxid: this.czxid,
      mzxid: this.mzxid,
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      cversion: this.cversion * 2 - n,
      aversion: this.aversion,
      ephemeralOwner: isEphemeralOwner(this.ephemeralOwner) ? this.ephemeralOwner : 0n,
      dataLength: this.dataLength,
      numChildren: n,
      pzxid: this.pzxid,
    };
  }
}

/** What applying one txn (or one op of a multi) produced, for the reply. */
export type ApplyResult =
  | { type: typeof OpCode.error; err: number }
  | {
      type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL;
      path: string;
      stat: Stat;
    }
  | { type: typeof OpCode.setData | typeof OpCode.setACL; stat: Stat }
  | {
      type:
        | typeof OpCode.delete
        | typeof OpCode.deleteContainer
        | typeof OpCode.check
        | typeof OpCode.createSession
        | typeof OpCode.closeSession
        | typeof OpCode.restoreSubtree;
    }
  | { type: typeof OpCode.multi; results: ApplyResult[] };

/**
 * A consistent image of the tree at one zxid, taken while txns keep applying (copy-on-write):
 * before a node that the snapshot writer has not reached yet changes, its state at the capture
 * point is kept in `pre`; the writer reads `pre` first, then the live node.
 */
export interface Capture {
  readonly epoch: number;
  readonly zxid: number;
  readonly pre: Map<string, ZNode>;
  /**
   * Child names removed since the capture from parents the writer has not reached yet. A kept
   * pre-image does not copy its children (a parent with 200,000 children would stall the event
   * loop on every snapshot): the writer derives them from the live set, dropping children
   * created after the capture (czxid above its zxid), plus these.
   */
  readonly removed: Map<string, string[]>;
}

export const ZOOKEEPER_PATH = '/zookeeper';
export const QUOTA_PATH = '/zookeeper/quota';
export const CONFIG_PATH = '/zookeeper/config';

const OPEN_ACL: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ_ACL: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];

/** How DataTree.apply takes a txn: just decided against this state ('live'), or read back ('replay'). */
export type ApplyMode = 'live' | 'replay';

/** Events of one apply, plus the sessions that a closeSession txn ended. */
export interface ApplyOutput {
  events: WatchEvent[];
  zxid: number;
}

export class DataTree {
  readonly nodes = new Map<string, ZNode>();
  readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  readonly dataWatches = new WatchManager();
  readonly childWatches = new WatchManager();
  /** ACL lists are interned: most nodes share a handful (ZooKeeper's ReferenceCountedACLCache). */
  private readonly aclCache = new Map<string, ACL[]>();
  /** the list internACL returned last (still in aclCache: releaseACL clears it) */
  private lastInterned: ACL[] | null = null;
  private readonly aclRefs = new Map<ACL[], number>();
  lastProcessedZxid = 0;
  /** sum of path + data lengths, ZooKeeper's approximate_data_size (which counts the root as "/": 1) */
  approximateDataSize = 1;
  /** paths that have a zookeeper_limits node (ZooKeeper's quota PathTrie) */
  readonly quotaPaths = new Set<string>();
  /**
   * Soft quota limits only warn: the warnings wait here until the runtime logs them (it drains the
   * serving core's tree after each batch). A list on the tree rather than a callback set on it: a
   * tree swapped in by a snapshot load, a SNAP or a restore then keeps warning without anyone
   * having to remember to hook it up again.
   */
  readonly quotaWarnings: string[] = [];
  /** ZooKeeper's tree digest (AdHash of node digests), current after every txn */
  digest = 0n;
  /**
   * The digest after every txn whose zxid is a multiple of 128, the newest 1024 (ZooKeeper's
   * DataTree digestLog, DIGEST_LOG_INTERVAL / DIGEST_LOG_LIMIT): the hash command shows it, and
   * replicas can be compared by it.
   */
  readonly digestLog: Array<{ zxid: number; digest: bigint }> = [];
  private capture: Capture | null = null;
  private captureEpoch = 0;
  /** set while a subtree restore does its bookkeeping deletes and creates: they must not fire (or consume) watches */
  private quiet = false;

  constructor() {
    this.nodes.set('/', this.newNode(Buffer.alloc(0), OPEN_ACL, 0, 0, 0n));
    this.addSystemNode(ZOOKEEPER_PATH, OPEN_ACL);
    this.addSystemNode(QUOTA_PATH, OPEN_ACL);
    this.addConfigNode();
    this.digest = this.computeDigest();
  }

  /** /zookeeper/config, empty (DataTree.addConfigNode). */
  private addConfigNode(): void {
    this.addSystemNode(CONFIG_PATH, READ_ACL);
    // ZooKeeper sets /zookeeper/config's ACL with version -1, which leaves aversion -1
    this.nodes.get(CONFIG_PATH)!.aversion = -1;
  }

  /**
   * An ensemble member's configuration into /zookeeper/config, as ZKDatabase.initConfigInZKDatabase
   * writes it: DataTree.setData with version -1, the configuration's version (0 for a static one)
   * as mzxid, and the wall time as mtime. Not a txn: each member writes its own from its zoo.cfg
   * (so mtime differs between members); the digest leaves /zookeeper/ out (DigestCalculator).
   */
  setConfigNode(data: Buffer, now: number): void {
    if (!this.nodes.has(CONFIG_PATH)) this.addConfigNode();
    const node = this.nodes.get(CONFIG_PATH)!;
    this.approximateDataSize += data.length - node.dataLength;
    this.change(CONFIG_PATH, node, () => {
      node.data = data;
      node.version = -1;
      node.mzxid = 0;
      node.mtime = now;
    });
  }

  /** The digest recomputed from every node (a load checks it against the stored one). */
  computeDigest(): bigint {
    let d = 0n;
    for (const [path, node] of this.nodes) d = addDigest(d, this.freshDigest(path, node));
    return d;
  }

  // ---------- loading a snapshot ----------

  /**
   * Installs one node read from a snapshot (parents come first). The system nodes exist already
   * and are overwritten. False when the parent is missing.
   */
  loadNode(path: string, data: Buffer | string | null, acl: ACL[], s: StatPersisted): boolean {
    const parentPath = parentOf(path);
    const parent = parentPath === null ? undefined : this.nodes.get(parentPath);
    if (parentPath !== null && !parent) return false;
    const existing = this.nodes.get(path);
    const node = new ZNode(
      data,
      this.retainACL(acl),
      s.czxid,
      s.mzxid,
      s.ctime,
      s.mtime,
      s.version,
      s.cversion,
      s.aversion,
      s.ephemeralOwner,
      s.pzxid,
    );
    // the tree digest kept as nodes come (a node's digest is its own path, data and stat), so a
    // loaded tree needs no second pass over every node
    this.digest = addDigest(this.digest, this.freshDigest(path, node) - (existing ? this.digestOf(path, existing) : 0));
    if (existing) {
      node.children = existing.children;
      this.releaseACL(existing.acl);
      this.approximateDataSize -= path.length + existing.dataLength;
    }
    this.nodes.set(path, node);
    if (parent) this.childSet(parent).add(basename(path));
    this.approximateDataSize += path.length + node.dataLength;
    this.trackOwner(path, s.ephemeralOwner);
    if (parentPath?.startsWith(QUOTA_ROOT) && basename(path) === LIMIT_NODE) this.quotaPaths.add(trimQuotaPath(parentPath));
    return true;
  }

  /** Ephemeral, container and TTL nodes are indexed by their owner field. */
  private trackOwner(path: string, owner: bigint): void {
    if (isEphemeralOwner(owner)) {
      let set = this.ephemerals.get(owner);
      if (!set) {
        set = new Set();
        this.ephemerals.set(owner, set);
      }
      set.add(path);
    } else if (isContainerOwner(owner)) {
      this.containers.add(path);
    } else if (ownerTtlMs(owner) !== null) {
      this.ttls.add(path);
    }
  }

  /** After the last loadNode: the digest is recomputed from what was loaded. */
  finishLoad(zxid: number): void {
    this.lastProcessedZxid = zxid;
  }

  // ---------- snapshot capture (copy-on-write) ----------

  beginCapture(): Capture {
    if (this.capture) throw new Error('a snapshot capture is already running');
    this.capture = { epoch: ++this.captureEpoch, zxid: this.lastProcessedZxid, pre: new Map(), removed: new Map() };
    return this.capture;
  }

  endCapture(): void {
    this.capture = null;
  }

  private noteRemovedChild(parentPath: string, parent: ZNode, name: string): void {
    const cap = this.capture;
    if (!cap || parent.snapEpoch === cap.epoch) return;
    const list = cap.removed.get(parentPath);
    if (list) list.push(name);
    else cap.removed.set(parentPath, [name]);
  }

  /** Called before `node` at `path` changes or goes. */
  private preserve(path: string, node: ZNode): void {
    const cap = this.capture;
    if (!cap || node.snapEpoch === cap.epoch || cap.pre.has(path)) return;
    const copy = new ZNode(
      node.dataBytes,
      node.acl,
      node.czxid,
      node.mzxid,
      node.ctime,
      node.mtime,
      node.version,
      node.cversion,
      node.aversion,
      node.ephemeralOwner,
      node.pzxid,
    );
    copy.digestCache = node.digestCache;
    // children stay with the live node: see Capture.removed
    cap.pre.set(path, copy);
  }

  /** The node's digest computed now (and remembered). */
  private freshDigest(path: string, node: ZNode): number {
    const d = nodeDigest(path, node);
    node.digestCache = d | 0;
    return d;
  }

  /** The node's digest, remembered since its last change (a kept pre-image carries its own). */
  digestOf(path: string, node: ZNode): number {
    const c = node.digestCache;
    return c === undefined ? this.freshDigest(path, node) : c >>> 0;
  }

  /** Runs a change of one existing node, keeping the capture and the digest right. */
  private change(path: string, node: ZNode, f: () => void): void {
    this.preserve(path, node);
    const before = this.digestOf(path, node);
    f();
    this.digest = addDigest(this.digest, this.freshDigest(path, node) - before);
  }

  private addSystemNode(path: string, acl: ACL[]): void {
    const node = this.newNode(Buffer.alloc(0), acl, 0, 0, 0n);
    this.nodes.set(path, node);
    this.childSet(this.nodes.get(parentOf(path)!)!).add(basename(path));
    this.approximateDataSize += path.length;
  }

  private newNode(data: Buffer | null, acl: ACL[], zxid: number, time: number, owner: bigint): ZNode {
    return new ZNode(data, this.retainACL(acl), zxid, zxid, time, time, 0, 0, 0, owner, zxid);
  }

  /** The shared copy of an ACL list (not counted: retainACL counts the nodes using it). */
  internACL(acl: ACL[]): ACL[] {
    // most creates carry the same list as the one before (world:anyone): compare, skip the key
    const last = this.lastInterned;
    if (last !== null && sameACL(last, acl)) return last;
    const key = aclKey(acl);
    let v = this.aclCache.get(key);
    if (!v) {
      v = acl;
      this.aclCache.set(key, v);
    }
    this.lastInterned = v;
    return v;
  }

  private retainACL(acl: ACL[]): ACL[] {
    // already the shared copy (snapshot loading, sharing between nodes): no key to compute
    const c = this.aclRefs.has(acl) ? acl : this.internACL(acl);
    this.aclRefs.set(c, (this.aclRefs.get(c) ?? 0) + 1);
    return c;
  }

  /** A list no node uses any more leaves the cache (ReferenceCountedACLCache). */
  private releaseACL(acl: ACL[]): void {
    const n = (this.aclRefs.get(acl) ?? 1) - 1;
    if (n > 0) {
      this.aclRefs.set(acl, n);
      return;
    }
    this.aclRefs.delete(acl);
    const key = aclKey(acl);
    if (this.aclCache.get(key) === acl) this.aclCache.delete(key);
    if (this.lastInterned === acl) this.lastInterned = null;
  }

  /** every distinct ACL list some znode uses (the web console asks whether a digest id is known) */
  aclLists(): IterableIterator<ACL[]> {
    return this.aclCache.values();
  }

  get aclCacheSize(): number {
    return this.aclCache.size;
  }

  private childSet(node: ZNode): Set<string> {
    if (!node.children) node.children = new Set();
    return node.children;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  /** What ZooKeeper reports as its node count: its map holds the root twice ("" and "/"). */
  get reportedNodeCount(): number {
    return this.nodes.size + 1;
  }

  get ephemeralCount(): number {
    let n = 0;
    for (const s of this.ephemerals.values()) n += s.size;
    return n;
  }

  /** "" is the root too, as in ZooKeeper (whose DataTree keeps the root under both). */
  get(path: string): ZNode | undefined {
    return this.nodes.get(path === '' ? '/' : path);
  }

  // ---------- reads with watch registration (FinalRequestProcessor) ----------

  /** exists: registers an exist watch on a missing node, a data watch on an existing one. */
  statNode(path: string, watcher: WatcherId | null): Stat | null {
    const node = this.get(path);
    if (watcher !== null) this.dataWatches.add(path, watcher, WatchMode.Standard);
    return node ? node.stat() : null;
  }

  addDataWatch(path: string, watcher: WatcherId): void {
    this.dataWatches.add(path, watcher, WatchMode.Standard);
  }
  addChildWatch(path: string, watcher: WatcherId): void {
    this.childWatches.add(path, watcher, WatchMode.Standard);
  }
  /** addWatch: persistent watches sit in both registries, recursive ones only in the data one. */
  addPersistentWatch(path: string, watcher: WatcherId, recursive: boolean): void {
    if (recursive) {
      this.dataWatches.add(path, watcher, WatchMode.PersistentRecursive);
    } else {
      this.dataWatches.add(path, watcher, WatchMode.Persistent);
      this.childWatches.add(path, watcher, WatchMode.Persistent);
    }
  }
  removeWatcher(watcher: WatcherId): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }

  childrenOf(path: string): string[] {
    const node = this.nodes.get(path);
    return node?.children ? [...node.children] : [];
  }

  /** Every descendant of path, not counting path itself (getAllChildrenNumber). */
  countDescendants(path: string): number {
    let n = -1;
    this.walk(path, () => {
      n++;
    });
    return Math.max(n, 0);
  }

  /** Visits path and every descendant, parents first, without recursion (trees can be deep). */
  walk(path: string, visit: (path: string, node: ZNode) => void): void {
    const stack = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const node = this.nodes.get(p);
      if (!node) continue;
      visit(p, node);
      if (node.children) {
        const prefix = p === '/' ? '/' : `${p}/`;
        for (const c of node.children) stack.push(prefix + c);
      }
    }
  }

  // ---------- quotas ----------

  /** The deepest path at or above `path` that has a quota (PathTrie.findMaxPrefix), or null. */
  quotaPrefix(path: string): string | null {
    if (this.quotaPaths.size === 0) return null;
    for (let p: string | null = path; p !== null; p = parentOf(p)) {
      if (p !== '/' && p !== ZOOKEEPER_PATH && this.quotaPaths.has(p)) return p;
    }
    return null;
  }

  /** Limits and usage that govern a change at path, for prep's hard-limit check. */
  quotaFor(path: string): { prefix: string; limits: StatsTrack; usage: StatsTrack } | null {
    const prefix = this.quotaPrefix(path);
    if (prefix === null) return null;
    const limitNode = this.nodes.get(limitPath(prefix));
    const statNode = this.nodes.get(statPath(prefix));
    if (!limitNode || !statNode) return null;
    return { prefix, limits: new StatsTrack(limitNode.data?.toString('utf8')), usage: new StatsTrack(statNode.data?.toString('utf8')) };
  }

  /** Keeps zookeeper_stats current; its data changes without a new zxid, as in ZooKeeper. */
  private updateQuotaUsage(path: string, countDiff: number, bytesDiff: number): void {
    const q = this.quotaFor(path);
    if (!q || (countDiff === 0 && bytesDiff === 0)) return;
    const warn = quotaViolation(q.prefix, q.limits, q.usage, countDiff, bytesDiff);
    // bounded: a replay of many txns past a soft limit (start-up, point-in-time restore) has no one draining it
    if (warn && !warn.hard && this.quotaWarnings.length < 1000)
      this.quotaWarnings.push(`${warn.message}: a soft limit only warns; raise it with setquota, or remove data under ${q.prefix}`);
    q.usage.values.set('count', q.usage.count + countDiff);
    q.usage.values.set('bytes', q.usage.bytes + bytesDiff);
    this.setStatData(q.prefix, q.usage);
  }

  /** When a stats node is created: count the whole subtree (DataTree.updateQuotaForPath). */
  private recountQuota(prefix: string): void {
    let count = 0;
    let bytes = 0;
    this.walk(prefix, (_p, n) => {
      count++;
      bytes += n.dataLength;
    });
    const usage = new StatsTrack();
    usage.values.set('count', count);
    usage.values.set('bytes', bytes);
    this.setStatData(prefix, usage);
  }

  private setStatData(prefix: string, usage: StatsTrack): void {
    const statNode = this.nodes.get(statPath(prefix));
    if (!statNode) return;
    const data = Buffer.from(usage.toString(), 'utf8');
    this.approximateDataSize += data.length - statNode.dataLength;
    this.change(statPath(prefix), statNode, () => {
      statNode.data = data;
    });
  }

  // ---------- apply ----------

  /**
   * Applies one txn. 'replay' (start-up recovery, point-in-time restore, a ZooKeeper import over
   * a fuzzy snapshot) tolerates NoNode / NodeExists as ZooKeeper does. 'live': the txn was just
   * decided against this state, so it must fit it exactly (invariants.ts) and come after every
   * txn applied before; one that does not is a bug and throws AssertionError before the op that
   * does not fit changes anything (a multi's earlier ops have applied: the server stops, and
   * recovery rebuilds the tree from the log).
   */
  apply(hdr: TxnHeader, txn: Txn, events: WatchEvent[], mode: ApplyMode = 'replay'): ApplyResult {
    const live = mode === 'live';
    if (live)
      assert(
        hdr.zxid > this.lastProcessedZxid,
        () => `live txn ${hexZxid(hdr.zxid)} after ${hexZxid(this.lastProcessedZxid)}: zxids must increase`,
      );
    const result = this.applyOne(hdr, txn, events, live);
    if (hdr.zxid > this.lastProcessedZxid) this.lastProcessedZxid = hdr.zxid;
    if (hdr.zxid % 128 === 0) {
      this.digestLog.push({ zxid: hdr.zxid, digest: this.digest });
      if (this.digestLog.length > 1024) this.digestLog.shift();
    }
    return result;
  }

  private applyOne(hdr: TxnHeader, txn: Txn, events: WatchEvent[], live: boolean): ApplyResult {
    if (live) assertFitsLive(this, hdr, txn);
    switch (txn.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        return this.createNode(txn.type, txn.path, txn.data, txn.acl, txn.ephemeralOwner, txn.parentCVersion, hdr.zxid, hdr.time, events);
      case OpCode.delete:
      case OpCode.deleteContainer: {
        const err = this.deleteNode(txn.path, hdr.zxid, events);
        return err ? { type: OpCode.error, err } : { type: txn.type };
      }
      case OpCode.setData: {
        const node = this.nodes.get(txn.path);
        if (!node) return { type: OpCode.error, err: ErrorCode.NoNode };
        const bytesDiff = (txn.data?.length ?? 0) - node.dataLength;
        this.approximateDataSize += bytesDiff;
        this.updateQuotaUsage(txn.path, 0, bytesDiff);
        this.change(txn.path, node, () => {
          node.data = txn.data;
          node.version = txn.version;
          node.mzxid = hdr.zxid;
          node.mtime = hdr.time;
        });
        this.fire(this.dataWatches, txn.path, EventType.NodeDataChanged, node.acl, events);
        return { type: OpCode.setData, stat: node.stat() };
      }
      case OpCode.setACL: {
        const node = this.nodes.get(txn.path);
        if (!node) return { type: OpCode.error, err: ErrorCode.NoNode };
        this.change(txn.path, node, () => {
          const old = node.acl;
          node.acl = this.retainACL(txn.acl);
          this.releaseACL(old);
          node.aversion = txn.version;
        });
        return { type: OpCode.setACL, stat: node.stat() };
      }
      case OpCode.check:
        return { type: OpCode.check };
      case OpCode.multi:
        return this.applyMulti(hdr, txn.txns, events, live);
      case OpCode.error:
        return { type: OpCode.error, err: txn.err };
      case OpCode.createSession:
        return { type: OpCode.createSession };
      case OpCode.closeSession: {
        // the listed paths, then whatever else the session still owns (DataTree.killSession)
        for (const p of txn.paths2Delete) this.deleteNode(p, hdr.zxid, events);
        const rest = this.ephemerals.get(hdr.sessionId);
        if (rest) for (const p of [...rest].sort()) this.deleteNode(p, hdr.zxid, events);
        this.ephemerals.delete(hdr.sessionId);
        return { type: OpCode.closeSession };
      }
      case OpCode.restoreSubtree:
        this.restoreSubtree(hdr, txn, events);
        return { type: OpCode.restoreSubtree };
    }
  }

  /**
   * Ark's subtree restore: `txn.path` and its descendants become exactly `txn.nodes`, created at
   * this txn's zxid and time with the counters prep decided. Done as deletes (deepest first) and
   * creates (parents first) so the digest, a running snapshot capture, ACL counts, owner indexes
   * and quotas stay right; the events are those of a replacement, not of a delete and a create: a
   * node that was there and still is fires NodeDataChanged (and NodeChildrenChanged when its
   * children differ), one that goes NodeDeleted, one that comes NodeCreated, and a parent whose
   * children changed NodeChildrenChanged. So a client watching /app sees it change, never vanish.
   */
  private restoreSubtree(hdr: TxnHeader, txn: Extract<Txn, { type: typeof OpCode.restoreSubtree }>, events: WatchEvent[]): void {
    const root = txn.path;
    const before = new Map<string, { kids: string[]; acl: ACL[] }>();
    this.walk(root, (p, n) => before.set(p, { kids: n.children ? [...n.children].sort() : [], acl: n.acl }));
    const scratch: WatchEvent[] = [];
    this.quiet = true;
    try {
      // walk() visits parents first: reversed, every node goes after its children
      for (const p of [...before.keys()].reverse()) this.deleteNode(p, hdr.zxid, scratch);
      for (const n of txn.nodes) {
        const cv = n.path === root ? txn.parentCVersion : -1;
        this.createNode(OpCode.create, n.path, n.data, n.acl, n.ephemeralOwner, cv, hdr.zxid, hdr.time, scratch);
      }
    } finally {
      this.quiet = false;
    }
    for (const n of txn.nodes) {
      const node = this.nodes.get(n.path);
      if (!node) continue; // replay over a state it does not fit (NoNode): as a create would
      this.change(n.path, node, () => {
        node.version = n.version;
        node.cversion = n.cversion;
        node.aversion = n.aversion;
        node.pzxid = hdr.zxid;
      });
    }
    this.restoreEvents(root, before, events);
  }

  /** The watch events of a subtree replaced: see restoreSubtree. */
  private restoreEvents(root: string, before: ReadonlyMap<string, { kids: string[]; acl: ACL[] }>, events: WatchEvent[]): void {
    const after = new Map<string, string[]>();
    this.walk(root, (p, n) => after.set(p, n.children ? [...n.children].sort() : []));
    const parentPath = parentOf(root);
    const parent = parentPath === null ? undefined : this.nodes.get(parentPath);
    for (const [p, { kids, acl: old }] of before) {
      const now = after.get(p);
      if (now === undefined) {
        const fired = new Set<WatcherId>();
        this.dataWatches.trigger(p, EventType.NodeDeleted, old, events, fired);
        this.childWatches.trigger(p, EventType.NodeDeleted, old, events, new Set(), fired);
        continue;
      }
      const acl = this.nodes.get(p)!.acl;
      this.fire(this.dataWatches, p, EventType.NodeDataChanged, acl, events);
      if (now.join('/') !== kids.join('/')) this.fire(this.childWatches, p, EventType.NodeChildrenChanged, acl, events);
    }
    for (const p of after.keys()) if (!before.has(p)) this.fire(this.dataWatches, p, EventType.NodeCreated, this.nodes.get(p)!.acl, events);
    if (parent && parentPath !== null && before.has(root) !== after.has(root))
      this.fire(this.childWatches, parentPath, EventType.NodeChildrenChanged, parent.acl, events);
  }

  /** DataTree.processTxn for multi: when any op failed, every op reports an error. */
  private applyMulti(hdr: TxnHeader, txns: Txn[], events: WatchEvent[], live: boolean): ApplyResult {
    const failed = txns.some((t) => t.type === OpCode.error);
    const results: ApplyResult[] = [];
    let postFailed = false;
    for (const sub of txns) {
      if (sub.type === OpCode.error) {
        postFailed = true;
        results.push({ type: OpCode.error, err: sub.err });
      } else if (failed) {
        results.push({ type: OpCode.error, err: postFailed ? ErrorCode.RuntimeInconsistency : ErrorCode.Ok });
      } else {
        results.push(this.applyOne(hdr, sub, events, live));
      }
    }
    return { type: OpCode.multi, results };
  }

  private createNode(
    type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL,
    path: string,
    data: Buffer | null,
    acl: ACL[],
    owner: bigint,
    parentCVersion: number,
    zxid: number,
    time: number,
    events: WatchEvent[],
  ): ApplyResult {
    const parentPath = parentOf(path);
    const parent = parentPath === null ? undefined : this.nodes.get(parentPath);
    if (!parent || parentPath === null) return { type: OpCode.error, err: ErrorCode.NoNode };
    const name = basename(path);
    const exists = parent.children?.has(name) ?? false;
    // replaying a fuzzy snapshot's log: a create that finds its node still moves the parent's
    // cversion / pzxid forward (DataTree.processTxn, create with NodeExists)
    if (exists && type !== OpCode.create) return { type: OpCode.error, err: ErrorCode.NodeExists };
    const cv = parentCVersion === -1 ? parent.cversion + 1 : parentCVersion;
    this.change(parentPath, parent, () => {
      if (cv > parent.cversion) {
        parent.cversion = cv;
        parent.pzxid = zxid;
      }
      if (!exists) this.childSet(parent).add(name);
    });
    if (exists) return { type: OpCode.error, err: ErrorCode.NodeExists };
    const node = this.newNode(data, acl, zxid, time, owner);
    this.nodes.set(path, node);
    this.digest = addDigest(this.digest, this.freshDigest(path, node));
    this.approximateDataSize += path.length + (data?.length ?? 0);
    this.trackOwner(path, owner);
    if (parentPath.startsWith(QUOTA_ROOT)) {
      if (name === LIMIT_NODE) this.quotaPaths.add(trimQuotaPath(parentPath));
      if (name === STAT_NODE) this.recountQuota(trimQuotaPath(parentPath));
    }
    this.updateQuotaUsage(path, 1, data?.length ?? 0);
    this.fire(this.dataWatches, path, EventType.NodeCreated, node.acl, events);
    this.fire(this.childWatches, parentPath, EventType.NodeChildrenChanged, parent.acl, events);
    return { type, path, stat: node.stat() };
  }

  private deleteNode(path: string, zxid: number, events: WatchEvent[]): number {
    const parentPath = parentOf(path);
    const parent = parentPath === null ? undefined : this.nodes.get(parentPath);
    if (!parent || parentPath === null) return ErrorCode.NoNode;
    const node = this.nodes.get(path);
    // the parent's pzxid moves even when the child is already gone (replay over a fuzzy snapshot)
    this.change(parentPath, parent, () => {
      if (zxid > parent.pzxid) parent.pzxid = zxid;
      if (node && parent.children?.delete(basename(path))) this.noteRemovedChild(parentPath, parent, basename(path));
    });
    if (!node) return ErrorCode.NoNode;
    this.preserve(path, node);
    this.digest = addDigest(this.digest, -this.digestOf(path, node));
    this.nodes.delete(path);
    this.releaseACL(node.acl);
    this.approximateDataSize -= path.length + node.dataLength;
    if (parentPath.startsWith(QUOTA_ROOT) && basename(path) === LIMIT_NODE) this.quotaPaths.delete(trimQuotaPath(parentPath));
    this.updateQuotaUsage(path, -1, -node.dataLength);
    const owner = node.ephemeralOwner;
    if (isEphemeralOwner(owner)) {
      const set = this.ephemerals.get(owner);
      set?.delete(path);
      if (set && set.size === 0) this.ephemerals.delete(owner);
    } else if (isContainerOwner(owner)) {
      this.containers.delete(path);
    } else if (owner !== 0n) {
      this.ttls.delete(path);
    }
    if (this.quiet) return ErrorCode.Ok;
    const fired = new Set<WatcherId>();
    this.dataWatches.trigger(path, EventType.NodeDeleted, node.acl, events, fired);
    this.childWatches.trigger(path, EventType.NodeDeleted, node.acl, events, new Set(), fired);
    this.fire(this.childWatches, parentPath, EventType.NodeChildrenChanged, parent.acl, events);
    return ErrorCode.Ok;
  }

  private fire(wm: WatchManager, path: string, type: EventType, acl: readonly ACL[], events: WatchEvent[]): void {
    if (this.quiet || !wm.mayFire(path)) return; // most changes have no watcher: no set to allocate
    wm.trigger(path, type, acl, events, new Set());
  }
}

/** One key per distinct ACL list (ids may contain any character, so no ad-hoc separators). */
function sameACL(a: readonly ACL[], b: readonly ACL[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.perms !== y.perms || x.id.scheme !== y.id.scheme || x.id.id !== y.id.id) return false;
  }
  return true;
}

function aclKey(acl: readonly ACL[]): string {
  return JSON.stringify(acl.map((a) => [a.perms, a.id.scheme, a.id.id]));
}
