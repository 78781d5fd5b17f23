import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { istft, stft } from '../../src/audio/index.js';
import { alignByCrossCorrelation } from '../../src/eval/align.js';
import { bitrateOfFile, setCodeUsage } from '../../src/eval/codes.js';
import { multiResolutionStftDistance, multiScaleMelDistance, siSnr } from '../../src/eval/distances.js';
import { mulberry32 } from '../helpers/random.js';
import { addNoise, delayed, speech } from './signals.js';

describe('eval: distances, alignment and code usage', () => {
  it('SI-SNR: infinite-like for a scaled copy, the SNR itself for white noise, and gain-independent', async () => {
    const { samples } = await speech();
    expect(siSnr(samples, samples.map((v) => v * 0.3))).to.be.above(100);
    // Uniform noise is nearly uncorrelated with speech, so SI-SNR ≈ the SNR it was mixed at.
    expect(siSnr(samples, addNoise(samples, 5, 10))).to.be.closeTo(10, 0.1);
    const noisy = addNoise(samples, 5, 0);
    expect(siSnr(samples, noisy)).to.be.closeTo(siSnr(samples, noisy.map((v) => v * 4)), 1e-6);
  });

  it('mel and STFT distances are 0 for identical signals and grow with the noise', async () => {
    const { samples, sampleRate } = await speech();
    expect(multiScaleMelDistance(samples, samples, sampleRate)).to.equal(0);
    expect(multiResolutionStftDistance(samples, samples)).to.equal(0);
    const [mild, strong] = [addNoise(samples, 5, 20), addNoise(samples, 5, 0)];
    // (full 4 s signals: the seven mel scales are the slow part of the eval suite)
    const melMild = multiScaleMelDistance(samples, mild, sampleRate);
    expect(melMild).to.be.above(0);
    expect(multiScaleMelDistance(samples, strong, sampleRate)).to.be.above(melMild);
    const stftMild = multiResolutionStftDistance(samples, mild);
    expect(stftMild).to.be.above(0);
    expect(multiResolutionStftDistance(samples, strong)).to.be.above(stftMild);
  });

  it('recovers a known codec delay by cross-correlation, in either direction, and undoes it', async () => {
    const { samples, sampleRate } = await speech();
    const late = delayed(addNoise(samples, 9, 10), 437);
    const found = alignByCrossCorrelation(samples, late, sampleRate);
    expect(found.delaySamples).to.equal(437);
    expect(found.delaySeconds).to.be.closeTo(437 / sampleRate, 1e-12);
    expect(siSnr(samples, found.aligned)).to.be.closeTo(10, 0.3);
    const early = samples.subarray(120);
    expect(alignByCrossCorrelation(samples, early, sampleRate).delaySamples).to.equal(-120);
  });

  it('takes the lag from band envelopes when the waveform does not correlate (a vocoder that makes its own phases)', async () => {
    const { samples, sampleRate } = await speech();
    // Same short-time magnitudes, seeded random phases: what a parametric codec such as Codec2 outputs.
    const options = { nFft: 256, hopLength: 64 };
    const spec = stft(samples, options);
    const rand = mulberry32(17);
    for (let i = 0; i < spec.re.length; i++) {
      const [magnitude, phase] = [Math.hypot(spec.re[i], spec.im[i]), 2 * Math.PI * rand()];
      spec.re[i] = magnitude * Math.cos(phase);
      spec.im[i] = magnitude * Math.sin(phase);
    }
    const scrambled = istft(spec, { ...options, length: samples.length });
    const found = alignByCrossCorrelation(samples, delayed(scrambled, 320), sampleRate);
    expect(found.method).to.equal('envelope');
    expect(found.waveformCorrelation).to.be.below(0.5);
    expect(found.delaySamples).to.be.within(320 - 16, 320 + 16); // within one 1 ms hop
    // A waveform codec keeps the exact, sample-level lag.
    expect(alignByCrossCorrelation(samples, delayed(samples, 320), sampleRate)).to.include({ method: 'waveform', delaySamples: 320 });
  });

  it('utilisation and perplexity over a set of streams', () => {
    const uniform = setCodeUsage([[0, 1, 2, 3], [0, 1, 2, 3]], 8);
    expect(uniform).to.include({ usedCodes: 4, tokens: 8, utilization: 0.5 });
    expect(uniform.perplexity).to.be.closeTo(4, 1e-12);
    expect(setCodeUsage([Uint16Array.of(5, 5, 5)], 8).perplexity).to.equal(1);
    expect(Array.from(setCodeUsage([[1, 1, 7]], 8).counts)).to.deep.equal([0, 2, 0, 0, 0, 0, 0, 1]);
    expect(() => setCodeUsage([[0, 8]], 8)).to.throw(/code id 8 is outside \[0, 8\)/);
  });

  it('bitrate from the size of a written file, and a missing file named in the error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simvq-eval-'));
    try {
      await writeFile(join(dir, 'tokens.bin'), new Uint8Array(450));
      expect(await bitrateOfFile(join(dir, 'tokens.bin'), 4)).to.equal(900);
      let message = '';
      await bitrateOfFile(join(dir, 'nope.bin'), 1).catch((error: Error) => (message = error.message));
      expect(message).to.equal(`${join(dir, 'nope.bin')}: file not found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
