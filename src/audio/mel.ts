/**
 * Mel scales, the triangular mel filterbank and log-mel spectrograms, with the
 * definitions of librosa (librosa.hz_to_mel, librosa.filters.mel), which
 * torchaudio's mel_scale='slaney' and the vocoder / codec mel losses also use.
 */
import { InputError } from '../errors.js';
import { magnitude, powerSpectrogram, stft, type PadMode } from './stft.js';

/**
 * 'htk': mel = 2595 log10(1 + f / 700).
 * 'slaney': linear below 1 kHz (3 mel per 200 Hz), logarithmic above (Auditory Toolbox).
 */
export type MelScale = 'slaney' | 'htk';

/** 'slaney' scales each triangle to unit area in Hz (constant energy per band); null leaves peaks at 1. */
export type MelNorm = 'slaney' | null;

const SLANEY_HZ_PER_MEL = 200 / 3;
const SLANEY_LOG_START_HZ = 1000;
const SLANEY_LOG_START_MEL = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL; // 15
/** Mel step per natural-log unit of frequency above 1 kHz: 27 mels from 1 kHz to 6.4 kHz. */
const SLANEY_LOG_STEP = Math.log(6.4) / 27;

export function hzToMel(hz: number, scale: MelScale = 'slaney'): number {
  if (scale === 'htk') return 2595 * Math.log10(1 + hz / 700);
  if (hz < SLANEY_LOG_START_HZ) return hz / SLANEY_HZ_PER_MEL;
  return SLANEY_LOG_START_MEL + Math.log(hz / SLANEY_LOG_START_HZ) / SLANEY_LOG_STEP;
}

export function melToHz(mel: number, scale: MelScale = 'slaney'): number {
  if (scale === 'htk') return 700 * (10 ** (mel / 2595) - 1);
  if (mel < SLANEY_LOG_START_MEL) return mel * SLANEY_HZ_PER_MEL;
  return SLANEY_LOG_START_HZ * Math.exp(SLANEY_LOG_STEP * (mel - SLANEY_LOG_START_MEL));
}

export interface MelFilterbankOptions {
  sampleRate: number;
  nFft: number;
  nMels: number;
  /** Lowest band edge in Hz. Default 0. */
  fMin?: number;
  /** Highest band edge in Hz. Default sampleRate / 2. */
  fMax?: number;
  /** Default 'slaney' (librosa's default). */
  scale?: MelScale;
  /** Default 'slaney' (librosa's default). */
  norm?: MelNorm;
}

/**
 * nMels triangular filters over the nFft/2 + 1 STFT bins, row-major
 * (nMels x bins). Filter m rises from band edge m to a peak at edge m + 1 and
 * falls to edge m + 2, the nMels + 2 edges being equally spaced in mel between
 * fMin and fMax. Bands narrower than a bin can come out empty (all zero), as in
 * librosa, when nMels is large for the given nFft.
 */
export function melFilterbank(options: MelFilterbankOptions): Float32Array {
  const { sampleRate, nFft, nMels } = options;
  const fMin = options.fMin ?? 0;
  const fMax = options.fMax ?? sampleRate / 2;
  const scale = options.scale ?? 'slaney';
  const norm = options.norm === undefined ? 'slaney' : options.norm;
  if (!(Number.isFinite(sampleRate) && sampleRate > 0)) {
    throw new InputError('sampleRate', `must be a positive number, got ${sampleRate}`);
  }
  if (!Number.isInteger(nFft) || nFft < 2) throw new InputError('nFft', `must be an integer >= 2, got ${nFft}`);
  if (!Number.isInteger(nMels) || nMels < 1) throw new InputError('nMels', `must be an integer >= 1, got ${nMels}`);
  if (!(Number.isFinite(fMin) && Number.isFinite(fMax) && fMin >= 0 && fMin < fMax)) {
    throw new InputError('fMin', `need 0 <= fMin < fMax, got fMin = ${fMin}, fMax = ${fMax}`);
  }
  if (scale !== 'slaney' && scale !== 'htk') throw new InputError('scale', `must be 'slaney' or 'htk', got ${String(scale)}`);
  if (norm !== 'slaney' && norm !== null) throw new InputError('norm', `must be 'slaney' or null, got ${String(norm)}`);

  const bins = Math.floor(nFft / 2) + 1;
  const binHz = sampleRate / nFft;
  const melMin = hzToMel(fMin, scale);
  const melMax = hzToMel(fMax, scale);
  const edgesHz = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) edgesHz[i] = melToHz(melMin + ((melMax - melMin) * i) / (nMels + 1), scale);

  const weights = new Float32Array(nMels * bins);
  for (let m = 0; m < nMels; m++) {
    const lower = edgesHz[m];
    const centre = edgesHz[m + 1];
    const upper = edgesHz[m + 2];
    const gain = norm === 'slaney' ? 2 / (upper - lower) : 1;
    for (let k = 0; k < bins; k++) {
      const hz = k * binHz;
      const rising = (hz - lower) / (centre - lower);
      const falling = (upper - hz) / (upper - centre);
      const weight = Math.min(rising, falling);
      if (weight > 0) weights[m * bins + k] = weight * gain;
    }
  }
  return weights;
}

export interface LogMelOptions {
  sampleRate: number;
  nFft: number;
  hopLength: number;
  nMels: number;
  winLength?: number;
  window?: Float32Array;
  /** Default true. */
  center?: boolean;
  /** Default 'reflect'. */
  padMode?: PadMode;
  fMin?: number;
  fMax?: number;
  /** Default 'slaney'. */
  scale?: MelScale;
  /** Default 'slaney'. */
  norm?: MelNorm;
  /**
   * 1: mel of the magnitude spectrogram (the default, as HiFi-GAN, BigVGAN,
   * Vocos and DAC mel losses); 2: mel of the power spectrogram (librosa's default).
   */
  power?: 1 | 2;
  /** Mel values are clamped to at least this before the log. Default 1e-5. */
  logFloor?: number;
}

/** Natural log of mel energies, frame-major: band m of frame t is at t * nMels + m. */
export interface LogMelSpectrogram {
  data: Float32Array;
  frames: number;
  nMels: number;
}

/** ln(max(logFloor, mel filterbank applied to |STFT|^power)). */
export function logMelSpectrogram(x: Float32Array, options: LogMelOptions): LogMelSpectrogram {
  const power = options.power ?? 1;
  const logFloor = options.logFloor ?? 1e-5;
  if (power !== 1 && power !== 2) throw new InputError('power', `must be 1 or 2, got ${String(power)}`);
  if (!(Number.isFinite(logFloor) && logFloor > 0)) {
    throw new InputError('logFloor', `must be a positive number, got ${logFloor}`);
  }
  const spec = stft(x, options);
  const spectrum = power === 1 ? magnitude(spec) : powerSpectrogram(spec);
  const filters = melFilterbank(options);
  const { nMels } = options;
  const { frames, bins } = spec;

  // Each triangle covers a short run of bins; visit only those.
  const firstBin = new Int32Array(nMels);
  const endBin = new Int32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    let first = 0;
    while (first < bins && filters[m * bins + first] === 0) first++;
    let end = bins;
    while (end > first && filters[m * bins + end - 1] === 0) end--;
    firstBin[m] = first;
    endBin[m] = end;
  }

  const logFloorValue = Math.log(logFloor);
  const data = new Float32Array(frames * nMels);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < nMels; m++) {
      let energy = 0;
      for (let k = firstBin[m]; k < endBin[m]; k++) energy += filters[m * bins + k] * spectrum[t * bins + k];
      data[t * nMels + m] = energy > logFloor ? Math.log(energy) : logFloorValue;
    }
  }
  return { data, frames, nMels };
}
