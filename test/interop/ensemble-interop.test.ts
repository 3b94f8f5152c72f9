// The interop suites against a 3-server Ark ensemble (three `ark server zoo.cfg` processes on
// loopback, see helpers/ensemble.ts), plus a leader failover while clients are connected:
//   1. ArkInterop.java (the real ZooKeeper 3.8 Java client), unchanged, through a follower;
//   2. kazoo_interop.py (kazoo 2.8), unchanged, through a follower;
//   3. EnsembleFailover.java: a Java session on the leader with an ephemeral, a data watch and a
//      writer thread; the leader is SIGKILLed; the session must reconnect elsewhere (Disconnected,
//      SyncConnected, same session), keep its ephemeral and watch, and lose no acknowledged write;
//   4. ensemble_failover.py: the same for kazoo (SUSPENDED then CONNECTED, ephemeral, DataWatch),
//      plus sync() + read on another member sees the value just written.
// After each failover the killed member is restarted and all three must report the same Zxid.
//
// Why 1 and 2 go through one follower: those scripts write in one session and read in another
// without sync(), which only a single server guarantees (ZooKeeper promises sequential
// consistency per client; across servers a read may trail a commit by a round trip: with all
// three hosts they fail now and then against Apache ZooKeeper's ensemble too, just more rarely).
// Through a follower every write is forwarded to the leader and every reply comes back through
// the commit path, which is what they should exercise; 3 and 4 use all three hosts.
// One ensemble serves all four tests; the failover tests restart what they kill.
//
// Who kills the leader: the client program, given the leader's pid (it is on the same machine),
// so it knows the exact kill time for resumed_after_ms and needs no stdin handshake. The TS side
// picks the leader, checks afterwards that the process died of SIGKILL and that another member
// leads, and restarts it. Both programs get all three hosts but open their main session on the
// leader, so the member that dies is the one holding the connection (and the session's origin):
// the Java program hands the stock client the leader's address for its first connection only
// (then the stock StaticHostProvider over all hosts); kazoo gets the leader first with
// randomize_hosts=False.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requireOrSkip } from '../helpers/servers.js';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import {
  INTEROP_CFG,
  compileJava,
  describeJava,
  fourLetterWord,
  interopJavaDir,
  javaClientMissing,
  runJava,
} from '../helpers/zookeeper.js';
import { describeTool, type ToolResult } from '../helpers/clitools.js';
import { kazooMissing, runKazooScript } from '../helpers/kazoo.js';

/** Every member's mode and the tail of its log, for assertion messages. */
async function ensembleReport(ens: Ensemble, tail = 6000): Promise<string> {
  const parts: string[] = [];
  for (const m of ens.members) {
    const mode = await ens.mode(m);
    parts.push(
      `--- member ${m.id} (port ${m.port}, ${m.proc ? `pid ${m.proc.process.pid}` : 'not running'}, mode ${mode}) ---\n${m.log.slice(-tail)}`,
    );
  }
  return parts.join('\n');
}

function diagnostics(t: TestContext, out: string): void {
  for (const line of out.trim().split('\n')) if (line) t.diagnostic(line);
}

async function zxidOf(m: Member): Promise<string | null> {
  try {
    return /Zxid: (0x[0-9a-f]+)/.exec(await fourLetterWord('127.0.0.1', m.port, 'srvr', 2000))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Waits until every member serves and reports the same Zxid; returns it. */
async function converged(ens: Ensemble, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const modes = await Promise.all(ens.members.map((m) => ens.mode(m)));
    const zxids = await Promise.all(ens.members.map((m) => zxidOf(m)));
    last = ens.members.map((m, i) => `${m.id}:${modes[i]}@${zxids[i]}`).join(' ');
    if (
      modes.every((x) => x !== null) &&
      modes.filter((x) => x === 'leader').length === 1 &&
      zxids[0] !== null &&
      zxids.every((z) => z === zxids[0])
    )
      return `${zxids[0]} (${last})`;
    if (Date.now() > deadline) throw new Error(`members did not converge on one Zxid within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs a failover client program that SIGKILLs the leader itself, then checks the kill, restarts
 * the member and waits for all three to agree on the Zxid. The member is restarted even when the
 * program failed, so later tests find three members.
 */
async function failover(
  t: TestContext,
  ens: Ensemble,
  label: string,
  run: (leader: Member, pid: number) => Promise<ToolResult>,
): Promise<void> {
  await ens.serving();
  const leader = await ens.leader();
  const proc = leader.proc!.process;
  const pid = proc.pid!;
  t.diagnostic(`leader: member ${leader.id} (port ${leader.port}, pid ${pid})`);
  let exitedAt = 0;
  const exited = new Promise<void>((res) => {
    if (proc.exitCode !== null || proc.signalCode !== null) res();
    else
      proc.once('exit', () => {
        exitedAt = Date.now();
        res();
      });
  });
  try {
    const r = await run(leader, pid);
    diagnostics(t, r.stdout);
    if (r.code !== 0) {
      const failed = r.stdout.split('\n').find((l) => l.startsWith('FAIL')) ?? '(no FAIL line)';
      assert.fail(`${label}: ${failed}\n${describeTool(r)}\n${await ensembleReport(ens)}`);
    }
    assert.match(r.stdout, /^done: all checks passed/m);
    await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
    assert.equal(
      proc.signalCode,
      'SIGKILL',
      `member ${leader.id} should have died of SIGKILL (exit ${proc.exitCode}, signal ${proc.signalCode})`,
    );
    const killedAt = /^killed_at_epoch_ms=(\d+)$/m.exec(r.stdout);
    if (killedAt && exitedAt) t.diagnostic(`leader process exit seen ${exitedAt - Number(killedAt[1])} ms after the kill`);
    const resumed = /^resumed_after_ms=(\d+)$/m.exec(r.stdout);
    assert.ok(resumed, `${label} printed no resumed_after_ms line`);
    t.diagnostic(`${label}: writes resumed ${resumed[1]} ms after SIGKILL of the leader`);
    const next = await ens.leader();
    assert.notEqual(next.id, leader.id, 'a new leader among the survivors');
    t.diagnostic(`new leader: member ${next.id}`);
  } finally {
    // the program may have failed before (or without) killing it: restart it only if it is gone
    if (proc.exitCode !== null || proc.signalCode !== null) await exited;
    if (!leader.proc) {
      const t0 = Date.now();
      await ens.start(leader);
      t.diagnostic(`restarted member ${leader.id} in ${Date.now() - t0} ms`);
    }
  }
  const t0 = Date.now();
  let zxid: string;
  try {
    zxid = await converged(ens, 15000);
  } catch (e) {
    assert.fail(`${(e as Error).message}\n${await ensembleReport(ens)}`);
  }
  t.diagnostic(`all three members at Zxid ${zxid} ${Date.now() - t0} ms after the restart`);
  assert.equal(await ens.mode(leader), 'follower', `restarted member ${leader.id} rejoins as a follower`);
}

describe('interop against a 3-server Ark ensemble', () => {
  // Started by the first test that runs, not in a before() hook: a hook's failure cancels every
  // test with no message of its own, while a failed start here fails each test with its reason.
  let starting: Promise<Ensemble> | undefined;
  function ensemble(): Promise<Ensemble> {
    starting ??= (async () => {
      // TTL nodes and a 1 s container/TTL check, as for the single-server interop runs; the
      // clients' 10 s session timeouts (ArkInterop, kazoo) fit tickTime 2000 and far outlast a
      // failover (election ~0.2 s plus the clients' reconnect back-off).
      const ens = await startEnsemble({ voters: 3, cfg: { ...INTEROP_CFG } });
      try {
        await ens.leader();
        await ens.serving();
      } catch (e) {
        await ens.stop();
        throw e;
      }
      return ens;
    })();
    return starting;
  }

  after(async () => {
    const ens = await starting?.catch(() => undefined);
    await ens?.stop();
  });

  async function followerAddress(ens: Ensemble): Promise<string> {
    const leader = await ens.leader();
    const f = ens.members.find((m) => m !== leader && m.proc)!;
    return `127.0.0.1:${f.port}`;
  }

  test('ArkInterop.java (ZooKeeper 3.8 Java client) through a follower', { timeout: 120000 }, async (t) => {
    const skip = requireOrSkip(javaClientMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const ens = await ensemble();
    const classDir = await compileJava([join(interopJavaDir, 'ArkInterop.java')]);
    const target = await followerAddress(ens);
    const r = await runJava(classDir, 'ArkInterop', [target], 90000);
    diagnostics(t, r.stdout);
    assert.equal(r.code, 0, `ArkInterop against the ensemble's follower ${target}: ${describeJava(r)}\n${await ensembleReport(ens)}`);
    assert.match(r.stdout, /^done: all checks passed/m);
  });

  test('kazoo_interop.py (kazoo 2.8) through a follower', { timeout: 120000 }, async (t) => {
    const skip = requireOrSkip(kazooMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const ens = await ensemble();
    const r = await runKazooScript('kazoo_interop.py', [await followerAddress(ens)], 90000);
    diagnostics(t, r.stdout);
    const failed = r.stdout.split('\n').find((l) => l.startsWith('FAIL')) ?? '(no FAIL line)';
    assert.equal(r.code, 0, `kazoo_interop.py against the ensemble: ${failed}\n${describeTool(r)}\n${await ensembleReport(ens)}`);
    assert.match(r.stdout, /^done: all checks passed/m);
  });

  test('Java client: leader SIGKILLed while connected to it and writing', { timeout: 120000 }, async (t) => {
    const skip = requireOrSkip(javaClientMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const ens = await ensemble();
    const classDir = await compileJava([join(interopJavaDir, 'EnsembleFailover.java')]);
    await failover(t, ens, 'EnsembleFailover.java', (leader, pid) =>
      runJava(classDir, 'EnsembleFailover', [ens.connectString, `127.0.0.1:${leader.port}`, String(pid)], 90000),
    );
  });

  test('kazoo: leader SIGKILLed while connected to it', { timeout: 120000 }, async (t) => {
    const skip = requireOrSkip(kazooMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const ens = await ensemble();
    await failover(t, ens, 'ensemble_failover.py', (leader, pid) =>
      runKazooScript('ensemble_failover.py', [ens.connectString, `127.0.0.1:${leader.port}`, String(pid)], 90000),
    );
  });
});
