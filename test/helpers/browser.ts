// A real headless browser for the web console's tests: Debian's chromium driven by playwright-core
// (no browser download). Chromium needs these flags in this sandbox (no GPU, no QUIC, no
// background connections, a fresh profile), else its connections are refused.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { repoRoot } from './servers.js';

export const CHROMIUM = process.env.ARK_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or null. CI installs chromium (.ci/run), so there it never skips. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const why = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the web console's browser tests`;
  if (process.env.CI) throw new Error(why);
  return why;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'ark-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Where a test's screenshot goes: docs/NAME when ARK_SCREENSHOTS=1 (to refresh the README's
 * pictures), else a temp dir (still taken, so the path is exercised, without dirtying the tree).
 */
export function screenshotPath(name: string): string {
  if (process.env.ARK_SCREENSHOTS === '1') return join(repoRoot, 'docs', name);
  return join(mkdtempSync(join(tmpdir(), 'ark-shot-')), name);
}
