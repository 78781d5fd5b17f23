/**
 * The model-directory contract, free of Node modules (the browser reads model
 * directories too): file names, graph input and output names, the manifest
 * and its checks. ./model-dir.ts reads directories from disk.
 */
import { hopLength, type CodecConfig } from '../codec/config.js';
import { InputError } from '../errors.js';

export const MANIFEST_FILE = 'model.json';
export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const MANIFEST_FORMAT = 'simvq-audio-model';
export const MANIFEST_VERSION = 1;
export const ENCODER_GRAPH_FILE = 'encoder.onnx';
export const DECODER_GRAPH_FILE = 'decoder.onnx';
/** Graph input and output names; the streaming graphs and any ONNX user rely on them. */
export const ENCODER_INPUT = 'audio';
export const ENCODER_OUTPUT = 'tokens';
export const DECODER_INPUT = 'tokens';
export const DECODER_OUTPUT = 'audio';

/** Manifest roles of the streaming step graphs (causal models), beside the whole-file ones. */
export const STREAM_ENCODER_ROLE = 'encoderStream';
export const STREAM_DECODER_ROLE = 'decoderStream';

/** Input and output names of the streaming step graphs (their states are named by the graphs themselves). */
export const STREAM_NAMES = {
  encoderInput: 'audio',
  encoderOutput: 'tokens',
  decoderInput: 'tokens',
  decoderOutput: 'audio',
} as const;

/** The model `Codec.load()` and the CLI use when none is named: codec/pretrained/speech-16k-0.9kbps/. */
export const DEFAULT_MODEL_NAME = 'speech-16k-0.9kbps';

/**
 * Graph files by role. `encoder` and `decoder` are written by every export;
 * other roles (e.g. `encoderStream`, `decoderStream`) are optional extras a
 * reader may look for and must not require.
 */
export interface ModelGraphs {
  encoder: string;
  decoder: string;
  [role: string]: string;
}

export interface ModelManifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: number;
  /** Written into every .svq header as modelId. */
  modelId: string;
  /** sha256 of config.json + model.safetensors, first 16 hex digits; .svq headers carry it. */
  modelHash: string;
  sampleRate: number;
  frameRate: number;
  hop: number;
  codebookSize: number;
  causal: boolean;
  config: string;
  weights: string;
  graphs: ModelGraphs;
  /**
   * The effective codebook as raw float32 rows, which the graphs read as
   * external data (absent in directories whose graphs hold it inline).
   */
  codebook?: string;
  /** Where the weights came from, for people (not read by the runtime). */
  source?: { checkpoint?: string; step?: number; preset?: string };
  createdBy?: string;
}

/** Checks a parsed model.json: format, version, fields, and file names that stay inside the directory. */
export function checkManifest(value: unknown, path: string): ModelManifest {
  const fail = (problem: string) => new InputError(path, problem);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('not a JSON object');
  const m = value as Record<string, unknown>;
  if (m['format'] !== MANIFEST_FORMAT) throw fail(`not a simvq-audio model manifest (format is ${JSON.stringify(m['format'])}, expected "${MANIFEST_FORMAT}")`);
  if (m['formatVersion'] !== MANIFEST_VERSION) throw fail(`model format version ${JSON.stringify(m['formatVersion'])}; this simvq-audio reads version ${MANIFEST_VERSION}`);
  for (const key of ['modelId', 'modelHash', 'config', 'weights']) {
    if (typeof m[key] !== 'string' || (m[key] as string).length === 0) throw fail(`field ${key} must be a non-empty string`);
  }
  for (const key of ['sampleRate', 'frameRate', 'hop', 'codebookSize']) {
    if (typeof m[key] !== 'number' || !((m[key] as number) > 0)) throw fail(`field ${key} must be a positive number`);
  }
  const graphs = m['graphs'];
  if (typeof graphs !== 'object' || graphs === null || Array.isArray(graphs) || Object.values(graphs).some((v) => typeof v !== 'string')) {
    throw fail('field graphs must map roles to file names');
  }
  for (const role of ['encoder', 'decoder']) {
    if (typeof (graphs as Record<string, unknown>)[role] !== 'string') throw fail(`field graphs has no ${role}`);
  }
  if (m['codebook'] !== undefined && (typeof m['codebook'] !== 'string' || m['codebook'].length === 0)) throw fail('field codebook must be a non-empty string when present');
  const codebookFile = m['codebook'] === undefined ? [] : [m['codebook']];
  for (const file of [m['config'], m['weights'], ...Object.values(graphs), ...codebookFile] as string[]) {
    // Files live inside the directory: a manifest may not point elsewhere.
    if (file.includes('/') || file.includes('\\') || file.startsWith('.')) throw fail(`file name ${JSON.stringify(file)} must be a plain name inside the model directory`);
  }
  return value as ModelManifest;
}

/** Refuses a manifest whose rates or codebook size disagree with its config. */
export function checkManifestAgainstConfig(manifest: ModelManifest, config: CodecConfig, where: string): void {
  const mismatch = (
    [
      ['sampleRate', config.sampleRate],
      ['hop', hopLength(config)],
      ['codebookSize', config.quantizer.codebookSize],
    ] as const
  ).find(([key, value]) => manifest[key] !== value);
  if (mismatch !== undefined) throw new InputError(where, `${mismatch[0]} is ${manifest[mismatch[0]]} but ${manifest.config} says ${mismatch[1]}`);
}
