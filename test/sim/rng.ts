// Seeded deterministic PRNG for the simulator (reliability.md §2: every source of randomness goes
// through one seeded generator, and each subsystem gets its own stream split from the seed).
//
// Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, 32-bit
// output), seeded with splitmix32-style finalisers from a 53-bit integer seed. No Math.random.

const TWO32 = 4294967296;
const SEED_LIMIT = 2 ** 53;

/** murmur3 fmix32: a bijective 32-bit finaliser with full avalanche. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 32-bit hash of a string's UTF-16 code units, keyed by `basis`. */
function hashLabel(label: string, basis: number): number {
  let h = fmix32(basis ^ label.length);
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return fmix32(h);
}

function seedWords(seed: number): [lo: number, hi: number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Rng seed must be an integer in [0, 2^53), got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / TWO32) >>> 0];
}

export class Rng {
  /** The seed this generator was built from; `new Rng(r.seed)` replays `r` from the start. */
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.seed = seed;
    const [lo, hi] = seedWords(seed);
    // splitmix32: a Weyl sequence through fmix32, started from both seed words.
    let s = fmix32(lo ^ fmix32(hi ^ 0x6a09e667));
    const sm = (): number => {
      s = (s + 0x9e3779b9) | 0;
      return fmix32(s);
    };
    this.a = sm() | 0;
    this.b = sm() | 0;
    this.c = sm() | 0;
    this.d = sm() | 0;
    for (let i = 0; i < 15; i++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.uint32() / TWO32;
  }

  /** Uniform integer in [0, n); n must be a positive integer <= 2^32. Unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO32) throw new RangeError(`Rng.int: bad bound ${n}`);
    // Reject the top partial bucket so every residue is equally likely.
    const limit = TWO32 - (TWO32 % n);
    for (;;) {
      const x = this.uint32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) {
      throw new RangeError(`Rng.range: bad range [${lo}, ${hi}]`);
    }
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p (p <= 0 never, p >= 1 always; always consumes one draw). */
  bool(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError('Rng.pick: empty array');
    return arr[this.int(arr.length)] as T;
  }

  /** Fisher-Yates shuffle in place; returns `arr`. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i] as T;
      arr[i] = arr[j] as T;
      arr[j] = t;
    }
    return arr;
  }

  /** Exponentially distributed with the given mean (0 if mean <= 0, still consuming one draw). */
  exp(mean: number): number {
    const u = this.next(); // [0, 1) so 1 - u is in (0, 1] and the log is finite
    return mean > 0 ? -mean * Math.log(1 - u) : 0;
  }

  /**
   * An independent stream derived from this generator's seed and `label` only: it neither reads
   * nor advances this generator's position, so `r.split('net')` is the same stream whenever it is
   * called, and adding or removing draws elsewhere does not perturb it. Nested splits compose
   * (`r.split('a').split('b')` differs from `r.split('b').split('a')`).
   */
  split(label: string): Rng {
    return new Rng(Rng.deriveSeed(this.seed, label));
  }

  /** The seed of `new Rng(seed).split(label)`, a 53-bit integer (handy for logging/replay). */
  static deriveSeed(seed: number, label: string): number {
    const [lo, hi] = seedWords(seed);
    const h1 = hashLabel(label, 0x243f6a88 ^ hi);
    const h2 = hashLabel(label, 0x85a308d3 ^ lo);
    const childLo = fmix32(lo ^ h1 ^ fmix32(hi ^ 0x13198a2e));
    const childHi = fmix32((hi + h2 + fmix32(lo ^ 0x03707344)) >>> 0) & 0x1fffff;
    const child = childHi * TWO32 + childLo;
    return child < SEED_LIMIT ? child : child % SEED_LIMIT;
  }
}
