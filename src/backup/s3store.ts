// An archive (or one backup file) in S3-compatible object storage, through the AWS SDK v3.
//
// Exclusive creation: a write names its object only when complete. A small object is one
// PutObject; a large one is a multipart upload, and S3 shows nothing under the key until
// CompleteMultipartUpload (an upload killed midway leaves parts, never an object; they are
// aborted on error here, and by removeAbandoned after the writer died). Both carry
// `If-None-Match: *`, so the server refuses (412) to replace an object another member created
// first: AWS S3 honours it on PutObject and CompleteMultipartUpload since August 2024
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html), as do recent
// MinIO, Ceph RGW and Cloudflare R2.
//
// A server that ignores the header (s3rver, older S3-compatible servers) gets a HEAD before the
// upload starts and again just before it completes, nothing stronger: two members that both pass
// the last HEAD before either completes both "win", and the later object replaces the earlier
// (S3 replaces whole objects atomically: a reader sees one or the other, never a mix). In the
// archive (archiver.ts) that takes two members writing the same name within one round trip: the
// duty member and a member stepping in after staleMs, or an old leader that has not noticed the
// new one, or two members filling one hole. Both objects are whole and hold the same committed
// txns (or the same state, for a backup at one zxid); the one that stays may end at another zxid
// than its loser believes, which the next refresh sees (listLinks re-reads a link whose size or
// time changed): a link continuing the loser's end is then either unlinked (harmless, reported)
// or the chain has a break that a member holding those txns fills again. So no txn is lost
// without being reported, but the exclusivity that makes each position have exactly one successor
// holds only on a server that honours conditional writes.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type ListMultipartUploadsCommandOutput,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { ArchiveStore, StoredObject } from './store.js';
import { archivePrefix, parseS3Url, s3Options, type S3Location, type S3Options } from '../util/s3url.js';

/** Bytes uploaded so far (the house's progress callback: the command line shows it). */
export type OnProgress = (p: { done: number; total: number | null; unit: string }) => void;

/** Something went wrong talking to the object store: the message names the URL and what to check. */
export class S3StoreError extends Error {
  constructor(
    message: string,
    /** the S3 error code or network error code, when there was one */
    readonly code: string,
  ) {
    super(message);
    this.name = 'S3StoreError';
  }
}

/**
 * Part size of a multipart upload. S3 wants at least 5 MiB per part but the last, at most 10,000
 * parts: 8 MiB parts reach 80 GB, far beyond a coordination service's data. One part is read
 * while the previous one uploads: memory stays at two parts whatever the backup's size.
 */
export const PART_BYTES = 8 * 1024 * 1024;

export function makeS3Client(opts: S3Options): S3Client {
  const o = s3Options(opts);
  const custom = o.endpoint !== undefined;
  return new S3Client({
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
    // a custom endpoint (MinIO, s3rver) does not care which region a request is signed for
    ...(o.region !== undefined ? { region: o.region } : custom && !process.env.AWS_REGION ? { region: 'us-east-1' } : {}),
    forcePathStyle: o.forcePathStyle === true,
    // the SDK's default checksums (CRC32 trailers on streamed bodies) are not understood by every
    // S3-compatible server; the archive checks its own (each chunk and backup carries a CRC)
    ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
    maxAttempts: 3,
    // an unreachable endpoint fails in seconds, not after the OS's TCP timeout
    requestHandler: { connectionTimeout: 5000 },
  });
}

type SdkError = Error & { Code?: string; code?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown };

const status = (e: unknown): number | undefined => (e as SdkError).$metadata?.httpStatusCode;
const codeOf = (e: unknown): string => {
  const err = e as SdkError;
  const cause = err.cause as SdkError | undefined;
  return err.Code ?? err.code ?? cause?.code ?? err.name ?? 'Error';
};

const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
]);

/** One line for an operator: which URL, what went wrong, what to check. */
export function describeS3Error(e: unknown, url: string, bucket: string, endpoint: string): S3StoreError {
  if (e instanceof S3StoreError) return e;
  const code = codeOf(e);
  const msg = (e as Error).message ?? String(e);
  if (code === 'NoSuchBucket')
    return new S3StoreError(`${url}: the bucket '${bucket}' does not exist at ${endpoint} (create it, or fix the URL)`, code);
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken'].includes(code) || status(e) === 403)
    return new S3StoreError(
      `${url}: access denied by ${endpoint} (${code}): check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and that they may use the bucket '${bucket}'`,
      code,
    );
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(msg))
    return new S3StoreError(
      `${url}: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (with ~/.aws/credentials)`,
      code,
    );
  if (/Region is missing/i.test(msg))
    return new S3StoreError(`${url}: no AWS region: set AWS_REGION (for a server: backup.s3.region)`, code);
  if (NETWORK.has(code) || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|socket hang up|timed? ?out/i.test(msg))
    return new S3StoreError(`${url}: cannot reach the S3 endpoint ${endpoint} (${code === 'Error' ? msg : code})`, code);
  return new S3StoreError(`${url}: ${endpoint} answered ${code}${status(e) ? ` (HTTP ${status(e)})` : ''}: ${msg}`, code);
}

/** an error of the SDK or of the connection, rather than of the data being written */
const fromSdk = (e: unknown): boolean => (e as SdkError).$metadata !== undefined || NETWORK.has(codeOf(e)) || e instanceof S3StoreError;

const isNotFound = (e: unknown): boolean =>
  ['NotFound', 'NoSuchKey'].includes(codeOf(e)) || (status(e) === 404 && codeOf(e) !== 'NoSuchBucket');
/** the conditional write lost: another writer created the key first (412), or is completing it now (409) */
const isTaken = (e: unknown): boolean =>
  ['PreconditionFailed', 'ConditionalRequestConflict'].includes(codeOf(e)) || status(e) === 412 || status(e) === 409;

async function bodyBytes(body: unknown): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body as Readable) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

/** Reads `data` in parts of at least `size` bytes (the last may be shorter; none when empty). */
async function* partsOf(data: Buffer | AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(data)) {
    for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
    return;
  }
  let held: Buffer[] = [];
  let n = 0;
  for await (const c of data) {
    held.push(c);
    n += c.length;
    if (n >= size) {
      yield Buffer.concat(held);
      held = [];
      n = 0;
    }
  }
  if (n > 0) yield Buffer.concat(held);
}

export class S3ArchiveStore implements ArchiveStore {
  readonly location: string;
  private readonly loc: S3Location;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly endpoint: string;

  constructor(url: string, opts: S3Options = {}, client?: S3Client) {
    this.loc = parseS3Url(url);
    this.prefix = archivePrefix(this.loc);
    this.location = `s3://${this.loc.bucket}/${this.prefix}`.replace(/\/$/, '');
    const o = s3Options(opts);
    this.endpoint = o.endpoint ?? 'AWS S3';
    this.client = client ?? makeS3Client(opts);
  }

  private key(path: string): string {
    return `${this.prefix}${path}`;
  }

  /** Runs one SDK call; its failure becomes one clear S3StoreError. */
  private async call<T>(what: () => Promise<T>, path?: string): Promise<T> {
    try {
      return await what();
    } catch (e) {
      throw describeS3Error(e, path === undefined ? this.location : `${this.location}/${path}`, this.loc.bucket, this.endpoint);
    }
  }

  async list(folder: string): Promise<StoredObject[]> {
    const prefix = folder === '' ? this.prefix : this.key(`${folder}/`);
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key === prefix) continue;
        const name = o.Key.slice(prefix.length);
        out.push({ path: folder === '' ? name : `${folder}/${name}`, bytes: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async read(path: string): Promise<Buffer> {
    const res = await this.call(async () => {
      try {
        return await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key: this.key(path) }));
      } catch (e) {
        if (isNotFound(e)) throw new S3StoreError(`${this.location}/${path}: no such object`, 'NoSuchKey');
        throw e;
      }
    }, path);
    return this.call(() => bodyBytes(res.Body), path);
  }

  async readHead(path: string, bytes: number): Promise<Buffer> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.loc.bucket, Key: this.key(path), Range: `bytes=0-${Math.max(0, bytes - 1)}` }),
      );
      return (await bodyBytes(res.Body)).subarray(0, bytes);
    } catch (e) {
      // an empty object has no byte 0 to start a range at
      if (codeOf(e) === 'InvalidRange' || status(e) === 416) return Buffer.alloc(0);
      if (isNotFound(e)) throw new S3StoreError(`${this.location}/${path}: no such object`, 'NoSuchKey');
      throw describeS3Error(e, `${this.location}/${path}`, this.loc.bucket, this.endpoint);
    }
  }

  /** The size of the object under `path` (HEAD), null when there is none. */
  async size(path: string): Promise<number | null> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key: this.key(path) }));
      return h.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw describeS3Error(e, `${this.location}/${path}`, this.loc.bucket, this.endpoint);
    }
  }

  /** Whether an object is under `path` (HEAD). */
  async exists(path: string): Promise<boolean> {
    return (await this.size(path)) !== null;
  }

  async createExclusive(path: string, data: Buffer | AsyncIterable<Buffer>, onProgress?: OnProgress): Promise<boolean> {
    return this.write(path, data, true, onProgress);
  }

  /**
   * Writes `data` under `path` as one PutObject or, past one part, a multipart upload that shows
   * nothing until it completes. `exclusive`: only if nothing is there (see the header for what a
   * server that ignores If-None-Match gives). False when the name was taken.
   */
  async write(path: string, data: Buffer | AsyncIterable<Buffer>, exclusive: boolean, onProgress?: OnProgress): Promise<boolean> {
    if (exclusive && (await this.exists(path))) return false;
    const parts = partsOf(data, PART_BYTES);
    const first = await parts.next();
    const firstPart = first.done ? Buffer.alloc(0) : first.value;
    const second = first.done ? { done: true as const, value: undefined } : await parts.next();
    if (second.done) {
      // the whole object fits in one part: one PutObject, atomic
      const ok = await this.put1(path, firstPart, exclusive);
      if (ok) onProgress?.({ done: firstPart.length, total: firstPart.length, unit: 'bytes' });
      return ok;
    }
    return this.multipart(path, firstPart, second.value, parts, exclusive, onProgress);
  }

  private async put1(path: string, body: Buffer, exclusive: boolean): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.loc.bucket, Key: this.key(path), Body: body, ...(exclusive ? { IfNoneMatch: '*' } : {}) }),
      );
      return true;
    } catch (e) {
      if (exclusive && isTaken(e)) return false;
      throw describeS3Error(e, `${this.location}/${path}`, this.loc.bucket, this.endpoint);
    }
  }

  private async multipart(
    path: string,
    p1: Buffer,
    p2: Buffer,
    rest: AsyncGenerator<Buffer>,
    exclusive: boolean,
    onProgress?: OnProgress,
  ): Promise<boolean> {
    const Bucket = this.loc.bucket;
    const Key = this.key(path);
    const url = `${this.location}/${path}`;
    const created = await this.call(() => this.client.send(new CreateMultipartUploadCommand({ Bucket, Key })), path);
    const UploadId = created.UploadId!;
    const done: CompletedPart[] = [];
    let sent = 0;
    const upload = async (PartNumber: number, Body: Buffer): Promise<void> => {
      const r = await this.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body }));
      done.push({ PartNumber, ETag: r.ETag! });
      sent += Body.length;
      onProgress?.({ done: sent, total: null, unit: 'bytes' });
    };
    try {
      // one part uploads while the next is read: at most two parts in memory
      let inFlight = upload(1, p1);
      inFlight.catch(() => undefined);
      let n = 2;
      let next: Buffer | undefined = p2;
      while (next !== undefined) {
        const part: Buffer = next;
        await inFlight;
        inFlight = upload(n++, part);
        // handled below (awaited before the next part); not an unhandled rejection meanwhile
        inFlight.catch(() => undefined);
        const r = await rest.next();
        next = r.done ? undefined : r.value;
      }
      await inFlight;
      // narrows the race on a server that ignores If-None-Match to the completion itself
      if (exclusive && (await this.exists(path))) {
        await this.abort(Key, UploadId);
        return false;
      }
      done.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: done },
          ...(exclusive ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return true;
    } catch (e) {
      await rest.return(undefined).catch(() => undefined); // stop reading the source
      await this.abort(Key, UploadId);
      if (exclusive && isTaken(e)) return false;
      // the data's own failure (a snapshot that could not be read) stays what it is
      throw fromSdk(e) ? describeS3Error(e, url, this.loc.bucket, this.endpoint) : e;
    }
  }

  /** Best effort: a server without AbortMultipartUpload (s3rver) keeps the parts, never an object. */
  private async abort(Key: string, UploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.loc.bucket, Key, UploadId })).catch(() => undefined);
  }

  async put(path: string, data: Buffer): Promise<void> {
    await this.put1(path, data, false);
  }

  async remove(path: string): Promise<void> {
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: this.key(path) })), path);
  }

  /**
   * Aborts multipart uploads into `folder` whose newest part (or start, without parts) is older
   * than `olderThanMs`: a writer killed mid-upload. An upload in progress adds a part every
   * PART_BYTES, which keeps it young. A server without ListMultipartUploads (s3rver) has nothing
   * this can list: 0 (a bucket lifecycle rule, AbortIncompleteMultipartUpload, does it on AWS).
   */
  async removeAbandoned(folder: string, olderThanMs: number, now: number): Promise<number> {
    const Prefix = folder === '' ? this.prefix : this.key(`${folder}/`);
    let removed = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    do {
      let page: ListMultipartUploadsCommandOutput;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.loc.bucket, Prefix, Delimiter: '/', KeyMarker, UploadIdMarker }),
        );
      } catch (e) {
        if (codeOf(e) === 'NotImplemented' || status(e) === 501) return removed;
        throw describeS3Error(e, this.location, this.loc.bucket, this.endpoint);
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || now - (u.Initiated?.getTime() ?? 0) < olderThanMs) continue;
        if (now - (await this.lastTouched(u.Key, u.UploadId, u.Initiated?.getTime() ?? 0)) < olderThanMs) continue;
        await this.abort(u.Key, u.UploadId);
        removed++;
      }
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (KeyMarker);
    return removed;
  }

  private async lastTouched(Key: string, UploadId: string, initiated: number): Promise<number> {
    let newest = initiated;
    let PartNumberMarker: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new ListPartsCommand({ Bucket: this.loc.bucket, Key, UploadId, PartNumberMarker })),
      );
      for (const p of page.Parts ?? []) newest = Math.max(newest, p.LastModified?.getTime() ?? 0);
      PartNumberMarker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (PartNumberMarker);
    return newest;
  }
}
