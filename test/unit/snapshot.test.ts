// Snapshots: the copy-on-write capture writes the tree exactly as it was at the capture zxid even
// while txns keep applying between slices; the reader proves the rebuild by the digest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataTree } from '../../src/tree/datatree.js';
import { OpCode, OPEN_ACL_UNSAFE } from '../../src/wire/protocol.js';
import { CONTAINER_OWNER, type Txn } from '../../src/wire/txn.js';
import { SnapshotWriter, readSnapshot, SnapshotCorruptError } from '../../src/storage/snapshot.js';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDir } from '../../src/storage/datadir.js';
import { checkWrittenSnapshot, type WrittenSnapshot } from '../../src/storage/readback.js';
import { tempDir } from '../helpers/servers.js';
import { rejectsBroken } from '../helpers/invariant.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A random but valid txn against `tree` (create / setData / delete / setACL / multi / closeSession). */
function randomTxn(tree: DataTree, r: () => number, fewNames = false): Txn {
  const paths = [...tree.nodes.keys()].filter((p) => !p.startsWith('/zookeeper'));
  const pick = paths[Math.floor(r() * paths.length)]!;
  const roll = r();
  if (roll < 0.45 || paths.length < 5) {
    const parent = tree.get(pick)!;
    if (parent.ephemeralOwner !== 0n && parent.ephemeralOwner !== CONTAINER_OWNER)
      return { type: OpCode.setData, path: pick, data: Buffer.from('e'), version: parent.version + 1 };
    // few names: children are deleted and created again under the same names while a capture runs
    const name = `${pick === '/' ? '' : pick}/n${Math.floor(r() * (fewNames ? 6 : 1e9))}`;
    const owner = r() < 0.2 ? 7n : r() < 0.1 ? CONTAINER_OWNER : 0n;
    return {
      type: OpCode.create,
      path: name,
      data: Buffer.from(String(r())),
      acl: OPEN_ACL_UNSAFE,
      ephemeralOwner: owner,
      parentCVersion: parent.cversion + 1,
    };
  }
  const node = tree.get(pick)!;
  if (roll < 0.7) return { type: OpCode.setData, path: pick, data: r() < 0.1 ? null : Buffer.from(String(r())), version: node.version + 1 };
  if (roll < 0.8)
    return {
      type: OpCode.setACL,
      path: pick,
      acl: [{ perms: 1 + Math.floor(r() * 30), id: { scheme: 'world', id: 'anyone' } }],
      version: node.aversion + 1,
    };
  if (roll < 0.97 && pick !== '/' && node.numChildren === 0) return { type: OpCode.delete, path: pick };
  return { type: OpCode.closeSession, paths2Delete: [] };
}

function apply(tree: DataTree, zxid: number, txn: Txn): void {
  tree.apply({ sessionId: 7n, cxid: zxid, zxid, time: 1_000_000 + zxid, type: txn.type }, txn, []);
}

test('capture_writes_the_tree_as_of_its_zxid_while_txns_keep_applying', () => {
  for (let seed = 1; seed <= 80; seed++) {
    const r = rng(seed);
    const fewNames = seed % 2 === 0;
    const live = new DataTree();
    const shadow = new DataTree(); // only the txns up to the capture point
    let zxid = 0;
    for (; zxid < 400; ) {
      const t = randomTxn(live, r, fewNames);
      zxid++;
      apply(live, zxid, t);
      apply(shadow, zxid, t);
    }
    const writer = new SnapshotWriter(live, [{ id: 7n, timeoutMs: 4000 }], 123);
    const chunks: Buffer[] = [];
    for (let c = writer.next(3); c; c = writer.next(3)) {
      chunks.push(c);
      for (let k = 0; k < 5 + (seed % 4) * 10; k++) {
        zxid++;
        apply(live, zxid, randomTxn(live, r, fewNames));
      }
    }
    const loaded = readSnapshot(`seed ${seed}`, Buffer.concat(chunks));
    assert.equal(loaded.zxid, 400, `seed=${seed}`);
    assert.equal(loaded.digest, shadow.digest, `seed=${seed}: snapshot equals the tree at its zxid`);
    assert.equal(loaded.tree.nodeCount, shadow.nodeCount, `seed=${seed}`);
    for (const [path, n] of shadow.nodes) {
      const m = loaded.tree.get(path);
      assert.ok(m, `seed=${seed} ${path}`);
      assert.deepEqual(m.stat(), n.stat(), `seed=${seed} ${path}`);
      assert.deepEqual(m.acl, n.acl);
    }
    assert.deepEqual([...loaded.tree.ephemerals.keys()], [...shadow.ephemerals.keys()]);
    assert.notEqual(live.digest, shadow.digest, 'the live tree moved on meanwhile');
  }
});

test('snapshot_round_trips_gzip_and_sessions', () => {
  const tree = new DataTree();
  apply(tree, 1, {
    type: OpCode.create,
    path: '/a',
    data: Buffer.from([0, 1, 2]),
    acl: OPEN_ACL_UNSAFE,
    ephemeralOwner: 0n,
    parentCVersion: 1,
  });
  apply(tree, 2, { type: OpCode.create, path: '/a/e', data: null, acl: OPEN_ACL_UNSAFE, ephemeralOwner: 99n, parentCVersion: 1 });
  const w = new SnapshotWriter(tree, [{ id: 99n, timeoutMs: 5000 }], 42);
  const parts: Buffer[] = [];
  for (let c = w.next(1000); c; c = w.next(1000)) parts.push(c);
  const loaded = readSnapshot('x.gz', gzipSync(Buffer.concat(parts)));
  assert.deepEqual(loaded.sessions, [{ id: 99n, timeoutMs: 5000 }]);
  assert.equal(loaded.timeMs, 42);
  assert.equal(loaded.tree.get('/a/e')!.data, null);
  assert.deepEqual([...loaded.tree.ephemerals.get(99n)!], ['/a/e']);
  assert.equal(loaded.tree.digest, tree.digest);
});

test('every_single_byte_flip_in_a_snapshot_is_detected', () => {
  const tree = new DataTree();
  apply(tree, 1, {
    type: OpCode.create,
    path: '/x',
    data: Buffer.from('hello'),
    acl: OPEN_ACL_UNSAFE,
    ephemeralOwner: 0n,
    parentCVersion: 1,
  });
  const w = new SnapshotWriter(tree, [], 1);
  const parts: Buffer[] = [];
  for (let c = w.next(10); c; c = w.next(10)) parts.push(c);
  const good = Buffer.concat(parts);
  for (let i = 0; i < good.length; i++) {
    const bad = Buffer.from(good);
    bad[i] = bad[i]! ^ 0x01;
    assert.throws(() => readSnapshot('s', bad), SnapshotCorruptError, `flip at ${i} passed`);
  }
  assert.throws(() => readSnapshot('s', good.subarray(0, good.length - 1)), SnapshotCorruptError);
});

test('capture_keeps_a_parents_children_as_of_its_zxid_without_copying_them', () => {
  const live = new DataTree();
  let zxid = 0;
  const create = (path: string): void => {
    zxid++;
    apply(live, zxid, { type: OpCode.create, path, data: Buffer.from(path), acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: -1 });
  };
  const del = (path: string): void => {
    zxid++;
    apply(live, zxid, { type: OpCode.delete, path });
  };
  for (const p of ['/a', '/a/y', '/a/z', '/a/w', '/b']) create(p);
  const writer = new SnapshotWriter(live, [], 1);
  const chunks: Buffer[] = [writer.next(1)!]; // the root only: /a is not written yet
  create('/a/x'); // after the capture: must not appear
  del('/a/x'); //   ...not even as a removed child
  del('/a/y'); //   existed at the capture: must appear
  del('/a/z');
  create('/a/z'); // replaced: the old one appears, once
  create('/a/v'); // after the capture: must not appear
  for (let c = writer.next(1); c; c = writer.next(1)) chunks.push(c);
  const loaded = readSnapshot('children', Buffer.concat(chunks));
  assert.deepEqual([...loaded.tree.nodes.keys()].filter((p) => p.startsWith('/a')).sort(), ['/a', '/a/w', '/a/y', '/a/z']);
  assert.equal(loaded.tree.get('/a/z')!.czxid, 3, 'the /a/z of the capture point');
});

test('a snapshot that would miss a node the tree holds is refused, not written smaller (the writer counts against the capture point)', () => {
  const tree = new DataTree();
  apply(tree, 1, {
    type: OpCode.create,
    path: '/a',
    data: Buffer.from('a'),
    acl: OPEN_ACL_UNSAFE,
    ephemeralOwner: 0n,
    parentCVersion: 1,
  } as Txn);
  // a node the map holds but no parent lists: what a capture bug would leave the walk unable to reach
  tree.nodes.set('/orphan', tree.nodes.get('/a')!);
  const writer = new SnapshotWriter(tree, [], 1);
  assert.throws(() => {
    while (writer.next(100));
  }, /wrote \d+ nodes; the tree held \d+ at its capture point/);
  assert.doesNotThrow(() => tree.beginCapture().zxid, 'the capture was released');
});

test('a snapshot written to a data dir is read back at its ends before it counts: what is there must be what the writer wrote', async (t) => {
  const tree = new DataTree();
  for (let z = 1; z <= 50; z++)
    apply(tree, z, {
      type: OpCode.create,
      path: `/n${z}`,
      data: Buffer.from(`v${z}`),
      acl: OPEN_ACL_UNSAFE,
      ephemeralOwner: 0n,
      parentCVersion: z,
    } as Txn);
  for (const gzip of [false, true]) {
    const dir = tempDir('readback');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const dd = new DataDir(dir, dir, { forceSync: false, segmentBytesMax: 1 << 20, preAllocBytes: 1 << 16 });
    dd.prepare();
    const info = await dd.writeSnapshot(tree, [{ id: 7n, timeoutMs: 4000 }], { gzip, now: 1234 });
    const raw = readFileSync(info.file);
    const plain = gzip ? gunzipSync(raw) : raw;
    assert.equal(readSnapshot(info.file, raw).digest, tree.digest);
    const wrote: WrittenSnapshot = { zxid: 50, timeMs: 1234, nodes: tree.nodeCount, digest: tree.digest, bytes: plain.length, gzip };
    await checkWrittenSnapshot(info.file, wrote);
    // what a write that lost or misplaced bytes leaves on disk, each checked against what was written
    const onDisk = (name: string, content: Buffer): string => {
      const f = join(dir, name);
      writeFileSync(f, gzip ? gzipSync(content) : content);
      return f;
    };
    const otherZxid = Buffer.from(plain);
    otherZxid.writeUInt32BE(49, 12);
    await rejectsBroken(
      checkWrittenSnapshot(onDisk('zxid', otherZxid), wrote),
      /its header reads back as magic 0x41524b53, version 1, zxid 0x31, time 1234; the writer wrote version 1, zxid 0x32, time 1234: written and read back differ/,
    );
    const longer = Buffer.concat([plain, Buffer.alloc(1)]);
    await rejectsBroken(
      checkWrittenSnapshot(onDisk('longer', longer), wrote),
      gzip ? /its gzip trailer says \d+ bytes \(mod 2\^32\), the writer wrote \d+/ : /\d+ bytes on disk, the writer wrote \d+/,
    );
    if (gzip) continue; // a gzipped file's trailer is read back only as far as its size
    const otherCount = Buffer.from(plain);
    otherCount.writeUInt32BE(tree.nodeCount - 1, plain.length - 24 + 4);
    await rejectsBroken(
      checkWrittenSnapshot(onDisk('count', otherCount), wrote),
      new RegExp(
        `its trailer reads back as ${tree.nodeCount - 1} nodes, digest -?\\d+ \\(version 2\\); the writer wrote ${tree.nodeCount} nodes`,
      ),
    );
    await rejectsBroken(
      checkWrittenSnapshot(onDisk('short', plain.subarray(0, 20)), { ...wrote, bytes: 20 }),
      /its header reads back as 20 bytes/,
    );
  }
});
