// Apache ZooKeeper 3.8 with its AdminServer on, for the tests that compare Ark's AdminServer with
// it (admin-zookeeper.test.ts: command layouts; admin-https.test.ts: its HTTPS keys).
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, wrapProcess, writeCfg, type RunningServer } from './servers.js';
import { waitUntil } from './wait.js';
import { fourLetterWord, javaDir, zookeeperJavaArgs, zookeeperMissing } from './zookeeper.js';

type Cfg = Record<string, string | number | boolean>;

/** ZooKeeper's AdminServer runs on Jetty, which needs the servlet API (Debian's libservlet-api-java, a dependency of libjetty9-java) */
const SERVLET_JAR = join(javaDir, 'servlet-api.jar');

/** Why ZooKeeper with its AdminServer cannot run here, or null. */
export function zookeeperAdminMissing(): string | null {
  return (
    zookeeperMissing() ??
    (existsSync(SERVLET_JAR) ? null : `${SERVLET_JAR} missing: ZooKeeper's AdminServer cannot run (apt-get install libservlet-api-java)`)
  );
}

/** The java command line of a ZooKeeper process with its AdminServer on: the servlet API joins the class path. */
export function adminJavaArgs(mainClass: string, cfgFile: string, cfg: Cfg, defaults: Cfg = {}): string[] {
  const args = zookeeperJavaArgs({ mainClass, cfgFile, cfg, defaults, props: { 'zookeeper.admin.enableServer': true } });
  const cp = args.indexOf('-cp');
  args[cp + 1] = `${args[cp + 1]}:${SERVLET_JAR}`;
  return args;
}

/**
 * A standalone ZooKeeper (ZooKeeperServerMain) with the `admin` settings in its zoo.cfg; resolves
 * once its client port serves (its AdminServer starts right after). `defaults`: system properties.
 */
export async function startZooKeeperAdmin(admin: Cfg, defaults: Cfg = {}): Promise<RunningServer> {
  const port = await freePort();
  const dataDir = tempDir('zk-admin-data');
  const cfgDir = tempDir('zk-admin-cfg');
  const cfg = {
    tickTime: 2000,
    dataDir,
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    '4lw.commands.whitelist': '*',
    preAllocSize: 1024,
    ...admin,
  };
  const args = adminJavaArgs('org.apache.zookeeper.server.ZooKeeperServerMain', writeCfg(cfgDir, cfg), cfg, defaults);
  const proc = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.once('exit', () => rmSync(cfgDir, { recursive: true, force: true }));
  const server = wrapProcess('zookeeper', proc, '127.0.0.1', port, dataDir);
  await waitUntil(
    async () => {
      if (proc.exitCode !== null) throw new Error(`ZooKeeper exited before serving:\n${server.output()}`);
      return /Mode: /.test(await fourLetterWord('127.0.0.1', port, 'srvr', 2000).catch(() => ''));
    },
    `ZooKeeper to serve on port ${port}`,
    60_000,
    100,
  );
  return server;
}
