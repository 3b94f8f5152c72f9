// The ensemble: the server.N lines, the limits and switches QuorumPeerConfig reads for a quorum,
// this member's own line (found by myid), and whether the whole makes a distributed server.

import { ConfigError } from './error.js';
import { parseJavaLong, strictBoolean } from './javavalues.js';
import type { ServerConfig } from './serverconfig.js';
import { parseRole, parseServerLine, type PeerRole, type QuorumServerSpec } from './serverline.js';
import type { QuorumKeys, SystemProperties } from './settings.js';

export const DEFAULT_INIT_LIMIT = 10;
export const DEFAULT_SYNC_LIMIT = 5;

export type PeerSettings = Pick<
  ServerConfig,
  'initLimit' | 'syncLimit' | 'peerType' | 'localSessionsEnabled' | 'standaloneEnabled' | 'reconfigEnabled'
>;

type ClientAddress = Pick<ServerConfig, 'clientPort' | 'clientPortAddress'>;

/**
 * The quorum keys read before the server.N lines: the limits as given, the declared peerType,
 * and QuorumPeerConfig's switches (local sessions are a quorum feature in ZooKeeper too).
 */
export function peerSettings(q: QuorumKeys): PeerSettings {
  const initLimit = q.int('initLimit');
  const syncLimit = q.int('syncLimit');
  const peerTypeRaw = q.get('peerType');
  const peerType: PeerRole = peerTypeRaw === undefined ? 'participant' : parseRole('peerType', peerTypeRaw);
  const localSessionsEnabled = q.boolean('localSessionsEnabled', false);
  const standaloneEnabled = q.boolean('standaloneEnabled', true);
  const reconfigEnabled = q.boolean('reconfigEnabled', false);
  return { initLimit, syncLimit, peerType, localSessionsEnabled, standaloneEnabled, reconfigEnabled };
}

/** What the ensemble section reads: the server.N lines, and the settings they can override. */
export interface EnsembleInput {
  quorum: QuorumKeys;
  /** [key as written, value] of each server.N line */
  serverLines: ReadonlyArray<[string, string]>;
  peer: PeerSettings;
  /** clientPort and clientPortAddress as the file gives them (clients.ts) */
  client: ClientAddress;
  myid: number | undefined;
}

/**
 * The peer settings completed by the server.N lines: the servers, the limits (defaulted when
 * servers are listed), this member's client address and role (its own line wins over clientPort
 * and peerType), and distributed.
 */
export function ensembleSettings(
  input: EnsembleInput,
  warnings: string[],
): PeerSettings & ClientAddress & Pick<ServerConfig, 'servers' | 'distributed'> {
  const servers = serverList(input.quorum, input.serverLines, warnings);
  switchesNotActedOn(input.peer, warnings);
  const limits = ensembleLimits(input.peer, servers.length > 0, warnings);
  const own = ownEntry(servers, input, warnings);
  const distributed = isDistributed(servers, input.peer.standaloneEnabled);
  return { ...input.peer, servers, ...limits, ...own, distributed };
}

/** The server.N lines, ordered by id; of two lines for one id ("server.1", "server.01") the later wins. */
function serverList(q: QuorumKeys, serverLines: ReadonlyArray<[string, string]>, warnings: string[]): QuorumServerSpec[] {
  if (serverLines.length > 0 && q.get('dynamicConfigFile') !== undefined) {
    const first = serverLines[0]?.[0] ?? 'server.N';
    throw new ConfigError(first, `${first} must be in the dynamic config file when dynamicConfigFile is set`);
  }
  const servers: QuorumServerSpec[] = [];
  for (const [key, value] of serverLines) {
    const id = parseJavaLong(key, key.slice('server.'.length));
    const parsed = parseServerLine(id, value, { key, multiAddressEnabled: q.boolean('multiAddress.enabled', false) });
    warnings.push(...parsed.warnings);
    const dup = servers.findIndex((s) => s.id === id);
    if (dup >= 0) servers.splice(dup, 1);
    servers.push(parsed.server);
  }
  return servers.sort((a, b) => a.id - b.id);
}

/** initLimit and syncLimit: an ensemble needs both, so listed servers without them get the defaults, with a warning. */
function ensembleLimits(peer: PeerSettings, listed: boolean, warnings: string[]): Pick<ServerConfig, 'initLimit' | 'syncLimit'> {
  let { initLimit, syncLimit } = peer;
  if (listed && initLimit === undefined) {
    initLimit = DEFAULT_INIT_LIMIT;
    warnings.push(`initLimit: not set although servers are listed; using ${DEFAULT_INIT_LIMIT}`);
  }
  if (listed && syncLimit === undefined) {
    syncLimit = DEFAULT_SYNC_LIMIT;
    warnings.push(`syncLimit: not set although servers are listed; using ${DEFAULT_SYNC_LIMIT}`);
  }
  return { initLimit, syncLimit };
}

/**
 * This member's own server.N line (server.myid): a client address there replaces clientPort /
 * clientPortAddress, and its role replaces peerType. Without myid nothing is replaced.
 */
function ownEntry(servers: readonly QuorumServerSpec[], input: EnsembleInput, warnings: string[]): ClientAddress & { peerType: PeerRole } {
  const { myid, client, peer } = input;
  const unchanged = { ...client, peerType: peer.peerType };
  if (myid === undefined) {
    if (client.clientPort === undefined && servers.some((s) => s.clientPort !== undefined)) {
      warnings.push("clientPort: not set; server.N entries give client ports but this server's id (myid) is not known");
    }
    return unchanged;
  }
  if (servers.length === 0) return unchanged;
  const self = servers.find((s) => s.id === myid);
  if (self === undefined) {
    warnings.push(`myid ${myid} is not among the server.N entries`);
    return unchanged;
  }
  const key = `server.${self.id}`;
  const address = self.clientPort === undefined ? client : ownClientAddress(key, self, self.clientPort, client);
  if (input.quorum.get('peerType') !== undefined && peer.peerType !== self.role) {
    warnings.push(`peerType (${peer.peerType}) does not match the role in ${key} (${self.role}); using ${self.role}`);
  }
  return { ...address, peerType: self.role };
}

/** The client address of this member's line; clientPort/clientPortAddress, when set, must name the same one. */
function ownClientAddress(key: string, self: QuorumServerSpec, port: number, client: ClientAddress): ClientAddress {
  const { clientPort, clientPortAddress } = client;
  if (clientPort !== undefined) {
    const wildcard = clientPortAddress === undefined || clientPortAddress === '0.0.0.0' || clientPortAddress === '::';
    const sameAddr = wildcard || clientPortAddress === (self.clientAddress ?? '0.0.0.0');
    if (clientPort !== port || !sameAddr) {
      throw new ConfigError(
        key,
        `client address ${clientPortAddress ?? '0.0.0.0'}:${clientPort} from clientPort/clientPortAddress differs from the one in ${key} (${self.clientAddress ?? '0.0.0.0'}:${port})`,
      );
    }
  }
  return { clientPort: port, clientPortAddress: self.clientAddress ?? clientPortAddress };
}

/** As ZooKeeper's isDistributed(): servers listed and (more than one voter, or standalone disabled); observers need that. */
function isDistributed(servers: readonly QuorumServerSpec[], standaloneEnabled: boolean): boolean {
  const voters = servers.filter((s) => s.role === 'participant').length;
  const distributed = servers.length > 0 && (!standaloneEnabled || voters > 1);
  const firstObserver = servers.find((s) => s.role === 'observer');
  if (!distributed && firstObserver !== undefined) {
    throw new ConfigError(`server.${firstObserver.id}`, `observers without a quorum (${voters} participant) are an invalid configuration`);
  }
  return distributed;
}

/**
 * readonlymode.enabled (ZooKeeper: the JVM property -Dreadonlymode.enabled=true, which
 * QuorumPeer reads with Boolean.getBoolean each time it starts looking). "true" or "false";
 * anything else stops start-up naming the key, where Java would read it as false. Only an
 * ensemble member has a quorum to lose: a standalone server ignores it, and says so.
 */
export function readOnlyModeSetting(
  sys: SystemProperties,
  distributed: boolean,
  warnings: string[],
): Pick<ServerConfig, 'readOnlyModeEnabled'> {
  const raw = sys.get('readonlymode.enabled');
  const key = sys.key('readonlymode.enabled');
  const readOnlyModeEnabled = raw === undefined ? false : strictBoolean(key, raw);
  if (!distributed && raw !== undefined) {
    warnings.push(`${key}: applies to ensemble members only (read-only mode without a quorum); ignored by a standalone server`);
  }
  return { readOnlyModeEnabled };
}

/**
 * Switches Ark reads but cannot honour when turned on yet: the server says so at start instead of
 * behaving as if they were off without a word (their default, off, is what Ark does).
 */
function switchesNotActedOn(peer: PeerSettings, warnings: string[]): void {
  if (peer.localSessionsEnabled) {
    warnings.push(
      'localSessionsEnabled=true: not acted on: Ark has no local sessions (outside read-only mode), every session is global, as ZooKeeper with localSessionsEnabled=false',
    );
  }
  if (peer.reconfigEnabled) {
    warnings.push(
      'reconfigEnabled=true: not acted on: Ark has no dynamic reconfiguration yet (reconfig answers ReconfigDisabled); change the members by a rolling restart',
    );
  }
}
