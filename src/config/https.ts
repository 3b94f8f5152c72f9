// HTTPS for the AdminServer and the Prometheus endpoint, read from the keys ZooKeeper reads:
// - the AdminServer (JettyAdminServer, 3.7+): admin.forceHttps (HTTPS only), admin.portUnification
//   (HTTP and HTTPS on one port; forceHttps wins), admin.needClientAuth (3.9), and its certificates
//   from QuorumX509Util's keys, ssl.quorum.keyStore.* and ssl.quorum.trustStore.* (location,
//   password, passwordPath, type), ssl.quorum.enabledProtocols and ssl.quorum.ciphersuites. Jetty
//   loads both stores whenever HTTPS is on, so both are required, as there.
// - PrometheusMetricsProvider (ZooKeeper's master, ZOOKEEPER-4798 / -5024 / -5029): httpsPort with
//   its own ssl.* settings (metricsProvider.ssl.keyStore.location, ...), ssl.need.client.auth and
//   ssl.want.client.auth (both true unless set), ssl.enabledProtocols, ssl.ciphersuites; httpPort
//   equal to httpsPort is one port for both.
// Pure: the files are read at start-up (runtime/tlsfiles.ts builds Node's options from the result).

import { ConfigError } from './error.js';
import { checkPort, javaSplit, javaTrim, parseJavaInt, strictBoolean } from './javavalues.js';
import type { QuorumKeys, SystemProperties } from './settings.js';
import { cipherList, storeConfig, versionsOf, type ClientAuth, type ClientTlsConfig, type KeySource, type TlsVersion } from './tls.js';

/** What an HTTP endpoint speaks: HTTP only, HTTPS only, or both on one port (the first byte tells). */
export type HttpSecurityKind = 'plain' | 'tls' | 'unified';

/** The TLS side of an HTTPS endpoint: the same fields as the secure client port's. */
export type HttpsTlsConfig = ClientTlsConfig;

export interface AdminHttpsSettings {
  adminSecurity: HttpSecurityKind;
  /** null when the AdminServer speaks HTTP only */
  adminTls: HttpsTlsConfig | null;
}

/** A boolean switch: absent is false; set, it must say true or false (Boolean.getBoolean would take anything as false). */
function flag(src: KeySource, name: string, dflt = false): boolean {
  const raw = src.get(name);
  return raw === undefined || raw === '' ? dflt : strictBoolean(src.key(name), raw);
}

/** *.enabledProtocols (Jetty's setIncludeProtocols): comma-separated; unset, TLSv1.2 and TLSv1.3. */
function protocolRange(src: KeySource, name: string): { minVersion: TlsVersion; maxVersion: TlsVersion } {
  const raw = src.get(name);
  if (raw === undefined || javaTrim(raw) === '') return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
  const key = src.key(name);
  const sorted = [...new Set(javaSplit(raw, ',').flatMap((p) => versionsOf(key, javaTrim(p))))].sort();
  return { minVersion: sorted[0] as TlsVersion, maxVersion: sorted[sorted.length - 1] as TlsVersion };
}

/** The key and trust stores under `at` (e.g. ssl.quorum), the key store required, and what it is required for. */
function stores(
  src: KeySource,
  at: string,
  passwordPath: boolean,
  needTrust: boolean,
  why: string,
): Pick<HttpsTlsConfig, 'keyStore' | 'trustStore'> {
  const keyStore = storeConfig(src, `${at}.keyStore`, passwordPath);
  if (keyStore === undefined) {
    const k = src.key(`${at}.keyStore.location`);
    throw new ConfigError(k, `${k} must name the server's certificate and key (PEM or PKCS12) when ${why}`);
  }
  const trustStore = storeConfig(src, `${at}.trustStore`, passwordPath);
  if (trustStore === undefined && needTrust) {
    const k = src.key(`${at}.trustStore.location`);
    throw new ConfigError(k, `${k} must name the CA certificates (PEM or PKCS12) when ${why}`);
  }
  return { keyStore, trustStore };
}

/**
 * admin.forceHttps / admin.portUnification / admin.needClientAuth and the ssl.quorum.* stores. When
 * the AdminServer is off or speaks HTTP only, ZooKeeper reads none of them: they are left with a
 * warning.
 */
export function adminHttpsSettings(sys: SystemProperties, adminEnabled: boolean, warnings: string[]): AdminHttpsSettings {
  const forceHttps = flag(sys, 'admin.forceHttps');
  const portUnification = flag(sys, 'admin.portUnification');
  const needClientAuth = flag(sys, 'admin.needClientAuth');
  if (!adminEnabled || (!forceHttps && !portUnification)) {
    const why = adminEnabled
      ? 'no admin.forceHttps=true or admin.portUnification=true, so the AdminServer speaks HTTP only'
      : 'the AdminServer is off';
    const unused = adminEnabled ? ['admin.needClientAuth'] : ['admin.forceHttps', 'admin.portUnification', 'admin.needClientAuth'];
    for (const bare of unused) if (sys.get(bare) !== undefined) warnings.push(`${sys.key(bare)}: ${why}`);
    return { adminSecurity: 'plain', adminTls: null };
  }
  const why = forceHttps ? 'admin.forceHttps is true' : 'admin.portUnification is true';
  return {
    // JettyAdminServer: forceHttps takes the TLS connector; portUnification alone the unified one
    adminSecurity: forceHttps ? 'tls' : 'unified',
    adminTls: {
      ...stores(sys, 'ssl.quorum', true, true, why),
      clientAuth: needClientAuth ? 'need' : 'none',
      ...protocolRange(sys, 'ssl.quorum.enabledProtocols'),
      ciphers: cipherList(sys.key('ssl.quorum.ciphersuites'), sys.get('ssl.quorum.ciphersuites')),
    },
  };
}

/** PrometheusMetricsProvider's settings: metricsProvider.NAME. */
function metricsKeys(q: QuorumKeys): KeySource {
  return { get: (n) => q.get(`metricsProvider.${n}`), key: (n) => `metricsProvider.${n}` };
}

export interface MetricsHttpsSettings {
  /** metricsProvider.httpsPort; null when not set */
  httpsPort: number | null;
  tls: HttpsTlsConfig | null;
}

/** ssl.need.client.auth and ssl.want.client.auth (each true unless set): Jetty asks for a certificate if either is. */
function metricsClientAuth(src: KeySource): ClientAuth {
  if (flag(src, 'ssl.need.client.auth', true)) return 'need';
  return flag(src, 'ssl.want.client.auth', true) ? 'want' : 'none';
}

/** metricsProvider.httpsPort and its ssl.* settings (read only when the Prometheus endpoint is on). */
export function metricsHttpsSettings(q: QuorumKeys): MetricsHttpsSettings {
  const src = metricsKeys(q);
  const raw = q.get('metricsProvider.httpsPort');
  // -1 is the provider's "not set" (its default)
  const port =
    raw === undefined || javaTrim(raw) === '-1'
      ? null
      : checkPort('metricsProvider.httpsPort', raw, parseJavaInt('metricsProvider.httpsPort', raw));
  if (port === null) return { httpsPort: null, tls: null };
  const clientAuth = metricsClientAuth(src);
  return {
    httpsPort: port,
    tls: {
      ...stores(
        src,
        'ssl',
        false,
        clientAuth === 'need',
        clientAuth === 'need'
          ? 'metricsProvider.httpsPort is set and metricsProvider.ssl.need.client.auth is true (its default)'
          : 'metricsProvider.httpsPort is set',
      ),
      clientAuth,
      ...protocolRange(src, 'ssl.enabledProtocols'),
      ciphers: cipherList(src.key('ssl.ciphersuites'), src.get('ssl.ciphersuites')),
    },
  };
}
