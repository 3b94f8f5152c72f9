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

test('started() counts again from zero; sinceSnapshot says what a restart would replay', () => {
  const s = new SnapshotSchedule(10, 0, () => 0);
  s.applied(7);
  assert.equal(s.sinceSnapshot, 7);
  assert.equal(s.due, true);
  s.started();
  assert.equal(s.sinceSnapshot, 0);
  assert.equal(s.due, false);
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
