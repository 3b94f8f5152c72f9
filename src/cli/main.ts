#!/usr/bin/env node
// `ark`: the command line. Argument parsing and printing only; the work lives in the modules.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/error.js';
import type { ServerConfig } from '../config/serverconfig.js';
import { DEFAULT_CONFIG_TEXT, parseZooCfg } from '../config/zoocfg.js';
import { ArkServer } from '../runtime/server.js';
import { DataDirError } from '../storage/filelog.js';
import { LogCorruptError } from '../storage/txnlog.js';
import { createLogger } from '../util/log.js';
import { ARK_VERSION, VERSION_STRING } from '../version.js';
import { registerDataCommands } from './data.js';
import { DirSetupError, prepareServerDirs } from './dirs.js';
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
  .action(async (configPath: string | undefined) => {
    const log = createLogger();
    let text = DEFAULT_CONFIG_TEXT;
    if (configPath) {
      try {
        // java.util.Properties reads zoo.cfg as ISO-8859-1
        text = readFileSync(resolve(configPath), 'latin1');
      } catch (e) {
        console.error(`ark server: cannot read config file ${configPath}: ${(e as Error).message}`);
        process.exit(1);
      }
    }
    let resolved;
    try {
      resolved = parseZooCfg(text, { baseDir: process.cwd() });
    } catch (e) {
      if (e instanceof ConfigError) {
        console.error(`ark server: ${configPath ?? 'built-in config'}: ${e.message}`);
        process.exit(1);
      }
      throw e;
    }
    let config = resolved.config;
    try {
      prepareServerDirs(serverDirs(config));
    } catch (e) {
      if (!(e instanceof DirSetupError)) throw e;
      console.error(`ark server: ${configPath ?? 'built-in config'}: ${e.message}`);
      process.exit(1);
    }
    let myid: number | undefined;
    if (config.distributed) {
      // an ensemble member: its id is in dataDir/myid, as ZooKeeper's QuorumPeerConfig reads it
      const myidFile = join(config.dataDir, 'myid');
      try {
        const raw = readFileSync(myidFile, 'utf8').trim();
        myid = Number(raw);
        if (!/^\d+$/.test(raw) || !Number.isSafeInteger(myid)) throw new Error(`"${raw}" is not a server id`);
      } catch (e) {
        console.error(`ark server: ${configPath}: zoo.cfg lists an ensemble, but ${myidFile} cannot be read (${(e as Error).message}); write this server's id (the N of its server.N line) into it`);
        process.exit(1);
      }
      try {
        resolved = parseZooCfg(text, { baseDir: process.cwd(), myid });
      } catch (e) {
        if (e instanceof ConfigError) {
          console.error(`ark server: ${configPath}: ${e.message}`);
          process.exit(1);
        }
        throw e;
      }
      config = resolved.config;
      if (!config.servers.some((s) => s.id === myid)) {
        console.error(`ark server: ${configPath}: myid ${myid} (from ${myidFile}) has no server.${myid} line`);
        process.exit(1);
      }
    }
    const server = new ArkServer(config, log, myid);
    // the data dir cannot be written: the server stopped acknowledging; exit so a supervisor restarts it
    server.on('fatal', () => process.exit(2));
    for (const w of resolved.warnings) log.warn({ config: configPath ?? 'built-in' }, w);
    try {
      await server.start();
    } catch (e) {
      if (e instanceof DataDirError || e instanceof LogCorruptError) {
        log.fatal(e.message);
        console.error(`ark server: ${e.message}`);
        process.exit(1);
      }
      const err = e as NodeJS.ErrnoException & { port?: number; address?: string };
      if (err.code === 'EADDRINUSE') {
        // the client port, or in an ensemble the quorum port (bound first), or the AdminServer's
        const port = err.port ?? config.clientPort ?? 2181;
        const which = port === (config.clientPort ?? 2181) ? 'set clientPort in zoo.cfg'
          : 'change the port in zoo.cfg (this server\'s server.N line, admin.serverPort or metricsProvider.httpPort)';
        console.error(`ark server: port ${port} on ${err.address ?? config.clientPortAddress ?? '0.0.0.0'} is already in use (EADDRINUSE): stop the other process or ${which}`);
        process.exit(1);
      }
      if (err.syscall && err.path) {
        // a file the server could not open, read or write at start (permissions, a full disk): one line, no stack
        console.error(`ark server: cannot start: ${err.message}`);
        process.exit(1);
      }
      throw e;
    }
    let stopping = false;
    const shutdown = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, 'shutting down');
      server.stop().then(() => process.exit(0), (e: unknown) => {
        log.error({ err: (e as Error).message }, 'error during shutdown');
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

/** The directories a server writes: dataDir, dataLogDir, and the backup archive where one is set. */
function serverDirs(config: ServerConfig): Array<{ key: string; path: string }> {
  const dirs = [{ key: 'dataDir', path: config.dataDir }];
  if (config.dataLogDir !== config.dataDir) dirs.push({ key: 'dataLogDir', path: config.dataLogDir });
  const archive = config.systemProperties.get('zookeeper.backup.archiveDir');
  if (archive) dirs.push({ key: 'backup.archiveDir', path: archive });
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
