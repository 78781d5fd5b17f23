/**
 * The trainable codec: SEANet encoder → quantizer → decoder (Vocos-style or
 * mirrored SEANet), as one object with named parameters.
 *
 *   audio [B, 1, T] → latents [B, d, T/hop] → codes [B, T/hop] → audio [B, 1, T]
 *
 * This is the tfjs model that trains; inference and the CLI run ONNX graphs
 * exported from the same weights.
 */
import * as tf from '@tensorflow/tfjs';

import { InputError } from '../errors.js';
import type { OnnxGraphBuilder } from '../onnx/index.js';
import { SimVQ, VectorQuantizer } from '../quantizers/index.js';
import { OnnxOps, StreamingOnnxOps } from '../nn/onnx-ops.js';
import { TfOps, type Ops } from '../nn/ops.js';
import { ParameterStore } from '../nn/parameters.js';
import { unitNorm } from '../nn/unit-norm.js';
import type { StreamStates } from '../nn/streaming.js';
import { hopLength, type CodecConfig, type QuantizerConfig, type SeanetEncoderConfig } from './config.js';
import { SeanetDecoder, SeanetEncoder } from './seanet.js';
import { StftEncoder } from './stft-encoder.js';
import { VocosDecoder } from './vocos.js';

/** What the codec needs from a quantizer (src/quantizers implements it). */
export interface BottleneckQuantizer {
  readonly method: string;
  readonly codebookSize: number;
  readonly dim: number;
  readonly trainableVariables: tf.Variable[];
  /** Latents [B, d, F] → quantized [B, d, F] (straight-through), codes [B, F], scalar loss. */
  forward(z: tf.Tensor, options?: { training?: boolean }): { quantized: tf.Tensor; indices: tf.Tensor; loss: tf.Scalar };
  encode(z: tf.Tensor): tf.Tensor;
  decode(indices: tf.Tensor): tf.Tensor;
  /** The effective codebook [K, d] that encode searches and decode looks up (a new tensor). */
  codebook(): tf.Tensor2D;
  dispose(): void;
}

/**
 * The bottleneck a config names. EMA VQ is left out: its codebook is state
 * outside the optimiser, which checkpoints do not carry yet.
 */
export function createQuantizer(config: QuantizerConfig, dim: number): BottleneckQuantizer {
  const common = { codebookSize: config.codebookSize, dim, seed: config.seed, beta: config.beta };
  switch (config.method) {
    case 'simvq':
      return new SimVQ({ ...common, normalized: config.normalized });
    case 'simvq-train-c':
      return new SimVQ({ ...common, normalized: config.normalized, trainableBasis: true });
    case 'vq':
      return new VectorQuantizer(common);
    case 'vq-ema':
      throw new InputError('quantizer.method', "'vq-ema' cannot train inside the codec yet: its EMA codebook is not checkpointed");
  }
}

export interface CodecForward {
  reconstruction: tf.Tensor3D;
  /** int32 [B, F]. */
  codes: tf.Tensor2D;
  quantizerLoss: tf.Scalar;
}

/** An encoder or decoder: one forward pass for every target (src/nn/ops.ts). */
interface CodecModule {
  forward<V>(ops: Ops<V>, x: V): V;
  dispose(): void;
}

export class CodecModel {
  readonly config: CodecConfig;
  readonly hop: number;
  /** Every trainable parameter of encoder, quantizer and decoder, by stable name. */
  readonly parameters: ParameterStore;
  readonly quantizer: BottleneckQuantizer;
  private readonly encoder: CodecModule;
  private readonly decoder: CodecModule;

  /**
   * `makeQuantizer` builds the bottleneck (by default what config.quantizer
   * names); its trainable variables join the parameters as "quantizer.<i>".
   */
  constructor(config: CodecConfig, seed = 0, makeQuantizer: (config: CodecConfig) => BottleneckQuantizer = (c) => createQuantizer(c.quantizer, c.latentDim)) {
    this.config = config;
    this.hop = hopLength(config);
    this.parameters = new ParameterStore(seed);
    const root = this.parameters.scope();
    const encoderScope = root.child('encoder');
    this.encoder =
      config.encoder.type === 'stft'
        ? new StftEncoder(encoderScope, config.encoder, config.latentDim, config.causal)
        : new SeanetEncoder(encoderScope, config.encoder, config.latentDim, config.causal);
    this.quantizer = makeQuantizer(config);
    if (this.quantizer.dim !== config.latentDim) {
      throw new Error(`quantizer dimension ${this.quantizer.dim} differs from latentDim ${config.latentDim}`);
    }
    this.quantizer.trainableVariables.forEach((variable, i) => this.parameters.adopt(`quantizer.${i}`, variable));
    const decoderScope = root.child('decoder');
    this.decoder =
      config.decoder.type === 'vocos'
        ? new VocosDecoder(decoderScope, config.decoder, this.hop, config.latentDim, config.causal)
        : new SeanetDecoder(decoderScope, config.decoder, (config.encoder as SeanetEncoderConfig).strides, config.latentDim, config.causal);
  }

  private checkAudio(audio: tf.Tensor3D): void {
    const [, channels, length] = audio.shape;
    if (channels !== 1 || length % this.hop !== 0 || length === 0) {
      throw new InputError('audio', `must be [B, 1, T] with T a positive multiple of the hop (${this.hop}), got [${audio.shape}]`);
    }
  }

  /** The whole path with gradients: call inside the optimiser's loss function. */
  /**
   * The whole path with gradients: call inside the optimiser's loss function.
   * `bypassQuantizer` hands the decoder the latents themselves (unit-normalised
   * per frame when the quantizer searches on the unit sphere, so the decoder
   * sees the same scale either way); the quantizer still runs, so its codes are
   * counted and its codebook learns where the latents are.
   */
  forward(audio: tf.Tensor3D, options: { training?: boolean; bypassQuantizer?: boolean } = {}): CodecForward {
    this.checkAudio(audio);
    const training = options.training ?? true;
    const latents = this.encoder.forward(new TfOps({ training }), audio);
    const { quantized, indices, loss } = this.quantizer.forward(latents, { training });
    const decoderInput = options.bypassQuantizer === true ? (this.config.quantizer.normalized ? unitNorm(latents, 1) : latents) : (quantized as tf.Tensor3D);
    return { reconstruction: this.decoder.forward(new TfOps(), decoderInput), codes: indices as tf.Tensor2D, quantizerLoss: loss };
  }

  /** Audio [B, 1, T] → codes [B, T/hop] (int32). */
  encode(audio: tf.Tensor3D): tf.Tensor2D {
    this.checkAudio(audio);
    return tf.tidy(() => this.quantizer.encode(this.encoder.forward(new TfOps(), audio)) as tf.Tensor2D);
  }

  /**
   * Latents [B, d, F] → codes [B, F], searched over blocks of `blockFrames`
   * frames so that the [frames, K] distances stay bounded; the search is per
   * frame, so the codes equal one search over all.
   */
  searchCodes(latents: tf.Tensor3D, blockFrames = 256): tf.Tensor2D {
    const frames = latents.shape[2];
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < frames; start += blockFrames) {
      const size = Math.min(blockFrames, frames - start);
      parts.push(tf.tidy(() => this.quantizer.encode(latents.slice([0, 0, start], [-1, -1, size])) as tf.Tensor2D));
    }
    if (parts.length === 1) return parts[0]!;
    const codes = tf.concat(parts, 1);
    tf.dispose(parts);
    return codes;
  }

  /** Latents [B, d, F] → audio without quantizing them, as forward() decodes for an autoencoder. */
  decodeLatents(latents: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.decoder.forward(new TfOps(), this.config.quantizer.normalized ? unitNorm(latents, 1) : latents));
  }

  /** Audio [B, 1, T] → the encoder's latents [B, d, T/hop], before the quantizer. */
  latents(audio: tf.Tensor3D): tf.Tensor3D {
    this.checkAudio(audio);
    return tf.tidy(() => this.encoder.forward(new TfOps(), audio));
  }

  /** Codes [B, F] → audio [B, 1, F·hop]. */
  decode(codes: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => this.decoder.forward(new TfOps(), this.quantizer.decode(codes) as tf.Tensor3D));
  }

  /** Emits the encoder's streaming step (causal configs): audio [1, 1, T] → latents [1, d, T/hop]; src/runtime/streaming. */
  exportStreamingEncoderOnnx(g: OnnxGraphBuilder, audio: string, states: StreamStates): string {
    const ops = new StreamingOnnxOps(g, states);
    return ops.output(this.encoder.forward(ops, ops.input(audio, 1)));
  }

  /** Emits the decoder's streaming step (causal configs): latents [1, d, F] → audio [1, 1, F·hop]. */
  exportStreamingDecoderOnnx(g: OnnxGraphBuilder, latents: string, states: StreamStates): string {
    const ops = new StreamingOnnxOps(g, states);
    return ops.output(this.decoder.forward(ops, ops.input(latents, this.config.latentDim)));
  }

  /** Emits the encoder into an ONNX graph: audio [B, 1, T] → returned name, latents [B, d, T/hop]. */
  exportEncoderOnnx(g: OnnxGraphBuilder, audio: string): string {
    return this.encoder.forward(new OnnxOps(g), audio);
  }

  /** Emits the decoder into an ONNX graph: latents [B, d, F] → returned name, audio [B, 1, F·hop]. */
  exportDecoderOnnx(g: OnnxGraphBuilder, latents: string): string {
    return this.decoder.forward(new OnnxOps(g), latents);
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    this.quantizer.dispose();
    this.parameters.dispose();
  }
}
