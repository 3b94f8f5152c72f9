// Prometheus metrics as an operator scrapes them: real `ark server` processes with
// metricsProvider.className in zoo.cfg, load from a real client, GET /metrics parsed with a strict
// parser of the text format, values checked against what the test did (counts, the tree walked,
// the backup taken) rather than against timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ZkClient } from '../../src/client/client.js';
import { OpCode } from '../../src/wire/protocol.js';
import { encodeEntry } from '../../src/replica/replica.js';
import { entryTxnTime } from '../../src/metrics/metrics.js';
import { WindowedSummary } from '../../src/metrics/families.js';
import { arkBin, freePort, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import { startEnsemble, type Member } from '../helpers/ensemble.js';
import { fourLetterWord } from '../helpers/zookeeper.js';
import { parseGoFloat, parsePromText, PromParseError, sampleValue, type PromFamily, type PromType } from '../helpers/promtext.js';
import { waitUntil } from '../helpers/wait.js';

type Families = Map<string, PromFamily>;

const OPS = [
  'add_watch',
  'check',
  'check_watches',
  'close_session',
  'create',
  'create_session',
  'delete',
  'exists',
  'get_acl',
  'get_all_children_number',
  'get_children',
  'get_data',
  'get_ephemerals',
  'multi',
  'multi_read',
  'ping',
  'remove_watches',
  'set_acl',
  'set_data',
  'set_watches',
  'sync',
  'who_am_i',
  'total',
];

/** Every family a server exports, by type (process metrics aside): ZooKeeper's names, then Ark's. */
const EVERY_SERVER: Record<string, PromType> = {
  ...Object.fromEntries(
    [
      'znode_count',
      'watch_count',
      'ephemerals_count',
      'approximate_data_size',
      'num_alive_connections',
      'outstanding_requests',
      'avg_latency',
      'min_latency',
      'max_latency',
      'packets_received',
      'packets_sent',
      'open_file_descriptor_count',
      'max_file_descriptor_count',
      'uptime',
      'global_sessions',
    ].map((n) => [n, 'gauge']),
  ),
  ...Object.fromEntries(
    [
      'readlatency',
      'updatelatency',
      'fsynctime',
      'snapshottime',
      'dbinittime',
      'startup_snap_load_time',
      'startup_txns_load_time',
      'startup_txns_loaded',
      'sync_processor_batch_size',
    ].map((n) => [n, 'summary']),
  ),
  ...Object.fromEntries(
    [
      ...OPS.map((o) => `op_count_${o}`),
      'bytes_received_count',
      'connection_request_count',
      'connection_rejected',
      'unrecoverable_error_count',
      'ark_backups_total',
    ].map((n) => [n, 'counter']),
  ),
  ...Object.fromEntries(
    ['ark_last_backup_duration_seconds', 'ark_last_backup_size_bytes', 'ark_last_backup_zxid', 'ark_last_backup_timestamp_seconds'].map(
      (n) => [n, 'gauge'],
    ),
  ),
};
const ENSEMBLE_MEMBER: Record<string, PromType> = {
  quorum_size: 'gauge',
  ...Object.fromEntries(['looking_count', 'diff_count', 'snap_count', 'proposal_count', 'commit_count'].map((n) => [n, 'counter'])),
  ...Object.fromEntries(
    [
      'election_time',
      'follower_sync_time',
      'observer_sync_time',
      'quorum_ack_latency',
      'proposal_latency',
      'commit_propagation_latency',
    ].map((n) => [n, 'summary']),
  ),
};
const LEADER_ONLY: Record<string, PromType> = Object.fromEntries(
  [
    'learners',
    'synced_followers',
    'synced_observers',
    'pending_syncs',
    'leader_uptime',
    'last_proposal_size',
    'min_proposal_size',
    'max_proposal_size',
  ].map((n) => [n, 'gauge']),
);
const ARCHIVING: Record<string, PromType> = {
  ark_archive_lag_txns: 'gauge',
  ark_archive_lag_seconds: 'gauge',
  ark_archive_history_mismatch: 'gauge',
};

async function scrape(port: number): Promise<Families> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return parsePromText(await res.text());
}

/**
 * Exactly the families `expected` names, each with its type and a HELP line, plus prom-client's
 * Node process metrics; counters never negative, summaries' quantiles ordered.
 */
function checkFamilies(f: Families, expected: Record<string, PromType>): void {
  for (const [name, type] of Object.entries(expected)) {
    assert.equal(f.get(name)?.type, type, `${name} is exported as a ${type}`);
  }
  let processFamilies = 0;
  for (const fam of f.values()) {
    assert.ok(fam.type !== null, `${fam.name} has a TYPE line`);
    assert.ok(fam.help !== null && fam.help !== '', `${fam.name} has a HELP line`);
    if (/^(nodejs|process)_/.test(fam.name)) {
      processFamilies++;
      continue;
    }
    assert.ok(fam.name in expected, `${fam.name} is not expected here`);
    if (fam.type === 'counter') for (const s of fam.samples) assert.ok(s.value >= 0 && Number.isFinite(s.value), `${s.name} = ${s.value}`);
    if (fam.type === 'summary') {
      const qs = fam.samples.filter((s) => s.name === fam.name).map((s) => s.value);
      const known = qs.filter((q) => !Number.isNaN(q));
      assert.ok(known.length === 0 || known.length === qs.length, `${fam.name}: quantiles all known or all NaN`);
      for (let i = 1; i < known.length; i++) assert.ok(known[i - 1]! <= known[i]!, `${fam.name} quantiles in order: ${known.join(' ')}`);
    }
  }
  assert.ok(processFamilies >= 5, 'Node process metrics (nodejs_*, process_*) are exported');
  assert.ok(f.get('process_cpu_user_seconds_total')?.type === 'counter' && f.get('nodejs_heap_size_used_bytes')?.type === 'gauge');
}

function value(f: Families, name: string, labels: Record<string, string> = {}): number {
  const v = sampleValue(f, name, labels);
  assert.ok(v !== undefined, `${name}${JSON.stringify(labels)} has a sample`);
  return v;
}

async function walkCount(c: ZkClient, path = '/'): Promise<number> {
  let n = 1;
  for (const k of await c.getChildren(path)) n += await walkCount(c, path === '/' ? `/${k}` : `${path}/${k}`);
  return n;
}

async function zxidOf(port: number): Promise<number> {
  return parseInt(/Zxid: 0x([0-9a-f]+)/.exec(await fourLetterWord('127.0.0.1', port, 'srvr'))![1]!, 16);
}

/** Scrapes until `ready` holds (for what a server does after it has answered: no timing is asserted). */
async function scrapeUntil(port: number, ready: (f: Families) => boolean, what: string): Promise<Families> {
  const deadline = Date.now() + 15000;
  for (;;) {
    const f = await scrape(port);
    if (ready(f)) return f;
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const metricsCfg = (port: number): Record<string, string | number> => ({
  'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
  'metricsProvider.httpPort': port,
  'metricsProvider.httpHost': '127.0.0.1',
});

test('promtext_parser_takes_the_format_and_refuses_malformed_lines', () => {
  const good = `${[
    '# a comment',
    '#',
    '',
    '# HELP a_total Help with \\\\ and \\n escapes and "quotes"',
    '# TYPE a_total counter',
    'a_total{path="/x\\"y\\\\z\\n",b="",} 3 1700000000000',
    'a_total{path="/other"} +Inf',
    '  ',
    '# TYPE s summary',
    's{quantile="0.5"} NaN',
    's{quantile="0.99"} 1.5e3',
    's_sum .25',
    's_count 2',
    '# TYPE h histogram',
    'h_bucket{le="0.1"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum -Inf',
    'h_count 2',
    'untyped_one\t7',
    '',
  ].join('\n')}\n`;
  const f = parsePromText(good);
  assert.equal(f.get('a_total')?.help, 'Help with \\ and \n escapes and "quotes"');
  assert.deepEqual(f.get('a_total')?.samples[0]?.labels, { path: '/x"y\\z\n', b: '' });
  assert.equal(f.get('a_total')?.samples[0]?.timestampMs, 1700000000000);
  assert.equal(f.get('s')?.samples.length, 4);
  assert.equal(sampleValue(f, 's_sum'), 0.25);
  assert.equal(f.get('untyped_one')?.type, null);
  assert.ok(
    Number.isNaN(parseGoFloat('Nan')!) &&
      parseGoFloat('-inf') === Number.NEGATIVE_INFINITY &&
      parseGoFloat('1_0') === null &&
      parseGoFloat('5.') === 5,
  );
  const bad: Array<[string, RegExp]> = [
    ['a 1', /line feed/],
    ['a 1\r\n', /carriage return/],
    ['a{b="c} 1\n', /not closed/],
    ['a{b="\\t"} 1\n', /escape/],
    ['a{b="c",b="d"} 1\n', /twice/],
    ['a{1b="c"} 1\n', /label name/],
    ['a{b=c} 1\n', /to open the value/],
    ['a{__name__="x"} 1\n', /reserved/],
    ['a 1 2 3\n', /after the timestamp/],
    ['a 1.5.5\n', /invalid value/],
    ['a 0x1p-2\n', /invalid value/],
    ['a one\n', /invalid value/],
    ['a 1 1.5\n', /timestamp/],
    ['a{b="c"}1\n', /blank before the value/],
    ['1a 1\n', /metric name/],
    ['# TYPE a counter\n# TYPE a counter\n', /second TYPE/],
    ['# HELP a x\n# HELP a y\n', /second HELP/],
    ['# TYPE a countr\n', /unknown metric type/],
    ['# TYPE a counter extra\n', /after the type/],
    ['a 1\n# TYPE a counter\n', /after its samples/],
    ['a 1\nb 1\na{x="1"} 2\n', /one group/],
    ['a 1\na 2\n', /twice/],
    ['# TYPE s summary\ns 1\n', /quantile/],
    ['# TYPE s summary\ns{quantile="1.5"} 1\n', /quantile/],
    ['# TYPE s summary\ns_bucket 1\n', /summary has/],
    ['# TYPE h histogram\nh_bucket 1\n', /le label/],
  ];
  for (const [text, why] of bad)
    assert.throws(
      () => parsePromText(text),
      (e: unknown) => e instanceof PromParseError && why.test(e.message),
      JSON.stringify(text),
    );
});

test('windowed_summary_quantiles_and_the_txn_time_read_from_entry_bytes', () => {
  const s = new WindowedSummary('x', 'x', [0.5, 0.95, 0.99], 2);
  assert.ok(Number.isNaN(s.quantile(0.5)));
  for (let i = 1; i <= 1000; i++) s.observe(i);
  s.observe(-1); // dropped
  s.observe(Number.NaN); // dropped
  for (const [q, want] of [
    [0.5, 500],
    [0.95, 950],
    [0.99, 990],
  ] as const) {
    const got = s.quantile(q);
    assert.ok(Math.abs(got - want) / want < 0.045, `q${q}: ${got} vs ${want}`);
  }
  const r = s.get();
  assert.deepEqual(r.values.slice(3), [
    { metricName: 'x_sum', labels: {}, value: 500500 },
    { metricName: 'x_count', labels: {}, value: 1000 },
  ]);
  // whole values come back exactly
  const ms = new WindowedSummary('y', 'y', [0.5]);
  for (let i = 0; i < 10; i++) ms.observe(3);
  assert.equal(ms.quantile(0.5), 3);
  // windows rotate out: 1..1000 stay for one rotation (two windows), then only the 7 is left
  s.rotate();
  s.observe(7);
  assert.ok(Math.abs(s.quantile(0.5) - 500) / 500 < 0.045);
  s.rotate();
  assert.equal(s.quantile(0.5), 7);
  s.rotate();
  assert.ok(Number.isNaN(s.quantile(0.5)));
  const hdr = { sessionId: -5n, cxid: 9, zxid: 0x500000003, time: 1_763_000_123_456, type: OpCode.setData };
  const data = encodeEntry(hdr, { type: OpCode.setData, path: '/p', data: Buffer.from('x'), version: 3 });
  assert.equal(entryTxnTime(data), hdr.time);
  assert.equal(entryTxnTime(new Uint8Array(data)), hdr.time);
});

test('standalone_metrics_follow_the_load_a_backup_and_a_restart', async () => {
  const metricsPort = await freePort();
  const adminPort = await freePort();
  const cfg = { ...metricsCfg(metricsPort), 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' };
  let srv: RunningServer | null = await startArk({ cfg });
  const dataDir = srv.dataDir;
  const work = tempDir('metrics');
  try {
    const other = await fetch(`http://127.0.0.1:${metricsPort}/`);
    assert.equal(other.status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status, 405);
    const f0 = await scrape(metricsPort);
    checkFamilies(f0, EVERY_SERVER);
    assert.equal(value(f0, 'ark_backups_total', { result: 'success' }), 0);
    assert.equal(f0.get('ark_last_backup_zxid')?.samples.length, 0, 'no backup yet: no value');
    assert.equal(value(f0, 'num_alive_connections'), 0);
    assert.equal(value(f0, 'dbinittime_count'), 1);
    assert.equal(value(f0, 'startup_txns_loaded_sum'), 0);

    const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 10000 });
    const n = 40;
    await c.create('/m', 'root');
    await Promise.all(Array.from({ length: n }, (_, i) => c.create(`/m/n${i}`, `v${i}`)));
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.setData(`/m/n${i}`, 'changed')));
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.getData(`/m/n${i % n}`)));
    await c.exists('/m/none');
    await c.sync('/m');
    const znodes = await walkCount(c);
    const f1 = await scrape(metricsPort);
    checkFamilies(f1, EVERY_SERVER);
    const delta = (name: string, labels: Record<string, string> = {}): number => value(f1, name, labels) - value(f0, name, labels);
    // ZooKeeper's znode_count counts the root twice (its map holds "" and "/"), as mntr does
    assert.equal(value(f1, 'znode_count'), znodes + 1);
    assert.equal(delta('znode_count'), n + 1);
    assert.equal(value(f1, 'global_sessions'), 1);
    assert.equal(value(f1, 'num_alive_connections'), 1);
    assert.equal(delta('op_count_create'), n + 1);
    assert.equal(delta('op_count_set_data'), 10);
    assert.equal(delta('op_count_get_data'), 20);
    assert.equal(delta('op_count_exists'), 1);
    assert.equal(delta('op_count_sync'), 1);
    assert.equal(delta('op_count_create_session'), 1);
    assert.equal(
      delta('op_count_total'),
      OPS.filter((o) => o !== 'total').reduce((a, o) => a + delta(`op_count_${o}`), 0),
    );
    const writes = 1 + n + 10 + 1; // creates, setData, createSession
    assert.equal(delta('updatelatency_count'), writes);
    assert.ok(delta('readlatency_count') >= 20 + 1 + 1 + znodes, 'getData, exists, sync, the walk');
    for (const q of ['0.5', '0.95', '0.99']) assert.ok(value(f1, 'updatelatency', { quantile: q }) >= 0);
    // every txn went through group commit, each batch one fdatasync
    const txns = await zxidOf(srv.port);
    assert.equal(value(f1, 'sync_processor_batch_size_sum'), txns);
    assert.ok(value(f1, 'fsynctime_count') >= 1, 'fsynctime observed');
    assert.equal(value(f1, 'fsynctime_count'), value(f1, 'sync_processor_batch_size_count'));
    assert.ok(value(f1, 'fsynctime', { quantile: '0.5' }) >= 0);
    assert.equal(delta('connection_request_count'), 1);
    assert.ok(delta('bytes_received_count') > 0);
    assert.ok(delta('packets_received') >= writes + 20);
    assert.equal(value(f1, 'unrecoverable_error_count'), 0);
    assert.equal(value(f1, 'outstanding_requests'), 0);

    // an online backup through the AdminServer, as the README shows it
    const file = join(work, 'm.arkb');
    const b = await promisify(execFile)(process.execPath, [
      arkBin,
      'backup',
      'create',
      '--admin',
      `http://127.0.0.1:${adminPort}`,
      '--out',
      file,
      '--auth',
      'ops:pw',
      '--json',
    ]);
    const made = JSON.parse(b.stdout) as { zxid: string };
    const f2 = await scrapeUntil(metricsPort, (f) => sampleValue(f, 'ark_backups_total', { result: 'success' }) === 1, 'the backup');
    assert.equal(value(f2, 'ark_backups_total', { result: 'failure' }), 0);
    assert.equal(value(f2, 'ark_last_backup_zxid'), parseInt(made.zxid, 16));
    assert.equal(value(f2, 'ark_last_backup_size_bytes'), statSync(file).size);
    assert.ok(value(f2, 'ark_last_backup_duration_seconds') >= 0);
    assert.ok(value(f2, 'ark_last_backup_timestamp_seconds') > 1.7e9);

    // a restart replays the whole log (no snapshot was due): start-up figures count it
    await c.close();
    const logged = await zxidOf(srv.port);
    await srv.stop({ keepData: true });
    srv = await startArk({ cfg, dataDir });
    const f3 = await scrape(metricsPort);
    checkFamilies(f3, EVERY_SERVER);
    assert.equal(value(f3, 'startup_txns_loaded_sum'), logged);
    assert.equal(value(f3, 'startup_txns_load_time_count'), 1);
    assert.equal(value(f3, 'startup_snap_load_time_count'), 0);
    assert.equal(value(f3, 'znode_count'), znodes + 1);
    // ... and then takes a snapshot, so the next start-up need not replay
    const f4 = await scrapeUntil(metricsPort, (f) => sampleValue(f, 'snapshottime_count') === 1, 'the start-up snapshot');
    assert.ok(value(f4, 'snapshottime_sum') >= 0);
  } finally {
    await srv?.stop();
  }
});

test('a_busy_metrics_port_is_logged_and_the_server_serves_without_it', async () => {
  const blocker = createServer();
  const port = await new Promise<number>((res) => blocker.listen(0, '127.0.0.1', () => res((blocker.address() as { port: number }).port)));
  const srv = await startArk({ cfg: metricsCfg(port) });
  try {
    const c = await ZkClient.connect({ port: srv.port });
    await c.create('/still-serving', 'yes');
    await c.close();
    const deadline = Date.now() + 10000;
    while (!/Prometheus metrics endpoint could not start \(set metricsProvider\.httpPort/.test(srv.output())) {
      assert.ok(Date.now() < deadline, `no log line about the busy port:\n${srv.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await srv.stop();
    blocker.close();
  }
});

test('archive_lag_is_exported_when_archiving_is_configured', async () => {
  const metricsPort = await freePort();
  const archive = tempDir('archive');
  const srv = await startArk({ cfg: { ...metricsCfg(metricsPort), 'backup.archiveDir': archive, 'metricsProvider.exportJvmInfo': false } });
  try {
    // the archive's first backup (its base) is taken at start
    const backups = join(archive, 'backups');
    await waitUntil(() => existsSync(backups) && readdirSync(backups).some((n) => n.endsWith('.arkb')), "the archive's first backup");
    const c = await ZkClient.connect({ port: srv.port });
    for (let i = 0; i < 5; i++) await c.create(`/a${i}`, 'x');
    const f = await scrape(metricsPort);
    for (const name of f.keys()) assert.ok(!/^(nodejs|process)_/.test(name), `exportJvmInfo=false: no ${name}`);
    assert.equal(f.get('ark_archive_lag_txns')?.type, ARCHIVING.ark_archive_lag_txns);
    assert.equal(f.get('ark_archive_lag_seconds')?.type, ARCHIVING.ark_archive_lag_seconds);
    assert.equal(f.get('ark_archive_history_mismatch')?.type, ARCHIVING.ark_archive_history_mismatch);
    assert.equal(value(f, 'ark_archive_history_mismatch'), 0, 'its own archive: the histories agree');
    // the archive interval (a minute by default) has not passed: every txn after the archive's
    // first backup (taken at start) waits for it
    const base = Math.max(
      ...readdirSync(backups)
        .filter((n) => n.endsWith('.arkb'))
        .map((n) => parseInt(/^backup\.([0-9a-f]{16})\.arkb$/.exec(n)![1]!, 16)),
    );
    assert.equal(value(f, 'ark_archive_lag_txns'), (await zxidOf(srv.port)) - base);
    // and how long the oldest of them has waited, growing until the interval passes
    await scrapeUntil(metricsPort, (g) => (sampleValue(g, 'ark_archive_lag_seconds') ?? 0) > 0, 'the archive lag in seconds');
    await c.close();
  } finally {
    await srv.stop();
  }
});

test('ensemble_leader_exports_quorum_figures_and_followers_do_not', { timeout: 120000 }, async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const ens = await startEnsemble({ memberCfg: (id) => metricsCfg(ports[id - 1]!) });
  try {
    const leader = await ens.leader();
    await ens.serving();
    const metricsOf = (m: Member): number => ports[m.id - 1]!;
    const followers = ens.members.filter((m) => m !== leader);
    const before = await scrape(metricsOf(leader));
    const writer = followers[0]!;
    const c = await ZkClient.connect({ port: writer.port, sessionTimeoutMs: 10000 });
    const n = 25;
    await c.create('/e', null);
    await Promise.all(Array.from({ length: n }, (_, i) => c.create(`/e/n${i}`, `v${i}`)));
    const znodes = await walkCount(c);
    // every member has applied everything once a sync through it is answered
    const clients = await Promise.all(ens.members.map((m) => ZkClient.connect({ port: m.port, sessionTimeoutMs: 10000 })));
    await Promise.all(clients.map((x) => x.sync('/')));
    const byMember = new Map<Member, Families>();
    for (const m of ens.members) byMember.set(m, await scrape(metricsOf(m)));

    const l = byMember.get(leader)!;
    checkFamilies(l, { ...EVERY_SERVER, ...ENSEMBLE_MEMBER, ...LEADER_ONLY });
    assert.equal(value(l, 'quorum_size'), 3);
    assert.equal(value(l, 'learners'), 2);
    assert.equal(value(l, 'synced_followers'), 2);
    assert.equal(value(l, 'synced_observers'), 0);
    assert.equal(value(l, 'pending_syncs'), 0);
    assert.ok(value(l, 'leader_uptime') >= 0);
    assert.ok(value(l, 'election_time_count') >= 1);
    assert.ok(value(l, 'looking_count') >= 1);
    assert.ok(value(l, 'diff_count') + value(l, 'snap_count') >= 2, 'each follower was synced');
    // the writes: n + 1 creates, 4 createSessions; each proposed once and committed by a quorum
    const txns = n + 1 + 4;
    assert.ok(value(l, 'proposal_count') - value(before, 'proposal_count') >= txns);
    assert.ok(value(l, 'commit_count') - value(before, 'commit_count') >= txns);
    assert.ok(value(l, 'quorum_ack_latency_count') - value(before, 'quorum_ack_latency_count') >= txns);
    assert.ok(value(l, 'min_proposal_size') > 0 && value(l, 'min_proposal_size') <= value(l, 'last_proposal_size'));
    assert.ok(value(l, 'last_proposal_size') <= value(l, 'max_proposal_size'));
    assert.ok(value(l, 'fsynctime_count') >= 1);
    // requests of other members' clients are not this server's to time or count (as ZooKeeper)
    assert.equal(value(l, 'op_count_create') - value(before, 'op_count_create'), 0);

    for (const f of followers) {
      const m = byMember.get(f)!;
      checkFamilies(m, { ...EVERY_SERVER, ...ENSEMBLE_MEMBER });
      for (const name of Object.keys(LEADER_ONLY)) assert.equal(m.has(name), false, `follower ${f.id} exports ${name}`);
      assert.equal(value(m, 'quorum_size'), 3);
      assert.ok(value(m, 'election_time_count') >= 1);
      assert.ok(value(m, 'follower_sync_time_count') >= 1);
      assert.equal(value(m, 'observer_sync_time_count'), 0);
      assert.ok(value(m, 'commit_propagation_latency_count') >= n + 1);
      assert.ok(value(m, 'proposal_latency_count') >= n + 1);
      assert.ok(value(m, 'fsynctime_count') >= 1);
      assert.equal(value(m, 'znode_count'), znodes + 1);
    }
    assert.equal(value(l, 'znode_count'), znodes + 1);
    const w = byMember.get(writer)!;
    assert.equal(value(w, 'op_count_create'), n + 1);
    assert.ok(value(w, 'updatelatency_count') >= n + 1 + 1, 'creates and the createSession, timed where the client is');
    for (const x of [c, ...clients]) await x.close();
  } finally {
    await ens.stop();
  }
});
