/**
 * 2-D convolution built on the engine's conv1d, for the discriminators.
 *
 * tfjs's wasm backend has no conv2d filter gradient, but conv1d has every
 * gradient on every rung (and runs on onnxruntime on the fast one). So one
 * spatial axis is folded into the batch. Activations are [B, H, C, W]:
 *
 *   - W is the axis conv1d runs along (stride, dilation and padding as conv1d);
 *   - H is gathered: the kH taps of each output row (rows h·sH + i·dH − pH)
 *     are sliced out and concatenated on the channel axis ("im2col" over H
 *     only, [B, H_out, kH·C, W]), and the rows folded into the batch, so one
 *     conv1d with kH·C input channels computes the whole 2-D convolution as a
 *     single GEMM-shaped op. With kH = 1 (HiFi-GAN's period discriminator) the
 *     gather is skipped.
 *
 * Which axis is which is a choice of cost: the gather copies kH/sH times the
 * input, and tfjs's wasm Slice is a JS loop over contiguous runs (over elements
 * at rank 5), so H should be the axis with the short kernel and unit stride
 * and slices should be long runs. The MS-STFT discriminator therefore puts time
 * on H (kernel 3, dilated) and frequency on W (kernel 9, stride 2): a 3× copy.
 * The period discriminator puts the period phase on H (kernel 1) and time on W.
 *
 * Weights are [Cout, Cin, kH, kW]: for the MS-STFT discriminator that is
 * EnCodec's Conv2d layout after its 'b c w t -> b c t w' rearrange (time, then
 * frequency); a HiFi-GAN period conv's (k × 1) kernel is [Cout, Cin, 1, k] here.
 */
import * as tf from '@tensorflow/tfjs';

import { conv1d } from '../engine/index.js';
import type { ParameterScope } from '../nn/parameters.js';

export interface Conv2dOptions {
  /** [H, W]; default [1, 1]. */
  stride?: readonly [number, number];
  /** [H, W]; default [1, 1]. */
  dilation?: readonly [number, number];
  /** Zero padding on both sides, [H, W]; default [0, 0]. */
  padding?: readonly [number, number];
  /** [Cout]. */
  bias?: tf.Tensor1D;
}

function positiveIntegers(owner: string, field: string, pair: readonly [number, number], min: number): void {
  if (pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= min)) {
    throw new Error(`${owner}: ${field} must be two integers >= ${min}, got [${pair}]`);
  }
}

/** Output size along one axis (PyTorch's formula). */
export function conv2dOutputSize(input: number, kernel: number, stride: number, dilation: number, padding: number): number {
  return Math.floor((input + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * x [B, H, Cin, W], w [Cout, Cin, kH, kW] → [B, H_out, Cout, W_out].
 * Differentiable in x, w and the bias on every backend.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, options: Conv2dOptions = {}): tf.Tensor4D {
  const stride = options.stride ?? [1, 1];
  const dilation = options.dilation ?? [1, 1];
  const padding = options.padding ?? [0, 0];
  positiveIntegers('conv2d', 'stride', stride, 1);
  positiveIntegers('conv2d', 'dilation', dilation, 1);
  positiveIntegers('conv2d', 'padding', padding, 0);
  const [batch, rows, inChannels, width] = x.shape;
  const [outChannels, weightInChannels, kh, kw] = w.shape;
  if (weightInChannels !== inChannels) {
    throw new Error(`conv2d: input has ${inChannels} channels, the weight expects ${weightInChannels}`);
  }
  const [strideH, strideW] = stride;
  const [dilationH, dilationW] = dilation;
  const [padH, padW] = padding;
  const rowsOut = conv2dOutputSize(rows, kh, strideH, dilationH, padH);
  if (rowsOut < 1) throw new Error(`conv2d: ${rows} rows are too few for kernel ${kh} (dilation ${dilationH}, padding ${padH})`);

  let columns: tf.Tensor; // [B, H_out, kH·Cin, W]
  if (kh === 1 && strideH === 1 && padH === 0) {
    columns = x;
  } else {
    // Pad H (zeros) to a multiple of the stride and view it as [B, H/s, s·C·W]: tap i
    // (rows h·s + i·d, with i·d = q·s + r) is then one rank-3 slice, rows q… of phase r,
    // whose inner runs are whole C·W planes. Slice and concat have gradients everywhere.
    const plane = inChannels * width;
    const needed = (rowsOut - 1) * strideH + dilationH * (kh - 1) + 1;
    const paddedRows = Math.ceil(Math.max(needed, rows + 2 * padH) / strideH) * strideH;
    const padded = tf.pad(x, [[0, 0], [padH, paddedRows - rows - padH], [0, 0], [0, 0]]);
    const phases = padded.reshape([batch, paddedRows / strideH, strideH * plane]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      const offset = i * dilationH;
      const q = Math.floor(offset / strideH);
      const r = offset % strideH;
      taps.push(phases.slice([0, q, r * plane], [batch, rowsOut, plane]).reshape([batch, rowsOut, inChannels, width]));
    }
    columns = taps.length === 1 ? taps[0]! : tf.concat(taps, 2);
  }
  // Weight [Cout, Cin, kH, kW] → [Cout, kH·Cin, kW], channel index i·Cin + c as the taps above.
  const weight1d = (kh === 1 ? w.reshape([outChannels, inChannels, kw]) : w.transpose([0, 2, 1, 3]).reshape([outChannels, kh * inChannels, kw])) as tf.Tensor3D;
  const folded = columns.reshape([batch * rowsOut, kh * inChannels, width]) as tf.Tensor3D;
  const y = conv1d(folded, weight1d, {
    stride: strideW,
    dilation: dilationW,
    padding: [padW, padW],
    ...(options.bias === undefined ? {} : { bias: options.bias }),
  });
  return y.reshape([batch, rowsOut, outChannels, y.shape[2]]);
}

export interface Conv2dLayerOptions {
  inChannels: number;
  outChannels: number;
  /** [H, W] (see conv2d). */
  kernel: readonly [number, number];
  stride?: readonly [number, number];
  dilation?: readonly [number, number];
  /** Default: "same"-style centred padding, ((k − 1)·d) / 2 per axis (EnCodec's get_2d_padding). */
  padding?: readonly [number, number];
  bias?: boolean;
  /** Weight normalisation (PyTorch weight_norm, dim 0), as EnCodec and HiFi-GAN use. Default true. */
  weightNorm?: boolean;
}

/** A weight-normed 2-D convolution over [B, H, C, W] activations (see conv2d). */
export class Conv2dLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly padding: readonly [number, number];
  private readonly direction: tf.Variable;
  private readonly magnitude: tf.Variable | null;
  private readonly bias: tf.Variable | null;

  constructor(scope: ParameterScope, options: Conv2dLayerOptions) {
    const owner = scope.prefix === '' ? 'Conv2dLayer' : scope.prefix;
    for (const field of ['inChannels', 'outChannels'] as const) {
      if (!Number.isInteger(options[field]) || options[field] < 1) throw new Error(`${owner}: ${field} must be an integer >= 1, got ${options[field]}`);
    }
    positiveIntegers(owner, 'kernel', options.kernel, 1);
    this.inChannels = options.inChannels;
    this.outChannels = options.outChannels;
    this.kernel = options.kernel;
    this.stride = options.stride ?? [1, 1];
    this.dilation = options.dilation ?? [1, 1];
    positiveIntegers(owner, 'stride', this.stride, 1);
    positiveIntegers(owner, 'dilation', this.dilation, 1);
    this.padding = options.padding ?? [((this.kernel[0] - 1) * this.dilation[0]) >> 1, ((this.kernel[1] - 1) * this.dilation[1]) >> 1];
    positiveIntegers(owner, 'padding', this.padding, 0);
    // PyTorch's Conv2d default init: U(±1/√fan_in) for weight and bias.
    const shape = [this.outChannels, this.inChannels, this.kernel[0], this.kernel[1]];
    const bound = 1 / Math.sqrt(this.inChannels * this.kernel[0] * this.kernel[1]);
    if (options.weightNorm ?? true) {
      this.direction = scope.uniform('weight_v', shape, bound);
      const direction = this.direction;
      this.magnitude = scope.tensor('weight_g', tf.tidy(() => tf.sqrt(tf.sum(tf.square(direction), [1, 2, 3], true))));
    } else {
      this.direction = scope.uniform('weight', shape, bound);
      this.magnitude = null;
    }
    this.bias = (options.bias ?? true) ? scope.uniform('bias', [this.outChannels], bound) : null;
  }

  /** The weight as used, [Cout, Cin, kH, kW]: g · v / ‖v‖ when weight-normed. */
  effectiveWeight(): tf.Tensor4D {
    if (this.magnitude === null) return this.direction as tf.Tensor4D;
    const norm = tf.sqrt(tf.sum(tf.square(this.direction), [1, 2, 3], true).add(1e-12));
    return this.direction.mul(this.magnitude.div(norm)) as tf.Tensor4D;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return conv2d(x, this.effectiveWeight(), {
      stride: this.stride,
      dilation: this.dilation,
      padding: this.padding,
      ...(this.bias === null ? {} : { bias: this.bias as tf.Tensor1D }),
    });
  }
}
