// `ark copy`: a live, logical copy of a subtree from one ZooKeeper-protocol service to another
// (Ark or Apache ZooKeeper on either side), for when the data files cannot be reached. It is a
// client: it reads with getData / getACL / getChildren2 and writes with create / setData / setACL.
//
// What a client cannot carry over (and `ark backup` keeps): zxids (czxid/mzxid/pzxid), times,
// versions (dataVersion/cversion/aversion: so the sequence counter of a parent of sequential
// nodes restarts from the copy's own cversion), ephemeral owners and sessions, and the container
// and TTL types (a client sees ephemeralOwner 0 for both, as for a persistent node, so they
// cannot be told apart and become persistent nodes). Nor is it a consistent snapshot: each node
// is read at its own moment, so writes during the copy may or may not be included.
//
// How:
// - Connect strings are `host:port[,host:port...][/path]` (IPv6 in brackets, port 2181 by
//   default); the path is the subtree to read (source) or the path it is copied to (destination).
//   Each side is one session of the full client (copy-session.ts): it fails over between the
//   hosts and reconnects, and a request a lost connection cut off is made again, so a transient
//   disconnect does not stop the copy; a session that expires does (with one line). A copy that
//   cannot start says so once every host of a side has failed an attempt.
// - The source is walked breadth-first (tree-copy.ts); up to `window` nodes are read at once
//   (getData, getACL and getChildren2 pipelined on the one connection), and nodes read but not yet
//   written are bounded, so memory stays flat on large trees. `/zookeeper` (the server's own
//   subtree) is skipped unless the source path is inside it.
// - A node is written once its parent is (its create waits for the parent's), parents before
//   children, up to `window` writes at once. Under a parent created in this run the node is
//   created directly; otherwise the destination is read first: absent -> create; same data and
//   ACL -> unchanged; different -> a conflict left alone, or with `overwrite` set (setData, setACL).
// - ACLs are copied as they are (digest ids included). A node with children whose ACL would not
//   let the copier create them (e.g. world:anyone READ only) is created with CREATE and ADMIN added
//   for the copier (its --auth digest ids, else world:anyone), and gets its exact ACL once its children
//   exist. An interrupted copy can leave that extra grant behind; a rerun with --overwrite fixes it.
// - Ephemerals belong to the source's sessions: skipped, or copied as persistent nodes when asked.
// - A source node the copier may not read (NoAuth) is reported and skipped with its subtree. So is
//   one whose ACL comes back with digest ids hidden (`user:x`: ZooKeeper 3.8 and Ark answer getACL
//   so to a client without ADMIN on the node): copying that would lock everyone out.
// - Same service on both sides (a host:port resolving to the same address in both lists): a
//   destination path inside the source subtree is left out of the walk; overlapping the other
//   way (or the same path) is refused.
import { lookup } from 'node:dns/promises';
import { CopyError, parseAuth, parseConnectString, type ConnectString, type Endpoint } from './copy-args.js';
import { CopierGrant } from './copy-content.js';
import type { CopyReport } from './copy-report.js';
import { CopySession, type SessionOptions } from './copy-session.js';
import { TreeCopy } from './tree-copy.js';
import type { OnProgress } from '../util/progress.js';

export {
  CopyError,
  formatConnectString,
  formatEndpoint,
  parseAuth,
  parseConnectString,
  type ConnectString,
  type Endpoint,
  type Role,
} from './copy-args.js';
export { SKIP_REASONS, type CopyReport, type NodeAction, type SkipReason } from './copy-report.js';

export interface CopyOptions {
  from: string;
  to: string;
  /** `scheme:credentials`, added on both connections */
  auth?: string[];
  overwrite?: boolean;
  dryRun?: boolean;
  includeEphemerals?: boolean;
  /** nodes read at once, and writes at once (64) */
  window?: number;
  sessionTimeoutMs?: number;
  /** per connection attempt, for the TCP connect and the session handshake (10 s) */
  connectTimeoutMs?: number;
  /** source nodes dealt with, of the source subtree's node count at the start (null: the source cannot say) */
  onProgress?: OnProgress;
}

export async function copyTree(opts: CopyOptions): Promise<CopyReport> {
  const from = parseConnectString(opts.from, 'source');
  const to = parseConnectString(opts.to, 'destination');
  const auth = (opts.auth ?? []).map(parseAuth);
  const exclude = await excludedTarget(from, to);
  const startedAt = performance.now();
  const session: SessionOptions = {
    auth,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 30000,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10000,
  };
  const src = await CopySession.open(from, 'source', session);
  let dst: CopySession;
  try {
    dst = await CopySession.open(to, 'destination', session);
  } catch (e) {
    await src.close();
    throw e;
  }
  try {
    return await new TreeCopy(
      {
        from,
        to,
        exclude,
        window: Math.max(1, opts.window ?? 64),
        dryRun: opts.dryRun === true,
        overwrite: opts.overwrite === true,
        includeEphemerals: opts.includeEphemerals === true,
        copier: new CopierGrant(auth),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
      src,
      dst,
    ).run(startedAt);
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

/**
 * Same service on both sides (a host:port resolving to the same address in both lists)? Then the
 * subtrees must not overlap the wrong way; a destination inside the source subtree is left out of
 * the walk (returned).
 */
async function excludedTarget(from: ConnectString, to: ConnectString): Promise<string | null> {
  const [srcAddrs, dstAddrs] = await Promise.all([addresses(from.hosts), addresses(to.hosts)]);
  if (![...srcAddrs].some((a) => dstAddrs.has(a))) return null;
  if (from.path === to.path || isInside(from.path, to.path)) {
    throw new CopyError(
      `source ${from.path} and destination ${to.path} overlap on the same service: the copy would write into the subtree it reads`,
      true,
    );
  }
  return isInside(to.path, from.path) ? to.path : null;
}

async function addresses(hosts: Endpoint[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const h of hosts) {
    try {
      for (const a of await lookup(h.host, { all: true })) out.add(`${a.address}|${h.port}`);
    } catch {
      out.add(`${h.host}|${h.port}`);
    }
  }
  return out;
}

const isInside = (path: string, root: string): boolean => (root === '/' ? path !== '/' : path.startsWith(`${root}/`));
