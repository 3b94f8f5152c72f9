// Path rules of ZooKeeper's PathUtils.validatePath; a bad path is BadArguments on the wire.
import { ErrorCode, KeeperError } from '../util/errors.js';

export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'path length must be > 0';
  if (path[0] !== '/') return 'path must start with / character';
  if (path.length === 1) return null;
  if (path[path.length - 1] === '/') return 'path must not end with / character';
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.length === 0) return `empty node name specified @${i}`;
    if (p === '.' || p === '..') return `relative paths not allowed @${i}`;
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if ((c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

export function validatePath(path: string): void {
  const problem = pathProblem(path);
  if (problem) throw new KeeperError(ErrorCode.BadArguments, path, { cause: new Error(problem) });
}
