// What the tests of each binary codec (the peer messages', the app payloads') check of its decoder:
// bad input is refused with the codec's own error class and nothing else, whatever was cut off or
// added, so a peer's garbage is an error its receiver can tell from a bug.
import assert from 'node:assert/strict';

type ErrorClass = new (...args: never[]) => Error;

/** Runs `decode`, which must throw an `errorClass` (not another error, not succeed); returns the message. */
export function refusal(errorClass: ErrorClass, decode: () => unknown, what: string): string {
  try {
    decode();
  } catch (e) {
    assert.ok(e instanceof errorClass, `${what}: threw ${String(e)}, not a ${errorClass.name}`);
    assert.ok(e.message.length > 0);
    return e.message;
  }
  assert.fail(`${what}: decoded without an error`);
}

export interface CodecUnderTest<T> {
  encode(value: T): Buffer;
  decode(buf: Buffer): unknown;
  errorClass: ErrorClass;
  /** the codec version byte, second in every encoding */
  version: number;
  /** what failure messages call a sample */
  name(value: T): string;
}

/** Every sample decodes to itself, each field in place (a field the codec forgets fails here). */
export function assertRoundTrips<T>(codec: CodecUnderTest<T>, samples: readonly T[]): void {
  for (const s of samples) {
    const buf = codec.encode(s);
    assert.equal(buf[1], codec.version);
    assert.deepStrictEqual(codec.decode(buf), s, codec.name(s));
  }
}

/** Every cut of every sample's encoding is refused. */
export function assertEveryTruncationRefused<T>(codec: CodecUnderTest<T>, samples: readonly T[]): void {
  for (const s of samples) {
    const buf = codec.encode(s);
    // A large payload makes every cut inside it alike: cut at its edges and at a stride.
    for (let cut = 0; cut < buf.length; cut += cut < 64 || buf.length - cut < 64 ? 1 : 997) {
      refusal(codec.errorClass, () => codec.decode(buf.subarray(0, cut)), `${codec.name(s)} cut at ${cut}/${buf.length}`);
    }
  }
}

/** A byte after any sample's encoding is refused as trailing. */
export function assertTrailingBytesRefused<T>(codec: CodecUnderTest<T>, samples: readonly T[]): void {
  for (const s of samples) {
    const buf = Buffer.concat([codec.encode(s), Buffer.from([0])]);
    assert.match(
      refusal(codec.errorClass, () => codec.decode(buf), codec.name(s)),
      /trailing/,
    );
  }
}
