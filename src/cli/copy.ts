// `ark copy`: argument parsing and printing; the work is in src/backup/copy.ts.
// Exit codes: 0 the destination holds the source's nodes (ephemerals and /zookeeper skipped on
// purpose); 1 conflicts, refused writes or unreadable source nodes, or a service that cannot be
// reached or is lost; 2 usage (bad option, bad connect string, overlapping paths on one service).
// Errors are one line on stderr.
import { Option, type Command } from 'commander';
import { CopyError, SKIP_REASONS, copyTree, type CopyOptions, type CopyReport, type NodeAction, type SkipReason } from '../backup/copy.js';
import { ProgressReporter } from './progress.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const HELP_AFTER = `
Connect strings: host:port[,host:port...][/path], IPv6 in brackets ([::1]:2181), port 2181 by
default. The hosts are tried in random order; a copy that cannot reach any of them stops. A
connection lost during the copy is made again (to any of the hosts) and the copy goes on, unless
the session expires first (no connection for a whole session timeout, 30 s): then it stops. The
source path is the subtree copied (default /); the destination path is where it lands (missing
parents are created). Example:
  ark copy --from zk1:2181,zk2:2181/app --to 127.0.0.1:2181/app --auth digest:admin:secret

This is a LOGICAL copy made through the client protocol, for when the data files cannot be
reached. Each node's data, ACL and name are copied; what a client cannot see or set is NOT kept:
  - zxids: czxid, mzxid, pzxid (the copy gets the destination's own)
  - times: ctime, mtime (the time of the copy)
  - versions: dataVersion, cversion, aversion are the copy's own (new nodes start at 0). So the
    sequence counter of a parent of sequential nodes is NOT carried over: new sequential children
    in the copy are numbered from the copy's own cversion (after a fresh copy, the number of
    children copied), and may collide with names copied from the source
  - ephemeral owners and sessions: ephemerals are skipped (--include-ephemerals copies them as
    persistent nodes)
  - container and TTL types: a client sees them exactly as persistent nodes (ephemeralOwner 0),
    so they become plain persistent nodes
  - consistency: it is not a snapshot; each node is read at its own moment, so writes made
    during the copy may or may not be included
/zookeeper (the server's own subtree) is skipped unless the source path is inside it.
An existing destination node with other data or ACL is a conflict left alone (exit 1) unless
--overwrite. A source node the copier may not read, or whose digest ACL ids the source hides
(shown as user:x to a client without ADMIN on the node), is reported and skipped with its
subtree: pass --auth digest:user:password (added on both connections).

\`ark backup\` keeps all of it (every Stat field, zxids, sessions, container and TTL nodes) in
one consistent snapshot of an Ark server; for Apache ZooKeeper data files there is
\`ark migrate from-zookeeper\`.

Exit codes: 0 copied, 1 conflicts / failures / unreadable nodes / cannot connect, 2 usage error.`;

type Opts = Pick<CopyOptions, 'from' | 'to' | 'auth' | 'overwrite' | 'dryRun' | 'includeEphemerals'> & {
  excludeEphemerals?: boolean;
  json?: boolean;
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function bytes(n: number): string {
  if (n < 10_000) return `${n} bytes`;
  if (n < 10_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

function where(a: NodeAction): string {
  if (a.path === '') return a.target;
  return a.path === a.target ? a.target : `${a.target} (from ${a.path})`;
}

const SHOW_MAX = 50;

function printReport(r: CopyReport): void {
  const out: string[] = [];
  const would = r.dryRun;
  const byKind = (k: NodeAction['action']): NodeAction[] => r.nodes.filter((a) => a.action === k);
  const capped = (list: NodeAction[], line: (a: NodeAction) => string): void => {
    for (const a of list.slice(0, SHOW_MAX)) out.push(line(a));
    if (list.length > SHOW_MAX) out.push(`  ... and ${list.length - SHOW_MAX} more (--json lists them all)`);
  };
  // a dry run lists every node it would write; a real run only the notable ones
  for (const a of byKind('create')) out.push(`${would ? 'would create' : 'created'} ${where(a)}${a.detail ? `: ${a.detail}` : ''}`);
  for (const a of byKind('update')) out.push(`${would ? 'would update' : 'updated'} ${where(a)}${a.detail ? `: ${a.detail}` : ''}`);
  capped(byKind('conflict'), (a) => `conflict ${where(a)}: ${a.detail ?? ''}`);
  capped(byKind('fail'), (a) => `failed ${where(a)}: ${a.detail ?? ''}`);
  const skips = byKind('skip');
  for (const reason of Object.keys(SKIP_REASONS) as SkipReason[]) {
    const list = skips.filter((a) => a.reason === reason);
    if (list.length === 0) continue;
    out.push(`skipped ${plural(list.length, 'node')}: ${SKIP_REASONS[reason]}`);
    capped(list, (a) => `  ${a.path}${a.detail ? ` (${a.detail})` : ''}`);
  }
  if (out.length > 0) out.push('');
  out.push(
    `${would ? 'dry run (nothing written): ' : ''}${r.source.connected}${r.source.path === '/' ? '' : r.source.path} -> ${r.destination.connected}${r.destination.path === '/' ? '' : r.destination.path}`,
  );
  out.push(`  read       ${plural(r.nodesRead, 'node')}, ${bytes(r.bytes)} of data`);
  out.push(
    `  ${would ? 'to create ' : 'created   '} ${r.created}${r.ephemeralsAsPersistent > 0 ? ` (${r.ephemeralsAsPersistent} ephemeral as persistent)` : ''}, ${bytes(r.bytesWritten)} of data`,
  );
  out.push(`  ${would ? 'to update ' : 'updated   '} ${r.updated}`);
  out.push(`  unchanged  ${r.unchanged}`);
  out.push(`  conflicts  ${r.conflicts}`);
  const reasons = Object.entries(r.skippedByReason)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  out.push(`  skipped    ${r.skipped}${reasons ? ` (${reasons})` : ''}`);
  out.push(`  failed     ${r.failed}`);
  out.push(`  time       ${r.seconds.toFixed(2)} s`);
  if (!r.ok) {
    const why: string[] = [];
    if (r.conflicts > 0) why.push(`${plural(r.conflicts, 'conflict')} (--overwrite replaces them)`);
    if (r.failed > 0) why.push(`${plural(r.failed, 'node')} refused by the destination`);
    const noAuth = r.skippedByReason['no-auth'] ?? 0;
    if (noAuth > 0) why.push(`${plural(noAuth, 'node')} not readable (pass --auth digest:user:password)`);
    const hidden = r.skippedByReason['acl-hidden'] ?? 0;
    if (hidden > 0) why.push(`${plural(hidden, 'node')} with digest ACLs hidden from the copier (pass --auth of a user with ADMIN)`);
    out.push(`${would ? 'the copy would be incomplete' : 'incomplete'}: ${why.join('; ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

export function registerCopyCommand(program: Command): void {
  const copy = program
    .command('copy')
    .description(
      'copy a subtree live between two ZooKeeper-protocol services (Ark or Apache ZooKeeper on either side) through the client protocol: data, ACLs and names, not zxids, times, versions or sessions (see below)',
    )
    .requiredOption('--from <hosts[/path]>', 'source connect string, e.g. zk1:2181,zk2:2181/app')
    .requiredOption('--to <hosts[/path]>', 'destination connect string, e.g. 127.0.0.1:2181/app')
    .option('--auth <scheme:credentials>', 'add this auth on both connections, e.g. digest:user:password (repeatable)', collect)
    .option('--overwrite', 'set the data and ACL of destination nodes that exist with other ones (default: report a conflict)')
    .option('--dry-run', 'write nothing; list what would be created and updated')
    .addOption(new Option('--exclude-ephemerals', 'skip ephemeral nodes (the default)').conflicts('includeEphemerals'))
    .addOption(new Option('--include-ephemerals', 'copy ephemeral nodes as persistent nodes').conflicts('excludeEphemerals'))
    .option('--json', 'print the report as JSON')
    .addHelpText('after', HELP_AFTER);
  // bad arguments exit 2, so that scripts can tell them from a failed copy (1)
  copy.exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE));
  copy.action(async (o: Opts) => {
    const p = new ProgressReporter('copy', { json: o.json === true });
    let code = EXIT_OK;
    try {
      const r = await copyTree({
        from: o.from,
        to: o.to,
        auth: o.auth ?? [],
        overwrite: o.overwrite === true,
        dryRun: o.dryRun === true,
        includeEphemerals: o.includeEphemerals === true,
        onProgress: p.stage(o.dryRun ? 'reading' : 'copying'),
      });
      p.done();
      if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else printReport(r);
      code = r.ok ? EXIT_OK : EXIT_FAILED;
    } catch (e) {
      p.close();
      const msg = ((e as Error).message ?? String(e)).replace(/\s*\n\s*/g, ' ');
      console.error(`ark copy: ${e instanceof CopyError ? '' : 'unexpected error: '}${msg}`);
      if (process.env.ARK_DEBUG) console.error((e as Error).stack);
      code = e instanceof CopyError && e.usage ? EXIT_USAGE : EXIT_FAILED;
    }
    process.exitCode = code;
    // a host that accepted TCP but never finished the handshake may hold a socket open
    setTimeout(() => process.exit(code), 2000).unref();
  });
}
