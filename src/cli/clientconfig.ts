// A secure client's settings as zkCli.sh takes them: Java system properties from the `-D` flags
// of CLIENT_JVMFLAGS and JVMFLAGS (zkCli.sh puts both on the java command line, JVMFLAGS last, so
// its -D wins), overridden by the properties file of `-client-configuration FILE` (ZooKeeperMain
// builds a ZKClientConfig from it; ZKConfig starts from the system properties and the file's keys
// replace them). The keys are ZKClientConfig's and ClientX509Util's:
//   zookeeper.client.secure            TLS (default false)
//   zookeeper.ssl.keyStore.*, zookeeper.ssl.trustStore.* (location, password, passwordPath, type),
//   zookeeper.ssl.hostnameVerification (default true), zookeeper.ssl.protocol / enabledProtocols /
//   ciphersuites
//   java.security.auth.login.config    a JAAS file whose client section gives SASL DIGEST-MD5 credentials
//   zookeeper.sasl.client              false: no SASL even with a JAAS file (default true)
//   zookeeper.sasl.clientconfig        the section's name (default Client)
// Unlike the Java client, which logs a failed JAAS login and goes on without SASL, a file that
// cannot be read or a value that does not parse stops `ark cli` with one line naming the key: an
// operator asked for security and must not silently get none.
import { readFileSync } from 'node:fs';
import type { ClientTlsOptions } from '../client/zookeeper.js';
import type { SaslCredentials } from '../client/sasl.js';
import { ConfigError } from '../config/error.js';
import { digestClientCredentials, JaasError, parseJaas } from '../config/jaas.js';
import { jvmFlagProperties, strictBoolean } from '../config/javavalues.js';
import { parseProperties } from '../config/properties.js';
import { SystemProperties } from '../config/settings.js';
import { clientSideTls } from '../config/tls.js';
import { clientConnectionTls } from '../runtime/tlsfiles.js';

export interface SecureClient {
  tls: ClientTlsOptions | undefined;
  sasl: SaslCredentials | undefined;
  /** settings that are set but do nothing (ssl.* without client.secure), for one warning line each */
  warnings: string[];
}

const JAAS_KEY = 'java.security.auth.login.config';

export { jvmFlagProperties };

/** The client's properties: the JVM flags' (CLIENT_JVMFLAGS, then JVMFLAGS), then the -client-configuration file's. */
export function clientProperties(env: NodeJS.ProcessEnv, configFile: string | undefined, read = readText): Map<string, string> {
  const props = jvmFlagProperties(`${env.CLIENT_JVMFLAGS ?? ''} ${env.JVMFLAGS ?? ''}`);
  if (configFile !== undefined) {
    let text: string;
    try {
      text = read(configFile, 'latin1');
    } catch (e) {
      throw new ConfigError('-client-configuration', `-client-configuration ${configFile}: cannot read: ${(e as Error).message}`);
    }
    for (const [k, v] of parseProperties(text)) props.set(k, v);
  }
  return props;
}

/** TLS and SASL settings from the client properties; the files they name are read and checked here. Throws ConfigError. */
export function secureClient(props: ReadonlyMap<string, string>, read = readText): SecureClient {
  const warnings: string[] = [];
  const sys = new SystemProperties(props, new Map([...props.keys()].map((k) => [k, k])));
  const secureRaw = props.get('zookeeper.client.secure');
  const secure = secureRaw !== undefined && secureRaw !== '' && strictBoolean('zookeeper.client.secure', secureRaw);
  let tls: ClientTlsOptions | undefined;
  if (secure) tls = clientConnectionTls(clientSideTls(sys));
  else {
    const ssl = [...props.keys()].filter((k) => k.startsWith('zookeeper.ssl.'));
    if (ssl.length > 0) warnings.push(`${ssl.join(', ')} set but zookeeper.client.secure is not true: connecting without TLS`);
  }
  return { tls, sasl: sasl(props, read), warnings };
}

/** ZooKeeperSaslClient's choice: SASL when enabled and the JAAS file has the client section. */
function sasl(props: ReadonlyMap<string, string>, read: typeof readText): SaslCredentials | undefined {
  const enabledRaw = props.get('zookeeper.sasl.client');
  if (enabledRaw !== undefined && enabledRaw !== '' && !strictBoolean('zookeeper.sasl.client', enabledRaw)) return undefined;
  const explicitSection = props.get('zookeeper.sasl.clientconfig');
  const section = explicitSection || 'Client';
  // -Djava.security.auth.login.config==PATH is Java's "only this file": the same file here
  const path = props.get(JAAS_KEY)?.replace(/^=/, '');
  if (path === undefined || path === '') {
    if (explicitSection)
      throw new ConfigError(
        'zookeeper.sasl.clientconfig',
        `zookeeper.sasl.clientconfig=${explicitSection} but no ${JAAS_KEY} names a JAAS file`,
      );
    return undefined;
  }
  let text: string;
  try {
    text = read(path, 'utf8');
  } catch (e) {
    throw new ConfigError(JAAS_KEY, `${JAAS_KEY} ${path}: cannot read the JAAS file: ${(e as Error).message}`);
  }
  try {
    const entries = parseJaas(text).get(section);
    if (!entries) throw new JaasError(`no section named '${section}' (zookeeper.sasl.clientconfig)`);
    return { mechanism: 'DIGEST-MD5', ...digestClientCredentials(entries, section) };
  } catch (e) {
    if (!(e instanceof JaasError)) throw e;
    throw new ConfigError(JAAS_KEY, `${JAAS_KEY} ${path}: ${e.message}`);
  }
}

function readText(path: string, encoding: BufferEncoding): string {
  return readFileSync(path, encoding);
}
