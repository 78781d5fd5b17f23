/**
 * `simvq-audio corpus recorded`: real recorded speech for training, taken from
 * the voice acting of the game Fish Fillets NG as Debian ships it
 * (fillets-ng-data-cs: Czech, fillets-ng-data-nl: Dutch; Ogg Vorbis, 22,050 Hz
 * mono), written in LibriTTS layout as subset `train-recorded`.
 *
 * The game keeps its spoken lines at sound/<level>/<language>/<name>.ogg (a few
 * levels are share/<group>), one line a file, named <level prefix>-<speaker
 * code>-<word> (let-m-divna.ogg: m, the small fish). Not every name follows
 * that pattern, so the speaker comes from two places: the level's dialog
 * script (in fillets-ng-data) says which lines the two fish speak, the two
 * actors with most lines, whatever the file is called; every other line keeps
 * the code its name gives. One speaker id per (language, code), from 7000 up.
 *
 * Each clip is decoded and resampled by sox (`rate -h`), peak-normalised to
 * -1 dBFS only when it would otherwise clip in 16 bits, and written as 16-bit
 * mono WAV; nothing else is done to the audio. Clips under 0.5 s are skipped,
 * and a file byte-identical to an earlier one (a line reused in two levels) is
 * used once. Every WAV is written atomically, so a rerun skips the finished
 * ones. Nothing is taken from the dev set's packages (corpus devset).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { readWav, writeWav } from '../../audio/index.js';
import { InputError } from '../../errors.js';
import { pathExists, writeFileAtomic } from '../../files.js';
import { utterancePaths, type SpeakerInfo } from '../libritts-layout.js';
import { probeWav } from '../probe.js';
import { loadLibriTTS } from '../sources.js';
import { runChecked, runProcess } from './process.js';
import { round3, throttledProgress } from './progress.js';
import { updateSpeakersFile } from './speakers-file.js';
import { ensureRequirements, type Requirement } from './tools.js';

export const RECORDED_SUBSET = 'train-recorded';
export const FILLETS_ROOT = '/usr/share/games/fillets-ng';
/** Holds the dialog scripts (and the game's graphics and music). */
export const FILLETS_SCRIPTS_PACKAGE = 'fillets-ng-data';
export const MIN_CLIP_SECONDS = 0.5;

export interface RecordedLanguage {
  code: string;
  name: string;
  debianPackage: string;
  /** Speaker ids of this language are idBase + 0..99. */
  idBase: number;
}

/** The languages Debian ships spoken dialogue in. */
export const RECORDED_LANGUAGES: readonly RecordedLanguage[] = [
  { code: 'cs', name: 'Czech', debianPackage: 'fillets-ng-data-cs', idBase: 7000 },
  { code: 'nl', name: 'Dutch', debianPackage: 'fillets-ng-data-nl', idBase: 7100 },
];

/**
 * The speaker codes of the game's 1.0.1 data, in id order (cs: m is 7000, v
 * 7001, ...). A code a later package adds gets idBase + 50 up, in sorted order,
 * so that no known speaker's id moves.
 */
export const KNOWN_SPEAKER_CODES: readonly string[] = [
  'm', 'v', '1', '2', '3', '4', '5', '6', '7', '8', 'b', 'b1', 'b2', 'c', 'hs', 'k', 'kd', 'l', 'leb', 'o', 'p', 'pap', 'r', 's', 'x',
];
const EXTRA_CODES_OFFSET = 50;

/**
 * The two fish. The sex is the characters': the Czech script gives the small
 * fish feminine verb forms ("Netušila jsem") and the big fish masculine ones
 * ("Myslel jsem"). The other codes are minor characters, not named here.
 */
const MAIN_CHARACTERS: Record<string, { role: string; sex: string; font: string }> = {
  m: { role: 'small fish', sex: 'F', font: 'font_small' },
  v: { role: 'big fish', sex: 'M', font: 'font_big' },
};

/** Levels whose two-part names put the speaker code last (agenti-m.ogg); elsewhere it comes first (m-bude.ogg). */
const CODE_LAST_LEVELS: ReadonlySet<string> = new Set(['fdto']);

/**
 * The speaker code a clip's name gives: the second dash-separated field
 * (let-m-divna: m; dr-1-achjo: 1); in a two-part name the first field, or
 * the last in the levels that write it so; a name without dashes may use
 * underscores (bar_v_fotka: v); null when the name has no code (help1).
 */
export function speakerCodeFromName(level: string, name: string): string | null {
  let fields = name.split('-');
  if (fields.length === 1 && name.includes('_')) fields = name.split('_');
  if (fields.length >= 3) return fields[1] === '' ? null : fields[1];
  if (fields.length === 2) {
    const code = CODE_LAST_LEVELS.has(level) ? fields[1] : fields[0];
    return code === '' ? null : code;
  }
  return null;
}

/**
 * Which lines each font speaks in a dialog script: `dialogId("let-m-divna",
 * "font_small", "What kind of strange ship is that?")`. Lines with an empty
 * font (sounds with no subtitle) are left out.
 */
export function parseDialogFonts(script: string): Map<string, Set<string>> {
  const fonts = new Map<string, Set<string>>();
  for (const match of script.matchAll(/dialogId\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*"([^"]*)"/g)) {
    if (match[2] === '') continue;
    const set = fonts.get(match[1]) ?? new Set<string>();
    set.add(match[2]);
    fonts.set(match[1], set);
  }
  return fonts;
}

/** The speaker code of a clip: m or v where the script gives the line to one fish alone, else the code in its name (x if none). */
export function speakerCode(level: string, name: string, fonts: ReadonlySet<string> | undefined): string {
  if (fonts !== undefined && fonts.size === 1) {
    const [font] = fonts;
    for (const [code, character] of Object.entries(MAIN_CHARACTERS)) if (character.font === font) return code;
  }
  return speakerCodeFromName(level, name) ?? 'x';
}

/** Codes a language uses beyond KNOWN_SPEAKER_CODES, in the order their ids are given. */
export function extraSpeakerCodes(codes: Iterable<string>): string[] {
  return [...new Set(codes)].filter((code) => !KNOWN_SPEAKER_CODES.includes(code)).sort();
}

export function speakerIdFor(language: RecordedLanguage, code: string, extraCodes: readonly string[]): string {
  const known = KNOWN_SPEAKER_CODES.indexOf(code);
  if (known >= 0) return String(language.idBase + known);
  const extra = extraCodes.indexOf(code);
  if (extra < 0 || EXTRA_CODES_OFFSET + extra > 99) {
    throw new Error(`speaker code "${code}" (${language.code}) has no id: extend KNOWN_SPEAKER_CODES`);
  }
  return String(language.idBase + EXTRA_CODES_OFFSET + extra);
}

/** A level's chapter id: a 6-digit hash of its name (FNV-1a), so it stays put whatever other levels there are. */
export function chapterForLevel(level: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(level, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return String(100000 + (hash % 900000));
}

export interface RecordedClip {
  language: RecordedLanguage;
  /** 'airplane', or 'share/border' for the shared sounds. */
  level: string;
  /** File name without .ogg. */
  name: string;
  path: string;
  code: string;
  speaker: string;
  chapter: string;
  utterance: string;
  /** The earlier clip with the same bytes, if any; such a clip is not converted. */
  duplicateOf: RecordedClip | null;
}

/** Every .ogg under gameRoot/sound/ in a directory named like the language, by level and name. */
async function findLanguageFiles(gameRoot: string, language: RecordedLanguage): Promise<{ level: string; names: string[] }[]> {
  const sound = join(gameRoot, 'sound');
  const found: { level: string; names: string[] }[] = [];
  const visit = async (directory: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(directory, entry.name);
      if (entry.name === language.code) {
        const names = (await readdir(path, { withFileTypes: true }))
          .filter((file) => file.isFile() && file.name.endsWith('.ogg'))
          .map((file) => file.name.slice(0, -'.ogg'.length))
          .sort();
        if (names.length > 0) found.push({ level: relative(sound, directory), names });
      } else {
        await visit(path);
      }
    }
  };
  await visit(sound);
  return found.sort((a, b) => (a.level < b.level ? -1 : a.level > b.level ? 1 : 0));
}

/** The dialog fonts of every line of a level, from all the scripts in its script directory. */
async function levelFonts(gameRoot: string, level: string, cache: Map<string, Map<string, Set<string>>>): Promise<Map<string, Set<string>>> {
  const directory = join(gameRoot, 'script', level.split('/')[0]);
  const cached = cache.get(directory);
  if (cached !== undefined) return cached;
  const fonts = new Map<string, Set<string>>();
  let files: string[] = [];
  try {
    files = (await readdir(directory)).filter((name) => name.endsWith('.lua')).sort();
  } catch {
    // A level without scripts: every clip keeps the code of its name.
  }
  for (const file of files) {
    for (const [id, set] of parseDialogFonts(await readFile(join(directory, file), 'utf8'))) {
      const all = fonts.get(id) ?? new Set<string>();
      for (const font of set) all.add(font);
      fonts.set(id, all);
    }
  }
  cache.set(directory, fonts);
  return fonts;
}

/**
 * Every clip of the languages, with its speaker, chapter and utterance id. The
 * utterance number is the clip's place in its level directory, so ids do not
 * depend on which levels a run selects.
 */
export async function listRecordedClips(gameRoot: string, languages: readonly RecordedLanguage[]): Promise<RecordedClip[]> {
  const fontCache = new Map<string, Map<string, Set<string>>>();
  const clips: RecordedClip[] = [];
  for (const language of languages) {
    const levels = await findLanguageFiles(gameRoot, language);
    const chapters = new Map<string, string>();
    for (const { level } of levels) {
      const chapter = chapterForLevel(level);
      const other = chapters.get(chapter);
      if (other !== undefined) throw new Error(`levels ${other} and ${level} hash to the same chapter ${chapter}`);
      chapters.set(chapter, level);
    }
    const planned: { level: string; name: string; code: string; index: number }[] = [];
    for (const { level, names } of levels) {
      const fonts = await levelFonts(gameRoot, level, fontCache);
      names.forEach((name, index) => planned.push({ level, name, code: speakerCode(level, name, fonts.get(name)), index: index + 1 }));
    }
    const extraCodes = extraSpeakerCodes(planned.map((clip) => clip.code));
    for (const { level, name, code, index } of planned) {
      const speaker = speakerIdFor(language, code, extraCodes);
      const chapter = chapterForLevel(level);
      clips.push({
        language,
        level,
        name,
        path: join(gameRoot, 'sound', level, language.code, `${name}.ogg`),
        code,
        speaker,
        chapter,
        utterance: `${speaker}_${chapter}_${String(index).padStart(6, '0')}_000000`,
        duplicateOf: null,
      });
    }
  }
  return clips;
}

/** Marks every clip whose bytes equal an earlier clip's (in list order). */
async function markDuplicates(clips: RecordedClip[]): Promise<void> {
  const first = new Map<string, RecordedClip>();
  for (const clip of clips) {
    const digest = createHash('sha1').update(await readFile(clip.path)).digest('hex');
    const earlier = first.get(digest);
    if (earlier === undefined) first.set(digest, clip);
    else clip.duplicateOf = earlier;
  }
}

export function selectLanguages(codes: readonly string[]): RecordedLanguage[] {
  const unknown = codes.filter((code) => !RECORDED_LANGUAGES.some((language) => language.code === code));
  if (unknown.includes('en')) {
    throw new InputError(
      '--languages',
      "en is not spoken dialogue: fillets-ng-data's en/ sounds are the game's language-independent effects (growls, clicks, music, a few mock Russian and German lines); Debian ships the dialogue spoken in cs and nl only",
    );
  }
  if (unknown.length > 0 || codes.length === 0) {
    throw new InputError('--languages', `unknown language ${unknown.join(', ') || '(none given)'}; use ${RECORDED_LANGUAGES.map((language) => language.code).join(', ')}`);
  }
  return RECORDED_LANGUAGES.filter((language) => codes.includes(language.code));
}

export function recordedRequirements(gameRoot: string, languages: readonly RecordedLanguage[]): Requirement[] {
  return [
    { what: 'sox', debianPackage: 'sox' },
    { what: 'Ogg Vorbis decoding in sox', debianPackage: 'libsox-fmt-base', isPresent: soxReadsVorbis },
    { what: join(gameRoot, 'script'), debianPackage: FILLETS_SCRIPTS_PACKAGE },
    // airplane is the first level; every language package has it.
    ...languages.map((language) => ({ what: join(gameRoot, 'sound', 'airplane', language.code), debianPackage: language.debianPackage })),
  ];
}

async function soxReadsVorbis(): Promise<boolean> {
  try {
    const help = await runProcess('sox', ['-h']);
    const formats = /AUDIO FILE FORMATS:(.*)/.exec(help.stdout)?.[1] ?? '';
    return formats.split(/\s+/).includes('vorbis');
  } catch {
    return false;
  }
}

export interface RecordedBuildOptions {
  out: string;
  /** Language codes (cs, nl). */
  languages: readonly string[];
  /** Only these levels (default: all); ids are the same as in a full build. */
  levels?: readonly string[];
  /** sox processes at once. */
  jobs: number;
  sampleRate: number;
  /** Install missing Debian packages with apt-get (needs root). */
  install: boolean;
  log: (line: string) => void;
  /** Seconds between progress lines. */
  progressSeconds?: number;
  /** Where the game's data lies (tests point it at a small copy). */
  gameRoot?: string;
}

export interface RecordedReport {
  out: string;
  subset: string;
  /** What the subset holds on disk after this run. */
  hours: number;
  speakers: number;
  utterances: number;
  /** Clips converted by this run (the rest were already there). */
  converted: number;
  /** Clips left out for being shorter than MIN_CLIP_SECONDS. */
  too_short: number;
  /** Clips left out for repeating an earlier clip's bytes. */
  duplicates: number;
  /** Clips of this run scaled down to -1 dBFS because they would have clipped. */
  normalized: number;
  failed: number;
  seconds: number;
  sample_rate: number;
  languages: string[];
}

function validateOptions(options: RecordedBuildOptions): void {
  if (!(Number.isInteger(options.jobs) && options.jobs >= 1 && options.jobs <= 64)) throw new InputError('--jobs', `must be a whole number from 1 to 64, got ${options.jobs}`);
  if (!(Number.isInteger(options.sampleRate) && options.sampleRate >= 8000 && options.sampleRate <= 48000)) {
    throw new InputError('--rate', `must be a whole number of Hz from 8000 to 48000, got ${options.sampleRate}`);
  }
}

export async function buildRecordedSpeech(options: RecordedBuildOptions): Promise<RecordedReport> {
  validateOptions(options);
  const languages = selectLanguages(options.languages);
  const gameRoot = options.gameRoot ?? FILLETS_ROOT;
  await ensureRequirements(recordedRequirements(gameRoot, languages), { install: options.install, log: options.log, source: 'corpus recorded' });
  const started = Date.now();

  // Every installed language is listed, so that SPEAKERS.txt and the sources keep what an earlier run with other --languages made.
  const installed: RecordedLanguage[] = [];
  for (const language of RECORDED_LANGUAGES) if (await pathExists(join(gameRoot, 'sound', 'airplane', language.code))) installed.push(language);
  const clips = await listRecordedClips(gameRoot, installed);
  let selected = clips.filter((clip) => languages.includes(clip.language));
  // Over all levels, not only the selected ones, so that a clip counts as the duplicate whichever levels a run takes.
  await markDuplicates(selected);
  if (options.levels !== undefined && options.levels.length > 0) {
    const known = new Set(selected.map((clip) => clip.level));
    const unknown = options.levels.filter((level) => !known.has(level));
    if (unknown.length > 0) throw new InputError('--levels', `unknown level ${unknown.join(', ')}; the levels are ${[...known].join(', ')}`);
    selected = selected.filter((clip) => options.levels?.includes(clip.level));
  }

  const { out } = options;
  const work = join(out, '.work-recorded');
  try {
    await mkdir(join(out, RECORDED_SUBSET), { recursive: true });
    // Leftovers of an interrupted run are temporaries only: finished WAVs were renamed into place.
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
  } catch (error) {
    throw new InputError(out, `cannot create the output directory (${error instanceof Error ? error.message : String(error)})`);
  }

  const versions = new Map<string, string>();
  for (const pkg of [FILLETS_SCRIPTS_PACKAGE, ...languages.map((language) => language.debianPackage)]) {
    const result = await runProcess('dpkg-query', ['-W', '-f', '${Version}', pkg]).catch(() => null);
    versions.set(pkg, result !== null && result.code === 0 && result.stdout.trim() !== '' ? result.stdout.trim() : 'not installed');
  }

  const todo = selected.filter((clip) => clip.duplicateOf === null);
  const duplicates = selected.length - todo.length;
  let converted = 0;
  let convertedSeconds = 0;
  let tooShort = 0;
  let normalized = 0;
  let failed = 0;
  let done = 0;
  let next = 0;
  const progress = throttledProgress(options.progressSeconds ?? 60, options.log, () => {
    const elapsed = (Date.now() - started) / 1000;
    return `recorded: ${done} of ${todo.length} clips (${converted} converted by this run, ${(convertedSeconds / 3600).toFixed(2)} h at ${(convertedSeconds / Math.max(elapsed, 1e-3)).toFixed(1)} audio-s/s; ${tooShort} too short, ${failed} failed)`;
  });

  const job = async (jobIndex: number): Promise<void> => {
    const jobWork = join(work, `job${jobIndex}`);
    await mkdir(jobWork, { recursive: true });
    while (next < todo.length) {
      const clip = todo[next++];
      const paths = utterancePaths(out, RECORDED_SUBSET, clip.speaker, clip.chapter, clip.utterance);
      if (await isFinished(paths.wav, options.sampleRate, options.log)) {
        done++;
        continue;
      }
      try {
        const result = await convertClip(clip.path, paths, jobWork, options.sampleRate);
        if (result.tooShort) {
          tooShort++;
        } else {
          converted++;
          convertedSeconds += result.seconds;
          if (result.normalized) normalized++;
        }
      } catch (error) {
        failed++;
        options.log(`recorded: ${clip.path}: ${error instanceof Error ? error.message : String(error)}; skipped`);
        if (failed >= 20 && failed > converted) {
          throw new Error(`${failed} of the first ${failed + converted} clips failed; stopping (see the lines above)`);
        }
      }
      done++;
      progress(false);
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, (_, jobIndex) => job(jobIndex)));
  await rm(work, { recursive: true, force: true });
  progress(true);

  // The figures are what the subset holds on disk (earlier runs included), not this run's tally.
  const onDisk = await loadLibriTTS(out, [RECORDED_SUBSET], `libritts:${out}?subset=${RECORDED_SUBSET}`);
  for (const bad of onDisk.badFiles) options.log(`recorded: ${bad.path}: ${bad.problem}`);
  const heldSeconds = new Map<string, number>();
  const held = new Map<string, number>();
  for (const utterance of onDisk.utterances) {
    if (utterance.speaker !== null) heldSeconds.set(utterance.speaker, (heldSeconds.get(utterance.speaker) ?? 0) + utterance.durationSeconds);
    held.set(utterance.id, utterance.durationSeconds);
  }
  const speakers = describeSpeakers(clips, heldSeconds);
  await updateSpeakersFile(out, RECORDED_SUBSET, speakers, [
    'simvq-audio corpus recorded: Fish Fillets NG voice acting (Debian fillets-ng-data-cs, -nl; GPL-2), speaker = game character code (see recorded.json)',
  ]);
  await writeSources(out, clips, held, versions);

  const totalSeconds = [...heldSeconds.values()].reduce((sum, value) => sum + value, 0);
  const seconds = (Date.now() - started) / 1000;
  const report: RecordedReport = {
    out,
    subset: RECORDED_SUBSET,
    hours: round3(totalSeconds / 3600),
    speakers: speakers.length,
    utterances: onDisk.utterances.length,
    converted,
    too_short: tooShort,
    duplicates,
    normalized,
    failed,
    seconds: round3(seconds),
    sample_rate: options.sampleRate,
    languages: languages.map((language) => language.code),
  };
  const recipe = {
    ...report,
    packages: Object.fromEntries(versions),
    licence: 'GPL-2 (the fillets-ng-data* copyright files: GNU General Public License, version 2 dated June, 1991)',
    source: `${gameRoot}/sound/<level>/<language>/*.ogg; speaker codes from the file names, the two fish from the dialog scripts in ${gameRoot}/script`,
    processing: `sox: remix to mono, rate -h ${options.sampleRate} (with 6 dB of headroom, given back in float); peak-normalised to -1 dBFS only where 16-bit PCM would clip; clips under ${MIN_CLIP_SECONDS} s and byte-identical repeats left out`,
    speakers_used: speakers.map((speaker) => ({ id: speaker.id, sex: speaker.sex, minutes: speaker.minutes === null ? null : round3(speaker.minutes), name: speaker.name })),
  };
  await writeFileAtomic(join(out, 'recorded.json'), JSON.stringify(recipe, null, 2) + '\n', true);
  return report;
}

/** A WAV already in place at the wanted rate, and readable, counts as done; anything else is made again. */
async function isFinished(wav: string, sampleRate: number, log: (line: string) => void): Promise<boolean> {
  if (!(await pathExists(wav))) return false;
  try {
    const header = await probeWav(wav);
    if (header.sampleRate === sampleRate) return true;
    log(`recorded: ${wav} is at ${header.sampleRate} Hz, not ${sampleRate}; making it again`);
  } catch (error) {
    log(`recorded: ${wav}: ${error instanceof Error ? error.message : String(error)}; making it again`);
  }
  await rm(wav, { force: true });
  return false;
}

const RESAMPLER_HEADROOM = 0.5;

/** Decode, resample and write one clip; a clip too short is not written. */
async function convertClip(
  source: string,
  paths: ReturnType<typeof utterancePaths>,
  work: string,
  sampleRate: number,
): Promise<{ tooShort: boolean; seconds: number; normalized: boolean }> {
  const decoded = join(work, 'decoded.wav');
  await rm(decoded, { force: true });
  // sox clips at full scale inside its effects chain, so the resampler gets 6 dB of headroom, given back
  // here in float: a peak the resampler pushed over full scale is then seen (and normalised), not clipped.
  await runChecked('sox', [source, '-b', '32', '-e', 'floating-point', decoded, 'remix', '-', 'vol', String(RESAMPLER_HEADROOM), 'rate', '-h', String(sampleRate)], {
    timeoutMs: 120_000,
  });
  let samples: Float32Array;
  try {
    samples = (await readWav(decoded)).samples;
  } catch (error) {
    // Two of the Dutch files are Ogg streams without a single sample: as short as a clip can be.
    if (error instanceof InputError && error.problem.startsWith('no audio')) return { tooShort: true, seconds: 0, normalized: false };
    throw error;
  } finally {
    await rm(decoded, { force: true });
  }
  for (let i = 0; i < samples.length; i++) samples[i] /= RESAMPLER_HEADROOM;
  const seconds = samples.length / sampleRate;
  if (seconds < MIN_CLIP_SECONDS) return { tooShort: true, seconds, normalized: false };
  const normalized = normalizeIfClipping(samples);
  await mkdir(paths.directory, { recursive: true });
  await writeWav(paths.wav, samples, sampleRate, { format: 'pcm16', force: true });
  return { tooShort: false, seconds, normalized };
}

const MINUS_ONE_DBFS = Math.pow(10, -1 / 20);

/** Scales the samples to a -1 dBFS peak if 16-bit PCM (x * 32768, rounded) would clip them; true if it did. */
export function normalizeIfClipping(samples: Float32Array): boolean {
  let peak = 0;
  let clips = false;
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i];
    peak = Math.max(peak, Math.abs(value));
    if (value * 32768 >= 32767.5 || value * 32768 < -32768.5) clips = true;
  }
  if (!clips) return false;
  const gain = MINUS_ONE_DBFS / peak;
  for (let i = 0; i < samples.length; i++) samples[i] *= gain;
  return true;
}

function describeSpeakers(clips: readonly RecordedClip[], heldSeconds: ReadonlyMap<string, number>): SpeakerInfo[] {
  const bySpeaker = new Map<string, { language: RecordedLanguage; code: string; levels: Set<string> }>();
  for (const clip of clips) {
    const entry = bySpeaker.get(clip.speaker) ?? { language: clip.language, code: clip.code, levels: new Set<string>() };
    entry.levels.add(clip.level);
    bySpeaker.set(clip.speaker, entry);
  }
  return [...bySpeaker]
    .filter(([id]) => (heldSeconds.get(id) ?? 0) > 0)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([id, { language, code, levels }]) => {
      const main = MAIN_CHARACTERS[code];
      const levelList = [...levels];
      const where = levelList.length > 4 ? `${levelList.slice(0, 4).join(', ')}, ...` : levelList.join(', ');
      return {
        id,
        sex: main?.sex ?? '?',
        subset: RECORDED_SUBSET,
        minutes: (heldSeconds.get(id) ?? 0) / 60,
        name: `Fish Fillets NG, ${language.name}: ${main === undefined ? `speaker code ${code} (${where})` : `${main.role} (${code})`}`,
      };
    });
}

async function writeSources(out: string, clips: readonly RecordedClip[], held: ReadonlyMap<string, number>, versions: ReadonlyMap<string, string>): Promise<void> {
  const repeats = new Map<RecordedClip, string[]>();
  for (const clip of clips) {
    if (clip.duplicateOf !== null) repeats.set(clip.duplicateOf, [...(repeats.get(clip.duplicateOf) ?? []), clip.path]);
  }
  const rows = ['utterance\tspeaker\tspeaker_code\tlanguage\tlevel\tsource\tdebian_package\tversion\tseconds\tsame_bytes_as'];
  for (const clip of clips) {
    const seconds = held.get(clip.utterance);
    if (seconds === undefined) continue;
    const pkg = clip.language.debianPackage;
    rows.push(
      [clip.utterance, clip.speaker, clip.code, clip.language.code, clip.level, clip.path, pkg, versions.get(pkg) ?? 'unknown', seconds.toFixed(3), (repeats.get(clip) ?? []).join(',') || '-'].join('\t'),
    );
  }
  await writeFileAtomic(join(out, 'recorded-sources.tsv'), rows.join('\n') + '\n', true);
}
