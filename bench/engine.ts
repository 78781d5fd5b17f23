/**
 * npm run bench:engine — the compute engine, every rung that runs here, side by side.
 *
 *   conv1d forward GFLOP/s          k3, 64→64 channels, batch 8 × 8000 samples
 *   conv1d forward+backward GFLOP/s the same, with input and filter gradients
 *   training audio-s/s              the reference SEANet (bench/reference-seanet.ts),
 *                                   batch 8 × 1 s at 16 kHz, L1 + log-spectral, Adam
 *
 * Each figure is the median of repeated runs (this machine is shared and noisy).
 * The plain cpu rung trains on a smaller batch (1 × 0.2 s) so the bench ends in
 * minutes; the batch is reported, and throughput per audio-second is compared.
 * The last line printed is one JSON object with every figure.
 *
 * Flags: --rungs a,b,c   only these rungs     --quick   fewer repeats (smoke test)
 */
import os from 'node:os';

import * as tf from '@tensorflow/tfjs';

import { initEngine, type BackendName, BACKEND_LADDER, conv1d } from '../src/engine/index.js';
import { mulberry32, uniformArray } from '../src/random.js';
import { relaunchForEngine } from '../src/relaunch.js';
import { fourierFilter, ReferenceSeanet, reconstructionLoss } from './reference-seanet.js';
import { timeIt } from './timing.js';

const SAMPLE_RATE = 16_000;

interface Args {
  rungs: BackendName[] | null;
  quick: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rungs: null, quick: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.quick = true;
    else if (argv[i] === '--rungs') args.rungs = (argv[++i] ?? '').split(',') as BackendName[];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

function benchConv(repeats: number, repeatsBackward: number): { forward: number; forwardBackward: number } {
  const [batch, length, channels, kernelSize] = [8, 8000, 64, 3];
  const flops = 2 * batch * length * channels * channels * kernelSize;
  const rand = mulberry32(42);
  const x = tf.tensor3d(uniformArray(rand, batch * channels * length), [batch, channels, length]);
  const w = tf.tensor3d(uniformArray(rand, channels * channels * kernelSize).map((v) => v * 0.1), [channels, channels, kernelSize]);
  // Every rung on the ladder computes inside the op call (tfjs-node, wasm and cpu are all
  // synchronous), so the op is timed alone: no readback, which on wasm costs ~4 ms even for
  // one element.
  const forward = timeIt(() => conv1d(x, w, { padding: 'same' }).dispose(), repeats);
  const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => conv1d(xi as tf.Tensor3D, wi as tf.Tensor3D, { padding: 'same' }).sum());
  const forwardBackward = timeIt(() => tf.dispose(grads([x, w])), repeatsBackward);
  tf.dispose([x, w]);
  return { forward: flops / forward / 1e9, forwardBackward: (3 * flops) / forwardBackward / 1e9 };
}

function benchTraining(batch: number, seconds: number, steps: number): { audioSecondsPerSecond: number; stepSeconds: number; parameters: number; finalLoss: number } {
  const model = new ReferenceSeanet(1);
  const basis = fourierFilter(512);
  const optimizer = tf.train.adam(3e-4);
  const rand = mulberry32(5);
  // A fixed batch of band-limited noise bursts: the workload, not the data, is measured.
  const audio = tf.tidy(() => {
    const length = Math.round(seconds * SAMPLE_RATE);
    const noise = tf.tensor3d(uniformArray(rand, batch * length), [batch, 1, length]);
    const smooth = conv1d(noise, tf.fill([1, 1, 5], 0.2) as tf.Tensor3D, { padding: 'same' });
    return smooth.mul(0.5) as tf.Tensor3D;
  });
  let finalLoss = NaN;
  const step = () => {
    const loss = optimizer.minimize(() => reconstructionLoss(model.forward(audio), audio, basis), true, model.variables);
    finalLoss = loss!.dataSync()[0]!;
    loss!.dispose();
  };
  const stepSeconds = timeIt(step, steps, 1);
  const parameters = model.parameterCount;
  tf.dispose([audio, basis, ...model.variables]);
  optimizer.dispose();
  return { audioSecondsPerSecond: (batch * seconds) / stepSeconds, stepSeconds, parameters, finalLoss };
}

interface Plan {
  convRepeats: number;
  convRepeatsBackward: number;
  /** Training batch: items × seconds each (a multiple of the 20 ms hop). */
  batch: number;
  seconds: number;
  steps: number;
}

/** Repeats and training batch per rung: the slow rungs get less work so the bench ends in minutes. */
function planFor(rung: BackendName, quick: boolean): Plan {
  if (rung === 'cpu') return { convRepeats: 1, convRepeatsBackward: 1, batch: 1, seconds: 0.2, steps: 1 };
  if (rung === 'wasm') return { convRepeats: quick ? 2 : 5, convRepeatsBackward: quick ? 1 : 3, batch: quick ? 1 : 8, seconds: 1, steps: quick ? 1 : 2 };
  return { convRepeats: quick ? 3 : 15, convRepeatsBackward: quick ? 2 : 8, batch: quick ? 2 : 8, seconds: 1, steps: quick ? 2 : 7 };
}

async function main(): Promise<void> {
  // Measured as the simvq-audio command runs training: started again with the engine's settings (src/relaunch.ts).
  await relaunchForEngine();
  const args = parseArgs(process.argv.slice(2));
  const convFwd: Record<string, number> = {};
  const convFwdBwd: Record<string, number> = {};
  const train: Record<string, number> = {};
  const trainStep: Record<string, number> = {};
  const trainBatch: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  let parameters = 0;

  for (const rung of args.rungs ?? BACKEND_LADDER) {
    try {
      await initEngine({ backend: rung });
    } catch (error) {
      skipped[rung] = error instanceof Error ? error.message : String(error);
      console.log(`${rung.padEnd(17)} skipped: ${skipped[rung]}`);
      continue;
    }
    const plan = planFor(rung, args.quick);
    const conv = benchConv(plan.convRepeats, plan.convRepeatsBackward);
    convFwd[rung] = round(conv.forward);
    convFwdBwd[rung] = round(conv.forwardBackward);
    const training = benchTraining(plan.batch, plan.seconds, plan.steps);
    train[rung] = round(training.audioSecondsPerSecond, 3);
    trainStep[rung] = round(training.stepSeconds, 3);
    trainBatch[rung] = `${plan.batch} x ${plan.seconds} s`;
    parameters = training.parameters;
    console.log(
      `${rung.padEnd(17)} conv fwd ${convFwd[rung]!.toFixed(1).padStart(6)} GFLOP/s  ` +
        `fwd+bwd ${convFwdBwd[rung]!.toFixed(1).padStart(6)} GFLOP/s  ` +
        `train ${train[rung]!.toFixed(3).padStart(7)} audio-s/s (batch ${plan.batch} × ${plan.seconds} s, ${training.stepSeconds.toFixed(2)} s/step, loss ${training.finalLoss.toFixed(3)})`,
    );
  }

  console.log(
    JSON.stringify({
      bench: 'engine',
      machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node },
      conv_fwd_gflops: convFwd,
      conv_fwd_bwd_gflops: convFwdBwd,
      train_audio_s_per_s: train,
      train_step_s: trainStep,
      train_batch: trainBatch,
      reference_parameters: parameters,
      conv_shape: { batch: 8, length: 8000, channels: 64, kernel: 3 },
      skipped,
      quick: args.quick,
    }),
  );
}

function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
