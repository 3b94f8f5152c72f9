// The client's public value types: create modes, multi ops and their results, watch events; and
// their translation to and from the wire records of src/wire/protocol.ts (chroot applied). PURE.
import type { KeeperError } from '../util/errors.js';
import {
  CreateFlag,
  EventType,
  KeeperState,
  OPEN_ACL_UNSAFE,
  OpCode,
  type ACL,
  type CreateRequest,
  type MultiOp,
  type OpResult as WireOpResult,
  type Stat,
} from '../wire/protocol.js';
import { badArguments, errorFor } from './errors.js';
import { prependChroot, stripChroot, validatePath } from './paths.js';

/** Bytes for a znode: a string is UTF-8; null means "no data" (ZooKeeper keeps null apart from empty). */
export type Data = Buffer | Uint8Array | string | null;

export function toBuffer(d: Data | undefined): Buffer | null {
  if (d === null || d === undefined) return null;
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (Buffer.isBuffer(d)) return d;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** ZooKeeper's CreateMode (the wire flags). */
export const CreateMode = CreateFlag;
export type CreateMode = (typeof CreateFlag)[keyof typeof CreateFlag];

export function isSequential(mode: CreateMode): boolean {
  return (
    mode === CreateMode.PERSISTENT_SEQUENTIAL ||
    mode === CreateMode.EPHEMERAL_SEQUENTIAL ||
    mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL
  );
}
export function isTtl(mode: CreateMode): boolean {
  return mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

const TTL_MAX_MS = 0xffffffffff;

export interface CreateSpec {
  /** default CreateMode.PERSISTENT */
  mode?: CreateMode;
  /** default OPEN_ACL_UNSAFE (world:anyone, all permissions) */
  acl?: ACL[];
  /** required with the *_WITH_TTL modes: the node goes once it has had no children for this long */
  ttlMs?: number;
}

/** The opcode and request record of a create (create/create2, createContainer or createTTL). */
export function createRequest(
  serverPath: string,
  clientPath: string,
  data: Data | undefined,
  spec: CreateSpec,
  withStat: boolean,
): { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; req: CreateRequest } {
  const mode = spec.mode ?? CreateMode.PERSISTENT;
  if (!Object.values(CreateMode).includes(mode)) throw badArguments(`unknown create mode ${String(mode)}`, clientPath);
  validatePath(clientPath, isSequential(mode));
  const acl = spec.acl ?? OPEN_ACL_UNSAFE;
  if (acl.length === 0) throw badArguments('an empty ACL list', clientPath);
  const req: CreateRequest = { path: serverPath, data: toBuffer(data), acl, flags: mode, ttl: -1 };
  if (isTtl(mode)) {
    const ttl = spec.ttlMs;
    // EphemeralType.TTL: the TTL shares the ephemeralOwner field with flag bits, 40 bits remain
    if (ttl === undefined || !Number.isSafeInteger(ttl) || ttl <= 0 || ttl > TTL_MAX_MS)
      throw badArguments(`a TTL mode needs 0 < ttlMs <= ${TTL_MAX_MS}`, clientPath);
    req.ttl = ttl;
    return { type: OpCode.createTTL, req };
  }
  if (spec.ttlMs !== undefined) throw badArguments('ttlMs is only for the *_WITH_TTL create modes', clientPath);
  if (mode === CreateMode.CONTAINER) return { type: OpCode.createContainer, req };
  return { type: withStat ? OpCode.create2 : OpCode.create, req };
}

// ---------- multi ----------

/** One op of a transaction (multi). Build them with Op.create / Op.delete / Op.setData / Op.check. */
export type TxnOp =
  | { op: 'create'; path: string; data: Data; spec: CreateSpec }
  | { op: 'delete'; path: string; version: number }
  | { op: 'setData'; path: string; data: Data; version: number }
  | { op: 'check'; path: string; version: number };

/** One op of a multiRead. Build them with Op.getData / Op.getChildren. */
export type ReadOp = { op: 'getData'; path: string } | { op: 'getChildren'; path: string };

export const Op = {
  create(path: string, data: Data = null, spec: CreateSpec = {}): TxnOp {
    return { op: 'create', path, data, spec };
  },
  /** version -1 matches any version */
  delete(path: string, version = -1): TxnOp {
    return { op: 'delete', path, version };
  },
  setData(path: string, data: Data, version = -1): TxnOp {
    return { op: 'setData', path, data, version };
  },
  /** succeeds only while the node is at this version */
  check(path: string, version: number): TxnOp {
    return { op: 'check', path, version };
  },
  getData(path: string): ReadOp {
    return { op: 'getData', path };
  },
  getChildren(path: string): ReadOp {
    return { op: 'getChildren', path };
  },
} as const;

/** The outcome of one op of a multi / multiRead. */
export type OpResult =
  | { type: 'create'; path: string; stat: Stat | null }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'getData'; data: Buffer | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  /** code 0 (Ok) marks an op that would have succeeded in a transaction that failed as a whole */
  | { type: 'error'; code: number; error: KeeperError | null };

export function toWireTxnOp(op: TxnOp, chroot: string | null): MultiOp {
  // delete("/") is never chrooted (ZooKeeper.delete: root cannot be deleted, even in a chroot)
  const server = op.op === 'delete' && op.path === '/' ? '/' : prependChroot(chroot, op.path);
  switch (op.op) {
    case 'create':
      return createRequest(server, op.path, op.data, op.spec, false);
    case 'delete':
      validatePath(op.path);
      return { type: OpCode.delete, req: { path: server, version: op.version } };
    case 'setData':
      validatePath(op.path);
      return { type: OpCode.setData, req: { path: server, data: toBuffer(op.data), version: op.version } };
    case 'check':
      validatePath(op.path);
      return { type: OpCode.check, req: { path: server, version: op.version } };
  }
}

export function toWireReadOp(op: ReadOp, chroot: string | null): MultiOp {
  validatePath(op.path);
  const req = { path: prependChroot(chroot, op.path), watch: false };
  return op.op === 'getData' ? { type: OpCode.getData, req } : { type: OpCode.getChildren, req };
}

export function fromWireResult(r: WireOpResult, chroot: string | null, clientPath: string | undefined): OpResult {
  switch (r.type) {
    case OpCode.create:
      return { type: 'create', path: stripChroot(chroot, r.path), stat: null };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { type: 'create', path: stripChroot(chroot, r.path), stat: r.stat };
    case OpCode.delete:
      return { type: 'delete' };
    case OpCode.check:
      return { type: 'check' };
    case OpCode.setData:
      return { type: 'setData', stat: r.stat };
    case OpCode.getData:
      return { type: 'getData', data: r.data, stat: r.stat };
    case OpCode.getChildren:
      return { type: 'getChildren', children: r.children };
    case OpCode.error:
      return { type: 'error', code: r.err, error: r.err === 0 ? null : errorFor(r.err, clientPath) };
  }
}

// ---------- watch events ----------

export type EventTypeName =
  | 'None'
  | 'NodeCreated'
  | 'NodeDeleted'
  | 'NodeDataChanged'
  | 'NodeChildrenChanged'
  | 'DataWatchRemoved'
  | 'ChildWatchRemoved'
  | 'PersistentWatchRemoved';
export type KeeperStateName =
  | 'SyncConnected'
  | 'Disconnected'
  | 'Expired'
  | 'Closed'
  | 'AuthFailed'
  | 'ConnectedReadOnly'
  | 'SaslAuthenticated';

/**
 * What a Watcher receives. Node events carry the client path (chroot stripped) and the zxid of
 * the change (-1 for events the client makes itself). A watcher whose watch ends because the
 * session expired, the client closed or SASL failed gets one last event: type 'None', state
 * 'Expired', 'Closed' or 'AuthFailed', path ''.
 */
export interface WatchedEvent {
  type: EventTypeName;
  state: KeeperStateName;
  path: string;
  zxid: number;
}

export type Watcher = (event: WatchedEvent) => void;

const eventNames = new Map<number, EventTypeName>([
  [EventType.None, 'None'],
  [EventType.NodeCreated, 'NodeCreated'],
  [EventType.NodeDeleted, 'NodeDeleted'],
  [EventType.NodeDataChanged, 'NodeDataChanged'],
  [EventType.NodeChildrenChanged, 'NodeChildrenChanged'],
  [EventType.DataWatchRemoved, 'DataWatchRemoved'],
  [EventType.ChildWatchRemoved, 'ChildWatchRemoved'],
  [EventType.PersistentWatchRemoved, 'PersistentWatchRemoved'],
]);
const stateNames = new Map<number, KeeperStateName>([
  [KeeperState.SyncConnected, 'SyncConnected'],
  [KeeperState.Disconnected, 'Disconnected'],
  [KeeperState.Expired, 'Expired'],
  [KeeperState.Closed, 'Closed'],
  [KeeperState.AuthFailed, 'AuthFailed'],
  [KeeperState.ConnectedReadOnly, 'ConnectedReadOnly'],
]);

export function eventTypeName(type: number): EventTypeName | null {
  return eventNames.get(type) ?? null;
}
export function keeperStateName(state: number): KeeperStateName {
  return stateNames.get(state) ?? 'SyncConnected';
}
