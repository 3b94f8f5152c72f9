// `npm run sim -- --seeds N [--from S] [--seed X] [--verbose]`: runs simulator seeds and prints a
// summary; a failing seed prints its trace and replays exactly with --seed.
import { runSeed, SimFailure, type SimResult } from './cluster.js';

// `node --test dist/test/` runs every file under it; the seeds in the suite are sim.test.ts's
if (process.env.NODE_TEST_CONTEXT !== undefined) process.exit(0);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const single = arg('--seed');
const count = Number(arg('--seeds') ?? 100);
const from = Number(arg('--from') ?? 1);
const verbose = process.argv.includes('--verbose');
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, i) => from + i);

const totals: Record<string, number> = {};
let committed = 0;
let acked = 0;
let failures = 0;
const started = Date.now();
for (const seed of seeds) {
  let res: SimResult;
  try {
    res = runSeed(seed, { traceMax: verbose ? 100_000 : 400 });
  } catch (e) {
    failures++;
    if (e instanceof SimFailure) {
      console.log(`FAIL ${e.message}`);
      console.log(e.trace.map((l) => `    ${l}`).join('\n'));
    } else {
      console.log(`FAIL seed=${seed}: ${(e as Error).stack}`);
    }
    if (single !== undefined || failures >= 5) break;
    continue;
  }
  committed += res.committed;
  acked += res.ackedWrites;
  for (const [k, v] of Object.entries(res.faults)) totals[k] = (totals[k] ?? 0) + v;
  if (verbose || single !== undefined)
    console.log(`seed=${seed} ok ${res.swarm} committed=${res.committed} acked=${res.ackedWrites} faults=${JSON.stringify(res.faults)}`);
}
const secs = (Date.now() - started) / 1000;
console.log(`${seeds.length} seeds, ${failures} failed, ${secs.toFixed(1)} s; ${committed} txns committed, ${acked} writes acknowledged`);
console.log(
  `faults: ${Object.entries(totals)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`,
);
process.exitCode = failures > 0 ? 1 : 0;
