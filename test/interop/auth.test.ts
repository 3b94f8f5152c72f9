// SASL DIGEST-MD5 and x509 authentication with real clients (kazoo with sasl_options, the ZooKeeper
// 3.8 Java client with a JAAS Client section, the Java client over TLS with client certificates),
// against Apache ZooKeeper 3.8 and against Ark, each given the same zoo.cfg keys, the same JAAS
// file (ZooKeeper through -Djava.security.auth.login.config, Ark through SERVER_JVMFLAGS, as
// zkServer.sh passes it) and the same certificates: the keys and files mean the same, and the ids
// (sasl:NAME, x509:<subject as Java prints it>) are the same strings on both.
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort, requireOrSkip, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import {
  compileJava,
  describeJava,
  INTEROP_CFG,
  interopJavaDir,
  javaClientMissing,
  nettyClasspath,
  runJava,
  startZooKeeper,
  zookeeperMissing,
} from '../helpers/zookeeper.js';
import { kazooMissing, runKazooScript } from '../helpers/kazoo.js';
import { makeCerts, opensslMissing, type TestCerts } from '../helpers/certs.js';
import { describeTool } from '../helpers/clitools.js';

type Cfg = Record<string, string | number | boolean>;
interface Target {
  name: string;
  missing: () => string | null;
  start: (cfg: Cfg, jaas?: string) => Promise<RunningServer>;
}

const netty = nettyClasspath();
const TARGETS: Target[] = [
  {
    name: 'Apache ZooKeeper 3.8',
    missing: () => zookeeperMissing() ?? netty.missing,
    start: (cfg, jaas) =>
      startZooKeeper({
        cfg,
        extraClasspath: netty.path,
        ...(jaas ? { systemProperties: { 'java.security.auth.login.config': jaas } } : {}),
      }),
  },
  {
    name: 'Ark',
    missing: () => null,
    start: (cfg, jaas) =>
      startArk({
        cfg: { ...INTEROP_CFG, ...cfg },
        ...(jaas ? { env: { SERVER_JVMFLAGS: `-Xmx512m -Djava.security.auth.login.config=${jaas}` } } : {}),
      }),
  },
];

const SASL_PROVIDER = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';
const X509_PROVIDER = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';

/** The JAAS files of the test: the server's users, and a Client section with a right and a wrong password. */
function jaasFiles(dir: string): { server: string; client: string; wrongClient: string } {
  const server = join(dir, 'jaas-server.conf');
  writeFileSync(
    server,
    [
      '/* the server side: DigestLoginModule users */',
      'Server {',
      '  org.apache.zookeeper.server.auth.DigestLoginModule required',
      '    user_super="super-secret"',
      '    user_app1="app1-password"',
      '    user_app2="app2-password";',
      '};',
      '',
    ].join('\n'),
  );
  const client = (name: string, password: string): string => {
    const f = join(dir, `jaas-${name}.conf`);
    writeFileSync(
      f,
      `Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username="app1"\n  password="${password}";\n};\n`,
    );
    return f;
  };
  return { server, client: client('client', 'app1-password'), wrongClient: client('wrong', 'not-the-password') };
}

let certs: TestCerts;
let jaas: ReturnType<typeof jaasFiles>;
/** client certificates with several-part subjects, signed by the test CA */
let owner: string;
let admin: string;

/** A client key and certificate in one PEM file (a Java PEM key store), subject `subj`, signed by the test CA. */
function clientPem(name: string, subj: string): string {
  const o = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: certs.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
  o(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2']);
  execFileSync('sh', ['-c', `cat ${name}.key ${name}.crt > ${name}.pem`], { cwd: certs.dir });
  return join(certs.dir, `${name}.pem`);
}

/** One AuthProbe step; `props` are the client's system properties (JAAS file, TLS). */
async function java(args: string[], props: Record<string, string>): Promise<{ out: string; text: string }> {
  const classDir = await compileJava([join(interopJavaDir, 'AuthProbe.java')]);
  const r = await runJava([classDir, netty.path].join(delimiter), 'AuthProbe', args, 60000, props);
  return { out: r.stdout, text: describeJava(r) };
}

function tlsProps(keyStore: string): Record<string, string> {
  return {
    'zookeeper.client.secure': 'true',
    'zookeeper.clientCnxnSocket': 'org.apache.zookeeper.ClientCnxnSocketNetty',
    'zookeeper.ssl.trustStore.location': certs.caPem,
    'zookeeper.ssl.trustStore.type': 'PEM',
    'zookeeper.ssl.keyStore.location': keyStore,
    'zookeeper.ssl.keyStore.type': 'PEM',
  };
}

function skipReason(target: Target): string | false {
  return requireOrSkip(opensslMissing() ?? target.missing() ?? javaClientMissing() ?? netty.missing ?? kazooMissing());
}

async function saslScenario(t: TestContext, target: Target): Promise<void> {
  const skip = skipReason(target);
  if (skip) return t.skip(skip);
  const server = await target.start({ 'authProvider.1': SASL_PROVIDER }, jaas.server);
  const hosts = `127.0.0.1:${server.port}`;
  const context = (text: string): string => `${target.name}:\n${text}\n--- server ---\n${server.output()}`;
  try {
    // kazoo: sasl_options DIGEST-MD5; the node's ACL is sasl:app1
    const k = await runKazooScript('sasl_probe.py', [hosts, 'app1', 'app1-password', 'app2', 'app2-password'], 60000);
    const kText = describeTool(k);
    assert.equal(k.code, 0, context(kText));
    for (const line of [
      'owner-read changed',
      'anonymous refused',
      'other-user refused',
      'other-user-write refused',
      'wrong-password auth-failed',
    ]) {
      assert.match(k.stdout, new RegExp(`^${line}$`, 'm'), context(kText));
    }
    // the Java client with a JAAS Client section: sasl:app1 owns the node
    const path = '/sasl-java';
    const created = await java(['create', hosts, path, 'sasl', 'app1'], { 'java.security.auth.login.config': jaas.client });
    assert.match(created.out, /^whoami sasl:app1$/m, context(created.text));
    assert.match(created.out, /^created secret$/m, context(created.text));
    const anonymous = await java(['read', hosts, path], {});
    assert.match(anonymous.out, /^read NoAuth$/m, context(anonymous.text));
    const wrong = await java(['read', hosts, path], { 'java.security.auth.login.config': jaas.wrongClient });
    assert.match(wrong.out, /^state AuthFailed$/m, context(wrong.text));
    assert.doesNotMatch(wrong.out, /^read ok$/m, context(wrong.text));
    const owned = await java(['read', hosts, path], { 'java.security.auth.login.config': jaas.client });
    assert.match(owned.out, /^read ok$/m, context(owned.text));
  } finally {
    await server.stop();
  }
}

/** sessionRequireClientSASLAuth=true: a client without SASL is refused at its first request, one with SASL served. */
async function enforceScenario(t: TestContext, target: Target): Promise<void> {
  const skip = skipReason(target);
  if (skip) return t.skip(skip);
  const server = await target.start({ 'authProvider.1': SASL_PROVIDER, sessionRequireClientSASLAuth: true }, jaas.server);
  try {
    const r = await runKazooScript('enforce_probe.py', [`127.0.0.1:${server.port}`, 'app2', 'app2-password'], 60000);
    const text = `${target.name}:\n${describeTool(r)}\n--- server ---\n${server.output()}`;
    assert.equal(r.code, 0, text);
    assert.match(r.stdout, /^anonymous refused \w+$/m, text);
    // the refusal's code (SESSIONCLOSEDREQUIRESASLAUTH) is one kazoo 2.8 has no exception for
    assert.match(r.stderr, /RuntimeError: Invalid error code/, text);
    assert.match(r.stdout, /^sasl served$/m, text);
    t.diagnostic(r.stdout.trim().split('\n').join('; '));
  } finally {
    await server.stop();
  }
}

async function x509Scenario(t: TestContext, target: Target): Promise<void> {
  const skip = skipReason(target);
  if (skip) return t.skip(skip);
  const securePort = await freePort();
  const server = await target.start({
    secureClientPort: securePort,
    secureClientPortAddress: '127.0.0.1',
    serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
    'ssl.keyStore.location': certs.serverPem,
    'ssl.trustStore.location': certs.caPem,
    'authProvider.x509': X509_PROVIDER,
    'ssl.authProvider': 'x509',
    'X509AuthenticationProvider.superUser': 'CN=zk-admin,O=Example Org',
  });
  const hosts = `127.0.0.1:${securePort}`;
  const context = (text: string): string => `${target.name}:\n${text}\n--- server ---\n${server.output()}`;
  // the subject as Java prints it: the RDNs last to first, a ',' escaped
  const ownerId = 'CN=app1,OU=ops\\, west,O=Example Org,C=DE';
  try {
    const path = '/x509-java';
    const created = await java(['create', hosts, path, 'x509', ownerId], tlsProps(owner));
    assert.match(created.out, new RegExp(`^whoami x509:${ownerId.replace(/\\/g, '\\\\')}$`, 'm'), context(created.text));
    assert.match(created.out, /^created secret$/m, context(created.text));
    // another certificate of the same CA: NoAuth
    const other = await java(['read', hosts, path], tlsProps(certs.clientPem));
    assert.match(other.out, /^whoami x509:CN=ark-test-client$/m, context(other.text));
    assert.match(other.out, /^read NoAuth$/m, context(other.text));
    // zookeeper.X509AuthenticationProvider.superUser passes every ACL
    const sup = await java(['read', hosts, path], tlsProps(admin));
    assert.match(sup.out, /^read ok$/m, context(sup.text));
    const again = await java(['read', hosts, path], tlsProps(owner));
    assert.match(again.out, /^read ok$/m, context(again.text));
  } finally {
    await server.stop();
  }
}

describe('SASL and x509 authentication: kazoo and the Java client, Ark and Apache ZooKeeper 3.8 with the same files', () => {
  before(() => {
    if (opensslMissing()) return;
    certs = makeCerts();
    jaas = jaasFiles(tempDir('jaas'));
    owner = clientPem('owner', '/C=DE/O=Example Org/OU=ops, west/CN=app1');
    admin = clientPem('admin', '/O=Example Org/CN=zk-admin');
  });

  for (const target of TARGETS) {
    test(`${target.name}: SASL DIGEST-MD5 (JAAS Server section), sasl ACLs, a wrong password refused`, { timeout: 240000 }, (t) =>
      saslScenario(t, target),
    );
    test(`${target.name}: sessionRequireClientSASLAuth=true refuses a client without SASL`, { timeout: 240000 }, (t) =>
      enforceScenario(t, target),
    );
    test(`${target.name}: x509 (client certificates over TLS), x509 ACLs, the x509 superUser`, { timeout: 240000 }, (t) =>
      x509Scenario(t, target),
    );
  }
});
