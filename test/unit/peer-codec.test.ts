import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMsg, encodeMsg, PeerCodecError, PEER_CODEC_VERSION } from '../../src/consensus/codec.js';
import type { Msg, MsgType } from '../../src/consensus/messages.js';
import { mulberry32 as rng } from '../helpers/mulberry32.js';
import {
  assertEveryTruncationRefused,
  assertRoundTrips,
  assertTrailingBytesRefused,
  refusal,
  type CodecUnderTest,
} from '../helpers/codec.js';

const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1, the largest zxid the codec carries
const ZXID = 0x5_0000_0007; // epoch 5, counter 7

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const empty = new Uint8Array(0);
const big = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff);

/**
 * Samples of every message type with edge values. Typed per MsgType, so a message added to
 * messages.ts fails to compile here until it has samples, and every field must be present (a
 * field the codec forgets fails the round trip).
 */
const samples: { [T in MsgType]: Extract<Msg, { type: T }>[] } = {
  prevote_req: [
    { type: 'prevote_req', epoch: 0, currentEpoch: 0, lastZxid: 0 },
    { type: 'prevote_req', epoch: MAX, currentEpoch: 0xffff_ffff, lastZxid: MAX },
  ],
  prevote: [
    { type: 'prevote', epoch: 1, granted: true },
    { type: 'prevote', epoch: MAX, granted: false },
  ],
  vote_req: [
    { type: 'vote_req', epoch: 0, currentEpoch: 0, lastZxid: 0 },
    { type: 'vote_req', epoch: 2 ** 32, currentEpoch: 2 ** 32 - 1, lastZxid: MAX },
  ],
  vote: [
    { type: 'vote', epoch: 3, granted: true },
    { type: 'vote', epoch: 0, granted: false },
  ],
  leader_hello: [
    { type: 'leader_hello', epoch: 0 },
    { type: 'leader_hello', epoch: MAX },
  ],
  follower_info: [
    { type: 'follower_info', epoch: 6, seq: 0, currentEpoch: 5, lastZxid: ZXID, observer: false },
    { type: 'follower_info', epoch: MAX, seq: MAX, currentEpoch: MAX, lastZxid: MAX, observer: true },
  ],
  sync: [
    { type: 'sync', epoch: 6, seq: 1, mode: 'diff', prevZxid: ZXID, snapshot: null, entries: [], newLeaderZxid: ZXID },
    {
      type: 'sync',
      epoch: 6,
      seq: MAX,
      mode: 'trunc',
      prevZxid: 0,
      snapshot: null,
      entries: [
        { zxid: ZXID + 1, data: bytes(1, 2, 3) },
        { zxid: ZXID + 2, data: empty },
        { zxid: MAX, data: big },
      ],
      newLeaderZxid: MAX,
    },
    {
      type: 'sync',
      epoch: 7,
      seq: 3,
      mode: 'snap',
      prevZxid: ZXID,
      snapshot: { zxid: ZXID, data: big },
      entries: [{ zxid: ZXID + 1, data: bytes(0xff) }],
      newLeaderZxid: ZXID + 1,
    },
    { type: 'sync', epoch: 0, seq: 0, mode: 'snap', prevZxid: 0, snapshot: { zxid: 0, data: empty }, entries: [], newLeaderZxid: 0 },
  ],
  sync_nak: [{ type: 'sync_nak', epoch: 9, seq: 4 }],
  ack_newleader: [{ type: 'ack_newleader', epoch: 6, zxid: 6 * 2 ** 32 }],
  uptodate: [{ type: 'uptodate', epoch: 6, commitZxid: MAX }],
  propose: [
    { type: 'propose', epoch: 6, entry: { zxid: ZXID, data: bytes(9, 8, 7) } },
    { type: 'propose', epoch: 0, entry: { zxid: 0, data: empty } },
  ],
  ack: [{ type: 'ack', epoch: 6, zxid: ZXID }],
  commit: [{ type: 'commit', epoch: 6, zxid: MAX }],
  ping: [
    { type: 'ping', epoch: 6, round: 0, commitZxid: 0 },
    { type: 'ping', epoch: 6, round: MAX, commitZxid: ZXID },
  ],
  pong: [{ type: 'pong', epoch: 6, round: 12345 }],
  barrier: [{ type: 'barrier', epoch: 6, id: 0 }],
  barrier_ok: [{ type: 'barrier_ok', epoch: 6, id: MAX, zxid: ZXID }],
  app: [
    { type: 'app', epoch: 6, data: bytes(1) },
    { type: 'app', epoch: 6, data: empty },
    { type: 'app', epoch: 6, data: big },
  ],
};

const all: Msg[] = Object.values(samples).flat();

/** Expect a PeerCodecError and nothing else; return its message. */
const codecError = (fn: () => unknown, what: string): string => refusal(PeerCodecError, fn, what);
const codec: CodecUnderTest<Msg> = {
  encode: encodeMsg,
  decode: (b) => decodeMsg(b),
  errorClass: PeerCodecError,
  version: PEER_CODEC_VERSION,
  name: (m) => m.type,
};

describe('peer codec', () => {
  test('every_message_type_round_trips_with_edge_values', () => {
    assertRoundTrips(codec, all);
  });

  test('message_tags_are_distinct', () => {
    const tags = new Map<number, string>();
    for (const msg of all) {
      const tag = encodeMsg(msg)[0]!;
      const seen = tags.get(tag);
      assert.ok(seen === undefined || seen === msg.type, `tag ${tag} used by ${seen} and ${msg.type}`);
      tags.set(tag, msg.type);
    }
    assert.equal(tags.size, Object.keys(samples).length);
  });

  test('decoded_bytes_are_views_into_the_input_buffer', () => {
    const buf = encodeMsg({ type: 'app', epoch: 1, data: bytes(5, 6, 7) });
    const msg = decodeMsg(buf);
    assert.equal(msg.type, 'app');
    if (msg.type !== 'app') return;
    assert.equal(msg.data.buffer, buf.buffer);
    assert.deepStrictEqual(msg.data, bytes(5, 6, 7));
  });

  test('decode_of_a_buffer_at_an_offset_in_a_larger_allocation', () => {
    const inner = encodeMsg({ type: 'propose', epoch: 2, entry: { zxid: 3, data: bytes(1, 2) } });
    const outer = Buffer.alloc(inner.length + 20, 0xee);
    inner.copy(outer, 10);
    assert.deepStrictEqual(decodeMsg(outer.subarray(10, 10 + inner.length)), {
      type: 'propose',
      epoch: 2,
      entry: { zxid: 3, data: bytes(1, 2) },
    });
  });

  test('every_truncation_of_every_message_throws_PeerCodecError', () => {
    assertEveryTruncationRefused(codec, all);
  });

  test('trailing_bytes_are_refused', () => {
    assertTrailingBytesRefused(codec, all);
  });

  test('unknown_tag_and_version_are_refused', () => {
    assert.match(
      codecError(() => decodeMsg(Buffer.from([0, PEER_CODEC_VERSION])), 'tag 0'),
      /unknown message type/,
    );
    assert.match(
      codecError(() => decodeMsg(Buffer.from([200, PEER_CODEC_VERSION])), 'tag 200'),
      /unknown message type/,
    );
    const buf = encodeMsg({ type: 'sync_nak', epoch: 1, seq: 1 });
    buf[1] = PEER_CODEC_VERSION + 1;
    assert.match(
      codecError(() => decodeMsg(buf), 'version'),
      /version/,
    );
    codecError(() => decodeMsg(Buffer.alloc(0)), 'empty');
  });

  test('zxids_at_or_above_2_pow_53_are_refused', () => {
    const buf = encodeMsg({ type: 'ack', epoch: 1, zxid: MAX });
    assert.deepStrictEqual(decodeMsg(buf), { type: 'ack', epoch: 1, zxid: MAX });
    buf.writeBigUInt64BE(2n ** 53n, 10);
    assert.match(
      codecError(() => decodeMsg(buf), '2^53'),
      /2\^53/,
    );
    buf.writeBigUInt64BE(2n ** 64n - 1n, 10);
    codecError(() => decodeMsg(buf), '2^64-1');
  });

  test('booleans_and_modes_and_presence_bytes_outside_their_values_are_refused', () => {
    const vote = encodeMsg({ type: 'vote', epoch: 1, granted: true });
    vote[10] = 2;
    assert.match(
      codecError(() => decodeMsg(vote), 'bool 2'),
      /boolean/,
    );

    // type, version, epoch, seq -> mode at 18; prevZxid -> presence at 27
    const sync = encodeMsg({ type: 'sync', epoch: 1, seq: 0, mode: 'diff', prevZxid: 0, snapshot: null, entries: [], newLeaderZxid: 0 });
    const mode = Buffer.from(sync);
    mode[18] = 3;
    assert.match(
      codecError(() => decodeMsg(mode), 'mode 3'),
      /mode/,
    );
    const presence = Buffer.from(sync);
    presence[27] = 2;
    assert.match(
      codecError(() => decodeMsg(presence), 'presence 2'),
      /boolean/,
    );
  });

  test('negative_and_oversized_lengths_and_counts_are_refused_before_allocating', () => {
    const app = encodeMsg({ type: 'app', epoch: 1, data: bytes(1, 2, 3) });
    for (const len of [-1, -0x8000_0000, 4, 0x7fff_ffff]) {
      const b = Buffer.from(app);
      b.writeInt32BE(len, 10);
      codecError(() => decodeMsg(b), `app length ${len}`);
    }
    const sync = encodeMsg({
      type: 'sync',
      epoch: 1,
      seq: 0,
      mode: 'diff',
      prevZxid: 0,
      snapshot: null,
      entries: [{ zxid: 1, data: empty }],
      newLeaderZxid: 0,
    });
    // type, version, epoch, seq, mode, prevZxid, presence -> the count is at offset 28
    const COUNT = 28;
    assert.equal(sync.readInt32BE(COUNT), 1);
    for (const count of [-1, 2, 0x7fff_ffff]) {
      const b = Buffer.from(sync);
      b.writeInt32BE(count, COUNT);
      codecError(() => decodeMsg(b), `entries count ${count}`);
    }
  });

  test('entriesMax_limits_the_entries_of_a_sync', () => {
    const msg: Msg = {
      type: 'sync',
      epoch: 1,
      seq: 0,
      mode: 'diff',
      prevZxid: 0,
      snapshot: null,
      entries: [
        { zxid: 1, data: empty },
        { zxid: 2, data: empty },
        { zxid: 3, data: empty },
      ],
      newLeaderZxid: 3,
    };
    const buf = encodeMsg(msg);
    assert.deepStrictEqual(decodeMsg(buf, { entriesMax: 3 }), msg);
    assert.match(
      codecError(() => decodeMsg(buf, { entriesMax: 2 }), 'entriesMax'),
      /limit/,
    );
  });

  test('encoding_refuses_values_it_cannot_carry', () => {
    const bad: unknown[] = [
      { type: 'ack', epoch: 1, zxid: -1 },
      { type: 'ack', epoch: 1, zxid: 1.5 },
      { type: 'ack', epoch: 1, zxid: 2 ** 53 },
      { type: 'ack', epoch: NaN, zxid: 1 },
      { type: 'ack', epoch: 1 },
      { type: 'vote', epoch: 1, granted: 1 },
      { type: 'app', epoch: 1, data: 'text' },
      { type: 'sync', epoch: 1, seq: 0, mode: 'full', prevZxid: 0, snapshot: null, entries: [], newLeaderZxid: 0 },
      { type: 'sync', epoch: 1, seq: 0, mode: 'diff', prevZxid: 0, snapshot: null, entries: [{ zxid: -5, data: empty }], newLeaderZxid: 0 },
      { type: 'nope', epoch: 1 },
    ];
    for (const m of bad) assert.throws(() => encodeMsg(m as Msg), PeerCodecError, JSON.stringify(m));
  });

  test('random_bytes_never_throw_anything_but_PeerCodecError', () => {
    const seed = 0xa5c0de;
    const next = rng(seed);
    const tags = Object.keys(samples).length + 2;
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(next() * 64);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(next() * 256);
      // Mostly plausible headers, so the fuzz reaches the fields, not just the tag check.
      if (len >= 2 && next() < 0.9) {
        buf[0] = 1 + Math.floor(next() * tags);
        buf[1] = PEER_CODEC_VERSION;
      }
      try {
        decodeMsg(buf, { entriesMax: 16 });
        decoded++;
      } catch (e) {
        assert.ok(e instanceof PeerCodecError, `seed=${seed} case ${i} bytes ${buf.toString('hex')}: ${String(e)}`);
      }
    }
    // Mutations of valid messages: flip bytes, the decoder must either decode or refuse cleanly.
    for (let i = 0; i < 3000; i++) {
      const msg = all[Math.floor(next() * all.length)]!;
      const buf = Buffer.from(encodeMsg(msg));
      const flips = 1 + Math.floor(next() * 3);
      for (let f = 0; f < flips; f++) buf[Math.floor(next() * Math.min(buf.length, 80))] = Math.floor(next() * 256);
      try {
        const m = decodeMsg(buf);
        // Whatever decodes must encode back to the same bytes (the encoding is canonical).
        assert.deepStrictEqual(encodeMsg(m), buf, `seed=${seed} mutation ${i}`);
        decoded++;
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.ok(e instanceof PeerCodecError, `seed=${seed} mutation ${i} bytes ${buf.toString('hex').slice(0, 200)}: ${String(e)}`);
      }
    }
    assert.ok(decoded > 0, 'some random inputs decode');
  });
});
