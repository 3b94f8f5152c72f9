// java.util.Properties' text format, as ZooKeeper reads zoo.cfg with it: the grammar of
// Properties#load (lines, comments, continuations, separators, escapes) and the order a
// Properties object iterates its keys in. Keys mean nothing here; keys.ts gives them meaning.

import { ConfigError } from './error.js';

/** Whitespace as Properties understands it: space, tab and form feed. */
function isPropsWhitespace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\f';
}

function stripLeadingPropsWhitespace(s: string): string {
  let i = 0;
  while (i < s.length && isPropsWhitespace(s[i])) i++;
  return i === 0 ? s : s.slice(i);
}

function countTrailingBackslashes(s: string): number {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n;
}

/**
 * Splits text into Properties "logical lines": comments and blank lines are
 * dropped, continuation lines (odd number of trailing backslashes) are joined
 * with the leading whitespace of each continuation line removed. Escapes are
 * left in place.
 *
 * Two corner cases follow what Java's Properties does (checked against it):
 * a continuation that leaves the logical line still empty makes the next
 * natural line a fresh line (so it can be a comment or blank); and a trailing
 * backslash on the last line of the input still yields a (possibly empty) line.
 */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let buf: string | null = null; // logical line being assembled
  // Each match is one natural line and its terminator ('' only at the end of the input).
  const re = /([^\r\n]*)(\r\n|\r|\n|$)/g;
  let atEnd = text.length === 0;
  while (!atEnd) {
    const m = re.exec(text);
    if (m === null) break;
    const eol = m[2] ?? '';
    atEnd = re.lastIndex >= text.length;
    const s = stripLeadingPropsWhitespace(m[1] ?? '');
    if (buf === null) {
      if (s === '') continue; // blank line
      if (s[0] === '#' || s[0] === '!') continue; // comment line
      buf = '';
    } else if (s === '') {
      out.push(buf); // an empty continuation line ends the logical line
      buf = null;
      continue;
    }
    if (countTrailingBackslashes(s) % 2 === 1) {
      buf += s.slice(0, -1);
      if (atEnd && eol.length < 2) {
        // Backslash on the input's last line (no terminator, or a one-character
        // terminator that is the input's last character): the line is complete.
        out.push(buf);
        buf = null;
      } else if (buf === '') {
        buf = null; // nothing collected yet: the next natural line starts afresh
      }
      continue;
    }
    out.push(buf + s);
    buf = null;
  }
  if (buf !== null && buf !== '') out.push(buf);
  return out;
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Resolves Properties escapes in one key or value. */
function unescapeProps(s: string, keyForErrors: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i++] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[i++];
    if (e === undefined) break; // cannot happen after logicalLines(); be safe
    switch (e) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = s.slice(i, i + 4);
        if (hex.length !== 4 || ![...hex].every(isHexDigit)) {
          throw new ConfigError(keyForErrors, `Malformed \\uxxxx encoding in properties text (key '${keyForErrors}')`);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        out += e; // \<other> is the character itself
    }
  }
  return out;
}

/** Splits one logical line into its (still escaped) key and value. */
function splitKeyValue(line: string): [string, string] {
  let keyLen = 0;
  let valueStart = line.length;
  let hasSep = false;
  let precedingBackslash = false;
  while (keyLen < line.length) {
    const c = line[keyLen];
    if (!precedingBackslash && (c === '=' || c === ':')) {
      valueStart = keyLen + 1;
      hasSep = true;
      break;
    }
    if (!precedingBackslash && isPropsWhitespace(c)) {
      valueStart = keyLen + 1;
      break;
    }
    precedingBackslash = c === '\\' ? !precedingBackslash : false;
    keyLen++;
  }
  while (valueStart < line.length) {
    const c = line[valueStart];
    if (!isPropsWhitespace(c)) {
      if (!hasSep && (c === '=' || c === ':')) hasSep = true;
      else break;
    }
    valueStart++;
  }
  return [line.slice(0, keyLen), line.slice(valueStart)];
}

/**
 * Parses text with the rules of java.util.Properties#load: \n, \r and \r\n line
 * ends; '#' and '!' comment lines; key ends at the first unescaped '=', ':' or
 * whitespace; continuation lines; escapes \t \n \r \f \uXXXX and \x = x. Later
 * keys override earlier ones (the Map keeps first-insertion order).
 *
 * Keys and values are returned exactly as Properties would (values are not
 * trimmed; resolveConfig trims as ZooKeeper does). Note that ZooKeeper reads
 * zoo.cfg through an InputStream, i.e. as ISO-8859-1; decoding the file is the
 * caller's business.
 *
 * Throws ConfigError for a malformed \uXXXX escape (Properties throws too).
 */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of logicalLines(text)) {
    const [rawKey, rawValue] = splitKeyValue(line);
    const key = unescapeProps(rawKey, rawKey);
    const value = unescapeProps(rawValue, key);
    props.set(key, value);
  }
  return props;
}

/**
 * The order java.util.Properties (Java 9 on: a ConcurrentHashMap) iterates keys put in this order:
 * by bin, spread(String.hashCode) & (table size - 1), the table 16 bins from `new Properties()` and
 * doubled once it holds 3/4 of that; keys sharing a bin in the order put (a resize can reorder
 * those, which is not followed here). ZooKeeper walks a config this way (ConfigUtils).
 */
export function javaPropertiesOrder(keys: readonly string[]): string[] {
  let bins = 16;
  while (keys.length >= bins * 0.75) bins *= 2;
  const bin = (key: string): number => {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(31, h) + key.charCodeAt(i)) | 0;
    return (h ^ (h >>> 16)) & 0x7fffffff & (bins - 1);
  };
  return keys
    .map((key, at) => ({ key, at, bin: bin(key) }))
    .sort((a, b) => a.bin - b.bin || a.at - b.at)
    .map((k) => k.key);
}
