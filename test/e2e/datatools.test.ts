// The data tools as an operator runs them: `ark data inspect | dump-log | dump-snapshot | verify`
// and `ark purge`, as processes on a data dir a real server wrote, checked against what a client
// reads; then damaged by one flipped byte, and purged and started again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OpCode, OPEN_ACL_UNSAFE, CreateFlag, type Stat } from '../../src/wire/protocol.js';
import type { ZkClient } from '../../src/client/client.js';
import type { DataDirReport, PurgeResult, SnapshotDump, TxnDump, VerifyResult } from '../../src/storage/inspect.js';
import { startInProc } from '../helpers/inproc.js';
import { arkBin, tempDir } from '../helpers/servers.js';
import { describeTool, runTool, type ToolResult } from '../helpers/clitools.js';

const CFG = { snapCount: 50, 'zookeeper.preAllocSize': 64 };
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function ark(...args: string[]): Promise<ToolResult> {
  return runTool(process.execPath, [arkBin, ...args], { timeoutMs: 60000 });
}

/** Every node below "/" except /zookeeper, with data and stat, as a client reads them. */
async function readAll(c: ZkClient): Promise<Map<string, { data: Buffer; stat: Stat }>> {
  const out = new Map<string, { data: Buffer; stat: Stat }>();
  const walk = async (path: string): Promise<void> => {
    out.set(path, await c.getData(path));
    for (const k of (await c.getChildren(path)).sort()) {
      const child = path === '/' ? `/${k}` : `${path}/${k}`;
      if (child !== '/zookeeper') await walk(child);
    }
  };
  await walk('/');
  return out;
}

function copyOf(dir: string, tag: string): string {
  const d = tempDir(`datatools-${tag}`);
  dirs.push(d);
  cpSync(dir, d, { recursive: true });
  return d;
}

function flipByte(file: string, offset: number): void {
  const b = readFileSync(file);
  b[offset] = b[offset]! ^ 0x5a;
  writeFileSync(file, b);
}

/** A data dir written by a server: several snapshots and segments, then a restart that snapshots everything. */
const made = (async () => {
  const dir = tempDir('datatools');
  dirs.push(dir);
  let s = await startInProc(CFG, dir);
  const c = await s.client();
  await c.create('/app', 'root');
  for (let i = 0; i < 150; i++) {
    await c.create(`/app/n${i}`, i % 7 === 0 ? Buffer.from([0, 1, 2, 0xff, i]) : `value ${i}`);
    if (i % 10 === 0) await c.setData(`/app/n${i}`, `changed ${i}`);
    if (i % 9 === 8) await c.delete(`/app/n${i}`);
    await s.server.snapshotIdle();
  }
  await c.multi([
    { type: OpCode.create, req: { path: '/app/multi', data: Buffer.from('m'), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 } },
    { type: OpCode.setData, req: { path: '/app/n1', data: Buffer.from('by multi'), version: -1 } },
  ]);
  await c.create('/eph', 'gone when the session closes', { flags: CreateFlag.EPHEMERAL });
  await c.close();
  await s.stop({ keepData: true });
  // a restart replays the log and snapshots everything it replayed
  s = await startInProc(CFG, dir);
  await s.server.snapshotIdle();
  const reads = await readAll(await s.client());
  await s.stop({ keepData: true });
  return { dir, reads };
})();

async function inspectJson(dir: string): Promise<DataDirReport> {
  const r = await ark('data', 'inspect', '--data-dir', dir, '--json');
  assert.equal(r.code, 0, describeTool(r));
  return JSON.parse(r.stdout) as DataDirReport;
}

test('inspect lists the snapshots and the log segments, as a table and as JSON', async () => {
  const { dir } = await made;
  const names = readdirSync(join(dir, 'ark-v1'));
  const snaps = names.filter((n) => n.startsWith('snapshot.')).sort();
  const segs = names.filter((n) => n.startsWith('log.')).sort();
  assert.ok(snaps.length >= 3, `several snapshots: ${names.join(' ')}`);
  assert.ok(segs.length >= 3, `several segments: ${names.join(' ')}`);

  const text = await ark('data', 'inspect', '--data-dir', dir);
  assert.equal(text.code, 0, describeTool(text));
  for (const n of [...snaps, ...segs]) assert.match(text.stdout, new RegExp(`^  ${n.replace('.', '\\.')}  .* ok$`, 'm'), n);
  assert.match(
    text.stdout,
    new RegExp(`^recovery  load ${snaps[snaps.length - 1]!.replace('.', '\\.')} \\(zxid 0x[0-9a-f]+\\), replay 1 txn from log\\.`, 'm'),
  );

  const r = await inspectJson(dir);
  assert.deepEqual(
    r.snapshots.map((s) => basename(s.file)),
    snaps,
  );
  assert.deepEqual(
    r.segments.map((g) => basename(g.file)),
    segs,
  );
  assert.ok(r.snapshots.every((s) => s.valid && s.nodes! > 4 && s.error === null));
  assert.ok(
    r.segments.every((g) => g.bytes === 16 + 64 * 1024 && g.usedBytes > 16 && g.usedBytes < g.bytes && !g.tornTail && g.error === null),
    'preallocated 64 KiB',
  );
  assert.equal(r.zxidRange.first, '0x1');
  assert.equal(r.zxidRange.last, r.segments[r.segments.length - 1]!.lastZxid);
  assert.equal(r.recovery.snapshot, r.snapshots[r.snapshots.length - 1]!.file);
  assert.equal(r.recovery.error, null);
  assert.deepEqual(r.problems, []);
});

test('dump-log lists every txn: one line each, or a JSON array', async () => {
  const { dir } = await made;
  const r = await inspectJson(dir);
  const first = r.segments[0]!.file;
  const text = await ark('data', 'dump-log', first);
  assert.equal(text.code, 0, describeTool(text));
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines.length, r.segments[0]!.txns);
  for (const l of lines) assert.match(l, /^0x[0-9a-f]+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z session 0x[0-9a-f]+ cxid -?\d+ \w+/);
  assert.match(lines[0]!, /^0x1 .* createSession timeout=\d+ms$/);
  assert.match(lines[1]!, /^0x2 .* create \/app data="root" acl=world:anyone:cdrwa parentCVersion=1$/);
  assert.match(text.stdout, /create \/app\/n0 data=base64:AAEC\/wA= /);
  assert.match(text.stdout, /setData \/app\/n0 data="changed 0" version=1/);

  const all: TxnDump[] = [];
  for (const g of r.segments) {
    const j = await ark('data', 'dump-log', g.file, '--json');
    assert.equal(j.code, 0, describeTool(j));
    all.push(...(JSON.parse(j.stdout) as TxnDump[]));
  }
  const creates = all.filter((t) => t.type === 'create').map((t) => t.path);
  for (let i = 0; i < 150; i++) assert.ok(creates.includes(`/app/n${i}`), `/app/n${i}`);
  assert.ok(all.some((t) => t.type === 'delete' && t.path === '/app/n8'));
  const multi = all.find((t) => t.type === 'multi');
  assert.deepEqual(
    multi?.ops?.map((o) => [o.type, o.path, o.data]),
    [
      ['create', '/app/multi', 'm'],
      ['setData', '/app/n1', 'by multi'],
    ],
  );
  const eph = all.find((t) => t.path === '/eph');
  assert.equal(eph?.ephemeral, true);
  assert.ok(all.some((t) => t.type === 'closeSession' && t.sessionId === eph.sessionId && t.paths2Delete?.includes('/eph')));
  // zxids run without a gap across all segments
  for (const [i, t] of all.entries()) assert.equal(t.zxid, `0x${(i + 1).toString(16)}`);
});

test('dump-snapshot shows every node with the stat a client reads', async () => {
  const { dir, reads } = await made;
  const r = await inspectJson(dir);
  const newest = r.snapshots[r.snapshots.length - 1]!.file;
  const j = await ark('data', 'dump-snapshot', newest, '--json');
  assert.equal(j.code, 0, describeTool(j));
  const snap = JSON.parse(j.stdout) as SnapshotDump;
  assert.equal(snap.zxid, r.snapshots[r.snapshots.length - 1]!.zxid);
  const inSnap = new Map(snap.nodes.map((n) => [n.path, n]));
  assert.ok(!inSnap.has('/eph'), 'the ephemeral went with its session');
  assert.ok(reads.size > 100);
  for (const [path, read] of reads) {
    const n = inSnap.get(path);
    assert.ok(n, path);
    const data = n.data === null ? Buffer.alloc(0) : Buffer.from(n.data, n.dataEncoding === 'base64' ? 'base64' : 'utf8');
    assert.deepEqual(data, read.data, path);
    const st = read.stat;
    const hex = (z: number): string => `0x${z.toString(16)}`;
    assert.deepEqual(
      n.stat,
      {
        czxid: hex(st.czxid),
        mzxid: hex(st.mzxid),
        pzxid: hex(st.pzxid),
        ctime: st.ctime,
        mtime: st.mtime,
        version: st.version,
        cversion: (st.cversion + st.numChildren) / 2,
        aversion: st.aversion,
        ephemeralOwner: '0x0',
        dataLength: st.dataLength,
        numChildren: st.numChildren,
      },
      `${path}: the stored cversion is (visible + numChildren) / 2`,
    );
    assert.deepEqual(n.acl, ['world:anyone:cdrwa']);
  }

  const text = await ark('data', 'dump-snapshot', newest);
  assert.equal(text.code, 0, describeTool(text));
  assert.match(text.stdout, /^zxid 0x[0-9a-f]+ {2}time \S+ {2}nodes \d+/m);
  assert.match(text.stdout, /^\/\n/m);
  assert.match(text.stdout, /^ {2}\/app\n {4}data "root" {2}acl world:anyone:cdrwa\n {4}czxid 0x2 /m);
  assert.match(text.stdout, /^ {4}\/app\/n1\n {6}data "by multi"/m);
  assert.match(text.stdout, /^ {6}version 1 {2}cversion 0 {2}aversion 0 {2}ephemeralOwner 0x0 {2}dataLength 8 {2}numChildren 0$/m);
});

test('verify exits 0 on an intact dir, 3 naming the file after one flipped byte in a file recovery does not need, 1 where start-up refuses', async () => {
  const { dir } = await made;
  const ok = await ark('data', 'verify', '--data-dir', dir);
  assert.equal(ok.code, 0, describeTool(ok));
  assert.match(ok.stdout, /^intact: \d+ snapshots, \d+ log segments checked$/m);
  const okJson = await ark('data', 'verify', '--data-dir', dir, '--json');
  assert.equal(okJson.code, 0);
  assert.equal((JSON.parse(okJson.stdout) as VerifyResult).ok, true);

  const r = await inspectJson(dir);
  // one byte in the middle of the records of a segment (one older than the newest snapshot)
  {
    const seg = r.segments.slice(0, -1).reduce((a, b) => (b.txns > a.txns ? b : a));
    const d = copyOf(dir, 'badlog');
    const file = join(d, 'ark-v1', basename(seg.file));
    flipByte(file, Math.floor(seg.usedBytes / 2));
    const v = await ark('data', 'verify', '--data-dir', d);
    assert.equal(v.code, 3, describeTool(v));
    assert.match(v.stdout, new RegExp(`^problem: ${file.replace(/[.]/g, '\\.')}: .*offset \\d+\\. Recovery does not read it`, 'm'));
    assert.match(
      v.stdout,
      /^DAMAGED, but the server starts \(recovery does not need the damaged files\): 1 problem in \d+ snapshots, \d+ log segments/m,
    );
    const j = JSON.parse((await ark('data', 'verify', '--data-dir', d, '--json')).stdout) as VerifyResult;
    assert.equal(j.ok, false);
    assert.equal(j.startup, 'starts');
    assert.ok(j.problems[0]!.includes(file));
    // dump-log of that segment shows what comes before the damage and fails
    const dl = await ark('data', 'dump-log', file);
    assert.equal(dl.code, 1);
    assert.match(dl.stderr, new RegExp(`^ark data dump-log: ${file.replace(/[.]/g, '\\.')}: offset \\d+: `));
    assert.doesNotMatch(dl.stderr, /\n\s+at /, 'no stack trace');
  }
  // one byte in the middle of the file: the zero fill after the last record
  {
    const seg = r.segments[0]!;
    const d = copyOf(dir, 'badfill');
    const file = join(d, 'ark-v1', basename(seg.file));
    flipByte(file, Math.floor(seg.bytes / 2));
    const v = await ark('data', 'verify', '--data-dir', d);
    assert.equal(v.code, 3, describeTool(v));
    assert.match(
      v.stdout,
      new RegExp(`^problem: ${file.replace(/[.]/g, '\\.')}: data after the zero-filled end of the log at offset ${seg.usedBytes}\\.`, 'm'),
    );
  }
  // the same in the segment recovery reads: start-up refuses, and so does verify's verdict
  {
    const seg = r.segments[r.segments.length - 1]!;
    const d = copyOf(dir, 'badtail');
    const file = join(d, 'ark-v1', basename(seg.file));
    flipByte(file, Math.floor(seg.bytes / 2));
    const v = await ark('data', 'verify', '--data-dir', d);
    assert.equal(v.code, 1, describeTool(v));
    assert.match(
      v.stdout,
      new RegExp(
        `^problem: ${file.replace(/[.]/g, '\\.')}: data after the zero-filled end of the log at offset ${seg.usedBytes}\\. Ark will not guess`,
        'm',
      ),
    );
    assert.match(v.stdout, /^DAMAGED: the server refuses to start on this dir; 1 problem in /m);
  }
  // one byte in the middle of a snapshot
  {
    const snap = r.snapshots[r.snapshots.length - 1]!;
    const d = copyOf(dir, 'badsnap');
    const file = join(d, 'ark-v1', basename(snap.file));
    flipByte(file, Math.floor(snap.bytes / 2));
    const v = await ark('data', 'verify', '--data-dir', d);
    assert.equal(v.code, 3, `an older snapshot and the log recover it: ${describeTool(v)}`);
    assert.match(v.stdout, new RegExp(`^problem: ${file.replace(/[.]/g, '\\.')}: checksum mismatch`, 'm'));
    const ds = await ark('data', 'dump-snapshot', file);
    assert.equal(ds.code, 1);
    assert.equal(ds.stderr.trim().split('\n').length, 1, 'one line');
    assert.match(ds.stderr, new RegExp(`^ark data dump-snapshot: ${file.replace(/[.]/g, '\\.')}: checksum mismatch`));
  }
});

test('purge --keep 1 removes older snapshots and unneeded segments; the server starts with all data', async () => {
  const { dir, reads } = await made;
  const d = copyOf(dir, 'purge');
  const before = await inspectJson(d);
  const p = await ark('purge', '--data-dir', d, '--keep', '1');
  assert.equal(p.code, 0, describeTool(p));
  assert.match(p.stderr, /warning: keeping only 1 snapshot/);
  const after = await inspectJson(d);
  assert.equal(after.snapshots.length, 1);
  assert.equal(after.snapshots[0]!.file, before.snapshots[before.snapshots.length - 1]!.file);
  assert.deepEqual(
    after.segments.map((g) => g.file),
    before.recovery.segments,
    'exactly the segments recovery reads are kept',
  );
  const removed = p.stdout
    .split('\n')
    .filter((l) => l.startsWith('removed /'))
    .map((l) => l.slice('removed '.length));
  assert.deepEqual(
    removed.sort(),
    [
      ...before.snapshots.slice(0, -1).map((s) => s.file),
      ...before.segments.map((g) => g.file).filter((f) => !before.recovery.segments.includes(f)),
    ].sort(),
  );
  const v = await ark('data', 'verify', '--data-dir', d);
  assert.equal(v.code, 0, describeTool(v));

  const s = await startInProc(CFG, d);
  try {
    const now = await readAll(await s.client());
    assert.deepEqual([...now.keys()].sort(), [...reads.keys()].sort());
    for (const [path, read] of reads) {
      assert.deepEqual(now.get(path)!.data, read.data, path);
      assert.equal(now.get(path)!.stat.mzxid, read.stat.mzxid, path);
    }
  } finally {
    await s.stop({ keepData: true });
  }
});

test('purge --json prints what it removed and kept as one document, warnings included', async () => {
  const { dir } = await made;
  const d = copyOf(dir, 'purge-json');
  const before = await inspectJson(d);
  const p = await ark('purge', '--data-dir', d, '--keep', '2', '--json');
  assert.equal(p.code, 0, describeTool(p));
  assert.equal(p.stderr, '', 'the warning is in the document');
  const r = JSON.parse(p.stdout) as PurgeResult;
  assert.deepEqual(Object.keys(r).sort(), ['keptSnapshots', 'removed', 'warnings']);
  const after = await inspectJson(d);
  assert.deepEqual([...r.keptSnapshots].sort(), after.snapshots.map((s) => s.file).sort());
  assert.deepEqual(
    [...r.keptSnapshots].sort(),
    before.snapshots
      .slice(-2)
      .map((s) => s.file)
      .sort(),
    'the newest two',
  );
  const present = new Set([...after.snapshots.map((s) => s.file), ...after.segments.map((g) => g.file)]);
  const earlier = [...before.snapshots.map((s) => s.file), ...before.segments.map((g) => g.file)];
  assert.deepEqual([...r.removed].sort(), earlier.filter((f) => !present.has(f)).sort());
  assert.ok(r.removed.length > 0);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /^keeping only 2 snapshots/);
});

test('usage errors exit 2 with one line and no stack trace', async () => {
  const { dir } = await made;
  const empty = tempDir('datatools-notark');
  dirs.push(empty);
  const cases: Array<{ args: string[]; message: RegExp }> = [
    {
      args: ['data', 'verify', '--data-dir', empty],
      message: /^ark data verify: --data-dir .*: not an Ark data dir \(it has no ark-v1\/ subdirectory\)$/,
    },
    { args: ['data', 'inspect', '--data-dir', join(empty, 'missing')], message: /no such directory$/ },
    { args: ['data', 'dump-log', join(empty, 'log.0000000000000001')], message: /^ark data dump-log: .*: no such file$/ },
    {
      args: ['data', 'dump-snapshot', join(dir, 'ark-v1', readdirSync(join(dir, 'ark-v1')).find((n) => n.startsWith('log.'))!)],
      message: /not an Ark snapshot \(it is an Ark txn log segment\); use `ark data dump-log`$/,
    },
    { args: ['purge', '--data-dir', empty, '--keep', '3'], message: /^ark purge: --data-dir .*: not an Ark data dir/ },
    { args: ['purge', '--data-dir', dir, '--keep', '0'], message: /^ark purge: --keep 0: purge must keep at least 1 snapshot/ },
    { args: ['purge', '--data-dir', dir, '--keep', 'many'], message: /^ark purge: --keep many: not a number/ },
    { args: ['purge', '--data-dir', empty, '--keep', '3', '--json'], message: /^ark purge: --data-dir .*: not an Ark data dir/ },
    { args: ['data', 'verify'], message: /required option '--data-dir <dir>' not specified/ },
  ];
  for (const c of cases) {
    const r = await ark(...c.args);
    assert.equal(r.code, 2, `${c.args.join(' ')}: ${describeTool(r)}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${c.args.join(' ')}: one line: ${r.stderr}`);
    assert.match(r.stderr.trim(), c.message, c.args.join(' '));
  }
  assert.equal((await inspectJson(dir)).snapshots.length >= 3, true, 'the refused purges removed nothing');
});
