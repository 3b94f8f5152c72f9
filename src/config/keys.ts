// ZooKeeper's zoo.cfg keys and what Ark does with each. QuorumPeerConfig parses its own keys;
// every other key becomes a "zookeeper."-prefixed Java system property that some part of
// ZooKeeper reads. Ark acts on some of each kind (honoured), accepts the rest ZooKeeper knows
// with a warning (unhonoured), and keeps unknown keys as system properties, as ZooKeeper does.

/** PrometheusMetricsProvider's HTTPS settings (ZooKeeper's master), as zoo.cfg spells them: config/https.ts. */
export const METRICS_HTTPS_KEYS = [
  'metricsProvider.httpsPort',
  'metricsProvider.ssl.keyStore.location',
  'metricsProvider.ssl.keyStore.password',
  'metricsProvider.ssl.keyStore.type',
  'metricsProvider.ssl.trustStore.location',
  'metricsProvider.ssl.trustStore.password',
  'metricsProvider.ssl.trustStore.type',
  'metricsProvider.ssl.need.client.auth',
  'metricsProvider.ssl.want.client.auth',
  'metricsProvider.ssl.enabledProtocols',
  'metricsProvider.ssl.ciphersuites',
] as const;

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
  'secureClientPort',
  'secureClientPortAddress',
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
  // security between members (config/quorumsec.ts)
  'sslQuorum',
  'portUnification',
  'sslQuorumReloadCertFiles',
  'quorum.auth.enableSasl',
  'quorum.auth.learnerRequireSasl',
  'quorum.auth.serverRequireSasl',
  'quorum.auth.learner.saslLoginContext',
  'quorum.auth.server.saslLoginContext',
  // its HTTPS port (ZooKeeper's master, ZOOKEEPER-4798): config/https.ts
  ...METRICS_HTTPS_KEYS,
] as const;

const QUORUM_UNHONOURED = [
  'observerMasterPort',
  'clientPortListenBacklog',
  'connectToLearnerMasterLimit',
  'electionAlg',
  'quorumListenOnAllIPs',
  'syncEnabled',
  'dynamicConfigFile',
  'localSessionsUpgradingEnabled',
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
  // the AdminServer over HTTPS (config/https.ts, with ADMIN_TLS_KEYS)
  'admin.forceHttps',
  'admin.portUnification',
  'admin.needClientAuth',
  // Ark's own: the web console at /console on the AdminServer (src/admin/console.ts)
  'admin.console.enabled',
  'extendedTypesEnabled',
  'DigestAuthenticationProvider.superDigest',
  'snapCount',
  'snapSizeLimitInKb',
  'commitLogCount',
  'forceSync',
  'znode.container.checkIntervalMs',
  'enforceQuota',
  'preAllocSize',
  'txnLogSizeLimitInKb',
  'snapshot.compression.method',
  // a slower txn-log fsync is counted (mntr zk_fsync_threshold_exceed_count) and logged
  'fsync.warningthresholdms',
  // ZooKeeper reads it as the JVM property readonlymode.enabled (not from zoo.cfg); Ark from zoo.cfg
  'readonlymode.enabled',
  // Ark's own: continuous archiving and scheduled backups
  'backup.archiveDir',
  'backup.archiveIntervalMs',
  'backup.intervalMs',
  'backup.retainCount',
  'backup.retainHours',
  'backup.recipients',
  'backup.recipientsFile',
  'backup.s3.endpoint',
  'backup.s3.region',
  'backup.s3.forcePathStyle',
  // client TLS: the unified client port (and CLIENT_TLS_KEYS)
  'client.portUnification',
  // authentication (config/auth.ts; authProvider.* too): SASL and x509, who is super, what is enforced
  'ssl.authProvider',
  'superUser',
  'X509AuthenticationProvider.superUser',
  'sessionRequireClientSASLAuth',
  'enforce.auth.enabled',
  'enforce.auth.schemes',
  'sasl.serverconfig',
  // Ark's: the JAAS file (ZooKeeper reads it only as the JVM flag -Djava.security.auth.login.config)
  'java.security.auth.login.config',
] as const;

/** Prefixes of system-property keys Ark acts on: authProvider.N (config/auth.ts). */
const SYSTEM_HONOURED_PREFIXES = ['authProvider.'] as const;

/** ClientX509Util's zookeeper.ssl.* keys: the client port's TLS (config/tls.ts). */
export const CLIENT_TLS_KEYS = [
  'ssl.keyStore.location',
  'ssl.keyStore.password',
  'ssl.keyStore.passwordPath',
  'ssl.keyStore.type',
  'ssl.trustStore.location',
  'ssl.trustStore.password',
  'ssl.trustStore.passwordPath',
  'ssl.trustStore.type',
  'ssl.clientAuth',
  'ssl.protocol',
  'ssl.enabledProtocols',
  'ssl.ciphersuites',
  'ssl.hostnameVerification',
  'ssl.handshakeDetectionTimeoutMillis',
] as const;

/** QuorumX509Util's ssl.quorum.* keys that JettyAdminServer reads for its certificates (config/https.ts). */
export const ADMIN_TLS_KEYS = [
  'ssl.quorum.keyStore.location',
  'ssl.quorum.keyStore.password',
  'ssl.quorum.keyStore.passwordPath',
  'ssl.quorum.keyStore.type',
  'ssl.quorum.trustStore.location',
  'ssl.quorum.trustStore.password',
  'ssl.quorum.trustStore.passwordPath',
  'ssl.quorum.trustStore.type',
  'ssl.quorum.enabledProtocols',
  'ssl.quorum.ciphersuites',
] as const;

/** QuorumX509Util's zookeeper.ssl.quorum.* keys: the quorum port's TLS (config/quorumsec.ts); the AdminServer's stores among them. */
export const QUORUM_TLS_KEYS = [
  ...ADMIN_TLS_KEYS,
  'ssl.quorum.clientAuth',
  'ssl.quorum.protocol',
  'ssl.quorum.hostnameVerification',
  'ssl.quorum.clientHostnameVerification',
  'ssl.quorum.handshakeDetectionTimeoutMillis',
] as const;

/** System-property keys ZooKeeper understands and Ark does not act on (yet). */
const SYSTEM_UNHONOURED = [
  'serverCnxnFactory',
  'audit.enable',
  'admin.commandURL',
  'admin.idleTimeout',
  'globalOutstandingLimit',
  'leaderServes',
  'traceFile',
  'skipACL',
  'cnxTimeout',
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
  'closeSessionTxn.enabled',
  'nio.numSelectorThreads',
  'nio.numWorkerThreads',
  'nio.directBufferBytes',
  'nio.sessionlessCnxnTimeout',
  'nio.shutdownTimeout',
  'netty.server.outstandingHandshake.limit',
  'kerberos.removeHostFromPrincipal',
  'kerberos.removeRealmFromPrincipal',
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
const SYSTEM_UNHONOURED_PREFIXES = ['ssl.', 'admin.', 'audit.', 'kerberos.', 'nio.', 'netty.'] as const;

/** zoo.cfg keys Ark parses and acts on (system-property keys also accepted with a "zookeeper." prefix). */
export const HONOURED_KEYS: ReadonlySet<string> = new Set<string>([
  ...QUORUM_HONOURED,
  ...SYSTEM_HONOURED,
  ...CLIENT_TLS_KEYS,
  ...QUORUM_TLS_KEYS,
]);
/** Key prefixes Ark parses and acts on ("server.N", "authProvider.N"). */
export const HONOURED_KEY_PREFIXES: readonly string[] = ['server.', ...SYSTEM_HONOURED_PREFIXES];
/** zoo.cfg keys ZooKeeper understands that Ark accepts but does not act on yet. */
export const UNHONOURED_KEYS: ReadonlySet<string> = new Set<string>([...QUORUM_UNHONOURED, ...SYSTEM_UNHONOURED]);
/** Key prefixes ZooKeeper understands that Ark accepts but does not act on yet. */
export const UNHONOURED_KEY_PREFIXES: readonly string[] = [
  ...new Set<string>([...QUORUM_UNHONOURED_PREFIXES, ...SYSTEM_UNHONOURED_PREFIXES]),
];

const QUORUM_HONOURED_SET: ReadonlySet<string> = new Set<string>(QUORUM_HONOURED);
const QUORUM_UNHONOURED_SET: ReadonlySet<string> = new Set<string>(QUORUM_UNHONOURED);
const SYSTEM_HONOURED_SET: ReadonlySet<string> = new Set<string>([...SYSTEM_HONOURED, ...CLIENT_TLS_KEYS, ...QUORUM_TLS_KEYS]);
const SYSTEM_UNHONOURED_SET: ReadonlySet<string> = new Set<string>(SYSTEM_UNHONOURED);

/** The prefix of the system property ZooKeeper makes of a key it does not parse itself. */
export const ZK_PREFIX = 'zookeeper.';

/** Is this key one of those QuorumPeerConfig consumes (rather than turning it into a system property)? */
export function isQuorumKey(key: string): boolean {
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
  if (SYSTEM_HONOURED_SET.has(bare) || SYSTEM_HONOURED_PREFIXES.some((p) => bare.startsWith(p))) return 'honoured';
  if (SYSTEM_UNHONOURED_SET.has(bare) || SYSTEM_UNHONOURED_PREFIXES.some((p) => bare.startsWith(p))) {
    return 'unhonoured';
  }
  return 'unknown';
}
