/**
 * npm run bench:boundaries -- DIR [--hop N] — clicks at frame boundaries in a
 * folder of decoded WAV files (e.g. `simvq-audio roundtrip … --out-dir DIR`):
 * the mean squared sample step at multiples of the hop over that elsewhere,
 * pooled over every file (src/eval/boundaries.ts; ~1: no clicks). The last
 * line printed is one JSON object.
 *
 *   simvq-audio roundtrip $(find /work/data/devset -name '*.wav') --out-dir /tmp/rt
 *   npm run bench:boundaries -- /tmp/rt
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { readWav } from '../src/audio/index.js';
import { InputError } from '../src/errors.js';
import { boundaryJumpRatio } from '../src/eval/boundaries.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let hop = 320;
  let directory: string | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--hop') hop = Number(args[++i]);
    else if (directory === null) directory = args[i]!;
    else throw new InputError(args[i]!, 'unknown argument; usage: bench:boundaries -- DIR [--hop N]');
  }
  if (directory === null) throw new InputError(null, 'usage: bench:boundaries -- DIR [--hop N]');
  const files = (await readdir(directory)).filter((name) => name.toLowerCase().endsWith('.wav')).sort();
  if (files.length === 0) throw new InputError(directory, 'holds no .wav files');
  const clips: Float32Array[] = [];
  let sampleRate: number | null = null;
  let seconds = 0;
  for (const name of files) {
    const clip = await readWav(join(directory, name));
    sampleRate ??= clip.sampleRate;
    if (clip.sampleRate !== sampleRate) throw new InputError(join(directory, name), `is at ${clip.sampleRate} Hz, the others at ${sampleRate} Hz`);
    if (clip.samples.length < 2 * hop + 1) continue;
    clips.push(clip.samples);
    seconds += clip.samples.length / clip.sampleRate;
  }
  const ratio = boundaryJumpRatio(clips, hop);
  const boundaries = clips.reduce((n, c) => n + Math.floor((c.length - 1) / hop), 0);
  console.log(`${directory}: ${clips.length} files, ${seconds.toFixed(1)} s, ${boundaries} frame boundaries every ${hop} samples: step ratio ${ratio.toFixed(3)} (~1: no clicks)`);
  console.log(JSON.stringify({ boundary_directory: directory, boundary_files: clips.length, boundary_seconds: seconds, boundary_hop: hop, boundary_count: boundaries, boundary_jump_ratio: ratio }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(error instanceof InputError ? 2 : 1);
});
