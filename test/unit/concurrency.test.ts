// ConcurrencyLimit: never more than max tasks at once, waiting tasks start in arrival order, and a
// task that fails gives its slot back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimit } from '../../src/util/concurrency.js';

/** A task the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void; fail: () => void } {
  let open = (): void => {};
  let fail = (): void => {};
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = () => reject(new Error('task failed'));
  });
  return { promise, open, fail };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('at_most_max_tasks_run_and_waiting_ones_start_in_arrival_order_even_after_a_failure', async () => {
  const limit = new ConcurrencyLimit(2);
  const gates = Array.from({ length: 5 }, gate);
  const started: number[] = [];
  let running = 0;
  let most = 0;
  const results = gates.map((g, i) =>
    limit.run(async () => {
      started.push(i);
      most = Math.max(most, ++running);
      try {
        await g.promise;
      } finally {
        running--;
      }
      return i;
    }),
  );
  await turn();
  assert.deepEqual(started, [0, 1]);
  gates[1]!.fail();
  await assert.rejects(results[1]!, /task failed/);
  await turn();
  assert.deepEqual(started, [0, 1, 2], 'a failed task frees its slot');
  gates[0]!.open();
  gates[2]!.open();
  await turn();
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  gates[3]!.open();
  gates[4]!.open();
  assert.deepEqual(await Promise.all([results[0], results[2], results[3], results[4]]), [0, 2, 3, 4]);
  assert.equal(most, 2);
});

test('a_limit_below_one_is_refused', () => {
  assert.throws(() => new ConcurrencyLimit(0), RangeError);
  assert.throws(() => new ConcurrencyLimit(Number.NaN), RangeError);
});
