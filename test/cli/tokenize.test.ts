/**
 * `simvq-audio tokenize`, `tokenize merge` and `detokenize` end to end on a
 * tiny exported model: byte-identical shards however the work is split,
 * resuming after an interrupt, bad files skipped and counted, and the tokens
 * the Codec gives.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { expect } from 'chai';

import { encodeWav, readWav } from '../../src/audio/index.js';
import { initEngine } from '../../src/engine/index.js';
import { Codec } from '../../src/runtime/codec.js';
import { TokenCorpus } from '../../src/tokenize/index.js';
import { expectOneLineError, runCli } from '../helpers/cli.js';
import { exportTinyModel, tinyRuntimeConfig } from '../runtime/fixtures.js';

/** Debian's python3 when it has numpy (python3-numpy), else the first python3 on PATH that has it. */
function pythonWithNumpy(): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import numpy'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  }
  return null;
}

describe('cli: tokenize', function () {
  this.timeout(300_000);
  let scratch: string;
  let model: string;
  let data: string;

  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const exported = await exportTinyModel(tinyRuntimeConfig(), 3);
    exported.model.dispose();
    model = exported.directory;
    scratch = mkdtempSync(join(tmpdir(), 'simvq-tokenize-'));
    data = join(scratch, 'data');
    mkdirSync(join(data, 'spk1'), { recursive: true });
    mkdirSync(join(data, 'spk2'), { recursive: true });
    const speech = (await readWav('samples/speech-16k.wav')).samples;
    // Nine utterances of 0.6-1.4 s, and one file that is not a WAV.
    for (let i = 0; i < 9; i++) {
      const length = 9600 + 1600 * (i % 5);
      writeFileSync(join(data, `spk${1 + (i % 2)}`, `utt${i}.wav`), encodeWav(speech.slice(i * 4000, i * 4000 + length), 16000, 'pcm16'));
    }
    writeFileSync(join(data, 'spk2', 'broken.wav'), 'not a wav file at all, only text');
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(dirname(model), { recursive: true, force: true });
  });

  const shardFiles = (directory: string) => readdirSync(directory).filter((name) => name.startsWith('shard-')).sort();

  it('writes shards that merge, read back as the Codec encodes, and are the same when split over machines', async () => {
    const whole = join(scratch, 'whole');
    const run = await runCli(['tokenize', `dir:${data}`, '--out', whole, '--model', model, '--workers', '2', '--shard-seconds', '3']);
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { shardsWritten: number; utterances: number; skippedFiles: number };
    // The folder loader already skips the file that is not a WAV (and says so).
    expect(summary.utterances).to.equal(9);
    expect(run.stderr).to.include('broken.wav');
    // ... and counts it, and the merged index lists it with its problem.
    expect(summary.skippedFiles).to.equal(1);
    expect(run.stdout).to.include('1 file skipped');
    const merged = await runCli(['tokenize', 'merge', whole]);
    expect(merged.code, merged.stderr).to.equal(0);
    const index = JSON.parse(readFileSync(join(whole, 'index.json'), 'utf8')) as { skipped: { id: string; path: string; problem: string }[] };
    expect(index.skipped).to.have.length(1);
    expect(index.skipped[0]).to.include({ id: 'broken', path: join(data, 'spk2', 'broken.wav') });
    expect(index.skipped[0]!.problem).to.match(/not a WAV file/);

    const codec = await Codec.load(model);
    const corpus = await TokenCorpus.open(whole);
    let count = 0;
    for await (const utterance of corpus.utterances()) {
      const expected = await codec.encodeWavFile(join(data, `${utterance.id}.wav`));
      expect(utterance.tokens, utterance.id).to.deep.equal(expected.codes);
      count++;
    }
    expect(count).to.equal(9);
    await codec.dispose();

    // Two "machines", each half the shards, give the same bytes.
    const split = join(scratch, 'split');
    for (const part of ['0/2', '1/2']) {
      const half = await runCli(['tokenize', `dir:${data}`, '--out', split, '--model', model, '--workers', '1', '--shard-seconds', '3', '--shard', part]);
      expect(half.code, half.stderr).to.equal(0);
    }
    expect((await runCli(['tokenize', 'merge', split])).code).to.equal(0);
    expect(shardFiles(split)).to.deep.equal(shardFiles(whole));
    for (const name of [...shardFiles(whole), 'manifest.jsonl', 'index.json']) {
      expect(readFileSync(join(split, name)).equals(readFileSync(join(whole, name))), name).to.equal(true);
    }
  });

  it('the README\'s Python reader (examples/read_tokens.py, numpy alone) reads every utterance as TokenCorpus does', async function () {
    const python = pythonWithNumpy();
    if (python === null) {
      if (process.env['SIMVQ_REQUIRE_CODEC_TOOLS'] === '1') expect.fail('no python3 with numpy (Debian: python3-numpy)');
      this.skip();
    }
    const script = readFileSync('examples/read_tokens.py', 'utf8');
    expect(readFileSync('README.md', 'utf8'), 'the README shows the script as it is').to.include(script);
    const whole = join(scratch, 'whole');
    const printed = execFileSync(python, ['examples/read_tokens.py', whole], { encoding: 'utf8' }).trim().split('\n');
    const corpus = await TokenCorpus.open(whole);
    const expected: string[] = [];
    for await (const utterance of corpus.utterances()) expected.push(`${utterance.id} ${utterance.tokens.length} ${Array.from(utterance.tokens.subarray(0, 8)).join(' ')}`);
    expect(printed).to.deep.equal(expected);
  });

  it('after an interrupt, a rerun redoes only the unfinished shard; merge names a missing one', async () => {
    const out = join(scratch, 'resume');
    const args = ['tokenize', `dir:${data}`, '--out', out, '--model', model, '--workers', '1', '--shard-seconds', '3'];
    expect((await runCli(args)).code).to.equal(0);
    const indexFiles = shardFiles(out).filter((name) => name.endsWith('.idx'));
    expect(indexFiles.length).to.be.at.least(2);
    // As if the run stopped while writing shard 1: its index never landed.
    unlinkSync(join(out, indexFiles[1]!));
    const missing = await runCli(['tokenize', 'merge', out]);
    expectOneLineError(missing, 'shard 1 of', 'missing or incomplete');
    const rerun = await runCli(args);
    expect(rerun.code, rerun.stderr).to.equal(0);
    const summary = JSON.parse(rerun.stdout.trim().split('\n').at(-1)!) as { shardsWritten: number; shardsAlreadyWhole: number };
    expect([summary.shardsWritten, summary.shardsAlreadyWhole]).to.deep.equal([1, indexFiles.length - 1]);
    expect((await runCli(['tokenize', 'merge', out])).code).to.equal(0);
  });

  it('detokenizes an utterance to the audio Codec.decode gives, and refuses another model naming both', async () => {
    const out = join(scratch, 'detok');
    expect((await runCli(['tokenize', `dir:${data}`, '--out', out, '--model', model, '--workers', '1'])).code).to.equal(0);
    expect((await runCli(['tokenize', 'merge', out])).code).to.equal(0);
    const wavs = join(scratch, 'wavs');
    const run = await runCli(['detokenize', out, '--id', 'spk1/utt2', '--out-dir', wavs, '--model', model]);
    expect(run.code, run.stderr).to.equal(0);
    const written = (await readWav(join(wavs, 'spk1__utt2.wav'))).samples;
    const codec = await Codec.load(model);
    const expected = await codec.decode(await codec.encodeWavFile(join(data, 'spk1', 'utt2.wav')));
    await codec.dispose();
    expect(written.length).to.equal(expected.length);
    let worst = 0;
    for (let i = 0; i < written.length; i++) worst = Math.max(worst, Math.abs(written[i]! - expected[i]!));
    expect(worst).to.be.below(2 / 32768); // 16-bit output

    // An unknown id among known ones: refused before any file is written.
    const partial = join(scratch, 'partial');
    const unknown = await runCli(['detokenize', out, '--id', 'spk1/utt2', '--id', 'spk9/none', '--out-dir', partial, '--model', model]);
    expectOneLineError(unknown, 'spk9/none');
    expect(existsSync(partial)).to.equal(false);

    const other = await exportTinyModel(tinyRuntimeConfig({ name: 'tiny-other' }), 4);
    other.model.dispose();
    const refused = await runCli(['detokenize', out, '--id', 'spk1/utt2', '--out-dir', wavs, '--model', other.directory, '--force']);
    expectOneLineError(refused, 'tiny-runtime', 'tiny-other');
    rmSync(dirname(other.directory), { recursive: true, force: true });
  });
});
