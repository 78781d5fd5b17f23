/**
 * Short-time Fourier transform and its inverse, with torch.stft / torch.istft
 * conventions (center padding, a window shorter than nFft centred in the frame,
 * window-sum-square normalisation), so features and losses match the PyTorch
 * codecs we compare against.
 */
import { InputError } from '../errors.js';
import { RealDft } from './fft.js';

/** A one-sided complex spectrogram, frame-major: bin k of frame t is at t * bins + k. */
export interface Spectrogram {
  re: Float32Array;
  im: Float32Array;
  frames: number;
  /** floor(nFft / 2) + 1. */
  bins: number;
}

export type PadMode = 'reflect' | 'constant';

export interface StftOptions {
  nFft: number;
  hopLength: number;
  /** Window length, at most nFft; defaults to nFft (or window.length when a window is given). */
  winLength?: number;
  /** Defaults to a periodic Hann window of winLength (torch.stft's default is rectangular). */
  window?: Float32Array;
  /** Pad nFft/2 on both sides so frame t is centred on sample t * hopLength. Default true. */
  center?: boolean;
  /** How center padding is filled. Default 'reflect' (torch.stft's default). */
  padMode?: PadMode;
}

export interface IstftOptions {
  nFft: number;
  hopLength: number;
  winLength?: number;
  window?: Float32Array;
  /** Must match the forward transform. Default true. */
  center?: boolean;
  /** Exact output length (trimmed or zero-padded); by default what the frames cover. */
  length?: number;
}

/**
 * Hann window. Periodic (the default, as torch.hann_window and scipy's 'hann' for
 * spectral analysis) has period `length`; symmetric ends on zero at both sides.
 */
export function hannWindow(length: number, periodic = true): Float32Array {
  requireInteger('length', length, 0);
  const window = new Float32Array(length);
  if (length === 1) {
    window[0] = 1;
    return window;
  }
  const period = periodic ? length : length - 1;
  for (let n = 0; n < length; n++) window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / period);
  return window;
}

/** STFT of a mono signal. */
export function stft(x: Float32Array, options: StftOptions): Spectrogram {
  const { nFft, hopLength } = options;
  const center = options.center ?? true;
  const padMode = options.padMode ?? 'reflect';
  if (padMode !== 'reflect' && padMode !== 'constant') {
    throw new InputError('padMode', `must be 'reflect' or 'constant', got ${String(padMode)}`);
  }
  const window = frameWindow(options);
  if (x.length === 0) throw new InputError('stft', 'the signal is empty');

  const padding = center ? Math.floor(nFft / 2) : 0;
  const paddedLength = x.length + 2 * padding;
  if (paddedLength < nFft) {
    throw new InputError('stft', `the signal has ${x.length} samples, fewer than nFft = ${nFft} (use center: true)`);
  }
  const padded = center ? padSignal(x, padding, padMode) : x;
  const frames = 1 + Math.floor((paddedLength - nFft) / hopLength);

  const dft = new RealDft(nFft);
  const bins = dft.bins;
  const re = new Float32Array(frames * bins);
  const im = new Float32Array(frames * bins);
  const frame = new Float64Array(nFft);
  for (let t = 0; t < frames; t++) {
    const start = t * hopLength;
    for (let n = 0; n < nFft; n++) frame[n] = padded[start + n] * window[n];
    dft.forward(frame, re, im, t * bins);
  }
  return { re, im, frames, bins };
}

/**
 * Inverse STFT by weighted overlap-add: each frame is inverse transformed,
 * multiplied by the window again and added in; the sum is divided by the summed
 * squared windows, as torch.istft. Samples the windows never reach (the
 * window-sum-square is ~0, e.g. the first sample without center padding) are 0.
 */
export function istft(spec: Spectrogram, options: IstftOptions): Float32Array {
  const { nFft, hopLength } = options;
  const center = options.center ?? true;
  const window = frameWindow(options);
  const bins = Math.floor(nFft / 2) + 1;
  if (spec.bins !== bins) {
    throw new InputError('istft', `the spectrogram has ${spec.bins} bins but nFft = ${nFft} needs ${bins}`);
  }
  requireInteger('frames', spec.frames, 0);
  if (spec.re.length !== spec.frames * bins || spec.im.length !== spec.frames * bins) {
    throw new InputError('istft', `re/im must hold frames * bins = ${spec.frames * bins} values`);
  }
  if (options.length !== undefined) requireInteger('length', options.length, 0);

  const padding = center ? Math.floor(nFft / 2) : 0;
  const coveredLength = spec.frames === 0 ? 0 : nFft + hopLength * (spec.frames - 1);
  const outputLength = options.length ?? Math.max(0, coveredLength - 2 * padding);

  const sum = new Float64Array(coveredLength);
  const windowSumSquare = new Float64Array(coveredLength);
  const dft = new RealDft(nFft);
  const frame = new Float64Array(nFft);
  for (let t = 0; t < spec.frames; t++) {
    dft.inverse(spec.re, spec.im, t * bins, frame);
    const start = t * hopLength;
    for (let n = 0; n < nFft; n++) {
      sum[start + n] += frame[n] * window[n];
      windowSumSquare[start + n] += window[n] * window[n];
    }
  }

  const out = new Float32Array(outputLength);
  const available = Math.min(outputLength, coveredLength - padding);
  for (let i = 0; i < available; i++) {
    const envelope = windowSumSquare[padding + i];
    // Same threshold as torch.istft's NOLA check.
    if (envelope > 1e-11) out[i] = sum[padding + i] / envelope;
  }
  return out;
}

/** |X| for every bin, same layout as the spectrogram. */
export function magnitude(spec: Spectrogram): Float32Array {
  const out = new Float32Array(spec.re.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.hypot(spec.re[i], spec.im[i]);
  return out;
}

/** |X|^2 for every bin, same layout as the spectrogram. */
export function powerSpectrogram(spec: Spectrogram): Float32Array {
  const out = new Float32Array(spec.re.length);
  for (let i = 0; i < out.length; i++) out[i] = spec.re[i] * spec.re[i] + spec.im[i] * spec.im[i];
  return out;
}

/** The analysis window zero-padded to nFft and centred, as torch.stft does. */
function frameWindow(options: StftOptions | IstftOptions): Float64Array {
  const { nFft, hopLength } = options;
  requireInteger('nFft', nFft, 2);
  requireInteger('hopLength', hopLength, 1);
  const winLength = options.winLength ?? options.window?.length ?? nFft;
  requireInteger('winLength', winLength, 1);
  if (winLength > nFft) throw new InputError('winLength', `must be at most nFft = ${nFft}, got ${winLength}`);
  const window = options.window ?? hannWindow(winLength);
  if (window.length !== winLength) {
    throw new InputError('window', `has ${window.length} values but winLength is ${winLength}`);
  }
  const framed = new Float64Array(nFft);
  framed.set(window, Math.floor((nFft - winLength) / 2));
  return framed;
}

/**
 * x with `padding` samples added at both ends. 'reflect' mirrors about the end
 * samples without repeating them (numpy's 'reflect'), folding back and forth
 * when the padding is longer than the signal.
 */
function padSignal(x: Float32Array, padding: number, mode: PadMode): Float32Array {
  const out = new Float32Array(x.length + 2 * padding);
  out.set(x, padding);
  if (mode === 'constant') return out;
  const n = x.length;
  const period = 2 * (n - 1);
  const reflectedIndex = (i: number): number => {
    if (period === 0) return 0;
    const m = ((i % period) + period) % period;
    return m < n ? m : period - m;
  };
  for (let i = 0; i < padding; i++) {
    out[i] = x[reflectedIndex(i - padding)];
    out[padding + n + i] = x[reflectedIndex(n + i)];
  }
  return out;
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new InputError(name, `must be an integer >= ${min}, got ${value}`);
  }
}
