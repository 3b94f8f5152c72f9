// Quotas as ZooKeeper 3.7+: /zookeeper/quota/<path>/zookeeper_limits holds the limits
// ("count=..,bytes=..,countHardLimit=..,byteHardLimit=.."), /zookeeper/quota/<path>/zookeeper_stats
// the usage that the server keeps current. Soft limits only warn; hard limits are enforced by prep
// when enforceQuota=true (QuotaExceeded).

export const QUOTA_ROOT = '/zookeeper/quota';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

/** StatsTrack: key=value pairs; a missing key reads as -1. */
export class StatsTrack {
  readonly values = new Map<string, number>();

  constructor(text?: string | null) {
    if (!text) return;
    for (const pair of text.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const v = Number(pair.slice(eq + 1).trim());
      if (Number.isFinite(v)) this.values.set(pair.slice(0, eq).trim(), v);
    }
  }

  get(key: string): number {
    return this.values.get(key) ?? -1;
  }
  get count(): number { return this.get('count'); }
  get bytes(): number { return this.get('bytes'); }
  get countHardLimit(): number { return this.get('countHardLimit'); }
  get byteHardLimit(): number { return this.get('byteHardLimit'); }

  /** count and bytes first, then the other keys sorted (StatsTrack.toString) */
  toString(): string {
    const rest = [...this.values.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    return [`count=${this.count}`, `bytes=${this.bytes}`, ...rest.map((k) => `${k}=${this.values.get(k)}`)].join(',');
  }
}

export function limitPath(path: string): string {
  return `${QUOTA_ROOT}${path}/${LIMIT_NODE}`;
}
export function statPath(path: string): string {
  return `${QUOTA_ROOT}${path}/${STAT_NODE}`;
}
/** /zookeeper/quota/app/x -> /app/x */
export function trimQuotaPath(quotaPath: string): string {
  return quotaPath.slice(QUOTA_ROOT.length);
}

/** The over-limit problem of a change, or null: (hard ? must refuse : should warn). */
export function quotaViolation(prefix: string, limits: StatsTrack, usage: StatsTrack, countDiff: number, bytesDiff: number): { hard: boolean; message: string } | null {
  if (countDiff !== 0 && (limits.count > -1 || limits.countHardLimit > -1)) {
    const hard = limits.countHardLimit > -1;
    const limit = hard ? limits.countHardLimit : limits.count;
    const next = usage.count + countDiff;
    if (next > limit) return { hard, message: `Quota exceeded: ${prefix} [current count=${next}, ${hard ? 'hard' : 'soft'}CountLimit=${limit}]` };
  }
  if (bytesDiff !== 0 && (limits.bytes > -1 || limits.byteHardLimit > -1)) {
    const hard = limits.byteHardLimit > -1;
    const limit = hard ? limits.byteHardLimit : limits.bytes;
    const next = usage.bytes + bytesDiff;
    if (next > limit) return { hard, message: `Quota exceeded: ${prefix} [current bytes=${next}, ${hard ? 'hard' : 'soft'}ByteLimit=${limit}]` };
  }
  return null;
}
