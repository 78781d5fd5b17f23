/**
 * What every loader produces: a list of utterances (one audio file each, with
 * whatever the source says about it) and the files it had to leave out.
 */

export interface Utterance {
  /** Unique within a dataset: the LibriTTS utterance name, the path below a folder, or the manifest's id. */
  id: string;
  /** Absolute path of the WAV file. */
  path: string;
  speaker: string | null;
  /** The normalized transcript (LibriTTS `.normalized.txt`, a manifest's text), if any. */
  text: string | null;
  /** The original transcript (LibriTTS `.original.txt`), if any. */
  originalText: string | null;
  /** Seconds of audio, from the manifest or the WAV header. */
  durationSeconds: number;
  /** Sample rate from the WAV header; null when a manifest gave the duration and the file was not probed. */
  sampleRate: number | null;
  /** LibriTTS subset and chapter; null for other sources. */
  subset: string | null;
  chapter: string | null;
}

/** A file a loader found but cannot use, with the one-line reason. */
export interface BadFile {
  path: string;
  problem: string;
}

/** Run `task` over `items` with at most `limit` running at once; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}
