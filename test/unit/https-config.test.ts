// The AdminServer's and the Prometheus endpoint's HTTPS keys as config/https.ts reads them:
// JettyAdminServer's admin.forceHttps / admin.portUnification / admin.needClientAuth with the
// ssl.quorum.* stores, PrometheusMetricsProvider's httpsPort with its own ssl.* settings. The
// files themselves are read at start-up (the e2e test admin-https.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/error.js';
import { classifyKey } from '../../src/config/keys.js';
import { parseZooCfg } from '../../src/config/zoocfg.js';

const cfg = (...lines: string[]) => parseZooCfg(['dataDir=/d', ...lines].join('\n'));
const STORES = ['ssl.quorum.keyStore.location=/k/server.pem', 'ssl.quorum.trustStore.location=/k/ca.pem'];
const PROMETHEUS = 'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

function throwsFor(key: string, fragment: RegExp, ...lines: string[]): void {
  assert.throws(
    () => cfg(...lines),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.key, key);
      assert.match(e.message, fragment);
      return true;
    },
  );
}

describe('AdminServer HTTPS keys', () => {
  test('HTTP unless admin.forceHttps or admin.portUnification; forceHttps wins', () => {
    assert.equal(cfg(...STORES).config.adminSecurity, 'plain');
    assert.equal(cfg(...STORES).config.adminTls, null);
    assert.equal(cfg('admin.portUnification=true', ...STORES).config.adminSecurity, 'unified');
    assert.equal(cfg('admin.forceHttps=TRUE', ...STORES).config.adminSecurity, 'tls');
    assert.equal(cfg('admin.forceHttps=true', 'admin.portUnification=true', ...STORES).config.adminSecurity, 'tls');
    // the zookeeper.-prefixed spelling is the same key
    assert.equal(cfg('zookeeper.admin.forceHttps=true', ...STORES).config.adminSecurity, 'tls');
  });

  test('an ssl.quorum.* key is warned about once, and only when neither the AdminServer nor the quorum port uses it', () => {
    const unused = (w: string[]): string[] => w.filter((x) => x.startsWith('ssl.quorum.'));
    const hostCheck = 'ssl.quorum.hostnameVerification=false';
    // HTTP AdminServer, standalone: nobody reads them
    const plain = unused(cfg(...STORES, hostCheck).warnings);
    assert.equal(plain.length, 3, plain.join('\n'));
    assert.match(
      plain[0]!,
      /^ssl\.quorum\.keyStore\.location: not used: the quorum port is not on TLS .* and the AdminServer speaks HTTP only/,
    );
    assert.match(plain[2]!, /^ssl\.quorum\.hostnameVerification: not used: the quorum port is not on TLS \(sslQuorum, portUnification\)$/);
    // HTTPS AdminServer: its stores are used; the quorum-only key is not
    assert.deepEqual(unused(cfg('admin.forceHttps=true', ...STORES, hostCheck).warnings), [
      'ssl.quorum.hostnameVerification: not used: the quorum port is not on TLS (sslQuorum, portUnification)',
    ]);
    // an ensemble with sslQuorum: every key is the quorum port's, the AdminServer on HTTP or not
    const ensemble = ['server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.2:2888:3888', 'sslQuorum=true'];
    const quorum = parseZooCfg(['dataDir=/d', ...ensemble, ...STORES, hostCheck].join('\n'), { myid: 1 });
    assert.deepEqual(unused(quorum.warnings), []);
  });

  test('the ssl.quorum.* stores, passwordPath, protocols, ciphers and admin.needClientAuth', () => {
    const { config, warnings } = cfg(
      'admin.forceHttps=true',
      'admin.needClientAuth=true',
      'ssl.quorum.keyStore.location=/k/server.p12',
      'ssl.quorum.keyStore.passwordPath=/k/pass',
      'ssl.quorum.trustStore.location=/k/ca.pem',
      'ssl.quorum.enabledProtocols=TLSv1.3',
      'ssl.quorum.ciphersuites=TLS_AES_128_GCM_SHA256',
    );
    assert.deepEqual(warnings, []);
    const tls = config.adminTls!;
    assert.equal(tls.keyStore.type, 'PKCS12');
    assert.equal(tls.keyStore.passwordPath, '/k/pass');
    assert.equal(tls.keyStore.passwordKey, 'ssl.quorum.keyStore.passwordPath');
    assert.equal(tls.trustStore?.type, 'PEM');
    assert.equal(tls.clientAuth, 'need');
    assert.equal(tls.minVersion, 'TLSv1.3');
    assert.equal(tls.maxVersion, 'TLSv1.3');
    assert.equal(tls.ciphers, 'TLS_AES_128_GCM_SHA256');
    assert.equal(cfg('admin.portUnification=true', ...STORES).config.adminTls?.clientAuth, 'none');
  });

  test('a bad or missing value stops start-up naming the key', () => {
    throwsFor('admin.forceHttps', /'yes'/, 'admin.forceHttps=yes', ...STORES);
    throwsFor('admin.needClientAuth', /'1'/, 'admin.needClientAuth=1');
    throwsFor('ssl.quorum.keyStore.location', /must name the server's certificate/, 'admin.forceHttps=true');
    // Jetty loads the trust store whenever HTTPS is on (JettyAdminServer), so it is required as there
    throwsFor('ssl.quorum.trustStore.location', /must name the CA/, 'admin.portUnification=true', 'ssl.quorum.keyStore.location=/k/s.pem');
    throwsFor('ssl.quorum.enabledProtocols', /TLSv1\.1/, 'admin.forceHttps=true', ...STORES, 'ssl.quorum.enabledProtocols=TLSv1.1');
    throwsFor('ssl.quorum.keyStore.location', /JKS.*keytool/, 'admin.forceHttps=true', 'ssl.quorum.keyStore.location=/k/s.jks');
  });

  test('HTTP only, or the AdminServer off: the keys are left with a warning, never read', () => {
    const { config, warnings } = cfg('admin.needClientAuth=true', 'ssl.quorum.keyStore.location=/k/s.jks');
    assert.equal(config.adminTls, null);
    assert.equal(warnings.length, 2);
    assert.ok(warnings.every((w) => /HTTP only/.test(w)));
    const off = cfg('admin.enableServer=false', 'admin.forceHttps=true');
    assert.equal(off.config.adminSecurity, 'plain');
    assert.deepEqual(off.warnings, ['admin.forceHttps: the AdminServer is off']);
  });

  test('the keys are honoured, not "accepted and ignored"', () => {
    for (const k of [
      'admin.forceHttps',
      'admin.portUnification',
      'admin.needClientAuth',
      'ssl.quorum.keyStore.location',
      'metricsProvider.httpsPort',
    ])
      assert.equal(classifyKey(k), 'honoured', k);
  });
});

describe('Prometheus httpsPort keys', () => {
  const KEYSTORE = 'metricsProvider.ssl.keyStore.location=/k/server.pem';
  const TRUST = 'metricsProvider.ssl.trustStore.location=/k/ca.pem';

  test('httpsPort alone: HTTPS only; equal to httpPort: one port; -1 is unset', () => {
    const only = cfg(PROMETHEUS, 'metricsProvider.httpsPort=7443', KEYSTORE, TRUST).config.prometheus!;
    assert.equal(only.httpPort, null);
    assert.equal(only.httpsPort, 7443);
    assert.equal(only.tls?.clientAuth, 'need', 'ssl.need.client.auth is true unless set');
    const both = cfg(PROMETHEUS, 'metricsProvider.httpPort=7000', 'metricsProvider.httpsPort=7000', KEYSTORE, TRUST).config.prometheus!;
    assert.equal(both.httpPort, 7000);
    assert.equal(both.httpsPort, 7000);
    const unset = cfg(PROMETHEUS, 'metricsProvider.httpsPort=-1').config.prometheus!;
    assert.equal(unset.httpsPort, null);
    assert.equal(unset.httpPort, 7000);
  });

  test('client authentication: need, want, none', () => {
    const auth = (...lines: string[]) =>
      cfg(PROMETHEUS, 'metricsProvider.httpsPort=7443', KEYSTORE, ...lines).config.prometheus?.tls?.clientAuth;
    assert.equal(auth('metricsProvider.ssl.need.client.auth=false'), 'want');
    assert.equal(auth('metricsProvider.ssl.need.client.auth=false', 'metricsProvider.ssl.want.client.auth=false'), 'none');
    assert.equal(auth(TRUST, 'metricsProvider.ssl.need.client.auth=true', 'metricsProvider.ssl.want.client.auth=false'), 'need');
  });

  test('a bad or missing value stops start-up naming the key', () => {
    throwsFor('metricsProvider.ssl.trustStore.location', /need\.client\.auth/, PROMETHEUS, 'metricsProvider.httpsPort=7443', KEYSTORE);
    throwsFor('metricsProvider.ssl.keyStore.location', /must name/, PROMETHEUS, 'metricsProvider.httpsPort=7443');
    throwsFor('metricsProvider.httpsPort', /70000/, PROMETHEUS, 'metricsProvider.httpsPort=70000');
    throwsFor(
      'metricsProvider.ssl.need.client.auth',
      /'maybe'/,
      PROMETHEUS,
      'metricsProvider.httpsPort=1',
      KEYSTORE,
      'metricsProvider.ssl.need.client.auth=maybe',
    );
    throwsFor(
      'metricsProvider.ssl.ciphersuites',
      /RC4/,
      PROMETHEUS,
      'metricsProvider.httpsPort=1',
      KEYSTORE,
      TRUST,
      'metricsProvider.ssl.ciphersuites=TLS_RSA_WITH_RC4_128_MD5',
    );
  });

  test('without the Prometheus provider the HTTPS keys are left with a warning', () => {
    const { config, warnings } = cfg('metricsProvider.httpsPort=7443', KEYSTORE);
    assert.equal(config.prometheus, null);
    assert.equal(warnings.length, 2);
  });
});
