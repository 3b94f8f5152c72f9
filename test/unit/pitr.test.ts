// Point-in-time restore from an archive (src/backup/archive.ts, pointInTime) by time, across the
// gaps a chain can have: a hole, and a restore that replaced the history. Archives are laid down
// file by file, as the archiver writes them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { START_LINK, linkName } from '../../src/backup/chain.js';
import { encodeChunkHeader, frameRecord, recordCrc } from '../../src/backup/chunk.js';
import { backupMeta, backupName, backupStream } from '../../src/backup/format.js';
import { LocalArchiveStore } from '../../src/backup/store.js';
import { pointInTime, readBackupMeta, writeStatus } from '../../src/backup/archive.js';
import { encodeSnapshotNow } from '../../src/storage/snapshot.js';
import { DataTree } from '../../src/tree/datatree.js';
import { encodeEntry } from '../../src/replica/replica.js';
import { JuteWriter } from '../../src/wire/jute.js';
import { OpCode } from '../../src/wire/protocol.js';

const E = 4294967296;
const hex = (z: number): string => `0x${z.toString(16)}`;

function entry(zxid: number, time: number): Buffer {
  return encodeEntry({ sessionId: 1n, cxid: 0, zxid, time, type: OpCode.error }, { type: OpCode.error, err: -101 });
}

/** An archive directory and the writers of its files. */
function archive(): {
  dir: string;
  store: LocalArchiveStore;
  backup: (zxid: number, timeMs: number) => Promise<void>;
  link: (name: string, prev: number, txns: Array<[number, number]>) => void;
  jump: (from: number, to: number) => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'ark-pitr-'));
  mkdirSync(join(dir, 'backups'));
  mkdirSync(join(dir, 'txns'));
  return {
    dir,
    store: new LocalArchiveStore(dir),
    // a backup of an empty tree at `zxid`, captured at `timeMs` (small: its trailer is inside the 64 KiB head readBackupMeta reads)
    backup: async (zxid, timeMs) => {
      const tree = new DataTree();
      tree.finishLoad(zxid);
      const snap = encodeSnapshotNow(tree, [], timeMs);
      const parts: Buffer[] = [];
      for await (const c of backupStream(
        backupMeta(zxid, 0, 'test', new Date(timeMs)),
        (async function* () {
          yield snap;
        })(),
      ))
        parts.push(c);
      writeFileSync(join(dir, 'backups', backupName(zxid)), Buffer.concat(parts));
    },
    link: (name, prev, txns) => {
      const w = new JuteWriter(4096);
      for (const [z, t] of txns) frameRecord(w, entry(z, t));
      const lastCrc = recordCrc(entry(...txns.at(-1)!));
      const h = encodeChunkHeader({
        prevZxid: prev,
        firstZxid: txns[0]![0],
        lastZxid: txns.at(-1)![0],
        count: txns.length,
        firstTime: txns[0]![1],
        lastTime: txns.at(-1)![1],
        lastCrc,
      });
      writeFileSync(join(dir, 'txns', name), Buffer.concat([h, w.take()]));
    },
    jump: (from, to) =>
      writeFileSync(
        join(dir, 'txns', linkName(from)),
        encodeChunkHeader({ prevZxid: from, firstZxid: to, lastZxid: to, count: 0, firstTime: 0, lastTime: 0, lastCrc: null }),
      ),
  };
}

const at = (store: LocalArchiveStore, timeMs: number): Promise<string> =>
  pointInTime(store, { timeMs }).then(
    (p) => hex(p.zxid),
    (e: Error) => `refused: ${e.message}`,
  );

describe('point in time by time, across gaps', () => {
  test('after a restore and before the next txn, the state is the restored one, not the history the restore replaced', async () => {
    // txns 1..5 at t=1000..1004; a restore at t=5000 starts epoch 2 at 2:0; its first txn at t=9000
    const a = archive();
    await a.backup(0, 500);
    a.link(START_LINK, 0, [
      [1, 1000],
      [2, 1001],
      [3, 1002],
      [4, 1003],
      [5, 1004],
    ]);
    await a.backup(2 * E, 5000);
    a.jump(5, 2 * E);
    a.link(linkName(2 * E), 2 * E, [
      [2 * E + 1, 9000],
      [2 * E + 2, 9001],
    ]);
    assert.equal(await at(a.store, 6000), hex(2 * E));
    assert.equal(await at(a.store, 9000), hex(2 * E + 1));
    assert.equal(await at(a.store, 1002), '0x3');
    // before the restore, after the last archived txn: were more txns committed before the restore? The archive cannot say
    assert.match(await at(a.store, 3000), /^refused: .*falls in a gap.*after its txn 0x5.*--to-zxid/);
  });

  test('inside a hole the state is refused (its txns are not archived); once the base after it was captured, it is that base', async () => {
    // txns 1..5 archived; 6..20 in no serving member's log: the chain jumps 5 -> 20 (captured at
    // t=5000); 21, 22 at t=9000
    const a = archive();
    await a.backup(0, 500);
    await a.backup(20, 5000);
    a.link(START_LINK, 0, [
      [1, 1000],
      [2, 1001],
      [3, 1002],
      [4, 1003],
      [5, 1004],
    ]);
    a.jump(5, 20);
    a.link(linkName(20), 20, [
      [21, 9000],
      [22, 9001],
    ]);
    assert.match(await at(a.store, 3000), /^refused: .*falls in a gap.*hole: the txns after 0x5 up to 0x14/);
    assert.equal(await at(a.store, 6000), '0x14');
  });

  test("before the first archived txn, the state is the chain's base once it was captured", async () => {
    const a = archive();
    await a.backup(0, 500);
    a.link(START_LINK, 0, [
      [1, 1000],
      [2, 1001],
    ]);
    assert.equal(await at(a.store, 700), '0x0');
    assert.match(await at(a.store, 400), /^refused: no archived txn is at or before/);
  });

  test('a chain that ends with a jump to a restore: complete as of a later time, the state then is the restored one', async () => {
    const a = archive();
    await a.backup(0, 500);
    a.link(START_LINK, 0, [
      [1, 1000],
      [2, 1001],
    ]);
    await a.backup(3 * E, 5000);
    a.jump(2, 3 * E);
    assert.match(await at(a.store, 6000), /^refused: the newest archived state is 0x300000000 .*may not be archived yet/);
    await writeStatus(a.store, { zxid: 3 * E, asOfMs: 7000, serverId: 1 });
    assert.equal(await at(a.store, 6000), hex(3 * E));
  });

  test('a backup smaller than the head read for its metadata still gives its metadata', async () => {
    // its checksum trailer follows the gzip stream inside the head; gunzip stopped on it before handing out anything
    const a = archive();
    await a.backup(7, 4242);
    assert.equal((await readBackupMeta(a.store, `backups/${backupName(7)}`)).time, new Date(4242).toISOString());
  });
});

test('a point-in-time rebuild reports the backup loaded, then the archived txns replayed of the count within the epoch', async () => {
  const a = archive();
  await a.backup(0, 500);
  a.link(START_LINK, 0, [
    [1, 1000],
    [2, 1001],
    [3, 1002],
  ]);
  a.link(linkName(3), 3, [
    [4, 1003],
    [5, 1004],
  ]);
  const loading: Array<{ done: number; total: number | null }> = [];
  const replaying: Array<{ done: number; total: number | null; unit: string }> = [];
  const p = await pointInTime(
    a.store,
    { zxid: 4 },
    { loading: (x) => loading.push({ done: x.done, total: x.total }), replaying: (x) => replaying.push(x) },
  );
  assert.equal(p.zxid, 4);
  assert.equal(loading.at(-1)?.done, loading.at(-1)?.total, 'the backup loaded whole');
  assert.deepEqual(replaying[0], { done: 0, total: 4, unit: 'txns' }, 'zxids 1..4 in one epoch: 4 txns to replay');
  assert.deepEqual(replaying.at(-1), { done: 4, total: 4, unit: 'txns' });
  assert.ok(
    replaying.every((x, i) => i === 0 || x.done >= replaying[i - 1]!.done),
    'never backwards',
  );
});
