// Quotas as ZooKeeper 3.7+: /zookeeper/quota/<path>/zookeeper_limits holds the limits
// ("count=..,bytes=..,countHardLimit=..,byteHardLimit=.."), /zookeeper/quota/<path>/zookeeper_stats
// the usage that the server keeps current. Soft limits only warn; hard limits are enforced by prep
// when enforceQuota=true (QuotaExceeded).

export const QUOTA_ROOT = '/zookeeper/quota';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

/**
 * StatsTrack: key=value pairs; a missing key reads as -1. Read and written as ZooKeeper 3.7+ does:
 * pairs separated by commas or semicolons, and the text `count=C,bytes=B` first, with any other
 * keys after an extra "=" as ";key=value" (zkCli's setquota -N/-B writes
 * "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2"; older readers stop at "bytes=-1=").
 */
export class StatsTrack {
  readonly values = new Map<string, number>();

  constructor(text?: string | null) {
    if (!text) return;
    for (const pair of text.split(/[,;]+/)) {
      const [key, value] = pair.split('=');
      // a piece without "=" is no pair (ZooKeeper refuses the whole text; it is left out here)
      if (!key || value === undefined) continue;
      const v = value.trim() === '' ? -1 : Number(value.trim());
      if (Number.isFinite(v)) this.values.set(key.trim(), v);
    }
  }

  get(key: string): number {
    return this.values.get(key) ?? -1;
  }
  get count(): number {
    return this.get('count');
  }
  get bytes(): number {
    return this.get('bytes');
  }
  get countHardLimit(): number {
    return this.get('countHardLimit');
  }
  get byteHardLimit(): number {
    return this.get('byteHardLimit');
  }

  /** StatsTrack.toString: count and bytes first, then "=" and the other keys sorted, each ";key=value" */
  toString(): string {
    const rest = [...this.values.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    const head = `count=${this.count},bytes=${this.bytes}`;
    return rest.length === 0 ? head : `${head}=${rest.map((k) => `;${k}=${this.values.get(k)}`).join('')}`;
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
export function quotaViolation(
  prefix: string,
  limits: StatsTrack,
  usage: StatsTrack,
  countDiff: number,
  bytesDiff: number,
): { hard: boolean; message: string } | null {
  if (countDiff !== 0 && (limits.count > -1 || limits.countHardLimit > -1)) {
    const hard = limits.countHardLimit > -1;
    const limit = hard ? limits.countHardLimit : limits.count;
    const next = usage.count + countDiff;
    if (next > limit)
      return { hard, message: `Quota exceeded: ${prefix} [current count=${next}, ${hard ? 'hard' : 'soft'}CountLimit=${limit}]` };
  }
  if (bytesDiff !== 0 && (limits.bytes > -1 || limits.byteHardLimit > -1)) {
    const hard = limits.byteHardLimit > -1;
    const limit = hard ? limits.byteHardLimit : limits.bytes;
    const next = usage.bytes + bytesDiff;
    if (next > limit)
      return { hard, message: `Quota exceeded: ${prefix} [current bytes=${next}, ${hard ? 'hard' : 'soft'}ByteLimit=${limit}]` };
  }
  return null;
}
