/**
 * Exact nearest-neighbour search on squared Euclidean distance, in blocks, so that
 * a 262,144-code book can be searched without a [N, K] distance matrix.
 *
 * argmin_j ‖z − e_j‖² = argmin_j (‖e_j‖² − 2 z·e_j) since ‖z‖² is the same for every j.
 * Both terms come out of one matmul: with z' = [z, 1] and the *search table*
 * A = [−2·Eᵀ ; ‖e‖²] ([d+1, K], built once per codebook), the scores are z'·A.
 * The table is kept in chunks of up to 4096 codes; scores are formed one block of
 * (rows × one chunk) at a time, at most `blockElements` of them, reduced to a
 * per-row argmin, and blocks are merged keeping the first minimum (as one argmin
 * over all K would), so the answer does not depend on the block size.
 *
 * Peak memory of a search, beyond the codebook itself:
 *   the search table          4·K·(d+1) bytes (plus a transient 4·K·d readback while it is built)
 *   the latents, read back    4·N·d bytes, and again with a 1 appended: 4·N·(d+1)
 *   one score block           4·blockElements bytes (default 2^22 elements = 16 MiB)
 *   per-row best and index    8·N bytes
 * e.g. K = 262,144, d = 512, N = 4096: 514 MiB table + 16 MiB rows + 16 MiB block.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';
import { KdTree, MAX_KD_TREE_DIM } from './kdtree.js';
import { OrtCodeSearch, ortSearchAvailable } from './ort-search.js';

/** Default score-block size in elements (16 MiB of float32). */
export const DEFAULT_BLOCK_ELEMENTS = 1 << 22;
/** Codes per table chunk: 1024 rows × 4096 codes was ~1.8× faster per score than 256 × 16384 here. */
export const DEFAULT_CODE_CHUNK = 4096;

export interface SearchOptions {
  /** Most score elements formed at once; bounds the search's working memory. */
  blockElements?: number;
}

/**
 * A codebook prepared for search: A = [−2·Eᵀ ; ‖e‖²] ([d+1, K]) held as column
 * chunks of `codeChunk` codes, each its own tensor. (Slicing chunks out of one big
 * tensor at search time would cost a copy of the whole table per slice: tfjs's
 * wasm Slice reads its entire input back first.)
 */
export interface SearchTable {
  readonly chunks: tf.Tensor2D[];
  readonly codeChunk: number;
  readonly codebookSize: number;
  readonly dim: number;
  readonly blockElements: number;
}

function checkBlockElements(options: SearchOptions): number {
  const blockElements = options.blockElements ?? DEFAULT_BLOCK_ELEMENTS;
  if (!Number.isInteger(blockElements) || blockElements < 1) throw new InputError('search', `blockElements must be a positive integer, got ${blockElements}`);
  return blockElements;
}

/** Builds the search table of `codebook` ([K, d]); the caller disposes it with `disposeSearchTable`. */
export function buildSearchTable(codebook: tf.Tensor2D, options: SearchOptions = {}): SearchTable {
  const blockElements = checkBlockElements(options);
  const [codebookSize, dim] = codebook.shape;
  const codeChunk = Math.max(1, Math.min(codebookSize, DEFAULT_CODE_CHUNK, blockElements));
  const chunkOf = (codes: tf.Tensor2D): tf.Tensor2D =>
    tf.tidy(() => tf.concat([tf.mul(tf.transpose(codes), -2), tf.reshape(tf.sum(tf.square(codes), 1), [1, -1])], 0) as tf.Tensor2D);
  if (codeChunk === codebookSize) return { chunks: [chunkOf(codebook)], codeChunk, codebookSize, dim, blockElements };
  // One readback, then each chunk uploaded from a view of it.
  const values = codebook.dataSync() as Float32Array;
  const chunks: tf.Tensor2D[] = [];
  for (let c0 = 0; c0 < codebookSize; c0 += codeChunk) {
    const kc = Math.min(codeChunk, codebookSize - c0);
    const codes = tf.tensor2d(values.subarray(c0 * dim, (c0 + kc) * dim), [kc, dim]);
    chunks.push(chunkOf(codes));
    codes.dispose();
  }
  return { chunks, codeChunk, codebookSize, dim, blockElements };
}

export function disposeSearchTable(search: SearchTable): void {
  tf.dispose(search.chunks);
}

/** Rows per score block: as many as fit in `blockElements` beside one table chunk. */
export function rowsPerBlock(rows: number, codeChunk: number, blockElements: number): number {
  return Math.max(1, Math.min(rows, Math.floor(blockElements / codeChunk)));
}

/** Index of the nearest code for each row of `rows` ([N, d]); int32 [N]. */
export function nearestCodes(rows: tf.Tensor2D, search: SearchTable): tf.Tensor1D {
  const [n, dim] = rows.shape;
  if (dim !== search.dim) throw new InputError('search', `rows have d = ${dim}, the codebook d = ${search.dim}`);
  if (n === 0) return tf.tensor1d([], 'int32');
  const { chunks, codeChunk } = search;
  const rowChunk = rowsPerBlock(n, codeChunk, search.blockElements);
  // Rows with a 1 appended, one tensor per block, built from one readback (no slicing).
  const values = rows.dataSync() as Float32Array;
  const blocks: tf.Tensor2D[] = [];
  for (let r0 = 0; r0 < n; r0 += rowChunk) {
    const nr = Math.min(rowChunk, n - r0);
    const augmented = new Float32Array(nr * (dim + 1));
    for (let i = 0; i < nr; i++) {
      augmented.set(values.subarray((r0 + i) * dim, (r0 + i + 1) * dim), i * (dim + 1));
      augmented[i * (dim + 1) + dim] = 1;
    }
    blocks.push(tf.tensor2d(augmented, [nr, dim + 1]));
  }
  const bestIndex = new Int32Array(n);
  try {
    if (chunks.length === 1) {
      // One pass over the codes: each block's argmin is final, no scores to compare.
      blocks.forEach((block, b) => {
        const ids = tf.tidy(() => tf.argMin(tf.matMul(block, chunks[0]!), 1));
        bestIndex.set(ids.dataSync() as Int32Array, b * rowChunk);
        ids.dispose();
      });
    } else {
      const bestScore = new Float32Array(n).fill(Infinity);
      chunks.forEach((chunk, c) => {
        const c0 = c * codeChunk;
        const kc = chunk.shape[1];
        blocks.forEach((block, b) => {
          const r0 = b * rowChunk;
          const nr = block.shape[0];
          const [ids, scores] = tf.tidy(() => {
            const scoreBlock = tf.matMul(block, chunk);
            const local = tf.argMin(scoreBlock, 1);
            // The winning score of each row, read at its argmin (no second pass over the block).
            const flatPositions = tf.add(local, tf.mul(tf.range(0, nr, 1, 'int32'), tf.scalar(kc, 'int32')));
            return [local, tf.gather(tf.reshape(scoreBlock, [-1]), flatPositions)];
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
        });
      });
    }
  } finally {
    tf.dispose(blocks);
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
    // On the onnxruntime engine the scores never leave onnxruntime (./ort-search.ts);
    // a bounded block size is the tfjs path's promise, so asking for one keeps it.
    if (options.blockElements === undefined && ortSearchAvailable()) {
      const search = new OrtCodeSearch(codebook.dataSync() as Float32Array, codebookSize, dim);
      return { nearest: (rows) => search.nearest(rows), dispose: () => undefined };
    }
    const search = buildSearchTable(codebook, options);
    search.chunks.forEach((chunk) => tf.keep(chunk));
    return {
      nearest: (rows) => nearestCodes(rows, search),
      dispose: () => disposeSearchTable(search),
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
