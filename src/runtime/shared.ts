// What the standalone runtime (server.ts) and an ensemble member (ensemble.ts) do alike: the
// client port wired to a server core, the per-address connection limit, writing a core's outputs
// to sockets, the read-only view four-letter words and the AdminServer use, and background
// snapshots.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerCore, Output } from '../server/core.js';
import { ClientPort } from '../net/clientport.js';
import { DATA_SUBDIR, SPARE_SEGMENT } from '../storage/filelog.js';
import type { DataDir, SnapshotInfo } from '../storage/datadir.js';
import { fourLetterWord, type EnsembleView, type RuntimeStats, type ServerView } from '../admin/fourletter.js';
import type { FileTxnLog } from '../storage/filelog.js';
import { isFourLetterWordAllowed, type ServerConfig } from '../config/zoocfg.js';
import type { Logger } from '../util/log.js';
import type { ServerMetrics } from '../metrics/metrics.js';

/** The client port, feeding whatever core `core()` returns at the time (online restore swaps it). */
export function coreClientPort(opts: {
  core: () => ServerCore;
  view: () => ServerView;
  open: (conn: number, addr: string, rport: number) => boolean;
  closed: (conn: number, addr: string) => void;
  flush: () => void;
  logger: Logger;
  config: ServerConfig;
  metrics?: ServerMetrics | null;
}): ClientPort {
  const { core } = opts;
  const metrics = opts.metrics ?? null;
  return new ClientPort({
    open: (conn, addr, rport) => {
      if (opts.open(conn, addr, rport)) return true;
      metrics?.connectionRejected();
      opts.view().stats.connectionsRejected++;
      return false;
    },
    connect: (conn, req) => { metrics?.connectRequest(); core().connect(conn, req, Date.now()); },
    request: (conn, xid, req) => { core().request(conn, xid, req, Date.now()); },
    requestError: (conn, xid, err) => { core().requestError(conn, xid, err, Date.now()); },
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
  }, opts.logger, opts.config.juteMaxBufferBytes);
}

/**
 * maxClientCnxns: connections per client address, and the core's view of each accepted socket.
 * Every accepted socket is released exactly once, whoever closed it.
 */
export class ConnectionLimit {
  private readonly perIp = new Map<string, number>();

  constructor(private readonly max: number, private readonly core: () => ServerCore, private readonly logger: Logger) {}

  open(conn: number, addr: string, rport: number): boolean {
    const n = this.perIp.get(addr) ?? 0;
    if (this.max > 0 && n >= this.max) {
      this.logger.warn({ remote: addr, maxClientCnxns: this.max }, 'too many connections from one address: refused (raise maxClientCnxns in zoo.cfg if this is expected)');
      return false;
    }
    this.perIp.set(addr, n + 1);
    this.core().openConnection(conn, addr, rport, Date.now());
    return true;
  }

  closed(conn: number, addr: string): void {
    const n = (this.perIp.get(addr) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(addr); else this.perIp.set(addr, n);
    this.core().connectionClosed(conn);
  }
}

/** Logs the core's internal errors and writes its outputs, one corked batch per turn. */
export function writeOutputs(core: ServerCore, outputs: readonly Output[], port: ClientPort, logger: Logger, metrics: ServerMetrics | null = null, stats: RuntimeStats | null = null): void {
  for (const e of core.internalErrors.splice(0)) {
    metrics?.internalError();
    logger.error({ err: e }, 'internal error: the connection was closed; this is a bug in Ark, please report it with this log');
  }
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
      logger.debug({ conn: o.conn, reason: o.reason }, 'closing connection');
      port.close(o.conn);
    }
  }
  for (const conn of [...byConn.keys()]) send(conn);
  port.resumeReady();
}

/** The view of a running server for four-letter words and the AdminServer. */
export function serverView(opts: {
  config: ServerConfig;
  core: () => ServerCore;
  port: () => ClientPort;
  boundPort: () => number;
  serverId: number;
  mode: () => ServerView['mode'];
  extraMetrics: () => Array<[string, number]>;
  serving?: () => boolean;
  quorum?: ServerView['quorum'];
  stats: RuntimeStats;
  dataDir: DataDir;
  /** why clients are not served now; absent: `serving` decides */
  notReady?: () => string | null;
  ensemble?: EnsembleView;
}): ServerView {
  const { config } = opts;
  const startedAt = Date.now();
  const view: ServerView = {
    get core() { return opts.core(); },
    get mode() { return opts.mode(); },
    get config() {
      return {
        clientPort: opts.boundPort(), clientPortAddress: config.clientPortAddress ?? '0.0.0.0',
        dataDir: join(config.dataDir, DATA_SUBDIR), dataLogDir: join(config.dataLogDir, DATA_SUBDIR),
        tickTimeMs: config.tickTimeMs, maxClientCnxns: config.maxClientCnxns,
        minSessionTimeoutMs: config.minSessionTimeoutMs, maxSessionTimeoutMs: config.maxSessionTimeoutMs, serverId: opts.serverId,
      };
    },
    startedAt,
    remoteOf: (c) => opts.port().remoteOf(c),
    outstanding: (c) => opts.core().conns.get(c)?.queue.length ?? 0,
    dataDirBytes: () => dirBytes(join(config.dataDir, DATA_SUBDIR)),
    logDirBytes: () => dirBytes(join(config.dataLogDir, DATA_SUBDIR)),
    openFds: () => countFds(),
    maxFds: () => maxFds(),
    isAllowed: (cmd) => isFourLetterWordAllowed(config, cmd),
    extraMetrics: opts.extraMetrics,
    now: () => Date.now(),
    stats: opts.stats,
    traceMask: 0n,
    initialConfig: config.initialConfigText ?? null,
    zooCfgProperties: config.systemProperties,
    lastSnapshot: () => newestSnapshot(opts.dataDir),
    bytesReceived: () => opts.port().bytesReceived,
    reading: (c) => opts.port().reading(c),
    closeConnection: (c) => opts.port().close(c),
    notReadyReason: opts.notReady ?? (() => (opts.serving && !opts.serving() ? 'not serving clients' : null)),
  };
  if (opts.serving) view.serving = opts.serving;
  if (opts.quorum) view.quorum = opts.quorum;
  if (opts.ensemble) view.ensemble = opts.ensemble;
  return view;
}

/** ZooKeeper's last_snapshot: the newest snapshot file on disk (written, installed by SNAP or restored) and its mtime. */
function newestSnapshot(dataDir: DataDir): { zxid: number; timeMs: number } | null {
  for (const s of dataDir.snapshots()) {
    try {
      return { zxid: s.zxid, timeMs: statSync(s.file).mtimeMs };
    } catch { /* purged meanwhile: the next one */ }
  }
  return null;
}

/**
 * fsync times for mntr (zk_*_fsynctime) and ZooKeeper's slow-fsync warning: a txn-log fdatasync
 * over `zookeeper.fsync.warningthresholdms` (default 1000) is counted and logged. Chains onto a
 * hook already set (the Prometheus metrics').
 */
/**
 * The storage hooks both runtimes set the same way: each txn-log fsync and each snapshot goes to
 * mntr's figures and, when on, to /metrics; a slow fsync is counted and logged.
 */
export function observeStorage(log: FileTxnLog, snapshots: SnapshotRunner, o: { metrics: ServerMetrics | null; stats: RuntimeStats; config: ServerConfig; logger: Logger }): void {
  const { metrics, stats, logger } = o;
  const thresholdMs = numberProp(o.config, 'zookeeper.fsync.warningthresholdms', 1000);
  log.onFsync = (ms) => {
    metrics?.fsync(ms);
    stats.fsync.add(Math.round(ms));
    if (ms <= thresholdMs) return;
    stats.fsyncThresholdExceeded++;
    logger.warn({ ms: Math.round(ms), thresholdMs, dir: log.dir },
      'fsync of the txn log was slow: every write waits for it; put dataLogDir on a faster disk of its own, or raise fsync.warningthresholdms if this disk is expected to be slow');
  };
  if (metrics) snapshots.onSnapshot = (info) => metrics.snapshotWritten(info.ms);
  snapshots.stats = stats;
}

export type WrittenSnapshot = SnapshotInfo & { nodes: number; ms: number };

/**
 * One background snapshot at a time: written in slices while requests are served; the log rolls
 * first, so purge can drop the segments it replaces. `capturing` is the tree capture mutex that
 * backups share.
 */
export class SnapshotRunner {
  private run: { done: Promise<void>; abort: AbortController } | null = null;
  capturing: Promise<unknown> | null = null;
  last: WrittenSnapshot | null = null;
  /** called with each snapshot written (metrics: snapshottime) */
  onSnapshot: ((info: WrittenSnapshot) => void) | null = null;
  /** mntr's zk_*_snapshottime */
  stats: RuntimeStats | null = null;

  constructor(private readonly dataDir: DataDir, private readonly gzip: boolean, private readonly logger: Logger) {}

  get busy(): boolean {
    return this.run !== null || this.capturing !== null;
  }

  get done(): Promise<void> | undefined {
    return this.run?.done;
  }

  start(core: ServerCore, onWritten?: (info: WrittenSnapshot) => void): boolean {
    if (this.busy) return false;
    this.dataDir.log.roll();
    const abort = new AbortController();
    const done = this.dataDir.writeSnapshot(core.tree, core.sessionRecords(), { gzip: this.gzip, now: Date.now(), signal: abort.signal })
      .then((info) => {
        this.last = info;
        onWritten?.(info);
        this.onSnapshot?.(info);
        this.stats?.snapshot.add(info.ms);
        this.logger.info({ file: info.file, zxid: `0x${info.zxid.toString(16)}`, nodes: info.nodes, bytes: info.bytes, ms: info.ms }, 'snapshot written');
      }, (e: unknown) => {
        if (!abort.signal.aborted) this.logger.error({ err: (e as Error).message }, 'snapshot failed: the txn log still holds every write; check free space and permissions of dataDir (the next snapshot is tried after snapCount more txns)');
      })
      .finally(() => { this.run = null; this.capturing = null; });
    this.run = { done, abort };
    this.capturing = done;
    return true;
  }

  abort(): void {
    this.run?.abort.abort();
  }

  /** Waits until no capture (snapshot or backup) holds the tree. */
  async idle(): Promise<void> {
    while (this.capturing) await this.capturing.catch(() => undefined);
  }
}

/** autopurge: keep the newest snapshots and the log they need. */
export function purgeDataDir(dataDir: DataDir, keep: number, logger: Logger): void {
  try {
    const removed = dataDir.purge(keep);
    if (removed.length > 0) logger.info({ removed: removed.length, kept: keep }, 'autopurge removed old snapshots and log segments');
  } catch (e) {
    logger.error({ err: (e as Error).message }, 'autopurge failed: old snapshots and log segments stay; check permissions of dataDir and dataLogDir (purge runs again after autopurge.purgeInterval hours, or run ark purge)');
  }
}

/**
 * A connection stops being read while it has this many requests outstanding (ZooKeeper's
 * globalOutstandingLimit is 1000) or this many reply bytes unsent: a client that pipelines without
 * reading cannot grow the server's memory without bound.
 */
export const OUTSTANDING_PER_CONNECTION_MAX = 1000;
export const WRITE_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;

/** ZooKeeper's defaults: preAllocSize 64 MiB; a new segment at every snapshot (or at txnLogSizeLimitInKb). */
export const PREALLOC_KB_DEFAULT = 65536;
export const SEGMENT_BYTES_DEFAULT = 1024 * 1024 * 1024;

export function numberProp(config: ServerConfig, key: string, fallback: number): number {
  const v = Number(config.systemProperties.get(key));
  return Number.isFinite(v) && v > 0 ? v : fallback;
}


/** Bytes of the files in a data dir (mntr's zk_data_dir_size); the spare log segment is free space, not data. */
export function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const f of readdirSync(dir)) {
    if (f.startsWith(SPARE_SEGMENT)) continue;
    try { n += statSync(join(dir, f)).size; } catch { /* removed meanwhile */ }
  }
  return n;
}

export function countFds(): number {
  try { return readdirSync('/proc/self/fd').filter((f) => { try { readlinkSync(`/proc/self/fd/${f}`); return true; } catch { return false; } }).length; } catch { return 0; }
}

/** The soft limit on open files ("Max open files" in /proc/self/limits), 0 when unknown. */
export function maxFds(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const n = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(n) ? n : 0;
  } catch { return 0; }
}
