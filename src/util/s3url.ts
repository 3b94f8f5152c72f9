// Where a backup or an archive is: a local (or mounted) path, or an object-storage URL
// s3://bucket/prefix. Parsing only: nothing here loads the AWS SDK, so zoo.cfg can be checked
// (and a local backup read) without it.

/** How to reach an S3-compatible service; what is unset comes from the AWS SDK's defaults (env, profile files). */
export interface S3Options {
  /** an S3-compatible endpoint (http(s)://host:port); unset: AWS, by region */
  endpoint?: string;
  region?: string;
  /** bucket in the path (http://host/bucket/key) rather than the host name; default: on for a custom endpoint */
  forcePathStyle?: boolean;
}

export interface S3Location {
  bucket: string;
  /** the key prefix, '' or ending in '/' for an archive; the whole key for one backup file */
  key: string;
}

export class LocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocationError';
  }
}

export const isS3Url = (location: string): boolean => /^s3:\/\//i.test(location);

/**
 * Bucket names as S3 allows them for new buckets (3-63 characters: lower-case letters, digits,
 * dots, hyphens; starting and ending with a letter or digit):
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** s3://bucket/key, with a clear error for what is not one. */
export function parseS3Url(location: string): S3Location {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(location);
  if (!m) throw new LocationError(`${location} is not an s3:// URL (expected s3://bucket/prefix)`);
  const bucket = m[1]!;
  const key = m[2]!;
  if (!BUCKET.test(bucket))
    throw new LocationError(
      `${location}: '${bucket}' is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens, e.g. s3://my-backups/ark)`,
    );
  if (key.split('/').some((part, i, all) => part === '' && i < all.length - 1))
    throw new LocationError(`${location}: the key has an empty part ('//'); write s3://${bucket}/a/b`);
  return { bucket, key };
}

/** The prefix under which an archive's objects live: the URL's key as a folder ('' or 'a/b/'). */
export function archivePrefix(loc: S3Location): string {
  return loc.key === '' || loc.key.endsWith('/') ? loc.key : `${loc.key}/`;
}

/** A backup file's URL: it names an object, not a folder. */
export function parseS3File(location: string): S3Location {
  const loc = parseS3Url(location);
  if (loc.key === '' || loc.key.endsWith('/'))
    throw new LocationError(`${location} names a folder, not a backup file (e.g. s3://${loc.bucket}/backups/app.arkb)`);
  return loc;
}

/**
 * The options every AWS tool takes from the environment, with explicit ones (zoo.cfg) first:
 * AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL (the SDKs' service-specific endpoint settings:
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html); AWS_REGION is read
 * by the SDK itself. Credentials are never here: the SDK's default chain finds them
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the profile files, instance roles).
 */
export function s3Options(explicit: S3Options = {}, env: NodeJS.ProcessEnv = process.env): S3Options {
  const endpoint = explicit.endpoint ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const out: S3Options = { ...explicit };
  if (endpoint !== undefined) out.endpoint = endpoint;
  // a custom endpoint rarely has a DNS name per bucket (MinIO, Ceph, s3rver, a local proxy)
  if (out.forcePathStyle === undefined && endpoint !== undefined) out.forcePathStyle = true;
  return out;
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

/** A custom endpoint must be an http(s) URL; the error says why not. */
export function checkEndpoint(endpoint: string): string | null {
  try {
    const u = new URL(endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `'${endpoint}' is not an http:// or https:// URL`;
    return null;
  } catch {
    return `'${endpoint}' is not a URL (expected e.g. http://127.0.0.1:9000)`;
  }
}
