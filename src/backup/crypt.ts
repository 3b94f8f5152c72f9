// Encryption at rest in the age format (https://age-encryption.org/v1): a byte stream encrypted to
// one or more public keys (recipients, `age1...`) and decrypted with a private key (an identity,
// `AGE-SECRET-KEY-1...`), exactly as the `age` tool does, so a user can decrypt any file Ark wrote
// without Ark (`age -d -i key.txt`), and Ark reads a file the `age` tool encrypted.
//
// The payload is age's STREAM: 64 KiB chunks, each authenticated, the last one flagged, so both
// directions stream with bounded memory and a truncated or altered file fails to decrypt rather
// than yielding wrong bytes. Encrypted data is told by its first line (`age-encryption.org/v1`):
// a reader needs no flag, only the identity.
//
// Recipient and identity files are read as age reads them (age(1), -R and -i): one key a line,
// blank lines and lines starting with '#' ignored (what age-keygen writes).
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Decrypter, Encrypter } from 'age-encryption';
import { BackupCorruptError } from './format.js';

/** The first line of every age file (the format's version line). */
export const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n', 'latin1');

/** Does `head` (the first bytes of some data) start an age-encrypted file? */
export function isEncrypted(head: Uint8Array): boolean {
  return head.length >= AGE_MAGIC.length && Buffer.from(head.buffer, head.byteOffset, AGE_MAGIC.length).equals(AGE_MAGIC);
}

/**
 * The private key to read encrypted data is missing, or is not one it was encrypted to. Not
 * damage: the reader cannot go on with any file, so commands stop with this one message rather
 * than report every encrypted file as damaged.
 */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

/** Encrypted data that does not decrypt with the right key: truncated, altered or not age at all. */
export class EncryptedDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncryptedDataError';
  }
}

/** Identities read from files, with the files' names for messages. */
export interface Identities {
  files: readonly string[];
  keys: readonly string[];
}

export const NO_IDENTITIES: Identities = { files: [], keys: [] };

/** The key lines of an age key file: no blanks, no comments. */
function keyLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Why `r` is not a recipient this Ark encrypts to (null: it is one). */
export function recipientProblem(r: string): string | null {
  if (r.startsWith('ssh-')) return `'${r.slice(0, 20)}...' is an SSH key: give an age public key (age1..., from age-keygen -y)`;
  if (!r.startsWith('age1')) return `'${r}' is not an age public key (age1..., as age-keygen prints it)`;
  try {
    new Encrypter().addRecipient(r);
    return null;
  } catch (e) {
    return `'${r}' is not a valid age public key (${(e as Error).message})`;
  }
}

/** Checks every recipient; throws naming the first bad one and where it came from. */
export function checkRecipients(recipients: readonly string[], source: string): string[] {
  for (const r of recipients) {
    const p = recipientProblem(r);
    if (p) throw new Error(`${source}: ${p}`);
  }
  return [...recipients];
}

/** The recipients in a file (age -R): one public key a line. */
export function readRecipientsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the recipients file ${file}: ${(e as Error).message}`);
  }
  const keys = keyLines(text);
  if (keys.length === 0) throw new Error(`the recipients file ${file} holds no public key`);
  return checkRecipients(keys, file);
}

/** The recipients given one by one and in files, checked, without repeats. */
export function loadRecipients(given: readonly string[], files: readonly string[]): string[] {
  const all = [...checkRecipients(given, 'recipient'), ...files.flatMap(readRecipientsFile)];
  return [...new Set(all)];
}

/** The identities in age identity files (age -i): one private key a line. */
export function readIdentityFiles(files: readonly string[]): Identities {
  const keys: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new KeyError(`cannot read the identity file ${file}: ${(e as Error).message}`);
    }
    if (isEncrypted(Buffer.from(text, 'latin1')))
      throw new KeyError(`the identity file ${file} is itself encrypted (a passphrase-protected key): decrypt it first with age -d`);
    const found = keyLines(text);
    if (found.length === 0)
      throw new KeyError(`the identity file ${file} holds no private key (AGE-SECRET-KEY-1..., as age-keygen writes it)`);
    for (const k of found) {
      if (!k.startsWith('AGE-SECRET-KEY-'))
        throw new KeyError(
          `the identity file ${file} holds something other than an age private key (AGE-SECRET-KEY-1...): SSH keys are not supported`,
        );
      try {
        new Decrypter().addIdentity(k);
      } catch (e) {
        throw new KeyError(`the identity file ${file} holds an invalid age private key (${(e as Error).message})`);
      }
      keys.push(k);
    }
  }
  return { files: [...files], keys };
}

/** The one message for encrypted data and no key, or no key that opens it. */
function keyMessage(what: string, ids: Identities): string {
  return ids.keys.length === 0
    ? `${what} is encrypted (age): give the private key that opens it with --identity FILE (an age identity file, as age -d -i takes)`
    : `no identity given (--identity ${ids.files.join(', ')}) opens ${what}: it is encrypted to other public keys`;
}

function asWeb(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): ReadableStream<Uint8Array> {
  return Readable.toWeb(Readable.from(src, { objectMode: false })) as unknown as ReadableStream<Uint8Array>;
}

/** Encrypts a byte stream to `recipients` as it comes: memory stays at one 64 KiB chunk. */
export async function* encrypt(src: AsyncIterable<Uint8Array>, recipients: readonly string[]): AsyncGenerator<Buffer> {
  if (recipients.length === 0) throw new Error('encrypting needs at least one recipient');
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const out = await e.encrypt(asWeb(src));
  for await (const c of out as unknown as AsyncIterable<Uint8Array>) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/** The age lib's reason as ours: a key that matches nothing is the caller's problem, anything else is damage. */
function decryptError(what: string, ids: Identities, e: unknown): Error {
  const m = (e as Error).message;
  if (/no identity matched/.test(m)) return new KeyError(keyMessage(what, ids));
  return new EncryptedDataError(`${what}: the encrypted data is damaged or truncated (${m})`);
}

/**
 * Decrypts an age stream as it comes. Every chunk is authenticated before it is handed out, and
 * the end is authenticated too, so a cut-off file throws instead of ending early.
 */
export async function* decrypt(
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ids: Identities,
  what: string,
): AsyncGenerator<Buffer> {
  if (ids.keys.length === 0) throw new KeyError(keyMessage(what, ids));
  const d = new Decrypter();
  for (const k of ids.keys) d.addIdentity(k);
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(asWeb(src));
  } catch (e) {
    throw decryptError(what, ids, e);
  }
  try {
    for await (const c of out as unknown as AsyncIterable<Uint8Array>) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  } catch (e) {
    throw decryptError(what, ids, e);
  }
}

export interface Progress {
  done: number;
  total: number | null;
  unit: string;
}

/**
 * Decrypts an age stream into one buffer (what readers that check a backup whole need): only the
 * plaintext is held, never the ciphertext too. `onProgress` counts the encrypted bytes read, of
 * `total` when known (the file's size).
 */
export async function decryptToBuffer(
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ids: Identities,
  what: string,
  opts: { total?: number | null; onProgress?: (p: Progress) => void } = {},
): Promise<Buffer> {
  let done = 0;
  const counted = async function* (): AsyncGenerator<Uint8Array> {
    for await (const c of src) {
      done += c.length;
      opts.onProgress?.({ done, total: opts.total ?? null, unit: 'bytes' });
      yield c;
    }
  };
  const parts: Buffer[] = [];
  for await (const c of decrypt(opts.onProgress ? counted() : src, ids, what)) parts.push(c);
  return Buffer.concat(parts);
}

/** Decrypts a whole age file held in memory. */
export function decryptAll(data: Buffer, ids: Identities, what: string): Promise<Buffer> {
  return decryptToBuffer([data], ids, what);
}

/**
 * What decrypts of the first bytes of an age file (the head of a longer one): every whole chunk
 * they hold but the last one seen. The key is checked; the cut-off end is expected, not damage.
 */
export async function decryptPrefix(head: Buffer, ids: Identities, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const c of decrypt([head], ids, what)) parts.push(c);
  } catch (e) {
    // the cut-off end fails its check: what came before it was authenticated
    if (!(e instanceof EncryptedDataError)) throw e;
  }
  return Buffer.concat(parts);
}

/** Ciphertext bytes that hold at least `plain` bytes of plaintext, plus one chunk so they are handed out (STREAM, 64 KiB + 16). */
export function cipherBytesFor(plain: number, headerAllowance = 64 * 1024): number {
  const CHUNK = 64 * 1024;
  return headerAllowance + 16 + (Math.ceil(plain / CHUNK) + 1) * (CHUNK + 16);
}

/** The first `n` bytes of a file (fewer when it is shorter). */
async function fileHead(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * A backup file's plain bytes, for any command that reads one: decrypted (streamed from the file,
 * so only the plaintext is held, as for a plain backup) when its header says age, as it is
 * otherwise. Ciphertext that does not authenticate is a damaged backup (BackupCorruptError); a
 * missing or wrong key is a KeyError.
 */
export async function readBackupFileBytes(file: string, ids: Identities, onProgress?: (p: Progress) => void): Promise<Buffer> {
  if (!isEncrypted(await fileHead(file, AGE_MAGIC.length))) return readFileSync(file);
  return decryptBackup(createReadStream(file), ids, file, statSync(file).size, onProgress);
}

/**
 * An encrypted backup's plaintext, from wherever its ciphertext comes (a file stream, an object
 * read whole): ciphertext that does not authenticate is a damaged backup (BackupCorruptError,
 * named by `location`), as a plain backup whose checksum fails.
 */
export async function decryptBackup(
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ids: Identities,
  location: string,
  total: number,
  onProgress?: (p: Progress) => void,
): Promise<Buffer> {
  try {
    return await decryptToBuffer(src, ids, location, { total, ...(onProgress ? { onProgress } : {}) });
  } catch (e) {
    if (e instanceof EncryptedDataError) throw new BackupCorruptError(location, e.message.replace(`${location}: `, ''));
    throw e;
  }
}
