// Watch registry (ZooKeeper's WatchManager with WatcherMode): watches belong to a connection
// ("watcher"), standard ones fire once, persistent ones stay, persistent-recursive ones also
// fire for every descendant. Triggering returns events; the caller delivers them.
import type { EventType, ACL } from '../wire/protocol.js';

export type WatcherId = number;

/** Bit flags: one watcher may hold several modes on one path (ZOOKEEPER-4466). */
export const WatchMode = { Standard: 1, Persistent: 2, PersistentRecursive: 4 } as const;

export interface WatchEvent {
  watcher: WatcherId;
  type: EventType;
  path: string;
  /**
   * The ACL that decides whether the watcher may see this event (READ), or null for none: the
   * node's for created / deleted / data events, the parent's for children events (CVE-2024-23944).
   */
  acl: readonly ACL[] | null;
}

export class WatchManager {
  private readonly byPath = new Map<string, Map<WatcherId, number>>();
  private readonly byWatcher = new Map<WatcherId, Set<string>>();
  private recursiveCount = 0;

  get size(): number {
    let n = 0;
    for (const m of this.byPath.values()) n += m.size;
    return n;
  }
  get pathCount(): number {
    return this.byPath.size;
  }

  add(path: string, watcher: WatcherId, mode: number): void {
    let m = this.byPath.get(path);
    if (!m) {
      m = new Map();
      this.byPath.set(path, m);
    }
    const prev = m.get(watcher) ?? 0;
    if (mode & WatchMode.PersistentRecursive && !(prev & WatchMode.PersistentRecursive)) this.recursiveCount++;
    m.set(watcher, prev | mode);
    let paths = this.byWatcher.get(watcher);
    if (!paths) {
      paths = new Set();
      this.byWatcher.set(watcher, paths);
    }
    paths.add(path);
  }

  has(path: string, watcher: WatcherId, modeMask: number): boolean {
    return ((this.byPath.get(path)?.get(watcher) ?? 0) & modeMask) !== 0;
  }

  /** Clears the given mode bits; true when any was set. */
  remove(path: string, watcher: WatcherId, modeMask: number): boolean {
    const m = this.byPath.get(path);
    const prev = m?.get(watcher) ?? 0;
    if (!m || (prev & modeMask) === 0) return false;
    this.setMode(path, m, watcher, prev, prev & ~modeMask);
    return true;
  }

  private setMode(path: string, m: Map<WatcherId, number>, watcher: WatcherId, prev: number, next: number): void {
    if (prev & WatchMode.PersistentRecursive && !(next & WatchMode.PersistentRecursive)) this.recursiveCount--;
    if (next === 0) {
      m.delete(watcher);
      if (m.size === 0) this.byPath.delete(path);
      const paths = this.byWatcher.get(watcher);
      paths?.delete(path);
      if (paths && paths.size === 0) this.byWatcher.delete(watcher);
    } else {
      m.set(watcher, next);
    }
  }

  removeWatcher(watcher: WatcherId): void {
    const paths = this.byWatcher.get(watcher);
    if (!paths) return;
    for (const path of [...paths]) {
      const m = this.byPath.get(path);
      const prev = m?.get(watcher) ?? 0;
      if (m) this.setMode(path, m, watcher, prev, 0);
    }
    this.byWatcher.delete(watcher);
  }

  /**
   * Fires the watches for a change at path. Standard watches on path are consumed;
   * persistent ones stay; recursive watches on path or any ancestor fire too.
   * Watchers in `suppress` are skipped; every watcher that fired is added to `fired`.
   */
  /** False when no watch can fire for a change at path (no watch on it, no recursive watch anywhere). */
  mayFire(path: string): boolean {
    return this.recursiveCount > 0 || this.byPath.has(path);
  }

  trigger(
    path: string,
    type: EventType,
    acl: readonly ACL[] | null,
    out: WatchEvent[],
    fired: Set<WatcherId>,
    suppress?: Set<WatcherId>,
  ): void {
    const m = this.byPath.get(path);
    if (m) {
      for (const [watcher, mode] of [...m]) {
        // a standard watch is consumed even when its event is suppressed as a duplicate
        if (mode & WatchMode.Standard) this.setMode(path, m, watcher, mode, mode & ~WatchMode.Standard);
        if (suppress?.has(watcher) || fired.has(watcher)) continue;
        fired.add(watcher);
        out.push({ watcher, type, path, acl });
      }
    }
    if (this.recursiveCount === 0) return;
    for (let p = parentOf(path); p !== null; p = parentOf(p)) {
      const pm = this.byPath.get(p);
      if (!pm) continue;
      for (const [watcher, mode] of pm) {
        if (!(mode & WatchMode.PersistentRecursive) || suppress?.has(watcher) || fired.has(watcher)) continue;
        fired.add(watcher);
        out.push({ watcher, type, path, acl });
      }
    }
  }

  /** For wchc / wchp / dump. */
  pathsByWatcher(): Map<WatcherId, Set<string>> {
    return this.byWatcher;
  }
  watchersByPath(): Map<string, Map<WatcherId, number>> {
    return this.byPath;
  }
}

/** Parent path, "/" for top-level nodes, null for the root. */
export function parentOf(path: string): string | null {
  if (path === '/') return null;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The last component of a path: the name its parent lists it by. */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
