// What the server host (server.ts) plugs in: a commit path. The host owns everything a standalone
// server and an ensemble member share (data dir, snapshots, client port, AdminServer, metrics,
// backups, the archive, timers, start and stop); a commit path owns how a request becomes a
// durable, applied txn: one member's group commit (standalone.ts) or Zab (quorum.ts).
import type { CoreAuth, Output, ServerCore } from '../server/core.js';
import type { DataDir, Recovery } from '../storage/datadir.js';
import type { EnsembleView, RuntimeStats, ServerView } from '../admin/fourletter.js';
import type { ServerConfig } from '../config/serverconfig.js';
import type { Logger } from '../util/log.js';
import type { ServerMetrics } from '../metrics/metrics.js';
import type { LoadedBackup } from '../backup/format.js';
import type { WrittenSnapshot } from './snapshots.js';

/** What the host lends a commit path. */
export interface HostServices {
  readonly config: ServerConfig;
  /** SASL users (from the JAAS file), x509 and enforced authentication, for every core made */
  readonly auth: CoreAuth;
  readonly logger: Logger;
  readonly dataDir: DataDir;
  readonly metrics: ServerMetrics | null;
  readonly stats: RuntimeStats;
  /** bytes for client connections (and the core's internal errors to log) */
  send(core: ServerCore, outputs: readonly Output[]): void;
  /** `n` committed txns were applied: snapshots and the archive count them */
  applied(n: number): void;
  /**
   * The data dir cannot be written: the host stops serving at once (nothing not on disk may be
   * acknowledged) and reports the error to its caller; the commit path does nothing more.
   */
  fatal(err: Error): void;
  /** a new core serves from now on (restore, reload, SNAP): the host attaches its hooks to it */
  coreChanged(core: ServerCore): void;
  /** resolves once no snapshot is being written (a SNAP install or TRUNC must not race one) */
  snapshotDone(): Promise<void>;
  /** an ensemble member started serving clients (after a sync with its leader, or as the leader) */
  servingStarted(): void;
  /** a SNAP from the leader, at `zxid`, became this member's newest snapshot */
  snapshotInstalled(zxid: number): void;
  /**
   * The highest zxid the archive holds (0 without one): a restore's new epoch goes above it, so a
   * restored history never reuses zxids the archive already gives to another history.
   */
  archiveEnd(): number;
}

/** The result of an online restore, as the AdminServer's restore command reports it. */
export interface RestoreOutcome {
  zxid: number;
  backupZxid: number;
  nodes: number;
  sessions: number;
}

export interface CommitPath {
  /** the core that serves clients now (replaced by an online restore, a SNAP or a reload) */
  readonly core: ServerCore;
  /** srvr's Mode */
  mode(): ServerView['mode'];
  /** clients are served (an established leader, an up-to-date learner, a standalone server) */
  serving(): boolean;
  /** why clients are not served now, for /ready (null when they are) */
  notReadyReason(): string | null;
  /** milliseconds between tick() calls */
  readonly tickMs: number;
  /** Takes over what recovery read from the data dir; `onReplayed`: txns of the log replayed so far. */
  load(rec: Recovery, onReplayed?: (n: number) => void): void;
  /** Opens what the path needs beyond the client port (peers). */
  start(): Promise<void>;
  tick(now: number): void;
  /** Something happened (a request, a timer): carry out what it decided, soon, once per turn. */
  schedule(): void;
  /** Before a client request is taken: bring the tree up to what is known committed (a follower's pending commits). */
  catchUp?(): void;
  /** May a snapshot start now (an ensemble member snapshots only while it serves)? */
  canSnapshot(): boolean;
  /** A snapshot of the tree at info.zxid is durable. */
  snapshotWritten(info: WrittenSnapshot): void;
  /**
   * Replaces the tree (the ensemble's, for a member) with a backup's in a new epoch (POST
   * /commands/restore). `load` reads the backup; the path calls it when memory allows.
   */
  restore(raw: Buffer, load: () => Promise<LoadedBackup>): Promise<RestoreOutcome>;
  /** The last zxid committed, as far as this member knows. */
  committedZxid(): number;
  /** The last zxid that is committed, applied and durable here: what this member may archive. */
  archivableZxid(): number;
  /** Is this the member that keeps the archive up to date (the leader, or a standalone server)? */
  archiveDuty(): boolean;
  /** mntr figures of this path (quorum size, leader's learners, ...) */
  extraMetrics(): Array<[string, number]>;
  /** an ensemble member's consensus state for the AdminServer */
  readonly ensembleView?: EnsembleView;
  readonly quorumView?: ServerView['quorum'];
  /** Finishes what was decided (durable, answered) and closes what start() opened. */
  stop(): Promise<void>;
}
