// The continuous archive on a running server: carries out what the archiver (src/backup/archiver.ts)
// decides, one action at a time, against the archive store and this server's data dir. Every
// serving member runs one; the archiver decides whether this member writes (docs/ARCHITECTURE.md,
// "The archive").
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { BackupConfig } from '../config/serverconfig.js';
import type { DataDir } from '../storage/datadir.js';
import { readRecordRun } from '../storage/logreader.js';
import { isGzip } from '../storage/snapshot.js';
import { Archiver, type ActionResult, type ArchiveAction, type MemberState } from '../backup/archiver.js';
import {
  ABANDONED_WRITE_MS,
  backupPath,
  linkPath,
  pruneArchive,
  readArchiveView,
  removeAbandonedWrites,
  writeStatus,
  type StoredLink,
} from '../backup/archive.js';
import { encodeChunkHeader } from '../backup/chunk.js';
import { START_LINK, isRestoreBase, linkName } from '../backup/chain.js';
import { backupMeta, backupStream, type BackupResult } from '../backup/format.js';
import type { ArchiveStore } from '../backup/store.js';
import { isS3Url } from '../util/s3url.js';
import type { Logger } from '../util/log.js';
import { epochOf, hexZxid as hex } from '../util/zxid.js';

/** A chunk holds at most this many bytes of records (it is assembled in memory before it is written). */
export const CHUNK_BYTES_MAX = 32 * 1024 * 1024;
/** ...and is written without waiting for the interval once this many txns wait */
const CHUNK_TXNS_MAX = 200_000;

export interface ArchiveHost {
  readonly serverId: number;
  readonly dataDir: DataDir;
  readonly logger: Logger;
  /** what the archiver needs of this member now (without its snapshots: read here) */
  member(): Omit<MemberState, 'snapshots'>;
  /** a consistent backup of the live tree into `out` (the capture the AdminServer's snapshot uses) */
  backupTo(out: Writable, onStart: (zxid: number) => void, signal: AbortSignal): Promise<BackupResult>;
  createdBy: string;
}

export class ArchiveRunner {
  readonly archiver: Archiver;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  /** the last problem logged, so a failing archive logs once per kind of failure, not every step */
  private lastProblem = '';
  /** the history mismatch last logged ('' none) */
  private reportedMismatch = '';
  /** when the archive's newest txn was committed (from the last chunk this server wrote or saw) */
  newest: { zxid: number; timeMs: number } | null = null;
  /** the headers of the archive's links, read once each (links never change) */
  private readonly headers = new Map<string, StoredLink | string>();
  /** when this server last removed abandoned writes from the archive (0: not yet) */
  private sweptAt = 0;

  constructor(
    private readonly store: ArchiveStore,
    private readonly cfg: BackupConfig,
    private readonly host: ArchiveHost,
  ) {
    this.archiver = new Archiver({
      archiveIntervalMs: cfg.archiveIntervalMs,
      staleMs: Math.max(2 * cfg.archiveIntervalMs, 1000),
      refreshMs: Math.min(Math.max(cfg.archiveIntervalMs / 2, 200), 10_000),
      backupIntervalMs: cfg.intervalMs,
      retention: cfg.retainCount > 0 || cfg.retainHours > 0,
      chunkTxnsMax: CHUNK_TXNS_MAX,
    });
  }

  start(): void {
    const every = Math.min(1000, Math.max(50, this.cfg.archiveIntervalMs / 4));
    this.timer = setInterval(() => this.step(), every);
    this.timer.unref();
    this.step();
  }

  private member(): MemberState {
    return {
      ...this.host.member(),
      snapshots: this.host.dataDir
        .snapshots()
        .map((s) => s.zxid)
        .reverse(),
    };
  }

  /** Runs the next action, and the ones after it, until there is nothing to do. */
  step(): void {
    if (this.busy || this.stopped) return;
    const action = this.archiver.next(Date.now(), this.member());
    this.reportMismatch();
    if (!action) return;
    this.busy = true;
    void this.run(action).then((result) => {
      this.archiver.done(Date.now(), result);
      this.reportMismatch();
      this.busy = false;
      if (result.ok) this.lastProblem = '';
      if (!this.stopped) setImmediate(() => this.step());
    });
  }

  /**
   * Archives this member's committed txns up to `upTo` (before a restore replaces them, at a clean
   * stop): waits at most `timeoutMs`. True when the archive reached it. A fixed target: under
   * write load "everything committed" moves as fast as the archive follows.
   */
  async flush(timeoutMs: number, upTo: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    this.archiver.flush(upTo);
    while (Date.now() < until) {
      const m = this.member();
      const p = this.archiver.continuation();
      if (this.archiver.archive && p !== null && Math.min(upTo, m.archivable) <= p) return true;
      if (!m.serving || !m.duty || this.archiver.mismatch()) return false;
      this.step();
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
  }

  private async run(a: ArchiveAction): Promise<ActionResult> {
    try {
      switch (a.kind) {
        case 'refresh':
          await this.sweep();
          return { ok: true, view: await readArchiveView(this.store, this.headers) };
        case 'chunk':
          return await this.chunk(a.after, a.upTo, a.slot, a.afterCrc);
        case 'base':
          return await this.base(a.snapshot);
        case 'capture':
          return await this.capture(a.reason);
        case 'jump':
          return await this.jump(a.from, a.to);
        case 'status':
          await writeStatus(this.store, { zxid: a.zxid, asOfMs: Date.now(), serverId: this.host.serverId });
          return { ok: true };
        case 'prune': {
          // a link younger than a few refreshes may be what a member with a stale view extends
          const removed = await pruneArchive(this.store, this.cfg, Date.now(), 10 * this.archiver.opts.refreshMs);
          if (removed.length > 0)
            this.host.logger.info(
              { removed: removed.length, archive: this.store.location },
              'archive retention removed old backups and the txns only they needed',
            );
          return { ok: true };
        }
      }
    } catch (e) {
      this.problem(a, (e as Error).message);
      return { ok: false, reason: 'error', message: (e as Error).message };
    }
  }

  /** At most hourly, with a refresh: temp files of writers killed mid-write go (removeAbandonedWrites). */
  private async sweep(): Promise<void> {
    const now = Date.now();
    if (now - this.sweptAt < ABANDONED_WRITE_MS) return;
    this.sweptAt = now;
    const removed = await removeAbandonedWrites(this.store, now);
    if (removed > 0)
      this.host.logger.info(
        { removed, archive: this.store.location },
        'removed temp files that writers killed mid-write left in the archive',
      );
  }

  private problem(a: ArchiveAction, message: string): void {
    const key = `${a.kind}:${message}`;
    if (key === this.lastProblem) return;
    this.lastProblem = key;
    this.host.logger.error(
      { action: a.kind, err: message, archive: this.store.location },
      `archiving failed: the txns stay in the txn log (purge keeps what is not archived) and are archived once the archive can be written; ${
        isS3Url(this.store.location)
          ? 'check the object store the error names (credentials, bucket, endpoint: AWS_* or backup.s3.*)'
          : 'check that backup.archiveDir exists, is writable and has free space'
      }`,
    );
  }

  /**
   * Logs, once each time it changes, whether this member's history is not the archive's
   * (Archiver.mismatch): an error naming both zxids and what to do; mntr shows it meanwhile.
   */
  private reportMismatch(): void {
    const m = this.archiver.mismatch();
    const key = m ? `${m.kind}:${hex(m.archiveZxid)}` : '';
    if (key === this.reportedMismatch) return;
    const was = this.reportedMismatch;
    this.reportedMismatch = key;
    if (!m) {
      if (was)
        this.host.logger.info({ archive: this.store.location }, "this server's history continues the archive again: archiving resumes");
      return;
    }
    const fields = { archive: this.store.location, archiveZxid: hex(m.archiveZxid), committedZxid: hex(m.memberZxid) };
    const what =
      m.kind === 'diverged'
        ? `this server's txn at ${hex(m.archiveZxid)} is not the archived one`
        : `the archive ends at ${hex(m.archiveZxid)}, past everything this server committed (${hex(m.memberZxid)})`;
    this.host.logger.error(
      fields,
      `archiving stopped: this server's history is not the archive's (${what}): another history wrote the archive, ` +
        'e.g. this server was restored elsewhere at an older point, or another cluster uses the same backup.archiveDir. Nothing more is written to it from here (mntr: zk_archive_history_mismatch 1). ' +
        `To archive this server: point backup.archiveDir at a new, empty directory (its archive starts with a full backup); or, if it was restored at an older point, ` +
        `restore it again with a base above the archive's end (an epoch above ${epochOf(m.archiveZxid)}): the archive then continues with its history after a restore jump. ` +
        "If this server is the one that should own the archive, the history written there since is another server's: find out which before removing anything",
    );
  }

  /** Copies this member's committed txns after `after` into a new link of the chain (`afterCrc`: the archived txn at `after`). */
  private async chunk(after: number, upTo: number, slot: 'start' | 'next' | 'fill', afterCrc: number | null): Promise<ActionResult> {
    const run = await readRecordRun(this.host.dataDir.log.dir, {
      after,
      upTo,
      bytesMax: CHUNK_BYTES_MAX,
      snapshots: this.member().snapshots,
      afterCrc,
    });
    if (run === 'missing') return { ok: false, reason: 'missing' };
    if (run === 'diverged') return { ok: false, reason: 'diverged', message: `this server's txn at ${hex(after)} is not the archived one` };
    const header = encodeChunkHeader({
      prevZxid: run.prevZxid,
      firstZxid: run.firstZxid,
      lastZxid: run.lastZxid,
      count: run.count,
      firstTime: run.firstTime,
      lastTime: run.lastTime,
      lastCrc: run.lastCrc,
    });
    const name = slot === 'start' ? START_LINK : linkName(after, slot === 'fill');
    const created = await this.store.createExclusive(linkPath(name), Buffer.concat([header, run.bytes]));
    if (!created) return { ok: false, reason: 'exists' };
    this.newest = { zxid: run.lastZxid, timeMs: run.lastTime };
    this.host.logger.debug(
      { after: hex(after), first: hex(run.firstZxid), last: hex(run.lastZxid), txns: run.count, link: name },
      'txns archived',
    );
    return { ok: true, wrote: { zxid: run.lastZxid } };
  }

  /** Links the chain's end to a base: the txns in between are in no serving member's log (or were replaced by a restore). */
  private async jump(from: number, to: number): Promise<ActionResult> {
    const header = encodeChunkHeader({ prevZxid: from, firstZxid: to, lastZxid: to, count: 0, firstTime: 0, lastTime: 0, lastCrc: null });
    if (!(await this.store.createExclusive(linkPath(linkName(from)), header))) return { ok: false, reason: 'exists' };
    if (isRestoreBase(to)) {
      this.host.logger.info(
        { from: hex(from), base: hex(to), archive: this.store.location },
        'the archive continues from the restored state: a restore started a new history',
      );
    } else {
      this.host.logger.error(
        { after: hex(from), before: hex(to), archive: this.store.location },
        "the archive has a hole: the txns after `after` up to `before` were in no serving member's log, so point-in-time restore cannot reach between them until a member that still holds them (one that was down) serves again and fills it; the archive continues from the full backup at `before`",
      );
    }
    return { ok: true, wrote: { zxid: to } };
  }

  /** Writes this member's snapshot at `zxid` as a backup: a base the chain can jump to. */
  private async base(zxid: number): Promise<ActionResult> {
    const snap = this.host.dataDir.snapshots().find((s) => s.zxid === zxid);
    if (!snap) return { ok: false, reason: 'missing' };
    const head = await readHead(snap.file);
    const meta = backupMeta(zxid, head.sessions, this.host.createdBy, new Date(head.timeMs));
    const created = await this.store.createExclusive(backupPath(zxid), backupStream(meta, snapshotBytes(snap.file)));
    if (!created) return { ok: false, reason: 'exists' };
    this.host.logger.info(
      { zxid: hex(zxid), archive: this.store.location },
      'a snapshot was written to the archive as a full backup (a base for the chain)',
    );
    return { ok: true, wrote: { zxid } };
  }

  /** A backup of the live tree, straight into the archive. */
  private async capture(reason: 'first' | 'scheduled' | 'gap'): Promise<ActionResult> {
    const pass = new PassThrough();
    const abort = new AbortController();
    let zxid = -1;
    let named!: (creating: Promise<boolean>) => void;
    const creating = new Promise<Promise<boolean>>((r) => {
      named = r;
    });
    const made = this.host.backupTo(
      pass,
      (z) => {
        zxid = z;
        const c = this.store.createExclusive(backupPath(z), pass);
        // the name is taken, or the write failed: stop the capture, nobody reads it any more
        c.then(
          (ok) => {
            if (!ok) abort.abort();
          },
          () => abort.abort(),
        );
        named(c);
      },
      abort.signal,
    );
    made.catch(() => named(Promise.resolve(false))); // failed before it had a zxid
    const [backup, created] = await Promise.allSettled([made, creating.then((c) => c)]);
    if (created.status === 'rejected') throw created.reason;
    if (backup.status === 'rejected') {
      if (zxid >= 0 && !created.value) return { ok: false, reason: 'exists' };
      throw backup.reason;
    }
    if (!created.value) return { ok: false, reason: 'exists' };
    this.host.logger.info({ zxid: hex(zxid), reason, archive: this.store.location }, 'full backup written to the archive');
    return { ok: true, wrote: { zxid } };
  }
}

/** A snapshot file's bytes as written, gunzipped when the file is compressed. */
async function* snapshotBytes(file: string): AsyncGenerator<Buffer> {
  const head = Buffer.alloc(2);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(file);
  const stream = isGzip(head) ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => stream.destroy(e));
  for await (const c of stream) yield c as Buffer;
}

/** The session count and time in a snapshot's header (ARKS, version, zxid, time, then the sessions vector). */
async function readHead(file: string): Promise<{ timeMs: number; sessions: number }> {
  for await (const c of snapshotBytes(file)) {
    if (c.length < 28) break;
    return { timeMs: c.readInt32BE(16) * 4294967296 + c.readUInt32BE(20), sessions: c.readInt32BE(24) };
  }
  return { timeMs: Date.now(), sessions: 0 };
}
