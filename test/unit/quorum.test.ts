// Majority quorums (src/consensus/quorum.ts), as tables: what a majority is, when the leader and
// its voting learners reach one, and the highest zxid a majority holds (the commit rule).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Majority, majorityOf } from '../../src/consensus/quorum.js';

test('a majority of n voters', () => {
  const table: Array<[number, number]> = [
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
  ];
  for (const [voters, size] of table) assert.equal(majorityOf(voters), size, `${voters} voters`);
});

test('reached: the leader counts itself; learners count when they are voters and the condition holds; observers never', () => {
  type L = { ok: boolean };
  const learners = (ok: Record<number, boolean>): Array<[number, L]> => Object.entries(ok).map(([id, v]) => [Number(id), { ok: v }]);
  const table: Array<{ voters: number[]; learners: Record<number, boolean>; want: boolean; why: string }> = [
    { voters: [1], learners: {}, want: true, why: 'a single voter is its own majority' },
    { voters: [1, 2, 3], learners: {}, want: false, why: 'the leader alone is 1 of 3' },
    { voters: [1, 2, 3], learners: { 2: true }, want: true, why: '2 of 3' },
    { voters: [1, 2, 3], learners: { 2: false, 3: false }, want: false, why: 'connected but the condition fails' },
    { voters: [1, 2, 3], learners: { 4: true, 5: true }, want: false, why: 'observers (not voters) never count' },
    { voters: [1, 2, 3, 4], learners: { 2: true }, want: false, why: '2 of 4 is no majority' },
    { voters: [1, 2, 3, 4], learners: { 2: true, 3: true }, want: true, why: '3 of 4' },
    { voters: [1, 2, 3, 4, 5], learners: { 2: true, 3: false, 4: true, 6: true }, want: true, why: '3 of 5, the observer aside' },
  ];
  for (const row of table)
    assert.equal(
      new Majority(row.voters).reached(learners(row.learners), (l) => l.ok),
      row.want,
      row.why,
    );
});

test("committed: the highest value a majority has reached, the leader's own included; null below a majority", () => {
  const table: Array<{ voters: number[]; own: number; acked: Record<number, number | null>; want: number | null; why: string }> = [
    { voters: [1], own: 7, acked: {}, want: 7, why: 'one voter: what it has on disk' },
    { voters: [1, 2, 3], own: 9, acked: {}, want: null, why: 'no learner reports' },
    { voters: [1, 2, 3], own: 9, acked: { 2: 5 }, want: 5, why: 'the second highest of two' },
    { voters: [1, 2, 3], own: 4, acked: { 2: 9, 3: 7 }, want: 7, why: 'the leader may be behind its followers on disk' },
    { voters: [1, 2, 3], own: 9, acked: { 2: null, 3: 6 }, want: 6, why: 'a learner not synced counts for nothing' },
    { voters: [1, 2, 3], own: 9, acked: { 4: 9, 5: 9 }, want: null, why: "observers' acks never commit" },
    { voters: [1, 2, 3, 4, 5], own: 10, acked: { 2: 8, 3: 3, 4: 9, 5: 1 }, want: 8, why: 'the third highest of five' },
  ];
  for (const row of table) {
    const learners: Array<[number, { v: number | null }]> = Object.entries(row.acked).map(([id, v]) => [Number(id), { v }]);
    assert.equal(
      new Majority(row.voters).committed(row.own, learners, (l) => l.v),
      row.want,
      row.why,
    );
  }
});
