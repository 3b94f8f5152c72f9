// Retrying operations across connection trouble, as Curator's RetryLoop / retryUntilConnected and
// kazoo's KazooRetry do: run the operation; when it fails with an error that says "the connection
// failed, try again" (isRetryable: ConnectionLoss, OperationTimeout, RequestTimeout, SessionMoved,
// NewConfigNoQuorum, ThrottledOp), wait as the policy says (and until the client is connected
// again), then run it again. Any other error, or a policy that gives up, ends the loop with that
// error. A retried write may already have been applied the first time: write operations that are
// retried must tolerate that (e.g. treat NodeExists after a retried create as success when the
// node is yours, or use a version check).
import { isRetryable } from './errors.js';

export interface RetryPolicy {
  /**
   * The delay before retry number `retry` (1 for the first retry) after `elapsedMs` since the first
   * attempt started, or null to give up and let the error through.
   */
  nextDelayMs(retry: number, elapsedMs: number, error: unknown): number | null;
}

export interface ExponentialBackoffOptions {
  /** delay before the first retry (before jitter); default 100 */
  baseDelayMs?: number;
  /** no delay is longer than this; default 10000 */
  maxDelayMs?: number;
  /** give up after this many retries; default 10 */
  maxRetries?: number;
  /** give up once this much time has passed since the first attempt; default no limit */
  maxElapsedMs?: number;
  /** uniform random number in [0, 1); default Math.random */
  random?: () => number;
}

/**
 * Exponential backoff with jitter: retry n waits a random time between half and all of
 * min(maxDelayMs, baseDelayMs * 2^(n-1)), so clients that failed together do not retry together.
 */
export class ExponentialBackoff implements RetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetries: number;
  readonly maxElapsedMs: number;
  private readonly random: () => number;

  constructor(o: ExponentialBackoffOptions = {}) {
    this.baseDelayMs = o.baseDelayMs ?? 100;
    this.maxDelayMs = o.maxDelayMs ?? 10000;
    this.maxRetries = o.maxRetries ?? 10;
    this.maxElapsedMs = o.maxElapsedMs ?? Infinity;
    this.random = o.random ?? Math.random;
  }

  nextDelayMs(retry: number, elapsedMs: number): number | null {
    if (retry > this.maxRetries || elapsedMs >= this.maxElapsedMs) return null;
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(30, retry - 1));
    const delay = Math.floor(cap / 2 + this.random() * (cap / 2));
    return Math.max(0, Math.min(delay, this.maxElapsedMs - elapsedMs));
  }
}

/** Retries forever (until the signal aborts), at most maxDelayMs apart: Curator's RetryForever. */
export class RetryForever extends ExponentialBackoff {
  constructor(o: Omit<ExponentialBackoffOptions, 'maxRetries' | 'maxElapsedMs'> = {}) {
    super({ ...o, maxRetries: Infinity });
  }
}

/** Never retries. */
export const NO_RETRY: RetryPolicy = { nextDelayMs: () => null };

export interface RetryOptions {
  /** default: new ExponentialBackoff() (10 retries from 100 ms, at most 10 s apart) */
  policy?: RetryPolicy;
  /** stops waiting and retrying; the loop rejects with signal.reason */
  signal?: AbortSignal;
  /** which errors to retry; default isRetryable */
  retryable?: (e: unknown) => boolean;
  /**
   * Waits until the connection is back before a retry (ZooKeeperClient.waitForConnected);
   * rejects when it never will be (client closed, session expired for good).
   */
  waitForConnected?: (o: { signal?: AbortSignal }) => Promise<void>;
  /** called before each retry (logging) */
  onRetry?: (info: { retry: number; delayMs: number; error: unknown }) => void;
}

/**
 * Runs op until it succeeds, fails with an error that is not retryable, or the policy gives up.
 * op receives the attempt number (0 for the first).
 */
export async function withRetry<T>(op: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const policy = o.policy ?? new ExponentialBackoff();
  const retryable = o.retryable ?? isRetryable;
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await op(attempt);
    } catch (e) {
      if (!retryable(e)) throw e;
      const delayMs = policy.nextDelayMs(attempt + 1, Date.now() - started, e);
      if (delayMs === null) throw e;
      o.onRetry?.({ retry: attempt + 1, delayMs, error: e });
      await sleep(delayMs, o.signal);
      if (o.waitForConnected) await o.waitForConnected(o.signal ? { signal: o.signal } : {});
    }
  }
}

/** Resolves after ms, or rejects with signal.reason when the signal aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
