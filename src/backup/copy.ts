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
//   ZkClient has no failover, so the hosts are tried in order and the first that completes a
//   handshake is used for the whole copy.
// - The source is walked breadth-first; up to `window` nodes are read at once (getData, getACL
//   and getChildren2 pipelined on the one connection), and nodes read but not yet written are
//   bounded, so memory stays flat on large trees. `/zookeeper` (the server's own subtree) is
//   skipped unless the source path is inside it.
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
import { ZkClient } from '../client/client.js';
import { digestOf } from '../tree/acl.js';
import { pathProblem } from '../server/paths.js';
import { ErrorCode, KeeperError, errorName } from '../util/errors.js';
import { formatHostPort, parseHostList, type HostPort } from '../util/hostport.js';
import { OpCode, OPEN_ACL_UNSAFE, Perms, readStat, type ACL, type Id, type Stat } from '../wire/protocol.js';


/** A copy that cannot start or cannot go on: one line for the user; `usage` for bad arguments. */
export class CopyError extends Error {
  constructor(message: string, readonly usage = false) {
    super(message);
    this.name = 'CopyError';
  }
}

export type Role = 'source' | 'destination';
const FLAG: Record<Role, string> = { source: '--from', destination: '--to' };

export type Endpoint = HostPort;
export interface ConnectString {
  hosts: Endpoint[];
  /** the subtree (source) or the target path (destination); "/" when absent */
  path: string;
}

export const formatEndpoint = formatHostPort;

export function formatConnectString(c: ConnectString): string {
  return `${c.hosts.map(formatEndpoint).join(',')}${c.path === '/' ? '' : c.path}`;
}

/** `host:port[,host:port...][/path]`; IPv6 addresses in brackets (`[::1]:2181`); port 2181 by default. */
export function parseConnectString(text: string, role: Role): ConnectString {
  const bad = (why: string): CopyError =>
    new CopyError(`${FLAG[role]} ${JSON.stringify(text)}: ${why} (expected host:port[,host:port...][/path])`, true);
  const s = text.trim();
  if (s.length === 0) throw bad('empty');
  const slash = s.indexOf('/');
  const hostPart = slash === -1 ? s : s.slice(0, slash);
  let path = slash === -1 ? '/' : s.slice(slash);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const problem = pathProblem(path);
  if (problem) throw bad(`path ${path}: ${problem}`);
  const hosts: Endpoint[] = parseHostList(hostPart, bad);
  return { hosts, path };
}

/** `scheme:credentials`, e.g. digest:alice:secret (split at the first colon). */
export function parseAuth(text: string): { scheme: string; credentials: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new CopyError(`--auth ${JSON.stringify(text)}: expected scheme:credentials, e.g. digest:user:password`, true);
  return { scheme: text.slice(0, colon), credentials: text.slice(colon + 1) };
}

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
  /** per host, for the TCP connect and the session handshake (10 s) */
  connectTimeoutMs?: number;
  onProgress?: (p: { read: number; done: number }) => void;
}

export type SkipReason = 'ephemeral' | 'zookeeper' | 'no-auth' | 'acl-hidden' | 'vanished' | 'parent' | 'target';
export const SKIP_REASONS: Record<SkipReason, string> = {
  ephemeral: 'ephemeral: owned by a session of the source (--include-ephemerals copies it as a persistent node)',
  zookeeper: "the server's own subtree (/zookeeper), not copied unless the source path is inside it",
  'no-auth': 'not readable by the copier (NoAuth), nor its subtree: pass --auth digest:user:password (used on both sides)',
  'acl-hidden': 'the source hides the digest ids of its ACL (user:x) from a copier without ADMIN on it, so the ACL cannot be copied; '
    + 'not copied, nor its subtree: pass --auth digest:user:password of a user with ADMIN',
  vanished: 'deleted on the source while the copy ran',
  parent: 'its parent was not copied',
  target: 'the destination path itself, which lies inside the source subtree on the same service',
};

export interface NodeAction {
  /** source path */
  path: string;
  /** destination path */
  target: string;
  action: 'create' | 'update' | 'conflict' | 'skip' | 'fail';
  reason?: SkipReason;
  detail?: string;
}

export interface CopyReport {
  source: { connectString: string; connected: string; path: string };
  destination: { connectString: string; connected: string; path: string };
  dryRun: boolean;
  overwrite: boolean;
  includeEphemerals: boolean;
  /** source nodes read (data, ACL and children) */
  nodesRead: number;
  /** created on the destination (in a dry run: would be), missing parents of the destination path included */
  created: number;
  /** existing nodes whose data and/or ACL were set (--overwrite; in a dry run: would be) */
  updated: number;
  /** existing nodes with the same data and ACL already */
  unchanged: number;
  /** existing nodes with other data or ACL, left alone (no --overwrite) */
  conflicts: number;
  /** nodes not copied on purpose or because they could not be read; by reason */
  skipped: number;
  skippedByReason: Partial<Record<SkipReason, number>>;
  /** writes the destination refused (the node is then missing or differs) */
  failed: number;
  /** ephemerals created as persistent nodes (--include-ephemerals) */
  ephemeralsAsPersistent: number;
  /** data bytes read from the source */
  bytes: number;
  /** data bytes written to the destination (in a dry run: would be) */
  bytesWritten: number;
  seconds: number;
  /** nothing failed, no conflict, nothing unreadable (no-auth, acl-hidden): the destination holds the source's nodes */
  ok: boolean;
  /**
   * Per node: every update, conflict, skip and failure, and the creates worth a note (missing
   * parents of the destination path, ephemerals copied as persistent). A dry run lists every
   * create too. Plain creates and unchanged nodes of a real run are only counted.
   */
  nodes: NodeAction[];
}

// ---------------------------------------------------------------------------------------------

function describeConnectFailure(e: unknown): string {
  if (e instanceof KeeperError) {
    if (e.code === ErrorCode.ConnectionLoss) return 'the server closed the connection during the handshake';
    if (e.code === ErrorCode.SessionExpired) return 'the server refused the session';
    return errorName(e.code);
  }
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': return 'unknown host';
    case 'ETIMEDOUT': return 'timed out';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    default: return err.message ?? String(e);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onLate: (v: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' }));
    }, ms);
    p.then((v) => {
      clearTimeout(t);
      if (timedOut) onLate(v);
      else resolve(v);
    }, (e: unknown) => {
      clearTimeout(t);
      if (!timedOut) reject(e);
    });
  });
}

interface Connected { client: ZkClient; endpoint: Endpoint; keepAlive: NodeJS.Timeout }

/** The first host (in order) that completes a handshake, with every --auth added. */
async function connectFirst(cs: ConnectString, role: Role, auth: Array<{ scheme: string; credentials: string }>,
  sessionTimeoutMs: number, connectTimeoutMs: number): Promise<Connected> {
  const failures: string[] = [];
  for (const ep of cs.hosts) {
    let client: ZkClient;
    try {
      client = await withTimeout(ZkClient.connect({ host: ep.host, port: ep.port, sessionTimeoutMs }), connectTimeoutMs, (late) => late.disconnect());
    } catch (e) {
      failures.push(cs.hosts.length === 1 ? describeConnectFailure(e) : `${formatEndpoint(ep)} ${describeConnectFailure(e)}`);
      continue;
    }
    for (const a of auth) {
      try {
        await client.addAuth(a.scheme, a.credentials);
      } catch (e) {
        client.disconnect();
        const why = e instanceof KeeperError && e.code === ErrorCode.AuthFailed ? 'AuthFailed' : describeConnectFailure(e);
        throw new CopyError(`--auth ${a.scheme}:...: rejected by ${formatEndpoint(ep)} (${role}): ${why}`);
      }
    }
    // this client sends no pings of its own; a quiet stretch must not expire the session
    const every = Math.max(500, Math.floor((client.negotiatedTimeoutMs || sessionTimeoutMs) / 3));
    const keepAlive = setInterval(() => { client.ping().catch(() => { /* a lost connection is handled below */ }); }, every);
    keepAlive.unref();
    return { client, endpoint: ep, keepAlive };
  }
  throw new CopyError(`cannot connect to ${cs.hosts.map(formatEndpoint).join(',')} (${role}): ${failures.join('; ')}`);
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

const isInside = (path: string, root: string): boolean => root === '/' ? path !== '/' : path.startsWith(`${root}/`);
const childPath = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);

/** getData keeping null data null (ZkClient.getData turns it into an empty buffer). */
async function getDataRaw(c: ZkClient, path: string): Promise<{ data: Buffer | null; stat: Stat }> {
  const r = await c.send({ type: OpCode.getData, req: { path, watch: false } });
  const d = r.bufferOrNull();
  return { data: d === null ? null : Buffer.from(d), stat: readStat(r) };
}

function sameData(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/** A digest id as getACL shows it to a client without ADMIN on the node: `user:x`. */
const hiddenDigest = (a: ACL): boolean => a.id.scheme === 'digest' && /^[^:]*:x$/s.test(a.id.id);

const aclKey = (a: ACL): string => `${a.perms}|${a.id.scheme}|${a.id.id}`;
function sameAcl(a: ACL[], b: ACL[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map(aclKey).sort();
  const y = b.map(aclKey).sort();
  return x.every((k, i) => k === y[i]);
}

class Semaphore {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(n: number) {
    this.free = n;
  }
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await f();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/**
 * 'created': created in this run (or would be, in a dry run), so its children cannot exist yet;
 * 'existing': was there already; 'absent': not copied, so neither are its children.
 */
type WriteState = 'created' | 'existing' | 'absent';

interface Job {
  path: string;
  target: string;
  parent: Job | null;
  written: Promise<WriteState>;
  resolveWritten: (s: WriteState) => void;
}

interface SourceNode { data: Buffer | null; acl: ACL[]; stat: Stat; children: string[] }

const isConnectionGone = (e: unknown): boolean => e instanceof KeeperError &&
  (e.code === ErrorCode.ConnectionLoss || e.code === ErrorCode.SessionExpired);

/** nodes read but not yet written, and their data bytes: past either, reading waits for writes */
const BACKLOG_MAX = 2048;
const BACKLOG_BYTES_MAX = 64 * 1024 * 1024;

export async function copyTree(opts: CopyOptions): Promise<CopyReport> {
  const from = parseConnectString(opts.from, 'source');
  const to = parseConnectString(opts.to, 'destination');
  const auth = (opts.auth ?? []).map(parseAuth);
  const window = Math.max(1, opts.window ?? 64);
  const dryRun = opts.dryRun === true;
  const overwrite = opts.overwrite === true;
  const includeEphemerals = opts.includeEphemerals === true;
  const sessionTimeoutMs = opts.sessionTimeoutMs ?? 30000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10000;

  // same service on both sides? then the subtrees must not overlap the wrong way
  let exclude: string | null = null;
  const [srcAddrs, dstAddrs] = await Promise.all([addresses(from.hosts), addresses(to.hosts)]);
  if ([...srcAddrs].some((a) => dstAddrs.has(a))) {
    if (from.path === to.path || isInside(from.path, to.path)) {
      throw new CopyError(`source ${from.path} and destination ${to.path} overlap on the same service: the copy would write into the subtree it reads`, true);
    }
    if (isInside(to.path, from.path)) exclude = to.path;
  }

  const t0 = performance.now();
  const src = await connectFirst(from, 'source', auth, sessionTimeoutMs, connectTimeoutMs);
  let dst: Connected;
  try {
    dst = await connectFirst(to, 'destination', auth, sessionTimeoutMs, connectTimeoutMs);
  } catch (e) {
    clearInterval(src.keepAlive);
    await src.client.close();
    throw e;
  }

  const report: CopyReport = {
    source: { connectString: formatConnectString(from), connected: formatEndpoint(src.endpoint), path: from.path },
    destination: { connectString: formatConnectString(to), connected: formatEndpoint(dst.endpoint), path: to.path },
    dryRun, overwrite, includeEphemerals,
    nodesRead: 0, created: 0, updated: 0, unchanged: 0, conflicts: 0, skipped: 0, skippedByReason: {}, failed: 0,
    ephemeralsAsPersistent: 0, bytes: 0, bytesWritten: 0, seconds: 0, ok: false, nodes: [],
  };

  const run: { aborted: CopyError | null } = { aborted: null };
  const queue: Job[] = [];
  let head = 0;
  let reading = 0;
  let backlog = 0;
  let backlogBytes = 0;
  let tasks = 0;
  let completed = 0;
  let finished = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => { finish = r; });
  const wake = (): void => {
    if (!finished && (run.aborted !== null || (tasks === 0 && head >= queue.length))) {
      finished = true;
      finish();
    }
  };
  const lost = (role: Role, ep: Endpoint) => (e: Error): void => {
    run.aborted ??= new CopyError(`lost the connection to ${formatEndpoint(ep)} (${role}) after ${report.nodesRead} nodes read: ${e instanceof KeeperError ? errorName(e.code) : e.message}`);
    wake();
  };
  src.client.on('close', lost('source', src.endpoint));
  dst.client.on('close', lost('destination', dst.endpoint));

  try {
    const s = src.client;
    const d = dst.client;
    // the source path must exist before anything is written
    if ((await s.exists(from.path)) === null) {
      throw new CopyError(`${from.path} does not exist on ${formatEndpoint(src.endpoint)} (source)`);
    }
    const rootParent = await ensureParents(to.path);
    const writes = new Semaphore(window);
    const skipZookeeper = !(from.path === '/zookeeper' || isInside(from.path, '/zookeeper'));
    const ourDigests: Id[] = auth.filter((a) => a.scheme === 'digest').map((a) => ({ scheme: 'digest', id: digestOf(a.credentials) }));
    const creators: Id[] = ourDigests.length > 0 ? ourDigests : [{ scheme: 'world', id: 'anyone' }];

    const targetOf = (path: string): string => {
      const rel = from.path === '/' ? path : path.slice(from.path.length);
      if (rel === '' || rel === '/') return to.path;
      return to.path === '/' ? rel : `${to.path}${rel}`;
    };
    const newJob = (path: string, parent: Job | null): Job => {
      let resolveWritten: (s: WriteState) => void = () => {};
      const written = new Promise<WriteState>((r) => { resolveWritten = r; });
      return { path, target: targetOf(path), parent, written, resolveWritten };
    };
    const skip = (job: { path: string; target: string }, reason: SkipReason, detail?: string): void => {
      report.skipped++;
      report.skippedByReason[reason] = (report.skippedByReason[reason] ?? 0) + 1;
      report.nodes.push({ path: job.path, target: job.target, action: 'skip', reason, ...(detail !== undefined ? { detail } : {}) });
    };
    const fail = (job: Job, e: unknown, what: string): void => {
      if (run.aborted !== null || isConnectionGone(e)) return;
      report.failed++;
      const why = e instanceof KeeperError ? errorName(e.code) : (e as Error).message;
      const hint = e instanceof KeeperError && e.code === ErrorCode.NoAuth ? ' (pass --auth digest:user:password, used on both sides)' : '';
      report.nodes.push({ path: job.path, target: job.target, action: 'fail', detail: `${what}: ${why}${hint}` });
    };

    // --- ACL plan: a node with children must let the copier create them until they exist ---
    const grantsUsCreate = (acl: ACL[]): boolean => acl.some((a) => (a.perms & Perms.CREATE) !== 0 &&
      ((a.id.scheme === 'world' && a.id.id === 'anyone') || ourDigests.some((o) => o.scheme === a.id.scheme && o.id === a.id.id)));
    // CREATE for the children, ADMIN to set the exact ACL afterwards
    const withCopier = (acl: ACL[]): ACL[] => {
      const out = acl.map((a) => ({ perms: a.perms, id: { ...a.id } }));
      for (const id of creators) {
        const same = out.find((a) => a.id.scheme === id.scheme && a.id.id === id.id);
        if (same) same.perms |= Perms.CREATE | Perms.ADMIN;
        else out.push({ perms: Perms.CREATE | Perms.ADMIN, id });
      }
      return out;
    };

    async function readSource(path: string): Promise<SourceNode> {
      const [gd, ga, gc] = await Promise.all([getDataRaw(s, path), s.getACL(path), s.getChildren2(path)]);
      return { data: gd.data, stat: gd.stat, acl: ga.acl, children: gc.children.sort() };
    }

    async function readDest(path: string): Promise<{ data: Buffer | null; acl: ACL[] } | null> {
      try {
        const [gd, ga] = await Promise.all([getDataRaw(d, path), d.getACL(path)]);
        return { data: gd.data, acl: ga.acl };
      } catch (e) {
        if (e instanceof KeeperError && e.code === ErrorCode.NoNode) return null;
        throw e;
      }
    }

    /** Creates (or plans) the node; returns its state and the ACL still to set once its children exist. */
    async function write(job: Job, n: SourceNode, parentState: WriteState): Promise<{ state: WriteState; finalAcl: ACL[] | null }> {
      const ephemeral = n.stat.ephemeralOwner !== 0n;
      const lockedOut = n.children.length > 0 && !grantsUsCreate(n.acl);
      const aclNow = lockedOut ? withCopier(n.acl) : n.acl;
      const len = n.data?.length ?? 0;
      const created = (): { state: WriteState; finalAcl: ACL[] | null } => {
        report.created++;
        report.bytesWritten += len;
        if (ephemeral) {
          report.ephemeralsAsPersistent++;
          report.nodes.push({ path: job.path, target: job.target, action: 'create',
            detail: `copied as a persistent node (ephemeral of session 0x${BigInt.asUintN(64, n.stat.ephemeralOwner).toString(16)} on the source)` });
        } else if (dryRun) {
          report.nodes.push({ path: job.path, target: job.target, action: 'create' });
        }
        return { state: 'created', finalAcl: lockedOut && !dryRun ? n.acl : null };
      };
      let existing: { data: Buffer | null; acl: ACL[] } | null = null;
      if (parentState === 'existing') {
        try {
          existing = await readDest(job.target);
        } catch (e) {
          fail(job, e, 'cannot read the existing destination node');
          return { state: 'absent', finalAcl: null };
        }
      }
      if (existing === null) {
        if (dryRun) return created();
        try {
          await d.create(job.target, n.data, { acl: aclNow, flags: 0 });
          return created();
        } catch (e) {
          fail(job, e, 'create refused');
          return { state: 'absent', finalAcl: null };
        }
      }
      const dataSame = sameData(existing.data, n.data);
      const aclSame = sameAcl(existing.acl, n.acl);
      if (dataSame && aclSame) {
        report.unchanged++;
        return { state: 'existing', finalAcl: null };
      }
      const aclWhat = existing.acl.some(hiddenDigest) ? 'ACL (the destination hides its digest ids from the copier)' : 'ACL';
      const differs = !dataSame && !aclSame ? `data and ${aclWhat}` : !dataSame ? 'data' : aclWhat;
      if (!overwrite) {
        report.conflicts++;
        report.nodes.push({ path: job.path, target: job.target, action: 'conflict',
          detail: `exists with different ${differs} (--overwrite replaces it)` });
        return { state: 'existing', finalAcl: null };
      }
      if (!dryRun) {
        try {
          if (!dataSame) await d.setData(job.target, n.data);
          if (!aclSame || lockedOut) await d.setACL(job.target, aclNow);
        } catch (e) {
          fail(job, e, `set${!dataSame ? 'Data' : 'ACL'} refused`);
          return { state: 'existing', finalAcl: null };
        }
      }
      report.updated++;
      if (!dataSame) report.bytesWritten += len;
      report.nodes.push({ path: job.path, target: job.target, action: 'update', detail: `${differs} replaced` });
      return { state: 'existing', finalAcl: lockedOut && !dryRun ? n.acl : null };
    }

    async function copyNode(job: Job): Promise<void> {
      let n: SourceNode | null = null;
      try {
        n = await readSource(job.path);
      } catch (e) {
        if (e instanceof KeeperError && e.code === ErrorCode.NoAuth) skip(job, 'no-auth');
        else if (e instanceof KeeperError && e.code === ErrorCode.NoNode) skip(job, 'vanished');
        else fail(job, e, 'cannot read the source node');
      }
      reading--;
      if (n === null) {
        job.resolveWritten('absent');
        backlog--;
        return;
      }
      report.nodesRead++;
      report.bytes += n.data?.length ?? 0;
      backlogBytes += n.data?.length ?? 0;
      if (n.stat.ephemeralOwner !== 0n && !includeEphemerals) {
        skip(job, 'ephemeral', `session 0x${BigInt.asUintN(64, n.stat.ephemeralOwner).toString(16)}`);
        job.resolveWritten('absent');
        backlogBytes -= n.data?.length ?? 0;
        backlog--;
        return;
      }
      if (n.acl.some(hiddenDigest)) {
        skip(job, 'acl-hidden');
        job.resolveWritten('absent');
        backlogBytes -= n.data?.length ?? 0;
        backlog--;
        return;
      }
      const children: Job[] = [];
      for (const name of n.children) {
        const child = newJob(childPath(job.path, name), job);
        children.push(child);
        if (skipZookeeper && child.path === '/zookeeper') {
          skip(child, 'zookeeper');
          child.resolveWritten('absent');
        } else if (exclude !== null && child.path === exclude) {
          skip(child, 'target');
          child.resolveWritten('absent');
        } else {
          queue.push(child);
        }
      }
      pump();
      const parentState = job.parent ? await job.parent.written : rootParent;
      let result: { state: WriteState; finalAcl: ACL[] | null };
      if (parentState === 'absent') {
        skip(job, 'parent');
        result = { state: 'absent', finalAcl: null };
      } else {
        const node = n;
        result = await writes.run(() => write(job, node, parentState));
      }
      backlogBytes -= n.data?.length ?? 0;
      n = null; // not held while the children are written
      job.resolveWritten(result.state);
      backlog--;
      pump();
      const finalAcl = result.finalAcl;
      if (finalAcl !== null) {
        await Promise.all(children.map((c) => c.written));
        try {
          await writes.run(() => d.setACL(job.target, finalAcl));
        } catch (e) {
          fail(job, e, 'setting its ACL after its children refused (it keeps CREATE and ADMIN for the copier)');
        }
      }
    }

    function pump(): void {
      while (run.aborted === null && reading < window && backlog < BACKLOG_MAX && backlogBytes < BACKLOG_BYTES_MAX && head < queue.length) {
        const job = queue[head++]!;
        if (head >= 4096 && head * 2 >= queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        reading++;
        backlog++;
        tasks++;
        copyNode(job).catch((e: unknown) => {
          fail(job, e, 'unexpected error');
          job.resolveWritten('absent'); // a no-op if it was settled; else its children must not wait forever
        }).finally(() => {
          tasks--;
          completed++;
          opts.onProgress?.({ read: report.nodesRead, done: completed });
          pump();
        });
      }
      wake();
    }

    queue.push(newJob(from.path, null));
    pump();
    await done;
    if (run.aborted !== null) throw run.aborted;
    report.nodes.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    report.seconds = Math.round((performance.now() - t0) / 10) / 100;
    report.ok = report.failed === 0 && report.conflicts === 0 &&
      (report.skippedByReason['no-auth'] ?? 0) === 0 && (report.skippedByReason['acl-hidden'] ?? 0) === 0;
    return report;
  } catch (e) {
    throw run.aborted ?? e;
  } finally {
    clearInterval(src.keepAlive);
    clearInterval(dst.keepAlive);
    src.client.removeAllListeners('close');
    dst.client.removeAllListeners('close');
    await Promise.all([src.client.close(), dst.client.close()]);
  }

  /** Creates the missing parents of the destination path (null data, world:anyone); the state of its parent. */
  async function ensureParents(target: string): Promise<WriteState> {
    if (target === '/') return 'existing';
    const parts = target.split('/').slice(1, -1);
    let state: WriteState = 'existing';
    let path = '';
    for (const part of parts) {
      path += `/${part}`;
      if (state === 'existing' && (await dst.client.exists(path)) !== null) continue;
      state = 'created';
      if (!dryRun) {
        try {
          await dst.client.create(path, null, { acl: OPEN_ACL_UNSAFE, flags: 0 });
        } catch (e) {
          if (!(e instanceof KeeperError && e.code === ErrorCode.NodeExists)) {
            throw new CopyError(`cannot create ${path} (a parent of the destination path) on ${formatEndpoint(dst.endpoint)}: ${e instanceof KeeperError ? errorName(e.code) : (e as Error).message}`);
          }
          state = 'existing';
          continue;
        }
      }
      report.created++;
      report.nodes.push({ path: '', target: path, action: 'create', detail: 'missing parent of the destination path (null data, world:anyone ACL)' });
    }
    return state;
  }
}
