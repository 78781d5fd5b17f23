/**
 * `simvq-audio encode | decode | roundtrip | export`: the runtime on files.
 *
 * Every input is checked and every output path decided before any output is
 * written; outputs are written atomically (temp file + rename), so a failure
 * leaves no half-written file, and an existing file is kept unless --force.
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';

import { probeWav } from '../datasets/probe.js';
import { InputError } from '../errors.js';
import { describeFsError, writeFileAtomic } from '../files.js';
import { JobProgress } from './progress.js';
import { Codec, type CodecTokens, type RuntimeEngine } from '../runtime/codec.js';
import { readTokenFile, tokenFileBytes, type TokenFormat } from '../tokens/token-file.js';
import { bitsPerCode } from '../tokens/svq.js';

export { readTokenFile, tokenFileBytes, type TokenFormat };

export interface CodecCommandOptions {
  output?: string;
  outDir?: string;
  model?: string;
  force?: boolean;
  engine?: RuntimeEngine | 'auto';
  /** False for --no-progress; drawn only on a terminal, plain lines when piped. */
  progress?: boolean;
}

export interface EncodeCommandOptions extends CodecCommandOptions {
  format: TokenFormat;
}

/**
 * Where each input's output goes: -o (one input only), else beside it or in
 * --out-dir (made when missing), as NAME + suffix. Every check runs before
 * anything is loaded or written: an output that would replace an input (by any
 * path, symlink or hard link: same device and inode), two inputs with one
 * output, an existing output without --force, a missing -o folder.
 */
async function outputPaths(inputs: readonly string[], options: CodecCommandOptions, suffix: string): Promise<string[]> {
  if (inputs.length === 0) throw new InputError(null, 'no input files given');
  if (options.output !== undefined && inputs.length > 1) throw new InputError('-o', `names one output but ${inputs.length} inputs were given; use --out-dir`);
  const outputs = inputs.map((input) => {
    if (options.output !== undefined) return options.output;
    const name = basename(input, extname(input)) + suffix;
    return join(options.outDir ?? dirname(input), name);
  });
  const identities = new Map<string, string>();
  for (const input of inputs) {
    const identity = await fileIdentity(input);
    if (identity === null) throw new InputError(input, 'file not found');
    identities.set(identity, input);
  }
  const seen = new Map<string, string>();
  for (const [i, output] of outputs.entries()) {
    const other = seen.get(resolve(output));
    if (other !== undefined) throw new InputError(output, `would be written for both ${other} and ${inputs[i]}`);
    seen.set(resolve(output), inputs[i]!);
    const identity = await fileIdentity(output);
    const input = identity === null ? undefined : identities.get(identity);
    if (input !== undefined) throw new InputError(output, input === output ? 'is also an input' : `is the input ${input} under another name; it would be overwritten`);
    if (options.force !== true && identity !== null) throw new InputError(output, 'exists; pass --force to overwrite');
  }
  if (options.outDir !== undefined) {
    await mkdir(options.outDir, { recursive: true }).catch((error: unknown) => {
      throw new InputError(options.outDir!, `cannot make the output directory: ${describeFsError(error, 'write')}`);
    });
  } else if (options.output !== undefined) {
    const folder = dirname(options.output);
    const isFolder = await stat(folder).then((s) => s.isDirectory(), () => false);
    if (!isFolder) throw new InputError(options.output, `cannot be written: the folder ${folder} does not exist`);
  }
  return outputs;
}

/** Device and inode of the file a path names (after symlinks), or null when there is none. */
async function fileIdentity(path: string): Promise<string | null> {
  try {
    const { dev, ino } = await stat(path);
    return `${dev}:${ino}`;
  } catch {
    return null;
  }
}

/**
 * Every WAV header is read before anything is encoded, so one bad file among
 * many stops the run before any output; returns the seconds of audio in all.
 */
async function checkWavHeaders(inputs: readonly string[]): Promise<number> {
  let seconds = 0;
  for (const input of inputs) seconds += (await probeWav(input)).durationSeconds;
  return seconds;
}

function jobProgress(label: string, seconds: number, options: CodecCommandOptions): JobProgress {
  return new JobProgress({ label, total: seconds, unit: 'audio-s', enabled: options.progress !== false });
}

async function loadCodec(options: CodecCommandOptions): Promise<Codec> {
  return Codec.load(options.model, options.engine === undefined ? {} : { engine: options.engine });
}

function describeTokens(tokens: CodecTokens): string {
  const seconds = tokens.header.originalLength / tokens.header.sampleRate;
  return `${tokens.codes.length} tokens, ${seconds.toFixed(2)} s`;
}

export async function encodeCommand(inputs: string[], options: EncodeCommandOptions): Promise<string> {
  const outputs = await outputPaths(inputs, options, `.${options.format}`);
  const seconds = await checkWavHeaders(inputs);
  const codec = await loadCodec(options);
  const lines: string[] = [];
  const progress = jobProgress('encode', seconds, options);
  try {
    for (const [i, input] of inputs.entries()) {
      const tokens = await codec.encodeWavFile(input, { onProgress: (done) => progress.advance(done, basename(input)) });
      await writeFileAtomic(outputs[i]!, tokenFileBytes(tokens, options.format), options.force === true);
      lines.push(`${input} -> ${outputs[i]}: ${describeTokens(tokens)} (model ${codec.modelId})`);
    }
  } finally {
    progress.finish();
    await codec.dispose();
  }
  return lines.join('\n') + '\n';
}

export async function decodeCommand(inputs: string[], options: CodecCommandOptions): Promise<string> {
  const outputs = await outputPaths(inputs, options, '.decoded.wav');
  const codec = await loadCodec(options);
  const lines: string[] = [];
  let progress: JobProgress | null = null;
  try {
    // Every token file is read and checked against the model before any audio is written.
    const files: CodecTokens[] = [];
    for (const input of inputs) {
      const tokens = await readTokenFile(input);
      codec.checkTokens(tokens, input);
      files.push(tokens);
    }
    const seconds = files.reduce((total, tokens) => total + tokens.header.originalLength / tokens.header.sampleRate, 0);
    const bar = (progress = jobProgress('decode', seconds, options));
    for (const [i, tokens] of files.entries()) {
      const onProgress = (done: number) => bar.advance(done, basename(inputs[i]!));
      const { samples } = await codec.decodeToWavFile(tokens, outputs[i]!, { source: inputs[i]!, force: options.force === true, onProgress });
      lines.push(`${inputs[i]} -> ${outputs[i]}: ${tokens.codes.length} tokens, ${(samples / codec.sampleRate).toFixed(2)} s at ${codec.sampleRate} Hz`);
    }
  } finally {
    progress?.finish();
    await codec.dispose();
  }
  return lines.join('\n') + '\n';
}

export async function roundtripCommand(inputs: string[], options: CodecCommandOptions): Promise<string> {
  const outputs = await outputPaths(inputs, options, '.roundtrip.wav');
  const seconds = await checkWavHeaders(inputs);
  const codec = await loadCodec(options);
  const lines: string[] = [];
  // Each second of audio is encoded, then decoded: the bar counts both passes.
  const progress = jobProgress('roundtrip', 2 * seconds, options);
  try {
    for (const [i, input] of inputs.entries()) {
      const onProgress = (done: number) => progress.advance(done, basename(input));
      const tokens = await codec.encodeWavFile(input, { onProgress });
      await codec.decodeToWavFile(tokens, outputs[i]!, { source: input, force: options.force === true, onProgress });
      const bits = tokens.codes.length * bitsPerCode(codec.codebookSize);
      lines.push(`${input} -> ${outputs[i]}: ${describeTokens(tokens)}, ${Math.round(bits / (tokens.header.originalLength / tokens.header.sampleRate))} bit/s`);
    }
  } finally {
    progress.finish();
    await codec.dispose();
  }
  return lines.join('\n') + '\n';
}

export interface ExportCommandOptions {
  checkpoint: string;
  out: string;
  step?: string;
  id?: string;
  force?: boolean;
}

export async function exportCommand(options: ExportCommandOptions, backend?: import('../engine/index.js').BackendName | 'auto'): Promise<string> {
  let step: number | undefined;
  if (options.step !== undefined) {
    step = Number(options.step);
    if (!Number.isInteger(step) || step < 0) throw new InputError('--step', `must be a whole number >= 0, got '${options.step}'`);
  }
  if (options.id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.id)) {
    throw new InputError('--id', `must be letters, digits, '.', '_' or '-', got '${options.id}'`);
  }
  // The model is built on tfjs, to load its weights and emit its layers as graphs.
  const [{ initEngine }, { exportCheckpoint }] = await Promise.all([import('../engine/index.js'), import('../export/model-directory.js')]);
  await initEngine(backend === undefined ? {} : { backend });
  const { manifest, step: exported, checkpoint } = await exportCheckpoint(options.checkpoint, options.out, {
    ...(step === undefined ? {} : { step }),
    ...(options.id === undefined ? {} : { modelId: options.id }),
    force: options.force === true,
  });
  return `${options.out}: model ${manifest.modelId} (hash ${manifest.modelHash}) from ${checkpoint} (step ${exported}): ${Object.values(manifest.graphs).join(', ')}\n`;
}
