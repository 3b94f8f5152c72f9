// Client TLS as ZooKeeper configures it: secureClientPort / secureClientPortAddress (QuorumPeerConfig),
// client.portUnification, and the zookeeper.ssl.* system properties its ClientX509Util reads
// (X509Util: keyStore / trustStore location, password, type; protocol, enabledProtocols,
// ciphersuites, clientAuth, hostnameVerification). Pure: the files are read at start-up
// (runtime/tlsfiles.ts); here the keys are checked and typed, and a value Node's TLS cannot honour
// stops start-up naming the key.

import { ConfigError } from './error.js';
import { CLIENT_TLS_KEYS } from './keys.js';
import { checkPort, javaSplit, javaTrim, parseJavaInt, strictBoolean } from './javavalues.js';
import type { QuorumKeys, SystemProperties } from './settings.js';

export type StoreType = 'PEM' | 'PKCS12';
export type ClientAuth = 'none' | 'want' | 'need';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface StoreConfig {
  /** the key that named the file, as written (for messages) */
  key: string;
  location: string;
  /** the key of its password, as written (for messages): ssl.*.passwordPath when that gives it */
  passwordKey: string;
  password: string | undefined;
  /** ssl.*.passwordPath: a file holding the password (read at start), which wins over ssl.*.password as in X509Util */
  passwordPath: string | undefined;
  type: StoreType;
}

/** What the secure client port (or a unified client port) offers. */
export interface ClientTlsConfig {
  keyStore: StoreConfig;
  /** undefined: Node's bundled root CAs (Java's default trust store, cacerts) */
  trustStore: StoreConfig | undefined;
  clientAuth: ClientAuth;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** OpenSSL cipher list and TLS 1.3 suites, colon-separated (Node's `ciphers`) */
  ciphers: string;
  /** ssl.handshakeDetectionTimeoutMillis (X509Util, default 5000); the client port's only (not the AdminServer's) */
  handshakeTimeoutMs?: number;
}

export interface ClientTlsSettings {
  /** undefined when not set (or 0) */
  secureClientPort: number | undefined;
  secureClientPortAddress: string | undefined;
  /** client.portUnification: the plain client port also takes TLS clients */
  portUnification: boolean;
  /** null when neither a secure port nor port unification asks for TLS */
  clientTls: ClientTlsConfig | null;
}

/** X509Util's defaults for Java 9+ (getDefaultCipherSuitesForJavaVersion), then the TLS 1.3 suites of ZooKeeper 3.9. */
const DEFAULT_CIPHER_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
];

/** TLS 1.3 suites: OpenSSL (and Node) use the standard names. */
const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

/** Java's (IANA) names of the TLS 1.2 key exchanges and bulk ciphers OpenSSL 3 offers, and OpenSSL's spelling. */
const KEY_EXCHANGES: Readonly<Record<string, string>> = {
  ECDHE_ECDSA: 'ECDHE-ECDSA-',
  ECDHE_RSA: 'ECDHE-RSA-',
  DHE_RSA: 'DHE-RSA-',
  RSA: '',
};
const BULK_CIPHERS: Readonly<Record<string, string>> = {
  AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  AES_128_CBC_SHA256: 'AES128-SHA256',
  AES_256_CBC_SHA384: 'AES256-SHA384',
  AES_256_CBC_SHA256: 'AES256-SHA256',
  AES_128_CBC_SHA: 'AES128-SHA',
  AES_256_CBC_SHA: 'AES256-SHA',
  CHACHA20_POLY1305_SHA256: 'CHACHA20-POLY1305',
};

/** A Java cipher suite name as OpenSSL names it; undefined when Node's OpenSSL has no such suite. */
export function openSslCipherName(javaName: string): string | undefined {
  if (TLS13_SUITES.has(javaName)) return javaName;
  const m = /^TLS_(ECDHE_ECDSA|ECDHE_RSA|DHE_RSA|RSA)_WITH_(.+)$/.exec(javaName);
  if (!m) return undefined;
  const kx = KEY_EXCHANGES[m[1] as string];
  const bulk = BULK_CIPHERS[m[2] as string];
  if (kx === undefined || bulk === undefined) return undefined;
  // OpenSSL has no plain-RSA CHACHA20 suite
  if (kx === '' && bulk === 'CHACHA20-POLY1305') return undefined;
  return kx + bulk;
}

/** X509Util.ClientAuth.fromPropertyValue: NONE / WANT / NEED in any case; unset or empty is NEED. */
export function clientAuth(sys: SystemProperties, p = 'ssl.'): ClientAuth {
  const raw = sys.get(`${p}clientAuth`);
  if (raw === undefined || raw === '') return 'need';
  const v = raw.toLowerCase();
  if (v === 'none' || v === 'want' || v === 'need') return v;
  const key = sys.key(`${p}clientAuth`);
  throw new ConfigError(key, `Invalid value for ${key}: '${raw}'; choose none, want or need`);
}

/** A protocol name as SSLContext.getInstance / setEnabledProtocols take it, as the TLS versions Node can offer. */
export function versionsOf(key: string, name: string): TlsVersion[] {
  if (name === 'TLSv1.2' || name === 'TLSv1.3') return [name];
  if (name === 'TLS') return ['TLSv1.2', 'TLSv1.3'];
  throw new ConfigError(
    key,
    `Invalid value for ${key}: '${name}'; Ark's TLS (Node.js, OpenSSL 3) offers TLSv1.2 and TLSv1.3 (SSLv3, TLSv1 and TLSv1.1 are not offered)`,
  );
}

/**
 * ssl.protocol and ssl.enabledProtocols: ZooKeeper enables ssl.enabledProtocols when set, otherwise
 * only ssl.protocol. Unset, Ark offers TLSv1.2 and TLSv1.3 as ZooKeeper 3.9 does (3.8 offers TLSv1.2).
 */
export function protocolRange(sys: SystemProperties, p = 'ssl.'): { minVersion: TlsVersion; maxVersion: TlsVersion } {
  const protocol = sys.get(`${p}protocol`);
  const enabled = sys.get(`${p}enabledProtocols`);
  let versions: TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];
  if (enabled !== undefined && javaTrim(enabled) !== '') {
    const key = sys.key(`${p}enabledProtocols`);
    versions = javaSplit(enabled, ',').flatMap((p) => versionsOf(key, javaTrim(p)));
  } else if (protocol !== undefined && protocol !== '') {
    versions = versionsOf(sys.key(`${p}protocol`), protocol);
  }
  if (protocol !== undefined && protocol !== '') versionsOf(sys.key(`${p}protocol`), protocol); // checked even when enabledProtocols wins
  const sorted = [...new Set(versions)].sort();
  return { minVersion: sorted[0] as TlsVersion, maxVersion: sorted[sorted.length - 1] as TlsVersion };
}

/** ssl.ciphersuites: Java's comma-separated suite names, each turned into OpenSSL's; one Node lacks stops start-up. */
export function ciphers(sys: SystemProperties, p = 'ssl.'): string {
  return cipherList(sys.key(`${p}ciphersuites`), sys.get(`${p}ciphersuites`));
}

/** A *.ciphersuites value (unset or empty: X509Util's defaults) as Node's cipher list; `key` names it in errors. */
export function cipherList(key: string, raw: string | undefined): string {
  const names = raw === undefined || javaTrim(raw) === '' ? DEFAULT_CIPHER_SUITES : javaSplit(raw, ',').map(javaTrim);
  return names
    .map((n) => {
      const o = openSslCipherName(n);
      if (o === undefined) {
        throw new ConfigError(
          key,
          `Invalid value for ${key}: cipher suite '${n}' is not one Ark's TLS (Node.js, OpenSSL 3) offers; use Java's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256`,
        );
      }
      return o;
    })
    .join(':');
}

/** The conversion a JKS store needs: Node's TLS reads PEM and PKCS12 only. */
function jksError(key: string, location: string): ConfigError {
  return new ConfigError(
    key,
    `${key}: '${location}' is a JKS store, which Ark cannot read; convert it once to PKCS12 with ` +
      `keytool -importkeystore -srckeystore ${location} -srcstoretype JKS -destkeystore ${location.replace(/\.jks$/i, '')}.p12 -deststoretype PKCS12 ` +
      `and point ${key} at the .p12 file (type PKCS12)`,
  );
}

/**
 * Where a store's keys are read: the system properties (ssl.*, ssl.quorum.*: SystemProperties) or
 * PrometheusMetricsProvider's own settings (metricsProvider.ssl.*). `key` gives the key as the file
 * spelt it, for messages.
 */
export interface KeySource {
  get(name: string): string | undefined;
  key(name: string): string;
}

/** X509Util / KeyStoreFileType: the type key when set (PEM, PKCS12, JKS; any case), else from the file's extension. */
function storeType(src: KeySource, at: string, location: string): StoreType {
  const locKey = src.key(`${at}.location`);
  const typeRaw = src.get(`${at}.type`);
  const typeKey = src.key(`${at}.type`);
  let type: string;
  if (typeRaw !== undefined && typeRaw !== '') {
    type = typeRaw.toUpperCase();
  } else {
    // KeyStoreFileType.fromFilename: .jks, .pem, .p12 and .pfx are known; anything else is an error
    const ext = /\.([^./\\]+)$/.exec(location)?.[1]?.toLowerCase();
    const byExt: Record<string, string> = { jks: 'JKS', pem: 'PEM', p12: 'PKCS12', pfx: 'PKCS12' };
    type = (ext !== undefined ? byExt[ext] : undefined) ?? '';
    if (type === '') {
      throw new ConfigError(
        typeKey,
        `${typeKey} is not set and the type of ${locKey} '${location}' cannot be told from its extension (.pem, .p12, .pfx, .jks); set ${typeKey} to PEM or PKCS12`,
      );
    }
  }
  if (type === 'JKS') throw jksError(typeRaw !== undefined && typeRaw !== '' ? typeKey : locKey, location);
  if (type === 'PEM' || type === 'PKCS12') return type;
  if (type === 'BCFKS') throw new ConfigError(typeKey, `${typeKey}: BCFKS stores cannot be read by Ark; convert to PKCS12 or PEM`);
  throw new ConfigError(typeKey, `Invalid value for ${typeKey}: '${typeRaw ?? ''}'; choose PEM or PKCS12`);
}

/**
 * The store `at` names (e.g. ssl.keyStore, ssl.quorum.trustStore): its location, password (and
 * passwordPath, where the reader of those keys has one) and type; undefined when no location is set.
 */
export function storeConfig(src: KeySource, at: string, passwordPath = true): StoreConfig | undefined {
  const location = src.get(`${at}.location`);
  if (location === undefined || location === '') return undefined;
  const path = passwordPath ? src.get(`${at}.passwordPath`) || undefined : undefined;
  return {
    key: src.key(`${at}.location`),
    location,
    passwordKey: src.key(path === undefined ? `${at}.password` : `${at}.passwordPath`),
    password: src.get(`${at}.password`),
    passwordPath: path,
    type: storeType(src, at, location),
  };
}

export function store(sys: SystemProperties, bare: 'keyStore' | 'trustStore', p = 'ssl.'): StoreConfig | undefined {
  return storeConfig(sys, `${p}${bare}`);
}

/**
 * Revocation checks and a custom SSLContext cannot be honoured by Ark: serving TLS without a check
 * the operator asked for would be worse than not starting.
 */
export function refuseUnsupported(sys: SystemProperties, p = 'ssl.'): void {
  for (const bare of [`${p}crl`, `${p}ocsp`]) {
    const v = sys.get(bare);
    if (v !== undefined && v.toLowerCase() === 'true') {
      const k = sys.key(bare);
      throw new ConfigError(k, `${k}=true: Ark does not check certificate revocation (CRL, OCSP) yet; remove the line or set it to false`);
    }
  }
  const supplier = sys.get(`${p}context.supplier.class`);
  if (supplier !== undefined && supplier !== '') {
    const k = sys.key(`${p}context.supplier.class`);
    throw new ConfigError(
      k,
      `${k}: a Java SSLContext supplier cannot run in Ark; configure the stores with ${p}keyStore.* and ${p}trustStore.*`,
    );
  }
}

/** secureClientPort and secureClientPortAddress (QuorumPeerConfig), read as clientPort is. */
function securePort(q: QuorumKeys): Pick<ClientTlsSettings, 'secureClientPort' | 'secureClientPortAddress'> {
  let secureClientPort: number | undefined;
  const raw = q.get('secureClientPort');
  if (raw !== undefined) {
    const p = checkPort('secureClientPort', raw, parseJavaInt('secureClientPort', raw));
    secureClientPort = p === 0 ? undefined : p;
  }
  let secureClientPortAddress = q.get('secureClientPortAddress');
  if (secureClientPortAddress === '') secureClientPortAddress = undefined;
  if (secureClientPortAddress !== undefined && secureClientPort === undefined) {
    throw new ConfigError(
      'secureClientPortAddress',
      `secureClientPortAddress is set (${secureClientPortAddress}) but secureClientPort is not set`,
    );
  }
  return { secureClientPort, secureClientPortAddress };
}

/**
 * The client TLS settings. The ssl.* keys are read (and checked) only when a secure port or port
 * unification asks for TLS; otherwise ZooKeeper never reads them either, and they are left with a
 * warning.
 */
export function clientTlsSettings(q: QuorumKeys, sys: SystemProperties, warnings: string[]): ClientTlsSettings {
  const port = securePort(q);
  const unifyRaw = sys.get('client.portUnification');
  const portUnification = unifyRaw !== undefined && strictBoolean(sys.key('client.portUnification'), unifyRaw);
  if (port.secureClientPort === undefined && !portUnification) {
    for (const bare of CLIENT_TLS_KEYS) {
      if (sys.get(bare) !== undefined) {
        warnings.push(`${sys.key(bare)}: no secureClientPort and no client.portUnification=true, so no TLS client port uses it`);
      }
    }
    return { ...port, portUnification, clientTls: null };
  }
  const keyStore = store(sys, 'keyStore');
  if (keyStore === undefined) {
    const k = sys.key('ssl.keyStore.location');
    throw new ConfigError(
      k,
      `${k} must name the server's certificate and key (PEM or PKCS12) when secureClientPort or client.portUnification is set`,
    );
  }
  refuseUnsupported(sys);
  const hv = sys.get('ssl.hostnameVerification');
  // ZooKeeper reads it as a boolean; its client port never checks a client's host name
  // (ClientX509Util.shouldVerifyClientHostname is false), so neither does Ark: it matters to clients
  if (hv !== undefined) strictBoolean(sys.key('ssl.hostnameVerification'), hv);
  return {
    ...port,
    portUnification,
    clientTls: {
      keyStore,
      trustStore: store(sys, 'trustStore'),
      clientAuth: clientAuth(sys),
      ...protocolRange(sys),
      ciphers: ciphers(sys),
      handshakeTimeoutMs: handshakeDetectionTimeout(sys, 'ssl.', warnings),
    },
  };
}

/** What a TLS client uses (ClientX509Util as the Java client reads it: zookeeper.ssl.*). */
export interface ClientSideTlsConfig {
  /** the client's certificate and key; undefined: none is offered */
  keyStore: StoreConfig | undefined;
  /** undefined: Node's bundled root CAs (Java's default trust store) */
  trustStore: StoreConfig | undefined;
  /** zookeeper.ssl.hostnameVerification: default true (X509Util) */
  hostnameVerification: boolean;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  ciphers: string;
}

/** The client's TLS settings from the zookeeper.ssl.* properties; a bad value throws ConfigError naming the key. */
export function clientSideTls(sys: SystemProperties): ClientSideTlsConfig {
  refuseUnsupported(sys);
  const hv = sys.get('ssl.hostnameVerification');
  return {
    keyStore: store(sys, 'keyStore'),
    trustStore: store(sys, 'trustStore'),
    hostnameVerification: hv === undefined || hv === '' ? true : strictBoolean(sys.key('ssl.hostnameVerification'), hv),
    ...protocolRange(sys),
    ciphers: ciphers(sys),
  };
}

/** X509Util.DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS */
export const HANDSHAKE_DETECTION_TIMEOUT_MS_DEFAULT = 5000;

/**
 * SSLContextAndOptions.getHandshakeDetectionTimeoutMillis: an integer; below 1 is replaced by the
 * default with a warning (a zero timeout could hold a connection for ever); not a number stops start-up.
 */
export function handshakeDetectionTimeout(sys: SystemProperties, p: string, warnings: string[]): number {
  const raw = sys.get(`${p}handshakeDetectionTimeoutMillis`);
  if (raw === undefined) return HANDSHAKE_DETECTION_TIMEOUT_MS_DEFAULT;
  const k = sys.key(`${p}handshakeDetectionTimeoutMillis`);
  const n = /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1 || n < -(2 ** 31)) throw new ConfigError(k, `${k}=${raw}: not an integer (milliseconds)`);
  if (n < 1) {
    warnings.push(`${k}=${raw}: below 1 ms; the default ${HANDSHAKE_DETECTION_TIMEOUT_MS_DEFAULT} ms is used (as ZooKeeper)`);
    return HANDSHAKE_DETECTION_TIMEOUT_MS_DEFAULT;
  }
  return n;
}
