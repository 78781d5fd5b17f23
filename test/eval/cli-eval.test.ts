/** `simvq-audio eval` as users run it: bad input is one line naming the file, exit 2, and no report. */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { runCli } from '../helpers/cli.js';

import { encodeWav } from '../../src/audio/index.js';
import type { EvalReport } from '../../src/eval/index.js';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import { SPEECH_PATH } from './signals.js';
import { codecToolsAvailable } from './tools.js';

const run = (args: string[]) => runCli(args);

describe('simvq-audio eval', function () {
  this.timeout(60_000);
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simvq-cli-eval-'));
    await mkdir(join(dir, 'data'));
    await copyFile(SPEECH_PATH, join(dir, 'data', 'speech.wav'));
    await mkdir(join(dir, 'bad'));
    await writeFile(join(dir, 'bad', 'notes.wav'), 'these are notes, not audio');
    await mkdir(join(dir, 'short'));
    await writeFile(join(dir, 'short', 'click.wav'), encodeWav(new Float32Array(500).fill(0.1), 16_000, 'pcm16'));
    const g = new OnnxGraphBuilder('renamed');
    g.addInput('audio', 'float32', ['batch', 'time']);
    g.addNode('ReduceMean', ['audio'], ['score'], { axes: [1], keepdims: 0 });
    g.addOutput('score', 'float32', ['batch']);
    await writeFile(join(dir, 'renamed.onnx'), g.toModelBytes());
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const badInputs: Array<[string, (d: string) => string[], (d: string) => string]> = [
    ['a missing data directory', (d) => ['--data', `dir:${join(d, 'nope')}`], (d) => `${join(d, 'nope')}: --data: file not found`],
    ['a .wav that is not a WAV', (d) => ['--data', join(d, 'bad')], (d) => join(d, 'bad', 'notes.wav')],
    ['a WAV too short to score', (d) => ['--data', join(d, 'short')], (d) => `${join(d, 'short', 'click.wav')}: too short to evaluate: 500 samples`],
    ['a missing UTMOS model', (d) => ['--data', join(d, 'data'), '--utmos', join(d, 'none.onnx')], (d) => `${join(d, 'none.onnx')}: UTMOS model: file not found`],
    ['a UTMOS model with the wrong names', (d) => ['--data', join(d, 'data'), '--utmos', join(d, 'renamed.onnx')], (d) => `${join(d, 'renamed.onnx')}: not a UTMOS model`],
    ['a missing DNSMOS model', (d) => ['--data', join(d, 'data'), '--dnsmos', join(d, 'none.onnx')], (d) => `${join(d, 'none.onnx')}: DNSMOS model: file not found`],
    ['a model directory that does not exist', (d) => ['--data', join(d, 'data'), '--model', join(d, 'no-model')], (d) => `${join(d, 'no-model')}: no such model directory`],
    ['an unknown baseline', (d) => ['--data', join(d, 'data'), '--baselines', 'mp3'], () => "--baselines: unknown baseline 'mp3'"],
  ];
  for (const [what, args, message] of badInputs) {
    it(`answers ${what} with one line, exit 2, and writes no report`, async () => {
      const out = join(dir, `out-${what.replace(/\W+/g, '-')}`);
      const result = await run(['eval', ...args(dir), '--out', out, '--baselines', args(dir).includes('--baselines') ? 'mp3' : 'opus-6k', '--no-progress']);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr.trimEnd().split('\n'), result.stderr).to.have.length(1);
      expect(result.stderr).to.include(message(dir));
      const report = await readFile(join(out, 'report.json')).catch(() => null);
      expect(report).to.equal(null);
    });
  }

  it('scores the rest when one file is bad: the report lists it with its problem, and the log says it was skipped', async function () {
    if (!codecToolsAvailable()) this.skip();
    const mixed = join(dir, 'mixed');
    await mkdir(mixed);
    await copyFile(SPEECH_PATH, join(mixed, 'a-speech.wav'));
    await writeFile(join(mixed, 'b-broken.wav'), 'RIFF and then nothing useful');
    const out = join(dir, 'out-mixed');
    const result = await run(['eval', '--data', mixed, '--out', out, '--baselines', 'opus-6k', '--no-progress']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stderr).to.include(`${join(mixed, 'b-broken.wav')}: `).and.include('; skipped');
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as EvalReport;
    expect(report.utterances.map((u) => u.id)).to.deep.equal(['a-speech']);
    expect(report.skipped.map((u) => u.id)).to.deep.equal(['b-broken']);
    expect(report.skipped[0]!.problem).to.match(/truncated|not a WAV/);
    expect(await readFile(join(out, 'report.md'), 'utf8')).to.include('Skipped (not scored)');
  });

  it('leaves no cache folder behind when nothing could be scored', async () => {
    const out = join(dir, 'out-nothing');
    const result = await run(['eval', '--data', join(dir, 'bad'), '--out', out, '--baselines', 'opus-6k', '--no-progress']);
    expect(result.code).to.equal(2);
    expect(await readdir(out).catch(() => [])).to.deep.equal([]);
  });

  it('writes a baselines-only report that says so and shows no UTMOS number', async function () {
    if (!codecToolsAvailable()) this.skip();
    const out = join(dir, 'out');
    const noModels = join(dir, 'no-models');
    await mkdir(noModels, { recursive: true });
    const result = await runCli(['eval', '--data', `dir:${join(dir, 'data')}`, '--out', out, '--baselines', 'opus-6k', '--no-progress'], { SIMVQ_PRETRAINED_DIR: noModels });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.equal(`evaluated 1 systems on 1 utterances: ${join(out, 'report.md')}\n`);
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).to.include('No --model was given and no default model is installed');
    expect(markdown).to.include('UTMOS was not computed').and.not.include('UTMOS ↑');
    const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as EvalReport;
    expect(json.systems.map((s) => [s.system, s.utmos])).to.deep.equal([['opus-6k', null]]);
    expect(json.systems[0].stoi).to.be.within(0.5, 1);
  });

  it('scores a model directory beside a baseline: bitrate from the written .svq files, code usage, STOI', async function () {
    if (!codecToolsAvailable()) this.skip();
    const { exportTinyModel, tinyRuntimeConfig } = await import('../runtime/fixtures.js');
    const { initEngine } = await import('../../src/engine/index.js');
    await initEngine({ backend: 'wasm+onnxruntime' });
    const exported = await exportTinyModel(tinyRuntimeConfig(), 3);
    exported.model.dispose();
    const out = join(dir, 'out-model');
    const result = await run(['eval', '--data', `dir:${join(dir, 'data')}`, '--out', out, '--model', exported.directory, '--baselines', 'opus-6k', '--no-progress']);
    expect(result.code, result.stderr).to.equal(0);
    const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as EvalReport;
    const model = json.systems.find((s) => s.system.startsWith('model-tiny-runtime-'));
    expect(model, JSON.stringify(json.systems.map((s) => s.system))).to.not.equal(undefined);
    // 400 tokens/s of 6 bits (K = 64) is 2400 bit/s; the .svq header (~200 bytes of JSON) adds ~300 bit/s on this ~4 s utterance.
    expect(model!.bitrate).to.be.within(2400, 2900);
    expect(model!.utilization).to.be.within(0, 1);
    expect(model!.stoi).to.be.a('number');
    expect(await readFile(join(out, 'report.md'), 'utf8')).to.not.include('No --model was given');
    await rm(join(exported.directory, '..'), { recursive: true, force: true });
  });
});
