// The certificates of a PKCS#12 trust store (RFC 7292), for a store Node's TLS cannot take as `pfx`
// because it holds no private key: what keytool -importcert and openssl pkcs12 -export -nokeys write.
// The MAC is checked first (a wrong password is told as such), then each bag is decrypted: PBES2
// (PBKDF2 with AES-CBC, what OpenSSL 3 and keytool since JDK 11.0.12 write), the older
// pbeWithSHAAnd3-KeyTripleDES-CBC, or none. As in Java's trust store, a certificate that belongs to a
// private key (a localKeyId shared with a key bag) is not a trust anchor; every other one is.
import { createDecipheriv, createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

/** Why a PKCS#12 file could not be read: a wrong password, or a format this reader does not know. */
export class Pkcs12Error extends Error {
  constructor(
    message: string,
    readonly wrongPassword: boolean,
  ) {
    super(message);
    this.name = 'Pkcs12Error';
  }
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha3Des: '1.2.840.113549.1.12.1.3',
} as const;

/** Hash algorithms by OID (the MAC's digest) and by HMAC OID (PBKDF2's prf): Node's name and block size. */
const DIGESTS: Readonly<Record<string, { name: string; blockBytes: number }>> = {
  '1.3.14.3.2.26': { name: 'sha1', blockBytes: 64 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', blockBytes: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', blockBytes: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', blockBytes: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', blockBytes: 128 },
};
const HMACS: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const AES_CBC: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
};

/** One DER element: its tag and where its content lies in `buf`. */
interface Der {
  tag: number;
  buf: Buffer;
  start: number;
  end: number;
}

function bad(what: string): Pkcs12Error {
  return new Pkcs12Error(`not a PKCS#12 file this reader knows (${what})`, false);
}

function element(buf: Buffer, pos: number): Der {
  const tag = buf[pos];
  let len = buf[pos + 1];
  if (tag === undefined || len === undefined) throw bad('truncated');
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw bad('indefinite or oversized length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  if (start + len > buf.length) throw bad('length past the end');
  return { tag, buf, start, end: start + len };
}

function children(d: Der): Der[] {
  const out: Der[] = [];
  for (let pos = d.start; pos < d.end; ) {
    const c = element(d.buf, pos);
    out.push(c);
    pos = c.end;
  }
  return out;
}

function content(d: Der): Buffer {
  return d.buf.subarray(d.start, d.end);
}

function child(d: Der, i: number, tag?: number): Der {
  const c = children(d)[i];
  if (c === undefined || (tag !== undefined && c.tag !== tag)) throw bad(`element ${i} of tag 0x${d.tag.toString(16)}`);
  return c;
}

function oid(d: Der): string {
  if (d.tag !== 0x06) throw bad('an object identifier expected');
  const b = content(d);
  const first = b[0] ?? 0;
  const arcs = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (const byte of b.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

function int(d: Der): number {
  if (d.tag !== 0x02) throw bad('an integer expected');
  return content(d).reduce((n, byte) => n * 256 + byte, 0);
}

/** RFC 7292 appendix B.2: the PKCS#12 key derivation (id 1: key, 2: IV, 3: MAC key). */
function pkcs12Kdf(
  password: string,
  salt: Buffer,
  id: number,
  iterations: number,
  bytes: number,
  hash: { name: string; blockBytes: number },
): Buffer {
  const v = hash.blockBytes;
  // the password as a BMPString with its two zero bytes
  const pw = Buffer.from(`${password}\0`, 'utf16le').swap16();
  const fill = (b: Buffer): Buffer => {
    const n = v * Math.ceil(b.length / v);
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = b[i % b.length] as number;
    return out;
  };
  const I = Buffer.concat([salt.length ? fill(salt) : Buffer.alloc(0), fill(pw)]);
  const D = Buffer.alloc(v, id);
  const out: Buffer[] = [];
  let have = 0;
  while (have < bytes) {
    let A = createHash(hash.name).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hash.name).update(A).digest();
    out.push(A);
    have += A.length;
    const B = fill(A);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] as number) + (B[k] as number) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, bytes);
}

/** Checks the MacData against the authSafe's content: a mismatch means a wrong password. */
function checkMac(macData: Der, authSafe: Buffer, password: string): void {
  const [digestInfo, saltD, iterD] = children(macData);
  if (digestInfo === undefined || saltD === undefined) throw bad('MacData');
  const alg = oid(child(child(digestInfo, 0), 0));
  const hash = DIGESTS[alg];
  if (hash === undefined) throw bad(`MAC digest ${alg}`);
  const expected = content(child(digestInfo, 1, 0x04));
  const key = pkcs12Kdf(password, content(saltD), 3, iterD ? int(iterD) : 1, expected.length, hash);
  const actual = createHmac(hash.name, key).update(authSafe).digest();
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new Pkcs12Error('the password does not open it (MAC check failed)', true);
  }
}

/** Decrypts an EncryptedContentInfo's content with its algorithm. */
function decrypt(algId: Der, data: Buffer, password: string): Buffer {
  const alg = oid(child(algId, 0));
  const params = child(algId, 1);
  let decipher: ReturnType<typeof createDecipheriv>;
  if (alg === OID.pbes2) {
    const kdf = child(params, 0);
    const scheme = child(params, 1);
    if (oid(child(kdf, 0)) !== OID.pbkdf2) throw bad('PBES2 key derivation other than PBKDF2');
    const kdfParams = children(child(kdf, 1));
    const salt = content(kdfParams[0] as Der);
    const iterations = int(kdfParams[1] as Der);
    const prfD = kdfParams.find((d) => d.tag === 0x30);
    const prf = prfD ? HMACS[oid(child(prfD, 0))] : 'sha1';
    const cipher = AES_CBC[oid(child(scheme, 0))];
    if (prf === undefined || cipher === undefined) throw bad('PBES2 with an unknown PRF or cipher');
    const keyBytes = Number(/aes-(\d+)/.exec(cipher)?.[1]) / 8;
    const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, keyBytes, prf);
    decipher = createDecipheriv(cipher, key, content(child(scheme, 1, 0x04)));
  } else if (alg === OID.pbeSha3Des) {
    const salt = content(child(params, 0));
    const iterations = int(child(params, 1));
    const sha1 = DIGESTS['1.3.14.3.2.26'] as { name: string; blockBytes: number };
    const key = pkcs12Kdf(password, salt, 1, iterations, 24, sha1);
    const iv = pkcs12Kdf(password, salt, 2, iterations, 8, sha1);
    decipher = createDecipheriv('des-ede3-cbc', key, iv);
  } else {
    throw new Pkcs12Error(
      `its certificates are encrypted with ${alg} (e.g. RC2, which OpenSSL 3 keeps in its legacy provider), which Ark cannot decrypt`,
      false,
    );
  }
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new Pkcs12Error('the password does not decrypt its certificates', true);
  }
}

/** The SafeBags of one ContentInfo of the AuthenticatedSafe, decrypted when they are. */
function safeBags(info: Der, password: string): Der[] {
  const type = oid(child(info, 0));
  const body = child(child(info, 1, 0xa0), 0);
  if (type === OID.data) return children(element(content(body), 0));
  if (type !== OID.encryptedData) throw bad(`content type ${type}`);
  const eci = child(body, 1);
  const encrypted = children(eci).find((d) => d.tag === 0x80);
  if (encrypted === undefined) throw bad('EncryptedContentInfo without content');
  return children(element(decrypt(child(eci, 1), content(encrypted), password), 0));
}

/** The localKeyId attribute of a bag, hex; undefined without one. */
function localKeyId(bag: Der): string | undefined {
  const attrs = children(bag).find((d) => d.tag === 0x31);
  if (attrs === undefined) return undefined;
  for (const attr of children(attrs)) {
    if (oid(child(attr, 0)) === OID.localKeyId) return content(child(child(attr, 1), 0)).toString('hex');
  }
  return undefined;
}

/** The trusted certificates of a PKCS#12 file, as PEM. */
export function pkcs12TrustedCertificates(file: Buffer, password: string): string[] {
  const pfx = element(file, 0);
  if (pfx.tag !== 0x30) throw bad('not a DER SEQUENCE');
  const [, authSafeInfo, macData] = children(pfx);
  if (authSafeInfo === undefined || oid(child(authSafeInfo, 0)) !== OID.data) throw bad('authSafe is not data');
  const authSafe = content(child(child(authSafeInfo, 1, 0xa0), 0, 0x04));
  if (macData !== undefined) checkMac(macData, authSafe, password);
  const certs: Array<{ der: Buffer; keyId: string | undefined }> = [];
  const keyIds = new Set<string>();
  for (const info of children(element(authSafe, 0))) {
    for (const bag of safeBags(info, password)) {
      const type = oid(child(bag, 0));
      const id = localKeyId(bag);
      if (type !== OID.certBag) {
        if (id !== undefined) keyIds.add(id);
        continue;
      }
      const certBag = child(child(bag, 1, 0xa0), 0);
      if (oid(child(certBag, 0)) !== OID.x509Certificate) continue;
      certs.push({ der: content(child(child(certBag, 1, 0xa0), 0, 0x04)), keyId: id });
    }
  }
  return certs
    .filter((c) => c.keyId === undefined || !keyIds.has(c.keyId))
    .map(
      (c) => `-----BEGIN CERTIFICATE-----\n${(c.der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`,
    );
}
