/**
 * One training example from one file: decode, optionally level it, cut a crop
 * and bring it to the model's rate. Runs in the pipeline's worker threads (or
 * inline when it has none); everything random comes in as `position`, drawn by
 * the pipeline's seeded generator, so the result does not depend on which
 * thread ran it.
 */
import { readWav, resample, type ResampleQuality } from '../audio/index.js';

export interface CropRequest {
  path: string;
  /** Uniform in [0, 1): where the crop starts among all the places it could. */
  position: number;
  sampleRate: number;
  cropSamples: number;
  /** Gated RMS level to bring the utterance to, in dBFS; null leaves the level alone. */
  loudnessDb: number | null;
  quality: ResampleQuality;
}

export interface Crop {
  /** cropSamples long; zeros after `length` when the utterance is shorter than the crop. */
  samples: Float32Array;
  /** Valid samples at the start of `samples`. */
  length: number;
  /** Where the crop starts in the utterance, in samples at the model rate. */
  offset: number;
  /** Seconds of audio the file holds. */
  sourceSeconds: number;
}

/** Source samples kept beyond each end of a crop, so the resampler's filter has real context there. */
const RESAMPLE_MARGIN = 256;

export async function readCrop(request: CropRequest): Promise<Crop> {
  const { sampleRate: to, cropSamples } = request;
  const clip = await readWav(request.path);
  const source = clip.samples;
  const from = clip.sampleRate;
  const gain = request.loudnessDb === null ? 1 : loudnessGain(source, from, request.loudnessDb);

  const lengthAtModelRate = Math.round((source.length * to) / from);
  const out = new Float32Array(cropSamples);
  let offset = 0;
  let valid: Float32Array;
  if (lengthAtModelRate <= cropSamples) {
    valid = from === to ? source : await resample(source, from, to, request.quality);
  } else {
    offset = Math.min(lengthAtModelRate - cropSamples, Math.floor(request.position * (lengthAtModelRate - cropSamples + 1)));
    if (from === to) {
      valid = source.subarray(offset, offset + cropSamples);
    } else {
      // Resample only the crop (plus margins), not the whole file.
      const start = Math.max(0, Math.floor((offset * from) / to) - RESAMPLE_MARGIN);
      const end = Math.min(source.length, Math.ceil(((offset + cropSamples) * from) / to) + RESAMPLE_MARGIN);
      const piece = await resample(source.subarray(start, end), from, to, request.quality);
      const skip = Math.round(offset - (start * to) / from);
      valid = piece.subarray(skip, skip + cropSamples);
    }
  }
  const length = Math.min(cropSamples, valid.length);
  for (let i = 0; i < length; i++) out[i] = valid[i] * gain;
  return { samples: out, length, offset, sourceSeconds: clip.durationSeconds };
}

/**
 * The gain that brings the utterance's gated RMS level to `targetDb` dBFS,
 * limited so the peak stays below full scale. Gating as in ITU-R BS.1770
 * (without its K-weighting filter): 50 ms blocks, an absolute gate at -70 dBFS,
 * then a relative gate 20 dB below the mean of the blocks that passed it, so
 * pauses do not pull the level down. Silence gets a gain of 1.
 */
export function loudnessGain(samples: Float32Array, sampleRate: number, targetDb: number): number {
  const block = Math.max(1, Math.round(sampleRate * 0.05));
  const powers: number[] = [];
  let peak = 0;
  for (let start = 0; start < samples.length; start += block) {
    const end = Math.min(samples.length, start + block);
    let sum = 0;
    for (let i = start; i < end; i++) {
      const value = samples[i];
      sum += value * value;
      peak = Math.max(peak, Math.abs(value));
    }
    powers.push(sum / (end - start));
  }
  const absoluteGate = Math.pow(10, -70 / 10);
  const loud = powers.filter((power) => power > absoluteGate);
  if (loud.length === 0 || peak === 0) return 1;
  const relativeGate = (loud.reduce((sum, power) => sum + power, 0) / loud.length) * 0.01;
  const gated = loud.filter((power) => power > relativeGate);
  const level = gated.reduce((sum, power) => sum + power, 0) / gated.length;
  const gain = Math.pow(10, targetDb / 20) / Math.sqrt(level);
  return Math.min(gain, 0.999 / peak);
}
