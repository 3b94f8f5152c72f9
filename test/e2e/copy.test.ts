// `ark copy` as an operator runs it (the real CLI): a varied tree on one Ark server is copied live
// into /backup-copy of another and both are walked and compared (data byte for byte with null kept
// null, ACLs, child names); a second run reports conflicts only where data differ, --overwrite
// fixes them, --dry-run writes nothing, unreadable nodes ask for --auth, a copy inside one
// service leaves its own target out, and the exit codes are 0 / 1 / 2. Connections cut mid-copy
// (through a TCP proxy) do not stop it; a session that expires does, with one line. With Apache
// ZooKeeper 3.8 installed, a tree on ZooKeeper is copied into Ark and compared the same way.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag, OpCode, Perms, READ_ACL_UNSAFE, type ACL } from '../../src/wire/protocol.js';
import { digestOf } from '../../src/tree/acl.js';
import { CopyError, copyTree, parseConnectString, type CopyReport } from '../../src/backup/copy.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { arkBin, freePort, requireOrSkip, type RunningServer } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { describeTool, runTool, type ToolResult } from '../helpers/clitools.js';
import { waitUntil } from '../helpers/wait.js';
import { TcpProxy } from '../client/helpers.js';

const ALICE = digestOf('alice:pw');
const ALICE_ONLY: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'digest', id: ALICE } }];
const ALICE_AND_READERS: ACL[] = [...ALICE_ONLY, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
const AUTH = ['--auth', 'digest:alice:pw'];

function ark(...args: string[]): Promise<ToolResult> {
  return runTool(process.execPath, [arkBin, ...args], { timeoutMs: 120000 });
}

async function copy(...args: string[]): Promise<{ r: ToolResult; report: CopyReport }> {
  const r = await ark('copy', '--json', ...args);
  assert.ok(r.code === 0 || r.code === 1, describeTool(r));
  let report: CopyReport;
  try {
    report = JSON.parse(r.stdout) as CopyReport;
  } catch {
    assert.fail(`not a JSON report: ${describeTool(r)}`);
  }
  return { r, report };
}

/** getData keeping null data null (ZkClient.getData turns it into an empty buffer). */
async function rawData(c: ZkClient, path: string): Promise<string | null> {
  const r = await c.send({ type: OpCode.getData, req: { path, watch: false } });
  const d = r.bufferOrNull();
  return d === null ? null : Buffer.from(d).toString('base64');
}

interface Seen {
  data: string | null;
  acl: string[];
  children: string[];
}

/**
 * The subtree at root as a copy should reproduce it, keyed by the path relative to root:
 * data, ACL and child names, leaving out ephemerals and /zookeeper (as the copy does).
 */
async function tree(c: ZkClient, root: string): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    const [data, { acl }, { children, stat }] = await Promise.all([rawData(c, p), c.getACL(p), c.getChildren2(p)]);
    if (stat.ephemeralOwner !== 0n) continue;
    const kids: string[] = [];
    for (const k of children.sort()) {
      const cp = p === '/' ? `/${k}` : `${p}/${k}`;
      if (cp === '/zookeeper') continue;
      const st = await c.exists(cp);
      if (st === null || st.ephemeralOwner !== 0n) continue;
      kids.push(k);
      queue.push(cp);
    }
    const rel = root === '/' ? p : p === root ? '/' : p.slice(root.length);
    out.set(rel, { data, acl: acl.map((a) => `${a.id.scheme}:${a.id.id}:${a.perms}`).sort(), children: kids });
  }
  return out;
}

function assertSameTree(got: Map<string, Seen>, want: Map<string, Seen>, label: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${label}: the same paths`);
  for (const [path, w] of want) assert.deepEqual(got.get(path), w, `${label}: ${path}`);
}

async function removeTree(c: ZkClient, root: string): Promise<void> {
  const order: string[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    order.push(p);
    for (const k of await c.getChildren(p)) queue.push(`${p}/${k}`);
  }
  for (const p of order.reverse()) await c.delete(p);
}

const BIG = randomBytes(200_000);

/**
 * A varied tree: nesting, binary / empty / null / large data, unicode names, digest ACLs, a
 * read-only node with a child, sequential names with a gap, ephemerals, 300 siblings, a
 * container and a TTL node. The creating session must stay open (its ephemerals).
 */
async function buildTree(c: ZkClient): Promise<void> {
  await c.addAuth('digest', 'alice:pw');
  await c.create('/app', 'root');
  await c.create('/app/a', 'a');
  await c.create('/app/a/b', 'b');
  await c.create('/app/a/b/c', 'deep');
  await c.create('/app/bin', Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  await c.create('/app/null', null);
  await c.create('/app/empty', '');
  await c.create('/app/big', BIG);
  await c.create('/app/ünïcødé ✓', 'unicode');
  await c.create('/secret', 'only alice', { acl: ALICE_ONLY });
  await c.create('/secret/inner', 'still only alice', { acl: ALICE_ONLY });
  await c.create('/shared', 'alice writes, all read', { acl: ALICE_AND_READERS });
  await c.create('/ro', 'read-only for all');
  await c.create('/ro/kid', 'a child under a read-only parent');
  await c.setACL('/ro', READ_ACL_UNSAFE);
  await c.create('/queue', null);
  for (let i = 0; i < 5; i++) await c.create('/queue/item-', `item${i}`, { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
  await c.delete('/queue/item-0000000001');
  await c.create('/queue/lock-', 'session-bound', { flags: CreateFlag.EPHEMERAL_SEQUENTIAL });
  await c.create('/app/eph', 'ephemeral', { flags: CreateFlag.EPHEMERAL });
  await c.create('/many');
  await Promise.all(Array.from({ length: 300 }, (_, i) => c.create(`/many/n${String(i).padStart(3, '0')}`, `v${i}`)));
  await c.create2('/cont', 'container', { container: true, flags: CreateFlag.CONTAINER });
  await c.create('/cont/x', 'keeps the container');
  await c.create2('/ttl', 'ttl node', { flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 3_600_000 });
}

let src: InProc;
let dst: InProc;
let s: ZkClient;
let d: ZkClient;
before(async () => {
  // the clients below send no pings and sit idle while other tests start servers: ask for
  // sessions that outlast that (tickTime 200 alone caps them at 4 s, which a loaded run exceeded)
  const cfg = { maxSessionTimeout: 60000 };
  [src, dst] = await Promise.all([startInProc(cfg), startInProc(cfg)]);
  s = await src.client({ sessionTimeoutMs: 30000 });
  d = await dst.client({ sessionTimeoutMs: 30000 });
  await d.addAuth('digest', 'alice:pw');
  await buildTree(s);
});
after(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
});

const at = (srv: InProc, path = ''): string => `127.0.0.1:${srv.port}${path}`;

test('ark_to_ark_copy_reproduces_data_acls_and_names_and_reports_conflicts_overwrite_and_dry_run', { timeout: 120000 }, async () => {
  const want = await tree(s, '/');
  // the first host is down: the next one in the list is used
  const deadPort = await freePort();
  const first = await copy('--from', `127.0.0.1:${deadPort},${at(src)}`, '--to', at(dst, '/backup-copy'), ...AUTH);
  assert.equal(first.r.code, 0, describeTool(first.r));
  const r1 = first.report;
  assert.equal(r1.source.connected, at(src));
  assert.equal(r1.ok, true);
  assert.equal(r1.created, want.size, 'every node of the source (but ephemerals and /zookeeper)');
  assert.equal(r1.nodesRead, want.size + 2, 'the two ephemerals were read too');
  assert.deepEqual(r1.skippedByReason, { ephemeral: 2, zookeeper: 1 });
  assert.deepEqual(
    r1.nodes
      .filter((n) => n.action === 'skip')
      .map((n) => n.path)
      .sort(),
    ['/app/eph', '/queue/lock-0000000005', '/zookeeper'],
  );
  assert.equal(r1.conflicts + r1.updated + r1.unchanged + r1.failed, 0);
  assert.ok(r1.bytes >= BIG.length && r1.bytesWritten === r1.bytes - Buffer.byteLength('ephemeral') - Buffer.byteLength('session-bound'));
  assertSameTree(await tree(d, '/backup-copy'), want, 'first copy');
  assert.equal(await rawData(d, '/backup-copy/app/null'), null, 'null data stays null');
  assert.equal(await rawData(d, '/backup-copy/app/empty'), '', 'empty data stays empty');
  assert.equal(await d.exists('/backup-copy/app/eph'), null, 'ephemerals are skipped by default');

  // what a logical copy cannot keep: the parent's sequence counter restarts from the copy's own cversion
  const srcQueue = (await s.getChildren2('/queue')).stat;
  const dstQueue = (await d.getChildren2('/backup-copy/queue')).stat;
  assert.equal(dstQueue.cversion, 4, 'the copy created 4 children');
  assert.notEqual(srcQueue.cversion, dstQueue.cversion);
  // containers and TTL nodes cannot be told from persistent ones by a client: they arrive persistent
  // a real container beside it, emptied at the same time, shows the container check has run
  await d.create2('/control-cont', 'container', { container: true, flags: CreateFlag.CONTAINER });
  await d.create('/control-cont/x', 'keeps the container');
  await d.delete('/control-cont/x');
  await d.delete('/backup-copy/cont/x');
  await waitUntil(async () => (await d.exists('/control-cont')) === null, "the destination's container check to remove an empty container");
  assert.ok(await d.exists('/backup-copy/cont'), 'the copied container is a persistent node');

  // second run without --overwrite: conflicts exactly where data differ; new nodes created
  await d.create('/backup-copy/cont/x', 'keeps the container');
  await s.setData('/app/a', 'a changed on the source');
  await d.setData('/backup-copy/app/bin', 'changed on the destination');
  await s.create('/app/new', 'new on the source');
  const second = await copy('--from', at(src), '--to', at(dst, '/backup-copy'), ...AUTH);
  assert.equal(second.r.code, 1, `conflicts exit 1: ${describeTool(second.r)}`);
  const r2 = second.report;
  assert.deepEqual(
    r2.nodes
      .filter((n) => n.action === 'conflict')
      .map((n) => n.target)
      .sort(),
    ['/backup-copy/app/a', '/backup-copy/app/bin'],
  );
  assert.equal(r2.conflicts, 2);
  assert.equal(r2.created, 1);
  assert.equal(r2.updated, 0);
  assert.equal(r2.failed, 0);
  assert.equal(r2.unchanged, want.size - 2, 'everything else is already the same');
  assert.equal((await d.getData('/backup-copy/app/a')).data.toString(), 'a', 'a conflict is left alone');
  // the human report says so too
  const human = await ark('copy', '--from', at(src), '--to', at(dst, '/backup-copy'), ...AUTH);
  assert.equal(human.code, 1, describeTool(human));
  assert.match(human.stdout, /conflict \/backup-copy\/app\/a \(from \/app\/a\): exists with different data \(--overwrite replaces it\)/);
  assert.match(human.stdout, /conflicts {2}2/);

  // --dry-run --overwrite: lists the updates, writes nothing
  const dry = await copy('--from', at(src), '--to', at(dst, '/backup-copy'), ...AUTH, '--overwrite', '--dry-run');
  assert.equal(dry.r.code, 0, describeTool(dry.r));
  assert.equal(dry.report.dryRun, true);
  assert.equal(dry.report.updated, 2);
  assert.deepEqual(
    dry.report.nodes
      .filter((n) => n.action === 'update')
      .map((n) => n.target)
      .sort(),
    ['/backup-copy/app/a', '/backup-copy/app/bin'],
  );
  assert.equal((await d.getData('/backup-copy/app/bin')).data.toString(), 'changed on the destination');

  // --overwrite fixes them
  const third = await copy('--from', at(src), '--to', at(dst, '/backup-copy'), ...AUTH, '--overwrite');
  assert.equal(third.r.code, 0, describeTool(third.r));
  assert.equal(third.report.updated, 2);
  assert.equal(third.report.conflicts, 0);
  assert.equal(third.report.created, 0);
  assertSameTree(await tree(d, '/backup-copy'), await tree(s, '/'), 'after --overwrite');

  // --dry-run into a new path: every node listed, nothing created
  const fresh = await copy('--from', at(src, '/app'), '--to', at(dst, '/dry/run'), ...AUTH, '--dry-run');
  assert.equal(fresh.r.code, 0, describeTool(fresh.r));
  const appNodes = (await tree(s, '/app')).size;
  assert.equal(fresh.report.created, appNodes + 1, 'the /app subtree and the missing parent /dry');
  assert.equal(fresh.report.nodes.filter((n) => n.action === 'create').length, appNodes + 1);
  assert.ok(fresh.report.nodes.some((n) => n.target === '/dry/run/a/b/c' && n.action === 'create'));
  assert.equal(await d.exists('/dry'), null, 'a dry run creates nothing');
  const dryHuman = await ark('copy', '--from', at(src, '/app'), '--to', at(dst, '/dry/run'), '--dry-run');
  assert.equal(dryHuman.code, 0, describeTool(dryHuman));
  assert.match(dryHuman.stdout, /^would create \/dry\/run\/a\/b\/c \(from \/app\/a\/b\/c\)$/m);
  assert.equal(await d.exists('/dry'), null);
});

test('--include-ephemerals_copies_them_as_persistent_nodes', { timeout: 60000 }, async () => {
  const { r, report } = await copy('--from', at(src, '/app'), '--to', at(dst, '/with-eph'), '--include-ephemerals');
  assert.equal(r.code, 0, describeTool(r));
  assert.equal(report.ephemeralsAsPersistent, 1);
  assert.match(report.nodes.find((n) => n.path === '/app/eph')?.detail ?? '', /copied as a persistent node \(ephemeral of session 0x/);
  const st = await d.exists('/with-eph/eph');
  assert.ok(st && st.ephemeralOwner === 0n);
  assert.equal((await d.getData('/with-eph/eph')).data.toString(), 'ephemeral');
});

test('unreadable_nodes_are_skipped_with_a_hint_to_pass_auth', { timeout: 60000 }, async () => {
  const { r, report } = await copy('--from', at(src), '--to', at(dst, '/no-auth'));
  assert.equal(r.code, 1, describeTool(r));
  assert.deepEqual(report.skippedByReason, { 'no-auth': 1, 'acl-hidden': 1, ephemeral: 2, zookeeper: 1 });
  assert.equal(report.nodes.find((n) => n.reason === 'no-auth')?.path, '/secret', 'its child is not even listed');
  assert.equal(await d.exists('/no-auth/secret'), null);
  // readable, but getACL shows alice's digest as alice:x to a client without ADMIN: copying that
  // ACL would lock alice out, so the node is skipped too
  assert.deepEqual(
    (await s.getACL('/shared')).acl.map((a) => a.id.id),
    [ALICE, 'anyone'],
    'alice sees her digest',
  );
  assert.equal(report.nodes.find((n) => n.reason === 'acl-hidden')?.path, '/shared');
  assert.equal(await d.exists('/no-auth/shared'), null);
  assert.deepEqual((await d.getACL('/no-auth/ro')).acl, READ_ACL_UNSAFE, 'a read-only node with a child gets its exact ACL back');
  assert.ok(await d.exists('/no-auth/ro/kid'));
  const human = await ark('copy', '--from', at(src), '--to', at(dst, '/no-auth'));
  assert.equal(human.code, 1);
  assert.match(human.stdout, /not readable by the copier \(NoAuth\), nor its subtree: pass --auth digest:user:password/);
  assert.match(human.stdout, /^ {2}\/shared$/m);
  assert.match(human.stdout, /^incomplete: 1 node not readable \(pass --auth digest:user:password\); 1 node with digest ACLs hidden/m);
});

test('a_copy_within_one_service_leaves_its_own_target_out_and_refuses_overlaps', { timeout: 60000 }, async () => {
  const once = await copy('--from', at(src, '/app'), '--to', at(src, '/app/self-copy'));
  assert.equal(once.r.code, 0, describeTool(once.r));
  const twice = await copy('--from', `localhost:${src.port}/app`, '--to', at(src, '/app/self-copy'));
  assert.equal(twice.r.code, 0, describeTool(twice.r));
  assert.equal(twice.report.skippedByReason.target, 1);
  assert.equal(twice.report.created, 0);
  assert.equal(twice.report.conflicts, 0);
  assert.equal(await s.exists('/app/self-copy/self-copy'), null, 'no copy of the copy');
  const overlap = await ark('copy', '--from', at(src, '/app'), '--to', at(src, '/'));
  assert.equal(overlap.code, 2, describeTool(overlap));
  assert.match(overlap.stderr, /^ark copy: source \/app and destination \/ overlap on the same service/);
  await removeTree(s, '/app/self-copy');
});

test('connections_cut_mid_copy_on_both_sides_do_not_stop_it', { timeout: 120000 }, async () => {
  const want = await tree(s, '/many');
  const srcProxy = await TcpProxy.start(at(src));
  const dstProxy = await TcpProxy.start(at(dst));
  try {
    // at the 50th create the destination's answers are held, then thrown away with the
    // connection: creates that were applied come back as ConnectionLoss, and their retries meet
    // NodeExists (the node this copy made)
    let creates = 0;
    let reads = 0;
    // reads are ahead of writes: the source connection is cut with reads in flight
    srcProxy.on('frame', (f: { op: number }) => {
      if (f.op === OpCode.getData && ++reads === 100) setImmediate(() => srcProxy.cut());
    });
    dstProxy.on('frame', (f: { op: number }) => {
      if (f.op !== OpCode.create || ++creates !== 50) return;
      setImmediate(() => {
        dstProxy.freeze();
        setTimeout(() => dstProxy.thaw({ dropFrozen: true }), 300);
      });
    });
    const report = await copyTree({
      from: `${srcProxy.connectString}/many`,
      to: `${dstProxy.connectString}/cut-copy`,
    });
    assert.equal(srcProxy.connections, 2, 'the source connection was cut once and came back');
    assert.equal(dstProxy.connections, 2, 'the destination connection was cut once and came back');
    assert.equal(report.failed, 0, JSON.stringify(report.nodes));
    assert.equal(report.ok, true);
    assert.equal(report.created, want.size, 'every node of /many, itself included');
    assert.ok(creates > report.created, `creates cut off were made again (${creates} sent for ${report.created} nodes)`);
    assert.ok(reads > report.nodesRead, `reads cut off were made again (${reads} sent for ${report.nodesRead} nodes)`);
    assertSameTree(await tree(d, '/cut-copy'), want, 'copy through cut connections');
  } finally {
    await Promise.all([srcProxy.close(), dstProxy.close()]);
  }
});

test('a_session_that_expires_mid_copy_ends_it_with_one_line', { timeout: 60000 }, async () => {
  const proxy = await TcpProxy.start(at(src));
  try {
    // at the 100th read the source stops answering, and new connections to it hang: the session
    // runs out with reads outstanding
    let reads = 0;
    proxy.on('frame', (f: { op: number }) => {
      if (f.op === OpCode.getData && ++reads === 100) proxy.freeze();
    });
    const copying = copyTree({ from: `${proxy.connectString}/many`, to: at(dst, '/expired-copy'), sessionTimeoutMs: 2000 });
    await assert.rejects(copying, (e: Error) => {
      assert.ok(e instanceof CopyError, String(e));
      assert.match(
        e.message,
        /^lost the session to 127\.0\.0\.1:\d+ \(source\) after \d+ nodes read: SessionExpired \(out of reach for longer than the session timeout, 2000 ms\)$/,
      );
      return true;
    });
  } finally {
    proxy.thaw();
    await proxy.close();
  }
});

test('exit_codes_and_one_line_errors', { timeout: 60000 }, async () => {
  const dead = await freePort();
  const unreachable = await ark('copy', '--from', `127.0.0.1:${dead}`, '--to', at(dst));
  assert.equal(unreachable.code, 1, describeTool(unreachable));
  assert.equal(unreachable.stderr, `ark copy: cannot connect to 127.0.0.1:${dead} (source): connection refused\n`);
  const noDest = await ark('copy', '--from', at(src), '--to', `127.0.0.1:${dead}/x`);
  assert.equal(noDest.code, 1, describeTool(noDest));
  assert.equal(noDest.stderr, `ark copy: cannot connect to 127.0.0.1:${dead} (destination): connection refused\n`);
  for (const bad of ['127.0.0.1:notaport', '127.0.0.1:70000', '::1:2181', '127.0.0.1:2181/trailing//x', ',', '']) {
    const r = await ark('copy', '--from', bad, '--to', at(dst));
    assert.equal(r.code, 2, `${bad}: ${describeTool(r)}`);
    assert.match(r.stderr, /^ark copy: --from ".*": .* \(expected host:port\[,host:port\.\.\.\]\[\/path\]\)\n$/);
  }
  const missingTo = await ark('copy', '--from', at(src));
  assert.equal(missingTo.code, 2, describeTool(missingTo));
  const both = await ark('copy', '--from', at(src), '--to', at(dst), '--include-ephemerals', '--exclude-ephemerals');
  assert.equal(both.code, 2, describeTool(both));
  const badAuth = await ark('copy', '--from', at(src), '--to', at(dst), '--auth', 'nocolon');
  assert.equal(badAuth.code, 2, describeTool(badAuth));
  const noSource = await ark('copy', '--from', at(src, '/nope'), '--to', at(dst, '/nope'));
  assert.equal(noSource.code, 1, describeTool(noSource));
  assert.equal(noSource.stderr, `ark copy: /nope does not exist on ${at(src)} (source)\n`);
  const help = await ark('copy', '--help');
  assert.equal(help.code, 0);
  for (const s of [
    'czxid, mzxid, pzxid',
    'ctime, mtime',
    'dataVersion, cversion, aversion',
    'sequence',
    'ephemeral owners and sessions',
    'container and TTL',
    'not a snapshot',
    '`ark backup` keeps all of it',
  ])
    assert.ok(help.stdout.includes(s), `help mentions ${s}`);
});

test('connect_strings_parse_hosts_ipv6_default_port_and_path', () => {
  assert.deepEqual(parseConnectString('zk1:2181,zk2,[::1]:2182,[fe80::1]/app/x', 'source'), {
    hosts: [
      { host: 'zk1', port: 2181 },
      { host: 'zk2', port: 2181 },
      { host: '::1', port: 2182 },
      { host: 'fe80::1', port: 2181 },
    ],
    path: '/app/x',
  });
  assert.deepEqual(parseConnectString('127.0.0.1:2181/', 'destination'), { hosts: [{ host: '127.0.0.1', port: 2181 }], path: '/' });
  assert.deepEqual(parseConnectString('h/app/', 'destination'), { hosts: [{ host: 'h', port: 2181 }], path: '/app' });
  for (const bad of ['', '/app', 'h:', 'h:0', '[::1', '[nothex]:1', 'a,,b', 'h/a/../b', 'h:1:2']) {
    assert.throws(
      () => parseConnectString(bad, 'source'),
      (e: Error) => e.name === 'CopyError' && (e as { usage?: boolean }).usage === true,
      bad,
    );
  }
});

test('zookeeper_38_to_ark_copy_reproduces_the_tree', { timeout: 240000 }, async (t) => {
  if (requireOrSkip(zookeeperMissing())) {
    t.skip('Apache ZooKeeper not available');
    return;
  }
  let zk: RunningServer | null = null;
  const clients: ZkClient[] = [];
  try {
    zk = await startZooKeeper();
    const z = await ZkClient.connect({ port: zk.port, sessionTimeoutMs: 30000 });
    clients.push(z);
    await buildTree(z);
    const want = await tree(z, '/');
    assert.ok(want.has('/ttl') && want.has('/cont/x') && want.has('/ro/kid') && !want.has('/app/eph'));
    const { r, report } = await copy('--from', zk.connectString, '--to', at(dst, '/from-zk'), ...AUTH);
    assert.equal(r.code, 0, describeTool(r));
    assert.equal(report.created, want.size);
    assert.deepEqual(report.skippedByReason, { ephemeral: 2, zookeeper: 1 });
    assertSameTree(await tree(d, '/from-zk'), want, 'ZooKeeper -> Ark');
    assert.equal(await rawData(d, '/from-zk/app/null'), null, 'null data from ZooKeeper stays null');
    // and back again: Ark -> ZooKeeper, into a new path
    const back = await copy('--from', at(dst, '/from-zk'), '--to', `${zk.connectString}/round-trip`, ...AUTH);
    assert.equal(back.r.code, 0, describeTool(back.r));
    assertSameTree(await tree(z, '/round-trip'), want, 'Ark -> ZooKeeper');
  } finally {
    for (const c of clients) c.disconnect();
    await zk?.stop();
  }
});
