import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { InputError } from '../../src/errors.js';
import { CodeUsageTracker, codeUsage } from '../../src/quantizers/index.js';
import { gaussianArray, mulberry32, portableLog } from '../../src/random.js';

describe('quantizers: code-usage metrics and seeded Gaussians', () => {
  it('utilisation and perplexity of known id sets', () => {
    const even = codeUsage([0, 1, 2, 3, 0, 1, 2, 3], 8);
    expect(even).to.include({ codebookSize: 8, tokens: 8, usedCodes: 4, utilization: 0.5 });
    expect(even.perplexity).to.be.closeTo(4, 1e-12);
    expect(codeUsage(new Int32Array([5, 5, 5]), 8).perplexity).to.equal(1);
    const skewed = codeUsage(tf.tensor1d([0, 0, 0, 1], 'int32'), 2);
    expect(skewed.perplexity).to.be.closeTo(Math.exp(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))), 1e-12);
    expect(() => codeUsage([0, 8], 8)).to.throw(InputError, /code id 8 is outside \[0, 8\)/);
  });

  it('the tracker accumulates counts until reset and smooths batch perplexity', () => {
    const tracker = new CodeUsageTracker(4, 0.5);
    tracker.update([0, 0]);
    tracker.update([1, 2]);
    const s = tracker.summary();
    expect(s).to.include({ tokens: 4, usedCodes: 3, utilization: 0.75, steps: 2 });
    expect(s.batchPerplexity).to.be.closeTo(0.5 * 1 + 0.5 * 2, 1e-12);
    tracker.reset();
    expect(tracker.summary()).to.include({ tokens: 0, usedCodes: 0, steps: 0 });
  });

  it('portableLog matches Math.log to ~1e-15 over a wide range', () => {
    for (const x of [1e-300, 1e-9, 0.001, 0.5, 0.7071, 1, 1.4142, 2, 3, 10, 12345.678, 1e300]) {
      expect(portableLog(x), String(x)).to.be.closeTo(Math.log(x), Math.abs(Math.log(x)) * 1e-14 + 1e-15);
    }
  });

  it('gaussianArray is standard normal (moments, tail share) and seeded', () => {
    const g = gaussianArray(mulberry32(99), 200_000);
    let sum = 0;
    let sq = 0;
    let fourth = 0;
    let beyond2 = 0;
    for (const v of g) {
      sum += v;
      sq += v * v;
      fourth += v ** 4;
      if (Math.abs(v) > 2) beyond2++;
    }
    const n = g.length;
    expect(sum / n).to.be.closeTo(0, 0.01);
    expect(sq / n).to.be.closeTo(1, 0.01);
    expect(fourth / n).to.be.closeTo(3, 0.06);
    expect(beyond2 / n).to.be.closeTo(0.0455, 0.002);
    expect(Array.from(gaussianArray(mulberry32(99), 5))).to.deep.equal(Array.from(g.subarray(0, 5)));
    expect(gaussianArray(mulberry32(1), 3, 2)).to.have.length(3);
  });
});
