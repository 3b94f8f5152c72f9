// `npm run bench:latency`: request latency at a fixed rate (open loop) while the server does its
// background work (issue 17 item 6), Ark and then Apache ZooKeeper 3.8 on the same harness.
//
// Each system runs as a 3-member ensemble holding BENCH_LATENCY_ZNODES znodes (1M) of 100 B. The
// load is Ark's load generator in open loop: BENCH_LATENCY_RATE ops/s (10,000) of 90% getData /
// 10% setData on the leader, every op timed from when it was due, so a stall is charged to every
// op it held up. The same absolute rate for both systems; each one's closed-loop maximum on the
// same load is printed beside it, so the rate's share of it is known. Phases, each
// BENCH_LATENCY_PHASE_SECONDS (30) of load with the job started after 1 s:
//   - idle: nothing else runs;
//   - backup: an online backup streamed from the leader (Ark: `ark backup create`; ZooKeeper 3.8
//     has no online backup, so the phase is Ark's alone);
//   - SNAP: a follower, stopped and wiped, rejoins and receives the whole tree from the leader.
// Reported: p50 / p99 / p99.9 / max of the ops completed while the job ran (idle: the whole phase),
// and the job's duration. ZooKeeper runs with the JVM's default GC and BENCH_ZK_HEAP (4g).
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build as buildHistogram } from 'hdr-histogram-js';
import { DEFAULT_SPEC, runLoad, summarize, type LatencySummary, type LoadSpec } from '../src/bench/loadgen.js';
import { startEnsemble, type Ensemble, type Member } from '../test/helpers/ensemble.js';
import { arkBin, freePort, tempDir } from '../test/helpers/servers.js';
import { zookeeperMissing } from '../test/helpers/zookeeper.js';
import { startZooKeeperEnsemble } from '../test/helpers/zookeeper-ensemble.js';
import { populateZnodes } from './populate.js';

const run = promisify(execFile);
const env = (k: string, d: number): number => (process.env[k] === undefined ? d : Number(process.env[k]));
const ZNODES = env('BENCH_LATENCY_ZNODES', 1_000_000);
const RATE = env('BENCH_LATENCY_RATE', 10_000);
const PHASE_SECONDS = env('BENCH_LATENCY_PHASE_SECONDS', 30);
const TARGETS = (process.env.BENCH_TARGETS ?? 'ark,zookeeper').split(',');
const ZK_HEAP = process.env.BENCH_ZK_HEAP ?? '4g';

type System = 'Ark' | 'ZooKeeper';
interface PhaseResult {
  system: System;
  phase: string;
  latency: LatencySummary | null;
  ops: number;
  jobSeconds: number | null;
  errors: Record<string, number>;
}
const results: PhaseResult[] = [];
const maxima: Partial<Record<System, number>> = {};

function loadSpec(connect: string, root: string): LoadSpec {
  return { ...DEFAULT_SPEC, connect, root, workload: 'mixed', readPercent: 90, keys: 1000, warmupSeconds: 2 };
}

/**
 * One phase: PHASE_SECONDS of open-loop load; `job` (if any) starts after 1 s. The latencies of
 * the ops that completed while the job ran are what the phase reports.
 */
async function phase(system: System, name: string, connect: string, job?: () => Promise<void>): Promise<void> {
  const hist = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  let from = 0n;
  let to = job ? 0n : -1n; // -1: no job, every op counts
  let jobSeconds: number | null = null;
  const load = runLoad({
    ...loadSpec(connect, `/lat-${name}`),
    rate: RATE,
    seconds: PHASE_SECONDS,
    onOp: (doneNs, us) => {
      if (to === -1n || (from > 0n && doneNs >= from && (to === 0n || doneNs <= to))) hist.recordValue(us);
    },
  });
  let jobError: unknown = null;
  if (job) {
    await new Promise((r) => setTimeout(r, 3000)); // the warm-up (2 s) and the first second of measured load
    from = process.hrtime.bigint();
    await job().catch((e: unknown) => {
      jobError = e;
    });
    to = process.hrtime.bigint();
    jobSeconds = Number(to - from) / 1e9;
  }
  const r = await load;
  if (jobError) throw jobError;
  if (job && jobSeconds! > PHASE_SECONDS - 1) console.log(`${system} ${name}: the job outlasted the load (${jobSeconds!.toFixed(1)} s)`);
  const latency = hist.totalCount > 0 ? summarize(hist) : null;
  results.push({ system, phase: name, latency, ops: hist.totalCount, jobSeconds, errors: r.errors });
  console.log(`${system} ${name}: ${JSON.stringify({ latency, ops: hist.totalCount, jobSeconds, errors: r.errors })}`);
}

/** Stops a follower, removes its data, starts it and waits until it serves again: a SNAP. */
async function resnap(ens: Ensemble, follower: Member): Promise<void> {
  await ens.kill(follower);
  ens.wipe(follower);
  await ens.start(follower);
  await ens.serving(600_000);
}

async function measure(system: System): Promise<void> {
  const admin = new Map<number, number>();
  for (const id of [1, 2, 3]) admin.set(id, await freePort());
  const ens =
    system === 'Ark'
      ? await startEnsemble({
          env: { ARK_LOG_LEVEL: 'warn' },
          memberCfg: (id) => ({ 'admin.enableServer': true, 'admin.serverPort': admin.get(id)!, 'admin.serverAddress': '127.0.0.1' }),
        })
      : await startZooKeeperEnsemble({ heap: ZK_HEAP, production: true, cfg: { preAllocSize: 65536 } });
  const dir = tempDir('bench-latency');
  try {
    const leader = await ens.leader(60_000);
    const connect = `127.0.0.1:${leader.port}`;
    const t0 = performance.now();
    await populateZnodes(connect, ZNODES, '/pop');
    console.log(`${system}: ${ZNODES} znodes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const max = await runLoad({ ...loadSpec(connect, '/lat-max'), seconds: 5 });
    maxima[system] = max.opsPerSec;
    console.log(`${system}: closed-loop maximum ${max.opsPerSec.toFixed(0)} ops/s`);

    await phase(system, 'idle', connect);
    if (system === 'Ark') {
      const out = join(dir, 'b.arkb');
      const url = `http://127.0.0.1:${admin.get(leader.id)}`;
      await phase(system, 'online backup', connect, async () => {
        await run(process.execPath, [arkBin, 'backup', 'create', '--admin', url, '--out', out, '--auth', 'bench:bench', '--json'], {
          maxBuffer: 1 << 24,
        });
        rmSync(out, { force: true });
      });
    }
    const follower = ens.members.find((m) => m !== leader && !m.observer)!;
    await phase(system, 'SNAP to a wiped follower', connect, () => resnap(ens, follower));
  } finally {
    await ens.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function main(): Promise<void> {
  if (TARGETS.includes('ark')) await measure('Ark');
  if (TARGETS.includes('zookeeper')) {
    const missing = zookeeperMissing();
    if (missing) console.log(`ZooKeeper skipped: ${missing}`);
    else await measure('ZooKeeper');
  }
  console.log(`\n3-member ensembles, ${ZNODES} znodes of 100 B; open loop at ${RATE} ops/s (90% getData / 10% setData) on the leader`);
  for (const [sys, m] of Object.entries(maxima))
    console.log(`${sys}: closed-loop maximum of the same load ${m.toFixed(0)} ops/s (${((RATE / m) * 100).toFixed(0)}%)`);
  console.log('\n| system | while | p50 | p99 | p99.9 | max | ops | job took |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const l = r.latency;
    const errs = Object.keys(r.errors).length ? ` (errors: ${JSON.stringify(r.errors)})` : '';
    console.log(
      `| ${r.system} | ${r.phase} | ${l ? ms(l.p50) : '-'} | ${l ? ms(l.p99) : '-'} | ${l ? ms(l.p999) : '-'} | ${l ? ms(l.max) : '-'} | ${r.ops}${errs} | ${r.jobSeconds === null ? '-' : `${r.jobSeconds.toFixed(1)} s`} |`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
