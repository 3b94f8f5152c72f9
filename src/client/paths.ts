// Connect strings, path validation and chroot, as ZooKeeper's client does them
// (ConnectStringParser, PathUtils.validatePath, client/Chroot.java). PURE.
import { badArguments } from './errors.js';
import { parseHostList, type HostPort } from '../util/hostport.js';

export { DEFAULT_PORT, formatHostPort, type HostPort } from '../util/hostport.js';

export interface ConnectString {
  hosts: HostPort[];
  /** the chroot ("/app"), or null when the client sees the whole tree */
  chroot: string | null;
}

/**
 * `host[:port][,host[:port]...][/chroot]`: hosts by name, IPv4 or [IPv6]; the port defaults to
 * 2181; everything from the first '/' is the chroot ("/" alone means none). A trailing '/' on the
 * chroot is dropped.
 */
export function parseConnectString(text: string): ConnectString {
  const s = text.trim();
  const bad = (why: string) => badArguments(`connect string ${JSON.stringify(text)}: ${why} (expected host:port[,host:port...][/chroot])`);
  if (s.length === 0) throw bad('empty');
  const slash = s.indexOf('/');
  const hostPart = slash === -1 ? s : s.slice(0, slash);
  let chroot: string | null = slash === -1 ? null : s.slice(slash);
  if (chroot !== null) {
    if (chroot.length > 1 && chroot.endsWith('/')) chroot = chroot.slice(0, -1);
    if (chroot === '/') chroot = null;
    else {
      const problem = pathProblem(chroot);
      if (problem) throw bad(`chroot ${chroot}: ${problem}`);
    }
  }
  const hosts: HostPort[] = parseHostList(hostPart, bad);
  return { hosts, chroot };
}

/** Why a path is not a valid znode path (PathUtils.validatePath), or null when it is. */
export function pathProblem(path: string, sequential = false): string | null {
  if (typeof path !== 'string') return 'path must be a string';
  if (sequential) path = `${path}1`; // a sequential create may end in '/' (the server appends the counter)
  if (path.length === 0) return 'path length must be > 0';
  if (path[0] !== '/') return 'path must start with / character';
  if (path.length === 1) return null;
  if (path[path.length - 1] === '/') return 'path must not end with / character';
  let last = '/';
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    const ch = path[i]!;
    if (c === 0) return `null character not allowed @${i}`;
    if (ch === '/' && last === '/') return `empty node name specified @${i}`;
    if (ch === '.' && last === '.') {
      if (path[i - 2] === '/' && (i + 1 === path.length || path[i + 1] === '/')) return `relative paths not allowed @${i}`;
    } else if (ch === '.') {
      if (path[i - 1] === '/' && (i + 1 === path.length || path[i + 1] === '/')) return `relative paths not allowed @${i}`;
    } else if ((c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
      return `invalid character @${i}`;
    }
    last = ch;
  }
  return null;
}

/** Throws BadArgumentsError (before anything is sent) when the path is not valid. */
export function validatePath(path: string, sequential = false): void {
  const problem = pathProblem(path, sequential);
  if (problem) throw badArguments(problem, path);
}

/** Client path -> server path: "/" is the chroot itself. */
export function prependChroot(chroot: string | null, clientPath: string): string {
  if (chroot === null) return clientPath;
  return clientPath === '/' ? chroot : chroot + clientPath;
}

/**
 * Server path -> client path. A path outside the chroot (e.g. /zookeeper/config) is returned as
 * it is, as ZooKeeper's client does.
 */
export function stripChroot(chroot: string | null, serverPath: string): string {
  if (chroot === null) return serverPath;
  if (serverPath === chroot) return '/';
  if (serverPath.startsWith(chroot) && serverPath[chroot.length] === '/') return serverPath.slice(chroot.length);
  return serverPath;
}

/** True when serverPath is the chroot or below it. */
export function insideChroot(chroot: string | null, serverPath: string): boolean {
  return chroot === null || serverPath === chroot || (serverPath.startsWith(chroot) && serverPath[chroot.length] === '/');
}

/** "/a/b/c" -> ["/a", "/a/b"] (the parents, shallowest first; none for "/" or "/a"). */
export function parentPaths(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/', 1); i !== -1; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}

/** "/a/b" + "c" -> "/a/b/c"; "/" + "c" -> "/c". */
export function joinPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}
