// A real S3 API server for the tests: s3rver (npm), on a free loopback port, its objects in a temp
// dir. s3rver knows one account, access key id S3RVER with secret S3RVER: a request signed with
// another access key id is refused (InvalidAccessKeyId, 403). It does not check SigV4 signatures
// (a wrong secret with the right key id passes), ignores If-None-Match on writes, and has no
// ListMultipartUploads or AbortMultipartUpload (lib/routes.js of s3rver 3.7.1).
import { createRequire } from 'node:module';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './servers.js';

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: import('node:http').Server;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

export interface RunningS3 {
  endpoint: string;
  /** where s3rver keeps the bucket's objects and multipart parts */
  dir: string;
  /** the environment an AWS tool needs to use it */
  env: Record<string, string>;
  /** multipart uploads begun and not completed or aborted (their parts on s3rver's disk) */
  pendingUploads(bucket: string): string[];
  stop(): Promise<void>;
}

export const S3_ACCESS_KEY = 'S3RVER';

/** Starts s3rver with the given buckets (others do not exist). */
export async function startS3(buckets: string[]): Promise<RunningS3> {
  const S3rver = require('s3rver') as S3rverCtor;
  const dir = tempDir('s3');
  const port = await freePort();
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    directory: dir,
    silent: true,
    // buckets in the path only (http://host/bucket/key): what a custom endpoint gets from Ark
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    dir,
    env: {
      AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: S3_ACCESS_KEY,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: endpoint,
    },
    pendingUploads(bucket: string): string[] {
      // s3rver's filesystem store: <dir>/<bucket>/._S3rver_uploads/<uploadId>/
      const uploads = join(dir, bucket, '._S3rver_uploads');
      return existsSync(uploads) ? readdirSync(uploads) : [];
    },
    async stop() {
      // the tests' own clients keep connections alive: close() alone would wait for them
      server.httpServer?.closeAllConnections();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
