/**
 * The quantizer's nearest-code search as ONNX nodes, for the encoder step graph.
 *
 * Scores are what src/quantizers/search.ts minimises: s_k = ‖e_k‖² − 2 z·e_k,
 * first index on ties, with z (and the codes) on the unit sphere when the
 * quantizer is normalised.
 *
 * 'exhaustive' scores every code in float32: at K = 262,144 and d = 32 that
 * reads a 32 MiB table per frame, ~2.4 ms here, memory-bound, more than the
 * 2 ms a 20 ms frame may cost. 'pruned' (the default) gives the same answer
 * reading a quarter of that: it scores every code against an int8 copy of the
 * table (onnxruntime's DynamicQuantizeMatMul, ~8 MiB), bounds how far each
 * approximate score can be from the float32 one, keeps every code whose
 * approximate score is within twice that bound of the best (the true best is
 * always among them), and rescores only those in float32. The bound, for a
 * row z and a code column b_k = −2·e_k quantized to b'_k, z quantized to z':
 *
 *   |z·b_k − z'·b'_k| ≤ ‖z‖·max‖b_k − b'_k‖ + ‖z − z'‖·max‖b'_k‖,
 *   ‖z − z'‖ ≤ √d·s_z,  s_z = (max(0, max z) − min(0, min z)) / 255
 *
 * (a uint8 step of the dynamic quantization; one full step, not half, to cover
 * saturation at the ends), plus a float-rounding slack. The maxima over codes
 * are computed from the table when the graph is written.
 */
import type { OnnxGraphBuilder } from '../../onnx/index.js';

export type StreamSearch = 'pruned' | 'exhaustive';

/** Operator-set imports a graph with this search needs. */
export const SEARCH_OPSET_IMPORTS: Record<string, number> = { 'com.microsoft': 1 };

/** Codes per candidate block (the block is gcd(K, this)). */
const CANDIDATE_BLOCK = 64;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Largest magnitude in the int8 table (7 bits; see where it is built). */
const INT8_TABLE_LIMIT = 63;

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
  /** The effective codebook E, [K, d] row-major. */
  codebook: Float32Array;
  codebookSize: number;
  dim: number;
  /** Search on the unit sphere (l2-normalise the latents first). */
  normalized: boolean;
  method: StreamSearch;
}

/** Emits the search: latents [1, d, F] → int64 token ids [F]. */
export function emitNearestCodeSearch(g: OnnxGraphBuilder, latents: string, options: SearchEmitOptions): string {
  const { codebook, codebookSize: K, dim: d } = options;
  const node = nodeEmitter(g);
  const scalar = (value: number) => g.addConstant('c', 'float32', [value], []);
  const axis1 = () => g.addConstant('axis', 'int64', [1]);
  // [1, d, F] → rows [F, d].
  let rows = node('Reshape', [node('Transpose', [latents], { perm: [0, 2, 1] }), g.addConstant('rows', 'int64', [-1, d])]);
  if (options.normalized) {
    // z / sqrt(Σz² + 1e-12), as SimVQ's unitRows.
    const squares = node('ReduceSum', [node('Mul', [rows, rows]), axis1()], { keepdims: 1 });
    rows = node('Div', [rows, node('Sqrt', [node('Add', [squares, scalar(1e-12)])])]);
  }
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
  const norms = g.addInitializer(g.uniqueName('code_norms'), { dataType: 'float32', dims: [K], data: squaredNorms });

  if (options.method === 'exhaustive') {
    const minusTwoTransposed = new Float32Array(d * K);
    for (let k = 0; k < K; k++) for (let j = 0; j < d; j++) minusTwoTransposed[j * K + k] = -2 * codebook[k * d + j]!;
    const table = g.addInitializer(g.uniqueName('search_table'), { dataType: 'float32', dims: [d, K], data: minusTwoTransposed });
    return node('ArgMin', [node('Add', [node('MatMul', [rows, table]), norms])], { axis: 1, keepdims: 0, select_last_index: 0 });
  }

  // int8 copy of B = −2·Eᵀ [d, K]: one scale for the whole table and no zero point (onnxruntime's
  // fastest form of the op: ~0.5 ms here against ~0.7 ms with a scale per code), values in ±63
  // only: on AVX2 without VNNI its u8×s8 kernel adds pairs of products in int16 and saturates
  // beyond that (seen here: scores off by 30 %).
  let largest = 0;
  for (let i = 0; i < codebook.length; i++) largest = Math.max(largest, Math.abs(2 * codebook[i]!));
  const scale = Math.fround(largest > 0 ? largest / INT8_TABLE_LIMIT : 1);
  const quantized = new Int8Array(d * K);
  let maxErrorNorm = 0;
  let maxQuantizedNorm = 0;
  let maxSquaredNorm = 0;
  for (let k = 0; k < K; k++) {
    let error = 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const b = -2 * codebook[k * d + j]!;
      const q = Math.max(-INT8_TABLE_LIMIT, Math.min(INT8_TABLE_LIMIT, Math.round(b / scale)));
      quantized[j * K + k] = q;
      error += (b - scale * q) ** 2;
      norm += (scale * q) ** 2;
    }
    maxErrorNorm = Math.max(maxErrorNorm, Math.sqrt(error));
    maxQuantizedNorm = Math.max(maxQuantizedNorm, Math.sqrt(norm));
    maxSquaredNorm = Math.max(maxSquaredNorm, squaredNorms[k]!);
  }
  const table = g.addInitializer(g.uniqueName('search_table_int8'), { dataType: 'int8', dims: [d, K], data: quantized });
  const tableScale = g.addConstant('search_scale', 'float32', [scale], []);
  // Approximate scores [F, K], the norms added as the bias.
  const approximate = node('DynamicQuantizeMatMul', [rows, table, tableScale, '', norms], {}, 'com.microsoft');

  // The bound τ per row [F, 1].
  const rowNorm = node('Sqrt', [node('ReduceSum', [node('Mul', [rows, rows]), axis1()], { keepdims: 1 })]);
  const upper = node('Max', [node('ReduceMax', [rows], { keepdims: 0 }), scalar(0)]);
  const lower = node('Min', [node('ReduceMin', [rows], { keepdims: 0 }), scalar(0)]);
  const rowStep = node('Div', [node('Sub', [upper, lower]), scalar(255)]);
  const tau = node('Add', [
    node('Mul', [rowNorm, scalar(maxErrorNorm + ROUNDING_SLACK * 2 * maxQuantizedNorm)]),
    node('Add', [node('Mul', [rowStep, scalar(Math.sqrt(d) * maxQuantizedNorm)]), scalar(ROUNDING_SLACK * (1 + maxSquaredNorm))]),
  ]);
  // Candidates: approx_k ≤ min_j approx_j + 2τ, taken a block of codes at a time (every code of a
  // block whose smallest approximate score passes): one reduction over the scores instead of a
  // comparison and a NonZero scan over all K of them, and the block ids say which codes to rescore.
  // (Opset 17: ReduceMin takes axes as an attribute, ReduceSum as an input.)
  const block = gcd(K, CANDIDATE_BLOCK);
  const blockMinima = node('ReduceMin', [node('Reshape', [approximate, g.addConstant('blocks', 'int64', [-1, K / block, block])])], { axes: [2], keepdims: 0 });
  const best = node('ReduceMin', [blockMinima], { axes: [1], keepdims: 1 });
  const keep = node('LessOrEqual', [blockMinima, node('Add', [best, node('Mul', [tau, scalar(2)])])]);
  const blockIds = node('Gather', [node('NonZero', [keep]), g.addConstant('column', 'int64', [1], [])], { axis: 0 });
  const firstCodes = node('Mul', [node('Unsqueeze', [blockIds, g.addConstant('axis', 'int64', [1])]), g.addConstant('block', 'int64', [block], [])]);
  const offsets = g.addConstant('offsets', 'int64', Array.from({ length: block }, (_, i) => i), [1, block]);
  // Code ids to rescore, block by block (a block may come twice, once per row that wants it).
  const candidates = node('Reshape', [node('Add', [firstCodes, offsets]), g.addConstant('flat', 'int64', [-1])]);
  // Exact float32 scores of every candidate for every row [F, n]: ‖e‖² − 2 z·e.
  const minusTwoCodes = g.addInitializer(g.uniqueName('codebook_minus_two'), { dataType: 'float32', dims: [K, d], data: codebook.map((v) => -2 * v) });
  const exact = node('Gemm', [rows, node('Gather', [minusTwoCodes, candidates], { axis: 0 }), node('Gather', [norms, candidates], { axis: 0 })], { transB: 1 });
  // The smallest code id among each row's minima: a full argmin's first index, whatever the candidates' order.
  const isBest = node('Equal', [exact, node('ReduceMin', [exact], { axes: [1], keepdims: 1 })]);
  const ids = node('Where', [isBest, candidates, g.addConstant('none', 'int64', [K], [])]);
  return node('ReduceMin', [ids], { axes: [1], keepdims: 0 });
}
