// A txn agrees with the request prep made it from. Prep (prep.ts) decides once what every replica
// will apply: the path a sequential create gets, the version a change sets, one txn per op of a
// multi. A txn that says something else than its request is logged and replicated as it is, and
// each op's reply is matched to it by position; so the core checks the txn as it leaves prep
// (ServerCore.prepWrite), before anything is written, and stops on a mismatch (AssertionError).
// O(1) per op; messages are built only when a check fails.
import { assert } from '../util/errors.js';
import { OpCode, type CreateRequest, type MultiOp, type Request } from '../wire/protocol.js';
import { hexId, isEphemeralOwner, type Txn } from '../wire/txn.js';
import { createMode, sequenceSuffix } from './prep.js';

/** Asserts that `txn`, made by prep for `request` of `sessionId`, says what the request asked. */
export function assertTxnAgrees(request: Request | MultiOp, txn: Txn, sessionId: bigint): void {
  if (txn.type === OpCode.error) return; // refused: nothing of the request was decided
  assert(txn.type === request.type, () => `prep made a txn of type ${txn.type} for a request of type ${request.type}`);
  // same type, so request.req is the record that type reads (the casts below say which)
  switch (txn.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      createAgrees(request.req as CreateRequest, txn, sessionId);
      return;
    case OpCode.delete:
      samePath(request.req as { path: string }, txn.path);
      return;
    case OpCode.setData:
    case OpCode.setACL:
    case OpCode.check:
      samePath(request.req as { path: string }, txn.path);
      versionAgrees(request.req as { path: string; version: number }, txn.version);
      return;
    case OpCode.multi: {
      const ops = (request.req as { ops: MultiOp[] }).ops;
      assert(txn.txns.length === ops.length, () => `prep made ${txn.txns.length} txns for a multi of ${ops.length} ops`);
      for (const [i, op] of ops.entries()) assertTxnAgrees(op, txn.txns[i]!, sessionId);
      return;
    }
    case OpCode.restoreSubtree: {
      const req = request.req as { path: string; nodes: unknown[] };
      samePath(req, txn.path);
      assert(txn.nodes.length === req.nodes.length, () => `prep made ${txn.nodes.length} nodes for a restore of ${req.nodes.length}`);
      return;
    }
    default:
      // closeSession: the session's ephemerals, checked where it applies (tree/invariants.ts)
      return;
  }
}

function samePath(req: { path: string }, path: string): void {
  assert(path === req.path, () => `prep made a txn for ${path} from a request for ${req.path}`);
}

/** -1 asks for no version: anything goes; else the change sets the one asked for, plus one. */
function versionAgrees(req: { path: string; version: number }, version: number): void {
  assert(
    req.version === -1 || version === ((req.version + 1) | 0),
    () => `prep made a txn setting version ${version} of ${req.path} from a request expecting version ${req.version}`,
  );
}

/**
 * The path is the request's, with a sequential one's suffix being the parent's cversion before
 * the create (the txn raises it by one). An ephemeral is owned by the session and nothing else
 * is; the opcode decides, as in prep (createContainer with any flags makes a container).
 */
function createAgrees(req: CreateRequest, txn: Extract<Txn, { ephemeralOwner: bigint }>, sessionId: bigint): void {
  const mode = createMode(req.flags);
  const path = mode.sequential ? req.path + sequenceSuffix(txn.parentCVersion - 1) : req.path;
  assert(
    txn.path === path,
    () =>
      `prep made a create of ${txn.path} (parent cversion ${txn.parentCVersion}) from a request for ${req.path} with flags ${req.flags}: expected ${path}`,
  );
  const ephemeral = mode.ephemeral && (txn.type === OpCode.create || txn.type === OpCode.create2);
  const owner = txn.ephemeralOwner;
  assert(
    ephemeral ? owner === sessionId : !isEphemeralOwner(owner),
    () =>
      `prep made a create of ${txn.path} owned by ${hexId(owner)} from a${ephemeral ? 'n ephemeral' : ' persistent'} request of session ${hexId(sessionId)}`,
  );
}
