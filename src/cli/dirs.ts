// The directories zoo.cfg names, made ready before a server starts, with one line that says what
// is wrong when they cannot be. Node's recursive mkdirSync spins forever at 100% CPU where mkdir
// answers ENOENT under a parent that exists (procfs: dataDir=/proc/x or /proc/self; the same loop
// as Bun's oven-sh/bun#40600), and a bare errno with a stack trace tells an operator little.
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** A configured directory that cannot be created or written: the message is the whole story. */
export class DirSetupError extends Error {}

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EEXIST: 'something that is not a directory is in the way (a dangling symbolic link?)',
  // mkdir under a parent that exists (procfs, sysfs): the file system has no room for new entries
  ENOENT: 'this file system does not allow creating directories there',
};

/** `syscall path: CODE: why`, from a Node file-system error */
function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const where = err.path ? `${err.syscall ? `${err.syscall} ` : ''}${err.path}: ` : '';
  return `${where}${err.code ? `${err.code}: ${WHY[err.code] ?? err.message}` : err.message}`;
}

/** true for a directory, false for nothing there; throws for a non-directory or a path that cannot be looked at */
function isDirectory(path: string): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return false;
  if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR', syscall: 'stat', path });
  return true;
}

/** mkdir -p one level at a time, top down, so that no mkdir is retried: each failure is final. */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !isDirectory(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(d)) throw e;
    }
  }
}

/** Creating and removing an entry proves the directory takes new files (the server's first act there). */
function probeWritable(dir: string): void {
  const probe = join(dir, `.ark-write-test-${process.pid}`);
  mkdirSync(probe);
  rmdirSync(probe);
}

/**
 * Creates each directory (a zoo.cfg key and its value) that does not exist and checks that each
 * takes new entries; throws DirSetupError naming the key, the path and the reason otherwise.
 */
export function prepareServerDirs(dirs: ReadonlyArray<{ key: string; path: string }>): void {
  for (const { key, path } of dirs) {
    const dir = resolve(path);
    const fix = `point ${key} in zoo.cfg at a writable directory`;
    try {
      makeDirs(dir);
    } catch (e) {
      throw new DirSetupError(`${key} ${dir} cannot be created (${describe(e)}): ${fix}`);
    }
    try {
      probeWritable(dir);
    } catch (e) {
      throw new DirSetupError(`${key} ${dir} is not writable (${describe(e)}): ${fix}`);
    }
  }
}
