// One side of `ark copy`: the full client (src/client/zookeeper.ts) on the service's hosts, with
// the copier's credentials. The client keeps the session alive, fails over between the hosts and
// reconnects, and sends the credentials again on every connection; a call here that the lost
// connection cut off is made again once the client is back (safe: reads, setData and setACL at
// any version, and creates through create(), which tells its own earlier attempt from someone
// else's node). The session is not renewed when it expires (the service was out of reach for a
// whole session timeout): that ends the copy, with one line, instead of going on in a new one.
import { createClient, type ZooKeeperClient } from '../client/zookeeper.js';
import { NoNodeError, NodeExistsError, SessionExpiredError, isRetryable } from '../client/errors.js';
import { ExponentialBackoff, type RetryPolicy } from '../client/retry.js';
import { type KeeperError, errorName } from '../util/errors.js';
import type { ACL } from '../wire/protocol.js';
import { CopyError, formatEndpoint, formatHosts, reasonOf, type Auth, type ConnectString, type Role } from './copy-args.js';
import { sameContent, type NodeContent } from './copy-content.js';

export interface SessionOptions {
  auth: Auth[];
  sessionTimeoutMs: number;
  /** per connection attempt: the TCP connect and the session handshake */
  connectTimeoutMs: number;
}

/** getChildren of a parent with hundreds of thousands of children is one large reply */
const FRAME_BYTES_MAX = 64 * 1024 * 1024;

/** What the client could not recover from: the copy stops (a node is not to blame). */
const isConnectionGone = (e: unknown): e is KeeperError => isRetryable(e) || e instanceof SessionExpiredError;

export class CopySession {
  private lostListener: (e: KeeperError) => void = () => {};
  private readonly retryPolicy: RetryPolicy;

  private constructor(
    readonly role: Role,
    private readonly hosts: string,
    private readonly client: ZooKeeperClient,
    /** host:port of the server the session started on */
    readonly connected: string,
    /** the session timeout the server granted */
    private readonly timeoutMs: number,
  ) {
    // the client waits for the connection between tries; one call failing for a whole session
    // timeout (a service that keeps hanging up) ends the copy as a lost connection would
    this.retryPolicy = new ExponentialBackoff({ baseDelayMs: 50, maxDelayMs: 1000, maxRetries: Infinity, maxElapsedMs: timeoutMs });
    client.on('expired', () => this.lost(new SessionExpiredError()));
  }

  /** A session on the first host that gives one, with every credential accepted. */
  static async open(cs: ConnectString, role: Role, o: SessionOptions): Promise<CopySession> {
    const hosts = formatHosts(cs);
    const client = createClient(hosts, {
      sessionTimeoutMs: o.sessionTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      renewSession: false,
      frameBytesMax: FRAME_BYTES_MAX,
    });
    try {
      await firstSession(client, cs, role);
      const server = client.server ?? hosts;
      await addCredentials(client, o.auth, `${server} (${role})`);
      return new CopySession(role, hosts, client, server, client.sessionTimeoutMs);
    } catch (e) {
      await client.close();
      throw e;
    }
  }

  /** Told of each loss the copy cannot get past: the session expired, or a call failed past its retries. */
  onLost(listener: (e: KeeperError) => void): void {
    this.lostListener = listener;
  }

  /** The line a copy ends with when this side is lost. */
  lostError(e: KeeperError, nodesRead: number): CopyError {
    const where = `${this.hosts} (${this.role}) after ${nodesRead} nodes read`;
    if (e instanceof SessionExpiredError) {
      return new CopyError(
        `lost the session to ${where}: SessionExpired (out of reach for longer than the session timeout, ${this.timeoutMs} ms)`,
      );
    }
    return new CopyError(`lost the connection to ${where}: ${errorName(e.code)}`);
  }

  /** op, made again (attempt 1, 2, ...) after a connection loss, once the client is connected again. */
  async call<T>(op: (c: ZooKeeperClient, attempt: number) => Promise<T>): Promise<T> {
    try {
      return await this.client.retry((attempt) => op(this.client, attempt), { policy: this.retryPolicy });
    } catch (e) {
      if (isConnectionGone(e)) this.lost(e);
      throw e;
    }
  }

  /**
   * path and its descendants by getAllChildrenNumber (ZooKeeper 3.6+, Ark), for progress only:
   * asked once, not made again and never counted as a lost connection, so a server that does not
   * know the request (or drops the connection over it) costs the total, not the copy. Null then.
   */
  async subtreeCount(path: string): Promise<number | null> {
    try {
      return 1 + (await this.client.getAllChildrenNumber(path));
    } catch {
      return null;
    }
  }

  /** A node's data and ACL, or null when there is none. */
  async content(path: string): Promise<NodeContent | null> {
    try {
      const [{ data }, { acl }] = await Promise.all([this.call((c) => c.getData(path)), this.call((c) => c.getACL(path))]);
      return { data, acl };
    } catch (e) {
      if (e instanceof NoNodeError) return null;
      throw e;
    }
  }

  /**
   * Creates a persistent node. A create made again after a lost connection can meet the node its
   * first attempt made (applied, answer lost): NodeExists then counts as this create when the node
   * holds exactly what was sent, and is thrown otherwise, as on a first attempt.
   */
  async create(path: string, data: Buffer | null, acl: ACL[]): Promise<void> {
    let again = false;
    try {
      await this.call((c, attempt) => {
        again = attempt > 0;
        return c.create(path, data, { acl });
      });
    } catch (e) {
      if (!(again && e instanceof NodeExistsError)) throw e;
      const there = await this.content(path);
      if (there === null || !sameContent(there, { data, acl })) throw e;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private lost(e: KeeperError): void {
    this.lostListener(e);
  }
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host',
  EAI_NONAME: 'unknown host',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
};

function describeAttempt(f: { reason: string; code?: string }): string {
  return (f.code !== undefined ? SOCKET_ERRORS[f.code] : undefined) ?? f.reason;
}

/**
 * Waits for the client's first session. The client would go round its hosts for ever; a copy that
 * cannot start says so once every host has failed an attempt, with what each one answered.
 */
async function firstSession(client: ZooKeeperClient, cs: ConnectString, role: Role): Promise<void> {
  const hosts = cs.hosts.map(formatEndpoint);
  const why = new Map<string, string>();
  const everyHostFailed = new AbortController();
  const onFailed = (f: { server: string; reason: string; code?: string }): void => {
    if (!why.has(f.server)) why.set(f.server, describeAttempt(f));
    if (hosts.every((h) => why.has(h))) everyHostFailed.abort();
  };
  client.on('connectFailed', onFailed);
  try {
    await client.waitForConnected({ signal: everyHostFailed.signal });
  } catch (e) {
    const failures = !everyHostFailed.signal.aborted
      ? [e instanceof SessionExpiredError ? 'the server refused the session' : reasonOf(e)]
      : hosts.length === 1
        ? [why.get(hosts[0]!)]
        : hosts.map((h) => `${h} ${why.get(h)}`);
    throw new CopyError(`cannot connect to ${hosts.join(',')} (${role}): ${failures.join('; ')}`);
  } finally {
    client.off('connectFailed', onFailed);
  }
}

async function addCredentials(client: ZooKeeperClient, auth: Auth[], where: string): Promise<void> {
  for (const a of auth) {
    try {
      await client.addAuth(a.scheme, a.credentials);
    } catch (e) {
      throw new CopyError(`--auth ${a.scheme}:...: rejected by ${where}: ${reasonOf(e)}`);
    }
  }
}
