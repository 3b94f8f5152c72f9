// Starts a real Apache ZooKeeper 3.8 ensemble: one `QuorumPeerMain zoo.cfg` JVM per member on
// loopback, each with its own dataDir and myid, all from the same server.N lines, launched the way
// startZooKeeper (zookeeper.ts) launches a standalone server: same class path, slf4j logging to
// stderr, the same JVM flags except a heap of 512 MiB (three JVMs share the machine).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, wrapProcess, writeCfg } from './servers.js';
import { assembleEnsemble, ensemblePorts, type Ensemble, type Member } from './ensemble.js';
import { fourLetterWord, zookeeperJavaArgs, zookeeperMissing } from './zookeeper.js';

const javaBin = process.env.ARK_JAVA ?? 'java';

export interface ZooKeeperEnsembleOptions {
  voters?: number;
  observers?: number;
  /** each server.N line names its member's client address too (`;127.0.0.1:port`) */
  clientInLines?: boolean;
  /** zoo.cfg entries for every member; they override the defaults. */
  cfg?: Record<string, string | number | boolean>;
  /** extra JVM system properties (-Dkey=value) for every member. */
  systemProperties?: Record<string, string | number | boolean>;
  /** JVM max heap, default 512m. */
  heap?: string;
  /** the JVM's default GC and JIT, as zkServer.sh runs ZooKeeper (benchmarks) */
  production?: boolean;
}

/**
 * Runs an Apache ZooKeeper ensemble (tickTime 2000, initLimit 10, syncLimit 5, forceSync at its
 * default, all 4lw allowed, no admin server) and resolves once every member listens on its client
 * port. The result has the shape of Ark's Ensemble helper; `wipe` removes a stopped member's
 * snapshots and logs (dataDir/version-2), keeping its myid.
 */
export async function startZooKeeperEnsemble(opts: ZooKeeperEnsembleOptions = {}): Promise<Ensemble> {
  const missing = zookeeperMissing();
  if (missing) throw new Error(missing);
  const voters = opts.voters ?? 3;
  const observers = opts.observers ?? 0;
  const n = voters + observers;
  const host = '127.0.0.1';
  const root = tempDir('zk-ensemble');
  const { ports, serverLines } = await ensemblePorts(voters, observers, opts.clientInLines);
  const members: Member[] = [];
  const memberArgs: string[][] = [];
  for (let i = 0; i < n; i++) {
    const dataDir = join(root, `s${i + 1}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
    const cfgDir = join(root, `cfg${i + 1}`);
    mkdirSync(cfgDir, { recursive: true });
    const cfg: Record<string, string | number | boolean> = {
      tickTime: 2000,
      initLimit: 10,
      syncLimit: 5,
      dataDir,
      clientPort: ports[i]!.client,
      clientPortAddress: host,
      'admin.enableServer': false,
      '4lw.commands.whitelist': '*',
      ...(i >= voters ? { peerType: 'observer' } : {}),
      ...serverLines,
      ...opts.cfg,
    };
    memberArgs.push(
      zookeeperJavaArgs({
        mainClass: 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        cfgFile: writeCfg(cfgDir, cfg),
        cfg,
        props: opts.systemProperties ?? {},
        heap: opts.heap ?? '512m',
        ...(opts.production ? { production: true } : {}),
      }),
    );
    members.push({ id: i + 1, port: ports[i]!.client, dataDir, observer: i >= voters, proc: null, log: '' });
  }

  async function start(m: Member): Promise<void> {
    if (m.proc) return;
    const proc = spawn(javaBin, memberArgs[m.id - 1]!, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => {
      m.log += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      m.log += d.toString();
    });
    const server = wrapProcess(`zookeeper ${m.id}`, proc, host, m.port, m.dataDir);
    m.proc = server;
    proc.once('exit', () => {
      if (m.proc === server) m.proc = null;
    });
    // A quorum member binds its client port at startup and answers srvr with "not currently
    // serving requests" until it has joined a quorum: here wait only for an answer (serving()
    // and leader() wait for the quorum), as Ark's helper waits only for the port.
    const deadline = Date.now() + 30000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`zookeeper ${m.id} exited (code ${proc.exitCode}, signal ${proc.signalCode})\n${m.log.slice(-3000)}`);
      }
      try {
        await fourLetterWord(host, m.port, 'srvr', 2000);
        return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`zookeeper ${m.id} not listening on ${m.port} after 30000 ms\n${m.log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return assembleEnsemble({ members, root, dataSubdir: 'version-2', start, pollMs: 100, timeoutMs: 30000 });
}
