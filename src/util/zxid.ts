// A zxid: ZooKeeper's 64-bit transaction id, the leader's epoch in the high 32 bits and a counter
// within the epoch in the low 32 (ZooKeeper's ZxidUtils). Ark keeps zxids as JS numbers, exact
// up to 2^53: epochs below 2^21, far past any ensemble's life. Pure: every layer may import it.

/** Zxids per epoch: the counter's span. */
export const COUNTER_SPAN = 0x1_0000_0000;

export function epochOf(zxid: number): number {
  return Math.floor(zxid / COUNTER_SPAN);
}

export function counterOf(zxid: number): number {
  return zxid % COUNTER_SPAN;
}

export function makeZxid(epoch: number, counter: number): number {
  return epoch * COUNTER_SPAN + counter;
}

/**
 * Counter 0 of an epoch above 0: no txn has it. Ark gives it to a restore's image (the state a new
 * history starts from: its epoch's first txn is counter 1), never to anything else.
 */
export function isEpochStart(zxid: number): boolean {
  return zxid > 0 && counterOf(zxid) === 0;
}

/**
 * Whether `next` may directly follow `prev` in one history: +1, or the first txn (counter 1) of
 * a later epoch (Zab's sync proved the history before it; a new leader's first proposal). Whether
 * an epoch change is allowed at a given place is the caller's rule (a standalone server's log
 * never changes epoch; a SNAP install breaks a member's log: storage/logbreaks.ts).
 */
export function followsAcrossEpochs(prev: number, next: number): boolean {
  return next === prev + 1 || (epochOf(next) > epochOf(prev) && counterOf(next) === 1);
}

/** As ZooKeeper's logs print a zxid: 0x followed by lower-case hex, no padding. */
export function hexZxid(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}
