// A real three-process ensemble on loopback, from zoo.cfg files with server.N lines and myid:
// replication, sessions moving between members, kill -9 of the leader under a write load, and
// followers killed, restarted and wiped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag } from '../../src/wire/protocol.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { fourLetterWord } from '../helpers/zookeeper.js';
import { arkBin, freePort, tempDir } from '../helpers/servers.js';
import { describeTool, runTool } from '../helpers/clitools.js';
import { join } from 'node:path';
import { waitUntil } from '../helpers/wait.js';
import { rmSync } from 'node:fs';

async function client(m: Member, opts: { sessionId?: bigint; passwd?: Buffer } = {}): Promise<ZkClient> {
  return ZkClient.connect({ port: m.port, sessionTimeoutMs: 10000, ...opts });
}

/** Connects to a member that serves (ConnectionLoss while one is still looking: try another). */
async function anyClient(ens: Ensemble, avoid: Member | null = null, timeoutMs = 15000): Promise<{ c: ZkClient; m: Member }> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const up = ens.members.filter((m) => m.proc && m !== avoid);
    const m = up[i % up.length]!;
    try {
      return { c: await client(m), m };
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function srvrZxid(m: Member): Promise<string | null> {
  try {
    return /Zxid: (\S+)/.exec(await fourLetterWord('127.0.0.1', m.port, 'srvr', 2000))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Waits until every running member reports the same zxid as the leader. */
async function converged(ens: Ensemble, timeoutMs = 15000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const zs = await Promise.all(ens.members.filter((m) => m.proc).map(srvrZxid));
    if (zs.every((z) => z !== null && z === zs[0])) return zs[0]!;
    if (Date.now() > deadline) throw new Error(`members did not converge: ${zs.join(' ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('replicated ensemble of three processes', { timeout: 180000 }, () => {
  let ens: Ensemble;
  before(async () => {
    // small snapCount and commit log: snapshots, log compaction and SNAP sync all happen in a short test
    ens = await startEnsemble({ cfg: { snapCount: 40, commitLogCount: 10, minSessionTimeout: 4000 } });
    await ens.leader();
    await ens.serving();
  });
  after(async () => {
    await ens?.stop();
  });

  test('one leader, the others follow; a write through any member is read on every member', async () => {
    const modes = await Promise.all(ens.members.map((m) => ens.mode(m)));
    assert.deepEqual(modes.slice().sort(), ['follower', 'follower', 'leader']);
    const clients = await Promise.all(ens.members.map((m) => client(m)));
    try {
      await clients[0]!.create('/repl', null);
      await Promise.all(clients.map((c, i) => c.create(`/repl/from${i + 1}`, `member ${i + 1}`)));
      for (const c of clients) {
        await c.sync('/repl');
        assert.deepEqual((await c.getChildren('/repl')).sort(), ['from1', 'from2', 'from3']);
        assert.equal((await c.getData('/repl/from2')).data?.toString(), 'member 2');
      }
      const leader = await ens.leader();
      const mntr = await fourLetterWord('127.0.0.1', leader.port, 'mntr');
      assert.match(mntr, /zk_server_state\tleader/);
      assert.match(mntr, /zk_followers\t2/);
      assert.match(mntr, /zk_synced_followers\t2/);
      assert.match(mntr, /zk_pending_syncs\t0/);
      const conf = await fourLetterWord('127.0.0.1', leader.port, 'conf');
      assert.match(conf, new RegExp(`^serverId=${leader.id}$`, 'm'));
      assert.match(conf, /^peerType=0$/m);
      assert.equal(conf.match(/^server\.\d=127\.0\.0\.1:\d+:\d+:participant;/gm)?.length, 3, conf);
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    }
  });

  test('a session moves to another member and keeps its ephemeral; closing it removes the ephemeral everywhere', async () => {
    const [a, b, c] = ens.members as [Member, Member, Member];
    const c1 = await client(a);
    await c1.create('/moving', 'x', { flags: CreateFlag.EPHEMERAL });
    const sessionId = c1.sessionId;
    c1.disconnect();
    const c2 = await client(b, { sessionId, passwd: c1.passwd });
    assert.equal(c2.sessionId, sessionId);
    const c3 = await client(c);
    try {
      await c3.sync('/moving');
      const stat = await c3.exists('/moving');
      assert.ok(stat, 'the ephemeral survives the move');
      assert.equal(stat.ephemeralOwner, sessionId);
      await c2.close();
      await c3.sync('/');
      assert.equal(await c3.exists('/moving'), null, 'closing the session removed its ephemeral');
    } finally {
      await c3.close();
    }
  });

  test('kill -9 of the leader under a write load: writes resume on the survivors and no acknowledged write is lost', async (t) => {
    const setup = await anyClient(ens);
    await setup.c.create('/load', null).catch((e) => {
      if (!(e instanceof KeeperError && e.code === ErrorCode.NodeExists)) throw e;
    });
    await setup.c.close();
    const leader = await ens.leader();
    const acked = new Set<string>();
    let killedAt = 0;
    let firstAfterKill = 0;
    let stop = false;
    const writers = [0, 1, 2, 3].map(async (w) => {
      let conn: { c: ZkClient; m: Member } | null = null;
      for (let n = 0; !stop; n++) {
        try {
          conn ??= await anyClient(ens, killedAt === 0 ? leader : null);
          const path = await conn.c.create(`/load/w${w}-${n}`, `w${w} n${n}`);
          acked.add(path);
          if (killedAt > 0 && firstAfterKill === 0) firstAfterKill = Date.now();
        } catch (e) {
          if (!(e instanceof KeeperError) || (e.code !== ErrorCode.ConnectionLoss && e.code !== ErrorCode.SessionExpired)) throw e;
          conn?.c.disconnect();
          conn = null; // outcome unknown: it may or may not have been applied
        }
      }
      await conn?.c.close().catch(() => undefined);
    });
    await waitUntil(() => acked.size >= 50, 'writes acknowledged before the kill');
    const before = acked.size;
    killedAt = Date.now();
    await ens.kill(leader);
    // the writers go on until a good number of writes sent after the kill are acknowledged
    await waitUntil(() => firstAfterKill > 0 && acked.size >= before + 50, 'writes to resume after kill -9 of the leader', 30_000);
    stop = true;
    await Promise.all(writers);
    t.diagnostic(
      `acknowledged ${before} writes before the kill, ${acked.size - before} after; writes resumed ${firstAfterKill - killedAt} ms after kill -9 of the leader`,
    );
    await ens.start(leader);
    await ens.serving();
    await converged(ens);
    for (const m of ens.members) {
      const c = await client(m);
      try {
        await c.sync('/load');
        const children = new Set((await c.getChildren('/load')).map((n) => `/load/${n}`));
        const missing = [...acked].filter((p) => !children.has(p));
        assert.deepEqual(missing, [], `member ${m.id} lacks acknowledged writes`);
      } finally {
        await c.close();
      }
    }
  });

  test('followers killed and restarted repeatedly catch up; a follower whose data dir was wiped rejoins by SNAP', async () => {
    for (let round = 0; round < 3; round++) {
      const leader = await ens.leader();
      const follower = ens.members.find((m) => m !== leader && m.proc)!;
      await ens.kill(follower);
      const { c } = await anyClient(ens, follower);
      for (let i = 0; i < 30; i++) await c.create(`/round${round}-${i}`, 'v');
      await c.close();
      await ens.start(follower);
      await ens.serving();
      await converged(ens);
    }
    const leader = await ens.leader();
    const victim = ens.members.find((m) => m !== leader)!;
    await ens.kill(victim);
    ens.wipe(victim);
    const { c } = await anyClient(ens, victim);
    // enough txns that the leader's in-memory log no longer reaches back to zero: SNAP, not DIFF
    for (let i = 0; i < 60; i++) await c.create(`/afterwipe-${i}`, 'v');
    await c.close();
    const logBefore = victim.log.length;
    await ens.start(victim);
    await ens.serving();
    const zxid = await converged(ens);
    assert.match(victim.log.slice(logBefore), /SNAP: took the leader's snapshot/);
    const r = await client(victim);
    try {
      assert.equal((await r.getData('/afterwipe-59')).data?.toString(), 'v');
      assert.equal((await r.getData('/round2-29')).data?.toString(), 'v');
    } finally {
      await r.close();
    }
    assert.ok(zxid.startsWith('0x'));
  });
});

describe('an observer', { timeout: 120000 }, () => {
  test('serves reads, forwards writes, does not vote, and follows a new leader', async () => {
    const ens = await startEnsemble({ voters: 3, observers: 1 });
    try {
      const leader = await ens.leader();
      await ens.serving();
      const observer = ens.members[3]!;
      assert.equal(await ens.mode(observer), 'observer');
      const mntr = await fourLetterWord('127.0.0.1', leader.port, 'mntr');
      assert.match(mntr, /zk_followers\t2/, 'the observer is not counted as a follower');
      assert.match(mntr, /zk_synced_observers\t1/);
      const o = await client(observer);
      await o.create('/via-observer', 'o');
      const f = await client(ens.members.find((m) => m !== leader && m !== observer)!);
      await f.sync('/');
      assert.equal((await f.getData('/via-observer')).data.toString(), 'o');
      await f.close();
      o.disconnect();
      // the voters elect without it; it follows whoever wins
      await ens.kill(leader);
      const next = await ens.leader();
      assert.notEqual(next, observer);
      await ens.serving();
      const o2 = await client(observer);
      await o2.create('/after-failover', 'o');
      assert.equal((await o2.getData('/via-observer')).data.toString(), 'o');
      await o2.close();
    } finally {
      await ens.stop();
    }
  });
});

describe('backup of an ensemble and restore into a new one', { timeout: 120000 }, () => {
  test('an online backup from one member, restored into a quorum of a new ensemble: the wiped member takes it by SNAP', async () => {
    const adminPort = await freePort();
    const ens = await startEnsemble({
      memberCfg: (id) =>
        id === 2 ? { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' } : {},
    });
    const dir = tempDir('ens-backup');
    try {
      await ens.leader();
      await ens.serving();
      const { c } = await anyClient(ens);
      await c.create('/kept', 'k');
      for (let i = 0; i < 20; i++) await c.create(`/kept/n${i}`, `v${i}`);
      await c.setData('/kept/n3', 'changed');
      const before = (await c.getData('/kept/n3')).stat;
      await c.close();
      const file = join(dir, 'ensemble.arkb');
      const b = await runTool(process.execPath, [arkBin, 'backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', file]);
      assert.equal(b.code, 0, describeTool(b));
      const { c: late } = await anyClient(ens);
      await late.create('/after-backup', 'lost by the restore');
      await late.close();
      for (const m of ens.members) await ens.kill(m);
      // the backup goes into a quorum of the members (two wiped members could otherwise elect each
      // other with empty data); the third is wiped and takes the restored state by SNAP
      for (const target of ens.members.slice(0, 2)) {
        const r = await runTool(process.execPath, [arkBin, 'restore', file, '--data-dir', target.dataDir, '--force']);
        assert.equal(r.code, 0, describeTool(r));
      }
      ens.wipe(ens.members[2]!);
      for (const m of ens.members) await ens.start(m);
      await ens.leader();
      await ens.serving();
      await converged(ens);
      for (const m of ens.members) {
        const k = await client(m);
        try {
          assert.equal((await k.getChildren('/kept')).length, 20, `member ${m.id}`);
          const after = await k.getData('/kept/n3');
          assert.equal(after.data.toString(), 'changed');
          assert.deepEqual(after.stat, before, `member ${m.id} keeps every Stat field`);
          assert.equal(await k.exists('/after-backup'), null);
        } finally {
          await k.close();
        }
      }
      assert.match(ens.members[2]!.log, /SNAP: took the leader's snapshot/);
    } finally {
      await ens.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
