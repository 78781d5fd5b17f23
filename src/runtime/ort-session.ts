/**
 * Every onnxruntime-node session the package opens (the Codec's graphs, the
 * streaming steps, the evaluation's MOS models) opens here: loading the
 * package without making it a hard requirement, one set of session options,
 * and one way to say that a file is not a graph onnxruntime can load.
 *
 * These use the public async API; src/engine/ort/runtime.ts has the
 * synchronous binding that tfjs kernels need, which the runtime does not.
 */
import { createRequire } from 'node:module';

import type { OnnxRuntimeModule, OrtSession } from './ort-types.js';

import { inferenceSpinning, onnxRuntimeSessionOptions } from '../engine/ort/runtime.js';
import { InputError } from '../errors.js';

export type { OnnxRuntimeModule, OrtSession, OrtTensor } from './ort-types.js';

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
 * A session for `graph` (a file, which onnxruntime reads itself, so no copy of
 * a large graph sits in the JS heap and external data beside it is found; or
 * bytes). `where` names it in errors; `problem` words the error from
 * onnxruntime's reason. Idle threads spin per inferenceSpinning() unless
 * `spinning` says otherwise.
 */
export async function createOrtSession(
  graph: string | Uint8Array,
  where: string,
  problem: (reason: string) => string,
  options: { spinning?: boolean } = {},
): Promise<{ session: OrtSession; ort: OnnxRuntimeModule }> {
  const loaded = loadOnnxRuntimeModule();
  if ('reason' in loaded) throw new InputError(where, loaded.reason);
  const { ort } = loaded;
  const sessionOptions = onnxRuntimeSessionOptions({ spinning: options.spinning ?? inferenceSpinning() });
  try {
    const session = await (typeof graph === 'string' ? ort.InferenceSession.create(graph, sessionOptions) : ort.InferenceSession.create(graph, sessionOptions));
    return { session, ort };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(where, problem(message.split('\n')[0] ?? message));
  }
}

/**
 * A session for the graph in the file `path`, checked to have the input and
 * output names the caller will feed and read.
 */
export async function openRuntimeSession(path: string, inputs: readonly string[], outputs: readonly string[]): Promise<OrtSession> {
  const { session } = await createOrtSession(path, path, (reason) => `not an ONNX graph onnxruntime can load (${reason})`);
  const missing = [...inputs.filter((n) => !session.inputNames.includes(n)), ...outputs.filter((n) => !session.outputNames.includes(n))];
  if (missing.length > 0) {
    await session.release();
    throw new InputError(path, `graph lacks ${missing.map((n) => `'${n}'`).join(', ')} (inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}])`);
  }
  return session;
}
