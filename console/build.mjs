// Builds the web console (src/admin/console.ts serves it) into dist/console: one bundled,
// minified app.js (preact and uPlot included: no CDN, works offline), app.css and index.html.
// `npm run build` (and so `npm ci`, through prepare, and `npm test`) runs it.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
copyFileSync(new URL('index.html', src), new URL('index.html', out));
// uPlot's own stylesheet first (the charts' legend and cursor), then the console's
const uplotCss = readFileSync(new URL('../node_modules/uplot/dist/uPlot.min.css', import.meta.url));
writeFileSync(new URL('app.css', out), Buffer.concat([uplotCss, Buffer.from('\n'), readFileSync(new URL('app.css', src))]));
