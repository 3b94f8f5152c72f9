// Helpers of the client suite: the server under test (ZK_TEST_SERVER=HOST:PORT, or an Ark server
// started here), unique namespaces so the suite can share a server, a TCP proxy that can cut or
// freeze a client's connection (any ZooKeeper-protocol server behind it), and bounded waits.
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { startArk, type RunningServer } from '../helpers/servers.js';
import { connect, type ClientOptions, type WatchedEvent, type Watcher, type ZooKeeperClient } from '../../src/index.js';

export interface Target {
  /** host:port[,host:port...] without chroot */
  connectString: string;
  /** 'external': ZK_TEST_SERVER, a server this suite does not control */
  kind: 'ark' | 'zookeeper' | 'external';
  stop(): Promise<void>;
}

/**
 * Server settings the suite starts its own servers with: ticks of 1 s (sessions of 2-20 s, so
 * expiry tests take seconds), TTL nodes on, containers checked every second.
 */
export const SUITE_CFG = { tickTime: 1000, extendedTypesEnabled: true, 'znode.container.checkIntervalMs': 1000 } as const;

/** ZK_TEST_SERVER when set, else a fresh Ark server. */
export async function defaultTarget(): Promise<Target> {
  const ext = process.env.ZK_TEST_SERVER;
  if (ext) return { connectString: ext, kind: 'external', stop: async () => undefined };
  return arkTarget();
}

export async function arkTarget(): Promise<Target> {
  const s = await startArk({ cfg: { ...SUITE_CFG } });
  return serverTarget(s, 'ark');
}

export function serverTarget(s: RunningServer, kind: 'ark' | 'zookeeper'): Target {
  return {
    connectString: s.connectString,
    kind,
    stop: async () => {
      await s.stop();
    },
  };
}

let counter = 0;
/** A fresh path for one test: /ark-client-test-<pid>-<n>-<random>. */
export function uniqueRoot(label = 't'): string {
  return `/ark-client-test-${process.pid}-${++counter}-${label.replace(/[^a-zA-Z0-9]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** Clients made by a test, closed at its end. */
export class Clients {
  private readonly all: ZooKeeperClient[] = [];
  constructor(private readonly target: Target) {}

  async connect(chroot = '', options: ClientOptions = {}, connectString = this.target.connectString): Promise<ZooKeeperClient> {
    const c = await connect(connectString + chroot, { sessionTimeoutMs: 20000, timeoutMs: 30000, ...options });
    this.all.push(c);
    return c;
  }

  track(c: ZooKeeperClient): ZooKeeperClient {
    this.all.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((c) => c.close()));
  }
}

/** Waits for an event of an emitter (bounded, so a missing event fails instead of hanging). */
export function once<T = unknown>(emitter: EventEmitter, name: string, timeoutMs = 30000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (v: T): void => {
      clearTimeout(t);
      resolve(v);
    };
    emitter.once(name, on);
  });
}

/** Polls until pred() is true (bounded). */
export async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Watcher that queues its events; next() takes them in order (bounded wait). */
export class WatchQueue {
  readonly events: WatchedEvent[] = [];
  private waiters: Array<(e: WatchedEvent) => void> = [];
  readonly watcher: Watcher = (e) => {
    const w = this.waiters.shift();
    if (w) w(e);
    else this.events.push(e);
  };
  next(timeoutMs = 30000): Promise<WatchedEvent> {
    const e = this.events.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no watch event within ${timeoutMs} ms`));
      }, timeoutMs);
      const w = (ev: WatchedEvent): void => {
        clearTimeout(t);
        resolve(ev);
      };
      this.waiters.push(w);
    });
  }
  get pending(): number {
    return this.events.length;
  }
}

/** Records a client's state events in order. */
export function recordStates(c: ZooKeeperClient): string[] {
  const log: string[] = [];
  for (const name of ['connected', 'reconnected', 'suspended', 'expired', 'readOnly', 'authFailed', 'closed'] as const) {
    c.on(name, () => log.push(name));
  }
  return log;
}

// ---------- a TCP proxy between client and server ----------

interface Pair {
  client: Socket;
  server: Socket | null;
  /** bytes held while frozen, per direction */
  up: Buffer[];
  down: Buffer[];
  /** client->server frames seen (after the ConnectRequest): xid and opcode */
  frames: Array<{ xid: number; op: number; bytes: number }>;
}

/**
 * Forwards connections to a target server. cut() resets every connection (a crashed link);
 * freeze() stops forwarding in both directions and holds new connections unanswered (a network
 * partition); thaw() ends that. Client->server frames are parsed so tests can count requests
 * (e.g. setWatches by xid -8).
 */
export class TcpProxy extends EventEmitter {
  private readonly pairs = new Set<Pair>();
  private frozen = false;
  private held: Array<() => void> = [];
  readonly frames: Array<{ xid: number; op: number; bytes: number; conn: number }> = [];
  private conns = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {
    super();
  }

  static async start(targetConnectString: string): Promise<TcpProxy> {
    const first = targetConnectString.split(',')[0]!;
    const colon = first.lastIndexOf(':');
    const target = { host: first.slice(0, colon), port: Number(first.slice(colon + 1)) };
    let proxy: TcpProxy | null = null;
    const server = createServer((sock) => proxy!.accept(sock));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const addr = server.address();
    proxy = new TcpProxy(server, typeof addr === 'object' && addr ? addr.port : 0, target);
    return proxy;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  private accept(client: Socket): void {
    const pair: Pair = { client, server: null, frames: [], up: [], down: [] };
    this.pairs.add(pair);
    const conn = ++this.conns;
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.server?.destroy();
      this.pairs.delete(pair);
    });
    const link = (): void => {
      if (client.destroyed) return;
      const server = netConnect(this.target);
      pair.server = server;
      server.on('error', () => undefined);
      server.on('close', () => {
        client.destroy();
        this.pairs.delete(pair);
      });
      let buf = Buffer.alloc(0);
      let first = true;
      client.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4) {
          const len = buf.readInt32BE(0);
          if (buf.length < 4 + len) break;
          if (!first && len >= 8) {
            const f = { xid: buf.readInt32BE(4), op: buf.readInt32BE(8), bytes: len, conn };
            this.frames.push(f);
            pair.frames.push(f);
            this.emit('frame', f);
          }
          first = false;
          buf = buf.subarray(4 + len);
        }
        if (this.frozen) pair.up.push(d);
        else server.write(d);
      });
      server.on('data', (d: Buffer) => {
        if (this.frozen) pair.down.push(d);
        else client.write(d);
      });
    };
    if (this.frozen) this.held.push(link);
    else link();
  }

  /** Resets every open connection. */
  cut(): void {
    for (const p of this.pairs) {
      p.client.resetAndDestroy();
      p.server?.destroy();
    }
    this.pairs.clear();
  }

  /** Stops forwarding (both ways) and holds new connections. */
  freeze(): void {
    this.frozen = true;
  }

  /**
   * Forwards again: bytes held meanwhile go through late (a slow network), or with dropFrozen the
   * open connections are reset instead; held new connections are linked now.
   */
  thaw(opts: { dropFrozen?: boolean } = {}): void {
    if (opts.dropFrozen) this.cut();
    this.frozen = false;
    for (const p of this.pairs) {
      for (const d of p.up.splice(0)) p.server?.write(d);
      for (const d of p.down.splice(0)) p.client.write(d);
    }
    for (const l of this.held.splice(0)) l();
  }

  /** Frames a connection opened after `since` (a count of connections) sent. */
  framesAfter(connCount: number): Array<{ xid: number; op: number; bytes: number; conn: number }> {
    return this.frames.filter((f) => f.conn > connCount);
  }

  get connections(): number {
    return this.conns;
  }

  async close(): Promise<void> {
    this.cut();
    this.held.length = 0;
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
