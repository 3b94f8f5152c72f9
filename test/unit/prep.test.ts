import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Prep, sequenceSuffix, type PrepContext } from '../../src/server/prep.js';
import { DataTree } from '../../src/tree/datatree.js';
import { digestOf } from '../../src/tree/acl.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import { CreateFlag, OpCode, Perms, type ACL, type CreateRequest, type Id, type MultiOp } from '../../src/wire/protocol.js';
import { CONTAINER_OWNER, TTL_MAX_MS, ttlOwner, type Txn } from '../../src/wire/txn.js';
import { assertTxnAgrees } from '../../src/server/agrees.js';
import type { Request } from '../../src/wire/protocol.js';
import { assertBroken } from '../helpers/invariant.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const SESSION = 0x0100000000000001n;

/** A tree plus a Prep, with a zxid counter shared by "applied" txns and prepared ones. */
class Fixture {
  readonly tree = new DataTree();
  readonly prep: Prep;
  zxid = 0;
  constructor(extendedTypesEnabled = false) {
    this.prep = new Prep(this.tree, { extendedTypesEnabled, enforceQuota: false });
  }
  ctx(authInfo: readonly Id[] = []): PrepContext {
    return { sessionId: SESSION, authInfo, zxid: ++this.zxid, time: 1000 + this.zxid };
  }
  prepare(type: number, req: unknown, authInfo: readonly Id[] = []): Txn {
    return this.prep.prepare(type, req, this.ctx(authInfo));
  }
  /** prepare + apply + applied: the full write path. */
  write(type: number, req: unknown, authInfo: readonly Id[] = []): Txn {
    const ctx = this.ctx(authInfo);
    const txn = this.prep.prepare(type, req, ctx);
    this.commit(txn, ctx.zxid);
    return txn;
  }
  commit(txn: Txn, zxid: number): void {
    // live: what prep made must fit the tree it was made against (tree/invariants.ts)
    this.tree.apply({ sessionId: SESSION, cxid: zxid, zxid, time: 1000 + zxid, type: txn.type }, txn, [], 'live');
    this.prep.applied(zxid);
  }
}

function create(
  path: string,
  flags: number = CreateFlag.PERSISTENT,
  acl: ACL[] | null = OPEN,
  ttl = -1,
  data: Buffer | null = null,
): CreateRequest {
  return { path, data, acl, flags, ttl };
}

function code(c: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof KeeperError, `expected KeeperError, got ${String(e)}`);
    assert.equal(e.code, c, `expected code ${c}, got ${e.code}`);
    return true;
  };
}

describe('sequenceSuffix', () => {
  test('sequence_suffix_is_ten_digits_zero_padded', () => {
    assert.equal(sequenceSuffix(0), '0000000000');
    assert.equal(sequenceSuffix(42), '0000000042');
    assert.equal(sequenceSuffix(2 ** 31 - 1), '2147483647');
  });

  test('negative_sequence_counts_the_sign_in_the_width_like_java_format', () => {
    assert.equal(sequenceSuffix(-1), '-000000001');
    assert.equal(sequenceSuffix(-42), '-000000042');
    assert.equal(sequenceSuffix(-(2 ** 31)), '-2147483648');
  });
});

describe('create', () => {
  test('create_txn_carries_path_data_acl_and_next_parent_cversion', () => {
    const f = new Fixture();
    const txn = f.prepare(OpCode.create, create('/a', CreateFlag.PERSISTENT, OPEN, -1, Buffer.from('d')));
    assert.deepEqual(txn, { type: OpCode.create, path: '/a', data: Buffer.from('d'), acl: OPEN, ephemeralOwner: 0n, parentCVersion: 1 });
  });

  test('null_data_stays_null_in_the_txn', () => {
    const f = new Fixture();
    const txn = f.prepare(OpCode.create2, create('/a'));
    assert.ok(txn.type === OpCode.create2);
    assert.equal(txn.data, null);
  });

  test('sequential_suffix_comes_from_parent_cversion', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/q'));
    f.write(OpCode.create, create('/q/a'));
    f.write(OpCode.create, create('/q/b'));
    f.write(OpCode.delete, { path: '/q/a', version: -1 }); // cversion stays 2
    const t1 = f.prepare(OpCode.create, create('/q/item-', CreateFlag.PERSISTENT_SEQUENTIAL));
    assert.ok(t1.type === OpCode.create);
    assert.equal(t1.path, '/q/item-0000000002');
    assert.equal(t1.parentCVersion, 3);
    // a second one before the first is applied sees the pending cversion
    const t2 = f.prepare(OpCode.create, create('/q/item-', CreateFlag.EPHEMERAL_SEQUENTIAL));
    assert.ok(t2.type === OpCode.create);
    assert.equal(t2.path, '/q/item-0000000003');
    assert.equal(t2.ephemeralOwner, SESSION);
  });

  test('sequential_create_of_a_trailing_slash_path_is_valid', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/p'));
    const txn = f.prepare(OpCode.create, create('/p/', CreateFlag.PERSISTENT_SEQUENTIAL));
    assert.ok(txn.type === OpCode.create);
    assert.equal(txn.path, '/p/0000000000');
  });

  test('owners_for_ephemeral_container_and_ttl', () => {
    const f = new Fixture(true);
    const e = f.prepare(OpCode.create, create('/e', CreateFlag.EPHEMERAL));
    const c = f.prepare(OpCode.createContainer, create('/c', CreateFlag.CONTAINER));
    const t = f.prepare(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, 5000));
    assert.ok(e.type === OpCode.create && c.type === OpCode.createContainer && t.type === OpCode.createTTL);
    assert.equal(e.ephemeralOwner, SESSION);
    assert.equal(c.ephemeralOwner, CONTAINER_OWNER);
    assert.equal(t.ephemeralOwner, ttlOwner(5000));
  });

  test('InvalidACL_comes_before_NoNode_for_create_with_empty_acl_under_missing_parent', () => {
    const f = new Fixture();
    assert.throws(() => f.prepare(OpCode.create, create('/missing/x', CreateFlag.PERSISTENT, [])), code(ErrorCode.InvalidACL));
    assert.throws(() => f.prepare(OpCode.create, create('/missing/x')), code(ErrorCode.NoNode));
  });

  test('NoAuth_on_parent_create_permission', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/ro', CreateFlag.PERSISTENT, [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]));
    assert.throws(() => f.prepare(OpCode.create, create('/ro/x')), code(ErrorCode.NoAuth));
  });

  test('NodeExists_for_existing_and_pending_nodes', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    assert.throws(() => f.prepare(OpCode.create, create('/a')), code(ErrorCode.NodeExists));
    f.prepare(OpCode.create, create('/b')); // pending, not applied
    assert.throws(() => f.prepare(OpCode.create, create('/b')), code(ErrorCode.NodeExists));
  });

  test('create_of_root_is_NodeExists', () => {
    const f = new Fixture();
    assert.throws(() => f.prepare(OpCode.create, create('/')), code(ErrorCode.NodeExists));
  });

  test('NoChildrenForEphemerals', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/e', CreateFlag.EPHEMERAL));
    assert.throws(() => f.prepare(OpCode.create, create('/e/c')), code(ErrorCode.NoChildrenForEphemerals));
    // also against a pending (not yet applied) ephemeral parent
    f.prepare(OpCode.create, create('/e2', CreateFlag.EPHEMERAL));
    assert.throws(() => f.prepare(OpCode.create, create('/e2/c')), code(ErrorCode.NoChildrenForEphemerals));
  });

  test('containers_and_ttl_nodes_may_have_children', () => {
    const f = new Fixture(true);
    f.write(OpCode.createContainer, create('/c', CreateFlag.CONTAINER));
    f.write(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, 100));
    assert.doesNotThrow(() => f.prepare(OpCode.create, create('/c/x')));
    assert.doesNotThrow(() => f.prepare(OpCode.create, create('/t/x')));
  });

  test('ttl_without_extendedTypesEnabled_is_Unimplemented', () => {
    const f = new Fixture(false);
    assert.throws(
      () => f.prepare(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, 1000)),
      code(ErrorCode.Unimplemented),
    );
    assert.throws(
      () => f.prepare(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL, OPEN, 1000)),
      code(ErrorCode.Unimplemented),
    );
  });

  test('createTTL_with_ttl_0_or_above_max_is_BadArguments', () => {
    const f = new Fixture(true);
    assert.throws(() => f.prepare(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, 0)), code(ErrorCode.BadArguments));
    assert.throws(
      () => f.prepare(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, TTL_MAX_MS + 1)),
      code(ErrorCode.BadArguments),
    );
    assert.doesNotThrow(() => f.prepare(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, TTL_MAX_MS)));
  });

  test('ttl_mode_through_plain_create_has_no_ttl_and_is_BadArguments', () => {
    const f = new Fixture(true);
    assert.throws(() => f.prepare(OpCode.create, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, 1000)), code(ErrorCode.BadArguments));
  });

  test('createTTL_with_a_non_ttl_mode_and_a_ttl_is_BadArguments', () => {
    const f = new Fixture(true);
    assert.throws(() => f.prepare(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT, OPEN, 1000)), code(ErrorCode.BadArguments));
  });

  test('the_opcode_not_the_flags_decides_container_as_in_zookeeper', () => {
    const f = new Fixture();
    const c = f.prepare(OpCode.createContainer, create('/c', CreateFlag.PERSISTENT));
    assert.ok(c.type === OpCode.createContainer && c.ephemeralOwner === CONTAINER_OWNER);
    const p = f.prepare(OpCode.create, create('/p', CreateFlag.CONTAINER));
    assert.ok(p.type === OpCode.create && p.ephemeralOwner === 0n, 'create with the CONTAINER flag is a plain node');
  });

  test('unknown_create_flags_are_BadArguments', () => {
    const f = new Fixture(true);
    assert.throws(() => f.prepare(OpCode.create, create('/x', 7)), code(ErrorCode.BadArguments));
    assert.throws(() => f.prepare(OpCode.create, create('/x', -1)), code(ErrorCode.BadArguments));
  });

  test('bad_paths_are_BadArguments', () => {
    const f = new Fixture();
    assert.throws(() => f.prepare(OpCode.create, create('noslash')), code(ErrorCode.BadArguments));
    assert.throws(() => f.prepare(OpCode.create, create('/a\u0000b')), code(ErrorCode.BadArguments));
    assert.throws(() => f.prepare(OpCode.create, create('/zookeeper/')), code(ErrorCode.BadArguments));
  });

  test('relative_path_under_a_missing_parent_is_NoNode_first', () => {
    // validatePathForCreate only checks the last slash and NUL; the parent lookup comes before validatePath
    const f = new Fixture();
    assert.throws(() => f.prepare(OpCode.create, create('/a/../b')), code(ErrorCode.NoNode));
    assert.throws(() => f.prepare(OpCode.create, create('/./b')), code(ErrorCode.NoNode));
    assert.throws(() => f.prepare(OpCode.create, create('/..')), code(ErrorCode.BadArguments));
  });

  test('auth_acl_expands_to_the_callers_digest', () => {
    const f = new Fixture();
    const me: Id[] = [{ scheme: 'digest', id: digestOf('me:pw') }];
    const txn = f.prepare(
      OpCode.create,
      create('/mine', CreateFlag.PERSISTENT, [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }]),
      me,
    );
    assert.ok(txn.type === OpCode.create);
    assert.deepEqual(txn.acl, [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('me:pw') } }]);
  });
});

describe('delete, setData, setACL, check', () => {
  test('NoAuth_on_parent_comes_before_NoNode_of_the_node_for_delete', () => {
    const f = new Fixture();
    f.write(
      OpCode.create,
      create('/locked', CreateFlag.PERSISTENT, [{ perms: Perms.READ | Perms.CREATE, id: { scheme: 'world', id: 'anyone' } }]),
    );
    assert.throws(() => f.prepare(OpCode.delete, { path: '/locked/missing', version: -1 }), code(ErrorCode.NoAuth));
    assert.throws(() => f.prepare(OpCode.delete, { path: '/open-missing', version: -1 }), code(ErrorCode.NoNode));
  });

  test('deleting_system_nodes_is_BadArguments', () => {
    const f = new Fixture();
    for (const p of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      assert.throws(() => f.prepare(OpCode.delete, { path: p, version: -1 }), code(ErrorCode.BadArguments), p);
    }
  });

  test('delete_checks_version_then_children', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    f.write(OpCode.create, create('/a/b'));
    assert.throws(() => f.prepare(OpCode.delete, { path: '/a', version: 5 }), code(ErrorCode.BadVersion));
    assert.throws(() => f.prepare(OpCode.delete, { path: '/a', version: 0 }), code(ErrorCode.NotEmpty));
    assert.deepEqual(f.prepare(OpCode.delete, { path: '/a/b', version: 0 }), { type: OpCode.delete, path: '/a/b' });
    // the pending delete of the only child makes the parent deletable before anything is applied
    assert.deepEqual(f.prepare(OpCode.delete, { path: '/a', version: -1 }), { type: OpCode.delete, path: '/a' });
  });

  test('pending_child_create_makes_parent_NotEmpty', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    f.prepare(OpCode.create, create('/a/b'));
    assert.throws(() => f.prepare(OpCode.delete, { path: '/a', version: -1 }), code(ErrorCode.NotEmpty));
  });

  test('pending_delete_lets_the_path_be_created_again', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/x'));
    f.prepare(OpCode.delete, { path: '/x', version: -1 });
    assert.throws(() => f.prepare(OpCode.setData, { path: '/x', data: null, version: -1 }), code(ErrorCode.NoNode));
    assert.doesNotThrow(() => f.prepare(OpCode.create, create('/x')));
  });

  test('setData_version_increments_through_pending_changes', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    assert.deepEqual(f.prepare(OpCode.setData, { path: '/a', data: Buffer.from('1'), version: 0 }), {
      type: OpCode.setData,
      path: '/a',
      data: Buffer.from('1'),
      version: 1,
    });
    assert.throws(() => f.prepare(OpCode.setData, { path: '/a', data: null, version: 0 }), code(ErrorCode.BadVersion));
    const t = f.prepare(OpCode.setData, { path: '/a', data: null, version: 1 });
    assert.ok(t.type === OpCode.setData);
    assert.equal(t.version, 2);
    assert.equal(t.data, null);
  });

  test('setData_version_wraps_like_a_java_int', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    f.write(OpCode.setData, { path: '/a', data: null, version: -1 });
    f.tree.get('/a')!.version = 2 ** 31 - 1;
    const t = f.prepare(OpCode.setData, { path: '/a', data: null, version: -1 });
    assert.ok(t.type === OpCode.setData);
    assert.equal(t.version, -(2 ** 31));
  });

  test('setData_needs_write_permission', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/ro', CreateFlag.PERSISTENT, [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]));
    assert.throws(() => f.prepare(OpCode.setData, { path: '/ro', data: null, version: -1 }), code(ErrorCode.NoAuth));
  });

  test('setACL_checks_acl_validity_admin_and_aversion', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    assert.throws(() => f.prepare(OpCode.setACL, { path: '/a', acl: [], version: -1 }), code(ErrorCode.InvalidACL));
    assert.throws(() => f.prepare(OpCode.setACL, { path: '/a', acl: OPEN, version: 3 }), code(ErrorCode.BadVersion));
    const ro: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
    assert.deepEqual(f.write(OpCode.setACL, { path: '/a', acl: ro, version: 0 }), { type: OpCode.setACL, path: '/a', acl: ro, version: 1 });
    assert.equal(f.tree.get('/a')!.aversion, 1);
    assert.throws(() => f.prepare(OpCode.setACL, { path: '/a', acl: OPEN, version: -1 }), code(ErrorCode.NoAuth));
  });

  test('setACL_of_zookeeper_config_with_version_minus_one', () => {
    const f = new Fixture();
    // /zookeeper/config has READ only for world: ADMIN is refused
    assert.throws(() => f.prepare(OpCode.setACL, { path: '/zookeeper/config', acl: OPEN, version: -1 }), code(ErrorCode.NoAuth));
    const t = f.prepare(OpCode.setACL, { path: '/zookeeper/config', acl: OPEN, version: -1 }, [{ scheme: 'super', id: '' }]);
    assert.ok(t.type === OpCode.setACL);
    assert.equal(t.version, 0, 'aversion -1 + 1');
  });

  test('check_returns_expected_plus_one_or_BadVersion', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    assert.deepEqual(f.prepare(OpCode.check, { path: '/a', version: 0 }), { type: OpCode.check, path: '/a', version: 1 });
    assert.throws(() => f.prepare(OpCode.check, { path: '/a', version: 1 }), code(ErrorCode.BadVersion));
    assert.throws(() => f.prepare(OpCode.check, { path: '/nope', version: 0 }), code(ErrorCode.NoNode));
  });

  test('unknown_write_type_is_Unimplemented', () => {
    const f = new Fixture();
    assert.throws(() => f.prepare(OpCode.getData, { path: '/', watch: false }), code(ErrorCode.Unimplemented));
  });

  test('applied_drops_pending_records', () => {
    const f = new Fixture();
    const ctx = f.ctx();
    const txn = f.prep.prepare(OpCode.create, create('/a'), ctx);
    assert.ok(f.prep.pendingCount > 0);
    f.commit(txn, ctx.zxid);
    assert.equal(f.prep.pendingCount, 0);
    assert.throws(() => f.prepare(OpCode.create, create('/a')), code(ErrorCode.NodeExists));
  });
});

describe('multi', () => {
  const op = (type: number, req: unknown): MultiOp => ({ type, req }) as MultiOp;

  test('second_op_sees_the_first_create_then_a_b_succeeds', () => {
    const f = new Fixture();
    const ctx = f.ctx();
    const txn = f.prep.multi(
      [op(OpCode.create, create('/a')), op(OpCode.create, create('/a/b')), op(OpCode.setData, { path: '/a/b', data: null, version: 0 })],
      ctx,
    );
    assert.ok(txn.type === OpCode.multi);
    assert.deepEqual(
      txn.txns.map((t) => t.type),
      [OpCode.create, OpCode.create, OpCode.setData],
    );
    assert.deepEqual(
      txn.txns.map((t) => ('path' in t ? t.path : null)),
      ['/a', '/a/b', '/a/b'],
    );
    f.commit(txn, ctx.zxid);
    assert.equal(f.tree.get('/a/b')?.version, 1);
    assert.equal(f.tree.get('/a')?.cversion, 1);
  });

  test('failed_multi_keeps_earlier_txns_marks_the_failure_and_later_ops', () => {
    const f = new Fixture();
    const txn = f.prep.multi(
      [op(OpCode.create, create('/m')), op(OpCode.create, create('/missing/x')), op(OpCode.create, create('/n'))],
      f.ctx(),
    );
    assert.ok(txn.type === OpCode.multi);
    assert.equal(txn.txns[0]!.type, OpCode.create);
    assert.deepEqual(txn.txns[1], { type: OpCode.error, err: ErrorCode.NoNode });
    assert.deepEqual(txn.txns[2], { type: OpCode.error, err: ErrorCode.RuntimeInconsistency });
  });

  test('failed_multi_leaves_no_pending_changes', () => {
    const f = new Fixture();
    f.prep.multi([op(OpCode.create, create('/m')), op(OpCode.check, { path: '/m', version: 9 })], f.ctx());
    assert.equal(f.prep.pendingCount, 0);
    assert.doesNotThrow(() => f.prepare(OpCode.create, create('/m')));
    // and the root's cversion is not advanced by the dropped create
    const t = f.prepare(OpCode.create, create('/s-', CreateFlag.PERSISTENT_SEQUENTIAL));
    assert.ok(t.type === OpCode.create);
    assert.equal(t.path, '/s-0000000001');
  });

  test('check_inside_multi_sees_earlier_setData', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/a'));
    const txn = f.prep.multi(
      [op(OpCode.setData, { path: '/a', data: null, version: 0 }), op(OpCode.check, { path: '/a', version: 1 })],
      f.ctx(),
    );
    assert.ok(txn.type === OpCode.multi);
    assert.deepEqual(
      txn.txns.map((t) => t.type),
      [OpCode.setData, OpCode.check],
    );
  });

  test('read_op_inside_multi_fails_the_multi', () => {
    const f = new Fixture();
    const txn = f.prep.multi([op(OpCode.getData, { path: '/', watch: false })], f.ctx());
    assert.ok(txn.type === OpCode.multi);
    assert.deepEqual(txn.txns, [{ type: OpCode.error, err: ErrorCode.Unimplemented }]);
  });
});

describe('closeSession and deleteContainer', () => {
  test('closeSession_lists_applied_and_pending_ephemerals_sorted', () => {
    const f = new Fixture();
    f.write(OpCode.create, create('/z', CreateFlag.EPHEMERAL));
    f.write(OpCode.create, create('/gone', CreateFlag.EPHEMERAL));
    f.prepare(OpCode.create, create('/a', CreateFlag.EPHEMERAL)); // pending
    f.prepare(OpCode.delete, { path: '/gone', version: -1 }); // pending delete
    f.prepare(OpCode.create, create('/persistent'));
    const txn = f.prep.closeSession(SESSION, ++f.zxid);
    assert.deepEqual(txn, { type: OpCode.closeSession, paths2Delete: ['/a', '/z'] });
    // after the close is decided the ephemerals count as deleted
    assert.doesNotThrow(() => f.prepare(OpCode.create, create('/z')));
  });

  test('deleteContainer_refuses_non_containers_and_non_empty_ones', () => {
    const f = new Fixture(true);
    f.write(OpCode.create, create('/plain'));
    f.write(OpCode.createContainer, create('/c', CreateFlag.CONTAINER));
    f.write(OpCode.create, create('/c/kid'));
    f.write(OpCode.createTTL, create('/t', CreateFlag.PERSISTENT_WITH_TTL, OPEN, 10));
    assert.throws(() => f.prep.deleteContainer('/plain', ++f.zxid), code(ErrorCode.BadArguments));
    assert.throws(() => f.prep.deleteContainer('/c', ++f.zxid), code(ErrorCode.NotEmpty));
    assert.deepEqual(f.prep.deleteContainer('/t', ++f.zxid), { type: OpCode.deleteContainer, path: '/t' });
    assert.throws(() => f.prep.deleteContainer('/t', ++f.zxid), code(ErrorCode.NoNode), 'already being deleted');
  });
});

describe('a txn agrees with its request (agrees.ts)', () => {
  const OTHER = 0x0100000000000002n;
  /** What prep makes of `request`, a refusal as the core makes it (committed, so the next request sees it). */
  function made(f: Fixture, request: Request): Txn {
    const ctx = f.ctx();
    let txn: Txn;
    try {
      txn = request.type === OpCode.multi ? f.prep.multi(request.req.ops, ctx) : f.prep.prepare(request.type, request.req, ctx);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      txn = { type: OpCode.error, err: e.code };
    }
    f.commit(txn, ctx.zxid);
    return txn;
  }
  const mk = (path: string, flags: number = CreateFlag.PERSISTENT): Request => ({ type: OpCode.create, req: create(path, flags) });
  const setData = (path: string, version: number): Request => ({ type: OpCode.setData, req: { path, data: null, version } });

  test('every_txn_prep_makes_agrees_with_its_request', () => {
    const f = new Fixture(true);
    const requests: Request[] = [
      mk('/a'),
      mk('/a/s-', CreateFlag.PERSISTENT_SEQUENTIAL),
      mk('/a/e-', CreateFlag.EPHEMERAL_SEQUENTIAL),
      mk('/e', CreateFlag.EPHEMERAL),
      // the opcode decides the owner: a container, whatever the flags say
      { type: OpCode.createContainer, req: create('/c', CreateFlag.EPHEMERAL) },
      { type: OpCode.createTTL, req: create('/t', CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL, OPEN, 5000) },
      setData('/a', -1),
      setData('/a', 1),
      { type: OpCode.setACL, req: { path: '/a', acl: OPEN, version: 0 } },
      { type: OpCode.check, req: { path: '/a', version: 2 } },
      {
        type: OpCode.multi,
        req: {
          ops: [
            { type: OpCode.create, req: create('/m') },
            { type: OpCode.delete, req: { path: '/m', version: 0 } },
            { type: OpCode.check, req: { path: '/a', version: -1 } },
          ],
        },
      },
      {
        type: OpCode.multi,
        req: {
          ops: [
            { type: OpCode.create, req: create('/n') },
            { type: OpCode.delete, req: { path: '/nope', version: -1 } },
          ],
        },
      },
      { type: OpCode.delete, req: { path: '/e', version: 0 } },
      mk('/missing/x'),
    ];
    for (const r of requests) {
      const txn = made(f, r);
      assert.doesNotThrow(
        () => assertTxnAgrees(r, txn, SESSION),
        `${JSON.stringify(r.req, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
    }
  });

  test('a_create_of_another_path_or_sequence_number', () => {
    const f = new Fixture();
    made(f, mk('/a'));
    made(f, mk('/a/x'));
    const seq = mk('/a/s-', CreateFlag.PERSISTENT_SEQUENTIAL);
    const txn = made(f, seq);
    assert.ok(txn.type === OpCode.create && txn.path === '/a/s-0000000001');
    assertBroken(
      () => assertTxnAgrees(seq, { ...txn, path: '/a/s-0000000002' }, SESSION),
      /create of \/a\/s-0000000002 \(parent cversion 2\) from a request for \/a\/s- with flags 2: expected \/a\/s-0000000001/,
    );
    assertBroken(() => assertTxnAgrees(seq, { ...txn, parentCVersion: 5 }, SESSION), /expected \/a\/s-0000000004/);
    assertBroken(
      () => assertTxnAgrees(mk('/a/y'), { ...txn, path: '/a/z' }, SESSION),
      /create of \/a\/z .* from a request for \/a\/y with flags 0: expected \/a\/y/,
    );
  });

  test('an_ephemeral_owned_by_another_session_or_a_persistent_node_owned_by_one', () => {
    const f = new Fixture();
    const eph = mk('/e', CreateFlag.EPHEMERAL);
    const txn = made(f, eph);
    assert.ok(txn.type === OpCode.create);
    assertBroken(
      () => assertTxnAgrees(eph, { ...txn, ephemeralOwner: OTHER }, SESSION),
      /create of \/e owned by 0x100000000000002 from an ephemeral request of session 0x100000000000001/,
    );
    assertBroken(() => assertTxnAgrees(mk('/e'), txn, SESSION), /create of \/e owned by 0x100000000000001 from a persistent request/);
  });

  test('a_change_of_another_path_or_version', () => {
    const f = new Fixture();
    made(f, mk('/a'));
    const sd = setData('/a', 0);
    const txn = made(f, sd);
    assert.ok(txn.type === OpCode.setData);
    assertBroken(() => assertTxnAgrees(sd, { ...txn, path: '/b' }, SESSION), /txn for \/b from a request for \/a/);
    assertBroken(() => assertTxnAgrees(sd, { ...txn, version: 3 }, SESSION), /setting version 3 of \/a from a request expecting version 0/);
    const acl: Request = { type: OpCode.setACL, req: { path: '/a', acl: OPEN, version: 0 } };
    const aclTxn = made(f, acl);
    assert.ok(aclTxn.type === OpCode.setACL);
    assertBroken(
      () => assertTxnAgrees(acl, { ...aclTxn, version: 0 }, SESSION),
      /setting version 0 of \/a from a request expecting version 0/,
    );
    const del: Request = { type: OpCode.delete, req: { path: '/a', version: -1 } };
    assertBroken(() => assertTxnAgrees(del, { type: OpCode.delete, path: '/a/b' }, SESSION), /txn for \/a\/b from a request for \/a/);
  });

  test('a_txn_of_another_type', () => {
    assertBroken(
      () => assertTxnAgrees(setData('/a', -1), { type: OpCode.delete, path: '/a' }, SESSION),
      /txn of type 2 for a request of type 5/,
    );
  });

  test('a_multi_with_a_txn_too_few_or_one_that_disagrees', () => {
    const f = new Fixture();
    const multi: Request = {
      type: OpCode.multi,
      req: {
        ops: [
          { type: OpCode.create, req: create('/m') },
          { type: OpCode.setData, req: { path: '/m', data: null, version: 0 } },
        ],
      },
    };
    const txn = made(f, multi);
    assert.ok(txn.type === OpCode.multi);
    assertBroken(() => assertTxnAgrees(multi, { ...txn, txns: txn.txns.slice(1) }, SESSION), /prep made 1 txns for a multi of 2 ops/);
    assertBroken(
      () => assertTxnAgrees(multi, { ...txn, txns: [txn.txns[0]!, { type: OpCode.setData, path: '/m', data: null, version: 7 }] }, SESSION),
      /setting version 7 of \/m/,
    );
  });
});
