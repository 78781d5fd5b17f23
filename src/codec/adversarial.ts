/**
 * Adversarial and feature-matching losses over the sub-discriminators'
 * outputs (DiscriminatorOutput from discriminators.ts), as EnCodec
 * (Défossez et al. 2022, arXiv 2210.13438, eqs. 2-3 and its discriminator loss):
 *
 *   generator:      L_g    = 1/K Σ_k mean(max(0, 1 − D_k(x̂)))
 *   discriminator:  L_d    = 1/K Σ_k mean(max(0, 1 − D_k(x))) + mean(max(0, 1 + D_k(x̂)))
 *   features:       L_feat = 1/(K·L) Σ_k Σ_l mean|D_k^l(x) − D_k^l(x̂)| / mean|D_k^l(x)|
 *
 * The generator side is the margin form of the paper (audiocraft's 'hinge2');
 * audiocraft's 'hinge' uses −mean(D(x̂)) instead. The feature-matching
 * normaliser is the paper's (mean |real features| per layer); audiocraft's
 * FeatureMatchingLoss computes that scale but divides by the layer count only.
 * Layers count equally whatever their size, as in both.
 */
import * as tf from '@tensorflow/tfjs';

function sameCount(owner: string, a: readonly unknown[], b: readonly unknown[]): void {
  if (a.length === 0) throw new Error(`${owner}: no sub-discriminator outputs`);
  if (a.length !== b.length) throw new Error(`${owner}: ${a.length} real outputs but ${b.length} fake ones`);
}

function sameShape(owner: string, a: tf.Tensor, b: tf.Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${owner}: real [${a.shape}] and fake [${b.shape}] differ in shape`);
  }
}

/** What the discriminator minimises: real scores pushed above +1, fake ones below −1. */
export function hingeDiscriminatorLoss(realLogits: readonly tf.Tensor[], fakeLogits: readonly tf.Tensor[]): tf.Scalar {
  sameCount('hingeDiscriminatorLoss', realLogits, fakeLogits);
  let sum: tf.Scalar = tf.scalar(0);
  realLogits.forEach((real, k) => {
    const fake = fakeLogits[k]!;
    sum = sum.add(tf.mean(tf.relu(tf.sub(1, real)))).add(tf.mean(tf.relu(tf.add(1, fake))));
  });
  return sum.div(realLogits.length);
}

/** What the generator minimises: its outputs' scores pushed above +1. */
export function hingeGeneratorLoss(fakeLogits: readonly tf.Tensor[]): tf.Scalar {
  if (fakeLogits.length === 0) throw new Error('hingeGeneratorLoss: no sub-discriminator outputs');
  let sum: tf.Scalar = tf.scalar(0);
  for (const fake of fakeLogits) sum = sum.add(tf.mean(tf.relu(tf.sub(1, fake))));
  return sum.div(fakeLogits.length);
}

/**
 * Relative L1 between the discriminators' hidden features on real and
 * generated audio. Differentiable in the fake features (the generator's path);
 * the real ones are the reference.
 */
export function featureMatchingLoss(realFeatures: readonly (readonly tf.Tensor[])[], fakeFeatures: readonly (readonly tf.Tensor[])[]): tf.Scalar {
  const owner = 'featureMatchingLoss';
  sameCount(owner, realFeatures, fakeFeatures);
  let sum: tf.Scalar = tf.scalar(0);
  let layers = 0;
  realFeatures.forEach((realMaps, k) => {
    const fakeMaps = fakeFeatures[k]!;
    if (realMaps.length !== fakeMaps.length) throw new Error(`${owner}: sub-discriminator ${k} has ${realMaps.length} real layers but ${fakeMaps.length} fake ones`);
    realMaps.forEach((real, l) => {
      const fake = fakeMaps[l]!;
      sameShape(owner, real, fake);
      // ε: a layer that is all zero on real audio (dead LeakyReLU inputs cannot be, but
      // a zero-width crop can) must not divide by zero.
      sum = sum.add(tf.mean(tf.abs(real.sub(fake))).div(tf.mean(tf.abs(real)).add(1e-8)));
      layers += 1;
    });
  });
  if (layers === 0) throw new Error(`${owner}: no feature maps`);
  return sum.div(layers);
}
