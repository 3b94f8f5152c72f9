// `ark backup diff` on two backups of 1M znodes of 100 B (issue 15: "fast enough for 1M znodes").
// Builds backup A (1000 parents of 1000 children), then B = A with 1% of the znodes changed,
// 0.1% deleted and 0.1% added, writes both with the backup writer, and times the command as a
// user runs it (a separate process), with its peak RSS from /usr/bin/time where there is one.
//   node dist/bench/diff.js [znodes]      (default 1000000)
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBackup } from '../src/backup/format.js';
import { DataTree } from '../src/tree/datatree.js';
import { OpCode, Perms } from '../src/wire/protocol.js';
import type { Txn } from '../src/wire/txn.js';

const OPEN = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const arkBin = resolve(fileURLToPath(import.meta.url), '..', '..', 'src', 'cli', 'main.js');

function txnApplier(tree: DataTree): (txn: Txn) => void {
  let zxid = 0;
  return (txn) => {
    zxid++;
    tree.apply({ sessionId: 1n, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid, type: txn.type }, txn, []);
  };
}

const data = (i: number, tag: string): Buffer => Buffer.from(`${tag}${i}`.padEnd(100, '.'));
const create = (path: string, d: Buffer): Txn => ({
  type: OpCode.create,
  path,
  data: d,
  acl: OPEN,
  ephemeralOwner: 0n,
  parentCVersion: -1,
});

async function save(tree: DataTree, file: string): Promise<void> {
  await writeBackup(tree, [], createWriteStream(file), { createdBy: 'bench/diff' });
}

function timed(args: string[]): { seconds: number; maxRssMb: number | null; code: number | null; out: string } {
  const haveTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = haveTime
    ? spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, arkBin, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 })
    : spawnSync(process.execPath, [arkBin, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - t0) / 1000;
  const m = /MAXRSS (\d+)/.exec(r.stderr ?? '');
  return { seconds, maxRssMb: m ? Math.round(Number(m[1]) / 1024) : null, code: r.status, out: r.stdout.slice(-300) };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1_000_000);
  const parents = Math.max(1, Math.round(Math.sqrt(n)));
  const per = Math.ceil(n / parents);
  const dir = mkdtempSync(join(tmpdir(), 'ark-bench-diff-'));
  try {
    const tree = new DataTree();
    const apply = txnApplier(tree);
    let made = 0;
    for (let p = 0; p < parents && made < n; p++) {
      apply(create(`/p${p}`, data(p, 'parent')));
      made++;
      for (let c = 0; c < per - 1 && made < n; c++, made++) apply(create(`/p${p}/c${c}`, data(c, 'v')));
    }
    const a = join(dir, 'a.arkb');
    await save(tree, a);
    // B: every 100th child changed, every 1000th deleted, one new child per parent
    let changed = 0;
    let deleted = 0;
    let added = 0;
    for (let p = 0; p < parents; p++) {
      for (let c = 0; c < per - 1; c++) {
        const path = `/p${p}/c${c}`;
        if (!tree.get(path)) continue;
        if (c % 1000 === 500) {
          apply({ type: OpCode.delete, path });
          deleted++;
        } else if (c % 100 === 7) {
          apply({ type: OpCode.setData, path, data: data(c, 'w'), version: 1 });
          changed++;
        }
      }
      if (tree.get(`/p${p}`)) {
        apply(create(`/p${p}/new`, data(p, 'n')));
        added++;
      }
    }
    const b = join(dir, 'b.arkb');
    await save(tree, b);
    console.log(
      `backups of ${made} znodes: A ${(statSync(a).size / 1e6).toFixed(1)} MB, B ${(statSync(b).size / 1e6).toFixed(1)} MB; B changes ${changed}, deletes ${deleted}, adds ${added}`,
    );
    for (const args of [
      ['backup', 'diff', a, b, '--summary'],
      ['backup', 'diff', a, b, '--json'],
    ]) {
      const r = timed(args);
      console.log(
        `ark ${args.slice(0, 2).join(' ')} A B ${args.slice(4).join(' ')}: ${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMb ?? '?'} MB, exit ${r.code}`,
      );
      if (args.includes('--summary')) console.log(`  ${r.out.trim()}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
