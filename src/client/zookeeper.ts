// ZooKeeperClient: the production client for any ZooKeeper-protocol server (Ark, Apache ZooKeeper
// 3.4-3.9). This file is the shell around the pure ConnectionMachine (machine.ts) and the pure
// WatchRegistry (watches.ts): it owns the sockets (transport.ts), the one timer, the request
// queues and the promises. See README.md "Client" and the state diagram in machine.ts.
//
// Requests: sent at once while connected; while not connected they wait in a queue and go out,
// in order, right after the next handshake (after re-sent auth and re-registered watches). A
// request in flight when the connection breaks fails with ConnectionLossError (it may or may not
// have been applied); one that could not be sent within the session timeout fails with
// ConnectionLossError too; when the session expires, everything outstanding fails with
// SessionExpiredError. Replies arrive in request order (ZooKeeper's FIFO client order), and a
// watch event is delivered before the reply that follows it on the wire.
import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import type { ClientTlsOptions } from './transport.js';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import {
  AddWatchMode,
  OpCode,
  Perms,
  Xid,
  WatcherType,
  readACLs,
  readConnectResponse,
  readOpResults,
  readStat,
  writeConnectRequest,
  writeRequest,
  type ACL,
  type Request,
  type Stat,
} from '../wire/protocol.js';
import { ErrorCode, KeeperError } from '../util/errors.js';
import type { SubtreeNode } from '../wire/subtree.js';
import {
  AuthFailedError,
  BadArgumentsError,
  ConnectionClosedError,
  ConnectionLossError,
  MarshallingError,
  NoNodeError,
  NodeExistsError,
  NoWatcherError,
  RequestTimeoutError,
  SessionExpiredError,
  UnimplementedError,
  badArguments,
  errorFor,
} from './errors.js';
import { ConnectionMachine, type Action, type ClientState, type StateEvent } from './machine.js';
import {
  CreateMode,
  createRequest,
  eventTypeName,
  fromWireResult,
  keeperStateName,
  toBuffer,
  toWireReadOp,
  toWireTxnOp,
  type CreateSpec,
  type Data,
  type OpResult,
  type ReadOp,
  type TxnOp,
  type WatchedEvent,
  type Watcher,
} from './ops.js';
import {
  formatHostPort,
  insideChroot,
  joinPath,
  parentPaths,
  parseConnectString,
  prependChroot,
  stripChroot,
  validatePath,
  type HostPort,
} from './paths.js';
import { withRetry, type RetryOptions } from './retry.js';
import { DigestMd5Client, type SaslCredentials } from './sasl.js';
import { Transport, probeReadWrite, tlsConnectionOptions } from './transport.js';
import { SET_WATCHES_BYTES_MAX, WatchRegistry, kindsOf, removedEventType, splitSetWatches, type WatchKind } from './watches.js';

export type { ClientState } from './machine.js';
export type { SaslCredentials } from './sasl.js';

export type { ClientTlsOptions } from './transport.js';

export interface ClientOptions {
  /** requested session timeout; the server grants one within its min/max (2-20 ticks by default). Default 30000 */
  sessionTimeoutMs?: number;
  /** per connection attempt (TCP + handshake); default max(1000, session timeout / number of hosts) */
  connectTimeoutMs?: number;
  /** backoff between failed connection attempts (the first retry after a working connection broke is immediate) */
  reconnectDelayMs?: { initialMs: number; maxMs: number };
  /** default timeout of every request, from the call until its reply; 0 = none (the default) */
  requestTimeoutMs?: number;
  /** accept a read-only server (one cut off from its quorum, readonlymode.enabled); default false */
  allowReadOnly?: boolean;
  /**
   * After the session expires, start a new one (Curator and kazoo do; the Java client stays
   * expired). Default true. When false an expired client is finished, like a closed one.
   */
  renewSession?: boolean;
  /** resume an existing session (its id and password, e.g. from another client's sessionId / sessionPassword) */
  session?: { id: bigint; password: Buffer };
  /** TLS to every server (true: default trust, no client certificate) */
  tls?: ClientTlsOptions | true;
  /**
   * SASL DIGEST-MD5 (a JAAS Client section's DigestLoginModule username/password): authenticate on
   * every connection, after the handshake and before any other request, as the Java client's
   * ZooKeeperSaslClient. A refusal is final: state 'authFailed', requests fail with AuthFailedError.
   */
  sasl?: SaslCredentials;
  /** credentials sent on every connection before any request (ZooKeeper's addAuthInfo) */
  auth?: Array<{ scheme: string; auth: string | Buffer }>;
  /** the largest reply accepted, in bytes; a larger one fails its request with MarshallingError. Default 16 MiB */
  frameBytesMax?: number;
  /**
   * the largest request sent, in bytes (the server's jute.maxbuffer, 1 MiB - 1 by default on
   * ZooKeeper and Ark); a larger one fails at once with BadArgumentsError instead of costing the
   * connection. Default 1048575
   */
  requestBytesMax?: number;
  /**
   * connect over this Unix domain socket instead of TCP; the connect string's host then only names
   * the server in logs (the server's web console uses it: a session with no network address)
   */
  socketPath?: string;
  /** setWatches requests are split to stay under this many bytes of paths. Default 128 KiB, as ZooKeeper */
  setWatchesBytesMax?: number;
  /** uniform random numbers in [0, 1) for host order and jitter (tests). Default Math.random */
  random?: () => number;
}

export interface RequestOptions {
  /** overrides ClientOptions.requestTimeoutMs for this call: reject with RequestTimeoutError after this long */
  timeoutMs?: number;
  /**
   * stops waiting: the promise rejects with signal.reason. A request already sent may still be
   * applied by the server.
   */
  signal?: AbortSignal;
}

export interface WatchOptions extends RequestOptions {
  /** leave a watch: a function called with the event, or true for the client's 'watch' event */
  watch?: Watcher | boolean;
}

export interface VersionOptions extends RequestOptions {
  /** the expected version; -1 (default) matches any */
  version?: number;
}

export interface CreateOptions extends CreateSpec, RequestOptions {
  /** create missing parents first, as persistent nodes (true) or containers ('container'), with the same ACL */
  createParents?: boolean | 'container';
}

export interface NodeData {
  /** null when the znode was created without data (as opposed to empty data) */
  data: Buffer | null;
  stat: Stat;
}

export interface SessionInfo {
  sessionId: bigint;
  /** host:port of the server */
  server: string;
  /** the negotiated session timeout */
  timeoutMs: number;
}

/** The events of a ZooKeeperClient; listen with client.on(name, listener). */
export interface ClientEvents {
  /** every state change */
  state: (state: ClientState, previous: ClientState) => void;
  /** a new session is established (the first, or a new one after 'expired') */
  connected: (info: SessionInfo) => void;
  /** the same session is established again after 'suspended' */
  reconnected: (info: SessionInfo) => void;
  /** connected to a read-only server (allowReadOnly) */
  readOnly: (info: SessionInfo) => void;
  /** the connection broke; the session may live on and the client is reconnecting (Curator SUSPENDED, Java Disconnected) */
  suspended: (info: { reason: string }) => void;
  /**
   * the session is gone, with its ephemerals and watches (Curator/kazoo LOST): the server said so
   * ('server'), or the client heard nothing for the whole session timeout ('local')
   */
  expired: (info: { reason: 'server' | 'local'; sessionId: bigint }) => void;
  /**
   * a connection attempt to one server ended without a session; the client goes on with the next
   * host (after a backoff once every host failed). code: the socket error's (ECONNREFUSED,
   * ENOTFOUND, ...), or ETIMEDOUT when no session came within connectTimeoutMs
   */
  connectFailed: (info: { server: string; reason: string; code?: string }) => void;
  /**
   * the server refused credentials given to addAuth (or ClientOptions.auth; they are not sent
   * again), or SASL failed (scheme 'sasl': the client is finished, state 'authFailed')
   */
  authFailed: (info: { scheme: string; reason?: string }) => void;
  /** SASL succeeded on a connection (the Java client's SaslAuthenticated event) */
  saslAuthenticated: (info: { username: string; server: string }) => void;
  closed: () => void;
  /** watch events for watches set with `watch: true` */
  watch: (event: WatchedEvent) => void;
}

export interface ZooKeeperClient {
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this;
  once<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this;
  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this;
  emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): boolean;
}

interface Pending {
  opcode: number;
  /** the framed request with xid 0, patched when sent */
  frame: Buffer;
  /** client path for errors */
  path: string | undefined;
  decode: (r: JuteReader) => unknown;
  /** before resolve/reject: watch (de)registration on the reply's error code */
  onReply: ((err: number) => void) | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** settled early (timeout / abort): the reply, when it comes, is dropped */
  settled: boolean;
  sent: boolean;
  xid: number;
  timeoutMs: number;
  /** bounds the wait for a connection while queued */
  waitTimer: NodeJS.Timeout | null;
  cleanup: () => void;
}

interface AuthEntry {
  scheme: string;
  auth: Buffer;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

const DEFAULT_FRAME_BYTES_MAX = 16 * 1024 * 1024;
const DEFAULT_REQUEST_BYTES_MAX = 0xfffff;
const CONFIG_NODE = '/zookeeper/config';

/**
 * Starts a client (it connects in the background) and returns it at once. Use
 * client.waitForConnected() or connect() to wait for the session.
 */
export function createClient(connectString: string, options: ClientOptions = {}): ZooKeeperClient {
  return new ZooKeeperClient(connectString, options);
}

/**
 * Starts a client and resolves once its session is established; rejects (and closes the client)
 * when that does not happen within timeoutMs (default: the session timeout) or the signal aborts.
 */
export async function connect(
  connectString: string,
  options: ClientOptions & { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ZooKeeperClient> {
  const { timeoutMs, signal, ...rest } = options;
  const client = new ZooKeeperClient(connectString, rest);
  try {
    await client.waitForConnected({ timeoutMs: timeoutMs ?? client.requestedTimeoutMs, ...(signal ? { signal } : {}) });
  } catch (e) {
    await client.close();
    throw e;
  }
  return client;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above only types the events this class emits (on/once/off overloads)
export class ZooKeeperClient extends EventEmitter {
  /** the chroot from the connect string, or null */
  readonly chroot: string | null;
  readonly hosts: readonly HostPort[];
  readonly requestedTimeoutMs: number;
  private readonly machine: ConnectionMachine;
  private readonly transports = new Map<number, Transport>();
  private handshaking = new Set<number>();
  private connectedAttempt: number | null = null;
  private readonly inflight: Pending[] = [];
  private readonly queue: Pending[] = [];
  private readonly authInFlight: AuthEntry[] = [];
  private setWatchesInFlight = 0;
  private readonly authInfo: AuthEntry[] = [];
  private readonly watches = new WatchRegistry<Watcher>();
  private readonly defaultWatcher: Watcher = (e) => {
    this.emit('watch', e);
  };
  private xid = 1;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private pumping = false;
  private closing = false;
  private closeWaiters: Array<() => void> = [];
  /** waitForConnected callers (not 'state' listeners: many may wait at once) */
  private readonly stateWaiters = new Set<(s: ClientState) => void>();
  private probing = false;
  private readonly frameBytesMax: number;
  private readonly requestBytesMax: number;
  private readonly setWatchesBytesMax: number;
  private readonly requestTimeoutMs: number;
  private readonly renew: boolean;
  private closeAttempt: number | null = null;
  private readonly socketPath: string | undefined;
  private readonly tls: ConnectionOptions | undefined;
  private readonly sasl: SaslCredentials | undefined;
  /** the SASL exchange under way (one connection at a time) */
  private saslRun: { attempt: number; xid: number; client: DigestMd5Client } | null = null;
  private authFailedReason = '';

  constructor(connectString: string, options: ClientOptions = {}) {
    super();
    const cs = parseConnectString(connectString);
    this.chroot = cs.chroot;
    this.hosts = cs.hosts;
    this.requestedTimeoutMs = options.sessionTimeoutMs ?? 30000;
    this.frameBytesMax = options.frameBytesMax ?? DEFAULT_FRAME_BYTES_MAX;
    this.requestBytesMax = options.requestBytesMax ?? DEFAULT_REQUEST_BYTES_MAX;
    this.setWatchesBytesMax = options.setWatchesBytesMax ?? SET_WATCHES_BYTES_MAX;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.socketPath = options.socketPath;
    this.renew = options.renewSession ?? true;
    this.tls = options.tls === undefined ? undefined : tlsConnectionOptions(options.tls === true ? {} : options.tls);
    if (options.sasl && (options.sasl.mechanism ?? 'DIGEST-MD5') !== 'DIGEST-MD5')
      throw new Error(`SASL mechanism ${String(options.sasl.mechanism)}: only DIGEST-MD5 is offered`);
    this.sasl = options.sasl;
    for (const a of options.auth ?? []) this.authInfo.push({ scheme: a.scheme, auth: toAuthBytes(a.auth), waiters: [] });
    this.machine = new ConnectionMachine({
      hosts: cs.hosts,
      sessionTimeoutMs: this.requestedTimeoutMs,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.reconnectDelayMs ? { reconnectDelayMs: options.reconnectDelayMs } : {}),
      allowReadOnly: options.allowReadOnly === true,
      renewSession: this.renew,
      sasl: this.sasl !== undefined,
      ...(options.session ? { session: { id: options.session.id, passwd: options.session.password } } : {}),
      random: options.random ?? Math.random,
    });
    this.step({ type: 'start', now: Date.now() });
  }

  // ---------- session and state ----------

  /** connecting | connected | readOnly | suspended | expired | authFailed | closed */
  get state(): ClientState {
    return this.machine.state;
  }
  /** the session id (0n before the first session) */
  get sessionId(): bigint {
    return this.machine.sessionId;
  }
  /** the session password: with sessionId, lets another client resume this session */
  get sessionPassword(): Buffer {
    return Buffer.from(this.machine.passwd);
  }
  /** the session timeout the server granted (the requested one before the first handshake) */
  get sessionTimeoutMs(): number {
    return this.machine.negotiatedTimeoutMs;
  }
  /** the highest zxid seen in a reply */
  get lastZxid(): number {
    return this.machine.lastZxid;
  }
  /** host:port of the server the session is on, or null while not connected */
  get server(): string | null {
    const h = this.connectedAttempt !== null ? this.transports.get(this.connectedAttempt)?.host : undefined;
    return h ? formatHostPort(h) : null;
  }
  get connected(): boolean {
    return this.state === 'connected' || this.state === 'readOnly';
  }

  /**
   * Resolves when the client is connected (now, or later); rejects with ConnectionClosedError
   * when it is closed, SessionExpiredError when its session expired and it does not renew
   * sessions, ConnectionLossError after timeoutMs, or signal.reason.
   */
  waitForConnected(o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.finished()) return Promise.reject(this.finishedError());
    return new Promise((resolve, reject) => {
      let t: NodeJS.Timeout | null = null;
      const cleanup = (): void => {
        if (t) clearTimeout(t);
        this.stateWaiters.delete(onState);
        o.signal?.removeEventListener('abort', onAbort);
      };
      const onState = (s: ClientState): void => {
        if (s === 'connected' || s === 'readOnly') {
          cleanup();
          resolve();
        } else if (this.finished()) {
          cleanup();
          reject(this.finishedError());
        }
      };
      const onAbort = (): void => {
        cleanup();
        reject(o.signal!.reason);
      };
      if (o.signal?.aborted) {
        reject(o.signal.reason);
        return;
      }
      this.stateWaiters.add(onState);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      if (o.timeoutMs !== undefined && o.timeoutMs > 0) {
        t = setTimeout(() => {
          cleanup();
          const e = new ConnectionLossError();
          e.message = `not connected to ${this.hosts.map(formatHostPort).join(',')} within ${o.timeoutMs} ms (state ${this.state})`;
          reject(e);
        }, o.timeoutMs);
      }
    });
  }

  /**
   * Closes the session (closeSession: its ephemerals go at once) and the connection. Outstanding
   * requests sent before close() are answered first; anything after fails with ConnectionClosedError.
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.closing = true;
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    // requests that never left cannot be answered
    for (const p of this.queue.splice(0)) this.settle(p, new ConnectionClosedError(p.path));
    this.step({ type: 'close', now: Date.now() });
    return done;
  }

  /** Runs op with withRetry, waiting for the connection between attempts (Curator's retryUntilConnected). */
  retry<T>(op: (attempt: number) => Promise<T>, o: Omit<RetryOptions, 'waitForConnected'> = {}): Promise<T> {
    return withRetry(op, { ...o, waitForConnected: (w) => this.waitForConnected(w) });
  }

  // ---------- operations ----------

  /** Creates a znode and returns its path (with the sequence suffix for sequential modes). */
  async create(path: string, data: Data = null, options: CreateOptions = {}): Promise<string> {
    return (await this.createNode(path, data, options, false)).path;
  }

  /** create, also returning the new node's Stat (create2; containers and TTL nodes always answer with one). */
  async createWithStat(path: string, data: Data = null, options: CreateOptions = {}): Promise<{ path: string; stat: Stat }> {
    const r = await this.createNode(path, data, options, true);
    return { path: r.path, stat: r.stat! };
  }

  private async createNode(
    path: string,
    data: Data,
    options: CreateOptions,
    withStat: boolean,
  ): Promise<{ path: string; stat: Stat | null }> {
    const once = (): Promise<{ path: string; stat: Stat | null }> => {
      const request = createRequest(prependChroot(this.chroot, path), path, data, options, withStat);
      const hasStat = request.type !== OpCode.create;
      return this.submit(
        request,
        path,
        (r) => {
          const created = stripChroot(this.chroot, r.string());
          return { path: created, stat: hasStat ? readStat(r) : null };
        },
        options,
      );
    };
    if (!options.createParents) return once();
    try {
      return await once();
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e;
    }
    const parentMode = options.createParents === 'container' ? CreateMode.CONTAINER : CreateMode.PERSISTENT;
    for (const parent of parentPaths(path)) {
      try {
        await this.create(parent, null, { mode: parentMode, ...(options.acl ? { acl: options.acl } : {}), ...requestOpts(options) });
      } catch (e) {
        if (!(e instanceof NodeExistsError)) throw e;
      }
    }
    return once();
  }

  /** Deletes a znode (at the given version, or any with -1). */
  async delete(path: string, options: VersionOptions = {}): Promise<void> {
    validatePath(path);
    // delete("/") is sent as "/" even in a chroot: the root cannot be deleted (ZooKeeper.delete)
    const server = path === '/' ? '/' : prependChroot(this.chroot, path);
    await this.submit({ type: OpCode.delete, req: { path: server, version: options.version ?? -1 } }, path, () => undefined, options);
  }

  /**
   * Deletes a znode and everything below it, children first (zkCli's deleteall, kazoo's
   * delete(recursive=True)). Nodes that vanish meanwhile are fine; nodes created meanwhile can
   * make it fail with NotEmptyError.
   */
  async deleteRecursive(path: string, options: RequestOptions = {}): Promise<void> {
    validatePath(path);
    let children: string[];
    try {
      children = await this.getChildren(path, options);
    } catch (e) {
      if (e instanceof NoNodeError) return;
      throw e;
    }
    await Promise.all(children.map((c) => this.deleteRecursive(joinPath(path, c), options)));
    if (path === '/') return;
    try {
      await this.delete(path, options);
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e;
    }
  }

  /** The node's Stat, or null when it does not exist. With watch, a watch is left either way. */
  async exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    validatePath(path);
    const server = prependChroot(this.chroot, path);
    const watcher = this.watcherOf(options.watch);
    try {
      return await this.submit(
        { type: OpCode.exists, req: { path: server, watch: watcher !== null } },
        path,
        readStat,
        options,
        watcher &&
          ((err) => {
            if (err === 0) this.watches.add('data', server, watcher);
            else if (err === ErrorCode.NoNode) this.watches.add('exist', server, watcher);
          }),
      );
    } catch (e) {
      if (e instanceof NoNodeError) return null;
      throw e;
    }
  }

  async getData(path: string, options: WatchOptions = {}): Promise<NodeData> {
    validatePath(path);
    return this.readData(prependChroot(this.chroot, path), path, options);
  }

  async setData(path: string, data: Data, options: VersionOptions = {}): Promise<Stat> {
    validatePath(path);
    const req = { path: prependChroot(this.chroot, path), data: toBuffer(data), version: options.version ?? -1 };
    return this.submit({ type: OpCode.setData, req }, path, readStat, options);
  }

  /** Child names (not paths), in the server's order. */
  async getChildren(path: string, options: WatchOptions = {}): Promise<string[]> {
    validatePath(path);
    const server = prependChroot(this.chroot, path);
    const watcher = this.watcherOf(options.watch);
    return this.submit(
      { type: OpCode.getChildren, req: { path: server, watch: watcher !== null } },
      path,
      (r) => r.stringVector(),
      options,
      this.registerOnOk('child', server, watcher),
    );
  }

  /** getChildren with the parent's Stat (getChildren2). */
  async getChildrenWithStat(path: string, options: WatchOptions = {}): Promise<{ children: string[]; stat: Stat }> {
    validatePath(path);
    const server = prependChroot(this.chroot, path);
    const watcher = this.watcherOf(options.watch);
    return this.submit(
      { type: OpCode.getChildren2, req: { path: server, watch: watcher !== null } },
      path,
      (r) => ({ children: r.stringVector(), stat: readStat(r) }),
      options,
      this.registerOnOk('child', server, watcher),
    );
  }

  /** The number of nodes below path, at any depth (3.6+). */
  async getAllChildrenNumber(path: string, options: RequestOptions = {}): Promise<number> {
    validatePath(path);
    return this.submit(
      { type: OpCode.getAllChildrenNumber, req: { path: prependChroot(this.chroot, path) } },
      path,
      (r) => r.int(),
      options,
    );
  }

  /**
   * This session's ephemeral nodes whose path starts with prefix (3.6+). In a chroot the prefix is
   * taken inside it and only paths inside it come back, chroot stripped (the Java client sends
   * the prefix unchanged and returns server paths).
   */
  async getEphemerals(prefix = '/', options: RequestOptions = {}): Promise<string[]> {
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw badArguments('prefix must start with /', String(prefix));
    const server = prependChroot(this.chroot, prefix);
    const paths = await this.submit({ type: OpCode.getEphemerals, req: { path: server } }, prefix, (r) => r.stringVector(), options);
    return paths.filter((p) => insideChroot(this.chroot, p)).map((p) => stripChroot(this.chroot, p));
  }

  async getACL(path: string, options: RequestOptions = {}): Promise<{ acl: ACL[]; stat: Stat }> {
    validatePath(path);
    return this.submit(
      { type: OpCode.getACL, req: { path: prependChroot(this.chroot, path) } },
      path,
      (r) => ({ acl: readACLs(r) ?? [], stat: readStat(r) }),
      options,
    );
  }

  /** Sets the ACL (at the given aversion, or any with -1); returns the new Stat. */
  async setACL(path: string, acl: ACL[], options: VersionOptions = {}): Promise<Stat> {
    validatePath(path);
    if (acl.length === 0) throw badArguments('an empty ACL list', path);
    return this.submit(
      { type: OpCode.setACL, req: { path: prependChroot(this.chroot, path), acl, version: options.version ?? -1 } },
      path,
      readStat,
      options,
    );
  }

  /**
   * Waits until the server this client talks to has applied every write committed before the
   * call (on Ark, a quorum barrier: a read after sync sees every acknowledged write).
   */
  async sync(path = '/', options: RequestOptions = {}): Promise<void> {
    validatePath(path);
    await this.submit({ type: OpCode.sync, req: { path: prependChroot(this.chroot, path) } }, path, () => undefined, options);
  }

  /**
   * Adds credentials to the session (e.g. addAuth('digest', 'user:password')). They are sent again
   * on every reconnect and for a renewed session. Resolves when the server accepted them; rejects
   * with AuthFailedError when it refused them (then the server drops the connection, the client
   * reconnects, and the credentials are forgotten).
   */
  addAuth(scheme: string, auth: string | Buffer): Promise<void> {
    if (this.closing || this.finished()) return Promise.reject(this.finishedError());
    const bytes = toAuthBytes(auth);
    let entry = this.authInfo.find((a) => a.scheme === scheme && a.auth.equals(bytes));
    const fresh = !entry;
    if (!entry) {
      entry = { scheme, auth: bytes, waiters: [] };
      this.authInfo.push(entry);
    }
    const e = entry;
    return new Promise<void>((resolve, reject) => {
      e.waiters.push({ resolve, reject });
      if (this.connectedAttempt !== null && (fresh || !this.authInFlight.includes(e))) this.sendAuth(this.connectedAttempt, e);
    });
  }

  /** The identities the server associates with this session (3.7+ whoAmI). */
  async whoAmI(options: RequestOptions = {}): Promise<Array<{ scheme: string; user: string }>> {
    return this.submit(
      { type: OpCode.whoAmI, req: null },
      undefined,
      (r) => r.vector((rr) => ({ scheme: rr.string(), user: rr.string() }), 8) ?? [],
      options,
    );
  }

  /**
   * A persistent watch (3.6+): the watcher sees every event on path (AddWatchMode.Persistent:
   * data changes, creation, deletion, child changes) or on path and everything below it
   * (AddWatchMode.PersistentRecursive: no child events), until removeWatches. Kept across
   * reconnects; ended (a last 'None' event) when the session expires or the client closes.
   */
  async addWatch(path: string, watcher: Watcher | true, options: RequestOptions & { mode?: number } = {}): Promise<void> {
    validatePath(path);
    const mode = options.mode ?? AddWatchMode.Persistent;
    if (mode !== AddWatchMode.Persistent && mode !== AddWatchMode.PersistentRecursive)
      throw badArguments(`unknown AddWatchMode ${mode}`, path);
    const server = prependChroot(this.chroot, path);
    const w = watcher === true ? this.defaultWatcher : watcher;
    const kind: WatchKind = mode === AddWatchMode.Persistent ? 'persistent' : 'persistentRecursive';
    await this.submit(
      { type: OpCode.addWatch, req: { path: server, mode } },
      path,
      () => undefined,
      options,
      this.registerOnOk(kind, server, w),
    );
  }

  /**
   * Removes watches of a WatcherType (Children, Data, Any, Persistent, PersistentRecursive) on
   * path: only `watcher` when given, else all of them. Each removed watcher gets a
   * DataWatchRemoved / ChildWatchRemoved / PersistentWatchRemoved event. Rejects with
   * NoWatcherError when there is none. With local: true the watches go on the client even when
   * the server cannot be asked (disconnected).
   *
   * Servers before ZooKeeper 3.9 know only Children, Data and Any, and remove every watch of the
   * connection on the path whatever its kind; so Persistent* falls back to Any there, and the
   * watches that should stay are registered again right after (setWatches).
   */
  async removeWatches(
    path: string,
    type: number,
    options: RequestOptions & { watcher?: Watcher | true; local?: boolean } = {},
  ): Promise<void> {
    validatePath(path);
    const kinds = kindsOf(type);
    if (kinds.length === 0) throw badArguments(`unknown WatcherType ${type}`, path);
    const server = prependChroot(this.chroot, path);
    const w = options.watcher === true ? this.defaultWatcher : options.watcher;
    if (!kinds.some((k) => this.watches.has(k, server, w))) throw new NoWatcherError(path);
    const removeLocally = (): void => {
      for (const r of this.watches.remove(kinds, server, w)) {
        this.deliver(r.watcher, { type: eventTypeName(removedEventType(r.kind))!, state: 'SyncConnected', path, zxid: -1 });
      }
    };
    if (options.local) {
      removeLocally();
      return;
    }
    // with a watcher named, only check the server while other watchers still need the server's
    // watch (ZooKeeper's checkWatches); remove it there once none would be left
    const opcode = this.watches.wouldEmpty(kinds, server, w) ? OpCode.removeWatches : OpCode.checkWatches;
    const attempt = (wireType: number): Promise<void> =>
      this.submit(
        { type: opcode, req: { path: server, type: wireType } },
        path,
        () => undefined,
        options,
        (err) => {
          if (err !== 0) return;
          removeLocally();
          if (opcode === OpCode.removeWatches) this.reregister(server);
        },
      );
    try {
      await attempt(type);
    } catch (e) {
      const persistentType = type === WatcherType.Persistent || type === WatcherType.PersistentRecursive;
      // ZooKeeper <= 3.8 answers an unknown WatcherType with MarshallingError
      if (!persistentType || !(e instanceof MarshallingError || e instanceof UnimplementedError || e instanceof BadArgumentsError)) throw e;
      await attempt(WatcherType.Any);
    }
  }

  /** Registers again, on the current connection, the watches the client still holds on one path. */
  private reregister(serverPath: string): void {
    if (this.connectedAttempt === null) return;
    const paths = this.watches.pathsOf(serverPath);
    for (const sw of splitSetWatches(paths, this.machine.lastZxid, this.setWatchesBytesMax)) {
      this.setWatchesInFlight++;
      this.sendSpecial(this.connectedAttempt, Xid.setWatches, sw);
    }
  }

  /**
   * Runs ops as one transaction: all or nothing. Resolves with each op's result; when one fails,
   * rejects with that op's typed error (e.g. BadVersionError), whose `results` holds every op's
   * outcome.
   */
  async multi(ops: TxnOp[], options: RequestOptions = {}): Promise<OpResult[]> {
    if (ops.length === 0) return [];
    const wire = ops.map((op) => toWireTxnOp(op, this.chroot));
    const results = await this.submit({ type: OpCode.multi, req: { ops: wire } }, undefined, readOpResults, options);
    const out = results.map((r, i) => fromWireResult(r, this.chroot, ops[i]?.path));
    const failed = out.findIndex((r) => r.type === 'error' && r.code !== 0 && r.code !== ErrorCode.RuntimeInconsistency);
    const first = failed >= 0 ? out[failed] : out.find((r) => r.type === 'error' && r.code !== 0);
    if (first && first.type === 'error') {
      // a fresh error (not the one inside results), so the error does not contain itself
      const e = errorFor(first.code, first.error?.path);
      e.results = out;
      throw e;
    }
    return out;
  }

  /** A transaction builder: client.transaction().create(...).setData(...).check(...).commit(). */
  transaction(): Transaction {
    return new Transaction(this);
  }

  /** Reads several nodes in one request (3.6+ multiRead); each result is its data / children or its error. */
  async multiRead(ops: ReadOp[], options: RequestOptions = {}): Promise<OpResult[]> {
    if (ops.length === 0) return [];
    const wire = ops.map((op) => toWireReadOp(op, this.chroot));
    const results = await this.submit({ type: OpCode.multiRead, req: { ops: wire } }, undefined, readOpResults, options);
    return results.map((r, i) => fromWireResult(r, this.chroot, ops[i]?.path));
  }

  /** The ensemble configuration (/zookeeper/config, never chrooted). */
  async getConfig(options: WatchOptions = {}): Promise<NodeData> {
    return this.readData(CONFIG_NODE, CONFIG_NODE, options);
  }

  /** getData of `server` (the path as the server knows it; `path` as the caller named it). */
  private readData(server: string, path: string, options: WatchOptions): Promise<NodeData> {
    const watcher = this.watcherOf(options.watch);
    return this.submit(
      { type: OpCode.getData, req: { path: server, watch: watcher !== null } },
      path,
      readNodeData,
      options,
      this.registerOnOk('data', server, watcher),
    );
  }

  /**
   * Dynamic reconfiguration (3.5+; needs reconfigEnabled and a super user on ZooKeeper; Ark
   * answers ReconfigDisabledError). Members as in zoo.cfg server.N lines, comma separated.
   */
  async reconfig(
    r: { joining?: string; leaving?: string; members?: string; fromConfig?: number },
    options: RequestOptions = {},
  ): Promise<NodeData> {
    const req = {
      joiningServers: r.joining ?? null,
      leavingServers: r.leaving ?? null,
      newMembers: r.members ?? null,
      curConfigId: r.fromConfig ?? -1,
    };
    return this.submit({ type: OpCode.reconfig, req }, CONFIG_NODE, readNodeData, options);
  }

  /**
   * Ark's own (opcode 1000, not in ZooKeeper): `path` and its descendants become exactly `nodes`
   * (path's own first, parents before children) as one txn; needs ALL on "/". What `ark restore
   * --online --path` sends (src/runtime/subtree.ts). Resolves with the zxid of that txn.
   */
  async restoreSubtree(path: string, nodes: SubtreeNode[], options: RequestOptions = {}): Promise<number> {
    validatePath(path);
    const req = {
      path: prependChroot(this.chroot, path),
      nodes: nodes.map((n) => ({ ...n, path: prependChroot(this.chroot, n.path) })),
    };
    await this.submit({ type: OpCode.restoreSubtree, req }, path, () => undefined, options);
    return this.machine.lastZxid;
  }

  // ---------- watches ----------

  private watcherOf(watch: Watcher | boolean | undefined): Watcher | null {
    if (watch === true) return this.defaultWatcher;
    if (typeof watch === 'function') return watch;
    return null;
  }

  private registerOnOk(kind: WatchKind, serverPath: string, watcher: Watcher | null): ((err: number) => void) | undefined {
    if (!watcher) return undefined;
    return (err) => {
      if (err === 0) this.watches.add(kind, serverPath, watcher);
    };
  }

  private deliver(w: Watcher, e: WatchedEvent): void {
    try {
      w(e);
    } catch (err) {
      rethrowLater(err);
    }
  }

  private onNotification(r: JuteReader, zxid: number): void {
    const type = r.int();
    const state = r.int();
    const serverPath = r.string();
    const name = eventTypeName(type);
    if (name === null || name === 'None') return;
    const event: WatchedEvent = { type: name, state: keeperStateName(state), path: stripChroot(this.chroot, serverPath), zxid };
    for (const w of this.watches.trigger(type, serverPath)) this.deliver(w, event);
  }

  /** Ends every watch: each watcher gets one last event with state Expired or Closed. */
  private endWatches(state: 'Expired' | 'Closed' | 'AuthFailed'): void {
    for (const w of this.watches.clear()) this.deliver(w, { type: 'None', state, path: '', zxid: -1 });
  }

  // ---------- requests ----------

  private finished(): boolean {
    return this.state === 'closed' || this.state === 'authFailed' || (this.state === 'expired' && !this.renew);
  }

  private finishedError(path?: string): KeeperError {
    if (this.state === 'authFailed') {
      const e = new AuthFailedError(path);
      e.message = `${e.message}: ${this.authFailedReason}`;
      return e;
    }
    return this.state === 'expired' ? new SessionExpiredError(path) : new ConnectionClosedError(path);
  }

  private submit<T>(
    request: Request,
    path: string | undefined,
    decode: (r: JuteReader) => T,
    options: RequestOptions,
    onReply?: ((err: number) => void) | null,
  ): Promise<T> {
    if (this.closing || this.finished()) return Promise.reject(this.closing ? new ConnectionClosedError(path) : this.finishedError());
    const w = new JuteWriter(256);
    const at = w.reserveInt();
    w.int(0).int(request.type);
    writeRequest(w, request);
    w.patchInt(at, w.length - 4);
    if (w.length - 4 > this.requestBytesMax) {
      return Promise.reject(
        badArguments(
          `request of ${w.length - 4} bytes is larger than requestBytesMax ${this.requestBytesMax} (the server's jute.maxbuffer)`,
          path,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        opcode: request.type,
        frame: w.take(),
        path,
        decode,
        onReply: onReply ?? undefined,
        resolve: resolve as (v: unknown) => void,
        reject,
        settled: false,
        sent: false,
        xid: 0,
        timeoutMs: 0,
        waitTimer: null,
        cleanup: noop,
      };
      this.arm(p, options);
      if (p.settled) return;
      if (this.connectedAttempt !== null && this.queue.length === 0) this.send(this.connectedAttempt, p);
      else this.enqueue(p);
    });
  }

  /** Request timeout and abort signal. */
  private arm(p: Pending, o: RequestOptions): void {
    const timeoutMs = o.timeoutMs ?? this.requestTimeoutMs;
    p.timeoutMs = timeoutMs;
    let timer: NodeJS.Timeout | null = null;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        const e = new RequestTimeoutError(p.path);
        e.message = `${e.message}: no reply within ${timeoutMs} ms`;
        this.giveUp(p, e);
      }, timeoutMs);
    }
    const signal = o.signal;
    if (!timer && !signal) return;
    const onAbort = (): void => this.giveUp(p, signal!.reason);
    if (signal) {
      if (signal.aborted) {
        if (timer) clearTimeout(timer);
        p.settled = true;
        p.reject(signal.reason);
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
    }
    p.cleanup = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (p.waitTimer) clearTimeout(p.waitTimer);
    };
  }

  /**
   * Queues a request until the next connection. One that cannot even be sent within the session
   * timeout fails with ConnectionLossError: it would outlive the session it was meant for.
   */
  private enqueue(p: Pending): void {
    this.queue.push(p);
    const waitMs = this.requestedTimeoutMs;
    if (p.waitTimer || (p.timeoutMs > 0 && p.timeoutMs <= waitMs)) return;
    p.waitTimer = setTimeout(() => {
      p.waitTimer = null;
      if (p.sent) return;
      const e = new ConnectionLossError(p.path);
      e.message = `${e.message}: not connected within ${waitMs} ms (state ${this.state})`;
      this.giveUp(p, e);
    }, waitMs);
    const cleanup = p.cleanup;
    p.cleanup = () => {
      cleanup();
      if (p.waitTimer) clearTimeout(p.waitTimer);
      p.waitTimer = null;
    };
  }

  /** Settles a request early (timeout, abort); a reply that still comes is dropped. */
  private giveUp(p: Pending, e: unknown): void {
    if (p.settled) return;
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    this.settle(p, e);
  }

  private settle(p: Pending, error: unknown, value?: unknown): void {
    if (p.settled) return;
    p.settled = true;
    p.cleanup();
    if (error !== undefined) p.reject(error);
    else p.resolve(value);
  }

  private nextXid(): number {
    const x = this.xid;
    this.xid = this.xid >= 0x7fffffff ? 1 : this.xid + 1;
    return x;
  }

  private send(attempt: number, p: Pending): void {
    const t = this.transports.get(attempt);
    if (!t) {
      this.enqueue(p);
      return;
    }
    p.xid = this.nextXid();
    p.sent = true;
    if (p.waitTimer) {
      clearTimeout(p.waitTimer);
      p.waitTimer = null;
    }
    p.frame.writeInt32BE(p.xid, 4);
    this.inflight.push(p);
    t.write(p.frame);
    if (p.opcode === OpCode.closeSession) this.closeAttempt = attempt;
    this.machine.step({ type: 'sent', attempt, now: Date.now() });
  }

  private sendSpecial(attempt: number, xid: number, request: Request): void {
    const w = new JuteWriter(256);
    const at = w.reserveInt();
    w.int(xid).int(request.type);
    writeRequest(w, request);
    w.patchInt(at, w.length - 4);
    this.transports.get(attempt)?.write(w.take());
    this.machine.step({ type: 'sent', attempt, now: Date.now() });
  }

  private sendAuth(attempt: number, a: AuthEntry): void {
    this.authInFlight.push(a);
    this.sendSpecial(attempt, Xid.auth, { type: OpCode.auth, req: { type: 0, scheme: a.scheme, auth: a.auth } });
  }

  private flushQueue(attempt: number): void {
    while (this.queue.length > 0 && this.connectedAttempt === attempt) {
      const p = this.queue.shift()!;
      if (!p.settled) this.send(attempt, p);
    }
  }

  // ---------- frames ----------

  private onFrame(attempt: number, frame: Buffer): void {
    if (this.handshaking.has(attempt)) {
      this.handshaking.delete(attempt);
      let resp: ReturnType<typeof readConnectResponse>;
      try {
        resp = readConnectResponse(new JuteReader(frame));
      } catch (e) {
        this.step({ type: 'socketClosed', attempt, now: Date.now(), reason: `bad handshake reply: ${(e as Error).message}` });
        return;
      }
      this.step({
        type: 'handshake',
        attempt,
        now: Date.now(),
        timeOutMs: resp.timeOut,
        sessionId: resp.sessionId,
        passwd: resp.passwd,
        readOnly: resp.readOnly,
      });
      return;
    }
    if (this.saslRun?.attempt === attempt) {
      this.onSaslReply(attempt, frame);
      return;
    }
    if (attempt !== this.connectedAttempt && attempt !== this.closeAttempt) return;
    const r = new JuteReader(frame);
    let xid: number;
    let zxid: number;
    let err: number;
    try {
      xid = r.int();
      zxid = r.long();
      err = r.int();
    } catch (e) {
      this.brokenStream(attempt, `bad reply header: ${(e as Error).message}`);
      return;
    }
    const now = Date.now();
    switch (xid) {
      case Xid.notification:
        this.machine.step({ type: 'received', attempt, now });
        try {
          this.onNotification(r, zxid);
        } catch (e) {
          this.brokenStream(attempt, `bad watch event: ${(e as Error).message}`);
          return;
        }
        this.pump();
        return;
      case Xid.ping:
        this.step({ type: 'received', attempt, now });
        return;
      case Xid.auth:
        this.step({ type: 'received', attempt, now });
        this.onAuthReply(attempt, err);
        return;
      case Xid.setWatches:
        this.setWatchesInFlight = Math.max(0, this.setWatchesInFlight - 1);
        this.step({ type: 'received', attempt, now, zxid });
        return;
      default:
        break;
    }
    const p = this.inflight.shift();
    if (!p || p.xid !== xid) {
      if (p) this.inflight.unshift(p);
      this.brokenStream(attempt, `reply xid ${xid} out of order (expected ${p ? p.xid : 'none'})`);
      return;
    }
    this.machine.step({ type: 'received', attempt, now, zxid });
    this.complete(p, err, r);
    if (p.opcode === OpCode.closeSession) this.machine.step({ type: 'closeAnswered', attempt, now });
    this.pump();
  }

  private complete(p: Pending, err: number, r: JuteReader | null): void {
    p.onReply?.(err);
    if (p.settled) return;
    if (err !== 0) {
      this.settle(p, errorFor(err, p.path));
      return;
    }
    if (r === null) {
      this.settle(p, new MarshallingError(p.path));
      return;
    }
    let value: unknown;
    try {
      value = p.decode(r);
    } catch (e) {
      this.settle(p, e instanceof KeeperError ? e : new MarshallingError(p.path, { cause: e }));
      return;
    }
    this.settle(p, undefined, value);
  }

  private onOversize(attempt: number, head: Buffer, length: number): void {
    if (attempt !== this.connectedAttempt && attempt !== this.closeAttempt) return;
    const xid = head.readInt32BE(0);
    const p = this.inflight[0];
    if (xid < 0 || !p || p.xid !== xid) {
      this.brokenStream(attempt, `a ${length}-byte frame (xid ${xid}) over frameBytesMax ${this.frameBytesMax}`);
      return;
    }
    this.inflight.shift();
    this.machine.step({ type: 'received', attempt, now: Date.now() });
    p.onReply?.(ErrorCode.MarshallingError);
    const e = new MarshallingError(p.path);
    e.message = `${e.message}: the reply of ${length} bytes is larger than frameBytesMax ${this.frameBytesMax}`;
    this.settle(p, e);
    this.pump();
  }

  private onAuthReply(attempt: number, err: number): void {
    const a = this.authInFlight.shift();
    if (!a) return;
    if (err !== 0) {
      // ZooKeeper closes the connection after AuthFailed (it may already have read requests sent
      // behind the credentials: those fail with ConnectionLoss). The client drops it at once, so
      // every server behaves alike, reconnects to the same session, and forgets the credentials.
      const i = this.authInfo.indexOf(a);
      if (i >= 0) this.authInfo.splice(i, 1);
      const e = errorFor(err);
      for (const w of a.waiters.splice(0)) w.reject(e instanceof AuthFailedError ? e : new AuthFailedError(undefined, { cause: e }));
      this.safeEmit('authFailed', { scheme: a.scheme });
      this.brokenStream(attempt, `the server refused ${a.scheme} credentials`);
      return;
    }
    for (const w of a.waiters.splice(0)) w.resolve();
  }

  // ---------- SASL ----------

  /** Starts the exchange on a connection whose handshake is done: the empty first token (DIGEST-MD5 has no initial response). */
  private startSasl(attempt: number): void {
    const client = new DigestMd5Client(this.sasl!, randomBytes(24).toString('base64'));
    this.saslRun = { attempt, xid: 0, client };
    this.sendSasl(attempt, client.initial());
  }

  private sendSasl(attempt: number, token: Buffer): void {
    const run = this.saslRun!;
    run.xid = this.nextXid();
    this.sendSpecial(attempt, run.xid, { type: OpCode.sasl, req: { token } });
  }

  /**
   * A reply to a SASL request (SetSASLResponse: the server's next token). An error code, or a
   * token the exchange cannot take, fails it for good (ZooKeeperSaslClient: SaslState.FAILED, the
   * client's AUTH_FAILED state).
   */
  private onSaslReply(attempt: number, frame: Buffer): void {
    const run = this.saslRun!;
    const now = Date.now();
    let step: ReturnType<DigestMd5Client['step']>;
    try {
      const r = new JuteReader(frame);
      const xid = r.int();
      r.long();
      const err = r.int();
      this.machine.step({ type: 'received', attempt, now });
      if (xid === Xid.ping) return;
      if (xid !== run.xid) throw new Error(`reply xid ${xid} during SASL (expected ${run.xid})`);
      if (err !== 0) {
        this.saslFailed(attempt, `${this.hostOf(attempt)} refused the SASL credentials of ${this.sasl!.username} (error ${err})`);
        return;
      }
      step = run.client.step(Buffer.from(r.bufferOrNull() ?? Buffer.alloc(0)));
    } catch (e) {
      this.saslRun = null;
      this.brokenStream(attempt, `bad SASL reply: ${(e as Error).message}`);
      return;
    }
    if (step.kind === 'send') this.sendSasl(attempt, step.token);
    else if (step.kind === 'failure') this.saslFailed(attempt, `SASL with ${this.hostOf(attempt)} failed: ${step.reason}`);
    else {
      this.saslRun = null;
      const server = this.hostOf(attempt);
      this.step({ type: 'authenticated', attempt, now });
      // after SyncConnected, as the Java client's event thread delivers them
      this.safeEmit('saslAuthenticated', { username: this.sasl!.username, server });
    }
  }

  private hostOf(attempt: number): string {
    const h = this.transports.get(attempt)?.host;
    return h ? formatHostPort(h) : 'the server';
  }

  private saslFailed(attempt: number, reason: string): void {
    this.saslRun = null;
    this.authFailedReason = reason;
    this.safeEmit('authFailed', { scheme: 'sasl', reason });
    this.step({ type: 'authFailed', attempt, now: Date.now(), reason });
  }

  private brokenStream(attempt: number, reason: string): void {
    this.transports.get(attempt)?.destroy();
    this.transports.delete(attempt);
    this.step({ type: 'socketClosed', attempt, now: Date.now(), reason });
  }

  // ---------- machine ----------

  private step(input: Parameters<ConnectionMachine['step']>[0]): void {
    this.machine.step(input);
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let actions = this.machine.takeActions(); actions.length > 0; actions = this.machine.takeActions()) {
        for (const a of actions) this.run(a);
      }
    } finally {
      this.pumping = false;
    }
    this.schedule();
  }

  private run(a: Action): void {
    switch (a.type) {
      case 'connect': {
        const attempt = a.attempt;
        const t = new Transport(
          a.host,
          this.frameBytesMax,
          {
            onOpen: () => this.step({ type: 'socketOpen', attempt, now: Date.now() }),
            onFrame: (f) => this.onFrame(attempt, f),
            onOversize: (h, len) => this.onOversize(attempt, h, len),
            onClose: (reason, code) => {
              this.transports.delete(attempt);
              this.handshaking.delete(attempt);
              if (this.saslRun?.attempt === attempt) this.saslRun = null;
              this.step({ type: 'socketClosed', attempt, now: Date.now(), reason, ...(code !== undefined ? { code } : {}) });
            },
          },
          this.tls,
          this.socketPath,
        );
        this.transports.set(attempt, t);
        return;
      }
      case 'handshake': {
        const w = new JuteWriter(64);
        const at = w.reserveInt();
        writeConnectRequest(w, a.request);
        w.patchInt(at, w.length - 4);
        this.handshaking.add(a.attempt);
        this.transports.get(a.attempt)?.write(w.take());
        return;
      }
      case 'authenticate':
        this.startSasl(a.attempt);
        return;
      case 'drop':
        this.transports.get(a.attempt)?.destroy();
        this.transports.delete(a.attempt);
        this.handshaking.delete(a.attempt);
        if (this.saslRun?.attempt === a.attempt) this.saslRun = null;
        if (this.connectedAttempt === a.attempt) this.connectedAttempt = null;
        return;
      case 'ping':
        this.sendSpecial(a.attempt, Xid.ping, { type: OpCode.ping, req: null });
        return;
      case 'attemptFailed':
        this.safeEmit('connectFailed', {
          server: formatHostPort(a.host),
          reason: a.reason,
          ...(a.code !== undefined ? { code: a.code } : {}),
        });
        return;
      case 'established':
        this.onEstablished(a.attempt);
        return;
      case 'connectionLost':
        this.connectedAttempt = null;
        this.failInflight((path) => new ConnectionLossError(path));
        return;
      case 'sessionLost':
        this.connectedAttempt = null;
        this.failInflight((path) => new SessionExpiredError(path));
        for (const p of this.queue.splice(0)) this.settle(p, new SessionExpiredError(p.path));
        if (!this.renew) for (const a2 of this.authInfo) for (const w of a2.waiters.splice(0)) w.reject(new SessionExpiredError());
        this.endWatches('Expired');
        return;
      case 'sendClose': {
        // closeSession goes behind everything already sent; the server answers those first
        const p: Pending = {
          opcode: OpCode.closeSession,
          frame: frameOf(OpCode.closeSession),
          path: undefined,
          decode: () => undefined,
          onReply: undefined,
          resolve: noop,
          reject: noop,
          settled: false,
          sent: false,
          xid: 0,
          timeoutMs: 0,
          waitTimer: null,
          cleanup: noop,
        };
        this.send(a.attempt, p);
        this.connectedAttempt = null;
        return;
      }
      case 'probeReadWrite':
        this.probe(a.host);
        return;
      case 'state':
        this.onState(a.state, a.previous, a.event);
        return;
    }
  }

  private onEstablished(attempt: number): void {
    this.connectedAttempt = attempt;
    this.authInFlight.length = 0;
    this.setWatchesInFlight = 0;
    // ClientCnxn.primeConnection's order: credentials, then watches, then what waited
    for (const a of this.authInfo) this.sendAuth(attempt, a);
    const paths = this.watches.paths();
    for (const sw of splitSetWatches(paths, this.machine.lastZxid, this.setWatchesBytesMax)) {
      this.setWatchesInFlight++;
      this.sendSpecial(attempt, Xid.setWatches, sw);
    }
    this.flushQueue(attempt);
  }

  private failInflight(error: (path?: string) => KeeperError): void {
    for (const p of this.inflight.splice(0)) {
      const e = error(p.path);
      p.onReply?.(e.code);
      this.settle(p, e);
    }
    this.authInFlight.length = 0;
    this.setWatchesInFlight = 0;
  }

  private onState(state: ClientState, previous: ClientState, event: StateEvent): void {
    if (state === 'closed') this.finishClosed();
    if (state === 'expired' && !this.renew) this.finishExpired();
    if (state === 'authFailed') this.finishAuthFailed();
    for (const w of [...this.stateWaiters]) w(state);
    this.safeEmit('state', state, previous);
    switch (event.type) {
      case 'connected':
      case 'reconnected':
      case 'readOnly':
        this.safeEmit(event.type, { sessionId: event.sessionId, server: event.server, timeoutMs: event.timeoutMs });
        break;
      case 'suspended':
        this.safeEmit('suspended', { reason: event.reason });
        break;
      case 'expired':
        this.safeEmit('expired', { reason: event.reason, sessionId: event.sessionId });
        break;
      case 'authFailed':
        break;
      case 'closed':
        this.safeEmit('closed');
        for (const w of this.closeWaiters.splice(0)) w();
        break;
    }
  }

  private finishClosed(): void {
    this.connectedAttempt = null;
    this.closeAttempt = null;
    for (const t of this.transports.values()) t.destroy();
    this.transports.clear();
    this.handshaking.clear();
    this.failInflight((path) => new ConnectionClosedError(path));
    for (const p of this.queue.splice(0)) this.settle(p, new ConnectionClosedError(p.path));
    for (const a of this.authInfo) for (const w of a.waiters.splice(0)) w.reject(new ConnectionClosedError());
    this.endWatches('Closed');
    this.clearTimer();
  }

  /** SASL was refused: everything waiting fails with AuthFailedError, as the Java client's requests do in AUTH_FAILED. */
  private finishAuthFailed(): void {
    this.finishExpired();
    this.connectedAttempt = null;
    this.failInflight((path) => this.finishedError(path));
    for (const p of this.queue.splice(0)) this.settle(p, this.finishedError(p.path));
    for (const a of this.authInfo) for (const w of a.waiters.splice(0)) w.reject(this.finishedError());
    this.endWatches('AuthFailed');
  }

  private finishExpired(): void {
    for (const t of this.transports.values()) t.destroy();
    this.transports.clear();
    this.handshaking.clear();
    this.clearTimer();
  }

  private safeEmit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    try {
      this.emit(event, ...args);
    } catch (e) {
      rethrowLater(e);
    }
  }

  private probe(host: HostPort): void {
    if (this.probing) return;
    this.probing = true;
    void probeReadWrite(host).then((answer) => {
      this.probing = false;
      if (answer === 'rw' && this.state === 'readOnly') this.step({ type: 'rwServerFound', host, now: Date.now() });
    });
  }

  private schedule(): void {
    const at = this.machine.nextDeadline();
    if (at === null || this.state === 'closed') {
      this.clearTimer();
      return;
    }
    if (this.timer && at >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Infinity;
        this.step({ type: 'tick', now: Date.now() });
      },
      Math.max(0, at - Date.now()),
    );
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }
}

/** Collects ops and commits them as one multi. */
export class Transaction {
  private readonly ops: TxnOp[] = [];
  constructor(private readonly client: ZooKeeperClient) {}

  create(path: string, data: Data = null, spec: CreateSpec = {}): this {
    this.ops.push({ op: 'create', path, data, spec });
    return this;
  }
  delete(path: string, version = -1): this {
    this.ops.push({ op: 'delete', path, version });
    return this;
  }
  setData(path: string, data: Data, version = -1): this {
    this.ops.push({ op: 'setData', path, data, version });
    return this;
  }
  check(path: string, version: number): this {
    this.ops.push({ op: 'check', path, version });
    return this;
  }
  /** the ops collected so far */
  get size(): number {
    return this.ops.length;
  }
  commit(options: RequestOptions = {}): Promise<OpResult[]> {
    return this.client.multi([...this.ops], options);
  }
}

// ---------- helpers ----------

function readNodeData(r: JuteReader): NodeData {
  const d = r.bufferOrNull();
  return { data: d === null ? null : Buffer.from(d), stat: readStat(r) };
}

function frameOf(type: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(0, 4);
  b.writeInt32BE(type, 8);
  return b;
}

function toAuthBytes(a: string | Buffer): Buffer {
  return typeof a === 'string' ? Buffer.from(a, 'utf8') : Buffer.from(a);
}

function requestOpts(o: RequestOptions): RequestOptions {
  return { ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}), ...(o.signal ? { signal: o.signal } : {}) };
}

function noop(): void {
  // nothing
}

function rethrowLater(e: unknown): void {
  // a listener's or watcher's exception must not corrupt the client's state; it surfaces as an
  // uncaught exception, as it would from a plain EventEmitter listener
  queueMicrotask(() => {
    throw e;
  });
}

// ---------- ACL helpers ----------

/** ZooKeeper's digest scheme id for user:password: "user:base64(sha1(user:password))". */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

/** An ACL entry for a digest user (use with addAuth('digest', 'user:password')). */
export function digestAcl(user: string, password: string, perms: number = Perms.ALL): ACL {
  return { perms, id: { scheme: 'digest', id: digestId(user, password) } };
}

/** ZooKeeper's ZooDefs.Ids: the common ACL lists. */
export const Ids = {
  /** world:anyone, every permission */
  OPEN_ACL_UNSAFE: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }] as ACL[],
  /** world:anyone, read only */
  READ_ACL_UNSAFE: [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] as ACL[],
  /** every permission for the identities the creating session authenticated as (auth scheme) */
  CREATOR_ALL_ACL: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }] as ACL[],
} as const;

export { WatcherType, AddWatchMode, Perms };
