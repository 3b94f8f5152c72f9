// Laying a backed-up (or point-in-time) tree down as a data dir that `ark server` starts from.
//
// Decisions (docs/ARCHITECTURE.md, "Backup and restore"):
// - Every node keeps every Stat field, its data and its ACL, exactly.
// - The restored data dir starts a new zxid epoch: the snapshot is labelled (epoch + 1) << 32 and
//   new writes follow it, so no client that talked to the old cluster sees zxids go backwards (and
//   none is refused for having seen a zxid "from the future").
// - Sessions are kept by default, as after a restart: their clients may reconnect within the
//   timeout and keep their ephemerals, otherwise they expire and the ephemerals go. --drop-sessions
//   ends them at once, as closeSession txns in the new epoch (so parents' stats change as they
//   would in ZooKeeper).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DataTree } from '../tree/datatree.js';
import { OpCode } from '../wire/protocol.js';
import type { Txn, TxnHeader } from '../wire/txn.js';
import { DataDir } from '../storage/datadir.js';
import { DATA_SUBDIR } from '../storage/filelog.js';
import { readEpochState, writeEpochState } from '../storage/epoch.js';
import { lockDataDirs } from '../storage/lock.js';
import type { SessionRecord } from '../storage/snapshot.js';
import { epochOf, makeZxid } from '../util/zxid.js';
import type { OnProgress } from '../util/progress.js';

export class RestoreError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}

export interface RestoreOptions {
  dataDir: string;
  dataLogDir?: string;
  force: boolean;
  /** the epoch to restore into; default: one above the backup point's */
  epoch?: number;
  /**
   * the restored history starts above this zxid too: the end of the archive it came from, which
   * the restored server may write into (its txns must not reuse zxids the archive holds)
   */
  aboveZxid?: number;
  dropSessions: boolean;
  /** znodes of the new snapshot written */
  onProgress?: OnProgress;
}

export interface RestoreResult {
  dataDir: string;
  fromZxid: number;
  zxid: number;
  nodes: number;
  sessions: number;
  droppedSessions: number;
}

function dataFiles(dir: string): string[] {
  const sub = join(dir, DATA_SUBDIR);
  if (!existsSync(sub)) return [];
  return readdirSync(sub)
    .filter((f) => /^(snapshot|log|break)\./.test(f))
    .map((f) => join(sub, f));
}

export async function restoreInto(tree: DataTree, sessions: SessionRecord[], opts: RestoreOptions): Promise<RestoreResult> {
  // never under a running server, --force or not: it would go on writing into a log deleted here
  const lock = lockDataDirs(opts.dataDir, opts.dataLogDir ?? opts.dataDir, 'ark restore');
  try {
    return await restoreLocked(tree, sessions, opts);
  } finally {
    lock.release();
  }
}

async function restoreLocked(tree: DataTree, sessions: SessionRecord[], opts: RestoreOptions): Promise<RestoreResult> {
  const logDir = opts.dataLogDir ?? opts.dataDir;
  const existing = [...dataFiles(opts.dataDir), ...(logDir !== opts.dataDir ? dataFiles(logDir) : [])];
  if (existing.length > 0 && !opts.force) {
    throw new RestoreError(
      `${opts.dataDir} already holds data (${existing.length} files, e.g. ${existing[0]}); restore into an empty directory or pass --force to replace it`,
      true,
    );
  }
  const fromZxid = tree.lastProcessedZxid;
  // above the backup point and above whatever the replaced data held (names carry zxids, and an
  // epoch never changes inside a segment), so no zxid is handed out twice
  // an ensemble member's epoch file counts too: it may have promised epochs no file name shows yet
  const promised = readEpochState(opts.dataDir)?.acceptedEpoch ?? -1;
  const replacedEpoch = Math.max(-1, promised, ...existing.map((f) => epochOf(parseInt(/\.([0-9a-f]{16})/.exec(f)?.[1] ?? '0', 16))));
  const above = Math.max(fromZxid, opts.aboveZxid ?? 0);
  const epoch = opts.epoch ?? Math.max(epochOf(above), replacedEpoch) + 1;
  const zxid = makeZxid(epoch, 0);
  if (zxid <= fromZxid) throw new RestoreError(`epoch ${epoch} does not come after the backup point 0x${fromZxid.toString(16)}`, true);
  if (zxid <= above)
    throw new RestoreError(
      `epoch ${epoch} does not come after the archive's end 0x${above.toString(16)}: a server writing into that archive would reuse its zxids; choose a higher --epoch or leave it out`,
      true,
    );
  tree.lastProcessedZxid = zxid;
  const dd = new DataDir(opts.dataDir, logDir, { forceSync: true, segmentBytesMax: 1 << 30, preAllocBytes: 1 << 20 });
  dd.prepare();
  // the new snapshot is durable before the old data goes: a crash in between leaves both (the new
  // one in a higher epoch, so recovery takes it), never an empty dir
  const written = await dd.writeSnapshot(tree, sessions, {
    gzip: false,
    now: Date.now(),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  // as an ensemble member, this data is the history of `epoch`: it wins the election over members
  // holding older data, which then take it by SNAP (a standalone server ignores the file)
  writeEpochState(opts.dataDir, { acceptedEpoch: epoch, currentEpoch: epoch, votedFor: 0 });
  for (const f of existing) if (f !== written.file) rmSync(f, { force: true });
  let dropped = 0;
  if (opts.dropSessions && sessions.length > 0) {
    const txns: Array<{ hdr: TxnHeader; txn: Txn }> = [];
    let z = zxid;
    const now = Date.now();
    for (const s of [...sessions].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const paths = [...(tree.ephemerals.get(s.id) ?? [])].sort();
      z++;
      txns.push({
        hdr: { sessionId: s.id, cxid: 0, zxid: z, time: now, type: OpCode.closeSession },
        txn: { type: OpCode.closeSession, paths2Delete: paths },
      });
    }
    await new Promise<void>((resolve, reject) => dd.log.append(txns, (e) => (e ? reject(e) : resolve())));
    dd.log.closeSegment();
    dropped = txns.length;
  }
  return { dataDir: opts.dataDir, fromZxid, zxid, nodes: tree.nodeCount, sessions: sessions.length - dropped, droppedSessions: dropped };
}
