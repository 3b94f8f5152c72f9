// Binary encoding of the Zab peer messages (messages.ts) for the peer transport. Pure: bytes in,
// bytes out, no I/O.
//
// Layout: uint8 type tag, uint8 codec version, then the message's fields in the order of its
// schema below:
//   u64       zxids, epochs, rounds, barrier ids: uint64 big-endian, a safe integer (< 2^53)
//   bool      one byte, 0 or 1
//   bytes     int32 length + bytes
//   mode      one byte: 0 diff, 1 trunc, 2 snap
//   entry     u64 zxid + bytes
//   entries   int32 count + entries
//   snapshot  presence byte (0 = null, 1 = present) + u64 zxid + bytes
//
// Decoding trusts nothing: every length and count is checked against the bytes that remain before
// anything is allocated (ARCHITECTURE.md, "limits everywhere"), trailing bytes are refused, and
// every failure is a PeerCodecError (ZOOKEEPER-2186: garbage on the quorum port must not take a
// server down). Decoded Uint8Array fields are views into the input buffer, not copies.
import type { Complete, FieldsMissing, FieldsOf } from '../util/schema.js';
import type { Entry, Msg, MsgType, SnapshotImage } from './messages.js';

export const PEER_CODEC_VERSION = 1;

/** The input is not a well-formed peer message (or, when encoding, the message is not encodable). */
export class PeerCodecError extends Error {
  readonly code = 'ERR_PEER_CODEC';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PeerCodecError';
  }
}

export interface PeerCodecLimits {
  /** most entries a sync message may carry; unlimited by default (still bounded by the bytes) */
  entriesMax?: number;
}

type Kind = 'u64' | 'bool' | 'bytes' | 'mode' | 'entry' | 'entries' | 'snapshot';
type Schema = { [T in MsgType]: { tag: number; fields: readonly (readonly [FieldsOf<Msg, T>, Kind])[] } };

// Tags are wire format: never renumber, only add. A message added to messages.ts without a schema
// here, or a field added to one without its line here, does not compile (see FieldsComplete).
const SCHEMA = {
  vote_req: {
    tag: 1,
    fields: [
      ['epoch', 'u64'],
      ['currentEpoch', 'u64'],
      ['lastZxid', 'u64'],
    ],
  },
  vote: {
    tag: 2,
    fields: [
      ['epoch', 'u64'],
      ['granted', 'bool'],
    ],
  },
  leader_hello: { tag: 3, fields: [['epoch', 'u64']] },
  follower_info: {
    tag: 4,
    fields: [
      ['epoch', 'u64'],
      ['seq', 'u64'],
      ['currentEpoch', 'u64'],
      ['lastZxid', 'u64'],
      ['observer', 'bool'],
    ],
  },
  sync: {
    tag: 5,
    fields: [
      ['epoch', 'u64'],
      ['seq', 'u64'],
      ['mode', 'mode'],
      ['prevZxid', 'u64'],
      ['snapshot', 'snapshot'],
      ['entries', 'entries'],
      ['newLeaderZxid', 'u64'],
    ],
  },
  sync_nak: {
    tag: 6,
    fields: [
      ['epoch', 'u64'],
      ['seq', 'u64'],
    ],
  },
  ack_newleader: {
    tag: 7,
    fields: [
      ['epoch', 'u64'],
      ['zxid', 'u64'],
    ],
  },
  uptodate: {
    tag: 8,
    fields: [
      ['epoch', 'u64'],
      ['commitZxid', 'u64'],
    ],
  },
  propose: {
    tag: 9,
    fields: [
      ['epoch', 'u64'],
      ['entry', 'entry'],
    ],
  },
  ack: {
    tag: 10,
    fields: [
      ['epoch', 'u64'],
      ['zxid', 'u64'],
    ],
  },
  commit: {
    tag: 11,
    fields: [
      ['epoch', 'u64'],
      ['zxid', 'u64'],
    ],
  },
  ping: {
    tag: 12,
    fields: [
      ['epoch', 'u64'],
      ['round', 'u64'],
      ['commitZxid', 'u64'],
    ],
  },
  pong: {
    tag: 13,
    fields: [
      ['epoch', 'u64'],
      ['round', 'u64'],
    ],
  },
  barrier: {
    tag: 14,
    fields: [
      ['epoch', 'u64'],
      ['id', 'u64'],
    ],
  },
  barrier_ok: {
    tag: 15,
    fields: [
      ['epoch', 'u64'],
      ['id', 'u64'],
      ['zxid', 'u64'],
    ],
  },
  app: {
    tag: 16,
    fields: [
      ['epoch', 'u64'],
      ['data', 'bytes'],
    ],
  },
  prevote_req: {
    tag: 17,
    fields: [
      ['epoch', 'u64'],
      ['currentEpoch', 'u64'],
      ['lastZxid', 'u64'],
    ],
  },
  prevote: {
    tag: 18,
    fields: [
      ['epoch', 'u64'],
      ['granted', 'bool'],
    ],
  },
} as const satisfies Schema;

// A compile error here names the field the schema lacks.
const FieldsComplete: Complete<FieldsMissing<Msg, typeof SCHEMA>> = true;
void FieldsComplete;

type AnyField = readonly [string, Kind];
const BY_TAG = new Map<number, { type: MsgType; fields: readonly AnyField[] }>(
  (Object.keys(SCHEMA) as MsgType[]).map((type) => [SCHEMA[type].tag, { type, fields: SCHEMA[type].fields as readonly AnyField[] }]),
);

const MODES = ['diff', 'trunc', 'snap'] as const;
const TWO_32 = 0x1_0000_0000;
const INT32_MAX = 0x7fff_ffff;
/** smallest encoded entry: u64 zxid + int32 length, no bytes */
const ENTRY_BYTES_MIN = 12;

// ---------------------------------------------------------------------------------------------
// Encoding: size first, then one allocation and one copy of each payload.

export function encodeMsg(msg: Msg): Buffer {
  const schema = (SCHEMA as Record<string, { tag: number; fields: readonly AnyField[] } | undefined>)[msg.type];
  if (schema === undefined) throw new PeerCodecError(`encode: unknown message type ${String(msg.type)}`);
  const rec = msg as unknown as Record<string, unknown>;
  let size = 2;
  for (const [name, kind] of schema.fields) size += sizeOf(kind, rec[name], `${msg.type}.${name}`);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.u8(schema.tag);
  w.u8(PEER_CODEC_VERSION);
  for (const [name, kind] of schema.fields) write(w, kind, rec[name]);
  if (w.offset !== size) throw new PeerCodecError(`encode: ${msg.type} wrote ${w.offset} bytes, sized ${size}`);
  return w.buf;
}

/** Validates while sizing, so write() below can trust its input. */
function sizeOf(kind: Kind, v: unknown, what: string): number {
  switch (kind) {
    case 'u64':
      checkU64(v, what);
      return 8;
    case 'bool':
      if (typeof v !== 'boolean') throw new PeerCodecError(`encode: ${what} is not a boolean`);
      return 1;
    case 'bytes':
      return 4 + checkBytes(v, what).length;
    case 'mode':
      if (!MODES.includes(v as (typeof MODES)[number])) throw new PeerCodecError(`encode: ${what} is not a sync mode`);
      return 1;
    case 'entry':
      return sizeOfEntry(v, what);
    case 'entries': {
      if (!Array.isArray(v)) throw new PeerCodecError(`encode: ${what} is not an array`);
      if (v.length > INT32_MAX) throw new PeerCodecError(`encode: ${what} has too many entries`);
      let n = 4;
      for (let i = 0; i < v.length; i++) n += sizeOfEntry(v[i], `${what}[${i}]`);
      return n;
    }
    case 'snapshot':
      return v === null ? 1 : 1 + sizeOfEntry(v, what);
  }
}

function sizeOfEntry(v: unknown, what: string): number {
  if (typeof v !== 'object' || v === null) throw new PeerCodecError(`encode: ${what} is not an object`);
  const e = v as Partial<Entry>;
  checkU64(e.zxid, `${what}.zxid`);
  return 12 + checkBytes(e.data, `${what}.data`).length;
}

function checkU64(v: unknown, what: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new PeerCodecError(`encode: ${what} = ${String(v)} is not an integer in 0..2^53-1`);
  }
}

function checkBytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new PeerCodecError(`encode: ${what} is not a Uint8Array`);
  if (v.length > INT32_MAX) throw new PeerCodecError(`encode: ${what} is longer than 2^31-1 bytes`);
  return v;
}

function write(w: Writer, kind: Kind, v: unknown): void {
  switch (kind) {
    case 'u64':
      return w.u64(v as number);
    case 'bool':
      return w.u8(v ? 1 : 0);
    case 'bytes':
      return w.bytes(v as Uint8Array);
    case 'mode':
      return w.u8(MODES.indexOf(v as (typeof MODES)[number]));
    case 'entry':
      return w.entry(v as Entry);
    case 'entries': {
      const entries = v as Entry[];
      w.i32(entries.length);
      for (const e of entries) w.entry(e);
      return;
    }
    case 'snapshot':
      if (v === null) return w.u8(0);
      w.u8(1);
      return w.entry(v as SnapshotImage);
  }
}

class Writer {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  u8(v: number): void {
    this.buf[this.offset++] = v;
  }
  i32(v: number): void {
    this.buf.writeInt32BE(v, this.offset);
    this.offset += 4;
  }
  u64(v: number): void {
    this.buf.writeUInt32BE(Math.floor(v / TWO_32), this.offset);
    this.buf.writeUInt32BE(v % TWO_32, this.offset + 4);
    this.offset += 8;
  }
  bytes(v: Uint8Array): void {
    this.i32(v.length);
    this.buf.set(v, this.offset);
    this.offset += v.length;
  }
  entry(e: Entry | SnapshotImage): void {
    this.u64(e.zxid);
    this.bytes(e.data);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding.

export function decodeMsg(buf: Buffer, limits: PeerCodecLimits = {}): Msg {
  const r = new Reader(buf);
  const tag = r.u8('type tag');
  const schema = BY_TAG.get(tag);
  if (schema === undefined) throw new PeerCodecError(`unknown message type tag ${tag}`);
  const version = r.u8('version');
  if (version !== PEER_CODEC_VERSION) {
    throw new PeerCodecError(`${schema.type}: codec version ${version}, expected ${PEER_CODEC_VERSION}`);
  }
  const out: Record<string, unknown> = { type: schema.type };
  for (const [name, kind] of schema.fields) out[name] = read(r, kind, `${schema.type}.${name}`, limits);
  if (r.remaining !== 0) throw new PeerCodecError(`${schema.type}: ${r.remaining} trailing bytes after the message`);
  return out as unknown as Msg;
}

function read(r: Reader, kind: Kind, what: string, limits: PeerCodecLimits): unknown {
  switch (kind) {
    case 'u64':
      return r.u64(what);
    case 'bool':
      return r.bool(what);
    case 'bytes':
      return r.bytes(what);
    case 'mode': {
      const m = r.u8(what);
      const mode = MODES[m];
      if (mode === undefined) throw new PeerCodecError(`${what}: unknown sync mode ${m} at offset ${r.offset - 1}`);
      return mode;
    }
    case 'entry':
      return r.entry(what);
    case 'entries':
      return r.entries(what, limits.entriesMax ?? Infinity);
    case 'snapshot': {
      const present = r.bool(`${what} presence`);
      return present ? r.entry(what) : null;
    }
  }
}

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new PeerCodecError(`${what}: truncated, needs ${n} bytes at offset ${this.offset}, ${this.remaining} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.offset++]!;
  }

  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new PeerCodecError(`${what}: boolean byte ${v} at offset ${this.offset - 1} is not 0 or 1`);
    return v === 1;
  }

  u64(what: string): number {
    this.need(8, what);
    const hi = this.buf.readUInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    // hi < 2^21 keeps hi * 2^32 + lo below 2^53 (a safe integer, exact).
    if (hi >= 0x20_0000) throw new PeerCodecError(`${what}: value at offset ${this.offset} is not below 2^53`);
    this.offset += 8;
    return hi * TWO_32 + lo;
  }

  /** int32 length + bytes, returned as a view into the input (no copy). */
  bytes(what: string): Uint8Array {
    this.need(4, `${what} length`);
    const len = this.buf.readInt32BE(this.offset);
    if (len < 0) throw new PeerCodecError(`${what}: negative length ${len} at offset ${this.offset}`);
    this.offset += 4;
    this.need(len, what);
    const v = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.offset, len);
    this.offset += len;
    return v;
  }

  entry(what: string): Entry {
    const zxid = this.u64(`${what}.zxid`);
    const data = this.bytes(`${what}.data`);
    return { zxid, data };
  }

  entries(what: string, entriesMax: number): Entry[] {
    this.need(4, `${what} count`);
    const count = this.buf.readInt32BE(this.offset);
    if (count < 0) throw new PeerCodecError(`${what}: negative count ${count} at offset ${this.offset}`);
    if (count > entriesMax) throw new PeerCodecError(`${what}: ${count} entries, more than the limit ${entriesMax}`);
    // Every entry takes at least ENTRY_BYTES_MIN bytes: refuse a count the bytes cannot hold
    // before building an array for it.
    if (count * ENTRY_BYTES_MIN > this.remaining - 4) {
      throw new PeerCodecError(`${what}: count ${count} at offset ${this.offset} cannot fit in ${this.remaining - 4} bytes`);
    }
    this.offset += 4;
    const out: Entry[] = [];
    for (let i = 0; i < count; i++) out.push(this.entry(`${what}[${i}]`));
    return out;
  }
}
