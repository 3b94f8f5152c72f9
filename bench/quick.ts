// A first load generator (issue 7 grows it into `ark bench`): closed-loop ZooKeeper-protocol load
// from N sessions x W outstanding requests against Ark and, when the Debian package is present,
// Apache ZooKeeper started with the same settings (fsync on for both). Prints ops/s and latency.
import { ZkClient } from '../src/client/client.js';
import { closedLoop } from './load.js';
import { startArk, type RunningServer } from '../test/helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../test/helpers/zookeeper.js';

interface Result { name: string; ops: number; seconds: number; p50: number; p99: number }

async function run(name: string, port: number, sessions: number, window: number, seconds: number,
  op: (c: ZkClient, s: number, i: number) => Promise<unknown>, setup?: (c: ZkClient) => Promise<void>): Promise<Result> {
  const clients: ZkClient[] = [];
  for (let s = 0; s < sessions; s++) clients.push(await ZkClient.connect({ port, sessionTimeoutMs: 30000 }));
  if (setup) await setup(clients[0]!);
  const r = await closedLoop(clients, window, seconds, op);
  for (const c of clients) c.disconnect();
  return { name, ...r };
}

async function suite(target: string, srv: RunningServer, seconds: number): Promise<Result[]> {
  const data = Buffer.alloc(100, 7);
  const out: Result[] = [];
  const tag = `${target}-${Date.now()}`;
  out.push(await run('getData, 1 session x 1 (tight loop)', srv.port, 1, 1, seconds, (c) => c.getData('/zookeeper'), undefined));
  out.push(await run('create 100 B, 8 sessions x 32', srv.port, 8, 32, seconds, (c, s, i) => c.create(`/b-${tag}/s${s}-${i}`, data),
    async (c) => { await c.create(`/b-${tag}`); }));
  out.push(await run('setData 100 B, 8 sessions x 32', srv.port, 8, 32, seconds, (c, s) => c.setData(`/s-${tag}/${s}`, data),
    async (c) => { await c.create(`/s-${tag}`); for (let s = 0; s < 8; s++) await c.create(`/s-${tag}/${s}`, data); }));
  out.push(await run('getData 100 B, 8 sessions x 32', srv.port, 8, 32, seconds, (c, s) => c.getData(`/g-${tag}/${s % 8}`),
    async (c) => { await c.create(`/g-${tag}`); for (let s = 0; s < 8; s++) await c.create(`/g-${tag}/${s}`, data); }));
  return out;
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const rows: Array<{ target: string; r: Result }> = [];
  const ark = await startArk({ cfg: { '4lw.commands.whitelist': '*' } });
  try {
    for (const r of await suite('ark', ark, seconds)) rows.push({ target: 'ark', r });
  } finally {
    await ark.stop();
  }
  const missing = zookeeperMissing();
  if (missing) {
    console.log(`(Apache ZooKeeper not run: ${missing})`);
  } else {
    const zk = await startZooKeeper();
    try {
      for (const r of await suite('zookeeper', zk, seconds)) rows.push({ target: 'zookeeper', r });
    } finally {
      await zk.stop();
    }
  }
  console.log(`\n${'workload'.padEnd(36)} ${'server'.padEnd(10)} ${'ops/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  for (const { target, r } of rows) {
    console.log(`${r.name.padEnd(36)} ${target.padEnd(10)} ${(r.ops / r.seconds).toFixed(0).padStart(9)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`);
  }
  console.log('\nBoth servers fsync every write before acknowledging it; the load generator is this Node process (one core of two).');
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
