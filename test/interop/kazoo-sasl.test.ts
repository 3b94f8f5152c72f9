// kazoo's own test_sasl.py (kazoo.tests.test_sasl, shipped by Debian's python3-kazoo), unchanged, on
// kazoo's own harness: a 3-member Apache ZooKeeper 3.8 ensemble and a 3-member Ark one, each given
// what the harness writes (authProvider.1=SASLAuthenticationProvider in zoo.cfg; a JAAS file whose
// Server section has DigestLoginModule users super and jaasuser, named by
// -Djava.security.auth.login.config). Its DIGEST-MD5 tests (sasl_options, and the legacy
// auth_data=[("sasl", "user:password")]) connect with a good and a bad password; the GSSAPI ones
// skip themselves without a Kerberos test environment (KRB5_TEST_ENV), on both.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { requireOrSkip } from '../helpers/servers.js';
import { zookeeperMissing } from '../helpers/zookeeper.js';
import { kazooMissing, kazooPython } from '../helpers/kazoo.js';
import { commandFails } from '../helpers/clitools.js';
import { runKazooSuite, type SuiteJava } from '../helpers/kazoosuite.js';

const DIGEST_TESTS = [
  'kazoo.tests.test_sasl.TestSASLDigestAuthentication.test_connect_sasl_auth',
  'kazoo.tests.test_sasl.TestSASLDigestAuthentication.test_invalid_sasl_auth',
  'kazoo.tests.test_sasl.TestLegacySASLDigestAuthentication.test_connect_sasl_auth',
  'kazoo.tests.test_sasl.TestLegacySASLDigestAuthentication.test_invalid_sasl_auth',
];

function missing(zookeeper: boolean): string | false {
  return requireOrSkip(
    kazooMissing() ??
      commandFails(kazooPython, ['-c', 'import puresasl'], 'pure-sasl (apt-get install python3-pure-sasl)') ??
      (zookeeper ? zookeeperMissing() : null),
  );
}

async function check(t: TestContext, java: SuiteJava): Promise<void> {
  const skip = missing(java !== 'ark');
  if (skip) return t.skip(skip);
  const r = await runKazooSuite('kazoo.tests.test_sasl', java);
  for (const name of DIGEST_TESTS) {
    t.diagnostic(`${name}: ${r.results.get(name)}`);
    assert.equal(r.results.get(name), 'ok', `${name}\n${r.report}`);
  }
}

describe("kazoo's own test_sasl.py", () => {
  test('Apache ZooKeeper 3.8: the DIGEST-MD5 tests pass', { timeout: 240000 }, (t) => check(t, 'zookeeper'));
  test('Ark: the DIGEST-MD5 tests pass', { timeout: 240000 }, (t) => check(t, 'ark'));
});
