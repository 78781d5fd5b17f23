/**
 * SEANet encoder and mirrored decoder, as in EnCodec (Défossez et al. 2022,
 * encodec/modules/seanet.py) with SoundStream's three residual units per block
 * (dilations 1, 3, 9; Zeghidour et al. 2021):
 *
 *   encoder: conv k7 → [residual units → ELU → strided conv (k = 2s), channels ×2] per stride
 *            → LSTM (optional) → ELU → conv k7 to the latent dimension → layer norm (optional)
 *   decoder: conv k7 → LSTM (optional) → [ELU → transposed conv (k = 2s), channels ÷2
 *            → residual units] per stride, reversed → ELU → conv k7 to one channel
 *
 * Residual unit: x + conv1×1(ELU(conv_k,dilated(ELU(x)))), narrowed by `compress`.
 * Every convolution is weight-normed and, in causal mode, padded on the left only.
 */
import * as tf from '@tensorflow/tfjs';

import type { OnnxGraphBuilder } from '../onnx/index.js';
import { BatchChannelNorm, BatchWhitening, ChannelLayerNorm, Conv1dLayer, ConvTranspose1dLayer, emit, Lstm } from '../nn/layers.js';
import type { ParameterScope } from '../nn/parameters.js';
import type { StreamStates } from '../nn/streaming.js';
import type { LatentNorm, SeanetDecoderConfig, SeanetEncoderConfig } from './config.js';

/** The normalisation before the quantizer that `kind` names (see SeanetEncoderConfig.latentNorm). */
export function createLatentNorm(scope: ParameterScope, kind: LatentNorm, latentDim: number): ChannelLayerNorm | BatchChannelNorm | BatchWhitening | null {
  // No learned scale: with one, the quantizer loss shrinks the latents back to where the search collapses.
  switch (kind) {
    case 'none':
      return null;
    case 'layer':
      return new ChannelLayerNorm(scope, latentDim, { affine: false });
    case 'batch':
      return new BatchChannelNorm(scope, latentDim);
    case 'whiten':
      return new BatchWhitening(scope, latentDim);
  }
}

class ResidualUnit {
  private readonly dilated: Conv1dLayer;
  private readonly pointwise: Conv1dLayer;

  constructor(scope: ParameterScope, channels: number, kernelSize: number, dilation: number, compress: number, causal: boolean) {
    const hidden = channels / compress;
    this.dilated = new Conv1dLayer(scope.child('conv1'), { inChannels: channels, outChannels: hidden, kernelSize, dilation, causal });
    this.pointwise = new Conv1dLayer(scope.child('conv2'), { inChannels: hidden, outChannels: channels, kernelSize: 1, causal });
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return x.add(this.pointwise.apply(tf.elu(this.dilated.apply(tf.elu(x))))) as tf.Tensor3D;
  }

  exportOnnx(g: OnnxGraphBuilder, x: string): string {
    const h = this.dilated.exportOnnx(g, emit(g, 'Elu', [x]));
    return emit(g, 'Add', [x, this.pointwise.exportOnnx(g, emit(g, 'Elu', [h]))]);
  }

  exportStreamingOnnx(g: OnnxGraphBuilder, x: string, states: StreamStates): string {
    const h = this.dilated.exportStreamingOnnx(g, emit(g, 'Elu', [x]), states);
    return emit(g, 'Add', [x, this.pointwise.exportStreamingOnnx(g, emit(g, 'Elu', [h]), states)]);
  }
}

/** Audio [B, 1, T] → latents [B, latentDim, T / hop]. */
export class SeanetEncoder {
  readonly hop: number;
  private readonly input: Conv1dLayer;
  private readonly blocks: { units: ResidualUnit[]; down: Conv1dLayer }[] = [];
  private readonly lstm: Lstm | null;
  private readonly output: Conv1dLayer;
  private readonly latentNorm: ChannelLayerNorm | BatchChannelNorm | BatchWhitening | null;

  constructor(scope: ParameterScope, config: SeanetEncoderConfig, latentDim: number, causal: boolean) {
    this.hop = config.strides.reduce((a, b) => a * b, 1);
    let channels = config.channels;
    this.input = new Conv1dLayer(scope.child('input'), { inChannels: 1, outChannels: channels, kernelSize: config.kernelSize, causal });
    config.strides.forEach((stride, b) => {
      const block = scope.child('blocks').child(b);
      const units = config.dilations.map(
        (dilation, u) => new ResidualUnit(block.child('units').child(u), channels, config.residualKernelSize, dilation, config.compress, causal),
      );
      const down = new Conv1dLayer(block.child('down'), { inChannels: channels, outChannels: 2 * channels, kernelSize: 2 * stride, stride, causal });
      this.blocks.push({ units, down });
      channels *= 2;
    });
    this.lstm = config.lstmLayers > 0 ? new Lstm(scope.child('lstm'), channels, config.lstmLayers) : null;
    this.output = new Conv1dLayer(scope.child('output'), { inChannels: channels, outChannels: latentDim, kernelSize: config.kernelSize, causal });
    this.latentNorm = createLatentNorm(scope.child('latent_norm'), config.latentNorm, latentDim);
  }

  /** `training` only matters with latentNorm 'batch': batch statistics, and the running ones move. */
  apply(audio: tf.Tensor3D, options: { training?: boolean } = {}): tf.Tensor3D {
    let h = this.input.apply(audio);
    for (const { units, down } of this.blocks) {
      for (const unit of units) h = unit.apply(h);
      h = down.apply(tf.elu(h));
    }
    if (this.lstm !== null) h = this.lstm.apply(h);
    const latents = this.output.apply(tf.elu(h));
    return this.latentNorm === null ? latents : this.latentNorm.apply(latents, options);
  }

  /** Emits the encoder: audio [B, 1, T] → returned name, latents [B, d, T/hop]. */
  exportOnnx(g: OnnxGraphBuilder, audio: string): string {
    let h = this.input.exportOnnx(g, audio);
    for (const { units, down } of this.blocks) {
      for (const unit of units) h = unit.exportOnnx(g, h);
      h = down.exportOnnx(g, emit(g, 'Elu', [h]));
    }
    if (this.lstm !== null) h = this.lstm.exportOnnx(g, h);
    const latents = this.output.exportOnnx(g, emit(g, 'Elu', [h]));
    return this.latentNorm === null ? latents : this.latentNorm.exportOnnx(g, latents);
  }

  /**
   * The streaming step (causal encoders only): audio [1, 1, T], T a multiple
   * of the hop → latents [1, d, T/hop], with every convolution's and the
   * LSTM's memory of earlier steps as states.
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, audio: string, states: StreamStates): string {
    let h = this.input.exportStreamingOnnx(g, audio, states);
    for (const { units, down } of this.blocks) {
      for (const unit of units) h = unit.exportStreamingOnnx(g, h, states);
      h = down.exportStreamingOnnx(g, emit(g, 'Elu', [h]), states);
    }
    if (this.lstm !== null) h = this.lstm.exportStreamingOnnx(g, h, states);
    const latents = this.output.exportStreamingOnnx(g, emit(g, 'Elu', [h]), states);
    // Every latent norm is per frame at inference (batch statistics are training-only): nothing to carry.
    return this.latentNorm === null ? latents : this.latentNorm.exportOnnx(g, latents);
  }
}

/** Latents [B, latentDim, F] → audio [B, 1, F · hop]. */
export class SeanetDecoder {
  private readonly input: Conv1dLayer;
  private readonly lstm: Lstm | null;
  private readonly blocks: { up: ConvTranspose1dLayer; units: ResidualUnit[] }[] = [];
  private readonly output: Conv1dLayer;

  constructor(scope: ParameterScope, config: SeanetDecoderConfig, strides: readonly number[], latentDim: number, causal: boolean) {
    let channels = config.channels * 2 ** strides.length;
    this.input = new Conv1dLayer(scope.child('input'), { inChannels: latentDim, outChannels: channels, kernelSize: config.kernelSize, causal });
    this.lstm = config.lstmLayers > 0 ? new Lstm(scope.child('lstm'), channels, config.lstmLayers) : null;
    [...strides].reverse().forEach((stride, b) => {
      const block = scope.child('blocks').child(b);
      const up = new ConvTranspose1dLayer(block.child('up'), { inChannels: channels, outChannels: channels / 2, kernelSize: 2 * stride, stride, causal });
      channels /= 2;
      const units = config.dilations.map(
        (dilation, u) => new ResidualUnit(block.child('units').child(u), channels, config.residualKernelSize, dilation, config.compress, causal),
      );
      this.blocks.push({ up, units });
    });
    this.output = new Conv1dLayer(scope.child('output'), { inChannels: channels, outChannels: 1, kernelSize: config.kernelSize, causal });
  }

  apply(latents: tf.Tensor3D): tf.Tensor3D {
    let h = this.input.apply(latents);
    if (this.lstm !== null) h = this.lstm.apply(h);
    for (const { up, units } of this.blocks) {
      h = up.apply(tf.elu(h));
      for (const unit of units) h = unit.apply(h);
    }
    return this.output.apply(tf.elu(h));
  }

  /** Emits the decoder: latents [B, d, F] → returned name, audio [B, 1, F·hop]. */
  exportOnnx(g: OnnxGraphBuilder, latents: string): string {
    let h = this.input.exportOnnx(g, latents);
    if (this.lstm !== null) h = this.lstm.exportOnnx(g, h);
    for (const { up, units } of this.blocks) {
      h = up.exportOnnx(g, emit(g, 'Elu', [h]));
      for (const unit of units) h = unit.exportOnnx(g, h);
    }
    return this.output.exportOnnx(g, emit(g, 'Elu', [h]));
  }

  /** The streaming step (causal decoders only): latents [1, d, F] → audio [1, 1, F·hop]. */
  exportStreamingOnnx(g: OnnxGraphBuilder, latents: string, states: StreamStates): string {
    let h = this.input.exportStreamingOnnx(g, latents, states);
    if (this.lstm !== null) h = this.lstm.exportStreamingOnnx(g, h, states);
    for (const { up, units } of this.blocks) {
      h = up.exportStreamingOnnx(g, emit(g, 'Elu', [h]), states);
      for (const unit of units) h = unit.exportStreamingOnnx(g, h, states);
    }
    return this.output.exportStreamingOnnx(g, emit(g, 'Elu', [h]), states);
  }
}
