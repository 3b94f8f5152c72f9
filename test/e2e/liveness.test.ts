// /health answers whenever the process runs, and /ready says why not, while a large data dir
// loads at start and while an online restore replaces the tree (a liveness probe must not kill a
// healthy server that is busy): real `ark server` processes, probed as an orchestrator would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { writeFileSync } from 'node:fs';
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
    tree.apply(
      { sessionId: 0n, cxid: 0, zxid, time: 1_700_000_000_000, type: OpCode.create },
      { type: OpCode.create, path: `/p${p}`, data, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: p + 1 },
      [],
    );
    for (let c = 0; c < 999 && zxid < n; c++) {
      zxid++;
      tree.apply(
        { sessionId: 0n, cxid: 0, zxid, time: 1_700_000_000_000, type: OpCode.create },
        { type: OpCode.create, path: `/p${p}/c${c}`, data, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: c + 1 },
        [],
      );
    }
  }
  const dd = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 20 });
  dd.prepare();
  await dd.writeSnapshot(tree, [], { gzip: false, now: Date.now() });
  return dir;
}

interface Answer {
  status: number;
  body: string;
}

function get(port: number, path: string, timeoutMs: number): Promise<Answer | null> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(null);
    });
    req.on('error', () => resolve(null));
  });
}

/**
 * Probes /health and /ready until `done()`: every /health once the AdminServer listens must be a
 * 200 within `timeoutMs`; returns the /ready answers seen meanwhile.
 */
async function probeWhile(
  port: number,
  done: () => boolean,
  timeoutMs: number,
  command?: string,
): Promise<{ ready: Answer[]; healthProbes: number; commands: Answer[] }> {
  const ready: Answer[] = [];
  const commands: Answer[] = [];
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
      const c = command ? await get(port, `/commands/${command}`, timeoutMs) : null;
      if (c) commands.push(c);
    } else {
      assert.ok(!listening || done(), `/health did not answer within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { ready, healthProbes, commands };
}

test('/health answers and /ready says why not while a large data dir loads and while an online restore runs', {
  timeout: 240000,
}, async () => {
  const dir = await bigDataDir(300_000);
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = writeCfg(tempDir('liveness-cfg'), {
    tickTime: 2000,
    dataDir: dir,
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': true,
    'admin.serverPort': adminPort,
    'admin.serverAddress': '127.0.0.1',
  });
  const proc = spawn(process.execPath, [arkBin, 'server', cfg], { stdio: 'ignore', env: { ...process.env, ARK_LOG_LEVEL: 'warn' } });
  try {
    let up = false;
    const probing = probeWhile(adminPort, () => up, 2000);
    await waitForPort('127.0.0.1', port, 120_000, proc);
    up = true;
    const atStart = await probing;
    assert.ok(atStart.healthProbes > 0, 'the AdminServer answered before the client port opened');
    assert.ok(
      atStart.ready.some((r) => r.status === 503 && /loading the data dir/.test(r.body)),
      `/ready said it is loading: ${JSON.stringify(atStart.ready.map((r) => r.body))}`,
    );

    // a backup of the 300k znodes, restored online while probing
    const file = join(dir, 'b.arkb');
    const run = promisify(execFile);
    await run(process.execPath, [arkBin, 'backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', file, '--auth', 'a:b']);
    let restored = false;
    const duringRestore = probeWhile(adminPort, () => restored, 2000);
    const r = await run(process.execPath, [
      arkBin,
      'restore',
      file,
      '--online',
      '--admin',
      `http://127.0.0.1:${adminPort}`,
      '--auth',
      'a:b',
      '--json',
    ]);
    restored = true;
    const during = await duringRestore;
    assert.equal(
      (JSON.parse(r.stdout) as { znodes: number }).znodes,
      300_000 + 4,
      'the restored tree (and /, /zookeeper, its quota and config nodes)',
    );
    assert.ok(
      during.ready.some((x) => x.status === 503 && /online restore/.test(x.body)),
      `/ready said a restore is running: ${JSON.stringify(during.ready.map((x) => x.body))}`,
    );
    assert.equal((await get(adminPort, '/ready', 2000))?.status, 200);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
});

test('an ensemble member answers AdminServer commands with 503 "loading" while its data dir loads, never an error', {
  timeout: 240000,
}, async () => {
  // one member of three, started alone: it loads, then looks for the others
  const dir = await bigDataDir(200_000);
  writeFileSync(join(dir, 'myid'), '1\n');
  const [port, adminPort, q1, e1, q2, e2, q3, e3] = await Promise.all(Array.from({ length: 8 }, () => freePort()));
  const cfg = writeCfg(tempDir('liveness-member'), {
    tickTime: 2000,
    initLimit: 10,
    syncLimit: 5,
    dataDir: dir,
    clientPort: port!,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': true,
    'admin.serverPort': adminPort!,
    'admin.serverAddress': '127.0.0.1',
    'server.1': `127.0.0.1:${q1}:${e1}`,
    'server.2': `127.0.0.1:${q2}:${e2}`,
    'server.3': `127.0.0.1:${q3}:${e3}`,
  });
  const proc = spawn(process.execPath, [arkBin, 'server', cfg], { stdio: 'ignore', env: { ...process.env, ARK_LOG_LEVEL: 'warn' } });
  try {
    let loaded = false;
    const probing = probeWhile(adminPort!, () => loaded, 2000, 'conf');
    // loaded once /ready stops saying so (the member then waits for a quorum)
    while (!loaded) {
      const r = await get(adminPort!, '/ready', 2000);
      loaded = r !== null && !/loading the data dir/.test(r.body);
      if (proc.exitCode !== null) throw new Error(`the member exited with ${proc.exitCode}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    const seen = await probing;
    assert.ok(
      seen.commands.some((c) => c.status === 503 && /loading the data dir/.test(c.body)),
      `conf said it is loading: ${JSON.stringify(seen.commands.map((c) => [c.status, c.body.slice(0, 80)]))}`,
    );
    assert.ok(
      seen.commands.every((c) => c.status === 503 || c.status === 200),
      `no command failed while loading: ${JSON.stringify(seen.commands.filter((c) => c.status !== 503 && c.status !== 200))}`,
    );
    const after = await get(adminPort!, '/commands/conf', 2000);
    assert.equal(after?.status, 200, `conf once loaded: ${after?.body}`);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
});
