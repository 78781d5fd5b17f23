/**
 * `simvq-audio train`: the training loop around GanStep.
 *
 *   RUN/config.json            the codec config (a resumed run must match it)
 *   RUN/metrics.jsonl          one JSON object per logged step and per validation
 *   RUN/checkpoints/           see ./checkpoint.ts; written every N steps and on SIGINT/SIGTERM
 *   RUN/validation/step-N/     each fixed clip decoded (WAV) beside its original as spectrograms (PNG)
 *
 * Resuming restores parameters, both optimisers and the data position, so the
 * run continues with the same batches and the same losses as if never stopped.
 * A new run may instead start from an exported model's weights (`initFrom`):
 * the way a model keeps learning across machines that keep no checkpoints.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import cliProgress from 'cli-progress';

import { writeWav } from '../audio/index.js';
import { hopLength, type CodecConfig } from '../codec/config.js';
import { CodecModel } from '../codec/model.js';
import { BatchLoader, loadDataset, type Dataset } from '../datasets/index.js';
import { InputError } from '../errors.js';
import { multiScaleMelDistance, stoi } from '../eval/index.js';
import { spectrogramChart } from '../plot/spectrogram.js';
import { writeTrainingCurve } from './curve.js';
import { writeChartPng } from '../plot/index.js';
import { CodeUsageTracker } from '../quantizers/metrics.js';
import { loadWeights } from '../export/model-directory.js';
import { readModelDirectory, type ModelDirectory } from '../runtime/model-dir.js';
import { checkpointDirectoryName, latestCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointGroup } from './checkpoint.js';
import { DiscriminatorSet, GanStep, type StepMetrics } from './gan-step.js';

export interface TrainOptions {
  config: CodecConfig;
  /** Data spec of the training data (libritts:, dir:, manifest:). */
  data: string;
  /** Data spec of the validation clips; default none. */
  validationData?: string;
  out: string;
  resume: boolean;
  /**
   * Start a new run from the weights of an exported model directory instead of
   * random ones (the architecture must match; training settings may differ).
   * Ignored when the run resumes from a checkpoint of its own.
   */
  initFrom?: string;
  /** Stop after this many steps in total (default: the config's totalSteps). */
  steps?: number;
  /**
   * Stop once this many minutes have gone into training steps, counted over
   * every session of the run (validation and checkpoints not included): the
   * equal wall-clock budget recipe comparisons are run at.
   */
  budgetMinutes?: number;
  /** Validate every this many minutes of training time as well as every validateEvery steps. */
  validateEveryMinutes?: number;
  seed?: number;
  logEvery?: number;
  checkpointEvery?: number;
  validateEvery?: number;
  /** Validation clips (default 8) and their length in seconds (default 4). */
  validationClips?: number;
  validationSeconds?: number;
  /** Loader worker threads. */
  workers?: number;
  /** Show a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where log lines go (default: stderr). */
  log?: (line: string) => void;
}

export interface TrainSummary {
  step: number;
  stoppedBy: 'steps' | 'budget' | 'signal';
  /** Seconds spent in training steps, over every session of the run. */
  trainSeconds: number;
  /** Audio seconds the generator has trained on, over every session of the run. */
  audioSecondsSeen: number;
  audioSecondsPerSecond: number;
  badFiles: number;
}

async function prepareRunDirectory(options: TrainOptions): Promise<void> {
  const configPath = join(options.out, 'config.json');
  const text = JSON.stringify(options.config, null, 2) + '\n';
  await mkdir(options.out, { recursive: true });
  let existing: string | null = null;
  try {
    existing = await readFile(configPath, 'utf8');
  } catch {
    existing = null;
  }
  if (existing !== null && !options.resume) {
    throw new InputError(options.out, 'already holds a run; pass --resume to continue it, or choose another --out');
  }
  if (existing !== null && existing !== text) {
    throw new InputError(configPath, 'differs from the config of this run; resume with the same preset, or start a new --out');
  }
  if (existing === null) await writeFile(configPath, text);
}

/** Fixed validation clips: the first N utterances of the validation data, cut to whole frames. */
async function validationClips(spec: string, config: CodecConfig, count: number, seconds: number): Promise<Float32Array[]> {
  const hop = hopLength(config);
  const crop = Math.max(hop, Math.floor((seconds * config.sampleRate) / hop) * hop);
  const dataset = await loadDataset(spec);
  const loader = new BatchLoader(dataset.utterances, {
    sampleRate: config.sampleRate,
    cropSamples: crop,
    batchSize: Math.min(count, dataset.utterances.length),
    seed: 1,
    shuffle: false,
    workers: 0,
    dropLast: false,
  });
  for await (const batch of loader) {
    return Array.from({ length: batch.batchSize }, (_, i) => batch.audio.slice(i * crop, (i + 1) * crop));
  }
  return [];
}

async function validate(model: CodecModel, clips: readonly Float32Array[], directory: string): Promise<{ stoi: number; melDistance: number }> {
  await mkdir(directory, { recursive: true });
  let stoiSum = 0;
  let melSum = 0;
  for (const [i, clip] of clips.entries()) {
    const decoded = tf.tidy(() => {
      const audio = tf.tensor3d(clip, [1, 1, clip.length]);
      return model.decode(model.encode(audio)).dataSync() as Float32Array;
    });
    stoiSum += stoi(clip, decoded, model.config.sampleRate);
    melSum += multiScaleMelDistance(clip, decoded, model.config.sampleRate);
    await writeWav(join(directory, `clip-${i}.wav`), decoded, model.config.sampleRate, { format: 'float32', force: true });
    const panels = [{ id: 'original', label: `clip ${i}: original` }, { id: 'decoded', label: `clip ${i}: decoded` }];
    const audio = new Map([['original', clip], ['decoded', decoded]]);
    await writeChartPng(join(directory, `clip-${i}.png`), spectrogramChart(panels, audio, model.config.sampleRate));
  }
  return { stoi: stoiSum / clips.length, melDistance: melSum / clips.length };
}

/** Step, training seconds and audio seen of the run's latest checkpoint (loaded into `groups`), or a fresh start. */
async function resumeFrom(
  out: string,
  groups: Record<string, CheckpointGroup>,
  log: (line: string) => void,
): Promise<{ step: number; trainSeconds: number; audioSecondsSeen: number }> {
  const checkpoint = await latestCheckpoint(out);
  if (checkpoint === null) return { step: 0, trainSeconds: 0, audioSecondsSeen: 0 };
  const state = await loadCheckpoint(checkpoint, groups);
  // Carried across sessions in the checkpoint, so a budget and the curves' time axis span the whole run.
  const trainSeconds = typeof state['trainSeconds'] === 'number' ? state['trainSeconds'] : 0;
  const audioSecondsSeen = typeof state['audioSecondsSeen'] === 'number' ? state['audioSecondsSeen'] : 0;
  log(`resumed ${out} at step ${state.step} (${(trainSeconds / 60).toFixed(1)} minutes trained)`);
  return { step: state.step, trainSeconds, audioSecondsSeen };
}

/**
 * The exported model a run may start from, checked to describe the same
 * network as `config` (only name, description and the training settings may
 * differ).
 */
async function initialModel(config: CodecConfig, nameOrPath: string): Promise<ModelDirectory> {
  const source = await readModelDirectory(nameOrPath);
  const architecture = (c: CodecConfig): string => JSON.stringify({ ...c, name: null, description: null, training: null });
  if (architecture(source.config) !== architecture(config)) {
    throw new InputError(source.directory, `its network differs from the preset's (compare ${source.manifest.config} with the preset: only name, description and training may differ)`);
  }
  return source;
}

/** Loads an exported model's generator weights into `model`, after checking the two networks match (see initialModel). */
export async function initialiseFrom(model: CodecModel, nameOrPath: string | ModelDirectory): Promise<{ directory: string; model_id: string; model_hash: string }> {
  const source = typeof nameOrPath === 'string' ? await initialModel(model.config, nameOrPath) : nameOrPath;
  await loadWeights(model, source.weightsPath);
  return { directory: source.directory, model_id: source.manifest.modelId, model_hash: source.manifest.modelHash };
}

/** SIGINT and SIGTERM ask the loop to checkpoint after the current step and stop. */
function stopOnSignals(log: (line: string) => void): { requested: () => boolean; dispose: () => void } {
  let requested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested) return;
    requested = true;
    log(`${signal}: saving a checkpoint after this step`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => requested,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** One 'train' line of metrics.jsonl; resets nothing. */
function trainRecord(
  metrics: StepMetrics,
  usage: CodeUsageTracker,
  progress: { audioSecondsPerSecond: number; trainSeconds: number; audioSecondsSeen: number; badFiles: number },
): Record<string, unknown> {
  const codeUsage = usage.summary();
  return {
    type: 'train',
    step: metrics.step,
    time: new Date().toISOString(),
    generator_loss: metrics.generatorLoss,
    discriminator_loss: metrics.discriminatorLoss,
    ...Object.fromEntries(Object.entries(metrics.terms).map(([k, v]) => [`loss_${k}`, v])),
    grad_norm: metrics.generatorGradNorm,
    discriminator_grad_norm: metrics.discriminatorGradNorm,
    learning_rate: metrics.learningRate,
    utilization: codeUsage.utilization,
    perplexity: codeUsage.perplexity,
    audio_s_per_s: progress.audioSecondsPerSecond,
    train_seconds: progress.trainSeconds,
    audio_seconds_seen: progress.audioSecondsSeen,
    bad_files: progress.badFiles,
  };
}

/** Endless shuffled batches of crops a whole number of hops long, resuming at `startStep`. */
function batchesFor(
  utterances: Dataset['utterances'],
  config: CodecConfig,
  options: { seed: number; startStep: number; workers: number | undefined; log: (line: string) => void },
): BatchLoader {
  const hop = hopLength(config);
  const cropSamples = Math.max(hop, Math.round((config.training.cropSeconds * config.sampleRate) / hop) * hop);
  return new BatchLoader(utterances, {
    sampleRate: config.sampleRate,
    cropSamples,
    batchSize: config.training.batchSize,
    seed: options.seed,
    epochs: Infinity,
    startStep: options.startStep,
    narrowbandProbability: config.training.narrowbandProbability ?? 0,
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    log: options.log,
  });
}

/** The terminal's bar: steps, ETA, speed and loss. */
function stepsBar(totalSteps: number, step: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    { format: 'train {bar} {value}/{total} steps | ETA {eta_formatted} | {audio_s_per_s} audio-s/s | loss {loss}', stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalSteps, step, { audio_s_per_s: '-', loss: '-' });
  return bar;
}

export async function train(options: TrainOptions): Promise<TrainSummary> {
  const { config } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const seed = options.seed ?? 0;
  const totalSteps = options.steps ?? config.training.totalSteps;
  const logEvery = options.logEvery ?? 10;
  const checkpointEvery = options.checkpointEvery ?? 500;
  const validateEvery = options.validateEvery ?? 1000;
  // Bad data fails here, before the run directory holds anything.
  const dataset = await loadDataset(options.data);
  const clips = options.validationData === undefined ? [] : await validationClips(options.validationData, config, options.validationClips ?? 8, options.validationSeconds ?? 4);
  // A bad --init-from fails here too, before the run directory holds anything.
  const initial = options.initFrom === undefined ? null : await initialModel(config, options.initFrom);
  await prepareRunDirectory(options);

  const model = new CodecModel(config, seed);
  const discriminators = new DiscriminatorSet(config.training.discriminators, seed + 1);
  const gan = new GanStep(model, discriminators);
  const groups = {
    generator: { parameters: model.parameters, optimizer: gan.generatorOptimizer },
    discriminators: { parameters: discriminators.parameters, optimizer: gan.discriminatorOptimizer },
  };
  let { step, trainSeconds, audioSecondsSeen } = options.resume ? await resumeFrom(options.out, groups, log) : { step: 0, trainSeconds: 0, audioSecondsSeen: 0 };
  if (step === 0 && initial !== null) {
    const from = await initialiseFrom(model, initial);
    log(`initialised from model ${from.model_id} (hash ${from.model_hash}) in ${from.directory}`);
    await appendFile(join(options.out, 'metrics.jsonl'), JSON.stringify({ type: 'init', ...from }) + '\n');
  }
  const budgetSeconds = options.budgetMinutes === undefined ? Infinity : options.budgetMinutes * 60;
  const validateEverySeconds = options.validateEveryMinutes === undefined ? Infinity : options.validateEveryMinutes * 60;
  let nextTimedValidation = (Math.floor(trainSeconds / validateEverySeconds) + 1) * validateEverySeconds;

  const loader = batchesFor(dataset.utterances, config, { seed, startStep: step, workers: options.workers, log });
  const stop = stopOnSignals(log);

  const usage = new CodeUsageTracker(config.quantizer.codebookSize);
  const bar = (options.progress ?? process.stderr.isTTY === true) ? stepsBar(totalSteps, step) : null;
  const save = async () => {
    await saveCheckpoint(options.out, groups, { step, seed, dataPosition: step, config: config.name, trainSeconds, audioSecondsSeen });
  };

  const started = Date.now();
  let audioSeconds = 0;
  let windowStart = Date.now();
  let windowAudio = 0;
  let stoppedBy: TrainSummary['stoppedBy'] = 'steps';
  // Training time runs from the end of one step's bookkeeping to the end of the next step,
  // so waiting for the loader counts and validation and checkpoints do not.
  let stepClock = performance.now();
  try {
    if (trainSeconds >= budgetSeconds) stoppedBy = 'budget';
    for await (const batch of loader) {
      if (step >= totalSteps || trainSeconds >= budgetSeconds) break;
      const audio = tf.tensor3d(batch.audio, [batch.batchSize, 1, batch.cropSamples]);
      let metrics: StepMetrics;
      try {
        metrics = gan.run(audio);
      } finally {
        audio.dispose();
      }
      trainSeconds += (performance.now() - stepClock) / 1000;
      step = metrics.step;
      const seconds = (batch.batchSize * batch.cropSamples) / config.sampleRate;
      audioSeconds += seconds;
      audioSecondsSeen += seconds;
      windowAudio += seconds;
      usage.update(metrics.codes);
      if (!metrics.applied) log(`step ${step}: gradients were not finite; the step was skipped`);
      if (step % logEvery === 0 || step === totalSteps) {
        const elapsed = (Date.now() - windowStart) / 1000;
        const record = trainRecord(metrics, usage, { audioSecondsPerSecond: windowAudio / elapsed, trainSeconds, audioSecondsSeen, badFiles: loader.stats.badFiles });
        await appendFile(join(options.out, 'metrics.jsonl'), JSON.stringify(record) + '\n');
        bar?.update(step, { audio_s_per_s: (windowAudio / elapsed).toFixed(2), loss: metrics.generatorLoss.toFixed(3) });
        usage.reset();
        windowStart = Date.now();
        windowAudio = 0;
      } else {
        bar?.update(step);
      }
      const budgetSpent = trainSeconds >= budgetSeconds;
      const timedValidation = trainSeconds >= nextTimedValidation;
      if (timedValidation) nextTimedValidation = (Math.floor(trainSeconds / validateEverySeconds) + 1) * validateEverySeconds;
      if (clips.length > 0 && (step % validateEvery === 0 || timedValidation || budgetSpent)) {
        const result = await validate(model, clips, join(options.out, 'validation', checkpointDirectoryName(step)));
        const record = { type: 'validation', step, stoi: result.stoi, mel_distance: result.melDistance, train_seconds: trainSeconds, audio_seconds_seen: audioSecondsSeen };
        await appendFile(join(options.out, 'metrics.jsonl'), JSON.stringify(record) + '\n');
        await writeTrainingCurve(options.out, `${config.name}: ${options.out}`);
      }
      if (stop.requested() || budgetSpent) {
        stoppedBy = stop.requested() ? 'signal' : 'budget';
        await save();
        break;
      }
      if (step % checkpointEvery === 0 || step >= totalSteps) await save();
      if (step >= totalSteps) break;
      stepClock = performance.now();
    }
  } finally {
    bar?.stop();
    stop.dispose();
    await loader.close();
  }
  const summary: TrainSummary = {
    step,
    stoppedBy,
    trainSeconds,
    audioSecondsSeen,
    audioSecondsPerSecond: audioSeconds / ((Date.now() - started) / 1000),
    badFiles: loader.stats.badFiles,
  };
  discriminators.dispose();
  model.dispose();
  return summary;
}
