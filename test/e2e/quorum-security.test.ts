// Security between members (ZooKeeper's sslQuorum, ssl.quorum.*, quorum.auth.*), on real processes
// with real openssl certificates: a 3-member ensemble with TLS and quorum SASL elects, replicates,
// reloads its certificate files (sslQuorumReloadCertFiles) and fails over; a process in a member's place with a wrong password or a wrong certificate is
// refused (and logged) while the ensemble keeps serving, as is one without TLS; and the quorum traffic, captured by a TCP
// relay in front of member 1's quorum port, never shows a znode's value in clear text, while
// without sslQuorum it does (so the capture can tell).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { arkBin, requireOrSkip, tempDir, waitForPort, wrapProcess, type RunningServer } from '../helpers/servers.js';
import { makeCerts, opensslMissing, type TestCerts } from '../helpers/certs.js';
import { waitUntil } from '../helpers/wait.js';
import { connect } from '../../src/client/zookeeper.js';

const PEER_USER = 'zkpeer';
const PEER_PASSWORD = 'peer-secret-7c1f';

function jaasFile(dir: string, password: string): string {
  const file = join(dir, `jaas-${password}.conf`);
  writeFileSync(
    file,
    `QuorumServer {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n    user_${PEER_USER}="${password}";\n};\n` +
      `QuorumLearner {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n    username="${PEER_USER}"\n    password="${password}";\n};\n`,
  );
  return file;
}

/** A TCP relay that records every byte that passes, both ways; its target is set once known. */
class RecordingRelay {
  readonly server: Server;
  target = 0;
  private readonly chunks: Buffer[] = [];
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor() {
    this.server = createServer((a) => {
      const b = tcpConnect({ host: '127.0.0.1', port: this.target });
      for (const s of [a, b]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          a.destroy();
          b.destroy();
        });
      }
      a.on('data', (d: Buffer) => {
        this.chunks.push(d);
        b.write(d);
      });
      b.on('data', (d: Buffer) => {
        this.chunks.push(d);
        a.write(d);
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Member 1's quorum port behind the relay for members 2 and 3 (member 1 listens on its own line). */
function relayedLines(relay: RecordingRelay): (id: number, lines: Readonly<Record<string, string>>) => Record<string, string> {
  return (id, lines) => {
    const [host, quorum, election] = (lines['server.1'] ?? '').split(':');
    relay.target = Number(quorum);
    return id === 1 ? {} : { 'server.1': `${host}:${relay.port}:${election}` };
  };
}

let written = 0;

/** Writes a distinctive value through a member other than 1, and reads it back on member 1. */
async function replicate(ens: Ensemble, value: string): Promise<void> {
  const writer = ens.members.find((m) => m.id !== 1 && m.proc)!;
  const one = ens.members[0]!;
  const w = await connect(`127.0.0.1:${writer.port}`, { timeoutMs: 10000 });
  const r = await connect(`127.0.0.1:${one.port}`, { timeoutMs: 10000 });
  try {
    const path = `/q-${++written}`;
    await w.create(path, Buffer.from(value));
    await r.sync(path);
    assert.equal((await r.getData(path)).data?.toString(), value);
  } finally {
    await w.close();
    await r.close();
  }
}

function securityCfg(certs: TestCerts, jaas: string): Record<string, string> {
  return {
    sslQuorum: 'true',
    sslQuorumReloadCertFiles: 'true',
    'ssl.quorum.keyStore.location': certs.serverPem,
    'ssl.quorum.trustStore.location': certs.caPem,
    'quorum.auth.enableSasl': 'true',
    'quorum.auth.learnerRequireSasl': 'true',
    'quorum.auth.serverRequireSasl': 'true',
    'java.security.auth.login.config': jaas,
  };
}

/** Starts a process in member m's place (its ports and id, a fresh data dir) with other settings. */
async function impostor(
  ens: Ensemble,
  m: Member,
  cfgDir: string,
  overrides: Record<string, string>,
): Promise<RunningServer & { log: () => string }> {
  const cfgText = readFileSync(join(cfgDir, `cfg${m.id}`, 'zoo.cfg'), 'utf8');
  const dir = tempDir('impostor');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'myid'), `${m.id}\n`);
  const entries = new Map(
    cfgText
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  entries.set('dataDir', dataDir);
  for (const [k, v] of Object.entries(overrides)) entries.set(k, v);
  writeFileSync(join(dir, 'zoo.cfg'), `${[...entries].map(([k, v]) => `${k}=${v}`).join('\n')}\n`);
  const proc = spawn(process.execPath, [arkBin, 'server', join(dir, 'zoo.cfg')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ARK_LOG_LEVEL: 'info', ARK_LOG_FORMAT: 'json' },
  });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const srv = wrapProcess(`impostor ${m.id}`, proc, '127.0.0.1', m.port, dataDir);
  await waitForPort('127.0.0.1', m.port, 20000, proc);
  void ens;
  return Object.assign(srv, { log: () => log });
}

test('sslQuorum + quorum SASL: elect, replicate, refuse impostors, fail over; nothing in clear on the wire', {
  timeout: 120000,
}, async (t) => {
  const skip = requireOrSkip(opensslMissing());
  if (skip) return t.skip(skip);
  const certs = makeCerts();
  const dir = tempDir('qsec');
  const jaas = jaasFile(dir, PEER_PASSWORD);
  const relay = new RecordingRelay();
  await relay.listen();
  const ens = await startEnsemble({ voters: 3, cfg: securityCfg(certs, jaas), memberCfg: relayedLines(relay) });
  // the ensemble's own config dirs: root/cfgN/zoo.cfg (helpers/ensemble.ts)
  const root = join(ens.members[0]!.dataDir, '..');
  try {
    const leader = await ens.leader(30000);
    await ens.serving(30000);
    for (const m of ens.members) assert.match(m.log, /"sslQuorum":true/, `member ${m.id} logs its quorum security`);

    // replicated through the relay, encrypted there
    const secret = `Secret-${Math.random().toString(36).slice(2)}-value`;
    await replicate(ens, secret);
    const captured = relay.bytes();
    assert.ok(captured.length > 1000, `the relay carried quorum traffic (${captured.length} bytes)`);
    assert.equal(captured.includes(Buffer.from(secret)), false, 'the value must not cross the quorum port in clear text');
    assert.equal(captured.includes(Buffer.from('ARKP')) || captured.includes(Buffer.from('ARKA')), false, 'not even the hello is in clear');
    assert.equal(captured[0], 0x16, 'the connection starts with a TLS handshake record');

    // sslQuorumReloadCertFiles: the key store rewritten (as a renewal would) is read again by every
    // member; the connections made after it (the impostor cases, the fail-over) use it
    writeFileSync(certs.serverPem, readFileSync(certs.serverPem));
    await waitUntil(
      () => ens.members.every((m) => /quorum certificates reloaded/.test(m.log)),
      'every member reloads its quorum certificates',
      10000,
    );

    // impostors in a follower's place: wrong password, then a certificate from a CA nobody trusts
    const victim = ens.members.find((m) => m !== leader && m.id !== 1) ?? ens.members.find((m) => m !== leader)!;
    const others = ens.members.filter((m) => m !== victim);
    await ens.kill(victim);
    const strangerPem = join(dir, 'stranger.pem');
    writeFileSync(strangerPem, readFileSync(certs.strangerKey, 'utf8') + readFileSync(certs.strangerCert, 'utf8'));
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [
        'wrong password',
        { 'java.security.auth.login.config': jaasFile(dir, 'not-the-password') },
        // the reason's detail is a field of the line (pino writes fields before msg)
        /(?=.*refused a quorum peer connection: quorum authentication failed)(?=.*wrong password for zkpeer)/,
      ],
      ['wrong certificate', { 'ssl.quorum.keyStore.location': strangerPem }, /refused a quorum peer connection.*TLS handshake failed/],
      ['no TLS', { sslQuorum: 'false' }, /refused a quorum peer connection.*plain \(non-TLS\) connection on a TLS quorum port/],
    ];
    for (const [what, overrides, line] of cases) {
      const before = others.map((m) => m.log.length);
      const imp = await impostor(ens, victim, root, overrides);
      try {
        // each live member refuses it, with a line naming the address and the reason
        await waitUntil(() => others.every((m, i) => line.test(m.log.slice(before[i]))), `${what}: refusals logged`, 20000);
        const refusal = others[0]!.log
          .slice(before[0])
          .split('\n')
          .find((l) => line.test(l))!;
        assert.match(refusal, /"remote":"127\.0\.0\.1:\d+"/, `${what}: the line names the peer's address`);
        // the ensemble keeps serving, the impostor never does (it never joins, votes, or gets data)
        await replicate(ens, `during-${what.replace(' ', '-')}-${Date.now()}`);
        assert.equal(await ens.mode({ ...victim, proc: imp } as Member), null, `${what}: the impostor never serves`);
        // a retrying impostor is not one line per retry
        const lines = others[0]!.log
          .slice(before[0])
          .split('\n')
          .filter((l) => line.test(l)).length;
        assert.ok(lines <= 3, `${what}: ${lines} refusal lines (rate-limited)`);
        t.diagnostic(`${what}: refused; ${lines} line(s) on member ${others[0]!.id}`);
      } finally {
        await imp.kill();
      }
    }
    await ens.start(victim);
    await ens.serving(30000);

    // fail over: kill -9 the leader, a new one is elected, writes continue
    const old = await ens.leader(30000);
    await ens.kill(old);
    const next = await ens.leader(30000);
    assert.notEqual(next.id, old.id);
    const c = await connect(`127.0.0.1:${ens.members.find((m) => m.proc && m !== next)!.port}`, { timeoutMs: 10000 });
    try {
      await c.create('/after-failover', Buffer.from('ok'));
      assert.equal((await c.getData('/after-failover')).data?.toString(), 'ok');
    } finally {
      await c.close();
    }
  } finally {
    await ens.stop();
    await relay.close();
  }
});

test('without sslQuorum the same capture shows the value (the capture can tell)', { timeout: 60000 }, async () => {
  const relay = new RecordingRelay();
  await relay.listen();
  const ens = await startEnsemble({ voters: 3, memberCfg: relayedLines(relay) });
  try {
    await ens.leader(30000);
    await ens.serving(30000);
    const secret = `Plain-${Math.random().toString(36).slice(2)}-value`;
    await replicate(ens, secret);
    await waitUntil(() => relay.bytes().includes(Buffer.from(secret)), 'the value seen in clear on the quorum port', 10000);
  } finally {
    await ens.stop();
    await relay.close();
  }
});
