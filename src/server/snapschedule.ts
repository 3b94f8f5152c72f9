// When a member snapshots, so that a restart replays a bounded log: after snapCount/2 +
// random(snapCount/2) txns, or once the log written since the last snapshot passes
// snapSizeLimit/2 + random(snapSizeLimit/2) bytes, whichever comes first, counted from the last
// snapshot started (and, at start-up, from the newest snapshot on disk: the txns replayed count).
// The random part keeps the members of an ensemble from snapshotting at once; ZooKeeper's
// SyncRequestProcessor.shouldSnapshot draws both points the same way. And a member that restarted
// snapshots once it first serves when its newest snapshot lacks txns it holds, as ZooKeeper's
// learner snapshots after syncing with its leader, so a member killed again and again replays
// only what came since its last start. Pure: the random source is an argument. The runtime
// (runtime/snapshots.ts) and the simulator both decide with it.
export class SnapshotSchedule {
  /** txns and log bytes since the last snapshot started, and the amounts that make the next one due */
  private txns = 0;
  private bytes = 0;
  private txnsDue: number;
  private bytesDue: number;
  /** the newest snapshot on disk (written, or installed from a leader's SNAP) */
  private newestZxid = 0;
  /** has the member served since it started? */
  private served = false;
  /** a snapshot is owed since the member first served (it waits until one may start) */
  private owed = false;

  /** `snapSizeBytes` <= 0: no size limit (ZooKeeper's snapSizeLimitInKb <= 0). */
  constructor(
    private readonly snapCount: number,
    private readonly snapSizeBytes: number,
    private readonly random: () => number,
  ) {
    this.txnsDue = this.draw(snapCount);
    this.bytesDue = snapSizeBytes > 0 ? this.draw(snapSizeBytes) : Number.POSITIVE_INFINITY;
  }

  private draw(limit: number): number {
    const half = Math.max(1, Math.floor(limit / 2));
    return half + 1 + Math.floor(this.random() * half);
  }

  /** Counts txns applied and log bytes written; true once a snapshot is due (it stays due until started()). */
  applied(n: number, bytes = 0): boolean {
    this.txns += n;
    this.bytes += bytes;
    return this.due;
  }

  get due(): boolean {
    return this.owed || this.txns >= this.txnsDue || this.bytes >= this.bytesDue;
  }

  /** Start-up: `replayed` txns of the log were applied after the newest snapshot, at `snapshotZxid`. */
  recovered(replayed: number, snapshotZxid: number): void {
    this.txns += replayed;
    this.newestZxid = snapshotZxid;
  }

  /** A snapshot at `zxid` is on disk. */
  written(zxid: number): void {
    if (zxid > this.newestZxid) this.newestZxid = zxid;
  }

  /** A leader's SNAP became the member's newest snapshot: counting starts again from it. */
  installed(zxid: number): void {
    this.started();
    this.written(zxid);
  }

  /**
   * The member began serving with `applied` as its state: true when it should snapshot now, the
   * first time it serves since it started, if its newest snapshot lacks applied txns. The snapshot
   * stays due until one starts (the host may not allow one yet). Later elections leave snapshots
   * to the count, so the members do not all snapshot at once.
   */
  servingStarted(applied: number): boolean {
    if (this.served) return false;
    this.served = true;
    this.owed = applied > this.newestZxid;
    return this.owed;
  }

  /** A snapshot was started (or skipped as too busy): counting starts again towards new points. */
  started(): void {
    this.owed = false;
    this.txns = 0;
    this.bytes = 0;
    this.txnsDue = this.draw(this.snapCount);
    if (this.snapSizeBytes > 0) this.bytesDue = this.draw(this.snapSizeBytes);
  }
}
