// An Ark server inside the test process, on a free loopback port with a temp data dir.
import { rmSync } from 'node:fs';
import { parseZooCfg } from '../../src/config/zoocfg.js';
import { ArkServer } from '../../src/runtime/server.js';
import { createLogger } from '../../src/util/log.js';
import { ZkClient } from '../../src/client/client.js';
import { freePort, tempDir } from './servers.js';

export interface InProc {
  server: ArkServer;
  port: number;
  dataDir: string;
  client(opts?: { sessionTimeoutMs?: number; sessionId?: bigint; passwd?: Buffer }): Promise<ZkClient>;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startInProc(cfg: Record<string, string | number | boolean> = {}, dataDir = tempDir('inproc')): Promise<InProc> {
  const port = await freePort();
  const text = Object.entries({
    tickTime: 200,
    dataDir,
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    '4lw.commands.whitelist': '*',
    extendedTypesEnabled: true,
    'znode.container.checkIntervalMs': 100,
    maxClientCnxns: 0,
    'admin.enableServer': false,
    ...cfg,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const { config } = parseZooCfg(text);
  const server = new ArkServer(config, createLogger({ level: process.env.ARK_LOG_LEVEL ?? 'silent', pretty: false }));
  await server.start();
  const clients: ZkClient[] = [];
  return {
    server,
    port,
    dataDir,
    async client(opts = {}) {
      const c = await ZkClient.connect({ port, ...opts });
      clients.push(c);
      return c;
    },
    async stop(opts = {}) {
      for (const c of clients) c.disconnect();
      await server.stop();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
