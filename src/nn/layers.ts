/**
 * The layers codecs are built from, channels-first ([B, C, T]) like the engine.
 *
 * Convolutions follow EnCodec's streamable convolutions (encodec/modules/conv.py):
 * a convolution of kernel k, stride s and dilation d is padded by (k−1)·d − (s−1)
 * in total, all on the left when causal and split in half otherwise, so an input
 * of n·s samples gives exactly n frames; a transposed convolution trims k − s
 * samples, all from the right when causal, so n frames give exactly n·s samples.
 * A causal stack therefore never looks ahead, and lengths stay multiples of the hop.
 *
 * Weight normalisation (Salimans & Kingma 2016) as PyTorch's weight_norm with
 * dim 0: w = g · v / ‖v‖, the norm over every axis but the first, with g = ‖v‖
 * at first. Initial weights are LeCun uniform, U(±√(3/fan_in)), and biases
 * zero, not PyTorch's U(±1/√fan_in) for both: that default shrinks a signal by
 * ~√3 per layer, so an untrained encoder's latents were a constant offset plus
 * a trace of the speech (~3 % of their norm), and every frame met the same
 * code; with zero biases alone, the biases Adam grows in the first steps do
 * the same within ~100 steps.
 */
import * as tf from '@tensorflow/tfjs';

import { conv1d, convTranspose1d } from '../engine/index.js';
import type { OnnxGraphBuilder } from '../onnx/index.js';
import type { ParameterScope } from './parameters.js';
import { withLeftContext, withOverlapAdd, type StreamStates } from './streaming.js';

/** The weight a weight-normed layer uses: g · v / ‖v‖ over all axes but the first. */
function normalisedWeight(direction: tf.Variable, magnitude: tf.Variable): tf.Tensor3D {
  const norm = tf.sqrt(tf.sum(tf.square(direction), [1, 2], true).add(1e-12));
  return direction.mul(magnitude.div(norm)) as tf.Tensor3D;
}

interface WeightParameters {
  /** The weight itself, or its direction when weight-normed. */
  weight: tf.Variable;
  magnitude: tf.Variable | null;
}

function createWeight(scope: ParameterScope, shape: [number, number, number], fanIn: number, weightNorm: boolean): WeightParameters {
  // LeCun uniform, U(±√(3/fan_in)): variance 1/fan_in, so a layer keeps its input's scale.
  const bound = Math.sqrt(3 / fanIn);
  if (!weightNorm) return { weight: scope.uniform('weight', shape, bound), magnitude: null };
  const direction = scope.uniform('weight_v', shape, bound);
  const magnitude = scope.tensor('weight_g', tf.tidy(() => tf.sqrt(tf.sum(tf.square(direction), [1, 2], true))));
  return { weight: direction, magnitude };
}

function effectiveWeight(p: WeightParameters): tf.Tensor3D {
  return p.magnitude === null ? (p.weight as tf.Tensor3D) : normalisedWeight(p.weight, p.magnitude);
}

/**
 * The weight as used, as an initializer. Only a computed (weight-normed)
 * weight is disposed afterwards: a plain weight is the variable itself.
 */
function addEffectiveWeight(g: OnnxGraphBuilder, prefix: string, p: WeightParameters): string {
  if (p.magnitude === null) return addWeight(g, prefix, p.weight);
  const w = tf.tidy(() => normalisedWeight(p.weight, p.magnitude!));
  try {
    return addWeight(g, prefix, w);
  } finally {
    w.dispose();
  }
}

/** A tensor's current values as a float32 initializer (weight norm already applied). */
export function addWeight(g: OnnxGraphBuilder, prefix: string, tensor: tf.Tensor): string {
  // Not inside tf.tidy: tidy walks a returned typed array element by element (seconds for the iSTFT kernels).
  const data = (tensor.dataSync() as Float32Array).slice();
  return g.addInitializer(g.uniqueName(prefix), { dataType: 'float32', dims: [...tensor.shape], data });
}

/** Streaming needs a causal layer: a centred one would need inputs from the future. */
function requireCausal(causal: boolean, layer: string): void {
  if (!causal) throw new Error(`${layer}: only a causal layer can run as a stream`);
}

/** Appends one node with a fresh output name and returns that name. */
export function emit(g: OnnxGraphBuilder, op: string, inputs: string[], attributes: Parameters<OnnxGraphBuilder['addNode']>[3] = {}): string {
  const output = g.uniqueName(op.toLowerCase());
  g.addNode(op, inputs, [output], attributes);
  return output;
}

export interface Conv1dLayerOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  dilation?: number;
  /** No look-ahead: all padding on the left. */
  causal: boolean;
  bias?: boolean;
  weightNorm?: boolean;
}

/** A 1-D convolution that maps n·stride samples to n frames. */
export class Conv1dLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly dilation: number;
  readonly causal: boolean;
  /** Zero padding [left, right] around the input. */
  readonly padding: readonly [number, number];
  private readonly weight: WeightParameters;
  private readonly bias: tf.Variable | null;

  constructor(scope: ParameterScope, options: Conv1dLayerOptions) {
    this.inChannels = options.inChannels;
    this.outChannels = options.outChannels;
    this.kernelSize = options.kernelSize;
    this.stride = options.stride ?? 1;
    this.dilation = options.dilation ?? 1;
    this.causal = options.causal;
    const total = (this.kernelSize - 1) * this.dilation - (this.stride - 1);
    if (total < 0) throw new Error(`${scope.prefix}: kernel ${this.kernelSize} is shorter than stride ${this.stride}`);
    this.padding = this.causal ? [total, 0] : [total - (total >> 1), total >> 1];
    const fanIn = this.inChannels * this.kernelSize;
    this.weight = createWeight(scope, [this.outChannels, this.inChannels, this.kernelSize], fanIn, options.weightNorm ?? true);
    this.bias = (options.bias ?? true) ? scope.constant('bias', [this.outChannels], 0) : null;
  }

  /** The weight as used, [Cout, Cin, K] (after weight normalisation). */
  effectiveWeight(): tf.Tensor3D {
    return effectiveWeight(this.weight);
  }

  /** Emits this layer into an ONNX graph: input [B, Cin, T] → returned name [B, Cout, T/stride]. */
  exportOnnx(g: OnnxGraphBuilder, input: string): string {
    const inputs = [input, addEffectiveWeight(g, 'conv_w', this.weight)];
    if (this.bias !== null) inputs.push(addWeight(g, 'conv_b', this.bias));
    return emit(g, 'Conv', inputs, { strides: [this.stride], dilations: [this.dilation], pads: [...this.padding] });
  }

  /**
   * The streaming step: input [1, Cin, T] with T a multiple of the stride →
   * [1, Cout, T/stride]. The left padding becomes a state holding the last
   * inputs the next step's first outputs need (zeros at first, as the padding).
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, input: string, states: StreamStates): string {
    requireCausal(this.causal, 'Conv1dLayer');
    const inputs = [withLeftContext(g, states, input, this.inChannels, this.padding[0]), addEffectiveWeight(g, 'conv_w', this.weight)];
    if (this.bias !== null) inputs.push(addWeight(g, 'conv_b', this.bias));
    return emit(g, 'Conv', inputs, { strides: [this.stride], dilations: [this.dilation] });
  }

  /**
   * A pointwise (kernel 1) layer on rows [N, Cin] → [N, Cout], as one Gemm:
   * the streaming decoder keeps its frame-rate backbone as rows. `outputScale`
   * [Cout] is folded into the weight and bias (a ConvNeXt layer scale).
   */
  exportOnnxRows(g: OnnxGraphBuilder, rows: string, outputScale: tf.Tensor1D | null = null): string {
    if (this.kernelSize !== 1 || this.stride !== 1) throw new Error('Conv1dLayer.exportOnnxRows: only a pointwise layer maps rows to rows');
    const [w, b] = tf.tidy(() => {
      const scale = outputScale === null ? tf.ones([this.outChannels]) : outputScale;
      const weight = this.effectiveWeight().reshape([this.outChannels, this.inChannels]).mul(scale.reshape([this.outChannels, 1]));
      const bias = this.bias === null ? tf.zeros([this.outChannels]) : this.bias.mul(scale);
      return [weight, bias];
    });
    const inputs = [rows, addWeight(g, 'gemm_w', w), addWeight(g, 'gemm_b', b)];
    tf.dispose([w, b]);
    return emit(g, 'Gemm', inputs, { transB: 1 });
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return conv1d(x, this.effectiveWeight(), {
      stride: this.stride,
      dilation: this.dilation,
      padding: this.padding,
      ...(this.bias === null ? {} : { bias: this.bias as tf.Tensor1D }),
    });
  }
}

export interface ConvTranspose1dLayerOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  /** Trim all of the overhang from the right, so no output depends on a later frame. */
  causal: boolean;
  bias?: boolean;
  weightNorm?: boolean;
}

/** A transposed 1-D convolution that maps n frames to n·stride samples. */
export class ConvTranspose1dLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly causal: boolean;
  /** Samples cut from the [start, end] of the full transposed output. */
  readonly trim: readonly [number, number];
  private readonly weight: WeightParameters;
  private readonly bias: tf.Variable | null;

  constructor(scope: ParameterScope, options: ConvTranspose1dLayerOptions) {
    this.inChannels = options.inChannels;
    this.outChannels = options.outChannels;
    this.kernelSize = options.kernelSize;
    this.stride = options.stride;
    this.causal = options.causal;
    const overhang = this.kernelSize - this.stride;
    if (overhang < 0) throw new Error(`${scope.prefix}: kernel ${this.kernelSize} is shorter than stride ${this.stride}`);
    this.trim = this.causal ? [0, overhang] : [overhang - (overhang >> 1), overhang >> 1];
    // PyTorch's ConvTranspose1d: weight [Cin, Cout, K], fan-in computed from weight.size(1)·K.
    const fanIn = this.outChannels * this.kernelSize;
    this.weight = createWeight(scope, [this.inChannels, this.outChannels, this.kernelSize], fanIn, options.weightNorm ?? true);
    this.bias = (options.bias ?? true) ? scope.constant('bias', [this.outChannels], 0) : null;
  }

  /** The weight as used, [Cin, Cout, K]. */
  effectiveWeight(): tf.Tensor3D {
    return effectiveWeight(this.weight);
  }

  /** Emits this layer into an ONNX graph: input [B, Cin, F] → returned name [B, Cout, F·stride]. */
  exportOnnx(g: OnnxGraphBuilder, input: string): string {
    const inputs = [input, addEffectiveWeight(g, 'convt_w', this.weight)];
    if (this.bias !== null) inputs.push(addWeight(g, 'convt_b', this.bias));
    return emit(g, 'ConvTranspose', inputs, { strides: [this.stride], pads: [...this.trim] });
  }

  /**
   * The streaming step: [1, Cin, F] → [1, Cout, F·stride]. The overhang that
   * the whole-file layer trims from the right end is, mid-stream, the start of
   * the next step's output: it is carried as a state and added there. The bias
   * is added after the overlap-add so it counts once per sample.
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, input: string, states: StreamStates): string {
    requireCausal(this.causal, 'ConvTranspose1dLayer');
    const full = emit(g, 'ConvTranspose', [input, addEffectiveWeight(g, 'convt_w', this.weight)], { strides: [this.stride] });
    const out = withOverlapAdd(g, states, full, this.outChannels, this.kernelSize - this.stride);
    if (this.bias === null) return out;
    const column = tf.tidy(() => this.bias!.reshape([this.outChannels, 1]));
    const bias = addWeight(g, 'convt_b', column);
    column.dispose();
    return emit(g, 'Add', [out, bias]);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return convTranspose1d(x, this.effectiveWeight(), {
      stride: this.stride,
      trim: this.trim,
      ...(this.bias === null ? {} : { bias: this.bias as tf.Tensor1D }),
    });
  }
}

/**
 * Layer normalisation over the channel axis of [B, C, T] (what ConvNeXt and
 * Vocos apply per frame), with a learned scale and shift per channel.
 */
export class ChannelLayerNorm {
  readonly channels: number;
  readonly epsilon: number;
  /** Learned per-channel scale and shift; null when the layer only normalises. */
  private readonly affine: { scale: tf.Variable; shift: tf.Variable } | null;

  constructor(scope: ParameterScope, channels: number, options: { epsilon?: number; affine?: boolean } = {}) {
    this.channels = channels;
    this.epsilon = options.epsilon ?? 1e-6;
    this.affine = (options.affine ?? true) ? { scale: scope.constant('weight', [channels], 1), shift: scope.constant('bias', [channels], 0) } : null;
  }

  exportOnnx(g: OnnxGraphBuilder, input: string): string {
    const axes = { axes: [1], keepdims: 1 };
    const mean = emit(g, 'ReduceMean', [input], axes);
    const centred = emit(g, 'Sub', [input, mean]);
    const variance = emit(g, 'ReduceMean', [emit(g, 'Mul', [centred, centred])], axes);
    const std = emit(g, 'Sqrt', [emit(g, 'Add', [variance, g.addConstant('eps', 'float32', [this.epsilon], [])])]);
    const normalised = emit(g, 'Div', [centred, std]);
    if (this.affine === null) return normalised;
    const column = (prefix: string, v: tf.Variable) => addWeight(g, prefix, tf.tidy(() => v.reshape([this.channels, 1])));
    return emit(g, 'Add', [emit(g, 'Mul', [normalised, column('ln_scale', this.affine.scale)]), column('ln_shift', this.affine.shift)]);
  }

  /** The same norm on rows [N, C] (over the last axis), as one LayerNormalization node (opset 17). */
  exportOnnxRows(g: OnnxGraphBuilder, rows: string): string {
    const scale = this.affine === null ? g.addConstant('ln_scale', 'float32', new Array<number>(this.channels).fill(1)) : addWeight(g, 'ln_scale', this.affine.scale);
    const shift = this.affine === null ? g.addConstant('ln_shift', 'float32', new Array<number>(this.channels).fill(0)) : addWeight(g, 'ln_shift', this.affine.shift);
    return emit(g, 'LayerNormalization', [rows, scale, shift], { axis: -1, epsilon: { float: this.epsilon } });
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    const mean = tf.mean(x, 1, true);
    const centred = x.sub(mean);
    const variance = tf.mean(tf.square(centred), 1, true);
    const normalised = centred.mul(tf.rsqrt(variance.add(this.epsilon))) as tf.Tensor3D;
    if (this.affine === null) return normalised;
    const column = (v: tf.Variable) => v.reshape([1, this.channels, 1]);
    return normalised.mul(column(this.affine.scale)).add(column(this.affine.shift)) as tf.Tensor3D;
  }
}

/**
 * Standardises each channel of [B, C, F] over batch and time, with no learned
 * scale or shift: BatchNorm's normalisation (Ioffe & Szegedy 2015). Training
 * uses the batch's own mean and variance (gradients flow through them) and
 * moves running averages towards them; inference uses the running averages, so
 * a frame's output depends on that frame alone (streaming stays exact).
 *
 * Why it sits before the quantizer: early training moves every latent frame in
 * one shared direction (coherent Adam steps over large fan-ins), and a search
 * on the unit sphere then sends all frames to the few codes nearest that
 * direction. Per-frame normalisation keeps that offset; this removes it.
 */
export class BatchChannelNorm {
  readonly channels: number;
  readonly epsilon: number;
  /** Weight of the newest batch in the running averages. */
  readonly momentum: number;
  private readonly runningMean: tf.Variable;
  private readonly runningVariance: tf.Variable;

  constructor(scope: ParameterScope, channels: number, options: { epsilon?: number; momentum?: number } = {}) {
    this.channels = channels;
    this.epsilon = options.epsilon ?? 1e-5;
    this.momentum = options.momentum ?? 0.05;
    // Not trainable: the optimiser leaves them alone, checkpoints carry them.
    this.runningMean = scope.constant('running_mean', [channels], 0, false);
    this.runningVariance = scope.constant('running_var', [channels], 1, false);
  }

  apply(x: tf.Tensor3D, options: { training?: boolean } = {}): tf.Tensor3D {
    if (options.training !== true) {
      return tf.tidy(() => x.sub(this.runningMean.reshape([1, this.channels, 1])).mul(tf.rsqrt(this.runningVariance.add(this.epsilon)).reshape([1, this.channels, 1])));
    }
    const mean = tf.mean(x, [0, 2], true);
    const centred = x.sub(mean);
    const variance = tf.mean(tf.square(centred), [0, 2], true);
    const frames = x.shape[0] * x.shape[2];
    tf.tidy(() => {
      // The unbiased batch variance feeds the running one, as in PyTorch.
      const unbiased = variance.reshape([this.channels]).mul(frames / Math.max(1, frames - 1));
      const m = this.momentum;
      this.runningMean.assign(this.runningMean.mul(1 - m).add(mean.reshape([this.channels]).mul(m)));
      this.runningVariance.assign(this.runningVariance.mul(1 - m).add(unbiased.mul(m)));
    });
    return centred.mul(tf.rsqrt(variance.add(this.epsilon))) as tf.Tensor3D;
  }

  exportOnnx(g: OnnxGraphBuilder, input: string): string {
    const column = (prefix: string, values: tf.Tensor) => addWeight(g, prefix, tf.tidy(() => values.reshape([this.channels, 1])));
    const scale = tf.tidy(() => tf.rsqrt(this.runningVariance.add(this.epsilon)));
    try {
      return emit(g, 'Mul', [emit(g, 'Sub', [input, column('bn_mean', this.runningMean)]), column('bn_scale', scale)]);
    } finally {
      scale.dispose();
    }
  }
}

/**
 * Whitens the channels of [B, C, F] over batch and time: zero mean and,
 * approximately, identity covariance, with no learned scale. The whitening
 * matrix Σ^(−1/2) comes from T Newton–Schulz iterations on the trace-normalised
 * covariance (IterNorm: Huang et al., CVPR 2019), matmuls only, so it has
 * gradients on every backend; T = 5 whitens the strong directions fully and
 * the weakest only partly (more iterations of this form diverge on badly
 * conditioned covariances, in float64 too). Training uses the batch's
 * statistics and moves running averages of the mean and of the whitening
 * matrix; inference (and the ONNX export) applies those, frame by frame.
 *
 * Why before the quantizer: per-channel standardisation (BatchChannelNorm)
 * still lets every channel carry the same few factors, so the unit-normalised
 * latents fill a low-dimensional part of the sphere and meet only the codes
 * there (perplexity ~20 of 262,144 in a speech run). Whitened, they spread
 * over all d directions, as the frozen Gaussian basis C does.
 */
export class BatchWhitening {
  readonly channels: number;
  readonly iterations: number;
  readonly epsilon: number;
  readonly momentum: number;
  private readonly runningMean: tf.Variable;
  private readonly runningWhitening: tf.Variable;

  constructor(scope: ParameterScope, channels: number, options: { iterations?: number; epsilon?: number; momentum?: number } = {}) {
    this.channels = channels;
    this.iterations = options.iterations ?? 5;
    this.epsilon = options.epsilon ?? 1e-5;
    this.momentum = options.momentum ?? 0.05;
    this.runningMean = scope.constant('running_mean', [channels], 0, false);
    this.runningWhitening = scope.tensor('running_whitening', tf.eye(channels), false);
  }

  /** x [B, C, F] → rows [B·F, C]. */
  private rows(x: tf.Tensor3D): tf.Tensor2D {
    return tf.reshape(tf.transpose(x, [0, 2, 1]), [-1, this.channels]);
  }

  /** rows [B·F, C] → [B, C, F]. */
  private unrows(rows: tf.Tensor2D, like: tf.Tensor3D): tf.Tensor3D {
    const [b, , f] = like.shape;
    return tf.transpose(tf.reshape(rows, [b, f, this.channels]), [0, 2, 1]);
  }

  apply(x: tf.Tensor3D, options: { training?: boolean } = {}): tf.Tensor3D {
    const c = this.channels;
    if (options.training !== true) {
      return tf.tidy(() => this.unrows(tf.matMul(tf.sub(this.rows(x), this.runningMean), this.runningWhitening), x));
    }
    const rows = this.rows(x);
    const mean = tf.mean(rows, 0);
    const centred = tf.sub(rows, mean);
    const n = rows.shape[0];
    const identity = tf.eye(c);
    const covariance = tf.add(tf.div(tf.matMul(centred, centred, true, false), n), tf.mul(identity, this.epsilon));
    const trace = tf.sum(tf.mul(covariance, identity));
    const normalised = tf.div(covariance, trace);
    let p: tf.Tensor2D = identity;
    for (let k = 0; k < this.iterations; k++) {
      const cubed = tf.matMul(tf.matMul(p, p), p);
      p = tf.sub(tf.mul(p, 1.5), tf.mul(tf.matMul(cubed, normalised), 0.5));
    }
    const whitening = tf.div(p, tf.sqrt(trace)) as tf.Tensor2D;
    tf.tidy(() => {
      const m = this.momentum;
      this.runningMean.assign(this.runningMean.mul(1 - m).add(mean.mul(m)));
      this.runningWhitening.assign(this.runningWhitening.mul(1 - m).add(whitening.mul(m)));
    });
    // Σ^(−1/2) is symmetric, so rows times it whitens them.
    return this.unrows(tf.matMul(centred, whitening), x);
  }

  exportOnnx(g: OnnxGraphBuilder, input: string): string {
    const centred = emit(g, 'Sub', [input, addWeight(g, 'wh_mean', tf.tidy(() => this.runningMean.reshape([this.channels, 1])))]);
    // MatMul broadcasts [C, C] over the batch: Wᵀ · x[b] whitens each frame (column).
    return emit(g, 'MatMul', [addWeight(g, 'wh_matrix', tf.tidy(() => tf.transpose(this.runningWhitening))), centred]);
  }
}

/**
 * A depthwise 1-D convolution (one filter per channel, groups = channels), as
 * a sum of shifted, per-channel-scaled copies of the input: at frame rate the
 * tensors are small, and these ops have gradients on every backend.
 */
export class DepthwiseConv1dLayer {
  readonly channels: number;
  readonly kernelSize: number;
  readonly causal: boolean;
  readonly padding: readonly [number, number];
  private readonly weight: tf.Variable;
  private readonly bias: tf.Variable;

  constructor(scope: ParameterScope, options: { channels: number; kernelSize: number; causal: boolean }) {
    this.channels = options.channels;
    this.kernelSize = options.kernelSize;
    this.causal = options.causal;
    const total = this.kernelSize - 1;
    this.padding = this.causal ? [total, 0] : [total - (total >> 1), total >> 1];
    const bound = 1 / Math.sqrt(this.kernelSize);
    // PyTorch's layout for a depthwise Conv1d weight: [C, 1, K].
    this.weight = scope.uniform('weight', [this.channels, 1, this.kernelSize], bound);
    this.bias = scope.uniform('bias', [this.channels], bound);
  }

  exportOnnx(g: OnnxGraphBuilder, input: string): string {
    return emit(g, 'Conv', [input, addWeight(g, 'dw_w', this.weight), addWeight(g, 'dw_b', this.bias)], {
      group: this.channels,
      pads: [...this.padding],
    });
  }

  /** The streaming step, [1, C, T] → [1, C, T], with the left padding as a state. */
  exportStreamingOnnx(g: OnnxGraphBuilder, input: string, states: StreamStates): string {
    requireCausal(this.causal, 'DepthwiseConv1dLayer');
    const context = withLeftContext(g, states, input, this.channels, this.padding[0]);
    return emit(g, 'Conv', [context, addWeight(g, 'dw_w', this.weight), addWeight(g, 'dw_b', this.bias)], { group: this.channels });
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    const [batch, , length] = x.shape;
    const padded = tf.pad(x, [[0, 0], [0, 0], [this.padding[0], this.padding[1]]]);
    // The bias enters by broadcasting: a tiled bias would back-propagate as one
    // slice and one add per (batch, time) position, thousands of ops a step.
    let sum = this.bias.reshape([1, this.channels, 1]) as tf.Tensor3D;
    for (let k = 0; k < this.kernelSize; k++) {
      const tap = this.weight.slice([0, 0, k], [this.channels, 1, 1]).reshape([1, this.channels, 1]);
      sum = sum.add(padded.slice([0, 0, k], [batch, this.channels, length]).mul(tap));
    }
    return sum;
  }
}

/**
 * GELU, tanh approximation (Hendrycks & Gimpel 2016): within 1e-3 of the erf
 * form and built from ops that have gradients on every tfjs backend.
 */
export function geluOnnx(g: OnnxGraphBuilder, x: string): string {
  const constant = (v: number) => g.addConstant('gelu_c', 'float32', [v], []);
  const cube = emit(g, 'Mul', [emit(g, 'Mul', [x, x]), x]);
  const inner = emit(g, 'Mul', [emit(g, 'Add', [x, emit(g, 'Mul', [cube, constant(0.044715)])]), constant(Math.sqrt(2 / Math.PI))]);
  return emit(g, 'Mul', [emit(g, 'Mul', [x, constant(0.5)]), emit(g, 'Add', [emit(g, 'Tanh', [inner]), constant(1)])]);
}

export function gelu(x: tf.Tensor): tf.Tensor {
  // x·x·x, not pow: the wasm backend's Pow is a scalar libm call per element (~5x slower).
  const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(0.5).mul(tf.tanh(inner).add(1));
}

/**
 * A stack of unidirectional LSTM layers over [B, C, T] with a skip connection
 * around the stack, as EnCodec's SLSTM at the bottleneck (encodec/modules/lstm.py).
 * Unidirectional, so it stays causal. Gates in PyTorch's order (input, forget,
 * cell, output), one fused matmul per step for the recurrent part.
 */
export class Lstm {
  readonly channels: number;
  readonly layers: number;
  private readonly weights: { input: tf.Variable; recurrent: tf.Variable; bias: tf.Variable }[] = [];

  constructor(scope: ParameterScope, channels: number, layers: number) {
    this.channels = channels;
    this.layers = layers;
    const bound = 1 / Math.sqrt(channels);
    for (let l = 0; l < layers; l++) {
      const layer = scope.child(l);
      this.weights.push({
        // PyTorch: weight_ih_l{l} [4C, C], weight_hh_l{l} [4C, C]; one bias here (b_ih + b_hh).
        input: layer.uniform('weight_ih', [4 * channels, channels], bound),
        recurrent: layer.uniform('weight_hh', [4 * channels, channels], bound),
        bias: layer.uniform('bias', [4 * channels], bound),
      });
    }
  }

  /**
   * ONNX's LSTM: input [T, B, C], gates in the order input, output, forget,
   * cell (ours: input, forget, cell, output), biases Wb and Rb separately.
   */
  exportOnnx(g: OnnxGraphBuilder, input: string): string {
    return this.emitLayers(g, input, null);
  }

  /**
   * The streaming step, [1, C, T] → [1, C, T]: each layer's hidden and cell
   * state after the last frame become states, the next step's initial h and c.
   */
  exportStreamingOnnx(g: OnnxGraphBuilder, input: string, states: StreamStates): string {
    return this.emitLayers(g, input, states);
  }

  private emitLayers(g: OnnxGraphBuilder, input: string, states: StreamStates | null): string {
    const c = this.channels;
    const reorder = (values: Float32Array, rowLength: number): Float32Array => {
      const out = new Float32Array(values.length);
      // ONNX gate k takes our gate order[k].
      [0, 3, 1, 2].forEach((ours, k) => out.set(values.subarray(ours * c * rowLength, (ours + 1) * c * rowLength), k * c * rowLength));
      return out;
    };
    let sequence = emit(g, 'Transpose', [input], { perm: [2, 0, 1] });
    for (const { input: w, recurrent: r, bias: b } of this.weights) {
      const weight = (prefix: string, values: Float32Array, dims: number[]) => g.addInitializer(g.uniqueName(prefix), { dataType: 'float32', dims, data: values });
      const bias = new Float32Array(8 * c);
      bias.set(reorder(b.dataSync() as Float32Array, 1));
      const inputs = [
        sequence,
        weight('lstm_w', reorder(w.dataSync() as Float32Array, c), [1, 4 * c, c]),
        weight('lstm_r', reorder(r.dataSync() as Float32Array, c), [1, 4 * c, c]),
        weight('lstm_b', bias, [1, 8 * c]),
      ];
      const y = g.uniqueName('lstm_y');
      if (states === null) {
        g.addNode('LSTM', inputs, [y], { hidden_size: c });
      } else {
        // [directions, batch, hidden] = [1, 1, C]; zeros at the start, as the whole-file LSTM's.
        const hidden = states.add([1, 1, c]);
        const cell = states.add([1, 1, c]);
        const [lastHidden, lastCell] = [g.uniqueName('lstm_h'), g.uniqueName('lstm_c')];
        g.addNode('LSTM', [...inputs, '', hidden.previous, cell.previous], [y, lastHidden, lastCell], { hidden_size: c });
        hidden.carry(lastHidden);
        cell.carry(lastCell);
      }
      sequence = emit(g, 'Squeeze', [y, g.addConstant('axis', 'int64', [1])]);
    }
    return emit(g, 'Add', [emit(g, 'Transpose', [sequence], { perm: [1, 2, 0] }), input]);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    const [batch, channels, frames] = x.shape;
    const c = this.channels;
    // [B, C, T] → [B·T, C] rows so the input projection is one matmul over all frames.
    let sequence = tf.reshape(tf.transpose(x, [0, 2, 1]), [batch * frames, channels]) as tf.Tensor2D;
    for (const { input, recurrent, bias } of this.weights) {
      const projected = tf.reshape(tf.matMul(sequence, input, false, true).add(bias), [batch, frames, 4 * c]);
      let hidden = tf.zeros([batch, c]) as tf.Tensor2D;
      let cell = tf.zeros([batch, c]) as tf.Tensor2D;
      const outputs: tf.Tensor2D[] = [];
      for (let t = 0; t < frames; t++) {
        const gates = tf.reshape(projected.slice([0, t, 0], [batch, 1, 4 * c]), [batch, 4 * c]).add(tf.matMul(hidden, recurrent, false, true));
        const [i, f, g, o] = tf.split(gates, 4, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        cell = tf.sigmoid(f).mul(cell).add(tf.sigmoid(i).mul(tf.tanh(g))) as tf.Tensor2D;
        hidden = tf.sigmoid(o).mul(tf.tanh(cell)) as tf.Tensor2D;
        outputs.push(hidden);
      }
      sequence = tf.reshape(tf.stack(outputs, 1), [batch * frames, c]) as tf.Tensor2D;
    }
    const out = tf.transpose(tf.reshape(sequence, [batch, frames, c]), [0, 2, 1]) as tf.Tensor3D;
    return out.add(x) as tf.Tensor3D;
  }
}
