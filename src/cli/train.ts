/**
 * `simvq-audio train`: trains a codec preset on a data spec, resumably.
 */
import { type CodecConfig } from '../codec/config.js';
import { loadCodecConfig } from '../codec/presets.js';
import { initEngine, isWasmHeapExhaustion, type BackendName } from '../engine/index.js';
import { EngineError, InputError } from '../errors.js';
import { train, type TrainSummary } from '../train/trainer.js';

export interface TrainCommandOptions {
  preset: string;
  data: string;
  out: string;
  resume?: boolean;
  initFrom?: string;
  steps?: string;
  budgetMinutes?: string;
  validateEveryMinutes?: string;
  validation?: string;
  logEvery: string;
  checkpointEvery: string;
  validateEvery: string;
  seed: string;
  workers?: string;
  progress: boolean;
}

function positiveInteger(value: string, option: string, minimum = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < minimum) throw new InputError(option, `must be a whole number >= ${minimum}, got '${value}'`);
  return n;
}

export async function trainCommand(options: TrainCommandOptions, backend: BackendName | 'auto' | undefined): Promise<string> {
  const config = await loadCodecConfig(options.preset);
  const engine = await initEngine(backend === undefined ? {} : { backend });
  let summary: TrainSummary;
  try {
    summary = await trainWith(config, options);
  } catch (error) {
    if ((engine.backend === 'wasm+onnxruntime' || engine.backend === 'wasm') && isWasmHeapExhaustion(error)) {
      const { batchSize, cropSeconds } = config.training;
      throw new EngineError(
        `--preset ${options.preset}`,
        `a training step at batch ${batchSize} x ${cropSeconds} s most likely ran out of the wasm engine's memory (4 GiB at most; ` +
          `wasm said: ${(error as Error).message}): lower training.batchSize or training.cropSeconds in a copy of the preset, or install @tensorflow/tfjs-node`,
      );
    }
    throw error;
  }
  const how = { signal: 'stopped by a signal, checkpoint saved', budget: 'spent the time budget, checkpoint saved', steps: 'reached the step count' }[summary.stoppedBy];
  const figures = {
    step: summary.step,
    stopped_by: summary.stoppedBy,
    audio_s_per_s: summary.audioSecondsPerSecond,
    train_seconds: summary.trainSeconds,
    audio_seconds_seen: summary.audioSecondsSeen,
    bad_files: summary.badFiles,
  };
  return `${options.out}: step ${summary.step} (${how}); ${summary.audioSecondsPerSecond.toFixed(2)} audio-s/s; ${(summary.trainSeconds / 60).toFixed(1)} minutes trained in all; ${summary.badFiles} unreadable files skipped\n${JSON.stringify(figures)}\n`;
}

function positiveMinutes(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InputError(option, `must be a number of minutes above 0, got '${value}'`);
  return n;
}

function trainWith(config: CodecConfig, options: TrainCommandOptions): Promise<TrainSummary> {
  return train({
    config,
    data: options.data,
    out: options.out,
    resume: options.resume === true,
    ...(options.initFrom === undefined ? {} : { initFrom: options.initFrom }),
    ...(options.steps === undefined ? {} : { steps: positiveInteger(options.steps, '--steps') }),
    ...(options.budgetMinutes === undefined ? {} : { budgetMinutes: positiveMinutes(options.budgetMinutes, '--budget-minutes') }),
    ...(options.validateEveryMinutes === undefined ? {} : { validateEveryMinutes: positiveMinutes(options.validateEveryMinutes, '--validate-every-minutes') }),
    ...(options.validation === undefined ? {} : { validationData: options.validation }),
    ...(options.workers === undefined ? {} : { workers: positiveInteger(options.workers, '--workers', 0) }),
    logEvery: positiveInteger(options.logEvery, '--log-every'),
    checkpointEvery: positiveInteger(options.checkpointEvery, '--checkpoint-every'),
    validateEvery: positiveInteger(options.validateEvery, '--validate-every'),
    seed: positiveInteger(options.seed, '--seed', 0),
    progress: options.progress && process.stderr.isTTY === true,
  });
}
