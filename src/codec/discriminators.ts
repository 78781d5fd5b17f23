/**
 * The codec's discriminators. Each owns its parameters (a ParameterStore, so
 * a separate optimiser trains it) and maps audio [B, 1, T] to one logit tensor
 * and a list of hidden feature maps per sub-discriminator (for the hinge and
 * feature-matching losses in adversarial.ts).
 *
 * All 2-D convolutions run through conv2d.ts (conv1d with one spatial axis
 * laid out as one long sequence), so they train on every backend. Hidden
 * activations, and the features returned, are [B, C, H, W] as conv2d takes
 * them: the period discriminator's [B, C, period, T/period] (HiFi-GAN's
 * [B, C, T/p, p] transposed, so that time is conv1d's axis), the STFT
 * discriminator's [B, C, frames, bins] (EnCodec's layout).
 */
import * as tf from '@tensorflow/tfjs';

import { ParameterStore, type ParameterScope } from '../nn/parameters.js';
import { Conv2dLayer } from './conv2d.js';
import { stftComplex } from './spectral.js';

export interface DiscriminatorOutput {
  /** One per sub-discriminator, [B, n] (every score of an item on one row). */
  logits: tf.Tensor2D[];
  /** Per sub-discriminator, every hidden layer's activation [B, C, H, W]. */
  features: tf.Tensor4D[][];
}

export interface Discriminator {
  readonly parameters: ParameterStore;
  forward(audio: tf.Tensor3D): DiscriminatorOutput;
  dispose(): void;
}

function positiveIntegerList(owner: string, field: string, values: readonly number[], min = 1): void {
  if (!Array.isArray(values) || values.length === 0) throw new Error(`${owner}: ${field} must be a non-empty list`);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < min) throw new Error(`${owner}: ${field}[${i}] must be an integer >= ${min}, got ${v}`);
  });
}

function positiveInteger(owner: string, field: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${owner}: ${field} must be an integer >= ${min}, got ${value}`);
}

function slope(owner: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0 && value < 1)) throw new Error(`${owner}: negativeSlope must be in [0, 1), got ${value}`);
}

function checkAudio(owner: string, audio: tf.Tensor3D): void {
  if (audio.rank !== 3 || audio.shape[1] !== 1) throw new Error(`${owner}: audio must be [batch, 1, time], got [${audio.shape}]`);
}

/** The store to build in: the caller's scope (several models in one store), or a new one. */
function storeAndScope(seed: number, scope: ParameterScope | undefined): [ParameterStore, ParameterScope] {
  if (scope !== undefined) return [scope.store, scope];
  const store = new ParameterStore(seed);
  return [store, store.scope()];
}

// ---------------------------------------------------------------------------
// Multi-period discriminator (HiFi-GAN, Kong et al. 2020, arXiv 2010.05646)

export interface MultiPeriodDiscriminatorConfig {
  /** HiFi-GAN: [2, 3, 5, 7, 11] (primes, so the periods overlap little). */
  periods?: readonly number[];
  /**
   * Output channels of the hidden (kernel × 1) convs; all but the last have
   * stride `stride`. HiFi-GAN: [32, 128, 512, 1024, 1024]; our default is much
   * narrower, see DEFAULT_MPD_CHANNELS.
   */
  channels?: readonly number[];
  /** HiFi-GAN: 5. */
  kernelSize?: number;
  /** HiFi-GAN: 3. */
  stride?: number;
  /** LeakyReLU slope; HiFi-GAN: 0.1. */
  negativeSlope?: number;
  /** Seed of a new ParameterStore (ignored when a scope is given). Default 0. */
  seed?: number;
}

/**
 * Default hidden widths: HiFi-GAN's shape (4 strided layers, then one at the
 * same width) at 1/8…1/2 of its 32-128-512-1024-1024 widths, ~1/50 of its
 * compute. Measured (bench/discriminators.ts, 16 kHz, 8 × 1 s, shared 2-core
 * machine running ~1/4 of its quiet conv speed): D step + G-side pass 4.7 s;
 * SMALL_MPD_CHANNELS 0.85 s. Scale by the bench's calibration line.
 */
export const DEFAULT_MPD_CHANNELS: readonly number[] = [16, 32, 64, 128, 128];
/** A tiny setting for tests and quick experiments. */
export const SMALL_MPD_CHANNELS: readonly number[] = [8, 16, 32, 32, 32];

export class MultiPeriodDiscriminator implements Discriminator {
  readonly parameters: ParameterStore;
  readonly periods: readonly number[];
  readonly channels: readonly number[];
  readonly negativeSlope: number;
  private readonly convs: Conv2dLayer[][];
  private readonly posts: Conv2dLayer[];

  constructor(config: MultiPeriodDiscriminatorConfig = {}, scope?: ParameterScope) {
    const owner = 'MultiPeriodDiscriminator';
    this.periods = config.periods ?? [2, 3, 5, 7, 11];
    this.channels = config.channels ?? DEFAULT_MPD_CHANNELS;
    const kernelSize = config.kernelSize ?? 5;
    const stride = config.stride ?? 3;
    this.negativeSlope = config.negativeSlope ?? 0.1;
    positiveIntegerList(owner, 'periods', this.periods);
    positiveIntegerList(owner, 'channels', this.channels);
    positiveInteger(owner, 'kernelSize', kernelSize);
    positiveInteger(owner, 'stride', stride);
    slope(owner, this.negativeSlope);
    const [store, root] = storeAndScope(config.seed ?? 0, scope);
    this.parameters = store;
    this.convs = [];
    this.posts = [];
    for (const period of this.periods) {
      const sub = root.child(`period${period}`);
      let inChannels = 1;
      const layers = this.channels.map((outChannels, i) => {
        const last = i === this.channels.length - 1;
        const layer = new Conv2dLayer(sub.child(`convs.${i}`), {
          inChannels,
          outChannels,
          kernel: [1, kernelSize],
          stride: [1, last ? 1 : stride],
          padding: [0, (kernelSize - 1) >> 1],
        });
        inChannels = outChannels;
        return layer;
      });
      this.convs.push(layers);
      this.posts.push(new Conv2dLayer(sub.child('conv_post'), { inChannels, outChannels: 1, kernel: [1, 3], padding: [0, 1] }));
    }
  }

  forward(audio: tf.Tensor3D): DiscriminatorOutput {
    checkAudio('MultiPeriodDiscriminator', audio);
    const [batch, , length] = audio.shape;
    const logits: tf.Tensor2D[] = [];
    const features: tf.Tensor4D[][] = [];
    this.periods.forEach((period, p) => {
      // HiFi-GAN: reflect-pad to a multiple of the period, view as [T/p, p]. Here as
      // [p, T/p]: the period phase is conv2d's H with a kernel of 1 (no gather) and
      // time is W, so each HiFi-GAN (k × 1) conv is a (1 × k) conv along time.
      const padding = (period - (length % period)) % period;
      if (padding >= length) throw new Error(`MultiPeriodDiscriminator: ${length} samples are too few for period ${period}`);
      const padded = padding === 0 ? audio : tf.mirrorPad(audio, [[0, 0], [0, 0], [0, padding]], 'reflect');
      const rows = (length + padding) / period;
      let h = padded.reshape([batch, 1, rows, period]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
      const maps: tf.Tensor4D[] = [];
      for (const conv of this.convs[p]!) {
        h = tf.leakyRelu(conv.apply(h), this.negativeSlope);
        maps.push(h);
      }
      const score = this.posts[p]!.apply(h);
      logits.push(score.reshape([batch, -1]) as tf.Tensor2D);
      features.push(maps);
    });
    return { logits, features };
  }

  dispose(): void {
    this.parameters.dispose();
  }
}

// ---------------------------------------------------------------------------
// Multi-scale STFT discriminator (EnCodec, Défossez et al. 2022, arXiv 2210.13438;
// facebookresearch/encodec msstftd.py)

export interface MultiScaleStftDiscriminatorConfig {
  /** Width of every conv when filtersScale is 1; EnCodec: 32. */
  filters?: number;
  /** Widths grow by this per layer (EnCodec: 1, i.e. constant). */
  filtersScale?: number;
  /** Cap on a layer's width; EnCodec: 1024. */
  maxFilters?: number;
  /** EnCodec paper: 5 scales, nFft 2048, 1024, 512, 256, 128 with hop nFft/4 and window nFft. */
  nFfts?: readonly number[];
  hopLengths?: readonly number[];
  winLengths?: readonly number[];
  /** [time, frequency]; EnCodec: [3, 9]. */
  kernel?: readonly [number, number];
  /** Time dilations of the strided layers; EnCodec: [1, 2, 4]. */
  dilations?: readonly number[];
  /** Frequency stride of the dilated layers; EnCodec: 2. */
  frequencyStride?: number;
  /** LeakyReLU slope; encodec's code default 0.2 (audiocraft's config: 0.3). */
  negativeSlope?: number;
  /** Divide the STFT by √(Σ window²) (EnCodec: true), so its scale does not depend on nFft. */
  normalized?: boolean;
  seed?: number;
}

/**
 * Default width: 8 filters instead of EnCodec's 32 (the constant-width
 * (3 × 9) convs cost ∝ filters²). Even so this discriminator is expensive on
 * the CPU rungs: its 2-D convs are gathers and copies around conv1d, and the
 * copies, not the multiply-adds, dominate. Measured (16 kHz, 8 × 1 s, same
 * loaded machine as above): 5 scales at 8 filters 30 s per D step + G-side
 * pass, 3 scales 12 s, 5 scales at 4 filters 10.5 s: far past a 4 s step. It
 * needs a native 2-D convolution in the engine before it is affordable.
 */
export const DEFAULT_MSSTFTD_FILTERS = 8;
export const SMALL_MSSTFTD_FILTERS = 4;

export class MultiScaleStftDiscriminator implements Discriminator {
  readonly parameters: ParameterStore;
  readonly nFfts: readonly number[];
  readonly hopLengths: readonly number[];
  readonly winLengths: readonly number[];
  readonly normalized: boolean;
  readonly negativeSlope: number;
  private readonly convs: Conv2dLayer[][];
  private readonly posts: Conv2dLayer[];

  constructor(config: MultiScaleStftDiscriminatorConfig = {}, scope?: ParameterScope) {
    const owner = 'MultiScaleStftDiscriminator';
    const filters = config.filters ?? DEFAULT_MSSTFTD_FILTERS;
    const filtersScale = config.filtersScale ?? 1;
    const maxFilters = config.maxFilters ?? 1024;
    this.nFfts = config.nFfts ?? [2048, 1024, 512, 256, 128];
    this.hopLengths = config.hopLengths ?? this.nFfts.map((n) => Math.max(1, Math.floor(n / 4)));
    this.winLengths = config.winLengths ?? this.nFfts;
    const kernel = config.kernel ?? [3, 9];
    const dilations = config.dilations ?? [1, 2, 4];
    const frequencyStride = config.frequencyStride ?? 2;
    this.negativeSlope = config.negativeSlope ?? 0.2;
    this.normalized = config.normalized ?? true;
    positiveInteger(owner, 'filters', filters);
    positiveInteger(owner, 'filtersScale', filtersScale);
    positiveInteger(owner, 'maxFilters', maxFilters);
    positiveIntegerList(owner, 'nFfts', this.nFfts, 2);
    positiveIntegerList(owner, 'hopLengths', this.hopLengths);
    positiveIntegerList(owner, 'winLengths', this.winLengths);
    if (this.hopLengths.length !== this.nFfts.length) throw new Error(`${owner}: hopLengths must have one entry per nFfts entry (${this.nFfts.length})`);
    if (this.winLengths.length !== this.nFfts.length) throw new Error(`${owner}: winLengths must have one entry per nFfts entry (${this.nFfts.length})`);
    this.winLengths.forEach((w, i) => {
      if (w > this.nFfts[i]!) throw new Error(`${owner}: winLengths[${i}] must be at most nFfts[${i}] = ${this.nFfts[i]}, got ${w}`);
    });
    positiveIntegerList(owner, 'kernel', kernel);
    if (kernel.length !== 2) throw new Error(`${owner}: kernel must be [time, frequency], got [${kernel}]`);
    positiveIntegerList(owner, 'dilations', dilations);
    positiveInteger(owner, 'frequencyStride', frequencyStride);
    slope(owner, this.negativeSlope);

    const [store, root] = storeAndScope(config.seed ?? 0, scope);
    this.parameters = store;
    const width = (layer: number) => Math.min(filtersScale ** layer * filters, maxFilters);
    this.convs = [];
    this.posts = [];
    this.nFfts.forEach((_, s) => {
      const sub = root.child(`scale${s}`);
      // EnCodec's layout: a (3 × 9) conv from the 2 STFT channels (real, imaginary),
      // one strided dilated conv per dilation, a (3 × 3) conv, then a (3 × 3) conv to 1.
      const layers = [new Conv2dLayer(sub.child('convs.0'), { inChannels: 2, outChannels: width(0), kernel })];
      let inChannels = width(0);
      dilations.forEach((dilation, i) => {
        const outChannels = width(i + 1);
        layers.push(
          new Conv2dLayer(sub.child(`convs.${i + 1}`), {
            inChannels,
            outChannels,
            kernel,
            stride: [1, frequencyStride],
            dilation: [dilation, 1],
          }),
        );
        inChannels = outChannels;
      });
      const outChannels = width(dilations.length + 1);
      layers.push(new Conv2dLayer(sub.child(`convs.${dilations.length + 1}`), { inChannels, outChannels, kernel: [kernel[0], kernel[0]] }));
      this.convs.push(layers);
      this.posts.push(new Conv2dLayer(sub.child('conv_post'), { inChannels: outChannels, outChannels: 1, kernel: [kernel[0], kernel[0]] }));
    });
  }

  forward(audio: tf.Tensor3D): DiscriminatorOutput {
    checkAudio('MultiScaleStftDiscriminator', audio);
    const [batch, , length] = audio.shape;
    const logits: tf.Tensor2D[] = [];
    const features: tf.Tensor4D[][] = [];
    this.nFfts.forEach((nFft, s) => {
      if (length < nFft) throw new Error(`MultiScaleStftDiscriminator: ${length} samples are shorter than nFfts[${s}] = ${nFft}`);
      // EnCodec: center=False, complex STFT with (real, imaginary) as 2 channels, time
      // on H and frequency on W ([B, 2, frames, bins]), so conv2d's gather is over the
      // short dilated time kernel and conv1d takes the (9, stride 2) frequency kernel.
      let h = stftComplex(audio, {
        nFft,
        hopLength: this.hopLengths[s]!,
        winLength: this.winLengths[s]!,
        center: false,
        normalized: this.normalized,
      }).transpose([0, 2, 3, 1]) as tf.Tensor4D;
      const maps: tf.Tensor4D[] = [];
      for (const conv of this.convs[s]!) {
        h = tf.leakyRelu(conv.apply(h), this.negativeSlope);
        maps.push(h);
      }
      logits.push(this.posts[s]!.apply(h).reshape([batch, -1]) as tf.Tensor2D);
      features.push(maps);
    });
    return { logits, features };
  }

  dispose(): void {
    this.parameters.dispose();
  }
}
