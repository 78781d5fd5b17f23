/**
 * The part of onnxruntime's API the runtime uses, the same in onnxruntime-node
 * and onnxruntime-web (both implement onnxruntime-common); types only.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';

export interface OnnxRuntimeModule {
  InferenceSession: {
    create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
    create(path: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  Tensor: {
    new (type: 'float32', data: Float32Array, dims: readonly number[]): Tensor;
    new (type: 'int64', data: BigInt64Array, dims: readonly number[]): Tensor;
  };
}

export type OrtSession = InferenceSession;
export type OrtTensor = Tensor;
