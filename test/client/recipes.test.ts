// The recipes suite against ZK_TEST_SERVER=HOST:PORT when set (any ZooKeeper-protocol server),
// else against an Ark server started here. `npm run test:client` runs it (and zookeeper.test.ts
// runs the same suite against Apache ZooKeeper 3.8).
import { before, after } from 'node:test';
import { recipesSuite } from './recipes-suite.js';
import { defaultTarget, type Target } from './helpers.js';

let target: Target | null = null;
before(async () => {
  target = await defaultTarget();
});
after(async () => {
  await target?.stop();
});

recipesSuite(process.env.ZK_TEST_SERVER ? `ZK_TEST_SERVER ${process.env.ZK_TEST_SERVER}` : 'Ark', () => target!);
