// The peer transport: a TCP mesh between the servers of an ensemble. Bytes in, bytes out; what the
// bytes mean (consensus/codec.ts) is not this file's business.
//
// Each server opens ONE outbound connection to every peer and only sends on it; connections a
// server accepts are only read. So there is exactly one connection per direction and no
// tie-breaking, unlike ZooKeeper's QuorumCnxManager, which keeps one socket per pair and must
// decide which side's connection survives (the source of ZOOKEEPER-2164/3016-style hangs).
//
// Outbound: connect, send the handshake "ARKP" + uint16 version + uint32 sender id, then frames
// of uint32 big-endian length + payload. While the connection is down a send is DROPPED: the
// consensus protocol retransmits (pings, sync, resent proposals), and queueing while disconnected
// would only grow memory and deliver stale messages late. Reconnects repeat until close().
//
// Inbound: the handshake must name a configured peer; a frame length of 0 or above frameBytesMax
// closes the connection (ZOOKEEPER-2186: random bytes on the quorum port must not allocate
// gigabytes or take the server down). Nothing thrown here escapes into a socket event handler.
//
// Security (ZooKeeper's sslQuorum / portUnification / quorum.auth.*): with TLS the connecting side
// opens TLS, both sides present certificates and check the other's (and its host name); the
// quorum port takes TLS only, plain only, or either (port unification: the first byte tells, as
// ZooKeeper's UnifiedServerSocket). With quorum SASL, or over TLS, the hello says "ARKA" instead of
// "ARKP" and the acceptor answers (the DIGEST-MD5 exchange, or that it admits the connector:
// peerauth.ts) before the connector sends any data, so a TLS 1.3 connector whose certificate the
// acceptor refuses after the handshake never takes the connection for up; a connection is registered as its peer's only once admitted, so an impostor claiming a
// member's id never replaces (or counts as) that member. Refusals are logged by refusals.ts.
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, Server as TlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { Logger } from '../util/log.js';
import { onFirstByte, TLS_HANDSHAKE } from './firstbyte.js';
import { confirmedNames, type Resolver } from './hostconfirm.js';
import { AcceptorAuth, ConnectorAuth, type AuthStep, type QuorumAuthPolicy } from './peerauth.js';
import { RefusalLog } from './refusals.js';

export interface PeerAddress {
  id: number;
  host: string;
  port: number;
}

export type PeerLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

/** The quorum port's TLS: which connections use it, and the stores (runtime/tlsfiles.ts). */
export interface PeerTlsSettings {
  /** sslQuorum: connections this member opens use TLS (and, without portUnification, the port takes TLS only) */
  sslQuorum: boolean;
  /** portUnification: the quorum port takes TLS and plain connections */
  portUnification: boolean;
  /** key, cert, ca, versions, ciphers; replaced by setTlsOptions (sslQuorumReloadCertFiles) */
  options: SecureContextOptions;
  /** ssl.quorum.hostnameVerification: both ends check the other's certificate against its address */
  hostnameVerification: boolean;
  /** ssl.quorum.clientHostnameVerification: false, the accepting end does not check (default: hostnameVerification) */
  clientHostnameVerification?: boolean;
  /** ssl.quorum.clientAuth: need (default), want or none (SSLContextAndOptions on the quorum server socket) */
  clientAuth?: 'need' | 'want' | 'none';
  /** ssl.quorum.handshakeDetectionTimeoutMillis: first byte and TLS handshake within this (default 5000) */
  handshakeTimeoutMs?: number;
  /** reverse and forward DNS for the accepting end's host name check; default the system's */
  resolver?: Resolver;
}

export interface PeerSecurity {
  /** null: no TLS on the quorum port */
  tls: PeerTlsSettings | null;
  /** null: no quorum SASL (quorum.auth.enableSasl=false) */
  auth: QuorumAuthPolicy;
  /** a fresh unguessable nonce per connection (SASL) */
  nonce: () => string;
}

export interface PeerTransportOptions {
  myId: number;
  listenHost: string;
  listenPort: number;
  /** every other server of the ensemble (not myId) */
  peers: PeerAddress[];
  /** largest frame payload accepted (and sent); the runtime passes 1 GiB */
  frameBytesMax: number;
  /** unsent bytes per outbound connection before it is dropped (and reconnected); default 256 MiB */
  queueBytesMax?: number;
  /** delay before the first reconnect attempt; doubles per failure up to max(1 s, this); default 200 */
  reconnectDelayMs?: number;
  onMessage: (from: number, data: Buffer) => void;
  /** a connection to or from this peer that was up broke (kill -9 of the peer resets it at once) */
  onPeerDown?: (id: number) => void;
  log: PeerLogger;
  /** TLS and SASL between members; default none */
  security?: PeerSecurity;
  /** the clock refusal lines are rate-limited by; default Date.now */
  now?: () => number;
}

export const PEER_MAGIC = Buffer.from('ARKP', 'latin1');
/** the hello of a connector that authenticates with quorum SASL before sending data */
export const PEER_MAGIC_SASL = Buffer.from('ARKA', 'latin1');
/** largest frame before a connection is admitted: auth messages are small, and an unauthenticated peer must not make us buffer a gigabyte */
const AUTH_FRAME_BYTES_MAX = 64 * 1024;
export const PEER_PROTOCOL_VERSION = 1;
/** magic (4) + uint16 version + uint32 sender id */
export const PEER_HANDSHAKE_BYTES = 10;

const QUEUE_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;
const RECONNECT_DELAY_MS_DEFAULT = 200;
const RECONNECT_DELAY_MS_CAP = 1000;
/** a connect that neither succeeds nor fails (a black-holed host) is given up after this */
const CONNECT_TIMEOUT_MS = 5000;
/** an inbound connection must identify itself within this, or it is closed */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** X509Util.DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS: the first byte and the TLS handshake */
const TLS_HANDSHAKE_TIMEOUT_MS = 5000;

/** Connection errors that are routine while peers start and stop at different times. */
const ROUTINE_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function encodeHandshake(myId: number, sasl = false): Buffer {
  const b = Buffer.allocUnsafe(PEER_HANDSHAKE_BYTES);
  (sasl ? PEER_MAGIC_SASL : PEER_MAGIC).copy(b, 0);
  b.writeUInt16BE(PEER_PROTOCOL_VERSION, 4);
  b.writeUInt32BE(myId, 6);
  return b;
}

/**
 * Bytes received but not yet consumed, as the chunks they arrived in. take(n) copies at most once,
 * and only when a frame spans chunks, so a large frame costs one concatenation when it is
 * complete, not one per chunk.
 */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next n bytes (n <= length). */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined || n === 0) return Buffer.alloc(0);
    this.length -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, filled, 0, want);
        filled += want;
        this.chunks[0] = c.subarray(want);
      }
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }
}

interface Outbound {
  readonly peer: PeerAddress;
  socket: Socket | null;
  /** connected, the handshake written and the peer authenticated: sends go out */
  up: boolean;
  /** the SASL exchange of the current connection, until it ends */
  auth: ConnectorAuth | null;
  /** bytes the acceptor sent (auth frames) */
  replies: ByteQueue;
  /** length of the auth frame being received, or -1 while waiting for a length */
  replyLen: number;
  timer: NodeJS.Timeout | null;
  delayMs: number;
  /** frames (length prefix included) sent this turn, written as one buffer at its end */
  pending: Buffer[];
  pendingBytes: number;
}

interface Inbound {
  readonly socket: Socket;
  readonly remote: string;
  /** the sender, once the handshake checked out and it was admitted */
  peerId: number | null;
  /** the id its hello claimed, while it authenticates */
  claimedId: number | null;
  auth: AcceptorAuth | null;
  readonly bytes: ByteQueue;
  /** length of the frame being received, or -1 while waiting for a length */
  frameLen: number;
  done: boolean;
  timer: NodeJS.Timeout | null;
}

export class PeerTransport {
  private readonly opts: PeerTransportOptions;
  private readonly queueBytesMax: number;
  private readonly reconnectDelayMs: number;
  private readonly handshake: Buffer;
  private readonly outbound = new Map<number, Outbound>();
  private readonly inbound = new Set<Inbound>();
  private readonly inboundById = new Map<number, Inbound>();
  private server: Server | null = null;
  private started = false;
  private closed = false;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private tlsServer: TlsServer | null = null;
  /** the address of each accepted socket handed to the TLS server */
  private readonly rawRemotes = new WeakMap<Socket, string>();
  /** accepted sockets not yet in `inbound` (before their first byte, in the TLS handshake, in hostname verification): close() ends them */
  private readonly pending = new Set<Socket>();
  private tlsOptions: SecureContextOptions | null;
  private readonly security: PeerSecurity;
  private readonly askAnswer: boolean;
  private readonly now: () => number;
  /** refused connections, both directions: one log line per peer address and reason per minute */
  readonly refusals: RefusalLog;

  constructor(opts: PeerTransportOptions) {
    if (!Number.isInteger(opts.myId) || opts.myId < 0 || opts.myId > 0xffff_ffff) {
      throw new RangeError(`peer transport: myId ${opts.myId} is not a uint32`);
    }
    if (!(opts.frameBytesMax >= 1)) throw new RangeError(`peer transport: frameBytesMax ${opts.frameBytesMax} must be positive`);
    for (const p of opts.peers) {
      if (p.id === opts.myId) throw new RangeError(`peer transport: peers include myId ${p.id}`);
      if (this.outbound.has(p.id)) throw new RangeError(`peer transport: peer id ${p.id} listed twice`);
      this.outbound.set(p.id, {
        peer: p,
        socket: null,
        up: false,
        auth: null,
        replies: new ByteQueue(),
        replyLen: -1,
        timer: null,
        delayMs: 0,
        pending: [],
        pendingBytes: 0,
      });
    }
    this.opts = opts;
    this.queueBytesMax = opts.queueBytesMax ?? QUEUE_BYTES_MAX_DEFAULT;
    this.reconnectDelayMs = opts.reconnectDelayMs ?? RECONNECT_DELAY_MS_DEFAULT;
    this.security = opts.security ?? { tls: null, auth: null, nonce: () => '' };
    this.tlsOptions = this.security.tls?.options ?? null;
    this.now = opts.now ?? Date.now;
    this.refusals = new RefusalLog(opts.log);
    // over TLS a connector always waits for the acceptor's answer (ConnectorAuth's askAnswer)
    this.askAnswer = this.security.tls?.sslQuorum === true;
    this.handshake = encodeHandshake(opts.myId, this.security.auth !== null || this.askAnswer);
  }

  /**
   * New certificates (sslQuorumReloadCertFiles): connections made from now on use them, in both
   * directions; connections already up keep theirs, as in ZooKeeper.
   */
  setTlsOptions(options: SecureContextOptions): void {
    if (this.security.tls === null) throw new Error('peer transport: no TLS to reload');
    this.tlsOptions = options;
    this.tlsServer?.setSecureContext(options);
  }

  /** Listen, then start connecting to every peer. Resolves once listening. */
  start(): Promise<void> {
    if (this.started || this.closed) return Promise.reject(new Error('peer transport: start() after start() or close()'));
    this.started = true;
    this.starting = new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, (s) => this.route(s));
      this.server = server;
      server.once('error', reject);
      server.listen({ host: this.opts.listenHost, port: this.opts.listenPort }, () => {
        server.off('error', reject);
        server.on('error', (e) =>
          this.opts.log.error(
            { err: e.message },
            "peer (quorum) port error: check the open-file limit and this server's quorum port in its server.N line",
          ),
        );
        if (this.closed) return resolve(); // close() ran while binding; it closes the server
        const a = server.address();
        const port = typeof a === 'object' && a !== null ? a.port : this.opts.listenPort;
        this.opts.log.info({ host: this.opts.listenHost, port, myId: this.opts.myId }, 'peer port listening');
        for (const o of this.outbound.values()) this.connect(o);
        resolve();
      });
    });
    return this.starting;
  }

  /**
   * Send one frame to peer `to`. Dropped (and a reconnect made sure of) while the connection is
   * down; the caller's protocol retransmits.
   */
  send(to: number, data: Buffer): void {
    const o = this.outbound.get(to);
    if (o === undefined) throw new RangeError(`peer transport: send to unknown peer ${to}`);
    if (data.length === 0) throw new RangeError('peer transport: empty frame (a length of 0 is a protocol error)');
    if (data.length > this.opts.frameBytesMax) {
      // The receiver would drop the connection for it; retrying cannot help.
      this.opts.log.error(
        { to, bytes: data.length, frameBytesMax: this.opts.frameBytesMax },
        'peer message larger than frameBytesMax dropped: a SNAP of a tree this large cannot be sent; restore that member from a backup (ark restore) instead, and report this',
      );
      return;
    }
    if (this.closed) return;
    const s = o.socket;
    if (!o.up || s === null) {
      if (s === null && o.timer === null && this.started) this.connect(o);
      return;
    }
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(data.length, 0);
    // A burst of sends in one turn goes out as one buffer in one write: a leader sends hundreds of
    // small proposals and commits per turn, and handing the stream each as its own chunk (even
    // corked, one writev) cost more than copying them once.
    if (o.pending.length === 0) process.nextTick(() => this.flush(o, s));
    o.pending.push(head, data);
    o.pendingBytes += 4 + data.length;
  }

  /**
   * Writes what this turn sent so far now, instead of at the turn's end: a leader flushes its
   * COMMITs before it answers the clients whose txns they commit, so a client that reads from a
   * follower right after its reply finds the commit there first (as ZooKeeper's leader sends
   * COMMIT before its FinalRequestProcessor answers).
   */
  flushNow(): void {
    for (const o of this.outbound.values()) if (o.pending.length > 0 && o.socket) this.flush(o, o.socket);
  }

  private flush(o: Outbound, s: Socket): void {
    if (o.pending.length === 0) return; // flushed early (flushNow)
    const chunks = o.pending;
    const bytes = o.pendingBytes;
    o.pending = [];
    o.pendingBytes = 0;
    // the connection these were sent on is gone: dropped with it, as sends while down are
    if (o.socket !== s || !o.up || s.destroyed) return;
    if (chunks.length === 2) {
      // one frame (a SNAP may be a gigabyte): no copy
      s.cork();
      s.write(chunks[0]!);
      s.write(chunks[1]!);
      s.uncork();
    } else {
      s.write(Buffer.concat(chunks, bytes));
    }
    if (s.writableLength > this.queueBytesMax) {
      this.opts.log.warn(
        { to: o.peer.id, queuedBytes: s.writableLength, queueBytesMax: this.queueBytesMax },
        'peer not reading fast enough: dropping the connection and its queue (it reconnects and resyncs); check the network to it and its load',
      );
      // Down at once: sends until 'close' (which schedules the reconnect) are dropped.
      o.up = false;
      s.destroy();
    }
  }

  /** Accepted connections open now, admitted or not (a refused one must not linger). */
  get inboundConnections(): number {
    return this.inbound.size;
  }

  /** The outbound connection to `to` is up (handshake sent). */
  connected(to: number): boolean {
    return this.outbound.get(to)?.up === true;
  }

  /** Destroy every connection, stop reconnecting and listening. Resolves when the server closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    for (const o of this.outbound.values()) {
      if (o.timer) clearTimeout(o.timer);
      o.timer = null;
      o.up = false;
      o.socket?.destroy();
      o.socket = null;
    }
    for (const c of this.inbound) this.dropInbound(c);
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    this.closing = (async () => {
      await this.starting?.catch(() => {}); // a close() during start() waits for the bind to end
      this.tlsServer?.close();
      const server = this.server;
      if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound

  private connect(o: Outbound): void {
    if (this.closed) return;
    const { id, host, port } = o.peer;
    const tls = this.security.tls;
    const s = tls?.sslQuorum ? this.tlsConnect(host, port, tls) : connect({ host, port, noDelay: true });
    o.socket = s;
    o.up = false;
    o.auth = null;
    o.replies.clear();
    o.replyLen = -1;
    let secured = false;
    s.setTimeout(CONNECT_TIMEOUT_MS, () => {
      this.opts.log.debug({ peer: id, host, port }, 'peer connect (or its TLS handshake or authentication) timed out');
      s.destroy();
    });
    s.once(tls?.sslQuorum ? 'secureConnect' : 'connect', () => {
      secured = true;
      s.setNoDelay(true);
      s.setKeepAlive(true, 10_000);
      o.delayMs = 0;
      s.write(this.handshake);
      if (this.security.auth === null && !this.askAnswer) return this.outboundUp(o, s);
      o.auth = new ConnectorAuth(this.security.auth, this.security.nonce(), this.askAnswer);
    });
    // Read: the acceptor's auth frames; after them it never writes, and reading keeps 'end' (and so 'close') coming when it hangs up.
    s.on('data', (chunk: Buffer) => {
      if (o.socket !== s || o.auth === null) return;
      try {
        this.outboundAuth(o, s, chunk);
      } catch (e) {
        this.opts.log.error(
          { peer: id, err: (e as Error).stack },
          'peer authentication failed: this is a bug in Ark, please report it with this log',
        );
        s.destroy();
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      const obj = { peer: id, host, port, err: e.message };
      const routine = e.code !== undefined && ROUTINE_ERRORS.has(e.code);
      // before its TLS handshake ended, anything but a refused or unreachable connect is the
      // handshake failing: its certificate, or ours (the peer resets), or its host name
      if (tls?.sslQuorum && !secured && !(routine && e.code !== 'ECONNRESET')) {
        this.refusals.refuse(`${host}:${port}`, 'TLS handshake failed', this.now(), {
          detail: `server ${id}: ${e.message}`,
          what: 'could not connect to a quorum peer',
        });
      } else if (routine) this.opts.log.debug(obj, 'peer connection error');
      else this.opts.log.warn(obj, "peer connection error: check that this peer's quorum port (its server.N line) is reachable from here");
    });
    s.once('close', () => {
      if (o.socket !== s) return;
      const wasUp = o.up;
      if (o.up) this.opts.log.info({ peer: id, host, port }, 'connection to peer lost');
      o.socket = null;
      o.auth = null;
      o.replies.clear();
      o.replyLen = -1;
      if (wasUp && !this.closed) this.notifyDown(id);
      o.up = false;
      this.scheduleReconnect(o);
    });
  }

  private tlsConnect(host: string, port: number, tls: PeerTlsSettings): TLSSocket {
    return tlsConnect({
      ...(this.tlsOptions ?? tls.options),
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: true,
      // ZooKeeper's ZKTrustManager checks the server's certificate against the address it connected to
      checkServerIdentity: tls.hostnameVerification ? checkServerIdentity : () => undefined,
    });
  }

  private outboundUp(o: Outbound, s: Socket, note?: string): void {
    s.setTimeout(0);
    o.up = true;
    o.auth = null;
    const { id, host, port } = o.peer;
    if (note !== undefined) this.opts.log.warn({ peer: id, host, port }, `quorum authentication: ${note}`);
    this.opts.log.info({ peer: id, host, port }, 'connected to peer');
  }

  /** The acceptor's auth frames: the exchange runs until the peer is admitted or refused. */
  private outboundAuth(o: Outbound, s: Socket, chunk: Buffer): void {
    o.replies.push(chunk);
    while (o.auth !== null) {
      if (o.replyLen < 0) {
        if (o.replies.length < 4) return;
        const len = o.replies.take(4).readUInt32BE(0);
        if (len === 0 || len > AUTH_FRAME_BYTES_MAX)
          return this.outboundRefused(o, s, `auth message length ${len} outside 1..${AUTH_FRAME_BYTES_MAX}`);
        o.replyLen = len;
      }
      if (o.replies.length < o.replyLen) return;
      const r = o.auth.message(o.replies.take(o.replyLen));
      o.replyLen = -1;
      this.writeAuth(s, r);
      if (r.outcome.kind === 'refuse') return this.outboundRefused(o, s, r.outcome.reason);
      if (r.outcome.kind === 'admit') return this.outboundUp(o, s, r.outcome.note);
    }
  }

  private outboundRefused(o: Outbound, s: Socket, reason: string): void {
    o.auth = null;
    const { id, host, port } = o.peer;
    this.refusals.refuse(`${host}:${port}`, 'quorum authentication failed', this.now(), {
      detail: `server ${id}: ${reason}`,
      what: 'refused to send to a quorum peer',
    });
    s.destroy();
  }

  private writeAuth(s: Socket, r: AuthStep): void {
    for (const m of r.send) {
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32BE(m.length, 0);
      s.write(Buffer.concat([head, m]));
    }
  }

  private scheduleReconnect(o: Outbound): void {
    if (this.closed || o.timer !== null) return;
    o.delayMs = o.delayMs === 0 ? this.reconnectDelayMs : Math.min(o.delayMs * 2, Math.max(RECONNECT_DELAY_MS_CAP, this.reconnectDelayMs));
    o.timer = setTimeout(() => {
      o.timer = null;
      if (o.socket === null) this.connect(o);
    }, o.delayMs);
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound

  /** A new connection on the quorum port: plain, TLS, or told apart by its first byte (port unification). */
  private route(s: Socket): void {
    const tls = this.security.tls;
    if (tls === null) return this.accept(s);
    s.setNoDelay(true);
    this.pending.add(s);
    s.once('close', () => this.pending.delete(s));
    const remote = remoteOf(s);
    const onError = (e: Error): void => this.opts.log.debug({ remote, err: e.message }, 'quorum connection error before its first byte');
    onFirstByte(s, { silentMs: tls.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS, onError }, (s, first) => {
      if (this.closed) return void s.destroy();
      if (first === TLS_HANDSHAKE) {
        this.rawRemotes.set(s, remote);
        this.tlsServerFor(tls).emit('connection', s);
      } else if (tls.portUnification) this.accept(s);
      else {
        s.on('error', () => undefined);
        this.refusals.refuse(
          remote,
          'a plain (non-TLS) connection on a TLS quorum port: the peer has no sslQuorum=true (for a rolling upgrade set portUnification=true on every member first)',
          this.now(),
        );
        s.destroy();
      }
    });
  }

  /**
   * The TLS side of the quorum port: connections are fed to it after their first byte.
   * SSLContextAndOptions sets need (default), want or none client auth on the quorum server socket;
   * a certificate that is presented must chain to the trust store even with want (checked in
   * secured(): Node's rejectUnauthorized would also refuse a connector with none). A reload
   * (setTlsOptions) replaces its context.
   */
  private tlsServerFor(tls: PeerTlsSettings): TlsServer {
    if (this.tlsServer) return this.tlsServer;
    const clientAuth = tls.clientAuth ?? 'need';
    const server = new TlsServer(
      {
        ...(this.tlsOptions ?? tls.options),
        requestCert: clientAuth !== 'none',
        rejectUnauthorized: clientAuth === 'need',
        handshakeTimeout: tls.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS,
      },
      (ts) => this.secured(ts, tls, this.remoteOfTls(ts)),
    );
    server.on('tlsClientError', (e, ts) => {
      this.refusals.refuse(this.remoteOfTls(ts), 'TLS handshake failed', this.now(), { detail: e.message });
      // a tls.Server with a tlsClientError listener leaves the socket open: a half-done handshake would hold it for ever
      ts.destroy();
    });
    this.tlsServer = server;
    return server;
  }

  /** A TLS socket made over an accepted socket knows no address itself: its raw socket's, kept by route(). */
  private remoteOfTls(ts: TLSSocket): string {
    const raw = (ts as unknown as { _parent?: Socket })._parent;
    return (raw && this.rawRemotes.get(raw)) ?? remoteOf(ts);
  }

  /** After the TLS handshake: QuorumX509Util checks the client's certificate against its address too. */
  private secured(ts: TLSSocket, tls: PeerTlsSettings, remote: string): void {
    if (this.closed) return void ts.destroy();
    ts.on('error', () => undefined); // accept() logs errors from then on
    const cert = ts.getPeerCertificate();
    const presented = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
    if (presented && !ts.authorized) {
      // clientAuth=want: a certificate that is shown must still be trusted (Java's trust manager fails the handshake)
      this.refusals.refuse(remote, 'TLS handshake failed', this.now(), { detail: String(ts.authorizationError) });
      return void ts.destroy();
    }
    // no certificate (clientAuth want / none): nothing to check the address against, as ZKTrustManager
    if (!presented || !(tls.clientHostnameVerification ?? tls.hostnameVerification)) return this.accept(ts, remote);
    ts.pause();
    const ip = remote.replace(/:[^:]*$/, '');
    // ZKTrustManager: the address first, then the host name it resolves back to (forward-confirmed, as InetAddress.getHostName)
    if (checkServerIdentity(ip, cert) === undefined) {
      ts.resume();
      return this.accept(ts, remote);
    }
    confirmedNames(ip, tls.resolver).then((names) => {
      if (ts.destroyed || this.closed) return;
      if (names.some((n) => checkServerIdentity(n, cert) === undefined)) {
        ts.resume();
        this.accept(ts, remote);
        return;
      }
      this.refusals.refuse(remote, "the peer's certificate does not name its address (ssl.quorum.hostnameVerification)", this.now(), {
        detail: `does not name its address ${ip}${names.length > 0 ? ` (nor ${names.join(', ')})` : ''}`,
      });
      ts.destroy();
    });
  }

  private accept(s: Socket, remote = remoteOf(s)): void {
    const c: Inbound = {
      socket: s,
      remote,
      peerId: null,
      claimedId: null,
      auth: null,
      bytes: new ByteQueue(),
      frameLen: -1,
      done: false,
      timer: null,
    };
    if (this.closed) {
      s.destroy();
      return;
    }
    this.inbound.add(c);
    s.setNoDelay(true);
    c.timer = setTimeout(
      () => this.reject(c, 'no handshake (or authentication) in time', `${HANDSHAKE_TIMEOUT_MS} ms`),
      HANDSHAKE_TIMEOUT_MS,
    );
    s.on('data', (chunk: Buffer) => {
      try {
        this.receive(c, chunk);
      } catch (e) {
        // A bug, not the peer's fault; still never thrown out of a socket handler.
        this.opts.log.error(
          { remote: c.remote, peer: c.peerId, err: e instanceof Error ? e.stack : String(e) },
          'peer receive failed: this is a bug in Ark, please report it with this log; the connection was dropped and reconnects',
        );
        this.dropInbound(c);
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      this.opts.log.debug({ remote: c.remote, peer: c.peerId, err: e.message }, 'inbound peer connection error');
    });
    s.once('close', () => this.dropInbound(c));
  }

  private receive(c: Inbound, chunk: Buffer): void {
    if (c.done) return;
    c.bytes.push(chunk);
    if (c.claimedId === null) {
      if (c.bytes.length < PEER_HANDSHAKE_BYTES) return;
      if (!this.checkHandshake(c, c.bytes.take(PEER_HANDSHAKE_BYTES))) return;
    }
    for (;;) {
      if (c.done) return;
      const max = c.peerId === null ? AUTH_FRAME_BYTES_MAX : this.opts.frameBytesMax;
      if (c.frameLen < 0) {
        if (c.bytes.length < 4) return;
        const len = c.bytes.take(4).readUInt32BE(0);
        if (len === 0 || len > max) {
          return this.reject(
            c,
            'frame length out of range',
            `frame length ${len} outside 1..${max}${c.peerId === null ? ' before authentication' : ''}`,
          );
        }
        c.frameLen = len;
      }
      if (c.bytes.length < c.frameLen) return;
      const frame = c.bytes.take(c.frameLen);
      c.frameLen = -1;
      if (c.peerId === null) this.inboundAuth(c, frame);
      else this.deliver(c.peerId, frame);
    }
  }

  private checkHandshake(c: Inbound, h: Buffer): boolean {
    const magic = h.subarray(0, 4);
    const sasl = magic.equals(PEER_MAGIC_SASL);
    if (!sasl && !magic.equals(PEER_MAGIC)) {
      if (magic[0] === TLS_HANDSHAKE)
        this.reject(
          c,
          'a TLS connection on a plain quorum port: the peer has sslQuorum=true and this member has neither sslQuorum nor portUnification',
        );
      else this.reject(c, 'bad handshake magic', `0x${magic.toString('hex')}`);
      return false;
    }
    const version = h.readUInt16BE(4);
    if (version !== PEER_PROTOCOL_VERSION) {
      this.reject(c, 'another peer protocol version', `version ${version}, expected ${PEER_PROTOCOL_VERSION}`);
      return false;
    }
    const id = h.readUInt32BE(6);
    if (id === this.opts.myId || !this.outbound.has(id)) {
      this.reject(c, 'handshake from a server id that is not a configured peer', `server id ${id}`);
      return false;
    }
    c.claimedId = id;
    c.auth = new AcceptorAuth(this.security.auth, this.security.nonce());
    this.settleInbound(c, c.auth.hello(sasl ? 'sasl' : 'plain'));
    return !c.done;
  }

  private inboundAuth(c: Inbound, frame: Buffer): void {
    if (c.auth === null) return this.reject(c, 'data before the handshake');
    this.settleInbound(c, c.auth.message(frame));
  }

  /** Sends what the acceptor's exchange answers, then admits, refuses, or waits for more. */
  private settleInbound(c: Inbound, r: AuthStep): void {
    if (r.send.length > 0) this.writeAuth(c.socket, r);
    const o = r.outcome;
    if (o.kind === 'pending') return;
    if (o.kind === 'refuse') {
      this.refusals.refuse(c.remote, 'quorum authentication failed', this.now(), { detail: `server ${c.claimedId}: ${o.reason}` });
      // the FAILURE answer goes out before the close
      this.dropInbound(c, true);
      return;
    }
    if (o.note !== undefined) this.opts.log.warn({ remote: c.remote, peer: c.claimedId }, `quorum authentication: ${o.note}`);
    this.admit(c, c.claimedId!, o.user);
  }

  private admit(c: Inbound, id: number, user: string | undefined): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    c.auth = null;
    c.peerId = id;
    const prev = this.inboundById.get(id);
    this.inboundById.set(id, c);
    const fields = { peer: id, remote: c.remote, ...(user !== undefined ? { saslUser: user } : {}) };
    if (prev !== undefined) {
      this.opts.log.info({ ...fields, previous: prev.remote }, 'new connection from peer replaces the previous one');
      this.dropInbound(prev);
    } else {
      this.opts.log.info(fields, 'peer connected to us');
    }
  }

  private deliver(from: number, frame: Buffer): void {
    try {
      this.opts.onMessage(from, frame);
    } catch (e) {
      this.opts.log.error(
        { peer: from, err: e instanceof Error ? e.stack : String(e) },
        'peer message handler threw: this is a bug in Ark, please report it with this log',
      );
    }
  }

  /** `problem` is fixed text (the rate limit's key); `detail`, what the connection sent, only a log field. */
  private reject(c: Inbound, problem: string, detail?: string): void {
    if (c.peerId === null) {
      // not admitted: a refusal, rate-limited (a wrong process retries every second)
      this.refusals.refuse(
        c.remote,
        `${problem} (only the ensemble's members, all running the same Ark version, may connect)`,
        this.now(),
        {
          ...(detail !== undefined ? { detail } : {}),
        },
      );
    } else {
      this.opts.log.warn(
        { remote: c.remote, peer: c.peerId, ...(detail !== undefined ? { detail } : {}) },
        `closing peer connection: ${problem}; only the ensemble's members, all running the same Ark version, may connect to the quorum port`,
      );
    }
    this.dropInbound(c);
  }

  /** `graceful`: what was written (a refusal's FAILURE answer) is sent before the socket closes. */
  private dropInbound(c: Inbound, graceful = false): void {
    if (c.done) return;
    c.done = true;
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    c.bytes.clear();
    this.inbound.delete(c);
    const current = c.peerId !== null && this.inboundById.get(c.peerId) === c;
    if (current) this.inboundById.delete(c.peerId!);
    if (graceful) {
      c.socket.end();
      setTimeout(() => c.socket.destroy(), 1000).unref();
    } else c.socket.destroy();
    if (current && !this.closed) this.notifyDown(c.peerId!);
  }

  private notifyDown(id: number): void {
    try {
      this.opts.onPeerDown?.(id);
    } catch (e) {
      this.opts.log.error(
        { peer: id, err: (e as Error).message },
        'peer-down handler failed: this is a bug in Ark, please report it with this log',
      );
    }
  }
}

function remoteOf(s: Socket): string {
  return `${(s.remoteAddress ?? '?').replace(/^::ffff:/, '')}:${s.remotePort ?? '?'}`;
}
