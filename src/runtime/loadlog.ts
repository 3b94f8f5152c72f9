// What a starting server says while it loads its data dir (issue 15, item 6): which snapshot it
// reads (zxid, size), "loading snapshot: N of M znodes" every 5 s or 10% for a large one, then
// "replaying log: N txns from 0x.. to 0x..", the replay's rate, and (the host) the time to serving.
// A 1M-znode start-up takes seconds; an operator watching the log sees it move instead of silence.
// Structured pino lines as the rest of the server; the numbers are fields as well as text.
import type { SnapshotInfo } from '../storage/datadir.js';
import type { Recovery } from '../storage/datadir.js';
import type { Logger } from '../util/log.js';
import {
  ProgressThrottle,
  etaSeconds,
  ratePerSecond,
  throttleWithDelay,
  type OnProgress,
  type Progress,
  type ThrottleOptions,
} from '../util/progress.js';
import { hexZxid as hex } from '../util/zxid.js';

/**
 * An onProgress that logs "`what`: N of M znodes" every 5 s or 10% once a second has passed
 * (ARK_PROGRESS_DELAY_MS changes the delay, as for the CLI); a report of 0 done restarts the clock
 * (the work proper starts: reading the file before it is not its rate).
 */
export function progressLog(
  logger: Logger,
  what: string,
  now: () => number = () => performance.now(),
  options: ThrottleOptions = throttleWithDelay(process.env.ARK_PROGRESS_DELAY_MS),
): OnProgress {
  let startedAt = now();
  let throttle = new ProgressThrottle(startedAt, options);
  return (p) => {
    const t = now();
    if (p.done === 0) {
      startedAt = t;
      throttle = new ProgressThrottle(t, options);
    }
    if (!throttle.due(p, t)) return;
    const elapsed = t - startedAt;
    const eta = etaSeconds(p, elapsed);
    logger.info(
      {
        [p.unit]: p.done,
        of: p.total,
        perSecond: Math.round(ratePerSecond(p.done, elapsed)),
        etaSeconds: eta === null ? null : Math.round(eta),
      },
      `${what}: ${p.done}${p.total === null ? '' : ` of ${p.total}`} ${p.unit}`,
    );
  };
}

export class LoadLog {
  private progress: OnProgress | null = null;
  private snapshot: SnapshotInfo | null = null;

  constructor(
    private readonly logger: Logger,
    /** milliseconds, monotonic */
    private readonly now: () => number = () => performance.now(),
    /** every 5 s or 10% after the first second (ARK_PROGRESS_DELAY_MS changes the delay, as for the CLI) */
    private readonly throttleOptions: ThrottleOptions = throttleWithDelay(process.env.ARK_PROGRESS_DELAY_MS),
  ) {}

  /** recoverAsync's onSnapshot: a snapshot is about to be read. */
  readonly onSnapshot = (s: SnapshotInfo): void => {
    this.snapshot = s;
    this.progress = progressLog(this.logger, 'loading snapshot', this.now, this.throttleOptions);
    this.logger.info(
      { file: s.file, zxid: hex(s.zxid), bytes: s.bytes },
      `loading snapshot ${s.file} (zxid ${hex(s.zxid)}, ${s.bytes} bytes)`,
    );
  };

  /** recoverAsync's onProgress: znodes of the snapshot rebuilt so far. */
  readonly onProgress = (p: Progress): void => this.progress?.(p);

  /** Once the data dir is read: the snapshot taken (or none), and the log about to be replayed. */
  loaded(rec: Recovery): void {
    if (rec.snapshot && this.snapshot)
      this.logger.info(
        { file: this.snapshot.file, zxid: hex(rec.snapshot.zxid), znodes: rec.snapshot.nodeCount, ms: Math.round(rec.snapshotLoadMs ?? 0) },
        `snapshot loaded: ${rec.snapshot.nodeCount} znodes`,
      );
    else if (!rec.snapshot) this.logger.info('no snapshot to load: the tree is rebuilt from the log alone');
    const first = rec.records[0]?.hdr.zxid;
    const last = rec.records.at(-1)?.hdr.zxid;
    if (first === undefined || last === undefined) return;
    this.logger.info(
      { txns: rec.records.length, fromZxid: hex(first), toZxid: hex(last), readMs: Math.round(rec.logLoadMs) },
      `replaying log: ${rec.records.length} txns from ${hex(first)} to ${hex(last)}`,
    );
  }

  /** The commit path's onReplayed: "replaying log: N of M txns" every 5 s or 10% once a second has passed. */
  onReplayed(total: number): (n: number) => void {
    const log = progressLog(this.logger, 'replaying log', this.now, this.throttleOptions);
    log({ done: 0, total, unit: 'txns' });
    return (n) => log({ done: n, total, unit: 'txns' });
  }

  /** After the replay (`ms` it took). */
  replayed(txns: number, ms: number): void {
    if (txns === 0) return;
    const perSecond = Math.round(ratePerSecond(txns, ms));
    this.logger.info({ txns, ms: Math.round(ms), perSecond }, `log replayed: ${txns} txns, ${perSecond} txns/s`);
  }
}
