// The codec against an independent oracle: bytes produced by Apache ZooKeeper's own jute classes
// (test/fixtures/jute-oracle.json, written by test/interop/java/JuteOracle.java). Every record is
// decoded and compared field by field with what Java serialized, and re-encoded byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/servers.js';
import { JuteReader, JuteWriter } from '../../src/wire/jute.js';
import {
  OpCode,
  readConnectRequest,
  readConnectResponse,
  readOpResults,
  readRequest,
  readStat,
  readACL,
  writeACL,
  writeConnectRequest,
  writeConnectResponse,
  writeOpResults,
  writeRequest,
  writeStat,
  type OpResult,
  type Request,
} from '../../src/wire/protocol.js';
import { readTxnBody, readTxnHeader, writeTxnBody, writeTxnHeader, type Txn } from '../../src/wire/txn.js';

interface Case {
  name: string;
  fields: Record<string, unknown>;
  hex: string;
}
const cases: Case[] = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'jute-oracle.json'), 'utf8'));
const byName = new Map(cases.map((c) => [c.name, c]));
const LONGS = new Set([
  'czxid',
  'mzxid',
  'ctime',
  'mtime',
  'pzxid',
  'ephemeralOwner',
  'lastZxidSeen',
  'sessionId',
  'relativeZxid',
  'ttl',
  'curConfigId',
  'zxid',
  'time',
  'clientId',
  'value',
]);

/** Our values in the fixture's JSON form: buffers as hex, int64 as decimal strings. */
function norm(v: unknown, key = ''): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && LONGS.has(key)) return String(v);
  if (Array.isArray(v)) return v.map((x) => norm(x));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x, k)]));
  return v;
}

function bytes(c: Case): Buffer {
  return Buffer.from(c.hex, 'hex');
}
function encode(f: (w: JuteWriter) => void): string {
  const w = new JuteWriter(8);
  f(w);
  return w.take().toString('hex');
}
function get(name: string): Case {
  const c = byName.get(name);
  assert.ok(c, `fixture has no case ${name}`);
  return c;
}

test('fixture_is_present_and_broad', () => {
  assert.ok(cases.length >= 80, `only ${cases.length} cases`);
});

test('stat_and_acl_match_java', () => {
  for (const name of ['Stat', 'Stat(zero)', 'Stat(negative fields)']) {
    const c = get(name);
    const st = readStat(new JuteReader(bytes(c)));
    assert.deepEqual(norm(st), c.fields, name);
    assert.equal(
      encode((w) => writeStat(w, st)),
      c.hex,
      name,
    );
  }
  const acl = get('ACL');
  const a = readACL(new JuteReader(bytes(acl)));
  assert.deepEqual(a, acl.fields);
  assert.equal(
    encode((w) => writeACL(w, a)),
    acl.hex,
  );
});

test('connect_request_and_response_match_java_with_and_without_readOnly', () => {
  for (const name of ['ConnectRequest', 'ConnectRequest+readOnly', 'ConnectRequest+readOnly(new session, readOnly=true)']) {
    const c = get(name);
    const req = readConnectRequest(new JuteReader(bytes(c)));
    const expected = { readOnly: false, ...c.fields };
    assert.deepEqual(norm(req), expected, name);
    if (name !== 'ConnectRequest')
      assert.equal(
        encode((w) => writeConnectRequest(w, req)),
        c.hex,
        name,
      );
  }
  for (const name of ['ConnectResponse+readOnly', 'ConnectResponse+readOnly(expired session)']) {
    const c = get(name);
    const resp = readConnectResponse(new JuteReader(bytes(c)));
    assert.deepEqual(norm(resp), c.fields, name);
    assert.equal(
      encode((w) => writeConnectResponse(w, resp)),
      c.hex,
      name,
    );
  }
  // a pre-3.4 client's response has no readOnly byte: we read it as false
  assert.equal(readConnectResponse(new JuteReader(bytes(get('ConnectResponse')))).readOnly, false);
});

const requestCases: Array<[string, number]> = [
  ['CreateRequest', OpCode.create],
  ['CreateRequest(null data, empty acl)', OpCode.create],
  ['CreateRequest(container)', OpCode.createContainer],
  ['CreateTTLRequest', OpCode.createTTL],
  ['DeleteRequest', OpCode.delete],
  ['DeleteRequest(any version)', OpCode.delete],
  ['ExistsRequest', OpCode.exists],
  ['GetDataRequest', OpCode.getData],
  ['SetDataRequest', OpCode.setData],
  ['GetACLRequest', OpCode.getACL],
  ['SetACLRequest', OpCode.setACL],
  ['GetChildrenRequest', OpCode.getChildren],
  ['GetChildren2Request', OpCode.getChildren2],
  ['CheckVersionRequest', OpCode.check],
  ['SyncRequest', OpCode.sync],
  ['SetWatches', OpCode.setWatches],
  ['SetWatches2', OpCode.setWatches2],
  ['SetWatches2(empty)', OpCode.setWatches2],
  ['AddWatchRequest', OpCode.addWatch],
  ['RemoveWatchesRequest', OpCode.removeWatches],
  ['CheckWatchesRequest', OpCode.checkWatches],
  ['GetEphemeralsRequest', OpCode.getEphemerals],
  ['GetAllChildrenNumberRequest', OpCode.getAllChildrenNumber],
  ['AuthPacket', OpCode.auth],
  ['MultiOperationRecord', OpCode.multi],
  ['MultiOperationRecord(read)', OpCode.multiRead],
  ['MultiOperationRecord(empty)', OpCode.multi],
];

/** Our request records use our own field names in a few places; map them to jute's. */
function requestFields(req: Request): unknown {
  const r = req.req as Record<string, unknown> | null;
  if (!r) return {};
  switch (req.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer: {
      const { ttl: _ttl, ...rest } = r;
      return rest;
    }
    case OpCode.getEphemerals:
      return { prefixPath: r.path };
    case OpCode.setWatches: {
      const { persistentWatches: _p, persistentRecursiveWatches: _q, ...rest } = r;
      return rest;
    }
    case OpCode.multi:
    case OpCode.multiRead:
      return {
        ops: (r.ops as Array<{ type: number; req: Record<string, unknown> }>).map((op) => {
          const { ttl, ...rest } = op.req;
          return { type: op.type, ...rest, ...(op.type === OpCode.createTTL ? { ttl } : {}) };
        }),
      };
    default:
      return r;
  }
}

test('every_request_record_decodes_to_javas_fields_and_reencodes_byte_for_byte', () => {
  for (const [name, type] of requestCases) {
    const c = get(name);
    const r = new JuteReader(bytes(c));
    const req = readRequest(type, r);
    assert.equal(r.remaining, 0, `${name}: bytes left over`);
    assert.deepEqual(norm(requestFields(req)), c.fields, name);
    assert.equal(
      encode((w) => writeRequest(w, req)),
      c.hex,
      name,
    );
  }
});

test('multi_responses_match_java', () => {
  for (const name of ['MultiResponse', 'MultiResponse(failed)', 'MultiResponse(read)', 'MultiResponse(empty)']) {
    const c = get(name);
    const results = readOpResults(new JuteReader(bytes(c)));
    assert.deepEqual(norm(results), c.fields.results as unknown[], name);
    assert.equal(
      encode((w) => writeOpResults(w, results as OpResult[])),
      c.hex,
      name,
    );
  }
});

test('reply_frames_of_java_decode_as_header_plus_record', () => {
  const f = get('frame:getData reply');
  const r = new JuteReader(bytes(f));
  assert.equal(r.int(), bytes(f).length - 4, 'length prefix');
  assert.deepEqual({ xid: r.int(), zxid: String(r.long()), err: r.int() }, f.fields.header);
  const data = r.buffer();
  const st = readStat(r);
  assert.deepEqual(norm({ data, stat: st }), f.fields.response);
  const n = get('frame:notification');
  const nr = new JuteReader(bytes(n));
  nr.int();
  assert.deepEqual({ xid: nr.int(), zxid: String(nr.long()), err: nr.int() }, n.fields.header);
  assert.deepEqual({ type: nr.int(), state: nr.int(), path: nr.string() }, n.fields.event);
});

test('txn_records_match_javas_txn_serialization', () => {
  const hdr = get('TxnHeader');
  const h = readTxnHeader(new JuteReader(bytes(hdr)));
  assert.deepEqual(norm({ clientId: h.sessionId, cxid: h.cxid, zxid: h.zxid, time: h.time, type: h.type }), hdr.fields);
  assert.equal(
    encode((w) => writeTxnHeader(w, h)),
    hdr.hex,
  );
  const sid = 72068705860517892n;
  const txnCases: Array<[string, number]> = [
    ['CreateTxn', OpCode.create],
    ['CreateContainerTxn', OpCode.createContainer],
    ['CreateTTLTxn', OpCode.createTTL],
    ['DeleteTxn', OpCode.delete],
    ['SetDataTxn', OpCode.setData],
    ['SetACLTxn', OpCode.setACL],
    ['CheckVersionTxn', OpCode.check],
    ['ErrorTxn', OpCode.error],
    ['CreateSessionTxn', OpCode.createSession],
    ['CloseSessionTxn', OpCode.closeSession],
    ['MultiTxn', OpCode.multi],
  ];
  for (const [name, type] of txnCases) {
    const c = get(name);
    const txn: Txn = readTxnBody(new JuteReader(bytes(c)), type, sid);
    assert.equal(
      encode((w) => writeTxnBody(w, txn)),
      c.hex,
      name,
    );
  }
  const create = readTxnBody(new JuteReader(bytes(get('CreateTxn'))), OpCode.create, sid);
  assert.ok(create.type === OpCode.create && create.ephemeralOwner === sid && create.parentCVersion === 12);
  const ttl = readTxnBody(new JuteReader(bytes(get('CreateTTLTxn'))), OpCode.createTTL, sid);
  assert.ok(ttl.type === OpCode.createTTL && (BigInt.asUintN(64, ttl.ephemeralOwner) & 0xffffffffffn) === 5000n);
  const multi = readTxnBody(new JuteReader(bytes(get('MultiTxn'))), OpCode.multi, sid);
  assert.ok(multi.type === OpCode.multi && multi.txns.length === 2 && multi.txns[1]!.type === OpCode.error);
});
