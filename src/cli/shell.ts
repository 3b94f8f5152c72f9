// `ark cli`: a ZooKeeper shell with zkCli.sh's commands, flags, messages and output, on Ark's own
// client (src/client), so it works against Ark and Apache ZooKeeper alike. zkCli's text is kept
// to the letter (a script written for zkCli.sh reads the same lines from `ark cli`); `--json`
// prints one JSON document per command instead, for scripts that would rather not parse text.
//
// The Shell runs one command line at a time and writes through a ShellIO; the terminal (prompt,
// history, tab completion) and the batch and one-shot modes live in cli/cli.ts.
import { ZooKeeperClient, type ClientOptions } from '../client/zookeeper.js';
import { CreateMode, Op, type WatchedEvent } from '../client/ops.js';
import { joinPath, pathProblem } from '../client/paths.js';
import { BadArgumentsError, InvalidACLError, errorFor } from '../client/errors.js';
import { hexId, permString } from '../storage/inspect.js';
import { LIMIT_NODE, QUOTA_ROOT, StatsTrack, limitPath, statPath, trimQuotaPath } from '../tree/quota.js';
import { AddWatchMode, Perms, WatcherType, type ACL, type Stat } from '../wire/protocol.js';
import { ErrorCode, KeeperError, errorName } from '../util/errors.js';
import type { ClientState } from '../client/machine.js';
import { VERSION_STRING } from '../version.js';
import { javaPropertiesOrder, parseProperties } from '../config/properties.js';
import { parseServerLine, type QuorumServerSpec } from '../config/serverline.js';

export interface ShellIO {
  /** standard output (text includes its newlines) */
  out(text: string): void;
  /** standard error: zkCli prints "Created ..." and every error message there */
  err(text: string): void;
}

export interface ShellOptions {
  /** connect string, as zkCli's -server (default localhost:2181) */
  server: string;
  /** session timeout, as zkCli's -timeout (default 30000); also bounds each request */
  timeoutMs: number;
  /** -r: accept a read-only server */
  readOnly: boolean;
  json: boolean;
  io: ShellIO;
  /** options passed on to the client: TLS and SASL (cli.ts: zkCli's client properties), tests' settings */
  client?: Partial<ClientOptions>;
}

/** zkCli's exit codes: 0 done, 1 the command failed (or did not parse), 127 no such command. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_NOT_FOUND = 127;

/** A command that could not run, with the message zkCli prints for it (on stderr, or stdout). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
    readonly keeper?: KeeperError,
    readonly stdout = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** commons-cli's ParseException, as zkCli prints it (CliParseException wraps it: its toString) */
function parseError(kind: 'UnrecognizedOption' | 'MissingArgument', message: string): CliError {
  return new CliError(`org.apache.commons.cli.${kind}Exception: ${message}`);
}

/** how long a command waits for a lost connection to come back before it fails with ConnectionLoss */
const CONNECT_WAIT_MS = 3000;

interface OptionSpec {
  /** true: takes a value (-v 3) */
  [flag: string]: boolean;
}

interface Parsed {
  /** args[0] is the command name, as in zkCli */
  args: string[];
  opts: Map<string, string | true>;
}

interface Command {
  usage: string;
  options: OptionSpec;
  /** the fewest args (command name included) */
  min: number;
  run(sh: Shell, p: Parsed, tokens: string[]): Promise<void>;
  /** takes its own long options (reconfig's -add, -members, ...): the words go to run unparsed */
  raw?: boolean;
}

/** zkCli's tokenizer (ZooKeeperMain.MyCommandOptions.ARGS_PATTERN): words, "double" or 'single' quoted. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /\s*([^"'\s]\S*|"[^"]*"|'[^']*')\s*/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const v = m[1]!;
    out.push(/^(["']).*\1$/s.test(v) ? v.slice(1, -1) : v);
  }
  return out;
}

/**
 * Options anywhere on the line, as commons-cli's DefaultParser takes them: `-s`, bundled `-sw`,
 * `-v 3`, `-v3`, `-v=3`; a value may be a negative number but not another option; "--" ends the
 * options; anything else that starts with "-" is refused.
 */
function parseArgs(tokens: string[], spec: OptionSpec): Parsed {
  const args: string[] = [];
  const opts = new Map<string, string | true>();
  /** the option still waiting for its value */
  let pending: string | null = null;
  const isOption = (t: string): boolean => t.length >= 2 && t.startsWith('-') && t.slice(1, 2) in spec;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (pending !== null) {
      if (isOption(t) && !/^-\d+(\.\d+)?$/.test(t)) throw parseError('MissingArgument', `Missing argument for option: ${pending}`);
      opts.set(pending, t);
      pending = null;
      continue;
    }
    if (i === 0 || t === '-' || !t.startsWith('-')) {
      args.push(t);
      continue;
    }
    if (t === '--') {
      args.push(...tokens.slice(i + 1));
      break;
    }
    const body = t.slice(1);
    const eq = body.indexOf('=');
    if (eq === 1 && spec[body[0]!] === true) {
      opts.set(body[0]!, body.slice(2));
      continue;
    }
    if (body.length === 1 && body in spec) {
      if (spec[body]) pending = body;
      else opts.set(body, true);
      continue;
    }
    // a run of flags, the last of which may take the rest of the word as its value
    for (let k = 0; k < body.length; k++) {
      const ch = body[k]!;
      if (eq !== -1 || !(ch in spec)) throw parseError('UnrecognizedOption', `Unrecognized option: ${t}`);
      if (spec[ch]) {
        if (k + 1 < body.length) opts.set(ch, body.slice(k + 1));
        else pending = ch;
        break;
      }
      opts.set(ch, true);
    }
  }
  if (pending !== null) throw parseError('MissingArgument', `Missing argument for option: ${pending}`);
  return { args, opts };
}

function intOption(p: Parsed, flag: string, fallback: number): number {
  const v = p.opts.get(flag);
  if (v === undefined || v === true) return fallback;
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Math.abs(Number(v)) > 0x7fffffff) {
    throw new CliError(`-${flag} argument must be an int value`);
  }
  return Number(v);
}

// ---------- how zkCli prints things ----------

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** java.util.Date.toString(): "Thu Jan 01 00:00:00 UTC 1970", in the local time zone. */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zoneName(d)} ${d.getFullYear()}`;
}

/**
 * The zone's short name as Java prints it (CET, EST, IST, AEDT): Intl knows each name only under
 * some English locales and says "GMT+1" under the others, so the first real name wins.
 */
function zoneName(d: Date): string {
  let fallback = 'UTC';
  for (const locale of ['en-US', 'en-GB', 'en-IN', 'en-AU']) {
    let name: string | undefined;
    try {
      name = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value;
    } catch {
      return fallback;
    }
    if (!name) continue;
    if (!/^GMT[+-]/.test(name)) return name;
    if (locale === 'en-US') fallback = name;
  }
  return fallback;
}

/** "0x" + Long.toHexString (two's complement for negatives) */
const hex = (v: number | bigint): string => hexId(BigInt(v));

/** zkCli's StatPrinter. */
export function statLines(s: Stat): string[] {
  return [
    `cZxid = ${hex(s.czxid)}`,
    `ctime = ${javaDate(s.ctime)}`,
    `mZxid = ${hex(s.mzxid)}`,
    `mtime = ${javaDate(s.mtime)}`,
    `pZxid = ${hex(s.pzxid)}`,
    `cversion = ${s.cversion}`,
    `dataVersion = ${s.version}`,
    `aclVersion = ${s.aversion}`,
    `ephemeralOwner = ${hex(s.ephemeralOwner)}`,
    `dataLength = ${s.dataLength}`,
    `numChildren = ${s.numChildren}`,
  ];
}

/** The Stat for --json: numbers, with the session id (64 bits) as hex. */
function statJson(s: Stat): Record<string, unknown> {
  return {
    czxid: s.czxid,
    mzxid: s.mzxid,
    pzxid: s.pzxid,
    ctime: s.ctime,
    mtime: s.mtime,
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: hex(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

export { permString };

/** jute's CSV form of a string (Id.toString as zkCli's getAcl prints it). */
function csvString(s: string): string {
  return `'${s.replace(/[\0\n\r,}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)}`;
}

/**
 * zkCli's AclParser: "scheme:id:perms[,...]", split at the first and last colon (a digest id has
 * one inside). Entries without that form, and unknown perm letters, are reported and left out.
 */
export function parseAcl(text: string, warn: (msg: string) => void): ACL[] {
  const out: ACL[] = [];
  for (const a of text.split(',')) {
    const first = a.indexOf(':');
    const last = a.lastIndexOf(':');
    if (first === -1 || first === last) {
      warn(`${a} does not have the form scheme:id:perm`);
      continue;
    }
    let perms = 0;
    for (const ch of a.slice(last + 1)) {
      const bit = ({ r: Perms.READ, w: Perms.WRITE, c: Perms.CREATE, d: Perms.DELETE, a: Perms.ADMIN } as Record<string, number>)[ch];
      if (bit === undefined) warn(`Unknown perm type: ${ch}`);
      else perms |= bit;
    }
    out.push({ id: { scheme: a.slice(0, first), id: a.slice(first + 1, last) }, perms });
  }
  return out;
}

/** KeeperException.getCodeMessage. */
const CODE_MESSAGES = new Map<number, string>([
  [ErrorCode.Ok, 'ok'],
  [ErrorCode.SystemError, 'SystemError'],
  [ErrorCode.RuntimeInconsistency, 'RuntimeInconsistency'],
  [ErrorCode.DataInconsistency, 'DataInconsistency'],
  [ErrorCode.ConnectionLoss, 'ConnectionLoss'],
  [ErrorCode.MarshallingError, 'MarshallingError'],
  [ErrorCode.NewConfigNoQuorum, 'NewConfigNoQuorum'],
  [ErrorCode.ReconfigInProgress, 'ReconfigInProgress'],
  [ErrorCode.Unimplemented, 'Unimplemented'],
  [ErrorCode.OperationTimeout, 'OperationTimeout'],
  [ErrorCode.BadArguments, 'BadArguments'],
  [ErrorCode.APIError, 'APIError'],
  [ErrorCode.NoNode, 'NoNode'],
  [ErrorCode.NoAuth, 'NoAuth'],
  [ErrorCode.BadVersion, 'BadVersion'],
  [ErrorCode.NoChildrenForEphemerals, 'NoChildrenForEphemerals'],
  [ErrorCode.NodeExists, 'NodeExists'],
  [ErrorCode.InvalidACL, 'InvalidACL'],
  [ErrorCode.AuthFailed, 'AuthFailed'],
  [ErrorCode.NotEmpty, 'Directory not empty'],
  [ErrorCode.SessionExpired, 'Session expired'],
  [ErrorCode.InvalidCallback, 'Invalid callback'],
  [ErrorCode.SessionMoved, 'Session moved'],
  [ErrorCode.NotReadOnly, 'Not a read-only call'],
  [ErrorCode.EphemeralOnLocalSession, 'Ephemeral node on local session'],
  [ErrorCode.NoWatcher, 'No such watcher'],
  [ErrorCode.ReconfigDisabled, 'Reconfig is disabled'],
  [ErrorCode.SessionClosedRequireSaslAuth, 'Session closed because client failed to authenticate'],
  [ErrorCode.QuotaExceeded, 'Quota has exceeded'],
  [ErrorCode.ThrottledOp, 'Op throttled due to high load'],
]);

/** What zkCli prints for a KeeperException (CliWrapperException), given the path the user typed. */
export function keeperMessage(e: KeeperError, path: string | undefined): string {
  const p = path ?? e.path ?? '';
  switch (e.code) {
    case ErrorCode.NoNode:
      return `Node does not exist: ${p}`;
    case ErrorCode.NoChildrenForEphemerals:
      return `Ephemerals cannot have children: ${p}`;
    case ErrorCode.NodeExists:
      return `Node already exists: ${p}`;
    case ErrorCode.NotEmpty:
      return `Node not empty: ${p}`;
    case ErrorCode.NotReadOnly:
      return `Not a read-only call: ${p}`;
    case ErrorCode.InvalidACL:
      return `Acl is not valid : ${p}`;
    case ErrorCode.NoAuth:
      return `Insufficient permission : ${p}`;
    case ErrorCode.BadArguments:
      return `Arguments are not valid : ${p}`;
    case ErrorCode.BadVersion:
      return `version No is not valid : ${p}`;
    case ErrorCode.QuotaExceeded:
      return `Quota has exceeded : ${p}`;
    case ErrorCode.ReconfigInProgress:
      return 'Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)';
    case ErrorCode.NewConfigNoQuorum:
      return 'No quorum of new config is connected and up-to-date with the leader of last committed config - try invoking reconfiguration after new servers are connected and synced';
    default:
      return keeperMessageRaw(e, p);
  }
}

/** netty's ByteBufUtil.prettyHexDump, as `get -x` prints it. */
export function hexDump(data: Buffer): string {
  if (data.length === 0) return '';
  const lines = [
    '         +-------------------------------------------------+',
    '         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |',
    '+--------+-------------------------------------------------+----------------+',
  ];
  for (let off = 0; off < data.length; off += 16) {
    const row = data.subarray(off, off + 16);
    const bytes = Array.from(row, (b) => ` ${b.toString(16).padStart(2, '0')}`)
      .join('')
      .padEnd(48);
    const chars = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
      .join('')
      .padEnd(16);
    lines.push(`|${off.toString(16).padStart(8, '0')}|${bytes} |${chars}|`);
  }
  lines.push('+--------+-------------------------------------------------+----------------+');
  return lines.join('\n');
}

/** a client state as zkCli's KeeperState in "WatchedEvent state:X type:None path:null" */
const STATE_EVENT: Partial<Record<ClientState, string>> = {
  connected: 'SyncConnected',
  readOnly: 'ConnectedReadOnly',
  suspended: 'Disconnected',
  expired: 'Expired',
  closed: 'Closed',
};

/** zkCli's prompt shows ZooKeeper.States */
const STATE_NAME: Record<ClientState, string> = {
  connecting: 'CONNECTING',
  connected: 'CONNECTED',
  readOnly: 'CONNECTEDREADONLY',
  suspended: 'CONNECTING',
  expired: 'CLOSED',
  authFailed: 'AUTH_FAILED',
  closed: 'CLOSED',
};

// ---------- the commands ----------

const OK_JSON = { ok: true };

/** The path, or zkCli's MalformedPathException message (PathUtils' words, capitalized). */
function needPath(path: string, sequential = false): string {
  const problem = pathProblem(path, sequential);
  if (problem) throw new CliError(problem[0]!.toUpperCase() + problem.slice(1));
  return path;
}

/**
 * zkCli 3.4's `cmd path watch` form: a third word sets the watch, with zkCli's notice on stderr
 * (for delete the word is ignored, as zkCli does).
 */
function deprecatedWatch(sh: Shell, p: Parsed, notice: string): boolean {
  if (p.args.length <= 2) return p.opts.has('w');
  sh.err(notice);
  return !notice.startsWith("'delete");
}

/** An ACL list that parsed to nothing: the Java client refuses it before sending (InvalidACLException, no path). */
function needAcl(acl: ACL[]): ACL[] {
  if (acl.length === 0) throw new CliError('Acl is not valid : null', EXIT_FAILED, new KeeperError(ErrorCode.InvalidACL));
  return acl;
}

const COMMANDS: Record<string, Command> = {
  ls: {
    usage: '[-s] [-w] [-R] path',
    options: { s: false, w: false, R: false, '?': false },
    min: 2,
    async run(sh, p) {
      const watch = deprecatedWatch(sh, p, "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.");
      const path = needPath(p.args[1]!);
      const c = await sh.zk();
      if (p.opts.has('R')) {
        const all: string[] = [];
        await visitSubtree(c, path, watch, (at) => {
          all.push(at);
        });
        sh.result({ path, paths: all }, () => sh.out(all.join('\n')));
        return;
      }
      const { children, stat } = await c.getChildrenWithStat(path, { watch });
      children.sort();
      sh.result({ path, children, ...(p.opts.has('s') ? { stat: statJson(stat) } : {}) }, () => {
        sh.out(`[${children.join(', ')}]`);
        if (p.opts.has('s')) sh.out(statLines(stat).join('\n'));
      });
    },
  },
  get: {
    usage: '[-s] [-w] [-b] [-x] path',
    options: { s: false, w: false, b: false, x: false },
    min: 2,
    async run(sh, p) {
      const watch = deprecatedWatch(sh, p, "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.");
      const path = needPath(p.args[1]!);
      const { data, stat } = await (await sh.zk()).getData(path, { watch });
      const bytes = data ?? Buffer.from('null');
      sh.result(
        {
          path,
          data: data === null ? null : data.toString('utf8'),
          base64: data === null ? null : data.toString('base64'),
          ...(p.opts.has('s') ? { stat: statJson(stat) } : {}),
        },
        () => {
          sh.out(p.opts.has('x') ? hexDump(bytes) : p.opts.has('b') ? bytes.toString('base64') : bytes.toString('utf8'));
          if (p.opts.has('s')) sh.out(statLines(stat).join('\n'));
        },
      );
    },
  },
  set: {
    usage: '[-s] [-v version] [-b] path data',
    options: { s: false, v: true, b: false },
    min: 3,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      const text = p.args[2]!;
      if (p.opts.has('b') && !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new CliError(`Illegal base64 data: ${text}`);
      const data = p.opts.has('b') ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
      const version = intOption(p, 'v', -1);
      const stat = await (await sh.zk()).setData(path, data, { version });
      sh.result({ path, stat: statJson(stat) }, () => {
        if (p.opts.has('s')) sh.out(statLines(stat).join('\n'));
      });
    },
  },
  create: {
    usage: '[-s] [-e] [-c] [-t ttl] path [data] [acl]',
    options: { s: false, e: false, c: false, t: true },
    min: 2,
    async run(sh, p) {
      const [e, s, c, t] = ['e', 's', 'c', 't'].map((f) => p.opts.has(f));
      if (c && (e || s)) throw new CliError('-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.');
      let ttl = 0;
      if (t) {
        const v = p.opts.get('t') as string;
        if (!/^[+-]?\d+$/.test(v)) throw new CliError('-t argument must be a long value');
        ttl = Number(v);
        if (e) throw new CliError('TTLs cannot be used with Ephemeral znodes');
        if (c) throw new CliError('TTLs cannot be used with Container znodes');
        if (ttl <= 0 || ttl > 0xffffffffff) throw new CliError(`ttl must be positive and cannot be larger than: ${0xffffffffff}`);
      }
      const mode = e
        ? s
          ? CreateMode.EPHEMERAL_SEQUENTIAL
          : CreateMode.EPHEMERAL
        : s
          ? t
            ? CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL
            : CreateMode.PERSISTENT_SEQUENTIAL
          : c
            ? CreateMode.CONTAINER
            : t
              ? CreateMode.PERSISTENT_WITH_TTL
              : CreateMode.PERSISTENT;
      const path = needPath(p.args[1]!, s);
      const data = p.args.length > 2 ? Buffer.from(p.args[2]!, 'utf8') : null;
      let acl: ACL[] | undefined;
      if (p.args.length > 3) {
        acl = parseAcl(p.args[3]!, (m) => sh.err(m));
        if (acl.length === 0) sh.err('KeeperErrorCode = InvalidACL');
        needAcl(acl);
      }
      let created: string;
      try {
        created = await (await sh.zk()).create(path, data, { mode, ...(acl ? { acl } : {}), ...(t ? { ttlMs: ttl } : {}) });
      } catch (err) {
        if (err instanceof InvalidACLError) sh.err(keeperMessageRaw(err, path));
        throw err;
      }
      sh.result({ created }, () => sh.err(`Created ${created}`));
    },
  },
  delete: {
    usage: '[-v version] path',
    options: { v: true },
    min: 2,
    async run(sh, p) {
      deprecatedWatch(sh, p, "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.");
      const path = needPath(p.args[1]!);
      const version = intOption(p, 'v', -1);
      await (await sh.zk()).delete(path, { version });
      sh.result(OK_JSON, () => undefined);
    },
  },
  deleteall: {
    usage: 'path [-b batch size]',
    options: { b: true },
    min: 2,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      const batch = intOption(p, 'b', 1000);
      if (batch <= 0) throw new CliError('-b argument must be an int value');
      const c = await sh.zk();
      // ZKUtil.deleteRecursive: list the subtree breadth first, then delete deepest first in
      // multis of up to `batch` deletes
      const tree = [path];
      for (let i = 0; i < tree.length; i++) for (const k of await c.getChildren(tree[i]!)) tree.push(joinPath(tree[i]!, k));
      const victims = tree.reverse().filter((x) => x !== '/');
      let failed = false;
      for (let i = 0; i < victims.length; i += batch) {
        const ops = victims.slice(i, i + batch).map((v) => Op.delete(v));
        try {
          await c.multi(ops);
        } catch (err) {
          if (!(err instanceof KeeperError) || err.code === ErrorCode.ConnectionLoss || err.code === ErrorCode.SessionExpired) throw err;
          // one by one, so what can go goes (ZKUtil's fallback when a batch fails)
          for (const op of ops) {
            try {
              await c.delete(op.path);
            } catch (e1) {
              if (!(e1 instanceof KeeperError) || e1.code !== ErrorCode.NoNode) failed = true;
            }
          }
        }
      }
      if (failed) sh.err('Failed to delete some node(s) in the subtree!');
      sh.result({ ok: !failed, deleted: victims.length }, () => undefined);
    },
  },
  stat: {
    usage: '[-w] path',
    options: { w: false },
    min: 2,
    async run(sh, p) {
      const watch = deprecatedWatch(sh, p, "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.");
      const path = needPath(p.args[1]!);
      const stat = await (await sh.zk()).exists(path, { watch });
      if (!stat) throw new CliError(`Node does not exist: ${path}`, EXIT_FAILED, new KeeperError(ErrorCode.NoNode, path));
      sh.result({ path, stat: statJson(stat) }, () => sh.out(statLines(stat).join('\n')));
    },
  },
  getAcl: {
    usage: '[-s] path',
    options: { s: false },
    min: 2,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      const { acl, stat } = await (await sh.zk()).getACL(path);
      sh.result(
        {
          path,
          acl: acl.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: permString(a.perms) })),
          ...(p.opts.has('s') ? { stat: statJson(stat) } : {}),
        },
        () => {
          for (const a of acl) sh.out(`${csvString(a.id.scheme)},${csvString(a.id.id)}\n: ${permString(a.perms)}`);
          if (p.opts.has('s')) sh.out(statLines(stat).join('\n'));
        },
      );
    },
  },
  setAcl: {
    usage: '[-s] [-v version] [-R] path acl',
    options: { s: false, v: true, R: false },
    min: 3,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      const acl = needAcl(parseAcl(p.args[2]!, (m) => sh.err(m)));
      const version = intOption(p, 'v', -1);
      const c = await sh.zk();
      if (p.opts.has('R')) {
        // as zkCli: a node that refuses is reported (on stdout, with no line end) and the walk goes on
        let n = 0;
        await visitSubtree(c, path, false, async (at) => {
          try {
            await c.setACL(at, acl, { version });
            n++;
          } catch (e) {
            if (!(e instanceof KeeperError)) throw e;
            if (sh.json) sh.out(JSON.stringify({ error: errorJson(keeperMessageRaw(e, at), e) }));
            else sh.outRaw(keeperMessageRaw(e, at));
          }
        });
        sh.result({ ok: true, updated: n }, () => undefined);
        return;
      }
      const stat = await c.setACL(path, acl, { version });
      sh.result({ path, stat: statJson(stat) }, () => {
        if (p.opts.has('s')) sh.out(statLines(stat).join('\n'));
      });
    },
  },
  addauth: {
    usage: 'scheme auth',
    options: {},
    min: 2,
    async run(sh, p) {
      // as zkCli: sent without waiting for the answer (a refusal shows as an AuthFailed event)
      (await sh.zk()).addAuth(p.args[1]!, p.args[2] ?? '').catch(() => undefined);
      sh.result(OK_JSON, () => undefined);
    },
  },
  sync: {
    usage: 'path',
    options: {},
    min: 2,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      // zkCli syncs asynchronously and prints the result code, on stdout, whatever it is
      let rc = 0;
      try {
        await (await sh.zk()).sync(path);
      } catch (e) {
        if (!(e instanceof KeeperError)) throw e;
        rc = e.code;
      }
      sh.result({ path, synced: rc === 0, ...(rc ? { code: rc } : {}) }, () =>
        sh.out(rc === 0 ? 'Sync is OK' : `Sync has failed. rc=${rc}`),
      );
    },
  },
  config: {
    usage: '[-c] [-w] [-s]',
    options: { c: false, w: false, s: false },
    min: 1,
    async run(sh, p) {
      const { data, stat } = await (await sh.zk()).getConfig({ watch: p.opts.has('w') });
      const text = data === null ? 'null' : data.toString('utf8');
      const shown = p.opts.has('c') ? clientConfig(text) : text;
      sh.result({ config: shown, ...(p.opts.has('s') ? { stat: statJson(stat) } : {}) }, () => {
        sh.out(shown);
        if (p.opts.has('s')) sh.out(statLines(stat).join('\n'));
      });
    },
  },
  whoami: {
    usage: '',
    options: {},
    min: 1,
    async run(sh) {
      const ids = await (await sh.zk()).whoAmI();
      sh.result({ ids }, () => sh.out(['Auth scheme: User', ...ids.map((i) => `${i.scheme}: ${i.user}`)].join('\n')));
    },
  },
  addWatch: {
    usage: '[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE',
    options: { m: true },
    min: 2,
    async run(sh, p) {
      if (p.args.length !== 2) throw new CliError(`addWatch ${COMMANDS.addWatch!.usage}`);
      const m = String(p.opts.get('m') ?? 'PERSISTENT_RECURSIVE').toUpperCase();
      if (m !== 'PERSISTENT' && m !== 'PERSISTENT_RECURSIVE') throw new CliError(`addWatch ${COMMANDS.addWatch!.usage}`);
      const path = needPath(p.args[1]!);
      await (await sh.zk()).addWatch(path, true, { mode: m === 'PERSISTENT' ? AddWatchMode.Persistent : AddWatchMode.PersistentRecursive });
      sh.result(OK_JSON, () => undefined);
    },
  },
  removewatches: {
    usage: 'path [-c|-d|-a] [-l]',
    options: { c: false, d: false, p: false, r: false, a: false, l: false },
    min: 2,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      const type = p.opts.has('c')
        ? WatcherType.Children
        : p.opts.has('d')
          ? WatcherType.Data
          : p.opts.has('p')
            ? WatcherType.Persistent
            : p.opts.has('r')
              ? WatcherType.PersistentRecursive
              : WatcherType.Any;
      await (await sh.zk()).removeWatches(path, type, { local: p.opts.has('l') });
      sh.result(OK_JSON, () => undefined);
    },
  },
  getEphemerals: {
    usage: 'path',
    options: {},
    min: 1,
    async run(sh, p) {
      const prefix = needPath(p.args[1] ?? '/');
      const paths = await (await sh.zk()).getEphemerals(prefix);
      sh.result({ paths }, () => sh.out(`[${paths.join(', ')}]`));
    },
  },
  getAllChildrenNumber: {
    usage: 'path',
    options: {},
    min: 2,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      const count = await (await sh.zk()).getAllChildrenNumber(path);
      sh.result({ path, count }, () => sh.out(String(count)));
    },
  },
  reconfig: {
    usage:
      '[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]',
    options: {},
    min: 1,
    raw: true,
    async run(sh, _p, tokens) {
      const want: Record<string, string> = {};
      let withStat = false;
      for (let i = 1; i < tokens.length; i++) {
        const t = tokens[i]!;
        if (t === '-s') withStat = true;
        else if (['-v', '-add', '-remove', '-members', '-file'].includes(t) && tokens[i + 1] !== undefined) want[t.slice(1)] = tokens[++i]!;
        else throw new CliError(`reconfig ${COMMANDS.reconfig!.usage}`);
      }
      if (want.file !== undefined) throw new CliError('reconfig -file: Ark reads no dynamic config file; give the servers with -members');
      if (want.add === undefined && want.remove === undefined && want.members === undefined)
        throw new CliError(`reconfig ${COMMANDS.reconfig!.usage}`);
      if (want.v !== undefined && !/^(0x)?[0-9a-f]+$/i.test(want.v))
        throw new CliError('-v must be followed by a long (configuration version)');
      let result: Awaited<ReturnType<ZooKeeperClient['reconfig']>>;
      try {
        result = await (await sh.zk()).reconfig({
          ...(want.add !== undefined ? { joining: want.add } : {}),
          ...(want.remove !== undefined ? { leaving: want.remove } : {}),
          ...(want.members !== undefined ? { members: want.members } : {}),
          ...(want.v !== undefined ? { fromConfig: Number.parseInt(want.v.replace(/^0x/i, ''), 16) } : {}),
        });
      } catch (e) {
        // the Java client's reconfig errors carry no path
        if (e instanceof KeeperError && e.path !== undefined) throw errorFor(e.code);
        throw e;
      }
      const text = result.data?.toString('utf8') ?? '';
      sh.result({ config: text, stat: statJson(result.stat) }, () => {
        sh.out(`Committed new configuration:\n${text}`);
        if (withStat) sh.out(statLines(result.stat).join('\n'));
      });
    },
  },
  setquota: {
    usage: '-n|-b|-N|-B val path',
    options: { n: true, b: true, N: true, B: true },
    min: 1,
    async run(sh, p) {
      const given = QUOTA_FLAGS.filter((f) => p.opts.has(f));
      if (given.length === 0) {
        throw new CliError(
          'org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]',
        );
      }
      atMostOne(given);
      if (p.args.length < 2) throw new CliError(`setquota ${COMMANDS.setquota!.usage}`);
      const path = p.args[1]!;
      if (path.startsWith(QUOTA_ROOT)) {
        sh.err(`cannot set a quota under the path: ${QUOTA_ROOT}`);
        return;
      }
      const flag = given[0]!;
      const raw = p.opts.get(flag) as string;
      const value = Number(raw);
      if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(value) || ((flag === 'n' || flag === 'N') && Math.abs(value) > 0x7fffffff)) {
        sh.err('NumberFormatException happens when parsing the option value');
        return;
      }
      if ((flag === 'n' || flag === 'N') && value <= 0) {
        sh.err('the num quota must be greater than zero');
        return;
      }
      if ((flag === 'b' || flag === 'B') && value < 0) {
        sh.err('the bytes quota must be greater than or equal to zero');
        return;
      }
      await setQuota(sh, await sh.zk(), needPath(path), QUOTA_KEYS[flag]!, value);
      sh.result(OK_JSON, () => undefined);
    },
  },
  listquota: {
    usage: 'path',
    options: {},
    min: 2,
    async run(sh, p) {
      const path = needPath(p.args[1]!);
      const c = await sh.zk();
      if (!sh.json) sh.err(`absolute path is ${limitPath(path)}`);
      let limits: StatsTrack;
      let usage: StatsTrack;
      try {
        limits = new StatsTrack((await c.getData(limitPath(path))).data?.toString('utf8'));
        usage = new StatsTrack((await c.getData(statPath(path))).data?.toString('utf8'));
      } catch (e) {
        if (!(e instanceof KeeperError) || e.code !== ErrorCode.NoNode) throw e;
        throw new CliError(`quota for ${path} does not exist.`, EXIT_OK);
      }
      sh.result({ path, quota: Object.fromEntries(limits.values), stat: Object.fromEntries(usage.values) }, () => {
        sh.out(`Output quota for ${path} ${limits.toString()}`);
        sh.out(`Output stat for ${path} ${usage.toString()}`);
      });
    },
  },
  delquota: {
    usage: '[-n|-b|-N|-B] path',
    options: { n: false, b: false, N: false, B: false },
    min: 2,
    async run(sh, p) {
      const given = QUOTA_FLAGS.filter((f) => p.opts.has(f));
      atMostOne(given);
      const path = needPath(p.args[1]!);
      const c = await sh.zk();
      const limitsPath = limitPath(path);
      if (!(await c.exists(limitsPath))) {
        sh.result({ ok: true, existed: false }, () => sh.out(`Quota does not exist for ${path}`));
        return;
      }
      try {
        if (given.length === 0) {
          // the limits and stats nodes, then every quota node above them left empty
          const parent = `${QUOTA_ROOT}${path}`;
          for (const k of await c.getChildren(parent)) await c.delete(joinPath(parent, k));
          for (let at = parent; at !== QUOTA_ROOT && (await c.getChildren(at)).length === 0; at = at.slice(0, at.lastIndexOf('/')))
            await c.delete(at);
        } else {
          const limits = new StatsTrack((await c.getData(limitsPath)).data?.toString('utf8'));
          limits.values.set(QUOTA_KEYS[given[0]!]!, -1);
          await c.setData(limitsPath, limits.toString());
        }
      } catch (e) {
        if (!(e instanceof KeeperError) || e.code !== ErrorCode.NoNode) throw e;
        throw new CliError(`quota for ${path} does not exist.`, EXIT_OK);
      }
      sh.result(OK_JSON, () => undefined);
    },
  },
  version: {
    usage: '',
    options: {},
    min: 1,
    async run(sh) {
      sh.result({ version: VERSION_STRING }, () => sh.out(`ZooKeeper CLI version: ${VERSION_STRING}`));
    },
  },
};

const QUOTA_FLAGS = ['n', 'b', 'N', 'B'];

/** setquota's and delquota's flags form one commons-cli OptionGroup: at most one of them */
function atMostOne(given: string[]): void {
  if (given.length > 1) {
    throw new CliError(
      `org.apache.commons.cli.AlreadySelectedException: The option '${given[1]}' was specified but an option from this group has already been selected: '${given[0]}'`,
    );
  }
}
/** setquota's flags and the StatsTrack key each sets */
const QUOTA_KEYS: Record<string, string> = { n: 'count', b: 'bytes', N: 'countHardLimit', B: 'byteHardLimit' };

/**
 * SetQuotaCommand.createQuota: refuse a quota inside or above another one, create the quota path,
 * then the limits and stats nodes (the server counts the subtree when the stats node appears) or
 * update the one limit in place; warn on stdout when the subtree is already over it.
 */
async function setQuota(sh: Shell, c: ZooKeeperClient, path: string, key: string, value: number): Promise<void> {
  if (!(await c.exists(path))) throw new CliError(`${path} does not exist.`);
  // a quota below path
  try {
    await visitSubtree(c, `${QUOTA_ROOT}${path}`, false, async (at) => {
      let kids: string[] = [];
      try {
        kids = await c.getChildren(at);
      } catch (e) {
        if (e instanceof KeeperError && e.code === ErrorCode.NoNode) return;
        throw e;
      }
      if (at !== `${QUOTA_ROOT}${path}` && kids.includes(LIMIT_NODE))
        throw new CliError(`${path} has a child ${trimQuotaPath(at)} which has a quota`);
    });
  } catch (e) {
    if (!(e instanceof KeeperError && e.code === ErrorCode.NoNode)) throw e;
  }
  // a quota above path
  const parts = path.split('/');
  for (let i = 1, at = QUOTA_ROOT; i < parts.length - 1; i++) {
    at = `${at}/${parts[i]}`;
    let kids: string[];
    try {
      kids = await c.getChildren(at);
    } catch (e) {
      if (e instanceof KeeperError && e.code === ErrorCode.NoNode) break;
      throw e;
    }
    if (kids.length === 0) break;
    if (kids.includes(LIMIT_NODE)) throw new CliError(`${path} has a parent ${trimQuotaPath(at)} which has a quota`);
  }
  let at = QUOTA_ROOT;
  for (const part of parts.slice(1)) {
    at = `${at}/${part}`;
    if (!(await c.exists(at))) {
      try {
        await c.create(at);
      } catch (e) {
        if (!(e instanceof KeeperError && e.code === ErrorCode.NodeExists)) throw e;
      }
    }
  }
  let limits: StatsTrack;
  const fresh = !(await c.exists(limitPath(path)));
  if (fresh) {
    limits = new StatsTrack('count=-1,bytes=-1,countHardLimit=-1,byteHardLimit=-1');
    limits.values.set(key, value);
    await c.create(limitPath(path), limits.toString());
    await c.create(statPath(path), 'count=0,bytes=0');
    limits = new StatsTrack((await c.getData(limitPath(path))).data?.toString('utf8'));
  } else {
    limits = new StatsTrack((await c.getData(limitPath(path))).data?.toString('utf8'));
    limits.values.set(key, value);
  }
  const usage = new StatsTrack((await c.getData(statPath(path))).data?.toString('utf8'));
  if ((limits.count > -1 && limits.count < usage.count) || (limits.countHardLimit > -1 && limits.countHardLimit < usage.count)) {
    sh.out(`[Warning]: the count quota you create is less than the existing count:${usage.count}`);
  }
  if ((limits.bytes > -1 && limits.bytes < usage.bytes) || (limits.byteHardLimit > -1 && limits.byteHardLimit < usage.bytes)) {
    sh.out(`[Warning]: the bytes quota you create is less than the existing bytes:${usage.bytes}`);
  }
  if (!fresh) await c.setData(limitPath(path), limits.toString());
}

/**
 * ZKUtil.visitSubTreeDFS, the order of zkCli's `ls -R` and `setAcl -R`: the node (read first, so
 * a missing one fails), then each level's children (sorted) before their own subtrees. A node
 * that goes while the walk runs is passed over.
 */
async function visitSubtree(
  c: ZooKeeperClient,
  path: string,
  watch: boolean,
  visit: (path: string) => void | Promise<void>,
): Promise<void> {
  await c.getData(path, { watch });
  await visit(path);
  const walk = async (at: string): Promise<void> => {
    let kids: string[];
    try {
      kids = (await c.getChildren(at, { watch })).sort();
    } catch (e) {
      if (e instanceof KeeperError && e.code === ErrorCode.NoNode) return;
      throw e;
    }
    for (const k of kids) await visit(joinPath(at, k));
    for (const k of kids) await walk(joinPath(at, k));
  };
  await walk(path);
}

/**
 * ConfigUtils.getClientConfigStr: "version addr:port,addr:port,..." from /zookeeper/config, in the
 * order Properties walks its keys, one entry per server line that parses, empty where the line has
 * no client address (ZooKeeper prints "0 ,," then), the address as InetSocketAddress.getHostString
 * (no brackets).
 */
function clientConfig(text: string): string {
  const props = parseProperties(text);
  let version = '';
  const hosts: string[] = [];
  for (const key of javaPropertiesOrder([...props.keys()])) {
    const value = props.get(key)!.trim();
    if (key.trim() === 'version') version = value;
    if (!key.trim().startsWith('server.')) continue;
    let server: QuorumServerSpec;
    try {
      server = parseServerLine(-1, value).server;
    } catch {
      continue; // ZooKeeper prints the ConfigException's stack and goes on
    }
    hosts.push(server.clientPort === undefined ? '' : `${server.clientAddress ?? '0.0.0.0'}:${server.clientPort}`);
  }
  return `${version} ${hosts.join(',')}`;
}

/** KeeperException.getMessage(): the code's words, then " for path" unless there is none. */
function keeperMessageRaw(e: KeeperError, path: string): string {
  const msg = `KeeperErrorCode = ${CODE_MESSAGES.get(e.code) ?? `Unknown error ${e.code}`}`;
  return path ? `${msg} for ${path}` : msg;
}

function errorJson(message: string, keeper: KeeperError | undefined): Record<string, unknown> {
  return { message, ...(keeper ? { code: keeper.code, name: errorName(keeper.code), path: keeper.path ?? null } : {}) };
}

/** zkCli's own words; history, redo, printwatches, connect, close and quit act on the shell itself. */
const SHELL_USAGE: Record<string, string> = {
  close: '',
  connect: 'host:port',
  history: '',
  printwatches: 'on|off',
  quit: '',
  redo: 'cmdno',
};

export const COMMAND_NAMES = [...Object.keys(COMMANDS), ...Object.keys(SHELL_USAGE), 'exit', 'help'].sort();

export class Shell {
  private client: ZooKeeperClient | null = null;
  /** clients whose last events are not shown (an expired session replaced by `connect`, `quit`) */
  private readonly quiet = new WeakSet<ZooKeeperClient>();
  host: string;
  printWatches = true;
  readonly history = new Map<number, string>();
  commandCount = 0;
  exitCode = EXIT_OK;
  /** set by quit / exit */
  quit = false;
  /**
   * Prints output that is not the answer to a command (watch and connection events); a terminal
   * wraps it to clear and redraw its prompt line. Default: print at once.
   */
  asyncOutput: (print: () => void) => void = (print) => print();

  constructor(private readonly o: ShellOptions) {
    this.host = o.server;
  }

  get json(): boolean {
    return this.o.json;
  }

  /** zkCli's prompt: "[ark: host(STATE) n] " */
  prompt(): string {
    return `[ark: ${this.host}(${this.client ? STATE_NAME[this.client.state] : 'CLOSED'}) ${this.commandCount}] `;
  }

  out(text: string): void {
    this.o.io.out(`${text}\n`);
  }

  /** stdout without a line end (zkCli's out.print) */
  outRaw(text: string): void {
    this.o.io.out(text);
  }

  err(text: string): void {
    this.o.io.err(`${text}\n`);
  }

  /** A command's answer: its JSON document with --json, else its text. */
  result(json: object, text: () => void): void {
    if (this.o.json) this.out(JSON.stringify(json));
    else text();
  }

  /**
   * The client, once connected. "Not connected" (zkCli prints it on stdout and carries on) when
   * the session is closed or expired; ConnectionLoss when a lost connection does not come back
   * within a few seconds (the Java client fails a request at once when its connection attempt does).
   */
  async zk(): Promise<ZooKeeperClient> {
    const c = this.client;
    const notConnected = (): CliError => new CliError('Not connected', EXIT_OK, undefined, true);
    if (!c || !alive(c)) throw notConnected();
    if (!c.connected) {
      try {
        await c.waitForConnected({ timeoutMs: Math.min(this.o.timeoutMs, CONNECT_WAIT_MS) });
      } catch {
        if (!alive(c)) throw notConnected();
        // SASL refused: the session is finished, and requests fail with AuthFailed (the Java client's AUTH_FAILED)
        if (c.state === 'authFailed') throw new KeeperError(ErrorCode.AuthFailed);
        throw new KeeperError(ErrorCode.ConnectionLoss);
      }
    }
    return c;
  }

  /** Starts a session with host, as zkCli's connect: a live session before it is closed (its Closed event shown). */
  connect(host = this.host): ZooKeeperClient {
    const old = this.client;
    const c = new ZooKeeperClient(host, {
      sessionTimeoutMs: this.o.timeoutMs,
      requestTimeoutMs: this.o.timeoutMs,
      allowReadOnly: this.o.readOnly,
      // as zkCli: an expired session stays expired ("Not connected"), the user connects again
      renewSession: false,
      ...this.o.client,
    });
    // a connect string that does not parse threw above, leaving the old session as it was
    if (old) {
      if (old.state === 'expired') this.quiet.add(old);
      void old.close();
    }
    this.host = host;
    this.client = c;
    c.on('watch', (e) => this.event(c, e));
    c.on('state', (s) => {
      const state = STATE_EVENT[s];
      if (state) this.event(c, { type: 'None', state: state as WatchedEvent['state'], path: '', zxid: -1 });
    });
    c.on('authFailed', () => this.event(c, { type: 'None', state: 'AuthFailed', path: '', zxid: -1 }));
    c.on('saslAuthenticated', () => this.event(c, { type: 'None', state: 'SaslAuthenticated', path: '', zxid: -1 }));
    return c;
  }

  private event(c: ZooKeeperClient, e: WatchedEvent): void {
    if (!this.printWatches || this.quiet.has(c)) return;
    this.asyncOutput(() => {
      if (this.o.json) {
        this.out(JSON.stringify({ event: { type: e.type, state: e.state, path: e.type === 'None' ? null : e.path } }));
      } else {
        this.out('\nWATCHER::');
        this.out(`\nWatchedEvent state:${e.state} type:${e.type} path:${e.type === 'None' ? 'null' : e.path}`);
      }
    });
  }

  /** Closes the session; quietly (no Closed event) when the shell is ending. */
  async close(o: { quiet?: boolean } = {}): Promise<void> {
    const c = this.client;
    if (!c) return;
    if (o.quiet) this.quiet.add(c);
    await c.close();
  }

  /** One line typed or read, as zkCli's executeLine: kept in the history, then run. */
  async executeLine(line: string): Promise<void> {
    const tokens = tokenize(line);
    if (tokens.length === 0) return;
    this.history.set(this.commandCount, line);
    await this.run(tokens);
    this.commandCount++;
  }

  /** Runs one command (its words), setting exitCode; errors are printed, never thrown. */
  async run(tokens: string[]): Promise<number> {
    try {
      await this.dispatch(tokens);
      // quit keeps the code of the command before it: zkCli exits with that
      if (!this.quit) this.exitCode = EXIT_OK;
    } catch (e) {
      this.exitCode = this.report(e, tokens);
    }
    return this.exitCode;
  }

  private report(e: unknown, tokens: string[]): number {
    let message: string;
    let code = EXIT_FAILED;
    let keeper: KeeperError | undefined;
    let stdout = false;
    if (e instanceof CliError) {
      message = e.message;
      code = e.exitCode;
      keeper = e.keeper;
      stdout = e.stdout;
    } else if (e instanceof BadArgumentsError && e.cause instanceof Error) {
      // the client refused the argument before sending it (zkCli's MalformedPathException)
      message = e.cause.message;
    } else if (e instanceof KeeperError) {
      keeper = e;
      message = keeperMessage(e, e.path ?? pathArg(tokens));
    } else {
      // anything else (a connect string that does not parse, ...): said, and the shell goes on
      message = e instanceof Error ? e.message : String(e);
    }
    if (this.o.json) this.out(JSON.stringify({ error: errorJson(message, keeper) }));
    else if (stdout) this.out(message);
    else this.err(message);
    return code;
  }

  private async dispatch(tokens: string[]): Promise<void> {
    const name = tokens[0]!;
    switch (name) {
      case 'quit':
      case 'exit':
        this.quit = true;
        await this.close({ quiet: true });
        return;
      case 'help':
        this.usage();
        return;
      case 'history': {
        const lines: Array<{ n: number; line: string | null }> = [];
        for (let i = Math.max(0, this.commandCount - 10); i <= this.commandCount; i++)
          lines.push({ n: i, line: this.history.get(i) ?? null });
        this.result({ history: lines }, () => {
          for (const l of lines) this.out(`${l.n} - ${l.line}`);
        });
        return;
      }
      case 'redo': {
        // zkCli does nothing for a redo without a number
        if (tokens.length < 2) return;
        const i = Number(tokens[1]);
        if (!/^\d+$/.test(tokens[1]!) || i >= this.commandCount) throw new CliError('Command index out of range');
        const line = this.history.get(i)!;
        const again = tokenize(line);
        if (again[0] === 'redo') throw new CliError('No redoing redos');
        this.history.set(this.commandCount, line);
        await this.dispatch(again);
        return;
      }
      case 'printwatches':
        if (tokens.length > 1) this.printWatches = tokens[1] === 'on';
        if (tokens.length === 1 || this.o.json)
          this.result({ printwatches: this.printWatches }, () => this.out(`printwatches is ${this.printWatches ? 'on' : 'off'}`));
        return;
      case 'connect':
        this.connect(tokens[1] ?? this.host);
        this.result(OK_JSON, () => undefined);
        return;
      case 'close':
        await this.close();
        this.result(OK_JSON, () => undefined);
        return;
    }
    const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!cmd) {
      if (!this.o.json) this.usage();
      throw new CliError(`Command not found: Command not found ${name}`, EXIT_NOT_FOUND);
    }
    const p = cmd.raw ? { args: tokens, opts: new Map<string, string | true>() } : parseArgs(tokens, cmd.options);
    if (p.args.length < cmd.min) throw new CliError(`${name} ${cmd.usage}`);
    await cmd.run(this, p, tokens);
  }

  usage(): void {
    const all: Record<string, string> = { ...SHELL_USAGE, ...Object.fromEntries(Object.entries(COMMANDS).map(([k, c]) => [k, c.usage])) };
    const names = Object.keys(all).sort();
    if (this.o.json) {
      this.out(JSON.stringify({ commands: Object.fromEntries(names.map((k) => [k, all[k]])) }));
      return;
    }
    this.err(
      ['ZooKeeper -server host:port -client-configuration properties-file cmd args', ...names.map((k) => `\t${k} ${all[k]}`)].join('\n'),
    );
  }

  /**
   * Tab completion: a command name for the first word; otherwise, for a word that starts with
   * "/", the children of its parent that start with what follows the last "/".
   */
  async complete(line: string): Promise<[string[], string]> {
    const words = line.split(/\s+/);
    const word = words[words.length - 1] ?? '';
    if (words.length <= 1) return [COMMAND_NAMES.filter((c) => c.startsWith(word)), word];
    if (!word.startsWith('/')) return [[], word];
    const c = this.client;
    if (!c?.connected) return [[], word];
    const cut = word.lastIndexOf('/');
    const parent = cut === 0 ? '/' : word.slice(0, cut);
    const prefix = word.slice(cut + 1);
    try {
      const kids = (await c.getChildren(parent, { timeoutMs: 2000 })).filter((k) => k.startsWith(prefix)).sort();
      return [kids.map((k) => joinPath(parent, k)), word];
    } catch {
      return [[], word];
    }
  }
}

/** zkCli's States.isAlive(): not closed, not expired */
function alive(c: ZooKeeperClient): boolean {
  return c.state !== 'closed' && c.state !== 'expired';
}

/** the path argument of a command line, for messages of errors the server sent without one */
function pathArg(tokens: string[]): string | undefined {
  return tokens.slice(1).find((t) => t.startsWith('/'));
}
