// `ark backup diff A B`: what changed between two states of a tree. Each side is one of
//   FILE                 a backup file
//   http(s)://HOST:PORT  a running server, through its AdminServer (a consistent backup streamed
//                        by GET /commands/snapshot?streaming=true, as `ark backup create` takes it)
//   ARCHIVE@ZXID         an archive at a point in time: the state after txn ZXID (0x hex or decimal)
//   ARCHIVE@TIME         ... or as of an ISO-8601 time (as `ark restore --archive --to-zxid/--to-time`)
//   DATADIR              a stopped server's data dir, Ark's or ZooKeeper's (as `backup create --data-dir` reads it)
// Exit codes as diff(1): 0 the same, 1 different, 2 trouble.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { pointInTime, type Target } from '../backup/archive.js';
import { STAT_FIELDS, diffTrees, differs, type DiffSummary, type StatField } from '../backup/diff.js';
import { entryJson, entryLines, summaryLine } from '../backup/diff-report.js';
import { archiveWithKeys } from '../backup/crypt-store.js';
import { NO_IDENTITIES, readIdentityFiles, type Identities } from '../backup/crypt.js';
import { backupExists, readPlainBackup } from '../backup/files.js';
import { isS3Url } from '../util/s3url.js';
import { readBackup } from '../backup/format.js';
import { readOffline } from '../backup/offline.js';
import { openArchive } from '../backup/store.js';
import type { DataTree } from '../tree/datatree.js';
import { hexZxid } from '../util/zxid.js';
import { type ProgressReporter, withProgress } from './progress.js';
import { adminGet, adminTlsFlags, adminUrl, type AdminTlsFlags } from './adminhttp.js';

const SAME = 0;
const DIFFERENT = 1;
const TROUBLE = 2;

class DiffUsageError extends Error {}

type OnProgress = (p: { done: number; total: number | null; unit: string }) => void;

/** One side of the comparison, loaded. */
export interface Side {
  /** the argument as given */
  spec: string;
  kind: 'backup' | 'server' | 'archive' | 'data-dir';
  zxid: number;
  tree: DataTree;
}

/** ARCHIVE@POINT: the directory and the target, or null when `spec` is not of that form. */
export function parseArchivePoint(spec: string): { dir: string; target: Target } | null {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return null;
  const dir = spec.slice(0, at);
  const point = spec.slice(at + 1);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(point)) {
    const zxid = point.startsWith('0x') ? parseInt(point, 16) : Number(point);
    if (!Number.isSafeInteger(zxid)) throw new DiffUsageError(`${spec}: zxid ${point} is out of range`);
    return { dir, target: { zxid } };
  }
  const t = Date.parse(point);
  if (Number.isNaN(t))
    throw new DiffUsageError(`${spec}: after '@' comes a zxid (0x hex or decimal) or an ISO-8601 time (e.g. 2026-12-07T10:00:00Z)`);
  return { dir, target: { timeMs: t } };
}

/** GET a backup stream from an AdminServer, whole, as bytes. */
async function fetchBackup(admin: string, auth: string, tls: AdminTlsFlags): Promise<Buffer> {
  const url = adminUrl(admin, '/commands/snapshot?streaming=true');
  // the TLS flags are for the https:// side(s): the other side may be a plain AdminServer
  const res = await adminGet(url, auth, url.protocol === 'https:' ? tls : {});
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  const body = Buffer.concat(parts);
  if (res.statusCode !== 200) {
    let msg = body.toString('utf8').trim();
    try {
      msg = (JSON.parse(msg) as { error?: string }).error ?? msg;
    } catch {
      /* not JSON */
    }
    throw new Error(`the AdminServer at ${url.origin} answered ${res.statusCode}: ${msg}`);
  }
  return body;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Loads one side by the form of its argument (see the top of this file). */
export async function loadSide(
  spec: string,
  o: { auth: string; ids?: Identities; onProgress?: OnProgress; tls?: AdminTlsFlags },
): Promise<Side> {
  const ids = o.ids ?? NO_IDENTITIES;
  if (/^https?:\/\//i.test(spec)) {
    const b = readBackup(spec, await fetchBackup(spec, o.auth, o.tls ?? {}), o.onProgress ? { onProgress: o.onProgress } : {});
    return { spec, kind: 'server', zxid: b.snapshot.zxid, tree: b.snapshot.tree };
  }
  // an object's key may hold an '@' too: an object that exists under the whole name is a backup file
  if ((existsSync(spec) && !isDir(spec)) || (isS3Url(spec) && (!parseArchivePoint(spec) || (await backupExists(spec))))) {
    const b = readBackup(spec, await readPlainBackup(spec, ids), o.onProgress ? { onProgress: o.onProgress } : {});
    return { spec, kind: 'backup', zxid: b.snapshot.zxid, tree: b.snapshot.tree };
  }
  if (isDir(spec)) {
    if (isDir(join(spec, 'backups')) || isDir(join(spec, 'txns')))
      throw new DiffUsageError(`${spec} is an archive: say which point in time, ${spec}@ZXID or ${spec}@2026-12-07T10:00:00Z`);
    const s = readOffline({ dataDir: spec, purpose: 'ark backup diff', ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
    return { spec, kind: 'data-dir', zxid: s.zxid, tree: s.tree };
  }
  const ap = parseArchivePoint(spec);
  if (ap) {
    // a URL (an object store) is for openArchive to judge; a local path must be a directory
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(ap.dir) && !isDir(ap.dir))
      throw new DiffUsageError(`${spec}: ${ap.dir} is not an archive directory`);
    const p = await pointInTime(
      archiveWithKeys(openArchive(ap.dir), { identities: ids }),
      ap.target,
      o.onProgress ? { loading: o.onProgress } : {},
    );
    return { spec, kind: 'archive', zxid: p.zxid, tree: p.tree };
  }
  throw new DiffUsageError(
    `${spec}: no such file or directory (a side is a backup FILE, an AdminServer http://HOST:PORT, ARCHIVE@ZXID or ARCHIVE@TIME, or a stopped server's DATADIR)`,
  );
}

/** --ignore-stat a,b,c (or --data-only: all of them): the Stat fields left to compare. */
export function statFieldsFor(o: { dataOnly?: boolean; ignoreStat?: string }): StatField[] {
  if (o.dataOnly) return [];
  if (o.ignoreStat === undefined) return [...STAT_FIELDS];
  const ignore = o.ignoreStat
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const f of ignore)
    if (!(STAT_FIELDS as readonly string[]).includes(f))
      throw new DiffUsageError(`--ignore-stat ${f}: not a Stat field (one of ${STAT_FIELDS.join(', ')})`);
  return STAT_FIELDS.filter((f) => !ignore.includes(f));
}

/** Buffered writes to stdout: a million lines without a million writes. */
class Out {
  private buf: string[] = [];
  private size = 0;
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush(): void {
    if (this.buf.length === 0) return;
    process.stdout.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
}

interface DiffCliOpts extends AdminTlsFlags {
  json?: boolean;
  dataOnly?: boolean;
  ignoreStat?: string;
  path?: string;
  auth?: string;
  summary?: boolean;
  identity?: string[];
}

function sideJson(s: Side): Record<string, unknown> {
  return { source: s.spec, kind: s.kind, zxid: hexZxid(s.zxid), znodes: s.tree.nodes.size };
}

async function runDiff(specA: string, specB: string, o: DiffCliOpts, progress?: ProgressReporter): Promise<number> {
  const statFields = statFieldsFor(o);
  if (o.path !== undefined && (!o.path.startsWith('/') || (o.path.length > 1 && o.path.endsWith('/'))))
    throw new DiffUsageError(`--path ${o.path}: a znode path starts with '/' and does not end with one`);
  const auth = o.auth ?? process.env.ARK_ADMIN_AUTH ?? 'super:';
  const load = { auth, ids: readIdentityFiles(o.identity ?? []), tls: o };
  // one stage a side, then the comparison (src/cli/progress.ts: stderr only, nothing with --json)
  const a = await loadSide(specA, { ...load, ...(progress ? { onProgress: progress.stage('loading A') } : {}) });
  const b = await loadSide(specB, { ...load, ...(progress ? { onProgress: progress.stage('loading B') } : {}) });
  const onProgress = progress?.stage('comparing');
  if (o.path !== undefined && !a.tree.get(o.path) && !b.tree.get(o.path)) throw new Error(`--path ${o.path}: no such znode in A or in B`);
  const out = new Out();
  let first = true;
  if (o.json) out.write(`{"a":${JSON.stringify(sideJson(a))},"b":${JSON.stringify(sideJson(b))}${o.summary ? '' : ',"changes":['}`);
  else if (!o.summary) {
    out.write(`--- A ${a.spec} (${a.kind}, zxid ${hexZxid(a.zxid)})\n`);
    out.write(`+++ B ${b.spec} (${b.kind}, zxid ${hexZxid(b.zxid)})\n`);
  }
  const summary: DiffSummary = diffTrees(
    a.tree,
    b.tree,
    (e) => {
      if (o.summary) return;
      if (o.json) {
        out.write(`${first ? '' : ','}\n${JSON.stringify(entryJson(e))}`);
        first = false;
      } else for (const l of entryLines(e)) out.write(`${l}\n`);
    },
    { statFields, ...(o.path !== undefined ? { path: o.path } : {}), ...(onProgress ? { onProgress } : {}) },
  );
  const same = !differs(summary);
  if (o.json) out.write(`${o.summary ? '' : '\n]'},"summary":${JSON.stringify(summary)},"same":${same}}\n`);
  else out.write(`${same ? 'the same: ' : ''}${summaryLine(summary)}\n`);
  progress?.done();
  out.flush();
  return same ? SAME : DIFFERENT;
}

export function backupDiffCommand(backup: Command): void {
  adminTlsFlags(backup.command('diff'))
    .description(
      'compare two states of a tree: paths added, removed and changed, with data, ACL and Stat differences; exit 0 the same, 1 different, 2 trouble',
    )
    .argument('<a>', 'a backup FILE, an AdminServer URL http(s)://HOST:PORT, ARCHIVE@ZXID or ARCHIVE@TIME, or a stopped DATADIR')
    .argument('<b>', 'the same kinds')
    .option('--json', 'one JSON document: the sides, every change with both values, the counts')
    .option('--data-only', 'compare data and ACLs only, not Stat fields')
    .option('--ignore-stat <fields>', `Stat fields not to compare, comma-separated (${STAT_FIELDS.join(', ')})`)
    .option('--path <path>', 'compare only this znode and its descendants')
    .option('--summary', 'print only the counts')
    .option('--auth <user:password>', 'AdminServer credentials for a URL side (digest; default $ARK_ADMIN_AUTH or "super:")')
    .option(
      '--identity <file>',
      'an age identity file to decrypt an encrypted backup or archive with (repeatable, as age -i)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    // a wrong argument is trouble (2), never "different" (1), which scripts act on
    .exitOverride((err) => process.exit(err.exitCode === 0 ? SAME : TROUBLE))
    .action(async (a: string, b: string, o: DiffCliOpts) => {
      try {
        process.exitCode = await withProgress('backup diff', o.json, (p) => runDiff(a, b, o, p));
      } catch (e) {
        console.error(`ark backup diff: ${(e as Error).message}`);
        if (process.env.ARK_DEBUG) console.error((e as Error).stack);
        process.exitCode = TROUBLE;
      }
    });
}
