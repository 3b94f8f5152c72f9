// DIGEST-MD5 (RFC 2831) as ZooKeeper's clients and servers speak it: the directive syntax, the
// response digest and the names Java's SASL uses for ZooKeeper (protocol "zookeeper", server name
// and realm "zk-sasl-md5": ZooKeeperSaslClient / ZooKeeperSaslServer). Shared by the server
// (session/digestmd5.ts) and the client (client/sasl.ts). Pure.
import { createHash } from 'node:crypto';

export const SASL_DIGEST_REALM = 'zk-sasl-md5';
export const SASL_DIGEST_URI = `zookeeper/${SASL_DIGEST_REALM}`;

/** Splits `key=value, key="quoted value", ...` (RFC 2831 section 7.1's #rule list). */
export function parseDirectives(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const skip = (): void => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  skip();
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq === -1) throw new Error(`directive without '=': ${text.slice(i, i + 40)}`);
    const key = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < text.length && /\s/.test(text[i]!)) i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated quoted value of ${key}`);
        const c = text[i]!;
        if (c === '"') break;
        if (c === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
    } else {
      const end = text.indexOf(',', i);
      value = (end === -1 ? text.slice(i) : text.slice(i, end)).trim();
      i = end === -1 ? text.length : end;
    }
    if (out.has(key)) throw new Error(`directive ${key} given twice`);
    out.set(key, value);
    skip();
  }
  return out;
}

/**
 * RFC 2831 2.1.2.1: with charset=utf-8, a string whose characters all fit ISO 8859-1 is hashed in
 * 8859-1, any other in UTF-8 (so old clients and new ones agree on Latin-1 names).
 */
function credentialBytes(s: string): Buffer {
  for (const ch of s) if (ch.codePointAt(0)! > 0xff) return Buffer.from(s, 'utf8');
  return Buffer.from(s, 'latin1');
}

const md5 = (...parts: Array<Buffer | string>): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (b: Buffer): string => b.toString('hex');

/** The response value (RFC 2831 2.1.2.1); `a2Prefix` is "AUTHENTICATE" for the client's, "" for rspauth. */
export function digestResponse(
  p: {
    username: string;
    realm: string;
    password: string;
    nonce: string;
    cnonce: string;
    nc: string;
    qop: string;
    digestUri: string;
    authzid?: string | undefined;
  },
  a2Prefix: string,
): string {
  const secret = md5(credentialBytes(p.username), ':', credentialBytes(p.realm), ':', credentialBytes(p.password));
  const a1 = p.authzid
    ? Buffer.concat([secret, Buffer.from(`:${p.nonce}:${p.cnonce}:${p.authzid}`, 'utf8')])
    : Buffer.concat([secret, Buffer.from(`:${p.nonce}:${p.cnonce}`, 'utf8')]);
  const a2 = `${a2Prefix}:${p.digestUri}`;
  return hex(md5(`${hex(md5(a1))}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${hex(md5(a2))}`));
}
