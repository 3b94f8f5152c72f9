// Length-prefixed framing: every packet is int32 length + body. The decoder does not care where
// chunks split; a length outside [0, frameBytesMax] is a protocol error for that connection.

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly frameBytesMax: number) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Peek at the first n buffered bytes without consuming (used to spot four-letter words). */
  peek(n: number): Buffer | null {
    if (this.buffered < n) return null;
    return this.contiguous().subarray(0, n);
  }

  private contiguous(): Buffer {
    if (this.chunks.length > 1) {
      const joined = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [joined];
    }
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Next complete frame body, or null when more bytes are needed. */
  next(): Buffer | null {
    if (this.buffered < 4) return null;
    let head = this.chunks[0]!;
    if (head.length < 4) head = this.contiguous();
    const len = head.readInt32BE(0);
    if (len < 0 || len > this.frameBytesMax) {
      throw new FrameError(`frame length ${len} outside 0..${this.frameBytesMax} (jute.maxbuffer)`);
    }
    if (this.buffered < 4 + len) return null;
    if (head.length < 4 + len) head = this.contiguous();
    const frame = head.subarray(4, 4 + len);
    const rest = head.subarray(4 + len);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= 4 + len;
    return frame;
  }
}
