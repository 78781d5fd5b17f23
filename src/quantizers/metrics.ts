/**
 * Codebook-use metrics for training: the counts of ./usage.ts over tensors as
 * well as arrays, and a running tracker for training logs.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';
import { countCodeIds, usageFromCounts, type CodeUsage } from './usage.js';

export type { CodeUsage };

/** Adds code ids (an int32 tensor or array, any shape) to `counts`. */
export function countCodes(indices: tf.Tensor | ArrayLike<number>, counts: Float64Array): number {
  return countCodeIds(indices instanceof tf.Tensor ? (indices.dataSync() as Int32Array) : indices, counts);
}

export { usageFromCounts };

/** Usage of one set of code ids. */
export function codeUsage(indices: tf.Tensor | ArrayLike<number>, codebookSize: number): CodeUsage {
  const counts = new Float64Array(codebookSize);
  countCodes(indices, counts);
  return usageFromCounts(counts);
}

/**
 * Running code usage for training logs: counts since the last `reset()` (say, one
 * logging interval or one validation pass), and an exponential moving average of
 * each batch's perplexity for a smooth curve.
 */
export class CodeUsageTracker {
  readonly counts: Float64Array;
  private smoothedPerplexity: number | null = null;
  private steps = 0;

  constructor(
    readonly codebookSize: number,
    /** Weight of the past in the perplexity average. */
    readonly smoothing = 0.9,
  ) {
    if (!Number.isInteger(codebookSize) || codebookSize < 1) throw new InputError('CodeUsageTracker', `codebookSize must be a positive integer, got ${codebookSize}`);
    if (!(smoothing >= 0 && smoothing < 1)) throw new InputError('CodeUsageTracker', `smoothing must be in [0, 1), got ${smoothing}`);
    this.counts = new Float64Array(codebookSize);
  }

  /** Counts one batch of ids; returns that batch's own usage. */
  update(indices: tf.Tensor | Int32Array | readonly number[]): CodeUsage {
    const batch = codeUsage(indices, this.codebookSize);
    countCodes(indices, this.counts);
    this.steps++;
    this.smoothedPerplexity = this.smoothedPerplexity === null ? batch.perplexity : this.smoothing * this.smoothedPerplexity + (1 - this.smoothing) * batch.perplexity;
    return batch;
  }

  /** Usage since the last reset, with the smoothed batch perplexity and the step count. */
  summary(): CodeUsage & { batchPerplexity: number; steps: number } {
    return { ...usageFromCounts(this.counts), batchPerplexity: this.smoothedPerplexity ?? 0, steps: this.steps };
  }

  reset(): void {
    this.counts.fill(0);
    this.steps = 0;
    this.smoothedPerplexity = null;
  }
}
