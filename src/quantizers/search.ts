/**
 * Exact nearest-neighbour search on squared Euclidean distance, in blocks, so that
 * a 262,144-code book can be searched without a [N, K] distance matrix.
 *
 * argmin_j ‖z − e_j‖² = argmin_j (‖e_j‖² − 2 z·e_j) since ‖z‖² is the same for every j.
 * Both terms come out of one matmul: with z' = [z, 1] and the *search table*
 * A = [−2·Eᵀ ; ‖e‖²] ([d+1, K], built once per codebook), the scores are z'·A.
 * Scores are formed one block of (rows × codes) at a time, reduced to a per-row
 * argmin, and blocks are merged keeping the first minimum (as one argmin over all
 * K would), so the answer does not depend on the block size.
 *
 * Peak memory of a search, beyond the codebook itself:
 *   the search table          4·K·(d+1) bytes
 *   the augmented rows        4·N·(d+1) bytes
 *   one score block           4·blockElements bytes (default 2^22 elements = 16 MiB)
 *   one table chunk           4·(d+1)·codeChunk bytes (≤ the table)
 *   per-row best and index    8·N bytes
 * e.g. K = 262,144, d = 512, N = 4096: 514 MiB table + 8 MiB rows + 16 MiB block.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';
import { KdTree, MAX_KD_TREE_DIM } from './kdtree.js';

/** Default score-block size in elements (16 MiB of float32). */
export const DEFAULT_BLOCK_ELEMENTS = 1 << 22;

export interface SearchOptions {
  /** Most score elements formed at once; bounds the search's working memory. */
  blockElements?: number;
}

/** A codebook prepared for search: A = [−2·Eᵀ ; ‖e‖²], shape [d+1, K]. */
export interface SearchTable {
  readonly table: tf.Tensor2D;
  readonly codebookSize: number;
  readonly dim: number;
}

export function buildSearchTable(codebook: tf.Tensor2D): SearchTable {
  const [codebookSize, dim] = codebook.shape;
  const table = tf.tidy(() => {
    const transposed = tf.transpose(codebook);
    const norms = tf.reshape(tf.sum(tf.square(codebook), 1), [1, codebookSize]);
    return tf.concat([tf.mul(transposed, -2), norms], 0) as tf.Tensor2D;
  });
  return { table, codebookSize, dim };
}

/** Rows and codes per block: whole rows of the codebook when they fit, else at least 256 rows. */
export function blockPlan(rows: number, codebookSize: number, blockElements: number): { rowChunk: number; codeChunk: number } {
  if (rows * codebookSize <= blockElements) return { rowChunk: Math.max(rows, 1), codeChunk: codebookSize };
  const rowChunk = Math.max(1, Math.min(rows, Math.max(256, Math.floor(blockElements / codebookSize))));
  const codeChunk = Math.max(1, Math.min(codebookSize, Math.floor(blockElements / rowChunk)));
  return { rowChunk, codeChunk };
}

/** Index of the nearest code for each row of `rows` ([N, d]); int32 [N]. */
export function nearestCodes(rows: tf.Tensor2D, search: SearchTable, options: SearchOptions = {}): tf.Tensor1D {
  const blockElements = options.blockElements ?? DEFAULT_BLOCK_ELEMENTS;
  if (!Number.isInteger(blockElements) || blockElements < 1) throw new InputError('search', `blockElements must be a positive integer, got ${blockElements}`);
  const [n, dim] = rows.shape;
  if (dim !== search.dim) throw new InputError('search', `rows have d = ${dim}, the codebook d = ${search.dim}`);
  const K = search.codebookSize;
  if (n === 0) return tf.tensor1d([], 'int32');
  const { rowChunk, codeChunk } = blockPlan(n, K, blockElements);
  const augmented = tf.tidy(() => tf.concat([rows, tf.ones([n, 1])], 1) as tf.Tensor2D);
  const bestIndex = new Int32Array(n);
  try {
    if (codeChunk === K) {
      // One pass over the codes: the block's argmin is final, no scores to compare.
      for (let r0 = 0; r0 < n; r0 += rowChunk) {
        const nr = Math.min(rowChunk, n - r0);
        const ids = tf.tidy(() => tf.argMin(tf.matMul(nr === n ? augmented : tf.slice(augmented, [r0, 0], [nr, dim + 1]), search.table), 1));
        bestIndex.set(ids.dataSync() as Int32Array, r0);
        ids.dispose();
      }
    } else {
      const bestScore = new Float32Array(n).fill(Infinity);
      for (let c0 = 0; c0 < K; c0 += codeChunk) {
        const kc = Math.min(codeChunk, K - c0);
        const chunk = tf.slice(search.table, [0, c0], [dim + 1, kc]);
        for (let r0 = 0; r0 < n; r0 += rowChunk) {
          const nr = Math.min(rowChunk, n - r0);
          const [ids, scores] = tf.tidy(() => {
            const block = tf.matMul(nr === n ? augmented : tf.slice(augmented, [r0, 0], [nr, dim + 1]), chunk);
            const local = tf.argMin(block, 1);
            // The winning score of each row, read at its argmin (no second pass over the block).
            const flatPositions = tf.add(local, tf.mul(tf.range(0, nr, 1, 'int32'), tf.scalar(kc, 'int32')));
            return [local, tf.gather(tf.reshape(block, [-1]), flatPositions)];
          });
          const idValues = ids.dataSync() as Int32Array;
          const scoreValues = scores.dataSync() as Float32Array;
          tf.dispose([ids, scores]);
          for (let i = 0; i < nr; i++) {
            // Strictly smaller: on a tie the earlier code wins, as in one argmin over all K.
            if (scoreValues[i]! < bestScore[r0 + i]!) {
              bestScore[r0 + i] = scoreValues[i]!;
              bestIndex[r0 + i] = c0 + idValues[i]!;
            }
          }
        }
        chunk.dispose();
      }
    }
  } finally {
    augmented.dispose();
  }
  return tf.tensor1d(bestIndex, 'int32');
}

/** How a quantizer finds nearest codes: 'matmul' (any d, default) or 'kd-tree' (d ≤ 16, exact, far faster there). */
export type SearchMethod = 'matmul' | 'kd-tree';

/** A codebook prepared for repeated nearest-code queries. */
export interface CodeIndex {
  nearest(rows: tf.Tensor2D): tf.Tensor1D;
  dispose(): void;
}

/**
 * Prepares `codebook` ([K, d]) for search. The index holds its own copy: the
 * codebook tensor may be disposed afterwards. Tensors it makes are kept (tf.keep),
 * so an index built inside a tidy scope survives it until `dispose()`.
 */
export function buildCodeIndex(codebook: tf.Tensor2D, method: SearchMethod = 'matmul', options: SearchOptions = {}): CodeIndex {
  const [codebookSize, dim] = codebook.shape;
  if (method === 'matmul') {
    const search = buildSearchTable(codebook);
    tf.keep(search.table);
    return {
      nearest: (rows) => nearestCodes(rows, search, options),
      dispose: () => search.table.dispose(),
    };
  }
  if (method === 'kd-tree') {
    if (dim > MAX_KD_TREE_DIM) throw new InputError('search', `the kd-tree search is for d <= ${MAX_KD_TREE_DIM}, got d = ${dim}; use 'matmul'`);
    const tree = new KdTree(codebook.dataSync() as Float32Array, codebookSize, dim);
    return {
      nearest: (rows) => {
        if (rows.shape[1] !== dim) throw new InputError('search', `rows have d = ${rows.shape[1]}, the codebook d = ${dim}`);
        return tf.tensor1d(tree.nearest(rows.dataSync() as Float32Array, rows.shape[0]), 'int32');
      },
      dispose: () => undefined,
    };
  }
  throw new InputError('search', `search must be 'matmul' or 'kd-tree', got ${String(method)}`);
}

/** Checks the search option against d. */
export function checkSearch(search: SearchMethod | undefined, dim: number, who: string): SearchMethod {
  const method = search ?? 'matmul';
  if (method !== 'matmul' && method !== 'kd-tree') throw new InputError(who, `search must be 'matmul' or 'kd-tree', got ${String(method)}`);
  if (method === 'kd-tree' && dim > MAX_KD_TREE_DIM) throw new InputError(who, `the kd-tree search is for d <= ${MAX_KD_TREE_DIM}, got d = ${dim}`);
  return method;
}
