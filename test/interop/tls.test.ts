// Client TLS with real clients: the ZooKeeper 3.8 Java client (ClientCnxnSocketNetty,
// zookeeper.client.secure=true) and kazoo 2.8 (use_ssl=True), with and without a client
// certificate, against Apache ZooKeeper 3.8 (NettyServerCnxnFactory) and against Ark, each given
// the same zoo.cfg keys and the same certificate files (made with openssl): the keys mean the same.
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { delimiter, join } from 'node:path';
import { freePort, requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
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
import { makeCerts, opensslMissing, STORE_PASSWORD, type TestCerts } from '../helpers/certs.js';
import { describeTool } from '../helpers/clitools.js';

type Cfg = Record<string, string | number | boolean>;
interface Target {
  name: string;
  missing: () => string | null;
  start: (cfg: Cfg) => Promise<RunningServer>;
}

const netty = nettyClasspath();
const TARGETS: Target[] = [
  {
    name: 'Apache ZooKeeper 3.8',
    missing: () => zookeeperMissing() ?? netty.missing,
    start: (cfg) => startZooKeeper({ cfg, extraClasspath: netty.path }),
  },
  { name: 'Ark', missing: () => null, start: (cfg) => startArk({ cfg: { ...INTEROP_CFG, ...cfg } }) },
];

let certs: TestCerts;

/** The Java client over TLS: a session on the secure port, with the client's PEM key store or without one. */
async function javaProbe(port: number, clientCert: boolean): Promise<{ ok: boolean; text: string }> {
  const classDir = await compileJava([join(interopJavaDir, 'TlsProbe.java')]);
  const props: Record<string, string> = {
    'zookeeper.client.secure': 'true',
    'zookeeper.clientCnxnSocket': 'org.apache.zookeeper.ClientCnxnSocketNetty',
    'zookeeper.ssl.trustStore.location': certs.caPem,
    'zookeeper.ssl.trustStore.type': 'PEM',
    ...(clientCert ? { 'zookeeper.ssl.keyStore.location': certs.clientPem, 'zookeeper.ssl.keyStore.type': 'PEM' } : {}),
  };
  const r = await runJava([classDir, netty.path].join(delimiter), 'TlsProbe', [`127.0.0.1:${port}`], 60000, props);
  return { ok: r.code === 0 && /^ok over-tls$/m.test(r.stdout), text: describeJava(r) };
}

/** kazoo over TLS, verifying the server against the CA; with the client certificate or without. */
async function kazooProbe(port: number, clientCert: boolean): Promise<{ ok: boolean; text: string }> {
  const args = [`127.0.0.1:${port}`, certs.caPem, ...(clientCert ? [certs.clientCert, certs.clientKey] : [])];
  const r = await runKazooScript('tls_probe.py', args, 60000);
  return { ok: r.code === 0 && /^ok over-tls$/m.test(r.stdout), text: describeTool(r) };
}

/** Starts the target with `keys` on a secure port and checks each [client, with certificate, expected to work]. */
async function scenario(t: TestContext, target: Target, keys: Cfg, checks: Array<['java' | 'kazoo', boolean, boolean]>): Promise<void> {
  const skip = requireOrSkip(opensslMissing() ?? target.missing() ?? javaClientMissing() ?? netty.missing ?? kazooMissing());
  if (skip) return t.skip(skip);
  // with client.portUnification the TLS clients use clientPort; otherwise a secureClientPort of its own
  const unified = keys['client.portUnification'] === true;
  const ownPort = unified ? null : await freePort();
  const server = await target.start({
    ...(ownPort === null ? {} : { secureClientPort: ownPort, secureClientPortAddress: '127.0.0.1' }),
    serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
    ...keys,
  });
  const securePort = ownPort ?? server.port;
  try {
    for (const [client, cert, works] of checks) {
      const r = await (client === 'java' ? javaProbe : kazooProbe)(securePort, cert);
      t.diagnostic(`${client} ${cert ? 'with' : 'without'} a client certificate: ${r.ok ? 'served' : 'refused'}`);
      assert.equal(
        r.ok,
        works,
        `${target.name}, ${client} ${cert ? 'with' : 'without'} a client certificate:\n${r.text}\n--- server ---\n${server.output()}`,
      );
    }
  } finally {
    await server.stop();
  }
}

describe('client TLS interop: the Java client and kazoo, Ark and Apache ZooKeeper 3.8 with the same files', () => {
  before(() => {
    if (!opensslMissing()) certs = makeCerts();
  });

  for (const target of TARGETS) {
    test(`${target.name}: PEM key and trust stores, ssl.clientAuth unset (need)`, { timeout: 180000 }, (t) =>
      scenario(t, target, { 'ssl.keyStore.location': certs.serverPem, 'ssl.trustStore.location': certs.caPem }, [
        ['java', true, true],
        ['kazoo', true, true],
        ['java', false, false],
        ['kazoo', false, false],
      ]),
    );

    test(`${target.name}: PKCS12 key store with a password, ssl.clientAuth=want`, { timeout: 180000 }, (t) =>
      scenario(
        t,
        target,
        {
          'ssl.keyStore.location': certs.serverP12,
          'ssl.keyStore.password': STORE_PASSWORD,
          'ssl.trustStore.location': certs.caPem,
          'ssl.clientAuth': 'want',
        },
        [
          ['java', false, true],
          ['kazoo', false, true],
          ['java', true, true],
        ],
      ),
    );

    test(`${target.name}: client.portUnification=true, TLS clients on clientPort`, { timeout: 180000 }, (t) =>
      scenario(
        t,
        target,
        {
          'client.portUnification': true,
          'ssl.keyStore.location': certs.serverPem,
          'ssl.trustStore.location': certs.caPem,
          // ZooKeeper 3.8 registers its x509 provider only for a secure factory: without this line its
          // unified port closes every TLS client after the handshake ("X509 Auth provider not found").
          // Ark accepts the key (with a warning until x509 authentication is there) and serves them either way.
          'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider',
        },
        [
          ['java', true, true],
          ['kazoo', true, true],
          ['kazoo', false, false],
        ],
      ),
    );
  }
});
