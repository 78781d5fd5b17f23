/**
 * Running the `simvq-audio` command in tests as users run it: `node
 * bin/simvq-audio.js ...` from the repository root, against the compiled dist/.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

/** The repository root (dist/test/helpers/cli.js is three levels below it). */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliScript = join(repositoryRoot, 'bin', 'simvq-audio.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `args`. SIMVQ_BACKEND, SIMVQ_DEBUG, the relaunch's variables
 * and GLIBC_TUNABLES from the test's own environment are dropped unless `env` sets
 * them, so a developer's settings do not change what a test sees;
 * SIMVQ_PRETRAINED_DIR points at a directory with no models unless `env` sets it.
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}, script = cliScript): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of ['SIMVQ_BACKEND', 'SIMVQ_DEBUG', 'SIMVQ_RELAUNCH', 'SIMVQ_RELAUNCHED', 'GLIBC_TUNABLES']) {
    if (!(name in env)) delete childEnv[name];
  }
  // Named and default models come from where the test says, never from the shipped codec/pretrained/.
  childEnv['SIMVQ_PRETRAINED_DIR'] = env['SIMVQ_PRETRAINED_DIR'] ?? join(tmpdir(), 'simvq-audio-tests-no-models');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: repositoryRoot, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Exit 2, nothing on stdout, one stderr line `simvq-audio: ...` mentioning each of `mentions`. */
export function expectOneLineError(result: CliRun, ...mentions: string[]): void {
  expect(result.code, result.stderr).to.equal(2);
  expect(result.stdout).to.equal('');
  const lines = result.stderr.replace(/\n$/, '').split('\n');
  expect(lines, result.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^simvq-audio: /);
  for (const mention of mentions) expect(lines[0]).to.include(mention);
}
