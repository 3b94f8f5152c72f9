// SnapshotSchedule: when a snapshot comes due, by txn count or by log size (ZooKeeper's
// SyncRequestProcessor.shouldSnapshot), with the random part drawn from the given source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotSchedule } from '../../src/server/snapschedule.js';
import { parseZooCfg } from '../../src/config/zoocfg.js';
import { ConfigError } from '../../src/config/error.js';

test('due after snapCount/2 + random(snapCount/2) txns: the lowest point with random 0, the highest with random just below 1', () => {
  const low = new SnapshotSchedule(100, 0, () => 0);
  assert.equal(low.applied(50), false);
  assert.equal(low.applied(1), true);
  const high = new SnapshotSchedule(100, 0, () => 0.999);
  assert.equal(high.applied(99), false);
  assert.equal(high.applied(1), true);
});

test('due by log size before the count, when a size limit is set; no size limit at 0', () => {
  const s = new SnapshotSchedule(1_000_000, 64 * 1024, () => 0);
  assert.equal(s.applied(10, 32 * 1024), false);
  assert.equal(s.applied(1, 1), true);
  const unlimited = new SnapshotSchedule(1_000_000, 0, () => 0);
  assert.equal(unlimited.applied(10, Number.MAX_SAFE_INTEGER), false);
});

test('started() counts again from zero', () => {
  const s = new SnapshotSchedule(10, 0, () => 0);
  assert.equal(s.applied(7), true);
  s.started();
  assert.equal(s.due, false);
});

test('the replayed log counts towards the next snapshot, and a restarted member behind its newest snapshot takes one when it first serves', () => {
  const s = new SnapshotSchedule(100, 0, () => 0);
  s.recovered(40, 0x100);
  assert.equal(s.applied(10), false);
  assert.equal(s.applied(1), true, '40 replayed + 11 applied reach 51');
  s.started();
  assert.equal(s.servingStarted(0x129), true, 'it holds txns its newest snapshot lacks');
  assert.equal(s.applied(0), true, 'owed until one starts');
  s.started();
  assert.equal(s.due, false);
  assert.equal(s.servingStarted(0x200), false, 'only the first time it serves: later elections leave it to the count');
  const current = new SnapshotSchedule(100, 0, () => 0);
  current.recovered(0, 0x100);
  assert.equal(current.servingStarted(0x100), false, 'nothing to add');
  const synced = new SnapshotSchedule(100, 0, () => 0);
  synced.recovered(5, 0x100);
  synced.installed(0x300);
  assert.equal(synced.servingStarted(0x300), false, 'a SNAP from the leader is its newest snapshot');
  assert.equal(synced.applied(50), false, 'and the count starts again from it');
});

test('snapSizeLimitInKb is read as ZooKeeper reads it (default 4 GB, <= 0 no limit), and a bad value names the key', () => {
  assert.equal(parseZooCfg('dataDir=/tmp/x\nclientPort=2181\n').config.snapSizeLimitKb, 4194304);
  assert.equal(parseZooCfg('dataDir=/tmp/x\nclientPort=2181\nsnapSizeLimitInKb=-1\n').config.snapSizeLimitKb, -1);
  assert.equal(parseZooCfg('dataDir=/tmp/x\nclientPort=2181\nzookeeper.snapSizeLimitInKb=128\n').config.snapSizeLimitKb, 128);
  assert.throws(
    () => parseZooCfg('dataDir=/tmp/x\nclientPort=2181\nsnapSizeLimitInKb=lots\n'),
    (e: unknown) => e instanceof ConfigError && /snapSizeLimitInKb/.test(e.message),
  );
});
