// The server side of SASL DIGEST-MD5 (RFC 2831), as ZooKeeper runs it for clients: Java's
// DigestMD5Server created with protocol "zookeeper" and server name "zk-sasl-md5"
// (ZooKeeperSaslServer / SecurityUtils), realm "zk-sasl-md5", qop "auth" only (no integrity or
// confidentiality layer), passwords from the JAAS Server section's user_NAME options.
//
// Two steps: the client's empty first token gets the challenge (realm, nonce, qop, charset,
// algorithm); its digest-response is checked, and the answer is `rspauth=...`, which proves to
// the client that the server knows the password too. Pure: the nonce is an argument.
import { createHash } from 'node:crypto';

export const SASL_DIGEST_REALM = 'zk-sasl-md5';
export const SASL_DIGEST_URI = `zookeeper/${SASL_DIGEST_REALM}`;

export type DigestStep =
  | { kind: 'challenge'; token: Buffer }
  | { kind: 'success'; token: Buffer; authorizationId: string }
  | { kind: 'failure'; reason: string };

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

/** One connection's DIGEST-MD5 exchange. */
export class DigestMd5Server {
  private state: 'start' | 'challenged' | 'done' = 'start';

  constructor(
    /** the password of a user, undefined for one the JAAS Server section does not name */
    private readonly password: (user: string) => string | undefined,
    /** a fresh, unguessable nonce (the runtime's random bytes) */
    private readonly nonce: string,
  ) {}

  get complete(): boolean {
    return this.state === 'done';
  }

  /** The next step for the client's token. */
  step(token: Buffer): DigestStep {
    if (this.state === 'start') {
      this.state = 'challenged';
      // the client's first token is empty for DIGEST-MD5; Java's server ignores it too
      const challenge = `realm="${SASL_DIGEST_REALM}",nonce="${this.nonce}",qop="auth",charset=utf-8,algorithm=md5-sess`;
      return { kind: 'challenge', token: Buffer.from(challenge, 'utf8') };
    }
    if (this.state === 'done') return { kind: 'failure', reason: 'DIGEST-MD5 exchange already complete' };
    this.state = 'done';
    try {
      return this.check(parseDirectives(token.toString('utf8')));
    } catch (e) {
      return { kind: 'failure', reason: `malformed digest-response: ${(e as Error).message}` };
    }
  }

  private check(d: Map<string, string>): DigestStep {
    const need = (k: string): string => {
      const v = d.get(k);
      if (v === undefined) throw new Error(`missing ${k}`);
      return v;
    };
    const username = need('username');
    const qop = d.get('qop') ?? 'auth';
    if (qop !== 'auth') return { kind: 'failure', reason: `qop ${qop} is not offered (auth only)` };
    if (need('nonce') !== this.nonce) return { kind: 'failure', reason: 'nonce does not match the challenge' };
    const nc = need('nc');
    if (!/^0*1$/.test(nc)) return { kind: 'failure', reason: `nonce-count ${nc} is not 1` };
    const digestUri = need('digest-uri');
    if (digestUri !== SASL_DIGEST_URI) return { kind: 'failure', reason: `digest-uri ${digestUri} is not ${SASL_DIGEST_URI}` };
    const realm = d.get('realm') ?? SASL_DIGEST_REALM;
    if (realm !== SASL_DIGEST_REALM) return { kind: 'failure', reason: `realm ${realm} is not ${SASL_DIGEST_REALM}` };
    const password = this.password(username);
    if (password === undefined) return { kind: 'failure', reason: `no user ${username} in the JAAS Server section` };
    const authzid = d.get('authzid');
    const p = { username, realm, password, nonce: this.nonce, cnonce: need('cnonce'), nc, qop, digestUri, authzid };
    const response = need('response').toLowerCase();
    if (digestResponse(p, 'AUTHENTICATE') !== response) return { kind: 'failure', reason: `wrong password for ${username}` };
    // ZooKeeper's SaslServerCallbackHandler authorizes the authenticated user under its own name
    // (the short name of a Kerberos principal, which for a DIGEST user is the name itself)
    return { kind: 'success', token: Buffer.from(`rspauth=${digestResponse(p, '')}`, 'utf8'), authorizationId: username };
  }
}
