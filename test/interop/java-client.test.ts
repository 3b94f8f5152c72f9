// Runs ArkInterop.java (the real ZooKeeper 3.8 Java client exercising node types, versions,
// watches, persistent watches, multi, ACLs, sessions, containers and TTLs) against Apache
// ZooKeeper — proving the checks themselves are right — and against Ark.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
import {
  INTEROP_CFG,
  compileJava,
  describeJava,
  interopJavaDir,
  javaClientMissing,
  runJava,
  startZooKeeper,
  zookeeperMissing,
} from '../helpers/zookeeper.js';

async function runInterop(t: TestContext, server: RunningServer): Promise<void> {
  try {
    const classDir = await compileJava([join(interopJavaDir, 'ArkInterop.java')]);
    const r = await runJava(classDir, 'ArkInterop', [server.connectString], 90000);
    for (const line of r.stdout.trim().split('\n')) t.diagnostic(line);
    assert.equal(r.code, 0, `ArkInterop against ${server.name}: ${describeJava(r)}\n--- ${server.name} output ---\n${server.output()}`);
    assert.match(r.stdout, /^done: all checks passed/m);
  } finally {
    await server.stop();
  }
}

describe('ZooKeeper Java client interop (ArkInterop)', () => {
  test('against Apache ZooKeeper 3.8', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(zookeeperMissing() ?? javaClientMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    await runInterop(t, await startZooKeeper());
  });

  test('against Ark', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(javaClientMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    await runInterop(t, await startArk({ cfg: { ...INTEROP_CFG } }));
  });
});
