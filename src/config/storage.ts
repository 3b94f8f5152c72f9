// Where and how the server keeps its data: the data directories, purging old snapshots, when it
// fsyncs and snapshots, and the txn log's and snapshots' file settings.

import * as path from 'node:path';
import { ConfigError } from './error.js';
import type { ServerConfig } from './serverconfig.js';
import type { QuorumKeys, SystemProperties } from './settings.js';

export const DEFAULT_SNAP_COUNT = 100000;
/** ZooKeeper's zookeeper.snapSizeLimitInKb default: 4 GB of log between snapshots */
export const DEFAULT_SNAP_SIZE_LIMIT_KB = 4194304;
export const MIN_SNAP_RETAIN_COUNT = 3;
/** ZooKeeper's FilePadding default: 64 MiB (zookeeper.preAllocSize is in KB) */
export const DEFAULT_PREALLOC_KB = 65536;
/** without zookeeper.txnLogSizeLimitInKb (ZooKeeper: no limit) a segment rolls at every snapshot, or at 1 GiB */
export const DEFAULT_TXN_LOG_SEGMENT_BYTES = 1024 * 1024 * 1024;
/** ZKDatabase's default zookeeper.commitLogCount */
export const DEFAULT_COMMIT_LOG_COUNT = 500;
/** FileTxnLog's default zookeeper.fsync.warningthresholdms */
export const DEFAULT_FSYNC_WARNING_THRESHOLD_MS = 1000;

/** A directory from the file: a relative one is taken from baseDir (usually the config file's directory). */
export function resolveDir(dir: string, baseDir: string | undefined): string {
  if (baseDir === undefined || path.isAbsolute(dir)) return dir;
  return path.join(baseDir, dir);
}

/** dataDir (required) and dataLogDir (dataDir when unset). */
export function dataDirectories(q: QuorumKeys, baseDir: string | undefined): Pick<ServerConfig, 'dataDir' | 'dataLogDir'> {
  const dataDirRaw = q.get('dataDir');
  if (dataDirRaw === undefined || dataDirRaw === '') throw new ConfigError('dataDir', 'dataDir is not set');
  const dataDir = resolveDir(dataDirRaw, baseDir);
  const dataLogDirRaw = q.get('dataLogDir');
  const dataLogDir = dataLogDirRaw !== undefined && dataLogDirRaw !== '' ? resolveDir(dataLogDirRaw, baseDir) : dataDir;
  return { dataDir, dataLogDir };
}

/** autopurge.*: how many snapshots to keep (at least 3, as ZooKeeper) and how often to purge (hours, 0 = never). */
export function autopurgeSettings(
  q: QuorumKeys,
  warnings: string[],
): Pick<ServerConfig, 'autopurgeSnapRetainCount' | 'autopurgePurgeIntervalHours'> {
  let autopurgeSnapRetainCount = q.int('autopurge.snapRetainCount') ?? MIN_SNAP_RETAIN_COUNT;
  if (autopurgeSnapRetainCount < MIN_SNAP_RETAIN_COUNT) {
    warnings.push(`autopurge.snapRetainCount: ${autopurgeSnapRetainCount} is below the minimum; using ${MIN_SNAP_RETAIN_COUNT}`);
    autopurgeSnapRetainCount = MIN_SNAP_RETAIN_COUNT;
  }
  const autopurgePurgeIntervalHours = q.int('autopurge.purgeInterval') ?? 0;
  return { autopurgeSnapRetainCount, autopurgePurgeIntervalHours };
}

/**
 * SyncRequestProcessor's settings: snapshot every snapCount txns (at least 2) or snapSizeLimitInKb
 * of log (<= 0: no size limit), whichever comes first; fsync the log unless forceSync=no.
 */
export function syncSettings(sys: SystemProperties, warnings: string[]): Pick<ServerConfig, 'snapCount' | 'snapSizeLimitKb' | 'forceSync'> {
  let snapCount = sys.int('snapCount', DEFAULT_SNAP_COUNT);
  if (snapCount < 2) {
    warnings.push(`${sys.key('snapCount')}: ${snapCount} is below the minimum; using 2`);
    snapCount = 2;
  }
  const forceSyncRaw = sys.get('forceSync');
  const forceSync = forceSyncRaw !== 'no';
  if (forceSyncRaw !== undefined && forceSyncRaw !== 'yes' && forceSyncRaw !== 'no') {
    warnings.push(`${sys.key('forceSync')}: '${forceSyncRaw}' is neither 'yes' nor 'no'; only 'no' disables it, so forceSync stays on`);
  }
  const snapSizeLimitKb = sys.long('snapSizeLimitInKb', DEFAULT_SNAP_SIZE_LIMIT_KB, Number.MIN_SAFE_INTEGER, 'a number of KB');
  return { snapCount, snapSizeLimitKb, forceSync };
}

/** The txn log's and snapshots' settings (ZooKeeper's FilePadding, FileTxnLog, ZKDatabase, SnapStream). */
export function storageSettings(
  sys: SystemProperties,
  distributed: boolean,
  warnings: string[],
): Pick<ServerConfig, 'preAllocBytes' | 'txnLogSegmentBytes' | 'commitLogCount' | 'snapshotCompression' | 'fsyncWarningThresholdMs'> {
  const preAllocKb = sys.long('preAllocSize', DEFAULT_PREALLOC_KB, 1, 'a positive number of KB');
  // ZooKeeper: -1 (its default) or any value <= 0 means no size limit
  const limitKb = sys.long('txnLogSizeLimitInKb', -1, Number.MIN_SAFE_INTEGER, 'a number of KB');
  const commitLogCount = sys.long('commitLogCount', DEFAULT_COMMIT_LOG_COUNT, 0, 'zero or more');
  if (!distributed && sys.get('commitLogCount') !== undefined) {
    warnings.push(
      `${sys.key('commitLogCount')}: applies to ensemble members only (the txns kept in memory for followers); ignored by a standalone server`,
    );
  }
  const fsyncWarningThresholdMs = sys.long('fsync.warningthresholdms', DEFAULT_FSYNC_WARNING_THRESHOLD_MS, 0, 'zero or more milliseconds');
  return {
    preAllocBytes: preAllocKb * 1024,
    txnLogSegmentBytes: limitKb > 0 ? limitKb * 1024 : DEFAULT_TXN_LOG_SEGMENT_BYTES,
    commitLogCount,
    snapshotCompression: snapshotCompression(sys),
    fsyncWarningThresholdMs,
  };
}

/** SnapStream's modes: "gz", "snappy", or none ("" / unset). */
function snapshotCompression(sys: SystemProperties): 'gz' | null {
  const raw = sys.get('snapshot.compression.method');
  if (raw === undefined || raw === '') return null;
  const key = sys.key('snapshot.compression.method');
  if (raw === 'gz') return 'gz';
  if (raw === 'snappy')
    throw new ConfigError(key, `${key}=snappy is not supported by Ark; use gz, or leave it unset for uncompressed snapshots`);
  throw new ConfigError(key, `Invalid value for ${key}: '${raw}'; choose gz, or leave it unset for uncompressed snapshots`);
}
