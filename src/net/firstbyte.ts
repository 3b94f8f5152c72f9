// Port unification's first step, shared by the client port (clientport.ts), the quorum port (peers.ts) and the HTTP endpoints
// (httpendpoint.ts): wait for a connection's first byte, put it back, and say what it was, so the
// connection can go to the TLS side (a handshake record starts 0x16) or the plain one. ZooKeeper's
// UnifiedServerSocket and Jetty's UnifiedConnectionFactory decide the same way.
import type { Socket } from 'node:net';

/** The first byte of a TLS handshake record (ContentType handshake). */
export const TLS_HANDSHAKE = 0x16;

export interface FirstByteOptions {
  /** a connection that sends nothing this long is closed (ZooKeeper: ssl.handshakeDetectionTimeoutMillis) */
  silentMs: number;
  /** before a silent connection is closed */
  onSilent?: () => void;
  /** a socket error before the first byte ('close' follows) */
  onError?: (e: Error) => void;
}

/**
 * Calls `route` with the socket and its first byte, once that byte arrived (and is unread again).
 * A connection that stays silent, or ends before a byte, is closed.
 */
export function onFirstByte(s: Socket, o: FirstByteOptions, route: (s: Socket, first: number) => void): void {
  const silent = setTimeout(() => {
    o.onSilent?.();
    s.destroy();
  }, o.silentMs);
  silent.unref();
  s.once('close', () => clearTimeout(silent));
  const onError = (e: Error): void => o.onError?.(e);
  const onReadable = (): void => {
    const chunk = s.read() as Buffer | null;
    if (chunk === null || chunk.length === 0) return;
    clearTimeout(silent);
    s.off('readable', onReadable);
    s.off('error', onError);
    s.off('end', onEnd);
    s.unshift(chunk);
    route(s, chunk[0] as number);
  };
  const onEnd = (): void => {
    s.off('readable', onReadable);
    s.destroy();
  };
  s.on('readable', onReadable);
  s.on('error', onError);
  s.once('end', onEnd);
}
