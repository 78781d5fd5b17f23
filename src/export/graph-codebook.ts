/**
 * The effective codebook E = C·W + b [K, d] as the exported graphs hold it.
 *
 * At K = 262,144 and d = 32 it is 32 MiB of float32, needed by all four
 * graphs of a causal model (the encoder's search, the decoder's lookup, and
 * both streaming steps). Inline, a model directory carried it four times
 * (210 MB); a model directory now stores it once, as raw little-endian
 * float32 rows in `codebook.f32`, and each graph refers to its rows there as
 * ONNX external data (such graphs load from their path, not from bytes).
 * Graphs built in memory (tests, benchmarks) keep it inline.
 */
import type * as tf from '@tensorflow/tfjs';

import type { CodecModel } from '../codec/model.js';
import { InputError } from '../errors.js';
import { littleEndianBytes, type OnnxGraphBuilder } from '../onnx/index.js';

/** File name of the shared codebook in a model directory. */
export const CODEBOOK_FILE = 'codebook.f32';

export interface GraphCodebook {
  /** E, [rows, dim] row-major. */
  data: Float32Array;
  rows: number;
  dim: number;
  /** The file beside the graph that holds `data` (external data), or null to write it inline. */
  file: string | null;
}

/** A quantizer whose effective codebook can be read ([K, d]); SimVQ and plain VQ both can. */
interface CodebookSource {
  codebook(): tf.Tensor2D;
}

function hasCodebook(quantizer: unknown): quantizer is CodebookSource {
  return typeof (quantizer as Partial<CodebookSource>).codebook === 'function';
}

/** The codebook the tfjs model searches and decodes with, read once; `file` as in GraphCodebook. */
export function modelCodebook(model: CodecModel, file: string | null = null): GraphCodebook {
  const quantizer: unknown = model.quantizer;
  if (!hasCodebook(quantizer)) throw new InputError('quantizer', `'${model.quantizer.method}' has no readable codebook to export`);
  const codebook = quantizer.codebook();
  try {
    const [rows, dim] = codebook.shape;
    return { data: Float32Array.from(codebook.dataSync() as Float32Array), rows, dim, file };
  } finally {
    codebook.dispose();
  }
}

/** Rows [first, first + count) of the codebook as an initializer [count, dim]; returns its name. */
export function addCodebookRows(g: OnnxGraphBuilder, prefix: string, codebook: GraphCodebook, first = 0, count = codebook.rows): string {
  if (!(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 1 && first + count <= codebook.rows)) {
    throw new Error(`addCodebookRows: rows [${first}, ${first + count}) are outside the codebook's ${codebook.rows}`);
  }
  const name = g.uniqueName(prefix);
  const dims = [count, codebook.dim];
  if (codebook.file !== null) {
    return g.addExternalInitializer(name, { dataType: 'float32', dims, location: codebook.file, offset: first * codebook.dim * Float32Array.BYTES_PER_ELEMENT });
  }
  return g.addInitializer(name, { dataType: 'float32', dims, data: codebook.data.slice(first * codebook.dim, (first + count) * codebook.dim) });
}

/** The codebook's bytes as `codebook.f32` holds them: float32 rows, little-endian. */
export function codebookFileBytes(codebook: GraphCodebook): Uint8Array {
  return littleEndianBytes(codebook.data);
}
