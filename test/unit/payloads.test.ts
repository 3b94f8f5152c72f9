// The replica's app payloads (src/replica/payloads.ts): every kind round-trips, and whatever a
// peer sends that is not a payload of this version is refused with a PayloadCodecError.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePayload,
  encodePayload,
  PayloadCodecError,
  PAYLOAD_CODEC_VERSION,
  type AppPayload,
  type PayloadType,
} from '../../src/replica/payloads.js';
import { OpCode, OPEN_ACL_UNSAFE, Perms } from '../../src/wire/protocol.js';
import { mulberry32 as rng } from '../helpers/mulberry32.js';
import {
  assertEveryTruncationRefused,
  assertRoundTrips,
  assertTrailingBytesRefused,
  refusal,
  type CodecUnderTest,
} from '../helpers/codec.js';

const MAX = Number.MAX_SAFE_INTEGER;
const INT32_MAX = 0x7fff_ffff;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const SESSION = 0x0100_0abc_0000_0001n;
const big = Buffer.from(Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
const digestAcl = [{ perms: Perms.READ | Perms.WRITE, id: { scheme: 'digest', id: 'bob:2jmj7l5rSw0yVb/vlWAYkK/YBwk=' } }];

/**
 * Samples of every payload type with edge values. Typed per PayloadType, so a payload added to
 * AppPayload fails to compile here until it has samples. Byte fields are Buffers, as the decoder
 * gives them back (views of the input).
 */
const samples: { [T in PayloadType]: Extract<AppPayload, { type: T }>[] } = {
  touch: [
    { type: 'touch', sessionIds: [] },
    { type: 'touch', sessionIds: [0n] },
    { type: 'touch', sessionIds: [SESSION, -1n, INT64_MAX, INT64_MIN, ...Array.from({ length: 500 }, (_, i) => SESSION + BigInt(i))] },
  ],
  forward_create: [
    { type: 'forward_create', sessionId: SESSION, timeoutMs: 30_000 },
    { type: 'forward_create', sessionId: INT64_MIN, timeoutMs: 0 },
    { type: 'forward_create', sessionId: INT64_MAX, timeoutMs: INT32_MAX },
  ],
  forward_request: [
    {
      type: 'forward_request',
      sessionId: SESSION,
      xid: 1,
      authInfo: [{ scheme: 'ip', id: '127.0.0.1' }],
      request: { type: OpCode.create, req: { path: '/a', data: Buffer.from('x'), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 } },
    },
    {
      type: 'forward_request',
      sessionId: -1n,
      xid: INT32_MAX,
      authInfo: [],
      request: { type: OpCode.createTTL, req: { path: '/t/ü', data: null, acl: digestAcl, flags: 5, ttl: MAX } },
    },
    {
      type: 'forward_request',
      sessionId: 0n,
      xid: -8,
      authInfo: [
        { scheme: 'ip', id: '::1' },
        { scheme: 'digest', id: 'bob:2jmj7l5rSw0yVb/vlWAYkK/YBwk=' },
        { scheme: '', id: '' },
      ],
      request: {
        type: OpCode.multi,
        req: {
          ops: [
            { type: OpCode.create, req: { path: '/m', data: big, acl: OPEN_ACL_UNSAFE, flags: 2, ttl: -1 } },
            { type: OpCode.check, req: { path: '/m', version: -1 } },
            { type: OpCode.setData, req: { path: '/m', data: Buffer.alloc(0), version: 3 } },
            { type: OpCode.delete, req: { path: '/m', version: 0 } },
          ],
        },
      },
    },
    {
      type: 'forward_request',
      sessionId: SESSION,
      xid: 7,
      authInfo: [],
      request: { type: OpCode.setACL, req: { path: '/', acl: null, version: 2 } },
    },
    { type: 'forward_request', sessionId: SESSION, xid: 8, authInfo: [], request: { type: OpCode.closeSession, req: null } },
  ],
  restore: [
    { type: 'restore', id: 1, backup: Buffer.alloc(0) },
    { type: 'restore', id: INT32_MAX, backup: big },
  ],
  restored: [
    { type: 'restored', id: 1, result: { ok: true, zxid: 0x6_0000_0000, backupZxid: 0x5_0000_0007, nodes: 1_000_000, sessions: 0 } },
    { type: 'restored', id: INT32_MAX, result: { ok: true, zxid: MAX, backupZxid: 0, nodes: INT32_MAX, sessions: INT32_MAX } },
    { type: 'restored', id: 2, result: { ok: false, error: 'a restore is already running' } },
    { type: 'restored', id: 3, result: { ok: false, error: '' } },
    { type: 'restored', id: 4, result: { ok: false, error: 'échec ✗' } },
  ],
};

const all: AppPayload[] = Object.values(samples).flat();

/** Expect a PayloadCodecError and nothing else; return its message. */
const codecError = (fn: () => unknown, what: string): string => refusal(PayloadCodecError, fn, what);
const codec: CodecUnderTest<AppPayload> = {
  encode: (p) => encodePayload(p),
  decode: decodePayload,
  errorClass: PayloadCodecError,
  version: PAYLOAD_CODEC_VERSION,
  name: (p) => p.type,
};

/** The encoding of `p` with the int32 at `offset` replaced. */
function withInt(p: AppPayload, offset: number, v: number): Buffer {
  const b = encodePayload(p);
  b.writeInt32BE(v, offset);
  return b;
}

describe('app payload codec', () => {
  test('every_payload_type_round_trips_with_edge_values', () => {
    assertRoundTrips(codec, all);
  });

  test('tags_are_the_wire_format_and_never_change', () => {
    const tags = Object.fromEntries(Object.values(samples).map((s) => [s[0]!.type, encodePayload(s[0]!)[0]]));
    assert.deepEqual(tags, { forward_create: 1, forward_request: 2, touch: 3, restore: 4, restored: 5 });
  });

  test('a_touch_costs_six_bytes_and_eight_a_session', () => {
    assert.deepEqual(
      [...encodePayload({ type: 'touch', sessionIds: [5n] })],
      [3, PAYLOAD_CODEC_VERSION, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5],
    );
    assert.equal(encodePayload({ type: 'touch', sessionIds: Array.from({ length: 100 }, () => SESSION) }).length, 6 + 800);
  });

  test('decoded_bytes_are_views_into_the_input_also_at_an_offset_of_a_plain_Uint8Array', () => {
    const inner = encodePayload({ type: 'restore', id: 9, backup: Buffer.from([5, 6, 7]) });
    const outer = new Uint8Array(inner.length + 20).fill(0xee);
    outer.set(inner, 10);
    const p = decodePayload(outer.subarray(10, 10 + inner.length));
    assert.equal(p.type, 'restore');
    if (p.type !== 'restore') return;
    assert.equal(p.id, 9);
    assert.equal(p.backup.buffer, outer.buffer);
    assert.deepEqual([...p.backup], [5, 6, 7]);
  });

  test('every_truncation_of_every_payload_throws_PayloadCodecError', () => {
    assertEveryTruncationRefused(codec, all);
  });

  test('trailing_bytes_are_refused', () => {
    assertTrailingBytesRefused(codec, all);
  });

  test('unknown_tag_and_version_are_refused', () => {
    assert.match(
      codecError(() => decodePayload(Buffer.from([0, PAYLOAD_CODEC_VERSION])), 'tag 0'),
      /unknown payload type/,
    );
    assert.match(
      codecError(() => decodePayload(Buffer.from([200, PAYLOAD_CODEC_VERSION, 0, 0, 0, 0])), 'tag 200'),
      /unknown payload type/,
    );
    for (const p of all) {
      const buf = encodePayload(p);
      buf[1] = PAYLOAD_CODEC_VERSION + 1;
      assert.match(
        codecError(() => decodePayload(buf), `${p.type} version`),
        /version/,
      );
    }
    codecError(() => decodePayload(Buffer.alloc(0)), 'empty');
  });

  test('huge_and_negative_counts_and_lengths_are_refused_before_allocating', () => {
    const touch: AppPayload = { type: 'touch', sessionIds: [SESSION] };
    // tag, version -> the count is at offset 2
    for (const count of [2, 0x1000_0000, INT32_MAX]) {
      assert.match(
        codecError(() => decodePayload(withInt(touch, 2, count)), `touch count ${count}`),
        /cannot fit/,
      );
    }
    assert.match(
      codecError(() => decodePayload(withInt(touch, 2, -2)), 'touch count -2'),
      /negative/,
    );

    const request = samples.forward_request[2]!;
    // tag, version, sessionId, xid -> the authInfo count is at offset 14
    assert.equal(encodePayload(request).readInt32BE(14), 3);
    for (const count of [0x1000_0000, INT32_MAX]) {
      assert.match(
        codecError(() => decodePayload(withInt(request, 14, count)), `authInfo count ${count}`),
        /cannot fit/,
      );
    }

    const restore: AppPayload = { type: 'restore', id: 1, backup: Buffer.from([1, 2, 3]) };
    // tag, version, id -> the length is at offset 6
    for (const len of [4, INT32_MAX]) {
      assert.match(
        codecError(() => decodePayload(withInt(restore, 6, len)), `backup length ${len}`),
        /needs/,
      );
    }
    assert.match(
      codecError(() => decodePayload(withInt(restore, 6, -2)), 'backup length -2'),
      /negative/,
    );
  });

  test('nulls_the_encoder_never_writes_are_refused', () => {
    assert.match(
      codecError(() => decodePayload(withInt({ type: 'touch', sessionIds: [] }, 2, -1)), 'touch'),
      /touch\.sessionIds: null/,
    );
    assert.match(
      codecError(() => decodePayload(withInt({ type: 'restore', id: 1, backup: Buffer.alloc(0) }, 6, -1)), 'restore'),
      /restore\.backup: null/,
    );
    const request = samples.forward_request[1]!; // no authInfo: the count is followed by the opcode
    assert.match(
      codecError(() => decodePayload(withInt(request, 14, -1)), 'authInfo'),
      /forward_request\.authInfo: null/,
    );
    const failed: AppPayload = { type: 'restored', id: 1, result: { ok: false, error: '' } };
    // tag, version, id, ok -> the error's length is at offset 7
    assert.match(
      codecError(() => decodePayload(withInt(failed, 7, -1)), 'error'),
      /restored\.result: null string/,
    );
  });

  test('bad_values_inside_fields_are_refused', () => {
    const ok = encodePayload(samples.restored[0]!);
    const bool = Buffer.from(ok);
    bool[6] = 2; // tag, version, id -> ok
    assert.match(
      codecError(() => decodePayload(bool), 'bool 2'),
      /boolean/,
    );
    const negative = Buffer.from(ok);
    negative.writeBigInt64BE(-1n, 7);
    assert.match(
      codecError(() => decodePayload(negative), 'zxid -1'),
      /restored\.result\.zxid: negative/,
    );
    const huge = Buffer.from(ok);
    huge.writeBigInt64BE(2n ** 53n, 7);
    assert.match(
      codecError(() => decodePayload(huge), 'zxid 2^53'),
      /safe range/,
    );

    // tag, version, sessionId, xid, authInfo count 0 -> the opcode is at offset 18
    const closeSession = samples.forward_request[4]!;
    assert.equal(encodePayload(closeSession).readInt32BE(18), OpCode.closeSession);
    assert.match(
      codecError(() => decodePayload(withInt(closeSession, 18, 999)), 'opcode 999'),
      /forward_request\.request: unknown opcode 999/,
    );
  });

  test('encoding_refuses_values_it_cannot_carry', () => {
    const bad: unknown[] = [
      { type: 'restore', id: 2 ** 31, backup: Buffer.alloc(0) },
      { type: 'restore', id: 1.5, backup: Buffer.alloc(0) },
      { type: 'forward_create', sessionId: 2n ** 63n, timeoutMs: 1 },
      { type: 'touch', sessionIds: [1n, INT64_MIN - 1n] },
      { type: 'restored', id: 1, result: { ok: true, zxid: -1, backupZxid: 0, nodes: 0, sessions: 0 } },
      { type: 'restored', id: 1, result: { ok: true, zxid: 0, backupZxid: 2 ** 53, nodes: 0, sessions: 0 } },
      { type: 'restored', id: 1, result: { ok: true, zxid: 0, backupZxid: 0, nodes: 2 ** 32, sessions: 0 } },
      { type: 'nope' },
    ];
    for (const p of bad) assert.throws(() => encodePayload(p as AppPayload), PayloadCodecError, String((p as { type: string }).type));
  });

  test('random_bytes_and_mutations_never_throw_anything_but_PayloadCodecError', () => {
    const seed = 0xa991;
    const next = rng(seed);
    let decoded = 0;
    const attempt = (buf: Buffer, what: string): void => {
      try {
        decodePayload(buf);
        decoded++;
      } catch (e) {
        assert.ok(e instanceof PayloadCodecError, `seed=${seed} ${what} bytes ${buf.toString('hex').slice(0, 200)}: ${String(e)}`);
      }
    };
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(next() * 64);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(next() * 256);
      // Mostly plausible headers, so the fuzz reaches the fields, not just the tag check.
      if (len >= 2 && next() < 0.9) {
        buf[0] = 1 + Math.floor(next() * 6);
        buf[1] = PAYLOAD_CODEC_VERSION;
      }
      attempt(buf, `case ${i}`);
    }
    const encoded = all.map((p) => encodePayload(p));
    for (let i = 0; i < 3000; i++) {
      const buf = Buffer.from(encoded[Math.floor(next() * encoded.length)]!);
      const flips = 1 + Math.floor(next() * 3);
      for (let f = 0; f < flips; f++) buf[Math.floor(next() * Math.min(buf.length, 80))] = Math.floor(next() * 256);
      attempt(buf, `mutation ${i}`);
    }
    assert.ok(decoded > 0, 'some inputs decode');
  });
});
