// The continuous archive of a 3-server ensemble (issue 11): write throughput with archiving off
// and on, the archive's lag behind the commits under that load (mntr on the leader, sampled), and
// the time of one online restore of the whole ensemble through a follower's AdminServer, with
// BENCH_ARCHIVE_ZNODES (default 1,000,000) znodes of 100 bytes.
// BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_ARCHIVE_INTERVAL_MS (60000: the default RPO);
// BENCH_ARCHIVE_ZNODES=0 skips the restore.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runLoad, type LoadResult } from '../src/bench/loadgen.js';
import { populateZnodes } from './populate.js';
import { arkBin, freePort, tempDir } from '../test/helpers/servers.js';
import { startEnsemble, type Ensemble, type Member } from '../test/helpers/ensemble.js';
import { fourLetterWord } from '../test/helpers/zookeeper.js';

const env = (k: string, d: number): number => (process.env[k] === undefined ? d : Number(process.env[k]));
const SECONDS = env('BENCH_SECONDS', 5);
const ZNODES = env('BENCH_ARCHIVE_ZNODES', 1_000_000);
const INTERVAL_MS = env('BENCH_ARCHIVE_INTERVAL_MS', 60_000);
const run = promisify(execFile);

async function mntr(m: Member): Promise<Map<string, string>> {
  const out = await fourLetterWord('127.0.0.1', m.port, 'mntr', 2000);
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('\t') as [string, string]),
  );
}

async function leaderOf(ens: Ensemble): Promise<Member> {
  return ens.leader(60000);
}

async function load(ens: Ensemble, workload: 'create' | 'setData', tag: string): Promise<LoadResult> {
  return runLoad({
    connect: ens.connectString,
    workload,
    sessions: 8,
    window: 32,
    seconds: SECONDS,
    warmupSeconds: 2,
    sizeBytes: 100,
    readPercent: 90,
    multiOps: 4,
    keys: 256,
    sessionTimeoutMs: 30000,
    root: `/bench-${tag}-${Date.now().toString(36)}`,
    keep: false,
    fanout: 0,
  });
}

const ROUNDS = env('BENCH_ROUNDS', 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Load on one ensemble while its leader's mntr is sampled (in both runs, so its cost is not counted as the archive's). */
async function measured(ens: Ensemble, w: 'create' | 'setData', tag: string, lag: { txns: number; ms: number }): Promise<LoadResult> {
  const leader = await leaderOf(ens);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await mntr(leader).catch(() => new Map<string, string>());
      lag.txns = Math.max(lag.txns, Number(m.get('zk_archive_lag_txns') ?? 0));
      lag.ms = Math.max(lag.ms, Number(m.get('zk_archive_lag_ms') ?? 0));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    return await load(ens, w, tag);
  } finally {
    sampling = false;
    await sampler;
  }
}

async function main(): Promise<void> {
  const adminPorts = [await freePort(), await freePort(), await freePort()];
  const admin = (id: number): Record<string, string | number | boolean> => ({
    'admin.enableServer': true,
    'admin.serverPort': adminPorts[id - 1]!,
    'admin.serverAddress': '127.0.0.1',
  });
  const lag = { txns: 0, ms: 0 };
  // both ensembles run side by side and the loads alternate, round after round: this machine's
  // speed drifts more between minutes than archiving costs, so back-to-back runs compare fairly
  const off = await startEnsemble({ env: { ARK_LOG_LEVEL: 'warn' } });
  const on = await startEnsemble({
    env: { ARK_LOG_LEVEL: 'warn' },
    cfg: { 'backup.archiveDir': tempDir('bench-archive'), 'backup.archiveIntervalMs': INTERVAL_MS },
    memberCfg: admin,
  });
  try {
    await off.serving(60000);
    await on.serving(60000);
    const ops: Record<string, number[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const w of ['create', 'setData'] as const) {
        for (const [name, ens] of [
          ['off', off],
          ['on', on],
        ] as const) {
          const r = await measured(ens, w, `${name}-${w}-${round}`, name === 'on' ? lag : { txns: 0, ms: 0 });
          const key = `${w} ${name}`;
          ops[key] = [...(ops[key] ?? []), r.opsPerSec];
          console.log(
            `round ${round}: archiving ${name.padEnd(3)} ${w.padEnd(8)} ${r.opsPerSec.toFixed(0).padStart(7)} ops/s  p50 ${r.latencyMs.p50.toFixed(2)} ms  p99 ${r.latencyMs.p99.toFixed(2)} ms`,
          );
        }
      }
    }
    for (const w of ['create', 'setData']) {
      const a = median(ops[`${w} off`]!);
      const b = median(ops[`${w} on`]!);
      console.log(
        `${w}: median of ${ROUNDS} rounds ${a.toFixed(0)} ops/s without the archive, ${b.toFixed(0)} with it (${((1 - b / a) * 100).toFixed(1)}% cost)`,
      );
    }
    console.log(
      `archive lag on the leader under that load (mntr, every 200 ms): at most ${lag.txns} txns and ${(lag.ms / 1000).toFixed(1)} s (backup.archiveIntervalMs ${INTERVAL_MS})`,
    );
    await off.stop();
    if (ZNODES > 0) await restoreBench(on, adminPorts);
  } finally {
    await off.stop().catch(() => undefined);
    await on.stop();
  }
}

/** ZNODES znodes, a backup of them, restored online through a follower. */
async function restoreBench(ens: Ensemble, adminPorts: number[]): Promise<void> {
  const leader = await leaderOf(ens);
  const t0 = Date.now();
  await populateZnodes(ens.connectString, ZNODES, '/restore-data');
  console.log(`populated ${ZNODES} znodes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const file = join(tempDir('bench-restore'), 'b.arkb');
  const b0 = Date.now();
  await run(process.execPath, [
    arkBin,
    'backup',
    'create',
    '--admin',
    `http://127.0.0.1:${adminPorts[leader.id - 1]}`,
    '--out',
    file,
    '--auth',
    'bench:bench',
  ]);
  console.log(`backup: ${(statSync(file).size / 1e6).toFixed(1)} MB in ${((Date.now() - b0) / 1000).toFixed(1)} s`);
  const follower = ens.members.find((m) => m !== leader)!;
  const r0 = Date.now();
  const r = await run(
    process.execPath,
    [arkBin, 'restore', file, '--online', '--admin', `http://127.0.0.1:${adminPorts[follower.id - 1]}`, '--auth', 'bench:bench', '--json'],
    { maxBuffer: 1 << 20 },
  );
  const restoreMs = Date.now() - r0;
  await ens.serving(120000);
  const served = Date.now() - r0;
  console.log(
    `online restore of the ensemble through a follower: ${(restoreMs / 1000).toFixed(1)} s until the quorum took it, ${(served / 1000).toFixed(1)} s until every member served (${r.stdout.trim()})`,
  );
}

await main();
