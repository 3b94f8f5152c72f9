// Path rules of ZooKeeper's PathUtils.validatePath; a bad path is BadArguments on the wire.
import { ErrorCode, KeeperError } from '../util/errors.js';

export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'path must start with / character';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'path must not end with / character';
  // one pass, no allocation (every request's path goes through here): node names are the runs
  // between slashes; ZooKeeper reports the name problems first, then characters
  let charProblem: string | null = null;
  let segment = 0;
  let start = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      segment++;
      const len = i - start;
      if (len === 0) return `empty node name specified @${segment}`;
      if (path.charCodeAt(start) === 0x2e && (len === 1 || (len === 2 && path.charCodeAt(start + 1) === 0x2e))) {
        return `relative paths not allowed @${segment}`;
      }
      start = i + 1;
      continue;
    }
    if (charProblem === null) {
      if (c === 0) charProblem = `null character not allowed @${i}`;
      else if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0)
        charProblem = `invalid character @${i}`;
    }
  }
  return charProblem;
}

export function validatePath(path: string): void {
  const problem = pathProblem(path);
  if (problem) throw new KeeperError(ErrorCode.BadArguments, path, { cause: new Error(problem) });
}
