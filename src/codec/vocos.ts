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
 * The inverse STFT (src/nn/fourier.ts) in causal mode keeps the first F·hop
 * samples of the overlap-add, so output sample t depends only on frames up to
 * ⌊t/hop⌋: the decoder adds no delay beyond the encoder's one-hop frame.
 * Centred mode trims (nFft − hop)/2 from each end, as Vocos's "same" padding does.
 *
 * Each module has one forward pass, written against src/nn/ops.ts: the same
 * code trains in tfjs and is written out as the whole-file and streaming ONNX
 * graphs.
 */
import type * as tf from '@tensorflow/tfjs';

import { InverseStft } from '../nn/fourier.js';
import { ChannelLayerNorm, Conv1dLayer, ConvTranspose1dLayer, DepthwiseConv1dLayer } from '../nn/layers.js';
import type { Ops } from '../nn/ops.js';
import type { ParameterScope } from '../nn/parameters.js';
import type { VocosDecoderConfig } from './config.js';

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

  constructor(scope: ParameterScope, config: ConvNeXtBlockOptions, causal: boolean) {
    const blocks = config.blocks;
    this.depthwise = new DepthwiseConv1dLayer(scope.child('dwconv'), { channels: config.dim, kernelSize: config.kernelSize, causal });
    this.norm = new ChannelLayerNorm(scope.child('norm'), config.dim);
    const pointwise = { kernelSize: 1, causal, weightNorm: false };
    this.up = new Conv1dLayer(scope.child('pwconv1'), { inChannels: config.dim, outChannels: config.intermediateDim, ...pointwise });
    this.down = new Conv1dLayer(scope.child('pwconv2'), { inChannels: config.intermediateDim, outChannels: config.dim, ...pointwise });
    this.layerScale = scope.constant('gamma', [config.dim], 1 / blocks);
  }

  forward<V>(ops: Ops<V>, x: V): V {
    const h = ops.gelu(ops.conv(this.up, ops.layerNorm(this.norm, ops.depthwise(this.depthwise, x))));
    return ops.add(x, ops.conv(this.down, h, this.layerScale));
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

  constructor(scope: ParameterScope, config: VocosDecoderConfig, hop: number, latentDim: number, causal: boolean) {
    this.bins = config.nFft / 2 + 1;
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

  forward<V>(ops: Ops<V>, latents: V): V {
    let h = ops.layerNorm(this.norm, ops.conv(this.embed, latents));
    for (const block of this.blocks) h = block.forward(ops, h);
    if (this.upsampler !== null) h = ops.convTranspose(this.upsampler, h);
    for (const block of this.upsampledBlocks) h = block.forward(ops, h);
    const prediction = ops.conv(this.head, ops.layerNorm(this.finalNorm, h));
    const magnitude = ops.minScalar(ops.exp(ops.sliceChannels(prediction, 0, this.bins)), MAX_MAGNITUDE);
    const phase = ops.sliceChannels(prediction, this.bins, 2 * this.bins);
    const spectrum = ops.concatChannels([ops.mul(magnitude, ops.cos(phase)), ops.mul(magnitude, ops.sin(phase))]);
    return ops.istft(this.istft, spectrum);
  }

  dispose(): void {
    this.istft.dispose();
  }
}
