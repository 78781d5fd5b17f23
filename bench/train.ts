/**
 * npm run bench:train — codec training throughput per preset, side by side.
 *
 * Each preset trains at its own batch size and crop length on speech (the
 * repository's sample, tiled) rather than noise, twice: generator steps alone
 * (encoder, quantizer, decoder and reconstruction losses: what a run does
 * until its discriminators start) and full steps with every discriminator its
 * config names. Reported per preset: median step times, audio-seconds per
 * wall-second, parameter counts, and the generator-step speed relative to
 * speech-16k-0.9kbps measured in the same run. The last line printed is one
 * JSON object with every figure.
 *
 * Flags: --presets a,b   only these presets   --steps N   timed steps (default 5)
 *        --backend NAME  engine rung (default: the best available)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';

import { readWav } from '../src/audio/index.js';
import { hopLength, type CodecConfig } from '../src/codec/config.js';
import { loadCodecConfig, presetNames } from '../src/codec/presets.js';
import { CodecModel } from '../src/codec/model.js';
import { initEngine, isWasmHeapExhaustion, type BackendName } from '../src/engine/index.js';
import { relaunchForEngine } from '../src/relaunch.js';
import { DiscriminatorSet, GanStep } from '../src/train/gan-step.js';
import { median } from './timing.js';

interface Args {
  presets: string[] | null;
  steps: number;
  backend: BackendName | 'auto';
}

function parseArgs(argv: string[]): Args {
  const args: Args = { presets: null, steps: 5, backend: 'auto' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--presets') args.presets = (argv[++i] ?? '').split(',');
    else if (argv[i] === '--steps') args.steps = Number(argv[++i]);
    else if (argv[i] === '--backend') args.backend = argv[++i] as BackendName;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(Number.isInteger(args.steps) && args.steps >= 1)) throw new Error('--steps must be a whole number >= 1');
  return args;
}

/** [batch, 1, crop] of speech: crops of the sample, tiled when it is shorter than a batch needs. */
function speechBatch(speech: Float32Array, config: CodecConfig): tf.Tensor3D {
  const hop = hopLength(config);
  const crop = Math.round((config.training.cropSeconds * config.sampleRate) / hop) * hop;
  const { batchSize } = config.training;
  const values = new Float32Array(batchSize * crop);
  for (let b = 0; b < batchSize; b++) {
    const start = (b * 7919) % speech.length;
    for (let t = 0; t < crop; t++) values[b * crop + t] = speech[(start + t) % speech.length]!;
  }
  return tf.tensor3d(values, [batchSize, 1, crop]);
}

// Measured as the simvq-audio command trains: started again with the engine's settings (src/relaunch.ts).
await relaunchForEngine();
const args = parseArgs(process.argv.slice(2));
const names = args.presets ?? (await presetNames());
type PresetResult = {
  /** Generator steps (no discriminator). */
  audio_s_per_s: number;
  step_s: number;
  /** Steps with the discriminators on. */
  gan_audio_s_per_s: number;
  gan_step_s: number;
  batch: string;
  generator_parameters: number;
  discriminator_parameters: number;
  discriminators: string[];
};
/** The preset every other is compared with. */
const BASELINE = 'speech-16k-0.9kbps';
const results: Record<string, PresetResult> = {};
/** Presets that could not be measured, with why (one line). */
const failed: Record<string, string> = {};
let backend: string = args.backend;

if (names.length > 1) {
  // One child process per preset: a preset too big for this engine (the wasm heap holds
  // 4 GiB) aborts its process, and the others are still measured.
  for (const name of names) {
    const child = await runPresetInChild(name);
    if ('reason' in child) failed[name] = child.reason;
    else {
      Object.assign(results, child.presets);
      backend = child.backend;
    }
  }
} else {
  try {
    backend = (await measureInProcess(names)).backend;
  } catch (error) {
    // One line for the parent run (see runPresetInChild), the reason first.
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    const hint = isWasmHeapExhaustion(error) ? ' (a training step of this preset does not fit the wasm heap, 4 GiB at most)' : '';
    process.stderr.write(`${message}${hint}\n`);
    process.exit(1);
  }
}

/** Runs this script for one preset in a child Node; its last stdout line is its JSON. */
async function runPresetInChild(name: string): Promise<{ backend: string; presets: Record<string, PresetResult> } | { reason: string }> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, script, '--presets', name, '--steps', String(args.steps), '--backend', args.backend], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let shown = 0; // characters of stdout already passed on
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    // Pass on each complete line as it comes, except the JSON one, which is merged below.
    const complete = stdout.lastIndexOf('\n') + 1;
    for (const line of stdout.slice(shown, complete).split('\n')) {
      if (line !== '' && !line.startsWith('{')) process.stdout.write(line + '\n');
    }
    shown = complete;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const last = stdout.trim().split('\n').pop() ?? '';
  if (code === 0 && last.startsWith('{')) return JSON.parse(last) as { backend: string; presets: Record<string, PresetResult> };
  // The child's last line says why (see its catch above); a crash before it says only its exit code.
  const reason = stderr.trim().split('\n').pop() || `exit code ${code}`;
  console.log(`${name.padEnd(22)} not measured: ${reason}`);
  return { reason };
}

async function measureInProcess(presets: readonly string[]): Promise<{ backend: string }> {
  const engine = await initEngine({ backend: args.backend });
  const sample = await readWav('samples/speech-16k.wav');
  for (const name of presets) {
    const preset = await loadCodecConfig(name);
    // The sample is 16 kHz; other rates get it as is (the figure is about compute, not audio).
    const audio = speechBatch(sample.samples, preset);
    const generator = timeSteps(preset, audio, false);
    const gan = timeSteps(preset, audio, true);
    const [batch, , crop] = audio.shape;
    const audioSeconds = (batch * crop) / preset.sampleRate;
    results[name] = {
      audio_s_per_s: Number((audioSeconds / generator.stepSeconds).toFixed(3)),
      step_s: Number(generator.stepSeconds.toFixed(3)),
      gan_audio_s_per_s: Number((audioSeconds / gan.stepSeconds).toFixed(3)),
      gan_step_s: Number(gan.stepSeconds.toFixed(3)),
      batch: `${batch} x ${(crop / preset.sampleRate).toFixed(2)} s`,
      generator_parameters: generator.generatorParameters,
      discriminator_parameters: gan.discriminatorParameters,
      discriminators: preset.training.discriminators,
    };
    const r = results[name];
    console.log(
      `${name.padEnd(22)} generator steps ${r.audio_s_per_s.toFixed(2)} audio-s/s (${r.step_s.toFixed(2)} s/step), with ${preset.training.discriminators.join(' + ') || 'no discriminator'} ` +
        `${r.gan_audio_s_per_s.toFixed(2)} audio-s/s (${r.gan_step_s.toFixed(2)} s/step); batch ${r.batch}; generator ${(r.generator_parameters / 1e6).toFixed(2)} M, ` +
        `discriminators ${(r.discriminator_parameters / 1e6).toFixed(2)} M parameters`,
    );
    audio.dispose();
  }
  return { backend: engine.backend };
}

/** Median seconds of a training step of `preset`, with the discriminators on from the first step or never. */
function timeSteps(preset: CodecConfig, audio: tf.Tensor3D, withDiscriminators: boolean): { stepSeconds: number; generatorParameters: number; discriminatorParameters: number } {
  const config: CodecConfig = { ...preset, training: { ...preset.training, discriminatorStartStep: withDiscriminators ? 0 : Number.MAX_SAFE_INTEGER } };
  const model = new CodecModel(config, 0);
  const discriminators = new DiscriminatorSet(withDiscriminators ? config.training.discriminators : [], 1);
  try {
    const gan = new GanStep(model, discriminators);
    gan.run(audio); // warm-up: sessions, caches
    const times: number[] = [];
    for (let i = 0; i < args.steps; i++) {
      const start = process.hrtime.bigint();
      gan.run(audio);
      times.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    return { stepSeconds: median(times), generatorParameters: model.parameters.parameterCount, discriminatorParameters: discriminators.parameters.parameterCount };
  } finally {
    discriminators.dispose();
    model.dispose();
  }
}

/** Generator-step speed of each preset over the baseline's, when both were measured. */
function speedups(): Record<string, number> | null {
  const baseline = results[BASELINE];
  if (baseline === undefined) return null;
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Number((v.audio_s_per_s / baseline.audio_s_per_s).toFixed(2))]));
}

const ratios = speedups();
if (ratios !== null) {
  console.log(`generator-step speed relative to ${BASELINE}: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}x`).join(', ')}`);
}
console.log(
  JSON.stringify({
    bench: 'train',
    baseline: BASELINE,
    backend,
    steps: args.steps,
    train_audio_s_per_s: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.audio_s_per_s])),
    gan_audio_s_per_s: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.gan_audio_s_per_s])),
    speedup_vs_baseline: speedups(),
    presets: results,
    failed,
  }),
);
