// The client port wired to a server core: the per-address connection limit, backpressure, and
// writing a core's outputs to sockets (one buffer per connection per turn).
import type { ServerCore, Output } from '../server/core.js';
import { ClientPort } from '../net/clientport.js';
import { fourLetterWord, type RuntimeStats, type ServerView } from '../admin/fourletter.js';
import type { ServerConfig } from '../config/serverconfig.js';
import type { Logger } from '../util/log.js';
import type { ServerMetrics } from '../metrics/metrics.js';

/** The client port, feeding whatever core `core()` returns at the time (online restore swaps it). */
export function coreClientPort(opts: {
  core: () => ServerCore;
  view: () => ServerView;
  open: (conn: number, addr: string, rport: number, certSubject?: string) => boolean;
  closed: (conn: number, addr: string) => void;
  flush: () => void;
  /** called before each request is taken (a follower applies the commits it already knows) */
  beforeRequest?: () => void;
  logger: Logger;
  config: ServerConfig;
  metrics?: ServerMetrics | null;
}): ClientPort {
  const { core } = opts;
  const metrics = opts.metrics ?? null;
  return new ClientPort(
    {
      open: (conn, addr, rport, certSubject) => {
        if (opts.open(conn, addr, rport, certSubject)) return true;
        metrics?.connectionRejected();
        opts.view().stats.connectionsRejected++;
        return false;
      },
      connect: (conn, req) => {
        metrics?.connectRequest();
        core().connect(conn, req, Date.now());
      },
      request: (conn, xid, req) => {
        opts.beforeRequest?.();
        core().request(conn, xid, req, Date.now());
      },
      requestError: (conn, xid, err) => {
        core().requestError(conn, xid, err, Date.now());
      },
      fourLetter: (conn, cmd) => {
        const c = core().conns.get(conn);
        if (c) c.stats.packetsReceived++; // the word itself, as ZooKeeper counts it
        return fourLetterWord(opts.view(), cmd);
      },
      closed: opts.closed,
      backlogged: (conn, socketBytes) => {
        const c = core().conns.get(conn);
        return c !== undefined && (c.queue.length >= OUTSTANDING_PER_CONNECTION_MAX || c.outBytes + socketBytes > WRITE_BACKLOG_BYTES_MAX);
      },
      flush: opts.flush,
    },
    opts.logger,
    opts.config.juteMaxBufferBytes,
  );
}

/**
 * maxClientCnxns: connections per client address, and the core's view of each accepted socket.
 * Every accepted socket is released exactly once, whoever closed it.
 */
export class ConnectionLimit {
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly core: () => ServerCore,
    private readonly logger: Logger,
  ) {}

  open(conn: number, addr: string, rport: number, certSubject?: string): boolean {
    const n = this.perIp.get(addr) ?? 0;
    if (this.max > 0 && n >= this.max) {
      this.logger.warn(
        { remote: addr, maxClientCnxns: this.max },
        'too many connections from one address: refused (raise maxClientCnxns in zoo.cfg if this is expected)',
      );
      return false;
    }
    this.perIp.set(addr, n + 1);
    this.core().openConnection(conn, addr, rport, Date.now(), certSubject);
    return true;
  }

  closed(conn: number, addr: string): void {
    const n = (this.perIp.get(addr) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(addr);
    else this.perIp.set(addr, n);
    this.core().connectionClosed(conn);
  }
}

/** Logs the core's internal errors and writes its outputs, one corked batch per turn. */
export function writeOutputs(
  core: ServerCore,
  outputs: readonly Output[],
  port: ClientPort,
  logger: Logger,
  metrics: ServerMetrics | null = null,
  stats: RuntimeStats | null = null,
): void {
  for (const e of core.internalErrors.splice(0)) {
    metrics?.internalError();
    logger.error({ err: e }, 'internal error: the connection was closed; this is a bug in Ark, please report it with this log');
  }
  for (const w of core.tree.quotaWarnings.splice(0)) logger.warn(w);
  if (outputs.length === 0) return;
  // a connection's replies of this turn go out as one buffer: one chunk per reply made the
  // stream's writev the largest single cost of a busy server
  const byConn = new Map<number, Buffer[]>();
  const send = (conn: number): void => {
    const list = byConn.get(conn);
    if (!list) return;
    byConn.delete(conn);
    port.write(conn, list.length === 1 ? list[0]! : Buffer.concat(list));
  };
  for (const o of outputs) {
    if (o.kind === 'send') {
      const list = byConn.get(o.conn);
      if (list) list.push(o.data);
      else byConn.set(o.conn, [o.data]);
      stats?.responseBytes.add(o.data.length - 4); // as ZooKeeper: the packet after its length prefix
    } else {
      send(o.conn); // what was answered before the close still goes out
      if (o.warn) logger.warn({ conn: o.conn }, o.reason);
      else logger.debug({ conn: o.conn, reason: o.reason }, 'closing connection');
      port.close(o.conn);
    }
  }
  for (const conn of [...byConn.keys()]) send(conn);
  port.resumeReady();
}

/**
 * A connection stops being read while it has this many requests outstanding (ZooKeeper's
 * globalOutstandingLimit is 1000) or this many reply bytes unsent: a client that pipelines without
 * reading cannot grow the server's memory without bound.
 */
export const OUTSTANDING_PER_CONNECTION_MAX = 1000;
export const WRITE_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;
