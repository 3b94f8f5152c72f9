#!/usr/bin/env node
// `ark`: the command line. Argument parsing and printing only; the work lives in the modules.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/error.js';
import type { ServerConfig } from '../config/serverconfig.js';
import { DEFAULT_CONFIG_TEXT, parseZooCfg, type ResolvedConfig } from '../config/zoocfg.js';
import { ArkServer } from '../runtime/server.js';
import { DataDirError } from '../storage/filelog.js';
import { LogCorruptError } from '../storage/txnlog.js';
import { createLogger, type Logger } from '../util/log.js';
import { ARK_VERSION, VERSION_STRING } from '../version.js';
import { registerDataCommands } from './data.js';
import { DirSetupError, prepareServerDirs } from './dirs.js';
import { isS3Url } from '../util/s3url.js';
import { registerMigrateCommands } from './migrate.js';
import { registerBackupCommands } from './backup.js';
import { registerCopyCommand } from './copy.js';
import { registerBenchCommand } from './bench.js';
import { registerCliCommand } from './cli.js';

const program = new Command();
program
  .name('ark')
  .description('Ark: a ZooKeeper-compatible coordination service')
  .version(`${ARK_VERSION} (speaks ZooKeeper ${VERSION_STRING.split('-')[0]})`)
  // options after a subcommand belong to it (ark cli hands every word to the shell)
  .enablePositionalOptions();

program
  .command('server')
  .description('run a server: standalone on 127.0.0.1:2181 with data in ./data, or from an unchanged ZooKeeper zoo.cfg')
  .argument('[config]', 'path to a zoo.cfg')
  .action(runServer);

/** What keeps `ark server` from serving that the operator can fix: one line on stderr and exit code 1, no stack trace. */
function refuse(message: string): never {
  console.error(`ark server: ${message}`);
  process.exit(1);
}

async function runServer(configPath: string | undefined): Promise<void> {
  const log = createLogger();
  const { config, warnings, myid } = loadConfig(configPath);
  const server = new ArkServer(config, log, myid);
  // the data dir cannot be written: the server stopped acknowledging; exit so a supervisor restarts it
  server.on('fatal', () => process.exit(2));
  for (const w of warnings) log.warn({ config: configPath ?? 'built-in' }, w);
  try {
    await server.start();
  } catch (e) {
    refuseFailedStart(e, config, log);
  }
  stopOnSignals(server, log);
}

/**
 * zoo.cfg (or the built-in config) resolved, with the directories it names created; an ensemble
 * member's resolved again for its id, which is needed to pick its own server.N line.
 */
function loadConfig(configPath: string | undefined): ResolvedConfig & { myid?: number } {
  const where = configPath ?? 'built-in config';
  const text = readConfigText(configPath);
  const resolved = parseConfig(text, where);
  try {
    prepareServerDirs(serverDirs(resolved.config));
  } catch (e) {
    if (!(e instanceof DirSetupError)) throw e;
    refuse(`${where}: ${e.message}`);
  }
  if (!resolved.config.distributed) return resolved;
  // an ensemble member: its id is in dataDir/myid, as ZooKeeper's QuorumPeerConfig reads it
  const myidFile = join(resolved.config.dataDir, 'myid');
  const myid = readMyid(myidFile, where);
  const member = parseConfig(text, where, myid);
  if (!member.config.servers.some((s) => s.id === myid)) refuse(`${where}: myid ${myid} (from ${myidFile}) has no server.${myid} line`);
  return { ...member, myid };
}

function readConfigText(configPath: string | undefined): string {
  if (!configPath) return DEFAULT_CONFIG_TEXT;
  try {
    // java.util.Properties reads zoo.cfg as ISO-8859-1
    return readFileSync(resolve(configPath), 'latin1');
  } catch (e) {
    return refuse(`cannot read config file ${configPath}: ${(e as Error).message}`);
  }
}

function parseConfig(text: string, where: string, myid?: number): ResolvedConfig {
  try {
    return parseZooCfg(text, { baseDir: process.cwd(), myid });
  } catch (e) {
    if (e instanceof ConfigError) refuse(`${where}: ${e.message}`);
    throw e;
  }
}

function readMyid(myidFile: string, where: string): number {
  try {
    const raw = readFileSync(myidFile, 'utf8').trim();
    const myid = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(myid)) throw new Error(`"${raw}" is not a server id`);
    return myid;
  } catch (e) {
    return refuse(
      `${where}: zoo.cfg lists an ensemble, but ${myidFile} cannot be read (${(e as Error).message}); write this server's id (the N of its server.N line) into it`,
    );
  }
}

/** The start failures an operator can fix (the data dir, a port in use, a file) are refused in one line; anything else is a bug and throws. */
function refuseFailedStart(e: unknown, config: ServerConfig, log: Logger): never {
  if (e instanceof ConfigError) {
    // a file zoo.cfg names (a TLS key store or trust store) that cannot be used: the key is in the message
    log.fatal(e.message);
    refuse(e.message);
  }
  if (e instanceof DataDirError || e instanceof LogCorruptError) {
    log.fatal(e.message);
    refuse(e.message);
  }
  const err = e as NodeJS.ErrnoException & { port?: number; address?: string };
  if (err.code === 'EADDRINUSE') {
    // the client port, or in an ensemble the quorum port (bound first), or the AdminServer's
    const port = err.port ?? config.clientPort ?? 2181;
    const which =
      port === (config.clientPort ?? 2181)
        ? 'set clientPort in zoo.cfg'
        : "change the port in zoo.cfg (this server's server.N line, admin.serverPort or metricsProvider.httpPort)";
    refuse(
      `port ${port} on ${err.address ?? config.clientPortAddress ?? '0.0.0.0'} is already in use (EADDRINUSE): stop the other process or ${which}`,
    );
  }
  if (err.syscall && err.path) {
    // a file the server could not open, read or write at start (permissions, a full disk): one line, no stack
    refuse(`cannot start: ${err.message}`);
  }
  throw e;
}

/** SIGTERM or SIGINT stops the server once (a second signal while it stops is ignored): exit 0, or 1 when stopping failed. */
function stopOnSignals(server: ArkServer, log: Logger): void {
  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: (e as Error).message }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** The directories a server writes: dataDir, dataLogDir, and the backup archive where one is set. */
function serverDirs(config: ServerConfig): Array<{ key: string; path: string }> {
  const dirs = [{ key: 'dataDir', path: config.dataDir }];
  if (config.dataLogDir !== config.dataDir) dirs.push({ key: 'dataLogDir', path: config.dataLogDir });
  const archive = config.systemProperties.get('zookeeper.backup.archiveDir');
  // an object store is checked when the archive is first read (an outage then is logged, not fatal)
  if (archive && !isS3Url(archive)) dirs.push({ key: 'backup.archiveDir', path: archive });
  return dirs;
}

registerDataCommands(program);
registerMigrateCommands(program);
registerBackupCommands(program);
registerCopyCommand(program);
registerBenchCommand(program);
registerCliCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`ark: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
