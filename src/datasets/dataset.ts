/**
 * Opening a dataset from a data-spec string, and what is done with the list:
 * duration filters, speaker-disjoint splits, a summary.
 */
import { InputError } from '../errors.js';
import { mulberry32 } from '../random.js';
import type { SpeakerInfo } from './libritts-layout.js';
import { loadFolder, loadLibriTTS, loadManifest } from './sources.js';
import { parseDataSpec, type DataSpec } from './spec.js';
import type { BadFile, Utterance } from './utterance.js';

export interface Dataset {
  spec: DataSpec;
  utterances: Utterance[];
  /** Files found but not usable (their reason is one line each). */
  badFiles: BadFile[];
  speakers: Map<string, SpeakerInfo>;
}

export interface LoadDatasetOptions {
  /** Keep utterances of at least this many seconds. */
  minSeconds?: number;
  /** Keep utterances of at most this many seconds. */
  maxSeconds?: number;
  /** Called once per bad file found while listing. */
  log?: (line: string) => void;
}

/**
 * List a dataset. Throws InputError for a bad spec, a missing path, an unknown
 * subset, a malformed manifest, or a dataset with no usable audio; unusable
 * files are returned in badFiles (and logged) instead.
 */
export async function loadDataset(spec: string | DataSpec, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const parsed = typeof spec === 'string' ? parseDataSpec(spec) : spec;
  const listing =
    parsed.kind === 'libritts'
      ? await loadLibriTTS(parsed.root, parsed.subsets, parsed.text)
      : parsed.kind === 'dir'
        ? await loadFolder(parsed.root, parsed.text)
        : await loadManifest(parsed.path, parsed.format, parsed.text);
  for (const bad of listing.badFiles) options.log?.(`${bad.path}: ${bad.problem}; skipped`);
  if (listing.utterances.length === 0) {
    const why = listing.badFiles.length > 0 ? ` (${listing.badFiles.length} unusable file${listing.badFiles.length === 1 ? '' : 's'})` : '';
    throw new InputError(parsed.text, `holds no usable WAV audio${why}`);
  }
  const utterances = filterByDuration(listing.utterances, options);
  if (utterances.length === 0) {
    throw new InputError(parsed.text, `no utterance lasts between ${options.minSeconds ?? 0} and ${options.maxSeconds ?? Infinity} s`);
  }
  return { spec: parsed, utterances, badFiles: listing.badFiles, speakers: listing.speakers };
}

export function filterByDuration(utterances: readonly Utterance[], limits: { minSeconds?: number; maxSeconds?: number }): Utterance[] {
  const min = limits.minSeconds ?? 0;
  const max = limits.maxSeconds ?? Infinity;
  if (!(min >= 0) || !(max > 0) || min > max) {
    throw new InputError('duration filter', `needs 0 <= min <= max, got min ${min} and max ${max}`);
  }
  return utterances.filter((utterance) => utterance.durationSeconds >= min && utterance.durationSeconds <= max);
}

export interface SpeakerSplit {
  train: Utterance[];
  valid: Utterance[];
  test: Utterance[];
}

/**
 * Split by speaker, so no voice is heard in two parts: speakers are shuffled
 * (seeded) and dealt into valid, then test, until each holds its fraction of
 * the audio; the rest is train. Utterances without a speaker count as one
 * speaker each. A part asked for a non-zero share gets at least one speaker
 * while speakers remain for train.
 */
export function speakerDisjointSplit(
  utterances: readonly Utterance[],
  options: { valid: number; test: number; seed: number },
): SpeakerSplit {
  const { valid, test, seed } = options;
  if (!(valid >= 0 && test >= 0 && valid + test < 1)) {
    throw new InputError('split', `valid and test fractions must be >= 0 and sum to less than 1, got ${valid} and ${test}`);
  }
  const bySpeaker = new Map<string, Utterance[]>();
  for (const utterance of utterances) {
    const key = utterance.speaker ?? `\u0000${utterance.id}`;
    const list = bySpeaker.get(key);
    if (list === undefined) bySpeaker.set(key, [utterance]);
    else list.push(utterance);
  }
  const speakers = [...bySpeaker.keys()].sort();
  const random = mulberry32(seed);
  for (let i = speakers.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [speakers[i], speakers[j]] = [speakers[j], speakers[i]];
  }
  const seconds = (key: string): number => bySpeaker.get(key)!.reduce((sum, utterance) => sum + utterance.durationSeconds, 0);
  const total = speakers.reduce((sum, key) => sum + seconds(key), 0);
  const split: SpeakerSplit = { train: [], valid: [], test: [] };
  let cursor = 0;
  for (const [part, fraction] of [['valid', valid], ['test', test]] as const) {
    let taken = 0;
    while (fraction > 0 && cursor < speakers.length - 1 && (taken === 0 || taken < fraction * total)) {
      const key = speakers[cursor++];
      taken += seconds(key);
      split[part].push(...bySpeaker.get(key)!);
    }
  }
  for (const key of speakers.slice(cursor)) split.train.push(...bySpeaker.get(key)!);
  return split;
}

export interface DatasetSummary {
  utterances: number;
  speakers: number;
  hours: number;
  /** Utterance count per sample rate (Hz); rates unknown without a probe are left out. */
  sample_rates: Record<string, number>;
  bad_files: number;
  /** With transcripts. */
  transcribed: number;
  min_seconds: number;
  max_seconds: number;
}

export function summarize(utterances: readonly Utterance[], badFiles: number): DatasetSummary {
  const speakers = new Set<string>();
  const rates: Record<string, number> = {};
  let seconds = 0;
  let transcribed = 0;
  let min = Infinity;
  let max = 0;
  for (const utterance of utterances) {
    if (utterance.speaker !== null) speakers.add(utterance.speaker);
    if (utterance.sampleRate !== null) rates[utterance.sampleRate] = (rates[utterance.sampleRate] ?? 0) + 1;
    if (utterance.text !== null) transcribed++;
    seconds += utterance.durationSeconds;
    min = Math.min(min, utterance.durationSeconds);
    max = Math.max(max, utterance.durationSeconds);
  }
  return {
    utterances: utterances.length,
    speakers: speakers.size,
    hours: Math.round((seconds / 3600) * 10000) / 10000,
    sample_rates: rates,
    bad_files: badFiles,
    transcribed,
    min_seconds: utterances.length === 0 ? 0 : Math.round(min * 1000) / 1000,
    max_seconds: Math.round(max * 1000) / 1000,
  };
}
