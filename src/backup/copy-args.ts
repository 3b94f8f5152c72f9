// What the user tells `ark copy`: connect strings (`host:port[,host:port...][/path]`) and --auth
// credentials, and the error that ends a copy with one line (CopyError).
import { pathProblem } from '../server/paths.js';
import { KeeperError, errorName } from '../util/errors.js';
import { formatHostPort, parseHostList, type HostPort } from '../util/hostport.js';

/** A copy that cannot start or cannot go on: one line for the user; `usage` for bad arguments. */
export class CopyError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
    this.name = 'CopyError';
  }
}

/** Why a request failed, for a message: the ZooKeeper error's name (NoAuth, ConnectionLoss...), else the message. */
export function reasonOf(e: unknown): string {
  return e instanceof KeeperError ? errorName(e.code) : ((e as Error).message ?? String(e));
}

export type Role = 'source' | 'destination';
const FLAG: Record<Role, string> = { source: '--from', destination: '--to' };

export type Endpoint = HostPort;
export interface ConnectString {
  hosts: Endpoint[];
  /** the subtree (source) or the target path (destination); "/" when absent */
  path: string;
}

export interface Auth {
  scheme: string;
  credentials: string;
}

export const formatEndpoint = formatHostPort;

/** The hosts alone, as a client connect string and in messages. */
export function formatHosts(c: ConnectString): string {
  return c.hosts.map(formatEndpoint).join(',');
}

export function formatConnectString(c: ConnectString): string {
  return `${formatHosts(c)}${c.path === '/' ? '' : c.path}`;
}

/** `host:port[,host:port...][/path]`; IPv6 addresses in brackets (`[::1]:2181`); port 2181 by default. */
export function parseConnectString(text: string, role: Role): ConnectString {
  const bad = (why: string): CopyError =>
    new CopyError(`${FLAG[role]} ${JSON.stringify(text)}: ${why} (expected host:port[,host:port...][/path])`, true);
  const s = text.trim();
  if (s.length === 0) throw bad('empty');
  const slash = s.indexOf('/');
  const hostPart = slash === -1 ? s : s.slice(0, slash);
  let path = slash === -1 ? '/' : s.slice(slash);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const problem = pathProblem(path);
  if (problem) throw bad(`path ${path}: ${problem}`);
  const hosts: Endpoint[] = parseHostList(hostPart, bad);
  return { hosts, path };
}

/** `scheme:credentials`, e.g. digest:alice:secret (split at the first colon). */
export function parseAuth(text: string): Auth {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new CopyError(`--auth ${JSON.stringify(text)}: expected scheme:credentials, e.g. digest:user:password`, true);
  return { scheme: text.slice(0, colon), credentials: text.slice(colon + 1) };
}
