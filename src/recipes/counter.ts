// Shared counters on one znode, changed only by versioned setData (compare-and-set):
//
// - SharedCount (Curator's SharedCount / SharedValue): a 32-bit count, 4 bytes big-endian as
//   Curator stores it, watched so every participant sees changes (events); setCount() writes
//   unconditionally, trySetCount() only over the version it read.
// - DistributedAtomicLong (Curator's DistributedAtomicLong, optimistic mode): a 64-bit value,
//   8 bytes big-endian as Curator's; add/increment/compareAndSet read, compute and write at the
//   version read, and try again (per the retry policy) when another writer got in between.
//
// A write whose reply is lost with the connection may or may not have been applied. Retrying it
// blindly could apply an increment twice; so after a lost reply the node is read again, and the
// write counts as ours when the node is at exactly the next version and holds exactly our value.
// (It can be wrong only if another writer, at that same version, wrote the very same value:
// for add() that means two writers who read the same value and added the same delta, where only
// one of the two writes can have gone through; the version check then reports the other one's
// write as ours. Curator's recipes retry without any check.)
import { BadVersionError, NoNodeError, NodeExistsError, isRetryable } from '../client/errors.js';
import { ExponentialBackoff, sleep, type RetryPolicy } from '../client/retry.js';
import type { ZooKeeperClient } from '../client/zookeeper.js';
import {
  Kicker,
  Ops,
  RecipeClosedError,
  RecipeError,
  TypedEmitter,
  onConnectionChange,
  type RecipeOptions,
  type Stat,
} from './internal.js';

/** Writes `bytes` at `version` (or creates the node when version is null); true when ours went through. */
async function casWrite(ops: Ops, path: string, bytes: Buffer, version: number | null): Promise<boolean> {
  const client = ops.client;
  for (let lost = false; ; ) {
    try {
      if (version === null) await client.create(path, bytes, { createParents: 'container' });
      else await client.setData(path, bytes, { version });
      return true;
    } catch (e) {
      if (e instanceof BadVersionError || e instanceof NodeExistsError || (e instanceof NoNodeError && version !== null)) {
        if (!lost) return false;
        // the first attempt may have been ours (see the file comment)
        const now = await ops.getDataOrNull(path);
        const expected = version === null ? 0 : version + 1;
        return now !== null && now.stat.version === expected && now.data?.equals(bytes) === true;
      }
      if (!isRetryable(e)) throw e;
      lost = true;
      await client.waitForConnected();
    }
  }
}

// ---------- SharedCount ----------

export interface VersionedValue<T> {
  value: T;
  /** the znode's version when the value was read; -1 before the first read */
  version: number;
}

export interface SharedCountEvents {
  /** the count changed (seen through the watch; a participant's own writes included) */
  change: (count: number, previous: number) => void;
  /** the connection was lost: the count seen may be stale until 'reconnected' */
  suspended: () => void;
  reconnected: () => void;
  error: (e: unknown) => void;
}

/**
 * A shared 32-bit count (Curator's SharedCount). start() creates the node with the seed value if
 * it does not exist, reads it and keeps a watch on it; the count is then known locally
 * (getCount()) and every change is an event.
 */
export class SharedCount extends TypedEmitter<SharedCountEvents> {
  private readonly ops: Ops;
  private current: VersionedValue<number>;
  private readonly kicker: Kicker;
  private state: 'latent' | 'started' | 'closed' = 'latent';
  private unsubscribe: (() => void) | null = null;
  private readonly watcher = (): void => this.kicker.kick();

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    readonly seedValue: number,
    options: RecipeOptions = {},
  ) {
    super();
    checkInt32(seedValue);
    this.ops = new Ops(client, options.retryPolicy);
    this.current = { value: seedValue, version: -1 };
    this.kicker = new Kicker(
      client,
      () => this.read(),
      (e) => this.report(e),
    );
  }

  async start(): Promise<void> {
    if (this.state !== 'latent') throw new RecipeClosedError('SharedCount (already started)');
    this.state = 'started';
    try {
      await this.ops.retry(() => this.client.create(this.path, int32Bytes(this.seedValue), { createParents: 'container' }));
    } catch (e) {
      if (!(e instanceof NodeExistsError)) throw e;
    }
    this.unsubscribe = onConnectionChange(this.client, (c) => {
      if (c === 'suspended') this.emit('suspended');
      if (c === 'reconnected') this.emit('reconnected');
      if (c === 'reconnected' || c === 'renewed') this.kicker.kick();
    });
    this.kicker.kick();
    await this.kicker.idle();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.kicker.stop();
    this.unsubscribe?.();
    this.ops.forgetWatch(this.path, this.watcher);
  }

  /** The count as last seen. */
  getCount(): number {
    return this.current.value;
  }

  /** The count with the version it was read at, for trySetCount. */
  getVersionedValue(): VersionedValue<number> {
    return { ...this.current };
  }

  /** Sets the count whatever it is now. */
  async setCount(count: number): Promise<void> {
    checkInt32(count);
    const stat = await this.ops.retry(() => this.client.setData(this.path, int32Bytes(count)));
    this.update(count, stat);
  }

  /**
   * Sets the count only if it has not changed since `previous` was read (its version): true when
   * it did, false when another participant changed it first (read getVersionedValue() again).
   */
  async trySetCount(previous: VersionedValue<number>, count: number): Promise<boolean> {
    checkInt32(count);
    const ok = await casWrite(this.ops, this.path, int32Bytes(count), previous.version);
    if (ok) this.update(count, { version: previous.version + 1 });
    else this.kicker.kick();
    return ok;
  }

  private async read(): Promise<void> {
    if (this.state !== 'started') return;
    const d = await this.ops.getDataOrNull(this.path, { watch: this.watcher });
    if (!d) {
      // deleted: watch for it to come back
      await this.ops.retry(() => this.client.exists(this.path, { watch: this.watcher }));
      return;
    }
    this.update(readInt32(d.data), d.stat);
  }

  private update(value: number, stat: Pick<Stat, 'version'>): void {
    if (stat.version <= this.current.version) return;
    const previous = this.current.value;
    this.current = { value, version: stat.version };
    if (value !== previous) this.emit('change', value, previous);
  }
}

function checkInt32(n: number): void {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff)
    throw new RecipeError('BAD_ARGUMENT', `a SharedCount holds a 32-bit integer, not ${n}`);
}

function int32Bytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function readInt32(b: Buffer | null): number {
  if (!b || b.length < 4) return 0;
  return b.readInt32BE(0);
}

// ---------- DistributedAtomicLong ----------

/** The outcome of an atomic operation (Curator's AtomicValue). */
export interface AtomicValue {
  /** false when the policy gave up before a write went through (preValue/postValue are then the last seen) */
  succeeded: boolean;
  preValue: bigint;
  postValue: bigint;
}

export interface AtomicLongOptions extends RecipeOptions {
  /** how often to try again when another writer got in between; default 30 times, 10-500 ms apart */
  contentionPolicy?: RetryPolicy;
}

/**
 * A 64-bit counter (Curator's DistributedAtomicLong, optimistic). A missing node reads as 0 and is
 * created by the first write.
 */
export class DistributedAtomicLong {
  private readonly ops: Ops;
  private readonly contention: RetryPolicy;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    options: AtomicLongOptions = {},
  ) {
    this.ops = new Ops(client, options.retryPolicy);
    this.contention = options.contentionPolicy ?? new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 500, maxRetries: 30 });
  }

  /** The current value (0 when the node does not exist). */
  async get(): Promise<bigint> {
    return (await this.read()).value;
  }

  increment(): Promise<AtomicValue> {
    return this.add(1n);
  }

  decrement(): Promise<AtomicValue> {
    return this.add(-1n);
  }

  add(delta: bigint | number): Promise<AtomicValue> {
    const d = BigInt(delta);
    return this.modify((v) => BigInt.asIntN(64, v + d));
  }

  subtract(delta: bigint | number): Promise<AtomicValue> {
    return this.add(-BigInt(delta));
  }

  /** Sets newValue only if the value is `expected` now: succeeded tells. */
  async compareAndSet(expected: bigint | number, newValue: bigint | number): Promise<AtomicValue> {
    const e = BigInt(expected);
    const n = BigInt(newValue);
    const cur = await this.read();
    if (cur.value !== e) return { succeeded: false, preValue: cur.value, postValue: cur.value };
    const ok = await casWrite(this.ops, this.path, int64Bytes(n), cur.version);
    return { succeeded: ok, preValue: cur.value, postValue: ok ? n : cur.value };
  }

  /** Sets the value over whatever it is (still a CAS loop, so preValue is exact). */
  trySet(newValue: bigint | number): Promise<AtomicValue> {
    const n = BigInt(newValue);
    return this.modify(() => n);
  }

  /** Creates the node with this value only if it does not exist: true when it did. */
  async initialize(value: bigint | number): Promise<boolean> {
    return casWrite(this.ops, this.path, int64Bytes(BigInt(value)), null);
  }

  private async read(): Promise<{ value: bigint; version: number | null }> {
    const d = await this.ops.getDataOrNull(this.path);
    if (!d) return { value: 0n, version: null };
    return { value: d.data && d.data.length >= 8 ? d.data.readBigInt64BE(0) : 0n, version: d.stat.version };
  }

  private async modify(f: (v: bigint) => bigint): Promise<AtomicValue> {
    const started = Date.now();
    let last = 0n;
    for (let retry = 1; ; retry++) {
      const cur = await this.read();
      last = cur.value;
      const next = f(cur.value);
      if (await casWrite(this.ops, this.path, int64Bytes(next), cur.version))
        return { succeeded: true, preValue: cur.value, postValue: next };
      const delay = this.contention.nextDelayMs(retry, Date.now() - started, null);
      if (delay === null) return { succeeded: false, preValue: last, postValue: last };
      await sleep(delay);
    }
  }
}

function int64Bytes(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, n));
  return b;
}
