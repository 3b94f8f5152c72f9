// Ensemble benchmark: closed-loop ZooKeeper-protocol load against a 3-server Ark ensemble and,
// when the Debian package is present, a 3-server Apache ZooKeeper 3.8 ensemble, one after the
// other on the same machine (never both at once). Sessions are spread round-robin over the
// members, as a real deployment's clients are; fsync is on for both (forceSync default).
// Prints a markdown table of ops/s and latency, and each member's CPU use per workload.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ZkClient } from '../src/client/client.js';
import { closedLoop } from './load.js';
import { startEnsemble, type Ensemble } from '../test/helpers/ensemble.js';
import { startZooKeeperEnsemble } from '../test/helpers/zookeeper-ensemble.js';
import { zookeeperMissing } from '../test/helpers/zookeeper.js';

const SESSIONS = 8;
const WINDOW = 32;
const DATA = Buffer.alloc(100, 7);

interface Result { ops: number; seconds: number; p50: number; p99: number; cpu: number[]; loadgenCpu: number }

type Op = (c: ZkClient, s: number, i: number) => Promise<unknown>;
interface Workload { name: string; setup?: (c: ZkClient, tag: string) => Promise<void>; op: (tag: string) => Op }

const WORKLOADS: Workload[] = [
  {
    name: 'create 100 B',
    setup: async (c, tag) => { await c.create(`/b-${tag}`); },
    op: (tag) => (c, s, i) => c.create(`/b-${tag}/s${s}-${i}`, DATA),
  },
  {
    name: 'setData 100 B',
    setup: async (c, tag) => { await c.create(`/s-${tag}`); for (let s = 0; s < SESSIONS; s++) await c.create(`/s-${tag}/${s}`, DATA); },
    op: (tag) => (c, s) => c.setData(`/s-${tag}/${s}`, DATA),
  },
  {
    name: 'getData 100 B',
    setup: async (c, tag) => { await c.create(`/g-${tag}`); for (let s = 0; s < SESSIONS; s++) await c.create(`/g-${tag}/${s}`, DATA); },
    op: (tag) => (c, s) => c.getData(`/g-${tag}/${s}`),
  },
  {
    name: '90% getData / 10% setData',
    setup: async (c, tag) => { await c.create(`/m-${tag}`); for (let k = 0; k < 8; k++) await c.create(`/m-${tag}/${k}`, DATA); },
    op: (tag) => (c, s, i) => (i % 10 === 9 ? c.setData(`/m-${tag}/${(s + i) % 8}`, DATA) : c.getData(`/m-${tag}/${(s + i) % 8}`)),
  },
];

const clkTck = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 100;
})();

/** user+system CPU seconds a process has used so far (Linux /proc), or NaN. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clkTck; // fields 14 and 15: utime, stime
  } catch {
    return NaN;
  }
}

async function run(ens: Ensemble, seconds: number, w: Workload, tag: string): Promise<Result> {
  const clients: ZkClient[] = [];
  for (let s = 0; s < SESSIONS; s++) {
    clients.push(await ZkClient.connect({ port: ens.members[s % ens.members.length]!.port, sessionTimeoutMs: 30000 }));
  }
  try {
    if (w.setup) await w.setup(clients[0]!, tag);
    // every session sees the setup before it starts, whichever member it is on
    await Promise.all(clients.map((c) => c.sync('/')));
    const pids = ens.members.map((m) => m.proc?.process.pid);
    const cpu0 = pids.map(cpuSeconds);
    const lg0 = process.cpuUsage();
    const r = await closedLoop(clients, WINDOW, seconds, w.op(tag));
    const cpu = pids.map((p, k) => (cpuSeconds(p) - cpu0[k]!) / r.seconds);
    const lg = process.cpuUsage(lg0);
    return { ...r, cpu, loadgenCpu: (lg.user + lg.system) / 1e6 / r.seconds };
  } finally {
    for (const c of clients) c.disconnect();
  }
}

interface Suite { results: Result[]; leaderId: number }

async function suite(label: string, ens: Ensemble, seconds: number, warmup: number): Promise<Suite> {
  const leader = await ens.leader();
  await ens.serving();
  const modes = await Promise.all(ens.members.map((m) => ens.mode(m)));
  console.log(`${label}: ports ${ens.members.map((m) => m.port).join(', ')}; modes ${modes.join(', ')}; leader is member ${leader.id}`);
  const base = `${label.toLowerCase().replace(/\W/g, '')}-${Date.now()}`;
  // JIT / connection warm-up, not measured: the same mixed workload for a short time
  if (warmup > 0) await run(ens, warmup, WORKLOADS[3]!, `${base}-warm`);
  const results: Result[] = [];
  for (const [k, w] of WORKLOADS.entries()) {
    const r = await run(ens, seconds, w, `${base}-${k}`);
    console.log(`  ${w.name.padEnd(28)} ${(r.ops / r.seconds).toFixed(0).padStart(7)} ops/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
    results.push(r);
  }
  return { results, leaderId: leader.id };
}

function simRunning(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (/sim\/run(\.js)?\b/.test(cmd)) found.push(`${pid} (${cmd})`);
    } catch { /* gone */ }
  }
  return found;
}

const fmtOps = (r: Result | undefined): string => (r ? (r.ops / r.seconds).toFixed(0) : '-');
const fmtLat = (r: Result | undefined): string => (r ? `${r.p50.toFixed(2)} / ${r.p99.toFixed(2)}` : '-');
const fmtCpu = (s: Suite | undefined, r: Result | undefined): string =>
  (s && r ? r.cpu.map((c, k) => `${k + 1 === s.leaderId ? 'L' : 'F'} ${(c * 100).toFixed(0)}%`).join(', ') + `; loadgen ${(r.loadgenCpu * 100).toFixed(0)}%` : '-');

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
  // extra zoo.cfg entries per target, for experiments: BENCH_ARK_CFG='{"preAllocSize":1024}'
  const arkCfg = JSON.parse(process.env.BENCH_ARK_CFG ?? '{}') as Record<string, string | number | boolean>;
  const zkCfg = JSON.parse(process.env.BENCH_ZK_CFG ?? '{}') as Record<string, string | number | boolean>;
  const targets = (process.env.BENCH_TARGETS ?? 'ark,zookeeper').split(',');
  const sim = simRunning();
  if (sim.length) console.log(`note: a simulation is running during this benchmark and uses CPU: ${sim.join('; ')}`);

  if (Object.keys(arkCfg).length) console.log(`Ark zoo.cfg extras: ${JSON.stringify(arkCfg)}`);
  if (Object.keys(zkCfg).length) console.log(`ZooKeeper zoo.cfg extras: ${JSON.stringify(zkCfg)}`);

  let ark: Suite | undefined;
  if (targets.includes('ark')) {
    const arkEns = await startEnsemble({ voters: 3, cfg: arkCfg, env: { ARK_LOG_LEVEL: process.env.ARK_LOG_LEVEL ?? 'warn' } });
    try {
      ark = await suite('Ark', arkEns, seconds, warmup);
    } finally {
      await arkEns.stop();
    }
  }

  let zk: Suite | undefined;
  const missing = zookeeperMissing();
  if (!targets.includes('zookeeper')) {
    // not asked for
  } else if (missing) {
    console.log(`(Apache ZooKeeper not run: ${missing})`);
  } else {
    const zkEns = await startZooKeeperEnsemble({ voters: 3, cfg: zkCfg });
    try {
      zk = await suite('ZooKeeper', zkEns, seconds, warmup);
    } finally {
      await zkEns.stop();
    }
  }

  console.log(`\n3-server ensembles on loopback, ${SESSIONS} sessions x ${WINDOW} outstanding, round-robin over the members, ${seconds} s per workload\n`);
  console.log('| workload | Ark ops/s | Ark p50/p99 ms | ZooKeeper ops/s | ZooKeeper p50/p99 ms | ratio (Ark/ZK) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  WORKLOADS.forEach((w, k) => {
    const a = ark?.results[k];
    const z = zk?.results[k];
    const ratio = a && z && z.ops > 0 ? ((a.ops / a.seconds) / (z.ops / z.seconds)).toFixed(2) : '-';
    console.log(`| ${w.name} | ${fmtOps(a)} | ${fmtLat(a)} | ${fmtOps(z)} | ${fmtLat(z)} | ${ratio} |`);
  });
  console.log('\nCPU per member during each workload (L leader, F follower; 100% = one core), and the load generator:\n');
  console.log('| workload | Ark members | ZooKeeper members |');
  console.log('|---|---|---|');
  WORKLOADS.forEach((w, k) => console.log(`| ${w.name} | ${fmtCpu(ark, ark?.results[k])} | ${fmtCpu(zk, zk?.results[k])} |`));
  console.log('\nBoth ensembles fsync every write before acknowledging it (ZooKeeper forceSync=yes, its default); the load');
  console.log(`generator is this Node process, on the same ${cpus().length}-core machine as the three servers.`);
  console.log('Reference: Apache ZooKeeper 3.8 measured with its own Java client on this machine, 3 servers: about 3,100 creates/s,');
  console.log('4,300 setData/s, 15,700 getData/s, 11,900/s for the 90% read mix.');
  if (sim.length) console.log(`A simulation (${sim.map((x) => x.split(' ')[0]).join(', ')}) was running during these measurements and took CPU from them.`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
