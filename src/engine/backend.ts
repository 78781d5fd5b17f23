/**
 * The backend ladder: which tfjs backend runs the model on this machine, and why.
 *
 * Best first (docs/engine.md has the measurements):
 *   tfjs-node-gpu → tfjs-node → wasm with onnxruntime convolutions → wasm → cpu
 *
 * The two tfjs-node packages are optional peer dependencies (their install
 * downloads libtensorflow), so they are used only when a user has installed one.
 * Every rung records why it was, or was not, used; `simvq-audio info` prints it.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

import { EngineError } from '../errors.js';
import { loadOnnxRuntime, onnxRuntimeThreads, type OnnxRuntimeStatus } from './ort/runtime.js';
import { registerConv1dKernels } from './conv1d.js';
import { registerOrtKernels, shareIdentity, sliceFromHeap } from './ort/kernels.js';

export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm+onnxruntime' | 'wasm' | 'cpu';

export const BACKEND_LADDER: readonly BackendName[] = [
  'tfjs-node-gpu',
  'tfjs-node',
  'wasm+onnxruntime',
  'wasm',
  'cpu',
];

export interface BackendRung {
  name: BackendName;
  available: boolean;
  chosen: boolean;
  reason: string;
}

export interface EngineReport {
  /** The rung in use. */
  backend: BackendName;
  /** tfjs's own name for the active backend ('tensorflow', 'wasm', 'cpu'). */
  tfjsBackend: string;
  requested: BackendName | 'auto';
  /** Every rung, ladder order, best first. */
  rungs: BackendRung[];
  threads: { onnxruntimeIntraOp: number | null; wasm: number };
  versions: Record<string, string>;
}

export interface EngineOptions {
  /** A rung, or 'auto' for the best available. Defaults to $SIMVQ_BACKEND, then 'auto'. */
  backend?: BackendName | 'auto';
}

/** What the ops layer needs to know about the running engine. */
export interface ActiveEngine {
  backend: BackendName;
  /** Convolutions and matmuls run on onnxruntime (registered kernels). */
  onnxConvolutions: boolean;
}

const require = createRequire(import.meta.url);

let active: ActiveEngine | null = null;
let lastReport: EngineReport | null = null;

/** The engine in use; throws until initEngine() has run. */
export function activeEngine(): ActiveEngine {
  if (active === null) {
    throw new EngineError(null, 'the engine is not initialised: call initEngine() first');
  }
  return active;
}

function isBackendName(name: string): name is BackendName {
  return (BACKEND_LADDER as readonly string[]).includes(name);
}

function packageVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** The outcome of trying one rung: null when it works, otherwise why not. */
type Probe = () => Promise<string | null>;

async function probeTfjsNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string | null> {
  if (packageVersion(pkg) === null) {
    return `not installed (optional peer dependency: npm install ${pkg})`;
  }
  try {
    await import(pkg);
  } catch (error) {
    return `installed but failed to load: ${firstLine(error)}`;
  }
  if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but its 'tensorflow' backend did not start`;
  return null;
}

let wasmLoaded: Promise<string | null> | null = null;

async function probeWasm(): Promise<string | null> {
  wasmLoaded ??= (async () => {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      return null;
    } catch (error) {
      return `@tensorflow/tfjs-backend-wasm failed to load: ${firstLine(error)}`;
    }
  })();
  const loadError = await wasmLoaded;
  if (loadError !== null) return loadError;
  if (!(await tf.setBackend('wasm'))) return "tfjs's wasm backend did not start";
  return null;
}

let ortStatus: OnnxRuntimeStatus | null = null;

const probes: Record<BackendName, Probe> = {
  'tfjs-node-gpu': () => probeTfjsNode('@tensorflow/tfjs-node-gpu'),
  'tfjs-node': () => probeTfjsNode('@tensorflow/tfjs-node'),
  'wasm+onnxruntime': async () => {
    ortStatus ??= loadOnnxRuntime();
    if (!ortStatus.ok) return ortStatus.reason;
    return probeWasm();
  },
  wasm: probeWasm,
  cpu: async () => ((await tf.setBackend('cpu')) ? null : "tfjs's cpu backend did not start"),
};

/**
 * Picks and starts a backend. With 'auto', walks the ladder and takes the first
 * rung that starts; with a named rung, takes that one or throws EngineError.
 * Calling it again switches backends (tests use this to compare them).
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineReport> {
  // PROD: no "install tfjs-node" banner from the cpu backend; `info` says what each rung is.
  tf.env().set('PROD', true);
  const fromEnv = process.env['SIMVQ_BACKEND'];
  const requested = options.backend ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'auto');
  if (requested !== 'auto' && !isBackendName(requested)) {
    const source = options.backend === undefined ? 'SIMVQ_BACKEND' : '--backend';
    throw new EngineError(source, `unknown backend '${requested}' (one of: auto, ${BACKEND_LADDER.join(', ')})`);
  }

  const rungs: BackendRung[] = [];
  let chosen: BackendName | null = null;
  for (const name of BACKEND_LADDER) {
    if (chosen !== null) {
      rungs.push({ name, available: isInstalled(name), chosen: false, reason: `not needed: ${chosen} is higher on the ladder` });
      continue;
    }
    if (requested !== 'auto' && requested !== name) {
      rungs.push({ name, available: isInstalled(name), chosen: false, reason: `not requested (backend ${requested} was asked for)` });
      continue;
    }
    const failure = await probes[name]();
    if (failure === null) {
      chosen = name;
      rungs.push({ name, available: true, chosen: true, reason: chosenReason(name, requested) });
    } else {
      rungs.push({ name, available: false, chosen: false, reason: failure });
      if (requested === name) {
        throw new EngineError(options.backend === undefined ? 'SIMVQ_BACKEND' : '--backend', `backend ${name} is not available: ${failure}`);
      }
    }
  }
  if (chosen === null) throw new EngineError(null, 'no tfjs backend could be started');

  const onnxConvolutions = chosen === 'wasm+onnxruntime';
  if (onnxConvolutions) registerOrtKernels('wasm', () => active?.onnxConvolutions === true);
  if (chosen === 'wasm' || chosen === 'wasm+onnxruntime') {
    shareIdentity('wasm');
    sliceFromHeap('wasm');
  }
  await tf.ready();
  registerConv1dKernels(tf.getBackend(), () => (active?.onnxConvolutions === true ? 'onnxruntime' : 'composed'));
  active = { backend: chosen, onnxConvolutions };

  lastReport = {
    backend: chosen,
    tfjsBackend: tf.getBackend(),
    requested: requested as BackendName | 'auto',
    rungs,
    threads: { onnxruntimeIntraOp: onnxConvolutions ? onnxRuntimeThreads() : null, wasm: wasmThreads() },
    versions: libraryVersions(),
  };
  return lastReport;
}

/** The report of the last initEngine() call, or null before the first. */
export function engineReport(): EngineReport | null {
  return lastReport;
}

function chosenReason(name: BackendName, requested: string): string {
  const why = requested === 'auto' ? 'best available rung' : 'requested';
  switch (name) {
    case 'tfjs-node-gpu':
      return `${why}: TensorFlow C++ with CUDA`;
    case 'tfjs-node':
      return `${why}: TensorFlow C++ on the CPU`;
    case 'wasm+onnxruntime':
      return `${why}: tfjs wasm (SIMD) with convolutions and matmuls on onnxruntime-node`;
    case 'wasm':
      return `${why}: tfjs wasm (SIMD, XNNPACK); convolution gradients as XNNPACK convolutions`;
    case 'cpu':
      return `${why}: tfjs plain JavaScript kernels (slowest)`;
  }
}

/** Cheap check for rungs we did not start: is the package there at all? */
function isInstalled(name: BackendName): boolean {
  switch (name) {
    case 'tfjs-node-gpu':
      return packageVersion('@tensorflow/tfjs-node-gpu') !== null;
    case 'tfjs-node':
      return packageVersion('@tensorflow/tfjs-node') !== null;
    case 'wasm+onnxruntime':
      return packageVersion('@tensorflow/tfjs-backend-wasm') !== null && packageVersion('onnxruntime-node') !== null;
    case 'wasm':
      return packageVersion('@tensorflow/tfjs-backend-wasm') !== null;
    case 'cpu':
      return true;
  }
}

function wasmThreads(): number {
  // tfjs's wasm backend never multithreads under Node (its check is hard-coded false).
  return 1;
}

function libraryVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.versions.node };
  for (const pkg of [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    'onnxruntime-node',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
  ]) {
    const version = packageVersion(pkg);
    if (version !== null) versions[pkg] = version;
  }
  return versions;
}

/**
 * Whether an error looks like the wasm heap running out: tfjs's wasm backend
 * lives in 32-bit wasm memory (4 GiB at most), and when it cannot allocate, the
 * failure surfaces as an out-of-bounds access or an abort inside the module.
 */
export function isWasmHeapExhaustion(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // WebAssembly.RuntimeError, by name: the DOM-free lib this project compiles against lacks the type.
  return (
    (error.name === 'RuntimeError' && /memory access out of bounds|Aborted\(/.test(error.message)) ||
    (error instanceof RangeError && /WebAssembly\.Memory|Array buffer allocation failed/.test(error.message))
  );
}
