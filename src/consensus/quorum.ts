// Majority quorums over the ensemble's voters (ZooKeeper's QuorumMaj; etcd's quorum package is the
// model for keeping the counting in one place with table tests). Observers are never voters. The
// leader counts itself; a learner counts only when it is a voter and the caller's condition holds
// (synced, heard recently, acknowledged a zxid, answered a round).

/** How many voters make a majority of `voters`. */
export function majorityOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export class Majority {
  readonly size: number;
  private readonly voters: ReadonlySet<number>;

  constructor(voters: readonly number[]) {
    this.voters = new Set(voters);
    this.size = majorityOf(this.voters.size);
  }

  isVoter(id: number): boolean {
    return this.voters.has(id);
  }

  /** Whether the leader and the voting learners for which `holds` is true make a majority. */
  reached<L>(learners: Iterable<[number, L]>, holds: (learner: L) => boolean): boolean {
    let n = 1; // the leader
    for (const [id, l] of learners) if (this.voters.has(id) && holds(l)) n++;
    return n >= this.size;
  }

  /**
   * The highest value that a majority has reached: the leader's `own` and each voting learner's
   * `value` (null: it counts for nothing, e.g. not synced). Null when fewer than a majority report.
   * (The commit rule: the highest zxid a quorum holds on disk.)
   */
  committed<L>(own: number, learners: Iterable<[number, L]>, value: (learner: L) => number | null): number | null {
    const values = [own];
    for (const [id, l] of learners) {
      if (!this.voters.has(id)) continue;
      const v = value(l);
      if (v !== null) values.push(v);
    }
    if (values.length < this.size) return null;
    values.sort((a, b) => b - a);
    return values[this.size - 1]!;
  }
}
