// The progress reporter of the long commands (src/cli/progress.ts) and when a report is due
// (src/util/progress.ts), with an injected clock: lines when not a terminal, a bar on one,
// nothing with --json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressReporter, progressMode, type ProgressStream } from '../../src/cli/progress.js';
import { gunzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { BackupNodeCounter, writeBackup } from '../../src/backup/format.js';
import { SnapshotNodeCounter, SnapshotWriter } from '../../src/storage/snapshot.js';
import { DataTree } from '../../src/tree/datatree.js';
import { OPEN_ACL_UNSAFE, OpCode, Perms, type ACL } from '../../src/wire/protocol.js';
import { LoadLog } from '../../src/runtime/loadlog.js';
import type { Recovery } from '../../src/storage/datadir.js';
import type { Logger } from '../../src/util/log.js';
import { ProgressThrottle, describeFinished, describeProgress, formatAmount } from '../../src/util/progress.js';

/** A stream that keeps what is written; a terminal when `tty`. */
function sink(tty: boolean): ProgressStream & { text: string } {
  const s = {
    text: '',
    isTTY: tty,
    columns: 120,
    write(chunk: string): boolean {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const THROTTLE = { intervalMs: 5000, step: 0.1, delayMs: 1000 };

test('the throttle: quiet during the delay, then every 10% or every 5 s, never for completion', () => {
  const th = new ProgressThrottle(0, THROTTLE);
  const p = (done: number, total: number | null = 100) => ({ done, total, unit: 'znodes' });
  assert.equal(th.due(p(50), 999), false, 'within the delay');
  assert.equal(th.due(p(50), 1000), true, 'past the delay, past several steps: one report');
  assert.equal(th.due(p(55), 1100), false, 'same 10% step, 5 s not over');
  assert.equal(th.due(p(60), 1200), true, 'the next step');
  assert.equal(th.due(p(61), 6199), false);
  assert.equal(th.due(p(61), 6200), true, '5 s since the last report');
  assert.equal(th.due(p(100), 6300), false, 'completion is the final line, not a periodic one');
  const unknown = new ProgressThrottle(0, THROTTLE);
  assert.equal(unknown.due(p(10, null), 1000), true, 'the delay is over: one report says it is under way');
  assert.equal(unknown.due(p(20, null), 5999), false, 'no total: no steps, only the interval');
  assert.equal(unknown.due(p(40, null), 6000), true);
});

test('descriptions: count, percentage, rate, ETA; bytes in kB/MB', () => {
  assert.equal(
    describeProgress({ done: 350_000, total: 1_000_000, unit: 'znodes' }, 10_000),
    '350000/1000000 znodes (35%), 35000 znodes/s, ETA 19 s',
  );
  assert.equal(describeProgress({ done: 20_000_000, total: null, unit: 'bytes' }, 2_000), '20.0 MB, 10.0 MB/s');
  assert.equal(describeFinished({ done: 1_000_000, total: 1_000_000, unit: 'znodes' }, 24_400), '1000000 znodes in 24 s (40984 znodes/s)');
  assert.equal(formatAmount(1234, 'bytes'), '1234 bytes');
  assert.equal(formatAmount(12_345_678_901, 'bytes'), '12.35 GB');
  assert.equal(describeProgress({ done: 12, total: 10, unit: 'znodes' }, 1000).split(' ')[2], '(100%),', 'more than the total: 100%');
});

test('the mode: --json is silent, a terminal gets the bar, anything else lines', () => {
  assert.equal(progressMode(true, sink(true)), 'silent');
  assert.equal(progressMode(false, sink(true)), 'bar');
  assert.equal(progressMode(false, sink(false)), 'lines');
});

test('not a terminal: periodic plain lines and one final line per stage', () => {
  const out = sink(false);
  const c = clock();
  const r = new ProgressReporter('restore', { stream: out, now: c.now, throttle: THROTTLE });
  const load = r.stage('loading backup');
  load({ done: 0, total: 1_000_000, unit: 'znodes' });
  for (let i = 1; i <= 10; i++) {
    c.advance(250);
    load({ done: i * 100_000, total: 1_000_000, unit: 'znodes' });
  }
  const replay = r.stage('replaying archived txns');
  replay({ done: 0, total: null, unit: 'txns' });
  c.advance(2000);
  replay({ done: 5000, total: null, unit: 'txns' });
  c.advance(5000);
  replay({ done: 9000, total: null, unit: 'txns' });
  r.done();
  const lines = out.text.trimEnd().split('\n');
  assert.deepEqual(lines, [
    // 1 s delay: the first report at 400000 (t = 1 s), then each 10%
    'restore: loading backup: 400000/1000000 znodes (40%), 400000 znodes/s, ETA 1.5 s',
    'restore: loading backup: 500000/1000000 znodes (50%), 400000 znodes/s, ETA 1.3 s',
    'restore: loading backup: 600000/1000000 znodes (60%), 400000 znodes/s, ETA 1.0 s',
    'restore: loading backup: 700000/1000000 znodes (70%), 400000 znodes/s, ETA 0.8 s',
    'restore: loading backup: 800000/1000000 znodes (80%), 400000 znodes/s, ETA 0.5 s',
    'restore: loading backup: 900000/1000000 znodes (90%), 400000 znodes/s, ETA 0.3 s',
    'restore: loading backup: 1000000 znodes in 2.5 s (400000 znodes/s)',
    'restore: replaying archived txns: 5000 txns, 2500 txns/s',
    'restore: replaying archived txns: 9000 txns, 1286 txns/s',
    'restore: replaying archived txns: 9000 txns in 7.0 s (1286 txns/s)',
  ]);
});

test('not a terminal: a stage that ends within the delay prints nothing; a failed one no final line', () => {
  const out = sink(false);
  const c = clock();
  const r = new ProgressReporter('backup verify', { stream: out, now: c.now, throttle: THROTTLE });
  const quick = r.stage('checking');
  quick({ done: 0, total: 10, unit: 'znodes' });
  c.advance(300);
  quick({ done: 10, total: 10, unit: 'znodes' });
  r.done();
  assert.equal(out.text, '', 'a quick command prints what it printed before progress existed');
  const slow = r.stage('checking');
  slow({ done: 0, total: 10, unit: 'znodes' });
  c.advance(6000);
  slow({ done: 5, total: 10, unit: 'znodes' });
  r.close();
  assert.equal(out.text, 'backup verify: checking: 5/10 znodes (50%), 0.8 znodes/s, ETA 6.0 s\n', 'no final line after a failure');
});

test('--json: nothing at all, however long it runs', () => {
  const out = sink(false);
  const c = clock();
  const r = new ProgressReporter('copy', { json: true, stream: out, now: c.now, throttle: THROTTLE });
  const f = r.stage('copying');
  for (let i = 1; i <= 20; i++) {
    c.advance(3000);
    f({ done: i, total: 20, unit: 'znodes' });
  }
  r.done();
  assert.equal(r.mode, 'silent');
  assert.equal(out.text, '');
  const tty = sink(true);
  const rt = new ProgressReporter('copy', { json: true, stream: tty, now: c.now, throttle: THROTTLE });
  const g = rt.stage('copying');
  c.advance(3000);
  g({ done: 1, total: 2, unit: 'znodes' });
  rt.done();
  assert.equal(tty.text, '', 'not on a terminal either');
});

test('a terminal: a bar with the rate and ETA, redrawn in place; a turning counter without a total', () => {
  const out = sink(true);
  const c = clock();
  const r = new ProgressReporter('copy', { stream: out, now: c.now, throttle: THROTTLE });
  const f = r.stage('copying');
  f({ done: 0, total: 1000, unit: 'znodes' });
  c.advance(500);
  f({ done: 100, total: 1000, unit: 'znodes' });
  assert.equal(out.text, '', 'within the delay: no bar yet');
  c.advance(1500);
  f({ done: 500, total: 1000, unit: 'znodes' });
  assert.match(out.text, /copy: copying \[=+-+\] 500\/1000 znodes \(50%\), 250 znodes\/s, ETA 2\.0 s/);
  assert.ok(!out.text.includes('\n'), 'redrawn in place, no new line while it runs');
  const g = r.stage('counting');
  g({ done: 0, total: null, unit: 'txns' });
  assert.match(out.text, /copy: copying \[=+\] 1000 znodes|copy: copying \[=+-*\] 500 znodes in 2\.0 s/);
  c.advance(2000);
  g({ done: 42, total: null, unit: 'txns' });
  assert.match(out.text, /copy: counting [|/\\-] 42 txns, 21 txns\/s/);
  r.done();
  assert.match(out.text, /copy: counting [|/\\-] 42 txns in 2\.0 s \(21 txns\/s\)/);
  assert.ok(out.text.endsWith('\n'), 'the last bar ends its line');
});

/** A tree with null and large data, several ACLs (and so ACL records between the nodes). */
function mixedTree(): DataTree {
  const tree = new DataTree();
  const acls: ACL[][] = [
    OPEN_ACL_UNSAFE,
    [{ perms: Perms.READ, id: { scheme: 'digest', id: 'alice:xyz' } }],
    [
      { perms: Perms.ALL, id: { scheme: 'ip', id: '10.0.0.0/8' } },
      { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
    ],
  ];
  let zxid = 0;
  const create = (path: string, data: Buffer | null, acl: ACL[]): void => {
    zxid++;
    const parent = tree.get(path.slice(0, path.lastIndexOf('/')) || '/')!;
    tree.apply(
      { sessionId: 1n, cxid: zxid, zxid, time: zxid, type: OpCode.create },
      { type: OpCode.create, path, data, acl, ephemeralOwner: 0n, parentCVersion: parent.cversion + 1 },
      [],
    );
  };
  for (let i = 0; i < 30; i++) {
    create(`/n${i}`, i % 3 === 0 ? null : Buffer.alloc(i * 997, i), acls[i % 3]!);
    for (let j = 0; j < 20; j++) create(`/n${i}/c${j}`, j % 5 === 0 ? null : Buffer.from(`v${j}`), acls[(i + j) % 3]!);
  }
  return tree;
}

test('the streaming node counter: every znode of a snapshot and of a backup, whatever the chunk sizes', async () => {
  const tree = mixedTree();
  const w = new SnapshotWriter(tree, [{ id: 5n, timeoutMs: 4000 }], 1);
  const parts: Buffer[] = [];
  for (let c = w.next(50); c; c = w.next(50)) parts.push(c);
  const snap = Buffer.concat(parts);
  for (const size of [1, 7, 64, 4096, snap.length]) {
    const counter = new SnapshotNodeCounter();
    for (let at = 0; at < snap.length; at += size) counter.feed(snap.subarray(at, at + size));
    assert.equal(counter.nodes, tree.nodeCount, `chunks of ${size} bytes`);
  }
  const cut = new SnapshotNodeCounter();
  cut.feed(snap.subarray(0, snap.length >> 1));
  assert.ok(cut.nodes > 0 && cut.nodes < tree.nodeCount, 'half the bytes: part of the nodes');
  const garbage = new SnapshotNodeCounter();
  garbage.feed(Buffer.from('not a snapshot at all, not at all'));
  assert.equal(garbage.nodes, 0);

  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  await writeBackup(tree, [], sink, { createdBy: 'test' });
  const file = Buffer.concat(chunks);
  const body = gunzipSync(file.subarray(0, file.length - 8));
  for (const size of [3, 1000, body.length]) {
    const counter = new BackupNodeCounter();
    for (let at = 0; at < body.length; at += size) counter.feed(body.subarray(at, at + size));
    assert.equal(counter.nodes, tree.nodeCount, `backup in chunks of ${size} bytes`);
  }
});

test("the server's start-up log: the snapshot named, N of M znodes every 10% once a second has passed, the replay", () => {
  const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const logger = {
    info: (a: unknown, b?: string) =>
      lines.push(typeof a === 'string' ? { fields: {}, msg: a } : { fields: a as Record<string, unknown>, msg: b ?? '' }),
  } as unknown as Logger;
  const c = clock();
  const log = new LoadLog(logger, c.now, THROTTLE);
  log.onSnapshot({ file: '/d/ark-v1/snapshot.0000000000000064', zxid: 100, bytes: 123456 });
  c.advance(3000); // reading the file: not the parse's time
  log.onProgress({ done: 0, total: 100_000, unit: 'znodes' });
  for (let n = 5000; n <= 100_000; n += 5000) {
    c.advance(100);
    log.onProgress({ done: n, total: 100_000, unit: 'znodes' });
  }
  const tree = new DataTree();
  log.loaded({
    snapshot: { zxid: 100, timeMs: 0, sessions: [], tree, nodeCount: 100_000, digest: 0n },
    records: [
      { hdr: { sessionId: 1n, cxid: 0, zxid: 101, time: 0, type: OpCode.error }, txn: { type: OpCode.error, err: -101 } },
      { hdr: { sessionId: 1n, cxid: 0, zxid: 102, time: 0, type: OpCode.error }, txn: { type: OpCode.error, err: -101 } },
    ],
    truncated: [],
    skipped: [],
    snapshotLoadMs: 2000,
    logLoadMs: 10,
  } as unknown as Recovery);
  const replaying = log.onReplayed(2);
  c.advance(2);
  replaying(2);
  log.replayed(2, 4);
  // a long replay: N of M txns as the snapshot's znodes
  const long = log.onReplayed(100_000);
  for (let n = 20_000; n <= 100_000; n += 20_000) {
    c.advance(400);
    long(n);
  }
  assert.deepEqual(
    lines.slice(-2).map((l) => l.msg),
    ['replaying log: 60000 of 100000 txns', 'replaying log: 80000 of 100000 txns'],
    'from the first second on, each 10% (20000 per report: each report crosses one); the last is the end, not a report',
  );
  lines.splice(-2);
  assert.deepEqual(
    lines.map((l) => l.msg),
    [
      'loading snapshot /d/ark-v1/snapshot.0000000000000064 (zxid 0x64, 123456 bytes)',
      // the delay (1 s) counts from the parse's start: 10 slices of 100 ms, then each 10%
      'loading snapshot: 50000 of 100000 znodes',
      'loading snapshot: 60000 of 100000 znodes',
      'loading snapshot: 70000 of 100000 znodes',
      'loading snapshot: 80000 of 100000 znodes',
      'loading snapshot: 90000 of 100000 znodes',
      'snapshot loaded: 100000 znodes',
      'replaying log: 2 txns from 0x65 to 0x66',
      'log replayed: 2 txns, 500 txns/s',
    ],
  );
  assert.deepEqual(lines[1]!.fields, { znodes: 50000, of: 100000, perSecond: 50000, etaSeconds: 1 });
});

test('a narrow terminal: the bar gives way so that the counts and the ETA still show', () => {
  const out = sink(true);
  out.columns = 100;
  const c = clock();
  const r = new ProgressReporter('backup create', { stream: out, now: c.now, throttle: THROTTLE });
  const f = r.stage('receiving');
  f({ done: 0, total: 1_000_000, unit: 'znodes' });
  c.advance(2000);
  f({ done: 350_000, total: 1_000_000, unit: 'znodes' });
  r.close();
  const line = /backup create: receiving \[(=*-*)\] [^\n]*?ETA [\d.]+ s/.exec(out.text);
  assert.ok(line, out.text);
  assert.ok(line[0].trimEnd().endsWith('ETA 3.7 s'), line[0]);
  assert.ok(line[0].trimEnd().length <= 100, `${line[0].length} columns`);
  assert.ok(line[1]!.length >= 10 && line[1]!.length < 30, `a bar of ${line[1]!.length}`);
});
