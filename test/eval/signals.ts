/** Fixed test signals for the metric tests, rebuilt identically by fixtures/stoi-reference.py. */
import { join } from 'node:path';

import { readWav } from '../../src/audio/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

export const SPEECH_PATH = join('samples', 'speech-16k.wav');

export async function speech(): Promise<{ samples: Float32Array; sampleRate: number }> {
  const clip = await readWav(SPEECH_PATH);
  return { samples: clip.samples, sampleRate: clip.sampleRate };
}

/** `clean` plus seeded uniform noise scaled to `snrDb` (float64 arithmetic, float32 result). */
export function addNoise(clean: Float32Array, seed: number, snrDb: number): Float32Array {
  const noise = randomArray(mulberry32(seed), clean.length);
  let signalEnergy = 0;
  let noiseEnergy = 0;
  for (let i = 0; i < clean.length; i++) {
    signalEnergy += clean[i] * clean[i];
    noiseEnergy += noise[i] * noise[i];
  }
  const gain = Math.sqrt(signalEnergy / noiseEnergy / 10 ** (snrDb / 10));
  const out = new Float32Array(clean.length);
  for (let i = 0; i < clean.length; i++) out[i] = clean[i] + gain * noise[i];
  return out;
}

/** Harmonics of 140 Hz under a 4 Hz envelope: a speech-like modulated signal. */
export function modulatedTone(sampleRate: number, seconds: number): Float32Array {
  const out = new Float32Array(Math.floor(sampleRate * seconds));
  for (let n = 0; n < out.length; n++) {
    const t = n / sampleRate;
    const envelope = 0.5 * (1 - Math.cos(2 * Math.PI * 4 * t)) ** 2;
    let carrier = 0;
    for (let h = 1; h < 20; h++) if (140 * h < sampleRate / 2) carrier += Math.sin(2 * Math.PI * 140 * h * t) / h;
    out[n] = 0.3 * envelope * carrier;
  }
  return out;
}

/** `x` delayed by `samples` (zeros in front), same length. */
export function delayed(x: Float32Array, samples: number): Float32Array {
  const out = new Float32Array(x.length);
  out.set(x.subarray(0, x.length - samples), samples);
  return out;
}
