import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DataTree, type ApplyResult } from '../../src/tree/datatree.js';
import { ErrorCode } from '../../src/util/errors.js';
import { OpCode, Perms, type ACL } from '../../src/wire/protocol.js';
import { CONTAINER_OWNER, ttlOwner, type Txn, type TxnHeader } from '../../src/wire/txn.js';
import type { WatchEvent } from '../../src/tree/watches.js';
import { assertBroken } from '../helpers/invariant.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
const SESSION = 0x0100000000000001n;

function hdr(zxid: number, type: number, sessionId = SESSION, time = 10_000 + zxid): TxnHeader {
  return { sessionId, cxid: zxid, zxid, time, type };
}

function createTxn(path: string, opts: { data?: string; owner?: bigint; parentCVersion?: number; type?: 1 | 15 | 19 | 21 } = {}): Txn {
  return {
    type: opts.type ?? OpCode.create,
    path,
    data: Buffer.from(opts.data ?? ''),
    acl: OPEN,
    ephemeralOwner: opts.owner ?? 0n,
    parentCVersion: opts.parentCVersion ?? -1,
  };
}

/** Applies a txn at zxid and returns the result; events are collected into `events` if given. */
function apply(tree: DataTree, zxid: number, txn: Txn, events: WatchEvent[] = [], sessionId = SESSION): ApplyResult {
  return tree.apply(hdr(zxid, txn.type, sessionId), txn, events);
}

function node(tree: DataTree, path: string) {
  const n = tree.get(path);
  assert.ok(n, `${path} should exist`);
  return n;
}

describe('system nodes', () => {
  test('fresh_tree_has_root_zookeeper_quota_and_config', () => {
    const tree = new DataTree();
    assert.equal(tree.nodeCount, 4);
    assert.deepEqual(tree.childrenOf('/'), ['zookeeper']);
    assert.deepEqual(tree.childrenOf('/zookeeper').sort(), ['config', 'quota']);
    for (const p of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      const s = node(tree, p).stat();
      assert.equal(s.czxid, 0, p);
      assert.equal(s.mzxid, 0, p);
      assert.equal(s.pzxid, 0, p);
      assert.equal(s.version, 0, p);
      assert.equal(node(tree, p).cversion, 0, `${p}: system nodes are not created by txns`);
      assert.equal(s.ephemeralOwner, 0n, p);
      assert.equal(s.dataLength, 0, p);
    }
  });

  test('zookeeper_config_is_read_only_with_aversion_minus_one', () => {
    const tree = new DataTree();
    const config = node(tree, '/zookeeper/config');
    assert.deepEqual(config.acl, READ);
    assert.equal(config.stat().aversion, -1);
    assert.equal(node(tree, '/zookeeper').stat().aversion, 0);
    assert.equal(node(tree, '/zookeeper/quota').stat().aversion, 0);
    assert.deepEqual(node(tree, '/').acl, OPEN);
  });

  test('an_ensemble_config_is_written_as_zookeeper_writes_it_and_left_out_of_the_digest', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a', { data: 'x' }));
    const digest = tree.digest;
    const size = tree.approximateDataSize;
    const text = 'server.1=h:1:2:participant\nversion=0';
    tree.setConfigNode(Buffer.from(text), 123_456);
    const config = node(tree, '/zookeeper/config');
    assert.equal(config.data?.toString(), text);
    // ZKDatabase.initConfigInZKDatabase: setData(version -1, zxid = the config's version 0, now)
    const s = config.stat();
    assert.deepEqual(
      [s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion, s.dataLength],
      [0, 0, 0, 0, 123_456, -1, 0, -1, text.length],
    );
    assert.equal(tree.digest, digest, 'DigestCalculator leaves /zookeeper/ out');
    assert.equal(tree.digest, tree.computeDigest());
    assert.equal(tree.approximateDataSize, size + text.length);
  });

  test('root_stat_counts_zookeeper_as_a_child', () => {
    const tree = new DataTree();
    assert.equal(node(tree, '/').stat().numChildren, 1);
    assert.equal(node(tree, '/zookeeper').stat().numChildren, 2);
  });

  test('visible_cversion_of_system_nodes_follows_copyStat', () => {
    // DataNode.copyStat: cversion*2 - numChildren, so a fresh ZooKeeper shows -1 for / and -2 for /zookeeper
    const tree = new DataTree();
    assert.equal(node(tree, '/').stat().cversion, -1);
    assert.equal(node(tree, '/zookeeper').stat().cversion, -2);
    assert.equal(node(tree, '/zookeeper/quota').stat().cversion, 0);
  });
});

describe('create', () => {
  test('create_sets_czxid_mzxid_pzxid_to_the_txn_zxid', () => {
    const tree = new DataTree();
    const r = apply(tree, 5, createTxn('/a', { data: 'hello' }));
    assert.equal(r.type, OpCode.create);
    assert.ok('path' in r && 'stat' in r);
    assert.equal(r.path, '/a');
    assert.deepEqual(r.stat, {
      czxid: 5,
      mzxid: 5,
      ctime: 10_005,
      mtime: 10_005,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 5,
      numChildren: 0,
      pzxid: 5,
    });
    assert.deepEqual(node(tree, '/a').data, Buffer.from('hello'));
    assert.equal(tree.lastProcessedZxid, 5);
  });

  test('create_bumps_parent_cversion_and_sets_parent_pzxid', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    apply(tree, 2, createTxn('/a/b'));
    apply(tree, 3, createTxn('/a/c'));
    const a = node(tree, '/a').stat();
    assert.equal(node(tree, '/a').cversion, 2);
    assert.equal(a.cversion, 2, 'two creates, both children present: 2*2-2');
    assert.equal(a.pzxid, 3);
    assert.equal(a.numChildren, 2);
    assert.equal(a.mzxid, 1, 'a child create does not touch the parent mzxid');
    assert.equal(a.version, 0);
  });

  test('create_takes_parent_cversion_from_the_txn', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    apply(tree, 2, createTxn('/a/b', { parentCVersion: 7 }));
    assert.equal(node(tree, '/a').cversion, 7);
    assert.equal(node(tree, '/a').stat().pzxid, 2);
  });

  test('replayed_create_with_older_parent_cversion_keeps_parent_cversion_and_pzxid', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    apply(tree, 2, createTxn('/a/b', { parentCVersion: 5 }));
    // a fuzzy-snapshot replay of an older create must not move the counters backwards
    apply(tree, 3, createTxn('/a/c', { parentCVersion: 3 }));
    const a = node(tree, '/a').stat();
    assert.equal(node(tree, '/a').cversion, 5);
    assert.equal(a.pzxid, 2);
    assert.equal(a.numChildren, 2);
  });

  test('create_of_an_existing_node_returns_NodeExists_without_throwing', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a', { data: 'first' }));
    const events: WatchEvent[] = [];
    tree.addChildWatch('/', 9);
    const r = apply(tree, 2, createTxn('/a', { data: 'second' }), events);
    assert.deepEqual(r, { type: OpCode.error, err: ErrorCode.NodeExists });
    assert.deepEqual(node(tree, '/a').data, Buffer.from('first'));
    assert.equal(node(tree, '/a').stat().czxid, 1);
    assert.deepEqual(events, []);
    assert.equal(tree.lastProcessedZxid, 2, 'a tolerated failure still advances lastProcessedZxid');
  });

  test('replayed_create_of_an_existing_node_still_raises_parent_cversion_and_pzxid', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    apply(tree, 2, createTxn('/a/b', { parentCVersion: 1 }));
    // replaying a create whose node is already in the snapshot: parent counters still move forward
    const r = apply(tree, 3, createTxn('/a/b', { parentCVersion: 4 }));
    assert.deepEqual(r, { type: OpCode.error, err: ErrorCode.NodeExists });
    assert.equal(node(tree, '/a').cversion, 4);
    assert.equal(node(tree, '/a').stat().pzxid, 3);
  });

  test('replayed_create2_of_an_existing_node_leaves_the_parent_alone', () => {
    // ZooKeeper only adjusts the parent for header type create (DataTree.processTxn)
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    apply(tree, 2, createTxn('/a/b', { parentCVersion: 1 }));
    assert.deepEqual(apply(tree, 3, createTxn('/a/b', { parentCVersion: 4, type: OpCode.create2 })), {
      type: OpCode.error,
      err: ErrorCode.NodeExists,
    });
    assert.equal(node(tree, '/a').cversion, 1);
    assert.equal(node(tree, '/a').stat().pzxid, 2);
  });

  test('null_data_is_kept_as_null', () => {
    const tree = new DataTree();
    const txn: Txn = { type: OpCode.create, path: '/n', data: null, acl: OPEN, ephemeralOwner: 0n, parentCVersion: -1 };
    apply(tree, 1, txn);
    assert.equal(node(tree, '/n').data, null);
    assert.equal(node(tree, '/n').stat().dataLength, 0);
    apply(tree, 2, { type: OpCode.setData, path: '/n', data: Buffer.from('x'), version: 1 });
    apply(tree, 3, { type: OpCode.setData, path: '/n', data: null, version: 2 });
    assert.equal(node(tree, '/n').data, null);
  });

  test('create_under_a_missing_parent_returns_NoNode', () => {
    const tree = new DataTree();
    const r = apply(tree, 1, createTxn('/missing/child'));
    assert.deepEqual(r, { type: OpCode.error, err: ErrorCode.NoNode });
    assert.equal(tree.get('/missing/child'), undefined);
  });

  test('create2_container_and_ttl_results_carry_their_type', () => {
    const tree = new DataTree();
    assert.equal(apply(tree, 1, createTxn('/c2', { type: OpCode.create2 })).type, OpCode.create2);
    assert.equal(apply(tree, 2, createTxn('/cc', { type: OpCode.createContainer, owner: CONTAINER_OWNER })).type, OpCode.createContainer);
    assert.equal(apply(tree, 3, createTxn('/tt', { type: OpCode.createTTL, owner: ttlOwner(1000) })).type, OpCode.createTTL);
  });

  test('lastProcessedZxid_never_goes_backwards', () => {
    const tree = new DataTree();
    apply(tree, 10, createTxn('/a'));
    apply(tree, 4, createTxn('/b'));
    assert.equal(tree.lastProcessedZxid, 10);
  });
});

describe('delete', () => {
  test('delete_bumps_parent_pzxid_not_cversion', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/cont'));
    apply(tree, 2, createTxn('/cont/x'));
    const r = apply(tree, 3, { type: OpCode.delete, path: '/cont/x' });
    assert.deepEqual(r, { type: OpCode.delete });
    const s = node(tree, '/cont').stat();
    assert.equal(node(tree, '/cont').cversion, 1, 'stored cversion stays at 1 after create+delete');
    assert.equal(s.cversion, 2, 'a client sees creates + deletes (copyStat: 2*1-0)');
    assert.equal(s.pzxid, 3);
    assert.equal(s.numChildren, 0);
    assert.equal(tree.get('/cont/x'), undefined);
  });

  test('delete_with_an_older_zxid_does_not_lower_parent_pzxid', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    apply(tree, 2, createTxn('/a/b'));
    apply(tree, 9, createTxn('/a/c'));
    apply(tree, 5, { type: OpCode.delete, path: '/a/b' });
    assert.equal(node(tree, '/a').stat().pzxid, 9);
  });

  test('delete_of_a_missing_node_returns_NoNode_without_throwing', () => {
    const tree = new DataTree();
    assert.deepEqual(apply(tree, 1, { type: OpCode.delete, path: '/nope' }), { type: OpCode.error, err: ErrorCode.NoNode });
  });

  test('replayed_delete_of_a_missing_child_still_bumps_parent_pzxid', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    assert.deepEqual(apply(tree, 7, { type: OpCode.delete, path: '/a/gone' }), { type: OpCode.error, err: ErrorCode.NoNode });
    assert.equal(node(tree, '/a').stat().pzxid, 7);
    assert.equal(node(tree, '/a').cversion, 0);
  });

  test('deleteContainer_txn_removes_the_container', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/c', { type: OpCode.createContainer, owner: CONTAINER_OWNER }));
    assert.ok(tree.containers.has('/c'));
    const r = apply(tree, 2, { type: OpCode.deleteContainer, path: '/c' });
    assert.deepEqual(r, { type: OpCode.deleteContainer });
    assert.equal(tree.containers.has('/c'), false);
    assert.equal(tree.get('/c'), undefined);
  });
});

describe('setData and setACL', () => {
  test('setData_sets_version_mzxid_mtime_and_keeps_czxid_ctime', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a', { data: 'x' }));
    const r = tree.apply(
      hdr(4, OpCode.setData, SESSION, 99_999),
      { type: OpCode.setData, path: '/a', data: Buffer.from('yyy'), version: 1 },
      [],
    );
    assert.ok('stat' in r);
    assert.equal(r.type, OpCode.setData);
    assert.equal(r.stat.version, 1);
    assert.equal(r.stat.mzxid, 4);
    assert.equal(r.stat.mtime, 99_999);
    assert.equal(r.stat.czxid, 1);
    assert.equal(r.stat.ctime, 10_001);
    assert.equal(r.stat.pzxid, 1);
    assert.equal(r.stat.dataLength, 3);
    assert.deepEqual(node(tree, '/a').data, Buffer.from('yyy'));
  });

  test('setData_version_is_taken_from_the_txn', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    apply(tree, 2, { type: OpCode.setData, path: '/a', data: Buffer.alloc(0), version: 42 });
    assert.equal(node(tree, '/a').stat().version, 42);
  });

  test('setData_on_a_missing_node_returns_NoNode', () => {
    const tree = new DataTree();
    assert.deepEqual(apply(tree, 1, { type: OpCode.setData, path: '/x', data: Buffer.alloc(0), version: 1 }), {
      type: OpCode.error,
      err: ErrorCode.NoNode,
    });
  });

  test('setACL_sets_acl_and_aversion_but_not_mzxid_or_version', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    // the txn carries the new aversion (SetACLTxn.version); apply takes it as is
    const r = apply(tree, 2, { type: OpCode.setACL, path: '/a', acl: READ, version: 5 });
    assert.ok('stat' in r);
    assert.equal(r.type, OpCode.setACL);
    assert.equal(r.stat.aversion, 5);
    assert.equal(r.stat.mzxid, 1);
    assert.equal(r.stat.version, 0);
    assert.deepEqual(node(tree, '/a').acl, READ);
  });

  test('setACL_on_a_missing_node_returns_NoNode', () => {
    const tree = new DataTree();
    assert.deepEqual(apply(tree, 1, { type: OpCode.setACL, path: '/x', acl: READ, version: 1 }), {
      type: OpCode.error,
      err: ErrorCode.NoNode,
    });
  });

  test('check_and_error_txns_leave_the_tree_alone', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/a'));
    assert.deepEqual(apply(tree, 2, { type: OpCode.check, path: '/a', version: 1 }), { type: OpCode.check });
    assert.deepEqual(apply(tree, 3, { type: OpCode.error, err: ErrorCode.BadVersion }), { type: OpCode.error, err: ErrorCode.BadVersion });
    assert.equal(node(tree, '/a').stat().version, 0);
    assert.equal(tree.nodeCount, 5);
    assert.equal(tree.lastProcessedZxid, 3, 'an ErrorTxn still consumes its zxid');
  });
});

describe('ephemerals, containers and TTL nodes', () => {
  test('ephemeral_owner_is_recorded_and_counted', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/e1', { owner: SESSION }));
    apply(tree, 2, createTxn('/e2', { owner: SESSION }));
    apply(tree, 3, createTxn('/other', { owner: 0x0100000000000002n }));
    apply(tree, 4, createTxn('/p'));
    assert.deepEqual([...(tree.ephemerals.get(SESSION) ?? [])].sort(), ['/e1', '/e2']);
    assert.equal(tree.ephemeralCount, 3);
    assert.equal(node(tree, '/e1').stat().ephemeralOwner, SESSION);
    apply(tree, 5, { type: OpCode.delete, path: '/e1' });
    assert.deepEqual([...(tree.ephemerals.get(SESSION) ?? [])], ['/e2']);
    assert.equal(tree.ephemeralCount, 2);
  });

  test('last_ephemeral_deleted_drops_the_session_entry', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/e', { owner: SESSION }));
    apply(tree, 2, { type: OpCode.delete, path: '/e' });
    assert.equal(tree.ephemerals.has(SESSION), false);
  });

  test('containers_and_ttls_are_tracked_but_not_as_ephemerals', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/c', { type: OpCode.createContainer, owner: CONTAINER_OWNER }));
    apply(tree, 2, createTxn('/t', { type: OpCode.createTTL, owner: ttlOwner(5000) }));
    assert.deepEqual([...tree.containers], ['/c']);
    assert.deepEqual([...tree.ttls], ['/t']);
    assert.equal(tree.ephemeralCount, 0);
    assert.equal(node(tree, '/c').ephemeralOwner, -0x8000000000000000n);
    assert.equal(BigInt.asUintN(64, node(tree, '/t').ephemeralOwner), 0xff00000000001388n);
    // DataNode.copyStat shows owner 0 for containers and TTL nodes
    assert.equal(node(tree, '/c').stat().ephemeralOwner, 0n);
    assert.equal(node(tree, '/t').stat().ephemeralOwner, 0n);
    apply(tree, 3, { type: OpCode.delete, path: '/t' });
    assert.equal(tree.ttls.size, 0);
  });

  test('closeSession_deletes_only_that_sessions_ephemerals', () => {
    const tree = new DataTree();
    const other = 0x0100000000000002n;
    apply(tree, 1, createTxn('/app'));
    apply(tree, 2, createTxn('/app/e1', { owner: SESSION }));
    apply(tree, 3, createTxn('/e2', { owner: SESSION }));
    apply(tree, 4, createTxn('/app/o', { owner: other }));
    const events: WatchEvent[] = [];
    tree.addDataWatch('/app/e1', 7);
    const r = apply(tree, 5, { type: OpCode.closeSession, paths2Delete: [] }, events);
    assert.deepEqual(r, { type: OpCode.closeSession });
    assert.equal(tree.get('/app/e1'), undefined);
    assert.equal(tree.get('/e2'), undefined);
    assert.ok(tree.get('/app/o'));
    assert.equal(tree.ephemerals.has(SESSION), false);
    assert.equal(tree.ephemeralCount, 1);
    assert.equal(node(tree, '/app').stat().pzxid, 5);
    assert.equal(node(tree, '/app').cversion, 2, 'closeSession deletes do not bump the stored cversion');
    assert.deepEqual(
      events.map(({ acl: _acl, ...e }) => e),
      [{ watcher: 7, type: 2, path: '/app/e1' }],
    );
  });

  test('closeSession_deletes_the_paths2Delete_of_the_txn', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/e1', { owner: SESSION }));
    apply(tree, 2, createTxn('/p'));
    // the txn names a path the session does not own in our map: it is deleted all the same
    apply(tree, 3, { type: OpCode.closeSession, paths2Delete: ['/e1', '/p'] });
    assert.equal(tree.get('/e1'), undefined);
    assert.equal(tree.get('/p'), undefined);
    assert.equal(tree.ephemerals.has(SESSION), false);
  });

  test('closeSession_also_deletes_local_ephemerals_missing_from_paths2Delete', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/e1', { owner: SESSION }));
    apply(tree, 2, createTxn('/e2', { owner: SESSION }));
    apply(tree, 3, { type: OpCode.closeSession, paths2Delete: ['/e1'] });
    assert.equal(tree.get('/e1'), undefined);
    assert.equal(tree.get('/e2'), undefined);
    assert.equal(tree.ephemeralCount, 0);
  });
});

describe('multi', () => {
  test('successful_multi_applies_every_op_in_order', () => {
    const tree = new DataTree();
    const r = apply(tree, 1, {
      type: OpCode.multi,
      txns: [
        createTxn('/m'),
        createTxn('/m/child', { type: OpCode.create2 }),
        { type: OpCode.setData, path: '/m', data: Buffer.from('d'), version: 1 },
        { type: OpCode.check, path: '/m', version: 2 },
        { type: OpCode.delete, path: '/m/child' },
      ],
    });
    assert.equal(r.type, OpCode.multi);
    assert.ok('results' in r);
    assert.deepEqual(
      r.results.map((x) => x.type),
      [OpCode.create, OpCode.create2, OpCode.setData, OpCode.check, OpCode.delete],
    );
    const m = node(tree, '/m').stat();
    assert.equal(m.version, 1);
    assert.equal(node(tree, '/m').cversion, 1);
    assert.equal(m.numChildren, 0);
    assert.equal(m.czxid, 1);
    assert.equal(m.pzxid, 1);
  });

  test('failed_multi_reports_ok_then_its_code_then_runtime_inconsistency_and_changes_nothing', () => {
    const tree = new DataTree();
    apply(tree, 1, createTxn('/keep', { data: 'v' }));
    const before = node(tree, '/').stat();
    const sizeBefore = tree.approximateDataSize;
    const events: WatchEvent[] = [];
    tree.addChildWatch('/', 3);
    tree.addDataWatch('/keep', 3);
    const r = apply(
      tree,
      2,
      {
        type: OpCode.multi,
        txns: [
          createTxn('/m1'),
          { type: OpCode.setData, path: '/keep', data: Buffer.from('changed'), version: 1 },
          { type: OpCode.error, err: ErrorCode.NoNode },
          { type: OpCode.error, err: ErrorCode.RuntimeInconsistency },
        ],
      },
      events,
    );
    assert.ok('results' in r);
    assert.deepEqual(r.results, [
      { type: OpCode.error, err: ErrorCode.Ok },
      { type: OpCode.error, err: ErrorCode.Ok },
      { type: OpCode.error, err: ErrorCode.NoNode },
      { type: OpCode.error, err: ErrorCode.RuntimeInconsistency },
    ]);
    assert.equal(tree.get('/m1'), undefined);
    assert.deepEqual(node(tree, '/keep').data, Buffer.from('v'));
    assert.deepEqual(node(tree, '/').stat(), before);
    assert.equal(tree.approximateDataSize, sizeBefore);
    assert.deepEqual(events, []);
  });

  test('failed_multi_marks_later_real_txns_runtime_inconsistency', () => {
    const tree = new DataTree();
    const r = apply(tree, 1, {
      type: OpCode.multi,
      txns: [{ type: OpCode.error, err: ErrorCode.BadVersion }, createTxn('/late')],
    });
    assert.ok('results' in r);
    assert.deepEqual(r.results, [
      { type: OpCode.error, err: ErrorCode.BadVersion },
      { type: OpCode.error, err: ErrorCode.RuntimeInconsistency },
    ]);
    assert.equal(tree.get('/late'), undefined);
  });
});

describe('approximateDataSize', () => {
  test('approximate_data_size_counts_path_and_data_lengths', () => {
    const tree = new DataTree();
    const base = tree.approximateDataSize;
    apply(tree, 1, createTxn('/abc', { data: '12345' }));
    assert.equal(tree.approximateDataSize, base + 4 + 5);
    apply(tree, 2, { type: OpCode.setData, path: '/abc', data: Buffer.from('12'), version: 1 });
    assert.equal(tree.approximateDataSize, base + 4 + 2);
    apply(tree, 3, createTxn('/abc/d'));
    assert.equal(tree.approximateDataSize, base + 4 + 2 + 6);
    apply(tree, 4, { type: OpCode.delete, path: '/abc/d' });
    apply(tree, 5, { type: OpCode.delete, path: '/abc' });
    assert.equal(tree.approximateDataSize, base);
  });

  test('approximate_data_size_of_a_fresh_tree_counts_system_paths', () => {
    // at least /zookeeper (10) + /zookeeper/quota (16) + /zookeeper/config (17)
    assert.ok(new DataTree().approximateDataSize >= 43);
  });

  test('approximate_data_size_of_a_fresh_tree_is_44_like_zookeeper', () => {
    assert.equal(new DataTree().approximateDataSize, 44);
  });
});

describe('live apply: a txn that does not fit the tree stops the server', () => {
  /** Applies as a live server does: the txn must fit the tree (src/tree/invariants.ts). */
  function live(tree: DataTree, zxid: number, txn: Txn, sessionId = SESSION): ApplyResult {
    return tree.apply(hdr(zxid, txn.type, sessionId), txn, [], 'live');
  }

  /** /a with child /a/b, SESSION's ephemeral /e, a container /c, a TTL node /t: zxids 1..5, applied live. */
  function liveTree(): DataTree {
    const tree = new DataTree();
    live(tree, 1, createTxn('/a', { parentCVersion: 1 }));
    live(tree, 2, createTxn('/a/b', { parentCVersion: 1 }));
    live(tree, 3, createTxn('/e', { owner: SESSION, parentCVersion: 2 }));
    live(tree, 4, createTxn('/c', { type: OpCode.createContainer, owner: CONTAINER_OWNER, parentCVersion: 3 }));
    live(tree, 5, createTxn('/t', { type: OpCode.createTTL, owner: ttlOwner(5000), parentCVersion: 4 }));
    return tree;
  }

  test('a_history_that_fits_applies_live_as_it_replays', () => {
    const history: Txn[] = [
      { type: OpCode.setData, path: '/a', data: Buffer.from('x'), version: 1 },
      { type: OpCode.setACL, path: '/a', acl: READ, version: 1 },
      // each op of a multi fits the tree as the ops before it left it
      {
        type: OpCode.multi,
        txns: [
          createTxn('/m', { parentCVersion: 5 }),
          createTxn('/m/x', { parentCVersion: 1 }),
          { type: OpCode.check, path: '/m/x', version: 1 },
          { type: OpCode.delete, path: '/m/x' },
        ],
      },
      { type: OpCode.delete, path: '/a/b' },
      { type: OpCode.deleteContainer, path: '/c' },
      { type: OpCode.delete, path: '/t' },
      { type: OpCode.closeSession, paths2Delete: ['/e'] },
    ];
    const a = liveTree();
    const b = liveTree();
    history.forEach((t, i) => {
      live(a, 6 + i, t);
      apply(b, 6 + i, t);
    });
    assert.equal(a.digest, b.digest);
    assert.deepEqual([...a.nodes.keys()].sort(), ['/', '/a', '/m', '/zookeeper', '/zookeeper/config', '/zookeeper/quota']);
    assert.equal(a.ephemeralCount + a.containers.size + a.ttls.size, 0);
  });

  test('create_under_a_missing_parent', () => {
    const tree = liveTree();
    const txn = createTxn('/missing/x', { parentCVersion: 1 });
    assertBroken(() => live(tree, 6, txn), /live txn 0x6: create \/missing\/x: its parent \/missing does not exist/);
    assert.equal(tree.lastProcessedZxid, 5, 'nothing applied');
    assert.deepEqual(apply(tree, 6, txn), { type: OpCode.error, err: ErrorCode.NoNode }, 'replay tolerates it');
  });

  test('create_of_a_node_that_exists_in_the_map_or_among_its_parents_children', () => {
    const tree = liveTree();
    assertBroken(
      () => live(tree, 6, createTxn('/a/b', { parentCVersion: 2 })),
      /create \/a\/b: the node exists \(in the node map: true, among its parent's children: true\)/,
    );
    // the two indexes disagree: the map holds /a/b, its parent does not list it
    tree.get('/a')!.children!.delete('b');
    assertBroken(
      () => live(tree, 6, createTxn('/a/b', { parentCVersion: 2 })),
      /in the node map: true, among its parent's children: false/,
    );
  });

  test('create_that_sets_a_parent_cversion_prep_did_not_read', () => {
    const tree = liveTree();
    assertBroken(
      () => live(tree, 6, createTxn('/a/z', { parentCVersion: 5 })),
      /create \/a\/z sets its parent's cversion to 5, the parent is at 1/,
    );
    assertBroken(() => live(tree, 6, createTxn('/a/z', { parentCVersion: 1 })), /sets its parent's cversion to 1, the parent is at 1/);
  });

  test('delete_of_a_missing_node_or_of_one_with_children', () => {
    const tree = liveTree();
    assertBroken(() => live(tree, 6, { type: OpCode.delete, path: '/nope' }), /live txn 0x6: delete \/nope: no such node/);
    assertBroken(() => live(tree, 6, { type: OpCode.delete, path: '/a' }), /delete \/a: it has 1 children/);
  });

  test('delete_of_a_node_its_parent_does_not_list', () => {
    const tree = liveTree();
    tree.get('/')!.children!.delete('e');
    assertBroken(() => live(tree, 6, { type: OpCode.delete, path: '/e' }), /delete \/e: its parent does not list it/);
  });

  test('delete_of_a_node_its_owners_index_lost', () => {
    const lose: Array<[string, (t: DataTree) => void]> = [
      ['/e', (t) => t.ephemerals.get(SESSION)!.delete('/e')],
      ['/c', (t) => t.containers.delete('/c')],
      ['/t', (t) => t.ttls.delete('/t')],
    ];
    for (const [path, drop] of lose) {
      const tree = liveTree();
      drop(tree);
      assertBroken(
        () => live(tree, 6, { type: OpCode.delete, path }),
        new RegExp(`delete ${path}: the index of its owner 0x[0-9a-f]+ does not hold it`),
      );
    }
  });

  test('setData_or_setACL_to_a_version_prep_did_not_read', () => {
    const tree = liveTree();
    assertBroken(
      () => live(tree, 6, { type: OpCode.setData, path: '/a', data: null, version: 5 }),
      /setData \/a to version 5, the node is at 0/,
    );
    assertBroken(() => live(tree, 6, { type: OpCode.setData, path: '/nope', data: null, version: 1 }), /setData \/nope: no such node/);
    assertBroken(
      () => live(tree, 6, { type: OpCode.setACL, path: '/a', acl: OPEN, version: 3 }),
      /setACL \/a to aversion 3, the node is at 0/,
    );
  });

  test('an_op_of_a_multi_that_does_not_fit_the_ops_before_it', () => {
    const tree = liveTree();
    assertBroken(
      () => live(tree, 6, { type: OpCode.multi, txns: [createTxn('/m', { parentCVersion: 5 }), createTxn('/m/x', { parentCVersion: 2 })] }),
      /create \/m\/x sets its parent's cversion to 2, the parent is at 0/,
    );
    assertBroken(
      () => live(tree, 7, { type: OpCode.multi, txns: [{ type: OpCode.check, path: '/nope', version: 1 }] }),
      /check \/nope: no such node/,
    );
  });

  test('closeSession_listing_other_ephemerals_than_the_session_owns', () => {
    const close = (paths2Delete: string[]): Txn => ({ type: OpCode.closeSession, paths2Delete });
    assertBroken(() => live(liveTree(), 6, close([])), /closeSession 0x100000000000001 lists 0 ephemerals, the session owns 1$/);
    assertBroken(() => live(liveTree(), 6, close(['/a'])), /lists 1 ephemerals, the session owns 1; \/a is not one of them/);
    assertBroken(() => live(liveTree(), 6, close(['/e', '/a'])), /lists 2 ephemerals, the session owns 1; \/a is not one of them/);
  });

  test('a_live_txn_at_or_below_the_last_applied_zxid', () => {
    const tree = liveTree();
    assertBroken(() => live(tree, 5, createTxn('/z', { parentCVersion: 5 })), /live txn 0x5 after 0x5: zxids must increase/);
    assertBroken(() => live(tree, 2, createTxn('/z', { parentCVersion: 5 })), /live txn 0x2 after 0x5/);
    assert.equal(tree.get('/z'), undefined);
  });
});
