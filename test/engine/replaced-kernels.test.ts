/**
 * The tfjs wasm kernels the engine replaces: Sum (onnxruntime for big inputs)
 * and Identity (shared memory instead of a copy).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { initEngine } from '../../src/engine/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

describe('engine: replaced wasm kernels', function () {
  this.timeout(60_000);

  it('Sum of a large tensor over any axes matches a float64 reference, with and without keepDims', async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const [b, c, t] = [3, 20, 1500]; // 90,000 elements: above the onnxruntime threshold
    const values = randomArray(mulberry32(9), b * c * t);
    const x = tf.tensor3d(values, [b, c, t]);
    for (const axes of [[0, 2], [1], [2], [0, 1, 2], [-1]]) {
      for (const keepDims of [false, true]) {
        const sum = tf.sum(x, axes, keepDims);
        const normalised = axes.map((a) => (a + 3) % 3);
        const expectedShape = [b, c, t].flatMap((d, i) => (normalised.includes(i) ? (keepDims ? [1] : []) : [d]));
        expect(sum.shape, `axes ${axes} keepDims ${keepDims}`).to.deep.equal(expectedShape);
        // float64 reference over the kept coordinates
        const kept = [b, c, t].map((d, i) => (normalised.includes(i) ? 1 : d));
        const expected = new Float64Array(kept[0]! * kept[1]! * kept[2]!);
        for (let i = 0; i < b; i++)
          for (let j = 0; j < c; j++)
            for (let k = 0; k < t; k++) {
              const at = [i, j, k].map((v, n) => (normalised.includes(n) ? 0 : v));
              expected[(at[0]! * kept[1]! + at[1]!) * kept[2]! + at[2]!] += values[(i * c + j) * t + k]!;
            }
        const actual = sum.dataSync();
        for (let n = 0; n < expected.length; n++) {
          expect(Math.abs(actual[n]! - expected[n]!), `axes ${axes}`).to.be.below(1e-3 * Math.max(1, Math.abs(expected[n]!)));
        }
        sum.dispose();
      }
    }
    x.dispose();
  });

  it('a clone shares memory but outlives the original, and its values stay put', async () => {
    await initEngine({ backend: 'wasm' });
    const original = tf.tensor1d([1, 2, 3, 4]);
    const copy = tf.clone(original);
    original.dispose();
    const later = tf.tensor1d([9, 9, 9, 9]); // may reuse freed memory if the clone did not hold it
    expect(Array.from(copy.dataSync())).to.deep.equal([1, 2, 3, 4]);
    tf.dispose([copy, later]);
  });
});
