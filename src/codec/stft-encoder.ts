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
import { StftAnalysis } from '../nn/fourier.js';
import { ChannelLayerNorm, Conv1dLayer } from '../nn/layers.js';
import type { Ops } from '../nn/ops.js';
import type { ParameterScope } from '../nn/parameters.js';
import type { StftEncoderConfig } from './config.js';
import { createLatentNorm } from './seanet.js';
import { ConvNeXtBlock } from './vocos.js';

/** Added to |X|² before the log, so silence maps to a finite floor (−80 dB re full scale per bin). */
const POWER_FLOOR = 1e-8;

/** Audio [B, 1, T] → latents [B, latentDim, T / hop]. */
export class StftEncoder {
  readonly hop: number;
  private readonly analysis: StftAnalysis;
  private readonly embed: Conv1dLayer;
  private readonly norm: ChannelLayerNorm;
  private readonly blocks: ConvNeXtBlock[];
  private readonly finalNorm: ChannelLayerNorm;
  private readonly output: Conv1dLayer;
  private readonly latentNorm: ReturnType<typeof createLatentNorm>;

  constructor(scope: ParameterScope, config: StftEncoderConfig, latentDim: number, causal: boolean) {
    this.hop = config.hop;
    this.analysis = new StftAnalysis(config.nFft, config.hop, causal);
    const pointwise = { kernelSize: 1, causal, weightNorm: false };
    this.embed = new Conv1dLayer(scope.child('embed'), { inChannels: this.analysis.bins, outChannels: config.dim, ...pointwise });
    this.norm = new ChannelLayerNorm(scope.child('norm'), config.dim);
    const blockOptions = { dim: config.dim, intermediateDim: config.intermediateDim, kernelSize: config.kernelSize, blocks: config.layers };
    this.blocks = Array.from({ length: config.layers }, (_, i) => new ConvNeXtBlock(scope.child('blocks').child(i), blockOptions, causal));
    this.finalNorm = new ChannelLayerNorm(scope.child('final_norm'), config.dim);
    this.output = new Conv1dLayer(scope.child('output'), { inChannels: config.dim, outChannels: latentDim, ...pointwise });
    this.latentNorm = createLatentNorm(scope.child('latent_norm'), config.latentNorm, latentDim);
  }

  forward<V>(ops: Ops<V>, audio: V): V {
    const spectrum = ops.stft(this.analysis, audio);
    const { bins } = this.analysis;
    const real = ops.sliceChannels(spectrum, 0, bins);
    const imaginary = ops.sliceChannels(spectrum, bins, 2 * bins);
    const power = ops.addScalar(ops.add(ops.mul(real, real), ops.mul(imaginary, imaginary)), POWER_FLOOR);
    const logMagnitude = ops.mulScalar(ops.log(power), 0.5);
    let h = ops.layerNorm(this.norm, ops.conv(this.embed, logMagnitude));
    for (const block of this.blocks) h = block.forward(ops, h);
    const latents = ops.conv(this.output, ops.layerNorm(this.finalNorm, h));
    return this.latentNorm === null ? latents : ops.latentNorm(this.latentNorm, latents);
  }

  dispose(): void {
    this.analysis.dispose();
  }
}
