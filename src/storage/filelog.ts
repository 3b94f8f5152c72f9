// The file-system side of the txn log: the only code that writes and fsyncs log segments.
// Group commit: the runtime hands over every txn decided while the previous fsync was in flight,
// and one write + one fdatasync covers them all.
import { closeSync, existsSync, fdatasync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, truncateSync, write, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JuteWriter } from '../wire/jute.js';
import type { Txn, TxnHeader } from '../wire/txn.js';
import { encodeLogHeader, encodeRecord, parseSegmentName, scanSegment, segmentName, LogCorruptError, type LogRecord } from './txnlog.js';

export const DATA_SUBDIR = 'ark-v1';

export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

export interface Recovered {
  records: LogRecord[];
  truncated: Array<{ file: string; offset: number }>;
}

export class FileTxnLog {
  readonly dir: string;
  private fd: number | null = null;
  private segmentBytes = 0;
  private readonly w = new JuteWriter(64 * 1024);
  private readonly scratch = new JuteWriter(1024);

  constructor(logDir: string, private readonly opts: { forceSync: boolean; segmentBytesMax: number }) {
    this.dir = join(logDir, DATA_SUBDIR);
  }

  /** Refuses a data dir of another format; creates ours. */
  static prepareDir(dir: string): void {
    const zk = join(dir, 'version-2');
    if (existsSync(zk) && readdirSync(zk).some((f) => f.startsWith('log.') || f.startsWith('snapshot.'))) {
      throw new DataDirError(`${dir} holds an Apache ZooKeeper data dir (version-2/). Ark keeps its own format; ` +
        'point dataDir at an empty directory, or import the ZooKeeper data once it is supported (ark migrate from-zookeeper)');
    }
    mkdirSync(join(dir, DATA_SUBDIR), { recursive: true });
  }

  segments(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => parseSegmentName(f) !== null)
      .sort((a, b) => parseSegmentName(a)! - parseSegmentName(b)!);
  }

  /** Reads every segment in zxid order; repairs a torn tail of the last one. */
  recover(): Recovered {
    FileTxnLog.prepareDir(join(this.dir, '..'));
    const files = this.segments();
    const records: LogRecord[] = [];
    const truncated: Array<{ file: string; offset: number }> = [];
    let lastZxid = 0;
    files.forEach((name, i) => {
      const file = join(this.dir, name);
      const scan = scanSegment(file, readFileSync(file));
      if (scan.tornTail) {
        if (i !== files.length - 1) throw new LogCorruptError(file, scan.validBytes, 'a record is cut short in a segment that is not the last one');
        truncateSync(file, scan.validBytes);
        truncated.push({ file, offset: scan.validBytes });
      }
      for (const rec of scan.records) {
        if (rec.hdr.zxid <= lastZxid) throw new LogCorruptError(file, 0, `zxid 0x${rec.hdr.zxid.toString(16)} does not follow 0x${lastZxid.toString(16)}`);
        lastZxid = rec.hdr.zxid;
        records.push(rec);
      }
    });
    return { records, truncated };
  }

  private open(firstZxid: number): void {
    const file = join(this.dir, segmentName(firstZxid));
    this.fd = openSync(file, 'a');
    const header = encodeLogHeader(firstZxid);
    this.writeAllSync(header);
    this.segmentBytes = header.length;
    fsyncSync(this.fd);
    // the new file's directory entry must be durable too
    const dfd = openSync(this.dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  }

  private writeAllSync(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) {
      off += writeSync(this.fd!, buf, off, buf.length - off);
    }
  }

  /** Appends txns; calls done once they are on disk (fdatasync unless forceSync=no). */
  append(txns: ReadonlyArray<{ hdr: TxnHeader; txn: Txn }>, done: (err: Error | null) => void): void {
    if (txns.length === 0) { done(null); return; }
    if (this.fd === null || this.segmentBytes >= this.opts.segmentBytesMax) {
      this.closeSegment();
      this.open(txns[0]!.hdr.zxid);
    }
    const w = this.w.reset();
    for (const t of txns) encodeRecord(w, t.hdr, t.txn, this.scratch);
    const buf = w.take();
    const fd = this.fd!;
    this.segmentBytes += buf.length;
    const writeFrom = (off: number): void => {
      write(fd, buf, off, buf.length - off, null, (err, n) => {
        if (err) { done(err); return; }
        if (off + n < buf.length) { writeFrom(off + n); return; }
        if (!this.opts.forceSync) { done(null); return; }
        fdatasync(fd, (e) => done(e));
      });
    };
    writeFrom(0);
  }

  closeSegment(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

