// Archiving cost on the server: how long readRecordRun (src/storage/logreader.ts) takes, in CPU
// and wall time, to copy one full chunk's worth of txns (200k setData records of 100-byte data)
// out of a txn log for the archive. Every archiving member spends this per chunk, on the event loop
// thread that serves clients.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecordRun } from '../src/storage/logreader.js';
import { encodeLogHeader, encodeRawRecord } from '../src/storage/txnlog.js';
import { encodeEntry } from '../src/replica/replica.js';
import { JuteWriter } from '../src/wire/jute.js';
import { OpCode } from '../src/wire/protocol.js';

const E = 4294967296;
const TXNS = Number(process.env.BENCH_LOGREADER_TXNS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function writeSegment(dir: string, first: number, n: number): number {
  const w = new JuteWriter(1 << 20);
  const data = Buffer.alloc(100, 7);
  for (let i = 0; i < n; i++) {
    const zxid = first + i;
    encodeRawRecord(
      w,
      encodeEntry(
        { sessionId: 1n, cxid: i, zxid, time: 1_700_000_000_000 + i, type: OpCode.setData },
        { type: OpCode.setData, path: `/bench/n${i % 1000}`, data, version: -1 },
      ),
    );
  }
  const body = w.take();
  writeFileSync(join(dir, `log.${first.toString(16).padStart(16, '0')}`), Buffer.concat([encodeLogHeader(first), body]));
  return body.length;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ark-bench-logreader-'));
  try {
    const bytes = writeSegment(dir, E + 1, TXNS);
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const run = await readRecordRun(dir, { after: E, upTo: E + TXNS, bytesMax: 64 << 20, snapshots: [E] });
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      if (typeof run === 'string' || run.count !== TXNS)
        throw new Error(`read ${typeof run === 'string' ? run : run.count} of ${TXNS} txns`);
    }
    console.log(`\nreadRecordRun: ${TXNS} txns, ${(bytes / 1048576).toFixed(1)} MB, median of ${ROUNDS}`);
    console.log(
      `  wall ${median(wall).toFixed(0)} ms, CPU ${median(cpu).toFixed(0)} ms (${((median(cpu) * 1000) / TXNS).toFixed(2)} µs per txn)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
