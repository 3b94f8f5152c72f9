// The report of `ark copy` (printed by src/cli/copy.ts, or as JSON) and CopyTally, which fills it
// in as the copy decides what happens to each node.
import { ErrorCode, KeeperError } from '../util/errors.js';
import { reasonOf } from './copy-args.js';

export type SkipReason = 'ephemeral' | 'zookeeper' | 'no-auth' | 'acl-hidden' | 'vanished' | 'parent' | 'target';
export const SKIP_REASONS: Record<SkipReason, string> = {
  ephemeral: 'ephemeral: owned by a session of the source (--include-ephemerals copies it as a persistent node)',
  zookeeper: "the server's own subtree (/zookeeper), not copied unless the source path is inside it",
  'no-auth': 'not readable by the copier (NoAuth), nor its subtree: pass --auth digest:user:password (used on both sides)',
  'acl-hidden':
    'the source hides the digest ids of its ACL (user:x) from a copier without ADMIN on it, so the ACL cannot be copied; ' +
    'not copied, nor its subtree: pass --auth digest:user:password of a user with ADMIN',
  vanished: 'deleted on the source while the copy ran',
  parent: 'its parent was not copied',
  target: 'the destination path itself, which lies inside the source subtree on the same service',
};

export interface NodeAction {
  /** source path */
  path: string;
  /** destination path */
  target: string;
  action: 'create' | 'update' | 'conflict' | 'skip' | 'fail';
  reason?: SkipReason;
  detail?: string;
}

export interface CopyReport {
  source: { connectString: string; connected: string; path: string };
  destination: { connectString: string; connected: string; path: string };
  dryRun: boolean;
  overwrite: boolean;
  includeEphemerals: boolean;
  /** source nodes read (data, ACL and children) */
  nodesRead: number;
  /** created on the destination (in a dry run: would be), missing parents of the destination path included */
  created: number;
  /** existing nodes whose data and/or ACL were set (--overwrite; in a dry run: would be) */
  updated: number;
  /** existing nodes with the same data and ACL already */
  unchanged: number;
  /** existing nodes with other data or ACL, left alone (no --overwrite) */
  conflicts: number;
  /** nodes not copied on purpose or because they could not be read; by reason */
  skipped: number;
  skippedByReason: Partial<Record<SkipReason, number>>;
  /** writes the destination refused (the node is then missing or differs) */
  failed: number;
  /** ephemerals created as persistent nodes (--include-ephemerals) */
  ephemeralsAsPersistent: number;
  /** data bytes read from the source */
  bytes: number;
  /** data bytes written to the destination (in a dry run: would be) */
  bytesWritten: number;
  seconds: number;
  /** nothing failed, no conflict, nothing unreadable (no-auth, acl-hidden): the destination holds the source's nodes */
  ok: boolean;
  /**
   * Per node: every update, conflict, skip and failure, and the creates worth a note (missing
   * parents of the destination path, ephemerals copied as persistent). A dry run lists every
   * create too. Plain creates and unchanged nodes of a real run are only counted.
   */
  nodes: NodeAction[];
}

/** A node as the report names it: source path ('' for a missing parent of the destination path) and destination path. */
export interface NodeRef {
  path: string;
  target: string;
}

export type ReportHeader = Pick<CopyReport, 'source' | 'destination' | 'dryRun' | 'overwrite' | 'includeEphemerals'>;

/** Counts and notes for the report; the copy decides, the tally records. */
export class CopyTally {
  readonly report: CopyReport;

  constructor(header: ReportHeader) {
    this.report = {
      ...header,
      nodesRead: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      conflicts: 0,
      skipped: 0,
      skippedByReason: {},
      failed: 0,
      ephemeralsAsPersistent: 0,
      bytes: 0,
      bytesWritten: 0,
      seconds: 0,
      ok: false,
      nodes: [],
    };
  }

  read(dataBytes: number): void {
    this.report.nodesRead++;
    this.report.bytes += dataBytes;
  }

  skip(node: NodeRef, reason: SkipReason, detail?: string): void {
    this.report.skipped++;
    this.report.skippedByReason[reason] = (this.report.skippedByReason[reason] ?? 0) + 1;
    this.note(node, 'skip', detail, reason);
  }

  /** `what` the copy tried, and the error that refused it. */
  fail(node: NodeRef, what: string, e: unknown): void {
    this.report.failed++;
    const hint = e instanceof KeeperError && e.code === ErrorCode.NoAuth ? ' (pass --auth digest:user:password, used on both sides)' : '';
    this.note(node, 'fail', `${what}: ${reasonOf(e)}${hint}`);
  }

  /** A create (in a dry run: one that would be); `detail` makes it worth a note in a real run too. */
  created(node: NodeRef, dataBytes: number, listed: boolean, detail?: string): void {
    this.report.created++;
    this.report.bytesWritten += dataBytes;
    if (listed || detail !== undefined) this.note(node, 'create', detail);
  }

  ephemeralAsPersistent(node: NodeRef, dataBytes: number, session: string): void {
    this.report.ephemeralsAsPersistent++;
    this.created(node, dataBytes, true, `copied as a persistent node (ephemeral of session ${session} on the source)`);
  }

  unchanged(): void {
    this.report.unchanged++;
  }

  conflict(node: NodeRef, differs: string): void {
    this.report.conflicts++;
    this.note(node, 'conflict', `exists with different ${differs} (--overwrite replaces it)`);
  }

  updated(node: NodeRef, differs: string, dataBytes: number): void {
    this.report.updated++;
    this.report.bytesWritten += dataBytes;
    this.note(node, 'update', `${differs} replaced`);
  }

  /** The finished report: notes in destination order, the time since `startedAt` (performance.now()), the verdict. */
  finish(startedAt: number): CopyReport {
    const r = this.report;
    r.nodes.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    r.seconds = Math.round((performance.now() - startedAt) / 10) / 100;
    r.ok = r.failed === 0 && r.conflicts === 0 && (r.skippedByReason['no-auth'] ?? 0) === 0 && (r.skippedByReason['acl-hidden'] ?? 0) === 0;
    return r;
  }

  private note(node: NodeRef, action: NodeAction['action'], detail?: string, reason?: SkipReason): void {
    this.report.nodes.push({
      path: node.path,
      target: node.target,
      action,
      ...(reason !== undefined ? { reason } : {}),
      ...(detail !== undefined ? { detail } : {}),
    });
  }
}
