/**
 * What the discriminators and the reconstruction losses cost per training step
 * (forward + backward), at 16 kHz, batch 8 × 1 s by default.
 *
 *   node dist/bench/discriminators.js [--rung wasm+onnxruntime] [--batch 8] [--seconds 1] [--repeats 5] [--only NAME,...]
 *
 * For each discriminator setting it times the two places a GAN step uses it:
 *   - 'disc step': D(real), D(fake), hinge loss, gradients for every D parameter;
 *   - 'gen step': D(fake), D(real), hinge + feature matching, gradient to the
 *     generated audio (what flows back into the generator);
 * and for the reconstruction losses, their forward and gradient to the output.
 * Figures are medians over the repeats after one warm-up; the last line printed
 * is one JSON object with all of them (seconds per step and per audio-second).
 */
import * as tf from '@tensorflow/tfjs';

import { featureMatchingLoss, hingeDiscriminatorLoss, hingeGeneratorLoss } from '../src/codec/adversarial.js';
import {
  DEFAULT_MPD_CHANNELS,
  DEFAULT_MSSTFTD_FILTERS,
  MultiPeriodDiscriminator,
  MultiScaleStftDiscriminator,
  SMALL_MPD_CHANNELS,
  SMALL_MSSTFTD_FILTERS,
  type Discriminator,
} from '../src/codec/discriminators.js';
import { ReconstructionLoss } from '../src/codec/losses.js';
import { conv1d, initEngine, type BackendName } from '../src/engine/index.js';
import { timeIt } from './timing.js';

interface Options {
  rung: BackendName;
  batch: number;
  seconds: number;
  repeats: number;
  only: string[] | null;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rung: 'wasm+onnxruntime', batch: 8, seconds: 1, repeats: 5, only: null };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--rung':
        options.rung = value as BackendName;
        break;
      case '--batch':
        options.batch = Number(value);
        break;
      case '--seconds':
        options.seconds = Number(value);
        break;
      case '--repeats':
        options.repeats = Number(value);
        break;
      case '--only':
        options.only = (value ?? '').split(',');
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
    i++;
  }
  return options;
}

const SAMPLE_RATE = 16000;

const SETTINGS: Record<string, () => Discriminator> = {
  'mpd-default': () => new MultiPeriodDiscriminator({ channels: DEFAULT_MPD_CHANNELS }),
  'mpd-small': () => new MultiPeriodDiscriminator({ channels: SMALL_MPD_CHANNELS }),
  'mpd-hifigan': () => new MultiPeriodDiscriminator({ channels: [32, 128, 512, 1024, 1024] }),
  'msstftd-default': () => new MultiScaleStftDiscriminator({ filters: DEFAULT_MSSTFTD_FILTERS }),
  'msstftd-small': () => new MultiScaleStftDiscriminator({ filters: SMALL_MSSTFTD_FILTERS }),
  'msstftd-3scales': () => new MultiScaleStftDiscriminator({ filters: DEFAULT_MSSTFTD_FILTERS, nFfts: [1024, 512, 256] }),
  'msstftd-encodec': () => new MultiScaleStftDiscriminator({ filters: 32 }),
};

function audio(options: Options, seed: number): tf.Tensor3D {
  const length = Math.round(options.seconds * SAMPLE_RATE);
  return tf.tidy(() => tf.randomNormal([options.batch, 1, length], 0, 0.2, 'float32', seed).tanh() as tf.Tensor3D);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await initEngine({ backend: options.rung });
  const audioSeconds = options.batch * options.seconds;
  const real = audio(options, 1);
  const fake = tf.variable(audio(options, 2));
  const results: Record<string, { seconds: number; perAudioSecond: number; parameters?: number }> = {};
  const record = (name: string, seconds: number, parameters?: number) => {
    results[name] = { seconds, perAudioSecond: seconds / audioSeconds, ...(parameters === undefined ? {} : { parameters }) };
    console.log(`${name.padEnd(28)} ${seconds.toFixed(3)} s/step  ${(seconds / audioSeconds).toFixed(4)} s per audio-s${parameters === undefined ? '' : `  (${parameters} params)`}`);
  };
  console.log(`rung ${options.rung}, batch ${options.batch} × ${options.seconds} s at ${SAMPLE_RATE} Hz, median of ${options.repeats}`);
  // How fast this machine is right now (it is shared): the engine bench's reference conv,
  // kernel 3, 64 → 64 channels, 8 × 8000 samples, forward (README: ~59-73 GFLOP/s when quiet).
  const calibration = tf.tidy(() => {
    const x = tf.randomNormal([8, 64, 8000]) as tf.Tensor3D;
    const w = tf.randomNormal([64, 64, 3]) as tf.Tensor3D;
    const seconds = timeIt(() => tf.tidy(() => void conv1d(x, w, { padding: 'same' }).dataSync()), Math.max(5, options.repeats));
    return (2 * 8 * 64 * 64 * 3 * 8000) / seconds / 1e9;
  });
  console.log(`calibration: conv1d forward ${calibration.toFixed(1)} GFLOP/s`);

  const want = (name: string) => options.only === null || options.only.some((o) => name.startsWith(o));
  if (want('losses')) {
    const loss = new ReconstructionLoss({ sampleRate: SAMPLE_RATE });
    const lossStep = () => {
      const { value, grads } = tf.variableGrads(() => loss.compute(fake as tf.Tensor3D, real).total, [fake]);
      value.dataSync();
      grads[fake.name]!.dataSync();
      tf.dispose([value, grads]);
    };
    record('losses (all terms)', timeIt(lossStep, options.repeats));
    for (const term of ['stftConvergence', 'mel', 'waveform'] as const) {
      const weights = { stftConvergence: 0, stftLogMagnitude: 0, mel: 0, waveform: 0, [term]: 1 };
      const single = new ReconstructionLoss({ sampleRate: SAMPLE_RATE, weights });
      record(`losses (${term === 'stftConvergence' ? 'stft' : term} only)`, timeIt(() => {
        const { value, grads } = tf.variableGrads(() => single.compute(fake as tf.Tensor3D, real).total, [fake]);
        value.dataSync();
        grads[fake.name]!.dataSync();
        tf.dispose([value, grads]);
      }, options.repeats));
    }
  }

  for (const [name, build] of Object.entries(SETTINGS)) {
    if (!want(name)) continue;
    const d = build();
    const variables = d.parameters.trainable();
    const discStep = () => {
      const { value, grads } = tf.variableGrads(() => hingeDiscriminatorLoss(d.forward(real).logits, d.forward(fake as tf.Tensor3D).logits), variables);
      value.dataSync();
      for (const g of Object.values(grads)) g.dataSync();
      tf.dispose([value, grads]);
    };
    const genStep = () => {
      const { value, grads } = tf.variableGrads(() => {
        const f = d.forward(fake as tf.Tensor3D);
        const r = d.forward(real);
        return hingeGeneratorLoss(f.logits).add(featureMatchingLoss(r.features, f.features)) as tf.Scalar;
      }, [fake]);
      value.dataSync();
      grads[fake.name]!.dataSync();
      tf.dispose([value, grads]);
    };
    const disc = timeIt(discStep, options.repeats);
    record(`${name} disc step`, disc, d.parameters.parameterCount);
    const gen = timeIt(genStep, options.repeats);
    record(`${name} gen step`, gen);
    record(`${name} both`, disc + gen);
    d.dispose();
  }
  console.log(JSON.stringify({ rung: options.rung, calibrationGflops: calibration, batch: options.batch, seconds: options.seconds, repeats: options.repeats, results }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
