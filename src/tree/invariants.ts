// What a txn applied on a live server must find in the tree. Prep decided it against this very
// state (this server's, or the leader's, which equals ours at that zxid), so a live create never
// meets its node and always finds its parent at the cversion prep read, a delete finds an empty
// node its parent lists, and so on. Replay over a fuzzy snapshot legitimately meets all of these
// (DataTree.apply tolerates them there); on a live server each is a bug upstream, and applying
// the txn anyway would leave this tree quietly different from the other replicas and from what
// recovery rebuilds. So it stops the server instead (AssertionError), before the op changes anything.
// O(1) per op (a closeSession: per ephemeral it deletes), on the apply path of every write: the
// messages are built only when a check fails.
import { assert } from '../util/errors.js';
import { hexZxid } from '../util/zxid.js';
import { OpCode } from '../wire/protocol.js';
import { hexId, isContainerOwner, isEphemeralOwner, ownerTtlMs, type Txn, type TxnHeader } from '../wire/txn.js';
import { basename, parentOf } from './watches.js';
import type { DataTree, ZNode } from './datatree.js';

/**
 * Asserts that `txn` (a whole txn, or one op of a multi as it comes to apply, after the ops
 * before it) fits the tree it is about to change.
 */
export function assertFitsLive(tree: DataTree, hdr: TxnHeader, txn: Txn): void {
  const z = hdr.zxid;
  switch (txn.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      fitsCreate(tree, z, txn.path, txn.parentCVersion);
      return;
    case OpCode.delete:
    case OpCode.deleteContainer:
      fitsDelete(tree, z, txn.path);
      return;
    case OpCode.setData: {
      const node = existing(tree, z, 'setData', txn.path);
      assert(
        txn.version === nextVersion(node.version),
        () => `${at(z)}: setData ${txn.path} to version ${txn.version}, the node is at ${node.version}`,
      );
      return;
    }
    case OpCode.setACL: {
      const node = existing(tree, z, 'setACL', txn.path);
      assert(
        txn.version === nextVersion(node.aversion),
        () => `${at(z)}: setACL ${txn.path} to aversion ${txn.version}, the node is at ${node.aversion}`,
      );
      return;
    }
    case OpCode.check:
      existing(tree, z, 'check', txn.path);
      return;
    case OpCode.closeSession:
      fitsClose(tree, z, hdr.sessionId, txn.paths2Delete);
      return;
    case OpCode.restoreSubtree:
      fitsRestore(tree, z, txn.path, txn.parentCVersion);
      return;
    default:
      // a multi's ops are checked one by one as they apply; error and createSession change no node
      return;
  }
}

function at(zxid: number): string {
  return `live txn ${hexZxid(zxid)}`;
}

/** Prep's checkAndIncVersion: the version a change sets is the node's, plus one (int32). */
function nextVersion(v: number): number {
  return (v + 1) | 0;
}

function existing(tree: DataTree, zxid: number, op: string, path: string): ZNode {
  const node = tree.nodes.get(path);
  assert(node, () => `${at(zxid)}: ${op} ${path}: no such node`);
  return node;
}

/** The parent is there at the cversion prep read; the node is in neither the map nor the parent's children. */
function fitsCreate(tree: DataTree, zxid: number, path: string, parentCVersion: number): void {
  const parentPath = parentOf(path);
  const parent = parentPath === null ? undefined : tree.nodes.get(parentPath);
  assert(parent, () => `${at(zxid)}: create ${path}: its parent ${parentPath ?? '(none)'} does not exist`);
  const listed = parent.children?.has(basename(path)) ?? false;
  const mapped = tree.nodes.has(path);
  assert(
    !listed && !mapped,
    () => `${at(zxid)}: create ${path}: the node exists (in the node map: ${mapped}, among its parent's children: ${listed})`,
  );
  assert(
    parentCVersion === parent.cversion + 1,
    () => `${at(zxid)}: create ${path} sets its parent's cversion to ${parentCVersion}, the parent is at ${parent.cversion}`,
  );
}

/** The node is there, childless, listed by its parent and by its owner's index. */
function fitsDelete(tree: DataTree, zxid: number, path: string): void {
  const node = existing(tree, zxid, 'delete', path);
  assert(node.numChildren === 0, () => `${at(zxid)}: delete ${path}: it has ${node.numChildren} children`);
  const parent = tree.nodes.get(parentOf(path) ?? '');
  assert(parent?.children?.has(basename(path)), () => `${at(zxid)}: delete ${path}: its parent does not list it`);
  assert(
    ownerIndexed(tree, path, node.ephemeralOwner),
    () => `${at(zxid)}: delete ${path}: the index of its owner ${hexId(node.ephemeralOwner)} does not hold it`,
  );
}

/** Where DataTree.trackOwner keeps the node: its session's ephemerals, the containers, the TTL nodes. */
function ownerIndexed(tree: DataTree, path: string, owner: bigint): boolean {
  if (owner === 0n) return true;
  if (isEphemeralOwner(owner)) return tree.ephemerals.get(owner)?.has(path) ?? false;
  if (isContainerOwner(owner)) return tree.containers.has(path);
  return ownerTtlMs(owner) !== null && tree.ttls.has(path);
}

/**
 * Prep listed the session's ephemerals as they are when this txn applies (its own pending
 * changes included, and a closing session makes no more): exactly what the tree's index holds.
 */
function fitsClose(tree: DataTree, zxid: number, sessionId: bigint, paths: readonly string[]): void {
  const owned = tree.ephemerals.get(sessionId);
  const held = owned?.size ?? 0;
  const stray = paths.find((p) => !(owned?.has(p) ?? false));
  assert(
    paths.length === held && stray === undefined,
    () =>
      `${at(zxid)}: closeSession ${hexId(sessionId)} lists ${paths.length} ephemerals, the session owns ${held}${stray === undefined ? '' : `; ${stray} is not one of them`}`,
  );
}

/**
 * A subtree restore finds its root's parent at the cversion prep read: unchanged when the root is
 * there (it is replaced), one below when the root is new (it is created). Its descendants are
 * replaced whatever they are: prep's view of them is the tree's at this zxid by construction.
 */
function fitsRestore(tree: DataTree, zxid: number, path: string, parentCVersion: number): void {
  const parent = tree.nodes.get(parentOf(path) ?? '');
  assert(parent, () => `${at(zxid)}: restoreSubtree ${path}: its parent does not exist`);
  const expected = tree.nodes.has(path) ? parent.cversion : parent.cversion + 1;
  assert(
    parentCVersion === expected,
    () => `${at(zxid)}: restoreSubtree ${path} sets its parent's cversion to ${parentCVersion}, expected ${expected}`,
  );
}
