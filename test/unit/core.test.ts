// ServerCore driven directly, without sockets: requests in, framed bytes and txns out.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ServerCore, type CoreOptions, type Output, type PendingTxn } from '../../src/server/core.js';
import { JuteReader } from '../../src/wire/jute.js';
import {
  CreateFlag,
  EventType,
  KeeperState,
  OpCode,
  Perms,
  Xid,
  readConnectResponse,
  readOpResults,
  readStat,
  readACLs,
  type ACL,
  type ConnectResponse,
  type Request,
  type Stat,
} from '../../src/wire/protocol.js';
import { ErrorCode } from '../../src/util/errors.js';
import { digestOf } from '../../src/tree/acl.js';
import { SessionTracker } from '../../src/session/sessions.js';
import { assertBroken } from '../helpers/invariant.js';

const T0 = 1_000_000; // a multiple of the tick so expiry buckets are easy to reason about
const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const AUTH_ALL: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }];
/** Deterministic and distinct per session, so a wrong password is easy to build. */
const passwordOf = (id: bigint): Buffer => {
  const b = Buffer.alloc(16, 7);
  b.writeBigInt64BE(BigInt.asIntN(64, id), 0);
  return b;
};

const BASE: CoreOptions = {
  tickTimeMs: 2000,
  minSessionTimeoutMs: 4000,
  maxSessionTimeoutMs: 40000,
  serverId: 1,
  extendedTypesEnabled: true,
  enforceQuota: false,
  superDigest: digestOf('super:test'),
  containerCheckIntervalMs: 60_000,
  sessionPassword: passwordOf,
};

interface Reply {
  xid: number;
  zxid: number;
  err: number;
  body: JuteReader;
}
interface Notification {
  zxid: number;
  type: number;
  state: number;
  path: string;
}

function frameBody(data: Buffer): JuteReader {
  assert.equal(data.readInt32BE(0), data.length - 4, 'length prefix');
  return new JuteReader(data, 4);
}
function parseReply(data: Buffer): Reply {
  const r = frameBody(data);
  return { xid: r.int(), zxid: r.long(), err: r.int(), body: r };
}

// ---------- request builders ----------
const create = (path: string, data = '', flags: number = CreateFlag.PERSISTENT, acl: ACL[] = OPEN): Request => ({
  type: OpCode.create,
  req: { path, data: Buffer.from(data), acl, flags, ttl: -1 },
});
const create2 = (path: string, data = ''): Request => ({
  type: OpCode.create2,
  req: { path, data: Buffer.from(data), acl: OPEN, flags: CreateFlag.PERSISTENT, ttl: -1 },
});
const getData = (path: string, watch = false): Request => ({ type: OpCode.getData, req: { path, watch } });
const exists = (path: string, watch = false): Request => ({ type: OpCode.exists, req: { path, watch } });
const setData = (path: string, data: string, version = -1): Request => ({
  type: OpCode.setData,
  req: { path, data: Buffer.from(data), version },
});
const del = (path: string, version = -1): Request => ({ type: OpCode.delete, req: { path, version } });
const sync = (path: string): Request => ({ type: OpCode.sync, req: { path } });
const auth = (scheme: string, data: string): Request => ({ type: OpCode.auth, req: { type: 0, scheme, auth: Buffer.from(data) } });

class Harness {
  now = T0;
  readonly core: ServerCore;
  constructor(opts: Partial<CoreOptions> = {}) {
    this.core = new ServerCore({ ...BASE, ...opts }, this.now);
  }
  open(id: number): void {
    this.core.openConnection(id, '127.0.0.1', 40000 + id, this.now);
  }
  connect(id: number, c: { sessionId?: bigint; passwd?: Buffer; lastZxidSeen?: number; timeOut?: number; readOnly?: boolean } = {}): void {
    this.core.connect(
      id,
      {
        protocolVersion: 0,
        lastZxidSeen: c.lastZxidSeen ?? 0,
        timeOut: c.timeOut ?? 30000,
        sessionId: c.sessionId ?? 0n,
        passwd: c.passwd ?? Buffer.alloc(16),
        readOnly: c.readOnly ?? false,
      },
      this.now,
    );
  }
  /** open + connect + commit; returns the session id and leaves no outputs behind. */
  session(id: number, timeOut = 30000): bigint {
    this.open(id);
    this.connect(id, { timeOut });
    this.commit();
    const outs = this.take();
    const resp = connectResponse(only(outs, id)[0]!);
    return resp.sessionId;
  }
  req(id: number, xid: number, request: Request): void {
    this.core.request(id, xid, request, this.now);
  }
  commit(): PendingTxn[] {
    const txns = this.core.takeTxns();
    this.core.committed(txns, this.now);
    return txns;
  }
  take(): Output[] {
    return this.core.takeOutputs();
  }
  /** A write done start to finish; returns its single reply to `id`. */
  write(id: number, xid: number, request: Request): Reply {
    this.req(id, xid, request);
    this.commit();
    const replies = only(this.take(), id)
      .map(parseReply)
      .filter((r) => r.xid === xid);
    assert.equal(replies.length, 1);
    return replies[0]!;
  }
  /** A read answered at once; returns its reply. */
  read(id: number, xid: number, request: Request): Reply {
    this.req(id, xid, request);
    const replies = only(this.take(), id).map(parseReply);
    assert.equal(replies.length, 1, 'a read with nothing pending is answered at once');
    return replies[0]!;
  }
}

/** The data of every 'send' to conn, in order. */
function only(outs: Output[], conn: number): Buffer[] {
  return outs.filter((o): o is Extract<Output, { kind: 'send' }> => o.kind === 'send' && o.conn === conn).map((o) => o.data);
}
function closes(outs: Output[]): number[] {
  return outs.filter((o) => o.kind === 'close').map((o) => o.conn);
}
function connectResponse(data: Buffer): ConnectResponse {
  assert.equal(data.length, 4 + 37, 'ConnectResponse with readOnly is 37 bytes');
  return readConnectResponse(frameBody(data));
}
function notification(reply: Reply): Notification {
  assert.equal(reply.xid, Xid.notification);
  assert.equal(reply.err, 0);
  return { zxid: reply.zxid, type: reply.body.int(), state: reply.body.int(), path: reply.body.string() };
}
function readGetData(r: Reply): { data: Buffer | null; stat: Stat } {
  return { data: r.body.bufferOrNull(), stat: readStat(r.body) };
}

describe('handshake', () => {
  test('connect_gives_a_createSession_txn_and_answers_only_after_commit', () => {
    const h = new Harness();
    h.open(1);
    h.connect(1, { timeOut: 30000 });
    assert.deepEqual(h.take(), [], 'no ConnectResponse before the session is durable');
    const txns = h.core.takeTxns();
    assert.equal(txns.length, 1);
    const t = txns[0]!;
    const expectedId = SessionTracker.initialSessionId(1, T0);
    assert.equal(t.hdr.type, OpCode.createSession);
    assert.equal(t.hdr.sessionId, expectedId);
    assert.equal(t.hdr.zxid, 1);
    assert.equal(t.hdr.time, T0);
    assert.deepEqual(t.txn, { type: OpCode.createSession, timeOutMs: 30000 });
    assert.deepEqual(h.take(), []);
    h.core.committed(txns, h.now);
    const outs = h.take();
    assert.equal(outs.length, 1);
    const resp = connectResponse(only(outs, 1)[0]!);
    assert.deepEqual(resp, { protocolVersion: 0, timeOut: 30000, sessionId: expectedId, passwd: passwordOf(expectedId), readOnly: false });
    assert.ok(h.core.sessions.get(expectedId));
    assert.equal(h.core.lastApplied, 1);
  });

  test('session_timeout_is_clamped_to_min_and_max', () => {
    const h = new Harness();
    h.open(1);
    h.connect(1, { timeOut: 10 });
    h.open(2);
    h.connect(2, { timeOut: 10_000_000 });
    const txns = h.core.takeTxns();
    assert.deepEqual(
      txns.map((t) => t.txn),
      [
        { type: OpCode.createSession, timeOutMs: 4000 },
        { type: OpCode.createSession, timeOutMs: 40000 },
      ],
    );
    h.core.committed(txns, h.now);
    const outs = h.take();
    assert.equal(connectResponse(only(outs, 1)[0]!).timeOut, 4000);
    assert.equal(connectResponse(only(outs, 2)[0]!).timeOut, 40000);
  });

  test('two_sessions_get_consecutive_ids', () => {
    const h = new Harness();
    const a = h.session(1);
    const b = h.session(2);
    assert.equal(b, a + 1n);
  });

  test('requests_sent_before_the_session_commits_are_answered_after_the_ConnectResponse', () => {
    const h = new Harness();
    h.open(1);
    h.connect(1);
    h.req(1, 1, exists('/zookeeper'));
    assert.deepEqual(h.take(), []);
    h.commit();
    const sends = only(h.take(), 1);
    assert.equal(sends.length, 2);
    connectResponse(sends[0]!);
    const r = parseReply(sends[1]!);
    assert.equal(r.xid, 1);
    assert.equal(r.err, 0);
  });

  test('request_before_connect_closes_the_connection', () => {
    const h = new Harness();
    h.open(1);
    h.req(1, 1, getData('/'));
    const outs = h.take();
    assert.deepEqual(closes(outs), [1]);
    assert.deepEqual(only(outs, 1), []);
  });

  test('reconnect_with_the_right_password_resumes_the_session_and_closes_the_old_connection', () => {
    const h = new Harness();
    const sid = h.session(1);
    h.write(1, 1, create('/eph', '', CreateFlag.EPHEMERAL));
    h.open(2);
    h.connect(2, { sessionId: sid, passwd: passwordOf(sid), lastZxidSeen: h.core.lastApplied, timeOut: 20000 });
    assert.deepEqual(h.core.takeTxns(), [], 'a reconnect needs no txn');
    const outs = h.take();
    assert.deepEqual(closes(outs), [1]);
    const resp = connectResponse(only(outs, 2)[0]!);
    assert.equal(resp.sessionId, sid);
    assert.equal(resp.timeOut, 20000);
    assert.deepEqual(resp.passwd, passwordOf(sid));
    assert.ok(h.core.tree.get('/eph'), 'the session and its ephemerals live on');
    // the new connection serves the session
    assert.equal(h.read(2, 5, exists('/eph')).err, 0);
  });

  test('reconnect_with_a_wrong_password_gets_timeout_0_then_close', () => {
    const h = new Harness();
    const sid = h.session(1);
    h.open(2);
    h.connect(2, { sessionId: sid, passwd: Buffer.alloc(16, 0xee) });
    const outs = h.take();
    assert.deepEqual(
      outs.map((o) => [o.kind, o.conn]),
      [
        ['send', 2],
        ['close', 2],
      ],
    );
    const resp = connectResponse(only(outs, 2)[0]!);
    assert.deepEqual(resp, { protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    assert.ok(h.core.conns.has(1), 'the rightful connection is untouched');
  });

  test('reconnect_to_an_unknown_session_is_refused_the_same_way', () => {
    const h = new Harness();
    h.open(1);
    h.connect(1, { sessionId: 0x0100000000000099n, passwd: Buffer.alloc(16) });
    const outs = h.take();
    assert.equal(connectResponse(only(outs, 1)[0]!).timeOut, 0);
    assert.deepEqual(closes(outs), [1]);
  });

  test('lastZxidSeen_ahead_of_the_server_closes_without_a_response', () => {
    const h = new Harness();
    h.session(1);
    h.open(2);
    h.connect(2, { lastZxidSeen: 999 });
    const outs = h.take();
    assert.deepEqual(
      outs.map((o) => o.kind),
      ['close'],
    );
    assert.deepEqual(closes(outs), [2]);
    assert.deepEqual(h.core.takeTxns(), [], 'no session is created');
  });
});

describe('writes', () => {
  test('create_is_answered_only_after_commit_with_the_txn_zxid', () => {
    const h = new Harness();
    const sid = h.session(1);
    h.req(1, 7, create('/a', 'hello'));
    assert.deepEqual(h.take(), []);
    const txns = h.core.takeTxns();
    assert.equal(txns.length, 1);
    const t = txns[0]!;
    assert.equal(t.hdr.zxid, 2);
    assert.equal(t.hdr.cxid, 7);
    assert.equal(t.hdr.type, OpCode.create);
    assert.equal(t.hdr.sessionId, sid);
    assert.deepEqual(h.take(), [], 'not answered while the txn is on its way to disk');
    assert.equal(h.core.tree.get('/a'), undefined, 'not applied before commit');
    h.core.committed(txns, h.now);
    const [data] = only(h.take(), 1);
    const r = parseReply(data!);
    assert.deepEqual([r.xid, r.zxid, r.err], [7, 2, 0]);
    assert.equal(r.body.string(), '/a');
    assert.equal(r.body.remaining, 0);
    assert.equal(h.core.tree.get('/a')?.czxid, 2);
  });

  test('create2_reply_carries_the_stat', () => {
    const h = new Harness();
    h.session(1);
    h.now += 5;
    const r = h.write(1, 1, create2('/a', 'xyz'));
    assert.equal(r.body.string(), '/a');
    const stat = readStat(r.body);
    assert.equal(stat.czxid, r.zxid);
    assert.equal(stat.ctime, T0 + 5);
    assert.equal(stat.dataLength, 3);
  });

  test('failing_create_still_consumes_a_zxid_as_an_ErrorTxn', () => {
    const h = new Harness();
    h.session(1);
    h.write(1, 1, create('/a'));
    h.req(1, 2, create('/a'));
    const txns = h.core.takeTxns();
    assert.equal(txns.length, 1);
    assert.equal(txns[0]!.hdr.type, OpCode.error);
    assert.deepEqual(txns[0]!.txn, { type: OpCode.error, err: ErrorCode.NodeExists });
    const zxid = txns[0]!.hdr.zxid;
    assert.equal(zxid, 3);
    h.core.committed(txns, h.now);
    const r = parseReply(only(h.take(), 1)[0]!);
    assert.deepEqual([r.xid, r.zxid, r.err], [2, zxid, ErrorCode.NodeExists]);
    assert.equal(r.body.remaining, 0, 'no record after an error header');
    assert.equal(h.core.lastApplied, zxid);
    assert.equal(h.write(1, 3, create('/b')).zxid, zxid + 1);
  });

  test('setData_and_delete_replies', () => {
    const h = new Harness();
    h.session(1);
    h.write(1, 1, create('/a', 'x'));
    const s = h.write(1, 2, setData('/a', 'yy', 0));
    assert.equal(s.err, 0);
    const stat = readStat(s.body);
    assert.equal(stat.version, 1);
    assert.equal(stat.mzxid, s.zxid);
    assert.equal(h.write(1, 3, setData('/a', 'z', 0)).err, ErrorCode.BadVersion);
    const d = h.write(1, 4, del('/a', 1));
    assert.equal(d.err, 0);
    assert.equal(d.body.remaining, 0);
    assert.equal(h.core.tree.get('/a'), undefined);
  });

  test('writes_are_pipelined_and_answered_in_order', () => {
    const h = new Harness();
    h.session(1);
    h.req(1, 1, create('/a'));
    h.req(1, 2, create('/a/b'));
    h.req(1, 3, create('/a/b/c'));
    const txns = h.core.takeTxns();
    assert.deepEqual(
      txns.map((t) => t.hdr.type),
      [OpCode.create, OpCode.create, OpCode.create],
      'each sees the pending ones before it',
    );
    h.core.committed(txns, h.now);
    assert.deepEqual(
      only(h.take(), 1)
        .map(parseReply)
        .map((r) => [r.xid, r.err]),
      [
        [1, 0],
        [2, 0],
        [3, 0],
      ],
    );
  });
});

describe('read ordering', () => {
  test('reads_are_answered_immediately_when_nothing_is_pending', () => {
    const h = new Harness();
    h.session(1);
    h.write(1, 1, create('/a', 'v0'));
    const r = h.read(1, 2, getData('/a'));
    assert.equal(r.err, 0);
    assert.equal(r.zxid, h.core.lastApplied);
    assert.deepEqual(readGetData(r).data, Buffer.from('v0'));
  });

  test('reads_queue_behind_a_pending_write_of_the_same_connection', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    h.write(1, 1, create('/a', 'v0'));
    h.req(1, 10, setData('/a', 'v1'));
    h.req(1, 11, getData('/a'));
    h.req(1, 12, exists('/a'));
    assert.deepEqual(h.take(), [], 'the reads wait for the write before them');
    // another connection is not held up, and sees the committed state
    const other = h.read(2, 1, getData('/a'));
    assert.deepEqual(readGetData(other).data, Buffer.from('v0'));
    h.commit();
    const replies = only(h.take(), 1).map(parseReply);
    assert.deepEqual(
      replies.map((r) => r.xid),
      [10, 11, 12],
      'order of replies = order of requests',
    );
    assert.deepEqual(readGetData(replies[1]!).data, Buffer.from('v1'));
  });

  test('pipelined_reads_between_writes_see_the_state_right_after_the_write_before_them', () => {
    const h = new Harness();
    h.session(1);
    h.write(1, 1, create('/a', 'v0'));
    h.req(1, 2, setData('/a', 'v1'));
    h.req(1, 3, getData('/a'));
    h.req(1, 4, setData('/a', 'v2'));
    h.req(1, 5, getData('/a'));
    h.commit(); // both writes in one batch
    const replies = only(h.take(), 1).map(parseReply);
    assert.deepEqual(
      replies.map((r) => r.xid),
      [2, 3, 4, 5],
    );
    assert.deepEqual(readGetData(replies[1]!).data, Buffer.from('v1'));
    assert.deepEqual(readGetData(replies[3]!).data, Buffer.from('v2'));
  });

  test('sync_waits_for_all_earlier_txns_of_every_connection', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    h.req(2, 1, create('/w'));
    const barrier = h.core.lastZxid;
    h.req(1, 9, sync('/w'));
    assert.deepEqual(h.take(), [], 'sync from conn 1 waits for conn 2 write');
    h.commit();
    const r = only(h.take(), 1).map(parseReply);
    assert.equal(r.length, 1);
    assert.deepEqual([r[0]!.xid, r[0]!.err], [9, 0]);
    assert.equal(r[0]!.zxid, barrier);
    assert.equal(r[0]!.body.string(), '/w');
  });

  test('sync_with_nothing_pending_is_answered_at_once', () => {
    const h = new Harness();
    h.session(1);
    const r = h.read(1, 3, sync('/'));
    assert.equal(r.err, 0);
    assert.equal(r.body.string(), '/');
  });

  test('read_errors_carry_their_code', () => {
    const h = new Harness();
    h.session(1);
    assert.equal(h.read(1, 1, getData('/nope')).err, ErrorCode.NoNode);
    assert.equal(h.read(1, 2, exists('/nope')).err, ErrorCode.NoNode);
    assert.equal(h.read(1, 3, { type: OpCode.getChildren, req: { path: '/nope', watch: false } }).err, ErrorCode.NoNode);
  });
});

describe('reply size', () => {
  const children = (path: string): Request => ({ type: OpCode.getChildren, req: { path, watch: false } });
  /** /big with 600 children of 2000-byte names: a getChildren reply of about 1.2 MB */
  function bigNode(h: Harness): void {
    h.write(1, 1, create('/big'));
    for (let i = 0; i < 600; i++) h.req(1, 2 + i, create(`/big/${String(i).padStart(4, '0')}${'n'.repeat(1996)}`));
    h.commit();
    h.take();
  }

  test('a_reply_over_jute_maxbuffer_is_sent_whole', () => {
    // ZooKeeper bounds what it reads by jute.maxbuffer, not what it sends
    const h = new Harness();
    h.session(1);
    bigNode(h);
    h.req(1, 700, children('/big'));
    const [frame] = only(h.take(), 1);
    assert.ok(frame!.length > 0xfffff, `a ${frame!.length}-byte frame`);
    const r = parseReply(frame!);
    assert.equal(r.err, 0);
    const names = r.body.stringVector()!;
    assert.equal(names.length, 600);
    assert.equal(
      names.reduce((n, k) => n + k.length, 0),
      600 * 2000,
    );
  });

  test('a_reply_over_the_bound_is_answered_MarshallingError_and_the_connection_lives_on', () => {
    const h = new Harness({ replyBytesMax: 64 * 1024 });
    h.session(1);
    bigNode(h);
    assert.equal(h.read(1, 700, children('/big')).err, ErrorCode.MarshallingError);
    assert.equal(h.read(1, 701, exists('/big')).err, 0);
  });

  test('a_multiRead_repeating_a_node_past_the_bound_is_refused', () => {
    const h = new Harness({ replyBytesMax: 64 * 1024 });
    h.session(1);
    h.write(1, 1, create('/d', 'x'.repeat(30 * 1024)));
    const read = (n: number): Request => ({
      type: OpCode.multiRead,
      req: { ops: Array.from({ length: n }, () => ({ type: OpCode.getData, req: { path: '/d', watch: false } })) },
    });
    assert.equal(h.read(1, 2, read(2)).err, 0);
    assert.equal(h.read(1, 3, read(3)).err, ErrorCode.MarshallingError);
  });
});

describe('undecodable requests', () => {
  test('unknown_opcode_is_answered_Unimplemented_in_request_order', () => {
    const h = new Harness();
    h.session(1);
    h.req(1, 1, create('/a'));
    h.core.requestError(1, 2, ErrorCode.Unimplemented, h.now);
    h.req(1, 3, exists('/a'));
    assert.deepEqual(h.take(), [], 'the error waits behind the pending write');
    h.commit();
    const replies = only(h.take(), 1).map(parseReply);
    assert.deepEqual(
      replies.map((r) => [r.xid, r.err]),
      [
        [1, 0],
        [2, ErrorCode.Unimplemented],
        [3, 0],
      ],
    );
  });

  test('unknown_opcode_sent_before_the_session_commits_is_still_answered_in_order', () => {
    const h = new Harness();
    h.open(1);
    h.connect(1);
    h.core.requestError(1, 1, ErrorCode.Unimplemented, h.now);
    h.req(1, 2, exists('/zookeeper'));
    h.commit();
    const sends = only(h.take(), 1);
    connectResponse(sends[0]!);
    assert.deepEqual(
      sends
        .slice(1)
        .map(parseReply)
        .map((r) => [r.xid, r.err]),
      [
        [1, ErrorCode.Unimplemented],
        [2, 0],
      ],
    );
  });
});

describe('multi', () => {
  test('multi_results_for_every_op', () => {
    const h = new Harness();
    h.session(1);
    const r = h.write(1, 1, {
      type: OpCode.multi,
      req: {
        ops: [
          { type: OpCode.create, req: { path: '/m', data: Buffer.from('d'), acl: OPEN, flags: 0, ttl: -1 } },
          { type: OpCode.create2, req: { path: '/m/c', data: null, acl: OPEN, flags: 0, ttl: -1 } },
          { type: OpCode.setData, req: { path: '/m', data: Buffer.from('e'), version: 0 } },
          { type: OpCode.check, req: { path: '/m', version: 1 } },
          { type: OpCode.delete, req: { path: '/m/c', version: 0 } },
        ],
      },
    });
    assert.equal(r.err, 0);
    const results = readOpResults(r.body);
    assert.deepEqual(
      results.map((x) => x.type),
      [OpCode.create, OpCode.create2, OpCode.setData, OpCode.check, OpCode.delete],
    );
    assert.deepEqual(results[0], { type: OpCode.create, path: '/m' });
    const c2 = results[1]!;
    assert.ok(c2.type === OpCode.create2);
    assert.equal(c2.path, '/m/c');
    assert.equal(c2.stat.czxid, r.zxid);
    assert.deepEqual(h.core.tree.get('/m')?.data, Buffer.from('e'));
    assert.equal(h.core.tree.get('/m/c'), undefined);
  });

  test('failed_multi_reports_per_op_errors_with_header_ok_and_changes_nothing', () => {
    const h = new Harness();
    h.session(1);
    h.req(1, 1, {
      type: OpCode.multi,
      req: {
        ops: [
          { type: OpCode.create, req: { path: '/x', data: null, acl: OPEN, flags: 0, ttl: -1 } },
          { type: OpCode.delete, req: { path: '/nope', version: -1 } },
          { type: OpCode.create, req: { path: '/y', data: null, acl: OPEN, flags: 0, ttl: -1 } },
        ],
      },
    });
    const txns = h.core.takeTxns();
    assert.equal(txns[0]!.hdr.type, OpCode.multi);
    h.core.committed(txns, h.now);
    const r = parseReply(only(h.take(), 1)[0]!);
    assert.equal(r.err, 0, 'the header of a failed multi is Ok; the results carry the errors');
    assert.equal(r.zxid, txns[0]!.hdr.zxid);
    assert.deepEqual(readOpResults(r.body), [
      { type: OpCode.error, err: ErrorCode.Ok },
      { type: OpCode.error, err: ErrorCode.NoNode },
      { type: OpCode.error, err: ErrorCode.RuntimeInconsistency },
    ]);
    assert.equal(h.core.tree.get('/x'), undefined);
    assert.equal(h.write(1, 2, create('/x')).err, 0, 'nothing of the failed multi is left pending');
  });
});

describe('sessions end', () => {
  test('session_expiry_via_tick_deletes_ephemerals_and_closes_the_connection', () => {
    const h = new Harness();
    const sid = h.session(1, 4000); // deadline bucket: roundUp(T0 + 4000) = T0 + 6000
    h.session(2);
    h.write(1, 1, create('/eph', '', CreateFlag.EPHEMERAL));
    h.write(1, 2, create('/keep'));
    h.read(2, 1, exists('/eph', true));
    h.now = T0 + 5999;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), [], 'not yet');
    h.now = T0 + 6000;
    h.core.tick(h.now);
    // conn 2 keeps its own session alive
    const txns = h.core.takeTxns();
    assert.equal(txns.length, 1);
    assert.equal(txns[0]!.hdr.type, OpCode.closeSession);
    assert.equal(txns[0]!.hdr.sessionId, sid);
    assert.deepEqual(txns[0]!.txn, { type: OpCode.closeSession, paths2Delete: ['/eph'] });
    assert.ok(h.core.conns.has(1), 'the connection stays until the close is durable');
    // a write arriving while the session is closing is refused
    h.req(1, 3, create('/late'));
    const refused = only(h.take(), 1).map(parseReply);
    assert.deepEqual(
      refused.map((r) => [r.xid, r.err]),
      [[3, ErrorCode.SessionExpired]],
    );
    h.core.committed(txns, h.now);
    const outs = h.take();
    assert.deepEqual(closes(outs), [1]);
    const ev = only(outs, 2).map(parseReply).map(notification);
    assert.deepEqual(ev, [{ zxid: txns[0]!.hdr.zxid, type: EventType.NodeDeleted, state: KeeperState.SyncConnected, path: '/eph' }]);
    assert.equal(h.core.tree.get('/eph'), undefined);
    assert.ok(h.core.tree.get('/keep'));
    assert.equal(h.core.sessions.get(sid), undefined);
    assert.equal(h.core.conns.has(1), false);
  });

  test('requests_touch_the_session_and_push_its_deadline', () => {
    const h = new Harness();
    h.session(1, 4000);
    h.now = T0 + 5000;
    h.read(1, 1, { type: OpCode.ping, req: null });
    h.now = T0 + 6000;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), [], 'the ping moved the deadline to roundUp(T0+9000)');
    h.now = T0 + 10_000;
    h.core.tick(h.now);
    assert.equal(h.core.takeTxns().length, 1);
  });

  test('expired_session_cannot_reconnect', () => {
    const h = new Harness();
    const sid = h.session(1, 4000);
    h.now = T0 + 6000;
    h.core.tick(h.now);
    h.commit();
    h.take();
    h.open(2);
    h.connect(2, { sessionId: sid, passwd: passwordOf(sid), lastZxidSeen: h.core.lastApplied });
    const outs = h.take();
    assert.equal(connectResponse(only(outs, 2)[0]!).timeOut, 0);
    assert.deepEqual(closes(outs), [2]);
  });

  test('client_closeSession_is_answered_then_the_connection_closes', () => {
    const h = new Harness();
    const sid = h.session(1);
    h.write(1, 1, create('/eph', '', CreateFlag.EPHEMERAL));
    h.req(1, 2, { type: OpCode.closeSession, req: null });
    const txns = h.core.takeTxns();
    assert.deepEqual(
      txns.map((t) => t.txn),
      [{ type: OpCode.closeSession, paths2Delete: ['/eph'] }],
    );
    h.core.committed(txns, h.now);
    const outs = h.take();
    assert.deepEqual(
      outs.map((o) => o.kind),
      ['send', 'close'],
    );
    assert.deepEqual([parseReply(only(outs, 1)[0]!).xid, parseReply(only(outs, 1)[0]!).err], [2, 0]);
    assert.equal(h.core.tree.get('/eph'), undefined);
    assert.equal(h.core.sessions.get(sid), undefined);
  });
});

describe('auth and ACLs', () => {
  test('auth_digest_then_acl_protected_read', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    const a = h.read(1, Xid.auth, auth('digest', 'alice:pw'));
    assert.deepEqual([a.xid, a.err], [Xid.auth, 0]);
    assert.equal(h.write(1, 1, create('/secret', 's3cret', CreateFlag.PERSISTENT, AUTH_ALL)).err, 0);
    assert.deepEqual(h.core.tree.get('/secret')?.acl, [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('alice:pw') } }]);
    // conn 2 has no digest id
    assert.equal(h.read(2, 1, getData('/secret')).err, ErrorCode.NoAuth);
    assert.equal(h.read(2, 2, { type: OpCode.getACL, req: { path: '/secret' } }).err, ErrorCode.NoAuth);
    assert.equal(h.write(2, 3, setData('/secret', 'x')).err, ErrorCode.NoAuth);
    // exists has no ACL check
    assert.equal(h.read(2, 4, exists('/secret')).err, 0);
    // conn 1 reads it
    const ok = h.read(1, 2, getData('/secret'));
    assert.equal(ok.err, 0);
    assert.deepEqual(readGetData(ok).data, Buffer.from('s3cret'));
    // the wrong password gives a different id
    h.read(2, Xid.auth, auth('digest', 'alice:wrong'));
    assert.equal(h.read(2, 5, getData('/secret')).err, ErrorCode.NoAuth);
  });

  test('super_digest_bypasses_acls', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    h.read(1, Xid.auth, auth('digest', 'alice:pw'));
    h.write(1, 1, create('/secret', 's', CreateFlag.PERSISTENT, AUTH_ALL));
    h.read(2, Xid.auth, auth('digest', 'super:test'));
    assert.equal(h.read(2, 1, getData('/secret')).err, 0);
  });

  test('getACL_without_admin_redacts_digests', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    h.read(1, Xid.auth, auth('digest', 'alice:pw'));
    const acl: ACL[] = [
      { perms: Perms.ADMIN, id: { scheme: 'digest', id: digestOf('alice:pw') } },
      { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
    ];
    h.write(1, 1, create('/n', '', CreateFlag.PERSISTENT, acl));
    const mine = h.read(1, 2, { type: OpCode.getACL, req: { path: '/n' } });
    assert.deepEqual(readACLs(mine.body), acl);
    const theirs = h.read(2, 1, { type: OpCode.getACL, req: { path: '/n' } });
    assert.deepEqual(readACLs(theirs.body)?.[0]?.id, { scheme: 'digest', id: 'alice:x' });
  });

  test('auth_reply_echoes_the_request_xid', () => {
    // ZooKeeperServer.processPacket answers auth with the request's xid (go-zookeeper sends an
    // ordinary one and waits for it); the Java client's -4 comes back as -4
    const h = new Harness();
    h.session(1);
    const ok = h.read(1, 7, auth('digest', 'alice:pw'));
    assert.deepEqual([ok.xid, ok.zxid, ok.err], [7, 0, 0]);
    h.req(1, 9, auth('nosuchscheme', 'x'));
    const outs = h.take();
    const failed = parseReply(only(outs, 1)[0]!);
    assert.deepEqual([failed.xid, failed.zxid, failed.err], [9, 0, ErrorCode.AuthFailed]);
    assert.deepEqual(closes(outs), [1]);
  });

  test('failed_auth_answers_AuthFailed_and_closes', () => {
    const h = new Harness();
    h.session(1);
    h.req(1, Xid.auth, auth('nosuchscheme', 'x'));
    const outs = h.take();
    const r = parseReply(only(outs, 1)[0]!);
    assert.deepEqual([r.xid, r.err], [Xid.auth, ErrorCode.AuthFailed]);
    assert.deepEqual(closes(outs), [1]);
  });
});

describe('containers and TTL nodes', () => {
  test('container_is_swept_after_its_last_child_is_deleted', () => {
    const h = new Harness({ containerCheckIntervalMs: 10_000 });
    h.session(1);
    h.write(1, 1, { type: OpCode.createContainer, req: { path: '/c', data: null, acl: OPEN, flags: CreateFlag.CONTAINER, ttl: -1 } });
    h.write(1, 2, {
      type: OpCode.createContainer,
      req: { path: '/never-used', data: null, acl: OPEN, flags: CreateFlag.CONTAINER, ttl: -1 },
    });
    h.write(1, 3, create('/c/x'));
    h.now = T0 + 10_000;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), [], 'a container with a child stays');
    h.write(1, 4, del('/c/x'));
    h.now = T0 + 15_000;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), [], 'not before the next container check');
    h.now = T0 + 20_000;
    h.core.tick(h.now);
    const txns = h.core.takeTxns();
    assert.equal(txns.length, 1, 'only the container that had a child; the never-used one stays');
    assert.equal(txns[0]!.hdr.type, OpCode.deleteContainer);
    assert.deepEqual(txns[0]!.txn, { type: OpCode.deleteContainer, path: '/c' });
    assert.equal(txns[0]!.hdr.zxid, h.core.lastZxid);
    h.core.committed(txns, h.now);
    assert.equal(h.core.tree.get('/c'), undefined);
    assert.ok(h.core.tree.get('/never-used'));
  });

  test('a_sweep_does_not_delete_a_container_twice_while_the_delete_is_in_flight', () => {
    const h = new Harness({ containerCheckIntervalMs: 1000 });
    h.session(1);
    h.write(1, 1, { type: OpCode.createContainer, req: { path: '/c', data: null, acl: OPEN, flags: CreateFlag.CONTAINER, ttl: -1 } });
    h.write(1, 2, create('/c/x'));
    h.write(1, 3, del('/c/x'));
    h.now = T0 + 1000;
    h.core.tick(h.now);
    const first = h.core.takeTxns();
    assert.equal(first.length, 1);
    h.now = T0 + 2000;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), []);
    h.core.committed(first, h.now);
  });

  test('ttl_node_expires_after_its_ttl_without_changes', () => {
    const h = new Harness({ containerCheckIntervalMs: 1000 });
    h.session(1, 40000);
    h.write(1, 1, { type: OpCode.createTTL, req: { path: '/t', data: null, acl: OPEN, flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 5000 } });
    h.now = T0 + 1000;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), []);
    h.now = T0 + 5000;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), [], 'elapsed must exceed the ttl');
    h.now = T0 + 6000;
    h.core.tick(h.now);
    const txns = h.core.takeTxns();
    assert.deepEqual(
      txns.map((t) => t.txn),
      [{ type: OpCode.deleteContainer, path: '/t' }],
    );
    h.core.committed(txns, h.now);
    assert.equal(h.core.tree.get('/t'), undefined);
  });

  test('ttl_node_with_a_child_is_kept', () => {
    const h = new Harness({ containerCheckIntervalMs: 1000 });
    h.session(1, 40000);
    h.write(1, 1, { type: OpCode.createTTL, req: { path: '/t', data: null, acl: OPEN, flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 100 } });
    h.write(1, 2, create('/t/kid'));
    h.now = T0 + 5000;
    h.core.tick(h.now);
    assert.deepEqual(h.core.takeTxns(), []);
  });

  test('createTTL_without_extended_types_is_Unimplemented', () => {
    const h = new Harness({ extendedTypesEnabled: false });
    h.session(1);
    const r = h.write(1, 1, {
      type: OpCode.createTTL,
      req: { path: '/t', data: null, acl: OPEN, flags: CreateFlag.PERSISTENT_WITH_TTL, ttl: 100 },
    });
    assert.equal(r.err, ErrorCode.Unimplemented);
  });
});

describe('watches through the core', () => {
  test('notification_is_sent_before_the_write_reply_with_the_txn_zxid', () => {
    const h = new Harness();
    h.session(1);
    h.write(1, 1, create('/a'));
    h.read(1, 2, getData('/a', true));
    h.req(1, 3, setData('/a', 'new'));
    const txns = h.commit();
    const sends = only(h.take(), 1).map(parseReply);
    assert.deepEqual(
      sends.map((r) => r.xid),
      [Xid.notification, 3],
    );
    assert.deepEqual(notification(sends[0]!), {
      zxid: txns[0]!.hdr.zxid,
      type: EventType.NodeDataChanged,
      state: KeeperState.SyncConnected,
      path: '/a',
    });
  });

  test('closed_connection_loses_its_watches', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    h.write(1, 1, create('/a'));
    h.read(2, 1, getData('/a', true));
    h.core.connectionClosed(2);
    assert.equal(h.core.tree.dataWatches.size, 0);
    h.write(1, 2, setData('/a', 'x'));
  });

  test('setWatches_fires_at_once_for_nodes_changed_since_relativeZxid', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    h.write(1, 1, create('/same'));
    h.write(1, 2, create('/changed'));
    h.write(1, 3, create('/parent'));
    h.write(1, 4, create('/gone'));
    const seen = h.core.lastApplied;
    h.write(1, 5, setData('/changed', 'x'));
    h.write(1, 6, create('/parent/kid'));
    h.write(1, 7, create('/born'));
    h.write(1, 8, del('/gone'));
    h.req(2, Xid.setWatches, {
      type: OpCode.setWatches,
      req: {
        relativeZxid: seen,
        dataWatches: ['/same', '/changed', '/gone'],
        existWatches: ['/born', '/unborn'],
        childWatches: ['/parent', '/same'],
        persistentWatches: [],
        persistentRecursiveWatches: [],
      },
    });
    const replies = only(h.take(), 2).map(parseReply);
    const events = replies
      .filter((r) => r.xid === Xid.notification)
      .map(notification)
      .map((n) => [n.type, n.path]);
    assert.deepEqual(
      events.sort(),
      [
        [EventType.NodeCreated, '/born'],
        [EventType.NodeDataChanged, '/changed'],
        [EventType.NodeDeleted, '/gone'],
        [EventType.NodeChildrenChanged, '/parent'],
      ].sort(),
    );
    const ack = replies.filter((r) => r.xid === Xid.setWatches);
    assert.equal(ack.length, 1);
    assert.equal(ack[0]!.err, 0);
    // unchanged paths got real watches that fire later
    h.write(1, 9, setData('/same', 'y'));
    h.write(1, 10, create('/unborn'));
    h.write(1, 11, create('/same/kid'));
    h.take();
    assert.equal(h.core.tree.dataWatches.size + h.core.tree.childWatches.size, 0, 'all three re-registered watches fired once');
  });

  test('child_watch_on_create_and_exist_watch_reach_the_watcher', () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    h.write(1, 1, create('/p'));
    h.read(2, 1, { type: OpCode.getChildren, req: { path: '/p', watch: true } });
    h.read(2, 2, exists('/p/c', true));
    h.req(1, 2, create('/p/c'));
    h.commit();
    const ev = only(h.take(), 2)
      .map(parseReply)
      .map(notification)
      .map((n) => [n.type, n.path]);
    assert.deepEqual(ev, [
      [EventType.NodeCreated, '/p/c'],
      [EventType.NodeChildrenChanged, '/p'],
    ]);
  });
});

describe('a broken invariant', () => {
  test('a_committed_txn_that_does_not_fit_the_tree_throws_out_of_committed_while_its_replay_is_tolerated', () => {
    const h = new Harness();
    // a learner applying the leader's txn: the leader's tree had /missing, this one does not
    h.core.setMode('learner', 0, h.now);
    const zxid = h.core.lastApplied + 1;
    const txn: PendingTxn = {
      hdr: { sessionId: 5n, cxid: 1, zxid, time: h.now, type: OpCode.create },
      txn: { type: OpCode.create, path: '/missing/x', data: null, acl: OPEN, ephemeralOwner: 0n, parentCVersion: 1 },
      origin: null,
      connect: null,
    };
    // not caught and logged as one request's trouble: it reaches whoever drives the core (the runtime stops)
    assertBroken(() => h.core.committed([txn], h.now), /live txn 0x1: create \/missing\/x: its parent \/missing does not exist/);
    assert.deepEqual(h.core.internalErrors, []);
    assert.equal(h.core.lastApplied, 0);
    h.core.replay(txn.hdr, txn.txn);
    assert.equal(h.core.lastApplied, zxid, 'recovery replays it as ZooKeeper does (NoNode)');
  });
});

describe('read-only mode (readonlymode.enabled, ReadOnlyZooKeeperServer)', () => {
  /** A core with /a and one ensemble session, then without a quorum: read-only. */
  function readOnlyCore(): { h: Harness; global: bigint } {
    const h = new Harness();
    const global = h.session(1);
    h.write(1, 1, create('/a', 'x'));
    h.core.setMode('readonly', 0, h.now);
    assert.deepEqual(closes(h.take()), [1], 'going read-only closes the connections it had');
    return { h, global };
  }

  test('a_read_only_client_gets_a_local_session_a_read_only_ConnectResponse_and_reads', () => {
    const { h } = readOnlyCore();
    const zxid = h.core.lastApplied;
    h.open(2);
    h.connect(2, { readOnly: true });
    assert.equal(h.core.takeTxns().length, 0, 'a local session is no txn');
    const resp = connectResponse(only(h.take(), 2)[0]!);
    assert.equal(resp.readOnly, true);
    assert.notEqual(resp.sessionId, 0n);
    assert.deepEqual(resp.passwd, passwordOf(resp.sessionId));
    const r = h.read(2, 1, getData('/a'));
    assert.equal(r.err, 0);
    assert.equal(readGetData(r).data?.toString(), 'x');
    assert.equal(r.zxid, zxid);
    assert.equal(h.core.lastApplied, zxid, 'nothing was applied');
  });

  test('a_client_that_did_not_ask_for_read_only_is_refused', () => {
    const { h } = readOnlyCore();
    h.open(2);
    h.connect(2);
    const outs = h.take();
    assert.deepEqual(only(outs, 2), [], 'no ConnectResponse');
    assert.deepEqual(closes(outs), [2]);
  });

  test('writes_and_sync_are_answered_NotReadOnly_with_the_last_zxid_and_make_no_txn', () => {
    const { h } = readOnlyCore();
    h.open(2);
    h.connect(2, { readOnly: true });
    h.take();
    const zxid = h.core.lastApplied;
    const writes: Request[] = [
      create('/b'),
      create2('/b'),
      setData('/a', 'y'),
      del('/a'),
      sync('/a'),
      { type: OpCode.setACL, req: { path: '/a', acl: OPEN, version: -1 } },
      { type: OpCode.multi, req: { ops: [] } },
    ];
    writes.forEach((w, i) => {
      const r = h.read(2, 10 + i, w);
      assert.equal(r.err, ErrorCode.NotReadOnly, `opcode ${w.type}`);
      assert.equal(r.zxid, zxid);
    });
    assert.equal(h.core.takeTxns().length, 0);
    assert.equal(readGetData(h.read(2, 30, getData('/a'))).data?.toString(), 'x');
  });

  test('an_ensemble_session_may_not_reconnect_here_a_local_one_may', () => {
    const { h, global } = readOnlyCore();
    h.open(2);
    h.connect(2, { sessionId: global, passwd: passwordOf(global), readOnly: true });
    let outs = h.take();
    assert.deepEqual(only(outs, 2), []);
    assert.deepEqual(closes(outs), [2], 'Refusing global session reconnection in RO mode');
    h.open(3);
    h.connect(3, { readOnly: true });
    const local = connectResponse(only(h.take(), 3)[0]!).sessionId;
    h.open(4);
    h.connect(4, { sessionId: local, passwd: passwordOf(local), readOnly: true });
    outs = h.take();
    assert.deepEqual(closes(outs), [3], 'the session moved to the new connection');
    const resp = connectResponse(only(outs, 4)[0]!);
    assert.equal(resp.sessionId, local);
    assert.equal(resp.readOnly, true);
  });

  test('closeSession_and_expiry_end_a_local_session_without_a_txn', () => {
    const { h } = readOnlyCore();
    h.open(2);
    h.connect(2, { readOnly: true, timeOut: 4000 });
    const a = connectResponse(only(h.take(), 2)[0]!).sessionId;
    h.open(3);
    h.connect(3, { readOnly: true, timeOut: 4000 });
    const b = connectResponse(only(h.take(), 3)[0]!).sessionId;
    h.req(2, 1, { type: OpCode.closeSession, req: null });
    let outs = h.take();
    const reply = parseReply(only(outs, 2)[0]!);
    assert.equal(reply.xid, 1);
    assert.equal(reply.err, 0);
    assert.deepEqual(closes(outs), [2]);
    assert.equal(h.core.sessions.get(a), undefined);
    h.now += 10_000;
    h.core.tick(h.now);
    outs = h.take();
    assert.deepEqual(closes(outs), [3], 'the expired local session loses its connection');
    assert.equal(h.core.sessions.get(b), undefined);
    assert.equal(h.core.takeTxns().length, 0);
  });

  test('leaving_read_only_mode_closes_its_clients_drops_local_sessions_and_keeps_the_ensembles', () => {
    const { h, global } = readOnlyCore();
    h.open(2);
    h.connect(2, { readOnly: true });
    const local = connectResponse(only(h.take(), 2)[0]!).sessionId;
    // the ensemble's session is not this server's to expire while it has no quorum
    h.now += 120_000;
    h.core.tick(h.now);
    assert.deepEqual(closes(h.take()), [2], 'the local session expired');
    assert.equal(h.core.sessions.get(global)?.closing, false);
    h.open(3);
    h.connect(3, { readOnly: true });
    const again = connectResponse(only(h.take(), 3)[0]!).sessionId;
    assert.notEqual(again, local);
    h.core.setMode('learner', 0, h.now);
    assert.deepEqual(closes(h.take()), [3], 'ReadOnlyZooKeeperServer.shutdown closes every connection');
    assert.equal(h.core.sessions.get(again), undefined);
    assert.ok(h.core.sessions.get(global));
    // a read-write member answers readOnly=false again
    h.open(4);
    h.connect(4, { sessionId: global, passwd: passwordOf(global), readOnly: true });
    assert.equal(connectResponse(only(h.take(), 4)[0]!).readOnly, false);
  });
});
