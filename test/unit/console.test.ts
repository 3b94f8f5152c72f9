// The web console's server-side pieces that need no server: the login throttle and the reading
// of another member's srvr answer (the ensemble page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle } from '../../src/admin/console-throttle.js';
import { parseSrvr } from '../../src/admin/console-ensemble.js';

test('login throttle: five failures are free, then the wait doubles, a success clears it, addresses apart', () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 4; i++) t.failed('10.0.0.1', 1000);
  assert.equal(t.waitMs('10.0.0.1', 1000), 0);
  t.failed('10.0.0.1', 1000);
  assert.equal(t.waitMs('10.0.0.1', 1000), 1000);
  t.failed('10.0.0.1', 2000);
  assert.equal(t.waitMs('10.0.0.1', 2000), 2000);
  assert.equal(t.waitMs('10.0.0.1', 4000), 0, 'the wait passes');
  assert.equal(t.waitMs('10.0.0.2', 2000), 0, 'another address is not held up');
  for (let i = 0; i < 40; i++) t.failed('10.0.0.1', 5000);
  assert.equal(t.waitMs('10.0.0.1', 5000), 5 * 60_000, 'capped at five minutes');
  t.succeeded('10.0.0.1');
  assert.equal(t.waitMs('10.0.0.1', 5000), 0);
});

test("srvr's answer read as a member state: serving, not serving, not allowed", () => {
  const up = parseSrvr(
    'Zookeeper version: 3.9.5-ark-0.1.0, built on 2026-11-25 00:00 UTC\nLatency min/avg/max: 0/0.9375/6\nReceived: 40\nSent: 39\n' +
      'Connections: 2\nOutstanding: 0\nZxid: 0x40000000d\nMode: follower\nNode count: 8\n',
  );
  assert.deepEqual(up, {
    state: 'up',
    mode: 'follower',
    zxid: 0x40000000d,
    connections: 2,
    outstanding: 0,
    nodeCount: 8,
    latency: { min: 0, avg: 0.9375, max: 6 },
  });
  assert.equal(parseSrvr('This ZooKeeper instance is not currently serving requests\n').state, 'not-serving');
  const denied = parseSrvr('');
  assert.equal(denied.state, 'unknown');
  assert.match(denied.detail ?? '', /whitelist/);
});
