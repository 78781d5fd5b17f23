/**
 * The three loaders: LibriTTS (its real layout), a folder of WAV files
 * (recursive), and JSONL / CSV manifests. Each returns the utterances it can
 * use and the files it cannot (missing, not a WAV, truncated header), never
 * stopping on one bad file; bad input about the dataset itself (a missing
 * root, an unknown subset, a malformed manifest line) is an InputError.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { parse as parseCsv } from 'csv-parse/sync';

import { InputError } from '../errors.js';
import { describeFsError, errorCode } from '../files.js';
import { parseSpeakersFile, type SpeakerInfo } from './libritts-layout.js';
import { probeWav } from './probe.js';
import { mapLimit, type BadFile, type Utterance } from './utterance.js';

export interface SourceListing {
  utterances: Utterance[];
  badFiles: BadFile[];
  /** LibriTTS SPEAKERS.txt entries (empty for other sources). */
  speakers: Map<string, SpeakerInfo>;
}

/** Files probed (header reads) at once. */
const PROBE_CONCURRENCY = 32;

/** Audio formats we recognise but do not read: listed as bad files with a hint rather than ignored. */
const OTHER_AUDIO = new Set(['.flac', '.mp3', '.ogg', '.opus', '.m4a', '.aac', '.aiff', '.aif', '.wma', '.sph']);

async function requireDirectory(path: string, spec: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new InputError(spec, errorCode(error) === 'ENOENT' ? `${path} does not exist` : `${path}: ${describeFsError(error, 'read')}`);
  }
  if (!info.isDirectory()) throw new InputError(spec, `${path} is not a directory`);
}

async function listDirectory(path: string): Promise<{ name: string; directory: boolean; file: boolean }[]> {
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((entry) => !entry.name.startsWith('.')) // temporaries of atomic writes, .work dirs, editor files
    .map((entry) => ({ name: entry.name, directory: entry.isDirectory(), file: entry.isFile() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function readTextIfPresent(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Fill in durations and rates from WAV headers; files whose header fails become bad files. */
async function probeAll(candidates: Utterance[], badFiles: BadFile[]): Promise<Utterance[]> {
  const probed = await mapLimit(candidates, PROBE_CONCURRENCY, async (utterance): Promise<Utterance | null> => {
    try {
      const header = await probeWav(utterance.path);
      return { ...utterance, durationSeconds: header.durationSeconds, sampleRate: header.sampleRate };
    } catch (error) {
      badFiles.push({ path: utterance.path, problem: error instanceof InputError ? error.problem : String(error) });
      return null;
    }
  });
  return probed.filter((utterance): utterance is Utterance => utterance !== null);
}

// ---------------------------------------------------------------------------
// LibriTTS

export async function loadLibriTTS(root: string, subsets: readonly string[] | null, spec: string): Promise<SourceListing> {
  await requireDirectory(root, spec);
  const available = (await listDirectory(root)).filter((entry) => entry.directory).map((entry) => entry.name);
  let chosen: string[];
  if (subsets === null) {
    chosen = available.filter((name) => !/^\d+$/.test(name));
    if (chosen.length === 0) {
      const hint = available.length > 0 ? `; it looks like a subset directory itself: use libritts:${dirname(root)}?subset=${basename(root)}` : '';
      throw new InputError(spec, `${root} holds no LibriTTS subset directories${hint}`);
    }
  } else {
    const unknown = subsets.filter((name) => !available.includes(name));
    if (unknown.length > 0) {
      throw new InputError(spec, `no subset ${unknown.join(', ')} under ${root} (it has: ${available.join(', ') || 'nothing'})`);
    }
    chosen = [...subsets];
  }

  const speakersText = await readTextIfPresent(join(root, 'SPEAKERS.txt'));
  const speakers = speakersText === null ? new Map<string, SpeakerInfo>() : parseSpeakersFile(speakersText).speakers;

  const badFiles: BadFile[] = [];
  const candidates: Utterance[] = [];
  for (const subset of chosen) {
    for (const speaker of (await listDirectory(join(root, subset))).filter((entry) => entry.directory)) {
      const speakerDir = join(root, subset, speaker.name);
      for (const chapter of (await listDirectory(speakerDir)).filter((entry) => entry.directory)) {
        const chapterDir = join(speakerDir, chapter.name);
        for (const file of await listDirectory(chapterDir)) {
          const extension = extname(file.name).toLowerCase();
          if (!file.file) continue;
          if (OTHER_AUDIO.has(extension)) {
            badFiles.push({ path: join(chapterDir, file.name), problem: `${extension.slice(1).toUpperCase()} is not read; convert it to WAV` });
          }
          if (extension !== '.wav') continue;
          candidates.push({
            id: file.name.slice(0, -extension.length),
            path: join(chapterDir, file.name),
            speaker: speaker.name,
            text: null,
            originalText: null,
            durationSeconds: 0,
            sampleRate: null,
            subset,
            chapter: chapter.name,
          });
        }
      }
    }
  }
  const utterances = await probeAll(candidates, badFiles);
  // Transcripts sit beside the audio; a missing one is allowed (text stays null).
  await mapLimit(utterances, PROBE_CONCURRENCY, async (utterance) => {
    const stem = utterance.path.slice(0, -'.wav'.length);
    utterance.text = await readTextIfPresent(`${stem}.normalized.txt`);
    utterance.originalText = await readTextIfPresent(`${stem}.original.txt`);
  });
  return { utterances, badFiles, speakers };
}

// ---------------------------------------------------------------------------
// A folder of WAV files

/**
 * Every WAV file below `root`. The speaker is the first directory below the
 * root (null for files directly in it); a transcript is read from a
 * `<name>.normalized.txt` or `<name>.txt` beside the file.
 */
export async function loadFolder(root: string, spec: string): Promise<SourceListing> {
  await requireDirectory(root, spec);
  const badFiles: BadFile[] = [];
  const candidates: Utterance[] = [];
  const walk = async (directory: string): Promise<void> => {
    for (const entry of await listDirectory(directory)) {
      const path = join(directory, entry.name);
      if (entry.directory) {
        await walk(path);
        continue;
      }
      const extension = extname(entry.name).toLowerCase();
      if (OTHER_AUDIO.has(extension)) badFiles.push({ path, problem: `${extension.slice(1).toUpperCase()} is not read; convert it to WAV` });
      if (extension !== '.wav') continue;
      const below = relative(root, path);
      const parts = below.split(sep);
      candidates.push({
        id: below.slice(0, -extension.length).split(sep).join('/'),
        path,
        speaker: parts.length > 1 ? parts[0] : null,
        text: null,
        originalText: null,
        durationSeconds: 0,
        sampleRate: null,
        subset: null,
        chapter: null,
      });
    }
  };
  await walk(root);
  const utterances = await probeAll(candidates, badFiles);
  await mapLimit(utterances, PROBE_CONCURRENCY, async (utterance) => {
    const stem = utterance.path.slice(0, -'.wav'.length);
    utterance.text = (await readTextIfPresent(`${stem}.normalized.txt`)) ?? (await readTextIfPresent(`${stem}.txt`));
  });
  return { utterances, badFiles, speakers: new Map() };
}

// ---------------------------------------------------------------------------
// Manifests

/** One manifest row before its file is looked at. */
interface ManifestRow {
  id: string | null;
  path: string;
  text: string | null;
  speaker: string | null;
  duration: number | null;
}

/**
 * A JSONL manifest (one object per line) or a CSV manifest with a header row.
 * Columns / keys: `path` (or `audio_filepath`, NeMo's name), optional `text`,
 * `speaker`, `duration` (seconds) and `id`. Relative paths are taken from the
 * manifest's directory. Rows without a duration have their WAV header probed.
 */
export async function loadManifest(path: string, format: 'jsonl' | 'csv', spec: string): Promise<SourceListing> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(spec, `${path}: ${describeFsError(error, 'read')}`);
  }
  const rows = format === 'jsonl' ? parseJsonlManifest(content, path) : parseCsvManifest(content, path);
  const base = dirname(path);
  const badFiles: BadFile[] = [];
  const toProbe: Utterance[] = [];
  const given: Utterance[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const audioPath = isAbsolute(row.path) ? row.path : resolve(base, row.path);
    const id = row.id ?? row.path.replace(/\.[^./\\]+$/, '');
    if (seen.has(id)) throw new InputError(path, `the id "${id}" appears twice`);
    seen.add(id);
    const utterance: Utterance = {
      id,
      path: audioPath,
      speaker: row.speaker,
      text: row.text,
      originalText: null,
      durationSeconds: row.duration ?? 0,
      sampleRate: null,
      subset: null,
      chapter: null,
    };
    if (extname(audioPath).toLowerCase() !== '.wav') {
      badFiles.push({ path: audioPath, problem: 'not a .wav file; only WAV audio is read' });
    } else if (row.duration === null) {
      toProbe.push(utterance);
    } else {
      given.push(utterance);
    }
  }
  const probed = await probeAll(toProbe, badFiles);
  // Keep the manifest's order.
  const order = new Map(rows.map((row, index) => [row.id ?? row.path.replace(/\.[^./\\]+$/, ''), index]));
  const utterances = [...given, ...probed].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return { utterances, badFiles, speakers: new Map() };
}

function parseJsonlManifest(content: string, path: string): ManifestRow[] {
  const rows: ManifestRow[] = [];
  content.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError(`${path}:${index + 1}`, `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError(`${path}:${index + 1}`, 'expected a JSON object per line');
    }
    rows.push(manifestRow(value as Record<string, unknown>, `${path}:${index + 1}`));
  });
  return rows;
}

function parseCsvManifest(content: string, path: string): ManifestRow[] {
  let records: Record<string, string>[];
  try {
    records = parseCsv(content, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (error) {
    throw new InputError(path, `not a valid CSV manifest (${error instanceof Error ? error.message : String(error)})`);
  }
  // Line numbers as an editor shows them: the header is line 1.
  return records.map((record, index) => manifestRow(record, `${path}:${index + 2}`));
}

function manifestRow(record: Record<string, unknown>, where: string): ManifestRow {
  const pathValue = record['path'] ?? record['audio_filepath'];
  if (typeof pathValue !== 'string' || pathValue === '') throw new InputError(where, 'no "path" (or "audio_filepath") given');
  const optionalString = (key: string): string | null => {
    const value = record[key];
    if (value === undefined || value === null || value === '') return null;
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    throw new InputError(where, `"${key}" must be a string`);
  };
  let duration: number | null = null;
  const durationValue = record['duration'];
  if (durationValue !== undefined && durationValue !== null && durationValue !== '') {
    duration = typeof durationValue === 'number' ? durationValue : typeof durationValue === 'string' ? Number(durationValue) : NaN;
    if (!(Number.isFinite(duration) && duration > 0)) throw new InputError(where, `"duration" must be a positive number of seconds, got ${JSON.stringify(durationValue)}`);
  }
  return { id: optionalString('id'), path: pathValue, text: optionalString('text'), speaker: optionalString('speaker'), duration };
}
