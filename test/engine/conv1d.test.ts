/**
 * The convolution primitives on every rung that runs here, held to plain
 * JavaScript loops (forward, input gradient, filter gradient) on randomised
 * shapes, strides, dilations and paddings.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import {
  CONV1D_FILTER_GRADIENT,
  CONV1D_INPUT_GRADIENT,
  conv1d,
  conv1dOutputLength,
  convTranspose1d,
  initEngine,
  resolveConv1dAttributes,
  type BackendName,
  type Conv1dAttributes,
  type Conv1dPadding,
  type ConvTranspose1dOptions,
} from '../../src/engine/index.js';
import { ortSessionKeys } from '../../src/engine/ort/kernels.js';
import { mulberry32, randomArray } from '../helpers/random.js';

interface Case {
  batch: number;
  length: number;
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  dilation: number;
  padding: Conv1dPadding;
}

/** Plain loops, channels-first: y[b,o,t] = Σ_k Σ_i xpad[b, i, t·s + k·d] · w[o,i,k]. */
function referenceConv(x: Float32Array, w: Float32Array, c: Case, a: Conv1dAttributes) {
  const outLength = conv1dOutputLength(c.length, c.kernelSize, a);
  const xIndex = (b: number, i: number, u: number) => (b * c.inChannels + i) * c.length + u;
  const wIndex = (o: number, i: number, k: number) => (o * c.inChannels + i) * c.kernelSize + k;
  const y = new Float64Array(c.batch * c.outChannels * outLength);
  for (let b = 0; b < c.batch; b++)
    for (let o = 0; o < c.outChannels; o++)
      for (let t = 0; t < outLength; t++) {
        let sum = 0;
        for (let k = 0; k < c.kernelSize; k++) {
          const u = t * a.stride + k * a.dilation - a.padLeft;
          if (u < 0 || u >= c.length) continue;
          for (let i = 0; i < c.inChannels; i++) sum += x[xIndex(b, i, u)]! * w[wIndex(o, i, k)]!;
        }
        y[(b * c.outChannels + o) * outLength + t] = sum;
      }
  return { y, outLength };
}

/** Gradients of Σ y·g for an upstream gradient g, by the same loops run backwards. */
function referenceGradients(x: Float32Array, w: Float32Array, g: Float32Array, c: Case, a: Conv1dAttributes, outLength: number) {
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b = 0; b < c.batch; b++)
    for (let o = 0; o < c.outChannels; o++)
      for (let t = 0; t < outLength; t++) {
        const grad = g[(b * c.outChannels + o) * outLength + t]!;
        for (let k = 0; k < c.kernelSize; k++) {
          const u = t * a.stride + k * a.dilation - a.padLeft;
          if (u < 0 || u >= c.length) continue;
          for (let i = 0; i < c.inChannels; i++) {
            const xi = (b * c.inChannels + i) * c.length + u;
            const wi = (o * c.inChannels + i) * c.kernelSize + k;
            dx[xi] += grad * w[wi]!;
            dw[wi] += grad * x[xi]!;
          }
        }
      }
  return { dx, dw };
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).to.equal(expected.length);
  let maxDiff = 0;
  let maxRef = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxDiff / maxRef;
}

function randomCases(seed: number, count: number): Case[] {
  const rand = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases: Case[] = [];
  while (cases.length < count) {
    const kernelSize = int(1, 7);
    const stride = int(1, 4);
    const dilation = rand() < 0.6 ? 1 : int(2, 3);
    const paddings: Conv1dPadding[] = ['valid', 'same', 'causal', [int(0, 3), int(0, 3)]];
    // Long cases (> 128 frames) reach the polyphase input gradient of strided convolutions.
    const long = rand() < 0.3;
    const c: Case = {
      batch: long ? int(1, 2) : int(1, 3),
      length: long ? int(1100, 2600) : int(4, 48),
      inChannels: int(1, 12),
      outChannels: int(1, 8),
      kernelSize,
      stride,
      dilation,
      padding: paddings[int(0, 3)]!,
    };
    const a = resolveConv1dAttributes(c.length, kernelSize, c);
    if (conv1dOutputLength(c.length, kernelSize, a) >= 1) cases.push(c);
  }
  return cases;
}

// The rungs that run on this machine without optional installs.
const RUNGS: BackendName[] = ['wasm+onnxruntime', 'wasm', 'cpu'];

describe('conv1d primitives against plain loops', function () {
  this.timeout(120_000);
  const cases = randomCases(20261126, 40);

  for (const rung of RUNGS) {
    it(`${rung}: forward, input gradient and filter gradient within 1e-4 relative on ${cases.length} random shapes`, async () => {
      await initEngine({ backend: rung });
      const rand = mulberry32(7);
      for (const c of cases) {
        const a = resolveConv1dAttributes(c.length, c.kernelSize, c);
        const x = randomArray(rand, c.batch * c.length * c.inChannels);
        const w = randomArray(rand, c.kernelSize * c.inChannels * c.outChannels);
        const { y, outLength } = referenceConv(x, w, c, a);
        const g = randomArray(rand, y.length);
        const { dx, dw } = referenceGradients(x, w, g, c, a, outLength);

        // Every other case carries a bias: y += b[o], db[o] = Σ g[b, o, t].
        const bias = cases.indexOf(c) % 2 === 0 ? randomArray(rand, c.outChannels) : null;
        const db = new Float64Array(c.outChannels);
        if (bias !== null) {
          for (let i = 0; i < y.length; i++) {
            const o = Math.floor(i / outLength) % c.outChannels;
            y[i] += bias[o]!;
            db[o] += g[i]!;
          }
        }

        const xt = tf.tensor3d(x, [c.batch, c.inChannels, c.length]);
        const wt = tf.tensor3d(w, [c.outChannels, c.inChannels, c.kernelSize]);
        const bt = tf.tensor1d(bias ?? new Float32Array(c.outChannels));
        const gt = tf.tensor3d(g, [c.batch, c.outChannels, outLength]);
        const yt = conv1d(xt, wt, bias === null ? c : { ...c, bias: bt });
        const label = JSON.stringify(c) + (bias === null ? '' : ' with bias');
        expect(yt.shape, label).to.deep.equal([c.batch, c.outChannels, outLength]);
        expect(relativeError(yt.dataSync(), y), `forward ${label}`).to.be.below(1e-4);
        const [dxt, dwt, dbt] =
          bias === null
            ? tf.grads((xi: tf.Tensor, wi: tf.Tensor) => conv1d(xi as tf.Tensor3D, wi as tf.Tensor3D, c).mul(gt).sum())([xt, wt])
            : tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
                conv1d(xi as tf.Tensor3D, wi as tf.Tensor3D, { ...c, bias: bi as tf.Tensor1D }).mul(gt).sum(),
              )([xt, wt, bt]);
        expect(relativeError(dxt!.dataSync(), dx), `input gradient ${label}`).to.be.below(1e-4);
        expect(relativeError(dwt!.dataSync(), dw), `filter gradient ${label}`).to.be.below(1e-4);
        if (bias !== null) expect(relativeError(dbt!.dataSync(), db), `bias gradient ${label}`).to.be.below(1e-4);
        tf.dispose([xt, wt, bt, gt, yt, dxt!, dwt!, ...(dbt === undefined ? [] : [dbt])]);
      }
      if (rung === 'wasm+onnxruntime') {
        // The random shapes must have reached every graph variant the kernels can pick.
        const keys = ortSessionKeys().join(' ');
        for (const variant of [/fwd:/, /dx:\S*:flipped-conv/, /dx:\S*:polyphase/, /dx:\S*:conv-transpose/, /dw:\S*:folded/, /dw:\S*:batched/, /dw:\S*:shifted/]) {
          expect(keys, String(variant)).to.match(variant);
        }
        for (const variant of [/dx:\S*:polyphase /, /dx:\S*:polyphase-folded/]) expect(keys + ' ', String(variant)).to.match(variant);
        // Strided filter gradients with dilation 1 go over the input's phases, as stride-1 ones.
        expect(ortSessionKeys().filter((key) => /^dw:s([2-9]|\d\d)d1p/.test(key))).to.deep.equal([]);
      }
    });

    it(`${rung}: convTranspose1d adds its bias per output channel, with its gradient, and refuses a bias of the wrong size`, async () => {
      await initEngine({ backend: rung });
      const bias = tf.tensor1d([0.5, -1, 2, 0]);
      // Stride 1 (flipped filter), stride 2 over a long and a short input (both polyphase
      // forms), and stride with dilation (ConvTranspose): every path that adds the bias itself.
      const variants: { length: number; options: ConvTranspose1dOptions }[] = [
        { length: 20, options: { stride: 1, trim: [1, 1] } },
        { length: 300, options: { stride: 2, trim: [2, 2] } },
        { length: 20, options: { stride: 2, trim: [2, 2] } },
        { length: 20, options: { stride: 2, dilation: 2, trim: [1, 0] } },
      ];
      for (const { length, options } of variants) {
        const x = tf.randomNormal([2, 3, length]) as tf.Tensor3D;
        const w = tf.randomNormal([3, 4, 6]) as tf.Tensor3D; // [Cin, Cout, K]
        const plain = convTranspose1d(x, w, options);
        const biased = convTranspose1d(x, w, { ...options, bias });
        const expected = plain.add(bias.reshape([4, 1]));
        const label = JSON.stringify({ length, ...options });
        expect(relativeError(biased.dataSync(), expected.dataSync()), label).to.be.below(1e-5);
        // d/db Σ g·y = Σ over batch and time of g, per channel.
        const g = tf.randomNormal(biased.shape) as tf.Tensor3D;
        const [db] = tf.grads((bi: tf.Tensor) => convTranspose1d(x, w, { ...options, bias: bi as tf.Tensor1D }).mul(g).sum())([bias]);
        expect(relativeError(db!.dataSync(), g.sum([0, 2]).dataSync()), label).to.be.below(1e-5);
        tf.dispose([x, w, plain, biased, expected, g, db!]);
      }
      const x = tf.randomNormal([2, 3, 20]) as tf.Tensor3D;
      const w = tf.randomNormal([3, 4, 6]) as tf.Tensor3D;
      expect(() => convTranspose1d(x, w, { stride: 2, trim: [2, 2], bias: tf.zeros([3]) as tf.Tensor1D })).to.throw(/bias of shape \[3\]/);
      expect(() => conv1d(x, tf.zeros([4, 3, 3]) as tf.Tensor3D, { bias: tf.zeros([3]) as tf.Tensor1D })).to.throw(/bias of shape \[3\]/);
      tf.dispose([x, w, bias]);
    });

    it(`${rung}: leaks no tensors and computes only the gradients asked for`, async () => {
      await initEngine({ backend: rung });
      const x = tf.randomNormal([2, 3, 50]) as tf.Tensor3D;
      const w = tf.randomNormal([4, 3, 5]) as tf.Tensor3D;
      const before = tf.memory().numTensors;
      let dw: tf.Tensor | undefined;
      const profile = await tf.profile(() => {
        [dw] = tf.grads((wi: tf.Tensor) => conv1d(x, wi as tf.Tensor3D, { stride: 2, padding: 'same' }).square().sum())([w]);
      });
      expect(dw!.shape).to.deep.equal([4, 3, 5]);
      dw!.dispose();
      // Only w was asked for: the filter gradient ran, the input gradient did not.
      const kernels = profile.kernels.map((k) => k.name);
      expect(kernels).to.include(CONV1D_FILTER_GRADIENT);
      expect(kernels).to.not.include(CONV1D_INPUT_GRADIENT);
      tf.tidy(() => {
        convTranspose1d(x, tf.randomNormal([3, 2, 4]) as tf.Tensor3D, { stride: 2, trim: [1, 1] });
      });
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([x, w]);
    });

    it(`${rung}: convTranspose1d is the adjoint of conv1d, gradients included`, async () => {
      await initEngine({ backend: rung });
      const rand = mulberry32(11);
      for (const c of cases.slice(0, 20)) {
        const a = resolveConv1dAttributes(c.length, c.kernelSize, c);
        const outLength = conv1dOutputLength(c.length, c.kernelSize, a);
        // The output padding that makes the transposed conv give back exactly c.length samples.
        const span = a.dilation * (c.kernelSize - 1) + 1;
        const outputPadding = c.length + a.padLeft + a.padRight - (a.stride * (outLength - 1) + span);
        if (outputPadding >= a.stride) continue; // padding longer than the stride covers: not invertible in length
        const options = { stride: a.stride, dilation: a.dilation, trim: [a.padLeft, a.padRight] as const, outputPadding };

        const x = randomArray(rand, c.batch * c.length * c.inChannels);
        const w = randomArray(rand, c.kernelSize * c.inChannels * c.outChannels);
        const u = randomArray(rand, c.batch * outLength * c.outChannels);
        const xt = tf.tensor3d(x, [c.batch, c.inChannels, c.length]);
        const wt = tf.tensor3d(w, [c.outChannels, c.inChannels, c.kernelSize]);
        const ut = tf.tensor3d(u, [c.batch, c.outChannels, outLength]);
        // <conv(x), u> = <x, convT(u)>
        const left = conv1d(xt, wt, c).mul(ut).sum().dataSync()[0]!;
        const back = convTranspose1d(ut, wt, options);
        expect(back.shape).to.deep.equal([c.batch, c.inChannels, c.length]);
        const right = back.mul(xt).sum().dataSync()[0]!;
        expect(Math.abs(left - right) / Math.max(1, Math.abs(left)), JSON.stringify(c)).to.be.below(1e-4);

        // d<convT(u), x>/du = conv(x), d/dw matches the conv's filter gradient.
        const [du, dwT] = tf.grads((ui: tf.Tensor, wi: tf.Tensor) =>
          convTranspose1d(ui as tf.Tensor3D, wi as tf.Tensor3D, options).mul(xt).sum(),
        )([ut, wt]);
        const { y } = referenceConv(x, w, c, a);
        const { dw } = referenceGradients(x, w, u, c, a, outLength);
        expect(relativeError(du!.dataSync(), y), `du ${JSON.stringify(c)}`).to.be.below(1e-4);
        expect(relativeError(dwT!.dataSync(), dw), `dw ${JSON.stringify(c)}`).to.be.below(1e-4);
        tf.dispose([xt, wt, ut, back, du!, dwT!]);
      }
    });
  }

  it('wasm+onnxruntime: batched matmul (transposes, broadcast batch) matches plain loops', async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const rand = mulberry32(3);
    for (const [batch, m, k, n, ta, tb] of [
      [1, 64, 96, 80, false, false],
      [3, 70, 65, 90, true, false],
      [2, 128, 40, 100, false, true],
      [4, 50, 100, 60, true, true],
      [1, 3, 4, 5, false, false], // small: stays on tfjs's own kernel
    ] as const) {
      const a = randomArray(rand, batch * m * k);
      const b = randomArray(rand, k * n); // batch 1: broadcast
      const at = tf.tensor3d(a, ta ? [batch, k, m] : [batch, m, k]);
      const bt = tf.tensor3d(b, tb ? [1, n, k] : [1, k, n]);
      const c = tf.matMul(at, bt, ta, tb);
      expect(c.shape).to.deep.equal([batch, m, n]);
      const expected = new Float64Array(batch * m * n);
      const A = at.arraySync();
      const B = bt.arraySync()[0]!;
      for (let p = 0; p < batch; p++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let q = 0; q < k; q++) s += (ta ? A[p]![q]![i]! : A[p]![i]![q]!) * (tb ? B[j]![q]! : B[q]![j]!);
            expected[(p * m + i) * n + j] = s;
          }
      expect(relativeError(c.dataSync(), expected), `${batch}x${m}x${k}x${n}`).to.be.below(1e-4);
      tf.dispose([at, bt, c]);
    }
  });
});
