// The data-dir tools (src/storage/inspect.ts) on data dirs built byte by byte with the storage
// encoders (test/helpers/datadirs.ts: gaps, torn tails and damage sit exactly where a test wants
// them), and once on a data dir written by a real in-process server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpCode, OPEN_ACL_UNSAFE, Perms, type ACL } from '../../src/wire/protocol.js';
import { CONTAINER_OWNER, ttlOwner, type TxnHeader } from '../../src/wire/txn.js';
import { ErrorCode } from '../../src/util/errors.js';
import {
  DataToolError,
  aclString,
  dumpLog,
  dumpSnapshot,
  inspectDataDir,
  permString,
  purgeDataDir,
  showData,
  verifyDataDir,
} from '../../src/storage/inspect.js';
import { startInProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/servers.js';
import { SESSION, T0, build, encodeSegment, fingerprint, flip, type Built, type Rec } from '../helpers/datadirs.js';

test('formatting: data as utf8 or base64, ACLs as scheme:id:perms', () => {
  assert.deepEqual(showData(Buffer.from('héllo\nworld')), { data: 'héllo\nworld', dataEncoding: 'utf8' });
  assert.deepEqual(showData(Buffer.from([0, 1, 0xff])), { data: 'AAH/', dataEncoding: 'base64' });
  assert.deepEqual(showData(Buffer.from([0xc3])), { data: 'ww==', dataEncoding: 'base64' }, 'invalid UTF-8 is binary');
  assert.deepEqual(showData(Buffer.alloc(0)), { data: '', dataEncoding: 'utf8' });
  assert.deepEqual(showData(null), { data: null, dataEncoding: null });
  assert.equal(permString(Perms.ALL), 'cdrwa');
  assert.equal(permString(Perms.READ | Perms.ADMIN), 'ra');
  const acl: ACL = { perms: Perms.READ | Perms.WRITE, id: { scheme: 'digest', id: 'bob:abc=' } };
  assert.equal(aclString(acl), 'digest:bob:abc=:rw');
});

test('dumpLog: every txn type in readable form, multi sub-ops included', () => {
  const dir = tempDir('dumplog');
  try {
    const h = (zxid: number, type: number): TxnHeader => ({ sessionId: SESSION, cxid: zxid + 100, zxid, time: T0 + zxid, type });
    const recs: Rec[] = [
      { hdr: h(1, OpCode.createSession), txn: { type: OpCode.createSession, timeOutMs: 5000 } },
      {
        hdr: h(2, OpCode.create2),
        txn: {
          type: OpCode.create2,
          path: '/e',
          data: Buffer.from('eph'),
          acl: OPEN_ACL_UNSAFE,
          ephemeralOwner: SESSION,
          parentCVersion: 1,
        },
      },
      {
        hdr: h(3, OpCode.createContainer),
        txn: {
          type: OpCode.createContainer,
          path: '/c',
          data: null,
          acl: OPEN_ACL_UNSAFE,
          ephemeralOwner: CONTAINER_OWNER,
          parentCVersion: 2,
        },
      },
      {
        hdr: h(4, OpCode.createTTL),
        txn: {
          type: OpCode.createTTL,
          path: '/t',
          data: Buffer.from([9, 0]),
          acl: OPEN_ACL_UNSAFE,
          ephemeralOwner: ttlOwner(60000),
          parentCVersion: 3,
        },
      },
      {
        hdr: h(5, OpCode.setACL),
        txn: { type: OpCode.setACL, path: '/t', acl: [{ perms: Perms.READ, id: { scheme: 'ip', id: '10.0.0.1' } }], version: 0 },
      },
      {
        hdr: h(6, OpCode.multi),
        txn: {
          type: OpCode.multi,
          txns: [
            { type: OpCode.check, path: '/c', version: 0 },
            { type: OpCode.setData, path: '/c', data: Buffer.from('x'), version: 1 },
            { type: OpCode.delete, path: '/t' },
          ],
        },
      },
      { hdr: h(7, OpCode.error), txn: { type: OpCode.error, err: ErrorCode.NodeExists } },
      { hdr: h(8, OpCode.closeSession), txn: { type: OpCode.closeSession, paths2Delete: ['/e'] } },
    ];
    const file = join(dir, 'log.0000000000000001');
    writeFileSync(file, encodeSegment(1, recs, 100).buf);
    const d = dumpLog(file);
    assert.equal(d.damage, null);
    assert.equal(d.tornTailAt, null);
    assert.equal(d.firstZxid, '0x1');
    assert.equal(d.bytes - d.usedBytes, 100, 'the preallocated zeros are not used bytes');
    assert.equal(d.records.length, 8);
    const [cs, e, c, t, sa, m, er, cl] = d.records;
    assert.deepEqual(cs, {
      zxid: '0x1',
      time: new Date(T0 + 1).toISOString(),
      sessionId: '0x1000abcd00000001',
      cxid: 101,
      type: 'createSession',
      timeoutMs: 5000,
    });
    assert.equal(e!.type, 'create2');
    assert.equal(e!.path, '/e');
    assert.equal(e!.data, 'eph');
    assert.equal(e!.ephemeral, true);
    assert.deepEqual(e!.acl, ['world:anyone:cdrwa']);
    assert.equal(c!.type, 'createContainer');
    assert.equal(c!.data, null);
    assert.equal(t!.ttlMs, 60000);
    assert.equal(t!.data, 'CQA=');
    assert.equal(t!.dataEncoding, 'base64');
    assert.deepEqual(sa!.acl, ['ip:10.0.0.1:r']);
    assert.deepEqual(m!.ops, [
      { type: 'check', path: '/c', version: 0 },
      { type: 'setData', path: '/c', data: 'x', dataEncoding: 'utf8', version: 1 },
      { type: 'delete', path: '/t' },
    ]);
    assert.equal(er!.err, 'NodeExists');
    assert.equal(er!.errCode, ErrorCode.NodeExists);
    assert.deepEqual(cl!.paths2Delete, ['/e']);
    assert.equal(JSON.parse(JSON.stringify(d.records)).length, 8, 'JSON-ready');

    // damage in the middle: the records before it, and where
    const { offsets } = encodeSegment(1, recs, 100);
    flip(file, offsets[4]! + 20);
    const bad = dumpLog(file);
    assert.equal(bad.damage?.offset, offsets[4]);
    assert.match(bad.damage!.what, /^record checksum mismatch while whole records follow \(zxid 0x6 at offset \d+\)$/);
    assert.deepEqual(bad.resumedAt, { offset: offsets[5], index: 4 }, 'the whole records after the damage are shown too');
    assert.deepEqual(
      bad.records.map((r) => r.zxid),
      ['0x1', '0x2', '0x3', '0x4', '0x6', '0x7', '0x8'],
    );

    // not a log segment
    const other = join(dir, 'other');
    writeFileSync(other, 'hello world, not a log');
    assert.throws(
      () => dumpLog(other),
      (e: unknown) => e instanceof DataToolError && e.usage && /not an Ark txn log segment/.test(e.message),
    );
    assert.throws(
      () => dumpLog(join(dir, 'missing')),
      (e: unknown) => e instanceof DataToolError && e.usage && /no such file/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dumpSnapshot: header, nodes in pre-order with the stored cversion and the raw owner', () => {
  const b = build(30, [1], [30]);
  try {
    const d = dumpSnapshot(b.snaps[0]!.file);
    assert.equal(d.zxid, '0x1e');
    assert.equal(d.time, new Date(T0 + 30_000).toISOString());
    assert.deepEqual(d.sessions, [{ id: '0x1000abcd00000001', timeoutMs: 30000 }]);
    assert.equal(d.nodes[0]!.path, '/');
    assert.equal(d.nodes.length, d.nodeCount);
    const paths = d.nodes.map((n) => n.path);
    assert.deepEqual(paths.slice(0, 3), ['/', '/app', '/app/c11'], 'pre-order, children sorted by name');
    const zk = paths.indexOf('/zookeeper');
    assert.deepEqual(paths.slice(zk, zk + 3), ['/zookeeper', '/zookeeper/config', '/zookeeper/quota']);
    const app = d.nodes.find((n) => n.path === '/app')!;
    assert.equal(app.depth, 1);
    assert.equal(app.dataEncoding, 'base64');
    const kids = d.nodes.filter((n) => n.path.startsWith('/app/')).length;
    assert.equal(app.stat.numChildren, kids);
    assert.equal(app.stat.cversion, kids, 'stored cversion = child creates (a client would see 2*cversion - numChildren)');
    assert.equal(app.stat.version, 6);
    assert.equal(app.stat.czxid, '0x2');
    assert.equal(app.stat.mzxid, '0x1e');
    assert.equal(app.stat.pzxid, '0x1d');
    assert.equal(app.stat.ctime, T0 + 2000);
    assert.equal(app.stat.ephemeralOwner, '0x0');
    assert.deepEqual(app.acl, ['world:anyone:cdrwa']);
    const c3 = d.nodes.find((n) => n.path === '/app/c3')!;
    assert.equal(c3.depth, 2);
    assert.equal(c3.data, 'v3');
    assert.equal(c3.stat.dataLength, 2);
    // damaged: one clear error naming the file
    flip(b.snaps[0]!.file, 100);
    assert.throws(
      () => dumpSnapshot(b.snaps[0]!.file),
      (e: unknown) => e instanceof DataToolError && !e.usage && e.message.includes(b.snaps[0]!.file),
    );
    assert.throws(
      () => dumpSnapshot(b.segs[0]!.file),
      (e: unknown) => e instanceof DataToolError && e.usage && /dump-log/.test(e.message),
    );
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
});

test('inspectDataDir: snapshots, segments, zxid range and the recovery plan; reads only', () => {
  const b = build(100, [1, 40, 80], [35, 75], { zeros: 4096 });
  try {
    // a torn record at the end of the last segment: recovery with repair would cut it; inspect must not
    const last = b.segs[2]!;
    const buf = readFileSync(last.file);
    const end = buf.length - 4096;
    writeFileSync(last.file, Buffer.concat([buf.subarray(0, end), Buffer.from([0, 0, 0, 50, 1, 2, 3, 4, 5, 6]), Buffer.alloc(100)]));
    const before = fingerprint(b.sub);
    const r = inspectDataDir(b.dir);
    assert.deepEqual(fingerprint(b.sub), before, 'nothing changed');
    assert.equal(r.snapDir, b.sub);
    assert.deepEqual(
      r.snapshots.map((s) => [s.zxid, s.valid, s.nodes, s.sessions, s.compressed]),
      [
        ['0x23', true, 31, 1, false],
        ['0x4b', true, 63, 1, false],
      ],
    );
    assert.match(r.snapshots[0]!.digest!, /^0x[0-9a-f]+$/);
    assert.deepEqual(
      r.segments.map((g) => [g.firstZxid, g.lastZxid, g.txns, g.tornTail]),
      [
        ['0x1', '0x27', 39, false],
        ['0x28', '0x4f', 40, false],
        ['0x50', '0x64', 21, true],
      ],
    );
    assert.equal(r.segments[0]!.bytes - r.segments[0]!.usedBytes, 4096);
    assert.equal(r.segments[2]!.usedBytes, end);
    assert.deepEqual(r.zxidRange, { first: '0x1', last: '0x64' });
    assert.equal(r.recovery.snapshot, b.snaps[1]!.file);
    assert.equal(r.recovery.txns, 100 - 75);
    assert.equal(r.recovery.lastZxid, '0x64');
    assert.deepEqual(r.recovery.segments, [b.segs[1]!.file, b.segs[2]!.file]);
    assert.deepEqual(r.recovery.truncateAt, { file: last.file, offset: end, why: 'its last 48 bytes were never written (zeros)' });
    assert.equal(r.recovery.error, null);
    assert.deepEqual(r.problems, []);
    assert.equal(r.warnings.length, 1);
    const v = verifyDataDir(b.dir);
    assert.equal(v.ok, true, v.problems.join('\n'));
    assert.match(v.warnings[0]!, /log\.0000000000000050.*offset/);
    assert.deepEqual(fingerprint(b.sub), before, 'verify changed nothing either');
    // pointing at ark-v1 itself works too
    assert.equal(inspectDataDir(b.sub).snapshots.length, 2);
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
});

test('verifyDataDir: an intact dir is ok; each kind of damage is a problem naming the file and offset, with the verdict start-up acts on', () => {
  const fresh = (): Built => build(100, [1, 40, 80], [35, 75]);
  const cases: Array<{ name: string; damage: (b: Built) => void; expect: (b: Built) => RegExp; startup: 'starts' | 'refuses' }> = [
    {
      name: 'bad checksum in a middle segment',
      damage: (b) => flip(b.segs[1]!.file, b.segs[1]!.offsets[10]! + 30),
      expect: (b) =>
        new RegExp(
          `${b.segs[1]!.file}: record checksum mismatch while whole records follow \\(zxid 0x33 at offset ${b.segs[1]!.offsets[11]}\\) at offset ${b.segs[1]!.offsets[10]}\\. Ark will not guess`,
        ),
      startup: 'refuses',
    },
    {
      name: 'bad checksum in an old segment recovery does not read',
      damage: (b) => flip(b.segs[0]!.file, b.segs[0]!.offsets[5]! + 30),
      expect: (b) =>
        new RegExp(
          `${b.segs[0]!.file}: record checksum mismatch while whole records follow .* at offset ${b.segs[0]!.offsets[5]}\\. Recovery does not read it`,
        ),
      startup: 'starts',
    },
    {
      name: 'a record length damaged in the last segment (looks torn, but valid records follow)',
      damage: (b) => flip(b.segs[2]!.file, b.segs[2]!.offsets[3]! + 2),
      expect: (b) =>
        new RegExp(
          `${b.segs[2]!.file}: record length \\d+ runs past the end of the file while whole records follow \\(zxid 0x54 at offset ${b.segs[2]!.offsets[4]}\\) at offset ${b.segs[2]!.offsets[3]}`,
        ),
      startup: 'refuses',
    },
    {
      name: 'a damaged snapshot',
      damage: (b) => flip(b.snaps[1]!.file, 200),
      expect: (b) => new RegExp(`${b.snaps[1]!.file}: checksum mismatch.*uses snapshot\\.0000000000000023`),
      startup: 'starts',
    },
    {
      name: 'a missing segment',
      damage: (b) => rmSync(b.segs[1]!.file),
      expect: (b) =>
        new RegExp(
          `${b.segs[2]!.file} does not carry on from log\\.0000000000000001: the log jumps from zxid 0x27 to 0x50: zxids 0x28\\.\\.0x4f are missing`,
        ),
      startup: 'refuses',
    },
    {
      name: 'zero fill overwritten',
      damage: (b) => flip(b.segs[2]!.file, statSync(b.segs[2]!.file).size - 10),
      expect: (b) => new RegExp(`${b.segs[2]!.file}: data after the zero-filled end of the log at offset \\d+`),
      startup: 'refuses',
    },
  ];
  const ok = fresh();
  try {
    const v = verifyDataDir(ok.dir);
    assert.deepEqual(v, { ok: true, startup: 'starts', problems: [], warnings: [], checked: { snapshots: 2, segments: 3 } });
  } finally {
    rmSync(ok.dir, { recursive: true, force: true });
  }
  for (const c of cases) {
    const b = fresh();
    try {
      c.damage(b);
      const before = fingerprint(b.sub);
      const v = verifyDataDir(b.dir);
      assert.equal(v.ok, false, c.name);
      assert.equal(v.startup, c.startup, c.name);
      assert.ok(
        v.problems.some((p) => c.expect(b).test(p)),
        `${c.name}:\n${v.problems.join('\n')}`,
      );
      assert.deepEqual(fingerprint(b.sub), before, `${c.name}: verify changed nothing`);
    } finally {
      rmSync(b.dir, { recursive: true, force: true });
    }
  }
});

test('verifyDataDir: a last record cut short is a warning; one written whole but failing its checksum is damage start-up refuses', () => {
  const big = (zxid: number): Rec => ({
    hdr: { sessionId: SESSION, cxid: zxid, zxid, time: T0, type: OpCode.setData },
    txn: { type: OpCode.setData, path: '/app', data: Buffer.alloc(3000, 0x41), version: 1 },
  });
  for (const kind of ['cut', 'flipped'] as const) {
    const b = build(10, [1], []);
    try {
      const seg = b.segs[0]!;
      const recs = [...seg.recs, big(11)];
      const { buf, offsets } = encodeSegment(1, recs, 4096);
      const start = offsets[offsets.length - 1]!;
      if (kind === 'cut') buf.fill(0, Math.ceil((start + 100) / 512) * 512, start + 8 + buf.readInt32BE(start));
      else buf[start + 1000] = buf[start + 1000]! ^ 1;
      writeFileSync(seg.file, buf);
      const v = verifyDataDir(b.dir);
      if (kind === 'cut') {
        assert.equal(v.ok, true, `${kind}: ${v.problems.join('\n')}`);
        assert.equal(v.warnings.length, 1, kind);
        assert.match(
          v.warnings[0]!,
          new RegExp(
            `ends in a record cut short at offset ${start} \\(its last \\d+ bytes were never written \\(zeros\\)\\): a crash mid-write`,
          ),
        );
        assert.equal(inspectDataDir(b.dir).recovery.lastZxid, '0xa');
      } else {
        assert.equal(v.startup, 'refuses', kind);
        assert.match(
          v.problems[0]!,
          new RegExp(
            `${seg.file}: record checksum mismatch in a record that is completely written .* at offset ${start}\\. .*ark data truncate-log --data-dir ${b.dir} --at log\\.0000000000000001:${start}`,
          ),
        );
        assert.match(inspectDataDir(b.dir).recovery.error!, /record checksum mismatch/);
      }
    } finally {
      rmSync(b.dir, { recursive: true, force: true });
    }
  }
});

test('verifyDataDir: a gap right after the snapshot, and a log that does not start at zxid 1 without snapshots', () => {
  const b = build(60, [1, 41], [30], { drop: (z) => z > 30 && z < 41 });
  try {
    const v = verifyDataDir(b.dir);
    assert.equal(v.ok, false);
    assert.equal(v.startup, 'refuses');
    assert.ok(
      v.problems.some((p) =>
        /log\.0000000000000029 does not carry on from log\.0000000000000001: the log jumps from zxid 0x1e to 0x29: zxids 0x1f\.\.0x28 are missing/.test(
          p,
        ),
      ),
      v.problems.join('\n'),
    );
    assert.match(inspectDataDir(b.dir).recovery.error ?? '', /missing/);
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
  const c = build(60, [1, 41], []);
  try {
    rmSync(c.segs[0]!.file);
    const v = verifyDataDir(c.dir);
    assert.equal(v.ok, false);
    assert.equal(v.startup, 'refuses');
    assert.ok(
      v.problems.some((p) => /there is no snapshot and the log jumps from zxid 0x0 to 0x29: zxids 0x1\.\.0x28 are missing/.test(p)),
      v.problems.join('\n'),
    );
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});

test('the directory must be an Ark data dir', () => {
  const dir = tempDir('notark');
  try {
    assert.throws(
      () => verifyDataDir(dir),
      (e: unknown) => e instanceof DataToolError && e.usage && /not an Ark data dir/.test(e.message),
    );
    mkdirSync(join(dir, 'version-2'));
    assert.throws(
      () => inspectDataDir(dir),
      (e: unknown) => e instanceof DataToolError && /Apache ZooKeeper data dir/.test(e.message),
    );
    assert.throws(
      () => purgeDataDir(dir, undefined, 3),
      (e: unknown) => e instanceof DataToolError && e.usage,
    );
    assert.throws(
      () => verifyDataDir(join(dir, 'nope')),
      (e: unknown) => e instanceof DataToolError && /no such directory/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('purgeDataDir: keeps the newest N snapshots and the log after them; refuses to keep a damaged one', () => {
  const b = build(100, [1, 40, 80], [35, 39, 75]);
  try {
    assert.throws(
      () => purgeDataDir(b.dir, undefined, 0),
      (e: unknown) => e instanceof DataToolError && e.usage,
    );
    const r = purgeDataDir(b.dir, undefined, 1);
    assert.match(r.warnings[0]!, /at least 3/);
    assert.deepEqual(r.keptSnapshots, [b.snaps[2]!.file]);
    assert.deepEqual(r.removed.sort(), [b.snaps[0]!.file, b.snaps[1]!.file, b.segs[0]!.file].sort());
    assert.equal(verifyDataDir(b.dir).ok, true);
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
  const c = build(100, [1, 40, 80], [35, 75]);
  try {
    flip(c.snaps[1]!.file, 50);
    const before = fingerprint(c.sub);
    assert.throws(
      () => purgeDataDir(c.dir, undefined, 1),
      (e: unknown) => e instanceof DataToolError && /refusing to purge.*snapshot\.000000000000004b/.test(e.message),
    );
    assert.deepEqual(fingerprint(c.sub), before);
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});

test('a data dir written by a real server: verify is ok and the newest snapshot matches what a client reads', async () => {
  const dir = tempDir('inspect-real');
  try {
    let s = await startInProc({ snapCount: 20, 'zookeeper.preAllocSize': 16 }, dir);
    let c = await s.client();
    await c.create('/r', 'root');
    for (let i = 0; i < 40; i++) {
      await c.create(`/r/k${i}`, `d${i}`);
      if (i % 3 === 0) await c.setData(`/r/k${i}`, Buffer.from([i, 0, 255]));
      if (i % 4 === 0) await c.delete(`/r/k${i}`);
      await s.server.snapshotIdle();
    }
    await s.stop({ keepData: true });
    // a restart snapshots everything it replayed
    s = await startInProc({ snapCount: 20, 'zookeeper.preAllocSize': 16 }, dir);
    await s.server.snapshotIdle();
    c = await s.client();
    const kids = await c.getChildren('/r');
    const reads = new Map<string, { data: Buffer; stat: import('../../src/wire/protocol.js').Stat }>();
    for (const p of ['/r', ...kids.map((k) => `/r/${k}`)]) reads.set(p, await c.getData(p));
    await s.stop({ keepData: true });

    const v = verifyDataDir(dir);
    assert.equal(v.ok, true, v.problems.join('\n'));
    const r = inspectDataDir(dir);
    assert.ok(r.snapshots.length >= 2, 'several snapshots');
    assert.ok(r.segments.length >= 2, 'several segments');
    assert.ok(
      r.segments.every((g) => g.bytes >= 16 * 1024 && g.usedBytes < g.bytes),
      'preallocated',
    );
    const newest = r.snapshots[r.snapshots.length - 1]!;
    const snap = dumpSnapshot(newest.file);
    for (const [path, read] of reads) {
      const n = snap.nodes.find((x) => x.path === path);
      assert.ok(n, path);
      assert.deepEqual(n.data === null ? null : Buffer.from(n.data, n.dataEncoding === 'base64' ? 'base64' : 'utf8'), read.data, path);
      const st = read.stat;
      assert.deepEqual(
        { ...n.stat, cversion: 2 * n.stat.cversion - n.stat.numChildren },
        {
          czxid: `0x${st.czxid.toString(16)}`,
          mzxid: `0x${st.mzxid.toString(16)}`,
          pzxid: `0x${st.pzxid.toString(16)}`,
          ctime: st.ctime,
          mtime: st.mtime,
          version: st.version,
          cversion: st.cversion,
          aversion: st.aversion,
          ephemeralOwner: '0x0',
          dataLength: st.dataLength,
          numChildren: st.numChildren,
        },
        path,
      );
    }
    const creates = r.segments
      .flatMap((g) => dumpLog(g.file).records)
      .filter((t) => t.type === 'create')
      .map((t) => t.path);
    assert.ok(creates.includes('/r/k39'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
