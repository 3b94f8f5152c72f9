// Stale follower reads: how often a znode created through one member is missed by a read on
// another member sent the moment the create is acknowledged, without sync() (ZooKeeper allows it;
// common code that reads through a second client counts on it being rare). A 3-server ensemble of
// Ark, then of Apache ZooKeeper 3.8 when the Debian package is installed, one at a time; the same
// client (Ark's wire client) against both. BENCH_STALE_TRIALS (default 1000 per pair).
import { ZkClient } from '../src/client/client.js';
import { startEnsemble, type Ensemble, type Member } from '../test/helpers/ensemble.js';
import { startZooKeeperEnsemble } from '../test/helpers/zookeeper-ensemble.js';
import { fourLetterWord, zookeeperMissing } from '../test/helpers/zookeeper.js';

const TRIALS = Number(process.env.BENCH_STALE_TRIALS ?? 1000);

async function mode(m: Member): Promise<string> {
  return /Mode: (\w+)/.exec(await fourLetterWord('127.0.0.1', m.port, 'srvr', 2000))?.[1] ?? '?';
}

/** Creates through `writer`'s member and at once asks `reader`'s: the share of creates not seen yet. */
async function staleShare(writer: Member, reader: Member, root: string): Promise<number> {
  const w = await ZkClient.connect({ port: writer.port, sessionTimeoutMs: 20000 });
  const r = await ZkClient.connect({ port: reader.port, sessionTimeoutMs: 20000 });
  try {
    await w.create(root, null);
    await r.sync(root);
    let missed = 0;
    for (let i = 0; i < TRIALS; i++) {
      const p = `${root}/n${i}`;
      await w.create(p, 'x');
      if ((await r.exists(p)) === null) missed++;
    }
    return missed / TRIALS;
  } finally {
    w.disconnect();
    r.disconnect();
  }
}

async function measure(system: string, ens: Ensemble): Promise<{ leaderToFollower: number; followerToFollower: number }> {
  await ens.leader(30000);
  await ens.serving(30000);
  const roles = await Promise.all(ens.members.map(mode));
  const leader = ens.members[roles.indexOf('leader')]!;
  const followers = ens.members.filter((m) => m !== leader);
  const leaderToFollower = await staleShare(leader, followers[0]!, `/stale-lf-${Date.now()}`);
  const followerToFollower = await staleShare(followers[0]!, followers[1]!, `/stale-ff-${Date.now()}`);
  console.log(
    `${system.padEnd(10)} leader -> follower ${(leaderToFollower * 100).toFixed(1)}% stale   follower -> follower ${(followerToFollower * 100).toFixed(1)}% stale   (${TRIALS} creates each)`,
  );
  return { leaderToFollower, followerToFollower };
}

async function main(): Promise<void> {
  console.log(`stale follower reads: a create acknowledged, then at once exists() on another member (no sync), ${TRIALS} times`);
  const ark = await startEnsemble({ voters: 3, env: { ARK_LOG_LEVEL: 'warn' } });
  try {
    await measure('Ark', ark);
  } finally {
    await ark.stop();
  }
  const missing = zookeeperMissing();
  if (missing) {
    console.log(`ZooKeeper: skipped (${missing})`);
    return;
  }
  const zk = await startZooKeeperEnsemble({ voters: 3, production: true });
  try {
    await measure('ZooKeeper', zk);
  } finally {
    await zk.stop();
  }
}

await main();
