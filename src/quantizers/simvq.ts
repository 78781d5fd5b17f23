/**
 * SimVQ (Zhu et al., arXiv:2411.02038): the codebook is C·W + b.
 *
 * - C [K, d] is drawn once from a seeded distribution and frozen (Gaussian with
 *   std d^-0.5 as in the reference code, or uniform with the same std); it is
 *   never saved, since the seed regenerates it bit for bit (src/random.ts).
 * - W [d, d] and the bias b [d] are the learned codebook parameters. The reference
 *   implementation's projection is a torch nn.Linear, which has a bias; we keep it
 *   (option `bias`, default true) and initialise like nn.Linear's default: W uniform
 *   in ±1/√d (seeded), b zero.
 * - Search: nearest code of CW + b on squared distance (./search.ts, bounded memory).
 * - q = C_k·W + b for the chosen k: gathering rows of C first keeps the gradient to
 *   W an [N, d]ᵀ·[N, d] product instead of a [K, d] one, and it is the same value.
 * - Loss: β·mean((z − sg(q))²) + mean((sg(z) − q)²); the second term moves W, and so
 *   every code at once. (The reference code scales the quantizer loss by 1000 in its
 *   total loss; that weight belongs to the codec's loss, not here.)
 *
 * `trainableBasis: true` makes C a variable too: the paper's ablation, which brings
 * codebook collapse back.
 *
 * The effective codebook CW + b is computed once per `forward` (one training step)
 * for the search, and once (cached) for `encode`/`decode` until the next `forward`
 * or `loadWeights`; `decode` uses the effective codebook, never C alone (the
 * reference's `get_codebook_entry` looks ids up in C without W, a bug we avoid).
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
  straightThrough,
  toRows,
  untaped,
  weightOf,
  type ForwardOptions,
  type NamedWeights,
  type Quantizer,
  type QuantizerOutput,
} from './common.js';
import { unitNorm } from '../nn/unit-norm.js';
import { buildCodeIndex, checkSearch, type CodeIndex, type SearchMethod } from './search.js';

export type BasisInit = 'gaussian' | 'uniform';

export interface SimVQOptions {
  codebookSize: number;
  dim: number;
  /** Seed of C (and of W's initial value); an integer in [0, 2^32). Default 0. */
  seed?: number;
  /** Distribution of C, std d^-0.5 either way. Default 'gaussian'. */
  init?: BasisInit;
  /** Weight of the commitment term. Default 0.25. */
  beta?: number;
  /** Learn a bias b with W (the reference's nn.Linear has one). Default true. */
  bias?: boolean;
  /** Train C too (the paper's ablation). Default false. */
  trainableBasis?: boolean;
  /**
   * Search and quantize on the unit sphere: latents and the codes C·W + b are
   * l2-normalised, so the nearest code is the one at the smallest angle (as
   * ViT-VQGAN's and DAC's normalised codes; Yu et al. 2021). Without it, when
   * latents and codes differ much in scale the search is decided by the codes'
   * norms, and a few codes take every frame. Default false (the paper's SimVQ).
   */
  normalized?: boolean;
  /** Score-block size of the matmul search, in elements (see ./search.ts). */
  blockElements?: number;
  /** Nearest-code search: 'matmul' (default) or 'kd-tree' (exact, for d <= 16). */
  search?: SearchMethod;
}

/** Everything needed to rebuild a SimVQ, C included (from the seed); JSON-safe. */
export interface SimVQConfig {
  codebookSize: number;
  dim: number;
  seed: number;
  init: BasisInit;
  beta: number;
  bias: boolean;
  trainableBasis: boolean;
  normalized: boolean;
}

/** Seed stream for W's initial value, apart from C's. */
const WEIGHT_SEED_MIX = 0x5bd1e995;

/** The frozen basis C [K, d] for a seed, as float32 values (row-major). */
export function simvqBasis(codebookSize: number, dim: number, seed: number, init: BasisInit = 'gaussian'): Float32Array {
  checkCodebookSize(codebookSize, 'SimVQ');
  checkDim(dim, 'SimVQ');
  checkSeed(seed, 'SimVQ');
  const std = 1 / Math.sqrt(dim);
  const rand = mulberry32(seed);
  if (init === 'gaussian') return gaussianArray(rand, codebookSize * dim, std);
  if (init === 'uniform') {
    // Uniform on [−a, a) has std a/√3.
    const values = uniformArray(rand, codebookSize * dim);
    const a = std * Math.sqrt(3);
    for (let i = 0; i < values.length; i++) values[i] = values[i]! * a;
    return values;
  }
  throw new InputError('SimVQ', `init must be 'gaussian' or 'uniform', got ${String(init)}`);
}

export class SimVQ implements Quantizer {
  readonly codebookSize: number;
  readonly dim: number;
  readonly config: SimVQConfig;
  readonly blockElements: number | undefined;
  /** C [K, d]: a constant tensor, or a variable under `trainableBasis`. */
  readonly basis: tf.Tensor2D;
  readonly projection: tf.Variable<tf.Rank.R2>;
  readonly projectionBias: tf.Variable<tf.Rank.R1> | null;
  readonly searchMethod: SearchMethod;
  private inference: { codebook: tf.Tensor2D; index: CodeIndex } | null = null;

  constructor(options: SimVQOptions) {
    const who = 'SimVQ';
    checkCodebookSize(options.codebookSize, who);
    checkDim(options.dim, who);
    const seed = options.seed ?? 0;
    checkSeed(seed, who);
    const beta = options.beta ?? 0.25;
    checkPositive(beta, 'beta', who);
    const init = options.init ?? 'gaussian';
    const { codebookSize, dim } = options;
    this.codebookSize = codebookSize;
    this.dim = dim;
    this.blockElements = options.blockElements;
    this.searchMethod = checkSearch(options.search, dim, who);
    this.config = { codebookSize, dim, seed, init, beta, bias: options.bias ?? true, trainableBasis: options.trainableBasis ?? false, normalized: options.normalized ?? false };
    const basisValues = simvqBasis(codebookSize, dim, seed, init);
    // Variables made inside tidy: it disposes the initial-value tensors, not the variables.
    this.basis = this.config.trainableBasis ? tf.tidy(() => tf.variable(tf.tensor2d(basisValues, [codebookSize, dim]), true)) : tf.tensor2d(basisValues, [codebookSize, dim]);
    const limit = 1 / Math.sqrt(dim);
    const w = uniformArray(mulberry32((seed ^ WEIGHT_SEED_MIX) >>> 0), dim * dim).map((v) => v * limit);
    this.projection = tf.tidy(() => tf.variable(tf.tensor2d(w, [dim, dim]), true));
    this.projectionBias = this.config.bias ? tf.tidy(() => tf.variable(tf.zeros([dim]) as tf.Tensor1D, true)) : null;
  }

  get method(): string {
    return this.config.trainableBasis ? 'simvq-train-c' : 'simvq';
  }

  get trainableVariables(): tf.Variable[] {
    const vars: tf.Variable[] = [this.projection];
    if (this.projectionBias) vars.push(this.projectionBias);
    if (this.config.trainableBasis) vars.push(this.basis as tf.Variable);
    return vars;
  }

  /** CW + b for rows of C: the effective codes (on the unit sphere when `normalized`). */
  private project(basisRows: tf.Tensor2D): tf.Tensor2D {
    const projected: tf.Tensor2D = tf.matMul(basisRows, this.projection);
    const codes = this.projectionBias ? (tf.add(projected, this.projectionBias) as tf.Tensor2D) : projected;
    return this.config.normalized ? unitNorm(codes, 1) : codes;
  }

  /** Latent rows as the search sees them: l2-normalised when `normalized`. */
  private searchRows(rows: tf.Tensor2D): tf.Tensor2D {
    return this.config.normalized ? unitNorm(rows, 1) : rows;
  }

  codebook(): tf.Tensor2D {
    return tf.tidy(() => this.project(this.basis));
  }

  forward(z: tf.Tensor, options: ForwardOptions = {}): QuantizerOutput {
    void options; // SimVQ has no side-effect updates; every step refreshes the cache alike.
    // W changes after this step: the inference cache would be stale.
    this.dropInferenceCache();
    return tf.tidy(() => {
      const { rows: latentRows, restore, indexShape } = toRows(z, this.dim, 'SimVQ');
      const rows = this.searchRows(latentRows);
      const flatIds = untaped(() => {
        const codebook = this.codebook(); // CW once per step
        const index = buildCodeIndex(codebook, this.searchMethod, this.searchOptions());
        codebook.dispose();
        try {
          return index.nearest(rows);
        } finally {
          index.dispose();
        }
      });
      const q = this.project(gatherRows(this.basis, flatIds));
      const loss = commitmentAndCodebookLoss(rows, q, this.config.beta);
      const quantized = restore(straightThrough(rows, q));
      return { quantized, indices: tf.reshape(flatIds, indexShape), loss };
    });
  }

  encode(z: tf.Tensor): tf.Tensor {
    const { index } = this.inferenceCodebook();
    return tf.tidy(() => {
      const { rows, indexShape } = toRows(z, this.dim, 'SimVQ');
      checkFinite(rows, 'SimVQ');
      return tf.reshape(index.nearest(this.searchRows(rows)), indexShape);
    });
  }

  decode(indices: tf.Tensor): tf.Tensor {
    const { codebook } = this.inferenceCodebook();
    return tf.tidy(() => {
      const { flat, restore } = indicesToFlat(indices, this.codebookSize, this.dim, 'SimVQ');
      return restore(tf.gather(codebook, flat));
    });
  }

  /** Only W (and b, and C when it is trained) — C is regenerated from `config.seed`. */
  weights(): NamedWeights {
    const out: NamedWeights = { W: weightOf(this.projection) };
    if (this.projectionBias) out['b'] = weightOf(this.projectionBias);
    if (this.config.trainableBasis) out['C'] = weightOf(this.basis as tf.Variable);
    return out;
  }

  loadWeights(weights: NamedWeights): void {
    assignWeight(this.projection, weights, 'W', 'SimVQ');
    if (this.projectionBias) assignWeight(this.projectionBias, weights, 'b', 'SimVQ');
    if (this.config.trainableBasis) assignWeight(this.basis as tf.Variable, weights, 'C', 'SimVQ');
    this.dropInferenceCache();
  }

  /** Rebuilds a saved quantizer: C from the seed in `config`, W (and b) from `weights`. */
  static fromWeights(config: SimVQConfig, weights: NamedWeights, options: { blockElements?: number; search?: SearchMethod } = {}): SimVQ {
    const quantizer = new SimVQ({ ...config, ...options });
    try {
      quantizer.loadWeights(weights);
      // A loaded model is for inference: build C·W + b and its search index now, once.
      quantizer.prepareInference();
    } catch (error) {
      quantizer.dispose();
      throw error;
    }
    return quantizer;
  }

  /** Builds the cached inference codebook C·W + b and its search index (otherwise built on first use). */
  prepareInference(): void {
    this.inferenceCodebook();
  }

  /** Forget the cached inference codebook (call after changing W by other means). */
  dropInferenceCache(): void {
    if (this.inference) {
      this.inference.codebook.dispose();
      this.inference.index.dispose();
      this.inference = null;
    }
  }

  dispose(): void {
    this.dropInferenceCache();
    tf.dispose([this.basis, this.projection]);
    if (this.projectionBias) this.projectionBias.dispose();
  }

  private inferenceCodebook(): { codebook: tf.Tensor2D; index: CodeIndex } {
    if (!this.inference) {
      // Kept: the cache outlives any tidy scope it is first built in.
      const codebook = tf.keep(this.codebook());
      this.inference = { codebook, index: buildCodeIndex(codebook, this.searchMethod, this.searchOptions()) };
    }
    return this.inference;
  }

  private searchOptions(): { blockElements?: number } {
    return this.blockElements === undefined ? {} : { blockElements: this.blockElements };
  }
}
