// `ark backup create | verify | inspect | list` and `ark restore`: argument parsing and printing;
// the work is in src/backup. Exit codes: 0 done (verify: intact), 1 damaged or failed, 2 usage.
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { fsyncPath } from '../storage/filelog.js';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import {
  BACKUP_TRAILER_BYTES,
  BackupCorruptError,
  BackupNodeCounter,
  readBackup,
  writeBackup,
  type LoadedBackup,
} from '../backup/format.js';
import {
  gaps,
  linkPath,
  listBackupFiles,
  listLinks,
  mergedRanges,
  pointInTime,
  readArchiveView,
  readBackupMeta,
  readStatus,
  restoreRanges,
  type BackupFile,
  type StoredLink,
} from '../backup/archive.js';
import { buildChain, runsOf } from '../backup/chain.js';
import { readChunk } from '../backup/chunk.js';
import { openArchive, type ArchiveStore } from '../backup/store.js';
import { archiveWithKeys } from '../backup/crypt-store.js';
import { KeyError, encrypt, loadRecipients, readIdentityFiles, type Identities } from '../backup/crypt.js';
import { backupExists, NoSuchBackupError, readPlainBackup, s3File, uploadBackup } from '../backup/files.js';
import { isS3Url, LocationError, parseS3File } from '../util/s3url.js';
import { RestoreError, restoreInto, type RestoreResult } from '../backup/restore.js';
import { subtreeTree } from '../backup/subtree.js';
import type { SessionRecord } from '../storage/snapshot.js';
import type { DataTree } from '../tree/datatree.js';
import { epochOf, hexZxid as hex } from '../util/zxid.js';
import type { OnProgress } from '../util/progress.js';
import { type ProgressReporter, withProgress } from './progress.js';
import { OfflineError } from '../backup/offline.js';
import { backupDiffCommand } from './backup-diff.js';
import { AdminRequestError, adminGet, adminRequest, adminTlsFlags, adminUrl, type AdminTlsFlags } from './adminhttp.js';
import { createOfflineBackup, printOfflineCreated } from './backup-offline.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Runs an AdminServer request step; its AdminRequestError becomes the CLI's error (usage: exit 2, else 1). */
function adminCall<T>(f: () => T): T {
  const cli = (e: unknown): unknown => (e instanceof AdminRequestError ? new CliError(e.message, e.usage ? EXIT_USAGE : EXIT_FAILED) : e);
  try {
    const r = f();
    return (r instanceof Promise ? r.catch((e: unknown) => Promise.reject(cli(e))) : r) as T;
  } catch (e) {
    throw cli(e);
  }
}

async function run(name: string, f: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await f();
  } catch (e) {
    // a missing or wrong --identity is the caller's to fix, as a wrong flag is
    const usage =
      e instanceof CliError
        ? e.exitCode === EXIT_USAGE
        : e instanceof RestoreError || e instanceof OfflineError
          ? e.usage
          : e instanceof KeyError;
    console.error(`ark ${name}: ${(e as Error).message}`);
    if (process.env.ARK_DEBUG) console.error((e as Error).stack);
    process.exitCode = e instanceof CliError ? e.exitCode : usage ? EXIT_USAGE : EXIT_FAILED;
  }
}

/** Collects a repeatable option's values (--recipient, --identity: as age's -r and -i). */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The identities of --identity FILE ... (none: only plain backups can be read). */
function identities(files: readonly string[] | undefined): Identities {
  return readIdentityFiles(files ?? []);
}

/** A backup file's plain bytes (decrypted when it is age-encrypted: crypt.ts); `onProgress`: encrypted bytes read. */
async function plainBackupBytes(file: string, ids: Identities, onProgress?: OnProgress): Promise<Buffer> {
  try {
    return await readPlainBackup(file, ids, onProgress);
  } catch (e) {
    if (e instanceof NoSuchBackupError || e instanceof LocationError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

/**
 * Reads and checks a backup (every checksum and the tree digest, after decryption when encrypted).
 * With a reporter: "decrypting" (an encrypted file, in bytes), then `label` (znodes rebuilt).
 */
async function loadBackup(file: string, ids: Identities, progress?: ProgressReporter, label = 'checking'): Promise<LoadedBackup> {
  const raw = await plainBackupBytes(file, ids, progress?.stage('decrypting'));
  return readBackup(file, raw, progress ? { onProgress: progress.stage(label) } : {});
}

/** An upload goes out in slices of this size, each counted as it is handed to the socket. */
const UPLOAD_SLICE_BYTES = 256 * 1024;

function* slices(buf: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

/** Counts the bytes passing through for a progress callback (of `total` bytes, when known). */
class CountBytes extends Transform {
  private bytes = 0;
  constructor(
    private readonly onProgress: OnProgress,
    private readonly total: number | null,
  ) {
    super();
    onProgress({ done: 0, total, unit: 'bytes' });
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onProgress({ done: this.bytes, total: this.total, unit: 'bytes' });
    cb(null, chunk);
  }
}

/**
 * Counts the znodes of a backup streaming through (of `total`, the AdminServer's node_count): the
 * bytes pass on unchanged and are also inflated here, only to count node records.
 */
class CountZnodes extends Transform {
  private readonly gunzip = createGunzip();
  private readonly counter = new BackupNodeCounter();
  constructor(onProgress: OnProgress, total: number) {
    super();
    onProgress({ done: 0, total, unit: 'znodes' });
    this.gunzip.on('data', (c: Buffer) => {
      this.counter.feed(c);
      onProgress({ done: this.counter.nodes, total, unit: 'znodes' });
    });
    // damaged bytes stop the count; the check after the download says what is wrong
    this.gunzip.on('error', () => undefined);
  }
  /** the last bytes seen, held back: the file's trailer ("ARKC" + crc) is not gzip data */
  private tail = Buffer.alloc(0);
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    const all = Buffer.concat([this.tail, chunk]);
    const cut = Math.max(0, all.length - BACKUP_TRAILER_BYTES);
    if (cut > 0) this.gunzip.write(all.subarray(0, cut));
    this.tail = all.subarray(cut);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    // the last counts are in before the stage ends
    let called = false;
    const done = (): void => {
      if (!called) cb();
      called = true;
    };
    this.gunzip.once('end', done);
    this.gunzip.once('error', done);
    this.gunzip.end();
  }
}

interface CreateOpts extends AdminTlsFlags {
  admin: string;
  out: string;
  auth?: string;
  json?: boolean;
  force?: boolean;
  recipient: string[];
  recipientsFile: string[];
}

/** --recipient and --recipients-file: the public keys the backup is encrypted to (none: in clear). */
function createRecipients(opts: Pick<CreateOpts, 'recipient' | 'recipientsFile'>): string[] {
  try {
    return loadRecipients(opts.recipient, opts.recipientsFile);
  } catch (e) {
    throw new CliError(`${(e as Error).message} (--recipient takes an age public key, --recipients-file a file of them)`, EXIT_USAGE);
  }
}

/**
 * Keeps what passes (the plain backup) for the check after the write: the file on disk may be
 * encrypted to keys this process does not hold. As much memory as reading the file back would take.
 */
class Keep extends Transform {
  readonly parts: Buffer[] = [];
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.parts.push(chunk);
    cb(null, chunk);
  }
}

async function createBackup(opts: CreateOpts, progress: ProgressReporter): Promise<number> {
  const recipients = createRecipients(opts);
  const url = adminCall(() => adminUrl(opts.admin, '/commands/snapshot?streaming=true'));
  const toS3 = isS3Url(opts.out);
  if (toS3) checkLocation(() => parseS3File(opts.out));
  if (!opts.force && (toS3 ? await backupExists(opts.out) : existsSync(opts.out)))
    throw new CliError(`${opts.out} exists; choose another --out or pass --force`, EXIT_USAGE);
  const auth = opts.auth ?? process.env.ARK_ADMIN_AUTH ?? 'super:';
  const t0 = Date.now();
  const tmp = `${opts.out}.partial`;
  const res = await adminCall(() => adminGet(url, auth, opts));
  if (res.statusCode !== 200) {
    let body = '';
    for await (const c of res) body += String(c);
    let msg = body.trim();
    try {
      msg = (JSON.parse(body) as { error?: string }).error ?? msg;
    } catch {
      /* not JSON */
    }
    throw new CliError(`the AdminServer at ${url.origin} answered ${res.statusCode}: ${msg}`, EXIT_FAILED);
  }
  const zxid = String(res.headers.last_zxid ?? '?');
  // the size is not known before the end (compressed as it is captured), the znode count is
  const nodes = Number(res.headers.node_count);
  const counting =
    res.headers.node_count !== undefined && Number.isSafeInteger(nodes) && nodes >= 0
      ? new CountZnodes(progress.stage('receiving'), nodes)
      : new CountBytes(progress.stage('receiving'), null);
  if (toS3) return uploadFromAdmin(res, counting, url, zxid, { ...opts, recipients }, t0, progress);
  try {
    const keep = new Keep();
    if (recipients.length === 0) await pipeline(res, counting, createWriteStream(tmp));
    else await pipeline(res, counting, keep, (plain: AsyncIterable<Buffer>) => encrypt(plain, recipients), createWriteStream(tmp));
    // check what arrived before calling it a backup
    const checking = { onProgress: progress.stage('checking') };
    const b = recipients.length === 0 ? readBackup(tmp, readFileSync(tmp), checking) : readBackup(tmp, Buffer.concat(keep.parts), checking);
    progress.done();
    fsyncPath(tmp);
    renameSync(tmp, opts.out);
    const result = {
      file: opts.out,
      encrypted: recipients.length > 0,
      zxid: b.meta.zxid,
      time: b.meta.time,
      nodes: b.snapshot.nodeCount,
      sessions: b.snapshot.sessions.length,
      bytes: statSync(opts.out).size, // the file as written (encrypted: a little more than the plain backup)
      seconds: (Date.now() - t0) / 1000,
    };
    if (opts.json) console.log(JSON.stringify(result));
    else
      console.log(
        `backup ${opts.out}: zxid ${result.zxid}, ${result.nodes} znodes, ${result.sessions} sessions, ${(result.bytes / 1e6).toFixed(2)} MB in ${result.seconds.toFixed(2)} s` +
          (result.encrypted ? ` (encrypted to ${recipients.length} recipient${recipients.length > 1 ? 's' : ''})` : ''),
      );
    return EXIT_OK;
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof BackupCorruptError)
      throw new CliError(`the stream from ${url.origin} (zxid ${zxid}) did not arrive whole: ${e.message}`, EXIT_FAILED);
    throw e;
  }
}

/**
 * `backup create --out s3://...`: the stream goes up in parts as it arrives (memory stays at two
 * parts) and the object is named only once the whole stream arrived with its checksum
 * (files.ts). The tree digest is checked by `ark backup verify URL`, which reads it whole.
 */
async function uploadFromAdmin(
  res: import('node:http').IncomingMessage,
  counting: Transform,
  url: URL,
  zxid: string,
  opts: { out: string; json?: boolean; force?: boolean; recipients: string[] },
  t0: number,
  progress: ProgressReporter,
): Promise<number> {
  pipeline(res, counting).catch((e: unknown) => counting.destroy(e as Error));
  let created: boolean;
  try {
    created = await uploadBackup(opts.out, counting, opts.force === true, { recipients: opts.recipients });
    progress.done();
  } catch (e) {
    if (e instanceof BackupCorruptError)
      throw new CliError(`the stream from ${url.origin} (zxid ${zxid}) did not arrive whole: ${e.message}`, EXIT_FAILED);
    throw e;
  }
  if (!created)
    throw new CliError(`${opts.out} exists (written meanwhile by someone else); choose another --out or pass --force`, EXIT_FAILED);
  const { store, name } = s3File(opts.out);
  // the head of an encrypted object is read back through the keys... which a writer need not hold:
  // its zxid is the one the AdminServer announced
  const meta = opts.recipients.length > 0 ? null : await readBackupMeta(store, name);
  const bytes = (await store.size(name)) ?? 0;
  const result = {
    file: opts.out,
    encrypted: opts.recipients.length > 0,
    zxid: meta?.zxid ?? zxid,
    time: meta?.time ?? null,
    nodes: null,
    sessions: meta?.sessions ?? null,
    bytes,
    seconds: (Date.now() - t0) / 1000,
  };
  if (opts.json) console.log(JSON.stringify(result));
  else
    console.log(
      `backup ${opts.out}: zxid ${result.zxid}${meta ? `, ${meta.sessions} sessions` : ' (encrypted)'}, ${(bytes / 1e6).toFixed(2)} MB in ${result.seconds.toFixed(2)} s`,
    );
  return EXIT_OK;
}

/** A location that does not parse is a usage error. */
function checkLocation<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LocationError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

interface InspectReport {
  file: string;
  zxid: string;
  time: string;
  createdBy: string;
  nodes: number;
  sessions: number;
  bytes: number;
  dataBytes: number;
  digest: string;
  topBySize: Array<{ path: string; bytes: number; nodes: number }>;
  largestNodes: Array<{ path: string; bytes: number }>;
}

function inspect(file: string, b: LoadedBackup): InspectReport {
  const tree: DataTree = b.snapshot.tree;
  let dataBytes = 0;
  const top = new Map<string, { bytes: number; nodes: number }>();
  const largest: Array<{ path: string; bytes: number }> = [];
  for (const [path, node] of tree.nodes) {
    dataBytes += node.dataLength;
    const head = path === '/' ? '/' : `/${path.split('/')[1]}`;
    const t = top.get(head) ?? { bytes: 0, nodes: 0 };
    t.bytes += node.dataLength;
    t.nodes++;
    top.set(head, t);
    largest.push({ path, bytes: node.dataLength });
  }
  largest.sort((a, b2) => b2.bytes - a.bytes);
  return {
    file,
    zxid: b.meta.zxid,
    time: b.meta.time,
    createdBy: b.meta.createdBy,
    nodes: b.snapshot.nodeCount,
    sessions: b.snapshot.sessions.length,
    bytes: b.bytes,
    dataBytes,
    digest: b.snapshot.digest.toString(),
    topBySize: [...top]
      .map(([path, v]) => ({ path, ...v }))
      .sort((a, b2) => b2.bytes - a.bytes)
      .slice(0, 10),
    largestNodes: largest.slice(0, 10),
  };
}

function parseTarget(opts: { toZxid?: string; toTime?: string }): { zxid: number } | { timeMs: number } {
  if (opts.toZxid !== undefined && opts.toTime !== undefined) throw new CliError('give --to-zxid or --to-time, not both', EXIT_USAGE);
  if (opts.toZxid !== undefined) {
    const z = Number(opts.toZxid.startsWith('0x') ? parseInt(opts.toZxid, 16) : Number(opts.toZxid));
    if (!Number.isSafeInteger(z) || z < 0) throw new CliError(`--to-zxid ${opts.toZxid} is not a zxid (decimal or 0x hex)`, EXIT_USAGE);
    return { zxid: z };
  }
  if (opts.toTime !== undefined) {
    const t = Date.parse(opts.toTime);
    if (Number.isNaN(t)) throw new CliError(`--to-time ${opts.toTime} is not an ISO-8601 time (e.g. 2026-11-25T10:00:00Z)`, EXIT_USAGE);
    return { timeMs: t };
  }
  throw new CliError('restoring from an archive needs --to-zxid Z or --to-time ISO', EXIT_USAGE);
}

export function registerBackupCommands(program: Command): void {
  const backup = program
    .command('backup')
    .description('backups that keep every Stat field: create (online or offline), verify, inspect, list, diff');
  backupCreateCommand(backup);
  backupVerifyCommand(backup);
  backupInspectCommand(backup);
  backupListCommand(backup);
  backupDiffCommand(backup);
  restoreCommand(program);
}

function backupCreateCommand(backup: Command): void {
  adminTlsFlags(
    backup
      .command('create')
      .description(
        "stream a consistent backup of a running server through its AdminServer into FILE, or read a stopped server's data dir (--data-dir)",
      )
      .option('--admin <url>', 'the AdminServer, e.g. http://127.0.0.1:8080 or https://zk1.example.com:8080 (see --ca-file)')
      .option('--data-dir <dir>', "instead of --admin: a stopped server's dataDir (Ark's, or Apache ZooKeeper's)")
      .option('--log-dir <dir>', 'with --data-dir: its dataLogDir, when zoo.cfg sets one')
      .requiredOption('--out <file>', 'the backup file to write: a path, or s3://bucket/key (object storage)')
      .option('--auth <user:password>', 'admin credentials (digest; default $ARK_ADMIN_AUTH or "super:")')
      .option('--force', 'overwrite --out')
      .option('--recipient <age1...>', 'encrypt the backup to this age public key (repeatable, as age -r)', collect, [])
      .option('--recipients-file <file>', 'encrypt to the age public keys in FILE, one a line (repeatable, as age -R)', collect, [])
      .option('--json', 'print the result as JSON'),
  ).action((o: Omit<CreateOpts, 'admin'> & { admin?: string; dataDir?: string; logDir?: string }) =>
    run('backup create', () =>
      withProgress('backup create', o.json, async (progress) => {
        if ((o.admin === undefined) === (o.dataDir === undefined))
          throw new CliError(
            "give --admin URL (a running server) or --data-dir DIR (a stopped server's data dir), one of them",
            EXIT_USAGE,
          );
        if (o.dataDir === undefined) {
          if (o.logDir !== undefined) throw new CliError('--log-dir goes with --data-dir', EXIT_USAGE);
          return createBackup({ ...o, admin: o.admin! }, progress);
        }
        const r = await createOfflineBackup({
          ...o,
          dataDir: o.dataDir,
          recipients: createRecipients(o),
          onProgress: progress.stage('reading the data dir'),
        });
        progress.done();
        printOfflineCreated(r, o.json === true);
        return EXIT_OK;
      }),
    ),
  );
}

function backupVerifyCommand(backup: Command): void {
  backup
    .command('verify')
    .description('check every checksum and the tree digest; exit 0 only when the backup is intact')
    .argument('<file>', 'a path, or s3://bucket/key')
    .option('--identity <file>', 'an age identity file to decrypt an encrypted backup with (repeatable, as age -i)', collect, [])
    .option('--json', 'print the result as JSON')
    .action((file: string, o: { json?: boolean; identity: string[] }) =>
      run('backup verify', () => withProgress('backup verify', o.json, (p) => verifyBackup(file, o, p))),
    );
}

/** A damaged backup is verify's answer (printed, exit 1), not an error; only other failures throw. */
async function verifyBackup(file: string, o: { json?: boolean; identity: string[] }, progress: ProgressReporter): Promise<number> {
  const ids = identities(o.identity);
  try {
    const b = await loadBackup(file, ids, progress);
    progress.done();
    if (o.json)
      console.log(JSON.stringify({ file, ok: true, zxid: b.meta.zxid, nodes: b.snapshot.nodeCount, digest: b.snapshot.digest.toString() }));
    else console.log(`intact: ${file} (zxid ${b.meta.zxid}, ${b.snapshot.nodeCount} znodes, digest ${b.snapshot.digest})`);
    return EXIT_OK;
  } catch (e) {
    if (!(e instanceof BackupCorruptError)) throw e;
    progress.close(); // the check did not finish: no final progress line
    if (o.json) console.log(JSON.stringify({ file, ok: false, problem: e.message }));
    else console.log(`DAMAGED: ${e.message}`);
    return EXIT_FAILED;
  }
}

function backupInspectCommand(backup: Command): void {
  backup
    .command('inspect')
    .description('what a backup holds: zxid, time, counts, size, top paths by size')
    .argument('<file>', 'a path, or s3://bucket/key')
    .option('--identity <file>', 'an age identity file to decrypt an encrypted backup with (repeatable, as age -i)', collect, [])
    .option('--json', 'print as JSON')
    .action((file: string, o: { json?: boolean; identity: string[] }) =>
      run('backup inspect', async () => {
        const r = inspect(file, await loadBackup(file, identities(o.identity)));
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else printInspectReport(r);
        return EXIT_OK;
      }),
    );
}

function printInspectReport(r: InspectReport): void {
  console.log(
    `backup     ${r.file}\nzxid       ${r.zxid}\ntime       ${r.time}\nmade by    ${r.createdBy}\nznodes     ${r.nodes}\nsessions   ${r.sessions}\nfile size  ${r.bytes} bytes\ndata size  ${r.dataBytes} bytes\ndigest     ${r.digest}`,
  );
  console.log('\ntop-level paths by data size:');
  for (const t of r.topBySize) console.log(`  ${String(t.bytes).padStart(12)} B  ${String(t.nodes).padStart(9)} znodes  ${t.path}`);
  console.log('\nlargest znodes:');
  for (const t of r.largestNodes) console.log(`  ${String(t.bytes).padStart(12)} B  ${t.path}`);
}

function backupListCommand(backup: Command): void {
  backup
    .command('list')
    .description('what an archive can restore to: its backups, the archived txns, exactly the reachable ranges and every gap')
    .requiredOption('--archive <dir>', 'the archive (backup.archiveDir): a directory, or s3://bucket/prefix')
    .option('--identity <file>', 'an age identity file to decrypt an encrypted archive with (repeatable, as age -i)', collect, [])
    .option('--json', 'print as JSON')
    .action((o: { archive: string; json?: boolean; identity: string[] }) =>
      run('backup list', async () => {
        const report = await archiveReport(archiveWithKeys(openArchiveArg(o.archive, ''), { identities: identities(o.identity) }));
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else printArchiveReport(o.archive, report);
        return report.damaged.length > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}

interface RestoreOpts extends AdminTlsFlags {
  dataDir?: string;
  logDir?: string;
  archive?: string;
  toZxid?: string;
  toTime?: string;
  epoch?: string;
  dropSessions?: boolean;
  force?: boolean;
  json?: boolean;
  online?: boolean;
  admin?: string;
  auth?: string;
  identity: string[];
  path?: string;
}

function restoreCommand(program: Command): void {
  adminTlsFlags(
    program
      .command('restore')
      .description(
        'lay down a data dir from a backup FILE, or from an archive at a point in time, for `ark server` to start from; or, with --online, restore a running server or whole ensemble',
      )
      .argument('[file]', 'a backup file, a path or s3://bucket/key (or use --archive)')
      .option('--data-dir <dir>', 'the data dir to create (offline restore)')
      .option('--online', 'restore a running server through its AdminServer; for an ensemble member, the whole ensemble')
      .option('--admin <url>', 'with --online: the AdminServer of any member, e.g. http://127.0.0.1:8080 or https://... (see --ca-file)')
      .option('--auth <user:password>', 'with --online: admin credentials (digest; default $ARK_ADMIN_AUTH or "super:")')
      .option(
        '--path <znode>',
        'restore only this znode and its descendants: offline, a data dir holding them (every field) and the ancestors that reach them; --online, one atomic change of a running server or ensemble',
      )
      .option('--log-dir <dir>', 'a separate data log dir (dataLogDir)')
      .option('--archive <dir>', 'restore from an archive (a directory or s3://bucket/prefix) to --to-zxid or --to-time')
      .option('--to-zxid <zxid>', 'the last txn to include (decimal or 0x hex)')
      .option('--to-time <iso>', 'include every txn at or before this time')
      .option('--epoch <n>', "zxid epoch of the restored data (default: one above the backup point's)")
      .option(
        '--drop-sessions',
        'end the backed-up sessions at once (their ephemeral nodes go); by default they live on as after a restart',
      )
      .option('--force', 'replace the data in a non-empty --data-dir')
      .option(
        '--identity <file>',
        'an age identity file to decrypt an encrypted backup or archive with (repeatable, as age -i)',
        collect,
        [],
      )
      .option('--json', 'print the result as JSON'),
  ).action((file: string | undefined, o: RestoreOpts) =>
    run('restore', () => withProgress('restore', o.json, (p) => (o.online ? restoreOnline(file, o, p) : restoreOffline(file, o, p)))),
  );
}

// ---------- ark restore (offline) ----------

/** The state an offline restore lays down and where it came from. */
interface RestoreSource {
  tree: DataTree;
  sessions: SessionRecord[];
  /** the backup file */
  file: string;
  /** from an archive: the point reached */
  point: { reachedZxid: string; reachedTime: string; replayedTxns: number; backupZxid: string } | null;
  /** the restored server's history starts above this zxid */
  aboveZxid: number;
}

/** Lays down a data dir from a backup FILE or from --archive at --to-zxid / --to-time. */
async function restoreOffline(file: string | undefined, o: RestoreOpts, progress: ProgressReporter): Promise<number> {
  if (o.dataDir === undefined)
    throw new CliError('give --data-dir DIR (the data dir to lay down), or --online --admin URL to restore a running server', EXIT_USAGE);
  const dataDir = o.dataDir;
  if ((file === undefined) === (o.archive === undefined))
    throw new CliError('give a backup FILE or --archive DIR (one of them)', EXIT_USAGE);
  if (file !== undefined && (o.toZxid !== undefined || o.toTime !== undefined)) {
    throw new CliError(
      `--to-zxid and --to-time need --archive DIR: the backup ${file} holds one point in time (restore it without them, or restore from the archive it belongs to)`,
      EXIT_USAGE,
    );
  }
  const epoch = o.epoch === undefined ? undefined : Number(o.epoch);
  if (epoch !== undefined && (!Number.isInteger(epoch) || epoch < 1))
    throw new CliError(`--epoch ${o.epoch} is not a positive integer`, EXIT_USAGE);
  const ids = identities(o.identity);
  const whole = file !== undefined ? await fromBackupFile(file, ids, progress) : await fromArchive(o.archive!, o, ids, progress);
  const from = o.path === undefined ? whole : { ...whole, ...subtreeTree(whole.tree, whole.sessions, o.path) };
  const r = await restoreInto(from.tree, from.sessions, {
    onProgress: progress.stage('writing the snapshot'),
    dataDir,
    force: o.force === true,
    dropSessions: o.dropSessions === true,
    ...(o.logDir !== undefined ? { dataLogDir: o.logDir } : {}),
    ...(epoch !== undefined ? { epoch } : {}),
    aboveZxid: from.aboveZxid,
  });
  progress.done();
  printRestored(from, r, o.json === true, o.path);
  return EXIT_OK;
}

async function fromBackupFile(file: string, ids: Identities, progress: ProgressReporter): Promise<RestoreSource> {
  const b = await loadBackup(file, ids, progress, 'loading the backup');
  return { tree: b.snapshot.tree, sessions: b.snapshot.sessions, file, point: null, aboveZxid: 0 };
}

async function fromArchive(
  archive: string,
  o: { toZxid?: string; toTime?: string },
  ids: Identities,
  progress: ProgressReporter,
): Promise<RestoreSource> {
  const target = parseTarget(o);
  const store = archiveWithKeys(openArchiveArg(archive, '--archive '), { identities: ids });
  const p = await pointInTime(store, target, {
    loading: progress.stage('loading the backup'),
    replaying: progress.stage('replaying archived txns'),
  });
  // the restored server may archive into the same place: its history starts above the archive's
  const view = await readArchiveView(store);
  return {
    tree: p.tree,
    sessions: p.sessions,
    file: p.backup,
    point: {
      reachedZxid: hex(p.zxid),
      reachedTime: new Date(p.timeMs).toISOString(),
      replayedTxns: p.replayed,
      backupZxid: hex(p.backupZxid),
    },
    aboveZxid: Math.max(view.end ?? 0, ...view.backups.map((b) => b.zxid)),
  };
}

function printRestored(from: RestoreSource, r: RestoreResult, json: boolean, path: string | undefined): void {
  const { file, point } = from;
  if (json) {
    console.log(
      JSON.stringify({
        from: file,
        ...(path === undefined ? {} : { path }),
        ...point,
        dataDir: r.dataDir,
        backupZxid: hex(r.fromZxid),
        startsAtZxid: hex(r.zxid),
        znodes: r.nodes,
        sessions: r.sessions,
        droppedSessions: r.droppedSessions,
      }),
    );
    return;
  }
  console.log(
    `restored ${file}${path === undefined ? '' : ` (only ${path} and its descendants)`} into ${r.dataDir}: ${r.nodes} znodes, ${r.sessions} sessions${r.droppedSessions ? `, ${r.droppedSessions} ended` : ''}`,
  );
  if (point) {
    const when =
      point.replayedTxns === 0 ? `the backup's own point, captured ${point.reachedTime}` : `its last txn at ${point.reachedTime}`;
    console.log(
      `state as of zxid ${point.reachedZxid} (${when}): backup ${point.backupZxid} + ${point.replayedTxns} archived txns replayed`,
    );
  }
  console.log(
    `new writes continue in epoch ${epochOf(r.zxid)} (zxid ${hex(r.zxid)}); start it with: ark server <zoo.cfg with dataDir=${r.dataDir}>`,
  );
}

// ---------- ark restore --online ----------

/**
 * POSTs a backup to a running server's AdminServer (ZooKeeper 3.9's restore command). A
 * standalone server replaces its tree; an ensemble member hands it to its leader, which makes it
 * the whole ensemble's state in a new epoch. Prints what the server answered.
 */
async function restoreOnline(
  file: string | undefined,
  o: AdminTlsFlags & {
    admin?: string;
    auth?: string;
    json?: boolean;
    dataDir?: string;
    archive?: string;
    toZxid?: string;
    toTime?: string;
    identity: string[];
    path?: string;
  },
  progress: ProgressReporter,
): Promise<number> {
  const pointInTimeSubtree = file === undefined && o.archive !== undefined && o.path !== undefined;
  if (file === undefined && !pointInTimeSubtree)
    throw new CliError(
      '--online restores a backup FILE, or with --path a subtree from --archive at --to-zxid/--to-time (for the whole tree at a point in time, restore offline with --archive)',
      EXIT_USAGE,
    );
  if (o.admin === undefined)
    throw new CliError('--online needs --admin URL (the AdminServer of the server, or of any member of the ensemble)', EXIT_USAGE);
  if (o.dataDir !== undefined || (!pointInTimeSubtree && (o.archive !== undefined || o.toZxid !== undefined || o.toTime !== undefined))) {
    throw new CliError(
      '--online restores a backup FILE into a running server: --data-dir is for an offline restore, and --archive, --to-zxid and --to-time go online only with --path (and no FILE)',
      EXIT_USAGE,
    );
  }
  const admin = o.admin;
  const url = adminCall(() => adminUrl(admin, '/commands/restore'));
  if (o.path !== undefined) url.searchParams.set('path', o.path);
  const ids = identities(o.identity);
  let plain: Buffer;
  if (pointInTimeSubtree) {
    // the point in time is built here (the archive and its keys are the operator's); the server
    // gets a backup of the subtree and the ancestors that reach it, nothing else
    const from = await fromArchive(o.archive!, o, ids, progress);
    file = `${o.archive} at ${from.point!.reachedZxid}`;
    const sub = subtreeTree(from.tree, [], o.path!);
    plain = await backupBytes(sub.tree);
  } else {
    // refuse a damaged file here, before the server reads it; the server gets the plain backup (it holds no private key)
    plain = await plainBackupBytes(file!, ids, progress.stage('decrypting'));
    const checked = readBackup(file!, plain, { onProgress: progress.stage('checking') });
    // a path the backup does not hold, or one that cannot be restored by path, is refused here too
    if (o.path !== undefined) subtreeTree(checked.snapshot.tree, [], o.path);
  }
  const auth = o.auth ?? process.env.ARK_ADMIN_AUTH ?? 'super:';
  const t0 = Date.now();
  const { req, response } = adminCall(() =>
    adminRequest(
      url,
      {
        method: 'POST',
        headers: { authorization: `digest ${auth}`, 'content-type': 'application/octet-stream', 'content-length': plain.length },
      },
      o,
    ),
  );
  // uploaded: the upload's line ends here; the server now loads and installs it (its log says how far)
  req.on('finish', () => progress.done());
  Readable.from(slices(plain, UPLOAD_SLICE_BYTES))
    .pipe(new CountBytes(progress.stage('uploading'), plain.length))
    .pipe(req);
  const res = await adminCall(() => response);
  let body = '';
  for await (const c of res) body += String(c);
  let answer: {
    last_zxid?: number;
    backup_zxid?: number;
    node_count?: number;
    sessions?: number;
    path?: string;
    ephemerals_skipped?: number;
    error?: string | null;
  } = {};
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    /* not JSON */
  }
  if (res.statusCode !== 200 || answer.error)
    throw new CliError(
      `the AdminServer at ${url.origin} refused the restore (${res.statusCode}): ${answer.error ?? body.trim()}`,
      EXIT_FAILED,
    );
  const zxid = Number(answer.last_zxid);
  const result = {
    file,
    server: url.origin,
    backupZxid: hex(Number(answer.backup_zxid)),
    zxid: hex(zxid),
    epoch: epochOf(zxid),
    znodes: answer.node_count,
    sessions: answer.sessions,
    seconds: (Date.now() - t0) / 1000,
  };
  if (o.path !== undefined) {
    const sub = {
      file,
      server: url.origin,
      path: o.path,
      backupZxid: result.backupZxid,
      zxid: result.zxid,
      znodes: answer.node_count,
      ephemeralsSkipped: answer.ephemerals_skipped ?? 0,
      seconds: result.seconds,
    };
    if (o.json) console.log(JSON.stringify(sub));
    else
      console.log(
        `restored ${o.path} from ${file} (zxid ${sub.backupZxid}) through ${url.origin}: ${sub.znodes} znodes as one txn, zxid ${sub.zxid}${sub.ephemeralsSkipped ? `; ${sub.ephemeralsSkipped} ephemeral nodes of the backup's sessions left out` : ''}`,
      );
    return EXIT_OK;
  }
  if (o.json) console.log(JSON.stringify(result));
  else {
    console.log(
      `restored ${file} (zxid ${result.backupZxid}) through ${url.origin}: ${result.znodes} znodes, ${result.sessions} sessions, in ${result.seconds.toFixed(2)} s`,
    );
    console.log(
      `the tree is now at zxid ${result.zxid} (epoch ${result.epoch}); clients reconnect to it (an ensemble: every member took it)`,
    );
  }
  return EXIT_OK;
}

/** A backup file's bytes of this tree (no sessions), in memory: what an online restore uploads. */
async function backupBytes(tree: DataTree): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      cb();
    },
  });
  await writeBackup(tree, [], sink, { createdBy: 'ark restore --online --path' });
  return Buffer.concat(parts);
}

// ---------- ark backup list --archive ----------

/** An archive named on the command line: a local directory that must exist, or an s3:// URL. */
function openArchiveArg(archive: string, what: string): ArchiveStore {
  if (isS3Url(archive)) return checkLocation(() => openArchive(archive));
  if (!existsSync(archive)) throw new CliError(`${what}${archive}: no such directory`, EXIT_USAGE);
  return openArchive(archive);
}

interface ArchiveReport {
  backups: Array<{ file: string; zxid: string; time: string | null; bytes: number; error: string | null }>;
  txns: { links: number; fromZxid: string; toZxid: string; fromTime: string; toTime: string } | null;
  newest: { zxid: string; time: string } | null;
  completeAsOf: string | null;
  restorable: Array<{ fromZxid: string; toZxid: string; toTime: string | null; backup: string }>;
  gaps: Array<{ afterZxid: string; resumeZxid: string; kind: string; text: string }>;
  /** links no path from the chain's start reaches (a writer's stale attempt): never read by a restore */
  unlinked: string[];
  damaged: Array<{ file: string; problem: string }>;
}

/** Reads the whole archive, checking every backup and link, and says exactly what a restore can reach. */
async function archiveReport(store: ArchiveStore): Promise<ArchiveReport> {
  const damaged: ArchiveReport['damaged'] = [];
  const listed = await listLinks(store);
  for (const d of listed.damaged) damaged.push({ file: d.path, problem: d.problem });
  const links: StoredLink[] = [];
  for (const l of listed.links) {
    try {
      readChunk(l.path, await store.read(linkPath(l.name)));
      links.push(l);
    } catch (e) {
      if (e instanceof KeyError) throw e; // the same for every encrypted file: one message, not a list of "damaged"
      damaged.push({ file: l.path, problem: (e as Error).message });
    }
  }
  const valid: BackupFile[] = [];
  const backups: ArchiveReport['backups'] = [];
  for (const b of await listBackupFiles(store)) {
    try {
      const { meta } = readBackup(b.path, await store.read(b.path));
      valid.push(b);
      backups.push({ file: b.path, zxid: hex(b.zxid), time: meta.time, bytes: b.bytes, error: null });
    } catch (e) {
      if (e instanceof KeyError) throw e;
      damaged.push({ file: b.path, problem: (e as Error).message });
      backups.push({ file: b.path, zxid: hex(b.zxid), time: null, bytes: b.bytes, error: (e as Error).message });
    }
  }
  const chain = buildChain(links);
  const runs = runsOf(chain);
  const iso = (ms: number): string => new Date(ms).toISOString();
  const first = runs[0];
  const newest = runs.at(-1);
  const status = await readStatus(store);
  return {
    backups,
    txns:
      first && newest
        ? {
            links: links.length,
            fromZxid: hex(first.first),
            toZxid: hex(newest.last),
            fromTime: iso(first.firstTime),
            toTime: iso(newest.lastTime),
          }
        : null,
    newest: newest ? { zxid: hex(newest.last), time: iso(newest.lastTime) } : null,
    completeAsOf: status && newest && status.zxid === newest.last ? iso(status.asOfMs) : null,
    restorable: mergedRanges(restoreRanges(runs, valid)).map((r) => ({
      fromZxid: hex(r.fromZxid),
      toZxid: hex(r.toZxid),
      toTime: r.toTime === null ? null : iso(r.toTime),
      backup: r.backup.path,
    })),
    gaps: gaps(chain).map((g) => ({ afterZxid: hex(g.afterZxid), resumeZxid: hex(g.resumeZxid), kind: g.kind, text: g.text })),
    unlinked: chain.unlinked.map((l) => `txns/${l.name}`),
    damaged,
  };
}

function printArchiveReport(location: string, r: ArchiveReport): void {
  console.log(`archive ${location}`);
  console.log('backups:');
  for (const b of r.backups)
    console.log(
      `  ${b.zxid.padEnd(14)} ${(b.time ?? '').padEnd(26)} ${String(b.bytes).padStart(12)} B  ${b.error ? `DAMAGED: ${b.error}` : b.file}`,
    );
  if (r.backups.length === 0) console.log('  (none)');
  console.log(
    r.txns
      ? `archived txns: ${r.txns.links} links, zxid ${r.txns.fromZxid} .. ${r.txns.toZxid}, ${r.txns.fromTime} .. ${r.txns.toTime}`
      : 'archived txns: (none)',
  );
  if (r.newest)
    console.log(
      `newest archived txn: ${r.newest.zxid} at ${r.newest.time}${r.completeAsOf ? `; every txn committed before ${r.completeAsOf} is archived` : ''}`,
    );
  console.log('restorable (ark restore --archive ... --to-zxid Z / --to-time T):');
  for (const x of r.restorable)
    console.log(`  zxid ${x.fromZxid} .. ${x.toZxid}${x.toTime ? ` (up to ${x.toTime})` : " (the backup's own point)"}, from ${x.backup}`);
  if (r.restorable.length === 0) console.log('  nothing: the archive has no intact backup');
  if (r.gaps.length > 0) console.log('gaps:');
  for (const g of r.gaps) console.log(`  ${g.text}`);
  if (r.unlinked.length > 0) console.log(`not in the chain (left by a member that lost a race; harmless): ${r.unlinked.join(', ')}`);
  if (r.damaged.length > 0) console.log('damaged (not counted above):');
  for (const d of r.damaged) console.log(`  ${d.problem}`);
}
