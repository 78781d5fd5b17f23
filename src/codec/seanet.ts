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
 * One forward pass per module, written against src/nn/ops.ts.
 */
import { BatchChannelNorm, BatchWhitening, ChannelLayerNorm, Conv1dLayer, ConvTranspose1dLayer, Lstm } from '../nn/layers.js';
import type { Ops } from '../nn/ops.js';
import type { ParameterScope } from '../nn/parameters.js';
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

  forward<V>(ops: Ops<V>, x: V): V {
    return ops.add(x, ops.conv(this.pointwise, ops.elu(ops.conv(this.dilated, ops.elu(x)))));
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

  forward<V>(ops: Ops<V>, audio: V): V {
    let h = ops.conv(this.input, audio);
    for (const { units, down } of this.blocks) {
      for (const unit of units) h = unit.forward(ops, h);
      h = ops.conv(down, ops.elu(h));
    }
    if (this.lstm !== null) h = ops.lstm(this.lstm, h);
    const latents = ops.conv(this.output, ops.elu(h));
    return this.latentNorm === null ? latents : ops.latentNorm(this.latentNorm, latents);
  }

  /** Nothing but parameters, which the ParameterStore owns. */
  dispose(): void {}
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

  forward<V>(ops: Ops<V>, latents: V): V {
    let h = ops.conv(this.input, latents);
    if (this.lstm !== null) h = ops.lstm(this.lstm, h);
    for (const { up, units } of this.blocks) {
      h = ops.convTranspose(up, ops.elu(h));
      for (const unit of units) h = unit.forward(ops, h);
    }
    return ops.conv(this.output, ops.elu(h));
  }

  /** Nothing but parameters, which the ParameterStore owns. */
  dispose(): void {}
}
