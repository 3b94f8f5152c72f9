import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { aclAllows, authenticate, checkACL, digestOf, fixupACL, ipMatches, redactDigests } from '../../src/tree/acl.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import { Perms, type ACL, type Id } from '../../src/wire/protocol.js';

const world = (perms: number): ACL => ({ perms, id: { scheme: 'world', id: 'anyone' } });
const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });
const invalidACL = (e: unknown): boolean => e instanceof KeeperError && e.code === ErrorCode.InvalidACL;
const ipOnly: Id[] = [{ scheme: 'ip', id: '127.0.0.1' }];

describe('digestOf', () => {
  test('digest_is_user_colon_base64_sha1_of_user_colon_password', () => {
    const expected = `user:${createHash('sha1').update(Buffer.from('user:pass', 'utf8')).digest('base64')}`;
    assert.equal(digestOf('user:pass'), expected);
  });

  test('digest_of_super_test_matches_the_zookeeper_documentation', () => {
    assert.equal(digestOf('super:test'), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });

  test('password_may_contain_colons_and_non_ascii', () => {
    const expected = `bob:${createHash('sha1').update(Buffer.from('bob:p:ä', 'utf8')).digest('base64')}`;
    assert.equal(digestOf('bob:p:ä'), expected);
  });

  test('different_passwords_give_different_digests', () => {
    assert.notEqual(digestOf('user:a'), digestOf('user:b'));
  });
});

describe('ipMatches', () => {
  test('ipv4_exact_address', () => {
    assert.equal(ipMatches('10.1.2.3', '10.1.2.3'), true);
    assert.equal(ipMatches('10.1.2.4', '10.1.2.3'), false);
  });

  test('ipv4_prefix_bits', () => {
    assert.equal(ipMatches('10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(ipMatches('11.1.2.3', '10.0.0.0/8'), false);
    assert.equal(ipMatches('192.168.1.130', '192.168.1.128/25'), true);
    assert.equal(ipMatches('192.168.1.127', '192.168.1.128/25'), false);
    assert.equal(ipMatches('172.31.255.255', '172.16.0.0/12'), true);
    assert.equal(ipMatches('172.32.0.0', '172.16.0.0/12'), false);
    assert.equal(ipMatches('1.2.3.4', '10.0.0.0/0'), true, '/0 matches everything');
    assert.equal(ipMatches('10.1.2.3', '10.1.2.3/32'), true);
    assert.equal(ipMatches('10.1.2.2', '10.1.2.3/32'), false);
  });

  test('ipv4_mapped_ipv6_client_matches_an_ipv4_acl', () => {
    assert.equal(ipMatches('::ffff:10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(ipMatches('::ffff:11.1.2.3', '10.0.0.0/8'), false);
  });

  test('ipv6_exact_and_prefix', () => {
    assert.equal(ipMatches('::1', '::1'), true);
    assert.equal(ipMatches('::2', '::1'), false);
    assert.equal(ipMatches('2001:db8::1', '2001:db8::/32'), true);
    assert.equal(ipMatches('2001:db8:ffff:ffff::1', '2001:db8::/32'), true);
    assert.equal(ipMatches('2001:db9::1', '2001:db8::/32'), false);
    assert.equal(ipMatches('febf::1', 'fe80::/10'), true);
    assert.equal(ipMatches('fec0::1', 'fe80::/10'), false);
    assert.equal(ipMatches('2001:db8:0:0:0:0:0:1', '2001:db8::1/128'), true);
  });

  test('ipv4_and_ipv6_never_match_each_other', () => {
    assert.equal(ipMatches('10.0.0.1', '::/0'), false);
    assert.equal(ipMatches('2001:db8::1', '0.0.0.0/0'), false);
  });

  test('bad_bits_or_addresses_do_not_match', () => {
    assert.equal(ipMatches('10.1.2.3', '10.0.0.0/33'), false);
    assert.equal(ipMatches('10.1.2.3', '10.0.0.0/-1'), false);
    assert.equal(ipMatches('10.1.2.3', '10.0.0.0/abc'), false);
    assert.equal(ipMatches('10.1.2.3', '10.0.0.0/8.5'), false);
    assert.equal(ipMatches('10.1.2.3', 'not-an-ip/8'), false);
    assert.equal(ipMatches('garbage', '10.0.0.0/8'), false);
    assert.equal(ipMatches('::1', '::/129'), false);
  });

  test('empty_prefix_bits_match_nothing', () => {
    assert.equal(ipMatches('1.2.3.4', '10.0.0.0/'), false);
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'ip', '10.0.0.0/')]), invalidACL);
  });
});

describe('fixupACL', () => {
  test('empty_or_null_acl_is_InvalidACL', () => {
    assert.throws(() => fixupACL('/n', [], []), invalidACL);
    assert.throws(() => fixupACL('/n', [], null), invalidACL);
  });

  test('invalid_acl_error_carries_the_path', () => {
    assert.throws(
      () => fixupACL('/the/path', [], []),
      (e: unknown) => e instanceof KeeperError && e.path === '/the/path',
    );
  });

  test('world_anyone_passes_through', () => {
    assert.deepEqual(fixupACL('/n', [], [world(Perms.READ)]), [world(Perms.READ)]);
  });

  test('world_id_must_be_anyone', () => {
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'world', 'someone')]), invalidACL);
  });

  test('auth_without_an_authenticated_digest_id_is_InvalidACL', () => {
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'auth', '')]), invalidACL);
    // an ip id is not an "authenticated" id (IPAuthenticationProvider.isAuthenticated is false)
    assert.throws(() => fixupACL('/n', ipOnly, [acl(Perms.ALL, 'auth', '')]), invalidACL);
    // neither is super
    assert.throws(() => fixupACL('/n', [{ scheme: 'super', id: '' }], [acl(Perms.ALL, 'auth', '')]), invalidACL);
  });

  test('auth_expands_to_every_digest_id_of_the_caller', () => {
    const alice = digestOf('alice:pw');
    const bob = digestOf('bob:pw');
    const authInfo: Id[] = [...ipOnly, { scheme: 'digest', id: alice }, { scheme: 'super', id: '' }, { scheme: 'digest', id: bob }];
    assert.deepEqual(fixupACL('/n', authInfo, [acl(Perms.READ | Perms.WRITE, 'auth', 'ignored')]), [
      acl(Perms.READ | Perms.WRITE, 'digest', alice),
      acl(Perms.READ | Perms.WRITE, 'digest', bob),
    ]);
  });

  test('digest_ids_need_exactly_one_colon', () => {
    assert.deepEqual(fixupACL('/n', [], [acl(Perms.ALL, 'digest', 'user:hash')]), [acl(Perms.ALL, 'digest', 'user:hash')]);
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'digest', 'nocolon')]), invalidACL);
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'digest', 'a:b:c')]), invalidACL);
  });

  test('digest_id_validity_follows_java_split_which_drops_trailing_empty_parts', () => {
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'digest', 'user:')]), invalidACL);
    assert.deepEqual(fixupACL('/n', [], [acl(Perms.ALL, 'digest', 'a:b:')]), [acl(Perms.ALL, 'digest', 'a:b:')]);
  });

  test('ip_ids_are_validated', () => {
    assert.deepEqual(fixupACL('/n', [], [acl(Perms.READ, 'ip', '10.0.0.0/8')]), [acl(Perms.READ, 'ip', '10.0.0.0/8')]);
    assert.deepEqual(fixupACL('/n', [], [acl(Perms.READ, 'ip', '::1')]), [acl(Perms.READ, 'ip', '::1')]);
    assert.throws(() => fixupACL('/n', [], [acl(Perms.READ, 'ip', 'host.example')]), invalidACL);
    assert.throws(() => fixupACL('/n', [], [acl(Perms.READ, 'ip', '10.0.0.0/33')]), invalidACL);
  });

  test('unknown_scheme_is_InvalidACL', () => {
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'x509', 'CN=me')]), invalidACL);
    assert.throws(() => fixupACL('/n', [], [acl(Perms.ALL, 'super', '')]), invalidACL);
  });

  test('one_bad_entry_rejects_the_whole_list', () => {
    assert.throws(() => fixupACL('/n', [], [world(Perms.ALL), acl(Perms.ALL, 'digest', 'bad')]), invalidACL);
  });

  test('duplicate_entries_are_removed', () => {
    assert.deepEqual(fixupACL('/n', [], [world(Perms.ALL), world(Perms.ALL), world(Perms.READ)]), [world(Perms.ALL), world(Perms.READ)]);
  });
});

describe('aclAllows', () => {
  const alice = digestOf('alice:pw');

  test('empty_acl_allows_everything', () => {
    assert.equal(aclAllows([], Perms.ADMIN, []), true);
  });

  test('super_bypasses_every_acl', () => {
    assert.equal(aclAllows([acl(Perms.READ, 'digest', alice)], Perms.ADMIN, [{ scheme: 'super', id: '' }]), true);
  });

  test('perm_bits_are_checked', () => {
    const a = [world(Perms.READ | Perms.CREATE)];
    assert.equal(aclAllows(a, Perms.READ, []), true);
    assert.equal(aclAllows(a, Perms.CREATE, []), true);
    assert.equal(aclAllows(a, Perms.WRITE, []), false);
    assert.equal(aclAllows(a, Perms.DELETE, []), false);
    assert.equal(aclAllows(a, Perms.ADMIN, []), false);
    // a mask asks for any of the bits (getACL asks READ | ADMIN)
    assert.equal(aclAllows([world(Perms.ADMIN)], Perms.READ | Perms.ADMIN, []), true);
  });

  test('digest_ids_must_match_exactly', () => {
    const a = [acl(Perms.ALL, 'digest', alice)];
    assert.equal(aclAllows(a, Perms.READ, [{ scheme: 'digest', id: alice }]), true);
    assert.equal(aclAllows(a, Perms.READ, [{ scheme: 'digest', id: digestOf('alice:wrong') }]), false);
    assert.equal(aclAllows(a, Perms.READ, [{ scheme: 'ip', id: alice }]), false, 'scheme must match too');
    assert.equal(aclAllows(a, Perms.READ, []), false);
  });

  test('ip_acl_matches_by_prefix', () => {
    const a = [acl(Perms.READ, 'ip', '10.0.0.0/8')];
    assert.equal(aclAllows(a, Perms.READ, [{ scheme: 'ip', id: '10.9.9.9' }]), true);
    assert.equal(aclAllows(a, Perms.READ, [{ scheme: 'ip', id: '11.9.9.9' }]), false);
  });

  test('right_id_without_the_perm_is_refused', () => {
    const a = [acl(Perms.READ, 'digest', alice), world(Perms.CREATE)];
    assert.equal(aclAllows(a, Perms.WRITE, [{ scheme: 'digest', id: alice }]), false);
  });

  test('checkACL_throws_NoAuth_with_the_path', () => {
    assert.throws(
      () => checkACL([world(Perms.READ)], Perms.WRITE, [], '/p'),
      (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoAuth && e.path === '/p',
    );
    assert.doesNotThrow(() => checkACL([world(Perms.READ)], Perms.READ, [], '/p'));
  });
});

describe('authenticate and redactDigests', () => {
  test('digest_auth_adds_the_digest_id', () => {
    assert.deepEqual(authenticate('digest', Buffer.from('alice:pw'), '10.0.0.1', undefined), [
      { scheme: 'digest', id: digestOf('alice:pw') },
    ]);
  });

  test('digest_auth_matching_the_super_digest_adds_super', () => {
    const ids = authenticate('digest', Buffer.from('super:test'), '10.0.0.1', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.deepEqual(ids, [
      { scheme: 'super', id: '' },
      { scheme: 'digest', id: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' },
    ]);
    const notSuper = authenticate('digest', Buffer.from('super:nope'), '10.0.0.1', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.ok(notSuper?.every((i) => i.scheme !== 'super'));
  });

  test('unknown_scheme_fails_authentication', () => {
    assert.equal(authenticate('kerberos', Buffer.from('x'), '10.0.0.1', undefined), null);
  });

  test('digest_auth_without_a_colon_is_accepted_like_zookeeper', () => {
    const ids = authenticate('digest', Buffer.from('justuser'), '10.0.0.1', undefined);
    assert.deepEqual(ids, [{ scheme: 'digest', id: `justuser:${createHash('sha1').update('justuser').digest('base64')}` }]);
  });

  test('redactDigests_hides_the_hash_and_keeps_other_entries', () => {
    const input = [acl(Perms.READ | Perms.WRITE, 'digest', 'alice:abc/def='), world(Perms.READ), acl(Perms.READ, 'ip', '10.0.0.1')];
    const out = redactDigests(input);
    assert.deepEqual(out, [acl(Perms.READ | Perms.WRITE, 'digest', 'alice:x'), world(Perms.READ), acl(Perms.READ, 'ip', '10.0.0.1')]);
    assert.equal(input[0]!.id.id, 'alice:abc/def=', 'input not mutated');
  });
});
