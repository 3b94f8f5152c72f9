import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SessionTracker } from '../../src/session/sessions.js';
import { CONTAINER_OWNER } from '../../src/wire/txn.js';

const PW = Buffer.alloc(16, 1);
const TICK = 2000;

describe('SessionTracker expiry buckets', () => {
  test('deadline_rounds_up_to_the_next_tick_interval', () => {
    const st = new SessionTracker(TICK, 1, 1000);
    // ExpiryQueue.roundToNextInterval: (t / interval + 1) * interval
    assert.equal(st.add(1n, 5000, PW, 1000).expiresAt, 8000); // 6000 -> 8000 (strictly after)
    assert.equal(st.add(2n, 5000, PW, 1500).expiresAt, 8000); // 6500 -> 8000
    assert.equal(st.add(3n, 5000, PW, 3001).expiresAt, 10000); // 8001 -> 10000
    assert.equal(st.add(4n, 4000, PW, 0).expiresAt, 6000); // 4000 -> 6000
  });

  test('session_expires_when_now_reaches_its_bucket', () => {
    const st = new SessionTracker(TICK, 1, 1000);
    st.add(7n, 5000, PW, 1000); // bucket 8000
    assert.deepEqual(st.expire(7999), []);
    assert.equal(st.get(7n)?.closing, false);
    assert.deepEqual(st.expire(8000), [7n]);
    assert.equal(st.get(7n)?.closing, true);
  });

  test('expire_returns_each_session_once', () => {
    const st = new SessionTracker(TICK, 1, 0);
    st.add(1n, 4000, PW, 0);
    assert.deepEqual(st.expire(6000), [1n]);
    assert.deepEqual(st.expire(6000), []);
    assert.deepEqual(st.expire(60_000), []);
    // still in the table until removed (the closeSession txn removes it)
    assert.ok(st.get(1n));
  });

  test('touch_moves_the_deadline', () => {
    const st = new SessionTracker(TICK, 1, 0);
    st.add(1n, 4000, PW, 0); // 6000
    assert.equal(st.touch(1n, 5000), true); // 9000 -> 10000
    assert.equal(st.get(1n)?.expiresAt, 10000);
    assert.deepEqual(st.expire(6000), []);
    assert.deepEqual(st.expire(9999), []);
    assert.deepEqual(st.expire(10000), [1n]);
  });

  test('touch_of_unknown_or_closing_session_is_refused', () => {
    const st = new SessionTracker(TICK, 1, 0);
    assert.equal(st.touch(99n, 0), false);
    st.add(1n, 4000, PW, 0);
    st.setClosing(1n);
    assert.equal(st.touch(1n, 1000), false);
    assert.equal(st.get(1n)?.expiresAt, 6000, 'deadline unchanged');
  });

  test('closing_sessions_are_not_returned_again_by_expire', () => {
    const st = new SessionTracker(TICK, 1, 0);
    st.add(1n, 4000, PW, 0);
    st.setClosing(1n);
    assert.deepEqual(st.expire(6000), []);
  });

  test('expire_catches_up_over_many_buckets', () => {
    const st = new SessionTracker(TICK, 1, 0);
    st.add(1n, 4000, PW, 0); // 6000
    st.add(2n, 10000, PW, 0); // 12000
    st.add(3n, 30000, PW, 0); // 32000
    assert.deepEqual(st.expire(20000).sort(), [1n, 2n]);
    assert.deepEqual(st.expire(40000), [3n]);
  });

  test('removed_session_never_expires', () => {
    const st = new SessionTracker(TICK, 1, 0);
    st.add(1n, 4000, PW, 0);
    st.remove(1n);
    assert.equal(st.get(1n), undefined);
    assert.deepEqual(st.expire(100_000), []);
  });

  test('add_of_an_existing_session_updates_timeout_and_deadline', () => {
    const st = new SessionTracker(TICK, 1, 0);
    const s = st.add(1n, 4000, PW, 0);
    const again = st.add(1n, 20000, PW, 1000);
    assert.equal(again, s);
    assert.equal(s.timeoutMs, 20000);
    assert.equal(s.expiresAt, 22000);
    assert.deepEqual(st.expire(6000), []);
  });

  test('expiry_interval_must_be_positive', () => {
    assert.throws(() => new SessionTracker(0, 1, 0));
  });
});

describe('session ids', () => {
  test('initialSessionId_puts_server_id_in_the_high_byte', () => {
    const now = 0x0123456789ab;
    // (now << 24) >>> 8 in 64 bits: the top bit of now falls off, 16 zero bits below
    assert.equal(SessionTracker.initialSessionId(1, now), 0x0123456789ab0000n);
    // bit 40 of now is shifted out of the 64-bit long and must not leak into the server byte
    assert.equal(SessionTracker.initialSessionId(2, now), 0x0223456789ab0000n);
    assert.equal(SessionTracker.initialSessionId(0, now), 0x0023456789ab0000n);
    assert.equal(SessionTracker.initialSessionId(5, now) >> 56n, 5n);
    assert.equal(SessionTracker.initialSessionId(5, now) & 0xffffn, 0n);
  });

  test('server_id_255_gives_a_negative_signed_session_id', () => {
    const id = SessionTracker.initialSessionId(255, 0x0123456789ab);
    assert.ok(id < 0n);
    assert.equal(BigInt.asUintN(64, id), 0xff23456789ab0000n);
  });

  test('same_time_different_servers_give_disjoint_ids', () => {
    const now = 1_700_000_000_000;
    const a = SessionTracker.initialSessionId(1, now);
    const b = SessionTracker.initialSessionId(2, now);
    assert.notEqual(a, b);
    assert.equal(a & 0x00ffffffffffffffn, b & 0x00ffffffffffffffn);
  });

  test('newSessionId_counts_up_from_the_initial_id', () => {
    const now = 1_700_000_000_000;
    const st = new SessionTracker(TICK, 3, now);
    const first = st.newSessionId();
    assert.equal(first, SessionTracker.initialSessionId(3, now));
    assert.equal(st.newSessionId(), first + 1n);
    assert.equal(st.newSessionId(), first + 2n);
  });

  test('initial_session_id_is_never_the_container_owner', () => {
    assert.notEqual(SessionTracker.initialSessionId(128, 0), CONTAINER_OWNER);
    assert.notEqual(SessionTracker.initialSessionId(128, 2 ** 40), CONTAINER_OWNER);
  });
});
