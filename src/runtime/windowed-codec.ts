/**
 * What every engine's codec shares, in Node and in the browser: audio in
 * bounded windows through a `WindowModel` (one encoder run, one decoder run),
 * the tokens' metadata, and the checks on samples and tokens.
 *
 *   samples ─ planWindows ─▶ encodeWindow × N ─▶ codes + SvqHeader
 *   codes   ─ planWindows ─▶ decodeWindow × N ─▶ pieces of audio, trimmed
 *
 * Each window recomputes its left context (./chunking.ts), so the tokens equal
 * one run over the whole input. No file, no Node module: ./codec.ts (Node) and
 * src/web/codec.ts (onnxruntime-web) supply the windows and the I/O.
 */
import { InputError } from '../errors.js';
import { checkSvqHeader, type SvqFile, type SvqHeader } from '../tokens/svq-format.js';
import { planWindows, type Window } from './chunking.js';
import type { ModelManifest } from './model-manifest.js';

/** Tokens with their metadata: exactly what a .svq file holds. */
export type CodecTokens = SvqFile;

/** One engine's encoder and decoder over a single window (batch 1). */
export interface WindowModel {
  /** Audio of a whole number of hops → one code per hop. */
  encodeWindow(audio: Float32Array): Promise<Uint32Array>;
  /** Codes → codes.length · hop samples. */
  decodeWindow(codes: Uint32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The facts about a model that its tokens carry. */
export type TokenModel = Pick<ModelManifest, 'modelId' | 'modelHash' | 'sampleRate' | 'frameRate' | 'hop' | 'codebookSize'>;

/** Told, as a long job goes, how many more seconds of audio are done. */
export type ProgressCallback = (seconds: number) => void;

/** Reads samples [start, end) of an input; the end may run past the audio (zeros are padded). */
export type SampleReader = (start: number, end: number) => Promise<Float32Array>;

/**
 * Largest sample magnitude taken as audio. Float WAV files may go a little past
 * full scale (±1); a value 64 times past it (+36 dB) is a broken file or wrong
 * units, not speech, and is refused rather than silently clipped.
 */
export const MAX_SAMPLE_MAGNITUDE = 64;

/** "speech-16k-0.9kbps (3f2a…)" — how messages name a model. */
export function describeModel(modelId: string, modelHash: string): string {
  return `${modelId} (hash ${modelHash})`;
}

export function checkSamples(samples: Float32Array, source: string): void {
  if (!(samples instanceof Float32Array)) throw new InputError(source, 'samples must be a Float32Array');
  if (samples.length === 0) throw new InputError(source, 'no audio: 0 samples');
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i]!;
    if (!Number.isFinite(value)) throw new InputError(source, `sample ${i} is ${value} (NaN and infinities cannot be encoded)`);
    if (Math.abs(value) > MAX_SAMPLE_MAGNITUDE) {
      throw new InputError(source, `sample ${i} is ${value}: audio is expected within ±1 (full scale), and values past ±${MAX_SAMPLE_MAGNITUDE} are refused`);
    }
  }
}

/** A reader over samples held in memory. */
export function memoryReader(audio: Float32Array): SampleReader {
  return async (start, end) => {
    const window = new Float32Array(end - start);
    window.set(audio.subarray(start, Math.min(end, audio.length)));
    return window;
  };
}

export interface WindowPlan {
  /** New frames per encoder run. */
  encodeWindowFrames: number;
  /** New frames per decoder run. */
  decodeWindowFrames: number;
  /** Left context each encoder / decoder run recomputes; null: the whole input is one window. */
  encoderContext: number | null;
  decoderContext: number | null;
}

/** Runs a WindowModel over whole inputs; see the module comment. */
export class WindowedCodec {
  constructor(
    readonly model: TokenModel,
    readonly windows: WindowModel,
    private readonly plan: WindowPlan,
  ) {
    for (const name of ['encodeWindowFrames', 'decodeWindowFrames'] as const) {
      const value = plan[name];
      if (!Number.isInteger(value) || value < 1) throw new InputError(name, `must be a positive integer, got ${value}`);
    }
  }

  /** `length` samples at the model's rate, read window by window → tokens. */
  async encode(read: SampleReader, length: number, onProgress?: ProgressCallback): Promise<CodecTokens> {
    const { hop, sampleRate } = this.model;
    const frames = Math.ceil(length / hop);
    const codes = new Uint32Array(frames);
    let reported = 0;
    for (const window of planWindows(frames, this.plan.encodeWindowFrames, this.plan.encoderContext)) {
      const audio = await read(window.start * hop, window.end * hop);
      codes.set(keptPart(await this.windows.encodeWindow(audio), window, 1), window.keepFrom);
      const upTo = Math.min(window.end * hop, length);
      onProgress?.((upTo - reported) / sampleRate);
      reported = upTo;
    }
    const { modelId, modelHash, frameRate, codebookSize } = this.model;
    const header: SvqHeader = { modelId, modelHash, sampleRate, frameRate, codebookSize, frameCount: frames, originalLength: length };
    return { header, codes };
  }

  /** Tokens → consecutive pieces of audio, trimmed to the original length, each made when asked for. */
  async *decode(tokens: CodecTokens, source: string, onProgress?: ProgressCallback): AsyncGenerator<Float32Array> {
    this.checkTokens(tokens, source);
    yield* this.decodeChecked(tokens, onProgress);
  }

  /** Tokens → the whole audio at the model's rate. */
  async decodeAll(tokens: CodecTokens, source: string): Promise<Float32Array> {
    this.checkTokens(tokens, source);
    const audio = new Float32Array(tokens.header.originalLength);
    let at = 0;
    for await (const piece of this.decodeChecked(tokens)) {
      audio.set(piece, at);
      at += piece.length;
    }
    return audio;
  }

  /** `decode` of tokens the caller has checked. */
  async *decodeChecked(tokens: CodecTokens, onProgress?: ProgressCallback): AsyncGenerator<Float32Array> {
    const { codes } = tokens;
    const { hop } = this.model;
    const total = tokens.header.originalLength;
    let emitted = 0;
    for (const window of planWindows(codes.length, this.plan.decodeWindowFrames, this.plan.decoderContext)) {
      if (window.keepFrom * hop !== emitted) throw new Error(`decode: window ${window.keepFrom} does not follow sample ${emitted}`);
      const kept = keptPart(await this.windows.decodeWindow(codes.subarray(window.start, window.end)), window, hop);
      const piece = kept.subarray(0, Math.max(0, Math.min(kept.length, total - emitted)));
      emitted += kept.length;
      if (piece.length > 0) {
        onProgress?.(piece.length / this.model.sampleRate);
        yield piece;
      }
    }
  }

  /** Throws an InputError unless `tokens` were made by this model and hold valid codes. */
  checkTokens(tokens: CodecTokens, source: string): void {
    if (typeof tokens !== 'object' || tokens === null || typeof tokens.header !== 'object' || tokens.header === null || !(tokens.codes instanceof Uint32Array)) {
      throw new InputError(source, 'expected tokens as { header, codes: Uint32Array } (what encode returns or a token file holds)');
    }
    checkSvqHeader(tokens.header, (problem) => new InputError(source, problem));
    const { header, codes } = tokens;
    const { modelId, modelHash, codebookSize } = this.model;
    if (header.modelHash !== modelHash || header.modelId !== modelId) {
      throw new InputError(source, `tokens of model ${describeModel(header.modelId, header.modelHash)} cannot be decoded by model ${describeModel(modelId, modelHash)}`);
    }
    if (codes.length !== header.frameCount) throw new InputError(source, `${codes.length} codes but the header says ${header.frameCount} frames`);
    if (codes.length === 0) throw new InputError(source, 'no tokens to decode (0 frames)');
    for (let i = 0; i < codes.length; i++) {
      if (!(codes[i]! < codebookSize)) throw new InputError(source, `code ${codes[i]} at frame ${i} is outside the codebook (K = ${codebookSize})`);
    }
  }
}

/** The outputs of a window that belong to its kept frames (`perFrame` outputs per frame). */
function keptPart<T extends Float32Array | Uint32Array>(outputs: T, window: Window, perFrame: number): T {
  return outputs.subarray((window.keepFrom - window.start) * perFrame, (window.end - window.start) * perFrame) as T;
}
