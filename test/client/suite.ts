// The client suite: every operation and the connection behaviour, against one server given by
// the caller (Ark, Apache ZooKeeper 3.8, or ZK_TEST_SERVER). It must pass unchanged against any
// of them: each test works under its own fresh path, and faults are made with a TCP proxy in
// front of the server (so no test needs to control the server process).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ZkClient } from '../../src/client/client.js';
import {
  AddWatchMode,
  AuthFailedError,
  BadArgumentsError,
  BadVersionError,
  ConnectionClosedError,
  ConnectionLossError,
  CreateMode,
  ExponentialBackoff,
  Ids,
  MarshallingError,
  NoAuthError,
  NoNodeError,
  NoWatcherError,
  NodeExistsError,
  NotEmptyError,
  Op,
  Perms,
  ReconfigDisabledError,
  RequestTimeoutError,
  RuntimeInconsistencyError,
  SessionExpiredError,
  UnimplementedError,
  WatcherType,
  createClient,
  digestAcl,
  type WatchedEvent,
  type ZooKeeperClient,
} from '../../src/index.js';
import { Clients, TcpProxy, WatchQueue, once, recordStates, uniqueRoot, until, type Target } from './helpers.js';
import { freePort } from '../helpers/servers.js';

const T = { timeout: 120000 };

export function clientSuite(label: string, getTarget: () => Target): void {
  describe(`client against ${label}`, () => {
    let target: Target;
    let clients: Clients;
    let admin: ZooKeeperClient;

    before(async () => {
      target = getTarget();
      clients = new Clients(target);
      admin = await clients.connect();
    });
    after(async () => {
      await clients.closeAll();
    });

    /** A fresh root for the test and a client chrooted to it. */
    async function fresh(label2: string, options = {}): Promise<{ root: string; c: ZooKeeperClient }> {
      const root = uniqueRoot(label2);
      await admin.create(root);
      const c = await clients.connect(root, options);
      return { root, c };
    }

    async function cleanup(root: string): Promise<void> {
      await admin.deleteRecursive(root);
    }

    test('connects_with_a_session_and_reports_it', T, async () => {
      const c = createClient(target.connectString, { sessionTimeoutMs: 10000 });
      clients.track(c);
      const states = recordStates(c);
      assert.equal(c.state, 'connecting');
      const info = await once<{ sessionId: bigint; server: string; timeoutMs: number }>(c, 'connected');
      assert.equal(c.state, 'connected');
      assert.notEqual(c.sessionId, 0n);
      assert.equal(info.sessionId, c.sessionId);
      assert.ok(c.sessionTimeoutMs > 0);
      assert.equal(c.server, info.server);
      assert.equal(c.sessionPassword.length, 16);
      await c.waitForConnected();
      assert.deepEqual(states, ['connected']);
      await c.close();
      assert.equal(c.state, 'closed');
      assert.deepEqual(states, ['connected', 'closed']);
      await assert.rejects(c.getData('/'), ConnectionClosedError);
      await c.close(); // idempotent
    });

    test('create_get_set_delete_round_trip_with_versions', T, async () => {
      const { root, c } = await fresh('crud');
      assert.equal(await c.create('/a', 'hello'), '/a');
      const { data, stat } = await c.getData('/a');
      assert.equal(data?.toString(), 'hello');
      assert.equal(stat.version, 0);
      assert.equal(stat.dataLength, 5);
      const s1 = await c.setData('/a', Buffer.from('world'), { version: 0 });
      assert.equal(s1.version, 1);
      await assert.rejects(
        c.setData('/a', 'x', { version: 0 }),
        (e: unknown) => e instanceof BadVersionError && e.path === '/a' && e.code === -103,
      );
      await c.create('/null');
      assert.equal((await c.getData('/null')).data, null, 'created without data reads as null');
      await c.create('/empty', '');
      assert.deepEqual((await c.getData('/empty')).data, Buffer.alloc(0));
      await c.create('/bytes', new Uint8Array([1, 2, 3]));
      assert.deepEqual((await c.getData('/bytes')).data, Buffer.from([1, 2, 3]));
      await assert.rejects(c.create('/a'), NodeExistsError);
      await assert.rejects(c.getData('/missing'), (e: unknown) => e instanceof NoNodeError && e.path === '/missing');
      await c.create('/a/child');
      await assert.rejects(c.delete('/a'), NotEmptyError);
      await assert.rejects(c.delete('/a/child', { version: 5 }), BadVersionError);
      await c.delete('/a/child', { version: 0 });
      await c.delete('/a');
      assert.equal(await c.exists('/a'), null);
      const st = await c.exists('/bytes');
      assert.equal(st?.dataLength, 3);
      assert.deepEqual((await c.getChildren('/')).sort(), ['bytes', 'empty', 'null']);
      const { children, stat: ps } = await c.getChildrenWithStat('/');
      assert.equal(children.length, 3);
      assert.equal(ps.numChildren, 3);
      const created = await c.createWithStat('/withstat', 'd');
      assert.equal(created.path, '/withstat');
      assert.equal(created.stat.dataLength, 1);
      assert.equal(created.stat.czxid, created.stat.mzxid);
      await cleanup(root);
    });

    test('invalid_paths_and_arguments_are_refused_before_sending', T, async () => {
      const { root, c } = await fresh('badargs');
      for (const bad of ['', 'a', '/a/', '//a', '/a/../b']) {
        await assert.rejects(c.getData(bad), BadArgumentsError, JSON.stringify(bad));
      }
      await assert.rejects(c.create('/t', null, { mode: CreateMode.PERSISTENT_WITH_TTL }), BadArgumentsError, 'TTL mode without ttlMs');
      await assert.rejects(c.create('/t', null, { ttlMs: 10 }), BadArgumentsError, 'ttlMs without a TTL mode');
      await assert.rejects(c.setACL('/', []), BadArgumentsError);
      // a request larger than the server's jute.maxbuffer fails alone; the session carries on
      await assert.rejects(c.create('/big', Buffer.alloc(1100 * 1024)), BadArgumentsError);
      assert.equal(c.state, 'connected');
      assert.equal(await c.exists('/big'), null);
      await cleanup(root);
    });

    test('create_modes_ephemeral_sequential_container_ttl', T, async (t) => {
      const { root, c } = await fresh('modes');
      const e = await c.createWithStat('/eph', 'x', { mode: CreateMode.EPHEMERAL });
      assert.equal(e.stat.ephemeralOwner, c.sessionId);
      await assert.rejects(c.create('/eph/child'), (err: unknown) => err instanceof Error && (err as { code?: number }).code === -108);
      const s1 = await c.create('/seq-', 'a', { mode: CreateMode.PERSISTENT_SEQUENTIAL });
      const s2 = await c.create('/seq-', 'b', { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.match(s1, /^\/seq-\d{10}$/);
      assert.match(s2, /^\/seq-\d{10}$/);
      assert.ok(Number(s2.slice(5)) > Number(s1.slice(5)));
      await c.create('/q');
      const under = await c.create('/q/', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
      assert.match(under, /^\/q\/\d{10}$/, 'a sequential create may end in /');
      const box = await c.createWithStat('/box', null, { mode: CreateMode.CONTAINER });
      assert.equal(box.path, '/box');
      await c.create('/box/item');
      assert.deepEqual(await c.getChildren('/box'), ['item']);
      try {
        const ttl = await c.createWithStat('/ttl', 'x', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 60000 });
        assert.equal(ttl.path, '/ttl');
        const ttlSeq = await c.create('/ttlseq-', 'x', { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttlMs: 60000 });
        assert.match(ttlSeq, /^\/ttlseq-\d{10}$/);
      } catch (err) {
        if (!(err instanceof UnimplementedError) || target.kind !== 'external') throw err;
        t.diagnostic('TTL nodes are disabled on this server (extendedTypesEnabled=false)');
      }
      if (target.kind !== 'external') {
        // our servers check containers every second: the emptied container goes
        await c.delete('/box/item');
        await until(async () => (await c.exists('/box')) === null, 'the empty container to be removed');
      }
      await cleanup(root);
    });

    test('create_with_parents', T, async () => {
      const { root, c } = await fresh('parents');
      assert.equal(await c.create('/a/b/c/d', 'leaf', { createParents: true }), '/a/b/c/d');
      assert.equal((await c.getData('/a/b/c/d')).data?.toString(), 'leaf');
      assert.equal((await c.getData('/a/b')).data, null);
      assert.equal(await c.create('/a/b/x', null, { createParents: true }), '/a/b/x', 'existing parents are fine');
      await c.create('/k/j', null, { createParents: 'container' });
      await c.deleteRecursive('/a');
      assert.equal(await c.exists('/a'), null);
      await c.deleteRecursive('/not-there');
      await cleanup(root);
    });

    test('one_shot_watches_data_exists_children', T, async () => {
      const { root, c } = await fresh('watch');
      const other = await clients.connect(root);
      const q = new WatchQueue();
      assert.equal(await c.exists('/n', { watch: q.watcher }), null);
      await other.create('/n', 'v1');
      assert.deepEqual(pick(await q.next()), { type: 'NodeCreated', path: '/n' });
      await c.getData('/n', { watch: q.watcher });
      await c.getChildren('/n', { watch: q.watcher });
      await other.setData('/n', 'v2');
      assert.deepEqual(pick(await q.next()), { type: 'NodeDataChanged', path: '/n' });
      await other.create('/n/kid');
      assert.deepEqual(pick(await q.next()), { type: 'NodeChildrenChanged', path: '/n' });
      // one-shot: no further events until set again
      await other.setData('/n', 'v3');
      await other.create('/n/kid2');
      await c.sync();
      assert.equal(q.pending, 0);
      // deletion fires both a data and a child watch (one event each)
      const d = new WatchQueue();
      const ch = new WatchQueue();
      await c.getData('/n/kid', { watch: d.watcher });
      await c.getChildren('/n/kid', { watch: ch.watcher });
      await other.delete('/n/kid');
      assert.deepEqual(pick(await d.next()), { type: 'NodeDeleted', path: '/n/kid' });
      assert.deepEqual(pick(await ch.next()), { type: 'NodeDeleted', path: '/n/kid' });
      // watch: true goes to the client's 'watch' event
      const ev = once<WatchedEvent>(c, 'watch');
      await c.getData('/n', { watch: true });
      await other.setData('/n', 'v4');
      assert.deepEqual(pick(await ev), { type: 'NodeDataChanged', path: '/n' });
      // the event carries the zxid of the change where the server sends it (Ark; ZooKeeper 3.8 sends -1)
      const z = new WatchQueue();
      await c.getData('/n', { watch: z.watcher });
      const st = await other.setData('/n', 'v5');
      const zxid = (await z.next()).zxid;
      assert.ok(zxid === st.mzxid || zxid === -1, `event zxid ${zxid}`);
      await cleanup(root);
    });

    test('persistent_and_recursive_watches_and_removeWatches', T, async () => {
      const { root, c } = await fresh('persist');
      const other = await clients.connect(root);
      await other.create('/p');
      const p = new WatchQueue();
      const r = new WatchQueue();
      await c.addWatch('/p', p.watcher, { mode: AddWatchMode.Persistent });
      await c.addWatch('/', r.watcher, { mode: AddWatchMode.PersistentRecursive });
      await other.setData('/p', '1');
      await other.create('/p/c');
      await other.setData('/p', '2');
      await other.create('/p/c/g');
      await other.delete('/p/c/g');
      assert.deepEqual([await p.next(), await p.next(), await p.next()].map(pick), [
        { type: 'NodeDataChanged', path: '/p' },
        { type: 'NodeChildrenChanged', path: '/p' },
        { type: 'NodeDataChanged', path: '/p' },
      ]);
      assert.deepEqual(
        [await r.next(), await r.next(), await r.next(), await r.next(), await r.next()].map(pick),
        [
          { type: 'NodeDataChanged', path: '/p' },
          { type: 'NodeCreated', path: '/p/c' },
          { type: 'NodeDataChanged', path: '/p' },
          { type: 'NodeCreated', path: '/p/c/g' },
          { type: 'NodeDeleted', path: '/p/c/g' },
        ],
        'recursive: every node below, no child events',
      );
      // remove the persistent one: the watcher hears it, then nothing more
      await c.removeWatches('/p', WatcherType.Persistent, { watcher: p.watcher });
      assert.deepEqual(pick(await p.next()), { type: 'PersistentWatchRemoved', path: '/p' });
      await other.setData('/p', '3');
      assert.deepEqual(pick(await r.next()), { type: 'NodeDataChanged', path: '/p' });
      assert.equal(p.pending, 0);
      await assert.rejects(c.removeWatches('/p', WatcherType.Persistent), NoWatcherError);
      // two data watchers on one node: removing one leaves the other
      const w1 = new WatchQueue();
      const w2 = new WatchQueue();
      await c.getData('/p', { watch: w1.watcher });
      await c.exists('/p', { watch: w2.watcher });
      await c.removeWatches('/p', WatcherType.Data, { watcher: w1.watcher });
      assert.deepEqual(pick(await w1.next()), { type: 'DataWatchRemoved', path: '/p' });
      await other.setData('/p', '4');
      assert.deepEqual(pick(await w2.next()), { type: 'NodeDataChanged', path: '/p' });
      assert.equal(w1.pending, 0);
      // remove all of a type on the server too; then local-only removal
      const k = new WatchQueue();
      await c.getChildren('/p', { watch: k.watcher });
      await c.removeWatches('/p', WatcherType.Children);
      assert.deepEqual(pick(await k.next()), { type: 'ChildWatchRemoved', path: '/p' });
      assert.deepEqual(pick(await r.next()), { type: 'NodeDataChanged', path: '/p' }, 'the recursive watch saw setData 4');
      await c.removeWatches('/', WatcherType.Any, { local: true });
      assert.deepEqual(pick(await r.next()), { type: 'PersistentWatchRemoved', path: '/' });
      await cleanup(root);
    });

    test('transactions_are_atomic_and_report_each_op', T, async () => {
      const { root, c } = await fresh('multi');
      await c.create('/x', 'x0');
      const res = await c
        .transaction()
        .create('/t', 'a')
        .create('/s-', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL })
        .setData('/x', 'x1', 0)
        .check('/x', 1)
        .delete('/t')
        .commit();
      assert.deepEqual(
        res.map((r) => r.type),
        ['create', 'create', 'setData', 'check', 'delete'],
      );
      assert.equal(res[0]!.type === 'create' && res[0]!.path, '/t', 'create paths come back chroot-relative');
      assert.ok(res[1]!.type === 'create' && /^\/s-\d{10}$/.test(res[1]!.path));
      assert.equal(res[2]!.type === 'setData' && res[2]!.stat.version, 1);
      const err = await c.multi([Op.create('/u'), Op.setData('/x', 'no', 7), Op.create('/v')]).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof BadVersionError, String(err));
      assert.deepEqual(
        err.results?.map((r) => (r.type === 'error' ? r.code : r.type)),
        [0, -103, -2],
      );
      assert.ok(err.results?.[2]?.type === 'error' && err.results[2].error instanceof RuntimeInconsistencyError);
      assert.equal(await c.exists('/u'), null, 'nothing of a failed transaction is applied');
      assert.deepEqual(await c.multi([]), []);
      const reads = await c.multiRead([Op.getData('/x'), Op.getChildren('/'), Op.getData('/missing')]);
      assert.equal(reads[0]!.type === 'getData' && reads[0]!.data?.toString(), 'x1');
      assert.ok(reads[1]!.type === 'getChildren' && reads[1]!.children.includes('x'));
      assert.ok(reads[2]!.type === 'error' && reads[2]!.error instanceof NoNodeError);
      await cleanup(root);
    });

    test('acls_and_digest_auth', T, async () => {
      const { root, c } = await fresh('acl');
      const acl = [digestAcl('alice', 'secret'), { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
      await c.create('/guarded', 'g', { acl });
      const got = await c.getACL('/guarded');
      assert.deepEqual(got.acl.map((a) => `${a.id.scheme}:${a.perms}`).sort(), ['digest:31', 'world:1']);
      await assert.rejects(c.setData('/guarded', 'x'), NoAuthError);
      await c.addAuth('digest', 'alice:secret');
      assert.ok((await c.whoAmI()).some((w) => w.scheme === 'digest' && w.user === 'alice'));
      await c.setData('/guarded', 'x');
      const st = await c.setACL('/guarded', Ids.OPEN_ACL_UNSAFE, { version: 0 });
      assert.equal(st.aversion, 1);
      await assert.rejects(c.setACL('/guarded', Ids.OPEN_ACL_UNSAFE, { version: 0 }), BadVersionError);
      await c.create('/mine', null, { acl: Ids.CREATOR_ALL_ACL });
      const mine = await c.getACL('/mine');
      assert.equal(mine.acl[0]?.id.scheme, 'digest');
      // credentials given up front are sent on connect, before any request
      const alice = await clients.connect(root, { auth: [{ scheme: 'digest', auth: 'alice:secret' }] });
      await alice.setData('/mine', 'ok');
      const anon = await clients.connect(root);
      await assert.rejects(anon.setData('/mine', 'no'), NoAuthError);
      await alice.delete('/mine');
      await cleanup(root);
    });

    test('refused_credentials_say_authFailed_and_the_client_carries_on', T, async () => {
      const { root, c } = await fresh('authfail');
      const states = recordStates(c);
      const sid = c.sessionId;
      const failed = once<{ scheme: string }>(c, 'authFailed');
      await assert.rejects(c.addAuth('no-such-scheme', 'x'), AuthFailedError);
      assert.equal((await failed).scheme, 'no-such-scheme');
      // the server drops the connection after AuthFailed; the same session comes back
      await c.create('/after', 'ok');
      assert.equal(c.sessionId, sid);
      assert.equal((await c.getData('/after')).data?.toString(), 'ok');
      assert.ok(!states.includes('expired'));
      await cleanup(root);
    });

    test('session_queries_ephemerals_counts_sync_config', T, async () => {
      const { root, c } = await fresh('queries');
      await c.create('/e1', null, { mode: CreateMode.EPHEMERAL });
      await c.create('/d');
      await c.create('/d/e2', null, { mode: CreateMode.EPHEMERAL });
      await c.create('/d/p');
      await c.create('/d/p/q');
      assert.deepEqual((await c.getEphemerals()).sort(), ['/d/e2', '/e1'], 'chroot-relative, only this session');
      assert.deepEqual(await c.getEphemerals('/d'), ['/d/e2']);
      assert.ok(
        (await admin.getEphemerals()).every((p) => !p.startsWith(root)),
        "not another session's",
      );
      assert.equal(await c.getAllChildrenNumber('/d'), 3);
      await c.sync('/d');
      await c.sync();
      const cfg = await c.getConfig();
      assert.ok(cfg.stat);
      await assert.rejects(
        c.reconfig({ members: 'server.1=127.0.0.1:1:2;3' }),
        (e: unknown) => e instanceof ReconfigDisabledError || e instanceof NoAuthError,
      );
      await cleanup(root);
    });

    test('chroot_round_trips', T, async () => {
      const root = uniqueRoot('chroot');
      await admin.create(root);
      await admin.create(`${root}/app`);
      const c = await clients.connect(`${root}/app`);
      assert.equal(c.chroot, `${root}/app`);
      assert.equal(await c.create('/x', 'in'), '/x');
      assert.equal((await admin.getData(`${root}/app/x`)).data?.toString(), 'in');
      const seq = await c.create('/s-', null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.match(seq, /^\/s-\d{10}$/);
      assert.deepEqual((await c.getChildren('/')).sort(), [`s-${seq.slice(3)}`, 'x'].sort());
      assert.deepEqual(await c.getEphemerals(), [seq]);
      assert.equal((await c.exists('/'))?.numChildren, 2);
      const q = new WatchQueue();
      const rec = new WatchQueue();
      await c.getData('/x', { watch: q.watcher });
      await c.addWatch('/', rec.watcher, { mode: AddWatchMode.PersistentRecursive });
      await admin.setData(`${root}/app/x`, 'changed');
      assert.deepEqual(pick(await q.next()), { type: 'NodeDataChanged', path: '/x' });
      assert.deepEqual(pick(await rec.next()), { type: 'NodeDataChanged', path: '/x' });
      await admin.create(`${root}/app/y`);
      assert.deepEqual(pick(await rec.next()), { type: 'NodeCreated', path: '/y' });
      await admin.setData(`${root}/app`, 'root-data');
      assert.deepEqual(pick(await rec.next()), { type: 'NodeDataChanged', path: '/' }, 'the chroot itself is /');
      const res = await c.multi([Op.create('/m'), Op.check('/x', 1)]);
      assert.ok(res[0]!.type === 'create' && res[0]!.path === '/m');
      // a client chrooted at a missing node gets NoNode for its root, as ZooKeeper does
      const lost = await clients.connect(`${root}/nope`);
      await assert.rejects(lost.getChildren('/'), NoNodeError);
      await c.close();
      await cleanup(root);
    });

    test('cut_connection_resumes_the_session_and_its_watches', T, async () => {
      const { root, c: setup } = await fresh('resume');
      await setup.create('/w', 'v0');
      await setup.create('/gone');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const c = await clients.connect(root, { sessionTimeoutMs: 20000 }, proxy.connectString);
        const states = recordStates(c);
        const sid = c.sessionId;
        await c.create('/eph', null, { mode: CreateMode.EPHEMERAL });
        const data = new WatchQueue();
        const exist = new WatchQueue();
        const child = new WatchQueue();
        const persist = new WatchQueue();
        const gone = new WatchQueue();
        await c.getData('/w', { watch: data.watcher });
        await c.exists('/later', { watch: exist.watcher });
        await c.getChildren('/', { watch: child.watcher });
        await c.addWatch('/w', persist.watcher, { mode: AddWatchMode.Persistent });
        await c.getData('/gone', { watch: gone.watcher });
        const suspended = once(c, 'suspended');
        const back = once(c, 'reconnected');
        proxy.freeze();
        const inflight = assert.rejects(c.getData('/w'), ConnectionLossError);
        // changes made while the client is away are reported when its watches are re-registered
        await setup.setData('/w', 'v1');
        await setup.delete('/gone');
        proxy.thaw({ dropFrozen: true });
        await suspended;
        await inflight;
        await back;
        assert.equal(c.sessionId, sid, 'same session');
        assert.deepEqual(states, ['suspended', 'reconnected']);
        assert.deepEqual(pick(await data.next()), { type: 'NodeDataChanged', path: '/w' });
        // (the server re-registers persistent watches without replaying missed changes; this
        // event is the data watch's, which the persistent watcher on the same path sees too)
        assert.deepEqual(pick(await persist.next()), { type: 'NodeDataChanged', path: '/w' });
        assert.deepEqual(pick(await gone.next()), { type: 'NodeDeleted', path: '/gone' });
        await setup.create('/later');
        assert.deepEqual(pick(await exist.next()), { type: 'NodeCreated', path: '/later' });
        assert.deepEqual(pick(await child.next()), { type: 'NodeChildrenChanged', path: '/' });
        assert.ok(await setup.exists('/eph'), 'the ephemeral lives on');
        // requests made while disconnected wait and go out after the reconnect
        const down = once(c, 'suspended');
        proxy.cut();
        await down;
        const queued = c.create('/queued', 'q');
        assert.equal(await queued, '/queued');
        await setup.setData('/w', 'v2');
        assert.deepEqual(pick(await persist.next()), { type: 'NodeDataChanged', path: '/w' });
        await c.close();
        assert.equal(await setup.exists('/eph'), null, 'close() ends the session and its ephemerals');
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('setWatches_is_split_for_thousands_of_long_paths', T, async () => {
      const { root, c: setup } = await fresh('split');
      await setup.create('/w');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const c = await clients.connect(root, {}, proxy.connectString);
        const names = Array.from({ length: 6000 }, (_, i) => `${'n'.repeat(190)}-${i}`);
        const events = new Map<string, string>();
        const watcher = (e: WatchedEvent): void => {
          events.set(e.path, e.type);
        };
        // 6000 exist watches of ~200 bytes: ~1.2 MB, more than a 1 MB jute.maxbuffer takes in one request
        await Promise.all(names.map((n) => c.exists(`/w/${n}`, { watch: watcher })));
        const conns = proxy.connections;
        const back = once(c, 'reconnected');
        proxy.cut();
        await back;
        await c.sync();
        const setWatches = proxy.framesAfter(conns).filter((f) => f.xid === -8);
        assert.ok(setWatches.length >= 9, `${setWatches.length} setWatches requests`);
        assert.ok(
          setWatches.every((f) => f.bytes < 200 * 1024),
          'each well under the limit',
        );
        // every batch was registered: creating every node wakes every watch
        for (let i = 0; i < names.length; i += 500) {
          await setup.multi(names.slice(i, i + 500).map((n) => Op.create(`/w/${n}`)));
        }
        await until(() => events.size === names.length, `${names.length} NodeCreated events (have ${events.size})`);
        assert.ok([...events.values()].every((t) => t === 'NodeCreated'));
        // (a getChildren of all 6000 would be a reply larger than a server's jute.maxbuffer)
        for (let i = 0; i < names.length; i += 500) {
          await setup.multi(names.slice(i, i + 500).map((n) => Op.delete(`/w/${n}`)));
        }
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    /**
     * Closes c's session from a second connection with its id and password, while c (behind a
     * frozen proxy) cannot take the session back; then lets c reconnect. (ZooKeeper hands a
     * session to its newest connection, so an unfrozen c would race the closer.)
     */
    async function closeSessionElsewhere(c: ZooKeeperClient, proxy: TcpProxy): Promise<void> {
      const [host, port] = target.connectString.split(',')[0]!.split(':');
      proxy.freeze();
      const twin = await ZkClient.connect({ host: host!, port: Number(port), sessionId: c.sessionId, passwd: c.sessionPassword });
      await twin.close();
      proxy.thaw();
    }

    test('session_closed_elsewhere_is_reported_expired_and_a_new_session_starts', T, async () => {
      const { root } = await fresh('expire');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const c = await clients.connect(root, {}, proxy.connectString);
        const states = recordStates(c);
        const sid = c.sessionId;
        await c.create('/eph', null, { mode: CreateMode.EPHEMERAL });
        await c.create('/keep');
        const w = new WatchQueue();
        await c.getData('/keep', { watch: w.watcher });
        const expired = once<{ reason: string; sessionId: bigint }>(c, 'expired');
        const renewed = once(c, 'connected');
        await closeSessionElsewhere(c, proxy);
        const info = await expired;
        assert.equal(info.reason, 'server');
        assert.equal(info.sessionId, sid);
        const ended = await w.next();
        assert.deepEqual({ type: ended.type, state: ended.state }, { type: 'None', state: 'Expired' }, 'watchers hear their watch ended');
        await renewed;
        assert.notEqual(c.sessionId, sid);
        assert.deepEqual(states.slice(-2), ['expired', 'connected']);
        assert.equal(await c.exists('/eph'), null, "the old session's ephemeral is gone");
        await c.create('/eph', null, { mode: CreateMode.EPHEMERAL });
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('expired_is_final_without_renewSession', T, async () => {
      const { root } = await fresh('final');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const c = await clients.connect(root, { renewSession: false }, proxy.connectString);
        const expired = once(c, 'expired');
        await closeSessionElsewhere(c, proxy);
        await expired;
        assert.equal(c.state, 'expired');
        await assert.rejects(c.getData('/'), SessionExpiredError);
        await assert.rejects(c.waitForConnected(), SessionExpiredError);
        await c.close();
        assert.equal(c.state, 'closed');
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('partition_longer_than_the_session_is_expired_locally_then_renewed', T, async () => {
      const { root } = await fresh('partition');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const c = await clients.connect(root, { sessionTimeoutMs: 4000 }, proxy.connectString);
        const states = recordStates(c);
        const sid = c.sessionId;
        await c.create('/eph', null, { mode: CreateMode.EPHEMERAL });
        const expired = once<{ reason: string }>(c, 'expired', 60000);
        proxy.freeze();
        const during = assert.rejects(c.getData('/eph'), ConnectionLossError);
        assert.equal((await expired).reason, 'local');
        await during;
        assert.deepEqual(states, ['suspended', 'expired']);
        const renewed = once(c, 'connected', 60000);
        proxy.thaw({ dropFrozen: true });
        await renewed;
        assert.notEqual(c.sessionId, sid);
        // the server expires the old session on its own clock; its ephemeral goes then
        await until(async () => (await admin.exists(`${root}/eph`)) === null, 'the old ephemeral to go with its session', 60000);
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('request_timeouts_and_abort_signals', T, async () => {
      const { root } = await fresh('timeouts');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const c = await clients.connect(root, { sessionTimeoutMs: 20000 }, proxy.connectString);
        await c.create('/n', 'v');
        proxy.freeze();
        await assert.rejects(c.getData('/n', { timeoutMs: 100 }), RequestTimeoutError);
        const ac = new AbortController();
        const aborted = c.getData('/n', { signal: ac.signal });
        ac.abort(new Error('caller gave up'));
        await assert.rejects(aborted, /caller gave up/);
        await assert.rejects(c.getData('/n', { signal: AbortSignal.abort(new Error('already')) }), /already/);
        proxy.thaw();
        // the late replies are dropped; the connection and session carry on
        assert.equal((await c.getData('/n')).data?.toString(), 'v');
        assert.equal(c.state, 'connected');
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('oversized_reply_fails_its_request_only', T, async () => {
      const { root, c: setup } = await fresh('oversize');
      for (let i = 0; i < 40; i++) await setup.create(`/kid-${'k'.repeat(60)}-${i}`);
      const c = await clients.connect(root, { frameBytesMax: 1024 });
      const states = recordStates(c);
      await assert.rejects(c.getChildren('/'), MarshallingError);
      assert.equal((await c.exists('/'))?.numChildren, 40, 'the connection lives on');
      assert.deepEqual(states, []);
      await cleanup(root);
    });

    test('waiting_for_a_connection_is_bounded_and_abortable', T, async () => {
      const proxy = await TcpProxy.start(target.connectString);
      proxy.freeze();
      try {
        const c = createClient(proxy.connectString, { sessionTimeoutMs: 20000 });
        clients.track(c);
        await assert.rejects(c.waitForConnected({ timeoutMs: 50 }), ConnectionLossError);
        const ac = new AbortController();
        const w = c.waitForConnected({ signal: ac.signal });
        ac.abort(new Error('enough'));
        await assert.rejects(w, /enough/);
        const pending = c.exists('/');
        const closed = c.close();
        await assert.rejects(pending, ConnectionClosedError);
        await closed;
        await assert.rejects(c.waitForConnected(), ConnectionClosedError);
      } finally {
        await proxy.close();
      }
    });

    test('failed_connection_attempts_say_which_server_and_why', T, async () => {
      type Failed = { server: string; reason: string; code?: string };
      const dead = await freePort();
      const refused = clients.track(createClient(`127.0.0.1:${dead}`));
      const r = await once<Failed>(refused, 'connectFailed');
      assert.deepEqual([r.server, r.code], [`127.0.0.1:${dead}`, 'ECONNREFUSED'], r.reason);
      const proxy = await TcpProxy.start(target.connectString);
      proxy.freeze();
      try {
        const silent = clients.track(createClient(proxy.connectString, { connectTimeoutMs: 200 }));
        const t = await once<Failed>(silent, 'connectFailed');
        assert.deepEqual([t.server, t.code], [proxy.connectString, 'ETIMEDOUT'], t.reason);
        proxy.thaw();
        await silent.waitForConnected({ timeoutMs: 10000 });
      } finally {
        await proxy.close();
      }
    });

    test('retry_runs_an_operation_across_a_lost_connection', T, async () => {
      const { root } = await fresh('retry');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const c = await clients.connect(root, {}, proxy.connectString);
        let attempts = 0;
        const v = await c.retry(
          async () => {
            attempts++;
            if (attempts === 1) {
              proxy.freeze();
              const p = c.getData('/');
              proxy.thaw({ dropFrozen: true });
              await p; // fails with ConnectionLoss
            }
            return (await c.getData('/')).stat.numChildren;
          },
          { policy: new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 50 }) },
        );
        assert.equal(v, 0);
        assert.equal(attempts, 2);
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('the_small_test_client_still_works', T, async () => {
      const host = target.connectString.split(',')[0]!;
      const z = await ZkClient.connect({ host: host.split(':')[0]!, port: Number(host.split(':')[1]) });
      const root = uniqueRoot('zk');
      await z.create(root, 'x');
      assert.equal((await z.getData(root)).data.toString(), 'x');
      await z.delete(root);
      await z.close();
    });
  });
}

function pick(e: WatchedEvent): { type: string; path: string } {
  return { type: e.type, path: e.path };
}
