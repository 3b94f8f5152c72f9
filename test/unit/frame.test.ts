import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameError } from '../../src/wire/frame.js';

const MAX = 0xfffff; // jute.maxbuffer default

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Three frames of different sizes, one of them empty, with distinct contents. */
const bodies = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff))];
const stream = Buffer.concat(bodies.map(frame));

function drain(d: FrameDecoder): Buffer[] {
  const out: Buffer[] = [];
  for (let f = d.next(); f !== null; f = d.next()) out.push(Buffer.from(f));
  return out;
}

describe('FrameDecoder', () => {
  test('several_frames_in_one_chunk_decode_in_order', () => {
    const d = new FrameDecoder(MAX);
    d.push(stream);
    assert.deepEqual(drain(d), bodies);
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.next(), null);
  });

  test('split_at_every_byte_offset_gives_the_same_frames', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder(MAX);
      const got: Buffer[] = [];
      d.push(stream.subarray(0, cut));
      got.push(...drain(d));
      d.push(stream.subarray(cut));
      got.push(...drain(d));
      assert.deepEqual(got, bodies, `cut at ${cut}`);
      assert.equal(d.bufferedBytes, 0, `cut at ${cut}`);
    }
  });

  test('split_at_every_pair_of_offsets_gives_the_same_frames', () => {
    const small = Buffer.concat([frame(Buffer.from('ab')), frame(Buffer.from('cde')), frame(Buffer.alloc(0))]);
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const d = new FrameDecoder(MAX);
        const got: Buffer[] = [];
        for (const part of [small.subarray(0, i), small.subarray(i, j), small.subarray(j)]) {
          d.push(part);
          got.push(...drain(d));
        }
        assert.deepEqual(got.map(String), ['ab', 'cde', ''], `cuts ${i},${j}`);
      }
    }
  });

  test('one_byte_at_a_time_gives_the_same_frames', () => {
    const d = new FrameDecoder(MAX);
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      d.push(stream.subarray(i, i + 1));
      got.push(...drain(d));
      // every byte pushed is either buffered or part of a frame already returned
      const consumed = got.reduce((n, b) => n + 4 + b.length, 0);
      assert.equal(d.bufferedBytes, i + 1 - consumed);
    }
    assert.deepEqual(got, bodies);
  });

  test('incomplete_frame_returns_null_and_keeps_bytes', () => {
    const d = new FrameDecoder(MAX);
    const one = frame(Buffer.from('xyz'));
    d.push(one.subarray(0, one.length - 1));
    assert.equal(d.next(), null);
    assert.equal(d.bufferedBytes, one.length - 1);
    d.push(one.subarray(one.length - 1));
    assert.equal(d.next()?.toString(), 'xyz');
  });

  test('empty_chunk_is_ignored', () => {
    const d = new FrameDecoder(MAX);
    d.push(Buffer.alloc(0));
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.next(), null);
  });

  test('frame_of_exactly_the_max_is_accepted', () => {
    const d = new FrameDecoder(16);
    d.push(frame(Buffer.alloc(16, 1)));
    assert.equal(d.next()?.length, 16);
  });

  test('length_above_max_is_rejected_before_the_body_arrives', () => {
    const d = new FrameDecoder(16);
    const head = Buffer.alloc(4);
    head.writeInt32BE(17, 0);
    d.push(head); // only the length: the decoder must refuse without waiting for 17 bytes
    assert.throws(() => d.next(), FrameError);
  });

  test('huge_length_is_rejected', () => {
    const d = new FrameDecoder(MAX);
    d.push(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    assert.throws(
      () => d.next(),
      (e: unknown) => e instanceof FrameError && /jute\.maxbuffer/.test(e.message),
    );
  });

  test('negative_length_is_rejected', () => {
    const d = new FrameDecoder(MAX);
    d.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    assert.throws(() => d.next(), FrameError);
    const d2 = new FrameDecoder(MAX);
    d2.push(Buffer.from([0x80, 0x00]));
    d2.push(Buffer.from([0x00, 0x00])); // length split over two chunks
    assert.throws(() => d2.next(), FrameError);
  });

  test('peek_returns_first_bytes_without_consuming', () => {
    const d = new FrameDecoder(MAX);
    d.push(Buffer.from('ru'));
    assert.equal(d.peek(4), null);
    d.push(Buffer.from('ok'));
    assert.equal(d.peek(4)?.toString(), 'ruok');
    assert.equal(d.peek(2)?.toString(), 'ru');
    assert.equal(d.bufferedBytes, 4);
  });

  test('peek_then_next_still_decodes_the_frame', () => {
    const d = new FrameDecoder(MAX);
    const one = frame(Buffer.from('payload'));
    d.push(one.subarray(0, 2));
    d.push(one.subarray(2, 5));
    d.push(one.subarray(5));
    assert.deepEqual(d.peek(4), one.subarray(0, 4));
    assert.equal(d.next()?.toString(), 'payload');
    assert.equal(d.bufferedBytes, 0);
  });

  test('frames_returned_earlier_survive_later_pushes', () => {
    const d = new FrameDecoder(MAX);
    const a = frame(Buffer.from('first'));
    const b = frame(Buffer.from('second'));
    d.push(Buffer.concat([a, b.subarray(0, 3)]));
    const first = d.next();
    d.push(b.subarray(3));
    const second = d.next();
    assert.equal(first?.toString(), 'first');
    assert.equal(second?.toString(), 'second');
  });
});
