// The commit path of a standalone server: one member, so a txn is committed once it is in this
// server's log. Per batch: persist (one write + fdatasync for every txn decided meanwhile: group
// commit) -> apply -> send replies and watch events (ZooKeeper's SyncRequestProcessor and
// FinalRequestProcessor).
import { ServerCore, type CoreAuth, type CoreOptions, type PendingTxn } from '../server/core.js';
import { zookeeperSessionPassword } from '../session/sessions.js';
import type { Recovery } from '../storage/datadir.js';
import type { LoadedSnapshot } from '../storage/snapshot.js';
import type { LoadedBackup } from '../backup/format.js';
import type { ServerConfig } from '../config/serverconfig.js';
import { configNodeText } from '../config/serverline.js';
import type { CommitPath, HostServices, RestoreOutcome } from './commit.js';
import { COUNTER_SPAN, epochOf } from '../util/zxid.js';
import { REPLAY_REPORT_EVERY } from '../replica/replica.js';

/**
 * The server core's settings from zoo.cfg; `serverId` seeds session ids (1 standalone, as
 * ZooKeeperServer). An ensemble member's /zookeeper/config holds its server.N lines, as
 * ZooKeeper's does even with reconfig off; a standalone server's stays empty.
 */
export function coreOptions(config: ServerConfig, serverId: number, auth?: CoreAuth): CoreOptions {
  return {
    ...(config.distributed ? { configNode: configNodeText(config.servers) } : {}),
    tickTimeMs: config.tickTimeMs,
    minSessionTimeoutMs: config.minSessionTimeoutMs,
    maxSessionTimeoutMs: config.maxSessionTimeoutMs,
    serverId,
    extendedTypesEnabled: config.extendedTypesEnabled,
    enforceQuota: config.enforceQuota,
    superDigest: config.superDigest,
    containerCheckIntervalMs: config.containerCheckIntervalMs,
    sessionPassword: zookeeperSessionPassword,
    ...(auth ? { auth } : {}),
  };
}

export class StandalonePath implements CommitPath {
  core: ServerCore;
  /** a batch is being written and fsynced */
  private syncing = false;
  private flushScheduled = false;
  /** called once nothing decided waits for the disk (restore, stop) */
  private idleWaiters: Array<() => void> = [];
  /** zxid of the last txn on disk (every one of them is committed: there is no one else to ask) */
  private durableZxid = 0;
  private stopped = false;
  private restoring = false;
  readonly tickMs: number;

  constructor(private readonly host: HostServices) {
    this.core = this.newCore();
    // ZooKeeper's SessionTracker ticks at tickTime; expiry buckets are one tick wide, so half a
    // tick keeps sessions from outliving their timeout by more than that
    this.tickMs = Math.max(10, Math.min(host.config.tickTimeMs / 2, 500));
  }

  private newCore(): ServerCore {
    const core = new ServerCore(coreOptions(this.host.config, 1, this.host.auth), Date.now());
    this.host.coreChanged(core);
    return core;
  }

  mode(): 'standalone' {
    return 'standalone';
  }

  serving(): boolean {
    return true;
  }

  notReadyReason(): string | null {
    return null;
  }

  load(rec: Recovery, onReplayed?: (n: number) => void): void {
    if (rec.snapshot) this.core.restore(rec.snapshot.tree, rec.snapshot.sessions, rec.snapshot.zxid);
    let n = 0;
    for (const r of rec.records) {
      this.core.replay(r.hdr, r.txn);
      if (++n % REPLAY_REPORT_EVERY === 0) onReplayed?.(n);
    }
    onReplayed?.(n);
    this.core.recovered(Date.now());
    this.durableZxid = this.core.lastApplied;
  }

  async start(): Promise<void> {
    // nothing beyond the client port
  }

  tick(now: number): void {
    if (this.restoring) return; // the tree being replaced must not decide anything more
    this.core.tick(now);
    this.schedule();
  }

  /** Coalesces everything one turn of the event loop produced into one write per socket and one log append. */
  schedule(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushOutputs();
      this.persist();
    });
  }

  private flushOutputs(): void {
    this.host.send(this.core, this.core.takeOutputs());
  }

  private persist(): void {
    if (this.syncing || this.stopped) return;
    if (!this.core.hasTxns) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    const core = this.core; // an online restore may swap this.core while the fsync runs
    const txns: PendingTxn[] = core.takeTxns();
    this.host.metrics?.batch(txns.length);
    this.syncing = true;
    this.host.dataDir.log.append(txns, (err) => {
      this.syncing = false;
      if (err) {
        this.stopped = true;
        for (const w of this.idleWaiters.splice(0)) w();
        this.host.fatal(err);
        return;
      }
      this.durableZxid = txns.at(-1)!.hdr.zxid;
      // the txns decided meanwhile start for the disk before this batch is applied and answered,
      // so the next fsync runs while the event loop applies and replies (ZooKeeper overlaps them
      // on separate threads); the log keeps its order, as this batch is already durable
      this.persist();
      core.committed(txns, Date.now());
      this.flushOutputs();
      this.host.applied(txns.length);
    });
  }

  /** Resolves once every txn decided so far is durable, applied and answered. */
  private drained(): Promise<void> {
    // after a failed write nothing more reaches the disk: there is nothing to wait for
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.persist();
    });
  }

  canSnapshot(): boolean {
    return true;
  }

  snapshotWritten(): void {
    // the log before it is only needed by purge, which reads the data dir
  }

  /**
   * Online restore (ZooKeeper 3.9's POST /commands/restore): the backup's tree is made durable as a
   * snapshot in a new zxid epoch above everything this server handed out, then served by a fresh
   * core. The host has closed the clients and refuses new ones meanwhile; their sessions come back
   * from the backup, or expire. The old tree is let go before the backup is read, so memory holds
   * one tree, not two (it is on disk: a backup that turns out unreadable brings it back from there).
   */
  async restore(_raw: Buffer, load: () => Promise<LoadedBackup>): Promise<RestoreOutcome> {
    this.restoring = true;
    try {
      await this.drained();
      const before = this.core.lastApplied;
      this.core = this.newCore();
      try {
        const b = await load();
        return await this.replaceTree(b.snapshot, before);
      } catch (e) {
        // an unreadable backup, or its snapshot not written (a full disk): the restore did not
        // happen and this server's own state is still on disk, whole (a snapshot is renamed into
        // place only once complete): serve it again rather than the empty core
        try {
          this.load(await this.host.dataDir.recoverAsync({ repair: true }));
        } catch (reloadErr) {
          // neither the backup nor this server's own data: serving the empty core would lose it all
          this.host.fatal(
            new Error(
              `the backup could not be restored (${(e as Error).message}) and reloading the data dir failed too: ${(reloadErr as Error).message}`,
            ),
          );
        }
        throw e;
      }
    } finally {
      this.restoring = false;
    }
  }

  private async replaceTree(b: LoadedSnapshot, before: number): Promise<RestoreOutcome> {
    // above the backup, everything this server handed out, and the archive's end (another history
    // may have written there: this one must not reuse its zxids)
    const zxid = (Math.max(epochOf(b.zxid), epochOf(before), epochOf(this.host.archiveEnd())) + 1) * COUNTER_SPAN;
    const backupZxid = b.zxid;
    const tree = b.tree;
    tree.lastProcessedZxid = zxid;
    const dataDir = this.host.dataDir;
    // the next txn (zxid + 1) opens a segment of its own
    dataDir.log.closeSegment();
    await dataDir.writeSnapshot(tree, b.sessions, { gzip: this.host.config.snapshotCompression === 'gz', now: Date.now() });
    this.core.restore(tree, b.sessions, zxid);
    this.core.recovered(Date.now());
    this.durableZxid = zxid;
    return { zxid, backupZxid, nodes: tree.nodeCount, sessions: b.sessions.length };
  }

  committedZxid(): number {
    return this.durableZxid;
  }

  archivableZxid(): number {
    return Math.min(this.durableZxid, this.core.lastApplied);
  }

  archiveDuty(): boolean {
    return true;
  }

  extraMetrics(): Array<[string, number]> {
    return [];
  }

  async stop(): Promise<void> {
    this.flushOutputs();
    // let what is decided reach the disk and its replies go out
    await this.drained();
    this.flushOutputs();
    this.stopped = true;
  }
}
