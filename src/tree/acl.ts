// ACL schemes and checks as ZooKeeper's ZooKeeperServer.checkACL / PrepRequestProcessor.fixupACL.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { ErrorCode, KeeperError } from '../util/errors.js';
import type { ACL, Id } from '../wire/protocol.js';

/** digest scheme id: user:base64(sha1(user:password)) (DigestAuthenticationProvider.generateDigest). */
export function digestOf(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon === -1 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

function ipBytes(addr: string): number[] | null {
  let a = addr;
  if (a.startsWith('::ffff:') && isIPv4(a.slice(7))) a = a.slice(7);
  if (isIPv4(a)) return a.split('.').map(Number);
  if (isIPv6(a)) {
    const [head = '', tail = ''] = a.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    const out: number[] = [];
    for (const g of groups) {
      const v = parseInt(g, 16);
      out.push(v >> 8, v & 255);
    }
    return out.length === 16 ? out : null;
  }
  return null;
}

/** ip scheme: "addr" or "addr/bits" (IPAuthenticationProvider.matches). */
export function ipMatches(clientAddr: string, aclExpr: string): boolean {
  const slash = aclExpr.indexOf('/');
  const base = slash === -1 ? aclExpr : aclExpr.slice(0, slash);
  const want = ipBytes(base);
  const have = ipBytes(clientAddr);
  if (!want || !have || want.length !== have.length) return false;
  const bits = slash === -1 ? want.length * 8 : javaParseInt(aclExpr.slice(slash + 1));
  if (bits === null || bits < 0 || bits > want.length * 8) return false;
  for (let i = 0; i < want.length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if ((want[i]! & mask) !== (have[i]! & mask)) return false;
  }
  return true;
}

function ipValid(expr: string): boolean {
  const slash = expr.indexOf('/');
  const base = slash === -1 ? expr : expr.slice(0, slash);
  const b = ipBytes(base);
  if (!b) return false;
  if (slash === -1) return true;
  const bits = javaParseInt(expr.slice(slash + 1));
  return bits !== null && bits >= 0 && bits <= b.length * 8;
}

/** Integer.parseInt: an optional sign and digits, nothing else ("" is not 0). */
function javaParseInt(text: string): number | null {
  return /^[+-]?\d{1,10}$/.test(text) ? Number(text) : null;
}

/** String.split(":") in Java drops trailing empty strings. */
function javaSplitColon(text: string): string[] {
  const parts = text.split(':');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Schemes whose ids an `auth` ACL may take from the caller (AuthenticationProvider.isAuthenticated:
 * true for digest, sasl and x509; false for ip).
 */
const authenticatedSchemes = new Set(['digest', 'sasl', 'x509']);

/**
 * The schemes registered beyond world, digest and ip (ProviderRegistry: `authProvider.N` in
 * zoo.cfg, x509 for a TLS port): an ACL naming another scheme is InvalidACL, as in ZooKeeper.
 */
export type ExtraSchemes = ReadonlySet<'sasl' | 'x509'>;

function schemeValid(scheme: string, id: string, extra: ExtraSchemes): boolean {
  switch (scheme) {
    case 'world':
      return id === 'anyone';
    case 'digest':
      return javaSplitColon(id).length === 2;
    case 'ip':
      return ipValid(id);
    case 'sasl':
    case 'x509':
      // SASLAuthenticationProvider / X509AuthenticationProvider.isValid take any id
      return extra.has(scheme);
    default:
      return false;
  }
}

const NO_EXTRA: ExtraSchemes = new Set();

/**
 * Validates the ACL of a create / setACL and expands `auth` entries into the caller's
 * authenticated ids (PrepRequestProcessor.fixupACL). Throws InvalidACL.
 */
export function fixupACL(path: string, authInfo: readonly Id[], acl: readonly ACL[] | null, extra: ExtraSchemes = NO_EXTRA): ACL[] {
  if (!acl || acl.length === 0) throw new KeeperError(ErrorCode.InvalidACL, path);
  const out: ACL[] = [];
  const seen = new Set<string>();
  const add = (a: ACL): void => {
    const key = `${a.perms}|${a.id.scheme}|${a.id.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(a);
    }
  };
  for (const a of acl) {
    if (a.id.scheme === 'world' && a.id.id === 'anyone') {
      add(a);
    } else if (a.id.scheme === 'auth') {
      let valid = false;
      for (const cid of authInfo) {
        if (authenticatedSchemes.has(cid.scheme)) {
          valid = true;
          add({ perms: a.perms, id: { scheme: cid.scheme, id: cid.id } });
        }
      }
      if (!valid) throw new KeeperError(ErrorCode.InvalidACL, path);
    } else {
      if (!schemeValid(a.id.scheme, a.id.id, extra)) throw new KeeperError(ErrorCode.InvalidACL, path);
      add(a);
    }
  }
  return out;
}

/** true when one of the caller's ids holds one of the perm bits (ZooKeeperServer.checkACL). */
export function aclAllows(acl: readonly ACL[], perm: number, authInfo: readonly Id[]): boolean {
  if (acl.length === 0) return true;
  for (const id of authInfo) if (id.scheme === 'super') return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') return true;
    for (const cid of authInfo) {
      if (cid.scheme !== scheme) continue;
      if (scheme === 'ip' ? ipMatches(cid.id, id) : cid.id === id) return true;
    }
  }
  return false;
}

export function checkACL(acl: readonly ACL[], perm: number, authInfo: readonly Id[], path: string): void {
  if (!aclAllows(acl, perm, authInfo)) throw new KeeperError(ErrorCode.NoAuth, path);
}

/**
 * Handles an auth packet (AuthPacket). Returns the ids to add, or null for AuthFailed.
 * digest: "user:password"; a match of the configured super digest adds the super id too.
 */
export function authenticate(scheme: string, auth: Buffer, remoteAddr: string, superDigest: string | undefined): Id[] | null {
  if (scheme === 'digest') {
    // like DigestAuthenticationProvider: any text is accepted; "user:password" is the useful form
    const id = digestOf(auth.toString('utf8'));
    const ids: Id[] = [];
    if (superDigest !== undefined && id === superDigest) ids.push({ scheme: 'super', id: '' });
    ids.push({ scheme: 'digest', id });
    return ids;
  }
  if (scheme === 'ip') return [{ scheme: 'ip', id: remoteAddr }];
  return null;
}

/** getACL without ADMIN permission shows digest ids as user:x (ZOOKEEPER-1392). */
export function redactDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((a) => (a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } } : a));
}
