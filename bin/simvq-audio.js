#!/usr/bin/env node
// The `simvq-audio` command: a shim over the compiled CLI in dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('simvq-audio: the CLI is not built (dist/ is missing): run `npm run build` in the package folder\n');
  process.exitCode = 1;
} else {
  // First, on Linux, start again with glibc's malloc and V8's GC set up for the engine
  // (dist/src/relaunch.js says why); that resolves only in the second start, or where none is made.
  const { relaunchForEngine } = await import(new URL('../dist/src/relaunch.js', import.meta.url).href);
  await relaunchForEngine();
  const { main } = await import(entry.href);
  await main(process.argv);
}
