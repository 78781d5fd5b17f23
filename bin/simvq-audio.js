#!/usr/bin/env node
// The `simvq-audio` command: a shim over the compiled CLI in dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('simvq-audio: the CLI is not built (dist/ is missing): run `npm run build` in the package folder\n');
  process.exitCode = 1;
} else {
  const { main } = await import(entry.href);
  await main(process.argv);
}
