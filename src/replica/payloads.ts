// The payloads replicas send each other inside Zab's `app` message, which consensus carries as
// opaque bytes: what a learner hands its leader (new sessions, client writes, the sessions its
// clients kept alive, an online restore) and the leader's answer to a forwarded restore. Pure:
// bytes in, bytes out.
//
// Layout, as the peer codec's (src/consensus/codec.ts): uint8 type tag, uint8 codec version, then
// the payload's fields in the order of its schema below, in jute encoding (big-endian):
//   i32       int32
//   u64       int64 holding an integer in 0..2^53-1 (zxids)
//   session   int64 session id (all 64 bits)
//   sessions  int32 count + session ids: a touch costs 6 + 8 bytes a session, sent every tick
//   bytes     int32 length + bytes
//   ids       int32 count + (ustring scheme, ustring id): a connection's auth identities
//   request   int32 opcode + the request record as a client sends it (src/wire/protocol.ts)
//   result    bool ok; ok: u64 zxid, u64 backupZxid, i32 nodes, i32 sessions; else ustring error
//
// Members of one ensemble run the same Ark version, so the version byte refuses, rather than
// misreads, a payload from another one. Decoding trusts nothing: the jute reader checks every
// length and count against the bytes that remain before it allocates, nulls the encoder never
// writes are refused, trailing bytes are refused, and every failure is a PayloadCodecError (a
// learner's garbage must not take its leader down). Decoded bytes are views into the input.
import { ErrorCode, KeeperError } from '../util/errors.js';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import { readRequest, writeRequest, type Id, type Request } from '../wire/protocol.js';
import type { Forward } from '../server/core.js';
import type { Complete, FieldsMissing, FieldsOf } from '../util/schema.js';

export const PAYLOAD_CODEC_VERSION = 1;

/** An online restore's end as the asking server reports it (the AdminServer's restore command). */
export type RestoreResult = { ok: true; zxid: number; backupZxid: number; nodes: number; sessions: number } | { ok: false; error: string };

/** A forward's fields as the core hands them over (so a field added to Forward needs a schema line here). */
type ForwardFields<K extends Forward['kind']> = Omit<Extract<Forward, { kind: K }>, 'kind'>;

export type AppPayload =
  /** learner -> leader: sessions its clients were active on since the last tick (the leader alone expires sessions) */
  | { type: 'touch'; sessionIds: bigint[] }
  /** learner -> leader: a client's new session, for the leader to prep as a createSession txn */
  | ({ type: 'forward_create' } & ForwardFields<'create'>)
  /** learner -> leader: a client's write, with the identities its connection authenticated as */
  | ({ type: 'forward_request' } & ForwardFields<'request'>)
  /** learner -> leader: run this online restore (the backup's bytes as the learner's host received them) */
  | { type: 'restore'; id: number; backup: Uint8Array }
  /** leader -> learner: how the restore the learner forwarded as `id` ended */
  | { type: 'restored'; id: number; result: RestoreResult };

export type PayloadType = AppPayload['type'];

/** The input is not a well-formed payload (or, when encoding, the payload is not encodable). */
export class PayloadCodecError extends Error {
  readonly code = 'ERR_PAYLOAD_CODEC';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PayloadCodecError';
  }
}

/** The value each field kind carries. */
interface KindValues {
  i32: number;
  u64: number;
  session: bigint;
  sessions: bigint[];
  bytes: Uint8Array;
  ids: Id[];
  request: Request;
  result: RestoreResult;
}
type Kind = keyof KindValues;
type PayloadOf<T extends PayloadType> = Extract<AppPayload, { type: T }>;
/** The kinds that can carry a value of type V: a schema line whose kind cannot does not compile. */
type KindsFor<V> = { [K in Kind]: [V] extends [KindValues[K]] ? K : never }[Kind];
type Line<T extends PayloadType> = { [F in FieldsOf<AppPayload, T>]: readonly [F, KindsFor<PayloadOf<T>[F]>] }[FieldsOf<AppPayload, T>];
type Schema = { [T in PayloadType]: { tag: number; fields: readonly Line<T>[] } };

// Tags are wire format: never renumber, only add. A payload added to AppPayload without a schema
// here, or a field added to one (or to Forward) without its line here, does not compile (see
// FieldsComplete).
const SCHEMA = {
  forward_create: {
    tag: 1,
    fields: [
      ['sessionId', 'session'],
      ['timeoutMs', 'i32'],
    ],
  },
  forward_request: {
    tag: 2,
    fields: [
      ['sessionId', 'session'],
      ['xid', 'i32'],
      ['authInfo', 'ids'],
      ['request', 'request'],
    ],
  },
  touch: { tag: 3, fields: [['sessionIds', 'sessions']] },
  restore: {
    tag: 4,
    fields: [
      ['id', 'i32'],
      ['backup', 'bytes'],
    ],
  },
  restored: {
    tag: 5,
    fields: [
      ['id', 'i32'],
      ['result', 'result'],
    ],
  },
} as const satisfies Schema;

// A compile error here names the field the schema lacks.
const FieldsComplete: Complete<FieldsMissing<AppPayload, typeof SCHEMA>> = true;
void FieldsComplete;

type AnyField = readonly [string, Kind];
interface AnySchema {
  tag: number;
  fields: readonly AnyField[];
}
const BY_TAG = new Map<number, { type: PayloadType } & AnySchema>(
  (Object.keys(SCHEMA) as PayloadType[]).map((type) => [SCHEMA[type].tag, { type, ...(SCHEMA[type] as AnySchema) }]),
);

// ---------------------------------------------------------------------------------------------
// The field kinds: how each is written and read.

interface FieldCodec<V> {
  /** validates what the jute writer would silently wrap (numbers out of range) */
  write(w: JuteWriter, v: V, what: string): void;
  read(r: JuteReader, what: string): V;
}

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
/** smallest encoded session id and auth identity (two empty strings) */
const SESSION_BYTES = 8;
const ID_BYTES_MIN = 8;

const KINDS: { [K in Kind]: FieldCodec<KindValues[K]> } = {
  i32: { write: (w, v, what) => w.int(checkI32(v, what)), read: (r) => r.int() },
  u64: { write: (w, v, what) => w.long(checkU64(v, what)), read: readU64 },
  session: { write: (w, v, what) => w.longBig(checkI64(v, what)), read: (r) => r.longBig() },
  sessions: {
    write: (w, v, what) => w.vector(v, (ww, id) => ww.longBig(checkI64(id, what))),
    read: (r, what) =>
      present(
        r.vector((rr) => rr.longBig(), SESSION_BYTES),
        what,
      ),
  },
  bytes: { write: (w, v) => w.buffer(asBuffer(v)), read: (r, what) => present(r.bufferOrNull(), what) },
  ids: {
    write: (w, v) => w.vector(v, (ww, a) => ww.string(a.scheme).string(a.id)),
    read: (r, what) =>
      present(
        r.vector((rr) => ({ scheme: rr.string(), id: rr.string() }), ID_BYTES_MIN),
        what,
      ),
  },
  request: {
    write: (w, v) => {
      w.int(v.type);
      writeRequest(w, v);
    },
    read: (r) => readRequest(r.int(), r),
  },
  result: { write: writeResult, read: readResult },
};

function writeResult(w: JuteWriter, v: RestoreResult, what: string): void {
  w.bool(v.ok);
  if (!v.ok) {
    w.string(v.error);
    return;
  }
  w.long(checkU64(v.zxid, `${what}.zxid`)).long(checkU64(v.backupZxid, `${what}.backupZxid`));
  w.int(checkI32(v.nodes, `${what}.nodes`)).int(checkI32(v.sessions, `${what}.sessions`));
}

function readResult(r: JuteReader, what: string): RestoreResult {
  if (!readBool(r, `${what}.ok`)) return { ok: false, error: r.string() };
  // an object literal's properties are evaluated in order: the fields are read as written
  return { ok: true, zxid: readU64(r, `${what}.zxid`), backupZxid: readU64(r, `${what}.backupZxid`), nodes: r.int(), sessions: r.int() };
}

function readU64(r: JuteReader, what: string): number {
  const v = r.long(); // refuses values beyond 2^53 itself
  if (v < 0) throw new PayloadCodecError(`${what}: negative value ${v}`);
  return v;
}

/** The jute reader takes any non-zero byte as true; the encoding has one byte per value. */
function readBool(r: JuteReader, what: string): boolean {
  const v = r.byte();
  if (v > 1) throw new PayloadCodecError(`${what}: boolean byte ${v} is not 0 or 1`);
  return v === 1;
}

/** A jute null (length or count -1) the encoder never writes. */
function present<V>(v: V | null, what: string): V {
  if (v === null) throw new PayloadCodecError(`${what}: null where a value is required`);
  return v;
}

function checkI32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) throw new PayloadCodecError(`encode: ${what} = ${v} is not an int32`);
  return v;
}

function checkU64(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new PayloadCodecError(`encode: ${what} = ${v} is not an integer in 0..2^53-1`);
  return v;
}

function checkI64(v: bigint, what: string): bigint {
  if (BigInt.asIntN(64, v) !== v) throw new PayloadCodecError(`encode: ${what} = ${v} is not an int64`);
  return v;
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding.

/** The payload's bytes (a copy: the writer, by default a new one, is reused by the caller). */
export function encodePayload(p: AppPayload, w = new JuteWriter(256)): Buffer {
  const schema = (SCHEMA as Record<string, AnySchema | undefined>)[p.type];
  if (schema === undefined) throw new PayloadCodecError(`encode: unknown payload type ${String(p.type)}`);
  w.reset().byte(schema.tag).byte(PAYLOAD_CODEC_VERSION);
  const rec = p as unknown as Record<string, unknown>;
  for (const [name, kind] of schema.fields) (KINDS[kind] as FieldCodec<unknown>).write(w, rec[name], `${p.type}.${name}`);
  return w.take();
}

export function decodePayload(data: Uint8Array): AppPayload {
  const r = new JuteReader(asBuffer(data));
  const tag = guarded('type tag', () => r.byte());
  const schema = BY_TAG.get(tag);
  if (schema === undefined) throw new PayloadCodecError(`unknown payload type tag ${tag}`);
  const version = guarded(`${schema.type} version`, () => r.byte());
  if (version !== PAYLOAD_CODEC_VERSION) {
    throw new PayloadCodecError(`${schema.type}: codec version ${version}, expected ${PAYLOAD_CODEC_VERSION}`);
  }
  const out: Record<string, unknown> = { type: schema.type };
  for (const [name, kind] of schema.fields) {
    const what = `${schema.type}.${name}`;
    out[name] = guarded(what, () => KINDS[kind].read(r, what));
  }
  if (r.remaining !== 0) throw new PayloadCodecError(`${schema.type}: ${r.remaining} trailing bytes after the payload`);
  return out as unknown as AppPayload;
}

/**
 * Runs a read, turning the jute reader's refusals (MarshallingError: truncated, a length beyond
 * the bytes; Unimplemented: an opcode with no request record) into PayloadCodecErrors that name
 * the field. Anything else is a bug here, not bad input, and is left as it is.
 */
function guarded<V>(what: string, read: () => V): V {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof KeeperError) || (e.code !== ErrorCode.MarshallingError && e.code !== ErrorCode.Unimplemented)) throw e;
    const detail = e.cause instanceof Error ? e.cause.message : e.message;
    throw new PayloadCodecError(`${what}: ${detail}`, { cause: e });
  }
}
