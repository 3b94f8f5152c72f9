// A user's first program, unchanged (kept in test/fixtures/examples): ZookeeperBackup.java connects to the
// hard-coded localhost:2181, reads /zookeeper with a watch and prints it. It must behave the
// same against Apache ZooKeeper and Ark. Both servers are started on port 2181, so the test
// skips (with the reason printed) when that port is taken.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { arkBin, repoRoot, requireOrSkip, tempDir, waitForPort, wrapProcess, writeCfg, type RunningServer } from '../helpers/servers.js';
import {
  INTEROP_CFG,
  compileJava,
  describeJava,
  javaClientMissing,
  runJava,
  startZooKeeper,
  zookeeperMissing,
  type JavaResult,
} from '../helpers/zookeeper.js';

const PORT = 2181;
const examplePath = resolve(repoRoot, 'test', 'fixtures', 'examples', 'ZookeeperBackup.java');

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/**
 * Ark on a fixed port. (startArk always waits on the port it picked itself, so a clientPort
 * given through cfg would not be waited for.)
 */
async function startArkOnPort(port: number): Promise<RunningServer> {
  const host = '127.0.0.1';
  const dataDir = tempDir('data');
  mkdirSync(dataDir, { recursive: true });
  const cfgDir = tempDir('cfg');
  const cfgFile = writeCfg(cfgDir, {
    tickTime: 2000,
    dataDir,
    clientPort: port,
    clientPortAddress: host,
    'admin.enableServer': false,
    '4lw.commands.whitelist': '*',
    ...INTEROP_CFG,
  });
  const proc = spawn(process.execPath, [arkBin, 'server', cfgFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ARK_LOG_LEVEL: process.env.ARK_LOG_LEVEL ?? 'warn' },
  });
  const server = wrapProcess('ark', proc, host, port, dataDir);
  try {
    await waitForPort(host, port, 20000, proc);
  } catch (e) {
    await server.kill();
    rmSync(cfgDir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${server.output()}`);
  }
  const stop = server.stop.bind(server);
  return {
    ...server,
    async stop(o) {
      const code = await stop(o);
      rmSync(cfgDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Reason to skip, or null. */
async function prerequisites(needZooKeeper: boolean): Promise<string | false> {
  // the program is committed: without it there is nothing to run, which is a failure, not a skip
  assert.ok(existsSync(examplePath), `the example program ${examplePath} is committed`);
  const missing = requireOrSkip((needZooKeeper ? zookeeperMissing() : null) ?? javaClientMissing());
  if (missing) return missing;
  if (!(await portFree(PORT))) {
    const reason = `port ${PORT} is in use on 127.0.0.1; the example has localhost:${PORT} hard-coded`;
    console.log(`# skipping: ${reason}`);
    return reason;
  }
  return false;
}

async function runExample(t: TestContext, server: RunningServer): Promise<JavaResult> {
  try {
    const classDir = await compileJava([examplePath]);
    const r = await runJava(classDir, 'ZookeeperBackup', [], 30000);
    t.diagnostic(`${server.name}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, ${r.ms} ms`);
    return r;
  } finally {
    await server.stop();
  }
}

describe("a user's example ZookeeperBackup.java (localhost:2181)", () => {
  let zk: JavaResult | undefined;

  test('against Apache ZooKeeper 3.8', { timeout: 120000 }, async (t) => {
    const skip = await prerequisites(true);
    if (skip) {
      t.skip(skip);
      return;
    }
    zk = await runExample(t, await startZooKeeper({ cfg: { clientPort: PORT } }));
    assert.equal(zk.code, 0, describeJava(zk));
    assert.equal(zk.stdout, 'Backup data: \n');
  });

  test('against Ark: same output, exit 0', { timeout: 120000 }, async (t) => {
    const skip = await prerequisites(false);
    if (skip) {
      t.skip(skip);
      return;
    }
    const ark = await runExample(t, await startArkOnPort(PORT));
    assert.equal(ark.code, 0, describeJava(ark));
    assert.equal(ark.stdout, zk?.stdout ?? 'Backup data: \n');
  });
});
