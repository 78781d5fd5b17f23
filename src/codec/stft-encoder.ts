/**
 * An encoder that never runs at the sample rate: log-magnitude STFT frames at
 * the token rate, then ConvNeXt blocks (the Vocos decoder's backbone, run the
 * other way). A SEANet encoder spends most of its work in thin convolutions at
 * 16 and 8 kHz, which run at a fraction of a matrix product's speed on a CPU;
 * here every layer but the analysis is a wide product over frames.
 *
 *   audio → STFT (Hann, nFft, hop; the window ends on each token's last sample)
 *   → log |X| → 1×1 conv to dim → LayerNorm → ConvNeXt blocks → LayerNorm
 *   → 1×1 conv to the latent dimension → latent norm
 *
 * The analysis is a strided convolution with fixed Fourier kernels (not
 * trained); its frames line up with the causal SEANet encoder's, frame f
 * seeing samples [(f+1)·hop − nFft, (f+1)·hop). Magnitudes only: at a few
 * hundred bits a second the phase of a frame is not worth sending.
 */
import * as tf from '@tensorflow/tfjs';

import { conv1d } from '../engine/index.js';
import { ChannelLayerNorm, Conv1dLayer, emit } from '../nn/layers.js';
import type { ParameterScope } from '../nn/parameters.js';
import { withLeftContext, type StreamStates } from '../nn/streaming.js';
import type { OnnxGraphBuilder } from '../onnx/index.js';
import type { StftEncoderConfig } from './config.js';
import { createLatentNorm } from './seanet.js';
import { ConvNeXtBlock } from './vocos.js';

/** Added to |X|² before the log, so silence maps to a finite floor (−80 dB re full scale per bin). */
const POWER_FLOOR = 1e-8;

/** Audio [B, 1, T] → latents [B, latentDim, T / hop]. */
export class StftEncoder {
  readonly hop: number;
  private readonly nFft: number;
  private readonly bins: number;
  private readonly dim: number;
  private readonly latentDim: number;
  private readonly causal: boolean;
  /** [2·bins, 1, nFft]: windowed cosines (real parts), then windowed negative sines (imaginary parts). */
  private readonly analysis: tf.Tensor3D;
  private readonly embed: Conv1dLayer;
  private readonly norm: ChannelLayerNorm;
  private readonly blocks: ConvNeXtBlock[];
  private readonly finalNorm: ChannelLayerNorm;
  private readonly output: Conv1dLayer;
  private readonly latentNorm: ReturnType<typeof createLatentNorm>;

  constructor(scope: ParameterScope, config: StftEncoderConfig, latentDim: number, causal: boolean) {
    this.hop = config.hop;
    this.nFft = config.nFft;
    this.bins = config.nFft / 2 + 1;
    this.dim = config.dim;
    this.latentDim = latentDim;
    this.causal = causal;
    const values = new Float32Array(2 * this.bins * this.nFft);
    for (let k = 0; k < this.bins; k++) {
      for (let n = 0; n < this.nFft; n++) {
        const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / this.nFft);
        const phase = (2 * Math.PI * k * n) / this.nFft;
        values[k * this.nFft + n] = window * Math.cos(phase);
        values[(this.bins + k) * this.nFft + n] = -window * Math.sin(phase);
      }
    }
    this.analysis = tf.keep(tf.tensor3d(values, [2 * this.bins, 1, this.nFft]));
    const pointwise = { kernelSize: 1, causal, weightNorm: false };
    this.embed = new Conv1dLayer(scope.child('embed'), { inChannels: this.bins, outChannels: config.dim, ...pointwise });
    this.norm = new ChannelLayerNorm(scope.child('norm'), config.dim);
    const blockOptions = { dim: config.dim, intermediateDim: config.intermediateDim, kernelSize: config.kernelSize, blocks: config.layers };
    this.blocks = Array.from({ length: config.layers }, (_, i) => new ConvNeXtBlock(scope.child('blocks').child(i), blockOptions, causal));
    this.finalNorm = new ChannelLayerNorm(scope.child('final_norm'), config.dim);
    this.output = new Conv1dLayer(scope.child('output'), { inChannels: config.dim, outChannels: latentDim, ...pointwise });
    this.latentNorm = createLatentNorm(scope.child('latent_norm'), config.latentNorm, latentDim);
  }

  /** Zero padding [left, right] of the analysis, so T samples give T/hop frames. */
  private get padding(): [number, number] {
    const total = this.nFft - this.hop;
    return this.causal ? [total, 0] : [total - (total >> 1), total >> 1];
  }

  /** `training` only matters for a batch latent norm: batch statistics, and the running ones move. */
  apply(audio: tf.Tensor3D, options: { training?: boolean } = {}): tf.Tensor3D {
    const spectrum = conv1d(audio, this.analysis, { stride: this.hop, padding: this.padding });
    const [batch, , frames] = spectrum.shape;
    const real = spectrum.slice([0, 0, 0], [batch, this.bins, frames]);
    const imaginary = spectrum.slice([0, this.bins, 0], [batch, this.bins, frames]);
    const logMagnitude = tf.log(real.square().add(imaginary.square()).add(POWER_FLOOR)).mul(0.5) as tf.Tensor3D;
    let h = this.norm.apply(this.embed.apply(logMagnitude));
    for (const block of this.blocks) h = block.apply(h);
    const latents = this.output.apply(this.finalNorm.apply(h));
    return this.latentNorm === null ? latents : this.latentNorm.apply(latents, options);
  }

  /** log |X| of [B, 2·bins, F] real and imaginary parts, as ONNX nodes. */
  private emitLogMagnitude(g: OnnxGraphBuilder, spectrum: string): string {
    const half = (start: number, end: number) =>
      emit(g, 'Slice', [spectrum, g.addConstant('start', 'int64', [start]), g.addConstant('end', 'int64', [end]), g.addConstant('axis', 'int64', [1])]);
    const real = half(0, this.bins);
    const imaginary = half(this.bins, 2 * this.bins);
    const power = emit(g, 'Add', [emit(g, 'Add', [emit(g, 'Mul', [real, real]), emit(g, 'Mul', [imaginary, imaginary])]), g.addConstant('floor', 'float32', [POWER_FLOOR], [])]);
    return emit(g, 'Mul', [emit(g, 'Log', [power]), g.addConstant('half', 'float32', [0.5], [])]);
  }

  private addAnalysis(g: OnnxGraphBuilder): string {
    return g.addInitializer(g.uniqueName('stft_analysis'), { dataType: 'float32', dims: [2 * this.bins, 1, this.nFft], data: (this.analysis.dataSync() as Float32Array).slice() });
  }

  /** Emits the encoder: audio [B, 1, T] → returned name, latents [B, d, T/hop]. */
  exportOnnx(g: OnnxGraphBuilder, audio: string): string {
    const spectrum = emit(g, 'Conv', [audio, this.addAnalysis(g)], { strides: [this.hop], pads: this.padding });
    let h = this.norm.exportOnnx(g, this.embed.exportOnnx(g, this.emitLogMagnitude(g, spectrum)));
    for (const block of this.blocks) h = block.exportOnnx(g, h);
    const latents = this.output.exportOnnx(g, this.finalNorm.exportOnnx(g, h));
    return this.latentNorm === null ? latents : this.latentNorm.exportOnnx(g, latents);
  }

  /**
   * The streaming step (causal only): audio [1, 1, T], T a multiple of the
   * hop → latents [1, d, T/hop]. The analysis window's overhang and each
   * block's depthwise context are states; the rest runs on rows [F, dim],
   * as the Vocos decoder's streaming backbone does.
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, audio: string, states: StreamStates): string {
    if (!this.causal) throw new Error('StftEncoder: only a causal encoder can run as a stream');
    const spectrum = emit(g, 'Conv', [withLeftContext(g, states, audio, 1, this.nFft - this.hop), this.addAnalysis(g)], { strides: [this.hop] });
    const embedded = this.embed.exportOnnx(g, this.emitLogMagnitude(g, spectrum));
    let rows = emit(g, 'Transpose', [emit(g, 'Reshape', [embedded, g.addConstant('shape', 'int64', [this.dim, -1])])], { perm: [1, 0] });
    rows = this.norm.exportOnnxRows(g, rows);
    for (const block of this.blocks) rows = block.exportStreamingOnnx(g, rows, states);
    const latentRows = this.output.exportOnnxRows(g, this.finalNorm.exportOnnxRows(g, rows));
    const latents = emit(g, 'Reshape', [emit(g, 'Transpose', [latentRows], { perm: [1, 0] }), g.addConstant('shape', 'int64', [1, this.latentDim, -1])]);
    // Every latent norm is per frame at inference: nothing to carry.
    return this.latentNorm === null ? latents : this.latentNorm.exportOnnx(g, latents);
  }

  dispose(): void {
    this.analysis.dispose();
  }
}
