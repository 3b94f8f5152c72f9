// Progress of the long commands and of server start-up, with real processes (issue 15, item 6):
// a 50,000-znode backup verified and restored with stderr a pipe (plain lines), the same with
// --json (the document alone), a server started on the restored data dir (a snapshot and a log)
// logging what it loads, a backup streamed from it and a copy out of it (progress against the
// source's count), and the bar on a terminal (tmux).
// ARK_PROGRESS_DELAY_MS=0: the commands report however quick they are on this machine (by default
// a stage shorter than a second shows nothing), so what is checked does not depend on timing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arkBin, freePort, repoRoot, requireOrSkip, startArk, tempDir, type RunningServer } from '../helpers/servers.js';
import { runTool } from '../helpers/clitools.js';
import { waitUntil } from '../helpers/wait.js';
import { backupMeta, backupName, backupStream, writeBackup } from '../../src/backup/format.js';
import { START_LINK, linkName } from '../../src/backup/chain.js';
import { encodeChunkHeader, frameRecord, recordCrc } from '../../src/backup/chunk.js';
import { encodeSnapshotNow } from '../../src/storage/snapshot.js';
import { encodeEntry } from '../../src/replica/replica.js';
import { JuteWriter } from '../../src/wire/jute.js';
import { DataTree } from '../../src/tree/datatree.js';
import { OPEN_ACL_UNSAFE, OpCode } from '../../src/wire/protocol.js';
import type { Txn } from '../../src/wire/txn.js';
import { formatAmount } from '../../src/util/progress.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';

const PARENTS = 50;
const PER_PARENT = 1000;
const SESSION = 0x99n;

/** A tree of ZNODES znodes, built by applying create txns as a server would. */
function bigTree(): DataTree {
  const tree = new DataTree();
  let zxid = 0;
  const create = (path: string, owner = 0n): void => {
    zxid++;
    const parent = tree.get(path.slice(0, path.lastIndexOf('/')) || '/')!;
    const txn: Txn = {
      type: OpCode.create,
      path,
      data: Buffer.from(`value of ${path}`),
      acl: OPEN_ACL_UNSAFE,
      ephemeralOwner: owner,
      parentCVersion: parent.cversion + 1,
    };
    tree.apply({ sessionId: SESSION, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid, type: OpCode.create }, txn, []);
  };
  create('/p');
  for (let i = 0; i < PARENTS; i++) {
    create(`/p/d${i}`);
    for (let j = 0; j < PER_PARENT; j++) create(`/p/d${i}/n${j}`);
  }
  create('/p/eph', SESSION);
  return tree;
}

/** /p, 50 parents with 1,000 children each, /p/eph (an ephemeral of SESSION), and what a new tree holds (/, /zookeeper...) */
const ZNODES = bigTree().nodeCount;

const ENV = { ARK_PROGRESS_DELAY_MS: '0' };
const run = (args: string[]) => runTool(process.execPath, [arkBin, ...args], { env: ENV, timeoutMs: 60000 });

/** stderr's lines of one stage: the periodic ones and the final one. */
function stageLines(stderr: string, prefix: string): { periodic: string[]; final: string[] } {
  const lines = stderr.split('\n').filter((l) => l.startsWith(`${prefix}: `));
  return {
    periodic: lines.filter((l) => l.includes('/s,') || / [\d.]+ \S+\/s$/.test(l)),
    final: lines.filter((l) => / in [\d.]+ s \(/.test(l)),
  };
}

describe('progress of long commands, not on a terminal', () => {
  const dir = tempDir('progress');
  const backup = join(dir, 'big.arkb');
  let server: RunningServer | null = null;
  let adminPort = 0;

  before(async () => {
    await writeBackup(bigTree(), [{ id: SESSION, timeoutMs: 30000 }], createWriteStream(backup), { createdBy: 'progress test' });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ark backup verify: plain lines with count, percentage and rate, and a final line', async () => {
    const r = await run(['backup', 'verify', backup]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^intact: .* ${ZNODES} znodes`));
    const { periodic, final } = stageLines(r.stderr, 'backup verify: checking');
    assert.ok(periodic.length >= 1, r.stderr);
    for (const l of periodic)
      assert.match(l, new RegExp(`^backup verify: checking: \\d+/${ZNODES} znodes \\(\\d+%\\), [\\d.]+ znodes/s(, ETA [\\d.]+ s)?$`));
    assert.deepEqual(final.length, 1, r.stderr);
    assert.match(final[0]!, new RegExp(`^backup verify: checking: ${ZNODES} znodes in [\\d.]+ s \\([\\d.]+ znodes/s\\)$`));
    assert.equal(r.stderr.split('\n').filter(Boolean).length, periodic.length + final.length, `nothing else on stderr:\n${r.stderr}`);
  });

  test('ark restore: the backup loaded, the snapshot written; --json prints the document alone', async () => {
    const data = join(dir, 'restored');
    const r = await run(['restore', backup, '--data-dir', data, '--drop-sessions']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^restored .* ${ZNODES} znodes, 0 sessions, 1 ended`));
    for (const stage of ['loading the backup', 'writing the snapshot']) {
      const { periodic, final } = stageLines(r.stderr, `restore: ${stage}`);
      assert.ok(periodic.length >= 1 && final.length === 1, `${stage}:\n${r.stderr}`);
    }
    assert.match(r.stderr, new RegExp(`restore: loading the backup: 0/${ZNODES} znodes \\(0%\\)`));
    assert.match(
      r.stderr,
      new RegExp(`restore: writing the snapshot: ${ZNODES} znodes in `),
      'the whole tree written, then the session ended',
    );

    const quiet = await run(['restore', backup, '--data-dir', join(dir, 'restored-json'), '--json']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '', 'no progress with --json');
    const doc = JSON.parse(quiet.stdout) as { znodes: number };
    assert.equal(doc.znodes, ZNODES);
  });

  test('a server started on a snapshot and a log logs what it loads, how far, and the replay', async () => {
    adminPort = await freePort();
    server = await startArk({
      dataDir: join(dir, 'restored'),
      cfg: { 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' },
      env: { ...ENV, ARK_LOG_LEVEL: 'info' },
    });
    const s = server;
    await waitUntil(() => s.output().includes('serving clients'), 'the server serves', 10000);
    const logs = s
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string });
    const loading = logs.find((l) => l.msg.startsWith('loading snapshot ') && !l.msg.startsWith('loading snapshot:'));
    assert.ok(loading, s.output());
    assert.match(String(loading.file), /snapshot\.[0-9a-f]{16}$/);
    assert.match(String(loading.zxid), /^0x[0-9a-f]+$/);
    assert.ok(Number(loading.bytes) > 1_000_000, 'the snapshot file size');
    const steps = logs.filter((l) => l.msg.startsWith('loading snapshot: '));
    assert.ok(steps.length >= 2, s.output());
    for (const l of steps) {
      assert.match(l.msg, new RegExp(`^loading snapshot: \\d+ of ${ZNODES} znodes$`));
      assert.equal(l.of, ZNODES);
    }
    assert.ok(
      logs.some((l) => l.msg === `snapshot loaded: ${ZNODES} znodes`),
      s.output(),
    );
    // --drop-sessions logged one closeSession after the snapshot (the ephemeral goes when it replays)
    const replay = logs.find((l) => l.msg.startsWith('replaying log: '));
    assert.ok(replay, s.output());
    assert.match(replay.msg, /^replaying log: 1 txns from 0x[0-9a-f]+ to 0x[0-9a-f]+$/);
    assert.equal(replay.fromZxid, replay.toZxid);
    assert.ok(
      logs.some((l) => l.msg.startsWith('log replayed: 1 txns, ')),
      s.output(),
    );
    const serving = logs.find((l) => l.msg === 'serving clients');
    assert.ok(typeof serving?.msSinceProcessStart === 'number', 'the time to serving');
  });

  test('ark backup create: znodes received of the count the AdminServer names, then the check', async () => {
    const out = join(dir, 'streamed.arkb');
    const r = await run(['backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const total = ZNODES - 1;
    assert.match(r.stderr, new RegExp(`^backup create: receiving: \\d+/${total} znodes \\(\\d+%\\), `, 'm'));
    // counted from the stream itself, so the count at the end is exactly the backup's
    assert.match(r.stderr, new RegExp(`^backup create: receiving: ${total} znodes in [\\d.]+ s \\(`, 'm'));
    assert.match(r.stderr, new RegExp(`^backup create: checking: ${total} znodes in `, 'm'));
    const quiet = await run(['backup', 'create', '--admin', `http://127.0.0.1:${adminPort}`, '--out', out, '--force', '--json']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.equal((JSON.parse(quiet.stdout) as { nodes: number }).nodes, ZNODES - 1);
  });

  test('ark copy: nodes dealt with out of the count the source gives', async () => {
    assert.ok(server);
    const dest = await startArk();
    try {
      const from = `${server.connectString}/p/d7`;
      const r = await run(['copy', '--from', from, '--to', `${dest.connectString}/copy`]);
      assert.equal(r.code, 0, r.stderr);
      const total = PER_PARENT + 1;
      assert.match(r.stderr, new RegExp(`^copy: copying: \\d+/${total} znodes \\(\\d+%\\), `, 'm'));
      assert.match(r.stderr, new RegExp(`^copy: copying: ${total} znodes in [\\d.]+ s \\(`, 'm'));
      const quiet = await run(['copy', '--from', from, '--to', `${dest.connectString}/copy2`, '--json']);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stderr, '');
      assert.equal((JSON.parse(quiet.stdout) as { created: number }).created, total);
    } finally {
      await dest.stop();
    }
  });

  test('an encrypted backup: streamed to its recipient with the znode count, then decrypted and checked', async () => {
    const identity = await generateIdentity();
    const keyFile = join(dir, 'key.txt');
    writeFileSync(keyFile, `${identity}\n`);
    const enc = join(dir, 'enc.arkb');
    const made = await run([
      'backup',
      'create',
      '--admin',
      `http://127.0.0.1:${adminPort}`,
      '--out',
      enc,
      '--recipient',
      await identityToRecipient(identity),
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, new RegExp(`^backup create: receiving: ${ZNODES - 1} znodes in `, 'm'), 'counted before it is encrypted');
    const r = await run(['backup', 'verify', enc, '--identity', keyFile]);
    assert.equal(r.code, 0, r.stderr);
    const size = formatAmount(statSync(enc).size, 'bytes');
    assert.match(r.stderr, new RegExp(`^backup verify: decrypting: ${size} in [\\d.]+ s \\(`, 'm'));
    assert.match(r.stderr, new RegExp(`^backup verify: checking: ${ZNODES - 1} znodes in `, 'm'));
  });

  test('ark backup diff: each side loaded, then the comparison; --json prints the document alone', async () => {
    const streamed = join(dir, 'streamed.arkb');
    const r = await run(['backup', 'diff', backup, streamed, '--summary']);
    assert.equal(r.code, 1, r.stderr); // the ephemeral went with its session in between
    assert.match(r.stderr, new RegExp(`^backup diff: loading A: ${ZNODES} znodes in `, 'm'));
    assert.match(r.stderr, new RegExp(`^backup diff: loading B: ${ZNODES - 1} znodes in `, 'm'));
    assert.match(r.stderr, /^backup diff: comparing: \d+\/\d+ znodes \(\d+%\), /m);
    assert.match(r.stderr, /^backup diff: comparing: \d+ znodes in [\d.]+ s \(/m);
    const quiet = await run(['backup', 'diff', backup, streamed, '--summary', '--json']);
    assert.equal(quiet.code, 1, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.equal((JSON.parse(quiet.stdout) as { same: boolean }).same, false);
  });

  test('ark purge: the kept snapshots checked, in bytes of their sizes', async () => {
    const data = join(dir, 'restored-json');
    const bytes = statSync(join(data, 'ark-v1', readdirSync(join(data, 'ark-v1')).find((f) => f.startsWith('snapshot.'))!)).size;
    const r = await run(['purge', '--data-dir', data, '--keep', '1']);
    assert.equal(r.code, 0, r.stderr);
    const size = formatAmount(bytes, 'bytes');
    assert.match(r.stderr, new RegExp(`^purge: checking the kept snapshots: [\\d.]+ (bytes|kB|MB) of ${size} \\(\\d+%\\), `, 'm'));
    assert.match(r.stderr, new RegExp(`^purge: checking the kept snapshots: ${size} in [\\d.]+ s \\(`, 'm'));
    assert.match(r.stdout, /nothing to remove/);
  });

  test("ark migrate from-zookeeper: ZooKeeper's snapshot loaded, its log replayed, the Ark snapshot written", async () => {
    const zk = join(dir, 'zk');
    mkdirSync(join(zk, 'version-2'), { recursive: true });
    for (const f of ['snapshot.0', 'snapshot.a', 'log.1'])
      copyFileSync(join(repoRoot, 'test', 'fixtures', 'zk38', f), join(zk, 'version-2', f));
    const r = await run(['migrate', 'from-zookeeper', '--source', zk, '--data-dir', join(dir, 'migrated')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^migrate: loading ZooKeeper's snapshot: \d+ znodes in /m);
    assert.match(r.stderr, /^migrate: replaying ZooKeeper's txn logs: \d+ txns in /m);
    assert.match(r.stderr, /^migrate: writing the Ark snapshot: \d+ znodes in /m);
    const quiet = await run(['migrate', 'from-zookeeper', '--source', zk, '--data-dir', join(dir, 'migrated'), '--force', '--json']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    JSON.parse(quiet.stdout);
  });

  test('ark restore --archive: the backup loaded, then the archived txns replayed of the count to the target', async () => {
    // an archive as the archiver lays it down: a backup at zxid 0, then txns 1..6 in two links
    const arch = join(dir, 'archive');
    mkdirSync(join(arch, 'backups'), { recursive: true });
    mkdirSync(join(arch, 'txns'));
    const empty = new DataTree();
    empty.finishLoad(0);
    const parts: Buffer[] = [];
    const snap = encodeSnapshotNow(empty, [], 500);
    for await (const c of backupStream(
      backupMeta(0, 0, 'test', new Date(500)),
      (async function* () {
        yield snap;
      })(),
    ))
      parts.push(c);
    writeFileSync(join(arch, 'backups', backupName(0)), Buffer.concat(parts));
    const entry = (z: number): Buffer =>
      encodeEntry({ sessionId: 1n, cxid: 0, zxid: z, time: 1000 + z, type: OpCode.error }, { type: OpCode.error, err: -101 });
    const link = (name: string, prev: number, zxids: number[]): void => {
      const w = new JuteWriter(4096);
      for (const z of zxids) frameRecord(w, entry(z));
      const h = encodeChunkHeader({
        prevZxid: prev,
        firstZxid: zxids[0]!,
        lastZxid: zxids.at(-1)!,
        count: zxids.length,
        firstTime: 1000 + zxids[0]!,
        lastTime: 1000 + zxids.at(-1)!,
        lastCrc: recordCrc(entry(zxids.at(-1)!)),
      });
      writeFileSync(join(arch, 'txns', name), Buffer.concat([h, w.take()]));
    };
    link(START_LINK, 0, [1, 2, 3]);
    link(linkName(3), 3, [4, 5, 6]);
    const r = await run(['restore', '--archive', arch, '--to-zxid', '5', '--data-dir', join(dir, 'pitr')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /backup 0x0 \+ 5 archived txns replayed/);
    assert.match(r.stderr, /^restore: loading the backup: \d+ znodes in /m);
    assert.match(r.stderr, /^restore: replaying archived txns: 0\/5 txns \(0%\), /m);
    assert.match(r.stderr, /^restore: replaying archived txns: 5 txns in [\d.]+ s \(/m);
    assert.match(r.stderr, /^restore: writing the snapshot: \d+ znodes in /m);
  });

  // last: it replaces the running server's tree
  test('ark restore --online: the file checked, then the bytes uploaded of its size', async () => {
    const r = await run(['restore', '--online', backup, '--admin', `http://127.0.0.1:${adminPort}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^restored .* ${ZNODES} znodes`));
    assert.match(r.stderr, new RegExp(`^restore: checking: ${ZNODES} znodes in `, 'm'));
    const size = formatAmount(statSync(backup).size, 'bytes');
    assert.match(r.stderr, new RegExp(`^restore: uploading: [\\d.]+ (bytes|kB|MB) of ${size} \\(\\d+%\\), `, 'm'));
    assert.match(r.stderr, new RegExp(`^restore: uploading: ${size} in [\\d.]+ s \\(`, 'm'));
    // the server's side: its log says how far it loaded the upload
    assert.match(server!.output(), new RegExp(`"msg":"restore: loading the backup: \\d+ of ${ZNODES} znodes"`));
  });
});

// ---------- on a terminal ----------

const TMUX = '/usr/bin/tmux';

test('on a terminal: a bar with the rate, the last state left on screen', { timeout: 60000 }, async (t) => {
  const skip = requireOrSkip(existsSync(TMUX) ? null : `${TMUX} not found (apt-get install tmux)`);
  if (skip) {
    t.skip(skip);
    return;
  }
  const dir = tempDir('progress-tty');
  const file = join(dir, 'big.arkb');
  await writeBackup(bigTree(), [], createWriteStream(file), { createdBy: 'progress test' });
  const socket = `ark-progress-test-${process.pid}`;
  const tmux = (...args: string[]): string => {
    const r = spawnSync(TMUX, ['-L', socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    // stdout to a file: only stderr (the bar) is the terminal's
    tmux(
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'p',
      '-x',
      '200',
      '-y',
      '20',
      `env ARK_PROGRESS_DELAY_MS=0 ${process.execPath} ${arkBin} backup verify ${file} > ${join(dir, 'out')}; echo "[exited $?]"; sleep 30`,
    );
    let screen = '';
    await waitUntil(
      () => {
        screen = tmux('capture-pane', '-p', '-J', '-t', 'p');
        return screen.includes('[exited 0]');
      },
      'the command to finish',
      30000,
    );
    const total = ZNODES;
    assert.match(
      screen,
      new RegExp(`backup verify: checking \\[=+\\] ${total} znodes in [\\d.]+ s \\([\\d.]+ znodes/s\\) *\\n\\[exited 0\\]`),
      screen,
    );
  } finally {
    spawnSync(TMUX, ['-L', socket, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  }
});
