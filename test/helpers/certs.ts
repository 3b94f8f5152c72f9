// Certificates for the TLS tests, made with openssl as an operator would (README "Security"): a CA,
// a server certificate for localhost / 127.0.0.1 and a client certificate, each in PEM (key and
// chain in one file, as ZooKeeper's PEM key store reads it) and in PKCS12, plus a CA the server
// does not trust (for a client it must refuse).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandFails } from './clitools.js';
import { tempDir } from './servers.js';

export interface TestCerts {
  dir: string;
  /** the CA's certificate (a PEM trust store) */
  caPem: string;
  /** the server's key and certificate in one PEM file (a PEM key store) */
  serverPem: string;
  /** the server's key and certificate in PKCS12, password STORE_PASSWORD */
  serverP12: string;
  /** the CA in a PKCS12 trust store holding a key too (what Node can read), password STORE_PASSWORD */
  trustP12: string;
  /** the CA alone in a PKCS12 trust store (what keytool writes), password STORE_PASSWORD */
  caOnlyP12: string;
  clientCert: string;
  clientKey: string;
  /** client key and certificate in one PEM file (the Java client's PEM key store) */
  clientPem: string;
  /** a client certificate from a CA nobody trusts */
  strangerCert: string;
  strangerKey: string;
}

export const STORE_PASSWORD = 'changeit';

/** Reason why openssl cannot be run here, or null. */
export function opensslMissing(): string | null {
  return commandFails('openssl', ['version'], 'openssl (apt-get install openssl)');
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate signed by `ca` (or self-signed when ca is null). */
function issue(dir: string, name: string, cn: string, ca: string | null, san?: string): void {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
  const signer = ca === null ? ['-signkey', `${name}.key`] : ['-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial'];
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, ...signer, '-out', `${name}.crt`, '-days', '2', '-extfile', ext]);
}

export function makeCerts(): TestCerts {
  const dir = tempDir('certs');
  for (const ca of ['ca', 'stranger-ca']) {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
    ]);
  }
  issue(dir, 'server', 'localhost', 'ca', 'DNS:localhost,IP:127.0.0.1');
  issue(dir, 'client', 'ark-test-client', 'ca');
  issue(dir, 'stranger', 'stranger', 'stranger-ca');
  const cat = (out: string, files: string[]): void => {
    execFileSync('sh', ['-c', `cat ${files.join(' ')} > ${out}`], { cwd: dir });
  };
  cat('server.pem', ['server.key', 'server.crt']);
  cat('client.pem', ['client.key', 'client.crt']);
  const pass = `pass:${STORE_PASSWORD}`;
  openssl(dir, ['pkcs12', '-export', '-inkey', 'server.key', '-in', 'server.crt', '-out', 'server.p12', '-passout', pass]);
  openssl(dir, [
    'pkcs12',
    '-export',
    '-inkey',
    'server.key',
    '-in',
    'server.crt',
    '-certfile',
    'ca.pem',
    '-out',
    'trust.p12',
    '-passout',
    pass,
  ]);
  openssl(dir, ['pkcs12', '-export', '-nokeys', '-in', 'ca.pem', '-out', 'ca-only.p12', '-passout', pass]);
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    caPem: p('ca.pem'),
    serverPem: p('server.pem'),
    serverP12: p('server.p12'),
    trustP12: p('trust.p12'),
    caOnlyP12: p('ca-only.p12'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    clientPem: p('client.pem'),
    strangerCert: p('stranger.crt'),
    strangerKey: p('stranger.key'),
  };
}
