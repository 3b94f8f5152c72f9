// A `java` stand-in for test harnesses that start their servers as ZooKeeper's command line:
// `java [-Dkey=value ...] [-cp path] org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg`
// (kazoo's kazoo.testing.common.ManagedZooKeeper). It starts `ark server` on the same zoo.cfg,
// plus the JVM properties ZooKeeper itself reads (readonlymode.enabled, zookeeper.*) written as
// the zoo.cfg keys Ark reads them from, into a copy beside it (and -Djava.security.auth.login.config
// in SERVER_JVMFLAGS, where zkServer.sh users put it). SIGTERM and SIGINT are passed on,
// and it exits as `ark server` does.
//
//   node dist/test/helpers/quorumpeermain.js <java's arguments>
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { arkBin } from './servers.js';

const MAIN_CLASSES = ['org.apache.zookeeper.server.quorum.QuorumPeerMain', 'org.apache.zookeeper.server.ZooKeeperServerMain'];
/** JVM properties of ZooKeeper's that only configure its logging: nothing for Ark */
const LOGGING = new Set(['zookeeper.log.dir', 'zookeeper.root.logger', 'zookeeper.log.file']);

/** The zoo.cfg lines for the JVM properties among `args` that ZooKeeper's server reads. */
function cfgLinesOf(args: readonly string[]): string[] {
  const lines: string[] = [];
  for (const a of args) {
    const m = /^-D([^=]+)=(.*)$/.exec(a);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'readonlymode.enabled' || (key.startsWith('zookeeper.') && !LOGGING.has(key))) lines.push(`${key}=${value}`);
  }
  return lines;
}

function main(args: string[]): void {
  const at = args.findIndex((a) => MAIN_CLASSES.includes(a));
  const cfg = at >= 0 ? args[at + 1] : undefined;
  if (cfg === undefined) {
    process.stderr.write(`java stand-in: expected ${MAIN_CLASSES.join(' or ')} <zoo.cfg>, got: ${args.join(' ')}\n`);
    process.exit(1);
  }
  const arkCfg = `${cfg}.ark`;
  writeFileSync(arkCfg, `${readFileSync(cfg, 'utf8')}\n${cfgLinesOf(args.slice(0, at)).join('\n')}\n`);
  // the JAAS file goes as zkServer.sh passes it, in SERVER_JVMFLAGS (kazoo's harness names one for SASL)
  const jaas = args.slice(0, at).filter((a) => a.startsWith('-Djava.security.auth.login.config='));
  const env = jaas.length > 0 ? { ...process.env, SERVER_JVMFLAGS: jaas.join(' ') } : process.env;
  const child = spawn(process.execPath, [arkBin, 'server', arkCfg], { stdio: 'inherit', env });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

// `node --test dist/test/` runs every file under it, this one too, with no arguments: nothing to
// start then (a harness always passes java's arguments; it may itself run under node --test, so
// NODE_TEST_CONTEXT alone does not tell)
if (process.env.NODE_TEST_CONTEXT !== undefined && process.argv.length <= 2) process.exit(0);
main(process.argv.slice(2));
