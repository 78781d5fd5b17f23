/**
 * Vocos-style decoder (Siuzdak 2023, arXiv 2306.00814; the decoder of
 * WavTokenizer and of SimVQ's audio model): a ConvNeXt backbone that runs at
 * the frame rate, then a head that predicts a complex spectrum per frame and
 * turns it into audio with an inverse STFT. Everything heavy happens at 50-75
 * frames per second instead of at the sample rate, which is why it costs far
 * less per audio-second than a SEANet decoder.
 *
 *   conv k7 → LayerNorm → ConvNeXt blocks → LayerNorm → 1×1 conv to nFft + 2
 *   → magnitude exp(a) (capped at 100), phase p → iSTFT (Hann, hop = codec hop)
 *
 * ConvNeXt block (Liu et al. 2022, 1-D as in Vocos): depthwise conv k7 →
 * LayerNorm → 1×1 up to intermediateDim → GELU → 1×1 down → layer scale
 * (initialised to 1/layers) → + input.
 *
 * The inverse STFT is a transposed convolution with fixed inverse-Fourier
 * kernels (no FFT kernel needed, gradients on every backend), divided by the
 * overlap-added squared window. Causal mode keeps the first F·hop samples of
 * the overlap-add, so output sample t depends only on frames up to ⌊t/hop⌋:
 * the decoder adds no delay beyond the encoder's one-hop frame. Centred mode
 * trims (nFft − hop)/2 from each end, as Vocos's "same" padding does.
 */
import * as tf from '@tensorflow/tfjs';

import { convTranspose1d } from '../engine/index.js';
import { addWeight, ChannelLayerNorm, Conv1dLayer, ConvTranspose1dLayer, DepthwiseConv1dLayer, emit, gelu, geluOnnx } from '../nn/layers.js';
import type { OnnxGraphBuilder } from '../onnx/index.js';
import type { ParameterScope } from '../nn/parameters.js';
import { withOverlapAdd, type StreamStates } from '../nn/streaming.js';
import type { VocosDecoderConfig } from './config.js';

/** The overlap-added squared window is floored at this share of its steady value. */
export const ENVELOPE_FLOOR = 0.1;

/** Magnitudes are exp of the prediction, capped as in Vocos so early training cannot overflow. */
const MAX_MAGNITUDE = 100;

export interface ConvNeXtBlockOptions {
  dim: number;
  /** Hidden width of the pointwise MLP. */
  intermediateDim: number;
  /** Depthwise kernel. */
  kernelSize: number;
  /** Blocks in the stack: the layer scale starts at 1/blocks. */
  blocks: number;
}

/** A ConvNeXt block on [B, dim, F]; also the STFT encoder's (./stft-encoder.ts). */
export class ConvNeXtBlock {
  private readonly depthwise: DepthwiseConv1dLayer;
  private readonly norm: ChannelLayerNorm;
  private readonly up: Conv1dLayer;
  private readonly down: Conv1dLayer;
  private readonly layerScale: tf.Variable;
  private readonly dim: number;

  constructor(scope: ParameterScope, config: ConvNeXtBlockOptions, causal: boolean) {
    this.dim = config.dim;
    const blocks = config.blocks;
    this.depthwise = new DepthwiseConv1dLayer(scope.child('dwconv'), { channels: config.dim, kernelSize: config.kernelSize, causal });
    this.norm = new ChannelLayerNorm(scope.child('norm'), config.dim);
    const pointwise = { kernelSize: 1, causal, weightNorm: false };
    this.up = new Conv1dLayer(scope.child('pwconv1'), { inChannels: config.dim, outChannels: config.intermediateDim, ...pointwise });
    this.down = new Conv1dLayer(scope.child('pwconv2'), { inChannels: config.intermediateDim, outChannels: config.dim, ...pointwise });
    this.layerScale = scope.constant('gamma', [config.dim], 1 / blocks);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    const h = this.down.apply(gelu(this.up.apply(this.norm.apply(this.depthwise.apply(x)))) as tf.Tensor3D);
    return x.add(h.mul(this.layerScale.reshape([1, this.dim, 1]))) as tf.Tensor3D;
  }

  exportOnnx(g: OnnxGraphBuilder, x: string): string {
    const normed = this.norm.exportOnnx(g, this.depthwise.exportOnnx(g, x));
    const h = this.down.exportOnnx(g, geluOnnx(g, this.up.exportOnnx(g, normed)));
    const scale = addWeight(g, 'gamma', tf.tidy(() => this.layerScale.reshape([this.dim, 1])));
    return emit(g, 'Add', [x, emit(g, 'Mul', [h, scale])]);
  }

  /**
   * The streaming step on rows [F, dim] (one per frame) → rows [F, dim]. Only
   * the depthwise conv looks back in time (its left context is a state); the
   * rest is per frame, emitted as few nodes as it can be: per-node overhead
   * (~4 µs in onnxruntime here) was a third of a decoder step as 27 nodes a
   * block. LayerNormalization, Gemm, com.microsoft's FastGelu (the same tanh
   * approximation) and Gemm with the layer scale folded in: 12 nodes a block.
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, rows: string, states: StreamStates): string {
    const channelsFirst = emit(g, 'Reshape', [emit(g, 'Transpose', [rows], { perm: [1, 0] }), g.addConstant('shape', 'int64', [1, this.dim, -1])]);
    const mixed = this.depthwise.exportStreamingOnnx(g, channelsFirst, states);
    const mixedRows = emit(g, 'Transpose', [emit(g, 'Reshape', [mixed, g.addConstant('shape', 'int64', [this.dim, -1])])], { perm: [1, 0] });
    const hidden = g.uniqueName('fastgelu');
    g.addNode('FastGelu', [this.up.exportOnnxRows(g, this.norm.exportOnnxRows(g, mixedRows))], [hidden], {}, { domain: 'com.microsoft' });
    return emit(g, 'Add', [rows, this.down.exportOnnxRows(g, hidden, this.layerScale as tf.Tensor1D)]);
  }
}

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
    this.window = Float64Array.from({ length: nFft }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft));
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

/**
 * Latents [B, latentDim, F] → audio [B, 1, F · hop]. With `upsample` r > 1 the
 * backbone's frames pass a causal transposed convolution (kernel 2r, stride r)
 * and `upsampledLayers` more blocks, and the head predicts r spectra per token
 * for an inverse STFT at hop / r.
 */
export class VocosDecoder {
  readonly istft: InverseStft;
  private readonly embed: Conv1dLayer;
  private readonly norm: ChannelLayerNorm;
  private readonly blocks: ConvNeXtBlock[];
  private readonly upsampler: ConvTranspose1dLayer | null;
  private readonly upsampledBlocks: ConvNeXtBlock[];
  private readonly finalNorm: ChannelLayerNorm;
  private readonly head: Conv1dLayer;
  private readonly bins: number;
  private readonly dim: number;

  constructor(scope: ParameterScope, config: VocosDecoderConfig, hop: number, latentDim: number, causal: boolean) {
    this.bins = config.nFft / 2 + 1;
    this.dim = config.dim;
    this.embed = new Conv1dLayer(scope.child('embed'), { inChannels: latentDim, outChannels: config.dim, kernelSize: 7, causal, weightNorm: false });
    this.norm = new ChannelLayerNorm(scope.child('norm'), config.dim);
    const blockOptions = { ...config, blocks: config.layers + (config.upsampledLayers ?? 0) };
    this.blocks = Array.from({ length: config.layers }, (_, i) => new ConvNeXtBlock(scope.child('blocks').child(i), blockOptions, causal));
    const upsample = config.upsample ?? 1;
    this.upsampler =
      upsample > 1
        ? new ConvTranspose1dLayer(scope.child('upsample'), { inChannels: config.dim, outChannels: config.dim, kernelSize: 2 * upsample, stride: upsample, causal, weightNorm: false })
        : null;
    this.upsampledBlocks = Array.from({ length: config.upsampledLayers ?? 0 }, (_, i) => new ConvNeXtBlock(scope.child('upsampled_blocks').child(i), blockOptions, causal));
    this.finalNorm = new ChannelLayerNorm(scope.child('final_norm'), config.dim);
    this.head = new Conv1dLayer(scope.child('head'), { inChannels: config.dim, outChannels: 2 * this.bins, kernelSize: 1, causal, weightNorm: false });
    this.istft = new InverseStft(config.nFft, hop / upsample, causal);
  }

  apply(latents: tf.Tensor3D): tf.Tensor3D {
    let h = this.norm.apply(this.embed.apply(latents));
    for (const block of this.blocks) h = block.apply(h);
    if (this.upsampler !== null) h = this.upsampler.apply(h);
    for (const block of this.upsampledBlocks) h = block.apply(h);
    const prediction = this.head.apply(this.finalNorm.apply(h));
    const [batch, , frames] = prediction.shape;
    const logMagnitude = prediction.slice([0, 0, 0], [batch, this.bins, frames]);
    const phase = prediction.slice([0, this.bins, 0], [batch, this.bins, frames]);
    const magnitude = tf.minimum(tf.exp(logMagnitude), MAX_MAGNITUDE);
    const spectrum = tf.concat([magnitude.mul(tf.cos(phase)), magnitude.mul(tf.sin(phase))], 1) as tf.Tensor3D;
    return this.istft.apply(spectrum);
  }

  /** Emits the decoder: latents [B, d, F] → returned name, audio [B, 1, F·hop]. */
  exportOnnx(g: OnnxGraphBuilder, latents: string): string {
    let h = this.norm.exportOnnx(g, this.embed.exportOnnx(g, latents));
    for (const block of this.blocks) h = block.exportOnnx(g, h);
    if (this.upsampler !== null) h = this.upsampler.exportOnnx(g, h);
    for (const block of this.upsampledBlocks) h = block.exportOnnx(g, h);
    return this.istft.exportOnnx(g, this.emitSpectrum(g, this.head.exportOnnx(g, this.finalNorm.exportOnnx(g, h))));
  }

  /**
   * The streaming step (causal decoders only): latents [1, d, F] → audio
   * [1, 1, F·hop]. The embedding conv and each block's depthwise conv keep
   * their left context, the inverse STFT its overlap-add tail; nothing waits
   * for a later frame.
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, latents: string, states: StreamStates): string {
    const embedded = this.embed.exportStreamingOnnx(g, latents, states);
    // The backbone runs on rows [F, dim] (see ConvNeXtBlock.exportStreamingOnnx), back to [1, 2·bins, F] for the head's output.
    let rows = emit(g, 'Transpose', [emit(g, 'Reshape', [embedded, g.addConstant('shape', 'int64', [this.dim, -1])])], { perm: [1, 0] });
    rows = this.norm.exportOnnxRows(g, rows);
    for (const block of this.blocks) rows = block.exportStreamingOnnx(g, rows, states);
    if (this.upsampler !== null) {
      const channelsFirst = emit(g, 'Reshape', [emit(g, 'Transpose', [rows], { perm: [1, 0] }), g.addConstant('shape', 'int64', [1, this.dim, -1])]);
      const upsampled = this.upsampler.exportStreamingOnnx(g, channelsFirst, states);
      rows = emit(g, 'Transpose', [emit(g, 'Reshape', [upsampled, g.addConstant('shape', 'int64', [this.dim, -1])])], { perm: [1, 0] });
    }
    for (const block of this.upsampledBlocks) rows = block.exportStreamingOnnx(g, rows, states);
    const predictionRows = this.head.exportOnnxRows(g, this.finalNorm.exportOnnxRows(g, rows));
    const prediction = emit(g, 'Reshape', [emit(g, 'Transpose', [predictionRows], { perm: [1, 0] }), g.addConstant('shape', 'int64', [1, 2 * this.bins, -1])]);
    return this.istft.exportStreamingOnnx(g, this.emitSpectrum(g, prediction), states);
  }

  /** The head's prediction [B, 2·bins, F] → complex spectrum (real parts, then imaginary parts). */
  private emitSpectrum(g: OnnxGraphBuilder, prediction: string): string {
    const half = (start: number, end: number) =>
      emit(g, 'Slice', [prediction, g.addConstant('start', 'int64', [start]), g.addConstant('end', 'int64', [end]), g.addConstant('axis', 'int64', [1])]);
    const magnitude = emit(g, 'Min', [emit(g, 'Exp', [half(0, this.bins)]), g.addConstant('cap', 'float32', [MAX_MAGNITUDE], [])]);
    const phase = half(this.bins, 2 * this.bins);
    const real = emit(g, 'Mul', [magnitude, emit(g, 'Cos', [phase])]);
    const imaginary = emit(g, 'Mul', [magnitude, emit(g, 'Sin', [phase])]);
    return emit(g, 'Concat', [real, imaginary], { axis: 1 });
  }

  dispose(): void {
    this.istft.dispose();
  }
}
