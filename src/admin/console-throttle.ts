// Failed console logins slow down guessing: after FREE_FAILURES failures in a row from one address,
// that address must wait before its next try, twice as long after each further failure (capped).
// A success clears the count. Time comes in as an argument, so tests need no clock.

const FREE_FAILURES = 5;
const FIRST_WAIT_MS = 1000;
const MAX_WAIT_MS = 5 * 60_000;
/** addresses remembered at most; the oldest entries go first (a flood of addresses cannot grow it without bound) */
const ADDRESSES_MAX = 10_000;

export class LoginThrottle {
  private readonly byAddress = new Map<string, { failures: number; notBeforeMs: number }>();

  /** ms until `address` may try again; 0: now */
  waitMs(address: string, nowMs: number): number {
    const e = this.byAddress.get(address);
    return e ? Math.max(0, e.notBeforeMs - nowMs) : 0;
  }

  failed(address: string, nowMs: number): void {
    const e = this.byAddress.get(address) ?? { failures: 0, notBeforeMs: 0 };
    e.failures++;
    const over = e.failures - FREE_FAILURES;
    e.notBeforeMs = over >= 0 ? nowMs + Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** over) : 0;
    this.byAddress.delete(address);
    this.byAddress.set(address, e);
    while (this.byAddress.size > ADDRESSES_MAX) this.byAddress.delete(this.byAddress.keys().next().value!);
  }

  succeeded(address: string): void {
    this.byAddress.delete(address);
  }
}
