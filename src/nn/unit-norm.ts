/**
 * l2 normalisation of vectors along one axis, x / sqrt(Σx² + ε), as tfjs ops
 * (training, with gradients) and as ONNX nodes (the exported search). The
 * code a frame gets depends on it, so both are written here, once, with one ε.
 */
import * as tf from '@tensorflow/tfjs';

import type { OnnxGraphBuilder } from '../onnx/index.js';
import { emit } from './layers.js';

/** Added to Σx² before the square root, so an all-zero vector stays finite. */
export const UNIT_NORM_EPSILON = 1e-12;

/** `x` divided by its l2 norm along `axis`. */
export function unitNorm<T extends tf.Tensor>(x: T, axis: number): T {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), axis, true), UNIT_NORM_EPSILON))) as T;
}

/** unitNorm as ONNX nodes on `input`; returns the output's name. */
export function unitNormOnnx(g: OnnxGraphBuilder, input: string, axis: number): string {
  const squares = emit(g, 'ReduceSum', [emit(g, 'Mul', [input, input]), g.addConstant('axis', 'int64', [axis])], { keepdims: 1 });
  return emit(g, 'Div', [input, emit(g, 'Sqrt', [emit(g, 'Add', [squares, g.addConstant('epsilon', 'float32', [UNIT_NORM_EPSILON], [])])])]);
}
