// `ark bench` as a user runs it: the CLI against a real Ark server and a real Apache ZooKeeper,
// every workload, JSON out; the server's own counters must account for the ops it reports, and
// the run must leave no znodes behind. Bad arguments and an unreachable server are clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTool, describeTool } from '../helpers/clitools.js';
import { arkBin, freePort, requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
import { fourLetterWord, startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { ZkClient } from '../../src/client/client.js';
import { parseConnect, WORKLOADS, type LoadResult } from '../../src/bench/loadgen.js';

async function received(s: RunningServer): Promise<number> {
  const m = /Received: (\d+)/.exec(await fourLetterWord(s.host, s.port, 'srvr'));
  return Number(m?.[1]);
}

async function benchAgainst(s: RunningServer): Promise<void> {
  const before = await received(s);
  const r = await runTool(
    process.execPath,
    [
      arkBin,
      'bench',
      '--server',
      s.connectString,
      '--seconds',
      '0.3',
      '--warmup',
      '0',
      '--sessions',
      '3',
      '--window',
      '4',
      '--keys',
      '10',
      '--json',
      '--root',
      '/bench-test',
    ],
    { timeoutMs: 60000 },
  );
  assert.equal(r.code, 0, describeTool(r));
  const results = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LoadResult);
  assert.deepEqual(
    results.map((x) => x.workload),
    [...WORKLOADS],
  );
  let ops = 0;
  for (const x of results) {
    assert.ok(x.ops > 0, `${x.workload}: no ops`);
    assert.deepEqual(x.errors, {}, `${x.workload}: errors`);
    assert.ok(
      x.latencyMs.p50 > 0 && x.latencyMs.p50 <= x.latencyMs.p99 && x.latencyMs.p99 <= x.latencyMs.max,
      `${x.workload}: percentiles ${JSON.stringify(x.latencyMs)}`,
    );
    ops += x.ops;
  }
  // the server saw at least every op the generator counted (plus set-up, sync and clean-up)
  assert.ok((await received(s)) - before >= ops, `server received fewer requests than the ${ops} ops reported`);
  const c = await ZkClient.connect({ host: s.host, port: s.port });
  try {
    assert.equal(await c.exists('/bench-test'), null, 'the run left its root behind');
  } finally {
    c.disconnect();
  }
}

test('ark bench runs every workload against Ark and cleans up after itself', async () => {
  const s = await startArk();
  try {
    await benchAgainst(s);
  } finally {
    await s.stop();
  }
});

test('ark bench runs every workload against Apache ZooKeeper', async (t) => {
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) return t.skip(skip);
  const s = await startZooKeeper();
  try {
    await benchAgainst(s);
  } finally {
    await s.stop();
  }
});

test('ark bench --rate: an open-loop run sends exactly rate x seconds ops, on schedule', async () => {
  const s = await startArk();
  try {
    const args = [
      arkBin,
      'bench',
      '--server',
      s.connectString,
      '--workload',
      'mixed',
      '--rate',
      '400',
      '--seconds',
      '0.5',
      '--warmup',
      '0',
      '--json',
    ];
    const r = await runTool(process.execPath, args, { timeoutMs: 60000 });
    assert.equal(r.code, 0, describeTool(r));
    const x = JSON.parse(r.stdout.trim()) as LoadResult;
    assert.equal(x.ops, 200);
    assert.deepEqual(x.errors, {});
    // on schedule: the 200 ops were due over 0.5 s, so they cannot all have completed much sooner
    assert.ok(x.seconds >= 0.45, `200 ops at 400/s took ${x.seconds} s`);
    const create = await runTool(process.execPath, [arkBin, 'bench', '--server', s.connectString, '--workload', 'create', '--rate', '10']);
    assert.equal(create.code, 1, describeTool(create));
    assert.match(create.stderr, /open-loop run \(rate\) runs for seconds, on the keyed workloads/);
  } finally {
    await s.stop();
  }
});

test('ark bench: bad arguments and an unreachable server are one-line errors', async () => {
  const bad = await runTool(process.execPath, [arkBin, 'bench', '--workload', 'getData,frobnicate']);
  assert.equal(bad.code, 2, describeTool(bad));
  assert.match(bad.stderr, /unknown workload "frobnicate"/);
  const neg = await runTool(process.execPath, [arkBin, 'bench', '--window', '0']);
  assert.equal(neg.code, 2, describeTool(neg));
  assert.match(neg.stderr, /--window must be a whole number >= 1/);
  const port = await freePort();
  const down = await runTool(process.execPath, [arkBin, 'bench', '--server', `127.0.0.1:${port}`, '--workload', 'getData']);
  assert.equal(down.code, 1, describeTool(down));
  assert.match(down.stderr, new RegExp(`cannot connect to 127.0.0.1:${port}`));
  assert.doesNotMatch(down.stderr, /\n\s+at /, 'no stack trace');
});

test('connect strings: hosts, default port, IPv6, and what is refused', () => {
  assert.deepEqual(parseConnect('a:1,b,[::1]:3'), [
    { host: 'a', port: 1 },
    { host: 'b', port: 2181 },
    { host: '::1', port: 3 },
  ]);
  assert.throws(() => parseConnect('a:1/chroot'), /chroot is not supported/);
  assert.throws(() => parseConnect('a:0'), /outside 1..65535/);
  assert.throws(() => parseConnect(''), /no host/);
});
