// Drives the ZooKeeper C client's shell, cli_mt (Debian zookeeper-bin, C client 3.8), against
// Apache ZooKeeper and against Ark: create (plain, +e, +s, +es, +c, +t=ttl; create2 variants
// that print the returned Stat), ls, ls2, get, set, delete, sync, config, exists. Every command
// is one `cli_mt -h HOST:PORT -c "CMD"` process (batch mode: it waits for the asynchronous
// completion, prints it and exits; a few ms each). `exists` is synchronous in cli_mt and never
// ends batch mode, so the exists checks are fed through stdin to one interactive cli_mt instead.
// cli_mt writes everything to stderr. The normalized transcript must be identical for both
// servers; the ZooKeeper one is committed as test/interop/fixtures/cclient.zk38.txt
// (regenerate with ARK_UPDATE_FIXTURES=1).
//
// Normalized: the per-process "Watcher SESSION_EVENT" / "Got a new session id" lines (their
// order against the command's first line is a thread race) are dropped, ephemeralOwner becomes
// "<own session>" when it is the printing process's session, times become <time> (except the
// epoch), "time = N msec" loses N, zxids are replaced by their rank among all zxids of the
// transcript, and ls/ls2 child lists are sorted (ZooKeeper returns children unordered).
// cli_mt's create always stores the 3-byte value "new".
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot, requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
import { INTEROP_CFG, startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import {
  Symbolizer,
  checkFixture,
  describeTool,
  executableMissing,
  readFixture,
  runTool,
  transcriptDiff,
  zxidRanks,
  type ToolResult,
} from '../helpers/clitools.js';

const cliMt = process.env.ARK_CLI_MT ?? '/usr/lib/zookeeper/bin/cli_mt';
const fixturePath = join(repoRoot, 'test', 'interop', 'fixtures', 'cclient.zk38.txt');

interface Step {
  /** one batch-mode command, or (interactive) several lines for stdin */
  cmd: string | string[];
  /** expected normalized lines; `*` matches anything within a line */
  out: string[];
}

const STAT = (owner = '0', version = 0, aversion = '0'): string[] => [
  '\tctime = <time>',
  '\tczxid=*',
  '\tmtime=<time>',
  '\tmzxid=*',
  `\tversion=${version}\taversion=${aversion}`,
  `\tephemeralOwner = ${owner}`,
];

const STEPS: Step[] = [
  { cmd: 'create /cc', out: ['Creating [/cc] node (mode: 0)', '[/cc]: rc = 0', '\tname = /cc'] },
  { cmd: 'create /cc', out: ['Creating [/cc] node (mode: 0)', '[/cc]: rc = -110'] },
  { cmd: 'create /cc/missing/x', out: ['Creating [/cc/missing/x] node (mode: 0)', '[/cc/missing/x]: rc = -101'] },
  // the ephemeral goes away with the cli_mt process's session
  { cmd: 'create +e /cc/e', out: ['Creating [/cc/e] node (mode: 1)', '[/cc/e]: rc = 0', '\tname = /cc/e'] },
  { cmd: 'create2 +e /cc/e2', out: ['Creating [/cc/e2] node (mode: 1)', '[/cc/e2]: rc = 0', '\tname = /cc/e2', ...STAT('<own session>')] },
  { cmd: 'create +s /cc/s', out: ['Creating [/cc/s] node (mode: 2)', '[/cc/s]: rc = 0', '\tname = /cc/s0000000002'] },
  { cmd: 'create2 +s /cc/s', out: ['Creating [/cc/s] node (mode: 2)', '[/cc/s]: rc = 0', '\tname = /cc/s0000000003', ...STAT()] },
  { cmd: 'create +es /cc/es', out: ['Creating [/cc/es] node (mode: 3)', '[/cc/es]: rc = 0', '\tname = /cc/es0000000004'] },
  { cmd: 'create +c /cc/ct', out: ['Creating [/cc/ct] node (mode: 4)', '[/cc/ct]: rc = 0', '\tname = /cc/ct'] },
  { cmd: 'create2 +c /cc/ct2', out: ['Creating [/cc/ct2] node (mode: 4)', '[/cc/ct2]: rc = 0', '\tname = /cc/ct2', ...STAT()] },
  { cmd: 'create +t=60000 /cc/ttl', out: ['Creating [/cc/ttl] node (mode: 5)', '[/cc/ttl]: rc = 0', '\tname = /cc/ttl'] },
  { cmd: 'create2 +t=60000 /cc/ttl2', out: ['Creating [/cc/ttl2] node (mode: 5)', '[/cc/ttl2]: rc = 0', '\tname = /cc/ttl2', ...STAT()] },
  { cmd: 'create2 /cc/p', out: ['Creating [/cc/p] node (mode: 0)', '[/cc/p]: rc = 0', '\tname = /cc/p', ...STAT()] },
  { cmd: 'create /cc/p/kid', out: ['Creating [/cc/p/kid] node (mode: 0)', '[/cc/p/kid]: rc = 0', '\tname = /cc/p/kid'] },
  {
    cmd: 'ls /cc',
    out: ['time = <n> msec', '/cc: rc = 0', '\tct', '\tct2', '\tp', '\ts0000000002', '\ts0000000003', '\tttl', '\tttl2', 'time = <n> msec'],
  },
  {
    cmd: 'ls2 /cc',
    out: [
      'time = <n> msec',
      '/cc: rc = 0',
      '\tct',
      '\tct2',
      '\tp',
      '\ts0000000002',
      '\ts0000000003',
      '\tttl',
      '\tttl2',
      'time = <n> msec',
      ...STAT(),
    ],
  },
  { cmd: 'ls /nope', out: ['time = <n> msec', '/nope: rc = -101', 'time = <n> msec'] },
  { cmd: 'get /cc/p', out: ['time = <n> msec', '/cc/p: rc = 0', ' value_len = 3', 'new', 'Stat:', ...STAT()] },
  { cmd: 'get /nope', out: ['time = <n> msec', '/nope: rc = -101', '', 'Stat:', 'null'] },
  { cmd: 'set /cc/p hello', out: ['/cc/p: rc = 0 Stat:', ...STAT('0', 1)] },
  { cmd: 'set /nope x', out: ['/nope: rc = -101 Stat:', 'null'] },
  { cmd: 'get /cc/p', out: ['time = <n> msec', '/cc/p: rc = 0', ' value_len = 5', 'hello', 'Stat:', ...STAT('0', 1)] },
  { cmd: 'delete /cc/p', out: ['/cc/p: rc = -111'] },
  { cmd: 'delete /cc/p/kid', out: ['/cc/p/kid: rc = 0'] },
  { cmd: 'delete /cc/p', out: ['/cc/p: rc = 0'] },
  { cmd: 'delete /nope', out: ['/nope: rc = -101'] },
  { cmd: 'sync /cc', out: ['[/cc]: rc = 0', '\tname = /cc'] },
  // standalone: /zookeeper/config is empty, all-zero stat, aversion -1
  {
    cmd: 'config',
    out: [
      'time = <n> msec',
      '/zookeeper/config: rc = 0',
      ' value_len = 0',
      '',
      'Stat:',
      '\tctime = Thu Jan  1 00:00:00 1970',
      '\tczxid=0',
      '\tmtime=Thu Jan  1 00:00:00 1970',
      '\tmzxid=0',
      '\tversion=0\taversion=ffffffff',
      '\tephemeralOwner = 0',
    ],
  },
  // exists (synchronous, prints only failures); interactive mode
  {
    cmd: ['exists /cc', 'exists /nope', 'exists /cc/ttl', 'exists /cc/p', 'exists /zookeeper', 'quit'],
    out: ['Error -101 for /nope', 'Error -101 for /cc/p', 'Quitting...'],
  },
  // cleanup
  ...['s0000000002', 's0000000003', 'ct', 'ct2', 'ttl', 'ttl2'].map((n) => ({ cmd: `delete /cc/${n}`, out: [`/cc/${n}: rc = 0`] })),
  { cmd: 'delete /cc', out: ['/cc: rc = 0'] },
  { cmd: 'ls /', out: ['time = <n> msec', '/: rc = 0', '\tzookeeper', 'time = <n> msec'] },
];

interface Ran {
  step: Step;
  result: ToolResult;
  session: string | null;
  lines: string[];
}

async function runStep(server: RunningServer, step: Step): Promise<ToolResult> {
  if (typeof step.cmd === 'string') {
    return runTool(cliMt, ['-h', server.connectString, '-c', step.cmd], { timeoutMs: 15000 });
  }
  return runTool(cliMt, ['-h', server.connectString], { input: `${step.cmd.join('\n')}\n`, timeoutMs: 15000 });
}

const DROP = [/^Watcher SESSION_EVENT state = /, /^Got a new session id: /, /^Batch mode: /, /ZOO_(ERROR|WARN|INFO|DEBUG)@/];

function rawLines(r: ToolResult): string[] {
  const text = r.stderr + r.stdout;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function transcript(ran: Ran[]): string {
  const zxids: bigint[] = [];
  for (const r of ran) {
    for (const l of r.lines) {
      const m = /^\t[cm]zxid=([0-9a-f]+)$/.exec(l);
      if (m) zxids.push(BigInt(`0x${m[1]!}`));
    }
  }
  const rank = zxidRanks(zxids);
  const sessions = new Symbolizer('S');
  const out: string[] = [];
  for (const r of ran) {
    const cmds = typeof r.step.cmd === 'string' ? [r.step.cmd] : r.step.cmd;
    for (const c of cmds) out.push(`$ ${c}`);
    for (const l of normalizeLines(r.lines, r.session, rank, sessions)) out.push(`  ${l}`);
  }
  return `${out.join('\n')}\n`;
}

function normalizeLines(lines: string[], session: string | null, rank: (v: bigint) => string, sessions: Symbolizer): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (DROP.some((re) => re.test(l))) continue;
    let m = /^\t([cm]zxid)=([0-9a-f]+)$/.exec(l);
    if (m) {
      out.push(`\t${m[1]!}=${rank(BigInt(`0x${m[2]!}`))}`);
      continue;
    }
    m = /^\t(ctime = |mtime=)(.*)$/.exec(l);
    if (m) {
      out.push(/ 1970$/.test(m[2]!) ? l : `\t${m[1]!}<time>`);
      continue;
    }
    m = /^\tephemeralOwner = ([0-9a-f]+)$/.exec(l);
    if (m) {
      const owner = m[1]!;
      out.push(`\tephemeralOwner = ${owner === '0' ? '0' : owner === session ? '<own session>' : sessions.get(owner)}`);
      continue;
    }
    if (/^time = \d+ msec$/.test(l)) {
      out.push('time = <n> msec');
      continue;
    }
    out.push(l);
  }
  // sort the child lists of ls / ls2: tab-indented lines without '=' after "<path>: rc = 0"
  for (let i = 0; i < out.length; i++) {
    if (!/^\/\S*: rc = 0$/.test(out[i]!)) continue;
    let j = i + 1;
    while (j < out.length && /^\t[^=]*$/.test(out[j]!)) j++;
    out.splice(i + 1, j - i - 1, ...out.slice(i + 1, j).sort());
  }
  return out;
}

function matches(expected: string, actual: string): boolean {
  if (!expected.includes('*')) return expected === actual;
  const re = new RegExp(
    `^${expected
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(actual);
}

async function runAll(t: TestContext, server: RunningServer): Promise<string> {
  try {
    const ran: Ran[] = [];
    const problems: string[] = [];
    const started = Date.now();
    for (const step of STEPS) {
      const result = await runStep(server, step);
      const lines = rawLines(result);
      const sid = /^Got a new session id: 0x([0-9a-f]+)$/m.exec(result.stderr + result.stdout)?.[1] ?? null;
      ran.push({ step, result, session: sid, lines });
      const label = typeof step.cmd === 'string' ? step.cmd : step.cmd.join(' ; ');
      if (result.timedOut || result.code !== 0) {
        problems.push(`${label}: ${describeTool(result)}`);
        break;
      }
      if (sid === null) problems.push(`${label}: no "Got a new session id" line`);
    }
    t.diagnostic(`${ran.length} cli_mt runs against ${server.name} in ${Date.now() - started} ms`);
    const text = transcript(ran);
    // direct checks, step by step, on the normalized lines (zxid ranks are transcript-wide,
    // so recompute them per step only for the comparison with `*` patterns)
    const zx = zxidRanks([]);
    const syms = new Symbolizer('S');
    for (const r of ran) {
      const got = normalizeLines(r.lines, r.session, zx, syms);
      const label = typeof r.step.cmd === 'string' ? r.step.cmd : r.step.cmd.join(' ; ');
      const ok = got.length === r.step.out.length && r.step.out.every((e, k) => matches(e, got[k]!));
      if (!ok) problems.push(`${label}: expected ${JSON.stringify(r.step.out)}, got ${JSON.stringify(got)}`);
    }
    assert.deepEqual(
      problems,
      [],
      `cli_mt against ${server.name}:\n${problems.join('\n')}\n--- transcript ---\n${text}\n--- ${server.name} output ---\n${server.output()}`,
    );
    return text;
  } finally {
    await server.stop();
  }
}

let missingCache: string | null | undefined;
function cliMtMissing(): string | null {
  if (missingCache === undefined) missingCache = executableMissing(cliMt, 'apt-get install zookeeper-bin');
  return missingCache;
}

let zkTranscript: string | undefined;

describe('ZooKeeper C client (cli_mt) interop', () => {
  test('against Apache ZooKeeper 3.8', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(cliMtMissing() ?? zookeeperMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const text = await runAll(t, await startZooKeeper());
    zkTranscript = text;
    const diff = checkFixture(fixturePath, text, 'ZooKeeper transcript');
    assert.equal(diff, null, diff ?? '');
  });

  test('against Ark (and the same transcript as ZooKeeper)', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(cliMtMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const text = await runAll(t, await startArk({ cfg: { ...INTEROP_CFG } }));
    const reference = zkTranscript ?? readFixture(fixturePath);
    // the fixture is committed: without it (and without ZooKeeper) there is nothing to prove
    assert.ok(reference !== null, `the fixture ${fixturePath} is committed`);
    const label = zkTranscript !== undefined ? 'ZooKeeper (live)' : fixturePath;
    assert.equal(text, reference, `cli_mt transcripts differ:\n${transcriptDiff(reference, text, label, 'Ark')}`);
  });
});
