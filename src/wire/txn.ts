// Transactions: what the leader decides once (zxid, time, sequential names, session ids, TTL
// owners) and every replica, recovery and restore replays. Encoded in ZooKeeper's own txn
// records (TxnHeader + CreateTxn / DeleteTxn / SetDataTxn / ... , zookeeper.jute "txn" module)
// so that the storage layer, backups and imports of Apache ZooKeeper data dirs share one codec.
import { JuteReader, type JuteWriter } from './jute.js';
import { OpCode, readACLs, writeACLs, type ACL } from './protocol.js';
import { ErrorCode, KeeperError } from '../util/errors.js';
import { readSubtreeNodes, writeSubtreeNodes, type SubtreeNode } from './subtree.js';

export interface TxnHeader {
  sessionId: bigint;
  cxid: number;
  zxid: number;
  time: number;
  type: number;
}

export const CONTAINER_OWNER = -0x8000000000000000n; // Long.MIN_VALUE
/** TTL nodes: high byte 0xFF, two reserved bytes, TTL in ms in the low 40 bits (EphemeralType.TTL). */
export const TTL_MAX_MS = 2 ** 40 - 1;
export function ttlOwner(ttlMs: number): bigint {
  return BigInt.asIntN(64, (0xffn << 56n) | BigInt(ttlMs));
}
export function ownerTtlMs(owner: bigint): number | null {
  const u = BigInt.asUintN(64, owner);
  if (u >> 56n !== 0xffn) return null;
  return Number(u & 0xffffffffffn);
}
export function isContainerOwner(owner: bigint): boolean {
  return owner === CONTAINER_OWNER;
}
/** A session id or node owner as ZooKeeper prints one: 0x and unsigned hex. */
export function hexId(id: bigint): string {
  return `0x${BigInt.asUintN(64, id).toString(16)}`;
}
/** A real session owns it (not 0, not a container, not a TTL node). */
export function isEphemeralOwner(owner: bigint): boolean {
  return owner !== 0n && owner !== CONTAINER_OWNER && ownerTtlMs(owner) === null;
}

export type Txn =
  | {
      type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL;
      path: string;
      data: Buffer | null;
      acl: ACL[];
      ephemeralOwner: bigint;
      parentCVersion: number;
    }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer; path: string }
  | { type: typeof OpCode.setData; path: string; data: Buffer | null; version: number }
  | { type: typeof OpCode.setACL; path: string; acl: ACL[]; version: number }
  | { type: typeof OpCode.check; path: string; version: number }
  | { type: typeof OpCode.multi; txns: Txn[] }
  | { type: typeof OpCode.error; err: number }
  | { type: typeof OpCode.createSession; timeOutMs: number }
  | { type: typeof OpCode.closeSession; paths2Delete: string[] }
  /**
   * Ark's subtree restore: `path` and its descendants become exactly `nodes` (counters as prep
   * decided them), created at this txn's zxid and time; parentCVersion: path's parent's cversion after it
   */
  | { type: typeof OpCode.restoreSubtree; path: string; parentCVersion: number; nodes: SubtreeNode[] };

export function writeTxnHeader(w: JuteWriter, h: TxnHeader): void {
  w.longBig(h.sessionId).int(h.cxid).long(h.zxid).long(h.time).int(h.type);
}
export function readTxnHeader(r: JuteReader): TxnHeader {
  return { sessionId: r.longBig(), cxid: r.int(), zxid: r.long(), time: r.long(), type: r.int() };
}

export function writeTxnBody(w: JuteWriter, t: Txn): void {
  switch (t.type) {
    case OpCode.create:
    case OpCode.create2:
      // CreateTxn{path, data, acl, ephemeral, parentCVersion}
      w.string(t.path).buffer(t.data);
      writeACLs(w, t.acl);
      w.bool(t.ephemeralOwner !== 0n).int(t.parentCVersion);
      return;
    case OpCode.createContainer:
      w.string(t.path).buffer(t.data);
      writeACLs(w, t.acl);
      w.int(t.parentCVersion);
      return;
    case OpCode.createTTL:
      w.string(t.path).buffer(t.data);
      writeACLs(w, t.acl);
      w.int(t.parentCVersion).long(ownerTtlMs(t.ephemeralOwner) ?? 0);
      return;
    case OpCode.delete:
    case OpCode.deleteContainer:
      w.string(t.path);
      return;
    case OpCode.setData:
      w.string(t.path).buffer(t.data).int(t.version);
      return;
    case OpCode.setACL:
      w.string(t.path);
      writeACLs(w, t.acl);
      w.int(t.version);
      return;
    case OpCode.check:
      w.string(t.path).int(t.version);
      return;
    case OpCode.multi: {
      // MultiTxn{vector<Txn{type, buffer data}>}
      w.int(t.txns.length);
      for (const s of t.txns) {
        // each op's body is a jute buffer: its length first, patched once it is written in place
        w.int(s.type);
        const at = w.reserveInt();
        writeTxnBody(w, s);
        w.patchInt(at, w.length - at - 4);
      }
      return;
    }
    case OpCode.error:
      w.int(t.err);
      return;
    case OpCode.createSession:
      w.int(t.timeOutMs);
      return;
    case OpCode.closeSession:
      w.stringVector(t.paths2Delete);
      return;
    case OpCode.restoreSubtree:
      w.string(t.path).int(t.parentCVersion);
      writeSubtreeNodes(w, t.nodes);
      return;
  }
}

/** sessionId is the TxnHeader's clientId: ephemeral CreateTxns name their owner through it. */
export function readTxnBody(r: JuteReader, type: number, sessionId: bigint): Txn {
  switch (type) {
    case OpCode.create:
    case OpCode.create2: {
      const path = r.string();
      const data = copyOrNull(r.bufferOrNull());
      const acl = readACLs(r) ?? [];
      const ephemeral = r.bool();
      // CreateTxnV0 (pre-3.x) lacks parentCVersion; -1 means "increment" on apply
      const parentCVersion = r.remaining >= 4 ? r.int() : -1;
      return { type, path, data, acl, ephemeralOwner: ephemeral ? sessionId : 0n, parentCVersion };
    }
    case OpCode.createContainer: {
      const path = r.string();
      const data = copyOrNull(r.bufferOrNull());
      const acl = readACLs(r) ?? [];
      return { type, path, data, acl, ephemeralOwner: CONTAINER_OWNER, parentCVersion: r.int() };
    }
    case OpCode.createTTL: {
      const path = r.string();
      const data = copyOrNull(r.bufferOrNull());
      const acl = readACLs(r) ?? [];
      const parentCVersion = r.int();
      return { type, path, data, acl, ephemeralOwner: ttlOwner(r.long()), parentCVersion };
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, path: r.string() };
    case OpCode.setData:
      return { type, path: r.string(), data: copyOrNull(r.bufferOrNull()), version: r.int() };
    case OpCode.setACL: {
      const path = r.string();
      const acl = readACLs(r) ?? [];
      return { type, path, acl, version: r.int() };
    }
    case OpCode.check:
      return { type, path: r.string(), version: r.int() };
    case OpCode.multi: {
      const subs =
        r.vector((sr) => {
          const t = sr.int();
          const body = sr.buffer();
          return readTxnBody(new JuteReader(body), t, sessionId);
        }, 8) ?? [];
      return { type, txns: subs };
    }
    case OpCode.error:
      return { type, err: r.int() };
    case OpCode.createSession:
      return { type, timeOutMs: r.int() };
    case OpCode.closeSession:
      return { type, paths2Delete: r.remaining >= 4 ? r.stringVector() : [] };
    case OpCode.restoreSubtree: {
      const path = r.string();
      const parentCVersion = r.int();
      return { type, path, parentCVersion, nodes: readSubtreeNodes(r) };
    }
  }
  throw new KeeperError(ErrorCode.MarshallingError, undefined, { cause: new Error(`unknown txn type ${type}`) });
}

/** Data as ZooKeeper keeps it: null stays null (a client reads back length -1), bytes are copied out of the frame. */
function copyOrNull(b: Buffer | null): Buffer | null {
  return b === null ? null : Buffer.from(b);
}
