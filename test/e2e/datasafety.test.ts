// Data safety with real `ark server` processes and the `ark` tools as an operator runs them
// (issue 12): the data-dir lock (a second server, restore --force, purge, migrate and
// truncate-log into a live dir are refused naming the holder; a kill -9 leaves a lock the next
// server takes over), a flipped bit in the last acknowledged record refuses start-up until the
// loss is accepted with `ark data truncate-log`, a torn last record is cut with a warning, and on
// damaged dirs `ark data verify` gives the verdict `ark server` acts on.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ZkClient } from '../../src/client/client.js';
import { writeBackup } from '../../src/backup/format.js';
import { DataTree } from '../../src/tree/datatree.js';
import { scanSegment, segmentName } from '../../src/storage/txnlog.js';
import { arkBin, freePort, startArk, tempDir, writeCfg } from '../helpers/servers.js';
import { describeTool, runTool, type ToolResult } from '../helpers/clitools.js';
import { build, encodeSegment, flip, history, type Built } from '../helpers/datadirs.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(tag: string): string {
  const d = tempDir(tag);
  dirs.push(d);
  return d;
}

function ark(...args: string[]): Promise<ToolResult> {
  return runTool(process.execPath, [arkBin, ...args], { timeoutMs: 60000 });
}

/** `ark server` on dataDir that is expected to refuse: it must exit, not serve (a server that starts is killed after 20 s and fails the test). */
async function serverRefuses(cfg: Record<string, string | number>): Promise<ToolResult> {
  const cfgFile = writeCfg(dir('cfg'), {
    tickTime: 2000,
    clientPort: await freePort(),
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': false,
    ...cfg,
  });
  const r = await runTool(process.execPath, [arkBin, 'server', cfgFile], { timeoutMs: 20000 });
  assert.equal(r.timedOut, false, `the server started: ${describeTool(r)}`);
  assert.equal(r.code, 1, describeTool(r));
  return r;
}

async function writeNodes(port: number, ...paths: string[]): Promise<void> {
  const c = await ZkClient.connect({ port });
  for (const p of paths) await c.create(p, `data of ${p}`);
  c.disconnect();
}

async function children(port: number): Promise<string[]> {
  const c = await ZkClient.connect({ port });
  const kids = (await c.getChildren('/')).filter((k) => k !== 'zookeeper').sort();
  c.disconnect();
  return kids;
}

/** The newest log segment of a data dir and where its last record starts. */
function lastRecord(dataDir: string): { file: string; at: number; end: number } {
  const sub = join(dataDir, 'ark-v1');
  const file = join(
    sub,
    readdirSync(sub)
      .filter((f) => /^log\.[0-9a-f]{16}$/.test(f))
      .sort()
      .at(-1)!,
  );
  const recs = scanSegment(file, readFileSync(file)).records;
  return { file, at: recs.at(-2)!.end!, end: recs.at(-1)!.end! };
}

const holds = (pid: number | undefined): RegExp => new RegExp(`is in use by ark server \\(pid ${pid} on host [^,]+, since [^)]+\\)`);

test("a second server on the same dataDir or dataLogDir is refused naming the first one's pid", async () => {
  const dataDir = dir('twice');
  const first = await startArk({ dataDir });
  try {
    await writeNodes(first.port, '/one');
    const same = await serverRefuses({ dataDir });
    assert.match(same.stderr, new RegExp(`^ark server: ${dataDir} ${holds(first.process.pid).source}: ark server refuses`, 'm'));
    // the first server's dir as another one's dataLogDir
    const other = await serverRefuses({ dataDir: dir('twice-other'), dataLogDir: dataDir });
    assert.match(other.stderr, holds(first.process.pid));
    await writeNodes(first.port, '/two');
    assert.deepEqual(await children(first.port), ['one', 'two'], 'the first server kept serving');
  } finally {
    await first.stop({ keepData: true });
  }
});

test('restore --force, purge, migrate and truncate-log on a live data dir are refused naming the pid and change nothing; verify warns', async () => {
  const dataDir = dir('live');
  const backup = join(dir('live-backup'), 'other.arkb');
  await writeBackup(new DataTree(), [], createWriteStream(backup), { createdBy: 'test' }).then(() => undefined);
  let srv = await startArk({ dataDir });
  try {
    await writeNodes(srv.port, '/before');
    const before = readdirSync(join(dataDir, 'ark-v1')).sort();
    const refusals: Array<[string, string[]]> = [
      ['restore', ['restore', backup, '--data-dir', dataDir, '--force']],
      ['purge', ['purge', '--data-dir', dataDir, '--keep', '3']],
      ['migrate from-zookeeper', ['migrate', 'from-zookeeper', '--source', dir('zk-source'), '--data-dir', dataDir, '--force']],
      ['data truncate-log', ['data', 'truncate-log', '--data-dir', dataDir, '--at', `${before.find((f) => f.startsWith('log.'))}:16`]],
    ];
    for (const [name, args] of refusals) {
      const r = await ark(...args);
      assert.equal(r.code, 1, `${name}: ${describeTool(r)}`);
      assert.match(r.stderr, new RegExp(`^ark ${name}: ${dataDir} ${holds(srv.process.pid).source}`, 'm'), name);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line, no stack trace`);
    }
    assert.deepEqual(readdirSync(join(dataDir, 'ark-v1')).sort(), before, 'no file was touched');
    const v = await ark('data', 'verify', '--data-dir', dataDir);
    assert.match(v.stdout, new RegExp(`^warning: ${dataDir} ${holds(srv.process.pid).source}: this reads a live data dir`, 'm'));
    await writeNodes(srv.port, '/after');
  } finally {
    await srv.stop({ keepData: true });
  }
  srv = await startArk({ dataDir });
  try {
    assert.deepEqual(await children(srv.port), ['after', 'before'], 'every acknowledged write is there after a restart');
  } finally {
    await srv.stop({ keepData: true });
  }
  // stopped, the same restore goes through
  const r = await ark('restore', backup, '--data-dir', dataDir, '--force');
  assert.equal(r.code, 0, describeTool(r));
});

test('after kill -9 the lock is stale: the next server starts on the dir without any cleanup', async () => {
  const dataDir = dir('kill9');
  let srv = await startArk({ dataDir });
  await writeNodes(srv.port, '/k');
  const killed = srv.process.pid;
  await srv.kill();
  const lockFile = join(dataDir, 'ark.lock');
  assert.equal(JSON.parse(readFileSync(lockFile, 'utf8')).pid, killed, 'kill -9 left the lock file behind');
  srv = await startArk({ dataDir });
  try {
    assert.deepEqual(await children(srv.port), ['k']);
    assert.equal(JSON.parse(readFileSync(lockFile, 'utf8')).pid, srv.process.pid, 'the new server holds it');
  } finally {
    await srv.stop({ keepData: true });
  }
  assert.equal(existsSync(lockFile), false, 'a clean stop removes it');
});

test('a bit flipped in the last acknowledged record: the server refuses to start and verify exits 1, until truncate-log accepts the loss', async () => {
  const dataDir = dir('flip-last');
  const srv = await startArk({ dataDir });
  await writeNodes(srv.port, '/a', '/b');
  await srv.stop({ keepData: true });
  const last = lastRecord(dataDir);
  flip(last.file, Math.floor((last.at + last.end) / 2));

  const v = await ark('data', 'verify', '--data-dir', dataDir);
  assert.equal(v.code, 1, describeTool(v));
  const where = `${last.file.replace(/[.]/g, '\\.')}: record checksum mismatch in a record that is completely written .* at offset ${last.at}\\.`;
  assert.match(v.stdout, new RegExp(`^problem: ${where}`, 'm'));
  assert.match(v.stdout, /^DAMAGED: the server refuses to start on this dir/m);

  const refused = await serverRefuses({ dataDir });
  assert.match(
    refused.stderr,
    new RegExp(
      `^ark server: ${where} .*ark data truncate-log --data-dir ${dataDir} --at ${basename(last.file).replace(/[.]/g, '\\.')}:${last.at}`,
      'm',
    ),
  );

  const cut = await ark('data', 'truncate-log', '--data-dir', dataDir, '--at', `${basename(last.file)}:${last.at}`);
  assert.equal(cut.code, 0, describeTool(cut));
  assert.match(cut.stdout, /the server starts on this dir now/);
  assert.ok(existsSync(`${last.file}.cut-${last.at}`), 'a copy of the segment as it was');
  const again = await startArk({ dataDir });
  try {
    assert.deepEqual(await children(again.port), ['a'], 'the damaged txn is gone only because the operator said so');
  } finally {
    await again.stop({ keepData: true });
  }
});

test('a last record cut short by a crash is a torn write: verify warns and exits 0, the server cuts it off and starts', async () => {
  const dataDir = dir('torn-last');
  const srv = await startArk({ dataDir });
  await writeNodes(srv.port, '/a', '/b');
  await srv.stop({ keepData: true });
  const last = lastRecord(dataDir);
  // the record's second half never reached the disk: zeros, as in the preallocated file
  const buf = readFileSync(last.file);
  buf.fill(0, Math.floor((last.at + last.end) / 2), last.end);
  writeFileSync(last.file, buf);

  const v = await ark('data', 'verify', '--data-dir', dataDir);
  assert.equal(v.code, 0, describeTool(v));
  assert.match(
    v.stdout,
    new RegExp(
      `^warning: ${last.file.replace(/[.]/g, '\\.')}: ends in a record cut short at offset ${last.at} \\(its last \\d+ bytes were never written \\(zeros\\)\\): a crash mid-write`,
      'm',
    ),
  );
  const again = await startArk({ dataDir });
  try {
    assert.deepEqual(await children(again.port), ['a']);
    assert.match(again.output(), /partial record \(crash mid-write\)/);
  } finally {
    await again.stop({ keepData: true });
  }
});

// ---------- verify's verdict is what `ark server` does ----------

const DAMAGED: Array<{ name: string; make: () => Built; starts: boolean }> = [
  { name: 'intact', make: () => build(100, [1, 40, 80], [35, 75]), starts: true },
  {
    // one server ran on in log.1 while the other snapshotted at 75 and wrote log.4c
    name: 'two servers wrote the dir: overlapping segments',
    starts: false,
    make: () => {
      const b = build(100, [1], [75]);
      writeFileSync(join(b.sub, segmentName(76)), encodeSegment(76, history(90).slice(75), 512).buf);
      return b;
    },
  },
  {
    name: 'a gap',
    make: () => {
      const b = build(100, [1, 40, 80], [35]);
      rmSync(b.segs[1]!.file);
      return b;
    },
    starts: false,
  },
  {
    name: 'a bad checksum in the middle',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      flip(b.segs[2]!.file, b.segs[2]!.offsets[5]! + 30);
      return b;
    },
    starts: false,
  },
  {
    name: 'a bad checksum at the end',
    starts: false,
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      const s = b.segs[2]!;
      flip(s.file, s.offsets.at(-1)! + 20);
      return b;
    },
  },
  {
    name: 'a torn tail',
    starts: true,
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      const s = b.segs[2]!;
      writeFileSync(s.file, readFileSync(s.file).subarray(0, s.offsets.at(-1)! + 12));
      return b;
    },
  },
  {
    name: 'a damaged snapshot with an older usable one',
    make: () => {
      const b = build(100, [1, 40, 80], [35, 75]);
      flip(b.snaps[1]!.file, 200);
      return b;
    },
    starts: true,
  },
  {
    name: 'a damaged snapshot without a usable one',
    starts: false,
    make: () => {
      const b = build(100, [1, 40, 80], [75]);
      flip(b.snaps[0]!.file, 200);
      rmSync(b.segs[0]!.file);
      return b;
    },
  },
];

test('on damaged dirs, `ark data verify` exits 1 exactly where `ark server` refuses to start', async () => {
  for (const shape of DAMAGED) {
    const b = shape.make();
    dirs.push(b.dir);
    const v = await ark('data', 'verify', '--data-dir', b.dir);
    assert.notEqual(v.code, 2, `${shape.name}: ${describeTool(v)}`);
    assert.equal(v.code !== 1, shape.starts, `${shape.name}: verify ${describeTool(v)}`);
    if (shape.starts) {
      const s = await startArk({ dataDir: b.dir });
      await s.stop({ keepData: true });
    } else {
      const r = await serverRefuses({ dataDir: b.dir });
      const first = v.stdout
        .split('\n')
        .find((l) => l.startsWith('problem: '))!
        .slice('problem: '.length);
      assert.ok(r.stderr.includes(first), `${shape.name}: the server gives verify's reason\n${first}\n${r.stderr}`);
    }
  }
});
