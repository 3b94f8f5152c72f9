// When a member snapshots: after snapCount/2 + random(snapCount/2) applied txns, counted from the
// last snapshot started, so that the members of an ensemble do not all snapshot at once
// (ZooKeeper's SyncRequestProcessor draws its point the same way). Pure: the random source is an
// argument. The runtime (runtime/snapshots.ts) and the simulator both count with it.
export class SnapshotSchedule {
  /** txns applied since the last snapshot started, and how many make the next one due */
  private sinceLast = 0;
  private after: number;

  constructor(private readonly snapCount: number, private readonly random: () => number) {
    this.after = this.nextPoint();
  }

  private nextPoint(): number {
    const half = Math.max(1, Math.floor(this.snapCount / 2));
    return half + 1 + Math.floor(this.random() * half);
  }

  /** Counts applied txns; true once a snapshot is due (it stays due until started()). */
  applied(n: number): boolean {
    this.sinceLast += n;
    return this.sinceLast >= this.after;
  }

  /** A snapshot was started (or skipped as too busy): counting starts again towards a new point. */
  started(): void {
    this.sinceLast = 0;
    this.after = this.nextPoint();
  }
}
