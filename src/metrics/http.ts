// The Prometheus endpoint: GET /metrics on metricsProvider.httpHost:httpPort, and over HTTPS on
// httpsPort (ZooKeeper's PrometheusMetricsProvider serves the same path with Jetty; httpsPort is
// in its master, ZOOKEEPER-4798; one port for both when they are equal, ZOOKEEPER-5029). Like the
// AdminServer, a port that cannot be bound is logged and the server runs on without it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/log.js';
import { HttpEndpoint, type HttpSecurity } from '../net/httpendpoint.js';
import type { ServerMetrics } from './metrics.js';

export class MetricsHttpServer {
  private servers: HttpEndpoint[] = [];

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {}

  /** Resolves with the bound port, or null when it could not be bound (logged). */
  async start(port: number, host: string, security: HttpSecurity = { kind: 'plain' }): Promise<number | null> {
    const server = new HttpEndpoint((req, res) => this.handle(req, res), security, this.log, {
      name: 'Prometheus metrics endpoint',
      httpsOnlyReason: 'this is metricsProvider.httpsPort',
      unavailable: `Prometheus metrics endpoint could not start (set metricsProvider.${security.kind === 'tls' ? 'httpsPort' : 'httpPort'} to a free port, or remove metricsProvider.className from zoo.cfg); serving clients without it`,
    });
    const bound = await server.listen(port, host);
    if (bound !== null) this.servers.push(server);
    return bound;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
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
  }

  async stop(): Promise<void> {
    const all = this.servers;
    this.servers = [];
    await Promise.all(all.map((s) => s.close()));
  }
}
