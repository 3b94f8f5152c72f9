// The pure pieces of a secure client: DIGEST-MD5's client side against the server side (both on
// the shared helpers of src/util/digestmd5.ts), and zkCli's ways of naming client properties
// (-D flags of CLIENT_JVMFLAGS / JVMFLAGS, a -client-configuration file; ZKClientConfig's order).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DigestMd5Client } from '../../src/client/sasl.js';
import { DigestMd5Server } from '../../src/session/digestmd5.js';
import { clientProperties, jvmFlagProperties, secureClient } from '../../src/cli/clientconfig.js';
import { ConfigError } from '../../src/config/error.js';

const USERS = new Map([['app1', 'app1-password']]);

function exchange(password: string): { server: ReturnType<DigestMd5Server['step']>; client?: ReturnType<DigestMd5Client['step']> } {
  const server = new DigestMd5Server((u) => USERS.get(u), 'server-nonce-1');
  const client = new DigestMd5Client({ username: 'app1', password }, 'client-nonce-1');
  const challenge = server.step(client.initial());
  assert.equal(challenge.kind, 'challenge');
  const response = client.step(challenge.kind === 'challenge' ? challenge.token : Buffer.alloc(0));
  assert.equal(response.kind, 'send');
  const verdict = server.step(response.kind === 'send' ? response.token : Buffer.alloc(0));
  if (verdict.kind !== 'success') return { server: verdict };
  return { server: verdict, client: client.step(verdict.token) };
}

describe('SASL DIGEST-MD5 client', () => {
  test('the client and the server agree, and the client checks rspauth', () => {
    const ok = exchange('app1-password');
    assert.equal(ok.server.kind, 'success');
    assert.deepEqual(ok.client, { kind: 'done' });
  });

  test('a wrong password is refused by the server', () => {
    const bad = exchange('nope');
    assert.equal(bad.server.kind, 'failure');
  });

  test('a server that cannot prove the password (wrong rspauth) is refused', () => {
    const client = new DigestMd5Client({ username: 'app1', password: 'app1-password' }, 'c');
    client.step(Buffer.from('realm="zk-sasl-md5",nonce="n",qop="auth",charset=utf-8,algorithm=md5-sess'));
    const r = client.step(Buffer.from('rspauth=00000000000000000000000000000000'));
    assert.equal(r.kind, 'failure');
  });

  test('a challenge without qop auth is refused', () => {
    const client = new DigestMd5Client({ username: 'app1', password: 'x' }, 'c');
    const r = client.step(Buffer.from('realm="zk-sasl-md5",nonce="n",qop="auth-conf",algorithm=md5-sess'));
    assert.equal(r.kind, 'failure');
  });
});

describe('zkCli client properties', () => {
  test('-D flags: quoted values, -Dname without a value, the last one wins', () => {
    const p = jvmFlagProperties(`-Xmx1g -Da=1 -Db="x y" -Dc -Da=2 -Djava.security.auth.login.config==/etc/j.conf`);
    assert.equal(p.get('a'), '2');
    assert.equal(p.get('b'), 'x y');
    assert.equal(p.get('c'), '');
    assert.equal(p.get('java.security.auth.login.config'), '=/etc/j.conf');
  });

  test('JVMFLAGS after CLIENT_JVMFLAGS, and the -client-configuration file over both', () => {
    const env = { CLIENT_JVMFLAGS: '-Dx=client -Dy=client -Dz=client', JVMFLAGS: '-Dy=jvm -Dz=jvm' };
    const p = clientProperties(env, '/f.properties', () => 'z = file\n');
    assert.deepEqual([p.get('x'), p.get('y'), p.get('z')], ['client', 'jvm', 'file']);
  });

  test('nothing set: plain TCP, no SASL; zookeeper.sasl.client=false turns a JAAS file off', () => {
    assert.deepEqual(secureClient(new Map()), { tls: undefined, sasl: undefined, warnings: [] });
    const off = secureClient(
      new Map([
        ['java.security.auth.login.config', '/never/read'],
        ['zookeeper.sasl.client', 'false'],
      ]),
    );
    assert.equal(off.sasl, undefined);
  });

  test('the JAAS client section: Client by default, zookeeper.sasl.clientconfig names another', () => {
    const jaas =
      'Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="a" password="p"; };\n' +
      'Other { org.apache.zookeeper.server.auth.DigestLoginModule required username="b" password="q"; };';
    const read = (): string => jaas;
    assert.deepEqual(secureClient(new Map([['java.security.auth.login.config', '/j']]), read).sasl, {
      mechanism: 'DIGEST-MD5',
      username: 'a',
      password: 'p',
    });
    const other = secureClient(
      new Map([
        ['java.security.auth.login.config', '/j'],
        ['zookeeper.sasl.clientconfig', 'Other'],
      ]),
      read,
    );
    assert.equal(other.sasl?.username, 'b');
    const krb = (): string => 'Client { com.sun.security.auth.module.Krb5LoginModule required useTicketCache=true; };';
    assert.throws(
      () => secureClient(new Map([['java.security.auth.login.config', '/j']]), krb),
      (e) => e instanceof ConfigError && /Kerberos/.test(e.message),
    );
  });

  test('ssl keys without zookeeper.client.secure=true: a warning, no TLS', () => {
    const r = secureClient(new Map([['zookeeper.ssl.trustStore.location', '/ca.pem']]));
    assert.equal(r.tls, undefined);
    assert.match(r.warnings[0] ?? '', /zookeeper\.client\.secure is not true/);
  });

  test('bad values name the key', () => {
    const bad: Array<[Array<[string, string]>, RegExp]> = [
      [[['zookeeper.client.secure', 'yes']], /zookeeper\.client\.secure/],
      [[['zookeeper.sasl.client', 'nah']], /zookeeper\.sasl\.client/],
      [
        [
          ['zookeeper.client.secure', 'true'],
          ['zookeeper.ssl.hostnameVerification', 'maybe'],
        ],
        /zookeeper\.ssl\.hostnameVerification/,
      ],
      [
        [
          ['zookeeper.client.secure', 'true'],
          ['zookeeper.ssl.trustStore.location', '/ca.jks'],
        ],
        /JKS/,
      ],
      [[['zookeeper.sasl.clientconfig', 'Client']], /no java\.security\.auth\.login\.config/],
    ];
    for (const [entries, re] of bad)
      assert.throws(
        () => secureClient(new Map(entries)),
        (e) => e instanceof ConfigError && re.test(e.message),
      );
  });
});
