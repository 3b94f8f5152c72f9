// A certificate's subject as Java prints it (X500Principal.getName(), RFC 2253), which is the id
// ZooKeeper's X509AuthenticationProvider gives a TLS client (`x509:CN=app1,OU=ops,O=Example`): the
// RDNs last to first, joined by ',', the AVAs of one RDN by '+'; the RFC 2253 keywords (CN, C, L,
// ST, O, OU, STREET, DC, UID) by name, any other attribute as its dotted OID with '#' and the hex of
// its DER encoding (emailAddress too); the characters RFC 2253 section 2.4 names escaped with '\'.
// Pure: DER bytes in, text out.

interface Der {
  tag: number;
  /** the whole element, header included */
  whole: Buffer;
  content: Buffer;
}

function read(buf: Buffer, at: number): Der & { end: number } {
  if (at + 2 > buf.length) throw new Error('truncated DER');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > buf.length) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    head += n;
  }
  const end = at + head + len;
  if (end > buf.length) throw new Error('truncated DER');
  return { tag, whole: buf.subarray(at, end), content: buf.subarray(at + head, end), end };
}

function children(d: Der): Der[] {
  const out: Der[] = [];
  for (let at = 0; at < d.content.length; ) {
    const c = read(d.content, at);
    out.push(c);
    at = c.end;
  }
  return out;
}

const KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

function oidText(b: Buffer): string {
  const parts: number[] = [];
  let v = 0;
  for (const byte of b) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** The text of a directory string (UTF8String, PrintableString, IA5String, T61String, BMPString, UniversalString). */
function stringValue(d: Der): string | null {
  switch (d.tag) {
    case 0x0c: // UTF8String
      return d.content.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // T61String (read as Latin-1, as Java does for the characters that matter)
      return d.content.toString('latin1');
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(d.content).swap16().toString('utf16le');
    case 0x1c: {
      // UniversalString: UTF-32BE
      let s = '';
      for (let i = 0; i + 3 < d.content.length; i += 4) s += String.fromCodePoint(d.content.readUInt32BE(i));
      return s;
    }
    default:
      return null;
  }
}

/** RFC 2253 2.4: ',', '+', '"', '\', '<', '>', ';' anywhere, '#' or ' ' first, ' ' last. */
export function escapeValue(v: string): string {
  let out = v.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.length > 1 && out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function avaText(ava: Der): string {
  const [oid, value] = children(ava);
  if (!oid || !value || oid.tag !== 0x06) throw new Error('bad AttributeTypeAndValue');
  const id = oidText(oid.content);
  const keyword = KEYWORDS[id];
  const text = keyword === undefined ? null : stringValue(value);
  if (keyword === undefined || text === null) return `${id}=#${value.whole.toString('hex')}`;
  return `${keyword}=${escapeValue(text)}`;
}

/** The RFC 2253 text of a DER Name. */
export function rfc2253(name: Buffer): string {
  const rdns = children(read(name, 0));
  return rdns
    .reverse()
    .map((rdn) => children(rdn).map(avaText).join('+'))
    .join(',');
}

/** The subject of a DER certificate, as X509Certificate.getSubjectX500Principal().getName() prints it. */
export function certificateSubject(cert: Buffer): string {
  const tbs = children(read(cert, 0))[0];
  if (!tbs) throw new Error('not a certificate');
  const fields = children(tbs);
  // an explicit [0] version comes first in v2/v3 certificates
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  // serialNumber, signature, issuer, validity, subject
  const subject = fields[at + 4];
  if (subject?.tag !== 0x30) throw new Error('certificate without a subject');
  return rfc2253(subject.whole);
}
