// Backups and the continuous archive in object storage, against a real S3 API server (s3rver, see
// test/helpers/s3.ts) and real `ark` processes: an ensemble and a standalone server archiving to
// s3:// (txns and scheduled backups), point-in-time restores from it that a new server starts on,
// `ark backup create --out s3://` then verify / inspect / restore from the URL, retention on S3,
// uploads cut midway (no object appears), wrong credentials, a missing bucket, an unreachable
// endpoint and bad zoo.cfg values.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/client/zookeeper.js';
import { listBackupFiles, readArchiveView } from '../../src/backup/archive.js';
import { S3ArchiveStore } from '../../src/backup/s3store.js';
import { uploadBackup } from '../../src/backup/files.js';
import { startEnsemble } from '../helpers/ensemble.js';
import { arkBin, freePort, repoRoot, startArk, tempDir, writeCfg } from '../helpers/servers.js';
import { startS3, type RunningS3 } from '../helpers/s3.js';
import { waitUntil } from '../helpers/wait.js';

const hex = (z: number): string => `0x${z.toString(16)}`;

let s3: RunningS3;

/** `ark ARGS` with the S3 environment (and `env` over it): exit code and output. */
function arkS3(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [arkBin, ...args],
      { env: { ...process.env, ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Up to where the archive holds the state: its chain's end, or its newest backup (a quiet server may have only backups). */
async function archivedEnd(store: S3ArchiveStore): Promise<number> {
  const v = await readArchiveView(store);
  return Math.max(v.end ?? -1, v.backups.at(-1)?.zxid ?? -1);
}

/** Waits until the archive at `url` holds every txn up to `zxid`. */
async function archivedUpTo(url: string, zxid: number, log: () => string = () => ''): Promise<void> {
  const store = new S3ArchiveStore(url);
  try {
    await waitUntil(async () => (await archivedEnd(store)) >= zxid, `${url} archived up to ${hex(zxid)}`, 30000, 100);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${log().slice(-4000)}`);
  }
}

/** A server on a restored data dir, and the value of `path` it serves. */
async function serveAndRead(dataDir: string, path: string): Promise<string> {
  const srv = await startArk({ dataDir });
  try {
    const zk = await connect(`127.0.0.1:${srv.port}`);
    try {
      return (await zk.getData(path)).data?.toString() ?? '';
    } finally {
      await zk.close();
    }
  } finally {
    await srv.stop();
  }
}

before(async () => {
  s3 = await startS3(['ark']);
  // the in-process reads of the tests (S3ArchiveStore) use the same environment as the processes
  Object.assign(process.env, s3.env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
});
after(async () => {
  await s3.stop();
});

describe('object storage', { timeout: 240000 }, () => {
  test('an ensemble archives txns and scheduled backups to s3://, and a point-in-time restore from it serves', async () => {
    const url = 's3://ark/ensemble';
    const ens = await startEnsemble({
      cfg: { 'backup.archiveDir': url, 'backup.archiveIntervalMs': 200, 'backup.intervalMs': 700, snapCount: 200 },
      env: { ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const marks: Array<{ zxid: number; value: string }> = [];
    try {
      await ens.serving();
      const zk = await connect(ens.connectString, { sessionTimeoutMs: 20000 });
      await zk.create('/v', '0');
      for (let i = 1; i <= 300; i++) {
        const st = await zk.setData('/v', `v${i}`);
        if (i % 100 === 0) marks.push({ zxid: Number(st.mzxid), value: `v${i}` });
      }
      await archivedUpTo(url, marks.at(-1)!.zxid);
      // scheduled backups land while the ensemble is quiet too (one per backup.intervalMs with new txns)
      await zk.setData('/v', 'after');
      await waitUntil(
        async () => (await listBackupFiles(new S3ArchiveStore(url))).length >= 2,
        'a scheduled backup besides the first',
        20000,
        100,
      );
      await zk.close();
    } finally {
      await ens.stop();
    }
    const list = await arkS3(['backup', 'list', '--archive', url, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { backups: unknown[]; gaps: unknown[]; damaged: unknown[] };
    assert.deepEqual(listed.damaged, []);
    assert.ok(listed.backups.length >= 2, `scheduled backups in the bucket: ${listed.backups.length}`);
    const target = marks[1]!;
    const out = join(tempDir('s3-pitr'), 'd');
    const r = await arkS3(['restore', '--archive', url, '--to-zxid', hex(target.zxid), '--data-dir', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await serveAndRead(out, '/v'), target.value);
  });

  test('a standalone server archives to s3:// with retention; backup create --out s3:// then verify, inspect, restore from the URL', async () => {
    const url = 's3://ark/solo';
    const adminPort = await freePort();
    const srv = await startArk({
      cfg: {
        'backup.archiveDir': url,
        'backup.archiveIntervalMs': 100,
        'backup.intervalMs': 300,
        'backup.retainCount': 1,
        'admin.enableServer': true,
        'admin.serverPort': adminPort,
        'admin.serverAddress': '127.0.0.1',
      },
      env: { ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ARK_LOG_LEVEL: 'info' },
    });
    const store = new S3ArchiveStore(url);
    const file = 's3://ark/files/one.arkb';
    let mark = { zxid: 0, value: '' };
    try {
      const zk = await connect(`127.0.0.1:${srv.port}`);
      await zk.create('/s', '0');
      // retention: backups come every 300 ms while txns do; the first one seen is removed once newer ones exist
      const first = await (async () => {
        await waitUntil(async () => (await listBackupFiles(store)).length >= 1, 'a first backup', 20000, 50);
        return (await listBackupFiles(store))[0]!.path;
      })();
      let i = 0;
      await waitUntil(
        async () => {
          await zk.setData('/s', `x${++i}`);
          return !(await listBackupFiles(store)).some((b) => b.path === first);
        },
        'retention removes the oldest backup on S3',
        30000,
        50,
      );
      // the last write: retention keeps the newest backup, at or before it, so it can be restored
      const st = await zk.setData('/s', 'later');
      mark = { zxid: Number(st.mzxid), value: 'later' };
      await archivedUpTo(url, mark.zxid, () => srv.output());
      await zk.close();

      const made = await arkS3(['backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', file, '--json']);
      assert.equal(made.code, 0, made.stderr);
      assert.equal((JSON.parse(made.stdout) as { file: string }).file, file);
      const again = await arkS3(['backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', file]);
      assert.equal(again.code, 2, 'an existing object is not replaced without --force');
      assert.match(again.stderr, /s3:\/\/ark\/files\/one\.arkb exists/);
      // an online restore from the URL puts the backed-up value back
      const zk2 = await connect(`127.0.0.1:${srv.port}`);
      await zk2.setData('/s', 'changed');
      await zk2.close();
      const online = await arkS3(['restore', file, '--online', '--admin', `http://127.0.0.1:${adminPort}`]);
      assert.equal(online.code, 0, online.stderr);
      const zk3 = await connect(`127.0.0.1:${srv.port}`);
      assert.equal((await zk3.getData('/s')).data?.toString(), 'later');
      await zk3.close();
    } finally {
      await srv.stop({ keepData: true });
    }
    // an offline backup of the stopped server's data dir goes to the bucket as an online one does
    const offline = 's3://ark/files/offline.arkb';
    const off = await arkS3(['backup', 'create', '--data-dir', srv.dataDir, '--out', offline, '--json']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal((JSON.parse(off.stdout) as { file: string }).file, offline);
    const fromOffline = join(tempDir('s3-offline'), 'd');
    const r0 = await arkS3(['restore', offline, '--data-dir', fromOffline]);
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal(await serveAndRead(fromOffline, '/s'), 'later');
    const offAgain = await arkS3(['backup', 'create', '--data-dir', srv.dataDir, '--out', offline]);
    assert.equal(offAgain.code, 2, 'an existing object is not replaced without --force');
    assert.ok((await listBackupFiles(store)).length <= 2, 'retainCount 1 (and one more written since the last prune)');

    const verify = await arkS3(['backup', 'verify', file, '--json']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);
    const inspect = await arkS3(['backup', 'inspect', file, '--json']);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.ok((JSON.parse(inspect.stdout) as { nodes: number }).nodes >= 2);
    const fromFile = join(tempDir('s3-file'), 'd');
    const r1 = await arkS3(['restore', file, '--data-dir', fromFile]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(await serveAndRead(fromFile, '/s'), 'later');
    const pitr = join(tempDir('s3-solo-pitr'), 'd');
    // the archive's newest state (past 'later': the session's close is a txn too); retention keeps a backup at or before it
    const end = await archivedEnd(store);
    assert.ok(end >= mark.zxid);
    const r2 = await arkS3(['restore', '--archive', url, '--to-zxid', hex(end), '--data-dir', pitr]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(await serveAndRead(pitr, '/s'), mark.value);
    const missing = await arkS3(['backup', 'verify', 's3://ark/files/none.arkb']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /s3:\/\/ark\/files\/none\.arkb: no such object/);
  });

  test('an upload cut midway leaves no object: an error in the stream, a damaged backup stream, a killed writer', async () => {
    const store = new S3ArchiveStore('s3://ark/cut');
    const MiB = 1 << 20;
    async function* failing(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 30; i++) {
        if (i === 20) throw new Error('the source failed');
        yield Buffer.alloc(MiB, i);
      }
    }
    // a whole multipart upload (3 parts) reads back the same, and its name is then taken
    async function* whole(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(MiB, i);
    }
    let reported = 0;
    assert.equal(await store.createExclusive('backups/whole.arkb', whole(), (p) => (reported = p.done)), true);
    assert.equal(reported, 20 * MiB);
    const back = await store.read('backups/whole.arkb');
    assert.equal(back.length, 20 * MiB);
    assert.equal(back[19 * MiB], 19);
    assert.equal(await store.createExclusive('backups/whole.arkb', whole()), false);
    await store.remove('backups/whole.arkb');
    await assert.rejects(store.createExclusive('backups/a.arkb', failing()), /the source failed/);
    assert.equal(await store.exists('backups/a.arkb'), false);
    // a stream that is not a whole backup (no checksum trailer) never becomes one
    async function* notABackup(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(MiB, 7);
    }
    await assert.rejects(uploadBackup('s3://ark/cut/b.arkb', notABackup(), false), /no "ARKC" trailer/);
    assert.equal(await store.exists('b.arkb'), false);
    // a writer killed with parts uploaded: the parts stay invisible, no object
    const script = join(tempDir('s3-writer'), 'writer.mjs');
    writeFileSync(
      script,
      `import { S3ArchiveStore } from ${JSON.stringify(join(repoRoot, 'dist/src/backup/s3store.js'))};
       const store = new S3ArchiveStore('s3://ark/cut');
       async function* endless() { for (;;) yield Buffer.alloc(${MiB}, 1); }
       await store.createExclusive('backups/killed.arkb', endless());`,
    );
    const before = new Set(s3.pendingUploads('ark'));
    const child = spawn(process.execPath, [script], { env: { ...process.env }, stdio: 'ignore' });
    try {
      await waitUntil(
        () => s3.pendingUploads('ark').some((u) => !before.has(u) && readdirSync(join(s3.dir, 'ark', '._S3rver_uploads', u)).includes('2')),
        'the writer has uploaded parts',
        30000,
        20,
      );
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    assert.equal(await store.exists('backups/killed.arkb'), false);
    assert.deepEqual(
      (await store.list('backups')).map((o) => o.path),
      [],
    );
    // s3rver has no ListMultipartUploads: the sweep finds nothing to abort there, and does not fail
    assert.equal(await store.removeAbandoned('backups', 0, Date.now()), 0);
  });

  test('wrong credentials, a missing bucket, an unreachable endpoint: one clear line naming the URL', async () => {
    const wrong = await arkS3(['backup', 'list', '--archive', 's3://ark/solo'], { AWS_ACCESS_KEY_ID: 'WRONGKEY' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^ark backup list: s3:\/\/ark\/solo.*: access denied .*InvalidAccessKeyId/m);
    assert.doesNotMatch(wrong.stderr, /\n\s+at /, 'no stack trace');
    const noBucket = await arkS3([
      'restore',
      '--archive',
      's3://no-such-bucket/a',
      '--to-zxid',
      '0x1',
      '--data-dir',
      join(tempDir('nb'), 'd'),
    ]);
    assert.equal(noBucket.code, 1);
    assert.match(noBucket.stderr, /s3:\/\/no-such-bucket\/a.*the bucket 'no-such-bucket' does not exist/);
    const down = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await arkS3(['backup', 'inspect', 's3://ark/files/one.arkb'], { AWS_ENDPOINT_URL_S3: down });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`s3://ark/files/one\\.arkb: cannot reach the S3 endpoint ${down}`));

    // a server whose archive refuses its credentials logs why and keeps serving clients
    const srv = await startArk({
      cfg: { 'backup.archiveDir': 's3://ark/denied', 'backup.archiveIntervalMs': 100 },
      env: { ...s3.env, AWS_ACCESS_KEY_ID: 'WRONGKEY', ARK_LOG_LEVEL: 'info', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    try {
      await waitUntil(() => /s3:\/\/ark\/denied: access denied/.test(srv.output()), 'the server logs the refusal', 20000, 50);
      const zk = await connect(`127.0.0.1:${srv.port}`);
      await zk.create('/still', 'serving');
      assert.equal((await zk.getData('/still')).data?.toString(), 'serving');
      await zk.close();
    } finally {
      await srv.stop();
    }
  });

  test('zoo.cfg: a bad s3:// archiveDir or backup.s3.* value stops start-up naming the key', async () => {
    for (const [cfg, key] of [
      [{ 'backup.archiveDir': 's3://A_B/x' }, 'backup.archiveDir'],
      [{ 'backup.archiveDir': 's3://ark/x', 'backup.s3.endpoint': 'ftp://x' }, 'backup.s3.endpoint'],
      [{ 'backup.archiveDir': 's3://ark/x', 'backup.s3.forcePathStyle': 'yes' }, 'backup.s3.forcePathStyle'],
    ] as const) {
      const dir = tempDir('s3-cfg');
      const file = writeCfg(dir, { dataDir: join(dir, 'data'), clientPort: await freePort(), ...cfg });
      const r = await arkS3(['server', file]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(key.replace(/\./g, '\\.')), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
