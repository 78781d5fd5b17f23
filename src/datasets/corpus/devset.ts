/**
 * `simvq-audio corpus devset`: a small validation set of real recorded speech,
 * taken from Debian packages that ship it, in LibriTTS layout (subset
 * `dev-real`), with SOURCES.tsv saying where every file came from.
 *
 * - pocketsphinx-testdata: five LibriVox recordings (public domain) of Sense and
 *   Sensibility ch. 1 and five read card names, with transcripts, and three
 *   headerless test recordings (one transcript);
 * - codec2-examples: codec2's reference speech clips (clean studio speech and a
 *   few over-the-air HF radio recordings), 8 and 16 kHz, no transcripts;
 * - alsa-utils: the speaker-test voice prompts ("Front Center", ...), 48 kHz.
 *
 * Files keep their sample rate (the loader resamples); the audio is re-encoded
 * as 16-bit mono WAV through our own reader and writer, so a file our reader
 * refuses is reported, not copied.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { readWav, writeWav, type AudioClip } from '../../audio/index.js';
import { InputError } from '../../errors.js';
import { writeFileAtomic } from '../../files.js';
import { utterancePaths, type SpeakerInfo } from '../libritts-layout.js';
import { runChecked, runProcess } from './process.js';
import { updateSpeakersFile } from './speakers-file.js';
import { ensureRequirements, type Requirement } from './tools.js';

export const DEVSET_SUBSET = 'dev-real';

interface DevSource {
  path: string;
  debianPackage: string;
  speaker: string;
  sex: string;
  speakerName: string;
  chapter: string;
  /** Transcript, where the package ships one. */
  text: string | null;
  note: string;
  /** Headerless 16-bit little-endian mono PCM at this rate, instead of a WAV file. */
  rawRate?: number;
}

const SPHINX = '/usr/share/pocketsphinx/test/data';
const CODEC2 = '/usr/share/codec2';
const ALSA = '/usr/share/sounds/alsa';

/** Transcripts in Sphinx's format: `<s> words </s> (file id)`. */
function parseSphinxTranscripts(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*<s>\s*(.*?)\s*<\/s>\s*\(([^)]+)\)\s*$/.exec(line);
    if (match !== null) map.set(match[2], match[1].replace(/\s+/g, ' '));
  }
  return map;
}

async function devSources(): Promise<DevSource[]> {
  const sources: DevSource[] = [];
  const librivox = parseSphinxTranscripts(await readFile(join(SPHINX, 'librivox', 'transcription'), 'utf8'));
  for (const [id, text] of [...librivox].sort()) {
    sources.push({
      path: join(SPHINX, 'librivox', `${id}.wav`),
      debianPackage: 'pocketsphinx-testdata',
      speaker: '8000',
      sex: '?',
      speakerName: 'LibriVox reader, Sense and Sensibility ch. 1',
      chapter: '1',
      text,
      note: 'LibriVox recording (public domain)',
    });
  }
  const cards = parseSphinxTranscripts(await readFile(join(SPHINX, 'cards', 'cards.transcription'), 'utf8'));
  for (const [id, text] of [...cards].sort()) {
    sources.push({
      path: join(SPHINX, 'cards', `${id}.wav`),
      debianPackage: 'pocketsphinx-testdata',
      speaker: '8001',
      sex: '?',
      speakerName: 'pocketsphinx "cards" test speaker',
      chapter: '1',
      text,
      note: 'pocketsphinx test recording',
    });
  }
  // Sphinx's headerless 16 kHz test recordings; goforward.gram's public rule is what goforward.raw says.
  for (const [file, speaker, text] of [
    ['goforward.raw', '8015', 'go forward ten meters'],
    ['numbers.raw', '8016', null],
    ['something.raw', '8017', null],
  ] as const) {
    sources.push({
      path: join(SPHINX, file),
      debianPackage: 'pocketsphinx-testdata',
      speaker,
      sex: '?',
      speakerName: `pocketsphinx test recording ${file}`,
      chapter: '1',
      text,
      note: 'pocketsphinx test recording (16 kHz raw PCM, wrapped by sox)',
      rawRate: 16000,
    });
  }
  // codec2's reference clips; all.wav (a concatenation) and f2400/m2400 (codec output) are left out.
  const codec2: [string, string, string][] = [
    ['wav/hts1a.wav', '8002', 'clean speech'],
    ['wav/hts2a.wav', '8003', 'clean speech'],
    ['wav/forig.wav', '8004', 'clean speech'],
    ['wav/morig.wav', '8005', 'clean speech'],
    ['wav/mmt1.wav', '8006', 'clean speech'],
    ['wav/big_dog.wav', '8007', 'clean speech'],
    ['wav/cross.wav', '8008', 'clean speech'],
    ['wav/david4.wav', '8009', 'clean speech'],
    ['raw/speech_orig_16k.wav', '8010', 'clean speech, 16 kHz'],
    ['wav/ve9qrp.wav', '8011', 'HF radio, received over the air'],
    ['wav/vk5qi.wav', '8012', 'HF radio, received over the air'],
    ['wav/vk2tpm_004.wav', '8013', 'HF radio, received over the air'],
  ];
  for (const [file, speaker, note] of codec2) {
    sources.push({
      path: join(CODEC2, file),
      debianPackage: 'codec2-examples',
      speaker,
      sex: '?',
      speakerName: `codec2 example ${basename(file, '.wav')}`,
      chapter: '2',
      text: null,
      note: `codec2 reference clip: ${note}`,
    });
  }
  for (const name of ['Front_Center', 'Front_Left', 'Front_Right', 'Rear_Center', 'Rear_Left', 'Rear_Right', 'Side_Left', 'Side_Right']) {
    sources.push({
      path: join(ALSA, `${name}.wav`),
      debianPackage: 'alsa-utils',
      speaker: '8014',
      sex: '?',
      speakerName: 'ALSA speaker-test voice',
      chapter: '3',
      text: name.replace('_', ' ').toLowerCase(),
      note: 'speaker-test voice prompt',
    });
  }
  return sources;
}

/**
 * Our reader takes PCM and float WAV only: a clip in another WAV encoding (codec2's
 * cross.wav is mu-law) or headerless PCM is turned into a 16-bit WAV by sox first.
 */
async function readSource(source: DevSource, work: string): Promise<{ clip: AudioClip; converted: boolean }> {
  if (source.rawRate !== undefined) {
    const rawInput = ['-t', 'raw', '-r', String(source.rawRate), '-e', 'signed-integer', '-b', '16', '-c', '1', '-L', source.path];
    return { clip: await convertWithSox(rawInput, source.path, work), converted: true };
  }
  try {
    return { clip: await readWav(source.path), converted: false };
  } catch (error) {
    if (!(error instanceof InputError && error.problem.startsWith('unsupported encoding'))) throw error;
    return { clip: await convertWithSox([source.path], source.path, work), converted: true };
  }
}

async function convertWithSox(input: string[], path: string, work: string): Promise<AudioClip> {
  await mkdir(work, { recursive: true });
  const converted = join(work, `${basename(path)}.pcm16.wav`);
  await runChecked('sox', [...input, '-b', '16', '-e', 'signed-integer', converted]);
  try {
    return await readWav(converted);
  } finally {
    await rm(converted, { force: true });
  }
}

const REQUIREMENTS: readonly Requirement[] = [
  { what: 'sox', debianPackage: 'sox' },
  { what: join(SPHINX, 'librivox', 'transcription'), debianPackage: 'pocketsphinx-testdata' },
  { what: join(CODEC2, 'wav', 'hts1a.wav'), debianPackage: 'codec2-examples' },
  { what: join(ALSA, 'Front_Center.wav'), debianPackage: 'alsa-utils' },
];

export interface DevsetReport {
  out: string;
  subset: string;
  hours: number;
  speakers: number;
  utterances: number;
  /** Files listed above that could not be used (missing or refused by the reader). */
  failed: number;
}

export async function buildDevset(options: { out: string; install: boolean; log: (line: string) => void }): Promise<DevsetReport> {
  await ensureRequirements(REQUIREMENTS, { install: options.install, log: options.log, source: 'corpus devset' });
  const versions = new Map<string, string>();
  for (const pkg of ['pocketsphinx-testdata', 'codec2-examples', 'alsa-utils']) {
    const result = await runProcess('dpkg-query', ['-W', '-f', '${Version}', pkg]);
    versions.set(pkg, result.code === 0 ? result.stdout.trim() : 'unknown');
  }
  try {
    await mkdir(options.out, { recursive: true });
  } catch (error) {
    throw new InputError(options.out, `cannot create the output directory (${error instanceof Error ? error.message : String(error)})`);
  }
  const sources = await devSources();
  const rows = ['utterance\tsource\tdebian_package\tversion\tsample_rate\tseconds\ttranscript\tnote'];
  const speakerSeconds = new Map<string, number>();
  const speakerInfo = new Map<string, DevSource>();
  let seconds = 0;
  let utterances = 0;
  let failed = 0;
  const counters = new Map<string, number>();
  for (const source of sources) {
    const n = (counters.get(source.speaker) ?? 0) + 1;
    counters.set(source.speaker, n);
    const utterance = `${source.speaker}_${source.chapter}_${String(n).padStart(6, '0')}_000000`;
    const paths = utterancePaths(options.out, DEVSET_SUBSET, source.speaker, source.chapter, utterance);
    let clip: AudioClip;
    let note = source.note;
    try {
      const read = await readSource(source, join(options.out, '.work'));
      clip = read.clip;
      if (read.converted && source.rawRate === undefined) note += ' (decoded to PCM by sox)';
    } catch (error) {
      failed++;
      options.log(`devset: ${error instanceof Error ? error.message : String(error)}; skipped`);
      continue;
    }
    await mkdir(paths.directory, { recursive: true });
    if (source.text !== null) {
      await writeFileAtomic(paths.original, source.text + '\n', true);
      await writeFileAtomic(paths.normalized, source.text + '\n', true);
    }
    await writeWav(paths.wav, clip.samples, clip.sampleRate, { format: 'pcm16', force: true });
    seconds += clip.durationSeconds;
    utterances++;
    speakerSeconds.set(source.speaker, (speakerSeconds.get(source.speaker) ?? 0) + clip.durationSeconds);
    speakerInfo.set(source.speaker, source);
    rows.push(
      [utterance, source.path, source.debianPackage, versions.get(source.debianPackage) ?? 'unknown', clip.sampleRate, clip.durationSeconds.toFixed(3), source.text === null ? 'none' : 'from the package', note].join('\t'),
    );
  }
  const speakers: SpeakerInfo[] = [...speakerInfo.values()].map((source) => ({
    id: source.speaker,
    sex: source.sex,
    subset: DEVSET_SUBSET,
    minutes: (speakerSeconds.get(source.speaker) ?? 0) / 60,
    name: source.speakerName,
  }));
  await updateSpeakersFile(options.out, DEVSET_SUBSET, speakers, [
    'simvq-audio corpus devset: real recorded speech from Debian packages (see SOURCES.tsv); sex not recorded by the packages (?)',
  ]);
  await writeFileAtomic(join(options.out, 'SOURCES.tsv'), rows.join('\n') + '\n', true);
  await rm(join(options.out, '.work'), { recursive: true, force: true });
  return { out: options.out, subset: DEVSET_SUBSET, hours: Math.round((seconds / 3600) * 10000) / 10000, speakers: speakers.length, utterances, failed };
}
