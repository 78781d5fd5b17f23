/**
 * Training end to end on a tiny codec: it learns (a clip is overfitted), the
 * discriminators join when told, and a resumed run repeats the losses of an
 * uninterrupted one exactly.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { encodeWav, readWav } from '../../src/audio/index.js';
import type { CodecConfig } from '../../src/codec/config.js';
import { CodecModel } from '../../src/codec/model.js';
import { initEngine } from '../../src/engine/index.js';
import { DiscriminatorSet, GanStep } from '../../src/train/gan-step.js';
import { initialiseFrom, train } from '../../src/train/trainer.js';
import { exportCheckpoint } from '../../src/export/model-directory.js';
import { InputError } from '../../src/errors.js';
import { writeFileSync } from 'node:fs';

/** hop 40 (strides 2·4·5), 64 codes of dimension 8, a two-block Vocos-style decoder. */
function tinyConfig(overrides: Partial<CodecConfig['training']> = {}): CodecConfig {
  return {
    name: 'tiny',
    description: 'tests',
    sampleRate: 16000,
    causal: true,
    latentDim: 8,
    encoder: { channels: 4, strides: [2, 4, 5], dilations: [1, 3], kernelSize: 7, residualKernelSize: 3, compress: 2, lstmLayers: 0, latentNorm: 'batch' },
    quantizer: { method: 'simvq', codebookSize: 64, beta: 0.25, seed: 0, normalized: true },
    decoder: { type: 'vocos', dim: 32, intermediateDim: 64, layers: 2, kernelSize: 7, nFft: 160 },
    training: {
      batchSize: 2, cropSeconds: 0.1, learningRate: 3e-3, betas: [0.8, 0.99], weightDecay: 0, warmupSteps: 0, totalSteps: 1000,
      maxGradNorm: 100, discriminatorStartStep: 1000, quantizerStartStep: 0, discriminators: ['mpd'],
      lossWeights: { mel: 1, stft: 0, waveform: 1, quantizer: 1, adversarial: 1, featureMatching: 1 },
      ...overrides,
    },
  };
}

/** `count` 0.75 s utterances of the sample, half a second apart, as WAVs in ROOT/speaker/ (a dir: data set). */
function writeSpeechFolder(root: string, speech: Float32Array, count: number): void {
  const folder = join(root, 'speaker');
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(folder, `u${i}.wav`), encodeWav(speech.subarray(i * 8000, i * 8000 + 12000), 16000, 'pcm16'));
}

describe('codec training', function () {
  this.timeout(240_000);
  let speech: Float32Array;
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    speech = (await readWav('samples/speech-16k.wav')).samples;
  });

  it('overfits one clip: the loss falls to under half its start in 100 steps', () => {
    const model = new CodecModel(tinyConfig(), 1);
    const discriminators = new DiscriminatorSet([], 2);
    const gan = new GanStep(model, discriminators);
    const clip = tf.tensor3d(speech.subarray(16000, 16000 + 1600), [1, 1, 1600]);
    const losses: number[] = [];
    for (let i = 0; i < 100; i++) losses.push(gan.run(clip).generatorLoss);
    // Means of the first and last five steps (single steps jitter by ~5 %).
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(95).reduce((a, b) => a + b) / 5;
    expect(last, losses.map((l) => l.toFixed(3)).join(' ')).to.be.below(first / 2);
    clip.dispose();
    discriminators.dispose();
    model.dispose();
  });

  it('turns the discriminators on after their start step and trains them', () => {
    const model = new CodecModel(tinyConfig({ discriminatorStartStep: 1 }), 1);
    const discriminators = new DiscriminatorSet(['mpd'], 2);
    const gan = new GanStep(model, discriminators);
    const clip = tf.tensor3d(speech.subarray(0, 2 * 1600), [2, 1, 1600]);
    const before = gan.run(clip);
    expect(before.discriminatorLoss).to.equal(null);
    expect(before.terms).to.not.have.property('adversarial');
    const after = gan.run(clip);
    expect(after.discriminatorLoss).to.be.a('number');
    expect(after.terms).to.have.property('adversarial');
    expect(after.terms).to.have.property('featureMatching');
    expect(gan.discriminatorOptimizer.step).to.equal(1);
    clip.dispose();
    discriminators.dispose();
    model.dispose();
  });

  it('starts a new run from an exported model\'s weights, and refuses a model of another architecture', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'simvq-init-'));
    try {
      writeSpeechFolder(join(scratch, 'data'), speech, 4);
      const common = { data: `dir:${join(scratch, 'data')}`, logEvery: 1, checkpointEvery: 2, validateEvery: 1000, workers: 0, progress: false, log: () => undefined };
      await train({ ...common, config: tinyConfig(), out: join(scratch, 'first'), resume: false, steps: 2 });
      await exportCheckpoint(join(scratch, 'first'), join(scratch, 'model'));
      // Other training settings are allowed; the weights arrive as exported.
      const fresh = new CodecModel(tinyConfig({ learningRate: 1e-4 }), 7);
      const from = await initialiseFrom(fresh, join(scratch, 'model'));
      expect(from.model_id).to.be.a('string');
      const reference = new CodecModel(tinyConfig(), 0);
      const { readSafetensors } = await import('../../src/nn/safetensors.js');
      reference.parameters.load((await readSafetensors(join(scratch, 'model', 'model.safetensors'))).tensors, 'model.safetensors');
      for (const [name, variable] of reference.parameters.named()) {
        expect(Array.from(fresh.parameters.named().get(name)!.dataSync()), name).to.deep.equal(Array.from(variable.dataSync()));
      }
      const wider = new CodecModel({ ...tinyConfig(), decoder: { ...tinyConfig().decoder, dim: 48 } } as CodecConfig, 0);
      let refused: unknown;
      await initialiseFrom(wider, join(scratch, 'model')).catch((error: unknown) => (refused = error));
      expect(refused).to.be.instanceOf(InputError);
      expect(String(refused)).to.match(/network differs from the preset's/);
      // Through train(): the run's metrics say where its weights came from.
      await train({ ...common, config: tinyConfig(), out: join(scratch, 'second'), resume: false, steps: 1, initFrom: join(scratch, 'model') });
      // A model that cannot be started from is refused before the run directory exists.
      let missing: unknown;
      await train({ ...common, config: tinyConfig(), out: join(scratch, 'never'), resume: false, steps: 1, initFrom: join(scratch, 'no-such-model') }).catch((error: unknown) => (missing = error));
      expect(missing).to.be.instanceOf(InputError);
      expect(existsSync(join(scratch, 'never'))).to.equal(false);
      const records = readFileSync(join(scratch, 'second', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; model_hash?: string });
      expect(records[0]).to.include({ type: 'init', model_hash: from.model_hash });
      for (const model of [fresh, reference, wider]) model.dispose();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('resumes a stopped run with the same losses as a run that never stopped', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'simvq-train-'));
    try {
      writeSpeechFolder(join(scratch, 'data'), speech, 6);
      const lossesOf = (run: string) =>
        readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { step: number; generator_loss: number; discriminator_loss: number | null });
      const runBoth = async (name: string, config: CodecConfig) => {
        const common = { config, data: `dir:${join(scratch, 'data')}`, logEvery: 1, checkpointEvery: 3, validateEvery: 1000, workers: 0, progress: false, log: () => undefined };
        await train({ ...common, out: join(scratch, `${name}-straight`), resume: false, steps: 6 });
        await train({ ...common, out: join(scratch, `${name}-stopped`), resume: false, steps: 3 });
        await train({ ...common, out: join(scratch, `${name}-stopped`), resume: true, steps: 6 });
        return { straight: lossesOf(join(scratch, `${name}-straight`)), resumed: lossesOf(join(scratch, `${name}-stopped`)) };
      };

      // The generator alone: bit for bit.
      const plain = await runBoth('plain', tinyConfig());
      expect(plain.resumed.map((r) => r.step)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(plain.resumed.map((r) => r.generator_loss)).to.deep.equal(plain.straight.map((r) => r.generator_loss));

      // With the discriminator from step 3. onnxruntime's first call of a discriminator
      // graph can round differently in the last bit (two uninterrupted runs differ the
      // same way), so here the losses agree to 1e-5 rather than exactly.
      const adversarial = await runBoth('adversarial', tinyConfig({ discriminatorStartStep: 2 }));
      expect(adversarial.straight[5]!.discriminator_loss).to.be.a('number');
      adversarial.resumed.forEach((r, i) => {
        const s = adversarial.straight[i]!;
        expect(r.generator_loss).to.be.closeTo(s.generator_loss, 1e-5 * Math.abs(s.generator_loss));
        if (s.discriminator_loss === null) expect(r.discriminator_loss).to.equal(null);
        else expect(r.discriminator_loss).to.be.closeTo(s.discriminator_loss, 1e-5 * Math.abs(s.discriminator_loss));
      });

      // Validation: each clip decoded as WAV and drawn beside its original, scores logged.
      const validated = join(scratch, 'validated');
      await train({ config: tinyConfig(), data: `dir:${join(scratch, 'data')}`, validationData: `dir:${join(scratch, 'data')}`, validationClips: 2, validationSeconds: 0.7, validateEvery: 2, out: validated, resume: false, steps: 2, workers: 0, progress: false, log: () => undefined });
      const validation = readFileSync(join(validated, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; stoi?: number; mel_distance?: number }).filter((r) => r.type === 'validation');
      expect(validation).to.have.length(1);
      expect(validation[0]!.stoi).to.be.within(-1, 1);
      expect(validation[0]!.mel_distance).to.be.above(0);
      // The curve the model card publishes, rewritten at every validation.
      const curve = JSON.parse(readFileSync(join(validated, 'curve.json'), 'utf8')) as { validation: { step: number; stoi: number }[] };
      expect(curve.validation.map((p) => [p.step, p.stoi])).to.deep.equal([[2, validation[0]!.stoi]]);
      expect(readFileSync(join(validated, 'curve.png')).subarray(1, 4).toString()).to.equal('PNG');
      for (const file of ['clip-0.wav', 'clip-0.png', 'clip-1.wav', 'clip-1.png']) {
        expect(readFileSync(join(validated, 'validation', 'step-00000002', file)).length, file).to.be.above(1000);
      }

      // Bad data is refused before the run directory is made.
      let refused = '';
      await train({ config: tinyConfig(), data: `dir:${join(scratch, 'no-such-data')}`, out: join(scratch, 'never'), resume: false, steps: 1, workers: 0, progress: false }).catch((e: Error) => (refused = e.message));
      expect(refused).to.include('no-such-data');
      expect(existsSync(join(scratch, 'never'))).to.equal(false);

      // A finished run directory is not reused without --resume.
      let message = '';
      await train({ config: tinyConfig(), data: `dir:${join(scratch, 'data')}`, out: join(scratch, 'plain-straight'), resume: false, steps: 6, workers: 0, progress: false }).catch((e: Error) => (message = e.message));
      expect(message).to.match(/already holds a run; pass --resume/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('stops at a wall-clock budget counted over every resumed session, with a checkpoint and a validation at the end', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'simvq-budget-'));
    try {
      writeSpeechFolder(join(scratch, 'data'), speech, 4);
      const out = join(scratch, 'run');
      const common = { config: tinyConfig(), data: `dir:${join(scratch, 'data')}`, validationData: `dir:${join(scratch, 'data')}`, validationClips: 1, validationSeconds: 0.5, out, workers: 0, progress: false, log: () => undefined };
      const first = await train({ ...common, resume: false, budgetMinutes: 0.02 });
      expect(first.stoppedBy).to.equal('budget');
      expect(first.trainSeconds).to.be.at.least(1.2);
      expect(first.audioSecondsSeen).to.be.closeTo(first.step * 2 * 0.1, 1e-6);
      const state = JSON.parse(readFileSync(join(out, 'checkpoints', `step-${String(first.step).padStart(8, '0')}`, 'state.json'), 'utf8')) as { trainSeconds: number };
      expect(state.trainSeconds).to.equal(first.trainSeconds);
      // The same budget again: already spent, no step taken.
      const again = await train({ ...common, resume: true, budgetMinutes: 0.02 });
      expect([again.step, again.stoppedBy]).to.deep.equal([first.step, 'budget']);
      // A larger one carries on from the time already spent.
      const more = await train({ ...common, resume: true, budgetMinutes: 0.04 });
      expect(more.step).to.be.above(first.step);
      expect(more.trainSeconds).to.be.at.least(2.4);
      const validations = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; train_seconds?: number }).filter((r) => r.type === 'validation');
      expect(validations.map((v) => v.step)).to.deep.equal([first.step, more.step]);
      expect(validations[1]!.train_seconds).to.equal(more.trainSeconds);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
