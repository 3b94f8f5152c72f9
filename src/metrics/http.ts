// The Prometheus endpoint: GET /metrics on metricsProvider.httpHost:httpPort (ZooKeeper's
// PrometheusMetricsProvider serves the same path with Jetty). Like the AdminServer, a port that
// cannot be bound is logged and the server runs on without it.
import { createServer, type Server } from 'node:http';
import type { Logger } from '../util/log.js';
import { closeHttp, listenHttp } from '../util/httpserver.js';
import type { ServerMetrics } from './metrics.js';

export class MetricsHttpServer {
  private server: Server | null = null;

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {}

  /** Resolves with the bound port, or null when it could not be bound (logged). */
  async start(port: number, host: string): Promise<number | null> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not found: Prometheus metrics are at /metrics\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
        res.end(`${req.method ?? ''} is not supported; use GET\n`);
        return;
      }
      this.metrics.render().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (e: unknown) => {
          this.log.error({ err: (e as Error).message }, 'collecting metrics failed: this is a bug in Ark, please report it with this log');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`collecting metrics failed: ${(e as Error).message}\n`);
        },
      );
    });
    const bound = await listenHttp(
      server,
      port,
      host,
      this.log,
      'Prometheus metrics endpoint could not start (set metricsProvider.httpPort to a free port, or remove metricsProvider.className from zoo.cfg); serving clients without it',
    );
    if (bound === null) return null;
    this.server = server;
    server.on('error', (e) => this.log.error({ err: e.message }, 'metrics endpoint error'));
    return bound;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    await closeHttp(s);
  }
}
