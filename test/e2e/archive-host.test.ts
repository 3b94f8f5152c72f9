// The archive and the server host, in process (the real ArkServer, the real archive dir): an online
// restore archives the history it replaces first; a server restored from the archive continues it
// in a history of its own, above the archive's end; captures (backups, the archive's scheduled
// backup, a restore) take the tree one at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { parseZooCfg } from '../../src/config/zoocfg.js';
import { ArkServer } from '../../src/runtime/server.js';
import { ZkClient } from '../../src/client/client.js';
import { openArchive } from '../../src/backup/store.js';
import { pointInTime, readArchiveView } from '../../src/backup/archive.js';
import { arkBin, freePort, tempDir } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait.js';

const run = promisify(execFile);
const hex = (z: number | null): string => (z === null ? 'null' : `0x${z.toString(16)}`);

async function start(dataDir: string, archiveDir: string, lines: string[]): Promise<{ server: ArkServer; port: number }> {
  const port = await freePort();
  const text = Object.entries({
    tickTime: 200,
    dataDir,
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': false,
    maxClientCnxns: 0,
    'backup.archiveDir': archiveDir,
    'backup.archiveIntervalMs': 200,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const { config } = parseZooCfg(text);
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(...c.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const server = new ArkServer(config, pino({ level: 'info' }, sink));
  await server.start();
  return { server, port };
}

async function backupOf(server: ArkServer): Promise<Buffer> {
  const parts: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (c: Buffer) => parts.push(c));
  await server.backupTo(out);
  return Buffer.concat(parts);
}

async function creates(port: number, prefix: string, n: number): Promise<void> {
  const zk = await ZkClient.connect({ port });
  for (let i = 0; i < n; i++) await zk.create(`/${prefix}${i}`, 'x');
  zk.disconnect();
}

/** The test's znodes (/a0, /b3, ...) in a point-in-time state of the archive. */
async function namesAt(archiveDir: string, zxid: number): Promise<string> {
  const p = await pointInTime(openArchive(archiveDir), { zxid });
  return [...p.tree.nodes.keys()]
    .filter((k) => /^\/[a-d]\d+$/.test(k))
    .map((k) => k.slice(1, 2))
    .filter((c, i, a) => a.indexOf(c) === i)
    .sort()
    .join('');
}

test('an online restore archives the txns it replaces first; a server restored from the archive continues it above its end, not over its txns', {
  timeout: 60_000,
}, async () => {
  const archiveDir = tempDir('archive-host');
  const linesA: string[] = [];
  const a = await start(tempDir('archive-host-a'), archiveDir, linesA);
  await creates(a.port, 'a', 20);
  const backup = await backupOf(a.server);
  await creates(a.port, 'b', 20);
  const beforeRestore = a.server.core.lastApplied;
  await a.server.restoreOnline(backup);
  // the flush ran while the server still served (it used to give up at once: "restoring" made the
  // member look not serving to its archiver)
  assert.equal(
    linesA.find((l) => l.includes('could not take the txns before this restore')),
    undefined,
  );
  assert.equal(await namesAt(archiveDir, beforeRestore), 'ab', 'the last txn before the restore is in the archive');
  await creates(a.port, 'c', 20);
  await a.server.stop();
  const endA = (await readArchiveView(openArchive(archiveDir))).end!;
  assert.equal(await namesAt(archiveDir, endA), 'ac');

  // a point in time of the first epoch, restored into a new dir from the archive; the new server
  // archives into the same place
  const dirB = tempDir('archive-host-b');
  const r = await run(process.execPath, [
    arkBin,
    'restore',
    '--archive',
    archiveDir,
    '--to-zxid',
    String(beforeRestore),
    '--data-dir',
    dirB,
    '--json',
  ]);
  const restored = JSON.parse(r.stdout) as { startsAtZxid: string };
  assert.ok(
    Number(restored.startsAtZxid) > endA,
    `the restored history starts at ${restored.startsAtZxid}, above the archive's end ${hex(endA)}`,
  );
  const b = await start(dirB, archiveDir, []);
  await creates(b.port, 'd', 10);
  const lastB = b.server.core.lastApplied;
  await waitUntil(
    async () => (await readArchiveView(openArchive(archiveDir))).end === lastB,
    "the archive takes the restored server's txns",
  );
  await b.server.stop();
  // each history stays whole: A's up to its end, B's (the restored point plus its own) after it
  assert.equal(await namesAt(archiveDir, endA), 'ac');
  assert.equal(await namesAt(archiveDir, lastB), 'abd');
});

test('captures of the tree wait for each other: two backups at once both succeed, and a snapshot after them works', {
  timeout: 30_000,
}, async () => {
  const a = await start(tempDir('archive-host-c'), tempDir('archive-host-c-archive'), []);
  try {
    await creates(a.port, 'n', 50);
    const sink = (): PassThrough => {
      const p = new PassThrough();
      p.resume();
      return p;
    };
    const results = await Promise.allSettled([a.server.backupTo(sink()), a.server.backupTo(sink()), a.server.backupTo(sink())]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).message)),
      ['ok', 'ok', 'ok'],
    );
    const zxids = results.map((r) => (r as PromiseFulfilledResult<{ zxid: number }>).value.zxid);
    assert.ok(
      zxids.every((z) => z === a.server.core.lastApplied),
      `every backup is the tree at its zxid: ${zxids.map(hex).join(',')}`,
    );
  } finally {
    await a.server.stop();
  }
});

test('an online restore whose snapshot cannot be written (a full disk) leaves the server serving its own tree, not an empty one', {
  timeout: 30_000,
}, async () => {
  const a = await start(tempDir('archive-host-d'), tempDir('archive-host-d-archive'), []);
  try {
    await creates(a.port, 'a', 5);
    const backup = await backupOf(a.server);
    await creates(a.port, 'b', 5);
    const dd = a.server.dataDir;
    const write = dd.writeSnapshot.bind(dd);
    dd.writeSnapshot = async () => {
      throw new Error('ENOSPC: no space left on device, write');
    };
    await assert.rejects(a.server.restoreOnline(backup), /ENOSPC/);
    dd.writeSnapshot = write;
    const zk = await ZkClient.connect({ port: a.port });
    try {
      const names = (await zk.getChildren('/')).filter((n) => /^[ab]\d$/.test(n)).sort();
      assert.deepEqual(names, ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4'], 'the tree from before the restore');
      await zk.create('/after', 'x');
      assert.ok(await zk.exists('/b4'));
    } finally {
      zk.disconnect();
    }
  } finally {
    await a.server.stop();
  }
});
