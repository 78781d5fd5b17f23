#!/usr/bin/env node
// The `simvq-audio` command: a shim over the compiled CLI in dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('simvq-audio: the CLI is not built (dist/ is missing): run `npm run build` in the package folder\n');
  process.exitCode = 1;
} else {
  // First, where it helps, run again with glibc's malloc tuned (dist/src/malloc.js says why);
  // that resolves only when no relaunch is needed.
  const { relaunchWithTunedMalloc } = await import(new URL('../dist/src/malloc.js', import.meta.url).href);
  await relaunchWithTunedMalloc();
  const { main } = await import(entry.href);
  await main(process.argv);
}
