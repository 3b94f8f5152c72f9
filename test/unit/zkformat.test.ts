// Ark's tree digest equals ZooKeeper's: a snapshot and a txn log written by Apache ZooKeeper 3.8
// (test/fixtures/zk38, made on loopback with the Debian package) are read, Adler32-checked, and the
// digest recomputed over the snapshot's nodes with Ark's algorithm equals the one ZooKeeper stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/servers.js';
import { adler32, readZkLog, readZkSnapshot, ZkFormatError } from '../../src/storage/zkformat.js';
import { addDigest, nodeDigest } from '../../src/tree/digest.js';
import { OpCode } from '../../src/wire/protocol.js';

const fixture = (f: string): Buffer => readFileSync(join(repoRoot, 'test', 'fixtures', 'zk38', f));

test('adler32_matches_known_values', () => {
  assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
  assert.equal(adler32(Buffer.alloc(0)), 1);
  const big = Buffer.alloc(100000, 0xff);
  assert.equal(adler32(big), adler32(big, 50000, 100000, adler32(big, 0, 50000)));
});

test('zookeeper_snapshot_digest_equals_arks_digest_of_the_same_nodes', () => {
  const snap = readZkSnapshot('snapshot.a', fixture('snapshot.a'));
  assert.ok(snap.digest, 'ZooKeeper 3.8 writes a digest trailer');
  let d = 0n;
  for (const n of snap.nodes) d = addDigest(d, nodeDigest(n.path, { data: n.data, ...n.stat }));
  assert.equal(d, snap.digest.value);
  const paths = snap.nodes.map((n) => n.path);
  for (const p of ['/', '/app', '/app/eph', '/app/empty', '/cont', '/cont/k', '/zookeeper', '/zookeeper/config'])
    assert.ok(paths.includes(p), p);
  const cont = snap.nodes.find((n) => n.path === '/cont')!;
  assert.equal(cont.stat.ephemeralOwner, -0x8000000000000000n, 'containers are stored with owner Long.MIN_VALUE');
});

test('zookeeper_txn_log_reads_with_every_checksum', () => {
  const log = readZkLog('log.1', fixture('log.1'));
  assert.equal(log.torn, false);
  const types = log.entries.map((e) => e.hdr.type);
  assert.ok(types.includes(OpCode.createSession) && types.includes(OpCode.createContainer) && types.includes(OpCode.setACL));
  assert.ok(
    log.entries.every((e) => e.digest !== null),
    '3.8 appends a TxnDigest to each txn',
  );
  const zxids = log.entries.map((e) => e.hdr.zxid);
  assert.deepEqual(
    zxids,
    zxids.map((_, i) => zxids[0]! + i),
    'contiguous zxids',
  );
});

test('a_flipped_bit_in_a_zookeeper_snapshot_is_refused', () => {
  const buf = Buffer.from(fixture('snapshot.a'));
  buf[200] = buf[200]! ^ 0x10;
  assert.throws(
    () => readZkSnapshot('snapshot.a', buf),
    (e) => e instanceof ZkFormatError || (e as Error).name === 'KeeperError',
  );
});
