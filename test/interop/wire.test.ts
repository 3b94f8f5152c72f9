// Client-protocol details that clients other than the Java one depend on, side by side with
// Apache ZooKeeper 3.8 over raw frames: the xid of the auth reply and what happens to the
// connection after it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
import { startZooKeeper, zookeeperMissing } from '../helpers/zookeeper.js';
import { ZkClient } from '../../src/client/client.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';
import { OpCode, Xid } from '../../src/wire/protocol.js';

interface AuthOutcome { xid: number; zxid: number; err: number; connection: 'open' | 'closed' }

/** The first frame a bare auth request with this xid gets back, and whether the connection then still serves. */
async function authOutcome(srv: RunningServer, xid: number, scheme: string, auth: string): Promise<AuthOutcome> {
  const c = await ZkClient.connect({ port: srv.port });
  try {
    const first = new Promise<{ xid: number; zxid: number; err: number }>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${srv.name}: no reply to auth (xid ${xid}) within 10 s`)), 10000);
      c.once('frame', (f: { xid: number; zxid: number; err: number }) => { clearTimeout(timer); res(f); });
    });
    // the client matches replies by xid; a reply with another xid leaves this promise waiting, so
    // only the frame itself is looked at
    c.send({ type: OpCode.auth, req: { type: 0, scheme, auth: Buffer.from(auth) } }, xid).catch(() => { /* judged below */ });
    const reply = await first;
    // ZooKeeper stops reading and closes after AuthFailed: this exists then fails with ConnectionLoss
    const connection = await c.exists('/').then(
      () => 'open' as const,
      (e: unknown) => {
        if (e instanceof KeeperError && e.code === ErrorCode.ConnectionLoss) return 'closed' as const;
        throw e;
      });
    return { ...reply, connection };
  } finally {
    c.disconnect();
  }
}

const CASES: Array<{ what: string; xid: number; scheme: string; auth: string }> = [
  { what: 'digest with an ordinary xid (go-zookeeper)', xid: 5, scheme: 'digest', auth: 'user:pw' },
  { what: 'digest with xid -4 (the Java client)', xid: Xid.auth, scheme: 'digest', auth: 'user:pw' },
  { what: 'unknown scheme with an ordinary xid', xid: 6, scheme: 'nosuchscheme', auth: 'x' },
  { what: 'unknown scheme with xid -4', xid: Xid.auth, scheme: 'nosuchscheme', auth: 'x' },
];

describe('auth reply: Ark vs Apache ZooKeeper 3.8', () => {
  test('reply_xid_err_and_connection_state_match_zookeeper', { timeout: 120000 }, async (t) => {
    const skip = requireOrSkip(zookeeperMissing());
    if (skip) { t.skip(skip); return; }
    const [ark, zk] = await Promise.all([startArk(), startZooKeeper()]);
    try {
      for (const k of CASES) {
        const [a, z] = await Promise.all([authOutcome(ark, k.xid, k.scheme, k.auth), authOutcome(zk, k.xid, k.scheme, k.auth)]);
        assert.deepEqual(a, z, `${k.what}: Ark ${JSON.stringify(a)}, ZooKeeper ${JSON.stringify(z)}`);
        // what ZooKeeperServer.processPacket does: the request's xid, zxid 0, close after AuthFailed
        assert.deepEqual(z, { xid: k.xid, zxid: 0, err: k.scheme === 'digest' ? 0 : ErrorCode.AuthFailed, connection: k.scheme === 'digest' ? 'open' : 'closed' }, k.what);
      }
    } finally {
      await Promise.all([ark.stop(), zk.stop()]);
    }
  });
});
