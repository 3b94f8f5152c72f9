// Keeps test/fixtures/jute-oracle.json honest: recompiles and reruns JuteOracle.java (which
// serializes records with ZooKeeper's own jute classes) and requires its output to equal the
// committed fixture. Regenerate with ARK_UPDATE_FIXTURES=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, requireOrSkip } from '../helpers/servers.js';
import { compileJava, describeJava, interopJavaDir, javaClientMissing, runJava } from '../helpers/zookeeper.js';

const fixturePath = join(repoRoot, 'test', 'fixtures', 'jute-oracle.json');

interface OracleEntry {
  name: string;
  fields: Record<string, unknown>;
  hex: string;
}

test('jute-oracle.json fixture is well formed', () => {
  const entries = JSON.parse(readFileSync(fixturePath, 'utf8')) as OracleEntry[];
  assert.ok(Array.isArray(entries) && entries.length > 50, 'fixture has the full set of records');
  const names = new Set<string>();
  for (const e of entries) {
    assert.equal(typeof e.name, 'string');
    assert.ok(!names.has(e.name), `duplicate name ${e.name}`);
    names.add(e.name);
    assert.equal(typeof e.fields, 'object');
    assert.match(e.hex, /^([0-9a-f]{2})*$/, `${e.name}: hex`);
  }
  for (const required of [
    'RequestHeader',
    'ReplyHeader',
    'ConnectRequest',
    'ConnectRequest+readOnly',
    'ConnectResponse',
    'CreateRequest',
    'CreateTTLRequest',
    'Stat',
    'Create2Response',
    'SetWatches2',
    'WhoAmIResponse',
    'MultiOperationRecord',
    'MultiResponse',
    'MultiResponse(failed)',
    'ErrorResponse',
    'AuthPacket',
    'WatcherEvent',
  ]) {
    assert.ok(names.has(required), `fixture has ${required}`);
  }
});

test('JuteOracle (ZooKeeper jute classes) reproduces the committed fixture', { timeout: 180000 }, async (t) => {
  const skip = requireOrSkip(javaClientMissing());
  if (skip) {
    t.skip(skip);
    return;
  }
  const classDir = await compileJava([join(interopJavaDir, 'JuteOracle.java')]);
  const r = await runJava(classDir, 'JuteOracle', [], 60000);
  assert.equal(r.code, 0, describeJava(r));
  if (process.env.ARK_UPDATE_FIXTURES) {
    writeFileSync(fixturePath, r.stdout);
    t.diagnostic(`wrote ${fixturePath}`);
  }
  // the fixture is committed: without it there is nothing to compare the oracle's output with
  assert.ok(existsSync(fixturePath), `the fixture ${fixturePath} is committed (ARK_UPDATE_FIXTURES=1 writes it)`);
  const fixture = readFileSync(fixturePath, 'utf8');
  assert.deepEqual(
    JSON.parse(r.stdout),
    JSON.parse(fixture),
    'oracle output differs from the fixture (ARK_UPDATE_FIXTURES=1 regenerates it)',
  );
  assert.equal(r.stdout, fixture, 'fixture text is exactly what the oracle prints');
});
