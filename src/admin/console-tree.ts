// The web console's tree operations (src/admin/console.ts): each one is made by the logged-in
// user's own ZooKeeper session (ConsoleSession), so the server's ACL checks decide it exactly as
// for any client: a node the user may not READ shows its Stat (exists needs no permission, as in
// ZooKeeper) but not its data or children; a write the ACL does not allow fails with NoAuth.
import type { ZooKeeperClient } from '../client/zookeeper.js';
import { joinPath, validatePath } from '../client/paths.js';
import { KeeperError, ErrorCode, errorName } from '../util/errors.js';
import { CreateFlag, Perms, type ACL, type Stat } from '../wire/protocol.js';

/** A failure the page shows: an HTTP status, ZooKeeper's error name, and more when there is any. */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The HTTP status for a ZooKeeper error a user's request met. */
export function statusOf(e: KeeperError): number {
  switch (e.code) {
    case ErrorCode.NoNode:
      return 404;
    case ErrorCode.NoAuth:
    case ErrorCode.AuthFailed:
      return 403;
    case ErrorCode.BadVersion:
    case ErrorCode.NodeExists:
    case ErrorCode.NotEmpty:
      return 409;
    case ErrorCode.BadArguments:
    case ErrorCode.InvalidACL:
    case ErrorCode.NoChildrenForEphemerals:
      return 400;
    default:
      return 503;
  }
}

export function keeperProblem(e: KeeperError, path: string): ConsoleError {
  return new ConsoleError(statusOf(e), errorName(e.code), `${errorName(e.code)} for ${path}`);
}

/** Stat as JSON: ephemeralOwner (a Java long) as hex text; zxids fit in a double (Ark's zxids are numbers). */
export function statJson(s: Stat): Record<string, unknown> {
  return { ...s, ephemeralOwner: BigInt.asUintN(64, s.ephemeralOwner).toString(16) };
}

const aclJson = (acl: readonly ACL[]): Array<{ scheme: string; id: string; perms: number }> =>
  acl.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: a.perms }));

export function checkedPath(raw: unknown): string {
  if (typeof raw !== 'string') throw new ConsoleError(400, 'BadArguments', 'a path is needed');
  try {
    validatePath(raw);
  } catch (e) {
    throw new ConsoleError(400, 'BadArguments', `invalid path ${JSON.stringify(raw)}: ${(e as Error).message}`);
  }
  return raw;
}

const isKeeper = (e: unknown, code: number): boolean => e instanceof KeeperError && e.code === code;

/** One node: data (base64), every Stat field, ACL; what READ denies is named instead of shown. */
export async function readNode(c: ZooKeeperClient, path: string): Promise<Record<string, unknown>> {
  const [data, acl] = await Promise.allSettled([c.getData(path), c.getACL(path)]);
  const out: Record<string, unknown> = { path };
  if (data.status === 'fulfilled') {
    out.data = data.value.data === null ? null : data.value.data.toString('base64');
    out.stat = statJson(data.value.stat);
  } else {
    const e = data.reason as unknown;
    if (!(e instanceof KeeperError)) throw e;
    if (e.code !== ErrorCode.NoAuth) throw keeperProblem(e, path);
    out.dataError = 'NoAuth';
    const stat = await c.exists(path);
    if (!stat) throw new ConsoleError(404, 'NoNode', `NoNode for ${path}`);
    out.stat = statJson(stat);
  }
  if (acl.status === 'fulfilled') out.acl = aclJson(acl.value.acl);
  else out.aclError = acl.reason instanceof KeeperError ? errorName(acl.reason.code) : String(acl.reason);
  return out;
}

/** A node's children, sorted, remembered per path until its cversion changes (so paging a node with 100k children costs one exists per page). */
export class ChildLists {
  private readonly lists = new Map<string, { cversion: number; czxid: number; aversion: number; names: string[] }>();

  constructor(private readonly keep = 8) {}

  async names(c: ZooKeeperClient, path: string): Promise<string[]> {
    const cached = this.lists.get(path);
    if (cached) {
      const stat = await c.exists(path);
      if (!stat) throw new ConsoleError(404, 'NoNode', `NoNode for ${path}`);
      // aversion too: exists needs no permission, so a READ taken away by setACL (which moves
      // neither cversion nor czxid) must send the next page back through getChildren and its check
      if (stat.cversion === cached.cversion && stat.czxid === cached.czxid && stat.aversion === cached.aversion) {
        // most recently used last
        this.lists.delete(path);
        this.lists.set(path, cached);
        return cached.names;
      }
    }
    const { children, stat } = await c.getChildrenWithStat(path);
    const names = children.sort();
    this.lists.delete(path);
    this.lists.set(path, { cversion: stat.cversion, czxid: stat.czxid, aversion: stat.aversion, names });
    while (this.lists.size > this.keep) this.lists.delete(this.lists.keys().next().value!);
    return names;
  }
}

/** The first index in sorted `names` at or after `prefix`. */
function lowerBound(names: readonly string[], prefix: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (names[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const PAGE_MAX = 500;

/** One page of a node's children whose names start with `prefix`, each with its child count and size. */
export async function childPage(
  c: ZooKeeperClient,
  lists: ChildLists,
  path: string,
  offset: number,
  limit: number,
  prefix: string,
): Promise<Record<string, unknown>> {
  const names = await lists.names(c, path).catch((e: unknown) => {
    throw e instanceof KeeperError ? keeperProblem(e, path) : e;
  });
  const from = prefix === '' ? 0 : lowerBound(names, prefix);
  let to = names.length;
  if (prefix !== '') {
    // the matches are contiguous in sorted order: find where they end
    let lo = from;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]!.startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    to = lo;
  }
  const take = names.slice(from + offset, Math.min(to, from + offset + Math.min(limit, PAGE_MAX)));
  const stats = await Promise.all(take.map((n) => c.exists(joinPath(path, n)).catch(() => null)));
  return {
    path,
    total: names.length,
    matched: to - from,
    offset,
    items: take.map((name, i) => {
      const s = stats[i];
      return s ? { name, numChildren: s.numChildren, dataLength: s.dataLength, ephemeral: s.ephemeralOwner !== 0n } : { name, gone: true };
    }),
  };
}

export type AclChoice = 'open' | 'creator' | 'creator-world-read';

/** The ACLs a node can be created with from the page: ZooKeeper's OPEN_ACL_UNSAFE and CREATOR_ALL_ACL (the "auth" scheme: the logged-in user). */
export function aclFor(choice: unknown): ACL[] {
  const world = { scheme: 'world', id: 'anyone' };
  const creator = { scheme: 'auth', id: '' };
  switch (choice) {
    case 'open':
      return [{ perms: Perms.ALL, id: world }];
    case 'creator':
      return [{ perms: Perms.ALL, id: creator }];
    case 'creator-world-read':
      return [
        { perms: Perms.ALL, id: creator },
        { perms: Perms.READ, id: world },
      ];
    default:
      throw new ConsoleError(400, 'BadArguments', `unknown acl choice ${JSON.stringify(choice)}: open, creator or creator-world-read`);
  }
}

export function modeFor(choice: unknown): number {
  switch (choice) {
    case 'persistent':
      return CreateFlag.PERSISTENT;
    case 'persistent-sequential':
      return CreateFlag.PERSISTENT_SEQUENTIAL;
    case 'container':
      return CreateFlag.CONTAINER;
    default:
      throw new ConsoleError(400, 'BadArguments', `unknown mode ${JSON.stringify(choice)}: persistent, persistent-sequential or container`);
  }
}

export function dataOf(raw: unknown): Buffer {
  if (typeof raw !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) throw new ConsoleError(400, 'BadArguments', 'data must be base64');
  return Buffer.from(raw, 'base64');
}

/** setData at the version the user saw: BadVersion answers with the node as it is now, so the page can show the new value. */
export async function writeData(c: ZooKeeperClient, path: string, data: Buffer, version: number): Promise<Record<string, unknown>> {
  try {
    const stat = await c.setData(path, data, { version });
    return { path, stat: statJson(stat) };
  } catch (e) {
    if (!(e instanceof KeeperError)) throw e;
    if (e.code === ErrorCode.BadVersion) {
      const current = await readNode(c, path).catch(() => null);
      throw new ConsoleError(409, 'BadVersion', `BadVersion for ${path}: it changed since version ${version}`, { current });
    }
    throw keeperProblem(e, path);
  }
}

/** How many znodes a recursive delete of `path` removes (itself and every descendant). */
export async function subtreeCount(c: ZooKeeperClient, path: string): Promise<number> {
  try {
    return (await c.getAllChildrenNumber(path)) + 1;
  } catch (e) {
    throw e instanceof KeeperError ? keeperProblem(e, path) : e;
  }
}

/** deletes in flight at once: enough to use the session's pipeline, few enough not to flood the server */
const DELETE_CONCURRENCY = 64;

/**
 * Deletes `path` and every descendant, deepest level first, as the user (zkCli's deleteall). Stops at
 * the first refusal (NoAuth on a node below, a child created meanwhile: NotEmpty) and says how many
 * went; nodes already gone are fine.
 */
export async function deleteSubtree(c: ZooKeeperClient, path: string): Promise<number> {
  const levels: string[][] = [[path]];
  for (;;) {
    const next: string[] = [];
    const last = levels[levels.length - 1]!;
    for (let i = 0; i < last.length; i += DELETE_CONCURRENCY) {
      const lists = await Promise.all(
        last.slice(i, i + DELETE_CONCURRENCY).map((p) =>
          c.getChildren(p).then(
            (names) => names.map((n) => joinPath(p, n)),
            (e: unknown) => {
              if (isKeeper(e, ErrorCode.NoNode)) return [];
              throw e instanceof KeeperError ? keeperProblem(e, p) : e;
            },
          ),
        ),
      );
      for (const l of lists) next.push(...l);
    }
    if (next.length === 0) break;
    levels.push(next);
  }
  let deleted = 0;
  for (let d = levels.length - 1; d >= 0; d--) {
    const level = levels[d]!;
    for (let i = 0; i < level.length; i += DELETE_CONCURRENCY) {
      const results = await Promise.allSettled(level.slice(i, i + DELETE_CONCURRENCY).map((p) => c.delete(p)));
      for (const [j, r] of results.entries()) {
        if (r.status === 'fulfilled') deleted++;
        else if (!isKeeper(r.reason, ErrorCode.NoNode)) {
          const p = level[i + j]!;
          const e = r.reason instanceof KeeperError ? keeperProblem(r.reason, p) : new ConsoleError(503, 'SystemError', String(r.reason));
          throw new ConsoleError(e.status, e.code, `${e.message} (${deleted} znodes deleted before it)`, { deleted });
        }
      }
    }
  }
  return deleted;
}
