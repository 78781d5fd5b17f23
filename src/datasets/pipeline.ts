/**
 * The training input pipeline: utterances in, batches of fixed-length crops out.
 *
 *   for await (const batch of new BatchLoader(dataset.utterances, { sampleRate: 16000, cropSamples: 16000, batchSize: 20, seed: 1, epochs: 10 })) {
 *     batch.audio  // Float32Array, [batch.batchSize, batch.cropSamples] row-major
 *   }
 *
 * - Each epoch visits the utterances in a seeded order (or as listed, with
 *   shuffle off); crop positions come from the same generator. Batches depend
 *   only on the seed and the data, not on the number of workers or on timing.
 * - Only each crop's frames are read (a ranged read of the WAV data), then
 *   resampled and levelled, in worker threads; at most
 *   `prefetch` batches' worth of crops are in flight or waiting, so memory stays
 *   bounded however large the dataset.
 * - A file that cannot be used costs one log line; it is counted, left out of
 *   later epochs, and its place in the batch goes to the next utterance.
 * - The output is plain typed arrays (no tfjs), for the trainer to wrap.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

import type { ResampleQuality } from '../audio/index.js';
import { InputError } from '../errors.js';
import { mulberry32 } from '../random.js';
import { readCrop, type Crop, type CropRequest } from './crop-reader.js';
import type { WorkerReply, WorkerRequest } from './crop-worker.js';
import type { Utterance } from './utterance.js';

/** Mixed into the seed of the augmentation draws, so they are independent of the crop positions. */
const AUGMENT_SEED = 0x5eed_a06d;

export interface BatchLoaderOptions {
  /** The model's sample rate; every crop is resampled to it. */
  sampleRate: number;
  cropSamples: number;
  batchSize: number;
  seed: number;
  /** Passes over the data (default 1; Infinity for an endless stream). */
  epochs?: number;
  /**
   * Start at this batch of the run (default 0), as a resumed training run does:
   * the seeded shuffles and crop positions of the batches before it are drawn
   * but no file is read, so batch N is the same batch as in a run that started
   * at 0 (provided no file among the skipped ones was unreadable).
   */
  startStep?: number;
  /** Visit utterances in a seeded random order each epoch (default true). */
  shuffle?: boolean;
  /** Bring each crop to this gated RMS level in dBFS (e.g. -23); default null: leave levels alone. */
  loudnessDb?: number | null;
  /**
   * Share of crops band-limited to 4 kHz (default 0), so that a model trained on
   * wideband speech also meets speech recorded at 8 kHz. Drawn from a generator of its
   * own, so the crop positions of a seed are the same whatever the share.
   */
  narrowbandProbability?: number;
  /** libsamplerate converter (default 'medium': flat to 6 kHz at 16 kHz output, ~5× faster than 'best'). */
  resampleQuality?: ResampleQuality;
  /** Worker threads (default: cores - 1, at least 1); 0 reads on the calling thread. */
  workers?: number;
  /** Batches prepared ahead (default 4). */
  prefetch?: number;
  /** Drop an epoch's last, smaller batch (default true). */
  dropLast?: boolean;
  /** One line per unusable file (default: stderr). */
  log?: (line: string) => void;
}

export interface BatchItem {
  id: string;
  path: string;
  speaker: string | null;
  text: string | null;
  /** Crop start in the utterance, in samples at the model rate. */
  offset: number;
  /** Valid samples in this row (< cropSamples when the utterance is shorter; the rest is zeros). */
  length: number;
}

export interface Batch {
  /** [batchSize, cropSamples], row-major. */
  audio: Float32Array;
  batchSize: number;
  cropSamples: number;
  sampleRate: number;
  items: BatchItem[];
  /** 0-based epoch, the batch's index within it, and its index over the whole run. */
  epoch: number;
  index: number;
  step: number;
}

export interface LoaderStats {
  batches: number;
  /** Crops served in batches. */
  crops: number;
  /** Seconds of model-rate audio served (valid samples only). */
  audioSeconds: number;
  /** Files that could not be read (each counted once). */
  badFiles: number;
}

interface Pending {
  utterance: Utterance;
  result: Promise<Crop | { problem: string }>;
}

export class BatchLoader implements AsyncIterable<Batch> {
  readonly stats: LoaderStats = { batches: 0, crops: 0, audioSeconds: 0, badFiles: 0 };
  private readonly options: Required<Omit<BatchLoaderOptions, 'loudnessDb'>> & { loudnessDb: number | null };
  private readonly utterances: readonly Utterance[];
  private readonly bad = new Set<string>();
  private workers: Worker[] = [];
  private readonly waiting = new Map<number, (reply: WorkerReply) => void>();
  /** Request ids each worker holds, so a worker that dies fails exactly those. */
  private readonly held = new Map<Worker, Set<number>>();
  private nextRequest = 0;
  private started = false;

  constructor(utterances: readonly Utterance[], options: BatchLoaderOptions) {
    const defaults = {
      epochs: 1,
      startStep: 0,
      shuffle: true,
      loudnessDb: null,
      narrowbandProbability: 0,
      resampleQuality: 'medium' as ResampleQuality,
      workers: Math.max(1, cpus().length - 1),
      prefetch: 4,
      dropLast: true,
      log: (line: string) => process.stderr.write(`${line}\n`),
    };
    this.options = { ...defaults, ...options, loudnessDb: options.loudnessDb ?? null };
    const o = this.options;
    const positiveInteger = (name: string, value: number): void => {
      if (!(Number.isInteger(value) && value >= 1)) throw new InputError(name, `must be a whole number >= 1, got ${value}`);
    };
    positiveInteger('sampleRate', o.sampleRate);
    positiveInteger('cropSamples', o.cropSamples);
    positiveInteger('batchSize', o.batchSize);
    positiveInteger('prefetch', o.prefetch);
    if (!(o.epochs === Infinity || (Number.isInteger(o.epochs) && o.epochs >= 1))) throw new InputError('epochs', `must be a whole number >= 1 or Infinity, got ${o.epochs}`);
    if (!(Number.isInteger(o.workers) && o.workers >= 0)) throw new InputError('workers', `must be a whole number >= 0, got ${o.workers}`);
    if (!(Number.isInteger(o.startStep) && o.startStep >= 0)) throw new InputError('startStep', `must be a whole number >= 0, got ${o.startStep}`);
    if (!Number.isInteger(o.seed)) throw new InputError('seed', `must be a whole number, got ${o.seed}`);
    if (!(o.narrowbandProbability >= 0 && o.narrowbandProbability <= 1)) {
      throw new InputError('narrowbandProbability', `must be a share in [0, 1], got ${o.narrowbandProbability}`);
    }
    if (o.loudnessDb !== null && !(Number.isFinite(o.loudnessDb) && o.loudnessDb < 0)) throw new InputError('loudnessDb', `must be a level below 0 dBFS, got ${o.loudnessDb}`);
    if (utterances.length === 0) throw new InputError('dataset', 'holds no utterances to batch');
    if (o.dropLast && utterances.length < o.batchSize) {
      throw new InputError('batchSize', `${o.batchSize} is more than the ${utterances.length} utterances in the dataset (pass dropLast: false to batch them anyway)`);
    }
    this.utterances = utterances;
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    if (this.started) throw new Error('a BatchLoader is iterated once; make another for another pass');
    this.started = true;
    return this.batches();
  }

  /** Stops the worker threads (done automatically when iteration ends or breaks). */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((worker) => worker.terminate()));
    for (const resolve of this.waiting.values()) resolve({ id: -1, problem: 'the loader was closed', inputError: false });
    this.waiting.clear();
  }

  private async *batches(): AsyncGenerator<Batch> {
    const o = this.options;
    this.startWorkers();
    const random = mulberry32(o.seed);
    const augmentRandom = mulberry32((o.seed ^ AUGMENT_SEED) >>> 0);
    const window = o.prefetch * o.batchSize;
    const batchesIn = (utterances: number) => (o.dropLast ? Math.floor(utterances / o.batchSize) : Math.ceil(utterances / o.batchSize));
    let step = 0;
    try {
      for (let epoch = 0; epoch < o.epochs; epoch++) {
        const order = this.epochOrder(random);
        if (order.length === 0) throw new InputError('dataset', `every file failed to read (${this.stats.badFiles}); nothing left to batch`);
        if (o.dropLast && order.length < o.batchSize) {
          throw new InputError('dataset', `only ${order.length} readable utterances remain, fewer than a batch of ${o.batchSize}`);
        }
        let cursor = 0;
        let index = 0;
        if (step < o.startStep) {
          // Fast-forward: draw what the skipped batches drew, read nothing.
          const skipped = Math.min(batchesIn(order.length), o.startStep - step);
          const whole = skipped === batchesIn(order.length);
          const rows = whole ? order.length : skipped * o.batchSize;
          for (let i = 0; i < rows; i++) {
            random();
            augmentRandom();
          }
          step += skipped;
          if (whole) continue;
          cursor = rows;
          index = skipped;
        }
        const queue: Pending[] = [];
        // Positions are drawn in visiting order, before any result is known, so they never depend on timing.
        const refill = (): void => {
          while (queue.length < window && cursor < order.length) {
            const utterance = this.utterances[order[cursor++]];
            const position = random();
            const narrowband = augmentRandom() < o.narrowbandProbability;
            queue.push({ utterance, result: this.request(utterance, position, narrowband) });
          }
        };
        let rows: { utterance: Utterance; crop: Crop }[] = [];
        refill();
        while (queue.length > 0) {
          const pending = queue.shift()!;
          refill();
          const result = await pending.result;
          if ('problem' in result) {
            if (!this.bad.has(pending.utterance.path)) {
              this.bad.add(pending.utterance.path);
              this.stats.badFiles++;
              o.log(`${pending.utterance.path}: ${result.problem}; skipped (${this.stats.badFiles} unreadable so far)`);
            }
            continue;
          }
          rows.push({ utterance: pending.utterance, crop: result });
          if (rows.length === o.batchSize) {
            yield this.assemble(rows, epoch, index++, step++);
            rows = [];
          }
        }
        if (rows.length > 0 && !o.dropLast) yield this.assemble(rows, epoch, index++, step++);
      }
    } finally {
      await this.close();
    }
  }

  private epochOrder(random: () => number): number[] {
    const order: number[] = [];
    for (let i = 0; i < this.utterances.length; i++) if (!this.bad.has(this.utterances[i].path)) order.push(i);
    if (this.options.shuffle) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    return order;
  }

  private assemble(rows: { utterance: Utterance; crop: Crop }[], epoch: number, index: number, step: number): Batch {
    const { cropSamples, sampleRate } = this.options;
    const audio = new Float32Array(rows.length * cropSamples);
    const items: BatchItem[] = rows.map(({ utterance, crop }, row) => {
      audio.set(crop.samples, row * cropSamples);
      this.stats.audioSeconds += crop.length / sampleRate;
      return { id: utterance.id, path: utterance.path, speaker: utterance.speaker, text: utterance.text, offset: crop.offset, length: crop.length };
    });
    this.stats.batches++;
    this.stats.crops += rows.length;
    return { audio, batchSize: rows.length, cropSamples, sampleRate, items, epoch, index, step };
  }

  private request(utterance: Utterance, position: number, narrowband: boolean): Promise<Crop | { problem: string }> {
    const o = this.options;
    const request: CropRequest = {
      path: utterance.path,
      position,
      sampleRate: o.sampleRate,
      cropSamples: o.cropSamples,
      loudnessDb: o.loudnessDb,
      narrowband,
      quality: o.resampleQuality,
    };
    if (this.workers.length === 0) {
      return readCrop(request).catch((error: unknown) => ({ problem: describeProblem(error, error instanceof InputError) }));
    }
    const id = this.nextRequest++;
    const worker = this.workers[id % this.workers.length];
    this.held.get(worker)?.add(id);
    return new Promise((resolve) => {
      this.waiting.set(id, (reply) => resolve('crop' in reply ? reply.crop : { problem: reply.inputError ? reply.problem : `internal error: ${reply.problem}` }));
      worker.postMessage({ id, request } satisfies WorkerRequest);
    });
  }

  private startWorkers(): void {
    for (let i = 0; i < this.options.workers; i++) {
      const worker = new Worker(new URL('./crop-worker.js', import.meta.url));
      this.held.set(worker, new Set());
      worker.on('message', (reply: WorkerReply) => {
        this.held.get(worker)?.delete(reply.id);
        const resolve = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        resolve?.(reply);
      });
      // A worker that dies (out of memory, a crash in wasm) fails what it held; the loader goes on without it.
      worker.on('error', (error) => {
        this.options.log(`crop worker ${i} stopped: ${error.message}`);
        this.workers = this.workers.filter((other) => other !== worker);
        for (const id of this.held.get(worker) ?? []) {
          this.waiting.get(id)?.({ id, problem: `worker stopped (${error.message})`, inputError: false });
          this.waiting.delete(id);
        }
        this.held.delete(worker);
      });
      this.workers.push(worker);
    }
  }
}

function describeProblem(error: unknown, inputError: boolean): string {
  const message = error instanceof InputError ? error.problem : error instanceof Error ? error.message : String(error);
  return inputError ? message : `internal error: ${message}`;
}
