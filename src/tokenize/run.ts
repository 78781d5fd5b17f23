/**
 * `simvq-audio tokenize`: a corpus to token shards with a pool of worker
 * threads, each with its own onnxruntime sessions.
 *
 *   listing → plan (./plan.ts) → shards this machine owns → skip the whole ones
 *     → for each shard: its files to the pool → tokens in plan order → writeShard
 *
 * Every shard is written index-last, so an interrupt loses at most the shards
 * in progress, and rerunning the same command finishes the job. A file that
 * cannot be read or encoded is logged in one line, counted and recorded in its
 * shard's index as skipped.
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

import { loadDataset } from '../datasets/index.js';
import { InputError } from '../errors.js';
import { readModelDirectory } from '../runtime/model-dir.js';
import type { EncodeAnswer, EncodeWorkerData } from './encode-worker.js';
import { planShards, selectedShards, type PlannedUtterance, type ShardSelector } from './plan.js';
import { sameTokenModel, verifyShard, writeShard, type ShardUtterance, type SkippedFile, type TokenModelIdentity } from './shard-format.js';

export interface TokenizeOptions {
  /** A data spec (src/datasets): libritts:DIR, dir:DIR, manifest:FILE. */
  data: string;
  out: string;
  /** A model directory or name; the default model when absent. */
  model?: string;
  /** Worker threads (default 2, at most the core count). */
  workers?: number;
  /** This machine's part, i/n (default 0/1: everything). */
  shard?: ShardSelector;
  shardSeconds?: number;
  log?: (line: string) => void;
  /** Called after each shard is written or found whole. */
  onShard?: (done: number, total: number) => void;
  /** Once the work is known: files and audio-seconds in the shards still to write. */
  onStart?: (work: { files: number; seconds: number }) => void;
  /** After each file is encoded (or refused). */
  onFile?: (file: { path: string; seconds: number }) => void;
}

export interface TokenizeSummary {
  shardCount: number;
  shardsWritten: number;
  shardsAlreadyWhole: number;
  utterances: number;
  skippedFiles: number;
  audioSeconds: number;
  wallSeconds: number;
}

/** A fixed set of workers, each doing one file at a time. */
class EncodePool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: { path: string; resolve: (answer: EncodeAnswer) => void }[] = [];
  private readonly pending = new Map<number, (answer: EncodeAnswer) => void>();
  private nextJob = 0;

  private constructor() {}

  static async start(model: string, count: number): Promise<EncodePool> {
    const pool = new EncodePool();
    // Cores shared out between workers, so their onnxruntime threads do not oversubscribe the machine.
    const threads = String(Math.max(1, Math.floor(availableParallelism() / count)));
    const ready = Array.from({ length: count }, () => {
      const data: EncodeWorkerData = { model };
      const worker = new Worker(new URL('./encode-worker.js', import.meta.url), { workerData: data, env: { ...process.env, SIMVQ_THREADS: threads } });
      pool.workers.push(worker);
      return new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('message', () => {
          worker.off('error', reject);
          worker.on('message', (answer: EncodeAnswer) => pool.answered(worker, answer));
          worker.on('error', (error) => pool.failAll(error));
          pool.idle.push(worker);
          resolve();
        });
      });
    });
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  encode(path: string): Promise<EncodeAnswer> {
    return new Promise((resolve) => {
      this.waiting.push({ path, resolve });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const worker = this.idle.pop()!;
      const { path, resolve } = this.waiting.shift()!;
      const job = this.nextJob++;
      this.pending.set(job, resolve);
      worker.postMessage({ job, path });
    }
  }

  private answered(worker: Worker, answer: EncodeAnswer): void {
    const resolve = this.pending.get(answer.job);
    this.pending.delete(answer.job);
    this.idle.push(worker);
    resolve?.(answer);
    this.dispatch();
  }

  private failAll(error: Error): void {
    for (const [job, resolve] of this.pending) resolve({ job, error: `worker failed: ${error.message}` });
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

export async function tokenize(options: TokenizeOptions): Promise<TokenizeSummary> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workers = options.workers ?? Math.min(2, availableParallelism());
  if (!Number.isInteger(workers) || workers < 1) throw new InputError('--workers', `must be a positive integer, got ${workers}`);

  const modelDirectory = await readModelDirectory(options.model);
  const { manifest } = modelDirectory;
  const model: TokenModelIdentity = {
    id: manifest.modelId,
    hash: manifest.modelHash,
    codebookSize: manifest.codebookSize,
    frameRate: manifest.frameRate,
    sampleRate: manifest.sampleRate,
  };
  const dataset = await loadDataset(options.data, { log });
  const plan = planShards(dataset.utterances, options.shardSeconds === undefined ? {} : { shardSeconds: options.shardSeconds });
  const shardCount = plan.shards.length;
  const owned = selectedShards(shardCount, options.shard);
  await mkdir(options.out, { recursive: true });

  // Files the listing refused (a bad header) belong to no shard's plan; shard 0
  // records them, so the merged index lists each once however the work is split.
  const refusedAtListing: SkippedFile[] = dataset.badFiles.map((bad) => ({ id: basename(bad.path).replace(/\.wav$/i, ''), path: bad.path, problem: bad.problem }));
  const summary: TokenizeSummary = {
    shardCount,
    shardsWritten: 0,
    shardsAlreadyWhole: 0,
    utterances: 0,
    skippedFiles: refusedAtListing.length,
    audioSeconds: 0,
    wallSeconds: 0,
  };
  const todo: number[] = [];
  for (const j of owned) {
    const whole = await verifyShard(options.out, j, shardCount).then(
      (index) => index.header.planHash === plan.hash && sameTokenModel(index.header.model, model),
      () => false,
    );
    if (whole) summary.shardsAlreadyWhole++;
    else todo.push(j);
  }
  options.onShard?.(summary.shardsAlreadyWhole, owned.length);
  if (todo.length === 0) return { ...summary, wallSeconds: (Date.now() - started) / 1000 };

  const remaining = todo.flatMap((j) => plan.shards[j]!);
  options.onStart?.({ files: remaining.length, seconds: remaining.reduce((total, u) => total + u.durationSeconds, 0) });
  const pool = await EncodePool.start(modelDirectory.directory, workers);
  try {
    for (const j of todo) {
      const planned: PlannedUtterance[] = plan.shards[j]!;
      const answers = await Promise.all(
        planned.map((u) =>
          pool.encode(u.path).then((answer) => {
            options.onFile?.({ path: u.path, seconds: u.durationSeconds });
            return answer;
          }),
        ),
      );
      const utterances: ShardUtterance[] = [];
      const skipped: SkippedFile[] = j === 0 ? [...refusedAtListing] : [];
      const refusedHere = skipped.length;
      answers.forEach((answer, i) => {
        const u = planned[i]!;
        if ('error' in answer) {
          // Worker errors already name the file; others get it here.
          const problem = answer.error.startsWith(u.path) ? answer.error.slice(u.path.length).replace(/^:\s*/, '') : answer.error;
          log(`${u.path}: ${problem}; skipped`);
          skipped.push({ id: u.id, path: u.path, problem });
          return;
        }
        utterances.push({ id: u.id, speaker: u.speaker, text: u.text, durationSeconds: u.durationSeconds, tokens: answer.codes });
        summary.audioSeconds += u.durationSeconds;
      });
      await writeShard(options.out, { shard: j, shardCount, planHash: plan.hash, model }, utterances, skipped);
      summary.shardsWritten++;
      summary.utterances += utterances.length;
      summary.skippedFiles += skipped.length - refusedHere;
      options.onShard?.(summary.shardsAlreadyWhole + summary.shardsWritten, owned.length);
    }
  } finally {
    await pool.close();
  }
  return { ...summary, wallSeconds: (Date.now() - started) / 1000 };
}
