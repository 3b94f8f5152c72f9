// The archive's decisions (src/backup/archiver.ts) and its chunk format (src/backup/chunk.ts), as
// pure units: who writes what and when, one rule per test.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Archiver, isRestoreBase, type ArchiveView, type MemberState } from '../../src/backup/archiver.js';
import { START_LINK, buildChain, linkName, runsOf, type Link } from '../../src/backup/chain.js';
import { CHUNK_HEADER_BYTES, ChunkCorruptError, encodeChunkHeader, follows, frameRecord, readChunk, readChunkHeader } from '../../src/backup/chunk.js';
import { JuteWriter } from '../../src/wire/jute.js';
import { encodeEntry } from '../../src/replica/replica.js';
import { OpCode } from '../../src/wire/protocol.js';

const E = 4294967296;
const OPTS = { archiveIntervalMs: 1000, staleMs: 2000, refreshMs: 500, backupIntervalMs: 0, retention: false, chunkTxnsMax: 1000 };

function member(m: Partial<MemberState> = {}): MemberState {
  return { serving: true, duty: true, committed: 10, archivable: 10, applied: 10, snapshots: [], ...m };
}

/** An archiver that has read `view` at time `now`. */
function seeing(view: ArchiveView, now = 0, opts: Partial<typeof OPTS> = {}): Archiver {
  const a = new Archiver({ ...OPTS, ...opts });
  assert.deepEqual(a.next(now, member()), { kind: 'refresh' });
  a.done(now, { ok: true, view });
  return a;
}

/** After a failed action the archiver reads the archive again: feed it `view`. */
function reread(a: Archiver, now: number, m: MemberState, view: ArchiveView): void {
  assert.deepEqual(a.next(now, m), { kind: 'refresh' });
  a.done(now, { ok: true, view });
}

const B0 = [{ zxid: 0, timeMs: 0 }];
const view = (end: number | null, backups = B0, holes: ArchiveView['holes'] = []): ArchiveView => ({ end, backups, holes });

describe('archiver: who writes and when', () => {
  test('it reads the archive before anything else, and again every refreshMs', () => {
    const a = seeing(view(5));
    assert.equal(a.next(499, member({ archivable: 5, committed: 5 }))?.kind, 'status');
    a.done(499, { ok: true });
    assert.deepEqual(a.next(500, member()), { kind: 'refresh' });
  });

  test('a brand-new archive gets its first backup from the member with the duty only', () => {
    assert.deepEqual(seeing(view(null, [])).next(1, member()), { kind: 'capture', reason: 'first' });
    assert.equal(seeing(view(null, [])).next(1, member({ duty: false })), null);
  });

  test('the chain starts from the newest backup, in the link named start', () => {
    const a = seeing(view(null, [{ zxid: 0, timeMs: 0 }, { zxid: 4, timeMs: 0 }]));
    a.flush();
    assert.deepEqual(a.next(1, member()), { kind: 'chunk', after: 4, upTo: 10, slot: 'start' });
  });

  test('the duty member extends the chain once txns waited archiveIntervalMs (the RPO)', () => {
    const a = seeing(view(5));
    assert.equal(a.next(10, member()), null); // pending from now on
    reread(a, 600, member(), view(5));
    assert.equal(a.next(1009, member()), null);
    assert.deepEqual(a.next(1010, member()), { kind: 'chunk', after: 5, upTo: 10, slot: 'next' });
  });

  test('...or at once when many txns wait, a new epoch began, or it is flushed', () => {
    assert.deepEqual(seeing(view(5)).next(1, member({ archivable: 5 + OPTS.chunkTxnsMax })), { kind: 'chunk', after: 5, upTo: 5 + OPTS.chunkTxnsMax, slot: 'next' });
    const b = seeing(view(5));
    b.flush();
    assert.deepEqual(b.next(1, member()), { kind: 'chunk', after: 5, upTo: 10, slot: 'next' });
    assert.equal(seeing(view(5 * E + 9)).next(1, member({ archivable: 6 * E + 1 }))?.kind, 'chunk');
  });

  test('a member without the duty extends the chain only after it stalled for staleMs', () => {
    const a = seeing(view(5));
    const m = member({ duty: false });
    assert.equal(a.next(1, m), null);
    for (const t of [500, 1000, 1500, 2000]) reread(a, t, m, view(5)); // the same end is no progress
    assert.equal(a.next(2000, m), null);
    assert.deepEqual(a.next(2001, m), { kind: 'chunk', after: 5, upTo: 10, slot: 'next' });
  });

  test('progress by others resets the stall clock of a member without the duty', () => {
    const a = seeing(view(5));
    const m = member({ duty: false, archivable: 20 });
    assert.equal(a.next(1, m), null);
    reread(a, 1800, m, view(12));
    assert.equal(a.next(2100, m), null, 'the leader is archiving: stay out');
  });

  test('someone else took the name first: read the archive again, then go on from the new end', () => {
    const a = seeing(view(5));
    a.flush();
    assert.equal(a.next(1, member())?.kind, 'chunk');
    a.done(2, { ok: false, reason: 'exists' });
    reread(a, 2, member(), view(8));
    assert.deepEqual(a.next(3, member()), { kind: 'chunk', after: 8, upTo: 10, slot: 'next' });
  });

  test('a restore replaced the history: its snapshot is written as a base, and the chain jumps to it at once', () => {
    const r = 6 * E;
    assert.ok(isRestoreBase(r) && !isRestoreBase(r + 1) && !isRestoreBase(0));
    const a = seeing(view(5 * E + 40));
    a.flush();
    const m = member({ archivable: r + 3, applied: r + 3, committed: r + 3, snapshots: [5 * E + 10, r] });
    assert.equal(a.next(1, m)?.kind, 'chunk');
    a.done(1, { ok: false, reason: 'missing' });
    reread(a, 1, m, view(5 * E + 40));
    assert.deepEqual(a.next(1, m), { kind: 'base', snapshot: r });
    a.done(1, { ok: true, wrote: { zxid: r } });
    reread(a, 1, m, view(5 * E + 40, [{ zxid: 0, timeMs: 0 }, { zxid: r, timeMs: 1 }]));
    assert.deepEqual(a.next(1, m), { kind: 'jump', from: 5 * E + 40, to: r });
  });

  test('txns no serving member holds: after staleMs the duty member jumps to a base above the end (one written first if needed)', () => {
    const a = seeing(view(40));
    a.flush();
    const m = member({ archivable: 90, applied: 90, committed: 90, snapshots: [60, 75] });
    assert.equal(a.next(1, m)?.kind, 'chunk');
    a.done(1, { ok: false, reason: 'missing' });
    reread(a, 1, m, view(40));
    assert.equal(a.next(400, m), null, 'another member may still hold them');
    reread(a, 2000, m, view(40));
    assert.equal(a.next(2000, member({ ...m, duty: false })), null, 'only the duty member jumps');
    assert.deepEqual(a.next(2000, m), { kind: 'base', snapshot: 60 });
    a.done(2000, { ok: false, reason: 'missing' }); // the snapshot went meanwhile
    reread(a, 2000, m, view(40));
    assert.deepEqual(a.next(2000, member({ ...m, snapshots: [] })), { kind: 'capture', reason: 'gap' });
    a.done(2001, { ok: true, wrote: { zxid: 95 } });
    reread(a, 2001, m, view(40, [{ zxid: 0, timeMs: 0 }, { zxid: 95, timeMs: 2001 }]));
    assert.equal(a.next(2001, m), null, 'its disk does not hold 0x95 yet: wait, no second backup');
    assert.deepEqual(a.next(2001, member({ ...m, archivable: 95 })), { kind: 'jump', from: 40, to: 95 });
  });

  test('a member holding the txns of a hole fills it, ending exactly at the base the chain jumped to', () => {
    const holes = [{ after: 40, before: 60, jumpFrom: 40 }];
    const a = seeing(view(90, [{ zxid: 0, timeMs: 0 }, { zxid: 60, timeMs: 0 }], holes));
    const m = member({ archivable: 90, applied: 90, committed: 90, duty: false });
    assert.deepEqual(a.next(1, m), { kind: 'chunk', after: 40, upTo: 60, slot: 'fill' });
    a.done(1, { ok: false, reason: 'missing' }); // this disk does not hold them either
    reread(a, 1, m, view(90, [{ zxid: 0, timeMs: 0 }, { zxid: 60, timeMs: 0 }], holes));
    assert.equal(a.next(1, m), null, 'not asked again of the same disk');
    a.historyChanged();
    assert.deepEqual(a.next(2, m), { kind: 'chunk', after: 40, upTo: 60, slot: 'fill' });
    const partly = seeing(view(90, [{ zxid: 0, timeMs: 0 }, { zxid: 60, timeMs: 0 }], [{ after: 50, before: 60, jumpFrom: 40 }]));
    assert.deepEqual(partly.next(1, m), { kind: 'chunk', after: 50, upTo: 60, slot: 'next' }, 'a fill goes on from where it stands');
  });

  test('purge keeps the log from the chain\'s end, and from a hole only while this member can fill it', () => {
    // the chain jumped 0x10 -> 0x5000 (the txns between were in no serving member's log) and went on to 0x90000
    const v = view(0x90000, [{ zxid: 0, timeMs: 0 }, { zxid: 0x5000, timeMs: 0 }], [{ after: 0x10, before: 0x5000, jumpFrom: 0x10 }]);
    const m = member({ archivable: 0x90000, applied: 0x90000, committed: 0x90000, duty: false });
    const a = seeing(v);
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: 0x8 }), 0x10, 'its log reaches the hole: it may fill it');
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: 0x11 }), 0x10, 'its log starts right after the hole\'s start: it continues it');
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: 0x12 }), 0x90000, 'its log starts inside the hole: it cannot fill it');
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: null }), 0x90000);
    assert.equal(a.retainFrom({ archivable: 0x10, logFrom: 0x8 }), 0x90000, 'it holds nothing after the hole\'s start');
    // it tried, and its disk could not continue the hole's start: that hole no longer holds its purge back
    assert.deepEqual(a.next(1, m), { kind: 'chunk', after: 0x10, upTo: 0x5000, slot: 'fill' });
    a.done(1, { ok: false, reason: 'missing' });
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: 0x8 }), 0x90000);
    assert.equal(new Archiver(OPTS).retainFrom({ archivable: 0x90000, logFrom: 0x8 }), null, 'the archive not read yet: keep everything');
  });

  test('scheduled backups every backupIntervalMs when the tree changed, then retention', () => {
    const m = member({ applied: 10, archivable: 10, committed: 10 });
    const b = seeing(view(10), 0, { backupIntervalMs: 5000, retention: true });
    assert.equal(b.next(1, m)?.kind, 'status', 'up to date: the archive is complete as of now');
    b.done(1, { ok: true });
    reread(b, 4999, m, view(10));
    assert.equal(b.next(4999, m)?.kind, 'status', 'still complete: said again every half interval');
    b.done(4999, { ok: true });
    assert.equal(b.next(4999, m), null, 'no backup due yet');
    assert.deepEqual(b.next(5000, m), { kind: 'capture', reason: 'scheduled' });
    b.done(5001, { ok: true, wrote: { zxid: 10 } });
    reread(b, 5001, m, view(10, [{ zxid: 0, timeMs: 0 }, { zxid: 10, timeMs: 5001 }]));
    assert.deepEqual(b.next(5001, m), { kind: 'prune' });
    b.done(5002, { ok: true });
    const unchanged = seeing(view(10, [{ zxid: 10, timeMs: 0 }]), 0, { backupIntervalMs: 5000 });
    reread(unchanged, 6000, m, view(10, [{ zxid: 10, timeMs: 0 }]));
    assert.equal(unchanged.next(6000, { ...m, committed: 9 }), null, 'nothing changed since the newest backup');
  });

  test('one action at a time; nothing while not serving', () => {
    const a = seeing(view(5));
    a.flush();
    assert.equal(a.next(1, member({ serving: false })), null);
    assert.ok(a.next(1, member()));
    assert.equal(a.next(1, member()), null);
  });

  test('lag in txns of one epoch, and how long the oldest waited', () => {
    const a = seeing(view(5));
    assert.equal(a.lagTxns({ archivable: 12 }), 7);
    assert.equal(a.lagTxns({ archivable: 3 * E + 4 }), 4);
    a.next(100, member());
    a.done(100, { ok: true });
    assert.equal(a.lagMs(350), 250);
  });
});

describe('the chain', () => {
  const chunk = (prev: number, first: number, last: number, name = linkName(prev)): Link => ({ name, prev, first, last, count: last - first + 1, firstTime: first, lastTime: last });
  const jump = (from: number, to: number): Link => ({ name: linkName(from), prev: from, first: to, last: to, count: 0, firstTime: 0, lastTime: 0 });

  test('links follow each other by name from the start; a link no path reaches is unlinked', () => {
    const c = buildChain([chunk(4, 5, 9, START_LINK), chunk(9, 10, 12), chunk(12, 13, 20), chunk(2, 3, 7)]);
    assert.deepEqual(c.links.map((l) => l.name), [START_LINK, linkName(9), linkName(12)]);
    assert.equal(c.end, 20);
    assert.deepEqual(c.unlinked.map((l) => l.name), [linkName(2)]);
  });

  test('after retention removed the start, the chain starts at its oldest link', () => {
    const c = buildChain([chunk(12, 13, 20), chunk(20, 21, 30)]);
    assert.equal(c.end, 30);
    assert.deepEqual(c.unlinked, []);
  });

  test('a jump splits the chain in two stretches until a fill reaches its base', () => {
    const links = [chunk(0, 1, 9, START_LINK), jump(9, 15), chunk(15, 16, 20)];
    assert.deepEqual(runsOf(buildChain(links)).map((r) => [r.prev, r.last]), [[0, 9], [15, 20]]);
    const half = buildChain([...links, chunk(9, 10, 12, linkName(9, true))]);
    assert.equal(half.jumps[0]!.filledTo, 12);
    const full = buildChain([...links, chunk(9, 10, 12, linkName(9, true)), chunk(12, 13, 15)]);
    assert.equal(full.jumps[0]!.filledTo, 15);
    assert.deepEqual(runsOf(full).map((r) => [r.prev, r.last]), [[0, 20]]);
    assert.deepEqual(full.unlinked, []);
  });

  test('a fill of two links: the chain is the same whatever order the store lists the links in', () => {
    // start 1..9, a jump 9 -> 15, the chain goes on 16..20; the hole filled by fill.9 (10..12) and
    // txns.12 (13..15). Nothing continues txns.12 but the fill, so it looked like a chain's start;
    // which walk won depended on the listing order (readdir: hash order)
    const links = [chunk(0, 1, 9, START_LINK), jump(9, 15), chunk(15, 16, 20), chunk(9, 10, 12, linkName(9, true)), chunk(12, 13, 15)];
    const orders = (xs: Link[]): Link[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => orders([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest])));
    for (const listed of orders(links)) {
      const c = buildChain(listed);
      const as = listed.map((l) => l.name).join(', ');
      assert.deepEqual(c.links.map((l) => l.name), [START_LINK, linkName(9), linkName(15)], `listed as ${as}`);
      assert.deepEqual(runsOf(c).map((r) => [r.prev, r.last]), [[0, 20]], `listed as ${as}`);
      assert.deepEqual(c.unlinked, [], `listed as ${as}`);
    }
  });

  test('a fill left behind when retention removed its jump is never an earlier part of the chain', () => {
    // the jump 9 -> 15 and what came before it were pruned; a fill written late (so younger than
    // the grace period) stays: it is a leftover, not a stretch of the chain with a link missing after it
    const c = buildChain([chunk(9, 10, 12, linkName(9, true)), chunk(12, 13, 14), chunk(15, 16, 20), chunk(20, 21, 30)]);
    assert.deepEqual(c.links.map((l) => l.name), [linkName(15), linkName(20)]);
    assert.deepEqual(c.breaks, []);
    assert.deepEqual(c.unlinked.map((l) => l.name).sort(), [linkName(9, true), linkName(12)]);
  });

  test('a jump to a restore is never a hole to fill', () => {
    const c = buildChain([chunk(0, 1, 9, START_LINK), jump(9, 3 * E), chunk(3 * E, 3 * E + 1, 3 * E + 4)]);
    assert.equal(c.jumps[0]!.restore, true);
    assert.equal(c.end, 3 * E + 4);
  });
});

describe('chunks', () => {
  function chunkOf(prev: number, zxids: number[]): Buffer {
    const w = new JuteWriter(1024);
    const times = zxids.map((_z, i) => 1_000 + i);
    zxids.forEach((z, i) => frameRecord(w, encodeEntry({ sessionId: 1n, cxid: i, zxid: z, time: times[i]!, type: OpCode.setData }, { type: OpCode.setData, path: '/a', data: Buffer.from('x'), version: -1 })));
    const header = encodeChunkHeader({ prevZxid: prev, firstZxid: zxids[0]!, lastZxid: zxids.at(-1)!, count: zxids.length, firstTime: times[0]!, lastTime: times.at(-1)! });
    return Buffer.concat([header, w.take()]);
  }

  test('a chunk reads back whole, across an epoch change', () => {
    const buf = chunkOf(E + 7, [E + 8, E + 9, 2 * E + 1, 2 * E + 2]);
    const { header, records } = readChunk('c', buf);
    assert.deepEqual(records.map((r) => r.hdr.zxid), [E + 8, E + 9, 2 * E + 1, 2 * E + 2]);
    assert.equal(header.prevZxid, E + 7);
    assert.equal(readChunkHeader('c', buf.subarray(0, CHUNK_HEADER_BYTES)).count, 4);
  });

  test('follows: +1, or the first txn of a later epoch, nothing else', () => {
    assert.ok(follows(5, 6) && follows(E + 9, 3 * E + 1) && follows(3 * E, 3 * E + 1));
    assert.ok(!follows(5, 7) && !follows(E + 9, 2 * E + 2) && !follows(2 * E + 1, E + 2));
  });

  test('a jump is a header alone', () => {
    const j = encodeChunkHeader({ prevZxid: 9, firstZxid: 15, lastZxid: 15, count: 0, firstTime: 0, lastTime: 0 });
    assert.equal(readChunk('j', j).records.length, 0);
    assert.throws(() => readChunkHeader('j', encodeChunkHeader({ prevZxid: 9, firstZxid: 15, lastZxid: 16, count: 0, firstTime: 0, lastTime: 0 })), ChunkCorruptError);
  });

  test('a chunk that lost its tail, a flipped byte, or a hole inside is refused', () => {
    const buf = chunkOf(0, [1, 2, 3]);
    assert.throws(() => readChunk('c', buf.subarray(0, buf.length - 10)), ChunkCorruptError);
    for (const at of [3, CHUNK_HEADER_BYTES + 20, buf.length - 2]) {
      const bad = Buffer.from(buf);
      bad[at] = bad[at]! ^ 0x40;
      assert.throws(() => readChunk('c', bad), ChunkCorruptError, `byte ${at}`);
    }
    assert.throws(() => readChunk('c', chunkOf(0, [1, 3])), /does not follow/);
    assert.throws(() => readChunk('c', chunkOf(1, [1, 2])), /header describes no run|does not follow/);
  });
});

