/**
 * AdamW: same steps as tfjs's Adam, clipping and decay by the
 * formula, non-finite gradients skipped, checkpoints that resume exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { initEngine, type BackendName } from '../../src/engine/index.js';
import { AdamW, warmupCosine } from '../../src/train/optimizer.js';
import { mulberry32, randomArray } from '../helpers/random.js';

const RUNGS: BackendName[] = ['wasm+onnxruntime', 'wasm', 'cpu'];

let variableSerial = 0;
function variableFrom(values: Float32Array, shape: number[]): tf.Variable {
  return tf.variable(tf.tensor(values, shape), true, `adamw-test-${variableSerial++}`);
}

function maxAbsoluteDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-6, Math.abs(b[i]!)));
  return worst;
}

/** A small least-squares problem whose gradients differ per element and per step. */
function problem(seed: number) {
  const rand = mulberry32(seed);
  const inputs = tf.tensor(randomArray(rand, 16 * 5), [16, 5]);
  const targets = tf.tensor(randomArray(rand, 16 * 3), [16, 3]);
  const init = { w: randomArray(rand, 5 * 3), b: randomArray(rand, 3) };
  const make = () => ({ w: variableFrom(init.w, [5, 3]), b: variableFrom(init.b, [3]) });
  const loss = (p: { w: tf.Variable; b: tf.Variable }) => () =>
    tf.matMul(inputs, p.w).add(p.b).sub(targets).square().mean() as tf.Scalar;
  return { make, loss, dispose: () => tf.dispose([inputs, targets]) };
}

describe('AdamW', function () {
  this.timeout(60_000);

  for (const rung of RUNGS) {
    it(`takes the same steps as tfjs's Adam on ${rung}`, async () => {
      await initEngine({ backend: rung });
      const p = problem(1);
      const ours = p.make();
      const theirs = p.make();
      const adamw = new AdamW([ours.w, ours.b], { learningRate: 0.05 });
      const adam = tf.train.adam(0.05);
      for (let step = 0; step < 10; step++) {
        adamw.minimize(p.loss(ours));
        const cost = adam.minimize(p.loss(theirs), true, [theirs.w, theirs.b]);
        if (cost !== null) cost.dispose();
      }
      // tfjs rounds every intermediate to float32; ours are float64 until the store.
      // That differs by ~1e-5 of a step (0.05) per step, so 10 steps stay within 2e-5.
      expect(maxAbsoluteDifference(ours.w.dataSync(), theirs.w.dataSync())).to.be.below(2e-5);
      expect(maxAbsoluteDifference(ours.b.dataSync(), theirs.b.dataSync())).to.be.below(2e-5);
      adam.dispose();
      tf.dispose([ours.w, ours.b, theirs.w, theirs.b]);
      p.dispose();
    });
  }

  it('clips the global norm and decays weights as the formula says', async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const start = Float32Array.from([1, -2, 3, 0.5]);
    const gradient = Float32Array.from([3, 0, -4, 0]); // norm 5
    const p = variableFrom(start, [4]);
    const lr = 0.1;
    const [beta1, beta2, eps, wd, maxNorm] = [0.8, 0.95, 1e-8, 0.01, 1];
    const optimizer = new AdamW([p], { learningRate: lr, beta1, beta2, epsilon: eps, weightDecay: wd, maxGradNorm: maxNorm });
    const grads = { [p.name]: tf.tensor(gradient, [4]) };
    const expected = Array.from(start, (x) => x);
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const report = optimizer.applyGradients(grads);
      expect(report.gradNorm).to.be.closeTo(5, 1e-6);
      expect(report.applied).to.equal(true);
      for (let i = 0; i < 4; i++) {
        const g = (gradient[i]! * maxNorm) / 5;
        m[i] = beta1 * m[i]! + (1 - beta1) * g;
        v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
        const mHat = m[i]! / (1 - beta1 ** t);
        const vHat = v[i]! / (1 - beta2 ** t);
        expected[i] = expected[i]! - lr * (mHat / (Math.sqrt(vHat) + eps) + wd * expected[i]!);
      }
    }
    expect(maxRelativeDifference(p.dataSync(), expected)).to.be.below(1e-5);
    // The parameters with zero gradient moved by weight decay alone.
    expect(p.dataSync()[1]).to.be.closeTo(-2 * (1 - lr * wd) ** 3, 1e-6);
    tf.dispose([p, ...Object.values(grads)]);
  });

  it('skips a step whose gradients hold NaN or Inf, and says so', async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const p = variableFrom(Float32Array.from([1, 2]), [2]);
    const optimizer = new AdamW([p], { learningRate: 0.1 });
    for (const bad of [NaN, Infinity]) {
      const grads = { [p.name]: tf.tensor([0.5, bad], [2]) };
      const report = optimizer.applyGradients(grads);
      expect(report.applied).to.equal(false);
      expect(optimizer.step).to.equal(0);
      expect(Array.from(p.dataSync())).to.deep.equal([1, 2]);
      tf.dispose(grads);
    }
    p.dispose();
  });

  it('leaves a clone of a parameter untouched when it updates the parameter', async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const p = variableFrom(Float32Array.from([1, 2, 3]), [3]);
    const snapshot = tf.clone(p);
    const optimizer = new AdamW([p], { learningRate: 0.1 });
    const grads = { [p.name]: tf.tensor([1, 1, 1], [3]) };
    optimizer.applyGradients(grads);
    expect(Array.from(snapshot.dataSync())).to.deep.equal([1, 2, 3]);
    expect(p.dataSync()[0]).to.be.closeTo(0.9, 1e-6);
    tf.dispose([p, snapshot, ...Object.values(grads)]);
  });

  it('resumes from a saved state exactly as if never stopped', async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const p = problem(2);
    const straight = p.make();
    const named = (q: { w: tf.Variable; b: tf.Variable }) => new Map([['w', q.w], ['b', q.b]]);
    const straightOptimizer = new AdamW(named(straight), { learningRate: 0.05, maxGradNorm: 0.5 });
    for (let i = 0; i < 5; i++) straightOptimizer.minimize(p.loss(straight));

    const first = p.make();
    const firstOptimizer = new AdamW(named(first), { learningRate: 0.05, maxGradNorm: 0.5 });
    for (let i = 0; i < 3; i++) firstOptimizer.minimize(p.loss(first));
    const saved = firstOptimizer.state();
    const resumed = p.make();
    resumed.w.assign(first.w);
    resumed.b.assign(first.b);
    // Other tfjs variables, same keys: the state maps over by key.
    const resumedOptimizer = new AdamW(named(resumed), { learningRate: 0.05, maxGradNorm: 0.5 });
    resumedOptimizer.loadState(saved);
    for (let i = 0; i < 2; i++) resumedOptimizer.minimize(p.loss(resumed));

    expect(Array.from(resumed.w.dataSync())).to.deep.equal(Array.from(straight.w.dataSync()));
    expect(Array.from(resumed.b.dataSync())).to.deep.equal(Array.from(straight.b.dataSync()));
    expect(() => resumedOptimizer.loadState({ step: 1, moments: {} })).to.throw(/no moments for/);
    tf.dispose([straight.w, straight.b, first.w, first.b, resumed.w, resumed.b]);
    p.dispose();
  });

  it('refuses settings outside their ranges', () => {
    const p = variableFrom(Float32Array.from([1]), [1]);
    expect(() => new AdamW([p], { learningRate: 1, beta1: 1 })).to.throw(/beta1 must be in \[0, 1\)/);
    expect(() => new AdamW([p], { learningRate: 1, maxGradNorm: 0 })).to.throw(/maxGradNorm must be > 0/);
    expect(() => new AdamW([p, p], { learningRate: 1 })).to.throw(/listed twice/);
    p.dispose();
  });
});

describe('warmupCosine', () => {
  it('rises linearly, then falls along a half cosine to the final rate', () => {
    const schedule = warmupCosine({ peak: 1e-3, warmupSteps: 10, totalSteps: 110, final: 1e-5 });
    expect(schedule(5)).to.be.closeTo(5e-4, 1e-12);
    expect(schedule(10)).to.be.closeTo(1e-3, 1e-12);
    expect(schedule(60)).to.be.closeTo((1e-3 + 1e-5) / 2, 1e-12);
    expect(schedule(110)).to.be.closeTo(1e-5, 1e-12);
    expect(schedule(500)).to.be.closeTo(1e-5, 1e-12);
    expect(() => warmupCosine({ peak: 1, warmupSteps: 5, totalSteps: 5 })).to.throw(RangeError);
  });
});
