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

/** mntr keys that monitoring tools read (Zabbix "Zookeeper by HTTP", Datadog zk, Telegraf, Netdata) */
const TOOL_KEYS = [
  'zk_version', 'zk_server_state', 'zk_approximate_data_size', 'zk_avg_latency', 'zk_max_latency', 'zk_min_latency', 'zk_ephemerals_count',
  'zk_global_sessions', 'zk_local_sessions', 'zk_max_file_descriptor_count', 'zk_open_file_descriptor_count', 'zk_num_alive_connections',
  'zk_outstanding_requests', 'zk_packets_received', 'zk_packets_sent', 'zk_uptime', 'zk_watch_count', 'zk_znode_count',
  'zk_bytes_received_count', 'zk_connection_rejected', 'zk_commit_count', 'zk_diff_count', 'zk_snap_count', 'zk_looking_count',
  'zk_avg_fsynctime', 'zk_cnt_fsynctime', 'zk_avg_snapshottime', 'zk_cnt_snapshottime', 'zk_avg_election_time', 'zk_cnt_election_time',
  'zk_last_client_response_size', 'zk_min_client_response_size', 'zk_max_client_response_size',
];

test('stat_and_mntr_read_as_monitoring_tools_read_zookeeper', async (t) => {
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) { t.skip(skip); return; }
  const cfg = { '4lw.commands.whitelist': '*' };
  const [ark, zk] = await Promise.all([startArk({ cfg }), startZooKeeper({ cfg })]);
  const clients: ZkClient[] = [];
  try {
    for (const srv of [ark, zk]) {
      const c = await ZkClient.connect({ port: srv.port });
      clients.push(c);
      await c.create('/m', 'x');
      await c.getData('/m');
    }
    // stat, as Datadog's parse_stat walks it: the same labels in the same order
    const labels = (s: string): string[] => s.split('\n').filter((l) => l !== '' && !l.startsWith(' ')).map((l) => l.replace(/:.*$/, ':'));
    const [as, zs] = await Promise.all([fourLetter(ark.port, 'stat'), fourLetter(zk.port, 'stat')]);
    assert.deepEqual(labels(as), labels(zs));
    // mntr: every key the tools read that ZooKeeper prints, Ark prints too, in a line they parse
    const keys = async (port: number): Promise<Map<string, string>> =>
      new Map((await fourLetter(port, 'mntr')).trim().split('\n').map((l) => l.split('\t') as [string, string]));
    const [am, zm] = await Promise.all([keys(ark.port), keys(zk.port)]);
    assert.deepEqual(TOOL_KEYS.filter((k) => zm.has(k) && !am.has(k)), []);
    for (const [k, v] of am) {
      assert.match(`${k}\t${v}`, /^zk_(\w[\w.-]*)\s+([\w.-]+)/, 'Telegraf drops a scrape with any other line');
      if (k !== 'zk_version' && k !== 'zk_server_state') assert.ok(Number.isFinite(Number(v)), `${k}: Datadog and Netdata read numbers`);
    }
  } finally {
    for (const c of clients) c.disconnect();
    await Promise.all([ark.stop(), zk.stop()]);
  }
});
