// zoo.cfg -> Ark's typed ServerConfig, the way ZooKeeper's QuorumPeerConfig and the system
// properties it sets interpret the file (the text itself is read by properties.ts).
//
// This module is pure: it takes text / maps and returns data. No fs, no process.

import * as path from 'node:path';
import { ConfigError } from './error.js';
import { classifyKey, isQuorumKey, systemPropertyName, ZK_PREFIX } from './keys.js';
import { checkPort, decodeJavaInt, decodeJavaLong, javaParseBoolean, javaTrim, parseJavaInt, parseJavaLong, strictBoolean } from './javavalues.js';
import { parseProperties } from './properties.js';
import type { BackupConfig, PrometheusConfig, ServerConfig } from './serverconfig.js';
import { parseRole, parseServerLine, type PeerRole, type QuorumServerSpec } from './serverline.js';

export interface ResolveOptions {
  /** Directory that relative dataDir / dataLogDir are resolved against (usually the config file's directory). */
  baseDir?: string | undefined;
  /** This server's id (ZooKeeper's myid); selects the server.N entry whose client address applies. */
  myid?: number | undefined;
}

export interface ResolvedConfig {
  config: ServerConfig;
  warnings: string[];
}

export const DEFAULT_TICK_TIME_MS = 3000;
export const DEFAULT_MAX_CLIENT_CNXNS = 60;
export const DEFAULT_JUTE_MAX_BUFFER = 0xfffff;
export const DEFAULT_ADMIN_SERVER_PORT = 8080;
export const DEFAULT_ADMIN_SERVER_ADDRESS = '0.0.0.0';
export const DEFAULT_SNAP_COUNT = 100000;
export const MIN_SNAP_RETAIN_COUNT = 3;
export const DEFAULT_CONTAINER_CHECK_INTERVAL_MS = 60000;
export const DEFAULT_INIT_LIMIT = 10;
/** ZooKeeper's FilePadding default: 64 MiB (zookeeper.preAllocSize is in KB) */
export const DEFAULT_PREALLOC_KB = 65536;
/** without zookeeper.txnLogSizeLimitInKb (ZooKeeper: no limit) a segment rolls at every snapshot, or at 1 GiB */
export const DEFAULT_TXN_LOG_SEGMENT_BYTES = 1024 * 1024 * 1024;
/** ZKDatabase's default zookeeper.commitLogCount */
export const DEFAULT_COMMIT_LOG_COUNT = 500;
/** FileTxnLog's default zookeeper.fsync.warningthresholdms */
export const DEFAULT_FSYNC_WARNING_THRESHOLD_MS = 1000;
/** backup.archiveIntervalMs: the newest committed txns reach the archive within a minute */
export const DEFAULT_ARCHIVE_INTERVAL_MS = 60000;
export const DEFAULT_SYNC_LIMIT = 5;
/** metricsProvider.className values that turn the Prometheus endpoint on (ZooKeeper's class, or Ark's short name). */
export const PROMETHEUS_PROVIDER_CLASS = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
/** ZooKeeper's providers without an endpoint (the default one feeds only mntr): metrics stay off, quietly. */
const ENDPOINTLESS_PROVIDER_CLASSES = ['org.apache.zookeeper.metrics.impl.DefaultMetricsProvider', 'org.apache.zookeeper.metrics.impl.NullMetricsProvider'];
export const DEFAULT_METRICS_HTTP_PORT = 7000;
export const DEFAULT_METRICS_HTTP_HOST = '0.0.0.0';
/** Four-letter words enabled when 4lw.commands.whitelist is not set. */
export const DEFAULT_FOUR_LETTER_WHITELIST: readonly string[] = ['srvr'];

/**
 * The configuration `ark server` uses when given no config file: a standalone
 * server on localhost:2181 keeping its data in ./data (relative to baseDir).
 */
export const DEFAULT_CONFIG_TEXT = `# Ark built-in default configuration (used by \`ark server\` without a config file).
# A standalone server listening on localhost only.

# The length of one tick in milliseconds; session timeouts are bounded by
# 2 and 20 ticks unless minSessionTimeout / maxSessionTimeout are set.
tickTime=2000
# Where snapshots and transaction logs are kept (relative to the base directory).
dataDir=./data
# Where clients connect.
clientPort=2181
clientPortAddress=127.0.0.1
# ZooKeeper enables its HTTP AdminServer (port 8080) by default. Ark's built-in
# default keeps it off for now; set admin.enableServer=true in a zoo.cfg to use it.
admin.enableServer=false
# Allow all four-letter-word commands (ruok, stat, mntr, ...).
4lw.commands.whitelist=*
`;

function resolveDir(dir: string, baseDir: string | undefined): string {
  if (baseDir === undefined || path.isAbsolute(dir)) return dir;
  return path.join(baseDir, dir);
}

/**
 * Turns zoo.cfg properties into Ark's typed configuration the way ZooKeeper's
 * QuorumPeerConfig does: keys and values are trimmed; QuorumPeerConfig's own
 * keys are parsed directly; every other key becomes a "zookeeper."-prefixed
 * system property (collected in systemProperties), from which the system
 * property driven settings (4lw whitelist, admin server, snapCount, ...) are
 * read. Keys Ark does not act on produce one warning each; unknown keys never
 * throw. Invalid values throw ConfigError naming the key.
 */
export function resolveConfig(props: Map<string, string>, opts: ResolveOptions = {}): ResolvedConfig {
  const warnings: string[] = [];
  const baseDir = opts.baseDir;

  // Trim as QuorumPeerConfig does; later entries win.
  const entries = new Map<string, string>();
  for (const [k, v] of props) entries.set(javaTrim(k), javaTrim(v));

  const systemProperties = new Map<string, string>();
  const sysOrigin = new Map<string, string>(); // system property name -> key as written
  const quorum = new Map<string, string>();
  const serverLines: Array<[string, string]> = [];

  for (const [key, value] of entries) {
    const cls = classifyKey(key);
    if (isQuorumKey(key)) {
      if (key.startsWith('server.')) serverLines.push([key, value]);
      else quorum.set(key, value);
      if (cls === 'unhonoured') warnings.push(`${key}: accepted but not supported by Ark yet; ignored`);
      continue;
    }
    const sysName = systemPropertyName(key);
    systemProperties.set(sysName, value);
    sysOrigin.set(sysName, key);
    if (cls === 'unhonoured') {
      warnings.push(`${key}: accepted but not supported by Ark yet; ignored (system property ${sysName})`);
    } else if (cls === 'unknown') {
      warnings.push(`${key}: unknown key; kept as system property ${sysName} and otherwise ignored`);
    }
  }

  const q = (k: string): string | undefined => quorum.get(k);
  const sys = (bare: string): string | undefined => systemProperties.get(ZK_PREFIX + bare);
  /** The key as written in the file for a system-property setting (for error messages). */
  const sysKey = (bare: string): string => sysOrigin.get(ZK_PREFIX + bare) ?? bare;

  // --- QuorumPeerConfig keys -------------------------------------------------
  const dataDirRaw = q('dataDir');
  if (dataDirRaw === undefined || dataDirRaw === '') throw new ConfigError('dataDir', 'dataDir is not set');
  const dataDir = resolveDir(dataDirRaw, baseDir);
  const dataLogDirRaw = q('dataLogDir');
  const dataLogDir = dataLogDirRaw !== undefined && dataLogDirRaw !== '' ? resolveDir(dataLogDirRaw, baseDir) : dataDir;

  const intKey = (k: string): number | undefined => {
    const v = q(k);
    return v === undefined ? undefined : parseJavaInt(k, v);
  };

  const tickTimeMs = intKey('tickTime') ?? DEFAULT_TICK_TIME_MS;
  if (tickTimeMs <= 0) throw new ConfigError('tickTime', `Invalid value for tickTime: '${q('tickTime') ?? ''}' must be positive`);

  let clientPort: number | undefined;
  const clientPortRaw = q('clientPort');
  if (clientPortRaw !== undefined) {
    const p = checkPort('clientPort', clientPortRaw, parseJavaInt('clientPort', clientPortRaw));
    clientPort = p === 0 ? undefined : p; // 0 means "not set" in ZooKeeper
  }
  let clientPortAddress = q('clientPortAddress');
  if (clientPortAddress === '') clientPortAddress = undefined;
  if (clientPortAddress !== undefined && clientPort === undefined) {
    throw new ConfigError('clientPortAddress', `clientPortAddress is set (${clientPortAddress}) but clientPort is not set`);
  }

  const maxClientCnxns = intKey('maxClientCnxns') ?? DEFAULT_MAX_CLIENT_CNXNS;
  const minRaw = intKey('minSessionTimeout') ?? -1;
  const maxRaw = intKey('maxSessionTimeout') ?? -1;
  const minSessionTimeoutMs = minRaw === -1 ? tickTimeMs * 2 : minRaw;
  const maxSessionTimeoutMs = maxRaw === -1 ? tickTimeMs * 20 : maxRaw;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError(
      'minSessionTimeout',
      `minSessionTimeout (${minSessionTimeoutMs} ms) must not be larger than maxSessionTimeout (${maxSessionTimeoutMs} ms)`,
    );
  }

  let initLimit = intKey('initLimit');
  let syncLimit = intKey('syncLimit');

  let peerType: PeerRole = 'participant';
  const peerTypeRaw = q('peerType');
  if (peerTypeRaw !== undefined) peerType = parseRole('peerType', peerTypeRaw);

  const strictBooleanOr = (k: string, dflt: boolean): boolean => {
    const v = q(k);
    return v === undefined ? dflt : strictBoolean(k, v);
  };
  const localSessionsEnabled = strictBooleanOr('localSessionsEnabled', false);
  const standaloneEnabled = strictBooleanOr('standaloneEnabled', true);
  const reconfigEnabled = strictBooleanOr('reconfigEnabled', false);

  let autopurgeSnapRetainCount = intKey('autopurge.snapRetainCount') ?? MIN_SNAP_RETAIN_COUNT;
  if (autopurgeSnapRetainCount < MIN_SNAP_RETAIN_COUNT) {
    warnings.push(
      `autopurge.snapRetainCount: ${autopurgeSnapRetainCount} is below the minimum; using ${MIN_SNAP_RETAIN_COUNT}`,
    );
    autopurgeSnapRetainCount = MIN_SNAP_RETAIN_COUNT;
  }
  const autopurgePurgeIntervalHours = intKey('autopurge.purgeInterval') ?? 0;

  // --- server.N ----------------------------------------------------------------
  if (serverLines.length > 0 && quorum.has('dynamicConfigFile')) {
    const first = serverLines[0]?.[0] ?? 'server.N';
    throw new ConfigError(first, `${first} must be in the dynamic config file when dynamicConfigFile is set`);
  }
  const servers: QuorumServerSpec[] = [];
  for (const [key, value] of serverLines) {
    const id = parseJavaLong(key, key.slice('server.'.length));
    const parsed = parseServerLine(id, value, { key, multiAddressEnabled: strictBooleanOr('multiAddress.enabled', false) });
    warnings.push(...parsed.warnings);
    const dup = servers.findIndex((s) => s.id === id);
    if (dup >= 0) servers.splice(dup, 1); // e.g. "server.1" and "server.01": the later line wins
    servers.push(parsed.server);
  }
  servers.sort((a, b) => a.id - b.id);

  if (servers.length > 0) {
    if (initLimit === undefined) {
      initLimit = DEFAULT_INIT_LIMIT;
      warnings.push(`initLimit: not set although servers are listed; using ${DEFAULT_INIT_LIMIT}`);
    }
    if (syncLimit === undefined) {
      syncLimit = DEFAULT_SYNC_LIMIT;
      warnings.push(`syncLimit: not set although servers are listed; using ${DEFAULT_SYNC_LIMIT}`);
    }
  }

  if (opts.myid !== undefined && servers.length > 0) {
    const self = servers.find((s) => s.id === opts.myid);
    if (self === undefined) {
      warnings.push(`myid ${opts.myid} is not among the server.N entries`);
    } else {
      const key = `server.${self.id}`;
      if (self.clientPort !== undefined) {
        if (clientPort !== undefined) {
          const wildcard = clientPortAddress === undefined || clientPortAddress === '0.0.0.0' || clientPortAddress === '::';
          const sameAddr = wildcard || clientPortAddress === (self.clientAddress ?? '0.0.0.0');
          if (clientPort !== self.clientPort || !sameAddr) {
            throw new ConfigError(
              key,
              `client address ${clientPortAddress ?? '0.0.0.0'}:${clientPort} from clientPort/clientPortAddress differs from the one in ${key} (${self.clientAddress ?? '0.0.0.0'}:${self.clientPort})`,
            );
          }
        }
        clientPort = self.clientPort;
        if (self.clientAddress !== undefined) clientPortAddress = self.clientAddress;
      }
      if (peerTypeRaw !== undefined && peerType !== self.role) {
        warnings.push(`peerType (${peerType}) does not match the role in ${key} (${self.role}); using ${self.role}`);
      }
      peerType = self.role;
    }
  }

  if (opts.myid === undefined && clientPort === undefined && servers.some((s) => s.clientPort !== undefined)) {
    warnings.push('clientPort: not set; server.N entries give client ports but this server\'s id (myid) is not known');
  }

  const voters = servers.filter((s) => s.role === 'participant').length;
  const distributed = servers.length > 0 && (!standaloneEnabled || voters > 1);
  const firstObserver = servers.find((s) => s.role === 'observer');
  if (!distributed && firstObserver !== undefined) {
    throw new ConfigError(`server.${firstObserver.id}`, `observers without a quorum (${voters} participant) are an invalid configuration`);
  }

  // --- system-property driven settings ------------------------------------------
  const sysInt = (bare: string, dflt: number): number => {
    const v = sys(bare);
    return v === undefined ? dflt : decodeJavaInt(sysKey(bare), v);
  };

  const juteMaxBufferBytes = sysInt('jute.maxbuffer', DEFAULT_JUTE_MAX_BUFFER);
  if (juteMaxBufferBytes <= 0) {
    const k = sysKey('jute.maxbuffer');
    throw new ConfigError(k, `Invalid value for ${k}: '${sys('jute.maxbuffer') ?? ''}' must be positive`);
  }

  const fourLetterWhitelist = new Set<string>();
  const wl = sys('4lw.commands.whitelist');
  if (wl === undefined) {
    for (const c of DEFAULT_FOUR_LETTER_WHITELIST) fourLetterWhitelist.add(c);
  } else {
    for (const part of wl.split(',')) {
      const c = javaTrim(part);
      if (c !== '') fourLetterWhitelist.add(c);
    }
  }

  const adminEnabled = javaParseBoolean(sys('admin.enableServer') ?? 'true');
  const adminPortRaw = sys('admin.serverPort');
  const adminServerPort =
    adminPortRaw === undefined
      ? DEFAULT_ADMIN_SERVER_PORT
      : checkPort(sysKey('admin.serverPort'), adminPortRaw, decodeJavaInt(sysKey('admin.serverPort'), adminPortRaw));
  const adminServerAddress = sys('admin.serverAddress') || DEFAULT_ADMIN_SERVER_ADDRESS;
  const extendedTypesEnabled = javaParseBoolean(sys('extendedTypesEnabled'));
  const superDigestRaw = sys('DigestAuthenticationProvider.superDigest');
  const superDigest = superDigestRaw === undefined || superDigestRaw === '' ? undefined : superDigestRaw;

  let snapCount = sysInt('snapCount', DEFAULT_SNAP_COUNT);
  if (snapCount < 2) {
    warnings.push(`${sysKey('snapCount')}: ${snapCount} is below the minimum; using 2`);
    snapCount = 2;
  }

  const forceSyncRaw = sys('forceSync');
  const forceSync = forceSyncRaw !== 'no';
  if (forceSyncRaw !== undefined && forceSyncRaw !== 'yes' && forceSyncRaw !== 'no') {
    warnings.push(`${sysKey('forceSync')}: '${forceSyncRaw}' is neither 'yes' nor 'no'; only 'no' disables it, so forceSync stays on`);
  }

  const containerCheckIntervalMs = sysInt('znode.container.checkIntervalMs', DEFAULT_CONTAINER_CHECK_INTERVAL_MS);
  if (containerCheckIntervalMs <= 0) {
    const k = sysKey('znode.container.checkIntervalMs');
    throw new ConfigError(k, `Invalid value for ${k}: '${sys('znode.container.checkIntervalMs') ?? ''}' must be positive`);
  }
  const enforceQuota = javaParseBoolean(sys('enforceQuota'));
  const prometheus = prometheusConfig(q, warnings);
  const storage = storageSettings({ sys, sysKey }, distributed, warnings);
  const backup = backupSettings({ sys, sysKey }, baseDir, warnings);

  const config: ServerConfig = {
    tickTimeMs,
    dataDir,
    dataLogDir,
    clientPort,
    clientPortAddress,
    maxClientCnxns,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    juteMaxBufferBytes,
    fourLetterWhitelist,
    adminEnabled,
    adminServerPort,
    adminServerAddress,
    extendedTypesEnabled,
    superDigest,
    snapCount,
    forceSync,
    autopurgeSnapRetainCount,
    autopurgePurgeIntervalHours,
    initLimit,
    syncLimit,
    servers,
    peerType,
    distributed,
    containerCheckIntervalMs,
    enforceQuota,
    localSessionsEnabled,
    standaloneEnabled,
    reconfigEnabled,
    systemProperties,
    prometheus,
    ...storage,
    backup,
  };
  return { config, warnings };
}

/** Reads the system-property settings of zoo.cfg: the value of a bare key, and the key as the file spelt it. */
interface SysProps {
  sys(bare: string): string | undefined;
  sysKey(bare: string): string;
}

/**
 * A number setting read as Java reads it (Long.decode: decimal, 0x hex, leading-0 octal) and
 * checked against `min`; absent gives `dflt`. A bad value stops start-up naming the key, where
 * ZooKeeper would log a warning and go on with its default (FilePadding, FileTxnLog): a setting
 * that is accepted must be honoured.
 */
function longSetting(p: SysProps, bare: string, dflt: number, min: number, what: string): number {
  const raw = p.sys(bare);
  if (raw === undefined) return dflt;
  const key = p.sysKey(bare);
  const n = decodeJavaLong(key, raw);
  if (n < min) throw new ConfigError(key, `Invalid value for ${key}: '${raw}' must be ${what}`);
  return n;
}

/** The txn log's and snapshots' settings (ZooKeeper's FilePadding, FileTxnLog, ZKDatabase, SnapStream). */
function storageSettings(p: SysProps, distributed: boolean, warnings: string[]): Pick<ServerConfig,
  'preAllocBytes' | 'txnLogSegmentBytes' | 'commitLogCount' | 'snapshotCompression' | 'fsyncWarningThresholdMs'> {
  const preAllocKb = longSetting(p, 'preAllocSize', DEFAULT_PREALLOC_KB, 1, 'a positive number of KB');
  // ZooKeeper: -1 (its default) or any value <= 0 means no size limit
  const limitKb = longSetting(p, 'txnLogSizeLimitInKb', -1, Number.MIN_SAFE_INTEGER, 'a number of KB');
  const commitLogCount = longSetting(p, 'commitLogCount', DEFAULT_COMMIT_LOG_COUNT, 0, 'zero or more');
  if (!distributed && p.sys('commitLogCount') !== undefined) {
    warnings.push(`${p.sysKey('commitLogCount')}: applies to ensemble members only (the txns kept in memory for followers); ignored by a standalone server`);
  }
  const fsyncWarningThresholdMs = longSetting(p, 'fsync.warningthresholdms', DEFAULT_FSYNC_WARNING_THRESHOLD_MS, 0, 'zero or more milliseconds');
  return {
    preAllocBytes: preAllocKb * 1024,
    txnLogSegmentBytes: limitKb > 0 ? limitKb * 1024 : DEFAULT_TXN_LOG_SEGMENT_BYTES,
    commitLogCount,
    snapshotCompression: snapshotCompression(p),
    fsyncWarningThresholdMs,
  };
}

/** SnapStream's modes: "gz", "snappy", or none ("" / unset). */
function snapshotCompression(p: SysProps): 'gz' | null {
  const raw = p.sys('snapshot.compression.method');
  if (raw === undefined || raw === '') return null;
  const key = p.sysKey('snapshot.compression.method');
  if (raw === 'gz') return 'gz';
  if (raw === 'snappy') throw new ConfigError(key, `${key}=snappy is not supported by Ark; use gz, or leave it unset for uncompressed snapshots`);
  throw new ConfigError(key, `Invalid value for ${key}: '${raw}'; choose gz, or leave it unset for uncompressed snapshots`);
}

/** backup.*: Ark's continuous archive; every other backup.* key needs backup.archiveDir. */
function backupSettings(p: SysProps, baseDir: string | undefined, warnings: string[]): BackupConfig | null {
  const others = ['backup.archiveIntervalMs', 'backup.intervalMs', 'backup.retainCount', 'backup.retainHours'];
  const dirRaw = p.sys('backup.archiveDir');
  if (dirRaw === undefined || dirRaw === '') {
    for (const k of others) {
      if (p.sys(k) !== undefined) warnings.push(`${p.sysKey(k)}: ignored, backup.archiveDir is not set (no archive, no scheduled backups)`);
    }
    return null;
  }
  const archiveIntervalMs = longSetting(p, 'backup.archiveIntervalMs', DEFAULT_ARCHIVE_INTERVAL_MS, 1, 'a positive number of milliseconds');
  const intervalMs = longSetting(p, 'backup.intervalMs', 0, 0, 'zero (no scheduled backups) or a positive number of milliseconds');
  const retainCount = longSetting(p, 'backup.retainCount', 0, 0, 'zero (no count limit) or a positive number of backups');
  const hoursRaw = p.sys('backup.retainHours');
  let retainHours = 0;
  if (hoursRaw !== undefined) {
    const key = p.sysKey('backup.retainHours');
    retainHours = /^[0-9]+(\.[0-9]+)?$/.test(hoursRaw) ? Number(hoursRaw) : Number.NaN;
    if (!Number.isFinite(retainHours)) throw new ConfigError(key, `Invalid value for ${key}: '${hoursRaw}' must be zero (no age limit) or a positive number of hours`);
  }
  return { archiveDir: resolveDir(dirRaw, baseDir), archiveIntervalMs, intervalMs, retainCount, retainHours };
}

/**
 * metricsProvider.*: PrometheusMetricsProvider reads httpHost (default 0.0.0.0), httpPort (Integer.parseInt,
 * default 7000 as in ZooKeeper 3.6-3.8) and exportJvmInfo (Boolean.parseBoolean, default true).
 */
function prometheusConfig(q: (k: string) => string | undefined, warnings: string[]): PrometheusConfig | null {
  const className = q('metricsProvider.className');
  const on = className !== undefined && (className === PROMETHEUS_PROVIDER_CLASS || className.toLowerCase() === 'prometheus');
  if (!on) {
    if (className !== undefined && className !== '' && !ENDPOINTLESS_PROVIDER_CLASSES.includes(className)) {
      warnings.push(`metricsProvider.className: '${className}' is not a metrics provider Ark has (${PROMETHEUS_PROVIDER_CLASS}, or 'prometheus'); no metrics endpoint`);
    }
    for (const k of ['metricsProvider.httpHost', 'metricsProvider.httpPort', 'metricsProvider.exportJvmInfo']) {
      if (q(k) !== undefined) warnings.push(`${k}: ignored, metricsProvider.className does not name ${PROMETHEUS_PROVIDER_CLASS}`);
    }
    return null;
  }
  const portRaw = q('metricsProvider.httpPort');
  const httpPort = portRaw === undefined ? DEFAULT_METRICS_HTTP_PORT : checkPort('metricsProvider.httpPort', portRaw, parseJavaInt('metricsProvider.httpPort', portRaw));
  const httpHost = q('metricsProvider.httpHost') || DEFAULT_METRICS_HTTP_HOST;
  return { httpHost, httpPort, exportProcessMetrics: javaParseBoolean(q('metricsProvider.exportJvmInfo') ?? 'true') };
}

/** parseProperties + resolveConfig. */
export function parseZooCfg(text: string, opts: ResolveOptions = {}): ResolvedConfig {
  const resolved = resolveConfig(parseProperties(text), opts);
  resolved.config.initialConfigText = text;
  return resolved;
}
