// The storage engine with a real server: snapshots under load, restart from snapshot + log, and
// damaged files (torn writes, lost unsynced writes, flipped bits) either repaired or refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { arkBin, freePort, startArk, tempDir } from '../helpers/servers.js';
import { runTool } from '../helpers/clitools.js';
import { ZkClient } from '../../src/client/client.js';

import { waitUntil } from '../helpers/wait.js';
import { DATA_SUBDIR } from '../../src/storage/filelog.js';
import { scanSegment } from '../../src/storage/txnlog.js';

const CFG = { snapCount: 200, 'zookeeper.preAllocSize': 64 };

async function populate(srv: InProc, n: number, tag: string): Promise<void> {
  const c = await srv.client();
  await c.create(`/${tag}`, tag);
  const ops: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    ops.push(c.create(`/${tag}/n${i}`, `v${i}`));
    if (i % 3 === 0) ops.push(c.setData(`/${tag}`, `s${i}`));
    if (i % 7 === 6) ops.push(c.delete(`/${tag}/n${i - 3}`));
    // in waves, so that group commits stay small and snapshots happen along the way
    if (i % 50 === 49) {
      await Promise.all(ops.splice(0));
      await srv.server.snapshotIdle();
    }
  }
  await Promise.all(ops);
}

function files(dataDir: string, prefix: string): string[] {
  return readdirSync(join(dataDir, DATA_SUBDIR))
    .filter((f) => f.startsWith(prefix))
    .sort();
}

test('restart_from_snapshot_and_log_rebuilds_the_same_tree', async () => {
  const dataDir = tempDir('snaprestart');
  let srv = await startInProc(CFG, dataDir);
  await populate(srv, 1000, 'a');
  await srv.server.snapshotIdle();
  const digest = srv.server.core.tree.digest;
  const zxid = srv.server.core.lastApplied;
  const count = srv.server.core.tree.nodeCount;
  await srv.stop({ keepData: true });
  assert.ok(files(dataDir, 'snapshot.').length >= 2, 'several snapshots under load');
  assert.ok(files(dataDir, 'log.').length >= 2, 'the log rolls at every snapshot');
  srv = await startInProc(CFG, dataDir);
  try {
    assert.equal(srv.server.core.lastApplied, zxid);
    assert.equal(srv.server.core.tree.nodeCount, count);
    assert.equal(srv.server.core.tree.digest, digest, 'same tree digest after the restart');
    const c = await srv.client();
    assert.equal((await c.getData('/a')).data.toString(), 's999');
    assert.ok((await c.create2('/after', 'x')).stat.czxid > zxid);
  } finally {
    await srv.stop();
  }
});

test('gzip_snapshots_when_configured', async () => {
  const dataDir = tempDir('gz');
  const srv = await startInProc({ ...CFG, 'snapshot.compression.method': 'gz' }, dataDir);
  await populate(srv, 400, 'g');
  await srv.server.snapshotIdle();
  const digest = srv.server.core.tree.digest;
  await srv.stop({ keepData: true });
  assert.ok(files(dataDir, 'snapshot.').some((f) => f.endsWith('.gz')));
  const again = await startInProc(CFG, dataDir);
  assert.equal(again.server.core.tree.digest, digest);
  await again.stop();
});

test('torn_write_at_the_end_of_the_log_is_truncated_and_the_rest_kept', async () => {
  const dataDir = tempDir('torn');
  let srv = await startInProc({ snapCount: 100000 }, dataDir);
  await populate(srv, 50, 't');
  const zxid = srv.server.core.lastApplied;
  await srv.stop({ keepData: true });
  const log = join(dataDir, DATA_SUBDIR, files(dataDir, 'log.').at(-1)!);
  const scan = scanSegment(log, readFileSync(log));
  truncateSync(log, scan.validBytes - 5); // the last record is cut short, as by a crash mid-write
  srv = await startInProc({ snapCount: 100000 }, dataDir);
  try {
    assert.equal(srv.server.core.lastApplied, zxid - 1, 'everything but the torn last txn');
    const c = await srv.client();
    await c.create('/t/new', 'x');
  } finally {
    await srv.stop();
  }
});

test('lost_unsynced_writes_leave_a_consistent_prefix', async () => {
  // a crash loses what was not fsynced: the log simply ends at an earlier record boundary
  const dataDir = tempDir('lost');
  let srv = await startInProc({ snapCount: 100000 }, dataDir);
  await populate(srv, 60, 'l');
  await srv.stop({ keepData: true });
  const log = join(dataDir, DATA_SUBDIR, files(dataDir, 'log.').at(-1)!);
  const buf = readFileSync(log);
  const scan = scanSegment(log, buf);
  // cut at the boundary after record 30 and fill the rest with zeros (preallocated space)
  let offset = 16;
  for (let i = 0; i < 30; i++) offset += 8 + buf.readInt32BE(offset);
  writeFileSync(log, Buffer.concat([buf.subarray(0, offset), Buffer.alloc(buf.length - offset)]));
  srv = await startInProc({ snapCount: 100000 }, dataDir);
  try {
    assert.equal(srv.server.core.lastApplied, scan.records[29]!.hdr.zxid);
  } finally {
    await srv.stop();
  }
});

test('a_flipped_bit_in_the_middle_of_the_log_stops_the_server_naming_file_and_offset', async () => {
  const dataDir = tempDir('flip-log');
  const srv = await startInProc({ snapCount: 100000 }, dataDir);
  await populate(srv, 60, 'f');
  await srv.stop({ keepData: true });
  const log = join(dataDir, DATA_SUBDIR, files(dataDir, 'log.').at(-1)!);
  const buf = readFileSync(log);
  const scan = scanSegment(log, buf);
  buf[Math.floor(scan.validBytes / 2)] = buf[Math.floor(scan.validBytes / 2)]! ^ 0x04;
  writeFileSync(log, buf);
  await assert.rejects(startInProc({ snapCount: 100000 }, dataDir), (e: Error) => {
    assert.match(e.message, /log\.0+1/);
    assert.match(e.message, /offset \d+/);
    assert.match(e.message, /checksum/);
    return true;
  });
});

test('a_flipped_bit_in_the_newest_snapshot_falls_back_to_an_older_one_plus_the_log', async () => {
  const dataDir = tempDir('flip-snap');
  let srv = await startInProc({ ...CFG, 'autopurge.snapRetainCount': 3 }, dataDir);
  await populate(srv, 800, 's');
  await srv.server.snapshotIdle();
  const digest = srv.server.core.tree.digest;
  await srv.stop({ keepData: true });
  const snaps = files(dataDir, 'snapshot.');
  assert.ok(snaps.length >= 2);
  const newest = join(dataDir, DATA_SUBDIR, snaps.at(-1)!);
  const buf = readFileSync(newest);
  buf[Math.floor(buf.length / 2)] = buf[Math.floor(buf.length / 2)]! ^ 0x80;
  writeFileSync(newest, buf);
  srv = await startInProc(CFG, dataDir);
  try {
    assert.equal(srv.server.core.tree.digest, digest, 'nothing lost: older snapshot + log');
  } finally {
    await srv.stop({ keepData: true });
  }
});

test('a_damaged_only_snapshot_without_the_full_log_is_refused', async () => {
  const dataDir = tempDir('flip-only');
  const srv = await startInProc(CFG, dataDir);
  await populate(srv, 300, 'o');
  await srv.server.snapshotIdle();
  await srv.stop({ keepData: true });
  const dir = join(dataDir, DATA_SUBDIR);
  const snaps = files(dataDir, 'snapshot.');
  // keep only the newest snapshot and the log after it, then damage the snapshot
  const { DataDir } = await import('../../src/storage/datadir.js');
  new DataDir(dataDir, dataDir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 65536 }).purge(1);
  const only = join(dir, files(dataDir, 'snapshot.').at(-1)!);
  assert.ok(snaps.length >= 1 && statSync(only).size > 100);
  const buf = readFileSync(only);
  buf[60] = buf[60]! ^ 0xff;
  writeFileSync(only, buf);
  await assert.rejects(startInProc(CFG, dataDir), /no usable snapshot.*checksum mismatch.*Restore from a backup/s);
});

test('a_zookeeper_data_dir_or_another_format_version_is_refused', async () => {
  const zkDir = tempDir('zkdir');
  mkdirSync(join(zkDir, 'version-2'));
  writeFileSync(join(zkDir, 'version-2', 'log.1'), Buffer.alloc(16));
  // the refusal names the import that exists, with this directory filled in
  await assert.rejects(startInProc({}, zkDir), (e: Error) => {
    assert.match(e.message, /Apache ZooKeeper data dir/);
    assert.ok(e.message.includes(`\`ark migrate from-zookeeper --source ${zkDir} --data-dir NEWDIR\``), e.message);
    return true;
  });
  const other = tempDir('otherver');
  mkdirSync(join(other, DATA_SUBDIR));
  const header = Buffer.alloc(40);
  header.write('ARKL', 0, 'latin1');
  header.writeInt32BE(99, 4);
  writeFileSync(join(other, DATA_SUBDIR, 'log.0000000000000001'), header);
  await assert.rejects(startInProc({}, other), /format version 99/);
});

test('soft-quota warnings go on after the server restarts from a snapshot, and after an online restore', { timeout: 60000 }, async () => {
  const adminPort = await freePort();
  const admin = { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' };
  const dataDir = tempDir('quota-warn');
  let srv = await startArk({ dataDir, cfg: { snapCount: 10, ...admin } });
  const exceeded = (out: string): number => (out.match(/Quota exceeded: \/q \[current count=/g) ?? []).length;
  try {
    const c = await ZkClient.connect({ port: srv.port });
    await c.create('/q', null);
    // a soft limit of 2 nodes under /q (zkCli's setquota -n 2 /q writes these two nodes)
    await c.create('/zookeeper/quota/q', null);
    await c.create('/zookeeper/quota/q/zookeeper_limits', 'count=2,bytes=-1');
    await c.create('/zookeeper/quota/q/zookeeper_stats', 'count=1,bytes=0');
    for (let i = 0; i < 20; i++) await c.create(`/filler${i}`, 'x'); // the log replays at the restart below: a snapshot follows
    c.disconnect();
    await srv.stop({ keepData: true });
    srv = await startArk({ dataDir, cfg: { snapCount: 10, ...admin } });
    const d = await ZkClient.connect({ port: srv.port });
    for (let i = 0; i < 3; i++) await d.create(`/q/n${i}`, 'x');
    await waitUntil(() => exceeded(srv.output()) >= 2, 'the soft-quota warnings after a restart');
    // an online restore swaps the tree too
    const file = join(tempDir('quota-backup'), 'b.arkb');
    const made = await runTool(process.execPath, [
      arkBin,
      'backup',
      'create',
      '--admin',
      `http://127.0.0.1:${adminPort}`,
      '--out',
      file,
      '--auth',
      'a:b',
    ]);
    assert.equal(made.code, 0, made.stderr);
    const restored = await runTool(process.execPath, [
      arkBin,
      'restore',
      file,
      '--online',
      '--admin',
      `http://127.0.0.1:${adminPort}`,
      '--auth',
      'a:b',
    ]);
    assert.equal(restored.code, 0, restored.stderr);
    const before = exceeded(srv.output());
    const e = await ZkClient.connect({ port: srv.port });
    await e.create('/q/after-restore', 'x');
    await waitUntil(() => exceeded(srv.output()) > before, 'the soft-quota warning after an online restore');
    d.disconnect();
    e.disconnect();
  } finally {
    await srv.stop();
  }
});
