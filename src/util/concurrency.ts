// A bound on how many async tasks of one kind run at once inside this process (e.g. writes
// pipelined on one connection). Not to be confused with the Semaphore recipe in src/recipes,
// which coordinates processes through znodes. PURE.

export class ConcurrencyLimit {
  private free: number;
  /** tasks waiting for a slot, in arrival order */
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`a concurrency limit must be at least 1, not ${max}`);
    this.free = max;
  }

  /** Runs task once fewer than `max` run; its slot goes to the next waiting task when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next)
      next(); // the slot passes straight on, so a newcomer cannot overtake the queue
    else this.free++;
  }
}
