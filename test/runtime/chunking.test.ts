/**
 * Windowed runs equal whole-input runs: the receptive fields in
 * src/runtime/chunking.ts are checked against the layers themselves, and one
 * frame less context must show a difference (so the bound is not loose by luck).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { type CodecConfig, type SeanetEncoderConfig, type StftEncoderConfig } from '../../src/codec/config.js';
import { loadCodecConfig } from '../../src/codec/presets.js';
import { SeanetEncoder } from '../../src/codec/seanet.js';
import { StftEncoder } from '../../src/codec/stft-encoder.js';
import { VocosDecoder } from '../../src/codec/vocos.js';
import { initEngine } from '../../src/engine/index.js';
import { TfOps } from '../../src/nn/ops.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { decoderContextFrames, encoderContextFrames, encoderReceptiveField, planWindows } from '../../src/runtime/chunking.js';
import { mulberry32, randomArray } from '../helpers/random.js';
import { perturb, tinyRuntimeConfig } from './fixtures.js';

/** [C, F] frames of a [1, C, F] tensor's values, per window, stitched as the Codec does. */
function runWindowed(run: (input: Float32Array, frames: number) => Float32Array, input: Float32Array, inputPerFrame: number, frames: number, outputPerFrame: number, keep: number, context: number): Float32Array {
  const out = new Float32Array(frames * outputPerFrame);
  for (const w of planWindows(frames, keep, context)) {
    const result = run(input.subarray(w.start * inputPerFrame, w.end * inputPerFrame), w.end - w.start);
    out.set(result.subarray((w.keepFrom - w.start) * outputPerFrame, (w.end - w.start) * outputPerFrame), w.keepFrom * outputPerFrame);
  }
  return out;
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('runtime: chunking', function () {
  this.timeout(60_000);
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });

  it('plans windows that cover every frame once, with the context before each', () => {
    expect(planWindows(10, 4, 3)).to.deep.equal([
      { start: 0, keepFrom: 0, end: 4 },
      { start: 1, keepFrom: 4, end: 8 },
      { start: 5, keepFrom: 8, end: 10 },
    ]);
    expect(planWindows(10, 4, null)).to.deep.equal([{ start: 0, keepFrom: 0, end: 10 }]);
    expect(planWindows(0, 4, 3)).to.deep.equal([]);
  });

  it('the speech preset: 3,942-sample encoder field (12 frames of context), decoder 57 frames; LSTM or non-causal: none', async () => {
    const speech = await loadCodecConfig('speech-16k-0.9kbps');
    expect(encoderReceptiveField(speech)).to.equal(3942);
    expect(encoderContextFrames(speech)).to.equal(12);
    expect(decoderContextFrames(speech)).to.equal(6 + 8 * 6 + 3);
    expect(encoderContextFrames(tinyRuntimeConfig({ lstmLayers: 1 }))).to.equal(null);
    expect(encoderContextFrames(tinyRuntimeConfig({ causal: false }))).to.equal(null);
    expect(decoderContextFrames(tinyRuntimeConfig({ causal: false }))).to.equal(null);
  });

  /** Encoder windows with the computed context give the whole-input latents (within `exact`); one frame less does not. */
  function expectWindowsMatch(apply: (audio: tf.Tensor3D) => tf.Tensor3D, context: number, exact: number): void {
    const hop = 40;
    const frames = 60;
    const audio = randomArray(mulberry32(8), frames * hop).map((v) => v - 0.5);
    // Latents as [F, C] rows, so windows concatenate along the first axis.
    const latents = (input: Float32Array, n: number) =>
      tf.tidy(() => tf.transpose(apply(tf.tensor3d(input, [1, 1, n * hop])).squeeze([0]) as tf.Tensor2D).dataSync() as Float32Array);
    const whole = latents(audio, frames);
    expect(maxAbsDifference(runWindowed(latents, audio, hop, frames, 8, 7, context), whole)).to.be.below(exact);
    expect(maxAbsDifference(runWindowed(latents, audio, hop, frames, 8, 7, context - 1), whole)).to.be.above(1e-3);
  }

  it('the STFT encoder: windows with the computed context give the whole-input latents; one frame less does not', () => {
    const config: CodecConfig = {
      ...tinyRuntimeConfig(),
      encoder: { type: 'stft', hop: 40, nFft: 120, dim: 16, intermediateDim: 32, layers: 2, kernelSize: 3, latentNorm: 'whiten' },
    };
    // The window reaches back 120 samples (2 frames before its own), each block 2 frames more.
    expect(encoderReceptiveField(config)).to.equal(120 + 2 * 2 * 40);
    const context = encoderContextFrames(config)!;
    expect(context).to.equal(6);
    const store = new ParameterStore(5);
    const encoder = new StftEncoder(store.scope('encoder'), config.encoder as StftEncoderConfig, config.latentDim, true);
    perturb(store, 21);
    expectWindowsMatch((audio) => encoder.forward(new TfOps(), audio), context, 1e-4);
    encoder.dispose();
    store.dispose();
  });

  function tinyParts(config: CodecConfig) {
    const store = new ParameterStore(5);
    const encoder = new SeanetEncoder(store.scope('encoder'), config.encoder as SeanetEncoderConfig, config.latentDim, true);
    const decoder = new VocosDecoder(store.scope('decoder'), config.decoder as Extract<CodecConfig['decoder'], { type: 'vocos' }>, 40, config.latentDim, true);
    perturb(store, 21);
    return { store, encoder, decoder };
  }

  it('encoder: windows with the computed context give the whole-input latents; one frame less does not', () => {
    const config = tinyRuntimeConfig();
    const { store, encoder, decoder } = tinyParts(config);
    const context = encoderContextFrames(config)!;
    expect(context).to.equal(10);
    expectWindowsMatch((audio) => encoder.forward(new TfOps(), audio), context, 1e-5);
    decoder.dispose();
    store.dispose();
  });

  // The earliest frame a window needs weighs little in the upsampled decoder (the far tail of a
  // transposed-conv kernel under the edge of a Hann window), hence its smaller thresholds.
  for (const [label, decoderConfig, expectedContext, exact, missing] of [
    ['plain', { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 160 }, 6 + 2 * 6 + 3, 1e-5, 1e-4],
    // Transposed conv: one token; the finer blocks and the iSTFT: 6 + 3 frames at hop 10, three tokens.
    ['upsampled 4x', { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 40, upsample: 4, upsampledLayers: 1 }, 6 + 2 * 6 + 1 + 3, 2e-6, 1e-5],
  ] as const) {
    it(`decoder (${label}): windows with the computed context give the whole-input audio; one frame less does not`, () => {
      const config: CodecConfig = { ...tinyRuntimeConfig(), decoder: decoderConfig };
      const { store, decoder } = tinyParts(config);
      const frames = 60;
      const dim = config.latentDim;
      const rows = randomArray(mulberry32(9), frames * dim).map((v) => v - 0.5); // [F, d]
      const audio = (input: Float32Array, n: number) =>
        tf.tidy(() => decoder.forward(new TfOps(), tf.transpose(tf.tensor2d(input, [n, dim])).expandDims(0) as tf.Tensor3D).dataSync() as Float32Array);
      const whole = audio(rows, frames);
      const context = decoderContextFrames(config)!;
      expect(context).to.equal(expectedContext);
      expect(maxAbsDifference(runWindowed(audio, rows, dim, frames, 40, 9, context), whole)).to.be.below(exact);
      expect(maxAbsDifference(runWindowed(audio, rows, dim, frames, 40, 9, context - 1), whole)).to.be.above(missing);
      decoder.dispose();
      store.dispose();
    });
  }
});
