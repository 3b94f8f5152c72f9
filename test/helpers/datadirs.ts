// Data dirs built byte by byte with the storage encoders, so that gaps, overlaps, torn tails and
// damage sit exactly where a test wants them (the data tools' and the recovery rules' tests).
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataTree } from '../../src/tree/datatree.js';
import { JuteWriter } from '../../src/wire/jute.js';
import { OpCode, OPEN_ACL_UNSAFE } from '../../src/wire/protocol.js';
import type { Txn, TxnHeader } from '../../src/wire/txn.js';
import { encodeLogHeader, encodeRecord, segmentName } from '../../src/storage/txnlog.js';
import { SnapshotWriter, snapshotName } from '../../src/storage/snapshot.js';
import { tempDir } from './servers.js';

export const SESSION = 0x1000abcd00000001n;
export const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);

export interface Rec {
  hdr: TxnHeader;
  txn: Txn;
}

/** zxid 1: createSession; then creates under /app, a setData every 5th, an ephemeral, a multi. */
export function history(n: number): Rec[] {
  const out: Rec[] = [];
  const hdr = (zxid: number, type: number): TxnHeader => ({ sessionId: SESSION, cxid: zxid, zxid, time: T0 + zxid * 1000, type });
  out.push({ hdr: hdr(1, OpCode.createSession), txn: { type: OpCode.createSession, timeOutMs: 30000 } });
  out.push({
    hdr: hdr(2, OpCode.create),
    txn: { type: OpCode.create, path: '/app', data: Buffer.from('root'), acl: OPEN_ACL_UNSAFE, ephemeralOwner: 0n, parentCVersion: 1 },
  });
  let kids = 0;
  for (let z = 3; z <= n; z++) {
    if (z % 5 === 0) {
      out.push({
        hdr: hdr(z, OpCode.setData),
        txn: { type: OpCode.setData, path: '/app', data: Buffer.from([0, 1, 2, z & 255]), version: z / 5 },
      });
    } else {
      kids++;
      out.push({
        hdr: hdr(z, OpCode.create),
        txn: {
          type: OpCode.create,
          path: `/app/c${z}`,
          data: Buffer.from(`v${z}`),
          acl: OPEN_ACL_UNSAFE,
          ephemeralOwner: 0n,
          parentCVersion: kids,
        },
      });
    }
  }
  return out;
}

export function encodeSegment(first: number, recs: readonly Rec[], zeros: number): { buf: Buffer; offsets: number[] } {
  const w = new JuteWriter(1024);
  const offsets: number[] = [];
  const header = encodeLogHeader(first);
  for (const r of recs) {
    offsets.push(header.length + w.length);
    encodeRecord(w, r.hdr, r.txn);
  }
  return { buf: Buffer.concat([header, w.take(), Buffer.alloc(zeros)]), offsets };
}

export interface Built {
  dir: string;
  sub: string;
  segs: Array<{ file: string; offsets: number[]; recs: Rec[] }>;
  snaps: Array<{ file: string; zxid: number }>;
}

/**
 * A data dir with the history cut into segments starting at `cuts` (each a first zxid) and
 * snapshots of the tree at `snapAt` zxids.
 */
export function build(n: number, cuts: number[], snapAt: number[], opts: { zeros?: number; drop?: (z: number) => boolean } = {}): Built {
  const dir = tempDir('inspect');
  const sub = join(dir, 'ark-v1');
  mkdirSync(sub);
  const recs = history(n).filter((r) => !opts.drop?.(r.hdr.zxid));
  const segs: Built['segs'] = [];
  cuts.forEach((first, i) => {
    const end = cuts[i + 1] ?? Infinity;
    const mine = recs.filter((r) => r.hdr.zxid >= first && r.hdr.zxid < end);
    const { buf, offsets } = encodeSegment(mine[0]?.hdr.zxid ?? first, mine, opts.zeros ?? 512);
    const file = join(sub, segmentName(mine[0]?.hdr.zxid ?? first));
    writeFileSync(file, buf);
    segs.push({ file, offsets, recs: mine });
  });
  const snaps: Built['snaps'] = [];
  const tree = new DataTree();
  for (const r of history(n)) {
    tree.apply(r.hdr, r.txn, []);
    if (snapAt.includes(r.hdr.zxid)) {
      const wr = new SnapshotWriter(tree, [{ id: SESSION, timeoutMs: 30000 }], T0 + r.hdr.zxid * 1000);
      const chunks: Buffer[] = [];
      for (let c = wr.next(1000); c; c = wr.next(1000)) chunks.push(c);
      const file = join(sub, snapshotName(r.hdr.zxid, false));
      writeFileSync(file, Buffer.concat(chunks));
      snaps.push({ file, zxid: r.hdr.zxid });
    }
  }
  return { dir, sub, segs, snaps };
}

export function flip(file: string, offset: number): void {
  const b = readFileSync(file);
  b[offset] = b[offset]! ^ 0x5a;
  writeFileSync(file, b);
}

/** name -> size + content, to prove a tool changed nothing */
export function fingerprint(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const name of readdirSync(dir)) m.set(name, `${statSync(join(dir, name)).size}:${readFileSync(join(dir, name)).toString('base64')}`);
  return m;
}
