/**
 * The encoder graphs' nearest-code search: the pruned search (int8
 * scores, bounded error, float32 rescoring) finds exactly the codes the
 * exhaustive float32 search finds, and both agree with a float64 brute force,
 * normalised or not, one frame per run or many, with the codebook scored in
 * blocks of any size, and on all-zero latents
 * (every score is then a code's norm: the first smallest float32 norm wins).
 */
import { createRequire } from 'node:module';

import { expect } from 'chai';
import type { InferenceSession, Tensor } from 'onnxruntime-common';

import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import { gaussianArray } from '../../src/random.js';
import { emitNearestCodeSearch, SEARCH_OPSET_IMPORTS, type SearchMethod } from '../../src/export/search-graph.js';
import { mulberry32 } from '../helpers/random.js';

interface Ort {
  InferenceSession: { create(bytes: Uint8Array): Promise<InferenceSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => Tensor;
}
const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;

const K = 32768;
const D = 32;

function unitRows(values: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < values.length / dim; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += values[r * dim + j]! ** 2;
    for (let j = 0; j < dim; j++) out[r * dim + j] = values[r * dim + j]! / Math.sqrt(norm + 1e-12);
  }
  return out;
}

/** argmin_k ‖e_k‖² − 2 z·e_k in float64, first index on ties. */
function bruteForce(codebook: Float32Array, rows: Float32Array, normalized: boolean): number[] {
  const z = normalized ? unitRows(rows, D) : rows;
  const ids: number[] = [];
  for (let r = 0; r < z.length / D; r++) {
    let best = Infinity;
    let bestId = -1;
    for (let k = 0; k < K; k++) {
      let score = 0;
      for (let j = 0; j < D; j++) score += codebook[k * D + j]! * (codebook[k * D + j]! - 2 * z[r * D + j]!);
      if (score < best) [best, bestId] = [score, k];
    }
    ids.push(bestId);
  }
  return ids;
}

/** The tie-break at zero latents: the first code of smallest ‖e‖² as float32 sums it, in order. */
function firstSmallestNorm(codebook: Float32Array): number {
  let best = Infinity;
  let bestId = -1;
  for (let k = 0; k < K; k++) {
    let sum = 0;
    for (let j = 0; j < D; j++) sum = Math.fround(sum + Math.fround(codebook[k * D + j]! * codebook[k * D + j]!));
    if (sum < best) [best, bestId] = [sum, k];
  }
  return bestId;
}

async function searchSession(codebook: Float32Array, normalized: boolean, method: SearchMethod, blockCodes?: number): Promise<InferenceSession> {
  const g = new OnnxGraphBuilder(`search_${method}`);
  g.addInput('latents', 'float32', [1, D, 'F']);
  g.addOutput('ids', 'int64', ['F']);
  const options = { codebook: { data: codebook, rows: K, dim: D, file: null }, normalized, method, ...(blockCodes === undefined ? {} : { blockCodes }) };
  g.addNode('Identity', [emitNearestCodeSearch(g, 'latents', options)], ['ids']);
  return ort.InferenceSession.create(g.toModelBytes({ opsetImports: SEARCH_OPSET_IMPORTS }));
}

/** Runs rows [N, d] as latents [1, d, N] in runs of `framesPerRun`. */
async function search(session: InferenceSession, rows: Float32Array, framesPerRun: number): Promise<number[]> {
  const ids: number[] = [];
  const n = rows.length / D;
  for (let start = 0; start < n; start += framesPerRun) {
    const frames = Math.min(framesPerRun, n - start);
    const latents = new Float32Array(D * frames);
    for (let f = 0; f < frames; f++) for (let j = 0; j < D; j++) latents[j * frames + f] = rows[(start + f) * D + j]!;
    const out = await session.run({ latents: new ort.Tensor('float32', latents, [1, D, frames]) });
    ids.push(...Array.from(out['ids']!.data as BigInt64Array, Number));
  }
  return ids;
}

describe('nearest-code search (ONNX)', function () {
  this.timeout(60_000);

  for (const normalized of [true, false]) {
    it(`pruned = exhaustive = float64 brute force (${normalized ? 'unit-sphere codes and latents' : 'raw codes, latents of any scale'})`, async () => {
      const rand = mulberry32(normalized ? 1 : 2);
      const raw = gaussianArray(rand, K * D, 1 / Math.sqrt(D));
      const codebook = normalized ? unitRows(raw, D) : raw;
      // Random latents, and latents a hair away from a code (the hard case: a clear winner among close neighbours).
      const random = gaussianArray(rand, 150 * D, normalized ? 1 : 3);
      const nearCodes = new Float32Array(50 * D);
      for (let r = 0; r < 50; r++) {
        const code = Math.floor(rand() * K);
        for (let j = 0; j < D; j++) nearCodes[r * D + j] = codebook[code * D + j]! + 1e-3 * (rand() - 0.5);
      }
      // And all-zero latents (digital silence), where every code's score is its norm.
      const rows = new Float32Array([...random, ...nearCodes, ...new Float32Array(2 * D)]);
      const expected = [...bruteForce(codebook, rows.subarray(0, 200 * D), normalized), ...Array<number>(2).fill(firstSmallestNorm(codebook))];
      const exhaustive = await searchSession(codebook, normalized, 'exhaustive');
      const pruned = await searchSession(codebook, normalized, 'pruned');
      expect(await search(exhaustive, rows, 1)).to.deep.equal(expected);
      expect(await search(pruned, rows, 1)).to.deep.equal(expected);
      expect(await search(pruned, rows, 37)).to.deep.equal(expected);
      expect(await search(pruned, rows, 202)).to.deep.equal(expected);
      // Blocks of codes that do not divide K (the last one shorter), one run of every frame.
      const unevenExhaustive = await searchSession(codebook, normalized, 'exhaustive', 3000);
      const unevenPruned = await searchSession(codebook, normalized, 'pruned', 3000);
      expect(await search(unevenExhaustive, rows, 202)).to.deep.equal(expected);
      expect(await search(unevenPruned, rows, 202)).to.deep.equal(expected);
      for (const session of [exhaustive, pruned, unevenExhaustive, unevenPruned]) await session.release();
    });
  }
});
