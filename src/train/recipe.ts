/**
 * Recipe comparisons: variants of a preset, each trained for the same
 * wall-clock budget on the same data, then scored on the same dev set by the
 * evaluation's own code (alignment, STOI, mel distance, code usage).
 *
 *   variant (preset + overrides) → train --budget-minutes → trained tfjs model
 *   → runEvaluation over the dev set → one record in recipes.jsonl
 *   → recipes.md (table) and recipes.png (validation STOI against minutes)
 *
 * A trained model is scored as it stands in the tfjs engine, whole files at a
 * time, so a variant needs no export: the ONNX graphs are parity-tested
 * against the same forward pass. A variant still training as an autoencoder
 * (its quantizer not started yet) is scored without the quantizer: that is the
 * architecture's ceiling, not a codec.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { resample } from '../audio/index.js';
import { bitrate, bitsPerToken, hopLength, parseCodecConfig, type CodecConfig } from '../codec/config.js';
import { CodecModel } from '../codec/model.js';
import { InputError } from '../errors.js';
import { describeFsError } from '../files.js';
import { decoderContextFrames, encoderContextFrames, planWindows } from '../runtime/chunking.js';
import { checkpointDirectory, loadCodecModel, readRunConfig } from '../export/model-directory.js';
import type { EvalSystem, RoundTrip } from '../eval/systems.js';
import type { ChartSpec } from '../plot/index.js';

/** One variant: a name, why it is tried, and the config fields it changes (dotted paths). */
export interface RecipeVariant {
  name: string;
  description: string;
  set: Record<string, unknown>;
}

/**
 * The config a variant trains: the base with each dotted path set, checked by
 * the schema, which has no room for unknown fields: a typo fails instead of
 * training the control under another name.
 */
export function applyOverrides(base: CodecConfig, variant: RecipeVariant): CodecConfig {
  const config = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(variant.set)) {
    const keys = path.split('.');
    let node: Record<string, unknown> = config;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new InputError(`variant ${variant.name}`, `'${path}' is not a field of the config`);
      node = next as Record<string, unknown>;
    }
    node[keys[keys.length - 1]!] = structuredClone(value);
  }
  config['name'] = `${base.name}.${variant.name}`;
  config['description'] = `${base.name}, recipe variant '${variant.name}': ${variant.description}`;
  return parseCodecConfig(config, `variant ${variant.name}`);
}

/** Whether a run that reached `step` was still an autoencoder (no quantizer yet). */
export function quantizerBypassedAt(config: CodecConfig, step: number): boolean {
  return step < config.training.quantizerStartStep;
}

/** A training run's config and its newest generator weights as a tfjs model, with what its checkpoint says of the run. */
export async function loadTrainedModel(runDirectory: string): Promise<{ model: CodecModel; step: number; trainSeconds: number; audioSecondsSeen: number }> {
  const config = await readRunConfig(runDirectory);
  const { directory, step } = await checkpointDirectory(runDirectory);
  const statePath = join(directory, 'state.json');
  let state: { trainSeconds?: number; audioSecondsSeen?: number };
  try {
    state = JSON.parse(await readFile(statePath, 'utf8')) as typeof state;
  } catch (error) {
    throw new InputError(statePath, error instanceof SyntaxError ? 'not valid JSON' : describeFsError(error, 'read'));
  }
  const model = await loadCodecModel(config, join(directory, 'generator.safetensors'));
  return { model, step, trainSeconds: state.trainSeconds ?? 0, audioSecondsSeen: state.audioSecondsSeen ?? 0 };
}

/**
 * A trained tfjs model as an evaluation system: the whole utterance through
 * the encoder, the quantizer (unless bypassed) and the decoder, in windows
 * that give what one pass would (reconstructInWindows). The bitrate is the
 * codes' own (frames × bits per token, no file header).
 */
export function trainedModelSystem(model: CodecModel, options: { id: string; label: string; bypassQuantizer: boolean }): EvalSystem {
  const { config } = model;
  const hop = hopLength(config);
  return {
    id: options.id,
    label: options.label,
    kind: 'model',
    nominalBitrate: options.bypassQuantizer ? null : bitrate(config),
    codebookSize: options.bypassQuantizer ? null : config.quantizer.codebookSize,
    async roundTrip(samples: Float32Array, sampleRate: number): Promise<RoundTrip> {
      const input = sampleRate === config.sampleRate ? samples : await resample(samples, sampleRate, config.sampleRate);
      const frames = Math.max(1, Math.ceil(input.length / hop));
      const padded = new Float32Array(frames * hop);
      padded.set(input);
      const start = performance.now();
      const { audio: decodedAll, codes } = reconstructInWindows(model, padded, options.bypassQuantizer);
      const decoded = decodedAll.slice(0, input.length);
      const tokens = codes === null ? [] : Array.from(codes);
      const seconds = (performance.now() - start) / 1000;
      return {
        audio: decoded,
        sampleRate: config.sampleRate,
        encodedBytes: options.bypassQuantizer ? input.length * 2 : Math.ceil((frames * bitsPerToken(config)) / 8),
        // One pass does both; half each keeps the speed columns comparable in size, not meaningful.
        encodeSeconds: seconds / 2,
        decodeSeconds: seconds / 2,
        ...(options.bypassQuantizer ? {} : { tokens }),
      };
    },
  };
}

/** Frames per window of a long utterance: the wasm engine's heap does not hold two minutes of encoder activations at once. */
const WINDOW_FRAMES = 1000;

/**
 * One utterance (a whole number of hops) through the model in windows with
 * left context (src/runtime/chunking.ts), so its outputs equal one pass over
 * the whole utterance while memory stays bounded.
 */
function reconstructInWindows(model: CodecModel, samples: Float32Array, bypassQuantizer: boolean): { audio: Float32Array; codes: Int32Array | null } {
  const hop = hopLength(model.config);
  const frames = samples.length / hop;
  const keepRows = <T extends Float32Array | Int32Array>(windowed: T, window: { start: number; keepFrom: number; end: number }, rowLength: number) =>
    windowed.slice((window.keepFrom - window.start) * rowLength, (window.end - window.start) * rowLength) as T;

  const d = model.config.latentDim;
  const latents = new Float32Array(d * frames);
  for (const w of planWindows(frames, WINDOW_FRAMES, encoderContextFrames(model.config))) {
    const part = tf.tidy(() => model.latents(tf.tensor3d(samples.subarray(w.start * hop, w.end * hop), [1, 1, (w.end - w.start) * hop])).squeeze([0]).transpose());
    latents.set(keepRows(part.dataSync() as Float32Array, w, d), w.keepFrom * d);
    part.dispose();
  }
  // Latents as [F, d] rows; the models take [1, d, F].
  const latentsOf = (start: number, end: number) => tf.tensor2d(latents.subarray(start * d, end * d), [end - start, d]).transpose().expandDims(0) as tf.Tensor3D;
  let codes: Int32Array | null = null;
  if (!bypassQuantizer) {
    const all = tf.tidy(() => model.searchCodes(latentsOf(0, frames)));
    codes = all.dataSync() as Int32Array;
    all.dispose();
  }
  const audio = new Float32Array(frames * hop);
  for (const w of planWindows(frames, WINDOW_FRAMES, decoderContextFrames(model.config))) {
    const part = tf.tidy(() =>
      codes === null ? model.decodeLatents(latentsOf(w.start, w.end)) : model.decode(tf.tensor2d(codes.subarray(w.start, w.end), [1, w.end - w.start], 'int32')),
    );
    audio.set(keepRows(part.dataSync() as Float32Array, w, hop), w.keepFrom * hop);
    part.dispose();
  }
  return { audio, codes };
}

/** One line of recipes.jsonl. */
export interface RecipeRecord {
  variant: string;
  description: string;
  base: string;
  set: Record<string, unknown>;
  budget_minutes: number;
  /** Minutes spent in training steps, and what they bought. */
  train_minutes: number;
  steps: number;
  audio_hours_seen: number;
  audio_s_per_s: number;
  bitrate: number | null;
  generator_parameters: number;
  /** The dev set, whole files, scored by `simvq-audio eval`'s code. */
  dev: { stoi: number | null; mel_distance: number | null; stft_distance: number | null; perplexity: number | null; codes_used: number | null; utterances: number };
  /** In-training validation (fixed 4 s dev-set clips): [minutes of training, STOI, mel distance]. */
  curve: [number, number, number][];
  data: string;
  dev_data: string;
  command: string;
  commit: string;
  date: string;
}

/** The in-training validation points of a run's metrics.jsonl that carry training time. */
export function validationCurve(metricsText: string): [number, number, number][] {
  const points: [number, number, number][] = [];
  for (const line of metricsText.split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as Record<string, unknown>;
    if (record['type'] === 'validation' && typeof record['train_seconds'] === 'number' && typeof record['stoi'] === 'number') {
      points.push([record['train_seconds'] / 60, record['stoi'], Number(record['mel_distance'])]);
    }
  }
  return points.sort((a, b) => a[0] - b[0]);
}

/** Reads recipes.jsonl; a later record of the same variant and budget replaces an earlier one. */
export function parseRecipeRecords(text: string): RecipeRecord[] {
  const latest = new Map<string, RecipeRecord>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as RecipeRecord;
    latest.set(`${record.variant}@${record.budget_minutes}`, record);
  }
  return [...latest.values()];
}

const fixed = (value: number | null, digits: number) => (value === null ? '—' : value.toFixed(digits));

/** The comparison as a Markdown table, best dev-set STOI first within each budget. */
export function recipeTable(records: readonly RecipeRecord[]): string {
  const sorted = [...records].sort((a, b) => a.budget_minutes - b.budget_minutes || (b.dev.stoi ?? -1) - (a.dev.stoi ?? -1));
  const lines = [
    '| budget (min) | variant | dev STOI | dev mel | perplexity | bit/s | steps | audio h seen | audio-s/s | commit | what changes |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of sorted) {
    const changes = Object.keys(r.set).length === 0 ? 'nothing (control)' : Object.entries(r.set).map(([k, v]) => `\`${k}\` = ${JSON.stringify(v)}`).join(', ');
    lines.push(
      `| ${r.budget_minutes} | ${r.variant} | ${fixed(r.dev.stoi, 3)} | ${fixed(r.dev.mel_distance, 2)} | ${fixed(r.dev.perplexity, 0)} | ${r.bitrate ?? 'none'} | ${r.steps} | ${r.audio_hours_seen.toFixed(2)} | ${r.audio_s_per_s.toFixed(2)} | ${r.commit} | ${changes} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Validation STOI against minutes of training, one line per variant (and budget, when several). */
export function recipeChart(records: readonly RecipeRecord[]): ChartSpec {
  const budgets = new Set(records.map((r) => r.budget_minutes));
  const values = records.flatMap((r) =>
    r.curve.map(([minutes, stoi]) => ({ variant: budgets.size > 1 ? `${r.variant} (${r.budget_minutes} min)` : r.variant, minutes, stoi })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Recipe comparison: validation STOI (dev-set clips) against minutes of training',
    width: 560,
    height: 320,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'minutes', type: 'quantitative', title: 'minutes of training (2 CPU cores)' },
      y: { field: 'stoi', type: 'quantitative', title: 'validation STOI', scale: { zero: false } },
      color: { field: 'variant', type: 'nominal' },
    },
  };
}
