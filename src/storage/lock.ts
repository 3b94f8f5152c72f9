// The data-dir lock: one process at a time writes a dataDir / dataLogDir. Two servers on one dir
// interleave two histories in one log (acknowledged writes of both are lost), and `ark restore
// --force` under a running server deletes the log it is still writing (issue 12).
//
// Why it is safe, in two layers:
// 1. The kernel holds the lock. Each directory (by device and inode, so two paths to one directory
//    are one lock) is locked by listening on an abstract Unix socket named after it
//    (`\0ark-datadir-lock:<dev>:<ino>`, Linux's abstract namespace, unix(7)). Binding a name that a
//    socket already has fails with EADDRINUSE, atomically; the name belongs to the open socket, not
//    to a file, so the kernel frees it when the holder dies in any way (kill -9, OOM kill, power
//    loss and reboot). Node has no flock(2); this needs no native addon, and unlike a pid file it
//    has no window in which two processes both decide that a dead holder's lock is theirs. The
//    socket's descriptor is close-on-exec, so a child process never inherits the lock.
// 2. A lock file, `<dir>/ark.lock`, names the holder (pid, host, boot id, process start time,
//    purpose) so a refusal can say who holds the dir, and guards against what the socket cannot
//    see: a process in another network namespace (a container sharing the volume) or on another
//    machine. It is created with link(2) from a complete, fsynced temp file, so it appears whole
//    or not at all (link is atomic on local file systems and on NFS). One that is left behind by a
//    kill -9 or a power loss is stale, and replaced, when it names this host and either another
//    boot (the boot id changed) or a process that is gone (no /proc/<pid>, or a different start
//    time there: the pid was reused). One naming another host is never judged from here: a
//    heartbeat (a lease the holder renews) would turn a holder that is only slow (start-up reads a
//    large snapshot synchronously, a SNAP is built in one piece) into a "dead" one and let a
//    second writer in, which loses data; a refusal only costs an operator deleting a file.
// On a network file system (NFS, SMB, CephFS, FUSE, ...) layer 1 sees only this machine's
// processes, so exclusivity cannot be proven: taking the lock is refused unless the operator
// accepts layer 2 alone with ARK_DATA_DIR_LOCK=accept-network-fs (never silently).
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, uptime } from 'node:os';
import { join } from 'node:path';
import { DataDirError, fsyncPath } from './filelog.js';

export const LOCK_FILE = 'ark.lock';
/** the environment variable (and its value) that accepts a lock file alone on a network file system */
export const NETWORK_FS_OVERRIDE = { name: 'ARK_DATA_DIR_LOCK', value: 'accept-network-fs' } as const;

/** What the lock file says about the process holding a directory. */
export interface LockHolder {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id of the holder's boot (null off Linux) */
  bootId: string | null;
  /** the holder's start time in clock ticks since boot (/proc/<pid>/stat field 22; null off Linux) */
  startTicks: number | null;
  startedAt: string;
  /** what holds it: "ark server", "ark restore", ... */
  purpose: string;
  nonce: string;
}

export class DataDirLockedError extends DataDirError {
  constructor(
    message: string,
    readonly dir: string,
    readonly holder: LockHolder | null,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

export interface DirLock {
  /** the directories held (one when dataDir and dataLogDir are the same directory) */
  readonly dirs: readonly string[];
  /** Frees the lock (idempotent). */
  release(): void;
}

interface Held {
  dir: string;
  socket: Server;
  file: string;
}

export interface LockOptions {
  /** statfs(2)'s f_type of a directory (tests stand in a network file system here) */
  fsType?: (dir: string) => number;
}

/**
 * Takes the lock on dataDir and, when it is another directory, on dataLogDir, for `purpose`
 * ("ark server", "ark restore", ...). Creates missing directories. Throws DataDirLockedError
 * naming the holder when another process has either, DataDirError when a directory cannot be
 * created or lies on a network file system (see the top of this file).
 */
export function lockDataDirs(dataDir: string, dataLogDir: string, purpose: string, opts: LockOptions = {}): DirLock {
  const me = self(purpose);
  const fsType = opts.fsType ?? ((dir: string): number => statfsSync(dir).type);
  const held: Held[] = [];
  const release = (): void => {
    while (held.length > 0) unlockOne(held.pop()!, me.nonce);
  };
  try {
    const seen = new Set<string>();
    for (const dir of [dataDir, dataLogDir]) {
      const id = dirIdentity(dir);
      if (seen.has(id)) continue;
      seen.add(id);
      refuseNetworkFs(dir, fsType);
      held.push(lockOne(dir, id, me));
    }
  } catch (e) {
    release();
    throw e;
  }
  return { dirs: held.map((h) => h.dir), release };
}

/**
 * Runs a server's start with `lock` taken: the lock is kept when it starts (released by its
 * stop()) and freed when the start fails, so a failed start leaves the dirs free.
 */
export async function startHolding<T>(lock: DirLock, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * A live process holding `dir` according to its lock file (null when none): for the read-only
 * tools, which warn that what they read may be changing. Takes nothing.
 */
export function liveHolder(dir: string): LockHolder | null {
  const file = join(dir, LOCK_FILE);
  const holder = readHolder(file);
  return holder !== 'none' && holder !== null && judge(holder, file) !== 'stale' ? holder : null;
}

/** "ark server (pid 123 on host h, since ...)" */
export function describeHolder(h: LockHolder): string {
  return `${h.purpose} (pid ${h.pid} on host ${h.host}, since ${h.startedAt})`;
}

function lockOne(dir: string, id: string, me: LockHolder): Held {
  const file = join(dir, LOCK_FILE);
  const socket = kernelLock(id);
  if (!socket) {
    const h = readHolder(file);
    const holder = h === 'none' ? null : h;
    throw locked(dir, holder, me.purpose, holder ? '' : ` (the lock is held in the kernel; its holder left no readable ${file})`);
  }
  try {
    writeLockFile(dir, file, me);
  } catch (e) {
    socket.close();
    throw e;
  }
  return { dir, socket, file };
}

function unlockOne(h: Held, nonce: string): void {
  // the file goes first, while the kernel lock still keeps others out; only if it is still ours
  const holder = readHolder(h.file);
  if (holder !== 'none' && holder?.nonce === nonce) {
    try {
      unlinkSync(h.file);
    } catch {
      /* already gone: nothing to release */
    }
  }
  h.socket.close();
}

function locked(dir: string, holder: LockHolder | null, purpose: string, detail = ''): DataDirLockedError {
  const by = holder ? describeHolder(holder) : 'another process';
  const remote =
    holder && holder.host !== hostname()
      ? `. That is another machine sharing this directory: stop the process there; if it is gone for good, delete ${join(dir, LOCK_FILE)}`
      : '. Stop it first';
  return new DataDirLockedError(
    `${dir} is in use by ${by}${detail}: ${purpose} refuses to work on a data dir another process holds${remote}`,
    dir,
    holder,
  );
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new DataDirError(`cannot create the directory ${dir}: ${(e as Error).message}`);
  }
}

/** device:inode of the directory (created if missing), so two paths to one directory share a lock */
function dirIdentity(dir: string): string {
  ensureDir(dir);
  const st = statSync(dir, { bigint: true });
  if (!st.isDirectory()) throw new DataDirError(`${dir} is not a directory`);
  return `${st.dev}:${st.ino}`;
}

/**
 * Listens on the abstract socket named after the directory: the listen either succeeds at once
 * (this process holds the lock) or the name is taken (null). Node binds synchronously inside
 * listen(), so `listening` tells which before any I/O; the failure's error event comes later and
 * is swallowed here. unref(): the lock never keeps a process alive.
 */
function kernelLock(id: string): Server | null {
  if (process.platform !== 'linux') return createServer(); // no abstract namespace: the lock file alone
  const server = createServer((conn) => conn.destroy());
  server.on('error', () => {
    /* EADDRINUSE: reported through `listening` below */
  });
  server.listen(`\0ark-datadir-lock:${id}`);
  if (!server.listening) {
    server.close();
    return null;
  }
  server.unref();
  return server;
}

function writeLockFile(dir: string, file: string, me: LockHolder): void {
  const tmp = join(dir, `${LOCK_FILE}.${me.nonce}`);
  for (let attempt = 0; attempt < 3; attempt++) {
    writeDurably(tmp, `${JSON.stringify(me)}\n`);
    try {
      linkSync(tmp, file);
      fsyncPath(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
    const h = readHolder(file);
    if (h === 'none') continue; // went away meanwhile
    if (judge(h, file) !== 'stale') {
      if (h !== null) throw locked(dir, h, me.purpose);
      throw new DataDirLockedError(
        `${file} cannot be read as a lock file and was written since this machine booted: if no Ark process uses ${dir}, delete it`,
        dir,
        null,
      );
    }
    // stale: this process holds the kernel lock, so no other process on this machine is
    // replacing it at the same time
    try {
      unlinkSync(file);
    } catch {
      /* gone already */
    }
  }
  throw new DataDirError(`cannot take the lock file ${file}: it keeps reappearing (another machine sharing this directory?)`);
}

function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd); // a power loss must not leave an empty lock file that nobody can judge
  } finally {
    closeSync(fd);
  }
}

/** The lock file's holder; null when the file cannot be read as one; 'none' when there is no file. */
function readHolder(file: string): LockHolder | null | 'none' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'none' : null;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return Number.isSafeInteger(h.pid) && typeof h.host === 'string' && typeof h.nonce === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** 'stale' when the holder is provably gone; otherwise it is (or may be) alive. */
function judge(h: LockHolder | null, file: string): 'stale' | 'live' {
  if (h === null) {
    // unreadable: stale only if it was written before this machine last booted
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch {
      return 'stale';
    }
    return mtime < Date.now() - uptime() * 1000 ? 'stale' : 'live';
  }
  if (h.host !== hostname()) return 'live'; // another machine: cannot be judged from here
  const boot = bootId();
  if (h.bootId !== null && boot !== null && h.bootId !== boot) return 'stale'; // this machine rebooted since
  return processAlive(h.pid, h.startTicks) ? 'live' : 'stale';
}

function processAlive(pid: number, startTicks: number | null): boolean {
  if (process.platform === 'linux') {
    const ticks = procStartTicks(pid);
    // gone, or the pid now belongs to a process started at another time
    return ticks !== null && (startTicks === null || ticks === startTicks);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Field 22 of /proc/<pid>/stat (start time in clock ticks after boot), null when there is no such
 * process or only its zombie (a killed process whose parent has not reaped it yet holds nothing).
 * The command name in field 2 may hold spaces and parentheses.
 */
function procStartTicks(pid: number | 'self'): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3, the state
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function self(purpose: string): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    bootId: bootId(),
    startTicks: procStartTicks('self'),
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    purpose,
    nonce: randomBytes(8).toString('hex'),
  };
}

// statfs(2) f_type of file systems shared between machines (linux/magic.h; coreutils' stat
// marks the same ones "remote"). FUSE is in: sshfs, GlusterFS and s3fs are FUSE, and a FUSE
// file system cannot be told apart from here.
const NETWORK_FS: ReadonlyMap<number, string> = new Map([
  [0x6969, 'NFS'],
  [0x517b, 'SMB'],
  [0xff534d42, 'CIFS'],
  [0xfe534d42, 'SMB2'],
  [0x00c36400, 'CephFS'],
  [0x01021997, '9p'],
  [0x65735546, 'FUSE'],
  [0x5346414f, 'AFS'],
  [0x6b414653, 'kAFS'],
  [0x73757245, 'Coda'],
  [0x564c, 'NCP'],
  [0x01161970, 'GFS2'],
  [0x7461636f, 'OCFS2'],
  [0x47504653, 'GPFS'],
  [0x0bd00bd0, 'Lustre'],
  [0x19830326, 'BeeGFS'],
  [0xaad7aaea, 'PanFS'],
  [0x20030528, 'OrangeFS'],
  [0xbacbacbc, 'VMware shared folder'],
  [0x786f4256, 'VirtualBox shared folder'],
]);

function refuseNetworkFs(dir: string, fsType: (dir: string) => number): void {
  let type: number;
  try {
    type = fsType(dir);
  } catch {
    return; // no statfs here: nothing to go by
  }
  const fs = NETWORK_FS.get(type >>> 0);
  if (!fs || process.env[NETWORK_FS_OVERRIDE.name] === NETWORK_FS_OVERRIDE.value) return;
  throw new DataDirError(
    `${dir} is on a network file system (${fs}): Ark's data-dir lock is held by this machine's kernel, so it cannot keep ` +
      'a process on another machine from writing the same directory. Put dataDir and dataLogDir on a local disk, or, if nothing on another ' +
      `machine will ever use this directory (or you fence it yourself), set ${NETWORK_FS_OVERRIDE.name}=${NETWORK_FS_OVERRIDE.value} to rely ` +
      `on the lock file (${LOCK_FILE}) alone`,
  );
}
