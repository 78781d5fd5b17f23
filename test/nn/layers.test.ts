/**
 * The codec's building blocks: lengths that stay multiples of the hop, causal
 * layers that never look ahead, weight normalisation as PyTorch defines it,
 * seeded parameters, and the small layers against plain loops.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { initEngine } from '../../src/engine/index.js';
import {
  BatchChannelNorm,
  BatchWhitening,
  ChannelLayerNorm,
  Conv1dLayer,
  ConvTranspose1dLayer,
  DepthwiseConv1dLayer,
  gelu,
} from '../../src/nn/layers.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { mulberry32, randomArray } from '../helpers/random.js';

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 1e-6) return i;
  return -1;
}

describe('nn layers', function () {
  this.timeout(60_000);
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });

  it('maps n·stride samples to n frames and back, causal or not', () => {
    for (const causal of [true, false]) {
      const store = new ParameterStore(1);
      for (const stride of [2, 4, 5, 8]) {
        const down = new Conv1dLayer(store.scope(`down${stride}`), { inChannels: 3, outChannels: 4, kernelSize: 2 * stride, stride, causal });
        const up = new ConvTranspose1dLayer(store.scope(`up${stride}`), { inChannels: 4, outChannels: 3, kernelSize: 2 * stride, stride, causal });
        const x = tf.randomNormal([2, 3, 40 * stride]) as tf.Tensor3D;
        const frames = down.apply(x);
        expect(frames.shape).to.deep.equal([2, 4, 40]);
        expect(up.apply(frames).shape).to.deep.equal([2, 3, 40 * stride]);
      }
      const dilated = new Conv1dLayer(store.scope('dilated'), { inChannels: 3, outChannels: 3, kernelSize: 3, dilation: 9, causal });
      expect(dilated.apply(tf.randomNormal([1, 3, 50]) as tf.Tensor3D).shape).to.deep.equal([1, 3, 50]);
      store.dispose();
    }
  });

  it('causal layers: changing later input leaves earlier output unchanged', () => {
    const store = new ParameterStore(2);
    const conv = new Conv1dLayer(store.scope('c'), { inChannels: 1, outChannels: 2, kernelSize: 8, stride: 4, causal: true });
    const dilated = new Conv1dLayer(store.scope('d'), { inChannels: 2, outChannels: 2, kernelSize: 3, dilation: 3, causal: true });
    const up = new ConvTranspose1dLayer(store.scope('u'), { inChannels: 2, outChannels: 1, kernelSize: 8, stride: 4, causal: true });
    const depthwise = new DepthwiseConv1dLayer(store.scope('dw'), { channels: 2, kernelSize: 7, causal: true });
    const net = (x: tf.Tensor3D) => up.apply(depthwise.apply(dilated.apply(conv.apply(x))));
    const rand = mulberry32(3);
    const a = randomArray(rand, 400);
    const b = a.slice();
    for (let i = 200; i < 400; i++) b[i] = rand();
    const ya = net(tf.tensor3d(a, [1, 1, 400])).dataSync();
    const yb = net(tf.tensor3d(b, [1, 1, 400])).dataSync();
    // Output sample t may depend on input samples up to t, never later.
    expect(firstDifference(ya, yb)).to.equal(200);
    store.dispose();
  });

  it('non-causal layers do look ahead (the causal test above can fail)', () => {
    const store = new ParameterStore(2);
    const conv = new Conv1dLayer(store.scope('c'), { inChannels: 1, outChannels: 1, kernelSize: 7, causal: false });
    const a = new Float32Array(50);
    const b = a.slice();
    b[30] = 1;
    const ya = conv.apply(tf.tensor3d(a, [1, 1, 50])).dataSync();
    const yb = conv.apply(tf.tensor3d(b, [1, 1, 50])).dataSync();
    expect(firstDifference(ya, yb)).to.equal(27);
    store.dispose();
  });

  it('weight norm: starts equal to the plain weight, trains both magnitude and direction', () => {
    const store = new ParameterStore(4);
    const conv = new Conv1dLayer(store.scope('conv'), { inChannels: 3, outChannels: 5, kernelSize: 3, causal: false });
    const named = store.named();
    expect([...named.keys()]).to.deep.equal(['conv.weight_v', 'conv.weight_g', 'conv.bias']);
    const v = named.get('conv.weight_v')!;
    expect(named.get('conv.weight_g')!.shape).to.deep.equal([5, 1, 1]);
    const w = conv.effectiveWeight().dataSync();
    const vd = v.dataSync();
    for (let i = 0; i < w.length; i++) expect(w[i]).to.be.closeTo(vd[i]!, 1e-6);
    const x = tf.randomNormal([2, 3, 20]) as tf.Tensor3D;
    const { grads } = tf.variableGrads(() => conv.apply(x).square().sum() as tf.Scalar, store.trainable());
    expect(Object.keys(grads)).to.have.length(3);
    for (const g of Object.values(grads)) expect(tf.sum(tf.abs(g)).dataSync()[0]).to.be.greaterThan(0);
    store.dispose();
  });

  it('builds bit-identical parameters from the same seed, different ones from another', () => {
    const build = (seed: number) => {
      const store = new ParameterStore(seed);
      new Conv1dLayer(store.scope('a'), { inChannels: 4, outChannels: 4, kernelSize: 3, causal: true });
      new ConvTranspose1dLayer(store.scope('b'), { inChannels: 4, outChannels: 2, kernelSize: 4, stride: 2, causal: true });
      const values = [...store.named().values()].flatMap((v) => Array.from(v.dataSync()));
      store.dispose();
      return values;
    };
    expect(build(7)).to.deep.equal(build(7));
    expect(build(7)).to.not.deep.equal(build(8));
  });

  it('loads values by name and refuses a missing, extra or misshapen parameter', () => {
    const store = new ParameterStore(1);
    new Conv1dLayer(store.scope('a'), { inChannels: 2, outChannels: 2, kernelSize: 1, causal: true, weightNorm: false });
    const good = new Map([
      ['a.weight', { shape: [2, 2, 1], data: Float32Array.from([1, 2, 3, 4]) }],
      ['a.bias', { shape: [2], data: Float32Array.from([5, 6]) }],
    ]);
    store.load(good, 'm.safetensors');
    expect(Array.from(store.named().get('a.weight')!.dataSync())).to.deep.equal([1, 2, 3, 4]);
    expect(() => store.load(new Map([...good, ['b', { shape: [1], data: new Float32Array(1) }]]), 'm.safetensors')).to.throw(/m\.safetensors: unexpected parameter b/);
    expect(() => store.load(new Map([...good].slice(1)), 'm.safetensors')).to.throw(/parameter a\.weight is missing/);
    expect(() => store.load(new Map([...good, ['a.bias', { shape: [3], data: new Float32Array(3) }]]), 'm.safetensors')).to.throw(/a\.bias has shape \[3\], the model expects \[2\]/);
    store.dispose();
  });

  it('depthwise convolution matches a per-channel loop', () => {
    const store = new ParameterStore(5);
    const layer = new DepthwiseConv1dLayer(store.scope('dw'), { channels: 3, kernelSize: 7, causal: false });
    const x = randomArray(mulberry32(6), 2 * 3 * 20);
    const y = layer.apply(tf.tensor3d(x, [2, 3, 20])).dataSync();
    const w = store.named().get('dw.weight')!.dataSync();
    const b = store.named().get('dw.bias')!.dataSync();
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 3; c++)
        for (let t = 0; t < 20; t++) {
          let sum = b[c]!;
          for (let k = 0; k < 7; k++) {
            const u = t + k - 3;
            if (u >= 0 && u < 20) sum += w[c * 7 + k]! * x[(n * 3 + c) * 20 + u]!;
          }
          expect(y[(n * 3 + c) * 20 + t]).to.be.closeTo(sum, 1e-5);
        }
    store.dispose();
  });

  it('layer norm normalises each frame over its channels', () => {
    const store = new ParameterStore(1);
    const norm = new ChannelLayerNorm(store.scope('n'), 8);
    const y = norm.apply(tf.randomNormal([2, 8, 5], 3, 2) as tf.Tensor3D);
    const mean = tf.mean(y, 1).dataSync();
    const variance = tf.moments(y, 1).variance.dataSync();
    for (const m of mean) expect(m).to.be.closeTo(0, 1e-5);
    for (const v of variance) expect(v).to.be.closeTo(1, 1e-3);
    store.dispose();
  });

  it('gelu stays within 1e-3 of the erf form', () => {
    // erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
    const erf = (z: number) => {
      const s = Math.sign(z);
      const a = Math.abs(z);
      const t = 1 / (1 + 0.3275911 * a);
      const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
      return s * (1 - poly * Math.exp(-a * a));
    };
    const xs = Array.from({ length: 81 }, (_, i) => -4 + i * 0.1);
    const ys = gelu(tf.tensor1d(xs)).dataSync();
    xs.forEach((x, i) => expect(ys[i]).to.be.closeTo(0.5 * x * (1 + erf(x / Math.SQRT2)), 1e-3));
  });

  it('batch channel norm: batch statistics in training, running ones (frame by frame) at inference', () => {
    const store = new ParameterStore(1);
    const norm = new BatchChannelNorm(store.scope('norm'), 3, { momentum: 0.25 });
    expect([...store.trainableNamed().keys()]).to.deep.equal([]);
    // Channel c has mean 2c and std c + 1.
    const rand = mulberry32(4);
    const [b, c, f] = [4, 3, 50];
    const values = new Float32Array(b * c * f);
    for (let i = 0; i < values.length; i++) {
      const channel = Math.floor(i / f) % c;
      values[i] = 2 * channel + (channel + 1) * (rand() * 2 - 1) * Math.sqrt(3);
    }
    const x = tf.tensor3d(values, [b, c, f]);
    const trained = norm.apply(x, { training: true });
    const mean = tf.mean(trained, [0, 2]).arraySync() as number[];
    const variance = tf.mean(tf.square(trained), [0, 2]).arraySync() as number[];
    mean.forEach((m) => expect(Math.abs(m)).to.be.below(1e-5));
    variance.forEach((v) => expect(v).to.be.closeTo(1, 1e-3));
    // One step of momentum 0.25 from (0, 1) towards the batch's mean and unbiased variance.
    const batchMean = tf.mean(x, [0, 2]).arraySync() as number[];
    const batchVariance = (tf.moments(x, [0, 2]).variance.arraySync() as number[]).map((v) => (v * b * f) / (b * f - 1));
    const named = store.named();
    const runningMean = named.get('norm.running_mean')!.arraySync() as number[];
    const runningVariance = named.get('norm.running_var')!.arraySync() as number[];
    runningMean.forEach((m, i) => expect(m).to.be.closeTo(0.25 * batchMean[i]!, 1e-5));
    runningVariance.forEach((v, i) => expect(v).to.be.closeTo(0.75 + 0.25 * batchVariance[i]!, 1e-4));
    // Inference: each frame alone, by the running statistics.
    const inferred = norm.apply(x).arraySync() as number[][][];
    expect(inferred[1]![2]![7]).to.be.closeTo((values[(1 * c + 2) * f + 7]! - runningMean[2]!) / Math.sqrt(runningVariance[2]! + 1e-5), 1e-5);
    const changed = values.slice();
    for (let t = 10; t < f; t++) changed[t] = 100;
    const inferredChanged = norm.apply(tf.tensor3d(changed, [b, c, f])).arraySync() as number[][][];
    expect(inferredChanged[0]![0]!.slice(0, 10)).to.deep.equal(inferred[0]![0]!.slice(0, 10));
    store.dispose();
  });

  it('batch whitening: decorrelated unit-variance channels in training, the running matrix at inference', () => {
    const store = new ParameterStore(1);
    const whiten = new BatchWhitening(store.scope('white'), 4, { momentum: 1 });
    expect([...store.trainableNamed().keys()]).to.deep.equal([]);
    // Four channels mixing four independent sources (covariance condition number ~25), plus offsets.
    // Five iterations whiten that within 0.1; worse-conditioned directions only partly.
    const rand = mulberry32(8);
    const [b, f] = [8, 400];
    const mixing = [[1, 0.6, 0.3, 0.1], [0.2, 1, 0.5, 0.3], [0.1, 0.4, 1, 0.6], [0.5, 0.1, 0.3, 1]];
    const values = new Float32Array(b * 4 * f);
    for (let i = 0; i < b; i++) {
      for (let t = 0; t < f; t++) {
        const sources = [0, 1, 2, 3].map(() => (rand() * 2 - 1) * Math.sqrt(3));
        for (let c = 0; c < 4; c++) values[(i * 4 + c) * f + t] = 3 - c + mixing[c]!.reduce((sum, w, k) => sum + w * sources[k]!, 0);
      }
    }
    const x = tf.tensor3d(values, [b, 4, f]);
    const covarianceOf = (y: tf.Tensor3D) =>
      tf.tidy(() => {
        const rows = tf.reshape(tf.transpose(y, [0, 2, 1]), [-1, 4]);
        const centred = tf.sub(rows, tf.mean(rows, 0));
        return tf.div(tf.matMul(centred, centred, true, false), rows.shape[0]).arraySync() as number[][];
      });
    const before = covarianceOf(x);
    expect(Math.abs(before[0]![1]! / Math.sqrt(before[0]![0]! * before[1]![1]!))).to.be.above(0.5);
    const trained = whiten.apply(x, { training: true });
    const covariance = covarianceOf(trained);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) expect(covariance[i]![j]!, `cov[${i}][${j}]`).to.be.closeTo(i === j ? 1 : 0, 0.1);
    }
    expect(Math.max(...(tf.mean(trained, [0, 2]).arraySync() as number[]).map(Math.abs))).to.be.below(1e-4);
    // Momentum 1: the running statistics are this batch's, so inference gives the same output.
    expect(tf.abs(tf.sub(whiten.apply(x), trained)).max().dataSync()[0]).to.be.below(1e-4);
    store.dispose();
  });
});
