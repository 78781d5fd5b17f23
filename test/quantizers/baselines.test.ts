import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { initEngine } from '../../src/engine/index.js';
import { InputError } from '../../src/errors.js';
import { EmaVectorQuantizer, VectorQuantizer, codeUsage } from '../../src/quantizers/index.js';
import { gaussianArray } from '../../src/random.js';
import { mulberry32 } from '../helpers/random.js';

function blobs(n: number, seed: number): tf.Tensor2D {
  const rand = mulberry32(seed);
  const g = gaussianArray(rand, 2 * n, 0.3);
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * 4);
    data[2 * i] = (c & 1 ? 3 : -3) + g[2 * i]!;
    data[2 * i + 1] = (c & 2 ? 3 : -3) + g[2 * i + 1]!;
  }
  return tf.tensor2d(data, [n, 2]);
}

describe('quantizers: baselines', function () {
  this.timeout(60_000);
  before(async () => {
    await initEngine();
  });

  it('plain VQ: gradient reaches only the codes the search picked', () => {
    const vq = new VectorQuantizer({ codebookSize: 32, dim: 2, seed: 1, init: 'gaussian' });
    const z = blobs(16, 2);
    const ids = new Set(Array.from(vq.encode(z).dataSync()));
    const { grads, value } = tf.variableGrads(() => vq.forward(z).loss, vq.trainableVariables);
    const g = grads[vq.embeddings.name]!.arraySync() as number[][];
    g.forEach((row, k) => expect(row.some((v) => v !== 0), `code ${k}`).to.equal(ids.has(k)));
    tf.dispose([value, z, ...Object.values(grads)]);
    vq.dispose();
  });

  it('EMA VQ: codes move to the means of their vectors; k-means init uses every cluster; no optimizer variables', () => {
    const data = blobs(512, 3);
    const ema = new EmaVectorQuantizer({ codebookSize: 4, dim: 2, seed: 1, decay: 0.5, kmeansInit: true });
    expect(ema.trainableVariables).to.deep.equal([]);
    for (let s = 0; s < 10; s++) tf.dispose(ema.forward(data));
    expect(codeUsage(ema.encode(data), 4).utilization).to.equal(1);
    const centres = (ema.codebook().arraySync() as number[][]).map(([x, y]) => [Math.round(x!), Math.round(y!)].join(',')).sort();
    expect(centres).to.deep.equal(['-3,-3', '-3,3', '3,-3', '3,3']);
    // Evaluation mode leaves the codebook alone.
    const before = ema.codebook().dataSync().slice();
    tf.dispose(ema.forward(tf.add(data, 10), { training: false }));
    expect(Array.from(ema.codebook().dataSync())).to.deep.equal(Array.from(before));
    ema.dispose();
    data.dispose();
  });

  it('EMA VQ: dead-code restart revives unused codes from batch vectors', () => {
    const data = blobs(512, 4);
    const plain = new EmaVectorQuantizer({ codebookSize: 64, dim: 2, seed: 2, decay: 0.8 });
    const restarting = new EmaVectorQuantizer({ codebookSize: 64, dim: 2, seed: 2, decay: 0.8, deadCodeThreshold: 1 });
    for (let s = 0; s < 30; s++) {
      tf.dispose(plain.forward(data));
      tf.dispose(restarting.forward(data));
    }
    const plainUse = codeUsage(plain.encode(data), 64).utilization;
    const restartUse = codeUsage(restarting.encode(data), 64).utilization;
    expect(restarting.restarts).to.be.greaterThan(0);
    expect(restartUse).to.be.greaterThan(plainUse + 0.3);
    plain.dispose();
    restarting.dispose();
    data.dispose();
  });

  it('EMA VQ: weights round-trip, bad options are InputErrors', () => {
    const data = blobs(64, 5);
    const a = new EmaVectorQuantizer({ codebookSize: 8, dim: 2, seed: 3 });
    tf.dispose(a.forward(data));
    const b = new EmaVectorQuantizer({ codebookSize: 8, dim: 2, seed: 9 });
    b.loadWeights(a.weights());
    expect(Array.from(b.encode(data).dataSync())).to.deep.equal(Array.from(a.encode(data).dataSync()));
    expect(() => new EmaVectorQuantizer({ codebookSize: 8, dim: 2, decay: 1 })).to.throw(InputError, /decay must be in \(0, 1\)/);
    expect(() => new VectorQuantizer({ codebookSize: 8, dim: 2, init: 'zeros' as 'vqgan' })).to.throw(InputError, /init must be 'vqgan' or 'gaussian'/);
    a.dispose();
    b.dispose();
    data.dispose();
  });
});

describe('quantizers: FSQ', function () {
  this.timeout(60_000);
  before(async () => {
    await initEngine();
  });

  it('maps every id to a distinct grid point and back; gradients pass straight through the rounding', async () => {
    const { FiniteScalarQuantizer } = await import('../../src/quantizers/index.js');
    const fsq = new FiniteScalarQuantizer({ levels: [8, 5, 3] });
    expect(fsq.codebookSize).to.equal(120);
    const codes = fsq.codebook();
    const values = codes.arraySync() as number[][];
    expect(new Set(values.map((v) => v.join(','))).size).to.equal(120);
    for (const v of values) for (const x of v) expect(Math.abs(x)).to.be.at.most(1);
    // Wide latents reach every level of every channel, hence every id.
    expect(codeUsage(fsq.encode(tf.randomNormal([20_000, 3], 0, 3, 'float32', 2)), 120).utilization).to.equal(1);
    const z = tf.randomNormal([2, 3, 6], 0, 2, 'float32', 4);
    const out = fsq.forward(z);
    expect(out.indices.shape).to.deep.equal([2, 6]);
    expect(tf.max(tf.abs(tf.sub(fsq.decode(out.indices), out.quantized))).dataSync()[0]).to.be.below(1e-6);
    const g = tf.grad((x: tf.Tensor) => tf.sum(fsq.forward(x).quantized))(z);
    expect(tf.min(g).dataSync()[0]).to.be.greaterThan(0);
    expect(() => new FiniteScalarQuantizer({ levels: [1, 4] })).to.throw(InputError, /each level must be an integer >= 2, got 1/);
    expect(() => new FiniteScalarQuantizer({ levels: [64, 64, 64, 64] })).to.throw(InputError, /16777216 codes, more than 262144/);
  });
});
