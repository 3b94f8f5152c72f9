// HttpEndpoint (src/net/httpendpoint.ts) without TLS: requests are answered, a request whose
// headers stall is answered 408 and closed (Node's check, which these never-listening HTTP servers
// must still get), a busy port is logged and left out, and close() ends keep-alive connections.
// The HTTPS paths run in test/e2e/admin-https.test.ts with real certificates.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { pino } from 'pino';
import { HttpEndpoint } from '../../src/net/httpendpoint.js';

const log = pino({ level: 'silent' });
const options = {
  name: 'test endpoint',
  httpsOnlyReason: 'test',
  unavailable: 'test endpoint could not start',
  timeouts: { headersMs: 300, checkEveryMs: 100 },
};

/** Sends `text` on a new connection; resolves with all it got back once the server closes it (or after 10 s). */
function exchange(port: number, text: string): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let answer = '';
    s.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ answer, closed: false });
    }, 10_000);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true });
    });
  });
}

describe('HttpEndpoint over plain HTTP', () => {
  test('answers; a stalled request gets 408; close() ends a keep-alive connection', async () => {
    const e = new HttpEndpoint((req, res) => res.end(`you asked for ${req.url}`), { kind: 'plain' }, log, options);
    try {
      const port = await e.listen(0, '127.0.0.1');
      assert.ok(port !== null);
      const full = await exchange(port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.match(full.answer, /^HTTP\/1\.1 200 OK[\s\S]*you asked for \/x$/);
      const stalled = await exchange(port, 'GET /x HTTP/1.1\r\nHost: a\r\n');
      assert.equal(stalled.closed, true);
      assert.match(stalled.answer, /^HTTP\/1\.1 408/);
      // a keep-alive connection that stays open is closed by close()
      const kept = connect(port, '127.0.0.1', () => kept.write('GET /y HTTP/1.1\r\nHost: a\r\n\r\n'));
      kept.on('error', () => undefined);
      await once(kept, 'data');
      const closed = once(kept, 'close');
      await e.close();
      await closed;
    } finally {
      await e.close();
    }
  });

  test('a port in use is reported as null, not thrown', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const taken = (holder.address() as { port: number }).port;
    // the caller drops an endpoint whose port is busy without close(): it must leave no timer behind
    // (Node's request-timeout check is an unref'd interval: counted as it is created)
    let timers = 0;
    const hook = createHook({ init: (_id, type) => void (type === 'Timeout' && timers++) }).enable();
    const e = new HttpEndpoint((_req, res) => res.end(), { kind: 'plain' }, log, options);
    try {
      const port = await e.listen(taken, '127.0.0.1');
      hook.disable();
      assert.equal(port, null);
      assert.equal(timers, 0, 'no request-timeout check runs for an endpoint that never listened');
    } finally {
      hook.disable();
      await e.close();
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });
});
