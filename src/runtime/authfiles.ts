// Authentication's files, read at start-up: the JAAS login configuration whose Server section holds
// the SASL users (DigestLoginModule's user_NAME="password" options), named as ZooKeeper's start
// scripts name it (-Djava.security.auth.login.config=PATH in SERVER_JVMFLAGS or JVMFLAGS) or by
// zoo.cfg's java.security.auth.login.config. A file that cannot be read or parsed, or a Server
// section Ark cannot serve (Kerberos), stops start-up with one line naming where the path came from.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/error.js';
import {
  DIGEST_MODULE,
  digestClientCredentials,
  JaasError,
  KERBEROS_MODULE,
  loginConfigFromJvmFlags,
  parseJaas,
  type JaasEntry,
} from '../config/jaas.js';
import type { ServerConfig } from '../config/serverconfig.js';
import type { CoreAuth } from '../server/core.js';
import type { QuorumAuthPolicy } from '../net/peerauth.js';

/** Where the JAAS file's path comes from: zoo.cfg first, then the JVM flags (the last -D wins, JVMFLAGS after SERVER_JVMFLAGS). */
export function loginConfigSource(config: ServerConfig, env: NodeJS.ProcessEnv): { path: string; from: string } | null {
  if (config.auth.loginConfigKey !== undefined)
    return { path: config.auth.loginConfigKey, from: 'java.security.auth.login.config (zoo.cfg)' };
  const jvm = loginConfigFromJvmFlags(`${env.SERVER_JVMFLAGS ?? ''} ${env.JVMFLAGS ?? ''}`);
  return jvm === undefined ? null : { path: jvm, from: '-Djava.security.auth.login.config (SERVER_JVMFLAGS / JVMFLAGS)' };
}

/** The users of the Server section's DigestLoginModule entries; Kerberos or another module is refused. */
export function saslUsersOf(entries: readonly JaasEntry[], where: string, section = 'Server'): Map<string, string> {
  const users = new Map<string, string>();
  for (const e of entries) {
    if (e.module === KERBEROS_MODULE) {
      throw new Error(
        `${where}: the ${section} section uses ${KERBEROS_MODULE}: Kerberos (GSSAPI) is not supported by Ark; use ${DIGEST_MODULE} (SASL DIGEST-MD5) or x509 client certificates`,
      );
    }
    if (e.module !== DIGEST_MODULE)
      throw new Error(`${where}: the ${section} section's login module ${e.module} is not supported (only ${DIGEST_MODULE})`);
    for (const [k, v] of e.options) if (k.startsWith('user_')) users.set(k.slice('user_'.length), v);
  }
  return users;
}

/** The core's authentication settings: reads the JAAS file when one is named. Throws ConfigError. */
export function coreAuth(config: ServerConfig, env: NodeJS.ProcessEnv = process.env): CoreAuth {
  const src = loginConfigSource(config, env);
  let saslUsers: Map<string, string> | null = null;
  if (src) {
    const where = `${src.from}: '${src.path}'`;
    let text: string;
    try {
      text = readFileSync(src.path, 'utf8');
    } catch (e) {
      throw new ConfigError('java.security.auth.login.config', `${where}: cannot read the JAAS file: ${(e as Error).message}`);
    }
    try {
      const section = config.auth.saslServerSection;
      const server = parseJaas(text).get(section);
      // a JAAS file without a Server section (only a Client one, say) gives the server no SASL, as in ZooKeeper
      if (server) saslUsers = saslUsersOf(server, where, section);
    } catch (e) {
      const msg = e instanceof JaasError ? `${where}: ${e.message}` : (e as Error).message;
      throw new ConfigError('java.security.auth.login.config', msg);
    }
  }
  const a = config.auth;
  return {
    saslUsers,
    // 128 bits, as base64 (RFC 2831: a nonce is an opaque quoted string without '"' and ',')
    saslNonce: () => randomBytes(16).toString('base64'),
    saslSuperUser: a.saslSuperUser,
    x509SuperUser: a.x509SuperUser,
    aclSchemes: new Set([...(a.saslProvider ? (['sasl'] as const) : []), ...(a.x509Provider ? (['x509'] as const) : [])]),
    enforceSchemes: a.enforceSchemes === null ? null : new Set(a.enforceSchemes),
  };
}

/**
 * Quorum SASL's credentials (quorum.auth.enableSasl): this member's QuorumLearner login and the
 * QuorumServer users it checks peers against, from the same JAAS file as the client SASL. A missing
 * file or section stops start-up naming the key that asked for it (ZooKeeper fails to log in).
 */
export function quorumAuthPolicy(config: ServerConfig, env: NodeJS.ProcessEnv = process.env): QuorumAuthPolicy {
  const q = config.quorumSecurity.sasl;
  if (q === null) return null;
  const src = loginConfigSource(config, env);
  if (src === null) {
    throw new ConfigError(
      'quorum.auth.enableSasl',
      'quorum.auth.enableSasl is true but no JAAS file is named: pass -Djava.security.auth.login.config=PATH in SERVER_JVMFLAGS (or JVMFLAGS), or set java.security.auth.login.config in zoo.cfg',
    );
  }
  const where = `${src.from}: '${src.path}'`;
  let jaas: ReturnType<typeof parseJaas>;
  try {
    jaas = parseJaas(readFileSync(src.path, 'utf8'));
  } catch (e) {
    const msg = e instanceof JaasError ? `${where}: ${e.message}` : `${where}: cannot read the JAAS file: ${(e as Error).message}`;
    throw new ConfigError('quorum.auth.enableSasl', msg);
  }
  const section = (key: string, name: string): JaasEntry[] => {
    const s = jaas.get(name);
    if (s === undefined || s.length === 0)
      throw new ConfigError(key, `${key}: the JAAS file ${where} has no ${name} section (quorum.auth.enableSasl is true)`);
    return s;
  };
  const learnerKey = 'quorum.auth.learner.saslLoginContext';
  const serverKey = 'quorum.auth.server.saslLoginContext';
  const learnerEntries = section(learnerKey, q.learnerContext);
  const serverEntries = section(serverKey, q.serverContext);
  let learner: { username: string; password: string };
  let serverUsers: Map<string, string>;
  try {
    // its username / password, as SaslQuorumAuthLearner logs in (the client SASL's reader)
    learner = digestClientCredentials(learnerEntries, q.learnerContext);
  } catch (e) {
    throw new ConfigError(learnerKey, `${where}: ${(e as Error).message}`);
  }
  try {
    serverUsers = saslUsersOf(serverEntries, where, q.serverContext);
  } catch (e) {
    throw new ConfigError(serverKey, (e as Error).message);
  }
  if (serverUsers.size === 0)
    throw new ConfigError(serverKey, `${where}: the ${q.serverContext} section has no user_NAME entries to check peers against`);
  return { learnerRequireSasl: q.learnerRequireSasl, serverRequireSasl: q.serverRequireSasl, learner, serverUsers };
}
