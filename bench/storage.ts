// Storage benchmark: snapshot write time, start-up time and resident memory at 100k and 1M znodes
// (100-byte data), measured on a real `ark server` process started on a prepared data dir.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { createWriteStream, statSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataTree } from '../src/tree/datatree.js';
import { DataDir } from '../src/storage/datadir.js';
import { OpCode, OPEN_ACL_UNSAFE } from '../src/wire/protocol.js';
import { arkBin, freePort, waitForPort, writeCfg } from '../test/helpers/servers.js';

/** GET a path of the AdminServer: status and how long it took (ms); status 0 when it did not answer in 10 s. */
function probe(port: number, path: string): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ status: 0, ms: Date.now() - t0 });
    });
    req.on('error', () => resolve({ status: -1, ms: Date.now() - t0 }));
  });
}

/** Polls /health until `done`: the longest answer once it first answered, and whether any failed after that. */
async function healthWhile(port: number, done: () => boolean): Promise<{ maxMs: number; failures: number }> {
  let maxMs = 0;
  let failures = 0;
  let up = false;
  while (!done()) {
    const r = await probe(port, '/health');
    if (r.status === 200) {
      up = true;
      maxMs = Math.max(maxMs, r.ms);
    } else if (up) failures++;
    await new Promise((res) => setTimeout(res, 20));
  }
  return { maxMs, failures };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function measure(n: number): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'ark-bench-storage-'));
  const tree = new DataTree();
  const data = Buffer.alloc(100, 0x61);
  const fanout = Math.ceil(Math.sqrt(n));
  let zxid = 0;
  const apply = (path: string, parentCVersion: number): void => {
    zxid++;
    tree.apply(
      { sessionId: 0n, cxid: 0, zxid, time: 1_700_000_000_000 + zxid, type: OpCode.create },
      { type: OpCode.create, path, data, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion },
      [],
    );
  };
  const t0 = Date.now();
  for (let p = 0; p < fanout && zxid < n; p++) {
    apply(`/p${p}`, p + 1);
    for (let c = 0; c < fanout - 1 && zxid < n; c++) apply(`/p${p}/c${c}`, c + 1);
  }
  const buildMs = Date.now() - t0;
  const dd = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 20 });
  dd.prepare();
  const snap = await dd.writeSnapshot(tree, [], { gzip: false, now: Date.now() });
  const gz = await dd.writeSnapshot(tree, [], { gzip: true, now: Date.now() });
  rmSync(gz.file);
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = writeCfg(dir, {
    tickTime: 2000,
    dataDir: dir,
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': true,
    'admin.serverPort': adminPort,
    'admin.serverAddress': '127.0.0.1',
  });
  const started = Date.now();
  const proc = spawn(process.execPath, [arkBin, 'server', cfg], { stdio: 'ignore', env: { ...process.env, ARK_LOG_LEVEL: 'warn' } });
  let listening = false;
  const startHealth = healthWhile(adminPort, () => listening);
  await waitForPort('127.0.0.1', port, 300_000, proc);
  listening = true;
  const startMs = Date.now() - started;
  const healthAtStart = await startHealth;
  await new Promise((r) => setTimeout(r, 500));
  const rss = rssBytes(proc.pid!);
  // an online backup through the AdminServer, sampling the server's memory meanwhile
  let peak = rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(proc.pid!));
  }, 20);
  const backupFile = join(dir, 'bench.arkb');
  const b0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    httpGet(
      `http://127.0.0.1:${adminPort}/commands/snapshot?streaming=true`,
      { headers: { authorization: 'digest bench:bench' } },
      (res) => {
        pipeline(res, createWriteStream(backupFile)).then(resolve, reject);
      },
    ).on('error', reject);
  });
  const backupMs = Date.now() - b0;
  clearInterval(sampler);
  const backupBytes = statSync(backupFile).size;
  const r0 = Date.now();
  execFileSync(process.execPath, [arkBin, 'restore', backupFile, '--data-dir', join(dir, 'restored')], { stdio: 'ignore' });
  const restoreMs = Date.now() - r0;
  // an online restore of that backup into the running server: its memory, and /health meanwhile
  let restorePeak = rssBytes(proc.pid!);
  const restoreSampler = setInterval(() => {
    restorePeak = Math.max(restorePeak, rssBytes(proc.pid!));
  }, 20);
  let restored = false;
  const restoreHealth = healthWhile(adminPort, () => restored);
  const o0 = Date.now();
  // (not execFileSync: this process must keep polling /health meanwhile)
  await promisify(execFile)(process.execPath, [
    arkBin,
    'restore',
    backupFile,
    '--online',
    '--admin',
    `http://127.0.0.1:${adminPort}`,
    '--auth',
    'bench:bench',
  ]);
  const onlineMs = Date.now() - o0;
  restored = true;
  clearInterval(restoreSampler);
  const healthInRestore = await restoreHealth;
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return {
    znodes: String(tree.nodeCount),
    'build tree (s)': (buildMs / 1000).toFixed(2),
    'snapshot write (s)': (snap.ms / 1000).toFixed(2),
    'snapshot MB': (snap.bytes / 1e6).toFixed(1),
    'gzip snapshot (s)': (gz.ms / 1000).toFixed(2),
    'gzip MB': (gz.bytes / 1e6).toFixed(1),
    'start-up (s)': (startMs / 1000).toFixed(2),
    'RSS after start (MB)': (rss / 1e6).toFixed(0),
    'RSS per znode (B)': (rss / tree.nodeCount).toFixed(0),
    'online backup (s)': (backupMs / 1000).toFixed(2),
    'backup MB': (backupBytes / 1e6).toFixed(1),
    'backup znodes/s': Math.round(tree.nodeCount / (backupMs / 1000)).toLocaleString('en'),
    'peak RSS in backup (MB)': (peak / 1e6).toFixed(0),
    'restore (s)': (restoreMs / 1000).toFixed(2),
    'online restore (s)': (onlineMs / 1000).toFixed(2),
    'peak RSS in online restore (MB)': (restorePeak / 1e6).toFixed(0),
    'slowest /health, start (ms)': String(healthAtStart.maxMs) + (healthAtStart.failures ? ` (${healthAtStart.failures} failed)` : ''),
    'slowest /health, restore (ms)':
      String(healthInRestore.maxMs) + (healthInRestore.failures ? ` (${healthInRestore.failures} failed)` : ''),
  };
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_ZNODES ?? '100000,1000000').split(',').map(Number);
  const rows: Array<Record<string, string>> = [];
  for (const n of sizes) rows.push(await measure(n));
  const keys = Object.keys(rows[0]!);
  console.log(`\n${'storage'.padEnd(32)}${rows.map((r) => r.znodes!.padStart(12)).join('')}`);
  for (const k of keys.slice(1)) console.log(`${k.padEnd(32)}${rows.map((r) => r[k]!.padStart(12)).join('')}`);
  console.log('\nStart-up = spawn to listening: load the snapshot, check its CRC and digest, build the tree.');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
