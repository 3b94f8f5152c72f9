// Four-letter words that tools scrape, side by side with Apache ZooKeeper 3.8: the same session
// and watches on both, then the outputs compared after normalising ids, ports, times and versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startArk, requireOrSkip, type RunningServer } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { fourLetter } from '../helpers/fourletter.js';
import { ZkClient } from '../../src/client/client.js';
import { AddWatchMode, CreateFlag } from '../../src/wire/protocol.js';

async function observe(srv: RunningServer): Promise<Record<string, string>> {
  const c = await ZkClient.connect({ port: srv.port });
  await c.create('/w', 'x');
  await c.create('/v', 'y');
  await c.create('/e', null, { flags: CreateFlag.EPHEMERAL });
  await c.getChildren('/w', true);
  await c.getData('/v', true);
  await c.getChildren('/v', true);
  await c.exists('/missing', true);
  await c.addWatch('/w', AddWatchMode.Persistent);
  const sid = `0x${c.sessionId.toString(16)}`;
  const norm = (s: string): string => s.split(sid).join('SESSION');
  const out: Record<string, string> = {};
  // ZooKeeper lists in hash-set order: compare the lines as sets
  for (const w of ['wchc', 'wchp']) out[w] = norm(await fourLetter(srv.port, w)).split('\n').sort().join('\n');
  for (const w of ['wchs', 'ruok', 'isro']) out[w] = norm(await fourLetter(srv.port, w));
  const srvr = await fourLetter(srv.port, 'srvr');
  out.srvr = srvr.split('\n').filter((l) => /^(Node count|Outstanding|Mode|Zxid)/.test(l)).join('\n');
  const mntr = new Map((await fourLetter(srv.port, 'mntr')).trim().split('\n').map((l) => l.split('\t') as [string, string]));
  for (const k of ['zk_server_state', 'zk_znode_count', 'zk_watch_count', 'zk_ephemerals_count', 'zk_outstanding_requests', 'zk_global_sessions']) {
    out[k] = mntr.get(k) ?? 'missing';
  }
  c.disconnect();
  return out;
}

test('four_letter_words_match_zookeeper', async (t) => {
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) { t.skip(skip); return; }
  const cfg = { '4lw.commands.whitelist': '*' };
  const ark = await startArk({ cfg });
  const zk = await startZooKeeper({ cfg });
  try {
    const [a, z] = await Promise.all([observe(ark), observe(zk)]);
    assert.deepEqual(a, z);
  } finally {
    await Promise.all([ark.stop(), zk.stop()]);
  }
});
