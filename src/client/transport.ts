// The client's transport: one TCP connection, length-prefixed frames in and out. Writes made in
// one turn of the event loop leave in one segment (cork/uncork). A reply larger than
// frameBytesMax is not buffered: its 16-byte reply header is handed up (so the request it
// answers can fail with a clear error) and the rest is skipped, and the connection lives on --
// a too-large getChildren must not turn into an endless reconnect loop (apache/helix#962).
// With TLS options the connection is TLS (ZooKeeper's ClientCnxnSocketNetty with
// zookeeper.client.secure=true): the handshake counts as open once TLS is up and the server's
// certificate checked.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { HostPort } from './paths.js';

/**
 * TLS to the servers (the Java client's zookeeper.client.secure=true with ClientX509Util's
 * zookeeper.ssl.* settings). ca: the trusted certificates (default: Node's root CAs, as Java's
 * default trust store); cert/key or pfx: the client's certificate, for servers that ask for one
 * (ssl.clientAuth) and x509 authentication.
 */
export interface ClientTlsOptions
  extends Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'servername' | 'minVersion' | 'maxVersion' | 'ciphers'> {
  /**
   * check that the server's certificate names the host connected to (its DNS or IP subject
   * alternative names), as zookeeper.ssl.hostnameVerification does; default true. The
   * certificate chain is checked either way.
   */
  hostnameVerification?: boolean;
}

/**
 * Node's TLS client options for ClientTlsOptions: the chain is always checked; the host name only
 * with hostnameVerification (default on, as ZooKeeper's client).
 */
export function tlsConnectionOptions(o: ClientTlsOptions): ConnectionOptions {
  const { hostnameVerification, ...rest } = o;
  return {
    ...rest,
    rejectUnauthorized: true,
    ...(hostnameVerification === false ? { checkServerIdentity: () => undefined } : {}),
  };
}

export interface TransportHandlers {
  onOpen(): void;
  onFrame(frame: Buffer): void;
  /** a frame of `length` bytes over the limit; `head` holds its first 16 bytes (the reply header) */
  onOversize(head: Buffer, length: number): void;
  /** called once, unless destroy() came first; code: the socket error's (ECONNREFUSED, ...), when there was one */
  onClose(reason: string, code?: string): void;
}

const REPLY_HEADER_BYTES = 16; // xid int, zxid long, err int

export class Transport {
  private readonly socket: Socket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** bytes of an oversized frame still to skip */
  private skip = 0;
  private corked = false;
  private dead = false;
  private error: string | null = null;
  private errorCode: string | undefined;

  constructor(
    readonly host: HostPort,
    private readonly frameBytesMax: number,
    private readonly h: TransportHandlers,
    tls?: ConnectionOptions,
    /** a Unix domain socket to connect to instead of host:port (ClientOptions.socketPath) */
    socketPath?: string,
  ) {
    const s = tls
      ? tlsConnect({ ...tls, host: host.host, port: host.port }).setNoDelay(true)
      : socketPath !== undefined
        ? netConnect({ path: socketPath })
        : netConnect({ host: host.host, port: host.port, noDelay: true });
    this.socket = s;
    s.on(tls ? 'secureConnect' : 'connect', () => {
      if (!this.dead) h.onOpen();
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (e: NodeJS.ErrnoException) => {
      this.error ??= e.code ? `${e.code}: ${e.message}` : e.message;
      this.errorCode ??= e.code;
    });
    s.on('close', () => this.closed(this.error ?? 'server closed the connection', this.errorCode));
  }

  write(b: Buffer): void {
    if (this.dead) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(b);
  }

  /** Closes without calling onClose (the owner already knows). */
  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
  }

  private closed(reason: string, code?: string): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.h.onClose(reason, code);
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    if (this.skip > 0) {
      if (chunk.length <= this.skip) {
        this.skip -= chunk.length;
        return;
      }
      chunk = chunk.subarray(this.skip);
      this.skip = 0;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      this.drain();
    } catch (e) {
      this.closed(`bad frame from server: ${(e as Error).message}`);
    }
  }

  private drain(): void {
    while (!this.dead && this.buffered >= 4) {
      const head = this.peek(Math.min(this.buffered, 4 + REPLY_HEADER_BYTES));
      const len = head.readInt32BE(0);
      if (len < 0) throw new Error(`negative frame length ${len}`);
      if (len > this.frameBytesMax) {
        if (len < REPLY_HEADER_BYTES) throw new Error(`frame length ${len}`);
        if (this.buffered < 4 + REPLY_HEADER_BYTES) return;
        this.consume(4 + REPLY_HEADER_BYTES);
        const bodyLeft = len - REPLY_HEADER_BYTES;
        const now = Math.min(bodyLeft, this.buffered);
        this.consume(now);
        this.skip = bodyLeft - now;
        this.h.onOversize(Buffer.from(head.subarray(4, 4 + REPLY_HEADER_BYTES)), len);
        continue;
      }
      if (this.buffered < 4 + len) return;
      const frame = this.take(4 + len).subarray(4);
      this.h.onFrame(frame);
    }
  }

  private contiguous(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private peek(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) first = this.contiguous();
    return first.subarray(0, n);
  }

  private take(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) first = this.contiguous();
    const out = first.subarray(0, n);
    this.consume(n);
    return out;
  }

  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      if (first.length <= n) {
        n -= first.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}

/**
 * Asks a server with the `isro` four-letter word whether it serves read-write ("rw") or only
 * reads ("ro"); null when it did not answer within timeoutMs (ClientCnxn.pingRwServer).
 */
export function probeReadWrite(host: HostPort, timeoutMs = 1000): Promise<'rw' | 'ro' | null> {
  return new Promise((resolve) => {
    const s = netConnect({ host: host.host, port: host.port });
    let out = '';
    const done = (v: 'rw' | 'ro' | null): void => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(null), timeoutMs);
    s.on('connect', () => s.end('isro'));
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    s.on('error', () => done(null));
    s.on('close', () => done(out.startsWith('rw') ? 'rw' : out.startsWith('ro') ? 'ro' : null));
  });
}
