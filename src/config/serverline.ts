// The grammar of a `server.N` line (QuorumPeer.QuorumServer's parser), and the way ZooKeeper
// writes the same lines back into /zookeeper/config.

import { formatHostPort } from '../util/hostport.js';
import { ConfigError } from './error.js';
import { checkPort, javaSplit, javaTrim, parseJavaInt } from './javavalues.js';

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

/** A peer type (peerType, or the role at the end of a server.N line): participant or observer, in any case. */
export function parseRole(key: string, value: string): PeerRole {
  const v = javaTrim(value).toLowerCase();
  if (v === 'participant' || v === 'observer') return v;
  throw new ConfigError(key, `Invalid value for ${key}: unrecognised peer type '${value}' (expected 'participant' or 'observer')`);
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

const SERVER_LINE_FORMAT = 'expected host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]';

function badServerLine(key: string, problem: string): ConfigError {
  return new ConfigError(key, `Invalid value for ${key}: ${problem}; ${SERVER_LINE_FORMAT}`);
}

/** Parses the value of a `server.N` line. */
export function parseServerLine(
  id: number,
  value: string,
  opts: { key?: string | undefined; multiAddressEnabled?: boolean | undefined } = {},
): { server: QuorumServerSpec; warnings: string[] } {
  const key = opts.key ?? `server.${id}`;
  const warnings: string[] = [];
  const serverClient = javaSplit(value, ';');
  if (serverClient.length > 2) throw badServerLine(key, `'${value}'`);
  const address = firstQuorumAddress(key, serverClient[0] ?? '', opts.multiAddressEnabled === true, warnings);
  const server: QuorumServerSpec = { id, ...quorumAddress(key, value, address) };
  const clientSpec = serverClient[1];
  if (clientSpec !== undefined) {
    const cparts = hostAndPorts(key, clientSpec);
    if (cparts.length > 2) throw badServerLine(key, `bad client address '${clientSpec}'`);
    server.clientPort = parsePortPart(key, cparts[cparts.length - 1] ?? '');
    if (cparts.length === 2) server.clientAddress = cparts[0] ?? '';
  }
  return { server, warnings };
}

/** `addr1|addr2|...` (multiAddress.enabled): Ark uses the first, and says so. */
function firstQuorumAddress(key: string, addresses: string, multiAddressEnabled: boolean, warnings: string[]): string {
  const all = javaSplit(addresses, '|');
  if (all.length > 1) {
    if (!multiAddressEnabled) {
      throw new ConfigError(key, `Invalid value for ${key}: multiple addresses given but multiAddress.enabled is not true`);
    }
    warnings.push(`${key}: multiple quorum addresses are not supported by Ark yet; using only the first ('${all[0] ?? ''}')`);
  }
  return all[0] ?? '';
}

/** `host:quorumPort:electionPort[:role]`; `value` is the whole line, for messages. */
function quorumAddress(key: string, value: string, address: string): Omit<QuorumServerSpec, 'id'> {
  const parts = hostAndPorts(key, address);
  if (parts.length < 3 || parts.length > 4) throw badServerLine(key, `'${value}'`);
  const host = parts[0] ?? '';
  if (host === '') throw badServerLine(key, `'${value}' has an empty host`);
  const quorumPort = parsePortPart(key, parts[1] ?? '');
  const electionPort = parsePortPart(key, parts[2] ?? '');
  if (quorumPort === electionPort) {
    throw new ConfigError(key, `Invalid value for ${key}: quorum port and election port must be different (both ${quorumPort})`);
  }
  const role: PeerRole = parts[3] !== undefined ? parseRole(key, parts[3]) : 'participant';
  return { host, quorumPort, electionPort, role };
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
