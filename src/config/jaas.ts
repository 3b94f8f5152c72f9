// A JAAS login configuration file (the format of Java's default ConfigFile, which ZooKeeper reads
// through -Djava.security.auth.login.config):
//
//   Server {
//     org.apache.zookeeper.server.auth.DigestLoginModule required
//       user_super="secret"
//       user_bob="bobs-password";
//   };
//
// A file is sections `Name { entries };`, an entry is `ModuleClass flag key=value ... ;`. Comments
// are `//` to the end of the line and `/* ... */` (Java's StreamTokenizer settings in ConfigFile);
// values are words or double-quoted strings with backslash escapes. Pure: text in, data out.

import { jvmFlagProperties } from './javavalues.js';

export interface JaasEntry {
  /** the login module's class name */
  module: string;
  /** required | requisite | sufficient | optional */
  flag: string;
  options: Map<string, string>;
}

export type JaasConfig = Map<string, JaasEntry[]>;

/** ZooKeeper's login module for SASL DIGEST-MD5 (users in Server, username/password in Client) */
export const DIGEST_MODULE = 'org.apache.zookeeper.server.auth.DigestLoginModule';
export const KERBEROS_MODULE = 'com.sun.security.auth.module.Krb5LoginModule';

export class JaasError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JaasError';
  }
}

type Token = { kind: 'word' | 'string' | 'punct'; text: string; line: number };

const FLAGS = new Set(['required', 'requisite', 'sufficient', 'optional']);
const PUNCT = new Set(['{', '}', ';', '=']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '\\': '\\', '"': '"', "'": "'" };

/** Splits the text into words, quoted strings and the four punctuation marks; comments dropped. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw new JaasError(`line ${line}: comment not closed (missing */)`);
      for (let j = i; j < end; j++) if (text[j] === '\n') line++;
      i = end + 2;
    } else if (c === '"') {
      const start = line;
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new JaasError(`line ${start}: quoted string not closed`);
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < text.length) {
          const e = text[i + 1]!;
          s += ESCAPES[e] ?? e;
          i += 2;
          continue;
        }
        if (d === '\n') line++;
        s += d;
        i++;
      }
      i++;
      out.push({ kind: 'string', text: s, line: start });
    } else if (PUNCT.has(c)) {
      out.push({ kind: 'punct', text: c, line });
      i++;
    } else {
      let s = '';
      while (
        i < text.length &&
        !/\s/.test(text[i]!) &&
        !PUNCT.has(text[i]!) &&
        text[i] !== '"' &&
        !text.startsWith('//', i) &&
        !text.startsWith('/*', i)
      ) {
        s += text[i];
        i++;
      }
      out.push({ kind: 'word', text: s, line });
    }
  }
  return out;
}

/**
 * A token for an error message. A quoted string is never shown: it is usually an option's value,
 * a password among them, and start-up errors go to logs. A word is shown only where the caller
 * knows it is a name (`names`), not where a misplaced value could be.
 */
function shown(t: Token, names = false): string {
  if (t.kind === 'punct') return `'${t.text}'`;
  if (t.kind === 'string') return 'a quoted string';
  return names ? `'${t.text}'` : 'a word';
}

class Cursor {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.at];
  }
  next(what: string): Token {
    const t = this.tokens[this.at++];
    if (!t) throw new JaasError(`unexpected end of file: expected ${what}`);
    return t;
  }
  expect(punct: string): void {
    const t = this.next(`'${punct}'`);
    if (t.kind !== 'punct' || t.text !== punct) throw new JaasError(`line ${t.line}: expected '${punct}', found ${shown(t)}`);
  }
  word(what: string): Token {
    const t = this.next(what);
    if (t.kind !== 'word') throw new JaasError(`line ${t.line}: expected ${what}, found ${shown(t)}`);
    return t;
  }
}

function parseEntry(c: Cursor): JaasEntry {
  const module = c.word('a login module class name').text;
  const flagTok = c.word(`a control flag after ${module}`);
  const flag = flagTok.text.toLowerCase();
  if (!FLAGS.has(flag)) {
    throw new JaasError(`line ${flagTok.line}: '${flagTok.text}' is not a control flag (required, requisite, sufficient, optional)`);
  }
  const options = new Map<string, string>();
  for (;;) {
    const t = c.next(`an option or ';' in the entry of ${module}`);
    if (t.kind === 'punct' && t.text === ';') return { module, flag, options };
    if (t.kind !== 'word') throw new JaasError(`line ${t.line}: expected an option name, found ${shown(t)}`);
    c.expect('=');
    const v = c.next(`the value of ${t.text}`);
    if (v.kind === 'punct') throw new JaasError(`line ${v.line}: option ${t.text} has no value`);
    options.set(t.text, v.text);
  }
}

/** Parses a JAAS file; a malformed one throws JaasError naming the line. */
export function parseJaas(text: string): JaasConfig {
  const c = new Cursor(tokenize(text));
  const out: JaasConfig = new Map();
  while (c.peek()) {
    const name = c.next('a section name');
    if (name.kind === 'punct') throw new JaasError(`line ${name.line}: expected a section name, found ${shown(name)}`);
    c.expect('{');
    const entries: JaasEntry[] = [];
    while (c.peek() && !(c.peek()!.kind === 'punct' && c.peek()!.text === '}')) entries.push(parseEntry(c));
    c.expect('}');
    c.expect(';');
    // a name given twice: its entries add up, as in Java's ConfigFile
    out.set(name.text, [...(out.get(name.text) ?? []), ...entries]);
  }
  return out;
}

/**
 * The `-Djava.security.auth.login.config=PATH` among JVM flags (SERVER_JVMFLAGS / JVMFLAGS as
 * ZooKeeper's zkServer.sh passes them); the last one wins, as on a java command line. A `==PATH`
 * (Java's "only this file") means the same here.
 */
export function loginConfigFromJvmFlags(flags: string | undefined): string | undefined {
  return jvmFlagProperties(flags).get('java.security.auth.login.config')?.replace(/^=/, '') || undefined;
}

/**
 * The credentials of a client section (`Client` by default, zookeeper.sasl.clientconfig): its
 * DigestLoginModule's username and password options, as ZooKeeper's SaslClientCallbackHandler
 * takes them. Kerberos or another module, or a missing option, throws JaasError.
 */
export function digestClientCredentials(entries: readonly JaasEntry[], section: string): { username: string; password: string } {
  for (const e of entries) {
    if (e.module === KERBEROS_MODULE) {
      throw new JaasError(
        `the ${section} section uses ${KERBEROS_MODULE}: Kerberos (GSSAPI) is not supported; use ${DIGEST_MODULE} (SASL DIGEST-MD5) or a client certificate`,
      );
    }
    if (e.module !== DIGEST_MODULE)
      throw new JaasError(`the ${section} section's login module ${e.module} is not supported (only ${DIGEST_MODULE})`);
  }
  const digest = entries.find((e) => e.module === DIGEST_MODULE);
  const username = digest?.options.get('username');
  const password = digest?.options.get('password');
  if (digest === undefined || username === undefined || password === undefined)
    throw new JaasError(`the ${section} section's ${DIGEST_MODULE} needs username="..." and password="..."`);
  return { username, password };
}
