// `npm run bench:compare`: the same load against Ark and, when the Debian `zookeeper` package is
// installed, Apache ZooKeeper, one system at a time on this machine, standalone and as 3-server
// ensembles; then memory per znode with 1M znodes in each. Both fsync every write before
// acknowledging it (ZooKeeper's forceSync=yes default; Ark always). ZooKeeper runs with the
// JVM's own defaults (G1, full JIT) and a 2 GiB heap, as zkServer.sh would run it.
// The "tls" topology is a standalone server measured on its secureClientPort (ZooKeeper with its
// Netty factory, as its TLS needs), the same openssl certificates for both, ssl.clientAuth left at
// need so every session presents a client certificate; the load generator is the same as for the
// plain rows, so a TLS row against its standalone row is the cost of TLS.
//
// Environment: BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (2), BENCH_SESSIONS (8), BENCH_WINDOW (32),
// BENCH_SIZE (100), BENCH_WORKLOADS (all), BENCH_TOPOLOGIES (standalone,ensemble,tls),
// BENCH_TARGETS (ark,zookeeper), BENCH_MEMORY_ZNODES (1000000; 0 skips the memory part).
// Only the TLS rows: BENCH_TOPOLOGIES=tls BENCH_MEMORY_ZNODES=0 npm run bench:compare
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { WORKLOADS, runLoad, type LoadResult, type WorkloadName } from '../src/bench/loadgen.js';
import type { ClientTlsOptions } from '../src/client/transport.js';
import { makeCerts, type TestCerts } from '../test/helpers/certs.js';
import { freePort, startArk, type RunningServer } from '../test/helpers/servers.js';
import { startEnsemble } from '../test/helpers/ensemble.js';
import { nettyClasspath, startZooKeeper, zookeeperMissing } from '../test/helpers/zookeeper.js';
import { startZooKeeperEnsemble } from '../test/helpers/zookeeper-ensemble.js';
import { javaMemory, nodeMemory, type Memory } from './memory.js';

const env = (k: string, d: number): number => (process.env[k] === undefined ? d : Number(process.env[k]));
const SECONDS = env('BENCH_SECONDS', 5);
const WARMUP = env('BENCH_WARMUP_SECONDS', 2);
const SESSIONS = env('BENCH_SESSIONS', 8);
const WINDOW = env('BENCH_WINDOW', 32);
const SIZE = env('BENCH_SIZE', 100);
const MEMORY_ZNODES = env('BENCH_MEMORY_ZNODES', 1_000_000);
const WORKLOAD_LIST = (process.env.BENCH_WORKLOADS ?? WORKLOADS.join(',')).split(',') as WorkloadName[];
const TOPOLOGIES = (process.env.BENCH_TOPOLOGIES ?? 'standalone,ensemble,tls')
  .split(',')
  .filter((t) => t === 'standalone' || t === 'ensemble' || t === 'tls');
const TARGETS = (process.env.BENCH_TARGETS ?? 'ark,zookeeper').split(',');
const ZK_HEAP = process.env.BENCH_ZK_HEAP ?? '2g';

type System = 'Ark' | 'ZooKeeper';
interface Target {
  connect: string;
  pids: number[];
  /** the load generator's TLS settings (the tls topology) */
  tls?: ClientTlsOptions;
  stop(): Promise<void>;
}

let certs: TestCerts | null = null;

/** A standalone server serving TLS on a secureClientPort (its plain clientPort stays for start-up checks). */
async function startTls(system: System, logEnv: Record<string, string>): Promise<Target> {
  certs ??= makeCerts();
  const securePort = await freePort();
  const keys = {
    secureClientPort: securePort,
    secureClientPortAddress: '127.0.0.1',
    'ssl.keyStore.location': certs.serverPem,
    'ssl.trustStore.location': certs.caPem,
  };
  const s: RunningServer =
    system === 'Ark'
      ? await startArk({ env: logEnv, cfg: keys })
      : await startZooKeeper({
          cfg: { preAllocSize: 65536, serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory', ...keys },
          extraClasspath: nettyClasspath().path,
          heap: ZK_HEAP,
          production: true,
        });
  return {
    connect: `127.0.0.1:${securePort}`,
    pids: [s.process.pid!],
    tls: { ca: readFileSync(certs.caPem), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
    stop: async () => {
      await s.stop();
    },
  };
}

const rows: Array<{ topology: string; workload: WorkloadName; results: Partial<Record<System, LoadResult>> }> = [];

const LABEL: Record<WorkloadName, string> = {
  create: 'create',
  setData: 'setData',
  getData: 'getData',
  exists: 'exists',
  mixed: '90% getData / 10% setData',
  multi: 'multi (4 setData)',
};

async function startTarget(system: System, topology: string): Promise<Target> {
  const logEnv = { ARK_LOG_LEVEL: process.env.ARK_LOG_LEVEL ?? 'warn' };
  if (topology === 'tls') return startTls(system, logEnv);
  if (topology === 'standalone') {
    const s: RunningServer =
      system === 'Ark'
        ? await startArk({ env: logEnv })
        : await startZooKeeper({ cfg: { preAllocSize: 65536 }, heap: ZK_HEAP, production: true });
    return {
      connect: s.connectString,
      pids: [s.process.pid!],
      stop: async () => {
        await s.stop();
      },
    };
  }
  const e =
    system === 'Ark'
      ? await startEnsemble({ voters: 3, env: logEnv })
      : await startZooKeeperEnsemble({ voters: 3, cfg: { preAllocSize: 65536 }, heap: ZK_HEAP, production: true });
  await e.leader();
  await e.serving();
  return { connect: e.connectString, pids: e.members.map((m) => m.proc!.process.pid!), stop: () => e.stop() };
}

async function throughput(system: System, topology: string): Promise<void> {
  const t = await startTarget(system, topology);
  try {
    console.log(`${system} ${topology}: ${t.connect}`);
    for (const [k, workload] of WORKLOAD_LIST.entries()) {
      const r = await runLoad({
        connect: t.connect,
        workload,
        sessions: SESSIONS,
        window: WINDOW,
        seconds: SECONDS,
        warmupSeconds: WARMUP,
        sizeBytes: SIZE,
        readPercent: 90,
        multiOps: 4,
        keys: 256,
        sessionTimeoutMs: 30000,
        root: `/bench-${topology}-${k}-${Date.now().toString(36)}`,
        keep: false,
        fanout: 0,
        ...(t.tls ? { tls: t.tls } : {}),
      });
      const errs = Object.entries(r.errors);
      if (errs.length) throw new Error(`${system} ${topology} ${workload}: errors ${JSON.stringify(r.errors)}`);
      console.log(
        `  ${workload.padEnd(8)} ${r.opsPerSec.toFixed(0).padStart(8)} ops/s  p50 ${r.latencyMs.p50.toFixed(2)} ms  p99 ${r.latencyMs.p99.toFixed(2)} ms`,
      );
      let row = rows.find((x) => x.topology === topology && x.workload === workload);
      if (!row) {
        row = { topology, workload, results: {} };
        rows.push(row);
      }
      row.results[system] = r;
    }
  } finally {
    await t.stop();
  }
}

// ------------------------------------------------------------------ memory

const memoryRows: Array<{ system: System; before: Memory; after: Memory; znodes: number; seconds: number }> = [];

async function memory(system: System): Promise<void> {
  const inspectPort = await freePort();
  const s =
    system === 'Ark'
      ? await startArk({ env: { ARK_LOG_LEVEL: 'warn', NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` } })
      : await startZooKeeper({ cfg: { preAllocSize: 65536 }, heap: ZK_HEAP, production: true });
  const pid = s.process.pid!;
  const measure = (): Promise<Memory> => (system === 'Ark' ? nodeMemory(inspectPort, pid) : Promise.resolve(javaMemory(pid)));
  try {
    const before = await measure();
    const t0 = Date.now();
    const r = await runLoad({
      connect: s.connectString,
      workload: 'create',
      sessions: SESSIONS,
      window: WINDOW,
      seconds: 0,
      count: MEMORY_ZNODES,
      warmupSeconds: 0,
      sizeBytes: SIZE,
      readPercent: 0,
      multiOps: 1,
      keys: 1,
      sessionTimeoutMs: 30000,
      root: '/mem',
      keep: true,
      fanout: 1000,
    });
    if (Object.keys(r.errors).length) throw new Error(`${system}: errors while creating znodes ${JSON.stringify(r.errors)}`);
    const after = await measure();
    memoryRows.push({ system, before, after, znodes: r.ops, seconds: (Date.now() - t0) / 1000 });
    console.log(
      `${system}: ${r.ops} znodes in ${((Date.now() - t0) / 1000).toFixed(1)} s; heap ${(before.heapBytes / 2 ** 20).toFixed(0)} -> ${(after.heapBytes / 2 ** 20).toFixed(0)} MiB, RSS ${(before.rssBytes / 2 ** 20).toFixed(0)} -> ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    await s.stop();
  }
}

// ------------------------------------------------------------------ report

const ops = (r: LoadResult | undefined): string => (r ? r.opsPerSec.toFixed(0) : '-');
const lat = (r: LoadResult | undefined): string => (r ? `${r.latencyMs.p50.toFixed(2)} / ${r.latencyMs.p99.toFixed(2)}` : '-');

const TOPOLOGY_LABEL: Record<string, string> = { standalone: 'standalone', ensemble: '3 servers', tls: 'standalone, TLS' };

function report(): void {
  const missing = zookeeperMissing();
  console.log(
    `\n## Ark vs Apache ZooKeeper, same machine (${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB), one system at a time`,
  );
  console.log(
    `${SESSIONS} sessions x ${WINDOW} outstanding, ${SIZE}-byte znodes, ${SECONDS} s per row after ${WARMUP} s warm-up; fsync on for both;`,
  );
  console.log('ensembles: 3 servers on loopback, sessions spread over the members. Latency p50 / p99 in ms (HDR histogram).');
  console.log('standalone, TLS: the secure client port, client certificates (ssl.clientAuth=need), the same certificates for both.');
  if (missing) console.log(`Apache ZooKeeper not run: ${missing}`);
  console.log('\n| topology | workload | Ark ops/s | Ark p50 / p99 | ZooKeeper ops/s | ZooKeeper p50 / p99 | Ark / ZK |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const a = row.results.Ark;
    const z = row.results.ZooKeeper;
    const ratio = a && z && z.opsPerSec > 0 ? (a.opsPerSec / z.opsPerSec).toFixed(2) : '-';
    console.log(
      `| ${TOPOLOGY_LABEL[row.topology] ?? row.topology} | ${LABEL[row.workload]} | ${ops(a)} | ${lat(a)} | ${ops(z)} | ${lat(z)} | ${ratio} |`,
    );
  }
  if (memoryRows.length) {
    console.log(
      `\nMemory per znode: standalone, ${MEMORY_ZNODES.toLocaleString('en')} znodes of ${SIZE} bytes (1,000 parents x 1,000 children), measured after a full GC`,
    );
    console.log(
      '(Ark: V8 heap + off-heap buffers via the inspector; ZooKeeper: Java heap in use via jcmd), minus the same measure of the empty server.\n',
    );
    console.log('| system | bytes per znode (heap) | heap with znodes | RSS with znodes | RSS bytes per znode |');
    console.log('|---|---:|---:|---:|---:|');
    const per = new Map<System, number>();
    for (const m of memoryRows) {
      const perZnode = (m.after.heapBytes - m.before.heapBytes) / m.znodes;
      per.set(m.system, perZnode);
      console.log(
        `| ${m.system} | ${perZnode.toFixed(0)} | ${(m.after.heapBytes / 2 ** 20).toFixed(0)} MiB | ${(m.after.rssBytes / 2 ** 20).toFixed(0)} MiB | ${((m.after.rssBytes - m.before.rssBytes) / m.znodes).toFixed(0)} |`,
      );
    }
    const a = per.get('Ark');
    const z = per.get('ZooKeeper');
    if (a !== undefined && z !== undefined)
      console.log(`\nArk uses ${(a / z).toFixed(2)}x the memory per znode of ZooKeeper (lower is better).`);
  }
}

async function main(): Promise<void> {
  const systems: System[] = [];
  if (TARGETS.includes('ark')) systems.push('Ark');
  const missing = zookeeperMissing();
  if (TARGETS.includes('zookeeper')) {
    if (missing)
      console.log(
        `Apache ZooKeeper is not installed (${missing}); only Ark is measured. Install the Debian packages zookeeper and libzookeeper-java to compare.`,
      );
    else systems.push('ZooKeeper');
  }
  const nettyMissing = nettyClasspath().missing;
  for (const topology of TOPOLOGIES) {
    for (const system of systems) {
      if (topology === 'tls' && system === 'ZooKeeper' && nettyMissing) {
        console.log(`ZooKeeper over TLS not measured: ${nettyMissing}`);
        continue;
      }
      await throughput(system, topology);
    }
  }
  if (MEMORY_ZNODES > 0) for (const system of systems) await memory(system);
  report();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
