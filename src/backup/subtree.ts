// Subtree restore: one path of a backup (or of a point in time), with its descendants. PURE: a
// tree in, nodes or a tree out.
//
// - subtreeNodes: what a live restore sends (Ark's restoreSubtree request, src/wire/subtree.ts):
//   data, ACL, version, cversion, aversion and the owner of containers and TTL nodes. A session's
//   ephemerals are left out: their sessions belong to the backup's history, not to the live
//   server, and an ephemeral whose owner never closes would stay for ever.
// - subtreeTree: what an offline restore lays down in a new data dir: the subtree with every
//   Stat field, the ancestors that reach it (each with its own fields), /zookeeper (the quota
//   nodes of paths in the subtree among it), and nothing else; the sessions that own an ephemeral
//   in it live on, as in a whole restore, the others are left out.
import { RestoreError } from './restore.js';
import { DataTree, QUOTA_PATH, ZOOKEEPER_PATH, type ZNode } from '../tree/datatree.js';
import { parentOf } from '../tree/watches.js';
import { validatePath } from '../server/paths.js';
import { isEphemeralOwner } from '../wire/txn.js';
import type { SubtreeNode } from '../wire/subtree.js';
import type { SessionRecord } from '../storage/snapshot.js';
import type { StatPersisted } from '../wire/protocol.js';

/** A path a subtree restore may take: a valid znode path, not "/", not /zookeeper or under it; and in the backup. */
export function checkSubtreePath(tree: DataTree, path: string): void {
  try {
    validatePath(path);
  } catch {
    throw new RestoreError(
      `--path ${JSON.stringify(path)} is not a valid znode path (absolute, no trailing slash, no empty or . or .. parts)`,
      true,
    );
  }
  if (path === '/') throw new RestoreError('--path / is the whole tree: restore without --path', true);
  if (path === ZOOKEEPER_PATH || path.startsWith(`${ZOOKEEPER_PATH}/`))
    throw new RestoreError(`--path ${path}: /zookeeper is the server's own (quotas, config), not restored by path`, true);
  if (!tree.get(path)) {
    const parent = nearestExisting(tree, path);
    throw new RestoreError(`--path ${path} is not in the backup (the nearest node it holds above it is ${parent})`, true);
  }
}

function nearestExisting(tree: DataTree, path: string): string {
  for (let p = parentOf(path); p !== null; p = parentOf(p)) if (tree.get(p)) return p;
  return '/';
}

/** The subtree's paths, parents before children (the root first), in a stable order. */
export function subtreePaths(tree: DataTree, root: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const node = tree.get(p);
    if (!node) continue;
    out.push(p);
    if (node.children) {
      const prefix = p === '/' ? '/' : `${p}/`;
      for (const c of [...node.children].sort().reverse()) stack.push(prefix + c);
    }
  }
  return out;
}

/** What a live restore of `root` sends, and the session-owned ephemerals it leaves out. */
export function subtreeNodes(tree: DataTree, root: string): { nodes: SubtreeNode[]; ephemeralsSkipped: number } {
  checkSubtreePath(tree, root);
  const nodes: SubtreeNode[] = [];
  let ephemeralsSkipped = 0;
  for (const p of subtreePaths(tree, root)) {
    const n = tree.get(p)!;
    if (isEphemeralOwner(n.ephemeralOwner)) {
      if (p === root)
        throw new RestoreError(`--path ${root} is an ephemeral node of a session of the backup: a live restore keeps no ephemerals`, true);
      ephemeralsSkipped++;
      continue;
    }
    nodes.push({
      path: p,
      data: n.data,
      acl: n.acl,
      version: n.version,
      cversion: n.cversion,
      aversion: n.aversion,
      ephemeralOwner: n.ephemeralOwner,
    });
  }
  return { nodes, ephemeralsSkipped };
}

function persisted(n: ZNode): StatPersisted {
  return {
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    cversion: n.cversion,
    aversion: n.aversion,
    ephemeralOwner: n.ephemeralOwner,
    pzxid: n.pzxid,
  };
}

/** Under /zookeeper/quota, the path a quota node is about (its dir, limits or stats node). */
function quotaSubject(path: string): string {
  const rest = path.slice(QUOTA_PATH.length);
  return rest.replace(/\/zookeeper_(limits|stats)$/, '') || '/';
}

function atOrUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/**
 * The tree an offline subtree restore lays down: the subtree and the ancestors that reach it,
 * every Stat field as the backup has it (so the ancestors' numChildren count only what is kept),
 * /zookeeper with the quotas of paths in the subtree, at the backup's zxid; and the sessions that
 * own an ephemeral in it.
 */
export function subtreeTree(
  tree: DataTree,
  sessions: readonly SessionRecord[],
  root: string,
): { tree: DataTree; sessions: SessionRecord[]; nodes: number } {
  checkSubtreePath(tree, root);
  const out = new DataTree();
  const load = (p: string): void => {
    const n = tree.get(p)!;
    if (!out.loadNode(p, n.dataBytes, n.acl, persisted(n))) throw new Error(`subtree restore: ${p} came before its parent`);
  };
  const ancestors: string[] = [];
  for (let p = parentOf(root); p !== null; p = parentOf(p)) ancestors.unshift(p);
  for (const p of ancestors) load(p);
  for (const p of subtreePaths(tree, root)) load(p);
  // /zookeeper: its own nodes, and under quota what concerns the subtree (and the dirs that reach it)
  for (const p of subtreePaths(tree, ZOOKEEPER_PATH)) {
    if (p.startsWith(`${QUOTA_PATH}/`)) {
      const subject = quotaSubject(p);
      const dirOnTheWay = !/\/zookeeper_(limits|stats)$/.test(p) && atOrUnder(root, subject);
      if (!atOrUnder(subject, root) && !dirOnTheWay) continue;
    }
    load(p);
  }
  out.finishLoad(tree.lastProcessedZxid);
  const owners = new Set(out.ephemerals.keys());
  const kept = sessions.filter((s) => owners.has(s.id));
  return { tree: out, sessions: kept, nodes: out.nodeCount };
}
