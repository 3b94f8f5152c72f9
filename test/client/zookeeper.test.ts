// The same client suite, and the recipes suite, against a real Apache ZooKeeper 3.8 (Debian's
// zookeeper package), started here with the suite's settings. Without ZooKeeper (no java or
// jars) it prints why and skips, except in CI (CI=true), where that is a failure.
import { test, before, after } from 'node:test';
import { requireOrSkip } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { clientSuite } from './suite.js';
import { recipesSuite } from './recipes-suite.js';
import { SUITE_CFG, serverTarget, type Target } from './helpers.js';

const skip = requireOrSkip(zookeeperMissing());

if (skip) {
  test('client suite against ZooKeeper 3.8', { skip }, () => undefined);
  test('recipes suite against ZooKeeper 3.8', { skip }, () => undefined);
} else {
  let target: Target | null = null;
  before(async () => {
    target = serverTarget(await startZooKeeper({ cfg: { ...SUITE_CFG } }), 'zookeeper');
  });
  after(async () => {
    await target?.stop();
  });
  clientSuite('Apache ZooKeeper 3.8', () => target!);
  recipesSuite('Apache ZooKeeper 3.8', () => target!);
}
