// `ark backup create --data-dir` as an operator runs it, with real servers: a server writes, an
// online backup is taken, the server stops (cleanly, and once by kill -9 with its last log record
// torn); the offline backup of its data dir is the online one, field for field and session for
// session; it verifies, restores, and a server started on the restore serves the same tree. A dir a
// running server holds is refused; a ZooKeeper data dir is read as `ark migrate` reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ark, freePort, repoRoot, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import { startEnsemble } from '../helpers/ensemble.js';
import { waitUntil } from '../helpers/wait.js';
import { ALICE, walkTree as walk, type Seen } from '../helpers/treewalk.js';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag } from '../../src/wire/protocol.js';
import { readBackup } from '../../src/backup/format.js';
import { scanSegment } from '../../src/storage/txnlog.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';

/** Writes of every kind: creates with ACLs and null data, sequentials, an ephemeral, sets, deletes. */
async function populate(c: ZkClient): Promise<void> {
  await c.create('/data', 'root');
  for (let i = 0; i < 10; i++) {
    await c.create(`/data/d${i}`, Buffer.from([i, 0, 255]));
    for (let j = 0; j < 10; j++) await c.create(`/data/d${i}/n${j}`, j % 3 === 0 ? null : `v${i}-${j}`, j % 4 === 0 ? { acl: ALICE } : {});
    await c.create(`/data/d${i}/seq-`, 's', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
    await c.setData(`/data/d${i}/n1`, `changed${i}`);
    await c.delete(`/data/d${i}/n2`);
    await c.setACL(`/data/d${i}/n5`, ALICE);
  }
  await c.create('/data/eph', 'mine', { flags: CreateFlag.EPHEMERAL });
}

async function startWithAdmin(
  dataDir?: string,
  extra: Record<string, string | number | boolean> = {},
): Promise<{ srv: RunningServer; admin: string }> {
  const adminPort = await freePort();
  const srv = await startArk({
    ...(dataDir ? { dataDir } : {}),
    cfg: { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1', ...extra },
  });
  return { srv, admin: `http://127.0.0.1:${adminPort}` };
}

interface Made {
  zxid: string;
  nodes: number;
  sessions: number;
  kind?: string;
  notes?: string[];
}

async function create(args: string[]): Promise<Made> {
  const r = await ark(['backup', 'create', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Made;
}

const sessionsOf = (file: string): bigint[] => readBackup(file, readFileSync(file)).snapshot.sessions.map((s) => s.id);

/**
 * The offline backup checked against the online one: the same file but for its metadata (diff
 * exits 0: every path, data, ACL and Stat field; the same sessions), it verifies, and a server
 * started on its restore serves the tree the client saw.
 */
async function offlineMatchesOnline(work: string, online: string, offline: string, before: Map<string, Seen>): Promise<void> {
  const d = await ark(['backup', 'diff', online, offline]);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.deepEqual(sessionsOf(offline), sessionsOf(online));
  const v = await ark(['backup', 'verify', offline]);
  assert.equal(v.code, 0, v.stdout);
  const restoredDir = join(work, 'restored');
  const r = await ark(['restore', offline, '--data-dir', restoredDir]);
  assert.equal(r.code, 0, r.stderr);
  const { srv, admin } = await startWithAdmin(restoredDir);
  try {
    const c = await ZkClient.connect({ port: srv.port });
    try {
      const after = await walk(c, '/data');
      assert.equal(after.size, before.size);
      for (const [path, want] of before) assert.deepEqual(after.get(path), want, path);
    } finally {
      await c.close();
    }
    // and the whole tree, /zookeeper included, through the restored server's AdminServer
    const live = await ark(['backup', 'diff', online, admin, '--summary']);
    assert.equal(live.code, 0, live.stdout + live.stderr);
  } finally {
    await srv.stop();
  }
}

test('offline backup of a stopped server equals the online one taken before the stop; a running server is refused', async () => {
  const work = tempDir('offline');
  const { srv, admin } = await startWithAdmin();
  const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 30000 });
  let before: Map<string, Seen>;
  const online = join(work, 'online.arkb');
  try {
    await populate(c);
    before = await walk(c, '/data');
    const made = await create(['--admin', admin, '--out', online]);
    assert.equal(made.sessions, 1);

    // the server holds its data dir: refused, naming it, and nothing written
    const held = await ark(['backup', 'create', '--data-dir', srv.dataDir, '--out', join(work, 'held.arkb')]);
    assert.equal(held.code, 1, held.stderr);
    assert.match(held.stderr, new RegExp(`is in use by ark server \\(pid ${srv.process.pid} `));
    assert.match(held.stderr, /backed up online instead: ark backup create --admin/);
    assert.deepEqual(
      readdirSync(work).filter((f) => f.startsWith('held')),
      [],
    );
  } finally {
    // the client's session stays open, as a client's does when its server goes down
    c.disconnect();
    await srv.stop({ keepData: true });
  }
  const offline = join(work, 'offline.arkb');
  const made = await create(['--data-dir', srv.dataDir, '--out', offline]);
  assert.equal(made.kind, 'ark');
  assert.equal(made.sessions, 1, 'the open session is kept, as a restart keeps it');
  const info = await ark(['backup', 'inspect', offline, '--json']);
  assert.match((JSON.parse(info.stdout) as { createdBy: string }).createdBy, /offline, from the Ark data dir/);
  await offlineMatchesOnline(work, online, offline, before);
  // encrypted to a public key, as an online backup is with --recipient; diff and verify take --identity
  const identity = await generateIdentity();
  const keyFile = join(work, 'key.txt');
  writeFileSync(keyFile, `${identity}\n`);
  const sealed = join(work, 'sealed.arkb');
  const enc = await create(['--data-dir', srv.dataDir, '--out', sealed, '--recipient', await identityToRecipient(identity)]);
  assert.equal(enc.sessions, 1);
  assert.equal(readFileSync(sealed).subarray(0, 21).toString('latin1'), 'age-encryption.org/v1');
  assert.equal((await ark(['backup', 'verify', sealed, '--identity', keyFile])).code, 0);
  const encDiff = await ark(['backup', 'diff', online, sealed, '--identity', keyFile]);
  assert.equal(encDiff.code, 0, encDiff.stdout + encDiff.stderr);
  const noKey = await ark(['backup', 'diff', online, sealed]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /is encrypted \(age\): give the private key that opens it with --identity FILE/);
  // an existing --out is not overwritten without --force
  const again = await ark(['backup', 'create', '--data-dir', srv.dataDir, '--out', offline]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists; choose another --out or pass --force/);
});

test('offline backup after kill -9 with the last log record torn (a separate dataLogDir) reads what start-up would, and leaves the files as they were', async () => {
  const work = tempDir('offline-crash');
  const logDir = join(work, 'log');
  const { srv, admin } = await startWithAdmin(undefined, { dataLogDir: logDir });
  const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 30000 });
  const online = join(work, 'online.arkb');
  let before: Map<string, Seen>;
  try {
    await populate(c);
    before = await walk(c, '/data');
    await create(['--admin', admin, '--out', online]);
    // one more write, whose record the crash will tear
    await c.create('/data/torn', 'never whole');
  } finally {
    c.disconnect();
    await srv.kill();
  }
  // the last record's second half never reached the disk: zeros, as in the preallocated file
  const sub = join(logDir, 'ark-v1');
  const seg = join(
    sub,
    readdirSync(sub)
      .filter((f) => /^log\.[0-9a-f]{16}$/.test(f))
      .sort()
      .at(-1)!,
  );
  const recs = scanSegment(seg, readFileSync(seg)).records;
  const [at, end] = [recs.at(-2)!.end!, recs.at(-1)!.end!];
  const buf = readFileSync(seg);
  buf.fill(0, Math.floor((at + end) / 2), end);
  writeFileSync(seg, buf);
  const sizeBefore = statSync(seg).size;

  // without --log-dir only the snapshot is there to read: said, not passed over
  const noLog = await ark(['backup', 'create', '--data-dir', srv.dataDir, '--out', join(work, 'nolog.arkb')]);
  assert.equal(noLog.code, 2, noLog.stderr);
  assert.match(
    noLog.stderr,
    /holds neither a snapshot nor a txn log: nothing to back up\. If zoo\.cfg sets dataLogDir, pass that directory with --log-dir/,
  );
  const offline = join(work, 'offline.arkb');
  const r = await ark(['backup', 'create', '--data-dir', srv.dataDir, '--log-dir', logDir, '--out', offline]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ends in a partial record at offset \d+ .*left out, as the server's start-up does/);
  assert.equal(statSync(seg).size, sizeBefore, 'the source is only read: the server cuts its own tail when it starts');
  assert.deepEqual(readFileSync(seg), buf);
  await offlineMatchesOnline(work, online, offline, before);
});

test('offline backup of an Apache ZooKeeper data dir: the state `ark migrate` imports, with its session', async () => {
  const work = tempDir('offline-zk');
  const zk = join(work, 'zk');
  mkdirSync(join(zk, 'version-2'), { recursive: true });
  for (const f of ['snapshot.0', 'snapshot.a', 'log.1'])
    writeFileSync(join(zk, 'version-2', f), readFileSync(join(repoRoot, 'test', 'fixtures', 'zk38', f)));
  const file = join(work, 'zk.arkb');
  const made = await create(['--data-dir', zk, '--out', file]);
  assert.deepEqual([made.kind, made.zxid, made.nodes, made.sessions], ['zookeeper', '0xa', 9, 1]);
  assert.ok(made.notes?.some((n) => /ZooKeeper digest check: equal to ZooKeeper's/.test(n)));
  assert.equal((await ark(['backup', 'verify', file])).code, 0);
  const b = readBackup(file, readFileSync(file));
  assert.deepEqual(b.snapshot.sessions, [{ id: 72057736722448384n, timeoutMs: b.snapshot.sessions[0]!.timeoutMs }]);
  assert.deepEqual([...b.snapshot.tree.nodes.keys()].sort(), [
    '/',
    '/app',
    '/app/empty',
    '/app/eph',
    '/cont',
    '/cont/k',
    '/zookeeper',
    '/zookeeper/config',
    '/zookeeper/quota',
  ]);
  // the same state as `ark migrate` lays down, every field: diff of the backup and the migrated Ark dir
  const migrated = join(work, 'migrated');
  const m = await ark(['migrate', 'from-zookeeper', '--source', zk, '--data-dir', migrated]);
  assert.equal(m.code, 0, m.stderr);
  const d = await ark(['backup', 'diff', migrated, file]);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  // neither kind of data dir: a clear refusal
  const none = await ark(['backup', 'create', '--data-dir', work, '--out', join(work, 'x.arkb')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /neither an Ark data dir \(ark-v1\/\) nor an Apache ZooKeeper one \(version-2\/\)/);
});

test('an ensemble: offline backups of every stopped member hold what the online backup held, and diff compares live members', async () => {
  const work = tempDir('offline-ens');
  const adminPorts = [await freePort(), await freePort(), await freePort()];
  const admin = (id: number): string => `http://127.0.0.1:${adminPorts[id - 1]}`;
  const ens = await startEnsemble({
    memberCfg: (id) => ({ 'admin.enableServer': true, 'admin.serverPort': adminPorts[id - 1]!, 'admin.serverAddress': '127.0.0.1' }),
  });
  const online = join(work, 'online.arkb');
  try {
    await ens.leader(30000);
    await ens.serving();
    const c = await ZkClient.connect({ port: ens.members[0]!.port, sessionTimeoutMs: 30000 });
    try {
      await populate(c);
      await c.sync('/');
    } finally {
      c.disconnect();
    }
    const follower = (await Promise.all(ens.members.map(async (m) => ((await ens.mode(m)) === 'follower' ? m : null)))).find((m) => m)!;
    await create(['--admin', admin(follower.id), '--out', online]);
    // every member serves the same /data; /zookeeper/config is each member's own (its mtime)
    for (const m of ens.members) {
      await waitUntil(
        async () => (await ark(['backup', 'diff', online, admin(m.id), '--path', '/data', '--summary'])).code === 0,
        `member ${m.id} to hold /data as the backup does`,
      );
    }
    const self = await ark(['backup', 'diff', online, admin(follower.id), '--json', '--summary']);
    assert.equal(self.code, 0, self.stdout);
    for (const m of ens.members) await m.proc?.stop({ keepData: true });
    for (const m of ens.members) {
      const file = join(work, `offline-${m.id}.arkb`);
      const made = await create(['--data-dir', m.dataDir, '--out', file]);
      assert.ok(
        made.notes?.some((n) => /an ensemble member's \(it holds myid\)/.test(n)),
        JSON.stringify(made.notes),
      );
      assert.equal(made.sessions, 1, `member ${m.id}: the open session`);
      const d = await ark(['backup', 'diff', online, file, '--path', '/data']);
      assert.equal(d.code, 0, `member ${m.id}: ${d.stdout}${d.stderr}`);
      assert.equal((await ark(['backup', 'verify', file])).code, 0);
    }
  } finally {
    await ens.stop();
  }
});
