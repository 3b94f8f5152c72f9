// Jute binary encoding (zookeeper-jute): big-endian int32/int64, 1-byte bool,
// ustring/buffer = int32 length (-1 = null) + bytes, vector = int32 count (-1 = null) + items.
// Every length read from the wire is checked against the bytes that remain before anything is allocated.
import { ErrorCode, KeeperError } from '../util/errors.js';

const TWO_32 = 4294967296;

function marshalling(what: string): KeeperError {
  return new KeeperError(ErrorCode.MarshallingError, undefined, { cause: new Error(what) });
}

export class JuteReader {
  private offset: number;
  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }
  get position(): number {
    return this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.end) {
      throw marshalling(`${what}: needs ${n} bytes at offset ${this.offset}, ${this.end - this.offset} left`);
    }
  }

  int(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** int64 as a JS number; zxids, times and versions stay far below 2^53. */
  long(): number {
    this.need(8, 'long');
    const hi = this.buf.readInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) throw marshalling(`long out of safe range at offset ${this.offset - 8}`);
    return v;
  }

  /** int64 as a bigint: session ids and ephemeral owners use all 64 bits. */
  longBig(): bigint {
    this.need(8, 'long');
    const at = this.offset;
    this.offset += 8;
    // most longs read this way are session ids and ephemeral owners, mostly 0: no BigInt made for it
    if (this.buf.readInt32BE(at) === 0 && this.buf.readInt32BE(at + 4) === 0) return 0n;
    return this.buf.readBigInt64BE(at);
  }

  byte(): number {
    this.need(1, 'byte');
    return this.buf[this.offset++]!;
  }

  bool(): boolean {
    this.need(1, 'bool');
    const v = this.buf[this.offset]!;
    this.offset += 1;
    return v !== 0;
  }

  /** A buffer field's length prefix, its bytes checked present (they start at offset); null for length -1. */
  private bufferLength(): number | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < -1) throw marshalling(`negative buffer length ${len}`);
    this.need(len, 'buffer');
    return len;
  }

  /** buffer: null (length -1) is returned as null. The bytes are a view into the frame. */
  bufferOrNull(): Buffer | null {
    const len = this.bufferLength();
    if (len === null) return null;
    const v = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return v;
  }

  /** A buffer field as a latin1 string (one char per byte), or null: a znode's data without a Buffer in between. */
  latin1OrNull(): string | null {
    const len = this.bufferLength();
    if (len === null) return null;
    const v = this.buf.toString('latin1', this.offset, this.offset + len);
    this.offset += len;
    return v;
  }

  buffer(): Buffer {
    return this.bufferOrNull() ?? EMPTY;
  }

  stringOrNull(): string | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < -1) throw marshalling(`negative string length ${len}`);
    this.need(len, 'ustring');
    const v = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return v;
  }

  string(): string {
    const s = this.stringOrNull();
    if (s === null) throw marshalling('null string where a string is required');
    return s;
  }

  /** vector: the count is checked against the bytes left (each item takes at least minItemBytes). */
  vector<T>(readItem: (r: JuteReader) => T, minItemBytes: number): T[] | null {
    const count = this.int();
    if (count === -1) return null;
    if (count < -1) throw marshalling(`negative vector count ${count}`);
    if (count * minItemBytes > this.remaining) {
      throw marshalling(`vector of ${count} items cannot fit in ${this.remaining} bytes`);
    }
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = readItem(this);
    return out;
  }

  stringVector(): string[] {
    return this.vector((r) => r.string(), 4) ?? [];
  }
}

export const EMPTY = Buffer.alloc(0);

/** A DataView over exactly the bytes of b (a Buffer may be a slice of a larger, pooled ArrayBuffer). */
export function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A growable writer that reuses one scratch buffer; take() copies out the written bytes. */
export class JuteWriter {
  private buf: Buffer;
  /** the numbers go in through a DataView over buf: Buffer's writeInt32BE and friends check their arguments at every call */
  private dv: DataView;
  private offset = 0;
  /**
   * @param bytesMax writing past this many bytes throws MarshallingError instead of growing (a
   *   reply over the server's bound must not cost it more than the bound first)
   */
  constructor(
    private readonly initialBytes = 256,
    private readonly bytesMax = Number.MAX_SAFE_INTEGER,
  ) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.dv = viewOf(this.buf);
  }

  /** Gives back a buffer that one large record grew, keeping at most keepBytes. */
  shrink(keepBytes: number): void {
    if (this.buf.length > keepBytes && this.offset === 0) {
      this.buf = Buffer.allocUnsafe(this.initialBytes);
      this.dv = viewOf(this.buf);
    }
  }

  get length(): number {
    return this.offset;
  }

  reset(): this {
    this.offset = 0;
    return this;
  }

  private ensure(n: number): void {
    if (this.offset + n <= this.buf.length) return;
    if (this.offset + n > this.bytesMax) {
      throw new KeeperError(ErrorCode.MarshallingError, undefined, { cause: new Error(`record larger than ${this.bytesMax} bytes`) });
    }
    let size = this.buf.length * 2;
    while (size < this.offset + n) size *= 2;
    // doubling stops at the bound: a 1 GiB bound must not allocate 2 GiB
    size = Math.min(size, this.bytesMax);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
    this.dv = viewOf(next);
  }

  int(v: number): this {
    this.ensure(4);
    this.dv.setInt32(this.offset, v | 0);
    this.offset += 4;
    return this;
  }

  long(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    this.dv.setInt32(this.offset, hi);
    this.dv.setUint32(this.offset + 4, lo);
    this.offset += 8;
    return this;
  }

  longBig(v: bigint): this {
    this.ensure(8);
    this.dv.setBigInt64(this.offset, v);
    this.offset += 8;
    return this;
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.offset++] = v & 0xff;
    return this;
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.offset++] = v ? 1 : 0;
    return this;
  }

  buffer(v: Buffer | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.ensure(v.length);
    v.copy(this.buf, this.offset);
    this.offset += v.length;
    return this;
  }

  /** A jute buffer whose bytes are held as a latin1 string (one char per byte). */
  latin1Buffer(v: string | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.ensure(v.length);
    this.offset += this.buf.write(v, this.offset, 'latin1');
    return this;
  }

  string(v: string | null): this {
    if (v === null) return this.int(-1);
    const max = Buffer.byteLength(v, 'utf8');
    this.int(max);
    this.ensure(max);
    this.offset += this.buf.write(v, this.offset, 'utf8');
    return this;
  }

  stringVector(v: readonly string[] | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    for (const s of v) this.string(s);
    return this;
  }

  vector<T>(items: readonly T[] | null, writeItem: (w: JuteWriter, item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  raw(b: Buffer): this {
    this.ensure(b.length);
    b.copy(this.buf, this.offset);
    this.offset += b.length;
    return this;
  }

  /** Reserve an int32 to fill later (frame length prefix). */
  reserveInt(): number {
    this.ensure(4);
    const at = this.offset;
    this.offset += 4;
    return at;
  }
  patchInt(at: number, v: number): void {
    this.dv.setInt32(at, v);
  }

  /** The bytes written from `start` on, without a copy: valid only until the next write or reset. */
  view(start: number, end = this.offset): Buffer {
    return this.buf.subarray(start, end);
  }

  /** A copy of the bytes written so far. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.offset));
  }
}
