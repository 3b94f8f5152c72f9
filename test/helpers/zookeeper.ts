// Test helpers for Apache ZooKeeper interop: start a real ZooKeeper 3.8 standalone server
// (Debian packages `zookeeper` / `libzookeeper-java`), and compile / run small Java client
// programs against the ZooKeeper client jar.
import { describeTool, runTool, type ToolResult } from './clitools.js';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { freePort, repoRoot, tempDir, writeCfg, wrapProcess, type RunningServer } from './servers.js';

/** Java sources of the interop programs (ArkInterop, StatTranscript, JuteOracle). */
export const interopJavaDir = join(repoRoot, 'test', 'interop', 'java');

/** Where the Debian jars live; override with ARK_ZK_JAVA_DIR. */
export const javaDir = process.env.ARK_ZK_JAVA_DIR ?? '/usr/share/java';
export const javaBin = process.env.ARK_JAVA ?? 'java';
const javacBin = process.env.ARK_JAVAC ?? 'javac';

/**
 * Extra server configuration every interop test gives both servers, so the same Java programs
 * run unchanged against Ark and ZooKeeper: TTL nodes enabled, containers checked every second.
 * (ZooKeeper itself reads the container interval only as a JVM system property;
 * startZooKeeper passes it as one too.)
 */
export const INTEROP_CFG: Readonly<Record<string, string | number | boolean>> = {
  extendedTypesEnabled: true,
  'znode.container.checkIntervalMs': 1000,
};

const REQUIRED_JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar'];

function jar(name: string): string {
  return join(javaDir, name);
}

/** slf4j binding: simple (warnings to stderr) if present, else nop, else none (slf4j prints one warning). */
function slf4jBinding(): string[] {
  for (const b of ['slf4j-simple.jar', 'slf4j-nop.jar']) if (existsSync(jar(b))) return [jar(b)];
  return [];
}

/**
 * Class path for compiling and running programs against the ZooKeeper client (and server) classes.
 * zookeeper.jar's manifest Class-Path pulls in netty, commons-cli, metrics, ... where installed.
 */
export function javaClasspath(): string {
  return [...REQUIRED_JARS.map(jar), ...slf4jBinding()].join(delimiter);
}

/** The netty jars TLS needs (ClientCnxnSocketNetty, NettyServerCnxnFactory) beyond those zookeeper.jar's manifest names. */
const NETTY_JARS = [
  'netty-buffer',
  'netty-codec',
  'netty-common',
  'netty-handler',
  'netty-resolver',
  'netty-transport',
  'netty-transport-native-unix-common',
];

/** Class path entries for TLS: the netty jars, or the reason they are not there. */
export function nettyClasspath(): { path: string; missing: string | null } {
  const jars = NETTY_JARS.map((n) => jar(`${n}.jar`));
  const absent = jars.filter((j) => !existsSync(j));
  return {
    path: jars.join(delimiter),
    missing: absent.length ? `netty jars missing for TLS: ${absent.join(', ')} (apt-get install libnetty-java)` : null,
  };
}

/**
 * JVM flags shared by the ZooKeeper server and client programs. Log level: ARK_ZK_LOG_LEVEL
 * (server, default warn) / ARK_JAVA_LOG_LEVEL (client programs, default error); slf4j-simple
 * writes to stderr, which the harness captures.
 */
export function jvmFlags(logLevel: string, heap = '256m', production = false): string[] {
  return [
    `-Xmx${heap}`,
    // tests: a small, quick-starting JVM (C1 only, serial GC); benchmarks: the JVM's own defaults
    // (G1 and the full JIT), as zkServer.sh runs ZooKeeper
    ...(production ? [] : ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']),
    '-Djava.net.preferIPv4Stack=true',
    `-Dorg.slf4j.simpleLogger.defaultLogLevel=${logLevel}`,
    '-Dorg.slf4j.simpleLogger.logFile=System.err',
  ];
}

let toolCache: Map<string, string | null> | undefined;
function toolMissing(bin: string): string | null {
  toolCache ??= new Map();
  const hit = toolCache.get(bin);
  if (hit !== undefined) return hit;
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 30000 });
  const reason = r.error ? `${bin} not runnable (${r.error.message})` : r.status !== 0 ? `${bin} -version exited ${r.status}` : null;
  toolCache.set(bin, reason);
  return reason;
}

function jarsMissing(): string | null {
  const absent = REQUIRED_JARS.filter((j) => !existsSync(jar(j)));
  return absent.length ? `ZooKeeper jars missing in ${javaDir}: ${absent.join(', ')} (apt-get install zookeeper libzookeeper-java)` : null;
}

/** Reason why Apache ZooKeeper cannot be started here (java or the jars absent), or null. */
export function zookeeperMissing(): string | null {
  return toolMissing(javaBin) ?? jarsMissing();
}

/** Reason why Java client programs cannot be compiled and run here (javac, java or the jars absent), or null. */
export function javaClientMissing(): string | null {
  return toolMissing(javaBin) ?? toolMissing(javacBin) ?? jarsMissing();
}

/** Sends a four-letter word and returns the whole answer ('' if the server closed without one). */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 5000): Promise<string> {
  return new Promise((res, rej) => {
    const sock = connect({ host, port });
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      rej(new Error(`${word}: no answer from ${host}:${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      res(out);
    });
  });
}

export interface StartZooKeeperOptions {
  /** zoo.cfg entries; they override the defaults (clientPort included). */
  cfg?: Record<string, string | number | boolean>;
  /** extra JVM system properties (-Dkey=value). */
  systemProperties?: Record<string, string | number | boolean>;
  dataDir?: string;
  /** how long to wait for `srvr` to report a serving server. */
  timeoutMs?: number;
  /** JVM max heap (default 256m) */
  heap?: string;
  /** run with the JVM's default GC and JIT, as zkServer.sh does (benchmarks), not the quick-start test flags */
  production?: boolean;
  /** class path entries after ZooKeeper's (the netty jars for TLS) */
  extraClasspath?: string;
}

/**
 * The java command line of a ZooKeeper process: the JVM flags, the system properties ZooKeeper
 * reads the zoo.cfg keys below from (plus `props`), the class path, the main class and zoo.cfg.
 */
export function zookeeperJavaArgs(o: {
  mainClass: string;
  cfgFile: string;
  cfg: Record<string, string | number | boolean>;
  /** set before the zoo.cfg-derived ones (which override them) */
  defaults?: Record<string, string | number | boolean>;
  /** set last */
  props?: Record<string, string | number | boolean>;
  heap?: string;
  production?: boolean;
  extraClasspath?: string;
}): string[] {
  const props: Record<string, string | number | boolean> = {
    ...o.defaults,
    'zookeeper.admin.enableServer': false,
    'zookeeper.jmx.log4j.disable': true,
  };
  for (const [key, prop] of Object.entries(CFG_AS_SYSTEM_PROPERTY)) {
    const v = o.cfg[key];
    if (v !== undefined) props[prop] = v;
  }
  Object.assign(props, o.props);
  return [
    ...jvmFlags(process.env.ARK_ZK_LOG_LEVEL ?? 'warn', o.heap, o.production),
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-cp',
    o.extraClasspath ? [javaClasspath(), o.extraClasspath].join(delimiter) : javaClasspath(),
    o.mainClass,
    o.cfgFile,
  ];
}

/** Keys that ZooKeeper only honours as JVM system properties under exactly this name. */
const CFG_AS_SYSTEM_PROPERTY: Record<string, string> = {
  'znode.container.checkIntervalMs': 'znode.container.checkIntervalMs',
  'znode.container.maxPerMinute': 'znode.container.maxPerMinute',
  'znode.container.maxNeverUsedIntervalMs': 'znode.container.maxNeverUsedIntervalMs',
  extendedTypesEnabled: 'zookeeper.extendedTypesEnabled',
};

/**
 * Runs Apache ZooKeeper standalone (`ZooKeeperServerMain zoo.cfg`) on a free loopback port
 * (or cfg.clientPort), with a temporary dataDir, TTL nodes enabled, containers checked every
 * second, all 4lw allowed, no admin server, warnings-only logging. Resolves once `srvr` answers
 * as a serving server.
 */
export async function startZooKeeper(opts: StartZooKeeperOptions = {}): Promise<RunningServer> {
  const missing = zookeeperMissing();
  if (missing) throw new Error(missing);
  const host = '127.0.0.1';
  const cfgPort = opts.cfg?.clientPort;
  const port = cfgPort !== undefined ? Number(cfgPort) : await freePort();
  const dataDir = opts.dataDir ?? tempDir('zk-data');
  mkdirSync(dataDir, { recursive: true });
  const cfgDir = tempDir('zk-cfg');
  const cfg: Record<string, string | number | boolean> = {
    tickTime: 2000,
    dataDir,
    clientPort: port,
    clientPortAddress: host,
    'admin.enableServer': false,
    '4lw.commands.whitelist': '*',
    // small txn-log preallocation (KiB); the default is 64 MiB per log file
    preAllocSize: 1024,
    ...INTEROP_CFG,
    ...opts.cfg,
  };
  const cfgFile = writeCfg(cfgDir, cfg);
  const args = zookeeperJavaArgs({
    mainClass: 'org.apache.zookeeper.server.ZooKeeperServerMain',
    cfgFile,
    cfg,
    defaults: { 'zookeeper.extendedTypesEnabled': true },
    props: opts.systemProperties ?? {},
    ...(opts.heap ? { heap: opts.heap } : {}),
    ...(opts.production ? { production: true } : {}),
    ...(opts.extraClasspath ? { extraClasspath: opts.extraClasspath } : {}),
  });
  const proc = spawn(javaBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = wrapProcess('zookeeper', proc, host, port, dataDir);
  const origStop = server.stop.bind(server);
  const wrapped: RunningServer = {
    ...server,
    async stop(o) {
      const code = await origStop(o);
      rmSync(cfgDir, { recursive: true, force: true });
      return code;
    },
  };
  try {
    await waitForZooKeeper(host, port, opts.timeoutMs ?? 30000, proc);
  } catch (e) {
    await server.kill();
    rmSync(cfgDir, { recursive: true, force: true });
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`ZooKeeper did not start: ${(e as Error).message}\n${server.output()}`);
  }
  return wrapped;
}

async function waitForZooKeeper(
  host: string,
  port: number,
  timeoutMs: number,
  proc: import('node:child_process').ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`java exited (code ${proc.exitCode}, signal ${proc.signalCode}) before serving`);
    }
    try {
      last = await fourLetterWord(host, port, 'srvr', 2000);
      if (/Mode: standalone/.test(last) || /Zxid: /.test(last)) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`not serving on ${host}:${port} after ${timeoutMs} ms (last srvr answer: ${last.trim()})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * javac-compiles the given sources (with the ZooKeeper jars on the class path) into a temp dir
 * cached by the sources' content, and returns that class dir. Safe to call from parallel test
 * processes: each compiles into a private dir and renames it into place.
 */
export async function compileJava(sources: string[]): Promise<string> {
  const missing = javaClientMissing();
  if (missing) throw new Error(missing);
  const h = createHash('sha256');
  h.update(javaClasspath());
  for (const s of [...sources].sort()) {
    h.update(basename(s));
    h.update('\0');
    h.update(readFileSync(s));
    h.update('\0');
  }
  const key = h.digest('hex').slice(0, 16);
  const classDir = join(tmpdir(), `ark-javac-${key}`);
  if (existsSync(join(classDir, '.complete'))) return classDir;
  const work = tempDir('javac');
  const r = await runTool(javacBin, ['-nowarn', '-encoding', 'UTF-8', '-d', work, '-cp', javaClasspath(), ...sources], {
    timeoutMs: 120000,
  });
  if (r.code !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`javac failed (${r.code}):\n${r.stdout}${r.stderr}`);
  }
  writeFileSync(join(work, '.complete'), new Date().toISOString());
  try {
    renameSync(work, classDir);
  } catch {
    // another process won the race (or a stale incomplete dir is in the way)
    if (!existsSync(join(classDir, '.complete'))) {
      rmSync(classDir, { recursive: true, force: true });
      try {
        renameSync(work, classDir);
      } catch {
        /* lost again; the winner's copy is complete */
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
  return classDir;
}

/** What a java run gave: the same shape as any tool run. */
export type JavaResult = ToolResult;

/** Runs `java -cp classDir:<zookeeper jars> mainClass args...`, killing it after timeoutMs. */
export function runJava(
  classDir: string,
  mainClass: string,
  args: string[],
  timeoutMs = 60000,
  sysProps: Record<string, string> = {},
): Promise<JavaResult> {
  const missing = javaClientMissing();
  if (missing) return Promise.reject(new Error(missing));
  return runTool(
    javaBin,
    [
      ...jvmFlags(process.env.ARK_JAVA_LOG_LEVEL ?? 'error'),
      ...Object.entries(sysProps).map(([k, v]) => `-D${k}=${v}`),
      '-cp',
      [classDir, javaClasspath()].join(delimiter),
      mainClass,
      ...args,
    ],
    { timeoutMs },
  );
}

/** Short human description of a JavaResult for assertion messages. */
export const describeJava = describeTool;
