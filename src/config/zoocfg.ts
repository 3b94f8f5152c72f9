// zoo.cfg support: a java.util.Properties-compatible parser and the mapping from
// properties to Ark's typed server configuration, following the way ZooKeeper's
// QuorumPeerConfig and the system properties it sets are interpreted.
//
// This module is pure: it takes text / maps and returns data. No fs, no process.

import * as path from 'node:path';
import { formatHostPort } from '../util/hostport.js';

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** A configuration problem tied to one key of the configuration. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.key = key;
  }
}

// ---------------------------------------------------------------------------
// java.util.Properties load() rules
// ---------------------------------------------------------------------------

/** Whitespace as Properties understands it: space, tab and form feed. */
function isPropsWhitespace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\f';
}

function stripLeadingPropsWhitespace(s: string): string {
  let i = 0;
  while (i < s.length && isPropsWhitespace(s[i])) i++;
  return i === 0 ? s : s.slice(i);
}

function countTrailingBackslashes(s: string): number {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n;
}

/**
 * Splits text into Properties "logical lines": comments and blank lines are
 * dropped, continuation lines (odd number of trailing backslashes) are joined
 * with the leading whitespace of each continuation line removed. Escapes are
 * left in place.
 *
 * Two corner cases follow what Java's Properties does (checked against it):
 * a continuation that leaves the logical line still empty makes the next
 * natural line a fresh line (so it can be a comment or blank); and a trailing
 * backslash on the last line of the input still yields a (possibly empty) line.
 */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let buf: string | null = null; // logical line being assembled
  // Each match is one natural line and its terminator ('' only at the end of the input).
  const re = /([^\r\n]*)(\r\n|\r|\n|$)/g;
  let atEnd = text.length === 0;
  while (!atEnd) {
    const m = re.exec(text);
    if (m === null) break;
    const eol = m[2] ?? '';
    atEnd = re.lastIndex >= text.length;
    const s = stripLeadingPropsWhitespace(m[1] ?? '');
    if (buf === null) {
      if (s === '') continue; // blank line
      if (s[0] === '#' || s[0] === '!') continue; // comment line
      buf = '';
    } else if (s === '') {
      out.push(buf); // an empty continuation line ends the logical line
      buf = null;
      continue;
    }
    if (countTrailingBackslashes(s) % 2 === 1) {
      buf += s.slice(0, -1);
      if (atEnd && eol.length < 2) {
        // Backslash on the input's last line (no terminator, or a one-character
        // terminator that is the input's last character): the line is complete.
        out.push(buf);
        buf = null;
      } else if (buf === '') {
        buf = null; // nothing collected yet: the next natural line starts afresh
      }
      continue;
    }
    out.push(buf + s);
    buf = null;
  }
  if (buf !== null && buf !== '') out.push(buf);
  return out;
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Resolves Properties escapes in one key or value. */
function unescapeProps(s: string, keyForErrors: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i++] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[i++];
    if (e === undefined) break; // cannot happen after logicalLines(); be safe
    switch (e) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        const hex = s.slice(i, i + 4);
        if (hex.length !== 4 || ![...hex].every(isHexDigit)) {
          throw new ConfigError(keyForErrors, `Malformed \\uxxxx encoding in properties text (key '${keyForErrors}')`);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default: out += e; // \<other> is the character itself
    }
  }
  return out;
}

/** Splits one logical line into its (still escaped) key and value. */
function splitKeyValue(line: string): [string, string] {
  let keyLen = 0;
  let valueStart = line.length;
  let hasSep = false;
  let precedingBackslash = false;
  while (keyLen < line.length) {
    const c = line[keyLen];
    if (!precedingBackslash && (c === '=' || c === ':')) {
      valueStart = keyLen + 1;
      hasSep = true;
      break;
    }
    if (!precedingBackslash && isPropsWhitespace(c)) {
      valueStart = keyLen + 1;
      break;
    }
    precedingBackslash = c === '\\' ? !precedingBackslash : false;
    keyLen++;
  }
  while (valueStart < line.length) {
    const c = line[valueStart];
    if (!isPropsWhitespace(c)) {
      if (!hasSep && (c === '=' || c === ':')) hasSep = true;
      else break;
    }
    valueStart++;
  }
  return [line.slice(0, keyLen), line.slice(valueStart)];
}

/**
 * Parses text with the rules of java.util.Properties#load: \n, \r and \r\n line
 * ends; '#' and '!' comment lines; key ends at the first unescaped '=', ':' or
 * whitespace; continuation lines; escapes \t \n \r \f \uXXXX and \x = x. Later
 * keys override earlier ones (the Map keeps first-insertion order).
 *
 * Keys and values are returned exactly as Properties would (values are not
 * trimmed; resolveConfig trims as ZooKeeper does). Note that ZooKeeper reads
 * zoo.cfg through an InputStream, i.e. as ISO-8859-1; decoding the file is the
 * caller's business.
 *
 * Throws ConfigError for a malformed \uXXXX escape (Properties throws too).
 */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of logicalLines(text)) {
    const [rawKey, rawValue] = splitKeyValue(line);
    const key = unescapeProps(rawKey, rawKey);
    const value = unescapeProps(rawValue, key);
    props.set(key, value);
  }
  return props;
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/**
 * Keys that ZooKeeper's QuorumPeerConfig handles itself (they never become
 * system properties). Everything else becomes the system property
 * "zookeeper.<key>" (or "<key>" when it already starts with "zookeeper.").
 */
const QUORUM_HONOURED = [
  'dataDir',
  'dataLogDir',
  'clientPort',
  'clientPortAddress',
  'tickTime',
  'maxClientCnxns',
  'minSessionTimeout',
  'maxSessionTimeout',
  'initLimit',
  'syncLimit',
  'peerType',
  'localSessionsEnabled',
  'standaloneEnabled',
  'reconfigEnabled',
  'autopurge.snapRetainCount',
  'autopurge.purgeInterval',
  // the Prometheus endpoint (PrometheusMetricsProvider's settings); other metricsProvider.* keys are not acted on
  'metricsProvider.className',
  'metricsProvider.httpHost',
  'metricsProvider.httpPort',
  'metricsProvider.exportJvmInfo',
] as const;

const QUORUM_UNHONOURED = [
  'secureClientPort',
  'secureClientPortAddress',
  'observerMasterPort',
  'clientPortListenBacklog',
  'connectToLearnerMasterLimit',
  'electionAlg',
  'quorumListenOnAllIPs',
  'syncEnabled',
  'dynamicConfigFile',
  'localSessionsUpgradingEnabled',
  'sslQuorum',
  'portUnification',
  'sslQuorumReloadCertFiles',
  'quorum.auth.enableSasl',
  'quorum.auth.learnerRequireSasl',
  'quorum.auth.serverRequireSasl',
  'quorum.auth.learner.saslLoginContext',
  'quorum.auth.server.saslLoginContext',
  'quorum.auth.kerberos.servicePrincipal',
  'quorum.cnxn.threads.size',
  'multiAddress.enabled',
  'multiAddress.reachabilityCheckTimeoutMs',
  'multiAddress.reachabilityCheckEnabled',
  'oraclePath',
  'jvm.pause.info-threshold.ms',
  'jvm.pause.warn-threshold.ms',
  'jvm.pause.sleep-time.ms',
  'jvm.pause.monitor',
] as const;

/** Prefixes of keys QuorumPeerConfig handles itself and Ark does not act on. */
const QUORUM_UNHONOURED_PREFIXES = ['metricsProvider.', 'group.', 'weight.', 'quorum.auth.', 'jvm.pause.'] as const;

/**
 * Keys ZooKeeper passes on as system properties and that Ark acts on. Written
 * without the "zookeeper." prefix; both spellings are accepted in zoo.cfg.
 */
const SYSTEM_HONOURED = [
  'jute.maxbuffer',
  '4lw.commands.whitelist',
  'admin.enableServer',
  'admin.serverPort',
  'admin.serverAddress',
  'extendedTypesEnabled',
  'DigestAuthenticationProvider.superDigest',
  'snapCount',
  'commitLogCount',
  'forceSync',
  'znode.container.checkIntervalMs',
  'enforceQuota',
  'preAllocSize',
  'txnLogSizeLimitInKb',
  'snapshot.compression.method',
  // a slower txn-log fsync is counted (mntr zk_fsync_threshold_exceed_count) and logged
  'fsync.warningthresholdms',
  // Ark's own: continuous archiving and scheduled backups
  'backup.archiveDir',
  'backup.archiveIntervalMs',
  'backup.intervalMs',
  'backup.retainCount',
  'backup.retainHours',
] as const;

/** System-property keys ZooKeeper understands and Ark does not act on (yet). */
const SYSTEM_UNHONOURED = [
  'serverCnxnFactory',
  'audit.enable',
  'admin.commandURL',
  'admin.idleTimeout',
  'admin.portUnification',
  'admin.forceHttps',
  'admin.needClientAuth',
  'globalOutstandingLimit',
  'leaderServes',
  'traceFile',
  'skipACL',
  'cnxTimeout',
  
  'snapSizeLimitInKb',
  'maxResponseCacheSize',
  'maxGetChildrenResponseCacheSize',
  'maxCnxns',
  'requestThrottleLimit',
  'requestThrottleStallTime',
  'requestThrottleDropStale',
  'request_throttler.shutdownTimeout',
  'largeRequestMaxBytes',
  'largeRequestThreshold',
  'digest.enabled',
  'znode.container.maxPerMinute',
  'znode.container.maxNeverUsedIntervalMs',
  'flushDelay',
  'maxWriteQueuePollTime',
  'maxBatchSize',
  'snapshot.trust.empty',
  'sessionRequireClientSASLAuth',
  'enforce.auth.enabled',
  'enforce.auth.schemes',
  'closeSessionTxn.enabled',
  'nio.numSelectorThreads',
  'nio.numWorkerThreads',
  'nio.directBufferBytes',
  'nio.sessionlessCnxnTimeout',
  'nio.shutdownTimeout',
  'netty.server.outstandingHandshake.limit',
  'kerberos.removeHostFromPrincipal',
  'kerberos.removeRealmFromPrincipal',
  'X509AuthenticationProvider.superUser',
  'readonlymode.enabled',
  'watchManagerName',
  'learner.asyncSending',
  'learner.closeSocketAsync',
  'leader.closeSocketAsync',
  'leader.ackLoggingFrequency',
  'connection_throttle_tokens',
  'connection_throttle_fill_time',
  'connection_throttle_fill_count',
  'connection_throttle_freeze_time',
  'connection_throttle_drop_increase',
  'connection_throttle_drop_decrease',
  'connection_throttle_decrease_ratio',
  'connection_throttle_weight_enabled',
  'clientCnxnSocket',
  'client.secure',
] as const;

/** Prefixes of system-property keys ZooKeeper understands and Ark does not act on. */
const SYSTEM_UNHONOURED_PREFIXES = ['ssl.', 'authProvider.', 'admin.', 'audit.', 'kerberos.', 'nio.', 'netty.'] as const;

/** zoo.cfg keys Ark parses and acts on (system-property keys also accepted with a "zookeeper." prefix). */
export const HONOURED_KEYS: ReadonlySet<string> = new Set<string>([...QUORUM_HONOURED, ...SYSTEM_HONOURED]);
/** Key prefixes Ark parses and acts on ("server.N"). */
export const HONOURED_KEY_PREFIXES: readonly string[] = ['server.'];
/** zoo.cfg keys ZooKeeper understands that Ark accepts but does not act on yet. */
export const UNHONOURED_KEYS: ReadonlySet<string> = new Set<string>([...QUORUM_UNHONOURED, ...SYSTEM_UNHONOURED]);
/** Key prefixes ZooKeeper understands that Ark accepts but does not act on yet. */
export const UNHONOURED_KEY_PREFIXES: readonly string[] = [
  ...new Set<string>([...QUORUM_UNHONOURED_PREFIXES, ...SYSTEM_UNHONOURED_PREFIXES]),
];

const QUORUM_HONOURED_SET: ReadonlySet<string> = new Set<string>(QUORUM_HONOURED);
const QUORUM_UNHONOURED_SET: ReadonlySet<string> = new Set<string>(QUORUM_UNHONOURED);
const SYSTEM_HONOURED_SET: ReadonlySet<string> = new Set<string>(SYSTEM_HONOURED);
const SYSTEM_UNHONOURED_SET: ReadonlySet<string> = new Set<string>(SYSTEM_UNHONOURED);

const ZK_PREFIX = 'zookeeper.';

/** Is this key one of those QuorumPeerConfig consumes (rather than turning it into a system property)? */
function isQuorumKey(key: string): boolean {
  return (
    QUORUM_HONOURED_SET.has(key) ||
    QUORUM_UNHONOURED_SET.has(key) ||
    key.startsWith('server.') ||
    QUORUM_UNHONOURED_PREFIXES.some((p) => key.startsWith(p))
  );
}

/** The system property name ZooKeeper derives from an unrecognised zoo.cfg key. */
export function systemPropertyName(key: string): string {
  return key.startsWith(ZK_PREFIX) ? key : ZK_PREFIX + key;
}

export type KeyClass = 'honoured' | 'unhonoured' | 'unknown';

/** How Ark treats a zoo.cfg key: acted on, understood but ignored for now, or unknown. */
export function classifyKey(key: string): KeyClass {
  if (isQuorumKey(key)) {
    if (QUORUM_HONOURED_SET.has(key) || key.startsWith('server.')) return 'honoured';
    return 'unhonoured';
  }
  const bare = systemPropertyName(key).slice(ZK_PREFIX.length);
  if (SYSTEM_HONOURED_SET.has(bare)) return 'honoured';
  if (SYSTEM_UNHONOURED_SET.has(bare) || SYSTEM_UNHONOURED_PREFIXES.some((p) => bare.startsWith(p))) {
    return 'unhonoured';
  }
  return 'unknown';
}

// ---------------------------------------------------------------------------
// Typed configuration
// ---------------------------------------------------------------------------

export type PeerRole = 'participant' | 'observer';

/** One `server.N=host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]` line. */
export interface QuorumServerSpec {
  id: number;
  /** Host name or address; IPv6 addresses are given without the brackets. */
  host: string;
  quorumPort: number;
  electionPort: number;
  role: PeerRole;
  /** Client bind address when given as `;addr:port`; absent means the wildcard address. */
  clientAddress?: string;
  clientPort?: number;
}

export interface ServerConfig {
  tickTimeMs: number;
  dataDir: string;
  dataLogDir: string;
  /** undefined when no client port is configured (clientPort unset or 0). */
  clientPort: number | undefined;
  /** undefined means bind to the wildcard address (0.0.0.0). */
  clientPortAddress: string | undefined;
  /** 0 means unlimited. */
  maxClientCnxns: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  juteMaxBufferBytes: number;
  /** Enabled four-letter words; contains '*' when all are enabled. See isFourLetterWordAllowed. */
  fourLetterWhitelist: Set<string>;
  adminEnabled: boolean;
  adminServerPort: number;
  adminServerAddress: string;
  extendedTypesEnabled: boolean;
  /** `user:base64(sha1(user:password))` */
  superDigest: string | undefined;
  snapCount: number;
  forceSync: boolean;
  autopurgeSnapRetainCount: number;
  /** 0 disables auto purge. */
  autopurgePurgeIntervalHours: number;
  /** Ticks; undefined when not set and no servers are listed. */
  initLimit: number | undefined;
  /** Ticks; undefined when not set and no servers are listed. */
  syncLimit: number | undefined;
  /** server.N entries, ordered by id. */
  servers: QuorumServerSpec[];
  peerType: PeerRole;
  /** As ZooKeeper's isDistributed(): servers listed and (more than one voter, or standalone disabled). */
  distributed: boolean;
  containerCheckIntervalMs: number;
  enforceQuota: boolean;
  localSessionsEnabled: boolean;
  standaloneEnabled: boolean;
  reconfigEnabled: boolean;
  /** What ZooKeeper would set as Java system properties from this file (e.g. zookeeper.snapCount). */
  systemProperties: Map<string, string>;
  /** The text this configuration was parsed from (the AdminServer's initial_configuration); set by parseZooCfg. */
  initialConfigText?: string;
  /** GET /metrics in the Prometheus text format; null when metricsProvider.className does not ask for it. */
  prometheus: PrometheusConfig | null;
  /** zookeeper.preAllocSize (KB in zoo.cfg): txn-log segments grow by this many bytes at a time */
  preAllocBytes: number;
  /** zookeeper.txnLogSizeLimitInKb: a segment rolls once it holds this many bytes (besides the roll at every snapshot) */
  txnLogSegmentBytes: number;
  /** zookeeper.commitLogCount: txns an ensemble member keeps in memory past its snapshot, so followers slightly behind get a DIFF */
  commitLogCount: number;
  /** zookeeper.snapshot.compression.method: 'gz' or none */
  snapshotCompression: 'gz' | null;
  /** zookeeper.fsync.warningthresholdms: a slower txn-log fsync is counted and logged */
  fsyncWarningThresholdMs: number;
  /** Ark's continuous archive and scheduled backups (backup.*); null without backup.archiveDir */
  backup: BackupConfig | null;
}

/** backup.*: where the ensemble (or standalone server) archives its committed txns and full backups. */
export interface BackupConfig {
  /** backup.archiveDir, resolved like dataDir */
  archiveDir: string;
  /** backup.archiveIntervalMs: the committed txns reach the archive at least this often (the RPO) */
  archiveIntervalMs: number;
  /** backup.intervalMs: a full backup into the archive this often; 0 = only when the archive needs a new base */
  intervalMs: number;
  /** backup.retainCount: keep the newest N full backups (and the txns after the oldest kept); 0 = no count limit */
  retainCount: number;
  /** backup.retainHours: keep the full backups younger than this; 0 = no age limit */
  retainHours: number;
}

/** metricsProvider.* when metricsProvider.className names ZooKeeper's PrometheusMetricsProvider. */
export interface PrometheusConfig {
  httpHost: string;
  httpPort: number;
  /** metricsProvider.exportJvmInfo: Node.js process metrics (nodejs_*, process_*) stand for the JVM's */
  exportProcessMetrics: boolean;
}

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

/** Whether a four-letter word is enabled by the configuration. */
export function isFourLetterWordAllowed(config: Pick<ServerConfig, 'fourLetterWhitelist'>, cmd: string): boolean {
  return config.fourLetterWhitelist.has('*') || config.fourLetterWhitelist.has(cmd);
}

/** String.trim() as Java defines it: removes characters <= U+0020 from both ends. */
function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

function badNumber(key: string, value: string, what: string): ConfigError {
  return new ConfigError(key, `Invalid value for ${key}: '${value}' is not ${what}`);
}

/** Integer.parseInt semantics: optional sign, decimal digits, 32-bit range. */
function parseJavaInt(key: string, value: string): number {
  if (!/^[+-]?[0-9]+$/.test(value)) throw badNumber(key, value, 'a valid integer');
  const n = Number(value);
  if (n < INT_MIN || n > INT_MAX) throw badNumber(key, value, 'a 32-bit integer');
  return n;
}

/** Long.parseLong semantics, limited to what a JS number holds exactly. */
function parseJavaLong(key: string, value: string): number {
  if (!/^[+-]?[0-9]+$/.test(value)) throw badNumber(key, value, 'a valid integer');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badNumber(key, value, 'an integer in the supported range');
  return n;
}

/** Integer.decode semantics (used by Integer.getInteger): decimal, 0x / 0X / # hex, leading-0 octal. */
function decodeJavaInt(key: string, value: string): number {
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|#([0-9a-fA-F]+)|0([0-7]+)|([1-9][0-9]*|0))$/.exec(value);
  if (!m) throw badNumber(key, value, 'a valid integer');
  const [, sign, hex1, hex2, oct, dec] = m;
  let n: number;
  if (hex1 !== undefined) n = parseInt(hex1, 16);
  else if (hex2 !== undefined) n = parseInt(hex2, 16);
  else if (oct !== undefined) n = parseInt(oct, 8);
  else n = Number(dec);
  if (sign === '-') n = -n;
  if (n < INT_MIN || n > INT_MAX) throw badNumber(key, value, 'a 32-bit integer');
  return n;
}

/** Long.decode semantics (used by Long.getLong), limited to what a JS number holds exactly. */
function decodeJavaLong(key: string, value: string): number {
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|#([0-9a-fA-F]+)|0([0-7]+)|([1-9][0-9]*|0))$/.exec(value);
  if (!m) throw badNumber(key, value, 'a valid integer');
  const [, sign, hex1, hex2, oct, dec] = m;
  const n = hex1 !== undefined ? parseInt(hex1, 16) : hex2 !== undefined ? parseInt(hex2, 16) : oct !== undefined ? parseInt(oct, 8) : Number(dec);
  if (!Number.isSafeInteger(n)) throw badNumber(key, value, 'an integer in the supported range');
  return sign === '-' ? -n : n;
}

function checkPort(key: string, value: string, port: number): number {
  if (port < 0 || port > 65535) throw new ConfigError(key, `Invalid value for ${key}: '${value}' is not a port number (0-65535)`);
  return port;
}

/** Boolean.parseBoolean: only "true" (any case) is true. */
function javaParseBoolean(value: string | undefined): boolean {
  return value !== undefined && value.toLowerCase() === 'true';
}

/** QuorumPeerConfig's strict booleans: "true" or "false" (any case), anything else is an error. */
function strictBoolean(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(key, `Invalid value for ${key}: '${value}'; choose 'true' or 'false'`);
}

function parseRole(key: string, value: string): PeerRole {
  const v = javaTrim(value).toLowerCase();
  if (v === 'participant' || v === 'observer') return v;
  throw new ConfigError(key, `Invalid value for ${key}: unrecognised peer type '${value}' (expected 'participant' or 'observer')`);
}

/** String.split as Java does it for a literal separator: trailing empty strings are removed. */
function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** "host:port[:...]" or "[ipv6]:port[:...]" → [host, port, ...]. */
function hostAndPorts(key: string, s: string): string[] {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new ConfigError(key, `Invalid value for ${key}: '${s}' starts with '[' but has no matching ']'`);
    const host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest === '') return [host];
    if (!rest.startsWith(':') || rest.length === 1) {
      throw new ConfigError(key, `Invalid value for ${key}: '${s}' must have ':port' after the bracketed address`);
    }
    return [host, ...javaSplit(rest.slice(1), ':')];
  }
  return javaSplit(s, ':');
}

function parsePortPart(key: string, value: string): number {
  return checkPort(key, value, parseJavaInt(key, value));
}

/** Parses the value of a `server.N` line. */
export function parseServerLine(
  id: number,
  value: string,
  opts: { key?: string | undefined; multiAddressEnabled?: boolean | undefined } = {},
): { server: QuorumServerSpec; warnings: string[] } {
  const key = opts.key ?? `server.${id}`;
  const warnings: string[] = [];
  const format = `expected host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]`;
  const serverClient = javaSplit(value, ';');
  if (serverClient.length > 2) throw new ConfigError(key, `Invalid value for ${key}: '${value}'; ${format}`);
  const addresses = javaSplit(serverClient[0] ?? '', '|');
  if (addresses.length > 1) {
    if (opts.multiAddressEnabled !== true) {
      throw new ConfigError(key, `Invalid value for ${key}: multiple addresses given but multiAddress.enabled is not true`);
    }
    warnings.push(`${key}: multiple quorum addresses are not supported by Ark yet; using only the first ('${addresses[0] ?? ''}')`);
  }
  const parts = hostAndPorts(key, addresses[0] ?? '');
  if (parts.length < 3 || parts.length > 4) throw new ConfigError(key, `Invalid value for ${key}: '${value}'; ${format}`);
  const host = parts[0] ?? '';
  if (host === '') throw new ConfigError(key, `Invalid value for ${key}: '${value}' has an empty host; ${format}`);
  const quorumPort = parsePortPart(key, parts[1] ?? '');
  const electionPort = parsePortPart(key, parts[2] ?? '');
  if (quorumPort === electionPort) {
    throw new ConfigError(key, `Invalid value for ${key}: quorum port and election port must be different (both ${quorumPort})`);
  }
  const role: PeerRole = parts[3] !== undefined ? parseRole(key, parts[3]) : 'participant';
  const server: QuorumServerSpec = { id, host, quorumPort, electionPort, role };
  const clientSpec = serverClient[1];
  if (clientSpec !== undefined) {
    const cparts = hostAndPorts(key, clientSpec);
    if (cparts.length > 2) throw new ConfigError(key, `Invalid value for ${key}: bad client address '${clientSpec}'; ${format}`);
    server.clientPort = parsePortPart(key, cparts[cparts.length - 1] ?? '');
    if (cparts.length === 2) server.clientAddress = cparts[0] ?? '';
  }
  return { server, warnings };
}

/**
 * What an ensemble member of ZooKeeper 3.8 puts in /zookeeper/config for these server.N lines,
 * reconfig or not (QuorumMaj.toString): `server.N=host:quorumPort:electionPort:role` with
 * `;clientAddress:clientPort` only where the line gave a client part (`;port` alone prints
 * 0.0.0.0; the static clientPort is never printed: QuorumServer.toString, isClientAddrFromStatic),
 * one line each, then `version=0` (a static configuration's version, in hex), no newline after it.
 * Lines come in the iteration order of the HashMap<Long, QuorumServer> they sit in.
 */
export function configNodeText(servers: readonly QuorumServerSpec[]): string {
  const lines = javaHashMapOrder(servers).map((s) => {
    const client = s.clientPort === undefined ? '' : `;${formatHostPort({ host: s.clientAddress ?? '0.0.0.0', port: s.clientPort })}`;
    return `server.${s.id}=${formatHostPort({ host: s.host, port: s.quorumPort })}:${s.electionPort}:${s.role}${client}\n`;
  });
  return `${lines.join('')}version=0`;
}

/**
 * Java's HashMap<Long, V> iteration order: by bucket, (h ^ h >>> 16) & (capacity - 1) with
 * h = Long.hashCode, the capacity the smallest power of two from 16 that holds the entries at
 * load factor 0.75. Ids sharing a bucket (1 and 17) follow insertion order there, which
 * depends on java.util.Properties; here they go by id.
 */
function javaHashMapOrder(servers: readonly QuorumServerSpec[]): QuorumServerSpec[] {
  let capacity = 16;
  while (servers.length > capacity * 0.75) capacity *= 2;
  const bucket = (id: number): number => {
    const v = BigInt(id);
    const h = Number(BigInt.asIntN(32, v ^ (v >> 32n)));
    return (h ^ (h >>> 16)) & (capacity - 1);
  };
  return [...servers].sort((a, b) => bucket(a.id) - bucket(b.id) || a.id - b.id);
}

/**
 * The order java.util.Properties (Java 9 on: a ConcurrentHashMap) iterates keys put in this order:
 * by bin, spread(String.hashCode) & (table size - 1), the table 16 bins from `new Properties()` and
 * doubled once it holds 3/4 of that; keys sharing a bin in the order put (a resize can reorder
 * those, which is not followed here). ZooKeeper walks a config this way (ConfigUtils).
 */
export function javaPropertiesOrder(keys: readonly string[]): string[] {
  let bins = 16;
  while (keys.length >= bins * 0.75) bins *= 2;
  const bin = (key: string): number => {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(31, h) + key.charCodeAt(i)) | 0;
    return ((h ^ (h >>> 16)) & 0x7fffffff) & (bins - 1);
  };
  return keys.map((key, at) => ({ key, at, bin: bin(key) })).sort((a, b) => a.bin - b.bin || a.at - b.at).map((k) => k.key);
}

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
