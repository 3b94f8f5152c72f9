// The Replica's guard on what peers send: a damaged SNAP is refused on receipt (the learner asks
// again) rather than failing the install and the server with it, and an app payload that does
// not decode is reported, not thrown. Also the app payloads a learner and its leader exchange.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Replica, readOnlyGraceMs } from '../../src/replica/replica.js';
import { readConnectResponse } from '../../src/wire/protocol.js';
import { JuteReader } from '../../src/wire/jute.js';
import { DataTree } from '../../src/tree/datatree.js';
import { zookeeperSessionPassword } from '../../src/session/sessions.js';
import { encodeSnapshotNow } from '../../src/storage/snapshot.js';
import { decodePayload, encodePayload, type AppPayload, type RestoreResult } from '../../src/replica/payloads.js';
import { AssertionError } from '../../src/util/errors.js';
import { assertBroken } from '../helpers/invariant.js';

function learner(configNode?: string, readOnlyMode = false): Replica {
  return new Replica(
    {
      core: {
        tickTimeMs: 100,
        minSessionTimeoutMs: 200,
        maxSessionTimeoutMs: 20000,
        serverId: 2,
        extendedTypesEnabled: true,
        enforceQuota: false,
        superDigest: undefined,
        containerCheckIntervalMs: 1000,
        replyBytesMax: 1 << 20,
        sessionPassword: zookeeperSessionPassword,
        ...(configNode !== undefined ? { configNode } : {}),
      },
      zab: {
        id: 2,
        voters: [1, 2, 3],
        observers: [],
        syncLimitTicks: 20,
        initLimitTicks: 50,
        electionTicks: 10,
        logRetainEntries: 20,
        random: () => 0.5,
      },
      readOnlyMode,
    },
    { tree: new DataTree(), sessions: [], state: { acceptedEpoch: 0, currentEpoch: 0, votedFor: 0 }, baseZxid: 0, entries: [] },
    1000,
  );
}

test('damaged_snap_from_the_leader_is_refused_and_the_learner_keeps_waiting', () => {
  const r = learner();
  r.receive(1, { type: 'leader_hello', epoch: 1 }, 1000);
  const info = r.ready(1000).messages.find((m) => m.msg.type === 'follower_info')!.msg;
  assert.equal(info.type, 'follower_info');
  const good = encodeSnapshotNow(new DataTree(), [], 1000);
  const bad = Buffer.from(good);
  bad[bad.length - 10] = (bad[bad.length - 10] ?? 0) ^ 0xff;
  r.receive(
    1,
    {
      type: 'sync',
      epoch: 1,
      seq: info.type === 'follower_info' ? info.seq : 0,
      mode: 'snap',
      prevZxid: 0,
      snapshot: { zxid: 0, data: bad },
      entries: [],
      newLeaderZxid: 0,
    },
    1001,
  );
  const rd = r.ready(1001);
  assert.equal(rd.snapshot, null, 'nothing to install');
  assert.match(r.errors.join('\n'), /SNAP from server 1 refused/);
  assert.equal(r.zab.status, 'discovering');
  // the intact one is taken
  r.receive(
    1,
    {
      type: 'sync',
      epoch: 1,
      seq: info.type === 'follower_info' ? info.seq : 0,
      mode: 'snap',
      prevZxid: 0,
      snapshot: { zxid: 0, data: good },
      entries: [],
      newLeaderZxid: 0,
    },
    1002,
  );
  assert.ok(r.ready(1002).snapshot);
  assert.equal(r.zab.status, 'syncing');
});

test('every_tree_a_member_takes_on_carries_its_own_zookeeper_config', () => {
  const mine = 'server.1=h1:1:2:participant\nserver.2=h2:1:2:participant\nserver.3=h3:1:2:participant\nversion=0';
  const r = learner(mine);
  const config = (): { data: string | undefined; version: number; mzxid: number; mtime: number } => {
    const n = r.core.tree.get('/zookeeper/config')!;
    return { data: n.data?.toString(), version: n.version, mzxid: n.mzxid, mtime: n.mtime };
  };
  assert.deepEqual(config(), { data: mine, version: -1, mzxid: 0, mtime: 1000 }, 'at start-up');
  // a SNAP whose tree carries the leader's text (another zoo.cfg in a rolling restart): the
  // member writes its own over it (ZOOKEEPER-2819, Learner.syncWithLeader)
  const leaders = new DataTree();
  leaders.setConfigNode(Buffer.from('server.9=elsewhere:1:2:participant\nversion=0'), 500);
  r.receive(1, { type: 'leader_hello', epoch: 1 }, 2000);
  const info = r.ready(2000).messages.find((m) => m.msg.type === 'follower_info')!.msg;
  const seq = info.type === 'follower_info' ? info.seq : 0;
  r.receive(
    1,
    {
      type: 'sync',
      epoch: 1,
      seq,
      mode: 'snap',
      prevZxid: 0,
      snapshot: { zxid: 0, data: encodeSnapshotNow(leaders, [], 2000) },
      entries: [],
      newLeaderZxid: 0,
    },
    3000,
  );
  assert.ok(r.ready(3000).snapshot, 'installed');
  assert.deepEqual(config(), { data: mine, version: -1, mzxid: 0, mtime: 3000 });
  assert.equal(r.core.tree.digest, leaders.digest, "the digest is the leader's: /zookeeper/config is not in it");
});

test('a_standalone_core_leaves_zookeeper_config_empty', () => {
  const r = learner();
  assert.equal(r.core.tree.get('/zookeeper/config')!.dataLength, 0);
});

/** A learner that synced to leader 1's epoch 1 (an empty tree) and serves. */
function servingLearner(): Replica {
  const r = learner();
  r.receive(1, { type: 'leader_hello', epoch: 1 }, 1000);
  const info = r.ready(1000).messages.find((m) => m.msg.type === 'follower_info')!.msg;
  const seq = info.type === 'follower_info' ? info.seq : 0;
  r.receive(
    1,
    {
      type: 'sync',
      epoch: 1,
      seq,
      mode: 'snap',
      prevZxid: 0,
      snapshot: { zxid: 0, data: encodeSnapshotNow(new DataTree(), [], 1000) },
      entries: [],
      newLeaderZxid: 0,
    },
    1001,
  );
  r.persisted(r.ready(1001).generation, 0, 1002);
  r.ready(1002); // ack_newleader
  r.receive(1, { type: 'uptodate', epoch: 1, commitZxid: 0 }, 1003);
  r.ready(1003);
  assert.equal(r.core.mode, 'learner');
  return r;
}

/** The app payloads `r` sends its leader in this step, decoded. */
function payloadsToLeader(r: Replica, now: number): AppPayload[] {
  return r.ready(now).messages.flatMap((m) => (m.to === 1 && m.msg.type === 'app' ? [decodePayload(m.msg.data)] : []));
}

test('a_learner_forwards_new_sessions_and_restores_as_payloads_and_takes_the_leaders_answer', () => {
  const r = servingLearner();
  r.core.openConnection(7, '127.0.0.1', 40007, 2000);
  r.core.connect(
    7,
    { protocolVersion: 0, lastZxidSeen: 0, timeOut: 30000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false },
    2000,
  );
  const backup = Buffer.from('the backup, as uploaded');
  const id = r.restore(backup);
  const [restore, create, ...rest] = payloadsToLeader(r, 2000);
  assert.deepEqual(restore, { type: 'restore', id, backup });
  assert.equal(create?.type, 'forward_create');
  assert.equal(create.type === 'forward_create' ? create.timeoutMs : 0, 20000, 'negotiated to the maximum');
  assert.deepEqual(rest, []);

  const result: RestoreResult = { ok: true, zxid: 0x2_0000_0001, backupZxid: 0x1_0000_0005, nodes: 4, sessions: 0 };
  r.receive(1, { type: 'app', epoch: 1, data: encodePayload({ type: 'restored', id, result }) }, 2001);
  assert.deepEqual(r.ready(2001).restores, [{ id, result }]);
  assert.deepEqual(r.errors, []);
});

test('a_payload_from_the_leader_that_does_not_decode_is_reported_not_thrown', () => {
  const r = servingLearner();
  const restored = encodePayload({ type: 'restored', id: 1, result: { ok: false, error: 'no' } });
  restored[1] = 99;
  r.receive(1, { type: 'app', epoch: 1, data: restored }, 2000);
  r.receive(1, { type: 'app', epoch: 1, data: Uint8Array.of(5) }, 2000);
  assert.deepEqual(r.ready(2000).restores, []);
  assert.equal(r.errors.length, 2);
  assert.match(r.errors[0]!, /^payload from leader 1: restored: codec version 99, expected 1$/);
  assert.match(r.errors[1]!, /^payload from leader 1: restored version: /);
});

test("a broken invariant prepping a learner's forwarded write stops the leader; a payload that does not decode is only logged", () => {
  const r = learner();
  // the leader's side of a forwarded new session, as pump() hands it over
  const onApp = (data: Uint8Array): void => (r as unknown as { onApp(from: number, data: Uint8Array): void }).onApp(3, data);
  r.core.forwarded = () => {
    throw new AssertionError('prep made 1 txns for a multi of 2 ops');
  };
  assertBroken(
    () => onApp(encodePayload({ type: 'forward_create', sessionId: 5n, timeoutMs: 4000 })),
    /prep made 1 txns for a multi of 2 ops/,
  );
  assert.deepEqual(r.errors, []);
  onApp(Uint8Array.of(99));
  assert.match(r.errors.join('\n'), /payload from server 3: /);
});

/** Opens conn `id` on r's core with a ConnectRequest; true when the answer is a read-only ConnectResponse. */
function connectReadOnly(r: Replica, id: number, now: number, readOnly = true): { readOnly: boolean | null; closed: boolean } {
  r.core.openConnection(id, '127.0.0.1', 40000 + id, now);
  r.core.connect(id, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 30000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly }, now);
  const outs = r.ready(now).outputs.filter((o) => o.conn === id);
  const sent = outs.find((o) => o.kind === 'send');
  return {
    readOnly: sent?.kind === 'send' ? readConnectResponse(new JuteReader(sent.data, 4)).readOnly : null,
    closed: outs.some((o) => o.kind === 'close'),
  };
}

test('read_only_mode_starts_after_looking_for_max_2s_tickTime_and_ends_when_the_election_does', () => {
  assert.equal(readOnlyGraceMs(100), 2000, 'lower bound: 2 s');
  assert.equal(readOnlyGraceMs(3000), 3000, 'tickTime when longer');
  const r = learner(undefined, true);
  r.tick(1000);
  r.tick(2999);
  assert.equal(r.core.mode, 'down', 'not before the grace period');
  assert.deepEqual(connectReadOnly(r, 1, 2999), { readOnly: null, closed: true });
  r.tick(3000);
  assert.equal(r.zab.role, 'looking');
  assert.equal(r.core.mode, 'readonly');
  assert.deepEqual(connectReadOnly(r, 2, 3000), { readOnly: true, closed: false });
  assert.deepEqual(connectReadOnly(r, 3, 3000, false), { readOnly: null, closed: true }, 'a client that cannot be read-only is refused');
  // a leader is found: the election is over, and so is read-only mode; its clients are disconnected
  r.receive(1, { type: 'leader_hello', epoch: 1 }, 3100);
  const rd = r.ready(3100);
  assert.equal(r.core.mode, 'down');
  assert.ok(rd.outputs.some((o) => o.kind === 'close' && o.conn === 2));
});

test('read_only_mode_is_off_unless_enabled', () => {
  const r = learner();
  r.tick(1000);
  r.tick(60_000);
  assert.equal(r.zab.role, 'looking');
  assert.equal(r.core.mode, 'down');
});

test('a_serving_learner_that_loses_its_leader_goes_read_only_after_the_grace_period', () => {
  const r = learner(undefined, true);
  r.tick(1000);
  r.tick(3000);
  assert.equal(r.core.mode, 'readonly');
  r.receive(1, { type: 'leader_hello', epoch: 1 }, 3001);
  const info = r.ready(3001).messages.find((m) => m.msg.type === 'follower_info')!.msg;
  const seq = info.type === 'follower_info' ? info.seq : 0;
  const snapshot = { zxid: 0, data: encodeSnapshotNow(new DataTree(), [], 3001) };
  r.receive(1, { type: 'sync', epoch: 1, seq, mode: 'snap', prevZxid: 0, snapshot, entries: [], newLeaderZxid: 0 }, 3002);
  r.persisted(r.ready(3002).generation, 0, 3003);
  r.ready(3003);
  r.receive(1, { type: 'uptodate', epoch: 1, commitZxid: 0 }, 3004);
  r.ready(3004);
  assert.equal(r.core.mode, 'learner');
  assert.deepEqual(connectReadOnly(r, 1, 3005).closed, false);
  r.peerDown(1);
  r.ready(3006);
  assert.equal(r.zab.role, 'looking');
  assert.equal(r.core.mode, 'down', 'the grace period starts again');
  r.tick(5005);
  assert.equal(r.core.mode, 'down');
  r.tick(5006);
  assert.equal(r.core.mode, 'readonly');
});
