/**
 * Delay alignment before scoring. Codecs delay their output (Codec2's analysis
 * window, resampler filters, Opus's look-ahead when a decoder does not trim it)
 * and STOI, SI-SNR and the spectral distances all punish misalignment, so the
 * decoded signal is shifted by the lag that maximises its cross-correlation with
 * the reference before any metric sees it. The lag is reported with the scores.
 */
import FFT from 'fft.js';

import { InputError } from '../errors.js';

export interface Alignment {
  /** The degraded signal shifted and cut/zero-padded to the reference's length. */
  aligned: Float32Array;
  /** Samples the degraded signal lags the reference by (negative: it leads). */
  delaySamples: number;
  delaySeconds: number;
}

/**
 * Finds d in [-maxLag, maxLag] maximising Σ_n reference[n] · degraded[n + d]
 * (an FFT cross-correlation, zero-padded so no lag wraps around) and returns
 * degraded[n + d] for n over the reference. Both signals at `sampleRate`.
 */
export function alignByCrossCorrelation(
  reference: Float32Array,
  degraded: Float32Array,
  sampleRate: number,
  maxLagSeconds = 0.25,
): Alignment {
  if (reference.length === 0 || degraded.length === 0) throw new InputError('align', 'a signal is empty');
  const maxLag = Math.round(maxLagSeconds * sampleRate);
  let size = 2;
  while (size < reference.length + degraded.length) size *= 2;
  const fft = new FFT(size);
  const spectrumOf = (x: Float32Array): Float64Array => {
    const padded = new Float64Array(size);
    padded.set(x);
    const out = new Float64Array(2 * size);
    fft.realTransform(out, padded);
    fft.completeSpectrum(out);
    return out;
  };
  const r = spectrumOf(reference);
  const g = spectrumOf(degraded);
  // conj(R) · G in the frequency domain is the cross-correlation at every lag.
  const product = new Float64Array(2 * size);
  for (let k = 0; k < size; k++) {
    const [rr, ri, gr, gi] = [r[2 * k], r[2 * k + 1], g[2 * k], g[2 * k + 1]];
    product[2 * k] = rr * gr + ri * gi;
    product[2 * k + 1] = rr * gi - ri * gr;
  }
  const correlation = new Float64Array(2 * size);
  fft.inverseTransform(correlation, product);

  let bestLag = 0;
  let best = -Infinity;
  const lowest = Math.max(-maxLag, -(reference.length - 1));
  const highest = Math.min(maxLag, degraded.length - 1);
  for (let lag = lowest; lag <= highest; lag++) {
    const value = correlation[2 * ((lag + size) % size)];
    // Ties (silence) keep the lag nearest zero, visited in order of |lag| below.
    if (value > best || (value === best && Math.abs(lag) < Math.abs(bestLag))) {
      best = value;
      bestLag = lag;
    }
  }
  return { aligned: shift(degraded, bestLag, reference.length), delaySamples: bestLag, delaySeconds: bestLag / sampleRate };
}

/** out[n] = x[n + lag] where that exists, else 0; out has `length` samples. */
export function shift(x: Float32Array, lag: number, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let n = Math.max(0, -lag); n < length && n + lag < x.length; n++) out[n] = x[n + lag];
  return out;
}
