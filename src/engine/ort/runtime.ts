/**
 * Synchronous onnxruntime sessions for use inside tfjs kernels.
 *
 * tfjs kernels are synchronous; onnxruntime-node's public `InferenceSession.run`
 * is async only because its JS wrapper defers the call with setImmediate. The
 * native binding underneath runs synchronously. That binding is not public API,
 * so package.json pins onnxruntime-node to the exact version checked here and a
 * test (test/engine/backend.test.ts) guards its shape.
 */
import { createRequire } from 'node:module';
import os from 'node:os';

import type { InferenceSession, OnnxValue, Tensor as OrtTensor } from 'onnxruntime-common';

/** The onnxruntime-node version whose native binding this module was written against. */
export const PINNED_ONNXRUNTIME_VERSION = '1.30.0';

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: InferenceSession.SessionOptions): void;
  run(feeds: Record<string, OnnxValue>, fetches: Record<string, OnnxValue | null>, options: InferenceSession.RunOptions): Record<string, OnnxValue>;
  dispose(): void;
}

interface NativeBindingModule {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}

export type OnnxRuntimeStatus = { ok: true } | { ok: false; reason: string };

const require = createRequire(import.meta.url);

let native: NativeBindingModule | null = null;
interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
}
let TensorClass: OrtTensorConstructor | null = null;

/** Loads onnxruntime-node's binding; never throws, says why when it cannot. */
export function loadOnnxRuntime(): OnnxRuntimeStatus {
  if (native !== null) return { ok: true };
  let version: string;
  try {
    version = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return { ok: false, reason: 'onnxruntime-node is not installed' };
  }
  if (version !== PINNED_ONNXRUNTIME_VERSION) {
    return {
      ok: false,
      reason: `onnxruntime-node ${version} found; the synchronous kernels need exactly ${PINNED_ONNXRUNTIME_VERSION}`,
    };
  }
  try {
    const candidate = require('onnxruntime-node/dist/binding.js') as NativeBindingModule;
    if (typeof candidate.binding?.InferenceSession !== 'function' || typeof candidate.initOrt !== 'function') {
      return { ok: false, reason: "onnxruntime-node's native binding does not have the expected shape" };
    }
    candidate.initOrt();
    native = candidate;
    TensorClass = (require('onnxruntime-common') as { Tensor: typeof TensorClass }).Tensor;
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `onnxruntime-node failed to load: ${message.split('\n')[0]}` };
  }
}

/** Intra-op threads for every session: $SIMVQ_THREADS, else one per core. */
export function onnxRuntimeThreads(): number {
  const fromEnv = Number.parseInt(process.env['SIMVQ_THREADS'] ?? '', 10);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return Math.max(1, os.availableParallelism());
}

/**
 * Whether inference sessions (the runtime's graphs) let idle intra-op threads
 * spin: $SIMVQ_ORT_SPINNING ('1' or '0'), else on. Between the small ops of
 * one graph run a spinning thread picks up work sooner; training keeps it off
 * whatever this says, since there JS work between kernels needs the cores.
 */
export function inferenceSpinning(): boolean {
  const fromEnv = process.env['SIMVQ_ORT_SPINNING'];
  return fromEnv === undefined || fromEnv === '' ? true : fromEnv !== '0';
}

/**
 * Options of every onnxruntime session the project opens: the engine's kernels
 * (`spinning` false) and the runtime's graphs (`spinning` from inferenceSpinning()).
 */
export function onnxRuntimeSessionOptions(options: { spinning: boolean }): InferenceSession.SessionOptions {
  // Spinning workers starve the JS thread on 2 cores while training: 6 against 2.5 audio-s/s measured (docs/engine.md).
  const spin = options.spinning ? '1' : '0';
  return {
    intraOpNumThreads: onnxRuntimeThreads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}

/** A float32 tensor for onnxruntime over caller-owned memory (no copy). */
export function ortFloatTensor(data: Float32Array, dims: readonly number[]): OrtTensor {
  if (TensorClass === null) throw new Error('onnxruntime is not loaded');
  return new TensorClass('float32', data, dims);
}

/** One loaded ONNX graph, run synchronously. */
export class SyncSession {
  private readonly session: NativeSession;

  constructor(modelBytes: Uint8Array) {
    if (native === null) {
      const status = loadOnnxRuntime();
      if (!status.ok) throw new Error(status.reason);
    }
    this.session = new native!.binding.InferenceSession();
    this.session.loadModel(modelBytes.buffer as ArrayBuffer, modelBytes.byteOffset, modelBytes.byteLength, onnxRuntimeSessionOptions({ spinning: false }));
  }

  /**
   * Runs the graph. `outputs` maps each output name to a preallocated tensor
   * that onnxruntime writes into (zero copy), or null to let it allocate.
   */
  run(inputs: Record<string, OrtTensor>, outputs: Record<string, OrtTensor | null>): Record<string, OrtTensor> {
    return this.session.run(inputs, outputs, {}) as Record<string, OrtTensor>;
  }

  dispose(): void {
    this.session.dispose();
  }
}
