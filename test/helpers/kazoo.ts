// kazoo 2.8 (Python) for interop tests: Debian's /usr/bin/python3, which has python3-kazoo, not
// whatever python3 is first on PATH; override with ARK_KAZOO_PYTHON.
import { join } from 'node:path';
import { commandFails, executableMissing, runTool, type ToolResult } from './clitools.js';
import { repoRoot } from './servers.js';

export const kazooPython = process.env.ARK_KAZOO_PYTHON ?? '/usr/bin/python3';
/** the kazoo programs of the interop tests */
export const kazooDir = join(repoRoot, 'test', 'interop', 'kazoo');

let missingCache: string | null | undefined;
/** Reason why kazoo cannot be run here, or null. */
export function kazooMissing(): string | null {
  if (missingCache === undefined) {
    missingCache =
      executableMissing(kazooPython, 'apt-get install python3') ??
      commandFails(kazooPython, ['-c', 'import kazoo.client, kazoo.recipe.cache'], 'kazoo (apt-get install python3-kazoo)');
  }
  return missingCache;
}

/** Runs test/interop/kazoo/<name> with args, unbuffered and without .pyc files. */
export function runKazooScript(name: string, args: string[], timeoutMs: number): Promise<ToolResult> {
  return runTool(kazooPython, [join(kazooDir, name), ...args], {
    timeoutMs,
    env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  });
}
