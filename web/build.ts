/**
 * Builds the browser side with esbuild: the demo page's script (the codec on
 * onnxruntime-web, no tfjs, no Node module) and its AudioWorklet, as ES
 * modules in dist/web/ beside a copy of the page. Run by `npm run build`;
 * prints the bundle sizes.
 */
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = join(root, 'dist', 'web');

await rm(join(out, 'chunks'), { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: join(root, 'web', 'demo', 'app.ts'), worklet: join(root, 'web', 'demo', 'worklet.ts') },
  outdir: out,
  bundle: true,
  // onnxruntime-web's WebGPU build is a chunk of its own, fetched only when a page asks for WebGPU.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
await copyFile(join(root, 'web', 'demo', 'index.html'), join(out, 'index.html'));
const kib = async (file: string) => `${((await stat(join(out, file))).size / 1024).toFixed(0)} KiB`;
const chunks = (await readdir(join(out, 'chunks'))).filter((file) => file.endsWith('.js'));
const chunkSizes = await Promise.all(chunks.map(async (file) => `${file} ${await kib(join('chunks', file))}`));
process.stdout.write(
  `web bundle in dist/web: app.js ${await kib('app.js')}, worklet.js ${await kib('worklet.js')}; ` +
    `loaded on demand (onnxruntime-web's WebAssembly or WebGPU build): ${chunkSizes.join(', ')}; onnxruntime-web's .wasm files are served beside them\n`,
);
