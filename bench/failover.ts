// Failover benchmark: a 3-server ensemble under a write load (4 writers, each one outstanding
// create, reconnecting to any member on ConnectionLoss as a ZooKeeper client does); kill -9 of the
// leader; the time until the first write is acknowledged again. Ark, then Apache ZooKeeper 3.8
// when the Debian package is installed (with the JVM's default GC and JIT, as zkServer.sh runs it),
// never both at once. `BENCH_FAILOVER_TRIALS` (default 5).
import { ZkClient } from '../src/client/client.js';
import { KeeperError } from '../src/util/errors.js';
import { startEnsemble, type Ensemble, type Member } from '../test/helpers/ensemble.js';
import { startZooKeeperEnsemble } from '../test/helpers/zookeeper-ensemble.js';
import { zookeeperMissing } from '../test/helpers/zookeeper.js';

const WRITERS = 4;

async function connectAny(ens: Ensemble, avoid: Member | null): Promise<ZkClient> {
  for (let i = 0; ; i++) {
    const up = ens.members.filter((m) => m.proc && m !== avoid);
    const m = up[i % up.length]!;
    try {
      return await ZkClient.connect({ port: m.port, sessionTimeoutMs: 10000 });
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** One trial: returns ms from the kill to the first acknowledged write after it. */
async function trial(ens: Ensemble, n: number): Promise<number> {
  const leader = await ens.leader(30000);
  const setup = await connectAny(ens, null);
  await setup.create(`/fo${n}`).catch(() => undefined);
  await setup.close();
  let killedAt = 0;
  let resumedAt = 0;
  let stop = false;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    let c: ZkClient | null = null;
    for (let i = 0; !stop; i++) {
      try {
        c ??= await connectAny(ens, killedAt === 0 ? leader : null);
        const sentAt = Date.now();
        await c.create(`/fo${n}/w${w}-${i}`, 'x');
        // only a write sent after the kill proves a new leader commits (a reply already on its way does not)
        if (killedAt > 0 && sentAt > killedAt && resumedAt === 0) resumedAt = Date.now();
      } catch (e) {
        if (!(e instanceof KeeperError)) throw e;
        c?.disconnect();
        c = null;
      }
    }
    c?.disconnect();
  });
  await new Promise((r) => setTimeout(r, 1500));
  killedAt = Date.now();
  await ens.kill(leader);
  const deadline = Date.now() + 30000;
  while (resumedAt === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  stop = true;
  await Promise.all(writers);
  await ens.start(leader);
  await ens.serving(30000);
  return resumedAt === 0 ? Number.NaN : resumedAt - killedAt;
}

async function measure(name: string, start: () => Promise<Ensemble>, trials: number): Promise<number[]> {
  const ens = await start();
  try {
    await ens.leader(30000);
    await ens.serving(30000);
    const out: number[] = [];
    for (let t = 0; t < trials; t++) out.push(await trial(ens, t));
    console.log(`${name}: writes resumed after ${out.map((x) => `${x} ms`).join(', ')}`);
    return out;
  } finally {
    await ens.stop();
  }
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const trials = Number(process.env.BENCH_FAILOVER_TRIALS ?? 5);
  const ark = await measure('Ark', () => startEnsemble({ env: { ARK_LOG_LEVEL: 'warn' } }), trials);
  let zk: number[] | null = null;
  const missing = zookeeperMissing();
  if (missing) console.log(`Apache ZooKeeper not measured: ${missing}`);
  else zk = await measure('Apache ZooKeeper 3.8', () => startZooKeeperEnsemble({ voters: 3, heap: '2g', production: true }), trials);
  console.log('\n| kill -9 of the leader, 3 servers, 4 writers | Ark | ZooKeeper 3.8 |');
  console.log('|---|---|---|');
  console.log(`| writes resume after (median of ${trials}) | ${median(ark)} ms | ${zk ? `${median(zk)} ms` : 'n/a'} |`);
  console.log(`| range | ${Math.min(...ark)}-${Math.max(...ark)} ms | ${zk ? `${Math.min(...zk)}-${Math.max(...zk)} ms` : 'n/a'} |`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
