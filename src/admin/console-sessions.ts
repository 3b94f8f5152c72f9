// The web console's sessions page: the sessions this member knows (an ensemble's sessions are
// global: every member tracks them all), each with its timeout, the client connected to this
// member with it (if any), its ephemerals and its watches here. Only for a user with ALL on "/"
// or the super user (as the AdminServer's admin commands, ZOOKEEPER-4639): ephemeral paths name
// znodes that ACLs may hide from others. (Every permission bit, checked one by one.)
import type { SessionRow, SessionsView } from './console-types.js';
import type { ServerView } from './fourletter.js';

/** sessions listed at most, and ephemeral paths per session */
const SESSIONS_MAX = 1000;
const PATHS_MAX = 20;

export function sessionsView(v: ServerView): SessionsView {
  const core = v.core;
  const connOf = new Map<bigint, number>();
  for (const c of core.conns.values()) if (c.sessionId !== null) connOf.set(c.sessionId, c.id);
  const watchCount = (conn: number | undefined): number => {
    if (conn === undefined) return 0;
    let n = 0;
    for (const m of [core.tree.dataWatches, core.tree.childWatches]) n += m.pathsByWatcher().get(conn)?.size ?? 0;
    return n;
  };
  const all = [...core.sessions.sessions.values()];
  const rows = all.slice(0, SESSIONS_MAX).map((s): SessionRow => {
    const conn = connOf.get(s.id);
    const eph = core.tree.ephemerals.get(s.id) ?? new Set<string>();
    const remote = conn === undefined ? '' : v.remoteOf(conn);
    return {
      id: `0x${BigInt.asUintN(64, s.id).toString(16)}`,
      timeoutMs: s.timeoutMs,
      expiresInMs: Math.max(0, s.expiresAt - v.now()),
      // the console's own sessions come in on its local socket, which has no address
      client: conn === undefined ? null : remote === ':0' ? 'web console' : remote,
      ephemerals: eph.size,
      ephemeralPaths: [...eph].slice(0, PATHS_MAX),
      watches: watchCount(conn),
    };
  });
  return { total: all.length, sessions: rows };
}

/** The password of a session this member knows (every member derives the same), or null. */
export function sessionPasswd(v: ServerView, id: bigint): Buffer | null {
  return v.core.sessions.sessions.get(id)?.passwd ?? null;
}
