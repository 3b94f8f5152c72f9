// The file-system side of the txn log: the only code that writes and fsyncs log segments.
// Group commit: the runtime hands over every txn decided while the previous fsync was in flight,
// and one write + one fdatasync covers them all. Segments are preallocated in large blocks
// (ZooKeeper's preAllocSize), sparsely as ZooKeeper does, so an fdatasync rarely has to flush a
// size change.
import {
  closeSync,
  existsSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  write,
  writeSync,
} from 'node:fs';
import { open as openAsync, rename as renameAsync } from 'node:fs/promises';
import { join } from 'node:path';
import { JuteWriter } from '../wire/jute.js';
import { assert } from '../util/errors.js';
import type { Txn, TxnHeader } from '../wire/txn.js';
import {
  LOG_HEADER_BYTES,
  encodeLogHeader,
  encodeRawRecord,
  encodeRecord,
  parseSegmentName,
  scanSegment,
  segmentName,
  LogCorruptError,
} from './txnlog.js';

export const DATA_SUBDIR = 'ark-v1';

export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

export interface LogOptions {
  forceSync: boolean;
  /** roll to a new segment once this many bytes are written */
  segmentBytesMax: number;
  /** grow a segment's file by this many (sparse, reading as zero) bytes at a time */
  preAllocBytes: number;
  /**
   * keep a preallocated, fsynced segment file ready in the background, so that a roll (at every
   * snapshot) only writes a 16-byte header and renames it, instead of creating and syncing a file
   * on the event loop (servers turn this on; the offline tools do not)
   */
  spareSegments?: boolean;
}

/** the prepared next segment, and its name while it is being prepared (neither parses as a segment) */
export const SPARE_SEGMENT = 'spare-segment';
const SPARE_PARTIAL = 'spare-segment.partial';

/** Refuses a data dir of another format; creates ours. */
export function prepareDir(dir: string): void {
  const zk = join(dir, 'version-2');
  if (existsSync(zk) && readdirSync(zk).some((f) => f.startsWith('log.') || f.startsWith('snapshot.'))) {
    throw new DataDirError(
      `${dir} holds an Apache ZooKeeper data dir (version-2/). Ark keeps its own format (${DATA_SUBDIR}/); ` +
        `import it into a new, empty directory with \`ark migrate from-zookeeper --source ${dir} --data-dir NEWDIR\` and point dataDir at NEWDIR`,
    );
  }
  mkdirSync(join(dir, DATA_SUBDIR), { recursive: true });
}

/** fsync a file or a directory (a new entry in a directory is durable only once the directory is). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Log segment names in `dir` (an ark-v1 directory) in zxid order. */
export function listSegments(dir: string): Array<{ name: string; firstZxid: number }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, firstZxid: parseSegmentName(name) }))
    .filter((s): s is { name: string; firstZxid: number } => s.firstZxid !== null)
    .sort((a, b) => a.firstZxid - b.firstZxid);
}

export class FileTxnLog {
  readonly dir: string;
  private fd: number | null = null;
  private position = 0;
  private allocated = 0;
  private readonly w = new JuteWriter(64 * 1024);
  private rollRequested = false;
  private activeName: string | null = null;
  /** called after a new segment is opened: every earlier one is closed for good */
  onRoll: (() => void) | null = null;
  /** called with the milliseconds each fdatasync of an append took (metrics: fsynctime) */
  onFsync: ((ms: number) => void) | null = null;
  private spare: 'none' | 'preparing' | 'ready' = 'none';
  private spareBytes = 0;
  /** the preparation of the spare segment, while it runs (settle() waits for it) */
  private spareWork: Promise<void> | null = null;
  /**
   * The last zxid this process appended (null: none since it opened the log or removed it all):
   * every append must go above it. Recovery proves the log on disk; this guards what is added to it.
   */
  private lastAppended: number | null = null;
  /**
   * Bytes of txn records this process has appended (a snapshot is also due once the log since the
   * last one grows past snapSizeLimitInKb, as ZooKeeper's SyncRequestProcessor counts logSize).
   */
  bytesAppended = 0;

  /** The segment being appended to, if any. */
  get activeSegment(): string | null {
    return this.activeName;
  }

  constructor(
    logDir: string,
    private readonly opts: LogOptions,
  ) {
    this.dir = join(logDir, DATA_SUBDIR);
  }

  /** The next append starts a new segment (ZooKeeper rolls the log at every snapshot). */
  roll(): void {
    this.rollRequested = true;
  }

  private open(firstZxid: number): void {
    const file = join(this.dir, segmentName(firstZxid));
    // a crash right after a segment was created leaves it with no txns: it is replaced; one that
    // holds txns at this zxid would mean the zxid is being reused, which must never happen
    if (existsSync(file)) {
      const held = scanSegment(file, readFileSync(file));
      if (held.records.length > 0) throw new LogCorruptError(file, 0, `segment for zxid 0x${firstZxid.toString(16)} already holds txns`);
    }
    if (this.takeSpare(file, firstZxid)) return;
    // header and preallocation go to a temp file first: a crash can leave only a whole, empty segment
    const tmp = `${file}.tmp`;
    this.fd = openSync(tmp, 'w');
    const header = encodeLogHeader(firstZxid);
    this.writeAt(header, 0);
    this.position = header.length;
    this.allocated = header.length;
    this.preallocate(0);
    fsyncSync(this.fd);
    renameSync(tmp, file);
    this.activeName = segmentName(firstZxid);
    // the new file's directory entry must be durable too
    fsyncPath(this.dir);
    this.prepareSpare();
  }

  /**
   * Turns the prepared spare into segment `file`: header written in place (made durable by the
   * first append's fdatasync, which comes before any txn in it is acknowledged), renamed, and the
   * directory synced. False when no spare is ready.
   */
  private takeSpare(file: string, firstZxid: number): boolean {
    if (this.spare !== 'ready') return false;
    this.spare = 'none';
    const spare = join(this.dir, SPARE_SEGMENT);
    let fd: number | null = null;
    try {
      fd = openSync(spare, 'r+');
      const header = encodeLogHeader(firstZxid);
      let off = 0;
      while (off < header.length) off += writeSync(fd, header, off, header.length - off, off);
      renameSync(spare, file);
      fsyncPath(this.dir);
    } catch {
      if (fd !== null) closeSync(fd);
      rmSync(spare, { force: true });
      return false; // the slow path makes the segment instead
    }
    this.fd = fd;
    this.position = LOG_HEADER_BYTES;
    this.allocated = this.spareBytes;
    this.activeName = segmentName(firstZxid);
    this.prepareSpare();
    return true;
  }

  /** Preallocates and fsyncs the next segment's file off the event loop's critical path. */
  private prepareSpare(): void {
    if (!this.opts.spareSegments || this.spare !== 'none') return;
    this.spare = 'preparing';
    const bytes = LOG_HEADER_BYTES + this.opts.preAllocBytes; // the same size the slow path makes
    const partial = join(this.dir, SPARE_PARTIAL);
    const dir = this.dir;
    this.spareWork = (async () => {
      const fh = await openAsync(partial, 'w');
      try {
        await fh.truncate(bytes); // sparse, as preallocate()
        await fh.sync();
      } finally {
        await fh.close();
      }
      await renameAsync(partial, join(dir, SPARE_SEGMENT));
      const dh = await openAsync(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    })().then(
      () => {
        this.spareBytes = bytes;
        this.spare = 'ready';
      },
      () => {
        // no spare (disk full, dir removed): rolls take the slow path, which reports real errors
        this.spare = 'none';
      },
    );
  }

  /** Resolves once no spare segment is being prepared: nothing of this log writes to the directory afterwards. */
  async settle(): Promise<void> {
    while (this.spareWork) {
      const w = this.spareWork;
      await w.catch(() => undefined); // a failed preparation was handled where it ran
      if (this.spareWork === w) this.spareWork = null;
    }
  }

  private writeAt(buf: Buffer, at: number): void {
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd!, buf, off, buf.length - off, at + off);
  }

  /** Makes sure `needed` more bytes fit in preallocated space. */
  private preallocate(needed: number): void {
    if (this.position + needed <= this.allocated) return;
    const grow = Math.max(this.opts.preAllocBytes, this.position + needed - this.allocated);
    // the size grows sparsely, as ZooKeeper's FilePadding does (one byte at the new end): reads
    // see zeros; zero-filling 64 MiB per segment wrote the log twice and stalled fsyncs behind it
    ftruncateSync(this.fd!, this.allocated + grow);
    this.allocated += grow;
  }

  /** Appends txns; calls done once they are on disk (fdatasync unless forceSync=no). */
  append(txns: ReadonlyArray<{ hdr: TxnHeader; txn: Txn }>, done: (err: Error | null) => void): void {
    if (txns.length === 0) {
      done(null);
      return;
    }
    try {
      for (const t of txns) this.checkAscending(t.hdr.zxid);
    } catch (e) {
      done(e as Error);
      return;
    }
    const w = this.w.reset();
    for (const t of txns) encodeRecord(w, t.hdr, t.txn);
    this.writeRecords(txns[0]!.hdr.zxid, w.take(), done);
  }

  /** Appends already-encoded txns (replicated log entries); calls done once they are on disk. */
  appendEntries(entries: ReadonlyArray<{ zxid: number; data: Uint8Array }>, done: (err: Error | null) => void): void {
    if (entries.length === 0) {
      done(null);
      return;
    }
    try {
      for (const e of entries) this.checkAscending(e.zxid);
    } catch (e) {
      done(e as Error);
      return;
    }
    const w = this.w.reset();
    for (const e of entries) encodeRawRecord(w, e.data);
    this.writeRecords(entries[0]!.zxid, w.take(), done);
  }

  /**
   * Drops every record after `zxid` (Zab TRUNC: txns this server logged that the leader's history
   * does not hold). Later segments are deleted; the segment holding `zxid` is cut after it.
   */
  truncateAfter(zxid: number): number {
    this.closeSegment();
    if (this.lastAppended !== null) this.lastAppended = Math.min(this.lastAppended, zxid);
    let dropped = 0;
    const segs = listSegments(this.dir);
    for (let i = segs.length - 1; i >= 0; i--) {
      const seg = segs[i]!;
      const file = join(this.dir, seg.name);
      if (seg.firstZxid > zxid) {
        dropped += scanSegment(file, readFileSync(file)).records.length;
        rmSync(file, { force: true });
        continue;
      }
      const scan = scanSegment(file, readFileSync(file));
      const keep = scan.records.filter((r) => r.hdr.zxid <= zxid);
      if (keep.length < scan.records.length) {
        dropped += scan.records.length - keep.length;
        truncateSync(file, keep.length > 0 ? keep[keep.length - 1]!.end! : LOG_HEADER_BYTES);
        fsyncPath(file);
      }
      break;
    }
    fsyncPath(this.dir);
    return dropped;
  }

  /** Deletes every segment (a SNAP from the leader replaces this server's history). */
  removeAll(): void {
    this.closeSegment();
    this.lastAppended = null;
    for (const seg of listSegments(this.dir)) rmSync(join(this.dir, seg.name), { force: true });
    fsyncPath(this.dir);
  }

  /**
   * zxids in the log strictly increase: a txn logged at or below one already there would be two
   * histories in one log (recovery would refuse the dir later, after acknowledging it now). A bug
   * upstream stops the write, and with it the server, instead.
   */
  private checkAscending(zxid: number): void {
    assert(Number.isSafeInteger(zxid) && zxid > 0, `txn log: appending a txn with zxid ${zxid}`);
    assert(
      this.lastAppended === null || zxid > this.lastAppended,
      `txn log: appending zxid 0x${zxid.toString(16)} after 0x${(this.lastAppended ?? 0).toString(16)}: zxids must increase`,
    );
    this.lastAppended = zxid;
  }

  private writeRecords(firstZxid: number, buf: Buffer, done: (err: Error | null) => void): void {
    try {
      if (this.fd === null || this.rollRequested || this.position >= this.opts.segmentBytesMax) {
        this.closeSegment();
        this.rollRequested = false;
        this.open(firstZxid);
        this.onRoll?.();
      }
    } catch (e) {
      done(e as Error);
      return;
    }
    try {
      this.preallocate(buf.length);
    } catch (e) {
      done(e as Error);
      return;
    }
    const fd = this.fd!;
    const at = this.position;
    this.position += buf.length;
    this.bytesAppended += buf.length;
    const writeFrom = (off: number): void => {
      write(fd, buf, off, buf.length - off, at + off, (err, n) => {
        if (err) {
          done(err);
          return;
        }
        if (off + n < buf.length) {
          writeFrom(off + n);
          return;
        }
        if (!this.opts.forceSync) {
          done(null);
          return;
        }
        const syncStart = performance.now();
        fdatasync(fd, (e) => {
          if (!e) this.onFsync?.(performance.now() - syncStart);
          done(e);
        });
      });
    };
    writeFrom(0);
  }

  closeSegment(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    this.activeName = null;
  }
}
