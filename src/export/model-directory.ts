/**
 * From trained weights to a model directory: the codec config, its weights as
 * safetensors, and the encoder and decoder as ONNX graphs written by our own
 * graph builder from the same tfjs parameters (every layer emits itself).
 *
 * The SimVQ codebook C·W + b is evaluated once here (unit rows when the
 * quantizer searches on the sphere) and written once, as codebook.f32, which
 * every graph reads as a constant [K, d] (./graph-codebook.ts):
 *
 *   encoder.onnx  audio [B, 1, T] → latents → rows [B·F, d] (unit when normalized)
 *                 → nearest code, exact: ‖e‖² − 2·z·e a block of codes at a
 *                   time (./search.ts) → tokens [B, F]
 *   decoder.onnx  tokens [B, F] → Gather rows of the constant → [B, d, F] → decoder → audio [B, 1, F·hop]
 *
 * The scores are the same expression the tfjs search (src/quantizers/search.ts)
 * minimises, so both pick the same code except on float near-ties (and on
 * frames whose latents are exactly zero, where every code ties and rounding
 * decides; bench/runtime.ts counts them apart). The search scores 16,384
 * codes at a time, B·F·16,384 floats: callers still run the encoder on
 * bounded windows (./chunking.ts).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { parseCodecConfig, type CodecConfig } from '../codec/config.js';
import { CodecModel } from '../codec/model.js';
import { InputError } from '../errors.js';
import { describeFsError, packageVersion, pathExists } from '../files.js';
import { emit } from '../nn/layers.js';
import { encodeSafetensors, readSafetensors, type NamedTensor } from '../nn/safetensors.js';
import { OnnxGraphBuilder } from '../onnx/index.js';
import { checkpointDirectoryName, latestCheckpoint } from '../train/checkpoint.js';
import {
  CONFIG_FILE,
  DECODER_GRAPH_FILE,
  DECODER_INPUT,
  DECODER_OUTPUT,
  ENCODER_GRAPH_FILE,
  ENCODER_INPUT,
  ENCODER_OUTPUT,
  MANIFEST_FILE,
  STREAM_DECODER_ROLE,
  STREAM_ENCODER_ROLE,
  WEIGHTS_FILE,
  manifestFor,
  modelHash,
  type ModelManifest,
} from '../runtime/model-dir.js';
import { exportStreamingDecoderOnnx, exportStreamingEncoderOnnx } from './streaming.js';
import { addCodebookRows, CODEBOOK_FILE, codebookFileBytes, modelCodebook, type GraphCodebook } from './graph-codebook.js';
import { emitNearestCodeSearch, SEARCH_BLOCK_CODES, SEARCH_OPSET_IMPORTS, type SearchMethod } from './search-graph.js';

function graphMetadata(manifest: Pick<ModelManifest, 'modelId' | 'modelHash'>): Record<string, string> {
  return { modelId: manifest.modelId, modelHash: manifest.modelHash, producer: `simvq-audio ${packageVersion()}` };
}

/** Options for the whole-file graphs. */
export interface GraphOptions {
  /** The codebook as the graph should hold it (default: read from the model, inline). */
  codebook?: GraphCodebook;
  /** The encoder's search (default 'exhaustive': over a window of frames it is the faster; ./search.ts). */
  search?: SearchMethod;
  /** Codes the encoder scores per block (default SEARCH_BLOCK_CODES). */
  searchBlockCodes?: number;
}

/** encoder.onnx: audio [B, 1, T] (T a multiple of the hop) → tokens [B, T/hop] int64. */
export function encoderGraphBytes(model: CodecModel, manifest: Pick<ModelManifest, 'modelId' | 'modelHash'>, options: GraphOptions = {}): Uint8Array {
  const g = new OnnxGraphBuilder('simvq_encoder');
  g.addInput(ENCODER_INPUT, 'float32', ['batch', 1, 'samples']);
  g.addOutput(ENCODER_OUTPUT, 'int64', ['batch', 'frames']);
  const latents = model.exportEncoderOnnx(g, ENCODER_INPUT);
  const ids = emitNearestCodeSearch(g, latents, {
    codebook: options.codebook ?? modelCodebook(model),
    normalized: model.config.quantizer.normalized,
    method: options.search ?? 'exhaustive',
    blockCodes: options.searchBlockCodes ?? SEARCH_BLOCK_CODES,
  });
  const tokensShape = emit(g, 'Concat', [emit(g, 'Shape', [ENCODER_INPUT], { start: 0, end: 1 }), g.addConstant('rest', 'int64', [-1])], { axis: 0 });
  g.addNode('Reshape', [ids, tokensShape], [ENCODER_OUTPUT]);
  return g.toModelBytes({ metadata: graphMetadata(manifest), opsetImports: SEARCH_OPSET_IMPORTS });
}

/** decoder.onnx: tokens [B, F] int64 → audio [B, 1, F·hop]. */
export function decoderGraphBytes(model: CodecModel, manifest: Pick<ModelManifest, 'modelId' | 'modelHash'>, options: Pick<GraphOptions, 'codebook'> = {}): Uint8Array {
  const g = new OnnxGraphBuilder('simvq_decoder');
  g.addInput(DECODER_INPUT, 'int64', ['batch', 'frames']);
  g.addOutput(DECODER_OUTPUT, 'float32', ['batch', 1, 'samples']);
  const codebook = addCodebookRows(g, 'codebook', options.codebook ?? modelCodebook(model));
  const vectors = emit(g, 'Gather', [codebook, DECODER_INPUT], { axis: 0 });
  const latents = emit(g, 'Transpose', [vectors], { perm: [0, 2, 1] });
  const audio = model.exportDecoderOnnx(g, latents);
  g.addNode('Identity', [audio], [DECODER_OUTPUT]);
  return g.toModelBytes({ metadata: graphMetadata(manifest) });
}

/** The generator's parameters by name, as model.safetensors holds them. */
function parameterTensors(model: CodecModel): Map<string, NamedTensor> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, variable] of model.parameters.named()) {
    tensors.set(name, { shape: [...variable.shape], data: Float32Array.from(variable.dataSync() as Float32Array) });
  }
  return tensors;
}

/**
 * A further graph for the directory, e.g. the streaming encoder: its file name
 * and how to build it (`codebook` refers to the directory's codebook.f32).
 */
export interface ExtraGraph {
  file: string;
  build: (model: CodecModel, manifest: Pick<ModelManifest, 'modelId' | 'modelHash'>, codebook: GraphCodebook) => Uint8Array;
}

export interface WriteModelOptions {
  /** Default: the config's name. */
  modelId?: string;
  /** More graphs by role (listed in manifest.graphs beside encoder and decoder). */
  extraGraphs?: Record<string, ExtraGraph>;
  source?: ModelManifest['source'];
  /** Replace an existing directory. */
  force?: boolean;
}

/** Roles of the streaming step graphs in a model directory (written for causal models). */
export { STREAM_DECODER_ROLE, STREAM_ENCODER_ROLE } from '../runtime/model-dir.js';

/** The streaming step graphs (src/runtime/streaming) of a causal model; none for a centred one. */
function streamingGraphs(model: CodecModel): Record<string, ExtraGraph> {
  if (!model.config.causal) return {};
  return {
    [STREAM_ENCODER_ROLE]: { file: 'encoder.stream.onnx', build: (m, _manifest, codebook) => exportStreamingEncoderOnnx(m, { codebook }) },
    [STREAM_DECODER_ROLE]: { file: 'decoder.stream.onnx', build: (m, _manifest, codebook) => exportStreamingDecoderOnnx(m, { codebook }) },
  };
}

/**
 * Writes a complete model directory for `model` at `out`. A causal model also
 * gets its streaming step graphs. The files are
 * written into a temporary sibling directory that is renamed into place at
 * the end, so `out` is never left half-written.
 */
export async function writeModelDirectory(model: CodecModel, out: string, options: WriteModelOptions = {}): Promise<ModelManifest> {
  if (!options.force && (await pathExists(out))) throw new InputError(out, 'exists; pass --force to replace it');
  const configBytes = Buffer.from(JSON.stringify(model.config, null, 2) + '\n', 'utf8');
  const weightsBytes = encodeSafetensors(parameterTensors(model));
  const hash = modelHash(configBytes, weightsBytes);
  const modelId = options.modelId ?? model.config.name;
  const extras = Object.entries({ ...streamingGraphs(model), ...(options.extraGraphs ?? {}) });
  const graphs: ModelManifest['graphs'] = { encoder: ENCODER_GRAPH_FILE, decoder: DECODER_GRAPH_FILE };
  for (const [role, { file }] of extras) {
    if (role in graphs || Object.values(graphs).includes(file) || !/^[A-Za-z0-9][A-Za-z0-9._-]*\.onnx$/.test(file)) {
      throw new Error(`writeModelDirectory: extra graph ${role} -> ${file} clashes with another graph or is not a plain .onnx file name`);
    }
    graphs[role] = file;
  }
  const manifest = manifestFor(model.config, modelId, hash, graphs, options.source, `simvq-audio ${packageVersion()}`, CODEBOOK_FILE);
  const codebook = modelCodebook(model, CODEBOOK_FILE);
  const temporary = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    await rm(temporary, { recursive: true, force: true });
    await mkdir(temporary, { recursive: false });
    await writeFile(join(temporary, CONFIG_FILE), configBytes);
    await writeFile(join(temporary, WEIGHTS_FILE), weightsBytes);
    await writeFile(join(temporary, CODEBOOK_FILE), codebookFileBytes(codebook));
    await writeFile(join(temporary, ENCODER_GRAPH_FILE), encoderGraphBytes(model, manifest, { codebook }));
    await writeFile(join(temporary, DECODER_GRAPH_FILE), decoderGraphBytes(model, manifest, { codebook }));
    for (const [, { file, build }] of extras) await writeFile(join(temporary, file), build(model, manifest, codebook));
    await writeFile(join(temporary, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    if (options.force) await rm(out, { recursive: true, force: true });
    await rename(temporary, out);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    if (error instanceof InputError) throw error;
    throw new InputError(out, describeFsError(error, 'write'));
  }
  return manifest;
}

/** Rebuilds the tfjs CodecModel a config and a generator safetensors file describe. */
export async function loadCodecModel(config: CodecConfig, weightsPath: string): Promise<CodecModel> {
  const model = new CodecModel(config, 0);
  try {
    await loadWeights(model, weightsPath);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** A safetensors file's tensors into `model`'s parameters; a missing or mismatched tensor is an InputError naming the file. */
export async function loadWeights(model: CodecModel, weightsPath: string): Promise<void> {
  const { tensors } = await readSafetensors(weightsPath);
  try {
    model.parameters.load(tensors, weightsPath);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(weightsPath, message.replace(`${weightsPath}: `, ''));
  }
}

/** The checkpoint directory of a run: step N, or the latest. */
export async function checkpointDirectory(runDirectory: string, step?: number): Promise<{ directory: string; step: number }> {
  if (!(await pathExists(runDirectory))) throw new InputError(runDirectory, 'no such training run directory');
  if (step !== undefined) {
    const directory = join(runDirectory, 'checkpoints', checkpointDirectoryName(step));
    if (!(await pathExists(directory))) throw new InputError(runDirectory, `has no checkpoint for step ${step}`);
    return { directory, step };
  }
  const latest = await latestCheckpoint(runDirectory);
  if (latest === null) throw new InputError(runDirectory, 'has no checkpoints (checkpoints/latest is missing)');
  return { directory: latest, step: Number(basename(latest).slice('step-'.length)) };
}

/** The codec config a training run was started with (RUN/config.json), checked by the schema. */
export async function readRunConfig(runDirectory: string): Promise<CodecConfig> {
  const configPath = join(runDirectory, 'config.json');
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    throw new InputError(configPath, describeFsError(error, 'read'));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(configPath, 'not valid JSON');
  }
  return parseCodecConfig(value, configPath);
}

export interface ExportCheckpointOptions {
  step?: number;
  modelId?: string;
  force?: boolean;
}

/**
 * `simvq-audio export`: the generator of a training run's checkpoint (with the
 * run's config.json) to a model directory.
 */
export async function exportCheckpoint(runDirectory: string, out: string, options: ExportCheckpointOptions = {}): Promise<{ manifest: ModelManifest; step: number; checkpoint: string }> {
  if (!options.force && (await pathExists(out))) throw new InputError(out, 'exists; pass --force to replace it');
  const { directory, step } = await checkpointDirectory(runDirectory, options.step);
  const config = await readRunConfig(runDirectory);
  const model = await loadCodecModel(config, join(directory, 'generator.safetensors'));
  try {
    const manifest = await writeModelDirectory(model, out, {
      ...(options.modelId === undefined ? {} : { modelId: options.modelId }),
      source: { checkpoint: directory, step, preset: config.name },
      force: options.force ?? false,
    });
    return { manifest, step, checkpoint: directory };
  } finally {
    model.dispose();
  }
}
