// Metric families that cost the request path a few arithmetic operations, registered in a
// prom-client Registry beside its own Counters (the Registry only calls get() when scraped):
// a windowed summary, and values read from the server at scrape time.
import type { Metric, Registry } from 'prom-client';

/** What a prom-client Registry reads from a metric when it renders the exposition text. */
interface Rendered {
  name: string;
  help: string;
  type: 'gauge' | 'counter' | 'summary';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string>; value: number; metricName?: string }>;
}

/** Registers one of these families (they have the shape the Registry renders, not prom-client's classes). */
export function register(registry: Registry, family: Collected | WindowedSummary): void {
  registry.registerMetric(family as unknown as Metric);
}

/**
 * A value read when Prometheus scrapes (a gauge such as znode_count, or a counter the server keeps
 * as a plain number, such as the consensus core's looking_count). `read` returning null leaves the
 * family without a sample (HELP and TYPE only): there is nothing to report yet.
 */
export class Collected {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    private readonly read: () => number | null,
  ) {}

  get(): Rendered {
    const value = this.read();
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values: value === null ? [] : [{ labels: {}, value }] };
  }
}

// Values fall in log-spaced buckets, SUB_BUCKETS per power of two, so a reported quantile is within
// 2^(1/16) - 1 = 4.4% of the true one; the bucket reports the mean of the values in it, which is
// exact when they are all equal (whole milliseconds, batch sizes). Bucket 0 holds 0 and anything
// below 2^MIN_EXP; the last one anything from 2^MAX_EXP.
const SUB_BUCKETS = 16;
const MIN_EXP = -10; // ~1 us, in milliseconds
const MAX_EXP = 36; // ~2 years in milliseconds; 6.9e10 for counts
const BUCKETS = (MAX_EXP - MIN_EXP) * SUB_BUCKETS + 2;
const MIN_VALUE = 2 ** MIN_EXP;

function bucketOf(v: number): number {
  if (v < MIN_VALUE) return 0;
  const i = Math.floor((Math.log2(v) - MIN_EXP) * SUB_BUCKETS) + 1;
  return i < BUCKETS ? i : BUCKETS - 1;
}

/**
 * A Prometheus summary (quantiles, _sum, _count) whose observe() is a logarithm and four additions,
 * where prom-client's Summary feeds a t-digest per age bucket (about 0.2-0.7 us per value,
 * measured: too much for every request at 100k+ requests/s). Quantiles cover the last `windows`
 * periods of `periodMs` (ZooKeeper 3.8's Prometheus summaries: 10 minutes in 5 age buckets),
 * rotated by rotate(); _sum and _count cover the process lifetime, as Prometheus expects.
 * Values that are negative or NaN (a clock stepped back between two hosts) are dropped, as
 * ZooKeeper drops negative latencies.
 */
export class WindowedSummary {
  readonly type = 'summary';
  private readonly counts: Float64Array[] = [];
  private readonly sums: Float64Array[] = [];
  private current = 0;
  private count = 0;
  private sum = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly quantiles: readonly number[],
    windows = 5,
  ) {
    for (let i = 0; i < windows; i++) {
      this.counts.push(new Float64Array(BUCKETS));
      this.sums.push(new Float64Array(BUCKETS));
    }
  }

  observe(v: number): void {
    if (!(v >= 0)) return;
    const i = bucketOf(v);
    this.counts[this.current]![i]! += 1;
    this.sums[this.current]![i]! += v;
    this.count++;
    this.sum += v;
  }

  /** Drops the oldest window: its values leave the quantiles. */
  rotate(): void {
    this.current = (this.current + 1) % this.counts.length;
    this.counts[this.current]!.fill(0);
    this.sums[this.current]!.fill(0);
  }

  /** The value at quantile q of what the windows hold, NaN when they hold nothing. */
  quantile(q: number): number {
    let total = 0;
    for (const c of this.counts) for (let i = 0; i < BUCKETS; i++) total += c[i]!;
    if (total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      let n = 0;
      let s = 0;
      for (let w = 0; w < this.counts.length; w++) {
        n += this.counts[w]![i]!;
        s += this.sums[w]![i]!;
      }
      seen += n;
      if (seen >= rank) return s / n;
    }
    return Number.NaN; // not reached: seen ends at total
  }

  get(): Rendered {
    const values: Rendered['values'] = this.quantiles.map((q) => ({ labels: { quantile: String(q) }, value: this.quantile(q) }));
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: 'summary', aggregator: 'sum', values };
  }
}
