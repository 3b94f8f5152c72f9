// The client's connection and session state machine, without I/O (as nats.js keeps its protocol
// apart from its transport): inputs are messages with the time they happened (`now`), outputs are
// actions for the shell (open a socket to a host, send the handshake, ping, drop a socket, report
// a state change) and one deadline at which it wants a tick. Randomness (host order, backoff
// jitter) comes from an injected generator, so a test drives it step by step and replays it.
//
// States (the public `state`; Curator's ConnectionState / kazoo's KazooState in brackets):
//
//   connecting ──handshake ok──> connected ──connection lost──> suspended [SUSPENDED]
//        │                        ^    ^                           │  │
//        │                        │    └────handshake ok (same ────┘  │ server: "expired", or no
//        │                        │          session): reconnected    │ word from it for the whole
//        │                        │          [RECONNECTED]            v session timeout
//        │                        └──handshake ok (new session)── expired [LOST]
//        │                                                            (terminal unless renewSession)
//        └──(read-only server)──> readOnly [READ_ONLY] ... behaves as connected
//   any state ──close()──> closed
//   connecting / suspended ──SASL refused──> authFailed (terminal, as the Java client's AUTH_FAILED)
//
// With SASL (ClientOptions.sasl), a handshake is followed by the SASL exchange before the
// connection carries anything else (ZooKeeperSaslClient; ClientCnxnSocket holds other packets
// while tunnelAuthInProgress): the machine waits in 'authenticating' until the shell reports the
// exchange's end, then the session is established as above. On every reconnect it authenticates again.
//
// Timing (ClientCnxn): a connection attempt (TCP + handshake) gets connectTimeoutMs (default the
// session timeout divided by the number of hosts); once connected, a ping goes out when nothing
// was sent for a third of the negotiated timeout, and the connection counts as dead when nothing
// was heard for two thirds of it. While suspended, the session counts as expired once nothing
// was heard for the whole negotiated timeout: the server expires it on about the same clock, and
// reporting the loss then keeps a lock holder from acting after its lock may be gone. (Curator
// counts the timeout from the start of SUSPENDED, up to two thirds of a timeout later; kazoo only
// reports what the server says.) After a local expiry the old session is never resumed, so its
// ephemerals cannot outlive the loss the client reported.
import type { ConnectRequest } from '../wire/protocol.js';
import { formatHostPort, type HostPort } from './paths.js';

export type ClientState = 'connecting' | 'connected' | 'readOnly' | 'suspended' | 'expired' | 'authFailed' | 'closed';

export type MachineInput =
  | { type: 'start'; now: number }
  | { type: 'tick'; now: number }
  /** the TCP connection of this attempt is open */
  | { type: 'socketOpen'; attempt: number; now: number }
  /**
   * the attempt's socket closed or failed, or its stream broke (bad frame, xid out of order);
   * code: the socket error's (ECONNREFUSED, ENOTFOUND, ...), when there was one
   */
  | { type: 'socketClosed'; attempt: number; now: number; reason: string; code?: string }
  | { type: 'handshake'; attempt: number; now: number; timeOutMs: number; sessionId: bigint; passwd: Buffer; readOnly: boolean }
  /** any frame arrived on the attempt's connection; zxid > 0 from a reply to a request */
  | { type: 'received'; attempt: number; now: number; zxid?: number }
  /** a request went out on the attempt's connection */
  | { type: 'sent'; attempt: number; now: number }
  /** the SASL exchange on the attempt's connection succeeded */
  | { type: 'authenticated'; attempt: number; now: number }
  /** the server refused the SASL credentials (or the exchange failed): terminal */
  | { type: 'authFailed'; attempt: number; now: number; reason: string }
  /** a read-only connection found a read-write server (by `isro`): move there */
  | { type: 'rwServerFound'; host: HostPort; now: number }
  | { type: 'close'; now: number }
  /** the closeSession request was answered */
  | { type: 'closeAnswered'; attempt: number; now: number };

export type Action =
  | { type: 'connect'; attempt: number; host: HostPort }
  | { type: 'handshake'; attempt: number; request: ConnectRequest }
  | { type: 'drop'; attempt: number; reason: string }
  /**
   * An attempt ended without a session (refused, unreachable, timed out, hung up on during the
   * handshake), for a caller that wants to say why it cannot connect. code: the socket error's,
   * or ETIMEDOUT when no session came within connectTimeoutMs.
   */
  | { type: 'attemptFailed'; host: HostPort; reason: string; code?: string }
  | { type: 'ping'; attempt: number }
  /** run the SASL exchange on this connection (its handshake is done); report authenticated / authFailed */
  | { type: 'authenticate'; attempt: number }
  /**
   * The session is usable on this connection: the shell sends auth, re-registers watches, then
   * flushes queued requests. newSession: the session id differs from the one before (or there
   * was none).
   */
  | { type: 'established'; attempt: number; newSession: boolean; readOnly: boolean; host: HostPort }
  /** requests in flight on the lost connection fail with ConnectionLoss */
  | { type: 'connectionLost'; reason: string }
  /** the session is gone: fail queued and in-flight requests, end every watch */
  | { type: 'sessionLost'; reason: 'server' | 'local' }
  | { type: 'sendClose'; attempt: number }
  | { type: 'probeReadWrite'; host: HostPort }
  | { type: 'state'; state: ClientState; previous: ClientState; event: StateEvent };

/** The event that accompanies a state change (a listener's-eye view of the transition). */
export type StateEvent =
  | { type: 'connected'; sessionId: bigint; server: string; timeoutMs: number }
  | { type: 'reconnected'; sessionId: bigint; server: string; timeoutMs: number }
  | { type: 'readOnly'; sessionId: bigint; server: string; timeoutMs: number }
  | { type: 'suspended'; reason: string }
  | { type: 'expired'; reason: 'server' | 'local'; sessionId: bigint }
  | { type: 'authFailed'; reason: string }
  | { type: 'closed' };

export interface MachineOptions {
  /** in the order to try them; the machine shuffles them once with `random` */
  hosts: HostPort[];
  sessionTimeoutMs: number;
  /** per attempt (TCP connect + handshake); default max(1000, timeout / hosts) */
  connectTimeoutMs?: number;
  /** backoff between failed attempts: initial delay, doubled per failure up to max, with jitter */
  reconnectDelayMs?: { initialMs: number; maxMs: number };
  /** ask for a session that a read-only server (partitioned from its quorum) may serve */
  allowReadOnly?: boolean;
  /** after an expiry, start a new session (Curator, kazoo) instead of staying expired (Java) */
  renewSession?: boolean;
  /** resume this session instead of starting one */
  session?: { id: bigint; passwd: Buffer };
  /** authenticate with SASL after every handshake, before anything else is sent */
  sasl?: boolean;
  /** how long close() waits for the closeSession reply */
  closeTimeoutMs?: number;
  /** a uniform random number in [0, 1) */
  random: () => number;
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'waiting'; until: number }
  | { kind: 'opening'; attempt: number; host: HostPort; deadline: number }
  | { kind: 'handshaking'; attempt: number; host: HostPort; deadline: number; resuming: boolean }
  | { kind: 'authenticating'; attempt: number; host: HostPort; deadline: number; newSession: boolean; readOnly: boolean; timeOutMs: number }
  | { kind: 'open'; attempt: number; host: HostPort; lastSent: number; probeAt: number; probeEveryMs: number }
  | { kind: 'closing'; attempt: number; deadline: number }
  | { kind: 'closed' };

const PROBE_MIN_MS = 100; // ClientCnxn.minPingRwTimeout
const PROBE_MAX_MS = 60000; // ClientCnxn.maxPingRwTimeout

export class ConnectionMachine {
  private readonly hosts: HostPort[];
  private hostIndex = 0;
  private attempt = 0;
  private failures = 0;
  private phase: Phase = { kind: 'idle' };
  private actions: Action[] = [];

  state: ClientState = 'connecting';
  sessionId = 0n;
  passwd: Buffer = Buffer.alloc(16);
  /** the timeout the server granted (the requested one until a handshake) */
  negotiatedTimeoutMs: number;
  lastZxid = 0;
  private hasSession = false;
  /** a session handed out by a read-only server is not valid on a read-write one (ClientCnxn.seenRwServerBefore) */
  private seenRwServer = false;
  /** last time a frame arrived from the server of the current session */
  private heardAt = 0;
  private nextHostOverride: HostPort | null = null;

  constructor(private readonly opts: MachineOptions) {
    if (opts.hosts.length === 0) throw new Error('ConnectionMachine needs at least one host');
    this.hosts = shuffle([...opts.hosts], opts.random);
    this.negotiatedTimeoutMs = opts.sessionTimeoutMs;
    if (opts.session && opts.session.id !== 0n) {
      this.sessionId = opts.session.id;
      this.passwd = Buffer.from(opts.session.passwd);
      this.hasSession = true;
      this.seenRwServer = true;
    }
  }

  /** The host order after the shuffle (tests). */
  get hostOrder(): readonly HostPort[] {
    return this.hosts;
  }

  /** The attempt whose connection carries requests now, or null while not connected. */
  get connectedAttempt(): number | null {
    return this.phase.kind === 'open' ? this.phase.attempt : null;
  }

  get currentHost(): HostPort | null {
    const p = this.phase;
    return p.kind === 'open' || p.kind === 'opening' || p.kind === 'handshaking' || p.kind === 'authenticating' ? p.host : null;
  }

  get isClosed(): boolean {
    return this.phase.kind === 'closed';
  }

  private get readTimeoutMs(): number {
    return Math.floor((this.negotiatedTimeoutMs * 2) / 3);
  }
  private get pingIntervalMs(): number {
    return Math.floor(this.negotiatedTimeoutMs / 3);
  }
  private get connectTimeoutMs(): number {
    return this.opts.connectTimeoutMs ?? Math.max(1000, Math.floor(this.negotiatedTimeoutMs / this.hosts.length));
  }

  /** Actions produced since the last call, in order. */
  takeActions(): Action[] {
    const a = this.actions;
    this.actions = [];
    return a;
  }

  /** When the machine next wants a tick (absolute time), or null. */
  nextDeadline(): number | null {
    const p = this.phase;
    let d: number | null = null;
    const min = (t: number): void => {
      d = d === null ? t : Math.min(d, t);
    };
    switch (p.kind) {
      case 'waiting':
        min(p.until);
        break;
      case 'opening':
      case 'handshaking':
      case 'authenticating':
        min(p.deadline);
        break;
      case 'open':
        min(this.heardAt + this.readTimeoutMs);
        min(p.lastSent + this.pingIntervalMs);
        if (this.state === 'readOnly' && this.hosts.length > 1) min(p.probeAt);
        break;
      case 'closing':
        min(p.deadline);
        break;
      default:
        break;
    }
    if (this.hasSession && this.state === 'suspended') min(this.heardAt + this.negotiatedTimeoutMs);
    return d;
  }

  step(input: MachineInput): void {
    switch (input.type) {
      case 'start':
        return this.onStart(input.now);
      case 'tick':
        return this.onTick(input.now);
      case 'socketOpen':
        return this.onSocketOpen(input.attempt);
      case 'socketClosed':
        return this.onSocketClosed(input.attempt, input.now, input.reason, input.code);
      case 'handshake':
        return this.onHandshake(input);
      case 'authenticated':
        return this.onAuthenticated(input.attempt, input.now);
      case 'authFailed':
        return this.onAuthFailed(input.attempt, input.reason);
      case 'received':
        return this.onReceived(input.attempt, input.now, input.zxid);
      case 'sent':
        return this.onSent(input.attempt, input.now);
      case 'rwServerFound':
        return this.onRwServerFound(input.host, input.now);
      case 'close':
        return this.onClose(input.now);
      case 'closeAnswered':
        return this.onCloseAnswered(input.attempt);
    }
  }

  private onStart(now: number): void {
    if (this.phase.kind !== 'idle') return;
    this.heardAt = now;
    this.openAttempt(now);
  }

  private onTick(now: number): void {
    const p = this.phase;
    switch (p.kind) {
      case 'waiting':
        if (now >= p.until) this.openAttempt(now);
        break;
      case 'opening':
      case 'handshaking':
        if (now >= p.deadline)
          this.attemptFailed(p, now, `no session from ${formatHostPort(p.host)} within ${this.connectTimeoutMs} ms`, 'ETIMEDOUT');
        break;
      case 'authenticating':
        if (now >= p.deadline)
          this.attemptFailed(p, now, `SASL with ${formatHostPort(p.host)} not done within ${this.connectTimeoutMs} ms`, 'ETIMEDOUT');
        break;
      case 'open':
        if (now - this.heardAt >= this.readTimeoutMs) {
          this.connectionLost(
            p.attempt,
            now,
            `nothing heard from ${formatHostPort(p.host)} for ${now - this.heardAt} ms (read timeout ${this.readTimeoutMs} ms)`,
          );
        } else {
          if (now - p.lastSent >= this.pingIntervalMs) {
            this.actions.push({ type: 'ping', attempt: p.attempt });
            p.lastSent = now;
          }
          if (this.state === 'readOnly' && this.hosts.length > 1 && now >= p.probeAt) {
            this.actions.push({ type: 'probeReadWrite', host: this.pickProbeHost(p.host) });
            p.probeEveryMs = Math.min(PROBE_MAX_MS, p.probeEveryMs * 2);
            p.probeAt = now + p.probeEveryMs;
          }
        }
        break;
      case 'closing':
        if (now >= p.deadline) this.finishClose(p.attempt);
        break;
      default:
        break;
    }
    if (this.hasSession && this.state === 'suspended' && now - this.heardAt >= this.negotiatedTimeoutMs) {
      this.sessionExpired(now, 'local');
    }
  }

  private onSocketOpen(attempt: number): void {
    const p = this.phase;
    if (p.kind !== 'opening' || p.attempt !== attempt) return;
    const resume = this.hasSession && this.seenRwServer;
    this.phase = { kind: 'handshaking', attempt, host: p.host, deadline: p.deadline, resuming: resume };
    this.actions.push({
      type: 'handshake',
      attempt,
      request: {
        protocolVersion: 0,
        lastZxidSeen: this.lastZxid,
        timeOut: this.opts.sessionTimeoutMs,
        sessionId: resume ? this.sessionId : 0n,
        passwd: resume ? this.passwd : Buffer.alloc(16),
        readOnly: this.opts.allowReadOnly === true,
      },
    });
  }

  private onSocketClosed(attempt: number, now: number, reason: string, code: string | undefined): void {
    const p = this.phase;
    switch (p.kind) {
      case 'opening':
      case 'handshaking':
      case 'authenticating':
        if (p.attempt === attempt) this.attemptFailed(p, now, reason, code, false);
        break;
      case 'open':
        if (p.attempt === attempt) this.connectionLost(attempt, now, reason, false);
        break;
      case 'closing':
        if (p.attempt === attempt) this.finishClose(attempt, false);
        break;
      default:
        break;
    }
  }

  private onHandshake(h: Extract<MachineInput, { type: 'handshake' }>): void {
    const p = this.phase;
    if (p.kind !== 'handshaking' || p.attempt !== h.attempt) return;
    if (h.timeOutMs <= 0) {
      // the server no longer knows the session (ClientCnxn.onConnected: negotiatedSessionTimeout <= 0)
      this.actions.push({ type: 'drop', attempt: h.attempt, reason: 'session expired' });
      this.phase = { kind: 'idle' };
      this.sessionExpired(h.now, 'server');
      return;
    }
    const newSession = !p.resuming || h.sessionId !== this.sessionId;
    this.sessionId = h.sessionId;
    this.passwd = Buffer.from(h.passwd);
    this.negotiatedTimeoutMs = h.timeOutMs;
    this.hasSession = true;
    if (!h.readOnly) this.seenRwServer = true;
    this.heardAt = h.now;
    const a = { attempt: h.attempt, host: p.host, newSession, readOnly: h.readOnly, timeOutMs: h.timeOutMs };
    if (this.opts.sasl) {
      this.phase = { kind: 'authenticating', ...a, deadline: p.deadline };
      this.actions.push({ type: 'authenticate', attempt: h.attempt });
      return;
    }
    this.open(a, h.now);
  }

  private onAuthenticated(attempt: number, now: number): void {
    const p = this.phase;
    if (p.kind !== 'authenticating' || p.attempt !== attempt) return;
    this.heardAt = now;
    this.open(p, now);
  }

  /**
   * The server refused the credentials: the Java client goes to AUTH_FAILED and stops (its event
   * thread's "event of death"); sending them again to every server would not help.
   */
  private onAuthFailed(attempt: number, reason: string): void {
    const p = this.phase;
    if (p.kind !== 'authenticating' || p.attempt !== attempt) return;
    this.actions.push({ type: 'drop', attempt, reason });
    this.phase = { kind: 'closed' };
    this.setState('authFailed', { type: 'authFailed', reason });
  }

  /** The session is usable on this connection. */
  private open(a: { attempt: number; host: HostPort; newSession: boolean; readOnly: boolean; timeOutMs: number }, now: number): void {
    this.failures = 0;
    this.phase = {
      kind: 'open',
      attempt: a.attempt,
      host: a.host,
      lastSent: now,
      probeAt: now + PROBE_MIN_MS,
      probeEveryMs: PROBE_MIN_MS,
    };
    this.actions.push({ type: 'established', attempt: a.attempt, newSession: a.newSession, readOnly: a.readOnly, host: a.host });
    const info = { sessionId: this.sessionId, server: formatHostPort(a.host), timeoutMs: a.timeOutMs };
    if (a.readOnly) this.setState('readOnly', { type: 'readOnly', ...info });
    else if (a.newSession) this.setState('connected', { type: 'connected', ...info });
    else this.setState('connected', { type: 'reconnected', ...info });
  }

  private onReceived(attempt: number, now: number, zxid: number | undefined): void {
    const p = this.phase;
    if ((p.kind !== 'open' && p.kind !== 'closing' && p.kind !== 'authenticating') || p.attempt !== attempt) return;
    this.heardAt = now;
    if (zxid !== undefined && zxid > this.lastZxid) this.lastZxid = zxid;
  }

  private onSent(attempt: number, now: number): void {
    const p = this.phase;
    if (p.kind === 'open' && p.attempt === attempt) p.lastSent = now;
  }

  private onRwServerFound(host: HostPort, now: number): void {
    const p = this.phase;
    if (p.kind !== 'open' || this.state !== 'readOnly') return;
    this.nextHostOverride = host;
    this.connectionLost(p.attempt, now, `read-write server found at ${formatHostPort(host)}`);
  }

  private onClose(now: number): void {
    const p = this.phase;
    if (p.kind === 'closing') return;
    if (p.kind === 'closed') {
      // an expired (not renewing) or auth-failed client is already finished; close() only says so
      if (this.state !== 'closed') this.setState('closed', { type: 'closed' });
      return;
    }
    if (p.kind === 'open') {
      this.actions.push({ type: 'sendClose', attempt: p.attempt });
      this.phase = {
        kind: 'closing',
        attempt: p.attempt,
        deadline: now + (this.opts.closeTimeoutMs ?? Math.min(2000, this.readTimeoutMs)),
      };
      return;
    }
    if (p.kind === 'opening' || p.kind === 'handshaking' || p.kind === 'authenticating')
      this.actions.push({ type: 'drop', attempt: p.attempt, reason: 'client closed' });
    this.phase = { kind: 'closed' };
    this.setState('closed', { type: 'closed' });
  }

  private onCloseAnswered(attempt: number): void {
    const p = this.phase;
    if (p.kind === 'closing' && p.attempt === attempt) this.finishClose(attempt);
  }

  private finishClose(attempt: number, drop = true): void {
    if (drop) this.actions.push({ type: 'drop', attempt, reason: 'client closed' });
    this.phase = { kind: 'closed' };
    this.setState('closed', { type: 'closed' });
  }

  // ---------- transitions ----------

  private openAttempt(now: number): void {
    const host = this.nextHostOverride ?? this.hosts[this.hostIndex++ % this.hosts.length]!;
    this.nextHostOverride = null;
    const attempt = ++this.attempt;
    this.phase = { kind: 'opening', attempt, host, deadline: now + this.connectTimeoutMs };
    this.actions.push({ type: 'connect', attempt, host });
  }

  /** The next attempt: at once after a working connection broke, then with growing delays. */
  private connectNext(now: number): void {
    if (this.failures === 0) {
      this.openAttempt(now);
      return;
    }
    const { initialMs, maxMs } = this.opts.reconnectDelayMs ?? { initialMs: 100, maxMs: 2000 };
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(30, this.failures - 1));
    // "equal jitter": half fixed, half random, so clients that lost the same server spread out
    const delay = Math.floor(base / 2 + this.opts.random() * (base / 2));
    this.phase = { kind: 'waiting', until: now + delay };
  }

  private attemptFailed(p: { attempt: number; host: HostPort }, now: number, reason: string, code: string | undefined, drop = true): void {
    if (drop) this.actions.push({ type: 'drop', attempt: p.attempt, reason });
    this.actions.push({ type: 'attemptFailed', host: p.host, reason, ...(code !== undefined ? { code } : {}) });
    this.failures++;
    this.connectNext(now);
  }

  private connectionLost(attempt: number, now: number, reason: string, drop = true): void {
    if (drop) this.actions.push({ type: 'drop', attempt, reason });
    this.actions.push({ type: 'connectionLost', reason });
    this.failures = 0;
    this.setState('suspended', { type: 'suspended', reason });
    this.connectNext(now);
  }

  private sessionExpired(now: number, reason: 'server' | 'local'): void {
    const p = this.phase;
    if (p.kind === 'opening' || p.kind === 'handshaking' || p.kind === 'authenticating')
      this.actions.push({ type: 'drop', attempt: p.attempt, reason: 'session expired' });
    const sessionId = this.sessionId;
    this.hasSession = false;
    this.sessionId = 0n;
    this.passwd = Buffer.alloc(16);
    this.negotiatedTimeoutMs = this.opts.sessionTimeoutMs;
    this.actions.push({ type: 'sessionLost', reason });
    this.setState('expired', { type: 'expired', reason, sessionId });
    if (this.opts.renewSession) {
      this.failures = 0;
      this.heardAt = now;
      this.connectNext(now);
    } else {
      this.phase = { kind: 'closed' };
    }
  }

  private setState(state: ClientState, event: StateEvent): void {
    const previous = this.state;
    this.state = state;
    this.actions.push({ type: 'state', state, previous, event });
  }

  private pickProbeHost(current: HostPort): HostPort {
    for (let i = 0; i < this.hosts.length; i++) {
      const h = this.hosts[this.hostIndex++ % this.hosts.length]!;
      if (h.host !== current.host || h.port !== current.port) return h;
    }
    return current;
  }
}

/** Fisher-Yates with the injected generator (StaticHostProvider shuffles its list once too). */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
