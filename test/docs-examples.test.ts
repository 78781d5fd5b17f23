/**
 * The TypeScript examples in README.md and docs/ are real: each ```ts block is
 * type-checked against the package's own declarations (imported by its name,
 * 'simvq-audio', as a user's code imports it) and run, in a folder holding the
 * repository's sample as speech.wav (a fresh folder for each).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { expect } from 'chai';
import ts from 'typescript';

/** Every ```ts block of a Markdown file. */
function typescriptBlocks(path: string): string[] {
  return [...readFileSync(path, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

const documents = ['README.md', ...readdirSync('docs').filter((name) => name.endsWith('.md')).map((name) => join('docs', name))];
/** Examples that need what a test machine lacks say so on their first line. */
const NOT_RUNNABLE = /^\/\/ not run:/;

describe('docs: TypeScript examples', function () {
  this.timeout(300_000);
  // Inside the package, so that 'simvq-audio' resolves to it (a package may import itself by name).
  const folder = resolve('dist', '.doc-examples');
  let work = '';
  before(() => {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'simvq-doc-examples-'));
  });
  after(() => {
    rmSync(folder, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('README.md has at least one', () => {
    expect(typescriptBlocks('README.md')).to.not.be.empty;
  });

  for (const document of documents) {
    typescriptBlocks(document).forEach((code, i) => {
      it(`${document}, example ${i + 1}: type-checks and runs`, () => {
        const name = `${document.replace(/\W+/g, '-')}-${i + 1}`;
        const source = join(folder, `${name}.mts`);
        writeFileSync(source, code);
        execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', source], { encoding: 'utf8' });
        if (NOT_RUNNABLE.test(code)) return;
        const runnable = join(folder, `${name}.mjs`);
        writeFileSync(runnable, ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
        // Each example in a folder of its own, holding only the sample.
        const cwd = mkdtempSync(join(work, `${name}-`));
        copyFileSync('samples/speech-16k.wav', join(cwd, 'speech.wav'));
        execFileSync(process.execPath, [runnable], { cwd, encoding: 'utf8', env: { ...process.env, SIMVQ_RELAUNCH: '0' } });
      });
    });
  }
});
