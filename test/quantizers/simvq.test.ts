import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { initEngine } from '../../src/engine/index.js';
import { InputError } from '../../src/errors.js';
import { SimVQ, VectorQuantizer, codeUsage, simvqBasis, type Quantizer } from '../../src/quantizers/index.js';
import { gaussianArray } from '../../src/random.js';
import { mulberry32 } from '../helpers/random.js';

function sha256(values: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
}

/** A small seeded 2-D toy: an offset, sheared Gaussian cloud (a linear image of a Gaussian). */
function toyData(n: number, seed: number): tf.Tensor2D {
  const g = gaussianArray(mulberry32(seed), 2 * n);
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    data[2 * i] = 2 + 1.5 * g[2 * i]! + 0.5 * g[2 * i + 1]!;
    data[2 * i + 1] = -1 + 0.6 * g[2 * i + 1]!;
  }
  return tf.tensor2d(data, [n, 2]);
}

function train(quantizer: Quantizer, data: tf.Tensor2D, steps: number, learningRate: number): void {
  const optimizer = tf.train.adam(learningRate);
  for (let s = 0; s < steps; s++) optimizer.minimize(() => quantizer.forward(data).loss, false, quantizer.trainableVariables);
  optimizer.dispose();
}

describe('quantizers: SimVQ', function () {
  this.timeout(60_000);
  before(async () => {
    await initEngine();
  });

  it('sends gradient to W and b, never to C; C stays bit-identical to its seed through training', () => {
    const q = new SimVQ({ codebookSize: 64, dim: 8, seed: 3 });
    const z = tf.randomNormal([32, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
    expect(q.basis).to.not.be.instanceOf(tf.Variable);
    expect(q.trainableVariables).to.have.members([q.projection, q.projectionBias!]);
    const { grads, value } = tf.variableGrads(() => q.forward(z).loss, q.trainableVariables);
    expect(Object.keys(grads)).to.have.members([q.projection.name, q.projectionBias!.name]);
    for (const g of Object.values(grads)) expect(tf.norm(g).dataSync()[0]).to.be.greaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    const before = q.projection.dataSync().slice();
    train(q, z, 5, 1e-2);
    expect(Array.from(q.projection.dataSync())).to.not.deep.equal(Array.from(before));
    expect(sha256(q.basis.dataSync() as Float32Array)).to.equal(sha256(simvqBasis(64, 8, 3)));
    q.dispose();
    z.dispose();
  });

  it('normalized: searches by angle, quantizes to unit vectors, and still trains W', () => {
    const q = new SimVQ({ codebookSize: 256, dim: 8, seed: 4, normalized: true });
    // Latents far smaller than the codes: by distance a few low-norm codes would take them all.
    const z = tf.mul(tf.randomNormal([200, 8], 0, 1, 'float32', 6), 0.01) as tf.Tensor2D;
    const norms = (t: tf.Tensor) => Array.from(tf.sqrt(tf.sum(tf.square(t), 1)).dataSync());
    for (const n of norms(q.codebook())) expect(n).to.be.closeTo(1, 1e-5);
    const out = q.forward(z);
    for (const n of norms(out.quantized)) expect(n).to.be.closeTo(1, 1e-5);
    expect(new Set(out.indices.dataSync()).size).to.be.greaterThan(100);
    const plain = new SimVQ({ codebookSize: 256, dim: 8, seed: 4 });
    expect(new Set(plain.encode(z).dataSync()).size).to.be.below(20);
    // The nearest code is the one at the smallest angle: the largest cosine.
    const codebook = q.codebook().arraySync();
    const ids = q.encode(z).dataSync();
    const rows = z.arraySync();
    for (let i = 0; i < 20; i++) {
      const cosines = codebook.map((c) => c.reduce((sum, v, j) => sum + v * rows[i]![j]!, 0));
      expect(ids[i]).to.equal(cosines.indexOf(Math.max(...cosines)));
    }
    const { grads, value } = tf.variableGrads(() => q.forward(z).loss, q.trainableVariables);
    expect(tf.norm(grads[q.projection.name]!).dataSync()[0]).to.be.greaterThan(0);
    tf.dispose([value, out.quantized, out.indices, out.loss, ...Object.values(grads)]);
    q.dispose();
    plain.dispose();
    z.dispose();
  });

  it('with trainableBasis, C is a variable and does get gradient (the paper ablation)', () => {
    const q = new SimVQ({ codebookSize: 64, dim: 8, seed: 3, trainableBasis: true });
    const z = tf.randomNormal([32, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
    expect(q.method).to.equal('simvq-train-c');
    const { grads, value } = tf.variableGrads(() => q.forward(z).loss, q.trainableVariables);
    const gradC = grads[(q.basis as tf.Variable).name]!;
    expect(tf.norm(gradC).dataSync()[0]).to.be.greaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    q.dispose();
    z.dispose();
  });

  it('straight-through: dL/dz of the quantized output is exactly dL/dq, and its value is q', () => {
    const q = new SimVQ({ codebookSize: 32, dim: 4, seed: 1 });
    const z = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 9);
    const upstream = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 10);
    const gradZ = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(q.forward(x).quantized, upstream)))(z);
    expect(Array.from(gradZ.dataSync())).to.deep.equal(Array.from(upstream.dataSync()));
    const out = q.forward(z);
    const decoded = q.decode(out.indices);
    expect(tf.max(tf.abs(tf.sub(out.quantized, decoded))).dataSync()[0]).to.be.below(1e-6);
    tf.dispose([z, upstream, gradZ, out.quantized, out.indices, out.loss, decoded]);
    q.dispose();
  });

  it('loss = beta·mean((z − q)²) + mean((z − q)²) in value; its z-gradient is the commitment term only', () => {
    const beta = 0.3;
    const q = new SimVQ({ codebookSize: 16, dim: 4, seed: 2, beta });
    const z = tf.randomNormal([10, 4], 0, 1, 'float32', 11) as tf.Tensor2D;
    const out = q.forward(z);
    const qv = q.decode(out.indices);
    const mse = tf.mean(tf.square(tf.sub(z, qv))).dataSync()[0]!;
    expect(out.loss.dataSync()[0]).to.be.closeTo((1 + beta) * mse, 1e-5);
    const gz = tf.grad((x: tf.Tensor) => q.forward(x).loss)(z);
    const expected = tf.mul(tf.sub(z, qv), (2 * beta) / (10 * 4));
    expect(tf.max(tf.abs(tf.sub(gz, expected))).dataSync()[0]).to.be.below(1e-6);
    tf.dispose([out.quantized, out.indices, out.loss, qv, gz, expected, z]);
    q.dispose();
  });

  it('decodes ids through the effective codebook CW + b, never C alone', () => {
    const q = new SimVQ({ codebookSize: 16, dim: 4, seed: 2 });
    const z = tf.randomNormal([12, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
    train(q, z, 3, 5e-2);
    const ids = tf.tensor1d([0, 5, 15], 'int32');
    const decoded = q.decode(ids);
    const effective = tf.gather(q.codebook(), ids);
    const basisRows = tf.gather(q.basis, ids);
    expect(tf.max(tf.abs(tf.sub(decoded, effective))).dataSync()[0]).to.be.below(1e-6);
    expect(tf.max(tf.abs(tf.sub(decoded, basisRows))).dataSync()[0]).to.be.above(1e-3);
    tf.dispose([z, ids, decoded, effective, basisRows]);
    q.dispose();
  });

  it('takes [B, d, T] (channels-first) and [N, d] alike', () => {
    const q = new SimVQ({ codebookSize: 64, dim: 6, seed: 4 });
    const z = tf.randomNormal([2, 6, 7], 0, 1, 'float32', 12);
    const out = q.forward(z);
    expect(out.quantized.shape).to.deep.equal([2, 6, 7]);
    expect(out.indices.shape).to.deep.equal([2, 7]);
    expect(out.indices.dtype).to.equal('int32');
    const rows = tf.reshape(tf.transpose(z, [0, 2, 1]), [14, 6]);
    const rowIds = q.encode(rows);
    expect(Array.from(rowIds.dataSync())).to.deep.equal(Array.from(out.indices.dataSync()));
    expect(q.decode(out.indices).shape).to.deep.equal([2, 6, 7]);
    expect(Array.from(q.encode(z).dataSync())).to.deep.equal(Array.from(out.indices.dataSync()));
    tf.dispose([z, rows, rowIds, out.quantized, out.indices, out.loss]);
    q.dispose();
  });

  it('C is the same bits on every run, in another process, and pinned for this seed', () => {
    const first = sha256(simvqBasis(1024, 16, 1234));
    expect(sha256(simvqBasis(1024, 16, 1234))).to.equal(first);
    expect(sha256(simvqBasis(1024, 16, 1235))).to.not.equal(first);
    const module = fileURLToPath(new URL('../../src/quantizers/simvq.js', import.meta.url));
    const script = `import('${module.replace(/\\/g, '/')}').then((m) => { const c = m.simvqBasis(1024, 16, 1234); process.stdout.write(require('node:crypto').createHash('sha256').update(new Uint8Array(c.buffer)).digest('hex')); })`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout).to.equal(first);
    // Pinned: a change here changes every saved model's codebook.
    expect(first).to.equal(PINNED_BASIS_SHA256);
  });

  it('draws C with std d^-0.5 (Gaussian or uniform)', () => {
    for (const init of ['gaussian', 'uniform'] as const) {
      const c = simvqBasis(4096, 64, 9, init);
      let sum = 0;
      let sq = 0;
      for (const v of c) {
        sum += v;
        sq += v * v;
      }
      const mean = sum / c.length;
      expect(mean, init).to.be.closeTo(0, 2e-3);
      expect(Math.sqrt(sq / c.length - mean * mean), init).to.be.closeTo(1 / 8, 2e-3);
    }
  });

  it('on a seeded 2-D toy uses >= 95 % of its codes where plain VQ uses far fewer', () => {
    const data = toyData(2048, 7);
    const simvq = new SimVQ({ codebookSize: 64, dim: 2, seed: 1 });
    const vq = new VectorQuantizer({ codebookSize: 64, dim: 2, seed: 1 });
    train(simvq, data, 150, 1e-2);
    train(vq, data, 150, 1e-2);
    const simvqUse = codeUsage(simvq.encode(data), 64).utilization;
    const vqUse = codeUsage(vq.encode(data), 64).utilization;
    expect(simvqUse).to.be.at.least(0.95);
    expect(vqUse).to.be.below(0.5);
    simvq.dispose();
    vq.dispose();
    data.dispose();
  });

  it('saves only W and b; a model rebuilt from config + weights encodes identically', () => {
    const q = new SimVQ({ codebookSize: 256, dim: 8, seed: 77, init: 'uniform' });
    const z = tf.randomNormal([40, 8], 0, 1, 'float32', 1) as tf.Tensor2D;
    train(q, z, 3, 1e-2);
    const weights = q.weights();
    expect(Object.keys(weights)).to.have.members(['W', 'b']);
    const copy = SimVQ.fromWeights(JSON.parse(JSON.stringify(q.config)), weights);
    expect(Array.from(copy.encode(z).dataSync())).to.deep.equal(Array.from(q.encode(z).dataSync()));
    expect(Array.from(copy.codebook().dataSync())).to.deep.equal(Array.from(q.codebook().dataSync()));
    expect(() => SimVQ.fromWeights(q.config, { W: { shape: [4, 4], data: new Float32Array(16) }, b: weights['b']! })).to.throw(InputError, /weight 'W' has shape \[4, 4\], expected \[8, 8\]/);
    expect(() => SimVQ.fromWeights(q.config, { W: weights['W']! })).to.throw(InputError, /weights lack 'b'/);
    q.dispose();
    copy.dispose();
    z.dispose();
  });

  it('does not leak tensors over a training step or an encode/decode', () => {
    const q = new SimVQ({ codebookSize: 512, dim: 8, seed: 5, blockElements: 4096 });
    const z = tf.randomNormal([64, 8]) as tf.Tensor2D;
    const optimizer = tf.train.adam(1e-3);
    optimizer.minimize(() => q.forward(z).loss, false, q.trainableVariables);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) optimizer.minimize(() => q.forward(z).loss, false, q.trainableVariables);
    tf.dispose(q.decode(q.encode(z)));
    q.dropInferenceCache();
    expect(tf.memory().numTensors).to.be.at.most(before + 1); // + the ids tensor passed to decode
    optimizer.dispose();
    q.dispose();
    z.dispose();
  });

  it('answers bad input with one-line InputErrors', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => new SimVQ({ codebookSize: 1, dim: 4 }), /codebookSize must be an integer in \[2, 262144\], got 1/],
      [() => new SimVQ({ codebookSize: 262_145, dim: 4 }), /codebookSize .* got 262145/],
      [() => new SimVQ({ codebookSize: 16, dim: 513 }), /dim must be an integer in \[1, 512\], got 513/],
      [() => new SimVQ({ codebookSize: 16, dim: 4, seed: -1 }), /seed must be an integer in \[0, 2\^32\), got -1/],
      [() => new SimVQ({ codebookSize: 16, dim: 4, seed: 1.5 }), /seed must be an integer/],
      [() => new SimVQ({ codebookSize: 16, dim: 4, seed: 2 ** 32 }), /seed must be an integer/],
      [() => new SimVQ({ codebookSize: 16, dim: 4, beta: 0 }), /beta must be a positive number/],
      [() => new SimVQ({ codebookSize: 16, dim: 32, search: 'kd-tree' }), /kd-tree search is for d <= 16/],
      [() => new SimVQ({ codebookSize: 16, dim: 4, init: 'laplace' as 'gaussian' }), /init must be 'gaussian' or 'uniform'/],
    ];
    for (const [make, message] of cases) {
      expect(make).to.throw(InputError, message);
      try {
        make();
      } catch (error) {
        expect((error as Error).message).to.not.contain('\n');
      }
    }
    const q = new SimVQ({ codebookSize: 16, dim: 4 });
    expect(() => q.forward(tf.zeros([5, 3]))).to.throw(InputError, /latents \[N, d\] must have d = 4, got shape \[5, 3\]/);
    expect(() => q.forward(tf.zeros([2, 3, 5]))).to.throw(InputError, /latents \[B, d, T\] must have d = 4 channels/);
    expect(() => q.forward(tf.zeros([1, 2, 4, 5]))).to.throw(InputError, /must be \[B, d, T\] or \[N, d\], got rank 4/);
    expect(() => q.encode(tf.tensor2d([[0, NaN, 0, 0]]))).to.throw(InputError, /NaN or infinite/);
    expect(() => q.decode(tf.tensor1d([0, 16], 'int32'))).to.throw(InputError, /code id 16 at position 1 is outside \[0, 16\)/);
    expect(() => q.decode(tf.tensor1d([0, 1], 'float32'))).to.throw(InputError, /code ids must be int32/);
    q.dispose();
  });
});

/** sha256 of simvqBasis(1024, 16, 1234) (float32 little-endian bytes). */
const PINNED_BASIS_SHA256 = 'c5a8ad43ffb97ad3f0da3843790b78058aab238e41f039cdbf169cc7855bb7cb';
