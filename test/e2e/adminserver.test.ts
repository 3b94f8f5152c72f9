// The AdminServer as an operator uses it: a real `ark server` process, every command fetched with
// a real curl process, JSON back; values checked against what the test did and what the server's
// files and four-letter words say.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startArk, freePort, type RunningServer } from '../helpers/servers.js';
import { fourLetter } from '../helpers/fourletter.js';
import { startInProc } from '../helpers/inproc.js';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag, Perms } from '../../src/wire/protocol.js';
import { digestOf } from '../../src/tree/acl.js';
import { parseSnapshotName } from '../../src/storage/snapshot.js';
import { waitUntil } from '../helpers/wait.js';

interface Reply {
  status: number;
  body: string;
  json: Record<string, unknown>;
}

/** One request with the curl binary: the status code, the body, and the body parsed. */
function curl(url: string, opts: { method?: string; data?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const args = ['-sS', '-w', '\n%{http_code}'];
  if (opts.method) args.push('-X', opts.method);
  if (opts.data !== undefined) args.push('--data-binary', opts.data);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile('curl', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`curl ${url}: ${err.message} ${stderr}`));
        return;
      }
      const cut = stdout.lastIndexOf('\n');
      const body = stdout.slice(0, cut);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        /* not JSON (a stream) */
      }
      resolve({ status: Number(stdout.slice(cut + 1)), body, json });
    });
  });
}

/** Every command of ZooKeeper 3.9 (plus shed_connections) with its aliases. */
const COMMANDS: Record<string, string[]> = {
  connection_stat_reset: ['crst'],
  configuration: ['conf', 'config'],
  connections: ['cons'],
  hash: [],
  dirs: [],
  dump: [],
  environment: ['env', 'envi'],
  get_trace_mask: ['gtmk'],
  initial_configuration: ['icfg'],
  is_read_only: ['isro'],
  last_snapshot: ['lsnp'],
  leader: ['lead'],
  monitor: ['mntr'],
  observer_connection_stat_reset: ['orst'],
  restore: ['rest'],
  ruok: [],
  set_trace_mask: ['stmk'],
  shed_connections: ['shed'],
  snapshot: ['snap'],
  server_stats: ['srvr'],
  stats: ['stat'],
  stat_reset: ['srst'],
  observers: ['obsr'],
  system_properties: ['sysp'],
  voting_view: [],
  watches: ['wchc'],
  watches_by_path: ['wchp'],
  watch_summary: ['wchs'],
  zabstate: [],
};
const POST_ONLY = new Set(['restore', 'shed_connections']);
const AUTH = new Set(['restore', 'shed_connections', 'snapshot']);

/** mntr lines as monitoring tools read them (Telegraf rejects a whole scrape on one line that does not match) */
const TELEGRAF_LINE = /^zk_(\w[\w.-]*)\s+([\w.-]+)/;

describe('admin_server_standalone', () => {
  let srv: RunningServer;
  let admin: string;
  let c: ZkClient;
  const get = (cmd: string): Promise<Reply> => curl(`${admin}/commands/${cmd}`);

  before(async () => {
    const adminPort = await freePort();
    srv = await startArk({
      cfg: { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1', snapCount: 20 },
      env: { ARK_TEST_API_TOKEN: 'hunter2', ARK_TEST_PLAIN: 'visible' },
    });
    admin = `http://127.0.0.1:${adminPort}`;
    // no pings from this client: a long session outlives the whole describe
    c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 40000 });
    await c.create('/a', 'x');
    await c.create('/e', null, { flags: CreateFlag.EPHEMERAL });
    await c.getData('/a', true);
    // past zxid 128, so the digest history has an entry, and past several snapshots (snapCount 20)
    await Promise.all(Array.from({ length: 140 }, (_, i) => c.create(`/n${i}`, 'v'.repeat(i))));
  });

  after(async () => {
    c?.disconnect();
    await srv?.stop();
  });

  test('monitor_and_mntr_report_real_figures_in_the_layout_tools_read', async () => {
    // the snapshots snapCount=20 started are written in the background: wait for the first
    await waitUntil(async () => ((await get('monitor')).json.cnt_snapshottime as number) > 0, 'monitor to count a snapshot');
    const m = (await get('monitor')).json;
    assert.equal(m.server_state, 'standalone');
    // ZooKeeper counts the root twice: / / /zookeeper /zookeeper/quota /zookeeper/config, then /a /e and 140 nodes
    assert.equal(m.znode_count, 5 + 2 + 140);
    assert.equal(m.ephemerals_count, 1);
    assert.equal(m.global_sessions, 1);
    assert.ok((m.cnt_fsynctime as number) > 0, 'every write is fsynced');
    assert.ok((m.sum_fsynctime as number) >= (m.max_fsynctime as number));
    assert.ok((m.cnt_snapshottime as number) > 0, 'snapCount=20 took snapshots');
    assert.ok(
      (m.last_client_response_size as number) > 0 && (m.max_client_response_size as number) >= (m.min_client_response_size as number),
    );
    assert.ok((m.bytes_received_count as number) > 140 * 16, 'requests were read');
    assert.equal(m.fsync_threshold_exceed_count, 0);
    for (const k of ['learners', 'synced_followers', 'pending_syncs', 'last_proposal_size', 'peer_state', 'quorum_size'])
      assert.ok(!(k in m), `${k} belongs to an ensemble`);
    // the four-letter word: the same keys, each line as Telegraf / Datadog / Netdata parse it
    const lines = (await fourLetter(srv.port, 'mntr')).trim().split('\n');
    const keys = new Set<string>();
    for (const line of lines) {
      assert.match(line, TELEGRAF_LINE);
      const [k, v] = line.split('\t') as [string, string];
      keys.add(k.replace(/^zk_/, ''));
      if (!['zk_version', 'zk_server_state'].includes(k)) assert.ok(Number.isFinite(Number(v)), `${k} is numeric: ${v}`);
    }
    assert.deepEqual(
      [...keys].sort(),
      Object.keys(m)
        .filter((k) => k !== 'command' && k !== 'error')
        .sort(),
    );
  });

  test('server_stats_connections_and_watches_show_the_session', async () => {
    const sid = BigInt.asIntN(64, c.sessionId).toString();
    const srvr = (await get('srvr')).json;
    const stats = srvr.server_stats as Record<string, unknown>;
    assert.equal(stats.server_state, 'standalone');
    const zxid = parseInt(/Zxid: 0x([0-9a-f]+)/.exec(await fourLetter(srv.port, 'srvr'))![1]!, 16);
    assert.equal(stats.last_processed_zxid, zxid);
    assert.deepEqual(Object.keys(srvr.client_response as object).sort(), ['last_buffer_size', 'max_buffer_size', 'min_buffer_size']);
    assert.ok(!('proposal_stats' in srvr), "proposal sizes are a leader's");
    const cons = await get('connections');
    // session ids are JSON integers, exact above 2^53 (JSON.parse would round them)
    assert.match(cons.body, new RegExp(`"session_id": ${sid},`));
    const conn = (cons.json.connections as Array<Record<string, unknown>>)[0]!;
    assert.equal(conn.interest_ops, 1);
    assert.equal(conn.last_operation, 'CREA');
    assert.ok((conn.last_cxid as number) >= 143, 'the xid of the last request answered');
    assert.deepEqual(Object.keys(conn), [
      'remote_socket_address',
      'interest_ops',
      'outstanding_requests',
      'packets_received',
      'packets_sent',
      'session_id',
      'last_operation',
      'established',
      'session_timeout',
      'last_cxid',
      'last_zxid',
      'last_response_time',
      'last_latency',
      'min_latency',
      'avg_latency',
      'max_latency',
    ]);
    const brief = ((await get('stats')).json.connections as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(Object.keys(brief), [
      'remote_socket_address',
      'interest_ops',
      'outstanding_requests',
      'packets_received',
      'packets_sent',
    ]);
    assert.match((await get('wchc')).body, new RegExp(`"${sid}": \\[\\s*"/a"\\s*\\]`));
    assert.match((await get('wchp')).body, new RegExp(`"/a": \\[\\s*${sid}\\s*\\]`));
    assert.deepEqual((await get('wchs')).json, {
      num_connections: 1,
      num_paths: 1,
      num_total_watches: 1,
      command: 'watch_summary',
      error: null,
    });
    assert.match((await get('dump')).body, new RegExp(`"${sid}": \\[\\s*"/e"\\s*\\]`));
    assert.equal((await get('conf')).json.client_port, srv.port);
    const dirs = (await get('dirs')).json;
    assert.ok((dirs.datadir_size as number) > 0 && (dirs.logdir_size as number) > 0);
  });

  test('hash_shows_the_digest_history_as_the_four_letter_word', async () => {
    const digests = (await get('hash')).json.digests as Array<{ zxid: number; digest: number; digest_version: number }>;
    assert.ok(digests.length >= 1);
    for (const d of digests) {
      assert.equal(d.zxid % 128, 0, 'every 128th zxid, as ZooKeeper logs it');
      assert.equal(d.digest_version, 2);
    }
    const raw = (await get('hash')).body;
    const lines = (await fourLetter(srv.port, 'hash')).trim().split('\n');
    assert.equal(lines.length, digests.length);
    for (const [i, line] of lines.entries()) {
      const [zxid, digest] = line.split(': ') as [string, string];
      assert.equal(parseInt(zxid, 16), digests[i]!.zxid);
      assert.ok(raw.includes(`"digest": ${digest},`), `the exact 64-bit digest ${digest} in the JSON`);
    }
  });

  test('last_snapshot_is_the_newest_snapshot_file', async () => {
    const dir = join(srv.dataDir, 'ark-v1');
    const newest = (): { zxid: number; file: string } | null => {
      let best: { zxid: number; file: string } | null = null;
      for (const f of readdirSync(dir)) {
        const z = parseSnapshotName(f);
        if (z !== null && (!best || z > best.zxid)) best = { zxid: z, file: f };
      }
      return best;
    };
    // a snapshot may land between the two looks: look until the answer sits between two equal listings
    for (;;) {
      const before = newest();
      const r = (await get('lsnp')).json;
      const after = newest();
      if (before?.file !== after?.file || !after) continue;
      assert.equal(r.zxid, after.zxid.toString(16));
      assert.equal(r.timestamp, Math.floor(statSync(join(dir, after.file)).mtimeMs / 1000));
      assert.ok(after.zxid > 0);
      break;
    }
  });

  test('configuration_environment_and_properties_are_the_real_ones', async () => {
    const icfg = (await get('icfg')).json.initial_configuration as string;
    assert.match(icfg, new RegExp(`^clientPort=${srv.port}$`, 'm'));
    assert.match(icfg, /^snapCount=20$/m);
    const env = (await get('envi')).json;
    assert.equal(env['node.version'], process.version);
    assert.equal(env['process.pid'], String(srv.process.pid));
    assert.match(String(env['zookeeper.version']), /^3\.9\.\d+-ark-/);
    const sysp = (await get('sysp')).json;
    assert.equal(sysp['zookeeper.snapCount'], '20', "zoo.cfg keys as ZooKeeper's system properties");
    assert.equal(sysp['env.ARK_TEST_PLAIN'], 'visible');
    assert.equal(sysp['env.ARK_TEST_API_TOKEN'], '********', 'credentials are masked');
    const names = Object.keys(sysp).filter((k) => k !== 'command' && k !== 'error');
    assert.deepEqual(names, [...names].sort(), 'sorted, as ZooKeeper sorts them');
    assert.deepEqual((await get('zabstate')).json, { voting: false, zabstate: '', command: 'zabstate', error: null });
    assert.deepEqual((await get('voting_view')).json, { current_config: {}, command: 'voting_view', error: null });
    assert.deepEqual((await get('observers')).json, { synced_observers: 0, observers: [], command: 'observers', error: null });
    assert.equal((await get('isro')).json.read_only, false);
  });

  test('set_trace_mask_stores_what_get_trace_mask_and_gtmk_report', async () => {
    assert.equal((await get('gtmk')).json.tracemask, 0);
    assert.match(String((await get('stmk?traceMask=abc')).json.error), /got abc/);
    const set = await get('stmk?traceMask=9223372036854775807');
    assert.match(set.body, /"tracemask": 9223372036854775807,/);
    assert.match((await get('get_trace_mask')).body, /"tracemask": 9223372036854775807,/);
    assert.equal(await fourLetter(srv.port, 'gtmk'), '9223372036854775807');
    await get('stmk?traceMask=306');
    assert.equal((await get('gtmk')).json.tracemask, 306);
  });

  test('stat_reset_and_connection_stat_reset_start_the_figures_again', async () => {
    await c.getData('/a');
    assert.ok(((await get('mntr')).json.packets_received as number) > 0);
    await get('srst');
    const m = (await get('mntr')).json;
    assert.equal(m.packets_received, 0);
    assert.equal(m.cnt_fsynctime, 0);
    assert.equal(m.bytes_received_count, 0);
    assert.equal(m.last_client_response_size, -1);
    await get('crst');
    const conn = ((await get('cons')).json.connections as Array<Record<string, unknown>>)[0]!;
    assert.equal(conn.packets_received, 0);
    assert.equal(conn.last_operation, 'NA');
    assert.equal(conn.last_cxid, -1);
    await c.getData('/a');
    assert.equal((await get('mntr')).json.packets_received as number, 1);
  });

  test('health_and_ready_answer_on_a_serving_standalone_server', async () => {
    const h = await curl(`${admin}/health`);
    assert.equal(h.status, 200);
    assert.equal(h.json.status, 'ok');
    const r = await curl(`${admin}/ready`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { ready: true, server_state: 'standalone' });
  });

  // after the tests above: crst and srst among them reset what those read
  test('every_command_and_alias_answers_with_command_and_error_fields', async () => {
    const list = await get('');
    assert.equal(list.status, 200);
    assert.deepEqual([...(list.json.commands as string[])].sort(), Object.keys(COMMANDS).sort());
    for (const [primary, aliases] of Object.entries(COMMANDS)) {
      for (const name of [primary, ...aliases]) {
        const r = POST_ONLY.has(primary) ? await curl(`${admin}/commands/${name}`, { method: 'POST', data: '{}' }) : await get(name);
        assert.equal(r.json.command, primary, `${name} answers as ${primary}: ${r.body}`);
        if (AUTH.has(primary)) assert.equal(r.status, 401, `${name} needs credentials`);
        else if (primary === 'set_trace_mask') assert.match(String(r.json.error), /requires long traceMask/);
        else if (primary === 'leader')
          assert.equal(r.json.error, 'server is not initialized', 'leader on a standalone server, as ZooKeeper');
        else assert.equal(r.json.error, null, `${name}: ${r.body}`);
      }
    }
    assert.equal((await get('nope')).status, 404);
    assert.equal((await curl(`${admin}/commands/ruok`, { method: 'POST', data: 'x' })).status, 405);
    assert.equal((await get('restore')).status, 405, 'restore takes POST');
  });

  test('shed_connections_needs_all_on_root_and_closes_that_share_of_clients', async () => {
    const url = `${admin}/commands/shed_connections`;
    const body = JSON.stringify({ percentage: 100 });
    assert.equal((await curl(url, { method: 'POST', data: body })).status, 401);
    // / open to world: any digest user has ALL on it; restricted to ops, others are refused
    await c.setACL('/', [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('ops:pw') } }]);
    const denied = await curl(url, { method: 'POST', data: body, headers: { authorization: 'digest eve:pw' } });
    assert.equal(denied.status, 403, denied.body);
    const ops = { authorization: 'digest ops:pw' };
    assert.equal((await curl(url, { method: 'POST', data: '{nope', headers: ops })).status, 400);
    assert.match(String((await curl(url, { method: 'POST', data: '{}', headers: ops })).json.error), /Missing required field: percentage/);
    assert.equal((await curl(url, { method: 'POST', data: '{"percentage":101}', headers: ops })).status, 400);
    const others = await Promise.all([1, 2, 3].map(() => ZkClient.connect({ port: srv.port })));
    const closed = [c, ...others].map((x) => new Promise<void>((res) => x.once('close', () => res())));
    const half = await curl(url, { method: 'POST', data: '{"percentage": 50}', headers: ops });
    assert.equal(half.status, 200, half.body);
    assert.deepEqual(half.json, { connections_shed: 2, percentage_requested: 50, command: 'shed_connections', error: null });
    await waitUntil(async () => ((await get('mntr')).json.num_alive_connections as number) === 2, 'the shed connections to close');
    const all = await curl(url, { method: 'POST', data: body, headers: ops });
    assert.equal(all.json.connections_shed, 2, 'the two left');
    await Promise.all(closed);
    assert.equal((await get('mntr')).json.num_alive_connections as number, 0);
  });
});

/** stop, then remove the data dir once the background spare log segment has landed in it */
async function stopAndClean(srv: Awaited<ReturnType<typeof startInProc>>): Promise<void> {
  await srv.stop({ keepData: true });
  rmSync(srv.dataDir, { recursive: true, force: true, maxRetries: 20 });
}

test('admin_server_off_when_disabled_and_a_busy_port_does_not_stop_the_server', async () => {
  const srv = await startInProc({ 'admin.enableServer': false });
  await stopAndClean(srv);
  const { createServer } = await import('node:net');
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  try {
    const srv2 = await startInProc({ 'admin.enableServer': true, 'admin.serverPort': port, 'admin.serverAddress': '127.0.0.1' });
    const c = await srv2.client();
    assert.ok(await c.exists('/'));
    await stopAndClean(srv2);
  } finally {
    blocker.close();
  }
});

test('average_latency_prints_as_zookeeper_rounds_it', async () => {
  const adminPort = await freePort();
  const srv = await startInProc({ 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' });
  try {
    // the figures behind a live ZooKeeper 3.8 srvr that printed "Latency min/avg/max: 0/3.6154/17"
    Object.assign(srv.server.core.stats, { minLatencyMs: 0, maxLatencyMs: 17, totalLatencyMs: 47, completed: 13 });
    assert.match(await fourLetter(srv.port, 'srvr'), /^Latency min\/avg\/max: 0\/3\.6154\/17$/m);
    assert.match(await fourLetter(srv.port, 'stat'), /^Latency min\/avg\/max: 0\/3\.6154\/17$/m);
    assert.match(await fourLetter(srv.port, 'mntr'), /^zk_avg_latency\t3\.6154$/m);
    const admin = `http://127.0.0.1:${adminPort}/commands`;
    const srvr = await curl(`${admin}/server_stats`);
    assert.match(srvr.body, /"avg_latency": 3\.6154,/, 'a JSON number, as Jackson writes the double');
    assert.equal((await curl(`${admin}/monitor`)).json.avg_latency, 3.6154);
  } finally {
    await stopAndClean(srv);
  }
});
