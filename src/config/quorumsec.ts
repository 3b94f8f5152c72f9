// Security between the members of an ensemble, as ZooKeeper configures it: TLS on the quorum port
// (QuorumPeerConfig's sslQuorum, portUnification and sslQuorumReloadCertFiles; the
// zookeeper.ssl.quorum.* system properties QuorumX509Util reads) and quorum SASL (QuorumAuth's
// quorum.auth.* keys). Pure: keys in, typed settings out; the files are read by the runtime
// (runtime/tlsfiles.ts, runtime/authfiles.ts).

import { ConfigError } from './error.js';
import { ADMIN_TLS_KEYS, QUORUM_TLS_KEYS } from './keys.js';
import { strictBoolean } from './javavalues.js';
import type { QuorumKeys, SystemProperties } from './settings.js';
import {
  ciphers,
  clientAuth,
  handshakeDetectionTimeout,
  protocolRange,
  refuseUnsupported,
  store,
  type ClientAuth,
  type StoreConfig,
  type TlsVersion,
} from './tls.js';

/** QuorumX509Util's property prefix (below "zookeeper.") */
export const QUORUM_SSL_PREFIX = 'ssl.quorum.';

export interface PeerTlsConfig {
  keyStore: StoreConfig;
  /** undefined: Node's bundled root CAs (Java's default trust store) */
  trustStore: StoreConfig | undefined;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  ciphers: string;
  /**
   * ssl.quorum.hostnameVerification (default true). QuorumX509Util verifies client host names too,
   * so both ends check: the connecting member checks the certificate against the host of the
   * server.N line, the accepting one against the connecting address (ZKTrustManager).
   */
  hostnameVerification: boolean;
  /**
   * X509Util.isClientHostnameVerificationEnabled: ssl.quorum.clientHostnameVerification (ZooKeeper
   * 3.9.4+, default true for the quorum) and hostnameVerification. When false the accepting member
   * does not check the connecting member's certificate against its address.
   */
  clientHostnameVerification: boolean;
  /**
   * ssl.quorum.clientAuth (SSLContextAndOptions: NEED, WANT or NONE on the quorum server socket;
   * default need). With want or none a connector without a certificate is let in (SASL may still
   * authenticate it); with want a certificate it does present must chain to the trust store.
   */
  clientAuth: ClientAuth;
  /** ssl.quorum.handshakeDetectionTimeoutMillis (X509Util, default 5000): a TLS handshake not done by then is dropped */
  handshakeTimeoutMs: number;
}

export interface QuorumSaslConfig {
  /** quorum.auth.learnerRequireSasl: a connecting member refuses an acceptor that does not prove the password */
  learnerRequireSasl: boolean;
  /** quorum.auth.serverRequireSasl: an accepting member refuses a connection that does not authenticate */
  serverRequireSasl: boolean;
  /** quorum.auth.learner.saslLoginContext (QuorumLearner): the JAAS section with this member's username / password */
  learnerContext: string;
  /** quorum.auth.server.saslLoginContext (QuorumServer): the JAAS section with the user_NAME entries peers are checked against */
  serverContext: string;
}

export interface QuorumSecurityConfig {
  /** sslQuorum: connections this member opens to its peers use TLS */
  sslQuorum: boolean;
  /** portUnification: the quorum port takes TLS and plain connections (the first byte tells) */
  portUnification: boolean;
  /** sslQuorumReloadCertFiles: a changed key or trust store file is read again without a restart */
  reloadCertFiles: boolean;
  /** the quorum TLS settings; null when neither sslQuorum nor portUnification asks for TLS */
  tls: PeerTlsConfig | null;
  /** quorum.auth.enableSasl; null when false */
  sasl: QuorumSaslConfig | null;
}

/** QuorumX509Util's TLS settings; the key store is required (the quorum port always needs a certificate). */
function peerTls(sys: SystemProperties, warnings: string[]): PeerTlsConfig {
  const p = QUORUM_SSL_PREFIX;
  const keyStore = store(sys, 'keyStore', p);
  if (keyStore === undefined) {
    const k = sys.key(`${p}keyStore.location`);
    throw new ConfigError(k, `${k} must name this member's certificate and key (PEM or PKCS12) when sslQuorum or portUnification is true`);
  }
  refuseUnsupported(sys, p);
  const hv = sys.get(`${p}hostnameVerification`);
  const hostnameVerification = hv === undefined ? true : strictBoolean(sys.key(`${p}hostnameVerification`), hv);
  const chv = sys.get(`${p}clientHostnameVerification`);
  const clientHv = chv === undefined ? true : strictBoolean(sys.key(`${p}clientHostnameVerification`), chv);
  const trustStore = store(sys, 'trustStore', p);
  if (trustStore === undefined) {
    // Java's default trust store (cacerts) too: any certificate a public CA issued for a member's host name would do
    warnings.push(
      `${sys.key(`${p}trustStore.location`)} is not set: the quorum port trusts Node's public root CAs, so any publicly issued certificate naming a member's host is accepted; set it to the ensemble's own CA`,
    );
  }
  return {
    keyStore,
    trustStore,
    ...protocolRange(sys, p),
    ciphers: ciphers(sys, p),
    hostnameVerification,
    clientHostnameVerification: hostnameVerification && clientHv,
    clientAuth: clientAuth(sys, p),
    handshakeTimeoutMs: handshakeDetectionTimeout(sys, p, warnings),
  };
}

/** QuorumPeerConfig's quorum.auth.* checks: the require flags need enableSasl, serverRequireSasl needs learnerRequireSasl. */
function quorumSasl(q: QuorumKeys): QuorumSaslConfig | null {
  const enable = q.boolean('quorum.auth.enableSasl', false);
  const learnerRequireSasl = q.boolean('quorum.auth.learnerRequireSasl', false);
  const serverRequireSasl = q.boolean('quorum.auth.serverRequireSasl', false);
  if (!enable && serverRequireSasl) {
    throw new ConfigError(
      'quorum.auth.serverRequireSasl',
      'quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl',
    );
  }
  if (!enable && learnerRequireSasl) {
    throw new ConfigError(
      'quorum.auth.learnerRequireSasl',
      'quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl',
    );
  }
  // ZooKeeper: a member that requires SASL of others must also authenticate itself, or it could not join
  if (serverRequireSasl && !learnerRequireSasl) {
    throw new ConfigError(
      'quorum.auth.serverRequireSasl',
      'quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl',
    );
  }
  if (!enable) return null;
  const context = (key: string, dflt: string): string => {
    const v = q.get(key);
    return v === undefined || v === '' ? dflt : v;
  };
  return {
    learnerRequireSasl,
    serverRequireSasl,
    learnerContext: context('quorum.auth.learner.saslLoginContext', 'QuorumLearner'),
    serverContext: context('quorum.auth.server.saslLoginContext', 'QuorumServer'),
  };
}

/**
 * The quorum security settings. The ssl.quorum.* keys are read only when sslQuorum or
 * portUnification asks for TLS (otherwise they are left with a warning, as for the client keys);
 * on a standalone server every one of these keys is left with a warning: it has no peers.
 */
export function quorumSecuritySettings(
  q: QuorumKeys,
  sys: SystemProperties,
  distributed: boolean,
  warnings: string[],
): QuorumSecurityConfig {
  const sslQuorum = q.boolean('sslQuorum', false);
  const portUnification = q.boolean('portUnification', false);
  const reloadCertFiles = q.boolean('sslQuorumReloadCertFiles', false);
  const sasl = quorumSasl(q);
  const off: QuorumSecurityConfig = { sslQuorum: false, portUnification: false, reloadCertFiles: false, tls: null, sasl: null };
  if (!distributed) {
    for (const k of ['sslQuorum', 'portUnification', 'sslQuorumReloadCertFiles', 'quorum.auth.enableSasl']) {
      if (q.get(k) !== undefined) warnings.push(`${k}: a standalone server has no peers; ignored`);
    }
    return off;
  }
  if (!sslQuorum && !portUnification) {
    if (reloadCertFiles)
      warnings.push(
        'sslQuorumReloadCertFiles: neither sslQuorum nor portUnification is true, so there are no quorum certificates to reload',
      );
    return { ...off, sasl };
  }
  return { sslQuorum, portUnification, reloadCertFiles, tls: peerTls(sys, warnings), sasl };
}

/**
 * The ssl.quorum.* keys serve two readers, the quorum port (sslQuorum / portUnification) and the
 * AdminServer over HTTPS (JettyAdminServer reads its stores from them): a key neither uses gets
 * one warning, said once here rather than by each reader.
 */
export function warnUnusedQuorumTlsKeys(sys: SystemProperties, used: { byQuorum: boolean; byAdmin: boolean }, warnings: string[]): void {
  if (used.byQuorum) return;
  const admin = new Set<string>(ADMIN_TLS_KEYS);
  for (const bare of QUORUM_TLS_KEYS) {
    if (sys.get(bare) === undefined || (used.byAdmin && admin.has(bare))) continue;
    warnings.push(
      `${sys.key(bare)}: not used: the quorum port is not on TLS (sslQuorum, portUnification)` +
        (admin.has(bare) ? ' and the AdminServer speaks HTTP only (admin.forceHttps, admin.portUnification)' : ''),
    );
  }
}
