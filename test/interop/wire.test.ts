// Client-protocol details that clients other than the Java one depend on, side by side with
// Apache ZooKeeper 3.8: the xid of the auth reply and what happens to the connection after it
// (over raw frames), and replies larger than jute.maxbuffer (with Ark's own client and shell,
// kazoo, and the Java client with and without a larger -Djute.maxbuffer).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { arkBin, requireOrSkip, startArk, type RunningServer } from '../helpers/servers.js';
import {
  compileJava,
  describeJava,
  interopJavaDir,
  javaClientMissing,
  runJava,
  startZooKeeper,
  zookeeperMissing,
} from '../helpers/zookeeper.js';
import { describeTool, runTool } from '../helpers/clitools.js';
import { kazooMissing, runKazooScript } from '../helpers/kazoo.js';
import { ZkClient } from '../../src/client/client.js';
import { ErrorCode, KeeperError, errorName } from '../../src/util/errors.js';
import { OpCode, Xid } from '../../src/wire/protocol.js';

interface AuthOutcome {
  xid: number;
  zxid: number;
  err: number;
  connection: 'open' | 'closed';
}

/** The first frame a bare auth request with this xid gets back, and whether the connection then still serves. */
async function authOutcome(srv: RunningServer, xid: number, scheme: string, auth: string): Promise<AuthOutcome> {
  const c = await ZkClient.connect({ port: srv.port });
  try {
    const first = new Promise<{ xid: number; zxid: number; err: number }>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${srv.name}: no reply to auth (xid ${xid}) within 10 s`)), 10000);
      c.once('frame', (f: { xid: number; zxid: number; err: number }) => {
        clearTimeout(timer);
        res(f);
      });
    });
    // the client matches replies by xid; a reply with another xid leaves this promise waiting, so
    // only the frame itself is looked at
    c.send({ type: OpCode.auth, req: { type: 0, scheme, auth: Buffer.from(auth) } }, xid).catch(() => {
      /* judged below */
    });
    const reply = await first;
    // ZooKeeper stops reading and closes after AuthFailed: this exists then fails with ConnectionLoss
    const connection = await c.exists('/').then(
      () => 'open' as const,
      (e: unknown) => {
        if (e instanceof KeeperError && e.code === ErrorCode.ConnectionLoss) return 'closed' as const;
        throw e;
      },
    );
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
    if (skip) {
      t.skip(skip);
      return;
    }
    const [ark, zk] = await Promise.all([startArk(), startZooKeeper()]);
    try {
      for (const k of CASES) {
        const [a, z] = await Promise.all([authOutcome(ark, k.xid, k.scheme, k.auth), authOutcome(zk, k.xid, k.scheme, k.auth)]);
        assert.deepEqual(a, z, `${k.what}: Ark ${JSON.stringify(a)}, ZooKeeper ${JSON.stringify(z)}`);
        // what ZooKeeperServer.processPacket does: the request's xid, zxid 0, close after AuthFailed
        assert.deepEqual(
          z,
          {
            xid: k.xid,
            zxid: 0,
            err: k.scheme === 'digest' ? 0 : ErrorCode.AuthFailed,
            connection: k.scheme === 'digest' ? 'open' : 'closed',
          },
          k.what,
        );
      }
    } finally {
      await Promise.all([ark.stop(), zk.stop()]);
    }
  });
});

/** 600 children with 2000-byte names: a getChildren reply of about 1.2 MB, over the default jute.maxbuffer (1 MiB - 1) */
const CHILDREN = 600;
const NAME_BYTES = 2000;
const childName = (i: number): string => `${String(i).padStart(4, '0')}${'n'.repeat(NAME_BYTES - 4)}`;

/** How each client fares listing (and the shell deleting) that node on one server. */
async function largeReplyOutcomes(srv: RunningServer, classDir: string): Promise<Record<string, string>> {
  const c = await ZkClient.connect({ port: srv.port });
  try {
    await c.create('/big');
    await Promise.all(Array.from({ length: CHILDREN }, (_, i) => c.create(`/big/${childName(i)}`)));
    const out: Record<string, string> = {
      'ark test client': await c.getChildren('/big').then(
        (names) => `children ${names.length} ${names.reduce((n, k) => n + Buffer.byteLength(k), 0)}`,
        (e: unknown) => `error ${e instanceof KeeperError ? errorName(e.code) : String(e)}`,
      ),
    };
    const kazoo = await runKazooScript('probe.py', [srv.connectString, 'children', '/big'], 60000);
    assert.equal(kazoo.code, 0, `kazoo against ${srv.name}: ${describeTool(kazoo)}`);
    out.kazoo = kazoo.stdout.trim();
    for (const [what, props] of [
      ['java, jute.maxbuffer 4 MiB', { 'jute.maxbuffer': String(4 << 20) }],
      ['java, default jute.maxbuffer', {}],
    ] as const) {
      const r = await runJava(classDir, 'ClientProbe', [srv.connectString, 'children', '/big'], 60000, props);
      assert.equal(r.code, 0, `${what} against ${srv.name}: ${describeJava(r)}`);
      out[what] = r.stdout.trim();
    }
    const ls = await runTool(process.execPath, [arkBin, 'cli', '-server', srv.connectString, 'ls', '/big'], { timeoutMs: 60000 });
    const listed = /^\[(.*)\]$/m.exec(ls.stdout)?.[1]?.split(', ') ?? [];
    out['ark cli ls'] = `exit ${ls.code}, ${listed.length} names${ls.stderr.trim() ? `, ${ls.stderr.trim()}` : ''}`;
    const del = await runTool(process.execPath, [arkBin, 'cli', '-server', srv.connectString, 'deleteall', '/big'], { timeoutMs: 60000 });
    out['ark cli deleteall'] =
      `exit ${del.code}${del.stderr.trim() ? `, ${del.stderr.trim()}` : ''}, /big ${(await c.exists('/big')) ? 'still there' : 'gone'}`;
    return out;
  } finally {
    c.disconnect();
  }
}

describe('replies larger than jute.maxbuffer: Ark vs Apache ZooKeeper 3.8', () => {
  test('a_1_2_MB_getChildren_reply_reaches_every_client_that_reads_it', { timeout: 240000 }, async (t) => {
    const skip = requireOrSkip(zookeeperMissing() ?? javaClientMissing() ?? kazooMissing());
    if (skip) {
      t.skip(skip);
      return;
    }
    const classDir = await compileJava([join(interopJavaDir, 'ClientProbe.java')]);
    const [ark, zk] = await Promise.all([startArk(), startZooKeeper()]);
    try {
      const [a, z] = await Promise.all([largeReplyOutcomes(ark, classDir), largeReplyOutcomes(zk, classDir)]);
      assert.deepEqual(a, z, `Ark ${JSON.stringify(a, null, 2)}\nZooKeeper ${JSON.stringify(z, null, 2)}`);
      // jute.maxbuffer is the reader's limit: only the Java client at its default refuses the reply
      const all = `children ${CHILDREN} ${CHILDREN * NAME_BYTES}`;
      assert.deepEqual(z, {
        'ark test client': all,
        kazoo: all,
        'java, jute.maxbuffer 4 MiB': all,
        'java, default jute.maxbuffer': 'error ConnectionLossException CONNECTIONLOSS',
        'ark cli ls': `exit 0, ${CHILDREN} names`,
        'ark cli deleteall': 'exit 0, /big gone',
      });
    } finally {
      await Promise.all([ark.stop(), zk.stop()]);
    }
  });
});
