/**
 * Codebook-use arithmetic on plain arrays: per-code counts, utilisation (share
 * of codes used at least once over a set) and perplexity (exp of the entropy of
 * the code distribution: K when every code is used equally, 1 when one code
 * takes everything). No tfjs: the runtime and the token pipeline count codes
 * too (./metrics.ts takes tensors for training).
 */
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

/** Adds code ids to `counts`; returns how many. */
export function countCodeIds(values: ArrayLike<number>, counts: Float64Array): number {
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
