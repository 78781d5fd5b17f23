/**
 * One training example from one file: read just the crop's frames, bring them
 * to the model's rate, optionally level them. Runs in the pipeline's worker threads (or
 * inline when it has none); everything random comes in as `position`, drawn by
 * the pipeline's seeded generator, so the result does not depend on which
 * thread ran it.
 */
import { resample, type ResampleQuality } from '../audio/index.js';
import { readWavFrames } from './probe.js';

export interface CropRequest {
  path: string;
  /** Uniform in [0, 1): where the crop starts among all the places it could. */
  position: number;
  sampleRate: number;
  cropSamples: number;
  /** Gated RMS level to bring the crop to, in dBFS; null leaves the level alone. */
  loudnessDb: number | null;
  /** Band-limit the crop to 4 kHz, as a recording sampled at 8 kHz is (a training augmentation). */
  narrowband: boolean;
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
  let offset = 0;
  let lengthAtModelRate = 0;
  let skipFrom = 0;
  // Only the crop's frames (plus the resampler's margins) are read and decoded.
  const { clip, header } = await readWavFrames(request.path, (file) => {
    const from = file.sampleRate;
    lengthAtModelRate = Math.round((file.frames * to) / from);
    if (lengthAtModelRate <= cropSamples) return [0, file.frames];
    offset = Math.min(lengthAtModelRate - cropSamples, Math.floor(request.position * (lengthAtModelRate - cropSamples + 1)));
    if (from === to) return [offset, offset + cropSamples];
    const start = Math.max(0, Math.floor((offset * from) / to) - RESAMPLE_MARGIN);
    const end = Math.min(file.frames, Math.ceil(((offset + cropSamples) * from) / to) + RESAMPLE_MARGIN);
    skipFrom = start;
    return [start, end];
  });
  const from = header.sampleRate;
  let valid: Float32Array;
  if (from === to) {
    valid = clip.samples;
  } else {
    const piece = await resample(clip.samples, from, to, request.quality);
    const skip = lengthAtModelRate <= cropSamples ? 0 : Math.round(offset - (skipFrom * to) / from);
    valid = piece.subarray(skip, skip + cropSamples);
  }
  // Levelled on what was read (the crop and its margins): each example gets the asked level.
  const gain = request.loudnessDb === null ? 1 : loudnessGain(clip.samples, from, request.loudnessDb);
  const out = new Float32Array(cropSamples);
  const length = Math.min(cropSamples, valid.length);
  for (let i = 0; i < length; i++) out[i] = valid[i] * gain;
  if (request.narrowband && to > NARROWBAND_RATE) await bandLimit(out, length, to, request.quality);
  return { samples: out, length, offset, sourceSeconds: header.durationSeconds };
}

/** Telephone and much archived speech is sampled at 8 kHz: nothing above 4 kHz survives. */
const NARROWBAND_RATE = 8000;

/**
 * Band-limits `samples[0, length)` in place by a round trip through 8 kHz,
 * the same converter a real 8 kHz source takes on its way to the model's rate.
 */
async function bandLimit(samples: Float32Array, length: number, rate: number, quality: ResampleQuality): Promise<void> {
  const narrow = await resample(samples.subarray(0, length), rate, NARROWBAND_RATE, quality);
  const back = await resample(narrow, NARROWBAND_RATE, rate, quality);
  samples.set(back.subarray(0, Math.min(length, back.length)));
  samples.fill(0, Math.min(length, back.length), length);
}

/**
 * The gain that brings the signal's gated RMS level to `targetDb` dBFS,
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
