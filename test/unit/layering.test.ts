// The import directions of docs/ARCHITECTURE.md, checked on the sources: the pure layers never
// reach for I/O, clocks or randomness, and consensus sees nothing but util.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/servers.js';

const src = join(repoRoot, 'src');

function sources(dir: string): Array<{ file: string; text: string }> {
  return readdirSync(join(src, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(src, dir, f), 'utf8') }));
}

function imports(text: string): string[] {
  return [...text.matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1]!);
}

/** The clock, randomness, timers and process calls in a source file, comments aside. */
function impureCalls(file: string, text: string): string[] {
  const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  return ['Date.now(', 'Math.random(', 'setTimeout(', 'setInterval(', 'setImmediate(', 'process.']
    .filter((bad) => code.includes(bad))
    .map((bad) => `${file} uses ${bad}`);
}

const PURE = ['wire', 'tree', 'session', 'server', 'consensus', 'replica'];
const ALLOWED: Record<string, string[]> = {
  consensus: ['consensus', 'util'],
  replica: ['replica', 'consensus', 'server', 'wire', 'tree', 'session', 'util', 'storage/snapshot.js'],
  server: ['server', 'wire', 'tree', 'session', 'util'],
  tree: ['tree', 'wire', 'util'],
  session: ['session', 'util'],
  wire: ['wire', 'util'],
};

test('pure layers import only what ARCHITECTURE.md allows and no I/O, clock or randomness', () => {
  const problems: string[] = [];
  for (const dir of PURE) {
    for (const { file, text } of sources(dir)) {
      for (const spec of imports(text)) {
        if (spec.startsWith('node:')) {
          // compute-only modules: checksums and compression, hashes (digest ACLs), isIP (ip ACLs)
          const computeOnly =
            spec === 'node:zlib' || spec === 'node:events' || spec === 'node:crypto' || (spec === 'node:net' && file === 'tree/acl.ts');
          if (!computeOnly) problems.push(`${file} imports ${spec}`);
          continue;
        }
        const target = spec.startsWith('./') ? `${dir}/${spec.slice(2)}` : spec.replace(/^\.\.\//, '');
        const ok = (ALLOWED[dir] ?? []).some((a) => target === a || target.startsWith(`${a}/`) || a === target);
        if (!ok) problems.push(`${file} imports ${spec}`);
      }
      problems.push(...impureCalls(file, text));
    }
  }
  assert.deepEqual(problems, []);
});

// src/metrics is a runtime-level layer: the runtime hands it the core and consensus to read, it
// imports nothing that imports it back, and it alone holds prom-client. Its HTTP(S) port is the
// AdminServer's kind (net/httpendpoint.ts: plain, TLS only or both on one port).
const METRICS_ALLOWED = [
  'metrics',
  'server',
  'consensus',
  'wire',
  'backup/format.js',
  'config/serverconfig.js',
  'net/httpendpoint.js',
  'util',
];

test('src/metrics imports only what it reads, and prom-client stays in src/metrics', () => {
  const problems: string[] = [];
  for (const { file, text } of sources('metrics')) {
    for (const spec of imports(text)) {
      if (spec.startsWith('node:') || spec === 'prom-client') continue;
      const target = spec.startsWith('./') ? `metrics/${spec.slice(2)}` : spec.replace(/^\.\.\//, '');
      if (!METRICS_ALLOWED.some((a) => target === a || target.startsWith(`${a}/`))) problems.push(`${file} imports ${spec}`);
    }
  }
  for (const dir of readdirSync(src, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'metrics')
    .map((d) => d.name)) {
    for (const { file, text } of sources(dir)) if (imports(text).includes('prom-client')) problems.push(`${file} imports prom-client`);
  }
  assert.deepEqual(problems, []);
});

// src/recipes is built on the client's public API only: it imports src/client and src/util (and
// Node built-ins), never the wire codec, the server, or anything else below the client.
test('src/recipes imports only src/client and src/util', () => {
  const problems: string[] = [];
  for (const { file, text } of sources('recipes')) {
    const reexports = [...text.matchAll(/^export[^;]*?from '([^']+)'/gms)].map((m) => m[1]!);
    for (const spec of [...imports(text), ...reexports]) {
      if (spec.startsWith('node:')) continue;
      const target = spec.startsWith('./') ? `recipes/${spec.slice(2)}` : spec.replace(/^\.\.\//, '');
      if (!['recipes/', 'client/', 'util/'].some((a) => target.startsWith(a))) problems.push(`${file} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

// The archive's decisions (who writes which link, holes, fills, retention) are pure, like the
// consensus core: the runtime and the simulator carry out the same ones.
test('the archive planner (backup/archiver.ts, backup/chain.ts) is pure and imports only itself and util/zxid', () => {
  const problems: string[] = [];
  for (const { file, text } of sources('backup').filter((f) => ['backup/archiver.ts', 'backup/chain.ts'].includes(f.file))) {
    for (const spec of imports(text))
      if (!['./chain.js', './archiver.js', '../util/zxid.js'].includes(spec)) problems.push(`${file} imports ${spec}`);
    problems.push(...impureCalls(file, text));
  }
  assert.equal(sources('backup').filter((f) => ['backup/archiver.ts', 'backup/chain.ts'].includes(f.file)).length, 2);
  assert.deepEqual(problems, []);
});

// zoo.cfg is resolved by pure code (text and maps in, a ServerConfig and warnings out; reading the
// file and myid is the CLI's business), so its modules import one another, util's host:port
// formatting and s3:// parsing, and node:path, nothing else.
test('src/config is pure and imports only itself, util/hostport, util/s3url and node:path', () => {
  const problems: string[] = [];
  for (const { file, text } of sources('config')) {
    for (const spec of imports(text)) {
      if (!(spec.startsWith('./') || spec === '../util/hostport.js' || spec === '../util/s3url.js' || spec === 'node:path'))
        problems.push(`${file} imports ${spec}`);
    }
    problems.push(...impureCalls(file, text));
  }
  assert.ok(sources('config').some((f) => f.file === 'config/zoocfg.ts'));
  assert.deepEqual(problems, []);
});

// ZkClient (src/client/client.ts) is the tests' small client: no reconnect, no pings. Code that
// ships uses the full client (ZooKeeperClient), and the package does not export the small one.
test('nothing in src uses the small test client (src/client/client.ts)', () => {
  const problems: string[] = [];
  for (const dir of readdirSync(src, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)) {
    for (const { file, text } of sources(dir)) {
      const reexports = [...text.matchAll(/^export[^;]*?from '([^']+)'/gms)].map((m) => m[1]!);
      for (const spec of [...imports(text), ...reexports]) {
        const target = spec.startsWith('./') ? `${dir}/${spec.slice(2)}` : spec.replace(/^\.\.\//, '');
        if (target === 'client/client.js') problems.push(`${file} imports ${spec}`);
      }
    }
  }
  for (const spec of [...readFileSync(join(src, 'index.ts'), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!)) {
    if (spec === './client/client.js') problems.push(`index.ts exports from ${spec}`);
  }
  assert.deepEqual(problems, []);
});
