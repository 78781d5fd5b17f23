import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { encodeWav } from '../../src/audio/index.js';
import { InputError } from '../../src/errors.js';
import { filterByDuration, loadDataset, probeWav, speakerDisjointSplit, summarize, type Utterance } from '../../src/datasets/index.js';
import { readWavFrames } from '../../src/datasets/probe.js';
import { readWav } from '../../src/audio/index.js';
import { buildWav, pcmBytes } from '../audio/wav-fixtures.js';
import { nanWav, speechLike, truncatedWav, writeLibriTTSFixture, type FixtureUtterance } from './fixtures.js';

async function expectInputError(promise: Promise<unknown>, ...mentions: (string | RegExp)[]): Promise<InputError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected an InputError').to.be.instanceOf(InputError);
  const error = caught as InputError;
  expect(error.message).to.not.include('\n');
  for (const mention of mentions) {
    if (typeof mention === 'string') expect(error.message).to.include(mention);
    else expect(error.message).to.match(mention);
  }
  return error;
}

describe('dataset loaders', function () {
  this.timeout(30_000);
  let scratch: string;
  let libri: string;
  let fixture: FixtureUtterance[];

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-datasets-'));
    libri = join(scratch, 'LibriTTS');
    fixture = writeLibriTTSFixture(libri);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  describe('probeWav', () => {
    it('reads rate, channels and duration from the header', async () => {
      const path = join(scratch, 'probe.wav');
      writeFileSync(path, encodeWav(speechLike(1.25, 22050, 120, 1), 22050, 'pcm16'));
      const header = await probeWav(path);
      expect(header).to.include({ sampleRate: 22050, channels: 1, bitsPerSample: 16, frames: Math.round(1.25 * 22050) });
      expect(header.durationSeconds).to.be.closeTo(1.25, 1e-4);
    });
    it('reads a range of frames that matches the same range of a full read, for 16-bit and float files', async () => {
      for (const format of ['pcm16', 'float32'] as const) {
        const path = join(scratch, `range-${format}.wav`);
        writeFileSync(path, encodeWav(speechLike(0.5, 16000, 130, 8), 16000, format));
        const full = (await readWav(path)).samples;
        const { clip, header } = await readWavFrames(path, (h) => [1234, h.frames + 50]);
        expect(header.frames).to.equal(8000);
        expect(Array.from(clip.samples)).to.deep.equal(Array.from(full.subarray(1234)));
        const middle = await readWavFrames(path, () => [100, 300]);
        expect(Array.from(middle.clip.samples)).to.deep.equal(Array.from(full.subarray(100, 300)));
      }
      const poisoned = join(scratch, 'range-nan.wav');
      writeFileSync(poisoned, nanWav(0.5, 16000));
      await expectInputError(readWavFrames(poisoned, () => [3990, 4010]), 'range-nan.wav', 'NaN');
      expect((await readWavFrames(poisoned, () => [0, 100])).clip.samples.length).to.equal(100);
    });

    it('judges a header as readWav does: RF64, big-endian RIFX and many chunks before the audio read alike', async () => {
      const values = Array.from({ length: 4000 }, (_, i) => Math.round(8000 * Math.sin(i / 7)));
      const manyChunks = Array.from({ length: 200 }, (_, i): [string, Uint8Array] => ['LIST', new Uint8Array(i % 5)]);
      const files: Record<string, Uint8Array> = {
        'rf64.wav': buildWav({ container: 'RF64', bitsPerSample: 16, data: pcmBytes(values, 16) }),
        'rifx.wav': buildWav({ container: 'RIFX', bitsPerSample: 16, data: pcmBytes(values, 16, true) }),
        'chunks.wav': buildWav({ bitsPerSample: 16, data: pcmBytes(values, 16), chunksBefore: manyChunks }),
      };
      for (const [name, bytes] of Object.entries(files)) {
        const path = join(scratch, name);
        writeFileSync(path, bytes);
        const full = (await readWav(path)).samples;
        expect(full.length, name).to.equal(4000);
        expect(await probeWav(path), name).to.include({ sampleRate: 16000, channels: 1, bitsPerSample: 16, frames: 4000 });
        const { clip } = await readWavFrames(path, () => [1000, 1500]);
        expect(Array.from(clip.samples), name).to.deep.equal(Array.from(full.subarray(1000, 1500)));
      }
      // What readWav refuses, the probe refuses with the same line.
      const alaw = join(scratch, 'alaw.wav');
      writeFileSync(alaw, buildWav({ formatCode: 6, bitsPerSample: 8, data: new Uint8Array(100) }));
      const expected = await readWav(alaw).then(() => 'accepted', (error: Error) => error.message);
      expect(expected).to.match(/A-law/);
      await expectInputError(probeWav(alaw), 'alaw.wav', expected.split(': ').slice(1).join(': '));
    });

    it('refuses a missing, empty, non-WAV or truncated file with one line naming it', async () => {
      const empty = join(scratch, 'empty.wav');
      const text = join(scratch, 'text.wav');
      const cut = join(scratch, 'cut.wav');
      writeFileSync(empty, '');
      writeFileSync(text, 'hello, not audio at all');
      writeFileSync(cut, truncatedWav(1, 16000));
      await expectInputError(probeWav(join(scratch, 'nope.wav')), 'nope.wav', 'file not found');
      await expectInputError(probeWav(empty), 'empty.wav', 'empty');
      await expectInputError(probeWav(text), 'text.wav', 'not a WAV file');
      await expectInputError(probeWav(cut), 'cut.wav', 'truncated');
    });
  });

  describe('libritts:', () => {
    it('lists every subset with speakers, chapters, transcripts and header durations', async () => {
      const dataset = await loadDataset(`libritts:${libri}`);
      expect(dataset.utterances).to.have.length(fixture.length);
      expect(dataset.badFiles).to.deep.equal([]);
      for (const expected of fixture) {
        const found = dataset.utterances.find((utterance) => utterance.id === expected.id)!;
        expect(found, expected.id).to.not.equal(undefined);
        expect(found).to.include({ speaker: expected.speaker, chapter: expected.chapter, subset: expected.subset, sampleRate: expected.sampleRate, text: expected.text });
        expect(found.originalText).to.equal(expected.text.toUpperCase());
        expect(found.durationSeconds).to.be.closeTo(expected.seconds, 1e-3);
      }
      expect(dataset.speakers.get('84')).to.deep.include({ sex: 'F', subset: 'dev-clean', name: 'Christie Nowak' });
    });

    it('selects subsets with ?subset=', async () => {
      const dataset = await loadDataset(`libritts:${libri}?subset=dev-clean,test-clean`);
      expect(new Set(dataset.utterances.map((utterance) => utterance.subset))).to.deep.equal(new Set(['dev-clean', 'test-clean']));
      expect(dataset.utterances).to.have.length(fixture.filter((u) => u.subset !== 'train-clean-100').length);
    });

    it('names an unknown subset and lists the ones there are', async () => {
      await expectInputError(loadDataset(`libritts:${libri}?subset=train-other-500`), 'no subset train-other-500', 'dev-clean', 'test-clean');
    });

    it('refuses a missing root, a file as root, and points a subset directory to its parent', async () => {
      await expectInputError(loadDataset(`libritts:${join(scratch, 'missing')}`), 'libritts:', 'does not exist');
      await expectInputError(loadDataset(`libritts:${join(libri, 'SPEAKERS.txt')}`), 'is not a directory');
      await expectInputError(loadDataset(`libritts:${join(libri, 'dev-clean')}`), `libritts:${libri}?subset=dev-clean`);
    });

    it('filters by duration', async () => {
      const all = await loadDataset(`libritts:${libri}`);
      const some = await loadDataset(`libritts:${libri}`, { minSeconds: 1, maxSeconds: 2 });
      expect(some.utterances.length).to.be.greaterThan(0).and.lessThan(all.utterances.length);
      for (const utterance of some.utterances) expect(utterance.durationSeconds).to.be.within(1, 2);
      expect(some.utterances.length).to.equal(fixture.filter((u) => u.seconds >= 1 && u.seconds <= 2).length);
      await expectInputError(loadDataset(`libritts:${libri}`, { minSeconds: 100 }), 'no utterance lasts between 100');
      expect(() => filterByDuration(all.utterances, { minSeconds: 3, maxSeconds: 1 })).to.throw(InputError, /min <= max/);
    });
  });

  describe('dir:', () => {
    let folder: string;
    before(() => {
      folder = join(scratch, 'folder');
      mkdirSync(join(folder, 'alice', 'day1'), { recursive: true });
      mkdirSync(join(folder, 'bob'), { recursive: true });
      writeFileSync(join(folder, 'loose.wav'), encodeWav(speechLike(0.5, 16000, 120, 2), 16000, 'pcm16'));
      writeFileSync(join(folder, 'alice', 'day1', 'a1.wav'), encodeWav(speechLike(1, 48000, 200, 3), 48000, 'float32'));
      writeFileSync(join(folder, 'alice', 'day1', 'a1.txt'), 'hello from alice\n');
      writeFileSync(join(folder, 'bob', 'b1.wav'), encodeWav(speechLike(0.75, 8000, 100, 4), 8000, 'pcm16'));
      writeFileSync(join(folder, 'bob', 'b2.flac'), 'fLaC not really');
      writeFileSync(join(folder, 'bob', 'broken.wav'), truncatedWav(1, 16000));
      writeFileSync(join(folder, 'bob', '.b3.wav.1234.tmp'), 'a temporary of an atomic write');
      writeFileSync(join(folder, 'notes.md'), 'not audio');
    });

    it('finds WAV files recursively, speakers from the first directory, sidecar transcripts', async () => {
      const dataset = await loadDataset(`dir:${folder}`);
      const byId = new Map(dataset.utterances.map((utterance) => [utterance.id, utterance]));
      expect([...byId.keys()].sort()).to.deep.equal(['alice/day1/a1', 'bob/b1', 'loose']);
      expect(byId.get('alice/day1/a1')).to.include({ speaker: 'alice', text: 'hello from alice', sampleRate: 48000 });
      expect(byId.get('bob/b1')).to.include({ speaker: 'bob', text: null, sampleRate: 8000 });
      expect(byId.get('loose')!.speaker).to.equal(null);
    });

    it('counts the unreadable and unsupported files instead of stopping, and logs each once', async () => {
      const lines: string[] = [];
      const dataset = await loadDataset(`dir:${folder}`, { log: (line) => lines.push(line) });
      expect(dataset.badFiles.map((bad) => bad.path).sort()).to.deep.equal([join(folder, 'bob', 'b2.flac'), join(folder, 'bob', 'broken.wav')]);
      expect(lines).to.have.length(2);
      expect(lines.find((line) => line.includes('broken.wav'))).to.match(/truncated/);
      expect(lines.find((line) => line.includes('b2.flac'))).to.match(/convert it to WAV/);
      expect(summarize(dataset.utterances, dataset.badFiles.length)).to.include({ utterances: 3, speakers: 2, bad_files: 2 });
    });

    it('refuses an empty folder and a missing one', async () => {
      const empty = join(scratch, 'empty-folder');
      mkdirSync(join(empty, 'sub'), { recursive: true });
      writeFileSync(join(empty, 'sub', 'readme.txt'), 'nothing here');
      await expectInputError(loadDataset(`dir:${empty}`), `dir:${empty}`, 'holds no usable WAV audio');
      await expectInputError(loadDataset(`dir:${join(scratch, 'nothing')}`), 'does not exist');
      const onlyBroken = join(scratch, 'only-broken');
      mkdirSync(onlyBroken);
      writeFileSync(join(onlyBroken, 'x.wav'), 'junk');
      await expectInputError(loadDataset(`dir:${onlyBroken}`), 'holds no usable WAV audio (1 unusable file)');
    });
  });

  describe('manifest:', () => {
    let audio: string;
    before(() => {
      audio = join(scratch, 'manifest-audio');
      mkdirSync(audio, { recursive: true });
      writeFileSync(join(audio, 'one.wav'), encodeWav(speechLike(1, 16000, 120, 5), 16000, 'pcm16'));
      writeFileSync(join(audio, 'two.wav'), encodeWav(speechLike(2, 24000, 180, 6), 24000, 'pcm16'));
    });

    it('reads JSONL: relative paths from the manifest, given durations kept, others probed', async () => {
      const path = join(scratch, 'train.jsonl');
      writeFileSync(
        path,
        [
          JSON.stringify({ path: 'manifest-audio/one.wav', text: 'one', speaker: 7 }),
          '',
          JSON.stringify({ audio_filepath: join(audio, 'two.wav'), duration: 2, speaker: 'x', id: 'second' }),
          JSON.stringify({ path: 'manifest-audio/missing.wav', text: 'gone' }),
        ].join('\n'),
      );
      const dataset = await loadDataset(`manifest:${path}`);
      expect(dataset.utterances.map((u) => u.id)).to.deep.equal(['manifest-audio/one', 'second']);
      const [one, two] = dataset.utterances;
      expect(one).to.include({ path: join(audio, 'one.wav'), text: 'one', speaker: '7', sampleRate: 16000 });
      expect(one.durationSeconds).to.be.closeTo(1, 1e-6);
      expect(two).to.include({ durationSeconds: 2, speaker: 'x', sampleRate: null });
      expect(dataset.badFiles).to.have.length(1);
      expect(dataset.badFiles[0].problem).to.equal('file not found');
    });

    it('reads CSV with a header row and quoted fields', async () => {
      const path = join(scratch, 'train.csv');
      writeFileSync(path, 'path,text,speaker,duration\nmanifest-audio/one.wav,"one, with a comma",s1,\nmanifest-audio/two.wav,two,s2,2.0\n');
      const dataset = await loadDataset(`manifest:${path}`);
      expect(dataset.utterances.map((u) => [u.text, u.speaker, u.durationSeconds])).to.deep.equal([
        ['one, with a comma', 's1', 1],
        ['two', 's2', 2],
      ]);
    });

    it('names the file and line of a malformed row', async () => {
      const jsonl = join(scratch, 'bad.jsonl');
      writeFileSync(jsonl, `${JSON.stringify({ path: 'a.wav' })}\n{"path": \n`);
      await expectInputError(loadDataset(`manifest:${jsonl}`), `${jsonl}:2`, 'not valid JSON');
      writeFileSync(jsonl, `${JSON.stringify({ text: 'no path' })}\n`);
      await expectInputError(loadDataset(`manifest:${jsonl}`), `${jsonl}:1`, 'no "path"');
      writeFileSync(jsonl, `${JSON.stringify({ path: 'manifest-audio/one.wav', duration: -1 })}\n`);
      await expectInputError(loadDataset(`manifest:${jsonl}`), `${jsonl}:1`, '"duration" must be a positive number');
      writeFileSync(jsonl, `${JSON.stringify({ path: 'manifest-audio/one.wav' })}\n${JSON.stringify({ path: 'manifest-audio/one.wav' })}\n`);
      await expectInputError(loadDataset(`manifest:${jsonl}`), 'appears twice');
      const csv = join(scratch, 'bad.csv');
      writeFileSync(csv, 'path,text\na.wav,"unclosed\n');
      await expectInputError(loadDataset(`manifest:${csv}`), csv, 'not a valid CSV manifest');
      writeFileSync(csv, 'file,text\nmanifest-audio/one.wav,x\n');
      await expectInputError(loadDataset(`manifest:${csv}`), `${csv}:2`, 'no "path"');
      await expectInputError(loadDataset(`manifest:${join(scratch, 'absent.jsonl')}`), 'absent.jsonl', 'file not found');
      writeFileSync(jsonl, '\n\n');
      await expectInputError(loadDataset(`manifest:${jsonl}`), 'holds no usable WAV audio');
    });

    it('lists a file with a sound header but NaN samples (only a full decode rejects it)', async () => {
      const path = join(scratch, 'nan.jsonl');
      writeFileSync(join(audio, 'nan.wav'), nanWav(0.5, 16000));
      writeFileSync(path, JSON.stringify({ path: 'manifest-audio/nan.wav' }) + '\n');
      const dataset = await loadDataset(`manifest:${path}`);
      expect(dataset.utterances).to.have.length(1);
    });
  });

  describe('speakerDisjointSplit', () => {
    const utterances: Utterance[] = [];
    for (let s = 0; s < 20; s++) {
      for (let k = 0; k < 5; k++) {
        utterances.push({ id: `${s}_${k}`, path: `/x/${s}_${k}.wav`, speaker: String(s), text: null, originalText: null, durationSeconds: 1 + s / 10, sampleRate: 16000, subset: null, chapter: null });
      }
    }
    it('keeps each speaker in one part, near the asked fractions, the same for the same seed', () => {
      const split = speakerDisjointSplit(utterances, { valid: 0.1, test: 0.1, seed: 3 });
      const speakersOf = (list: Utterance[]): Set<string> => new Set(list.map((u) => u.speaker!));
      const [train, valid, test] = [speakersOf(split.train), speakersOf(split.valid), speakersOf(split.test)];
      for (const speaker of valid) expect(train.has(speaker) || test.has(speaker)).to.equal(false);
      for (const speaker of test) expect(train.has(speaker)).to.equal(false);
      expect(split.train.length + split.valid.length + split.test.length).to.equal(utterances.length);
      const hours = (list: Utterance[]): number => list.reduce((sum, u) => sum + u.durationSeconds, 0);
      const total = hours(utterances);
      expect(hours(split.valid) / total).to.be.within(0.1, 0.2);
      expect(hours(split.test) / total).to.be.within(0.1, 0.2);
      expect(speakerDisjointSplit(utterances, { valid: 0.1, test: 0.1, seed: 3 })).to.deep.equal(split);
      const other = speakerDisjointSplit(utterances, { valid: 0.1, test: 0.1, seed: 4 });
      expect([...speakersOf(other.valid)]).to.not.deep.equal([...valid]);
    });
    it('refuses fractions that leave nothing to train on', () => {
      expect(() => speakerDisjointSplit(utterances, { valid: 0.6, test: 0.4, seed: 1 })).to.throw(InputError, /sum to less than 1/);
    });
  });
});
