/**
 * npm run bench:data — throughput of the training input pipeline (BatchLoader):
 * read WAV, resample to the model rate, crop, batch, in worker threads.
 *
 *   audio-s/s   seconds of cropped model-rate audio delivered per wall second
 *   files/s     utterances read per wall second (only each crop's frames are read)
 *   audio-s per CPU-s   the same audio over the CPU time of all threads: steadier on a busy machine
 *
 * Default data: 200 LibriTTS-like utterances written here (24 kHz, 16-bit,
 * 2-12 s), read into 16 kHz crops of 1 s in batches of 20 (the SimVQ paper's
 * batch). Each figure is the median of repeated epochs (this machine is shared
 * and noisy). The codec's training consumes ~6 audio-s/s on this machine's best
 * rung (README), which is what these figures are compared with.
 * The last line printed is one JSON object with every figure.
 *
 * Flags: --spec SPEC   bench a dataset of yours instead (any data spec)
 *        --repeats N   epochs timed per configuration (default 3)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeWav, type ResampleQuality } from '../src/audio/index.js';
import { BatchLoader, loadDataset, type Utterance } from '../src/datasets/index.js';
import { mulberry32 } from '../src/random.js';
import { median } from './timing.js';

interface Args {
  spec: string | null;
  repeats: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { spec: null, repeats: 3 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--spec') args.spec = argv[++i] ?? '';
    else if (argv[i] === '--repeats') args.repeats = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

/** Harmonic "speech" with a syllable-rate envelope and noise: realistic for the resampler and the encoder. */
function writeBenchData(root: string, count: number, sampleRate: number): void {
  const random = mulberry32(7);
  for (let k = 0; k < count; k++) {
    const speaker = String(100 + (k % 10));
    const directory = join(root, 'train-bench', speaker, '1');
    mkdirSync(directory, { recursive: true });
    const seconds = 2 + random() * 10;
    const n = Math.round(seconds * sampleRate);
    const samples = new Float32Array(n);
    const f0 = 90 + random() * 150;
    for (let i = 0; i < n; i++) {
      const t = i / sampleRate;
      let value = 0;
      for (let h = 1; h <= 6; h++) value += Math.sin(2 * Math.PI * f0 * h * t) / h;
      samples[i] = 0.15 * (0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t)) * value + 0.01 * (random() * 2 - 1);
    }
    writeFileSync(join(directory, `${speaker}_1_${String(k).padStart(6, '0')}_000000.wav`), encodeWav(samples, sampleRate, 'pcm16'));
  }
}

interface EpochTiming {
  audioPerSecond: number;
  filesPerSecond: number;
  /** Audio seconds per CPU second of the whole process (all threads): less at the mercy of other load. */
  audioPerCpuSecond: number;
}

async function timeEpoch(utterances: readonly Utterance[], workers: number, quality: ResampleQuality, seed: number): Promise<EpochTiming> {
  const loader = new BatchLoader(utterances, { sampleRate: 16000, cropSamples: 16000, batchSize: 20, seed, workers, resampleQuality: quality, prefetch: 4 });
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for await (const batch of loader) void batch;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { audioPerSecond: loader.stats.audioSeconds / seconds, filesPerSecond: loader.stats.crops / seconds, audioPerCpuSecond: loader.stats.audioSeconds / cpuSeconds };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let scratch: string | null = null;
  let spec = args.spec;
  if (spec === null) {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-bench-data-'));
    writeBenchData(scratch, 200, 24000);
    spec = `libritts:${scratch}`;
  }
  try {
    const dataset = await loadDataset(spec);
    const hours = dataset.utterances.reduce((sum, u) => sum + u.durationSeconds, 0) / 3600;
    console.log(`data: ${spec}: ${dataset.utterances.length} utterances, ${(hours * 60).toFixed(1)} min; crops of 1 s at 16 kHz, batches of 20`);
    const figures: Record<string, number> = {};
    const configurations: [number, ResampleQuality][] = [
      [0, 'medium'],
      [1, 'medium'],
      [2, 'medium'],
      [1, 'best'],
      [1, 'fastest'],
    ];
    for (const [workers, quality] of configurations) {
      await timeEpoch(dataset.utterances, workers, quality, 999); // warm-up: page cache, wasm compilation
      const runs: EpochTiming[] = [];
      for (let r = 0; r < args.repeats; r++) runs.push(await timeEpoch(dataset.utterances, workers, quality, r));
      const audio = median(runs.map((run) => run.audioPerSecond));
      const files = median(runs.map((run) => run.filesPerSecond));
      const key = `workers${workers}_${quality}`;
      figures[`${key}_audio_s_per_s`] = Math.round(audio * 10) / 10;
      figures[`${key}_files_per_s`] = Math.round(files * 10) / 10;
      const perCpu = median(runs.map((run) => run.audioPerCpuSecond));
      figures[`${key}_audio_s_per_cpu_s`] = Math.round(perCpu * 10) / 10;
      console.log(
        `workers ${workers} (${workers === 0 ? 'main thread' : 'threads'}), resample ${quality}: ${audio.toFixed(1)} audio-s/s, ${files.toFixed(1)} files/s, ${perCpu.toFixed(1)} audio-s per CPU-s (median of ${args.repeats}; runs ${runs.map((run) => run.audioPerSecond.toFixed(0)).join(', ')})`,
      );
    }
    console.log(JSON.stringify({ bench: 'data', spec: args.spec ?? 'generated 24 kHz LibriTTS-like, 200 utterances', crop_s: 1, batch: 20, model_rate: 16000, ...figures }));
  } finally {
    if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
