/**
 * The codec's reconstruction losses, differentiable on every backend (spectra
 * are strided conv1ds with fixed Fourier bases, see spectral.ts). Inputs are
 * (output, target) audio [B, 1, T] float32.
 *
 * - Multi-resolution STFT loss (Yamamoto et al., Parallel WaveGAN, arXiv
 *   1910.11480, eqs. 4-6): spectral convergence ‖|Y| − |Ŷ|‖_F / ‖|Y|‖_F plus
 *   mean |log|Y| − log|Ŷ||, each averaged over resolutions. Its paper setting
 *   (24 kHz): (nFft, hop, window) = (1024, 120, 600), (2048, 240, 1200),
 *   (512, 50, 240).
 * - Multi-scale mel loss (DAC, Kumar et al. arXiv 2306.06546; descript-audio-codec
 *   conf/base.yml MelSpectrogramLoss: windows 32…2048 at 44.1 kHz, hop window/4,
 *   5…320 mels, L1 between log mels clamped at 1e-5; EnCodec's msspec loss is the
 *   same idea over windows 2^6…2^11). Here averaged (not summed) over scales, so
 *   its weight reads like a single-scale mel loss's (SimVQ/Vocos weight it 45).
 * - Waveform L1 (EnCodec's l1 term; audiocraft weights it 0.1).
 *
 * ReconstructionLoss returns each term (for logging) and the weighted total; a
 * term whose weight is 0 is not computed at all.
 */
import * as tf from '@tensorflow/tfjs';

import { conv1d } from '../engine/index.js';
import { melBasis, stftMagnitude, type StftConvOptions } from './spectral.js';

export interface StftResolution {
  nFft: number;
  hopLength: number;
  winLength: number;
}

/** Parallel WaveGAN's resolutions (paper Table 1, 24 kHz). */
export const PARALLEL_WAVEGAN_RESOLUTIONS_24K: readonly StftResolution[] = [
  { nFft: 1024, hopLength: 120, winLength: 600 },
  { nFft: 2048, hopLength: 240, winLength: 1200 },
  { nFft: 512, hopLength: 50, winLength: 240 },
];

/**
 * The same windows in milliseconds at another rate (25/5, 50/10, 10/2 ms),
 * nFft unchanged (frequency resolution by zero padding, as the paper's 1024 for
 * a 600-sample window).
 */
export function defaultStftResolutions(sampleRate: number): StftResolution[] {
  if (!(Number.isFinite(sampleRate) && sampleRate > 0)) throw new Error(`stft loss: sampleRate must be a positive number, got ${sampleRate}`);
  return PARALLEL_WAVEGAN_RESOLUTIONS_24K.map((r) => {
    const winLength = Math.round((r.winLength * sampleRate) / 24000);
    return { nFft: Math.max(r.nFft, winLength), hopLength: Math.max(1, Math.round((r.hopLength * sampleRate) / 24000)), winLength };
  });
}

export interface MelScaleSetting {
  /** Window and FFT size. */
  winLength: number;
  hopLength: number;
  nMels: number;
}

/**
 * DAC's mel scales (windows 2^5…2^11 at 44.1 kHz, hop window/4, 5·2^i mels) up
 * to the power-of-two window nearest DAC's longest in time (2048 samples =
 * 46 ms): at 16 and 24 kHz that is 1024, six scales, which also halves the
 * cost (the scales' convolutions cost ∝ window length).
 */
export function defaultMelScales(sampleRate: number): MelScaleSetting[] {
  if (!(Number.isFinite(sampleRate) && sampleRate > 0)) throw new Error(`mel loss: sampleRate must be a positive number, got ${sampleRate}`);
  const longest = 2 ** Math.max(5, Math.round(Math.log2((2048 / 44100) * sampleRate)));
  const scales: MelScaleSetting[] = [];
  for (let i = 0, winLength = 32; winLength <= longest; i++, winLength *= 2) {
    scales.push({ winLength, hopLength: winLength / 4, nMels: 5 * 2 ** i });
  }
  return scales;
}

/** Mel scales at the given window lengths: hop window/4 and 5·window/32 bands, as DAC's. */
export function melScalesForWindows(windows: readonly number[]): MelScaleSetting[] {
  return windows.map((winLength) => {
    if (!(Number.isInteger(winLength) && winLength >= 32 && winLength % 4 === 0)) throw new Error(`mel loss: a window must be a multiple of 4 samples, at least 32, got ${winLength}`);
    return { winLength, hopLength: winLength / 4, nMels: Math.round((5 * winLength) / 32) };
  });
}

export interface LossWeights {
  /** Multi-resolution STFT spectral convergence. */
  stftConvergence: number;
  /** Multi-resolution STFT log-magnitude L1. */
  stftLogMagnitude: number;
  /** Multi-scale log-mel L1. */
  mel: number;
  /** Waveform L1. */
  waveform: number;
}

/**
 * Defaults: mel ×45 (SimVQ's audio config, after Vocos), STFT terms ×1
 * (Parallel WaveGAN), waveform ×0.1 (audiocraft's EnCodec solver).
 */
export const DEFAULT_LOSS_WEIGHTS: Readonly<LossWeights> = { stftConvergence: 1, stftLogMagnitude: 1, mel: 45, waveform: 0.1 };

/**
 * Extra weight on the mel bands inside [lowHz, highHz]: `gain` times the
 * weight of the others, scaled so the mean weight stays 1 (the mel term's
 * size, and so its weight, read as before). STOI's bands span 150-4,300 Hz.
 */
export interface MelBandEmphasis {
  lowHz: number;
  highHz: number;
  gain: number;
}

export interface ReconstructionLossConfig {
  sampleRate: number;
  /** Default: every mel band weighs the same. */
  melBandEmphasis?: MelBandEmphasis;
  /** Default: defaultStftResolutions(sampleRate). */
  stftResolutions?: readonly StftResolution[];
  /** Default: defaultMelScales(sampleRate). */
  melScales?: readonly MelScaleSetting[];
  /** Mel energies are clamped to at least this before the log. Default 1e-5 (DAC, EnCodec). */
  melLogFloor?: number;
  /** Any subset; the rest from DEFAULT_LOSS_WEIGHTS. */
  weights?: Partial<LossWeights>;
}

export interface LossTerms {
  /** Each computed term, unweighted (weight-0 terms are absent). */
  terms: Partial<Record<keyof LossWeights, tf.Scalar>>;
  /** Σ weight · term. */
  total: tf.Scalar;
}

function checkAudioPair(output: tf.Tensor3D, target: tf.Tensor3D, owner: string): void {
  if (output.rank !== 3 || output.shape[1] !== 1) throw new Error(`${owner}: output must be [batch, 1, time], got [${output.shape}]`);
  if (output.shape.some((d, i) => d !== target.shape[i]) || target.rank !== 3) {
    throw new Error(`${owner}: output [${output.shape}] and target [${target.shape}] differ in shape`);
  }
}

export function waveformL1Loss(output: tf.Tensor3D, target: tf.Tensor3D): tf.Scalar {
  checkAudioPair(output, target, 'waveform loss');
  return tf.mean(tf.abs(output.sub(target))) as tf.Scalar;
}

/**
 * Parallel WaveGAN's loss at one resolution: spectral convergence over the whole
 * batch (as its reference code, torch.norm(..., 'fro') of the batch tensor) and
 * mean log-magnitude L1. The target's magnitude has no gradient path anyway.
 */
function stftLossAt(output: tf.Tensor3D, target: tf.Tensor3D, resolution: StftConvOptions): { convergence: tf.Scalar; logMagnitude: tf.Scalar } {
  const outputMagnitude = stftMagnitude(output, resolution);
  const targetMagnitude = stftMagnitude(target, resolution);
  // ε keeps 0/0 at bay for a silent batch; it is far below any real ‖|Y|‖.
  const convergence = tf.div(tf.norm(targetMagnitude.sub(outputMagnitude)), tf.norm(targetMagnitude).add(1e-7)) as tf.Scalar;
  const logMagnitude = tf.mean(tf.abs(tf.log(targetMagnitude).sub(tf.log(outputMagnitude)))) as tf.Scalar;
  return { convergence, logMagnitude };
}

export function multiResolutionStftLoss(
  output: tf.Tensor3D,
  target: tf.Tensor3D,
  resolutions: readonly StftResolution[],
): { convergence: tf.Scalar; logMagnitude: tf.Scalar } {
  checkAudioPair(output, target, 'stft loss');
  if (resolutions.length === 0) throw new Error('stft loss: stftResolutions must not be empty');
  let convergence: tf.Scalar = tf.scalar(0);
  let logMagnitude: tf.Scalar = tf.scalar(0);
  for (const r of resolutions) {
    const at = stftLossAt(output, target, { ...r, center: true });
    convergence = convergence.add(at.convergence);
    logMagnitude = logMagnitude.add(at.logMagnitude);
  }
  return { convergence: convergence.div(resolutions.length), logMagnitude: logMagnitude.div(resolutions.length) };
}

function logMel(audio: tf.Tensor3D, scale: MelScaleSetting, sampleRate: number, floor: number): tf.Tensor3D {
  // A power floor far below the mel floor: silence must reach the mel floor (1e-5) as
  // with an exact |X|; PWG's 1e-7 power floor alone would put silent mels near 1e-5.
  const magnitude = stftMagnitude(audio, { nFft: scale.winLength, hopLength: scale.hopLength, center: true }, 1e-10);
  const filters = melBasis({ sampleRate, nFft: scale.winLength, nMels: scale.nMels });
  // [B, bins, frames] ⊛ [nMels, bins, 1] → [B, nMels, frames]: a 1×1 conv, which onnxruntime runs as one MatMul.
  return tf.log(tf.maximum(conv1d(magnitude, filters), floor)) as tf.Tensor3D;
}

/**
 * Per-band weights [nMels] of one mel scale under `emphasis`, mean 1: a band
 * is in when its filter's centroid frequency is.
 */
export function melBandWeights(scale: MelScaleSetting, sampleRate: number, emphasis: MelBandEmphasis): Float32Array {
  const basis = melBasis({ sampleRate, nFft: scale.winLength, nMels: scale.nMels }).dataSync();
  const bins = Math.floor(scale.winLength / 2) + 1;
  const weights = new Float32Array(scale.nMels);
  for (let m = 0; m < scale.nMels; m++) {
    let mass = 0;
    let moment = 0;
    for (let k = 0; k < bins; k++) {
      mass += basis[m * bins + k]!;
      moment += basis[m * bins + k]! * ((k * sampleRate) / scale.winLength);
    }
    const centroid = mass > 0 ? moment / mass : 0;
    weights[m] = centroid >= emphasis.lowHz && centroid <= emphasis.highHz ? emphasis.gain : 1;
  }
  const mean = weights.reduce((a, b) => a + b, 0) / scale.nMels;
  return weights.map((w) => w / mean);
}

export function multiScaleMelLoss(
  output: tf.Tensor3D,
  target: tf.Tensor3D,
  scales: readonly MelScaleSetting[],
  sampleRate: number,
  logFloor = 1e-5,
  emphasis: MelBandEmphasis | null = null,
): tf.Scalar {
  checkAudioPair(output, target, 'mel loss');
  if (scales.length === 0) throw new Error('mel loss: melScales must not be empty');
  let sum: tf.Scalar = tf.scalar(0);
  for (const scale of scales) {
    let difference = tf.abs(logMel(output, scale, sampleRate, logFloor).sub(logMel(target, scale, sampleRate, logFloor)));
    if (emphasis !== null) difference = difference.mul(tf.tensor3d(melBandWeights(scale, sampleRate, emphasis), [1, scale.nMels, 1]));
    sum = sum.add(tf.mean(difference));
  }
  return sum.div(scales.length);
}

function validateResolutions(resolutions: readonly StftResolution[]): void {
  resolutions.forEach((r, i) => {
    for (const field of ['nFft', 'hopLength', 'winLength'] as const) {
      if (!Number.isInteger(r[field]) || r[field] < 1) throw new Error(`stftResolutions[${i}].${field} must be a positive integer, got ${r[field]}`);
    }
    if (r.winLength > r.nFft) throw new Error(`stftResolutions[${i}].winLength must be at most nFft = ${r.nFft}, got ${r.winLength}`);
  });
}

function validateMelScales(scales: readonly MelScaleSetting[]): void {
  scales.forEach((s, i) => {
    for (const field of ['winLength', 'hopLength', 'nMels'] as const) {
      if (!Number.isInteger(s[field]) || s[field] < 1) throw new Error(`melScales[${i}].${field} must be a positive integer, got ${s[field]}`);
    }
    if (s.winLength < 2) throw new Error(`melScales[${i}].winLength must be at least 2, got ${s.winLength}`);
  });
}

/** The generator's reconstruction losses with their weights; bases cached across calls. */
export class ReconstructionLoss {
  readonly sampleRate: number;
  readonly stftResolutions: readonly StftResolution[];
  readonly melScales: readonly MelScaleSetting[];
  readonly melLogFloor: number;
  readonly melBandEmphasis: MelBandEmphasis | null;
  readonly weights: Readonly<LossWeights>;

  constructor(config: ReconstructionLossConfig) {
    if (!(Number.isFinite(config.sampleRate) && config.sampleRate > 0)) {
      throw new Error(`ReconstructionLoss: sampleRate must be a positive number, got ${config.sampleRate}`);
    }
    this.sampleRate = config.sampleRate;
    this.stftResolutions = config.stftResolutions ?? defaultStftResolutions(config.sampleRate);
    this.melScales = config.melScales ?? defaultMelScales(config.sampleRate);
    this.melLogFloor = config.melLogFloor ?? 1e-5;
    this.melBandEmphasis = config.melBandEmphasis ?? null;
    const emphasis = this.melBandEmphasis;
    if (emphasis !== null && !(emphasis.gain > 0 && emphasis.lowHz >= 0 && emphasis.highHz > emphasis.lowHz)) {
      throw new Error(`ReconstructionLoss: melBandEmphasis needs gain > 0 and 0 <= lowHz < highHz, got ${JSON.stringify(emphasis)}`);
    }
    if (!(this.melLogFloor > 0)) throw new Error(`ReconstructionLoss: melLogFloor must be > 0, got ${this.melLogFloor}`);
    this.weights = { ...DEFAULT_LOSS_WEIGHTS, ...config.weights };
    for (const [name, weight] of Object.entries(this.weights)) {
      if (!(Number.isFinite(weight) && weight >= 0)) throw new Error(`ReconstructionLoss: weights.${name} must be a finite number >= 0, got ${weight}`);
    }
    validateResolutions(this.stftResolutions);
    validateMelScales(this.melScales);
    for (const s of this.melScales) {
      // Fail now, not at the first step, on a filterbank the rate cannot have.
      melBasis({ sampleRate: this.sampleRate, nFft: s.winLength, nMels: s.nMels });
    }
  }

  /** Each weighted term and their sum; call inside tf.variableGrads / tf.tidy. */
  compute(output: tf.Tensor3D, target: tf.Tensor3D): LossTerms {
    checkAudioPair(output, target, 'ReconstructionLoss');
    const terms: LossTerms['terms'] = {};
    const w = this.weights;
    if (w.stftConvergence > 0 || w.stftLogMagnitude > 0) {
      const stft = multiResolutionStftLoss(output, target, this.stftResolutions);
      if (w.stftConvergence > 0) terms.stftConvergence = stft.convergence;
      if (w.stftLogMagnitude > 0) terms.stftLogMagnitude = stft.logMagnitude;
    }
    if (w.mel > 0) terms.mel = multiScaleMelLoss(output, target, this.melScales, this.sampleRate, this.melLogFloor, this.melBandEmphasis);
    if (w.waveform > 0) terms.waveform = waveformL1Loss(output, target);
    let total: tf.Scalar = tf.scalar(0);
    for (const [name, value] of Object.entries(terms) as [keyof LossWeights, tf.Scalar][]) total = total.add(value.mul(w[name]));
    return { terms, total };
  }
}
