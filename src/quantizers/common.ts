/**
 * What every quantizer shares: the interface, the latent layouts, argument checks,
 * and the two gradient tricks (stop-gradient and the straight-through estimator).
 *
 * Layouts. A quantizer takes latents either as
 * - `[B, d, T]` (rank 3, channels-first, as the engine's conv1d produces them:
 *   the codec puts the quantizer between a conv encoder and decoder), or
 * - `[N, d]` (rank 2, one vector per row).
 * The rank alone decides; indices come back as `[B, T]` or `[N]` (int32), and
 * `decode` maps them back to `[B, d, T]` or `[N, d]`.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';

/** Largest codebook we support (2^18, the paper's biggest). */
export const MAX_CODEBOOK_SIZE = 262_144;
/** Largest code dimension we support. */
export const MAX_CODE_DIM = 512;

/** A plain object type (not an interface), so `tf.dispose(output)` accepts it. */
export type QuantizerOutput = {
  /** Same shape as the input; forward value q, gradient passed straight to z. */
  quantized: tf.Tensor;
  /** int32 code ids: `[B, T]` for `[B, d, T]` input, `[N]` for `[N, d]`. */
  indices: tf.Tensor;
  /** Scalar quantizer loss (what the method trains its codebook and the encoder with). */
  loss: tf.Scalar;
};

export interface ForwardOptions {
  /**
   * Training step (default true). Quantizers with side-effect updates (EMA) only
   * update when true; every quantizer refreshes its cached inference codebook.
   */
  training?: boolean;
}

export interface Quantizer {
  /** What the method is, e.g. 'simvq', 'vq', 'vq-ema', 'fsq'. */
  readonly method: string;
  readonly codebookSize: number;
  readonly dim: number;
  /** The variables an optimizer should train (empty when the codebook is updated otherwise). */
  readonly trainableVariables: tf.Variable[];
  /** Quantize with gradients: call inside the optimizer's loss function. */
  forward(z: tf.Tensor, options?: ForwardOptions): QuantizerOutput;
  /** Code ids for latents (search only, no gradient). */
  encode(z: tf.Tensor): tf.Tensor;
  /** Vectors for code ids, from the effective codebook the search used. */
  decode(indices: tf.Tensor): tf.Tensor;
  /** The effective codebook `[K, d]` (a new tensor the caller disposes). */
  codebook(): tf.Tensor2D;
  dispose(): void;
}

/** Checks the latents and flattens them to `[N, d]` rows. */
export function toRows(z: tf.Tensor, dim: number, who: string): { rows: tf.Tensor2D; restore: (rows: tf.Tensor) => tf.Tensor; indexShape: number[] } {
  if (z.dtype !== 'float32') throw new InputError(who, `latents must be float32, got ${z.dtype}`);
  if (z.rank === 2) {
    if (z.shape[1] !== dim) throw new InputError(who, `latents [N, d] must have d = ${dim}, got shape [${z.shape.join(', ')}]`);
    return { rows: z as tf.Tensor2D, restore: (rows) => rows, indexShape: [z.shape[0]!] };
  }
  if (z.rank === 3) {
    const [batch, channels, frames] = z.shape as [number, number, number];
    if (channels !== dim) throw new InputError(who, `latents [B, d, T] must have d = ${dim} channels, got shape [${z.shape.join(', ')}]`);
    return {
      rows: tf.reshape(tf.transpose(z, [0, 2, 1]), [batch * frames, dim]),
      restore: (rows) => tf.transpose(tf.reshape(rows, [batch, frames, dim]), [0, 2, 1]),
      indexShape: [batch, frames],
    };
  }
  throw new InputError(who, `latents must be [B, d, T] or [N, d], got rank ${z.rank} shape [${z.shape.join(', ')}]`);
}

/** Checks code ids and flattens them; `restore` maps `[N, d]` rows back to the ids' layout. */
export function indicesToFlat(indices: tf.Tensor, codebookSize: number, dim: number, who: string): { flat: tf.Tensor1D; restore: (rows: tf.Tensor) => tf.Tensor } {
  if (indices.dtype !== 'int32') throw new InputError(who, `code ids must be int32, got ${indices.dtype}`);
  if (indices.rank !== 1 && indices.rank !== 2) throw new InputError(who, `code ids must be [N] or [B, T], got rank ${indices.rank}`);
  const values = indices.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v >= codebookSize) throw new InputError(who, `code id ${v} at position ${i} is outside [0, ${codebookSize})`);
  }
  const flat = tf.reshape(indices, [-1]) as tf.Tensor1D;
  if (indices.rank === 1) return { flat, restore: (rows) => rows };
  const [batch, frames] = indices.shape as [number, number];
  return { flat, restore: (rows) => tf.transpose(tf.reshape(rows, [batch, frames, dim]), [0, 2, 1]) };
}

export function checkCodebookSize(value: number, who: string, max = MAX_CODEBOOK_SIZE): void {
  if (!Number.isInteger(value) || value < 2 || value > max) throw new InputError(who, `codebookSize must be an integer in [2, ${max}], got ${value}`);
}

export function checkDim(value: number, who: string): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_CODE_DIM) throw new InputError(who, `dim must be an integer in [1, ${MAX_CODE_DIM}], got ${value}`);
}

export function checkSeed(value: number, who: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new InputError(who, `seed must be an integer in [0, 2^32), got ${value}`);
}

export function checkPositive(value: number, name: string, who: string): void {
  if (!Number.isFinite(value) || value <= 0) throw new InputError(who, `${name} must be a positive number, got ${value}`);
}

/** sg(x): the value of x, with no gradient flowing back through it. */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** z + sg(q − z): forward q, backward dL/dq handed to z unchanged. */
export function straightThrough(z: tf.Tensor, q: tf.Tensor): tf.Tensor {
  return tf.add(z, stopGradient(tf.sub(q, z)));
}

/** β·mean((z − sg(q))²) + mean((sg(z) − q)²): commitment (trains the encoder) + codebook term. */
export function commitmentAndCodebookLoss(z: tf.Tensor, q: tf.Tensor, beta: number): tf.Scalar {
  const commitment = tf.mean(tf.square(tf.sub(z, stopGradient(q))));
  const codebook = tf.mean(tf.square(tf.sub(stopGradient(z), q)));
  return tf.add(tf.mul(commitment, beta), codebook) as tf.Scalar;
}

/**
 * Runs `fn` without recording its ops on the gradient tape. tfjs records every op
 * while a gradient is being taken, keeping each op's inputs alive until backprop;
 * for the code search that would keep every score block (16 MiB each, up to ~100
 * of them for 262k codes) alive through the step. The forward function of a
 * `tf.customGrad` op runs with the tape off (tfjs treats it as one kernel), so the
 * search runs inside one whose gradient is nothing.
 */
export function untaped<T extends tf.Tensor>(fn: () => T): T {
  const run = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: fn() as tf.Tensor,
    gradFunc: () => tf.zerosLike(inputs[0] as tf.Tensor),
  })) as (anchor: tf.Tensor) => tf.Tensor;
  const anchor = tf.scalar(0);
  try {
    return run(anchor) as T;
  } finally {
    anchor.dispose();
  }
}

/** Throws when latents hold NaN or ±Inf (one readback of a boolean). */
export function checkFinite(z: tf.Tensor, who: string): void {
  const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(z))));
  const found = bad.dataSync()[0] === 1;
  bad.dispose();
  if (found) throw new InputError(who, 'latents hold NaN or infinite values');
}

/** Named weights as plain arrays, for a safetensors or JSON writer. */
export interface NamedWeight {
  shape: number[];
  data: Float32Array;
}
export type NamedWeights = Record<string, NamedWeight>;

/** Assigns `weights[name]` to `variable`, checking the shape. */
export function assignWeight(variable: tf.Variable, weights: NamedWeights, name: string, who: string): void {
  const weight = weights[name];
  if (weight === undefined) throw new InputError(who, `weights lack '${name}'`);
  const expected = variable.shape;
  if (weight.shape.length !== expected.length || weight.shape.some((d, i) => d !== expected[i])) {
    throw new InputError(who, `weight '${name}' has shape [${weight.shape.join(', ')}], expected [${expected.join(', ')}]`);
  }
  if (weight.data.length !== expected.reduce((p, d) => p * d, 1)) throw new InputError(who, `weight '${name}' holds ${weight.data.length} values for shape [${expected.join(', ')}]`);
  for (let i = 0; i < weight.data.length; i++) if (!Number.isFinite(weight.data[i]!)) throw new InputError(who, `weight '${name}' holds NaN or infinite values`);
  const value = tf.tensor(weight.data, expected);
  variable.assign(value);
  value.dispose();
}

export function weightOf(variable: tf.Variable): NamedWeight {
  return { shape: [...variable.shape], data: Float32Array.from(variable.dataSync() as Float32Array) };
}

/**
 * table[ids] with a gradient for `table` on every backend. tfjs's gather gradient
 * is UnsortedSegmentSum, which the wasm backend does not implement; here the
 * gradient is a scatter-add done in JS: O(N·d + K·d), no [N, K] one-hot.
 */
export const gatherRows: (table: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const table = inputs[0] as tf.Tensor2D;
  const ids = inputs[1] as tf.Tensor1D;
  const [rows, dim] = table.shape;
  const idValues = Int32Array.from(ids.dataSync() as Int32Array);
  return {
    value: tf.gather(table, ids),
    gradFunc: (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const sum = new Float32Array(rows * dim);
      for (let i = 0; i < idValues.length; i++) {
        const base = idValues[i]! * dim;
        for (let j = 0; j < dim; j++) sum[base + j]! += g[i * dim + j]!;
      }
      return [tf.tensor2d(sum, [rows, dim]), tf.zerosLike(ids)];
    },
  };
}) as (table: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D;
