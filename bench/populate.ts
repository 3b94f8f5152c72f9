// Fills a server with `count` znodes of 100 bytes under `root`, 1,000 to a parent, as fast as
// Ark's load generator goes (8 sessions x 64 outstanding creates), and leaves them: the data the
// archive, restore and disaster-recovery benchmarks measure.
import { runLoad } from '../src/bench/loadgen.js';

export async function populateZnodes(connect: string, count: number, root: string): Promise<void> {
  await runLoad({
    connect,
    workload: 'create',
    sessions: 8,
    window: 64,
    seconds: 1e9,
    warmupSeconds: 0,
    sizeBytes: 100,
    count,
    readPercent: 0,
    multiOps: 1,
    keys: 1,
    sessionTimeoutMs: 30000,
    root,
    keep: true,
    fanout: 1000,
  });
}
