/**
 * The small ONNX graphs behind the onnxruntime kernels, one per attribute set.
 *
 * Layouts are onnxruntime's own (and PyTorch's): activations [B, C, T], conv
 * filters [Co, Ci, K]. Batch, channel and length dims are symbolic, so one
 * session serves every shape with the same attributes.
 *
 * Every forward convolution is onnxruntime's own Conv (one GEMM per batch item),
 * a 1×1 one without a bias a batched MatMul; gradients are rewritten as forward
 * products where that is faster (see conv1dInputGradientGraph and
 * conv1dFilterGradientGraph). The graphs hold the products; moving data between
 * them (phase splits, interleaves, trims) is left to ./kernels.ts, on the wasm
 * heap. For the forward pass, a channels-last im2col with one GEMM over all
 * frames lost to Conv on every reference shape, deep short-sequence layers
 * included (38-63 against 61-116 GFLOP/s), so there is no second emission.
 */
import { OnnxGraphBuilder } from '../../onnx/index.js';

/** Attributes of a 1-D convolution; pads are explicit [left, right]. */
export interface Conv1dAttributes {
  stride: number;
  dilation: number;
  padLeft: number;
  padRight: number;
}

/** dims[index] of a shape vector, as a 1-element int64 tensor. */
function shapeDim(g: OnnxGraphBuilder, shape: string, index: number): string {
  const out = g.uniqueName(`${shape}_${index}`);
  g.addNode('Slice', [shape, g.addConstant('from', 'int64', [index]), g.addConstant('to', 'int64', [index + 1])], [out]);
  return out;
}

function shapeOf(g: OnnxGraphBuilder, tensor: string): string {
  const out = g.uniqueName(`${tensor}_shape`);
  g.addNode('Shape', [tensor], [out]);
  return out;
}

function unsqueeze(g: OnnxGraphBuilder, input: string, axis: number): string {
  const out = g.uniqueName(`${input}_unsqueezed`);
  g.addNode('Unsqueeze', [input, g.addConstant('axis', 'int64', [axis])], [out]);
  return out;
}

function transpose(g: OnnxGraphBuilder, input: string, perm: number[]): string {
  const out = g.uniqueName(`${input}_t`);
  g.addNode('Transpose', [input], [out], { perm });
  return out;
}

/** Reverses one axis (Slice with step −1). */
function reverseAxis(g: OnnxGraphBuilder, input: string, axis: number): string {
  const output = g.uniqueName(`${input}_reversed`);
  g.addNode('Slice', [
    input,
    g.addConstant('rev_start', 'int64', [-1]),
    g.addConstant('rev_end', 'int64', [-(2n ** 63n)]),
    g.addConstant('rev_axis', 'int64', [axis]),
    g.addConstant('rev_step', 'int64', [-1]),
  ], [output]);
  return output;
}

/** Zero-pads the time axis (`axis`) by [left, right]. */
function padTime(g: OnnxGraphBuilder, x: string, axis: number, left: number, right: number): string {
  if (left === 0 && right === 0) return x;
  const pads = [0, 0, 0, 0, 0, 0];
  pads[axis] = left;
  pads[3 + axis] = right;
  const out = g.uniqueName(`${x}_padded`);
  g.addNode('Pad', [x, g.addConstant('pads', 'int64', pads)], [out]);
  return out;
}

/**
 * The K views of a padded signal that the taps of a convolution see, along
 * `axis`: view k starts at k·dilation and steps by the stride. `span` is an
 * int64 [1] tensor holding stride·(To−1)+1, the samples a view covers.
 */
function tapViews(g: OnnxGraphBuilder, padded: string, axis: number, span: string, kernelSize: number, a: Conv1dAttributes): string[] {
  const axisName = g.addConstant('time_axis', 'int64', [axis]);
  const step = g.addConstant('step', 'int64', [a.stride]);
  const views: string[] = [];
  for (let k = 0; k < kernelSize; k++) {
    const start = g.addConstant(`start_${k}`, 'int64', [k * a.dilation]);
    const end = g.uniqueName(`end_${k}`);
    g.addNode('Add', [span, start], [end]);
    const view = g.uniqueName(`view_${k}`);
    g.addNode('Slice', [padded, start, end, axisName, step], [view]);
    views.push(view);
  }
  return views;
}

/** A 1×1 convolution with no stride or pads: without a bias the graphs run it as a MatMul. */
export function isPointwise(kernelSize: number, a: Conv1dAttributes): boolean {
  return kernelSize === 1 && a.stride === 1 && a.padLeft === 0 && a.padRight === 0;
}

/** Stride 1 with pads no wider than the kernel's reach: the gradient can run the convolution mirrored. */
function mirrorable(a: Conv1dAttributes, kernelSize: number): boolean {
  const reach = a.dilation * (kernelSize - 1);
  return a.stride === 1 && a.padLeft <= reach && a.padRight <= reach;
}

/**
 * Emits y[B, Co, To] = conv(x[B, Ci, T], w[Co, Ci, K]) (+ bias[Co]) and returns y's name.
 */
function emitConv(
  g: OnnxGraphBuilder,
  x: string,
  w: string,
  kernelSize: number,
  a: Conv1dAttributes,
  output?: string,
  bias?: string,
): string {
  const y = output ?? g.uniqueName('y');
  if (isPointwise(kernelSize, a) && bias === undefined) {
    // Pointwise: [Co, Ci] · [B, Ci, T] is a plain batched GEMM, up to 3× faster than Conv's 1×1 path
    // here. With a bias Conv wins instead: MatMul has no bias epilogue, and adding the bias in a
    // pass of its own over a [8, 32, 16000] activation cost more than the MatMul saved (a
    // reference training step 5-7 % faster, side by side).
    const matrix = g.uniqueName(`${w}_matrix`);
    g.addNode('Squeeze', [w, g.addConstant('tap_axis', 'int64', [2])], [matrix]);
    g.addNode('MatMul', [matrix, x], [y]);
    return y;
  }
  // Conv adds the bias inside its GEMM epilogue, while the output is still in cache.
  g.addNode('Conv', bias === undefined ? [x, w] : [x, w, bias], [y], {
    strides: [a.stride],
    dilations: [a.dilation],
    pads: [a.padLeft, a.padRight],
  });
  return y;
}

/** y[B,Co,To] = conv(x[B,Ci,T], w[Co,Ci,K]) (+ b[Co] when `withBias`). */
export function conv1dForwardGraph(a: Conv1dAttributes, kernelSize: number, withBias: boolean): Uint8Array {
  const g = new OnnxGraphBuilder('conv1d_forward');
  g.addInput('x', 'float32', ['B', 'Ci', 'T']);
  g.addInput('w', 'float32', ['Co', 'Ci', kernelSize]);
  if (withBias) g.addInput('b', 'float32', ['Co']);
  g.addOutput('y', 'float32', ['B', 'Co', 'To']);
  emitConv(g, 'x', 'w', kernelSize, a, 'y', withBias ? 'b' : undefined);
  return g.toModelBytes();
}

/** How the input gradient is computed for an attribute set (see conv1dInputGradientGraph). */
export type InputGradientMethod = 'flipped-conv' | 'polyphase' | 'polyphase-folded' | 'conv-transpose';

export function inputGradientMethod(a: Conv1dAttributes, kernelSize: number, outLength: number): InputGradientMethod {
  if (mirrorable(a, kernelSize)) return 'flipped-conv';
  if (a.dilation !== 1) return 'conv-transpose';
  // Conv runs one GEMM per batch item, too thin over a short sequence: there the
  // phases are one GEMM over all B·Q frames instead.
  return outLength > 128 ? 'polyphase' : 'polyphase-folded';
}

/** Taps per phase of a polyphase input gradient: M = ceil(K / s). */
export function polyphaseTaps(kernelSize: number, stride: number): number {
  return Math.ceil(kernelSize / stride);
}

/**
 * The input gradient dx[B,Ci,T] from dy[B,Co,To] and w[Co,Ci,K], or for the
 * polyphase methods the phases it interleaves from.
 *
 * onnxruntime's ConvTranspose ran at ~13 GFLOP/s here against ~85 for Conv, so
 * the gradient is written as a forward product wherever it can be:
 *   - 'flipped-conv' (stride 1): a convolution with the flipped filter → dx;
 *   - 'polyphase' (stride s > 1, dilation 1): sample u = q·s + r of the padded
 *     dx (phase r) only meets taps r, r+s, r+2s, ...:
 *       dx[b, i, q·s + r] = Σ_{m, o} w[o, i, m·s + r] · dy[b, o, q − m],
 *     a stride-1 convolution of dy over M = ceil(K/s) taps with s·Ci output
 *     channels → z[B, Ci·s, Q], Q = To + M;
 *   - 'polyphase-folded' (the same, short sequences): onnxruntime's Conv runs
 *     one GEMM per batch item, too thin over ~50 frames, so all items go in one:
 *     wt[(m, o), (i, r)] = w[o, i, m·s + r] times the shifted copies of dy,
 *     cols[(m, o), (b, q)] = dy[b, o, q − m], both laid out by ./kernels.ts
 *     → z[Ci·s, B·Q];
 *   - 'conv-transpose' (stride and dilation both > 1): ConvTranspose → dx.
 * ./kernels.ts interleaves z's phases into dx on the wasm heap, where that
 * transpose runs ~5× faster than onnxruntime's.
 */
export function conv1dInputGradientGraph(
  a: Conv1dAttributes,
  kernelSize: number,
  outputPadding: number,
  kind: InputGradientMethod,
  withBias = false,
): Uint8Array {
  const g = new OnnxGraphBuilder('conv1d_input_gradient');
  // A bias b[Ci] (the transposed convolution's) is added inside the product; the
  // polyphase ones add it to each of a channel's s phases.
  const bias = withBias ? 'b' : undefined;
  const phaseBias = (): string => {
    const repeated = g.uniqueName('b_phases');
    const s = g.addConstant('phase_count', 'int64', [1, a.stride]);
    g.addNode('Expand', [unsqueeze(g, 'b', 1), s], [repeated + '_2d']);
    g.addNode('Reshape', [repeated + '_2d', g.addConstant('flat', 'int64', [-1])], [repeated]);
    return repeated;
  };
  if (kind === 'polyphase-folded') {
    g.addInput('cols', 'float32', ['MCo', 'N']);
    g.addInput('wt', 'float32', ['MCo', 'CiS']);
    if (withBias) g.addInput('b', 'float32', ['Ci']);
    g.addOutput('z', 'float32', ['CiS', 'N']);
    const column = withBias ? [unsqueeze(g, phaseBias(), 1)] : [];
    g.addNode('Gemm', ['wt', 'cols', ...column], ['z'], { transA: 1 });
    return g.toModelBytes();
  }
  g.addInput('dy', 'float32', ['B', 'Co', 'To']);
  g.addInput('w', 'float32', ['Co', 'Ci', kernelSize]);
  if (withBias) g.addInput('b', 'float32', ['Ci']);
  if (kind === 'polyphase') g.addOutput('z', 'float32', ['B', 'CiS', 'Q']);
  else g.addOutput('dx', 'float32', ['B', 'Ci', 'T']);
  if (kind === 'flipped-conv') {
    // Filter [Ci, Co, K] with the taps reversed: dx[t] = Σ_k w[k]ᵀ · dy[t + padLeft − k·d].
    const reach = a.dilation * (kernelSize - 1);
    const flipped = reverseAxis(g, transpose(g, 'w', [1, 0, 2]), 2);
    const pads = { stride: 1, dilation: a.dilation, padLeft: reach - a.padLeft, padRight: reach - a.padRight };
    emitConv(g, 'dy', flipped, kernelSize, pads, 'dx', bias);
    return g.toModelBytes();
  }
  if (kind === 'polyphase') {
    // As a convolution over dy padded by M − 1 on the left, conv tap j is m = M − 1 − j:
    // the filter [Ci·s, Co, M] takes w's taps by phase, reversed. (Built here: over a long
    // sequence the filter is small next to the product.)
    const s = a.stride;
    const taps = polyphaseTaps(kernelSize, s);
    const wShape = shapeOf(g, 'w');
    const co = shapeDim(g, wShape, 0);
    const ci = shapeDim(g, wShape, 1);
    const padded = padTime(g, 'w', 2, 0, taps * s - kernelSize);
    const split = g.uniqueName('w_oims');
    g.addNode('Reshape', [padded, concatShape(g, [co, ci, g.addConstant('m_s', 'int64', [taps, s])])], [split]);
    // [Co, Ci, M, s] → reversed M → [Ci, s, Co, M]: output channel i·s + r is channel i, phase r.
    const ordered = transpose(g, reverseAxis(g, split, 2), [1, 3, 0, 2]);
    const sci = g.uniqueName('s_ci');
    g.addNode('Mul', [ci, g.addConstant('s', 'int64', [s])], [sci]);
    const phases = g.uniqueName('w_phases');
    g.addNode('Reshape', [ordered, concatShape(g, [sci, co, g.addConstant('m', 'int64', [taps])])], [phases]);
    emitConv(g, 'dy', phases, taps, { stride: 1, dilation: 1, padLeft: taps - 1, padRight: taps }, 'z', withBias ? phaseBias() : undefined);
    return g.toModelBytes();
  }
  // ConvTranspose's weight layout [C_in of the transposed conv = Co, Ci, K] is w's own.
  g.addNode('ConvTranspose', withBias ? ['dy', 'w', 'b'] : ['dy', 'w'], ['dx'], {
    strides: [a.stride],
    dilations: [a.dilation],
    pads: [a.padLeft, a.padRight],
    output_padding: [outputPadding],
  });
  return g.toModelBytes();
}

function concatShape(g: OnnxGraphBuilder, parts: string[]): string {
  const out = g.uniqueName('shape');
  g.addNode('Concat', parts, [out], { axis: 0 });
  return out;
}

/**
 * How a filter gradient is computed (see conv1dFilterGradientGraph):
 *   - 'folded' for short sequences (≤ 512 output frames);
 *   - 'shifted' for stride 1 when dy has fewer channels than x (Cout < Cin);
 *   - 'batched' otherwise.
 */
export type FilterGradientMethod = 'folded' | 'shifted' | 'batched';

export function filterGradientMethod(a: Conv1dAttributes, kernelSize: number, inChannels: number, outChannels: number, outLength: number): FilterGradientMethod {
  if (outLength <= 512) return 'folded';
  if (outChannels < inChannels && mirrorable(a, kernelSize)) return 'shifted';
  return 'batched';
}

/**
 * dw[Co,Ci,K] from x[B,Ci,T] and dy[B,Co,To]: dw[:,:,k] = Σ_b dy_b · view_kᵀ,
 * view_k what tap k saw, one GEMM per tap.
 *   - 'batched' (long sequences): batched GEMMs over each item's frames
 *     (87-111 GFLOP/s here, ~1.7× a channels-last im2col), with x padded and
 *     sliced once per tap;
 *   - 'shifted': the same GEMMs, but dy is padded and sliced instead of x (tap
 *     k pairs x[u] with dy[u + padLeft − k·d]): half the copying for a C → C/2
 *     convolution, 1/32 for a 32 → 1 output layer;
 *   - 'folded' (short sequences): one GEMM over all B·To frames, since a
 *     To-deep inner dimension is too thin (2× faster at 50 frames).
 * The views' ends follow the lengths at run time. A strided convolution with
 * dilation 1 reaches these graphs as a stride-1 one over its input's phases
 * (./kernels.ts, phaseFilterGradient), where the views are contiguous.
 */
export function conv1dFilterGradientGraph(a: Conv1dAttributes, kernelSize: number, method: FilterGradientMethod): Uint8Array {
  const g = new OnnxGraphBuilder('conv1d_filter_gradient');
  g.addInput('x', 'float32', ['B', 'Ci', 'T']);
  g.addInput('dy', 'float32', ['B', 'Co', 'To']);
  g.addOutput('dw', 'float32', ['Co', 'Ci', kernelSize]);
  const scaled = g.uniqueName('to_times_s');
  const span = g.uniqueName('span');
  g.addNode('Mul', [shapeDim(g, shapeOf(g, 'dy'), 2), g.addConstant('s', 'int64', [a.stride])], [scaled]);
  g.addNode('Add', [scaled, g.addConstant('one_minus_s', 'int64', [1 - a.stride])], [span]);
  const tapAxis = g.addConstant('tap_axis', 'int64', [2]);
  const stack = (perTap: string[], output: string) => {
    if (perTap.length === 1) g.addNode('Identity', perTap, [output]);
    else g.addNode('Concat', perTap, [output], { axis: 2 });
  };

  if (method === 'folded') {
    // Batch folded next to time: x as [Ci, B, T] and dy as [Co, B·To], so each tap is one
    // GEMM [Co, B·To] · [Ci, B·To]ᵀ with B·To, not To, as its inner dimension.
    const padded = padTime(g, transpose(g, 'x', [1, 0, 2]), 2, a.padLeft, a.padRight);
    const views = tapViews(g, padded, 2, span, kernelSize, a);
    const dyFolded = g.uniqueName('dy_folded');
    g.addNode('Flatten', [transpose(g, 'dy', [1, 0, 2])], [dyFolded], { axis: 1 });
    const perTap = views.map((view, k) => {
      const viewFolded = g.uniqueName(`view_${k}_folded`);
      const product = g.uniqueName(`dw_${k}`);
      const lifted = g.uniqueName(`dw_${k}_3d`);
      g.addNode('Flatten', [view], [viewFolded], { axis: 1 });
      g.addNode('Gemm', [dyFolded, viewFolded], [product], { transB: 1 }); // [Co, Ci]
      g.addNode('Unsqueeze', [product, tapAxis], [lifted]);
      return lifted;
    });
    stack(perTap, 'dw');
    return g.toModelBytes();
  }

  const batchAxis = g.addConstant('batch_axis', 'int64', [0]);
  // Per tap, the pair of operands [B, Ci, T'] and [B, T', Co] whose product is that tap's dw.
  let pairs: [string, string][];
  if (method === 'shifted') {
    // dy padded by the reach less the conv's pads; tap k's view starts at reach − k·d and spans T.
    const reach = a.dilation * (kernelSize - 1);
    const dyPadded = padTime(g, 'dy', 2, reach - a.padLeft, reach - a.padRight);
    const length = shapeDim(g, shapeOf(g, 'x'), 2);
    const axis = g.addConstant('time_axis', 'int64', [2]);
    pairs = Array.from({ length: kernelSize }, (_, k) => {
      const start = g.addConstant(`start_${k}`, 'int64', [reach - k * a.dilation]);
      const end = g.uniqueName(`end_${k}`);
      const view = g.uniqueName(`dy_view_${k}`);
      g.addNode('Add', [length, start], [end]);
      g.addNode('Slice', [dyPadded, start, end, axis], [view]);
      return ['x', transpose(g, view, [0, 2, 1])];
    });
  } else {
    const padded = padTime(g, 'x', 2, a.padLeft, a.padRight);
    const dyT = transpose(g, 'dy', [0, 2, 1]);
    pairs = tapViews(g, padded, 2, span, kernelSize, a).map((view) => [view, dyT]);
  }
  const perTap = pairs.map(([left, right], k) => {
    const batched = g.uniqueName(`dw_${k}_batched`);
    const summed = g.uniqueName(`dw_${k}`);
    g.addNode('MatMul', [left, right], [batched]); // [B, Ci, Co]
    g.addNode('ReduceSum', [batched, batchAxis], [summed], { keepdims: 0 });
    const lifted = g.uniqueName(`dw_${k}_3d`);
    g.addNode('Unsqueeze', [summed, tapAxis], [lifted]);
    return lifted;
  });
  const stacked = g.uniqueName('dw_ick');
  stack(perTap, stacked);
  g.addNode('Transpose', [stacked], ['dw'], { perm: [1, 0, 2] });
  return g.toModelBytes();
}

/** c[B,M,N] = a[B,M,K] · b[B,K,N], either side optionally transposed, batch broadcast. */
export function batchMatMulGraph(transposeA: boolean, transposeB: boolean): Uint8Array {
  const g = new OnnxGraphBuilder('batch_matmul');
  g.addInput('a', 'float32', ['Ba', 'Ra', 'Ca']);
  g.addInput('b', 'float32', ['Bb', 'Rb', 'Cb']);
  g.addOutput('c', 'float32', ['B', 'M', 'N']);
  const left = transposeA ? transpose(g, 'a', [0, 2, 1]) : 'a';
  const right = transposeB ? transpose(g, 'b', [0, 2, 1]) : 'b';
  g.addNode('MatMul', [left, right], ['c']);
  return g.toModelBytes();
}

/** y = ReduceSum(x) over `axes`, keeping them as size-1 dims. */
export function reduceSumGraph(rank: number, axes: number[]): Uint8Array {
  const g = new OnnxGraphBuilder('reduce_sum');
  const dims = Array.from({ length: rank }, (_, i) => `d${i}`);
  g.addInput('x', 'float32', dims);
  g.addOutput('y', 'float32', dims.map((d, i) => (axes.includes(i) ? 1 : d)));
  g.addNode('ReduceSum', ['x', g.addConstant('axes', 'int64', axes)], ['y'], { keepdims: 1 });
  return g.toModelBytes();
}
