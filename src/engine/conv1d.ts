/**
 * 1-D convolution and transposed convolution with gradients on every backend.
 *
 * Layout is PyTorch's and onnxruntime's (so EnCodec/DAC weights map directly):
 * activations [batch, channels, time]; conv filters [Cout, Cin, K]; transposed
 * conv filters [Cin, Cout, K]. Channels-first also lets onnxruntime run its
 * Conv with no transposes: 1.5-2× faster than channels-last here (README.md).
 *
 * Three kernels carry everything: the forward convolution, its input gradient
 * and its filter gradient. The transposed convolution is the input-gradient
 * kernel run forwards, so its gradients are the other two. Gradients are
 * registered per kernel, so tfjs computes only those it needs (no filter
 * gradient for a fixed STFT basis, no input gradient for the input audio).
 *
 * Each kernel has two implementations:
 *   - onnxruntime graphs (the 'wasm+onnxruntime' rung), in ort/kernels.ts;
 *   - composed tfjs ops, for every other rung: the input gradient as a forward
 *     convolution, the filter gradient as one matmul per tap, both of which
 *     tfjs's wasm backend runs on XNNPACK. That is how the wasm backend trains
 *     at all (it has no filter-gradient kernel), and how dilated convolutions
 *     train anywhere (tfjs's own conv gradient refuses dilation > 1).
 */
import * as tf from '@tensorflow/tfjs';

import type { Conv1dAttributes } from './ort/graphs.js';
import {
  conv1dAttributes,
  conv1dOutputLength,
  ortConv1dForward,
  ortConv1dInputGradient,
  ortConv1dFilterGradient,
} from './ort/kernels.js';

export type { Conv1dAttributes };
export { conv1dOutputLength };

export const CONV1D = 'SimvqConv1D';
export const CONV1D_INPUT_GRADIENT = 'SimvqConv1DBackpropInput';
export const CONV1D_FILTER_GRADIENT = 'SimvqConv1DBackpropFilter';

/** 'same' keeps ceil(T / stride) frames; 'causal' pads only on the left (no look-ahead). */
export type Conv1dPadding = 'valid' | 'same' | 'causal' | readonly [number, number];

export interface Conv1dOptions {
  stride?: number;
  dilation?: number;
  padding?: Conv1dPadding;
  /** Per-output-channel bias [Cout], added inside the convolution where the backend can. */
  bias?: tf.Tensor1D;
}

export interface ConvTranspose1dOptions {
  stride?: number;
  dilation?: number;
  /** Samples trimmed from the [start, end] of the full transposed output. */
  trim?: readonly [number, number];
  /** Extra samples at the end (0 <= outputPadding < stride). */
  outputPadding?: number;
  /** Per-output-channel bias [Cout]. */
  bias?: tf.Tensor1D;
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
    padLeft = Math.max(span - stride, 0);
    padRight = 0;
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
// Composed implementations (any tfjs backend). tfjs's conv1d is channels-last,
// so these transpose at the edges; the onnxruntime path never does.

function toNwc(x: tf.Tensor3D): tf.Tensor3D {
  return x.transpose([0, 2, 1]);
}

/** [Co, Ci, K] → tfjs's [K, Ci, Co]. */
function toTfjsFilter(w: tf.Tensor3D): tf.Tensor3D {
  return w.transpose([2, 1, 0]);
}

function padTime(x: tf.Tensor3D, left: number, right: number): tf.Tensor3D {
  if (left === 0 && right === 0) return x;
  return tf.pad(x, [[0, 0], [left, right], [0, 0]]);
}

function composedForward(x: tf.Tensor3D, w: tf.Tensor3D, a: Conv1dAttributes): tf.Tensor3D {
  const padded = padTime(toNwc(x), a.padLeft, a.padRight);
  const filter = toTfjsFilter(w);
  let y: tf.Tensor3D;
  if (a.stride > 1 && a.dilation > 1) {
    // tfjs refuses stride and dilation together: convolve densely, then subsample.
    const dense = tf.conv1d(padded, filter, 1, 'valid', 'NWC', a.dilation);
    const outLength = conv1dOutputLength(x.shape[2], w.shape[2], a);
    y = tf.stridedSlice(dense, [0, 0, 0], [dense.shape[0], outLength * a.stride, dense.shape[2]], [1, a.stride, 1]) as tf.Tensor3D;
  } else {
    y = tf.conv1d(padded, filter, a.stride, 'valid', 'NWC', a.dilation);
  }
  return toNwc(y);
}

function composedInputGradient(dy: tf.Tensor3D, w: tf.Tensor3D, a: Conv1dAttributes, inputLength: number): tf.Tensor3D {
  const [batch, outChannels, outLength] = dy.shape;
  const [, inChannels, kernelSize] = w.shape;
  const dyNwc = toNwc(dy);
  const paddedLength = inputLength + a.padLeft + a.padRight;
  if (a.stride > 1 && a.dilation === 1) {
    // Polyphase, as in ort/graphs.ts: all s output phases are one stride-1 convolution
    // with s·Ci output channels over M = ceil(K/s) taps, and in channels-last its
    // output [B, Q, s·Ci] reshapes for free into the interleaved [B, Q·s, Ci].
    const s = a.stride;
    const taps = Math.ceil(kernelSize / s);
    const padded = taps * s > kernelSize ? tf.pad(w, [[0, 0], [0, 0], [0, taps * s - kernelSize]]) : w;
    // Phase filters take taps r + m·s with m reversed (tap m·s + r ← (M−1−m)·s + r);
    // [Co, Ci, M, s] → tfjs filter [M, Co, s, Ci] → [M, Co, s·Ci].
    const reversedBlocks = Array.from({ length: taps * s }, (_, j) => (taps - 1 - Math.floor(j / s)) * s + (j % s));
    const phases = reorderTaps(padded, reversedBlocks)
      .reshape([outChannels, inChannels, taps, s])
      .transpose([2, 0, 3, 1])
      .reshape([taps, outChannels, s * inChannels]) as tf.Tensor3D;
    const z = tf.conv1d(padTime(dyNwc, taps - 1, taps), phases, 1, 'valid', 'NWC');
    const interleaved = z.reshape([batch, z.shape[1] * s, inChannels]) as tf.Tensor3D;
    return toNwc(interleaved.slice([0, a.padLeft, 0], [batch, inputLength, inChannels]));
  }
  // Otherwise put the stride's skipped samples back as zeros ([B, To, Co] → [B, s·(To−1)+1, Co])
  // and run a full correlation with the flipped filter: tfjs filter [K, Co, Ci] = w with taps reversed.
  let upsampled = dyNwc;
  if (a.stride > 1) {
    const withZeros = tf.pad(dyNwc.reshape([batch, outLength, 1, outChannels]), [[0, 0], [0, 0], [0, a.stride - 1], [0, 0]]);
    const interleaved = withZeros.reshape([batch, outLength * a.stride, outChannels]) as tf.Tensor3D;
    upsampled = interleaved.slice([0, 0, 0], [batch, a.stride * (outLength - 1) + 1, outChannels]);
  }
  const flipped = reorderTaps(w, Array.from({ length: kernelSize }, (_, j) => kernelSize - 1 - j)).transpose([2, 0, 1]) as tf.Tensor3D;
  const reach = a.dilation * (kernelSize - 1);
  const full = tf.conv1d(padTime(upsampled, reach, paddedLength - upsampled.shape[1]), flipped, 1, 'valid', 'NWC', a.dilation);
  return toNwc(full.slice([0, a.padLeft, 0], [batch, inputLength, inChannels]));
}

function composedFilterGradient(x: tf.Tensor3D, dy: tf.Tensor3D, a: Conv1dAttributes, kernelSize: number): tf.Tensor3D {
  const [batch, inChannels] = x.shape;
  const [, outChannels, outLength] = dy.shape;
  // One plain matmul per tap over all B·To frames: dw[:, :, k] = dy [Co, B·To] · x_k [B·To, Ci],
  // x_k the inputs tap k saw. Both operands are laid out so that no transpose flag is needed:
  // tfjs's wasm matMul runs 10-13× slower with one (1.8 against 24 GFLOP/s measured).
  // (The textbook single convolution with batch and channels swapped has a To-wide
  // kernel, which XNNPACK and the plain cpu kernels run far slower.)
  const dyFolded = dy.transpose([1, 0, 2]).reshape([outChannels, batch * outLength]) as tf.Tensor2D;
  const padded = padTime(toNwc(x), a.padLeft, a.padRight); // [B, Tp, Ci]
  // Strided taps read every s-th frame: split the signal into its s phases once
  // ([B, Tp/s, s, Ci]), so each tap is a slice of one phase.
  const s = a.stride;
  const frames = Math.ceil(Math.max((kernelSize - 1) * a.dilation + s * outLength, padded.shape[1]) / s);
  const phases = padTime(padded, 0, frames * s - padded.shape[1]).reshape([batch, frames, s, inChannels]) as tf.Tensor4D;
  const taps: tf.Tensor[] = [];
  for (let k = 0; k < kernelSize; k++) {
    const start = k * a.dilation;
    const seen = phases.slice([0, Math.floor(start / s), start % s, 0], [batch, outLength, 1, inChannels]);
    taps.push(tf.matMul(dyFolded, seen.reshape([batch * outLength, inChannels]) as tf.Tensor2D));
  }
  // Stacked on a new leading axis (a plain concatenation), then moved last once.
  return tf.stack(taps, 0).transpose([1, 2, 0]) as tf.Tensor3D;
}

/**
 * w [Co, Ci, K] with its taps reordered: output tap j is input tap source[j].
 * Done as one matmul with a permutation matrix: tfjs's wasm Reverse took 87 ms
 * on a 2 M-value filter, split-and-concatenate ~12 ms, this ~3 ms.
 */
function reorderTaps(w: tf.Tensor3D, source: readonly number[]): tf.Tensor3D {
  const [outChannels, inChannels, kernelSize] = w.shape;
  const permutation = new Float32Array(kernelSize * kernelSize);
  source.forEach((from, to) => {
    permutation[from * kernelSize + to] = 1;
  });
  const reordered = tf.matMul(w.reshape([outChannels * inChannels, kernelSize]), tf.tensor2d(permutation, [kernelSize, kernelSize]));
  return reordered.reshape([outChannels, inChannels, kernelSize]);
}

// ---------------------------------------------------------------------------
// Kernels

/** Runs a composed implementation inside a kernel: tensors in, a tensor out, no leaks. */
function composed(inputs: tf.TensorInfo[], body: (...tensors: tf.Tensor3D[]) => tf.Tensor3D): tf.Tensor {
  const engine = tf.engine();
  return tf.tidy(() =>
    body(
      ...inputs.map((info) => {
        // The wrapper is disposed with the tidy; its own reference keeps the caller's data alive.
        engine.backend.incRef(info.dataId);
        return engine.makeTensorFromTensorInfo(info) as tf.Tensor3D;
      }),
    ),
  );
}

type Implementation = 'onnxruntime' | 'composed';

function forwardKernel(implementation: () => Implementation): tf.KernelFunc {
  return (args) => {
    const { x, w, b } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
    if (implementation() === 'onnxruntime') return ortConv1dForward(args);
    const a = conv1dAttributes(args.attrs!);
    if (b === undefined) return composed([x, w], (xs, ws) => composedForward(xs!, ws!, a));
    return composed([x, w, b], (xs, ws, bs) => composedForward(xs!, ws!, a).add(channelColumn(bs!)));
  };
}

/** A bias [C] as [C, 1], to broadcast over [B, C, T]. */
function channelColumn(bias: tf.Tensor): tf.Tensor2D {
  return bias.reshape([bias.shape[0]!, 1]);
}

function inputGradientKernel(implementation: () => Implementation): tf.KernelFunc {
  return (args) => {
    // A bias comes only with the transposed convolution's forward pass.
    const { dy, w, b } = args.inputs as { dy: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
    if (implementation() === 'onnxruntime') return ortConv1dInputGradient(args);
    const a = conv1dAttributes(args.attrs!);
    const inputLength = args.attrs!['inputLength'] as number;
    if (b === undefined) return composed([dy, w], (dys, ws) => composedInputGradient(dys!, ws!, a, inputLength));
    return composed([dy, w, b], (dys, ws, bs) => composedInputGradient(dys!, ws!, a, inputLength).add(channelColumn(bs!)));
  };
}

function filterGradientKernel(implementation: () => Implementation): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    if (implementation() === 'onnxruntime') return ortConv1dFilterGradient(args);
    const kernelSize = args.attrs!['kernelSize'] as number;
    return composed([x, dy], (xs, dys) => composedFilterGradient(xs!, dys!, conv1dAttributes(args.attrs!), kernelSize));
  };
}

const registeredBackends = new Set<string>();
let gradientsRegistered = false;

/**
 * Registers the three kernels on a tfjs backend. `implementation` is asked on
 * every call, since one tfjs backend ('wasm') serves two rungs.
 */
export function registerConv1dKernels(backendName: string, implementation: () => Implementation): void {
  if (!registeredBackends.has(backendName)) {
    registeredBackends.add(backendName);
    tf.registerKernel({ kernelName: CONV1D, backendName, kernelFunc: forwardKernel(implementation) });
    tf.registerKernel({ kernelName: CONV1D_INPUT_GRADIENT, backendName, kernelFunc: inputGradientKernel(implementation) });
    tf.registerKernel({ kernelName: CONV1D_FILTER_GRADIENT, backendName, kernelFunc: filterGradientKernel(implementation) });
  }
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: CONV1D,
    inputsToSave: ['x', 'w'],
    gradFunc: (dy, saved, attrs) => {
      const [x, w] = saved as [tf.Tensor3D, tf.Tensor3D];
      const grad = dy as tf.Tensor3D;
      return {
        x: () => tf.engine().runKernel(CONV1D_INPUT_GRADIENT, { dy: grad, w }, { ...attrs, inputLength: x.shape[2] }) as tf.Tensor,
        w: () => tf.engine().runKernel(CONV1D_FILTER_GRADIENT, { x, dy: grad }, { ...attrs, kernelSize: w.shape[2] }) as tf.Tensor,
        // Asked for only when the call had a bias.
        b: () => tf.sum(grad, [0, 2]),
      };
    },
  });
  // The input-gradient kernel is also the transposed convolution's forward pass.
  tf.registerGradient({
    kernelName: CONV1D_INPUT_GRADIENT,
    inputsToSave: ['dy', 'w'],
    gradFunc: (gradOut, saved, attrs) => {
      const [input, w] = saved as [tf.Tensor3D, tf.Tensor3D];
      const grad = gradOut as tf.Tensor3D;
      // The roles swap: the upsampled output plays the forward conv's input.
      return {
        dy: () => tf.engine().runKernel(CONV1D, { x: grad, w }, attrs) as tf.Tensor,
        w: () => tf.engine().runKernel(CONV1D_FILTER_GRADIENT, { x: grad, dy: input }, { ...attrs, kernelSize: w.shape[2] }) as tf.Tensor,
        // Asked for only when the transposed convolution had a bias.
        b: () => tf.sum(grad, [0, 2]),
      };
    },
  });
}

// ---------------------------------------------------------------------------
// The ops

function conv1dAttrMap(a: Conv1dAttributes): tf.NamedAttrMap {
  return { stride: a.stride, dilation: a.dilation, padLeft: a.padLeft, padRight: a.padRight };
}

/**
 * y[B, Cout, To] = conv1d(x[B, Cin, T], w[Cout, Cin, K]), differentiable in x and w.
 */
export function conv1d(x: tf.Tensor3D, w: tf.Tensor3D, options: Conv1dOptions = {}): tf.Tensor3D {
  const { bias } = options;
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) {
    throw new RangeError(`conv1d: bias of shape [${bias.shape}] does not match ${w.shape[0]} output channels`);
  }
  const kernelSize = w.shape[2];
  if (x.shape[1] !== w.shape[1]) {
    throw new RangeError(`conv1d: input has ${x.shape[1]} channels, filter expects ${w.shape[1]}`);
  }
  const a = resolveConv1dAttributes(x.shape[2], kernelSize, options);
  if (conv1dOutputLength(x.shape[2], kernelSize, a) < 1) {
    throw new RangeError(`conv1d: input of ${x.shape[2]} samples is shorter than the kernel's span`);
  }
  // The bias goes into the kernel, pointwise or not: onnxruntime's Conv adds it on the way
  // out of its GEMM, where a separate add would be one more pass over the activation.
  const inputs: tf.NamedTensorMap = bias === undefined ? { x, w } : { x, w, b: bias };
  return tf.engine().runKernel(CONV1D, inputs, conv1dAttrMap(a)) as tf.Tensor3D;
}

/** Output length of convTranspose1d. */
export function convTranspose1dOutputLength(inputLength: number, kernelSize: number, options: ConvTranspose1dOptions): number {
  const stride = options.stride ?? 1;
  const dilation = options.dilation ?? 1;
  const [trimStart, trimEnd] = options.trim ?? [0, 0];
  return stride * (inputLength - 1) + dilation * (kernelSize - 1) + 1 - trimStart - trimEnd + (options.outputPadding ?? 0);
}

/**
 * y[B, Cout, To] = convTranspose1d(x[B, Cin, T], w[Cin, Cout, K]): the adjoint of
 * conv1d with the same filter, as used by upsampling decoders (PyTorch's
 * ConvTranspose1d with padding = trim).
 */
export function convTranspose1d(x: tf.Tensor3D, w: tf.Tensor3D, options: ConvTranspose1dOptions = {}): tf.Tensor3D {
  const kernelSize = w.shape[2];
  if (x.shape[1] !== w.shape[0]) {
    throw new RangeError(`convTranspose1d: input has ${x.shape[1]} channels, filter expects ${w.shape[0]}`);
  }
  const stride = options.stride ?? 1;
  const outputPadding = options.outputPadding ?? 0;
  if (!Number.isInteger(outputPadding) || outputPadding < 0 || outputPadding >= stride) {
    throw new RangeError(`convTranspose1d: outputPadding must be in [0, stride) (got ${outputPadding})`);
  }
  const [padLeft, padRight] = options.trim ?? [0, 0];
  const a: Conv1dAttributes = { stride, dilation: options.dilation ?? 1, padLeft, padRight };
  const outLength = convTranspose1dOutputLength(x.shape[2], kernelSize, options);
  if (outLength < 1) throw new RangeError('convTranspose1d: trims remove the whole output');
  const { bias } = options;
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== w.shape[1])) {
    throw new RangeError(`convTranspose1d: bias of shape [${bias.shape}] does not match ${w.shape[1]} output channels`);
  }
  // The bias goes into the kernel, which adds it inside its product where it can (see ort/graphs.ts).
  const inputs: tf.NamedTensorMap = bias === undefined ? { dy: x, w } : { dy: x, w, b: bias };
  return tf.engine().runKernel(CONV1D_INPUT_GRADIENT, inputs, { ...conv1dAttrMap(a), inputLength: outLength }) as tf.Tensor3D;
}
