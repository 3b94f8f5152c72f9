// The client side of SASL DIGEST-MD5 (RFC 2831) as ZooKeeper's Java client runs it
// (ZooKeeperSaslClient with Java's DigestMD5Client, protocol "zookeeper", server name
// "zk-sasl-md5"; SaslClientCallbackHandler takes the realm the server offers). DIGEST-MD5 has no
// initial response, so the first token is empty; the server's challenge is answered with a
// digest-response; the server's last token (rspauth) proves it knows the password too, and is
// checked. qop "auth" only: ZooKeeper's server offers no integrity or confidentiality layer.
// Pure: the client nonce is an argument.
import { digestResponse, parseDirectives, SASL_DIGEST_URI } from '../util/digestmd5.js';

export interface SaslCredentials {
  /** DIGEST-MD5 only (ZooKeeper's DigestLoginModule); Kerberos (GSSAPI) is not offered */
  mechanism?: 'DIGEST-MD5';
  username: string;
  password: string;
}

export type SaslClientStep = { kind: 'send'; token: Buffer } | { kind: 'done' } | { kind: 'failure'; reason: string };

/** One connection's exchange (a new one for every connection: ClientCnxn makes a new ZooKeeperSaslClient per attempt). */
export class DigestMd5Client {
  private state: 'start' | 'responded' | 'done' = 'start';
  private expected = '';

  constructor(
    private readonly creds: SaslCredentials,
    /** a fresh, unguessable client nonce */
    private readonly cnonce: string,
  ) {}

  /** The first token: empty (DIGEST-MD5 has no initial response). */
  initial(): Buffer {
    return Buffer.alloc(0);
  }

  /** The next step for the server's token. */
  step(token: Buffer): SaslClientStep {
    if (this.state === 'start') {
      this.state = 'responded';
      try {
        return this.respond(parseDirectives(token.toString('utf8')));
      } catch (e) {
        return { kind: 'failure', reason: `malformed DIGEST-MD5 challenge: ${(e as Error).message}` };
      }
    }
    if (this.state === 'done') return { kind: 'failure', reason: 'DIGEST-MD5 exchange already complete' };
    this.state = 'done';
    let d: Map<string, string>;
    try {
      d = parseDirectives(token.toString('utf8'));
    } catch (e) {
      return { kind: 'failure', reason: `malformed DIGEST-MD5 response-auth: ${(e as Error).message}` };
    }
    // Java's DigestMD5Client refuses a server that cannot prove it knows the password
    if (d.get('rspauth')?.toLowerCase() !== this.expected)
      return { kind: 'failure', reason: 'the server failed to prove it knows the password (rspauth)' };
    return { kind: 'done' };
  }

  private respond(c: Map<string, string>): SaslClientStep {
    const nonce = c.get('nonce');
    if (nonce === undefined) return { kind: 'failure', reason: 'the challenge has no nonce' };
    const qops = (c.get('qop') ?? 'auth').split(',').map((q) => q.trim());
    if (!qops.includes('auth')) return { kind: 'failure', reason: `the server offers qop ${qops.join(',')}, not auth` };
    const algorithm = c.get('algorithm');
    if (algorithm !== undefined && algorithm.toLowerCase() !== 'md5-sess')
      return { kind: 'failure', reason: `algorithm ${algorithm} is not md5-sess` };
    // the realm the server offers (SaslClientCallbackHandler: RealmCallback's default text)
    const realm = c.get('realm') ?? '';
    const p = {
      username: this.creds.username,
      realm,
      password: this.creds.password,
      nonce,
      cnonce: this.cnonce,
      nc: '00000001',
      qop: 'auth',
      digestUri: SASL_DIGEST_URI,
    };
    this.expected = digestResponse(p, '');
    const utf8 = c.get('charset')?.toLowerCase() === 'utf-8';
    const response = [
      ...(utf8 ? ['charset=utf-8'] : []),
      `username="${quote(p.username)}"`,
      `realm="${quote(realm)}"`,
      `nonce="${quote(nonce)}"`,
      `nc=${p.nc}`,
      `cnonce="${quote(p.cnonce)}"`,
      `digest-uri="${SASL_DIGEST_URI}"`,
      'maxbuf=65536',
      `response=${digestResponse(p, 'AUTHENTICATE')}`,
      'qop=auth',
    ].join(',');
    return { kind: 'send', token: Buffer.from(response, 'utf8') };
  }
}

/** RFC 2831 quoted-string: a backslash before " and \. */
function quote(s: string): string {
  return s.replace(/["\\]/g, (m) => `\\${m}`);
}
