import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { JuteReader, JuteWriter } from '../../src/wire/jute.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import {
  readConnectRequest,
  readConnectResponse,
  writeConnectRequest,
  writeConnectResponse,
  readStat,
  writeStat,
  type Stat,
} from '../../src/wire/protocol.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function isMarshalling(e: unknown): boolean {
  return e instanceof KeeperError && e.code === ErrorCode.MarshallingError;
}

describe('JuteWriter / JuteReader primitives', () => {
  test('int_is_big_endian_signed', () => {
    const w = new JuteWriter(1);
    w.int(1).int(-1).int(0x7fffffff).int(-0x80000000);
    assert.deepEqual(w.take(), hex('00000001 ffffffff 7fffffff 80000000'));
    const r = new JuteReader(w.take());
    assert.deepEqual([r.int(), r.int(), r.int(), r.int()], [1, -1, 0x7fffffff, -0x80000000]);
    assert.equal(r.remaining, 0);
  });

  test('int64_edge_values_round_trip_with_exact_bytes', () => {
    const cases: Array<[number, string]> = [
      [0, '0000000000000000'],
      [1, '0000000000000001'],
      [-1, 'ffffffffffffffff'],
      [2 ** 32, '0000000100000000'],
      [2 ** 32 - 1, '00000000ffffffff'],
      [-(2 ** 32), 'ffffffff00000000'],
      [-(2 ** 32) - 1, 'fffffffeffffffff'],
      [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
      [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
      [0x500000003, '0000000500000003'], // a zxid: epoch 5, counter 3
    ];
    for (const [v, bytes] of cases) {
      const w = new JuteWriter();
      w.long(v);
      assert.equal(w.take().toString('hex'), bytes, `write ${v}`);
      assert.equal(new JuteReader(hex(bytes)).long(), v, `read ${bytes}`);
    }
  });

  test('long_rejects_values_outside_the_safe_integer_range', () => {
    for (const bytes of ['0020000000000000', 'ffe0000000000000', '7fffffffffffffff', '8000000000000000']) {
      assert.throws(() => new JuteReader(hex(bytes)).long(), isMarshalling, bytes);
    }
  });

  test('longBig_keeps_all_64_bits_including_negative_session_ids', () => {
    const ids = [0n, 1n, -1n, -0x8000000000000000n, 0x7fffffffffffffffn, BigInt.asIntN(64, 0x81000185a5d30000n)];
    const w = new JuteWriter(2);
    for (const id of ids) w.longBig(id);
    const buf = w.take();
    assert.equal(buf.subarray(16, 24).toString('hex'), 'ffffffffffffffff');
    assert.equal(buf.subarray(24, 32).toString('hex'), '8000000000000000');
    const r = new JuteReader(buf);
    for (const id of ids) assert.equal(r.longBig(), id);
  });

  test('longBig_writes_unsigned_64_bit_input_as_its_signed_twin', () => {
    const w = new JuteWriter();
    w.longBig(0xffffffffffffffffn);
    assert.equal(new JuteReader(w.take()).longBig(), -1n);
  });

  test('bool_is_one_byte_and_any_nonzero_is_true', () => {
    const w = new JuteWriter();
    w.bool(true).bool(false);
    assert.deepEqual(w.take(), hex('0100'));
    const r = new JuteReader(hex('00 01 7f'));
    assert.deepEqual([r.bool(), r.bool(), r.bool()], [false, true, true]);
  });

  test('strings_are_utf8_with_byte_length_prefix', () => {
    const s = 'zß水🀄';
    const w = new JuteWriter(1);
    w.string(s);
    const buf = w.take();
    assert.equal(buf.readInt32BE(0), Buffer.byteLength(s, 'utf8'));
    assert.equal(buf.readInt32BE(0), 1 + 2 + 3 + 4);
    assert.equal(new JuteReader(buf).string(), s);
  });

  test('buffers_round_trip_and_reader_returns_views', () => {
    const data = Buffer.from([0, 1, 2, 250]);
    const w = new JuteWriter();
    w.buffer(data).buffer(Buffer.alloc(0));
    const buf = w.take();
    assert.deepEqual(buf, hex('00000004 000102fa 00000000'));
    const r = new JuteReader(buf);
    assert.deepEqual(r.buffer(), data);
    const empty = r.bufferOrNull();
    assert.ok(empty !== null);
    assert.equal(empty.length, 0);
  });

  test('null_buffer_string_and_vector_are_length_minus_one', () => {
    const w = new JuteWriter();
    w.buffer(null)
      .string(null)
      .stringVector(null)
      .vector(null, (ww, x: number) => ww.int(x));
    const buf = w.take();
    assert.deepEqual(buf, hex('ffffffff ffffffff ffffffff ffffffff'));
    const r = new JuteReader(buf);
    assert.equal(r.bufferOrNull(), null);
    assert.equal(r.stringOrNull(), null);
    assert.deepEqual(r.stringVector(), []);
    assert.equal(
      r.vector((rr) => rr.int(), 4),
      null,
    );
  });

  test('null_buffer_reads_as_empty_with_buffer', () => {
    assert.equal(new JuteReader(hex('ffffffff')).buffer().length, 0);
  });

  test('null_string_where_required_is_a_marshalling_error', () => {
    assert.throws(() => new JuteReader(hex('ffffffff')).string(), isMarshalling);
  });

  test('lengths_below_minus_one_are_marshalling_errors', () => {
    assert.throws(() => new JuteReader(hex('fffffffe')).bufferOrNull(), isMarshalling);
    assert.throws(() => new JuteReader(hex('80000000')).stringOrNull(), isMarshalling);
    assert.throws(() => new JuteReader(hex('fffffffe')).vector((r) => r.int(), 4), isMarshalling);
  });

  test('vectors_round_trip', () => {
    const w = new JuteWriter(1);
    w.stringVector(['a', '', 'ccc']).vector([7, -7], (ww, x) => ww.int(x));
    const r = new JuteReader(w.take());
    assert.deepEqual(r.stringVector(), ['a', '', 'ccc']);
    assert.deepEqual(
      r.vector((rr) => rr.int(), 4),
      [7, -7],
    );
    assert.equal(r.remaining, 0);
  });

  test('truncated_primitives_are_marshalling_errors', () => {
    assert.throws(() => new JuteReader(hex('000000')).int(), isMarshalling);
    assert.throws(() => new JuteReader(hex('00000000000000')).long(), isMarshalling);
    assert.throws(() => new JuteReader(hex('00000000000000')).longBig(), isMarshalling);
    assert.throws(() => new JuteReader(Buffer.alloc(0)).bool(), isMarshalling);
  });
});

describe('every length is checked before allocation', () => {
  test('vector_count_of_2_31_minus_1_with_few_bytes_throws_without_reading_items', () => {
    const buf = hex('7fffffff 00000001 00000002');
    let items = 0;
    assert.throws(
      () =>
        new JuteReader(buf).vector((r) => {
          items++;
          return r.int();
        }, 4),
      isMarshalling,
    );
    assert.equal(items, 0, 'no item may be read once the count cannot fit');
  });

  test('string_vector_count_of_2_31_minus_1_throws_marshalling', () => {
    assert.throws(() => new JuteReader(hex('7fffffff 00000000')).stringVector(), isMarshalling);
  });

  test('vector_count_is_checked_against_min_item_bytes', () => {
    // 3 items of at least 4 bytes need 12 bytes, only 8 remain
    const buf = hex('00000003 00000001 00000002');
    assert.throws(() => new JuteReader(buf).vector((r) => r.int(), 4), isMarshalling);
    // 2 items fit
    assert.deepEqual(
      new JuteReader(hex('00000002 00000001 00000002')).vector((r) => r.int(), 4),
      [1, 2],
    );
  });

  test('buffer_and_string_lengths_beyond_the_end_throw_marshalling', () => {
    assert.throws(() => new JuteReader(hex('7fffffff 0102')).bufferOrNull(), isMarshalling);
    assert.throws(() => new JuteReader(hex('7fffffff 6162')).stringOrNull(), isMarshalling);
    assert.throws(() => new JuteReader(hex('00000003 6162')).string(), isMarshalling);
  });

  test('reader_window_end_bounds_reads', () => {
    const buf = hex('00000001 00000002 00000003');
    const r = new JuteReader(buf, 4, 8);
    assert.equal(r.remaining, 4);
    assert.equal(r.int(), 2);
    assert.throws(() => r.int(), isMarshalling);
    // a length that fits the buffer but not the window is rejected
    assert.throws(() => new JuteReader(hex('00000004 61626364'), 0, 6).string(), isMarshalling);
  });
});

describe('JuteWriter growth and helpers', () => {
  test('writer_grows_from_one_byte', () => {
    const w = new JuteWriter(1);
    const big = Buffer.alloc(10_000, 0xab);
    w.int(5).buffer(big).long(-2).string('end');
    const r = new JuteReader(w.take());
    assert.equal(r.int(), 5);
    assert.deepEqual(r.buffer(), big);
    assert.equal(r.long(), -2);
    assert.equal(r.string(), 'end');
  });

  test('reserve_and_patch_write_a_length_prefix', () => {
    const w = new JuteWriter();
    const at = w.reserveInt();
    w.string('abc').int(9);
    w.patchInt(at, w.length - 4);
    const buf = w.take();
    assert.equal(buf.readInt32BE(0), 11);
    assert.equal(buf.length, 15);
  });

  test('take_copies_and_reset_rewinds', () => {
    const w = new JuteWriter(8);
    w.int(1);
    const first = w.take();
    w.reset().int(2);
    assert.deepEqual(first, hex('00000001'));
    assert.deepEqual(w.take(), hex('00000002'));
    assert.equal(w.length, 4);
  });
});

describe('records with a hand-written byte layout (zookeeper.jute)', () => {
  test('connect_request_is_45_bytes_with_readOnly', () => {
    const w = new JuteWriter();
    writeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: 0x100000002,
      timeOut: 30000,
      sessionId: -2n,
      passwd: Buffer.alloc(16, 0x11),
      readOnly: true,
    });
    const buf = w.take();
    assert.equal(buf.length, 45);
    assert.equal(buf.toString('hex'), `00000000000000010000000200007530fffffffffffffffe00000010${'11'.repeat(16)}01`);
    const back = readConnectRequest(new JuteReader(buf));
    assert.equal(back.sessionId, -2n);
    assert.equal(back.lastZxidSeen, 0x100000002);
    assert.equal(back.readOnly, true);
    // 44-byte body of an old client without readOnly
    assert.equal(readConnectRequest(new JuteReader(buf.subarray(0, 44))).readOnly, false);
  });

  test('connect_response_is_37_bytes', () => {
    const w = new JuteWriter();
    writeConnectResponse(w, {
      protocolVersion: 0,
      timeOut: 4000,
      sessionId: 0x0100000000000001n,
      passwd: Buffer.alloc(16, 2),
      readOnly: false,
    });
    const buf = w.take();
    assert.equal(buf.length, 37);
    assert.equal(buf.subarray(0, 16).toString('hex'), '00000000' + '00000fa0' + '0100000000000001');
    const r = readConnectResponse(new JuteReader(buf));
    assert.equal(r.timeOut, 4000);
    assert.deepEqual(r.passwd, Buffer.alloc(16, 2));
  });

  test('stat_is_68_bytes_and_round_trips', () => {
    const s: Stat = {
      czxid: 1,
      mzxid: 2,
      ctime: 1700000000000,
      mtime: 1700000000001,
      version: 3,
      cversion: -1,
      aversion: 4,
      ephemeralOwner: -0x8000000000000000n,
      dataLength: 5,
      numChildren: 6,
      pzxid: 7,
    };
    const w = new JuteWriter();
    writeStat(w, s);
    const buf = w.take();
    assert.equal(buf.length, 68);
    assert.deepEqual(readStat(new JuteReader(buf)), s);
  });
});
