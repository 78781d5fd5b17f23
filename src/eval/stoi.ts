/**
 * Classic STOI, the Short-Time Objective Intelligibility measure of Taal,
 * Hendriks, Heusdens and Jensen ("An Algorithm for Intelligibility Prediction of
 * Time-Frequency Weighted Noisy Speech", IEEE TASLP 2011).
 *
 * Both signals go to 10 kHz; frames where the clean signal is more than 40 dB
 * below its loudest frame are dropped from both; 256-sample Hann frames (50 %
 * overlap, 512-point FFT) are grouped into 15 one-third-octave bands from
 * 150 Hz; over 30-frame (384 ms) segments, each band envelope of the degraded
 * signal is scaled to the clean one's energy, clipped at -15 dB SDR, and
 * correlated with the clean envelope. The score is the mean correlation.
 *
 * Every step follows pystoi 0.4.1 (the established Python implementation, which
 * its authors check against the original MATLAB code) so our numbers can be
 * compared with published ones: in particular the resampler to 10 kHz is
 * Octave's `resample` (a Kaiser-windowed sinc, as pystoi uses), not our
 * libsamplerate path, and the silent-frame removal is pystoi's overlap-add.
 * test/eval/stoi.test.ts pins our scores to pystoi's on fixed signals.
 */
import FFT from 'fft.js';

import { InputError } from '../errors.js';

const STOI_RATE = 10_000;
const FRAME = 256;
const FFT_SIZE = 512;
const HOP = FRAME / 2;
const BANDS = 15;
const LOWEST_CENTRE_HZ = 150;
/** Frames per intermediate-intelligibility segment: 30 × 12.8 ms = 384 ms. */
const SEGMENT = 30;
/** Lower bound of the signal-to-distortion ratio, dB. */
const BETA_DB = -15;
/** Frames this far below the loudest clean frame count as silence. */
const DYNAMIC_RANGE_DB = 40;
/** numpy's float64 machine epsilon, which pystoi adds to every norm. */
const EPS = 2.220446049250313e-16;

/** Thrown when too little non-silent audio is left to form one 384 ms segment. */
export class StoiTooShortError extends InputError {
  override readonly name: string = 'StoiTooShortError';
}

/**
 * STOI of `degraded` against `clean` (same length, same rate), in about [0, 1];
 * higher is more intelligible. Signals must already be time-aligned: STOI
 * punishes even a few milliseconds of delay (see alignByCrossCorrelation).
 */
export function stoi(clean: Float32Array | Float64Array, degraded: Float32Array | Float64Array, sampleRate: number): number {
  if (clean.length !== degraded.length) {
    throw new InputError('stoi', `the signals differ in length (${clean.length} and ${degraded.length} samples)`);
  }
  if (!(Number.isInteger(sampleRate) && sampleRate > 0)) {
    throw new InputError('stoi', `the sample rate must be a positive integer, got ${sampleRate}`);
  }
  let x: Float64Array = Float64Array.from(clean);
  let y: Float64Array = Float64Array.from(degraded);
  if (sampleRate !== STOI_RATE) {
    x = resampleOctave(x, STOI_RATE, sampleRate);
    y = resampleOctave(y, STOI_RATE, sampleRate);
  }
  [x, y] = removeSilentFrames(x, y);

  const cleanBands = thirdOctaveEnvelopes(x);
  const degradedBands = thirdOctaveEnvelopes(y);
  const frames = cleanBands.length / BANDS;
  if (frames < SEGMENT) {
    throw new StoiTooShortError(
      'stoi',
      `only ${frames} non-silent frames of 12.8 ms, fewer than the ${SEGMENT} (384 ms) one segment needs`,
    );
  }

  const clipFactor = 1 + 10 ** (-BETA_DB / 20);
  const xs = new Float64Array(SEGMENT);
  const ys = new Float64Array(SEGMENT);
  let total = 0;
  let segments = 0;
  for (let end = SEGMENT; end <= frames; end++) {
    segments++;
    for (let band = 0; band < BANDS; band++) {
      const row = band * frames + end - SEGMENT;
      let xNorm = 0;
      let yNorm = 0;
      for (let t = 0; t < SEGMENT; t++) {
        xs[t] = cleanBands[row + t];
        ys[t] = degradedBands[row + t];
        xNorm += xs[t] * xs[t];
        yNorm += ys[t] * ys[t];
      }
      // Scale the degraded envelope to the clean one's energy, then clip it so
      // one badly distorted unit cannot dominate (the SDR floor BETA).
      const scale = Math.sqrt(xNorm) / (Math.sqrt(yNorm) + EPS);
      let xMean = 0;
      let yMean = 0;
      for (let t = 0; t < SEGMENT; t++) {
        ys[t] = Math.min(ys[t] * scale, xs[t] * clipFactor);
        xMean += xs[t];
        yMean += ys[t];
      }
      xMean /= SEGMENT;
      yMean /= SEGMENT;
      let xx = 0;
      let yy = 0;
      let xy = 0;
      for (let t = 0; t < SEGMENT; t++) {
        const a = xs[t] - xMean;
        const b = ys[t] - yMean;
        xx += a * a;
        yy += b * b;
        xy += a * b;
      }
      total += xy / ((Math.sqrt(xx) + EPS) * (Math.sqrt(yy) + EPS));
    }
  }
  return total / (segments * BANDS);
}

/** numpy.hanning(n + 2)[1:-1]: MATLAB's hanning(n), a symmetric Hann without its zero ends. */
function matlabHann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) w[k] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (k + 1)) / (n + 1));
  return w;
}

const HANN = matlabHann(FRAME);

/**
 * Drops the frames where the clean signal is over 40 dB below its loudest
 * frame, from both signals, and overlap-adds the rest back into two signals.
 * The frame grid (starts 0, 128, ... below length - 256) is pystoi's.
 */
function removeSilentFrames(x: Float64Array, y: Float64Array): [Float64Array, Float64Array] {
  const starts: number[] = [];
  for (let start = 0; start < x.length - FRAME; start += HOP) starts.push(start);
  const energies = starts.map((start) => {
    let sum = 0;
    for (let n = 0; n < FRAME; n++) {
      const v = HANN[n] * x[start + n];
      sum += v * v;
    }
    return 20 * Math.log10(Math.sqrt(sum) + EPS);
  });
  const loudest = Math.max(...energies);
  const kept = starts.filter((_, i) => loudest - DYNAMIC_RANGE_DB - energies[i] < 0);
  if (kept.length === 0) {
    throw new StoiTooShortError('stoi', `the clean signal is shorter than one ${FRAME}-sample frame at 10 kHz`);
  }
  const length = (kept.length - 1) * HOP + FRAME;
  const xOut = new Float64Array(length);
  const yOut = new Float64Array(length);
  kept.forEach((start, k) => {
    for (let n = 0; n < FRAME; n++) {
      xOut[k * HOP + n] += HANN[n] * x[start + n];
      yOut[k * HOP + n] += HANN[n] * y[start + n];
    }
  });
  return [xOut, yOut];
}

/**
 * One-third-octave band matrix for a 512-point FFT at 10 kHz: band i covers the
 * FFT bins from the one nearest to its lower edge up to (not including) the one
 * nearest to its upper edge, edges at 150 · 2^((2i ∓ 1) / 6) Hz.
 */
function thirdOctaveBins(): Array<[number, number]> {
  const bins = FFT_SIZE / 2 + 1;
  const nearestBin = (hz: number): number => {
    let best = 0;
    for (let k = 1; k < bins; k++) {
      // Strictly smaller, so a tie goes to the lower bin (numpy.argmin takes the first).
      if (((k * STOI_RATE) / FFT_SIZE - hz) ** 2 < ((best * STOI_RATE) / FFT_SIZE - hz) ** 2) best = k;
    }
    return best;
  };
  const bands: Array<[number, number]> = [];
  for (let i = 0; i < BANDS; i++) {
    bands.push([nearestBin(LOWEST_CENTRE_HZ * 2 ** ((2 * i - 1) / 6)), nearestBin(LOWEST_CENTRE_HZ * 2 ** ((2 * i + 1) / 6))]);
  }
  return bands;
}

const BAND_BINS = thirdOctaveBins();

/** Band envelopes sqrt(Σ |X_k|²) per frame, band-major: band b of frame t at b * frames + t. */
function thirdOctaveEnvelopes(x: Float64Array): Float64Array {
  const starts: number[] = [];
  for (let start = 0; start < x.length - FRAME; start += HOP) starts.push(start);
  const frames = starts.length;
  const fft = new FFT(FFT_SIZE);
  const frame = new Float64Array(FFT_SIZE);
  const spectrum = new Float64Array(2 * FFT_SIZE);
  const out = new Float64Array(BANDS * frames);
  starts.forEach((start, t) => {
    for (let n = 0; n < FRAME; n++) frame[n] = HANN[n] * x[start + n];
    fft.realTransform(spectrum, frame);
    BAND_BINS.forEach(([first, end], band) => {
      let energy = 0;
      for (let k = first; k < end; k++) energy += spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2;
      out[band * frames + t] = Math.sqrt(energy);
    });
  });
  return out;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarterSquare = (x * x) / 4;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= quarterSquare / (k * k);
    sum += term;
  }
  return sum;
}

/**
 * Octave's `resample(x, p, q)` (output rate / input rate = p / q): a polyphase
 * FIR whose filter is an ideal low-pass at the lower Nyquist rate windowed by a
 * Kaiser window for 60 dB rejection and a transition width a tenth of the
 * cut-off, normalised to unit DC gain per phase, with the output centred on the
 * input (scipy.signal.resample_poly's alignment). Output length ceil(n p / q).
 */
export function resampleOctave(x: Float64Array, outRate: number, inRate: number): Float64Array {
  const divisor = gcd(outRate, inRate);
  const up = outRate / divisor;
  const down = inRate / divisor;
  const cutoff = 1 / (2 * Math.max(up, down));
  const rejectionDb = 60;
  const halfLength = Math.ceil((rejectionDb - 8) / (28.714 * (cutoff / 10)));
  const beta = 0.1102 * (rejectionDb - 8.7);
  const taps = 2 * halfLength + 1;
  const filter = new Float64Array(taps);
  const i0Beta = besselI0(beta);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const t = i - halfLength;
    const ratio = (2 * i) / (taps - 1) - 1;
    const kaiser = besselI0(beta * Math.sqrt(Math.max(0, 1 - ratio * ratio))) / i0Beta;
    const arg = 2 * cutoff * t;
    const sinc = t === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    filter[i] = kaiser * 2 * up * cutoff * sinc;
    sum += filter[i];
  }
  // pystoi normalises the filter to sum 1; resample_poly then multiplies it by `up`.
  for (let i = 0; i < taps; i++) filter[i] = (filter[i] / sum) * up;

  const outLength = Math.ceil((x.length * up) / down);
  const out = new Float64Array(outLength);
  for (let m = 0; m < outLength; m++) {
    // Output m sits at upsampled index m·down; input j at j·up; the filter is centred.
    const centre = m * down + halfLength;
    const firstInput = Math.max(0, Math.ceil((centre - (taps - 1)) / up));
    const lastInput = Math.min(x.length - 1, Math.floor(centre / up));
    let acc = 0;
    for (let j = firstInput; j <= lastInput; j++) acc += x[j] * filter[centre - j * up];
    out[m] = acc;
  }
  return out;
}
