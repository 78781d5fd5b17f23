/**
 * The small ONNX graphs behind the onnxruntime kernels, one per attribute set.
 *
 * Tensors cross the boundary in tfjs's channels-last layout (NWC, filters
 * [K, Cin, Cout]). Batch, length and channel dims are symbolic, so one session
 * serves every shape with the same attributes and method.
 *
 * Every convolution is emitted one of two ways (measured on 2 cores, see
 * DESIGN.md and bench/engine.ts):
 *   - 'conv': Transpose to channels-first, onnxruntime's Conv, Transpose back.
 *     Best on long sequences (~60-100 GFLOP/s).
 *   - 'im2col': the K strided views of the input side by side, times the filter
 *     as one [K·Ci, Co] matrix, in channels-last throughout. Best for short
 *     sequences (deep layers: 3× faster at 50 frames), 1×1 filters and
 *     single-channel inputs, where Conv's per-image GEMMs are too thin.
 */
import { OnnxGraphBuilder } from '../../onnx/index.js';

/** Attributes of a 1-D convolution; pads are explicit [left, right]. */
export interface Conv1dAttributes {
  stride: number;
  dilation: number;
  padLeft: number;
  padRight: number;
}

export type ConvMethod = 'conv' | 'im2col';

/** Picks the faster emission for a convolution producing `outLength` frames. */
export function convMethod(kernelSize: number, inChannels: number, outLength: number): ConvMethod {
  return kernelSize === 1 || inChannels <= 2 || outLength <= 1024 ? 'im2col' : 'conv';
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

function padTime(g: OnnxGraphBuilder, x: string, left: number, right: number): string {
  if (left === 0 && right === 0) return x;
  const out = g.uniqueName(`${x}_padded`);
  g.addNode('Pad', [x, g.addConstant('pads', 'int64', [0, left, 0, 0, right, 0])], [out]);
  return out;
}

/**
 * The K views of x_padded[B, Tp, Ci] that the taps of a convolution see, each
 * [B, To, Ci]: view k starts at k·dilation and steps by the stride. `span` is
 * an int64 [1] tensor holding stride·(To−1)+1, the samples a view covers.
 */
function tapViews(g: OnnxGraphBuilder, padded: string, span: string, kernelSize: number, a: Conv1dAttributes): string[] {
  const axis = g.addConstant('time_axis', 'int64', [1]);
  const step = g.addConstant('step', 'int64', [a.stride]);
  const views: string[] = [];
  for (let k = 0; k < kernelSize; k++) {
    const start = g.addConstant(`start_${k}`, 'int64', [k * a.dilation]);
    const end = g.uniqueName(`end_${k}`);
    g.addNode('Add', [span, start], [end]);
    const view = g.uniqueName(`view_${k}`);
    g.addNode('Slice', [padded, start, end, axis, step], [view]);
    views.push(view);
  }
  return views;
}

/**
 * Emits y[B, To, Co] = conv(x[B, T, Ci], w[K, Ci, Co]) and returns y's name.
 * The output length is derived in the graph from x's length.
 */
function emitConv(
  g: OnnxGraphBuilder,
  x: string,
  w: string,
  kernelSize: number,
  a: Conv1dAttributes,
  method: ConvMethod,
  output?: string,
): string {
  const y = output ?? g.uniqueName('y');
  if (method === 'conv') {
    const xNcw = g.uniqueName(`${x}_ncw`);
    const wOik = g.uniqueName(`${w}_oik`);
    const yNcw = g.uniqueName(`${y}_ncw`);
    g.addNode('Transpose', [x], [xNcw], { perm: [0, 2, 1] });
    g.addNode('Transpose', [w], [wOik], { perm: [2, 1, 0] });
    g.addNode('Conv', [xNcw, wOik], [yNcw], {
      strides: [a.stride],
      dilations: [a.dilation],
      pads: [a.padLeft, a.padRight],
    });
    g.addNode('Transpose', [yNcw], [y], { perm: [0, 2, 1] });
    return y;
  }
  const padded = padTime(g, x, a.padLeft, a.padRight);
  // span = stride·(To−1)+1 = stride·floor((Tp − reach − 1) / stride) + 1, Tp the padded length.
  const reach = a.dilation * (kernelSize - 1);
  const length = shapeDim(g, shapeOf(g, x), 1);
  const usable = g.uniqueName('usable');
  g.addNode('Add', [length, g.addConstant('pad_minus_reach', 'int64', [a.padLeft + a.padRight - reach - 1])], [usable]);
  let span = g.uniqueName('span');
  if (a.stride === 1) {
    g.addNode('Add', [usable, g.addConstant('one', 'int64', [1])], [span]);
  } else {
    const stride = g.addConstant('stride', 'int64', [a.stride]);
    const frames = g.uniqueName('frames_minus_one');
    const scaled = g.uniqueName('scaled');
    g.addNode('Div', [usable, stride], [frames]);
    g.addNode('Mul', [frames, stride], [scaled]);
    g.addNode('Add', [scaled, g.addConstant('one', 'int64', [1])], [span]);
  }
  const views = tapViews(g, padded, span, kernelSize, a);
  let columns = views[0]!;
  if (views.length > 1) {
    columns = g.uniqueName('columns');
    g.addNode('Concat', views, [columns], { axis: 2 });
  }
  const matrix = g.uniqueName(`${w}_matrix`);
  g.addNode('Flatten', [w], [matrix], { axis: 2 });
  g.addNode('MatMul', [columns, matrix], [y]);
  return y;
}

/** y[B,To,Co] = conv(x[B,T,Ci], w[K,Ci,Co]). */
export function conv1dForwardGraph(a: Conv1dAttributes, kernelSize: number, method: ConvMethod): Uint8Array {
  const g = new OnnxGraphBuilder('conv1d_forward');
  g.addInput('x', 'float32', ['B', 'T', 'Ci']);
  g.addInput('w', 'float32', [kernelSize, 'Ci', 'Co']);
  g.addOutput('y', 'float32', ['B', 'To', 'Co']);
  emitConv(g, 'x', 'w', kernelSize, a, method, 'y');
  return g.toModelBytes();
}

/** How the input gradient is computed for an attribute set (see conv1dInputGradientGraph). */
export type InputGradientMethod = 'flipped-conv' | 'polyphase' | 'conv-transpose';

export function inputGradientMethod(a: Conv1dAttributes, kernelSize: number): InputGradientMethod {
  const reach = a.dilation * (kernelSize - 1);
  if (a.stride === 1 && a.padLeft <= reach && a.padRight <= reach) return 'flipped-conv';
  if (a.dilation === 1 && a.stride > 1) return 'polyphase';
  return 'conv-transpose';
}

/**
 * dx[B,T,Ci] from dy[B,To,Co] and w[K,Ci,Co]. Inputs: dy, w, and for the
 * polyphase method `end` (int64 [1], = padLeft + T).
 *
 * onnxruntime's ConvTranspose ran at ~13 GFLOP/s here against ~85 for Conv, so
 * the gradient is written as a forward convolution wherever it can be:
 *   - stride 1: a convolution with the flipped filter;
 *   - stride s > 1 (dilation 1): polyphase. Output phase r (samples ≡ r mod s)
 *     only meets taps r, r+s, r+2s, ..., so all s phases are one stride-1
 *     convolution with s·Ci output channels over ceil(K/s) taps, whose
 *     channels-last output [B, Q, s·Ci] is, reshaped, the interleaved [B, Q·s, Ci];
 *   - both stride and dilation > 1 (not used by our models): ConvTranspose.
 */
export function conv1dInputGradientGraph(
  a: Conv1dAttributes,
  kernelSize: number,
  outputPadding: number,
  method: ConvMethod,
): Uint8Array {
  const g = new OnnxGraphBuilder('conv1d_input_gradient');
  g.addInput('dy', 'float32', ['B', 'To', 'Co']);
  g.addInput('w', 'float32', [kernelSize, 'Ci', 'Co']);
  g.addOutput('dx', 'float32', ['B', 'T', 'Ci']);
  const kind = inputGradientMethod(a, kernelSize);

  if (kind === 'flipped-conv') {
    // Filter [K, Co, Ci] with the taps reversed: dx[t] = Σ_k dy[t + padLeft − k·d] · w[k]ᵀ.
    const reach = a.dilation * (kernelSize - 1);
    const transposed = g.uniqueName('w_koi');
    g.addNode('Transpose', ['w'], [transposed], { perm: [0, 2, 1] });
    const flipped = reverseAxis(g, transposed, 0);
    const pads = { stride: 1, dilation: a.dilation, padLeft: reach - a.padLeft, padRight: reach - a.padRight };
    emitConv(g, 'dy', flipped, kernelSize, pads, method, 'dx');
    return g.toModelBytes();
  }

  if (kind === 'conv-transpose') {
    g.addNode('Transpose', ['dy'], ['dy_ncw'], { perm: [0, 2, 1] });
    // ConvTranspose weights are [C_in of the transposed conv = Co, Ci, K].
    g.addNode('Transpose', ['w'], ['w_oik'], { perm: [2, 1, 0] });
    g.addNode('ConvTranspose', ['dy_ncw', 'w_oik'], ['dx_ncw'], {
      strides: [a.stride],
      dilations: [a.dilation],
      pads: [a.padLeft, a.padRight],
      output_padding: [outputPadding],
    });
    g.addNode('Transpose', ['dx_ncw'], ['dx'], { perm: [0, 2, 1] });
    return g.toModelBytes();
  }

  // Polyphase. Taps are zero-padded to M·s, M = ceil(K/s); phase r's filter is
  // taps r + m·s, m = M−1..0 (reversed: the full correlation runs backwards).
  const s = a.stride;
  const taps = Math.ceil(kernelSize / s);
  g.addInput('end', 'int64', [1]);
  const wShape = shapeOf(g, 'w');
  const ci = shapeDim(g, wShape, 1);
  const co = shapeDim(g, wShape, 2);
  let padded = 'w';
  if (taps * s > kernelSize) {
    padded = 'w_padded';
    g.addNode('Pad', ['w', g.addConstant('w_pads', 'int64', [0, 0, 0, taps * s - kernelSize, 0, 0])], [padded]);
  }
  const phaseShape = g.uniqueName('phase_shape');
  g.addNode('Concat', [g.addConstant('m_s', 'int64', [taps, s]), ci, co], [phaseShape], { axis: 0 });
  g.addNode('Reshape', [padded, phaseShape], ['w_msio']);
  const flipped = reverseAxis(g, 'w_msio', 0);
  // → [M, Co, s, Ci] → [M, Co, s·Ci]: output channel r·Ci + i is phase r, channel i.
  g.addNode('Transpose', [flipped], ['w_mosi'], { perm: [0, 3, 1, 2] });
  const sci = g.uniqueName('s_ci');
  g.addNode('Mul', [ci, g.addConstant('s', 'int64', [s])], [sci]);
  const filterShape = g.uniqueName('filter_shape');
  g.addNode('Concat', [g.addConstant('m', 'int64', [taps]), co, sci], [filterShape], { axis: 0 });
  g.addNode('Reshape', ['w_mosi', filterShape], ['w_phases']);
  // One extra frame on the right keeps Q·s ≥ padLeft + T whatever the output padding.
  const phaseAttrs = { stride: 1, dilation: 1, padLeft: taps - 1, padRight: taps };
  emitConv(g, 'dy', 'w_phases', taps, phaseAttrs, method, 'z_phases');
  const interleavedShape = g.uniqueName('interleaved_shape');
  g.addNode('Concat', [g.addConstant('keep_b_any_t', 'int64', [0, -1]), ci], [interleavedShape], { axis: 0 });
  g.addNode('Reshape', ['z_phases', interleavedShape], ['z']);
  g.addNode('Slice', ['z', g.addConstant('start', 'int64', [a.padLeft]), 'end', g.addConstant('axis', 'int64', [1])], ['dx']);
  return g.toModelBytes();
}

export type FilterGradientMethod = 'per-tap' | 'im2col';

/** Per-tap GEMMs skip im2col's concatenation; with one or two input channels they are too thin. */
export function filterGradientMethod(inChannels: number): FilterGradientMethod {
  return inChannels >= 8 ? 'per-tap' : 'im2col';
}

/**
 * dw[K,Ci,Co] from x[B,T,Ci] and dy[B,To,Co]: dw[k] = view_kᵀ · dy over all
 * B·To frames, where view_k is what tap k saw. Either one GEMM per tap, or
 * the views side by side ([B·To, K·Ci]) and one GEMM. The result comes out in
 * tfjs's filter layout directly, and the views' ends follow To at run time.
 */
export function conv1dFilterGradientGraph(a: Conv1dAttributes, kernelSize: number, method: FilterGradientMethod): Uint8Array {
  const g = new OnnxGraphBuilder('conv1d_filter_gradient');
  g.addInput('x', 'float32', ['B', 'T', 'Ci']);
  g.addInput('dy', 'float32', ['B', 'To', 'Co']);
  g.addOutput('dw', 'float32', [kernelSize, 'Ci', 'Co']);
  const padded = padTime(g, 'x', a.padLeft, a.padRight);
  const dyShape = shapeOf(g, 'dy');
  const outLength = shapeDim(g, dyShape, 1);
  const scaled = g.uniqueName('to_times_s');
  const span = g.uniqueName('span');
  g.addNode('Mul', [outLength, g.addConstant('s', 'int64', [a.stride])], [scaled]);
  g.addNode('Add', [scaled, g.addConstant('one_minus_s', 'int64', [1 - a.stride])], [span]);
  const views = tapViews(g, padded, span, kernelSize, a);
  g.addNode('Flatten', ['dy'], ['dy_2d'], { axis: 2 });

  if (method === 'per-tap') {
    const perTap = views.map((view, k) => {
      const flat = g.uniqueName(`view_2d_${k}`);
      const product = g.uniqueName(`dw_${k}`);
      const lifted = g.uniqueName(`dw_${k}_3d`);
      g.addNode('Flatten', [view], [flat], { axis: 2 });
      g.addNode('Gemm', [flat, 'dy_2d'], [product], { transA: 1 });
      g.addNode('Unsqueeze', [product, g.addConstant('axis0', 'int64', [0])], [lifted]);
      return lifted;
    });
    if (perTap.length === 1) g.addNode('Identity', perTap, ['dw']);
    else g.addNode('Concat', perTap, ['dw'], { axis: 0 });
    return g.toModelBytes();
  }

  g.addNode('Concat', views, ['columns'], { axis: 2 });
  g.addNode('Flatten', ['columns'], ['columns_2d'], { axis: 2 });
  g.addNode('Gemm', ['columns_2d', 'dy_2d'], ['dw_2d'], { transA: 1 });
  const dwShape = g.uniqueName('dw_shape');
  g.addNode('Concat', [g.addConstant('k_any', 'int64', [kernelSize, -1]), shapeDim(g, dyShape, 2)], [dwShape], { axis: 0 });
  g.addNode('Reshape', ['dw_2d', dwShape], ['dw']);
  return g.toModelBytes();
}

/** c[B,M,N] = a[B,M,K] · b[B,K,N], either side optionally transposed, batch broadcast. */
export function batchMatMulGraph(transposeA: boolean, transposeB: boolean): Uint8Array {
  const g = new OnnxGraphBuilder('batch_matmul');
  g.addInput('a', 'float32', ['Ba', 'Ra', 'Ca']);
  g.addInput('b', 'float32', ['Bb', 'Rb', 'Cb']);
  g.addOutput('c', 'float32', ['B', 'M', 'N']);
  let left = 'a';
  let right = 'b';
  if (transposeA) {
    g.addNode('Transpose', ['a'], ['a_t'], { perm: [0, 2, 1] });
    left = 'a_t';
  }
  if (transposeB) {
    g.addNode('Transpose', ['b'], ['b_t'], { perm: [0, 2, 1] });
    right = 'b_t';
  }
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
