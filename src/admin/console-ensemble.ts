// The web console's ensemble page: each member of server.N, as this member sees it now. This
// member reports itself from its own state; every other member is asked `srvr` on its client port
// (the four-letter word ZooKeeper allows by default, 4lw.commands.whitelist), as an operator's
// monitoring would, so a member that is down shows as unreachable within one poll, and one that
// is electing or syncing says it does not serve. On the leader, each learner's sync status is added.
import { connect } from 'node:net';
import { latency, peerState, type ServerView } from './fourletter.js';
import { counterOf, epochOf } from '../util/zxid.js';
import type { EnsembleView, MemberState } from './console-types.js';

/** how long a member may take to answer srvr before it counts as unreachable */
const PROBE_TIMEOUT_MS = 1500;

/** Sends a four-letter word; resolves with the whole answer, or rejects on error or timeout. */
export function fourLetterProbe(host: string, port: number, word: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.write(word));
    s.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code ?? e.message));
    });
  });
}

/** srvr's lines as a member state */
export function parseSrvr(text: string): Partial<MemberState> {
  if (/not currently serving/i.test(text)) return { state: 'not-serving', detail: 'not serving (electing or syncing)' };
  const line = (k: string): string | undefined => new RegExp(`^${k}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const mode = line('Mode');
  if (mode === undefined)
    return { state: 'unknown', detail: text.trim() === '' ? 'srvr is not allowed (4lw.commands.whitelist)' : text.trim() };
  const zxid = Number.parseInt(line('Zxid') ?? '', 16);
  const lat = (line('Latency min/avg/max') ?? '').split('/').map(Number);
  const out: Partial<MemberState> = {
    state: 'up',
    mode,
    connections: Number(line('Connections')),
    outstanding: Number(line('Outstanding')),
    nodeCount: Number(line('Node count')),
  };
  if (Number.isFinite(zxid)) out.zxid = zxid;
  if (lat.length === 3 && lat.every(Number.isFinite)) out.latency = { min: lat[0]!, avg: lat[1]!, max: lat[2]! };
  return out;
}

function selfState(v: ServerView): Partial<MemberState> {
  const core = v.core;
  const serving = !v.serving || v.serving();
  return {
    state: serving ? 'up' : 'not-serving',
    mode: v.ensemble ? (serving ? v.mode : peerState(v.ensemble)) : v.mode,
    zxid: core.lastApplied,
    connections: core.conns.size,
    outstanding: core.outstanding,
    latency: latency(core.stats),
    nodeCount: core.tree.reportedNodeCount,
  };
}

/** Every member's state, this one's from memory, the others' by srvr (all at once). */
export async function ensembleState(
  v: ServerView,
  probe: (host: string, port: number) => Promise<string> = (h, p) => fourLetterProbe(h, p, 'srvr'),
): Promise<EnsembleView> {
  const e = v.ensemble;
  if (!e) {
    return {
      myId: 0,
      leaderId: 0,
      members: [{ id: 0, address: null, role: 'standalone', self: true, state: 'up', ...selfState(v) }],
      elections: [],
    };
  }
  const learners = new Map(e.learners().map((l) => [l.id, l.status]));
  const members = await Promise.all(
    e.servers.map(async (s): Promise<MemberState> => {
      const base = { id: s.id, role: s.role, self: s.id === e.myId };
      if (base.self) return { ...base, address: `${s.host}:${v.config.clientPort}`, state: 'up', ...selfState(v) } as MemberState;
      // the server line's client address, else the peer's host with this member's client port (the usual layout)
      const host = s.clientAddress && s.clientAddress !== '0.0.0.0' ? s.clientAddress : s.host;
      const port = s.clientPort ?? v.config.clientPort;
      const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const sync = learners.get(s.id);
      try {
        return { ...base, address, state: 'unknown', ...parseSrvr(await probe(host, port)), ...(sync ? { sync } : {}) };
      } catch (err) {
        return { ...base, address, state: 'unreachable', detail: (err as Error).message, ...(sync ? { sync } : {}) };
      }
    }),
  );
  const newest = Math.max(...members.map((m) => m.zxid ?? 0));
  for (const m of members) {
    if (m.zxid !== undefined && m.state === 'up' && epochOf(m.zxid) === epochOf(newest)) m.lag = counterOf(newest) - counterOf(m.zxid);
    if (m.zxid !== undefined) m.epoch = epochOf(m.zxid);
  }
  return { myId: e.myId, leaderId: e.leaderId(), members, elections: [...v.stats.elections].reverse() };
}
