// The AdminServer and the Prometheus endpoint over HTTPS, with ZooKeeper's keys (admin.forceHttps,
// admin.portUnification, admin.needClientAuth and the ssl.quorum.* stores; metricsProvider.httpsPort
// and its ssl.* settings), certificates made with openssl, read by curl (Debian's) and by
// `ark backup create --admin https://... --ca-file`, on a standalone server and on an ensemble
// member; then the same AdminServer settings given to Apache ZooKeeper 3.8, which answers the
// same URLs the same way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ark, arkBin, freePort, requireOrSkip, startArk, tempDir, writeCfg, type RunningServer } from '../helpers/servers.js';
import { makeCerts, opensslMissing, STORE_PASSWORD, type TestCerts } from '../helpers/certs.js';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { commandFails, runTool } from '../helpers/clitools.js';
import { ZkClient } from '../../src/client/client.js';
import { waitUntil } from '../helpers/wait.js';
import { startZooKeeperAdmin, zookeeperAdminMissing } from '../helpers/zookeeper-admin.js';

interface Reply {
  /** curl's exit code: 0 when an HTTP answer came */
  code: number;
  status: number;
  headers: string;
  body: string;
  stderr: string;
}

/** curl URL with `args` (--cacert, --cert, ...): the answer, or curl's failure. */
function curl(url: string, args: string[] = []): Promise<Reply> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-i', '--max-time', '10', ...args, url], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const cut = stdout.indexOf('\r\n\r\n');
      const head = cut < 0 ? stdout : stdout.slice(0, cut);
      resolve({
        code: err ? Number((err as { code?: number }).code ?? 1) : 0,
        status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1] ?? 0),
        headers: head,
        body: cut < 0 ? '' : stdout.slice(cut + 4),
        stderr,
      });
    });
  });
}

function missing(): string | null {
  return opensslMissing() ?? commandFails('curl', ['--version'], 'curl (apt-get install curl)');
}

let certs: TestCerts;
const ca = (): string[] => ['--cacert', certs.caPem];
const clientCert = (): string[] => ['--cert', certs.clientCert, '--key', certs.clientKey];

/** The AdminServer over HTTPS with the ssl.quorum.* stores, as ZooKeeper's admin guide shows it (PEM here). */
const adminHttps = (port: number, extra: Record<string, string | boolean>): Record<string, string | number | boolean> => ({
  'admin.enableServer': true,
  'admin.serverPort': port,
  'admin.serverAddress': '127.0.0.1',
  'ssl.quorum.keyStore.location': certs.serverPem,
  'ssl.quorum.trustStore.location': certs.caPem,
  ...extra,
});

/** `ark backup create` through the AdminServer at `admin` with `flags`; then the file must verify. */
async function backupThrough(admin: string, flags: string[]): Promise<void> {
  const out = join(tempDir('https-backup'), 'b.zkb');
  const r = await ark(['backup', 'create', '--admin', admin, ...flags, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as { nodes: number }).nodes >= 3, r.stdout);
  const v = await ark(['backup', 'verify', out]);
  assert.equal(v.code, 0, v.stderr);
  rmSync(out, { force: true });
}

describe('AdminServer and metrics over HTTPS', () => {
  before(() => {
    if (!missing()) certs = makeCerts();
  });

  test('standalone: admin.forceHttps, metricsProvider.httpsPort with a client certificate, ark backup create / restore over https', {
    timeout: 60000,
  }, async (t) => {
    const skip = requireOrSkip(missing());
    if (skip) return t.skip(skip);
    const adminPort = await freePort();
    const metricsPort = await freePort();
    const server = await startArk({
      cfg: {
        ...adminHttps(adminPort, { 'admin.forceHttps': true }),
        'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
        'metricsProvider.httpHost': '127.0.0.1',
        'metricsProvider.httpsPort': metricsPort,
        // PKCS12 here (PEM for the AdminServer); ssl.need.client.auth is true unless set
        'metricsProvider.ssl.keyStore.location': certs.serverP12,
        'metricsProvider.ssl.keyStore.password': STORE_PASSWORD,
        'metricsProvider.ssl.trustStore.location': certs.caPem,
      },
    });
    try {
      const c = await ZkClient.connect({ port: server.port });
      for (const p of ['/app', '/app/a', '/app/b']) await c.create(p, p);
      c.disconnect();
      const admin = `https://127.0.0.1:${adminPort}`;

      const stat = await curl(`${admin}/commands/stat`, ca());
      assert.equal(stat.status, 200, stat.stderr);
      const body = JSON.parse(stat.body) as Record<string, unknown>;
      assert.equal(body.command, 'stats');
      assert.equal(body.error, null);
      assert.match(stat.headers, /strict-transport-security: max-age=86400; includeSubDomains/i);

      // a client that does not trust the CA fails its handshake; plain HTTP gets a 400 that says what to do
      const untrusted = await curl(`${admin}/commands/stat`);
      assert.notEqual(untrusted.code, 0);
      const plain = await curl(`http://127.0.0.1:${adminPort}/commands/stat`);
      assert.equal(plain.status, 400);
      assert.match(plain.body, /HTTPS only \(admin\.forceHttps is true\): use https:\/\//);
      await waitUntil(() => /a plain HTTP client on a port that speaks HTTPS only/.test(server.output()), 'the refusal is logged', 5000);

      // the metrics port needs a client certificate the trust store vouches for (ssl.need.client.auth)
      const metrics = await curl(`https://127.0.0.1:${metricsPort}/metrics`, [...ca(), ...clientCert()]);
      assert.equal(metrics.status, 200, metrics.stderr);
      assert.match(metrics.body, /^znode_count \d+/m);
      const noCert = await curl(`https://127.0.0.1:${metricsPort}/metrics`, ca());
      assert.notEqual(noCert.status, 200, 'no client certificate: no metrics');
      const stranger = await curl(`https://127.0.0.1:${metricsPort}/metrics`, [
        ...ca(),
        '--cert',
        certs.strangerCert,
        '--key',
        certs.strangerKey,
      ]);
      assert.notEqual(stranger.status, 200, 'a certificate from a CA nobody trusts: no metrics');

      // the CLI: https with --ca-file; without it, or over http, a clear failure
      await backupThrough(admin, ['--ca-file', certs.caPem]);
      const out = join(tempDir('https-backup'), 'x.zkb');
      const noCa = await ark(['backup', 'create', '--admin', admin, '--out', out]);
      assert.equal(noCa.code, 1);
      assert.match(noCa.stderr, /pass --ca-file/);
      const overHttp = await ark(['backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', out]);
      assert.equal(overHttp.code, 1);
      assert.match(overHttp.stderr, /HTTPS only/);
      const flagOnHttp = await ark([
        'backup',
        'create',
        '--admin',
        `http://127.0.0.1:${adminPort}`,
        '--ca-file',
        certs.caPem,
        '--out',
        out,
      ]);
      assert.equal(flagOnHttp.code, 2);
      assert.match(flagOnHttp.stderr, /--ca-file: for an https:\/\/ AdminServer/);
      assert.equal(existsSync(out), false);

      // restore --online and backup diff go through the same request, the CA from the environment
      const file = join(tempDir('https-backup'), 'r.zkb');
      assert.equal((await ark(['backup', 'create', '--admin', admin, '--ca-file', certs.caPem, '--out', file])).code, 0);
      const env = { ...process.env, ARK_ADMIN_CA_FILE: certs.caPem };
      const diff = await runTool(process.execPath, [arkBin, 'backup', 'diff', file, admin, '--summary'], { env, timeoutMs: 20000 });
      assert.equal(diff.code, 0, diff.stderr);
      const restore = await runTool(process.execPath, [arkBin, 'restore', '--online', '--admin', admin, file, '--json'], {
        env,
        timeoutMs: 20000,
      });
      assert.equal(restore.code, 0, restore.stderr);
      rmSync(file, { force: true });
    } finally {
      await server.stop();
    }
  });

  describe('an ensemble member: admin.portUnification with admin.needClientAuth, metrics on one port for HTTP and HTTPS (client certificate wanted)', () => {
    let ens: Ensemble;
    let member: Member;
    const adminPort = { value: 0 };
    const metricsPort = { value: 0 };

    before(async () => {
      if (missing()) return;
      adminPort.value = await freePort();
      metricsPort.value = await freePort();
      ens = await startEnsemble({
        voters: 3,
        memberCfg: (id) =>
          id === 1
            ? {
                ...adminHttps(adminPort.value, { 'admin.portUnification': true, 'admin.needClientAuth': true }),
                'metricsProvider.className': 'prometheus',
                'metricsProvider.httpHost': '127.0.0.1',
                'metricsProvider.httpPort': metricsPort.value,
                'metricsProvider.httpsPort': metricsPort.value,
                'metricsProvider.ssl.keyStore.location': certs.serverPem,
                'metricsProvider.ssl.trustStore.location': certs.caPem,
                // ssl.want.client.auth stays true: a certificate is asked for, not required
                'metricsProvider.ssl.need.client.auth': false,
              }
            : {},
      });
      await ens.serving();
      member = ens.members[0]!;
      const leader = await ens.leader();
      const c = await ZkClient.connect({ port: leader.port });
      for (const p of ['/e', '/e/1', '/e/2']) await c.create(p, p);
      c.disconnect();
    });
    after(async () => {
      await ens?.stop();
    });

    test('HTTP and HTTPS on one port; HTTPS needs a trusted client certificate; ark backup create over https', {
      timeout: 60000,
    }, async (t) => {
      const skip = requireOrSkip(missing());
      if (skip) return t.skip(skip);
      const url = (scheme: string, path: string): string => `${scheme}://127.0.0.1:${adminPort.value}${path}`;
      const overHttp = await curl(url('http', '/commands/zabstate'));
      assert.equal(overHttp.status, 200, overHttp.stderr);
      assert.equal((JSON.parse(overHttp.body) as { myid: number }).myid, member.id);
      assert.doesNotMatch(overHttp.headers, /strict-transport-security/i, 'HSTS only on HTTPS answers');

      const withCert = await curl(url('https', '/commands/stat'), [...ca(), ...clientCert()]);
      assert.equal(withCert.status, 200, withCert.stderr);
      assert.equal((JSON.parse(withCert.body) as { error: unknown }).error, null);
      const noCert = await curl(url('https', '/commands/stat'), ca());
      assert.notEqual(noCert.status, 200, 'admin.needClientAuth: no certificate, no answer');

      // ark backup create through the member: --cert/--key for needClientAuth; without, a hint
      await backupThrough(url('https', ''), ['--ca-file', certs.caPem, '--cert', certs.clientCert, '--key', certs.clientKey]);
      const out = join(tempDir('https-backup'), 'n.zkb');
      const refused = await ark(['backup', 'create', '--admin', url('https', ''), '--ca-file', certs.caPem, '--out', out]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /client certificate.*--cert and --key/);

      // the metrics port answers both ways (httpPort equal to httpsPort); HTTPS with or without a
      // client certificate (ssl.want.client.auth), but one that is offered must be trusted
      for (const [scheme, args] of [
        ['http', []],
        ['https', ca()],
        ['https', [...ca(), ...clientCert()]],
      ] as const) {
        const m = await curl(`${scheme}://127.0.0.1:${metricsPort.value}/metrics`, [...args]);
        assert.equal(m.status, 200, `${scheme}: ${m.stderr}`);
        assert.match(m.body, /^znode_count \d+/m);
      }
      const stranger = await curl(`https://127.0.0.1:${metricsPort.value}/metrics`, [
        ...ca(),
        '--cert',
        certs.strangerCert,
        '--key',
        certs.strangerKey,
      ]);
      assert.notEqual(stranger.status, 200, 'an untrusted certificate, even where one is only wanted');
      await waitUntil(
        () => /the client's certificate is not trusted/.test(member.log + (member.proc?.output() ?? '')),
        'the refusal is logged',
        5000,
      );
    });
  });

  test('a bad HTTPS setting stops start-up naming its key', { timeout: 60000 }, async (t) => {
    const skip = requireOrSkip(missing());
    if (skip) return t.skip(skip);
    const cases: Array<[Record<string, string | number | boolean>, RegExp]> = [
      [{ 'admin.forceHttps': 'yes' }, /admin\.forceHttps.*'yes'/],
      [{ 'admin.forceHttps': true, 'ssl.quorum.trustStore.location': '' }, /ssl\.quorum\.trustStore\.location must name/],
      [
        { 'admin.portUnification': true, 'ssl.quorum.keyStore.location': certs.serverP12, 'ssl.quorum.keyStore.password': 'wrong' },
        /ssl\.quorum\.keyStore\.password: the password does not open ssl\.quorum\.keyStore\.location/,
      ],
      [
        {
          'metricsProvider.className': 'prometheus',
          'metricsProvider.httpsPort': 1,
          'metricsProvider.ssl.keyStore.location': certs.serverPem,
        },
        /metricsProvider\.ssl\.trustStore\.location must name .*need\.client\.auth/,
      ],
    ];
    for (const [keys, expected] of cases) {
      const dir = tempDir('https-cfg');
      const cfg = writeCfg(dir, {
        dataDir: join(dir, 'data'),
        clientPort: await freePort(),
        ...adminHttps(await freePort(), {}),
        ...keys,
      });
      const r = await runTool(process.execPath, [arkBin, 'server', cfg], { timeoutMs: 20000 });
      assert.equal(r.code, 1, `${JSON.stringify(keys)}: ${r.stderr}`);
      assert.match(r.stderr, expected, JSON.stringify(keys));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Apache ZooKeeper 3.8 given the same AdminServer settings answers the same URLs the same way', { timeout: 90000 }, async (t) => {
    const skip = requireOrSkip(missing() ?? zookeeperAdminMissing());
    if (skip) return t.skip(skip);
    // (ZooKeeper 3.8 has no admin.needClientAuth, 3.9's, nor metricsProvider.httpsPort, its master's: not compared)
    const settings = async (extra: Record<string, boolean>): Promise<{ port: number; cfg: Record<string, string | number | boolean> }> => {
      const port = await freePort();
      return { port, cfg: adminHttps(port, extra) };
    };
    const force = await settings({ 'admin.forceHttps': true });
    const unified = await settings({ 'admin.portUnification': true });
    const servers: RunningServer[] = [];
    try {
      servers.push(...(await Promise.all([startZooKeeperAdminHttps(force.cfg), startZooKeeperAdminHttps(unified.cfg)])));
      const stat = (scheme: string, port: number): Promise<Reply> => curl(`${scheme}://127.0.0.1:${port}/commands/stat`, ca());
      const forced = await stat('https', force.port);
      assert.equal(forced.status, 200, `ZooKeeper, admin.forceHttps, https: ${forced.stderr}`);
      assert.equal((JSON.parse(forced.body) as { command: string }).command, 'stats');
      assert.match(forced.headers, /strict-transport-security: max-age=86400; includeSubDomains/i);
      assert.notEqual((await stat('http', force.port)).status, 200, 'ZooKeeper, admin.forceHttps: no answer over HTTP');
      for (const scheme of ['http', 'https']) {
        const r = await stat(scheme, unified.port);
        assert.equal(r.status, 200, `ZooKeeper, admin.portUnification, ${scheme}: ${r.stderr}`);
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});

/** Apache ZooKeeper 3.8 with its AdminServer and `admin` settings; resolves once the AdminServer takes connections. */
async function startZooKeeperAdminHttps(admin: Record<string, string | number | boolean>): Promise<RunningServer> {
  const server = await startZooKeeperAdmin(admin);
  // the AdminServer starts after the client port: wait until its port takes connections
  const adminPort = Number(admin['admin.serverPort']);
  await waitUntil(
    async () => (await curl(`https://127.0.0.1:${adminPort}/commands/ruok`, ca())).code !== 7,
    'the AdminServer to listen',
    30_000,
    100,
  );
  return server;
}
