// Backups that leave the machine (issue 15), at BENCH_DR_ZNODES (default 1,000,000) znodes of
// 100 bytes on a standalone server: an online backup to a local dir and to an S3 API server
// (s3rver, on this machine: the object store's cost is its protocol and streaming, not a WAN),
// the same encrypted to an age recipient, an offline restore from each, and a diff of two
// backups that differ in 1% of their znodes. Beside it, where the tools install from Debian:
// `etcdctl snapshot save` of the same number of 100-byte keys (etcd 3.4). Consul is not packaged
// by Debian 12, so `consul snapshot save` is not measured.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ZkClient } from '../src/client/client.js';
import { arkBin, freePort, startArk, tempDir } from '../test/helpers/servers.js';
import { startS3, type RunningS3 } from '../test/helpers/s3.js';
import { populateZnodes } from './populate.js';

const ZNODES = process.env.BENCH_DR_ZNODES === undefined ? 1_000_000 : Number(process.env.BENCH_DR_ZNODES);
const run = promisify(execFile);

interface Timed {
  seconds: number;
  out: string;
}

async function timed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const t0 = performance.now();
  const r = await run(process.execPath, [arkBin, ...args], { env: { ...process.env, ...env }, maxBuffer: 256 << 20 });
  return { seconds: (performance.now() - t0) / 1000, out: r.stdout };
}

/**
 * `ark ARGS` to its end, timed, with the peak resident set of the child (through /usr/bin/time)
 * in MiB. Exit codes in `ok` count as success (diff exits 1 when the two differ, as diff(1)).
 */
async function timedWithRss(args: string[], env: NodeJS.ProcessEnv = {}, ok: number[] = [0]): Promise<Timed & { rssMiB: number | null }> {
  const withTime = existsSync('/usr/bin/time');
  const [cmd, argv] = withTime
    ? ['/usr/bin/time', ['-f', 'RSS_KB=%M', process.execPath, arkBin, ...args]]
    : [process.execPath, [arkBin, ...args]];
  const t0 = performance.now();
  const r = await run(cmd, argv as string[], { env: { ...process.env, ...env }, maxBuffer: 256 << 20 }).catch(
    (e: { code?: number; stdout: string; stderr: string }) => {
      if (e.code !== undefined && ok.includes(e.code)) return { stdout: e.stdout, stderr: e.stderr };
      throw e;
    },
  );
  const kb = /RSS_KB=(\d+)/.exec(r.stderr)?.[1];
  return { seconds: (performance.now() - t0) / 1000, out: r.stdout, rssMiB: kb ? Number(kb) / 1024 : null };
}

/** Changes 1% of the znodes under root (spread over the tree), for the diff. */
async function touchOnePercent(port: number, root: string): Promise<number> {
  const c = await ZkClient.connect({ port });
  try {
    let changed = 0;
    const groups = (await c.getChildren(root)).sort();
    for (const g of groups) {
      const kids = (await c.getChildren(`${root}/${g}`)).sort();
      for (let i = 0; i < kids.length; i += 100) {
        await c.setData(`${root}/${g}/${kids[i]}`, Buffer.from(`changed ${i}`), -1);
        changed++;
      }
    }
    return changed;
  } finally {
    await c.close();
  }
}

const mb = (f: string): string => (statSync(f).size / 1e6).toFixed(1);
const s = (x: number): string => `${x.toFixed(1)} s`;

async function arkRows(s3: RunningS3): Promise<void> {
  const s3env = { ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const bucket = 's3://bench';
  const admin = await freePort();
  const server = await startArk({
    cfg: { 'admin.enableServer': true, 'admin.serverPort': admin, 'admin.serverAddress': '127.0.0.1' },
  });
  const adminUrl = `http://127.0.0.1:${admin}`;
  const dir = tempDir('bench-dr');
  const keys = tempDir('bench-dr-keys');
  const identity = join(keys, 'key.txt');
  await run('age-keygen', ['-o', identity]);
  const recipient = (await run('age-keygen', ['-y', identity])).stdout.trim();
  try {
    const t0 = performance.now();
    await populateZnodes(server.connectString, ZNODES, '/dr');
    console.log(`Ark: populated ${ZNODES} znodes of 100 B in ${s((performance.now() - t0) / 1000)}`);
    const local = join(dir, 'a.arkb');
    const auth = ['--auth', 'bench:bench'];
    const b1 = await timed(['backup', 'create', '--admin', adminUrl, '--out', local, ...auth, '--json']);
    console.log(`backup to a local file:        ${s(b1.seconds)}  (${mb(local)} MB)`);
    const b2 = await timed(['backup', 'create', '--admin', adminUrl, '--out', `${bucket}/a.arkb`, ...auth, '--json'], s3env);
    console.log(`backup to S3 (s3rver):         ${s(b2.seconds)}`);
    const enc = join(dir, 'a.arkb.age');
    const b3 = await timed(['backup', 'create', '--admin', adminUrl, '--out', enc, '--recipient', recipient, ...auth, '--json']);
    console.log(`backup, age-encrypted, local:  ${s(b3.seconds)}  (${mb(enc)} MB)`);
    const r1 = await timedWithRss(['restore', local, '--data-dir', join(dir, 'r1'), '--json']);
    console.log(`restore from the local file:   ${s(r1.seconds)}  peak RSS ${r1.rssMiB?.toFixed(0) ?? '?'} MiB`);
    const r2 = await timedWithRss(['restore', `${bucket}/a.arkb`, '--data-dir', join(dir, 'r2'), '--json'], s3env);
    console.log(`restore from S3 (s3rver):      ${s(r2.seconds)}  peak RSS ${r2.rssMiB?.toFixed(0) ?? '?'} MiB`);
    const r3 = await timedWithRss(['restore', enc, '--identity', identity, '--data-dir', join(dir, 'r3'), '--json']);
    console.log(`restore from the encrypted:    ${s(r3.seconds)}  peak RSS ${r3.rssMiB?.toFixed(0) ?? '?'} MiB`);
    const changed = await touchOnePercent(server.port, '/dr');
    const second = join(dir, 'b.arkb');
    await timed(['backup', 'create', '--admin', adminUrl, '--out', second, ...auth, '--json']);
    const d = await timedWithRss(['backup', 'diff', local, second, '--json'], {}, [0, 1]);
    console.log(`diff of two backups (${changed} znodes changed): ${s(d.seconds)}  peak RSS ${d.rssMiB?.toFixed(0) ?? '?'} MiB`);
  } finally {
    await server.stop();
  }
}

// --- etcd 3.4 from Debian, the same number of 100-byte keys ------------------------------------

async function startEtcd(): Promise<{ proc: ChildProcess; endpoint: string; dir: string }> {
  const dir = tempDir('bench-etcd');
  const client = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${client}`;
  const proc = spawn(
    'etcd',
    [
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peer}`,
      '--max-txn-ops',
      '10000',
      '--max-request-bytes',
      String(32 << 20),
      '--quota-backend-bytes',
      String(8 << 30),
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${endpoint}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { proc, endpoint, dir };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error('etcd did not start');
}

/** Puts ZNODES keys of 100 bytes through etcd's JSON gateway, 5000 to a txn. */
async function etcdPopulate(endpoint: string): Promise<void> {
  const value = Buffer.alloc(100, 0x61).toString('base64');
  const perTxn = 5000;
  for (let first = 0; first < ZNODES; first += perTxn) {
    const success = [];
    for (let i = first; i < Math.min(ZNODES, first + perTxn); i++) {
      const key = Buffer.from(`/dr/${Math.floor(i / 1000)}/${i}`).toString('base64');
      success.push({ request_put: { key, value } });
    }
    const r = await fetch(`${endpoint}/v3/kv/txn`, { method: 'POST', body: JSON.stringify({ success }) });
    if (!r.ok) throw new Error(`etcd txn: ${r.status} ${await r.text()}`);
  }
}

async function etcdRows(): Promise<void> {
  let etcd: Awaited<ReturnType<typeof startEtcd>>;
  try {
    etcd = await startEtcd();
  } catch (e) {
    console.log(`etcd: not measured (${(e as Error).message}; apt-get install etcd-server etcd-client)`);
    return;
  }
  try {
    const t0 = performance.now();
    await etcdPopulate(etcd.endpoint);
    console.log(`etcd 3.4: put ${ZNODES} keys of 100 B in ${s((performance.now() - t0) / 1000)}`);
    const file = join(etcd.dir, 'snap.db');
    const b0 = performance.now();
    await run('etcdctl', ['--endpoints', etcd.endpoint, 'snapshot', 'save', file], { env: { ...process.env, ETCDCTL_API: '3' } });
    console.log(`etcdctl snapshot save:         ${s((performance.now() - b0) / 1000)}  (${mb(file)} MB)`);
    const r0 = performance.now();
    const restored = join(etcd.dir, 'restored');
    await run('etcdctl', ['snapshot', 'restore', file, '--data-dir', restored], { env: { ...process.env, ETCDCTL_API: '3' } });
    console.log(`etcdctl snapshot restore:      ${s((performance.now() - r0) / 1000)}  (${readdirSync(restored).length} dirs)`);
  } finally {
    etcd.proc.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  console.log(`# bench/dr: ${ZNODES} znodes of 100 B, ${new Date().toISOString()}`);
  const s3 = await startS3(['bench']);
  try {
    await arkRows(s3);
  } finally {
    await s3.stop();
  }
  await etcdRows();
  writeFileSync(join(tempDir('bench-dr-done'), 'done'), '');
}

await main();
