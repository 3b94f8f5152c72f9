// The archive's decisions (src/backup/archiver.ts) and its chunk format (src/backup/chunk.ts), as
// pure units: who writes what and when, one rule per test.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Archiver, isRestoreBase, type ArchiveView, type MemberState } from '../../src/backup/archiver.js';
import { START_LINK, buildChain, linkName, runsOf, type Link } from '../../src/backup/chain.js';
import { viewOf } from '../../src/backup/archive.js';
import {
  CHUNK_HEADER_BYTES,
  CHUNK_MAGIC,
  ChunkCorruptError,
  encodeChunkHeader,
  follows,
  frameRecord,
  readChunk,
  readChunkHeader,
  recordCrc,
} from '../../src/backup/chunk.js';
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
const view = (
  end: number | null,
  backups = B0,
  holes: Array<Omit<ArchiveView['holes'][number], 'afterCrc'>> = [],
  endCrc: number | null = null,
): ArchiveView => ({ end, endCrc, backups, holes: holes.map((h) => ({ afterCrc: null, ...h })) });

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
    const a = seeing(
      view(null, [
        { zxid: 0, timeMs: 0 },
        { zxid: 4, timeMs: 0 },
      ]),
    );
    a.flush();
    assert.deepEqual(a.next(1, member()), { kind: 'chunk', after: 4, upTo: 10, slot: 'start', afterCrc: null });
  });

  test('the duty member extends the chain once txns waited archiveIntervalMs (the RPO)', () => {
    const a = seeing(view(5));
    assert.equal(a.next(10, member()), null); // pending from now on
    reread(a, 600, member(), view(5));
    assert.equal(a.next(1009, member()), null);
    assert.deepEqual(a.next(1010, member()), { kind: 'chunk', after: 5, upTo: 10, slot: 'next', afterCrc: null });
  });

  test('...or at once when many txns wait, a new epoch began, or it is flushed', () => {
    assert.deepEqual(seeing(view(5)).next(1, member({ archivable: 5 + OPTS.chunkTxnsMax })), {
      kind: 'chunk',
      after: 5,
      upTo: 5 + OPTS.chunkTxnsMax,
      slot: 'next',
      afterCrc: null,
    });
    const b = seeing(view(5));
    b.flush();
    assert.deepEqual(b.next(1, member()), { kind: 'chunk', after: 5, upTo: 10, slot: 'next', afterCrc: null });
    assert.equal(seeing(view(5 * E + 9)).next(1, member({ archivable: 6 * E + 1 }))?.kind, 'chunk');
  });

  test('a member without the duty extends the chain only after it stalled for staleMs', () => {
    const a = seeing(view(5));
    const m = member({ duty: false });
    assert.equal(a.next(1, m), null);
    for (const t of [500, 1000, 1500, 2000]) reread(a, t, m, view(5)); // the same end is no progress
    assert.equal(a.next(2000, m), null);
    assert.deepEqual(a.next(2001, m), { kind: 'chunk', after: 5, upTo: 10, slot: 'next', afterCrc: null });
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
    assert.deepEqual(a.next(3, member()), { kind: 'chunk', after: 8, upTo: 10, slot: 'next', afterCrc: null });
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
    reread(
      a,
      1,
      m,
      view(5 * E + 40, [
        { zxid: 0, timeMs: 0 },
        { zxid: r, timeMs: 1 },
      ]),
    );
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
    reread(
      a,
      2001,
      m,
      view(40, [
        { zxid: 0, timeMs: 0 },
        { zxid: 95, timeMs: 2001 },
      ]),
    );
    assert.equal(a.next(2001, m), null, 'its disk does not hold 0x95 yet: wait, no second backup');
    assert.deepEqual(a.next(2001, member({ ...m, archivable: 95 })), { kind: 'jump', from: 40, to: 95 });
  });

  test('a member holding the txns of a hole fills it, ending exactly at the base the chain jumped to', () => {
    const holes = [{ after: 40, before: 60, jumpFrom: 40 }];
    const a = seeing(
      view(
        90,
        [
          { zxid: 0, timeMs: 0 },
          { zxid: 60, timeMs: 0 },
        ],
        holes,
      ),
    );
    const m = member({ archivable: 90, applied: 90, committed: 90, duty: false });
    assert.deepEqual(a.next(1, m), { kind: 'chunk', after: 40, upTo: 60, slot: 'fill', afterCrc: null });
    a.done(1, { ok: false, reason: 'missing' }); // this disk does not hold them either
    reread(
      a,
      1,
      m,
      view(
        90,
        [
          { zxid: 0, timeMs: 0 },
          { zxid: 60, timeMs: 0 },
        ],
        holes,
      ),
    );
    assert.equal(a.next(1, m), null, 'not asked again of the same disk');
    a.historyChanged();
    assert.deepEqual(a.next(2, m), { kind: 'chunk', after: 40, upTo: 60, slot: 'fill', afterCrc: null });
    const partly = seeing(
      view(
        90,
        [
          { zxid: 0, timeMs: 0 },
          { zxid: 60, timeMs: 0 },
        ],
        [{ after: 50, before: 60, jumpFrom: 40 }],
      ),
    );
    assert.deepEqual(
      partly.next(1, m),
      { kind: 'chunk', after: 50, upTo: 60, slot: 'next', afterCrc: null },
      'a fill goes on from where it stands',
    );
  });

  test("purge keeps the log from the chain's end, and from a hole only while this member can fill it", () => {
    // the chain jumped 0x10 -> 0x5000 (the txns between were in no serving member's log) and went on to 0x90000
    const v = view(
      0x90000,
      [
        { zxid: 0, timeMs: 0 },
        { zxid: 0x5000, timeMs: 0 },
      ],
      [{ after: 0x10, before: 0x5000, jumpFrom: 0x10 }],
    );
    const m = member({ archivable: 0x90000, applied: 0x90000, committed: 0x90000, duty: false });
    const a = seeing(v);
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: 0x8 }), 0x10, 'its log reaches the hole: it may fill it');
    assert.equal(
      a.retainFrom({ archivable: 0x90000, logFrom: 0x11 }),
      0x10,
      "its log starts right after the hole's start: it continues it",
    );
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: 0x12 }), 0x90000, 'its log starts inside the hole: it cannot fill it');
    assert.equal(a.retainFrom({ archivable: 0x90000, logFrom: null }), 0x90000);
    assert.equal(a.retainFrom({ archivable: 0x10, logFrom: 0x8 }), 0x90000, "it holds nothing after the hole's start");
    // it tried, and its disk could not continue the hole's start: that hole no longer holds its purge back
    assert.deepEqual(a.next(1, m), { kind: 'chunk', after: 0x10, upTo: 0x5000, slot: 'fill', afterCrc: null });
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
    reread(
      b,
      5001,
      m,
      view(10, [
        { zxid: 0, timeMs: 0 },
        { zxid: 10, timeMs: 5001 },
      ]),
    );
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

describe("archiver: a history that is not the archive's", () => {
  const CRC = 0xabcdef01;

  test("a link continues the chain's end only from the archived txn: the chunk names its checksum, a fill its hole's", () => {
    const a = seeing(view(5, B0, [], CRC));
    a.flush();
    assert.deepEqual(a.next(1, member()), { kind: 'chunk', after: 5, upTo: 10, slot: 'next', afterCrc: CRC });
    const f = seeing({
      ...view(90, [
        { zxid: 0, timeMs: 0 },
        { zxid: 60, timeMs: 0 },
      ]),
      holes: [{ after: 40, before: 60, jumpFrom: 40, afterCrc: 7 }],
    });
    assert.deepEqual(f.next(1, member({ archivable: 90, committed: 90, applied: 90, duty: false })), {
      kind: 'chunk',
      after: 40,
      upTo: 60,
      slot: 'fill',
      afterCrc: 7,
    });
  });

  test('its txn at the end is not the archived one: it writes nothing (no link, backup, retention or status) and says so until its history changes', () => {
    const a = seeing(view(5, B0, [], CRC), 0, { backupIntervalMs: 1000, retention: true });
    a.flush();
    const m = member({ archivable: 40, committed: 40, applied: 40 });
    assert.equal(a.next(1, m)?.kind, 'chunk');
    a.done(2, { ok: false, reason: 'diverged' });
    assert.deepEqual(a.mismatch(), { kind: 'diverged', archiveZxid: 5, memberZxid: 40, since: 2 });
    for (let t = 2; t < 20_000; t += 250) {
      const x = a.next(t, m);
      if (x) assert.equal(x.kind, 'refresh', `at ${t}: ${JSON.stringify(x)}`);
      if (x) a.done(t, { ok: true, view: view(5, B0, [], CRC) });
    }
    assert.equal(a.lagTxns(m), 40, 'its txns are not archived');
    assert.equal(a.lagMs(20_002), 20_001, 'since its txns began to wait');
    assert.equal(a.continuation(), 5);
    a.historyChanged(); // a SNAP, a TRUNC, a restore: look again
    assert.equal(a.mismatch(), null);
    reread(a, 20_003, m, view(5, B0, [], CRC));
    assert.equal(a.next(20_003, m)?.kind, 'chunk');
  });

  test("...but its own restore above the archive's end starts a new history there: the base, the jump, and archiving goes on", () => {
    const r = 6 * E;
    const a = seeing(view(5 * E + 40, B0, [], CRC));
    a.flush();
    const m = member({ archivable: r + 3, applied: r + 3, committed: r + 3, snapshots: [r] });
    assert.equal(a.next(1, m)?.kind, 'chunk');
    a.done(1, { ok: false, reason: 'diverged' });
    reread(a, 1, m, view(5 * E + 40, B0, [], CRC));
    assert.deepEqual(a.next(1, m), { kind: 'base', snapshot: r });
    a.done(1, { ok: true, wrote: { zxid: r } });
    reread(a, 1, m, view(5 * E + 40, [...B0, { zxid: r, timeMs: 1 }], [], CRC));
    assert.deepEqual(a.next(1, m), { kind: 'jump', from: 5 * E + 40, to: r });
    a.done(1, { ok: true, wrote: { zxid: r } });
    assert.equal(a.mismatch(), null);
    reread(a, 2, m, view(r, [...B0, { zxid: r, timeMs: 1 }]));
    assert.deepEqual(a.next(2, m), { kind: 'chunk', after: r, upTo: r + 3, slot: 'next', afterCrc: null });
  });

  test("a server restored (offline, from the archive) into a new dir whose epoch is below the archive's end does not silently stop archiving", () => {
    // the ensemble's archive reached 9:0x64; `ark restore --archive A --to-zxid 5:0xa --data-dir NEW`
    // labelled the restore (5+1) << 32 = 6:0; the new server writes 6:1.. with backup.archiveDir=A.
    // Nothing of it can go to A (its zxids are below A's end): it used to archive nothing and report a lag of 0
    const a = new Archiver(OPTS);
    const m = member({ committed: 6 * E + 500, archivable: 6 * E + 500, applied: 6 * E + 500, snapshots: [6 * E] });
    const aView = view(9 * E + 100, [{ zxid: 9 * E + 1, timeMs: 0 }]);
    const actions: string[] = [];
    for (let t = 0; t < 100_000; t += 250) {
      const x = a.next(t, m);
      if (!x) continue;
      actions.push(x.kind);
      a.done(t, x.kind === 'refresh' ? { ok: true, view: aView } : { ok: true });
      if (t === 2000) assert.equal(a.mismatch(), null, 'not before staleMs: an old leader is behind the archive for a moment');
    }
    assert.deepEqual([...new Set(actions)], ['refresh'], 'it writes nothing');
    assert.deepEqual(a.mismatch(), { kind: 'above', archiveZxid: 9 * E + 100, memberZxid: 6 * E + 500, since: 2250 });
    assert.ok(a.lagTxns(m) > 0 && a.lagMs(100_000) > 0, `lag reported: ${a.lagTxns(m)} txns, ${a.lagMs(100_000)} ms`);
  });

  test("behind the archive's end for less than staleMs, or without the duty, is no mismatch", () => {
    const a = seeing(view(20), 0, { refreshMs: 1e9 });
    const behind = member({ committed: 10, archivable: 10, applied: 10 });
    assert.equal(a.next(1, behind), null);
    assert.equal(a.next(2000, behind), null);
    assert.equal(a.mismatch(), null);
    assert.equal(a.next(2000, member({ committed: 20, archivable: 20, applied: 20 }))?.kind, 'status', 'caught up');
    a.done(2000, { ok: true });
    assert.equal(a.next(2001, behind), null);
    assert.equal(a.next(4000, behind), null, 'the clock started again');
    assert.equal(a.mismatch(), null);
    assert.equal(a.next(4001, behind), null);
    assert.equal(a.mismatch()?.kind, 'above', 'staleMs behind');
    const follower = seeing(view(20), 0, { refreshMs: 1e9 });
    follower.next(1, member({ ...behind, duty: false }));
    follower.next(5000, member({ ...behind, duty: false }));
    assert.equal(follower.mismatch(), null, 'a follower may lag the archive');
  });
});

describe('the chain', () => {
  const chunk = (prev: number, first: number, last: number, name = linkName(prev)): Link => ({
    name,
    prev,
    first,
    last,
    count: last - first + 1,
    firstTime: first,
    lastTime: last,
    lastCrc: last,
  });
  const jump = (from: number, to: number): Link => ({
    name: linkName(from),
    prev: from,
    first: to,
    last: to,
    count: 0,
    firstTime: 0,
    lastTime: 0,
    lastCrc: null,
  });

  test('links follow each other by name from the start; a link no path reaches is unlinked', () => {
    const c = buildChain([chunk(4, 5, 9, START_LINK), chunk(9, 10, 12), chunk(12, 13, 20), chunk(2, 3, 7)]);
    assert.deepEqual(
      c.links.map((l) => l.name),
      [START_LINK, linkName(9), linkName(12)],
    );
    assert.equal(c.end, 20);
    assert.deepEqual(
      c.unlinked.map((l) => l.name),
      [linkName(2)],
    );
  });

  test('after retention removed the start, the chain starts at its oldest link', () => {
    const c = buildChain([chunk(12, 13, 20), chunk(20, 21, 30)]);
    assert.equal(c.end, 30);
    assert.deepEqual(c.unlinked, []);
  });

  test('a jump splits the chain in two stretches until a fill reaches its base', () => {
    const links = [chunk(0, 1, 9, START_LINK), jump(9, 15), chunk(15, 16, 20)];
    assert.deepEqual(
      runsOf(buildChain(links)).map((r) => [r.prev, r.last]),
      [
        [0, 9],
        [15, 20],
      ],
    );
    const half = buildChain([...links, chunk(9, 10, 12, linkName(9, true))]);
    assert.equal(half.jumps[0]!.filledTo, 12);
    const full = buildChain([...links, chunk(9, 10, 12, linkName(9, true)), chunk(12, 13, 15)]);
    assert.equal(full.jumps[0]!.filledTo, 15);
    assert.deepEqual(
      runsOf(full).map((r) => [r.prev, r.last]),
      [[0, 20]],
    );
    assert.deepEqual(full.unlinked, []);
  });

  test('a fill of two links: the chain is the same whatever order the store lists the links in', () => {
    // start 1..9, a jump 9 -> 15, the chain goes on 16..20; the hole filled by fill.9 (10..12) and
    // txns.12 (13..15). Nothing continues txns.12 but the fill, so it looked like a chain's start;
    // which walk won depended on the listing order (readdir: hash order)
    const links = [chunk(0, 1, 9, START_LINK), jump(9, 15), chunk(15, 16, 20), chunk(9, 10, 12, linkName(9, true)), chunk(12, 13, 15)];
    const orders = (xs: Link[]): Link[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => orders([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
    for (const listed of orders(links)) {
      const c = buildChain(listed);
      const as = listed.map((l) => l.name).join(', ');
      assert.deepEqual(
        c.links.map((l) => l.name),
        [START_LINK, linkName(9), linkName(15)],
        `listed as ${as}`,
      );
      assert.deepEqual(
        runsOf(c).map((r) => [r.prev, r.last]),
        [[0, 20]],
        `listed as ${as}`,
      );
      assert.deepEqual(c.unlinked, [], `listed as ${as}`);
    }
  });

  test('a fill left behind when retention removed its jump is never an earlier part of the chain', () => {
    // the jump 9 -> 15 and what came before it were pruned; a fill written late (so younger than
    // the grace period) stays: it is a leftover, not a stretch of the chain with a link missing after it
    const c = buildChain([chunk(9, 10, 12, linkName(9, true)), chunk(12, 13, 14), chunk(15, 16, 20), chunk(20, 21, 30)]);
    assert.deepEqual(
      c.links.map((l) => l.name),
      [linkName(15), linkName(20)],
    );
    assert.deepEqual(c.breaks, []);
    assert.deepEqual(c.unlinked.map((l) => l.name).sort(), [linkName(9, true), linkName(12)]);
  });

  test("the view names the checksum of the archived txn at the end and at each hole's start (none where that is a base)", () => {
    // lastCrc in these links is their last zxid
    const links = [chunk(0, 1, 9, START_LINK), jump(9, 15), chunk(15, 16, 20), chunk(9, 10, 12, linkName(9, true))];
    const v = viewOf(buildChain(links), [
      { zxid: 0, timeMs: 0 },
      { zxid: 15, timeMs: 0 },
    ]);
    assert.equal(v.endCrc, 20);
    assert.deepEqual(v.holes, [{ after: 12, before: 15, jumpFrom: 9, afterCrc: 12 }], 'the fill stands at 12');
    assert.deepEqual(viewOf(buildChain(links.slice(0, 3)), []).holes, [{ after: 9, before: 15, jumpFrom: 9, afterCrc: 9 }]);
    assert.equal(viewOf(buildChain(links.slice(0, 2)), []).endCrc, null, 'the chain ends at a base');
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
    const payloads = zxids.map((z, i) =>
      encodeEntry(
        { sessionId: 1n, cxid: i, zxid: z, time: times[i]!, type: OpCode.setData },
        { type: OpCode.setData, path: '/a', data: Buffer.from('x'), version: -1 },
      ),
    );
    for (const p of payloads) frameRecord(w, p);
    const header = encodeChunkHeader({
      prevZxid: prev,
      firstZxid: zxids[0]!,
      lastZxid: zxids.at(-1)!,
      count: zxids.length,
      firstTime: times[0]!,
      lastTime: times.at(-1)!,
      lastCrc: recordCrc(payloads.at(-1)!),
    });
    return Buffer.concat([header, w.take()]);
  }

  test('a chunk reads back whole, across an epoch change', () => {
    const buf = chunkOf(E + 7, [E + 8, E + 9, 2 * E + 1, 2 * E + 2]);
    const { header, records } = readChunk('c', buf);
    assert.deepEqual(
      records.map((r) => r.hdr.zxid),
      [E + 8, E + 9, 2 * E + 1, 2 * E + 2],
    );
    assert.equal(header.prevZxid, E + 7);
    assert.equal(readChunkHeader('c', buf.subarray(0, CHUNK_HEADER_BYTES)).count, 4);
  });

  test('follows: +1, or the first txn of a later epoch, nothing else', () => {
    assert.ok(follows(5, 6) && follows(E + 9, 3 * E + 1) && follows(3 * E, 3 * E + 1));
    assert.ok(!follows(5, 7) && !follows(E + 9, 2 * E + 2) && !follows(2 * E + 1, E + 2));
  });

  test('a jump is a header alone', () => {
    const j = encodeChunkHeader({ prevZxid: 9, firstZxid: 15, lastZxid: 15, count: 0, firstTime: 0, lastTime: 0, lastCrc: null });
    assert.equal(readChunk('j', j).records.length, 0);
    assert.equal(readChunkHeader('j', j).lastCrc, null);
    assert.throws(
      () =>
        readChunkHeader(
          'j',
          encodeChunkHeader({ prevZxid: 9, firstZxid: 15, lastZxid: 16, count: 0, firstTime: 0, lastTime: 0, lastCrc: null }),
        ),
      ChunkCorruptError,
    );
  });

  test("the header names its last txn's checksum, as the log framed it (the history proof at the chain's end)", () => {
    const buf = chunkOf(0, [1, 2, 3]);
    const h = readChunkHeader('c', buf);
    const last = readChunk('c', buf).records.at(-1)!;
    assert.equal(h.lastCrc, recordCrc(encodeEntry(last.hdr, last.txn)));
    const payload = encodeEntry(last.hdr, last.txn).length;
    assert.equal(h.lastCrc, buf.readUInt32BE(buf.length - payload - 4), "the last record's own crc field (length, crc, payload)");
    const lying = Buffer.concat([encodeChunkHeader({ ...h, lastCrc: (h.lastCrc! + 1) >>> 0 }), buf.subarray(CHUNK_HEADER_BYTES)]);
    assert.throws(() => readChunk('c', lying), /checksum differs from the one its header names/);
  });

  test('a header of another format version is refused by name, not read as a damaged or short one', () => {
    // version 1: 56 bytes, no lastCrc (a version-1 jump is a 56-byte file)
    const v1 = Buffer.alloc(56);
    v1.writeUInt32BE(CHUNK_MAGIC, 0);
    v1.writeInt32BE(1, 4);
    assert.throws(
      () => readChunkHeader('txns/txns.start', v1),
      /chunk format version 1; this Ark reads version 2 only.*new, empty directory/,
    );
    assert.throws(() => readChunk('txns/txns.start', Buffer.concat([v1, Buffer.alloc(40)])), /chunk format version 1/);
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

describe('archive lag and when a chunk is due under a steady load', () => {
  const at = (z: number, m: Partial<MemberState> = {}): MemberState => member({ committed: z, archivable: z, applied: z, ...m });
  // the chain ends at `end`, whose txn was committed at `endTime` (its chunk header says so)
  const ending = (end: number, endTime: number, holes: ArchiveView['holes'] = []): ArchiveView => ({ ...view(end), endTime, holes });
  const big = { chunkTxnsMax: 1_000_000 };

  test('a follower reports the lag of the oldest txn still waiting, not the time since it first saw one wait', () => {
    // the leader archives every interval (1 s) up to what was committed then; the follower always
    // holds a second of txns beyond the chain's end, so it never catches up completely
    const f = seeing(ending(100, 0), 0, big);
    let end = 100;
    for (let t = 0; t <= 60_000; t += 500) {
      if (t > 0 && t % 1000 === 0) end += 100;
      if (t > 0) reread(f, t, at(end + 100, { duty: false }), ending(end, t - 1000));
      assert.equal(f.next(t + 1, at(end + 100, { duty: false })), null, 'the follower does not step in while the chain moves');
    }
    const lag = f.lagMs(60_001);
    assert.ok(lag <= 2 * OPTS.archiveIntervalMs, `lag ${lag} ms after a minute of steady load, the archive ~1 s behind`);
  });

  test('the duty member under a steady load writes one chunk per interval, and its lag stays under it', () => {
    const a = seeing(ending(5, 0), 0, { ...big, refreshMs: 1e9 });
    let chunks = 0;
    let maxLag = 0;
    for (let t = 10; t <= 30_000; t += 10) {
      const committed = 5 + Math.floor(t / 10); // a txn every 10 ms
      maxLag = Math.max(maxLag, a.lagMs(t));
      const x = a.next(t, at(committed));
      if (x?.kind !== 'chunk') continue;
      chunks++;
      a.done(t, { ok: true, wrote: { zxid: x.upTo } });
      reread(a, t, at(committed), ending(x.upTo, t)); // its last txn was committed just now
    }
    assert.ok(chunks >= 28 && chunks <= 31, `${chunks} chunks in 30 s with a 1 s interval`);
    assert.ok(maxLag <= OPTS.archiveIntervalMs + 10, `lag at most ${maxLag} ms`);
  });

  test("filling a hole does not restart the wait of the txns after the chain's end (their RPO, their lag)", () => {
    const a = seeing(ending(20, 50), 0, big);
    assert.equal(a.next(100, at(30)), null, '21..30 wait from 100');
    reread(a, 600, at(30), ending(20, 50, [{ after: 10, before: 15, jumpFrom: 10, afterCrc: null }]));
    assert.deepEqual(a.next(600, at(30)), { kind: 'chunk', after: 10, upTo: 15, slot: 'fill', afterCrc: null });
    a.done(650, { ok: true, wrote: { zxid: 15 } });
    reread(a, 650, at(30), ending(20, 50));
    assert.equal(a.lagMs(700), 600, 'the oldest waiting txn has waited since 100');
    assert.equal(a.next(1100, at(30))?.kind, 'chunk', 'due an interval after they began to wait, not after the fill');
  });

  test('a flush ends once the archive reached what was committed when it was asked, however fast txns come', () => {
    const a = seeing(ending(5, 0), 0, big);
    a.flush();
    assert.deepEqual(a.next(1, at(10)), { kind: 'chunk', after: 5, upTo: 10, slot: 'next', afterCrc: null });
    a.done(20, { ok: true, wrote: { zxid: 10 } });
    reread(a, 20, at(12), ending(10, 15));
    assert.equal(a.next(25, at(12)), null, '11..12 were committed after the flush: they wait for the interval');
    const b = seeing(ending(5, 0), 0, big);
    b.flush(8); // a fixed target (before a restore, at a clean stop)
    assert.deepEqual(b.next(1, at(12)), { kind: 'chunk', after: 5, upTo: 12, slot: 'next', afterCrc: null });
    b.done(20, { ok: true, wrote: { zxid: 7 } }); // cut short by its size
    reread(b, 20, at(14), ending(7, 5));
    assert.equal(b.next(21, at(14))?.kind, 'chunk', 'not there yet: the flush goes on');
  });
});
