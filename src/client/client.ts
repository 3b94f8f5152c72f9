// A small promise-based ZooKeeper-protocol client: one connection, one session, pipelined
// requests, watch events as an event emitter; no reconnect, no pings of its own. The tests and
// benches use it to drive every opcode over a real socket; it is not exported from the package
// (src/index.ts): programs use the full client, zookeeper.ts.
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { FrameDecoder } from '../wire/frame.js';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import {
  OpCode,
  Xid,
  readConnectResponse,
  readOpResults,
  readStat,
  readACLs,
  writeConnectRequest,
  writeRequest,
  type ACL,
  type MultiOp,
  type OpResult,
  type Request,
  type Stat,
  type WatcherEvent,
  OPEN_ACL_UNSAFE,
  CreateFlag,
} from '../wire/protocol.js';
import { ErrorCode, KeeperError } from '../util/errors.js';

export interface ZkClientOptions {
  host?: string;
  port: number;
  sessionTimeoutMs?: number;
  sessionId?: bigint;
  passwd?: Buffer;
  frameBytesMax?: number;
}

interface Pending {
  xid: number;
  type: number;
  resolve: (r: JuteReader) => void;
  reject: (e: Error) => void;
}

export class ZkClient extends EventEmitter {
  private socket!: Socket;
  private readonly decoder: FrameDecoder;
  private xid = 1;
  private readonly pending: Pending[] = [];
  private readonly special = new Map<number, Pending[]>();
  private connectWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;
  sessionId = 0n;
  passwd: Buffer = Buffer.alloc(16);
  negotiatedTimeoutMs = 0;
  lastZxid = 0;
  closed = false;

  constructor(private readonly opts: ZkClientOptions) {
    super();
    this.decoder = new FrameDecoder(opts.frameBytesMax ?? 64 * 1024 * 1024);
  }

  static async connect(opts: ZkClientOptions): Promise<ZkClient> {
    const c = new ZkClient(opts);
    await c.open();
    return c;
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
      const s = netConnect({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port, noDelay: true });
      this.socket = s;
      s.on('connect', () => {
        const w = new JuteWriter();
        const at = w.reserveInt();
        writeConnectRequest(w, {
          protocolVersion: 0,
          lastZxidSeen: 0,
          timeOut: this.opts.sessionTimeoutMs ?? 10000,
          sessionId: this.opts.sessionId ?? 0n,
          passwd: this.opts.passwd ?? Buffer.alloc(16),
          readOnly: false,
        });
        w.patchInt(at, w.length - 4);
        s.write(w.take());
      });
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('error', (e) => this.fail(e));
      s.on('close', () => this.fail(new KeeperError(ErrorCode.ConnectionLoss)));
    });
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.connectWaiter?.reject(e);
    this.connectWaiter = null;
    for (const p of this.pending.splice(0)) p.reject(e);
    for (const list of this.special.values()) for (const p of list.splice(0)) p.reject(e);
    this.emit('close', e);
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    try {
      for (let f = this.decoder.next(); f; f = this.decoder.next()) this.onFrame(f);
    } catch (e) {
      // not a ZooKeeper server, or a broken stream: this connection is over, the process lives on
      this.fail(e as Error);
      this.socket.destroy();
    }
  }

  private onFrame(frame: Buffer): void {
    const r = new JuteReader(frame);
    if (this.connectWaiter) {
      const resp = readConnectResponse(r);
      const waiter = this.connectWaiter;
      this.connectWaiter = null;
      if (resp.timeOut <= 0) {
        waiter.reject(new KeeperError(ErrorCode.SessionExpired));
        this.socket.destroy();
        return;
      }
      this.sessionId = resp.sessionId;
      this.passwd = resp.passwd;
      this.negotiatedTimeoutMs = resp.timeOut;
      waiter.resolve();
      return;
    }
    const xid = r.int();
    const zxid = r.long();
    const err = r.int();
    if (zxid > 0) this.lastZxid = Math.max(this.lastZxid, zxid);
    this.emit('frame', { xid, zxid, err });
    if (xid === Xid.notification) {
      const ev: WatcherEvent & { zxid: number } = { type: r.int(), state: r.int(), path: r.string(), zxid };
      this.emit('watch', ev);
      return;
    }
    let p: Pending | undefined;
    if (xid < 0) p = this.special.get(xid)?.shift();
    else {
      p = this.pending.shift();
      if (p && p.xid !== xid) {
        this.fail(new Error(`reply xid ${xid} out of order, expected ${p.xid}`));
        return;
      }
    }
    if (!p) return;
    this.emit('reply', { xid, zxid, err, type: p.type });
    if (err !== 0) p.reject(new KeeperError(err as ErrorCode));
    else p.resolve(r);
  }

  /** Sends one request; resolves with a reader positioned at the response record. */
  send(request: Request, xidOverride?: number): Promise<JuteReader> {
    if (this.closed) return Promise.reject(new KeeperError(ErrorCode.ConnectionLoss));
    const xid = xidOverride ?? this.xid++;
    const w = new JuteWriter();
    const at = w.reserveInt();
    w.int(xid).int(request.type);
    writeRequest(w, request);
    w.patchInt(at, w.length - 4);
    return new Promise((resolve, reject) => {
      const p = { xid, type: request.type, resolve, reject };
      if (xid < 0) {
        const list = this.special.get(xid) ?? [];
        list.push(p);
        this.special.set(xid, list);
      } else this.pending.push(p);
      this.socket.write(w.take());
    });
  }

  /** Writes raw bytes (tests of malformed input). */
  writeRaw(b: Buffer): void {
    this.socket.write(b);
  }

  async create(
    path: string,
    data: Buffer | string | null = null,
    opts: { flags?: number; acl?: ACL[]; ttl?: number } = {},
  ): Promise<string> {
    const flags = opts.flags ?? CreateFlag.PERSISTENT;
    const req = { path, data: toBuf(data), acl: opts.acl ?? OPEN_ACL_UNSAFE, flags, ttl: opts.ttl ?? -1 };
    const r = await this.send(opts.ttl !== undefined ? { type: OpCode.createTTL, req } : { type: OpCode.create, req });
    return opts.ttl !== undefined ? r.string() : r.string();
  }

  async create2(
    path: string,
    data: Buffer | string | null = null,
    opts: { flags?: number; acl?: ACL[]; ttl?: number; container?: boolean } = {},
  ): Promise<{ path: string; stat: Stat }> {
    const req = { path, data: toBuf(data), acl: opts.acl ?? OPEN_ACL_UNSAFE, flags: opts.flags ?? 0, ttl: opts.ttl ?? -1 };
    const type = opts.container ? OpCode.createContainer : opts.ttl !== undefined ? OpCode.createTTL : OpCode.create2;
    const r = await this.send({ type, req });
    return { path: r.string(), stat: readStat(r) };
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.send({ type: OpCode.delete, req: { path, version } });
  }

  async exists(path: string, watch = false): Promise<Stat | null> {
    try {
      return readStat(await this.send({ type: OpCode.exists, req: { path, watch } }));
    } catch (e) {
      if (e instanceof KeeperError && e.code === ErrorCode.NoNode) return null;
      throw e;
    }
  }

  /** Null data (a node created without data) reads as an empty buffer; getDataOrNull keeps null. */
  async getData(path: string, watch = false): Promise<{ data: Buffer; stat: Stat }> {
    const r = await this.getDataOrNull(path, watch);
    return { data: r.data ?? Buffer.alloc(0), stat: r.stat };
  }

  async getDataOrNull(path: string, watch = false): Promise<{ data: Buffer | null; stat: Stat }> {
    const r = await this.send({ type: OpCode.getData, req: { path, watch } });
    const d = r.bufferOrNull();
    return { data: d === null ? null : Buffer.from(d), stat: readStat(r) };
  }

  async setData(path: string, data: Buffer | string | null, version = -1): Promise<Stat> {
    return readStat(await this.send({ type: OpCode.setData, req: { path, data: toBuf(data), version } }));
  }

  async getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    const r = await this.send({ type: OpCode.getACL, req: { path } });
    return { acl: readACLs(r) ?? [], stat: readStat(r) };
  }

  async setACL(path: string, acl: ACL[], version = -1): Promise<Stat> {
    return readStat(await this.send({ type: OpCode.setACL, req: { path, acl, version } }));
  }

  async getChildren(path: string, watch = false): Promise<string[]> {
    return (await this.send({ type: OpCode.getChildren, req: { path, watch } })).stringVector();
  }

  async getChildren2(path: string, watch = false): Promise<{ children: string[]; stat: Stat }> {
    const r = await this.send({ type: OpCode.getChildren2, req: { path, watch } });
    return { children: r.stringVector(), stat: readStat(r) };
  }

  async sync(path: string): Promise<string> {
    return (await this.send({ type: OpCode.sync, req: { path } })).string();
  }

  async multi(ops: MultiOp[]): Promise<OpResult[]> {
    return readOpResults(await this.send({ type: OpCode.multi, req: { ops } }));
  }

  async multiRead(ops: MultiOp[]): Promise<OpResult[]> {
    return readOpResults(await this.send({ type: OpCode.multiRead, req: { ops } }));
  }

  async addAuth(scheme: string, auth: string): Promise<void> {
    await this.send({ type: OpCode.auth, req: { type: 0, scheme, auth: Buffer.from(auth) } }, Xid.auth);
  }

  async addWatch(path: string, mode: number): Promise<void> {
    await this.send({ type: OpCode.addWatch, req: { path, mode } });
  }

  async removeWatches(path: string, type: number): Promise<void> {
    await this.send({ type: OpCode.removeWatches, req: { path, type } });
  }

  async checkWatches(path: string, type: number): Promise<void> {
    await this.send({ type: OpCode.checkWatches, req: { path, type } });
  }

  async getEphemerals(prefix: string): Promise<string[]> {
    return (await this.send({ type: OpCode.getEphemerals, req: { path: prefix } })).stringVector();
  }

  async getAllChildrenNumber(path: string): Promise<number> {
    return (await this.send({ type: OpCode.getAllChildrenNumber, req: { path } })).int();
  }

  async whoAmI(): Promise<Array<{ scheme: string; user: string }>> {
    const r = await this.send({ type: OpCode.whoAmI, req: null });
    return r.vector((rr) => ({ scheme: rr.string(), user: rr.string() }), 8) ?? [];
  }

  async ping(): Promise<void> {
    await this.send({ type: OpCode.ping, req: null }, Xid.ping);
  }

  async setWatches(
    req: {
      relativeZxid: number;
      dataWatches?: string[];
      existWatches?: string[];
      childWatches?: string[];
      persistentWatches?: string[];
      persistentRecursiveWatches?: string[];
    },
    v2 = true,
  ): Promise<void> {
    const body = {
      relativeZxid: req.relativeZxid,
      dataWatches: req.dataWatches ?? [],
      existWatches: req.existWatches ?? [],
      childWatches: req.childWatches ?? [],
      persistentWatches: req.persistentWatches ?? [],
      persistentRecursiveWatches: req.persistentRecursiveWatches ?? [],
    };
    await this.send({ type: v2 ? OpCode.setWatches2 : OpCode.setWatches, req: body }, Xid.setWatches);
  }

  /** closeSession, then the server closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.send({ type: OpCode.closeSession, req: null });
    } catch {
      /* already gone */
    }
    this.closed = true;
    this.socket.destroy();
  }

  /** Drops the connection without closing the session (as a crashed client would). */
  disconnect(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Resolves with the next watch event that matches. */
  nextEvent(pred: (e: WatcherEvent) => boolean = () => true, timeoutMs = 5000): Promise<WatcherEvent & { zxid: number }> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('watch', on);
        reject(new Error('no watch event within timeout'));
      }, timeoutMs);
      const on = (e: WatcherEvent & { zxid: number }): void => {
        if (!pred(e)) return;
        clearTimeout(t);
        this.off('watch', on);
        resolve(e);
      };
      this.on('watch', on);
    });
  }
}

function toBuf(d: Buffer | string | null): Buffer | null {
  return typeof d === 'string' ? Buffer.from(d) : d;
}
