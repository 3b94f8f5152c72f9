// One logged-in user of the web console: a ZooKeeper session of its own, opened on this server's
// console socket (ClientPort.listenLocal: no network address, so no ip id) with the user's digest
// credentials, so every read and write the page asks for is decided by the server's ACL checks as
// that user's, through the same request path as any client's (a follower forwards writes to the
// leader). The paths the page looks at get persistent watches; their events go to the page as
// server-sent events.
import type { ServerResponse } from 'node:http';
import { ZooKeeperClient } from '../client/zookeeper.js';
import type { WatchedEvent } from '../client/ops.js';
import { AddWatchMode, WatcherType, type Id } from '../wire/protocol.js';
import { ChildLists } from './console-tree.js';

/** the persistent watches one console session keeps at most: the oldest goes first */
const WATCHED_MAX = 256;

export class ConsoleSession {
  readonly client: ZooKeeperClient;
  readonly children = new ChildLists();
  private readonly streams = new Set<ServerResponse>();
  /** watched paths, oldest first */
  private readonly watched = new Set<string>();
  private readonly watcher = (ev: WatchedEvent): void => {
    if (ev.type === 'None') return;
    this.push({ type: ev.type, path: ev.path });
  };
  lastSeenMs: number;

  constructor(
    readonly id: string,
    readonly csrf: string,
    readonly user: string,
    /** the ids the credentials give (digest, and super): what the console's own admin checks use */
    readonly ids: Id[],
    credentials: string,
    socketPath: string,
    requestBytesMax: number,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
    this.client = new ZooKeeperClient('console:1', {
      socketPath,
      sessionTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      requestBytesMax,
      auth: [{ scheme: 'digest', auth: credentials }],
    });
    this.client.on('suspended', () => this.push({ type: 'connection', state: 'disconnected' }));
    this.client.on('reconnected', () => this.push({ type: 'connection', state: 'connected' }));
    this.client.on('expired', () => {
      // the server dropped the session's watches with it: the page re-reads what it shows, watching again
      this.watched.clear();
      this.push({ type: 'connection', state: 'expired' });
    });
  }

  /** Watches `path` (data, creation, deletion and children) for the page, once. */
  watch(path: string): void {
    if (this.watched.has(path)) {
      this.watched.delete(path);
      this.watched.add(path);
      return;
    }
    this.watched.add(path);
    this.client.addWatch(path, this.watcher, { mode: AddWatchMode.Persistent }).catch(() => this.watched.delete(path));
    while (this.watched.size > WATCHED_MAX) {
      const oldest = this.watched.values().next().value!;
      this.watched.delete(oldest);
      this.client.removeWatches(oldest, WatcherType.Persistent, { watcher: this.watcher }).catch(() => undefined);
    }
  }

  /** Keeps `res` as a server-sent event stream until the page goes away. */
  stream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(': ark console events\n\n');
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }

  /** a comment line keeps idle streams open through proxies */
  keepAlive(): void {
    for (const s of this.streams) s.write(': keep-alive\n\n');
  }

  private push(event: Record<string, unknown>): void {
    const line = `data: ${JSON.stringify(event)}\n\n`;
    for (const s of this.streams) s.write(line);
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    await this.client.close().catch(() => undefined);
  }
}
