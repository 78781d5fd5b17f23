/**
 * The generator's parts: presets and their bitrates, the SEANet encoder and
 * decoders' shapes and causality, and the inverse STFT against a direct DFT.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { bitrate, hopLength, parseCodecConfig, type CodecConfig, type SeanetEncoderConfig } from '../../src/codec/config.js';
import { loadCodecConfig, presetNames } from '../../src/codec/presets.js';
import { SeanetDecoder, SeanetEncoder } from '../../src/codec/seanet.js';
import { StftEncoder } from '../../src/codec/stft-encoder.js';
import { VocosDecoder } from '../../src/codec/vocos.js';
import { InverseStft } from '../../src/nn/fourier.js';
import { initEngine } from '../../src/engine/index.js';
import { OnnxOps } from '../../src/nn/onnx-ops.js';
import { TfOps } from '../../src/nn/ops.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { mulberry32, randomArray } from '../helpers/random.js';

/** A small config for fast tests: hop 8·... = 40, few channels. */
function tinyConfig(causal: boolean): CodecConfig & { encoder: SeanetEncoderConfig } {
  return {
    name: 'tiny',
    description: 'test',
    sampleRate: 16000,
    causal,
    latentDim: 8,
    encoder: { channels: 4, strides: [2, 4, 5], dilations: [1, 3], kernelSize: 7, residualKernelSize: 3, compress: 2, lstmLayers: 1, latentNorm: 'layer' },
    quantizer: { method: 'simvq', codebookSize: 64, beta: 0.25, seed: 0, normalized: true },
    decoder: { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 160 },
    training: {
      batchSize: 2, cropSeconds: 0.05, learningRate: 1e-3, betas: [0.5, 0.9], weightDecay: 0, warmupSteps: 0, totalSteps: 10,
      maxGradNorm: 1, discriminatorStartStep: 0, quantizerStartStep: 0, discriminators: ['mpd'],
      lossWeights: { mel: 1, stft: 0, waveform: 0, quantizer: 1, adversarial: 0, featureMatching: 0 },
    },
  };
}

function firstChange(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 1e-6) return i;
  return -1;
}

describe('codec generator', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });

  it('ships the presets the issue names, each at 0.9 kbps', async () => {
    expect(await presetNames()).to.include.members(['speech-16k-0.9kbps', 'libritts-24k-0.9kbps']);
    const speech = await loadCodecConfig('speech-16k-0.9kbps');
    expect([speech.sampleRate, hopLength(speech), speech.quantizer.codebookSize, bitrate(speech), speech.causal]).to.deep.equal([16000, 320, 262144, 900, true]);
    const libritts = await loadCodecConfig('libritts-24k-0.9kbps');
    expect([libritts.sampleRate, hopLength(libritts), libritts.quantizer.codebookSize, libritts.latentDim, bitrate(libritts)]).to.deep.equal([24000, 320, 4096, 512, 900]);
    expect(libritts.decoder.type).to.equal('vocos');
  });

  it('an untrained speech preset sends speech frames to many codes, not one', async () => {
    // Before zero biases and latent normalisation, 200 frames of this sample met 5 codes,
    // and a training run collapsed onto one code within 200 steps.
    const { CodecModel } = await import('../../src/codec/model.js');
    const { readWav } = await import('../../src/audio/index.js');
    const model = new CodecModel(await loadCodecConfig('speech-16k-0.9kbps'), 0);
    const speech = (await readWav('samples/speech-16k.wav')).samples;
    const codes = model.encode(tf.tensor3d(speech.subarray(0, 64000), [1, 1, 64000])).dataSync();
    expect(codes.length).to.equal(200);
    expect(new Set(codes).size).to.be.at.least(150);
    model.dispose();
  });

  it('with the quantizer bypassed, the decoder sees the latents and the codebook does not matter', async () => {
    const { CodecModel } = await import('../../src/codec/model.js');
    const model = new CodecModel(tinyConfig(true), 3);
    const audio = tf.tensor3d(randomArray(mulberry32(5), 2 * 400), [2, 1, 400]);
    const run = (bypassQuantizer: boolean) => tf.tidy(() => Array.from(model.forward(audio, { bypassQuantizer }).reconstruction.dataSync()));
    const [bypassed, quantized] = [run(true), run(false)];
    const w = model.parameters.named().get('quantizer.0')!;
    w.assign(tf.tidy(() => w.mul(-3)));
    expect(run(true)).to.deep.equal(bypassed);
    expect(run(false)).to.not.deep.equal(quantized);
    model.dispose();
  });

  it('refuses configs that break a rule the schema cannot say', () => {
    const config = tinyConfig(true);
    expect(() => parseCodecConfig({ ...config, decoder: { ...config.decoder, nFft: 20 } }, 'c.json')).to.throw(/c\.json: decoder\.nFft must be even and at least the head's hop \(40\)/);
    expect(() => parseCodecConfig({ ...config, decoder: { ...config.decoder, nFft: 8, upsample: 4 } }, 'c.json')).to.throw(/c\.json: decoder\.nFft must be even and at least the head's hop \(10\)/);
    expect(() => parseCodecConfig({ ...config, decoder: { ...config.decoder, upsample: 3 } }, 'c.json')).to.throw(/c\.json: decoder\.upsample \(3\) must divide the hop \(40\)/);
    const stftEncoder = { type: 'stft', hop: 40, nFft: 30, dim: 16, intermediateDim: 32, layers: 2, kernelSize: 3, latentNorm: 'layer' };
    expect(() => parseCodecConfig({ ...config, encoder: stftEncoder }, 'c.json')).to.throw(/c\.json: encoder\.nFft must be even and at least encoder\.hop \(40\), got 30/);
    expect(hopLength(parseCodecConfig({ ...config, encoder: { ...stftEncoder, nFft: 80 } }, 'c.json'))).to.equal(40);
    expect(() => parseCodecConfig({ ...config, latentDim: 0 }, 'c.json')).to.throw(/c\.json: latentDim must be >= 1/);
    expect(() => parseCodecConfig({ ...config, extra: 1 }, 'c.json')).to.throw(/must NOT have additional properties/);
  });

  for (const causal of [true, false]) {
    it(`SEANet encoder and both decoders keep lengths (causal: ${causal})`, () => {
      const config = tinyConfig(causal);
      const store = new ParameterStore(1);
      const encoder = new SeanetEncoder(store.scope('encoder'), config.encoder, config.latentDim, causal);
      const vocos = new VocosDecoder(store.scope('vocos'), { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 160 }, 40, 8, causal);
      const seanet = new SeanetDecoder(store.scope('seanet'), { type: 'seanet', channels: 4, dilations: [1, 3], kernelSize: 7, residualKernelSize: 3, compress: 2, lstmLayers: 1 }, config.encoder.strides, 8, causal);
      const audio = tf.randomNormal([2, 1, 400]) as tf.Tensor3D;
      const latents = encoder.forward(new TfOps(), audio);
      expect(latents.shape).to.deep.equal([2, 8, 10]);
      expect(vocos.forward(new TfOps(), latents).shape).to.deep.equal([2, 1, 400]);
      expect(seanet.forward(new TfOps(), latents).shape).to.deep.equal([2, 1, 400]);
      vocos.dispose();
      store.dispose();
    });
  }

  it('causal encoder and decoder: changing later audio leaves earlier output unchanged', () => {
    const config = tinyConfig(true);
    const store = new ParameterStore(2);
    const encoder = new SeanetEncoder(store.scope('encoder'), config.encoder, config.latentDim, true);
    const decoder = new VocosDecoder(store.scope('decoder'), { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 160 }, 40, 8, true);
    const rand = mulberry32(3);
    const a = randomArray(rand, 800);
    const b = a.slice();
    for (let i = 400; i < 800; i++) b[i] = rand();
    const latentsA = encoder.forward(new TfOps(), tf.tensor3d(a, [1, 1, 800]));
    const latentsB = encoder.forward(new TfOps(), tf.tensor3d(b, [1, 1, 800]));
    // Frame f sees samples < (f+1)·hop: frames 0..9 cover samples 0..399 and must not move.
    const framesA = latentsA.dataSync();
    const framesB = latentsB.dataSync();
    for (let c = 0; c < 8; c++) expect(firstChange(framesA.subarray(c * 20, c * 20 + 10), framesB.subarray(c * 20, c * 20 + 10))).to.equal(-1);
    expect(firstChange(framesA, framesB)).to.be.greaterThan(-1);
    // Decoded sample t depends on frames up to ⌊t/hop⌋ only.
    const audioA = decoder.forward(new TfOps(), latentsA).dataSync();
    const audioB = decoder.forward(new TfOps(), latentsB).dataSync();
    // (The window starts at zero, so the first samples of frame 10 may move only slightly.)
    const changed = firstChange(audioA, audioB);
    expect(changed).to.be.at.least(400).and.below(420);
    decoder.dispose();
    store.dispose();
  });

  for (const causal of [true, false]) {
    it(`the inverse STFT inverts windowed DFT frames (causal: ${causal})`, () => {
      const [nFft, hop, frames] = [64, 16, 20];
      const istft = new InverseStft(nFft, hop, causal);
      const bins = nFft / 2 + 1;
      const length = frames * hop;
      const x = randomArray(mulberry32(4), length);
      const [start] = istft.trim;
      // Frame f covers overlap-add positions [f·hop, f·hop + nFft); output t is position t + start.
      const spectrum = new Float32Array(2 * bins * frames);
      for (let f = 0; f < frames; f++) {
        for (let k = 0; k < bins; k++) {
          let re = 0;
          let im = 0;
          for (let n = 0; n < nFft; n++) {
            const t = f * hop + n - start;
            const sample = t >= 0 && t < length ? x[t]! : 0;
            const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft);
            re += sample * w * Math.cos((2 * Math.PI * k * n) / nFft);
            im -= sample * w * Math.sin((2 * Math.PI * k * n) / nFft);
          }
          spectrum[k * frames + f] = re;
          spectrum[(bins + k) * frames + f] = im;
        }
      }
      const y = istft.apply(tf.tensor3d(spectrum, [1, 2 * bins, frames])).dataSync();
      expect(y.length).to.equal(length);
      // Away from the edges, where every sample is covered by nFft/hop frames, it is exact.
      for (let t = nFft; t < length - nFft; t++) expect(y[t]).to.be.closeTo(x[t]!, 1e-4);
      istft.dispose();
    });
  }
});

describe('codec generator ONNX export', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });

  /** Runs a one-input, one-output graph on onnxruntime (its public async API). */
  async function runOnnx(bytes: Uint8Array, input: tf.Tensor3D): Promise<Float32Array> {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(bytes);
    try {
      const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input.dataSync() as Float32Array, input.shape) };
      const result = await session.run(feeds);
      return result[session.outputNames[0]!]!.data as Float32Array;
    } finally {
      await session.release();
    }
  }

  function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
    expect(a.length).to.equal(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    return worst;
  }

  /** Moves every weight-norm magnitude off its initial value, so the export must apply it. */
  function perturb(store: ParameterStore): void {
    const rand = mulberry32(9);
    for (const [name, variable] of store.named()) {
      if (name.endsWith('weight_g') || name.endsWith('gamma') || name.endsWith('.weight')) {
        variable.assign(tf.tidy(() => variable.mul(tf.tensor(randomArray(rand, variable.size), variable.shape).mul(0.3).add(1))));
      }
    }
  }

  for (const [causal, latentNorm] of [[true, 'layer'], [false, 'layer'], [true, 'batch'], [true, 'whiten']] as const) {
    it(`encoder and both decoders match tfjs within 1e-4 (causal: ${causal}, latentNorm: ${latentNorm})`, async () => {
      const base = tinyConfig(causal);
      const config = { ...base, encoder: { ...base.encoder, latentNorm } };
      const { OnnxGraphBuilder } = await import('../../src/onnx/index.js');
      const store = new ParameterStore(11);
      const encoder = new SeanetEncoder(store.scope('encoder'), config.encoder, config.latentDim, causal);
      const vocos = new VocosDecoder(store.scope('vocos'), { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 160 }, 40, 8, causal);
      const seanet = new SeanetDecoder(store.scope('seanet'), { type: 'seanet', channels: 4, dilations: [1, 3], kernelSize: 7, residualKernelSize: 3, compress: 2, lstmLayers: 1 }, config.encoder.strides, 8, causal);
      const upsampled = new VocosDecoder(
        store.scope('vocos_upsampled'),
        { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 40, upsample: 4, upsampledLayers: 1 },
        40,
        8,
        causal,
      );
      perturb(store);
      const audio = tf.tensor3d(randomArray(mulberry32(12), 2 * 800), [2, 1, 800]).mul(0.5) as tf.Tensor3D;
      const graph = (name: string, emitBody: (g: InstanceType<typeof OnnxGraphBuilder>, input: string) => string, channels: number) => {
        const g = new OnnxGraphBuilder(name);
        g.addInput('input', 'float32', ['B', channels, 'T']);
        g.addOutput(emitBody(g, 'input'), 'float32', null);
        return g.toModelBytes();
      };
      // A training pass moves the batch norm's running statistics, which inference and the export use.
      encoder.forward(new TfOps({ training: true }), audio).dispose();
      const latents = encoder.forward(new TfOps(), audio);
      const onnxLatents = await runOnnx(graph('encoder', (g, x) => encoder.forward(new OnnxOps(g), x), 1), audio);
      expect(maxAbsDifference(onnxLatents, latents.dataSync())).to.be.below(1e-4);
      const stft = new StftEncoder(store.scope('stft'), { type: 'stft', hop: 40, nFft: 80, dim: 16, intermediateDim: 32, layers: 2, kernelSize: 3, latentNorm }, 8, causal);
      perturb(store);
      stft.forward(new TfOps({ training: true }), audio).dispose();
      const stftLatents = stft.forward(new TfOps(), audio);
      expect(stftLatents.shape).to.deep.equal([2, 8, 20]);
      const onnxStftLatents = await runOnnx(graph('stft_encoder', (g, x) => stft.forward(new OnnxOps(g), x), 1), audio);
      expect(maxAbsDifference(onnxStftLatents, stftLatents.dataSync()), 'stft encoder').to.be.below(1e-4);
      stft.dispose();
      for (const [name, decoder] of [['vocos', vocos], ['vocos upsampled 4x', upsampled], ['seanet', seanet]] as const) {
        const expected = decoder.forward(new TfOps(), latents).dataSync();
        const got = await runOnnx(graph(name, (g, x) => decoder.forward(new OnnxOps(g), x), 8), latents);
        expect(maxAbsDifference(got, expected), name).to.be.below(1e-4);
      }
      vocos.dispose();
      upsampled.dispose();
      store.dispose();
    });
  }
});
