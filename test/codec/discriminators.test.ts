/**
 * The discriminators and what they are built from: the 2-D convolution on
 * conv1d against plain loops (forward and both gradients), shapes, gradients
 * reaching every parameter, hinge and feature-matching values on hand-made
 * inputs, bad configuration, and a tiny discriminator learning to tell a tone
 * from noise.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { featureMatchingLoss, hingeDiscriminatorLoss, hingeGeneratorLoss } from '../../src/codec/adversarial.js';
import { conv2d, conv2dOutputSize } from '../../src/codec/conv2d.js';
import {
  MultiPeriodDiscriminator,
  MultiScaleStftDiscriminator,
  SMALL_MPD_CHANNELS,
  SMALL_MSSTFTD_FILTERS,
  type Discriminator,
} from '../../src/codec/discriminators.js';
import { initEngine } from '../../src/engine/index.js';
import { AdamW } from '../../src/train/optimizer.js';
import { mulberry32, randomArray } from '../helpers/random.js';

interface Conv2dCase {
  batch: number;
  /** H: the gathered axis. */
  rows: number;
  inChannels: number;
  /** W: the axis conv1d runs along. */
  width: number;
  outChannels: number;
  kh: number;
  kw: number;
  /** [H, W], as dilation and padding. */
  stride: [number, number];
  dilation: [number, number];
  padding: [number, number];
}

/** A plain-loop 2-D convolution: x [B, C, H, W], w [Co, Ci, kH, kW], y [B, Co, Ho, Wo]. */
function loopConv2d(c: Conv2dCase, x: Float32Array, w: Float32Array): { y: Float64Array; ho: number; wo: number } {
  const ho = conv2dOutputSize(c.rows, c.kh, c.stride[0], c.dilation[0], c.padding[0]);
  const wo = conv2dOutputSize(c.width, c.kw, c.stride[1], c.dilation[1], c.padding[1]);
  const y = new Float64Array(c.batch * ho * c.outChannels * wo);
  forEachTap(c, ho, wo, (yi, xi, wi) => {
    y[yi] += x[xi]! * w[wi]!;
  });
  return { y, ho, wo };
}

/** Calls visit(output index, input index, weight index) for every product the convolution sums. */
function forEachTap(c: Conv2dCase, ho: number, wo: number, visit: (yi: number, xi: number, wi: number) => void): void {
  for (let b = 0; b < c.batch; b++)
    for (let h = 0; h < ho; h++)
      for (let o = 0; o < c.outChannels; o++)
        for (let v = 0; v < wo; v++)
          for (let ci = 0; ci < c.inChannels; ci++)
            for (let i = 0; i < c.kh; i++)
              for (let j = 0; j < c.kw; j++) {
                const hi = h * c.stride[0] + i * c.dilation[0] - c.padding[0];
                const vi = v * c.stride[1] + j * c.dilation[1] - c.padding[1];
                if (hi < 0 || hi >= c.rows || vi < 0 || vi >= c.width) continue;
                const yi = ((b * c.outChannels + o) * ho + h) * wo + v;
                const xi = ((b * c.inChannels + ci) * c.rows + hi) * c.width + vi;
                const wi = ((o * c.inChannels + ci) * c.kh + i) * c.kw + j;
                visit(yi, xi, wi);
              }
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function scalar(t: tf.Tensor): number {
  return t.dataSync()[0]!;
}

function tone(batch: number, length: number, sampleRate: number, seed: number): tf.Tensor3D {
  const rand = mulberry32(seed);
  const values = new Float32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    const hz = 150 + 300 * rand();
    const phase = 2 * Math.PI * rand();
    for (let n = 0; n < length; n++) values[b * length + n] = 0.5 * Math.sin((2 * Math.PI * hz * n) / sampleRate + phase);
  }
  return tf.tensor3d(values, [batch, 1, length]);
}

describe('codec discriminators', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });

  const cases: Conv2dCase[] = [
    // EnCodec's strided dilated layer: time on H (kernel 3, dilation 2), frequency on W (kernel 9, stride 2).
    { batch: 2, rows: 11, inChannels: 3, width: 13, outChannels: 4, kh: 3, kw: 9, stride: [1, 2], dilation: [2, 1], padding: [2, 4] },
    // HiFi-GAN's period layer: period phase on H (kernel 1), time on W (kernel 5, stride 3).
    { batch: 2, rows: 3, inChannels: 2, width: 20, outChannels: 3, kh: 1, kw: 5, stride: [1, 3], dilation: [1, 1], padding: [0, 2] },
    // Odd corners: a strided, dilated, padded gather on H; dilation on W.
    { batch: 1, rows: 12, inChannels: 2, width: 9, outChannels: 2, kh: 3, kw: 2, stride: [3, 2], dilation: [2, 2], padding: [1, 1] },
    // A W kernel shorter than its stride (rows must still line up).
    { batch: 2, rows: 4, inChannels: 1, width: 9, outChannels: 2, kh: 2, kw: 1, stride: [1, 3], dilation: [1, 1], padding: [0, 0] },
  ];

  for (const c of cases) {
    it(`conv2d on conv1d equals a plain-loop 2-D convolution, with both gradients (kernel ${c.kh}×${c.kw}, stride ${c.stride}, dilation ${c.dilation})`, () => {
      const rand = mulberry32(c.kh * 100 + c.kw);
      const xValues = randomArray(rand, c.batch * c.rows * c.inChannels * c.width);
      const wValues = randomArray(rand, c.outChannels * c.inChannels * c.kh * c.kw);
      const x = tf.tensor4d(xValues, [c.batch, c.inChannels, c.rows, c.width]);
      const w = tf.tensor4d(wValues, [c.outChannels, c.inChannels, c.kh, c.kw]);
      const reference = loopConv2d(c, xValues, wValues);
      const y = conv2d(x, w, { stride: c.stride, dilation: c.dilation, padding: c.padding });
      expect(y.shape).to.deep.equal([c.batch, c.outChannels, reference.ho, reference.wo]);
      expect(maxAbsDifference(y.dataSync(), reference.y)).to.be.below(1e-4);

      // Gradients of Σ y·r: dx[xi] = Σ r[yi]·w[wi], dw[wi] = Σ r[yi]·x[xi] over the same taps.
      const rValues = randomArray(rand, reference.y.length);
      const r = tf.tensor4d(rValues, y.shape);
      const grads = tf.grads((xs: tf.Tensor, ws: tf.Tensor) =>
        tf.sum(conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, { stride: c.stride, dilation: c.dilation, padding: c.padding }).mul(r)),
      )([x, w]);
      const dx = new Float64Array(xValues.length);
      const dw = new Float64Array(wValues.length);
      forEachTap(c, reference.ho, reference.wo, (yi, xi, wi) => {
        dx[xi] += rValues[yi]! * wValues[wi]!;
        dw[wi] += rValues[yi]! * xValues[xi]!;
      });
      expect(maxAbsDifference(grads[0]!.dataSync(), dx)).to.be.below(1e-4);
      expect(maxAbsDifference(grads[1]!.dataSync(), dw)).to.be.below(1e-4);

      // With a bias: added per output channel, its gradient the sum of r over everything else.
      const biasValues = randomArray(rand, c.outChannels);
      const bias = tf.tensor1d(biasValues);
      const withBias = conv2d(x, w, { stride: c.stride, dilation: c.dilation, padding: c.padding, bias }).sub(y);
      const perChannel = tf.sum(r, [0, 2, 3]).dataSync();
      const biasGrad = tf.grads((b: tf.Tensor) => tf.sum(conv2d(x, w, { stride: c.stride, dilation: c.dilation, padding: c.padding, bias: b as tf.Tensor1D }).mul(r)))([bias])[0]!;
      expect(maxAbsDifference(tf.mean(withBias, [0, 2, 3]).dataSync(), biasValues)).to.be.below(1e-4);
      expect(maxAbsDifference(biasGrad.dataSync(), perChannel)).to.be.below(1e-3);
      tf.dispose([x, w, y, r, bias, withBias, biasGrad, ...grads]);
    });
  }

  it('gives one logit tensor and the hidden feature maps per sub-discriminator', () => {
    const mpd = new MultiPeriodDiscriminator({ channels: SMALL_MPD_CHANNELS });
    const msstftd = new MultiScaleStftDiscriminator({ filters: SMALL_MSSTFTD_FILTERS });
    const audio = tone(2, 4000, 16000, 1);
    const periodOut = mpd.forward(audio);
    expect(periodOut.logits).to.have.length(5);
    expect(periodOut.features.map((f) => f.length)).to.deep.equal([5, 5, 5, 5, 5]);
    // Period 3: 4000 → 4002 samples (reflect pad) → 1334 rows, then /3 four times (HiFi-GAN's padding 2).
    let rows = 1334;
    for (let i = 0; i < 4; i++) rows = Math.floor((rows + 4 - 5) / 3) + 1;
    expect(periodOut.features[1]![4]!.shape).to.deep.equal([2, SMALL_MPD_CHANNELS[4], 3, rows]);
    expect(periodOut.logits[1]!.shape).to.deep.equal([2, 3 * rows]);

    const stftOut = msstftd.forward(audio);
    expect(stftOut.logits).to.have.length(5);
    expect(stftOut.features.every((f) => f.length === 5)).to.equal(true);
    // nFft 1024, hop 256, no centring: 1 + (4000 − 1024) / 256 = 12 frames, 513 bins → 257 → 129 → 65.
    expect(stftOut.features[1]![0]!.shape).to.deep.equal([2, SMALL_MSSTFTD_FILTERS, 12, 513]);
    expect(stftOut.features[1]![3]!.shape).to.deep.equal([2, SMALL_MSSTFTD_FILTERS, 12, 65]);
    expect(stftOut.logits[1]!.shape).to.deep.equal([2, 12 * 65]);
    mpd.dispose();
    msstftd.dispose();
  });

  it('gradients of the adversarial losses reach every discriminator parameter and the input audio', () => {
    const discriminators: Discriminator[] = [
      new MultiPeriodDiscriminator({ channels: SMALL_MPD_CHANNELS, periods: [2, 3] }),
      new MultiScaleStftDiscriminator({ filters: SMALL_MSSTFTD_FILTERS, nFfts: [512, 128] }),
    ];
    const real = tone(2, 3000, 16000, 2);
    const fake = tf.variable(tf.randomNormal([2, 1, 3000], 0, 0.3, 'float32', 3));
    for (const d of discriminators) {
      const variables = d.parameters.trainable();
      expect(variables.length).to.be.greaterThan(0);
      const { grads } = tf.variableGrads(() => {
        const r = d.forward(real);
        const f = d.forward(fake as tf.Tensor3D);
        // The generator term too: with real and fake scores near 0 the hinge terms' bias
        // gradients cancel exactly (−1 + 1), which would hide a disconnected bias.
        const adversarial = hingeDiscriminatorLoss(r.logits, f.logits).add(hingeGeneratorLoss(f.logits).mul(0.5));
        return adversarial.add(featureMatchingLoss(r.features, f.features)) as tf.Scalar;
      }, [...variables, fake]);
      for (const [name, v] of d.parameters.named()) {
        const g = grads[v.name];
        expect(g, name).to.not.equal(undefined);
        expect(scalar(tf.max(tf.abs(g!))), name).to.be.greaterThan(0);
      }
      expect(scalar(tf.max(tf.abs(grads[fake.name]!)))).to.be.greaterThan(0);
      tf.dispose(grads);
      d.dispose();
    }
    tf.dispose([real, fake]);
  });

  it('hinge losses on hand-made logits', () => {
    const real = [tf.tensor2d([[2, 0.5]]), tf.tensor2d([[-1]])];
    const fake = [tf.tensor2d([[-2, 0]]), tf.tensor2d([[0.5]])];
    // Sub 0: real relu(1−[2, 0.5]) = [0, 0.5] → 0.25; fake relu(1+[−2, 0]) = [0, 1] → 0.5.
    // Sub 1: real relu(1+1) = 2; fake relu(1.5) = 1.5. Mean over subs: (0.75 + 3.5) / 2.
    expect(scalar(hingeDiscriminatorLoss(real, fake))).to.be.closeTo(2.125, 1e-6);
    // Generator: sub 0 relu(1−[−2, 0]) = [3, 1] → 2; sub 1 relu(0.5) → 0.5; mean 1.25.
    expect(scalar(hingeGeneratorLoss(fake))).to.be.closeTo(1.25, 1e-6);
    // Past the margins nothing is left to gain.
    expect(scalar(hingeDiscriminatorLoss([tf.tensor2d([[1, 3]])], [tf.tensor2d([[-1, -5]])]))).to.equal(0);
    expect(scalar(hingeGeneratorLoss([tf.tensor2d([[1.5]])]))).to.equal(0);
    expect(() => hingeDiscriminatorLoss(real, fake.slice(1))).to.throw(/2 real outputs but 1 fake/);
  });

  it('feature matching: zero for equal features, relative L1 per layer averaged over layers', () => {
    const a = tf.tensor4d([1, -2, 3, -4], [1, 1, 1, 4]);
    const b = tf.tensor4d([1, -2, 3, 0], [1, 1, 1, 4]);
    const c = tf.tensor4d([2, 2], [1, 1, 1, 2]);
    expect(scalar(featureMatchingLoss([[a, c]], [[a, c]]))).to.equal(0);
    // Layer a→b: mean|diff| = 1, mean|real| = 2.5 → 0.4; layer c→0: 2 / 2 = 1. Mean 0.7.
    const zero = tf.zeros([1, 1, 1, 2]);
    expect(scalar(featureMatchingLoss([[a, c]], [[b, zero]]))).to.be.closeTo(0.7, 1e-6);
    // Scale-free: multiplying both sides by 10 changes nothing.
    expect(scalar(featureMatchingLoss([[a.mul(10)]], [[b.mul(10)]]))).to.be.closeTo(0.4, 1e-6);
    expect(() => featureMatchingLoss([[a]], [[c]])).to.throw(/differ in shape/);
  });

  it('refuses bad configuration with one line naming the field', () => {
    expect(() => new MultiPeriodDiscriminator({ periods: [2, 0] })).to.throw(/^MultiPeriodDiscriminator: periods\[1\] must be an integer >= 1, got 0$/);
    expect(() => new MultiPeriodDiscriminator({ channels: [] })).to.throw(/channels must be a non-empty list/);
    expect(() => new MultiPeriodDiscriminator({ negativeSlope: 2 })).to.throw(/negativeSlope/);
    expect(() => new MultiScaleStftDiscriminator({ filters: 0 })).to.throw(/^MultiScaleStftDiscriminator: filters must be/);
    expect(() => new MultiScaleStftDiscriminator({ nFfts: [512, 256], hopLengths: [128] })).to.throw(/hopLengths must have one entry per nFfts entry/);
    expect(() => new MultiScaleStftDiscriminator({ nFfts: [256], winLengths: [512] })).to.throw(/winLengths\[0\] must be at most nFfts\[0\]/);
    const small = new MultiScaleStftDiscriminator({ filters: 2, nFfts: [2048] });
    expect(() => small.forward(tf.zeros([1, 1, 1000]) as tf.Tensor3D)).to.throw(/1000 samples are shorter than nFfts\[0\] = 2048/);
    expect(() => small.forward(tf.zeros([1, 2, 4096]) as tf.Tensor3D)).to.throw(/audio must be \[batch, 1, time\]/);
    small.dispose();
  });

  it('a tiny discriminator pair learns to tell tones from noise (its hinge loss falls)', () => {
    const discriminators: Discriminator[] = [
      new MultiPeriodDiscriminator({ channels: [4, 8, 8, 8, 8], periods: [2, 3], seed: 5 }),
      new MultiScaleStftDiscriminator({ filters: 4, nFfts: [256, 128], seed: 6 }),
    ];
    const real = tone(4, 2048, 16000, 7);
    const fake = tf.randomNormal([4, 1, 2048], 0, 0.35, 'float32', 8) as tf.Tensor3D;
    for (const d of discriminators) {
      const optimizer = new AdamW(d.parameters.named(), { learningRate: 1e-2, beta1: 0.5, beta2: 0.9 });
      const losses: number[] = [];
      for (let step = 0; step < 12; step++) {
        losses.push(optimizer.minimize(() => hingeDiscriminatorLoss(d.forward(real).logits, d.forward(fake).logits)).loss);
      }
      // Untrained, both sides score near 0 (loss ≈ 2); it must fall clearly, and real must score above fake.
      expect(losses[losses.length - 1]!, `losses ${losses.map((l) => l.toFixed(3))}`).to.be.below(0.6 * losses[0]!);
      const realScore = tf.tidy(() => scalar(tf.mean(tf.stack(d.forward(real).logits.map((l) => tf.mean(l))))));
      const fakeScore = tf.tidy(() => scalar(tf.mean(tf.stack(d.forward(fake).logits.map((l) => tf.mean(l))))));
      expect(realScore).to.be.greaterThan(fakeScore);
      optimizer.dispose();
      d.dispose();
    }
    tf.dispose([real, fake]);
  });
});
