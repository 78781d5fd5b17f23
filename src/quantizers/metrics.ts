/**
 * Codebook-use metrics: per-code counts, utilisation (share of codes used at least
 * once over a set) and perplexity (exp of the entropy of the code distribution:
 * K when every code is used equally, 1 when one code takes everything), plus a
 * running tracker for training logs.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';

export interface CodeUsage {
  codebookSize: number;
  /** Tokens counted. */
  tokens: number;
  /** Codes used at least once. */
  usedCodes: number;
  /** usedCodes / codebookSize. */
  utilization: number;
  /** exp(−Σ p log p) over the counted tokens. */
  perplexity: number;
}

/** Adds code ids (an int32 tensor or array, any shape) to `counts`. */
export function countCodes(indices: tf.Tensor | ArrayLike<number>, counts: Float64Array): number {
  const values = indices instanceof tf.Tensor ? (indices.dataSync() as Int32Array) : indices;
  const K = counts.length;
  for (let i = 0; i < values.length; i++) {
    const k = values[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= K) throw new InputError('code usage', `code id ${k} is outside [0, ${K})`);
    counts[k]!++;
  }
  return values.length;
}

/** Utilisation and perplexity of per-code counts. */
export function usageFromCounts(counts: Float64Array): CodeUsage {
  let tokens = 0;
  let used = 0;
  for (const c of counts) {
    tokens += c;
    if (c > 0) used++;
  }
  let entropy = 0;
  if (tokens > 0) {
    for (const c of counts) {
      if (c > 0) {
        const p = c / tokens;
        entropy -= p * Math.log(p);
      }
    }
  }
  return { codebookSize: counts.length, tokens, usedCodes: used, utilization: used / counts.length, perplexity: tokens > 0 ? Math.exp(entropy) : 0 };
}

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
