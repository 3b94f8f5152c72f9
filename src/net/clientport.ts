// The client port: bytes in, bytes out. Each socket gets a frame decoder; the first frame is a
// ConnectRequest (or, before any frame, a four-letter word); every later frame is a
// RequestHeader + record handed to the core. A malformed frame closes that connection only.
// One ClientPort serves every listener: the plain client port, the secure (TLS) one, and a unified
// one that takes both (client.portUnification); the first byte a client sends tells TLS (a
// handshake record, 0x16) from the ZooKeeper protocol (a frame length, whose first byte is 0 for
// any frame jute.maxbuffer allows), so a client on the wrong kind of port is closed with one line.
import { createServer, type Server, type Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { FrameDecoder, FrameError } from '../wire/frame.js';
import { JuteReader } from '../wire/jute.js';
import { readConnectRequest, readRequest, type ConnectRequest, type Request } from '../wire/protocol.js';
import { AssertionError, ErrorCode, KeeperError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { certificateSubject } from './x500.js';
import { onFirstByte, TLS_HANDSHAKE } from './firstbyte.js';

export interface ClientPortHandler {
  /** `certSubject`: the RFC 2253 subject of a trusted TLS client's certificate (x500.ts), if it showed one */
  open(conn: number, remoteAddr: string, remotePort: number, certSubject?: string): boolean;
  connect(conn: number, req: ConnectRequest): void;
  request(conn: number, xid: number, req: Request): void;
  requestError(conn: number, xid: number, err: number): void;
  fourLetter(conn: number, cmd: string): string;
  closed(conn: number, remoteAddr: string): void;
  /** stop reading this connection's requests: too many outstanding, or too many reply bytes unsent */
  backlogged(conn: number, socketBytes: number): boolean;
  /** after each batch of input: flush outputs, start a log write */
  flush(): void;
}

export const FOUR_LETTER_WORDS = new Set([
  'conf',
  'cons',
  'crst',
  'dump',
  'envi',
  'ruok',
  'srst',
  'srvr',
  'stat',
  'wchs',
  'wchc',
  'wchp',
  'dirs',
  'mntr',
  'isro',
  'gtmk',
  'stmk',
  'hash',
]);

/** A TLS client that sends nothing, or has not finished its handshake, by then is dropped (X509Util's ssl.handshakeDetectionTimeoutMillis default). */
const TLS_HANDSHAKE_TIMEOUT_MS = 5000;

/** What a listener speaks: the ZooKeeper protocol in clear, over TLS only, or either (port unification). */
export type PortSecurity =
  | { kind: 'plain'; tlsHint?: string }
  /** handshakeTimeoutMs: ssl.handshakeDetectionTimeoutMillis (default 5000) */
  | { kind: 'tls' | 'unified'; options: TlsOptions; handshakeTimeoutMs?: number | undefined };

interface ConnState {
  id: number;
  socket: Socket;
  decoder: FrameDecoder;
  handshaken: boolean;
  /** the first four bytes were looked at for a four-letter word */
  fourLetterChecked: boolean;
  closing: boolean;
  remoteAddr: string;
  /** handler.closed() was called */
  released: boolean;
  /** came in on the secure client port (ZooKeeper's secure factory: the AdminServer's secure_connections) */
  onSecurePort: boolean;
  /** a plain port's connection before its first byte: what to log if that byte starts a TLS handshake */
  refuseTls: string | null;
}

export class ClientPort {
  private servers: Server[] = [];
  /** every accepted socket until it closes, so stop() can end those still in a handshake or silent */
  private readonly raw = new Set<Socket>();
  private nextId = 1;
  readonly sockets = new Map<number, ConnState>();
  private readonly paused = new Set<ConnState>();
  /** errors that were not the client's fault: bugs (tests assert there are none) */
  internalErrors = 0;
  /** bytes read from client sockets (metrics: bytes_received_count) */
  bytesReceived = 0;

  constructor(
    private readonly handler: ClientPortHandler,
    private readonly log: Logger,
    private readonly frameBytesMax: number,
  ) {}

  /** Opens one listener; `security` says whether it speaks TLS, plain, or both. */
  listen(port: number, host: string | undefined, security: PortSecurity = { kind: 'plain' }): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const route = this.router(security);
      const server = createServer({ noDelay: true }, (s) =>
        security.kind === 'plain' ? route(s, -1) : this.sniff(s, route, security.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS),
      );
      server.once('error', reject);
      server.listen({ port, host: host ?? '0.0.0.0', backlog: 511 }, () => {
        server.off('error', reject);
        server.on('error', (e) =>
          this.log.error(
            { err: e.message },
            'client port error: check the open-file limit (ulimit -n) and clientPort / clientPortAddress in zoo.cfg',
          ),
        );
        const a = server.address();
        resolve(typeof a === 'object' && a ? { address: a.address, port: a.port } : { address: String(a), port });
      });
      this.servers.push(server);
    });
  }

  /**
   * Opens a plain listener on a Unix domain socket (the web console's sessions, src/admin/console.ts).
   * Its connections have no network address: their ip id is empty, so no ip ACL ever matches them.
   */
  listenLocal(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.accept(s));
      server.once('error', reject);
      server.listen({ path }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.error({ err: e.message }, 'console socket error: the web console cannot reach the server'));
        resolve();
      });
      this.servers.push(server);
    });
  }

  /** What to do with a new connection, told by its first byte. */
  private router(security: PortSecurity): (s: Socket, first: number) => void {
    if (security.kind === 'plain') {
      // counted at once, as ZooKeeper counts a connection when it accepts it; the first byte is looked at in onData
      const refuseTls = `a TLS client on the plain client port${security.tlsHint ?? ''}`;
      return (s) => this.accept(s, false, refuseTls);
    }
    const tlsServer = this.tlsServer(security.options, security.kind === 'tls', security.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS);
    return (s, first) => {
      if (first === TLS_HANDSHAKE) tlsServer.emit('connection', s);
      else if (security.kind === 'unified') this.accept(s);
      else
        this.refuse(
          s,
          'a plain (non-TLS) client on the secure client port; the client must use TLS (zookeeper.client.secure=true, kazoo use_ssl=True)',
        );
    };
  }

  /** Waits for a connection's first byte and hands the socket, the byte put back, to `route`. */
  private sniff(s: Socket, route: (s: Socket, first: number) => void, silentMs: number): void {
    this.raw.add(s);
    s.once('close', () => this.raw.delete(s));
    onFirstByte(
      s,
      {
        silentMs,
        onSilent: () => this.log.debug({ remote: s.remoteAddress }, 'closing connection: nothing received on a TLS port'),
        onError: (e) => this.log.debug({ err: e.message }, 'client socket error before the first byte'),
      },
      route,
    );
  }

  /** Closes a connection that speaks the wrong kind of protocol for its port, with one log line. */
  private refuse(s: Socket, why: string): void {
    this.log.warn(
      { remote: `${(s.remoteAddress ?? '').replace(/^::ffff:/, '')}:${s.remotePort ?? 0}`, port: s.localPort },
      `closing connection: ${why}`,
    );
    s.on('error', () => undefined);
    s.destroy();
  }

  /** The TLS side of a secure or unified port: connections are fed to it after their first byte. */
  private tlsServer(options: TlsOptions, securePort: boolean, handshakeTimeout: number): TlsServer {
    const server = new TlsServer({ ...options, handshakeTimeout }, (ts) => this.secured(ts, options, securePort));
    server.on('tlsClientError', (e, ts) => {
      this.log.warn(
        { remote: `${(ts.remoteAddress ?? '').replace(/^::ffff:/, '')}:${ts.remotePort ?? 0}`, reason: e.message },
        'closing connection: TLS handshake failed (an untrusted or missing client certificate, no common protocol or cipher suite, or a client that does not trust this server)',
      );
      // with a tlsClientError listener Node leaves the socket to it: without this a failed or
      // timed-out handshake would hold its file descriptor for good
      ts.destroy();
    });
    return server;
  }

  /** A TLS client after its handshake; with ssl.clientAuth=want a certificate offered must still be trusted. */
  private secured(ts: TLSSocket, options: TlsOptions, securePort: boolean): void {
    if (options.requestCert && !ts.authorized && Object.keys(ts.getPeerCertificate()).length > 0) {
      this.refuse(ts, `the client's certificate is not trusted (${String(ts.authorizationError)})`);
      return;
    }
    this.accept(ts, securePort, null, this.peerSubject(ts));
  }

  /** The subject of a certificate the trust store vouched for; undefined without one (or one that cannot be read). */
  private peerSubject(ts: TLSSocket): string | undefined {
    if (!ts.authorized) return undefined;
    const raw = ts.getPeerCertificate().raw;
    if (!raw) return undefined;
    try {
      return certificateSubject(raw);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "a TLS client's certificate subject cannot be read: no x509 id for it");
      return undefined;
    }
  }

  private accept(socket: Socket, onSecurePort = false, refuseTls: string | null = null, certSubject?: string): void {
    const id = this.nextId++;
    const addr = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const st: ConnState = {
      id,
      socket,
      decoder: new FrameDecoder(this.frameBytesMax),
      handshaken: false,
      fourLetterChecked: false,
      closing: false,
      released: false,
      remoteAddr: addr,
      onSecurePort,
      refuseTls,
    };
    socket.setNoDelay(true);
    if (!this.handler.open(id, addr, socket.remotePort ?? 0, certSubject)) {
      socket.destroy();
      return;
    }
    this.sockets.set(id, st);
    socket.on('data', (chunk: Buffer) => this.onData(st, chunk));
    socket.on('error', (e) => this.log.debug({ conn: id, err: e.message }, 'client socket error'));
    socket.on('close', () => {
      this.sockets.delete(id);
      this.paused.delete(st);
      this.release(st);
      this.handler.flush();
    });
    socket.on('drain', () => this.resumeReady());
  }

  private release(st: ConnState): void {
    if (st.released) return;
    st.released = true;
    this.handler.closed(st.id, st.remoteAddr);
  }

  private onData(st: ConnState, chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    if (st.closing) return;
    if (st.refuseTls !== null) {
      const why = st.refuseTls;
      st.refuseTls = null;
      if (chunk[0] === TLS_HANDSHAKE) {
        st.closing = true;
        this.refuse(st.socket, why);
        return;
      }
    }
    st.decoder.push(chunk);
    this.process(st);
    this.handler.flush();
  }

  /** Serves buffered frames until none is complete, or the connection is backlogged (then it pauses). */
  private process(st: ConnState): void {
    try {
      if (!st.fourLetterChecked && this.tryFourLetter(st)) return;
      while (!st.closing) {
        if (st.handshaken && this.handler.backlogged(st.id, st.socket.writableLength)) {
          st.socket.pause();
          this.paused.add(st);
          return;
        }
        const frame = st.decoder.next();
        if (frame === null) return;
        this.onFrame(st, frame);
      }
    } catch (e) {
      // a broken invariant is the server's state, not this connection's: it must stop the server
      // (as it does when it breaks on a log write's callback or a consensus step), not be logged
      // as one connection's trouble while the server serves a tree that half-applied a batch
      if (e instanceof AssertionError) throw e;
      const why =
        e instanceof FrameError
          ? e.message
          : e instanceof KeeperError
            ? `undecodable request: ${(e.cause as Error | undefined)?.message ?? e.message}`
            : `${(e as Error).message}`;
      if (!(e instanceof FrameError || e instanceof KeeperError)) {
        this.internalErrors++;
        this.log.error(
          { conn: st.id, err: (e as Error).stack },
          'internal error serving a connection: this is a bug in Ark, please report it with this log',
        );
      }
      this.log.warn(
        { conn: st.id, remote: st.socket.remoteAddress, reason: why },
        'closing connection: malformed input; check the client at remote (a wrong port, TLS against a plain port, or a client that does not speak the ZooKeeper protocol)',
      );
      this.close(st.id);
    }
  }

  /** Resumes paused connections whose backlog has cleared (after replies went out, or on drain). */
  resumeReady(): void {
    for (const st of [...this.paused]) {
      if (st.closing || this.handler.backlogged(st.id, st.socket.writableLength)) continue;
      this.paused.delete(st);
      st.socket.resume();
      this.process(st);
      this.handler.flush();
    }
  }

  private tryFourLetter(st: ConnState): boolean {
    const head = st.decoder.peek(4);
    if (!head) return false;
    st.fourLetterChecked = true;
    const cmd = head.toString('latin1');
    if (!FOUR_LETTER_WORDS.has(cmd)) return false;
    st.closing = true;
    const text = this.handler.fourLetter(st.id, cmd);
    // the answer is the whole conversation: the connection stops counting as a client at once
    this.release(st);
    st.socket.end(text);
    return true;
  }

  private onFrame(st: ConnState, frame: Buffer): void {
    const r = new JuteReader(frame);
    if (!st.handshaken) {
      st.handshaken = true;
      this.handler.connect(st.id, readConnectRequest(r));
      return;
    }
    const xid = r.int();
    const type = r.int();
    let req: Request;
    try {
      req = readRequest(type, r);
    } catch (e) {
      if (e instanceof KeeperError && e.code === ErrorCode.Unimplemented) {
        this.handler.requestError(st.id, xid, ErrorCode.Unimplemented);
        return;
      }
      throw e;
    }
    this.handler.request(st.id, xid, req);
  }

  write(conn: number, data: Buffer): void {
    const st = this.sockets.get(conn);
    if (st && !st.socket.destroyed) st.socket.write(data);
  }

  /** Ends a connection after what was written to it has been sent. */
  close(conn: number): void {
    const st = this.sockets.get(conn);
    if (!st || st.closing) return;
    st.closing = true;
    st.socket.end();
    // a peer that never reads must not keep the socket open forever
    setTimeout(() => st.socket.destroy(), 2000).unref();
  }

  /** Drops every client connection at once (online restore). */
  closeAll(): void {
    for (const st of [...this.sockets.values()]) {
      st.closing = true;
      st.socket.destroy();
    }
  }

  /** false while a connection is not read (its replies back up): ZooKeeper's interest ops 0 */
  reading(conn: number): boolean {
    const st = this.sockets.get(conn);
    return st !== undefined && !this.paused.has(st) && !st.closing;
  }

  /** Did this connection come in on the secure client port? */
  onSecurePort(conn: number): boolean {
    return this.sockets.get(conn)?.onSecurePort ?? false;
  }

  remoteOf(conn: number): string {
    const s = this.sockets.get(conn)?.socket;
    return s ? `${(s.remoteAddress ?? '').replace(/^::ffff:/, '')}:${s.remotePort ?? 0}` : '';
  }

  async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    for (const st of this.sockets.values()) st.socket.destroy();
    for (const s of this.raw) s.destroy();
    await Promise.all(servers.map((server) => new Promise<void>((r) => server.close(() => r()))));
  }
}
