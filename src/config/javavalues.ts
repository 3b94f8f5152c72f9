// Values read the way the Java code behind each zoo.cfg key reads them (String.trim,
// Integer.parseInt, Long.decode, Boolean.parseBoolean, String.split, ...), so a value means in
// Ark what it means in ZooKeeper. A value Java would refuse throws ConfigError naming the key.

import { ConfigError } from './error.js';

/** String.trim() as Java defines it: removes characters <= U+0020 from both ends. */
export function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

function badNumber(key: string, value: string, what: string): ConfigError {
  return new ConfigError(key, `Invalid value for ${key}: '${value}' is not ${what}`);
}

/** Integer.parseInt semantics: optional sign, decimal digits, 32-bit range. */
export function parseJavaInt(key: string, value: string): number {
  if (!/^[+-]?[0-9]+$/.test(value)) throw badNumber(key, value, 'a valid integer');
  const n = Number(value);
  if (n < INT_MIN || n > INT_MAX) throw badNumber(key, value, 'a 32-bit integer');
  return n;
}

/** Long.parseLong semantics, limited to what a JS number holds exactly. */
export function parseJavaLong(key: string, value: string): number {
  if (!/^[+-]?[0-9]+$/.test(value)) throw badNumber(key, value, 'a valid integer');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badNumber(key, value, 'an integer in the supported range');
  return n;
}

/**
 * The syntax Integer.decode and Long.decode share: decimal, 0x / 0X / # hex, leading-0 octal,
 * an optional sign. Gives the sign and the magnitude; each caller checks its own range.
 */
function decodeJava(key: string, value: string): { negative: boolean; magnitude: number } {
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|#([0-9a-fA-F]+)|0([0-7]+)|([1-9][0-9]*|0))$/.exec(value);
  if (!m) throw badNumber(key, value, 'a valid integer');
  const [, sign, hex1, hex2, oct, dec] = m;
  const magnitude =
    hex1 !== undefined ? parseInt(hex1, 16) : hex2 !== undefined ? parseInt(hex2, 16) : oct !== undefined ? parseInt(oct, 8) : Number(dec);
  return { negative: sign === '-', magnitude };
}

/** Integer.decode semantics (used by Integer.getInteger): decimal, 0x / 0X / # hex, leading-0 octal. */
export function decodeJavaInt(key: string, value: string): number {
  const { negative, magnitude } = decodeJava(key, value);
  const n = negative ? -magnitude : magnitude;
  if (n < INT_MIN || n > INT_MAX) throw badNumber(key, value, 'a 32-bit integer');
  return n;
}

/** Long.decode semantics (used by Long.getLong), limited to what a JS number holds exactly. */
export function decodeJavaLong(key: string, value: string): number {
  const { negative, magnitude } = decodeJava(key, value);
  if (!Number.isSafeInteger(magnitude)) throw badNumber(key, value, 'an integer in the supported range');
  return negative ? -magnitude : magnitude;
}

/** A port number already parsed from `value`, checked to be one (0 included: "none" or "any"). */
export function checkPort(key: string, value: string, port: number): number {
  if (port < 0 || port > 65535) throw new ConfigError(key, `Invalid value for ${key}: '${value}' is not a port number (0-65535)`);
  return port;
}

/** Boolean.parseBoolean: only "true" (any case) is true. */
export function javaParseBoolean(value: string | undefined): boolean {
  return value !== undefined && value.toLowerCase() === 'true';
}

/** QuorumPeerConfig's strict booleans: "true" or "false" (any case), anything else is an error. */
export function strictBoolean(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(key, `Invalid value for ${key}: '${value}'; choose 'true' or 'false'`);
}

/** String.split as Java does it for a literal separator: trailing empty strings are removed. */
export function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Every `-Dname=value` (or `-Dname`, an empty value) among JVM flags, as zkServer.sh and zkCli.sh
 * pass them (SERVER_JVMFLAGS, CLIENT_JVMFLAGS, JVMFLAGS); a later one wins, as on a java command
 * line. Quotes around a value are the shell's and are taken off; a value keeps a leading `=`
 * (JAAS's `-Djava.security.auth.login.config==FILE`: this file only).
 */
export function jvmFlagProperties(flags: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!flags) return out;
  const re = /(?:^|\s)-D([^=\s]+)(?:=(=?)("[^"]*"|'[^']*'|\S*))?/g;
  for (let m = re.exec(flags); m; m = re.exec(flags)) {
    const v = m[3] ?? '';
    out.set(m[1]!, (m[2] ?? '') + (/^["']/.test(v) ? v.slice(1, -1) : v));
  }
  return out;
}
