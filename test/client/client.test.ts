// The client suite against ZK_TEST_SERVER=HOST:PORT when set (any ZooKeeper-protocol server),
// else against an Ark server started here. `npm run test:client` runs it; so does `npm test`.
import { before, after } from 'node:test';
import { clientSuite } from './suite.js';
import { defaultTarget, type Target } from './helpers.js';

let target: Target | null = null;
before(async () => {
  target = await defaultTarget();
});
after(async () => {
  await target?.stop();
});

clientSuite(process.env.ZK_TEST_SERVER ? `ZK_TEST_SERVER ${process.env.ZK_TEST_SERVER}` : 'Ark', () => target!);
