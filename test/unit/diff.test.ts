// The tree diff (src/backup/diff.ts, diff-report.ts) against recorded trees: two states of one
// recorded history, each written to the snapshot format and read back (as backups hold them),
// with the expected differences written out field by field.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DataTree, type ZNode } from '../../src/tree/datatree.js';
import { OpCode, Perms, type ACL } from '../../src/wire/protocol.js';
import { CONTAINER_OWNER, type Txn, type TxnHeader } from '../../src/wire/txn.js';
import { encodeSnapshotNow, readSnapshot } from '../../src/storage/snapshot.js';
import { STAT_FIELDS, diffTrees, differs, statValue, type DiffEntry, type StatField } from '../../src/backup/diff.js';
import { entryJson, entryLines, summaryLine } from '../../src/backup/diff-report.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { parseArchivePoint, statFieldsFor } from '../../src/cli/backup-diff.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
const S1 = 0x0100000000000001n;
const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);

function hdr(zxid: number, type: number): TxnHeader {
  return { sessionId: S1, cxid: zxid, zxid, time: T0 + zxid * 1000, type };
}
const create = (path: string, data: string | null, o: { acl?: ACL[]; owner?: bigint; type?: 1 | 19 } = {}): Txn => ({
  type: o.type ?? OpCode.create,
  path,
  data: data === null ? null : Buffer.from(data),
  acl: o.acl ?? OPEN,
  ephemeralOwner: o.owner ?? 0n,
  parentCVersion: -1,
});
// a SetDataTxn / SetACLTxn carries the version the node has after it (ZooKeeper's PrepRequestProcessor)
const setData = (path: string, data: string, version = 1): Txn => ({ type: OpCode.setData, path, data: Buffer.from(data), version });
const setACL = (path: string, acl: ACL[], version = 1): Txn => ({ type: OpCode.setACL, path, acl, version });
const del = (path: string): Txn => ({ type: OpCode.delete, path });

/** The recorded history: txns 1..8 make state A, 9..15 continue it to state B. */
const HISTORY_A: Txn[] = [
  { type: OpCode.createSession, timeOutMs: 30000 },
  create('/app', 'v1'),
  create('/app/a', 'a'),
  create('/app/b', 'eph', { owner: S1 }),
  create('/app/c', 'c', { acl: OPEN }),
  create('/gone', null),
  create('/gone/x', 'x'),
  create('/gone/x/y', 'y'),
];
const HISTORY_B: Txn[] = [
  setData('/app', 'v2'), // 9
  del('/app/a'), // 10
  create('/app/d', 'd'), // 11
  setACL('/app/c', READ), // 12
  del('/gone/x/y'), // 13
  del('/gone/x'), // 14
  create('/box', 'b', { type: OpCode.createContainer, owner: CONTAINER_OWNER }), // 15
];

/** A tree as a backup holds it: applied, written in the snapshot format, read back. */
function recorded(txns: Txn[]): DataTree {
  const t = new DataTree();
  for (const [i, txn] of txns.entries()) t.apply(hdr(i + 1, txn.type), txn, []);
  return readSnapshot('recorded', encodeSnapshotNow(t, [{ id: S1, timeoutMs: 30000 }], T0)).tree;
}

function diffAll(a: DataTree, b: DataTree, opts: Parameters<typeof diffTrees>[3] = {}) {
  const entries: DiffEntry[] = [];
  const summary = diffTrees(a, b, (e) => entries.push(e), opts);
  return { entries, summary };
}

const iso = (zxid: number): string => new Date(T0 + zxid * 1000).toISOString();

describe('diff of two recorded states', () => {
  const A = recorded(HISTORY_A);
  const B = recorded([...HISTORY_A, ...HISTORY_B]);

  test('the same tree twice: nothing differs', () => {
    const { entries, summary } = diffAll(A, recorded(HISTORY_A));
    assert.deepEqual(entries, []);
    assert.equal(differs(summary), false);
    assert.equal(summary.same, A.nodes.size);
    assert.equal(summary.nodesA, A.nodes.size);
    assert.equal(summary.nodesB, A.nodes.size);
  });

  test('every change of the history, in walk order, with both values of each differing field', () => {
    const { entries, summary } = diffAll(A, B);
    assert.deepEqual(entries.map(entryJson), [
      {
        kind: 'changed',
        path: '/',
        // /box created (15): a child create moves cversion and pzxid; the visible cversion is
        // 2 * creates - children (DataNode.copyStat), and /zookeeper is a child no txn created
        stat: { cversion: { a: 1, b: 2 }, numChildren: { a: 3, b: 4 }, pzxid: { a: 6, b: 15 } },
      },
      {
        kind: 'changed',
        path: '/app',
        data: { a: { data: 'v1', dataEncoding: 'utf8' }, b: { data: 'v2', dataEncoding: 'utf8' } },
        stat: {
          mzxid: { a: 2, b: 9 },
          mtime: { a: T0 + 2000, b: T0 + 9000 },
          version: { a: 0, b: 1 },
          // creates a, b, c (3) then delete a and create d: creates + deletes = 5
          cversion: { a: 3, b: 5 },
          pzxid: { a: 5, b: 11 },
        },
      },
      { kind: 'removed', path: '/app/a', a: nodeShape('a', OPEN, 3, 3, 0, 0n, 0, 3) },
      {
        kind: 'changed',
        path: '/app/c',
        acl: { a: ['world:anyone:cdrwa'], b: ['world:anyone:r'] },
        stat: { aversion: { a: 0, b: 1 } },
      },
      { kind: 'added', path: '/app/d', b: nodeShape('d', OPEN, 11, 11, 0, 0n, 0, 11) },
      { kind: 'added', path: '/box', b: nodeShape('b', OPEN, 15, 15, 0, CONTAINER_OWNER, 0, 15) },
      {
        kind: 'changed',
        path: '/gone',
        stat: { cversion: { a: 1, b: 2 }, numChildren: { a: 1, b: 0 }, pzxid: { a: 7, b: 14 } },
      },
      // a removed subtree: the node, then each descendant, parent first
      { kind: 'removed', path: '/gone/x', a: nodeShape('x', OPEN, 7, 7, 1, 0n, 1, 8) },
      { kind: 'removed', path: '/gone/x/y', a: nodeShape('y', OPEN, 8, 8, 0, 0n, 0, 8) },
    ]);
    assert.deepEqual({ added: summary.added, removed: summary.removed, changed: summary.changed }, { added: 2, removed: 3, changed: 4 });
    assert.deepEqual({ data: summary.dataChanged, acl: summary.aclChanged, stat: summary.statChanged }, { data: 1, acl: 1, stat: 4 });
    assert.deepEqual(summary.byStatField, { mzxid: 1, mtime: 1, version: 1, cversion: 3, aversion: 1, numChildren: 2, pzxid: 3 });
    assert.equal(summary.same + summary.changed + summary.removed, A.nodes.size);
    assert.equal(summary.same + summary.changed + summary.added, B.nodes.size);
  });

  test('the human lines say each difference with zxids in hex and times in ISO-8601', () => {
    const { entries, summary } = diffAll(A, B);
    const lines = entries.flatMap(entryLines);
    assert.deepEqual(lines.slice(4, 11), [
      '~ /app',
      '    data: "v1" -> "v2"',
      '    mzxid: 0x2 -> 0x9',
      `    mtime: ${iso(2)} -> ${iso(9)}`,
      '    version: 0 -> 1',
      '    cversion: 3 -> 5',
      '    pzxid: 0x5 -> 0xb',
    ]);
    assert.ok(lines.includes('- /app/a  (1 B, czxid 0x3)'));
    assert.ok(lines.includes('    acl: world:anyone:cdrwa -> world:anyone:r'));
    assert.ok(lines.includes('+ /box  (1 B, czxid 0xf)'));
    assert.match(summaryLine(summary), /^2 added, 3 removed, 4 changed \(data 1, ACL 1, Stat 4: /);
  });

  test('the other way round: added and removed swap, each field its values', () => {
    const { entries } = diffAll(B, A);
    assert.deepEqual(
      entries.map((e) => `${e.kind} ${e.path}`),
      [
        'changed /',
        'changed /app',
        'added /app/a',
        'changed /app/c',
        'removed /app/d',
        'removed /box',
        'changed /gone',
        'added /gone/x',
        'added /gone/x/y',
      ],
    );
  });

  test('data only: Stat-only changes are not differences', () => {
    const { entries, summary } = diffAll(A, B, { statFields: [] });
    assert.deepEqual(
      entries.map((e) => `${e.kind} ${e.path}`),
      ['changed /app', 'removed /app/a', 'changed /app/c', 'added /app/d', 'added /box', 'removed /gone/x', 'removed /gone/x/y'],
    );
    assert.equal(summary.statChanged, 0);
    // a tree against itself one txn later, where only Stat moved (a child created): the same by data
    const only = diffAll(recorded(HISTORY_A.slice(0, 2)), recorded(HISTORY_A.slice(0, 2)), { statFields: [] });
    assert.equal(differs(only.summary), false);
  });

  test('a subtree only', () => {
    const { entries, summary } = diffAll(A, B, { path: '/gone' });
    assert.deepEqual(
      entries.map((e) => `${e.kind} ${e.path}`),
      ['changed /gone', 'removed /gone/x', 'removed /gone/x/y'],
    );
    assert.equal(summary.nodesA, 3);
    assert.equal(summary.nodesB, 1);
    // a path on one side only is added (or removed) with its subtree
    assert.deepEqual(
      diffAll(A, B, { path: '/box' }).entries.map((e) => `${e.kind} ${e.path}`),
      ['added /box'],
    );
    assert.equal(differs(diffAll(A, B, { path: '/nowhere' }).summary), false);
  });

  test('progress ends at every node of both trees', () => {
    const seen: number[] = [];
    diffAll(A, B, { onProgress: (p) => seen.push(p.done), progressEvery: 3 });
    assert.equal(seen.at(-1), A.nodes.size + B.nodes.size);
    assert.ok(seen.length > 2);
    assert.deepEqual(
      seen,
      [...seen].sort((x, y) => x - y),
    );
  });
});

/** The JSON of a whole node, from its expected field values. */
function nodeShape(
  data: string,
  acl: ACL[],
  czxid: number,
  mzxid: number,
  cversionVisible: number,
  owner: bigint,
  numChildren: number,
  pzxid: number,
): Record<string, unknown> {
  return {
    data,
    dataEncoding: 'utf8',
    acl: acl.map((a) => `${a.id.scheme}:${a.id.id}:${a.perms === Perms.ALL ? 'cdrwa' : 'r'}`),
    stat: {
      czxid,
      mzxid,
      ctime: T0 + czxid * 1000,
      mtime: T0 + mzxid * 1000,
      version: 0,
      cversion: cversionVisible,
      aversion: 0,
      ephemeralOwner: `0x${BigInt.asUintN(64, owner).toString(16)}`,
      dataLength: data.length,
      numChildren,
      pzxid,
    },
  };
}

describe('each Stat field on its own', () => {
  /** A copy of `t` (through the snapshot format) with one node changed by `f`. */
  function changed(t: DataTree, path: string, f: (n: ZNode) => void): DataTree {
    const copy = readSnapshot('copy', encodeSnapshotNow(t, [], T0)).tree;
    f(copy.get(path)!);
    return copy;
  }
  const base = recorded(HISTORY_A);
  const cases: Array<[StatField, (n: ZNode) => void]> = [
    ['czxid', (n) => (n.czxid += 100)],
    ['mzxid', (n) => (n.mzxid += 100)],
    ['ctime', (n) => (n.ctime += 1)],
    ['mtime', (n) => (n.mtime += 1)],
    ['version', (n) => (n.version += 1)],
    ['cversion', (n) => (n.cversion += 1)],
    ['aversion', (n) => (n.aversion += 1)],
    ['ephemeralOwner', (n) => (n.ephemeralOwner = 0x0100000000000099n)],
    ['pzxid', (n) => (n.pzxid += 100)],
  ];
  for (const [field, f] of cases) {
    test(`${field} alone is a Stat difference, with both values`, () => {
      const other = changed(base, '/app/c', f);
      const { entries } = diffAll(base, other);
      assert.equal(entries.length, 1);
      const e = entries[0]!;
      assert.equal(e.kind, 'changed');
      if (e.kind !== 'changed') return;
      assert.deepEqual(e.stat, [field]);
      assert.equal(e.data, false);
      assert.equal(e.acl, false);
      assert.notEqual(statValue(e.a, field), statValue(e.b, field));
      // and not compared when left out
      assert.equal(differs(diffAll(base, other, { statFields: STAT_FIELDS.filter((x) => x !== field) }).summary), false);
    });
  }
  test('dataLength and numChildren come with the data and the children that make them', () => {
    const longer = changed(base, '/app/c', (n) => (n.data = Buffer.from('longer')));
    const e = diffAll(base, longer).entries[0]!;
    assert.ok(e.kind === 'changed' && e.data && e.stat.includes('dataLength'));
    // null data and empty data are different data of the same length
    const nul = changed(base, '/app/c', (n) => (n.data = null));
    const empty = changed(base, '/app/c', (n) => (n.data = Buffer.alloc(0)));
    const ne = diffAll(nul, empty).entries[0]!;
    assert.ok(ne.kind === 'changed' && ne.data && !ne.stat.includes('dataLength'));
    assert.deepEqual(entryJson(ne).data, { a: { data: null, dataEncoding: null }, b: { data: '', dataEncoding: 'utf8' } });
    const added = recorded([...HISTORY_A, create('/app/c/k', 'k')]);
    const c = diffAll(base, added).entries.find((x) => x.path === '/app/c')!;
    assert.ok(c.kind === 'changed' && c.stat.includes('numChildren'));
  });
  test('binary data shows as base64', () => {
    const bin = changed(base, '/app/c', (n) => (n.data = Buffer.from([0, 1, 2, 255])));
    const e = diffAll(base, bin).entries[0]!;
    assert.deepEqual(entryJson(e).data, { a: { data: 'c', dataEncoding: 'utf8' }, b: { data: 'AAEC/w==', dataEncoding: 'base64' } });
    assert.ok(entryLines(e).includes('    data: "c" -> base64:AAEC/w=='));
  });
});

describe('against a plain reference on random trees', () => {
  /** The differences by brute force: every path of either side looked up in the other. */
  function reference(a: DataTree, b: DataTree): Map<string, string> {
    const out = new Map<string, string>();
    for (const [p, x] of a.nodes) {
      const y = b.nodes.get(p);
      if (!y) out.set(p, 'removed');
      else {
        const same =
          x.dataBytes === y.dataBytes &&
          JSON.stringify(x.acl) === JSON.stringify(y.acl) &&
          STAT_FIELDS.every((f) => statValue(x, f) === statValue(y, f));
        if (!same) out.set(p, 'changed');
      }
    }
    for (const p of b.nodes.keys()) if (!a.nodes.has(p)) out.set(p, 'added');
    return out;
  }
  /** n random txns that apply to the tree whose paths are `paths` (kept up to date) */
  function randomHistory(rand: () => number, n: number, paths: string[]): Txn[] {
    const txns: Txn[] = [];
    const name = (): string => ['a', 'b', 'B', 'a-1', 'z', 'é', 'ab', 'a b'][Math.floor(rand() * 8)]!;
    for (let i = 0; i < n; i++) {
      const r = rand();
      const p = paths[Math.floor(rand() * paths.length)]!;
      if (r < 0.6) {
        const child = p === '/' ? `/${name()}` : `${p}/${name()}`;
        if (!paths.includes(child)) {
          txns.push(create(child, rand() < 0.2 ? null : String(Math.floor(rand() * 5))));
          paths.push(child);
        }
      } else if (r < 0.8 && p !== '/') txns.push(setData(p, String(Math.floor(rand() * 5))));
      else if (r < 0.9 && p !== '/') txns.push(setACL(p, rand() < 0.5 ? READ : OPEN));
      else if (p !== '/' && !paths.some((q) => q.startsWith(`${p}/`))) {
        txns.push(del(p));
        paths.splice(paths.indexOf(p), 1);
      }
    }
    return txns;
  }
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: the same set of differences, each path once, parents before children, siblings sorted`, () => {
      const rand = mulberry32(seed);
      const paths = ['/'];
      const common = randomHistory(rand, 150, paths);
      const a = recorded(common);
      // B: the common history, then more changes of its own
      const more = randomHistory(rand, 120, paths);
      const b = recorded([...common, ...more]);
      const { entries, summary } = diffAll(a, b);
      const got = new Map(entries.map((e) => [e.path, e.kind as string]));
      assert.equal(got.size, entries.length, 'each path once');
      assert.deepEqual(got, reference(a, b));
      const order = entries.map((e) => e.path);
      for (let i = 1; i < order.length; i++) {
        const [p, q] = [order[i - 1]!.split('/'), order[i]!.split('/')];
        // compare component by component: the walk's order
        let k = 1;
        while (k < p.length && k < q.length && p[k] === q[k]) k++;
        assert.ok(k === p.length || (k < q.length && p[k]! < q[k]!), `${order[i - 1]} before ${order[i]}`);
      }
      assert.equal(summary.same + summary.changed + summary.removed, a.nodes.size);
      assert.equal(summary.same + summary.changed + summary.added, b.nodes.size);
    });
  }
});

describe('the command line forms of a side and of the fields', () => {
  test('ARCHIVE@ZXID and ARCHIVE@TIME', () => {
    assert.deepEqual(parseArchivePoint('/mnt/a@0x1a2b'), { dir: '/mnt/a', target: { zxid: 0x1a2b } });
    assert.deepEqual(parseArchivePoint('/mnt/a@4096'), { dir: '/mnt/a', target: { zxid: 4096 } });
    assert.deepEqual(parseArchivePoint('/mnt/x@y/a@2026-12-07T10:00:00Z'), {
      dir: '/mnt/x@y/a',
      target: { timeMs: Date.UTC(2026, 11, 7, 10, 0, 0) },
    });
    assert.equal(parseArchivePoint('/mnt/a'), null);
    assert.equal(parseArchivePoint('@0x1'), null);
    assert.throws(() => parseArchivePoint('/mnt/a@yesterday'), /after '@' comes a zxid \(0x hex or decimal\) or an ISO-8601 time/);
  });
  test('--data-only and --ignore-stat', () => {
    assert.deepEqual(statFieldsFor({}), [...STAT_FIELDS]);
    assert.deepEqual(statFieldsFor({ dataOnly: true }), []);
    assert.deepEqual(
      statFieldsFor({ ignoreStat: 'mtime, ctime' }),
      STAT_FIELDS.filter((f) => f !== 'mtime' && f !== 'ctime'),
    );
    assert.throws(() => statFieldsFor({ ignoreStat: 'mtime,colour' }), /--ignore-stat colour: not a Stat field/);
  });
});
