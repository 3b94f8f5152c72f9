// The txn log's own invariant (src/storage/filelog.ts): zxids appended to it strictly increase, so
// a bug upstream stops the write instead of leaving two histories in one log that recovery would
// refuse only at the next start, after the txns were acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDir } from '../../src/storage/datadir.js';
import { encodeEntry } from '../../src/replica/replica.js';
import { OpCode } from '../../src/wire/protocol.js';

const entry = (zxid: number): { zxid: number; data: Buffer } => ({
  zxid,
  data: encodeEntry({ sessionId: 1n, cxid: 0, zxid, time: 1000, type: OpCode.error }, { type: OpCode.error, err: -101 }),
});

function append(dd: DataDir, zxids: number[]): Promise<Error | null> {
  return new Promise((r) => dd.log.appendEntries(zxids.map(entry), r));
}

function dataDir(): DataDir {
  const dir = mkdtempSync(join(tmpdir(), 'ark-filelog-'));
  const dd = new DataDir(dir, dir, { forceSync: false, segmentBytesMax: 1 << 20, preAllocBytes: 4096 });
  dd.prepare();
  return dd;
}

test('appends go above everything appended before: a repeated or lower zxid stops the write', async () => {
  const dd = dataDir();
  assert.equal(await append(dd, [1, 2, 3]), null);
  assert.match(String(await append(dd, [3])), /appending zxid 0x3 after 0x3: zxids must increase/);
  assert.match(String(await append(dd, [5, 4])), /appending zxid 0x4 after 0x5/);
});

test('after a TRUNC the log goes on above the cut; after it is removed whole (a SNAP), from anywhere', async () => {
  const dd = dataDir();
  assert.equal(await append(dd, [1, 2, 3, 4]), null);
  dd.log.truncateAfter(2);
  assert.equal(await append(dd, [3]), null, "the leader's txn 3 replaces the dropped one");
  dd.log.removeAll();
  assert.equal(await append(dd, [0x100000001]), null);
});
