/**
 * Band-limited sample-rate conversion with libsamplerate's sinc converters
 * (compiled to wasm by @alexanderolsen/libsamplerate-js).
 *
 * What the wrapper does (read in its source, checked by measurement on 2.1.2), and so how we use it:
 * - One wasm instance holds one converter state and two fixed 1,008,000-float
 *   transfer buffers; its simple() silently falls back to unflushed chunked
 *   processing above that size and leaves end_of_input set in the shared state.
 *   So we drive the streaming call (src_process) ourselves, in chunks that fit
 *   the buffers, on a freshly initialised state for every call.
 * - The converter has no time shift: output sample j sits at input time
 *   j * from / to. It does withhold its filter's look-ahead, so the streaming
 *   call returns fewer samples than that; we flush with zeros (which is what
 *   end_of_input does internally) and then cut to round(length * to / from).
 *   Chunked-and-flushed output is bit-identical to the one-shot simple() call.
 */
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { InputError } from '../errors.js';

/** The wasm module behind the wrapper's SRC object (its typed, public `module` field). */
type ConverterModule = Awaited<ReturnType<typeof libsamplerate.create>>['module'];
type ConverterTypeValue = (typeof libsamplerate.ConverterType)[keyof typeof libsamplerate.ConverterType];

/**
 * libsamplerate's sinc converters. Measured 48 kHz -> 16 kHz on one x86-64 core:
 * - best: flat (within 0.01 dB) to 7.5 kHz, aliases below -145 dB, ~70 ms per input second;
 * - medium: flat to 6 kHz (-0.3 dB at 7 kHz), aliases below -119 dB, ~15 ms;
 * - fastest: -0.5 dB at 6 kHz, aliases below -100 dB, ~10 ms.
 */
export type ResampleQuality = 'best' | 'medium' | 'fastest';

const CONVERTER: Record<ResampleQuality, ConverterTypeValue> = {
  best: libsamplerate.ConverterType.SRC_SINC_BEST_QUALITY,
  medium: libsamplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY,
  fastest: libsamplerate.ConverterType.SRC_SINC_FASTEST,
};

/** libsamplerate's limit on to / from (SRC_MAX_RATIO). */
const MAX_RATIO = 256;
const MAX_CHUNK_FRAMES = 1 << 16;
const FLUSH_FRAMES = 4096;

interface Converter {
  module: ConverterModule;
  /** Floats each transfer buffer holds. */
  capacity: number;
}

let converterLoading: Promise<Converter> | null = null;

/** The wasm module, loaded once per process; every call re-initialises its state. */
function loadConverter(): Promise<Converter> {
  if (converterLoading === null) {
    converterLoading = libsamplerate
      .create(1, 48000, 16000, { converterType: libsamplerate.ConverterType.SRC_SINC_FASTEST })
      .then((src) => ({ module: src.module, capacity: src.sourceArray.length }));
    // A failed load (e.g. out of memory) should not poison later calls.
    converterLoading.catch(() => {
      converterLoading = null;
    });
  }
  return converterLoading;
}

/**
 * Resample mono audio from `fromRate` to `toRate` Hz. The result has exactly
 * round(samples.length * toRate / fromRate) samples and is time-aligned with
 * the input (output sample j is input time j / toRate seconds). Equal rates
 * return a copy.
 */
export async function resample(
  samples: Float32Array,
  fromRate: number,
  toRate: number,
  quality: ResampleQuality = 'best',
): Promise<Float32Array> {
  requireRate('fromRate', fromRate);
  requireRate('toRate', toRate);
  if (!Object.hasOwn(CONVERTER, quality)) {
    throw new InputError('quality', `must be 'best', 'medium' or 'fastest', got ${String(quality)}`);
  }
  const ratio = toRate / fromRate;
  if (ratio > MAX_RATIO || ratio < 1 / MAX_RATIO) {
    throw new InputError(
      'resample',
      `cannot convert ${fromRate} Hz to ${toRate} Hz: libsamplerate handles rate ratios from 1/${MAX_RATIO} to ${MAX_RATIO}`,
    );
  }
  if (fromRate === toRate) return samples.slice();
  const outputLength = Math.round(samples.length * ratio);
  if (samples.length === 0 || outputLength === 0) return new Float32Array(outputLength);

  const converter = await loadConverter();
  // Everything from here on is synchronous: the converter state is shared by
  // every call in this process, so no other call may run in between.
  return convert(converter, samples, fromRate, toRate, CONVERTER[quality], outputLength);
}

function convert(
  { module, capacity }: Converter,
  samples: Float32Array,
  fromRate: number,
  toRate: number,
  converterType: ConverterTypeValue,
  outputLength: number,
): Float32Array {
  const [inputRate, outputRate] = integerRates(fromRate, toRate);
  const ratio = toRate / fromRate;
  module.destroy();
  module.init(1, converterType, inputRate, outputRate);

  // Room in the output buffer for a chunk's samples plus the look-ahead it releases.
  const chunkFrames = Math.max(1, Math.min(MAX_CHUNK_FRAMES, Math.floor(capacity / (2 * Math.max(1, ratio)))));
  const output = new Float32Array(outputLength);
  let written = 0;
  const feed = (chunk: Float32Array): void => {
    // Fresh views every call: a wasm memory growth would detach old ones.
    module.sourceArray(chunk.length).set(chunk);
    const produced = module.full(chunk.length, 1, converterType, inputRate, outputRate);
    const keep = Math.min(produced, outputLength - written);
    if (keep > 0) output.set(module.targetArray(keep), written);
    written += keep;
  };

  for (let start = 0; start < samples.length; start += chunkFrames) {
    feed(samples.subarray(start, Math.min(samples.length, start + chunkFrames)));
  }
  const silence = new Float32Array(Math.min(chunkFrames, FLUSH_FRAMES));
  // The look-ahead is a few hundred input samples at most; the bound only guards against a stuck converter.
  for (let flushes = 0; written < outputLength; flushes++) {
    if (flushes > 1000) throw new Error(`libsamplerate stopped producing output at ${written} of ${outputLength} samples`);
    feed(silence);
  }
  return output;
}

function requireRate(name: string, rate: number): void {
  if (!(Number.isFinite(rate) && rate > 0)) {
    throw new InputError(name, `must be a positive, finite sample rate in Hz, got ${rate}`);
  }
}

/**
 * The wasm converter takes integer rates and uses only their ratio. Integer
 * rates pass through; others become the closest fraction with terms below
 * 2^31 (a continued-fraction convergent), off by far less than float32 precision.
 */
function integerRates(fromRate: number, toRate: number): [number, number] {
  const limit = 2 ** 31 - 1;
  if (Number.isInteger(fromRate) && Number.isInteger(toRate) && fromRate <= limit && toRate <= limit) {
    return [fromRate, toRate];
  }
  const target = toRate / fromRate;
  // Convergents p/q of target; keep the last whose terms fit.
  let [p0, q0, p1, q1] = [0, 1, 1, 0];
  let remainder = target;
  for (let step = 0; step < 64; step++) {
    const whole = Math.floor(remainder);
    const [p2, q2] = [whole * p1 + p0, whole * q1 + q0];
    if (p2 > limit || q2 > limit) break;
    [p0, q0, p1, q1] = [p1, q1, p2, q2];
    const fraction = remainder - whole;
    if (fraction < 1e-12 || Math.abs(p1 / q1 - target) <= 1e-15 * target) break;
    remainder = 1 / fraction;
  }
  return [q1, p1];
}
