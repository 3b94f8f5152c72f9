// The secure client port's certificates, read at start-up from the files zoo.cfg names and checked
// by building a TLS context once: a missing file, a wrong password or a store Node cannot read
// stops start-up naming the key, as ZooKeeper's X509Util fails to create its SSLContext. The same
// loaders read a TLS client's stores (`ark cli`, `ark bench`: zookeeper.ssl.* client properties).
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { ConfigError } from '../config/error.js';
import type { ClientSideTlsConfig, ClientTlsConfig, StoreConfig } from '../config/tls.js';
import type { PeerTlsConfig } from '../config/quorumsec.js';
import type { ClientTlsOptions } from '../client/zookeeper.js';
import { Pkcs12Error, pkcs12TrustedCertificates } from './pkcs12.js';

/** SecretUtils.readSecret: the file's text, less one trailing line separator. */
function readPasswordFile(s: StoreConfig, path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new ConfigError(s.passwordKey, `${s.passwordKey}: cannot read '${path}': ${(e as Error).message}`);
  }
}

/** The store's password: from ssl.*.passwordPath when set (it wins, as in X509Util), else ssl.*.password. */
function password(s: StoreConfig): string {
  return s.passwordPath === undefined ? (s.password ?? '') : readPasswordFile(s, s.passwordPath);
}

/** A store's password as Node takes it (none when unset or empty, as Java's null password). */
function pass(s: StoreConfig): { passphrase?: string } {
  const p = password(s);
  return p === '' ? {} : { passphrase: p };
}

function badPassword(s: StoreConfig, msg: string): ConfigError {
  return new ConfigError(s.passwordKey, `${s.passwordKey}: the password does not open ${s.key} '${s.location}' (${msg})`);
}

function readStore(s: StoreConfig): Buffer {
  try {
    return readFileSync(s.location);
  } catch (e) {
    throw new ConfigError(s.key, `${s.key}: cannot read '${s.location}': ${(e as Error).message}`);
  }
}

/** Is this message OpenSSL's way of saying a password did not open the file? */
function wrongPassword(message: string): boolean {
  return /mac verify failure|bad decrypt|maybe wrong password|bad password|decrypt/i.test(message);
}

/** Builds one context from `opts` so a bad store fails here, naming the key, and not at the first client. */
function check(s: StoreConfig, opts: TlsOptions, what: string): void {
  try {
    createSecureContext(opts);
  } catch (e) {
    const msg = (e as Error).message;
    if (wrongPassword(msg)) throw badPassword(s, msg);
    throw new ConfigError(s.key, `${s.key}: '${s.location}' (type ${s.type}) holds no usable ${what}: ${msg}`);
  }
}

/** The key store: PEM with the private key and the certificate chain in one file (ZooKeeper's PEMFileLoader), or PKCS12. */
function keyStoreOptions(s: StoreConfig): TlsOptions {
  const data = readStore(s);
  const opts: TlsOptions = s.type === 'PKCS12' ? { pfx: [{ buf: data, ...pass(s) }] } : { key: data, cert: data, ...pass(s) };
  if (s.type === 'PEM' && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(data.toString('latin1'))) {
    throw new ConfigError(
      s.key,
      `${s.key}: '${s.location}' (type PEM) holds no private key; put the key and the certificate chain in one PEM file`,
    );
  }
  check(s, opts, 'private key and certificate');
  return opts;
}

/** The trust store: PEM certificates, or the certificates of a PKCS12 file (pkcs12.ts: Node reads a PKCS12 only with a key in it). */
function trustStoreOptions(s: StoreConfig): TlsOptions {
  const data = readStore(s);
  let ca: Buffer | string[] = data;
  if (s.type === 'PKCS12') {
    try {
      ca = pkcs12TrustedCertificates(data, password(s));
    } catch (e) {
      if (!(e instanceof Pkcs12Error)) throw e;
      if (e.wrongPassword) throw badPassword(s, e.message);
      throw new ConfigError(
        s.key,
        `${s.key}: '${s.location}' (type PKCS12): ${e.message}; convert it once with openssl pkcs12 -legacy -in ${s.location} -nokeys -out trust.pem and set the trust store type to PEM`,
      );
    }
    if (ca.length === 0) throw new ConfigError(s.key, `${s.key}: '${s.location}' (type PKCS12) holds no trusted certificate`);
  } else if (!data.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(s.key, `${s.key}: '${s.location}' (type PEM) holds no certificate`);
  }
  check(s, { ca }, 'CA certificate');
  return { ca };
}

/** Node's TLS server options for the secure (or unified) client port, ZooKeeper's keys honoured. */
export function clientTlsOptions(c: ClientTlsConfig): TlsOptions {
  const key = keyStoreOptions(c.keyStore);
  const trust = c.trustStore === undefined ? {} : trustStoreOptions(c.trustStore);
  return {
    ...trust,
    ...key,
    minVersion: c.minVersion,
    maxVersion: c.maxVersion,
    ciphers: c.ciphers,
    // need: a client without a trusted certificate fails the handshake; want: one without any
    // certificate is let in (a certificate that is offered must still be trusted: clientport.ts)
    requestCert: c.clientAuth !== 'none',
    rejectUnauthorized: c.clientAuth === 'need',
  };
}

/**
 * The quorum port's TLS (QuorumX509Util's ssl.quorum.* stores): this member's certificate, the
 * CAs its peers' certificates must chain to, versions and ciphers. Read again on a change with
 * sslQuorumReloadCertFiles (certwatch.ts); a bad store throws ConfigError naming the key.
 */
export function peerTlsOptions(c: PeerTlsConfig): SecureContextOptions {
  const key = keyStoreOptions(c.keyStore) as SecureContextOptions;
  const trust = c.trustStore === undefined ? {} : (trustStoreOptions(c.trustStore) as SecureContextOptions);
  return { ...trust, ...key, minVersion: c.minVersion, maxVersion: c.maxVersion, ciphers: c.ciphers };
}

/** A TLS client's options (ClientOptions.tls) from its zookeeper.ssl.* stores; a bad store throws ConfigError naming the key. */
export function clientConnectionTls(c: ClientSideTlsConfig): ClientTlsOptions {
  const key = c.keyStore === undefined ? {} : keyStoreOptions(c.keyStore);
  const trust = c.trustStore === undefined ? {} : trustStoreOptions(c.trustStore);
  return {
    ...(trust as Pick<ClientTlsOptions, 'ca'>),
    ...(key as Pick<ClientTlsOptions, 'key' | 'cert' | 'pfx' | 'passphrase'>),
    minVersion: c.minVersion,
    maxVersion: c.maxVersion,
    ciphers: c.ciphers,
    hostnameVerification: c.hostnameVerification,
  };
}
