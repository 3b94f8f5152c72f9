// Progress of a long operation, as the core reports it and as people read it. Core functions take
// an optional `onProgress` callback of this shape (issue 15, item 6); the command line shows it
// (src/cli/progress.ts) and the server logs it at start-up (src/runtime/server.ts). PURE: time is
// an argument, so when a report is due is unit-tested without a clock.

export interface Progress {
  /** units done so far */
  done: number;
  /** units in all; null when not known in advance */
  total: number | null;
  /** what is counted: 'znodes', 'txns', 'bytes', 'files' */
  unit: string;
}

export type OnProgress = (p: Progress) => void;

export interface ThrottleOptions {
  /** a report at least this often while work goes on */
  intervalMs: number;
  /** and one each time the fraction done crosses a multiple of this (0.1: every 10%) */
  step: number;
  /** nothing before the operation has run this long: a quick one stays quiet (as git's delayed progress) */
  delayMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { intervalMs: 5000, step: 0.1, delayMs: 1000 };

/**
 * DEFAULT_THROTTLE with the start delay from ARK_PROGRESS_DELAY_MS's value (passed in) when it is
 * a whole number of milliseconds: 0 reports every operation however quick (the tests use it).
 */
export function throttleWithDelay(value: string | undefined): ThrottleOptions {
  return value !== undefined && /^\d+$/.test(value) ? { ...DEFAULT_THROTTLE, delayMs: Number(value) } : DEFAULT_THROTTLE;
}

/**
 * When a periodic report is due: every `intervalMs`, or when the fraction done crosses the next
 * `step`, once `delayMs` has passed since `startedAt`. Completion (done = total) is not a periodic
 * report: the caller writes its own final one.
 */
export class ProgressThrottle {
  private lastAt: number;
  private lastStep = 0;

  constructor(
    readonly startedAt: number,
    private readonly o: ThrottleOptions = DEFAULT_THROTTLE,
  ) {
    // the first report is due as soon as the delay is over: it says the operation is under way
    this.lastAt = startedAt - o.intervalMs;
  }

  due(p: Progress, now: number): boolean {
    if (now - this.startedAt < this.o.delayMs) return false;
    if (p.total !== null && p.done >= p.total) return false;
    // steps counted in whole numbers (60% / 10% is 5.999... in floating point)
    const steps = this.o.step > 0 ? Math.round(1 / this.o.step) : 0;
    const step = p.total !== null && p.total > 0 ? Math.floor((p.done * steps) / p.total) : 0;
    if (step > this.lastStep || now - this.lastAt >= this.o.intervalMs) {
      this.lastStep = Math.max(step, this.lastStep);
      this.lastAt = now;
      return true;
    }
    return false;
  }
}

/** Units per second over `elapsedMs` (0 before any time has passed). */
export function ratePerSecond(done: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
}

/** Seconds left at the average rate so far; null when the total or the rate is not known. */
export function etaSeconds(p: Progress, elapsedMs: number): number | null {
  const r = ratePerSecond(p.done, elapsedMs);
  if (p.total === null || r <= 0) return null;
  return Math.max(0, (p.total - p.done) / r);
}

/** A count in its unit: bytes in kB / MB / GB (decimal, as `ls -h --si`), anything else as a whole number. */
export function formatAmount(n: number, unit: string): string {
  if (unit !== 'bytes') return `${Math.round(n)} ${unit}`;
  if (n < 10_000) return `${Math.round(n)} bytes`;
  if (n < 10_000_000) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 10_000_000_000) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** "350000/1000000 znodes" or "12.3 MB of 45.0 MB"; without a total, the count alone. */
export function formatCount(p: Progress): string {
  if (p.total === null) return formatAmount(p.done, p.unit);
  if (p.unit === 'bytes') return `${formatAmount(p.done, p.unit)} of ${formatAmount(p.total, p.unit)}`;
  return `${Math.round(p.done)}/${Math.round(p.total)} ${p.unit}`;
}

export function formatRate(perSecond: number, unit: string): string {
  if (unit !== 'bytes' && perSecond < 10) return `${perSecond.toFixed(1)} ${unit}/s`;
  return `${formatAmount(perSecond, unit)}/s`;
}

export function formatSeconds(s: number): string {
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** The fraction done, within [0, 1] (a copy may find more nodes than the count it started with). */
export function fractionDone(p: Progress): number | null {
  if (p.total === null) return null;
  if (p.total <= 0) return 1;
  return Math.min(1, Math.max(0, p.done / p.total));
}

/** "350000/1000000 znodes (35%), 41000 znodes/s, ETA 16 s": one periodic report. */
export function describeProgress(p: Progress, elapsedMs: number): string {
  const parts = [formatCount(p)];
  const f = fractionDone(p);
  if (f !== null) parts[0] += ` (${Math.floor(f * 100)}%)`;
  parts.push(formatRate(ratePerSecond(p.done, elapsedMs), p.unit));
  const eta = etaSeconds(p, elapsedMs);
  if (eta !== null) parts.push(`ETA ${formatSeconds(eta)}`);
  return parts.join(', ');
}

/** "1000000 znodes in 24.4 s (41000 znodes/s)": the report at the end. */
export function describeFinished(p: Progress, elapsedMs: number): string {
  return `${formatAmount(p.done, p.unit)} in ${formatSeconds(elapsedMs / 1000)} (${formatRate(ratePerSecond(p.done, elapsedMs), p.unit)})`;
}
