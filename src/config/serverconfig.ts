// The typed configuration a server runs with: what resolving a zoo.cfg (zoocfg.ts) produces and
// what the runtime, the AdminServer and the metrics endpoint read.

import type { PeerRole, QuorumServerSpec } from './serverline.js';
import type { AuthConfig } from './auth.js';
import type { ClientTlsConfig } from './tls.js';
import type { QuorumSecurityConfig } from './quorumsec.js';
import type { HttpSecurityKind, HttpsTlsConfig } from './https.js';
import type { S3Options } from '../util/s3url.js';

export interface ServerConfig {
  tickTimeMs: number;
  dataDir: string;
  dataLogDir: string;
  /** undefined when no client port is configured (clientPort unset or 0). */
  clientPort: number | undefined;
  /** undefined means bind to the wildcard address (0.0.0.0). */
  clientPortAddress: string | undefined;
  /** secureClientPort: TLS clients only; undefined when not set (or 0). */
  secureClientPort: number | undefined;
  /** undefined means bind to the wildcard address (0.0.0.0). */
  secureClientPortAddress: string | undefined;
  /** client.portUnification: the plain client port takes TLS clients too (the first byte tells) */
  portUnification: boolean;
  /** the certificates and TLS settings of the secure (or unified) client port; null when neither is configured */
  clientTls: ClientTlsConfig | null;
  /** TLS and SASL between the members (sslQuorum, portUnification, ssl.quorum.*, quorum.auth.*) */
  quorumSecurity: QuorumSecurityConfig;
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
  /** the web console at /console on the AdminServer (admin.console.enabled) */
  adminConsoleEnabled: boolean;
  /** admin.forceHttps (tls), admin.portUnification (unified), else plain HTTP */
  adminSecurity: HttpSecurityKind;
  /** the AdminServer's certificates (ssl.quorum.*) and admin.needClientAuth; null when it speaks HTTP only */
  adminTls: HttpsTlsConfig | null;
  extendedTypesEnabled: boolean;
  /** `user:base64(sha1(user:password))` */
  superDigest: string | undefined;
  /** SASL and x509 authentication, enforced authentication (authProvider.N, superUser, enforce.auth.*) */
  auth: AuthConfig;
  snapCount: number;
  /** a snapshot is also due once the log since the last one passes about this many KB; <= 0: no limit */
  snapSizeLimitKb: number;
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
  /**
   * readonlymode.enabled: an ensemble member without a quorum for max(2 s, tickTime) serves reads to
   * clients that ask for read-only (ReadOnlyZooKeeperServer); false by default
   */
  readOnlyModeEnabled: boolean;
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
  /** backup.archiveDir, resolved like dataDir, or an s3:// URL as given */
  archiveDir: string;
  /** backup.s3.*: how to reach the object store of an s3:// archiveDir (unset: the AWS environment) */
  s3: S3Options;
  /** backup.archiveIntervalMs: the committed txns reach the archive at least this often (the RPO) */
  archiveIntervalMs: number;
  /** backup.intervalMs: a full backup into the archive this often; 0 = only when the archive needs a new base */
  intervalMs: number;
  /** backup.retainCount: keep the newest N full backups (and the txns after the oldest kept); 0 = no count limit */
  retainCount: number;
  /** backup.retainHours: keep the full backups younger than this; 0 = no age limit */
  retainHours: number;
  /**
   * backup.recipients: age public keys (age1...) the archive's txns and backups are encrypted to
   * (none: written in clear); checked when the server starts (runtime/archivekeys.ts)
   */
  recipients: string[];
  /** backup.recipientsFile: a file of more such keys, one a line (age -R), resolved like dataDir; null: none */
  recipientsFile: string | null;
}

/** metricsProvider.* when metricsProvider.className names ZooKeeper's PrometheusMetricsProvider. */
export interface PrometheusConfig {
  httpHost: string;
  /** null: no plain HTTP port (httpsPort set, httpPort not) */
  httpPort: number | null;
  /** metricsProvider.httpsPort; equal to httpPort, one port serves both */
  httpsPort: number | null;
  /** the httpsPort's certificates and client authentication (metricsProvider.ssl.*); null without httpsPort */
  tls: HttpsTlsConfig | null;
  /** metricsProvider.exportJvmInfo: Node.js process metrics (nodejs_*, process_*) stand for the JVM's */
  exportProcessMetrics: boolean;
}

/** Whether a four-letter word is enabled by the configuration. */
export function isFourLetterWordAllowed(config: Pick<ServerConfig, 'fourLetterWhitelist'>, cmd: string): boolean {
  return config.fourLetterWhitelist.has('*') || config.fourLetterWhitelist.has(cmd);
}
