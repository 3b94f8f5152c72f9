// kazoo's own test suite (kazoo.tests, shipped by Debian's python3-kazoo) on kazoo's own harness,
// whose cluster is either Apache ZooKeeper 3.8 (the real java with ZooKeeper's jars) or Ark (a
// `java` stand-in first on PATH, test/helpers/quorumpeermain.ts, that runs `ark server` on the
// zoo.cfg kazoo writes). test/interop/kazoo/kazoo_suite.py runs the named tests with unittest.
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeTool, runTool } from './clitools.js';
import { kazooDir, kazooPython } from './kazoo.js';
import { freePort, repoRoot, tempDir } from './servers.js';
import { javaBin, javaClasspath } from './zookeeper.js';

/** The java ZooKeeper runs on (ARK_JAVA, or `java` on PATH), as a path: the stand-in goes first on PATH. */
function realJava(): string {
  if (javaBin.includes('/')) return javaBin;
  const dir = (process.env.PATH ?? '').split(':').find((d) => d !== '' && existsSync(join(d, javaBin)));
  return dir ? join(dir, javaBin) : javaBin;
}

/**
 * A port offset for kazoo's cluster (member i: offset + 10 i, + 1, + 2, + 3): a free port rounded
 * down to a multiple of 10 in 20000-59999, so two runs on one machine rarely meet.
 */
async function portOffset(): Promise<number> {
  const p = await freePort();
  return 20000 + ((Math.floor(p / 10) * 10) % 40000);
}

/** What kazoo's harness runs as `java`: ZooKeeper (optionally with localSessionsEnabled=true added to its zoo.cfg) or Ark's stand-in. */
export type SuiteJava = 'zookeeper' | 'zookeeper-local-sessions' | 'ark';

export interface SuiteRun {
  /** each test's RESULT line: ok, FAIL, ERROR or skipped */
  results: Map<string, string>;
  stdout: string;
  report: string;
}

/** Runs kazoo_suite.py on `test` (a class or test of kazoo.tests) with kazoo's cluster on `java`. */
export async function runKazooSuite(test: string, java: SuiteJava): Promise<SuiteRun> {
  const work = tempDir('kazoo-suite');
  try {
    const env: Record<string, string> = {
      ZOOKEEPER_VERSION: '3.8.0',
      ZOOKEEPER_PORT_OFFSET: String(await portOffset()),
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
    };
    const bin = join(work, 'bin');
    mkdirSync(bin);
    if (java === 'zookeeper') {
      env.ZOOKEEPER_CLASSPATH = javaClasspath();
    } else if (java === 'zookeeper-local-sessions') {
      env.ZOOKEEPER_CLASSPATH = javaClasspath();
      // kazoo writes its zoo.cfg itself: this java adds the line, then runs the real one
      writeFileSync(
        join(bin, 'java'),
        `#!/bin/sh\nfor cfg; do :; done\nprintf '\\nlocalSessionsEnabled=true\\n' >> "$cfg"\nexec '${realJava()}' "$@"\n`,
      );
      chmodSync(join(bin, 'java'), 0o755);
      env.PATH = `${bin}:${process.env.PATH ?? ''}`;
    } else {
      const standIn = join(repoRoot, 'dist', 'test', 'helpers', 'quorumpeermain.js');
      writeFileSync(join(bin, 'java'), `#!/bin/sh\nexec '${process.execPath}' '${standIn}' "$@"\n`);
      chmodSync(join(bin, 'java'), 0o755);
      env.PATH = `${bin}:${process.env.PATH ?? ''}`;
      env.ZOOKEEPER_CLASSPATH = 'ark';
    }
    const r = await runTool(kazooPython, [join(kazooDir, 'kazoo_suite.py'), test], { timeoutMs: 150000, env, cwd: work });
    const results = new Map<string, string>();
    for (const m of r.stdout.matchAll(/^RESULT (\S+) (\S+)$/gm)) results.set(m[1]!, m[2]!);
    return { results, stdout: `${r.stdout}\n${r.stderr}`, report: `${test} against ${java}:\n${describeTool(r)}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
