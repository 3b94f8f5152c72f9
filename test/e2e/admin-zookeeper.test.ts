// Ark's AdminServer side by side with Apache ZooKeeper 3.8's (Debian): the same workload on both,
// then every command ZooKeeper 3.8 has is fetched from both and the JSON field names (and their
// JSON types) compared, standalone and in a three-voter ensemble with an observer. ZooKeeper 3.8
// lacks restore, snapshot and shed_connections; those are covered by adminserver.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, requireOrSkip, startArk, tempDir, wrapProcess, writeCfg, type RunningServer } from '../helpers/servers.js';
import { assembleEnsemble, ensemblePorts, startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { fourLetterWord } from '../helpers/zookeeper.js';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag } from '../../src/wire/protocol.js';
import { waitUntil } from '../helpers/wait.js';
import { adminJavaArgs, startZooKeeperAdmin, zookeeperAdminMissing } from '../helpers/zookeeper-admin.js';

const adminCfg = (port: number): Record<string, string | number | boolean> => ({
  'admin.enableServer': true,
  'admin.serverPort': port,
  'admin.serverAddress': '127.0.0.1',
});

/** ZooKeeper 3.8 standalone with its AdminServer on `adminPort`. */
function startZooKeeperWithAdmin(adminPort: number): Promise<RunningServer> {
  return startZooKeeperAdmin(adminCfg(adminPort), { 'zookeeper.extendedTypesEnabled': true });
}

/** A ZooKeeper 3.8 ensemble (QuorumPeerMain per member) with each member's AdminServer on its own port. */
async function startZooKeeperEnsembleWithAdmin(adminPorts: number[], voters: number, observers: number): Promise<Ensemble> {
  const root = tempDir('zk-admin-ensemble');
  const { ports, serverLines } = await ensemblePorts(voters, observers);
  const members: Member[] = [];
  const argv: string[][] = [];
  for (let i = 0; i < voters + observers; i++) {
    const dataDir = join(root, `s${i + 1}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
    const cfgDir = join(root, `cfg${i + 1}`);
    mkdirSync(cfgDir, { recursive: true });
    const cfg = {
      tickTime: 2000,
      initLimit: 10,
      syncLimit: 5,
      dataDir,
      clientPort: ports[i]!.client,
      clientPortAddress: '127.0.0.1',
      '4lw.commands.whitelist': '*',
      preAllocSize: 1024,
      ...(i >= voters ? { peerType: 'observer' } : {}),
      ...serverLines,
      ...adminCfg(adminPorts[i]!),
    };
    argv.push(
      adminJavaArgs('org.apache.zookeeper.server.quorum.QuorumPeerMain', writeCfg(cfgDir, cfg), cfg, {
        'zookeeper.extendedTypesEnabled': true,
      }),
    );
    members.push({ id: i + 1, port: ports[i]!.client, dataDir, observer: i >= voters, proc: null, log: '' });
  }
  const start = async (m: Member): Promise<void> => {
    const proc = spawn('java', argv[m.id - 1]!, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => {
      m.log += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      m.log += d.toString();
    });
    m.proc = wrapProcess(`zookeeper ${m.id}`, proc, '127.0.0.1', m.port, m.dataDir);
    await waitUntil(
      async () => {
        if (proc.exitCode !== null) throw new Error(`zookeeper ${m.id} exited\n${m.log.slice(-2000)}`);
        try {
          await fourLetterWord('127.0.0.1', m.port, 'srvr', 2000);
          return true;
        } catch {
          return false; // not listening yet
        }
      },
      `zookeeper ${m.id} to answer on port ${m.port}`,
      60_000,
      100,
    );
  };
  return assembleEnsemble({ members, root, dataSubdir: 'version-2', start, pollMs: 100, timeoutMs: 30000 });
}

async function getJson(adminPort: number, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/${path}`);
  const text = await res.text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${path} on ${adminPort}: not JSON (${res.status}): ${text.slice(0, 300)}`);
  }
}

/** ZooKeeper's GET /commands: HTML links to each primary name */
async function zookeeperCommands(adminPort: number): Promise<string[]> {
  const html = await (await fetch(`http://127.0.0.1:${adminPort}/commands`)).text();
  return [...html.matchAll(/href="\/commands\/(\w+)"/g)].map((m) => m[1]!);
}

/**
 * Fields of ZooKeeper's answers Ark does not give, each with its reason. Keyed by a path:
 * "<command>" for top-level fields, "<command>.<field>" for objects inside (arrays: their elements).
 */
const ARK_OMITS: Record<string, { fields: string[]; why: string }> = {
  'server_stats.server_stats': {
    fields: ['provider_null', 'auth_failed_count', 'non_mtlsremote_conn_count', 'non_mtlslocal_conn_count'],
    why: 'a Java internal, and TLS / auth-failure counts Ark does not keep',
  },
  'stats.server_stats': {
    fields: ['provider_null', 'auth_failed_count', 'non_mtlsremote_conn_count', 'non_mtlslocal_conn_count'],
    why: 'as server_stats',
  },
  environment: {
    fields: ['java.version', 'java.vendor', 'java.home', 'java.class.path', 'java.library.path', 'java.io.tmpdir', 'java.compiler'],
    why: 'a Node process has node.version and node.execPath instead',
  },
  'zabstate.quorum_address': {
    fields: ['all_reachable_addresses', 'reachable_address', 'wildcard_addresses', 'all_reachable_addresses_or_all', 'reachable_or_one'],
    why: 'Ark does not probe reachability, and binds the configured address, not the wildcard',
  },
  'zabstate.election_address': {
    fields: ['all_reachable_addresses', 'reachable_address', 'wildcard_addresses', 'all_reachable_addresses_or_all', 'reachable_or_one'],
    why: 'as quorum_address',
  },
  'observers.observers': {
    fields: ['remote_socket_address', 'queued_packets', 'queued_packets_size', 'requests', 'last_zxid'],
    why: 'the peer transport does not expose its sockets and queues; observers send no acks',
  },
};

/** mntr keys monitoring tools read (Zabbix "Zookeeper by HTTP", Datadog zk, Telegraf, Netdata) that Ark cannot know */
const MONITOR_OMITS = new Set(['connection_drop_count', 'connection_revalidate_count', 'revalidate_count']);

/** The mntr / monitor keys the monitoring tools read. */
const TOOL_KEYS = [
  'version',
  'server_state',
  'approximate_data_size',
  'avg_latency',
  'max_latency',
  'min_latency',
  'ephemerals_count',
  'global_sessions',
  'local_sessions',
  'max_file_descriptor_count',
  'open_file_descriptor_count',
  'num_alive_connections',
  'outstanding_requests',
  'packets_received',
  'packets_sent',
  'uptime',
  'watch_count',
  'znode_count',
  'bytes_received_count',
  'connection_rejected',
  'connection_drop_count',
  'connection_revalidate_count',
  'revalidate_count',
  'commit_count',
  'diff_count',
  'snap_count',
  'looking_count',
  'avg_fsynctime',
  'cnt_fsynctime',
  'avg_snapshottime',
  'cnt_snapshottime',
  'avg_election_time',
  'cnt_election_time',
  'last_client_response_size',
  'min_client_response_size',
  'max_client_response_size',
  'peer_state',
  'quorum_size',
  'learners',
  'synced_followers',
  'synced_non_voting_followers',
  'synced_observers',
  'pending_syncs',
  'leader_uptime',
  'last_proposal_size',
  'min_proposal_size',
  'max_proposal_size',
  'observer_master_id',
];

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Every field ZooKeeper gives is in Ark's answer with the same JSON type, recursively (omissions above aside). */
function compareFields(path: string, zk: unknown, ark: unknown, problems: string[]): void {
  if (Array.isArray(zk)) {
    if (!Array.isArray(ark)) {
      problems.push(`${path}: ZooKeeper has an array, Ark ${typeOf(ark)}`);
      return;
    }
    if (zk.length > 0 && ark.length > 0) compareFields(path, zk[0], ark[0], problems);
    return;
  }
  if (typeof zk !== 'object' || zk === null) return;
  if (typeof ark !== 'object' || ark === null) {
    problems.push(`${path}: ZooKeeper has an object, Ark ${typeOf(ark)}`);
    return;
  }
  const omitted = new Set(ARK_OMITS[path]?.fields ?? []);
  const a = ark as Record<string, unknown>;
  for (const [k, v] of Object.entries(zk as Record<string, unknown>)) {
    if (omitted.has(k)) continue;
    if (!(k in a)) {
      problems.push(`${path}: no field ${k}`);
      continue;
    }
    // "error" is null on success, a string when the command refused (both may differ legitimately)
    if (k !== 'error' && v !== null && a[k] !== null && typeOf(v) !== typeOf(a[k]))
      problems.push(`${path}.${k}: ZooKeeper ${typeOf(v)}, Ark ${typeOf(a[k])}`);
    // maps keyed by ids or paths: compare their values' shapes, not their keys
    const nested = [
      'session_id_to_watched_paths',
      'path_to_session_ids',
      'expiry_time_to_session_ids',
      'session_id_to_ephemeral_paths',
      'current_config',
    ].includes(k);
    if (nested) {
      const zv = Object.values(v as object)[0];
      const av = Object.values(a[k] as object)[0];
      if (zv !== undefined && av !== undefined) compareFields(`${path}.${k}.*`, zv, av, problems);
    } else {
      compareFields(`${path}.${k}`, v, a[k], problems);
    }
  }
}

/** The same session, watch and ephemeral on both, and past zxid 128 so the digest history has an entry. */
async function workload(port: number): Promise<ZkClient> {
  const c = await ZkClient.connect({ port, sessionTimeoutMs: 30000 });
  await c.create('/a', 'x');
  await c.create('/e', null, { flags: CreateFlag.EPHEMERAL });
  await c.getData('/a', true);
  await Promise.all(Array.from({ length: 130 }, (_, i) => c.create(`/n${i}`, 'v')));
  return c;
}

const skip = requireOrSkip(zookeeperAdminMissing());

describe('admin_fields_match_zookeeper_standalone', { skip }, () => {
  let ark: RunningServer;
  let zk: RunningServer;
  const clients: ZkClient[] = [];
  const ports = { ark: 0, zk: 0 };

  before(async () => {
    ports.ark = await freePort();
    ports.zk = await freePort();
    [ark, zk] = await Promise.all([startArk({ cfg: adminCfg(ports.ark) }), startZooKeeperWithAdmin(ports.zk)]);
    clients.push(await workload(ark.port), await workload(zk.port));
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all([ark?.stop(), zk?.stop()]);
  });

  test('every_zookeeper_38_command_answers_with_its_fields_in_ark', async () => {
    const names = await zookeeperCommands(ports.zk);
    assert.ok(names.length >= 26, `ZooKeeper 3.8 lists its commands: ${names.join(',')}`);
    const arkNames = (await getJson(ports.ark, 'commands')).commands as string[];
    for (const n of names) assert.ok(arkNames.includes(n), `Ark has ${n}`);
    const problems: string[] = [];
    // resets last: they would zero what the others show
    for (const n of [...names.filter((x) => !x.endsWith('reset')), ...names.filter((x) => x.endsWith('reset'))]) {
      const [z, a] = await Promise.all([getJson(ports.zk, `commands/${n}`), getJson(ports.ark, `commands/${n}`)]);
      assert.equal(a.command, z.command, n);
      assert.equal(a.error, z.error, `${n}: the same error (or none) as ZooKeeper`);
      if (n === 'monitor' || n === 'system_properties') continue; // below
      // the entries themselves are compared, not only empty lists
      if (n === 'hash')
        assert.ok((z.digests as unknown[]).length > 0 && (a.digests as unknown[]).length > 0, 'both logged a digest at zxid 128');
      if (n === 'connections') assert.ok((z.connections as unknown[]).length > 0 && (a.connections as unknown[]).length > 0);
      compareFields(n, z, a, problems);
    }
    assert.deepEqual(problems, []);
  });

  test('monitor_has_the_keys_monitoring_tools_read_wherever_zookeeper_has_them', async () => {
    const [z, a] = await Promise.all([getJson(ports.zk, 'commands/monitor'), getJson(ports.ark, 'commands/monitor')]);
    const missing = TOOL_KEYS.filter((k) => k in z && !(k in a) && !MONITOR_OMITS.has(k));
    assert.deepEqual(missing, []);
    const shared = TOOL_KEYS.filter((k) => k in z && k in a);
    assert.ok(shared.length >= 30, `most of the keys are there to compare: ${shared.join(',')}`);
    for (const k of shared) assert.equal(typeOf(a[k]), typeOf(z[k]), k);
  });

  test('system_properties_carry_the_zoo_cfg_keys_as_zookeeper_sets_them', async () => {
    const [z, a] = await Promise.all([getJson(ports.zk, 'commands/system_properties'), getJson(ports.ark, 'commands/system_properties')]);
    for (const k of ['zookeeper.4lw.commands.whitelist', 'zookeeper.admin.serverPort', 'zookeeper.admin.serverAddress']) {
      assert.equal(typeof z[k], 'string', `ZooKeeper sets ${k}`);
      assert.equal(typeof a[k], 'string', `Ark shows ${k}`);
    }
  });
});

describe('admin_fields_match_zookeeper_ensemble', { skip }, () => {
  let ark: Ensemble;
  let zk: Ensemble;
  const arkAdmin: number[] = [];
  const zkAdmin: number[] = [];

  before(async () => {
    for (let i = 0; i < 4; i++) {
      arkAdmin.push(await freePort());
      zkAdmin.push(await freePort());
    }
    [ark, zk] = await Promise.all([
      startEnsemble({ voters: 3, observers: 1, memberCfg: (id) => adminCfg(arkAdmin[id - 1]!) }),
      startZooKeeperEnsembleWithAdmin(zkAdmin, 3, 1),
    ]);
    await Promise.all([ark.serving(), zk.serving()]);
  });

  after(async () => {
    await Promise.all([ark?.stop(), zk?.stop()]);
  });

  test('leader_zabstate_voting_view_observers_and_monitor_fields_match', async () => {
    const [al, zl] = await Promise.all([ark.leader(), zk.leader()]);
    const af = ark.members.find((m) => m !== al && !m.observer)!;
    const zf = zk.members.find((m) => m !== zl && !m.observer)!;
    const ao = ark.members.find((m) => m.observer)!;
    const zo = zk.members.find((m) => m.observer)!;
    const pairs: Array<[string, Member, Member]> = [
      ['leader', al, zl],
      ['follower', af, zf],
      ['observer', ao, zo],
    ];
    const problems: string[] = [];
    for (const [role, a, z] of pairs) {
      for (const n of ['leader', 'zabstate', 'voting_view', 'observers', 'server_stats', 'configuration']) {
        const [zj, aj] = await Promise.all([getJson(zkAdmin[z.id - 1]!, `commands/${n}`), getJson(arkAdmin[a.id - 1]!, `commands/${n}`)]);
        assert.equal(aj.error, zj.error, `${role} ${n}`);
        compareFields(n, zj, aj, problems);
      }
      const [zm, am] = await Promise.all([
        getJson(zkAdmin[z.id - 1]!, 'commands/monitor'),
        getJson(arkAdmin[a.id - 1]!, 'commands/monitor'),
      ]);
      const missing = TOOL_KEYS.filter((k) => k in zm && !(k in am) && !MONITOR_OMITS.has(k));
      assert.deepEqual(missing, [], `${role}: monitor keys`);
      const extra = TOOL_KEYS.filter((k) => !(k in zm) && k in am && !['bytes_received_count', 'connection_rejected'].includes(k));
      assert.deepEqual(extra, [], `${role}: no leader-only keys where ZooKeeper has none`);
    }
    assert.deepEqual(problems, []);
  });
});
