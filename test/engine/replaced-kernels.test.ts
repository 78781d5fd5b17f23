/**
 * The tfjs wasm kernels the engine replaces: Sum (onnxruntime for big inputs),
 * Identity (shared memory instead of a copy) and Slice (reads the heap in place).
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

  it('Slice returns what plain index arithmetic says, for every rank, run length and dtype', async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const rand = mulberry32(21);
    const pick = (n: number) => Math.floor(rand() * n);
    for (let trial = 0; trial < 60; trial++) {
      const rank = 1 + pick(5);
      const shape = Array.from({ length: rank }, () => 1 + pick(rank > 3 ? 5 : 40));
      const begin = shape.map((d) => pick(d));
      // Mostly partial extents, sometimes whole axes (which merge into longer runs) or empty ones.
      const size = shape.map((d, i) => (rand() < 0.25 ? d - begin[i]! : rand() < 0.05 ? 0 : 1 + pick(d - begin[i]!)));
      for (const i of shape.keys()) if (size[i] === shape[i]) begin[i] = 0;
      const count = shape.reduce((a, b) => a * b, 1);
      const dtype = trial % 3 === 0 ? 'int32' : 'float32';
      const values = Array.from({ length: count }, (_, i) => (dtype === 'int32' ? i : i + 0.5));
      const x = tf.tensor(values, shape, dtype);
      const y = tf.slice(x, begin, size);
      expect(y.shape).to.deep.equal(size);
      expect(y.dtype).to.equal(dtype);
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
      const expected: number[] = [];
      const total = size.reduce((a, b) => a * b, 1);
      for (let n = 0; n < total; n++) {
        let rest = n;
        let offset = 0;
        for (let d = rank - 1; d >= 0; d--) {
          offset += (begin[d]! + (rest % size[d]!)) * strides[d]!;
          rest = Math.floor(rest / size[d]!);
        }
        expected.push(values[offset]!);
      }
      expect(Array.from(y.dataSync()), `shape [${shape}] begin [${begin}] size [${size}]`).to.deep.equal(expected);
      tf.dispose([x, y]);
    }
  });
});
