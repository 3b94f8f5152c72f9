// `ark bench`: closed-loop ZooKeeper-protocol load against any connect string (Ark or Apache
// ZooKeeper). Argument parsing and printing only; the load generator is src/bench/loadgen.ts.
// TLS and SASL: --client-configuration FILE, the client properties `ark cli` and zkCli.sh take
// (zookeeper.client.secure, zookeeper.ssl.*, java.security.auth.login.config; clientconfig.ts).
// Exit codes: 0 done, 1 the run failed (server gone, errors answered), 2 a usage error.
import type { Command } from 'commander';
import { ConfigError } from '../config/error.js';
import { clientProperties, secureClient, type SecureClient } from './clientconfig.js';
import { BenchError, DEFAULT_SPEC, WORKLOADS, formatResult, runLoad, type LoadResult, type WorkloadName } from '../bench/loadgen.js';
import { KeeperError } from '../util/errors.js';

function intArg(name: string, min: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) {
      console.error(`ark bench: ${name} must be a whole number >= ${min}, got "${v}"`);
      process.exit(2);
    }
    return n;
  };
}

function numArg(name: string, min: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) {
      console.error(`ark bench: ${name} must be a number >= ${min}, got "${v}"`);
      process.exit(2);
    }
    return n;
  };
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('load a ZooKeeper-protocol server (Ark or Apache ZooKeeper): ops/s and latency percentiles (HDR histogram)')
    .option('--server <hosts>', 'connect string host:port[,host:port...]; sessions are spread over the hosts', '127.0.0.1:2181')
    .option('--workload <names>', `comma-separated, run in turn: ${WORKLOADS.join(', ')}, or all`, 'all')
    .option('--sessions <n>', 'sessions (connections)', intArg('--sessions', 1), DEFAULT_SPEC.sessions)
    .option('--window <n>', 'requests each session keeps outstanding', intArg('--window', 1), DEFAULT_SPEC.window)
    .option('--seconds <s>', 'measured seconds per workload', numArg('--seconds', 0.1), DEFAULT_SPEC.seconds)
    .option('--warmup <s>', 'unmeasured seconds before each workload', numArg('--warmup', 0), DEFAULT_SPEC.warmupSeconds)
    .option('--count <n>', 'stop after this many ops instead of after --seconds (no warm-up)', intArg('--count', 1))
    .option('--size <bytes>', 'znode data size', intArg('--size', 0), DEFAULT_SPEC.sizeBytes)
    .option('--keys <n>', 'znodes that getData/setData/exists/mixed/multi spread over', intArg('--keys', 1), DEFAULT_SPEC.keys)
    .option('--read-percent <p>', 'mixed: percent of getData (the rest setData)', intArg('--read-percent', 0), DEFAULT_SPEC.readPercent)
    .option('--multi-ops <n>', 'multi: setData ops per transaction', intArg('--multi-ops', 1), DEFAULT_SPEC.multiOps)
    .option('--fanout <n>', 'create: children per parent znode (0: all under one parent)', intArg('--fanout', 0), DEFAULT_SPEC.fanout)
    .option(
      '--rate <ops/s>',
      'open loop: send this many ops per second in all, on schedule (latency counted from when each op was due); not for create',
      numArg('--rate', 1),
    )
    .option('--root <path>', 'parent znode for the run (created, and deleted afterwards unless --keep)')
    .option('--keep', 'leave the created znodes in place', false)
    .option(
      '--client-configuration <file>',
      'client properties as for ark cli / zkCli.sh: zookeeper.client.secure=true and zookeeper.ssl.* for TLS, java.security.auth.login.config (a JAAS Client section) for SASL',
    )
    .option('--json', 'one JSON object per workload on stdout', false)
    .action(
      async (o: {
        server: string;
        workload: string;
        sessions: number;
        window: number;
        seconds: number;
        warmup: number;
        count?: number;
        size: number;
        keys: number;
        readPercent: number;
        multiOps: number;
        fanout: number;
        rate?: number;
        root?: string;
        keep: boolean;
        json: boolean;
        clientConfiguration?: string;
      }) => {
        let secure: SecureClient = { tls: undefined, sasl: undefined, warnings: [] };
        if (o.clientConfiguration !== undefined) {
          try {
            // only the file: the JVM flags of the environment are zkCli.sh's, not the bench's
            secure = secureClient(clientProperties({}, o.clientConfiguration));
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            console.error(`ark bench: ${e.message}`);
            process.exit(2);
          }
          for (const w of secure.warnings) console.error(`ark bench: ${w}`);
        }
        const names = o.workload === 'all' ? [...WORKLOADS] : o.workload.split(',').map((w) => w.trim());
        const bad = names.filter((n) => !(WORKLOADS as readonly string[]).includes(n));
        if (bad.length) {
          console.error(`ark bench: unknown workload ${bad.map((b) => `"${b}"`).join(', ')}; choose from ${WORKLOADS.join(', ')} or all`);
          process.exit(2);
        }
        if (o.readPercent > 100) {
          console.error('ark bench: --read-percent must be 0..100');
          process.exit(2);
        }
        if (o.root !== undefined && (!o.root.startsWith('/') || o.root.endsWith('/'))) {
          console.error(`ark bench: --root "${o.root}" must be an absolute znode path such as /bench`);
          process.exit(2);
        }
        const pace = o.rate !== undefined ? `open loop at ${o.rate} ops/s` : `${o.window} outstanding`;
        if (!o.json) {
          const how = [secure.tls ? 'TLS' : '', secure.sasl ? `SASL as ${secure.sasl.username}` : ''].filter(Boolean).join(', ');
          console.log(`ark bench: ${o.server}${how ? ` (${how})` : ''}, ${o.sessions} sessions x ${pace}, ${o.size}-byte znodes`);
        }
        const results: LoadResult[] = [];
        for (const [k, workload] of (names as WorkloadName[]).entries()) {
          const root = o.root ?? `/ark-bench-${process.pid}-${Date.now().toString(36)}-${k}`;
          try {
            const r = await runLoad({
              connect: o.server,
              workload,
              sessions: o.sessions,
              window: o.window,
              seconds: o.seconds,
              warmupSeconds: o.warmup,
              ...(o.count !== undefined ? { count: o.count } : {}),
              ...(o.rate !== undefined ? { rate: o.rate } : {}),
              sizeBytes: o.size,
              readPercent: o.readPercent,
              multiOps: o.multiOps,
              keys: o.keys,
              sessionTimeoutMs: DEFAULT_SPEC.sessionTimeoutMs,
              root,
              keep: o.keep,
              fanout: o.fanout,
              ...(secure.tls ? { tls: secure.tls } : {}),
              ...(secure.sasl ? { sasl: secure.sasl } : {}),
            });
            results.push(r);
            console.log(o.json ? JSON.stringify(r) : formatResult(r));
          } catch (e) {
            if (e instanceof BenchError || e instanceof KeeperError) {
              console.error(`ark bench: ${workload}: ${e.message}`);
              process.exit(1);
            }
            throw e;
          }
        }
        if (results.some((r) => Object.keys(r.errors).length > 0)) {
          console.error('ark bench: the server answered some requests with errors (listed above)');
          process.exit(1);
        }
        process.exit(0);
      },
    );
}
