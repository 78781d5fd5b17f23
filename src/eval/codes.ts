/**
 * What the token streams say about a codec: how much of the codebook it uses
 * (utilisation, the SimVQ paper's headline), how evenly (perplexity), and how
 * many bits per second its written token files really cost. The counting is
 * the quantizers' own (src/quantizers/usage.ts), over every stream of a set.
 */
import { stat } from 'node:fs/promises';

import { InputError } from '../errors.js';
import { describeFsError } from '../files.js';
import { countCodeIds, usageFromCounts, type CodeUsage } from '../quantizers/usage.js';

/** Code usage over a whole set of token streams (utilisation is a set-level figure), with the counts for plots. */
export function setCodeUsage(streams: Iterable<ArrayLike<number>>, codebookSize: number): CodeUsage & { counts: Float64Array } {
  if (!(Number.isInteger(codebookSize) && codebookSize > 0)) {
    throw new InputError('codebook size', `must be a positive integer, got ${codebookSize}`);
  }
  const counts = new Float64Array(codebookSize);
  for (const stream of streams) countCodeIds(stream, counts);
  return { ...usageFromCounts(counts), counts };
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
