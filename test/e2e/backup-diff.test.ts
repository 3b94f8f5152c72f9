// `ark backup diff` as an operator runs it, with real servers: a backup, changes through a
// client, a second backup, the diff of the two checked against the Stats the client saw before
// and after every change; the same against a point in time of the server's archive and against
// the live server through its AdminServer; exit codes as diff(1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ark, freePort, startArk, tempDir } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait.js';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag, Perms, type Stat } from '../../src/wire/protocol.js';
import { STAT_FIELDS } from '../../src/backup/diff.js';

interface Shown {
  data: string | null;
  dataEncoding: string | null;
}
interface JsonNode extends Shown {
  acl: string[];
  stat: Record<string, number | string>;
}
interface JsonEntry {
  kind: 'added' | 'removed' | 'changed';
  path: string;
  a?: JsonNode;
  b?: JsonNode;
  data?: { a: Shown; b: Shown };
  acl?: { a: string[]; b: string[] };
  stat?: Record<string, { a: number | string; b: number | string }>;
}
interface JsonDiff {
  a: { kind: string; zxid: string };
  b: { kind: string; zxid: string };
  changes: JsonEntry[];
  summary: { added: number; removed: number; changed: number; same: number };
  same: boolean;
}

/** A client's Stat as the diff's JSON shows it (the owner in hex). */
function statJson(s: Stat): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const f of STAT_FIELDS) {
    const v = s[f];
    out[f] = typeof v === 'bigint' ? `0x${v.toString(16)}` : v;
  }
  return out;
}

/** The differing Stat fields of two client Stats, as the diff's JSON lists them. */
function statDelta(before: Stat, after: Stat): Record<string, { a: number | string; b: number | string }> {
  const a = statJson(before);
  const b = statJson(after);
  const out: Record<string, { a: number | string; b: number | string }> = {};
  for (const f of STAT_FIELDS) if (a[f] !== b[f]) out[f] = { a: a[f]!, b: b[f]! };
  return out;
}

async function diffJson(...args: string[]): Promise<{ code: number; d: JsonDiff; stderr: string }> {
  const r = await ark(['backup', 'diff', ...args, '--json']);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  return { code: r.code, d: JSON.parse(r.stdout) as JsonDiff, stderr: r.stderr };
}

test('backup diff: two backups, an archive point and the live server, against what the client saw', async () => {
  const work = tempDir('diff');
  const archive = join(work, 'archive');
  const adminPort = await freePort();
  const admin = `http://127.0.0.1:${adminPort}`;
  const srv = await startArk({
    cfg: {
      'admin.enableServer': true,
      'admin.serverPort': adminPort,
      'admin.serverAddress': '127.0.0.1',
      'backup.archiveDir': archive,
      'backup.archiveIntervalMs': 100,
    },
  });
  const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 30000 });
  try {
    await c.create('/app', 'v1');
    for (const n of ['keep', 'gone', 'acl']) await c.create(`/app/${n}`, n);
    await c.create('/app/tmp', 'mine', { flags: CreateFlag.EPHEMERAL });
    for (let i = 0; i < 20; i++) await c.create(`/app/k${i}`, `k${i}`);
    const b1 = join(work, 'b1.arkb');
    const made1 = await ark(['backup', 'create', '--admin', admin, '--out', b1, '--json']);
    assert.equal(made1.code, 0, made1.stderr);
    const { zxid: z1, time: t1 } = JSON.parse(made1.stdout) as { zxid: string; time: string };

    const before = {
      app: (await c.getData('/app')).stat,
      gone: (await c.getData('/app/gone')).stat,
      acl: (await c.getData('/app/acl')).stat,
    };
    await c.setData('/app', 'v2');
    await c.delete('/app/gone');
    await c.create('/app/new', 'n');
    await c.setACL('/app/acl', [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]);
    const after = {
      app: (await c.getData('/app')).stat,
      newer: (await c.getData('/app/new')).stat,
      acl: (await c.getData('/app/acl')).stat,
    };
    const b2 = join(work, 'b2.arkb');
    const made2 = await ark(['backup', 'create', '--admin', admin, '--out', b2, '--json']);
    assert.equal(made2.code, 0, made2.stderr);
    const z2 = (JSON.parse(made2.stdout) as { zxid: string }).zxid;

    // --json: every change, with both values of each differing Stat field as the client saw them
    const expected: JsonEntry[] = [
      {
        kind: 'changed',
        path: '/app',
        data: { a: { data: 'v1', dataEncoding: 'utf8' }, b: { data: 'v2', dataEncoding: 'utf8' } },
        stat: statDelta(before.app, after.app),
      },
      {
        kind: 'changed',
        path: '/app/acl',
        acl: { a: ['world:anyone:cdrwa'], b: ['world:anyone:r'] },
        stat: statDelta(before.acl, after.acl),
      },
      {
        kind: 'removed',
        path: '/app/gone',
        a: { data: 'gone', dataEncoding: 'utf8', acl: ['world:anyone:cdrwa'], stat: statJson(before.gone) },
      },
      { kind: 'added', path: '/app/new', b: { data: 'n', dataEncoding: 'utf8', acl: ['world:anyone:cdrwa'], stat: statJson(after.newer) } },
    ];
    const d12 = await diffJson(b1, b2);
    assert.equal(d12.code, 1);
    assert.deepEqual(d12.d.changes, expected);
    assert.deepEqual(Object.keys(expected[0]!.stat!), ['mzxid', 'mtime', 'version', 'cversion', 'pzxid']);
    assert.deepEqual(Object.keys(expected[1]!.stat!), ['aversion']);
    assert.deepEqual([d12.d.summary.added, d12.d.summary.removed, d12.d.summary.changed], [1, 1, 2]);
    assert.equal(d12.d.a.zxid, z1);

    // for people: one line per path, an indented line per difference
    const human = await ark(['backup', 'diff', b1, b2]);
    assert.equal(human.code, 1, human.stderr);
    const lines = human.stdout.split('\n');
    for (const l of [
      '~ /app',
      '    data: "v1" -> "v2"',
      '    version: 0 -> 1',
      '~ /app/acl',
      '    acl: world:anyone:cdrwa -> world:anyone:r',
      '    aversion: 0 -> 1',
    ])
      assert.ok(lines.includes(l), `${l}\n${human.stdout}`);
    assert.ok(lines.some((l) => l.startsWith('- /app/gone  ')));
    assert.ok(lines.some((l) => l.startsWith('+ /app/new  ')));
    assert.match(human.stdout, /^1 added, 1 removed, 2 changed \(data 1, ACL 1, Stat 2: /m);

    // the same backup twice, and Stat ignored where only Stat moved
    const same = await ark(['backup', 'diff', b1, b1]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /^the same: 0 added, 0 removed, 0 changed; \d+ the same/m);
    const keepOnly = await ark(['backup', 'diff', b1, b2, '--path', '/app/keep']);
    assert.equal(keepOnly.code, 0, keepOnly.stdout);

    // the live server, through its AdminServer: nothing since b2, then one change
    const live0 = await diffJson(b2, admin);
    assert.equal(live0.code, 0, JSON.stringify(live0.d.changes));
    assert.equal(live0.d.b.kind, 'server');
    const keepBefore = (await c.getData('/app/keep')).stat;
    await c.setData('/app/keep', 'changed');
    const keepAfter = (await c.getData('/app/keep')).stat;
    const live1 = await diffJson(b2, admin);
    assert.equal(live1.code, 1);
    assert.deepEqual(live1.d.changes, [
      {
        kind: 'changed',
        path: '/app/keep',
        data: { a: { data: 'keep', dataEncoding: 'utf8' }, b: { data: 'changed', dataEncoding: 'utf8' } },
        stat: statDelta(keepBefore, keepAfter),
      },
    ]);

    // a point in time of the archive: the state at b1's zxid is b1's
    await waitUntil(
      async () => {
        const l = await ark(['backup', 'list', '--archive', archive, '--json']);
        if (l.code !== 0) return false;
        const r = JSON.parse(l.stdout) as { restorable: Array<{ fromZxid: string; toZxid: string }> };
        return r.restorable.some((x) => parseInt(x.fromZxid, 16) <= parseInt(z1, 16) && parseInt(x.toZxid, 16) >= parseInt(z2, 16));
      },
      `the archive to reach ${z2}`,
      30000,
      200,
    );
    const pit = await diffJson(`${archive}@${z1}`, b1);
    assert.equal(pit.code, 0, JSON.stringify(pit.d.changes));
    assert.equal(pit.d.a.kind, 'archive');
    const pit2 = await diffJson(`${archive}@${z1}`, b2);
    assert.deepEqual(pit2.d.changes, expected);
    // and as of b1's capture time: every change came after it
    const atTime = await diffJson(`${archive}@${t1}`, b1);
    assert.equal(atTime.code, 0, JSON.stringify(atTime.d.changes));
    assert.equal(atTime.d.a.zxid, z1);

    // trouble is exit 2, with a message
    const missing = await ark(['backup', 'diff', join(work, 'nope.arkb'), b1]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.arkb: no such file or directory/);
    const unreachable = await ark(['backup', 'diff', b1, `http://127.0.0.1:${await freePort()}`]);
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, /cannot reach the AdminServer/);
    const wholeArchive = await ark(['backup', 'diff', archive, b1]);
    assert.equal(wholeArchive.code, 2);
    assert.match(wholeArchive.stderr, /is an archive: say which point in time/);
    const badField = await ark(['backup', 'diff', b1, b2, '--ignore-stat', 'mtime,color']);
    assert.equal(badField.code, 2);
    assert.match(badField.stderr, /--ignore-stat color: not a Stat field/);
    const nowhere = await ark(['backup', 'diff', b1, b2, '--path', '/nowhere']);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /--path \/nowhere: no such znode in A or in B/);
    const oneSide = await ark(['backup', 'diff', b1]);
    assert.equal(oneSide.code, 2, 'a usage error is trouble, not "different"');
  } finally {
    await c.close();
    await srv.stop();
  }
});
