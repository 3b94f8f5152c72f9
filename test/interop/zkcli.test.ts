// Drives ZooKeeper's own shell, zkCli.sh (org.apache.zookeeper.ZooKeeperMain, 3.8), against
// Apache ZooKeeper and against Ark with one fixed batch of commands fed through stdin (one
// JVM per target), and checks the printed output: directly (per command) and as a whole
// normalized transcript, which must be identical for both servers. The ZooKeeper transcript is
// committed as test/interop/fixtures/zkcli.zk38.txt, so Ark is compared even where no ZooKeeper
// server can run; regenerate it with ARK_UPDATE_FIXTURES=1.
//
// How the transcript is made: zkCli reads commands from stdin when JLine is absent and runs
// them one by one, synchronously; after every step the batch has a `version` command, whose
// line ("ZooKeeper CLI version: ...", no server round trip) separates the output of one step
// from the next. stdout and stderr (zkCli prints "Created ..." and errors on stderr) go to one
// pipe. Watch notifications are printed by another thread at any moment, so the
// "WATCHER::/WatchedEvent" blocks are cut out and listed, sorted, at the end (connection state
// events, type:None, are dropped). Normalized: ctime/mtime (except the epoch), zxids (replaced
// by their rank among all zxids of the transcript), session ids (S1, S2, ...), the port, and the
// order inside "[a, b]" lists (getEphemerals is unordered in ZooKeeper) and of whoami's ids.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arkBin, repoRoot, requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
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
} from '../helpers/clitools.js';

const zkCli = process.env.ARK_ZKCLI ?? '/usr/share/zookeeper/bin/zkCli.sh';
const fixturePath = join(repoRoot, 'test', 'interop', 'fixtures', 'zkcli.zk38.txt');
const SEPARATOR = /^ZooKeeper CLI version: /;

const DIGEST = `alice:${createHash('sha1').update('alice:secret').digest('base64')}`;

interface Step {
  /** command lines of this step; HOSTPORT is replaced by the server's address */
  cmds: string[];
  /** exact normalized output lines */
  out?: string[];
  /** stat fields ("name = value" lines) the output must contain, besides `lines` */
  stat?: Record<string, string>;
  /** lines the output must start with (before a stat) */
  lines?: string[];
}

function s(cmd: string, expect: Omit<Step, 'cmds'> = {}): Step {
  return { cmds: [cmd], ...expect };
}

const STEPS: Step[] = [
  s('create /zc', { out: ['Created /zc'] }),
  s('create /zc/plain hello', { out: ['Created /zc/plain'] }),
  s('create /zc/plain again', { out: ['Node already exists: /zc/plain'] }),
  s('create /zc/missing/child x', { out: ['Node does not exist: /zc/missing/child'] }),
  s('create -e /zc/eph ephdata', { out: ['Created /zc/eph'] }),
  s('create /zc/eph/kid x', { out: ['Ephemerals cannot have children: /zc/eph/kid'] }),
  s('create -s /zc/seq- s1', { out: ['Created /zc/seq-0000000002'] }),
  s('create -s /zc/seq- s2', { out: ['Created /zc/seq-0000000003'] }),
  s('create -s -e /zc/eseq- x', { out: ['Created /zc/eseq-0000000004'] }),
  s('create -c /zc/cont', { out: ['Created /zc/cont'] }),
  s('create /zc/cont/child x', { out: ['Created /zc/cont/child'] }),
  s('create -t 600000 /zc/ttl ttldata', { out: ['Created /zc/ttl'] }),
  s('create -s -t 600000 /zc/sttl- x', { out: ['Created /zc/sttl-0000000007'] }),
  s('ls /zc', { out: ['[cont, eph, eseq-0000000004, plain, seq-0000000002, seq-0000000003, sttl-0000000007, ttl]'] }),
  s('ls -s /zc', {
    lines: ['[cont, eph, eseq-0000000004, plain, seq-0000000002, seq-0000000003, sttl-0000000007, ttl]'],
    stat: { cversion: '8', numChildren: '8', dataLength: '0', dataVersion: '0', ephemeralOwner: '0x0' },
  }),
  s('ls -R /zc', {
    out: [
      '/zc',
      '/zc/cont',
      '/zc/eph',
      '/zc/eseq-0000000004',
      '/zc/plain',
      '/zc/seq-0000000002',
      '/zc/seq-0000000003',
      '/zc/sttl-0000000007',
      '/zc/ttl',
      '/zc/cont/child',
    ],
  }),
  s('ls /zc/missing', { out: ['Node does not exist: /zc/missing'] }),
  s('get -s /zc/plain', {
    lines: ['hello'],
    stat: { dataVersion: '0', dataLength: '5', numChildren: '0', cversion: '0', aclVersion: '0', ephemeralOwner: '0x0' },
  }),
  s('get /zc/missing', { out: ['Node does not exist: /zc/missing'] }),
  s('stat /zc/eph', { stat: { ephemeralOwner: 'S1', dataLength: '7' } }),
  // containers and TTL nodes: ZooKeeper shows ephemeralOwner 0 to clients for both
  s('stat /zc/cont', { stat: { ephemeralOwner: '0x0', numChildren: '1', cversion: '1' } }),
  s('stat /zc/ttl', { stat: { ephemeralOwner: '0x0', dataLength: '7' } }),
  s('stat /zc/missing', { out: ['Node does not exist: /zc/missing'] }),
  s('set -v 0 /zc/plain world', { out: [] }),
  s('set -v 0 /zc/plain stale', { out: ['version No is not valid : /zc/plain'] }),
  s('set -s /zc/plain again', { stat: { dataVersion: '2', dataLength: '5' } }),
  s('get /zc/plain', { out: ['again'] }),
  s('delete /zc', { out: ['Node not empty: /zc'] }),
  s('delete -v 5 /zc/seq-0000000002', { out: ['version No is not valid : /zc/seq-0000000002'] }),
  s('delete -v 0 /zc/seq-0000000002', { out: [] }),
  s('delete /zc/missing', { out: ['Node does not exist: /zc/missing'] }),
  // the cversion clients see is 2 * (children created) - numChildren
  s('stat /zc', { stat: { cversion: '9', numChildren: '7' } }),
  s('getAcl /zc', { out: ["'world,'anyone", ': cdrwa'] }),
  s('getAcl -s /zc', { lines: ["'world,'anyone", ': cdrwa'], stat: { aclVersion: '0' } }),
  s(`create /zc/secret s3cr3t digest:${DIGEST}:cdrwa`, { out: ['Created /zc/secret'] }),
  s('get /zc/secret', { out: ['Insufficient permission : /zc/secret'] }),
  s('getAcl /zc/secret', { out: ['Insufficient permission : /zc/secret'] }),
  s('set /zc/secret x', { out: ['Insufficient permission : /zc/secret'] }),
  s('addauth digest alice:secret', { out: [] }),
  s('get /zc/secret', { out: ['s3cr3t'] }),
  s('getAcl -s /zc/secret', { lines: [`'digest,'${DIGEST}`, ': cdrwa'], stat: { aclVersion: '0' } }),
  s('setAcl -v 7 /zc/secret world:anyone:r', { out: ['version No is not valid : /zc/secret'] }),
  s(`setAcl -s -v 0 /zc/secret world:anyone:r,digest:${DIGEST}:cdrwa`, { stat: { aclVersion: '1', dataVersion: '0' } }),
  s('getAcl /zc/secret', { out: ["'world,'anyone", ': r', `'digest,'${DIGEST}`, ': cdrwa'] }),
  s('create /zc/authacl a auth::cdrwa', { out: ['Created /zc/authacl'] }),
  s('getAcl /zc/authacl', { out: [`'digest,'${DIGEST}`, ': cdrwa'] }),
  { cmds: ['create /zc/r', 'create /zc/r/k'], out: ['Created /zc/r', 'Created /zc/r/k'] },
  s('setAcl -R /zc/r world:anyone:cdr', { out: [] }),
  s('getAcl /zc/r/k', { out: ["'world,'anyone", ': cdr'] }),
  s('whoami', { out: ['Auth scheme: User', 'digest: alice', 'ip: 127.0.0.1'] }),
  s('sync /zc', { out: ['Sync is OK'] }),
  s('getEphemerals /zc', { out: ['[/zc/eph, /zc/eseq-0000000004]'] }),
  s('getEphemerals /', { out: ['[/zc/eph, /zc/eseq-0000000004]'] }),
  s('getEphemerals /zc/missing', { out: ['[]'] }),
  s('getAllChildrenNumber /zc', { out: ['12'] }),
  // everything but the root, /zookeeper, /zookeeper/config and /zookeeper/quota included
  s('getAllChildrenNumber /', { out: ['16'] }),
  s('getAllChildrenNumber /zc/missing', { out: ['Node does not exist: /zc/missing'] }),
  // one-shot watches set by the shell (events are checked at the end)
  s('get -w /zc/plain', { out: ['again'] }),
  s('set /zc/plain watched', { out: [] }),
  s('ls -w /zc/cont', { out: ['[child]'] }),
  s('create /zc/cont/c2 x', { out: ['Created /zc/cont/c2'] }),
  s('stat -w /zc/later', { out: ['Node does not exist: /zc/later'] }),
  s('create /zc/later x', { out: ['Created /zc/later'] }),
  // persistent watch (not recursive)
  s('addWatch -m PERSISTENT /zc/pw', { out: [] }),
  s('create /zc/pw x', { out: ['Created /zc/pw'] }),
  s('create /zc/pw/a x', { out: ['Created /zc/pw/a'] }),
  s('set /zc/pw y', { out: [] }),
  s('set /zc/pw/a y', { out: [] }),
  s('removewatches /zc/pw', { out: [] }),
  s('set /zc/pw z', { out: [] }),
  // persistent recursive watch (give -m: zkCli 3.8 keeps the previous addWatch's mode as the default)
  s('addWatch -m PERSISTENT_RECURSIVE /zc/rw', { out: [] }),
  s('create /zc/rw x', { out: ['Created /zc/rw'] }),
  s('create /zc/rw/a x', { out: ['Created /zc/rw/a'] }),
  s('set /zc/rw/a y', { out: [] }),
  s('delete /zc/rw/a', { out: [] }),
  s('removewatches /zc/rw', { out: [] }),
  s('create /zc/rw/b x', { out: ['Created /zc/rw/b'] }),
  s('removewatches /zc/none', { out: ['KeeperErrorCode = No such watcher for /zc/none'] }),
  s('get -w /zc/ttl', { out: ['ttldata'] }),
  s('removewatches /zc/ttl -d', { out: [] }),
  s('removewatches /zc/ttl -d', { out: ['KeeperErrorCode = No such watcher for /zc/ttl'] }),
  // standalone: /zookeeper/config exists, empty, aversion -1, all zero
  s('config', { out: [''] }),
  s('config -s', {
    lines: [''],
    stat: {
      cZxid: '0',
      mZxid: '0',
      pZxid: '0',
      ctime: 'Thu Jan 01 00:00:00 UTC 1970',
      cversion: '0',
      dataVersion: '0',
      aclVersion: '-1',
      ephemeralOwner: '0x0',
      dataLength: '0',
      numChildren: '0',
    },
  }),
  // a new session: the auth and the ephemerals of the first one are gone
  { cmds: ['close', 'connect HOSTPORT'], out: [] },
  s('whoami', { out: ['Auth scheme: User', 'ip: 127.0.0.1'] }),
  s('get /zc/secret', { out: ['s3cr3t'] }),
  s('set /zc/secret nope', { out: ['Insufficient permission : /zc/secret'] }),
  s('stat /zc/eph', { out: ['Node does not exist: /zc/eph'] }),
  s('getEphemerals /zc', { out: ['[]'] }),
  s('ls /zc', { out: ['[authacl, cont, later, plain, pw, r, rw, secret, seq-0000000003, sttl-0000000007, ttl]'] }),
  s('ls /zc/authacl', { out: ['Insufficient permission : /zc/authacl'] }),
  s('deleteall /zc/r', { out: [] }),
  s('ls /zc', { out: ['[authacl, cont, later, plain, pw, rw, secret, seq-0000000003, sttl-0000000007, ttl]'] }),
  s('addauth digest alice:secret', { out: [] }),
  // quotas (ZooKeeper 3.7+ text: the hard limits after "=;")
  {
    cmds: ['create /zc/qa', 'create /zc/qa/k1 x', 'create /zc/qa/k2 y'],
    out: ['Created /zc/qa', 'Created /zc/qa/k1', 'Created /zc/qa/k2'],
  },
  s('setquota -n 2 /zc/qa', { out: ['[Warning]: the count quota you create is less than the existing count:3'] }),
  s('listquota /zc/qa', {
    out: [
      'absolute path is /zookeeper/quota/zc/qa/zookeeper_limits',
      'Output quota for /zc/qa count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1',
      'Output stat for /zc/qa count=3,bytes=2',
    ],
  }),
  s('setquota -B 100 /zc/qa', { out: ['[Warning]: the count quota you create is less than the existing count:3'] }),
  s('setquota -n 5 -b 7 /zc/qa', {
    out: [
      "org.apache.commons.cli.AlreadySelectedException: The option 'b' was specified but an option from this group has already been selected: 'n'",
    ],
  }),
  s('setquota -N 0 /zc/qa', { out: ['the num quota must be greater than zero'] }),
  s('setquota /zc/qa', {
    out: [
      'org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]',
    ],
  }),
  s('setquota -n 1 /zc/qa/k1', { out: ['/zc/qa/k1 has a parent /zc/qa which has a quota'] }),
  s('setquota -n 1 /zc', { out: ['/zc has a child /zc/qa which has a quota'] }),
  s('setquota -n 1 /zc/nope', { out: ['/zc/nope does not exist.'] }),
  s('setquota -n 1 /zookeeper/quota/x', { out: ['cannot set a quota under the path: /zookeeper/quota'] }),
  s('delquota -n /zc/qa', { out: [] }),
  s('listquota /zc/qa', {
    out: [
      'absolute path is /zookeeper/quota/zc/qa/zookeeper_limits',
      'Output quota for /zc/qa count=-1,bytes=-1=;byteHardLimit=100;countHardLimit=-1',
      'Output stat for /zc/qa count=3,bytes=2',
    ],
  }),
  s('delquota /zc/qa', { out: [] }),
  s('listquota /zc/qa', { out: ['absolute path is /zookeeper/quota/zc/qa/zookeeper_limits', 'quota for /zc/qa does not exist.'] }),
  s('delquota /zc/qa', { out: ['Quota does not exist for /zc/qa'] }),
  s('ls /zookeeper/quota', { out: ['[]'] }),
  s('deleteall /zc', { out: [] }),
  s('ls /', { out: ['[zookeeper]'] }),
];

/** Watch events the batch must produce (sorted), connection state events left out. */
const EXPECTED_EVENTS = [
  'WatchedEvent state:SyncConnected type:DataWatchRemoved path:/zc/ttl',
  'WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/zc/cont',
  'WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/zc/pw',
  'WatchedEvent state:SyncConnected type:NodeCreated path:/zc/later',
  'WatchedEvent state:SyncConnected type:NodeCreated path:/zc/pw',
  'WatchedEvent state:SyncConnected type:NodeCreated path:/zc/rw',
  'WatchedEvent state:SyncConnected type:NodeCreated path:/zc/rw/a',
  'WatchedEvent state:SyncConnected type:NodeDataChanged path:/zc/plain',
  'WatchedEvent state:SyncConnected type:NodeDataChanged path:/zc/pw',
  'WatchedEvent state:SyncConnected type:NodeDataChanged path:/zc/rw/a',
  'WatchedEvent state:SyncConnected type:NodeDeleted path:/zc/rw/a',
  'WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/zc/pw',
  'WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/zc/rw',
];

function batch(hostPort: string): string {
  const lines: string[] = [];
  for (const step of STEPS) {
    for (const c of step.cmds) lines.push(c.replace('HOSTPORT', hostPort));
    lines.push('version');
  }
  lines.push('quit');
  return `${lines.join('\n')}\n`;
}

interface Parsed {
  steps: string[][];
  events: string[];
  transcript: string;
}

const NOISE = [/^SLF4J: /, /^Connecting to /, /^Welcome to ZooKeeper!$/, /^JLine support is (disabled|enabled)$/];

/** Splits zkCli's merged output into per-step outputs and watch events, normalized. */
function parseZkCli(raw: string, hostPort: string): Parsed {
  const kept: string[] = [];
  const events: string[] = [];
  const lines = raw.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (NOISE.some((re) => re.test(line))) continue;
    // The shell's watcher prints "\nWATCHER::" and "\nWatchedEvent ..." as two separate
    // writes, each preceded by an empty line; the main thread's output can come in between.
    if (line === 'WATCHER::' || line.startsWith('WatchedEvent ')) {
      if (kept.length && kept[kept.length - 1] === '') kept.pop();
      if (line !== 'WATCHER::' && !/ type:None /.test(line)) events.push(line);
      continue;
    }
    kept.push(line);
  }
  // zxid ranks over the whole output
  const zxids: bigint[] = [];
  for (const l of kept) {
    const m = /^[cmp]Zxid = 0x([0-9a-f]+)$/.exec(l);
    if (m) zxids.push(BigInt(`0x${m[1]!}`));
  }
  const rank = zxidRanks(zxids);
  const sessions = new Symbolizer('S');
  const norm = (l: string): string => {
    let m = /^([cmp]Zxid) = 0x([0-9a-f]+)$/.exec(l);
    if (m) return `${m[1]!} = ${rank(BigInt(`0x${m[2]!}`))}`;
    m = /^([cm]time) = (.*)$/.exec(l);
    if (m) return / 1970$/.test(m[2]!) ? l : `${m[1]!} = <time>`;
    m = /^ephemeralOwner = (0x[0-9a-f]+)$/.exec(l);
    if (m) return m[1] === '0x0' ? l : `ephemeralOwner = ${sessions.get(m[1]!)}`;
    m = /^\[(.+)\]$/.exec(l);
    if (m) return `[${m[1]!.split(', ').sort().join(', ')}]`;
    return l.split(hostPort).join('HOSTPORT');
  };
  const steps: string[][] = [[]];
  for (const l of kept) {
    if (SEPARATOR.test(l)) steps.push([]);
    else steps[steps.length - 1]!.push(norm(l));
  }
  // whoami: ZooKeeper lists a connection's ids in hash-set order (observed: alice, zoe, mike,
  // ip), which no other server can be expected to reproduce; compare them sorted
  for (const st of steps) {
    const at = st.indexOf('Auth scheme: User');
    if (at >= 0) st.splice(at + 1, st.length - at - 1, ...st.slice(at + 1).sort());
  }
  // what follows the last separator is the output of `quit` (nothing)
  const tail = steps.pop() ?? [];
  if (tail.some((l) => l !== '')) steps.push(tail);
  events.sort();
  const out: string[] = [];
  STEPS.forEach((step, k) => {
    for (const c of step.cmds) out.push(`$ ${c}`);
    for (const l of steps[k] ?? ['<missing: zkCli stopped early>']) out.push(`  ${l}`);
  });
  for (let k = STEPS.length; k < steps.length; k++) for (const l of steps[k]!) out.push(`  (extra) ${l}`);
  out.push('--- watch events (sorted) ---');
  out.push(...events);
  return { steps, events, transcript: `${out.join('\n')}\n` };
}

function parseStat(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const r = /^(\w+) = (.*)$/.exec(l);
    if (r) m.set(r[1]!, r[2]!);
  }
  return m;
}

const STAT_FIELDS = [
  'cZxid',
  'ctime',
  'mZxid',
  'mtime',
  'pZxid',
  'cversion',
  'dataVersion',
  'aclVersion',
  'ephemeralOwner',
  'dataLength',
  'numChildren',
];

function checkSteps(parsed: Parsed): string[] {
  const problems: string[] = [];
  STEPS.forEach((step, k) => {
    const got = parsed.steps[k];
    const label = `step ${k} (${step.cmds.join(' ; ')})`;
    if (!got) {
      problems.push(`${label}: no output section (zkCli stopped early?)`);
      return;
    }
    if (step.out) {
      if (JSON.stringify(got) !== JSON.stringify(step.out)) {
        problems.push(`${label}: expected ${JSON.stringify(step.out)}, got ${JSON.stringify(got)}`);
      }
      return;
    }
    if (step.lines && JSON.stringify(got.slice(0, step.lines.length)) !== JSON.stringify(step.lines)) {
      problems.push(`${label}: expected to start with ${JSON.stringify(step.lines)}, got ${JSON.stringify(got)}`);
    }
    if (step.stat) {
      const statLines = got.slice(step.lines?.length ?? 0);
      const names = statLines.map((l) => /^(\w+) = /.exec(l)?.[1] ?? l);
      if (JSON.stringify(names) !== JSON.stringify(STAT_FIELDS)) {
        problems.push(`${label}: expected a stat (${STAT_FIELDS.join(', ')}), got ${JSON.stringify(statLines)}`);
      }
      const st = parseStat(statLines);
      for (const [f, v] of Object.entries(step.stat)) {
        if (st.get(f) !== v) problems.push(`${label}: ${f} expected ${v}, got ${st.get(f) ?? '(absent)'}`);
      }
    }
  });
  const missing = EXPECTED_EVENTS.filter((e) => !parsed.events.includes(e));
  const extra = parsed.events.filter((e) => !EXPECTED_EVENTS.includes(e));
  if (missing.length) problems.push(`watch events missing: ${missing.join(' | ')}`);
  if (extra.length) problems.push(`unexpected watch events: ${extra.join(' | ')}`);
  return problems;
}

let missingCache: string | null | undefined;
function zkCliMissing(): string | null {
  if (missingCache === undefined) {
    missingCache = executableMissing(zkCli, 'apt-get install zookeeper') ?? executableMissing('/bin/sh', 'a POSIX shell');
  }
  return missingCache;
}

async function runZkCli(t: TestContext, server: RunningServer): Promise<Parsed> {
  try {
    const r = await runTool('/bin/sh', ['-c', 'exec "$0" -server "$1" 2>&1', zkCli, server.connectString], {
      input: batch(server.connectString),
      timeoutMs: 120000,
      env: { TZ: 'UTC', CLIENT_JVMFLAGS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx128m' },
    });
    t.diagnostic(`zkCli.sh ran ${r.ms} ms against ${server.name}`);
    assert.equal(r.timedOut, false, `zkCli.sh against ${server.name}: ${describeTool(r)}`);
    if (process.env.ARK_ZKCLI_RAW) writeFileSync(`${process.env.ARK_ZKCLI_RAW}.${server.name}`, r.stdout);
    const parsed = parseZkCli(r.stdout, server.connectString);
    if (process.env.ARK_ZKCLI_DEBUG) t.diagnostic(parsed.transcript);
    const problems = checkSteps(parsed);
    assert.deepEqual(
      problems,
      [],
      `zkCli.sh against ${server.name}:\n${problems.join('\n')}\n--- transcript ---\n${parsed.transcript}\n--- ${server.name} output ---\n${server.output()}`,
    );
    return parsed;
  } finally {
    await server.stop();
  }
}

/** `ark cli -server ...` with the batch on stdin (2>&1, as zkCli's run), checked step by step; stops the server. */
async function runArkCli(t: TestContext, server: RunningServer): Promise<Parsed> {
  try {
    const r = await runTool('/bin/sh', ['-c', 'exec "$0" "$1" cli -server "$2" 2>&1', process.execPath, arkBin, server.connectString], {
      input: batch(server.connectString),
      timeoutMs: 120000,
      env: { TZ: 'UTC', ARK_CLI_HISTORY: '' },
    });
    t.diagnostic(`ark cli ran ${r.ms} ms against ${server.name}`);
    assert.equal(r.timedOut, false, `ark cli: ${describeTool(r)}`);
    assert.equal(r.code, 0, `ark cli exits with the last command's code (quit): ${describeTool(r)}`);
    const parsed = parseZkCli(r.stdout, server.connectString);
    const problems = checkSteps(parsed);
    assert.deepEqual(problems, [], `ark cli against ${server.name}:\n${problems.join('\n')}\n--- transcript ---\n${parsed.transcript}`);
    return parsed;
  } finally {
    await server.stop();
  }
}

let zkTranscript: string | undefined;

describe('zkCli.sh (ZooKeeper 3.8 shell) interop', () => {
  test('against Apache ZooKeeper 3.8', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(zkCliMissing() ?? zookeeperMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const parsed = await runZkCli(t, await startZooKeeper());
    zkTranscript = parsed.transcript;
    const diff = checkFixture(fixturePath, parsed.transcript, 'ZooKeeper transcript');
    assert.equal(diff, null, diff ?? '');
  });

  // Ark's own shell, fed the same batch on stdin, must print what zkCli.sh prints, against Ark
  // (no Java needed: compared with the fixture wherever ZooKeeper is missing) and against ZooKeeper
  test('ark cli against Ark prints the same transcript as zkCli.sh against ZooKeeper', { timeout: 180000 }, async (t) => {
    const parsed = await runArkCli(t, await startArk({ cfg: { ...INTEROP_CFG } }));
    const reference = zkTranscript ?? readFixture(fixturePath);
    assert.ok(reference !== null, `the fixture ${fixturePath} is committed`);
    assert.equal(
      parsed.transcript,
      reference,
      `ark cli and zkCli transcripts differ:\n${transcriptDiff(reference, parsed.transcript, 'zkCli.sh vs ZooKeeper', 'ark cli vs Ark')}`,
    );
  });

  test('ark cli against Apache ZooKeeper 3.8 prints the same transcript as zkCli.sh', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(zookeeperMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const parsed = await runArkCli(t, await startZooKeeper());
    const reference = zkTranscript ?? readFixture(fixturePath);
    assert.ok(reference !== null, `the fixture ${fixturePath} is committed`);
    assert.equal(
      parsed.transcript,
      reference,
      `transcripts differ:\n${transcriptDiff(reference, parsed.transcript, 'zkCli.sh vs ZooKeeper', 'ark cli vs ZooKeeper')}`,
    );
  });

  test('against Ark (and the same transcript as ZooKeeper)', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(zkCliMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const parsed = await runZkCli(t, await startArk({ cfg: { ...INTEROP_CFG } }));
    const reference = zkTranscript ?? readFixture(fixturePath);
    // the fixture is committed: without it (and without ZooKeeper) there is nothing to prove
    assert.ok(reference !== null, `the fixture ${fixturePath} is committed`);
    const label = zkTranscript !== undefined ? 'ZooKeeper (live)' : fixturePath;
    assert.equal(parsed.transcript, reference, `zkCli transcripts differ:\n${transcriptDiff(reference, parsed.transcript, label, 'Ark')}`);
  });

  // The merged transcripts above cannot show which stream a line went to: here both shells run
  // against ZooKeeper with stdout and stderr apart, and each stream must match on its own.
  test('ark cli splits stdout and stderr as zkCli.sh does', { timeout: 180000 }, async (t) => {
    const skip = requireOrSkip(zkCliMissing() ?? zookeeperMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const apart = async (
      label: string,
      argv: (cs: string) => string[],
      env: Record<string, string>,
    ): Promise<{ out: string; err: string[] }> => {
      const server = await startZooKeeper();
      try {
        const [bin, ...args] = argv(server.connectString);
        const r = await runTool(bin!, args, { input: batch(server.connectString), timeoutMs: 120000, env: { TZ: 'UTC', ...env } });
        assert.equal(r.timedOut, false, `${label}: ${describeTool(r)}`);
        const err = r.stderr.split('\n').filter((l) => l !== '' && !NOISE.some((re) => re.test(l)));
        return { out: parseZkCli(r.stdout, server.connectString).transcript, err };
      } finally {
        await server.stop();
      }
    };
    const zk = await apart('zkCli.sh', (cs) => [zkCli, '-server', cs], {
      CLIENT_JVMFLAGS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx128m',
    });
    const ark = await apart('ark cli', (cs) => [process.execPath, arkBin, 'cli', '-server', cs], { ARK_CLI_HISTORY: '' });
    t.diagnostic(`${zk.err.length} stderr lines each`);
    assert.deepEqual(ark.err, zk.err, 'stderr, line by line');
    assert.equal(ark.out, zk.out, `stdout:\n${transcriptDiff(zk.out, ark.out, 'zkCli.sh', 'ark cli')}`);
  });
});
