/**
 * Streaming encode and decode as Node Transform streams.
 *
 *   PCM Float32Array chunks, any size ─ EncodeStream ─▶ Uint32Array token chunks
 *   token chunks (Uint32Array, ...)   ─ DecodeStream ─▶ Float32Array PCM chunks
 *
 * EncodeStream buffers samples until a hop is complete and then runs the
 * encoder step graph on every complete hop it holds (up to `maxFramesPerStep`
 * at a time), so a token leaves as soon as its frame's last sample arrives. At
 * the end of the stream a partial hop is padded with zeros, as the whole-file
 * encoder pads the last partial frame (`padToHop`), so the last tokens match
 * too. DecodeStream emits each token's hop of samples as soon as the token
 * arrives: the causal decoder's inverse STFT adds no lag (src/codec/vocos.ts).
 * Run from the start, both give what the whole-file graphs give (tests:
 * test/runtime/streaming.test.ts).
 *
 * Load a graph once (`StreamingEncoder.load`) and open any number of streams
 * from it; each stream carries its own state.
 */
import { Transform, type TransformCallback } from 'node:stream';

import { InputError } from '../../errors.js';
import { STREAM_NAMES } from '../model-dir.js';
import { StreamingSession, type StepState } from './session.js';

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

/** A loaded encoder step graph (`encoder.stream.onnx`). */
export class StreamingEncoder {
  private constructor(
    private readonly session: StreamingSession,
    readonly hop: number,
  ) {}

  /** `hop`: samples per token, from the codec's config (320 for speech-16k-0.9kbps). */
  static async load(graph: Uint8Array | string, options: { hop: number; source?: string }): Promise<StreamingEncoder> {
    if (!Number.isInteger(options.hop) || options.hop < 1) throw new InputError('hop', `must be a positive integer, got ${options.hop}`);
    const session = await StreamingSession.load(graph, options.source ?? (typeof graph === 'string' ? graph : 'encoder.stream.onnx'), STREAM_NAMES.encoderInput, STREAM_NAMES.encoderOutput);
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
    const session = await StreamingSession.load(graph, options.source ?? (typeof graph === 'string' ? graph : 'decoder.stream.onnx'), STREAM_NAMES.decoderInput, STREAM_NAMES.decoderOutput);
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
  /** Samples received but not yet encoded (less than a hop between writes). */
  private pending: Float32Array;
  private pendingLength = 0;
  private state: StepState;
  private samplesWritten = 0;

  constructor(
    private readonly session: StreamingSession,
    readonly hop: number,
    maxFramesPerStep: number,
  ) {
    super({ writableObjectMode: true, readableObjectMode: true });
    this.pending = new Float32Array(hop * maxFramesPerStep);
    this.state = session.initialState();
  }

  /** Samples written so far: what a decoder's output can be trimmed back to. */
  get samplesIn(): number {
    return this.samplesWritten;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!(chunk instanceof Float32Array)) {
      callback(new InputError('EncodeStream', `expects Float32Array PCM chunks, got ${describe(chunk)}`));
      return;
    }
    for (let i = 0; i < chunk.length; i++) {
      if (!Number.isFinite(chunk[i]!)) {
        callback(new InputError('EncodeStream', `sample ${this.samplesWritten + i} is ${chunk[i]}; audio must be finite`));
        return;
      }
    }
    settle(callback, async () => {
      this.samplesWritten += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        // Fill the buffer up to a whole number of steps, encode once it holds whole hops.
        const take = Math.min(chunk.length - offset, this.pending.length - this.pendingLength);
        this.pending.set(chunk.subarray(offset, offset + take), this.pendingLength);
        this.pendingLength += take;
        offset += take;
        if (this.pendingLength === this.pending.length || offset === chunk.length) await this.encodeWholeHops();
      }
    });
  }

  override _flush(callback: TransformCallback): void {
    settle(callback, async () => {
      await this.encodeWholeHops();
      if (this.pendingLength > 0) {
        // The last partial hop, zero-padded as the whole-file encoder pads it.
        this.pending.fill(0, this.pendingLength, this.hop);
        this.pendingLength = this.hop;
        await this.encodeWholeHops();
      }
    });
  }

  /** Encodes every whole hop in the buffer and keeps the remainder. */
  private async encodeWholeHops(): Promise<void> {
    const frames = Math.floor(this.pendingLength / this.hop);
    if (frames === 0) return;
    const samples = frames * this.hop;
    // A copy: onnxruntime may read the input after this returns to the event loop.
    const input = this.session.floatTensor(this.pending.slice(0, samples), [1, 1, samples]);
    const { output, state } = await this.session.step(input, this.state);
    this.state = state;
    this.pending.copyWithin(0, samples, this.pendingLength);
    this.pendingLength -= samples;
    const ids = output.data as BigInt64Array;
    this.push(Uint32Array.from(ids, (id) => Number(id)));
  }
}

/** Token ids in, PCM out; see the module comment. */
export class DecodeStream extends Transform {
  private state: StepState;
  private tokensWritten = 0;

  constructor(
    private readonly session: StreamingSession,
    readonly hop: number,
    readonly codebookSize: number,
    private readonly maxFramesPerStep: number,
  ) {
    super({ writableObjectMode: true, readableObjectMode: true });
    this.state = session.initialState();
  }

  /** Tokens written so far. */
  get tokensIn(): number {
    return this.tokensWritten;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!(chunk instanceof Uint32Array || chunk instanceof Int32Array || chunk instanceof Uint16Array || Array.isArray(chunk))) {
      callback(new InputError('DecodeStream', `expects token chunks (Uint32Array, Int32Array, Uint16Array or number[]), got ${describe(chunk)}`));
      return;
    }
    const ids = new BigInt64Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) {
      const id: unknown = chunk[i];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.codebookSize) {
        callback(new InputError('DecodeStream', `token ${this.tokensWritten + i} is ${String(id)}, outside the codebook [0, ${this.codebookSize})`));
        return;
      }
      ids[i] = BigInt(id);
    }
    this.tokensWritten += ids.length;
    settle(callback, async () => {
      for (let start = 0; start < ids.length; start += this.maxFramesPerStep) {
        const step = ids.slice(start, Math.min(ids.length, start + this.maxFramesPerStep));
        const { output, state } = await this.session.step(this.session.int64Tensor(step, [1, step.length]), this.state);
        this.state = state;
        this.push(output.data as Float32Array);
      }
    });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
