/**
 * Differentiable spectra on every backend: the STFT as a strided conv1d with a
 * fixed windowed Fourier basis (the pattern of bench/reference-seanet.ts), so no
 * FFT kernel is needed and tfjs computes only the input gradient (the basis is
 * a constant). Conventions are torch.stft's, as src/audio/stft.ts: a periodic
 * Hann window of winLength centred in an nFft frame, optional centre padding
 * (reflect), optional "normalized" scaling by 1/√(Σ window²) (torchaudio's
 * Spectrogram(normalized=True), which EnCodec's MS-STFT discriminator uses).
 *
 * The basis is trimmed to the window's support (winLength taps, not nFft): the
 * zero-padded part of the frame adds nothing but work, e.g. Parallel WaveGAN's
 * (nFft 2048, window 1200) resolution costs 1200/2048 of the full basis.
 *
 * Bases are built once per configuration and cached for the life of the
 * process (tf.keep'd, so a surrounding tf.tidy does not free them).
 */
import * as tf from '@tensorflow/tfjs';

import { hannWindow } from '../audio/stft.js';
import { melFilterbank, type MelFilterbankOptions } from '../audio/mel.js';
import { conv1d } from '../engine/index.js';

export interface StftConvOptions {
  nFft: number;
  hopLength: number;
  /** Window length, at most nFft; default nFft. */
  winLength?: number;
  /** Reflect-pad nFft/2 on both sides so frame t is centred on sample t·hop (torch.stft's default). Default true. */
  center?: boolean;
  /** Scale by 1/√(Σ window²) (torchaudio's normalized=True). Default false. */
  normalized?: boolean;
}

interface ResolvedStft {
  nFft: number;
  hopLength: number;
  winLength: number;
  center: boolean;
  normalized: boolean;
  bins: number;
  /** Where the window starts inside the nFft frame: floor((nFft − winLength) / 2). */
  windowOffset: number;
}

function requireInteger(owner: string, field: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${owner}: ${field} must be an integer >= ${min}, got ${value}`);
}

function resolveStft(options: StftConvOptions, owner: string): ResolvedStft {
  requireInteger(owner, 'nFft', options.nFft, 2);
  requireInteger(owner, 'hopLength', options.hopLength, 1);
  const winLength = options.winLength ?? options.nFft;
  requireInteger(owner, 'winLength', winLength, 1);
  if (winLength > options.nFft) throw new Error(`${owner}: winLength must be at most nFft = ${options.nFft}, got ${winLength}`);
  return {
    nFft: options.nFft,
    hopLength: options.hopLength,
    winLength,
    center: options.center ?? true,
    normalized: options.normalized ?? false,
    bins: Math.floor(options.nFft / 2) + 1,
    windowOffset: Math.floor((options.nFft - winLength) / 2),
  };
}

const basisCache = new Map<string, tf.Tensor3D>();
/** Bases built so far (Fourier and mel), for tests that check the cache is used. */
let basesBuilt = 0;

/**
 * The analysis filter [2·bins, 1, winLength], channels interleaved (re₀, im₀,
 * re₁, im₁, …) so the conv output [B, 2·bins, frames] reshapes for free to
 * [B, bins, 2, frames]: magnitudes sum over axis 2, and the MS-STFT
 * discriminator reads it directly as frequency-major [B, F, C=2, T].
 */
function fourierBasis(s: ResolvedStft): tf.Tensor3D {
  const key = `${s.nFft}/${s.winLength}/${s.normalized}`;
  const cached = basisCache.get(key);
  if (cached !== undefined && !cached.isDisposed) return cached;
  const window = hannWindow(s.winLength);
  let scale = 1;
  if (s.normalized) {
    let sumSquares = 0;
    for (const w of window) sumSquares += w * w;
    scale = 1 / Math.sqrt(sumSquares);
  }
  const values = new Float32Array(2 * s.bins * s.winLength);
  for (let k = 0; k < s.bins; k++) {
    for (let m = 0; m < s.winLength; m++) {
      // Phase of frame sample n = m + offset: the window sits centred in the nFft frame.
      const phase = (2 * Math.PI * k * ((m + s.windowOffset) % s.nFft)) / s.nFft;
      values[2 * k * s.winLength + m] = scale * window[m]! * Math.cos(phase);
      values[(2 * k + 1) * s.winLength + m] = -scale * window[m]! * Math.sin(phase);
    }
  }
  const basis = tf.keep(tf.tensor3d(values, [2 * s.bins, 1, s.winLength]));
  basisCache.set(key, basis);
  basesBuilt += 1;
  return basis;
}

/** Frames an nFft STFT of `length` samples has (torch.stft's count). */
export function stftFrameCount(length: number, options: StftConvOptions): number {
  const s = resolveStft(options, 'stft');
  const padded = s.center ? length + 2 * Math.floor(s.nFft / 2) : length;
  if (padded < s.nFft) throw new Error(`stft: a signal of ${length} samples is shorter than nFft = ${s.nFft}`);
  return 1 + Math.floor((padded - s.nFft) / s.hopLength);
}

/**
 * Complex STFT of audio [B, 1, T] as [B, bins, 2, frames] (axis 2: real,
 * imaginary), differentiable with respect to the audio.
 */
export function stftComplex(audio: tf.Tensor3D, options: StftConvOptions): tf.Tensor4D {
  const s = resolveStft(options, 'stft');
  const [batch, channels, length] = audio.shape;
  if (channels !== 1) throw new Error(`stft: audio must be [batch, 1, time], got [${audio.shape}]`);
  const frames = stftFrameCount(length, options);
  // Samples the conv reads, counted from the first window tap of frame 0.
  const span = (frames - 1) * s.hopLength + s.winLength;
  let signal: tf.Tensor3D;
  if (s.center) {
    // Reflecting by nFft/2 then dropping the first `offset` samples equals reflecting
    // by nFft/2 − offset (the mirror is about sample 0), so pad only what the window reads.
    const left = Math.floor(s.nFft / 2) - s.windowOffset;
    const right = Math.max(0, span - left - length);
    if (left >= length || right >= length) {
      throw new Error(`stft: a signal of ${length} samples is too short to reflect-pad for nFft = ${s.nFft}`);
    }
    signal = tf.mirrorPad(audio, [[0, 0], [0, 0], [left, right]], 'reflect');
    if (left + length + right > span) signal = signal.slice([0, 0, 0], [batch, 1, span]);
  } else {
    signal = audio.slice([0, 0, s.windowOffset], [batch, 1, span]);
  }
  const spectrum = conv1d(signal, fourierBasis(s), { stride: s.hopLength });
  return spectrum.reshape([batch, s.bins, 2, frames]);
}

/** Power |X|² as [B, bins, frames]. */
export function stftPower(audio: tf.Tensor3D, options: StftConvOptions): tf.Tensor3D {
  return tf.sum(tf.square(stftComplex(audio, options)), 2);
}

/**
 * Magnitude |X| as [B, bins, frames], with the power clamped at `floor` first
 * (as Parallel WaveGAN's stft(): sqrt(clamp(re² + im², 1e-7))), so the sqrt and
 * a later log have finite gradients at silence.
 */
export function stftMagnitude(audio: tf.Tensor3D, options: StftConvOptions, floor = 1e-7): tf.Tensor3D {
  return tf.sqrt(tf.maximum(stftPower(audio, options), floor)) as tf.Tensor3D;
}

/** As the filterbank's own options (src/audio/mel.ts). */
export type MelBasisOptions = MelFilterbankOptions;

const melCache = new Map<string, tf.Tensor3D>();

/**
 * The mel filterbank as a 1×1 conv filter [nMels, bins, 1]: applied to a
 * [B, bins, frames] spectrum it gives [B, nMels, frames] with no transposes
 * (onnxruntime runs 1×1 convs as one MatMul). Cached per configuration.
 */
export function melBasis(options: MelBasisOptions): tf.Tensor3D {
  const key = JSON.stringify([options.sampleRate, options.nFft, options.nMels, options.fMin, options.fMax, options.scale, options.norm]);
  const cached = melCache.get(key);
  if (cached !== undefined && !cached.isDisposed) return cached;
  const bins = Math.floor(options.nFft / 2) + 1;
  const basis = tf.keep(tf.tensor3d(melFilterbank(options), [options.nMels, bins, 1]));
  melCache.set(key, basis);
  basesBuilt += 1;
  return basis;
}

/** How many fixed bases (Fourier and mel) have been built in this process. */
export function basisBuildCount(): number {
  return basesBuilt;
}
