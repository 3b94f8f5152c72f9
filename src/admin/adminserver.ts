// AdminServer: `GET /commands/<name>` answering JSON, with every command of ZooKeeper 3.9 under
// its names and aliases and with its JSON fields (server/admin/Commands.java; shed_connections as
// ZooKeeper's master branch adds it), plus `GET /health` and `GET /ready` for orchestrators.
//
// As in ZooKeeper: every answer carries "command" (the primary name) and "error" (null when it
// worked); commands that need a running server answer "This ZooKeeper instance is not currently
// serving requests" while an ensemble member is not serving; snapshot, restore and
// shed_connections need `Authorization: digest user:password` with ALL on "/" (ZOOKEEPER-4639).
// Session ids and zxids are JSON integers (Java longs), written exactly even above 2^53.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { CoreConn } from '../server/core.js';
import {
  connectionAvgLatency,
  environment,
  isServingLeader,
  latency,
  mntrPairs,
  peerState,
  resetConnectionStats,
  resetServerStats,
  systemProperties,
  uptimeMs,
  servesNow,
  type EnsembleView,
  type ServerView,
} from './fourletter.js';
import { VERSION_STRING } from '../version.js';
import type { Logger } from '../util/log.js';
import { HttpEndpoint, type HttpSecurity } from '../net/httpendpoint.js';
import { aclAllows, authenticate } from '../tree/acl.js';
import { Perms, type ACL, type Id } from '../wire/protocol.js';
import type { BackupResult } from '../backup/format.js';
import { counterOf, epochOf } from '../util/zxid.js';
import { isConsolePath, type Console } from './console.js';

/** What the AdminServer may ask of the running server beyond read-only views. */
export interface AdminActions {
  backupTo(out: Writable, onStart: (zxid: number, nodes: number) => void, signal: AbortSignal): Promise<BackupResult>;
  superDigest: string | undefined;
  restore(raw: Buffer): Promise<{ zxid: number; backupZxid: number; nodes: number; sessions: number }>;
  /** restore?path=P: only P and its descendants, as one txn (src/runtime/subtree.ts), with the caller's credentials */
  restoreSubtree(
    raw: Buffer,
    path: string,
    credentials: string,
  ): Promise<{ zxid: number; backupZxid: number; path: string; nodes: number; ephemeralsSkipped: number }>;
  rootAcl(): readonly ACL[];
}

/** ZooKeeper's error while the server does not serve (Commands.runCommand) */
const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';
/** an online restore holds the whole backup in memory: a bound, with the offline path for larger ones */
const RESTORE_BYTES_MAX = 2 * 1024 * 1024 * 1024;
/** a shed_connections body is a small JSON object */
const SHED_BODY_BYTES_MAX = 64 * 1024;

type Body = Record<string, unknown>;

interface Command {
  /** primary name first, then the aliases */
  names: string[];
  method: 'GET' | 'POST';
  /** answered only while the server serves (ZooKeeper's isServerRequired) */
  serverRequired: boolean;
  /** needs digest credentials with ALL on "/" */
  auth: boolean;
}

interface GetCommand extends Command {
  method: 'GET';
  run(v: ServerView, query: URLSearchParams): Body;
}

// ---------- JSON ----------

/** JSON as Jackson writes it for ZooKeeper: Java longs (bigint here) as exact integers. */
export function toJson(value: unknown, indent = '  ', at = ''): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  const inner = at + indent;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((x) => inner + toJson(x === undefined ? null : x, indent, inner)).join(',\n')}\n${at}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${toJson(x, indent, inner)}`).join(',\n')}\n${at}}`;
  }
  return 'null';
}

/** a session id as Java's long */
const sid = (id: bigint | null): bigint => BigInt.asIntN(64, id ?? 0n);

/** QuorumServer.delimitedHostString: IPv6 literals in brackets */
const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

// ---------- the views ----------

/** ServerStats as ZooKeeper's AdminServer serializes it (its getters, snake_case) */
function serverStats(v: ServerView): Body {
  const core = v.core;
  const l = latency(core.stats);
  return {
    packets_sent: core.stats.packetsSent,
    packets_received: core.stats.packetsReceived,
    fsync_threshold_exceed_count: v.stats.fsyncThresholdExceeded,
    client_response_stats: v.stats.responseBytes.json(),
    data_dir_size: v.dataDirBytes(),
    log_dir_size: v.logDirBytes(),
    server_state: v.mode,
    last_processed_zxid: core.lastApplied,
    outstanding_requests: core.outstanding,
    avg_latency: l.avg,
    max_latency: l.max,
    min_latency: l.min,
    num_alive_client_connections: core.conns.size,
    uptime: uptimeMs(v),
  };
}

function srvr(v: ServerView): Body {
  const out: Body = {
    version: VERSION_STRING,
    read_only: false,
    server_stats: serverStats(v),
    client_response: v.stats.responseBytes.json(),
  };
  if (isServingLeader(v) && v.ensemble) {
    const p = v.ensemble.proposalBytes();
    out.proposal_stats = { last_buffer_size: p.last, min_buffer_size: p.min, max_buffer_size: p.max };
  }
  out.node_count = v.core.tree.reportedNodeCount;
  return out;
}

/** ServerCnxn.getConnectionInfo(brief) */
/** The connections of the client port and, as ZooKeeper's secure factory lists them apart, of the secure port. */
function connections(v: ServerView, brief: boolean): Body {
  const all = [...v.core.conns.values()];
  return {
    connections: all.filter((c) => !v.onSecurePort(c.id)).map((c) => connection(v, c, brief)),
    secure_connections: all.filter((c) => v.onSecurePort(c.id)).map((c) => connection(v, c, brief)),
  };
}

function connection(v: ServerView, c: CoreConn, brief: boolean): Body {
  const s = c.stats;
  const out: Body = {
    remote_socket_address: v.remoteOf(c.id),
    interest_ops: v.reading(c.id) ? 1 : 0,
    outstanding_requests: c.queue.length,
    packets_received: s.packetsReceived,
    packets_sent: s.packetsSent,
  };
  if (brief) return out;
  const l = latency(s);
  return {
    ...out,
    session_id: sid(c.sessionId),
    last_operation: s.lastOp,
    established: s.established,
    session_timeout: c.sessionTimeoutMs,
    last_cxid: s.lastCxid,
    last_zxid: s.lastZxid,
    last_response_time: s.lastResponseTime,
    last_latency: s.lastLatencyMs,
    min_latency: l.min,
    avg_latency: connectionAvgLatency(s),
    max_latency: l.max,
  };
}

/** Data (and exist) watches only, as ZooKeeper's watch commands show them: session -> paths. */
function watchesBySession(v: ServerView): Map<bigint, Set<string>> {
  const out = new Map<bigint, Set<string>>();
  for (const [watcher, paths] of v.core.tree.dataWatches.pathsByWatcher()) {
    const c = v.core.conns.get(watcher);
    if (!c) continue;
    const key = sid(c.sessionId);
    let set = out.get(key);
    if (!set) {
      set = new Set();
      out.set(key, set);
    }
    for (const p of paths) set.add(p);
  }
  return out;
}

function leader(v: ServerView): Body {
  const e = v.ensemble;
  if (!e) return { error: 'server is not initialized' };
  const id = e.leaderId();
  const s = e.servers.find((x) => x.id === id);
  return { is_leader: e.role() === 'leading', leader_id: id, leader_ip: s ? s.host : '' };
}

/** MultipleAddresses as ZooKeeper's zabstate serializes it, without the reachability fields Ark does not probe */
function addresses(host: string, port: number): Body {
  const hp = hostPort(host, port);
  return { empty: false, all_addresses: [hp], one: hp, all_ports: [port], all_host_strings: [host] };
}

function zabstate(v: ServerView): Body {
  const e = v.ensemble;
  if (!e) return { voting: false, zabstate: '' };
  const me = e.servers.find((s) => s.id === e.myId);
  const zxid = v.core.lastApplied;
  return {
    myid: e.myId,
    is_leader: e.role() === 'leading',
    quorum_address: me ? addresses(me.host, me.quorumPort) : null,
    election_address: me ? addresses(me.host, me.electionPort) : null,
    client_address: hostPort(v.config.clientPortAddress, v.config.clientPort),
    voting: me?.role === 'participant',
    last_zxid: `0x${zxid.toString(16)}`,
    zab_epoch: epochOf(zxid),
    zab_counter: counterOf(zxid),
    zabstate: e.phase(),
  };
}

/** QuorumPeer.getVotingView: the voting members of server.N, as QuorumServerView */
function votingView(v: ServerView): Body {
  const e = v.ensemble;
  const config: Record<string, Body> = {};
  for (const s of e?.servers ?? []) {
    if (s.role !== 'participant') continue;
    const client =
      s.id === e!.myId
        ? hostPort(v.config.clientPortAddress, v.config.clientPort)
        : s.clientPort !== undefined
          ? hostPort(s.clientAddress ?? '0.0.0.0', s.clientPort)
          : '';
    config[String(s.id)] = {
      server_addresses: [hostPort(s.host, s.quorumPort)],
      election_addresses: [hostPort(s.host, s.electionPort)],
      client_address: client,
      learner_type: 'participant',
    };
  }
  return { current_config: config };
}

/** the leader's synced observers (Ark's observers sync from the leader only: followers have none) */
function observers(v: ServerView): Body {
  const e = v.ensemble;
  if (!e || !isServingLeader(v)) return { synced_observers: 0, observers: [] };
  const synced = e.learners().filter((l) => l.observer && l.status === 'synced');
  return {
    synced_observers: synced.length,
    observers: synced.map((l) => {
      const p = e.peer(l.id);
      return {
        sid: l.id,
        established: p?.establishedMs ?? 0,
        packets_received: p?.packetsReceived ?? 0,
        packets_sent: p?.packetsSent ?? 0,
      };
    }),
  };
}

/** mntr as JSON: zk_ dropped, numbers as numbers; a member that is not serving says what it does */
function monitor(v: ServerView): Body {
  const out: Body = {};
  // numbers in Java's form (3.6154, 1.0E-4) become JSON numbers, as Jackson writes ZooKeeper's doubles
  for (const [k, val] of mntrPairs(v))
    out[k.replace(/^zk_/, '')] = typeof val === 'string' && /^-?\d+(\.\d+)?(E-?\d+)?$/.test(val) ? Number(val) : val;
  if (v.ensemble && !servesNow(v)) out.server_state = serverStateOf(v.ensemble);
  return out;
}

function serverStateOf(e: EnsembleView): string {
  switch (e.role()) {
    case 'looking':
      return 'looking';
    case 'leading':
      return 'leader';
    case 'following':
      return 'follower';
    case 'observing':
      return 'observer';
  }
}

function lastSnapshot(v: ServerView): Body {
  const s = v.lastSnapshot();
  // ZooKeeper: Long.toHexString(zxid) (-1 when none) and the file's modification time in seconds
  return s ? { zxid: s.zxid.toString(16), timestamp: Math.floor(s.timeMs / 1000) } : { zxid: 'ffffffffffffffff', timestamp: -1 };
}

function setTraceMask(v: ServerView, q: URLSearchParams): Body {
  const raw = q.get('traceMask');
  if (raw === null) return { error: 'setTraceMask requires long traceMask argument' };
  const t = raw.trim();
  const mask = /^[+-]?\d+$/.test(t) ? BigInt(t) : null;
  if (mask === null || mask !== BigInt.asIntN(64, mask)) return { error: `setTraceMask requires long traceMask argument, got ${raw}` };
  v.traceMask = mask;
  return { tracemask: mask };
}

const get = (names: string[], run: GetCommand['run'], serverRequired = true): GetCommand => ({
  names,
  method: 'GET',
  serverRequired,
  auth: false,
  run,
});

const GET_COMMANDS: GetCommand[] = [
  get(['connection_stat_reset', 'crst'], (v) => {
    for (const c of v.core.conns.values()) resetConnectionStats(c);
    return {};
  }),
  get(['configuration', 'conf', 'config'], (v) => ({
    client_port: v.config.clientPort,
    data_dir: v.config.dataDir,
    data_log_dir: v.config.dataLogDir,
    tick_time: v.config.tickTimeMs,
    max_client_cnxns: v.config.maxClientCnxns,
    min_session_timeout: v.config.minSessionTimeoutMs,
    max_session_timeout: v.config.maxSessionTimeoutMs,
    server_id: v.config.serverId,
    // the socket's accept backlog is Node's default; -1 is ZooKeeper's "not configured"
    client_port_listen_backlog: -1,
  })),
  get(['connections', 'cons'], (v) => connections(v, false)),
  get(['hash'], (v) => ({
    digests: v.core.tree.digestLog.map((d) => ({ zxid: d.zxid, digest: BigInt.asIntN(64, d.digest), digest_version: 2 })),
  })),
  get(['dirs'], (v) => ({ datadir_size: v.dataDirBytes(), logdir_size: v.logDirBytes() })),
  get(['dump'], (v) => {
    const expiry: Record<string, bigint[]> = {};
    for (const s of v.core.sessions.sessions.values()) pushTo(expiry, String(s.expiresAt), sid(s.id));
    const ephemerals: Record<string, string[]> = {};
    for (const [id, paths] of v.core.tree.ephemerals) ephemerals[String(sid(id))] = [...paths];
    return { expiry_time_to_session_ids: expiry, session_id_to_ephemeral_paths: ephemerals };
  }),
  get(['environment', 'env', 'envi'], () => Object.fromEntries(environment()), false),
  get(['get_trace_mask', 'gtmk'], (v) => ({ tracemask: v.traceMask }), false),
  get(['initial_configuration', 'icfg'], (v) => ({ initial_configuration: v.initialConfig })),
  get(['is_read_only', 'isro'], (v) => ({ read_only: v.core.mode === 'readonly' })),
  get(['last_snapshot', 'lsnp'], lastSnapshot),
  get(['leader', 'lead'], leader),
  get(['monitor', 'mntr'], monitor, false),
  get(['observer_connection_stat_reset', 'orst'], (v) => {
    v.ensemble?.resetObserverStats();
    return {};
  }),
  get(['ruok'], () => ({})),
  get(['set_trace_mask', 'stmk'], setTraceMask, false),
  get(['server_stats', 'srvr'], srvr),
  get(['stats', 'stat'], (v) => ({ ...srvr(v), ...connections(v, true) })),
  get(['stat_reset', 'srst'], (v) => {
    resetServerStats(v);
    return {};
  }),
  get(['observers', 'obsr'], observers),
  get(['system_properties', 'sysp'], (v) => Object.fromEntries(systemProperties(v)), false),
  get(['voting_view'], votingView),
  get(['watches', 'wchc'], (v) => ({
    session_id_to_watched_paths: Object.fromEntries([...watchesBySession(v)].map(([id, paths]) => [String(id), [...paths]])),
  })),
  get(['watches_by_path', 'wchp'], (v) => {
    const out: Record<string, bigint[]> = {};
    for (const [id, paths] of watchesBySession(v)) for (const p of paths) pushTo(out, p, id);
    return { path_to_session_ids: out };
  }),
  get(['watch_summary', 'wchs'], (v) => {
    const by = watchesBySession(v);
    const paths = new Set<string>();
    for (const set of by.values()) for (const p of set) paths.add(p);
    return { num_connections: by.size, num_paths: paths.size, num_total_watches: v.core.tree.dataWatches.size };
  }),
  get(['zabstate'], zabstate, false),
];

/** the commands with bodies or streams of their own */
const SPECIAL_COMMANDS: Command[] = [
  { names: ['restore', 'rest'], method: 'POST', serverRequired: true, auth: true },
  { names: ['shed_connections', 'shed'], method: 'POST', serverRequired: true, auth: true },
  { names: ['snapshot', 'snap'], method: 'GET', serverRequired: true, auth: true },
];

const byName = new Map<string, Command>();
for (const c of [...GET_COMMANDS, ...SPECIAL_COMMANDS]) for (const n of c.names) byName.set(n, c);
const PRIMARY_NAMES = [...GET_COMMANDS, ...SPECIAL_COMMANDS].map((c) => c.names[0]!).sort();

export class AdminServer {
  private server: HttpEndpoint | null = null;

  constructor(
    private readonly view: ServerView,
    private readonly log: Logger,
    private readonly actions: AdminActions | null = null,
    /** the web console at /console (console.ts), when it is on */
    private readonly console: Console | null = null,
  ) {}

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
    if (!aclAllows(this.actions?.rootAcl() ?? [], Perms.ALL, ids))
      return { status: 403, error: 'these credentials do not have ALL permission on /' };
    return null;
  }

  /** Reads a request body up to `max` bytes; null (and a 413 sent) when it is larger. */
  private body(req: IncomingMessage, res: ServerResponse, command: string, max: number, tooLarge: string): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > max) {
          if (!over) send(res, 413, { command, error: tooLarge });
          over = true;
          req.destroy();
          resolve(null);
          return;
        }
        parts.push(c);
      });
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(parts));
      });
      req.on('error', () => resolve(null));
    });
  }

  /** POST /commands/restore with a backup file as the body (ZooKeeper 3.9's restore command). */
  private async restore(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.actions) {
      send(res, 503, { command: 'restore', error: 'not available' });
      return;
    }
    const raw = await this.body(
      req,
      res,
      'restore',
      RESTORE_BYTES_MAX,
      `a backup over ${RESTORE_BYTES_MAX} bytes cannot be restored online; use ark restore on a stopped server`,
    );
    if (!raw) return;
    const path = new URL(req.url ?? '/', 'http://x').searchParams.get('path');
    if (path !== null) {
      await this.restoreSubtree(raw, path, req, res);
      return;
    }
    try {
      const r = await this.actions.restore(raw);
      send(res, 200, {
        last_zxid: r.zxid,
        backup_zxid: r.backupZxid,
        node_count: r.nodes,
        sessions: r.sessions,
        command: 'restore',
        error: null,
      });
    } catch (e) {
      send(res, 400, { command: 'restore', error: (e as Error).message });
    }
  }

  /** POST /commands/restore?path=/app: the backup's /app replaces the live one, as one txn. */
  private async restoreSubtree(raw: Buffer, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // authProblem accepted these credentials; the restore is made with them, so the server checks them again
    const credentials = /^digest\s+(.+)$/i.exec((req.headers.authorization ?? '').trim())?.[1] ?? '';
    try {
      const r = await this.actions!.restoreSubtree(raw, path, credentials);
      send(res, 200, {
        last_zxid: r.zxid,
        backup_zxid: r.backupZxid,
        path: r.path,
        node_count: r.nodes,
        ephemerals_skipped: r.ephemeralsSkipped,
        command: 'restore',
        error: null,
      });
    } catch (e) {
      send(res, 400, { command: 'restore', error: (e as Error).message });
    }
  }

  /** POST /commands/shed_connections {"percentage": N}: closes about N% of the client connections (ZooKeeper's master). */
  private async shed(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await this.body(req, res, 'shed_connections', SHED_BODY_BYTES_MAX, 'the body is a small JSON object: {"percentage": N}');
    if (!raw) return;
    const fail = (error: string): void => send(res, 400, { command: 'shed_connections', error });
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      fail(`Invalid JSON or failed to read request body: ${(e as Error).message}`);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || !('percentage' in parsed)) {
      fail('Missing required field: percentage');
      return;
    }
    const pct = Number((parsed as { percentage: unknown }).percentage);
    if (!Number.isInteger(pct) || pct < 0 || pct > 100) {
      fail('Percentage must be between 0 and 100');
      return;
    }
    // a random choice of round(n * pct / 100) connections (ZooKeeper draws each with probability pct/100)
    const conns = [...this.view.core.conns.keys()];
    for (let i = conns.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [conns[i], conns[j]] = [conns[j]!, conns[i]!];
    }
    const chosen = conns.slice(0, Math.round((conns.length * pct) / 100));
    for (const c of chosen) this.view.closeConnection(c);
    this.log.info(
      { shed: chosen.length, of: conns.length, percentage: pct },
      'shed client connections on request (AdminServer shed_connections); their clients reconnect, to other members where they can',
    );
    send(res, 200, { connections_shed: chosen.length, percentage_requested: pct, command: 'shed_connections', error: null });
  }

  /** GET /commands/snapshot?streaming=true: a consistent backup, streamed (ZooKeeper 3.9's snapshot command). */
  private streamSnapshot(res: ServerResponse): void {
    if (!this.actions) {
      send(res, 503, { command: 'snapshot', error: 'not available' });
      return;
    }
    // a client that goes away, or stops reading for a minute, ends the backup and frees the capture
    const abort = new AbortController();
    // (a response that finished also closes: that is not the client going away)
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    res.setTimeout(60_000, () => {
      abort.abort();
      res.destroy();
    });
    this.actions
      .backupTo(
        res,
        (zxid, nodes) => {
          // node_count (Ark's addition to ZooKeeper's last_zxid): the znodes the stream will hold, so
          // that `ark backup create` can show how far it is
          res.writeHead(200, {
            'content-type': 'application/octet-stream',
            last_zxid: `0x${zxid.toString(16)}`,
            node_count: String(nodes),
          });
        },
        abort.signal,
      )
      .catch((e: unknown) => {
        if (abort.signal.aborted) return;
        this.log.error(
          { err: (e as Error).message },
          'streaming a backup through the AdminServer failed: the server is unaffected; check its disk and memory, then retry the snapshot command',
        );
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.destroy();
      });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin');
    const v = this.view;
    if (this.console && isConsolePath(url.pathname)) return this.console.handle(req, res, url);
    if (url.pathname === '/health') {
      // answered from the event loop: a blocked loop answers nothing, which is the failure to see
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' });
      return send(res, 200, { status: 'ok', uptime_ms: v.now() - v.startedAt });
    }
    if (url.pathname === '/ready') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' });
      const reason = v.notReadyReason();
      if (reason !== null) return send(res, 503, { ready: false, reason, ...(v.ensemble ? { peer_state: peerState(v.ensemble) } : {}) });
      return send(res, 200, { ready: true, server_state: v.mode, ...(v.ensemble ? { peer_state: peerState(v.ensemble) } : {}) });
    }
    if (url.pathname === '/commands' || url.pathname === '/commands/') return send(res, 200, { commands: PRIMARY_NAMES });
    const m = /^\/commands\/([A-Za-z_]+)\/?$/.exec(url.pathname);
    const cmd = m ? byName.get(m[1]!) : undefined;
    if (!cmd)
      return send(res, 404, { command: m?.[1] ?? null, error: `Unknown command: ${m?.[1] ?? url.pathname}. GET /commands lists them.` });
    const name = cmd.names[0]!;
    if (req.method !== cmd.method) {
      return send(res, 405, {
        command: name,
        error: cmd.method === 'POST' ? `${name} takes POST with its input as the body` : `${req.method} is not supported; use GET`,
      });
    }
    // (ZooKeeper starts its AdminServer only once the data is loaded; Ark answers /health earlier)
    if (v.loading?.())
      return send(res, 503, { command: name, error: 'loading the data dir: only /health and /ready answer until it is loaded' });
    if (cmd.serverRequired && !servesNow(v)) return send(res, 200, { command: name, error: NOT_SERVING });
    if (cmd.auth) {
      const auth = this.authProblem(req);
      if (auth) return send(res, auth.status, { command: name, error: auth.error });
    }
    if (name === 'snapshot') return this.streamSnapshot(res);
    if (name === 'restore') {
      void this.restore(req, res);
      return;
    }
    if (name === 'shed_connections') {
      void this.shed(req, res);
      return;
    }
    try {
      const body = (cmd as GetCommand).run(v, url.searchParams);
      // ZooKeeper's CommandResponse.toMap: the command's fields, then "command" and "error"
      send(res, 200, { ...body, command: name, error: body.error ?? null });
    } catch (e) {
      this.log.error(
        { command: name, err: (e as Error).stack },
        'AdminServer command failed: this is a bug in Ark, please report it with this log; the server itself is unaffected',
      );
      send(res, 500, { command: name, error: (e as Error).message });
    }
  }

  /**
   * Resolves with the bound port; a port in use is logged and the server runs without it, as
   * ZooKeeper does. `security`: HTTP, or HTTPS (admin.forceHttps) or both (admin.portUnification).
   */
  async start(port: number, host: string, security: HttpSecurity = { kind: 'plain' }): Promise<number | null> {
    const server = new HttpEndpoint((req, res) => this.handle(req, res), security, this.log, {
      name: 'AdminServer',
      httpsOnlyReason: 'admin.forceHttps is true',
      unavailable:
        'AdminServer could not start: serving clients without it; free the port, or set admin.serverPort (or admin.enableServer=false) in zoo.cfg',
    });
    const bound = await server.listen(port, host);
    if (bound !== null) this.server = server;
    return bound;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    await this.console?.stop();
    await s?.close();
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${toJson(body)}\n`);
}

/** Appends `value` to the list at `key`, starting one. */
function pushTo<T>(lists: Record<string, T[]>, key: string, value: T): void {
  const list = lists[key];
  if (list) list.push(value);
  else lists[key] = [value];
}
