// The web console (issue 16), served by the AdminServer at /console: the page (console/, bundled
// by esbuild into dist/console at build time, no CDN) and its JSON API under /console/api/.
//
// Security:
// - Login with digest credentials (user:password), as the AdminServer's `Authorization: digest`.
//   ZooKeeper's digest scheme accepts any password (it only derives an id from it), so a login is
//   accepted when its id is the super user's (zookeeper.DigestAuthenticationProvider.superDigest)
//   or is named by some znode's ACL: a mistyped password derives an id that matches nothing.
// - Each login gets its own ZooKeeper session with those credentials (ConsoleSession): every read
//   and write is checked by the server's ACL code as that user's, and it cannot do more than the
//   same user with zkCli (its connection has no ip id: an ip ACL naming loopback does not apply).
// - The session id is an HttpOnly, SameSite=Strict cookie; every POST needs the session's CSRF
//   token in a header (which another origin cannot read or send), a JSON body (no form posts) and,
//   when the browser sends one, this origin. Nothing secret goes in a URL or a log line.
// - The page renders node data as text only; a Content-Security-Policy allows no inline script.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Writable } from 'node:stream';
import { aclAllows, authenticate } from '../tree/acl.js';
import { Perms, type ACL, type Id } from '../wire/protocol.js';
import type { Logger } from '../util/log.js';
import { KeeperError } from '../util/errors.js';
import { ConsoleSession } from './console-session.js';
import { ZooKeeperClient } from '../client/zookeeper.js';
import { LoginThrottle } from './console-throttle.js';
import { MetricsHistory, type MetricsSample } from './console-metrics.js';
import {
  ConsoleError,
  aclFor,
  checkedPath,
  childPage,
  dataOf,
  deleteSubtree,
  keeperProblem,
  modeFor,
  readNode,
  subtreeCount,
  writeData,
} from './console-tree.js';

export interface ConsoleDeps {
  log: Logger;
  superDigest: string | undefined;
  /** the server's console socket, null until it serves clients */
  socketPath(): string | null;
  /** every distinct ACL list in the tree (DataTree.aclLists) */
  aclLists(): Iterable<readonly ACL[]>;
  /** what the header shows: mode, server id, version */
  serverInfo(): Record<string, unknown>;
  /** every member's role, state and zxid (console-ensemble.ts) */
  ensemble(): Promise<unknown>;
  /** the sessions this member knows (console-sessions.ts) */
  sessions(): unknown;
  /** a known session's password, to close it as its own client would (null: no such session) */
  sessionPasswd(id: bigint): Buffer | null;
  /** the ACL of "/": the sessions page needs ALL on it, as the AdminServer's admin commands */
  rootAcl(): readonly ACL[];
  /** the server's counters now, for the metrics page (null while the data dir loads) */
  metricsSample(): MetricsSample | null;
  /** the last scheduled backup and the continuous archive's progress (mntr's zk_last_backup_* and zk_archive_*) */
  backupStatus(): Record<string, number>;
  /** a consistent backup streamed into `out` (the AdminServer's snapshot command) */
  backupTo(out: Writable, onStart: (zxid: number, nodes: number) => void, signal: AbortSignal): Promise<unknown>;
  requestBytesMax: number;
  now(): number;
  /** the built page's folder (dist/console) */
  staticDir?: URL;
}

/** a console session unused this long is closed, with its ZooKeeper session */
const IDLE_MS = 30 * 60_000;
/** logged-in console sessions at once (each holds a ZooKeeper session on this server) */
const SESSIONS_MAX = 64;
/** a JSON request body: a znode's data (jute.maxbuffer, base64) with room to spare */
const BODY_BYTES_MAX = 4 * 1024 * 1024;
/** a login is a user name and a password: anything larger is not one, and is not buffered */
const LOGIN_BODY_BYTES_MAX = 8 * 1024;
/** a backup download that stalls this long is cut, so it cannot hold the capture lock (as the AdminServer's snapshot) */
const BACKUP_STALL_MS = 60_000;
const CSRF_HEADER = 'x-ark-csrf';

const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function isConsolePath(pathname: string): boolean {
  return pathname === '/console' || pathname.startsWith('/console/');
}

export class Console {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly files = new Map<string, Buffer>();
  private readonly timer: NodeJS.Timeout;
  private readonly throttle = new LoginThrottle();
  private readonly metrics: MetricsHistory;

  constructor(private readonly deps: ConsoleDeps) {
    const dir = deps.staticDir ?? new URL('../../console/', import.meta.url);
    for (const name of Object.keys(STATIC)) {
      try {
        this.files.set(name, readFileSync(new URL(name, dir)));
      } catch {
        /* not built: the page says so */
      }
    }
    this.timer = setInterval(() => this.sweep(), 15_000);
    this.timer.unref();
    this.metrics = new MetricsHistory(() => deps.metricsSample());
    this.metrics.start();
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const p = url.pathname;
    if (p === '/console') {
      res.writeHead(302, { location: '/console/', ...SECURITY_HEADERS });
      res.end();
      return;
    }
    if (p.startsWith('/console/api/')) {
      this.api(req, res, url).catch((e: unknown) => this.fail(res, e));
      return;
    }
    const name = p === '/console/' ? 'index.html' : p.slice('/console/'.length);
    const body = this.files.get(name);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'MethodNotAllowed', message: 'use GET' });
    if (!body) {
      if (name === 'index.html')
        return sendText(res, 503, 'The web console is not built: run `npm run build` (it bundles console/ into dist/console).');
      return sendText(res, 404, 'not found');
    }
    res.writeHead(200, { 'content-type': STATIC[name]!, ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname.slice('/console/api'.length)}`;
    if (route === 'POST /login') return this.login(req, res);
    const session = this.sessionOf(req);
    if (!session) return sendJson(res, 401, { error: 'NotLoggedIn', message: 'log in first' });
    session.lastSeenMs = this.deps.now();
    if (req.method === 'POST') this.checkPost(req, session);
    const q = url.searchParams;
    const c = session.client;
    switch (route) {
      case 'GET /session':
        return sendJson(res, 200, { user: session.user, csrf: session.csrf, server: this.deps.serverInfo() });
      case 'POST /logout':
        this.sessions.delete(session.id);
        await session.close();
        res.setHeader('set-cookie', this.cookie(req, '', 0));
        return sendJson(res, 200, {});
      case 'GET /events':
        return session.stream(res);
      case 'GET /node': {
        const path = checkedPath(q.get('path'));
        session.watch(path);
        return sendJson(res, 200, await readNode(c, path));
      }
      case 'GET /children': {
        const path = checkedPath(q.get('path'));
        session.watch(path);
        const n = (k: string, d: number): number => Math.max(0, Number.parseInt(q.get(k) ?? '', 10) || d);
        return sendJson(res, 200, await childPage(c, session.children, path, n('offset', 0), n('limit', 100), q.get('prefix') ?? ''));
      }
      case 'GET /ensemble':
        return sendJson(res, 200, await this.deps.ensemble());
      case 'GET /metrics':
        return sendJson(res, 200, this.metrics.series());
      case 'GET /sessions':
        this.checkAdmin(session, 'the sessions page');
        return sendJson(res, 200, this.deps.sessions());
      case 'GET /backups':
        this.checkAdmin(session, 'the backups page');
        return sendJson(res, 200, this.deps.backupStatus());
      case 'GET /backup':
        this.checkAdmin(session, 'a backup');
        return this.backup(res, session);
      case 'GET /count': {
        const path = checkedPath(q.get('path'));
        return sendJson(res, 200, { path, count: await subtreeCount(c, path) });
      }
    }
    const body = await readJson(req);
    switch (route) {
      case 'POST /create': {
        const path = checkedPath(body.path);
        const created = await c
          .create(path, dataOf(body.data ?? ''), { mode: modeFor(body.mode ?? 'persistent') as 0, acl: aclFor(body.acl ?? 'open') })
          .catch(rethrow(path));
        this.deps.log.info({ user: session.user, path: created }, 'console: znode created');
        return sendJson(res, 200, { path: created });
      }
      case 'POST /set': {
        const path = checkedPath(body.path);
        if (!Number.isInteger(body.version)) throw new ConsoleError(400, 'BadArguments', 'version must be an integer (-1: any)');
        const out = await writeData(c, path, dataOf(body.data), body.version as number);
        this.deps.log.info({ user: session.user, path }, 'console: znode data set');
        return sendJson(res, 200, out);
      }
      case 'POST /close-session': {
        this.checkAdmin(session, 'closing a session');
        return sendJson(res, 200, await this.closeSession(body.id, session));
      }
      case 'POST /delete': {
        const path = checkedPath(body.path);
        if (path === '/' || path === '/zookeeper' || path.startsWith('/zookeeper/'))
          throw new ConsoleError(400, 'BadArguments', `${path} cannot be deleted from the console`);
        if (body.recursive === true) {
          // the page asks the user to type the path; the API insists too, so no request deletes a subtree by accident
          if (body.confirm !== path) throw new ConsoleError(400, 'BadArguments', 'a recursive delete needs confirm: the path, typed');
          const deleted = await deleteSubtree(c, path);
          this.deps.log.info({ user: session.user, path, deleted }, 'console: subtree deleted');
          return sendJson(res, 200, { path, deleted });
        }
        const version = Number.isInteger(body.version) ? (body.version as number) : -1;
        await c.delete(path, { version }).catch(rethrow(path));
        this.deps.log.info({ user: session.user, path }, 'console: znode deleted');
        return sendJson(res, 200, { path, deleted: 1 });
      }
    }
    throw new ConsoleError(404, 'NotFound', `no such console API: ${route}`);
  }

  /** POST /console/api/login {user, password}: a known digest identity gets a console session. */
  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.checkOrigin(req);
    const body = await readJson(req, LOGIN_BODY_BYTES_MAX);
    const user = typeof body.user === 'string' ? body.user : '';
    const password = typeof body.password === 'string' ? body.password : '';
    // failures count per address and user: one user's good login does not reset the count of
    // guesses at another's password, and guesses at one user do not lock the others out
    const remote = `${(req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')} ${user}`;
    const wait = this.throttle.waitMs(remote, this.deps.now());
    if (wait > 0) {
      res.setHeader('retry-after', String(Math.ceil(wait / 1000)));
      throw new ConsoleError(429, 'TooManyAttempts', `too many failed logins from this address: try again in ${Math.ceil(wait / 1000)} s`);
    }
    if (user === '' || user.includes(':') || !this.known(`${user}:${password}`)) {
      this.throttle.failed(remote, this.deps.now());
      this.deps.log.warn({ user, remote: req.socket.remoteAddress }, 'console: login refused (unknown user or wrong password)');
      return sendJson(res, 401, { error: 'AuthFailed', message: 'unknown user or wrong password' });
    }
    this.throttle.succeeded(remote);
    const socketPath = this.deps.socketPath();
    if (socketPath === null) throw new ConsoleError(503, 'NotServing', 'the server is not serving clients yet: try again shortly');
    this.sweep();
    if (this.sessions.size >= SESSIONS_MAX)
      throw new ConsoleError(
        503,
        'TooManySessions',
        `${SESSIONS_MAX} console sessions are open: log out of one, or wait for idle ones to end`,
      );
    const id = randomBytes(32).toString('base64url');
    const s = new ConsoleSession(
      id,
      randomBytes(32).toString('base64url'),
      user,
      this.idsOf(`${user}:${password}`),
      `${user}:${password}`,
      socketPath,
      this.deps.requestBytesMax,
      this.deps.now(),
    );
    try {
      await s.client.waitForConnected({ timeoutMs: 10_000 });
      await s.client.whoAmI(); // the digest credentials went first: a refusal (enforce.auth) shows here
    } catch (e) {
      await s.close();
      throw new ConsoleError(503, 'NotServing', `cannot open a ZooKeeper session for the console: ${(e as Error).message}`);
    }
    this.sessions.set(id, s);
    this.deps.log.info({ user, remote }, 'console: logged in');
    res.setHeader('set-cookie', this.cookie(req, id, IDLE_MS / 1000));
    sendJson(res, 200, { user, csrf: s.csrf, server: this.deps.serverInfo() });
  }

  /** Users with every permission on "/" (or the super user) only, as the AdminServer's admin commands (ZOOKEEPER-4639). */
  private checkAdmin(s: ConsoleSession, what: string): void {
    if (!hasEveryPerm(this.deps.rootAcl(), s.ids) && !s.ids.some((id) => id.scheme === 'super'))
      throw new ConsoleError(
        403,
        'NoAuth',
        `${what} needs ALL permission on / given to this user by name (world:anyone does not count), or the super user`,
      );
  }

  /** A consistent backup of the whole tree, streamed as a download (what `ark backup create --admin` gets). */
  private async backup(res: ServerResponse, s: ConsoleSession): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    res.setTimeout(BACKUP_STALL_MS, () => {
      abort.abort();
      res.destroy();
    });
    try {
      await this.deps.backupTo(
        res,
        (zxid, nodes) => {
          this.deps.log.info({ user: s.user, zxid: `0x${zxid.toString(16)}`, nodes }, 'console: backup download started');
          res.writeHead(200, {
            ...SECURITY_HEADERS,
            'content-type': 'application/octet-stream',
            'content-disposition': `attachment; filename="ark-backup-0x${zxid.toString(16)}.arkb"`,
          });
        },
        abort.signal,
      );
    } catch (e) {
      if (abort.signal.aborted) return;
      if (!res.headersSent) throw new ConsoleError(503, 'BackupFailed', `the backup failed: ${(e as Error).message}`);
      this.deps.log.error({ err: (e as Error).message }, 'console: a backup download failed midway; the server is unaffected');
      res.destroy();
    }
  }

  /**
   * Closes another client's session the way a client closes its own: a connection resumes it with
   * its id and password (which this member knows, as every member does), then sends closeSession.
   * So it is one ordinary closeSession txn (forwarded to the leader on a follower): the ephemerals
   * go, the watchers are told, and the client whose session it was finds it expired (the trick
   * Curator's KillSession uses).
   */
  private async closeSession(raw: unknown, s: ConsoleSession): Promise<Record<string, unknown>> {
    if (typeof raw !== 'string' || !/^0x[0-9a-f]{1,16}$/i.test(raw))
      throw new ConsoleError(400, 'BadArguments', 'id must be a session id in hex (0x...)');
    const id = BigInt.asIntN(64, BigInt(raw));
    if (id === s.client.sessionId) throw new ConsoleError(400, 'BadArguments', "that is this console page's own session: log out instead");
    const passwd = this.deps.sessionPasswd(id);
    const socketPath = this.deps.socketPath();
    if (!passwd || socketPath === null) throw new ConsoleError(404, 'NoSession', `no session ${raw} on this server`);
    const closer = new ZooKeeperClient('console:1', {
      socketPath,
      session: { id, password: passwd },
      renewSession: false,
      sessionTimeoutMs: 30_000,
    });
    try {
      await closer.waitForConnected({ timeoutMs: 10_000 });
    } catch (e) {
      await closer.close().catch(() => undefined);
      throw new ConsoleError(
        409,
        'SessionExpired',
        `session ${raw} could not be resumed (it may have just ended): ${(e as Error).message}`,
      );
    }
    await closer.close();
    this.deps.log.info({ user: s.user, session: raw }, 'console: closed a client session');
    return { id: raw, closed: true };
  }

  /** the ids these digest credentials give a connection (super when they are the super user's) */
  private idsOf(credentials: string): Id[] {
    return authenticate('digest', Buffer.from(credentials), '', this.deps.superDigest) ?? [];
  }

  /** the super user's credentials, or a digest id some znode's ACL names */
  private known(credentials: string): boolean {
    const ids = this.idsOf(credentials);
    if (ids.some((i) => i.scheme === 'super')) return true;
    const digest = ids.find((i) => i.scheme === 'digest')?.id;
    for (const acl of this.deps.aclLists()) if (acl.some((a) => a.id.scheme === 'digest' && a.id.id === digest)) return true;
    return false;
  }

  /** the cookie is per AdminServer port: cookies ignore ports, and two servers on one host must not share one */
  private cookieName(req: IncomingMessage): string {
    return `ark_console_${req.socket.localPort ?? 0}`;
  }

  private cookie(req: IncomingMessage, value: string, maxAgeS: number): string {
    const secure = (req.socket as TLSSocket).encrypted ? '; Secure' : '';
    return `${this.cookieName(req)}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`;
  }

  private sessionOf(req: IncomingMessage): ConsoleSession | null {
    const name = this.cookieName(req);
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, v] = part.trim().split('=', 2);
      if (k === name && v) {
        const s = this.sessions.get(v);
        if (s && this.deps.now() - s.lastSeenMs < IDLE_MS) return s;
      }
    }
    return null;
  }

  /** A request from another origin carries its Origin (browsers send it on every POST): refused. */
  private checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host = '';
      try {
        host = new URL(origin).host;
      } catch {
        /* "null" or garbage: refused below */
      }
      if (host !== req.headers.host) throw new ConsoleError(403, 'CrossOrigin', 'requests from another origin are refused');
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      throw new ConsoleError(415, 'BadContentType', 'send a JSON body (content-type: application/json)');
  }

  private checkPost(req: IncomingMessage, s: ConsoleSession): void {
    this.checkOrigin(req);
    const sent = Buffer.from(String(req.headers[CSRF_HEADER] ?? ''));
    const want = Buffer.from(s.csrf);
    if (sent.length !== want.length || !timingSafeEqual(sent, want))
      throw new ConsoleError(403, 'CsrfTokenMissing', `this request needs the session's CSRF token in the ${CSRF_HEADER} header`);
  }

  private fail(res: ServerResponse, e: unknown): void {
    if (e instanceof ConsoleError) return sendJson(res, e.status, { error: e.code, message: e.message, ...e.extra });
    if (e instanceof KeeperError) {
      const c = keeperProblem(e, e.path ?? '');
      return sendJson(res, c.status, { error: c.code, message: c.message });
    }
    this.deps.log.error({ err: (e as Error).stack }, 'console request failed: a bug in Ark, please report it; the server is unaffected');
    sendJson(res, 500, { error: 'SystemError', message: (e as Error).message });
  }

  /** closes sessions idle too long; keeps event streams open */
  private sweep(): void {
    const now = this.deps.now();
    for (const [id, s] of this.sessions) {
      if (now - s.lastSeenMs >= IDLE_MS) {
        this.sessions.delete(id);
        void s.close();
      } else s.keepAlive();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.metrics.stop();
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}

/**
 * Every permission bit on `acl` (aclAllows, like ZooKeeper's checkACL, passes when any one bit of
 * the asked perms is granted: a world READ entry would let everyone in).
 */
function hasEveryPerm(acl: readonly ACL[], ids: readonly Id[]): boolean {
  // world:anyone left out: ZooKeeper's default root (world:anyone ALL) would make every logged-in
  // user an admin, able to download every node's data past its ACL; an admin is a user the root
  // ACL names (or the super user)
  const named = acl.filter((a) => !(a.id.scheme === 'world' && a.id.id === 'anyone'));
  return named.length > 0 && [Perms.READ, Perms.WRITE, Perms.CREATE, Perms.DELETE, Perms.ADMIN].every((bit) => aclAllows(named, bit, ids));
}

const rethrow =
  (path: string) =>
  (e: unknown): never => {
    throw e instanceof KeeperError ? keeperProblem(e, path) : e;
  };

function readJson(req: IncomingMessage, maxBytes = BODY_BYTES_MAX): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > maxBytes) {
        reject(new ConsoleError(413, 'TooLarge', `a request body is at most ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => {
      try {
        const v = JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch (e) {
        reject(new ConsoleError(400, 'BadJson', `the body must be a JSON object: ${(e as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
  res.end(text);
}
