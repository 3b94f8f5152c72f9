// The host names an address may be checked against in a certificate. ZooKeeper's ZKTrustManager
// falls back from the address to InetAddress.getHostName(), and Java's getHostName()
// forward-confirms the reverse (PTR) answer: a name counts only if resolving it gives the address
// back. A PTR record is the address owner's to write, so an unconfirmed one would let whoever
// controls the reverse zone pick the name a certificate is matched against. Both look-ups are
// bounded in time: a slow resolver must not hold an accepted connection open.
import { lookup, reverse } from 'node:dns/promises';

export interface Resolver {
  reverse(ip: string): Promise<string[]>;
  lookupAll(name: string): Promise<string[]>;
}

export const systemResolver: Resolver = {
  reverse: (ip) => reverse(ip),
  lookupAll: async (name) => (await lookup(name, { all: true })).map((a) => a.address),
};

/** Default bound on each look-up (Java's resolver has its own; 5 s is the usual resolv.conf timeout). */
export const LOOKUP_TIMEOUT_MS = 5_000;

function bounded<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([p.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

/** Normalises an IPv4-mapped IPv6 address (::ffff:10.0.0.1) to its IPv4 form for comparison. */
function plain(ip: string): string {
  return ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase();
}

/** The reverse names of `ip` that resolve forward to `ip` again; [] when none or on timeout. */
export async function confirmedNames(ip: string, resolver: Resolver = systemResolver, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<string[]> {
  const names = await bounded(resolver.reverse(ip), timeoutMs, [] as string[]);
  const want = plain(ip);
  const checks = await Promise.all(
    names.map(async (n) => ((await bounded(resolver.lookupAll(n), timeoutMs, [] as string[])).some((a) => plain(a) === want) ? n : null)),
  );
  return checks.filter((n): n is string => n !== null);
}
