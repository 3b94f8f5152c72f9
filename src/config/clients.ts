// What the client port offers clients: where it listens, how many connections an address may
// hold, the session timeouts it grants (in ticks of tickTime) and the largest frame it reads.

import { ConfigError } from './error.js';
import { checkPort, parseJavaInt } from './javavalues.js';
import type { ServerConfig } from './serverconfig.js';
import type { QuorumKeys, SystemProperties } from './settings.js';

export const DEFAULT_TICK_TIME_MS = 3000;
export const DEFAULT_MAX_CLIENT_CNXNS = 60;
export const DEFAULT_JUTE_MAX_BUFFER = 0xfffff;

/** tickTime: the unit of session timeouts and of the ensemble's limits. */
export function tickTime(q: QuorumKeys): number {
  const tickTimeMs = q.int('tickTime') ?? DEFAULT_TICK_TIME_MS;
  if (tickTimeMs <= 0) throw new ConfigError('tickTime', `Invalid value for tickTime: '${q.get('tickTime') ?? ''}' must be positive`);
  return tickTimeMs;
}

/**
 * clientPort and clientPortAddress as the file gives them; an ensemble member's server.N line can
 * still give its own (ensemble.ts).
 */
export function clientAddress(q: QuorumKeys): Pick<ServerConfig, 'clientPort' | 'clientPortAddress'> {
  let clientPort: number | undefined;
  const clientPortRaw = q.get('clientPort');
  if (clientPortRaw !== undefined) {
    const p = checkPort('clientPort', clientPortRaw, parseJavaInt('clientPort', clientPortRaw));
    clientPort = p === 0 ? undefined : p; // 0 means "not set" in ZooKeeper
  }
  let clientPortAddress = q.get('clientPortAddress');
  if (clientPortAddress === '') clientPortAddress = undefined;
  if (clientPortAddress !== undefined && clientPort === undefined) {
    throw new ConfigError('clientPortAddress', `clientPortAddress is set (${clientPortAddress}) but clientPort is not set`);
  }
  return { clientPort, clientPortAddress };
}

/** maxClientCnxns: connections one client address may hold (0: no limit). */
export function maxClientCnxns(q: QuorumKeys): number {
  return q.int('maxClientCnxns') ?? DEFAULT_MAX_CLIENT_CNXNS;
}

/** The session timeouts granted: 2 to 20 ticks unless min/maxSessionTimeout say otherwise (-1: the default). */
export function sessionTimeouts(q: QuorumKeys, tickTimeMs: number): Pick<ServerConfig, 'minSessionTimeoutMs' | 'maxSessionTimeoutMs'> {
  const minRaw = q.int('minSessionTimeout') ?? -1;
  const maxRaw = q.int('maxSessionTimeout') ?? -1;
  const minSessionTimeoutMs = minRaw === -1 ? tickTimeMs * 2 : minRaw;
  const maxSessionTimeoutMs = maxRaw === -1 ? tickTimeMs * 20 : maxRaw;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError(
      'minSessionTimeout',
      `minSessionTimeout (${minSessionTimeoutMs} ms) must not be larger than maxSessionTimeout (${maxSessionTimeoutMs} ms)`,
    );
  }
  return { minSessionTimeoutMs, maxSessionTimeoutMs };
}

/** jute.maxbuffer: the largest frame the client port reads. */
export function juteMaxBuffer(sys: SystemProperties): number {
  return sys.positiveInt('jute.maxbuffer', DEFAULT_JUTE_MAX_BUFFER);
}
