/**
 * tfjs kernels on the wasm backend that run their heavy op on onnxruntime.
 *
 * Inputs are zero-copy views of the wasm heap and onnxruntime writes straight
 * into a preallocated output tensor on the same heap. (onnxruntime-node 1.30
 * then also copies each output into a fresh ArrayBuffer, which is dropped:
 * ~0.13 s of a reference training step; ../../relaunch.ts keeps that copy
 * from faulting in fresh pages.) The views are made after the output is
 * allocated: allocation may grow the heap and detach earlier views.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Tensor as OrtTensor } from 'onnxruntime-common';

import type { Conv1dAttributes } from './graphs.js';
import {
  batchMatMulGraph,
  conv1dFilterGradientGraph,
  conv1dForwardGraph,
  conv1dInputGradientGraph,
  filterGradientMethod,
  inputGradientMethod,
  polyphaseTaps,
  reduceSumGraph,
} from './graphs.js';
import { ortFloatTensor, SyncSession } from './runtime.js';

/** Below this many multiply-adds tfjs's own matmul wins over the call overhead. */
const MATMUL_MIN_MACS = 1 << 18;
/** Below this many elements tfjs's own Sum wins. */
const SUM_MIN_ELEMENTS = 1 << 16;

const sessions = new Map<string, SyncSession>();

/**
 * The replaced BatchMatMul and Sum stay registered when another rung is picked later
 * in the same process (tests and the bench switch rungs), so they ask on each call.
 */
let isOrtActive: () => boolean = () => false;

function session(key: string, build: () => Uint8Array): SyncSession {
  let found = sessions.get(key);
  if (found === undefined) {
    found = new SyncSession(build());
    sessions.set(key, found);
  }
  return found;
}

function attributesKey(a: Conv1dAttributes): string {
  return `s${a.stride}d${a.dilation}p${a.padLeft},${a.padRight}`;
}

function heapView(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`onnxruntime kernels take float32, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Allocates the output, then runs `graph` over heap views of inputs and output. */
function runOnHeap(
  backend: BackendWasm,
  graph: SyncSession,
  inputs: Record<string, tf.TensorInfo>,
  outputName: string,
  outputShape: number[],
): tf.TensorInfo {
  const output = backend.makeOutput(outputShape, 'float32');
  if (outputShape.some((d) => d === 0)) return output;
  const feeds: Record<string, OrtTensor> = {};
  for (const [name, info] of Object.entries(inputs)) feeds[name] = ortFloatTensor(heapView(backend, info), info.shape);
  graph.run(feeds, { [outputName]: ortFloatTensor(heapView(backend, output), outputShape) });
  return output;
}

/** The attributes the convolution kernels carry, read back from tfjs's attribute map. */
export function conv1dAttributes(attrs: tf.NamedAttrMap): Conv1dAttributes {
  return {
    stride: attrs['stride'] as number,
    dilation: attrs['dilation'] as number,
    padLeft: attrs['padLeft'] as number,
    padRight: attrs['padRight'] as number,
  };
}

/** Output length of a 1-D convolution with explicit pads. */
export function conv1dOutputLength(inputLength: number, kernelSize: number, a: Conv1dAttributes): number {
  const span = a.dilation * (kernelSize - 1) + 1;
  return Math.floor((inputLength + a.padLeft + a.padRight - span) / a.stride) + 1;
}

// Layouts: activations [B, C, T], filters [Co, Ci, K] (see ../conv1d.ts).

export const ortConv1dForward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
  const a = conv1dAttributes(attrs!);
  const [batch, , length] = x.shape as [number, number, number];
  const [outChannels, , kernelSize] = w.shape as [number, number, number];
  const outLength = conv1dOutputLength(length, kernelSize, a);
  const withBias = b !== undefined;
  const graph = session(`fwd:${attributesKey(a)}k${kernelSize}${withBias ? ':bias' : ''}`, () => conv1dForwardGraph(a, kernelSize, withBias));
  return runOnHeap(backend as BackendWasm, graph, withBias ? { x, w, b } : { x, w }, 'y', [batch, outChannels, outLength]);
};

export const ortConv1dInputGradient: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as BackendWasm;
  const { dy, w, b } = inputs as { dy: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
  const withBias = b !== undefined;
  const a = conv1dAttributes(attrs!);
  const inputLength = attrs!['inputLength'] as number;
  const [batch, outChannels, outLength] = dy.shape as [number, number, number];
  const [, inChannels, kernelSize] = w.shape as [number, number, number];
  // ConvTranspose yields stride·(To−1) + span − pads; the rest of the input length
  // (samples the forward stride skipped over) comes back as output padding.
  const span = a.dilation * (kernelSize - 1) + 1;
  const outputPadding = inputLength - (a.stride * (outLength - 1) + span - a.padLeft - a.padRight);
  if (outputPadding < 0 || outputPadding >= Math.max(a.stride, a.dilation)) {
    throw new Error(`conv1d input gradient: length ${inputLength} does not match ${outLength} outputs`);
  }
  const kind = inputGradientMethod(a, kernelSize, outLength);
  // ConvTranspose takes the output padding as an attribute; the polyphase methods trim instead.
  const key = `dx:${attributesKey(a)}k${kernelSize}:${kind}` + (kind === 'conv-transpose' ? `op${outputPadding}` : '') + (withBias ? ':bias' : '');
  const graph = session(key, () => conv1dInputGradientGraph(a, kernelSize, outputPadding, kind, withBias));
  const biasInput: Record<string, tf.TensorInfo> = b === undefined ? {} : { b };
  if (kind === 'flipped-conv' || kind === 'conv-transpose') {
    return runOnHeap(backend, graph, { dy, w, ...biasInput }, 'dx', [batch, inChannels, inputLength]);
  }

  const s = a.stride;
  const taps = polyphaseTaps(kernelSize, s);
  const frames = outLength + taps; // Q, the frames of each phase
  let phases: tf.TensorInfo; // z [B, Ci·s, Q]
  if (kind === 'polyphase') {
    phases = runOnHeap(backend, graph, { dy, w, ...biasInput }, 'z', [batch, inChannels * s, frames]);
  } else {
    // wt[(m, o), (i, r)] = w[o, i, m·s + r]: [Co·Ci, M, s] → [M, Co·Ci, s], after padding the taps to M·s.
    const wPadded = taps * s > kernelSize ? heapPadTime(backend, w, 0, taps * s - kernelSize) : w;
    const wt = heapTranspose(backend, wPadded, [outChannels * inChannels, taps, s], [1, 0, 2]);
    if (wPadded !== w) release(backend, wPadded);
    // cols[(m, o), (b, q)] = dy[b, o, q − m], zero outside dy.
    const cols = backend.makeOutput([taps * outChannels, batch * frames], 'float32');
    const source = heapView(backend, dy);
    const target = heapView(backend, cols);
    for (let m = 0; m < taps; m++) {
      for (let o = 0; o < outChannels; o++) {
        for (let b = 0; b < batch; b++) {
          const at = ((m * outChannels + o) * batch + b) * frames;
          copyRun(source, (b * outChannels + o) * outLength, outLength, -m, target, at, frames);
        }
      }
    }
    const wtInfo = { ...wt, shape: [taps * outChannels, inChannels * s] };
    const z = runOnHeap(backend, graph, { cols, wt: wtInfo, ...biasInput }, 'z', [inChannels * s, batch * frames]);
    release(backend, cols);
    release(backend, wt);
    // [Ci·s, B, Q] → [B, Ci·s, Q]
    phases = heapTranspose(backend, z, [inChannels * s, batch, frames], [1, 0, 2]);
    release(backend, z);
  }
  // [B·Ci, s, Q] → [B·Ci, Q, s] is the padded dx [B, Ci, Q·s]; dx starts padLeft samples in.
  const interleaved = heapTranspose(backend, phases, [batch * inChannels, s, frames], [0, 2, 1]);
  release(backend, phases);
  const dx = heapSlice(backend, interleaved, [batch, inChannels, frames * s], [0, 0, a.padLeft], [batch, inChannels, inputLength]);
  release(backend, interleaved);
  return dx;
};

/**
 * Copies source[start + shift + t] for t in [0, length) to target[at + t], as
 * zeros where that runs off the source row [start, start + rowLength).
 */
function copyRun(source: Float32Array, start: number, rowLength: number, shift: number, target: Float32Array, at: number, length: number): void {
  const lo = Math.min(length, Math.max(0, -shift));
  const hi = Math.max(lo, Math.min(length, rowLength - shift));
  if (lo > 0) target.fill(0, at, at + lo);
  if (hi > lo) target.set(source.subarray(start + shift + lo, start + shift + hi), at + lo);
  if (hi < length) target.fill(0, at + hi, at + length);
}

export const ortConv1dFilterGradient: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as BackendWasm;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = conv1dAttributes(attrs!);
  const kernelSize = attrs!['kernelSize'] as number;
  if (a.stride > 1 && a.dilation === 1) return phaseFilterGradient(backend, x, dy, a, kernelSize);
  return filterGradientOnOrt(backend, x, dy, a, kernelSize);
};

/** dw[Co, Ci, K] by the filter-gradient graph conv1dFilterGradientGraph picks for these shapes. */
function filterGradientOnOrt(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, a: Conv1dAttributes, kernelSize: number): tf.TensorInfo {
  const inChannels = x.shape[1]!;
  const outChannels = dy.shape[1]!;
  const method = filterGradientMethod(a, kernelSize, inChannels, outChannels, dy.shape[2]!);
  const graph = session(`dw:${attributesKey(a)}k${kernelSize}:${method}`, () => conv1dFilterGradientGraph(a, kernelSize, method));
  return runOnHeap(backend, graph, { x, dy }, 'dw', [outChannels, inChannels, kernelSize]);
}

/**
 * The filter gradient of a strided convolution, as that of a stride-1 one over
 * the input's phases. Tap k = m·s + r of output t reads padded sample (t + m)·s + r,
 * which is sample t + m of phase r: splitting x[B, Ci, T] into xph[B, Ci·s, L]
 * (channel i·s + r = phase r of channel i, L = To + M − 1) makes it a stride-1
 * convolution over M = ceil(K/s) taps. Its taps are contiguous where the strided
 * ones were every s-th sample, which onnxruntime's Slice copied at ~1 GB/s here
 * (a third to a half of these gradients' time); the split is one wasm transpose.
 */
function phaseFilterGradient(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, a: Conv1dAttributes, kernelSize: number): tf.TensorInfo {
  const [batch, inChannels, length] = x.shape as [number, number, number];
  const outChannels = dy.shape[1]!;
  const s = a.stride;
  const taps = polyphaseTaps(kernelSize, s);
  const phaseLength = dy.shape[2]! + taps - 1;
  // Pad to exactly L·s samples; samples past the last tap's reach are dropped.
  const padRight = phaseLength * s - length - a.padLeft;
  const kept = padRight < 0 ? heapSlice(backend, x, [batch, inChannels, length], [0, 0, 0], [batch, inChannels, length + padRight]) : x;
  const padded = heapPadTime(backend, kept, a.padLeft, Math.max(padRight, 0));
  if (kept !== x) release(backend, kept);
  const xph = heapTranspose(backend, padded, [batch * inChannels, phaseLength, s], [0, 2, 1]);
  release(backend, padded);
  const stride1: Conv1dAttributes = { stride: 1, dilation: 1, padLeft: 0, padRight: 0 };
  const phaseDw = filterGradientOnOrt(backend, { ...xph, shape: [batch, inChannels * s, phaseLength] }, dy, stride1, taps); // [Co, Ci·s, M]
  release(backend, xph);
  // dw'[o, i·s + r, m] is tap m·s + r: [Co·Ci, s, M] → [Co·Ci, M, s], then the first K taps.
  const ordered = heapTranspose(backend, phaseDw, [outChannels * inChannels, s, taps], [0, 2, 1]);
  release(backend, phaseDw);
  if (taps * s === kernelSize) return { ...ordered, shape: [outChannels, inChannels, kernelSize] };
  const dw = heapSlice(backend, ordered, [outChannels, inChannels, taps * s], [0, 0, 0], [outChannels, inChannels, kernelSize]);
  release(backend, ordered);
  return dw;
}

// ---------------------------------------------------------------------------
// Data movement between onnxruntime calls runs on tfjs's own wasm kernels and
// on plain copies of contiguous runs: here they move 3-8 GB/s, where
// onnxruntime's Transpose and strided Slice moved ~1 GB/s (a 16 MB interleave
// took 2.6 ms against ~14). Results are new heap tensors; callers release
// their intermediates.

function wasmKernel(name: string): tf.KernelFunc {
  const kernel = tf.getKernel(name, 'wasm');
  if (kernel === undefined) throw new Error(`tfjs's wasm backend has no ${name} kernel`);
  return kernel.kernelFunc;
}

/** `info` read as the 3-D `shape` (same size), transposed by `perm`. */
function heapTranspose(backend: BackendWasm, info: tf.TensorInfo, shape: [number, number, number], perm: [number, number, number]): tf.TensorInfo {
  // tfjs's wasm transpose is fast up to rank 3; a 4-D one ran ~6× slower.
  return wasmKernel('Transpose')({ inputs: { x: { ...info, shape } }, backend, attrs: { perm } }) as tf.TensorInfo;
}

function heapPadTime(backend: BackendWasm, info: tf.TensorInfo, left: number, right: number): tf.TensorInfo {
  const paddings = [[0, 0], [0, 0], [left, right]];
  return wasmKernel('PadV2')({ inputs: { x: info }, backend, attrs: { paddings, constantValue: 0 } }) as tf.TensorInfo;
}

/** The block at `begin` of extent `size` out of `info` read as `shape`. */
function heapSlice(backend: BackendWasm, info: tf.TensorInfo, shape: number[], begin: number[], size: number[]): tf.TensorInfo {
  const output = backend.makeOutput(size, info.dtype);
  if (tf.util.sizeFromShape(size) > 0) {
    // Views after the allocation, which may grow the heap and detach earlier ones.
    copySlice(backend.typedArrayFromHeap(info), shape, begin, size, backend.typedArrayFromHeap(output));
  }
  return output;
}

function release(backend: BackendWasm, info: tf.TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * Sends tfjs's wasm BatchMatMul and Sum to onnxruntime where that pays (idempotent).
 * The convolution kernels above are registered by ../conv1d.ts.
 */
export function registerOrtKernels(backendName: 'wasm', isActive: () => boolean): void {
  isOrtActive = isActive;
  replaceKernel('BatchMatMul', backendName, ortBatchMatMul);
  replaceKernel('Sum', backendName, ortSum);
}

const replaced = new Set<string>();

/** Swaps a tfjs kernel for one built around the original (idempotent per kernel and backend). */
function replaceKernel(kernelName: string, backendName: string, build: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const key = `${kernelName}@${backendName}`;
  const original = tf.getKernel(kernelName, backendName);
  if (original === undefined || replaced.has(key)) return;
  replaced.add(key);
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc: build(original.kernelFunc) });
}

/**
 * Sum goes to onnxruntime for big inputs: bias gradients reduce [B, C, T] over B
 * and T, which tfjs's wasm kernel does by transposing first (~7 ms a call on an
 * 8 × 32 × 16000 activation, 0.2 s of a reference training step).
 */
function ortSum(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const keepDims = args.attrs!['keepDims'] as boolean;
    const rank = x.shape.length;
    const axes = tf.util
      .parseAxisParam(args.attrs!['axis'] as number | number[], x.shape)
      .map((axis) => (axis + rank) % rank)
      .sort((p, q) => p - q);
    const size = tf.util.sizeFromShape(x.shape);
    if (!isOrtActive() || x.dtype !== 'float32' || size < SUM_MIN_ELEMENTS || axes.length === 0) {
      return original(args);
    }
    const graph = session(`sum:${rank}:${axes.join(',')}`, () => reduceSumGraph(rank, axes));
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const output = runOnHeap(args.backend as BackendWasm, graph, { x }, 'y', kept);
    if (keepDims) return output;
    // Dropping the reduced axes is a reshape: same memory, new shape.
    return { dataId: output.dataId, dtype: output.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) };
  };
}

/**
 * Identity shares memory instead of copying. tfjs clones every tensor it saves
 * for a gradient (saveTensorsForBackwardMode), and the wasm backend's Identity
 * copies the data: ~190 copies, 0.2 s of a reference training step. tfjs never
 * writes into a tensor's memory after creating it (variables swap their data
 * id on assign), so sharing is safe; the cpu backend and wasm's own Reshape
 * share the same way.
 */
export function shareIdentity(backendName: 'wasm'): void {
  replaceKernel('Identity', backendName, () => ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    (backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

/**
 * Slice copies only what it returns. The wasm backend's own Slice first copies
 * its whole input out of the heap (readSync), so cutting 7 taps out of a
 * [16, 256, 32] activation, or a code block out of a [262144, 32] table, cost
 * the full tensor every time (0.9 s of a codec training step). Here the input is
 * read in place and the slice is copied as runs along the innermost axes.
 */
export function sliceFromHeap(backendName: 'wasm'): void {
  replaceKernel('Slice', backendName, (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') return original(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x, args.attrs!['begin'] as number[], args.attrs!['size'] as number[]);
    return heapSlice(args.backend as BackendWasm, x, x.shape, begin, size);
  });
}

type HeapArray = ReturnType<BackendWasm['typedArrayFromHeap']>;

/** Copies the block at `begin` of extent `size` out of a row-major `shape` array. */
export function copySlice(source: HeapArray, shape: readonly number[], begin: readonly number[], size: readonly number[], target: HeapArray): void {
  const rank = shape.length;
  // Trailing axes taken whole, plus the axis before them, are one contiguous run.
  let run = 1;
  let axis = rank - 1;
  while (axis >= 0 && begin[axis] === 0 && size[axis] === shape[axis]) run *= shape[axis--]!;
  if (axis < 0) {
    target.set(source.subarray(0, run));
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  run *= size[axis]!;
  const runStart = begin[axis]! * strides[axis]!;
  let runs = 1;
  for (let d = 0; d < axis; d++) runs *= size[d]!;
  const index = new Array<number>(axis).fill(0);
  let written = 0;
  for (let n = 0; n < runs; n++) {
    let offset = runStart;
    for (let d = 0; d < axis; d++) offset += (begin[d]! + index[d]!) * strides[d]!;
    if (run >= 32) {
      target.set(source.subarray(offset, offset + run), written);
    } else {
      for (let i = 0; i < run; i++) target[written + i] = source[offset + i]!;
    }
    written += run;
    for (let d = axis - 1; d >= 0; d--) {
      if (++index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
}

/**
 * BatchMatMul goes to onnxruntime when it is big enough to pay for the call;
 * tfjs's matMul gradient is itself two matMuls, so training gets it too.
 */
function ortBatchMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const transposeA = args.attrs!['transposeA'] as boolean;
    const transposeB = args.attrs!['transposeB'] as boolean;
    // tfjs hands over any rank >= 2; the leading dims are batch dims. Flattening them is
    // free here (heap views take any dims), as long as one side's batch is 1 or both agree.
    const leadA = a.shape.slice(0, -2);
    const leadB = b.shape.slice(0, -2);
    const batchA = leadA.reduce((p, d) => p * d, 1);
    const batchB = leadB.reduce((p, d) => p * d, 1);
    const [rowsA, colsA] = a.shape.slice(-2) as [number, number];
    const [rowsB, colsB] = b.shape.slice(-2) as [number, number];
    const m = transposeA ? colsA : rowsA;
    const k = transposeA ? rowsA : colsA;
    const n = transposeB ? rowsB : colsB;
    const lead = tf.backend_util.assertAndGetBroadcastShape(leadA, leadB);
    const batch = lead.reduce((p, d) => p * d, 1);
    const flattenable = batchA === batchB || batchA === 1 || batchB === 1;
    if (
      !isOrtActive() ||
      !flattenable ||
      a.dtype !== 'float32' ||
      b.dtype !== 'float32' ||
      batch * m * n * k < MATMUL_MIN_MACS
    ) {
      return original(args);
    }
    const graph = session(`mm:${transposeA ? 1 : 0}${transposeB ? 1 : 0}`, () => batchMatMulGraph(transposeA, transposeB));
    const backend = args.backend as BackendWasm;
    const output = backend.makeOutput([...lead, m, n], 'float32');
    graph.run(
      {
        a: ortFloatTensor(heapView(backend, a), [batchA, rowsA, colsA]),
        b: ortFloatTensor(heapView(backend, b), [batchB, rowsB, colsB]),
      },
      { c: ortFloatTensor(heapView(backend, output), [batch, m, n]) },
    );
    return output;
  };
}

/** Keys of the cached onnxruntime sessions (op, attributes, method): tests check coverage with them. */
export function ortSessionKeys(): string[] {
  return [...sessions.keys()];
}
