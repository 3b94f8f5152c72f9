// The load generator behind `ark bench` and `npm run bench:compare`: a ZooKeeper-protocol client
// made only for load. Each session is one TCP connection that keeps `window` requests in flight
// (closed loop); requests are frames built once per op (no promise, no reply decoding beyond the
// reply header), written corked so a window's worth leaves in one syscall. Latency goes into an
// HDR histogram per run. It works against any ZooKeeper-protocol server, over TLS too (the
// client's TLS options) and with SASL DIGEST-MD5 (the client's exchange, src/client/sasl.ts).
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { DigestMd5Client, type SaslCredentials } from '../client/sasl.js';
import { tlsConnectionOptions, type ClientTlsOptions } from '../client/transport.js';
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { FrameDecoder } from '../wire/frame.js';
import { JuteReader, JuteWriter } from '../wire/jute.js';
import {
  OPEN_ACL_UNSAFE,
  OpCode,
  Xid,
  readConnectResponse,
  writeConnectRequest,
  writeRequest,
  type MultiOp,
  type Request,
} from '../wire/protocol.js';
import { ErrorCode, KeeperError } from '../util/errors.js';
import { parseHostList, type HostPort } from '../util/hostport.js';

export const WORKLOADS = ['create', 'setData', 'getData', 'exists', 'mixed', 'multi'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface LoadSpec {
  /** host:port[,host:port...]; session k connects to host k mod n */
  connect: string;
  workload: WorkloadName;
  sessions: number;
  /** requests each session keeps outstanding */
  window: number;
  /** measured time; the run also stops once `count` ops completed, if given */
  seconds: number;
  count?: number;
  /** unmeasured time before the measured part, same workload */
  warmupSeconds: number;
  sizeBytes: number;
  /** mixed: percentage of getData (the rest setData) */
  readPercent: number;
  /** multi: setData ops per transaction */
  multiOps: number;
  /** getData / setData / exists / mixed / multi: how many znodes the ops spread over */
  keys: number;
  sessionTimeoutMs: number;
  /** parent of everything the run creates; deleted again afterwards unless keep */
  root: string;
  keep: boolean;
  /** create: fan-out level (children per intermediate znode), 0 = all under one parent */
  fanout: number;
  /**
   * Open loop: this many ops per second in all, sent on schedule whatever the replies do (ops go
   * to the sessions in turn; `window` is then not a limit). Latency is measured from the time an
   * op was due, not when it left, so a stalled server is charged for the ops it held up
   * (coordinated omission, as wrk2 and HdrHistogram describe it). Unset: closed loop.
   */
  rate?: number;
  /** called with every measured op's completion time (process.hrtime ns) and latency (µs) */
  onOp?: (doneNs: bigint, latencyUs: number) => void;
  /** every session over TLS */
  tls?: ClientTlsOptions;
  /** every session authenticates with SASL DIGEST-MD5 after its handshake */
  sasl?: SaslCredentials;
}

export const DEFAULT_SPEC: Omit<LoadSpec, 'connect' | 'workload' | 'root'> = {
  sessions: 8,
  window: 32,
  seconds: 5,
  warmupSeconds: 1,
  sizeBytes: 100,
  readPercent: 90,
  multiOps: 4,
  keys: 256,
  sessionTimeoutMs: 30000,
  keep: false,
  fanout: 0,
};

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  workload: WorkloadName;
  connect: string;
  sessions: number;
  window: number;
  sizeBytes: number;
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** milliseconds */
  latencyMs: LatencySummary;
  /** error name -> count; a clean run has none */
  errors: Record<string, number>;
}

export class BenchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
  }
}

export function parseConnect(connect: string): HostPort[] {
  if (connect.includes('/'))
    throw new BenchError(`connect string "${connect}": a chroot is not supported by the load generator; give host:port[,host:port...]`);
  return parseHostList(connect, (why) => new BenchError(`connect string "${connect}": ${why}`));
}

type ReplyFn = (err: number, frame: Buffer) => void;

const FRAME_BYTES_MAX = 64 * 1024 * 1024;

/** One session: a socket, pipelined frames out, replies matched in order (ZooKeeper answers a session's requests in order). */
export class BenchSession {
  private socket: Socket | null = null;
  private readonly decoder = new FrameDecoder(FRAME_BYTES_MAX);
  private readonly waiting: Array<{ xid: number; done: ReplyFn }> = [];
  private head = 0;
  private xid = 1;
  private corked = false;
  private pinger: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  sessionId = 0n;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly sessionTimeoutMs: number,
    private readonly secure: { tls?: ClientTlsOptions | undefined; sasl?: SaslCredentials | undefined } = {},
  ) {}

  get outstanding(): number {
    return this.waiting.length - this.head;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const tls = this.secure.tls;
      const s = tls
        ? tlsConnect({ ...tlsConnectionOptions(tls), host: this.host, port: this.port }).setNoDelay(true)
        : netConnect({ host: this.host, port: this.port, noDelay: true });
      this.socket = s;
      let handshaken = false;
      s.once(tls ? 'secureConnect' : 'connect', () => {
        const w = new JuteWriter();
        const at = w.reserveInt();
        writeConnectRequest(w, {
          protocolVersion: 0,
          lastZxidSeen: 0,
          timeOut: this.sessionTimeoutMs,
          sessionId: 0n,
          passwd: Buffer.alloc(16),
          readOnly: false,
        });
        w.patchInt(at, w.length - 4);
        s.write(w.take());
      });
      s.on('data', (chunk: Buffer) => {
        this.decoder.push(chunk);
        try {
          for (let f = this.decoder.next(); f; f = this.decoder.next()) {
            if (!handshaken) {
              const resp = readConnectResponse(new JuteReader(f));
              if (resp.timeOut <= 0) throw new BenchError(`${this.host}:${this.port} refused the session`);
              this.sessionId = resp.sessionId;
              handshaken = true;
              const every = Math.max(500, Math.floor(resp.timeOut / 3));
              this.pinger = setInterval(() => this.ping(), every);
              this.pinger.unref();
              if (this.secure.sasl) this.authenticate(this.secure.sasl).then(resolve, reject);
              else resolve();
              continue;
            }
            this.onFrame(f);
          }
        } catch (e) {
          this.fail(e as Error);
          s.destroy();
        }
      });
      s.on('error', (e) => {
        if (!handshaken) reject(new BenchError(`cannot connect to ${this.host}:${this.port}: ${e.message}`, { cause: e }));
        this.fail(e);
      });
      s.on('close', () => {
        if (!handshaken) reject(new BenchError(`${this.host}:${this.port} closed the connection during the handshake`));
        this.fail(new BenchError(`${this.host}:${this.port} closed the connection`));
      });
    });
  }

  /** The SASL DIGEST-MD5 exchange (ZooKeeperSaslClient's order: right after the handshake). */
  private authenticate(creds: SaslCredentials): Promise<void> {
    const client = new DigestMd5Client(creds, randomBytes(24).toString('base64'));
    const where = `${this.host}:${this.port}`;
    return new Promise((resolve, reject) => {
      const send = (token: Buffer): void => {
        this.send(frameOf({ type: OpCode.sasl, req: { token } }), (err, reply) => {
          if (err !== 0) {
            reject(new BenchError(`${where} refused the SASL credentials of ${creds.username} (error ${err})`));
            return;
          }
          const r = new JuteReader(reply.subarray(16));
          const step = client.step(Buffer.from(r.bufferOrNull() ?? Buffer.alloc(0)));
          if (step.kind === 'send') send(step.token);
          else if (step.kind === 'done') resolve();
          else reject(new BenchError(`SASL with ${where} failed: ${step.reason}`));
        });
      };
      send(client.initial());
    });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    if (this.pinger) clearInterval(this.pinger);
    const left = this.waiting.splice(this.head);
    this.waiting.length = 0;
    this.head = 0;
    for (const w of left) w.done(ErrorCode.ConnectionLoss, Buffer.alloc(0));
  }

  private onFrame(f: Buffer): void {
    const xid = f.readInt32BE(0);
    if (xid === Xid.ping || xid === Xid.notification) return;
    const w = this.waiting[this.head];
    if (!w || w.xid !== xid)
      throw new BenchError(`${this.host}:${this.port} answered xid ${xid}, expected ${w?.xid ?? 'none'}: replies out of order`);
    this.waiting[this.head++] = undefined as never;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    w.done(f.readInt32BE(12), f);
  }

  private write(frame: Buffer): void {
    const s = this.socket!;
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    s.write(frame);
  }

  private ping(): void {
    if (this.failure || !this.socket) return;
    const f = Buffer.alloc(12);
    f.writeInt32BE(8, 0);
    f.writeInt32BE(Xid.ping, 4);
    f.writeInt32BE(OpCode.ping, 8);
    this.write(f);
  }

  /** Sends a frame made by frameOf (bytes 4..7 are the xid, patched here); done gets the error code and the reply frame. */
  send(frame: Buffer, done: ReplyFn): void {
    if (this.failure) {
      queueMicrotask(() => done(ErrorCode.ConnectionLoss, Buffer.alloc(0)));
      return;
    }
    const xid = this.xid++;
    frame.writeInt32BE(xid, 4);
    this.waiting.push({ xid, done });
    this.write(frame);
  }

  /** One request, awaited: for set-up and clean-up, not the measured loop. */
  call(request: Request): Promise<void> {
    return new Promise((resolve, reject) => {
      this.send(frameOf(request), (err) => (err === 0 ? resolve() : reject(new KeeperError(err as ErrorCode))));
    });
  }

  close(): void {
    if (this.pinger) clearInterval(this.pinger);
    if (!this.socket || this.failure) {
      this.socket?.destroy();
      return;
    }
    const f = Buffer.alloc(12);
    f.writeInt32BE(8, 0);
    f.writeInt32BE(this.xid++, 4);
    f.writeInt32BE(OpCode.closeSession, 8);
    this.failure = new BenchError('closed');
    this.socket.end(f);
  }
}

/** A request frame: int32 length, int32 xid (patched by send), int32 type, the record. */
export function frameOf(request: Request): Buffer {
  const w = new JuteWriter(64);
  w.int(0).int(0).int(request.type);
  writeRequest(w, request);
  const f = w.take();
  f.writeInt32BE(f.length - 4, 0);
  return f;
}

/** A frame built once and copied per send (a frame in the socket's queue must not change). */
class Template {
  private readonly frame: Buffer;
  constructor(request: Request) {
    this.frame = frameOf(request);
  }
  copy(): Buffer {
    return Buffer.from(this.frame);
  }
}

interface Plan {
  /** the frame of session s's i-th op */
  next(s: number, i: number): Buffer;
}

function keyPath(root: string, k: number): string {
  return `${root}/k${k}`;
}

const errName = (code: number): string => {
  const name = Object.entries(ErrorCode).find(([, v]) => v === code)?.[0];
  return name ?? `error ${code}`;
};

async function pipelined(session: BenchSession, requests: Iterable<Request>, window: number, tolerate: number[] = []): Promise<void> {
  const it = requests[Symbol.iterator]();
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    let ended = false;
    let failed = false;
    const pump = (): void => {
      while (!failed && !ended && inFlight < window) {
        const n = it.next();
        if (n.done) {
          ended = true;
          break;
        }
        inFlight++;
        session.send(frameOf(n.value), (err) => {
          inFlight--;
          if (err !== 0 && !tolerate.includes(err)) {
            failed = true;
            reject(new KeeperError(err as ErrorCode));
            return;
          }
          pump();
        });
      }
      if (ended && inFlight === 0 && !failed) resolve();
    };
    pump();
  });
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

function* mapGen<T, U>(g: Iterable<T>, f: (x: T) => U): Generator<U> {
  for (const x of g) yield f(x);
}

const createReq = (path: string, data: Buffer | null): Request => ({
  type: OpCode.create,
  req: { path, data, acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 },
});

/** Creates what the workload needs under spec.root and returns how to make each op. */
async function prepare(spec: LoadSpec, first: BenchSession): Promise<Plan> {
  const data = Buffer.alloc(spec.sizeBytes, 0x61);
  await first.call(createReq(spec.root, null)).catch((e: unknown) => {
    if (e instanceof KeeperError && e.code === ErrorCode.NodeExists)
      throw new BenchError(`${spec.root} already exists; pick another --root or delete it`);
    throw e;
  });
  const keyed = spec.workload !== 'create';
  if (keyed)
    await pipelined(
      first,
      mapGen(range(spec.keys), (k) => createReq(keyPath(spec.root, k), data)),
      spec.window,
    );
  const slot = (s: number, i: number): number => (s * 7919 + i) % spec.keys;
  switch (spec.workload) {
    case 'create': {
      const fan = spec.fanout;
      if (fan > 0) {
        // every parent exists before the first child is sent
        const parents = Math.ceil((spec.count ?? 1_000_000) / fan);
        await pipelined(
          first,
          mapGen(range(parents), (p) => createReq(`${spec.root}/p${p}`, null)),
          spec.window,
        );
      }
      let n = 0;
      return {
        next: (s, i) => {
          const path = fan > 0 ? `${spec.root}/p${Math.floor(n / fan)}/c${n % fan}` : `${spec.root}/s${s}-${i}`;
          n++;
          return frameOf(createReq(path, data));
        },
      };
    }
    case 'getData':
    case 'exists': {
      const t = Array.from(
        { length: spec.keys },
        (_, k) =>
          new Template({
            type: spec.workload === 'getData' ? OpCode.getData : OpCode.exists,
            req: { path: keyPath(spec.root, k), watch: false },
          }),
      );
      return { next: (s, i) => t[slot(s, i)]!.copy() };
    }
    case 'setData':
    case 'mixed': {
      const set = Array.from(
        { length: spec.keys },
        (_, k) => new Template({ type: OpCode.setData, req: { path: keyPath(spec.root, k), data, version: -1 } }),
      );
      const get = Array.from(
        { length: spec.keys },
        (_, k) => new Template({ type: OpCode.getData, req: { path: keyPath(spec.root, k), watch: false } }),
      );
      const reads = spec.workload === 'mixed' ? spec.readPercent : 0;
      // deterministic interleaving: of every 100 ops of a session, `reads` are reads
      return { next: (s, i) => ((i * 37 + s) % 100 < reads ? get : set)[slot(s, i)]!.copy() };
    }
    case 'multi': {
      const t = Array.from({ length: spec.keys }, (_, k) => {
        const ops: MultiOp[] = Array.from({ length: spec.multiOps }, (_, j) => ({
          type: OpCode.setData,
          req: { path: keyPath(spec.root, (k + j) % spec.keys), data, version: -1 },
        }));
        return new Template({ type: OpCode.multi, req: { ops } });
      });
      return { next: (s, i) => t[slot(s, i)]!.copy() };
    }
  }
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => us / 1000;
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** What both drivers share: the sessions, the ops' frames, and where each answer is counted. */
interface Drive {
  sessions: BenchSession[];
  plan: Plan;
  /** ops made per session so far (the plan's index) */
  counters: number[];
  /** null: not measured (the warm-up) */
  hist: Histogram | null;
  errors: Record<string, number>;
  onOp?: ((doneNs: bigint, latencyUs: number) => void) | undefined;
}

/** One answer: an error counted by name, or a latency (from `fromNs`) recorded. */
function tally(d: Drive, err: number, fromNs: bigint, now: bigint): void {
  if (err !== 0) {
    d.errors[errName(err)] = (d.errors[errName(err)] ?? 0) + 1;
    return;
  }
  const us = Math.max(1, Number((now - fromNs) / 1000n));
  d.hist?.recordValue(us);
  d.onOp?.(now, us);
}

/** How often the open-loop driver wakes to send the ops that fell due (ms). */
const OPEN_LOOP_TICK_MS = 1;

/**
 * Runs `seconds` of open-loop load at `rate` ops/s: every tick sends the ops due by then, each
 * timed from its due time. Resolves when the time is up and every op sent has its reply.
 */
function driveAtRate(d: Drive, rate: number, seconds: number): Promise<{ ops: number; seconds: number }> {
  const { sessions, plan, counters } = d;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const total = Math.round(rate * seconds);
    const nsPerOp = 1e9 / rate;
    let issued = 0;
    let answered = 0;
    let ops = 0;
    let lastDone = t0;
    const settle = (): void => {
      if (issued === total && answered === issued) resolve({ ops, seconds: Number(lastDone - t0) / 1e9 });
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - t0) / nsPerOp) + 1);
      for (; issued < due; issued++) {
        const s = issued % sessions.length;
        const dueNs = t0 + BigInt(Math.round(issued * nsPerOp));
        const session = sessions[s]!;
        session.send(plan.next(s, counters[s]!++), (err) => {
          const now = process.hrtime.bigint();
          answered++;
          lastDone = now;
          if (err === 0) ops++;
          tally(d, err, dueNs, now);
          settle();
        });
      }
      if (issued < total) setTimeout(tick, OPEN_LOOP_TICK_MS);
      else settle();
    };
    tick();
  });
}

/** Runs `seconds` (or until `count` ops) of closed-loop load; latencies recorded in microseconds. */
function drive(d: Drive, window: number, seconds: number, count: number | undefined): Promise<{ ops: number; seconds: number }> {
  const { sessions, plan, counters } = d;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const endNs = t0 + BigInt(Math.round(seconds * 1e9));
    let ops = 0;
    let issued = 0;
    let live = 0;
    let stopping = false;
    let lastDone = t0;
    const finish = (): void => {
      if (live > 0) return;
      resolve({ ops, seconds: Number(lastDone - t0) / 1e9 });
    };
    const issue = (s: number): void => {
      const session = sessions[s]!;
      if (stopping || (count !== undefined && issued >= count)) {
        live--;
        finish();
        return;
      }
      issued++;
      const i = counters[s]!++;
      const sent = process.hrtime.bigint();
      session.send(plan.next(s, i), (err) => {
        const now = process.hrtime.bigint();
        if (now >= endNs) stopping = true;
        if (!stopping) {
          ops++;
          lastDone = now;
          tally(d, err, sent, now);
        }
        if (err === ErrorCode.ConnectionLoss) {
          live--;
          finish();
          return;
        }
        issue(s);
      });
    };
    for (let s = 0; s < sessions.length; s++) {
      for (let k = 0; k < window; k++) {
        live++;
        issue(s);
      }
    }
  });
}

export async function runLoad(spec: LoadSpec, log: (line: string) => void = () => {}): Promise<LoadResult> {
  if (!(spec.sessions >= 1 && spec.window >= 1 && spec.keys >= 1 && spec.multiOps >= 1 && spec.sizeBytes >= 0)) {
    throw new BenchError('sessions, window, keys and multi-ops must be at least 1, size at least 0');
  }
  if (spec.rate !== undefined && !(spec.rate > 0 && Number.isFinite(spec.rate)))
    throw new BenchError(`rate ${spec.rate}: give ops per second, more than 0`);
  if (spec.rate !== undefined && (spec.count !== undefined || spec.workload === 'create'))
    throw new BenchError('an open-loop run (rate) runs for seconds, on the keyed workloads (not create or count)');
  const hosts = parseConnect(spec.connect);
  const sessions =
    hosts.length > 0
      ? Array.from(
          { length: spec.sessions },
          (_, k) =>
            new BenchSession(hosts[k % hosts.length]!.host, hosts[k % hosts.length]!.port, spec.sessionTimeoutMs, {
              tls: spec.tls,
              sasl: spec.sasl,
            }),
        )
      : [];
  try {
    await Promise.all(sessions.map((s) => s.open()));
    const plan = await prepare(spec, sessions[0]!);
    // every session sees the set-up before it starts, whichever server it is on
    await Promise.all(sessions.map((s) => s.call({ type: OpCode.sync, req: { path: spec.root } })));
    const counters = sessions.map(() => 0);
    const errors: Record<string, number> = {};
    if (spec.warmupSeconds > 0 && spec.count === undefined) {
      log(`warm-up ${spec.warmupSeconds} s`);
      await drive({ sessions, plan, counters, hist: null, errors: {} }, spec.window, spec.warmupSeconds, undefined);
    }
    const hist = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
    const measured: Drive = { sessions, plan, counters, hist, errors, onOp: spec.onOp };
    const r =
      spec.rate !== undefined
        ? await driveAtRate(measured, spec.rate, spec.seconds)
        : await drive(measured, spec.window, spec.count === undefined ? spec.seconds : 1e9, spec.count);
    const result: LoadResult = {
      workload: spec.workload,
      connect: spec.connect,
      sessions: spec.sessions,
      window: spec.window,
      sizeBytes: spec.sizeBytes,
      ops: r.ops,
      seconds: r.seconds,
      opsPerSec: r.seconds > 0 ? r.ops / r.seconds : 0,
      latencyMs: summarize(hist),
      errors,
    };
    if (!spec.keep) await cleanup(spec, sessions, counters);
    return result;
  } finally {
    for (const s of sessions) s.close();
  }
}

/** Deletes what the run created, deepest first, pipelined on every session. */
async function cleanup(spec: LoadSpec, sessions: BenchSession[], counters: number[]): Promise<void> {
  const del = (path: string): Request => ({ type: OpCode.delete, req: { path, version: -1 } });
  const gone = [ErrorCode.NoNode];
  if (spec.workload === 'create') {
    if (spec.fanout > 0) return; // populate runs are for servers that are thrown away
    await Promise.all(
      sessions.map((s, k) =>
        pipelined(
          s,
          mapGen(range(counters[k]!), (i) => del(`${spec.root}/s${k}-${i}`)),
          spec.window,
          gone,
        ),
      ),
    );
  } else {
    await pipelined(
      sessions[0]!,
      mapGen(range(spec.keys), (k) => del(keyPath(spec.root, k))),
      spec.window,
      gone,
    );
  }
  await sessions[0]!.call(del(spec.root)).catch(() => {});
}

export function formatResult(r: LoadResult): string {
  const l = r.latencyMs;
  const errs = Object.entries(r.errors)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${r.workload.padEnd(8)} ${r.opsPerSec.toFixed(0).padStart(8)} ops/s  p50 ${l.p50.toFixed(2)} ms  p90 ${l.p90.toFixed(2)} ms  p99 ${l.p99.toFixed(2)} ms  p99.9 ${l.p999.toFixed(2)} ms  max ${l.max.toFixed(2)} ms  (${r.ops} ops in ${r.seconds.toFixed(2)} s${errs ? `; errors: ${errs}` : ''})`;
}
