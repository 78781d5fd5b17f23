import { expect } from 'chai';

import { StoiTooShortError, stoi } from '../../src/eval/stoi.js';
import { addNoise, delayed, modulatedTone, speech } from './signals.js';

/**
 * pystoi 0.4.1 on the same signals (test/eval/fixtures/stoi-reference.py prints
 * these). pystoi works in float64 throughout, as we do, so the scores agree to
 * far better than the 1e-6 asked here.
 */
const PYSTOI = {
  speech_noise_snr10: 0.9630728718691204,
  speech_noise_snr0: 0.8322960663312334,
  'speech_noise_snr-5': 0.7186882931573852,
  speech_delay80: 0.950560233622637,
  tone10000_noise_snr0: 0.7728855459759338,
  tone8000_noise_snr0: 0.7465969177885222,
};

describe('eval: STOI', () => {
  it('scores a signal against itself as 1', async () => {
    const { samples, sampleRate } = await speech();
    expect(stoi(samples, samples, sampleRate)).to.be.closeTo(1, 1e-12);
  });

  it("matches pystoi on speech with noise at 10, 0 and -5 dB SNR (16 kHz, through Octave's resampler)", async () => {
    const { samples, sampleRate } = await speech();
    for (const snr of [10, 0, -5] as const) {
      const expected = PYSTOI[`speech_noise_snr${snr}`];
      expect(stoi(samples, addNoise(samples, 7, snr), sampleRate), `SNR ${snr} dB`).to.be.closeTo(expected, 1e-6);
    }
  });

  it('matches pystoi on a 5 ms misalignment, which it punishes', async () => {
    const { samples, sampleRate } = await speech();
    const score = stoi(samples, delayed(samples, 80), sampleRate);
    expect(score).to.be.closeTo(PYSTOI.speech_delay80, 1e-6);
    expect(score).to.be.below(0.96);
  });

  it('matches pystoi at 10 kHz (no resampling) and at 8 kHz', () => {
    const at10k = modulatedTone(10_000, 3);
    expect(stoi(at10k, addNoise(at10k, 11, 0), 10_000)).to.be.closeTo(PYSTOI.tone10000_noise_snr0, 1e-6);
    const at8k = modulatedTone(8000, 3);
    expect(stoi(at8k, addNoise(at8k, 11, 0), 8000)).to.be.closeTo(PYSTOI.tone8000_noise_snr0, 1e-6);
  });

  it('falls as noise rises, and is unchanged by the overall level of the degraded signal', async () => {
    const { samples, sampleRate } = await speech();
    const noisy = addNoise(samples, 3, 0);
    const quieter = noisy.map((v) => v * 0.25);
    expect(stoi(samples, quieter, sampleRate)).to.be.closeTo(stoi(samples, noisy, sampleRate), 1e-9);
    expect(stoi(samples, addNoise(samples, 3, 5), sampleRate)).to.be.above(stoi(samples, noisy, sampleRate));
  });

  it('refuses signals of different lengths and audio shorter than one 384 ms segment', () => {
    const tone = modulatedTone(16_000, 1);
    expect(() => stoi(tone, tone.subarray(1), 16_000)).to.throw(/differ in length/);
    const short = modulatedTone(16_000, 0.3);
    expect(() => stoi(short, short, 16_000)).to.throw(StoiTooShortError, /fewer than the 30/);
  });
});
