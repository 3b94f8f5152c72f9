// The server core: connections' requests in, framed reply bytes out, txns to persist in between.
// Pure and deterministic: time enters as `now` arguments, randomness through an injected source.
// The runtime carries out, in order: persist the txns it takes, then hand them back to
// committed(), which applies them and queues replies and watch events (persist -> apply -> send).
import { ErrorCode, KeeperError, assert } from '../util/errors.js';
import { JuteWriter } from '../wire/jute.js';
import {
  EventType,
  KeeperState,
  OpCode,
  Perms,
  WatcherType,
  Xid,
  AddWatchMode,
  writeACLs,
  writeConnectResponse,
  writeOpResults,
  writeStat,
  type ReplyOpResult,
  type ACL,
  type ConnectRequest,
  type Id,
  type OpResult,
  type Request,
  type SetWatchesRequest,
  type Stat,
  type MultiOp,
} from '../wire/protocol.js';
import type { Txn, TxnHeader } from '../wire/txn.js';
import { aclAllows, authenticate, checkACL, redactDigests, type ExtraSchemes } from '../tree/acl.js';
import { DigestMd5Server } from '../session/digestmd5.js';
import { DataTree, type ApplyMode, type ApplyResult } from '../tree/datatree.js';
import { WatchMode, type WatchEvent } from '../tree/watches.js';
import { SessionTracker } from '../session/sessions.js';
import { Prep, type PrepOptions } from './prep.js';
import { assertTxnAgrees } from './agrees.js';

export interface CoreOptions {
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  serverId: number;
  extendedTypesEnabled: boolean;
  enforceQuota: boolean;
  superDigest: string | undefined;
  containerCheckIntervalMs: number;
  /** largest reply frame body; REPLY_BYTES_MAX unless a test wants it smaller */
  replyBytesMax?: number;
  /** the 16-byte password of a session; a pure function of its id so that replicas and restarts agree */
  sessionPassword: (sessionId: bigint) => Buffer;
  /**
   * An ensemble member's /zookeeper/config (configNodeText of its server.N lines), written into
   * every tree this core takes on, once it is loaded (recovered): at start-up, and after a SNAP or
   * a reload (ZooKeeper writes it on start and after each sync with a leader:
   * QuorumPeer.initConfigInZKDatabase, Learner.syncWithLeader).
   * Absent on a standalone server, whose node stays as it is (empty), as ZooKeeperServerMain's.
   */
  configNode?: string;
  /** SASL, x509 and enforced authentication; absent: none of them (digest and ip only) */
  auth?: CoreAuth;
}

/** What zoo.cfg and the JAAS file say about authentication, as the core needs it. */
export interface CoreAuth {
  /** the JAAS Server section's DigestLoginModule users (user_NAME="password"); null: no SASL for clients */
  saslUsers: ReadonlyMap<string, string> | null;
  /** a fresh nonce for one DIGEST-MD5 exchange (random bytes from the runtime; pure here) */
  saslNonce: () => string;
  /** zookeeper.superUser: a SASL user who passes every ACL (ZooKeeperServer.isSaslSuperUser) */
  saslSuperUser: string | undefined;
  /** zookeeper.X509AuthenticationProvider.superUser: a certificate subject who passes every ACL */
  x509SuperUser: string | undefined;
  /** ACL schemes registered beyond world, digest and ip */
  aclSchemes: ExtraSchemes;
  /**
   * enforce.auth.enabled with enforce.auth.schemes (or sessionRequireClientSASLAuth: sasl): a request
   * other than auth and sasl from a connection authenticated by none of them is refused
   * (AuthenticationHelper.enforceAuthentication); null when not enforced
   */
  enforceSchemes: ReadonlySet<string> | null;
}

/**
 * The largest reply the core builds (1 GiB); a larger one is answered with MarshallingError.
 * Not jute.maxbuffer: ZooKeeper applies that to what it reads (BinaryInputArchive.checkLength,
 * NIOServerCnxn.readLength), never to what it sends, and clients read larger replies (kazoo and
 * go-zookeeper always, the Java client with its own -Djute.maxbuffer). ZooKeeper builds each reply
 * in one byte array (ServerCnxn.serializeRecord) inside a 1000 MB heap by default (zkEnv.sh), so
 * this is about the most a ZooKeeper server can send; no reply read from the tree is larger than
 * the tree's snapshot, which Ark sends to a follower as one message of at most 1 GiB. What passes
 * it is a request that repeats a large node (multiRead), refused before it is built.
 */
export const REPLY_BYTES_MAX = 1024 * 1024 * 1024;

/** A txn on its way to disk and back; origin says whom to answer once it is applied. */
export interface PendingTxn {
  hdr: TxnHeader;
  txn: Txn;
  origin: WriteItem | null;
  connect: ConnectItem | null;
}

// `at` is the arrival time, for the latency figures of stat / mntr
interface WriteItem {
  kind: 'write';
  at: number;
  conn: CoreConn;
  xid: number;
  type: number;
  zxid: number;
  result: ApplyResult | null;
}
interface ReadItem {
  kind: 'read';
  at: number;
  xid: number;
  request: Request;
}
interface SyncItem {
  kind: 'sync';
  at: number;
  xid: number;
  path: string;
  barrierZxid: number;
}
interface ErrorItem {
  kind: 'error';
  at: number;
  xid: number;
  err: number;
  zxid: number;
}
type PendingItem = WriteItem | ReadItem | SyncItem | ErrorItem;

// `at`: when the ConnectRequest arrived (createSession is timed as a write, as ZooKeeper does)
interface ConnectItem {
  conn: CoreConn;
  timeoutMs: number;
  passwd: Buffer;
  at: number;
}

/**
 * How this core takes part: 'standalone' decides and applies alone; 'leader' decides txns that
 * go through consensus (takeTxns -> propose -> committed); 'learner' forwards writes and session
 * changes to the leader (takeForwards) and applies what the ensemble commits; 'down' serves no one
 * (looking, or syncing with a new leader: ZooKeeper closes client connections then, too);
 * 'readonly' is a member without a quorum serving reads to clients that asked for read-only
 * (ReadOnlyZooKeeperServer): their sessions are local to it, never txns, and every write is refused.
 */
export type CoreMode = 'standalone' | 'leader' | 'learner' | 'down' | 'readonly';

/**
 * What a read-only server answers with NotReadOnly (ReadOnlyRequestProcessor): every request that
 * would change the tree, and sync, which needs a leader.
 */
const NOT_IN_READ_ONLY_MODE: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.multi,
  OpCode.reconfig,
  OpCode.sync,
  OpCode.restoreSubtree,
]);

/** A learner's write or session change, on its way to the leader's prep. */
export type Forward =
  | { kind: 'create'; sessionId: bigint; timeoutMs: number }
  | { kind: 'request'; sessionId: bigint; xid: number; request: Request; authInfo: Id[] };

/**
 * Receives what the core can tell about its work, for the runtime's metrics (Prometheus). The core
 * only reports; times are differences of its own `now` arguments.
 */
export interface CoreObserver {
  /**
   * A request answered to a client of this server: its opcode (OpCode.error when it failed as a
   * txn or was never a known request: not counted by type, as ZooKeeper's op counts), whether it
   * went through prep as a txn (ZooKeeper's "update" latency) or not ("read"), and the
   * milliseconds from its arrival to its answer.
   */
  answered(type: number, update: boolean, latencyMs: number): void;
}

/** A close with `warn` is worth an operator's attention (a failed authentication), the others are routine. */
export type Output = { kind: 'send'; conn: number; data: Buffer } | { kind: 'close'; conn: number; reason: string; warn?: true };

/** Request counts and latencies, for srvr / stat / mntr / cons. */
export interface LatencyStats {
  packetsReceived: number;
  packetsSent: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  totalLatencyMs: number;
  completed: number;
}

export function freshLatencyStats(): LatencyStats {
  return { packetsReceived: 0, packetsSent: 0, minLatencyMs: Number.MAX_SAFE_INTEGER, maxLatencyMs: 0, totalLatencyMs: 0, completed: 0 };
}

/**
 * A mean as ZooKeeper reports it in srvr / stat / mntr / server_stats (AvgMinMaxCounter.getAvg):
 * rounded half-up to 4 decimals (3.6154), 0 before the first value. toFixed rounds the double's
 * exact value half-up, as the BigDecimal there does.
 */
export function zkAverage(total: number, count: number): number {
  return count === 0 ? 0 : Number((total / count).toFixed(4));
}

export interface ConnStats extends LatencyStats {
  lastOp: string;
  lastZxid: number;
  lastResponseTime: number;
  established: number;
  /** xid of the last request answered (ZooKeeper's lastCxid; pings are -2), -1 before any */
  lastCxid: number;
  /** milliseconds from arrival to answer of the last request answered */
  lastLatencyMs: number;
}

export class CoreConn {
  sessionId: bigint | null = null;
  sessionTimeoutMs = 0;
  readonly authInfo: Id[];
  /** this connection's SASL DIGEST-MD5 exchange, from its first sasl request */
  sasl: DigestMd5Server | null = null;
  readonly queue: PendingItem[] = [];
  /** requests that arrived while the session's createSession txn was on its way to disk */
  early: Array<{ xid: number; request: Request | null; err: number }> | null = null;
  connecting = false;
  closed = false;
  /** reply bytes produced but not yet taken by the runtime */
  outBytes = 0;
  readonly stats: ConnStats;
  constructor(
    readonly id: number,
    readonly remoteAddr: string,
    readonly remotePort: number,
    now: number,
  ) {
    this.authInfo = [{ scheme: 'ip', id: remoteAddr }];
    this.stats = {
      ...freshLatencyStats(),
      lastOp: 'NA',
      lastZxid: -1,
      lastResponseTime: 0,
      established: now,
      lastCxid: -1,
      lastLatencyMs: 0,
    };
  }
}

export class ServerCore {
  /** replaced once by restore() at start-up, before any connection */
  tree = new DataTree();
  readonly sessions: SessionTracker;
  readonly conns = new Map<number, CoreConn>();
  private prep: Prep;
  private readonly writer: JuteWriter;
  private readonly replyBytesMax: number;
  /** failures that were not the client's fault (bugs); the runtime logs them */
  internalErrors: string[] = [];
  /** last zxid handed out by prep */
  lastZxid = 0;
  private toPersist: PendingTxn[] = [];
  private inflight = 0;
  private outputs: Output[] = [];
  private readonly sessionConn = new Map<bigint, CoreConn>();
  private nextContainerCheck: number;
  private now: number;
  mode: CoreMode = 'standalone';
  private forwards: Forward[] = [];
  /** learner: sessions with client activity since the last report to the leader */
  private touched = new Set<bigint>();
  /** learner: connections waiting for their createSession txn, by session id */
  private readonly creating = new Map<bigint, ConnectItem>();
  /** quorum barriers (sync) asked of consensus, and the sync items waiting for them */
  private barrierAsks: number[] = [];
  private readonly barrierWaits = new Map<number, { conn: CoreConn; item: SyncItem }>();
  private nextBarrierId = 1;
  /** leader: sessions tracked at prep whose createSession is not applied yet */
  private readonly provisional = new Set<bigint>();
  /** read-only mode: the sessions made here, known to no other member (ZooKeeper's local sessions) */
  private readonly localSessions = new Set<bigint>();
  readonly stats: LatencyStats = freshLatencyStats();
  /** set by the runtime when it keeps metrics */
  observer: CoreObserver | null = null;

  constructor(
    private readonly opts: CoreOptions,
    nowMs: number,
  ) {
    this.now = nowMs;
    this.sessions = new SessionTracker(opts.tickTimeMs, opts.serverId, nowMs);
    this.prep = new Prep(this.tree, this.prepOptions());
    this.nextContainerCheck = nowMs + opts.containerCheckIntervalMs;
    this.replyBytesMax = opts.replyBytesMax ?? REPLY_BYTES_MAX;
    // + the 4-byte length prefix
    this.writer = new JuteWriter(4096, this.replyBytesMax + 4);
  }

  get lastApplied(): number {
    return this.tree.lastProcessedZxid;
  }
  get outstanding(): number {
    let n = 0;
    for (const c of this.conns.values()) n += c.queue.length;
    return n;
  }

  // ---------- recovery ----------

  /** Starts from a snapshot's tree and sessions (before replaying the log after it). */
  restore(tree: DataTree, sessions: ReadonlyArray<{ id: bigint; timeoutMs: number }>, zxid: number): void {
    assert(this.lastZxid === 0 || this.mode === 'down', 'restore() is for start-up, or a replica that serves no one');
    // a replica that serves no one can still hold connections that have not sent ConnectRequest
    for (const conn of [...this.conns.values()]) this.close(conn, 'server is loading a new state');
    for (const id of [...this.sessions.sessions.keys()]) this.sessions.remove(id);
    this.toPersist = [];
    this.tree = tree;
    this.prep = new Prep(tree, this.prepOptions());
    for (const s of sessions) this.sessions.add(s.id, s.timeoutMs, this.opts.sessionPassword(s.id), this.now);
    this.lastZxid = zxid;
  }

  /** Sessions for a snapshot: id and timeout. */
  sessionRecords(): Array<{ id: bigint; timeoutMs: number }> {
    return [...this.sessions.sessions.values()].map((s) => ({ id: s.id, timeoutMs: s.timeoutMs }));
  }

  /** Replays a txn read back from the log at start-up: apply, no replies. */
  replay(hdr: TxnHeader, txn: Txn): void {
    this.applyTxn(hdr, txn, null, 'replay');
    if (hdr.zxid > this.lastZxid) this.lastZxid = hdr.zxid;
  }

  /**
   * After replay: every recovered session gets a full timeout from now (SessionTrackerImpl on load);
   * an ensemble member writes its /zookeeper/config into the tree it now holds.
   */
  recovered(now: number): void {
    this.now = now;
    if (this.opts.configNode !== undefined) this.tree.setConfigNode(Buffer.from(this.opts.configNode, 'utf8'), now);
    for (const id of this.sessions.sessions.keys()) this.sessions.touch(id, now);
  }

  private prepOptions(): PrepOptions {
    const o = this.opts;
    return {
      extendedTypesEnabled: o.extendedTypesEnabled,
      enforceQuota: o.enforceQuota,
      ...(o.auth ? { aclSchemes: o.auth.aclSchemes } : {}),
    };
  }

  // ---------- connections ----------

  /**
   * A client connected; `certSubject` is the subject of the certificate a TLS client showed (and the
   * trust store vouched for), as Java prints it: with x509 registered, that is the connection's
   * x509 id (X509AuthenticationProvider.handleAuthentication, at the end of the handshake).
   */
  openConnection(id: number, remoteAddr: string, remotePort: number, now: number, certSubject?: string): void {
    const conn = new CoreConn(id, remoteAddr, remotePort, now);
    const auth = this.opts.auth;
    if (certSubject !== undefined && auth?.aclSchemes.has('x509')) {
      conn.authInfo.push({ scheme: 'x509', id: certSubject });
      if (auth.x509SuperUser !== undefined && auth.x509SuperUser === certSubject) conn.authInfo.push({ scheme: 'super', id: certSubject });
    }
    this.conns.set(id, conn);
  }

  /** The socket went away (or we closed it): its watches go, its session lives on until expiry. */
  connectionClosed(id: number): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    conn.closed = true;
    this.conns.delete(id);
    this.tree.removeWatcher(id);
    if (conn.sessionId !== null && this.sessionConn.get(conn.sessionId) === conn) this.sessionConn.delete(conn.sessionId);
  }

  private close(conn: CoreConn, reason: string, warn = false): void {
    if (conn.closed) return;
    this.outputs.push({ kind: 'close', conn: conn.id, reason, ...(warn ? { warn: true as const } : {}) });
    this.connectionClosed(conn.id);
  }

  private negotiateTimeout(requested: number): number {
    return Math.min(Math.max(requested, this.opts.minSessionTimeoutMs), this.opts.maxSessionTimeoutMs);
  }

  /** ConnectRequest: a new session (a createSession txn) or a reconnect to a live one. */
  connect(id: number, req: ConnectRequest, now: number): void {
    this.now = now;
    const conn = this.conns.get(id);
    if (!conn) return;
    conn.stats.packetsReceived++;
    this.stats.packetsReceived++;
    if (this.mode === 'down') {
      // ZooKeeper: "ZooKeeperServer not running"; the client tries the next server
      this.close(conn, 'this server is not serving: no leader established');
      return;
    }
    if (this.mode === 'readonly' && !req.readOnly) {
      // ZooKeeperServer.processConnectRequest: a read-only server takes only clients that can be read-only
      this.close(conn, 'Refusing session request for not-read-only client: this server is in read-only mode');
      return;
    }
    if (req.lastZxidSeen > this.lastApplied) {
      // the client has seen a later state than ours: it must look elsewhere (ZooKeeperServer.processConnectRequest)
      this.close(conn, `client has seen zxid 0x${req.lastZxidSeen.toString(16)}, our last zxid is 0x${this.lastApplied.toString(16)}`);
      return;
    }
    const timeoutMs = this.negotiateTimeout(req.timeOut);
    conn.sessionTimeoutMs = timeoutMs;
    if (req.sessionId === 0n && this.mode === 'readonly') {
      this.createLocalSession(conn, timeoutMs, now);
      return;
    }
    if (this.mode === 'readonly' && this.sessions.get(req.sessionId) && !this.localSessions.has(req.sessionId)) {
      // ReadOnlyZooKeeperServer.validateSession: an ensemble's session cannot live on here, where
      // nothing it does would reach the others; the client tries another server
      this.close(conn, 'Refusing global session reconnection in RO mode');
      return;
    }
    if (req.sessionId === 0n) {
      const sessionId = this.sessions.newSessionId();
      const passwd = this.opts.sessionPassword(sessionId);
      conn.sessionId = sessionId;
      conn.connecting = true;
      conn.early = [];
      const connect: ConnectItem = { conn, timeoutMs, passwd, at: now };
      if (this.mode === 'learner') {
        this.creating.set(sessionId, connect);
        this.forwards.push({ kind: 'create', sessionId, timeoutMs });
        return;
      }
      const zxid = ++this.lastZxid;
      this.toPersist.push({
        hdr: { sessionId, cxid: 0, zxid, time: now, type: OpCode.createSession },
        txn: { type: OpCode.createSession, timeOutMs: timeoutMs },
        origin: null,
        connect,
      });
      return;
    }
    const session = this.sessions.get(req.sessionId);
    if (!session || session.closing || !session.passwd.equals(req.passwd)) {
      this.sendConnectResponse(conn, { timeoutMs: 0, sessionId: 0n, passwd: Buffer.alloc(16) });
      this.close(
        conn,
        session
          ? 'wrong session password or session closing'
          : `session 0x${BigInt.asUintN(64, req.sessionId).toString(16)} expired or unknown`,
      );
      return;
    }
    const previous = this.sessionConn.get(session.id);
    if (previous && previous !== conn) this.close(previous, 'session reconnected on another connection');
    session.timeoutMs = timeoutMs;
    this.sessions.touch(session.id, now);
    if (this.mode === 'learner') this.touched.add(session.id);
    conn.sessionId = session.id;
    this.sessionConn.set(session.id, conn);
    this.sendConnectResponse(conn, { timeoutMs, sessionId: session.id, passwd: session.passwd });
  }

  /**
   * Read-only mode: a new session lives on this server alone (a local session, as ZooKeeper's
   * read-only server makes them): no txn, no other member knows it, and it goes when this server
   * leaves read-only mode. A client that reaches a read-write server afterwards starts a new
   * session there (the Java client sends session id 0 until it has seen a read-write server; one
   * that sends this id is told the session expired).
   */
  private createLocalSession(conn: CoreConn, timeoutMs: number, now: number): void {
    const sessionId = this.sessions.newSessionId();
    const session = this.sessions.add(sessionId, timeoutMs, this.opts.sessionPassword(sessionId), now);
    this.localSessions.add(sessionId);
    conn.sessionId = sessionId;
    this.sessionConn.set(sessionId, conn);
    this.sendConnectResponse(conn, { timeoutMs, sessionId, passwd: session.passwd });
    this.observer?.answered(OpCode.createSession, false, 0);
  }

  /** Read-only mode: a local session closed or expired; nothing to log, nothing to tell anyone. */
  private dropLocalSession(sessionId: bigint): void {
    this.localSessions.delete(sessionId);
    this.sessions.remove(sessionId);
  }

  /** The ConnectResponse; readOnly says whether this server is a read-only one (ZooKeeperServer.finishSessionInit). */
  private sendConnectResponse(conn: CoreConn, r: { timeoutMs: number; sessionId: bigint; passwd: Buffer }): void {
    const w = this.writer.reset();
    const at = w.reserveInt();
    const readOnly = this.mode === 'readonly';
    writeConnectResponse(w, { protocolVersion: 0, timeOut: r.timeoutMs, sessionId: r.sessionId, passwd: r.passwd, readOnly });
    w.patchInt(at, w.length - 4);
    this.send(conn, w.take());
  }

  // ---------- requests ----------

  request(id: number, xid: number, request: Request, now: number): void {
    this.now = now;
    const conn = this.conns.get(id);
    if (!conn) return;
    conn.stats.packetsReceived++;
    this.stats.packetsReceived++;
    if (conn.sessionId === null) {
      this.close(conn, 'request before ConnectRequest');
      return;
    }
    if (conn.connecting) {
      conn.early!.push({ xid, request, err: 0 });
      return;
    }
    this.handle(conn, xid, request);
  }

  /** A request the connection could decode the header of but not serve (unknown opcode): answered in order. */
  requestError(id: number, xid: number, err: number, now: number): void {
    this.now = now;
    const conn = this.conns.get(id);
    if (!conn || conn.sessionId === null) return;
    conn.stats.packetsReceived++;
    this.stats.packetsReceived++;
    if (conn.connecting) {
      conn.early!.push({ xid, request: null, err });
      return;
    }
    this.enqueue(conn, { kind: 'error', at: now, xid, err, zxid: -1 });
  }

  private handle(conn: CoreConn, xid: number, request: Request): void {
    const sessionId = conn.sessionId!;
    this.sessions.touch(sessionId, this.now);
    if (this.mode === 'learner') this.touched.add(sessionId);
    if (this.mode === 'readonly' && this.readOnlyRefuses(conn, xid, request)) return;
    switch (request.type) {
      case OpCode.auth: {
        // answered at once with the request's own xid, zxid 0 (ZooKeeperServer.processPacket): the
        // Java client sends -4, go-zookeeper an ordinary xid it then waits for
        const ids = this.authPacketIds(conn, request.req);
        if (!ids) {
          // ... and after an AuthFailed reply the connection is closed (the session lives on)
          this.sendReply(conn, xid, 0, ErrorCode.AuthFailed, null);
          this.close(conn, `authentication failed for scheme ${request.req.scheme}`);
          return;
        }
        for (const idv of ids) if (!conn.authInfo.some((a) => a.scheme === idv.scheme && a.id === idv.id)) conn.authInfo.push(idv);
        this.sendReply(conn, xid, 0, ErrorCode.Ok, null);
        return;
      }
      case OpCode.sasl:
        this.saslStep(conn, xid, request.req.token);
        return;
    }
    const enforce = this.opts.auth?.enforceSchemes;
    if (enforce && !conn.authInfo.some((a) => enforce.has(a.scheme))) {
      // AuthenticationHelper.enforceAuthentication: the reply, then the connection is closed
      this.sendReply(conn, xid, 0, ErrorCode.SessionClosedRequireSaslAuth, null);
      this.close(conn, `a client from ${conn.remoteAddr} not authenticated by ${[...enforce].join(', ')} (enforce.auth): refused`, true);
      return;
    }
    switch (request.type) {
      case OpCode.sync:
        if (this.mode === 'standalone') {
          this.enqueue(conn, { kind: 'sync', at: this.now, xid, path: request.req.path, barrierZxid: this.lastZxid });
        } else {
          // a quorum barrier: answered once consensus names the zxid to catch up to (ZOOKEEPER-1675)
          const item: SyncItem = { kind: 'sync', at: this.now, xid, path: request.req.path, barrierZxid: Number.POSITIVE_INFINITY };
          const id = this.nextBarrierId++;
          this.barrierWaits.set(id, { conn, item });
          this.barrierAsks.push(id);
          conn.queue.push(item);
        }
        return;
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
      case OpCode.delete:
      case OpCode.setData:
      case OpCode.setACL:
      case OpCode.multi:
      case OpCode.closeSession:
      case OpCode.reconfig:
      case OpCode.restoreSubtree:
        this.write(conn, xid, request);
        return;
      default:
        this.enqueue(conn, { kind: 'read', at: this.now, xid, request });
    }
  }

  /** The ids an auth packet proves, or null for AuthFailed. */
  private authPacketIds(conn: CoreConn, req: { scheme: string; auth: Buffer }): Id[] | null {
    if (req.scheme === 'x509') {
      // X509AuthenticationProvider.handleAuthentication: the certificate the connection showed in
      // its handshake is the credential; without one it fails
      const x509 = conn.authInfo.filter((a) => a.scheme === 'x509');
      return x509.length > 0 ? x509 : null;
    }
    return authenticate(req.scheme, req.auth, conn.remoteAddr, this.opts.superDigest);
  }

  /**
   * One SASL token (ZooKeeperServer.processSasl): the reply carries the server's next token
   * (SetSASLResponse) with the request's xid and zxid 0; once the exchange completes the connection
   * holds sasl:NAME (and super for zookeeper.superUser). A failed exchange is answered AuthFailed
   * (SessionClosedRequireSaslAuth when SASL is required) and the connection closed; the session lives on.
   */
  private saslStep(conn: CoreConn, xid: number, token: Buffer): void {
    const auth = this.opts.auth;
    const users = auth?.saslUsers;
    if (!auth || !users) {
      // no JAAS Server section: ZooKeeper has no SASL server for the connection and drops it
      this.close(conn, 'SASL is not configured (no Server section in the JAAS file)');
      return;
    }
    conn.sasl ??= new DigestMd5Server((u) => users.get(u), auth.saslNonce());
    const step = conn.sasl.step(token);
    if (step.kind === 'failure') {
      const required = auth.enforceSchemes?.has('sasl') === true;
      this.sendSaslFailure(conn, xid, required ? ErrorCode.SessionClosedRequireSaslAuth : ErrorCode.AuthFailed);
      this.close(conn, `SASL authentication failed from ${conn.remoteAddr}: ${step.reason}`, true);
      return;
    }
    if (step.kind === 'success') {
      const ids: Id[] = [{ scheme: 'sasl', id: step.authorizationId }];
      if (auth.saslSuperUser !== undefined && auth.saslSuperUser === step.authorizationId) ids.push({ scheme: 'super', id: '' });
      for (const idv of ids) if (!conn.authInfo.some((a) => a.scheme === idv.scheme && a.id === idv.id)) conn.authInfo.push(idv);
    }
    this.sendReply(conn, xid, 0, ErrorCode.Ok, (w) => w.buffer(step.token));
  }

  /**
   * Read-only mode (ReadOnlyRequestProcessor): a change or a sync is answered NotReadOnly with the
   * last zxid; a closeSession ends the local session here. True when the request was dealt with.
   */
  private readOnlyRefuses(conn: CoreConn, xid: number, request: Request): boolean {
    if (NOT_IN_READ_ONLY_MODE.has(request.type)) {
      this.enqueue(conn, { kind: 'error', at: this.now, xid, err: ErrorCode.NotReadOnly, zxid: this.lastApplied });
      return true;
    }
    if (request.type !== OpCode.closeSession) return false;
    this.dropLocalSession(conn.sessionId!);
    const item: WriteItem = { kind: 'write', at: this.now, conn, xid, type: request.type, zxid: this.lastApplied, result: null };
    item.result = { type: OpCode.closeSession };
    conn.queue.push(item);
    this.drain(conn);
    return true;
  }

  private write(conn: CoreConn, xid: number, request: Request): void {
    const sessionId = conn.sessionId!;
    const session = this.sessions.get(sessionId);
    if (!session || session.closing) {
      this.enqueue(conn, { kind: 'error', at: this.now, xid, err: ErrorCode.SessionExpired, zxid: this.lastApplied });
      return;
    }
    const item: WriteItem = { kind: 'write', at: this.now, conn, xid, type: request.type, zxid: -1, result: null };
    conn.queue.push(item);
    if (this.mode === 'learner') {
      if (request.type === OpCode.closeSession) this.sessions.setClosing(sessionId);
      this.forwards.push({ kind: 'request', sessionId, xid, request, authInfo: conn.authInfo.slice() });
      return;
    }
    const p = this.prepWrite(sessionId, conn.authInfo, xid, request);
    item.zxid = p.hdr.zxid;
    p.origin = item;
  }

  /** PrepRequestProcessor: a write becomes a txn (an error txn when it fails), queued to persist. */
  private prepWrite(sessionId: bigint, authInfo: readonly Id[], xid: number, request: Request): PendingTxn {
    const zxid = ++this.lastZxid;
    const ctx = { sessionId, authInfo, zxid, time: this.now };
    let txn: Txn;
    try {
      const session = this.sessions.get(sessionId);
      // a forwarded request may name a session that expired meanwhile (the leader decides)
      if (!session || session.closing) throw new KeeperError(ErrorCode.SessionExpired);
      switch (request.type) {
        case OpCode.multi:
          txn = this.prep.multi(request.req.ops, ctx);
          break;
        case OpCode.closeSession:
          this.sessions.setClosing(sessionId);
          txn = this.prep.closeSession(sessionId, zxid);
          break;
        case OpCode.reconfig:
          throw new KeeperError(ErrorCode.ReconfigDisabled);
        default:
          txn = this.prep.prepare(request.type, request.req, ctx);
      }
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      txn = { type: OpCode.error, err: e.code };
    }
    // what goes to the log must say what the request asked (a mismatch is a bug in prep)
    assertTxnAgrees(request, txn, sessionId);
    const p: PendingTxn = {
      hdr: { sessionId, cxid: xid, zxid, time: this.now, type: txn.type === OpCode.error ? OpCode.error : request.type },
      txn,
      origin: null,
      connect: null,
    };
    this.toPersist.push(p);
    return p;
  }

  // ---------- ensemble ----------

  /** Switches role (see CoreMode). Leaving service closes every client connection; sessions live on. */
  setMode(mode: CoreMode, lastZxid: number, now: number): void {
    this.now = now;
    const was = this.mode;
    this.mode = mode;
    if (was === 'leader' && mode !== 'leader') {
      // a reign's uncommitted createSessions may never commit: forget what only prep knew;
      // and its uncommitted closeSessions may never commit either: the sessions live on. Txns it
      // prepped that consensus never took go too: no later reign proposes them (a read-only
      // member must hold none)
      this.toPersist = [];
      for (const id of this.provisional) this.sessions.remove(id);
      this.provisional.clear();
      for (const sess of this.sessions.sessions.values()) {
        sess.closing = false;
        this.sessions.touch(sess.id, now);
      }
    }
    if (was === 'readonly' && mode !== 'readonly') {
      // ReadOnlyZooKeeperServer.shutdown closes every connection: its clients move to a
      // read-write server; the local sessions go with read-only mode
      for (const id of this.localSessions) this.sessions.remove(id);
      this.localSessions.clear();
    }
    if (mode === 'down' || mode === 'readonly' || was === 'leader' || mode === 'leader' || was === 'readonly') {
      const reason =
        was === 'readonly'
          ? 'server left read-only mode'
          : mode === 'down' || mode === 'readonly'
            ? 'server lost its leader'
            : 'server changed role';
      for (const conn of [...this.conns.values()]) this.close(conn, reason);
      this.creating.clear();
      this.barrierWaits.clear();
      this.barrierAsks = [];
      this.forwards = [];
      this.touched.clear();
    }
    if (mode === 'leader') {
      // the txns a previous reign decided but did not commit are the ensemble's business now
      this.toPersist = [];
      this.prep = new Prep(this.tree, this.prepOptions());
      this.lastZxid = lastZxid;
      // a new leader does not know when sessions were last seen: each gets a full timeout (ZooKeeper does the same)
      for (const sess of this.sessions.sessions.values()) {
        sess.closing = false;
        this.sessions.touch(sess.id, now);
      }
    }
  }

  /** Learner: writes and session changes to send to the leader. */
  takeForwards(): Forward[] {
    const out = this.forwards;
    this.forwards = [];
    return out;
  }

  /** Learner: sessions with activity since the last call (they ride on heartbeats to the leader). */
  takeTouched(): bigint[] {
    const out = [...this.touched];
    this.touched.clear();
    return out;
  }

  /** Leader: a learner saw these sessions alive. */
  touchSessions(ids: readonly bigint[], now: number): void {
    for (const id of ids) this.sessions.touch(id, now);
  }

  /** Leader: prep a learner's forwarded write or new session. */
  forwarded(f: Forward, now: number): void {
    this.now = now;
    if (this.mode !== 'leader') return;
    if (f.kind === 'create') {
      const zxid = ++this.lastZxid;
      const timeoutMs = this.negotiateTimeout(f.timeoutMs);
      // tracked from prep on (PrepRequestProcessor.trackSession): the learner may apply the
      // createSession and hand the client its first write before this leader applied it
      if (!this.sessions.get(f.sessionId)) {
        this.sessions.add(f.sessionId, timeoutMs, this.opts.sessionPassword(f.sessionId), now);
        this.provisional.add(f.sessionId);
      }
      this.toPersist.push({
        hdr: { sessionId: f.sessionId, cxid: 0, zxid, time: now, type: OpCode.createSession },
        txn: { type: OpCode.createSession, timeOutMs: timeoutMs },
        origin: null,
        connect: null,
      });
      return;
    }
    this.prepWrite(f.sessionId, f.authInfo, f.xid, f.request);
  }

  /** Barrier ids to hand to consensus. */
  takeBarrierAsks(): number[] {
    const out = this.barrierAsks;
    this.barrierAsks = [];
    return out;
  }

  /** Consensus completed barrier `id`: answer the sync once zxid is applied. */
  barrierDone(id: number, zxid: number, now: number): void {
    this.now = now;
    const w = this.barrierWaits.get(id);
    if (!w) return;
    this.barrierWaits.delete(id);
    w.item.barrierZxid = zxid;
    this.drain(w.conn);
  }

  /** A committed txn that this server did not decide, or decided for a learner's client: find whom it answers. */
  private matchOrigin(hdr: TxnHeader, txn: Txn): { origin: WriteItem | null; connect: ConnectItem | null } {
    if (txn.type === OpCode.createSession) {
      const c = this.creating.get(hdr.sessionId) ?? null;
      if (c) this.creating.delete(hdr.sessionId);
      return { origin: null, connect: c };
    }
    if (this.mode !== 'learner') return { origin: null, connect: null };
    const conn = this.sessionConn.get(hdr.sessionId);
    if (!conn) return { origin: null, connect: null };
    for (const item of conn.queue) {
      if (item.kind !== 'write' || item.result !== null) continue;
      if (item.xid === hdr.cxid) {
        item.zxid = hdr.zxid;
        return { origin: item, connect: null };
      }
      // a write of the session's previous connection (it moved here meanwhile): nobody waits for it
      if (hdr.cxid < item.xid) return { origin: null, connect: null };
      // the leader answers a session's writes in order; a mismatch means requests were lost
      this.close(conn, `reply order broken (txn for xid ${hdr.cxid}, waiting for ${item.xid})`);
      return { origin: null, connect: null };
    }
    return { origin: null, connect: null };
  }

  private enqueue(conn: CoreConn, item: ReadItem | SyncItem | ErrorItem): void {
    if (conn.queue.length === 0 && this.ready(item)) {
      this.safeAnswer(conn, item);
      return;
    }
    conn.queue.push(item);
  }

  private ready(item: PendingItem): boolean {
    switch (item.kind) {
      case 'write':
        return item.result !== null;
      case 'sync':
        return this.lastApplied >= item.barrierZxid;
      default:
        return true;
    }
  }

  private drain(conn: CoreConn): void {
    while (!conn.closed && conn.queue.length > 0 && this.ready(conn.queue[0]!)) {
      this.safeAnswer(conn, conn.queue.shift()!);
    }
  }

  private safeAnswer(conn: CoreConn, item: PendingItem): void {
    try {
      this.answer(conn, item);
    } catch (e) {
      // a bug answering one request costs that connection, never the server
      this.internalErrors.push(`answering xid ${item.xid}: ${(e as Error).stack ?? String(e)}`);
      this.close(conn, 'internal error');
    }
  }

  // ---------- persistence boundary ----------

  /** Txns decided since the last call, in zxid order: persist them, then pass them to committed(). */
  takeTxns(): PendingTxn[] {
    const out = this.toPersist;
    this.toPersist = [];
    if (this.mode === 'standalone') this.inflight += out.length;
    return out;
  }

  get hasTxns(): boolean {
    return this.toPersist.length > 0;
  }

  /** The txns are durable: apply them in order and answer their requests. */
  committed(txns: readonly PendingTxn[], now: number): void {
    this.now = now;
    if (this.mode === 'standalone') {
      this.inflight -= txns.length;
      assert(this.inflight >= 0, 'committed more txns than were taken');
    }
    for (const p0 of txns) {
      let p = p0;
      if (!p.origin && !p.connect && this.mode !== 'standalone') {
        const m = this.matchOrigin(p.hdr, p.txn);
        if (m.origin || m.connect) p = { ...p, origin: m.origin, connect: m.connect };
      }
      // live: prep (this server's or the leader's) decided it against the state it now applies to
      const result = this.applyTxn(p.hdr, p.txn, p, 'live');
      if (p.origin) {
        p.origin.result = result;
        // answer now: reads queued behind this write must see the tree as it is after it,
        // not after later txns of the same batch
        this.drain(p.origin.conn);
      }
    }
    // a sync waits for every txn before it, from any connection
    for (const conn of this.conns.values()) if (conn.queue.length > 0) this.drain(conn);
  }

  private applyTxn(hdr: TxnHeader, txn: Txn, p: PendingTxn | null, mode: ApplyMode): ApplyResult {
    const events: WatchEvent[] = [];
    const result = this.tree.apply(hdr, txn, events, mode);
    this.prep.applied(hdr.zxid);
    if (txn.type === OpCode.createSession) {
      this.provisional.delete(hdr.sessionId);
      this.sessions.add(hdr.sessionId, txn.timeOutMs, this.opts.sessionPassword(hdr.sessionId), hdr.time);
      if (p?.connect) this.sessionCreated(p.connect);
    } else if (txn.type === OpCode.closeSession) {
      this.sessions.remove(hdr.sessionId);
      const conn = this.sessionConn.get(hdr.sessionId);
      // a client's own closeSession is answered first, then its connection closes (in answer())
      if (conn && p?.origin?.conn !== conn) this.close(conn, 'session expired');
    }
    for (const ev of events) this.sendEvent(ev, hdr.zxid);
    return result;
  }

  private sessionCreated(c: ConnectItem): void {
    const conn = c.conn;
    if (conn.closed) return;
    conn.connecting = false;
    this.sessionConn.set(conn.sessionId!, conn);
    this.sendConnectResponse(conn, { timeoutMs: c.timeoutMs, sessionId: conn.sessionId!, passwd: c.passwd });
    this.observer?.answered(OpCode.createSession, true, this.now - c.at);
    const early = conn.early ?? [];
    conn.early = null;
    for (const e of early) {
      if (e.request) this.handle(conn, e.xid, e.request);
      else this.enqueue(conn, { kind: 'error', at: this.now, xid: e.xid, err: e.err, zxid: -1 });
    }
  }

  // ---------- time ----------

  /** Expires sessions and removes empty containers / expired TTL nodes. */
  tick(now: number): void {
    this.now = now;
    if (this.mode === 'readonly') {
      this.expireLocalSessions(now);
      return;
    }
    if (this.mode !== 'standalone' && this.mode !== 'leader') return;
    for (const sessionId of this.sessions.expire(now)) {
      const zxid = ++this.lastZxid;
      const txn = this.prep.closeSession(sessionId, zxid);
      this.toPersist.push({ hdr: { sessionId, cxid: 0, zxid, time: now, type: OpCode.closeSession }, txn, origin: null, connect: null });
    }
    if (now >= this.nextContainerCheck) {
      this.nextContainerCheck = now + this.opts.containerCheckIntervalMs;
      this.sweepContainers(now);
    }
  }

  /**
   * Read-only mode: local sessions expire here (their connection closes); the ensemble's sessions
   * are the leader's to expire once there is one, so they stay as they are.
   */
  private expireLocalSessions(now: number): void {
    for (const sessionId of this.sessions.expire(now)) {
      if (!this.localSessions.has(sessionId)) {
        this.sessions.get(sessionId)!.closing = false;
        continue;
      }
      this.dropLocalSession(sessionId);
      const conn = this.sessionConn.get(sessionId);
      if (conn) this.close(conn, 'session expired');
    }
  }

  private sweepContainers(now: number): void {
    const candidates: string[] = [];
    for (const path of this.tree.containers) {
      const node = this.tree.get(path);
      if (node && node.cversion > 0 && node.numChildren === 0) candidates.push(path);
    }
    for (const path of this.tree.ttls) {
      const node = this.tree.get(path);
      if (!node || node.numChildren > 0) continue;
      const ttl = Number(BigInt.asUintN(64, node.ephemeralOwner) & 0xffffffffffn);
      if (now - node.mtime > ttl) candidates.push(path);
    }
    for (const path of candidates) {
      const zxid = this.lastZxid + 1;
      let txn: Txn;
      try {
        txn = this.prep.deleteContainer(path, zxid);
      } catch (e) {
        if (e instanceof KeeperError) continue; // changed meanwhile: a later sweep looks again
        throw e;
      }
      this.lastZxid = zxid;
      this.toPersist.push({
        hdr: { sessionId: 0n, cxid: 0, zxid, time: now, type: OpCode.deleteContainer },
        txn,
        origin: null,
        connect: null,
      });
    }
  }

  // ---------- answering ----------

  takeOutputs(): Output[] {
    const out = this.outputs;
    this.outputs = [];
    for (const o of out) {
      const c = this.conns.get(o.conn);
      if (c) c.outBytes = 0;
    }
    return out;
  }

  private send(conn: CoreConn, data: Buffer): void {
    conn.outBytes += data.length;
    conn.stats.packetsSent++;
    this.stats.packetsSent++;
    this.outputs.push({ kind: 'send', conn: conn.id, data });
  }

  private sendReply(conn: CoreConn, xid: number, zxid: number, err: number, body: ((w: JuteWriter) => void) | null): void {
    const w = this.writer.reset();
    const at = w.reserveInt();
    w.int(xid).long(zxid).int(err);
    if (body && err === 0) {
      try {
        body(w);
      } catch (e) {
        if (!(e instanceof KeeperError)) throw e;
        // larger than REPLY_BYTES_MAX: answer the code instead
        w.reset();
        this.writer.shrink(0);
        this.sendReply(conn, xid, zxid, e.code, null);
        return;
      }
    }
    w.patchInt(at, w.length - 4);
    this.send(conn, w.take());
    w.reset();
    this.writer.shrink(1 << 20);
  }

  /**
   * A failed SASL step's reply keeps its body, an empty SetSASLResponse (a null token, length -1), as
   * ZooKeeper's processSasl sends it: the Java client reads a token from every reply to a SASL
   * request whatever the error, and only then reports AuthFailed (without it, it sees a short
   * frame, reconnects and tries again).
   */
  private sendSaslFailure(conn: CoreConn, xid: number, err: number): void {
    const w = this.writer.reset();
    const at = w.reserveInt();
    w.int(xid).long(0).int(err).int(-1);
    w.patchInt(at, w.length - 4);
    this.send(conn, w.take());
    w.reset();
  }

  private sendEvent(ev: WatchEvent, zxid: number): void {
    const conn = this.conns.get(ev.watcher);
    if (!conn || conn.closed) return;
    // a watcher that may not read the node does not learn of its changes (CVE-2024-23944)
    if (ev.acl && !aclAllows(ev.acl, Perms.READ, conn.authInfo)) return;
    const w = this.writer.reset();
    const at = w.reserveInt();
    // 3.9 puts the zxid that fired the watch in the header (ZOOKEEPER-4655); older clients ignore it
    w.int(Xid.notification).long(zxid).int(0);
    w.int(ev.type).int(KeeperState.SyncConnected).string(ev.path);
    w.patchInt(at, w.length - 4);
    this.send(conn, w.take());
  }

  private record(conn: CoreConn, op: string, zxid: number): void {
    const s = conn.stats;
    s.lastOp = op;
    s.lastZxid = zxid;
    s.lastResponseTime = this.now;
  }

  private answer(conn: CoreConn, item: PendingItem): void {
    this.recordLatency(conn, this.now - item.at);
    conn.stats.lastCxid = item.xid;
    conn.stats.lastLatencyMs = this.now - item.at;
    this.observer?.answered(answeredType(item), item.kind === 'write', this.now - item.at);
    switch (item.kind) {
      case 'write':
        this.answerWrite(conn, item);
        return;
      case 'error':
        this.sendReply(conn, item.xid, item.zxid, item.err, null);
        return;
      case 'sync':
        this.record(conn, 'SYNC', this.lastApplied);
        this.sendReply(conn, item.xid, this.lastApplied, 0, (w) => w.string(item.path));
        return;
      case 'read':
        this.answerRead(conn, item.xid, item.request);
        return;
    }
  }

  private answerWrite(conn: CoreConn, item: WriteItem): void {
    const r = item.result!;
    this.record(conn, opShort(item.type), item.zxid);
    if (r.type === OpCode.error) {
      this.sendReply(conn, item.xid, item.zxid, r.err, null);
      return;
    }
    switch (item.type) {
      case OpCode.create:
        if ('path' in r) this.sendReply(conn, item.xid, item.zxid, 0, (w) => w.string(r.path));
        return;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        if ('path' in r)
          this.sendReply(conn, item.xid, item.zxid, 0, (w) => {
            w.string(r.path);
            writeStat(w, r.stat);
          });
        return;
      case OpCode.setData:
      case OpCode.setACL:
        if ('stat' in r) this.sendReply(conn, item.xid, item.zxid, 0, (w) => writeStat(w, r.stat));
        return;
      case OpCode.multi:
        if (r.type === OpCode.multi) {
          const results = r.results.map(toOpResult);
          this.sendReply(conn, item.xid, item.zxid, 0, (w) => writeOpResults(w, results));
        }
        return;
      case OpCode.closeSession:
        this.sendReply(conn, item.xid, item.zxid, 0, null);
        this.close(conn, 'client closed its session');
        return;
      default:
        this.sendReply(conn, item.xid, item.zxid, 0, null);
    }
  }

  private answerRead(conn: CoreConn, xid: number, request: Request): void {
    const zxid = this.lastApplied;
    this.record(conn, opShort(request.type), zxid);
    try {
      const body = this.read(conn, request);
      this.sendReply(conn, xid, zxid, 0, body);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      this.sendReply(conn, xid, zxid, e.code, null);
    }
  }

  /** FinalRequestProcessor's read side: checks, watch registration, the response record. */
  private read(conn: CoreConn, request: Request): ((w: JuteWriter) => void) | null {
    const tree = this.tree;
    switch (request.type) {
      case OpCode.ping:
        return null;
      case OpCode.exists: {
        const { path, watch } = request.req;
        if (path.includes('\0')) throw new KeeperError(ErrorCode.BadArguments, path);
        // no ACL check: ZooKeeper 3.8 answers exists on any node (master added a READ check later)
        const stat = tree.statNode(path, watch ? conn.id : null);
        if (!stat) throw new KeeperError(ErrorCode.NoNode, path);
        return (w) => writeStat(w, stat);
      }
      case OpCode.getData: {
        const { dataBytes, stat } = this.getData(conn, request.req.path, request.req.watch);
        return (w) => {
          w.latin1Buffer(dataBytes);
          writeStat(w, stat);
        };
      }
      case OpCode.getChildren: {
        const { children } = this.getChildren(conn, request.req.path, request.req.watch);
        return (w) => w.stringVector(children);
      }
      case OpCode.getChildren2: {
        const { children, stat } = this.getChildren(conn, request.req.path, request.req.watch);
        return (w) => {
          w.stringVector(children);
          writeStat(w, stat);
        };
      }
      case OpCode.getACL: {
        const path = request.req.path;
        const node = tree.get(path);
        if (!node) throw new KeeperError(ErrorCode.NoNode, path);
        checkACL(node.acl, Perms.READ | Perms.ADMIN, conn.authInfo, path);
        const acl = aclAllows(node.acl, Perms.ADMIN, conn.authInfo) ? node.acl : redactDigests(node.acl);
        const stat = node.stat();
        return (w) => {
          writeACLs(w, acl);
          writeStat(w, stat);
        };
      }
      case OpCode.check: {
        // outside a multi, check is a read (FinalRequestProcessor.handleCheckVersionRequest)
        const { path, version } = request.req;
        const node = tree.get(path);
        if (!node) throw new KeeperError(ErrorCode.NoNode, path);
        checkACL(node.acl, Perms.READ, conn.authInfo, path);
        if (version !== -1 && version !== node.version) throw new KeeperError(ErrorCode.BadVersion, path);
        return null;
      }
      case OpCode.getAllChildrenNumber: {
        const path = request.req.path;
        const node = tree.get(path);
        if (!node) throw new KeeperError(ErrorCode.NoNode, path);
        checkACL(node.acl, Perms.READ, conn.authInfo, path);
        const n = tree.countDescendants(path);
        return (w) => w.int(n);
      }
      case OpCode.getEphemerals: {
        const prefix = request.req.path.trim();
        const all = [...(tree.ephemerals.get(conn.sessionId!) ?? [])];
        const list = prefix === '' || prefix === '/' ? all : all.filter((p) => p.startsWith(request.req.path));
        return (w) => w.stringVector(list);
      }
      case OpCode.multiRead: {
        const results = request.req.ops.map((op) => this.readOp(conn, op));
        // the one read that can name a large node thousands of times: refused before it is built
        if (resultBytesAtLeast(results) > this.replyBytesMax) throw new KeeperError(ErrorCode.MarshallingError);
        return (w) => writeOpResults(w, results);
      }
      case OpCode.setWatches:
      case OpCode.setWatches2:
        this.setWatches(conn, request.req);
        return null;
      case OpCode.addWatch: {
        const { path, mode } = request.req;
        if (mode !== AddWatchMode.Persistent && mode !== AddWatchMode.PersistentRecursive)
          throw new KeeperError(ErrorCode.MarshallingError, path);
        tree.addPersistentWatch(path, conn.id, mode === AddWatchMode.PersistentRecursive);
        // the Java client reads an ErrorResponse record here (FinalRequestProcessor: new ErrorResponse(0))
        return (w) => w.int(0);
      }
      case OpCode.removeWatches:
      case OpCode.checkWatches: {
        const { path, type } = request.req;
        if (!this.watchOp(conn, path, type, request.type === OpCode.removeWatches)) throw new KeeperError(ErrorCode.NoWatcher, path);
        return null;
      }
      case OpCode.whoAmI: {
        const infos = conn.authInfo.map((a) => ({ scheme: a.scheme, user: a.scheme === 'digest' ? a.id.replace(/:.*/s, '') : a.id }));
        return (w) =>
          w.vector(infos, (ww, i) => {
            ww.string(i.scheme).string(i.user);
          });
      }
    }
    throw new KeeperError(ErrorCode.Unimplemented);
  }

  private getData(conn: CoreConn, path: string, watch: boolean): { dataBytes: string | null; stat: Stat } {
    const node = this.tree.get(path);
    if (!node) throw new KeeperError(ErrorCode.NoNode, path);
    checkACL(node.acl, Perms.READ, conn.authInfo, path);
    if (watch) this.tree.addDataWatch(path, conn.id);
    return { dataBytes: node.dataBytes, stat: node.stat() };
  }

  private getChildren(conn: CoreConn, path: string, watch: boolean): { children: string[]; stat: Stat } {
    const node = this.tree.get(path);
    if (!node) throw new KeeperError(ErrorCode.NoNode, path);
    checkACL(node.acl, Perms.READ, conn.authInfo, path);
    if (watch) this.tree.addChildWatch(path, conn.id);
    return { children: node.children ? [...node.children] : [], stat: node.stat() };
  }

  private readOp(conn: CoreConn, op: MultiOp): ReplyOpResult {
    try {
      if (op.type === OpCode.getData) {
        const { dataBytes, stat } = this.getData(conn, op.req.path, op.req.watch);
        return { type: OpCode.getData, dataBytes, stat };
      }
      if (op.type === OpCode.getChildren) {
        return { type: OpCode.getChildren, children: this.getChildren(conn, op.req.path, op.req.watch).children };
      }
      throw new KeeperError(ErrorCode.Unimplemented);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      return { type: OpCode.error, err: e.code };
    }
  }

  /** Re-registration after a reconnect: changes since relativeZxid fire at once (DataTree.setWatches). */
  private setWatches(conn: CoreConn, s: SetWatchesRequest): void {
    const tree = this.tree;
    // these events carry zxid -1 (DataTree.setWatches in 3.9)
    const fire = (type: EventType, path: string, acl: readonly ACL[] | null): void =>
      this.sendEvent({ watcher: conn.id, type, path, acl }, -1);
    for (const path of s.dataWatches) {
      const node = tree.get(path);
      if (!node) fire(EventType.NodeDeleted, path, null);
      else if (node.mzxid > s.relativeZxid) fire(EventType.NodeDataChanged, path, node.acl);
      else tree.addDataWatch(path, conn.id);
    }
    for (const path of s.existWatches) {
      const node = tree.get(path);
      if (node) fire(EventType.NodeCreated, path, node.acl);
      else tree.addDataWatch(path, conn.id);
    }
    for (const path of s.childWatches) {
      const node = tree.get(path);
      if (!node) fire(EventType.NodeDeleted, path, null);
      else if (node.pzxid > s.relativeZxid) fire(EventType.NodeChildrenChanged, path, node.acl);
      else tree.addChildWatch(path, conn.id);
    }
    for (const path of s.persistentWatches) tree.addPersistentWatch(path, conn.id, false);
    for (const path of s.persistentRecursiveWatches) tree.addPersistentWatch(path, conn.id, true);
  }

  /** removeWatches / checkWatches by WatcherType; false when there was no such watch (NoWatcher). */
  private watchOp(conn: CoreConn, path: string, type: number, remove: boolean): boolean {
    const { dataWatches, childWatches } = this.tree;
    // as ZooKeeper 3.9 (DataTree.removeWatch / containsWatcher): Children and Data touch only the
    // one-shot watches, Any every kind, Persistent and PersistentRecursive only their own
    const all = WatchMode.Standard | WatchMode.Persistent | WatchMode.PersistentRecursive;
    const targets: Array<[typeof dataWatches, number]> = [];
    switch (type) {
      case WatcherType.Children:
        targets.push([childWatches, WatchMode.Standard]);
        break;
      case WatcherType.Data:
        targets.push([dataWatches, WatchMode.Standard]);
        break;
      case WatcherType.Any:
        targets.push([childWatches, all], [dataWatches, all]);
        break;
      case WatcherType.Persistent:
        targets.push([childWatches, WatchMode.Persistent], [dataWatches, WatchMode.Persistent]);
        break;
      case WatcherType.PersistentRecursive:
        targets.push([dataWatches, WatchMode.PersistentRecursive]);
        break;
      default:
        throw new KeeperError(ErrorCode.MarshallingError, path);
    }
    let found = false;
    for (const [wm, mask] of targets) {
      if (remove ? wm.remove(path, conn.id, mask) : wm.has(path, conn.id, mask)) found = true;
    }
    return found;
  }

  private recordLatency(conn: CoreConn, ms: number): void {
    for (const s of [this.stats, conn.stats]) {
      s.completed++;
      s.totalLatencyMs += ms;
      if (ms < s.minLatencyMs) s.minLatencyMs = ms;
      if (ms > s.maxLatencyMs) s.maxLatencyMs = ms;
    }
  }

  resetStats(): void {
    Object.assign(this.stats, freshLatencyStats());
  }
}

/** The opcode an answered item counts as (see CoreObserver.answered). */
function answeredType(item: PendingItem): number {
  switch (item.kind) {
    case 'write':
      return item.result?.type === OpCode.error ? OpCode.error : item.type;
    case 'read':
      return item.request.type;
    case 'sync':
      return OpCode.sync;
    case 'error':
      return OpCode.error;
  }
}

/** A lower bound of the bytes these results take in a reply: their data and child names (a UTF-16 length never exceeds the UTF-8 one). */
function resultBytesAtLeast(results: readonly ReplyOpResult[]): number {
  let n = 0;
  for (const r of results) {
    if (r.type === OpCode.getData) n += ('dataBytes' in r ? r.dataBytes : r.data)?.length ?? 0;
    else if (r.type === OpCode.getChildren) for (const name of r.children) n += name.length;
  }
  return n;
}

function toOpResult(r: ApplyResult): OpResult {
  switch (r.type) {
    case OpCode.create:
      return { type: OpCode.create, path: r.path };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      // ZooKeeper reports every create-with-stat as create2 (CreateResult(path, stat)); clients
      // know no other result type
      return { type: OpCode.create2, path: r.path, stat: r.stat };
    case OpCode.setData:
      return { type: OpCode.setData, stat: r.stat };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type: OpCode.delete };
    case OpCode.check:
      return { type: OpCode.check };
    case OpCode.error:
      return { type: OpCode.error, err: r.err };
    default:
      return { type: OpCode.error, err: ErrorCode.RuntimeInconsistency };
  }
}

/** Four-character op names that cons / stat show (ServerCnxn lastOp). */
export function opShort(type: number): string {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return 'CREA';
    case OpCode.delete:
      return 'DELE';
    case OpCode.exists:
      return 'EXIS';
    case OpCode.getData:
      return 'GETD';
    case OpCode.setData:
      return 'SETD';
    case OpCode.getACL:
      return 'GETA';
    case OpCode.setACL:
      return 'SETA';
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return 'GETC';
    case OpCode.sync:
      return 'SYNC';
    case OpCode.ping:
      return 'PING';
    case OpCode.check:
      return 'CHEC';
    case OpCode.multi:
      return 'MULT';
    case OpCode.multiRead:
      return 'MLTR';
    case OpCode.closeSession:
      return 'CLOS';
    case OpCode.setWatches:
    case OpCode.setWatches2:
      return 'SETW';
    case OpCode.addWatch:
      return 'ADDW';
    case OpCode.removeWatches:
      return 'REMW';
    case OpCode.checkWatches:
      return 'CHKW';
    case OpCode.getEphemerals:
      return 'GETE';
    case OpCode.getAllChildrenNumber:
      return 'GETACN';
    case OpCode.whoAmI:
      return 'HOMI';
    case OpCode.reconfig:
      return 'RECO';
    case OpCode.restoreSubtree:
      return 'REST';
    default:
      return 'NA';
  }
}
