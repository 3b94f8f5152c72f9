// `npm run bench:watches`: many sessions and watches on one standalone server (issue 17 item 5),
// Ark and then Apache ZooKeeper 3.8 on the same harness: BENCH_WATCH_PROCS client processes
// (bench/watch-worker.ts, Ark's client) open BENCH_WATCH_SESSIONS sessions in all; every session
// leaves a data watch on each of BENCH_WATCH_NODES znodes (sessions x nodes watches) and holds one
// ephemeral. Measured:
//   - the time to open the sessions, and to set the watches;
//   - memory per session and per watch (heap after a full GC: Node's via the inspector, the JVM's
//     via jcmd; see bench/memory.ts), from the differences between the steps;
//   - one setData that fires a watch in every session: the time from the call until the last
//     session has its event (the workers report when their last one arrived);
//   - every client process killed at once (kill -9): the time until the server has expired every
//     session (the last ephemeral gone), and how much of it is beyond the session timeout.
// Both servers: maxClientCnxns=0 (no per-address limit; every client is on 127.0.0.1), tickTime
// 2000. ZooKeeper gets BENCH_ZK_HEAP (4g) with the JVM's default GC, as zkServer.sh runs it.
// Run with --experimental-websocket (Node 20), as the npm script does: Ark's heap is read through
// the inspector's WebSocket.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, type ZooKeeperClient } from '../src/client/zookeeper.js';
import { freePort, startArk, type RunningServer } from '../test/helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../test/helpers/zookeeper.js';
import { javaMemory, nodeMemory, type Memory } from './memory.js';
import type { WorkerReply, WorkerStep } from './watch-worker.js';

const env = (k: string, d: number): number => (process.env[k] === undefined ? d : Number(process.env[k]));
const SESSIONS = env('BENCH_WATCH_SESSIONS', 10_000);
const PROCS = env('BENCH_WATCH_PROCS', 4);
const NODES = env('BENCH_WATCH_NODES', 100);
const SESSION_TIMEOUT_MS = env('BENCH_WATCH_SESSION_TIMEOUT_MS', 20_000);
const TARGETS = (process.env.BENCH_TARGETS ?? 'ark,zookeeper').split(',');
const ZK_HEAP = process.env.BENCH_ZK_HEAP ?? '4g';
const WORKER = fileURLToPath(new URL('./watch-worker.js', import.meta.url));

interface Row {
  system: string;
  openSeconds: number;
  watchSeconds: number;
  perSessionBytes: number;
  perWatchBytes: number;
  fireMs: number;
  setDataMs: number;
  expiryFirstSeconds: number;
  expirySeconds: number;
}

/** A worker process with a promise per reply it is waiting for. */
class Worker {
  readonly proc: ChildProcess;
  private waiting: Array<{ step: string; resolve: (at: number) => void; reject: (e: Error) => void }> = [];

  constructor() {
    this.proc = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (r: WorkerReply) => {
      const i = this.waiting.findIndex((w) => w.step === r.step);
      if (i < 0) return;
      const [w] = this.waiting.splice(i, 1);
      if (r.ok) w!.resolve(r.at);
      else w!.reject(new Error(`worker ${this.proc.pid}, step ${r.step}: ${r.error}`));
    });
    this.proc.on('exit', (code, signal) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`worker exited (${code ?? signal}) before ${w.step}`));
    });
  }

  /** Resolves with the worker's clock (ms) when it answered `step`. */
  expect(step: string): Promise<number> {
    return new Promise((resolve, reject) => this.waiting.push({ step, resolve, reject }));
  }

  send(m: WorkerStep): Promise<number> {
    const done = this.expect(m.step);
    this.proc.send(m);
    return done;
  }
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** Polls until `path` has no children: the seconds since t0 when the first one went, and when the last did. */
async function untilNoChildren(c: ZooKeeperClient, path: string, t0: number): Promise<{ first: number; last: number }> {
  const start = await c.getAllChildrenNumber(path);
  let first = 0;
  for (;;) {
    const n = await c.getAllChildrenNumber(path);
    if (n < start && first === 0) first = seconds(t0);
    if (n === 0) return { first, last: seconds(t0) };
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function measureSystem(system: 'Ark' | 'ZooKeeper'): Promise<Row> {
  const cfg = { maxClientCnxns: 0 };
  const inspectPort = await freePort();
  const server: RunningServer =
    system === 'Ark'
      ? await startArk({ cfg, env: { ARK_LOG_LEVEL: 'warn', NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` } })
      : await startZooKeeper({ cfg: { ...cfg, preAllocSize: 65536 }, heap: ZK_HEAP, production: true });
  const pid = server.process.pid!;
  const memory = (): Promise<Memory> => (system === 'Ark' ? nodeMemory(inspectPort, pid) : Promise.resolve(javaMemory(pid)));
  const admin = await connect(server.connectString, { sessionTimeoutMs: 30_000 });
  const workers = Array.from({ length: PROCS }, () => new Worker());
  try {
    const paths = Array.from({ length: NODES }, (_, i) => `/w/n${i}`);
    await admin.create('/w');
    await admin.create('/e');
    for (const p of paths) await admin.create(p, Buffer.from('v0'));
    const base = await memory();

    let t0 = performance.now();
    const share = (i: number): number => Math.floor(SESSIONS / PROCS) + (i < SESSIONS % PROCS ? 1 : 0);
    await Promise.all(
      workers.map((w, i) =>
        w.send({ step: 'open', connectString: server.connectString, sessions: share(i), sessionTimeoutMs: SESSION_TIMEOUT_MS }),
      ),
    );
    const openSeconds = seconds(t0);
    const opened = await memory();

    t0 = performance.now();
    await Promise.all(workers.map((w) => w.send({ step: 'watch', paths })));
    const watchSeconds = seconds(t0);
    const watched = await memory();
    await Promise.all(workers.map((w, i) => w.send({ step: 'ephemerals', dir: '/e', prefix: `p${i}` })));

    const armed = workers.map((w) => w.expect('armed'));
    const fired = workers.map((w) => w.expect('fired'));
    for (const w of workers) w.proc.send({ step: 'arm', path: paths[0]! } satisfies WorkerStep);
    await Promise.all(armed);
    const firedAt = Date.now();
    await admin.setData(paths[0]!, Buffer.from('v1'));
    const setDataMs = Date.now() - firedAt;
    const fireMs = Math.max(...(await Promise.all(fired))) - firedAt;

    t0 = performance.now();
    for (const w of workers) w.proc.kill('SIGKILL');
    const expiry = await untilNoChildren(admin, '/e', t0);

    const row: Row = {
      system,
      openSeconds,
      watchSeconds,
      perSessionBytes: (opened.heapBytes - base.heapBytes) / SESSIONS,
      perWatchBytes: (watched.heapBytes - opened.heapBytes) / (SESSIONS * NODES),
      fireMs,
      setDataMs,
      expiryFirstSeconds: expiry.first,
      expirySeconds: expiry.last,
    };
    console.log(`${system}: ${JSON.stringify(row)}`);
    return row;
  } finally {
    for (const w of workers) w.proc.kill('SIGKILL');
    await admin.close().catch(() => undefined);
    await server.stop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  if (TARGETS.includes('ark')) rows.push(await measureSystem('Ark'));
  if (TARGETS.includes('zookeeper')) {
    const missing = zookeeperMissing();
    if (missing) console.log(`ZooKeeper skipped: ${missing}`);
    else rows.push(await measureSystem('ZooKeeper'));
  }
  const watches = SESSIONS * NODES;
  console.log(
    `\n${SESSIONS} sessions from ${PROCS} processes, each watching ${NODES} znodes (${watches} watches); session timeout ${SESSION_TIMEOUT_MS} ms\n`,
  );
  console.log(
    '| | open sessions | set watches | heap per session | heap per watch | setData firing every session: last event | sessions expired after kill -9: first-last |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.system} | ${r.openSeconds.toFixed(1)} s | ${r.watchSeconds.toFixed(1)} s | ${r.perSessionBytes.toFixed(0)} B | ${r.perWatchBytes.toFixed(0)} B | ${r.fireMs} ms (setData reply ${r.setDataMs} ms) | ${r.expiryFirstSeconds.toFixed(1)}-${r.expirySeconds.toFixed(1)} s (timeout ${SESSION_TIMEOUT_MS / 1000} s) |`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
