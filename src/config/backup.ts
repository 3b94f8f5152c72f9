// backup.*: Ark's own keys for the continuous archive and scheduled full backups.

import { ConfigError } from './error.js';
import type { BackupConfig } from './serverconfig.js';
import type { SystemProperties } from './settings.js';
import { resolveDir } from './storage.js';
import { checkEndpoint, isS3Url, parseS3Url, type S3Options } from '../util/s3url.js';

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
    ...S3_KEYS,
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
  const archiveDir = isS3Url(dirRaw) ? archiveUrl(sys, dirRaw) : resolveDir(dirRaw, baseDir);
  if (!isS3Url(dirRaw)) {
    for (const k of S3_KEYS) if (sys.get(k) !== undefined) warnings.push(`${sys.key(k)}: ignored, backup.archiveDir is not an s3:// URL`);
  }
  const fileRaw = sys.get('backup.recipientsFile');
  return {
    archiveDir,
    archiveIntervalMs,
    intervalMs,
    retainCount,
    retainHours: retainHours(sys),
    recipients: recipientList(sys.get('backup.recipients')),
    recipientsFile: fileRaw === undefined || fileRaw === '' ? null : resolveDir(fileRaw, baseDir),
    s3: s3Settings(sys),
  };
}

const S3_KEYS = ['backup.s3.endpoint', 'backup.s3.region', 'backup.s3.forcePathStyle'];

function archiveUrl(sys: SystemProperties, raw: string): string {
  try {
    parseS3Url(raw);
    return raw;
  } catch (e) {
    throw new ConfigError(sys.key('backup.archiveDir'), `Invalid value for ${sys.key('backup.archiveDir')}: ${(e as Error).message}`);
  }
}

/**
 * backup.s3.*: how the server reaches the object store of an s3:// archiveDir. Each overrides the
 * environment every AWS tool reads (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION);
 * credentials come only from the environment or the profile files, never from zoo.cfg.
 */
function s3Settings(sys: SystemProperties): S3Options {
  const out: S3Options = {};
  const endpoint = sys.get('backup.s3.endpoint');
  if (endpoint !== undefined && endpoint !== '') {
    const why = checkEndpoint(endpoint);
    if (why) throw new ConfigError(sys.key('backup.s3.endpoint'), `Invalid value for ${sys.key('backup.s3.endpoint')}: ${why}`);
    out.endpoint = endpoint;
  }
  const region = sys.get('backup.s3.region');
  if (region !== undefined && region !== '') {
    if (!/^[a-z0-9-]+$/.test(region))
      throw new ConfigError(
        sys.key('backup.s3.region'),
        `Invalid value for ${sys.key('backup.s3.region')}: '${region}' is not a region name (e.g. eu-west-1)`,
      );
    out.region = region;
  }
  const pathStyle = sys.get('backup.s3.forcePathStyle');
  if (pathStyle !== undefined) {
    if (!/^(true|false)$/i.test(pathStyle))
      throw new ConfigError(
        sys.key('backup.s3.forcePathStyle'),
        `Invalid value for ${sys.key('backup.s3.forcePathStyle')}: '${pathStyle}' must be true or false`,
      );
    out.forcePathStyle = pathStyle.toLowerCase() === 'true';
  }
  return out;
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
