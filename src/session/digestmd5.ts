// The server side of SASL DIGEST-MD5 (RFC 2831), as ZooKeeper runs it for clients: Java's
// DigestMD5Server created with protocol "zookeeper" and server name "zk-sasl-md5"
// (ZooKeeperSaslServer / SecurityUtils), realm "zk-sasl-md5", qop "auth" only (no integrity or
// confidentiality layer), passwords from the JAAS Server section's user_NAME options.
//
// Two steps: the client's empty first token gets the challenge (realm, nonce, qop, charset,
// algorithm); its digest-response is checked, and the answer is `rspauth=...`, which proves to
// the client that the server knows the password too. Pure: the nonce is an argument.
import { digestResponse, parseDirectives, SASL_DIGEST_REALM, SASL_DIGEST_URI } from '../util/digestmd5.js';

export { digestResponse, parseDirectives, SASL_DIGEST_REALM, SASL_DIGEST_URI };

export type DigestStep =
  | { kind: 'challenge'; token: Buffer }
  | { kind: 'success'; token: Buffer; authorizationId: string }
  | { kind: 'failure'; reason: string };

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
