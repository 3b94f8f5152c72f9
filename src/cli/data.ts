// `ark data inspect | dump-log | dump-snapshot | verify` and `ark purge`: the operator tools of
// the storage engine (ZooKeeper's zkSnapShotToolkit, zkTxnLogToolkit and PurgeTxnLog). The work
// is in src/storage/inspect.ts; this file parses arguments and prints.
// Exit codes: 0 done (verify: intact), 1 a damaged file (verify: the server refuses to start on the
// dir), 2 a usage error (bad argument, missing file or directory, not an Ark file), 3 (verify) the
// server starts but some file it does not need or passes over is damaged. Errors are one line on
// stderr, never a stack trace.
import { basename } from 'node:path';
import type { Command } from 'commander';
import { DataDirError } from '../storage/filelog.js';
import { ProgressReporter } from './progress.js';
import {
  DataToolError,
  dumpLog,
  dumpSnapshot,
  inspectDataDir,
  isoTime,
  ownerKind,
  purgeDataDir,
  truncateLog,
  verifyDataDir,
  type DataDirReport,
  type NodeDump,
  type PurgeResult,
  type ShownData,
  type SnapshotDump,
  type TruncateResult,
  type TxnBodyDump,
  type TxnDump,
  type VerifyResult,
} from '../storage/inspect.js';

const EXIT_OK = 0;
const EXIT_DAMAGED = 1;
const EXIT_USAGE = 2;
const EXIT_DAMAGED_NOT_NEEDED = 3;

/** Buffered stdout: large dumps go out in ~1 MiB writes, not one giant string. */
class Out {
  private parts: string[] = [];
  private size = 0;
  line(s = ''): void {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    process.stdout.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

function run(name: string, fn: (out: Out) => number): void {
  const out = new Out();
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    // the reader went away (e.g. `| head`): stop quietly
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  try {
    const code = fn(out);
    out.flush();
    process.exitCode = code;
  } catch (e) {
    out.flush();
    if (e instanceof DataToolError || e instanceof DataDirError) {
      // DataDirError: a dir another process holds (the lock), or that cannot be created
      console.error(`ark ${name}: ${e.message}`);
      process.exitCode = e instanceof DataToolError && e.usage ? EXIT_USAGE : EXIT_DAMAGED;
      return;
    }
    const err = e as NodeJS.ErrnoException;
    console.error(`ark ${name}: ${err.path ? '' : 'unexpected error: '}${err.message}`);
    if (process.env.ARK_DEBUG) console.error(err.stack);
    process.exitCode = EXIT_DAMAGED;
  }
}

const json = (v: unknown): string => JSON.stringify(v, null, 2);

function fmtData(d: ShownData, max = 200): string {
  if (d.data === null) return 'null';
  if (d.dataEncoding === 'base64') {
    return d.data.length > max ? `base64:${d.data.slice(0, max)}... (${Math.floor((d.data.length * 3) / 4)} bytes)` : `base64:${d.data}`;
  }
  return d.data.length > max ? `${JSON.stringify(d.data.slice(0, max))}... (${Buffer.byteLength(d.data)} bytes)` : JSON.stringify(d.data);
}

function bodyDetails(b: TxnBodyDump): string {
  const parts: string[] = [];
  if (b.path !== undefined) parts.push(b.path);
  if (b.data !== undefined) parts.push(`data=${fmtData({ data: b.data, dataEncoding: b.dataEncoding ?? null })}`);
  if (b.acl !== undefined) parts.push(`acl=${b.acl.join(',')}`);
  if (b.ephemeral) parts.push('ephemeral');
  if (b.ttlMs !== undefined) parts.push(`ttl=${b.ttlMs}ms`);
  if (b.parentCVersion !== undefined) parts.push(`parentCVersion=${b.parentCVersion}`);
  if (b.version !== undefined) parts.push(`version=${b.version}`);
  if (b.ops !== undefined) parts.push(`[${b.ops.map((o) => `${o.type} ${bodyDetails(o)}`.trimEnd()).join('; ')}]`);
  if (b.err !== undefined) parts.push(`${b.err} (${b.errCode})`);
  if (b.timeoutMs !== undefined) parts.push(`timeout=${b.timeoutMs}ms`);
  if (b.paths2Delete !== undefined && b.paths2Delete.length > 0) parts.push(`deletes=${b.paths2Delete.join(',')}`);
  return parts.join(' ');
}

export function txnLine(t: TxnDump): string {
  return `${t.zxid} ${t.time} session ${t.sessionId} cxid ${t.cxid} ${t.type} ${bodyDetails(t)}`.trimEnd();
}

/** Left-aligned columns. */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

function printInspect(out: Out, r: DataDirReport): void {
  out.line(`data dir  ${r.snapDir}`);
  if (r.logDir !== r.snapDir) out.line(`log dir   ${r.logDir}`);
  out.line();
  out.line(`snapshots (${r.snapshots.length})`);
  if (r.snapshots.length > 0) {
    const rows = [['FILE', 'ZXID', 'BYTES', 'GZIP', 'NODES', 'SESSIONS', 'DIGEST', 'TIME', 'STATUS']];
    for (const s of r.snapshots) {
      rows.push([
        basename(s.file),
        s.zxid,
        String(s.bytes),
        s.compressed ? 'yes' : 'no',
        s.nodes === null ? '-' : String(s.nodes),
        s.sessions === null ? '-' : String(s.sessions),
        s.digest ?? '-',
        s.time ?? '-',
        s.valid ? 'ok' : `DAMAGED: ${s.error}`,
      ]);
    }
    for (const l of table(rows)) out.line(l);
  }
  out.line();
  out.line(`log segments (${r.segments.length})`);
  if (r.segments.length > 0) {
    const rows = [['FILE', 'FIRST', 'LAST', 'TXNS', 'BYTES', 'USED', 'STATUS']];
    for (const g of r.segments) {
      const status =
        g.error !== null
          ? `DAMAGED${g.errorOffset === null ? '' : ` at offset ${g.errorOffset}`}: ${g.error}`
          : g.tornTail
            ? `torn tail at offset ${g.usedBytes}`
            : 'ok';
      rows.push([basename(g.file), g.firstZxid, g.lastZxid ?? '-', String(g.txns), String(g.bytes), String(g.usedBytes), status]);
    }
    for (const l of table(rows)) out.line(l);
  }
  if (r.otherFiles.length > 0) {
    out.line();
    out.line(`other files (${r.otherFiles.length})`);
    for (const f of r.otherFiles) out.line(`  ${f}`);
  }
  out.line();
  out.line(`zxids     ${r.zxidRange.first === null ? 'none' : `${r.zxidRange.first} .. ${r.zxidRange.last}`}`);
  const rec = r.recovery;
  const start = rec.snapshot ? `load ${basename(rec.snapshot)} (zxid ${rec.snapshotZxid})` : 'start from an empty tree';
  const segs = rec.segments.length > 0 ? ` from ${rec.segments.map((f) => basename(f)).join(', ')}` : '';
  out.line(`recovery  ${start}, replay ${rec.txns} txn${rec.txns === 1 ? '' : 's'}${segs}; resume after zxid ${rec.lastZxid ?? '0x0'}`);
  if (rec.skipped.length > 0) out.line(`          passing over damaged ${rec.skipped.map((f) => basename(f)).join(', ')}`);
  if (rec.truncateAt)
    out.line(
      `          cutting a torn record off ${basename(rec.truncateAt.file)} at offset ${rec.truncateAt.offset} (${rec.truncateAt.why})`,
    );
  if (rec.error) out.line(`          WOULD FAIL: ${rec.error}`);
  if (r.problems.length > 0 || r.warnings.length > 0) out.line();
  for (const p of r.problems) out.line(`problem: ${p}`);
  for (const w of r.warnings) out.line(`warning: ${w}`);
}

function printSnapshotNode(out: Out, n: NodeDump): void {
  const pad = '  '.repeat(n.depth);
  const s = n.stat;
  const kind = ownerKind(s.ephemeralOwner);
  out.line(`${pad}${n.path}`);
  out.line(`${pad}  data ${fmtData(n)}  acl ${n.acl.join(',')}`);
  out.line(`${pad}  czxid ${s.czxid}  mzxid ${s.mzxid}  pzxid ${s.pzxid}  ctime ${isoTime(s.ctime)}  mtime ${isoTime(s.mtime)}`);
  out.line(
    `${pad}  version ${s.version}  cversion ${s.cversion}  aversion ${s.aversion}  ephemeralOwner ${s.ephemeralOwner}${kind ? ` (${kind})` : ''}` +
      `  dataLength ${s.dataLength}  numChildren ${s.numChildren}`,
  );
}

function parseKeep(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new DataToolError(`--keep ${v}: not a number of snapshots (a whole number, at least 1)`, true);
  const n = Number(v.trim());
  if (n < 1) throw new DataToolError("--keep 0: purge must keep at least 1 snapshot (ZooKeeper's PurgeTxnLog asks for 3 or more)", true);
  return n;
}

interface DirOpts {
  dataDir: string;
  logDir?: string;
  json?: boolean;
}

/** bad arguments exit 2, so that scripts can tell them from a damaged data dir (1) */
function exitUsageOnBadArguments(cmd: Command): void {
  cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE));
}

export function registerDataCommands(program: Command): void {
  const data = program
    .command('data')
    .description(
      "inspect, dump and verify an Ark data dir (snapshots and txn log segments), read-only; truncate-log accepts a damaged log's loss",
    );
  exitUsageOnBadArguments(data);
  inspectCommand(data);
  dumpLogCommand(data);
  dumpSnapshotCommand(data);
  verifyCommand(data);
  truncateLogCommand(data);
  purgeCommand(program);
}

function inspectCommand(data: Command): void {
  data
    .command('inspect')
    .description('list snapshots and log segments with their zxids and sizes, and what recovery would use')
    .requiredOption('--data-dir <dir>', 'the dataDir of zoo.cfg (holding ark-v1/)')
    .option('--log-dir <dir>', 'the dataLogDir of zoo.cfg, when it differs from dataDir')
    .option('--json', 'print JSON')
    .action((o: DirOpts) =>
      run('data inspect', (out) => {
        const r = inspectDataDir(o.dataDir, o.logDir);
        if (o.json) out.line(json(r));
        else printInspect(out, r);
        return EXIT_OK;
      }),
    );
}

function dumpLogCommand(data: Command): void {
  data
    .command('dump-log')
    .description('print every txn of a log segment (ark-v1/log.*)')
    .argument('<file>', 'a log segment')
    .option('--json', 'print a JSON array')
    .action((file: string, o: { json?: boolean }) => run('data dump-log', (out) => printLog(out, file, o.json === true)));
}

/** Every txn on stdout; a torn tail and damage on stderr, after them (damage exits 1). */
function printLog(out: Out, file: string, asJson: boolean): number {
  const d = dumpLog(file);
  if (asJson) out.line(json(d.records));
  else for (const t of d.records) out.line(txnLine(t));
  out.flush();
  if (d.tornTailAt !== null && d.bytes > 0)
    console.error(
      `ark data dump-log: ${file}: ends in a partial record at offset ${d.tornTailAt} (a crash mid-write; the server cuts it off on start)`,
    );
  if (!d.damage) return EXIT_OK;
  const txns = (n: number): string => `${n} txn${n === 1 ? '' : 's'}`;
  const shown = d.resumedAt
    ? `listed: the ${txns(d.resumedAt.index)} before it and the ${txns(d.records.length - d.resumedAt.index)} from offset ${d.resumedAt.offset} on`
    : `listed: the ${txns(d.records.length)} before it`;
  console.error(`ark data dump-log: ${file}: ${d.damage.offset === null ? '' : `offset ${d.damage.offset}: `}${d.damage.what}; ${shown}`);
  return EXIT_DAMAGED;
}

function dumpSnapshotCommand(data: Command): void {
  data
    .command('dump-snapshot')
    .description('print the header and every znode (data, ACL, stat with the stored cversion) of a snapshot (ark-v1/snapshot.*)')
    .argument('<file>', 'a snapshot')
    .option('--json', 'print JSON')
    .action((file: string, o: { json?: boolean }) =>
      run('data dump-snapshot', (out) => {
        const d = dumpSnapshot(file);
        if (o.json) out.line(json(d));
        else printSnapshot(out, d);
        return EXIT_OK;
      }),
    );
}

function printSnapshot(out: Out, d: SnapshotDump): void {
  out.line(`snapshot  ${d.file}`);
  out.line(`zxid ${d.zxid}  time ${d.time}  nodes ${d.nodeCount}  digest ${d.digest}  bytes ${d.bytes}${d.compressed ? '  gzip' : ''}`);
  out.line(`sessions (${d.sessions.length})`);
  for (const s of d.sessions) out.line(`  ${s.id} timeout ${s.timeoutMs}ms`);
  out.line('nodes (cversion is the stored count of child creates; clients see 2 x cversion - numChildren)');
  for (const n of d.nodes) printSnapshotNode(out, n);
}

function verifyCommand(data: Command): void {
  data
    .command('verify')
    .description(
      'check every snapshot and log segment by the rules start-up applies; exit 0 intact, 1 the server refuses to start, 3 it starts but a file it does not need is damaged, 2 usage error',
    )
    .requiredOption('--data-dir <dir>', 'the dataDir of zoo.cfg (holding ark-v1/)')
    .option('--log-dir <dir>', 'the dataLogDir of zoo.cfg, when it differs from dataDir')
    .option('--json', 'print JSON')
    .action((o: DirOpts) =>
      run('data verify', (out) => {
        const r = verifyDataDir(o.dataDir, o.logDir);
        if (o.json) out.line(json(r));
        else printVerify(out, r);
        return r.startup === 'refuses' ? EXIT_DAMAGED : r.ok ? EXIT_OK : EXIT_DAMAGED_NOT_NEEDED;
      }),
    );
}

function printVerify(out: Out, r: VerifyResult): void {
  for (const p of r.problems) out.line(`problem: ${p}`);
  for (const w of r.warnings) out.line(`warning: ${w}`);
  const what = `${r.checked.snapshots} snapshot${r.checked.snapshots === 1 ? '' : 's'}, ${r.checked.segments} log segment${r.checked.segments === 1 ? '' : 's'}`;
  const warned = r.warnings.length > 0 ? ` (${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'})` : '';
  const problems = `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} in ${what}${warned}`;
  out.line(
    r.startup === 'refuses'
      ? `DAMAGED: the server refuses to start on this dir; ${problems}`
      : r.ok
        ? `intact: ${what} checked${warned}`
        : `DAMAGED, but the server starts (recovery does not need the damaged files): ${problems}`,
  );
}

function truncateLogCommand(data: Command): void {
  data
    .command('truncate-log')
    .description(
      'accept losing every txn from a damaged log record on: cut the segment there (keeping a copy) and move later segments aside; only where start-up refuses over that record',
    )
    .requiredOption('--data-dir <dir>', 'the dataDir of zoo.cfg (holding ark-v1/)')
    .option('--log-dir <dir>', 'the dataLogDir of zoo.cfg, when it differs from dataDir')
    .requiredOption('--at <file:offset>', "the segment and offset, as `ark data verify` and the server's refusal name them")
    .option('--json', 'print JSON')
    .action((o: DirOpts & { at: string }) =>
      run('data truncate-log', (out) => {
        const r = truncateLog(o.dataDir, o.logDir, o.at);
        if (o.json) out.line(json(r));
        else printTruncated(out, r);
        return r.startup === 'starts' ? EXIT_OK : EXIT_DAMAGED;
      }),
    );
}

function printTruncated(out: Out, r: TruncateResult): void {
  out.line(
    `cut ${r.file} at offset ${r.offset} (the whole file as it was: ${r.copy}); the log now ends at zxid ${r.lastKeptZxid ?? '(none left in it)'}`,
  );
  for (const f of r.movedAside) out.line(`moved aside ${f}`);
  for (const p of r.problems) out.line(`problem: ${p}`);
  out.line(
    r.startup === 'starts' ? 'the server starts on this dir now' : 'the server still refuses to start on this dir: see the problems above',
  );
}

function purgeCommand(program: Command): void {
  const purge = program
    .command('purge')
    .description("delete old snapshots and the log segments only they need, keeping the newest N snapshots (ZooKeeper's PurgeTxnLog)")
    .requiredOption('--data-dir <dir>', 'the dataDir of zoo.cfg (holding ark-v1/)')
    .option('--log-dir <dir>', 'the dataLogDir of zoo.cfg, when it differs from dataDir')
    .requiredOption('-n, --keep <count>', 'snapshots to keep (at least 1; 3 or more recommended)')
    .option('--json', 'print JSON: the files removed, the snapshots kept, the warnings');
  exitUsageOnBadArguments(purge);
  purge.action((o: DirOpts & { keep: string }) =>
    run('purge', (out) => {
      const progress = new ProgressReporter('purge', { json: o.json === true });
      let r: PurgeResult;
      try {
        r = purgeDataDir(o.dataDir, o.logDir, parseKeep(o.keep), progress.stage('checking the kept snapshots'));
        progress.done();
      } finally {
        progress.close();
      }
      // as verify --json: the warnings are part of the document, stderr is left to errors
      if (o.json) out.line(json(r));
      else printPurged(out, r);
      return EXIT_OK;
    }),
  );
}

function printPurged(out: Out, r: PurgeResult): void {
  for (const w of r.warnings) console.error(`ark purge: warning: ${w}`);
  for (const f of r.removed) out.line(`removed ${f}`);
  out.line(
    r.removed.length === 0
      ? `nothing to remove: ${r.keptSnapshots.length} snapshot${r.keptSnapshots.length === 1 ? '' : 's'} and only the log after ${r.keptSnapshots.length === 1 ? 'it' : 'them'}`
      : `removed ${r.removed.length} file${r.removed.length === 1 ? '' : 's'}; kept ${r.keptSnapshots.length} snapshot${r.keptSnapshots.length === 1 ? '' : 's'} and the log after ${r.keptSnapshots.length === 1 ? 'it' : 'them'}`,
  );
}
