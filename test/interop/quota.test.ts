// Quotas (ZooKeeper 3.7+): the same script against Ark and Apache ZooKeeper 3.8, both with
// enforceQuota=true; the observed results must be equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startArk, requireOrSkip, type RunningServer } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { ZkClient } from '../../src/client/client.js';
import { KeeperError, errorName } from '../../src/util/errors.js';

async function script(srv: RunningServer): Promise<string[]> {
  const c = await ZkClient.connect({ port: srv.port });
  const out: string[] = [];
  const step = async (what: string, f: () => Promise<unknown>): Promise<void> => {
    try {
      const r = await f();
      out.push(`${what} -> ${typeof r === 'string' ? r : 'ok'}`);
    } catch (e) {
      out.push(`${what} -> ${e instanceof KeeperError ? errorName(e.code) : String(e)}`);
    }
  };
  const stats = (p: string) => async () => (await c.getData(`/zookeeper/quota${p}/zookeeper_stats`)).data.toString();
  await step('create /q', () => c.create('/q', 'abc'));
  await step('create quota node', () => c.create('/zookeeper/quota/q'));
  await step('create limits', () => c.create('/zookeeper/quota/q/zookeeper_limits', 'count=-1,bytes=-1,countHardLimit=3,byteHardLimit=10'));
  await step('create stats', () => c.create('/zookeeper/quota/q/zookeeper_stats', 'count=0,bytes=0'));
  await step('stats after setup', stats('/q'));
  await step('create /q/a', () => c.create('/q/a', '12'));
  await step('create /q/b', () => c.create('/q/b'));
  await step('create /q/c over count', () => c.create('/q/c'));
  await step('stats at count limit', stats('/q'));
  await step('setData /q/b within bytes', () => c.setData('/q/b', '12345').then(() => 'ok'));
  await step('setData /q/b over bytes', () => c.setData('/q/b', '123456').then(() => 'ok'));
  await step('delete /q/a', () => c.delete('/q/a'));
  await step('create /q/c after delete', () => c.create('/q/c'));
  await step('stats at end', stats('/q'));
  await step('soft limit only', async () => {
    await c.create('/s');
    await c.create('/zookeeper/quota/s');
    await c.create('/zookeeper/quota/s/zookeeper_limits', 'count=1,bytes=-1');
    await c.create('/zookeeper/quota/s/zookeeper_stats', 'count=0,bytes=0');
    await c.create('/s/x'); // over the soft limit: allowed, only logged
    return (await c.getData('/zookeeper/quota/s/zookeeper_stats')).data.toString();
  });
  // the text zkCli's `setquota -N 2` writes (ZooKeeper's StatsTrack.toString), keys after "=;"
  await step('zkCli-written hard limit', async () => {
    await c.create('/z');
    await c.create('/zookeeper/quota/z');
    await c.create('/zookeeper/quota/z/zookeeper_limits', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2');
    await c.create('/zookeeper/quota/z/zookeeper_stats', 'count=0,bytes=0');
    await c.create('/z/a');
    return 'ok';
  });
  await step('create /z/b over the zkCli-written limit', () => c.create('/z/b'));
  await step('stats of /z', stats('/z'));
  c.disconnect();
  return out;
}

test('quotas_behave_as_in_zookeeper', async (t) => {
  const ark = await startArk({ cfg: { enforceQuota: true } });
  let arkOut: string[];
  try {
    arkOut = await script(ark);
  } finally {
    await ark.stop();
  }
  assert.deepEqual(arkOut.slice(0, 9), [
    'create /q -> /q',
    'create quota node -> /zookeeper/quota/q',
    'create limits -> /zookeeper/quota/q/zookeeper_limits',
    'create stats -> /zookeeper/quota/q/zookeeper_stats',
    'stats after setup -> count=1,bytes=3',
    'create /q/a -> /q/a',
    'create /q/b -> /q/b',
    'create /q/c over count -> QuotaExceeded',
    'stats at count limit -> count=3,bytes=5',
  ]);
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) {
    t.skip(skip);
    return;
  }
  const zk = await startZooKeeper({ cfg: { enforceQuota: true } });
  try {
    assert.deepEqual(arkOut, await script(zk));
  } finally {
    await zk.stop();
  }
});
