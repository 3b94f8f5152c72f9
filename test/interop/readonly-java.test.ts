// Read-only mode with the Apache ZooKeeper 3.8 Java client (canBeReadOnly=true), against a
// 3-member Apache ZooKeeper 3.8 ensemble and a 3-member Ark one, one after the other: two members
// are killed; the client connects read-only (ConnectedReadOnly), reads, is refused a write with
// NotReadOnlyException; a member returns and the client moves to read-write by itself (ClientCnxn
// probes the other hosts with isro, and the survivor closes its read-only connections when its
// election ends) and writes. test/interop/java/ReadOnlyProbe.java prints each step; both
// ensembles must print the same. ZooKeeper runs with localSessionsEnabled=true: without it, its
// read-only server cannot open a session (it answers the ConnectRequest with a bare NotReadOnly
// header), where Ark's always makes a local one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, delimiter } from 'node:path';
import { ZkClient } from '../../src/client/client.js';
import { startEnsemble, type Ensemble } from '../helpers/ensemble.js';
import { startZooKeeperEnsemble } from '../helpers/zookeeper-ensemble.js';
import {
  compileJava,
  fourLetterWord,
  interopJavaDir,
  javaBin,
  javaClasspath,
  javaClientMissing,
  jvmFlags,
  zookeeperMissing,
} from '../helpers/zookeeper.js';
import { requireOrSkip } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait.js';

const EXPECTED = ['readonly', 'read before', 'write NotReadOnlyException', 'waiting', 'connected', 'write ok'];

/** Loses the quorum, runs the probe, brings a member back when it waits; returns what it printed. */
async function probe(ens: Ensemble, classDir: string): Promise<{ lines: string[]; output: string }> {
  await ens.leader();
  await ens.serving();
  const [a, b, c] = ens.members as [(typeof ens.members)[0], (typeof ens.members)[0], (typeof ens.members)[0]];
  const w = await ZkClient.connect({ port: c.port, sessionTimeoutMs: 10000 });
  await w.create('/ro', 'before');
  await w.sync('/ro');
  await w.close();
  await Promise.all([ens.kill(a), ens.kill(b)]);
  // the survivor first notices the loss (ZooKeeper: within a tick or two) and looks for 2 s; a
  // client that connected before would hold a session the read-only server refuses or has never
  // heard of (the Java client then gives up on it): start once the survivor is read-only
  await waitUntil(
    async () => (await fourLetterWord('127.0.0.1', c.port, 'isro', 2000).catch(() => '')) === 'ro',
    'the survivor is read-only',
    30000,
  );
  const proc = spawn(
    javaBin,
    [...jvmFlags('error'), '-cp', [classDir, javaClasspath()].join(delimiter), 'ReadOnlyProbe', ens.connectString, '/ro'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let restarted: Promise<void> | null = null;
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (restarted === null && /^waiting$/m.test(out)) restarted = ens.start(a);
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 150000);
  await new Promise<void>((resolve) => proc.on('close', () => resolve()));
  clearTimeout(timer);
  await restarted;
  return { lines: out.trim().split('\n'), output: `--- stdout ---\n${out}--- stderr ---\n${err.slice(-4000)}` };
}

describe('read-only mode with the ZooKeeper 3.8 Java client: Ark vs Apache ZooKeeper 3.8', () => {
  test('read-only, NotReadOnlyException, then read-write by itself, the same on both', { timeout: 300000 }, async (t) => {
    const skip = requireOrSkip(zookeeperMissing() ?? javaClientMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const classDir = await compileJava([join(interopJavaDir, 'ReadOnlyProbe.java')]);
    // one ensemble after the other: three JVMs and three Node processes at once crowd two cores
    const starts: Array<[string, () => Promise<Ensemble>]> = [
      [
        'ZooKeeper 3.8',
        () => startZooKeeperEnsemble({ cfg: { localSessionsEnabled: true }, systemProperties: { 'readonlymode.enabled': true } }),
      ],
      ['Ark', () => startEnsemble({ cfg: { 'readonlymode.enabled': true } })],
    ];
    for (const [name, start] of starts) {
      const ens = await start();
      try {
        const r = await probe(ens, classDir);
        t.diagnostic(`${name}: ${r.lines.join(' | ')}`);
        assert.deepEqual(r.lines, EXPECTED, `${name}\n${r.output}`);
      } finally {
        await ens.stop();
      }
    }
  });
});
