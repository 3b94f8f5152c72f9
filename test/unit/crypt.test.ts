// Encryption at rest without servers: the age streams, key files as age reads them, and the
// archive wrapper that keeps what a server plans with (a link's header) in clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import {
  AGE_MAGIC,
  EncryptedDataError,
  KeyError,
  decrypt,
  decryptAll,
  encrypt,
  loadRecipients,
  readIdentityFiles,
  type Identities,
} from '../../src/backup/crypt.js';
import { archiveWithKeys } from '../../src/backup/crypt-store.js';
import { encodeChunkHeader, CHUNK_HEADER_BYTES } from '../../src/backup/chunk.js';
import { LocalArchiveStore } from '../../src/backup/store.js';
import { readBackupMeta } from '../../src/backup/archive.js';
import { backupMeta, backupStream } from '../../src/backup/format.js';

async function keyPair(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateIdentity();
  return { identity, recipient: await identityToRecipient(identity) };
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const ids = (identity: string): Identities => ({ files: ['k.txt'], keys: [identity] });

test('a stream encrypted to two recipients decrypts with either key, chunk by chunk; a cut or changed byte is damage', async () => {
  const a = await keyPair();
  const b = await keyPair();
  const plain = randomBytes(200_000); // four STREAM chunks
  const pieces = async function* (): AsyncGenerator<Buffer> {
    for (let i = 0; i < plain.length; i += 7000) yield plain.subarray(i, i + 7000);
  };
  const sealed = await collect(encrypt(pieces(), [a.recipient, b.recipient]));
  assert.ok(sealed.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC));
  assert.ok((await decryptAll(sealed, ids(a.identity), 'f')).equals(plain));
  assert.ok((await collect(decrypt([sealed], ids(b.identity), 'f'))).equals(plain));
  await assert.rejects(decryptAll(sealed.subarray(0, sealed.length - 1), ids(a.identity), 'f'), EncryptedDataError);
  const changed = Buffer.from(sealed);
  changed[sealed.length - 70_000]! ^= 0x40;
  await assert.rejects(decryptAll(changed, ids(a.identity), 'f'), EncryptedDataError);
  const other = await keyPair();
  await assert.rejects(
    decryptAll(sealed, ids(other.identity), 'f'),
    (e: Error) => e instanceof KeyError && /--identity k\.txt/.test(e.message),
  );
  await assert.rejects(
    decryptAll(sealed, { files: [], keys: [] }, 'f'),
    (e: Error) => e instanceof KeyError && /give the private key/.test(e.message),
  );
});

test('key files are read as age reads them: comments and blanks skipped, anything else named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ark-keys-'));
  const a = await keyPair();
  writeFileSync(join(dir, 'r.txt'), `# ops\n\n${a.recipient}\n${a.recipient}\n`);
  assert.deepEqual(loadRecipients([a.recipient], [join(dir, 'r.txt')]), [a.recipient]);
  writeFileSync(join(dir, 'ssh.txt'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA x@y\n');
  assert.throws(() => loadRecipients([], [join(dir, 'ssh.txt')]), /is an SSH key/);
  assert.throws(() => loadRecipients(['age1bad'], []), /'age1bad' is not a valid age public key/);
  writeFileSync(join(dir, 'id.txt'), `# created\n${a.identity}\n`);
  assert.deepEqual(readIdentityFiles([join(dir, 'id.txt')]).keys, [a.identity]);
  writeFileSync(join(dir, 'empty.txt'), '# nothing\n');
  assert.throws(
    () => readIdentityFiles([join(dir, 'empty.txt')]),
    (e: Error) => e instanceof KeyError && /holds no private key/.test(e.message),
  );
  assert.throws(() => readIdentityFiles([join(dir, 'r.txt')]), /something other than an age private key/);
  assert.throws(() => readIdentityFiles([join(dir, 'missing.txt')]), /cannot read the identity file/);
});

test('the archive wrapper: a link keeps its header in clear, a jump stays clear, a backup is an age file; a reader with the key gets them plain', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ark-crypt-store-'));
  const k = await keyPair();
  const writer = archiveWithKeys(new LocalArchiveStore(dir), { recipients: [k.recipient] });
  const header = encodeChunkHeader({ prevZxid: 1, firstZxid: 2, lastZxid: 3, count: 2, firstTime: 10, lastTime: 20, lastCrc: 7 });
  const chunk = Buffer.concat([header, Buffer.from('records-with-secret-data')]);
  assert.equal(await writer.createExclusive('txns/txns.0000000000000001', chunk), true);
  const onDisk = readFileSync(join(dir, 'txns/txns.0000000000000001'));
  assert.ok(onDisk.subarray(0, CHUNK_HEADER_BYTES).equals(header), 'the header is in clear');
  assert.ok(onDisk.subarray(CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + AGE_MAGIC.length).equals(AGE_MAGIC));
  assert.equal(onDisk.indexOf('secret'), -1);
  // the server (public keys only) reads the header; reading the records needs the key
  assert.ok((await writer.readHead('txns/txns.0000000000000001', CHUNK_HEADER_BYTES)).equals(header));
  await assert.rejects(writer.read('txns/txns.0000000000000001'), KeyError);
  const reader = archiveWithKeys(new LocalArchiveStore(dir), { identities: ids(k.identity) });
  assert.ok((await reader.read('txns/txns.0000000000000001')).equals(chunk));
  // a jump holds no txn: written as it is
  const jump = encodeChunkHeader({ prevZxid: 3, firstZxid: 9, lastZxid: 9, count: 0, firstTime: 0, lastTime: 0, lastCrc: null });
  assert.equal(await writer.createExclusive('txns/txns.0000000000000003', jump), true);
  assert.ok(readFileSync(join(dir, 'txns/txns.0000000000000003')).equals(jump));
  assert.ok((await reader.read('txns/txns.0000000000000003')).equals(jump));
  // a backup, streamed: an age file whole; its head decrypts without reading all of it
  const backup = randomBytes(300_000);
  const streamed = async function* (): AsyncGenerator<Buffer> {
    for (let i = 0; i < backup.length; i += 50_000) yield backup.subarray(i, i + 50_000);
  };
  assert.equal(await writer.createExclusive('backups/backup.0000000000000009.arkb', streamed()), true);
  assert.ok(readFileSync(join(dir, 'backups/backup.0000000000000009.arkb')).subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC));
  assert.ok((await reader.readHead('backups/backup.0000000000000009.arkb', 70_000)).equals(backup.subarray(0, 70_000)));
  assert.ok((await reader.read('backups/backup.0000000000000009.arkb')).equals(backup));
  // an altered clear header no longer matches the encrypted copy
  const tampered = Buffer.from(onDisk);
  tampered[10]! ^= 1;
  writeFileSync(join(dir, 'txns/txns.0000000000000001'), tampered);
  await assert.rejects(reader.read('txns/txns.0000000000000001'), /clear header differs from the encrypted one/);
  // plain objects (written before encryption was turned on) read as they are
  await new LocalArchiveStore(dir).createExclusive('txns/txns.0000000000000005', chunk);
  assert.ok((await reader.read('txns/txns.0000000000000005')).equals(chunk));
});

test("a backup's metadata reads from the head of an encrypted backup in the archive (what --to-time needs)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ark-crypt-meta-'));
  const k = await keyPair();
  const writer = archiveWithKeys(new LocalArchiveStore(dir), { recipients: [k.recipient] });
  const meta = backupMeta(0x500000003, 2, 'test', new Date('2026-12-07T10:00:00Z'));
  // random bytes: the gzip stream is as long as they are, far more than one STREAM chunk
  const path = 'backups/backup.0000000500000003.arkb';
  assert.equal(
    await writer.createExclusive(
      path,
      backupStream(
        meta,
        (async function* () {
          yield randomBytes(400_000);
        })(),
      ),
    ),
    true,
  );
  const reader = archiveWithKeys(new LocalArchiveStore(dir), { identities: ids(k.identity) });
  assert.deepEqual(await readBackupMeta(reader, path), meta);
  await assert.rejects(readBackupMeta(writer, path), KeyError);
});
