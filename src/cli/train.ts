/**
 * `simvq-audio train`: trains a codec preset on a data spec, resumably.
 */
import { loadCodecConfig, type CodecConfig } from '../codec/config.js';
import { initEngine, isWasmHeapExhaustion, type BackendName } from '../engine/index.js';
import { EngineError, InputError } from '../errors.js';
import { train, type TrainSummary } from '../train/trainer.js';

export interface TrainCommandOptions {
  preset: string;
  data: string;
  out: string;
  resume?: boolean;
  steps?: string;
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
  const how = summary.stoppedBy === 'signal' ? 'stopped by a signal, checkpoint saved' : 'reached the step count';
  return `${options.out}: step ${summary.step} (${how}); ${summary.audioSecondsPerSecond.toFixed(2)} audio-s/s; ${summary.badFiles} unreadable files skipped\n${JSON.stringify({ step: summary.step, stopped_by: summary.stoppedBy, audio_s_per_s: summary.audioSecondsPerSecond, bad_files: summary.badFiles })}\n`;
}

function trainWith(config: CodecConfig, options: TrainCommandOptions): Promise<TrainSummary> {
  return train({
    config,
    data: options.data,
    out: options.out,
    resume: options.resume === true,
    ...(options.steps === undefined ? {} : { steps: positiveInteger(options.steps, '--steps') }),
    ...(options.validation === undefined ? {} : { validationData: options.validation }),
    ...(options.workers === undefined ? {} : { workers: positiveInteger(options.workers, '--workers', 0) }),
    logEvery: positiveInteger(options.logEvery, '--log-every'),
    checkpointEvery: positiveInteger(options.checkpointEvery, '--checkpoint-every'),
    validateEvery: positiveInteger(options.validateEvery, '--validate-every'),
    seed: positiveInteger(options.seed, '--seed', 0),
    progress: options.progress && process.stderr.isTTY === true,
  });
}
