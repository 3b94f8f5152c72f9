// The shapes the web console's JSON API answers with, shared by the server (console-ensemble.ts,
// console-sessions.ts) and the page (console/src), so the two cannot drift. Types only, no imports:
// the console's bundle type-checks this file without Node's types.

export interface MemberState {
  id: number;
  /** the client address asked (host:port), or null when unknown */
  address: string | null;
  /** participant or observer, as server.N configures it */
  role: string;
  self: boolean;
  /** up: serving; not-serving: electing or syncing; unreachable: no answer; unknown: no client address known */
  state: 'up' | 'not-serving' | 'unreachable' | 'unknown';
  mode?: string;
  zxid?: number;
  epoch?: number;
  /** txns behind the newest zxid seen among the members (same epoch only) */
  lag?: number;
  connections?: number;
  outstanding?: number;
  latency?: { min: number; avg: number; max: number };
  nodeCount?: number;
  /** the leader's view of its learner: synced, syncing, unknown */
  sync?: string;
  detail?: string;
}

/** one election this member took part in (RuntimeStats.elections) */
export interface ElectionRecord {
  endedMs: number;
  durationMs: number;
  leaderId: number;
  epoch: number;
  role: string;
}

/** GET /console/api/ensemble; myId 0 on a standalone server */
export interface EnsembleView {
  myId: number;
  leaderId: number;
  members: MemberState[];
  /** newest first */
  elections: ElectionRecord[];
}

export interface SessionRow {
  id: string;
  timeoutMs: number;
  /** ms until the session expires unless its client is heard from (the tracker's bucket) */
  expiresInMs: number;
  /** the client's address when it is connected to this member */
  client: string | null;
  ephemerals: number;
  ephemeralPaths: string[];
  watches: number;
}

/** GET /console/api/sessions: at most SESSIONS_MAX of `total` */
export interface SessionsView {
  total: number;
  sessions: SessionRow[];
}
