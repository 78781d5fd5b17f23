/**
 * The `Codec` API: a model directory loaded for inference.
 *
 *   const codec = await Codec.load('path/to/model');     // or Codec.load() for the default model
 *   const tokens = await codec.encode(samples, 44100);    // resampled to the model's rate
 *   const audio = await codec.decode(tokens);             // Float32Array at codec.sampleRate
 *
 * Tokens are a SvqFile ({ header, codes }): the codes with the metadata a .svq
 * file stores, so `writeSvq(path, tokens)` saves them as they are.
 *
 * Two engines run the same model: onnxruntime-node on the directory's
 * encoder.onnx / decoder.onnx (the default), or tfjs on a CodecModel rebuilt
 * from config.json + model.safetensors when onnxruntime cannot be loaded.
 * Either way long inputs run in windows (./chunking.ts), so working memory is
 * bounded by the window, not by the input, and the tokens equal one run over
 * the whole input.
 */

import { resample, writeWavStream } from '../audio/index.js';
import { InputError } from '../errors.js';
import { pathExists } from '../files.js';
import { probeWav, readWavFrames } from '../datasets/probe.js';
import { decoderContextFrames, encoderContextFrames } from './chunking.js';
import {
  DECODER_INPUT,
  DECODER_OUTPUT,
  ENCODER_INPUT,
  ENCODER_OUTPUT,
  STREAM_DECODER_ROLE,
  STREAM_ENCODER_ROLE,
  readModelDirectory,
  type ModelDirectory,
} from './model-dir.js';
import { loadOnnxRuntimeModule, openRuntimeSession, type OnnxRuntimeModule, type OrtSession } from './ort-session.js';
// The stream classes only: ./streaming/index.ts also exports the graph builders, which need tfjs.
import { StreamingDecoder, StreamingEncoder, type DecodeStream, type EncodeStream, type StreamOptions } from './streaming/streams.js';
import { WindowedCodec, checkSamples, memoryReader, type CodecTokens, type ProgressCallback, type SampleReader, type WindowModel } from './windowed-codec.js';

export { MAX_SAMPLE_MAGNITUDE, type CodecTokens, type ProgressCallback, type WindowModel } from './windowed-codec.js';

export type RuntimeEngine = 'onnxruntime' | 'tfjs';

export interface CodecLoadOptions {
  /** 'auto' (default): onnxruntime when it loads, else tfjs. */
  engine?: RuntimeEngine | 'auto';
  /**
   * New frames per encoder run (default 128). Each run also recomputes the
   * encoder's left context (12 frames for the speech preset), and its code
   * search holds frames · 16,384 scores, so this trades speed against memory.
   */
  encodeWindowFrames?: number;
  /** New frames per decoder run (default 1000, 20 s at 50 tokens/s). */
  decodeWindowFrames?: number;
}

/** The engine `auto` picks, and why; exported so the choice itself is testable. */
export function chooseEngine(requested: RuntimeEngine | 'auto', onnxRuntime: { ok: true } | { ok: false; reason: string }): { engine: RuntimeEngine; reason: string } {
  if (requested === 'tfjs') return { engine: 'tfjs', reason: 'tfjs was requested' };
  if (onnxRuntime.ok) return { engine: 'onnxruntime', reason: requested === 'auto' ? 'onnxruntime-node loaded' : 'onnxruntime was requested' };
  if (requested === 'onnxruntime') throw new InputError('engine', `onnxruntime was requested but ${onnxRuntime.reason}`);
  return { engine: 'tfjs', reason: `${onnxRuntime.reason}; running the model on tfjs instead` };
}

/**
 * onnxruntime: encoder.onnx and decoder.onnx. Each session opens on first use,
 * so a process that only encodes never holds the decoder (its copy of the
 * codebook is 32 MiB at K = 262,144).
 */
class OnnxWindowModel implements WindowModel {
  private encoder: Promise<OrtSession> | null = null;
  private decoder: Promise<OrtSession> | null = null;

  constructor(
    private readonly ort: OnnxRuntimeModule,
    private readonly model: ModelDirectory,
  ) {}

  private async open(role: 'encoder' | 'decoder', input: string, output: string): Promise<OrtSession> {
    const path = this.model.graphPath(role)!;
    if (!(await pathExists(path))) throw new InputError(path, `the model's ${role} graph is missing`);
    return openRuntimeSession(path, [input], [output]);
  }

  private encoderSession(): Promise<OrtSession> {
    this.encoder ??= this.open('encoder', ENCODER_INPUT, ENCODER_OUTPUT);
    return this.encoder;
  }

  private decoderSession(): Promise<OrtSession> {
    this.decoder ??= this.open('decoder', DECODER_INPUT, DECODER_OUTPUT);
    return this.decoder;
  }

  async encodeWindow(audio: Float32Array): Promise<Uint32Array> {
    const session = await this.encoderSession();
    const result = await session.run({ [ENCODER_INPUT]: new this.ort.Tensor('float32', audio, [1, 1, audio.length]) });
    const tokens = result[ENCODER_OUTPUT]!.data as BigInt64Array;
    return Uint32Array.from(tokens, (t) => Number(t));
  }

  async decodeWindow(codes: Uint32Array): Promise<Float32Array> {
    const session = await this.decoderSession();
    const ids = BigInt64Array.from(codes, (c) => BigInt(c));
    const result = await session.run({ [DECODER_INPUT]: new this.ort.Tensor('int64', ids, [1, codes.length]) });
    return result[DECODER_OUTPUT]!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    for (const session of [this.encoder, this.decoder]) {
      if (session !== null) await (await session.catch(() => null))?.release();
    }
    this.encoder = this.decoder = null;
  }
}

/** tfjs: the CodecModel itself, rebuilt from config + safetensors (loaded on demand). */
async function openTfjsWindowModel(model: ModelDirectory): Promise<WindowModel> {
  const [tf, { initEngine }, { loadCodecModel }] = await Promise.all([import('@tensorflow/tfjs'), import('../engine/index.js'), import('../export/model-directory.js')]);
  await initEngine();
  const codec = await loadCodecModel(model.config, model.weightsPath);
  return {
    encodeWindow: async (audio) => {
      const codes = tf.tidy(() => codec.encode(tf.tensor3d(audio, [1, 1, audio.length])).dataSync() as Int32Array);
      return Uint32Array.from(codes);
    },
    decodeWindow: async (codes) => tf.tidy(() => Float32Array.from(codec.decode(tf.tensor2d(Int32Array.from(codes), [1, codes.length], 'int32')).dataSync() as Float32Array)),
    dispose: async () => codec.dispose(),
  };
}

/** A sample-rate conversion whose errors name the audio's source, not the resampler. */
async function resampleFor(source: string, samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
  try {
    return await resample(samples, fromRate, toRate);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(source, error.problem);
    throw error;
  }
}

export class Codec {
  readonly model: ModelDirectory;
  readonly engine: RuntimeEngine;
  /** Why this engine runs the model (e.g. why onnxruntime was passed over). */
  readonly engineReason: string;
  private readonly core: WindowedCodec;
  private streamingEncoder: Promise<StreamingEncoder> | undefined;
  private streamingDecoder: Promise<StreamingDecoder> | undefined;

  private constructor(model: ModelDirectory, engine: { engine: RuntimeEngine; reason: string }, windows: WindowModel, options: CodecLoadOptions) {
    this.model = model;
    this.engine = engine.engine;
    this.engineReason = engine.reason;
    this.core = new WindowedCodec(model.manifest, windows, {
      encodeWindowFrames: options.encodeWindowFrames ?? 128,
      decodeWindowFrames: options.decodeWindowFrames ?? 1000,
      encoderContext: encoderContextFrames(model.config),
      decoderContext: decoderContextFrames(model.config),
    });
  }

  /**
   * Loads a model directory: a path, a name under codec/pretrained/, or (none
   * given) the default model, which fails with one line until one is installed.
   */
  static async load(nameOrPath?: string, options: CodecLoadOptions = {}): Promise<Codec> {
    const model = await readModelDirectory(nameOrPath);
    const loaded = loadOnnxRuntimeModule();
    const choice = chooseEngine(options.engine ?? 'auto', 'ort' in loaded ? { ok: true } : { ok: false, reason: loaded.reason });
    const windows = choice.engine === 'onnxruntime' && 'ort' in loaded ? new OnnxWindowModel(loaded.ort, model) : await openTfjsWindowModel(model);
    try {
      return new Codec(model, choice, windows, options);
    } catch (error) {
      await windows.dispose();
      throw error;
    }
  }

  get modelId(): string {
    return this.model.manifest.modelId;
  }
  get modelHash(): string {
    return this.model.manifest.modelHash;
  }
  get sampleRate(): number {
    return this.model.manifest.sampleRate;
  }
  get frameRate(): number {
    return this.model.manifest.frameRate;
  }
  get hop(): number {
    return this.model.manifest.hop;
  }
  get codebookSize(): number {
    return this.model.manifest.codebookSize;
  }

  /** Mono samples at `sampleRate` → tokens (resampled to the model's rate first). */
  async encode(samples: Float32Array, sampleRate: number, options: { source?: string; onProgress?: ProgressCallback } = {}): Promise<CodecTokens> {
    const source = options.source ?? 'samples';
    checkSamples(samples, source);
    if (!Number.isFinite(sampleRate) || sampleRate <= 0) throw new InputError(source, `sample rate must be a positive number, got ${sampleRate}`);
    const audio = sampleRate === this.sampleRate ? samples : await resampleFor(source, samples, sampleRate, this.sampleRate);
    return this.core.encode(memoryReader(audio), audio.length, options.onProgress);
  }

  /**
   * A WAV file → tokens. At the model's rate the file is read window by
   * window, so a file of any length encodes in bounded memory; at another
   * rate it is read whole and resampled.
   */
  async encodeWavFile(path: string, options: { onProgress?: ProgressCallback } = {}): Promise<CodecTokens> {
    const header = await probeWav(path);
    if (header.sampleRate !== this.sampleRate) {
      const { clip } = await readWavFrames(path, (h) => [0, h.frames]);
      return this.encode(clip.samples, clip.sampleRate, { source: path, ...options });
    }
    const read: SampleReader = async (start, end) => {
      const { clip } = await readWavFrames(path, () => [start, end]);
      const window = new Float32Array(end - start);
      window.set(clip.samples);
      return window;
    };
    return this.core.encode(read, header.frames, options.onProgress);
  }

  /** Several buffers; each as `encode` (the windows already fill the search, so they run one after another). */
  async encodeBatch(inputs: readonly { samples: Float32Array; sampleRate: number }[]): Promise<CodecTokens[]> {
    const out: CodecTokens[] = [];
    for (const [i, { samples, sampleRate }] of inputs.entries()) out.push(await this.encode(samples, sampleRate, { source: `inputs[${i}]` }));
    return out;
  }

  /**
   * Tokens → audio at the model's rate, trimmed to the original length. Tokens
   * made by another model are refused with a message naming both.
   */
  async decode(tokens: CodecTokens, options: { source?: string } = {}): Promise<Float32Array> {
    return this.core.decodeAll(tokens, options.source ?? 'tokens');
  }

  /**
   * `decode` a window at a time: consecutive pieces of the audio, trimmed to
   * the original length, each made only when asked for, so memory stays
   * bounded whatever the length (see decodeToWavFile).
   */
  async *decodeChunks(tokens: CodecTokens, options: { source?: string; onProgress?: ProgressCallback } = {}): AsyncGenerator<Float32Array> {
    yield* this.core.decode(tokens, options.source ?? 'tokens', options.onProgress);
  }

  /** Tokens → a 16-bit WAV file at the model's rate, written window by window (RF64 past 4 GiB) and atomically. */
  async decodeToWavFile(tokens: CodecTokens, path: string, options: { source?: string; force?: boolean; onProgress?: ProgressCallback } = {}): Promise<{ samples: number }> {
    this.checkTokens(tokens, options.source ?? 'tokens');
    await writeWavStream(path, this.sampleRate, tokens.header.originalLength, this.core.decodeChecked(tokens, options.onProgress), { force: options.force === true });
    return { samples: tokens.header.originalLength };
  }

  async decodeBatch(tokens: readonly CodecTokens[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const [i, item] of tokens.entries()) out.push(await this.decode(item, { source: `tokens[${i}]` }));
    return out;
  }

  /** Throws an InputError unless `tokens` were made by this model and hold valid codes. */
  checkTokens(tokens: CodecTokens, source: string): void {
    this.core.checkTokens(tokens, source);
  }

  /**
   * A Node Transform for live input (causal models): Float32Array PCM chunks
   * of any size at codec.sampleRate in, Uint32Array tokens out as soon as each
   * frame is complete. The tokens equal `encode` of the whole input, which
   * pads the last partial frame with zeros as the stream does at its end.
   */
  async createEncodeStream(options: StreamOptions = {}): Promise<EncodeStream> {
    this.streamingEncoder ??= StreamingEncoder.load(this.streamingGraphPath(STREAM_ENCODER_ROLE), { hop: this.hop });
    return (await this.streamingEncoder).stream(options);
  }

  /** A Node Transform: Uint32Array tokens in, Float32Array audio out, frame by frame (causal models); equal to `decode` within float rounding. */
  async createDecodeStream(options: StreamOptions = {}): Promise<DecodeStream> {
    this.streamingDecoder ??= StreamingDecoder.load(this.streamingGraphPath(STREAM_DECODER_ROLE), { hop: this.hop, codebookSize: this.codebookSize });
    return (await this.streamingDecoder).stream(options);
  }

  /** The step graph's file: loaded from its path, so onnxruntime finds the codebook.f32 beside it. */
  private streamingGraphPath(role: string): string {
    const path = this.model.graphPath(role);
    if (path === null) {
      throw new InputError(this.model.directory, `model ${this.modelId} has no streaming graphs: only a causal model streams (export it again from a causal preset such as speech-16k-0.9kbps)`);
    }
    return path;
  }

  async dispose(): Promise<void> {
    await this.core.windows.dispose();
    for (const part of [this.streamingEncoder, this.streamingDecoder]) {
      // A graph that failed to load was reported to its caller already.
      if (part !== undefined) await part.then((loaded) => loaded.release(), () => undefined);
    }
  }
}
