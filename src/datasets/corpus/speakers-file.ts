/**
 * The recipes' one way to write SPEAKERS.txt: several subsets share a corpus
 * root (train-synth, train-recorded), so each recipe replaces its own
 * subset's entries and keeps the others'.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { errorCode, writeFileAtomic } from '../../files.js';
import { mergeSpeakersFile, type SpeakerInfo } from '../libritts-layout.js';

export async function updateSpeakersFile(root: string, subset: string, speakers: readonly SpeakerInfo[], comment: readonly string[]): Promise<void> {
  const path = join(root, 'SPEAKERS.txt');
  let existing: string | null = null;
  try {
    existing = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  // Read just before the write: only two recipes finishing at the same moment can lose each other's lines.
  await writeFileAtomic(path, mergeSpeakersFile(existing, subset, speakers, comment), true);
}
