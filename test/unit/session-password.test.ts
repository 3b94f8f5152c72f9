// Session passwords must equal ZooKeeper's (java.util.Random(sessionId ^ 0xB3415C00).nextBytes(16)):
// expected values printed by a Java 17 program using java.util.Random.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zookeeperSessionPassword } from '../../src/session/sessions.js';

test('session_password_matches_java_util_random', () => {
  const vectors: Array<[string, string]> = [
    ['72057594037927936', 'f22acd4a97e69d6d20a49bb638eadb38'],
    ['-1', '20f62cb5648dc2d771471c8a2486a9ee'],
    ['0', 'f22acd4a97e69d6d20a49bb638eadb38'],
    ['1234567890123', '40b51d0074cd652e16c884a0cf746290'],
  ];
  for (const [id, hex] of vectors) assert.equal(zookeeperSessionPassword(BigInt(id)).toString('hex'), hex, id);
});
