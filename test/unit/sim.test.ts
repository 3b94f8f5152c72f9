// The deterministic simulator in the test suite: a few hundred random seeds across the whole
// fault mix, and one scripted scenario per ZooKeeper sync-phase bug. `npm run sim -- --seeds N`
// runs as many random seeds as you like; a failure prints seed=N, which replays exactly.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, SimFailure, runSeed, type SimResult } from '../sim/cluster.js';
import { SCENARIOS } from '../sim/scenarios.js';

const SEEDS = Number(process.env.ARK_SIM_SEEDS ?? 300);
const FROM = Number(process.env.ARK_SIM_FROM ?? 1);

function explain(e: unknown): never {
  if (e instanceof SimFailure) throw new Error(`${e.message}\n${e.trace.slice(-80).join('\n')}\nreplay: npm run sim -- --seed ${e.seed}`);
  throw e;
}

describe('ensemble simulator', () => {
  test(`${SEEDS} random seeds (loss, duplication, reorder, partitions, crashes, torn writes, wiped disks, clock steps)`, {
    timeout: 600000,
  }, (t) => {
    const faults: Record<string, number> = {};
    let committed = 0;
    for (let seed = FROM; seed < FROM + SEEDS; seed++) {
      let r: SimResult;
      try {
        r = runSeed(seed);
      } catch (e) {
        explain(e);
      }
      committed += r.committed;
      for (const [k, v] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + v;
    }
    t.diagnostic(`${committed} txns committed; faults ${JSON.stringify(faults)}`);
    for (const f of ['crash', 'election', 'snap_sync', 'trunc', 'reload', 'wipe', 'torn_write', 'impostor_attempt']) {
      assert.ok((faults[f] ?? 0) > 0, `the fault mix never produced ${f}`);
    }
    // every impostor was refused by every live member it tried (a member admitting one fails its seed)
    assert.ok(
      (faults.impostor_refused ?? 0) >= faults.impostor_attempt!,
      `impostors: ${faults.impostor_attempt} attempts, ${faults.impostor_refused ?? 0} refusals`,
    );
  });

  test('the same seed replays exactly', () => {
    const a = new Cluster(4242).run();
    const b = new Cluster(4242).run();
    assert.deepEqual(a, b);
  });

  for (const s of SCENARIOS) {
    test(`${s.jira}: ${s.name}`, { timeout: 120000 }, () => {
      const total: Record<string, number> = {};
      for (let seed = 1; seed <= (s.seeds ?? 5); seed++) {
        let r: SimResult;
        try {
          r = new Cluster(seed, s.options(seed)).run();
        } catch (e) {
          explain(e);
        }
        for (const x of [...s.expect, { fault: 'scenario_complete', atLeast: 1 }]) {
          const n = [x.fault].flat().reduce((a, f) => a + (r.faults[f] ?? 0), 0);
          assert.ok(n >= x.atLeast, `seed ${seed}: expected ${x.fault} >= ${x.atLeast}, got ${JSON.stringify(r.faults)}`);
        }
        for (const [k, v] of Object.entries(r.faults)) total[k] = (total[k] ?? 0) + v;
      }
      for (const x of s.expectSomewhere ?? [])
        assert.ok((total[x.fault] ?? 0) >= x.atLeast, `no seed produced ${x.fault}: ${JSON.stringify(total)}`);
    });
  }
});
