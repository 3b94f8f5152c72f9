// One log line per refused peer connection, but not one per retry: a process that cannot
// authenticate reconnects every second or so, and its refusals would flood the log. The first
// refusal of a (host, category) pair is logged at once; repeats within the window are counted and
// the count goes out with the next line after it. The category is fixed text chosen by Ark; what
// varies with the connection (a bad magic's bytes, a claimed server id, a user name, a frame
// length: chosen by whoever connects) goes in the line's `detail` field and never into the key,
// so junk connections cannot make a line each. Lines of all pairs together are bounded per window
// too (many source addresses). Time is an argument.
import type { Logger } from '../util/log.js';

const WINDOW_MS_DEFAULT = 60_000;
/** pairs remembered at most: distinct addresses must not grow memory without bound */
const PAIRS_MAX = 1024;
/** lines per window over all pairs: a flood from many addresses is summed up, not logged line by line */
export const LINES_PER_WINDOW_MAX = 20;

interface Seen {
  loggedAt: number;
  suppressed: number;
}

export interface RefusalDetail {
  /** what varies with the connection; logged as a field, not part of the rate limit's key */
  detail?: string;
  /** which side refused (an accepted or an opened connection) */
  what?: string;
}

export class RefusalLog {
  private readonly seen = new Map<string, Seen>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private linesInWindow = 0;
  private overflow = 0;
  /** every refusal, logged or not (tests and the simulator count them) */
  count = 0;

  constructor(
    private readonly log: Pick<Logger, 'warn'>,
    private readonly windowMs = WINDOW_MS_DEFAULT,
    private readonly linesMax = LINES_PER_WINDOW_MAX,
  ) {}

  /** `remote` is host:port; `category` a fixed text (never bytes from the connection: those go in `detail`). */
  refuse(remote: string, category: string, now: number, { detail, what = 'refused a quorum peer connection' }: RefusalDetail = {}): void {
    this.count++;
    const host = remote.replace(/:\d+$/, '');
    const key = `${host}\u0000${category}`;
    const s = this.seen.get(key);
    if (s !== undefined && now - s.loggedAt < this.windowMs) {
      s.suppressed++;
      return;
    }
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.linesMax) {
      this.overflow++;
      return;
    }
    this.linesInWindow++;
    const suppressed = s?.suppressed ?? 0;
    const others = this.overflow;
    this.overflow = 0;
    this.seen.delete(key);
    if (this.seen.size >= PAIRS_MAX) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { loggedAt: now, suppressed: 0 });
    this.log.warn(
      {
        remote,
        reason: category,
        ...(detail !== undefined ? { detail } : {}),
        ...(suppressed > 0 ? { sameRefusalsNotLogged: suppressed } : {}),
        ...(others > 0 ? { otherRefusalsNotLogged: others } : {}),
      },
      `${what}: ${category}; only members with the ensemble's certificates and quorum credentials may join`,
    );
  }
}
