// The server as a user runs it: `ark server zoo.cfg` as a process, SIGTERM, kill -9 and restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { arkBin, freePort, startArk, tempDir, waitForPort, wrapProcess } from '../helpers/servers.js';
import { fourLetter } from '../helpers/fourletter.js';
import { ZkClient } from '../../src/client/client.js';
import { CreateFlag } from '../../src/wire/protocol.js';

test('sigterm_shuts_down_cleanly_with_exit_0', async () => {
  const srv = await startArk();
  const c = await ZkClient.connect({ port: srv.port });
  await c.create('/x', 'y');
  const code = await srv.stop();
  assert.equal(code, 0, srv.output());
});

test('acknowledged_writes_survive_kill_9_at_random_moments', async () => {
  // snapshots every few hundred txns, so kills also land while a snapshot is being written
  const cfg = { snapCount: 400, 'zookeeper.preAllocSize': 256 };
  const seed = Number(process.env.KILL_SEED ?? Date.now() % 100000);
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const dataDir = tempDir('kill9');
  const acked = new Map<string, { czxid: number; data: string; maybe?: string }>(); // what the server acknowledged
  let srv = await startArk({ dataDir, cfg });
  try {
    for (let cycle = 0; cycle < 8; cycle++) {
      const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 30000 });
      if (cycle === 0) await c.create('/app', 'root');
      let stop = false;
      // four writers pipeline creates and overwrites until the server dies under them
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          const path = `/app/c${cycle}-w${w}-${i}`;
          try {
            const r = await c.create2(path, path);
            acked.set(r.path, { czxid: r.stat.czxid, data: path });
            if (i % 4 === 3) {
              const target = `/app/c${cycle}-w${w}-${i - 2}`;
              const before = acked.get(target)!;
              // until it is acknowledged the overwrite may or may not have reached the disk
              acked.set(target, { ...before, maybe: `${target}+` });
              await c.setData(target, `${target}+`);
              acked.set(target, { czxid: before.czxid, data: `${target}+` });
            }
          } catch {
            return;
          }
        }
      };
      const writers = [0, 1, 2, 3].map(writer);
      await new Promise((r) => setTimeout(r, 50 + rand() * 400));
      await srv.kill();
      stop = true;
      await Promise.all(writers);
      srv = await startArk({ dataDir, cfg });
      const check = await ZkClient.connect({ port: srv.port });
      const reads = [...acked].map(async ([path, want]) => {
        const { data, stat } = await check.getData(path);
        const got = data.toString();
        if (got !== want.maybe) assert.equal(got, want.data, `seed=${seed} cycle ${cycle} ${path}`);
        assert.equal(stat.czxid, want.czxid, `seed=${seed} cycle ${cycle} ${path}`);
        acked.set(path, { czxid: want.czxid, data: got }); // read back from a recovered server: durable
      });
      await Promise.all(reads);
      check.disconnect();
    }
    assert.ok(acked.size > 500, `only ${acked.size} writes were acknowledged (seed=${seed})`);
  } catch (e) {
    console.log(`kill -9 test failed with KILL_SEED=${seed}\n--- server output ---\n${srv.output()}`);
    throw e;
  } finally {
    await srv.stop();
  }
});

test('ephemerals_of_a_session_survive_a_restart_within_the_timeout', async () => {
  const dataDir = tempDir('eph');
  const srv = await startArk({ dataDir });
  const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 20000 });
  await c.create('/e', null, { flags: CreateFlag.EPHEMERAL });
  await srv.stop({ keepData: true });
  const again = await startArk({ dataDir });
  try {
    const c2 = await ZkClient.connect({ port: again.port, sessionId: c.sessionId, passwd: c.passwd, sessionTimeoutMs: 20000 });
    assert.equal((await c2.exists('/e'))?.ephemeralOwner, c.sessionId);
    await c2.close();
    const c3 = await ZkClient.connect({ port: again.port });
    assert.equal(await c3.exists('/e'), null);
    c3.disconnect();
  } finally {
    await again.stop();
  }
});

test('unknown_config_keys_warn_and_bad_numbers_name_the_key', async () => {
  const dir = tempDir('cfg');
  const port = await freePort();
  writeFileSync(
    join(dir, 'zoo.cfg'),
    `tickTime=2000\ndataDir=${dir}/data\nclientPort=${port}\nclientPortAddress=127.0.0.1\n` +
      `someFutureKey=1\nsslQuorum=true\nserver.1=127.0.0.1:2888:3888;127.0.0.1:${port}\n`,
  );
  const proc = spawn(process.execPath, [arkBin, 'server', join(dir, 'zoo.cfg')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ARK_LOG_FORMAT: 'json' },
  });
  const srv = wrapProcess('ark', proc, '127.0.0.1', port, dir);
  await waitForPort('127.0.0.1', port, 20000, proc);
  assert.equal(await fourLetter(port, 'srvr').then((s) => s.startsWith('Zookeeper version: ')), true);
  assert.equal(await srv.stop(), 0);
  const out = srv.output();
  assert.match(out, /someFutureKey/);
  assert.match(out, /sslQuorum/);

  const bad = tempDir('badcfg');
  writeFileSync(join(bad, 'zoo.cfg'), `dataDir=${bad}\nclientPort=${port}\ntickTime=fast\n`);
  const p2 = spawn(process.execPath, [arkBin, 'server', join(bad, 'zoo.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p2.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise((res) => p2.on('exit', res));
  assert.equal(code, 1);
  assert.match(err, /tickTime/);
  assert.match(err, /fast/);
  rmSync(bad, { recursive: true, force: true });
});

test('default_server_listens_on_127_0_0_1_2181_with_data_in_cwd', async (t) => {
  const busy = await new Promise<boolean>((res) => {
    const s = require_connect(2181);
    s.on('connect', () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });
  if (busy) {
    t.skip('port 2181 is in use on this machine');
    return;
  }
  const cwd = tempDir('default');
  mkdirSync(cwd, { recursive: true });
  const proc = spawn(process.execPath, [arkBin, 'server'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = wrapProcess('ark', proc, '127.0.0.1', 2181, cwd);
  await waitForPort('127.0.0.1', 2181, 20000, proc);
  const c = await ZkClient.connect({ port: 2181 });
  await c.create('/hello', 'world');
  c.disconnect();
  assert.equal(await srv.stop({ keepData: true }), 0);
  const { readdirSync } = await import('node:fs');
  assert.ok(readdirSync(join(cwd, 'data', 'ark-v1')).some((f) => f.startsWith('log.')));
  rmSync(cwd, { recursive: true, force: true });
});

/**
 * Runs `ark server` on a zoo.cfg with these extra lines until it exits (killed after 15 s: a hang
 * is a failure); as an unprivileged user when `asNobody` and this test runs as root.
 */
async function serverExit(
  extra: string,
  asNobody = false,
): Promise<{ code: number | null; stderr: string; stdout: string; hung: boolean }> {
  const dir = tempDir('dirs');
  chmodSync(dir, 0o755);
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, `tickTime=2000\nclientPort=${port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n${extra}\n`, {
    mode: 0o644,
  });
  const drop = asNobody && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const proc = spawn(process.execPath, [arkBin, 'server', cfg], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...drop });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    proc.kill('SIGKILL');
  }, 15000);
  const code = await new Promise<number | null>((res) => proc.on('exit', (c) => res(c)));
  clearTimeout(timer);
  rmSync(dir, { recursive: true, force: true });
  return { code, stderr, stdout, hung };
}

test('a_data_dir_that_cannot_be_created_stops_start_up_with_one_line', async () => {
  const file = join(tempDir('dirs-file'), 'plain-file');
  writeFileSync(file, 'x');
  const readOnly = tempDir('dirs-ro');
  chmodSync(readOnly, 0o555);
  // a file where the server's own subdirectory goes: the start-up itself fails, in one line too
  const blocked = tempDir('dirs-blocked');
  writeFileSync(join(blocked, 'ark-v1'), 'x');
  // a refused directory: the config, the key, the path, the failing call and the fix, on one line
  const refused = (what: RegExp): RegExp =>
    new RegExp(`^ark server: \\S+zoo\\.cfg: ${what.source}.*: point \\w+ in zoo\\.cfg at a writable directory$`);
  const cases: Array<{ extra: string; message: RegExp; asNobody?: boolean }> = [
    { extra: `dataDir=${blocked}`, message: /^ark server: cannot start: EEXIST: file already exists, mkdir '\S+\/ark-v1'$/ },
    {
      extra: `dataDir=${file}/x`,
      message: refused(/dataDir \S+\/plain-file\/x cannot be created \(stat \S+: ENOTDIR: a part of the path is a file/),
    },
    {
      extra: `dataDir=${readOnly}/x`,
      asNobody: true,
      message: refused(/dataDir \S+ cannot be created \(mkdir \S+\/x: EACCES: permission denied\)/),
    },
  ];
  // procfs answers mkdir with ENOENT under a parent that exists: Node's recursive mkdir spun on it forever
  if (existsSync('/proc/self')) {
    cases.push(
      {
        extra: 'dataDir=/proc/nonexistent/x',
        message: refused(
          /dataDir \/proc\/nonexistent\/x cannot be created \(mkdir \/proc\/nonexistent: ENOENT: this file system does not allow creating directories there\)/,
        ),
      },
      {
        extra: 'dataDir=/proc/self',
        message: refused(/dataDir \/proc\/self is not writable \(mkdir \/proc\/self\/\.ark-write-test-\d+: ENOENT/),
      },
      { extra: 'dataDir=./data\ndataLogDir=/proc/nonexistent/y', message: refused(/dataLogDir \/proc\/nonexistent\/y cannot be created/) },
    );
  }
  try {
    for (const c of cases) {
      const r = await serverExit(c.extra, c.asNobody);
      const what = `${c.extra.replace(/\n/g, ' ')}: exit ${r.code}${r.hung ? ' (killed after 15 s: it hung)' : ''}\n${r.stderr}${r.stdout}`;
      assert.equal(r.hung, false, what);
      assert.equal(r.code, 1, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${what}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace: ${what}`);
      assert.match(r.stderr.trim(), c.message, what);
    }
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
    rmSync(blocked, { recursive: true, force: true });
    chmodSync(readOnly, 0o755);
    rmSync(readOnly, { recursive: true, force: true });
  }
});

import { connect as netConnect } from 'node:net';
function require_connect(port: number) {
  return netConnect({ port, host: '127.0.0.1' });
}

test('four_letter_words_answer_in_zookeeper_layouts', async () => {
  const srv = await startArk({
    cfg: { '4lw.commands.whitelist': 'ruok,srvr,stat,mntr,conf,cons,wchs,wchc,wchp,dump,envi,dirs,isro,crst,srst' },
  });
  try {
    const c = await ZkClient.connect({ port: srv.port });
    await c.create('/w', 'x');
    await c.create('/e', null, { flags: CreateFlag.EPHEMERAL });
    await c.getData('/w', true);
    assert.equal(await fourLetter(srv.port, 'ruok'), 'imok');
    assert.equal(await fourLetter(srv.port, 'isro'), 'rw');
    const srvr = await fourLetter(srv.port, 'srvr');
    for (const re of [
      /^Zookeeper version: 3\.9\.\d+-ark/m,
      /^Latency min\/avg\/max: \d+\/\d+(\.\d+)?\/\d+$/m,
      /^Received: \d+$/m,
      /^Sent: \d+$/m,
      /^Connections: 2$/m, // the four-letter-word connection counts too, as in ZooKeeper
      /^Outstanding: 0$/m,
      /^Zxid: 0x[0-9a-f]+$/m,
      /^Mode: standalone$/m,
      /^Node count: 7$/m,
    ])
      assert.match(srvr, re);
    const stat = await fourLetter(srv.port, 'stat');
    assert.match(stat, /^Clients:\n( \/127\.0\.0\.1:\d+\[[01]\]\(queued=0,recved=\d+,sent=\d+\)\n){2}\n/m);
    const mntr = await fourLetter(srv.port, 'mntr');
    const keys = new Map(
      mntr
        .trim()
        .split('\n')
        .map((l) => l.split('\t') as [string, string]),
    );
    for (const k of [
      'zk_version',
      'zk_avg_latency',
      'zk_max_latency',
      'zk_min_latency',
      'zk_packets_received',
      'zk_packets_sent',
      'zk_num_alive_connections',
      'zk_outstanding_requests',
      'zk_server_state',
      'zk_znode_count',
      'zk_watch_count',
      'zk_ephemerals_count',
      'zk_approximate_data_size',
      'zk_open_file_descriptor_count',
      'zk_max_file_descriptor_count',
    ])
      assert.ok(keys.has(k), k);
    assert.equal(keys.get('zk_server_state'), 'standalone');
    assert.equal(keys.get('zk_znode_count'), '7', 'ZooKeeper counts the root twice');
    assert.equal(keys.get('zk_ephemerals_count'), '1');
    assert.equal(keys.get('zk_watch_count'), '1');
    assert.ok(Number(keys.get('zk_max_file_descriptor_count')) > 0);
    assert.match(await fourLetter(srv.port, 'conf'), new RegExp(`^clientPort=${srv.port}$`, 'm'));
    assert.match(await fourLetter(srv.port, 'cons'), /sid=0x[0-9a-f]+,lop=GETD/);
    assert.equal(await fourLetter(srv.port, 'wchs'), '1 connections watching 1 paths\nTotal watches:1\n');
    assert.equal(await fourLetter(srv.port, 'wchc'), `0x${c.sessionId.toString(16)}\n\t/w\n\n`);
    assert.equal(await fourLetter(srv.port, 'wchp'), `/w\n\t0x${c.sessionId.toString(16)}\n\n`);
    assert.match(await fourLetter(srv.port, 'dump'), new RegExp(`0x${c.sessionId.toString(16)}:\\n\\t/e\\n`));
    assert.match(await fourLetter(srv.port, 'envi'), /^Environment:\nzookeeper\.version=/);
    assert.match(await fourLetter(srv.port, 'dirs'), /^datadir_size: \d+\nlogdir_size: \d+\n$/);
    assert.equal(await fourLetter(srv.port, 'crst'), 'Connection stats reset.\n');
    assert.equal(await fourLetter(srv.port, 'srst'), 'Server stats reset.\n');
    assert.equal(await fourLetter(srv.port, 'gtmk'), 'gtmk is not executed because it is not in the whitelist.\n');
    c.disconnect();
  } finally {
    await srv.stop();
  }
});

test('a server whose log pipe is gone still stops on SIGTERM', async () => {
  const port = await freePort();
  const dir = tempDir('orphaned-log');
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    `tickTime=2000\ndataDir=${join(dir, 'data')}\nclientPort=${port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n`,
  );
  // as under a supervisor that died: stdout and stderr are pipes whose reading end is gone
  const proc = spawn(process.execPath, [arkBin, 'server', cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ARK_LOG_LEVEL: 'debug', ARK_LOG_FORMAT: 'json' },
  });
  try {
    await waitForPort('127.0.0.1', port, 20000, proc);
    proc.stdout!.destroy();
    proc.stderr!.destroy();
    const c = await ZkClient.connect({ port });
    for (let i = 0; i < 200; i++) await c.create(`/n${i}`, Buffer.alloc(100)); // logs to write meanwhile
    c.disconnect();
    const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    proc.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 30000))]);
    assert.equal(code, 0, 'the server exits 0 after SIGTERM');
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
