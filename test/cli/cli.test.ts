/**
 * The `simvq-audio` command, run as users run it: `node bin/simvq-audio.js ...`
 * against the compiled dist/ (npm test builds first).
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { cliScript, expectOneLineError, repositoryRoot, runCli } from '../helpers/cli.js';

const root = repositoryRoot;
const bin = cliScript;
const sample = join('samples', 'speech-16k.wav');
const rungNames = ['tfjs-node-gpu', 'tfjs-node', 'wasm+onnxruntime', 'wasm', 'cpu'];

const run = runCli;

/** stderr as lines, without the final newline. */
function lines(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

describe('simvq-audio CLI', function () {
  this.timeout(120_000);

  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-cli-'));
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('--version prints the version in package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const result = await run(['--version']);
    expect(result.code).to.equal(0);
    expect(result.stdout.trim()).to.equal(pkg.version);
  });

  it('--help lists the commands and the global options', async () => {
    const result = await run(['--help']);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/Usage: simvq-audio/);
    expect(result.stdout).to.match(/Commands:[\s\S]*\binfo\b/);
    expect(result.stdout).to.include('--backend');
    expect(result.stdout).to.include('SIMVQ_BACKEND');
  });

  it('info names every rung of the backend ladder and marks the chosen one', async () => {
    const result = await run(['info']);
    expect(result.code, result.stderr).to.equal(0);
    for (const name of rungNames) expect(result.stdout).to.include(name);
    expect(result.stdout).to.match(/^engine: \S+/m);
    expect(result.stdout).to.match(/^ {2}\* \S+/m);
    expect(result.stdout).to.match(/^threads: /m);
    expect(result.stdout).to.match(/^versions: node /m);
    // The tests' own models directory is empty (test/helpers/cli.ts).
    expect(result.stdout).to.match(/^default model: none \(.* does not exist\)$/m);
  });

  it('info names the default model, its hash and where it is', async function () {
    this.timeout(60_000);
    const { exportTinyModel } = await import('../runtime/fixtures.js');
    const { initEngine } = await import('../../src/engine/index.js');
    await initEngine({ backend: 'wasm+onnxruntime' });
    const { model, directory } = await exportTinyModel();
    const models = mkdtempSync(join(tmpdir(), 'simvq-info-models-'));
    try {
      cpSync(directory, join(models, 'speech-16k-0.9kbps'), { recursive: true });
      const result = await run(['info'], { SIMVQ_PRETRAINED_DIR: models });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(new RegExp(`^default model: tiny-runtime \\(hash [0-9a-f]{16}\\) in ${join(models, 'speech-16k-0.9kbps')}$`, 'm'));
    } finally {
      model.dispose();
      rmSync(models, { recursive: true, force: true });
      rmSync(join(directory, '..'), { recursive: true, force: true });
    }
  });

  it('info --json prints one object with the engine report', async () => {
    const result = await run(['info', '--json']);
    expect(result.code, result.stderr).to.equal(0);
    const report = JSON.parse(result.stdout) as {
      version: string;
      engine: {
        backend: string;
        tfjsBackend: string;
        requested: string;
        rungs: { name: string; available: boolean; chosen: boolean; reason: string }[];
        threads: { onnxruntimeIntraOp: number | null; wasm: number };
        versions: Record<string, string>;
      };
      files: unknown[];
    };
    const { engine } = report;
    expect(engine.requested).to.equal('auto');
    expect(engine.rungs.map((rung) => rung.name)).to.deep.equal(rungNames);
    for (const rung of engine.rungs) {
      expect(rung.available).to.be.a('boolean');
      expect(rung.chosen).to.be.a('boolean');
      expect(rung.reason).to.be.a('string').that.is.not.empty;
    }
    const chosen = engine.rungs.filter((rung) => rung.chosen);
    expect(chosen).to.have.length(1);
    expect(chosen[0]!.name).to.equal(engine.backend);
    expect(chosen[0]!.available).to.equal(true);
    expect(engine.tfjsBackend).to.be.a('string').that.is.not.empty;
    expect(engine.threads.wasm).to.be.a('number');
    expect(engine.threads.onnxruntimeIntraOp === null || typeof engine.threads.onnxruntimeIntraOp === 'number').to.equal(true);
    expect(engine.versions['node']).to.equal(process.versions.node);
    expect(engine.versions).to.have.property('@tensorflow/tfjs');
    expect(report.files).to.deep.equal([]);
  });

  it('info FILE describes the sample WAV', async () => {
    const result = await run(['info', sample]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include(sample);
    expect(result.stdout).to.include('16000 Hz, 1 channel, 16-bit');
    expect(result.stdout).to.match(/duration: 4\.05\d s \(64836 frames\)/);
    expect(result.stdout).to.match(/peak -\d+\.\d dBFS, RMS -\d+\.\d dBFS/);
  });

  it('info --json FILE gives the format and levels as numbers', async () => {
    const result = await run(['info', '--json', sample]);
    expect(result.code, result.stderr).to.equal(0);
    const report = JSON.parse(result.stdout) as { files: Record<string, unknown>[] };
    expect(report.files).to.have.length(1);
    const file = report.files[0]!;
    expect(file).to.include({ path: sample, sampleRate: 16000, channels: 1, bitDepth: '16', frames: 64836 });
    expect(file['durationSeconds']).to.be.closeTo(4.05225, 1e-6);
    // sox stat on the sample: maximum amplitude 0.7726, RMS 0.0913
    expect(file['peakDbfs']).to.be.closeTo(-2.24, 0.05);
    expect(file['rmsDbfs']).to.be.closeTo(-20.79, 0.05);
  });

  it('a file that is not a WAV: exit 2, one stderr line naming the file', async () => {
    const notWav = join(scratch, 'notes.txt');
    writeFileSync(notWav, 'these are not samples\n'.repeat(10));
    expectOneLineError(await run(['info', notWav]), notWav);
  });

  it('a missing file: exit 2, one stderr line naming the file', async () => {
    const missing = join(scratch, 'no-such-file.wav');
    expectOneLineError(await run(['info', missing]), missing);
  });

  it('a directory given as a file: exit 2, one line', async () => {
    expectOneLineError(await run(['info', scratch]), scratch);
  });

  it('--backend bogus: exit 2, one line', async () => {
    expectOneLineError(await run(['--backend', 'bogus', 'info']), '--backend', 'bogus');
  });

  it('SIMVQ_BACKEND=bogus: exit 2, one line naming the variable', async () => {
    expectOneLineError(await run(['info'], { SIMVQ_BACKEND: 'bogus' }), 'SIMVQ_BACKEND', 'bogus');
  });

  it('an unknown command or option: exit 2, one line', async () => {
    expectOneLineError(await run(['frobnicate']), 'frobnicate');
    expectOneLineError(await run(['info', '--frobnicate']), '--frobnicate');
  });

  it('SIMVQ_BACKEND=cpu selects the cpu rung', async () => {
    const result = await run(['info', '--json'], { SIMVQ_BACKEND: 'cpu' });
    expect(result.code, result.stderr).to.equal(0);
    const report = JSON.parse(result.stdout) as { engine: { backend: string; tfjsBackend: string; requested: string } };
    expect(report.engine).to.include({ backend: 'cpu', tfjsBackend: 'cpu', requested: 'cpu' });
  });

  it('--backend overrides SIMVQ_BACKEND, before or after the command', async () => {
    for (const args of [['--backend', 'cpu', 'info', '--json'], ['info', '--json', '--backend', 'cpu']]) {
      const result = await run(args, { SIMVQ_BACKEND: 'wasm' });
      expect(result.code, result.stderr).to.equal(0);
      const report = JSON.parse(result.stdout) as { engine: { backend: string } };
      expect(report.engine.backend).to.equal('cpu');
    }
  });

  it('info --preset shows the bitrate computed from the preset', async () => {
    const result = await run(['info', '--json', '--preset', 'speech-16k-0.9kbps', '--preset', 'libritts-24k-0.9kbps']);
    expect(result.code, result.stderr).to.equal(0);
    const report = JSON.parse(result.stdout) as { presets: { name: string; bitrate: number; frameRate: number; bitsPerToken: number; causal: boolean }[] };
    expect(report.presets.map((p) => [p.name, p.frameRate, p.bitsPerToken, p.bitrate, p.causal])).to.deep.equal([
      ['speech-16k-0.9kbps', 50, 18, 900, true],
      ['libritts-24k-0.9kbps', 75, 12, 900, false],
    ]);
    const text = await run(['info', '--preset', 'speech-16k-0.9kbps']);
    expect(text.stdout).to.include('bitrate:   900 bit/s = 50 tokens/s x 18 bits (K = 262144)');
  });

  it('info --preset with an unknown name: exit 2, one line listing the presets', async () => {
    expectOneLineError(await run(['info', '--preset', 'nope']), 'nope', 'speech-16k-0.9kbps');
  });

  it('info --preset with a config that fails its schema: exit 2, one line naming the field', async () => {
    const config = JSON.parse(readFileSync(join(root, 'codec', 'presets', 'speech-16k-0.9kbps.json'), 'utf8')) as { quantizer: { codebookSize: number } };
    config.quantizer.codebookSize = 1;
    const file = join(scratch, 'bad-preset.json');
    writeFileSync(file, JSON.stringify(config));
    expectOneLineError(await run(['info', '--preset', file]), 'bad-preset.json', 'quantizer.codebookSize');
  });

  it('the bin shim says to build when dist/ is missing', async () => {
    const unbuilt = join(scratch, 'unbuilt');
    mkdirSync(join(unbuilt, 'bin'), { recursive: true });
    writeFileSync(join(unbuilt, 'package.json'), '{ "type": "module" }\n');
    const shim = join(unbuilt, 'bin', 'simvq-audio.js');
    copyFileSync(bin, shim);
    const result = await run(['--version'], {}, shim);
    expect(result.code).to.equal(1);
    expect(lines(result.stderr)).to.have.length(1);
    expect(result.stderr).to.include('npm run build');
  });
});
