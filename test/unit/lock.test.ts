// The data-dir lock (src/storage/lock.ts): one holder per directory (by device and inode), a
// refusal that names the holder, and the lock file's judgement of a holder it cannot see in the
// kernel: dead, reused pid, another boot, another machine, unreadable; network file systems.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataDirError } from '../../src/storage/filelog.js';
import { DataDirLockedError, LOCK_FILE, NETWORK_FS_OVERRIDE, liveHolder, lockDataDirs, type LockHolder } from '../../src/storage/lock.js';
import { tempDir } from '../helpers/servers.js';

const linux = process.platform === 'linux';

function lockFile(dir: string): LockHolder {
  return JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockHolder;
}

function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** A lock file as another process would have left it. */
function plant(dir: string, h: Partial<LockHolder>): void {
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    bootId: linux ? bootId() : null,
    startTicks: linux ? startTicks(process.pid) : null,
    startedAt: '2026-01-01T00:00:00.000Z',
    purpose: 'ark server',
    nonce: 'planted',
    ...h,
  };
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holder));
}

function refused(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof DataDirLockedError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

test('one holder per directory: a second lock is refused naming the holder, and release frees it', () => {
  const dir = tempDir('lock');
  try {
    const lock = lockDataDirs(dir, dir, 'ark server');
    assert.deepEqual(lock.dirs, [dir]);
    assert.equal(lockFile(dir).pid, process.pid);
    assert.equal(liveHolder(dir)?.purpose, 'ark server');
    refused(
      () => lockDataDirs(dir, dir, 'ark restore'),
      new RegExp(`${dir} is in use by ark server \\(pid ${process.pid} on host ${hostname()}, since .*\\): ark restore refuses`),
    );
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'the lock file goes with the lock');
    assert.equal(liveHolder(dir), null);
    lock.release(); // idempotent
    lockDataDirs(dir, dir, 'ark purge').release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dataDir and dataLogDir are both locked; another path to a held directory is the same lock', () => {
  const data = tempDir('lock-data');
  const logs = tempDir('lock-logs');
  const other = tempDir('lock-other');
  const link = `${logs}-link`;
  symlinkSync(logs, link);
  try {
    const lock = lockDataDirs(data, logs, 'ark server');
    assert.deepEqual(lock.dirs, [data, logs]);
    refused(() => lockDataDirs(other, logs, 'ark server'), new RegExp(`${logs} is in use by ark server`));
    refused(() => lockDataDirs(link, link, 'ark purge'), /is in use by ark server/);
    // the refused attempt left `other` free
    lockDataDirs(other, other, 'ark restore').release();
    lock.release();
    lockDataDirs(link, link, 'ark purge').release();
  } finally {
    for (const d of [data, logs, other, link]) rmSync(d, { recursive: true, force: true });
  }
});

test('a lock file left by a dead process, a reused pid or an earlier boot is stale and replaced', { skip: !linux && 'needs /proc' }, () => {
  const dir = tempDir('lock-stale');
  try {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const cases: Array<[string, Partial<LockHolder>]> = [
      ['a dead process (kill -9)', { pid: dead, startTicks: 1 }],
      ['a pid now used by a process started at another time', { startTicks: startTicks(process.pid) - 1 }],
      ['a holder from before the last reboot', { bootId: '00000000-0000-0000-0000-000000000000' }],
    ];
    for (const [name, h] of cases) {
      plant(dir, h);
      const lock = lockDataDirs(dir, dir, 'ark server');
      assert.equal(lockFile(dir).pid, process.pid, name);
      assert.notEqual(lockFile(dir).nonce, 'planted', name);
      lock.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock file naming a live holder the kernel lock does not show, or another machine, is refused', {
  skip: !linux && 'needs /proc',
}, () => {
  const dir = tempDir('lock-live');
  try {
    // e.g. a server in another network namespace (a container sharing the volume)
    plant(dir, { pid: process.ppid, startTicks: startTicks(process.ppid), purpose: 'ark server (ensemble member 2)' });
    refused(
      () => lockDataDirs(dir, dir, 'ark restore'),
      new RegExp(`in use by ark server \\(ensemble member 2\\) \\(pid ${process.ppid} .*Stop it first`),
    );
    plant(dir, { host: 'db-7.example', pid: 4242 });
    refused(
      () => lockDataDirs(dir, dir, 'ark server'),
      new RegExp(
        `in use by ark server \\(pid 4242 on host db-7\\.example.*another machine sharing this directory.*delete ${join(dir, LOCK_FILE)}`,
      ),
    );
    assert.equal(lockFile(dir).pid, 4242, "a refusal leaves the holder's file alone");
    // unreadable: judged only by its age
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    assert.throws(() => lockDataDirs(dir, dir, 'ark server'), /cannot be read as a lock file and was written since this machine booted/);
    utimesSync(join(dir, LOCK_FILE), new Date(0), new Date(0));
    lockDataDirs(dir, dir, 'ark server').release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory on a network file system is refused unless the override is set', () => {
  const dir = tempDir('lock-nfs');
  const nfs = { fsType: (): number => 0x6969 };
  const saved = process.env[NETWORK_FS_OVERRIDE.name];
  try {
    delete process.env[NETWORK_FS_OVERRIDE.name];
    assert.throws(
      () => lockDataDirs(dir, dir, 'ark server', nfs),
      (e: unknown) => {
        assert.ok(e instanceof DataDirError && !(e instanceof DataDirLockedError));
        assert.match(
          e.message,
          new RegExp(`${dir} is on a network file system \\(NFS\\).*${NETWORK_FS_OVERRIDE.name}=${NETWORK_FS_OVERRIDE.value}`),
        );
        return true;
      },
    );
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'nothing taken');
    process.env[NETWORK_FS_OVERRIDE.name] = NETWORK_FS_OVERRIDE.value;
    const lock = lockDataDirs(dir, dir, 'ark server', nfs);
    assert.equal(lockFile(dir).pid, process.pid, 'the lock file still guards');
    lock.release();
    // a local file system needs no override
    delete process.env[NETWORK_FS_OVERRIDE.name];
    lockDataDirs(dir, dir, 'ark server', { fsType: () => 0xef53 }).release();
  } finally {
    if (saved === undefined) delete process.env[NETWORK_FS_OVERRIDE.name];
    else process.env[NETWORK_FS_OVERRIDE.name] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory that cannot be created is one clear error', () => {
  const file = join(tempDir('lock-file'), 'plain');
  writeFileSync(file, 'x');
  assert.throws(
    () => lockDataDirs(join(file, 'sub'), join(file, 'sub'), 'ark server'),
    (e: unknown) => e instanceof DataDirError && /cannot create the directory .*plain\/sub/.test(e.message),
  );
});
