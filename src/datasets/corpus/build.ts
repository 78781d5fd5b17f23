/**
 * `simvq-audio corpus build`: a multi-speaker English speech corpus made offline
 * from Debian's synthesisers, written in LibriTTS layout.
 *
 * The build is a fixed plan (from --seed): item i is spoken by voice i mod V and
 * reads verse order[i mod N], with its own seeded rate / pitch jitter and sox
 * augmentation (small speed change, EQ, treble tilt, sometimes mild room
 * reverb), then low-level white noise added here. Items are taken in plan order
 * until the finished audio reaches --hours (the items in flight then finish, so
 * a build overshoots by at most one utterance per job). Because every file is written
 * atomically (text first, WAV last) and an item's parameters depend only on the
 * seed and its index, a stopped build resumes where it was: finished WAVs are
 * counted and skipped, and the rest comes out as it would have.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { readWav, writeWav } from '../../audio/index.js';
import { InputError } from '../../errors.js';
import { pathExists, writeFileAtomic } from '../../files.js';
import { mulberry32 } from '../../random.js';
import { utterancePaths, type SpeakerInfo } from '../libritts-layout.js';
import { probeWav } from '../probe.js';
import { loadLibriTTS } from '../sources.js';
import { runChecked } from './process.js';
import { round3, throttledProgress } from './progress.js';
import { updateSpeakersFile } from './speakers-file.js';
import { loadKjvVerses, TEXT_SOURCE, type Sentence } from './text.js';
import { ensureRequirements, type Requirement } from './tools.js';
import { packagesFor, voiceLabel, VOICES, type Voice } from './voices.js';

export interface CorpusBuildOptions {
  out: string;
  /** Target hours of finished audio (the build stops starting new utterances once reached). */
  hours: number;
  /** Synthesis processes at once. */
  jobs: number;
  sampleRate: number;
  seed: number;
  /** Speaker ids or engine names to use (default: every voice). */
  voices?: readonly string[];
  subset: string;
  /** Install missing Debian packages with apt-get (needs root). */
  install: boolean;
  log: (line: string) => void;
  /** Seconds between progress lines. */
  progressSeconds?: number;
}

export interface CorpusReport {
  out: string;
  subset: string;
  hours: number;
  voices: number;
  utterances: number;
  /** Utterances made by this run (the rest were already there). */
  synthesized: number;
  failed: number;
  /** Audio seconds made per wall second by this run. */
  speed: number;
  seconds: number;
  sample_rate: number;
  text_source: string;
}

export const DEFAULT_SUBSET = 'train-synth';

/** Debian packages every build needs, whatever the voices. */
const BASE_REQUIREMENTS: readonly Requirement[] = [
  { what: 'sox', debianPackage: 'sox' },
  { what: 'bible', debianPackage: 'bible-kjv' },
  { what: '/usr/lib/bible.data', debianPackage: 'bible-kjv-text' },
];

const VOICE_FILES: Record<string, string> = {
  voice_kal_diphone: '/usr/share/festival/voices/english/kal_diphone',
  voice_ked_diphone: '/usr/share/festival/voices/english/ked_diphone',
  voice_cmu_us_slt_arctic_hts: '/usr/share/festival/voices/us/cmu_us_slt_arctic_hts',
};

export function requirementsFor(voices: readonly Voice[]): Requirement[] {
  const requirements = [...BASE_REQUIREMENTS];
  for (const voice of voices) {
    const [enginePackage, voicePackage] = packagesFor(voice);
    const program = voice.engine === 'festival' ? 'text2wave' : voice.engine;
    requirements.push({ what: program, debianPackage: enginePackage });
    if (voice.engine === 'festival' && VOICE_FILES[voice.name] !== undefined && voicePackage !== undefined) {
      requirements.push({ what: VOICE_FILES[voice.name], debianPackage: voicePackage });
    }
  }
  const unique = new Map(requirements.map((requirement) => [requirement.what, requirement]));
  return [...unique.values()];
}

export function selectVoices(names: readonly string[] | undefined): Voice[] {
  if (names === undefined || names.length === 0) return [...VOICES];
  const chosen = VOICES.filter((voice) => names.includes(voice.speaker) || names.includes(voice.engine) || names.includes(voice.name));
  const known = new Set(VOICES.flatMap((voice) => [voice.speaker, voice.engine, voice.name]));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0 || chosen.length === 0) {
    throw new InputError(
      '--voices',
      `unknown voice ${unknown.join(', ') || names.join(', ')}; use speaker ids ${VOICES[0].speaker}-${VOICES[VOICES.length - 1].speaker}, engine names (espeak-ng, flite, festival) or voice names`,
    );
  }
  return chosen;
}

/** One planned utterance: who says what, and how it is varied. */
export interface PlanItem {
  index: number;
  voice: Voice;
  sentence: Sentence;
  utterance: string;
  /** Synthesiser rate: espeak-ng words per minute, or a duration stretch (flite, festival). */
  rate: number;
  /** espeak-ng pitch (0-99) or flite mean F0 (Hz); festival: sox pitch shift in cents. */
  pitch: number;
  speed: number;
  eq: { frequency: number; gainDb: number };
  trebleDb: number;
  reverb: { reverberance: number; roomScale: number } | null;
  /** White noise RMS in dBFS (the speech is first peak-normalised to -1 dBFS), or null for none. */
  noiseDb: number | null;
}

/** Item `index` of the plan; depends only on (seed, index, voices, verse order), so a resumed build repeats it exactly. */
export function planItem(index: number, seed: number, voices: readonly Voice[], verses: readonly Sentence[], order: Uint32Array): PlanItem {
  const voice = voices[index % voices.length];
  const round = Math.floor(index / verses.length);
  // Later rounds shift the voice assignment so that a verse is never read twice by one voice.
  const sentence = verses[order[(index + round) % verses.length]];
  const random = mulberry32((Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const between = (low: number, high: number): number => low + (high - low) * random();
  let rate: number;
  let pitch: number;
  if (voice.engine === 'espeak-ng') {
    rate = Math.round(voice.baseRate * between(0.88, 1.12));
    pitch = Math.round(Math.min(99, Math.max(0, voice.basePitch + between(-12, 12))));
  } else if (voice.engine === 'flite') {
    rate = round3(between(0.88, 1.15));
    pitch = Math.round(voice.basePitch * between(0.9, 1.1));
  } else {
    rate = round3(between(0.88, 1.15));
    pitch = Math.round(between(-150, 150));
  }
  const speed = round3(between(0.97, 1.03));
  const eq = { frequency: Math.round(200 * Math.pow(20, random())), gainDb: round3(between(-4, 4)) };
  const trebleDb = round3(between(-3, 2));
  const reverb = random() < 0.35 ? { reverberance: Math.round(between(10, 45)), roomScale: Math.round(between(20, 60)) } : null;
  const noiseDb = random() < 0.6 ? round3(between(-62, -42)) : null;
  const utterance = `${voice.speaker}_${sentence.chapter}_${String(sentence.verse).padStart(6, '0')}_${String(round).padStart(6, '0')}`;
  return { index, voice, sentence, utterance, rate, pitch, speed, eq, trebleDb, reverb, noiseDb };
}

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}

export function validateBuildOptions(options: CorpusBuildOptions): void {
  if (!(Number.isFinite(options.hours) && options.hours > 0)) throw new InputError('--hours', `must be a positive number, got ${options.hours}`);
  if (!(Number.isInteger(options.jobs) && options.jobs >= 1 && options.jobs <= 64)) throw new InputError('--jobs', `must be a whole number from 1 to 64, got ${options.jobs}`);
  if (!(Number.isInteger(options.sampleRate) && options.sampleRate >= 8000 && options.sampleRate <= 48000)) {
    throw new InputError('--rate', `must be a whole number of Hz from 8000 to 48000, got ${options.sampleRate}`);
  }
  if (!Number.isInteger(options.seed)) throw new InputError('--seed', `must be a whole number, got ${options.seed}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.subset)) throw new InputError('--subset', `must be a plain directory name, got "${options.subset}"`);
}

export async function buildCorpus(options: CorpusBuildOptions): Promise<CorpusReport> {
  validateBuildOptions(options);
  const voices = selectVoices(options.voices);
  await ensureRequirements(requirementsFor(voices), { install: options.install, log: options.log, source: 'corpus build' });
  const verses = await loadKjvVerses();
  if (verses.length < 1000) throw new Error(`the bible program printed only ${verses.length} verses`);
  const order = seededPermutation(verses.length, options.seed);

  const { out } = options;
  const work = join(out, '.work');
  try {
    await mkdir(out, { recursive: true });
    // Leftovers of an interrupted run are temporaries only: finished files were renamed into place.
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
  } catch (error) {
    throw new InputError(out, `cannot create the output directory (${error instanceof Error ? error.message : String(error)})`);
  }

  const targetSeconds = options.hours * 3600;
  let totalSeconds = 0;
  let utterances = 0;
  let synthesized = 0;
  let synthesizedSeconds = 0;
  let failed = 0;
  let next = 0;
  const started = Date.now();

  const count = (seconds: number): void => {
    totalSeconds += seconds;
    utterances++;
  };
  const progress = throttledProgress(options.progressSeconds ?? 60, options.log, () => {
    const elapsed = (Date.now() - started) / 1000;
    const speed = synthesizedSeconds / Math.max(elapsed, 1e-3);
    const left = Math.max(0, targetSeconds - totalSeconds);
    const eta = speed > 0 ? `, about ${(left / speed / 60).toFixed(0)} min left` : '';
    return `corpus: ${utterances} utterances, ${(totalSeconds / 3600).toFixed(2)} of ${options.hours} h (${synthesized} made by this run at ${speed.toFixed(1)} audio-s/s, ${failed} failed${eta})`;
  });

  await writeSpeakers(out, options.subset, voices, null);

  // Each job takes the next plan item until the target is reached; finished items are counted, not redone.
  const job = async (jobIndex: number): Promise<void> => {
    while (totalSeconds < targetSeconds) {
      const item = planItem(next++, options.seed, voices, verses, order);
      const paths = utterancePaths(out, options.subset, item.voice.speaker, item.sentence.chapter, item.utterance);
      if (await pathExists(paths.wav)) {
        try {
          count((await probeWav(paths.wav)).durationSeconds);
          continue;
        } catch (error) {
          options.log(`corpus: ${paths.wav}: ${error instanceof Error ? error.message : String(error)}; making it again`);
          await rm(paths.wav, { force: true });
        }
      }
      try {
        const seconds = await synthesizeItem(item, paths, join(work, `job${jobIndex}`), options.sampleRate);
        count(seconds);
        synthesized++;
        synthesizedSeconds += seconds;
      } catch (error) {
        failed++;
        options.log(`corpus: ${item.utterance} (${voiceLabel(item.voice)}): ${error instanceof Error ? error.message : String(error)}; skipped`);
        if (failed >= 20 && failed > synthesized) {
          throw new Error(`${failed} of the first ${failed + synthesized} utterances failed; stopping (see the lines above)`);
        }
      }
      progress(false);
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, (_, jobIndex) => job(jobIndex)));
  await rm(work, { recursive: true, force: true });
  progress(true);

  // The figures are what the corpus holds on disk (a resumed or overshooting build included), not this run's tally.
  const onDisk = await loadLibriTTS(out, [options.subset], `libritts:${out}?subset=${options.subset}`);
  for (const bad of onDisk.badFiles) options.log(`corpus: ${bad.path}: ${bad.problem}`);
  const held = new Map<string, number>();
  for (const utterance of onDisk.utterances) {
    if (utterance.speaker !== null) held.set(utterance.speaker, (held.get(utterance.speaker) ?? 0) + utterance.durationSeconds);
  }
  const heldSeconds = [...held.values()].reduce((sum, value) => sum + value, 0);
  await writeSpeakers(out, options.subset, voices, held);
  const seconds = (Date.now() - started) / 1000;
  const report: CorpusReport = {
    out,
    subset: options.subset,
    hours: round3(heldSeconds / 3600),
    voices: [...held.values()].filter((value) => value > 0).length,
    utterances: onDisk.utterances.length,
    synthesized,
    failed,
    speed: round3(synthesizedSeconds / Math.max(seconds, 1e-3)),
    seconds: round3(seconds),
    sample_rate: options.sampleRate,
    text_source: TEXT_SOURCE,
  };
  const recipe = {
    ...report,
    seed: options.seed,
    voices_used: voices.map((voice) => ({ speaker: voice.speaker, engine: voice.engine, voice: voice.name, sex: voice.sex })),
    augmentation:
      'per utterance, seeded: synthesiser rate ±12 %, pitch ±12 (espeak-ng) / ±10 % F0 (flite) / ±150 cents (festival, sox pitch); sox highpass 60 Hz, speed 0.97-1.03, one peaking EQ band (200 Hz-4 kHz, ±4 dB), treble -3..+2 dB, reverb 10-45 % (room 20-60 %) on 35 % of utterances, peak-normalised to -1 dBFS; white noise at -62..-42 dBFS RMS on 60 %',
  };
  await writeFileAtomic(join(out, 'corpus.json'), JSON.stringify(recipe, null, 2) + '\n', true);
  return report;
}

async function writeSpeakers(out: string, subset: string, voices: readonly Voice[], seconds: Map<string, number> | null): Promise<void> {
  const speakers: SpeakerInfo[] = voices.map((voice) => ({
    id: voice.speaker,
    sex: voice.sex,
    subset,
    minutes: seconds === null ? null : (seconds.get(voice.speaker) ?? 0) / 60,
    name: voiceLabel(voice),
  }));
  await updateSpeakersFile(out, subset, speakers, ['simvq-audio corpus build: synthetic voices from Debian speech synthesisers (see corpus.json)']);
}

/** Synthesise, augment and write one utterance; returns its duration in seconds. */
async function synthesizeItem(
  item: PlanItem,
  paths: ReturnType<typeof utterancePaths>,
  work: string,
  sampleRate: number,
): Promise<number> {
  await mkdir(work, { recursive: true });
  const textFile = join(work, 'text.txt');
  const raw = join(work, 'raw.wav');
  const shaped = join(work, 'shaped.wav');
  await writeFile(textFile, item.sentence.original + '\n');
  await rm(raw, { force: true });
  await rm(shaped, { force: true });

  const { voice } = item;
  const timeoutMs = 120_000;
  if (voice.engine === 'espeak-ng') {
    await runChecked('espeak-ng', ['-v', voice.name, '-s', String(item.rate), '-p', String(item.pitch), '-w', raw, '-f', textFile], { timeoutMs });
  } else if (voice.engine === 'flite') {
    await runChecked(
      'flite',
      ['-voice', voice.name, '--setf', `duration_stretch=${item.rate}`, '--setf', `int_f0_target_mean=${item.pitch}`, '-f', textFile, '-o', raw],
      { timeoutMs },
    );
  } else {
    await runChecked('text2wave', ['-eval', `(${voice.name})`, '-eval', `(Parameter.set 'Duration_Stretch ${item.rate})`, textFile, '-o', raw], { timeoutMs });
  }

  const effects = ['remix', '-', 'highpass', '60'];
  if (voice.engine === 'festival') effects.push('pitch', String(item.pitch));
  effects.push('speed', String(item.speed), 'equalizer', String(item.eq.frequency), '1q', String(item.eq.gainDb), 'treble', String(item.trebleDb));
  if (item.reverb !== null) effects.push('reverb', String(item.reverb.reverberance), '50', String(item.reverb.roomScale));
  effects.push('rate', '-v', String(sampleRate), 'norm', '-1');
  await runChecked('sox', [raw, '-b', '32', '-e', 'floating-point', shaped, ...effects], { timeoutMs });

  const clip = await readWav(shaped);
  const samples = clip.samples;
  if (item.noiseDb !== null) {
    // Uniform noise in [-a, a] has RMS a / sqrt(3).
    const amplitude = Math.pow(10, item.noiseDb / 20) * Math.sqrt(3);
    const random = mulberry32(item.index ^ 0x5bd1e995);
    for (let i = 0; i < samples.length; i++) samples[i] += amplitude * (2 * random() - 1);
  }
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  if (peak > 0.999) for (let i = 0; i < samples.length; i++) samples[i] *= 0.999 / peak;

  await mkdir(paths.directory, { recursive: true });
  // Transcripts first, audio last: a WAV in place means the utterance is complete.
  await writeFileAtomic(paths.original, item.sentence.original + '\n', true);
  await writeFileAtomic(paths.normalized, item.sentence.normalized + '\n', true);
  await writeWav(paths.wav, samples, sampleRate, { format: 'pcm16', force: true });
  return samples.length / sampleRate;
}
