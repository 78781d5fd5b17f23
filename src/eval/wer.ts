/**
 * Word error rate, with an offline recogniser from Debian: CMU PocketSphinx
 * (`pocketsphinx_continuous`, packages pocketsphinx and pocketsphinx-en-us,
 * its US English acoustic model, language model and dictionary).
 *
 * WER = (substitutions + deletions + insertions) / reference words, from a
 * Levenshtein alignment over words after both texts are lower-cased and
 * stripped of punctuation. A small recogniser is far from perfect on clean
 * speech: read a codec's WER beside the original audio's, which the report
 * gives as its own row.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { encodeWav, resample } from '../audio/index.js';

const execFileAsync = promisify(execFile);

/** Words of a transcript as the scorer compares them: lower case, letters, digits and inner apostrophes. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9'\s]/g, ' ')
    .replace(/(^|\s)'+|'+(?=\s|$)/g, ' ')
    .split(/\s+/)
    .filter((word) => word !== '');
}

/** Word edits (substitutions, deletions, insertions) between two texts, and the reference's word count. */
export function wordErrors(reference: string, hypothesis: string): { errors: number; words: number } {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  let previous = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const current = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const substitution = previous[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1));
    }
    previous = current;
  }
  return { errors: previous[hyp.length]!, words: ref.length };
}

const BINARY = '/usr/bin/pocketsphinx_continuous';
const MODEL = '/usr/share/pocketsphinx/model/en-us';
const RATE = 16000;

/** A speech recogniser the evaluation can run on any audio. */
export interface Recognizer {
  readonly name: string;
  transcribe(samples: Float32Array, sampleRate: number, workDir: string): Promise<string>;
}

/** PocketSphinx with its US English model, or why it cannot run here. */
export function pocketsphinx(): Recognizer | { missing: string } {
  const files = [BINARY, join(MODEL, 'en-us'), join(MODEL, 'en-us.lm.bin'), join(MODEL, 'cmudict-en-us.dict')];
  const absent = files.filter((file) => !existsSync(file));
  if (absent.length > 0) return { missing: `no word error rate: PocketSphinx is not installed (Debian: apt-get install pocketsphinx pocketsphinx-en-us; missing ${absent[0]})` };
  return {
    name: 'PocketSphinx 5prealpha, US English model (Debian pocketsphinx-en-us)',
    async transcribe(samples, sampleRate, workDir) {
      const audio = sampleRate === RATE ? samples : await resample(samples, sampleRate, RATE);
      const wav = join(workDir, 'asr.wav');
      await writeFile(wav, encodeWav(audio, RATE, 'pcm16'));
      const { stdout } = await execFileAsync(
        BINARY,
        ['-infile', wav, '-hmm', join(MODEL, 'en-us'), '-lm', join(MODEL, 'en-us.lm.bin'), '-dict', join(MODEL, 'cmudict-en-us.dict'), '-logfn', '/dev/null'],
        { maxBuffer: 1 << 24 },
      );
      // One line per utterance segment it found.
      return stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '').join(' ');
    },
  };
}
