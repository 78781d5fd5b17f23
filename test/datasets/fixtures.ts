/**
 * Small datasets written by the tests themselves with our WAV writer: a
 * LibriTTS tree in the real layout, plus helpers for broken files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { encodeWav } from '../../src/audio/index.js';
import { mulberry32 } from '../helpers/random.js';

/** A voiced-speech stand-in: a few harmonics of `f0` under a slow envelope, plus a little noise. */
export function speechLike(seconds: number, sampleRate: number, f0: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    let value = 0;
    for (let h = 1; h <= 4; h++) value += Math.sin(2 * Math.PI * f0 * h * t) / h;
    out[i] = 0.2 * envelope * value + 0.002 * (random() * 2 - 1);
  }
  return out;
}

export interface FixtureUtterance {
  subset: string;
  speaker: string;
  chapter: string;
  id: string;
  seconds: number;
  sampleRate: number;
  text: string;
}

/**
 * LibriTTS/<subset>/<speaker>/<chapter>/<utt>.wav (+ .normalized.txt, .original.txt)
 * and SPEAKERS.txt. Three subsets, five speakers, durations 0.5-3 s, 16 and 24 kHz.
 */
export function writeLibriTTSFixture(root: string): FixtureUtterance[] {
  const plan: [string, string, string, number, number][] = [
    // subset, speaker, chapter, utterances, sample rate
    ['train-clean-100', '19', '198', 3, 24000],
    ['train-clean-100', '26', '495', 2, 24000],
    ['train-clean-100', '27', '123349', 2, 16000],
    ['dev-clean', '84', '121123', 2, 24000],
    ['test-clean', '121', '127105', 2, 24000],
  ];
  const utterances: FixtureUtterance[] = [];
  plan.forEach(([subset, speaker, chapter, count, sampleRate], group) => {
    const directory = join(root, subset, speaker, chapter);
    mkdirSync(directory, { recursive: true });
    for (let k = 0; k < count; k++) {
      const id = `${speaker}_${chapter}_${String(k).padStart(6, '0')}_000001`;
      const seconds = 0.5 + ((group * 3 + k) % 6) * 0.5;
      const text = `Utterance ${k} of speaker ${speaker}.`;
      writeFileSync(join(directory, `${id}.wav`), encodeWav(speechLike(seconds, sampleRate, 100 + 20 * group, group * 10 + k), sampleRate, 'pcm16'));
      writeFileSync(join(directory, `${id}.normalized.txt`), `${text}\n`);
      writeFileSync(join(directory, `${id}.original.txt`), `${text.toUpperCase()}\n`);
      utterances.push({ subset, speaker, chapter, id, seconds, sampleRate, text });
    }
  });
  writeFileSync(
    join(root, 'SPEAKERS.txt'),
    [
      '; Speaker list of the test fixture',
      ';ID  |SEX |SUBSET           |MINUTES|NAME',
      '19   | F  | train-clean-100  | 25.19 | Kara Shallenberg',
      '26   | M  | train-clean-100  | 25.08 | Denny Sayers',
      '27   | M  | train-clean-100  | 20.14 | Sean McKinley',
      '84   | F  | dev-clean        |  8.02 | Christie Nowak',
      '121  | F  | test-clean       |  9.20 | Nikolle Doolin',
      '',
    ].join('\n'),
  );
  return utterances;
}

/** A WAV file cut short: its header promises more data than the file holds. */
export function truncatedWav(seconds: number, sampleRate: number): Uint8Array {
  const bytes = encodeWav(speechLike(seconds, sampleRate, 150, 99), sampleRate, 'pcm16');
  return bytes.subarray(0, Math.floor(bytes.length / 2));
}

/** A float WAV whose header is fine but whose samples include NaN: only a full decode finds it. */
export function nanWav(seconds: number, sampleRate: number): Uint8Array {
  const samples = speechLike(seconds, sampleRate, 150, 98);
  const bytes = encodeWav(samples, sampleRate, 'float32');
  // The data chunk of our writer starts at byte 44; poison one sample in the middle.
  new DataView(bytes.buffer, bytes.byteOffset).setFloat32(44 + 4 * Math.floor(samples.length / 2), NaN, true);
  return bytes;
}
