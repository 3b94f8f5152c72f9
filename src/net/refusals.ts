// One log line per refused peer connection, but not one per retry: a process that cannot
// authenticate reconnects every second or so, and its refusals would flood the log. The first
// refusal of a (host, reason) pair is logged at once; repeats within the window are counted and
// the count goes out with the next line after it. Time is an argument.
import type { Logger } from '../util/log.js';

const WINDOW_MS_DEFAULT = 60_000;
/** pairs remembered at most: distinct addresses must not grow memory without bound */
const PAIRS_MAX = 1024;

interface Seen {
  loggedAt: number;
  suppressed: number;
}

export class RefusalLog {
  private readonly seen = new Map<string, Seen>();
  /** every refusal, logged or not (tests and the simulator count them) */
  count = 0;

  constructor(
    private readonly log: Pick<Logger, 'warn'>,
    private readonly windowMs = WINDOW_MS_DEFAULT,
  ) {}

  /** `remote` is host:port; `what` says which side refused (an accepted or an opened connection). */
  refuse(remote: string, reason: string, now: number, what = 'refused a quorum peer connection'): void {
    this.count++;
    const host = remote.replace(/:\d+$/, '');
    const key = `${host}\u0000${reason}`;
    const s = this.seen.get(key);
    if (s !== undefined && now - s.loggedAt < this.windowMs) {
      s.suppressed++;
      return;
    }
    const suppressed = s?.suppressed ?? 0;
    this.seen.delete(key);
    if (this.seen.size >= PAIRS_MAX) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { loggedAt: now, suppressed: 0 });
    this.log.warn(
      { remote, reason, ...(suppressed > 0 ? { sameRefusalsNotLogged: suppressed } : {}) },
      `${what}: ${reason}; only members with the ensemble's certificates and quorum credentials may join`,
    );
  }
}
