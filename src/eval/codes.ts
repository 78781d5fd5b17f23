/**
 * What the token streams say about a codec: how much of the codebook it uses
 * (utilisation, the SimVQ paper's headline), how evenly (perplexity), and how
 * many bits per second its written token files really cost.
 */
import { stat } from 'node:fs/promises';

import { InputError } from '../errors.js';
import { describeFsError } from '../files.js';

export interface CodeUsage {
  codebookSize: number;
  /** Tokens counted, over every stream given. */
  tokens: number;
  /** Distinct codes seen at least once. */
  used: number;
  /** used / codebookSize. */
  utilization: number;
  /** exp(entropy) of the code distribution, in codes: codebookSize when uniform, 1 when one code. */
  perplexity: number;
  /** counts[k]: how often code k occurs. */
  counts: Uint32Array;
}

/** Counts codes over a whole set of token streams (utilisation is a set-level figure). */
export function codeUsage(streams: Iterable<ArrayLike<number>>, codebookSize: number): CodeUsage {
  if (!(Number.isInteger(codebookSize) && codebookSize > 0)) {
    throw new InputError('codebook size', `must be a positive integer, got ${codebookSize}`);
  }
  const counts = new Uint32Array(codebookSize);
  let tokens = 0;
  for (const stream of streams) {
    for (let i = 0; i < stream.length; i++) {
      const code = stream[i];
      if (!(Number.isInteger(code) && code >= 0 && code < codebookSize)) {
        throw new InputError('tokens', `token ${code} at position ${i} is outside the codebook [0, ${codebookSize})`);
      }
      counts[code]++;
    }
    tokens += stream.length;
  }
  let used = 0;
  let entropy = 0;
  for (const count of counts) {
    if (count === 0) continue;
    used++;
    const p = count / tokens;
    entropy -= p * Math.log(p);
  }
  return { codebookSize, tokens, used, utilization: used / codebookSize, perplexity: tokens === 0 ? 0 : Math.exp(entropy), counts };
}

/** Bits per second of an encoded file: its size in bits over the audio's duration. */
export async function bitrateOfFile(path: string, durationSeconds: number): Promise<number> {
  if (!(durationSeconds > 0)) throw new InputError(path, `cannot take a bitrate over ${durationSeconds} s of audio`);
  try {
    return ((await stat(path)).size * 8) / durationSeconds;
  } catch (error) {
    throw new InputError(path, describeFsError(error, 'read'));
  }
}
