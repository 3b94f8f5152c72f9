// The recipes suite: every recipe of src/recipes against one server given by the caller (Ark,
// Apache ZooKeeper 3.8, or ZK_TEST_SERVER), unchanged for each. As the client suite: each test
// works under its own fresh path, and faults are made with a TCP proxy in front of the server
// (cut: a crashed link; freeze: a partition), by closing a session from a second connection with
// its id and password, or by killing a consumer process. No assertion depends on how long
// something took; waits are bounded only so that a bug fails instead of hanging.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoNodeError, connect, type ZooKeeperClient } from '../../src/index.js';
import {
  Barrier,
  ConfigWatcher,
  DistributedAtomicLong,
  DistributedQueue,
  DoubleBarrier,
  GroupMember,
  InterProcessMutex,
  InterProcessReadWriteLock,
  InterProcessSemaphore,
  LeaderElection,
  LeaderLatch,
  LockLostError,
  NodeCache,
  NotHeldError,
  ServiceDiscovery,
  SharedCount,
  TreeCache,
  type ChildData,
  type WatchMode,
} from '../../src/recipes/index.js';
import { Clients, TcpProxy, once, uniqueRoot, until, type Target } from './helpers.js';
import { mulberry32 as seeded } from '../helpers/mulberry32.js';

const T = { timeout: 180000 };
const here = dirname(fileURLToPath(import.meta.url));

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Children of path, or [] once it is gone (recipes create parents as containers, which the server removes when empty). */
async function kids(c: ZooKeeperClient, path: string): Promise<string[]> {
  try {
    return await c.getChildren(path);
  } catch (e) {
    if (e instanceof NoNodeError) return [];
    throw e;
  }
}

export function recipesSuite(label: string, getTarget: () => Target): void {
  describe(`recipes against ${label}`, () => {
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

    async function freshRoot(label2: string): Promise<string> {
      const root = uniqueRoot(`r-${label2}`);
      await admin.create(root);
      return root;
    }

    async function cleanup(root: string): Promise<void> {
      await admin.deleteRecursive(root);
    }

    /**
     * Ends c's session from a second connection with its id and password while c (behind a frozen
     * proxy) cannot take the session back, then lets c reconnect: c hears 'expired' and starts a
     * new session (as in the client suite).
     */
    async function expireSession(c: ZooKeeperClient, proxy: TcpProxy): Promise<void> {
      proxy.freeze();
      const twin = await connect(target.connectString.split(',')[0]!, {
        session: { id: c.sessionId, password: c.sessionPassword },
        timeoutMs: 30000,
      });
      await twin.close();
      proxy.thaw();
    }

    // ---------- mutex ----------

    test('mutex_is_reentrant_exposes_a_fencing_token_and_cleans_up', T, async () => {
      const root = await freshRoot('mutex');
      const c = await clients.connect(root);
      const m = new InterProcessMutex(c, '/lock');
      assert.equal(m.fencingToken, null);
      await assert.rejects(m.release(), NotHeldError);
      assert.equal(await m.acquire(), true);
      assert.ok(m.isHeld && m.isAcquiredInThisProcess());
      const token = m.fencingToken!;
      const { stat } = await c.getData(m.lockPath!);
      assert.equal(token, stat.czxid, "the token is the lock node's czxid");
      assert.equal(stat.ephemeralOwner, c.sessionId);
      assert.match(m.lockPath!, /^\/lock\/_c_[0-9a-f-]{36}-lock-\d{10}$/, "Curator's protected name");
      assert.equal(await m.acquire(), true, 'reentrant');
      await m.release();
      assert.ok(m.isHeld, 'still held after one of two releases');
      assert.deepEqual(await m.getParticipantNodes(), [m.lockPath]);
      const signal = m.signal!;
      await m.release();
      assert.equal(m.isHeld, false);
      assert.ok(signal.aborted, "the hold's signal ends with it");
      assert.deepEqual(await kids(c, '/lock'), []);
      await assert.rejects(m.release(), NotHeldError);
      // the next holder gets a larger token
      assert.equal(await m.acquire(), true);
      assert.ok(m.fencingToken! > token);
      await m.release();
      await cleanup(root);
    });

    test('mutex_waiter_times_out_or_aborts_and_leaves_no_node', T, async () => {
      const root = await freshRoot('mutex-wait');
      const a = await clients.connect(root);
      const b = await clients.connect(root);
      const ma = new InterProcessMutex(a, '/lock');
      const mb = new InterProcessMutex(b, '/lock');
      await ma.acquire();
      assert.equal(await mb.acquire({ timeoutMs: 200 }), false, 'timed out');
      assert.equal((await kids(a, '/lock')).length, 1, "the waiter's node is gone");
      const ac = new AbortController();
      const pending = mb.acquire({ signal: ac.signal });
      await until(async () => (await kids(a, '/lock')).length === 2, 'the waiter queued');
      ac.abort(new Error('stop'));
      await assert.rejects(pending, /stop/);
      await until(async () => (await kids(a, '/lock')).length === 1, "the aborted waiter's node went");
      // a waiter waits on its predecessor only, and gets the lock when it goes
      const waiting = mb.acquire();
      await until(async () => (await kids(a, '/lock')).length === 2, 'queued again');
      await ma.release();
      assert.equal(await waiting, true);
      assert.ok(mb.isHeld);
      await mb.release();
      await cleanup(root);
    });

    test('mutex_no_two_holders_in_a_randomized_run_with_many_clients', T, async () => {
      const seed = Number(process.env.RECIPES_SEED ?? Math.floor(Math.random() * 2 ** 31));
      const random = seeded(seed);
      const root = await freshRoot('mutex-random');
      const CLIENTS = 10;
      const ROUNDS = 20;
      const cs = await Promise.all(Array.from({ length: CLIENTS }, () => clients.connect(root)));
      // the resource the lock guards: it counts holders and, as a fenced store would, refuses a
      // token lower than the highest it has seen
      let holders = 0;
      let maxHolders = 0;
      let highestToken = -1;
      const violations: string[] = [];
      let acquisitions = 0;
      await Promise.all(
        cs.map(async (c, i) => {
          const m = new InterProcessMutex(c, '/lock');
          for (let r = 0; r < ROUNDS; r++) {
            await tick(Math.floor(random() * 3));
            assert.equal(await m.acquire(), true);
            holders++;
            maxHolders = Math.max(maxHolders, holders);
            const token = m.fencingToken!;
            if (token <= highestToken) violations.push(`client ${i} round ${r}: token ${token} after ${highestToken}`);
            highestToken = token;
            acquisitions++;
            // hold across a few turns of the event loop and a server round trip
            if (random() < 0.5) await tick(Math.floor(random() * 3));
            if (random() < 0.3) await c.exists('/lock');
            if (holders !== 1) violations.push(`client ${i} round ${r}: ${holders} holders`);
            holders--;
            await m.release();
          }
        }),
      );
      assert.deepEqual(violations, [], `seed=${seed}`);
      assert.equal(maxHolders, 1, `seed=${seed}`);
      assert.equal(acquisitions, CLIENTS * ROUNDS);
      assert.deepEqual(await kids(admin, `${root}/lock`), []);
      await cleanup(root);
    });

    test('lock_holder_session_expires_and_a_waiter_takes_over', T, async () => {
      const root = await freshRoot('mutex-expire');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const a = await clients.connect(root, {}, proxy.connectString);
        const b = await clients.connect(root);
        const ma = new InterProcessMutex(a, '/lock');
        const mb = new InterProcessMutex(b, '/lock');
        await ma.acquire();
        const tokenA = ma.fencingToken!;
        const holdSignal = ma.signal!;
        const lost = once<{ reason: string }>(ma, 'lost');
        const waiting = mb.acquire();
        await until(async () => (await kids(b, '/lock')).length === 2, 'b queued');
        await expireSession(a, proxy);
        assert.equal(await waiting, true, 'the waiter took over');
        assert.ok(mb.fencingToken! > tokenA, 'with a larger fencing token');
        assert.equal((await lost).reason, 'session expired');
        assert.ok(holdSignal.aborted && holdSignal.reason instanceof LockLostError);
        assert.equal(ma.isHeld, false);
        assert.equal(ma.isAcquiredInThisProcess(), false);
        assert.equal(ma.fencingToken, null);
        await assert.rejects(ma.acquire(), LockLostError, 'a lost hold must be released before acquiring again');
        await ma.release(); // owed, and harmless
        // a, on its new session, queues behind b
        const again = ma.acquire();
        await until(async () => (await kids(b, '/lock')).length === 2, 'a queued again');
        const tokenB = mb.fencingToken!;
        await mb.release();
        assert.equal(await again, true);
        assert.ok(ma.fencingToken! > tokenB);
        await ma.release();
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('lock_holder_whose_connection_is_cut_is_suspended_then_holds_again', T, async () => {
      const root = await freshRoot('mutex-cut');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const a = await clients.connect(root, {}, proxy.connectString);
        const m = new InterProcessMutex(a, '/lock');
        await m.acquire();
        const seen: string[] = [];
        let heldWhenSuspended: boolean | null = null;
        m.on('suspended', () => {
          seen.push('suspended');
          heldWhenSuspended = m.isHeld;
        });
        const reconnected = once(m, 'reconnected');
        m.on('reconnected', () => seen.push('reconnected'));
        proxy.cut();
        await reconnected;
        assert.deepEqual(seen, ['suspended', 'reconnected']);
        assert.equal(heldWhenSuspended, false, 'while suspended the holder must not count on the lock');
        assert.ok(m.isHeld, 'the same session still owns the node');
        await m.release();
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('read_write_lock_shares_reads_excludes_writes_and_is_fair', T, async () => {
      const root = await freshRoot('rwlock');
      const [a, b, c] = await Promise.all([clients.connect(root), clients.connect(root), clients.connect(root)]);
      const ra = new InterProcessReadWriteLock(a!, '/rw');
      const rb = new InterProcessReadWriteLock(b!, '/rw');
      const rc = new InterProcessReadWriteLock(c!, '/rw');
      assert.ok(await ra.readLock.acquire());
      assert.ok(await rb.readLock.acquire({ timeoutMs: 30000 }), 'two readers at once');
      const names = await kids(a!, '/rw');
      assert.ok(
        names.every((n) => n.includes('__READ__')),
        "Curator's node names",
      );
      const writer = rc.writeLock.acquire();
      await until(async () => (await kids(a!, '/rw')).length === 3, 'the writer queued');
      // a reader behind a waiting writer waits (no writer starvation)
      const ra2 = new InterProcessReadWriteLock(a!, '/rw');
      assert.equal(await ra2.readLock.acquire({ timeoutMs: 200 }), false);
      await ra.readLock.release();
      assert.equal(rc.writeLock.isHeld, false);
      await rb.readLock.release();
      assert.equal(await writer, true);
      assert.ok((await kids(a!, '/rw')).some((n) => n.includes('__WRIT__')));
      assert.equal(await ra.readLock.acquire({ timeoutMs: 200 }), false, 'no reader while written');
      // downgrade: the writer may take the read lock, then let the write lock go
      assert.ok(await rc.readLock.acquire());
      await rc.writeLock.release();
      assert.ok(await ra.readLock.acquire({ timeoutMs: 30000 }), 'readers share with the downgraded holder');
      await ra.readLock.release();
      await rc.readLock.release();
      await cleanup(root);
    });

    test('semaphore_grants_at_most_maxLeases', T, async () => {
      const root = await freshRoot('sem');
      const cs = await Promise.all([0, 1, 2].map(() => clients.connect(root)));
      const sems = cs.map((c) => new InterProcessSemaphore(c, '/sem', 2));
      const l0 = await sems[0]!.acquire();
      const l1 = await sems[1]!.acquire();
      assert.ok(l0 && l1);
      assert.equal(await sems[2]!.acquire({ timeoutMs: 200 }), null, 'a third lease waits');
      assert.equal((await sems[0]!.getParticipantNodes()).length, 2, 'and leaves no lease node behind');
      const third = sems[2]!.acquire();
      await until(async () => (await kids(admin, `${root}/sem/leases`)).length === 3, 'the third queued its lease');
      await l0.release();
      const l2 = await third;
      assert.ok(l2?.valid);
      assert.ok(l2.fencingToken > l1.fencingToken);
      await assert.rejects(sems[0]!.acquireMany(3), /qty/);
      await l1.release();
      const two = await sems[0]!.acquireMany(1, { timeoutMs: 30000 });
      assert.equal(two?.length, 1);
      await Promise.all([l2.release(), ...two!.map((l) => l.release())]);
      assert.deepEqual(await kids(admin, `${root}/sem/leases`), []);
      // concurrency: many acquirers, never more than 2 holders
      let inside = 0;
      let most = 0;
      await Promise.all(
        sems.flatMap((s) =>
          [0, 1, 2].map(async () => {
            const l = await s.acquire();
            inside++;
            most = Math.max(most, inside);
            await tick(1);
            inside--;
            await l!.release();
          }),
        ),
      );
      assert.ok(most <= 2, `${most} leases at once`);
      await cleanup(root);
    });

    // ---------- leaders ----------

    test('leader_latch_elects_one_and_hands_over_on_close', T, async () => {
      const root = await freshRoot('latch');
      const cs = await Promise.all([0, 1, 2].map(() => clients.connect(root)));
      const latches = cs.map((c, i) => new LeaderLatch(c, '/latch', { id: `p${i}` }));
      for (const l of latches) await l.start();
      assert.ok(await latches[0]!.await({ timeoutMs: 30000 }), 'the first to join leads');
      assert.deepEqual(
        latches.map((l) => l.hasLeadership()),
        [true, false, false],
      );
      const parts = await latches[1]!.getParticipants();
      assert.deepEqual(
        parts.map((p) => p.id),
        ['p0', 'p1', 'p2'],
      );
      assert.deepEqual((await latches[2]!.getLeader())?.id, 'p0');
      assert.equal(await latches[1]!.await({ timeoutMs: 100 }), false);
      const becomes = once(latches[1]!, 'isLeader');
      await latches[0]!.close();
      await becomes;
      assert.deepEqual(
        latches.map((l) => l.hasLeadership()),
        [false, true, false],
      );
      for (const l of latches) await l.close();
      assert.deepEqual(await kids(admin, `${root}/latch`), []);
      await cleanup(root);
    });

    test('leader_latch_partitioned_leader_loses_and_another_is_elected', T, async () => {
      const root = await freshRoot('latch-part');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const a = await clients.connect(root, { sessionTimeoutMs: 4000 }, proxy.connectString);
        const b = await clients.connect(root);
        const la = new LeaderLatch(a, '/latch', { id: 'a' });
        const lb = new LeaderLatch(b, '/latch', { id: 'b' });
        await la.start();
        assert.ok(await la.await({ timeoutMs: 30000 }));
        await lb.start();
        const aLost = once(la, 'notLeader', 60000);
        const bLeads = once(lb, 'isLeader', 60000);
        proxy.freeze(); // longer than the session: the server expires a, b's watch fires
        await aLost;
        assert.equal(la.hasLeadership(), false, 'a gives up leadership as soon as it is suspended');
        await bLeads;
        assert.ok(lb.hasLeadership());
        proxy.thaw({ dropFrozen: true });
        // a comes back with a new session and queues behind b
        await until(async () => (await lb.getParticipants()).map((p) => p.id).join() === 'b,a', 'a rejoined behind b', 60000);
        assert.equal(la.hasLeadership(), false);
        await lb.close();
        assert.ok(await la.await({ timeoutMs: 30000 }));
        await la.close();
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('leader_election_runs_one_leader_at_a_time_and_requeues', T, async () => {
      const root = await freshRoot('elect');
      const cs = await Promise.all([0, 1, 2].map(() => clients.connect(root)));
      let leaders = 0;
      let overlap = false;
      const order: string[] = [];
      const elections = cs.map(
        (c, i) =>
          new LeaderElection(
            c,
            '/elect',
            async () => {
              leaders++;
              if (leaders > 1) overlap = true;
              order.push(`p${i}`);
              await tick(5);
              leaders--;
            },
            { id: `p${i}`, autoRequeue: true },
          ),
      );
      for (const e of elections) e.start();
      await until(() => order.length >= 9, 'nine leaderships');
      for (const e of elections) await e.close();
      assert.equal(overlap, false, `leaders overlapped: ${order.join()}`);
      assert.deepEqual(new Set(order), new Set(['p0', 'p1', 'p2']), 'everyone led (requeued)');
      await until(async () => (await kids(admin, `${root}/elect`)).length === 0, 'no node left');
      await cleanup(root);
    });

    test('leader_connection_cut_cancels_leadership_and_a_new_leader_is_elected', T, async () => {
      const root = await freshRoot('elect-cut');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const a = await clients.connect(root, {}, proxy.connectString);
        const b = await clients.connect(root);
        const log: string[] = [];
        let aSignal: AbortSignal | null = null;
        const ea = new LeaderElection(
          a,
          '/elect',
          (signal) =>
            new Promise<void>((resolve) => {
              log.push('a leads');
              aSignal = signal;
              signal.addEventListener(
                'abort',
                () => {
                  log.push('a cancelled');
                  resolve();
                },
                { once: true },
              );
            }),
          { id: 'a' },
        );
        const eb = new LeaderElection(
          b,
          '/elect',
          (signal) =>
            new Promise<void>((resolve) => {
              log.push('b leads');
              signal.addEventListener('abort', () => resolve(), { once: true });
            }),
          { id: 'b' },
        );
        ea.start();
        await until(() => ea.hasLeadership(), 'a leads');
        eb.start();
        await until(async () => (await eb.getParticipants()).length === 2, 'b queued');
        const bLeads = once(eb, 'leader');
        proxy.cut();
        await bLeads;
        assert.ok(aSignal !== null && (aSignal as AbortSignal).aborted);
        assert.deepEqual(log, ['a leads', 'a cancelled', 'b leads'], 'a stopped before b started');
        assert.equal(ea.hasLeadership(), false);
        assert.ok(eb.hasLeadership());
        assert.equal((await eb.getLeader())?.id, 'b');
        await eb.close();
        await ea.close();
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    // ---------- barriers ----------

    test('barrier_holds_waiters_until_removed', T, async () => {
      const root = await freshRoot('barrier');
      const [a, b] = await Promise.all([clients.connect(root), clients.connect(root)]);
      const ba = new Barrier(a!, '/b');
      const bb = new Barrier(b!, '/b');
      assert.equal(await bb.waitOnBarrier(), true, 'no barrier, no wait');
      await ba.setBarrier();
      await ba.setBarrier();
      assert.equal(await bb.waitOnBarrier({ timeoutMs: 100 }), false);
      const waiting = bb.waitOnBarrier();
      await ba.removeBarrier();
      assert.equal(await waiting, true);
      await cleanup(root);
    });

    test('double_barrier_enters_together_and_leaves_together', T, async () => {
      const root = await freshRoot('dbarrier');
      const cs = await Promise.all([0, 1, 2].map(() => clients.connect(root)));
      const bs = cs.map((c, i) => new DoubleBarrier(c, '/db', 3, { id: `m${i}` }));
      let entered = 0;
      const first = bs.slice(0, 2).map(async (b) => {
        await b.enter();
        entered++;
      });
      await until(async () => (await kids(admin, `${root}/db`)).length === 2, 'two waiting');
      assert.equal(entered, 0, 'nobody passes with 2 of 3');
      assert.equal(await new DoubleBarrier(cs[0]!, '/db2', 2).enter({ timeoutMs: 100 }), false);
      await bs[2]!.enter();
      await Promise.all(first);
      assert.equal(entered, 2);
      // leaving: the lowest member (m0) waits for the highest; the others delete their node and
      // wait for the lowest
      let left = 0;
      const leaving = bs.slice(1).map(async (b) => {
        await b.leave();
        left++;
      });
      await until(
        async () => (await kids(admin, `${root}/db`)).filter((n) => n !== 'ready').join() === 'm0',
        'm1 and m2 deleted their nodes',
      );
      assert.equal(left, 0, 'nobody is out before the last one leaves');
      await bs[0]!.leave();
      await Promise.all(leaving);
      assert.equal(left, 2);
      assert.deepEqual(await kids(admin, `${root}/db`), []);
      await cleanup(root);
    });

    // ---------- queue ----------

    test('queue_hands_out_items_by_priority_and_in_order', T, async () => {
      const root = await freshRoot('queue');
      const c = await clients.connect(root);
      const q = new DistributedQueue(c, '/q');
      await q.put('b1');
      await q.put('urgent', { priority: 1 });
      await q.put('b2');
      await q.putAll(['low1', 'low2'], { priority: 500 });
      assert.equal(await q.size(), 5);
      const got: string[] = [];
      for (;;) {
        const item = await q.take({ timeoutMs: 0 });
        if (!item) break;
        got.push(item.data!.toString());
        assert.equal(await item.consume(), true);
        assert.equal(await item.consume(), false, 'once');
      }
      assert.deepEqual(got, ['urgent', 'b1', 'b2', 'low1', 'low2']);
      // release gives an item back; a blocked take wakes for a new item
      await q.put('x');
      const x = await q.take();
      assert.equal(await new DistributedQueue(c, '/q').take({ timeoutMs: 100 }), null, 'a taken item is not handed out twice');
      assert.equal(await x!.release(), true);
      const again = await q.take();
      assert.equal(again!.id, x!.id);
      assert.equal(await again!.consume(), true);
      const waiting = q.take();
      await q.put('late');
      const late = await waiting;
      assert.equal(late!.data!.toString(), 'late');
      assert.equal(await late!.consume(), true);
      assert.equal(
        await q.consume(
          () => {
            throw new Error('not now');
          },
          { timeoutMs: 0 },
        ),
        null,
        'empty',
      );
      await q.put('y');
      await assert.rejects(
        q.consume(() => {
          throw new Error('handler failed');
        }),
        /handler failed/,
      );
      assert.equal(
        await q.consume((d) => {
          assert.equal(d!.toString(), 'y');
        }),
        true,
        'a failed handler released it',
      );
      assert.equal(await q.size(), 0);
      await cleanup(root);
    });

    test('queue_consumer_crashes_mid_item_and_another_consumes_it_exactly_once', T, async () => {
      const root = await freshRoot('queue-crash');
      const c = await clients.connect(root);
      const producer = new DistributedQueue(c, '/q');
      await producer.put('job-1');
      const child = spawn(process.execPath, [join(here, 'recipes-child.js'), target.connectString.split(',')[0]! + root, '/q', '4000'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let took: string;
      try {
        took = await new Promise<string>((resolve, reject) => {
          const rl = createInterface({ input: child.stdout! });
          const t = setTimeout(() => reject(new Error('the child took nothing within 60 s')), 60000);
          rl.once('line', (line) => {
            clearTimeout(t);
            resolve(line);
          });
          child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
        });
      } finally {
        child.kill('SIGKILL'); // the crash: no closeSession, its session lives on until it expires
      }
      const id = took.replace(/^TOOK /, '');
      assert.match(id, /^entry-100-\d{10}$/);
      assert.deepEqual(await kids(c, '/q/taken'), [id], 'the crashed consumer still holds it, for now');
      // two consumers compete for it; it comes free when the server expires the child's session
      const consumed: string[] = [];
      const consumers = [await clients.connect(root), await clients.connect(root)].map((cc, i) => {
        const q = new DistributedQueue(cc, '/q', { consumerId: `c${i}` });
        return q.consume(
          (d) => {
            consumed.push(`c${i}:${d!.toString()}`);
          },
          { timeoutMs: 120000 },
        );
      });
      await until(async () => (await kids(c, '/q/entries')).length === 0, 'job-1 consumed', 120000);
      assert.equal(consumed.length, 1, `consumed once: ${consumed.join()}`);
      assert.match(consumed[0]!, /:job-1$/);
      assert.deepEqual(await kids(c, '/q/taken'), []);
      // the other consumer is still waiting: it gets the next item, not job-1 again
      await producer.put('stop');
      assert.deepEqual(await Promise.all(consumers), [true, true]);
      assert.equal(consumed.length, 2);
      assert.match(consumed[1]!, /:stop$/);
      await cleanup(root);
    });

    test('queue_consumer_whose_session_expired_cannot_consume_what_another_took', T, async () => {
      const root = await freshRoot('queue-paused');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const a = await clients.connect(root, {}, proxy.connectString);
        const b = await clients.connect(root);
        const qa = new DistributedQueue(a, '/q');
        const qb = new DistributedQueue(b, '/q');
        await qa.put('job');
        const itemA = await qa.take();
        // a is "paused" past its session: its taken node goes, b takes the item
        const expired = once(a, 'expired');
        await expireSession(a, proxy);
        await expired;
        const itemB = await qb.take({ timeoutMs: 60000 });
        assert.ok(itemB);
        assert.equal(itemB.id, itemA!.id);
        // a wakes up and tries to commit: refused, since b's take moved the entry's version
        assert.equal(await itemA!.consume(), false);
        assert.equal(await itemB.consume(), true);
        assert.equal(await qa.size(), 0);
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    // ---------- counters ----------

    test('atomic_long_counts_every_increment_from_many_clients', T, async () => {
      const root = await freshRoot('along');
      const cs = await Promise.all([0, 1, 2, 3, 4].map(() => clients.connect(root)));
      const counters = cs.map(
        (c) =>
          new DistributedAtomicLong(c, '/n', {
            contentionPolicy: { nextDelayMs: (n) => (n > 1000 ? null : Math.floor(Math.random() * 5)) },
          }),
      );
      assert.equal(await counters[0]!.get(), 0n);
      await Promise.all(
        counters.map(async (n) => {
          for (let i = 0; i < 20; i++) assert.ok((await n.increment()).succeeded);
        }),
      );
      assert.equal(await counters[0]!.get(), 100n);
      const { data } = await cs[0]!.getData('/n');
      assert.equal(data!.length, 8, "Curator's 8-byte big-endian long");
      assert.equal(data!.readBigInt64BE(0), 100n);
      assert.deepEqual(await counters[1]!.compareAndSet(99n, 5n), { succeeded: false, preValue: 100n, postValue: 100n });
      assert.deepEqual(await counters[1]!.compareAndSet(100n, 5n), { succeeded: true, preValue: 100n, postValue: 5n });
      assert.deepEqual(await counters[2]!.add(-10n), { succeeded: true, preValue: 5n, postValue: -5n });
      assert.equal(await counters[2]!.initialize(7n), false, 'exists already');
      assert.equal(await new DistributedAtomicLong(cs[0]!, '/m').initialize(7n), true);
      await cleanup(root);
    });

    test('shared_count_sees_changes_and_refuses_stale_versions', T, async () => {
      const root = await freshRoot('scount');
      const [a, b] = await Promise.all([clients.connect(root), clients.connect(root)]);
      const ca = new SharedCount(a!, '/count', 10);
      const cb = new SharedCount(b!, '/count', 99);
      await ca.start();
      await cb.start();
      assert.equal(cb.getCount(), 10, 'the first seed wins');
      const seen: number[] = [];
      cb.on('change', (n) => seen.push(n));
      const v = ca.getVersionedValue();
      assert.equal(await ca.trySetCount(v, 11), true);
      assert.equal(await ca.trySetCount(v, 12), false, 'stale version');
      await until(() => cb.getCount() === 11, 'b sees 11');
      await cb.setCount(-3);
      await until(() => ca.getCount() === -3, 'a sees -3');
      assert.deepEqual(seen, [11, -3]);
      const { data } = await a!.getData('/count');
      assert.equal(data!.readInt32BE(0), -3);
      await ca.close();
      await cb.close();
      await cleanup(root);
    });

    // ---------- caches ----------

    for (const watchMode of ['auto', 'oneShot'] as WatchMode[]) {
      test(`tree_cache_follows_a_subtree_${watchMode}`, T, async () => {
        const root = await freshRoot(`tree-${watchMode}`);
        const proxy = await TcpProxy.start(target.connectString);
        try {
          const w = await clients.connect(root);
          const c = await clients.connect(root, {}, proxy.connectString);
          await w.create('/t/a', 'A', { createParents: true });
          await w.create('/t/a/x', 'X');
          const cache = new TreeCache(c, '/t', { watchMode });
          const events: string[] = [];
          cache.on('created', (n: ChildData) => events.push(`+${n.path}`));
          cache.on('changed', (n: ChildData) => events.push(`~${n.path}=${n.data?.toString()}`));
          cache.on('deleted', (n: ChildData) => events.push(`-${n.path}`));
          await cache.start();
          assert.equal(cache.mode, watchMode === 'auto' ? 'persistent' : 'oneShot', 'Ark and ZooKeeper 3.8 have persistent watches');
          assert.deepEqual([...cache.entries().keys()].sort(), ['/t', '/t/a', '/t/a/x']);
          assert.deepEqual(cache.getChildren('/t'), ['a']);
          events.length = 0;
          await w.create('/t/b', 'B');
          await w.create('/t/b/y/z', 'Z', { createParents: true });
          await w.setData('/t/a', 'A2');
          await w.delete('/t/a/x');
          await until(
            () => cache.get('/t/b/y/z')?.data?.toString() === 'Z' && cache.get('/t/a')?.data?.toString() === 'A2' && !cache.get('/t/a/x'),
            'changes seen',
          );
          assert.ok(events.includes('~/t/a=A2') && events.includes('-/t/a/x') && events.includes('+/t/b/y/z'), events.join(' '));
          // changes made while the cache's connection is down are caught up after the reconnect
          proxy.freeze();
          await w.setData('/t/b', 'B2');
          await w.delete('/t/b/y/z');
          await w.create('/t/c', 'C');
          proxy.thaw({ dropFrozen: true });
          await until(
            () => cache.get('/t/b')?.data?.toString() === 'B2' && !cache.get('/t/b/y/z') && cache.get('/t/c') !== undefined,
            'caught up after reconnect',
          );
          // and after the session expires
          const renewed = once(c, 'connected');
          await expireSession(c, proxy);
          await renewed;
          await w.create('/t/d', 'D');
          await w.setData('/t/c', 'C2');
          await until(
            () => cache.get('/t/d') !== undefined && cache.get('/t/c')?.data?.toString() === 'C2',
            'following again with the new session',
          );
          await w.deleteRecursive('/t');
          await until(() => cache.size === 0, 'all gone');
          await w.create('/t', 'back');
          await until(() => cache.get('/t')?.data?.toString() === 'back', 'the root came back');
          await cache.close();
        } finally {
          await proxy.close();
        }
        await cleanup(root);
      });
    }

    test('node_cache_tracks_one_node_through_create_change_delete', T, async () => {
      const root = await freshRoot('nodecache');
      const [w, c] = await Promise.all([clients.connect(root), clients.connect(root)]);
      const cache = new NodeCache(c!, '/n');
      const seen: Array<string | null> = [];
      cache.on('change', (n) => seen.push(n ? n.data!.toString() : null));
      await cache.start();
      assert.equal(cache.current, null);
      await w!.create('/n', 'v1');
      await until(() => cache.current?.data?.toString() === 'v1', 'created');
      await w!.create('/n/child', 'ignored');
      await w!.setData('/n', 'v2');
      await until(() => cache.current?.data?.toString() === 'v2', 'changed');
      await w!.deleteRecursive('/n');
      await until(() => cache.current === null, 'deleted');
      assert.deepEqual(seen, ['v1', 'v2', null]);
      await cache.close();
      await cleanup(root);
    });

    // ---------- membership ----------

    test('group_members_see_joins_leaves_and_rejoin_after_session_loss', T, async () => {
      const root = await freshRoot('group');
      const proxy = await TcpProxy.start(target.connectString);
      try {
        const a = await clients.connect(root, {}, proxy.connectString);
        const b = await clients.connect(root);
        const d = await clients.connect(root);
        const ga = new GroupMember<{ port: number }>(a, '/group', 'a', { port: 1 });
        const gb = new GroupMember<{ port: number }>(b, '/group', 'b', { port: 2 });
        const gd = new GroupMember<{ port: number }>(d, '/group', 'd', { port: 4 });
        await ga.start();
        await gb.start();
        await gd.start();
        await until(() => ga.getCurrentMembers().size === 3 && gb.getCurrentMembers().size === 3, 'everyone sees everyone');
        assert.deepEqual(Object.fromEntries(gb.getCurrentMembers()), { a: { port: 1 }, b: { port: 2 }, d: { port: 4 } });
        const events: string[] = [];
        gb.on('joined', (id) => events.push(`+${id}`));
        gb.on('left', (id) => events.push(`-${id}`));
        gb.on('updated', (id, p) => events.push(`~${id}:${p.port}`));
        await ga.setPayload({ port: 11 });
        await until(() => gb.getCurrentMembers().get('a')?.port === 11, 'payload change seen');
        assert.deepEqual(events, ['~a:11']);
        // d's session ends (its process would have died): the others see it leave
        await d.close();
        await until(() => events.includes('-d'), 'd left');
        assert.equal(gb.getCurrentMembers().has('d'), false);
        // a's session expires: its node goes, and a's new session puts it back, as a's own
        const aOld = a.sessionId;
        await expireSession(a, proxy);
        await until(
          async () => {
            const st = await b.exists('/group/a');
            return st !== null && st.ephemeralOwner !== aOld && st.ephemeralOwner === a.sessionId;
          },
          'a rejoined with its new session',
          60000,
        );
        await until(() => gb.getCurrentMembers().get('a')?.port === 11, 'b sees a again');
        await ga.close();
        await until(() => !gb.getCurrentMembers().has('a'), 'a left for good');
        assert.equal(events[events.length - 1], '-a');
        await gb.close();
        await gd.close();
      } finally {
        await proxy.close();
      }
      await cleanup(root);
    });

    test('service_discovery_registers_queries_and_caches_instances', T, async () => {
      const root = await freshRoot('discovery');
      const [a, b] = await Promise.all([clients.connect(root), clients.connect(root)]);
      const da = new ServiceDiscovery<{ zone: string }>(a!, '/services');
      const db = new ServiceDiscovery<{ zone: string }>(b!, '/services');
      const cache = db.serviceCache('api');
      await cache.start();
      const changes: number[] = [];
      cache.on('change', (m) => changes.push(m.size));
      const i1 = await da.registerService({ name: 'api', address: '10.0.0.1', port: 8080, payload: { zone: 'x' } });
      const i2 = await da.registerService({ name: 'api', id: 'fixed', address: '10.0.0.2', port: 8080 });
      assert.deepEqual(await db.queryForNames(), ['api']);
      const found = await db.queryForInstances('api');
      assert.deepEqual(found.map((i) => i.id).sort(), [i1.id, 'fixed'].sort());
      assert.equal((await db.queryForInstance('api', i1.id))?.payload?.zone, 'x');
      assert.equal(found[0]!.serviceType, 'DYNAMIC');
      await until(() => cache.instances().length === 2, 'the cache sees both');
      await da.updateService({ ...i2, port: 9090 });
      await until(() => cache.instances().find((i) => i.id === 'fixed')?.port === 9090, 'update seen');
      await da.unregisterService(i1);
      await until(() => cache.instances().length === 1, 'unregistered');
      await da.close();
      await until(() => cache.instances().length === 0, 'closed: all gone');
      assert.ok(changes.length >= 4);
      await db.close();
      await cleanup(root);
    });

    test('config_watcher_parses_keeps_the_last_good_value_and_reports_changes', T, async () => {
      const root = await freshRoot('config');
      const [w, c] = await Promise.all([clients.connect(root), clients.connect(root)]);
      const cfg = new ConfigWatcher<{ level: string }>(c!, '/config');
      const events: string[] = [];
      cfg.on('change', (v, prev) => events.push(`${prev?.level ?? '-'}>${v.level}`));
      cfg.on('invalid', () => events.push('invalid'));
      cfg.on('deleted', () => events.push('deleted'));
      await cfg.start();
      assert.equal(cfg.value, undefined);
      const first = cfg.waitForValue({ timeoutMs: 30000 });
      await w!.create('/config', JSON.stringify({ level: 'info' }));
      assert.deepEqual(await first, { level: 'info' });
      await w!.setData('/config', '{not json');
      await until(() => events.includes('invalid'), 'invalid reported');
      assert.deepEqual(cfg.value, { level: 'info' }, 'the last good value stays');
      await w!.setData('/config', JSON.stringify({ level: 'debug' }));
      await until(() => cfg.value?.level === 'debug', 'debug');
      await w!.delete('/config');
      await until(() => !cfg.exists, 'deleted');
      assert.equal((cfg.value as { level: string } | undefined)?.level, 'debug');
      assert.deepEqual(events, ['->info', 'invalid', 'info>debug', 'deleted']);
      await cfg.close();
      const text = new ConfigWatcher<string>(c!, '/plain', { format: 'text' });
      await w!.create('/plain', 'hello');
      await text.start();
      assert.equal(text.value, 'hello');
      await text.close();
      await cleanup(root);
    });
  });
}
