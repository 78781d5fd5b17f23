/**
 * Builds the browser side with esbuild: the demo page's script (the codec on
 * onnxruntime-web, no tfjs, no Node module) and its AudioWorklet, as ES
 * modules in dist/web/ beside a copy of the page. Run by `npm run build`;
 * prints the bundle sizes.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = join(root, 'dist', 'web');

await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: join(root, 'web', 'demo', 'app.ts'), worklet: join(root, 'web', 'demo', 'worklet.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
await copyFile(join(root, 'web', 'demo', 'index.html'), join(out, 'index.html'));
const sizes = await Promise.all(['app.js', 'worklet.js'].map(async (file) => `${file} ${((await stat(join(out, file))).size / 1024).toFixed(0)} KiB`));
process.stdout.write(`web bundle in dist/web: ${sizes.join(', ')} (onnxruntime-web's .wasm is served beside it)\n`);
