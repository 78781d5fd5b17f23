/**
 * The codec: losses and discriminators (the generator's modules join here).
 */
export {
  DEFAULT_LOSS_WEIGHTS,
  PARALLEL_WAVEGAN_RESOLUTIONS_24K,
  ReconstructionLoss,
  defaultMelScales,
  melScalesForWindows,
  defaultStftResolutions,
  multiResolutionStftLoss,
  multiScaleMelLoss,
  waveformL1Loss,
  type LossTerms,
  type LossWeights,
  type MelScaleSetting,
  type ReconstructionLossConfig,
  type StftResolution,
} from './losses.js';
export {
  DEFAULT_MPD_CHANNELS,
  DEFAULT_MSSTFTD_FILTERS,
  MultiPeriodDiscriminator,
  MultiScaleStftDiscriminator,
  SMALL_MPD_CHANNELS,
  SMALL_MSSTFTD_FILTERS,
  type Discriminator,
  type DiscriminatorOutput,
  type MultiPeriodDiscriminatorConfig,
  type MultiScaleStftDiscriminatorConfig,
} from './discriminators.js';
export { featureMatchingLoss, hingeDiscriminatorLoss, hingeGeneratorLoss } from './adversarial.js';
export { Conv2dLayer, conv2d, conv2dOutputSize, type Conv2dLayerOptions, type Conv2dOptions } from './conv2d.js';
export { basisBuildCount, melBasis, stftComplex, stftFrameCount, stftMagnitude, stftPower, type MelBasisOptions, type StftConvOptions } from './spectral.js';
