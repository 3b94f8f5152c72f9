// A server's memory, measured from outside it, as the benchmarks compare Ark and ZooKeeper: the
// heap in use after a full GC (the JVM's through jcmd; Node's V8 heap plus off-heap buffers through
// the inspector protocol of a server started with --inspect) and the resident set.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Memory {
  heapBytes: number;
  rssBytes: number;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) * 1024;
}

/** Java heap in use after a full GC (jcmd GC.run, then GC.heap_info). */
export function javaMemory(pid: number): Memory {
  execFileSync('jcmd', [String(pid), 'GC.run'], { encoding: 'utf8' });
  const info = execFileSync('jcmd', [String(pid), 'GC.heap_info'], { encoding: 'utf8' });
  const m = /used (\d+)K/.exec(info);
  if (!m) throw new Error(`cannot read the heap from jcmd GC.heap_info:\n${info}`);
  return { heapBytes: Number(m[1]) * 1024, rssBytes: rssBytes(pid) };
}

/**
 * Node heap plus off-heap buffers (znode data lives in Buffers) after a full GC, read through
 * the inspector protocol of a server started with --inspect: no code in the server for this.
 */
export async function nodeMemory(inspectPort: number, pid: number): Promise<Memory> {
  const list = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const WS = (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!WS) throw new Error('this Node has no WebSocket client; run with --experimental-websocket (npm run bench:compare does)');
  const ws = new WS(list[0]!.webSocketDebuggerUrl);
  await new Promise<void>((res, rej) => {
    ws.onopen = () => res();
    ws.onerror = () => rej(new Error('inspector connection failed'));
  });
  let id = 0;
  const pending = new Map<number, (r: unknown) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((res) => {
      const n = ++id;
      pending.set(n, res);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
    result: { value: string };
  };
  ws.close();
  const mu = JSON.parse(r.result.value) as { heapUsed: number; external: number; rss: number };
  return { heapBytes: mu.heapUsed + mu.external, rssBytes: rssBytes(pid) };
}

interface WebSocketLike {
  onopen: (() => void) | null;
  onerror: (() => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(s: string): void;
  close(): void;
}
