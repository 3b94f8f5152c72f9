// The read-only view of a running server that four-letter words and the AdminServer answer from,
// and the process and directory figures it reports.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerCore } from '../server/core.js';
import type { ClientPort } from '../net/clientport.js';
import { DATA_SUBDIR, SPARE_SEGMENT } from '../storage/filelog.js';
import type { DataDir } from '../storage/datadir.js';
import type { EnsembleView, RuntimeStats, ServerView } from '../admin/fourletter.js';
import { isFourLetterWordAllowed, type ServerConfig } from '../config/serverconfig.js';

/** The view of a running server for four-letter words and the AdminServer. */
export function serverView(opts: {
  config: ServerConfig;
  core: () => ServerCore;
  port: () => ClientPort;
  boundPort: () => number;
  /** the secure client port, -1 without one (ZooKeeper's getSecureClientPort) */
  boundSecurePort: () => number;
  serverId: number;
  mode: () => ServerView['mode'];
  extraMetrics: () => Array<[string, number]>;
  serving?: () => boolean;
  quorum?: ServerView['quorum'];
  stats: RuntimeStats;
  dataDir: DataDir;
  /** why clients are not served now; absent: `serving` decides */
  notReady?: () => string | null;
  loading?: () => boolean;
  ensemble?: EnsembleView;
}): ServerView {
  const { config } = opts;
  const startedAt = Date.now();
  const view: ServerView = {
    get core() {
      return opts.core();
    },
    get mode() {
      return opts.mode();
    },
    get config() {
      return {
        clientPort: opts.boundPort(),
        secureClientPort: opts.boundSecurePort(),
        clientPortAddress: config.clientPortAddress ?? '0.0.0.0',
        dataDir: join(config.dataDir, DATA_SUBDIR),
        dataLogDir: join(config.dataLogDir, DATA_SUBDIR),
        tickTimeMs: config.tickTimeMs,
        maxClientCnxns: config.maxClientCnxns,
        minSessionTimeoutMs: config.minSessionTimeoutMs,
        maxSessionTimeoutMs: config.maxSessionTimeoutMs,
        serverId: opts.serverId,
      };
    },
    startedAt,
    remoteOf: (c) => opts.port().remoteOf(c),
    onSecurePort: (c) => opts.port().onSecurePort(c),
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
  if (opts.loading) view.loading = opts.loading;
  if (opts.quorum) view.quorum = opts.quorum;
  if (opts.ensemble) view.ensemble = opts.ensemble;
  return view;
}

/** ZooKeeper's last_snapshot: the newest snapshot file on disk (written, installed by SNAP or restored) and its mtime. */
function newestSnapshot(dataDir: DataDir): { zxid: number; timeMs: number } | null {
  for (const s of dataDir.snapshots()) {
    try {
      return { zxid: s.zxid, timeMs: statSync(s.file).mtimeMs };
    } catch {
      /* purged meanwhile: the next one */
    }
  }
  return null;
}

/** Bytes of the files in a data dir (mntr's zk_data_dir_size); the spare log segment is free space, not data. */
export function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const f of readdirSync(dir)) {
    if (f.startsWith(SPARE_SEGMENT)) continue;
    try {
      n += statSync(join(dir, f)).size;
    } catch {
      /* removed meanwhile */
    }
  }
  return n;
}

export function countFds(): number {
  try {
    return readdirSync('/proc/self/fd').filter((f) => {
      try {
        readlinkSync(`/proc/self/fd/${f}`);
        return true;
      } catch {
        return false;
      }
    }).length;
  } catch {
    return 0;
  }
}

/** The soft limit on open files ("Max open files" in /proc/self/limits), 0 when unknown. */
export function maxFds(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const n = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}
