/**
 * `corpus recorded`: the file-name and dialog-script rules that give each clip
 * its speaker, the id ranges, and builds: one from a small game tree the test
 * writes with sox (any machine with sox), one from the real Debian packages.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { runCli } from '../helpers/cli.js';

import { readWav } from '../../src/audio/index.js';
import {
  chapterForLevel,
  extraSpeakerCodes,
  FILLETS_ROOT,
  KNOWN_SPEAKER_CODES,
  listRecordedClips,
  normalizeIfClipping,
  parseDialogFonts,
  RECORDED_LANGUAGES,
  RECORDED_SUBSET,
  selectLanguages,
  speakerCode,
  speakerCodeFromName,
  speakerIdFor,
  buildRecordedSpeech,
  type RecordedReport,
} from '../../src/datasets/corpus/recorded.js';
import { loadDataset } from '../../src/datasets/index.js';
import { formatSpeakersFile, mergeSpeakersFile, parseSpeakersFile } from '../../src/datasets/libritts-layout.js';
import { probeWav } from '../../src/datasets/probe.js';
import { InputError } from '../../src/errors.js';

const [CZECH, DUTCH] = RECORDED_LANGUAGES;

/** Skips the test naming what is missing, or fails under SIMVQ_REQUIRE_CODEC_TOOLS=1 (CI installs everything). */
function requireOrSkip(context: Mocha.Context, missing: string | null): void {
  if (missing === null) return;
  if (process.env['SIMVQ_REQUIRE_CODEC_TOOLS'] === '1') throw new Error(`SIMVQ_REQUIRE_CODEC_TOOLS=1 but ${missing}`);
  console.log(`    SKIPPED: ${missing}`);
  context.skip();
}

function soxReadsAndWritesVorbis(): boolean {
  const help = spawnSync('sox', ['-h'], { encoding: 'utf8' });
  return help.error === undefined && / vorbis /.test(` ${/AUDIO FILE FORMATS:(.*)/.exec(help.stdout)?.[1] ?? ''} `);
}

describe('corpus recorded: speakers from file names and dialog scripts', () => {
  it('reads the speaker code from the second field, the first of two (the last in fdto), or underscores', () => {
    expect(speakerCodeFromName('airplane', 'let-m-divna')).to.equal('m');
    expect(speakerCodeFromName('viking2', 'dr-1-achjo')).to.equal('1');
    expect(speakerCodeFromName('city', 'vit-hs-uz')).to.equal('hs');
    expect(speakerCodeFromName('keys', 'rand-0-5-0')).to.equal('0');
    expect(speakerCodeFromName('hanoi', 'm-bude')).to.equal('m');
    expect(speakerCodeFromName('linux', '1-archlinux')).to.equal('1');
    expect(speakerCodeFromName('fdto', 'agenti-m')).to.equal('m');
    expect(speakerCodeFromName('barrel', 'bar_v_fotka')).to.equal('v');
    expect(speakerCodeFromName('briefcase', 'help1')).to.equal(null);
  });

  it('takes the fish from the dialog script, whatever the file is called, and the name code for the rest', () => {
    const fonts = parseDialogFonts(
      [
        'dialogId("init-0-0", "font_small", "Where are we?")',
        'dialogStr("Kde to jsme?")',
        'dialogId("init-0-1", "font_big", "In a \\"room\\".")',
        'dialogId( "dr-1-achjo" , "font_viking1", "Oh dear.")',
        'dialogId("b1-1", "", "")',
        'dialogId("sp-both", "font_small", "a")',
        'dialogId("sp-both", "font_big", "b")',
      ].join('\n'),
    );
    expect([...fonts.keys()]).to.deep.equal(['init-0-0', 'init-0-1', 'dr-1-achjo', 'sp-both']);
    expect(speakerCode('keys', 'init-0-0', fonts.get('init-0-0'))).to.equal('m');
    expect(speakerCode('keys', 'init-0-1', fonts.get('init-0-1'))).to.equal('v');
    expect(speakerCode('briefcase', 'help1', new Set(['font_big']))).to.equal('v');
    expect(speakerCode('viking2', 'dr-1-achjo', fonts.get('dr-1-achjo'))).to.equal('1');
    // Silent in the script, or spoken by both fish in different levels: the name decides.
    expect(speakerCode('gods', 'b1-1', fonts.get('b1-1'))).to.equal('b1');
    expect(speakerCode('border', 'sp-both', fonts.get('sp-both'))).to.equal('sp');
    expect(speakerCode('briefcase', 'help1', undefined)).to.equal('x');
  });

  it('gives one id per (language, code) in 7000-7199, clear of the synthetic voices and the dev set', () => {
    expect(speakerIdFor(CZECH, 'm', [])).to.equal('7000');
    expect(speakerIdFor(CZECH, 'v', [])).to.equal('7001');
    expect(speakerIdFor(DUTCH, 'm', [])).to.equal('7100');
    expect(speakerIdFor(DUTCH, 'x', [])).to.equal(String(7100 + KNOWN_SPEAKER_CODES.indexOf('x')));
    const extra = extraSpeakerCodes(['m', 'zz', 'aa', 'v', 'zz']);
    expect(extra).to.deep.equal(['aa', 'zz']);
    expect(speakerIdFor(CZECH, 'zz', extra)).to.equal('7051');
    expect(() => speakerIdFor(CZECH, 'qq', extra)).to.throw(/no id/);
    const ids = RECORDED_LANGUAGES.flatMap((language) => KNOWN_SPEAKER_CODES.map((code) => Number(speakerIdFor(language, code, []))));
    expect(new Set(ids).size).to.equal(ids.length);
    for (const id of ids) expect(id).to.be.within(7000, 7199);
  });

  it('names chapters by a stable 6-digit hash of the level', () => {
    expect(chapterForLevel('airplane')).to.equal(chapterForLevel('airplane'));
    expect(chapterForLevel('airplane')).to.match(/^[1-9]\d{5}$/);
    expect(chapterForLevel('share/border')).to.not.equal(chapterForLevel('share/blackjokes'));
  });

  it('takes cs and nl, and says why en is not speech', () => {
    expect(selectLanguages(['nl', 'cs']).map((language) => language.code)).to.deep.equal(['cs', 'nl']);
    expect(() => selectLanguages(['en'])).to.throw(InputError, /not spoken dialogue/);
    expect(() => selectLanguages(['de'])).to.throw(InputError, /unknown language de/);
  });

  it('scales a clip to -1 dBFS only when 16-bit PCM would clip it', () => {
    const quiet = Float32Array.from([0.5, -0.9, 0.99]);
    expect(normalizeIfClipping(quiet)).to.equal(false);
    expect(Array.from(quiet)).to.deep.equal(Array.from(Float32Array.from([0.5, -0.9, 0.99])));
    const loud = Float32Array.from([0.5, -1.2, 1.0]);
    expect(normalizeIfClipping(loud)).to.equal(true);
    expect(Math.max(...Array.from(loud, Math.abs))).to.be.closeTo(Math.pow(10, -1 / 20), 1e-6);
  });

  it('merges SPEAKERS.txt: its own subset replaced, the other subsets and comments kept', () => {
    const synth = formatSpeakersFile([{ id: '9000', sex: 'M', subset: 'train-synth', minutes: 60, name: 'espeak-ng en-us+m1' }], ['corpus build: synthetic']);
    const first = mergeSpeakersFile(synth, RECORDED_SUBSET, [{ id: '7000', sex: 'F', subset: RECORDED_SUBSET, minutes: null, name: 'small fish' }], ['corpus recorded']);
    const second = mergeSpeakersFile(first, RECORDED_SUBSET, [{ id: '7000', sex: 'F', subset: RECORDED_SUBSET, minutes: 39.5, name: 'small fish' }], ['corpus recorded']);
    const { speakers, problems } = parseSpeakersFile(second);
    expect(problems).to.deep.equal([]);
    expect([...speakers.keys()]).to.deep.equal(['9000', '7000']);
    expect(speakers.get('9000')).to.deep.include({ subset: 'train-synth', minutes: 60 });
    expect(speakers.get('7000')?.minutes).to.equal(39.5);
    expect(second.split('\n').filter((line) => line.startsWith(';'))).to.deep.equal(['; corpus build: synthetic', '; corpus recorded', ';ID  |SEX |SUBSET           |MINUTES|NAME']);
    // The synthetic build rewriting its own entries keeps ours.
    const third = mergeSpeakersFile(second, 'train-synth', [{ id: '9000', sex: 'M', subset: 'train-synth', minutes: 61, name: 'espeak-ng en-us+m1' }], ['corpus build: synthetic']);
    expect([...parseSpeakersFile(third).speakers.keys()]).to.deep.equal(['7000', '9000']);
  });
});

describe('corpus recorded: building', function () {
  this.timeout(120_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-recorded-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const quietLog = (): void => undefined;

  /** A game tree in the real layout: Ogg Vorbis made by sox, one dialog script. */
  function writeGameTree(root: string): void {
    const ogg = (level: string, name: string, effects: string[]): void => {
      const directory = join(root, 'sound', level, 'cs');
      mkdirSync(directory, { recursive: true });
      const result = spawnSync('sox', ['-n', '-r', '22050', '-c', '1', join(directory, `${name}.ogg`), ...effects], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`sox: ${result.stderr}`);
    };
    ogg('airplane', 'let-m-divna', ['synth', '1.0', 'sine', '220', 'vol', '0.3']);
    ogg('airplane', 'let-v-oko', ['synth', '1.5', 'square', '150', 'gain', '3']); // clipped at full scale: resampled, it overshoots
    ogg('airplane', 'let-m-ach', ['synth', '0.3', 'sine', '300', 'vol', '0.3']); // under 0.5 s
    ogg('airplane', 'let-v-prazdny', ['trim', '0', '0']); // no samples at all, like two of the Dutch files
    ogg('cabin1', 'k1-pap-kruci', ['synth', '0.8', 'sine', '500', 'vol', '0.3']);
    mkdirSync(join(root, 'sound', 'cabin2', 'cs'), { recursive: true });
    copyFileSync(join(root, 'sound', 'cabin1', 'cs', 'k1-pap-kruci.ogg'), join(root, 'sound', 'cabin2', 'cs', 'k1-pap-kruci.ogg'));
    ogg('keys', 'init-0-0', ['synth', '0.9', 'sine', '260', 'vol', '0.3']);
    mkdirSync(join(root, 'script', 'keys'), { recursive: true });
    writeFileSync(join(root, 'script', 'keys', 'dialogs_cs.lua'), 'dialogId("init-0-0", "font_small", "Where are we?")\ndialogStr("Kde to jsme?")\n');
    mkdirSync(join(root, 'script', 'airplane'), { recursive: true });
  }

  it('converts a small game tree: layout, 16-bit WAV at the rate, speakers, repeats, short clips, and a rerun skips it all', async function () {
    requireOrSkip(this, soxReadsAndWritesVorbis() ? null : 'needs sox with Ogg Vorbis (apt-get install -y sox libsox-fmt-base)');
    const gameRoot = join(scratch, 'game');
    writeGameTree(gameRoot);
    const out = join(scratch, 'corpus');
    mkdirSync(out);
    writeFileSync(join(out, 'SPEAKERS.txt'), formatSpeakersFile([{ id: '9000', sex: 'M', subset: 'train-synth', minutes: 1, name: 'espeak-ng en-us+m1' }]));
    const options = { out, languages: ['cs'], jobs: 2, sampleRate: 16000, install: false, log: quietLog, gameRoot };

    const first: RecordedReport = await buildRecordedSpeech(options);
    expect(first).to.include({ utterances: 4, converted: 4, too_short: 2, duplicates: 1, normalized: 1, failed: 0, speakers: 3, sample_rate: 16000 });
    const dataset = await loadDataset(`libritts:${out}?subset=${RECORDED_SUBSET}`);
    expect(dataset.utterances.map((u) => u.id).sort()).to.deep.equal(
      [
        `7000_${chapterForLevel('airplane')}_000002_000000`, // let-m-divna (let-m-ach, first in name order, is too short)
        `7001_${chapterForLevel('airplane')}_000003_000000`, // let-v-oko
        `7021_${chapterForLevel('cabin1')}_000001_000000`, // pap; cabin2's copy is left out
        `7000_${chapterForLevel('keys')}_000001_000000`, // the script gives init-0-0 to the small fish
      ].sort(),
    );
    for (const utterance of dataset.utterances) {
      const header = await probeWav(utterance.path);
      expect(header).to.include({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
      expect(utterance.path.startsWith(join(out, RECORDED_SUBSET, utterance.speaker ?? '', utterance.chapter ?? ''))).to.equal(true);
    }
    const loud = dataset.utterances.find((u) => u.speaker === '7001');
    const peak = Math.max(...Array.from((await readWav(loud?.path ?? '')).samples, Math.abs));
    expect(peak).to.be.closeTo(Math.pow(10, -1 / 20), 0.001);
    expect(dataset.speakers.get('9000')).to.deep.include({ subset: 'train-synth', name: 'espeak-ng en-us+m1' });
    expect(dataset.speakers.get('7000')).to.deep.include({ subset: RECORDED_SUBSET, sex: 'F', name: 'Fish Fillets NG, Czech: small fish (m)' });
    expect(dataset.speakers.get('7021')?.name).to.equal('Fish Fillets NG, Czech: speaker code pap (cabin1, cabin2)');
    const sources = readFileSync(join(out, 'recorded-sources.tsv'), 'utf8').trim().split('\n');
    expect(sources).to.have.length(5);
    const pap = sources.find((line) => line.startsWith('7021_'))?.split('\t') ?? [];
    expect(pap.slice(2, 5)).to.deep.equal(['pap', 'cs', 'cabin1']);
    expect(pap[6]).to.equal('fillets-ng-data-cs');
    expect(pap[9]).to.equal(join(gameRoot, 'sound', 'cabin2', 'cs', 'k1-pap-kruci.ogg'));
    const recipe = JSON.parse(readFileSync(join(out, 'recorded.json'), 'utf8')) as { utterances: number; licence: string };
    expect(recipe.utterances).to.equal(4);
    expect(recipe.licence).to.match(/^GPL-2/);
    expect(readdirSync(out).filter((name) => name.startsWith('.'))).to.deep.equal([]);

    const again = await buildRecordedSpeech(options);
    expect(again).to.include({ utterances: 4, converted: 0, too_short: 2, duplicates: 1, speakers: 3 });
    const onlyKeys = await buildRecordedSpeech({ ...options, levels: ['keys'] });
    expect(onlyKeys).to.include({ utterances: 4, converted: 0, duplicates: 0 });
    try {
      await buildRecordedSpeech({ ...options, levels: ['nowhere'] });
      expect.fail('an unknown level was taken');
    } catch (error) {
      expect(error).to.be.instanceOf(InputError);
      expect((error as InputError).message).to.match(/unknown level nowhere; the levels are airplane, cabin1, cabin2, keys/);
    }
  });

  it('corpus recorded names the packages to install when it may not', async () => {
    const result = await runCli(['corpus', 'recorded', '--out', join(scratch, 'never'), '--languages', 'nl', '--no-install'], { PATH: join(scratch, 'no-such-bin') });
    expect(result.code, result.stderr).to.equal(2);
    expect(result.stderr).to.include('corpus recorded: missing sox, Ogg Vorbis decoding in sox');
    expect(result.stderr).to.include('apt-get install -y');
    expect(result.stderr).to.include('libsox-fmt-base sox');
    expect(existsSync(join(scratch, 'never'))).to.equal(false);
  });

  // The real packages: fillets-ng-data (dialog scripts) and one language (CI installs the smaller, nl).
  const installedLanguage = RECORDED_LANGUAGES.find((language) => existsSync(join(FILLETS_ROOT, 'sound', 'airplane', language.code)));
  const realPackagesMissing =
    !existsSync(join(FILLETS_ROOT, 'script')) || installedLanguage === undefined
      ? 'needs fillets-ng-data and fillets-ng-data-nl or -cs (apt-get install -y --no-install-recommends fillets-ng-data fillets-ng-data-nl; .ci/run installs them)'
      : !soxReadsAndWritesVorbis()
        ? 'needs sox with Ogg Vorbis (apt-get install -y sox libsox-fmt-base)'
        : null;

  it('the installed packages give only known speaker codes, unique chapters, and mostly the two fish', async function () {
    requireOrSkip(this, realPackagesMissing);
    const language = installedLanguage ?? DUTCH;
    const clips = await listRecordedClips(FILLETS_ROOT, [language]);
    expect(clips.length).to.be.greaterThan(1000);
    expect(extraSpeakerCodes(clips.map((clip) => clip.code))).to.deep.equal([]);
    const fish = clips.filter((clip) => clip.code === 'm' || clip.code === 'v').length;
    expect(fish / clips.length).to.be.greaterThan(0.8);
    expect(new Set(clips.map((clip) => clip.utterance)).size).to.equal(clips.length);
  });

  it('corpus recorded converts a real level with the CLI, and a rerun skips it', async function () {
    requireOrSkip(this, realPackagesMissing);
    const language = installedLanguage ?? DUTCH;
    const out = join(scratch, 'real');
    const args = ['corpus', 'recorded', '--out', out, '--languages', language.code, '--levels', 'airplane', '--jobs', '2', '--no-install'];
    const first = await runCli(args);
    expect(first.code, first.stderr).to.equal(0);
    const lines = first.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]) as RecordedReport;
    expect(report).to.include({ utterances: 8, converted: 8, speakers: 2, failed: 0, subset: RECORDED_SUBSET, sample_rate: 16000 });
    expect(report.hours).to.be.within(0.005, 0.05);
    const dataset = await loadDataset(`libritts:${out}`);
    expect(new Set(dataset.utterances.map((u) => u.speaker))).to.deep.equal(new Set([String(language.idBase), String(language.idBase + 1)]));
    for (const utterance of dataset.utterances) expect(utterance.sampleRate).to.equal(16000);
    const sources = readFileSync(join(out, 'recorded-sources.tsv'), 'utf8');
    expect(sources).to.include(join(FILLETS_ROOT, 'sound', 'airplane', language.code, 'let-m-divna.ogg'));
    expect(sources).to.include(language.debianPackage);

    const second = await runCli(args);
    expect(second.code, second.stderr).to.equal(0);
    const secondLines = second.stdout.trim().split('\n');
    expect(JSON.parse(secondLines[secondLines.length - 1])).to.include({ utterances: 8, converted: 0 });
  });
});
