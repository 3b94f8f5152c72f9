// Thousands of random and mutated frames against a live server: each bad connection is closed
// on its own, and a well-behaved client keeps being served throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startInProc } from '../helpers/inproc.js';
import { JuteWriter } from '../../src/wire/jute.js';
import { OpCode, OPEN_ACL_UNSAFE, writeConnectRequest, writeRequest, type Request } from '../../src/wire/protocol.js';
import { mulberry32 as rng } from '../helpers/mulberry32.js';

function frame(body: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter();
  const at = w.reserveInt();
  body(w);
  w.patchInt(at, w.length - 4);
  return w.take();
}

const connectFrame = frame((w) =>
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 4000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }),
);

const samples: Request[] = [
  { type: OpCode.create, req: { path: '/fz/a', data: Buffer.from('x'), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 } },
  { type: OpCode.createTTL, req: { path: '/fz/t', data: null, acl: OPEN_ACL_UNSAFE, flags: 5, ttl: 1000 } },
  { type: OpCode.setData, req: { path: '/fz', data: Buffer.from('y'), version: -1 } },
  { type: OpCode.getChildren2, req: { path: '/', watch: true } },
  { type: OpCode.setACL, req: { path: '/fz', acl: OPEN_ACL_UNSAFE, version: -1 } },
  {
    type: OpCode.multi,
    req: {
      ops: [
        { type: OpCode.create, req: { path: '/fz/m', data: null, acl: OPEN_ACL_UNSAFE, flags: 1, ttl: -1 } },
        { type: OpCode.delete, req: { path: '/fz/m', version: -1 } },
      ],
    },
  },
  {
    type: OpCode.setWatches2,
    req: {
      relativeZxid: 0,
      dataWatches: ['/a'],
      existWatches: [],
      childWatches: ['/'],
      persistentWatches: [],
      persistentRecursiveWatches: ['/fz'],
    },
  },
  { type: OpCode.addWatch, req: { path: '/fz', mode: 1 } },
  { type: OpCode.getEphemerals, req: { path: '/' } },
];
const requestFrames = samples.map((r, i) =>
  frame((w) => {
    w.int(i + 1).int(r.type);
    writeRequest(w, r);
  }),
);

function mutate(r: () => number, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const kind = Math.floor(r() * 5);
  if (kind === 0) {
    // flip bytes
    for (let i = 0; i < 1 + r() * 4; i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
    return out;
  }
  if (kind === 1) return out.subarray(0, Math.floor(r() * out.length)); // truncate
  if (kind === 2) {
    // lie about an inner length (first string/vector length after the header)
    if (out.length > 16) out.writeInt32BE([0x7fffffff, -2, -1, 1 << 20, 65536][Math.floor(r() * 5)]!, 12);
    return out;
  }
  if (kind === 3) {
    // frame length lies
    out.writeInt32BE(Math.floor(r() * 0x7fffffff) - 0x3fffffff, 0);
    return out;
  }
  const junk = Buffer.alloc(Math.floor(r() * 64));
  for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(r() * 256);
  return Buffer.concat([out, junk]);
}

function blast(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    const done = (): void => {
      s.destroy();
      resolve();
    };
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
      setTimeout(done, 30); // the workload: the server reads the frames, then the client hangs up
    });
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {
      /* whatever the server answers */
    });
  });
}

test('server_survives_random_and_mutated_frames_and_keeps_serving', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const r = rng(seed);
  const srv = await startInProc();
  try {
    const good = await srv.client({ sessionTimeoutMs: 4000 });
    await good.create('/fz');
    // the well-behaved client's own node: a mutated frame may still be a valid request (a setACL
    // on /fz whose perms were flipped to none is one) and may lock anyone out of /fz, rightly;
    // the fuzz frames' paths are all shorter than this one, so no byte flip reaches it
    await good.create('/fuzz-good-client');
    const rounds = 2000;
    let served = 0;
    for (let i = 0; i < rounds; i += 20) {
      const batch: Array<Promise<void>> = [];
      for (let j = 0; j < 20; j++) {
        const chunks: Buffer[] = [];
        const shape = r();
        if (shape < 0.2) {
          const junk = Buffer.alloc(Math.floor(r() * 200));
          for (let k = 0; k < junk.length; k++) junk[k] = Math.floor(r() * 256);
          chunks.push(junk);
        } else {
          chunks.push(shape < 0.4 ? mutate(r, connectFrame) : connectFrame);
          for (let k = 0; k < 1 + r() * 4; k++) {
            const f = requestFrames[Math.floor(r() * requestFrames.length)]!;
            chunks.push(r() < 0.7 ? mutate(r, f) : f);
          }
        }
        batch.push(blast(srv.port, chunks));
      }
      await Promise.all(batch);
      await good.setData('/fuzz-good-client', `round ${i}`);
      assert.equal((await good.getData('/fuzz-good-client')).data.toString(), `round ${i}`, `seed=${seed}`);
      served++;
    }
    assert.equal(served, rounds / 20);
    assert.ok(await good.exists('/'), `seed=${seed}`);
    assert.equal(srv.server.port.internalErrors, 0, `internal errors while fuzzing, seed=${seed}`);
  } catch (e) {
    console.log(`fuzz failed with seed=${seed} (rerun with FUZZ_SEED=${seed})`);
    throw e;
  } finally {
    await srv.stop();
  }
});
