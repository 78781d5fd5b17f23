/**
 * Finite scalar quantization (Mentzer et al., arXiv:2309.15505): no codebook to
 * learn or collapse. Each of the d channels is bounded with tanh to L_j levels
 * and rounded (straight-through); the code id is the mixed-radix number of the
 * d digits, so K = Π L_j. Values come out in [−1, 1]. Its loss is zero.
 * The encoder in front of it must output d = levels.length channels.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';
import { MAX_CODEBOOK_SIZE, indicesToFlat, stopGradient, toRows, type Quantizer, type QuantizerOutput } from './common.js';

/** Keeps tanh's bound just inside ±(L−1)/2, so even L never rounds to an extra level. */
const BOUND_EPSILON = 1e-3;

export interface FiniteScalarQuantizerOptions {
  /** Levels per channel, each an integer >= 2, e.g. [8, 5, 5, 5] (K = 1000). */
  levels: number[];
}

export class FiniteScalarQuantizer implements Quantizer {
  readonly method = 'fsq';
  readonly levels: readonly number[];
  readonly dim: number;
  readonly codebookSize: number;
  readonly trainableVariables: tf.Variable[] = [];
  /** Per channel: tanh scale, offset, shift, half width, and the digit's place value. */
  private readonly halfLevels: Float32Array;
  private readonly offsets: Float32Array;
  private readonly shifts: Float32Array;
  private readonly halfWidths: Float32Array;
  private readonly placeValues: Int32Array;

  constructor(options: FiniteScalarQuantizerOptions) {
    const who = 'FiniteScalarQuantizer';
    const levels = options.levels;
    if (!Array.isArray(levels) || levels.length < 1 || levels.length > 16) throw new InputError(who, `levels must be a list of 1 to 16 integers, got ${JSON.stringify(levels)}`);
    for (const l of levels) if (!Number.isInteger(l) || l < 2) throw new InputError(who, `each level must be an integer >= 2, got ${l}`);
    const K = levels.reduce((p, l) => p * l, 1);
    if (K > MAX_CODEBOOK_SIZE) throw new InputError(who, `levels give ${K} codes, more than ${MAX_CODEBOOK_SIZE}`);
    this.levels = [...levels];
    this.dim = levels.length;
    this.codebookSize = K;
    this.halfLevels = Float32Array.from(levels, (l) => ((l - 1) * (1 - BOUND_EPSILON)) / 2);
    this.offsets = Float32Array.from(levels, (l) => (l % 2 === 0 ? 0.5 : 0));
    this.shifts = Float32Array.from(levels, (_, j) => Math.atanh(this.offsets[j]! / this.halfLevels[j]!));
    this.halfWidths = Float32Array.from(levels, (l) => Math.floor(l / 2));
    this.placeValues = new Int32Array(levels.length);
    let place = 1;
    levels.forEach((l, j) => {
      this.placeValues[j] = place;
      place *= l;
    });
  }

  /** Rows [N, d] → rounded integer levels in [−L/2, L/2] (float), with straight-through gradient. */
  private roundedLevels(rows: tf.Tensor2D): tf.Tensor2D {
    const bounded = tf.sub(tf.mul(tf.tanh(tf.add(rows, tf.tensor1d(this.shifts))), tf.tensor1d(this.halfLevels)), tf.tensor1d(this.offsets));
    return tf.add(bounded, stopGradient(tf.sub(tf.round(bounded), bounded))) as tf.Tensor2D;
  }

  private idsOf(rounded: tf.Tensor2D): tf.Tensor1D {
    const digits = tf.cast(tf.add(rounded, tf.tensor1d(this.halfWidths)), 'int32');
    return tf.sum(tf.mul(digits, tf.tensor1d(this.placeValues, 'int32')), 1) as tf.Tensor1D;
  }

  forward(z: tf.Tensor): QuantizerOutput {
    return tf.tidy(() => {
      const { rows, restore, indexShape } = toRows(z, this.dim, 'FiniteScalarQuantizer');
      const rounded = this.roundedLevels(rows);
      const quantized = restore(tf.div(rounded, tf.tensor1d(this.halfWidths)));
      const indices = tf.reshape(this.idsOf(stopGradient(rounded) as tf.Tensor2D), indexShape);
      return { quantized, indices, loss: tf.scalar(0) };
    });
  }

  encode(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { rows, indexShape } = toRows(z, this.dim, 'FiniteScalarQuantizer');
      return tf.reshape(this.idsOf(this.roundedLevels(rows)), indexShape);
    });
  }

  decode(indices: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { flat, restore } = indicesToFlat(indices, this.codebookSize, this.dim, 'FiniteScalarQuantizer');
      const column = tf.reshape(flat, [-1, 1]);
      const digits = tf.mod(tf.floorDiv(column, tf.tensor1d(this.placeValues, 'int32')), tf.tensor1d(Int32Array.from(this.levels), 'int32'));
      return restore(tf.div(tf.sub(tf.cast(digits, 'float32'), tf.tensor1d(this.halfWidths)), tf.tensor1d(this.halfWidths)));
    });
  }

  codebook(): tf.Tensor2D {
    return this.decode(tf.range(0, this.codebookSize, 1, 'int32')) as tf.Tensor2D;
  }

  dispose(): void {}
}
