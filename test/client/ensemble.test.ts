// The client across member failures of a 3-server ensemble: Ark's, and Apache ZooKeeper 3.8's when
// it is installed (skipped with a printed reason otherwise; a failure in CI). The member the
// client talks to is killed (kill -9: the socket closes) or stopped (SIGSTOP: it goes silent, and
// only the client's read timeout notices); the client must move to another member with the same
// session, its ephemerals and its watches.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { startZooKeeperEnsemble } from '../helpers/zookeeper-ensemble.js';
import { zookeeperMissing } from '../helpers/zookeeper.js';
import { requireOrSkip } from '../helpers/servers.js';
import { AddWatchMode, CreateMode, type ZooKeeperClient } from '../../src/index.js';
import { Clients, WatchQueue, once, recordStates, uniqueRoot, type Target } from './helpers.js';

const T = { timeout: 180000 };
const CFG = { tickTime: 1000 };

function ensembleSuite(label: string, start: () => Promise<Ensemble>): void {
  describe(`client across failures of a ${label} ensemble`, () => {
    let ens: Ensemble;
    let clients: Clients;
    before(async () => {
      ens = await start();
      await ens.leader();
      await ens.serving();
      const target: Target = { connectString: ens.connectString, kind: 'external', stop: async () => undefined };
      clients = new Clients(target);
    });
    after(async () => {
      await clients?.closeAll();
      await ens?.stop();
    });

    const memberOf = (c: ZooKeeperClient): Member => {
      const m = ens.members.find((x) => `127.0.0.1:${x.port}` === c.server);
      assert.ok(m, `member for ${c.server}`);
      return m;
    };
    const others = (m: Member): string =>
      ens.members
        .filter((x) => x !== m && x.proc)
        .map((x) => `127.0.0.1:${x.port}`)
        .join(',');

    test('killed_member_the_session_moves_with_its_ephemerals_and_watches', T, async () => {
      const admin = await clients.connect();
      const root = uniqueRoot('failover');
      await admin.create(root);
      await admin.create(`${root}/w`, 'v0');
      await admin.create(`${root}/sub`);
      const c = await clients.connect(root, { sessionTimeoutMs: 10000 });
      const states = recordStates(c);
      const sid = c.sessionId;
      await c.create('/eph', 'mine', { mode: CreateMode.EPHEMERAL });
      const data = new WatchQueue();
      const child = new WatchQueue();
      const rec = new WatchQueue();
      await c.getData('/w', { watch: data.watcher });
      await c.getChildren('/', { watch: child.watcher });
      // (not on '/' too: before 3.9, ZooKeeper keeps one watch mode per path and session, so a
      // recursive watch would replace the child watch there: ZOOKEEPER-4466)
      await c.addWatch('/sub', rec.watcher, { mode: AddWatchMode.PersistentRecursive });
      const victim = memberOf(c);
      const survivor = await clients.connect(root, {}, others(victim));
      const back = once(c, 'reconnected', 60000);
      await ens.kill(victim);
      try {
        await back;
        // a killed leader means an election: the client may be dropped once more meanwhile
        await ens.leader();
        await ens.serving();
        await c.waitForConnected();
        assert.equal(c.sessionId, sid, 'the same session');
        assert.notEqual(c.server, `127.0.0.1:${victim.port}`);
        assert.equal(states[0], 'suspended');
        assert.ok(
          states.every((s) => s === 'suspended' || s === 'reconnected'),
          states.join(','),
        );
        assert.deepEqual(await c.retry(() => c.getEphemerals()), ['/eph']);
        assert.equal((await survivor.retry(() => survivor.exists('/eph')))?.ephemeralOwner, sid, 'the ephemeral kept its owner');
        await survivor.retry(() => survivor.setData('/w', 'v1'));
        assert.equal((await data.next(60000)).type, 'NodeDataChanged');
        await survivor.create('/new');
        assert.equal((await child.next(60000)).type, 'NodeChildrenChanged');
        await survivor.create('/sub/x');
        assert.deepEqual({ ...(await rec.next(60000)), zxid: 0, state: '' }, { type: 'NodeCreated', path: '/sub/x', zxid: 0, state: '' });
      } finally {
        await ens.start(victim);
      }
      await c.close();
      await ens.serving();
      await admin.deleteRecursive(root);
    });

    test('silent_member_is_noticed_by_the_read_timeout', T, async () => {
      const admin = await clients.connect();
      const root = uniqueRoot('silent');
      await admin.create(root);
      // the client talks to a follower (stopping a leader would stall the ensemble itself)
      const leader = await ens.leader();
      const followers = ens.members.filter((m) => m !== leader && m.proc);
      const c = await clients.connect(root, { sessionTimeoutMs: 10000 }, followers.map((m) => `127.0.0.1:${m.port}`).join(','));
      const sid = c.sessionId;
      await c.create('/eph', null, { mode: CreateMode.EPHEMERAL });
      const victim = memberOf(c);
      const suspended = once<{ reason: string }>(c, 'suspended', 60000);
      const back = once(c, 'reconnected', 60000);
      const seen: string[] = [];
      for (const ev of ['suspended', 'reconnected', 'expired', 'connected'] as const)
        c.on(ev, (i: unknown) => seen.push(`${ev} ${JSON.stringify(i, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}`));
      victim.proc!.process.kill('SIGSTOP');
      try {
        const why = await suspended;
        assert.match(why.reason, /nothing heard/, 'noticed by silence, not by a closed socket');
        await back.catch((e: Error) => {
          throw new Error(`${e.message}; events: ${seen.join('; ')}`);
        });
        assert.equal(c.sessionId, sid);
        assert.notEqual(c.server, `127.0.0.1:${victim.port}`);
        assert.deepEqual(await c.getEphemerals(), ['/eph']);
      } finally {
        victim.proc?.process.kill('SIGCONT');
      }
      await c.close();
      await ens.serving();
      await admin.deleteRecursive(root);
    });
  });
}

ensembleSuite('3-server Ark', () => startEnsemble({ cfg: CFG }));

const zkSkip = requireOrSkip(zookeeperMissing());
if (zkSkip) test('client across failures of a 3-server ZooKeeper 3.8 ensemble', { skip: zkSkip }, () => undefined);
else ensembleSuite('3-server ZooKeeper 3.8', () => startZooKeeperEnsemble({ cfg: CFG }));
