// `ark cli` and Ark's client speaking TLS and SASL DIGEST-MD5, configured as zkCli.sh is: a
// -client-configuration properties file, and the -D flags of CLIENT_JVMFLAGS / JVMFLAGS
// (zookeeper.client.secure, zookeeper.ssl.*, java.security.auth.login.config with a JAAS Client
// section, zookeeper.sasl.client). The same invocations run against Ark and against Apache
// ZooKeeper 3.8 given the same zoo.cfg keys, JAAS file and certificates, so the client is proven
// against the reference server; zkCli.sh over TLS runs against Ark. One server of each serves
// every case: a plain clientPort (SASL) and a secureClientPort (TLS, ssl.clientAuth=want, x509).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arkBin, freePort, requireOrSkip, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import { INTEROP_CFG, javaClasspath, nettyClasspath, startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { makeCerts, opensslMissing, STORE_PASSWORD, type TestCerts } from '../helpers/certs.js';
import { describeTool, executableMissing, runTool, type ToolResult } from '../helpers/clitools.js';
import { connect, createClient, type ClientOptions, type ZooKeeperClient } from '../../src/index.js';
import { AuthFailedError } from '../../src/client/errors.js';
import { TcpProxy } from '../client/helpers.js';
import { waitUntil } from '../helpers/wait.js';

const SASL_PROVIDER = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';
const X509_PROVIDER = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';
const zkCli = process.env.ARK_ZKCLI ?? '/usr/share/zookeeper/bin/zkCli.sh';
const netty = nettyClasspath();

interface Files {
  certs: TestCerts;
  clientP12: string;
  jaasServer: string;
  jaasClient: string;
  jaasWrong: string;
  /** -client-configuration: TLS, trust the test CA, no client certificate */
  tlsProps: string;
  /** the same with the JAAS file of the right password (ark bench --client-configuration) */
  tlsSaslProps: string;
}

interface Running {
  name: string;
  server: RunningServer;
  plain: string;
  secure: string;
}

let files: Files;
const running: Running[] = [];

function jaas(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function makeFiles(): Files {
  const certs = makeCerts();
  const dir = tempDir('secure-cli');
  execFileSync(
    'openssl',
    ['pkcs12', '-export', '-inkey', 'client.key', '-in', 'client.crt', '-out', 'client.p12', '-passout', `pass:${STORE_PASSWORD}`],
    { cwd: certs.dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const client = (password: string): string =>
    `Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username="app1"\n  password="${password}";\n};\n`;
  const tlsProps = join(dir, 'tls.properties');
  writeFileSync(
    tlsProps,
    [
      '# as for zkCli.sh -client-configuration',
      'zookeeper.client.secure=true',
      'zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
      `zookeeper.ssl.trustStore.location=${certs.caPem}`,
      'zookeeper.ssl.trustStore.type=PEM',
      '',
    ].join('\n'),
  );
  const jaasClient = jaas(dir, 'jaas-client.conf', client('app1-password'));
  const tlsSaslProps = join(dir, 'tls-sasl.properties');
  writeFileSync(tlsSaslProps, `${readFileSync(tlsProps, 'utf8')}java.security.auth.login.config=${jaasClient}\n`);
  return {
    certs,
    tlsSaslProps,
    clientP12: join(certs.dir, 'client.p12'),
    jaasServer: jaas(
      dir,
      'jaas-server.conf',
      'Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_app1="app1-password"\n  user_app2="app2-password";\n};\n',
    ),
    jaasClient,
    jaasWrong: jaas(dir, 'jaas-wrong.conf', client('not-the-password')),
    tlsProps,
  };
}

/** The zoo.cfg keys both servers get: a secure port with x509 (client certificate optional), SASL users from the JAAS file. */
function secureCfg(securePort: number): Record<string, string | number | boolean> {
  return {
    secureClientPort: securePort,
    secureClientPortAddress: '127.0.0.1',
    serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
    'ssl.keyStore.location': files.certs.serverPem,
    'ssl.trustStore.location': files.certs.caPem,
    'ssl.clientAuth': 'want',
    'authProvider.1': SASL_PROVIDER,
    'authProvider.x509': X509_PROVIDER,
    'ssl.authProvider': 'x509',
  };
}

async function startBoth(): Promise<void> {
  const arkSecure = await freePort();
  const ark = await startArk({
    cfg: { ...INTEROP_CFG, ...secureCfg(arkSecure) },
    env: { SERVER_JVMFLAGS: `-Djava.security.auth.login.config=${files.jaasServer}` },
  });
  running.push({ name: 'Ark', server: ark, plain: `127.0.0.1:${ark.port}`, secure: `127.0.0.1:${arkSecure}` });
  if (zookeeperMissing() ?? netty.missing) return;
  const zkSecure = await freePort();
  const zk = await startZooKeeper({
    cfg: secureCfg(zkSecure),
    extraClasspath: netty.path,
    systemProperties: { 'java.security.auth.login.config': files.jaasServer },
  });
  running.push({ name: 'Apache ZooKeeper 3.8', server: zk, plain: `127.0.0.1:${zk.port}`, secure: `127.0.0.1:${zkSecure}` });
}

/** `ark cli ARGS` with `env` (CLIENT_JVMFLAGS, JVMFLAGS) and commands on stdin when given. */
function arkCli(args: string[], env: Record<string, string> = {}, input?: string): Promise<ToolResult> {
  return runTool(process.execPath, [arkBin, 'cli', ...args], {
    env: { CLIENT_JVMFLAGS: '', JVMFLAGS: '', ARK_CLI_HISTORY: '', ...env },
    timeoutMs: 30000,
    ...(input !== undefined ? { input } : {}),
  });
}

function target(t: TestContext, name: string): Running | null {
  const skip = requireOrSkip(opensslMissing() ?? (name === 'Ark' ? null : (zookeeperMissing() ?? netty.missing)));
  if (skip) {
    t.skip(skip);
    return null;
  }
  const r = running.find((x) => x.name === name);
  assert.ok(r, `${name} did not start`);
  return r;
}

/** The same ark cli invocations, against one server. */
async function cliScenario(t: TestContext, name: string): Promise<void> {
  const r = target(t, name);
  if (!r) return;
  const ctx = (x: ToolResult): string => `${name}: ${describeTool(x)}\n--- server ---\n${r.server.output().slice(-4000)}`;
  const node = `/secure-cli-${name.replace(/\W+/g, '-')}`;

  // TLS, no client certificate (-client-configuration): served, no x509 id
  const plainTls = await arkCli(
    ['-server', r.secure, '-client-configuration', files.tlsProps],
    {},
    `whoami\ncreate ${node}-tls over-tls\nget ${node}-tls\n`,
  );
  assert.equal(plainTls.code, 0, ctx(plainTls));
  assert.match(plainTls.stdout, /^Auth scheme: User$/m, ctx(plainTls));
  assert.doesNotMatch(plainTls.stdout, /^x509:/m, ctx(plainTls));
  assert.match(plainTls.stdout, /^over-tls$/m, ctx(plainTls));

  // TLS with a PKCS12 client certificate and SASL, all from CLIENT_JVMFLAGS / JVMFLAGS as zkCli.sh passes them
  const both = await arkCli(['-server', r.secure, 'whoami'], {
    CLIENT_JVMFLAGS: [
      '-Dzookeeper.client.secure=true',
      `-Dzookeeper.ssl.keyStore.location=${files.clientP12}`,
      `-Dzookeeper.ssl.keyStore.password=${STORE_PASSWORD}`,
      `-Dzookeeper.ssl.trustStore.location=${files.certs.caPem}`,
    ].join(' '),
    JVMFLAGS: `-Xmx64m -Djava.security.auth.login.config=${files.jaasClient}`,
  });
  assert.equal(both.code, 0, ctx(both));
  assert.match(both.stdout, /^x509: CN=ark-test-client$/m, ctx(both));
  assert.match(both.stdout, /^sasl: app1$/m, ctx(both));

  // SASL on the plain port: a node only sasl:app1 may touch
  const sasl = { JVMFLAGS: `-Djava.security.auth.login.config=${files.jaasClient}` };
  const owner = await arkCli(['-server', r.plain], sasl, `whoami\ncreate ${node} secret sasl:app1:cdrwa\nget ${node}\n`);
  assert.equal(owner.code, 0, ctx(owner));
  assert.match(owner.stdout, /^sasl: app1$/m, ctx(owner));
  assert.match(owner.stdout, /^secret$/m, ctx(owner));
  assert.match(
    owner.stdout,
    /WatchedEvent state:SyncConnected type:None path:null\s+WATCHER::\s+WatchedEvent state:SaslAuthenticated/,
    ctx(owner),
  );

  // zookeeper.sasl.client=false: the same JAAS file, no SASL, so the ACL refuses
  const off = await arkCli(['-server', r.plain, 'get', node], {
    JVMFLAGS: `-Djava.security.auth.login.config=${files.jaasClient} -Dzookeeper.sasl.client=false`,
  });
  assert.equal(off.code, 1, ctx(off));
  assert.match(off.stdout + off.stderr, new RegExp(`Insufficient permission : ${node}`), ctx(off));

  // a wrong password: AuthFailed, one line, a non-zero exit
  const wrong = await arkCli(['-server', r.plain, 'get', node], { JVMFLAGS: `-Djava.security.auth.login.config=${files.jaasWrong}` });
  assert.equal(wrong.code, 1, ctx(wrong));
  assert.match(wrong.stderr, /^ark cli: AuthFailed: 127\.0\.0\.1:\d+ refused the SASL credentials of app1/m, ctx(wrong));
  assert.equal(wrong.stderr.trim().split('\n').length, 1, ctx(wrong));
  assert.doesNotMatch(wrong.stdout, /secret/, ctx(wrong));
  // the shell: the AuthFailed event, then commands fail with AuthFailed
  const wrongShell = await arkCli(
    ['-server', r.plain],
    { JVMFLAGS: `-Djava.security.auth.login.config=${files.jaasWrong}` },
    `get ${node}\n`,
  );
  assert.equal(wrongShell.code, 1, ctx(wrongShell));
  assert.match(wrongShell.stdout, /WatchedEvent state:AuthFailed type:None path:null/, ctx(wrongShell));
  assert.match(wrongShell.stderr, new RegExp(`KeeperErrorCode = AuthFailed for ${node}`), ctx(wrongShell));

  // ark bench over TLS with SASL: every session authenticated, no errors
  const bench = await runTool(
    process.execPath,
    [arkBin, 'bench', '--server', r.secure, '--client-configuration', files.tlsSaslProps, '--workload', 'getData', '--count', '50'],
    { timeoutMs: 30000 },
  );
  assert.equal(bench.code, 0, ctx(bench));
  assert.match(bench.stdout, /\(TLS, SASL as app1\)/, ctx(bench));
  assert.match(bench.stdout, /getData/, ctx(bench));
}

describe('ark cli and the client over TLS and SASL, against Ark and Apache ZooKeeper 3.8 with the same files', () => {
  before(async () => {
    if (opensslMissing()) return;
    files = makeFiles();
    await startBoth();
  });
  after(async () => {
    for (const r of running) await r.server.stop();
  });

  for (const name of ['Ark', 'Apache ZooKeeper 3.8']) {
    test(
      `${name}: ark cli over TLS (with and without a client certificate, x509 whoami) and SASL (sasl ACL, wrong password)`,
      {
        timeout: 120000,
      },
      (t) => cliScenario(t, name),
    );
  }

  test('ark cli: an unreadable file or a bad value is one error line and exit 2', { timeout: 60000 }, async (t) => {
    if (!target(t, 'Ark')) return;
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [
        ['-client-configuration', '/nonexistent/zk-client.properties'],
        {},
        /-client-configuration \/nonexistent\/zk-client\.properties: cannot read/,
      ],
      [[], { CLIENT_JVMFLAGS: '-Dzookeeper.client.secure=yes' }, /Invalid value for zookeeper\.client\.secure: 'yes'/],
      [
        [],
        { CLIENT_JVMFLAGS: '-Dzookeeper.client.secure=true -Dzookeeper.ssl.trustStore.location=/nonexistent/ca.pem' },
        /zookeeper\.ssl\.trustStore\.location: cannot read '\/nonexistent\/ca\.pem'/,
      ],
      [[], { JVMFLAGS: `-Djava.security.auth.login.config=${files.jaasServer}` }, /no section named 'Client'/],
      [[], { JVMFLAGS: '-Djava.security.auth.login.config=/nonexistent/jaas.conf' }, /cannot read the JAAS file/],
    ];
    for (const [args, env, re] of cases) {
      const r = await arkCli(['-server', running[0]!.plain, ...args, 'ls', '/'], env);
      assert.equal(r.code, 2, describeTool(r));
      assert.match(r.stderr, re, describeTool(r));
      assert.equal(r.stderr.trim().split('\n').length, 1, describeTool(r));
    }
    // a server certificate the trust store does not vouch for: the command fails saying why
    const untrusted = await arkCli(['-server', running[0]!.secure, '-timeout', '1500', 'ls', '/'], {
      CLIENT_JVMFLAGS: `-Dzookeeper.client.secure=true -Dzookeeper.ssl.trustStore.location=${files.certs.strangerCert} -Dzookeeper.ssl.trustStore.type=PEM`,
    });
    assert.equal(untrusted.code, 1, describeTool(untrusted));
    assert.match(untrusted.stderr, /^ark cli: not connected .*\(last attempt: 127\.0\.0\.1:\d+: .*certificate/im, describeTool(untrusted));
    assert.equal(untrusted.stderr.trim().split('\n').length, 1, describeTool(untrusted));
  });

  test('the client API: SASL again on every reconnect, before any other request; a refused password is final', {
    timeout: 60000,
  }, async (t) => {
    const r = target(t, 'Ark');
    if (!r) return;
    const proxy = await TcpProxy.start(r.plain);
    const sasl = { username: 'app1', password: 'app1-password' };
    let c: ZooKeeperClient | null = null;
    try {
      c = await connect(proxy.connectString, { sasl, sessionTimeoutMs: 10000 });
      assert.deepEqual(
        (await c.whoAmI()).filter((i) => i.scheme === 'sasl'),
        [{ scheme: 'sasl', user: 'app1' }],
      );
      await c.create('/api-sasl', 'mine', { acl: [{ perms: 31, id: { scheme: 'sasl', id: 'app1' } }] });
      const before = proxy.connections;
      let reconnected = 0;
      c.on('reconnected', () => reconnected++);
      const suspended = new Promise((resolve) => c!.once('suspended', resolve));
      proxy.cut();
      await suspended;
      // a request made while the connection is down waits for the new connection and its SASL
      const read = c.getData('/api-sasl');
      await waitUntil(() => reconnected === 1, 'the client reconnected');
      assert.equal((await read).data?.toString(), 'mine');
      const frames = proxy.framesAfter(before).map((f) => f.op);
      // after the ConnectRequest: the two SASL tokens (opcode 102) before anything else
      assert.deepEqual(frames.slice(0, 2), [102, 102], `frames after the reconnect: ${frames.join(',')}`);
      await c.delete('/api-sasl');
    } finally {
      await c?.close();
      await proxy.close();
    }

    const wrong = createClient(r.plain, { sasl: { username: 'app1', password: 'nope' }, sessionTimeoutMs: 10000 });
    const events: string[] = [];
    wrong.on('authFailed', (i) => events.push(`${i.scheme}: ${i.reason ?? ''}`));
    const early = wrong.exists('/');
    await assert.rejects(wrong.waitForConnected({ timeoutMs: 10000 }), AuthFailedError);
    await assert.rejects(early, AuthFailedError);
    assert.equal(wrong.state, 'authFailed');
    await assert.rejects(wrong.getData('/'), AuthFailedError);
    assert.equal(events.length, 1, events.join('\n'));
    assert.match(events[0]!, /^sasl: 127\.0\.0\.1:\d+ refused the SASL credentials of app1/);
    await wrong.close();
    assert.equal(wrong.state, 'closed');
  });

  test('the client API over TLS: client certificate (x509), hostname verification, an untrusted server refused', {
    timeout: 60000,
  }, async (t) => {
    const r = target(t, 'Ark');
    if (!r) return;
    const ca = readFileSync(files.certs.caPem);
    const withCert: ClientOptions = {
      tls: { ca, cert: readFileSync(files.certs.clientCert), key: readFileSync(files.certs.clientKey) },
    };
    const c = await connect(r.secure, withCert);
    try {
      assert.deepEqual(
        (await c.whoAmI()).filter((i) => i.scheme === 'x509'),
        [{ scheme: 'x509', user: 'CN=ark-test-client' }],
      );
    } finally {
      await c.close();
    }
    // the certificate names localhost and 127.0.0.1, not this name: refused unless verification is off
    const failure = async (o: ClientOptions): Promise<string> => {
      const x = createClient(r.secure, { ...o, connectTimeoutMs: 3000 });
      try {
        return await new Promise<string>((resolve) => x.once('connectFailed', (f) => resolve(f.reason)));
      } finally {
        await x.close();
      }
    };
    assert.match(await failure({ tls: { ca, servername: 'zk.example.org' } }), /zk\.example\.org|altnames|Hostname/i);
    const off = await connect(r.secure, { tls: { ca, servername: 'zk.example.org', hostnameVerification: false } });
    await off.close();
    // a server whose certificate the trusted CAs did not sign
    assert.match(await failure({ tls: { ca: readFileSync(files.certs.strangerCert) } }), /certificate/i);
  });

  test('zkCli.sh (ZooKeeper 3.8) over TLS against Ark, with a client certificate: x509 whoami', { timeout: 60000 }, async (t) => {
    const r = target(t, 'Ark');
    if (!r) return;
    const skip = requireOrSkip(executableMissing(zkCli, 'apt-get install zookeeper') ?? zookeeperMissing() ?? netty.missing);
    if (skip) return t.skip(skip);
    // Debian's zkEnv.sh sets a CLASSPATH without the netty jars TLS needs: a later -cp wins
    const flags = [
      `-cp /etc/zookeeper/conf:${javaClasspath()}:${netty.path}`,
      '-Dzookeeper.client.secure=true',
      '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
      `-Dzookeeper.ssl.keyStore.location=${files.certs.clientPem}`,
      `-Dzookeeper.ssl.trustStore.location=${files.certs.caPem}`,
    ].join(' ');
    const z = await runTool('/bin/sh', ['-c', 'exec "$0" -server "$1" whoami 2>&1', zkCli, r.secure], {
      env: { CLIENT_JVMFLAGS: flags },
      timeoutMs: 45000,
    });
    assert.match(z.stdout, /^x509: CN=ark-test-client$/m, describeTool(z));
  });
});
