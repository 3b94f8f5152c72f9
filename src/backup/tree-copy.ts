// The walk and the writes of `ark copy` (copy.ts says what is copied and why). The source is read
// breadth-first, up to `window` nodes at once, with the nodes read but not yet written bounded so
// memory stays flat; each node is written once its parent is, up to `window` writes at once. The
// two sessions retry across lost connections (copy-session.ts); what they cannot get past aborts
// the copy.
import { NoAuthError, NoNodeError, NodeExistsError } from '../client/errors.js';
import { ConcurrencyLimit } from '../util/concurrency.js';
import type { OnProgress } from '../util/progress.js';
import { OPEN_ACL_UNSAFE, type ACL, type Stat } from '../wire/protocol.js';
import type { KeeperError } from '../util/errors.js';
import { CopyError, formatConnectString, reasonOf, type ConnectString } from './copy-args.js';
import { type CopierGrant, hiddenDigest, sameAcl, sameData, type NodeContent } from './copy-content.js';
import { CopyTally, type CopyReport, type NodeRef } from './copy-report.js';
import type { CopySession } from './copy-session.js';

export interface TreeCopySettings {
  from: ConnectString;
  to: ConnectString;
  /** nodes read at once, and writes at once */
  window: number;
  dryRun: boolean;
  overwrite: boolean;
  includeEphemerals: boolean;
  copier: CopierGrant;
  /** a destination path inside the source subtree on the same service: left out of the walk */
  exclude: string | null;
  /** source nodes dealt with (copied, unchanged, skipped or failed) of the count the source gave at the start */
  onProgress?: OnProgress;
}

/**
 * 'created': created in this run (or would be, in a dry run), so its children cannot exist yet;
 * 'existing': was there already; 'absent': not copied, so neither are its children.
 */
type WriteState = 'created' | 'existing' | 'absent';

/** A source node to copy; its children wait on `written` before they write. */
class Job implements NodeRef {
  readonly written: Promise<WriteState>;
  /** settles `written`; only the first call counts */
  readonly settle: (s: WriteState) => void;

  constructor(
    readonly path: string,
    readonly target: string,
    readonly parent: Job | null,
  ) {
    let settle: (s: WriteState) => void = () => {};
    this.written = new Promise<WriteState>((r) => {
      settle = r;
    });
    this.settle = settle;
  }
}

/** The jobs still to read, first in first out; the consumed head is dropped now and then. */
class JobQueue {
  private jobs: Job[] = [];
  private head = 0;

  get empty(): boolean {
    return this.head >= this.jobs.length;
  }

  push(job: Job): void {
    this.jobs.push(job);
  }

  shift(): Job {
    const job = this.jobs[this.head++]!;
    if (this.head >= 4096 && this.head * 2 >= this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
    return job;
  }
}

interface SourceNode {
  data: Buffer | null;
  acl: ACL[];
  stat: Stat;
  children: string[];
}

/** What writing a node decided: its state for its children, and the exact ACL to set once they exist. */
interface Written {
  state: WriteState;
  finalAcl: ACL[] | null;
}
const NOT_WRITTEN: Written = { state: 'absent', finalAcl: null };

/** How a node is created: its ACL now (with the copier's grant when it must create the children), and later. */
interface AclPlan {
  now: ACL[];
  later: ACL[] | null;
}

/** nodes read but not yet written, and their data bytes: past either, reading waits for writes */
const BACKLOG_MAX = 2048;
const BACKLOG_BYTES_MAX = 64 * 1024 * 1024;

const isInside = (path: string, root: string): boolean => (root === '/' ? path !== '/' : path.startsWith(`${root}/`));
const childPath = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);
const dataBytes = (n: { data: Buffer | null }): number => n.data?.length ?? 0;
const sessionHex = (owner: bigint): string => `0x${BigInt.asUintN(64, owner).toString(16)}`;

export class TreeCopy {
  private readonly tally: CopyTally;
  private readonly writes: ConcurrencyLimit;
  private readonly queue = new JobQueue();
  private readonly skipZookeeper: boolean;
  /** the state of the destination path's parent, once ensureParents made sure of it */
  private rootParent: WriteState = 'existing';
  private aborted: CopyError | null = null;
  /** nodes being read */
  private reading = 0;
  /** nodes read (or being read) and not yet written, and their data bytes */
  private backlog = 0;
  private backlogBytes = 0;
  /** nodes whose copyNode has not finished, and those that have */
  private tasks = 0;
  private completed = 0;
  /** the source subtree's node count at the start (getAllChildrenNumber), null when the source cannot say */
  private total: number | null = null;
  private finished = false;
  private finish: () => void = () => {};
  private readonly done = new Promise<void>((r) => {
    this.finish = r;
  });

  constructor(
    private readonly s: TreeCopySettings,
    private readonly src: CopySession,
    private readonly dst: CopySession,
  ) {
    this.tally = new CopyTally({
      source: { connectString: formatConnectString(s.from), connected: src.connected, path: s.from.path },
      destination: { connectString: formatConnectString(s.to), connected: dst.connected, path: s.to.path },
      dryRun: s.dryRun,
      overwrite: s.overwrite,
      includeEphemerals: s.includeEphemerals,
    });
    this.writes = new ConcurrencyLimit(s.window);
    this.skipZookeeper = !(s.from.path === '/zookeeper' || isInside(s.from.path, '/zookeeper'));
    src.onLost((e) => this.abort(src, e));
    dst.onLost((e) => this.abort(dst, e));
  }

  /** Copies the tree; `startedAt` (performance.now()) is when the copy began, connecting included. */
  async run(startedAt: number): Promise<CopyReport> {
    try {
      await this.checkSource();
      if (this.s.onProgress) {
        this.total = await this.sourceCount();
        this.s.onProgress({ done: 0, total: this.total, unit: 'znodes' });
      }
      this.rootParent = await this.ensureParents();
      this.queue.push(this.job(this.s.from.path, null));
      this.pump();
      await this.done;
      if (this.aborted !== null) throw this.aborted;
      return this.tally.finish(startedAt);
    } catch (e) {
      throw this.aborted ?? e;
    }
  }

  // ---------- the walk ----------

  /** Starts reading queued nodes while the read window and the backlog allow; finishes when nothing is left. */
  private pump(): void {
    while (this.mayRead()) {
      const job = this.queue.shift();
      this.reading++;
      this.backlog++;
      this.tasks++;
      this.copyNode(job)
        .catch((e: unknown) => {
          this.fail(job, e, 'unexpected error');
          job.settle('absent'); // a no-op if it was settled; else its children must not wait forever
        })
        .finally(() => {
          this.tasks--;
          this.completed++;
          this.s.onProgress?.({ done: this.completed, total: this.total, unit: 'znodes' });
          this.pump();
        });
    }
    this.wake();
  }

  private mayRead(): boolean {
    return (
      this.aborted === null &&
      !this.queue.empty &&
      this.reading < this.s.window &&
      this.backlog < BACKLOG_MAX &&
      this.backlogBytes < BACKLOG_BYTES_MAX
    );
  }

  /** Ends the walk once it is aborted, or nothing is left to read or finish. */
  private wake(): void {
    if (!this.finished && (this.aborted !== null || (this.tasks === 0 && this.queue.empty))) {
      this.finished = true;
      this.finish();
    }
  }

  private abort(side: CopySession, e: KeeperError): void {
    this.aborted ??= side.lostError(e, this.tally.report.nodesRead);
    this.wake();
  }

  private async copyNode(job: Job): Promise<void> {
    const after = await this.readAndWrite(job);
    // the node's data is no longer held while its children are written
    if (after !== null) await this.restoreAcl(job, after.children, after.finalAcl);
  }

  /** Reads the node, queues its children, writes it; what is left to do once its children exist. */
  private async readAndWrite(job: Job): Promise<{ children: Job[]; finalAcl: ACL[] } | null> {
    const n = await this.readNode(job);
    if (n === null || this.skippedForContent(job, n)) {
      job.settle('absent');
      this.backlog--;
      return null;
    }
    this.backlogBytes += dataBytes(n);
    const children = this.queueChildren(job, n);
    this.pump();
    const result = await this.writeAfterParent(job, n);
    this.backlogBytes -= dataBytes(n);
    job.settle(result.state);
    this.backlog--;
    this.pump();
    return result.finalAcl !== null ? { children, finalAcl: result.finalAcl } : null;
  }

  /** The node's data, ACL and children; null when it cannot be read (skipped or failed). */
  private async readNode(job: Job): Promise<SourceNode | null> {
    try {
      const [{ data, stat }, { acl }, { children }] = await Promise.all([
        this.src.call((c) => c.getData(job.path)),
        this.src.call((c) => c.getACL(job.path)),
        this.src.call((c) => c.getChildrenWithStat(job.path)),
      ]);
      const n = { data, stat, acl, children: children.sort() };
      this.tally.read(dataBytes(n));
      return n;
    } catch (e) {
      if (e instanceof NoAuthError) this.tally.skip(job, 'no-auth');
      else if (e instanceof NoNodeError) this.tally.skip(job, 'vanished');
      else this.fail(job, e, 'cannot read the source node');
      return null;
    } finally {
      this.reading--;
    }
  }

  /** Ephemerals (unless asked for) and nodes whose ACL the source hides are not copied, nor their subtrees. */
  private skippedForContent(job: Job, n: SourceNode): boolean {
    if (n.stat.ephemeralOwner !== 0n && !this.s.includeEphemerals) {
      this.tally.skip(job, 'ephemeral', `session ${sessionHex(n.stat.ephemeralOwner)}`);
      return true;
    }
    if (n.acl.some(hiddenDigest)) {
      this.tally.skip(job, 'acl-hidden');
      return true;
    }
    return false;
  }

  private queueChildren(job: Job, n: SourceNode): Job[] {
    return n.children.map((name) => {
      const child = this.job(childPath(job.path, name), job);
      if (this.skipZookeeper && child.path === '/zookeeper') this.leaveOut(child, 'zookeeper');
      else if (this.s.exclude !== null && child.path === this.s.exclude) this.leaveOut(child, 'target');
      else this.queue.push(child);
      return child;
    });
  }

  private leaveOut(job: Job, reason: 'zookeeper' | 'target'): void {
    this.tally.skip(job, reason);
    job.settle('absent');
  }

  private job(path: string, parent: Job | null): Job {
    return new Job(path, this.targetOf(path), parent);
  }

  private targetOf(path: string): string {
    const { from, to } = this.s;
    const rel = from.path === '/' ? path : path.slice(from.path.length);
    if (rel === '' || rel === '/') return to.path;
    return to.path === '/' ? rel : `${to.path}${rel}`;
  }

  // ---------- the writes ----------

  private async writeAfterParent(job: Job, n: SourceNode): Promise<Written> {
    const parentState = job.parent ? await job.parent.written : this.rootParent;
    if (parentState === 'absent') {
      this.tally.skip(job, 'parent');
      return NOT_WRITTEN;
    }
    return this.writes.run(() => this.write(job, n, parentState));
  }

  /**
   * Under a parent created in this run the node is created directly; otherwise the destination is
   * read first: absent -> create; same data and ACL -> unchanged; different -> a conflict, or
   * with --overwrite replaced.
   */
  private async write(job: Job, n: SourceNode, parentState: WriteState): Promise<Written> {
    let existing: NodeContent | null = null;
    if (parentState === 'existing') {
      try {
        existing = await this.dst.content(job.target);
      } catch (e) {
        this.fail(job, e, 'cannot read the existing destination node');
        return NOT_WRITTEN;
      }
    }
    const acl = this.aclPlan(n);
    if (existing !== null) return this.reconcile(job, n, existing, acl);
    if (!this.s.dryRun) {
      try {
        await this.dst.create(job.target, n.data, acl.now);
      } catch (e) {
        this.fail(job, e, 'create refused');
        return NOT_WRITTEN;
      }
    }
    return this.created(job, n, acl);
  }

  /** A node with children must let the copier create them until they exist. */
  private aclPlan(n: SourceNode): AclPlan {
    const lockedOut = n.children.length > 0 && !this.s.copier.mayCreateUnder(n.acl);
    if (!lockedOut) return { now: n.acl, later: null };
    return { now: this.s.copier.added(n.acl), later: this.s.dryRun ? null : n.acl };
  }

  private created(job: Job, n: SourceNode, acl: AclPlan): Written {
    if (n.stat.ephemeralOwner !== 0n) this.tally.ephemeralAsPersistent(job, dataBytes(n), sessionHex(n.stat.ephemeralOwner));
    else this.tally.created(job, dataBytes(n), this.s.dryRun);
    return { state: 'created', finalAcl: acl.later };
  }

  /** The node is there: unchanged, a conflict, or (--overwrite) set to the source's data and ACL. */
  private async reconcile(job: Job, n: SourceNode, existing: NodeContent, acl: AclPlan): Promise<Written> {
    const dataSame = sameData(existing.data, n.data);
    const aclSame = sameAcl(existing.acl, n.acl);
    if (dataSame && aclSame) {
      this.tally.unchanged();
      return { state: 'existing', finalAcl: null };
    }
    const aclWhat = existing.acl.some(hiddenDigest) ? 'ACL (the destination hides its digest ids from the copier)' : 'ACL';
    const differs = !dataSame && !aclSame ? `data and ${aclWhat}` : !dataSame ? 'data' : aclWhat;
    if (!this.s.overwrite) {
      this.tally.conflict(job, differs);
      return { state: 'existing', finalAcl: null };
    }
    if (!this.s.dryRun) {
      try {
        if (!dataSame) await this.dst.call((c) => c.setData(job.target, n.data));
        if (!aclSame || acl.later !== null) await this.dst.call((c) => c.setACL(job.target, acl.now));
      } catch (e) {
        this.fail(job, e, `set${!dataSame ? 'Data' : 'ACL'} refused`);
        return { state: 'existing', finalAcl: null };
      }
    }
    this.tally.updated(job, differs, dataSame ? 0 : dataBytes(n));
    return { state: 'existing', finalAcl: acl.later };
  }

  /** Once its children exist, a node created with the copier's grant gets its exact ACL. */
  private async restoreAcl(job: Job, children: Job[], finalAcl: ACL[]): Promise<void> {
    await Promise.all(children.map((c) => c.written));
    try {
      await this.writes.run(() => this.dst.call((c) => c.setACL(job.target, finalAcl)));
    } catch (e) {
      this.fail(job, e, 'setting its ACL after its children refused (it keeps CREATE and ADMIN for the copier)');
    }
  }

  /** A node the copy could not read or write; not counted once the copy is aborted (a lost session is to blame). */
  private fail(job: Job, e: unknown, what: string): void {
    if (this.aborted === null) this.tally.fail(job, what, e);
  }

  // ---------- before the walk ----------

  /** The source path must exist before anything is written. */
  private async checkSource(): Promise<void> {
    if ((await this.src.call((c) => c.exists(this.s.from.path))) === null) {
      throw new CopyError(`${this.s.from.path} does not exist on ${this.src.connected} (source)`);
    }
  }

  /**
   * How many nodes the walk will meet: the source path and its descendants, by getAllChildrenNumber
   * (ZooKeeper 3.6 and later, Ark), less /zookeeper when the walk skips it. Only for progress: nodes
   * created or deleted meanwhile change it, and a source that does not know the request gives null.
   */
  private async sourceCount(): Promise<number | null> {
    const count = (path: string): Promise<number | null> => this.src.subtreeCount(path);
    const all = await count(this.s.from.path);
    if (all === null || !(this.skipZookeeper && this.s.from.path === '/')) return all;
    return all - ((await count('/zookeeper')) ?? 0);
  }

  /** Creates the missing parents of the destination path (null data, world:anyone); the state of its parent. */
  private async ensureParents(): Promise<WriteState> {
    const target = this.s.to.path;
    if (target === '/') return 'existing';
    let state: WriteState = 'existing';
    let path = '';
    for (const part of target.split('/').slice(1, -1)) {
      path += `/${part}`;
      if (state === 'existing' && (await this.dst.call((c) => c.exists(path))) !== null) continue;
      state = 'created';
      if (!this.s.dryRun && !(await this.createParent(path))) {
        state = 'existing';
        continue;
      }
      this.tally.created({ path: '', target: path }, 0, true, 'missing parent of the destination path (null data, world:anyone ACL)');
    }
    return state;
  }

  /** false when someone else created it meanwhile */
  private async createParent(path: string): Promise<boolean> {
    try {
      await this.dst.create(path, null, OPEN_ACL_UNSAFE);
      return true;
    } catch (e) {
      if (e instanceof NodeExistsError) return false;
      throw new CopyError(`cannot create ${path} (a parent of the destination path) on ${this.dst.connected}: ${reasonOf(e)}`);
    }
  }
}
