/**
 * `simvq-audio info [FILE...]`: the active compute engine (every rung of the
 * backend ladder and why it was or was not used) and what each WAV file holds.
 */
import { stat } from 'node:fs/promises';

import { readWav, type AudioClip } from '../audio/index.js';
import { bitrate, bitsPerToken, frameRate, hopLength } from '../codec/config.js';
import { loadCodecConfig } from '../codec/presets.js';
import { initEngine, type BackendName, type EngineReport } from '../engine/index.js';
import { InputError } from '../errors.js';
import { pathExists } from '../files.js';
import { launchMode, type LaunchMode } from '../relaunch.js';
import { defaultModelDirectory, readModelDirectory } from '../runtime/model-dir.js';

/** What `info` reports about one audio file. Levels are of the mono mix that readWav returns. */
export interface FileInfo {
  path: string;
  sampleRate: number;
  channels: number;
  /** As readWav reports it: '16', '24', '32f', ... */
  bitDepth: string;
  durationSeconds: number;
  frames: number;
  /** Peak sample level in dBFS; null for digital silence (−∞). */
  peakDbfs: number | null;
  /** RMS level in dBFS; null for digital silence (−∞). */
  rmsDbfs: number | null;
}

/** What `info --preset` reports about a codec preset: the figures that follow from its config. */
export interface PresetInfo {
  name: string;
  description: string;
  sampleRate: number;
  causal: boolean;
  /** Samples per token. */
  hop: number;
  /** Tokens per second. */
  frameRate: number;
  codebookSize: number;
  bitsPerToken: number;
  /** Bits per second: frameRate · bitsPerToken. */
  bitrate: number;
  latentDim: number;
  quantizer: string;
  decoder: string;
}

/** The whole `info` answer; `--json` prints exactly this object. */
export interface InfoReport {
  /** This package's version. */
  version: string;
  engine: EngineReport;
  /** The model used when none is named, or why there is none. */
  defaultModel: { modelId: string; modelHash: string; directory: string } | { missing: string };
  /** Whether the command started Node again with the engine's settings (see src/relaunch.ts). */
  launch: LaunchMode;
  files: FileInfo[];
  presets: PresetInfo[];
}

export interface InfoOptions {
  /** undefined: let the engine read $SIMVQ_BACKEND, then fall back to 'auto'. */
  backend?: BackendName | 'auto';
  version: string;
  /** Preset names (or config paths) to describe. */
  presets?: readonly string[];
}

function dbfs(linear: number): number | null {
  return linear > 0 ? 20 * Math.log10(linear) : null;
}

/** Peak and RMS of full-scale-normalised samples, in dBFS. */
export function levels(samples: Float32Array): { peakDbfs: number | null; rmsDbfs: number | null } {
  let peak = 0;
  let sumSquares = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    const magnitude = Math.abs(x);
    if (magnitude > peak) peak = magnitude;
    sumSquares += x * x;
  }
  const rms = samples.length > 0 ? Math.sqrt(sumSquares / samples.length) : 0;
  return { peakDbfs: dbfs(peak), rmsDbfs: dbfs(rms) };
}

/** Reads one WAV file; file-system problems become a one-line InputError naming the file. */
async function readAudioFile(path: string): Promise<AudioClip> {
  try {
    const stats = await stat(path);
    if (stats.isDirectory()) throw new InputError(path, 'is a directory, not a WAV file');
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(path, fileSystemProblem(error));
  }
  try {
    return await readWav(path, { channel: 'mix' });
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (typeof code === 'string' && code.startsWith('E')) throw new InputError(path, fileSystemProblem(error));
    throw error;
  }
}

function fileSystemProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a WAV file';
    default:
      return `cannot read the file (${code ?? (error instanceof Error ? error.message : String(error))})`;
  }
}

export async function describeFile(path: string): Promise<FileInfo> {
  const clip = await readAudioFile(path);
  return {
    path,
    sampleRate: clip.sampleRate,
    channels: clip.channels,
    bitDepth: clip.bitDepth,
    durationSeconds: clip.durationSeconds,
    frames: clip.samples.length,
    ...levels(clip.samples),
  };
}

/**
 * Gathers the whole report before anything is printed, so bad input ends the
 * command with one error line and no half-written output. Files are read first:
 * they are cheap to check and the commonest mistake.
 */
export async function gatherInfo(files: readonly string[], options: InfoOptions): Promise<InfoReport> {
  const described: FileInfo[] = [];
  for (const path of files) described.push(await describeFile(path));
  const presets: PresetInfo[] = [];
  for (const name of options.presets ?? []) presets.push(await describePreset(name));
  const engine = await initEngine(options.backend === undefined ? {} : { backend: options.backend });
  return { version: options.version, engine, defaultModel: await describeDefaultModel(), launch: launchMode(), files: described, presets };
}

/** The default model's id, hash and place; a directory that fails its checks is reported, not thrown. */
async function describeDefaultModel(): Promise<InfoReport['defaultModel']> {
  const expected = defaultModelDirectory();
  if (!(await pathExists(expected))) return { missing: `${expected} does not exist` };
  try {
    const model = await readModelDirectory();
    return { modelId: model.manifest.modelId, modelHash: model.manifest.modelHash, directory: model.directory };
  } catch (error) {
    return { missing: error instanceof Error ? error.message : String(error) };
  }
}

export async function describePreset(nameOrPath: string): Promise<PresetInfo> {
  const config = await loadCodecConfig(nameOrPath);
  const decoder =
    config.decoder.type === 'vocos'
      ? `vocos (ConvNeXt ${config.decoder.layers} x ${config.decoder.dim}, iSTFT n_fft ${config.decoder.nFft})`
      : `seanet (mirrored, ${config.decoder.channels} channels at the output)`;
  return {
    name: config.name,
    description: config.description,
    sampleRate: config.sampleRate,
    causal: config.causal,
    hop: hopLength(config),
    frameRate: frameRate(config),
    codebookSize: config.quantizer.codebookSize,
    bitsPerToken: bitsPerToken(config),
    bitrate: bitrate(config),
    latentDim: config.latentDim,
    quantizer: config.quantizer.method,
    decoder,
  };
}

function formatBitDepth(bitDepth: string): string {
  const float = /^(\d+)f$/.exec(bitDepth);
  if (float) return `${float[1]}-bit float`;
  if (/^\d+$/.test(bitDepth)) return `${bitDepth}-bit`;
  return bitDepth;
}

function formatDbfs(value: number | null): string {
  return value === null ? '-inf dBFS' : `${value.toFixed(1)} dBFS`;
}

const LAUNCH_DESCRIPTIONS: Record<LaunchMode, string> = {
  relaunched: 'started again with glibc heap trimming off and single-threaded GC (SIMVQ_RELAUNCH=0 to skip)',
  off: "Node's and glibc's defaults (SIMVQ_RELAUNCH=0)",
  inspector: "Node's and glibc's defaults (under the inspector, not started again)",
  direct: "Node's and glibc's defaults (not started through the simvq-audio command)",
  unsupported: "Node's defaults (the engine's relaunch is for Linux)",
};

/** The human-readable form of the report, one string ending in a newline. */
export function formatInfo(report: InfoReport): string {
  const { engine } = report;
  const lines: string[] = [];
  lines.push(`simvq-audio ${report.version}`);
  lines.push('');
  lines.push(`engine: ${engine.backend} (tfjs backend '${engine.tfjsBackend}', requested: ${engine.requested})`);
  lines.push('backend ladder, best first:');
  const nameWidth = Math.max(...engine.rungs.map((rung) => rung.name.length));
  for (const rung of engine.rungs) {
    const mark = rung.chosen ? '*' : ' ';
    const availability = rung.available ? 'available    ' : 'unavailable  ';
    lines.push(`  ${mark} ${rung.name.padEnd(nameWidth)}  ${availability}${rung.reason}`);
  }
  const ort = engine.threads.onnxruntimeIntraOp;
  lines.push(`threads: onnxruntime intra-op ${ort === null ? '- (not in use)' : ort}, wasm ${engine.threads.wasm}`);
  const versions = Object.entries(engine.versions).map(([name, version]) => `${name} ${version}`);
  lines.push(`versions: ${versions.join(', ')}`);
  lines.push(`process: ${LAUNCH_DESCRIPTIONS[report.launch]}`);
  const model = report.defaultModel;
  lines.push(`default model: ${'missing' in model ? `none (${model.missing})` : `${model.modelId} (hash ${model.modelHash}) in ${model.directory}`}`);

  for (const file of report.files) {
    lines.push('');
    lines.push(file.path);
    const channels = `${file.channels} channel${file.channels === 1 ? '' : 's'}`;
    lines.push(`  format:   ${file.sampleRate} Hz, ${channels}, ${formatBitDepth(file.bitDepth)}`);
    lines.push(`  duration: ${file.durationSeconds.toFixed(3)} s (${file.frames} frames)`);
    const mix = file.channels > 1 ? ' (mono mix)' : '';
    lines.push(`  level:    peak ${formatDbfs(file.peakDbfs)}, RMS ${formatDbfs(file.rmsDbfs)}${mix}`);
  }
  for (const preset of report.presets) {
    lines.push('');
    lines.push(`preset ${preset.name}${preset.causal ? ' (causal)' : ''}`);
    lines.push(`  bitrate:   ${preset.bitrate} bit/s = ${preset.frameRate} tokens/s x ${preset.bitsPerToken} bits (K = ${preset.codebookSize})`);
    lines.push(`  audio:     ${preset.sampleRate} Hz, hop ${preset.hop} samples`);
    lines.push(`  quantizer: ${preset.quantizer}, latent dim ${preset.latentDim}`);
    lines.push(`  decoder:   ${preset.decoder}`);
    lines.push(`  ${preset.description}`);
  }
  return lines.join('\n') + '\n';
}
