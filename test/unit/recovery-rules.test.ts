// Recovery and snapshot rules: two histories never join across an epoch change, and a snapshot
// slice stays small however large the znodes are (found in review); which end of a log segment is
// a torn write and which is damage, and the verdict start-up and `ark data verify` share (issue 12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDir, DataDirError, continuityProblem } from '../../src/storage/datadir.js';
import { readSegment, segmentName } from '../../src/storage/txnlog.js';
import { DataToolError, inspectDataDir, truncateLog, verifyDataDir } from '../../src/storage/inspect.js';
import { SESSION, T0, build, encodeSegment, fingerprint, flip, history, type Built, type Rec } from '../helpers/datadirs.js';
import { SnapshotWriter } from '../../src/storage/snapshot.js';
import { DataTree } from '../../src/tree/datatree.js';
import { OpCode, OPEN_ACL_UNSAFE } from '../../src/wire/protocol.js';
import type { LogRecord } from '../../src/storage/txnlog.js';

const rec = (zxid: number): LogRecord => ({
  hdr: { sessionId: 1n, cxid: 0, zxid, time: 0, type: OpCode.error },
  txn: { type: OpCode.error, err: 0 },
});
const E = 4294967296;

test('an_epoch_change_inside_the_log_is_refused_unless_a_snapshot_starts_it', () => {
  assert.equal(continuityProblem(0, [rec(1), rec(2), rec(3)]), null);
  assert.match(continuityProblem(0, [rec(1), rec(2), rec(E + 1)])!, /epoch 0 .* to epoch 1 .*restore/);
  assert.equal(continuityProblem(E, [rec(E + 1), rec(E + 2)]), null, 'a restore snapshot at E<<32 starts the epoch');
  assert.match(continuityProblem(5, [rec(7)])!, /zxid 0x6 is missing/);
});

test('snapshot_slices_stop_at_a_few_megabytes_whatever_the_node_count', () => {
  const tree = new DataTree();
  const big = Buffer.alloc(900 * 1024, 1);
  for (let i = 1; i <= 30; i++) {
    tree.apply(
      { sessionId: 0n, cxid: 0, zxid: i, time: i, type: OpCode.create },
      { type: OpCode.create, path: `/b${i}`, data: big, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: i },
      [],
    );
  }
  const w = new SnapshotWriter(tree, [], 0);
  let largest = 0;
  let chunks = 0;
  for (let c = w.next(20000); c; c = w.next(20000)) {
    largest = Math.max(largest, c.length);
    chunks++;
  }
  assert.ok(largest < 6 * 1024 * 1024, `a slice of ${largest} bytes`);
  assert.ok(chunks >= 5);
});

// ---------- torn write or damage (txnlog.ts readSegment, issue 12 item 2) ----------

const big = (zxid: number, fill = 0x41): Rec => ({
  hdr: { sessionId: SESSION, cxid: zxid, zxid, time: T0, type: OpCode.setData },
  txn: { type: OpCode.setData, path: '/app', data: Buffer.alloc(3000, fill), version: 1 },
});

/** A segment of zxids 1..10 then two records of 3000 bytes (11, 12), 4 KiB of preallocated zeros after. */
function segment(): { buf: Buffer; last: number; prev: number; len: number } {
  const { buf, offsets } = encodeSegment(1, [...history(10), big(11), big(12)], 4096);
  const last = offsets.at(-1)!;
  return { buf, last, prev: offsets.at(-2)!, len: buf.readInt32BE(last) };
}

test('torn or damage: only what a crash can leave behind is torn; a whole record failing its checksum is damage', () => {
  const shapes: Array<{ name: string; make: (s: ReturnType<typeof segment>) => Buffer; end: 'clean' | 'torn' | 'damage'; what?: RegExp }> =
    [
      { name: 'intact', make: (s) => s.buf, end: 'clean' },
      {
        name: 'the file ends inside the last record (a lost size change)',
        make: (s) => s.buf.subarray(0, s.last + 1000),
        end: 'torn',
        what: /runs past the end of the file/,
      },
      {
        name: 'the file ends inside the record header',
        make: (s) => s.buf.subarray(0, s.last + 5),
        end: 'torn',
        what: /ends inside a record header/,
      },
      {
        name: 'its end never reached the disk (zeros from a sector on)',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b.fill(0, Math.ceil((s.last + 100) / 512) * 512, s.last + 8 + s.len);
          return b;
        },
        end: 'torn',
        what: /its last \d+ bytes were never written/,
      },
      {
        name: 'a sector in its middle never reached the disk (written out of order)',
        make: (s) => {
          const b = Buffer.from(s.buf);
          const at = Math.ceil((s.last + 600) / 512) * 512;
          b.fill(0, at, at + 512);
          return b;
        },
        end: 'torn',
        what: /its sector at offset \d+ was never written/,
      },
      {
        name: 'the whole last record never reached the disk',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b.fill(0, s.last);
          return b;
        },
        end: 'clean',
      },
      {
        name: 'one bit flipped in the last, completely written record (issue 12)',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b[s.last + 1500] = b[s.last + 1500]! ^ 0x04;
          return b;
        },
        end: 'damage',
        what: /^record checksum mismatch in a record that is completely written/,
      },
      {
        name: 'its checksum field flipped',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b[s.last + 6] = b[s.last + 6]! ^ 0x01;
          return b;
        },
        end: 'damage',
        what: /completely written/,
      },
      {
        name: 'its length flipped larger, so that zeros seem to be missing',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b[s.last + 2] = b[s.last + 2]! ^ 0x04;
          return b;
        },
        end: 'damage',
        what: /record length \d+ is damaged: the record is whole/,
      },
      {
        name: 'its last 4 bytes zeroed (a txn may end in 4 zero bytes itself)',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b.fill(0, s.last + 8 + s.len - 4, s.last + 8 + s.len);
          return b;
        },
        end: 'damage',
        what: /completely written/,
      },
      {
        name: 'a torn-looking record with a whole record after it',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b.fill(0, s.prev + 8 + s.len - 100, s.prev + 8 + s.len);
          return b;
        },
        end: 'damage',
        what: /while whole records follow \(zxid 0xc at offset \d+\)/,
      },
      {
        name: 'a zero header with data after it',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b.fill(0, s.last, s.last + 8);
          return b;
        },
        end: 'damage',
        what: /data after the zero-filled end of the log/,
      },
      {
        name: 'a negative length',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b.writeInt32BE(-5, s.last);
          return b;
        },
        end: 'damage',
        what: /negative record length -5/,
      },
      {
        name: 'a whole record at the zxid of the one before it (a second history in the file)',
        make: () => encodeSegment(1, [...history(10), big(11), big(11)], 4096).buf,
        end: 'damage',
        what: /^a record's zxid 0xb is not above the one before it \(0xb\): two histories/,
      },
      {
        name: 'a stray byte in the preallocated zeros',
        make: (s) => {
          const b = Buffer.from(s.buf);
          b[b.length - 100] = 7;
          return b;
        },
        end: 'damage',
        what: /data after the zero-filled end/,
      },
    ];
  for (const shape of shapes) {
    const s = segment();
    const r = readSegment(shape.make(s));
    assert.equal(r.end.kind, shape.end, `${shape.name}: ${JSON.stringify(r.end)}`);
    if (shape.end !== 'clean') {
      const at = shape.name.startsWith('a torn-looking') ? s.prev : shape.name.startsWith('a stray') ? s.last + 8 + s.len : s.last;
      assert.equal((r.end as { offset: number }).offset, at, shape.name);
      assert.match((r.end as { why?: string; what?: string }).why ?? (r.end as { what: string }).what, shape.what!, shape.name);
    }
    const kept = shape.name.startsWith('a torn-looking') ? 10 : shape.name === 'intact' || shape.name.startsWith('a stray') ? 12 : 11;
    assert.equal(r.records.length, kept, shape.name);
  }
  // created, then a crash before its header reached the disk: no txn, nothing wrong
  assert.deepEqual(readSegment(Buffer.alloc(16 + 4096)), { firstZxid: null, records: [], validBytes: 0, end: { kind: 'clean' } });
});

// ---------- one verdict for start-up and verify (issue 12 item 3) ----------

interface Shape {
  name: string;
  make: () => Built;
  startup: 'starts' | 'refuses';
  ensemble?: boolean;
}

function lastRecord(b: Built): { file: string; at: number; len: number } {
  const seg = b.segs.at(-1)!;
  const at = seg.offsets.at(-1)!;
  return { file: seg.file, at, len: readFileSync(seg.file).readInt32BE(at) };
}

/** An extra segment written beside the others (a second writer's, or a copy): zxids from..to. */
function addSegment(b: Built, from: number, to: number): void {
  writeFileSync(join(b.sub, segmentName(from)), encodeSegment(from, history(to).slice(from - 1), 512).buf);
}

const DIRS: Shape[] = [
  { name: 'intact', make: () => build(100, [1, 40, 80], [35, 75]), startup: 'starts' },
  {
    name: 'overlapping segments recovery reads',
    make: () => {
      const b = build(100, [1, 40, 80], [35]);
      addSegment(b, 60, 70);
      return b;
    },
    startup: 'refuses',
  },
  {
    name: 'two servers on one dir: a newer snapshot and segment beside a segment that ran on',
    make: () => {
      const b = build(100, [1], [75]);
      addSegment(b, 76, 90);
      return b;
    },
    startup: 'refuses',
  },
  {
    name: 'a missing segment (a gap)',
    make: () => {
      const b = build(100, [1, 40, 80], [35]);
      rmSync(b.segs[1]!.file);
      return b;
    },
    startup: 'refuses',
  },
  {
    name: 'a bad checksum in the middle of a segment recovery reads',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      flip(b.segs[2]!.file, b.segs[2]!.offsets[5]! + 30);
      return b;
    },
    startup: 'refuses',
  },
  {
    name: 'a bad checksum in the last, acknowledged record',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      const l = lastRecord(b);
      flip(l.file, l.at + 20);
      return b;
    },
    startup: 'refuses',
  },
  {
    name: 'a torn tail',
    startup: 'starts',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      const l = lastRecord(b);
      const buf = readFileSync(l.file);
      buf.fill(0, l.at + 8 + l.len - 20, l.at + 8 + l.len);
      writeFileSync(l.file, buf);
      return b;
    },
  },
  {
    name: 'a damaged newest snapshot with an older usable one',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      flip(b.snaps[1]!.file, 200);
      return b;
    },
    startup: 'starts',
  },
  {
    name: 'a damaged only snapshot, the log not reaching back to zxid 1',
    startup: 'refuses',
    make: () => {
      const b = build(100, [1, 40, 80], [75]);
      flip(b.snaps[0]!.file, 200);
      rmSync(b.segs[0]!.file);
      return b;
    },
  },
  {
    name: 'a damaged only snapshot, the whole log there',
    make: () => {
      const b = build(100, [1, 40, 80], [75]);
      flip(b.snaps[0]!.file, 200);
      return b;
    },
    startup: 'starts',
  },
  {
    name: 'damage in an old segment recovery does not read',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      flip(b.segs[0]!.file, b.segs[0]!.offsets[5]! + 30);
      return b;
    },
    startup: 'starts',
  },
  {
    // recovery from the snapshot at 75 would pass over an old record (at or below 75) in silence
    name: 'a record below the one before it in a segment recovery reads (two histories in one file)',
    startup: 'refuses',
    make: () => {
      const b = build(100, [1, 40, 80], [75]);
      const s = b.segs[2]!;
      writeFileSync(s.file, encodeSegment(80, [...s.recs.slice(0, 6), history(50)[49]!, ...s.recs.slice(6)], 512).buf);
      return b;
    },
  },
  {
    name: 'a torn record in a segment that is not the last',
    startup: 'refuses',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      const s = b.segs[1]!;
      writeFileSync(s.file, readFileSync(s.file).subarray(0, s.offsets.at(-1)! + 10));
      return b;
    },
  },
];

test("verify's verdict on a damaged dir is what start-up does: one set of rules", () => {
  for (const shape of DIRS) {
    const b = shape.make();
    try {
      const v = verifyDataDir(b.dir);
      let startup: 'starts' | 'refuses' = 'starts';
      let why = '';
      try {
        new DataDir(b.dir, b.dir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 }).recover({
          repair: false,
          ensemble: shape.ensemble ?? false,
        });
      } catch (e) {
        assert.ok(e instanceof DataDirError, `${shape.name}: ${String(e)}`);
        startup = 'refuses';
        why = e.message;
      }
      assert.equal(startup, shape.startup, `${shape.name}: start-up ${startup} ${why}`);
      assert.equal(v.startup, startup, `${shape.name}: verify says ${v.startup}\n${v.problems.join('\n')}`);
      if (startup === 'refuses') assert.equal(v.problems[0], why, `${shape.name}: verify's first problem is start-up's reason`);
      assert.equal(v.ok, shape.name === 'intact' || shape.name === 'a torn tail', `${shape.name}: ${v.problems.join('\n')}`);
    } finally {
      rmSync(b.dir, { recursive: true, force: true });
    }
  }
});

test('an ensemble member refusing a damaged log says how the ensemble rebuilds it, and never does it by itself', () => {
  const b = build(100, [1, 40, 80], [35, 75]);
  try {
    const l = lastRecord(b);
    flip(l.file, l.at + 20);
    const before = fingerprint(b.sub);
    assert.throws(
      () => new DataDir(b.dir, b.dir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 }).recover({ repair: true, ensemble: true }),
      /completely written .* at offset \d+\. .*This is an ensemble member: while the other members run and form a quorum, move this member's ark-v1 directory aside .*SNAP.*ark data truncate-log/,
    );
    assert.deepEqual(fingerprint(b.sub), before, 'a refusal repairs nothing');
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
});

test("an ensemble member's log may start a new epoch at counter 1; a standalone log may not, and verify follows the member's rules when dataDir holds myid", () => {
  const E = 4294967296;
  const recs = history(10);
  const next: Rec[] = [E + 1, E + 2, E + 3].map((zxid) => ({
    hdr: { ...recs[9]!.hdr, zxid, cxid: zxid, type: OpCode.error },
    txn: { type: OpCode.error, err: 0 },
  }));
  const b = build(10, [1], []);
  try {
    writeFileSync(join(b.sub, segmentName(E + 1)), encodeSegment(E + 1, next, 512).buf);
    const dd = new DataDir(b.dir, b.dir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 });
    assert.throws(() => dd.recover({ repair: false }), /goes from epoch 0 .* to epoch 1/);
    assert.equal(verifyDataDir(b.dir).startup, 'refuses');
    assert.equal(dd.recover({ repair: false, ensemble: true }).records.length, 13);
    writeFileSync(join(b.dir, 'myid'), '1\n');
    const v = verifyDataDir(b.dir);
    assert.equal(v.startup, 'starts', v.problems.join('\n'));
    assert.equal(inspectDataDir(b.dir).rules, 'ensemble');
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
});

test('truncate-log: only at the damage start-up refuses on; it keeps a copy, and the server starts after', () => {
  const b = build(100, [1, 40, 80], [35]);
  try {
    const mid = b.segs[1]!;
    flip(mid.file, mid.offsets[10]! + 30);
    const before = fingerprint(b.sub);
    assert.throws(
      () => truncateLog(b.dir, undefined, 'log.0000000000000028:99'),
      (e: unknown) =>
        e instanceof DataToolError &&
        e.usage &&
        new RegExp(
          `recovery does not stop at a damaged record there \\(it stops at ${mid.file}:${mid.offsets[10]}\\); nothing was changed`,
        ).test(e.message),
    );
    assert.throws(() => truncateLog(b.dir, undefined, 'nonsense'), /expected FILE:OFFSET/);
    assert.deepEqual(fingerprint(b.sub), before, 'refusals change nothing');
    const r = truncateLog(b.dir, undefined, `log.0000000000000028:${mid.offsets[10]}`);
    assert.equal(r.lastKeptZxid, '0x31');
    assert.deepEqual(readFileSync(r.copy), before.has('log.0000000000000028') ? readFileSync(r.copy) : null);
    assert.equal(
      readFileSync(r.copy).length,
      Number(before.get('log.0000000000000028')!.split(':')[0]),
      'the copy is the whole segment as it was',
    );
    assert.deepEqual(r.movedAside, [`${b.segs[2]!.file}.cut`]);
    assert.equal(r.startup, 'starts');
    const rec = new DataDir(b.dir, b.dir, { forceSync: false, segmentBytesMax: 1, preAllocBytes: 1 }).recover({ repair: false });
    assert.equal(rec.records.at(-1)!.hdr.zxid, 0x31, 'recovers up to the last txn before the damage');
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
});
