/**
 * The operations a module's forward pass is written in, so that each module
 * of src/codec/ is defined once and runs on three targets:
 *
 *   TfOps                tfjs tensors: training (autodiff) and the tfjs engine
 *   OnnxOps              a whole-file ONNX graph (./onnx-ops.ts)
 *   StreamingOnnxOps     a streaming step graph whose look-back is carried in states (./onnx-ops.ts)
 *
 * Learned layers (./layers.ts) and the fixed Fourier transforms
 * (./fourier.ts) are the primitives: each has one implementation per target,
 * and an Ops dispatches to it. Everything else a module does (residual sums,
 * activations, a spectrum from magnitudes and phases) is pointwise math here.
 * Values are [B, C, T] on every target; how a target lays them out inside is
 * its own business.
 */
import * as tf from '@tensorflow/tfjs';

import type { InverseStft, StftAnalysis } from './fourier.js';
import { gelu, type ChannelLayerNorm, type Conv1dLayer, type ConvTranspose1dLayer, type DepthwiseConv1dLayer, type Lstm } from './layers.js';
import type { OnnxGraphBuilder } from '../onnx/index.js';

/** A per-frame normalisation of the latents before the quantizer (batch statistics only while training). */
export interface LatentNormLayer {
  apply(x: tf.Tensor3D, options?: { training?: boolean }): tf.Tensor3D;
  exportOnnx(g: OnnxGraphBuilder, input: string): string;
}

export interface Ops<V> {
  /** A convolution; `outputScale` [Cout] multiplies its output per channel (a ConvNeXt layer scale). */
  conv(layer: Conv1dLayer, x: V, outputScale?: tf.Variable): V;
  convTranspose(layer: ConvTranspose1dLayer, x: V): V;
  depthwise(layer: DepthwiseConv1dLayer, x: V): V;
  layerNorm(layer: ChannelLayerNorm, x: V): V;
  latentNorm(layer: LatentNormLayer, x: V): V;
  lstm(layer: Lstm, x: V): V;
  stft(transform: StftAnalysis, audio: V): V;
  istft(transform: InverseStft, spectrum: V): V;

  elu(x: V): V;
  /** GELU, tanh approximation (Hendrycks & Gimpel 2016). */
  gelu(x: V): V;
  exp(x: V): V;
  log(x: V): V;
  cos(x: V): V;
  sin(x: V): V;
  add(a: V, b: V): V;
  mul(a: V, b: V): V;
  addScalar(x: V, value: number): V;
  mulScalar(x: V, value: number): V;
  minScalar(x: V, value: number): V;
  /** Channels [start, end). */
  sliceChannels(x: V, start: number, end: number): V;
  concatChannels(parts: readonly V[]): V;
}

/** tfjs: what training differentiates and the tfjs engine runs. */
export class TfOps implements Ops<tf.Tensor3D> {
  /** `training`: batch latent norms use batch statistics and move their running ones. */
  constructor(private readonly options: { training?: boolean } = {}) {}

  conv(layer: Conv1dLayer, x: tf.Tensor3D, outputScale?: tf.Variable): tf.Tensor3D {
    const y = layer.apply(x);
    return outputScale === undefined ? y : (y.mul(outputScale.reshape([1, layer.outChannels, 1])) as tf.Tensor3D);
  }
  convTranspose(layer: ConvTranspose1dLayer, x: tf.Tensor3D): tf.Tensor3D {
    return layer.apply(x);
  }
  depthwise(layer: DepthwiseConv1dLayer, x: tf.Tensor3D): tf.Tensor3D {
    return layer.apply(x);
  }
  layerNorm(layer: ChannelLayerNorm, x: tf.Tensor3D): tf.Tensor3D {
    return layer.apply(x);
  }
  latentNorm(layer: LatentNormLayer, x: tf.Tensor3D): tf.Tensor3D {
    return layer.apply(x, this.options);
  }
  lstm(layer: Lstm, x: tf.Tensor3D): tf.Tensor3D {
    return layer.apply(x);
  }
  stft(transform: StftAnalysis, audio: tf.Tensor3D): tf.Tensor3D {
    return transform.apply(audio);
  }
  istft(transform: InverseStft, spectrum: tf.Tensor3D): tf.Tensor3D {
    return transform.apply(spectrum);
  }
  elu(x: tf.Tensor3D): tf.Tensor3D {
    return tf.elu(x);
  }
  gelu(x: tf.Tensor3D): tf.Tensor3D {
    return gelu(x) as tf.Tensor3D;
  }
  exp(x: tf.Tensor3D): tf.Tensor3D {
    return tf.exp(x);
  }
  log(x: tf.Tensor3D): tf.Tensor3D {
    return tf.log(x);
  }
  cos(x: tf.Tensor3D): tf.Tensor3D {
    return tf.cos(x);
  }
  sin(x: tf.Tensor3D): tf.Tensor3D {
    return tf.sin(x);
  }
  add(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
    return a.add(b);
  }
  mul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
    return a.mul(b);
  }
  addScalar(x: tf.Tensor3D, value: number): tf.Tensor3D {
    return x.add(value);
  }
  mulScalar(x: tf.Tensor3D, value: number): tf.Tensor3D {
    return x.mul(value);
  }
  minScalar(x: tf.Tensor3D, value: number): tf.Tensor3D {
    return tf.minimum(x, value);
  }
  sliceChannels(x: tf.Tensor3D, start: number, end: number): tf.Tensor3D {
    const [batch, , frames] = x.shape;
    return x.slice([0, start, 0], [batch, end - start, frames]);
  }
  concatChannels(parts: readonly tf.Tensor3D[]): tf.Tensor3D {
    return tf.concat([...parts], 1);
  }
}
