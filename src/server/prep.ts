// The "prep" stage (ZooKeeper's PrepRequestProcessor) as a function: a write request plus the
// state it sees -- the tree and the changes already decided but not yet applied -- becomes a txn
// or a KeeperError. Zxid, time, sequential names and owners are fixed here, once.
import { ErrorCode, KeeperError } from '../util/errors.js';
import {
  CreateFlag,
  OpCode,
  Perms,
  type ACL,
  type CreateRequest,
  type Id,
  type MultiOp,
  type RestoreSubtreeRequest,
} from '../wire/protocol.js';
import type { SubtreeNode } from '../wire/subtree.js';
import { CONTAINER_OWNER, TTL_MAX_MS, isEphemeralOwner, ownerTtlMs, ttlOwner, type Txn } from '../wire/txn.js';
import { checkACL, fixupACL, type ExtraSchemes } from '../tree/acl.js';
import { CONFIG_PATH, QUOTA_PATH, ZOOKEEPER_PATH, type DataTree } from '../tree/datatree.js';
import { parentOf } from '../tree/watches.js';
import { validatePath } from './paths.js';
import { quotaViolation } from '../tree/quota.js';

/** What prep needs of a node: ZooKeeper's ChangeRecord. */
interface ChangeRecord {
  exists: boolean;
  version: number;
  cversion: number;
  aversion: number;
  owner: bigint;
  childCount: number;
  acl: ACL[];
  /** zxid of the txn that made this record; it is dropped once that txn is applied */
  zxid: number;
}

export interface PrepContext {
  sessionId: bigint;
  authInfo: readonly Id[];
  zxid: number;
  time: number;
}

export interface PrepOptions {
  extendedTypesEnabled: boolean;
  /** hard quota limits refuse writes (enforceQuota=true) */
  enforceQuota: boolean;
  /** ACL schemes registered beyond world, digest and ip (sasl, x509) */
  aclSchemes?: ExtraSchemes;
}

const SPECIAL_PATHS = new Set(['/', ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH]);

export class Prep {
  /** decided but not yet applied changes, by path */
  private readonly pending = new Map<string, ChangeRecord>();
  /** (path, zxid) in the order decided, so that applied() pops from the front (outstandingChanges) */
  private readonly order: Array<{ path: string; zxid: number }> = [];
  private orderHead = 0;
  /** changes of the multi being prepared; merged on success, dropped on failure */
  private staged: Map<string, ChangeRecord> | null = null;

  constructor(
    private readonly tree: DataTree,
    private readonly opts: PrepOptions,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  /** After txn `zxid` is applied, the tree itself holds what these records said. */
  applied(zxid: number): void {
    const order = this.order;
    while (this.orderHead < order.length && order[this.orderHead]!.zxid <= zxid) {
      const { path } = order[this.orderHead++]!;
      const rec = this.pending.get(path);
      if (rec && rec.zxid <= zxid) this.pending.delete(path);
    }
    if (this.orderHead > 1024 && this.orderHead * 2 > order.length) {
      order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }

  private record(path: string): ChangeRecord | null {
    const staged = this.staged?.get(path);
    if (staged) return staged.exists ? staged : null;
    const rec = this.pending.get(path);
    if (rec) return rec.exists ? rec : null;
    const node = this.tree.get(path);
    if (!node) return null;
    return {
      exists: true,
      version: node.version,
      cversion: node.cversion,
      aversion: node.aversion,
      owner: node.ephemeralOwner,
      childCount: node.numChildren,
      acl: node.acl,
      zxid: 0,
    };
  }

  private need(path: string): ChangeRecord {
    const rec = this.record(path);
    if (!rec) throw new KeeperError(ErrorCode.NoNode, path);
    return rec;
  }

  private put(path: string, rec: ChangeRecord): void {
    if (this.staged) {
      this.staged.set(path, rec);
    } else {
      this.pending.set(path, rec);
      this.order.push({ path, zxid: rec.zxid });
    }
  }

  /** A write request -> txn. Failures become ErrorTxn / failed MultiTxn by the caller. */
  prepare(type: number, req: unknown, ctx: PrepContext): Txn {
    switch (type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        return this.create(type, req as CreateRequest, ctx);
      case OpCode.delete:
        return this.delete(req as { path: string; version: number }, ctx);
      case OpCode.setData:
        return this.setData(req as { path: string; data: Buffer | null; version: number }, ctx);
      case OpCode.setACL:
        return this.setACL(req as { path: string; acl: ACL[] | null; version: number }, ctx);
      case OpCode.check:
        return this.check(req as { path: string; version: number }, ctx);
      case OpCode.restoreSubtree:
        return this.restoreSubtree(req as RestoreSubtreeRequest, ctx);
    }
    throw new KeeperError(ErrorCode.Unimplemented);
  }

  private create(
    type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL,
    req: CreateRequest,
    ctx: PrepContext,
  ): Txn {
    const flags = req.flags;
    if (flags < 0 || flags > CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL) throw new KeeperError(ErrorCode.BadArguments, req.path);
    const { ttl: isTTL, sequential, ephemeral } = createMode(flags);
    // validateCreateRequest: TTL needs extended types; the ttl must fit the mode
    if (isTTL && !this.opts.extendedTypesEnabled) throw new KeeperError(ErrorCode.Unimplemented, req.path);
    const ttl = type === OpCode.createTTL ? req.ttl : -1;
    if (isTTL ? ttl <= 0 || ttl > TTL_MAX_MS : ttl >= 0) throw new KeeperError(ErrorCode.BadArguments, req.path);
    if (type === OpCode.createTTL && !isTTL) throw new KeeperError(ErrorCode.BadArguments, req.path);
    let path = req.path;
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\0')) throw new KeeperError(ErrorCode.BadArguments, path);
    const parentPath = lastSlash === 0 ? '/' : path.slice(0, lastSlash);
    const acl = fixupACL(path, ctx.authInfo, req.acl, this.opts.aclSchemes);
    const parent = this.need(parentPath);
    checkACL(parent.acl, Perms.CREATE, ctx.authInfo, path);
    const parentCVersion = parent.cversion;
    if (sequential) path += sequenceSuffix(parentCVersion);
    validatePath(path);
    if (this.record(path)) throw new KeeperError(ErrorCode.NodeExists, path);
    if (isEphemeralOwner(parent.owner)) throw new KeeperError(ErrorCode.NoChildrenForEphemerals, path);
    this.checkQuota(path, 1, req.data?.length ?? 0);
    const newCVersion = parentCVersion + 1;
    // the opcode decides the txn and so the owner, as in ZooKeeper: create with the CONTAINER flag
    // makes a plain persistent node, createContainer with any flags a container
    const owner =
      type === OpCode.createContainer ? CONTAINER_OWNER : type === OpCode.createTTL ? ttlOwner(ttl) : ephemeral ? ctx.sessionId : 0n;
    this.put(parentPath, changed(parent, ctx.zxid, { cversion: newCVersion, childCount: parent.childCount + 1 }));
    this.put(path, { exists: true, version: 0, cversion: 0, aversion: 0, owner, childCount: 0, acl, zxid: ctx.zxid });
    return { type, path, data: req.data, acl, ephemeralOwner: owner, parentCVersion: newCVersion };
  }

  private parentForDelete(path: string): string {
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\0') || SPECIAL_PATHS.has(path)) throw new KeeperError(ErrorCode.BadArguments, path);
    return lastSlash === 0 ? '/' : path.slice(0, lastSlash);
  }

  private delete(req: { path: string; version: number }, ctx: PrepContext): Txn {
    const path = req.path;
    const parentPath = this.parentForDelete(path);
    const parent = this.need(parentPath);
    checkACL(parent.acl, Perms.DELETE, ctx.authInfo, path);
    const node = this.need(path);
    checkVersion(node.version, req.version, path);
    if (node.childCount > 0) throw new KeeperError(ErrorCode.NotEmpty, path);
    this.put(parentPath, changed(parent, ctx.zxid, { childCount: parent.childCount - 1 }));
    this.put(path, changed(node, ctx.zxid, { exists: false }));
    return { type: OpCode.delete, path };
  }

  /** Server-initiated removal of an empty container or an expired TTL node (ContainerManager). */
  deleteContainer(path: string, zxid: number): Txn {
    const parentPath = this.parentForDelete(path);
    const node = this.need(path);
    if (node.childCount > 0) throw new KeeperError(ErrorCode.NotEmpty, path);
    if (node.owner !== CONTAINER_OWNER && ownerTtlMs(node.owner) === null) throw new KeeperError(ErrorCode.BadArguments, path);
    const parent = this.need(parentPath);
    this.put(parentPath, changed(parent, zxid, { childCount: parent.childCount - 1 }));
    this.put(path, changed(node, zxid, { exists: false }));
    return { type: OpCode.deleteContainer, path };
  }

  private setData(req: { path: string; data: Buffer | null; version: number }, ctx: PrepContext): Txn {
    validatePath(req.path);
    const node = this.need(req.path);
    checkACL(node.acl, Perms.WRITE, ctx.authInfo, req.path);
    if (this.opts.enforceQuota) this.checkQuota(req.path, 0, (req.data?.length ?? 0) - (this.tree.get(req.path)?.dataLength ?? 0));
    const version = checkVersion(node.version, req.version, req.path);
    this.put(req.path, changed(node, ctx.zxid, { version }));
    return { type: OpCode.setData, path: req.path, data: req.data, version };
  }

  private setACL(req: { path: string; acl: ACL[] | null; version: number }, ctx: PrepContext): Txn {
    validatePath(req.path);
    const acl = fixupACL(req.path, ctx.authInfo, req.acl, this.opts.aclSchemes);
    const node = this.need(req.path);
    checkACL(node.acl, Perms.ADMIN, ctx.authInfo, req.path);
    const version = checkVersion(node.aversion, req.version, req.path);
    this.put(req.path, changed(node, ctx.zxid, { aversion: version, acl }));
    return { type: OpCode.setACL, path: req.path, acl, version };
  }

  private check(req: { path: string; version: number }, ctx: PrepContext): Txn {
    validatePath(req.path);
    const node = this.need(req.path);
    checkACL(node.acl, Perms.READ, ctx.authInfo, req.path);
    return { type: OpCode.check, path: req.path, version: checkVersion(node.version, req.version, req.path) };
  }

  /**
   * Ark's subtree restore: `path` and its descendants become the request's nodes. Needs ALL on "/"
   * (what the AdminServer's restore asks). Each counter is the backup's, but never below the live
   * node's (a version or aversion one above it, so a conditional write prepared before the
   * restore fails; a cversion at least the live one, so the next sequential name is above every
   * name either tree gave out). The parent of `path` counts a create only when `path` is new.
   */
  private restoreSubtree(req: RestoreSubtreeRequest, ctx: PrepContext): Txn {
    const root = req.path;
    checkRestorable(req);
    checkACL(this.need('/').acl, Perms.ALL, ctx.authInfo, root);
    const parentPath = parentOf(root)!;
    const parent = this.need(parentPath);
    if (isEphemeralOwner(parent.owner)) throw new KeeperError(ErrorCode.NoChildrenForEphemerals, root);
    const rootLive = this.record(root) !== null;
    const parentCVersion = rootLive ? parent.cversion : parent.cversion + 1;
    const gone = this.liveUnder(root);
    const kids = new Map<string, number>();
    for (const n of req.nodes) if (n.path !== root) kids.set(parentOf(n.path)!, (kids.get(parentOf(n.path)!) ?? 0) + 1);
    const nodes: SubtreeNode[] = req.nodes.map((n) => {
      const live = this.record(n.path);
      gone.delete(n.path);
      return live === null
        ? n
        : {
            ...n,
            version: Math.max(n.version, (live.version + 1) | 0),
            cversion: Math.max(n.cversion, live.cversion),
            aversion: Math.max(n.aversion, (live.aversion + 1) | 0),
          };
    });
    for (const p of gone) {
      const r = this.record(p);
      if (r) this.put(p, changed(r, ctx.zxid, { exists: false }));
    }
    for (const n of nodes)
      this.put(n.path, {
        exists: true,
        version: n.version,
        cversion: n.cversion,
        aversion: n.aversion,
        owner: n.ephemeralOwner,
        childCount: kids.get(n.path) ?? 0,
        acl: n.acl,
        zxid: ctx.zxid,
      });
    if (!rootLive) this.put(parentPath, changed(parent, ctx.zxid, { cversion: parentCVersion, childCount: parent.childCount + 1 }));
    return { type: OpCode.restoreSubtree, path: root, parentCVersion, nodes };
  }

  /** The paths at or under root as they will be when the txn being prepared applies (tree + pending). */
  private liveUnder(root: string): Set<string> {
    const out = new Set<string>();
    this.tree.walk(root, (p) => {
      out.add(p);
    });
    const prefix = `${root}/`;
    for (const [p, rec] of this.pending) {
      if (p !== root && !p.startsWith(prefix)) continue;
      if (rec.exists) out.add(p);
      else out.delete(p);
    }
    return out;
  }

  /**
   * multi: every op is prepared against the effects of the ones before it. On the first failure
   * the staged changes are dropped, the failed op carries its code, later ops RuntimeInconsistency
   * and earlier ops keep their txns (PrepRequestProcessor.pRequest2TxnMulti); apply reports them.
   */
  multi(ops: readonly MultiOp[], ctx: PrepContext): Txn {
    this.staged = new Map();
    const txns: Txn[] = [];
    let failed = false;
    try {
      for (const op of ops) {
        if (failed) {
          txns.push({ type: OpCode.error, err: ErrorCode.RuntimeInconsistency });
          continue;
        }
        try {
          txns.push(this.prepare(op.type, op.req, ctx));
        } catch (e) {
          if (!(e instanceof KeeperError)) throw e;
          failed = true;
          txns.push({ type: OpCode.error, err: e.code });
        }
      }
      if (!failed) {
        for (const [p, r] of this.staged) {
          this.pending.set(p, r);
          this.order.push({ path: p, zxid: r.zxid });
        }
      }
    } finally {
      this.staged = null;
    }
    return { type: OpCode.multi, txns };
  }

  /** ZooKeeperServer.checkQuota: only hard limits refuse, and only with enforceQuota=true. */
  private checkQuota(path: string, countDiff: number, bytesDiff: number): void {
    if (!this.opts.enforceQuota) return;
    const q = this.tree.quotaFor(path);
    if (!q) return;
    const v = quotaViolation(q.prefix, q.limits, q.usage, countDiff, bytesDiff);
    if (v?.hard) throw new KeeperError(ErrorCode.QuotaExceeded, q.prefix, { cause: new Error(v.message) });
  }

  /** closeSession: the session's ephemerals as they will be when this txn applies. */
  closeSession(sessionId: bigint, zxid: number): Txn {
    const paths = new Set(this.tree.ephemerals.get(sessionId) ?? []);
    for (const [path, rec] of this.pending) {
      // the latest decided state of each path wins: deleted, or re-created by another session
      if (rec.exists && rec.owner === sessionId) paths.add(path);
      else paths.delete(path);
    }
    const sorted = [...paths].sort();
    for (const path of sorted) {
      const node = this.record(path);
      if (!node) continue;
      const parentPath = parentOf(path)!;
      const parent = this.record(parentPath);
      if (parent) this.put(parentPath, changed(parent, zxid, { childCount: parent.childCount - 1 }));
      this.put(path, changed(node, zxid, { exists: false }));
    }
    return { type: OpCode.closeSession, paths2Delete: sorted };
  }
}

/**
 * A copy of a record with some fields changed, made by the txn `zxid`. Written out field by field:
 * V8 builds `{ ...rec, version }` on a slow path, about 0.5 us a time, which was 15% of the
 * core's cost per multi of four setData.
 */
function changed(
  rec: ChangeRecord,
  zxid: number,
  c: Partial<Pick<ChangeRecord, 'exists' | 'version' | 'cversion' | 'aversion' | 'childCount' | 'acl'>>,
): ChangeRecord {
  return {
    exists: c.exists ?? rec.exists,
    version: c.version ?? rec.version,
    cversion: c.cversion ?? rec.cversion,
    aversion: c.aversion ?? rec.aversion,
    owner: rec.owner,
    childCount: c.childCount ?? rec.childCount,
    acl: c.acl ?? rec.acl,
    zxid,
  };
}

/**
 * A subtree restore's request is well formed: a path that may be replaced (not "/", nor under
 * /zookeeper), its own node first, every other node under it with its parent before it, once
 * each, and no node owned by a session (a live restore keeps no ephemerals: their sessions are
 * not this server's). BadArguments otherwise.
 */
export function checkRestorable(req: RestoreSubtreeRequest): void {
  const root = req.path;
  validatePath(root);
  if (root === '/' || root === ZOOKEEPER_PATH || root.startsWith(`${ZOOKEEPER_PATH}/`)) throw new KeeperError(ErrorCode.BadArguments, root);
  if (req.nodes[0]?.path !== root) throw new KeeperError(ErrorCode.BadArguments, root);
  const seen = new Set<string>();
  for (const n of req.nodes) {
    validatePath(n.path);
    if (seen.has(n.path) || (n.path !== root && !(n.path.startsWith(`${root}/`) && seen.has(parentOf(n.path)!))))
      throw new KeeperError(ErrorCode.BadArguments, n.path);
    if (isEphemeralOwner(n.ephemeralOwner)) throw new KeeperError(ErrorCode.BadArguments, n.path);
    seen.add(n.path);
  }
}

/** What a create request's flags ask for (ZooKeeper's CreateMode). */
export function createMode(flags: number): { sequential: boolean; ephemeral: boolean; ttl: boolean } {
  return {
    sequential:
      flags === CreateFlag.PERSISTENT_SEQUENTIAL ||
      flags === CreateFlag.EPHEMERAL_SEQUENTIAL ||
      flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL,
    ephemeral: flags === CreateFlag.EPHEMERAL || flags === CreateFlag.EPHEMERAL_SEQUENTIAL,
    ttl: flags === CreateFlag.PERSISTENT_WITH_TTL || flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL,
  };
}

/** -1 matches any version; returns the next version (PrepRequestProcessor.checkAndIncVersion). */
function checkVersion(current: number, expected: number, path: string): number {
  if (expected !== -1 && expected !== current) throw new KeeperError(ErrorCode.BadVersion, path);
  return (current + 1) | 0;
}

/** String.format("%010d", n): zero-padded to ten characters, sign included. */
export function sequenceSuffix(n: number): string {
  return n < 0 ? `-${String(-n).padStart(9, '0')}` : String(n).padStart(10, '0');
}
