// The difference between two trees (two backups, a backup and a point in time of an archive, or a
// backup and a live server's state): which paths were added, removed and changed, and for a
// changed path whether its data, its ACL and which of its Stat fields differ. Pure: it reads two
// DataTrees and reports entries in order; printing is diff-report.ts.
//
// Speed for a million znodes: one walk of both trees together, depth first, each parent's
// children sorted by name and merged like two sorted lists (the merge step of merge sort). Every
// node is visited once per tree, and the only sorting is of each parent's own children (n log k
// in all, k children per parent), never of all paths at once. The order it reports in is the
// walk's: a parent before its children, siblings by name (UTF-16 code units, as sort() does), so
// two runs over the same trees print the same lines.
import type { DataTree, ZNode } from '../tree/datatree.js';
import type { ACL } from '../wire/protocol.js';

/** Every field of ZooKeeper's Stat, in its order (Stat.jute). */
export const STAT_FIELDS = [
  'czxid',
  'mzxid',
  'ctime',
  'mtime',
  'version',
  'cversion',
  'aversion',
  'ephemeralOwner',
  'dataLength',
  'numChildren',
  'pzxid',
] as const;
export type StatField = (typeof STAT_FIELDS)[number];

/**
 * A Stat field's value as a client sees it (ZNode.stat()), except ephemeralOwner, which is the
 * stored one: a container's or TTL node's marker shows as 0 to clients, but turning a node into
 * a container is a difference worth seeing.
 */
export function statValue(n: ZNode, f: StatField): number | bigint {
  switch (f) {
    case 'czxid':
      return n.czxid;
    case 'mzxid':
      return n.mzxid;
    case 'ctime':
      return n.ctime;
    case 'mtime':
      return n.mtime;
    case 'version':
      return n.version;
    case 'cversion':
      // the stored cversion counts child creates; the visible one is creates + deletes
      return n.cversion * 2 - n.numChildren;
    case 'aversion':
      return n.aversion;
    case 'ephemeralOwner':
      return n.ephemeralOwner;
    case 'dataLength':
      return n.dataLength;
    case 'numChildren':
      return n.numChildren;
    case 'pzxid':
      return n.pzxid;
  }
}

export type DiffEntry =
  | { kind: 'added'; path: string; b: ZNode }
  | { kind: 'removed'; path: string; a: ZNode }
  | {
      kind: 'changed';
      path: string;
      a: ZNode;
      b: ZNode;
      data: boolean;
      acl: boolean;
      /** the Stat fields that differ, in STAT_FIELDS order */
      stat: StatField[];
    };

export interface DiffOptions {
  /** the Stat fields to compare (default: all of them); [] compares data and ACL only */
  statFields?: readonly StatField[];
  /** compare only this path and its descendants (default '/') */
  path?: string;
  /** every `progressEvery` nodes (and at the end): nodes visited in both trees of their total */
  onProgress?: (p: { done: number; total: number | null; unit: string }) => void;
  progressEvery?: number;
}

export interface DiffSummary {
  /** znodes compared on each side (under `path`) */
  nodesA: number;
  nodesB: number;
  added: number;
  removed: number;
  changed: number;
  /** of the changed: how many differ in data, in ACL, in at least one compared Stat field */
  dataChanged: number;
  aclChanged: number;
  statChanged: number;
  /** per Stat field, how many changed nodes differ in it */
  byStatField: Partial<Record<StatField, number>>;
  same: number;
}

/** One level of the walk: the children of `parent` in A and in B, sorted, and how far each list is merged. */
interface Frame {
  /** null for the start frame, whose names are full paths */
  parent: string | null;
  a: string[];
  b: string[];
  i: number;
  j: number;
}

const NONE: string[] = [];

function childPath(parent: string | null, name: string): string {
  if (parent === null) return name;
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function sortedChildren(n: ZNode): string[] {
  return n.children && n.children.size > 0 ? [...n.children].sort() : NONE;
}

/** ACL lists compare by content; a tree interns its lists, so one key per list object suffices. */
function aclKeyer(): (acl: ACL[]) => string {
  const keys = new WeakMap<ACL[], string>();
  return (acl) => {
    let k = keys.get(acl);
    if (k === undefined) {
      k = JSON.stringify(acl.map((x) => [x.perms, x.id.scheme, x.id.id]));
      keys.set(acl, k);
    }
    return k;
  };
}

/**
 * Compares tree `a` with tree `b`, calling `emit` for every path that differs, parent first,
 * siblings by name. Returns the counts.
 */
export function diffTrees(a: DataTree, b: DataTree, emit: (e: DiffEntry) => void, opts: DiffOptions = {}): DiffSummary {
  const fields = opts.statFields ?? STAT_FIELDS;
  const root = opts.path ?? '/';
  const aclKey = aclKeyer();
  const sum: DiffSummary = {
    nodesA: 0,
    nodesB: 0,
    added: 0,
    removed: 0,
    changed: 0,
    dataChanged: 0,
    aclChanged: 0,
    statChanged: 0,
    byStatField: {},
    same: 0,
  };
  const every = opts.progressEvery ?? 50_000;
  const total = root === '/' ? a.nodes.size + b.nodes.size : null;
  let nextReport = every;
  const progress = (): void => {
    const done = sum.nodesA + sum.nodesB;
    if (opts.onProgress && done >= nextReport) {
      nextReport = done + every;
      opts.onProgress({ done, total, unit: 'znodes' });
    }
  };

  const compare = (path: string, x: ZNode, y: ZNode): void => {
    const data = x.dataBytes !== y.dataBytes;
    const acl = x.acl !== y.acl && aclKey(x.acl) !== aclKey(y.acl);
    const stat: StatField[] = [];
    for (const f of fields) if (statValue(x, f) !== statValue(y, f)) stat.push(f);
    if (!data && !acl && stat.length === 0) {
      sum.same++;
      return;
    }
    sum.changed++;
    if (data) sum.dataChanged++;
    if (acl) sum.aclChanged++;
    if (stat.length > 0) sum.statChanged++;
    for (const f of stat) sum.byStatField[f] = (sum.byStatField[f] ?? 0) + 1;
    emit({ kind: 'changed', path, a: x, b: y, data, acl, stat });
  };

  const stack: Frame[] = [{ parent: null, a: a.get(root) ? [root] : NONE, b: b.get(root) ? [root] : NONE, i: 0, j: 0 }];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const na = f.i < f.a.length ? f.a[f.i]! : null;
    const nb = f.j < f.b.length ? f.b[f.j]! : null;
    if (na === null && nb === null) {
      stack.pop();
      continue;
    }
    // the smaller name goes first; equal names are the same path on both sides
    const takeA = na !== null && (nb === null || na <= nb);
    const takeB = nb !== null && (na === null || nb <= na);
    const path = childPath(f.parent, (takeA ? na : nb)!);
    if (takeA) f.i++;
    if (takeB) f.j++;
    const x = takeA ? a.nodes.get(path) : undefined;
    const y = takeB ? b.nodes.get(path) : undefined;
    if (x) sum.nodesA++;
    if (y) sum.nodesB++;
    if (x && y) compare(path, x, y);
    else if (x) {
      sum.removed++;
      emit({ kind: 'removed', path, a: x });
    } else if (y) {
      sum.added++;
      emit({ kind: 'added', path, b: y });
    }
    const ka = x ? sortedChildren(x) : NONE;
    const kb = y ? sortedChildren(y) : NONE;
    if (ka.length > 0 || kb.length > 0) stack.push({ parent: path, a: ka, b: kb, i: 0, j: 0 });
    progress();
  }
  opts.onProgress?.({ done: sum.nodesA + sum.nodesB, total: total === null ? sum.nodesA + sum.nodesB : total, unit: 'znodes' });
  return sum;
}

/** True when the trees differ under the options' path (at least one entry). */
export function differs(s: DiffSummary): boolean {
  return s.added + s.removed + s.changed > 0;
}
