// Every client opcode of ZooKeeper 3.9 end to end over a real socket against an in-process server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProc, type InProc } from '../helpers/inproc.js';
import type { ZkClient } from '../../src/client/client.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import { AddWatchMode, CreateFlag, EventType, OpCode, Perms, WatcherType, Xid } from '../../src/wire/protocol.js';
import { digestOf } from '../../src/tree/acl.js';
import { waitUntil } from '../helpers/wait.js';

const code = (c: number) => (e: unknown) => e instanceof KeeperError && e.code === c;

let srv: InProc;
let c: ZkClient;
before(async () => {
  srv = await startInProc({ 'DigestAuthenticationProvider.superDigest': digestOf('super:secret') });
  c = await srv.client();
});
after(async () => srv.stop());

describe('create family', () => {
  test('create_returns_path_and_create2_returns_stat', async () => {
    assert.equal(await c.create('/a', 'x'), '/a');
    const r = await c.create2('/b', 'hello');
    assert.equal(r.path, '/b');
    assert.equal(r.stat.dataLength, 5);
    assert.equal(r.stat.czxid, r.stat.mzxid);
    assert.equal(r.stat.czxid, r.stat.pzxid);
    assert.equal(r.stat.version, 0);
    await assert.rejects(c.create('/a'), code(ErrorCode.NodeExists));
    await assert.rejects(c.create('/missing/child'), code(ErrorCode.NoNode));
    await assert.rejects(c.create('bad'), code(ErrorCode.BadArguments));
    await assert.rejects(c.create('/a/'), code(ErrorCode.BadArguments));
  });

  test('sequential_names_use_parent_cversion', async () => {
    await c.create('/seq');
    const p1 = await c.create('/seq/n-', null, { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
    const p2 = await c.create('/seq/n-', null, { flags: CreateFlag.EPHEMERAL_SEQUENTIAL });
    assert.equal(p1, '/seq/n-0000000000');
    assert.equal(p2, '/seq/n-0000000001');
    await c.delete(p1);
    const p3 = await c.create('/seq/n-', null, { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
    assert.equal(p3, '/seq/n-0000000002', 'a delete does not lower the counter');
    const { stat } = await c.getData('/seq');
    assert.equal(stat.cversion, 4, 'visible cversion = creates + deletes');
    assert.equal(stat.numChildren, 2);
  });

  test('ephemeral_owner_and_no_children_for_ephemerals', async () => {
    const r = await c.create2('/eph', null, { flags: CreateFlag.EPHEMERAL });
    assert.equal(r.stat.ephemeralOwner, c.sessionId);
    await assert.rejects(c.create('/eph/x'), code(ErrorCode.NoChildrenForEphemerals));
    const eph = (await c.getEphemerals('/')).sort();
    assert.deepEqual(eph, ['/eph', '/seq/n-0000000001']);
    assert.deepEqual(await c.getEphemerals('/seq'), ['/seq/n-0000000001']);
  });

  test('container_is_removed_after_its_last_child_goes', async () => {
    const r = await c.create2('/cont', null, { flags: CreateFlag.CONTAINER, container: true });
    assert.equal(r.stat.ephemeralOwner, 0n, 'clients see owner 0 for containers');
    await c.create('/cont/child');
    await c.delete('/cont/child');
    const deadline = Date.now() + 5000;
    while ((await c.exists('/cont')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.equal(await c.exists('/cont'), null);
    // as ZooKeeper: the opcode decides; create with the CONTAINER flag makes a plain node
    await c.create('/plain', null, { flags: CreateFlag.CONTAINER });
    await c.create('/plain/k');
    await c.delete('/plain/k');
    // a real container emptied after it: once the container check has removed that one, it has
    // seen /plain empty too
    await c.create2('/cont-after-plain', null, { flags: CreateFlag.CONTAINER, container: true });
    await c.create('/cont-after-plain/k');
    await c.delete('/cont-after-plain/k');
    await waitUntil(async () => (await c.exists('/cont-after-plain')) === null, 'the container check to remove an emptied container');
    assert.ok(await c.exists('/plain'), 'not a container, so not removed');
  });

  test('ttl_node_expires_when_unchanged_and_childless', async () => {
    const r = await c.create2('/ttl', 'd', { flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 300 });
    assert.equal(r.stat.ephemeralOwner, 0n, 'clients see owner 0 for TTL nodes');
    await assert.rejects(c.create2('/ttl0', 'd', { flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 0 }), code(ErrorCode.BadArguments));
    await assert.rejects(c.create2('/ttlbad', 'd', { flags: CreateFlag.PERSISTENT, ttl: 100 }), code(ErrorCode.BadArguments));
    const deadline = Date.now() + 5000;
    while ((await c.exists('/ttl')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.equal(await c.exists('/ttl'), null);
  });
});

describe('reads and writes', () => {
  test('getData_setData_versions', async () => {
    await c.create('/v', 'one');
    const s1 = await c.setData('/v', 'two', 0);
    assert.equal(s1.version, 1);
    await assert.rejects(c.setData('/v', 'three', 0), code(ErrorCode.BadVersion));
    const { data, stat } = await c.getData('/v');
    assert.equal(data.toString(), 'two');
    assert.equal(stat.version, 1);
    assert.ok(stat.mzxid > stat.czxid);
    await assert.rejects(c.getData('/nope'), code(ErrorCode.NoNode));
  });

  test('exists_getChildren_getChildren2_getAllChildrenNumber', async () => {
    await c.create('/t');
    await c.create('/t/a');
    await c.create('/t/a/b');
    await c.create('/t/c');
    assert.equal(await c.exists('/t/zz'), null);
    assert.equal((await c.exists('/t'))?.numChildren, 2);
    assert.deepEqual((await c.getChildren('/t')).sort(), ['a', 'c']);
    const r = await c.getChildren2('/t');
    assert.equal(r.stat.numChildren, 2);
    assert.equal(await c.getAllChildrenNumber('/t'), 3);
    await assert.rejects(c.getChildren('/t/zz'), code(ErrorCode.NoNode));
  });

  test('delete_version_and_not_empty', async () => {
    await assert.rejects(c.delete('/t'), code(ErrorCode.NotEmpty));
    await assert.rejects(c.delete('/t/c', 5), code(ErrorCode.BadVersion));
    await c.delete('/t/c', 0);
    await assert.rejects(c.delete('/t/c'), code(ErrorCode.NoNode));
    await assert.rejects(c.delete('/zookeeper'), code(ErrorCode.BadArguments));
    const parent = await c.exists('/t');
    assert.equal(parent?.cversion, 3, 'visible cversion counts the delete too (2*creates - children)');
  });

  test('sync_answers_with_the_path', async () => {
    assert.equal(await c.sync('/t'), '/t');
  });

  test('ping_is_answered_with_xid_minus_2', async () => {
    // the reply is a bare header: xid -2, no error, the zxid of the last txn the server applied
    const last = (await c.create2('/before-ping', null)).stat.czxid;
    const frames: Array<{ xid: number; zxid: number; err: number }> = [];
    const onFrame = (f: { xid: number; zxid: number; err: number }): void => void frames.push(f);
    c.on('frame', onFrame);
    try {
      const body = await c.send({ type: OpCode.ping, req: null }, Xid.ping);
      assert.equal(body.remaining, 0, 'no body after the header');
    } finally {
      c.off('frame', onFrame);
    }
    assert.deepEqual(frames, [{ xid: Xid.ping, zxid: last, err: 0 }]);
  });

  test('pings_keep_an_idle_session_alive_past_its_timeout', async () => {
    // 800 ms sessions (tickTime 200): one pings every 100 ms (a margin for a loaded machine;
    // clients ping after a third of the timeout of silence), the other sends nothing
    const pinged = await srv.client({ sessionTimeoutMs: 800 });
    const idle = await srv.client({ sessionTimeoutMs: 800 });
    assert.equal(pinged.negotiatedTimeoutMs, 800);
    await pinged.create('/pinged-eph', null, { flags: CreateFlag.EPHEMERAL });
    await idle.create('/idle-eph', null, { flags: CreateFlag.EPHEMERAL });
    const start = Date.now();
    // until the silent session has expired (the server's expiry ran) and three timeouts have passed
    await waitUntil(
      async () => {
        await pinged.ping();
        return (await c.exists('/idle-eph')) === null && Date.now() - start >= 3 * 800;
      },
      'the silent session to expire',
      20_000,
      100,
    );
    await waitUntil(() => idle.closed, "the server to close the expired session's connection");
    assert.equal(pinged.closed, false, "the pinged session's connection is open");
    assert.equal((await pinged.exists('/pinged-eph'))?.ephemeralOwner, pinged.sessionId, 'the pinged session and its ephemeral live on');
  });

  test('check_inside_multi_and_results_per_op', async () => {
    await c.create('/m');
    const res = await c.multi([
      { type: OpCode.check, req: { path: '/m', version: 0 } },
      {
        type: OpCode.create,
        req: { path: '/m/x', data: null, acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }], flags: 0, ttl: -1 },
      },
      {
        type: OpCode.create2,
        req: {
          path: '/m/y',
          data: Buffer.from('yy'),
          acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }],
          flags: 0,
          ttl: -1,
        },
      },
      { type: OpCode.setData, req: { path: '/m', data: Buffer.from('d'), version: 0 } },
      { type: OpCode.delete, req: { path: '/m/x', version: -1 } },
    ]);
    assert.deepEqual(
      res.map((r) => r.type),
      [OpCode.check, OpCode.create, OpCode.create2, OpCode.setData, OpCode.delete],
    );
    assert.equal((await c.getData('/m')).data.toString(), 'd');
    const all = res[2]!;
    assert.ok(all.type === OpCode.create2 && all.stat.dataLength === 2);
  });

  test('failed_multi_reports_each_op_and_changes_nothing', async () => {
    const before = await c.exists('/m');
    const res = await c.multi([
      {
        type: OpCode.create,
        req: { path: '/m/z', data: null, acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }], flags: 0, ttl: -1 },
      },
      { type: OpCode.setData, req: { path: '/m', data: null, version: 99 } },
      { type: OpCode.delete, req: { path: '/m/y', version: -1 } },
    ]);
    assert.deepEqual(res, [
      { type: OpCode.error, err: ErrorCode.Ok },
      { type: OpCode.error, err: ErrorCode.BadVersion },
      { type: OpCode.error, err: ErrorCode.RuntimeInconsistency },
    ]);
    assert.equal(await c.exists('/m/z'), null);
    assert.ok(await c.exists('/m/y'));
    const afterStat = await c.exists('/m');
    assert.equal(afterStat?.cversion, before?.cversion);
  });

  test('multiRead_returns_per_op_results_and_errors', async () => {
    const res = await c.multiRead([
      { type: OpCode.getData, req: { path: '/m', watch: false } },
      { type: OpCode.getChildren, req: { path: '/m', watch: false } },
      { type: OpCode.getData, req: { path: '/nope', watch: false } },
    ]);
    assert.equal(res[0]!.type, OpCode.getData);
    assert.ok(res[1]!.type === OpCode.getChildren && res[1]!.children.includes('y'));
    assert.deepEqual(res[2], { type: OpCode.error, err: ErrorCode.NoNode });
  });

  test('reconfig_is_disabled', async () => {
    await assert.rejects(
      c.send({ type: OpCode.reconfig, req: { joiningServers: null, leavingServers: null, newMembers: 'server.1=x:1:2', curConfigId: -1 } }),
      code(ErrorCode.ReconfigDisabled),
    );
  });

  test('unknown_opcode_is_unimplemented_and_connection_survives', async () => {
    const other = await srv.client();
    const { JuteWriter } = await import('../../src/wire/jute.js');
    const w = new JuteWriter();
    const at = w.reserveInt();
    w.int(77).int(999);
    w.patchInt(at, w.length - 4);
    const reply = new Promise<{ xid: number; err: number }>((res) => {
      other.on('frame', (f: { xid: number; err: number }) => {
        if (f.xid === 77) res(f);
      });
    });
    other.writeRaw(w.take());
    const r = await reply;
    assert.equal(r.err, ErrorCode.Unimplemented);
    assert.ok(await other.exists('/'));
  });
});

describe('ACLs and auth', () => {
  const digestAcl = [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('alice:pw') } }];

  test('digest_acl_refuses_others_and_allows_after_auth', async () => {
    await c.create('/secret', 'hidden', { acl: digestAcl });
    const other = await srv.client();
    await assert.rejects(other.getData('/secret'), code(ErrorCode.NoAuth));
    await assert.rejects(other.setData('/secret', 'x'), code(ErrorCode.NoAuth));
    await assert.rejects(other.create('/secret/child'), code(ErrorCode.NoAuth));
    await assert.rejects(other.getACL('/secret'), code(ErrorCode.NoAuth), 'getACL needs READ or ADMIN');
    await c.create('/readable', 'r', { acl: [...digestAcl, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] });
    const acl = await other.getACL('/readable');
    assert.equal(acl.acl[0]!.id.id, 'alice:x', 'digest is redacted without ADMIN');
    await other.addAuth('digest', 'alice:pw');
    assert.equal((await other.getData('/secret')).data.toString(), 'hidden');
    assert.deepEqual((await other.getACL('/secret')).acl, digestAcl);
    assert.deepEqual(await other.whoAmI(), [
      { scheme: 'ip', user: '127.0.0.1' },
      { scheme: 'digest', user: 'alice' },
    ]);
  });

  test('auth_scheme_acl_and_invalid_acls', async () => {
    const other = await srv.client();
    await assert.rejects(
      other.create('/authacl', null, { acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }] }),
      code(ErrorCode.InvalidACL),
    );
    await assert.rejects(other.create('/emptyacl', null, { acl: [] }), code(ErrorCode.InvalidACL));
    await assert.rejects(
      other.create('/badworld', null, { acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'everyone' } }] }),
      code(ErrorCode.InvalidACL),
    );
    await other.addAuth('digest', 'bob:pw');
    await other.create('/authacl', null, { acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }] });
    assert.deepEqual((await other.getACL('/authacl')).acl, [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('bob:pw') } }]);
  });

  test('setACL_checks_aversion_and_admin', async () => {
    await c.create('/acl1');
    const s = await c.setACL('/acl1', [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }], 0);
    assert.equal(s.aversion, 1);
    await assert.rejects(c.setACL('/acl1', [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }], 0), code(ErrorCode.NoAuth));
    await assert.rejects(c.setData('/acl1', 'x'), code(ErrorCode.NoAuth));
  });

  test('ip_acl_matches_loopback', async () => {
    await c.create('/ipnode', 'ip', { acl: [{ perms: Perms.READ, id: { scheme: 'ip', id: '127.0.0.0/8' } }] });
    assert.equal((await c.getData('/ipnode')).data.toString(), 'ip');
    await c.create('/ipother', 'ip', { acl: [{ perms: Perms.READ, id: { scheme: 'ip', id: '10.0.0.1' } }] });
    await assert.rejects(c.getData('/ipother'), code(ErrorCode.NoAuth));
  });

  test('super_user_bypasses_acls', async () => {
    const admin = await srv.client();
    await admin.addAuth('digest', 'super:secret');
    assert.equal((await admin.getData('/ipother')).data.toString(), 'ip');
  });

  test('unknown_auth_scheme_fails_and_closes', async () => {
    const other = await srv.client();
    const closed = new Promise((res) => other.once('close', res));
    await assert.rejects(other.addAuth('kerberos', 'x'), code(ErrorCode.AuthFailed));
    await closed;
  });
});

describe('watches', () => {
  test('data_exist_child_watches_fire_once', async () => {
    const w = await srv.client();
    await c.create('/w', 'a');
    await w.getData('/w', true);
    await w.exists('/w/new', true);
    await w.getChildren('/w', true);
    const evData = w.nextEvent((e) => e.path === '/w' && e.type === EventType.NodeDataChanged);
    await c.setData('/w', 'b');
    await evData;
    const evCreated = w.nextEvent((e) => e.path === '/w/new');
    const evChild = w.nextEvent((e) => e.path === '/w' && e.type === EventType.NodeChildrenChanged);
    await c.create('/w/new');
    assert.equal((await evCreated).type, EventType.NodeCreated);
    await evChild;
    // one-shot: a second change fires nothing
    const seen: number[] = [];
    w.on('watch', (e) => {
      if (e.path === '/w') seen.push(e.type);
    });
    await c.setData('/w', 'c');
    await w.sync('/w');
    assert.deepEqual(seen, []);
  });

  test('event_arrives_before_the_reply_that_caused_it', async () => {
    const order: string[] = [];
    c.on('watch', (e) => {
      if (e.path === '/order') order.push(`event:${e.type}`);
    });
    await c.create('/order', 'x');
    await c.getData('/order', true);
    const p = c.setData('/order', 'y').then(() => order.push('reply'));
    await p;
    assert.deepEqual(order, [`event:${EventType.NodeDataChanged}`, 'reply']);
  });

  test('delete_fires_node_deleted_once_and_parent_children_changed', async () => {
    const w = await srv.client();
    await c.create('/d');
    await c.create('/d/x');
    await w.getData('/d/x', true);
    await w.getChildren('/d/x', true);
    await w.getChildren('/d', true);
    const events: string[] = [];
    w.on('watch', (e) => events.push(`${e.type}:${e.path}`));
    await c.delete('/d/x');
    await w.sync('/');
    assert.deepEqual(events, [`${EventType.NodeDeleted}:/d/x`, `${EventType.NodeChildrenChanged}:/d`]);
  });

  test('persistent_and_recursive_watches_stay_and_can_be_removed', async () => {
    const w = await srv.client();
    await c.create('/p');
    await w.addWatch('/p', AddWatchMode.Persistent);
    await w.addWatch('/p', AddWatchMode.PersistentRecursive);
    const events: string[] = [];
    w.on('watch', (e) => events.push(`${e.type}:${e.path}`));
    await c.create('/p/a');
    await c.create('/p/a/b');
    await c.setData('/p', 'x');
    await c.setData('/p', 'y');
    await w.sync('/');
    // recursive: created for descendants; persistent: children changed on /p; one event per change
    assert.deepEqual(events, [
      `${EventType.NodeCreated}:/p/a`,
      `${EventType.NodeChildrenChanged}:/p`,
      `${EventType.NodeCreated}:/p/a/b`,
      `${EventType.NodeDataChanged}:/p`,
      `${EventType.NodeDataChanged}:/p`,
    ]);
    await w.checkWatches('/p', WatcherType.PersistentRecursive);
    await w.removeWatches('/p', WatcherType.PersistentRecursive);
    await assert.rejects(w.checkWatches('/p', WatcherType.PersistentRecursive), code(ErrorCode.NoWatcher));
    await w.removeWatches('/p', WatcherType.Any);
    await assert.rejects(w.removeWatches('/p', WatcherType.Any), code(ErrorCode.NoWatcher));
    events.length = 0;
    await c.setData('/p', 'z');
    await w.sync('/');
    assert.deepEqual(events, []);
  });

  test('setWatches_fires_for_changes_since_relative_zxid', async () => {
    await c.create('/sw', 'v');
    const zxid = (await c.exists('/sw'))!.mzxid;
    await c.setData('/sw', 'v2');
    await c.create('/sw2');
    const w = await srv.client();
    const events: string[] = [];
    w.on('watch', (e) => events.push(`${e.type}:${e.path}`));
    await w.setWatches({ relativeZxid: zxid, dataWatches: ['/sw', '/gone'], existWatches: ['/sw2', '/notyet'], childWatches: ['/sw'] });
    assert.deepEqual(events, [`${EventType.NodeDataChanged}:/sw`, `${EventType.NodeDeleted}:/gone`, `${EventType.NodeCreated}:/sw2`]);
    await c.create('/notyet');
    await w.sync('/');
    assert.ok(events.includes(`${EventType.NodeCreated}:/notyet`));
  });
});

describe('sessions', () => {
  test('reconnect_with_id_and_password_keeps_session_and_ephemerals', async () => {
    const a = await srv.client({ sessionTimeoutMs: 2000 });
    await a.create('/keep', null, { flags: CreateFlag.EPHEMERAL });
    const id = a.sessionId;
    const pw = a.passwd;
    a.disconnect();
    const b = await srv.client({ sessionId: id, passwd: pw, sessionTimeoutMs: 2000 });
    assert.equal(b.sessionId, id);
    assert.equal((await b.exists('/keep'))?.ephemeralOwner, id);
    await assert.rejects(srv.client({ sessionId: id, passwd: Buffer.alloc(16, 1) }), code(ErrorCode.SessionExpired));
  });

  test('expired_session_loses_ephemerals_and_cannot_reconnect', async () => {
    const a = await srv.client({ sessionTimeoutMs: 400 });
    await a.create('/gone-eph', null, { flags: CreateFlag.EPHEMERAL });
    const id = a.sessionId;
    const pw = a.passwd;
    const w = await srv.client();
    await w.exists('/gone-eph', true);
    const ev = w.nextEvent((e) => e.path === '/gone-eph', 5000);
    a.disconnect();
    assert.equal((await ev).type, EventType.NodeDeleted);
    await assert.rejects(srv.client({ sessionId: id, passwd: pw }), code(ErrorCode.SessionExpired));
  });

  test('timeout_is_negotiated_between_2_and_20_ticks', async () => {
    const lo = await srv.client({ sessionTimeoutMs: 1 });
    const hi = await srv.client({ sessionTimeoutMs: 10_000_000 });
    assert.equal(lo.negotiatedTimeoutMs, 400);
    assert.equal(hi.negotiatedTimeoutMs, 4000);
  });

  test('closeSession_removes_ephemerals_at_once', async () => {
    const a = await srv.client();
    await a.create('/close-eph', null, { flags: CreateFlag.EPHEMERAL });
    await a.close();
    assert.equal(await c.exists('/close-eph'), null);
  });

  test('auth_reply_carries_the_request_xid', { timeout: 10000 }, async () => {
    const a = await srv.client();
    const reply = new Promise<{ xid: number }>((res) => a.once('reply', res));
    await a.addAuth('digest', 'x:y');
    assert.equal((await reply).xid, Xid.auth, "the Java client's -4 comes back");
    // go-zookeeper sends auth with its next ordinary xid and waits for that xid
    const next = new Promise<{ xid: number }>((res) => a.once('reply', res));
    await a.send({ type: OpCode.auth, req: { type: 0, scheme: 'digest', auth: Buffer.from('x:y') } }, 77);
    assert.equal((await next).xid, 77);
    assert.ok(await a.exists('/'), 'the connection serves on');
  });
});
