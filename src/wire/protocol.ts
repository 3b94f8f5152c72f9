// Opcodes, constants and records of ZooKeeper's client protocol (zookeeper.jute, ZooDefs.OpCode).
import type { JuteReader, JuteWriter } from './jute.js';
import { ErrorCode, KeeperError } from '../util/errors.js';
import { readSubtreeNodes, writeSubtreeNodes, type SubtreeNode } from './subtree.js';

export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  /** Ark's own: replace a subtree with a backup's, as one txn (src/wire/subtree.ts; README, Subtree restore) */
  restoreSubtree: 1000,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];
const opNames = new Map<number, string>(Object.entries(OpCode).map(([k, v]) => [v, k]));
export function opName(op: number): string {
  return opNames.get(op) ?? `unknown(${op})`;
}

/** Special xids (ClientCnxn). */
export const Xid = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export const KeeperState = {
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Closed: 7,
  Expired: -112,
} as const;

/** WatcherType for removeWatches / checkWatches. */
export const WatcherType = { Children: 1, Data: 2, Any: 3, Persistent: 4, PersistentRecursive: 5 } as const;
/** AddWatchMode. */
export const AddWatchMode = { Persistent: 0, PersistentRecursive: 1 } as const;

/** CreateMode flags. */
export const CreateFlag = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;

export interface Id {
  scheme: string;
  id: string;
}
export interface ACL {
  perms: number;
  id: Id;
}

export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

export const OPEN_ACL_UNSAFE: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
export const READ_ACL_UNSAFE: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];

// ---------- shared record codecs ----------

/** A null scheme or id (kazoo sends "" as null, e.g. Id("auth", "")) reads as ""; fixupACL judges it. */
export function readACL(r: JuteReader): ACL {
  const perms = r.int();
  const scheme = r.stringOrNull() ?? '';
  const id = r.stringOrNull() ?? '';
  return { perms, id: { scheme, id } };
}
export function writeACL(w: JuteWriter, a: ACL): void {
  w.int(a.perms).string(a.id.scheme).string(a.id.id);
}
/** ACL = perms(4) + two strings (4 + 4) at least. */
export function readACLs(r: JuteReader): ACL[] | null {
  return r.vector(readACL, 12);
}
export function writeACLs(w: JuteWriter, acls: readonly ACL[] | null): void {
  w.vector(acls, writeACL);
}

export function writeStat(w: JuteWriter, s: Stat): void {
  w.long(s.czxid)
    .long(s.mzxid)
    .long(s.ctime)
    .long(s.mtime)
    .int(s.version)
    .int(s.cversion)
    .int(s.aversion)
    .longBig(s.ephemeralOwner)
    .int(s.dataLength)
    .int(s.numChildren)
    .long(s.pzxid);
}
/** zookeeper.jute's StatPersisted: what snapshots store of a node's Stat (dataLength and numChildren are derived). */
export type StatPersisted = Omit<Stat, 'dataLength' | 'numChildren'>;

/** Reads a StatPersisted record (snapshots: ZooKeeper's and Ark's). */
export function readStatPersisted(r: JuteReader): StatPersisted {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.longBig(),
    pzxid: r.long(),
  };
}

export function readStat(r: JuteReader): Stat {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.longBig(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  };
}

// ---------- handshake ----------

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** absent in very old clients; present (1 byte) since 3.4 */
  readOnly: boolean;
}
export function readConnectRequest(r: JuteReader): ConnectRequest {
  const protocolVersion = r.int();
  const lastZxidSeen = r.long();
  const timeOut = r.int();
  const sessionId = r.longBig();
  const passwd = Buffer.from(r.buffer());
  const readOnly = r.remaining >= 1 ? r.bool() : false;
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly };
}
export function writeConnectRequest(w: JuteWriter, c: ConnectRequest): void {
  w.int(c.protocolVersion).long(c.lastZxidSeen).int(c.timeOut).longBig(c.sessionId).buffer(c.passwd).bool(c.readOnly);
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  readOnly: boolean;
}
export function writeConnectResponse(w: JuteWriter, c: ConnectResponse): void {
  w.int(c.protocolVersion).int(c.timeOut).longBig(c.sessionId).buffer(c.passwd).bool(c.readOnly);
}
export function readConnectResponse(r: JuteReader): ConnectResponse {
  const protocolVersion = r.int();
  const timeOut = r.int();
  const sessionId = r.longBig();
  const passwd = Buffer.from(r.buffer());
  const readOnly = r.remaining >= 1 ? r.bool() : false;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly };
}

// ---------- requests ----------

export interface CreateRequest {
  path: string;
  data: Buffer | null;
  acl: ACL[] | null;
  flags: number;
  ttl: number;
}
export interface PathVersion {
  path: string;
  version: number;
}
export interface PathWatch {
  path: string;
  watch: boolean;
}
export interface SetDataRequest {
  path: string;
  data: Buffer | null;
  version: number;
}
export interface SetACLRequest {
  path: string;
  acl: ACL[] | null;
  version: number;
}
export interface SetWatchesRequest {
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}
export interface PathType {
  path: string;
  type: number;
}
export interface AuthPacket {
  type: number;
  scheme: string;
  auth: Buffer;
}
export interface ReconfigRequest {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: number;
}

/** One op of a multi: only the ops ZooKeeper allows inside multi / multiRead. */
export type MultiOp =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; req: CreateRequest }
  | { type: typeof OpCode.delete | typeof OpCode.check; req: PathVersion }
  | { type: typeof OpCode.setData; req: SetDataRequest }
  | { type: typeof OpCode.getData | typeof OpCode.getChildren; req: PathWatch };

export type Request =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; req: CreateRequest }
  | { type: typeof OpCode.delete | typeof OpCode.check; req: PathVersion }
  | { type: typeof OpCode.exists | typeof OpCode.getData | typeof OpCode.getChildren | typeof OpCode.getChildren2; req: PathWatch }
  | { type: typeof OpCode.setData; req: SetDataRequest }
  | {
      type: typeof OpCode.getACL | typeof OpCode.sync | typeof OpCode.getEphemerals | typeof OpCode.getAllChildrenNumber;
      req: { path: string };
    }
  | { type: typeof OpCode.setACL; req: SetACLRequest }
  | { type: typeof OpCode.multi | typeof OpCode.multiRead; req: { ops: MultiOp[] } }
  | { type: typeof OpCode.setWatches | typeof OpCode.setWatches2; req: SetWatchesRequest }
  | { type: typeof OpCode.addWatch; req: { path: string; mode: number } }
  | { type: typeof OpCode.removeWatches | typeof OpCode.checkWatches; req: PathType }
  | { type: typeof OpCode.auth; req: AuthPacket }
  | { type: typeof OpCode.reconfig; req: ReconfigRequest }
  | { type: typeof OpCode.sasl; req: { token: Buffer } }
  | { type: typeof OpCode.ping | typeof OpCode.closeSession | typeof OpCode.whoAmI; req: null }
  | { type: typeof OpCode.restoreSubtree; req: RestoreSubtreeRequest };

/** Ark's restoreSubtree: make `path` and its descendants exactly `nodes` (path's own node first). */
export interface RestoreSubtreeRequest {
  path: string;
  nodes: SubtreeNode[];
}

export interface RequestHeader {
  xid: number;
  type: number;
}

function readCreate(r: JuteReader, ttl: boolean): CreateRequest {
  const path = r.string();
  const data = r.bufferOrNull();
  const acl = readACLs(r);
  const flags = r.int();
  return { path, data: data === null ? null : Buffer.from(data), acl, flags, ttl: ttl ? r.long() : -1 };
}
function readPathVersion(r: JuteReader): PathVersion {
  return { path: r.string(), version: r.int() };
}
function readPathWatch(r: JuteReader): PathWatch {
  return { path: r.string(), watch: r.bool() };
}
function readSetData(r: JuteReader): SetDataRequest {
  const path = r.string();
  const data = r.bufferOrNull();
  return { path, data: data === null ? null : Buffer.from(data), version: r.int() };
}

/** MultiHeader{type, done, err}; the list ends with {-1, true, -1}. */
function readMultiOps(r: JuteReader, readOnly: boolean): MultiOp[] {
  const ops: MultiOp[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int(); // err, unused in requests
    if (done) break;
    ops.push(readMultiOp(r, type, readOnly));
  }
  return ops;
}

/** What a multi may hold (ZooKeeper's MultiOperationRecord): writes and checks; a multiRead, reads. */
const MULTI_OPS: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.check,
  OpCode.setData,
]);
const MULTI_READ_OPS: ReadonlySet<number> = new Set([OpCode.getData, OpCode.getChildren]);

function readMultiOp(r: JuteReader, type: number, readOnly: boolean): MultiOp {
  // each op's record is the one it has on its own (readRequest), for the ops the sets allow
  if ((readOnly ? MULTI_READ_OPS : MULTI_OPS).has(type)) return readRequest(type, r) as MultiOp;
  throw new KeeperError(ErrorCode.Unimplemented, undefined, {
    cause: new Error(`op ${opName(type)} not allowed in ${readOnly ? 'multiRead' : 'multi'}`),
  });
}

function readSetWatches(r: JuteReader, v2: boolean): SetWatchesRequest {
  const relativeZxid = r.long();
  const dataWatches = r.stringVector();
  const existWatches = r.stringVector();
  const childWatches = r.stringVector();
  const persistentWatches = v2 ? r.stringVector() : [];
  const persistentRecursiveWatches = v2 ? r.stringVector() : [];
  return { relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches };
}

/**
 * Decodes the record that follows a RequestHeader. Unknown opcodes throw Unimplemented
 * (the connection answers with that code; ZooKeeper does the same).
 */
export function readRequest(type: number, r: JuteReader): Request {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { type, req: readCreate(r, false) };
    case OpCode.createTTL:
      return { type, req: readCreate(r, true) };
    case OpCode.delete:
    case OpCode.check:
      return { type, req: readPathVersion(r) };
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { type, req: readPathWatch(r) };
    case OpCode.setData:
      return { type, req: readSetData(r) };
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getEphemerals:
    case OpCode.getAllChildrenNumber:
      return { type, req: { path: r.string() } };
    case OpCode.setACL: {
      const path = r.string();
      const acl = readACLs(r);
      return { type, req: { path, acl, version: r.int() } };
    }
    case OpCode.multi:
      return { type, req: { ops: readMultiOps(r, false) } };
    case OpCode.multiRead:
      return { type, req: { ops: readMultiOps(r, true) } };
    case OpCode.setWatches:
      return { type, req: readSetWatches(r, false) };
    case OpCode.setWatches2:
      return { type, req: readSetWatches(r, true) };
    case OpCode.addWatch:
      return { type, req: { path: r.string(), mode: r.int() } };
    case OpCode.removeWatches:
    case OpCode.checkWatches:
      return { type, req: { path: r.string(), type: r.int() } };
    case OpCode.auth: {
      const t = r.int();
      const scheme = r.string();
      return { type, req: { type: t, scheme, auth: Buffer.from(r.buffer()) } };
    }
    case OpCode.reconfig: {
      const joiningServers = r.stringOrNull();
      const leavingServers = r.stringOrNull();
      const newMembers = r.stringOrNull();
      return { type, req: { joiningServers, leavingServers, newMembers, curConfigId: r.long() } };
    }
    case OpCode.sasl:
      return { type, req: { token: Buffer.from(r.buffer()) } };
    case OpCode.ping:
    case OpCode.closeSession:
    case OpCode.whoAmI:
      return { type, req: null };
    case OpCode.restoreSubtree: {
      const path = r.string();
      return { type, req: { path, nodes: readSubtreeNodes(r) } };
    }
  }
  throw new KeeperError(ErrorCode.Unimplemented, undefined, { cause: new Error(`unknown opcode ${type}`) });
}

// ---------- request encoding (used by our client and tests) ----------

export function writeCreate(w: JuteWriter, c: CreateRequest, ttl: boolean): void {
  w.string(c.path).buffer(c.data);
  writeACLs(w, c.acl);
  w.int(c.flags);
  if (ttl) w.long(c.ttl);
}

function writeMultiOp(w: JuteWriter, op: MultiOp): void {
  // MultiHeader{type, done=false, err=-1}, then the op's own request record
  w.int(op.type).bool(false).int(-1);
  writeRequest(w, op);
}

export function writeRequest(w: JuteWriter, request: Request): void {
  switch (request.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      writeCreate(w, request.req, false);
      return;
    case OpCode.createTTL:
      writeCreate(w, request.req, true);
      return;
    case OpCode.delete:
    case OpCode.check:
      w.string(request.req.path).int(request.req.version);
      return;
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      w.string(request.req.path).bool(request.req.watch);
      return;
    case OpCode.setData:
      w.string(request.req.path).buffer(request.req.data).int(request.req.version);
      return;
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getEphemerals:
    case OpCode.getAllChildrenNumber:
      w.string(request.req.path);
      return;
    case OpCode.setACL:
      w.string(request.req.path);
      writeACLs(w, request.req.acl);
      w.int(request.req.version);
      return;
    case OpCode.multi:
    case OpCode.multiRead:
      for (const op of request.req.ops) writeMultiOp(w, op);
      w.int(-1).bool(true).int(-1);
      return;
    case OpCode.setWatches:
    case OpCode.setWatches2: {
      const s = request.req;
      w.long(s.relativeZxid).stringVector(s.dataWatches).stringVector(s.existWatches).stringVector(s.childWatches);
      if (request.type === OpCode.setWatches2) w.stringVector(s.persistentWatches).stringVector(s.persistentRecursiveWatches);
      return;
    }
    case OpCode.addWatch:
      w.string(request.req.path).int(request.req.mode);
      return;
    case OpCode.removeWatches:
    case OpCode.checkWatches:
      w.string(request.req.path).int(request.req.type);
      return;
    case OpCode.auth:
      w.int(request.req.type).string(request.req.scheme).buffer(request.req.auth);
      return;
    case OpCode.reconfig:
      w.string(request.req.joiningServers).string(request.req.leavingServers).string(request.req.newMembers).long(request.req.curConfigId);
      return;
    case OpCode.sasl:
      w.buffer(request.req.token);
      return;
    case OpCode.ping:
    case OpCode.closeSession:
    case OpCode.whoAmI:
      return;
    case OpCode.restoreSubtree:
      w.string(request.req.path);
      writeSubtreeNodes(w, request.req.nodes);
      return;
  }
}

// ---------- responses ----------

export interface ReplyHeader {
  xid: number;
  zxid: number;
  err: number;
}

/** Result of one op inside a multi / multiRead response. */
export type OpResult =
  | { type: typeof OpCode.create; path: string }
  | { type: typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; path: string; stat: Stat }
  | { type: typeof OpCode.delete | typeof OpCode.check }
  | { type: typeof OpCode.setData; stat: Stat }
  | { type: typeof OpCode.getData; data: Buffer | null; stat: Stat }
  | { type: typeof OpCode.getChildren; children: string[] }
  | { type: typeof OpCode.error; err: number };

/**
 * What a server writes back: an OpResult, or a getData result whose data is still the znode's
 * latin1 string (no copy is made of data that may never fit in the reply).
 */
export type ReplyOpResult = OpResult | { type: typeof OpCode.getData; dataBytes: string | null; stat: Stat };

export function writeOpResults(w: JuteWriter, results: readonly ReplyOpResult[]): void {
  for (const res of results) {
    const err = res.type === OpCode.error ? res.err : 0;
    w.int(res.type).bool(false).int(err);
    switch (res.type) {
      case OpCode.create:
        w.string(res.path);
        break;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        w.string(res.path);
        writeStat(w, res.stat);
        break;
      case OpCode.setData:
        writeStat(w, res.stat);
        break;
      case OpCode.getData:
        if ('dataBytes' in res) w.latin1Buffer(res.dataBytes);
        else w.buffer(res.data);
        writeStat(w, res.stat);
        break;
      case OpCode.getChildren:
        w.stringVector(res.children);
        break;
      case OpCode.error:
        w.int(res.err);
        break;
      case OpCode.delete:
      case OpCode.check:
        break;
    }
  }
  w.int(-1).bool(true).int(-1);
}

export function readOpResults(r: JuteReader): OpResult[] {
  const out: OpResult[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    const err = r.int();
    if (done) return out;
    switch (type) {
      case OpCode.create:
        out.push({ type, path: r.string() });
        break;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        out.push({ type, path: r.string(), stat: readStat(r) });
        break;
      case OpCode.setData:
        out.push({ type, stat: readStat(r) });
        break;
      case OpCode.getData: {
        const d = r.bufferOrNull();
        out.push({ type, data: d === null ? null : Buffer.from(d), stat: readStat(r) });
        break;
      }
      case OpCode.getChildren:
        out.push({ type, children: r.stringVector() });
        break;
      case OpCode.delete:
      case OpCode.check:
        out.push({ type });
        break;
      case OpCode.error:
        r.int();
        out.push({ type, err });
        break;
      default:
        throw new KeeperError(ErrorCode.MarshallingError, undefined, { cause: new Error(`bad multi result type ${type}`) });
    }
  }
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}
