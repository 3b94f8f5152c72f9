// Session table with expiry buckets (ZooKeeper's SessionTrackerImpl + ExpiryQueue), driven by
// now-arguments: no clock of its own.
import { assert } from '../util/errors.js';

export interface Session {
  readonly id: bigint;
  timeoutMs: number;
  passwd: Buffer;
  /** Deadline bucket this session sits in (a multiple of the expiry interval). */
  expiresAt: number;
  /** closeSession submitted: no more requests are accepted. */
  closing: boolean;
}

export class SessionTracker {
  readonly sessions = new Map<bigint, Session>();
  private readonly buckets = new Map<number, Set<bigint>>();
  private nextExpiration: number;
  private nextId: bigint;

  constructor(
    private readonly expiryIntervalMs: number,
    serverId: number,
    nowMs: number,
  ) {
    assert(expiryIntervalMs > 0, 'expiry interval must be positive');
    this.nextExpiration = this.roundUp(nowMs);
    this.nextId = SessionTracker.initialSessionId(serverId, nowMs);
  }

  /** (now << 24) >>> 8 | serverId << 56, as SessionTrackerImpl.initializeNextSessionId. */
  static initialSessionId(serverId: number, nowMs: number): bigint {
    const shifted = BigInt.asUintN(64, BigInt(nowMs) << 24n) >> 8n;
    const id = BigInt.asIntN(64, shifted | (BigInt(serverId) << 56n));
    // Long.MIN_VALUE marks container nodes: never hand it out as a session id
    return id === -0x8000000000000000n ? id + 1n : id;
  }

  newSessionId(): bigint {
    const id = this.nextId;
    this.nextId = BigInt.asIntN(64, this.nextId + 1n);
    return id;
  }

  private roundUp(t: number): number {
    return (Math.floor(t / this.expiryIntervalMs) + 1) * this.expiryIntervalMs;
  }

  add(id: bigint, timeoutMs: number, passwd: Buffer, nowMs: number): Session {
    let s = this.sessions.get(id);
    if (!s) {
      s = { id, timeoutMs, passwd, expiresAt: 0, closing: false };
      this.sessions.set(id, s);
    } else {
      s.timeoutMs = timeoutMs;
    }
    this.touch(id, nowMs);
    return s;
  }

  get(id: bigint): Session | undefined {
    return this.sessions.get(id);
  }

  /** Moves a live session to the bucket of now + timeout. False when unknown or closing. */
  touch(id: bigint, nowMs: number): boolean {
    const s = this.sessions.get(id);
    if (!s || s.closing) return false;
    const at = this.roundUp(nowMs + s.timeoutMs);
    if (at === s.expiresAt) return true;
    this.buckets.get(s.expiresAt)?.delete(id);
    let b = this.buckets.get(at);
    if (!b) {
      b = new Set();
      this.buckets.set(at, b);
    }
    b.add(id);
    s.expiresAt = at;
    return true;
  }

  setClosing(id: bigint): void {
    const s = this.sessions.get(id);
    if (s) s.closing = true;
  }

  remove(id: bigint): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.buckets.get(s.expiresAt)?.delete(id);
    this.sessions.delete(id);
  }

  /** Sessions whose deadline has passed; they are marked closing. */
  expire(nowMs: number): bigint[] {
    const out: bigint[] = [];
    while (this.nextExpiration <= nowMs) {
      const b = this.buckets.get(this.nextExpiration);
      if (b) {
        for (const id of b) {
          const s = this.sessions.get(id);
          if (s && !s.closing) {
            s.closing = true;
            out.push(id);
          }
        }
        this.buckets.delete(this.nextExpiration);
      }
      this.nextExpiration += this.expiryIntervalMs;
    }
    return out;
  }
}

/**
 * A session's password as ZooKeeper derives it: java.util.Random seeded with
 * sessionId ^ 0xB3415C00, nextBytes(16) (ZooKeeperServer.generatePasswd). Deterministic, so every
 * server and every restart agrees, and sessions imported from ZooKeeper keep working.
 */
export function zookeeperSessionPassword(sessionId: bigint): Buffer {
  const MASK = (1n << 48n) - 1n;
  let seed = (BigInt.asUintN(64, sessionId ^ 0xb3415c00n) ^ 0x5deece66dn) & MASK;
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; ) {
    seed = (seed * 0x5deece66dn + 0xbn) & MASK;
    let rnd = Number(BigInt.asIntN(32, seed >> 16n));
    for (let n = Math.min(16 - i, 4); n-- > 0; rnd >>= 8) out[i++] = rnd & 0xff;
  }
  return out;
}
