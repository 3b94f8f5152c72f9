// s3:// URLs and the S3 settings: what parses, what is refused and why, what the environment gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archivePrefix, LocationError, parseS3File, parseS3Url, s3Options } from '../../src/util/s3url.js';
import { describeS3Error } from '../../src/backup/s3store.js';

test('s3 URLs: bucket and key, archive prefixes, files', () => {
  assert.deepEqual(parseS3Url('s3://my-bucket/a/b'), { bucket: 'my-bucket', key: 'a/b' });
  assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', key: '' });
  assert.equal(archivePrefix(parseS3Url('s3://my-bucket/a/b')), 'a/b/');
  assert.equal(archivePrefix(parseS3Url('s3://my-bucket/a/b/')), 'a/b/');
  assert.equal(archivePrefix(parseS3Url('s3://my-bucket')), '');
  assert.throws(() => parseS3Url('s3://My_Bucket/x'), LocationError);
  assert.throws(() => parseS3Url('s3://ok-bucket/a//b'), /empty part/);
  assert.throws(() => parseS3File('s3://ok-bucket/dir/'), /names a folder/);
  assert.deepEqual(parseS3File('s3://ok-bucket/dir/b.arkb'), { bucket: 'ok-bucket', key: 'dir/b.arkb' });
});

test('s3 options: explicit settings over AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL; path style with a custom endpoint', () => {
  assert.deepEqual(s3Options({}, {}), {});
  assert.deepEqual(s3Options({}, { AWS_ENDPOINT_URL: 'http://b:1' }), { endpoint: 'http://b:1', forcePathStyle: true });
  assert.deepEqual(s3Options({}, { AWS_ENDPOINT_URL: 'http://b:1', AWS_ENDPOINT_URL_S3: 'http://s:2' }), {
    endpoint: 'http://s:2',
    forcePathStyle: true,
  });
  assert.deepEqual(s3Options({ endpoint: 'http://c:3', forcePathStyle: false }, { AWS_ENDPOINT_URL_S3: 'http://s:2' }), {
    endpoint: 'http://c:3',
    forcePathStyle: false,
  });
});

test('S3 errors become one line naming the URL', () => {
  const sdk = (name: string, status: number): Error =>
    Object.assign(new Error('x'), { name, Code: name, $metadata: { httpStatusCode: status } });
  assert.match(describeS3Error(sdk('NoSuchBucket', 404), 's3://b/p', 'b', 'E').message, /^s3:\/\/b\/p: the bucket 'b' does not exist at E/);
  assert.match(describeS3Error(sdk('SignatureDoesNotMatch', 403), 's3://b/p', 'b', 'E').message, /^s3:\/\/b\/p: access denied by E/);
  const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.match(describeS3Error(net, 's3://b/p', 'b', 'E').message, /^s3:\/\/b\/p: cannot reach the S3 endpoint E \(ECONNREFUSED\)/);
});
