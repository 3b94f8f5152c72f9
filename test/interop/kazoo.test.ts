// Runs test/interop/kazoo/kazoo_interop.py (kazoo 2.8, Python: CRUD with versions and errors,
// ephemeral and sequential nodes, one-shot watches, DataWatch/ChildrenWatch, transactions,
// digest ACLs, and the Lock, Election, Barrier, DoubleBarrier, Queue, LockingQueue, Counter,
// TreeCache, Party and Semaphore recipes) against Apache ZooKeeper — proving the checks are
// right — and against Ark. Uses Debian's /usr/bin/python3 (which has python3-kazoo), not
// whatever python3 is first on PATH; override with ARK_KAZOO_PYTHON.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
import { INTEROP_CFG, startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { describeTool } from '../helpers/clitools.js';
import { kazooMissing, runKazooScript } from '../helpers/kazoo.js';

async function runKazoo(t: TestContext, server: RunningServer): Promise<void> {
  try {
    const r = await runKazooScript('kazoo_interop.py', [server.connectString], 90000);
    for (const line of r.stdout.trim().split('\n')) t.diagnostic(line);
    const failed = r.stdout.split('\n').find((l) => l.startsWith('FAIL')) ?? '(no FAIL line)';
    assert.equal(
      r.code,
      0,
      `kazoo_interop.py against ${server.name}: ${failed}\n${describeTool(r)}\n--- ${server.name} output ---\n${server.output()}`,
    );
    assert.match(r.stdout, /^done: all checks passed/m);
  } finally {
    await server.stop();
  }
}

describe('kazoo 2.8 (Python) interop', () => {
  test('against Apache ZooKeeper 3.8', { timeout: 150000 }, async (t) => {
    const skip = requireOrSkip(kazooMissing() ?? zookeeperMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    await runKazoo(t, await startZooKeeper());
  });

  test('against Ark', { timeout: 150000 }, async (t) => {
    const skip = requireOrSkip(kazooMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    await runKazoo(t, await startArk({ cfg: { ...INTEROP_CFG } }));
  });
});
