// `ark cli [-server HOST:PORT] [-timeout MS] [-r] [--json] [command args...]`: the shell of
// src/cli/shell.ts in its three modes, as zkCli.sh has them:
// - a command on the command line: connect (waiting up to the timeout), run it, exit with its code;
// - standard input a terminal: interactive, with a prompt, history (kept in ~/.ark_cli_history,
//   or $ARK_CLI_HISTORY; empty to keep none) and tab completion of commands and znode paths;
// - standard input a pipe or file: one command per line, in order, no prompt; exits with the
//   last command's code, as zkCli.
// Exit codes as zkCli's: 0 done, 1 the command failed, 127 no such command; 2 for ark cli's own
// options (-server, -timeout, -client-configuration and the client properties) that do not parse.
// TLS and SASL are configured as for zkCli.sh (clientconfig.ts): -client-configuration FILE and
// the -D flags of CLIENT_JVMFLAGS / JVMFLAGS.
import type { Command } from 'commander';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { parseConnectString } from '../client/paths.js';
import { ConfigError } from '../config/error.js';
import { clientProperties, secureClient, type SecureClient } from './clientconfig.js';
import { EXIT_FAILED, Shell } from './shell.js';

const EXIT_USAGE = 2;
/** the longest a command given on the command line waits for its first connection */
const FIRST_CONNECT_MS = 10000;

const USAGE = `usage: ark cli [-server host:port[,host:port...][/chroot]] [-timeout ms] [-r] [--json] [command [args...]]

  -server      connect string (default localhost:2181)
  -timeout     session timeout in ms (default 30000); also bounds each request; a command
               given here waits at most 10 s (or the timeout, if shorter) to connect
  -r           accept a read-only server
  -client-configuration FILE   the client's properties (as zkCli's): zookeeper.client.secure=true
               with zookeeper.ssl.trustStore.* / keyStore.* for TLS; java.security.auth.login.config
               (a JAAS file's Client section) for SASL DIGEST-MD5
  --json       print one JSON document per command (and per watch event) instead of zkCli's text

The same properties are read from the -D flags of CLIENT_JVMFLAGS and JVMFLAGS, as zkCli.sh passes
them; the file's win.

Without a command: an interactive shell on a terminal, or one command per line from standard
input. Commands are zkCli.sh's; type "help" in the shell for the list.
Exit codes: 0 done, 1 the command failed, 127 no such command, 2 bad options of ark cli itself.`;

interface CliArgs {
  server: string;
  timeoutMs: number;
  readOnly: boolean;
  json: boolean;
  clientConfiguration: string | undefined;
  command: string[];
}

function fail(message: string): never {
  process.stderr.write(`ark cli: ${message}\n`);
  process.exit(EXIT_USAGE);
}

/** zkCli's options (-server, -timeout, -r, -waitforconnection) and --json, up to the first word that is none. */
export function parseCliArgs(argv: string[]): CliArgs | 'help' {
  const a: CliArgs = {
    server: 'localhost:2181',
    timeoutMs: 30000,
    readOnly: false,
    json: false,
    clientConfiguration: undefined,
    command: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) fail(`no argument found for option ${t}`);
      return v;
    };
    if (t === '-server' || t === '--server') a.server = value();
    else if (t === '-timeout' || t === '--timeout') {
      const v = value();
      a.timeoutMs = Number(v);
      if (!/^\d+$/.test(v) || a.timeoutMs < 1 || a.timeoutMs > 0x7fffffff)
        fail(`-timeout must be a whole number of milliseconds, got "${v}"`);
    } else if (t === '-r' || t === '--readonly') a.readOnly = true;
    else if (t === '-waitforconnection') {
      /* ark cli always waits before a command given on the command line */
    } else if (t === '-client-configuration') a.clientConfiguration = value();
    else if (t === '--json') a.json = true;
    else if (t === '-h' || t === '--help' || t === '-help') return 'help';
    else if (t.startsWith('-')) fail(`unknown option ${t}\n${USAGE}`);
    else {
      a.command = argv.slice(i);
      break;
    }
  }
  try {
    parseConnectString(a.server);
  } catch (e) {
    fail(`-server ${a.server}: ${(e as Error).message}`);
  }
  return a;
}

export function registerCliCommand(program: Command): void {
  program
    .command('cli')
    .description("a ZooKeeper shell (zkCli.sh's commands and output) for Ark or any ZooKeeper server; --json for scripts")
    .usage('[-server host:port] [-timeout ms] [-r] [--json] [command [args...]]')
    .helpOption(false)
    // every word after `cli` is the shell's (`ark cli create /v -V` must not print ark's version)
    .passThroughOptions()
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args: string[]) => {
      process.exitCode = await runCli(args);
      // the client's sockets are closed; nothing else should keep the process
    });
}

export async function runCli(argv: string[]): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let secure: SecureClient;
  try {
    secure = secureClient(clientProperties(process.env, parsed.clientConfiguration));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`ark cli: ${e.message}\n`);
    return EXIT_USAGE;
  }
  for (const w of secure.warnings) process.stderr.write(`ark cli: ${w}\n`);
  const shell = new Shell({
    server: parsed.server,
    timeoutMs: parsed.timeoutMs,
    readOnly: parsed.readOnly,
    json: parsed.json,
    client: { ...(secure.tls ? { tls: secure.tls } : {}), ...(secure.sasl ? { sasl: secure.sasl } : {}) },
    io: {
      out: (t) => {
        process.stdout.write(t);
      },
      err: (t) => {
        process.stderr.write(t);
      },
    },
  });
  if (parsed.command.length > 0) return oneShot(shell, parsed);
  if (process.stdin.isTTY) return interactive(shell, parsed);
  return batch(shell);
}

async function oneShot(shell: Shell, a: CliArgs): Promise<number> {
  // no watch or connection events: the process ends with the command
  shell.printWatches = false;
  const client = shell.connect();
  // why the attempts failed (a certificate the client does not trust, a refused connection), for the error line
  let lastFailure: string | undefined;
  client.on('connectFailed', (f) => {
    lastFailure = `${f.server}: ${f.reason}`;
  });
  try {
    // long enough to pass a host that does not answer on to the next one, short enough that a
    // server that is down is said at once
    await client.waitForConnected({ timeoutMs: Math.min(a.timeoutMs, FIRST_CONNECT_MS) });
  } catch (e) {
    await shell.close({ quiet: true });
    if (a.json) process.stdout.write(`${JSON.stringify({ error: errorOf(e as Error, client.state === 'authFailed') })}\n`);
    else
      process.stderr.write(
        `ark cli: ${(e as Error).message}${lastFailure && client.state !== 'authFailed' ? ` (last attempt: ${lastFailure})` : ''}\n`,
      );
    return EXIT_FAILED;
  }
  const code = await shell.run(a.command);
  await shell.close({ quiet: true });
  return code;
}

/** --json's error document for a first connection that did not come: AuthFailed (-115) or ConnectionLoss (-4). */
function errorOf(e: Error, authFailed: boolean): Record<string, unknown> {
  return authFailed
    ? { message: e.message, code: -115, name: 'AuthFailed', path: null }
    : { message: e.message, code: -4, name: 'ConnectionLoss', path: null };
}

async function batch(shell: Shell): Promise<number> {
  shell.connect();
  const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
  for await (const line of rl) {
    await shell.executeLine(line);
    if (shell.quit) break;
  }
  rl.close();
  await shell.close({ quiet: true });
  return shell.exitCode;
}

function historyFile(): string | null {
  const env = process.env.ARK_CLI_HISTORY;
  if (env !== undefined) return env === '' ? null : env;
  try {
    return join(homedir(), '.ark_cli_history');
  } catch {
    return null;
  }
}

const HISTORY_MAX = 1000;

function loadHistory(file: string | null): string[] {
  if (!file) return [];
  try {
    // the file is oldest first; readline wants the newest first
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-HISTORY_MAX)
      .reverse();
  } catch {
    return [];
  }
}

async function interactive(shell: Shell, a: CliArgs): Promise<number> {
  process.stdout.write(`Connecting to ${a.server}\n`);
  shell.connect();
  process.stdout.write('Welcome to Ark! (zkCli.sh commands; "help" lists them, Tab completes commands and paths, "quit" leaves)\n');
  const file = historyFile();
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history: loadHistory(file),
    historySize: HISTORY_MAX,
    removeHistoryDuplicates: false,
    completer: (line: string, cb: (err: null, result: [string[], string]) => void) => {
      shell.complete(line).then(
        (r) => cb(null, r),
        () => cb(null, [[], line]),
      );
    },
  });
  let busy = false;
  let ended = false;
  rl.on('close', () => {
    ended = true;
  });
  shell.asyncOutput = (print) => {
    if (busy) {
      print();
      return;
    }
    // clear the prompt line, print, then draw the prompt again with what was typed so far
    process.stdout.write('\r\x1b[K');
    print();
    rl.setPrompt(shell.prompt());
    rl.prompt(true);
  };
  rl.on('SIGINT', () => {
    if (busy) {
      // a command is waiting (on a server that is gone, say): Ctrl-C ends the shell, as zkCli's
      process.stdout.write('\n');
      process.exit(130);
    }
    if (rl.line.length > 0) {
      rl.write(null, { ctrl: true, name: 'u' });
      return;
    }
    process.stdout.write('\n');
    rl.close();
  });
  rl.setPrompt(shell.prompt());
  rl.prompt();
  for await (const line of rl) {
    busy = true;
    saveHistory(file, line);
    await shell.executeLine(line);
    busy = false;
    // Ctrl-D while the command ran closed the terminal's input: done
    if (shell.quit || ended) break;
    rl.setPrompt(shell.prompt());
    rl.prompt();
  }
  rl.close();
  await shell.close({ quiet: true });
  trimHistory(file);
  return shell.exitCode;
}

/**
 * Appends a line to the history file, readable by its owner only; `addauth` lines stay out of it
 * (they carry passwords) and only in the session's memory.
 */
function saveHistory(file: string | null, line: string): void {
  if (!file || line.trim() === '' || /^\s*addauth\b/.test(line)) return;
  try {
    appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    /* a history file we cannot write is no reason to stop */
  }
}

function trimHistory(file: string | null): void {
  if (!file) return;
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    if (lines.length > HISTORY_MAX) writeFileSync(file, `${lines.slice(-HISTORY_MAX).join('\n')}\n`);
  } catch {
    /* none yet */
  }
}
