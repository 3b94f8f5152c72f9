// Regression tests for what an independent review found: requests that could crash the server,
// grow its memory without bound, lock clients out, or show a client what it may not read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProc } from '../helpers/inproc.js';
import { ZkClient } from '../../src/client/client.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import { AddWatchMode, CreateFlag, EventType, OpCode, Perms, WatcherType, OPEN_ACL_UNSAFE, type MultiOp } from '../../src/wire/protocol.js';
import { digestOf } from '../../src/tree/acl.js';
import { fourLetter } from '../helpers/fourletter.js';
import { waitUntil } from '../helpers/wait.js';

const code = (c: number) => (e: unknown) => e instanceof KeeperError && e.code === c;

test('a_multiRead_reply_over_the_reply_bound_is_refused_not_built', async () => {
  // 2200 reads of a 900 KiB node: a 1.9 GiB reply from a 30 KiB request
  const srv = await startInProc();
  try {
    const c = await srv.client();
    await c.create('/big', Buffer.alloc(900 * 1024, 1));
    const ops: MultiOp[] = Array.from({ length: 2200 }, () => ({ type: OpCode.getData, req: { path: '/big', watch: false } }));
    await c.setData('/big', Buffer.alloc(900 * 1024, 2)); // a write ahead: the read is answered from the commit path
    await assert.rejects(c.multiRead(ops), code(ErrorCode.MarshallingError));
    assert.equal((await c.getData('/big')).data.length, 900 * 1024, 'the server and the connection live on');
    assert.ok(process.memoryUsage().rss < 1.5 * 1024 ** 3, 'no gigabyte reply was built');
  } finally {
    await srv.stop();
  }
});

test('a_very_deep_tree_does_not_overflow_the_stack', async () => {
  const srv = await startInProc();
  try {
    const c = await srv.client();
    let path = '';
    const creates: Array<Promise<string>> = [];
    for (let i = 0; i < 12000; i++) {
      path += '/d';
      creates.push(c.create(path));
    }
    await Promise.all(creates);
    await c.setData('/d', 'x');
    assert.equal(await c.getAllChildrenNumber('/d'), 11999);
    await c.create('/zookeeper/quota/d');
    await c.create('/zookeeper/quota/d/zookeeper_limits', 'count=-1,bytes=-1');
    await c.create('/zookeeper/quota/d/zookeeper_stats', 'count=0,bytes=0');
    assert.equal((await c.getData('/zookeeper/quota/d/zookeeper_stats')).data.toString(), 'count=12000,bytes=1');
  } finally {
    await srv.stop();
  }
});

test('clean_session_closes_do_not_use_up_max_client_cnxns', async () => {
  const srv = await startInProc({ maxClientCnxns: 5 });
  try {
    for (let i = 0; i < 12; i++) {
      const c = await ZkClient.connect({ port: srv.port });
      await c.close();
    }
    // the server let go of all twelve: the only connection it counts is mntr's own
    const alive = async (): Promise<number> => Number(/zk_num_alive_connections\t(\d+)/.exec(await fourLetter(srv.port, 'mntr'))?.[1]);
    await waitUntil(async () => (await alive()) === 1, 'the closed connections to be released');
    const last = await ZkClient.connect({ port: srv.port });
    assert.ok(await last.exists('/'));
    last.disconnect();
  } finally {
    await srv.stop();
  }
});

test('watch_events_need_read_permission_on_the_node', async () => {
  const srv = await startInProc();
  try {
    const owner = await srv.client();
    await owner.addAuth('digest', 'hr:pw');
    await owner.create('/secret', 's', { acl: [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('hr:pw') } }] });
    const snoop = await srv.client();
    await snoop.exists('/secret/layoffs', true);
    await snoop.addWatch('/secret', AddWatchMode.PersistentRecursive);
    const seen: string[] = [];
    snoop.on('watch', (e) => seen.push(`${e.type}:${e.path}`));
    await owner.create('/secret/layoffs', 'x', { acl: [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('hr:pw') } }] });
    await owner.setData('/secret', 'y');
    await snoop.sync('/');
    assert.deepEqual(seen, [], 'nothing about nodes the watcher may not read');
    await snoop.addAuth('digest', 'hr:pw');
    await owner.setData('/secret', 'z');
    await snoop.sync('/');
    assert.deepEqual(seen, [`${EventType.NodeDataChanged}:/secret`]);
  } finally {
    await srv.stop();
  }
});

test('removing_a_data_watch_keeps_a_recursive_watch_on_the_same_path', async () => {
  const srv = await startInProc();
  try {
    const c = await srv.client();
    await c.create('/a');
    await c.addWatch('/a', AddWatchMode.PersistentRecursive);
    await c.getData('/a', true);
    await c.removeWatches('/a', WatcherType.Data);
    await c.checkWatches('/a', WatcherType.PersistentRecursive);
    const ev = c.nextEvent((e) => e.path === '/a/child');
    await c.create('/a/child');
    assert.equal((await ev).type, EventType.NodeCreated);
  } finally {
    await srv.stop();
  }
});

test('acl_lists_that_only_look_alike_stay_distinct_and_unused_ones_are_freed', async () => {
  const srv = await startInProc();
  try {
    const c = await srv.client();
    const alice = digestOf('alice:pw');
    // one entry whose id text contains the separators of a naive key
    await c.create('/trap', null, { acl: [{ perms: Perms.ALL, id: { scheme: 'digest', id: `${alice};1,world,anyone` } }] });
    await c.create('/app', 'v', {
      acl: [
        { perms: Perms.ALL, id: { scheme: 'digest', id: alice } },
        { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
      ],
    });
    const other = await srv.client();
    assert.equal((await other.getData('/app')).data.toString(), 'v', 'world READ is there');
    const before = srv.server.core.tree.aclCacheSize;
    await c.create('/tmp');
    for (let i = 0; i < 200; i++) await c.setACL('/tmp', [{ perms: Perms.ADMIN | (i % 16), id: { scheme: 'world', id: 'anyone' } }]);
    assert.ok(srv.server.core.tree.aclCacheSize <= before + 2, `ACL cache grew to ${srv.server.core.tree.aclCacheSize}`);
  } finally {
    await srv.stop();
  }
});

test('a_close_session_never_deletes_an_ephemeral_another_session_recreated', async () => {
  const srv = await startInProc();
  try {
    const s = await srv.client();
    const t = await srv.client();
    await s.create('/e', null, { flags: CreateFlag.EPHEMERAL });
    // pipelined so that they are decided together: S deletes /e, T re-creates it, S closes
    const del = s.delete('/e');
    const recreate = t.create('/e', null, { flags: CreateFlag.EPHEMERAL });
    const close = s.close();
    await Promise.all([del, recreate, close]);
    assert.equal((await t.exists('/e'))?.ephemeralOwner, t.sessionId);
  } finally {
    await srv.stop();
  }
});

test('a_client_that_pipelines_without_reading_is_paused_not_buffered', async () => {
  const srv = await startInProc();
  try {
    const c = await srv.client();
    await c.create('/m', Buffer.alloc(500 * 1024, 3));
    // 400 reads of a 500 KiB node = 200 MB of replies; the server stops reading this socket instead
    const reads = Array.from({ length: 400 }, () => c.getData('/m'));
    const results = await Promise.all(reads);
    assert.equal(results.length, 400);
    assert.ok(srv.server.core.conns.get([...srv.server.core.conns.keys()][0]!)!.queue.length === 0);
    void OPEN_ACL_UNSAFE;
  } finally {
    await srv.stop();
  }
});
