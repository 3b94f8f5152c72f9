// The client port keeps a connection's trouble to that connection, but never swallows a broken
// invariant: that is the server's state, and must reach the process (which then stops).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { ClientPort, type ClientPortHandler } from '../../src/net/clientport.js';
import { JuteWriter } from '../../src/wire/jute.js';
import { OpCode, writeConnectRequest, writeRequest } from '../../src/wire/protocol.js';
import { AssertionError } from '../../src/util/errors.js';
import { assertBroken } from '../helpers/invariant.js';

/** What ClientPort uses of a socket; emit('data') runs the port's handler synchronously. */
class FakeSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  readonly writableLength = 0;
  destroyed = false;
  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  write(): boolean {
    return true;
  }
  end(): void {
    this.destroyed = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

function frame(body: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(256);
  const at = w.reserveInt();
  body(w);
  w.patchInt(at, w.length - 4);
  return w.take();
}

/** A connection that sends its ConnectRequest and one delete, to a port whose core throws `failure` on the delete. */
function serving(failure: Error): { port: ClientPort; deliver: () => void } {
  const handler: ClientPortHandler = {
    open: () => true,
    connect: () => {},
    request: () => {
      throw failure;
    },
    requestError: () => {},
    fourLetter: () => '',
    closed: () => {},
    backlogged: () => false,
    flush: () => {},
  };
  const port = new ClientPort(handler, pino({ level: 'silent' }), 1 << 20);
  const socket = new FakeSocket();
  (port as unknown as { accept(s: FakeSocket): void }).accept(socket);
  const bytes = Buffer.concat([
    frame((w) =>
      writeConnectRequest(w, {
        protocolVersion: 0,
        lastZxidSeen: 0,
        timeOut: 30000,
        sessionId: 0n,
        passwd: Buffer.alloc(16),
        readOnly: false,
      }),
    ),
    frame((w) => {
      w.int(1).int(OpCode.delete);
      writeRequest(w, { type: OpCode.delete, req: { path: '/a', version: -1 } });
    }),
  ]);
  return {
    port,
    deliver: () => {
      socket.emit('data', bytes);
    },
  };
}

test("a broken invariant while serving a request reaches the process, not one connection's error count", () => {
  const { port, deliver } = serving(new AssertionError('live txn 0x5: create /a/b: its parent /a does not exist'));
  assertBroken(deliver, /its parent \/a does not exist/);
  assert.equal(port.internalErrors, 0);
});

test('any other bug serving a request costs that connection only, counted', () => {
  const { port, deliver } = serving(new TypeError('cannot read properties of undefined'));
  assert.doesNotThrow(deliver);
  assert.equal(port.internalErrors, 1);
});
