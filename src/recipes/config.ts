// ConfigWatcher: a znode's data as configuration, parsed (JSON, text, or your parser) and kept
// current with events. It is a NodeCache (persistent watch where the server has one, one-shot
// watches otherwise; see cache.ts) plus parsing: the idea of Curator's NodeCache-based config
// listeners and kazoo's DataWatch. A value that does not parse is reported ('invalid') and the
// last good value stays in force, so a bad write cannot take a running service's config away.
import type { ZooKeeperClient } from '../client/zookeeper.js';
import { NodeCache, type ChildData, type WatchMode } from './cache.js';
import { RecipeClosedError, TypedEmitter, Wake, deadlineOf, type RecipeOptions, type Stat, type WaitOptions } from './internal.js';

export type ConfigFormat<T> = 'json' | 'text' | ((data: Buffer | null) => T);

export interface ConfigWatcherOptions<T> extends RecipeOptions {
  /** 'json' (default), 'text' (UTF-8), or a function from the bytes to the value */
  format?: ConfigFormat<T>;
  watchMode?: WatchMode;
}

export interface ConfigWatcherEvents<T> {
  /** a new value is in force (the first one included) */
  change: (value: T, previous: T | undefined, stat: Stat) => void;
  /** the node was deleted; the last value stays in force (value keeps it, exists turns false) */
  deleted: () => void;
  /** the node's data did not parse; the last good value stays in force */
  invalid: (error: unknown, data: Buffer | null) => void;
  error: (e: unknown) => void;
}

export class ConfigWatcher<T = unknown> extends TypedEmitter<ConfigWatcherEvents<T>> {
  private readonly cache: NodeCache;
  private readonly parse: (data: Buffer | null) => T;
  private last: { value: T; stat: Stat } | undefined;
  private present = false;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    options: ConfigWatcherOptions<T> = {},
  ) {
    super();
    const format = options.format ?? 'json';
    this.parse =
      format === 'json'
        ? (d) => JSON.parse(d?.toString('utf8') ?? 'null') as T
        : format === 'text'
          ? (d) => (d?.toString('utf8') ?? '') as T
          : format;
    this.cache = new NodeCache(client, path, {
      ...(options.watchMode ? { watchMode: options.watchMode } : {}),
      ...(options.retryPolicy ? { retryPolicy: options.retryPolicy } : {}),
    });
    this.cache.on('change', (n) => this.onChange(n));
    this.cache.on('error', (e) => this.report(e));
  }

  /** Reads the node and starts watching; resolves once the first read is in (the node may not exist). */
  start(): Promise<void> {
    return this.cache.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters) w();
    await this.cache.close();
  }

  /** The value in force, or undefined before the node has existed with valid data. */
  get value(): T | undefined {
    return this.last?.value;
  }

  /** The Stat of the node the value came from. */
  get stat(): Stat | undefined {
    return this.last?.stat;
  }

  /** Whether the node exists now. */
  get exists(): boolean {
    return this.present;
  }

  /**
   * The value in force, waiting for the first valid one if needed: undefined after timeoutMs;
   * rejects with signal.reason on abort, RecipeClosedError when closed.
   */
  async waitForValue(o: WaitOptions = {}): Promise<T | undefined> {
    const deadline = deadlineOf(o);
    for (;;) {
      if (this.last) return this.last.value;
      if (this.closed) throw new RecipeClosedError('ConfigWatcher');
      const wake = new Wake();
      const fire = (): void => wake.fire();
      this.waiters.add(fire);
      try {
        if (!(await wake.wait(deadline, o.signal))) return undefined;
      } finally {
        this.waiters.delete(fire);
      }
    }
  }

  private onChange(n: ChildData | null): void {
    if (n === null) {
      this.present = false;
      this.emit('deleted');
      return;
    }
    this.present = true;
    let value: T;
    try {
      value = this.parse(n.data);
    } catch (e) {
      this.emit('invalid', e, n.data);
      return;
    }
    const previous = this.last?.value;
    this.last = { value, stat: n.stat };
    this.emit('change', value, previous, n.stat);
    for (const w of this.waiters) w();
  }
}
