/**
 * The runtime never loads tfjs: encode, decode and the Codec API run on
 * onnxruntime alone (tfjs costs seconds and ~100 MB before the first sample).
 * A module-resolution hook in a fresh Node reports every import of a
 * @tensorflow package and who made it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { expect } from 'chai';

const HOOK = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes('@tensorflow')) process.stderr.write('TFJS-IMPORT ' + specifier + ' from ' + context.parentURL + '\\n');
  return result;
}
`;

describe('runtime: never loads tfjs', function () {
  this.timeout(120_000);
  let scratch = '';
  let register = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-no-tfjs-'));
    writeFileSync(join(scratch, 'hook.mjs'), HOOK);
    register = join(scratch, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(scratch, 'hook.mjs')).href)});\n`);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Runs node with the hook; returns stderr and the exit status. */
  function traced(args: string[]): { stderr: string; status: number | null } {
    const result = spawnSync(process.execPath, ['--import', register, ...args], { encoding: 'utf8', env: { ...process.env, SIMVQ_RELAUNCH: '0' } });
    return { stderr: result.stderr, status: result.status };
  }

  it('the hook sees tfjs where it is loaded (the exporter), so its silence below means something', () => {
    const { stderr } = traced(['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL('dist/src/export/model-directory.js').href)});`]);
    expect(stderr).to.include('TFJS-IMPORT @tensorflow/tfjs');
  });

  it('importing the package or the Codec, and encode and decode on the command line, load no @tensorflow module', () => {
    for (const entry of ['dist/src/index.js', 'dist/src/runtime/codec.js']) {
      const imported = traced(['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(entry).href)});`]);
      expect(imported.status, imported.stderr).to.equal(0);
      expect(imported.stderr, entry).to.not.include('TFJS-IMPORT');
    }
    const svq = join(scratch, 'speech.svq');
    const encode = traced(['bin/simvq-audio.js', 'encode', 'samples/speech-16k.wav', '-o', svq]);
    expect(encode.status, encode.stderr).to.equal(0);
    const decode = traced(['bin/simvq-audio.js', 'decode', svq, '-o', join(scratch, 'speech.wav')]);
    expect(decode.status, decode.stderr).to.equal(0);
    expect(encode.stderr + decode.stderr).to.not.include('TFJS-IMPORT');
  });
});
