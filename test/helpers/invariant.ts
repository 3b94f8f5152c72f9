// A broken invariant must surface as Ark's own AssertionError (a bug: the server stops), told
// apart from node:assert's failures and from a client's KeeperError, and say what broke.
import assert from 'node:assert/strict';
import { AssertionError } from '../../src/util/errors.js';

function brokenSaying(what: RegExp): (e: unknown) => true {
  return (e) => {
    assert.ok(e instanceof AssertionError, `expected Ark's AssertionError, got ${(e as Error)?.stack ?? String(e)}`);
    assert.match(e.message, what);
    return true;
  };
}

/** `fn` throws Ark's AssertionError with a message matching `what`. */
export function assertBroken(fn: () => unknown, what: RegExp): void {
  assert.throws(fn, brokenSaying(what));
}

/** The promise rejects with Ark's AssertionError saying `what`. */
export async function rejectsBroken(p: Promise<unknown>, what: RegExp): Promise<void> {
  await assert.rejects(p, brokenSaying(what));
}
