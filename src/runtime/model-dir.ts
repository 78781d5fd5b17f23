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
import {
  checkManifest,
  checkManifestAgainstConfig,
  CONFIG_FILE,
  DEFAULT_MODEL_NAME,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  WEIGHTS_FILE,
  type ModelGraphs,
  type ModelManifest,
} from './model-manifest.js';

export * from './model-manifest.js';
export { describeModel } from './windowed-codec.js';

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
  checkManifestAgainstConfig(manifest, config, manifestPath);
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
