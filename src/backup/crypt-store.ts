// An archive whose data is encrypted at rest (crypt.ts, the age format), over any ArchiveStore
// (a local directory, object storage): it encrypts what it writes to the recipients and decrypts
// what it reads with the identities; everything else passes through.
//
// The servers that write an archive hold only public keys, yet must read back what the archiver
// plans with (docs/ARCHITECTURE.md, "The archive"): object names, and each link's header (zxids,
// count, times, the checksum of its last txn). So an object may keep a clear head: its first
// `clearHead(path)` bytes are written in clear AND inside the encrypted copy of the whole object
//
//   txns/<link>        clear 64-byte chunk header, then age(the whole plain chunk, header included)
//   backups/<backup>   age(the whole plain backup file): `age -d` alone gives a file Ark reads
//   status.json        clear (a zxid, a time and a server id)
//   a jump             clear (a header alone: it holds no txn)
//
// A reader (with an identity) gets the plain object; the clear head must equal the decrypted one,
// so altering it is caught. A reader without one still gets the clear head (readHead within it):
// the server's planner works from public keys alone. A store that is not encrypted reads as
// before, so one reader handles both, and an archive written partly before encryption was turned on.
import {
  EncryptedDataError,
  NO_IDENTITIES,
  cipherBytesFor,
  decryptAll,
  decryptPrefix,
  encrypt,
  isEncrypted,
  type Identities,
} from './crypt.js';
import { TXNS } from './archive.js';
import { CHUNK_HEADER_BYTES } from './chunk.js';
import type { ArchiveStore, StoredObject } from './store.js';

export interface ArchiveKeys {
  /** the public keys new objects are encrypted to (none: written in clear) */
  recipients: readonly string[];
  /** the private keys objects are read with */
  identities: Identities;
}

/** The first bytes of `data` (at most `n`), and the rest as it comes. */
async function splitHead(data: Buffer | AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  if (Buffer.isBuffer(data))
    return {
      head: data.subarray(0, n),
      rest: (async function* () {
        yield data.subarray(n);
      })(),
    };
  const it = data[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const r = await it.next();
    if (r.done) break;
    got.push(r.value);
    have += r.value.length;
  }
  const all = Buffer.concat(got);
  const rest = (async function* () {
    if (all.length > n) yield all.subarray(n);
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  })();
  return { head: all.subarray(0, n), rest };
}

export class EncryptedArchiveStore implements ArchiveStore {
  constructor(
    private readonly inner: ArchiveStore,
    private readonly keys: ArchiveKeys,
    /** how many first bytes of the object at `path` stay in clear (what a server plans with) */
    private readonly clearHead: (path: string) => number,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  list(folder: string): Promise<StoredObject[]> {
    return this.inner.list(folder);
  }

  async read(path: string): Promise<Buffer> {
    const raw = await this.inner.read(path);
    const n = this.clearHead(path);
    if (raw.length <= n || !isEncrypted(raw.subarray(n))) return raw;
    const plain = await decryptAll(raw.subarray(n), this.keys.identities, path);
    if (n > 0 && !plain.subarray(0, n).equals(raw.subarray(0, n)))
      throw new EncryptedDataError(`${path}: its clear header differs from the encrypted one: the object was altered`);
    return plain;
  }

  async readHead(path: string, bytes: number): Promise<Buffer> {
    const n = this.clearHead(path);
    // within the clear head: the same bytes the plain object starts with, no key needed
    if (bytes <= n) return this.inner.readHead(path, bytes);
    const raw = await this.inner.readHead(path, n + cipherBytesFor(bytes));
    if (raw.length <= n || !isEncrypted(raw.subarray(n))) return raw.subarray(0, bytes);
    return (await decryptPrefix(raw.subarray(n), this.keys.identities, path)).subarray(0, bytes);
  }

  async createExclusive(path: string, data: Buffer | AsyncIterable<Buffer>): Promise<boolean> {
    if (this.keys.recipients.length === 0) return this.inner.createExclusive(path, data);
    const n = this.clearHead(path);
    const { head, rest } = await splitHead(data, n);
    const recipients = this.keys.recipients;
    async function* sealed(): AsyncGenerator<Buffer> {
      const first = await rest[Symbol.asyncIterator]().next();
      // a header alone (a jump) holds nothing secret
      if (n > 0 && (first.done || first.value.length === 0) && head.length <= n) {
        yield head;
        return;
      }
      yield head;
      yield* encrypt(
        (async function* () {
          yield head;
          if (!first.done) yield first.value;
          yield* rest;
        })(),
        recipients,
      );
    }
    if (n === 0) return this.inner.createExclusive(path, encrypt(rest, recipients));
    return this.inner.createExclusive(path, sealed());
  }

  put(path: string, data: Buffer): Promise<void> {
    return this.inner.put(path, data);
  }

  remove(path: string): Promise<void> {
    return this.inner.remove(path);
  }

  removeAbandoned(folder: string, olderThanMs: number, now: number): Promise<number> {
    return this.inner.removeAbandoned(folder, olderThanMs, now);
  }
}

/** `store` with keys: encrypted writes when there are recipients, decrypted reads with the identities. */
export function withKeys(store: ArchiveStore, keys: Partial<ArchiveKeys>, clearHead: (path: string) => number): ArchiveStore {
  return new EncryptedArchiveStore(store, { recipients: keys.recipients ?? [], identities: keys.identities ?? NO_IDENTITIES }, clearHead);
}

/** Which first bytes of an archive object stay in clear: a link's chunk header (what the archiver plans with). */
export function archiveClearHead(path: string): number {
  return path.startsWith(`${TXNS}/`) ? CHUNK_HEADER_BYTES : 0;
}

/** An archive (archive.ts's layout) with keys. */
export function archiveWithKeys(store: ArchiveStore, keys: Partial<ArchiveKeys>): ArchiveStore {
  return withKeys(store, keys, archiveClearHead);
}
