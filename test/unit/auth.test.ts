// SASL and x509 authentication, piece by piece: the JAAS file parser, the DIGEST-MD5 server
// (RFC 2831's own example as a known answer), certificate subjects as Java prints them (the
// expected strings are what `X509Certificate.getSubjectX500Principal().getName()` printed for the
// fixture certificates, made with openssl), the zoo.cfg keys, the JAAS file at start-up, and the
// core's handling of the sasl opcode, x509 ids and enforced authentication.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JaasError, loginConfigFromJvmFlags, parseJaas } from '../../src/config/jaas.js';
import { DigestMd5Server, digestResponse, parseDirectives, SASL_DIGEST_URI } from '../../src/session/digestmd5.js';
import { certificateSubject, escapeValue } from '../../src/net/x500.js';
import { parseZooCfg } from '../../src/config/zoocfg.js';
import { ConfigError } from '../../src/config/error.js';
import { coreAuth, saslUsersOf } from '../../src/runtime/authfiles.js';
import { ServerCore, type CoreAuth, type CoreOptions, type Output } from '../../src/server/core.js';
import { JuteReader } from '../../src/wire/jute.js';
import { CreateFlag, OpCode, Perms, type ACL, type Request } from '../../src/wire/protocol.js';
import { ErrorCode } from '../../src/util/errors.js';
import { fixupACL } from '../../src/tree/acl.js';
import { repoRoot } from '../helpers/servers.js';

describe('JAAS files', () => {
  test('sections, entries, options; comments and quoting', () => {
    const cfg = parseJaas(`
      // the server's users
      Server {
        org.apache.zookeeper.server.auth.DigestLoginModule required
          user_super="super secret; with = signs"   /* quoted: anything */
          user_bob=plainword
          user_eve="a \\"quoted\\" word";
      };
      /* a second section, two entries */
      Client {
        com.example.First optional debug=true;
        org.apache.zookeeper.server.auth.DigestLoginModule REQUIRED username="bob" password="pw";
      };
      Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_late="x"; };
    `);
    assert.deepEqual([...cfg.keys()], ['Server', 'Client']);
    const server = cfg.get('Server')!;
    assert.equal(server.length, 2, 'a section named twice adds up');
    assert.equal(server[0]!.module, 'org.apache.zookeeper.server.auth.DigestLoginModule');
    assert.equal(server[0]!.flag, 'required');
    assert.deepEqual(
      [...server[0]!.options],
      [
        ['user_super', 'super secret; with = signs'],
        ['user_bob', 'plainword'],
        ['user_eve', 'a "quoted" word'],
      ],
    );
    const client = cfg.get('Client')!;
    assert.deepEqual(
      client.map((e) => [e.module, e.flag, Object.fromEntries(e.options)]),
      [
        ['com.example.First', 'optional', { debug: 'true' }],
        ['org.apache.zookeeper.server.auth.DigestLoginModule', 'required', { username: 'bob', password: 'pw' }],
      ],
    );
    assert.equal(parseJaas('').size, 0);
    assert.equal(parseJaas('// nothing\n/* at all */').size, 0);
  });

  test('malformed files say what and where', () => {
    const bad: Array<[string, RegExp]> = [
      ['Server { org.x.Module required user_a="x" };', /line 1: expected an option name, found '}'/],
      ['Server {\n org.x.Module maybe;\n};', /line 2: 'maybe' is not a control flag/],
      ['Server {\n org.x.Module required user_a="x;\n};', /line 2: quoted string not closed/],
      ['Server {\n org.x.Module required user_a=;\n};', /line 2: option user_a has no value/],
      ['Server { org.x.Module required; }', /end of file: expected ';'/],
      ['/* open', /comment not closed/],
      ['{ org.x.Module required; };', /expected a section name, found '\{'/],
    ];
    for (const [text, re] of bad)
      assert.throws(
        () => parseJaas(text),
        (e: unknown) => e instanceof JaasError && re.test(e.message),
        text,
      );
  });

  test('a malformed file never echoes a value: passwords stay out of the start-up error', () => {
    const secret = 'S3cretPw';
    const bad: Array<[string, RegExp]> = [
      [`Server { org.x.Module required user_a="${secret}" "${secret}" };`, /expected an option name, found a quoted string/],
      [`Server { org.x.Module required user_a "${secret}"; };`, /expected '=', found a quoted string/],
      [`Server { org.x.Module required user_a ${secret}; };`, /expected '=', found a word/],
      [`Server { "${secret}" required; };`, /expected a login module class name, found a quoted string/],
      [`Server ${secret} { org.x.Module required; };`, /expected '\{', found a word/],
      [`Server { org.x.Module required password="${secret}" } ;`, /expected an option name, found '\}'/],
    ];
    for (const [text, re] of bad)
      assert.throws(
        () => parseJaas(text),
        (e: unknown) => e instanceof JaasError && re.test(e.message) && !e.message.includes(secret),
        text,
      );
  });

  test('the file from JVM flags, as zkServer.sh passes them', () => {
    assert.equal(loginConfigFromJvmFlags(undefined), undefined);
    assert.equal(loginConfigFromJvmFlags('-Xmx1g -Dfoo=bar'), undefined);
    assert.equal(loginConfigFromJvmFlags('-Xmx1g -Djava.security.auth.login.config=/etc/zk/jaas.conf -Dx=y'), '/etc/zk/jaas.conf');
    assert.equal(
      loginConfigFromJvmFlags('-Djava.security.auth.login.config=/a -Djava.security.auth.login.config==/b'),
      '/b',
      'the last wins',
    );
    assert.equal(loginConfigFromJvmFlags('-Djava.security.auth.login.config="/with space/j.conf"'), '/with space/j.conf');
  });
});

describe('DIGEST-MD5 (RFC 2831)', () => {
  test("RFC 2831 section 4's example: the client's response and the server's rspauth", () => {
    const p = {
      username: 'chris',
      realm: 'elwood.innosoft.com',
      password: 'secret',
      nonce: 'OA6MG9tEQGm2hh',
      cnonce: 'OA6MHXh6VqTrRk',
      nc: '00000001',
      qop: 'auth',
      digestUri: 'imap/elwood.innosoft.com',
    };
    assert.equal(digestResponse(p, 'AUTHENTICATE'), 'd388dad90d4bbd760a152321f2143af7');
    assert.equal(digestResponse(p, ''), 'ea40f60335c427b5527b84dbabcdfffd');
  });

  test('directives: quoted, unquoted, escapes, spaces; duplicates refused', () => {
    const d = parseDirectives('realm="zk-sasl-md5", nonce="a\\"b,c",qop=auth , nc=00000001,  maxbuf=65536');
    assert.deepEqual(Object.fromEntries(d), { realm: 'zk-sasl-md5', nonce: 'a"b,c', qop: 'auth', nc: '00000001', maxbuf: '65536' });
    assert.throws(() => parseDirectives('a=1,a=2'), /given twice/);
    assert.throws(() => parseDirectives('a="x'), /unterminated/);
    assert.throws(() => parseDirectives('novalue'), /without '='/);
  });

  const users = new Map([
    ['app1', 'app1-password'],
    ['jürgen', 'pässword'],
  ]);
  /** The client side as kazoo's pure-sasl and Java's DigestMD5Client answer the challenge. */
  function answer(challenge: Buffer, user: string, password: string, over: Record<string, string> = {}): Buffer {
    const c = parseDirectives(challenge.toString('utf8'));
    const p = {
      username: user,
      realm: c.get('realm')!,
      password,
      nonce: c.get('nonce')!,
      cnonce: 'client-nonce',
      nc: '00000001',
      qop: 'auth',
      digestUri: SASL_DIGEST_URI,
      ...over,
    };
    const fields: Record<string, string> = {
      charset: 'utf-8',
      username: `"${user}"`,
      realm: `"${p.realm}"`,
      nonce: `"${p.nonce}"`,
      nc: p.nc,
      cnonce: `"${p.cnonce}"`,
      'digest-uri': `"${p.digestUri}"`,
      maxbuf: '65536',
      response: digestResponse(p, 'AUTHENTICATE'),
      qop: p.qop,
    };
    return Buffer.from(
      Object.entries(fields)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      'utf8',
    );
  }

  test('a good password: challenge, then rspauth and the authorization id', () => {
    for (const [user, password] of users) {
      const s = new DigestMd5Server((u) => users.get(u), 'server-nonce');
      const first = s.step(Buffer.alloc(0));
      assert.equal(first.kind, 'challenge');
      if (first.kind !== 'challenge') return;
      assert.equal(first.token.toString(), 'realm="zk-sasl-md5",nonce="server-nonce",qop="auth",charset=utf-8,algorithm=md5-sess');
      const done = s.step(answer(first.token, user, password));
      assert.equal(done.kind, 'success', JSON.stringify(done));
      if (done.kind !== 'success') return;
      assert.equal(done.authorizationId, user);
      const expected = digestResponse(
        {
          username: user,
          realm: 'zk-sasl-md5',
          password,
          nonce: 'server-nonce',
          cnonce: 'client-nonce',
          nc: '00000001',
          qop: 'auth',
          digestUri: SASL_DIGEST_URI,
        },
        '',
      );
      assert.equal(done.token.toString(), `rspauth=${expected}`);
      assert.equal(s.complete, true);
      assert.equal(s.step(Buffer.alloc(0)).kind, 'failure', 'nothing after the end');
    }
  });

  test('refusals: wrong password, unknown user, replayed nonce, other uri, nc, qop, garbage', () => {
    const cases: Array<[string, (ch: Buffer) => Buffer, RegExp]> = [
      ['wrong password', (ch) => answer(ch, 'app1', 'nope'), /wrong password for app1/],
      ['unknown user', (ch) => answer(ch, 'mallory', 'x'), /no user mallory/],
      ['other nonce', (ch) => answer(ch, 'app1', 'app1-password', { nonce: 'old-nonce' }), /nonce does not match/],
      ['other uri', (ch) => answer(ch, 'app1', 'app1-password', { digestUri: 'zookeeper/elsewhere' }), /digest-uri/],
      ['nc 2', (ch) => answer(ch, 'app1', 'app1-password', { nc: '00000002' }), /nonce-count/],
      ['auth-int', (ch) => answer(ch, 'app1', 'app1-password', { qop: 'auth-int' }), /qop auth-int/],
      ['garbage', () => Buffer.from('this is not a digest response'), /malformed/],
      ['no response', () => Buffer.from('username="app1",nonce="server-nonce"'), /malformed.*missing/],
    ];
    for (const [name, make, re] of cases) {
      const s = new DigestMd5Server((u) => users.get(u), 'server-nonce');
      const ch = s.step(Buffer.alloc(0));
      assert.equal(ch.kind, 'challenge');
      if (ch.kind !== 'challenge') return;
      const r = s.step(make(ch.token));
      assert.equal(r.kind, 'failure', name);
      if (r.kind === 'failure') assert.match(r.reason, re, name);
    }
  });
});

describe('certificate subjects as Java prints them (RFC 2253)', () => {
  const der = (name: string): Buffer => {
    const pem = readFileSync(join(repoRoot, 'test', 'fixtures', 'x500', name), 'utf8');
    return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  };
  test('RDNs last to first, multi-valued RDNs, OIDs without a keyword as hex, UTF-8', () => {
    assert.equal(
      certificateSubject(der('many-rdns.pem')),
      'UID=u1,1.2.840.113549.1.9.1=#160f6f7073406578616d706c652e6f7267,OU=a,O=Foo\\, Inc.,L=Bern+2.5.4.17=#0c0433303030,ST=Zürich,C=US,DC=example,DC=org',
    );
  });
  test('escapes', () => {
    assert.equal(certificateSubject(der('escapes.pem')), 'CN=trail\\ ,OU=\\#lead,O=x\\+y\\;c\\<d\\>\\"q\\"\\\\z');
    assert.equal(escapeValue(' lead'), '\\ lead');
    assert.equal(escapeValue('plain'), 'plain');
  });
  test('not a certificate: an error, not a crash', () => {
    assert.throws(() => certificateSubject(Buffer.from([0x30, 0x05, 0x01])), /truncated/);
    assert.throws(() => certificateSubject(Buffer.from([0x30, 0x00])), /not a certificate/);
  });
});

describe('zoo.cfg: authentication keys', () => {
  const cfg = (text: string): ReturnType<typeof parseZooCfg> => parseZooCfg(`dataDir=/d\nclientPort=2181\n${text}`);
  const configError = (text: string, key: string, re: RegExp): void => {
    assert.throws(
      () => cfg(text),
      (e: unknown) => e instanceof ConfigError && e.key === key && re.test(e.message),
      text,
    );
  };

  test('providers, superusers, the JAAS path, enforcement; no warnings for any of them', () => {
    const { config, warnings } = cfg(
      [
        'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
        'authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider',
        'authProvider.2=org.apache.zookeeper.server.auth.DigestAuthenticationProvider',
        'superUser=admin',
        'zookeeper.X509AuthenticationProvider.superUser=CN=admin,O=Example',
        'java.security.auth.login.config=/etc/zk/jaas.conf',
        'enforce.auth.enabled=true',
        'enforce.auth.schemes=sasl, x509,',
        'ssl.authProvider=x509',
        'zookeeper.sasl.serverconfig=ZkServer',
      ].join('\n'),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.auth, {
      saslProvider: true,
      x509Provider: true,
      saslSuperUser: 'admin',
      x509SuperUser: 'CN=admin,O=Example',
      loginConfigKey: '/etc/zk/jaas.conf',
      saslServerSection: 'ZkServer',
      enforceSchemes: ['sasl', 'x509'],
    });
  });

  test('sessionRequireClientSASLAuth means enforce.auth with sasl; a TLS port registers x509', () => {
    const a = cfg('authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\nsessionRequireClientSASLAuth=true').config
      .auth;
    assert.deepEqual(a.enforceSchemes, ['sasl']);
    assert.equal(a.x509Provider, false);
    const tls = cfg('secureClientPort=2281\nssl.keyStore.location=/k.pem').config.auth;
    assert.equal(tls.x509Provider, true);
    assert.equal(cfg('enforce.auth.enabled=false\nenforce.auth.schemes=sasl').config.auth.enforceSchemes, null);
  });

  test('what ZooKeeper would refuse (or could not load) stops start-up naming the key', () => {
    configError('authProvider.1=com.example.LdapProvider', 'authProvider.1', /no such authentication provider/);
    configError('enforce.auth.enabled=true', 'enforce.auth.schemes', /must name the schemes/);
    configError('enforce.auth.enabled=true\nenforce.auth.schemes=sasl', 'enforce.auth.schemes', /scheme sasl is not available/);
    configError('sessionRequireClientSASLAuth=true', 'sessionRequireClientSASLAuth', /scheme sasl is not available/);
    configError('ssl.authProvider=ldap', 'ssl.authProvider', /x509 only/);
  });
});

describe('the JAAS file at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ark-jaas-unit-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const base = parseZooCfg(
    'dataDir=/d\nclientPort=2181\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
  ).config;

  test('users of the Server section, from SERVER_JVMFLAGS, JVMFLAGS or zoo.cfg (zoo.cfg first)', () => {
    const a = file('a.conf', 'Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_a="1" user_b="2"; };');
    const b = file('b.conf', 'Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_z="9"; };');
    assert.deepEqual(
      [...coreAuth(base, { SERVER_JVMFLAGS: `-Djava.security.auth.login.config=${a}` }).saslUsers!],
      [
        ['a', '1'],
        ['b', '2'],
      ],
    );
    assert.deepEqual([...coreAuth(base, { JVMFLAGS: `-Djava.security.auth.login.config=${b}` }).saslUsers!], [['z', '9']]);
    const fromCfg = { ...base, auth: { ...base.auth, loginConfigKey: b } };
    assert.deepEqual([...coreAuth(fromCfg, { SERVER_JVMFLAGS: `-Djava.security.auth.login.config=${a}` }).saslUsers!], [['z', '9']]);
    assert.equal(coreAuth(base, {}).saslUsers, null, 'no file: no SASL');
    const clientOnly = file('c.conf', 'Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="a" password="1"; };');
    assert.equal(coreAuth(base, { JVMFLAGS: `-Djava.security.auth.login.config=${clientOnly}` }).saslUsers, null);
    assert.deepEqual([...coreAuth(base, {}).aclSchemes], ['sasl']);
    // sasl.serverconfig names another section
    const two = file(
      'two.conf',
      `${readFileSync(a, 'utf8')}\nZkServer { org.apache.zookeeper.server.auth.DigestLoginModule required user_q="7"; };`,
    );
    const other = { ...base, auth: { ...base.auth, saslServerSection: 'ZkServer' } };
    assert.deepEqual([...coreAuth(other, { JVMFLAGS: `-Djava.security.auth.login.config=${two}` }).saslUsers!], [['q', '7']]);
  });

  test('a missing or malformed file, or Kerberos, stops start-up with one line', () => {
    const krb = file(
      'k.conf',
      'Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/k" principal="zookeeper/h@R"; };',
    );
    const broken = file('x.conf', 'Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_a="1" };');
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'absent.conf'), /cannot read the JAAS file/],
      [krb, /Kerberos \(GSSAPI\) is not supported by Ark/],
      [broken, /line 1: expected an option name/],
    ];
    for (const [path, re] of cases) {
      assert.throws(
        () => coreAuth(base, { SERVER_JVMFLAGS: `-Djava.security.auth.login.config=${path}` }),
        (e: unknown) => e instanceof ConfigError && re.test(e.message) && e.message.includes(path),
        path,
      );
    }
    assert.throws(() => saslUsersOf([{ module: 'com.example.Other', flag: 'required', options: new Map() }], 'here'), /not supported/);
  });
});

describe('the core: the sasl opcode, x509 ids, enforced authentication', () => {
  const USERS = new Map([['app1', 'pw1']]);
  const AUTH: CoreAuth = {
    saslUsers: USERS,
    saslNonce: () => 'fixed-nonce',
    saslSuperUser: 'root',
    x509SuperUser: 'CN=admin',
    aclSchemes: new Set(['sasl', 'x509']),
    enforceSchemes: null,
  };
  const options = (auth: Partial<CoreAuth> = {}): CoreOptions => ({
    tickTimeMs: 2000,
    minSessionTimeoutMs: 4000,
    maxSessionTimeoutMs: 40000,
    serverId: 1,
    extendedTypesEnabled: false,
    enforceQuota: false,
    superDigest: undefined,
    containerCheckIntervalMs: 60000,
    sessionPassword: () => Buffer.alloc(16),
    auth: { ...AUTH, ...auth, saslUsers: auth.saslUsers === undefined ? USERS : auth.saslUsers },
  });
  const replies = (outs: Output[]): Array<{ xid: number; err: number; body: JuteReader }> =>
    outs.flatMap((o) => {
      if (o.kind !== 'send') return [];
      const r = new JuteReader(o.data, 4);
      return [{ xid: r.int(), zxid: r.long(), err: r.int(), body: r }];
    });
  function session(core: ServerCore, id: number, certSubject?: string): void {
    core.openConnection(id, '127.0.0.1', 40000 + id, 0, certSubject);
    core.connect(id, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 30000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }, 0);
    core.committed(core.takeTxns(), 0);
    core.takeOutputs();
  }
  const sasl = (token: Buffer | string): Request => ({ type: OpCode.sasl, req: { token: Buffer.from(token) } });
  const whoAmI: Request = { type: OpCode.whoAmI, req: null };
  function ids(core: ServerCore, id: number): string[] {
    core.request(id, 99, whoAmI, 0);
    const [r] = replies(core.takeOutputs());
    const out: string[] = [];
    for (let n = r!.body.int(); n > 0; n--) out.push(`${r!.body.string()}:${r!.body.string()}`);
    return out;
  }
  /** the client side of one DIGEST-MD5 exchange over the core */
  function authenticate(core: ServerCore, id: number, user: string, password: string): { err: number; closed: boolean } {
    core.request(id, 1, sasl(''), 0);
    const [challenge] = replies(core.takeOutputs());
    assert.equal(challenge!.err, 0);
    const token = Buffer.from(challenge!.body.buffer()!);
    const c = parseDirectives(token.toString());
    const p = {
      username: user,
      realm: c.get('realm')!,
      password,
      nonce: c.get('nonce')!,
      cnonce: 'cn',
      nc: '00000001',
      qop: 'auth',
      digestUri: SASL_DIGEST_URI,
    };
    const response = `username="${user}",realm="${p.realm}",nonce="${p.nonce}",cnonce="cn",nc=00000001,qop=auth,digest-uri="${SASL_DIGEST_URI}",response=${digestResponse(p, 'AUTHENTICATE')}`;
    core.request(id, 2, sasl(response), 0);
    const outs = core.takeOutputs();
    const [last] = replies(outs);
    assert.equal(last!.xid, 2);
    return { err: last!.err, closed: outs.some((o) => o.kind === 'close') };
  }

  test('a DIGEST-MD5 exchange gives sasl:NAME; the superUser gets super too; a wrong password is AuthFailed and closes', () => {
    const core = new ServerCore(options({ saslUsers: new Map([...USERS, ['root', 'r']]) }), 0);
    session(core, 1);
    assert.deepEqual(authenticate(core, 1, 'app1', 'pw1'), { err: 0, closed: false });
    assert.deepEqual(ids(core, 1), ['ip:127.0.0.1', 'sasl:app1']);
    session(core, 2);
    assert.deepEqual(authenticate(core, 2, 'root', 'r'), { err: 0, closed: false });
    assert.deepEqual(ids(core, 2), ['ip:127.0.0.1', 'sasl:root', 'super:']);
    session(core, 3);
    assert.deepEqual(authenticate(core, 3, 'app1', 'wrong'), { err: ErrorCode.AuthFailed, closed: true });
  });

  test('sasl ACLs: the owner reads, another session is NoAuth', () => {
    const core = new ServerCore(options(), 0);
    session(core, 1);
    authenticate(core, 1, 'app1', 'pw1');
    const acl: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'sasl', id: 'app1' } }];
    core.request(1, 5, { type: OpCode.create, req: { path: '/s', data: Buffer.from('x'), acl, flags: CreateFlag.PERSISTENT, ttl: -1 } }, 0);
    core.committed(core.takeTxns(), 0);
    assert.equal(replies(core.takeOutputs())[0]!.err, 0);
    session(core, 2);
    core.request(2, 6, { type: OpCode.getData, req: { path: '/s', watch: false } }, 0);
    assert.equal(replies(core.takeOutputs())[0]!.err, ErrorCode.NoAuth);
    core.request(1, 7, { type: OpCode.getData, req: { path: '/s', watch: false } }, 0);
    assert.equal(replies(core.takeOutputs())[0]!.err, 0);
  });

  test('x509: the certificate subject is the id; its superUser is super', () => {
    const core = new ServerCore(options(), 0);
    session(core, 1, 'CN=app,O=Example');
    assert.deepEqual(ids(core, 1), ['ip:127.0.0.1', 'x509:CN=app,O=Example']);
    session(core, 2, 'CN=admin');
    assert.deepEqual(ids(core, 2), ['ip:127.0.0.1', 'x509:CN=admin', 'super:CN=admin']);
    // an x509 auth packet: ok with a certificate, AuthFailed (and closed) without one
    const x509Auth: Request = { type: OpCode.auth, req: { type: 0, scheme: 'x509', auth: Buffer.alloc(0) } };
    core.request(1, 4, x509Auth, 0);
    assert.equal(replies(core.takeOutputs())[0]!.err, 0);
    session(core, 3);
    core.request(3, 4, x509Auth, 0);
    const outs = core.takeOutputs();
    assert.equal(replies(outs)[0]!.err, ErrorCode.AuthFailed);
    assert.ok(outs.some((o) => o.kind === 'close'));
    const noX509 = new ServerCore(options({ aclSchemes: new Set(['sasl']) }), 0);
    session(noX509, 1, 'CN=app,O=Example');
    assert.deepEqual(ids(noX509, 1), ['ip:127.0.0.1']);
  });

  test('enforce.auth: anything but auth and sasl from an unauthenticated connection is refused and the connection closed', () => {
    const core = new ServerCore(options({ enforceSchemes: new Set(['sasl']) }), 0);
    session(core, 1);
    core.request(1, 3, { type: OpCode.getData, req: { path: '/', watch: false } }, 0);
    const outs = core.takeOutputs();
    assert.equal(replies(outs)[0]!.err, ErrorCode.SessionClosedRequireSaslAuth);
    assert.ok(outs.some((o) => o.kind === 'close'));
    session(core, 2);
    authenticate(core, 2, 'app1', 'pw1');
    core.request(2, 3, { type: OpCode.getData, req: { path: '/', watch: false } }, 0);
    assert.equal(replies(core.takeOutputs())[0]!.err, 0);
    // a failed exchange when SASL is required answers SessionClosedRequireSaslAuth
    session(core, 3);
    assert.deepEqual(authenticate(core, 3, 'app1', 'bad'), { err: ErrorCode.SessionClosedRequireSaslAuth, closed: true });
  });

  test('no JAAS Server section: a sasl request closes the connection', () => {
    const core = new ServerCore(options({ saslUsers: null }), 0);
    session(core, 1);
    core.request(1, 1, sasl(''), 0);
    const outs = core.takeOutputs();
    assert.deepEqual(
      outs.map((o) => o.kind),
      ['close'],
    );
  });

  test('ACL schemes: sasl and x509 only when registered', () => {
    const acl = (scheme: string): ACL[] => [{ perms: Perms.ALL, id: { scheme, id: 'someone' } }];
    assert.throws(() => fixupACL('/p', [], acl('sasl')), /InvalidACL|-114/);
    assert.throws(() => fixupACL('/p', [], acl('x509'), new Set(['sasl'])), /InvalidACL|-114/);
    assert.deepEqual(fixupACL('/p', [], acl('x509'), new Set(['x509'])), acl('x509'));
    // `auth` takes the caller's sasl and x509 ids
    const mine = fixupACL(
      '/p',
      [
        { scheme: 'ip', id: '1.2.3.4' },
        { scheme: 'sasl', id: 'app1' },
      ],
      [{ perms: Perms.READ, id: { scheme: 'auth', id: '' } }],
    );
    assert.deepEqual(mine, [{ perms: Perms.READ, id: { scheme: 'sasl', id: 'app1' } }]);
  });
});
