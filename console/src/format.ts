// How node data and Stat fields are shown. Everything here returns text: the page puts it in the
// DOM as text nodes, never as HTML.

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export const utf8 = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);
export const isUtf8 = (bytes: Uint8Array): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};
export const encodeUtf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Pretty JSON, or why the data is not JSON. */
export function prettyJson(bytes: Uint8Array): { text: string; ok: boolean } {
  try {
    return { text: JSON.stringify(JSON.parse(utf8(bytes)), null, 2), ok: true };
  } catch (e) {
    return { text: `not JSON: ${(e as Error).message}`, ok: false };
  }
}

/** the hex view shows this much at most; the rest is counted */
export const HEX_BYTES_MAX = 16 * 1024;

/** A hex dump: offset, 16 bytes in hex, the printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  const n = Math.min(bytes.length, HEX_BYTES_MAX);
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > n) lines.push(`... ${bytes.length - n} more bytes`);
  return lines.join('\n');
}

export const zxidHex = (z: number): string => `0x${z.toString(16)}`;

export function time(ms: number): string {
  if (ms === 0) return '0 (never)';
  const d = new Date(ms);
  return `${d.toISOString().replace('T', ' ').replace('Z', ' UTC')}`;
}

/** ZooKeeper's permission letters, as zkCli's getAcl prints them */
export function perms(p: number): string {
  return [
    [4, 'c'],
    [8, 'd'],
    [1, 'r'],
    [2, 'w'],
    [16, 'a'],
  ]
    .map(([bit, ch]) => ((p & (bit as number)) !== 0 ? ch : '-'))
    .join('');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export const join = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);
