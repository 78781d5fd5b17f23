/**
 * The reconstruction losses: the STFT-as-convolution against the JS STFT, the
 * mel loss against the JS log-mel, every term zero for identical signals and
 * positive otherwise, gradients on the output, bases built once, bad config.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { logMelSpectrogram } from '../../src/audio/mel.js';
import { magnitude, stft } from '../../src/audio/stft.js';
import {
  ReconstructionLoss,
  defaultMelScales,
  defaultStftResolutions,
  melBandWeights,
  multiResolutionStftLoss,
  multiScaleMelLoss,
  waveformL1Loss,
} from '../../src/codec/losses.js';
import { basisBuildCount, stftComplex, stftMagnitude } from '../../src/codec/spectral.js';
import { initEngine } from '../../src/engine/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

function scalar(t: tf.Tensor): number {
  return t.dataSync()[0]!;
}

/** A voiced-ish test signal: two partials and a little noise. */
function speechLike(length: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(length);
  for (let n = 0; n < length; n++) {
    out[n] = 0.4 * Math.sin((2 * Math.PI * 220 * n) / 16000) + 0.2 * Math.sin((2 * Math.PI * 1330 * n) / 16000 + 1) + 0.05 * (rand() * 2 - 1);
  }
  return out;
}

describe('codec losses', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });

  const stftCases = [
    { nFft: 512, hopLength: 128, winLength: 512, center: true },
    { nFft: 1024, hopLength: 80, winLength: 400, center: true },
    { nFft: 256, hopLength: 64, winLength: 200, center: false },
  ];
  for (const options of stftCases) {
    it(`STFT as a convolution matches the JS STFT (nFft ${options.nFft}, hop ${options.hopLength}, window ${options.winLength}, center ${options.center})`, () => {
      const signal = speechLike(3001, 1);
      const reference = stft(signal, options);
      const referenceMagnitude = magnitude(reference);
      const complex = stftComplex(tf.tensor3d(signal, [1, 1, signal.length]), options);
      expect(complex.shape).to.deep.equal([1, reference.bins, 2, reference.frames]);
      const values = complex.dataSync();
      const mags = stftMagnitude(tf.tensor3d(signal, [1, 1, signal.length]), options).dataSync();
      let peak = 0;
      for (const v of referenceMagnitude) peak = Math.max(peak, v);
      let worstComplex = 0;
      let worstMagnitude = 0;
      for (let k = 0; k < reference.bins; k++) {
        for (let t = 0; t < reference.frames; t++) {
          const re = values[(k * 2) * reference.frames + t]!;
          const im = values[(k * 2 + 1) * reference.frames + t]!;
          worstComplex = Math.max(worstComplex, Math.abs(re - reference.re[t * reference.bins + k]!), Math.abs(im - reference.im[t * reference.bins + k]!));
          worstMagnitude = Math.max(worstMagnitude, Math.abs(mags[k * reference.frames + t]! - referenceMagnitude[t * reference.bins + k]!));
        }
      }
      expect(worstComplex / peak).to.be.below(1e-4);
      expect(worstMagnitude / peak).to.be.below(1e-4);
    });
  }

  it('mel scales match the JS log-mel spectrogram', () => {
    const signal = speechLike(4000, 2);
    const loss = new ReconstructionLoss({ sampleRate: 16000, melScales: [{ winLength: 512, hopLength: 128, nMels: 40 }] });
    // The loss's log-mel at that scale, read back through a one-sided difference with silence.
    const silence = tf.zeros([1, 1, signal.length]) as tf.Tensor3D;
    const reference = logMelSpectrogram(signal, { sampleRate: 16000, nFft: 512, hopLength: 128, nMels: 40, logFloor: 1e-5 });
    let expected = 0;
    for (const v of reference.data) expected += Math.abs(v - Math.log(1e-5));
    expected /= reference.data.length;
    const got = scalar(multiScaleMelLoss(tf.tensor3d(signal, [1, 1, signal.length]), silence, loss.melScales, 16000));
    expect(got).to.be.closeTo(expected, 1e-3 * expected);
  });

  it('every term is zero for identical signals and positive otherwise', () => {
    const target = tf.tensor3d(speechLike(2 * 8000, 3), [2, 1, 8000]);
    const output = target.add(tf.randomNormal(target.shape, 0, 0.01, 'float32', 4)) as tf.Tensor3D;
    const loss = new ReconstructionLoss({ sampleRate: 16000, weights: { stftConvergence: 1, stftLogMagnitude: 2, mel: 3, waveform: 4 } });
    const same = loss.compute(target, target.clone());
    expect(Object.keys(same.terms).sort()).to.deep.equal(['mel', 'stftConvergence', 'stftLogMagnitude', 'waveform']);
    for (const [name, value] of Object.entries(same.terms)) expect(scalar(value!), name).to.equal(0);
    expect(scalar(same.total)).to.equal(0);
    const different = loss.compute(output, target);
    let weighted = 0;
    const weights = { stftConvergence: 1, stftLogMagnitude: 2, mel: 3, waveform: 4 };
    for (const [name, value] of Object.entries(different.terms)) {
      expect(scalar(value!), name).to.be.greaterThan(0);
      weighted += weights[name as keyof typeof weights] * scalar(value!);
    }
    expect(scalar(different.total)).to.be.closeTo(weighted, 1e-5 * weighted);
    // Louder noise, larger losses.
    const worse = loss.compute(target.add(tf.randomNormal(target.shape, 0, 0.1, 'float32', 5)) as tf.Tensor3D, target);
    for (const name of Object.keys(different.terms) as (keyof typeof weights)[]) {
      expect(scalar(worse.terms[name]!), name).to.be.greaterThan(scalar(different.terms[name]!));
    }
    // Stand-alone functions agree with the object's terms.
    expect(scalar(waveformL1Loss(output, target))).to.be.closeTo(scalar(different.terms.waveform!), 1e-7);
    const stft = multiResolutionStftLoss(output, target, defaultStftResolutions(16000));
    expect(scalar(stft.convergence)).to.be.closeTo(scalar(different.terms.stftConvergence!), 1e-6);
  });

  it('a weight of 0 skips the term; gradients reach the output through every term', () => {
    const target = tf.tensor3d(speechLike(6000, 6), [1, 1, 6000]);
    const output = tf.variable(target.add(tf.randomNormal(target.shape, 0, 0.05, 'float32', 7)));
    const loss = new ReconstructionLoss({ sampleRate: 16000, weights: { mel: 0 } });
    expect(Object.keys(loss.compute(output as tf.Tensor3D, target).terms)).to.not.include('mel');
    for (const weights of [
      { stftConvergence: 1, stftLogMagnitude: 0, mel: 0, waveform: 0 },
      { stftConvergence: 0, stftLogMagnitude: 1, mel: 0, waveform: 0 },
      { stftConvergence: 0, stftLogMagnitude: 0, mel: 1, waveform: 0 },
      { stftConvergence: 0, stftLogMagnitude: 0, mel: 0, waveform: 1 },
    ]) {
      const single = new ReconstructionLoss({ sampleRate: 16000, weights });
      const { value, grads } = tf.variableGrads(() => single.compute(output as tf.Tensor3D, target).total, [output]);
      const g = grads[output.name]!;
      expect(scalar(value)).to.be.greaterThan(0);
      expect(scalar(tf.max(tf.abs(g))), JSON.stringify(weights)).to.be.greaterThan(0);
      expect(g.dataSync().every(Number.isFinite)).to.equal(true);
      // One small step against the gradient lowers that term.
      const stepped = output.sub(g.mul(1e-3 / scalar(tf.max(tf.abs(g))))) as tf.Tensor3D;
      expect(scalar(single.compute(stepped, target).total)).to.be.below(scalar(value));
      tf.dispose([value, g, stepped]);
    }
  });

  it('builds each Fourier and mel basis once per configuration', () => {
    const before = basisBuildCount();
    const loss = new ReconstructionLoss({ sampleRate: 22050, melScales: [{ winLength: 300, hopLength: 75, nMels: 33 }] });
    const x = tf.randomNormal([1, 1, 4000], 0, 0.1, 'float32', 8) as tf.Tensor3D;
    tf.tidy(() => {
      loss.compute(x, x.mul(0.5));
    });
    // A configuration no other test uses: 3 STFT resolutions + 1 mel scale (a Fourier basis and a filterbank).
    expect(basisBuildCount() - before).to.equal(3 + 2);
    // Again, inside another tidy and from another loss object: the cached bases survived the first tidy and are reused.
    const again = new ReconstructionLoss({ sampleRate: 22050, melScales: [{ winLength: 300, hopLength: 75, nMels: 33 }] });
    const total = tf.tidy(() => scalar(again.compute(x, x.mul(0.5)).total));
    expect(Number.isFinite(total) && total > 0).to.equal(true);
    expect(basisBuildCount() - before).to.equal(3 + 2);
  });

  it('defaults: Parallel WaveGAN durations at any rate, DAC mel scales', () => {
    expect(defaultStftResolutions(24000)).to.deep.equal([
      { nFft: 1024, hopLength: 120, winLength: 600 },
      { nFft: 2048, hopLength: 240, winLength: 1200 },
      { nFft: 512, hopLength: 50, winLength: 240 },
    ]);
    expect(defaultStftResolutions(16000)).to.deep.equal([
      { nFft: 1024, hopLength: 80, winLength: 400 },
      { nFft: 2048, hopLength: 160, winLength: 800 },
      { nFft: 512, hopLength: 33, winLength: 160 },
    ]);
    const scales = (rate: number) => defaultMelScales(rate).map((s) => [s.winLength, s.hopLength, s.nMels]);
    const dac = [[32, 8, 5], [64, 16, 10], [128, 32, 20], [256, 64, 40], [512, 128, 80], [1024, 256, 160], [2048, 512, 320]];
    expect(scales(44100)).to.deep.equal(dac);
    expect(scales(16000)).to.deep.equal(dac.slice(0, 6));
    expect(scales(24000)).to.deep.equal(dac.slice(0, 6));
  });

  it('refuses bad configuration and mismatched inputs with one line naming the field', () => {
    expect(() => new ReconstructionLoss({ sampleRate: 0 })).to.throw(/^ReconstructionLoss: sampleRate must be a positive number, got 0$/);
    expect(() => new ReconstructionLoss({ sampleRate: 16000, weights: { mel: -1 } })).to.throw(/weights\.mel must be a finite number >= 0/);
    expect(() => new ReconstructionLoss({ sampleRate: 16000, stftResolutions: [{ nFft: 256, hopLength: 64, winLength: 512 }] })).to.throw(
      /stftResolutions\[0\]\.winLength must be at most nFft = 256/,
    );
    expect(() => new ReconstructionLoss({ sampleRate: 16000, melScales: [{ winLength: 512, hopLength: 0, nMels: 40 }] })).to.throw(/melScales\[0\]\.hopLength/);
    const loss = new ReconstructionLoss({ sampleRate: 16000 });
    expect(() => loss.compute(tf.zeros([1, 1, 4000]) as tf.Tensor3D, tf.zeros([1, 1, 4001]) as tf.Tensor3D)).to.throw(/differ in shape/);
    const rand = mulberry32(9);
    expect(() => loss.compute(tf.tensor3d(randomArray(rand, 8000), [1, 2, 4000]), tf.zeros([1, 2, 4000]) as tf.Tensor3D)).to.throw(/\[batch, 1, time\]/);
  });

  it('band emphasis: bands inside 150-4,300 Hz weigh gain times the others, mean 1; an error only above 4.3 kHz counts less', () => {
    const scale = { winLength: 512, hopLength: 128, nMels: 80 };
    const weights = melBandWeights(scale, 16000, { lowHz: 150, highHz: 4300, gain: 3 });
    expect(weights.reduce((a, b) => a + b, 0) / weights.length).to.be.closeTo(1, 1e-6);
    const inside = weights.filter((w) => w > 1);
    const outside = weights.filter((w) => w < 1);
    expect(inside.length + outside.length).to.equal(80);
    expect(inside[0]! / outside[0]!).to.be.closeTo(3, 1e-5);
    // The lowest bands (below 150 Hz) and the top ones are outside; the middle ones inside.
    expect(weights[0]).to.be.below(1);
    expect(weights[40]).to.be.above(1);
    expect(weights[79]).to.be.below(1);
    // A target and an output that differ only by a 6 kHz tone: the emphasised loss says less.
    const n = 8000;
    const target = tf.tensor3d(Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 500 * i) / 16000)), [1, 1, n]);
    const output = target.add(tf.tensor3d(Float32Array.from({ length: n }, (_, i) => 0.05 * Math.sin((2 * Math.PI * 6000 * i) / 16000)), [1, 1, n])) as tf.Tensor3D;
    const scales = defaultMelScales(16000);
    const plain = multiScaleMelLoss(output, target, scales, 16000).dataSync()[0]!;
    const emphasised = multiScaleMelLoss(output, target, scales, 16000, 1e-5, { lowHz: 150, highHz: 4300, gain: 3 }).dataSync()[0]!;
    expect(emphasised).to.be.below(0.8 * plain);
    expect(() => new ReconstructionLoss({ sampleRate: 16000, melBandEmphasis: { lowHz: 4300, highHz: 150, gain: 3 } })).to.throw(/melBandEmphasis/);
    tf.dispose([target, output]);
  });
});
