// Subtree restore, the pure parts, against a recorded tree (a scripted history applied through
// prep, as a server does): what an offline restore lays down (every field, the ancestors, nothing
// else), what a live restore sends, the restoreSubtree txn as prep decides it (counters never
// backwards, pending changes seen), as it applies (fields, digest, watch events) and as it is
// encoded and replayed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Prep, type PrepContext } from '../../src/server/prep.js';
import { DataTree, type ZNode } from '../../src/tree/datatree.js';
import { WatchMode, type WatchEvent } from '../../src/tree/watches.js';
import { RestoreError } from '../../src/backup/restore.js';
import { subtreeNodes, subtreeTree } from '../../src/backup/subtree.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import { JuteReader, JuteWriter } from '../../src/wire/jute.js';
import { CreateFlag, EventType, OpCode, Perms, readRequest, writeRequest, type ACL, type Id } from '../../src/wire/protocol.js';
import { readTxnBody, readTxnHeader, writeTxnBody, writeTxnHeader, type Txn, type TxnHeader } from '../../src/wire/txn.js';
import type { SubtreeNode } from '../../src/wire/subtree.js';
import { SnapshotWriter, readSnapshot } from '../../src/storage/snapshot.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
const S1 = 0x0100000000000001n;
const S2 = 0x0100000000000002n;

/** A tree and its prep, written to as a server does: prep, apply live, applied. */
class Server {
  readonly tree = new DataTree();
  readonly prep = new Prep(this.tree, { extendedTypesEnabled: true, enforceQuota: false });
  zxid: number;
  constructor(startZxid = 0) {
    this.zxid = startZxid;
  }
  ctx(sessionId = S1, authInfo: readonly Id[] = []): PrepContext {
    return { sessionId, authInfo, zxid: ++this.zxid, time: 5000 + this.zxid };
  }
  hdr(ctx: PrepContext, type: number): TxnHeader {
    return { sessionId: ctx.sessionId, cxid: 1, zxid: ctx.zxid, time: ctx.time, type };
  }
  write(type: number, req: unknown, sessionId = S1): { txn: Txn; hdr: TxnHeader; events: WatchEvent[] } {
    const ctx = this.ctx(sessionId);
    const txn = this.prep.prepare(type, req, ctx);
    return this.apply(txn, this.hdr(ctx, type));
  }
  apply(txn: Txn, hdr: TxnHeader): { txn: Txn; hdr: TxnHeader; events: WatchEvent[] } {
    const events: WatchEvent[] = [];
    this.tree.apply(hdr, txn, events, 'live');
    this.prep.applied(hdr.zxid);
    return { txn, hdr, events };
  }
  create(
    path: string,
    data: string | null,
    o: { flags?: number; acl?: ACL[]; ttl?: number; sessionId?: bigint; type?: number } = {},
  ): string {
    const req = {
      path,
      data: data === null ? null : Buffer.from(data),
      acl: o.acl ?? OPEN,
      flags: o.flags ?? CreateFlag.PERSISTENT,
      ttl: o.ttl ?? -1,
    };
    const t = this.write(o.type ?? OpCode.create, req, o.sessionId).txn;
    return (t as { path: string }).path;
  }
}

/** The backup's history: every kind of node under /app, changed after creation, beside other paths. */
function recorded(): Server {
  const s = new Server();
  s.create('/srv', 'ancestor', { acl: READ.concat(OPEN) });
  s.create('/srv/app', 'app');
  s.create('/srv/app/cfg', null, { acl: [{ perms: Perms.READ | Perms.ADMIN, id: { scheme: 'world', id: 'anyone' } }] });
  s.create('/srv/app/q', 'queue');
  for (let i = 0; i < 4; i++) s.create('/srv/app/q/job-', `j${i}`, { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
  s.write(OpCode.delete, { path: '/srv/app/q/job-0000000001', version: -1 });
  s.write(OpCode.setData, { path: '/srv/app', data: Buffer.from('app v2'), version: -1 });
  s.write(OpCode.setACL, { path: '/srv/app/cfg', acl: READ, version: -1 });
  s.create('/srv/app/box', null, { type: OpCode.createContainer, flags: CreateFlag.CONTAINER });
  s.create('/srv/app/box/in', 'x');
  s.create('/srv/app/ttl', 't', { type: OpCode.createTTL, flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 60000 });
  s.create('/srv/app/lock', 'mine', { flags: CreateFlag.EPHEMERAL, sessionId: S1 });
  s.create('/srv/other', 'not restored');
  s.create('/srv/eph', 'of S2', { flags: CreateFlag.EPHEMERAL, sessionId: S2 });
  s.create('/elsewhere', 'not restored');
  return s;
}

function fields(n: ZNode): unknown {
  return {
    data: n.dataBytes,
    acl: n.acl,
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    cversion: n.cversion,
    aversion: n.aversion,
    owner: n.ephemeralOwner,
    pzxid: n.pzxid,
  };
}

describe('offline: subtreeTree', () => {
  test('the subtree and the ancestors with every field as backed up, /zookeeper, nothing else; sessions that own an ephemeral in it', () => {
    const b = recorded().tree;
    const sessions = [
      { id: S1, timeoutMs: 10000 },
      { id: S2, timeoutMs: 10000 },
    ];
    const r = subtreeTree(b, sessions, '/srv/app');
    const kept = [...r.tree.nodes.keys()].sort();
    const under = [...b.nodes.keys()].filter((p) => p === '/srv/app' || p.startsWith('/srv/app/'));
    assert.deepEqual(kept, ['/', '/srv', ...under, '/zookeeper', '/zookeeper/config', '/zookeeper/quota'].sort());
    for (const p of ['/', '/srv', ...under, '/zookeeper']) assert.deepEqual(fields(r.tree.get(p)!), fields(b.get(p)!), `${p}: every field`);
    assert.deepEqual(r.tree.childrenOf('/srv'), ['app']);
    assert.equal(r.tree.digest, r.tree.computeDigest(), "the digest is the kept tree's");
    assert.deepEqual(r.sessions, [{ id: S1, timeoutMs: 10000 }], 'S1 owns /srv/app/lock; S2 only something not restored');
    assert.equal(r.tree.lastProcessedZxid, b.lastProcessedZxid);
    assert.ok(r.tree.containers.has('/srv/app/box') && r.tree.ttls.has('/srv/app/ttl'));
  });

  test('bad paths are refused with what to do', () => {
    const b = recorded().tree;
    const refuses = (p: string, re: RegExp): void => {
      assert.throws(
        () => subtreeTree(b, [], p),
        (e: unknown) => e instanceof RestoreError && e.usage && re.test(e.message),
      );
    };
    refuses('/', /whole tree/);
    refuses('/zookeeper', /server's own/);
    refuses('/zookeeper/quota', /server's own/);
    refuses('/srv/nope/x', /not in the backup \(the nearest node it holds above it is \/srv\)/);
    refuses('srv', /not a valid znode path/);
    refuses('/srv/', /not a valid znode path/);
  });
});

describe('live: subtreeNodes and the restoreSubtree txn', () => {
  test("what a live restore sends: every node but the sessions' ephemerals, parents first, with data, ACL, counters and the owner of containers and TTL nodes", () => {
    const b = recorded().tree;
    const { nodes, ephemeralsSkipped } = subtreeNodes(b, '/srv/app');
    assert.equal(ephemeralsSkipped, 1);
    assert.equal(nodes[0]!.path, '/srv/app');
    const seen = new Set<string>();
    for (const n of nodes) {
      const src = b.get(n.path)!;
      assert.deepEqual(
        {
          data: n.data?.toString('latin1') ?? null,
          acl: n.acl,
          version: n.version,
          cversion: n.cversion,
          aversion: n.aversion,
          owner: n.ephemeralOwner,
        },
        {
          data: src.dataBytes,
          acl: src.acl,
          version: src.version,
          cversion: src.cversion,
          aversion: src.aversion,
          owner: src.ephemeralOwner,
        },
      );
      if (n.path !== '/srv/app') assert.ok(seen.has(n.path.slice(0, n.path.lastIndexOf('/'))), `${n.path} after its parent`);
      seen.add(n.path);
    }
    assert.ok(!seen.has('/srv/app/lock'));
    assert.throws(() => subtreeNodes(b, '/srv/app/lock'), /ephemeral/);
  });

  /** A live server whose /srv/app went on after the backup. */
  function live(): Server {
    const s = new Server(1000);
    s.create('/srv', 'live ancestor');
    s.create('/srv/app', 'live');
    for (let i = 0; i < 9; i++) s.write(OpCode.setData, { path: '/srv/app', data: Buffer.from(`v${i}`), version: -1 });
    s.create('/srv/app/q', 'live q');
    s.create('/srv/app/q/job-', 'live', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
    s.create('/srv/app/new', 'goes');
    s.create('/srv/app/new/kid', 'goes too');
    s.create('/srv/app/mine', 'e', { flags: CreateFlag.EPHEMERAL, sessionId: S2 });
    s.create('/srv/sibling', 'stays');
    return s;
  }

  function restoreTxn(s: Server, nodes: SubtreeNode[], authInfo: readonly Id[] = []): { txn: Txn; hdr: TxnHeader } {
    const ctx = s.ctx(S1, authInfo);
    const txn = s.prep.prepare(OpCode.restoreSubtree, { path: '/srv/app', nodes }, ctx);
    return { txn, hdr: s.hdr(ctx, OpCode.restoreSubtree) };
  }

  test("applied live: data and ACL as backed up, counters never backwards, zxids and times the txn's, digest right, the events of a replacement", () => {
    const b = recorded().tree;
    const { nodes } = subtreeNodes(b, '/srv/app');
    const s = live();
    const liveApp = s.tree.get('/srv/app')!;
    const liveQ = s.tree.get('/srv/app/q')!;
    const parentCv = s.tree.get('/srv')!.cversion;
    const w = (path: string, id: number, child = false): void =>
      (child ? s.tree.childWatches : s.tree.dataWatches).add(path, id, WatchMode.Standard);
    w('/srv/app', 1);
    w('/srv/app/new', 2);
    w('/srv/app/q', 3, true);
    w('/srv/app/cfg', 4); // an exists watch on a node the restore brings back
    w('/srv', 5, true);
    w('/srv/sibling', 6);
    const { txn, hdr } = restoreTxn(s, nodes);
    const { events } = s.apply(txn, hdr);

    for (const n of nodes) {
      const got = s.tree.get(n.path)!;
      const src = b.get(n.path)!;
      assert.equal(got.dataBytes, src.dataBytes, `${n.path} data`);
      assert.deepEqual(got.acl, src.acl, `${n.path} ACL`);
      assert.equal(got.ephemeralOwner, src.ephemeralOwner);
      assert.deepEqual(
        [got.czxid, got.mzxid, got.pzxid, got.ctime, got.mtime],
        [hdr.zxid, hdr.zxid, hdr.zxid, hdr.time, hdr.time],
        `${n.path}: the txn's zxid and time`,
      );
    }
    const app = s.tree.get('/srv/app')!;
    assert.equal(app.version, Math.max(b.get('/srv/app')!.version, 10), 'above the live version (9 setData: 9, so 10)');
    assert.equal(s.tree.get('/srv/app/q')!.cversion, Math.max(b.get('/srv/app/q')!.cversion, liveQ.cversion));
    assert.equal(
      s.tree.get('/srv/app/cfg')!.version,
      b.get('/srv/app/cfg')!.version,
      "a node new to the live tree keeps the backup's counters",
    );
    assert.ok(app.cversion >= liveApp.cversion);
    assert.equal(s.tree.get('/srv/app/new'), undefined);
    assert.equal(s.tree.get('/srv/app/mine'), undefined, 'a live ephemeral under the subtree goes');
    assert.equal(s.tree.ephemerals.get(S2), undefined);
    assert.equal(s.tree.get('/srv')!.cversion, parentCv, '/srv/app was replaced, not created: its parent counts no create');
    assert.equal(s.tree.get('/srv/sibling')!.dataBytes, 'stays');
    assert.equal(s.tree.digest, s.tree.computeDigest());
    const ev = events.map((e) => `${e.watcher}:${e.path}:${e.type}`).sort();
    assert.deepEqual(
      ev,
      [
        `1:/srv/app:${EventType.NodeDataChanged}`,
        `2:/srv/app/new:${EventType.NodeDeleted}`,
        `3:/srv/app/q:${EventType.NodeChildrenChanged}`,
        `4:/srv/app/cfg:${EventType.NodeCreated}`,
      ].sort(),
    );

    // the next sequential create under a restored parent: above every restored name
    const names = s.tree.childrenOf('/srv/app/q').map((n) => Number(n.slice(-10)));
    const next = s.create('/srv/app/q/job-', 'next', { flags: CreateFlag.PERSISTENT_SEQUENTIAL });
    assert.ok(Number(next.slice(-10)) > Math.max(...names), `${next} after ${names.join(',')}`);
  });

  test('prep sees it before it applies: writes pipelined behind it fit the restored subtree', () => {
    const { nodes } = subtreeNodes(recorded().tree, '/srv/app');
    const s = live();
    // a write decided before the restore and not applied yet
    const c0 = s.ctx();
    const early = s.prep.prepare(OpCode.create, { path: '/srv/app/new/early', data: null, acl: OPEN, flags: 0, ttl: -1 }, c0);
    const r = restoreTxn(s, nodes);
    const seq = s.ctx();
    const after = s.prep.prepare(
      OpCode.create,
      { path: '/srv/app/q/job-', data: null, acl: OPEN, flags: CreateFlag.PERSISTENT_SEQUENTIAL, ttl: -1 },
      seq,
    );
    assert.throws(
      () => s.prep.prepare(OpCode.setData, { path: '/srv/app/new', data: null, version: -1 }, s.ctx()),
      (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoNode,
    );
    const close = s.prep.closeSession(S2, ++s.zxid);
    assert.deepEqual((close as { paths2Delete: string[] }).paths2Delete, [], "S2's ephemeral under /srv/app goes with the restore");
    // every member applies them in this order, live (the invariants check each against the tree)
    s.apply(early, s.hdr(c0, OpCode.create));
    s.apply(r.txn, r.hdr);
    s.apply(after, s.hdr(seq, OpCode.create));
    s.apply(close, { sessionId: S2, cxid: 0, zxid: s.zxid, time: 9999, type: OpCode.closeSession });
    assert.equal(s.tree.get('/srv/app/new/early'), undefined, 'the earlier create went with the replaced subtree');
    const restored = nodes.filter((n) => n.path.startsWith('/srv/app/q/')).map((n) => Number(n.path.slice(-10)));
    assert.ok(Number((after as { path: string }).path.slice(-10)) > Math.max(...restored));
  });

  test("refused: without ALL on /, a session's ephemeral, nodes out of order or outside the path, a path that cannot be replaced", () => {
    const { nodes } = subtreeNodes(recorded().tree, '/srv/app');
    const s = live();
    const bad = (req: unknown, code: number, authInfo: readonly Id[] = []): void =>
      assert.throws(
        () => s.prep.prepare(OpCode.restoreSubtree, req, s.ctx(S1, authInfo)),
        (e: unknown) => e instanceof KeeperError && e.code === code,
      );
    bad({ path: '/srv/app', nodes: [{ ...nodes[0]!, ephemeralOwner: S1 }] }, ErrorCode.BadArguments);
    bad({ path: '/srv/app', nodes: nodes.slice(1) }, ErrorCode.BadArguments);
    bad({ path: '/srv/app', nodes: [nodes[0]!, { ...nodes[1]!, path: '/srv/other/x' }] }, ErrorCode.BadArguments);
    bad({ path: '/srv/app', nodes: [nodes[0]!, { ...nodes[1]!, path: '/srv/app/a/b' }] }, ErrorCode.BadArguments);
    bad({ path: '/zookeeper', nodes: [{ ...nodes[0]!, path: '/zookeeper' }] }, ErrorCode.BadArguments);
    bad({ path: '/nope/app', nodes: [{ ...nodes[0]!, path: '/nope/app' }] }, ErrorCode.NoNode);
    s.write(OpCode.setACL, { path: '/', acl: [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'ops:x' } }], version: -1 });
    bad({ path: '/srv/app', nodes }, ErrorCode.NoAuth);
  });

  test('snapshots: one being written while the restore applies is the tree before it; one written after holds the restored subtree', () => {
    const { nodes } = subtreeNodes(recorded().tree, '/srv/app');
    for (const per of [1, 3, 1000]) {
      const s = live();
      const before = live().tree;
      const { txn, hdr } = restoreTxn(s, nodes);
      const writer = new SnapshotWriter(s.tree, [], 1);
      const chunks: Buffer[] = [writer.next(per)!];
      s.apply(txn, hdr);
      for (let c = writer.next(per); c; c = writer.next(per)) chunks.push(c);
      const during = readSnapshot('during', Buffer.concat(chunks));
      assert.equal(during.digest, before.digest, `per ${per}: the capture point's tree`);
      for (const [p, n] of before.nodes) assert.deepEqual(fields(during.tree.get(p)!), fields(n), `per ${per}: ${p}`);
      assert.equal(during.tree.nodeCount, before.nodeCount);
      const w2 = new SnapshotWriter(s.tree, [], 2);
      const parts: Buffer[] = [];
      for (let c = w2.next(per); c; c = w2.next(per)) parts.push(c);
      const after = readSnapshot('after', Buffer.concat(parts));
      assert.equal(after.digest, s.tree.digest);
      for (const [p, n] of s.tree.nodes) assert.deepEqual(fields(after.tree.get(p)!), fields(n), `per ${per}: ${p}`);
    }
  });

  test('the txn and the request encode and decode to themselves; replayed from its bytes it makes the same tree', () => {
    const { nodes } = subtreeNodes(recorded().tree, '/srv/app');
    const s = live();
    const replica = live();
    const { txn, hdr } = restoreTxn(s, nodes);
    const w = new JuteWriter(256);
    writeTxnHeader(w, hdr);
    writeTxnBody(w, txn);
    const r = new JuteReader(w.take());
    const h2 = readTxnHeader(r);
    const t2 = readTxnBody(r, h2.type, h2.sessionId);
    assert.equal(r.remaining, 0);
    assert.deepEqual(t2, txn);
    s.apply(txn, hdr);
    replica.tree.apply(h2, t2, [], 'replay');
    assert.equal(replica.tree.digest, s.tree.digest);
    for (const [p, n] of s.tree.nodes) assert.deepEqual(fields(replica.tree.get(p)!), fields(n), p);

    const req = { type: OpCode.restoreSubtree, req: { path: '/srv/app', nodes } } as const;
    const rw = new JuteWriter(256);
    writeRequest(rw, req);
    assert.deepEqual(readRequest(OpCode.restoreSubtree, new JuteReader(rw.take())), req);
  });
});
