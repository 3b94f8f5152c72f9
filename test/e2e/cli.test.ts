// `ark cli` as a user runs it: one-shot commands with their exit codes and --json documents, the
// batch mode's exit code and watch events, and the interactive shell typed into through a real
// terminal (tmux): prompt, commands, a watch firing while the prompt waits, tab completion of
// commands and paths, history (arrow up, `history`, `redo`, the history file) and quit.
// zkCli.sh's exact text for every command is checked in test/interop/zkcli.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeTool, runTool, type ToolResult } from '../helpers/clitools.js';
import { arkBin, freePort, requireOrSkip, tempDir } from '../helpers/servers.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import type { ZkClient } from '../../src/client/client.js';
import { parseAcl, permString, tokenize, hexDump, keeperMessage } from '../../src/cli/shell.js';
import { KeeperError, ErrorCode } from '../../src/util/errors.js';

let srv: InProc;
let c: ZkClient;
let cs: string;

before(async () => {
  srv = await startInProc({ maxSessionTimeout: 60000 });
  c = await srv.client({ sessionTimeoutMs: 30000 });
  cs = `127.0.0.1:${srv.port}`;
});
after(async () => {
  await srv?.stop();
});

function cli(args: string[], input?: string): Promise<ToolResult> {
  return runTool(process.execPath, [arkBin, 'cli', ...args], {
    timeoutMs: 30000,
    env: { TZ: 'UTC', ARK_CLI_HISTORY: '' },
    ...(input !== undefined ? { input } : {}),
  });
}

describe('ark cli, one command per run', () => {
  test('create, get, set, ls, stat, delete: zkCli text, stdout and stderr as zkCli splits them', async () => {
    let r = await cli(['-server', cs, 'create', '/one', 'hello world']);
    assert.equal(r.code, 0, describeTool(r));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'Created /one\n');
    assert.equal((await c.getData('/one')).data.toString(), 'hello world');

    r = await cli(['-server', cs, 'get', '/one']);
    assert.equal(r.stdout, 'hello world\n', describeTool(r));

    r = await cli(['-server', cs, 'set', '-s', '-v', '0', '/one', 'two']);
    assert.equal(r.code, 0, describeTool(r));
    assert.match(r.stdout, /^cZxid = 0x[0-9a-f]+\nctime = \w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4}\n/);
    assert.match(r.stdout, /\ndataVersion = 1\n/);

    r = await cli(['-server', cs, 'set', '-v', '0', '/one', 'stale']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'version No is not valid : /one\n');

    await c.create('/one/b', 'x');
    await c.create('/one/a', 'x');
    r = await cli(['-server', cs, 'ls', '/one']);
    assert.equal(r.stdout, '[a, b]\n');

    r = await cli(['-server', cs, 'delete', '/one']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Node not empty: /one\n');
    r = await cli(['-server', cs, 'deleteall', '/one']);
    assert.equal(r.code, 0, describeTool(r));
    assert.equal(await c.exists('/one'), null);

    r = await cli(['-server', cs, 'stat', '/one']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Node does not exist: /one\n');
  });

  test('--json: one document per command, the error with its ZooKeeper code', async () => {
    await c.create('/js', 'data\u00e9');
    let r = await cli(['--json', '-server', cs, 'get', '-s', '/js']);
    assert.equal(r.code, 0, describeTool(r));
    const doc = JSON.parse(r.stdout) as {
      path: string;
      data: string;
      base64: string;
      stat: { version: number; dataLength: number; ephemeralOwner: string };
    };
    assert.equal(doc.path, '/js');
    assert.equal(doc.data, 'data\u00e9');
    assert.equal(Buffer.from(doc.base64, 'base64').toString(), 'data\u00e9');
    assert.equal(doc.stat.version, 0);
    assert.equal(doc.stat.dataLength, 6);
    assert.equal(doc.stat.ephemeralOwner, '0x0');

    r = await cli(['--json', '-server', cs, 'create', '-s', '/js/item-', 'x']);
    assert.deepEqual(JSON.parse(r.stdout), { created: '/js/item-0000000000' });
    r = await cli(['--json', '-server', cs, 'ls', '/js']);
    assert.deepEqual(JSON.parse(r.stdout), { path: '/js', children: ['item-0000000000'] });
    r = await cli(['--json', '-server', cs, 'getAcl', '/js']);
    assert.deepEqual(JSON.parse(r.stdout), { path: '/js', acl: [{ scheme: 'world', id: 'anyone', perms: 'cdrwa' }] });
    r = await cli(['--json', '-server', cs, 'getAllChildrenNumber', '/js']);
    assert.deepEqual(JSON.parse(r.stdout), { path: '/js', count: 1 });

    r = await cli(['--json', '-server', cs, 'get', '/js/missing']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), {
      error: { message: 'Node does not exist: /js/missing', code: ErrorCode.NoNode, name: 'NoNode', path: '/js/missing' },
    });
    assert.equal(r.stderr, '');
  });

  test('a chroot in -server, and ephemerals that end with the run', async () => {
    await c.create('/app', null);
    let r = await cli(['-server', `${cs}/app`, 'create', '/inside', 'x']);
    assert.equal(r.stderr, 'Created /inside\n', describeTool(r));
    assert.ok(await c.exists('/app/inside'));
    r = await cli(['-server', cs, 'create', '-e', '/app/gone', 'x']);
    assert.equal(r.code, 0, describeTool(r));
    assert.equal(await c.exists('/app/gone'), null, 'the session closed with the process, and its ephemeral with it');
  });

  test("bad command lines: zkCli's messages and exit codes", async () => {
    const cases: Array<[string[], RegExp, number]> = [
      [['get', '-z', '/x'], /^org\.apache\.commons\.cli\.UnrecognizedOptionException: Unrecognized option: -z\n$/, 1],
      [['set', '-v', '-s', '/x', 'y'], /^org\.apache\.commons\.cli\.MissingArgumentException: Missing argument for option: v\n$/, 1],
      [['get', 'nopath'], /^Path must start with \/ character\n$/, 1],
      [['frobnicate', '/x'], /\tls \[-s\] \[-w\] \[-R\] path\n[\s\S]*Command not found: Command not found frobnicate\n$/, 127],
      [['set', '/x'], /^set \[-s\] \[-v version\] \[-b\] path data\n$/, 1],
      [['delete', '-v', 'abc', '/x'], /^-v argument must be an int value\n$/, 1],
      [['create', '-c', '-e', '/x'], /^-c cannot be combined with -s or -e/, 1],
      [['setAcl', '/', 'bogus'], /^bogus does not have the form scheme:id:perm\nAcl is not valid : null\n$/, 1],
      // every word after `cli` is the shell's: -V is not ark's --version here
      [['create', '/v', '-V'], /^org\.apache\.commons\.cli\.UnrecognizedOptionException: Unrecognized option: -V\n$/, 1],
    ];
    for (const [args, re, code] of cases) {
      const r = await cli(['-server', cs, ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${describeTool(r)}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    // commons-cli's forms: bundled flags, -v=N, -vN, a negative number as a value
    await c.create('/opts', 'x');
    let r = await cli(['-server', cs, 'ls', '-sw', '/opts']);
    assert.match(r.stdout, /^\[\]\ncZxid = /, describeTool(r));
    for (const v of [['-v=0'], ['-v1'], ['-v', '-1']]) {
      r = await cli(['-server', cs, 'set', ...v, '/opts', 'y']);
      assert.equal(r.code, 0, `${v.join(' ')}: ${describeTool(r)}`);
    }
    assert.equal((await c.exists('/opts'))?.version, 3);
    r = await cli(['-timeout', 'soon', 'ls', '/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ark cli: -timeout must be a whole number of milliseconds, got "soon"\n$/);
    r = await cli(['-server', 'host:notaport', 'ls', '/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ark cli: -server host:notaport: /);
    r = await cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: ark cli /);
  });

  test('an unreachable server: exit 1 after the timeout, naming the server', async () => {
    const dead = await freePort();
    const r = await cli(['-timeout', '1000', '-server', `127.0.0.1:${dead}`, 'ls', '/']);
    assert.equal(r.code, 1, describeTool(r));
    assert.match(r.stderr, new RegExp(`^ark cli: not connected to 127\\.0\\.0\\.1:${dead} within 1000 ms`));
  });
});

describe('ark cli, commands from standard input', () => {
  test("runs them in order, prints watch events, exits with the last command's code", async () => {
    await c.create('/batch', 'v1');
    let r = await cli(['-server', cs], 'get -w /batch\nset /batch v2\nget /batch\nget /batch/none\n');
    assert.equal(r.code, 1, 'the last command failed');
    assert.match(r.stdout, /^v1\n/m);
    assert.match(r.stdout, /\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:\/batch\n/);
    assert.match(r.stdout, /\nv2\n/);
    assert.equal(r.stderr, 'Node does not exist: /batch/none\n');

    r = await cli(['--json', '-server', cs], 'stat -w /batch\ndelete /batch\nquit\nls /never-run\n');
    assert.equal(r.code, 0, describeTool(r));
    const docs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      docs.some((d) => JSON.stringify(d.event) === JSON.stringify({ type: 'NodeDeleted', state: 'SyncConnected', path: '/batch' })),
      r.stdout,
    );
    assert.ok(!r.stdout.includes('never-run'), 'nothing runs after quit');

    // a connect string that does not parse is said, and the session before it goes on
    r = await cli(['-server', cs], 'connect bad:host:x\nls /zookeeper\n');
    assert.equal(r.code, 0, describeTool(r));
    assert.match(r.stderr, /^connect string "bad:host:x": /);
    assert.match(r.stdout, /\[config, quota\]\n/);
  });
});

describe('ark cli when the server is gone', () => {
  test('ConnectionLoss within seconds, sync reports its code, Not connected after close', async () => {
    const dead = await freePort();
    const started = Date.now();
    let r = await cli(['-server', `127.0.0.1:${dead}`], 'ls /\nsync /\n');
    assert.equal(r.stderr, 'KeeperErrorCode = ConnectionLoss for /\n', describeTool(r));
    assert.equal(r.stdout, 'Sync has failed. rc=-4\n');
    assert.equal(r.code, 0, 'sync prints its failure and succeeds, as zkCli');
    assert.ok(Date.now() - started < 20000, 'commands fail within seconds, not after the 30 s session timeout');

    r = await cli(['-server', cs], 'close\nls /\n');
    assert.equal(r.code, 0, describeTool(r));
    assert.match(r.stdout, /WatchedEvent state:Closed type:None path:null\nNot connected\n$/);
    assert.equal(r.stderr, '');
  });
});

test('ls -R walks as zkCli (each level before the levels below it, per subtree), setAcl -R too', async () => {
  for (const p of ['/walk', '/walk/a', '/walk/a/a1', '/walk/a/a1/x', '/walk/a/a2', '/walk/b', '/walk/b/b1']) await c.create(p, null);
  let r = await cli(['-server', cs, 'ls', '-R', '/walk']);
  assert.equal(
    r.stdout,
    ['/walk', '/walk/a', '/walk/b', '/walk/a/a1', '/walk/a/a2', '/walk/a/a1/x', '/walk/b/b1', ''].join('\n'),
    describeTool(r),
  );
  r = await cli(['-server', cs, 'setAcl', '-R', '/walk', 'world:anyone:cdrw']);
  assert.equal(r.code, 0, describeTool(r));
  assert.equal((await c.getACL('/walk/a/a1/x')).acl[0]!.perms, 15);
  r = await cli(['--json', '-server', cs], 'history\nprintwatches off\nclose\n');
  assert.deepEqual(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown),
    [{ history: [{ n: 0, line: 'history' }] }, { printwatches: false }, { ok: true }],
  );
});

test('tokenizer, ACL parser and messages follow zkCli', () => {
  assert.deepEqual(tokenize('  create  /a "two words"   \'single q\' x  '), ['create', '/a', 'two words', 'single q', 'x']);
  assert.deepEqual(tokenize(''), []);
  const warnings: string[] = [];
  const acl = parseAcl('world:anyone:r,digest:alice:abc=:cdrwa,bad,ip:10.0.0.1:rz', (m) => warnings.push(m));
  assert.deepEqual(
    acl.map((a) => `${a.id.scheme}|${a.id.id}|${permString(a.perms)}`),
    ['world|anyone|r', 'digest|alice:abc=|cdrwa', 'ip|10.0.0.1|r'],
  );
  assert.deepEqual(warnings, ['bad does not have the form scheme:id:perm', 'Unknown perm type: z']);
  assert.equal(keeperMessage(new KeeperError(ErrorCode.NoWatcher, '/w'), '/w'), 'KeeperErrorCode = No such watcher for /w');
  assert.equal(keeperMessage(new KeeperError(ErrorCode.NotEmpty), '/d'), 'Node not empty: /d');
  assert.equal(
    hexDump(Buffer.from('hello')).split('\n')[3],
    '|00000000| 68 65 6c 6c 6f                                  |hello           |',
  );
});

// ---------- the interactive shell, through a terminal ----------

const TMUX = '/usr/bin/tmux';

function tmuxMissing(): string | null {
  if (!existsSync(TMUX)) return `${TMUX} not found (apt-get install tmux)`;
  return null;
}

describe('ark cli in a terminal (tmux)', () => {
  const socket = `ark-cli-test-${process.pid}`;
  const tmux = (...args: string[]): string => {
    const r = spawnSync(TMUX, ['-L', socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const screen = (): string => tmux('capture-pane', '-p', '-J', '-t', 'cli', '-S', '-500');
  async function waitFor(what: RegExp | ((s: string) => boolean), label: string, timeoutMs = 15000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = screen();
      if (typeof what === 'function' ? what(s) : what.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${label}; it shows:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const count = (s: string, needle: string): number => s.split(needle).length - 1;
  /** types a line and waits for the prompt with the next command number */
  async function type(line: string, n: number): Promise<string> {
    tmux('send-keys', '-t', 'cli', '-l', line);
    tmux('send-keys', '-t', 'cli', 'Enter');
    return waitFor((s) => s.includes(`(CONNECTED) ${n}] `), `the prompt after "${line}"`);
  }

  test('a scripted session: create, read, watch, complete, history, delete, quit', { timeout: 90000 }, async (t) => {
    const skip = requireOrSkip(tmuxMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const dir = tempDir('cli-tty');
    const historyFile = join(dir, 'history');
    try {
      // a wide pane, so no line wraps; remain-on-exit keeps the screen readable after quit
      tmux(
        '-f',
        '/dev/null',
        'new-session',
        '-d',
        '-s',
        'cli',
        '-x',
        '200',
        '-y',
        '50',
        `env TZ=UTC ARK_CLI_HISTORY=${historyFile} ${process.execPath} ${arkBin} cli -server ${cs}; echo "[ark cli exited $?]"`,
      );
      tmux('set-option', '-t', 'cli', 'remain-on-exit', 'on');
      await waitFor(/\[ark: 127\.0\.0\.1:\d+\(CONNECTED\) 0\] $/m, 'the first prompt');

      let s = await type('create /tty hello', 1);
      assert.match(s, /Created \/tty\n/);
      s = await type('get -w /tty', 2);
      assert.match(s, /get -w \/tty\nhello\n/);

      // a change made elsewhere fires the watch while the shell waits at its prompt
      await c.setData('/tty', 'changed');
      s = await waitFor(/WatchedEvent state:SyncConnected type:NodeDataChanged path:\/tty/, 'the watch event');
      await waitFor((x) => /\(CONNECTED\) 2\] $/m.test(`${x.trimEnd()} `), 'the prompt drawn again after the event');

      // Tab: a command name, then a path below /tty
      await c.create('/tty/child-alpha', 'a');
      tmux('send-keys', '-t', 'cli', '-l', 'getEph');
      tmux('send-keys', '-t', 'cli', 'Tab');
      await waitFor(/\(CONNECTED\) 2\] getEphemerals/, 'the completed command name');
      tmux('send-keys', '-t', 'cli', 'C-u');
      tmux('send-keys', '-t', 'cli', '-l', 'get /tty/chi');
      tmux('send-keys', '-t', 'cli', 'Tab');
      await waitFor(/\(CONNECTED\) 2\] get \/tty\/child-alpha/, 'the completed path');
      tmux('send-keys', '-t', 'cli', 'Enter');
      s = await waitFor((x) => x.includes('(CONNECTED) 3] '), 'the prompt after the completed get');
      assert.match(s, /get \/tty\/child-alpha\na\n/);

      // arrow up brings the last line back; `history` lists the lines with their numbers
      tmux('send-keys', '-t', 'cli', 'Up');
      await waitFor(/\(CONNECTED\) 3\] get \/tty\/child-alpha/, 'the recalled line');
      tmux('send-keys', '-t', 'cli', 'Enter');
      s = await waitFor((x) => x.includes('(CONNECTED) 4] '), 'the prompt after the recalled line');
      assert.equal(count(s, '\na\n'), 2, 'the recalled get ran again');
      s = await type('history', 5);
      assert.match(s, /0 - create \/tty hello\n1 - get -w \/tty\n2 - get \/tty\/child-alpha\n3 - get \/tty\/child-alpha\n4 - history\n/);
      s = await type('redo 0', 6);
      assert.match(s, /redo 0\nNode already exists: \/tty\n/);

      s = await type('addauth digest someone:secret', 7);
      s = await type('deleteall /tty', 8);
      assert.equal(await c.exists('/tty'), null);
      s = await type('ls /tty', 9);
      assert.match(s, /ls \/tty\nNode does not exist: \/tty\n/);

      tmux('send-keys', '-t', 'cli', '-l', 'quit');
      tmux('send-keys', '-t', 'cli', 'Enter');
      s = await waitFor(/\[ark cli exited \d+\]/, 'the shell to exit');
      assert.match(s, /\[ark cli exited 1\]/, 'quit exits with the code of the command before it (ls failed), as zkCli');
      assert.equal(statSync(historyFile).mode & 0o777, 0o600, "the history file is its owner's only");
      const saved = readFileSync(historyFile, 'utf8').split('\n').filter(Boolean);
      assert.ok(!saved.some((l) => l.startsWith('addauth')), 'addauth lines (passwords) are not written');
      assert.deepEqual(saved.slice(0, 3), ['create /tty hello', 'get -w /tty', 'get /tty/child-alpha']);
      assert.equal(saved[saved.length - 1], 'quit');
    } finally {
      spawnSync(TMUX, ['-L', socket, 'kill-server']);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Ctrl-C while a command waits on a server that is gone ends the shell', { timeout: 60000 }, async (t) => {
    const skip = requireOrSkip(tmuxMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const dead = await freePort();
    try {
      tmux(
        '-f',
        '/dev/null',
        'new-session',
        '-d',
        '-s',
        'cli',
        '-x',
        '200',
        '-y',
        '50',
        `env ARK_CLI_HISTORY= ${process.execPath} ${arkBin} cli -server 127.0.0.1:${dead}; echo "[ark cli exited $?]"`,
      );
      tmux('set-option', '-t', 'cli', 'remain-on-exit', 'on');
      await waitFor(/\(CONNECTING\) 0\] $/m, 'the first prompt');
      tmux('send-keys', '-t', 'cli', '-l', 'sync /');
      tmux('send-keys', '-t', 'cli', 'Enter');
      tmux('send-keys', '-t', 'cli', 'C-c');
      const s = await waitFor(/\[ark cli exited \d+\]/, 'the shell to end');
      assert.match(s, /\[ark cli exited 130\]/);
    } finally {
      spawnSync(TMUX, ['-L', socket, 'kill-server']);
    }
  });
});
