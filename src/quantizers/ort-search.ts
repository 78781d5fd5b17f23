/**
 * The exact nearest-code search of ./search.ts run as one fused onnxruntime
 * graph per block of codes: scores, argmin and min in one call, on every core.
 *
 * The tfjs path forms each [rows × codes] score block as a tensor, copies it
 * into the wasm heap and reduces it there on one thread; at K = 2^18 and a
 * training batch of 512 frames that is 134 M scores a step. Here onnxruntime
 * keeps the scores in its own arena and hands back two numbers a row per
 * block. Scores, block merging and ties (first index wins) are as in
 * ./search.ts, so both give the same codes.
 */
import * as tf from '@tensorflow/tfjs';

import { engineReport } from '../engine/index.js';
import { ortFloatTensor, SyncSession } from '../engine/ort/runtime.js';
import { InputError } from '../errors.js';
import { OnnxGraphBuilder } from '../onnx/index.js';

/** Codes scored per graph call: 4,096 was the fastest of 1,024-65,536 for 512 rows at K = 2^18 (8 MiB of scores). */
export const ORT_SEARCH_CODE_CHUNK = 4096;

let session: SyncSession | null = null;

/** rows [N, d], codes [Kc, d], ‖codes‖² [Kc] → per row the first index of the least ‖e‖² − 2·z·e, and that score. */
function searchSession(): SyncSession {
  if (session === null) {
    const g = new OnnxGraphBuilder('nearest_code_block');
    g.addInput('rows', 'float32', ['N', 'D']);
    g.addInput('codes', 'float32', ['K', 'D']);
    g.addInput('norms', 'float32', ['K']);
    g.addOutput('index', 'int64', ['N']);
    g.addOutput('score', 'float32', ['N']);
    g.addNode('Gemm', ['rows', 'codes', 'norms'], ['scores'], { alpha: { float: -2 }, beta: { float: 1 }, transB: 1 });
    g.addNode('ArgMin', ['scores'], ['index'], { axis: 1, keepdims: 0, select_last_index: 0 });
    g.addNode('ReduceMin', ['scores'], ['score'], { axes: [1], keepdims: 0 });
    session = new SyncSession(g.toModelBytes({ opsetVersion: 17 }));
  }
  return session;
}

/** Whether the fused search can run: the engine runs its kernels on onnxruntime. */
export function ortSearchAvailable(): boolean {
  return engineReport()?.backend === 'wasm+onnxruntime';
}

/** A codebook [K, d] (row-major, held without a copy) and its squared norms, searched a chunk of codes per call. */
export class OrtCodeSearch {
  private readonly norms: Float32Array;

  constructor(
    private readonly codebook: Float32Array,
    readonly codebookSize: number,
    readonly dim: number,
    private readonly codeChunk = ORT_SEARCH_CODE_CHUNK,
  ) {
    this.norms = new Float32Array(codebookSize);
    for (let k = 0; k < codebookSize; k++) {
      let squared = 0;
      for (let i = k * dim; i < (k + 1) * dim; i++) squared += codebook[i]! * codebook[i]!;
      this.norms[k] = squared;
    }
  }

  /** Index of the nearest code for each row of `rows` ([N, d]); int32 [N]. */
  nearest(rows: tf.Tensor2D): tf.Tensor1D {
    const [n, dim] = rows.shape;
    if (dim !== this.dim) throw new InputError('search', `rows have d = ${dim}, the codebook d = ${this.dim}`);
    if (n === 0) return tf.tensor1d([], 'int32');
    const rowsTensor = ortFloatTensor(rows.dataSync() as Float32Array, [n, dim]);
    const bestIndex = new Int32Array(n);
    const bestScore = new Float32Array(n).fill(Infinity);
    for (let c0 = 0; c0 < this.codebookSize; c0 += this.codeChunk) {
      const kc = Math.min(this.codeChunk, this.codebookSize - c0);
      const codes = ortFloatTensor(this.codebook.subarray(c0 * dim, (c0 + kc) * dim), [kc, dim]);
      const norms = ortFloatTensor(this.norms.subarray(c0, c0 + kc), [kc]);
      const out = searchSession().run({ rows: rowsTensor, codes, norms }, { index: null, score: null });
      const index = out['index']!.data as BigInt64Array;
      const score = out['score']!.data as Float32Array;
      for (let r = 0; r < n; r++) {
        // Strictly smaller: on a tie the earlier code wins, as in one argmin over all K.
        if (score[r]! < bestScore[r]!) {
          bestScore[r] = score[r]!;
          bestIndex[r] = c0 + Number(index[r]!);
        }
      }
    }
    return tf.tensor1d(bestIndex, 'int32');
  }
}
