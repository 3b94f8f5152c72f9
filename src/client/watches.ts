// The client's side of watches (ZooKeeper's ZKWatchManager): which watchers wait on which path,
// which of them an event from the server wakes, what to re-register after a reconnect, and how to
// split that re-registration into setWatches requests small enough for any server. PURE.
import { EventType, OpCode, WatcherType, type SetWatchesRequest } from '../wire/protocol.js';

/** data: getData / exists on an existing node; exist: exists on a missing node; child: getChildren. */
export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';
const KINDS: readonly WatchKind[] = ['data', 'exist', 'child', 'persistent', 'persistentRecursive'];

/** The kinds a removeWatches / checkWatches WatcherType covers (ZKWatchManager.removeWatcher). */
export function kindsOf(type: number): WatchKind[] {
  switch (type) {
    case WatcherType.Children:
      return ['child'];
    case WatcherType.Data:
      return ['data', 'exist'];
    case WatcherType.Any:
      return ['child', 'data', 'exist', 'persistent', 'persistentRecursive'];
    case WatcherType.Persistent:
      return ['persistent'];
    case WatcherType.PersistentRecursive:
      return ['persistentRecursive'];
    default:
      return [];
  }
}

/** The event a watcher removed by removeWatches receives. */
export function removedEventType(kind: WatchKind): number {
  switch (kind) {
    case 'child':
      return EventType.ChildWatchRemoved;
    case 'data':
    case 'exist':
      return EventType.DataWatchRemoved;
    default:
      return EventType.PersistentWatchRemoved;
  }
}

export interface WatchPaths {
  data: string[];
  exist: string[];
  child: string[];
  persistent: string[];
  persistentRecursive: string[];
}

export class WatchRegistry<W> {
  private readonly byKind: Record<WatchKind, Map<string, Set<W>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  add(kind: WatchKind, path: string, watcher: W): void {
    const m = this.byKind[kind];
    let set = m.get(path);
    if (!set) {
      set = new Set();
      m.set(path, set);
    }
    set.add(watcher);
  }

  has(kind: WatchKind, path: string, watcher?: W): boolean {
    const set = this.byKind[kind].get(path);
    if (!set) return false;
    return watcher === undefined ? set.size > 0 : set.has(watcher);
  }

  get size(): number {
    let n = 0;
    for (const k of KINDS) for (const s of this.byKind[k].values()) n += s.size;
    return n;
  }

  /**
   * The watchers a node event wakes (ZKWatchManager.materialize): one-shot watches fire once and
   * are removed; persistent watches on the path stay; recursive watches on the path or any
   * ancestor stay, but never see NodeChildrenChanged (the server only sends that one for a
   * child or persistent watch that happens to sit on the same path).
   */
  trigger(type: number, path: string): Set<W> {
    const out = new Set<W>();
    const take = (kind: WatchKind): void => {
      const set = this.byKind[kind].get(path);
      if (!set) return;
      this.byKind[kind].delete(path);
      for (const w of set) out.add(w);
    };
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        take('data');
        take('exist');
        break;
      case EventType.NodeChildrenChanged:
        take('child');
        break;
      case EventType.NodeDeleted:
        take('data');
        take('exist');
        take('child');
        break;
      default:
        return out;
    }
    for (const w of this.byKind.persistent.get(path) ?? []) out.add(w);
    if (type !== EventType.NodeChildrenChanged) {
      const rec = this.byKind.persistentRecursive;
      if (rec.size > 0) {
        for (const p of selfAndAncestors(path)) for (const w of rec.get(p) ?? []) out.add(w);
      }
    }
    return out;
  }

  /**
   * Removes watchers of the given kinds on path (only `watcher` when given) and returns them with
   * the kind they were removed from.
   */
  remove(kinds: readonly WatchKind[], path: string, watcher?: W): Array<{ kind: WatchKind; watcher: W }> {
    const out: Array<{ kind: WatchKind; watcher: W }> = [];
    for (const kind of kinds) {
      const m = this.byKind[kind];
      const set = m.get(path);
      if (!set) continue;
      if (watcher === undefined) {
        for (const w of set) out.push({ kind, watcher: w });
        m.delete(path);
      } else if (set.delete(watcher)) {
        out.push({ kind, watcher });
        if (set.size === 0) m.delete(path);
      }
    }
    return out;
  }

  /** Would removing `watcher` (or all) leave no watcher of these kinds on path? */
  wouldEmpty(kinds: readonly WatchKind[], path: string, watcher?: W): boolean {
    for (const kind of kinds) {
      const set = this.byKind[kind].get(path);
      if (!set) continue;
      if (watcher === undefined) continue;
      if (set.size > 1 || !set.has(watcher)) return false;
    }
    return true;
  }

  /** Every watcher, once each, and forget them all (session gone or client closed). */
  clear(): Set<W> {
    const out = new Set<W>();
    for (const k of KINDS) {
      for (const set of this.byKind[k].values()) for (const w of set) out.add(w);
      this.byKind[k].clear();
    }
    return out;
  }

  /** The kinds of watch held on one path, as lists for setWatches. */
  pathsOf(path: string): WatchPaths {
    const has = (k: WatchKind): string[] => ((this.byKind[k].get(path)?.size ?? 0) > 0 ? [path] : []);
    return {
      data: has('data'),
      exist: has('exist'),
      child: has('child'),
      persistent: has('persistent'),
      persistentRecursive: has('persistentRecursive'),
    };
  }

  /** Paths to re-register, per kind. */
  paths(): WatchPaths {
    return {
      data: [...this.byKind.data.keys()],
      exist: [...this.byKind.exist.keys()],
      child: [...this.byKind.child.keys()],
      persistent: [...this.byKind.persistent.keys()],
      persistentRecursive: [...this.byKind.persistentRecursive.keys()],
    };
  }
}

function* selfAndAncestors(path: string): Generator<string> {
  yield path;
  let p = path;
  while (p.length > 1) {
    const i = p.lastIndexOf('/');
    p = i <= 0 ? '/' : p.slice(0, i);
    yield p;
  }
}

/**
 * The default budget of one setWatches request: ZooKeeper's client splits at 128 KB of paths
 * (ClientCnxn.SET_WATCHES_MAX_LENGTH, ZOOKEEPER-706), well under the server's 1 MB jute.maxbuffer.
 */
export const SET_WATCHES_BYTES_MAX = 128 * 1024;

/**
 * Splits the watches to re-register into setWatches requests of at most about bytesMax bytes of
 * paths each (a request always holds at least one path). A batch without persistent watches
 * goes as setWatches (101), which every server since 3.0 knows; one with them as setWatches2
 * (105), as ZooKeeper's client does. Paths are server paths (chroot already applied).
 */
export function splitSetWatches(
  paths: WatchPaths,
  relativeZxid: number,
  bytesMax = SET_WATCHES_BYTES_MAX,
): Array<{ type: typeof OpCode.setWatches | typeof OpCode.setWatches2; req: SetWatchesRequest }> {
  const out: Array<{ type: typeof OpCode.setWatches | typeof OpCode.setWatches2; req: SetWatchesRequest }> = [];
  const lists: Array<[keyof WatchPaths, string[]]> = [
    ['data', paths.data],
    ['exist', paths.exist],
    ['child', paths.child],
    ['persistent', paths.persistent],
    ['persistentRecursive', paths.persistentRecursive],
  ];
  let batch: WatchPaths = emptyPaths();
  let bytes = 0;
  let count = 0;
  const flush = (): void => {
    if (count === 0) return;
    const v2 = batch.persistent.length > 0 || batch.persistentRecursive.length > 0;
    out.push({
      type: v2 ? OpCode.setWatches2 : OpCode.setWatches,
      req: {
        relativeZxid,
        dataWatches: batch.data,
        existWatches: batch.exist,
        childWatches: batch.child,
        persistentWatches: batch.persistent,
        persistentRecursiveWatches: batch.persistentRecursive,
      },
    });
    batch = emptyPaths();
    bytes = 0;
    count = 0;
  };
  for (const [kind, list] of lists) {
    for (const p of list) {
      const size = 4 + Buffer.byteLength(p, 'utf8');
      if (count > 0 && bytes + size > bytesMax) flush();
      batch[kind].push(p);
      bytes += size;
      count++;
    }
  }
  flush();
  return out;
}

function emptyPaths(): WatchPaths {
  return { data: [], exist: [], child: [], persistent: [], persistentRecursive: [] };
}
