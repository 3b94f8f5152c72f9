// SASL on an ensemble member: kazoo (sasl_options DIGEST-MD5) connected to a follower only. The
// follower runs the DIGEST-MD5 exchange and checks reads; its writes go to the leader with the
// connection's ids (sasl:NAME), where prep checks them against the node's sasl ACL: the owner
// changes the node, another SASL user and an unauthenticated client are refused, a wrong
// password fails. Every member reads the same JAAS file from SERVER_JVMFLAGS, as zkServer.sh passes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEnsemble } from '../helpers/ensemble.js';
import { requireOrSkip, tempDir } from '../helpers/servers.js';
import { kazooMissing, runKazooScript } from '../helpers/kazoo.js';
import { describeTool } from '../helpers/clitools.js';

test('SASL DIGEST-MD5 through a follower of a 3-member ensemble', { timeout: 180000 }, async (t) => {
  const skip = requireOrSkip(kazooMissing());
  if (skip) return t.skip(skip);
  const jaas = join(tempDir('jaas'), 'jaas.conf');
  writeFileSync(
    jaas,
    'Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n    user_app1="app1-password"\n    user_app2="app2-password";\n};\n',
  );
  const ens = await startEnsemble({
    voters: 3,
    cfg: { 'authProvider.1': 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider' },
    env: { SERVER_JVMFLAGS: `-Djava.security.auth.login.config=${jaas}` },
  });
  try {
    const leader = await ens.leader(30000);
    const follower = ens.members.find((m) => m !== leader)!;
    const r = await runKazooScript(
      'sasl_probe.py',
      [`127.0.0.1:${follower.port}`, 'app1', 'app1-password', 'app2', 'app2-password'],
      60000,
    );
    const text = `${describeTool(r)}\n--- follower ${follower.id} ---\n${follower.log.slice(-3000)}`;
    assert.equal(r.code, 0, text);
    t.diagnostic(`follower ${follower.id} (leader ${leader.id}): ${r.stdout.trim().split('\n').join('; ')}`);
    for (const line of [
      'owner-read changed',
      'anonymous refused',
      'other-user refused',
      'other-user-write refused',
      'wrong-password auth-failed',
    ]) {
      assert.match(r.stdout, new RegExp(`^${line}$`, 'm'), text);
    }
  } finally {
    await ens.stop();
  }
});
