// Starts a real Ark ensemble: one `ark server zoo.cfg` process per member on loopback, each with
// its own data dir and myid, all from the same server.N lines, as an operator would run them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arkBin, freePort, tempDir, waitForPort, wrapProcess, writeCfg, type RunningServer } from './servers.js';
import { fourLetterWord } from './zookeeper.js';

export interface Member {
  readonly id: number;
  readonly port: number;
  readonly dataDir: string;
  readonly observer: boolean;
  proc: RunningServer | null;
  /** everything this member's processes printed, across restarts */
  log: string;
}

export interface Ensemble {
  readonly members: Member[];
  readonly connectString: string;
  /** (re)starts a stopped member from its config and data dir */
  start(m: Member): Promise<void>;
  kill(m: Member): Promise<void>;
  /** removes a stopped member's data (keeps its myid): it must rejoin by SNAP */
  wipe(m: Member): void;
  /** the member that reports Mode: leader, waiting up to timeoutMs */
  leader(timeoutMs?: number): Promise<Member>;
  /** waits until every running member serves (srvr answers with a Mode) */
  serving(timeoutMs?: number): Promise<void>;
  mode(m: Member): Promise<string | null>;
  stop(): Promise<void>;
}

export interface EnsembleOptions {
  voters?: number;
  observers?: number;
  /** each server.N line names its member's client address too (`;127.0.0.1:port`) */
  clientInLines?: boolean;
  cfg?: Record<string, string | number | boolean>;
  /** settings for one member only (e.g. its AdminServer port); `serverLines` are everyone's server.N lines */
  memberCfg?: (id: number, serverLines: Readonly<Record<string, string>>) => Record<string, string | number | boolean>;
  env?: Record<string, string>;
}

/**
 * Starts the ensemble. Ports come from freePort(), which cannot hold them: between the probe and
 * the member's bind another process's server may take one. A start that fails on a taken port is
 * retried on fresh ports; any other failure is thrown with the members' logs.
 */
export async function startEnsemble(opts: EnsembleOptions = {}): Promise<Ensemble> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEnsembleOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE|already in use/.test((e as Error).message)) throw e;
      process.stderr.write(
        `startEnsemble: a port was taken before a member bound it; retrying on fresh ports (${(e as Error).message.split('\n')[0]})\n`,
      );
    }
  }
}

async function startEnsembleOnce(opts: EnsembleOptions): Promise<Ensemble> {
  const voters = opts.voters ?? 3;
  const observers = opts.observers ?? 0;
  const n = voters + observers;
  const root = tempDir('ensemble');
  const { ports, serverLines } = await ensemblePorts(voters, observers, opts.clientInLines);
  const members: Member[] = [];
  const cfgFiles: string[] = [];
  for (let i = 0; i < n; i++) {
    const dataDir = join(root, `s${i + 1}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
    const cfgDir = join(root, `cfg${i + 1}`);
    mkdirSync(cfgDir, { recursive: true });
    cfgFiles.push(
      writeCfg(cfgDir, {
        tickTime: 2000,
        initLimit: 10,
        syncLimit: 5,
        dataDir,
        clientPort: ports[i]!.client,
        clientPortAddress: '127.0.0.1',
        'admin.enableServer': false,
        '4lw.commands.whitelist': '*',
        ...(i >= voters ? { peerType: 'observer' } : {}),
        ...serverLines,
        ...opts.cfg,
        ...opts.memberCfg?.(i + 1, serverLines),
      }),
    );
    members.push({ id: i + 1, port: ports[i]!.client, dataDir, observer: i >= voters, proc: null, log: '' });
  }

  async function start(m: Member): Promise<void> {
    if (m.proc) return;
    const proc = spawn(process.execPath, [arkBin, 'server', cfgFiles[m.id - 1]!], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ARK_LOG_LEVEL: process.env.ARK_LOG_LEVEL ?? 'info', ARK_LOG_FORMAT: 'json', ...opts.env },
    });
    proc.stdout?.on('data', (d: Buffer) => {
      m.log += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      m.log += d.toString();
    });
    const server = wrapProcess(`ark ${m.id}`, proc, '127.0.0.1', m.port, m.dataDir);
    m.proc = server;
    proc.once('exit', () => {
      if (m.proc === server) m.proc = null;
    });
    try {
      await waitForPort('127.0.0.1', m.port, 20000, proc);
    } catch (e) {
      // an exited process's last output may still be in its pipes: wait for them to close
      if (proc.exitCode !== null) await Promise.race([once(proc, 'close'), new Promise((r) => setTimeout(r, 1000))]);
      throw new Error(`member ${m.id}: ${(e as Error).message}\n${m.log.slice(-3000)}`);
    }
  }

  return assembleEnsemble({ members, root, dataSubdir: 'ark-v1', start, pollMs: 50, timeoutMs: 20000 });
}

/**
 * Free loopback ports for each member and the server.N lines naming them (observers last), with
 * each member's client address in its line (`;127.0.0.1:port`) when clientInLines.
 */
export async function ensemblePorts(
  voters: number,
  observers: number,
  clientInLines = false,
): Promise<{
  ports: Array<{ client: number; quorum: number; election: number }>;
  serverLines: Record<string, string>;
}> {
  const ports: Array<{ client: number; quorum: number; election: number }> = [];
  const serverLines: Record<string, string> = {};
  for (let i = 0; i < voters + observers; i++) {
    const p = { client: await freePort(), quorum: await freePort(), election: await freePort() };
    ports.push(p);
    serverLines[`server.${i + 1}`] =
      `127.0.0.1:${p.quorum}:${p.election}${i >= voters ? ':observer' : ''}${clientInLines ? `;127.0.0.1:${p.client}` : ''}`;
  }
  return { ports, serverLines };
}

/** The Ensemble object over started-or-not members: modes polled with srvr, as an operator would. */
export async function assembleEnsemble(o: {
  members: Member[];
  root: string;
  /** the directory inside a dataDir that wipe() removes */
  dataSubdir: string;
  start: (m: Member) => Promise<void>;
  pollMs: number;
  timeoutMs: number;
}): Promise<Ensemble> {
  const { members } = o;
  async function mode(m: Member): Promise<string | null> {
    if (!m.proc) return null;
    try {
      const out = await fourLetterWord('127.0.0.1', m.port, 'srvr', 2000);
      return /Mode: (\w+)/.exec(out)?.[1] ?? null;
    } catch {
      return null;
    }
  }
  const ens: Ensemble = {
    members,
    connectString: members.map((m) => `127.0.0.1:${m.port}`).join(','),
    start: o.start,
    async kill(m) {
      const p = m.proc;
      if (!p) return;
      await p.kill();
      m.proc = null;
    },
    wipe(m) {
      if (m.proc) throw new Error('wipe a stopped member only');
      rmSync(join(m.dataDir, o.dataSubdir), { recursive: true, force: true });
    },
    async leader(timeoutMs = o.timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const m of members) if ((await mode(m)) === 'leader') return m;
        if (Date.now() > deadline)
          throw new Error(`no leader after ${timeoutMs} ms\n${members.map((m) => `--- ${m.id}\n${m.log.slice(-3000)}`).join('\n')}`);
        await new Promise((r) => setTimeout(r, o.pollMs));
      }
    },
    async serving(timeoutMs = o.timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const modes = await Promise.all(members.filter((m) => m.proc).map((m) => mode(m)));
        if (modes.every((x) => x !== null)) return;
        if (Date.now() > deadline) throw new Error(`members not serving after ${timeoutMs} ms: ${modes.join(',')}`);
        await new Promise((r) => setTimeout(r, o.pollMs));
      }
    },
    mode,
    async stop() {
      await Promise.all(
        members.map(async (m) => {
          await m.proc?.stop({ keepData: true });
          m.proc = null;
        }),
      );
      rmSync(o.root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(members.map((m) => o.start(m)));
  } catch (e) {
    await ens.stop();
    throw e;
  }
  return ens;
}
