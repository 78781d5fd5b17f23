/**
 * Seeded synthetic latent data for the quantizer experiments: a rich Gaussian
 * mixture (many overlapping components, each with its own per-axis scale), so the
 * data has structure at every scale and no codebook size is trivially enough.
 */
import { gaussianArray, mulberry32 } from '../src/random.js';

export interface MixtureSpec {
  samples: number;
  dim: number;
  components: number;
  seed: number;
  /** Spread of the component means. */
  meanStd: number;
  /** Per-axis component scales are drawn uniformly from [min, max]. */
  scaleMin: number;
  scaleMax: number;
}

export function gaussianMixture(spec: MixtureSpec): Float32Array {
  const { samples, dim, components, seed } = spec;
  const rand = mulberry32(seed);
  const means = gaussianArray(rand, components * dim, spec.meanStd);
  const scales = new Float32Array(components * dim);
  for (let i = 0; i < scales.length; i++) scales[i] = spec.scaleMin + (spec.scaleMax - spec.scaleMin) * rand();
  const noise = gaussianArray(rand, samples * dim, 1);
  const out = new Float32Array(samples * dim);
  for (let i = 0; i < samples; i++) {
    const c = Math.floor(rand() * components);
    for (let j = 0; j < dim; j++) out[i * dim + j] = means[c * dim + j]! + scales[c * dim + j]! * noise[i * dim + j]!;
  }
  return out;
}
