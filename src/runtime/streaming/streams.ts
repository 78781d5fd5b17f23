/**
 * Streaming encode and decode as Node Transform streams.
 *
 *   PCM Float32Array chunks, any size ─ EncodeStream ─▶ Uint32Array token chunks
 *   token chunks (Uint32Array, ...)   ─ DecodeStream ─▶ Float32Array PCM chunks
 *
 * Each wraps a FrameEncoder / FrameDecoder (./frames.ts: the buffering and
 * the graph steps, shared with the browser build): a token leaves as soon as
 * its frame's last sample arrives, the end of the stream pads a last partial
 * hop as the whole-file encoder does (`padToHop`), and each token's hop of
 * samples leaves with the token. Run from the start, both give what the
 * whole-file graphs give (test/runtime/streaming.test.ts).
 *
 * Load a graph once (`StreamingEncoder.load`) and open any number of streams
 * from it; each stream carries its own state.
 */
import { Transform, type TransformCallback } from 'node:stream';

import { InputError } from '../../errors.js';
import { STREAM_NAMES } from '../model-dir.js';
import { createOrtSession } from '../ort-session.js';
import { FrameDecoder, FrameEncoder } from './frames.js';
import { StreamingSession } from './session.js';

/** Frames one graph run handles at most: bounds a run's memory when a chunk holds minutes of audio. */
export const DEFAULT_MAX_FRAMES_PER_STEP = 50;

/**
 * The encoder's default is smaller: the pruned search rescores ~200 blocks of
 * codes per frame with trained latents (../search.ts), gathered at once for
 * the whole run. Measured here through the speech model on real speech fed
 * in 1 s chunks: 16 frames a run, 1.0 ms a frame and 254 MB peak RSS; 50
 * frames, the same speed and 301 MB; 1 frame, 3.3 ms.
 */
export const DEFAULT_ENCODER_MAX_FRAMES_PER_STEP = 16;

export interface StreamOptions {
  /** Frames per graph run at most; default 16 for encoding (see DEFAULT_ENCODER_MAX_FRAMES_PER_STEP), 50 for decoding. */
  maxFramesPerStep?: number;
}

/** Frames a whole file of `samples` samples encodes to: the last partial hop counts as a frame. */
export function frameCount(samples: number, hop: number): number {
  return Math.ceil(samples / hop);
}

/** `samples` zero-padded at the end to a whole number of hops (the samples themselves when already whole). */
export function padToHop(samples: Float32Array, hop: number): Float32Array {
  const length = frameCount(samples.length, hop) * hop;
  if (length === samples.length) return samples;
  const padded = new Float32Array(length);
  padded.set(samples);
  return padded;
}

function checkMaxFrames(options: StreamOptions, fallback = DEFAULT_MAX_FRAMES_PER_STEP): number {
  const value = options.maxFramesPerStep ?? fallback;
  if (!Number.isInteger(value) || value < 1) throw new InputError('maxFramesPerStep', `must be a positive integer, got ${value}`);
  return value;
}

/** Runs an async transform body and reports its outcome to the stream's callback. */
function settle(callback: TransformCallback, body: () => Promise<void>): void {
  body().then(
    () => callback(),
    (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
  );
}

/**
 * A step graph from its bytes or its file (a graph whose codebook is external
 * data, as in a model directory, loads from its file only) in onnxruntime-node.
 */
async function loadStepGraph(graph: Uint8Array | string, what: string, inputName: string, outputName: string): Promise<StreamingSession> {
  const { session, ort } = await createOrtSession(graph, what, (reason) => `not an ONNX model onnxruntime can load (${reason})`);
  return StreamingSession.open(session, ort, what, inputName, outputName);
}

/** A loaded encoder step graph (`encoder.stream.onnx`). */
export class StreamingEncoder {
  private constructor(
    private readonly session: StreamingSession,
    readonly hop: number,
  ) {}

  /** `hop`: samples per token, from the codec's config (320 for speech-16k-0.9kbps). */
  static async load(graph: Uint8Array | string, options: { hop: number; source?: string }): Promise<StreamingEncoder> {
    if (!Number.isInteger(options.hop) || options.hop < 1) throw new InputError('hop', `must be a positive integer, got ${options.hop}`);
    const session = await loadStepGraph(graph, options.source ?? (typeof graph === 'string' ? graph : 'encoder.stream.onnx'), STREAM_NAMES.encoderInput, STREAM_NAMES.encoderOutput);
    return new StreamingEncoder(session, options.hop);
  }

  /** A fresh stream: Float32Array PCM in (mono, the codec's sample rate), Uint32Array tokens out. */
  stream(options: StreamOptions = {}): EncodeStream {
    return new EncodeStream(this.session, this.hop, checkMaxFrames(options, DEFAULT_ENCODER_MAX_FRAMES_PER_STEP));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A loaded decoder step graph (`decoder.stream.onnx`). */
export class StreamingDecoder {
  private constructor(
    private readonly session: StreamingSession,
    readonly hop: number,
    readonly codebookSize: number,
  ) {}

  /** `hop` and `codebookSize` from the codec's config; ids outside [0, K) are refused before they reach the graph. */
  static async load(graph: Uint8Array | string, options: { hop: number; codebookSize: number; source?: string }): Promise<StreamingDecoder> {
    if (!Number.isInteger(options.hop) || options.hop < 1) throw new InputError('hop', `must be a positive integer, got ${options.hop}`);
    if (!Number.isInteger(options.codebookSize) || options.codebookSize < 1) throw new InputError('codebookSize', `must be a positive integer, got ${options.codebookSize}`);
    const session = await loadStepGraph(graph, options.source ?? (typeof graph === 'string' ? graph : 'decoder.stream.onnx'), STREAM_NAMES.decoderInput, STREAM_NAMES.decoderOutput);
    return new StreamingDecoder(session, options.hop, options.codebookSize);
  }

  /** A fresh stream: token chunks in (Uint32Array, Int32Array, Uint16Array or number[]), Float32Array PCM out. */
  stream(options: StreamOptions = {}): DecodeStream {
    return new DecodeStream(this.session, this.hop, this.codebookSize, checkMaxFrames(options));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** PCM in, token ids out; see the module comment. */
export class EncodeStream extends Transform {
  private readonly frames: FrameEncoder;

  constructor(session: StreamingSession, hop: number, maxFramesPerStep: number) {
    super({ writableObjectMode: true, readableObjectMode: true });
    this.frames = new FrameEncoder(session, hop, maxFramesPerStep);
  }

  get hop(): number {
    return this.frames.hop;
  }

  /** Samples written so far: what a decoder's output can be trimmed back to. */
  get samplesIn(): number {
    return this.frames.samplesIn;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    settle(callback, async () => this.emit_(await this.frames.push(chunk as Float32Array, 'EncodeStream')));
  }

  override _flush(callback: TransformCallback): void {
    settle(callback, async () => this.emit_(await this.frames.flush()));
  }

  private emit_(tokens: Uint32Array): void {
    if (tokens.length > 0) this.push(tokens);
  }
}

/** Token ids in, PCM out; see the module comment. */
export class DecodeStream extends Transform {
  private readonly frames: FrameDecoder;

  constructor(session: StreamingSession, hop: number, codebookSize: number, maxFramesPerStep: number) {
    super({ writableObjectMode: true, readableObjectMode: true });
    this.frames = new FrameDecoder(session, hop, codebookSize, maxFramesPerStep);
  }

  get hop(): number {
    return this.frames.hop;
  }

  get codebookSize(): number {
    return this.frames.codebookSize;
  }

  /** Tokens written so far. */
  get tokensIn(): number {
    return this.frames.tokensIn;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    settle(callback, async () => {
      const audio = await this.frames.push(chunk as ArrayLike<number>, 'DecodeStream');
      if (audio.length > 0) this.push(audio);
    });
  }
}
