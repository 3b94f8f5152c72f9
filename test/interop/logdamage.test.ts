// A damaged or torn last txn-log record, side by side with Apache ZooKeeper 3.8 (issue 12): one
// bit flipped inside the last, acknowledged record makes both refuse to start (ZooKeeper:
// "CRC check failed"); the same record cut short, as by a crash mid-write, is dropped by both and
// they start with every earlier write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkClient } from '../../src/client/client.js';
import { scanSegment } from '../../src/storage/txnlog.js';
import { requireOrSkip, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';

interface System {
  name: string;
  start(dataDir: string): Promise<RunningServer>;
  /** the newest txn log file and where its last record's bytes are */
  lastRecord(dataDir: string): { file: string; start: number; end: number };
}

const ZK: System = {
  name: 'ZooKeeper',
  start: (dataDir) => startZooKeeper({ dataDir, timeoutMs: 20000 }),
  lastRecord(dataDir) {
    // FileTxnLog: a 16-byte header, then per txn: Adler32 (8), length (4), the txn, 0x42
    const dir = join(dataDir, 'version-2');
    const file = join(
      dir,
      readdirSync(dir)
        .filter((f) => f.startsWith('log.'))
        .sort()
        .at(-1)!,
    );
    const buf = readFileSync(file);
    let off = 16;
    let last = { start: 0, end: 0 };
    while (off + 12 <= buf.length && buf.readInt32BE(off + 8) > 0) {
      const end = off + 12 + buf.readInt32BE(off + 8);
      last = { start: off + 12, end }; // the txn bytes, between the length and the 0x42
      off = end + 1;
    }
    return { file, ...last };
  },
};

const ARK: System = {
  name: 'Ark',
  start: (dataDir) => startArk({ dataDir }),
  lastRecord(dataDir) {
    const dir = join(dataDir, 'ark-v1');
    const file = join(
      dir,
      readdirSync(dir)
        .filter((f) => /^log\.[0-9a-f]{16}$/.test(f))
        .sort()
        .at(-1)!,
    );
    const recs = scanSegment(file, readFileSync(file)).records;
    return { file, start: recs.at(-2)!.end! + 8, end: recs.at(-1)!.end! };
  },
};

/** Writes /n0../n4, stops cleanly, damages the last record with `damage`, starts again: the children then, or the failure. */
async function afterDamage(sys: System, damage: (buf: Buffer, rec: { start: number; end: number }) => Buffer): Promise<string[] | Error> {
  const dataDir = tempDir(`logdamage-${sys.name}`);
  const srv = await sys.start(dataDir);
  const c = await ZkClient.connect({ port: srv.port });
  for (let i = 0; i < 5; i++) await c.create(`/n${i}`, `v${i}`);
  c.disconnect();
  await srv.stop({ keepData: true });
  const rec = sys.lastRecord(dataDir);
  writeFileSync(rec.file, damage(readFileSync(rec.file), rec));
  let again: RunningServer;
  try {
    again = await sys.start(dataDir);
  } catch (e) {
    return e as Error;
  }
  try {
    const c2 = await ZkClient.connect({ port: again.port });
    const kids = (await c2.getChildren('/')).filter((k) => k !== 'zookeeper').sort();
    c2.disconnect();
    return kids;
  } finally {
    await again.stop();
  }
}

const flipMiddle = (buf: Buffer, rec: { start: number; end: number }): Buffer => {
  const at = Math.floor((rec.start + rec.end) / 2);
  buf[at] = buf[at]! ^ 0x04;
  return buf;
};
const cutMiddle = (buf: Buffer, rec: { start: number; end: number }): Buffer => buf.subarray(0, Math.floor((rec.start + rec.end) / 2));

test('a bit flipped in the last acknowledged record: ZooKeeper 3.8 and Ark both refuse to start', async (t) => {
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) {
    t.skip(skip);
    return;
  }
  const zk = await afterDamage(ZK, flipMiddle);
  assert.ok(zk instanceof Error, `ZooKeeper started with ${String(zk)}`);
  assert.match(zk.message, /java\.io\.IOException: CRC check failed/);
  const ark = await afterDamage(ARK, flipMiddle);
  assert.ok(ark instanceof Error, `Ark started with ${String(ark)}`);
  assert.match(ark.message, /record checksum mismatch in a record that is completely written/);
});

test('the last record cut short by a crash: ZooKeeper 3.8 and Ark both drop it and start with the rest', async (t) => {
  const skip = requireOrSkip(zookeeperMissing());
  if (skip) {
    t.skip(skip);
    return;
  }
  const want = ['n0', 'n1', 'n2', 'n3'];
  assert.deepEqual(await afterDamage(ZK, cutMiddle), want);
  assert.deepEqual(await afterDamage(ARK, cutMiddle), want);
});
