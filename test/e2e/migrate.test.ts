// `ark migrate from-zookeeper` as an operator runs it: a real Apache ZooKeeper 3.8 builds a varied
// tree (restarted once, so there is a snapshot plus log after it, and stopped with a session still
// open), the data dir is migrated, Ark starts on the result and a client walk shows exactly the
// same data, ACLs and Stat fields. Without Java, the committed ZooKeeper 3.8 fixtures are migrated
// several ways (snapshot alone, log replay alone, damaged / compressed snapshots) and must agree;
// damaged logs and non-empty targets are refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag, OpCode, OPEN_ACL_UNSAFE, Perms, type ACL, type MultiOp, type Stat } from '../../src/wire/protocol.js';
import { digestOf } from '../../src/tree/acl.js';
import { readSnapshot } from '../../src/storage/snapshot.js';
import type { MigrateReport } from '../../src/backup/migrate.js';
import { adler32 } from '../../src/storage/zkformat.js';
import { arkBin, repoRoot, requireOrSkip, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { describeTool, runTool, type ToolResult } from '../helpers/clitools.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function work(tag: string): string {
  const d = tempDir(`migrate-${tag}`);
  dirs.push(d);
  return d;
}

function ark(...args: string[]): Promise<ToolResult> {
  return runTool(process.execPath, [arkBin, ...args], { timeoutMs: 120000 });
}

async function migrate(source: string, target: string, ...extra: string[]): Promise<{ r: ToolResult; report: MigrateReport | null }> {
  const r = await ark('migrate', 'from-zookeeper', '--source', source, '--data-dir', target, '--json', ...extra);
  return { r, report: r.code === 0 ? (JSON.parse(r.stdout) as MigrateReport) : null };
}

interface Seen {
  data: string;
  acl: ACL[];
  stat: Stat;
}

/** Every node with its data, ACL and full Stat, as a client sees them. */
async function walk(c: ZkClient): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  const stack = ['/'];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const [{ data, stat }, { acl }, kids] = await Promise.all([c.getData(p), c.getACL(p), c.getChildren(p)]);
    out.set(p, { data: data.toString('base64'), acl, stat });
    for (const k of kids) stack.push(p === '/' ? `/${k}` : `${p}/${k}`);
  }
  return out;
}

function assertSameTree(got: Map<string, Seen>, want: Map<string, Seen>): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the same paths');
  for (const [path, w] of want) assert.deepEqual(got.get(path), w, path);
}

const ALICE = digestOf('alice:pw');
const ALICE_ONLY: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'digest', id: ALICE } }];
const ALICE_AND_READERS: ACL[] = [...ALICE_ONLY, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
const create = (path: string, data: string | Buffer | null, flags = 0, acl: ACL[] = OPEN_ACL_UNSAFE): MultiOp => ({
  type: OpCode.create,
  req: { path, data: typeof data === 'string' ? Buffer.from(data) : data, acl, flags, ttl: -1 },
});

async function ignoreFailure(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    /* an ErrorTxn in the log is what we want */
  }
}

/** Phase 1 of the history: everything but sessions kept open. */
async function firstHistory(c: ZkClient, port: number): Promise<void> {
  await c.addAuth('digest', 'alice:pw');
  await c.create('/app', 'root');
  await c.create('/app/a', 'a');
  await c.create('/app/a/b', 'b');
  await c.create('/app/a/b/c', 'deep');
  await c.create('/app/bin', Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  await c.create('/app/null', null);
  await c.create('/app/empty', '');
  await c.create('/app/empty2', '');
  await c.create('/app/secret', 'only alice', { acl: ALICE_ONLY });
  await c.create('/app/shared', 'alice writes, all read', { acl: ALICE_AND_READERS });
  // the auth scheme: ZooKeeper stores the creator's ids (digest alice)
  await c.create('/app/authacl', 'x', { acl: [{ perms: Perms.READ | Perms.WRITE | Perms.ADMIN, id: { scheme: 'auth', id: '' } }] });
  await c.create('/app/q');
  for (let i = 0; i < 3; i++) await c.create('/app/q/item-', `item${i}`, { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
  await c.create2('/cont', 'container', { container: true, flags: CreateFlag.CONTAINER });
  await c.create('/cont/child', 'keeps the container');
  await c.create2('/ttl', 'ttl node', { flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 3_600_000 });
  await c.setData('/app', 'root v1');
  await c.setData('/app/a', 'a v1');
  await c.setData('/app/a', 'a v2');
  await c.setACL('/app/shared', ALICE_ONLY);
  await c.delete('/app/q/item-0000000001');
  await c.multi([
    create('/app/m1', 'from multi'),
    { type: OpCode.setData, req: { path: '/app/a/b', data: Buffer.from('set in multi'), version: -1 } },
    { type: OpCode.delete, req: { path: '/app/empty2', version: -1 } },
    { type: OpCode.check, req: { path: '/app', version: 1 } },
  ]);
  // a failed multi and a failed create still take a zxid (ErrorTxn)
  await ignoreFailure(c.multi([create('/app/m2', 'x'), create('/app/a', 'exists')]));
  await ignoreFailure(c.create('/app/a', 'exists'));
  // an ephemeral whose session closes: the closeSession txn deletes it
  const gone = await ZkClient.connect({ port, sessionTimeoutMs: 30000 });
  await gone.create('/app/gone', 'bye', { flags: CreateFlag.EPHEMERAL });
  await gone.close();
}

test('a_zookeeper_38_data_dir_migrates_with_every_stat_field_acl_and_open_session', { timeout: 240000 }, async (t) => {
  if (requireOrSkip(zookeeperMissing())) {
    t.skip('Apache ZooKeeper not available');
    return;
  }
  const dir = work('zk');
  const zkData = join(dir, 'zk');
  let zk: RunningServer | null = null;
  let arkSrv: RunningServer | null = null;
  const clients: ZkClient[] = [];
  try {
    // first run: most of the history, then a restart (ZooKeeper snapshots on start-up)
    zk = await startZooKeeper({ dataDir: zkData });
    const c1 = await ZkClient.connect({ port: zk.port, sessionTimeoutMs: 30000 });
    clients.push(c1);
    await firstHistory(c1, zk.port);
    await c1.close();
    await zk.stop({ keepData: true });
    zk = await startZooKeeper({ dataDir: zkData });

    // second run: more history that only the log after the restart snapshot holds
    const c = await ZkClient.connect({ port: zk.port, sessionTimeoutMs: 30000 });
    clients.push(c);
    await c.addAuth('digest', 'alice:pw');
    await c.create('/phase2', 'p2');
    await c.create('/phase2/x', Buffer.from([0, 0xff, 0x80, 0x7f]));
    await c.setData('/app/bin', Buffer.from('replaced'));
    await c.delete('/app/a/b/c');
    await c.setACL('/app/authacl', ALICE_AND_READERS);
    await c.create('/app/q/item-', 'item3', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
    await c.create2('/cont2', null, { container: true, flags: CreateFlag.CONTAINER });
    await c.create('/cont2/k', 'k');
    await c.create2('/ttl2-', 'ttl seq', { flags: CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 7_200_000 });
    await c.multi([
      create('/phase2/m', 'multi 2'),
      { type: OpCode.setData, req: { path: '/phase2', data: Buffer.from('p2 v1'), version: 0 } },
    ]);
    await ignoreFailure(c.multi([create('/phase2/bad', 'x'), create('/phase2', 'exists')]));
    await ignoreFailure(c.create('/phase2', 'exists'));
    // a container left empty is deleted by ZooKeeper's container manager (a deleteContainer txn)
    await c.create2('/cont3', null, { container: true, flags: CreateFlag.CONTAINER });
    await c.create('/cont3/k', 'k');
    await c.delete('/cont3/k');
    for (let i = 0; i < 100 && (await c.exists('/cont3')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await c.exists('/cont3'), null, 'the container manager deleted the empty container');
    // a session that stays open when ZooKeeper stops: its ephemerals come along
    const holder = await ZkClient.connect({ port: zk.port, sessionTimeoutMs: 30000 });
    clients.push(holder);
    await holder.create('/app/eph', 'mine', { flags: CreateFlag.EPHEMERAL });
    const ephSeq = await holder.create('/app/eph-', 'mine too', { flags: CreateFlag.EPHEMERAL_SEQUENTIAL });
    await c.sync('/');
    const want = await walk(c);
    assert.equal(want.get('/app/eph')?.stat.ephemeralOwner, holder.sessionId);
    assert.ok(want.has('/ttl') && want.has('/cont/child') && !want.has('/app/gone') && !want.has('/app/m2'));
    await c.close(); // a closeSession txn; it owns no ephemerals, so the tree stays as walked
    await zk.stop({ keepData: true });
    zk = null;
    for (const cl of clients) cl.disconnect();

    const v2 = readdirSync(join(zkData, 'version-2'));
    assert.ok(v2.filter((f) => f.startsWith('snapshot.')).length >= 2, `a snapshot from each start: ${v2.join(' ')}`);
    assert.ok(v2.filter((f) => f.startsWith('log.')).length >= 2, `a log from each run: ${v2.join(' ')}`);

    const target = join(dir, 'ark');
    const { r, report } = await migrate(zkData, target);
    assert.equal(r.code, 0, describeTool(r));
    assert.ok(report);
    assert.ok(report.txnsReplayed > 0, 'part of the history is only in the log after the last snapshot');
    assert.equal(report.digest.result, 'match', report.digest.message);
    assert.ok(report.digest.txns.last?.match, 'the last txn digest matches');
    assert.equal(report.sessions, 1, 'the open session comes along; the closed ones do not');
    assert.equal(report.ephemerals, 2);
    assert.equal(report.containers, 2);
    assert.equal(report.ttlNodes, 2);
    assert.equal(report.nodes, want.size);
    assert.equal(report.lastZxid, report.target.zxid);
    assert.deepEqual(report.orphanEphemeralsRemoved, []);

    arkSrv = await startArk({ dataDir: target });
    const a = await ZkClient.connect({ port: arkSrv.port, sessionTimeoutMs: 30000 });
    clients.push(a);
    await a.addAuth('digest', 'alice:pw');
    assertSameTree(await walk(a), want);

    // the open session can reconnect to Ark (the same password) and keeps its ephemerals; closing it deletes them
    const back = await ZkClient.connect({ port: arkSrv.port, sessionId: holder.sessionId, passwd: holder.passwd, sessionTimeoutMs: 30000 });
    clients.push(back);
    assert.equal(back.sessionId, holder.sessionId);
    assert.ok(await a.exists('/app/eph'));
    await back.close();
    assert.equal(await a.exists('/app/eph'), null);
    assert.equal(await a.exists(ephSeq), null);
    // new writes continue after ZooKeeper's zxids
    const next = await a.create2('/after', 'x');
    assert.ok(next.stat.czxid > parseInt(report.lastZxid, 16));
  } finally {
    for (const cl of clients) cl.disconnect();
    await zk?.stop({ keepData: true });
    await arkSrv?.stop({ keepData: true });
  }
});

test('a_busy_zookeeper_with_snapshots_taken_under_load_migrates_exactly', { timeout: 240000 }, async (t) => {
  if (requireOrSkip(zookeeperMissing())) {
    t.skip('Apache ZooKeeper not available');
    return;
  }
  const dir = work('zk-busy');
  const zkData = join(dir, 'zk');
  let zk: RunningServer | null = null;
  let arkSrv: RunningServer | null = null;
  const clients: ZkClient[] = [];
  try {
    // snapCount 40: a snapshot (and a new log) every 20-40 txns, taken while pipelined writes apply,
    // so the newest snapshot's zxid usually falls inside an older log (the straddling file)
    zk = await startZooKeeper({ dataDir: zkData, cfg: { snapCount: 40 } });
    const c = await ZkClient.connect({ port: zk.port, sessionTimeoutMs: 30000 });
    clients.push(c);
    await c.create('/busy', 'b');
    for (let round = 0; round < 6; round++) {
      const ops: Array<Promise<unknown>> = [];
      for (let i = 0; i < 60; i++) {
        const p = `/busy/n${i}`;
        if (round === 0) ops.push(c.create(p, `v${i}`));
        else if (i % 3 === 0) ops.push(c.setData(p, `r${round}-${i}`));
        else if (i % 3 === 1 && round % 2 === 1) ops.push(c.delete(p));
        else if (i % 3 === 1) ops.push(c.create(p, `again ${round}`));
        else ops.push(c.create(`${p}/s-`, `${round}`, { flags: CreateFlag.PERSISTENT_SEQUENTIAL }));
      }
      await Promise.all(ops);
    }
    const want = await walk(c);
    await zk.stop({ keepData: true });
    zk = null;
    c.disconnect();
    const v2 = readdirSync(join(zkData, 'version-2'));
    assert.ok(v2.filter((f) => f.startsWith('snapshot.')).length >= 3, `snapshots taken under load: ${v2.join(' ')}`);

    const target = join(dir, 'ark');
    const { r, report } = await migrate(zkData, target);
    assert.equal(r.code, 0, describeTool(r));
    assert.ok(report);
    assert.equal(report.digest.result, 'match', report.digest.message);
    arkSrv = await startArk({ dataDir: target });
    const a = await ZkClient.connect({ port: arkSrv.port });
    clients.push(a);
    assertSameTree(await walk(a), want);
  } finally {
    for (const cl of clients) cl.disconnect();
    await zk?.stop({ keepData: true });
    await arkSrv?.stop({ keepData: true });
  }
});

// ---------- without Java: the committed ZooKeeper 3.8 fixtures ----------

const fixture = (f: string): Buffer => readFileSync(join(repoRoot, 'test', 'fixtures', 'zk38', f));

/** A ZooKeeper dataDir with the given files in version-2/. */
function zkDir(tag: string, files: Record<string, Buffer>): string {
  const d = work(tag);
  mkdirSync(join(d, 'version-2'));
  for (const [name, b] of Object.entries(files)) writeFileSync(join(d, 'version-2', name), b);
  return d;
}

/** The tree of the one Ark snapshot in dataDir, as a client would see it. */
function arkTree(dataDir: string): Map<string, Seen> {
  const sub = join(dataDir, 'ark-v1');
  const snaps = readdirSync(sub).filter((f) => f.startsWith('snapshot.'));
  assert.equal(snaps.length, 1, snaps.join(' '));
  const s = readSnapshot(snaps[0]!, readFileSync(join(sub, snaps[0]!)));
  const out = new Map<string, Seen>();
  for (const [path, n] of s.tree.nodes) out.set(path, { data: (n.data ?? Buffer.alloc(0)).toString('base64'), acl: n.acl, stat: n.stat() });
  return out;
}

const ALL = { 'snapshot.0': fixture('snapshot.0'), 'snapshot.a': fixture('snapshot.a'), 'log.1': fixture('log.1') };
const SESSION = 72057736722448384n; // the fixture's open session (0x10000..)

test('the_zookeeper_fixture_migrates_from_its_snapshot_and_identically_from_its_log', async () => {
  const fromSnap = work('fx-snap');
  const { r, report } = await migrate(zkDir('fx-all', ALL), fromSnap);
  assert.equal(r.code, 0, describeTool(r));
  assert.ok(report);
  assert.equal(basename(report.snapshot!.file), 'snapshot.a');
  assert.equal(report.txnsReplayed, 0);
  assert.equal(report.lastZxid, '0xa');
  assert.equal(report.nodes, 9);
  assert.equal(report.sessions, 1);
  assert.equal(report.digest.result, 'match');
  assert.equal(report.digest.snapshot?.result, 'match', 'the snapshot digest trailer equals the loaded tree');
  assert.deepEqual(
    report.logs.map((l) => basename(l.file)),
    ['log.1'],
    'the log that starts before the snapshot is read',
  );
  const tree = arkTree(fromSnap);
  assert.deepEqual([...tree.keys()].sort(), [
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
  assert.equal(tree.get('/app/eph')!.stat.ephemeralOwner, SESSION);
  assert.equal(tree.get('/cont')!.stat.ephemeralOwner, 0n, 'containers show owner 0 to clients');
  assert.deepEqual(tree.get('/')!.acl, OPEN_ACL_UNSAFE, 'ACL id -1 is world:anyone with every permission');
  assert.deepEqual(tree.get('/zookeeper/config')!.acl, [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]);
  assert.equal(tree.get('/zookeeper/config')!.stat.aversion, -1);
  const verify = await ark('data', 'verify', '--data-dir', fromSnap);
  assert.equal(verify.code, 0, describeTool(verify));

  // the same history replayed from the log onto the empty snapshot.0: the same tree, every txn digest equal
  const fromLog = work('fx-log');
  const m2 = await migrate(zkDir('fx-log-src', { 'snapshot.0': ALL['snapshot.0'], 'log.1': ALL['log.1'] }), fromLog);
  assert.equal(m2.r.code, 0, describeTool(m2.r));
  assert.equal(m2.report!.txnsReplayed, 10);
  assert.equal(m2.report!.digest.result, 'match');
  assert.equal(m2.report!.digest.txns.compared, 10);
  assert.equal(m2.report!.digest.txns.last?.match, true);
  assertSameTree(arkTree(fromLog), tree);

  // a damaged newest snapshot is passed over, with the reason; the older one plus the log give the same tree
  const bad = Buffer.from(ALL['snapshot.a']);
  bad[300] = bad[300]! ^ 0x20;
  const fromOlder = work('fx-older');
  const m3 = await migrate(zkDir('fx-bad-snap', { ...ALL, 'snapshot.a': bad }), fromOlder);
  assert.equal(m3.r.code, 0, describeTool(m3.r));
  assert.equal(basename(m3.report!.snapshot!.file), 'snapshot.0');
  assert.equal(m3.report!.skippedSnapshots.length, 1);
  assert.match(m3.report!.skippedSnapshots[0]!.file, /snapshot\.a$/);
  assertSameTree(arkTree(fromOlder), tree);

  // gzip-compressed snapshots are read
  const fromGz = work('fx-gz');
  const m4 = await migrate(zkDir('fx-gz-src', { 'snapshot.a.gz': gzipSync(ALL['snapshot.a']), 'log.1': ALL['log.1'] }), fromGz);
  assert.equal(m4.r.code, 0, describeTool(m4.r));
  assert.equal(m4.report!.snapshot!.compression, 'gz');
  assertSameTree(arkTree(fromGz), tree);

  // Ark starts on it and shows the tree
  const srv = await startArk({ dataDir: fromSnap });
  try {
    const c = await ZkClient.connect({ port: srv.port });
    try {
      const seen = await walk(c);
      assertSameTree(seen, tree);
    } finally {
      c.disconnect();
    }
  } finally {
    await srv.stop({ keepData: true });
  }
});

/** Where each record of a ZooKeeper log starts. */
function recordOffsets(log: Buffer): number[] {
  const starts: number[] = [];
  for (let off = 16; off + 12 <= log.length; ) {
    const len = log.readInt32BE(off + 8);
    if (len === 0) break;
    starts.push(off);
    off += 12 + len + 1;
  }
  return starts;
}

test('a_fuzzy_snapshot_is_replayed_over_as_zookeeper_does', async () => {
  // snapshot.a holds the tree at 0xa; named snapshot.5 it is a snapshot that started at 0x5 and
  // already holds txns 6..a (a fuzzy snapshot), with its digest trailer at 0xa
  const out = work('fx-fuzzy-out');
  const { r, report } = await migrate(zkDir('fx-fuzzy', { 'snapshot.5': ALL['snapshot.a'], 'log.1': ALL['log.1'] }), out);
  assert.equal(r.code, 0, describeTool(r));
  assert.ok(report);
  assert.equal(report.txnsReplayed, 5);
  assert.ok(report.replayConflicts > 0, 'creates find their nodes, deletes find them gone');
  assert.equal(report.logs[0]!.straddles, true);
  assert.equal(report.digest.fuzzyUntil, '0xa');
  assert.equal(report.digest.snapshot?.result, 'match');
  assert.ok(report.digest.txns.fuzzyMismatches > 0, 'inside the fuzzy window the digests differ, as expected');
  assert.equal(report.digest.txns.mismatched, 0);
  assert.equal(report.digest.result, 'match');
  const exact = work('fx-fuzzy-exact');
  assert.equal((await migrate(zkDir('fx-fuzzy-exact-src', { 'snapshot.a': ALL['snapshot.a'] }), exact)).r.code, 0);
  assertSameTree(arkTree(out), arkTree(exact));
});

test('a_txn_that_leaves_a_different_tree_than_zookeepers_digest_fails_unless_forced', async () => {
  // change the time of the setData at zxid 0x8 and reseal it: the checksum is right, the digest is not
  const log = Buffer.from(ALL['log.1']);
  const off = recordOffsets(log)[7]!;
  const payload = off + 12;
  assert.equal(Number(log.readBigInt64BE(payload + 12)), 8, 'the record of zxid 0x8');
  log[payload + 27] = log[payload + 27]! ^ 0x01; // the low byte of TxnHeader.time
  log.writeUInt32BE(adler32(log, payload, payload + log.readInt32BE(off + 8)), off + 4);
  const src = zkDir('fx-mismatch', { 'snapshot.0': ALL['snapshot.0'], 'log.1': log });
  const target = work('fx-mismatch-out');
  const r = await ark('migrate', 'from-zookeeper', '--source', src, '--data-dir', target);
  assert.equal(r.code, 1, describeTool(r));
  assert.match(r.stderr, /digest check failed: .*zxid 0x8.*nothing was written \(pass --force to import anyway\)/);
  assert.deepEqual(readdirSync(target), []);
  const forced = await migrate(src, target, '--force');
  assert.equal(forced.r.code, 0, describeTool(forced.r));
  assert.equal(forced.report!.digest.result, 'mismatch');
  assert.equal(forced.report!.digest.txns.firstMismatch?.zxid, '0x8');
  assert.ok(forced.report!.warnings.some((w) => /--force/.test(w)));
});

test('a_reconfig_txn_is_applied_as_the_set_data_it_records', async () => {
  // type 16 (reconfig) is a SetDataTxn; make the setData at zxid 0x8 one, reseal it, and replay
  const log = Buffer.from(ALL['log.1']);
  const off = recordOffsets(log)[7]!;
  const payload = off + 12;
  assert.equal(log.readInt32BE(payload + 28), OpCode.setData);
  log.writeInt32BE(OpCode.reconfig, payload + 28);
  log.writeUInt32BE(adler32(log, payload, payload + log.readInt32BE(off + 8)), off + 4);
  const out = work('fx-reconfig-out');
  const { r, report } = await migrate(zkDir('fx-reconfig', { 'snapshot.0': ALL['snapshot.0'], 'log.1': log }), out);
  assert.equal(r.code, 0, describeTool(r));
  assert.equal(report!.txnsReplayed, 10);
  assert.equal(report!.digest.result, 'match');
  const exact = work('fx-reconfig-exact');
  assert.equal((await migrate(zkDir('fx-reconfig-exact-src', { 'snapshot.a': ALL['snapshot.a'] }), exact)).r.code, 0);
  assertSameTree(arkTree(out), arkTree(exact));
});

test('snapshots_and_logs_in_separate_dirs_migrate_with_log_dir', async () => {
  const snaps = zkDir('fx-snapdir', { 'snapshot.0': ALL['snapshot.0'] });
  const logs = zkDir('fx-logdir', { 'log.1': ALL['log.1'] });
  const out = work('fx-logdir-out');
  const { r, report } = await migrate(snaps, out, '--log-dir', logs);
  assert.equal(r.code, 0, describeTool(r));
  assert.equal(report!.source.logDir, join(logs, 'version-2'));
  assert.equal(report!.txnsReplayed, 10);
  assert.equal(report!.digest.result, 'match');
});

test('human_output_names_the_snapshot_logs_and_digest_result', async () => {
  const r = await ark(
    'migrate',
    'from-zookeeper',
    '--source',
    join(zkDir('fx-human', ALL), 'version-2'),
    '--data-dir',
    work('fx-human-out'),
  );
  assert.equal(r.code, 0, describeTool(r));
  assert.match(r.stdout, /snapshot\s+snapshot\.a: zxid 0xa, 9 znodes, 1 session/);
  assert.match(r.stdout, /log\s+log\.1: txns 0x1\.\.0xa/);
  assert.match(r.stdout, /digest\s+match/);
  assert.match(r.stdout, /wrote .*ark-v1\/snapshot\.000000000000000a/);
});

test('a_snappy_snapshot_is_refused_with_what_to_change_on_zookeeper', async () => {
  const r = await ark(
    'migrate',
    'from-zookeeper',
    '--source',
    zkDir('fx-snappy', { 'snapshot.a.snappy': ALL['snapshot.a'] }),
    '--data-dir',
    work('fx-snappy-out'),
  );
  assert.equal(r.code, 1, describeTool(r));
  assert.match(r.stderr, /snapshot\.a\.snappy.*zookeeper\.snapshot\.compression\.method to none/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
});

test('a_corrupted_byte_in_the_middle_of_a_zookeeper_log_stops_the_import_naming_the_file', async () => {
  const log = Buffer.from(ALL['log.1']);
  log[400] = log[400]! ^ 0x20; // inside the 4th record's payload
  const target = work('fx-corrupt-out');
  const r = await ark('migrate', 'from-zookeeper', '--source', zkDir('fx-corrupt', { ...ALL, 'log.1': log }), '--data-dir', target);
  assert.equal(r.code, 1, describeTool(r));
  assert.match(r.stderr, /log\.1: txn Adler32 mismatch at offset \d+/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  assert.deepEqual(readdirSync(target), [], 'nothing written');
});

test('a_torn_last_record_is_cut_off_and_a_gap_in_the_zxids_is_refused', async () => {
  const log = ALL['log.1'];
  // torn: the last record cut short
  const torn = await migrate(
    zkDir('fx-torn', { 'snapshot.0': ALL['snapshot.0'], 'log.1': log.subarray(0, log.length - 7) }),
    work('fx-torn-out'),
  );
  assert.equal(torn.r.code, 0, describeTool(torn.r));
  assert.equal(torn.report!.lastZxid, '0x9');
  assert.equal(torn.report!.txnsReplayed, 9);
  assert.ok(torn.report!.logs[0]!.tornAt !== null);
  assert.ok(torn.report!.warnings.some((w) => /torn record/.test(w)));
  assert.equal(torn.report!.digest.result, 'match');

  // a gap: a log holding txns 3.. after a snapshot at 0
  const starts = recordOffsets(log);
  const gapLog = Buffer.concat([log.subarray(0, 16), log.subarray(starts[2]!)]);
  const gap = await ark(
    'migrate',
    'from-zookeeper',
    '--source',
    zkDir('fx-gap', { 'snapshot.0': ALL['snapshot.0'], 'log.3': gapLog }),
    '--data-dir',
    work('fx-gap-out'),
  );
  assert.equal(gap.code, 1, describeTool(gap));
  assert.match(gap.stderr, /log\.3: txn zxid 0x3 at offset 16 does not follow zxid 0x0: txns are missing/);
});

test('a_target_that_is_not_empty_is_refused_unless_forced', async () => {
  const src = zkDir('fx-target', ALL);
  const target = work('fx-target-out');
  assert.equal((await migrate(src, target)).r.code, 0);
  const again = await ark('migrate', 'from-zookeeper', '--source', src, '--data-dir', target);
  assert.equal(again.code, 2, describeTool(again));
  assert.match(again.stderr, /is not empty.*--force/);
  // an old log segment in the target is removed with --force (it would be replayed on top otherwise)
  writeFileSync(join(target, 'ark-v1', 'log.00000000000000ff'), 'old');
  const forced = await migrate(src, target, '--force');
  assert.equal(forced.r.code, 0, describeTool(forced.r));
  assert.equal(forced.report!.target.replaced, 2);
  assert.deepEqual(readdirSync(join(target, 'ark-v1')), ['snapshot.000000000000000a']);
  // a missing source and a bad option are usage errors
  assert.equal((await ark('migrate', 'from-zookeeper', '--source', join(target, 'nope'), '--data-dir', work('x'))).code, 2);
  assert.equal((await ark('migrate', 'from-zookeeper', '--data-dir', work('y'))).code, 2);
});
