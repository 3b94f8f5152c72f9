// `ark migrate from-zookeeper`: argument parsing and printing; the work is in src/backup/migrate.ts.
// Exit codes: 0 imported, 1 the ZooKeeper data is damaged or disagrees with its digests (or the
// write failed), 2 usage (bad arguments, missing source, a target that is not empty).
// Errors are one line on stderr naming the file and the problem.
import { basename } from 'node:path';
import type { Command } from 'commander';
import { MigrateError, migrateFromZooKeeper, type MigrateReport } from '../backup/migrate.js';
import { DataDirError } from '../storage/filelog.js';
import { ProgressReporter } from './progress.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function printReport(r: MigrateReport): void {
  const out: string[] = [];
  out.push(
    `imported Apache ZooKeeper data from ${r.source.snapDir}${r.source.logDir !== r.source.snapDir ? ` (logs ${r.source.logDir})` : ''}`,
  );
  if (r.snapshot) {
    const s = r.snapshot;
    out.push(
      `  snapshot  ${basename(s.file)}: zxid ${s.zxid}, ${plural(s.nodes, 'znode')}, ${plural(s.sessions, 'session')}${s.compression === 'gz' ? ', gzip' : ''}`,
    );
  } else {
    out.push('  snapshot  none usable: rebuilt from the txn logs alone');
  }
  for (const k of r.skippedSnapshots) out.push(`  skipped   ${basename(k.file)}: ${k.reason}`);
  if (r.logs.length === 0) out.push('  logs      none after the snapshot');
  for (const l of r.logs) {
    const range = l.firstZxid === null ? 'no txns' : `txns ${l.firstZxid}..${l.lastZxid}`;
    const notes = [`${l.replayed} replayed`];
    if (l.straddles) notes.push('starts before the snapshot');
    if (l.tornAt !== null) notes.push(`torn record at offset ${l.tornAt}`);
    out.push(`  log       ${basename(l.file)}: ${range} (${notes.join(', ')})`);
  }
  out.push(`  replayed  ${plural(r.txnsReplayed, 'txn')}; last zxid ${r.lastZxid}`);
  out.push(
    `  tree      ${plural(r.nodes, 'znode')} (${r.ephemerals} ephemeral, ${plural(r.containers, 'container')}, ${r.ttlNodes} TTL), ${plural(r.sessions, 'session')}`,
  );
  out.push(`  digest    ${r.digest.result}: ${r.digest.message}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  out.push(
    `wrote ${r.target.snapshot} (${r.target.bytes} bytes, zxid ${r.target.zxid}): start \`ark server\` with dataDir=${r.target.dataDir}`,
  );
  if (r.sessions > 0)
    out.push(`  the ${plural(r.sessions, 'session')} may reconnect within their timeout and keep their ephemerals; otherwise they expire`);
  process.stdout.write(`${out.join('\n')}\n`);
}

interface Opts {
  source: string;
  logDir?: string;
  dataDir: string;
  force?: boolean;
  json?: boolean;
}

export function registerMigrateCommands(program: Command): void {
  const migrate = program.command('migrate').description('import the data of another server into a new Ark data dir');
  // bad arguments exit 2, so that scripts can tell them from damaged data (1)
  migrate.exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE));

  migrate
    .command('from-zookeeper')
    .description(
      'import an Apache ZooKeeper 3.5-3.9 data dir (version-2/ snapshots and txn logs) with every znode, Stat, ACL, session and zxid',
    )
    .requiredOption('--source <dir>', "ZooKeeper's dataDir (holding version-2/), or its version-2/ directory")
    .option('--log-dir <dir>', "ZooKeeper's dataLogDir, when it differs from dataDir")
    .requiredOption('--data-dir <dir>', 'the new Ark data dir (must be empty)')
    .option('--force', 'replace an Ark data dir that is not empty, and import even when the digest check fails')
    .option('--json', 'print the report as JSON')
    .action(async (o: Opts) => {
      const progress = new ProgressReporter('migrate', { json: o.json === true });
      try {
        const r = await migrateFromZooKeeper({
          source: o.source,
          dataDir: o.dataDir,
          force: o.force === true,
          ...(o.logDir !== undefined ? { logDir: o.logDir } : {}),
          progress: {
            loading: progress.stage("loading ZooKeeper's snapshot"),
            replaying: progress.stage("replaying ZooKeeper's txn logs"),
            writing: progress.stage('writing the Ark snapshot'),
          },
        });
        progress.done();
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else printReport(r);
        process.exitCode = EXIT_OK;
      } catch (e) {
        progress.close();
        const err = e as NodeJS.ErrnoException;
        const msg = (err.message ?? String(e)).replace(/\s*\n\s*/g, ' ');
        console.error(
          `ark migrate from-zookeeper: ${e instanceof MigrateError || e instanceof DataDirError || err.path ? '' : 'unexpected error: '}${msg}`,
        );
        if (process.env.ARK_DEBUG) console.error(err.stack);
        process.exitCode = e instanceof MigrateError && e.usage ? EXIT_USAGE : EXIT_FAILED;
      }
    });
}
