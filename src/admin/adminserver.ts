// AdminServer: `GET /commands/<name>` answering JSON, with ZooKeeper's command names and aliases
// (server/admin/Commands.java). This covers the four-letter words' views; the full command list,
// /health, /ready and auth come with the operations issue.
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { CoreConn } from '../server/core.js';
import { freshLatencyStats } from '../server/core.js';
import { mntrPairs, type ServerView } from './fourletter.js';
import { VERSION_STRING } from '../version.js';
import type { Logger } from '../util/log.js';
import type { Writable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { aclAllows, authenticate } from '../tree/acl.js';
import { Perms, type ACL, type Id } from '../wire/protocol.js';
import type { BackupResult } from '../backup/format.js';

/** What the AdminServer may ask of the running server beyond read-only views. */
export interface AdminActions {
  backupTo(out: Writable, onStart: (zxid: number) => void, signal: AbortSignal): Promise<BackupResult>;
  superDigest: string | undefined;
  restore(raw: Buffer): Promise<{ zxid: number; backupZxid: number; nodes: number; sessions: number }>;
  rootAcl(): readonly ACL[];
}

type Command = (v: ServerView) => Record<string, unknown>;

const hex = (n: bigint | number): string => `0x${(typeof n === 'bigint' ? BigInt.asUintN(64, n) : n).toString(16)}`;

function serverStats(v: ServerView): Record<string, unknown> {
  const s = v.core.stats;
  return {
    packets_sent: s.packetsSent, packets_received: s.packetsReceived,
    max_latency: s.maxLatencyMs, min_latency: s.completed ? s.minLatencyMs : 0,
    avg_latency: s.completed ? s.totalLatencyMs / s.completed : 0,
    num_alive_client_connections: v.core.conns.size, outstanding_requests: v.core.outstanding,
    server_state: v.mode, last_processed_zxid: v.core.lastApplied, node_count: v.core.tree.reportedNodeCount,
    data_dir_size: v.dataDirBytes(), log_dir_size: v.logDirBytes(), uptime: v.now() - v.startedAt,
  };
}

function connection(v: ServerView, c: CoreConn): Record<string, unknown> {
  const s = c.stats;
  return {
    remote_socket_address: v.remoteOf(c.id), interest_ops: 1, outstanding_requests: c.queue.length,
    packets_received: s.packetsReceived, packets_sent: s.packetsSent,
    ...(c.sessionId === null ? {} : {
      session_id: hex(c.sessionId), last_operation: s.lastOp, established: new Date(s.established).toString(),
      session_timeout: c.sessionTimeoutMs, last_zxid: hex(s.lastZxid), last_response_time: s.lastResponseTime,
      min_latency: s.completed ? s.minLatencyMs : 0, avg_latency: s.completed ? s.totalLatencyMs / s.completed : 0, max_latency: s.maxLatencyMs,
    }),
  };
}

/** Data (and exist) watches only, as ZooKeeper's watch commands show them. */
function watchesBySession(v: ServerView): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const wm of [v.core.tree.dataWatches]) {
    for (const [watcher, paths] of wm.pathsByWatcher()) {
      const c = v.core.conns.get(watcher);
      if (!c) continue;
      const key = hex(c.sessionId ?? 0n);
      const set = out[key] ?? (out[key] = new Set());
      for (const p of paths) set.add(p);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, s]) => [k, [...s]]));
}

const COMMANDS: Array<[string[], Command]> = [
  [['ruok'], () => ({})],
  [['monitor', 'mntr'], (v) => Object.fromEntries(mntrPairs(v).map(([k, val]) => [k.replace(/^zk_/, ''), typeof val === 'string' && /^-?\d+(\.\d+)?$/.test(val) ? Number(val) : val]))],
  [['server_stats', 'srvr'], (v) => ({ version: VERSION_STRING, read_only: false, server_stats: serverStats(v), node_count: v.core.tree.reportedNodeCount })],
  [['stats', 'stat'], (v) => ({
    version: VERSION_STRING, read_only: false, server_stats: serverStats(v), node_count: v.core.tree.reportedNodeCount,
    connections: [...v.core.conns.values()].map((c) => connection(v, c)),
  })],
  [['connections', 'cons'], (v) => ({ connections: [...v.core.conns.values()].map((c) => connection(v, c)), secure_connections: [] })],
  [['configuration', 'conf', 'config'], (v) => ({
    client_port: v.config.clientPort, data_dir: v.config.dataDir, data_log_dir: v.config.dataLogDir, tick_time: v.config.tickTimeMs,
    max_client_cnxns: v.config.maxClientCnxns, min_session_timeout: v.config.minSessionTimeoutMs,
    max_session_timeout: v.config.maxSessionTimeoutMs, server_id: v.config.serverId, client_port_listen_backlog: -1,
  })],
  [['environment', 'env', 'envi'], () => ({
    'zookeeper.version': VERSION_STRING, 'host.name': hostname(), 'node.version': process.version,
    'os.name': process.platform, 'os.arch': process.arch, 'user.dir': process.cwd(),
  })],
  [['dirs'], (v) => ({ datadir_size: v.dataDirBytes(), logdir_size: v.logDirBytes() })],
  [['is_read_only', 'isro'], () => ({ read_only: false })],
  [['watch_summary', 'wchs'], (v) => {
    const by = watchesBySession(v);
    return { num_connections: Object.keys(by).length, num_paths: new Set(Object.values(by).flat()).size,
      num_total_watches: v.core.tree.dataWatches.size };
  }],
  [['watches', 'wchc'], (v) => ({ session_id_to_watched_paths: watchesBySession(v) })],
  [['watches_by_path', 'wchp'], (v) => {
    const out: Record<string, string[]> = {};
    for (const [session, paths] of Object.entries(watchesBySession(v))) for (const p of paths) (out[p] ??= []).push(session);
    return { path_to_session_ids: out };
  }],
  [['dump'], (v) => ({
    expiry_time_to_session_ids: [...v.core.sessions.sessions.values()].reduce<Record<string, string[]>>((acc, s) => {
      (acc[String(s.expiresAt)] ??= []).push(hex(s.id));
      return acc;
    }, {}),
    session_id_to_ephemeral_paths: Object.fromEntries([...v.core.tree.ephemerals].map(([id, paths]) => [hex(id), [...paths]])),
  })],
  [['connection_stat_reset', 'crst'], (v) => { for (const c of v.core.conns.values()) Object.assign(c.stats, freshLatencyStats()); return {}; }],
  [['stat_reset', 'srst'], (v) => { v.core.resetStats(); return {}; }],
];

/** an online restore holds the whole backup in memory: a bound, with the offline path for larger ones */
const RESTORE_BYTES_MAX = 2 * 1024 * 1024 * 1024;

const byName = new Map<string, { primary: string; run: Command }>();
for (const [names, run] of COMMANDS) for (const n of names) byName.set(n, { primary: names[0]!, run });

export class AdminServer {
  private server: Server | null = null;

  constructor(private readonly view: ServerView, private readonly log: Logger, private readonly actions: AdminActions | null = null) {}

  /**
   * Admin authentication as ZooKeeper 3.9 (ZOOKEEPER-4639): `Authorization: digest user:password`,
   * and the caller's ids must be allowed ALL on "/". Returns an error to send, or null.
   */
  private authProblem(req: IncomingMessage): { status: number; error: string } | null {
    const header = req.headers.authorization ?? '';
    const m = /^digest\s+(.+)$/i.exec(header.trim());
    if (!m) return { status: 401, error: 'this command needs admin authentication: send "Authorization: digest user:password"' };
    // the digest credentials only: an ip entry on / must not let any local caller in
    const ids: Id[] = authenticate('digest', Buffer.from(m[1]!), '', this.actions?.superDigest) ?? [];
    if (!aclAllows(this.actions?.rootAcl() ?? [], Perms.ALL, ids)) return { status: 403, error: 'these credentials do not have ALL permission on /' };
    return null;
  }

  /** POST /commands/restore with a backup file as the body (ZooKeeper 3.9's restore command). */
  private restore(req: IncomingMessage, res: ServerResponse): void {
    const reply = (status: number, body: Record<string, unknown>): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ command: 'restore', ...body })}\n`);
    };
    const auth = this.authProblem(req);
    if (auth || !this.actions) { reply(auth?.status ?? 503, { error: auth?.error ?? 'not available' }); return; }
    const parts: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > RESTORE_BYTES_MAX) {
        if (!tooLarge) reply(413, { error: `a backup over ${RESTORE_BYTES_MAX} bytes cannot be restored online; use ark restore on a stopped server` });
        tooLarge = true;
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => {
      if (tooLarge) return;
      this.actions!.restore(Buffer.concat(parts)).then(
        (r) => reply(200, { error: null, last_zxid: `0x${r.zxid.toString(16)}`, backup_zxid: `0x${r.backupZxid.toString(16)}`, node_count: r.nodes, sessions: r.sessions }),
        (e: unknown) => reply(400, { error: (e as Error).message }),
      );
    });
  }

  /** GET /commands/snapshot?streaming=true: a consistent backup, streamed (ZooKeeper 3.9's snapshot command). */
  private streamSnapshot(req: IncomingMessage, res: ServerResponse): void {
    const auth = this.authProblem(req);
    if (auth || !this.actions) {
      res.writeHead(auth?.status ?? 503, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ command: 'snapshot', error: auth?.error ?? 'not available' })}\n`);
      return;
    }
    // a client that goes away, or stops reading for a minute, ends the backup and frees the capture
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.setTimeout(60_000, () => { abort.abort(); res.destroy(); });
    this.actions.backupTo(res, (zxid) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', last_zxid: `0x${zxid.toString(16)}` });
    }, abort.signal).catch((e: unknown) => {
      this.log.error({ err: (e as Error).message }, 'streaming a backup failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.destroy();
    });
  }

  /** Resolves with the bound port; a port in use is logged and the server runs without it, as ZooKeeper does. */
  start(port: number, host: string): Promise<number | null> {
    return new Promise((resolve) => {
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://admin');
        const send = (status: number, body: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(`${JSON.stringify(body, null, 2)}\n`);
        };
        if (/^\/commands\/(snapshot|snap)\/?$/.test(url.pathname) && req.method === 'GET') return this.streamSnapshot(req, res);
        if (/^\/commands\/(restore|rest)\/?$/.test(url.pathname)) {
          if (req.method !== 'POST') return send(405, { command: 'restore', error: 'restore takes POST with the backup file as the body' });
          return this.restore(req, res);
        }
        if (req.method !== 'GET') return send(405, { error: `${req.method} is not supported; use GET` });
        if (url.pathname === '/commands' || url.pathname === '/commands/') {
          return send(200, { commands: COMMANDS.map(([n]) => n[0]) });
        }
        const m = /^\/commands\/([a-z_]+)\/?$/.exec(url.pathname);
        const cmd = m ? byName.get(m[1]!) : undefined;
        if (!cmd) return send(404, { command: m?.[1] ?? null, error: `Unknown command: ${url.pathname}. GET /commands lists them.` });
        try {
          send(200, { ...cmd.run(this.view), command: cmd.primary, error: null });
        } catch (e) {
          send(500, { command: cmd.primary, error: (e as Error).message });
        }
      });
      server.once('error', (e: NodeJS.ErrnoException) => {
        this.log.warn({ port, host, err: e.message }, 'AdminServer could not start (set admin.serverPort or admin.enableServer=false in zoo.cfg); serving clients without it');
        resolve(null);
      });
      server.listen(port, host, () => {
        const a = server.address();
        this.server = server;
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });
  }
}
