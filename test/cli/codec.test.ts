/**
 * `simvq-audio encode | decode | roundtrip | export` on files, as users run
 * them: outputs and their names, a token file from another model, and bad
 * input answered with one line, exit code 2 and no output written.
 */
import { copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { expect } from 'chai';

import { readWav } from '../../src/audio/index.js';
import { initEngine } from '../../src/engine/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { AdamW } from '../../src/train/optimizer.js';
import { CodecModel } from '../../src/codec/model.js';
import { decodeSvq } from '../../src/tokens/svq.js';
import { buildWav, floatBytes, pcmBytes } from '../audio/wav-fixtures.js';
import { expectOneLineError, runCli } from '../helpers/cli.js';
import { exportTinyModel, perturb, tinyRuntimeConfig } from '../runtime/fixtures.js';

describe('simvq-audio encode / decode / roundtrip / export', function () {
  this.timeout(120_000);
  let scratch: string;
  let model: string;
  let otherModel: string;
  let speech: string;

  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    scratch = mkdtempSync(join(tmpdir(), 'simvq-cli-codec-'));
    const first = await exportTinyModel(tinyRuntimeConfig(), 3);
    const second = await exportTinyModel(tinyRuntimeConfig({ name: 'tiny-other' }), 4);
    model = first.directory;
    otherModel = second.directory;
    first.model.dispose();
    second.model.dispose();
    speech = join(scratch, 'speech.wav');
    copyFileSync('samples/speech-16k.wav', speech);
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
    for (const directory of [model, otherModel]) rmSync(dirname(directory), { recursive: true, force: true });
  });

  it('encode writes NAME.svq beside the input, decode NAME.decoded.wav; the .svq size is the bitrate', async () => {
    const encoded = await runCli(['encode', speech, '--model', model]);
    expect(encoded.code, encoded.stderr).to.equal(0);
    const svqPath = join(scratch, 'speech.svq');
    const svq = decodeSvq(readFileSync(svqPath), svqPath);
    expect(svq.header).to.include({ modelId: 'tiny-runtime', sampleRate: 16000, frameRate: 400, codebookSize: 64, originalLength: 64836, frameCount: 1621 });
    // 6 bits a token: the codes take ceil(1621 · 6 / 8) bytes of the file.
    expect(statSync(svqPath).size - Math.ceil((1621 * 6) / 8)).to.be.below(300);
    const decoded = await runCli(['decode', svqPath, '--model', model]);
    expect(decoded.code, decoded.stderr).to.equal(0);
    const audio = await readWav(join(scratch, 'speech.decoded.wav'));
    expect([audio.sampleRate, audio.samples.length]).to.deep.equal([16000, 64836]);
    expect(decoded.stdout).to.include('speech.decoded.wav');
  });

  it('several inputs into --out-dir, as JSON and .npy; -o with several inputs is refused', async () => {
    const second = join(scratch, 'second.wav');
    copyFileSync(speech, second);
    const outDir = join(scratch, 'tokens');
    mkdirSync(outDir);
    const json = await runCli(['encode', speech, second, '--out-dir', outDir, '--format', 'json', '--model', model]);
    expect(json.code, json.stderr).to.equal(0);
    const tokens = JSON.parse(readFileSync(join(outDir, 'second.json'), 'utf8')) as { header: { frameCount: number }; codes: number[] };
    expect(tokens.codes).to.have.length(tokens.header.frameCount);
    const npy = await runCli(['encode', speech, '--out-dir', outDir, '--format', 'npy', '--model', model]);
    expect(npy.code, npy.stderr).to.equal(0);
    expect(readFileSync(join(outDir, 'speech.npy')).length).to.equal(128 + 4 * 1621);
    // The JSON tokens decode like .svq ones.
    const decoded = await runCli(['decode', join(outDir, 'speech.json'), join(outDir, 'second.json'), '--out-dir', outDir, '--model', model]);
    expect(decoded.code, decoded.stderr).to.equal(0);
    expect(existsSync(join(outDir, 'second.decoded.wav'))).to.equal(true);
    expectOneLineError(await runCli(['encode', speech, second, '-o', join(scratch, 'x.svq'), '--model', model]), '-o', '2 inputs', '--out-dir');
    expectOneLineError(await runCli(['decode', join(outDir, 'speech.npy'), '-o', join(scratch, 'npy.wav'), '--model', model]), 'speech.npy', 'without the model header');
  });

  it('roundtrip -o writes the decoded audio; the tfjs engine gives the same file', async () => {
    const onnx = join(scratch, 'rt-onnx.wav');
    const tfjs = join(scratch, 'rt-tfjs.wav');
    const a = await runCli(['roundtrip', speech, '-o', onnx, '--model', model]);
    expect(a.code, a.stderr).to.equal(0);
    expect(a.stdout).to.match(/1621 tokens, 4\.05 s, \d+ bit\/s/);
    const b = await runCli(['roundtrip', speech, '-o', tfjs, '--model', model, '--engine', 'tfjs']);
    expect(b.code, b.stderr).to.equal(0);
    const [x, y] = [(await readWav(onnx)).samples, (await readWav(tfjs)).samples];
    let differing = 0;
    for (let i = 0; i < x.length; i++) if (Math.abs(x[i]! - y[i]!) > 2 / 32768) differing++;
    expect(differing / x.length).to.be.below(0.001);
  });

  it('a token file from another model is refused, naming both models, and nothing is written', async () => {
    const svqPath = join(scratch, 'speech.svq');
    if (!existsSync(svqPath)) expect((await runCli(['encode', speech, '--model', model])).code).to.equal(0);
    const out = join(scratch, 'other.wav');
    const result = await runCli(['decode', svqPath, '-o', out, '--model', otherModel]);
    expectOneLineError(result, svqPath, 'tiny-runtime', 'tiny-other', 'cannot be decoded');
    expect(existsSync(out)).to.equal(false);
  });

  it('export makes a model directory from a training run checkpoint (latest or --step)', async () => {
    const run = join(scratch, 'run');
    mkdirSync(run);
    const config = tinyRuntimeConfig({ name: 'tiny-trained' });
    writeFileSync(join(run, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const codec = new CodecModel(config, 7);
    perturb(codec.parameters, 8);
    const optimizer = new AdamW(codec.parameters.named(), { learningRate: 0.01 });
    await saveCheckpoint(run, { generator: { parameters: codec.parameters, optimizer } }, { step: 40 });
    codec.dispose();
    const out = join(scratch, 'exported');
    const result = await runCli(['export', '--checkpoint', run, '--out', out]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/model tiny-trained \(hash [0-9a-f]{16}\) from .*step-00000040 \(step 40\): encoder\.onnx, decoder\.onnx/);
    const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { source: { step: number } };
    expect(manifest.source.step).to.equal(40);
    expect((await runCli(['roundtrip', speech, '-o', join(scratch, 'exported.wav'), '--model', out])).code).to.equal(0);
    expectOneLineError(await runCli(['export', '--checkpoint', run, '--out', out]), out, 'exists', '--force');
    expectOneLineError(await runCli(['export', '--checkpoint', run, '--step', '7', '--out', join(scratch, 'e2')]), run, 'no checkpoint for step 7');
    expectOneLineError(await runCli(['export', '--checkpoint', join(scratch, 'nope'), '--out', join(scratch, 'e3')]), 'nope', 'no such training run');
    expect(existsSync(join(scratch, 'e2')) || existsSync(join(scratch, 'e3'))).to.equal(false);
  });

  describe('bad input: one line naming the file, exit code 2, no output', () => {
    const cases: { name: string; file: string; bytes: () => Uint8Array; mentions: string[]; command?: string }[] = [
      { name: 'not a WAV', file: 'text.wav', bytes: () => Buffer.from('hello, not audio\n'), mentions: ['not a WAV file'] },
      { name: 'a truncated (lying) header', file: 'truncated.wav', bytes: () => buildWav({ bitsPerSample: 16, data: pcmBytes([1, 2, 3, 4], 16), dataSize: 4000 }), mentions: ['truncated'] },
      { name: 'zero-length audio', file: 'empty.wav', bytes: () => buildWav({ bitsPerSample: 16, data: new Uint8Array(0) }), mentions: ['no audio'] },
      { name: 'NaN samples', file: 'nan.wav', bytes: () => buildWav({ formatCode: 3, bitsPerSample: 32, data: floatBytes([0, 0.5, Number.NaN, 0.1], 32) }), mentions: ['NaN'] },
      { name: 'a corrupt token file', file: 'corrupt.svq', command: 'decode', bytes: () => Buffer.from('SVQ\0\x01\x00\x02\x00\x00\x00{}xxxx', 'latin1'), mentions: ['header field'] },
      {
        name: 'tokens out of range',
        file: 'range.json',
        command: 'decode',
        bytes: () => Buffer.from(JSON.stringify({ header: { modelId: 'tiny-runtime', modelHash: 'x', sampleRate: 16000, frameRate: 400, codebookSize: 64, frameCount: 2, originalLength: 80 }, codes: [1, -3] })),
        mentions: ['code -3 at frame 1'],
      },
      {
        name: 'a JSON header with a codebook size that is not a number',
        file: 'string-k.json',
        command: 'decode',
        bytes: () => Buffer.from(JSON.stringify({ header: { modelId: 'tiny-runtime', modelHash: 'x', sampleRate: 16000, frameRate: 400, codebookSize: '64', frameCount: 2, originalLength: 80 }, codes: [1, 3] })),
        mentions: ['codebookSize must be an integer'],
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const input = join(scratch, c.file);
        writeFileSync(input, c.bytes());
        const out = join(scratch, `${c.file}.out`);
        const result = await runCli([c.command ?? 'encode', input, '-o', out, '--model', model]);
        expectOneLineError(result, input, ...c.mentions);
        expect(existsSync(out)).to.equal(false);
      });
    }

    it('one bad file among several: nothing is written for any of them', async () => {
      const bad = join(scratch, 'bad-second.wav');
      writeFileSync(bad, 'not audio');
      const outDir = join(scratch, 'batch-out');
      mkdirSync(outDir);
      expectOneLineError(await runCli(['encode', speech, bad, '--out-dir', outDir, '--model', model]), bad, 'not a WAV file');
      expect(existsSync(join(outDir, 'speech.svq'))).to.equal(false);
    });

    it('an existing output without --force; with --force it is replaced', async () => {
      const out = join(scratch, 'exists.svq');
      writeFileSync(out, 'keep me');
      expectOneLineError(await runCli(['encode', speech, '-o', out, '--model', model]), out, 'exists', '--force');
      expect(readFileSync(out, 'utf8')).to.equal('keep me');
      expect((await runCli(['encode', speech, '-o', out, '--model', model, '--force'])).code).to.equal(0);
      expect(readFileSync(out).subarray(0, 3).toString()).to.equal('SVQ');
    });

    it('--force never replaces an input, whatever path, symlink or hard link names it; a missing -o folder is refused before the model loads', async () => {
      const folder = join(scratch, 'own');
      mkdirSync(folder, { recursive: true });
      const input = join(folder, 'x.wav');
      copyFileSync(speech, input);
      const original = readFileSync(input);
      symlinkSync(input, join(folder, 'link.wav'));
      linkSync(input, join(folder, 'hard.wav'));
      for (const output of [join(folder, '..', 'own', 'x.wav'), join(folder, 'link.wav'), join(folder, 'hard.wav')]) {
        const result = await runCli(['roundtrip', input, '-o', output, '--force', '--model', model]);
        expectOneLineError(result, 'x.wav');
        expect(result.stderr).to.match(/is also an input|is the input .* under another name/);
      }
      expect(readFileSync(input).equals(original)).to.equal(true);
      // A missing folder is named at once (no model: a load would fail differently).
      const missing = join(scratch, 'no-such-folder', 'out.wav');
      expectOneLineError(await runCli(['roundtrip', input, '-o', missing, '--model', join(scratch, 'no-model')]), missing, 'folder', 'does not exist');
      // --out-dir makes its folder.
      const made = join(scratch, 'made', 'deeper');
      const encoded = await runCli(['encode', input, '--out-dir', made, '--model', model]);
      expect(encoded.code, encoded.stderr).to.equal(0);
      expect(existsSync(join(made, 'x.svq'))).to.equal(true);
    });

    it('no model named and no default model installed: says so and how to name one', async () => {
      const empty = join(scratch, 'no-models');
      mkdirSync(empty, { recursive: true });
      const result = await runCli(['encode', speech, '-o', join(scratch, 'default.svq')], { SIMVQ_PRETRAINED_DIR: empty });
      expectOneLineError(result, 'no default model is installed yet', '--model DIR', 'simvq-audio export');
    });

    it('no model named: the default model (speech-16k-0.9kbps under the models directory); a bare name is looked up there', async () => {
      const models = join(scratch, 'models');
      mkdirSync(models, { recursive: true });
      cpSync(model, join(models, 'speech-16k-0.9kbps'), { recursive: true });
      cpSync(model, join(models, 'another'), { recursive: true });
      const env = { SIMVQ_PRETRAINED_DIR: models };
      for (const [name, args] of [['default', []], ['named', ['--model', 'another']]] as const) {
        const out = join(scratch, `${name}.svq`);
        const result = await runCli(['encode', speech, '-o', out, ...args], env);
        expect(result.code, result.stderr).to.equal(0);
        // The header names the model the tokens came from: the tiny test model, found by name.
        expect(readFileSync(out).toString('latin1')).to.include('tiny-runtime');
      }
    });

    it('a model directory whose weights were changed after export', async () => {
      const copy = join(scratch, 'tampered');
      mkdirSync(copy);
      for (const file of ['model.json', 'config.json', 'model.safetensors', 'encoder.onnx', 'decoder.onnx']) copyFileSync(join(model, file), join(copy, file));
      const weights = readFileSync(join(copy, 'model.safetensors'));
      weights[weights.length - 2] ^= 0x40;
      writeFileSync(join(copy, 'model.safetensors'), weights);
      expectOneLineError(await runCli(['encode', speech, '-o', join(scratch, 't.svq'), '--model', copy]), copy, 'changed after export');
    });
  });
});
