// Local copies of znodes kept current by watches: TreeCache (a subtree) and NodeCache (one node),
// as Curator's CuratorCache (TreeCache / NodeCache before it) and kazoo's TreeCache.
//
// Watches: where the server has persistent watches (ZooKeeper 3.6+, Ark), one persistent
// recursive watch on the root (a persistent one for a NodeCache) reports every change below it,
// as CuratorCache does; each event makes the cache read that node again. Where it has not (the
// addWatch request answers Unimplemented), the cache falls back to Curator's TreeCache scheme:
// a one-shot data watch and child watch on every cached node, set again by every read.
//
// Order: every change to the cache comes from a read's reply, and replies are applied in the
// order the reads were sent, which is the order the server answered them (FIFO per session). So
// a reply can never be overtaken by an older one, whatever the order in which promise
// continuations run.
//
// Connection states: a persistent watch resumes after a reconnect without replaying what changed
// meanwhile (ZooKeeper's rule), so after 'reconnected' the cache reads the whole subtree again;
// after a new session the watch is added again first. One-shot watches are re-registered by the
// client on reconnect and fire for changes missed meanwhile; after a new session they are set
// again by the same full read.
//
// Before ZooKeeper 3.9 a server keeps one watch mode per path and session (ZOOKEEPER-4466): do not
// combine a cache with one-shot watches of your own on the same paths and the same client there.
import { NoNodeError, SessionExpiredError, UnimplementedError, isRetryable } from '../client/errors.js';
import type { WatchedEvent, Watcher } from '../client/ops.js';
import { AddWatchMode, WatcherType, type NodeData, type ZooKeeperClient } from '../client/zookeeper.js';
import { RecipeClosedError, TypedEmitter, isClosed, join, onConnectionChange, type RecipeOptions, type Stat } from './internal.js';

/** One cached node (Curator's ChildData). */
export interface ChildData {
  path: string;
  data: Buffer | null;
  stat: Stat;
}

export type WatchMode = 'auto' | 'persistent' | 'oneShot';

export interface TreeCacheOptions extends RecipeOptions {
  /** how deep below the root to cache: 0 = the root only; default unlimited */
  maxDepth?: number;
  /** 'auto' (default): persistent recursive watches when the server has them, else one-shot watches */
  watchMode?: WatchMode;
}

export interface TreeCacheEvents {
  created: (node: ChildData) => void;
  changed: (node: ChildData, previous: ChildData) => void;
  deleted: (node: ChildData) => void;
  /** the first full read after start() is in (start() resolves then) */
  initialized: () => void;
  error: (e: unknown) => void;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class TreeCache extends TypedEmitter<TreeCacheEvents> {
  private readonly nodes = new Map<string, ChildData>();
  private readonly maxDepth: number;
  private readonly requestedMode: WatchMode;
  private activeMode: 'persistent' | 'oneShot' | null = null;
  private state: 'latent' | 'started' | 'closed' = 'latent';
  private unsubscribe: (() => void) | null = null;
  // reads are applied in the order they were sent
  private issued = 0;
  private applied = 0;
  private readonly done = new Map<number, () => void>();
  private initialized = false;
  private initWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private resyncQueued = false;
  private readonly watcher: Watcher = (e) => this.onEvent(e);

  constructor(
    readonly client: ZooKeeperClient,
    readonly root: string,
    options: TreeCacheOptions = {},
  ) {
    super();
    this.maxDepth = options.maxDepth ?? Infinity;
    this.requestedMode = options.watchMode ?? 'auto';
  }

  /** Sets the watch and reads the subtree; resolves once it is all in ('initialized'). */
  async start(): Promise<void> {
    if (this.state !== 'latent') throw new RecipeClosedError('TreeCache (already started)');
    this.state = 'started';
    this.unsubscribe = onConnectionChange(this.client, (c) => {
      if (c === 'reconnected' && this.activeMode === 'persistent') this.resync(false);
      if (c === 'renewed') this.resync(true);
    });
    const initialized = new Promise<void>((resolve, reject) => this.initWaiters.push({ resolve, reject }));
    await this.addWatch();
    this.walk(this.root, 0, true);
    this.checkInitialized();
    await initialized;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    this.unsubscribe?.();
    for (const w of this.initWaiters.splice(0)) w.reject(new RecipeClosedError('TreeCache'));
    if (!wasStarted || isClosed(this.client)) return;
    const type =
      this.activeMode === 'persistent' ? (this.maxDepth === 0 ? WatcherType.Persistent : WatcherType.PersistentRecursive) : WatcherType.Any;
    if (this.activeMode === 'persistent') {
      await this.client.removeWatches(this.root, type, { watcher: this.watcher, local: !this.client.connected }).catch(() => undefined);
    } else {
      for (const path of this.nodes.keys())
        await this.client.removeWatches(path, WatcherType.Any, { watcher: this.watcher, local: true }).catch(() => undefined);
      await this.client.removeWatches(this.root, WatcherType.Any, { watcher: this.watcher, local: true }).catch(() => undefined);
    }
  }

  /** The watch scheme in use once started: 'persistent' or 'oneShot'. */
  get mode(): 'persistent' | 'oneShot' | null {
    return this.activeMode;
  }

  /** A cached node, or undefined. */
  get(path: string): ChildData | undefined {
    return this.nodes.get(path);
  }

  /** The cached children's names of a cached node (sorted), or undefined when it is not cached. */
  getChildren(path: string): string[] | undefined {
    if (!this.nodes.has(path)) return undefined;
    const prefix = path === '/' ? '/' : `${path}/`;
    const out: string[] = [];
    for (const p of this.nodes.keys()) {
      if (p.startsWith(prefix) && p !== path && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    }
    return out.sort();
  }

  /** A copy of every cached node by path. */
  entries(): Map<string, ChildData> {
    return new Map(this.nodes);
  }

  get size(): number {
    return this.nodes.size;
  }

  // ---------- watches ----------

  private async addWatch(): Promise<void> {
    if (this.requestedMode === 'oneShot') {
      this.activeMode = 'oneShot';
      return;
    }
    const mode = this.maxDepth === 0 ? AddWatchMode.Persistent : AddWatchMode.PersistentRecursive;
    try {
      await this.client.retry(() => this.client.addWatch(this.root, this.watcher, { mode }));
      this.activeMode = 'persistent';
    } catch (e) {
      if (!(e instanceof UnimplementedError) || this.requestedMode === 'persistent') throw e;
      // a server before ZooKeeper 3.6: Curator's TreeCache scheme
      this.activeMode = 'oneShot';
    }
  }

  private onEvent(e: WatchedEvent): void {
    if (this.state !== 'started') return;
    if (e.type === 'None') return; // the session ended: 'renewed' starts over
    const depth = this.depthOf(e.path);
    if (depth < 0 || depth > this.maxDepth) return;
    switch (e.type) {
      case 'NodeCreated':
        if (this.activeMode === 'oneShot') this.walk(e.path, depth, false);
        else this.readData(e.path);
        return;
      case 'NodeDataChanged':
      case 'NodeDeleted':
        this.readData(e.path);
        return;
      case 'NodeChildrenChanged':
        if (this.activeMode === 'oneShot' && depth < this.maxDepth) this.readChildren(e.path, depth, false);
        return;
      default:
        return;
    }
  }

  private depthOf(path: string): number {
    if (path === this.root) return 0;
    const prefix = this.root === '/' ? '/' : `${this.root}/`;
    if (!path.startsWith(prefix)) return -1;
    return path.slice(prefix.length).split('/').length;
  }

  // ---------- reads, applied in order ----------

  /** Reads a node and (below maxDepth) its children; `full` reads every child again too. */
  private walk(path: string, depth: number, full: boolean): void {
    this.readData(path);
    if (depth < this.maxDepth) this.readChildren(path, depth, full);
  }

  private readData(path: string): void {
    const watch = this.activeMode === 'oneShot' ? { watch: this.watcher } : {};
    this.read<NodeData>(
      () => this.client.getData(path, watch),
      (r) => {
        if (r.ok) {
          this.put({ path, data: r.value.data, stat: r.value.stat });
          return;
        }
        if (r.error instanceof NoNodeError) {
          this.removeTree(path);
          // one-shot mode: watch the root for its return (exists leaves a watch on a missing node)
          if (path === this.root && this.activeMode === 'oneShot')
            this.read(
              () => this.client.exists(path, { watch: this.watcher }),
              (x) => {
                if (x.ok && x.value) this.walk(path, 0, false);
                else if (!x.ok) this.failed(x.error);
              },
            );
          return;
        }
        this.failed(r.error);
      },
    );
  }

  private readChildren(path: string, depth: number, full: boolean): void {
    const watch = this.activeMode === 'oneShot' ? { watch: this.watcher } : {};
    this.read<string[]>(
      () => this.client.getChildren(path, watch),
      (r) => {
        if (!r.ok) {
          if (r.error instanceof NoNodeError) this.removeTree(path);
          else this.failed(r.error);
          return;
        }
        const names = new Set(r.value);
        // children gone since: nothing newer than this reply has been applied yet
        for (const child of this.getChildren(path) ?? []) if (!names.has(child)) this.removeTree(join(path, child));
        for (const name of r.value) {
          const child = join(path, name);
          if (full || !this.nodes.has(child)) this.walk(child, depth + 1, full);
        }
      },
    );
  }

  private read<T>(op: () => Promise<T>, apply: (r: Result<T>) => void): void {
    if (this.state !== 'started') return;
    const seq = ++this.issued;
    let p: Promise<T>;
    try {
      p = op();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (value) => this.settle(seq, () => apply({ ok: true, value })),
      (error: unknown) => this.settle(seq, () => apply({ ok: false, error })),
    );
  }

  private settle(seq: number, fn: () => void): void {
    this.done.set(seq, fn);
    while (this.done.has(this.applied + 1)) {
      const f = this.done.get(++this.applied)!;
      this.done.delete(this.applied);
      if (this.state === 'started') f();
    }
    this.checkInitialized();
  }

  private checkInitialized(): void {
    if (this.initialized || this.state !== 'started' || this.applied !== this.issued) return;
    this.initialized = true;
    for (const w of this.initWaiters.splice(0)) w.resolve();
    this.emit('initialized');
  }

  private failed(e: unknown): void {
    if (this.state !== 'started' || isClosed(this.client, e)) return;
    // lost with the connection or the session: the reconnect / new session reads everything again
    if (isRetryable(e)) {
      if (this.client.connected) this.resync(false);
      return;
    }
    if (e instanceof SessionExpiredError && e.name === 'SessionExpiredError') return;
    if (!this.initialized) {
      for (const w of this.initWaiters.splice(0)) w.reject(e);
      return;
    }
    this.report(e);
  }

  /** Reads the whole subtree again (after a new session, the persistent watch goes first). */
  private resync(rewatch: boolean): void {
    if (this.resyncQueued || this.state !== 'started') return;
    this.resyncQueued = true;
    void (async () => {
      try {
        await this.client.waitForConnected();
        this.resyncQueued = false;
        if (this.state !== 'started') return;
        if (rewatch && this.activeMode === 'persistent') await this.addWatch();
        this.walk(this.root, 0, true);
      } catch (e) {
        this.resyncQueued = false;
        if (isRetryable(e)) this.resync(rewatch);
        else this.failed(e);
      }
    })();
  }

  // ---------- the cache itself ----------

  private put(node: ChildData): void {
    const old = this.nodes.get(node.path);
    this.nodes.set(node.path, node);
    if (!old || old.stat.czxid !== node.stat.czxid) {
      if (old) this.emit('deleted', old);
      this.emit('created', node);
    } else if (old.stat.mzxid !== node.stat.mzxid || old.stat.version !== node.stat.version) {
      this.emit('changed', node, old);
    }
  }

  private removeTree(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const gone = [...this.nodes.keys()].filter((p) => p === path || p.startsWith(prefix)).sort((a, b) => b.length - a.length);
    for (const p of gone) {
      const old = this.nodes.get(p)!;
      this.nodes.delete(p);
      this.emit('deleted', old);
    }
  }
}

// ---------- NodeCache ----------

export interface NodeCacheEvents {
  /** the node was created, changed or deleted (null) (Curator's NodeCacheListener.nodeChanged) */
  change: (node: ChildData | null) => void;
  initialized: () => void;
  error: (e: unknown) => void;
}

/** One znode's data and Stat, kept current (Curator's NodeCache); it may not exist (current is null). */
export class NodeCache extends TypedEmitter<NodeCacheEvents> {
  private readonly tree: TreeCache;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    options: Omit<TreeCacheOptions, 'maxDepth'> = {},
  ) {
    super();
    this.tree = new TreeCache(client, path, { ...options, maxDepth: 0 });
    this.tree.on('created', (n) => this.emit('change', n));
    this.tree.on('changed', (n) => this.emit('change', n));
    this.tree.on('deleted', () => {
      if (!this.tree.get(path)) this.emit('change', null);
    });
    this.tree.on('initialized', () => this.emit('initialized'));
    this.tree.on('error', (e) => this.report(e));
  }

  start(): Promise<void> {
    return this.tree.start();
  }

  close(): Promise<void> {
    return this.tree.close();
  }

  /** The node as last seen, or null when it does not exist. */
  get current(): ChildData | null {
    return this.tree.get(this.path) ?? null;
  }

  get mode(): 'persistent' | 'oneShot' | null {
    return this.tree.mode;
  }
}
