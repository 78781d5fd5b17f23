/**
 * 1-D convolution and transposed convolution with gradients on every backend.
 *
 * Layout is tfjs's: activations [batch, time, channels], filters [K, Cin, Cout]
 * (for the transposed convolution [K, Cout, Cin], as tfjs's conv2dTranspose).
 *
 * Three primitives carry everything: the forward convolution, its input
 * gradient and its filter gradient. The transposed convolution is the input
 * gradient run forwards, so its own gradients are the other two. Each primitive
 * has two implementations:
 *   - onnxruntime kernels (the 'wasm+onnxruntime' rung), registered in ort/kernels.ts;
 *   - composed tfjs ops, for every other rung: all three become forward
 *     convolutions, which tfjs's wasm backend runs on XNNPACK. That is how the
 *     wasm backend trains at all (it has no filter-gradient kernel), and how
 *     dilated convolutions train anywhere (tfjs's own conv gradient refuses
 *     dilation > 1).
 */
import * as tf from '@tensorflow/tfjs';

import { activeEngine } from './backend.js';
import type { Conv1dAttributes } from './ort/graphs.js';
import {
  conv1dOutputLength,
  ORT_CONV1D,
  ORT_CONV1D_FILTER_GRADIENT,
  ORT_CONV1D_INPUT_GRADIENT,
} from './ort/kernels.js';

export type { Conv1dAttributes };
export { conv1dOutputLength };

/** 'same' keeps ceil(T / stride) frames; 'causal' pads only on the left (no look-ahead). */
export type Conv1dPadding = 'valid' | 'same' | 'causal' | readonly [number, number];

export interface Conv1dOptions {
  stride?: number;
  dilation?: number;
  padding?: Conv1dPadding;
}

export interface ConvTranspose1dOptions {
  stride?: number;
  dilation?: number;
  /** Samples trimmed from the [start, end] of the full transposed output. */
  trim?: readonly [number, number];
  /** Extra samples at the end (0 <= outputPadding < stride). */
  outputPadding?: number;
}

/** Resolves a padding mode into explicit [left, right] pads. */
export function resolveConv1dAttributes(
  inputLength: number,
  kernelSize: number,
  options: Conv1dOptions,
): Conv1dAttributes {
  const stride = options.stride ?? 1;
  const dilation = options.dilation ?? 1;
  const padding = options.padding ?? 'valid';
  if (!Number.isInteger(stride) || stride < 1 || !Number.isInteger(dilation) || dilation < 1) {
    throw new RangeError(`conv1d: stride and dilation must be positive integers (got ${stride}, ${dilation})`);
  }
  const span = dilation * (kernelSize - 1) + 1;
  let padLeft: number;
  let padRight: number;
  if (padding === 'valid') {
    padLeft = padRight = 0;
  } else if (padding === 'causal') {
    // Every output sees only inputs at or before its own position.
    padLeft = span - stride;
    padRight = 0;
    if (padLeft < 0) padLeft = 0;
  } else if (padding === 'same') {
    const outLength = Math.ceil(inputLength / stride);
    const total = Math.max((outLength - 1) * stride + span - inputLength, 0);
    padLeft = Math.floor(total / 2);
    padRight = total - padLeft;
  } else {
    [padLeft, padRight] = padding;
  }
  return { stride, dilation, padLeft, padRight };
}

// ---------------------------------------------------------------------------
// The three primitives

function forwardPrimitive(x: tf.Tensor3D, w: tf.Tensor3D, a: Conv1dAttributes): tf.Tensor3D {
  if (activeEngine().onnxConvolutions) {
    return tf.engine().runKernel(ORT_CONV1D, { x, w }, { ...a }) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const padded = padTime(x, a.padLeft, a.padRight);
    if (a.stride > 1 && a.dilation > 1) {
      // tfjs refuses stride and dilation together: convolve densely, then subsample.
      const dense = tf.conv1d(padded, w, 1, 'valid', 'NWC', a.dilation);
      const outLength = conv1dOutputLength(x.shape[1], w.shape[0], a);
      return tf.stridedSlice(dense, [0, 0, 0], [dense.shape[0], outLength * a.stride, dense.shape[2]], [1, a.stride, 1]) as tf.Tensor3D;
    }
    return tf.conv1d(padded, w, a.stride, 'valid', 'NWC', a.dilation);
  });
}

function inputGradientPrimitive(dy: tf.Tensor3D, w: tf.Tensor3D, a: Conv1dAttributes, inputLength: number): tf.Tensor3D {
  if (activeEngine().onnxConvolutions) {
    return tf.engine().runKernel(ORT_CONV1D_INPUT_GRADIENT, { dy, w }, { ...a, inputLength }) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const [batch, outLength, outChannels] = dy.shape;
    const kernelSize = w.shape[0];
    const paddedLength = inputLength + a.padLeft + a.padRight;
    // Put the stride's skipped samples back as zeros: [B, To, Co] → [B, s·(To−1)+1, Co].
    let upsampled: tf.Tensor3D = dy;
    if (a.stride > 1) {
      const withZeros = tf.pad(dy.reshape([batch, outLength, 1, outChannels]), [[0, 0], [0, 0], [0, a.stride - 1], [0, 0]]);
      const interleaved = withZeros.reshape([batch, outLength * a.stride, outChannels]) as tf.Tensor3D;
      upsampled = interleaved.slice([0, 0, 0], [batch, a.stride * (outLength - 1) + 1, outChannels]);
    }
    // A full correlation with the flipped, transposed filter spreads each output back over its inputs.
    const flipped = tf.reverse(w, 0).transpose([0, 2, 1]) as tf.Tensor3D;
    const reach = a.dilation * (kernelSize - 1);
    const dxPadded = tf.conv1d(padTime(upsampled, reach, paddedLength - upsampled.shape[1]), flipped, 1, 'valid', 'NWC', a.dilation);
    return dxPadded.slice([0, a.padLeft, 0], [batch, inputLength, w.shape[1]]);
  });
}

function filterGradientPrimitive(x: tf.Tensor3D, dy: tf.Tensor3D, a: Conv1dAttributes, kernelSize: number): tf.Tensor3D {
  if (activeEngine().onnxConvolutions) {
    return tf.engine().runKernel(ORT_CONV1D_FILTER_GRADIENT, { x, dy }, { ...a, kernelSize }) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const padded = padTime(x, a.padLeft, a.padRight);
    const [, , inChannels] = x.shape;
    const [batch, outLength, outChannels] = dy.shape;
    if (a.stride > 1 && a.dilation > 1) {
      // One matmul per tap: dw[k] = x_k^T · dy, x_k the inputs tap k saw.
      const taps: tf.Tensor[] = [];
      const dyFlat = dy.reshape([batch * outLength, outChannels]);
      for (let k = 0; k < kernelSize; k++) {
        const start = k * a.dilation;
        const seen = tf.stridedSlice(padded, [0, start, 0], [batch, start + a.stride * (outLength - 1) + 1, inChannels], [1, a.stride, 1]);
        taps.push(tf.matMul(seen.reshape([batch * outLength, inChannels]), dyFlat, true, false));
      }
      return tf.stack(taps) as tf.Tensor3D;
    }
    // Swap batch and channel axes: Ci images of B channels, convolved with dy as a
    // [To, B, Co] filter; the forward stride becomes the filter's dilation.
    const images = padded.transpose([2, 1, 0]) as tf.Tensor3D;
    const filter = dy.transpose([1, 0, 2]) as tf.Tensor3D;
    const long = tf.conv1d(images, filter, a.dilation, 'valid', 'NWC', a.stride);
    return long.slice([0, 0, 0], [inChannels, kernelSize, outChannels]).transpose([1, 0, 2]) as tf.Tensor3D;
  });
}

function padTime(x: tf.Tensor3D, left: number, right: number): tf.Tensor3D {
  if (left === 0 && right === 0) return x;
  return tf.pad(x, [[0, 0], [left, right], [0, 0]]);
}

// ---------------------------------------------------------------------------
// The ops

/**
 * y[B, To, Cout] = conv1d(x[B, T, Cin], w[K, Cin, Cout]), differentiable in x and w.
 */
export function conv1d(x: tf.Tensor3D, w: tf.Tensor3D, options: Conv1dOptions = {}): tf.Tensor3D {
  const kernelSize = w.shape[0];
  if (x.shape[2] !== w.shape[1]) {
    throw new RangeError(`conv1d: input has ${x.shape[2]} channels, filter expects ${w.shape[1]}`);
  }
  const a = resolveConv1dAttributes(x.shape[1], kernelSize, options);
  if (conv1dOutputLength(x.shape[1], kernelSize, a) < 1) {
    throw new RangeError(`conv1d: input of ${x.shape[1]} samples is shorter than the kernel's span`);
  }
  const inputLength = x.shape[1];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, ws, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    save([xs, ws]);
    return {
      value: forwardPrimitive(xs, ws, a),
      gradFunc: (dy, saved) => {
        const [xSaved, wSaved] = saved as [tf.Tensor3D, tf.Tensor3D];
        const grad = dy as tf.Tensor3D;
        return [inputGradientPrimitive(grad, wSaved, a, inputLength), filterGradientPrimitive(xSaved, grad, a, kernelSize)];
      },
    };
  });
  return op(x, w) as tf.Tensor3D;
}

/** Output length of convTranspose1d. */
export function convTranspose1dOutputLength(inputLength: number, kernelSize: number, options: ConvTranspose1dOptions): number {
  const stride = options.stride ?? 1;
  const dilation = options.dilation ?? 1;
  const [trimStart, trimEnd] = options.trim ?? [0, 0];
  return stride * (inputLength - 1) + dilation * (kernelSize - 1) + 1 - trimStart - trimEnd + (options.outputPadding ?? 0);
}

/**
 * y[B, To, Cout] = convTranspose1d(x[B, T, Cin], w[K, Cout, Cin]): the adjoint of
 * conv1d with the same filter, as used by upsampling decoders.
 */
export function convTranspose1d(x: tf.Tensor3D, w: tf.Tensor3D, options: ConvTranspose1dOptions = {}): tf.Tensor3D {
  const kernelSize = w.shape[0];
  if (x.shape[2] !== w.shape[2]) {
    throw new RangeError(`convTranspose1d: input has ${x.shape[2]} channels, filter expects ${w.shape[2]}`);
  }
  const stride = options.stride ?? 1;
  const outputPadding = options.outputPadding ?? 0;
  if (!Number.isInteger(outputPadding) || outputPadding < 0 || outputPadding >= stride) {
    throw new RangeError(`convTranspose1d: outputPadding must be in [0, stride) (got ${outputPadding})`);
  }
  const [padLeft, padRight] = options.trim ?? [0, 0];
  const a: Conv1dAttributes = { stride, dilation: options.dilation ?? 1, padLeft, padRight };
  const outLength = convTranspose1dOutputLength(x.shape[1], kernelSize, options);
  if (outLength < 1) throw new RangeError('convTranspose1d: trims remove the whole output');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, ws, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    save([xs, ws]);
    return {
      value: inputGradientPrimitive(xs, ws, a, outLength),
      gradFunc: (dy, saved) => {
        const [xSaved, wSaved] = saved as [tf.Tensor3D, tf.Tensor3D];
        const grad = dy as tf.Tensor3D;
        // The roles swap: the upsampled output plays the forward conv's input.
        return [forwardPrimitive(grad, wSaved, a), filterGradientPrimitive(grad, xSaved, a, kernelSize)];
      },
    };
  });
  return op(x, w) as tf.Tensor3D;
}
