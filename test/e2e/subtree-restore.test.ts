// Subtree restore with real processes: only /app (and its descendants) from a backup, into a
// live 3-member ensemble while clients keep writing elsewhere and under /app's siblings (one txn
// that every member applies at the same zxid), into a standalone server, and offline into a new
// data dir that a server then starts from. Data and ACLs come back; the sequential counter of a
// restored parent never goes backwards, so the next sequential name is above every restored one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag, EventType, OpCode, Perms, type ACL } from '../../src/wire/protocol.js';
import { startEnsemble, type Member } from '../helpers/ensemble.js';
import { ark, freePort, startArk, tempDir } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait.js';

const AUTH = 'ops:secret';
const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ_ONLY: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];

async function clientOn(port: number): Promise<ZkClient> {
  let c: ZkClient | null = null;
  await waitUntil(async () => {
    try {
      c = await ZkClient.connect({ port, sessionTimeoutMs: 10000 });
      return true;
    } catch {
      return false;
    }
  }, `a client on port ${port}`);
  return c!;
}

/** path -> data and ACL of every node at or under root (sorted): what a restore must bring back. */
async function subtree(c: ZkClient, root: string): Promise<string[]> {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const { data } = await c.getDataOrNull(p);
    const { acl } = await c.getACL(p);
    out.push(`${p}=${data === null ? '<null>' : data.toString()} ${JSON.stringify(acl)}`);
    for (const k of await c.getChildren(p)) stack.push(`${p === '/' ? '' : p}/${k}`);
  }
  return out.sort();
}

/** The backed-up shape of /app: data, an ACL of its own, sequential children, a container. */
async function populate(c: ZkClient): Promise<void> {
  await c.create('/app', 'app-v1');
  await c.create('/app/cfg', 'cfg-v1', { acl: READ_ONLY });
  await c.create('/app/q', null);
  for (let i = 0; i < 5; i++) await c.create('/app/q/job-', `job ${i}`, { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
  await c.create('/app/deep', 'd');
  await c.create('/app/deep/er', 'e');
}

/** What happens after the backup and is undone by the restore: /app/q recreated (its counter back to 0), a new node, changed data. */
async function diverge(c: ZkClient): Promise<void> {
  await c.setData('/app', 'app-v2');
  for (const k of await c.getChildren('/app/q')) await c.delete(`/app/q/${k}`);
  await c.delete('/app/q');
  await c.create('/app/q', 'recreated');
  await c.create('/app/q/job-', 'live', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
  await c.create('/app/new', 'gone after the restore');
}

function statText(s: object): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function seqOf(name: string): number {
  return Number(name.slice(-10));
}

describe('subtree restore', { timeout: 180000 }, () => {
  test('into a live 3-member ensemble while clients write elsewhere: one txn, every member the same, /app as backed up, the sequence above every restored name', async () => {
    const adminPorts = [await freePort(), await freePort(), await freePort()];
    const ens = await startEnsemble({
      memberCfg: (id) => ({ 'admin.enableServer': true, 'admin.serverPort': adminPorts[id - 1]!, 'admin.serverAddress': '127.0.0.1' }),
    });
    const admin = (m: Member): string => `http://127.0.0.1:${adminPorts[m.id - 1]}`;
    let writing = true;
    try {
      const leader = await ens.leader();
      await ens.serving();
      const c = await clientOn(leader.port);
      await populate(c);
      await c.create('/app2', 'sibling');
      await c.create('/other', 'x');
      const expected = await subtree(c, '/app');
      const file = join(tempDir('subtree'), 'b.arkb');
      const made = await ark(['backup', 'create', '--admin', admin(leader), '--out', file, '--auth', AUTH]);
      assert.equal(made.code, 0, made.stderr);
      await diverge(c);

      // writers on a follower keep going, under /app's sibling and elsewhere, through the restore
      const follower = ens.members.find((m) => m !== leader)!;
      const w = await clientOn(follower.port);
      const acked = { app2: 0, other: 0 };
      const writer = (async () => {
        for (let i = 1; writing; i++) {
          await w.setData('/app2', `w${i}`);
          acked.app2 = i;
          await w.create('/other/n-', `${i}`, { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
          acked.other = i;
        }
      })();
      await waitUntil(() => acked.other >= 5, 'the writers to be going');

      // watches a client set on the live /app before the restore
      const watcher = await clientOn(ens.members.find((m) => m !== leader && m !== follower)!.port);
      await watcher.getData('/app', true);
      await watcher.getData('/app/new', true);
      await watcher.getChildren('/app/q', true);
      const events = [
        watcher.nextEvent((e) => e.path === '/app', 20000),
        watcher.nextEvent((e) => e.path === '/app/new', 20000),
        watcher.nextEvent((e) => e.path === '/app/q', 20000),
      ];

      // a reader on another member: each atomic read of /app and /app/q sees the old subtree or the new one, never a mix
      const seen = new Set<string>();
      let reading = true;
      const reader = (async () => {
        while (reading) {
          const [app, q] = await watcher.multiRead([
            { type: OpCode.getData, req: { path: '/app', watch: false } },
            { type: OpCode.getChildren, req: { path: '/app/q', watch: false } },
          ]);
          const data = app!.type === OpCode.getData ? String(app!.data) : '?';
          const kids = q!.type === OpCode.getChildren ? q!.children.length : -1;
          seen.add(`${data} ${kids}`);
        }
      })();
      await waitUntil(() => seen.has('app-v2 1'), 'the reader to see the live subtree');
      const r = await ark(['restore', file, '--online', '--admin', admin(follower), '--auth', AUTH, '--path', '/app', '--json']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${ens.members.map((m) => m.log.slice(-2000)).join('\n')}`);
      const res = JSON.parse(r.stdout) as { zxid: string; znodes: number; path: string };
      assert.equal(res.path, '/app');
      assert.equal(res.znodes, expected.length);
      const [onApp, onNew, onQ] = await Promise.all(events);
      assert.equal(onApp!.type, EventType.NodeDataChanged, 'a replaced node changes, it does not vanish');
      assert.equal(onNew!.type, EventType.NodeDeleted);
      assert.equal(onQ!.type, EventType.NodeChildrenChanged);
      await waitUntil(() => seen.has('app-v1 5'), 'the reader to see the restored subtree');
      reading = false;
      await reader;
      assert.deepEqual([...seen].sort(), ['app-v1 5', 'app-v2 1'], 'old (app-v2, one live job) or new (app-v1, five jobs), never a mix');
      const before = acked.other;
      await waitUntil(() => acked.other >= before + 5, 'the writers to go on after the restore');
      writing = false;
      await writer;

      const trees: string[][] = [];
      for (const m of ens.members) {
        const k = await clientOn(m.port);
        await k.sync('/');
        assert.deepEqual(await subtree(k, '/app'), expected, `member ${m.id}: /app is the backup's (data and ACL)`);
        assert.equal((await k.getData('/app2')).data.toString(), `w${acked.app2}`, `member ${m.id} kept the writes to /app2`);
        assert.equal((await k.getChildren('/other')).length, acked.other, `member ${m.id} kept every create under /other`);
        const st = (await k.getData('/app')).stat;
        assert.equal(st.mzxid, parseInt(res.zxid, 16), 'the restored nodes carry the restore txn zxid');
        trees.push(await subtree(k, '/'));
        k.disconnect();
      }
      assert.deepEqual(trees[1], trees[0]);
      assert.deepEqual(trees[2], trees[0]);

      // the next sequential create under the restored /app/q: above every restored name (and the live one)
      const restored = (await c.getChildren('/app/q')).map(seqOf);
      const next = await c.create('/app/q/job-', 'next', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
      assert.ok(seqOf(next) > Math.max(...restored), `${next} after ${restored.join(',')}`);
      c.disconnect();
      w.disconnect();
      watcher.disconnect();
    } finally {
      writing = false;
      await ens.stop();
    }
  });

  test('a standalone server: a missing /app comes back under a nested parent; bad paths and a subtree over jute.maxbuffer are refused clearly', async () => {
    const adminPort = await freePort();
    const archive = tempDir('subtree-archive');
    const cfg = {
      'admin.enableServer': true,
      'admin.serverPort': adminPort,
      'admin.serverAddress': '127.0.0.1',
      'jute.maxbuffer': 8192,
      'backup.archiveDir': archive,
    };
    let s = await startArk({ cfg });
    const admin = `http://127.0.0.1:${adminPort}`;
    try {
      let c = await clientOn(s.port);
      await c.create('/a', 'parent');
      await c.create('/a/app', 'v1', { acl: OPEN });
      await c.create('/a/app/x', 'x1');
      await c.create('/big', null);
      for (let i = 0; i < 40; i++) await c.create(`/big/n${i}`, 'b'.repeat(300));
      const expected = await subtree(c, '/a/app');
      const file = join(tempDir('subtree-sa'), 'b.arkb');
      assert.equal((await ark(['backup', 'create', '--admin', admin, '--out', file, '--auth', AUTH])).code, 0);
      await c.delete('/a/app/x');
      await c.delete('/a/app');
      const cv = (await c.exists('/a'))!.cversion;
      await c.getChildren('/a', true);
      const childEvent = c.nextEvent((e) => e.path === '/a', 20000);

      const r = await ark(['restore', file, '--online', '--admin', admin, '--auth', AUTH, '--path', '/a/app']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${s.output()}`);
      assert.match(r.stdout, /restored \/a\/app .* 2 znodes as one txn, zxid (0x[0-9a-f]+)/);
      const restoreZxid = /zxid (0x[0-9a-f]+)$/m.exec(r.stdout.trim())![1]!;
      assert.equal((await childEvent).type, EventType.NodeChildrenChanged);
      assert.deepEqual(await subtree(c, '/a/app'), expected);
      assert.ok((await c.exists('/a'))!.cversion > cv, "the parent's cversion moves forward");
      const refused = async (args: string[], re: RegExp): Promise<void> => {
        const x = await ark(['restore', file, '--online', '--admin', admin, '--auth', AUTH, ...args]);
        assert.notEqual(x.code, 0, `${args.join(' ')} must be refused`);
        assert.match(x.stderr, re);
      };
      await refused(['--path', '/nope'], /\/nope is not in the backup/);
      await refused(['--path', '/zookeeper'], /\/zookeeper is the server's own/);
      await refused(['--path', '/'], /--path \/ is the whole tree/);
      await refused(['--path', 'app'], /not a valid znode path/);
      await refused(['--path', '/big'], /over jute\.maxbuffer \(8192\)/);
      assert.equal((await c.getChildren('/big')).length, 40, 'a refused restore changed nothing');
      await c.setData('/a/app', 'after the restore');
      c.disconnect();

      // the txn is in the log: a kill -9 and a restart replay it
      await s.kill();
      s = await startArk({ cfg: { ...cfg, clientPort: s.port }, dataDir: s.dataDir });
      c = await clientOn(s.port);
      assert.deepEqual(
        await subtree(c, '/a/app/x'),
        expected.filter((l) => l.startsWith('/a/app/x')),
      );
      assert.equal((await c.getData('/a/app')).data.toString(), 'after the restore');

      // and in the archive: a point-in-time restore to the restore txn replays it
      await s.stop({ keepData: true });
      const pitr = tempDir('subtree-pitr');
      const p = await ark(['restore', '--archive', archive, '--to-zxid', restoreZxid, '--data-dir', pitr, '--path', '/a/app']);
      assert.equal(p.code, 0, `${p.stdout}\n${p.stderr}`);
      s = await startArk({ cfg, dataDir: pitr });
      c = await clientOn(s.port);
      assert.deepEqual(await subtree(c, '/a/app'), expected, 'the point in time is right after the restore txn');
      assert.deepEqual((await c.getChildren('/')).sort(), ['a', 'zookeeper']);

      // the same point in time, online: the command builds it from the archive and sends the subtree
      await c.delete('/a/app/x');
      const o = await ark([
        'restore',
        '--online',
        '--admin',
        admin,
        '--auth',
        AUTH,
        '--archive',
        archive,
        '--to-zxid',
        restoreZxid,
        '--path',
        '/a/app',
        '--json',
      ]);
      assert.equal(o.code, 0, `${o.stdout}\n${o.stderr}`);
      assert.deepEqual(await subtree(c, '/a/app'), expected);

      c.disconnect();
    } finally {
      await s.kill();
    }
  });

  test('offline into a new data dir: /app with every field, the ancestors that reach it, nothing else; a server starts on it', async () => {
    const adminPort = await freePort();
    const s = await startArk({ cfg: { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' } });
    const file = join(tempDir('subtree-off'), 'b.arkb');
    let expected: string[];
    let stats: string[];
    try {
      const c = await clientOn(s.port);
      await c.create('/srv', 'ancestor');
      await c.create('/srv/app', 'v1');
      await c.create('/srv/app/k', 'k1', { acl: READ_ONLY });
      await c.create('/srv/app/q-', 's', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
      await c.create('/srv/sibling', 'not restored');
      await c.create('/elsewhere', 'not restored');
      expected = await subtree(c, '/srv/app');
      stats = [];
      for (const p of ['/srv/app', '/srv/app/k']) stats.push(statText((await c.exists(p))!));
      assert.equal((await ark(['backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', file, '--auth', AUTH])).code, 0);
      c.disconnect();
    } finally {
      await s.kill();
    }
    const dir = tempDir('subtree-dir');
    const r = await ark(['restore', file, '--data-dir', dir, '--path', '/srv/app']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /only \/srv\/app and its descendants/);
    const t = await startArk({ dataDir: dir });
    try {
      const c = await clientOn(t.port);
      assert.deepEqual(await subtree(c, '/srv/app'), expected);
      for (const [i, p] of ['/srv/app', '/srv/app/k'].entries())
        assert.equal(statText((await c.exists(p))!), stats[i], `${p}: every Stat field`);
      assert.deepEqual((await c.getChildren('/')).sort(), ['srv', 'zookeeper']);
      assert.deepEqual(await c.getChildren('/srv'), ['app']);
      assert.equal((await c.getData('/srv')).data.toString(), 'ancestor');
      const next = await c.create('/srv/app/q-', 'n', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
      assert.equal(next, '/srv/app/q-0000000002', 'the counter of /srv/app came with it (k and q- were its creates 0 and 1)');
      c.disconnect();
    } finally {
      await t.kill();
    }
  });
});
