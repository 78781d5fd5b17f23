/**
 * npm run bench:tokenize — throughput of `simvq-audio tokenize` with 1 and 2
 * worker threads.
 *
 * A randomly initialised model of the preset (speed does not depend on
 * training) is exported to a temporary model directory, and a corpus of
 * `files` WAV files of `file-seconds` each (the repository's speech sample,
 * tiled) is written beside it. Each worker count runs `repeats` times, each
 * in a fresh process writing a fresh output directory; reported are the
 * median audio-hours per wall-hour (= × real time, model loading included)
 * and the median peak RSS of the process. Per-worker memory is the growth in
 * peak RSS from one worker to two.
 * The last line printed is one JSON object: x_real_time = { "1": …, "2": … },
 * peak_rss_mb likewise, and per_worker_mb.
 *
 * Flags: --preset NAME (default: the default model's, speech-16k-0.9kbps-stft)  --files N (24)  --file-seconds S (10)  --repeats N (3)
 */
import { DEFAULT_BENCH_PRESET } from './default-preset.js';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { encodeWav, readWav } from '../src/audio/index.js';
import { tokenize } from '../src/tokenize/index.js';
import { median } from './timing.js';

interface Args {
  preset: string;
  files: number;
  fileSeconds: number;
  repeats: number;
  /** Child mode: tokenize --data into --out with --workers, report and exit. */
  child: { model: string; data: string; out: string; workers: number } | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { preset: DEFAULT_BENCH_PRESET, files: 24, fileSeconds: 10, repeats: 3, child: null };
  const child = { model: '', data: '', out: '', workers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? '';
    switch (argv[i]) {
      case '--preset': args.preset = value(); break;
      case '--files': args.files = Number(value()); break;
      case '--file-seconds': args.fileSeconds = Number(value()); break;
      case '--repeats': args.repeats = Number(value()); break;
      case '--child-model': child.model = value(); args.child = child; break;
      case '--child-data': child.data = value(); break;
      case '--child-out': child.out = value(); break;
      case '--child-workers': child.workers = Number(value()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

interface ChildReport {
  audioSeconds: number;
  wallSeconds: number;
  peakRssMb: number;
}

async function runChild(child: NonNullable<Args['child']>): Promise<void> {
  const summary = await tokenize({ data: child.data, out: child.out, model: child.model, workers: child.workers, log: () => undefined });
  const report: ChildReport = { audioSeconds: summary.audioSeconds, wallSeconds: summary.wallSeconds, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(report) + '\n');
}

function spawnChild(model: string, data: string, out: string, workers: number): Promise<ChildReport> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--child-model', model, '--child-data', data, '--child-out', out, '--child-workers', String(workers)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`tokenize child exited with ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport);
    });
  });
}

const args = parseArgs(process.argv.slice(2));
if (args.child !== null) {
  await runChild(args.child);
} else {
  const [{ initEngine }, { loadCodecConfig }, { CodecModel }, { writeModelDirectory }] = await Promise.all([
    import('../src/engine/index.js'),
    import('../src/codec/presets.js'),
    import('../src/codec/model.js'),
    import('../src/export/model-directory.js'),
  ]);
  await initEngine();
  const config = await loadCodecConfig(args.preset);
  if (config.sampleRate !== 16000) throw new Error('the bench tiles a 16 kHz sample; pick a 16 kHz preset');
  const scratch = mkdtempSync(join(tmpdir(), 'simvq-bench-tokenize-'));
  try {
    const model = join(scratch, 'model');
    const codecModel = new CodecModel(config, 0);
    await writeModelDirectory(codecModel, model);
    codecModel.dispose();
    const speech = (await readWav('samples/speech-16k.wav')).samples;
    const data = join(scratch, 'data');
    mkdirSync(data);
    const length = Math.round(args.fileSeconds * config.sampleRate);
    for (let f = 0; f < args.files; f++) {
      const clip = new Float32Array(length);
      for (let t = 0; t < length; t++) clip[t] = speech[(f * 7919 + t) % speech.length]!;
      writeFileSync(join(data, `utt${String(f).padStart(4, '0')}.wav`), encodeWav(clip, config.sampleRate, 'pcm16'));
    }
    const totalSeconds = args.files * args.fileSeconds;
    console.log(`${args.preset}: ${args.files} files × ${args.fileSeconds} s (${totalSeconds} s of audio), median of ${args.repeats} runs per worker count`);
    const speed: Record<string, number> = {};
    const rss: Record<string, number> = {};
    for (const workers of [1, 2]) {
      const reports: ChildReport[] = [];
      for (let r = 0; r < args.repeats; r++) {
        const out = join(scratch, `out-${workers}-${r}`);
        reports.push(await spawnChild(model, `dir:${data}`, out, workers));
        rmSync(out, { recursive: true, force: true });
      }
      speed[workers] = median(reports.map((r) => r.audioSeconds / r.wallSeconds));
      rss[workers] = median(reports.map((r) => r.peakRssMb));
      console.log(`  ${workers} worker${workers === 1 ? ' ' : 's'}: ${speed[workers]!.toFixed(1)}x real time (audio-hours per wall-hour), peak RSS ${rss[workers]!.toFixed(0)} MB`);
    }
    const perWorker = rss['2']! - rss['1']!;
    console.log(`  per worker: ~${perWorker.toFixed(0)} MB; load average ${loadavg()[0]!.toFixed(1)}`);
    console.log(
      JSON.stringify({
        bench: 'tokenize',
        preset: args.preset,
        audio_seconds: totalSeconds,
        repeats: args.repeats,
        x_real_time: speed,
        audio_hours_per_hour: speed,
        peak_rss_mb: rss,
        per_worker_mb: perWorker,
        load_average: loadavg()[0],
      }),
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
