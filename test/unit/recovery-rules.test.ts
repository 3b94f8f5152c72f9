// Recovery and snapshot rules found in review: two histories never join across an epoch change,
// and a snapshot slice stays small however large the znodes are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { continuityProblem } from '../../src/storage/datadir.js';
import { SnapshotWriter } from '../../src/storage/snapshot.js';
import { DataTree } from '../../src/tree/datatree.js';
import { OpCode, OPEN_ACL_UNSAFE } from '../../src/wire/protocol.js';
import type { LogRecord } from '../../src/storage/txnlog.js';

const rec = (zxid: number): LogRecord => ({ hdr: { sessionId: 1n, cxid: 0, zxid, time: 0, type: OpCode.error }, txn: { type: OpCode.error, err: 0 } });
const E = 4294967296;

test('an_epoch_change_inside_the_log_is_refused_unless_a_snapshot_starts_it', () => {
  assert.equal(continuityProblem(0, [rec(1), rec(2), rec(3)]), null);
  assert.match(continuityProblem(0, [rec(1), rec(2), rec(E + 1)])!, /epoch 0 .* to epoch 1 .*restore/);
  assert.equal(continuityProblem(E, [rec(E + 1), rec(E + 2)]), null, 'a restore snapshot at E<<32 starts the epoch');
  assert.match(continuityProblem(5, [rec(7)])!, /txns are missing/);
});

test('snapshot_slices_stop_at_a_few_megabytes_whatever_the_node_count', () => {
  const tree = new DataTree();
  const big = Buffer.alloc(900 * 1024, 1);
  for (let i = 1; i <= 30; i++) {
    tree.apply({ sessionId: 0n, cxid: 0, zxid: i, time: i, type: OpCode.create },
      { type: OpCode.create, path: `/b${i}`, data: big, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: i }, []);
  }
  const w = new SnapshotWriter(tree, [], 0);
  let largest = 0;
  let chunks = 0;
  for (let c = w.next(20000); c; c = w.next(20000)) { largest = Math.max(largest, c.length); chunks++; }
  assert.ok(largest < 6 * 1024 * 1024, `a slice of ${largest} bytes`);
  assert.ok(chunks >= 5);
});
