// One listening port of an HTTP endpoint beside the client port (the AdminServer, the Prometheus
// endpoint): HTTP, HTTPS only, or both on one port, told apart by the first byte as Jetty's
// UnifiedConnectionFactory does (JettyAdminServer's admin.portUnification; PrometheusMetricsProvider
// with httpPort equal to httpsPort). As ZooKeeper's Jetty connectors:
// - HTTPS answers carry Strict-Transport-Security (SecureRequestCustomizer: one day, subdomains);
// - a plain request on an HTTPS-only port gets a 400 saying so, and the connection is closed;
// - a client certificate, when asked for, must be one the trust store vouches for (JSSE refuses
//   an untrusted one even when it is only wanted).
// A port that cannot be bound is logged and the server serves clients without the endpoint, as
// ZooKeeper does; stopping closes every connection, so a keep-alive client never holds up shutdown.
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { Server as HttpServer, type RequestListener } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from '../util/log.js';
import { onFirstByte, TLS_HANDSHAKE } from './firstbyte.js';

/** What a port speaks; `options` are Node's TLS server options (runtime/tlsfiles.ts). */
export type HttpSecurity = { kind: 'plain' } | { kind: 'tls' | 'unified'; options: TlsOptions };

/** SecureRequestCustomizer with JettyAdminServer's DEFAULT_STS_MAX_AGE (a day) and includeSubDomains */
const STRICT_TRANSPORT_SECURITY = 'max-age=86400; includeSubDomains';
/** a connection that says nothing, or does not finish its handshake, is dropped after this long */
const SILENT_MS = 10_000;

const remoteOf = (s: Socket): string => `${(s.remoteAddress ?? '').replace(/^::ffff:/, '')}:${s.remotePort ?? 0}`;

export interface HttpEndpointOptions {
  /** for log lines: "AdminServer", "Prometheus metrics endpoint" */
  name: string;
  /** what a plain client on an HTTPS-only port is told, e.g. "admin.forceHttps is true" */
  httpsOnlyReason: string;
  /** logged when the port cannot be bound: what to change */
  unavailable: string;
  /**
   * a request whose headers have not all arrived within `headersMs` is answered 408 and closed,
   * looked for every `checkEveryMs` (Node's defaults: 60 s, every 30 s)
   */
  timeouts?: { headersMs: number; checkEveryMs: number };
}

export class HttpEndpoint {
  private listener: NetServer | null = null;
  /** every accepted connection until it closes, so close() ends them all */
  private readonly sockets = new Set<Socket>();
  private readonly plain: HttpServer;
  private readonly secure: HttpsServer | null;

  constructor(
    handler: RequestListener,
    private readonly security: HttpSecurity,
    private readonly log: Logger,
    private readonly o: HttpEndpointOptions,
  ) {
    // neither server listens: connections are handed to them (emit 'connection') once their first byte tells which
    const timeouts = o.timeouts ? { headersTimeout: o.timeouts.headersMs, connectionsCheckingInterval: o.timeouts.checkEveryMs } : {};
    this.plain = new HttpServer(timeouts, handler);
    this.secure = security.kind === 'plain' ? null : this.httpsServer(handler, { ...security.options, ...timeouts });
  }

  /**
   * Node checks headersTimeout / requestTimeout (a slow or stalled request) from a server's
   * 'listening' event on, with an interval; these servers never listen themselves, so they are told
   * once the port is bound (not before: an endpoint whose port is busy is dropped without close(),
   * and its intervals would run for good).
   */
  private started(): void {
    this.plain.emit('listening');
    this.secure?.emit('listening');
  }

  private httpsServer(handler: RequestListener, options: TlsOptions): HttpsServer {
    const server = new HttpsServer({ ...options, handshakeTimeout: SILENT_MS }, (req, res) => {
      res.setHeader('strict-transport-security', STRICT_TRANSPORT_SECURITY);
      handler(req, res);
    });
    server.on('tlsClientError', (e, ts) =>
      this.log.warn(
        { remote: remoteOf(ts), port: ts.localPort, reason: e.message },
        `${this.o.name}: closing connection: TLS handshake failed (a missing or untrusted client certificate, no common protocol or cipher suite, or a client that does not trust this server's certificate)`,
      ),
    );
    // (after the HTTP side's own listener: the socket is ended before a request is read)
    server.on('secureConnection', (ts: TLSSocket) => {
      if (options.requestCert && !ts.authorized && Object.keys(ts.getPeerCertificate()).length > 0) {
        this.log.warn(
          { remote: remoteOf(ts), reason: String(ts.authorizationError) },
          `${this.o.name}: closing connection: the client's certificate is not trusted`,
        );
        ts.destroy();
      }
    });
    return server;
  }

  /** A connection whose first byte is not a TLS handshake, on a port that speaks HTTPS only: a 400 that says so. */
  private refusePlain(s: Socket): void {
    this.log.warn(
      { remote: remoteOf(s), port: s.localPort },
      `${this.o.name}: closing connection: a plain HTTP client on a port that speaks HTTPS only (${this.o.httpsOnlyReason}); the client must use https://`,
    );
    const body = `This port speaks HTTPS only (${this.o.httpsOnlyReason}): use https://\n`;
    s.on('error', () => undefined);
    s.end(
      `HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // what the client sent is not read: the connection goes once the answer is out
    s.setTimeout(SILENT_MS, () => s.destroy());
  }

  private route(s: Socket, first: number): void {
    if (first === TLS_HANDSHAKE && this.secure) this.secure.emit('connection', s);
    else if (this.security.kind === 'tls') this.refusePlain(s);
    else this.plain.emit('connection', s);
  }

  private accept(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    if (this.security.kind === 'plain') this.plain.emit('connection', s);
    else onFirstByte(s, { silentMs: SILENT_MS }, (sock, first) => this.route(sock, first));
  }

  /** Binds the port; resolves with the bound port, or null (logged) when it cannot be bound. */
  listen(port: number, host: string): Promise<number | null> {
    const server = createNetServer((s) => this.accept(s));
    return new Promise((resolve) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        this.log.warn({ port, host, err: e.message }, this.o.unavailable);
        resolve(null);
      });
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => this.log.error({ err: e.message }, `${this.o.name} error`));
        this.listener = server;
        this.started();
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    const server = this.listener;
    this.listener = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    // (stops their request-timeout checks; they were never bound, so there is nothing else to close)
    for (const h of [this.plain, this.secure]) h?.close(() => undefined);
    if (!server) return;
    await new Promise<void>((r) => server.close(() => r()));
  }
}
