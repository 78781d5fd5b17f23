/**
 * The LibriTTS directory layout, shared by the loader (reading) and the corpus
 * recipes (writing), so that whatever we build reads back like the real thing:
 *
 *   ROOT/SPEAKERS.txt
 *   ROOT/<subset>/<speaker>/<chapter>/<speaker>_<chapter>_<para>_<sentence>.wav
 *                                    .../<utterance>.normalized.txt
 *                                    .../<utterance>.original.txt
 *
 * SPEAKERS.txt lines look like `14   | F  | train-clean-360  | 25.03 | Kristin LeMoine`;
 * lines starting with ';' are comments (the first of them names the columns).
 */
import { join } from 'node:path';

/** The subsets of the published corpus (any other directory name is accepted too). */
export const LIBRITTS_SUBSETS = [
  'train-clean-100',
  'train-clean-360',
  'train-other-500',
  'dev-clean',
  'dev-other',
  'test-clean',
  'test-other',
] as const;

export interface SpeakerInfo {
  id: string;
  /** 'F', 'M' or whatever the file says. */
  sex: string;
  subset: string;
  minutes: number | null;
  name: string;
}

export function utterancePaths(
  root: string,
  subset: string,
  speaker: string,
  chapter: string,
  utterance: string,
): { wav: string; normalized: string; original: string; directory: string } {
  const directory = join(root, subset, speaker, chapter);
  return {
    directory,
    wav: join(directory, `${utterance}.wav`),
    normalized: join(directory, `${utterance}.normalized.txt`),
    original: join(directory, `${utterance}.original.txt`),
  };
}

/** Parse SPEAKERS.txt; malformed lines are returned as problems rather than thrown (the file is advisory). */
export function parseSpeakersFile(text: string): { speakers: Map<string, SpeakerInfo>; problems: string[] } {
  const speakers = new Map<string, SpeakerInfo>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith(';')) return;
    const fields = line.split('|').map((field) => field.trim());
    if (fields.length < 4 || fields[0] === '') {
      problems.push(`line ${index + 1}: expected "ID | SEX | SUBSET | MINUTES | NAME"`);
      return;
    }
    const minutes = Number(fields[3]);
    speakers.set(fields[0], {
      id: fields[0],
      sex: fields[1],
      subset: fields[2],
      minutes: fields[3] !== '' && Number.isFinite(minutes) ? minutes : null,
      name: fields.slice(4).join('|'),
    });
  });
  return { speakers, problems };
}

export function formatSpeakersFile(speakers: readonly SpeakerInfo[], comment: readonly string[] = []): string {
  const lines = comment.map((line) => `; ${line}`);
  lines.push(';ID  |SEX |SUBSET           |MINUTES|NAME');
  for (const speaker of speakers) {
    const minutes = speaker.minutes === null ? '' : speaker.minutes.toFixed(2);
    lines.push(`${speaker.id.padEnd(5)}| ${speaker.sex.padEnd(3)}| ${speaker.subset.padEnd(17)}| ${minutes.padStart(6)}| ${speaker.name}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * SPEAKERS.txt for a root that several recipes write into (train-synth and
 * train-recorded share one): `subset`'s entries are replaced by `speakers`,
 * every other subset's entries and comment lines are kept, and `comment` is
 * added unless the file already says it.
 */
export function mergeSpeakersFile(existing: string | null, subset: string, speakers: readonly SpeakerInfo[], comment: readonly string[] = []): string {
  const replaced = new Set(speakers.map((speaker) => speaker.id));
  const kept: SpeakerInfo[] = [];
  const comments: string[] = [];
  if (existing !== null) {
    for (const speaker of parseSpeakersFile(existing).speakers.values()) {
      if (speaker.subset !== subset && !replaced.has(speaker.id)) kept.push(speaker);
    }
    for (const line of existing.split(/\r?\n/)) {
      const text = line.trimStart();
      // The column header is written again by formatSpeakersFile.
      if (text.startsWith(';') && !text.startsWith(';ID')) comments.push(text.replace(/^;\s?/, ''));
    }
  }
  for (const line of comment) if (!comments.includes(line)) comments.push(line);
  return formatSpeakersFile([...kept, ...speakers], comments);
}
