// The README's "Disaster recovery" walkthrough, as a user runs it: a 3-member ensemble archives
// to object storage (a real S3 API server, s3rver), encrypted to an age public key that Debian's
// age-keygen made (the servers hold no private key); then every member and data dir is lost, and
// on a "new machine" (a new data dir, only the bucket and the private key) `ark backup list` shows
// what can be reached and `ark restore --archive s3://... --to-time` brings back the state at a
// chosen time, which a new server serves. The bucket holds no znode data in clear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '../../src/client/zookeeper.js';
import { readArchiveView } from '../../src/backup/archive.js';
import { S3ArchiveStore } from '../../src/backup/s3store.js';
import { startEnsemble } from '../helpers/ensemble.js';
import { arkBin, requireOrSkip, startArk, tempDir } from '../helpers/servers.js';
import { startS3, type RunningS3 } from '../helpers/s3.js';
import { waitUntil } from '../helpers/wait.js';

const run = promisify(execFile);
const missing = (() => {
  try {
    statSync('/usr/bin/age-keygen');
    return null;
  } catch {
    return "Debian's age (apt-get install age)";
  }
})();
const skip = requireOrSkip(missing);

let s3: RunningS3;
const sdkQuiet = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

before(async () => {
  if (skip) return;
  s3 = await startS3(['acme-dr']);
  Object.assign(process.env, s3.env, sdkQuiet);
});
after(async () => {
  await s3?.stop();
});

async function ark(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [arkBin, ...args], { env: { ...process.env, ...s3.env, ...sdkQuiet }, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Every file s3rver keeps for the bucket (its objects are files in its directory). */
function bucketFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

test('disaster recovery: an encrypted ensemble archive in S3 restores to a point in time on a new machine', {
  skip,
  timeout: 180000,
}, async () => {
  const keys = tempDir('dr-keys');
  const identity = join(keys, 'ops-key.txt');
  await run('age-keygen', ['-o', identity]);
  const recipient = (await run('age-keygen', ['-y', identity])).stdout.trim();
  const url = 's3://acme-dr/prod';
  const ens = await startEnsemble({
    cfg: {
      'backup.archiveDir': url,
      'backup.archiveIntervalMs': 200,
      'backup.intervalMs': 1000,
      'backup.recipients': recipient,
    },
    env: { ...s3.env, ...sdkQuiet },
  });
  let chosen = '';
  let chosenValue = '';
  try {
    await ens.serving();
    const zk = await connect(ens.connectString, { sessionTimeoutMs: 20000 });
    await zk.create('/orders', 'secret-order-book-v0');
    for (let i = 1; i <= 50; i++) await zk.create(`/orders/o${i}`, `secret-order-${i}`);
    await zk.setData('/orders', 'secret-order-book-v1');
    // the point to go back to: after everything above, before the mistake below
    const st = await zk.exists('/orders');
    const store = new S3ArchiveStore(url);
    await waitUntil(
      async () => ((await readArchiveView(store)).end ?? -1) >= Number(st!.mzxid),
      'the archive holds the good state',
      30000,
      100,
    );
    // every good txn was committed before now (the leader's clock is this machine's)
    chosen = new Date().toISOString();
    chosenValue = 'secret-order-book-v1';
    // wait a moment of wall time so the mistake is after the chosen time
    await waitUntil(() => Date.now() > Date.parse(chosen) + 5, 'time to pass the chosen point', 2000, 5);
    // the operator's mistake, archived too
    for (let i = 1; i <= 50; i++) await zk.delete(`/orders/o${i}`);
    await zk.setData('/orders', 'wiped');
    const after = await zk.exists('/orders');
    await waitUntil(async () => ((await readArchiveView(store)).end ?? -1) >= Number(after!.mzxid), 'the mistake archived', 30000, 100);
    await zk.close();
  } finally {
    // the disaster: every member and its data dir is gone
    await ens.stop();
  }

  // nothing in the bucket is readable without the key
  for (const f of bucketFiles(s3.dir)) assert.ok(!readFileSync(f).includes('secret-order'), `${f} holds znode data in clear`);

  // a new machine: the bucket, the private key, a new data dir
  const list = await ark(['backup', 'list', '--archive', url, '--identity', identity, '--json']);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as { restorable: unknown[]; damaged: unknown[] };
  assert.deepEqual(listed.damaged, []);
  assert.ok(listed.restorable.length >= 1);
  const noKey = await ark(['restore', '--archive', url, '--to-time', chosen, '--data-dir', join(tempDir('dr-nokey'), 'd')]);
  assert.equal(noKey.code, 2, noKey.stderr);
  assert.match(noKey.stderr, /identity|key/i);

  const dataDir = join(tempDir('dr-new-machine'), 'data');
  const r = await ark(['restore', '--archive', url, '--to-time', chosen, '--identity', identity, '--data-dir', dataDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const srv = await startArk({ dataDir });
  try {
    const zk = await connect(`127.0.0.1:${srv.port}`);
    try {
      assert.equal((await zk.getData('/orders')).data?.toString(), chosenValue);
      assert.equal((await zk.getChildren('/orders')).length, 50);
      assert.equal((await zk.getData('/orders/o17')).data?.toString(), 'secret-order-17');
    } finally {
      await zk.close();
    }
  } finally {
    await srv.stop();
  }
});
