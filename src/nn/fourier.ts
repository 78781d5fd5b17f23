/**
 * The fixed Fourier transforms of the codec, as primitives with one
 * implementation per target (tfjs, a whole-file ONNX graph, a streaming step
 * graph), like the learned layers of ./layers.ts; the modules in src/codec/
 * reach them through ./ops.ts.
 *
 *   StftAnalysis   audio [B, 1, T] → spectrum [B, 2·bins, T/hop]: a strided
 *                  convolution with windowed Fourier kernels (the STFT encoder's front)
 *   InverseStft    spectrum [B, 2·bins, F] → audio [B, 1, F·hop]: a transposed
 *                  convolution with inverse-Fourier kernels, divided by the
 *                  overlap-added squared window (the Vocos decoder's head)
 *
 * Both use a periodic Hann window and keep real parts, then imaginary parts,
 * along the channel axis. Kernels are convolutions, not FFTs: no FFT kernel is
 * needed, and gradients flow on every backend.
 */
import * as tf from '@tensorflow/tfjs';

import { conv1d, convTranspose1d } from '../engine/index.js';
import type { OnnxGraphBuilder } from '../onnx/index.js';
import { addWeight, emit } from './layers.js';
import { withLeftContext, withOverlapAdd, type StreamStates } from './streaming.js';

/** Periodic Hann window of length n. */
function hann(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
}

/**
 * STFT analysis at a hop, one frame per hop. Causal: frame f sees samples
 * [(f+1)·hop − nFft, (f+1)·hop), zeros before the start; centred: the window
 * straddles the frame.
 */
export class StftAnalysis {
  readonly nFft: number;
  readonly hop: number;
  readonly bins: number;
  readonly causal: boolean;
  /** [2·bins, 1, nFft]: windowed cosines (real parts), then windowed negative sines (imaginary parts). */
  private readonly kernels: tf.Tensor3D;

  constructor(nFft: number, hop: number, causal: boolean) {
    this.nFft = nFft;
    this.hop = hop;
    this.bins = nFft / 2 + 1;
    this.causal = causal;
    const window = hann(nFft);
    const values = new Float32Array(2 * this.bins * nFft);
    for (let k = 0; k < this.bins; k++) {
      for (let n = 0; n < nFft; n++) {
        const phase = (2 * Math.PI * k * n) / nFft;
        values[k * nFft + n] = window[n]! * Math.cos(phase);
        values[(this.bins + k) * nFft + n] = -window[n]! * Math.sin(phase);
      }
    }
    this.kernels = tf.keep(tf.tensor3d(values, [2 * this.bins, 1, nFft]));
  }

  /** Zero padding [left, right], so T samples give T/hop frames. */
  get padding(): [number, number] {
    const total = this.nFft - this.hop;
    return this.causal ? [total, 0] : [total - (total >> 1), total >> 1];
  }

  apply(audio: tf.Tensor3D): tf.Tensor3D {
    return conv1d(audio, this.kernels, { stride: this.hop, padding: this.padding });
  }

  exportOnnx(g: OnnxGraphBuilder, audio: string): string {
    return emit(g, 'Conv', [audio, this.addKernels(g)], { strides: [this.hop], pads: this.padding });
  }

  /** The streaming step (causal only): audio [1, 1, T], T a multiple of the hop; the window's overhang is a state. */
  exportStreamingOnnx(g: OnnxGraphBuilder, audio: string, states: StreamStates): string {
    if (!this.causal) throw new Error('StftAnalysis: only the causal analysis can run as a stream');
    return emit(g, 'Conv', [withLeftContext(g, states, audio, 1, this.nFft - this.hop), this.addKernels(g)], { strides: [this.hop] });
  }

  private addKernels(g: OnnxGraphBuilder): string {
    return g.addInitializer(g.uniqueName('stft_analysis'), { dataType: 'float32', dims: [2 * this.bins, 1, this.nFft], data: (this.kernels.dataSync() as Float32Array).slice() });
  }

  dispose(): void {
    this.kernels.dispose();
  }
}

/** The overlap-added squared window is floored at this share of its steady value. */
export const ENVELOPE_FLOOR = 0.1;

/** Fixed kernels and envelope of an inverse STFT with a periodic Hann window. */
export class InverseStft {
  readonly nFft: number;
  readonly hop: number;
  readonly causal: boolean;
  /** [2·bins, 1, nFft]: real parts' kernels, then imaginary parts'. */
  private readonly kernels: tf.Tensor3D;
  private readonly window: Float64Array;
  private readonly envelopes = new Map<number, tf.Tensor3D>();

  constructor(nFft: number, hop: number, causal: boolean) {
    this.nFft = nFft;
    this.hop = hop;
    this.causal = causal;
    const bins = nFft / 2 + 1;
    this.window = hann(nFft);
    const values = new Float32Array(2 * bins * nFft);
    for (let k = 0; k < bins; k++) {
      // Real inverse DFT: bins 0 and N/2 count once, the others twice (their mirror images).
      const weight = k === 0 || k === nFft / 2 ? 1 : 2;
      for (let n = 0; n < nFft; n++) {
        const phase = (2 * Math.PI * k * n) / nFft;
        const scale = (weight * this.window[n]!) / nFft;
        values[k * nFft + n] = scale * Math.cos(phase);
        values[(bins + k) * nFft + n] = -scale * Math.sin(phase);
      }
    }
    this.kernels = tf.keep(tf.tensor3d(values, [2 * bins, 1, nFft]));
  }

  /** Samples cut from the [start, end] of the full overlap-add so F frames give F·hop samples. */
  get trim(): [number, number] {
    const overhang = this.nFft - this.hop;
    return this.causal ? [0, overhang] : [overhang >> 1, overhang - (overhang >> 1)];
  }

  /**
   * Σ_j w²(n + j·hop): what the overlap-added squared window settles to where
   * nFft/hop frames overlap (1.5 for a Hann window at hop nFft/4).
   */
  get steadyEnvelope(): number {
    let sum = 0;
    for (let n = 0; n < this.nFft; n++) sum += this.window[n]! ** 2;
    return sum / (this.nFft / this.hop);
  }

  /** The squared window, the kernel that overlap-adds the envelope. */
  get squaredWindow(): Float32Array {
    return Float32Array.from(this.window, (w) => w * w);
  }

  /**
   * 1 / Σ_f w²(t − f·hop) over the kept samples. Near the edges few frames
   * overlap and the sum falls towards 0, so it is floored at a tenth of the
   * steady value: dividing by it would amplify whatever the model puts there.
   */
  private envelope(frames: number): tf.Tensor3D {
    let found = this.envelopes.get(frames);
    if (found === undefined) {
      const full = (frames - 1) * this.hop + this.nFft;
      const sum = new Float64Array(full);
      for (let f = 0; f < frames; f++) for (let n = 0; n < this.nFft; n++) sum[f * this.hop + n]! += this.window[n]! ** 2;
      const floor = ENVELOPE_FLOOR * this.steadyEnvelope;
      const [start] = this.trim;
      const kept = frames * this.hop;
      const inverse = new Float32Array(kept);
      for (let t = 0; t < kept; t++) inverse[t] = 1 / Math.max(sum[start + t]!, floor);
      found = tf.keep(tf.tensor3d(inverse, [1, 1, kept]));
      this.envelopes.set(frames, found);
    }
    return found;
  }

  /** Spectrum [B, 2·bins, F] (real parts, then imaginary parts) → audio [B, 1, F·hop]. */
  apply(spectrum: tf.Tensor3D): tf.Tensor3D {
    const frames = spectrum.shape[2];
    const audio = convTranspose1d(spectrum, this.kernels, { stride: this.hop, trim: this.trim });
    return audio.mul(this.envelope(frames)) as tf.Tensor3D;
  }

  /**
   * Emits the inverse STFT: spectrum [B, 2·bins, F] → returned name, audio
   * [B, 1, F·hop]. The envelope is overlap-added in the graph (a transposed
   * convolution of ones with the squared window), so any F works.
   */
  exportOnnx(g: OnnxGraphBuilder, spectrum: string): string {
    const attributes = { strides: [this.hop], pads: [...this.trim] };
    const audio = emit(g, 'ConvTranspose', [spectrum, addWeight(g, 'istft_kernels', this.kernels)], attributes);
    // Ones shaped [1, 1, F], from the spectrum's first channel of the first item.
    const firstRow = emit(g, 'Slice', [spectrum, g.addConstant('start', 'int64', [0, 0]), g.addConstant('end', 'int64', [1, 1]), g.addConstant('axes', 'int64', [0, 1])]);
    const ones = emit(g, 'Add', [emit(g, 'Mul', [firstRow, g.addConstant('zero', 'float32', [0], [])]), g.addConstant('one', 'float32', [1], [])]);
    const window = g.addInitializer(g.uniqueName('window_squared'), { dataType: 'float32', dims: [1, 1, this.nFft], data: this.squaredWindow });
    const envelope = emit(g, 'ConvTranspose', [ones, window], attributes);
    const floored = emit(g, 'Max', [envelope, g.addConstant('floor', 'float32', [ENVELOPE_FLOOR * this.steadyEnvelope], [])]);
    return emit(g, 'Div', [audio, floored]);
  }

  /**
   * The streaming step (causal only): spectrum [1, 2·bins, F] → audio
   * [1, 1, F·hop]. The causal whole-file transform keeps the first F·hop
   * samples of the overlap-add and drops the nFft − hop tail; mid-stream that
   * tail belongs to the next step's samples, so it is carried as a state, and
   * so is the envelope's. No look-ahead: a frame's hop of samples is final as
   * soon as the frame arrives (lag 0).
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, spectrum: string, states: StreamStates): string {
    if (!this.causal) throw new Error('InverseStft: only the causal transform can run as a stream');
    const overhang = this.nFft - this.hop;
    const attributes = { strides: [this.hop] };
    const full = emit(g, 'ConvTranspose', [spectrum, addWeight(g, 'istft_kernels', this.kernels)], attributes);
    const audio = withOverlapAdd(g, states, full, 1, overhang);
    // The envelope overlap-adds the squared window of every frame so far: the same carry.
    const firstRow = emit(g, 'Slice', [spectrum, g.addConstant('start', 'int64', [0, 0]), g.addConstant('end', 'int64', [1, 1]), g.addConstant('axes', 'int64', [0, 1])]);
    const ones = emit(g, 'Add', [emit(g, 'Mul', [firstRow, g.addConstant('zero', 'float32', [0], [])]), g.addConstant('one', 'float32', [1], [])]);
    const window = g.addInitializer(g.uniqueName('window_squared'), { dataType: 'float32', dims: [1, 1, this.nFft], data: this.squaredWindow });
    const envelope = withOverlapAdd(g, states, emit(g, 'ConvTranspose', [ones, window], attributes), 1, overhang);
    const floored = emit(g, 'Max', [envelope, g.addConstant('floor', 'float32', [ENVELOPE_FLOOR * this.steadyEnvelope], [])]);
    return emit(g, 'Div', [audio, floored]);
  }

  dispose(): void {
    this.kernels.dispose();
    for (const e of this.envelopes.values()) e.dispose();
    this.envelopes.clear();
  }
}
