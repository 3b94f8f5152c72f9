// The AdminServer of ensemble members (three voters and an observer, real `ark server` processes),
// fetched with curl: leader, zabstate, voting_view, observers, monitor and /ready report the
// ensemble as it is, and a member that lost its quorum says so.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { freePort } from '../helpers/servers.js';
import { fourLetter } from '../helpers/fourletter.js';
import { ZkClient } from '../../src/client/client.js';
import { waitUntil } from '../helpers/wait.js';

interface Reply {
  status: number;
  body: string;
  json: Record<string, unknown>;
}

function curl(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-w', '\n%{http_code}', url], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
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
        /* not JSON */
      }
      resolve({ status: Number(stdout.slice(cut + 1)), body, json });
    });
  });
}

describe('admin_server_ensemble', () => {
  let ens: Ensemble;
  const adminPorts: number[] = [];
  let leader: Member;
  const admin = (m: Member, path: string): Promise<Reply> => curl(`http://127.0.0.1:${adminPorts[m.id - 1]}/${path}`);
  const cmd = (m: Member, name: string): Promise<Record<string, unknown>> => admin(m, `commands/${name}`).then((r) => r.json);

  before(async () => {
    for (let i = 0; i < 4; i++) adminPorts.push(await freePort());
    ens = await startEnsemble({
      voters: 3,
      observers: 1,
      memberCfg: (id) => ({ 'admin.enableServer': true, 'admin.serverPort': adminPorts[id - 1]!, 'admin.serverAddress': '127.0.0.1' }),
    });
    leader = await ens.leader();
    await ens.serving();
    const c = await ZkClient.connect({ port: leader.port });
    for (let i = 0; i < 5; i++) await c.create(`/n${i}`, 'x'.repeat(100 * i));
    await c.sync('/');
    c.disconnect();
    // every member has applied the writes (zabstate below compares their zxids)
    const zxidOf = async (m: Member): Promise<string> => /Zxid: (0x[0-9a-f]+)/.exec(await fourLetter(m.port, 'srvr'))?.[1] ?? '';
    await waitUntil(async () => {
      const zxids = await Promise.all(ens.members.map(zxidOf));
      return zxids.every((z) => z === zxids[0]);
    }, 'every member to report the same zxid');
  });

  after(async () => {
    await ens?.stop();
  });

  test('leader_names_the_member_whose_srvr_says_leader', async () => {
    for (const m of ens.members) {
      const r = await cmd(m, 'leader');
      assert.deepEqual(
        r,
        { is_leader: m === leader, leader_id: leader.id, leader_ip: '127.0.0.1', command: 'leader', error: null },
        `member ${m.id}`,
      );
      assert.equal((await cmd(m, 'lead')).leader_id, leader.id);
    }
    assert.equal(await ens.mode(leader), 'leader');
  });

  test('zabstate_reports_each_member_in_broadcast_with_its_real_zxid', async () => {
    const srvrZxid = /Zxid: 0x([0-9a-f]+)/.exec(await fourLetter(leader.port, 'srvr'))![1]!;
    const zxid = parseInt(srvrZxid, 16);
    for (const m of ens.members) {
      const z = await cmd(m, 'zabstate');
      assert.equal(z.myid, m.id);
      assert.equal(z.zabstate, 'broadcast');
      assert.equal(z.is_leader, m === leader);
      assert.equal(z.voting, !m.observer, 'observers do not vote');
      assert.equal(z.last_zxid, `0x${srvrZxid}`);
      assert.equal(z.zab_epoch, Math.floor(zxid / 2 ** 32));
      assert.equal(z.zab_counter, zxid % 2 ** 32);
      assert.equal(z.client_address, `127.0.0.1:${m.port}`);
      const qa = z.quorum_address as { all_ports: number[]; one: string };
      assert.equal(qa.one, `127.0.0.1:${qa.all_ports[0]}`);
    }
  });

  test('voting_view_lists_the_voters_of_the_configuration', async () => {
    const conf = await fourLetter(leader.port, 'conf');
    const lines = [...conf.matchAll(/^server\.(\d+)=([^:]+):(\d+):(\d+):(\w+)/gm)];
    assert.equal(lines.length, 4);
    for (const m of ens.members) {
      const view = (await cmd(m, 'voting_view')).current_config as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(view).sort(), ['1', '2', '3'], 'the observer is not a voter');
      for (const [, id, host, quorum, election] of lines.filter((l) => l[5] === 'participant')) {
        const v = view[id!]!;
        assert.deepEqual(v.server_addresses, [`${host}:${quorum}`]);
        assert.deepEqual(v.election_addresses, [`${host}:${election}`]);
        assert.equal(v.learner_type, 'participant');
        assert.equal(
          v.client_address,
          Number(id) === m.id ? `127.0.0.1:${m.port}` : '',
          'only its own client address is known to a member',
        );
      }
    }
  });

  test('observers_on_the_leader_list_the_synced_observer', async () => {
    const observer = ens.members.find((m) => m.observer)!;
    const r = await cmd(leader, 'observers');
    assert.equal(r.synced_observers, 1);
    const [o] = r.observers as Array<Record<string, number>>;
    assert.equal(o!.sid, observer.id);
    assert.ok(o!.packets_sent! > 0 && o!.packets_received! > 0 && o!.established! > 0);
    for (const m of ens.members.filter((x) => x !== leader)) {
      assert.deepEqual(
        await cmd(m, 'obsr'),
        { synced_observers: 0, observers: [], command: 'observers', error: null },
        'followers serve no observers',
      );
    }
    const sent = o!.packets_sent!;
    await cmd(leader, 'orst');
    const [o2] = (await cmd(leader, 'observers')).observers as Array<Record<string, number>>;
    assert.ok(o2!.packets_sent! < sent, 'observer_connection_stat_reset starts its counts again');
  });

  test('monitor_shows_leader_follower_and_observer_figures', async () => {
    const follower = ens.members.find((m) => m !== leader && !m.observer)!;
    const observer = ens.members.find((m) => m.observer)!;
    const l = await cmd(leader, 'monitor');
    assert.equal(l.server_state, 'leader');
    assert.equal(l.peer_state, 'leading - broadcast');
    assert.equal(l.quorum_size, 3);
    assert.equal(l.learners, 3);
    assert.equal(l.followers, 2);
    assert.equal(l.synced_followers, 2);
    assert.equal(l.synced_non_voting_followers, 0);
    assert.equal(l.synced_observers, 1);
    assert.equal(l.pending_syncs, 0);
    assert.ok((l.proposal_count as number) >= 6, 'createSession and five creates');
    assert.ok((l.commit_count as number) >= 6);
    assert.ok((l.max_proposal_size as number) > 400 && (l.min_proposal_size as number) > 0, 'the 400-byte create was proposed');
    assert.ok((l.leader_uptime as number) >= 0);
    assert.ok((l.cnt_election_time as number) >= 1 && (l.looking_count as number) >= 1);
    assert.ok((l.diff_count as number) + (l.snap_count as number) >= 3, 'it synced three learners');
    const stat = await fourLetter(leader.port, 'stat');
    assert.match(
      stat,
      new RegExp(`^Proposal sizes last/min/max: ${l.last_proposal_size}/${l.min_proposal_size}/${l.max_proposal_size}$`, 'm'),
    );
    const f = await cmd(follower, 'monitor');
    assert.equal(f.server_state, 'follower');
    assert.equal(f.peer_state, 'following - broadcast');
    assert.equal(f.quorum_size, 3);
    for (const k of ['learners', 'synced_followers', 'pending_syncs', 'last_proposal_size', 'leader_uptime'])
      assert.ok(!(k in f), `${k} is the leader's`);
    assert.doesNotMatch(await fourLetter(follower.port, 'stat'), /Proposal sizes/);
    const o = await cmd(observer, 'monitor');
    assert.equal(o.peer_state, 'observing - broadcast');
    assert.equal(o.observer_master_id, leader.id);
    // the four-letter word carries the same keys
    const keys = (await fourLetter(leader.port, 'mntr'))
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[0]!.replace(/^zk_/, ''));
    for (const k of [
      'peer_state',
      'learners',
      'synced_followers',
      'pending_syncs',
      'quorum_size',
      'avg_election_time',
      'last_proposal_size',
    ])
      assert.ok(keys.includes(k), k);
  });

  test('a_member_that_lost_its_quorum_is_not_ready', async () => {
    for (const m of ens.members) {
      const r = await admin(m, 'ready');
      assert.equal(r.status, 200, `member ${m.id}: ${r.body}`);
      assert.equal(r.json.ready, true);
    }
    const survivor = ens.members.find((m) => m !== leader && !m.observer)!;
    const other = ens.members.find((m) => m !== leader && m !== survivor && !m.observer)!;
    await ens.kill(leader);
    await ens.kill(other);
    let r!: Reply;
    await waitUntil(async () => {
      r = await admin(survivor, 'ready');
      return r.status === 503;
    }, 'the survivor to say it is not ready');
    assert.equal(r.json.ready, false);
    assert.match(String(r.json.reason), /looking for a leader/);
    assert.equal(r.json.peer_state, 'looking');
    assert.equal((await admin(survivor, 'health')).status, 200, 'the process itself is fine');
    // server-required commands answer as ZooKeeper's do while not serving; the others still answer
    assert.deepEqual(await cmd(survivor, 'leader'), {
      command: 'leader',
      error: 'This ZooKeeper instance is not currently serving requests',
    });
    assert.equal((await cmd(survivor, 'ruok')).error, 'This ZooKeeper instance is not currently serving requests');
    assert.equal((await cmd(survivor, 'zabstate')).zabstate, 'election');
    const m = await cmd(survivor, 'monitor');
    assert.equal(m.server_state, 'looking');
    assert.equal(m.peer_state, 'looking');
    assert.equal(m.error, null);
  });
});
