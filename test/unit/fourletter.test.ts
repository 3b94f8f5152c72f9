// How srvr / stat / mntr / server_stats print averages: ZooKeeper 3.8's AvgMinMaxCounter.getAvg
// rounds the mean half-up to 4 decimals and Java's Double.toString prints it. The expected strings
// were printed by Java 17 (new BigDecimal(total / (double) count).setScale(4, HALF_UP).doubleValue()
// through Double.toString), the first by a live ZooKeeper 3.8 srvr ("0/3.6154/17").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zkAverage } from '../../src/server/core.js';
import { Summary, javaDouble } from '../../src/admin/fourletter.js';

const JAVA: Array<[number, number, string]> = [
  [47, 13, '3.6154'],
  [0, 1, '0.0'],
  [0, 0, '0.0'],
  [1, 3, '0.3333'],
  [2, 3, '0.6667'],
  [5, 2, '2.5'],
  [299999, 100000, '3.0'],
  [1, 10000, '1.0E-4'],
  [5, 10000, '5.0E-4'],
  [3, 20000, '1.0E-4'],
  [10000000, 1, '1.0E7'],
  [99999999, 10, '9999999.9'],
  [123456789012, 1, '1.23456789012E11'],
];

test('averages_round_and_print_as_zookeeper_3_8', () => {
  for (const [total, count, java] of JAVA) assert.equal(javaDouble(zkAverage(total, count)), java, `${total}/${count}`);
});

test('mntr_summaries_print_their_average_rounded', () => {
  const s = new Summary();
  for (const v of [1, 2, 2]) s.add(v);
  assert.deepEqual(s.pairs('fsynctime'), [
    ['zk_avg_fsynctime', '1.6667'],
    ['zk_min_fsynctime', 1],
    ['zk_max_fsynctime', 2],
    ['zk_cnt_fsynctime', 3],
    ['zk_sum_fsynctime', 5],
  ]);
});
