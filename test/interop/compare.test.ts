// Runs StatTranscript.java (one fixed script; prints every Stat field with zxids made relative,
// times as relations, session ids as symbols, per-op multi errors, and the order of watch events
// and replies) against Apache ZooKeeper and against Ark, and requires identical transcripts.
// The ZooKeeper 3.8 transcript is also committed as test/fixtures/stat-transcript.zk38.txt, so
// it can be read without running anything and Ark can be compared even where no ZooKeeper
// server is installed. Regenerate the fixture with ARK_UPDATE_FIXTURES=1.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
import {
  INTEROP_CFG,
  compileJava,
  describeJava,
  interopJavaDir,
  javaClientMissing,
  runJava,
  startZooKeeper,
  zookeeperMissing,
} from '../helpers/zookeeper.js';

const fixturePath = join(repoRoot, 'test', 'fixtures', 'stat-transcript.zk38.txt');

async function transcript(server: RunningServer): Promise<string> {
  try {
    const classDir = await compileJava([join(interopJavaDir, 'StatTranscript.java')]);
    const r = await runJava(classDir, 'StatTranscript', [server.connectString], 90000);
    assert.equal(r.code, 0, `StatTranscript against ${server.name}: ${describeJava(r)}\n--- ${server.name} output ---\n${server.output()}`);
    return r.stdout;
  } finally {
    await server.stop();
  }
}

/** Line diff (LCS) with a little context; "-" lines are only in `a`, "+" lines only in `b`. */
export function lineDiff(a: string, b: string, labelA: string, labelB: string, context = 2, maxLines = 300): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i]!;
    const next = lcs[i + 1]!;
    for (let j = m - 1; j >= 0; j--) {
      row[j] = x[i] === y[j] ? next[j + 1]! + 1 : Math.max(next[j]!, row[j + 1]!);
    }
  }
  const ops: { kind: ' ' | '-' | '+'; text: string; line: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ kind: ' ', text: x[i]!, line: i + 1 });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: '-', text: x[i]!, line: i + 1 });
      i++;
    } else {
      ops.push({ kind: '+', text: y[j]!, line: j + 1 });
      j++;
    }
  }
  const keep = new Array<boolean>(ops.length).fill(false);
  ops.forEach((op, k) => {
    if (op.kind !== ' ') for (let c = Math.max(0, k - context); c <= Math.min(ops.length - 1, k + context); c++) keep[c] = true;
  });
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  let skipped = false;
  ops.forEach((op, k) => {
    if (!keep[k]) {
      skipped = true;
      return;
    }
    if (skipped) out.push('@@');
    skipped = false;
    out.push(`${op.kind}${op.kind === ' ' ? '' : `${op.line}:`} ${op.text}`);
  });
  const changed = ops.filter((o) => o.kind !== ' ').length;
  if (out.length > maxLines)
    return [...out.slice(0, maxLines), `... (${out.length - maxLines} more diff lines, ${changed} changed lines in all)`].join('\n');
  return out.join('\n');
}

describe('Stat transcript: Ark vs Apache ZooKeeper', () => {
  let zkTranscript: string | undefined;

  test('ZooKeeper 3.8 transcript matches the committed fixture', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(zookeeperMissing() ?? javaClientMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    zkTranscript = await transcript(await startZooKeeper());
    if (process.env.ARK_UPDATE_FIXTURES) {
      writeFileSync(fixturePath, zkTranscript);
      t.diagnostic(`wrote ${fixturePath}`);
    }
    // the fixture is committed: without it there is nothing to compare ZooKeeper's transcript with
    assert.ok(existsSync(fixturePath), `the fixture ${fixturePath} is committed (ARK_UPDATE_FIXTURES=1 writes it)`);
    const fixture = readFileSync(fixturePath, 'utf8');
    assert.ok(
      zkTranscript === fixture,
      `ZooKeeper's transcript differs from the fixture (nondeterminism, or regenerate with ARK_UPDATE_FIXTURES=1):\n${lineDiff(fixture, zkTranscript, 'fixture', 'zookeeper')}`,
    );
  });

  test("Ark transcript equals ZooKeeper's", { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(javaClientMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    assert.ok(zkTranscript !== undefined || existsSync(fixturePath), `the fixture ${fixturePath} is committed`);
    const expected = zkTranscript ?? readFileSync(fixturePath, 'utf8');
    const source = zkTranscript !== undefined ? 'zookeeper (live)' : 'zookeeper (fixture)';
    const ark = await transcript(await startArk({ cfg: { ...INTEROP_CFG } }));
    assert.ok(ark === expected, `Ark's transcript differs from ZooKeeper's:\n${lineDiff(expected, ark, source, 'ark')}`);
  });
});
