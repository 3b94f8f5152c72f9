import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { PeerTransport, encodeHandshake, type PeerAddress, type PeerLogger } from '../../src/net/peers.js';
import { freePort } from '../helpers/servers.js';

const HOST = '127.0.0.1';
const MiB = 1024 * 1024;

interface Node {
  id: number;
  port: number;
  transport: PeerTransport;
  got: { from: number; data: Buffer }[];
  /** every payload ever received, as text (never cleared) */
  history: string[];
  warnings: string[];
  errors: string[];
  /** debug lines (routine events, such as a refused connect) */
  debugs: string[];
}

/** A pino-shaped logger that keeps warnings and errors (and debug lines, when given a list) for the assertions. */
function testLogger(warnings: string[], errors: string[], debugs: string[] = []): PeerLogger {
  const fmt = (a: unknown, b?: unknown): string => (typeof a === 'string' ? a : `${String(b)} ${JSON.stringify(a)}`);
  return {
    info: () => {},
    debug: (a: unknown, b?: unknown) => void debugs.push(fmt(a, b)),
    warn: (a: unknown, b?: unknown) => void warnings.push(fmt(a, b)),
    error: (a: unknown, b?: unknown) => void errors.push(fmt(a, b)),
  } as unknown as PeerLogger;
}

const live: PeerTransport[] = [];

afterEach(async () => {
  await Promise.all(live.splice(0).map((t) => t.close()));
});

async function startNode(id: number, port: number, all: PeerAddress[], frameBytesMax = 64 * MiB): Promise<Node> {
  const node: Node = { id, port, got: [], history: [], warnings: [], errors: [], debugs: [], transport: null as unknown as PeerTransport };
  node.transport = new PeerTransport({
    myId: id,
    listenHost: HOST,
    listenPort: port,
    peers: all.filter((p) => p.id !== id),
    frameBytesMax,
    reconnectDelayMs: 20,
    onMessage: (from, data) => {
      node.got.push({ from, data });
      if (data.length < 100) node.history.push(data.toString());
    },
    log: testLogger(node.warnings, node.errors, node.debugs),
  });
  live.push(node.transport);
  await node.transport.start();
  return node;
}

/** Id of a configured peer that never runs: raw test sockets speak as it without displacing a real connection. */
const GHOST = 9;

async function ensemble(n: number, frameBytesMax?: number): Promise<Node[]> {
  const all: PeerAddress[] = [];
  for (let i = 1; i <= n; i++) all.push({ id: i, host: HOST, port: await freePort() });
  const config = [...all, { id: GHOST, host: HOST, port: await freePort() }];
  const nodes = await Promise.all(all.map((p) => startNode(p.id, p.port, config, frameBytesMax)));
  await waitFor(() => nodes.every((a) => nodes.every((b) => a === b || a.transport.connected(b.id))), 'mesh connected');
  return nodes;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Both sides know a connection is up only after the handshake: wait until a probe from every
 * node reaches every other, so a test's first message cannot race the inbound handshake.
 */
async function settled(nodes: Node[]): Promise<void> {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.send(b.id, Buffer.from('probe'));
  await waitFor(() => nodes.every((n) => n.got.length >= nodes.length - 1), 'probes delivered');
  for (const n of nodes) n.got.length = 0;
}

function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the server side has closed the socket. */
function closedByServer(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    s.on('error', () => {});
    s.resume();
    if (s.destroyed) resolve();
    else s.once('close', () => resolve());
  });
}

describe('PeerTransport', () => {
  test('three_servers_exchange_messages_in_fifo_order_per_pair', async () => {
    const nodes = await ensemble(3);
    await settled(nodes);
    const N = 1000;
    for (let i = 0; i < N; i++) {
      for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.send(b.id, Buffer.from(`${a.id}->${b.id}:${i}`));
    }
    await waitFor(() => nodes.every((n) => n.got.length === 2 * N), 'all messages delivered');
    for (const b of nodes) {
      for (const a of nodes) {
        if (a === b) continue;
        const seq = b.got.filter((m) => m.from === a.id).map((m) => m.data.toString());
        assert.deepEqual(
          seq,
          Array.from({ length: N }, (_, i) => `${a.id}->${b.id}:${i}`),
          `${a.id} -> ${b.id}`,
        );
      }
      assert.deepEqual(b.warnings, []);
      assert.deepEqual(b.errors, []);
    }
  });

  test('a_20_MiB_frame_arrives_intact', async () => {
    const [a, b] = await ensemble(2);
    await settled([a!, b!]);
    const payload = Buffer.alloc(20 * MiB);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32BE((i * 2654435761) >>> 0, i);
    a!.transport.send(b!.id, payload);
    a!.transport.send(b!.id, Buffer.from('after'));
    await waitFor(() => b!.got.length === 2, 'big frame delivered', 8000);
    assert.equal(b!.got[0]!.from, a!.id);
    assert.ok(b!.got[0]!.data.equals(payload), 'payload intact');
    assert.equal(b!.got[1]!.data.toString(), 'after');
  });

  test('a_restarted_server_is_reconnected_and_messages_flow_again', async () => {
    const nodes = await ensemble(3);
    const [a, b, c] = nodes as [Node, Node, Node];
    await settled(nodes);
    await c.transport.close();
    await waitFor(() => !a.transport.connected(c.id) && !b.transport.connected(c.id), 'c seen down');
    // While c is down a send is dropped, not queued.
    a.transport.send(c.id, Buffer.from('lost'));

    const all = nodes.map((n) => ({ id: n.id, host: HOST, port: n.port }));
    const c2 = await startNode(c.id, c.port, all);
    const again = [a, b, c2];
    await waitFor(() => again.every((x) => again.every((y) => x === y || x.transport.connected(y.id))), 'mesh reconnected');
    await settled(again);
    a.transport.send(c2.id, Buffer.from('hello c2'));
    c2.transport.send(b.id, Buffer.from('hello b'));
    await waitFor(() => c2.got.length === 1 && b.got.length === 1, 'messages after restart');
    assert.deepEqual(
      c2.got.map((m) => [m.from, m.data.toString()]),
      [[a.id, 'hello c2']],
    );
    assert.deepEqual(
      b.got.map((m) => [m.from, m.data.toString()]),
      [[c2.id, 'hello b']],
    );
    assert.ok(!c2.history.includes('lost'), 'a send while disconnected is dropped, not queued');
  });

  test('garbage_on_the_peer_port_is_disconnected_and_the_transport_keeps_working', async () => {
    const [a, b] = (await ensemble(2, 1 * MiB)) as [Node, Node];
    await settled([a, b]);
    // one refusal line per address and kind: a kind seen already (the same category, other bytes) is counted, not logged;
    // GHOST is a configured peer, so its frame errors come after admission and are each logged
    const cases: [string, Buffer, RegExp | null][] = [
      ['random bytes', Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 151 + 7) & 0xff)), /magic/],
      ['bad version', Buffer.concat([Buffer.from('ARKP'), Buffer.from([0, 9, 0, 0, 0, 1])]), /version 9/],
      ['my own id', encodeHandshake(b.id), /server id 2/],
      ['unknown id', encodeHandshake(77), null],
      ['huge length', Buffer.concat([encodeHandshake(GHOST), Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3])]), /frame length 4294967280/],
      ['zero length', Buffer.concat([encodeHandshake(GHOST), Buffer.from([0, 0, 0, 0])]), /frame length 0/],
      ['just over frameBytesMax', Buffer.concat([encodeHandshake(GHOST), Buffer.from([0, 0x10, 0, 1])]), /frame length 1048577/],
    ];
    for (const [what, bytes, warning] of cases) {
      b.warnings.length = 0;
      const s = await rawConnect(b.port);
      const closed = closedByServer(s);
      s.write(bytes);
      await closed;
      assert.equal(b.warnings.length, warning === null ? 0 : 1, `${what}: ${JSON.stringify(b.warnings)}`);
      if (warning === null) continue;
      assert.match(b.warnings[0]!, warning, what);
      assert.match(b.warnings[0]!, /127\.0\.0\.1:\d+/, `${what}: names the remote address`);
    }
    // Seeded random streams, with and without a valid handshake in front.
    let x = 12345;
    const rand = (): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 16) & 0xff;
    };
    for (let i = 0; i < 20; i++) {
      const s = await rawConnect(b.port);
      const closed = closedByServer(s);
      const junk = Buffer.from(Array.from({ length: 64 + i * 50 }, rand));
      s.write(i % 2 === 0 ? junk : Buffer.concat([encodeHandshake(GHOST), junk]));
      s.end();
      await closed;
    }
    assert.deepEqual(b.errors, []);

    // The real mesh still works both ways.
    b.got.length = 0;
    a.got.length = 0;
    a.transport.send(b.id, Buffer.from('still here'));
    b.transport.send(a.id, Buffer.from('me too'));
    await waitFor(() => b.got.length === 1 && a.got.length === 1, 'messages after garbage');
    assert.deepEqual(
      b.got.map((m) => [m.from, m.data.toString()]),
      [[a.id, 'still here']],
    );
    assert.equal(a.got[0]!.data.toString(), 'me too');
  });

  test('a_frame_split_one_byte_at_a_time_is_reassembled', async () => {
    const [a, b] = (await ensemble(2)) as [Node, Node];
    await settled([a, b]);
    const s = await rawConnect(b.port);
    s.setNoDelay(true);
    const payloads = [Buffer.from('one byte at a time'), Buffer.from([7]), Buffer.alloc(300, 0x5a)];
    const stream = Buffer.concat([encodeHandshake(GHOST), ...payloads.map(frame)]);
    for (let i = 0; i < stream.length; i++) {
      s.write(stream.subarray(i, i + 1));
      // Let each byte go out alone, so the receiver really sees one-byte chunks.
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => b.got.length === payloads.length, 'split frames delivered');
    assert.deepEqual(
      b.got.map((m) => m.from),
      payloads.map(() => GHOST),
    );
    assert.deepEqual(
      b.got.map((m) => m.data),
      payloads,
    );
    s.destroy();
  });

  test('a_new_connection_from_the_same_id_replaces_the_previous_one', async () => {
    const [a, b] = (await ensemble(2)) as [Node, Node];
    await settled([a, b]);
    const s1 = await rawConnect(b.port);
    const s1closed = closedByServer(s1);
    s1.write(Buffer.concat([encodeHandshake(GHOST), frame(Buffer.from('first'))]));
    await waitFor(() => b.got.length === 1, 'first delivered');
    const s2 = await rawConnect(b.port);
    s2.write(Buffer.concat([encodeHandshake(GHOST), frame(Buffer.from('second'))]));
    await s1closed;
    await waitFor(() => b.got.length === 2, 'second delivered');
    assert.deepEqual(
      b.got.map((m) => [m.from, m.data.toString()]),
      [
        [GHOST, 'first'],
        [GHOST, 'second'],
      ],
    );
    assert.ok(!s2.destroyed, 'the newer connection stays');
    s2.destroy();
  });

  test('send_while_disconnected_drops_and_reconnects_when_the_peer_appears', async () => {
    const ports = [await freePort(), await freePort()];
    const all = [
      { id: 1, host: HOST, port: ports[0]! },
      { id: 2, host: HOST, port: ports[1]! },
    ];
    const a = await startNode(1, ports[0]!, all);
    a.transport.send(2, Buffer.from('nobody there'));
    assert.equal(a.transport.connected(2), false);
    // a few refused reconnects: routine while a peer is down, so debug lines, not warnings or errors
    const refused = (): number => a.debugs.filter((l) => l.includes('peer connection error') && l.includes('ECONNREFUSED')).length;
    await waitFor(() => refused() >= 3, 'three refused reconnects');
    assert.deepEqual(a.errors, []);
    assert.deepEqual(a.warnings, []);
    const b = await startNode(2, ports[1]!, all);
    await waitFor(() => a.transport.connected(2) && b.transport.connected(1), 'connected');
    await settled([a, b]);
    a.transport.send(2, Buffer.from('now'));
    await waitFor(() => b.got.length === 1, 'delivered');
    assert.equal(b.got[0]!.data.toString(), 'now');
    assert.ok(!b.history.includes('nobody there'), 'a send while disconnected is dropped, not queued');
  });

  test('a_peer_that_does_not_read_loses_its_connection_beyond_queueBytesMax', async () => {
    // A "peer" that accepts and never reads: unsent bytes pile up in the sender.
    const accepted: Socket[] = [];
    const stuck = createServer((sock) => {
      sock.pause();
      accepted.push(sock);
    });
    await new Promise<void>((r) => stuck.listen(0, HOST, r));
    const stuckPort = (stuck.address() as { port: number }).port;
    try {
      const warnings: string[] = [];
      const errors: string[] = [];
      const t = new PeerTransport({
        myId: 1,
        listenHost: HOST,
        listenPort: await freePort(),
        peers: [{ id: 2, host: HOST, port: stuckPort }],
        frameBytesMax: 64 * MiB,
        queueBytesMax: 4 * MiB,
        reconnectDelayMs: 20,
        onMessage: () => {},
        log: testLogger(warnings, errors),
      });
      live.push(t);
      await t.start();
      await waitFor(() => t.connected(2), 'connected to the stuck peer');
      const chunk = Buffer.alloc(MiB, 1);
      for (let i = 0; i < 8 && t.connected(2); i++) t.send(2, chunk);
      await waitFor(() => warnings.length === 1, 'queue limit warning');
      assert.match(warnings[0]!, /not reading fast enough/);
      // It reconnects, with an empty queue.
      await waitFor(() => accepted.length === 2 && t.connected(2), 'reconnected');
      assert.deepEqual(errors, []);
    } finally {
      for (const sock of accepted) sock.destroy();
      await new Promise((r) => stuck.close(r));
    }
  });

  test('close_right_after_start_leaves_nothing_listening_or_connecting', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const errors: string[] = [];
    const t = new PeerTransport({
      myId: 1,
      listenHost: HOST,
      listenPort: port,
      peers: [{ id: 2, host: HOST, port: await freePort() }],
      frameBytesMax: MiB,
      reconnectDelayMs: 20,
      onMessage: () => {},
      log: testLogger(warnings, errors),
    });
    const started = t.start();
    await t.close();
    await started;
    // The port is free again: a new transport can take it.
    const again = await startNode(1, port, [
      { id: 1, host: HOST, port },
      { id: 2, host: HOST, port: await freePort() },
    ]);
    await again.transport.close();
    await assert.rejects(t.start());
    assert.deepEqual(errors, []);
  });
});
