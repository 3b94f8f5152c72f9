// Test helpers that start real server processes (Ark, or Apache ZooKeeper in zookeeper.ts)
// on loopback, each in its own temporary data dir, and stop them again.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunningServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly connectString: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** SIGTERM, wait for exit, remove the data dir unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<number | null>;
  /** SIGKILL, wait for exit; the data dir is kept. */
  kill(): Promise<void>;
  output(): string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test/helpers -> repository root */
export const repoRoot = resolve(here, '..', '..', '..');
export const arkBin = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/**
 * The kernel's ephemeral port range (the source ports of outgoing connections), read once.
 * Ports handed to test servers come from below it: a port inside it, probed free, can be taken
 * as the source port of some outgoing connection (a peer's reconnect, a readiness probe) before
 * the server binds it, and a client connecting to such a port while nothing listens can even be
 * connected to itself (TCP self-connect).
 */
function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high && low <= high) return { low, high };
  } catch {
    /* not Linux: the IANA dynamic range */
  }
  return { low: 49152, high: 65535 };
}

const PORTS_LOW = 10000;
const portsHigh = Math.min(ephemeralRange().low, 65536) - 1;
/** where this process starts handing out ports: spread by pid, so parallel test files rarely meet */
let nextPort = PORTS_LOW + ((process.pid * 7919) % Math.max(1, portsHigh - PORTS_LOW));

function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.unref();
    s.once('error', () => res(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => res(true)));
  });
}

/**
 * A loopback port no one listens on, below the ephemeral range (see ephemeralRange), and never
 * the same one twice in this process. Falls back to a kernel-chosen port if that range is full.
 */
export async function freePort(): Promise<number> {
  const span = portsHigh - PORTS_LOW + 1;
  for (let tries = 0; span > 0 && tries < span; tries++) {
    const port = nextPort;
    nextPort = nextPort >= portsHigh ? PORTS_LOW : nextPort + 1;
    if (await canBind(port)) return port;
  }
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ark-${prefix}-`));
}

export function writeCfg(dir: string, entries: Record<string, string | number | boolean>): string {
  const file = join(dir, 'zoo.cfg');
  writeFileSync(
    file,
    `${Object.entries(entries)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  return file;
}

export async function waitForPort(host: string, port: number, timeoutMs = 20000, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`server exited with code ${proc.exitCode} before listening`);
    const ok = await new Promise<boolean>((res) => {
      const c = connect({ host, port });
      c.once('connect', () => {
        c.destroy();
        res(true);
      });
      c.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function wrapProcess(name: string, proc: ChildProcess, host: string, port: number, dataDir: string): RunningServer {
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    name,
    host,
    port,
    dataDir,
    process: proc,
    connectString: `${host}:${port}`,
    async stop(opts) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(timer);
      if (!opts?.keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    output: () => out,
  };
}

export interface StartArkOptions {
  cfg?: Record<string, string | number | boolean>;
  dataDir?: string;
  env?: Record<string, string>;
}

/** Starts `ark server zoo.cfg` as a child process on a free loopback port. */
export async function startArk(opts: StartArkOptions = {}): Promise<RunningServer> {
  const host = '127.0.0.1';
  const port = Number(opts.cfg?.clientPort ?? (await freePort()));
  const dataDir = opts.dataDir ?? tempDir('data');
  mkdirSync(dataDir, { recursive: true });
  const cfgDir = tempDir('cfg');
  const cfgFile = writeCfg(cfgDir, {
    tickTime: 2000,
    dataDir,
    clientPort: port,
    clientPortAddress: host,
    'admin.enableServer': false,
    '4lw.commands.whitelist': '*',
    ...opts.cfg,
  });
  const proc = spawn(process.execPath, [arkBin, 'server', cfgFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ARK_LOG_LEVEL: process.env.ARK_LOG_LEVEL ?? 'warn', ...opts.env },
  });
  const server = wrapProcess('ark', proc, host, port, dataDir);
  proc.once('exit', () => rmSync(cfgDir, { recursive: true, force: true }));
  try {
    await waitForPort(host, port, 20000, proc);
  } catch (e) {
    await server.kill();
    throw new Error(`${(e as Error).message}\n${server.output()}`);
  }
  return server;
}

/** In CI an interop prerequisite that is missing is a failure, elsewhere a printed skip. */
export function requireOrSkip(missing: string | null): string | false {
  if (!missing) return false;
  if (process.env.CI) throw new Error(`interop prerequisite missing in CI: ${missing}`);
  console.log(`# skipping interop test: ${missing}`);
  return missing;
}

/** Runs `ark ARGS...` to its end: its exit code and output (a failing command does not throw). */
export async function ark(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [arkBin, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
