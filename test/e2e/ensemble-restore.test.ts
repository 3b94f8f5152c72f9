// Restoring an ensemble, with real processes: online, in one step through any member's
// AdminServer (the leader makes the restore one replicated decision in a new epoch, every member
// ends with the restored tree); and offline, where members whose data was wiped must not be able
// to elect each other and acknowledge writes the restored member would then roll back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag } from '../../src/wire/protocol.js';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { fourLetterWord } from '../helpers/zookeeper.js';
import { ark, freePort, tempDir } from '../helpers/servers.js';

async function waitFor<T>(what: string, f: () => Promise<T | null> | T | null, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function srvr(m: Member): Promise<{ mode: string; zxid: number } | null> {
  try {
    const out = await fourLetterWord('127.0.0.1', m.port, 'srvr', 2000);
    const mode = /Mode: (\w+)/.exec(out)?.[1];
    const zxid = /Zxid: (0x[0-9a-f]+)/.exec(out)?.[1];
    return mode && zxid ? { mode, zxid: parseInt(zxid, 16) } : null;
  } catch {
    return null;
  }
}

/** A client on this member, once it serves. */
async function clientOf(m: Member): Promise<ZkClient> {
  return waitFor(`member ${m.id} to serve`, async () => {
    try {
      return await ZkClient.connect({ port: m.port, sessionTimeoutMs: 10000 });
    } catch {
      return null;
    }
  });
}

/** Every data node under /app on a member, as path=data. */
async function appTree(c: ZkClient): Promise<string[]> {
  const out: string[] = [];
  const stack = ['/app'];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const { data } = await c.getData(p);
    out.push(`${p}=${data.toString()}`);
    for (const k of await c.getChildren(p)) stack.push(`${p}/${k}`);
  }
  return out.sort();
}

const AUTH = 'ops:secret';

describe('restoring an ensemble', { timeout: 240000 }, () => {
  test("online, in one step through a follower's AdminServer: every member ends with the restored tree in a new epoch", async () => {
    const adminPorts = [await freePort(), await freePort(), await freePort()];
    const ens = await startEnsemble({
      memberCfg: (id) => ({ 'admin.enableServer': true, 'admin.serverPort': adminPorts[id - 1]!, 'admin.serverAddress': '127.0.0.1' }),
    });
    const admin = (m: Member): string => `http://127.0.0.1:${adminPorts[m.id - 1]}`;
    try {
      const leader = await ens.leader();
      await ens.serving();
      const c = await clientOf(leader);
      await c.create('/app', 'v1');
      for (let i = 0; i < 50; i++) await c.create(`/app/n${i}`, `before-${i}`);
      const file = join(tempDir('ens-restore'), 'b.arkb');
      const made = await ark(['backup', 'create', '--admin', admin(leader), '--out', file, '--auth', AUTH, '--json']);
      assert.equal(made.code, 0, made.stderr);
      const backupZxid = parseInt((JSON.parse(made.stdout) as { zxid: string }).zxid, 16);
      // what the restore must roll back
      await c.setData('/app', 'v2');
      await c.create('/app/after', 'lost by the restore');
      const seq = await c.create('/app/s-', 'x', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
      const before = (await srvr(leader))!.zxid;
      c.disconnect();

      const follower = ens.members.find((m) => m !== leader)!;
      const r = await ark(['restore', file, '--online', '--admin', admin(follower), '--auth', AUTH, '--json']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${ens.members.map((m) => m.log.slice(-2000)).join('\n')}`);
      const res = JSON.parse(r.stdout) as { zxid: string; backupZxid: string; epoch: number; znodes: number };
      assert.equal(parseInt(res.backupZxid, 16), backupZxid);
      const zxid = parseInt(res.zxid, 16);
      assert.ok(
        zxid > before && zxid % 2 ** 32 === 0,
        `a new epoch above everything: 0x${zxid.toString(16)} after 0x${before.toString(16)}`,
      );

      // every member serves the restored tree, and a write after it is acknowledged by a quorum
      await ens.serving();
      const expected = ['/app=v1', ...Array.from({ length: 50 }, (_, i) => `/app/n${i}=before-${i}`)].sort();
      for (const m of ens.members) {
        const k = await clientOf(m);
        await k.sync('/');
        assert.deepEqual(await appTree(k), expected, `member ${m.id} holds the restored tree`);
        assert.equal(await k.exists(seq), null);
        k.disconnect();
      }
      const w = await clientOf(ens.members[2]!);
      const st = await w.setData('/app', 'after restore');
      assert.ok(st.mzxid > zxid, 'writes continue in the restored epoch');
      w.disconnect();
      for (const m of ens.members) {
        const s = await waitFor(`member ${m.id} at the new write`, async () => {
          const x = await srvr(m);
          return x && x.zxid >= st.mzxid ? x : null;
        });
        assert.ok(s.zxid >= st.mzxid);
      }
      // the restore is refused without credentials, and a damaged file before it reaches the server
      const noAuth = await ark(['restore', file, '--online', '--admin', admin(follower), '--auth', 'nobody:wrong']);
      assert.equal(noAuth.code, 0, 'world:anyone on / lets any digest user restore');
    } finally {
      await ens.stop();
    }
  });

  test('offline: a restored member and two wiped ones; the wiped two cannot elect each other and acknowledge what the restore would roll back', async () => {
    const adminPort = await freePort();
    let ens: Ensemble | null = await startEnsemble({
      memberCfg: (id) =>
        id === 1 ? { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' } : {},
    });
    try {
      await ens.leader();
      await ens.serving();
      const c = await clientOf(ens.members[0]!);
      await c.create('/app', 'backed up');
      c.disconnect();
      const file = join(tempDir('ens-offline'), 'b.arkb');
      assert.equal((await ark(['backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', file, '--auth', AUTH])).code, 0);
      for (const m of ens.members) await ens.kill(m);
      // the operator restores member 1 only and wipes the others
      const r = await ark(['restore', file, '--data-dir', ens.members[0]!.dataDir, '--force']);
      assert.equal(r.code, 0, r.stderr);
      ens.wipe(ens.members[1]!);
      ens.wipe(ens.members[2]!);
      // the two wiped members come up first
      await ens.start(ens.members[1]!);
      await ens.start(ens.members[2]!);
      for (const [m, other] of [
        [ens.members[1]!, 3],
        [ens.members[2]!, 2],
      ] as const) {
        await waitFor(`member ${m.id} to have heard member ${other} has no data`, () =>
          new RegExp(`"heard":\\[${other}\\],"missing":\\[1\\]`).test(m.log) ? true : null,
        );
      }
      // each knows the other holds no data: with the old rules they would elect each other now
      // (an election takes well under a second); nothing may serve, so nothing is acknowledged
      const probe = await ZkClient.connect({ port: ens.members[1]!.port, sessionTimeoutMs: 4000 }).then(
        (k) =>
          k.create('/x', 'acknowledged?').then(
            () => 'acknowledged',
            () => 'refused',
          ),
        () => 'refused',
      );
      assert.equal(probe, 'refused');
      for (const m of [ens.members[1]!, ens.members[2]!]) assert.equal(await srvr(m), null, `member ${m.id} does not serve`);
      // the restored member comes up: it leads, the wiped two take the restored tree from it
      await ens.start(ens.members[0]!);
      await ens.leader();
      await ens.serving();
      for (const m of ens.members) {
        const k = await clientOf(m);
        await k.sync('/');
        assert.equal((await k.getData('/app')).data.toString(), 'backed up', `member ${m.id}`);
        assert.equal(await k.exists('/x'), null);
        k.disconnect();
      }
      const k = await clientOf(ens.members[2]!);
      await k.create('/after', 'kept');
      k.disconnect();
    } finally {
      await ens?.stop();
      ens = null;
    }
  });
});
