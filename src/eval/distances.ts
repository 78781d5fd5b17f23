/**
 * Waveform and spectral distances between a reference and a decoded signal
 * (same rate, aligned, same length). The definitions are the ones codec papers
 * report, so our figures can be read next to theirs:
 *
 * - multi-scale mel distance: DAC's MelSpectrogramLoss (Kumar et al. 2023,
 *   descript-audio-codec conf/base.yml): windows 32…2048 with 5…320 Slaney mel
 *   bands, hop a quarter window, L1 between log10 mel magnitudes floored at 1e-5,
 *   summed over the seven scales;
 * - multi-resolution STFT distance: Parallel WaveGAN's loss (Yamamoto et al.
 *   2020): FFT 1024/2048/512, hop 120/240/50, window 600/1200/240; spectral
 *   convergence plus mean |log magnitude difference|, averaged over resolutions;
 * - SI-SNR (scale-invariant signal-to-noise ratio, dB; Le Roux et al. 2019).
 */
import { logMelSpectrogram, magnitude, stft } from '../audio/index.js';
import { InputError } from '../errors.js';

const MEL_SCALES: ReadonlyArray<{ window: number; mels: number }> = [
  { window: 32, mels: 5 },
  { window: 64, mels: 10 },
  { window: 128, mels: 20 },
  { window: 256, mels: 40 },
  { window: 512, mels: 80 },
  { window: 1024, mels: 160 },
  { window: 2048, mels: 320 },
];

const STFT_RESOLUTIONS: ReadonlyArray<{ nFft: number; hop: number; window: number }> = [
  { nFft: 1024, hop: 120, window: 600 },
  { nFft: 2048, hop: 240, window: 1200 },
  { nFft: 512, hop: 50, window: 240 },
];

/** The spectral distances need more than half of their largest window (2048) for reflect padding. */
export const MIN_EVAL_SAMPLES = 1025;

function requireSameLength(reference: Float32Array, decoded: Float32Array, what: string): void {
  if (reference.length !== decoded.length) {
    throw new InputError(what, `the signals differ in length (${reference.length} and ${decoded.length} samples)`);
  }
  // Reflect padding of the largest window needs more than half a window of signal.
  if (reference.length < MIN_EVAL_SAMPLES) {
    throw new InputError(what, `the signal has ${reference.length} samples; at least ${MIN_EVAL_SAMPLES} are needed`);
  }
}

/** Σ over seven scales of mean |log10 mel(reference) − log10 mel(decoded)|; 0 for identical signals. */
export function multiScaleMelDistance(reference: Float32Array, decoded: Float32Array, sampleRate: number): number {
  requireSameLength(reference, decoded, 'mel distance');
  let total = 0;
  for (const { window, mels } of MEL_SCALES) {
    const options = { sampleRate, nFft: window, hopLength: window / 4, nMels: mels, power: 1 as const, logFloor: 1e-5 };
    const a = logMelSpectrogram(reference, options).data;
    const b = logMelSpectrogram(decoded, options).data;
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    total += sum / a.length / Math.LN10; // natural log to log10
  }
  return total;
}

/** Mean over three resolutions of spectral convergence + mean |ln |X| − ln |Y||. */
export function multiResolutionStftDistance(reference: Float32Array, decoded: Float32Array): number {
  requireSameLength(reference, decoded, 'STFT distance');
  let total = 0;
  for (const { nFft, hop, window } of STFT_RESOLUTIONS) {
    const options = { nFft, hopLength: hop, winLength: window };
    const x = magnitude(stft(reference, options));
    const y = magnitude(stft(decoded, options));
    let differenceEnergy = 0;
    let referenceEnergy = 0;
    let logDifference = 0;
    for (let i = 0; i < x.length; i++) {
      // Floor the power at 1e-7 before the square root, as Parallel WaveGAN does.
      const mx = Math.sqrt(Math.max(x[i] * x[i], 1e-7));
      const my = Math.sqrt(Math.max(y[i] * y[i], 1e-7));
      differenceEnergy += (mx - my) ** 2;
      referenceEnergy += mx * mx;
      logDifference += Math.abs(Math.log(mx) - Math.log(my));
    }
    total += Math.sqrt(differenceEnergy / referenceEnergy) + logDifference / x.length;
  }
  return total / STFT_RESOLUTIONS.length;
}

/**
 * SI-SNR in dB: both signals made zero-mean, the decoded one split into its
 * projection on the reference (target) and the rest (error); 10 log10 of their
 * energy ratio. Independent of the decoded signal's gain.
 */
export function siSnr(reference: Float32Array, decoded: Float32Array): number {
  if (reference.length !== decoded.length) {
    throw new InputError('SI-SNR', `the signals differ in length (${reference.length} and ${decoded.length} samples)`);
  }
  const n = reference.length;
  let meanRef = 0;
  let meanDec = 0;
  for (let i = 0; i < n; i++) {
    meanRef += reference[i];
    meanDec += decoded[i];
  }
  meanRef /= n;
  meanDec /= n;
  let dot = 0;
  let refEnergy = 0;
  for (let i = 0; i < n; i++) {
    dot += (reference[i] - meanRef) * (decoded[i] - meanDec);
    refEnergy += (reference[i] - meanRef) ** 2;
  }
  if (refEnergy === 0) throw new InputError('SI-SNR', 'the reference signal is silent');
  const gain = dot / refEnergy;
  let targetEnergy = 0;
  let errorEnergy = 0;
  for (let i = 0; i < n; i++) {
    const target = gain * (reference[i] - meanRef);
    targetEnergy += target * target;
    errorEnergy += (decoded[i] - meanDec - target) ** 2;
  }
  return 10 * Math.log10(Math.max(targetEnergy, 1e-20) / Math.max(errorEnergy, 1e-20));
}
