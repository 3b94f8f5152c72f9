// The closed loop every benchmark drives: each session keeps `window` requests outstanding until
// the time is up; latencies are per request.
import type { ZkClient } from '../src/client/client.js';

export type LoadOp = (c: ZkClient, session: number, i: number) => Promise<unknown>;

export function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export async function closedLoop(clients: ZkClient[], window: number, seconds: number, op: LoadOp): Promise<{ ops: number; seconds: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let ops = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map(async (c, s) => {
    let i = 0;
    const lane = async (): Promise<void> => {
      while (Date.now() < end) {
        const n = i++;
        const a = process.hrtime.bigint();
        await op(c, s, n);
        lat.push(Number(process.hrtime.bigint() - a) / 1e6);
        ops++;
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((x, y) => x - y);
  return { ops, seconds: secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}
