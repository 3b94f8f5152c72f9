// Quorum security's parts: the pure auth decisions (net/peerauth.ts) for every pairing of
// settings, the config keys (config/quorumsec.ts) as ZooKeeper's QuorumPeerConfig reads them, the
// rate-limited refusal log, and the transport in-process with real certificates: port
// unification's rolling upgrade and sslQuorumReloadCertFiles.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { pino } from 'pino';
import { ClientPort, type ClientPortHandler } from '../../src/net/clientport.js';
import { join } from 'node:path';
import {
  AUTH_CHALLENGE,
  AUTH_FAILURE,
  AUTH_SUCCESS,
  AcceptorAuth,
  ConnectorAuth,
  authenticateInMemory,
  type QuorumSaslPolicy,
} from '../../src/net/peerauth.js';
import { RefusalLog } from '../../src/net/refusals.js';
import { confirmedNames } from '../../src/net/hostconfirm.js';
import { PeerTransport, type PeerAddress, type PeerLogger, type PeerTlsSettings } from '../../src/net/peers.js';
import { parseZooCfg } from '../../src/config/zoocfg.js';
import { ConfigError } from '../../src/config/error.js';
import { peerTlsOptions } from '../../src/runtime/tlsfiles.js';
import { quorumAuthPolicy } from '../../src/runtime/authfiles.js';
import { watchFiles } from '../../src/runtime/certwatch.js';
import { freePort, requireOrSkip, tempDir } from '../helpers/servers.js';
import { makeCerts, opensslMissing } from '../helpers/certs.js';
import { waitUntil } from '../helpers/wait.js';

const users = new Map([['peer', 'right']]);
const policy = (o: Partial<QuorumSaslPolicy> = {}): QuorumSaslPolicy => ({
  learnerRequireSasl: true,
  serverRequireSasl: true,
  learner: { username: 'peer', password: 'right' },
  serverUsers: users,
  ...o,
});
const nonces = { nonce: 'bm9uY2U=', cnonce: 'Y25vbmNl' };

describe('quorum SASL decisions (peerauth.ts)', () => {
  test('the right password: both ends admit, the acceptor knows the user', () => {
    const r = authenticateInMemory(policy(), policy(), nonces);
    assert.deepEqual(r.connector, { kind: 'admit', user: 'peer' });
    assert.deepEqual(r.acceptor, { kind: 'admit', user: 'peer' });
  });

  test('a wrong password is refused by both ends when required', () => {
    const r = authenticateInMemory(policy({ learner: { username: 'peer', password: 'wrong' } }), policy(), nonces);
    assert.equal(r.acceptor.kind, 'refuse');
    assert.match((r.acceptor as { reason: string }).reason, /wrong password for peer/);
    assert.equal(r.connector.kind, 'refuse');
  });

  test('the unauthenticated connector is told only that it failed, not whether the user exists', () => {
    for (const learner of [
      { username: 'peer', password: 'wrong' },
      { username: 'nobody', password: 'right' },
    ]) {
      const c = new ConnectorAuth(policy({ learner }), nonces.cnonce);
      const a = new AcceptorAuth(policy(), nonces.nonce);
      const challenge = a.hello(c.hello).send;
      const response = c.message(challenge[0]!).send;
      const answer = a.message(response[0]!);
      assert.equal(answer.outcome.kind, 'refuse');
      assert.match((answer.outcome as { reason: string }).reason, /wrong password for peer|nobody/, 'the detail stays in the local log');
      assert.equal(answer.send.length, 1);
      assert.equal(answer.send[0]![0], AUTH_FAILURE);
      assert.equal(answer.send[0]!.subarray(1).toString('utf8'), 'authentication failed');
    }
  });

  test('an acceptor with other users (an impostor) gets no data from a connector that requires SASL', () => {
    const impostor = policy({ serverUsers: new Map([['peer', 'guess']]) });
    assert.equal(authenticateInMemory(policy(), impostor, nonces).connector.kind, 'refuse');
  });

  test('a forged rspauth is refused by the connector', () => {
    const c = new ConnectorAuth(policy(), 'Y25vbmNl');
    const challenge = Buffer.concat([
      Buffer.from([AUTH_CHALLENGE]),
      Buffer.from('realm="zk-sasl-md5",nonce="abc",qop="auth",charset=utf-8,algorithm=md5-sess'),
    ]);
    assert.equal(c.message(challenge).outcome.kind, 'pending');
    const forged = c.message(Buffer.concat([Buffer.from([AUTH_SUCCESS]), Buffer.from('rspauth=00000000000000000000000000000000')]));
    assert.equal(forged.outcome.kind, 'refuse');
    assert.match((forged.outcome as { reason: string }).reason, /rspauth/);
  });

  test('enableSasl without the require flags admits, with a note (rolling upgrade)', () => {
    const lax = policy({ learnerRequireSasl: false, serverRequireSasl: false });
    const wrong = authenticateInMemory({ ...lax, learner: { username: 'peer', password: 'wrong' } }, lax, nonces);
    assert.equal(wrong.acceptor.kind, 'admit');
    assert.match((wrong.acceptor as { note?: string }).note ?? '', /serverRequireSasl is false/);
    assert.equal(authenticateInMemory(null, lax, nonces).acceptor.kind, 'admit');
    assert.equal(authenticateInMemory(lax, null, nonces).connector.kind, 'admit');
  });

  test('over TLS a connector without SASL waits for the answer: admitted, or told SASL is required', () => {
    assert.deepEqual(authenticateInMemory(null, null, nonces, true), { connector: { kind: 'admit' }, acceptor: { kind: 'admit' } });
    const required = authenticateInMemory(null, policy(), nonces, true);
    assert.equal(required.acceptor.kind, 'refuse');
    assert.equal(required.connector.kind, 'refuse');
    assert.match((required.connector as { reason: string }).reason, /requires quorum SASL/);
    const lax = authenticateInMemory(null, policy({ learnerRequireSasl: false, serverRequireSasl: false }), nonces, true);
    assert.equal(lax.acceptor.kind, 'admit');
    assert.equal(lax.connector.kind, 'admit');
    // with SASL on the connector, asking changes nothing
    assert.equal(authenticateInMemory(policy(), policy(), nonces, true).connector.kind, 'admit');
  });

  test('SASL required on one end and off on the other: refused by the end that requires it', () => {
    assert.equal(authenticateInMemory(null, policy(), nonces).acceptor.kind, 'refuse');
    assert.equal(authenticateInMemory(policy(), null, nonces).connector.kind, 'refuse');
    assert.deepEqual(authenticateInMemory(null, null, nonces), { connector: { kind: 'admit' }, acceptor: { kind: 'admit' } });
  });
});

describe('quorum security keys (quorumsec.ts)', () => {
  const ensemble = 'dataDir=/d\ninitLimit=10\nsyncLimit=5\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n';
  const cfg = (extra: string) => parseZooCfg(`${ensemble}${extra}`, { myid: 1 });
  const refused = (extra: string, key: string, msg: RegExp): void => {
    assert.throws(
      () => cfg(extra),
      (e: unknown) => e instanceof ConfigError && e.key === key && msg.test(e.message),
    );
  };

  test("ZooKeeper's checks: the require flags need enableSasl; serverRequireSasl needs learnerRequireSasl", () => {
    refused('quorum.auth.serverRequireSasl=true\n', 'quorum.auth.serverRequireSasl', /enableSasl is disabled/);
    refused('quorum.auth.learnerRequireSasl=true\n', 'quorum.auth.learnerRequireSasl', /enableSasl is disabled/);
    refused(
      'quorum.auth.enableSasl=true\nquorum.auth.serverRequireSasl=true\n',
      'quorum.auth.serverRequireSasl',
      /learnerRequireSasl is disabled/,
    );
    refused('quorum.auth.enableSasl=yes\n', 'quorum.auth.enableSasl', /.*/);
  });

  test('SASL contexts default to QuorumLearner / QuorumServer; the keys are honoured without warnings', () => {
    const { config, warnings } = cfg('quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\n');
    assert.deepEqual(config.quorumSecurity.sasl, {
      learnerRequireSasl: true,
      serverRequireSasl: false,
      learnerContext: 'QuorumLearner',
      serverContext: 'QuorumServer',
    });
    assert.deepEqual(warnings, []);
    const named = cfg('quorum.auth.enableSasl=true\nquorum.auth.learner.saslLoginContext=L\nquorum.auth.server.saslLoginContext=S\n');
    assert.equal(named.config.quorumSecurity.sasl?.learnerContext, 'L');
    assert.equal(named.config.quorumSecurity.sasl?.serverContext, 'S');
  });

  test('sslQuorum reads ssl.quorum.*: hostname verification on by default, the key store required', () => {
    const { config, warnings } = cfg(
      'sslQuorum=true\nssl.quorum.keyStore.location=/k.pem\nssl.quorum.trustStore.location=/t.p12\nssl.quorum.trustStore.password=x\nssl.quorum.enabledProtocols=TLSv1.3\n',
    );
    assert.deepEqual(warnings, []);
    const t = config.quorumSecurity.tls!;
    assert.equal(t.hostnameVerification, true);
    assert.equal(t.keyStore.type, 'PEM');
    assert.equal(t.trustStore?.type, 'PKCS12');
    assert.equal(t.minVersion, 'TLSv1.3');
    assert.equal(
      cfg('sslQuorum=true\nssl.quorum.keyStore.location=/k.pem\nzookeeper.ssl.quorum.hostnameVerification=false\n').config.quorumSecurity
        .tls?.hostnameVerification,
      false,
    );
    refused('sslQuorum=true\n', 'ssl.quorum.keyStore.location', /must name this member's certificate/);
    refused('portUnification=true\n', 'ssl.quorum.keyStore.location', /portUnification/);
    refused(
      'sslQuorum=true\nssl.quorum.keyStore.location=/k.pem\nssl.quorum.clientAuth=maybe\n',
      'ssl.quorum.clientAuth',
      /none, want or need/,
    );
    refused(
      'sslQuorum=true\nssl.quorum.keyStore.location=/k.pem\nssl.quorum.handshakeDetectionTimeoutMillis=5s\n',
      'ssl.quorum.handshakeDetectionTimeoutMillis',
      /not an integer/,
    );
    refused('sslQuorum=true\nssl.quorum.keyStore.location=/k.jks\n', 'ssl.quorum.keyStore.location', /JKS/);
    refused(
      'sslQuorum=true\nssl.quorum.keyStore.location=/k.pem\nssl.quorum.protocol=TLSv1.1\n',
      'ssl.quorum.protocol',
      /TLSv1.2 and TLSv1.3/,
    );
  });

  test('clientAuth, clientHostnameVerification and handshakeDetectionTimeoutMillis as SSLContextAndOptions / X509Util read them; no trust store is warned about', () => {
    const base = 'sslQuorum=true\nssl.quorum.keyStore.location=/k.pem\nssl.quorum.trustStore.location=/t.pem\n';
    const dflt = cfg(base);
    assert.deepEqual(dflt.warnings, []);
    const d = dflt.config.quorumSecurity.tls!;
    assert.deepEqual([d.clientAuth, d.clientHostnameVerification, d.handshakeTimeoutMs], ['need', true, 5000]);
    const set = cfg(
      `${base}ssl.quorum.clientAuth=WANT\nssl.quorum.clientHostnameVerification=false\nzookeeper.ssl.quorum.handshakeDetectionTimeoutMillis=750\n`,
    );
    assert.deepEqual(set.warnings, []);
    const s = set.config.quorumSecurity.tls!;
    assert.deepEqual(
      [s.clientAuth, s.clientHostnameVerification, s.hostnameVerification, s.handshakeTimeoutMs],
      ['want', false, true, 750],
    );
    // isClientHostnameVerificationEnabled: hostnameVerification=false turns both off
    assert.equal(cfg(`${base}ssl.quorum.hostnameVerification=false\n`).config.quorumSecurity.tls!.clientHostnameVerification, false);
    const zero = cfg(`${base}ssl.quorum.handshakeDetectionTimeoutMillis=0\n`);
    assert.equal(zero.config.quorumSecurity.tls!.handshakeTimeoutMs, 5000);
    assert.ok(zero.warnings.some((w) => /handshakeDetectionTimeoutMillis=0: below 1 ms/.test(w)));
    const noTrust = cfg('sslQuorum=true\nssl.quorum.keyStore.location=/k.pem\n');
    assert.ok(noTrust.warnings.some((w) => /ssl\.quorum\.trustStore\.location is not set: .*public root CAs/.test(w)));
  });

  test('ssl.quorum.* without sslQuorum or portUnification, and every key on a standalone server, are warned about', () => {
    const idle = cfg('ssl.quorum.keyStore.location=/k.pem\n');
    assert.equal(idle.config.quorumSecurity.tls, null);
    assert.ok(idle.warnings.some((w) => w.startsWith('ssl.quorum.keyStore.location:')));
    const alone = parseZooCfg('dataDir=/d\nclientPort=2181\nsslQuorum=true\nquorum.auth.enableSasl=true\n');
    assert.equal(alone.config.quorumSecurity.sslQuorum, false);
    assert.ok(alone.warnings.some((w) => w.startsWith('sslQuorum: a standalone server')));
  });
});

test('refusals: one line per address and reason per window, with the count of those not logged', () => {
  const lines: Array<{ o: Record<string, unknown>; m: string }> = [];
  const log = new RefusalLog({ warn: ((o: Record<string, unknown>, m: string) => void lines.push({ o, m })) as never }, 1000);
  for (let i = 0; i < 50; i++) log.refuse(`10.0.0.9:${40000 + i}`, 'wrong password', i * 10);
  assert.equal(lines.length, 1);
  log.refuse('10.0.0.8:1', 'wrong password', 600);
  assert.equal(lines.length, 2, 'another address is its own line');
  log.refuse('10.0.0.9:5', 'wrong password', 1200);
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.o.sameRefusalsNotLogged, 49);
  assert.equal(log.count, 52);
});

test('refusals: bytes chosen by the connector are a field, not the key; lines from many addresses are bounded per window', () => {
  const lines: Array<{ o: Record<string, unknown>; m: string }> = [];
  const log = new RefusalLog({ warn: ((o: Record<string, unknown>, m: string) => void lines.push({ o, m })) as never }, 1000, 5);
  // 50 junk connections from one host, each with other bad magic bytes: one line
  for (let i = 0; i < 50; i++) log.refuse(`10.0.0.9:${40000 + i}`, 'bad handshake magic', i, { detail: `0x${i.toString(16)}` });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.o.detail, '0x0');
  assert.doesNotMatch(lines[0]!.m, /0x0/, 'the detail is not in the message text');
  // 50 addresses: 4 more lines (5 in the window), the rest counted and told with the next line
  for (let i = 0; i < 50; i++) log.refuse(`10.1.0.${i}:1`, 'bad handshake magic', 100 + i);
  assert.equal(lines.length, 5);
  log.refuse('10.2.0.1:1', 'TLS handshake failed', 1200);
  assert.equal(lines.length, 6);
  assert.equal(lines[5]!.o.otherRefusalsNotLogged, 46);
  assert.equal(log.count, 101);
});

// ------------------------------------------------------------------------------------------------
// The transport with real certificates, in-process

function logger(warnings: string[]): PeerLogger {
  const fmt = (a: unknown, b?: unknown): string => (typeof a === 'string' ? a : `${String(b)} ${JSON.stringify(a)}`);
  return {
    info: () => {},
    debug: () => {},
    error: (a: unknown, b?: unknown) => void warnings.push(fmt(a, b)),
    warn: (a: unknown, b?: unknown) => void warnings.push(fmt(a, b)),
  } as unknown as PeerLogger;
}

const live: Array<{ close: () => unknown }> = [];
afterEach(async () => {
  for (const t of live.splice(0)) await t.close();
});

/** The TLS options a member's zoo.cfg with sslQuorum gives: `keyStore` (a PEM), trusting `caPem`, plus `extra` lines. */
function quorumTlsOptions(keyStore: string, caPem: string, extra = ''): SecureContextOptions {
  return peerTlsOptions(
    parseZooCfg(
      `dataDir=/d\nserver.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\nsslQuorum=true\nssl.quorum.keyStore.location=${keyStore}\nssl.quorum.trustStore.location=${caPem}\n${extra}`,
      { myid: 1 },
    ).config.quorumSecurity.tls!,
  );
}

/** Members `ids` on 127.0.0.1, each on a free port. */
async function peersOnFreePorts(ids: number[]): Promise<PeerAddress[]> {
  const all: PeerAddress[] = ids.map((id) => ({ id, host: '127.0.0.1', port: 0 }));
  for (const p of all) p.port = await freePort();
  return all;
}

async function node(
  id: number,
  all: PeerAddress[],
  tls: PeerTlsSettings | null,
): Promise<{ t: PeerTransport; got: string[]; warnings: string[] }> {
  const got: string[] = [];
  const warnings: string[] = [];
  const me = all.find((p) => p.id === id)!;
  const t = new PeerTransport({
    myId: id,
    listenHost: me.host,
    listenPort: me.port,
    peers: all.filter((p) => p.id !== id),
    frameBytesMax: 1024 * 1024,
    reconnectDelayMs: 20,
    onMessage: (_from, data) => void got.push(data.toString()),
    log: logger(warnings),
    security: { tls, auth: null, nonce: () => 'n' },
  });
  live.push(t);
  await t.start();
  return { t, got, warnings };
}

async function pingUntil(from: PeerTransport, to: number, got: string[], text: string, what: string): Promise<void> {
  await waitUntil(
    () => {
      if (from.connected(to)) from.send(to, Buffer.from(text));
      return got.includes(text);
    },
    what,
    10000,
    50,
  );
}

test('port unification: a member with sslQuorum and one without talk both ways (the rolling upgrade), a TLS-only port refuses plain', async (t) => {
  const skip = requireOrSkip(opensslMissing());
  if (skip) return t.skip(skip);
  const certs = makeCerts();
  const options = quorumTlsOptions(certs.serverPem, certs.caPem);
  const all = await peersOnFreePorts([1, 2, 3]);
  const tls = (sslQuorum: boolean, portUnification: boolean): PeerTlsSettings => ({
    sslQuorum,
    portUnification,
    options,
    hostnameVerification: true,
  });
  const a = await node(1, all, tls(false, true)); // step 1: port unification, still plain out
  const b = await node(2, all, tls(true, true)); // step 2: sslQuorum on
  const c = await node(3, all, tls(true, false)); // step 3: port unification off
  await pingUntil(a.t, 2, b.got, 'a->b plain', 'plain to a unified port');
  await pingUntil(b.t, 1, a.got, 'b->a tls', 'TLS to a unified port');
  await pingUntil(b.t, 3, c.got, 'b->c tls', 'TLS to a TLS-only port');
  await waitUntil(
    () => c.warnings.some((w) => /plain \(non-TLS\) connection on a TLS quorum port/.test(w)),
    'plain refused by the TLS-only port',
    10000,
  );
  assert.equal(
    c.got.some((g) => g.startsWith('a->')),
    false,
  );
});

test('sslQuorumReloadCertFiles: a key store replaced on disk is used for the next connections', async (t) => {
  const skip = requireOrSkip(opensslMissing());
  if (skip) return t.skip(skip);
  const certs = makeCerts();
  const dir = tempDir('reload');
  const keyStore = join(dir, 'member.pem');
  writeFileSync(keyStore, readFileSync(certs.strangerKey, 'utf8') + readFileSync(certs.strangerCert, 'utf8'));
  const cfgText = (ks: string): string =>
    `dataDir=/d\nserver.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\nsslQuorum=true\nsslQuorumReloadCertFiles=true\nssl.quorum.keyStore.location=${ks}\nssl.quorum.trustStore.location=${certs.caPem}\n`;
  const aCfg = parseZooCfg(cfgText(keyStore), { myid: 1 }).config.quorumSecurity;
  assert.equal(aCfg.reloadCertFiles, true);
  const bOptions = peerTlsOptions(parseZooCfg(cfgText(certs.serverPem), { myid: 2 }).config.quorumSecurity.tls!);
  const all = await peersOnFreePorts([1, 2]);
  const a = await node(1, all, { sslQuorum: true, portUnification: false, options: peerTlsOptions(aCfg.tls!), hostnameVerification: true });
  const b = await node(2, all, { sslQuorum: true, portUnification: false, options: bOptions, hostnameVerification: true });
  const stop = watchFiles([keyStore], () => a.t.setTlsOptions(peerTlsOptions(aCfg.tls!)), 50);
  live.push({ close: stop });
  // the stranger's certificate: refused by b
  // with TLS 1.3 a's handshake ends before b checked its certificate: a waits for b's answer, so it never counts the connection up
  let everUp = false;
  await waitUntil(
    () => {
      everUp ||= a.t.connected(2);
      return b.warnings.some((w) => /TLS handshake failed/.test(w));
    },
    'b refuses the untrusted certificate',
    10000,
  );
  assert.equal(everUp, false);
  // replaced (as a certificate tool would) by one the CA signed: a gets in without a restart
  copyFileSync(certs.serverPem, `${keyStore}.new`);
  renameSync(`${keyStore}.new`, keyStore);
  await pingUntil(a.t, 2, b.got, 'after reload', 'a connects with the reloaded certificate');
});

test('sslQuorumReloadCertFiles: a Kubernetes secret update (kubelet swaps the ..data symlink) is seen', async () => {
  // kubelet's layout: dir/server.pem -> ..data/server.pem, ..data -> ..2026_x (a timestamped dir);
  // an update writes ..2026_y, makes a new symlink and renames it over ..data: no event names server.pem
  const dir = tempDir('k8s-secret');
  mkdirSync(join(dir, '..2026_x'));
  writeFileSync(join(dir, '..2026_x', 'server.pem'), 'first certificate\n');
  symlinkSync('..2026_x', join(dir, '..data'));
  symlinkSync(join('..data', 'server.pem'), join(dir, 'server.pem'));
  let reloads = 0;
  const stop = watchFiles([join(dir, 'server.pem')], () => void reloads++, 20);
  live.push({ close: stop });
  mkdirSync(join(dir, '..2026_y'));
  writeFileSync(join(dir, '..2026_y', 'server.pem'), 'second certificate\n');
  symlinkSync('..2026_y', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  await waitUntil(() => reloads > 0, 'the swapped secret is reloaded', 10000);
  assert.equal(readFileSync(join(dir, 'server.pem'), 'utf8'), 'second certificate\n');
});

describe('quorum SASL credentials from the JAAS file (runtime/authfiles.ts)', () => {
  const dir = tempDir('qjaas');
  const jaas = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const digest = 'org.apache.zookeeper.server.auth.DigestLoginModule';
  const both = `QuorumServer { ${digest} required user_p="pw"; };\nQuorumLearner { ${digest} required username="p" password="pw"; };\n`;
  const config = (extra: string) =>
    parseZooCfg(
      `dataDir=/d\ninitLimit=10\nsyncLimit=5\nserver.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\nquorum.auth.enableSasl=true\n${extra}`,
      {
        myid: 1,
      },
    ).config;
  const refusedWith = (extra: string, env: NodeJS.ProcessEnv, key: string, msg: RegExp): void => {
    assert.throws(
      () => quorumAuthPolicy(config(extra), env),
      (e: unknown) => e instanceof ConfigError && e.key === key && msg.test(e.message),
    );
  };

  test('the QuorumLearner login and the QuorumServer users, from SERVER_JVMFLAGS or zoo.cfg', () => {
    const f = jaas('ok.conf', both);
    const p = quorumAuthPolicy(config(''), { SERVER_JVMFLAGS: `-Xmx1g -Djava.security.auth.login.config=${f}` });
    assert.deepEqual(p?.learner, { username: 'p', password: 'pw' });
    assert.equal(p?.serverUsers.get('p'), 'pw');
    assert.equal(quorumAuthPolicy(config(`java.security.auth.login.config=${f}\n`), {})?.learner.username, 'p');
  });

  test('no JAAS file, a missing section, Kerberos: start-up stops naming the key', () => {
    refusedWith('', {}, 'quorum.auth.enableSasl', /no JAAS file/);
    const onlyServer = jaas('server-only.conf', `QuorumServer { ${digest} required user_p="pw"; };\n`);
    refusedWith(`java.security.auth.login.config=${onlyServer}\n`, {}, 'quorum.auth.learner.saslLoginContext', /no QuorumLearner section/);
    refusedWith(
      `java.security.auth.login.config=${jaas('ok2.conf', both)}\nquorum.auth.server.saslLoginContext=Other\n`,
      {},
      'quorum.auth.server.saslLoginContext',
      /no Other section/,
    );
    const krb = jaas(
      'krb.conf',
      `QuorumServer { com.sun.security.auth.module.Krb5LoginModule required; };\nQuorumLearner { ${digest} required username="p" password="pw"; };\n`,
    );
    refusedWith(`java.security.auth.login.config=${krb}\n`, {}, 'quorum.auth.server.saslLoginContext', /Kerberos/);
  });
});

test('quorum SASL on the transport: an impostor claiming a member id is refused and does not displace the member', async () => {
  const all = await peersOnFreePorts([1, 2]);
  const mk = async (id: number, port: number, peers: PeerAddress[], auth: QuorumSaslPolicy) => {
    const got: string[] = [];
    const infos: string[] = [];
    const warnings: string[] = [];
    let nonceSeq = 0;
    const log = {
      ...logger(warnings),
      info: (a: unknown, b?: unknown) => void infos.push(`${String(b)} ${JSON.stringify(a)}`),
    } as PeerLogger;
    const t = new PeerTransport({
      myId: id,
      listenHost: '127.0.0.1',
      listenPort: port,
      peers,
      frameBytesMax: 1024 * 1024,
      reconnectDelayMs: 20,
      onMessage: (_from, data) => void got.push(data.toString()),
      log,
      security: { tls: null, auth, nonce: () => `nonce${id}-${++nonceSeq}` },
    });
    live.push(t);
    await t.start();
    return { t, got, infos, warnings };
  };
  const one = await mk(1, all[0]!.port, [all[1]!], policy());
  const two = await mk(2, all[1]!.port, [all[0]!], policy());
  await pingUntil(one.t, 2, two.got, 'from the real 1', 'the real member 1 authenticated');
  // a process on another port claiming id 1, with a wrong password
  const fake = await mk(1, await freePort(), [all[1]!], policy({ learner: { username: 'peer', password: 'wrong' } }));
  await waitUntil(
    () => {
      if (fake.t.connected(2)) fake.t.send(2, Buffer.from('from the impostor'));
      return two.t.refusals.count > 0;
    },
    'member 2 refuses the impostor',
    10000,
  );
  assert.match(
    two.warnings.join('\n'),
    /refused a quorum peer connection: quorum authentication failed.*"detail":"server 1: SASL authentication failed: wrong password for peer/,
  );
  assert.equal(fake.t.connected(2), false, 'the impostor never gets to send');
  await pingUntil(one.t, 2, two.got, 'still from the real 1', 'the real member 1 still connected');
  assert.equal(two.got.includes('from the impostor'), false);
  assert.equal(
    two.infos.some((l) => /replaces the previous one/.test(l)),
    false,
    'the impostor displaced nothing',
  );
});

/** Opens a connection that sends a TLS record header and then nonsense; resolves when the server closed it. */
function brokenHandshake(port: number): { closed: () => boolean } {
  const s = netConnect(port, '127.0.0.1');
  let closed = false;
  s.on('error', () => undefined);
  s.on('close', () => (closed = true));
  s.resume(); // flowing, so the server's end is seen (and 'close' follows)
  // a whole record: a ClientHello of length 0, which fails the handshake at once
  s.on('connect', () => s.write(Buffer.from([0x16, 3, 1, 0, 4, 1, 0, 0, 0])));
  return { closed: () => closed };
}

test('a broken TLS handshake is closed at once on the quorum port and the client port; close() does not wait for connections not yet admitted', async (t) => {
  const skip = requireOrSkip(opensslMissing());
  if (skip) return t.skip(skip);
  const certs = makeCerts();
  const options = quorumTlsOptions(certs.serverPem, certs.caPem);
  const all = await peersOnFreePorts([1, 2]);
  const a = await node(1, all, { sslQuorum: true, portUnification: false, options, hostnameVerification: true });
  // the handshake fails on the bytes (not after the 10 s timeout): the socket must go with it
  const bad = [brokenHandshake(all[0]!.port), brokenHandshake(all[0]!.port)];
  await waitUntil(() => bad.every((b) => b.closed()), 'the quorum port closed the broken handshakes', 5000);

  const pem = readFileSync(certs.serverPem);
  const cp = new ClientPort({} as ClientPortHandler, pino({ level: 'silent' }), 1 << 20);
  const { port } = await cp.listen(0, '127.0.0.1', { kind: 'tls', options: { key: pem, cert: pem } });
  try {
    const onClientPort = brokenHandshake(port);
    await waitUntil(onClientPort.closed, 'the client port closed the broken handshake', 5000);
  } finally {
    await cp.stop();
  }

  // a connection that has sent nothing yet is the transport's too: close() ends it rather than waiting on it
  const silent = netConnect(all[0]!.port, '127.0.0.1');
  silent.on('error', () => undefined);
  silent.resume();
  await new Promise((r) => silent.once('connect', r));
  let silentClosed = false;
  silent.on('close', () => (silentClosed = true));
  // without it, close() would wait until the connection's own 10 s first-byte timer ended it
  const stopped = await Promise.race([
    a.t.close().then(() => 'closed'),
    new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000).unref()),
  ]);
  assert.equal(stopped, 'closed');
  await waitUntil(() => silentClosed, 'the silent connection ended by close()', 5000);
});

test('the accepting member checks the connector by address, then by a forward-confirmed reverse name; clientHostnameVerification and clientAuth are honoured', async (t) => {
  const skip = requireOrSkip(opensslMissing());
  if (skip) return t.skip(skip);
  const certs = makeCerts();
  const optionsOf = (ks: string, extra = '') => quorumTlsOptions(ks, certs.caPem, extra);
  // a connects with a certificate naming only "ark-test-client" (not 127.0.0.1); b has the server's
  const aOptions = optionsOf(certs.clientPem);
  const bOptions = optionsOf(certs.serverPem);
  const pair = async (bTls: Partial<PeerTlsSettings>, aKeyOptions = aOptions) => {
    const all = await peersOnFreePorts([1, 2]);
    const base = { sslQuorum: true, portUnification: false, hostnameVerification: true };
    const a = await node(1, all, { ...base, options: aKeyOptions });
    const b = await node(2, all, { ...base, options: bOptions, ...bTls });
    return { a, b };
  };
  const resolver = (forward: string[]) => ({
    reverse: async (ip: string) => (ip === '127.0.0.1' ? ['ark-test-client'] : []),
    lookupAll: async (name: string) => (name === 'ark-test-client' ? forward : []),
  });

  // a PTR record naming the certificate's host, but that host resolves elsewhere: refused
  const spoofed = await pair({ resolver: resolver(['10.1.2.3']) });
  await waitUntil(
    () => spoofed.b.warnings.some((w) => /does not name its address 127\.0\.0\.1/.test(w)),
    'an unconfirmed reverse name is refused',
    10000,
  );
  assert.equal(spoofed.b.got.length, 0);
  for (const x of live.splice(0)) await x.close();

  // the name resolves back to the address: admitted
  const confirmed = await pair({ resolver: resolver(['::1', '127.0.0.1']) });
  await pingUntil(confirmed.a.t, 2, confirmed.b.got, 'confirmed', 'a forward-confirmed reverse name is admitted');
  for (const x of live.splice(0)) await x.close();

  // ssl.quorum.clientHostnameVerification=false: the accepting end does not check the name at all
  const unchecked = await pair({ clientHostnameVerification: false, resolver: resolver([]) });
  await pingUntil(unchecked.a.t, 2, unchecked.b.got, 'unchecked', 'clientHostnameVerification=false admits');
  for (const x of live.splice(0)) await x.close();

  // clientAuth=none: no certificate asked for, so nothing to check the name against
  const none = await pair({ clientAuth: 'none', resolver: resolver([]) });
  await pingUntil(none.a.t, 2, none.b.got, 'none', 'clientAuth=none admits');
  for (const x of live.splice(0)) await x.close();

  // clientAuth=want: a certificate that is shown must still chain to the trust store
  const strangerPem = join(certs.dir, 'stranger.pem');
  writeFileSync(strangerPem, readFileSync(certs.strangerKey, 'utf8') + readFileSync(certs.strangerCert, 'utf8'));
  const want = await pair({ clientAuth: 'want', clientHostnameVerification: false }, optionsOf(strangerPem));
  await waitUntil(
    () => want.b.warnings.some((w) => /TLS handshake failed/.test(w)),
    'an untrusted certificate is refused with clientAuth=want',
    10000,
  );
  assert.equal(want.b.got.length, 0);
});

test('confirmedNames: only reverse names that resolve back to the address; a resolver that hangs is given up', async () => {
  const hang = new Promise<string[]>(() => undefined);
  assert.deepEqual(
    await confirmedNames('10.0.0.5', {
      reverse: async () => ['a.example', 'b.example'],
      lookupAll: async (n) => (n === 'b.example' ? ['10.0.0.5'] : ['10.9.9.9']),
    }),
    ['b.example'],
  );
  assert.deepEqual(await confirmedNames('::ffff:10.0.0.5', { reverse: async () => ['b.example'], lookupAll: async () => ['10.0.0.5'] }), [
    'b.example',
  ]);
  assert.deepEqual(await confirmedNames('10.0.0.5', { reverse: () => hang, lookupAll: async () => [] }, 20), []);
  assert.deepEqual(await confirmedNames('10.0.0.5', { reverse: async () => ['a.example'], lookupAll: () => hang }, 20), []);
  assert.deepEqual(
    await confirmedNames('10.0.0.5', { reverse: async () => Promise.reject(new Error('ENOTFOUND')), lookupAll: async () => [] }),
    [],
  );
});
