// Reading committed txns back out of a member's own log for the archive (src/storage/logreader.ts),
// and the breaks a SNAP install records where the kept old log and the new one do not join
// (src/storage/logbreaks.ts, DataDir.installSnapshot and purge).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecordRun, type RunRequest } from '../../src/storage/logreader.js';
import { breakName, listBreaks, writeBreak } from '../../src/storage/logbreaks.js';
import { DataDir } from '../../src/storage/datadir.js';
import { encodeLogHeader, encodeRawRecord } from '../../src/storage/txnlog.js';
import { encodeEntry } from '../../src/replica/replica.js';
import { recordCrc } from '../../src/backup/chunk.js';
import { JuteWriter } from '../../src/wire/jute.js';
import { OpCode } from '../../src/wire/protocol.js';

const E = 4294967296;
const hex = (z: number): string => `0x${z.toString(16)}`;

function entry(zxid: number, time = 1000): Buffer {
  return encodeEntry({ sessionId: 1n, cxid: 0, zxid, time, type: OpCode.error }, { type: OpCode.error, err: -101 });
}

/** A log segment holding exactly these txns, as FileTxnLog writes one. */
function segment(dir: string, zxids: number[]): void {
  const w = new JuteWriter(4096);
  for (const z of zxids) encodeRawRecord(w, entry(z));
  writeFileSync(join(dir, `log.${zxids[0]!.toString(16).padStart(16, '0')}`), Buffer.concat([encodeLogHeader(zxids[0]!), w.take()]));
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

function logDir(): string {
  return mkdtempSync(join(tmpdir(), 'ark-logreader-'));
}

async function run(dir: string, req: Partial<RunRequest> & { after: number; upTo: number }): Promise<string> {
  const r = await readRecordRun(dir, { bytesMax: 1 << 20, snapshots: [], ...req });
  return typeof r === 'string' ? r : `${hex(r.firstZxid)}..${hex(r.lastZxid)}`;
}

// A follower down at 1:10 (its commit point) comes back to a leader of epoch 2 whose history ends at
// 1:50: it installs a SNAP at 1:50, keeps its old log up to 1:10 for the archive, and logs 2:1 on.
// 2:1 "follows" 1:10 by the zxid rule (the first txn of a later epoch), yet 1:11..1:50 are between.
function snapKeptOldLog(dir: string): void {
  segment(dir, range(E + 1, 10));
  segment(dir, [2 * E + 1, 2 * E + 2, 2 * E + 3]);
}

describe('reading a run of committed txns from the log', () => {
  test('a run stops where a SNAP install broke the log, though the next txn looks like it follows (the recorded break)', async () => {
    const dir = logDir();
    snapKeptOldLog(dir);
    assert.equal(
      await run(dir, { after: E + 5, upTo: 2 * E + 3 }),
      `${hex(E + 6)}..${hex(2 * E + 3)}`,
      'nothing recorded, nothing given: the log looks continuous (the fault)',
    );
    writeBreak(dir, { keep: E + 10, snapshot: E + 50 });
    // no snapshot file is given: the break file alone stops the run (the snapshot at 1:50 may be purged long before the kept log)
    assert.equal(await run(dir, { after: E + 5, upTo: 2 * E + 3 }), `${hex(E + 6)}..${hex(E + 10)}`);
    assert.equal(await run(dir, { after: E + 10, upTo: 2 * E + 3 }), 'missing', 'nothing continues the kept log');
    assert.equal(await run(dir, { after: E + 10, upTo: 2 * E + 3, snapshots: [E + 10] }), 'missing', 'not even a snapshot at keep');
    assert.equal(
      await run(dir, { after: E + 50, upTo: 2 * E + 3, snapshots: [E + 50] }),
      `${hex(2 * E + 1)}..${hex(2 * E + 3)}`,
      'a run continuing the snapshot goes on',
    );
  });

  test('a run never passes over a snapshot between two records (the second guard, when no break was recorded)', async () => {
    const dir = logDir();
    snapKeptOldLog(dir);
    assert.equal(await run(dir, { after: E + 5, upTo: 2 * E + 3, snapshots: [E + 50] }), `${hex(E + 6)}..${hex(E + 10)}`);
  });

  test("a restore's snapshot starts another history: the run stops before its first txn", async () => {
    const dir = logDir();
    segment(dir, [...range(E + 1, 5), 3 * E + 1, 3 * E + 2]);
    assert.equal(await run(dir, { after: E + 2, upTo: 3 * E + 2, snapshots: [3 * E] }), `${hex(E + 3)}..${hex(E + 5)}`);
    assert.equal(await run(dir, { after: 3 * E, upTo: 3 * E + 2 }), `${hex(3 * E + 1)}..${hex(3 * E + 2)}`);
  });

  test('a run continues from the last txn of a segment into the next one', async () => {
    // the segment holding `after` must be read, or its record is never seen and the run is refused
    const dir = logDir();
    segment(dir, range(1, 10));
    segment(dir, range(11, 5));
    assert.equal(await run(dir, { after: 10, upTo: 15 }), '0xb..0xf');
    assert.equal(await run(dir, { after: 9, upTo: 15 }), '0xa..0xf');
  });
});

describe('reading a segment', () => {
  test('a record larger than a read block, and one whose length runs past the end of the file (still being written, or damaged)', async () => {
    const dir = logDir();
    const w = new JuteWriter(1 << 22);
    encodeRawRecord(w, entry(E + 1));
    const big = encodeEntry(
      { sessionId: 1n, cxid: 0, zxid: E + 2, time: 1000, type: OpCode.setData },
      { type: OpCode.setData, path: '/big', data: Buffer.alloc(3 << 20, 1), version: -1 },
    );
    encodeRawRecord(w, big);
    encodeRawRecord(w, entry(E + 3));
    const tail = Buffer.alloc(16);
    tail.writeInt32BE(0x7fffffff, 0); // a length no file here holds
    writeFileSync(join(dir, `log.${(E + 1).toString(16).padStart(16, '0')}`), Buffer.concat([encodeLogHeader(E + 1), w.take(), tail]));
    const r = await readRecordRun(dir, { after: E, upTo: E + 10, bytesMax: 64 << 20, snapshots: [E] });
    assert.ok(typeof r !== 'string');
    assert.deepEqual([r.firstZxid, r.lastZxid, r.count], [E + 1, E + 3, 3]);
    assert.ok(r.bytes.length > 3 << 20, 'the big record whole');
    assert.equal(r.lastCrc, recordCrc(entry(E + 3)));
  });

  test('a record at or below one read before it is a second history in the log: the read fails, within a segment and across segments', async () => {
    const within = logDir();
    segment(within, [...range(1, 10), 4, 11]);
    // the stray 4 is below `after`: a read that passed over it would hand out 7..11 as if whole
    await assert.rejects(
      readRecordRun(within, { after: 6, upTo: 11, bytesMax: 1 << 20, snapshots: [] }),
      /log\.0000000000000001: the record at offset \d+ has zxid 0x4, not above the 0xa read before it: two histories in one log/,
    );
    const across = logDir();
    segment(across, range(1, 10));
    segment(across, range(8, 5));
    await assert.rejects(
      readRecordRun(across, { after: 3, upTo: 12, bytesMax: 1 << 20, snapshots: [] }),
      /log\.0000000000000008: the record at offset 16 has zxid 0x8, not above the 0xa read before it/,
    );
  });
});

describe("the history check at the chain's end", () => {
  test("the run names its last record's checksum, as the log framed it", async () => {
    const dir = logDir();
    segment(dir, range(1, 10));
    const r = await readRecordRun(dir, { after: 3, upTo: 7, bytesMax: 1 << 20, snapshots: [] });
    assert.ok(typeof r !== 'string');
    assert.equal(r.lastCrc, recordCrc(entry(7)));
  });

  test('a log whose txn at `after` is not the archived one is another history: diverged, nothing read', async () => {
    const dir = logDir();
    segment(dir, range(1, 10));
    assert.equal(await run(dir, { after: 5, upTo: 10, afterCrc: recordCrc(entry(5)) }), '0x6..0xa', 'the same txn: go on');
    assert.equal(await run(dir, { after: 5, upTo: 10, afterCrc: recordCrc(entry(5, 999)) }), 'diverged', 'another txn at 0x5');
    assert.equal(await run(dir, { after: 5, upTo: 10, afterCrc: null }), '0x6..0xa', 'a base at 0x5: nothing to compare');
  });

  test('a log that continues from a snapshot at `after` holds no record there to compare: the zxid vouches for it (the documented limit)', async () => {
    const dir = logDir();
    segment(dir, range(6, 5));
    assert.equal(await run(dir, { after: 5, upTo: 10, snapshots: [5], afterCrc: recordCrc(entry(5, 999)) }), '0x6..0xa');
  });
});

describe('log breaks on disk', () => {
  function dataDirWith(zxids: number[][]): DataDir {
    const dir = mkdtempSync(join(tmpdir(), 'ark-breaks-'));
    const dd = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 20, preAllocBytes: 4096 });
    dd.prepare();
    for (const z of zxids) segment(dd.log.dir, z);
    return dd;
  }

  test('a SNAP install that keeps the old log records the break; one that keeps it all the way to the snapshot, or nothing, records none', () => {
    const dd = dataDirWith([range(E + 1, 10), range(E + 11, 5)]);
    dd.installSnapshot(E + 50, Buffer.from('image'), E + 12);
    assert.deepEqual(listBreaks(dd.log.dir), [{ keep: E + 12, snapshot: E + 50 }]);
    const whole = dataDirWith([range(1, 10)]);
    whole.installSnapshot(10, Buffer.from('image'), 10);
    assert.deepEqual(listBreaks(whole.log.dir), []);
    const none = dataDirWith([range(1, 10)]);
    none.installSnapshot(50, Buffer.from('image'), -1);
    assert.deepEqual(listBreaks(none.log.dir), []);
  });

  test('recovery finishing an interrupted install records the break too', () => {
    const dd = dataDirWith([range(E + 1, 10)]);
    // the install's marker and temp snapshot are durable; the process died before anything else
    writeFileSync(join(dd.snapDir, 'snapshot.0000000100000032.install'), 'image');
    writeFileSync(join(dd.snapDir, 'installing-snapshot'), `${E + 50}\n${E + 4}\n`);
    // (the image here is no snapshot, so what recovery then makes of the dir does not matter)
    try {
      dd.recover({ repair: true });
    } catch {
      /* refused: the snapshot does not parse */
    }
    assert.deepEqual(listBreaks(dd.log.dir), [{ keep: E + 4, snapshot: E + 50 }]);
    assert.ok(!existsSync(join(dd.snapDir, 'installing-snapshot')));
  });

  test('purge removes a break once the segments holding its kept txns are gone', () => {
    const dd = dataDirWith([range(E + 1, 10)]);
    dd.installSnapshot(E + 50, Buffer.from('image'), E + 10);
    segment(dd.log.dir, [2 * E + 1, 2 * E + 2]);
    writeFileSync(join(dd.snapDir, 'snapshot.0000000200000002'), 'newer');
    assert.deepEqual(
      dd.purge(2, E + 5).map((f) => f.split('/').at(-1)),
      [],
      'the archive still needs 1:6..1:a',
    );
    assert.equal(listBreaks(dd.log.dir).length, 1);
    const removed = dd.purge(1).map((f) => f.split('/').at(-1));
    assert.deepEqual(removed, ['snapshot.0000000100000032', 'log.0000000100000001', breakName({ keep: E + 10, snapshot: E + 50 })]);
    assert.ok(readdirSync(dd.log.dir).every((f) => !f.startsWith('break.')));
  });
});

describe('the snapshots a SNAP install leaves', () => {
  function withSnapshots(zxids: number[]): DataDir {
    const dir = mkdtempSync(join(tmpdir(), 'ark-install-'));
    const dd = new DataDir(dir, dir, { forceSync: true, segmentBytesMax: 1 << 20, preAllocBytes: 4096 });
    dd.prepare();
    for (const z of zxids) writeFileSync(join(dd.snapDir, `snapshot.${z.toString(16).padStart(16, '0')}`), 'older');
    return dd;
  }
  const left = (dd: DataDir): string[] =>
    dd
      .snapshots()
      .map((s) => hex(s.zxid))
      .sort();

  test("a failed restore campaign's image goes: no txn was committed after it, and the leader's history is another", () => {
    // the restorer installed its image at 5:0 as leader of epoch 5 (its commit point became 5:0),
    // lost its quorum; the others elected epoch 6 with the old history, which SNAPs it at 6:5
    const dd = withSnapshots([4 * E + 90, 5 * E]);
    dd.installSnapshot(6 * E + 5, Buffer.from('image'), 5 * E);
    assert.deepEqual(
      left(dd),
      [hex(4 * E + 90), hex(6 * E + 5)],
      'the image is no restore base for the archive, nor a fallback for recovery',
    );
    const noArchive = withSnapshots([5 * E]);
    noArchive.installSnapshot(6 * E + 5, Buffer.from('image'), -1);
    assert.deepEqual(left(noArchive), [hex(6 * E + 5)]);
  });

  test('after a restart, a restore the ensemble went on from (txns logged after it) stays, though the member knows nothing committed past it', () => {
    // a restarted member's commit point is its snapshot (the restore image at 5:0); its log holds
    // 5:1..5:3, proposed only after a quorum took the restore; the leader SNAPs it at 6:5
    const dd = withSnapshots([5 * E]);
    segment(dd.log.dir, [5 * E + 1, 5 * E + 2, 5 * E + 3]);
    dd.installSnapshot(6 * E + 5, Buffer.from('image'), 5 * E);
    assert.deepEqual(left(dd), [hex(5 * E), hex(6 * E + 5)], 'the restore base the archive may still jump to');
    const older = withSnapshots([5 * E]);
    segment(older.log.dir, [4 * E + 7, 4 * E + 8, 5 * E + 1]); // the epoch's first txn inside an older segment
    older.installSnapshot(6 * E + 5, Buffer.from('image'), 5 * E);
    assert.deepEqual(left(older), [hex(5 * E), hex(6 * E + 5)]);
    const later = withSnapshots([5 * E]);
    segment(later.log.dir, [4 * E + 7, 4 * E + 8, 6 * E + 1]); // a later leader's DIFF after the image: its history held it
    later.installSnapshot(7 * E + 5, Buffer.from('image'), 5 * E);
    assert.deepEqual(left(later), [hex(5 * E), hex(7 * E + 5)]);
    const failed = withSnapshots([5 * E]);
    segment(failed.log.dir, [4 * E + 7, 4 * E + 8]); // nothing logged after the image
    failed.installSnapshot(6 * E + 5, Buffer.from('image'), 5 * E);
    assert.deepEqual(left(failed), [hex(6 * E + 5)]);
  });

  test('a crash after the install cut the log does not judge the image again from the cut log', () => {
    const dd = withSnapshots([5 * E]);
    segment(dd.log.dir, [5 * E + 1, 5 * E + 2, 5 * E + 3]);
    const cut = dd.log.truncateAfter.bind(dd.log);
    dd.log.truncateAfter = (z: number): number => {
      cut(z);
      throw new Error('crash right after the cut');
    };
    assert.throws(() => dd.installSnapshot(6 * E + 5, Buffer.from('image'), 5 * E), /crash right after the cut/);
    // the next start finishes the install from its marker (then fails to load these fake snapshots)
    const again = new DataDir(dd.dataDir, dd.dataDir, { forceSync: true, segmentBytesMax: 1 << 20, preAllocBytes: 4096 });
    assert.throws(() => again.recover({ repair: true, ensemble: true }));
    assert.deepEqual(left(again), [hex(5 * E), hex(6 * E + 5)], 'the restore the first run found proven stays');
  });

  test('a restore the ensemble took and went on from stays, and so does the restore a SNAP brings', () => {
    const dd = withSnapshots([5 * E]);
    dd.installSnapshot(6 * E + 5, Buffer.from('image'), 5 * E + 30);
    assert.deepEqual(left(dd), [hex(5 * E), hex(6 * E + 5)], "txns were committed after it: the leader's history");
    const learner = withSnapshots([4 * E + 90]);
    learner.installSnapshot(5 * E, Buffer.from('image'), 4 * E + 90);
    assert.deepEqual(left(learner), [hex(4 * E + 90), hex(5 * E)]);
  });
});
