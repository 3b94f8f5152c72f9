// The HTTP endpoints a server offers beside its client port (the AdminServer, Prometheus metrics)
// start and stop the same way: a port that cannot be bound is logged and the server serves
// clients without the endpoint, as ZooKeeper does; stopping closes every connection, so a
// keep-alive client never holds up shutdown.
import type { Server } from 'node:http';
import type { Logger } from './log.js';

/** Binds `server`; resolves with the bound port, or null (logged with `unavailable`) when it cannot be bound. */
export function listenHttp(server: Server, port: number, host: string, log: Logger, unavailable: string): Promise<number | null> {
  return new Promise((resolve) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      log.warn({ port, host, err: e.message }, unavailable);
      resolve(null);
    });
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

/** Closes `server` and every connection it holds. */
export async function closeHttp(server: Server | null): Promise<void> {
  if (!server) return;
  await new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
}
