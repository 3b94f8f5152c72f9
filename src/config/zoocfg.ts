// zoo.cfg -> Ark's typed ServerConfig, the way ZooKeeper's QuorumPeerConfig and the system
// properties it sets interpret the file. The text is read by properties.ts, the keys sorted by
// settings.ts, and each section of the configuration read by its own module; this one puts the
// sections together.
//
// Pure: it takes text / maps and returns data. No fs, no process.

import { authSettings } from './auth.js';
import { backupSettings } from './backup.js';
import { clientAddress, juteMaxBuffer, maxClientCnxns, sessionTimeouts, tickTime } from './clients.js';
import { adminServerSettings, fourLetterWhitelist, prometheusSettings } from './endpoints.js';
import { ensembleSettings, peerSettings, readOnlyModeSetting } from './ensemble.js';
import { parseProperties } from './properties.js';
import type { ServerConfig } from './serverconfig.js';
import { sortEntries } from './settings.js';
import { autopurgeSettings, dataDirectories, storageSettings, syncSettings } from './storage.js';
import { clientTlsSettings } from './tls.js';
import { quorumSecuritySettings, warnUnusedQuorumTlsKeys } from './quorumsec.js';
import { treeSettings } from './tree.js';

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
  const { quorum, serverLines, system, systemProperties } = sortEntries(props, warnings);
  // The sections run in this order (the object below too, top to bottom), so that of several bad
  // values the one start-up names never changes, nor the order of the warnings.
  const dataDirs = dataDirectories(quorum, opts.baseDir);
  const tickTimeMs = tickTime(quorum);
  const client = clientAddress(quorum);
  const secure = clientTlsSettings(quorum, system, warnings);
  const maxCnxns = maxClientCnxns(quorum);
  const sessions = sessionTimeouts(quorum, tickTimeMs);
  const peer = peerSettings(quorum);
  const autopurge = autopurgeSettings(quorum, warnings);
  // the ensemble's own server.N line can replace the client address and the peer type
  const ensemble = ensembleSettings({ quorum, serverLines, peer, client, myid: opts.myid }, warnings);
  const config: ServerConfig = {
    tickTimeMs,
    ...dataDirs,
    ...secure,
    maxClientCnxns: maxCnxns,
    ...sessions,
    ...autopurge,
    ...ensemble,
    quorumSecurity: quorumSecuritySettings(quorum, system, ensemble.distributed, warnings),
    juteMaxBufferBytes: juteMaxBuffer(system),
    fourLetterWhitelist: fourLetterWhitelist(system),
    ...adminServerSettings(system, warnings),
    ...syncSettings(system, warnings),
    ...treeSettings(system),
    ...authSettings(system, systemProperties, secure.clientTls !== null),
    systemProperties,
    prometheus: prometheusSettings(quorum, warnings),
    ...storageSettings(system, ensemble.distributed, warnings),
    backup: backupSettings(system, opts.baseDir, warnings),
    ...readOnlyModeSetting(system, ensemble.distributed, warnings),
  };
  warnUnusedQuorumTlsKeys(system, { byQuorum: config.quorumSecurity.tls !== null, byAdmin: config.adminTls !== null }, warnings);
  return { config, warnings };
}

/** parseProperties + resolveConfig. */
export function parseZooCfg(text: string, opts: ResolveOptions = {}): ResolvedConfig {
  const resolved = resolveConfig(parseProperties(text), opts);
  resolved.config.initialConfigText = text;
  return resolved;
}
