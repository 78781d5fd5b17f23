/**
 * The Ops of ./ops.ts that write ONNX graphs: values are the names of graph
 * tensors.
 *
 * OnnxOps emits the whole-file graph ([B, C, T] throughout). StreamingOnnxOps
 * emits one step of a causal stream ([1, C, F]): every layer that looks back in
 * time keeps what it needs as a state (./streaming.ts), and, because
 * per-node overhead dominates a step of one frame, values between per-frame
 * layers stay as rows [F, C], where a pointwise layer is one Gemm (with a layer
 * scale folded in) and a layer norm one LayerNormalization; they return to
 * [1, C, F] only where a layer needs time on the last axis.
 */
import * as tf from '@tensorflow/tfjs';

import type { OnnxGraphBuilder } from '../onnx/index.js';
import type { InverseStft, StftAnalysis } from './fourier.js';
import { addWeight, emit, geluOnnx, type ChannelLayerNorm, type Conv1dLayer, type ConvTranspose1dLayer, type DepthwiseConv1dLayer, type Lstm } from './layers.js';
import type { LatentNormLayer, Ops } from './ops.js';
import type { StreamStates } from './streaming.js';

/** Pointwise math shared by both graph targets (layout-free: elementwise, or on [·, C, ·] for channel slices). */
abstract class GraphMath {
  constructor(protected readonly g: OnnxGraphBuilder) {}

  protected unary(op: string, x: string): string {
    return emit(this.g, op, [x]);
  }
  protected binary(op: string, a: string, b: string): string {
    return emit(this.g, op, [a, b]);
  }
  protected scalar(op: string, x: string, value: number, name: string): string {
    return emit(this.g, op, [x, this.g.addConstant(name, 'float32', [value], [])]);
  }
  protected slice(x: string, start: number, end: number): string {
    const g = this.g;
    return emit(g, 'Slice', [x, g.addConstant('start', 'int64', [start]), g.addConstant('end', 'int64', [end]), g.addConstant('axis', 'int64', [1])]);
  }
  protected concat(parts: readonly string[]): string {
    return emit(this.g, 'Concat', [...parts], { axis: 1 });
  }
  /** A per-channel scale as a [C, 1] initializer, broadcast over [B, C, T]. */
  protected channelScale(scale: tf.Variable, channels: number): string {
    const column = tf.tidy(() => scale.reshape([channels, 1]));
    const name = addWeight(this.g, 'gamma', column);
    column.dispose();
    return name;
  }
}

export class OnnxOps extends GraphMath implements Ops<string> {
  conv(layer: Conv1dLayer, x: string, outputScale?: tf.Variable): string {
    const y = layer.exportOnnx(this.g, x);
    return outputScale === undefined ? y : emit(this.g, 'Mul', [y, this.channelScale(outputScale, layer.outChannels)]);
  }
  convTranspose(layer: ConvTranspose1dLayer, x: string): string {
    return layer.exportOnnx(this.g, x);
  }
  depthwise(layer: DepthwiseConv1dLayer, x: string): string {
    return layer.exportOnnx(this.g, x);
  }
  layerNorm(layer: ChannelLayerNorm, x: string): string {
    return layer.exportOnnx(this.g, x);
  }
  latentNorm(layer: LatentNormLayer, x: string): string {
    return layer.exportOnnx(this.g, x);
  }
  lstm(layer: Lstm, x: string): string {
    return layer.exportOnnx(this.g, x);
  }
  stft(transform: StftAnalysis, audio: string): string {
    return transform.exportOnnx(this.g, audio);
  }
  istft(transform: InverseStft, spectrum: string): string {
    return transform.exportOnnx(this.g, spectrum);
  }
  elu(x: string): string {
    return this.unary('Elu', x);
  }
  gelu(x: string): string {
    return geluOnnx(this.g, x);
  }
  exp(x: string): string {
    return this.unary('Exp', x);
  }
  log(x: string): string {
    return this.unary('Log', x);
  }
  cos(x: string): string {
    return this.unary('Cos', x);
  }
  sin(x: string): string {
    return this.unary('Sin', x);
  }
  add(a: string, b: string): string {
    return this.binary('Add', a, b);
  }
  mul(a: string, b: string): string {
    return this.binary('Mul', a, b);
  }
  addScalar(x: string, value: number): string {
    return this.scalar('Add', x, value, 'add');
  }
  mulScalar(x: string, value: number): string {
    return this.scalar('Mul', x, value, 'mul');
  }
  minScalar(x: string, value: number): string {
    return this.scalar('Min', x, value, 'cap');
  }
  sliceChannels(x: string, start: number, end: number): string {
    return this.slice(x, start, end);
  }
  concatChannels(parts: readonly string[]): string {
    return this.concat(parts);
  }
}

/** A tensor of a step graph: [1, C, F] ('channels') or [F, C] ('rows'). */
export interface StreamValue {
  name: string;
  layout: 'channels' | 'rows';
  channels: number;
}

export class StreamingOnnxOps extends GraphMath implements Ops<StreamValue> {
  constructor(
    g: OnnxGraphBuilder,
    private readonly states: StreamStates,
  ) {
    super(g);
  }

  /** The step's input, [1, channels, T]. */
  input(name: string, channels: number): StreamValue {
    return { name, layout: 'channels', channels };
  }

  /** A value as [1, C, F], the step graph's output layout. */
  output(x: StreamValue): string {
    return this.asChannels(x);
  }

  /** Each value converted once, however many layers read it in the other layout. */
  private readonly converted = new Map<string, string>();

  private asChannels(x: StreamValue): string {
    if (x.layout === 'channels') return x.name;
    return this.convert(x.name, () => {
      const g = this.g;
      return emit(g, 'Reshape', [emit(g, 'Transpose', [x.name], { perm: [1, 0] }), g.addConstant('shape', 'int64', [1, x.channels, -1])]);
    });
  }

  private asRows(x: StreamValue): string {
    if (x.layout === 'rows') return x.name;
    return this.convert(x.name, () => {
      const g = this.g;
      return emit(g, 'Transpose', [emit(g, 'Reshape', [x.name, g.addConstant('shape', 'int64', [x.channels, -1])])], { perm: [1, 0] });
    });
  }

  private convert(name: string, emitConversion: () => string): string {
    let converted = this.converted.get(name);
    if (converted === undefined) {
      converted = emitConversion();
      this.converted.set(name, converted);
    }
    return converted;
  }

  private channelsValue(name: string, channels: number): StreamValue {
    return { name, layout: 'channels', channels };
  }

  /** An elementwise result keeps its operand's layout. */
  private like(x: StreamValue, name: string): StreamValue {
    return { ...x, name };
  }

  conv(layer: Conv1dLayer, x: StreamValue, outputScale?: tf.Variable): StreamValue {
    if (x.layout === 'rows' && layer.kernelSize === 1 && layer.stride === 1) {
      const scale = outputScale === undefined ? null : (outputScale as tf.Tensor as tf.Tensor1D);
      return { name: layer.exportOnnxRows(this.g, x.name, scale), layout: 'rows', channels: layer.outChannels };
    }
    const y = layer.exportStreamingOnnx(this.g, this.asChannels(x), this.states);
    const scaled = outputScale === undefined ? y : emit(this.g, 'Mul', [y, this.channelScale(outputScale, layer.outChannels)]);
    return this.channelsValue(scaled, layer.outChannels);
  }
  convTranspose(layer: ConvTranspose1dLayer, x: StreamValue): StreamValue {
    return this.channelsValue(layer.exportStreamingOnnx(this.g, this.asChannels(x), this.states), layer.outChannels);
  }
  depthwise(layer: DepthwiseConv1dLayer, x: StreamValue): StreamValue {
    return this.channelsValue(layer.exportStreamingOnnx(this.g, this.asChannels(x), this.states), x.channels);
  }
  layerNorm(layer: ChannelLayerNorm, x: StreamValue): StreamValue {
    return { name: layer.exportOnnxRows(this.g, this.asRows(x)), layout: 'rows', channels: x.channels };
  }
  latentNorm(layer: LatentNormLayer, x: StreamValue): StreamValue {
    // Per frame at inference (batch statistics are training-only): nothing to carry.
    return this.channelsValue(layer.exportOnnx(this.g, this.asChannels(x)), x.channels);
  }
  lstm(layer: Lstm, x: StreamValue): StreamValue {
    return this.channelsValue(layer.exportStreamingOnnx(this.g, this.asChannels(x), this.states), x.channels);
  }
  stft(transform: StftAnalysis, audio: StreamValue): StreamValue {
    return this.channelsValue(transform.exportStreamingOnnx(this.g, this.asChannels(audio), this.states), 2 * transform.bins);
  }
  istft(transform: InverseStft, spectrum: StreamValue): StreamValue {
    return this.channelsValue(transform.exportStreamingOnnx(this.g, this.asChannels(spectrum), this.states), 1);
  }
  elu(x: StreamValue): StreamValue {
    return this.like(x, this.unary('Elu', x.name));
  }
  /** com.microsoft's FastGelu: the same tanh approximation as one node. */
  gelu(x: StreamValue): StreamValue {
    const out = this.g.uniqueName('fastgelu');
    this.g.addNode('FastGelu', [x.name], [out], {}, { domain: 'com.microsoft' });
    return this.like(x, out);
  }
  exp(x: StreamValue): StreamValue {
    return this.like(x, this.unary('Exp', x.name));
  }
  log(x: StreamValue): StreamValue {
    return this.like(x, this.unary('Log', x.name));
  }
  cos(x: StreamValue): StreamValue {
    return this.like(x, this.unary('Cos', x.name));
  }
  sin(x: StreamValue): StreamValue {
    return this.like(x, this.unary('Sin', x.name));
  }
  add(a: StreamValue, b: StreamValue): StreamValue {
    return this.like(a, this.binary('Add', a.name, this.inLayoutOf(a, b)));
  }
  mul(a: StreamValue, b: StreamValue): StreamValue {
    return this.like(a, this.binary('Mul', a.name, this.inLayoutOf(a, b)));
  }
  addScalar(x: StreamValue, value: number): StreamValue {
    return this.like(x, this.scalar('Add', x.name, value, 'add'));
  }
  mulScalar(x: StreamValue, value: number): StreamValue {
    return this.like(x, this.scalar('Mul', x.name, value, 'mul'));
  }
  minScalar(x: StreamValue, value: number): StreamValue {
    return this.like(x, this.scalar('Min', x.name, value, 'cap'));
  }
  sliceChannels(x: StreamValue, start: number, end: number): StreamValue {
    return this.channelsValue(this.slice(this.asChannels(x), start, end), end - start);
  }
  concatChannels(parts: readonly StreamValue[]): StreamValue {
    return this.channelsValue(this.concat(parts.map((p) => this.asChannels(p))), parts.reduce((n, p) => n + p.channels, 0));
  }

  /** `b` in the layout of `a`, for an elementwise pair. */
  private inLayoutOf(a: StreamValue, b: StreamValue): string {
    return a.layout === 'rows' ? this.asRows(b) : this.asChannels(b);
  }
}
