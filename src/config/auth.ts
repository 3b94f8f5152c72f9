// Authentication as ZooKeeper configures it: the providers registered with authProvider.N (the
// system properties zookeeper.authProvider.*: ProviderRegistry), SASL's superuser
// (zookeeper.superUser), x509's (zookeeper.X509AuthenticationProvider.superUser), the JAAS file's
// path (zoo.cfg's java.security.auth.login.config; the runtime also looks at SERVER_JVMFLAGS and
// JVMFLAGS) and enforced authentication (zookeeper.enforce.auth.enabled / .schemes,
// zookeeper.sessionRequireClientSASLAuth: AuthenticationHelper). Pure: keys in, typed settings out.

import { ConfigError } from './error.js';
import { javaParseBoolean, javaSplit, javaTrim } from './javavalues.js';
import type { SystemProperties } from './settings.js';

export const SASL_PROVIDER = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';
export const X509_PROVIDER = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';
/** providers every ZooKeeper registers anyway: naming them again changes nothing */
const BUILT_IN = new Set([
  'org.apache.zookeeper.server.auth.DigestAuthenticationProvider',
  'org.apache.zookeeper.server.auth.IPAuthenticationProvider',
]);

export interface AuthConfig {
  /** SASLAuthenticationProvider is registered: `sasl` ACLs are valid */
  saslProvider: boolean;
  /** X509AuthenticationProvider is registered (or implied by a TLS port): `x509` ACLs and ids */
  x509Provider: boolean;
  /** zookeeper.superUser */
  saslSuperUser: string | undefined;
  /** zookeeper.X509AuthenticationProvider.superUser */
  x509SuperUser: string | undefined;
  /** the JAAS file named in zoo.cfg (java.security.auth.login.config), resolved by the runtime */
  loginConfigKey: string | undefined;
  /** zookeeper.sasl.serverconfig: the JAAS section with the server's users (ZooKeeperSaslServer: "Server") */
  saslServerSection: string;
  /** schemes a client must have authenticated with before anything but auth / sasl; null: not enforced */
  enforceSchemes: string[] | null;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || javaTrim(v) === '' ? undefined : v;
}

/** The scheme each authProvider.* value registers; a class Ark does not have stops start-up naming the key. */
function providers(sys: SystemProperties): { sasl: boolean; x509: boolean } {
  const out = { sasl: false, x509: false };
  for (const [bare, value] of sys.withPrefix('authProvider.')) {
    const cls = javaTrim(value);
    if (cls === SASL_PROVIDER) out.sasl = true;
    else if (cls === X509_PROVIDER) out.x509 = true;
    else if (!BUILT_IN.has(cls)) {
      const key = sys.key(bare);
      throw new ConfigError(key, `${key}=${cls}: Ark has no such authentication provider (it has ${SASL_PROVIDER} and ${X509_PROVIDER})`);
    }
  }
  return out;
}

/**
 * AuthenticationHelper: sessionRequireClientSASLAuth=true means enforce.auth with the sasl scheme;
 * otherwise enforce.auth.enabled=true needs enforce.auth.schemes, each a registered scheme.
 */
function enforcement(sys: SystemProperties, registered: ReadonlySet<string>): string[] | null {
  let schemes: string[];
  let key: string;
  if (javaParseBoolean(sys.get('sessionRequireClientSASLAuth'))) {
    schemes = ['sasl'];
    key = sys.key('sessionRequireClientSASLAuth');
  } else {
    if (!javaParseBoolean(sys.get('enforce.auth.enabled'))) return null;
    key = sys.key('enforce.auth.schemes');
    schemes = javaSplit(sys.get('enforce.auth.schemes') ?? '', ',')
      .map(javaTrim)
      .filter((s) => s !== '');
    if (schemes.length === 0)
      throw new ConfigError(key, `${sys.key('enforce.auth.enabled')} is true: ${key} must name the schemes clients authenticate with`);
  }
  for (const s of schemes) {
    if (!registered.has(s)) {
      throw new ConfigError(key, `${key}: authentication scheme ${s} is not available (register its provider with authProvider.N)`);
    }
  }
  return schemes;
}

/** The authentication settings; `tlsPort` says a secure or unified port exists (ZooKeeper then registers x509). */
export function authSettings(sys: SystemProperties, systemProperties: ReadonlyMap<string, string>, tlsPort: boolean): { auth: AuthConfig } {
  const p = providers(sys);
  // ssl.authProvider names the provider a TLS client's certificate goes to; only x509 exists here
  const sslProvider = nonEmpty(sys.get('ssl.authProvider'));
  if (sslProvider !== undefined && javaTrim(sslProvider) !== 'x509') {
    const key = sys.key('ssl.authProvider');
    throw new ConfigError(key, `${key}=${sslProvider}: Ark authenticates TLS clients with x509 only`);
  }
  const x509 = p.x509 || tlsPort;
  const registered = new Set(['ip', 'digest', ...(p.sasl ? ['sasl'] : []), ...(x509 ? ['x509'] : [])]);
  return {
    auth: {
      saslProvider: p.sasl,
      x509Provider: x509,
      saslSuperUser: nonEmpty(sys.get('superUser')),
      x509SuperUser: nonEmpty(sys.get('X509AuthenticationProvider.superUser')),
      // not a ZooKeeper zoo.cfg key (ZooKeeper reads it only as a JVM flag): Ark's, read verbatim
      loginConfigKey: nonEmpty(systemProperties.get('zookeeper.java.security.auth.login.config')),
      saslServerSection: nonEmpty(sys.get('sasl.serverconfig')) ?? 'Server',
      enforceSchemes: enforcement(sys, registered),
    },
  };
}
