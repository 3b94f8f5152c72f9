// The PKCS#12 trust store reader (runtime/pkcs12.ts) on files openssl writes: certificates only
// (PBES2/AES, the OpenSSL 3 default), the older 3DES encryption, no MAC, and a store with a key,
// whose own certificate is not a trust anchor (as in Java's trust store).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pkcs12Error, pkcs12TrustedCertificates } from '../../src/runtime/pkcs12.js';
import { makeCerts, opensslMissing, STORE_PASSWORD } from '../helpers/certs.js';

const subjects = (pems: string[]): string[] => pems.map((p) => new X509Certificate(p).subject);

describe('pkcs12TrustedCertificates', () => {
  test('reads the CA from the trust stores openssl writes, and tells a wrong password', (t) => {
    if (opensslMissing()) return t.skip(opensslMissing() ?? '');
    const certs = makeCerts();
    assert.deepEqual(subjects(pkcs12TrustedCertificates(readFileSync(certs.caOnlyP12), STORE_PASSWORD)), ['CN=ca']);
    // the server's own certificate belongs to its key: only the CA beside it is trusted
    assert.deepEqual(subjects(pkcs12TrustedCertificates(readFileSync(certs.trustP12), STORE_PASSWORD)), ['CN=ca']);
    const pass = `pass:${STORE_PASSWORD}`;
    for (const [name, extra] of [
      ['3des.p12', ['-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']],
      ['nomac.p12', ['-nomac']],
    ] as const) {
      execFileSync('openssl', [
        'pkcs12',
        '-export',
        '-nokeys',
        '-in',
        certs.caPem,
        '-out',
        join(certs.dir, name),
        '-passout',
        pass,
        ...extra,
      ]);
      assert.deepEqual(subjects(pkcs12TrustedCertificates(readFileSync(join(certs.dir, name)), STORE_PASSWORD)), ['CN=ca'], name);
    }
    assert.throws(
      () => pkcs12TrustedCertificates(readFileSync(certs.caOnlyP12), 'wrong'),
      (e: unknown) => e instanceof Pkcs12Error && e.wrongPassword,
    );
    assert.throws(
      () => pkcs12TrustedCertificates(readFileSync(certs.caPem), STORE_PASSWORD),
      (e: unknown) => e instanceof Pkcs12Error && !e.wrongPassword,
    );
  });
});
