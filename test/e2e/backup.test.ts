// Backup and restore as an operator runs them, with real processes: online backup through the
// AdminServer while a client keeps writing, verify, restore into a fresh data dir, start a server
// there and walk the tree; damaged backups refused; point-in-time restores checked against a
// recorded history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ark, freePort, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag } from '../../src/wire/protocol.js';
import { DataDir } from '../../src/storage/datadir.js';
import { waitUntil } from '../helpers/wait.js';
import { ALICE, walkTree as walk } from '../helpers/treewalk.js';

async function populate(c: ZkClient): Promise<void> {
  await c.create('/data', 'root');
  const ops: Array<Promise<unknown>> = [];
  for (let i = 0; i < 40; i++) {
    ops.push(c.create(`/data/d${i}`, Buffer.from([i, 0, 255, i])));
    for (let j = 0; j < 50; j++)
      ops.push(c.create(`/data/d${i}/n${j}`, j % 7 === 0 ? null : `v${i}-${j}`, j % 11 === 0 ? { acl: ALICE } : {}));
    ops.push(c.create(`/data/d${i}/seq-`, 's', { flags: CreateFlag.PERSISTENT_SEQUENTIAL }));
  }
  await Promise.all(ops);
  const more: Array<Promise<unknown>> = [];
  for (let i = 0; i < 40; i++) {
    more.push(c.setData(`/data/d${i}/n1`, `changed${i}`));
    more.push(c.delete(`/data/d${i}/n2`));
    more.push(c.setACL(`/data/d${i}/n3`, ALICE));
  }
  await Promise.all(more);
}

/** the nodes populate() leaves under /data: /data, 40 dirs of 50 nodes (one deleted) and a sequential */
const POPULATED = 1 + 40 * (1 + 49 + 1);

async function startWithAdmin(
  extra: Record<string, string | number | boolean> = {},
  dataDir?: string,
): Promise<{ srv: RunningServer; admin: string }> {
  const adminPort = await freePort();
  const srv = await startArk({
    ...(dataDir ? { dataDir } : {}),
    cfg: { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1', ...extra },
  });
  return { srv, admin: `http://127.0.0.1:${adminPort}` };
}

test('online_backup_under_writes_restores_every_stat_field', async () => {
  const { srv, admin } = await startWithAdmin();
  const work = tempDir('backup');
  let restored: RunningServer | null = null;
  try {
    const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 20000 });
    await populate(c);
    const before = await walk(c, '/data');
    assert.equal(before.size, POPULATED);
    // a writer keeps going during the backup, under /live
    await c.create('/live');
    const written: Array<{ path: string; czxid: number }> = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await c.create2(`/live/w${i}`, 'x');
        written.push({ path: r.path, czxid: r.stat.czxid });
      }
    })();
    const file = join(work, 'b.arkb');
    const made = await ark(['backup', 'create', '--admin', admin, '--out', file, '--auth', 'alice:pw', '--json']);
    stop = true;
    await writer;
    assert.equal(made.code, 0, made.stderr);
    const info = JSON.parse(made.stdout) as { zxid: string; nodes: number };
    const z = parseInt(info.zxid, 16);
    assert.equal((await ark(['backup', 'verify', file])).code, 0);
    const r = await ark(['restore', file, '--data-dir', join(work, 'restored'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    restored = await startArk({ dataDir: join(work, 'restored') });
    const c2 = await ZkClient.connect({ port: restored.port });
    const after = await walk(c2, '/data');
    assert.equal(after.size, before.size);
    for (const [path, want] of before) assert.deepEqual(after.get(path), want, path);
    // /live holds exactly the writes up to the backup point
    const live = new Set(await c2.getChildren('/live'));
    for (const w of written)
      assert.equal(live.has(w.path.slice('/live/'.length)), w.czxid <= z, `${w.path} czxid ${w.czxid} vs backup ${z}`);
    assert.ok(
      written.some((w) => w.czxid <= z),
      'writes before the backup point (they must be in it)',
    );
    assert.ok(
      written.some((w) => w.czxid > z),
      'writes went on during the backup',
    );
    // new writes continue after every zxid the old server handed out
    const next = await c2.create2('/after-restore', 'x');
    assert.ok(next.stat.czxid > Math.max(...written.map((w) => w.czxid)));
    c2.disconnect();
    c.disconnect();
  } finally {
    await srv.stop();
    await restored?.stop();
  }
});

test('a_backup_with_one_byte_changed_anywhere_fails_verify_and_restore', async () => {
  const { srv, admin } = await startWithAdmin();
  const work = tempDir('corrupt');
  try {
    const c = await ZkClient.connect({ port: srv.port });
    await populate(c);
    c.disconnect();
    const file = join(work, 'b.arkb');
    assert.equal((await ark(['backup', 'create', '--admin', admin, '--out', file, '--auth', 'a:b'])).code, 0);
    const good = readFileSync(file);
    for (const at of [0, 5, 9, 20, Math.floor(good.length / 2), good.length - 9, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0x20;
      const f = join(work, `bad-${at}.arkb`);
      writeFileSync(f, bad);
      const v = await ark(['backup', 'verify', f]);
      assert.equal(v.code, 1, `byte ${at}: ${v.stdout}`);
      assert.match(v.stdout, /DAMAGED: .*bad-\d+\.arkb: /);
      const r = await ark(['restore', f, '--data-dir', join(work, `r-${at}`)]);
      assert.equal(r.code, 1, `restore of a damaged backup (byte ${at}) must fail`);
      assert.match(r.stderr, /checksum|damaged|trailer/);
    }
  } finally {
    await srv.stop();
  }
});

test('backups_need_admin_credentials_and_restore_refuses_a_used_data_dir', async () => {
  const { srv, admin } = await startWithAdmin();
  const work = tempDir('auth');
  try {
    const c = await ZkClient.connect({ port: srv.port });
    await c.create('/x', 'y'); // the data dir now holds a log segment
    c.disconnect();
    const res = await fetch(`${admin}/commands/snapshot?streaming=true`);
    assert.equal(res.status, 401);
    const file = join(work, 'b.arkb');
    assert.equal((await ark(['backup', 'create', '--admin', admin, '--out', file, '--auth', 'x:y'])).code, 0);
    // the server holds its data dir: refused before anything else, --force or not
    for (const force of [[], ['--force']]) {
      const live = await ark(['restore', file, '--data-dir', srv.dataDir, ...force]);
      assert.equal(live.code, 1, live.stderr);
      assert.match(live.stderr, new RegExp(`is in use by ark server \\(pid ${srv.process.pid} `));
    }
    await srv.stop({ keepData: true });
    const again = await ark(['restore', file, '--data-dir', srv.dataDir]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds data/);
    // --force replaces it, in an epoch above both the backup's and the replaced data's
    const first = await ark(['restore', file, '--data-dir', srv.dataDir, '--force', '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { startsAtZxid: string }).startsAtZxid, '0x100000000');
    const second = await ark(['restore', file, '--data-dir', srv.dataDir, '--force', '--json']);
    assert.equal((JSON.parse(second.stdout) as { startsAtZxid: string }).startsAtZxid, '0x200000000', 'no epoch is used twice');
  } finally {
    await srv.stop();
  }
});

test('point_in_time_restore_matches_the_recorded_history', async () => {
  const archive = tempDir('archive');
  const dataDir = tempDir('pitr-data');
  const { srv } = await startWithAdmin(
    { 'backup.archiveDir': archive, 'backup.intervalMs': 300, 'backup.archiveIntervalMs': 200, snapCount: 200 },
    dataDir,
  );
  const history: Array<{ zxid: number; time: number; value: number }> = [];
  try {
    const c = await ZkClient.connect({ port: srv.port });
    await c.create('/counter', '0');
    for (let i = 1; i <= 600; i++) {
      const st = await c.setData('/counter', String(i));
      history.push({ zxid: st.mzxid, time: st.mtime, value: i });
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 350)); // let scheduled backups land between
    }
    c.disconnect();
  } finally {
    await srv.stop({ keepData: true }); // a clean stop archives the last txns too
  }
  const list = await ark(['backup', 'list', '--archive', archive, '--json']);
  const listed = JSON.parse(list.stdout) as { backups: Array<{ zxid: string }> };
  assert.ok(listed.backups.length >= 3, `several scheduled backups (${listed.backups.length})`);
  const readCounter = (dir: string): number => {
    const rec = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 16 }).recover({ repair: false });
    const tree = rec.snapshot!.tree;
    for (const r of rec.records) tree.apply(r.hdr, r.txn, []);
    return Number(tree.get('/counter')!.data!.toString());
  };
  for (const k of [37, 150, 299, 301, 444, 600]) {
    const target = history[k - 1]!;
    const out = join(tempDir('pitr-out'), 'd');
    const r = await ark(['restore', '--archive', archive, '--to-zxid', `0x${target.zxid.toString(16)}`, '--data-dir', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readCounter(out), k, `to zxid 0x${target.zxid.toString(16)}`);
  }
  // by time: the last change at or before a moment between two writes
  const mid = history[420]!;
  const out = join(tempDir('pitr-time'), 'd');
  const r = await ark(['restore', '--archive', archive, '--to-time', new Date(mid.time).toISOString(), '--data-dir', out]);
  assert.equal(r.code, 0, r.stderr);
  const expected = history.filter((h) => h.time <= mid.time).at(-1)!.value;
  assert.equal(readCounter(out), expected);
  // and a server starts on a point-in-time restore
  const srv2 = await startArk({ dataDir: out });
  try {
    const c = await ZkClient.connect({ port: srv2.port });
    assert.equal((await c.getData('/counter')).data.toString(), String(expected));
    c.disconnect();
  } finally {
    await srv2.stop();
  }
});

test('online_restore_through_the_admin_server_replaces_the_tree', async () => {
  const { srv, admin } = await startWithAdmin();
  const work = tempDir('online');
  try {
    const c = await ZkClient.connect({ port: srv.port });
    await populate(c);
    const before = await walk(c, '/data');
    assert.equal(before.size, POPULATED);
    const file = join(work, 'b.arkb');
    assert.equal((await ark(['backup', 'create', '--admin', admin, '--out', file, '--auth', 'op:pw'])).code, 0);
    await c.delete('/data/d0/n4');
    await c.setData('/data/d1', 'oops');
    const lastBefore = (await c.create2('/late', 'x')).stat.czxid;
    c.disconnect();
    const body = readFileSync(file);
    assert.equal((await fetch(`${admin}/commands/restore`, { method: 'POST', body })).status, 401, 'needs credentials');
    const damaged = Buffer.from(body);
    damaged[100] = damaged[100]! ^ 1;
    const bad = await fetch(`${admin}/commands/restore`, { method: 'POST', body: damaged, headers: { authorization: 'digest op:pw' } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /checksum/);
    const ok = await fetch(`${admin}/commands/restore`, { method: 'POST', body, headers: { authorization: 'digest op:pw' } });
    assert.equal(ok.status, 200, await ok.clone().text());
    const c2 = await ZkClient.connect({ port: srv.port });
    const after = await walk(c2, '/data');
    for (const [path, want] of before) assert.deepEqual(after.get(path), want, path);
    assert.equal(await c2.exists('/late'), null);
    assert.ok((await c2.create2('/new', 'y')).stat.czxid > lastBefore, 'zxids keep going up after a restore');
    c2.disconnect();
    // and it survives a restart
    await srv.stop({ keepData: true });
    const again = await startArk({ dataDir: srv.dataDir });
    const c3 = await ZkClient.connect({ port: again.port });
    assert.equal((await c3.getData('/data/d1')).data.toString('base64'), before.get('/data/d1')!.data);
    assert.ok(await c3.exists('/new'));
    c3.disconnect();
    await again.stop();
  } finally {
    await srv.stop();
  }
});

test('a_backup_client_that_stops_reading_cannot_block_shutdown', async () => {
  const { srv, admin } = await startWithAdmin({ snapCount: 50 });
  try {
    const c = await ZkClient.connect({ port: srv.port });
    // random bytes: a backup is gzipped, and 8 MiB that do not compress outgrow the socket buffers
    await c.create('/big', randomBytes(500 * 1024));
    for (let i = 0; i < 40; i++) await c.create(`/n${i}`, randomBytes(200 * 1024));
    // open the stream, read until the backup has begun, then stop reading: the socket buffers
    // fill and the stream stalls
    const { connect } = await import('node:net');
    const url = new URL(admin);
    const s = connect({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((r) => s.once('connect', () => r()));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    const got: Buffer[] = [];
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      got.push(d);
      bytes += d.length;
    });
    s.on('error', () => undefined); // a reset when the server goes: what came before it is judged below
    s.write(`GET /commands/snapshot?streaming=true HTTP/1.1\r\nHost: x\r\nAuthorization: digest a:b\r\n\r\n`);
    await waitUntil(() => bytes >= 64 * 1024, 'the backup stream to begin');
    s.pause();
    assert.match(got[0]!.toString('latin1', 0, 12), /^HTTP\/1\.1 200/, 'the backup is streamed');
    c.disconnect();
    const t0 = Date.now();
    assert.equal(await srv.stop(), 0, srv.output());
    assert.ok(Date.now() - t0 < 8000, 'shutdown was not held by the stalled backup');
    // the rest of the stream, as far as the server sent it: the backup was cut off, not finished
    s.resume();
    await closed;
    const tail = Buffer.concat(got).subarray(-5).toString('latin1');
    assert.notEqual(tail, '0\r\n\r\n', `the stalled backup never completed (${bytes} bytes came)`);
    s.destroy();
  } finally {
    await srv.stop();
  }
});
