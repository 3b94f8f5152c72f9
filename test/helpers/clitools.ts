// Helpers for interop tests that drive third-party command-line clients (zkCli.sh, the C
// client cli_mt, kazoo scripts): run a tool with stdin and a time limit, check that a tool is
// installed, turn volatile values into stable symbols, and diff two transcripts.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunToolOptions {
  /** written to stdin, which is then closed (stdin is /dev/null when absent) */
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs a program, collecting stdout and stderr separately; SIGKILLs it after timeoutMs. */
export function runTool(bin: string, args: string[], opts: RunToolOptions = {}): Promise<ToolResult> {
  const started = Date.now();
  return new Promise((res, rej) => {
    const proc = spawn(bin, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    if (opts.input !== undefined && proc.stdin) {
      proc.stdin.on('error', () => {
        /* the tool may exit before reading everything */
      });
      proc.stdin.end(opts.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, opts.timeoutMs ?? 60000);
    proc.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, timedOut, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Short description of a ToolResult for assertion messages. */
export function describeTool(r: ToolResult): string {
  const how = r.timedOut ? 'timed out' : `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}`;
  return `${how} after ${r.ms} ms\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** Reason why an executable file is not usable, or null. */
export function executableMissing(path: string, hint: string): string | null {
  if (!existsSync(path)) return `${path} not found (${hint})`;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `${path} is not executable (${hint})`;
  }
  return null;
}

/** Reason why `bin -c code` does not run successfully, or null (e.g. a Python module import). */
export function commandFails(bin: string, args: string[], what: string): string | null {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30000 });
  if (r.error) return `${what}: ${bin} not runnable (${r.error.message})`;
  if (r.status !== 0)
    return `${what}: \`${bin} ${args.join(' ')}\` exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`;
  return null;
}

/** Gives each distinct value a stable symbol `${prefix}${n}` in order of first appearance. */
export class Symbolizer {
  private readonly map = new Map<string, string>();
  constructor(private readonly prefix: string) {}
  get(value: string): string {
    let s = this.map.get(value);
    if (s === undefined) {
      s = `${this.prefix}${this.map.size + 1}`;
      this.map.set(value, s);
    }
    return s;
  }
}

/**
 * Maps zxids to their rank among all distinct zxids of a transcript ("z1" = smallest, 0 stays
 * "0"), so two servers that number transactions differently (gaps, start values) still compare
 * equal as long as the order and the equalities between zxids are the same.
 */
export function zxidRanks(values: Iterable<bigint>): (v: bigint) => string {
  const sorted = [...new Set(values)].filter((v) => v !== 0n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map(sorted.map((v, i) => [v, `z${i + 1}`]));
  return (v) => (v === 0n ? '0' : (rank.get(v) ?? `z?${v.toString(16)}`));
}

/** Line diff (LCS) with a little context: "-" only in `a`, "+" only in `b`. */
export function transcriptDiff(a: string, b: string, labelA: string, labelB: string, context = 3, maxLines = 200): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: Uint32Array[] = [];
  for (let i = 0; i <= n; i++) lcs.push(new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: { kind: ' ' | '-' | '+'; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ kind: ' ', text: x[i]! });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: '-', text: x[i]! });
      i++;
    } else {
      ops.push({ kind: '+', text: y[j]! });
      j++;
    }
  }
  const show = ops.map(() => false);
  ops.forEach((op, k) => {
    if (op.kind === ' ') return;
    for (let d = Math.max(0, k - context); d <= Math.min(ops.length - 1, k + context); d++) show[d] = true;
  });
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  let skipped = false;
  ops.forEach((op, k) => {
    if (!show[k]) {
      skipped = true;
      return;
    }
    if (skipped) out.push('  ...');
    skipped = false;
    out.push(`${op.kind} ${op.text}`);
  });
  if (out.length > maxLines + 2) return [...out.slice(0, maxLines + 2), `  ... (${out.length - maxLines - 2} more diff lines)`].join('\n');
  return out.join('\n');
}

/**
 * Compares a transcript with a committed fixture. With ARK_UPDATE_FIXTURES=1 the fixture is
 * (re)written instead and null is returned; null also when they are equal; else a diff.
 */
export function checkFixture(path: string, actual: string, label: string): string | null {
  if (process.env.ARK_UPDATE_FIXTURES === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return null;
  }
  if (!existsSync(path)) return `fixture ${path} missing; create it with ARK_UPDATE_FIXTURES=1`;
  const expected = readFileSync(path, 'utf8');
  if (expected === actual) return null;
  return `${label} differs from ${path} (regenerate with ARK_UPDATE_FIXTURES=1 if ZooKeeper's behaviour really changed):\n${transcriptDiff(expected, actual, path, label)}`;
}

/** The committed fixture's text, or null when it is absent. */
export function readFixture(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}
