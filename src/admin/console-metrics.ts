// The web console's metrics page: the server's own counters sampled every 5 s for the last hour,
// kept in memory (no Prometheus needed), and turned into rates and interval averages for charts.
// Counters that srst / crst reset make a negative step: that interval counts as zero.
import type { ServerView } from './fourletter.js';

export interface MetricsSample {
  t: number;
  /** client packets received (a request each) */
  packetsReceived: number;
  /** requests answered, and their summed latency (ms) */
  completed: number;
  totalLatencyMs: number;
  fsyncCount: number;
  fsyncSumMs: number;
  znodes: number;
  watches: number;
  connections: number;
  outstanding: number;
}

export const SAMPLE_EVERY_MS = 5000;
/** one hour of samples */
const KEEP = 720;

export class MetricsHistory {
  private readonly samples: MetricsSample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly read: () => MetricsSample | null) {}

  start(): void {
    this.take();
    this.timer = setInterval(() => this.take(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** one sample now (the timer's; tests call it) */
  take(): void {
    const s = this.read();
    if (!s) return; // not loaded yet
    this.samples.push(s);
    if (this.samples.length > KEEP) this.samples.shift();
  }

  /** series for charts: at each sample after the first, the rate or average over the interval before it */
  series(): Record<string, number[]> {
    const out: Record<string, number[]> = {
      t: [],
      requestsPerSec: [],
      avgLatencyMs: [],
      fsyncAvgMs: [],
      znodes: [],
      watches: [],
      connections: [],
      outstanding: [],
    };
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1]!;
      const b = this.samples[i]!;
      const d = (k: keyof MetricsSample): number => Math.max(0, b[k] - a[k]);
      const secs = Math.max(0.001, (b.t - a.t) / 1000);
      out.t!.push(b.t / 1000);
      out.requestsPerSec!.push(round(d('packetsReceived') / secs));
      out.avgLatencyMs!.push(d('completed') === 0 ? 0 : round(d('totalLatencyMs') / d('completed')));
      out.fsyncAvgMs!.push(d('fsyncCount') === 0 ? 0 : round(d('fsyncSumMs') / d('fsyncCount')));
      out.znodes!.push(b.znodes);
      out.watches!.push(b.watches);
      out.connections!.push(b.connections);
      out.outstanding!.push(b.outstanding);
    }
    return out;
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** The counters the metrics page charts, now (console-metrics.ts); null while the data dir loads. */
export function metricsSample(v: ServerView): MetricsSample | null {
  if (v.loading?.()) return null;
  const core = v.core;
  return {
    t: v.now(),
    packetsReceived: core.stats.packetsReceived,
    completed: core.stats.completed,
    totalLatencyMs: core.stats.totalLatencyMs,
    fsyncCount: v.stats.fsync.count,
    fsyncSumMs: v.stats.fsync.sum,
    znodes: core.tree.reportedNodeCount,
    watches: core.tree.dataWatches.size + core.tree.childWatches.size,
    connections: core.conns.size,
    outstanding: core.outstanding,
  };
}
