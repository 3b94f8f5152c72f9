// The local archive store: exclusive creation, and the sweep of writes their writer abandoned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArchiveStore } from '../../src/backup/store.js';
import { ABANDONED_WRITE_MS, removeAbandonedWrites } from '../../src/backup/archive.js';

test('createExclusive: the first writer of a name wins, the second is told, and no temp file stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ark-store-'));
  const store = new LocalArchiveStore(dir);
  assert.equal(await store.createExclusive('txns/a', Buffer.from('one')), true);
  assert.equal(await store.createExclusive('txns/a', Buffer.from('two')), false);
  assert.equal((await store.read('txns/a')).toString(), 'one');
  assert.deepEqual(readdirSync(join(dir, 'txns')), ['a']);
});

test("temp files a killed writer left go once untouched for an hour; younger ones (a write in progress) and the archive's files stay", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ark-store-'));
  const store = new LocalArchiveStore(dir);
  for (const folder of ['txns', 'backups']) mkdirSync(join(dir, folder));
  const now = Date.now();
  const file = (path: string, ageMs: number): void => {
    writeFileSync(join(dir, path), 'x');
    const t = (now - ageMs) / 1000;
    utimesSync(join(dir, path), t, t);
  };
  file('.tmp-123-aaaaaaaaaaaa', ABANDONED_WRITE_MS + 1000); // status.json's temp
  file('txns/.tmp-123-bbbbbbbbbbbb', ABANDONED_WRITE_MS + 1000);
  file('backups/.tmp-123-cccccccccccc', 2 * ABANDONED_WRITE_MS);
  file('backups/.tmp-456-dddddddddddd', 60_000); // being written
  file('txns/txns.start', 3 * ABANDONED_WRITE_MS); // old, but the archive's
  file('txns/.keep', 3 * ABANDONED_WRITE_MS); // not ours
  assert.equal(await removeAbandonedWrites(store, now), 3);
  assert.deepEqual(readdirSync(dir).sort(), ['backups', 'txns']);
  assert.deepEqual(readdirSync(join(dir, 'txns')).sort(), ['.keep', 'txns.start']);
  assert.deepEqual(readdirSync(join(dir, 'backups')), ['.tmp-456-dddddddddddd']);
  assert.equal(await removeAbandonedWrites(new LocalArchiveStore(join(dir, 'none')), now), 0, 'an archive not made yet');
});
