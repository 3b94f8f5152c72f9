// backup.*: Ark's own keys for the continuous archive and scheduled full backups.

import { ConfigError } from './error.js';
import type { BackupConfig } from './serverconfig.js';
import type { SystemProperties } from './settings.js';
import { resolveDir } from './storage.js';

/** backup.archiveIntervalMs: the newest committed txns reach the archive within a minute */
export const DEFAULT_ARCHIVE_INTERVAL_MS = 60000;

/** The archive's settings; every other backup.* key needs backup.archiveDir, and is ignored with a warning without it. */
export function backupSettings(sys: SystemProperties, baseDir: string | undefined, warnings: string[]): BackupConfig | null {
  const others = [
    'backup.archiveIntervalMs',
    'backup.intervalMs',
    'backup.retainCount',
    'backup.retainHours',
    'backup.recipients',
    'backup.recipientsFile',
  ];
  const dirRaw = sys.get('backup.archiveDir');
  if (dirRaw === undefined || dirRaw === '') {
    for (const k of others) {
      if (sys.get(k) !== undefined)
        warnings.push(`${sys.key(k)}: ignored, backup.archiveDir is not set (no archive, no scheduled backups)`);
    }
    return null;
  }
  const archiveIntervalMs = sys.long('backup.archiveIntervalMs', DEFAULT_ARCHIVE_INTERVAL_MS, 1, 'a positive number of milliseconds');
  const intervalMs = sys.long('backup.intervalMs', 0, 0, 'zero (no scheduled backups) or a positive number of milliseconds');
  const retainCount = sys.long('backup.retainCount', 0, 0, 'zero (no count limit) or a positive number of backups');
  const fileRaw = sys.get('backup.recipientsFile');
  return {
    archiveDir: resolveDir(dirRaw, baseDir),
    archiveIntervalMs,
    intervalMs,
    retainCount,
    retainHours: retainHours(sys),
    recipients: recipientList(sys.get('backup.recipients')),
    recipientsFile: fileRaw === undefined || fileRaw === '' ? null : resolveDir(fileRaw, baseDir),
  };
}

/** backup.retainHours: a decimal number of hours (fractions allowed, unlike the Long settings). */
function retainHours(sys: SystemProperties): number {
  const raw = sys.get('backup.retainHours');
  if (raw === undefined) return 0;
  const key = sys.key('backup.retainHours');
  const hours = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(hours))
    throw new ConfigError(key, `Invalid value for ${key}: '${raw}' must be zero (no age limit) or a positive number of hours`);
  return hours;
}

/**
 * backup.recipients: age public keys separated by commas or spaces (a zoo.cfg value is one line).
 * Only split here: whether each is a key is checked at start-up (runtime/archivekeys.ts), which
 * reads backup.recipientsFile too; config reads no files.
 */
function recipientList(raw: string | undefined): string[] {
  return (raw ?? '').split(/[\s,]+/).filter((r) => r !== '');
}
