/**
 * Frame-by-frame encoding and decoding over a streaming step graph, with no
 * Node module: the Node Transform streams (./streams.ts) and the browser
 * (src/web/) both drive these.
 *
 *   FrameEncoder: samples, any count per push ─▶ a token per complete hop
 *   FrameDecoder: tokens, any count per push   ─▶ a hop of samples per token
 *
 * The encoder buffers samples until a hop is complete, then runs the step
 * graph on every complete hop it holds (up to `maxFramesPerStep` at a time),
 * so a token leaves as soon as its frame's last sample arrives. `flush` pads a
 * last partial hop with zeros, as the whole-file encoder pads the last frame,
 * so the last tokens match too. The causal decoder's inverse STFT adds no lag
 * (src/codec/vocos.ts): each token's hop of samples leaves with the token.
 */
import { InputError } from '../../errors.js';
import type { StepState, StreamingSession } from './session.js';

export class FrameEncoder {
  /** Samples received but not yet encoded (less than a hop between pushes). */
  private pending: Float32Array;
  private pendingLength = 0;
  private state: StepState;
  private samplesWritten = 0;

  constructor(
    private readonly session: StreamingSession,
    readonly hop: number,
    maxFramesPerStep: number,
  ) {
    this.pending = new Float32Array(hop * maxFramesPerStep);
    this.state = session.initialState();
  }

  /** Samples pushed so far: what a decoder's output can be trimmed back to. */
  get samplesIn(): number {
    return this.samplesWritten;
  }

  /** Samples in (mono, the codec's rate) → the tokens of every hop they complete. */
  async push(chunk: Float32Array, source = 'FrameEncoder'): Promise<Uint32Array> {
    if (!(chunk instanceof Float32Array)) throw new InputError(source, `expects Float32Array PCM chunks, got ${describeValue(chunk)}`);
    for (let i = 0; i < chunk.length; i++) {
      if (!Number.isFinite(chunk[i]!)) throw new InputError(source, `sample ${this.samplesWritten + i} is ${chunk[i]}; audio must be finite`);
    }
    this.samplesWritten += chunk.length;
    const out: Uint32Array[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      // Fill the buffer up to a whole number of steps, encode once it holds whole hops.
      const take = Math.min(chunk.length - offset, this.pending.length - this.pendingLength);
      this.pending.set(chunk.subarray(offset, offset + take), this.pendingLength);
      this.pendingLength += take;
      offset += take;
      if (this.pendingLength === this.pending.length || offset === chunk.length) out.push(await this.encodeWholeHops());
    }
    return concatCodes(out);
  }

  /** The end of the input: the last partial hop, zero-padded, as one more token (none when the input ended on a hop). */
  async flush(): Promise<Uint32Array> {
    const out = [await this.encodeWholeHops()];
    if (this.pendingLength > 0) {
      this.pending.fill(0, this.pendingLength, this.hop);
      this.pendingLength = this.hop;
      out.push(await this.encodeWholeHops());
    }
    return concatCodes(out);
  }

  /** Encodes every whole hop in the buffer and keeps the remainder. */
  private async encodeWholeHops(): Promise<Uint32Array> {
    const frames = Math.floor(this.pendingLength / this.hop);
    if (frames === 0) return new Uint32Array(0);
    const samples = frames * this.hop;
    // A copy: onnxruntime may read the input after this returns to the event loop.
    const input = this.session.floatTensor(this.pending.slice(0, samples), [1, 1, samples]);
    const { output, state } = await this.session.step(input, this.state);
    this.state = state;
    this.pending.copyWithin(0, samples, this.pendingLength);
    this.pendingLength -= samples;
    return Uint32Array.from(output.data as BigInt64Array, (id) => Number(id));
  }
}

export class FrameDecoder {
  private state: StepState;
  private tokensWritten = 0;

  constructor(
    private readonly session: StreamingSession,
    readonly hop: number,
    readonly codebookSize: number,
    private readonly maxFramesPerStep: number,
  ) {
    this.state = session.initialState();
  }

  /** Tokens pushed so far. */
  get tokensIn(): number {
    return this.tokensWritten;
  }

  /** Tokens in (Uint32Array, Int32Array, Uint16Array or number[]) → their samples, a hop each. */
  async push(chunk: ArrayLike<number>, source = 'FrameDecoder'): Promise<Float32Array> {
    if (!(chunk instanceof Uint32Array || chunk instanceof Int32Array || chunk instanceof Uint16Array || Array.isArray(chunk))) {
      throw new InputError(source, `expects token chunks (Uint32Array, Int32Array, Uint16Array or number[]), got ${describeValue(chunk)}`);
    }
    const ids = new BigInt64Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) {
      const id: unknown = chunk[i];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.codebookSize) {
        throw new InputError(source, `token ${this.tokensWritten + i} is ${String(id)}, outside the codebook [0, ${this.codebookSize})`);
      }
      ids[i] = BigInt(id);
    }
    this.tokensWritten += ids.length;
    const audio = new Float32Array(ids.length * this.hop);
    for (let start = 0; start < ids.length; start += this.maxFramesPerStep) {
      const step = ids.slice(start, Math.min(ids.length, start + this.maxFramesPerStep));
      const { output, state } = await this.session.step(this.session.int64Tensor(step, [1, step.length]), this.state);
      this.state = state;
      audio.set(output.data as Float32Array, start * this.hop);
    }
    return audio;
  }
}

function concatCodes(parts: readonly Uint32Array[]): Uint32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
