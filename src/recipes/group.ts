// Membership: an ephemeral node that survives session loss (Curator's PersistentNode in EPHEMERAL
// mode), group membership on top of it (Curator's GroupMember), and service discovery (Curator's
// x-discovery ServiceDiscovery / ServiceCache, with its JSON instance format).
//
// A member's node is ephemeral, so it vanishes when the member's session ends: that is how the
// others learn it left (or died). A member that only lost its connection keeps its node; one whose
// session expired gets a new session from the client and creates its node again (Curator's
// PersistentNode does the same on RECONNECTED after LOST). Everyone's view is a TreeCache of
// depth 1 on the group's node, so joins, leaves and payload changes arrive as events.
import { randomUUID } from 'node:crypto';
import { NodeExistsError } from '../client/errors.js';
import { CreateMode, type Data } from '../client/ops.js';
import type { ZooKeeperClient } from '../client/zookeeper.js';
import { TreeCache, type ChildData, type WatchMode } from './cache.js';
import { Kicker, Ops, RecipeClosedError, TypedEmitter, join, nameOf, onConnectionChange, toBytes, type RecipeOptions } from './internal.js';

export interface PersistentEphemeralNodeEvents {
  /** our node exists (again): after start, and after each re-creation */
  created: (path: string) => void;
  error: (e: unknown) => void;
}

/**
 * An EPHEMERAL node kept in place while this instance is started: re-created when it is deleted
 * or its session expires (Curator's PersistentNode, EPHEMERAL mode). If the path is taken by a
 * node of another session (a member with the same id elsewhere, or this client's previous
 * session that the server has not expired yet), it waits until that node goes instead of writing
 * over it.
 */
export class PersistentEphemeralNode extends TypedEmitter<PersistentEphemeralNodeEvents> {
  private readonly ops: Ops;
  private data: Buffer | null;
  private state: 'latent' | 'started' | 'closed' = 'latent';
  private readonly kicker: Kicker;
  private unsubscribe: (() => void) | null = null;
  private ours = false;
  private readonly createdWaiters: Array<() => void> = [];
  private readonly watcher = (): void => this.kicker.kick();

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    data: Data,
    options: RecipeOptions = {},
  ) {
    super();
    this.ops = new Ops(client, options.retryPolicy);
    this.data = toBytes(data);
    this.kicker = new Kicker(
      client,
      () => this.ensure(),
      (e) => this.report(e),
    );
  }

  /** Creates the node (and its parents as containers); resolves once it exists as ours. */
  async start(): Promise<void> {
    if (this.state !== 'latent') throw new RecipeClosedError('PersistentEphemeralNode (already started)');
    this.state = 'started';
    this.unsubscribe = onConnectionChange(this.client, (c) => {
      if (c === 'lost') this.ours = false;
      if (c === 'reconnected' || c === 'renewed') this.kicker.kick();
    });
    const created = new Promise<void>((r) => this.createdWaiters.push(r));
    this.kicker.kick();
    await created;
  }

  /** Whether the node exists as this session's, as far as this instance knows. */
  get exists(): boolean {
    return this.ours && this.client.connected;
  }

  /** Changes the node's data (now, and for every re-creation). */
  async setData(data: Data): Promise<void> {
    this.data = toBytes(data);
    if (this.state === 'started') {
      this.kicker.kick();
      await this.kicker.idle();
    }
  }

  /** Stops keeping the node and deletes it. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    this.kicker.stop();
    this.unsubscribe?.();
    for (const w of this.createdWaiters.splice(0)) w();
    this.ops.forgetWatch(this.path, this.watcher);
    if (!wasStarted) return;
    // ours, or possibly ours (a create in flight deletes its node itself once it sees 'closed')
    this.ours = false;
    const d = await this.ops.getDataOrNull(this.path).catch(() => null);
    if (d && d.stat.ephemeralOwner === this.client.sessionId) await this.ops.deleteGuaranteed(this.path).catch(() => undefined);
  }

  private async ensure(): Promise<void> {
    if (this.state !== 'started') return;
    const d = await this.ops.getDataOrNull(this.path, { watch: this.watcher });
    if (d === null) {
      let created = false;
      try {
        await this.ops.retry(() => this.client.create(this.path, this.data, { mode: CreateMode.EPHEMERAL, createParents: 'container' }));
        created = true;
      } catch (e) {
        if (!(e instanceof NodeExistsError)) throw e;
      }
      if (this.state !== 'started') {
        if (created) await this.ops.deleteGuaranteed(this.path);
        return;
      }
      this.kicker.kick(); // read it back, with a watch, and check the owner
      return;
    }
    if (d.stat.ephemeralOwner !== this.client.sessionId) {
      this.ours = false;
      return; // the data watch wakes us when it goes
    }
    if (!sameBytes(d.data, this.data)) {
      await this.ops.retry(() => this.client.setData(this.path, this.data, { version: d.stat.version }));
      return;
    }
    if (!this.ours) {
      this.ours = true;
      this.emit('created', this.path);
      for (const w of this.createdWaiters.splice(0)) w();
    }
  }
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return (a === null || a.length === 0) && (b === null || b.length === 0);
  return a.equals(b);
}

// ---------- a cache of one node's children, parsed ----------

export interface MembersEvents<T> {
  /** a member appeared */
  joined: (id: string, value: T) => void;
  /** a member's payload changed */
  updated: (id: string, value: T) => void;
  /** a member's node went (it left, or its session ended) */
  left: (id: string) => void;
  /** any of the above; the full current membership */
  change: (members: Map<string, T>) => void;
  error: (e: unknown) => void;
}

export interface MembersOptions<T> extends RecipeOptions {
  parse: (data: Buffer | null, id: string) => T;
  watchMode?: WatchMode;
}

/** The children of a node and their parsed data, kept current (depth-1 TreeCache). */
export class MembersCache<T> extends TypedEmitter<MembersEvents<T>> {
  private readonly cache: TreeCache;
  private readonly members = new Map<string, T>();

  constructor(
    client: ZooKeeperClient,
    readonly path: string,
    private readonly options: MembersOptions<T>,
  ) {
    super();
    this.cache = new TreeCache(client, path, {
      maxDepth: 1,
      ...(options.watchMode ? { watchMode: options.watchMode } : {}),
      ...(options.retryPolicy ? { retryPolicy: options.retryPolicy } : {}),
    });
    this.cache.on('created', (n) => this.onNode(n));
    this.cache.on('changed', (n) => this.onNode(n));
    this.cache.on('deleted', (n) => {
      if (n.path === this.path) return;
      const id = nameOf(n.path);
      if (this.cache.get(n.path)) return; // re-created: 'created' follows
      if (this.members.delete(id)) {
        this.emit('left', id);
        this.emit('change', this.current());
      }
    });
    this.cache.on('error', (e) => this.report(e));
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  close(): Promise<void> {
    return this.cache.close();
  }

  current(): Map<string, T> {
    return new Map(this.members);
  }

  private onNode(n: ChildData): void {
    if (n.path === this.path) return;
    const id = nameOf(n.path);
    let value: T;
    try {
      value = this.options.parse(n.data, id);
    } catch (e) {
      this.report(new Error(`member ${n.path}: unreadable data (${(e as Error).message})`, { cause: e }));
      return;
    }
    const had = this.members.has(id);
    this.members.set(id, value);
    this.emit(had ? 'updated' : 'joined', id, value);
    this.emit('change', this.current());
  }
}

// ---------- GroupMember ----------

export interface GroupMemberOptions<T> extends RecipeOptions {
  /** payload to bytes; default JSON.stringify */
  serialize?: (payload: T) => Buffer | string;
  /** bytes to payload; default JSON.parse (null data reads as null) */
  parse?: (data: Buffer | null) => T;
  watchMode?: WatchMode;
}

/**
 * Group membership (Curator's GroupMember): this member's payload at `<membershipPath>/<id>` as
 * an ephemeral node (kept across session loss), and the current members with their payloads,
 * with 'joined' / 'updated' / 'left' / 'change' events.
 */
export class GroupMember<T = unknown> extends TypedEmitter<MembersEvents<T>> {
  private readonly node: PersistentEphemeralNode;
  private readonly cache: MembersCache<T>;
  private readonly serialize: (payload: T) => Buffer | string;

  constructor(
    readonly client: ZooKeeperClient,
    readonly membershipPath: string,
    readonly id: string,
    payload: T,
    options: GroupMemberOptions<T> = {},
  ) {
    super();
    this.serialize = options.serialize ?? ((p) => JSON.stringify(p));
    const parse = options.parse ?? ((d: Buffer | null) => (d === null || d.length === 0 ? null : JSON.parse(d.toString('utf8'))) as T);
    const retry = options.retryPolicy ? { retryPolicy: options.retryPolicy } : {};
    this.node = new PersistentEphemeralNode(client, join(membershipPath, id), this.serialize(payload), retry);
    this.cache = new MembersCache<T>(client, membershipPath, {
      parse,
      ...retry,
      ...(options.watchMode ? { watchMode: options.watchMode } : {}),
    });
    for (const ev of ['joined', 'updated', 'left', 'change'] as const) {
      this.cache.on(ev, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(ev, ...args));
    }
    this.cache.on('error', (e) => this.report(e));
    this.node.on('error', (e) => this.report(e));
  }

  /** Joins (creates this member's node) and loads the membership. */
  async start(): Promise<void> {
    await this.node.start();
    await this.cache.start();
  }

  /** Leaves: deletes this member's node. */
  async close(): Promise<void> {
    await this.cache.close();
    await this.node.close();
  }

  /** Replaces this member's payload. */
  setPayload(payload: T): Promise<void> {
    return this.node.setData(this.serialize(payload));
  }

  /** The members as last seen (this one included once its node is seen), by id. */
  getCurrentMembers(): Map<string, T> {
    return this.cache.current();
  }
}

// ---------- ServiceDiscovery ----------

/** Curator x-discovery's ServiceInstance, as its JsonInstanceSerializer writes it. */
export interface ServiceInstance<P = unknown> {
  name: string;
  id: string;
  address: string | null;
  port: number | null;
  sslPort: number | null;
  payload: P | null;
  registrationTimeUTC: number;
  serviceType: 'DYNAMIC' | 'STATIC' | 'PERMANENT' | 'DYNAMIC_SEQUENTIAL';
  uriSpec: unknown;
  enabled: boolean;
}

export type ServiceInstanceInput<P> = Pick<ServiceInstance<P>, 'name'> & Partial<Omit<ServiceInstance<P>, 'name'>>;

/**
 * Registers service instances under `<basePath>/<name>/<id>` (ephemeral, kept across session
 * loss) and finds them (Curator's ServiceDiscovery). close() unregisters this instance's services.
 */
export class ServiceDiscovery<P = unknown> {
  private readonly ops: Ops;
  private readonly registered = new Map<string, { node: PersistentEphemeralNode; instance: ServiceInstance<P> }>();
  private readonly caches = new Set<ServiceCache<P>>();

  constructor(
    readonly client: ZooKeeperClient,
    readonly basePath: string,
    private readonly options: RecipeOptions & { watchMode?: WatchMode } = {},
  ) {
    this.ops = new Ops(client, options.retryPolicy);
  }

  /** Registers an instance (an id is made when none is given); resolves with it once its node exists. */
  async registerService(input: ServiceInstanceInput<P>): Promise<ServiceInstance<P>> {
    const instance = completeInstance(input);
    const key = `${instance.name}/${instance.id}`;
    if (this.registered.has(key)) throw new RecipeClosedError(`service ${key} (already registered)`);
    const node = new PersistentEphemeralNode(this.client, this.instancePath(instance), JSON.stringify(instance), this.retry());
    this.registered.set(key, { node, instance });
    try {
      await node.start();
    } catch (e) {
      this.registered.delete(key);
      await node.close();
      throw e;
    }
    return instance;
  }

  /** Replaces a registered instance's data (same name and id). */
  async updateService(instance: ServiceInstance<P>): Promise<void> {
    const r = this.registered.get(`${instance.name}/${instance.id}`);
    if (!r) throw new RecipeClosedError(`service ${instance.name}/${instance.id} (not registered here)`);
    r.instance = instance;
    await r.node.setData(JSON.stringify(instance));
  }

  async unregisterService(instance: Pick<ServiceInstance<P>, 'name' | 'id'>): Promise<void> {
    const key = `${instance.name}/${instance.id}`;
    const r = this.registered.get(key);
    this.registered.delete(key);
    await r?.node.close();
  }

  /** The service names that have (or had) instances. */
  queryForNames(): Promise<string[]> {
    return this.ops.childrenOrEmpty(this.basePath).then((n) => n.sort());
  }

  /** A service's instances, read now. */
  async queryForInstances(name: string): Promise<Array<ServiceInstance<P>>> {
    const ids = await this.ops.childrenOrEmpty(join(this.basePath, name));
    const out: Array<ServiceInstance<P>> = [];
    for (const id of ids.sort()) {
      const i = await this.queryForInstance(name, id);
      if (i) out.push(i);
    }
    return out;
  }

  async queryForInstance(name: string, id: string): Promise<ServiceInstance<P> | null> {
    const d = await this.ops.getDataOrNull(join(join(this.basePath, name), id));
    if (!d?.data) return null;
    try {
      return JSON.parse(d.data.toString('utf8')) as ServiceInstance<P>;
    } catch {
      return null;
    }
  }

  /** A cache of one service's instances, with events (Curator's ServiceCache); start() it. */
  serviceCache(name: string): ServiceCache<P> {
    const c = new ServiceCache<P>(this.client, join(this.basePath, name), {
      parse: (d) => JSON.parse(d?.toString('utf8') ?? 'null') as ServiceInstance<P>,
      ...this.retry(),
      ...(this.options.watchMode ? { watchMode: this.options.watchMode } : {}),
    });
    this.caches.add(c);
    return c;
  }

  /** Unregisters every instance registered here and closes the caches made here. */
  async close(): Promise<void> {
    for (const c of this.caches) await c.close();
    this.caches.clear();
    for (const r of [...this.registered.values()]) await r.node.close();
    this.registered.clear();
  }

  private instancePath(i: ServiceInstance<P>): string {
    return join(join(this.basePath, i.name), i.id);
  }

  private retry(): RecipeOptions {
    return this.options.retryPolicy ? { retryPolicy: this.options.retryPolicy } : {};
  }
}

/** One service's instances, kept current: instances() and 'joined' / 'updated' / 'left' / 'change'. */
export class ServiceCache<P> extends MembersCache<ServiceInstance<P>> {
  /** The instances as last seen, by id order. */
  instances(): Array<ServiceInstance<P>> {
    return [...this.current().entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  }
}

function completeInstance<P>(i: ServiceInstanceInput<P>): ServiceInstance<P> {
  return {
    name: i.name,
    id: i.id ?? randomUUID(),
    address: i.address ?? null,
    port: i.port ?? null,
    sslPort: i.sslPort ?? null,
    payload: i.payload ?? null,
    registrationTimeUTC: i.registrationTimeUTC ?? Date.now(),
    serviceType: i.serviceType ?? 'DYNAMIC',
    uriSpec: i.uriSpec ?? null,
    enabled: i.enabled ?? true,
  };
}
