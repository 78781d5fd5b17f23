/**
 * Baselines behind the same interface as SimVQ.
 *
 * - `VectorQuantizer`: plain VQ (van den Oord et al., arXiv:1711.00937) with a learned
 *   codebook E [K, d] and the same losses as SimVQ. Only the codes that the search
 *   picks get a gradient, which is why large codebooks collapse. Initialised as in
 *   VQGAN's taming-transformers code (uniform in ±1/K), the baseline the SimVQ paper
 *   compares against; 'gaussian' (std d^-0.5, like SimVQ's C) is an option.
 * - `EmaVectorQuantizer`: the codebook follows exponential moving averages of the
 *   vectors assigned to each code (arXiv:1711.00937 appendix; SoundStream/EnCodec use
 *   it), with Laplace smoothing of the counts, optional k-means initialisation on
 *   the first training batch and optional restart of dead codes from batch vectors.
 *   Its loss is the commitment term alone; the codebook is not an optimizer variable.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';
import { gaussianArray, mulberry32, uniformArray } from '../random.js';
import {
  assignWeight,
  checkCodebookSize,
  checkDim,
  checkFinite,
  checkPositive,
  checkSeed,
  commitmentAndCodebookLoss,
  gatherRows,
  indicesToFlat,
  stopGradient,
  straightThrough,
  toRows,
  untaped,
  weightOf,
  type ForwardOptions,
  type NamedWeights,
  type Quantizer,
  type QuantizerOutput,
} from './common.js';
import { buildCodeIndex, checkSearch, type CodeIndex, type SearchMethod, type SearchOptions } from './search.js';

export type CodebookInit = 'vqgan' | 'gaussian';

export interface VectorQuantizerOptions {
  codebookSize: number;
  dim: number;
  seed?: number;
  /** 'vqgan': uniform in ±1/K (default); 'gaussian': std d^-0.5. */
  init?: CodebookInit;
  beta?: number;
  blockElements?: number;
  /** Nearest-code search: 'matmul' (default) or 'kd-tree' (exact, for d <= 16). */
  search?: SearchMethod;
}

function initialCodebook(codebookSize: number, dim: number, seed: number, init: CodebookInit, who: string): Float32Array {
  const rand = mulberry32(seed);
  if (init === 'vqgan') return uniformArray(rand, codebookSize * dim).map((v) => v / codebookSize);
  if (init === 'gaussian') return gaussianArray(rand, codebookSize * dim, 1 / Math.sqrt(dim));
  throw new InputError(who, `init must be 'vqgan' or 'gaussian', got ${String(init)}`);
}

function checkCommon(options: { codebookSize: number; dim: number; seed?: number; beta?: number }, who: string): { seed: number; beta: number } {
  checkCodebookSize(options.codebookSize, who);
  checkDim(options.dim, who);
  const seed = options.seed ?? 0;
  checkSeed(seed, who);
  const beta = options.beta ?? 0.25;
  checkPositive(beta, 'beta', who);
  return { seed, beta };
}

/** Search over a codebook tensor, untaped; ids as int32 [N]. */
function searchRows(rows: tf.Tensor2D, codebook: tf.Tensor2D, method: SearchMethod, options: SearchOptions): tf.Tensor1D {
  return untaped(() => {
    const index = buildCodeIndex(codebook, method, options);
    try {
      return index.nearest(rows);
    } finally {
      index.dispose();
    }
  });
}

function searchOptionsOf(blockElements: number | undefined): SearchOptions {
  return blockElements === undefined ? {} : { blockElements };
}

export class VectorQuantizer implements Quantizer {
  readonly method = 'vq';
  readonly codebookSize: number;
  readonly dim: number;
  readonly beta: number;
  readonly embeddings: tf.Variable<tf.Rank.R2>;
  private readonly blockElements: number | undefined;
  readonly searchMethod: SearchMethod;
  private inference: CodeIndex | null = null;

  constructor(options: VectorQuantizerOptions) {
    const who = 'VectorQuantizer';
    const { seed, beta } = checkCommon(options, who);
    this.codebookSize = options.codebookSize;
    this.dim = options.dim;
    this.beta = beta;
    this.blockElements = options.blockElements;
    this.searchMethod = checkSearch(options.search, options.dim, who);
    const values = initialCodebook(options.codebookSize, options.dim, seed, options.init ?? 'vqgan', who);
    this.embeddings = tf.tidy(() => tf.variable(tf.tensor2d(values, [options.codebookSize, options.dim]), true));
  }

  get trainableVariables(): tf.Variable[] {
    return [this.embeddings];
  }

  codebook(): tf.Tensor2D {
    return tf.clone(this.embeddings);
  }

  forward(z: tf.Tensor, options: ForwardOptions = {}): QuantizerOutput {
    void options;
    this.dropInferenceCache();
    return tf.tidy(() => {
      const { rows, restore, indexShape } = toRows(z, this.dim, 'VectorQuantizer');
      const flatIds = searchRows(rows, this.embeddings, this.searchMethod, searchOptionsOf(this.blockElements));
      const q = gatherRows(this.embeddings, flatIds);
      const loss = commitmentAndCodebookLoss(rows, q, this.beta);
      return { quantized: restore(straightThrough(rows, q)), indices: tf.reshape(flatIds, indexShape), loss };
    });
  }

  encode(z: tf.Tensor): tf.Tensor {
    if (!this.inference) this.inference = buildCodeIndex(this.embeddings, this.searchMethod, searchOptionsOf(this.blockElements));
    const index = this.inference;
    return tf.tidy(() => {
      const { rows, indexShape } = toRows(z, this.dim, 'VectorQuantizer');
      checkFinite(rows, 'VectorQuantizer');
      return tf.reshape(index.nearest(rows), indexShape);
    });
  }

  decode(indices: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { flat, restore } = indicesToFlat(indices, this.codebookSize, this.dim, 'VectorQuantizer');
      return restore(tf.gather(this.embeddings, flat));
    });
  }

  weights(): NamedWeights {
    return { E: weightOf(this.embeddings) };
  }

  loadWeights(weights: NamedWeights): void {
    assignWeight(this.embeddings, weights, 'E', 'VectorQuantizer');
    this.dropInferenceCache();
  }

  dropInferenceCache(): void {
    if (this.inference) this.inference.dispose();
    this.inference = null;
  }

  dispose(): void {
    this.dropInferenceCache();
    this.embeddings.dispose();
  }
}


export interface EmaVectorQuantizerOptions extends VectorQuantizerOptions {
  /** EMA decay γ. Default 0.99. */
  decay?: number;
  /** Laplace smoothing of the counts. Default 1e-5. */
  epsilon?: number;
  /** Run k-means on the first training batch to place the codes. Default false. */
  kmeansInit?: boolean;
  /** Lloyd iterations of that k-means. Default 10. */
  kmeansIterations?: number;
  /**
   * Codes whose EMA count falls below this are restarted at a random vector of the
   * current batch (0 turns restarts off). Default 0.
   */
  deadCodeThreshold?: number;
}

export class EmaVectorQuantizer implements Quantizer {
  readonly method = 'vq-ema';
  readonly codebookSize: number;
  readonly dim: number;
  readonly beta: number;
  readonly decay: number;
  readonly epsilon: number;
  readonly deadCodeThreshold: number;
  readonly trainableVariables: tf.Variable[] = [];
  private readonly kmeansIterations: number;
  private needsKmeans: boolean;
  private readonly blockElements: number | undefined;
  readonly searchMethod: SearchMethod;
  private readonly rand: () => number;
  /** EMA of assignment counts [K] and of the sums of assigned vectors [K, d]. */
  private readonly clusterSize: Float64Array;
  private readonly embedSum: Float64Array;
  private embeddings: tf.Tensor2D;
  private inference: CodeIndex | null = null;
  /** Codes restarted so far (a training-log figure). */
  restarts = 0;

  constructor(options: EmaVectorQuantizerOptions) {
    const who = 'EmaVectorQuantizer';
    const { seed, beta } = checkCommon(options, who);
    const decay = options.decay ?? 0.99;
    if (!(decay > 0 && decay < 1)) throw new InputError(who, `decay must be in (0, 1), got ${decay}`);
    this.epsilon = options.epsilon ?? 1e-5;
    checkPositive(this.epsilon, 'epsilon', who);
    this.deadCodeThreshold = options.deadCodeThreshold ?? 0;
    if (!(this.deadCodeThreshold >= 0)) throw new InputError(who, `deadCodeThreshold must be >= 0, got ${this.deadCodeThreshold}`);
    this.kmeansIterations = options.kmeansIterations ?? 10;
    if (!Number.isInteger(this.kmeansIterations) || this.kmeansIterations < 1) throw new InputError(who, `kmeansIterations must be a positive integer, got ${this.kmeansIterations}`);
    this.needsKmeans = options.kmeansInit ?? false;
    this.codebookSize = options.codebookSize;
    this.dim = options.dim;
    this.beta = beta;
    this.decay = decay;
    this.blockElements = options.blockElements;
    this.searchMethod = checkSearch(options.search, options.dim, who);
    this.rand = mulberry32((seed ^ 0x27d4eb2f) >>> 0);
    const values = initialCodebook(options.codebookSize, options.dim, seed, options.init ?? 'vqgan', who);
    this.clusterSize = new Float64Array(options.codebookSize).fill(1);
    this.embedSum = Float64Array.from(values);
    this.embeddings = tf.keep(tf.tensor2d(values, [options.codebookSize, options.dim]));
  }

  codebook(): tf.Tensor2D {
    return tf.clone(this.embeddings);
  }

  forward(z: tf.Tensor, options: ForwardOptions = {}): QuantizerOutput {
    const training = options.training ?? true;
    this.dropInferenceCache();
    return tf.tidy(() => {
      const { rows, restore, indexShape } = toRows(z, this.dim, 'EmaVectorQuantizer');
      if (training && this.needsKmeans) this.kmeansInit(rows);
      const flatIds = searchRows(rows, this.embeddings, this.searchMethod, searchOptionsOf(this.blockElements));
      const q = stopGradient(tf.gather(this.embeddings, flatIds));
      const loss = tf.mul(tf.mean(tf.square(tf.sub(rows, q))), this.beta) as tf.Scalar;
      const out = { quantized: restore(straightThrough(rows, q)), indices: tf.reshape(flatIds, indexShape), loss };
      if (training) this.emaUpdate(rows.dataSync() as Float32Array, flatIds.dataSync() as Int32Array);
      return out;
    });
  }

  encode(z: tf.Tensor): tf.Tensor {
    if (!this.inference) this.inference = buildCodeIndex(this.embeddings, this.searchMethod, searchOptionsOf(this.blockElements));
    const index = this.inference;
    return tf.tidy(() => {
      const { rows, indexShape } = toRows(z, this.dim, 'EmaVectorQuantizer');
      checkFinite(rows, 'EmaVectorQuantizer');
      return tf.reshape(index.nearest(rows), indexShape);
    });
  }

  decode(indices: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { flat, restore } = indicesToFlat(indices, this.codebookSize, this.dim, 'EmaVectorQuantizer');
      return restore(tf.gather(this.embeddings, flat));
    });
  }

  /** The codebook and the EMA state (both needed to resume training). */
  weights(): NamedWeights {
    const K = this.codebookSize;
    return {
      E: { shape: [K, this.dim], data: Float32Array.from(this.embeddings.dataSync() as Float32Array) },
      clusterSize: { shape: [K], data: Float32Array.from(this.clusterSize) },
      embedSum: { shape: [K, this.dim], data: Float32Array.from(this.embedSum) },
    };
  }

  loadWeights(weights: NamedWeights): void {
    const K = this.codebookSize;
    const holders = tf.tidy(() => ({
      E: tf.variable(tf.zeros([K, this.dim]), false),
      clusterSize: tf.variable(tf.zeros([K]), false),
      embedSum: tf.variable(tf.zeros([K, this.dim]), false),
    }));
    try {
      for (const name of ['E', 'clusterSize', 'embedSum'] as const) assignWeight(holders[name], weights, name, 'EmaVectorQuantizer');
      this.clusterSize.set(holders.clusterSize.dataSync());
      this.embedSum.set(holders.embedSum.dataSync());
      this.setCodebook(holders.E.dataSync() as Float32Array);
      this.needsKmeans = false;
    } finally {
      tf.dispose(Object.values(holders));
    }
  }

  dropInferenceCache(): void {
    if (this.inference) this.inference.dispose();
    this.inference = null;
  }

  dispose(): void {
    this.dropInferenceCache();
    this.embeddings.dispose();
  }

  private setCodebook(values: Float32Array): void {
    this.embeddings.dispose();
    this.embeddings = tf.keep(tf.tensor2d(values, [this.codebookSize, this.dim]));
  }

  /** Lloyd's k-means on one batch: seeds at random batch vectors, then `kmeansIterations` rounds. */
  private kmeansInit(rows: tf.Tensor2D): void {
    const data = rows.dataSync() as Float32Array;
    const n = rows.shape[0];
    const { codebookSize: K, dim: d } = this;
    const centers = new Float32Array(K * d);
    for (let k = 0; k < K; k++) {
      const i = Math.floor(this.rand() * n);
      centers.set(data.subarray(i * d, (i + 1) * d), k * d);
    }
    const counts = new Float64Array(K);
    for (let iteration = 0; iteration < this.kmeansIterations; iteration++) {
      const ids = tf.tidy(() => searchRows(rows, tf.tensor2d(centers, [K, d]), this.searchMethod, searchOptionsOf(this.blockElements)));
      const assignment = ids.dataSync() as Int32Array;
      ids.dispose();
      const sums = new Float64Array(K * d);
      counts.fill(0);
      for (let i = 0; i < n; i++) {
        const k = assignment[i]!;
        counts[k]!++;
        for (let j = 0; j < d; j++) sums[k * d + j]! += data[i * d + j]!;
      }
      // Empty clusters keep their seed vector.
      for (let k = 0; k < K; k++) if (counts[k]! > 0) for (let j = 0; j < d; j++) centers[k * d + j] = sums[k * d + j]! / counts[k]!;
    }
    for (let k = 0; k < K; k++) {
      this.clusterSize[k] = Math.max(counts[k]!, 1);
      for (let j = 0; j < d; j++) this.embedSum[k * d + j] = centers[k * d + j]! * this.clusterSize[k]!;
    }
    this.setCodebook(centers);
    this.needsKmeans = false;
  }

  private emaUpdate(data: Float32Array, assignment: Int32Array): void {
    const { codebookSize: K, dim: d, decay, epsilon } = this;
    const n = assignment.length;
    const counts = new Float64Array(K);
    const sums = new Float64Array(K * d);
    for (let i = 0; i < n; i++) {
      const k = assignment[i]!;
      counts[k]!++;
      for (let j = 0; j < d; j++) sums[k * d + j]! += data[i * d + j]!;
    }
    let total = 0;
    for (let k = 0; k < K; k++) {
      this.clusterSize[k] = decay * this.clusterSize[k]! + (1 - decay) * counts[k]!;
      total += this.clusterSize[k]!;
    }
    for (let i = 0; i < K * d; i++) this.embedSum[i] = decay * this.embedSum[i]! + (1 - decay) * sums[i]!;
    const values = new Float32Array(K * d);
    for (let k = 0; k < K; k++) {
      if (this.deadCodeThreshold > 0 && this.clusterSize[k]! < this.deadCodeThreshold && n > 0) {
        // Restart a dead code at a random vector of this batch.
        const i = Math.floor(this.rand() * n);
        for (let j = 0; j < d; j++) this.embedSum[k * d + j] = data[i * d + j]! * this.deadCodeThreshold;
        this.clusterSize[k] = this.deadCodeThreshold;
        this.restarts++;
      }
      // Laplace smoothing keeps a code with no assignments from dividing by zero.
      const smoothed = ((this.clusterSize[k]! + epsilon) / (total + K * epsilon)) * total;
      for (let j = 0; j < d; j++) values[k * d + j] = this.embedSum[k * d + j]! / smoothed;
    }
    this.setCodebook(values);
  }
}
