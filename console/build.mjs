// Builds the web console (src/admin/console.ts serves it) into dist/console: one bundled,
// minified app.js (preact included: no CDN, works offline), app.css and index.html.
// `npm run build` (and so `npm ci`, through prepare, and `npm test`) runs it.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const src = new URL('./src/', import.meta.url);
const out = new URL('../dist/console/', import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL('main.tsx', src).pathname],
  outfile: new URL('app.js', out).pathname,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(new URL(f, src), new URL(f, out));
