// The client against scripted fake servers, for what a healthy ZooKeeper rarely does on demand: a
// read-only server (and the move to a read-write one found with `isro`), a reply out of order, a
// server that is not ZooKeeper at all, an expired session refused at the handshake, pings on an
// idle connection.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { JuteReader, JuteWriter } from '../../src/wire/jute.js';
import {
  OpCode,
  Xid,
  readConnectRequest,
  writeConnectResponse,
  writeStat,
  type ConnectRequest,
  type Stat,
} from '../../src/wire/protocol.js';
import { ConnectionLossError, createClient, type ZooKeeperClient } from '../../src/index.js';
import { once, recordStates, until } from './helpers.js';

const T = { timeout: 60000 };
const STAT: Stat = {
  czxid: 1,
  mzxid: 1,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 1,
  numChildren: 0,
  pzxid: 1,
};

interface FakeOptions {
  readOnly?: boolean;
  /** answer a handshake that resumes a session with timeOut 0 (expired) */
  expireResumes?: boolean;
  /** reply xid shift (out-of-order replies) */
  xidShift?: number;
  /** answer 'isro' with this */
  isro?: 'rw' | 'ro';
  /** send this instead of a ConnectResponse */
  garbage?: boolean;
}

/** A scripted ZooKeeper-protocol server: handshake, pings, getData answered with "x". */
class FakeServer {
  readonly handshakes: ConnectRequest[] = [];
  connections = 0;
  pings = 0;
  private nextSession = BigInt(Math.floor(Math.random() * 0xffffff)) << 8n;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(o: FakeOptions = {}): Promise<FakeServer> {
    let fake: FakeServer | null = null;
    const server = createServer((s) => fake!.serve(s, o));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const a = server.address();
    fake = new FakeServer(server, typeof a === 'object' && a ? a.port : 0);
    return fake;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  private serve(s: Socket, o: FakeOptions): void {
    this.sockets.add(s);
    this.connections++;
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let shook = false;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!shook && buf.length >= 4 && buf.subarray(0, 4).toString('latin1') === 'isro') {
        s.end(o.isro ?? 'ro');
        return;
      }
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const len = buf.readInt32BE(0);
        const frame = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        if (!shook) {
          shook = true;
          if (o.garbage) {
            s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
            return;
          }
          this.handshake(s, readConnectRequest(new JuteReader(frame)), o);
          continue;
        }
        this.request(s, frame, o);
      }
    });
  }

  private handshake(s: Socket, req: ConnectRequest, o: FakeOptions): void {
    this.handshakes.push(req);
    const expired = o.expireResumes && req.sessionId !== 0n;
    const w = new JuteWriter();
    const at = w.reserveInt();
    writeConnectResponse(w, {
      protocolVersion: 0,
      timeOut: expired ? 0 : Math.min(req.timeOut, 3000),
      sessionId: expired ? 0n : req.sessionId !== 0n ? req.sessionId : this.nextSession++,
      passwd: Buffer.alloc(16, 7),
      readOnly: o.readOnly === true,
    });
    w.patchInt(at, w.length - 4);
    s.write(w.take());
    if (expired) s.end();
  }

  private request(s: Socket, frame: Buffer, o: FakeOptions): void {
    const r = new JuteReader(frame);
    const xid = r.int();
    const op = r.int();
    const w = new JuteWriter();
    const at = w.reserveInt();
    if (op === OpCode.ping) {
      this.pings++;
      w.int(Xid.ping).long(1).int(0);
    } else if (op === OpCode.getData) {
      w.int(xid + (o.xidShift ?? 0))
        .long(1)
        .int(0)
        .buffer(Buffer.from('x'));
      writeStat(w, STAT);
    } else if (op === OpCode.closeSession) {
      w.int(xid).long(1).int(0);
    } else {
      w.int(xid).long(1).int(-6); // Unimplemented
    }
    w.patchInt(at, w.length - 4);
    s.write(w.take());
  }

  /** Closes every client connection (the server keeps listening). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}

describe('client against scripted servers', () => {
  const open: Array<ZooKeeperClient | FakeServer> = [];
  after(async () => {
    for (const x of open.splice(0).reverse()) {
      if (x instanceof FakeServer) await x.stop();
      else await x.close();
    }
  });

  test('read_only_server_then_the_move_to_a_read_write_one', T, async () => {
    const ro = await FakeServer.start({ readOnly: true, isro: 'ro' });
    const rw = await FakeServer.start({ isro: 'rw' });
    open.push(ro, rw);
    // random 0 makes the shuffle put the second host first: the read-only server is tried first
    const c = createClient(`${rw.address},${ro.address}`, { allowReadOnly: true, random: () => 0, sessionTimeoutMs: 6000 });
    open.push(c);
    const states = recordStates(c);
    const info = await once<{ sessionId: bigint; server: string }>(c, 'readOnly');
    assert.equal(info.server, ro.address);
    assert.equal(c.state, 'readOnly');
    assert.equal(ro.handshakes[0]!.readOnly, true, 'the handshake says read-only is acceptable');
    assert.equal((await c.getData('/a')).data?.toString(), 'x', 'reads work');
    // the client looks for a read-write server with isro and moves there
    await once(c, 'connected');
    assert.equal(c.server, rw.address);
    assert.equal(c.state, 'connected');
    assert.equal(rw.handshakes.at(-1)!.sessionId, 0n, 'a read-only session id is not offered to a read-write server');
    assert.deepEqual(states, ['readOnly', 'suspended', 'connected']);
  });

  test('a_reply_out_of_order_breaks_the_connection_not_the_session', T, async () => {
    const bad = await FakeServer.start({ xidShift: 5 });
    open.push(bad);
    const c = createClient(bad.address, { sessionTimeoutMs: 6000 });
    open.push(c);
    await c.waitForConnected();
    const sid = c.sessionId;
    const back = once(c, 'reconnected');
    await assert.rejects(c.getData('/a'), ConnectionLossError);
    await back;
    assert.equal(c.sessionId, sid);
    assert.equal(bad.handshakes.at(-1)!.sessionId, sid, 'the reconnect asks for the same session');
  });

  test('a_server_that_is_not_zookeeper_is_retried_not_trusted', T, async () => {
    const junk = await FakeServer.start({ garbage: true });
    open.push(junk);
    const c = createClient(junk.address, { sessionTimeoutMs: 6000, reconnectDelayMs: { initialMs: 10, maxMs: 20 } });
    open.push(c);
    await assert.rejects(c.waitForConnected({ timeoutMs: 300 }), ConnectionLossError);
    assert.equal(c.state, 'connecting');
    assert.ok(junk.connections >= 1);
  });

  test('a_resumed_session_the_server_does_not_know_is_expired_then_renewed', T, async () => {
    const fake = await FakeServer.start({ expireResumes: true });
    open.push(fake);
    const c = createClient(fake.address, { session: { id: 0xabcn, password: Buffer.alloc(16, 1) }, sessionTimeoutMs: 6000 });
    open.push(c);
    const states = recordStates(c);
    const expired = await once<{ reason: string; sessionId: bigint }>(c, 'expired');
    assert.deepEqual(expired, { reason: 'server', sessionId: 0xabcn });
    await once(c, 'connected');
    assert.notEqual(c.sessionId, 0xabcn);
    assert.deepEqual(states, ['expired', 'connected']);
    assert.equal(fake.handshakes[0]!.sessionId, 0xabcn);
    assert.equal(fake.handshakes[0]!.passwd.equals(Buffer.alloc(16, 1)), true);
  });

  test('an_idle_connection_is_kept_alive_by_pings', T, async () => {
    const fake = await FakeServer.start();
    open.push(fake);
    // a ping after 800 ms of silence; a connection silent for 1600 ms would be dropped
    const c = createClient(fake.address, { sessionTimeoutMs: 2400 });
    open.push(c);
    await c.waitForConnected();
    const states = recordStates(c);
    // seven pings: more than two session timeouts with nothing but pings on the connection
    await until(() => fake.pings >= 7, 'seven pings', 20000);
    assert.deepEqual(states, [], 'no disconnect while the server answers pings');
    assert.equal(fake.connections, 1, 'the first connection carried them all');
  });

  test('a_dropped_connection_is_resumed_on_the_same_session', T, async () => {
    const fake = await FakeServer.start();
    open.push(fake);
    const c = createClient(fake.address, { sessionTimeoutMs: 6000 });
    open.push(c);
    await c.waitForConnected();
    const sid = c.sessionId;
    const back = once(c, 'reconnected');
    fake.dropAll();
    await back;
    assert.equal(c.sessionId, sid);
    assert.equal(fake.handshakes.at(-1)!.passwd.equals(Buffer.alloc(16, 7)), true, 'with the password the server gave');
  });
});
