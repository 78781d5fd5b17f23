/**
 * The quantizer's nearest-code search as ONNX nodes, shared by the whole-file
 * encoder graph and the streaming encoder step graph.
 *
 * Scores are what src/quantizers/search.ts minimises: s_k = ‖e_k‖² − 2 z·e_k,
 * first index on ties, with z (and the codes) on the unit sphere when the
 * quantizer is normalised.
 *
 * 'exhaustive' scores every code in float32: at K = 262,144 and d = 32 that
 * is 8.4 M multiply-adds a frame and a 32 MiB table read. 'pruned' gives the
 * same answer reading a quarter of that: it scores every code in integers,
 * rows quantized to 7 bits against an int8 copy of the table (onnxruntime's
 * MatMulIntegerToFloat, 8 MiB), bounds how far each approximate score can be
 * from the float32 one, keeps every block of 16 codes whose best approximate
 * score is within twice that bound of the row's best (the true best is always
 * among them), and rescores only those blocks in float32, row by row. The
 * bound, for a row z quantized to z' and a code column b_k = −2·e_k quantized
 * to b'_k:
 *
 *   |z·b_k − z'·b'_k| ≤ ‖z‖·max‖b_k − b'_k‖ + ‖z − z'‖·max‖b'_k‖
 *
 * with ‖z − z'‖ measured per row in the graph, the maxima over codes computed
 * from the table when the graph is written, plus a float-rounding slack.
 *
 * How much it prunes depends on the latents. Through the speech model at step
 * 2,200 on the real-speech dev set, ~200 of the 16,384 blocks pass per frame
 * (1.2 % of the codes; 9 for random latents): trained latents sit among many
 * close codes. Pruning wins at a few frames a run (the streaming encoder: an
 * 8 MiB int8 table read instead of a 32 MiB float one), not over long windows,
 * where the float Gemm is compute-bound and the rescoring's gathers cost more
 * than they save: the whole-file encoder searches exhaustively.
 *
 * Both methods score the codebook a block of codes at a time and reduce each
 * block before forming the next, so a run holds rows × blockCodes scores, not
 * rows × K: at 150 frames and K = 262,144, 9.8 MB instead of 157 MB.
 */
import type { OnnxGraphBuilder } from '../onnx/index.js';
import { unitNormOnnx } from '../nn/unit-norm.js';
import { addCodebookRows, type GraphCodebook } from './graph-codebook.js';

export type SearchMethod = 'pruned' | 'exhaustive';

/** Operator-set imports a graph with this search needs (MatMulIntegerToFloat is a Microsoft op). */
export const SEARCH_OPSET_IMPORTS: Record<string, number> = { 'com.microsoft': 1 };

/** Codes scored per block (a multiple of CANDIDATE_BLOCK); see the module comment. */
export const SEARCH_BLOCK_CODES = 16_384;

/** Codes per candidate block of the pruned search (the block is gcd(K, this)). */
const CANDIDATE_BLOCK = 16;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** ONNX TensorProto data type of uint8. */
const ONNX_UINT8 = 2;

/** Relative slack for float rounding of the approximate and exact scores (generous: it only adds candidates). */
const ROUNDING_SLACK = 1e-4;

type Attributes = Parameters<OnnxGraphBuilder['addNode']>[3];

function nodeEmitter(g: OnnxGraphBuilder) {
  return (op: string, inputs: string[], attributes: Attributes = {}, domain?: string): string => {
    const output = g.uniqueName(op.toLowerCase());
    g.addNode(op, inputs, [output], attributes, domain === undefined ? {} : { domain });
    return output;
  };
}

export interface SearchEmitOptions {
  /** The effective codebook E [K, d], inline or in a file beside the graph. */
  codebook: GraphCodebook;
  /** Search on the unit sphere (l2-normalise the latents first). */
  normalized: boolean;
  method: SearchMethod;
  /** Codes scored per block (default SEARCH_BLOCK_CODES). */
  blockCodes?: number;
}

/**
 * Emits the search: latents [B, d, F] → int64 token ids [B·F], batch-major
 * (reshape to [B, F]).
 */
export function emitNearestCodeSearch(g: OnnxGraphBuilder, latents: string, options: SearchEmitOptions): string {
  const { data: codebook, rows: K, dim: d } = options.codebook;
  const node = nodeEmitter(g);
  const scalar = (value: number) => g.addConstant('c', 'float32', [value], []);
  const axis1 = () => g.addConstant('axis', 'int64', [1]);
  // [B, d, F] → rows [B·F, d].
  let rows = node('Reshape', [node('Transpose', [latents], { perm: [0, 2, 1] }), g.addConstant('rows', 'int64', [-1, d])]);
  // On the unit sphere as SimVQ searches in training (the same ops, the same ε).
  if (options.normalized) rows = unitNormOnnx(g, rows, 1);
  // ‖e_k‖² in float32, summed in order: reproducible. (tfjs's tf.sum on the wasm backend rounds
  // differently from call to call, by an ulp or two: its SIMD path depends on the heap alignment.)
  // These values break ties, and a frame whose latents are exactly zero (digital silence through
  // an encoder with zero biases) ties every unit code: the first code of smallest rounded norm wins.
  const squaredNorms = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum = Math.fround(sum + Math.fround(codebook[k * d + j]! * codebook[k * d + j]!));
    squaredNorms[k] = sum;
  }
  const candidateBlock = gcd(K, CANDIDATE_BLOCK);
  const requested = options.blockCodes ?? SEARCH_BLOCK_CODES;
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`emitNearestCodeSearch: blockCodes must be a positive integer, got ${requested}`);
  // Whole candidate blocks per scoring block, so no candidate block straddles two.
  const blockCodes = Math.max(candidateBlock, Math.floor(requested / candidateBlock) * candidateBlock);
  const blocks: { first: number; count: number }[] = [];
  for (let first = 0; first < K; first += blockCodes) blocks.push({ first, count: Math.min(blockCodes, K - first) });
  const normsOf = (first: number, count: number) => g.addInitializer(g.uniqueName('code_norms'), { dataType: 'float32', dims: [count], data: squaredNorms.slice(first, first + count) });

  /**
   * Scores the blocks in order: `score(rows, block)` forms one block's scores and returns what is
   * kept of them, reduced ([R, ·] values first). Each block reads rows + 0·(a value of the
   * previous block's result): the same rows, but a data dependency, so onnxruntime reduces (and
   * frees) one block's scores before it forms the next block's.
   */
  const scoreInTurn = (score: (blockRows: string, block: { first: number; count: number }) => string[]): string[][] => {
    const zero = scalar(0);
    let blockRows = rows;
    return blocks.map((block) => {
      const kept = score(blockRows, block);
      const firstValue = node('ReduceMin', [kept[0]!], { keepdims: 1 });
      blockRows = node('Add', [rows, node('Mul', [firstValue, zero])]);
      return kept;
    });
  };

  if (options.method === 'exhaustive') {
    const perBlock = scoreInTurn((blockRows, { first, count }) => {
      const codes = addCodebookRows(g, 'codebook_block', options.codebook, first, count);
      // ‖e‖² − 2·z·e in one Gemm, then one pass for the first index of the smallest, whose value is gathered.
      const scores = node('Gemm', [blockRows, codes, normsOf(first, count)], { alpha: { float: -2 }, beta: { float: 1 }, transB: 1 });
      const local = node('ArgMin', [scores], { axis: 1, keepdims: 1, select_last_index: 0 });
      const ids = first === 0 ? local : node('Add', [local, g.addConstant('block_start', 'int64', [first], [])]);
      return [node('GatherElements', [scores, local], { axis: 1 }), ids];
    });
    if (perBlock.length === 1) return node('Reshape', [perBlock[0]![1]!, g.addConstant('flat', 'int64', [-1])]);
    // The block holding the smallest score (the first such block on a tie), then its code.
    const bestBlock = node('ArgMin', [node('Concat', perBlock.map((b) => b[0]!), { axis: 1 })], { axis: 1, keepdims: 1, select_last_index: 0 });
    const ids = node('GatherElements', [node('Concat', perBlock.map((b) => b[1]!), { axis: 1 }), bestBlock], { axis: 1 });
    return node('Reshape', [ids, g.addConstant('flat', 'int64', [-1])]);
  }

  // int8 copy of B = −2·Eᵀ [d, K] with one scale for the whole table (onnxruntime's fastest
  // form: ~0.5 ms a frame here against ~0.7 ms with a scale per code), and the rows quantized to
  // 7 bits, 0..127 around a zero point: on AVX2 without VNNI onnxruntime's u8×s8 kernel adds
  // pairs of products in int16, which saturates past 32,767 (seen here: scores off by 30 % with
  // 8-bit rows and a ±127 table); 2·128·127 fits. The table keeps the full ±127, since its error
  // term is the larger one in the bound.
  let largest = 0;
  for (let i = 0; i < codebook.length; i++) largest = Math.max(largest, Math.abs(2 * codebook[i]!));
  const tableScale = Math.fround(largest > 0 ? largest / 127 : 1);
  const quantized = new Int8Array(d * K);
  let maxErrorNorm = 0;
  let maxQuantizedNorm = 0;
  let maxSquaredNorm = 0;
  for (let k = 0; k < K; k++) {
    let error = 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const b = -2 * codebook[k * d + j]!;
      const q = Math.max(-127, Math.min(127, Math.round(b / tableScale)));
      quantized[j * K + k] = q;
      error += (b - tableScale * q) ** 2;
      norm += (tableScale * q) ** 2;
    }
    maxErrorNorm = Math.max(maxErrorNorm, Math.sqrt(error));
    maxQuantizedNorm = Math.max(maxQuantizedNorm, Math.sqrt(norm));
    maxSquaredNorm = Math.max(maxSquaredNorm, squaredNorms[k]!);
  }
  const tableScaleName = g.addConstant('table_scale', 'float32', [tableScale], []);
  // Rows to 7 bits with one scale and zero point for the run: s = (max(0, max z) − min(0, min z)) / 127.
  const upper = node('Max', [node('ReduceMax', [rows], { keepdims: 0 }), scalar(0)]);
  const lower = node('Min', [node('ReduceMin', [rows], { keepdims: 0 }), scalar(0)]);
  const rowScale = node('Max', [node('Div', [node('Sub', [upper, lower]), scalar(127)]), scalar(1e-30)]);
  const zeroPoint = node('Cast', [node('Round', [node('Div', [node('Neg', [lower]), rowScale])])], { to: ONNX_UINT8 });
  const quantizeRows = (input: string) => node('QuantizeLinear', [input, rowScale, zeroPoint]);
  // Per block: approximate scores [R, count] = (q − zp)·s · B'ᵀ-block + ‖e‖², reduced at once to
  // each candidate block's smallest [R, count / candidateBlock].
  const perBlock = scoreInTurn((blockRows, { first, count }) => {
    const columns = new Int8Array(d * count);
    for (let j = 0; j < d; j++) columns.set(quantized.subarray(j * K + first, j * K + first + count), j * count);
    const table = g.addInitializer(g.uniqueName('search_table_int8'), { dataType: 'int8', dims: [d, count], data: columns });
    const inputs = [quantizeRows(blockRows), table, rowScale, tableScaleName, zeroPoint, '', normsOf(first, count)];
    const approximate = node('MatMulIntegerToFloat', inputs, {}, 'com.microsoft');
    const grouped = node('Reshape', [approximate, g.addConstant('groups', 'int64', [0, count / candidateBlock, candidateBlock])]);
    return [node('ReduceMin', [grouped], { axes: [2], keepdims: 0 })];
  });
  const blockMinima = perBlock.length === 1 ? perBlock[0]![0]! : node('Concat', perBlock.map((b) => b[0]!), { axis: 1 });

  // The bound τ per row [R, 1], with each row's own quantization error ‖z − z'‖ measured.
  const rowNorm = node('Sqrt', [node('ReduceSum', [node('Mul', [rows, rows]), axis1()], { keepdims: 1 })]);
  const rowError = node('Sub', [rows, node('DequantizeLinear', [quantizeRows(rows), rowScale, zeroPoint])]);
  const rowErrorNorm = node('Sqrt', [node('ReduceSum', [node('Mul', [rowError, rowError]), axis1()], { keepdims: 1 })]);
  const tau = node('Add', [
    node('Mul', [rowNorm, scalar(maxErrorNorm + ROUNDING_SLACK * 2 * maxQuantizedNorm)]),
    node('Add', [node('Mul', [rowErrorNorm, scalar(maxQuantizedNorm * (1 + ROUNDING_SLACK))]), scalar(ROUNDING_SLACK * (1 + maxSquaredNorm))]),
  ]);
  // Candidate blocks: those whose smallest approximate score is ≤ the row's best + 2τ
  // (opset 17: ReduceMin takes axes as an attribute, ReduceSum as an input).
  const best = node('ReduceMin', [blockMinima], { axes: [1], keepdims: 1 });
  const keep = node('LessOrEqual', [blockMinima, node('Add', [best, node('Mul', [tau, scalar(2)])])]);
  // Each kept (row, block) pair, in row-major order: [N, 2].
  const pairs = node('Transpose', [node('NonZero', [keep])], { perm: [1, 0] });
  const column = (i: number) => node('Gather', [pairs, g.addConstant('column', 'int64', [i], [])], { axis: 1 });
  const [rowIds, blockIds] = [column(0), column(1)];
  // Exact float32 scores of each pair's codes against its own row, [N, candidateBlock]:
  // ‖e‖² − 2 z·e as a batch of [block, d] × [d, 1] products.
  const codeOffsets = g.addConstant('offsets', 'int64', Array.from({ length: candidateBlock }, (_, i) => i), [1, candidateBlock]);
  const codes = node('Add', [node('Mul', [node('Unsqueeze', [blockIds, axis1()]), g.addConstant('block', 'int64', [candidateBlock], [])]), codeOffsets]);
  const pairRows = node('Unsqueeze', [node('Gather', [rows, rowIds], { axis: 0 }), g.addConstant('axis', 'int64', [2])]);
  const products = node('MatMul', [node('Gather', [addCodebookRows(g, 'codebook', options.codebook), codes], { axis: 0 }), pairRows]);
  const allNorms = g.addInitializer(g.uniqueName('code_norms_all'), { dataType: 'float32', dims: [K], data: squaredNorms });
  const exact = node('Add', [node('Mul', [node('Squeeze', [products, g.addConstant('axis', 'int64', [2])]), scalar(-2)]), node('Gather', [allNorms, codes], { axis: 0 })]);
  // Within a pair: its smallest score and the first code holding it.
  const pairBest = node('ReduceMin', [exact], { axes: [1], keepdims: 0 });
  const pairArgmin = node('ArgMin', [exact], { axis: 1, keepdims: 1, select_last_index: 0 });
  const pairCode = node('Squeeze', [node('GatherElements', [codes, pairArgmin], { axis: 1 }), axis1()]);
  // Across a row's pairs: lay them out densely, [R, most pairs in a row], each pair at its rank
  // within its row (pairs come row by row: its index less the row's first), padding +∞; the first
  // pair with the row's smallest score is the lowest block, so its code is the full argmin's first
  // index. Counting per row works on the N pairs, not on the [R, K / block] mask.
  const zeros = node('Expand', [g.addConstant('zero', 'int64', [0], []), node('Shape', [keep], { start: 0, end: 1 })]);
  const ones = node('Expand', [g.addConstant('one', 'int64', [1], []), node('Shape', [rowIds])]);
  const counts = node('ScatterElements', [zeros, rowIds, ones], { axis: 0, reduction: 'add' });
  const rowStarts = node('CumSum', [counts, g.addConstant('axis', 'int64', [0], [])], { exclusive: 1 });
  const pairIndex = node('Range', [g.addConstant('start', 'int64', [0], []), node('Squeeze', [node('Shape', [rowIds])]), g.addConstant('step', 'int64', [1], [])]);
  const ranks = node('Sub', [pairIndex, node('Gather', [rowStarts, rowIds], { axis: 0 })]);
  const width = node('ReduceMax', [counts], { keepdims: 1 });
  const denseShape = node('Concat', [node('Shape', [keep], { start: 0, end: 1 }), width], { axis: 0 });
  const slots = node('Concat', [node('Unsqueeze', [rowIds, axis1()]), node('Unsqueeze', [ranks, axis1()])], { axis: 1 });
  const denseScores = node('ScatterND', [node('Expand', [scalar(Infinity), denseShape]), slots, pairBest]);
  const denseCodes = node('ScatterND', [node('Expand', [g.addConstant('no_code', 'int64', [K], []), denseShape]), slots, pairCode]);
  const bestPair = node('ArgMin', [denseScores], { axis: 1, keepdims: 1, select_last_index: 0 });
  return node('Reshape', [node('GatherElements', [denseCodes, bestPair], { axis: 1 }), g.addConstant('flat', 'int64', [-1])]);
}
