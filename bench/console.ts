// The web console with a large tree: a standalone server filled with N znodes (default 1M, 1,000
// to a parent) plus one node with 10k children; Debian's chromium, headless, logs in and times
// what a person waits for: the login, the root's children, a 1,000-child parent, the 10k-child
// node's first page, a node's data and Stat. Run: npm run build && node dist/bench/console.js [N]
import { performance } from 'node:perf_hooks';
import { startInProc } from '../test/helpers/inproc.js';
import { freePort } from '../test/helpers/servers.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { ZooKeeperClient, digestAcl } from '../src/client/zookeeper.js';
import { Perms } from '../src/wire/protocol.js';
import { populateZnodes } from './populate.js';

const count = Number(process.argv[2] ?? 1_000_000);
const adminPort = await freePort();
const server = await startInProc({ 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' });
const base = `http://127.0.0.1:${adminPort}`;
const c = new ZooKeeperClient(`127.0.0.1:${server.port}`);
await c.waitForConnected({ timeoutMs: 10_000 });
await c.create('/console-bench', '', { acl: [digestAcl('alice', 'pw', Perms.ALL)] });
const t0 = performance.now();
await populateZnodes(`127.0.0.1:${server.port}`, count, '/bulk');
console.log(`populated ${count} znodes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
await c.create('/queue', '');
for (let i = 0; i < 10_000; i += 1000) {
  const t = c.transaction();
  for (let j = i; j < i + 1000; j++) t.create(`/queue/item-${String(j).padStart(10, '0')}`, 'x');
  await t.commit();
}
const bulkParent = (await c.getChildren('/bulk')).sort()[0]!;
const browser = await launchBrowser();
const page = browser.context.pages()[0] ?? (await browser.context.newPage());
const timed = async (what: string, f: () => Promise<unknown>): Promise<void> => {
  const s = performance.now();
  await f();
  console.log(`${what}: ${(performance.now() - s).toFixed(0)} ms`);
};
try {
  await page.goto(`${base}/console/`);
  await page.fill('input[name=user]', 'alice');
  await page.fill('input[name=password]', 'pw');
  await timed('log in and paint the root', async () => {
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid="node:/queue"]');
  });
  await timed('open /bulk (its children)', async () => {
    await page.click('[data-testid="toggle:/bulk"]');
    await page.waitForSelector(`[data-testid="node:/bulk/${bulkParent}"]`);
  });
  await timed(`open /bulk/${bulkParent} (1,000 children, first page)`, async () => {
    await page.click(`[data-testid="toggle:/bulk/${bulkParent}"]`);
    await page.waitForSelector(`[data-testid^="node:/bulk/${bulkParent}/"]`);
  });
  await timed('open /queue (10,000 children, first page)', async () => {
    await page.click('[data-testid="toggle:/queue"]');
    await page.waitForSelector('[data-testid="node:/queue/item-0000000099"]');
  });
  await timed('show a node (data, Stat, ACL)', async () => {
    await page.click('[data-testid="node:/queue/item-0000000050"]');
    await page.waitForSelector('[data-testid=node-path]:text-is("/queue/item-0000000050")');
  });
} finally {
  await browser.close();
  await c.close();
  await server.stop();
}
