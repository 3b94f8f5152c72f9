// Online subtree restore (POST /commands/restore?path=/app): the backup's subtree becomes one
// restoreSubtree request that this server sends to its own client port, as a client of it with
// the admin's digest credentials. So it takes the path every write takes: a follower forwards it
// to the leader, the leader's prep decides it against the state it sees (its pending changes
// included) into one txn, Zab commits it, and every member applies it at the same zxid between
// the same two txns; clients see the old subtree or the new one, never a mix. The txn is logged,
// snapshotted with the tree, archived and replayed as any other (DataTree.apply).
//
// Limit: the request is one client frame, so it must fit jute.maxbuffer (1 MiB - 1 by default,
// as ZooKeeper reads it): over that it is refused here, before anything changes, saying by how much.
import { JuteWriter } from '../wire/jute.js';
import { OpCode, writeRequest, type Request } from '../wire/protocol.js';
import { ZooKeeperClient } from '../client/zookeeper.js';
import { KeeperError, ErrorCode } from '../util/errors.js';
import { readBackupAsync, checkedBody } from '../backup/format.js';
import { subtreeNodes } from '../backup/subtree.js';

export interface SubtreeRestoreOutcome {
  zxid: number;
  backupZxid: number;
  path: string;
  nodes: number;
  ephemeralsSkipped: number;
}

export interface SubtreeRestoreTarget {
  /** the plain client port of this server, and the address to reach it at */
  host: string;
  port: number | null;
  juteMaxBufferBytes: number;
  /** `user:password`, the digest credentials the AdminServer accepted */
  credentials: string;
}

/** The request's size as a client frame (length prefix excluded, as jute.maxbuffer counts). */
export function requestBytes(request: Request): number {
  const w = new JuteWriter(1024);
  w.int(0).int(request.type);
  writeRequest(w, request);
  return w.length;
}

export async function restoreSubtreeLive(raw: Buffer, path: string, target: SubtreeRestoreTarget): Promise<SubtreeRestoreOutcome> {
  const name = 'the uploaded backup';
  checkedBody(name, raw); // a damaged upload is refused before anything changes
  const b = await readBackupAsync(name, raw);
  const { nodes, ephemeralsSkipped } = subtreeNodes(b.snapshot.tree, path);
  const request: Request = { type: OpCode.restoreSubtree, req: { path, nodes } };
  const bytes = requestBytes(request);
  if (bytes > target.juteMaxBufferBytes)
    throw new Error(
      `the subtree ${path} (${nodes.length} znodes) is ${bytes} bytes as one txn, over jute.maxbuffer (${target.juteMaxBufferBytes}): a live subtree restore is one txn; raise jute.maxbuffer on every member, restore a smaller path, or restore offline (ark restore FILE --data-dir D --path ${path})`,
    );
  if (target.port === null)
    throw new Error('a live subtree restore goes through the plain client port, and this server has none (only secureClientPort)');
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const client = new ZooKeeperClient(`${host}:${target.port}`, {
    sessionTimeoutMs: 30_000,
    requestBytesMax: target.juteMaxBufferBytes,
  });
  try {
    await client.waitForConnected({ timeoutMs: 10_000 }).catch((e: Error) => {
      throw new Error(`cannot reach this server's client port ${host}:${target.port} (is it serving?): ${e.message}`);
    });
    await client.addAuth('digest', target.credentials);
    const zxid = await client.restoreSubtree(path, nodes);
    return { zxid, backupZxid: b.snapshot.tree.lastProcessedZxid, path, nodes: nodes.length, ephemeralsSkipped };
  } catch (e) {
    if (e instanceof KeeperError) throw new Error(`the server refused the subtree restore of ${path}: ${refusal(e)}`);
    throw e;
  } finally {
    await client.close().catch(() => undefined);
  }
}

function refusal(e: KeeperError): string {
  switch (e.code) {
    case ErrorCode.NoNode:
      return `its parent does not exist on the server (create it first)`;
    case ErrorCode.NoAuth:
      return 'these credentials do not have ALL permission on /';
    case ErrorCode.NoChildrenForEphemerals:
      return 'its parent is an ephemeral node';
    case ErrorCode.BadArguments:
      return 'the path may not be restored by path (/, /zookeeper) or the subtree is malformed';
    case ErrorCode.SessionClosedRequireSaslAuth:
      // the restore is sent as a client with the admin's digest credentials: a server that lets in
      // only clients of other schemes refuses it (a whole-tree online restore runs in-process)
      return 'this server enforces client authentication (enforce.auth.enabled / sessionRequireClientSASLAuth) and a live subtree restore authenticates by digest only: restore the subtree offline (ark restore FILE --data-dir D --path P), or add digest to enforce.auth.schemes';
    default:
      return e.message;
  }
}
