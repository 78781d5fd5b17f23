import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { encodeWav } from '../../src/audio/index.js';
import { InputError } from '../../src/errors.js';
import { BatchLoader, loadDataset, loudnessGain, type Batch, type BatchLoaderOptions, type Utterance } from '../../src/datasets/index.js';
import { nanWav, speechLike, writeLibriTTSFixture } from './fixtures.js';

async function collect(utterances: readonly Utterance[], options: BatchLoaderOptions): Promise<{ batches: Batch[]; loader: BatchLoader }> {
  const loader = new BatchLoader(utterances, options);
  const batches: Batch[] = [];
  for await (const batch of loader) batches.push(batch);
  return { batches, loader };
}

/** Frequency of the strongest DFT bin of `x` (a plain O(n·bins) scan of 10 Hz steps: enough for one test tone). */
function dominantFrequency(x: Float32Array, sampleRate: number): number {
  let best = 0;
  let bestPower = -1;
  for (let f = 50; f < sampleRate / 2; f += 10) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < x.length; i++) {
      re += x[i] * Math.cos((2 * Math.PI * f * i) / sampleRate);
      im -= x[i] * Math.sin((2 * Math.PI * f * i) / sampleRate);
    }
    const power = re * re + im * im;
    if (power > bestPower) [best, bestPower] = [f, power];
  }
  return best;
}

describe('BatchLoader', function () {
  this.timeout(60_000);
  let scratch: string;
  let utterances: Utterance[];
  const quiet = (): void => undefined;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-pipeline-'));
    writeLibriTTSFixture(join(scratch, 'LibriTTS'));
    utterances = (await loadDataset(`libritts:${join(scratch, 'LibriTTS')}`)).utterances;
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('yields [batch, crop] Float32Arrays at the model rate with item metadata', async () => {
    const { batches, loader } = await collect(utterances, { sampleRate: 16000, cropSamples: 8000, batchSize: 4, seed: 1, workers: 1, log: quiet });
    expect(batches).to.have.length(Math.floor(utterances.length / 4));
    for (const batch of batches) {
      expect(batch.audio).to.be.instanceOf(Float32Array);
      expect(batch.audio.length).to.equal(4 * 8000);
      expect(batch).to.include({ batchSize: 4, cropSamples: 8000, sampleRate: 16000, epoch: 0 });
      for (const [row, item] of batch.items.entries()) {
        const source = utterances.find((u) => u.id === item.id)!;
        const atModelRate = Math.round(source.durationSeconds * 16000);
        expect(item.length).to.equal(Math.min(8000, atModelRate));
        expect(item.offset + item.length).to.be.at.most(atModelRate);
        // Rows shorter than the crop are zero after their valid samples.
        const tail = batch.audio.subarray(row * 8000 + item.length, (row + 1) * 8000);
        expect(tail.every((value) => value === 0)).to.equal(true);
      }
    }
    expect(new Set(batches.flatMap((b) => b.items.map((i) => i.id))).size).to.equal(batches.length * 4);
    expect(loader.stats).to.include({ batches: batches.length, crops: batches.length * 4, badFiles: 0 });
  });

  it('crops exactly where it says (same rate: the samples are the file\'s)', async () => {
    const path = join(scratch, 'ramp.wav');
    const ramp = new Float32Array(16000);
    for (let i = 0; i < ramp.length; i++) ramp[i] = Math.round(((i % 2000) - 1000) * 16) / 32768;
    writeFileSync(path, encodeWav(ramp, 16000, 'pcm16'));
    const utterance: Utterance = { id: 'ramp', path, speaker: null, text: null, originalText: null, durationSeconds: 1, sampleRate: 16000, subset: null, chapter: null };
    const { batches } = await collect([utterance], { sampleRate: 16000, cropSamples: 3000, batchSize: 1, seed: 5, epochs: 4, workers: 0, log: quiet });
    const offsets = batches.map((batch) => batch.items[0].offset);
    expect(new Set(offsets).size, 'random crops move').to.be.greaterThan(1);
    for (const batch of batches) {
      const { offset } = batch.items[0];
      expect(Array.from(batch.audio)).to.deep.equal(Array.from(ramp.subarray(offset, offset + 3000)));
    }
  });

  it('resamples to the model rate: a 24 kHz tone keeps its pitch at 16 kHz', async () => {
    const path = join(scratch, 'tone24k.wav');
    const tone = new Float32Array(24000);
    for (let i = 0; i < tone.length; i++) tone[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 24000);
    writeFileSync(path, encodeWav(tone, 24000, 'float32'));
    const utterance: Utterance = { id: 'tone', path, speaker: null, text: null, originalText: null, durationSeconds: 1, sampleRate: 24000, subset: null, chapter: null };
    const { batches } = await collect([utterance], { sampleRate: 16000, cropSamples: 4000, batchSize: 1, seed: 2, workers: 1, log: quiet });
    const crop = batches[0].audio;
    expect(dominantFrequency(crop, 16000)).to.equal(440);
    // No edge artefacts from cropping before resampling: the amplitude holds across the crop.
    let peak = 0;
    for (const value of crop) peak = Math.max(peak, Math.abs(value));
    expect(peak).to.be.closeTo(0.5, 0.01);
    expect(Math.abs(crop[0]) + Math.abs(crop[1])).to.be.greaterThan(0);
  });

  it('band-limits the asked share of crops to 4 kHz, at the crop positions the seed gives without it', async () => {
    const path = join(scratch, 'two-tones.wav');
    const tones = new Float32Array(32000);
    for (let i = 0; i < tones.length; i++) tones[i] = 0.3 * Math.sin((2 * Math.PI * 1000 * i) / 16000) + 0.3 * Math.sin((2 * Math.PI * 6000 * i) / 16000);
    writeFileSync(path, encodeWav(tones, 16000, 'float32'));
    const utterance: Utterance = { id: 'tones', path, speaker: null, text: null, originalText: null, durationSeconds: 2, sampleRate: 16000, subset: null, chapter: null };
    const options = { sampleRate: 16000, cropSamples: 4000, batchSize: 1, seed: 3, epochs: 40, workers: 0, log: quiet };
    const plain = (await collect([utterance], options)).batches;
    const mixed = (await collect([utterance], { ...options, narrowbandProbability: 0.5 })).batches;
    expect(mixed.map((b) => b.items[0].offset)).to.deep.equal(plain.map((b) => b.items[0].offset));
    /** Power of one frequency over the crop's middle (the resampler's edges left out). */
    const power = (x: Float32Array, frequency: number): number => {
      let re = 0;
      let im = 0;
      for (let i = 500; i < 3500; i++) {
        re += x[i] * Math.cos((2 * Math.PI * frequency * i) / 16000);
        im -= x[i] * Math.sin((2 * Math.PI * frequency * i) / 16000);
      }
      return (re * re + im * im) / 3000 ** 2;
    };
    let narrowed = 0;
    for (const [i, batch] of mixed.entries()) {
      // Each tone of amplitude 0.3 has power 0.0225 here; the 1 kHz one always survives.
      expect(power(batch.audio, 1000)).to.be.closeTo(0.0225, 0.002);
      if (power(batch.audio, 6000) < 1e-6) {
        narrowed++;
      } else {
        expect(Array.from(batch.audio)).to.deep.equal(Array.from(plain[i].audio));
      }
    }
    expect(narrowed).to.be.within(10, 30);
  });

  it('is deterministic for a seed, whatever the number of workers, and differs across seeds and epochs', async () => {
    const options = { sampleRate: 16000, cropSamples: 4000, batchSize: 3, seed: 11, epochs: 2, log: quiet };
    const inline = (await collect(utterances, { ...options, workers: 0 })).batches;
    const threaded = (await collect(utterances, { ...options, workers: 2, prefetch: 1 })).batches;
    expect(threaded.length).to.equal(inline.length);
    for (let i = 0; i < inline.length; i++) {
      expect(threaded[i].items).to.deep.equal(inline[i].items);
      expect(Buffer.from(threaded[i].audio.buffer).equals(Buffer.from(inline[i].audio.buffer))).to.equal(true);
    }
    const epochs = new Set(inline.map((b) => b.epoch));
    expect([...epochs]).to.deep.equal([0, 1]);
    const ids = (epoch: number): string[] => inline.filter((b) => b.epoch === epoch).flatMap((b) => b.items.map((i) => i.id));
    expect(ids(0)).to.not.deep.equal(ids(1));
    const reseeded = (await collect(utterances, { ...options, seed: 12, workers: 0 })).batches;
    expect(reseeded.flatMap((b) => b.items.map((i) => i.id))).to.not.deep.equal(inline.flatMap((b) => b.items.map((i) => i.id)));
    expect(inline.map((b) => b.step)).to.deep.equal(inline.map((_, i) => i));
  });

  it('starts at a given step with exactly the batches a run from step 0 yields there', async () => {
    for (const dropLast of [true, false]) {
      const options = { sampleRate: 16000, cropSamples: 2000, batchSize: 3, seed: 5, epochs: 3, workers: 0, dropLast, log: quiet };
      const full = (await collect(utterances, options)).batches;
      // Across an epoch boundary and from inside an epoch.
      for (const start of [1, Math.floor(full.length / 2), full.length - 1]) {
        const resumed = (await collect(utterances, { ...options, startStep: start })).batches;
        expect(resumed.map((b) => [b.step, b.epoch, b.index])).to.deep.equal(full.slice(start).map((b) => [b.step, b.epoch, b.index]));
        resumed.forEach((b, i) => {
          expect(b.items).to.deep.equal(full[start + i]!.items);
          expect(Buffer.from(b.audio.buffer).equals(Buffer.from(full[start + i]!.audio.buffer))).to.equal(true);
        });
      }
    }
  });

  it('keeps the listed order without shuffling, and keeps the last partial batch when asked', async () => {
    const { batches } = await collect(utterances, { sampleRate: 16000, cropSamples: 1000, batchSize: 4, seed: 1, shuffle: false, dropLast: false, workers: 0, log: quiet });
    expect(batches.flatMap((b) => b.items.map((i) => i.id))).to.deep.equal(utterances.map((u) => u.id));
    expect(batches[batches.length - 1].batchSize).to.equal(utterances.length % 4 || 4);
  });

  it('logs, counts and skips a bad file once, fills the batch from the next utterance, and goes on', async () => {
    const folder = join(scratch, 'with-bad');
    mkdirSync(folder);
    for (let k = 0; k < 5; k++) writeFileSync(join(folder, `good${k}.wav`), encodeWav(speechLike(0.5, 16000, 120 + k, k), 16000, 'pcm16'));
    writeFileSync(join(folder, 'poisoned.wav'), nanWav(0.5, 16000));
    const dataset = await loadDataset(`dir:${folder}`);
    expect(dataset.utterances).to.have.length(6);
    const lines: string[] = [];
    const { batches, loader } = await collect(dataset.utterances, { sampleRate: 16000, cropSamples: 8000, batchSize: 5, seed: 3, epochs: 3, workers: 1, log: (line) => lines.push(line) });
    expect(batches).to.have.length(3);
    for (const batch of batches) {
      expect(batch.batchSize).to.equal(5);
      expect(batch.items.map((i) => i.id)).to.not.include('poisoned');
    }
    expect(loader.stats.badFiles).to.equal(1);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include(join(folder, 'poisoned.wav'));
    expect(lines[0]).to.match(/NaN/);
  });

  it('stops with an InputError when no file can be read, never hangs', async () => {
    const folder = join(scratch, 'all-bad');
    mkdirSync(folder);
    for (let k = 0; k < 2; k++) writeFileSync(join(folder, `nan${k}.wav`), nanWav(0.3, 16000));
    const dataset = await loadDataset(`dir:${folder}`);
    let caught: unknown;
    try {
      await collect(dataset.utterances, { sampleRate: 16000, cropSamples: 8000, batchSize: 1, seed: 1, epochs: 2, workers: 1, log: quiet });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(InputError);
    expect((caught as InputError).message).to.match(/every file failed to read \(2\)/);
  });

  it('normalises loudness to the asked gated level (pauses do not count), never past full scale', async () => {
    // 1 s of a steady tone at an RMS of -20 dBFS, then 1 s of silence: plain RMS -23 dBFS, gated -20.
    const path = join(scratch, 'tone-pause.wav');
    const samples = new Float32Array(32000);
    const amplitude = Math.pow(10, -20 / 20) * Math.SQRT2;
    for (let i = 0; i < 16000; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * 250 * i) / 16000);
    writeFileSync(path, encodeWav(samples, 16000, 'float32'));
    const utterance: Utterance = { id: 'tp', path, speaker: null, text: null, originalText: null, durationSeconds: 2, sampleRate: 16000, subset: null, chapter: null };
    const { batches } = await collect([utterance], { sampleRate: 16000, cropSamples: 32000, batchSize: 1, seed: 1, loudnessDb: -26, workers: 0, log: quiet });
    let power = 0;
    for (const value of batches[0].audio.subarray(0, 16000)) power += value * value;
    expect(10 * Math.log10(power / 16000)).to.be.closeTo(-26, 0.05);
    expect(batches[0].audio.subarray(16000).every((value) => value === 0)).to.equal(true);

    const loudPeak = new Float32Array(1000).fill(0.001);
    loudPeak[10] = 0.9;
    expect(loudnessGain(loudPeak, 16000, -3) * loudPeak[10]).to.be.at.most(0.999 + 1e-12);
    expect(loudnessGain(new Float32Array(1000), 16000, -20)).to.equal(1);
  });

  it('refuses bad options with one line naming the option', () => {
    const base = { sampleRate: 16000, cropSamples: 1000, batchSize: 2, seed: 1 };
    const cases: [Partial<BatchLoaderOptions>, RegExp][] = [
      [{ cropSamples: 0 }, /cropSamples/],
      [{ batchSize: 2.5 }, /batchSize/],
      [{ epochs: 0 }, /epochs/],
      [{ workers: -1 }, /workers/],
      [{ loudnessDb: 3 }, /loudnessDb/],
      [{ narrowbandProbability: 1.5 }, /narrowbandProbability/],
      [{ batchSize: 1000 }, /more than the .* utterances/],
    ];
    for (const [change, message] of cases) {
      expect(() => new BatchLoader(utterances, { ...base, ...change }), JSON.stringify(change)).to.throw(InputError, message);
    }
    expect(() => new BatchLoader([], base)).to.throw(InputError, /no utterances/);
  });
});
