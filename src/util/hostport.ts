// The host part of a ZooKeeper connect string, `host[:port][,host[:port]...]`, as ZooKeeper's
// ConnectStringParser reads it: names, IPv4, or IPv6 in brackets; port 2181 by default. One parser
// for the client, `ark copy` and `ark bench`; each caller words its own error. PURE.
import { isIPv6 } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

export const DEFAULT_PORT = 2181;

/** Parses `host[:port]` items separated by commas; `bad(why)` makes the caller's error. */
export function parseHostList(text: string, bad: (why: string) => Error): HostPort[] {
  if (text.trim().length === 0) throw bad('no host');
  return text.split(',').map((raw) => {
    const item = raw.trim();
    if (item.length === 0) throw bad('empty host in the list');
    return parseHostPort(item, bad);
  });
}

function parseHostPort(item: string, bad: (why: string) => Error): HostPort {
  let host: string;
  let portText: string | null = null;
  if (item.startsWith('[')) {
    const close = item.indexOf(']');
    if (close === -1) throw bad(`${item}: missing ]`);
    host = item.slice(1, close);
    if (!isIPv6(host)) throw bad(`${host} is not an IPv6 address`);
    const rest = item.slice(close + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(':')) throw bad(`${item}: expected :port after ]`);
      portText = rest.slice(1);
    }
  } else {
    if (item.split(':').length > 2) throw bad(`${item}: an IPv6 address goes in brackets, e.g. [::1]:2181`);
    const colon = item.indexOf(':');
    host = colon === -1 ? item : item.slice(0, colon);
    if (colon !== -1) portText = item.slice(colon + 1);
    if (host.length === 0) throw bad(`${item}: no host name`);
    if (!/^[A-Za-z0-9._-]+$/.test(host)) throw bad(`${host} is not a host name or address`);
  }
  if (portText === null) return { host, port: DEFAULT_PORT };
  if (!/^\d{1,5}$/.test(portText)) throw bad(`${item}: port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw bad(`${item}: port ${port} is outside 1..65535`);
  return { host, port };
}

export function formatHostPort(h: HostPort): string {
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}
