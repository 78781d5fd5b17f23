/**
 * 2-D convolution built on the engine's conv1d, for the discriminators.
 *
 * tfjs's wasm backend has no conv2d filter gradient, but conv1d has every
 * gradient on every rung (and runs on onnxruntime on the fast one). Layout and
 * weights are PyTorch's Conv2d: x [B, C, H, W], w [Cout, Cin, kH, kW].
 *
 *   1. The kH taps along H are gathered onto the channel axis ("im2col" over H
 *      only): tap i of output row h is input row h·sH + i·dH − pH, so the
 *      taps are kH row-slices, concatenated into [B, kH·C, H_out, W].
 *   2. The rows are laid end to end along W, each with its own zero padding and
 *      rounded up to a multiple of the W stride: [B, kH·C, H_out·W_row]. One
 *      conv1d with kH·C input channels over that long sequence computes every
 *      row at once; the few outputs that straddle two rows are cut off.
 *
 * Why this shape: onnxruntime's Conv (and its gradients) are efficient on a
 * small batch of long sequences and poor on many short ones. Folding H into
 * the batch instead ([B·H, C, W]) ran the MS-STFT discriminator's 8-channel
 * layers at < 1 GFLOP/s here (thousands of 33-sample sequences). The gather
 * copies kH/sH times the input, so H should be the axis with the short kernel
 * and unit stride: time in the MS-STFT discriminator (kernel 3, dilated; W is
 * frequency with kernel 9 and stride 2), the period phase in the period
 * discriminator (kernel 1, no gather; W is time). Slices are along H of a
 * [B·C, H, W] view, so each copies whole runs of rows (tfjs's wasm Slice is a
 * JS loop over contiguous runs, and over single elements at rank 5).
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
 * x [B, Cin, H, W], w [Cout, Cin, kH, kW] → [B, Cout, H_out, W_out], as PyTorch's
 * Conv2d. Differentiable in x, w and the bias on every backend.
 *
 * Recomputed in the backward pass: tfjs keeps every intermediate of a gradient
 * scope until the scope ends, and the gather and row padding here are ~10×
 * the output of a narrow layer, so a 5-scale MS-STFT discriminator step on
 * 8 × 1 s held > 4 GB (past the wasm heap). As one custom-gradient op only x, w
 * and the bias are kept; the backward pass redoes the gather (one extra
 * forward of this layer) and differentiates it.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, options: Conv2dOptions = {}): tf.Tensor4D {
  checkConv2d(x, w, options);
  const inputs: tf.Tensor[] = options.bias === undefined ? [x, w] : [x, w, options.bias];
  // inputs: x, w[, bias] → conv2d without the recomputation.
  const plain = (...t: tf.Tensor[]) => conv2dUncheckpointed(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, { ...options, bias: t[2] as tf.Tensor1D | undefined });
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const tensors = args as tf.Tensor[];
    save(tensors);
    return {
      value: tf.tidy(() => plain(...tensors)) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => gradientsInBackward(plain, saved, dy),
    };
  });
  return op(...inputs);
}

/**
 * tf.grads called from inside another gradient's backward pass. tfjs 4.22 clears
 * the engine's active tape when a gradient computation at depth 0 ends, and the
 * outer computation then fails reading it (a TypeError on null); restoring the
 * outer tape afterwards is all it needs. Guarded by the conv2d gradient tests.
 */
function gradientsInBackward(f: (...t: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
  const outerTape = state.activeTape;
  try {
    return tf.grads(f)(xs, dy);
  } finally {
    state.activeTape = outerTape;
  }
}

function checkConv2d(x: tf.Tensor4D, w: tf.Tensor4D, options: Conv2dOptions): void {
  positiveIntegers('conv2d', 'stride', options.stride ?? [1, 1], 1);
  positiveIntegers('conv2d', 'dilation', options.dilation ?? [1, 1], 1);
  positiveIntegers('conv2d', 'padding', options.padding ?? [0, 0], 0);
  if (x.rank !== 4 || w.rank !== 4) throw new Error(`conv2d: x and w must be rank 4, got [${x.shape}] and [${w.shape}]`);
  if (w.shape[1] !== x.shape[1]) throw new Error(`conv2d: input has ${x.shape[1]} channels, the weight expects ${w.shape[1]}`);
  if (options.bias !== undefined && (options.bias.rank !== 1 || options.bias.shape[0] !== w.shape[0])) {
    throw new Error(`conv2d: bias must be [${w.shape[0]}], got [${options.bias.shape}]`);
  }
}

/** conv2d with every intermediate on the tape (what conv2d recomputes). */
export function conv2dUncheckpointed(x: tf.Tensor4D, w: tf.Tensor4D, options: Conv2dOptions = {}): tf.Tensor4D {
  const stride = options.stride ?? [1, 1];
  const dilation = options.dilation ?? [1, 1];
  const padding = options.padding ?? [0, 0];
  positiveIntegers('conv2d', 'stride', stride, 1);
  positiveIntegers('conv2d', 'dilation', dilation, 1);
  positiveIntegers('conv2d', 'padding', padding, 0);
  const [batch, inChannels, rows, width] = x.shape;
  const [outChannels, weightInChannels, kh, kw] = w.shape;
  if (weightInChannels !== inChannels) {
    throw new Error(`conv2d: input has ${inChannels} channels, the weight expects ${weightInChannels}`);
  }
  const [strideH, strideW] = stride;
  const [dilationH, dilationW] = dilation;
  const [padH, padW] = padding;
  const rowsOut = conv2dOutputSize(rows, kh, strideH, dilationH, padH);
  const widthOut = conv2dOutputSize(width, kw, strideW, dilationW, padW);
  if (rowsOut < 1 || widthOut < 1) {
    throw new Error(`conv2d: input ${rows} × ${width} is too small for kernel ${kh} × ${kw} (dilation [${dilation}], padding [${padding}])`);
  }

  // 1. Gather the H taps onto channels: [B, kH·Cin, H_out, W], channel i·Cin + c.
  let columns: tf.Tensor;
  if (kh === 1 && strideH === 1 && padH === 0) {
    columns = x;
  } else {
    // Pad H to a multiple of the stride and view it as [B·C, H/s, s·W]: tap i (rows
    // h·s + i·d, with i·d = q·s + r) is then rows q… of phase r, one rank-3 slice.
    const needed = (rowsOut - 1) * strideH + dilationH * (kh - 1) + 1;
    const paddedRows = Math.ceil(Math.max(needed, rows + 2 * padH) / strideH) * strideH;
    const padded = tf.pad(x, [[0, 0], [0, 0], [padH, paddedRows - rows - padH], [0, 0]]);
    const phases = padded.reshape([batch * inChannels, paddedRows / strideH, strideH * width]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      const offset = i * dilationH;
      const q = Math.floor(offset / strideH);
      const r = offset % strideH;
      taps.push(phases.slice([0, q, r * width], [batch * inChannels, rowsOut, width]).reshape([batch, inChannels, rowsOut, width]));
    }
    columns = taps.length === 1 ? taps[0]! : tf.concat(taps, 1);
  }

  // 2. Rows end to end, each padded by padW and rounded up to a multiple of the W stride,
  // so every row's first output is a conv output and no kept output reads two rows.
  const rowLength = Math.ceil((width + 2 * padW) / strideW) * strideW;
  const laid = tf.pad(columns, [[0, 0], [0, 0], [0, 0], [padW, rowLength - width - padW]]).reshape([batch, kh * inChannels, rowsOut * rowLength]) as tf.Tensor3D;
  const span = dilationW * (kw - 1) + 1;
  // Weight [Cout, Cin, kH, kW] → [Cout, kH·Cin, kW], matching the channel order above.
  const weight1d = (kh === 1 ? w.reshape([outChannels, inChannels, kw]) : w.transpose([0, 2, 1, 3]).reshape([outChannels, kh * inChannels, kw])) as tf.Tensor3D;
  const y = conv1d(laid, weight1d, {
    stride: strideW,
    dilation: dilationW,
    // Right padding so the last row also yields rowLength / stride outputs.
    padding: [0, Math.max(0, span - strideW)],
    ...(options.bias === undefined ? {} : { bias: options.bias }),
  });
  const perRow = rowLength / strideW;
  const grid = y.reshape([batch, outChannels, rowsOut, perRow]) as tf.Tensor4D;
  return perRow === widthOut ? grid : grid.slice([0, 0, 0, 0], [batch, outChannels, rowsOut, widthOut]);
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

/** A weight-normed 2-D convolution over [B, C, H, W] activations (see conv2d). */
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
