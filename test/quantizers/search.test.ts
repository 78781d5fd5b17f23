import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { initEngine } from '../../src/engine/index.js';
import { InputError } from '../../src/errors.js';
import { OrtCodeSearch, ortSearchAvailable } from '../../src/quantizers/ort-search.js';
import { KdTree, buildCodeIndex, buildSearchTable, disposeSearchTable, nearestCodes, rowsPerBlock } from '../../src/quantizers/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

/** Nearest code by plain float64 squared distance, ties to the lower id. */
function bruteForce(rows: Float32Array, codes: Float32Array, n: number, K: number, d: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let k = 0; k < K; k++) {
      let dist = 0;
      for (let j = 0; j < d; j++) {
        const diff = rows[i * d + j]! - codes[k * d + j]!;
        dist += diff * diff;
      }
      if (dist < best) {
        best = dist;
        out[i] = k;
      }
    }
  }
  return out;
}

function distance(rows: Float32Array, codes: Float32Array, i: number, k: number, d: number): number {
  let dist = 0;
  for (let j = 0; j < d; j++) dist += (rows[i * d + j]! - codes[k * d + j]!) ** 2;
  return dist;
}

describe('quantizers: nearest-code search', function () {
  this.timeout(60_000);
  before(async () => {
    await initEngine();
  });

  it('returns the same ids in blocks as one argmin over all K, over several row and code chunks', () => {
    const rand = mulberry32(21);
    const [n, K, d] = [300, 9000, 16];
    const rows = tf.tensor2d(randomArray(rand, n * d), [n, d]);
    const codebook = tf.tensor2d(randomArray(rand, K * d), [K, d]);
    // The reference: the same scores, [z, 1]·[−2Eᵀ ; ‖e‖²], in one matmul and one argmin.
    const reference = tf.tidy(() => {
      const table = tf.concat([tf.mul(tf.transpose(codebook), -2), tf.reshape(tf.sum(tf.square(codebook), 1), [1, K])], 0);
      return tf.argMin(tf.matMul(tf.concat([rows, tf.ones([n, 1])], 1), table), 1);
    });
    const expected = Array.from(reference.dataSync());
    // Default: 3 chunks (4096, 4096, 808 codes), all rows in one block.
    // 2500: 4 chunks, the last partial, one row per block; 3000: 3 chunks dividing K exactly.
    for (const blockElements of [undefined, 2500, 3000, 4096 * 64]) {
      const search = buildSearchTable(codebook, blockElements === undefined ? {} : { blockElements });
      const found = nearestCodes(rows, search);
      expect(Array.from(found.dataSync()), `blockElements ${blockElements}`).to.deep.equal(expected);
      tf.dispose(found);
      disposeSearchTable(search);
    }
    expect(rowsPerBlock(n, 2500, 2500)).to.equal(1);
    expect(rowsPerBlock(n, 4096, 4096 * 64)).to.equal(64);
    tf.dispose([rows, codebook, reference]);
  });

  it('finds the true nearest code (checked against float64 brute force)', () => {
    const rand = mulberry32(5);
    const [n, K, d] = [200, 500, 8];
    const rowValues = randomArray(rand, n * d);
    const codeValues = randomArray(rand, K * d);
    const truth = bruteForce(rowValues, codeValues, n, K, d);
    const rows = tf.tensor2d(rowValues, [n, d]);
    const codebook = tf.tensor2d(codeValues, [K, d]);
    for (const method of ['matmul', 'kd-tree'] as const) {
      const index = buildCodeIndex(codebook, method, { blockElements: 5000 });
      const found = index.nearest(rows).dataSync();
      for (let i = 0; i < n; i++) {
        if (found[i] === truth[i]) continue;
        // A float32 near-tie may pick the other code; its distance must then be equal to rounding.
        expect(distance(rowValues, codeValues, i, found[i]!, d), `${method} row ${i}`).to.be.closeTo(distance(rowValues, codeValues, i, truth[i]!, d), 1e-5);
      }
      index.dispose();
    }
    tf.dispose([rows, codebook]);
  });

  it('the fused onnxruntime search finds the true nearest code over several chunks, ties to the lower id', () => {
    expect(ortSearchAvailable(), 'the default engine runs on onnxruntime here').to.equal(true);
    const rand = mulberry32(9);
    const [n, K, d] = [150, 9000, 16];
    const rowValues = randomArray(rand, n * d);
    const codeValues = randomArray(rand, K * d);
    // Code 8500 (in the third chunk) repeats code 10 (in the first): rows placed on it must get 10.
    codeValues.copyWithin(8500 * d, 10 * d, 11 * d);
    rowValues.set(codeValues.subarray(10 * d, 11 * d), 0);
    const truth = bruteForce(rowValues, codeValues, n, K, d);
    const rows = tf.tensor2d(rowValues, [n, d]);
    for (const chunk of [4096, 1000, K]) {
      const found = new OrtCodeSearch(codeValues, K, d, chunk).nearest(rows);
      const ids = found.dataSync();
      expect(ids[0], `chunk ${chunk}: the duplicated code`).to.equal(10);
      for (let i = 0; i < n; i++) {
        if (ids[i] === truth[i]) continue;
        expect(distance(rowValues, codeValues, i, ids[i]!, d), `chunk ${chunk} row ${i}`).to.be.closeTo(distance(rowValues, codeValues, i, truth[i]!, d), 1e-5);
      }
      found.dispose();
    }
    // buildCodeIndex takes this path on this engine, and the tfjs block search when a block size is asked for.
    const codebook = tf.tensor2d(codeValues, [K, d]);
    const fused = buildCodeIndex(codebook, 'matmul').nearest(rows);
    const blocked = buildCodeIndex(codebook, 'matmul', { blockElements: 1 << 20 }).nearest(rows);
    expect(Array.from(fused.dataSync())).to.deep.equal(Array.from(blocked.dataSync()));
    tf.dispose([rows, codebook, fused, blocked]);
  });

  it('kd-tree: exact on clustered codes and duplicates, ties to the lower id', () => {
    const d = 3;
    // Codes 0 and 2 coincide: the query at that point must get 0.
    const codes = new Float32Array([1, 1, 1, 0, 0, 0, 1, 1, 1, 5, 5, 5]);
    const tree = new KdTree(codes, 4, d);
    expect(Array.from(tree.nearest(new Float32Array([1, 1, 1, 4, 4, 4.5, -1, 0, 0]), 3))).to.deep.equal([0, 3, 1]);
    const rand = mulberry32(8);
    const [n, K] = [300, 4000];
    // Most codes in a tiny cube, a few far out: the shape a collapsed VQ codebook has.
    const clustered = randomArray(rand, K * d).map((v, i) => (i < 30 ? v * 10 : v * 1e-4));
    const queries = randomArray(rand, n * d).map((v) => v * 5);
    const truth = bruteForce(queries, clustered, n, K, d);
    const found = new KdTree(clustered, K, d).nearest(queries, n);
    for (let i = 0; i < n; i++) expect(distance(queries, clustered, i, found[i]!, d)).to.equal(distance(queries, clustered, i, truth[i]!, d));
  });

  it('rejects bad arguments with one-line InputErrors', () => {
    const codebook = tf.zeros([10, 4]) as tf.Tensor2D;
    const search = buildSearchTable(codebook);
    expect(() => nearestCodes(tf.zeros([3, 5]) as tf.Tensor2D, search)).to.throw(InputError, /rows have d = 5, the codebook d = 4/);
    expect(() => buildSearchTable(codebook, { blockElements: 0 })).to.throw(InputError, /blockElements must be a positive integer/);
    expect(() => buildCodeIndex(tf.zeros([10, 17]) as tf.Tensor2D, 'kd-tree')).to.throw(InputError, /kd-tree search is for d <= 16/);
    disposeSearchTable(search);
    codebook.dispose();
  });
});
