// Live updates: the server's persistent watches on what the page shows arrive as server-sent
// events; each part of the page listens for its own path.
import type { ZkEvent } from './api';

type Listener = (e: ZkEvent) => void;
const byPath = new Map<string, Set<Listener>>();
const global = new Set<(state: string) => void>();
let source: EventSource | null = null;

export function listen(path: string, l: Listener): () => void {
  let set = byPath.get(path);
  if (!set) {
    set = new Set();
    byPath.set(path, set);
  }
  set.add(l);
  return () => set.delete(l);
}

/** connection state: live, reconnecting, expired */
export function onState(l: (state: string) => void): () => void {
  global.add(l);
  return () => global.delete(l);
}

const tell = (state: string): void => {
  for (const l of global) l(state);
};

export function startEvents(): void {
  source?.close();
  source = new EventSource('/console/api/events');
  source.onopen = () => tell('live');
  source.onerror = () => tell('reconnecting');
  source.onmessage = (m) => {
    const e = JSON.parse(m.data as string) as ZkEvent;
    if (e.type === 'connection') {
      tell(e.state === 'connected' ? 'live' : (e.state ?? 'reconnecting'));
      if (e.state === 'expired') for (const set of byPath.values()) for (const l of set) l(e);
      return;
    }
    for (const l of byPath.get(e.path ?? '') ?? []) l(e);
  };
}

export function stopEvents(): void {
  source?.close();
  source = null;
}
