// kazoo's own tests (kazoo.tests, shipped by Debian's python3-kazoo), unchanged, against a
// 3-member Apache ZooKeeper 3.8 ensemble and a 3-member Ark one. kazoo's harness starts its
// servers itself as `java ... QuorumPeerMain zoo.cfg`: for ZooKeeper that is the real java with
// ZooKeeper's jars; for Ark a `java` stand-in first on PATH (test/helpers/quorumpeermain.ts) that
// runs `ark server` on the same zoo.cfg, with the JVM properties kazoo passes (among them
// -Dreadonlymode.enabled=true) as the zoo.cfg keys Ark reads. test/interop/kazoo/kazoo_suite.py
// runs the named tests with unittest.
//
// kazoo 2.8's TestReadOnlyMode.test_read_only keeps the session it made while the ensemble had a
// quorum. ZooKeeper 3.8's read-only server refuses an ensemble's (global) session ("Refusing
// global session reconnection in RO mode") and, unless localSessionsEnabled=true, cannot make a
// new session either (it answers the ConnectRequest with a bare NotReadOnly reply header). So the
// test passes on ZooKeeper only with localSessionsEnabled=true, where the kazoo session was a local
// one the read-only server does not know: it is told the session expired and starts a new one.
// With ZooKeeper's defaults it fails at `assert ev.is_set()`. Ark's sessions are global (it has no
// local sessions outside read-only mode), its read-only server refuses them as ZooKeeper does, and
// the test fails there at the same assertion. kazoo_readonly.py's TestReadOnlyNewSession runs on
// kazoo's same harness with a session made after the quorum is lost, through the move back to
// read-write: it passes on ZooKeeper and on Ark.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { requireOrSkip } from '../helpers/servers.js';
import { zookeeperMissing } from '../helpers/zookeeper.js';
import { kazooMissing } from '../helpers/kazoo.js';
import { runKazooSuite, type SuiteJava } from '../helpers/kazoosuite.js';

const KAZOO_READ_ONLY = 'kazoo.tests.test_connection.TestReadOnlyMode';
const NEW_SESSION = 'kazoo_readonly.TestReadOnlyNewSession';
/** where kazoo 2.8's test_read_only fails on ZooKeeper 3.8: it waits 6 s for a read-only connection of its old session */
const KAZOO_FAILS_AT = /line 294, in test_read_only\n\s+assert ev\.is_set\(\)\nAssertionError/;

/** Runs kazoo's TestReadOnlyMode-like `test` (its test_read_only) on `java`. */
async function runKazooTest(test: string, java: SuiteJava): Promise<{ outcome: string | undefined; stdout: string; report: string }> {
  const r = await runKazooSuite(test, java);
  return { outcome: r.results.get(`${test}.test_read_only`), stdout: r.stdout, report: r.report };
}

async function outcomes(t: TestContext, java: SuiteJava, tests: string[]): Promise<Map<string, Awaited<ReturnType<typeof runKazooTest>>>> {
  const out = new Map<string, Awaited<ReturnType<typeof runKazooTest>>>();
  for (const name of tests) {
    const r = await runKazooTest(name, java);
    t.diagnostic(`${name}: ${r.outcome}`);
    out.set(name, r);
  }
  return out;
}

describe("kazoo's own TestReadOnlyMode, and read-only mode on kazoo's harness", () => {
  const needZooKeeper = (t: TestContext): boolean => {
    const skip = requireOrSkip(kazooMissing() ?? zookeeperMissing());
    if (skip) t.skip(skip);
    return skip === false;
  };

  test('Apache ZooKeeper 3.8 with localSessionsEnabled=true: both pass', { timeout: 240000 }, async (t) => {
    if (!needZooKeeper(t)) return;
    const r = await outcomes(t, 'zookeeper-local-sessions', [NEW_SESSION, KAZOO_READ_ONLY]);
    for (const [name, x] of r) assert.equal(x.outcome, 'ok', `${name}\n${x.report}`);
  });

  test("Apache ZooKeeper 3.8 as configured by default: kazoo's test fails, its session refused", { timeout: 240000 }, async (t) => {
    if (!needZooKeeper(t)) return;
    const x = (await outcomes(t, 'zookeeper', [KAZOO_READ_ONLY])).get(KAZOO_READ_ONLY)!;
    assert.equal(x.outcome, 'FAIL', x.report);
    assert.match(x.stdout, KAZOO_FAILS_AT, x.report);
    assert.match(x.stdout, /Refusing global session reconnection in RO mode/, x.report);
  });

  test("Ark: a new session is served read-only and moved to read-write; kazoo's test fails as on ZooKeeper with global sessions", {
    timeout: 240000,
  }, async (t) => {
    const skip = requireOrSkip(kazooMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const r = await outcomes(t, 'ark', [NEW_SESSION, KAZOO_READ_ONLY]);
    const fresh = r.get(NEW_SESSION)!;
    assert.equal(fresh.outcome, 'ok', fresh.report);
    const kazoo = r.get(KAZOO_READ_ONLY)!;
    assert.equal(kazoo.outcome, 'FAIL', kazoo.report);
    assert.match(kazoo.stdout, KAZOO_FAILS_AT, kazoo.report);
  });
});
