// Four-letter words on the client port (ZooKeeper's FourLetterCommands) with the text layouts
// that monitoring tools scrape (Datadog parses stat line by line, Zabbix and Nagios read mntr).
import { hostname } from 'node:os';
import { freshLatencyStats, type CoreConn, type ServerCore } from '../server/core.js';
import { VERSION_STRING } from '../version.js';

export interface ServerView {
  core: ServerCore;
  mode: 'standalone' | 'leader' | 'follower' | 'observer';
  config: {
    clientPort: number;
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
  outstanding(conn: number): number;
  dataDirBytes(): number;
  logDirBytes(): number;
  openFds(): number;
  maxFds(): number;
  isAllowed(cmd: string): boolean;
  /** Ark's own figures appended to mntr (backup, archive) */
  extraMetrics(): Array<[string, number]>;
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
}

/** ZooKeeper's answer to most words while the server is not running (ZK_NOT_SERVING) */
export const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests\n';
const ALWAYS_ANSWERED = new Set(['ruok', 'conf', 'envi', 'dirs', 'isro']);

const hex = (n: number | bigint): string => `0x${(typeof n === 'bigint' ? BigInt.asUintN(64, n) : n).toString(16)}`;

/** Java prints doubles with at least one decimal: 0.0, 1.5, 0.3333333333333333 */
function javaDouble(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

function latency(s: { minLatencyMs: number; maxLatencyMs: number; totalLatencyMs: number; completed: number }): { min: number; avg: number; max: number } {
  return {
    min: s.completed === 0 ? 0 : s.minLatencyMs,
    avg: s.completed === 0 ? 0 : s.totalLatencyMs / s.completed,
    max: s.maxLatencyMs,
  };
}

function connLine(v: ServerView, c: CoreConn, brief: boolean): string {
  const s = c.stats;
  const head = ` /${v.remoteOf(c.id)}[${c.sessionId === null ? 0 : 1}](queued=${v.outstanding(c.id)},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (brief || c.sessionId === null) return `${head})\n`;
  const l = latency(s);
  return `${head},sid=${hex(c.sessionId)},lop=${s.lastOp},est=${s.established},to=${c.sessionTimeoutMs}` +
    `,lzxid=${hex(s.lastZxid)},lresp=${s.lastResponseTime},llat=0,minlat=${l.min},avglat=${Math.round(l.avg)},maxlat=${l.max})\n`;
}

function serverStats(v: ServerView): string {
  const core = v.core;
  const l = latency(core.stats);
  return `Latency min/avg/max: ${l.min}/${javaDouble(l.avg)}/${l.max}\n` +
    `Received: ${core.stats.packetsReceived}\n` +
    `Sent: ${core.stats.packetsSent}\n` +
    `Connections: ${core.conns.size}\n` +
    `Outstanding: ${core.outstanding}\n` +
    `Zxid: ${hex(core.lastApplied)}\n` +
    `Mode: ${v.mode}\n` +
    `Node count: ${core.tree.reportedNodeCount}\n`;
}

export function mntrPairs(v: ServerView): Array<[string, string | number]> {
  const core = v.core;
  const l = latency(core.stats);
  const watches = core.tree.dataWatches.size + core.tree.childWatches.size;
  return [
    ['zk_version', VERSION_STRING],
    ['zk_server_state', v.mode],
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
    ['zk_uptime', v.now() - v.startedAt],
    ['zk_global_sessions', core.sessions.sessions.size],
    ['zk_local_sessions', 0],
    ['zk_data_dir_size', v.dataDirBytes()],
    ['zk_log_dir_size', v.logDirBytes()],
    ['zk_last_proposal_size', -1],
    ['zk_connection_drop_probability', 0],
    ...v.extraMetrics(),
  ];
}

/** wchc / wchp / wchs show the data (and exist) watches only, as ZooKeeper does; mntr counts all. */
function watchesByConn(v: ServerView): Map<CoreConn, Set<string>> {
  const out = new Map<CoreConn, Set<string>>();
  for (const wm of [v.core.tree.dataWatches]) {
    for (const [watcher, paths] of wm.pathsByWatcher()) {
      const c = v.core.conns.get(watcher);
      if (!c) continue;
      let set = out.get(c);
      if (!set) { set = new Set(); out.set(c, set); }
      for (const p of paths) set.add(p);
    }
  }
  return out;
}

export function fourLetterWord(v: ServerView, cmd: string): string {
  if (!v.isAllowed(cmd)) return `${cmd} is not executed because it is not in the whitelist.\n`;
  if (v.serving && !v.serving() && !ALWAYS_ANSWERED.has(cmd)) return NOT_SERVING;
  const core = v.core;
  switch (cmd) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
    case 'srvr':
      return `Zookeeper version: ${VERSION_STRING}\n${serverStats(v)}`;
    case 'stat': {
      let out = `Zookeeper version: ${VERSION_STRING}\nClients:\n`;
      for (const c of core.conns.values()) out += connLine(v, c, true);
      return `${out}\n${serverStats(v)}`;
    }
    case 'cons': {
      let out = '';
      for (const c of core.conns.values()) out += connLine(v, c, false);
      return `${out}\n`;
    }
    case 'crst':
      for (const c of core.conns.values()) Object.assign(c.stats, freshLatencyStats());
      return 'Connection stats reset.\n';
    case 'srst':
      core.resetStats();
      return 'Server stats reset.\n';
    case 'conf': {
      const c = v.config;
      return `clientPort=${c.clientPort}\nsecureClientPort=-1\ndataDir=${c.dataDir}\ndataDirSize=${v.dataDirBytes()}\n` +
        `dataLogDir=${c.dataLogDir}\ndataLogSize=${v.logDirBytes()}\ntickTime=${c.tickTimeMs}\nmaxClientCnxns=${c.maxClientCnxns}\n` +
        `minSessionTimeout=${c.minSessionTimeoutMs}\nmaxSessionTimeout=${c.maxSessionTimeoutMs}\nclientPortListenBacklog=-1\nserverId=${c.serverId}\n` +
        (v.quorum
          ? `initLimit=${v.quorum.initLimit}\nsyncLimit=${v.quorum.syncLimit}\nelectionAlg=3\nelectionPort=${v.quorum.electionPort}\n` +
            `quorumPort=${v.quorum.quorumPort}\npeerType=${v.quorum.observer ? 1 : 0}\nmembership: \n${v.quorum.membership.join('\n')}\nversion=0\n`
          : '');
    }
    case 'envi':
      return 'Environment:\n' + [
        ['zookeeper.version', VERSION_STRING], ['host.name', hostname()], ['node.version', process.version],
        ['os.name', process.platform], ['os.arch', process.arch], ['user.dir', process.cwd()],
        ['process.pid', String(process.pid)],
      ].map(([k, val]) => `${k}=${val}`).join('\n') + '\n';
    case 'mntr':
      return mntrPairs(v).map(([k, val]) => `${k}\t${val}`).join('\n') + '\n';
    case 'dirs':
      return `datadir_size: ${v.dataDirBytes()}\nlogdir_size: ${v.logDirBytes()}\n`;
    case 'wchs': {
      const byConn = watchesByConn(v);
      const paths = new Set<string>();
      for (const s of byConn.values()) for (const p of s) paths.add(p);
      return `${byConn.size} connections watching ${paths.size} paths\nTotal watches:${core.tree.dataWatches.size}\n`;
    }
    case 'wchc': {
      let out = '';
      for (const [c, paths] of watchesByConn(v)) {
        out += `${hex(c.sessionId ?? 0n)}\n`;
        for (const p of [...paths].sort()) out += `\t${p}\n`;
      }
      return `${out}\n`;
    }
    case 'wchp': {
      const byPath = new Map<string, Set<bigint>>();
      for (const [c, paths] of watchesByConn(v)) {
        for (const p of paths) {
          let s = byPath.get(p);
          if (!s) { s = new Set(); byPath.set(p, s); }
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
    case 'dump': {
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
    case 'gtmk':
      return '0\n';
    case 'stmk':
      return '0\n';
    case 'hash':
      return `${hex(core.lastApplied)}\n`;
  }
  return `${cmd} is not a supported command.\n`;
}
