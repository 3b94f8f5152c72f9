// One client process of bench/watches.ts: it holds its share of the sessions and answers the
// parent's steps over IPC. Several such processes share the load, as several application
// machines would: one Node process does not hold 10,000 sessions and their pings comfortably.
import { CreateMode } from '../src/client/ops.js';
import { connect, type ZooKeeperClient } from '../src/client/zookeeper.js';

export type WorkerStep =
  | { step: 'open'; connectString: string; sessions: number; sessionTimeoutMs: number }
  | { step: 'watch'; paths: string[] }
  | { step: 'ephemerals'; dir: string; prefix: string }
  | { step: 'arm'; path: string };

export type WorkerReply = { step: string; ok: true; at: number } | { step: string; ok: false; error: string };

const clients: ZooKeeperClient[] = [];

/** Runs fn over 0..n-1 with at most `width` calls in flight. */
async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

async function open(s: Extract<WorkerStep, { step: 'open' }>): Promise<void> {
  await pool(s.sessions, 64, async () => {
    clients.push(await connect(s.connectString, { sessionTimeoutMs: s.sessionTimeoutMs, timeoutMs: 60_000 }));
  });
}

async function watch(paths: string[]): Promise<void> {
  // every session leaves a data watch on every path: sessions x paths watches
  await pool(clients.length, 32, async (i) => {
    await Promise.all(paths.map((p) => clients[i]!.getData(p, { watch: true })));
  });
}

async function ephemerals(dir: string, prefix: string): Promise<void> {
  await pool(clients.length, 64, async (i) => {
    await clients[i]!.create(`${dir}/${prefix}-${i}`, null, { mode: CreateMode.EPHEMERAL });
  });
}

/** Resolves once every session has seen the data change of `path`: the time the last one did. */
function arm(path: string): Promise<number> {
  let left = clients.length;
  return new Promise((resolve) => {
    for (const c of clients) {
      const on = (ev: { path?: string }): void => {
        if (ev.path !== path) return;
        c.off('watch', on);
        if (--left === 0) resolve(Date.now());
      };
      c.on('watch', on);
    }
  });
}

function reply(r: WorkerReply): void {
  process.send?.(r);
}

process.on('message', (m: WorkerStep) => {
  const run = async (): Promise<void> => {
    if (m.step === 'open') await open(m);
    else if (m.step === 'watch') await watch(m.paths);
    else if (m.step === 'ephemerals') await ephemerals(m.dir, m.prefix);
    else {
      // answer at once that the listeners are in place, then again when the last event arrived
      const fired = arm(m.path);
      reply({ step: 'armed', ok: true, at: Date.now() });
      reply({ step: 'fired', ok: true, at: await fired });
      return;
    }
    reply({ step: m.step, ok: true, at: Date.now() });
  };
  run().catch((e: unknown) => reply({ step: m.step, ok: false, error: e instanceof Error ? e.message : String(e) }));
});
