// Four-letter words that tools scrape, side by side with Apache ZooKeeper 3.8: the same session
// and watches on both, then the outputs compared after normalising ids, ports, times and versions.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startArk, requireOrSkip, type RunningServer } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { fourLetter } from '../helpers/fourletter.js';
import { ZkClient } from '../../src/client/client.js';
import { AddWatchMode, CreateFlag } from '../../src/wire/protocol.js';
import { javaDouble } from '../../src/admin/fourletter.js';

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
  for (const w of ['wchc', 'wchp'])
    out[w] = norm(await fourLetter(srv.port, w))
      .split('\n')
      .sort()
      .join('\n');
  for (const w of ['wchs', 'ruok', 'isro']) out[w] = norm(await fourLetter(srv.port, w));
  const srvr = await fourLetter(srv.port, 'srvr');
  out.srvr = srvr
    .split('\n')
    .filter((l) => /^(Node count|Outstanding|Mode|Zxid)/.test(l))
    .join('\n');
  const mntr = new Map(
    (await fourLetter(srv.port, 'mntr'))
      .trim()
      .split('\n')
      .map((l) => l.split('\t') as [string, string]),
  );
  for (const k of [
    'zk_server_state',
    'zk_znode_count',
    'zk_watch_count',
    'zk_ephemerals_count',
    'zk_outstanding_requests',
    'zk_global_sessions',
  ]) {
    out[k] = mntr.get(k) ?? 'missing';
  }
  c.disconnect();
  return out;
}

test('four_letter_words_match_zookeeper', async (t) => {
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) {
    t.skip(skip);
    return;
  }
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
  'zk_version',
  'zk_server_state',
  'zk_approximate_data_size',
  'zk_avg_latency',
  'zk_max_latency',
  'zk_min_latency',
  'zk_ephemerals_count',
  'zk_global_sessions',
  'zk_local_sessions',
  'zk_max_file_descriptor_count',
  'zk_open_file_descriptor_count',
  'zk_num_alive_connections',
  'zk_outstanding_requests',
  'zk_packets_received',
  'zk_packets_sent',
  'zk_uptime',
  'zk_watch_count',
  'zk_znode_count',
  'zk_bytes_received_count',
  'zk_connection_rejected',
  'zk_commit_count',
  'zk_diff_count',
  'zk_snap_count',
  'zk_looking_count',
  'zk_avg_fsynctime',
  'zk_cnt_fsynctime',
  'zk_avg_snapshottime',
  'zk_cnt_snapshottime',
  'zk_avg_election_time',
  'zk_cnt_election_time',
  'zk_last_client_response_size',
  'zk_min_client_response_size',
  'zk_max_client_response_size',
];

/**
 * Starts Ark and ZooKeeper with every four-letter word allowed, puts the same requests through a
 * client on each (`load`), then runs `check` on both; stops them.
 */
async function withBoth(
  t: TestContext,
  load: (c: ZkClient) => Promise<void>,
  check: (ark: RunningServer, zk: RunningServer) => Promise<void>,
): Promise<void> {
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) {
    t.skip(skip);
    return;
  }
  const cfg = { '4lw.commands.whitelist': '*' };
  const [ark, zk] = await Promise.all([startArk({ cfg }), startZooKeeper({ cfg })]);
  const clients: ZkClient[] = [];
  try {
    for (const srv of [ark, zk]) {
      const c = await ZkClient.connect({ port: srv.port });
      clients.push(c);
      await load(c);
    }
    await check(ark, zk);
  } finally {
    for (const c of clients) c.disconnect();
    await Promise.all([ark.stop(), zk.stop()]);
  }
}

test('stat_and_mntr_read_as_monitoring_tools_read_zookeeper', (t) =>
  withBoth(
    t,
    async (c) => {
      await c.create('/m', 'x');
      await c.getData('/m');
    },
    async (ark, zk) => {
      // stat, as Datadog's parse_stat walks it: the same labels in the same order
      const labels = (s: string): string[] =>
        s
          .split('\n')
          .filter((l) => l !== '' && !l.startsWith(' '))
          .map((l) => l.replace(/:.*$/, ':'));
      const [as, zs] = await Promise.all([fourLetter(ark.port, 'stat'), fourLetter(zk.port, 'stat')]);
      assert.deepEqual(labels(as), labels(zs));
      // mntr: every key the tools read that ZooKeeper prints, Ark prints too, in a line they parse
      const keys = async (port: number): Promise<Map<string, string>> =>
        new Map(
          (await fourLetter(port, 'mntr'))
            .trim()
            .split('\n')
            .map((l) => l.split('\t') as [string, string]),
        );
      const [am, zm] = await Promise.all([keys(ark.port), keys(zk.port)]);
      assert.deepEqual(
        TOOL_KEYS.filter((k) => zm.has(k) && !am.has(k)),
        [],
      );
      assert.ok(
        TOOL_KEYS.filter((k) => zm.has(k)).length >= 30,
        `ZooKeeper's mntr printed the keys to compare: ${[...zm.keys()].join(',')}`,
      );
      for (const [k, v] of am) {
        assert.match(`${k}\t${v}`, /^zk_(\w[\w.-]*)\s+([\w.-]+)/, 'Telegraf drops a scrape with any other line');
        if (k !== 'zk_version' && k !== 'zk_server_state') assert.ok(Number.isFinite(Number(v)), `${k}: Datadog and Netdata read numbers`);
      }
    },
  ));

/** every average srvr, stat and mntr print: the "avg" of Latency min/avg/max and each zk_avg_* value */
async function averages(port: number): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const w of ['srvr', 'stat'])
    out.push([`${w} avg`, /^Latency min\/avg\/max: \d+\/([^/]+)\/\d+$/m.exec(await fourLetter(port, w))?.[1] ?? 'missing']);
  for (const line of (await fourLetter(port, 'mntr')).trim().split('\n')) {
    const [k, v] = line.split('\t') as [string, string];
    if (k.startsWith('zk_avg_')) out.push([k, v]);
  }
  return out;
}

test('averages_print_as_zookeeper_prints_them', (t) =>
  withBoth(
    t,
    async (c) => {
      // 13 requests of mixed cost, so the mean is rarely a short decimal
      for (let i = 0; i < 7; i++) await c.create(`/avg${i}`, 'x');
      for (let i = 0; i < 6; i++) await c.getData(`/avg${i}`);
    },
    async (ark, zk) => {
      // ZooKeeper's AvgMinMaxCounter.getAvg: rounded half-up to 4 decimals, printed by Double.toString
      for (const srv of [zk, ark]) {
        for (const [what, v] of await averages(srv.port)) {
          assert.equal(v, javaDouble(Number(Number(v).toFixed(4))), `${srv.name} ${what}: ${v} is not in ZooKeeper's form`);
        }
      }
      const names = async (port: number): Promise<string[]> => (await averages(port)).map(([k]) => k);
      const zkNames = await names(zk.port);
      assert.deepEqual(
        (await names(ark.port)).filter((k) => !zkNames.includes(k)),
        [],
        'no average ZooKeeper does not print',
      );
    },
  ));
