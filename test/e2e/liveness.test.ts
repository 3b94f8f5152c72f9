// /health answers whenever the process runs, and /ready says why not, while a large data dir
// loads at start and while an online restore replaces the tree (a liveness probe must not kill a
// healthy server that is busy): real `ark server` processes, probed as an orchestrator would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataTree } from '../../src/tree/datatree.js';
import { DataDir } from '../../src/storage/datadir.js';
import { OpCode, OPEN_ACL_UNSAFE } from '../../src/wire/protocol.js';
import { arkBin, freePort, tempDir, waitForPort, writeCfg } from '../helpers/servers.js';

/** A data dir holding one snapshot of `n` znodes of 100 bytes: a slow start to watch. */
async function bigDataDir(n: number): Promise<string> {
  const dir = tempDir('liveness');
  const tree = new DataTree();
  const data = Buffer.alloc(100, 0x61);
  let zxid = 0;
  for (let p = 0; zxid < n; p++) {
    zxid++;
    tree.apply({ sessionId: 0n, cxid: 0, zxid, time: 1_700_000_000_000, type: OpCode.create }, { type: OpCode.create, path: `/p${p}`, data, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: p + 1 }, []);
    for (let c = 0; c < 999 && zxid < n; c++) {
      zxid++;
      tree.apply({ sessionId: 0n, cxid: 0, zxid, time: 1_700_000_000_000, type: OpCode.create }, { type: OpCode.create, path: `/p${p}/c${c}`, data, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: c + 1 }, []);
    }
  }
  const dd = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 20 });
  dd.prepare();
  await dd.writeSnapshot(tree, [], { gzip: false, now: Date.now() });
  return dir;
}

interface Answer { status: number; body: string }

function get(port: number, path: string, timeoutMs: number): Promise<Answer | null> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => { req.destroy(); resolve(null); });
    req.on('error', () => resolve(null));
  });
}

/**
 * Probes /health and /ready until `done()`: every /health once the AdminServer listens must be a
 * 200 within `timeoutMs`; returns the /ready answers seen meanwhile.
 */
async function probeWhile(port: number, done: () => boolean, timeoutMs: number): Promise<{ ready: Answer[]; healthProbes: number }> {
  const ready: Answer[] = [];
  let healthProbes = 0;
  let listening = false;
  while (!done()) {
    const h = await get(port, '/health', timeoutMs);
    if (h) {
      listening = true;
      assert.equal(h.status, 200, `/health: ${h.body}`);
      healthProbes++;
      const r = await get(port, '/ready', timeoutMs);
      if (r) ready.push(r);
    } else {
      assert.ok(!listening || done(), `/health did not answer within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { ready, healthProbes };
}

test('/health answers and /ready says why not while a large data dir loads and while an online restore runs', { timeout: 240000 }, async () => {
  const dir = await bigDataDir(300_000);
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = writeCfg(tempDir('liveness-cfg'), {
    tickTime: 2000, dataDir: dir, clientPort: port, clientPortAddress: '127.0.0.1',
    'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1',
  });
  const proc = spawn(process.execPath, [arkBin, 'server', cfg], { stdio: 'ignore', env: { ...process.env, ARK_LOG_LEVEL: 'warn' } });
  try {
    let up = false;
    const probing = probeWhile(adminPort, () => up, 2000);
    await waitForPort('127.0.0.1', port, 120_000, proc);
    up = true;
    const atStart = await probing;
    assert.ok(atStart.healthProbes > 0, 'the AdminServer answered before the client port opened');
    assert.ok(atStart.ready.some((r) => r.status === 503 && /loading the data dir/.test(r.body)), `/ready said it is loading: ${JSON.stringify(atStart.ready.map((r) => r.body))}`);

    // a backup of the 300k znodes, restored online while probing
    const file = join(dir, 'b.arkb');
    const run = promisify(execFile);
    await run(process.execPath, [arkBin, 'backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', file, '--auth', 'a:b']);
    let restored = false;
    const duringRestore = probeWhile(adminPort, () => restored, 2000);
    const r = await run(process.execPath, [arkBin, 'restore', file, '--online', '--admin', `http://127.0.0.1:${adminPort}`, '--auth', 'a:b', '--json']);
    restored = true;
    const during = await duringRestore;
    assert.equal((JSON.parse(r.stdout) as { znodes: number }).znodes, 300_000 + 4, 'the restored tree (and /, /zookeeper, its quota and config nodes)');
    assert.ok(during.ready.some((x) => x.status === 503 && /online restore/.test(x.body)), `/ready said a restore is running: ${JSON.stringify(during.ready.map((x) => x.body))}`);
    assert.equal((await get(adminPort, '/ready', 2000))?.status, 200);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
});
