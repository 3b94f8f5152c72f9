// StatsTrack reads and writes the text ZooKeeper 3.7+ does (zookeeper_limits / zookeeper_stats).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsTrack } from '../../src/tree/quota.js';

test('StatsTrack reads ZooKeeper\'s forms: commas, the "=;" tail zkCli setquota writes, empty values', () => {
  const zkCli = new StatsTrack('count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2');
  assert.equal(zkCli.count, -1);
  assert.equal(zkCli.bytes, -1);
  assert.equal(zkCli.countHardLimit, 2);
  assert.equal(zkCli.byteHardLimit, -1);
  const plain = new StatsTrack('count=5,bytes=100,countHardLimit=3,byteHardLimit=10');
  assert.deepEqual([plain.count, plain.bytes, plain.countHardLimit, plain.byteHardLimit], [5, 100, 3, 10]);
  assert.equal(new StatsTrack('count=,bytes=7').count, -1);
  assert.equal(new StatsTrack('').count, -1);
  assert.equal(new StatsTrack('garbage').bytes, -1);
  assert.equal(new StatsTrack('count=0,bytes=0,junk').toString(), 'count=0,bytes=0', 'a piece without "=" is no key');
});

test('StatsTrack writes count and bytes first, then "=" and ";key=value" sorted, as ZooKeeper', () => {
  const s = new StatsTrack();
  s.values.set('count', 1);
  s.values.set('bytes', 0);
  assert.equal(s.toString(), 'count=1,bytes=0');
  s.values.set('countHardLimit', 2);
  s.values.set('byteHardLimit', -1);
  assert.equal(s.toString(), 'count=1,bytes=0=;byteHardLimit=-1;countHardLimit=2');
  assert.equal(new StatsTrack(s.toString()).toString(), s.toString(), 'round trip');
});
