/**
 * onnxruntime-node sessions for the runtime (whole-buffer Codec now, the
 * streaming encoders and decoders next): loading the package without making
 * it a hard requirement, and one set of session options for every graph.
 *
 * These use the public async API; src/engine/ort/runtime.ts has the
 * synchronous binding that tfjs kernels need, which the runtime does not.
 */
import { createRequire } from 'node:module';

import type { InferenceSession, Tensor } from 'onnxruntime-common';

import { inferenceSpinning, onnxRuntimeSessionOptions } from '../engine/ort/runtime.js';
import { InputError } from '../errors.js';

/** The part of onnxruntime-node the runtime uses. */
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

const require = createRequire(import.meta.url);
let loaded: { ort: OnnxRuntimeModule } | { reason: string } | null = null;

/** onnxruntime-node, or why it cannot be used here; loaded once per process. */
export function loadOnnxRuntimeModule(): { ort: OnnxRuntimeModule } | { reason: string } {
  if (loaded === null) {
    try {
      loaded = { ort: require('onnxruntime-node') as OnnxRuntimeModule };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      loaded = { reason: `onnxruntime-node cannot be loaded (${message.split('\n')[0]})` };
    }
  }
  return loaded;
}

/**
 * A session for the graph in the file `path` (onnxruntime reads the file
 * itself: no copy of a 38 MB graph sits in the JS heap while the session is
 * built). Checks that the graph has the input and output names the caller
 * will feed and read.
 */
export async function openRuntimeSession(ort: OnnxRuntimeModule, path: string, inputs: readonly string[], outputs: readonly string[]): Promise<OrtSession> {
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(path, onnxRuntimeSessionOptions({ spinning: inferenceSpinning() }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(path, `not an ONNX graph onnxruntime can load (${message.split('\n')[0]})`);
  }
  const missing = [...inputs.filter((n) => !session.inputNames.includes(n)), ...outputs.filter((n) => !session.outputNames.includes(n))];
  if (missing.length > 0) {
    await session.release();
    throw new InputError(path, `graph lacks ${missing.map((n) => `'${n}'`).join(', ')} (inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}])`);
  }
  return session;
}
