// The web console (issue 16) as a person uses it: Debian's chromium, headless, drives the page that
// the server's AdminServer serves at /console, against a seeded tree, while a second, real client
// (Ark's) changes the same nodes. One server and one browser for every case.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { freePort, tempDir } from '../helpers/servers.js';
import { readBackupAsync } from '../../src/backup/format.js';
import { chromiumMissing, launchBrowser, screenshotPath, type Browser } from '../helpers/browser.js';
import { waitUntil } from '../helpers/wait.js';
import { ZooKeeperClient, digestAcl } from '../../src/client/zookeeper.js';
import { CreateFlag, Perms, type ACL } from '../../src/wire/protocol.js';
import { digestOf } from '../../src/tree/acl.js';

const missing = chromiumMissing();
if (missing) console.log(`# skipping the web console's browser tests: ${missing}`);

const ALICE = 'alice:alice-secret';
const BOB = 'bob:bob-secret';
const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
const BIG_CHILDREN = 10_000;
/** a znode name may hold markup (no slash) */
const MARKUP_NAME = '<img src=x onerror=window.__xss=3>';
/** what page.evaluate runs in the browser sees; this file is compiled without the DOM's types */
interface BrowserGlobals {
  document: { cookie: string };
  __xss?: number;
}

/** a tree a person would recognise: an app's config, services with ephemeral members, locks, a big queue */
async function seed(c: ZooKeeperClient): Promise<void> {
  await c.addAuth('digest', ALICE);
  const create = (p: string, data: string, acl = OPEN, mode: number = CreateFlag.PERSISTENT) => c.create(p, data, { acl, mode: mode as 0 });
  await create('/app', 'orders service');
  await create(
    '/app/config',
    JSON.stringify({ db: { host: 'db-1.internal', port: 5432 }, featureFlags: ['fast-path', 'audit'], timeoutMs: 2500 }),
  );
  await create('/app/services', '');
  for (const s of ['api', 'billing', 'search']) {
    await create(`/app/services/${s}`, `${s} service`);
    for (let i = 1; i <= 2; i++) await create(`/app/services/${s}/member-000000000${i}`, `10.0.0.${i}:8080`, OPEN, CreateFlag.EPHEMERAL);
  }
  await create('/app/locks', '');
  await create('/app/locks/leader-0000000007', 'api-2');
  await create('/xss', XSS);
  await create(`/${MARKUP_NAME}`, 'a node whose name is markup');
  await create('/secret', 'only alice may read this', [digestAcl('alice', 'alice-secret', Perms.ALL)]);
  await create('/bob', "bob's notes", [
    digestAcl('bob', 'bob-secret', Perms.ALL),
    { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
  ]);
  await create('/doomed', 'a subtree to delete');
  for (let i = 0; i < 5; i++) {
    await create(`/doomed/d${i}`, '');
    for (let j = 0; j < 5; j++) await create(`/doomed/d${i}/e${j}`, '');
  }
  await create('/queue', 'a node with many children');
  for (let i = 0; i < BIG_CHILDREN; i += 1000) {
    const t = c.transaction();
    for (let j = i; j < i + 1000; j++) t.create(`/queue/item-${String(j).padStart(10, '0')}`, 'x');
    await t.commit();
  }
}

describe('web console in a real browser', { skip: missing ?? false }, () => {
  let server: InProc;
  let other: ZooKeeperClient;
  let browser: Browser;
  let page: Page;
  let base: string;
  const cspViolations: string[] = [];

  before(async () => {
    const adminPort = await freePort();
    server = await startInProc({
      'admin.enableServer': true,
      'admin.serverPort': adminPort,
      'admin.serverAddress': '127.0.0.1',
    });
    base = `http://127.0.0.1:${adminPort}`;
    other = new ZooKeeperClient(`127.0.0.1:${server.port}`);
    await other.waitForConnected({ timeoutMs: 10_000 });
    await seed(other);
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    // whatever the console does, its CSP (no inline script or style) must never have to refuse it
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await other?.close();
    await server?.stop();
  });

  async function login(p: Page, credentials: string): Promise<void> {
    const [user, password] = credentials.split(':') as [string, string];
    await p.goto(`${base}/console/`);
    await p.fill('input[name=user]', user);
    await p.fill('input[name=password]', password);
    await p.click('button[type=submit]');
    await p.waitForSelector('[data-testid=whoami]');
  }

  /** a fresh load of the page at `path` (a change of the hash alone would keep the page as it was) */
  async function open(p: Page, path: string): Promise<void> {
    await p.goto(`${base}/console/#${path}`);
    await p.reload();
    await p.waitForSelector(`[data-testid=node-path]:text-is("${path}")`);
  }

  const text = (p: Page, testid: string): Promise<string> => p.locator(`[data-testid="${testid}"]`).innerText();

  test('a wrong password is refused; the right one logs in', async () => {
    await page.goto(`${base}/console/`);
    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=password]', 'not-her-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=login-error]');
    assert.match(await text(page, 'login-error'), /unknown user or wrong password/);
    await login(page, ALICE);
    assert.equal(await text(page, 'whoami'), 'alice');
    const cookies = await browser.context.cookies(`${base}/console/`);
    const session = cookies.find((c) => c.name.startsWith('ark_console_'));
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.cookie),
      '',
      'the page cannot read the session cookie',
    );
  });

  test('browse to a node: children load when opened, data as text / JSON / hex, every Stat field, the ACL', async () => {
    await page.goto(`${base}/console/`);
    await page.click('[data-testid="toggle:/app"]');
    await page.click('[data-testid="node:/app/config"]');
    await page.waitForSelector('[data-testid=node-path]:text-is("/app/config")');
    const raw = (await other.getData('/app/config')).data!.toString();
    assert.equal(await text(page, 'data'), raw);
    await page.click('[data-testid=view-json]');
    assert.equal(await text(page, 'data'), JSON.stringify(JSON.parse(raw), null, 2));
    await page.click('[data-testid=view-hex]');
    assert.match(await text(page, 'data'), /^00000000 {2}7b 22 64 62/);
    const stat = (await other.exists('/app/config'))!;
    assert.equal(await text(page, 'stat-czxid'), `0x${stat.czxid.toString(16)}`);
    assert.equal(await text(page, 'stat-mzxid'), `0x${stat.mzxid.toString(16)}`);
    assert.equal(await text(page, 'stat-pzxid'), `0x${stat.pzxid.toString(16)}`);
    assert.equal(await text(page, 'stat-version'), String(stat.version));
    assert.equal(await text(page, 'stat-dataLength'), String(stat.dataLength));
    assert.equal(await text(page, 'stat-ctime'), new Date(stat.ctime).toISOString().replace('T', ' ').replace('Z', ' UTC'));
    assert.match(await text(page, 'acl'), /world\s+anyone\s+cdrwa/);
    // an ephemeral member is tagged as one
    await page.click('[data-testid="toggle:/app/services"]');
    await page.click('[data-testid="toggle:/app/services/api"]');
    await page.click('[data-testid="node:/app/services/api/member-0000000001"]');
    await page.waitForSelector('[data-testid=node-path]:text-is("/app/services/api/member-0000000001")');
    assert.match(await text(page, 'stat-ephemeralOwner'), /^0x[0-9a-f]+$/);
  });

  test('a node with 10k children shows its first page at once and pages on; search by prefix', async () => {
    await page.goto(`${base}/console/`);
    const t0 = performance.now();
    await page.click('[data-testid="toggle:/queue"]');
    await page.waitForSelector('[data-testid="node:/queue/item-0000000099"]');
    const firstPaintMs = performance.now() - t0;
    console.log(`# console: first page of ${BIG_CHILDREN} children painted in ${firstPaintMs.toFixed(0)} ms`);
    assert.equal(await page.locator('[data-testid^="node:/queue/item-"]').count(), 100);
    assert.match(await text(page, 'more:/queue'), /100 of 10000/);
    await page.click('[data-testid="more:/queue"]');
    await page.waitForSelector('[data-testid="node:/queue/item-0000000199"]');
    assert.equal(await page.locator('[data-testid^="node:/queue/item-"]').count(), 200);
    await page.fill('[data-testid=search]', '/queue/item-00000099');
    await page.waitForSelector('[data-testid=search-results] >> text=100 matches under /queue');
    await page.fill('[data-testid=search]', '/app/serv');
    await page.waitForSelector('[data-testid=search-results] >> text="/app/services"');
  });

  test('an edit while another client changes the node gives BadVersion and shows the new value; nothing is overwritten', async () => {
    await other.create('/app/limit', 'max=10');
    await open(page, '/app/limit');
    await page.click('[data-testid=edit]');
    await page.fill('[data-testid=editor-text]', 'max=20');
    await other.setData('/app/limit', 'max=15 (set by another client)');
    await page.click('[data-testid=save]');
    await page.waitForSelector('[data-testid=conflict]');
    assert.match(await text(page, 'conflict'), /BadVersion/);
    assert.equal(await text(page, 'conflict-value'), 'max=15 (set by another client)');
    assert.equal((await other.getData('/app/limit')).data!.toString(), 'max=15 (set by another client)', 'not overwritten');
    // the user decides: keep their text over the version they have now seen
    await page.click('[data-testid=rebase]');
    await page.click('[data-testid=save]');
    await waitUntil(async () => (await other.getData('/app/limit')).data!.toString() === 'max=20', 'the saved edit');
    await page.waitForSelector('[data-testid=data]:text-is("max=20")');
  });

  test('live updates: a change made by another client shows without reloading', async () => {
    await open(page, '/app/config');
    await page.click('[data-testid="toggle:/app/locks"]');
    await other.setData('/app/config', '{"changed": true}');
    await page.waitForSelector('[data-testid=data]:text-is(\'{"changed": true}\')');
    await other.create('/app/locks/leader-0000000008', 'api-3');
    await page.waitForSelector('[data-testid="node:/app/locks/leader-0000000008"]');
    await other.delete('/app/locks/leader-0000000008');
    await page.waitForSelector('[data-testid="node:/app/locks/leader-0000000008"]', { state: 'detached' });
  });

  test('delete a subtree: the count, then only after the path is typed', async () => {
    await open(page, '/doomed');
    await page.click('[data-testid=delete]');
    await page.waitForSelector('[data-testid=delete-count]');
    assert.match(await text(page, 'delete-count'), /This deletes 31 znodes/);
    assert.equal(await page.locator('[data-testid=delete-go]').isDisabled(), true);
    await page.fill('[data-testid=delete-confirm]', '/doome');
    assert.equal(await page.locator('[data-testid=delete-go]').isDisabled(), true);
    await page.fill('[data-testid=delete-confirm]', '/doomed');
    await page.click('[data-testid=delete-go]');
    await waitUntil(async () => (await other.exists('/doomed')) === null, '/doomed deleted');
    await page.waitForSelector('[data-testid=node-path]:text-is("/")');
    await page.waitForSelector('[data-testid="node:/doomed"]', { state: 'detached' });
  });

  test('create a child from the page', async () => {
    await open(page, '/app');
    await page.click('[data-testid=create]');
    await page.fill('[data-testid=create-name]', 'feature');
    await page.fill('[data-testid=create-data]', 'on');
    await page.click('[data-testid=create-submit]');
    await page.waitForSelector('[data-testid=node-path]:text-is("/app/feature")');
    assert.equal((await other.getData('/app/feature')).data!.toString(), 'on');
  });

  test('markup in data or in a name is shown as text and runs nothing', async () => {
    await open(page, '/xss');
    assert.equal(await text(page, 'data'), XSS);
    assert.equal(await page.locator('[data-testid=node-view] img, [data-testid=node-view] script').count(), 0);
    const named = page.getByTestId(`node:/${MARKUP_NAME}`);
    await named.waitFor();
    assert.equal(await named.innerText(), MARKUP_NAME);
    assert.equal(await page.locator('[data-testid=tree] img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).__xss), undefined);
  });

  test('CSRF: a POST without the token, and posts from another origin, change nothing', async () => {
    await open(page, '/app/config');
    const before = await other.exists('/app/config');
    // the page's own origin, with the cookie, but no token
    const status = await page.evaluate(async () => {
      const r = await fetch('/console/api/delete', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: '/app/config' }),
      });
      return r.status;
    });
    assert.equal(status, 403);
    // another origin (another port of the same host: the same site, so SameSite does not stop it)
    const evilPort = await freePort();
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><form id=f method=POST action="${base}/console/api/delete" enctype="text/plain">
<input name='{"path":"/app/config","x":"' value='"}'></form>
<script>
fetch(${JSON.stringify(`${base}/console/api/set`)}, {method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: {'content-type': 'text/plain'}, body: JSON.stringify({path: '/app/config', data: 'cHduZWQ=', version: -1})})
  .finally(() => { document.title = 'sent'; document.getElementById('f').submit(); });
</script>`);
    });
    await new Promise<void>((r) => evil.listen(evilPort, '127.0.0.1', r));
    try {
      const attacker = await browser.context.newPage();
      await attacker.goto(`http://127.0.0.1:${evilPort}/`);
      await attacker.waitForURL(`${base}/console/api/delete`);
      assert.match(await attacker.locator('body').innerText(), /CrossOrigin|BadContentType/);
      await attacker.close();
    } finally {
      evil.close();
    }
    const now = await other.exists('/app/config');
    assert.ok(now, '/app/config still exists');
    assert.equal(now.mzxid, before!.mzxid, 'and is unchanged');
  });

  test('a user without READ on a node sees its Stat but not its data', async () => {
    // alice's session cookie goes (as when it expires): the page's next request brings back the login
    await open(page, '/app');
    await browser.context.clearCookies();
    await page.click('[data-testid="node:/xss"]');
    await page.waitForSelector('[data-testid=login]');
    await login(page, BOB);
    await open(page, '/secret');
    await page.waitForSelector('[data-testid=data-error]');
    assert.match(await text(page, 'data-error'), /NoAuth/);
    assert.doesNotMatch(await page.locator('[data-testid=node-view]').innerText(), /only alice may read this/);
    // the API itself holds nothing back that the page hides
    const body = await page.evaluate(async () => (await fetch('/console/api/node?path=%2Fsecret')).text());
    assert.doesNotMatch(body, /only alice/);
    assert.doesNotMatch(body, new RegExp(Buffer.from('only alice may read this').toString('base64').slice(0, 12)));
    // no Edit for what cannot be read, and a write the ACL refuses is refused by the server
    assert.equal(await page.locator('[data-testid=edit]').isDisabled(), true);
    const refused = await page.evaluate(async () => {
      const { csrf } = (await (await fetch('/console/api/session')).json()) as { csrf: string };
      const r = await fetch('/console/api/set', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ark-csrf': csrf },
        body: JSON.stringify({ path: '/secret', data: 'aGk=', version: -1 }),
      });
      return { status: r.status, body: await r.text() };
    });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /NoAuth/);
    assert.equal((await other.getData('/secret')).data!.toString(), 'only alice may read this');
    // bob's own node is his to read
    await open(page, '/bob');
    assert.equal(await text(page, 'data'), "bob's notes");
    assert.equal(digestOf(BOB).startsWith('bob:'), true);
  });

  test('the sessions page: needs ALL on /; shows a client session with its address and ephemerals', async () => {
    // bob is logged in; while / is world:anyone ALL everyone has it, so give ALL on / to alice only
    const open = await other.getACL('/');
    await other.setACL('/', [
      digestAcl('alice', 'alice-secret', Perms.ALL),
      { perms: Perms.ALL & ~Perms.ADMIN, id: { scheme: 'world', id: 'anyone' } },
    ]);
    try {
      await page.goto(`${base}/console/#sessions`);
      await page.reload();
      await page.waitForSelector('[data-testid=sessions-error]');
      assert.match(await text(page, 'sessions-error'), /ALL permission on \//);
      assert.equal(await page.evaluate(async () => (await fetch('/console/api/backup')).status), 403, 'no backup for bob either');
      await browser.context.clearCookies();
      await login(page, ALICE);
      await page.click('[data-testid=page-sessions]');
      const row = page.getByTestId(`session-0x${other.sessionId.toString(16)}`);
      await row.waitFor();
      const cells = await row.innerText();
      assert.match(cells, /127\.0\.0\.1:\d+/, 'the client connected here');
      assert.match(cells, /\/app\/services\/api\/member-0000000001/, 'its ephemerals');
      // the console's own session shows as such
      await page.waitForSelector('[data-testid=sessions] >> text=web console');
      // close another client's session: its ephemeral goes, and that client finds its session expired
      const victim = new ZooKeeperClient(`127.0.0.1:${server.port}`, { renewSession: false });
      try {
        await victim.waitForConnected({ timeoutMs: 10_000 });
        await victim.create('/victim-was-here', '', { mode: CreateFlag.EPHEMERAL as 0 });
        let expired = false;
        victim.on('expired', () => {
          expired = true;
        });
        const vid = `0x${victim.sessionId.toString(16)}`;
        await page.getByTestId(`close-${vid}`).click();
        await page.getByTestId(`close-confirm-${vid}`).click();
        await waitUntil(async () => (await other.exists('/victim-was-here')) === null, "the closed session's ephemeral gone");
        await waitUntil(() => expired, 'the closed session reported expired to its client');
      } finally {
        await victim.close().catch(() => undefined);
      }
    } finally {
      await other.setACL('/', open.acl);
    }
  });

  test("the metrics page charts the server's own counters (uPlot, under the CSP)", async () => {
    {
      await page.click('[data-testid=page-metrics]');
      // the server samples every 5 s: wait for two samples, i.e. one point
      await waitUntil(
        async () => {
          const n = await page.evaluate(async () => ((await (await fetch('/console/api/metrics')).json()) as { t: number[] }).t.length);
          return n >= 1;
        },
        'a metrics point',
        20_000,
        250,
      );
      await page.reload();
      await page.waitForSelector('[data-testid=chart-requestsPerSec] canvas');
      assert.equal(await page.locator('[data-testid=metrics] canvas').count(), 4);
      const series = await page.evaluate(async () => (await (await fetch('/console/api/metrics')).json()) as { znodes: number[] });
      assert.ok(series.znodes.at(-1)! > BIG_CHILDREN, 'the znode count includes the seeded tree');
    }
  });

  test('the backups page downloads a consistent backup that holds the tree', async (t) => {
    // an admin page: alice needs ALL on / by name (world:anyone ALL makes nobody an admin)
    const open = await other.getACL('/');
    await other.setACL('/', [...open.acl, digestAcl('alice', 'alice-secret', Perms.ALL)]);
    t.after(() => other.setACL('/', open.acl));
    await page.click('[data-testid=page-backups]');
    await page.waitForSelector('[data-testid=archive]');
    assert.match(await text(page, 'last-backup'), /No scheduled backup/);
    assert.match(await text(page, 'archive'), /No continuous archive is configured/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=backup-download]')]);
    assert.match(download.suggestedFilename(), /^ark-backup-0x[0-9a-f]+\.arkb$/);
    const file = join(tempDir('console-backup'), 'backup.arkb');
    await download.saveAs(file);
    const b = await readBackupAsync(file, readFileSync(file));
    const config = b.snapshot.tree.get('/app/config');
    assert.ok(config, '/app/config is in the backup');
    assert.equal(config.data?.toString(), (await other.getData('/app/config')).data!.toString());
    assert.equal(b.snapshot.tree.get('/queue')?.stat().numChildren, BIG_CHILDREN);
  });

  test('the ensemble page of a standalone server shows it, serving', async () => {
    await page.click('[data-testid=page-ensemble]');
    await page.waitForSelector('[data-testid=member-0][data-health=ok]');
    assert.equal(await text(page, 'member-0-state'), 'standalone');
    await page.click('[data-testid=page-tree]');
    await page.waitForSelector('[data-testid=tree]');
  });

  test('screenshot of the tree page from the demo tree (docs/console-tree.png)', async () => {
    await browser.context.clearCookies();
    await login(page, ALICE);
    await other.setData(
      '/app/config',
      JSON.stringify({ db: { host: 'db-1.internal', port: 5432 }, featureFlags: ['fast-path', 'audit'], timeoutMs: 2500 }),
    );
    await open(page, '/app/config');
    await page.click('[data-testid="toggle:/app/services"]');
    await page.click('[data-testid="toggle:/app/services/api"]');
    await page.click('[data-testid="toggle:/queue"]');
    await page.click('[data-testid=view-json]');
    await page.waitForSelector('[data-testid="node:/app/services/api/member-0000000002"]');
    await page.waitForSelector('[data-testid=live]:text("live")');
    await page.screenshot({ path: screenshotPath('console-tree.png') });
    assert.deepEqual(cspViolations, [], 'nothing on any page the CSP had to refuse');
  });
});
