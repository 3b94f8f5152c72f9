// Client TLS end to end: `ark server` with secureClientPort / client.portUnification and
// ZooKeeper's ssl.* keys, driven by kazoo over TLS and by Node's TLS socket (four-letter words);
// a client on the wrong kind of port is closed with one log line; a store that cannot be used
// stops start-up naming its key.
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { join } from 'node:path';
import { arkBin, freePort, requireOrSkip, startArk, tempDir, writeCfg, type RunningServer } from '../helpers/servers.js';
import { makeCerts, opensslMissing, STORE_PASSWORD, type TestCerts } from '../helpers/certs.js';
import { kazooMissing, runKazooScript } from '../helpers/kazoo.js';
import { waitUntil } from '../helpers/wait.js';
import { startEnsemble } from '../helpers/ensemble.js';
import { runTool, type ToolResult } from '../helpers/clitools.js';

let certs: TestCerts;

/** A four-letter word over TLS; resolves with the answer, or the error that ended the connection. */
function tlsWord(port: number, word: string, opts: ConnectionOptions = {}): Promise<string> {
  return new Promise((res) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(certs.caPem), servername: 'localhost', ...opts }, () => s.write(word));
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString();
    });
    s.on('error', (e) => res(`error: ${e.message}`));
    s.on('close', () => res(out));
  });
}

/** A four-letter word in clear. */
function plainWord(port: number, word: string): Promise<string> {
  return new Promise((res) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => s.write(word));
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString();
    });
    s.on('error', (e) => res(`error: ${e.message}`));
    s.on('close', () => res(out));
  });
}

const withClientCert = (): ConnectionOptions => ({ cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) });
/** a certificate from a CA the server does not trust */
const withStrangerCert = (): ConnectionOptions => ({ cert: readFileSync(certs.strangerCert), key: readFileSync(certs.strangerKey) });

/**
 * Runs `body` against an Ark with a secureClientPort and the keys `cfg()` gives (called once the
 * certificates exist), stopping it afterwards; skips without openssl.
 */
async function onSecureArk(
  t: TestContext,
  cfg: () => Record<string, string | number | boolean>,
  body: (server: RunningServer, securePort: number) => Promise<void>,
): Promise<void> {
  const skip = requireOrSkip(opensslMissing());
  if (skip) return t.skip(skip);
  const securePort = await freePort();
  const server = await startArk({ cfg: { secureClientPort: securePort, secureClientPortAddress: '127.0.0.1', ...cfg() } });
  try {
    await body(server, securePort);
  } finally {
    await server.stop();
  }
}

function kazoo(port: number, clientCert: boolean): Promise<ToolResult> {
  const args = [`127.0.0.1:${port}`, certs.caPem, ...(clientCert ? [certs.clientCert, certs.clientKey] : [])];
  return runKazooScript('tls_probe.py', args, 60000);
}

describe('client TLS (secureClientPort, ssl.*)', () => {
  before(() => {
    if (!opensslMissing()) certs = makeCerts();
  });

  test(
    'PEM stores, clientAuth need: a client with a trusted certificate is served, one without is refused',
    {
      timeout: 90000,
    },
    (t) =>
      onSecureArk(
        t,
        () => ({ 'ssl.keyStore.location': certs.serverPem, 'ssl.trustStore.location': certs.caPem }),
        async (server, securePort) => {
          assert.equal(await tlsWord(securePort, 'ruok', withClientCert()), 'imok');
          assert.doesNotMatch(await tlsWord(securePort, 'ruok'), /imok/);
          assert.doesNotMatch(await tlsWord(securePort, 'ruok', withStrangerCert()), /imok/);
          await waitUntil(() => /TLS handshake failed/.test(server.output()), 'the refused handshake is logged', 5000);
          // the plain port still serves plain clients
          assert.equal(await plainWord(server.port, 'ruok'), 'imok');
          if (!kazooMissing()) {
            const ok = await kazoo(securePort, true);
            assert.equal(ok.code, 0, ok.stdout);
            assert.match(ok.stdout, /^ok over-tls/m);
            const refused = await kazoo(securePort, false);
            assert.notEqual(refused.code, 0, refused.stdout);
          }
        },
      ),
  );

  test(
    'PKCS12 key store (password from a file), clientAuth want: no certificate is let in, an untrusted one is not',
    {
      timeout: 90000,
    },
    (t) =>
      onSecureArk(
        t,
        () => {
          const passwordFile = join(certs.dir, 'keystore.password');
          writeFileSync(passwordFile, `${STORE_PASSWORD}\n`);
          return {
            'zookeeper.ssl.keyStore.location': certs.serverP12,
            // a file holding the password (SecretUtils.readSecret drops the line's end)
            'zookeeper.ssl.keyStore.passwordPath': passwordFile,
            // certificates only, as keytool -importcert writes a trust store
            'ssl.trustStore.location': certs.caOnlyP12,
            'ssl.trustStore.password': STORE_PASSWORD,
            'ssl.clientAuth': 'want',
          };
        },
        async (_server, securePort) => {
          assert.equal(await tlsWord(securePort, 'ruok'), 'imok');
          assert.equal(await tlsWord(securePort, 'ruok', withClientCert()), 'imok');
          assert.doesNotMatch(await tlsWord(securePort, 'ruok', withStrangerCert()), /imok/);
          if (!kazooMissing()) {
            const ok = await kazoo(securePort, false);
            assert.equal(ok.code, 0, ok.stdout);
          }
        },
      ),
  );

  test('a plain client on the TLS port and a TLS client on the plain port are closed with one log line each', {
    timeout: 60000,
  }, async (t) => {
    const adminPort = await freePort();
    await onSecureArk(
      t,
      () => ({
        'ssl.keyStore.location': certs.serverPem,
        'ssl.clientAuth': 'none',
        'admin.enableServer': true,
        'admin.serverPort': adminPort,
        'admin.serverAddress': '127.0.0.1',
      }),
      async (server, securePort) => {
        assert.equal(await plainWord(securePort, 'ruok'), '');
        assert.doesNotMatch(await tlsWord(server.port, 'ruok'), /imok/);
        await waitUntil(() => /plain \(non-TLS\) client on the secure client port/.test(server.output()), 'plain on TLS logged', 5000);
        await waitUntil(
          () => /TLS client on the plain client port \(its TLS port is secureClientPort/.test(server.output()),
          'TLS on plain logged',
          5000,
        );
        assert.equal(server.output().match(/closing connection/g)?.length, 2, server.output());
        assert.match(await plainWord(server.port, 'conf'), new RegExp(`^secureClientPort=${securePort}$`, 'm'));
        // still serving both; the AdminServer lists the secure port's connections apart, as ZooKeeper
        assert.equal(await tlsWord(securePort, 'ruok'), 'imok');
        assert.equal(await plainWord(server.port, 'ruok'), 'imok');
        const idleTls = tlsConnect({ host: '127.0.0.1', port: securePort, ca: readFileSync(certs.caPem), servername: 'localhost' });
        const idlePlain = netConnect({ host: '127.0.0.1', port: server.port });
        try {
          await new Promise((r) => idleTls.once('secureConnect', r));
          let body: { connections: unknown[]; secure_connections: unknown[] } = { connections: [], secure_connections: [] };
          await waitUntil(
            async () => {
              body = (await (await fetch(`http://127.0.0.1:${adminPort}/commands/connections`)).json()) as typeof body;
              return body.connections.length === 1 && body.secure_connections.length === 1;
            },
            'one plain and one secure connection listed',
            5000,
          );
        } finally {
          idleTls.destroy();
          idlePlain.destroy();
        }
      },
    );
  });

  test('client.portUnification: TLS and plain clients on one port', { timeout: 60000 }, async (t) => {
    const skip = requireOrSkip(opensslMissing());
    if (skip) return t.skip(skip);
    const server = await startArk({
      cfg: { 'client.portUnification': true, 'ssl.keyStore.location': certs.serverPem, 'ssl.trustStore.location': certs.caPem },
    });
    try {
      assert.equal(await plainWord(server.port, 'ruok'), 'imok');
      assert.equal(await tlsWord(server.port, 'ruok', withClientCert()), 'imok');
      if (!kazooMissing()) {
        const ok = await kazoo(server.port, true);
        assert.equal(ok.code, 0, ok.stdout);
      }
    } finally {
      await server.stop();
    }
  });

  test('ensemble members each serve TLS clients on their secureClientPort', { timeout: 120000 }, async (t) => {
    const skip = requireOrSkip(opensslMissing() ?? kazooMissing());
    if (skip) return t.skip(skip);
    const securePorts = [await freePort(), await freePort(), await freePort()];
    const ens = await startEnsemble({
      cfg: { 'ssl.keyStore.location': certs.serverPem, 'ssl.trustStore.location': certs.caPem },
      memberCfg: (id) => ({ secureClientPort: securePorts[id - 1] as number, secureClientPortAddress: '127.0.0.1' }),
    });
    try {
      const leader = await ens.leader();
      await ens.serving();
      const follower = ens.members.find((m) => m !== leader);
      assert.ok(follower);
      // a write through a follower's secure port goes to the leader and is read back
      const r = await kazoo(securePorts[follower.id - 1] as number, true);
      assert.equal(r.code, 0, `${r.stdout}\n${follower.log.slice(-3000)}`);
      assert.match(r.stdout, /^ok over-tls/m);
      assert.match(await plainWord(follower.port, 'conf'), new RegExp(`^secureClientPort=${securePorts[follower.id - 1]}$`, 'm'));
    } finally {
      await ens.stop();
    }
  });

  test('a store that cannot be used stops start-up naming its key', { timeout: 60000 }, async (t) => {
    const skip = requireOrSkip(opensslMissing());
    if (skip) return t.skip(skip);
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'ssl.keyStore.location': join(certs.dir, 'absent.pem') }, /ssl\.keyStore\.location: cannot read .*absent\.pem/],
      [
        { 'ssl.keyStore.location': certs.serverP12, 'ssl.keyStore.password': 'wrong' },
        /ssl\.keyStore\.password: the password does not open ssl\.keyStore\.location/,
      ],
      [
        { 'ssl.keyStore.location': join(certs.dir, 'server.jks') },
        /ssl\.keyStore\.location: .*JKS.*keytool -importkeystore .*-deststoretype PKCS12/,
      ],
      [{ 'ssl.keyStore.location': certs.serverPem, 'ssl.protocol': 'TLSv1.1' }, /ssl\.protocol/],
      [
        { 'ssl.keyStore.location': certs.serverPem, 'ssl.ciphersuites': 'TLS_RSA_WITH_RC4_128_MD5' },
        /ssl\.ciphersuites.*TLS_RSA_WITH_RC4_128_MD5/,
      ],
      [{ 'ssl.keyStore.location': certs.serverPem, 'ssl.clientAuth': 'maybe' }, /ssl\.clientAuth/],
      [
        { 'ssl.keyStore.location': certs.serverPem, 'ssl.trustStore.location': certs.caOnlyP12, 'ssl.trustStore.password': 'wrong' },
        /ssl\.trustStore\.password: the password does not open ssl\.trustStore\.location/,
      ],
      [{}, /ssl\.keyStore\.location must name/],
    ];
    for (const [keys, expected] of cases) {
      const dir = tempDir('tls-cfg');
      const cfg = writeCfg(dir, { dataDir: join(dir, 'data'), clientPort: await freePort(), secureClientPort: await freePort(), ...keys });
      const r = await runTool(process.execPath, [arkBin, 'server', cfg], { timeoutMs: 20000 });
      assert.equal(r.code, 1, `${JSON.stringify(keys)}: ${r.stderr}`);
      assert.match(r.stderr, expected, JSON.stringify(keys));
    }
  });
});
