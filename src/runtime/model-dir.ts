/**
 * Model directories: what `simvq-audio export` writes and `Codec.load` reads.
 *
 *   DIR/model.json          the manifest (ModelManifest): id, hash, rates, file names
 *   DIR/config.json         the codec config (src/codec/config.ts schema)
 *   DIR/model.safetensors   the generator's parameters, named as in CodecModel
 *   DIR/encoder.onnx        audio [B, 1, T] → tokens [B, T/hop] (int64), C·W + b inside
 *   DIR/decoder.onnx        tokens [B, F] (int64) → audio [B, 1, F·hop]
 *   DIR/<more>.onnx         optional graphs (the streaming ones), listed in manifest.graphs
 *
 * The model hash covers config.json and model.safetensors byte for byte: a
 * .svq file carries it, and tokens decode only with the model that made them.
 * Reading recomputes it, so a directory whose weights were swapped is refused.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import { frameRate, hopLength, parseCodecConfig, type CodecConfig } from '../codec/config.js';
import { InputError } from '../errors.js';
import { describeFsError, packageRoot } from '../files.js';

export { describeModel } from './windowed-codec.js';

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

/** A model directory, read and checked. */
export interface ModelDirectory {
  directory: string;
  manifest: ModelManifest;
  config: CodecConfig;
  /** Absolute path of a graph by role, or null when the directory has none for it. */
  graphPath(role: string): string | null;
  weightsPath: string;
}

/** sha256 over the config bytes, a separator and the weights bytes; 16 hex digits. */
export function modelHash(configBytes: Uint8Array, weightsBytes: Uint8Array): string {
  return createHash('sha256').update(configBytes).update('\0').update(weightsBytes).digest('hex').slice(0, 16);
}

/** The manifest fields that follow from a config. */
export function manifestFor(config: CodecConfig, modelId: string, hash: string, graphs: ModelGraphs, source?: ModelManifest['source'], createdBy?: string, codebook?: string): ModelManifest {
  return {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    modelId,
    modelHash: hash,
    sampleRate: config.sampleRate,
    frameRate: frameRate(config),
    hop: hopLength(config),
    codebookSize: config.quantizer.codebookSize,
    causal: config.causal,
    config: CONFIG_FILE,
    weights: WEIGHTS_FILE,
    graphs,
    ...(codebook === undefined ? {} : { codebook }),
    ...(source === undefined ? {} : { source }),
    ...(createdBy === undefined ? {} : { createdBy }),
  };
}

/**
 * Where named models live: codec/pretrained/<name>/ in the package (the
 * shipped ones), or the directory SIMVQ_PRETRAINED_DIR names.
 */
export function pretrainedDirectory(): string {
  const override = process.env['SIMVQ_PRETRAINED_DIR'];
  return override !== undefined && override !== '' ? resolve(override) : join(packageRoot(), 'codec', 'pretrained');
}

/** Where the default model lives: <pretrainedDirectory()>/speech-16k-0.9kbps. */
export function defaultModelDirectory(): string {
  return join(pretrainedDirectory(), DEFAULT_MODEL_NAME);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The directory a model name or path means: a path (anything with a '/' or
 * starting with '.') as given; a bare name, codec/pretrained/<name>/; nothing,
 * the default model. Fails with one line when there is no such directory.
 */
export async function resolveModelDirectory(nameOrPath?: string): Promise<string> {
  if (nameOrPath === undefined || nameOrPath === '') {
    const directory = defaultModelDirectory();
    if (await isDirectory(directory)) return directory;
    throw new InputError(
      null,
      `no default model is installed yet (${directory} does not exist); name a model directory with --model DIR (Codec.load('DIR')), or make one with \`simvq-audio export --checkpoint RUN --out DIR\``,
    );
  }
  const isPath = nameOrPath.includes('/') || nameOrPath.startsWith('.') || isAbsolute(nameOrPath);
  const directory = isPath ? resolve(nameOrPath) : join(pretrainedDirectory(), nameOrPath);
  if (await isDirectory(directory)) return directory;
  if (!isPath && (await isDirectory(resolve(nameOrPath)))) return resolve(nameOrPath);
  throw new InputError(nameOrPath, isPath ? 'no such model directory' : `no such model (not a directory here, nor in ${pretrainedDirectory()})`);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new InputError(path, describeFsError(error, 'read'));
  }
}

function checkManifest(value: unknown, path: string): ModelManifest {
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

/**
 * Reads and checks a model directory: the manifest, the config against its
 * schema and against the manifest, and the hash of config and weights.
 */
export async function readModelDirectory(nameOrPath?: string): Promise<ModelDirectory> {
  const directory = await resolveModelDirectory(nameOrPath);
  const manifestPath = join(directory, MANIFEST_FILE);
  let manifestValue: unknown;
  const manifestText = Buffer.from(await readBytes(manifestPath)).toString('utf8');
  try {
    manifestValue = JSON.parse(manifestText);
  } catch {
    throw new InputError(manifestPath, 'not valid JSON');
  }
  const manifest = checkManifest(manifestValue, manifestPath);
  const configPath = join(directory, manifest.config);
  const weightsPath = join(directory, manifest.weights);
  const configBytes = await readBytes(configPath);
  let configValue: unknown;
  try {
    configValue = JSON.parse(Buffer.from(configBytes).toString('utf8'));
  } catch {
    throw new InputError(configPath, 'not valid JSON');
  }
  const config = parseCodecConfig(configValue, configPath);
  const mismatch = (
    [
      ['sampleRate', config.sampleRate],
      ['hop', hopLength(config)],
      ['codebookSize', config.quantizer.codebookSize],
    ] as const
  ).find(([key, value]) => manifest[key] !== value);
  if (mismatch !== undefined) throw new InputError(manifestPath, `${mismatch[0]} is ${manifest[mismatch[0]]} but ${manifest.config} says ${mismatch[1]}`);
  const hash = modelHash(configBytes, await readBytes(weightsPath));
  if (hash !== manifest.modelHash) {
    throw new InputError(directory, `config and weights hash to ${hash}, but ${MANIFEST_FILE} says ${manifest.modelHash}: the files were changed after export`);
  }
  if (manifest.codebook !== undefined) {
    // The graphs read their codebook from this file; onnxruntime's own message for a short or missing one is obscure.
    const codebookPath = join(directory, manifest.codebook);
    const expected = config.quantizer.codebookSize * config.latentDim * 4;
    let size: number;
    try {
      size = (await stat(codebookPath)).size;
    } catch (error) {
      throw new InputError(codebookPath, `${describeFsError(error, 'read')} (the graphs read the codebook from it)`);
    }
    if (size !== expected) throw new InputError(codebookPath, `holds ${size} bytes, but a ${config.quantizer.codebookSize} × ${config.latentDim} float32 codebook takes ${expected}`);
  }
  return {
    directory,
    manifest,
    config,
    weightsPath,
    graphPath: (role) => {
      const file = manifest.graphs[role];
      return file === undefined ? null : join(directory, file);
    },
  };
}
