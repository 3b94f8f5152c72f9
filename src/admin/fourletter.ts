// Four-letter words on the client port (ZooKeeper's FourLetterCommands) with the text layouts
// that monitoring tools scrape (Datadog parses stat line by line, Zabbix and Nagios read mntr),
// and the read-only view of a running server that they and the AdminServer share.
import { hostname, homedir, release, type as osType, userInfo } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { freshLatencyStats, zkAverage, type CoreConn, type LatencyStats, type ServerCore } from '../server/core.js';
import type { QuorumServerSpec } from '../config/serverline.js';
import { VERSION_STRING } from '../version.js';

/**
 * A duration measured over and over (fsync, snapshot write, election), reported in mntr as
 * ZooKeeper's BASIC summaries are: zk_avg_X, zk_min_X, zk_max_X, zk_cnt_X, zk_sum_X (ms).
 */
export class Summary {
  count = 0;
  sum = 0;
  min = 0;
  max = 0;

  add(v: number): void {
    if (this.count === 0 || v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.count++;
    this.sum += v;
  }

  pairs(name: string): Array<[string, string | number]> {
    return [
      [`zk_avg_${name}`, javaDouble(zkAverage(this.sum, this.count))],
      [`zk_min_${name}`, this.min],
      [`zk_max_${name}`, this.max],
      [`zk_cnt_${name}`, this.count],
      [`zk_sum_${name}`, this.sum],
    ];
  }
}

/** Sizes in bytes as ZooKeeper's BufferStats keeps them: last, min, max; -1 before the first. */
export class SizeStats {
  last = -1;
  min = -1;
  max = -1;

  add(bytes: number): void {
    this.last = bytes;
    if (this.min < 0 || bytes < this.min) this.min = bytes;
    if (bytes > this.max) this.max = bytes;
  }

  reset(): void {
    this.last = -1;
    this.min = -1;
    this.max = -1;
  }

  /** the JSON object ZooKeeper's AdminServer shows (client_response, proposal_stats) */
  json(): Record<string, number> {
    return { last_buffer_size: this.last, min_buffer_size: this.min, max_buffer_size: this.max };
  }
}

const ELECTIONS_KEPT = 20;

/** What the runtime measures for mntr and the AdminServer, as it happens. */
export class RuntimeStats {
  /** each fdatasync of the txn log, ms (ZooKeeper's fsynctime) */
  readonly fsync = new Summary();
  /** fdatasyncs slower than fsync.warningthresholdms (ZooKeeper's fsync_threshold_exceed_count) */
  fsyncThresholdExceeded = 0;
  /** each snapshot written, ms (sliced while serving, fsync included) */
  readonly snapshot = new Summary();
  /** every frame sent to a client (reply or watch event), bytes after the length prefix */
  readonly responseBytes = new SizeStats();
  /** connections refused when accepted (maxClientCnxns from one address, online restore) */
  connectionsRejected = 0;
  /** ensemble members: from entering LOOKING to leading or following, ms */
  readonly election = new Summary();
  /** the last ELECTIONS_KEPT elections this member took part in, oldest first (the console's ensemble page; srst keeps them) */
  readonly elections: Array<{ endedMs: number; durationMs: number; leaderId: number; epoch: number; role: string }> = [];

  /** an election ended: this member now leads or follows `leaderId` in `epoch` */
  electionEnded(e: { endedMs: number; durationMs: number; leaderId: number; epoch: number; role: string }): void {
    this.election.add(e.durationMs);
    this.elections.push(e);
    if (this.elections.length > ELECTIONS_KEPT) this.elections.shift();
  }
  /**
   * Counters kept elsewhere (the client port's bytes, consensus's counts) as they were at the last
   * srst: mntr shows what accrued since, as ZooKeeper's reset counters do.
   */
  readonly baseline = new Map<string, number>();

  since(name: string, raw: number): number {
    return raw - (this.baseline.get(name) ?? 0);
  }

  /**
   * srst / stat_reset: what ZooKeeper's ServerStats.reset clears besides latency and packets (the
   * client response sizes and every ServerMetrics summary and counter). The threshold count and the
   * leader's proposal sizes are kept, as there.
   */
  resetMetrics(raw: ReadonlyArray<[string, number]>): void {
    this.responseBytes.reset();
    for (const s of [this.fsync, this.snapshot, this.election]) Object.assign(s, { count: 0, sum: 0, min: 0, max: 0 });
    this.connectionsRejected = 0;
    for (const [name, value] of raw) this.baseline.set(name, value);
  }
}

/** Zab's phases as ZooKeeper's QuorumPeer.ZabState names them. */
export type ZabPhase = 'election' | 'discovery' | 'synchronization' | 'broadcast';

/** An ensemble member's live consensus state, for leader, zabstate, voting_view, observers, /ready. */
export interface EnsembleView {
  myId: number;
  /** the server.N lines */
  servers: readonly QuorumServerSpec[];
  role(): 'looking' | 'leading' | 'following' | 'observing';
  phase(): ZabPhase;
  /** the leader this member leads or follows; 0 while looking */
  leaderId(): number;
  /** the epoch it leads or follows (0 while looking) */
  epoch(): number;
  /** leader: every configured learner and how far its sync got ('unknown', 'syncing', 'synced') */
  learners(): ReadonlyArray<{ id: number; observer: boolean; status: string }>;
  /** leader: client sync requests waiting for a quorum (ZooKeeper's pending_syncs) */
  pendingSyncs(): number;
  /** consensus's counts over this server's life (looking, syncs sent as leader, proposals, commits) */
  counts(): { looking: number; diffSyncs: number; snapSyncs: number; proposals: number; committed: number };
  /** leader: bytes of this reign's proposals, -1 before the first */
  proposalBytes(): { last: number; min: number; max: number };
  /** quorum-port traffic with one peer since its connection was established (or orst) */
  peer(id: number): { establishedMs: number; packetsReceived: number; packetsSent: number } | null;
  /** observer_connection_stat_reset: the leader's counters for its observers start again */
  resetObserverStats(): void;
  /** when this member started serving in its current role (ZooKeeper's uptime); 0 while not serving */
  servingSinceMs(): number;
}

/** The view of a running server that four-letter words and the AdminServer read (and the few actions they take). */
export interface ServerView {
  core: ServerCore;
  /** 'read-only': an ensemble member serving read-only clients without a quorum (readonlymode.enabled) */
  mode: 'standalone' | 'leader' | 'follower' | 'observer' | 'read-only';
  config: {
    clientPort: number;
    /** -1 without a secure client port */
    secureClientPort: number;
    clientPortAddress: string;
    dataDir: string;
    dataLogDir: string;
    tickTimeMs: number;
    maxClientCnxns: number;
    minSessionTimeoutMs: number;
    maxSessionTimeoutMs: number;
    serverId: number;
  };
  startedAt: number;
  remoteOf(conn: number): string;
  /** the connection came in on secureClientPort (the AdminServer lists it under secure_connections) */
  onSecurePort(conn: number): boolean;
  outstanding(conn: number): number;
  dataDirBytes(): number;
  logDirBytes(): number;
  openFds(): number;
  maxFds(): number;
  isAllowed(cmd: string): boolean;
  /** Ark's own figures appended to mntr (backup, archive) */
  extraMetrics(): Array<[string, number | string]>;
  now(): number;
  /** an ensemble member serves only once a leader is established (absent: always) */
  serving?(): boolean;
  /** an ensemble member's quorum settings, for `conf` (QuorumPeer's part of it) */
  quorum?: {
    initLimit: number;
    syncLimit: number;
    electionPort: number;
    quorumPort: number;
    observer: boolean;
    /** server.N=host:quorum:election:role;clientAddr:clientPort lines */
    membership: string[];
  };
  /** measured by the runtime: fsyncs, snapshots, response sizes, elections */
  stats: RuntimeStats;
  /** the trace mask set_trace_mask stores and get_trace_mask / gtmk report (Ark traces nothing by it) */
  traceMask: bigint;
  /** the text of the zoo.cfg this server started from (null: the configuration was not parsed from text) */
  initialConfig: string | null;
  /** what ZooKeeper would have set as Java system properties from zoo.cfg (zookeeper.*, ...) */
  zooCfgProperties: ReadonlyMap<string, string>;
  /** the newest snapshot file in the data dir: its zxid and modification time; null when none */
  lastSnapshot(): { zxid: number; timeMs: number } | null;
  /** bytes read from client connections since start */
  bytesReceived(): number;
  /** false while the client port has stopped reading this connection (its replies back up) */
  reading(conn: number): boolean;
  /** closes one client connection (shed_connections) */
  closeConnection(conn: number): void;
  /** why clients are not served now (online restore, election, sync); null when they are */
  notReadyReason(): string | null;
  /** true while the data dir loads: the server's state does not exist yet, only /health and /ready answer */
  loading?: () => boolean;
  /** ensemble members only */
  ensemble?: EnsembleView;
}

/** ZooKeeper's answer to most words while the server is not running (ZK_NOT_SERVING) */
export const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests\n';
const ALWAYS_ANSWERED = new Set(['ruok', 'conf', 'envi', 'dirs', 'isro']);

/** as Java's Long.toHexString: -1 is 0xffffffffffffffff */
const hex = (n: number | bigint): string => `0x${BigInt.asUintN(64, BigInt(n)).toString(16)}`;

/**
 * A double as Java's Double.toString prints it: at least one decimal (0.0, 1.5, 3.6154), and
 * below 10^-3 or from 10^7 on in computerized scientific notation (1.0E-4, 1.25E7).
 */
export function javaDouble(v: number): string {
  const abs = Math.abs(v);
  if (abs !== 0 && Number.isFinite(v) && (abs < 1e-3 || abs >= 1e7)) {
    const [mantissa, exponent] = v.toExponential().split('e') as [string, string];
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace(/^\+/, '')}`;
  }
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** The server's (or a connection's) latency figures: min and max in ms, the mean as ZooKeeper rounds it. */
export function latency(s: LatencyStats): { min: number; avg: number; max: number } {
  return {
    min: s.completed === 0 ? 0 : s.minLatencyMs,
    avg: zkAverage(s.totalLatencyMs, s.completed),
    max: s.maxLatencyMs,
  };
}

/** A connection's mean latency, a Java long division (ServerCnxn.getAvgLatency): cons and connections show it */
export function connectionAvgLatency(s: LatencyStats): number {
  return s.completed === 0 ? 0 : Math.floor(s.totalLatencyMs / s.completed);
}

function connLine(v: ServerView, c: CoreConn, brief: boolean): string {
  const s = c.stats;
  const head = ` /${v.remoteOf(c.id)}[${v.reading(c.id) ? 1 : 0}](queued=${v.outstanding(c.id)},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (brief || c.sessionId === null) return `${head})\n`;
  const l = latency(s);
  return (
    `${head},sid=${hex(c.sessionId)},lop=${s.lastOp},est=${s.established},to=${c.sessionTimeoutMs}` +
    (s.lastCxid >= 0 ? `,lcxid=${hex(s.lastCxid)}` : '') +
    `,lzxid=${hex(s.lastZxid)},lresp=${s.lastResponseTime},llat=${s.lastLatencyMs},minlat=${l.min},avglat=${connectionAvgLatency(s)},maxlat=${l.max})\n`
  );
}

/** crst: every figure of a connection starts again (ServerCnxn.resetStats) */
export function resetConnectionStats(c: CoreConn): void {
  Object.assign(c.stats, freshLatencyStats(), { lastOp: 'NA', lastCxid: -1, lastZxid: -1, lastResponseTime: 0, lastLatencyMs: 0 });
}

/** srst / stat_reset */
export function resetServerStats(v: ServerView): void {
  v.core.resetStats();
  v.stats.resetMetrics(rawCounters(v));
}

/** the counters srst starts again that live outside RuntimeStats, as read now */
function rawCounters(v: ServerView): Array<[string, number]> {
  const out: Array<[string, number]> = [['bytes_received_count', v.bytesReceived()]];
  const c = v.ensemble?.counts();
  if (c)
    out.push(
      ['looking_count', c.looking],
      ['diff_count', c.diffSyncs],
      ['snap_count', c.snapSyncs],
      ['proposal_count', c.proposals],
      ['commit_count', c.committed],
    );
  return out;
}

/** an established leader: the learner and proposal figures are its own (ZooKeeper registers them while leading) */
export function isServingLeader(v: ServerView): boolean {
  return v.mode === 'leader' && (v.serving?.() ?? true);
}

function serverStats(v: ServerView): string {
  const core = v.core;
  const l = latency(core.stats);
  const p = v.ensemble?.proposalBytes() ?? { last: -1, min: -1, max: -1 };
  return (
    `Latency min/avg/max: ${l.min}/${javaDouble(l.avg)}/${l.max}\n` +
    `Received: ${core.stats.packetsReceived}\n` +
    `Sent: ${core.stats.packetsSent}\n` +
    `Connections: ${core.conns.size}\n` +
    `Outstanding: ${core.outstanding}\n` +
    `Zxid: ${hex(core.lastApplied)}\n` +
    `Mode: ${v.mode}\n` +
    `Node count: ${core.tree.reportedNodeCount}\n` +
    (isServingLeader(v) ? `Proposal sizes last/min/max: ${p.last}/${p.min}/${p.max}\n` : '')
  );
}

/** ms since this server started serving in its current role (ZooKeeper's uptime; standalone: since start) */
export function uptimeMs(v: ServerView): number {
  const since = v.ensemble ? v.ensemble.servingSinceMs() : v.startedAt;
  return since > 0 ? v.now() - since : 0;
}

/** QuorumPeer.getDetailedPeerState: "following - broadcast", "looking" */
export function peerState(e: EnsembleView): string {
  const phase = e.phase();
  return phase === 'election' ? e.role() : `${e.role()} - ${phase}`;
}

/**
 * mntr (and the AdminServer's monitor): ZooKeeper's keys with Ark's values. Every line is
 * `zk_<name>\t<value>` with a value starting with [\w.-] (Telegraf rejects any other line) and
 * numeric except version, server_state and peer_state (Datadog reads the rest as numbers). Keys
 * whose value Ark cannot know are left out rather than reported as zero.
 */
export function mntrPairs(v: ServerView): Array<[string, string | number]> {
  const core = v.core;
  const l = latency(core.stats);
  const st = v.stats;
  const e = v.ensemble;
  const watches = core.tree.dataWatches.size + core.tree.childWatches.size;
  const out: Array<[string, string | number]> = [
    ['zk_version', VERSION_STRING],
    ['zk_server_state', v.mode],
    ...(e ? [['zk_peer_state', peerState(e)] as [string, string]] : []),
    ['zk_ephemerals_count', core.tree.ephemeralCount],
    ['zk_min_latency', l.min],
    ['zk_avg_latency', javaDouble(l.avg)],
    ['zk_max_latency', l.max],
    ['zk_packets_received', core.stats.packetsReceived],
    ['zk_packets_sent', core.stats.packetsSent],
    ['zk_num_alive_connections', core.conns.size],
    ['zk_outstanding_requests', core.outstanding],
    ['zk_znode_count', core.tree.reportedNodeCount],
    ['zk_watch_count', watches],
    ['zk_approximate_data_size', core.tree.approximateDataSize],
    ['zk_open_file_descriptor_count', v.openFds()],
    ['zk_max_file_descriptor_count', v.maxFds()],
    ['zk_uptime', uptimeMs(v)],
    ['zk_global_sessions', core.sessions.sessions.size],
    // Ark has no local sessions (localSessionsEnabled): every session is global
    ['zk_local_sessions', 0],
    ['zk_data_dir_size', v.dataDirBytes()],
    ['zk_log_dir_size', v.logDirBytes()],
    // Ark never drops connections at random to shed load (ZooKeeper's connection throttling)
    ['zk_connection_drop_probability', 0],
    ['zk_connection_rejected', st.connectionsRejected],
    ['zk_bytes_received_count', st.since('bytes_received_count', v.bytesReceived())],
    ['zk_last_client_response_size', st.responseBytes.last],
    ['zk_min_client_response_size', st.responseBytes.min],
    ['zk_max_client_response_size', st.responseBytes.max],
    ['zk_fsync_threshold_exceed_count', st.fsyncThresholdExceeded],
    ...st.fsync.pairs('fsynctime'),
    ...st.snapshot.pairs('snapshottime'),
  ];
  // a standalone server never looks for a leader, syncs learners or proposes: its counts are 0
  const c = e?.counts() ?? { looking: 0, diffSyncs: 0, snapSyncs: 0, proposals: 0, committed: 0 };
  out.push(
    ['zk_looking_count', st.since('looking_count', c.looking)],
    ...st.election.pairs('election_time'),
    ['zk_diff_count', st.since('diff_count', c.diffSyncs)],
    ['zk_snap_count', st.since('snap_count', c.snapSyncs)],
    ['zk_proposal_count', st.since('proposal_count', c.proposals)],
    ['zk_commit_count', st.since('commit_count', c.committed)],
  );
  // zk_quorum_size, zk_epoch and the leader's learner figures (zk_learners, zk_synced_followers,
  // ...) come from the ensemble runtime's extraMetrics
  if (e) {
    if (isServingLeader(v)) {
      const p = e.proposalBytes();
      out.push(
        ['zk_leader_uptime', uptimeMs(v)],
        ['zk_last_proposal_size', p.last],
        ['zk_min_proposal_size', p.min],
        ['zk_max_proposal_size', p.max],
      );
    }
    // an observer syncs from the leader (Ark has no observer masters)
    if (v.mode === 'observer' && e.leaderId() > 0) out.push(['zk_observer_master_id', e.leaderId()]);
  }
  out.push(...v.extraMetrics());
  return out;
}

/** envi / environment: ZooKeeper's Environment.list keys where Node has the same fact, Node's own otherwise. */
export function environment(): Array<[string, string]> {
  const heap = getHeapStatistics();
  const mb = (n: number): string => `${Math.round(n / (1024 * 1024))}MB`;
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry for this uid */
  }
  return [
    ['zookeeper.version', VERSION_STRING],
    ['host.name', hostname()],
    ['node.version', process.version],
    ['node.execPath', process.execPath],
    ['os.name', osType()],
    ['os.arch', process.arch],
    ['os.version', release()],
    ['user.name', user],
    ['user.home', homedir()],
    ['user.dir', process.cwd()],
    ['process.pid', String(process.pid)],
    // the JavaScript heap, as ZooKeeper reports the JVM heap: free = allocated - used
    ['os.memory.free', mb(heap.total_heap_size - heap.used_heap_size)],
    ['os.memory.max', mb(heap.heap_size_limit)],
    ['os.memory.total', mb(heap.total_heap_size)],
  ];
}

/** names whose values are credentials: system_properties shows them as "********" */
const SECRET_NAME = /pass(word)?|secret|token|credential|superdigest|private|api_?key|auth/i;

/**
 * system_properties / sysp: what a Node process has where a JVM has system properties: Node's
 * versions and process facts, the environment variables (credentials masked), and the zookeeper.*
 * properties ZooKeeper would set from this zoo.cfg. Sorted, as ZooKeeper sorts them.
 */
export function systemProperties(v: ServerView): Array<[string, string]> {
  const out = new Map<string, string>();
  for (const [k, val] of Object.entries(process.versions)) if (val !== undefined) out.set(`node.versions.${k}`, val);
  out.set('node.version', process.version);
  out.set('node.execPath', process.execPath);
  out.set('node.execArgv', process.execArgv.join(' '));
  out.set('process.argv', process.argv.join(' '));
  out.set('process.pid', String(process.pid));
  out.set('process.platform', process.platform);
  out.set('process.arch', process.arch);
  out.set('process.cwd', process.cwd());
  for (const [k, val] of Object.entries(process.env)) if (val !== undefined) out.set(`env.${k}`, SECRET_NAME.test(k) ? '********' : val);
  for (const [k, val] of v.zooCfgProperties) out.set(k, SECRET_NAME.test(k) ? '********' : val);
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** hash: the digest history, "zxid: digest" as ZooKeeper's DigestCommand prints it */
function digestLines(v: ServerView): string {
  return v.core.tree.digestLog.map((d) => `${d.zxid.toString(16)}: ${BigInt.asIntN(64, d.digest)}\n`).join('');
}

/** wchc / wchp / wchs show the data (and exist) watches only, as ZooKeeper does; mntr counts all. */
function watchesByConn(v: ServerView): Map<CoreConn, Set<string>> {
  const out = new Map<CoreConn, Set<string>>();
  for (const wm of [v.core.tree.dataWatches]) {
    for (const [watcher, paths] of wm.pathsByWatcher()) {
      const c = v.core.conns.get(watcher);
      if (!c) continue;
      let set = out.get(c);
      if (!set) {
        set = new Set();
        out.set(c, set);
      }
      for (const p of paths) set.add(p);
    }
  }
  return out;
}

/** stat: the server's figures with a line per connection */
function stat(v: ServerView): string {
  let out = `Zookeeper version: ${VERSION_STRING}\nClients:\n`;
  for (const c of v.core.conns.values()) out += connLine(v, c, true);
  return `${out}\n${serverStats(v)}`;
}

/** cons: every connection with its session and latency figures */
function cons(v: ServerView): string {
  let out = '';
  for (const c of v.core.conns.values()) out += connLine(v, c, false);
  return `${out}\n`;
}

/** conf: the settings as ZooKeeperServer.dumpConf prints them; an ensemble member adds QuorumZooKeeperServer's */
function conf(v: ServerView): string {
  const c = v.config;
  return (
    `clientPort=${c.clientPort}\nsecureClientPort=${c.secureClientPort}\ndataDir=${c.dataDir}\ndataDirSize=${v.dataDirBytes()}\n` +
    `dataLogDir=${c.dataLogDir}\ndataLogSize=${v.logDirBytes()}\ntickTime=${c.tickTimeMs}\nmaxClientCnxns=${c.maxClientCnxns}\n` +
    `minSessionTimeout=${c.minSessionTimeoutMs}\nmaxSessionTimeout=${c.maxSessionTimeoutMs}\nclientPortListenBacklog=-1\nserverId=${c.serverId}\n` +
    (v.quorum
      ? `initLimit=${v.quorum.initLimit}\nsyncLimit=${v.quorum.syncLimit}\nelectionAlg=3\nelectionPort=${v.quorum.electionPort}\n` +
        `quorumPort=${v.quorum.quorumPort}\npeerType=${v.quorum.observer ? 1 : 0}\nmembership: \n${v.quorum.membership.join('\n')}\nversion=0\n`
      : '')
  );
}

/** wchs: how many connections watch how many paths */
function wchs(v: ServerView): string {
  const byConn = watchesByConn(v);
  const paths = new Set<string>();
  for (const s of byConn.values()) for (const p of s) paths.add(p);
  return `${byConn.size} connections watching ${paths.size} paths\nTotal watches:${v.core.tree.dataWatches.size}\n`;
}

/** wchc: each watching session and its paths */
function wchc(v: ServerView): string {
  let out = '';
  for (const [c, paths] of watchesByConn(v)) {
    out += `${hex(c.sessionId ?? 0n)}\n`;
    for (const p of [...paths].sort()) out += `\t${p}\n`;
  }
  return `${out}\n`;
}

/** wchp: each watched path and the sessions watching it, by path */
function wchp(v: ServerView): string {
  const byPath = new Map<string, Set<bigint>>();
  for (const [c, paths] of watchesByConn(v)) {
    for (const p of paths) {
      let s = byPath.get(p);
      if (!s) {
        s = new Set();
        byPath.set(p, s);
      }
      s.add(c.sessionId ?? 0n);
    }
  }
  let out = '';
  for (const [p, ids] of [...byPath].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out += `${p}\n`;
    for (const id of ids) out += `\t${hex(id)}\n`;
  }
  return `${out}\n`;
}

/** dump: the sessions with their timeouts, the ephemerals by session, the connected sessions */
function dump(v: ServerView): string {
  const core = v.core;
  const sessions = [...core.sessions.sessions.values()];
  let out = `SessionTracker dump:\nGlobal Sessions(${sessions.length}):\n`;
  for (const s of sessions) out += `${hex(s.id)}\t${s.timeoutMs}ms\n`;
  out += `ephemeral nodes dump:\nSessions with Ephemerals (${core.tree.ephemerals.size}):\n`;
  for (const [id, paths] of core.tree.ephemerals) {
    out += `${hex(id)}:\n`;
    for (const p of [...paths].sort()) out += `\t${p}\n`;
  }
  out += `Connections dump:\nConnections Sets (1)/(${core.conns.size}):\n`;
  for (const c of core.conns.values()) if (c.sessionId !== null) out += `${hex(c.sessionId)}\n`;
  return out;
}

/**
 * isro (IsroCommand): 'ro' from a member serving read-only clients without a quorum, 'rw' from one
 * that serves, 'null' from one that serves no one (looking or syncing). Clients connected to a
 * read-only server probe the others with it and move to one that answers 'rw'.
 */
export function isro(v: ServerView): 'ro' | 'rw' | 'null' {
  if (v.core.mode === 'readonly') return 'ro';
  return servesNow(v) ? 'rw' : 'null';
}

/** Does this server serve clients now: standalone, an established leader, a synced learner, or read-only mode. */
export function servesNow(v: ServerView): boolean {
  return !v.serving || v.serving() || v.core.mode === 'readonly';
}

/** Each word's answer; some act first (crst, srst). */
const WORDS = new Map<string, (v: ServerView) => string>([
  ['ruok', () => 'imok'],
  ['isro', isro],
  ['srvr', (v) => `Zookeeper version: ${VERSION_STRING}\n${serverStats(v)}`],
  ['stat', stat],
  ['cons', cons],
  [
    'crst',
    (v) => {
      for (const c of v.core.conns.values()) resetConnectionStats(c);
      return 'Connection stats reset.\n';
    },
  ],
  [
    'srst',
    (v) => {
      resetServerStats(v);
      return 'Server stats reset.\n';
    },
  ],
  ['conf', conf],
  [
    'envi',
    () =>
      `Environment:\n${environment()
        .map(([k, val]) => `${k}=${val}`)
        .join('\n')}\n`,
  ],
  [
    'mntr',
    (v) =>
      `${mntrPairs(v)
        .map(([k, val]) => `${k}\t${val}`)
        .join('\n')}\n`,
  ],
  ['dirs', (v) => `datadir_size: ${v.dataDirBytes()}\nlogdir_size: ${v.logDirBytes()}\n`],
  ['wchs', wchs],
  ['wchc', wchc],
  ['wchp', wchp],
  ['dump', dump],
  // ZooKeeper prints the mask without a newline
  ['gtmk', (v) => String(v.traceMask)],
  // the new mask follows the word as 8 bytes, which the client port does not read: the mask
  // is set through the AdminServer's set_trace_mask; this reports the current one
  ['stmk', (v) => String(v.traceMask)],
  ['hash', digestLines],
]);

export function fourLetterWord(v: ServerView, cmd: string): string {
  if (!v.isAllowed(cmd)) return `${cmd} is not executed because it is not in the whitelist.\n`;
  if (!servesNow(v) && !ALWAYS_ANSWERED.has(cmd)) return NOT_SERVING;
  const word = WORDS.get(cmd);
  return word ? word(v) : `${cmd} is not a supported command.\n`;
}
