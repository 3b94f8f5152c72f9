// The continuous archive as an operator runs it, with real processes: an ensemble sharing one
// backup.archiveDir archives every committed txn exactly once while its archiving member (the
// leader) is killed again and again; point-in-time restores of that archive reproduce the tree
// recorded at many points, every Stat field, data and ACL; a quiet ensemble still reaches the
// archive within backup.archiveIntervalMs; retention by count and by age writes each chunk once;
// `ark backup list` and `ark restore` say exactly what can be reached and why not.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ZooKeeperClient } from '../../src/client/zookeeper.js';
import { digestAcl, Perms } from '../../src/client/zookeeper.js';
import { DataDir } from '../../src/storage/datadir.js';
import { readChunk } from '../../src/backup/chunk.js';
import { buildChain, isJump, type Link } from '../../src/backup/chain.js';
import { linkOf } from '../../src/backup/archive.js';
import type { DataTree } from '../../src/tree/datatree.js';
import { startEnsemble, type Ensemble } from '../helpers/ensemble.js';
import { ark, startArk, tempDir } from '../helpers/servers.js';
import { fourLetter } from '../helpers/fourletter.js';

const hex = (z: number): string => `0x${z.toString(16)}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A znode as a client sees it: data, ACL and every Stat field. */
type Seen = Record<string, unknown>;

async function walk(zk: ZooKeeperClient): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  const stack = ['/'];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (p === '/zookeeper' || p.startsWith('/zookeeper/')) continue;
    const [{ data, stat }, acl, kids] = await Promise.all([zk.getData(p), zk.getACL(p), zk.getChildren(p)]);
    out.set(p, { data: data === null ? null : data.toString('base64'), acl: acl.acl, ...stat });
    for (const k of kids) stack.push(p === '/' ? `/${k}` : `${p}/${k}`);
  }
  return out;
}

/** The tree a restored data dir starts with, seen as walk() sees a live one. */
function restoredTree(dir: string): Map<string, Seen> {
  const rec = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 16 }).recover({ repair: false });
  const tree: DataTree = rec.snapshot!.tree;
  for (const r of rec.records) tree.apply(r.hdr, r.txn, []);
  const out = new Map<string, Seen>();
  for (const [path, node] of tree.nodes) {
    if (path === '/zookeeper' || path.startsWith('/zookeeper/')) continue;
    const s = node.stat();
    out.set(path, {
      data: node.data === null ? null : Buffer.from(node.data).toString('base64'),
      acl: node.acl.map((a) => ({ perms: a.perms, id: { ...a.id } })),
      czxid: s.czxid,
      mzxid: s.mzxid,
      ctime: s.ctime,
      mtime: s.mtime,
      version: s.version,
      cversion: s.cversion,
      aversion: s.aversion,
      ephemeralOwner: s.ephemeralOwner,
      dataLength: s.dataLength,
      numChildren: s.numChildren,
      pzxid: s.pzxid,
    });
  }
  return out;
}

/** The zxid of the last txn that changed this tree: the highest mzxid or pzxid in it. */
function lastChange(tree: Map<string, Seen>): number {
  let z = 0;
  for (const s of tree.values()) z = Math.max(z, Number(s.mzxid), Number(s.pzxid));
  return z;
}

function normalise(tree: Map<string, Seen>): Record<string, string> {
  return Object.fromEntries(
    [...tree]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([p, s]) => [p, JSON.stringify(s, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))]),
  );
}

/** The chain's links, read and checked, in order from its start (unlinked ones: `unlinked`). */
function chunks(archive: string): Array<{ name: string; prev: number; zxids: number[]; jump: boolean }> & { unlinked?: string[] } {
  const dir = join(archive, 'txns');
  if (!existsSync(dir)) return [];
  const read = new Map<string, { link: Link; zxids: number[] }>();
  for (const name of readdirSync(dir).filter((n) => /^(txns|fill)\./.test(n))) {
    const c = readChunk(name, readFileSync(join(dir, name)));
    const h = c.header;
    read.set(name, { link: linkOf(name, h), zxids: c.records.map((r) => r.hdr.zxid) });
  }
  const chain = buildChain([...read.values()].map((r) => r.link));
  const out: Array<{ name: string; prev: number; zxids: number[]; jump: boolean }> & { unlinked?: string[] } = chain.links.map((l) => ({
    name: l.name,
    prev: l.prev,
    zxids: read.get(l.name)!.zxids,
    jump: isJump(l),
  }));
  out.unlinked = chain.unlinked.map((l) => l.name);
  return out;
}

function backupZxids(archive: string): number[] {
  const dir = join(archive, 'backups');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => /^backup\.([0-9a-f]{16})\.arkb$/.exec(n))
    .filter((m) => m !== null)
    .map((m) => parseInt(m[1]!, 16))
    .sort((a, b) => a - b);
}

/** The chain holds each zxid once, in order, each link continuing the one before, from a backup, with no jump. */
function assertOneChain(archive: string): number[] {
  const cs = chunks(archive);
  assert.ok(cs.length > 0, 'the archive holds links');
  assert.deepEqual(cs.unlinked, [], 'every link is on the chain');
  assert.ok(
    cs.every((c) => !c.jump),
    'no jump: nothing was left out',
  );
  const end = cs.at(-1)!.zxids.at(-1)!;
  assert.ok(
    backupZxids(archive).some((b) => b >= cs[0]!.prev && b <= end),
    'a backup the chain continues',
  );
  const all: number[] = [];
  for (let i = 0; i < cs.length; i++) {
    if (i > 0) assert.equal(cs[i]!.prev, cs[i - 1]!.zxids.at(-1), `${cs[i]!.name} continues ${cs[i - 1]!.name}`);
    all.push(...cs[i]!.zxids);
  }
  for (let i = 1; i < all.length; i++)
    assert.ok(all[i]! > all[i - 1]!, `zxids in order and each once (${hex(all[i - 1]!)} then ${hex(all[i]!)})`);
  return all;
}

async function waitFor<T>(what: string, f: () => Promise<T | null> | T | null, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Waits until the archive's newest txn is at least `zxid` (as ark backup list reads it). */
async function archivedUpTo(archive: string, zxid: number, timeoutMs = 30000): Promise<void> {
  await waitFor(
    `the archive to reach ${hex(zxid)}`,
    () => {
      if (!existsSync(join(archive, 'txns'))) return null;
      const cs = chunks(archive);
      return (cs.at(-1)?.zxids.at(-1) ?? -1) >= zxid ? true : null;
    },
    timeoutMs,
  );
}

/** The zxid a server reports (srvr). */
async function zxidOf(port: number): Promise<number> {
  return parseInt(/Zxid: 0x([0-9a-f]+)/.exec(await fourLetter(port, 'srvr'))![1]!, 16);
}

async function leaderOf(ens: Ensemble): Promise<(typeof ens.members)[number]> {
  return ens.leader(30000);
}

describe('an ensemble with one shared archive', { timeout: 300000 }, () => {
  test('archives every committed txn once while the archiving member is killed again and again, and restores to any point', async () => {
    const archive = tempDir('ens-archive');
    const ens = await startEnsemble({
      cfg: { 'backup.archiveDir': archive, 'backup.archiveIntervalMs': 300, snapCount: 300, minSessionTimeout: 4000 },
    });
    const recorded: Array<{ zxid: number; tree: Map<string, Seen> }> = [];
    let zk: ZooKeeperClient | null = null;
    try {
      await leaderOf(ens);
      await ens.serving();
      // as alice, getACL shows her digest ids whole (without ADMIN they read user:x, ZOOKEEPER-1392)
      zk = await connect(ens.connectString, { sessionTimeoutMs: 20000, auth: [{ scheme: 'digest', auth: 'alice:pw' }] });
      const acl = [digestAcl('alice', 'pw'), { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
      await zk.create('/app', 'root');
      let n = 0;
      /** a burst of writes of every kind, retried across failovers */
      const burst = async (): Promise<void> => {
        for (let i = 0; i < 60; i++, n++) {
          await zk!.retry(async () => {
            const p = `/app/n${n}`;
            if (!(await zk!.exists(p))) await zk!.create(p, i % 5 === 0 ? null : `v${n}`, i % 7 === 0 ? { acl } : {});
            if (n % 3 === 0) await zk!.setData(p, `changed${n}`).catch(() => undefined);
            if (n % 10 === 9) await zk!.delete(`/app/n${n - 4}`).catch(() => undefined);
          });
        }
      };
      for (let round = 0; round < 4; round++) {
        await burst();
        // quiet: record the tree as it is now, at the zxid of its last change
        await zk.sync('/');
        const tree = await walk(zk);
        recorded.push({ zxid: lastChange(tree), tree });
        if (round < 3) {
          // kill -9 the archiving member (the leader) and bring it back
          const leader = await leaderOf(ens);
          await ens.kill(leader);
          await burst();
          await ens.start(leader);
        }
      }
      const last = recorded.at(-1)!.zxid;
      // a quiet ensemble still reaches the archive within the interval (the RPO)
      await archivedUpTo(archive, last);
      zk.close();
      zk = null;
    } finally {
      await zk?.close();
      await ens.stop();
    }
    // exactly once, in order, one unbroken chain covering every recorded point
    const all = new Set(assertOneChain(archive));
    for (const r of recorded) assert.ok(all.has(r.zxid), `recorded point ${hex(r.zxid)} is archived`);
    const list = await ark(['backup', 'list', '--archive', archive, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { restorable: Array<{ fromZxid: string; toZxid: string }>; gaps: unknown[] };
    assert.deepEqual(listed.gaps, [], 'no gap');
    assert.equal(listed.restorable.length, 1, JSON.stringify(listed.restorable));
    // every recorded point restores to exactly the tree a client read then
    for (const r of recorded) {
      const out = join(tempDir('ens-pitr'), 'd');
      const res = await ark(['restore', '--archive', archive, '--to-zxid', hex(r.zxid), '--data-dir', out]);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(normalise(restoredTree(out)), normalise(r.tree), `the tree at ${hex(r.zxid)}`);
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('archive rules on one server', { timeout: 180000 }, () => {
  test('retention by count and by age removes old backups and their chunks once; no chunk is written twice', async () => {
    const archive = tempDir('retain');
    const srv = await startArk({
      cfg: {
        'backup.archiveDir': archive,
        'backup.archiveIntervalMs': 100,
        'backup.intervalMs': 300,
        'backup.retainCount': 2,
        snapCount: 100,
      },
    });
    const seen = new Map<string, number>(); // chunk name -> mtime when first seen
    const removed = new Set<string>();
    try {
      const zk = await connect(`127.0.0.1:${srv.port}`);
      await zk.create('/r', '0');
      for (let i = 0; i < 40; i++) {
        for (let j = 0; j < 20; j++) await zk.setData('/r', `${i}.${j}`);
        await sleep(60); // pacing (the workload, not a wait for an outcome): archive rounds and backups land between the bursts
        const txns = join(archive, 'txns');
        const now = new Set(existsSync(txns) ? readdirSync(txns).filter((n) => n.startsWith('txns.')) : []);
        for (const name of [...now]) {
          assert.ok(!removed.has(name), `${name} was written again after retention removed it`);
          // retention may remove it between the listing and here: then it is gone, as if not listed
          const m = statSync(join(archive, 'txns', name), { throwIfNoEntry: false })?.mtimeMs;
          if (m === undefined) {
            now.delete(name);
            continue;
          }
          if (seen.has(name)) assert.equal(seen.get(name), m, `${name} was rewritten`);
          else seen.set(name, m);
        }
        for (const name of seen.keys()) if (!now.has(name)) removed.add(name);
      }
      await zk.close();
    } finally {
      await srv.stop();
    }
    const backups = backupZxids(archive);
    assert.ok(backups.length <= 3, `retainCount 2 (and at most one more written since the last prune): ${backups.length}`);
    assert.ok(removed.size > 0, 'retention removed chunks');
    // links that only led to removed backups are gone, but for the last few seconds' (a member may
    // be extending the chain from them: 10 refreshes of 200 ms) and the chain's last link
    const newestBackup = Math.max(...readdirSync(join(archive, 'backups')).map((n) => statSync(join(archive, 'backups', n)).mtimeMs));
    const cs = chunks(archive);
    for (const c of cs.slice(0, -1)) {
      if (c.zxids.at(-1)! > backups[0]!) continue;
      assert.ok(
        newestBackup - statSync(join(archive, 'txns', c.name)).mtimeMs < 2500,
        `${c.name} only led to a removed backup and is older than the grace`,
      );
    }
    assertOneChain(archive);

    // age: backups older than retainHours go (the newest stays)
    const aged = tempDir('retain-age');
    const srv2 = await startArk({
      cfg: { 'backup.archiveDir': aged, 'backup.archiveIntervalMs': 100, 'backup.intervalMs': 200, 'backup.retainHours': 0.0003 },
    });
    try {
      const zk = await connect(`127.0.0.1:${srv2.port}`);
      // paced over 3 s (the workload): backups every 200 ms, each soon older than retainHours (about 1 s)
      for (let i = 0; i < 30; i++) {
        await zk.create(`/a${i}`, 'x');
        await sleep(100);
      }
      await zk.close();
    } finally {
      await srv2.stop();
    }
    const now = Date.now();
    const ages = readdirSync(join(aged, 'backups')).map((n) => now - statSync(join(aged, 'backups', n)).mtimeMs);
    assert.ok(ages.length >= 1 && ages.length < 10, `age retention kept ${ages.length} backups`);
    assertOneChain(aged);
  });

  test('temp files of an archive writer killed mid-write are removed once they are an hour old', async () => {
    const archive = tempDir('abandoned');
    mkdirSync(join(archive, 'txns'), { recursive: true });
    const old = join(archive, 'txns', '.tmp-4242-0123456789ab');
    const young = join(archive, 'txns', '.tmp-4243-0123456789ab');
    writeFileSync(old, Buffer.alloc(4096));
    writeFileSync(young, Buffer.alloc(4096));
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const srv = await startArk({ cfg: { 'backup.archiveDir': archive, 'backup.archiveIntervalMs': 100 }, env: { ARK_LOG_LEVEL: 'info' } });
    try {
      await waitFor('the abandoned temp file to go', () => (existsSync(old) ? null : true), 10000);
      assert.ok(existsSync(young), 'a temp file touched within the hour may be a write in progress');
      await waitFor(
        'the log to say so',
        () => (/removed temp files that writers killed mid-write left in the archive/.test(srv.output()) ? true : null),
        10000,
      );
    } finally {
      await srv.stop();
    }
  });

  test('a server with another history pointed at the same archive writes nothing onto it, and says so', async () => {
    // A archives its txns and stops; B, a fresh server (its zxids line up with A's), is given the
    // same backup.archiveDir. First B is behind A's end (the archive holds txns B never had), then
    // past it with another txn at A's end: either way its txns must not continue A's chain
    const archive = tempDir('other-history');
    const cfg = { 'backup.archiveDir': archive, 'backup.archiveIntervalMs': 100 };
    const a = await startArk({ cfg });
    try {
      const zk = await connect(`127.0.0.1:${a.port}`);
      for (let i = 0; i < 20; i++) await zk.create(`/a${i}`, 'x');
      await zk.close();
    } finally {
      await a.stop(); // a clean stop archives everything committed
    }
    const before = chunks(archive);
    const end = before.at(-1)!.zxids.at(-1)!;
    const backups = backupZxids(archive);
    const b = await startArk({ cfg });
    const mismatch = async (): Promise<number> =>
      Number(/zk_archive_history_mismatch\s+(\d+)/.exec(await fourLetter(b.port, 'mntr'))?.[1] ?? -1);
    const zk = await connect(`127.0.0.1:${b.port}`);
    try {
      for (let i = 0; i < 3; i++) await zk.create(`/b${i}`, 'x');
      assert.ok((await zxidOf(b.port)) < end, "B is behind the archive's end");
      await waitFor('B to report the archive ends past all it committed', async () => ((await mismatch()) === 1 ? true : null), 10000);
      assert.match(
        b.output(),
        /archiving stopped: this server's history is not the archive's \(the archive ends at 0x[0-9a-f]+, past everything this server committed/,
      );
      for (let i = 3; i < 60; i++) await zk.create(`/b${i}`, 'x');
      assert.ok((await zxidOf(b.port)) > end, "B is past the archive's end now");
      await waitFor(
        "B to find its txn at the archive's end is not the archived one",
        () => (b.output().includes(`this server's txn at ${hex(end)} is not the archived one`) ? true : null),
        10000,
      );
      assert.equal(await mismatch(), 1);
      // more for B to archive, were it to write onto this archive
      for (let i = 60; i < 70; i++) await zk.create(`/b${i}`, 'x');
    } finally {
      await zk.close();
      await b.stop();
    }
    // a clean stop archives everything committed, or says why not: B's last chance to write onto
    // the archive came, and it wrote nothing
    assert.match(b.output(), /the archive could not take the last txns/, "B's clean stop tried to archive its last txns");
    assert.deepEqual(chunks(archive), before, "the chain is exactly A's");
    assert.deepEqual(backupZxids(archive), backups, "no backup of B's state either");
  });

  test('ark backup list and ark restore say exactly what can be reached, and why not', async () => {
    const archive = tempDir('honest');
    const srv = await startArk({ cfg: { 'backup.archiveDir': archive, 'backup.archiveIntervalMs': 100 } });
    const marks: Array<{ zxid: number; time: number }> = [];
    try {
      const zk = await connect(`127.0.0.1:${srv.port}`);
      await zk.create('/h', '0');
      for (let i = 1; i <= 6; i++) {
        for (let j = 0; j < 5; j++) {
          const st = await zk.setData('/h', `${i}.${j}`);
          marks.push({ zxid: st.mzxid, time: st.mtime });
        }
        await archivedUpTo(archive, marks.at(-1)!.zxid); // one chunk per round
      }
      await zk.close();
    } finally {
      await srv.stop();
    }
    const backup = join(archive, 'backups', readdirSync(join(archive, 'backups'))[0]!);
    // a point in time needs the archive
    const noArchive = await ark(['restore', backup, '--to-zxid', hex(marks[3]!.zxid), '--data-dir', join(tempDir('x'), 'd')]);
    assert.equal(noArchive.code, 2);
    assert.match(noArchive.stderr, /--to-zxid and --to-time need --archive/);
    // the whole range, and the real time of the newest txn
    const listed = JSON.parse((await ark(['backup', 'list', '--archive', archive, '--json'])).stdout) as {
      restorable: Array<{ fromZxid: string; toZxid: string; toTime: string }>;
      newest: { zxid: string; time: string };
      gaps: Array<{ kind: string; text: string }>;
      completeAsOf: string | null;
    };
    // (the newest txn is the session's close, after the last write)
    const lastChunk = readChunk('last', readFileSync(join(archive, 'txns', chunks(archive).at(-1)!.name)));
    const newest = lastChunk.records.at(-1)!.hdr;
    assert.ok(newest.zxid > marks.at(-1)!.zxid);
    assert.equal(listed.restorable.length, 1);
    assert.equal(listed.restorable[0]!.toZxid, hex(newest.zxid));
    assert.equal(listed.newest.time, new Date(newest.time).toISOString());
    assert.ok(listed.completeAsOf !== null, 'a clean stop leaves the archive complete as of then');
    // restoring to a time after the last txn, before the archive was known complete: refused with the real time
    const late = await ark([
      'restore',
      '--archive',
      archive,
      '--to-time',
      new Date(Date.now() + 3600_000).toISOString(),
      '--data-dir',
      join(tempDir('x'), 'd'),
    ]);
    assert.equal(late.code, 1);
    assert.ok(late.stderr.includes(new Date(newest.time).toISOString()), late.stderr);
    assert.ok(!late.stderr.includes('1970'), late.stderr);
    // a time after the last txn but within what the archive knows complete: the state at the last txn
    const within = join(tempDir('within'), 'd');
    const ok = await ark(['restore', '--archive', archive, '--to-time', listed.completeAsOf!, '--data-dir', within]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(restoredTree(within).get('/h')!.data, Buffer.from('6.4').toString('base64'));
    // restoring to the backup's own point replays nothing and says when that point was
    const base = backupZxids(archive)[0]!;
    const own = await ark(['restore', '--archive', archive, '--to-zxid', hex(base), '--data-dir', join(tempDir('own'), 'd')]);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /the backup's own point, captured 20\d\d-/);
    assert.ok(!own.stdout.includes('null'), own.stdout);
    // a chunk lost from the middle: named as missing, and points inside it refused as such
    const cs = chunks(archive);
    const middle = cs[Math.floor(cs.length / 2)]!;
    rmSync(join(archive, 'txns', middle.name));
    const after = JSON.parse((await ark(['backup', 'list', '--archive', archive, '--json'])).stdout) as typeof listed;
    assert.equal(after.gaps.length, 1);
    assert.equal(after.gaps[0]!.kind, 'missing');
    assert.equal(after.restorable.length, 1, 'only what the backup reaches before the gap');
    const inside = await ark(['restore', '--archive', archive, '--to-zxid', hex(middle.zxids[0]!), '--data-dir', join(tempDir('x'), 'd')]);
    assert.equal(inside.code, 1);
    assert.match(inside.stderr, /missing: the txns after .* are not in the archive/);
    const beyond = await ark(['restore', '--archive', archive, '--to-zxid', hex(newest.zxid + 100), '--data-dir', join(tempDir('x'), 'd')]);
    assert.equal(beyond.code, 1);
    assert.match(beyond.stderr, /not archived yet: the newest archived txn is/);
  });
});
