// The web console on an ensemble: its API over HTTP as the page uses it (the tree page itself is
// driven in console.test.ts): a follower's console writes go through that member like any
// client's (forwarded to the leader); an ip ACL granting loopback grants a console user nothing;
// and the ensemble page in a real browser, where a killed follower turns red and comes back.
// admin.console.enabled=false turns the console off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { startInProc } from '../helpers/inproc.js';
import { freePort, tempDir } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait.js';
import { ZooKeeperClient, digestAcl } from '../../src/client/zookeeper.js';
import { CreateFlag, Perms } from '../../src/wire/protocol.js';
import { digestOf } from '../../src/tree/acl.js';
import { chromiumMissing, launchBrowser, screenshotPath } from '../helpers/browser.js';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { makeCerts, opensslMissing } from '../helpers/certs.js';

const noBrowser = chromiumMissing();
if (noBrowser) console.log(`# skipping the ensemble page's browser test: ${noBrowser}`);

/** A console user over HTTP: the session cookie and the CSRF token, as the page holds them. */
class ConsoleUser {
  private cookie = '';
  private csrf = '';
  constructor(private readonly base: string) {}

  async login(user: string, password: string): Promise<number> {
    const r = await fetch(`${this.base}/console/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, password }),
    });
    const body = (await r.json()) as { csrf?: string };
    this.cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    this.csrf = body.csrf ?? '';
    return r.status;
  }

  async get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await fetch(`${this.base}/console/api${path}`, { headers: { cookie: this.cookie } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await fetch(`${this.base}/console/api${path}`, {
      method: 'POST',
      headers: { cookie: this.cookie, 'content-type': 'application/json', 'x-ark-csrf': this.csrf },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('web console API on an ensemble follower', () => {
  let ens: Ensemble;
  let leader: Member;
  let follower: Member;
  let client: ZooKeeperClient;
  const adminPorts: number[] = [];

  before(async () => {
    for (let i = 0; i < 3; i++) adminPorts.push(await freePort());
    ens = await startEnsemble({
      voters: 3,
      // each server.N line names its member's client address: the ensemble page asks each one srvr there
      clientInLines: true,
      memberCfg: (id) => ({ 'admin.enableServer': true, 'admin.serverPort': adminPorts[id - 1]!, 'admin.serverAddress': '127.0.0.1' }),
    });
    leader = await ens.leader();
    follower = ens.members.find((m) => m !== leader)!;
    client = new ZooKeeperClient(`127.0.0.1:${leader.port}`);
    await client.waitForConnected({ timeoutMs: 10_000 });
    await client.create('/team', 'shared', { acl: [digestAcl('alice', 'pw', Perms.ALL)] });
    // an ip ACL for loopback: a local tool's node; the console runs on loopback but must not inherit it
    await client.create('/local-only', 'for local tools', { acl: [{ perms: Perms.ALL, id: { scheme: 'ip', id: '127.0.0.1' } }] });
    // the other client, at the leader, is alice too (from zkCli, say)
    await client.addAuth('digest', 'alice:pw');
    // a follower admits a console login by the ACLs in its own tree: wait until it has applied those
    // creates (the leader answers them once a quorum has them, maybe before this follower)
    const atFollower = new ZooKeeperClient(`127.0.0.1:${follower.port}`);
    try {
      await atFollower.waitForConnected({ timeoutMs: 10_000 });
      await waitUntil(async () => (await atFollower.exists('/local-only')) !== null, 'the follower has applied the creates');
    } finally {
      await atFollower.close();
    }
  });

  after(async () => {
    await client?.close();
    await ens?.stop();
  });

  test("a follower's console writes go through it to the leader, as the user, with BadVersion on a stale version", async () => {
    const alice = new ConsoleUser(`http://127.0.0.1:${adminPorts[follower.id - 1]}`);
    assert.equal(await alice.login('alice', 'wrong'), 401);
    assert.equal(await alice.login('alice', 'pw'), 200);
    const session = await alice.get('/session');
    assert.equal((session.body.server as { mode: string }).mode, 'follower');
    const made = await alice.post('/create', { path: '/team/from-follower', data: b64('v1'), acl: 'creator' });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    await waitUntil(async () => (await client.exists('/team/from-follower')) !== null, 'the create seen at the leader');
    const { acl } = await client.getACL('/team/from-follower');
    assert.equal(acl[0]!.id.id, digestAcl('alice', 'pw').id.id, 'created as alice (CREATOR_ALL_ACL names her)');
    await client.setData('/team/from-follower', 'v2 from the leader');
    await waitUntil(async () => {
      const n = await alice.get(`/node?path=${encodeURIComponent('/team/from-follower')}`);
      return (n.body.stat as { version: number }).version === 1;
    }, 'the follower has the leader change');
    const stale = await alice.post('/set', { path: '/team/from-follower', data: b64('mine'), version: 0 });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.error, 'BadVersion');
    assert.equal(Buffer.from(String((stale.body.current as { data: string }).data), 'base64').toString(), 'v2 from the leader');
    const ok = await alice.post('/set', { path: '/team/from-follower', data: b64('mine'), version: 1 });
    assert.equal(ok.status, 200);
    await waitUntil(async () => (await client.getData('/team/from-follower')).data!.toString() === 'mine', 'the write at the leader');
  });

  test("a follower's console closes a session whose client is connected to the leader", async () => {
    const alice = new ConsoleUser(`http://127.0.0.1:${adminPorts[follower.id - 1]}`);
    assert.equal(await alice.login('alice', 'pw'), 200);
    const victim = new ZooKeeperClient(`127.0.0.1:${leader.port}`, { renewSession: false });
    try {
      await victim.waitForConnected({ timeoutMs: 10_000 });
      await victim.create('/held', '', { mode: CreateFlag.EPHEMERAL as 0 });
      const id = `0x${victim.sessionId.toString(16)}`;
      // an admin page: alice needs ALL on / by name (world:anyone ALL makes nobody an admin)
      const open = await client.getACL('/');
      await client.setACL('/', [...open.acl, digestAcl('alice', 'pw', Perms.ALL)]);
      await waitUntil(async () => JSON.stringify((await alice.get('/sessions')).body).includes(id), 'the follower knows the session');
      const r = await alice.post('/close-session', { id });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitUntil(async () => (await client.exists('/held')) === null, 'its ephemeral gone at the leader');
    } finally {
      await victim.close().catch(() => undefined);
    }
  });

  test('an ip ACL granting loopback grants a console user nothing', async () => {
    const alice = new ConsoleUser(`http://127.0.0.1:${adminPorts[follower.id - 1]}`);
    assert.equal(await alice.login('alice', 'pw'), 200);
    const n = await alice.get('/node?path=%2Flocal-only');
    assert.equal(n.status, 200);
    assert.equal(n.body.dataError, 'NoAuth');
    assert.equal(n.body.data, undefined);
    const w = await alice.post('/set', { path: '/local-only', data: b64('x'), version: -1 });
    assert.equal(w.status, 403);
    // while a loopback client (the ip id) may read it: the ACL itself works
    assert.equal((await client.getData('/local-only')).data!.toString(), 'for local tools');
  });

  test('without the session, or without the CSRF token, nothing is done', async () => {
    const base = `http://127.0.0.1:${adminPorts[follower.id - 1]}`;
    const anon = await fetch(`${base}/console/api/node?path=%2Fteam`);
    assert.equal(anon.status, 401);
    const alice = new ConsoleUser(base);
    await alice.login('alice', 'pw');
    const cookie = await (async () => {
      const r = await fetch(`${base}/console/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'alice', password: 'pw' }),
      });
      return (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    })();
    const noToken = await fetch(`${base}/console/api/delete`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/team' }),
    });
    assert.equal(noToken.status, 403);
    assert.ok(await client.exists('/team'));
  });

  test('the ensemble page: every member up; a killed follower turns red, then comes back', { skip: noBrowser ?? false }, async () => {
    const base = `http://127.0.0.1:${adminPorts[leader.id - 1]}`;
    const browser = await launchBrowser();
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await page.goto(`${base}/console/`);
      await page.fill('input[name=user]', 'alice');
      await page.fill('input[name=password]', 'pw');
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-testid=whoami]');
      await page.click('[data-testid=page-ensemble]');
      const health = (m: Member) => page.getByTestId(`member-${m.id}`).getAttribute('data-health');
      await waitUntil(async () => {
        for (const m of ens.members) if ((await health(m)) !== 'ok') return false;
        return true;
      }, 'every member shown up');
      assert.equal(await page.getByTestId(`member-${leader.id}-state`).innerText(), 'leader');
      assert.equal(await page.getByTestId(`member-${follower.id}-state`).innerText(), 'follower');
      // the election that made it leader, as the leader saw it
      assert.match(await page.getByTestId('elections').innerText(), new RegExp(`\\d+ ms\\s+${leader.id}\\s+\\d+\\s+leading`));
      await ens.kill(follower);
      await waitUntil(async () => (await health(follower)) === 'bad', 'the killed follower shown red', 15_000);
      assert.match(await page.getByTestId(`member-${follower.id}-state`).innerText(), /unreachable/);
      await page.screenshot({ path: screenshotPath('console-ensemble.png') });
      await ens.start(follower);
      await waitUntil(async () => (await health(follower)) === 'ok', 'the restarted follower shown up again', 30_000);
    } finally {
      await browser.close();
    }
  });
});

/** A standalone server with its AdminServer on 127.0.0.1 (and `cfg`), and a client connected to it, for `body`; both closed after. */
async function withAdminServer(
  cfg: Record<string, string | number | boolean>,
  body: (x: { adminPort: number; c: ZooKeeperClient }) => Promise<void>,
): Promise<void> {
  const adminPort = await freePort();
  const s = await startInProc({ 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1', ...cfg });
  const c = new ZooKeeperClient(`127.0.0.1:${s.port}`);
  try {
    await c.waitForConnected({ timeoutMs: 10_000 });
    await body({ adminPort, c });
  } finally {
    await c.close();
    await s.stop();
  }
}

test('admin.console.enabled=false: no console on the AdminServer', async () => {
  const adminPort = await freePort();
  const s = await startInProc({
    'admin.enableServer': true,
    'admin.serverPort': adminPort,
    'admin.serverAddress': '127.0.0.1',
    'admin.console.enabled': false,
  });
  try {
    const r = await fetch(`http://127.0.0.1:${adminPort}/console/`);
    assert.equal(r.status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${adminPort}/commands/ruok`)).status, 200);
  } finally {
    await s.stop();
  }
});

test('over HTTPS (admin.forceHttps): the console logs in and its session cookie is Secure', {
  skip: opensslMissing() ?? false,
}, async () => {
  const certs = makeCerts();
  await withAdminServer(
    {
      'admin.forceHttps': true,
      'ssl.quorum.keyStore.location': certs.serverPem,
      'ssl.quorum.trustStore.location': certs.caPem,
    },
    async ({ adminPort, c }) => {
      await c.create('/mine', 'x', { acl: [digestAcl('alice', 'pw', Perms.ALL)] });
      const login = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
        const body = JSON.stringify({ user: 'alice', password: 'pw' });
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: adminPort,
            path: '/console/api/login',
            method: 'POST',
            ca: readFileSync(certs.caPem),
            servername: 'localhost',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie'] ?? '') }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(login.status, 200);
      assert.match(login.cookie, /; Secure/);
      assert.match(login.cookie, /HttpOnly; SameSite=Strict/);
    },
  );
});

test('the backups page API: the last scheduled backup and the archive, with backup.archiveDir', async () => {
  await withAdminServer(
    {
      'backup.archiveDir': tempDir('console-archive'),
      'backup.archiveIntervalMs': 100,
      'backup.intervalMs': 1000,
    },
    async ({ adminPort, c }) => {
      await c.create('/mine', 'x', { acl: [digestAcl('alice', 'pw', Perms.ALL)] });
      // an admin page: ALL on / by name
      await c.setACL('/', [...(await c.getACL('/')).acl, digestAcl('alice', 'pw', Perms.ALL)]);
      const alice = new ConsoleUser(`http://127.0.0.1:${adminPort}`);
      assert.equal(await alice.login('alice', 'pw'), 200);
      const last = (await c.exists('/mine'))!.mzxid;
      let status: Record<string, unknown> = {};
      await waitUntil(async () => {
        status = (await alice.get('/backups')).body;
        return status.last_backup_success === 1 && Number(status.archive_last_zxid) >= last;
      }, 'a scheduled backup and the archive past the last write');
      assert.equal(status.archive_history_mismatch, 0);
      assert.ok(Number(status.last_backup_time_ms) > 0, 'when it was taken');
    },
  );
});

test('the super user (DigestAuthenticationProvider.superDigest) logs in though no ACL names it, and reads everything', async () => {
  await withAdminServer(
    {
      'DigestAuthenticationProvider.superDigest': digestOf('super:admin-pw'),
    },
    async ({ adminPort, c }) => {
      await c.create('/alice-only', 'hers', { acl: [digestAcl('alice', 'pw', Perms.ALL)] });
      const root = new ConsoleUser(`http://127.0.0.1:${adminPort}`);
      assert.equal(await root.login('super', 'wrong'), 401);
      assert.equal(await root.login('super', 'admin-pw'), 200);
      const n = await root.get('/node?path=%2Falice-only');
      assert.equal(Buffer.from(String(n.body.data), 'base64').toString(), 'hers');
    },
  );
});

test('security review: world:anyone on / makes nobody an admin; login guesses count per user; a login body is small; a READ taken away ends cached paging', async () => {
  await withAdminServer({}, async ({ adminPort, c }) => {
    const base = `http://127.0.0.1:${adminPort}`;
    await c.addAuth('digest', 'alice:apw');
    await c.create('/alice', 'secret', { acl: [digestAcl('alice', 'apw', Perms.ALL)] });
    await c.create('/alice/hidden-name', '');
    await c.create('/bob', '', { acl: [digestAcl('bob', 'bpw', Perms.ALL)] });
    // / is world:anyone ALL (ZooKeeper's default): bob is logged in, but no admin
    const bob = new ConsoleUser(base);
    assert.equal(await bob.login('bob', 'bpw'), 200);
    for (const path of ['/backup', '/sessions', '/backups']) assert.equal((await bob.get(path)).status, 403, path);
    assert.equal((await bob.post('/close-session', { id: '0x1' })).status, 403);

    // five wrong guesses at alice's password from this address: alice is held off, bob is not,
    // and bob's good login does not reset alice's count
    const guesser = new ConsoleUser(base);
    for (let i = 0; i < 5; i++) assert.equal(await guesser.login('alice', `wrong${i}`), 401);
    assert.equal(await guesser.login('alice', 'wrong5'), 429);
    assert.equal(await new ConsoleUser(base).login('bob', 'bpw'), 200);
    assert.equal(await guesser.login('alice', 'wrong6'), 429);

    // a login body is a user and a password, not megabytes
    const big = await fetch(`${base}/console/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'x', password: 'y'.repeat(64 * 1024) }),
    }).catch(() => null);
    assert.ok(big === null || big.status === 413, `a 64 KiB login body: ${big?.status}`);

    // alice pages /alice's children, then loses READ on it: the next page is refused, not served from the cache
    await c.setACL('/', [...(await c.getACL('/')).acl, digestAcl('root', 'rpw', Perms.ALL)]);
    const alice = new ConsoleUser(base);
    await waitUntil(async () => (await alice.login('alice', 'apw')) === 200, 'alice logs in once the throttle lets her', 30_000, 500);
    const first = await alice.get('/children?path=%2Falice');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.match(JSON.stringify(first.body), /hidden-name/);
    await c.setACL('/alice', [digestAcl('alice', 'apw', Perms.ALL & ~Perms.READ)]);
    const after = await alice.get('/children?path=%2Falice');
    assert.doesNotMatch(JSON.stringify(after.body), /hidden-name/);
    assert.notEqual(after.status, 200);
  });
});
