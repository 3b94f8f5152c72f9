// The pure parts of the client, driven step by step without sockets or timers: the connection
// state machine, the watch registry and setWatches splitting, connect strings and chroot, the
// retry policy, the typed errors. Also checks that those modules stay pure.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectionMachine, type Action, type MachineOptions } from '../../src/client/machine.js';
import { WatchRegistry, splitSetWatches, SET_WATCHES_BYTES_MAX } from '../../src/client/watches.js';
import { parseConnectString, pathProblem, prependChroot, stripChroot } from '../../src/client/paths.js';
import {
  BadArgumentsError,
  ConnectionClosedError,
  ConnectionLossError,
  ExponentialBackoff,
  KeeperError,
  NoNodeError,
  NodeExistsError,
  SessionExpiredError,
  ErrorCode,
  errorFor,
  isRetryable,
  withRetry,
  EventType,
  OpCode,
} from '../../src/index.js';
import { repoRoot } from '../helpers/servers.js';
import { mulberry32 as rng } from '../helpers/mulberry32.js';

const H = (port: number) => ({ host: '127.0.0.1', port });

function machine(o: Partial<MachineOptions> = {}): ConnectionMachine {
  return new ConnectionMachine({ hosts: [H(1), H(2), H(3)], sessionTimeoutMs: 9000, random: rng(7), renewSession: true, ...o });
}

function only<T extends Action['type']>(actions: Action[], type: T): Array<Extract<Action, { type: T }>> {
  return actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);
}

/** Connects the machine's pending attempt: socket open + handshake answered. */
function establish(m: ConnectionMachine, now: number, session = { id: 0x1234n, timeOutMs: 9000, readOnly: false }): Action[] {
  const connect = only(m.takeActions(), 'connect').at(-1);
  assert.ok(connect, 'a connect action');
  m.step({ type: 'socketOpen', attempt: connect.attempt, now });
  const hs = only(m.takeActions(), 'handshake');
  assert.equal(hs.length, 1);
  m.step({
    type: 'handshake',
    attempt: connect.attempt,
    now,
    timeOutMs: session.timeOutMs,
    sessionId: session.id,
    passwd: Buffer.alloc(16, 1),
    readOnly: session.readOnly,
  });
  return m.takeActions();
}

describe('connection state machine', () => {
  test('first_connect_emits_connected_with_the_session', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    assert.equal(m.state, 'connecting');
    const acts = establish(m, 10);
    assert.deepEqual(
      only(acts, 'state').map((a) => a.event.type),
      ['connected'],
    );
    assert.equal(only(acts, 'established')[0]!.newSession, true);
    assert.equal(m.state, 'connected');
    assert.equal(m.sessionId, 0x1234n);
    assert.equal(m.negotiatedTimeoutMs, 9000);
  });

  test('host_order_is_a_seeded_shuffle_and_attempts_go_round_robin', () => {
    const orders = new Set<string>();
    for (let seed = 1; seed <= 20; seed++)
      orders.add(
        machine({ random: rng(seed) })
          .hostOrder.map((h) => h.port)
          .join(','),
      );
    assert.ok(orders.size > 1, 'different seeds give different orders');
    const m = machine();
    const order = m.hostOrder.map((h) => h.port);
    m.step({ type: 'start', now: 0 });
    const tried: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      const c = only(m.takeActions(), 'connect')[0]!;
      tried.push(c.host.port);
      m.step({ type: 'socketClosed', attempt: c.attempt, now, reason: 'ECONNREFUSED' });
      now = m.nextDeadline()!;
      m.step({ type: 'tick', now });
    }
    assert.deepEqual(tried, [...order, ...order]);
  });

  test('failed_attempts_back_off_exponentially_with_jitter_up_to_the_max', () => {
    const m = machine({ reconnectDelayMs: { initialMs: 100, maxMs: 1000 } });
    m.step({ type: 'start', now: 0 });
    let now = 0;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const c = only(m.takeActions(), 'connect')[0]!;
      m.step({ type: 'socketClosed', attempt: c.attempt, now, reason: 'ECONNREFUSED' });
      const next = m.nextDeadline()!;
      delays.push(next - now);
      now = next;
      m.step({ type: 'tick', now });
    }
    const caps = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    for (const [i, d] of delays.entries()) assert.ok(d >= caps[i]! / 2 && d <= caps[i]!, `delay ${i} = ${d}, cap ${caps[i]}`);
  });

  test('pings_after_a_third_of_the_timeout_and_drops_after_two_thirds_of_silence', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    assert.equal(m.nextDeadline(), 3000);
    m.step({ type: 'tick', now: 3000 });
    const a1 = m.takeActions();
    assert.equal(only(a1, 'ping').length, 1);
    m.step({ type: 'received', attempt: m.connectedAttempt!, now: 3001 });
    m.step({ type: 'tick', now: 6000 });
    assert.equal(only(m.takeActions(), 'ping').length, 1);
    // nothing heard after 3001: dead at 3001 + 6000
    m.step({ type: 'tick', now: 9000 });
    assert.equal(m.state, 'connected');
    m.step({ type: 'tick', now: 9001 });
    const lost = m.takeActions();
    assert.equal(m.state, 'suspended');
    assert.equal(only(lost, 'drop').length, 1);
    assert.equal(only(lost, 'connectionLost').length, 1);
    assert.equal(only(lost, 'connect').length, 1, 'the next host is tried at once');
  });

  test('requests_sent_postpone_the_ping', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    m.step({ type: 'sent', attempt: m.connectedAttempt!, now: 2500 });
    m.step({ type: 'tick', now: 3000 });
    assert.equal(only(m.takeActions(), 'ping').length, 0);
    assert.equal(m.nextDeadline(), 5500);
  });

  test('reconnect_to_another_host_keeps_the_session_and_says_reconnected', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    const first = m.currentHost!;
    m.step({ type: 'socketClosed', attempt: m.connectedAttempt!, now: 100, reason: 'ECONNRESET' });
    const acts = m.takeActions();
    assert.deepEqual(
      only(acts, 'state').map((a) => a.event.type),
      ['suspended'],
    );
    const c = only(acts, 'connect')[0]!;
    assert.notDeepEqual(c.host, first);
    m.step({ type: 'socketOpen', attempt: c.attempt, now: 110 });
    const hs = only(m.takeActions(), 'handshake')[0]!;
    assert.equal(hs.request.sessionId, 0x1234n, 'the handshake asks for the same session');
    assert.equal(hs.request.passwd.equals(Buffer.alloc(16, 1)), true);
    m.step({
      type: 'handshake',
      attempt: c.attempt,
      now: 120,
      timeOutMs: 9000,
      sessionId: 0x1234n,
      passwd: Buffer.alloc(16, 1),
      readOnly: false,
    });
    const back = m.takeActions();
    assert.deepEqual(
      only(back, 'state').map((a) => a.event.type),
      ['reconnected'],
    );
    assert.equal(only(back, 'established')[0]!.newSession, false);
  });

  test('handshake_carries_the_last_zxid_seen', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    m.step({ type: 'received', attempt: m.connectedAttempt!, now: 5, zxid: 0x500000007 });
    m.step({ type: 'socketClosed', attempt: m.connectedAttempt!, now: 6, reason: 'x' });
    const c = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'socketOpen', attempt: c.attempt, now: 7 });
    assert.equal(only(m.takeActions(), 'handshake')[0]!.request.lastZxidSeen, 0x500000007);
  });

  test('server_says_expired_then_a_new_session_is_started', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    m.step({ type: 'socketClosed', attempt: m.connectedAttempt!, now: 10, reason: 'x' });
    const c = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'socketOpen', attempt: c.attempt, now: 11 });
    m.takeActions();
    m.step({ type: 'handshake', attempt: c.attempt, now: 12, timeOutMs: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    const acts = m.takeActions();
    assert.deepEqual(
      acts.map((a) => a.type),
      ['drop', 'sessionLost', 'state', 'connect'],
    );
    assert.deepEqual(only(acts, 'state')[0]!.event, { type: 'expired', reason: 'server', sessionId: 0x1234n });
    assert.equal(m.state, 'expired');
    const n = only(acts, 'connect')[0]!;
    m.step({ type: 'socketOpen', attempt: n.attempt, now: 13 });
    assert.equal(only(m.takeActions(), 'handshake')[0]!.request.sessionId, 0n, 'a new session is asked for');
    m.step({
      type: 'handshake',
      attempt: n.attempt,
      now: 14,
      timeOutMs: 9000,
      sessionId: 0x9999n,
      passwd: Buffer.alloc(16, 2),
      readOnly: false,
    });
    assert.deepEqual(
      only(m.takeActions(), 'state').map((a) => a.event.type),
      ['connected'],
    );
    assert.equal(m.sessionId, 0x9999n);
  });

  test('cut_off_for_the_session_timeout_means_expired_locally', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    m.step({ type: 'received', attempt: m.connectedAttempt!, now: 1000 });
    m.step({ type: 'socketClosed', attempt: m.connectedAttempt!, now: 2000, reason: 'x' });
    m.takeActions();
    // every attempt fails or hangs; the deadline for the session is heard-at + timeout = 10000
    let now = 2000;
    const states: string[] = [];
    while (now < 20000 && m.state !== 'expired') {
      for (const a of m.takeActions()) {
        if (a.type === 'connect') m.step({ type: 'socketClosed', attempt: a.attempt, now, reason: 'ECONNREFUSED' });
        if (a.type === 'state') states.push(a.event.type);
      }
      now = Math.max(now + 1, m.nextDeadline()!);
      m.step({ type: 'tick', now });
    }
    const acts = m.takeActions();
    assert.equal(m.state, 'expired');
    assert.equal(now, 10000, 'expired exactly when the session timeout passed since the last word');
    const exp = only(acts, 'state').find((a) => a.event.type === 'expired');
    assert.deepEqual(exp?.event, { type: 'expired', reason: 'local', sessionId: 0x1234n });
    assert.equal(only(acts, 'sessionLost').length, 1);
  });

  test('without_renewSession_expired_is_final', () => {
    const m = machine({ renewSession: false });
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    m.step({ type: 'socketClosed', attempt: m.connectedAttempt!, now: 10, reason: 'x' });
    const c = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'socketOpen', attempt: c.attempt, now: 11 });
    m.takeActions();
    m.step({ type: 'handshake', attempt: c.attempt, now: 12, timeOutMs: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    const acts = m.takeActions();
    assert.equal(only(acts, 'connect').length, 0);
    assert.equal(m.state, 'expired');
    assert.equal(m.nextDeadline(), null);
    m.step({ type: 'close', now: 20 });
    assert.equal(m.state, 'closed');
  });

  test('close_sends_closeSession_and_waits_for_the_answer', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    establish(m, 0);
    const attempt = m.connectedAttempt!;
    m.step({ type: 'close', now: 5 });
    assert.deepEqual(
      m.takeActions().map((a) => a.type),
      ['sendClose'],
    );
    assert.equal(m.state, 'connected');
    m.step({ type: 'closeAnswered', attempt, now: 6 });
    const acts = m.takeActions();
    assert.deepEqual(
      acts.map((a) => a.type),
      ['drop', 'state'],
    );
    assert.equal(m.state, 'closed');
    assert.equal(m.nextDeadline(), null);
  });

  test('close_while_disconnected_is_immediate', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    m.takeActions();
    m.step({ type: 'close', now: 1 });
    assert.deepEqual(
      m.takeActions().map((a) => a.type),
      ['drop', 'state'],
    );
    assert.equal(m.state, 'closed');
  });

  test('connect_attempts_time_out', () => {
    const m = machine({ connectTimeoutMs: 500 });
    m.step({ type: 'start', now: 0 });
    const c = only(m.takeActions(), 'connect')[0]!;
    assert.equal(m.nextDeadline(), 500);
    m.step({ type: 'tick', now: 500 });
    const acts = m.takeActions();
    assert.deepEqual(
      only(acts, 'drop').map((a) => a.attempt),
      [c.attempt],
    );
  });

  test('failed_attempts_report_the_host_and_why_and_a_lost_connection_does_not', () => {
    const m = machine({ connectTimeoutMs: 500 });
    m.step({ type: 'start', now: 0 });
    const refused = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'socketClosed', attempt: refused.attempt, now: 1, reason: 'ECONNREFUSED: connect ECONNREFUSED', code: 'ECONNREFUSED' });
    assert.deepEqual(only(m.takeActions(), 'attemptFailed'), [
      { type: 'attemptFailed', host: refused.host, reason: 'ECONNREFUSED: connect ECONNREFUSED', code: 'ECONNREFUSED' },
    ]);
    m.step({ type: 'tick', now: m.nextDeadline()! });
    const silent = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'tick', now: m.nextDeadline()! });
    const timedOut = only(m.takeActions(), 'attemptFailed');
    assert.deepEqual(
      timedOut.map((a) => [a.host, a.code]),
      [[silent.host, 'ETIMEDOUT']],
    );
    m.step({ type: 'tick', now: m.nextDeadline()! });
    const hungUp = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'socketOpen', attempt: hungUp.attempt, now: 2000 });
    m.step({ type: 'socketClosed', attempt: hungUp.attempt, now: 2001, reason: 'server closed the connection' });
    assert.deepEqual(only(m.takeActions(), 'attemptFailed'), [
      { type: 'attemptFailed', host: hungUp.host, reason: 'server closed the connection' },
    ]);
    m.step({ type: 'tick', now: m.nextDeadline()! });
    establish(m, 3000);
    m.step({ type: 'socketClosed', attempt: m.connectedAttempt!, now: 3001, reason: 'ECONNRESET', code: 'ECONNRESET' });
    assert.deepEqual(only(m.takeActions(), 'attemptFailed'), [], "a session's connection that breaks is suspended, not a failed attempt");
  });

  test('read_only_server_then_a_read_write_one_is_found', () => {
    const m = machine({ allowReadOnly: true });
    m.step({ type: 'start', now: 0 });
    const first = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'socketOpen', attempt: first.attempt, now: 0 });
    const hs = only(m.takeActions(), 'handshake')[0]!;
    assert.equal(hs.request.readOnly, true);
    m.step({
      type: 'handshake',
      attempt: first.attempt,
      now: 1,
      timeOutMs: 9000,
      sessionId: 0x77n,
      passwd: Buffer.alloc(16),
      readOnly: true,
    });
    assert.deepEqual(
      only(m.takeActions(), 'state').map((a) => a.event.type),
      ['readOnly'],
    );
    assert.equal(m.state, 'readOnly');
    m.step({ type: 'tick', now: 101 });
    const probe = only(m.takeActions(), 'probeReadWrite')[0]!;
    assert.notDeepEqual(probe.host, first.host);
    m.step({ type: 'rwServerFound', host: probe.host, now: 150 });
    const acts = m.takeActions();
    const c = only(acts, 'connect')[0]!;
    assert.deepEqual(c.host, probe.host);
    m.step({ type: 'socketOpen', attempt: c.attempt, now: 151 });
    // the read-only server's session id is not valid elsewhere (ClientCnxn.seenRwServerBefore)
    assert.equal(only(m.takeActions(), 'handshake')[0]!.request.sessionId, 0n);
  });

  test('stale_socket_events_of_old_attempts_are_ignored', () => {
    const m = machine();
    m.step({ type: 'start', now: 0 });
    const c = only(m.takeActions(), 'connect')[0]!;
    m.step({ type: 'tick', now: 5000 }); // attempt timed out
    m.takeActions();
    m.step({ type: 'socketOpen', attempt: c.attempt, now: 5001 });
    m.step({ type: 'handshake', attempt: c.attempt, now: 5002, timeOutMs: 9000, sessionId: 1n, passwd: Buffer.alloc(16), readOnly: false });
    assert.equal(m.state, 'connecting');
    assert.deepEqual(m.takeActions(), []);
  });

  test('sasl_holds_the_session_until_the_exchange_succeeds_and_runs_again_on_every_reconnect', () => {
    const m = machine({ sasl: true });
    m.step({ type: 'start', now: 0 });
    const first = establish(m, 10);
    const auth = only(first, 'authenticate');
    assert.equal(auth.length, 1);
    assert.equal(only(first, 'established').length, 0, 'nothing is sent before SASL is done');
    assert.equal(m.state, 'connecting');
    m.step({ type: 'authenticated', attempt: auth[0]!.attempt, now: 20 });
    const after = m.takeActions();
    assert.equal(only(after, 'established').length, 1);
    assert.equal(m.state, 'connected');
    m.step({ type: 'socketClosed', attempt: auth[0]!.attempt, now: 30, reason: 'gone' });
    assert.equal(m.state, 'suspended');
    const again = establish(m, 40);
    const auth2 = only(again, 'authenticate');
    assert.equal(auth2.length, 1, 'authenticates again after the reconnect');
    m.step({ type: 'authenticated', attempt: auth2[0]!.attempt, now: 50 });
    const states = only(m.takeActions(), 'state');
    assert.deepEqual(
      states.map((x) => x.event.type),
      ['reconnected'],
    );
  });

  test('sasl_refused_is_final_authFailed_and_close_only_says_closed', () => {
    const m = machine({ sasl: true });
    m.step({ type: 'start', now: 0 });
    const auth = only(establish(m, 10), 'authenticate')[0]!;
    m.step({ type: 'authFailed', attempt: auth.attempt, now: 20, reason: 'wrong password' });
    const acts = m.takeActions();
    assert.deepEqual(
      only(acts, 'drop').map((d) => d.attempt),
      [auth.attempt],
    );
    assert.equal(m.state, 'authFailed');
    assert.equal(only(acts, 'connect').length, 0, 'no further attempt');
    assert.equal(m.nextDeadline(), null);
    m.step({ type: 'close', now: 30 });
    assert.equal(m.state, 'closed');
  });

  test('sasl_that_never_ends_fails_the_attempt_at_the_connect_timeout', () => {
    const m = machine({ sasl: true, connectTimeoutMs: 1000 });
    m.step({ type: 'start', now: 0 });
    only(establish(m, 10), 'authenticate');
    m.step({ type: 'tick', now: 1000 });
    const acts = m.takeActions();
    assert.equal(only(acts, 'attemptFailed').length, 1);
    assert.match(only(acts, 'attemptFailed')[0]!.reason, /SASL/);
  });
});

describe('watch registry', () => {
  test('one_shot_watches_fire_once_persistent_ones_stay', () => {
    const r = new WatchRegistry<string>();
    r.add('data', '/a', 'w1');
    r.add('exist', '/b', 'w2');
    r.add('child', '/a', 'w3');
    r.add('persistent', '/a', 'p');
    r.add('persistentRecursive', '/', 'rec');
    assert.deepEqual([...r.trigger(EventType.NodeDataChanged, '/a')].sort(), ['p', 'rec', 'w1']);
    assert.deepEqual([...r.trigger(EventType.NodeDataChanged, '/a')].sort(), ['p', 'rec']);
    assert.deepEqual([...r.trigger(EventType.NodeChildrenChanged, '/a')].sort(), ['p', 'w3'], 'recursive watches never see child events');
    assert.deepEqual([...r.trigger(EventType.NodeCreated, '/b')].sort(), ['rec', 'w2']);
    assert.deepEqual([...r.trigger(EventType.NodeDeleted, '/b/c/d')], ['rec']);
  });

  test('delete_fires_data_and_child_watches', () => {
    const r = new WatchRegistry<string>();
    r.add('data', '/a', 'd');
    r.add('child', '/a', 'c');
    assert.deepEqual([...r.trigger(EventType.NodeDeleted, '/a')].sort(), ['c', 'd']);
    assert.equal(r.size, 0);
  });

  test('remove_one_watcher_or_all_and_wouldEmpty', () => {
    const r = new WatchRegistry<string>();
    r.add('data', '/a', 'x');
    r.add('data', '/a', 'y');
    r.add('exist', '/a', 'x');
    assert.equal(r.wouldEmpty(['data', 'exist'], '/a', 'x'), false);
    assert.deepEqual(
      r.remove(['data', 'exist'], '/a', 'x').map((e) => e.kind),
      ['data', 'exist'],
    );
    assert.equal(r.wouldEmpty(['data', 'exist'], '/a', 'y'), true);
    assert.deepEqual(
      r.remove(['data'], '/a').map((e) => e.watcher),
      ['y'],
    );
    assert.equal(r.size, 0);
  });

  test('setWatches_split_keeps_every_path_under_the_budget', () => {
    const long = (i: number) => `/watched/${'x'.repeat(180)}-${i}`;
    const paths = {
      data: Array.from({ length: 3000 }, (_, i) => long(i)),
      exist: Array.from({ length: 3000 }, (_, i) => long(i + 3000)),
      child: ['/c'],
      persistent: [],
      persistentRecursive: ['/r'],
    };
    const reqs = splitSetWatches(paths, 42);
    assert.ok(reqs.length >= 8, `split into ${reqs.length} requests`);
    const all = {
      data: [] as string[],
      exist: [] as string[],
      child: [] as string[],
      persistent: [] as string[],
      persistentRecursive: [] as string[],
    };
    for (const r of reqs) {
      assert.equal(r.req.relativeZxid, 42);
      let bytes = 0;
      for (const list of [
        r.req.dataWatches,
        r.req.existWatches,
        r.req.childWatches,
        r.req.persistentWatches,
        r.req.persistentRecursiveWatches,
      ]) {
        for (const p of list) bytes += 4 + Buffer.byteLength(p);
      }
      assert.ok(bytes <= SET_WATCHES_BYTES_MAX, `request of ${bytes} bytes`);
      const v2 = r.req.persistentWatches.length + r.req.persistentRecursiveWatches.length > 0;
      assert.equal(r.type, v2 ? OpCode.setWatches2 : OpCode.setWatches);
      all.data.push(...r.req.dataWatches);
      all.exist.push(...r.req.existWatches);
      all.child.push(...r.req.childWatches);
      all.persistentRecursive.push(...r.req.persistentRecursiveWatches);
    }
    assert.deepEqual(all, paths);
    assert.deepEqual(splitSetWatches({ data: [], exist: [], child: [], persistent: [], persistentRecursive: [] }, 0), []);
  });
});

describe('connect strings, paths, chroot', () => {
  test('hosts_ports_ipv6_and_chroot', () => {
    assert.deepEqual(parseConnectString('a:1,b,[::1]:3/app/x/'), {
      hosts: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2181 },
        { host: '::1', port: 3 },
      ],
      chroot: '/app/x',
    });
    assert.deepEqual(parseConnectString('h:2181/'), { hosts: [{ host: 'h', port: 2181 }], chroot: null });
    for (const bad of ['', '/app', 'h:0', 'h:99999', 'h:x', 'a,,b', '::1:2181', 'h/a//b', 'h/a/./b']) {
      assert.throws(() => parseConnectString(bad), BadArgumentsError, bad);
    }
  });

  test('chroot_prepend_and_strip', () => {
    assert.equal(prependChroot('/app', '/'), '/app');
    assert.equal(prependChroot('/app', '/x'), '/app/x');
    assert.equal(stripChroot('/app', '/app'), '/');
    assert.equal(stripChroot('/app', '/app/x/y'), '/x/y');
    assert.equal(stripChroot('/app', '/apple'), '/apple', 'not inside the chroot: unchanged');
    assert.equal(stripChroot(null, '/x'), '/x');
  });

  test('path_rules_are_zookeepers', () => {
    for (const ok of ['/', '/a', '/a/b.c', '/a/..b', '/a/...']) assert.equal(pathProblem(ok), null, ok);
    for (const bad of ['', 'a', '/a/', '//a', '/a/./b', '/a/../b', '/a/.', '/a\u0000', '/a\u0001', '/\ud800'])
      assert.notEqual(pathProblem(bad), null, JSON.stringify(bad));
    assert.equal(pathProblem('/q/', true), null, 'a sequential create may end in /');
  });
});

describe('errors and retry', () => {
  test('every_code_has_its_class_and_keeps_code_and_path', () => {
    const codes = Object.values(ErrorCode).filter((c) => c !== 0);
    for (const code of codes) {
      const e = errorFor(code, '/p');
      assert.ok(e instanceof KeeperError);
      assert.equal(e.code, code);
      assert.equal(e.path, '/p');
      assert.notEqual(e.name, 'KeeperError', `code ${code} has a class`);
    }
    assert.ok(errorFor(ErrorCode.NoNode) instanceof NoNodeError);
    assert.ok(errorFor(ErrorCode.NodeExists, '/x') instanceof NodeExistsError);
    assert.equal(errorFor(-999).name, 'KeeperError');
    const closed = new ConnectionClosedError();
    assert.ok(closed instanceof SessionExpiredError);
    assert.equal(closed.code, ErrorCode.SessionExpired);
  });

  test('only_connection_type_errors_are_retryable', () => {
    assert.equal(isRetryable(new ConnectionLossError()), true);
    assert.equal(isRetryable(errorFor(ErrorCode.OperationTimeout)), true);
    assert.equal(isRetryable(errorFor(ErrorCode.RequestTimeout)), true);
    assert.equal(isRetryable(new SessionExpiredError()), false);
    assert.equal(isRetryable(new NoNodeError()), false);
    assert.equal(isRetryable(new Error('x')), false);
  });

  test('exponential_backoff_is_bounded_and_gives_up', () => {
    const p = new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 100, maxRetries: 6, random: rng(3) });
    const caps = [10, 20, 40, 80, 100, 100];
    for (let i = 1; i <= 6; i++) {
      const d = p.nextDelayMs(i, 0)!;
      assert.ok(d >= caps[i - 1]! / 2 && d <= caps[i - 1]!, `retry ${i}: ${d}`);
    }
    assert.equal(p.nextDelayMs(7, 0), null);
    assert.equal(new ExponentialBackoff({ maxElapsedMs: 50 }).nextDelayMs(1, 50), null);
  });

  test('withRetry_retries_connection_loss_and_not_the_rest', async () => {
    let n = 0;
    const v = await withRetry(
      async () => {
        if (++n < 3) throw new ConnectionLossError();
        return 'ok';
      },
      { policy: new ExponentialBackoff({ baseDelayMs: 1, maxDelayMs: 2 }) },
    );
    assert.equal(v, 'ok');
    assert.equal(n, 3);
    let m = 0;
    await assert.rejects(
      withRetry(async () => {
        m++;
        throw new NoNodeError('/x');
      }),
      NoNodeError,
    );
    assert.equal(m, 1);
    let k = 0;
    await assert.rejects(
      withRetry(
        async () => {
          k++;
          throw new ConnectionLossError();
        },
        { policy: new ExponentialBackoff({ baseDelayMs: 1, maxRetries: 2 }) },
      ),
      ConnectionLossError,
    );
    assert.equal(k, 3);
  });

  test('withRetry_stops_on_abort', async () => {
    const ac = new AbortController();
    const p = withRetry(
      async () => {
        throw new ConnectionLossError();
      },
      { signal: ac.signal, policy: new ExponentialBackoff({ baseDelayMs: 60000 }) },
    );
    setImmediate(() => ac.abort(new Error('stop')));
    await assert.rejects(p, /stop/);
  });
});

test('the_pure_client_modules_use_no_clock_randomness_or_io', () => {
  for (const f of ['machine.ts', 'watches.ts', 'paths.ts', 'ops.ts', 'errors.ts', 'sasl.ts']) {
    const text = readFileSync(join(repoRoot, 'src', 'client', f), 'utf8')
      .replace(/\/\/.*$/gm, '')
      .replace(/\/\*[\s\S]*?\*\//g, '');
    for (const bad of [
      'Date.now(',
      'Math.random(',
      'setTimeout(',
      'setInterval(',
      'setImmediate(',
      'process.',
      "from 'node:net'",
      "from 'node:fs'",
    ]) {
      assert.ok(!text.includes(bad), `src/client/${f} uses ${bad}`);
    }
  }
});
