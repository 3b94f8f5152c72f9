// Encryption at rest with real processes and Debian's `age` tool: a backup Ark encrypts is
// decrypted by `age -d` and verifies; a plain backup the `age` tool encrypts restores; a missing
// or wrong key gives one message; a standalone server and a 3-member ensemble archive with only
// public keys in zoo.cfg, a point-in-time restore from that archive works with the private key,
// and no znode data is in the archive's bytes in clear.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { connect } from '../../src/client/zookeeper.js';
import { readArchiveView } from '../../src/backup/archive.js';
import { readChunk, CHUNK_HEADER_BYTES } from '../../src/backup/chunk.js';
import { readBackup } from '../../src/backup/format.js';
import { LocalArchiveStore } from '../../src/backup/store.js';
import { AGE_MAGIC } from '../../src/backup/crypt.js';
import { DataDir } from '../../src/storage/datadir.js';
import { startEnsemble } from '../helpers/ensemble.js';
import { ark, freePort, requireOrSkip, startArk, tempDir } from '../helpers/servers.js';
import { executableMissing } from '../helpers/clitools.js';
import { fourLetter } from '../helpers/fourletter.js';
import { waitUntil } from '../helpers/wait.js';

const hex = (z: number): string => `0x${z.toString(16)}`;
const AGE = '/usr/bin/age';
const AGE_KEYGEN = '/usr/bin/age-keygen';
const skip = requireOrSkip(executableMissing(AGE, 'apt-get install age') ?? executableMissing(AGE_KEYGEN, 'apt-get install age'));

interface Key {
  file: string;
  recipient: string;
}

/** A key pair from Debian's age-keygen: the identity file it writes, the public key it prints. */
function keygenKey(dir: string, name: string): Key {
  const file = join(dir, name);
  execFileSync(AGE_KEYGEN, ['-o', file], { stdio: 'ignore' });
  return { file, recipient: execFileSync(AGE_KEYGEN, ['-y', file], { encoding: 'utf8' }).trim() };
}

/** A key pair from the age-encryption library, written as age-keygen writes one. */
async function libraryKey(dir: string, name: string): Promise<Key> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const file = join(dir, name);
  writeFileSync(file, `# created: by the test\n# public key: ${recipient}\n${identity}\n`);
  return { file, recipient };
}

/** The zxid a server reports (srvr). */
async function zxidOf(port: number): Promise<number> {
  return parseInt(/Zxid: 0x([0-9a-f]+)/.exec(await fourLetter(port, 'srvr'))![1]!, 16);
}

/** Waits until the archive's chain reaches `zxid`, reading only what is in clear (no key). */
async function archivedUpTo(archive: string, zxid: number): Promise<void> {
  await waitUntil(
    async () => ((await readArchiveView(new LocalArchiveStore(archive))).end ?? -1) >= zxid,
    `the archive to reach ${hex(zxid)}`,
    30_000,
    100,
  );
}

/** Every file of the archive, and proof none holds `secret` in clear. */
function assertNoClearData(archive: string, secret: string): string[] {
  const files: string[] = [];
  for (const folder of ['txns', 'backups']) for (const n of readdirSync(join(archive, folder))) files.push(join(archive, folder, n));
  files.push(join(archive, 'status.json'));
  for (const f of files) assert.equal(readFileSync(f).indexOf(secret), -1, `${f} holds the znode data in clear`);
  return files;
}

/** The value of /app/secret in a restored data dir. */
function restoredValue(dir: string, path: string): string | null {
  const rec = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 16 }).recover({ repair: false });
  const tree = rec.snapshot!.tree;
  for (const r of rec.records) tree.apply(r.hdr, r.txn, []);
  const node = tree.nodes.get(path);
  return node?.data ? Buffer.from(node.data).toString() : null;
}

const NO_KEY = /is encrypted \(age\): give the private key that opens it with --identity FILE/;
const WRONG_KEY = /no identity given \(--identity .*\) opens .*: it is encrypted to other public keys/;

describe('encryption at rest', { skip, timeout: 120_000 }, () => {
  test('backups: Ark encrypts, age decrypts; age encrypts, Ark restores; archive of a standalone server holds no data in clear', async () => {
    const work = tempDir('crypt');
    const debianKey = keygenKey(work, 'debian.txt');
    const libKey = await libraryKey(work, 'lib.txt');
    const wrongKey = await libraryKey(work, 'wrong.txt');
    writeFileSync(join(work, 'recipients.txt'), `# the offline key\n${debianKey.recipient}\n`);
    const archive = join(work, 'archive');
    const adminPort = await freePort();
    const admin = `http://127.0.0.1:${adminPort}`;
    const SECRET = 'znode-data-7f3a1c-never-in-clear';
    const srv = await startArk({
      cfg: {
        'admin.enableServer': true,
        'admin.serverPort': adminPort,
        'admin.serverAddress': '127.0.0.1',
        'backup.archiveDir': archive,
        'backup.archiveIntervalMs': 200,
        'backup.recipients': libKey.recipient,
        'backup.recipientsFile': join(work, 'recipients.txt'),
      },
    });
    let target = 0;
    try {
      const zk = await connect(srv.connectString, { sessionTimeoutMs: 20000 });
      await zk.create('/app', 'root');
      for (let i = 0; i < 30; i++) await zk.create(`/app/n${i}`, `${SECRET}-${i}`);
      await zk.create('/app/secret', SECRET);
      target = await zxidOf(srv.port);
      await zk.setData('/app/secret', 'later'); // after the point restored to
      zk.close();
      await archivedUpTo(archive, target + 1);

      // ark encrypts a backup to a key age-keygen made; Debian's age decrypts it; the plain file verifies
      const enc = join(work, 'enc.arkb');
      const made = await ark(['backup', 'create', '--admin', admin, '--out', enc, '--recipient', debianKey.recipient, '--json']);
      assert.equal(made.code, 0, made.stderr);
      assert.equal((JSON.parse(made.stdout) as { encrypted: boolean }).encrypted, true);
      const raw = readFileSync(enc);
      assert.ok(raw.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC), 'the file is an age file');
      assert.equal(raw.indexOf(SECRET), -1);
      const plain = join(work, 'plain.arkb');
      execFileSync(AGE, ['-d', '-i', debianKey.file, '-o', plain, enc]);
      const verified = await ark(['backup', 'verify', plain]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /^intact: /);
      // ark reads it with the key too; without it, or with another one, one message
      assert.equal((await ark(['backup', 'verify', enc, '--identity', wrongKey.file, '--identity', debianKey.file])).code, 0);
      // --recipients-file, as age -R: the same file the server reads
      const enc3 = join(work, 'enc3.arkb');
      const fromFile = await ark(['backup', 'create', '--admin', admin, '--out', enc3, '--recipients-file', join(work, 'recipients.txt')]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.match(fromFile.stdout, /encrypted to 1 recipient/);
      assert.equal((await ark(['backup', 'verify', enc3, '--identity', debianKey.file])).code, 0);
      const inspected = await ark(['backup', 'inspect', enc, '--identity', debianKey.file, '--json']);
      assert.equal(inspected.code, 0, inspected.stderr);
      const missing = await ark(['backup', 'verify', enc]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, NO_KEY);
      const wrong = await ark(['backup', 'inspect', enc, '--identity', wrongKey.file]);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, WRONG_KEY);
      // a byte changed inside the ciphertext: damaged, not a key problem
      const altered = Buffer.from(raw);
      altered[altered.length - 100]! ^= 1;
      writeFileSync(join(work, 'altered.arkb'), altered);
      const damaged = await ark(['backup', 'verify', join(work, 'altered.arkb'), '--identity', debianKey.file]);
      assert.equal(damaged.code, 1);
      assert.match(damaged.stdout, /^DAMAGED: .*damaged or truncated/);
      // a bad public key on the command line: refused before anything is written
      const bad = await ark(['backup', 'create', '--admin', admin, '--out', join(work, 'x.arkb'), '--recipient', 'age1nope']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /'age1nope' is not a valid age public key/);

      // a plain backup encrypted by the age tool (to a key the library made) restores with --identity
      const plain2 = join(work, 'plain2.arkb');
      assert.equal((await ark(['backup', 'create', '--admin', admin, '--out', plain2])).code, 0);
      const byAge = join(work, 'by-age.arkb');
      execFileSync(AGE, ['-r', libKey.recipient, '-o', byAge, plain2]);
      const restoredDir = join(work, 'restored');
      const restored = await ark(['restore', byAge, '--identity', libKey.file, '--data-dir', restoredDir]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(restoredValue(restoredDir, '/app/secret'), 'later');
      const noKey = await ark(['restore', byAge, '--data-dir', join(work, 'never')]);
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, NO_KEY);

      // an online restore of the encrypted backup: the command decrypts, the server gets the plain backup
      const zk2 = await connect(srv.connectString, { sessionTimeoutMs: 20000 });
      await zk2.setData('/app/secret', 'changed-after-the-backup');
      zk2.close();
      const online = await ark(['restore', enc, '--online', '--admin', admin, '--identity', debianKey.file, '--json']);
      assert.equal(online.code, 0, online.stderr);
      const zk3 = await connect(srv.connectString, { sessionTimeoutMs: 20000 });
      assert.equal((await zk3.getData('/app/secret')).data?.toString(), 'later');
      zk3.close();
      await archivedUpTo(archive, await zxidOf(srv.port));
    } finally {
      await srv.stop();
    }

    // the archive: links keep their header in clear and the txns encrypted; backups are age files
    const files = assertNoClearData(archive, SECRET);
    const store = new LocalArchiveStore(archive);
    let sealed = 0;
    for (const f of files.filter((x) => x.includes('/txns/'))) {
      const bytes = readFileSync(f);
      if (bytes.length === CHUNK_HEADER_BYTES) continue; // a jump: a header alone
      assert.ok(bytes.subarray(CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + AGE_MAGIC.length).equals(AGE_MAGIC), `${f} is encrypted`);
      // without Ark: strip the clear header, age -d, and the result is the chunk Ark reads
      const opened = execFileSync(AGE, ['-d', '-i', libKey.file], { input: bytes.subarray(CHUNK_HEADER_BYTES) });
      assert.ok(opened.subarray(0, CHUNK_HEADER_BYTES).equals(bytes.subarray(0, CHUNK_HEADER_BYTES)));
      assert.ok(readChunk(f, opened).records.length > 0);
      sealed++;
    }
    assert.ok(sealed > 0, 'the archive holds encrypted links');
    for (const f of files.filter((x) => x.includes('/backups/'))) {
      const bytes = readFileSync(f);
      assert.ok(bytes.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC), `${f} is encrypted`);
      readBackup(f, execFileSync(AGE, ['-d', '-i', debianKey.file, f]));
    }
    assert.ok((await store.list('backups')).length > 0);

    // point in time from the encrypted archive, with either private key
    const pitr = join(work, 'pitr');
    const res = await ark(['restore', '--archive', archive, '--to-zxid', hex(target), '--identity', debianKey.file, '--data-dir', pitr]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(restoredValue(pitr, '/app/secret'), SECRET);
    const listed = await ark(['backup', 'list', '--archive', archive, '--identity', libKey.file, '--json']);
    assert.equal(listed.code, 0, listed.stdout + listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { damaged: unknown[] }).damaged, []);
    const blind = await ark(['restore', '--archive', archive, '--to-zxid', hex(target), '--data-dir', join(work, 'blind')]);
    assert.equal(blind.code, 2);
    assert.match(blind.stderr, NO_KEY);
    const wrongList = await ark(['backup', 'list', '--archive', archive, '--identity', wrongKey.file]);
    assert.equal(wrongList.code, 2);
    assert.match(wrongList.stderr, WRONG_KEY);
  });

  test('a bad public key in zoo.cfg stops start-up naming the key', async () => {
    const work = tempDir('crypt-cfg');
    await assert.rejects(
      startArk({ cfg: { 'backup.archiveDir': join(work, 'a'), 'backup.recipients': 'age1notakey' } }),
      /backup\.recipients: 'age1notakey' is not a valid age public key/,
    );
    await assert.rejects(
      startArk({ cfg: { 'backup.archiveDir': join(work, 'a'), 'backup.recipientsFile': join(work, 'none.txt') } }),
      /backup\.recipientsFile: cannot read the recipients file/,
    );
  });

  test('a 3-member ensemble archives with public keys only; a point in time restores with the private key', async () => {
    const work = tempDir('crypt-ens');
    const key = keygenKey(work, 'key.txt');
    const archive = join(work, 'archive');
    const SECRET = 'ensemble-secret-b91e';
    const ens = await startEnsemble({
      cfg: { 'backup.archiveDir': archive, 'backup.archiveIntervalMs': 200, 'backup.recipients': key.recipient },
    });
    let target = 0;
    try {
      const leader = await ens.leader(30_000);
      await ens.serving();
      const zk = await connect(ens.connectString, { sessionTimeoutMs: 20000 });
      await zk.create('/app', 'root');
      for (let i = 0; i < 20; i++) await zk.create(`/app/n${i}`, `${SECRET}-${i}`);
      await zk.create('/app/secret', SECRET);
      await zk.sync('/');
      target = await zxidOf(leader.port);
      await zk.setData('/app/secret', 'after');
      await zk.sync('/');
      const after = await zxidOf(leader.port);
      zk.close();
      await archivedUpTo(archive, after);
    } finally {
      await ens.stop();
    }
    assertNoClearData(archive, SECRET);
    const pitr = join(work, 'pitr');
    const res = await ark(['restore', '--archive', archive, '--to-zxid', hex(target), '--identity', key.file, '--data-dir', pitr]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(restoredValue(pitr, '/app/secret'), SECRET);
  });
});
