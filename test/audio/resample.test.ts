import { expect } from 'chai';
import { InputError } from '../../src/errors.js';
import { resample, type ResampleQuality } from '../../src/audio/index.js';

function sine(frequency: number, sampleRate: number, length: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length }, (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
}

/**
 * Least-squares fit of a sinusoid at a known frequency over [start, end):
 * amplitude, and the delay in samples of its phase against sin(2 pi f t).
 */
function fitSine(y: Float32Array, frequency: number, sampleRate: number, start: number, end: number) {
  let inPhase = 0;
  let quadrature = 0;
  for (let i = start; i < end; i++) {
    const angle = (2 * Math.PI * frequency * i) / sampleRate;
    inPhase += y[i] * Math.sin(angle);
    quadrature += y[i] * Math.cos(angle);
  }
  const n = end - start;
  const amplitude = (2 * Math.hypot(inPhase, quadrature)) / n;
  const phase = Math.atan2(quadrature, inPhase);
  return { amplitude, delaySamples: (-phase / (2 * Math.PI * frequency)) * sampleRate };
}

function rms(y: Float32Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += y[i] * y[i];
  return Math.sqrt(sum / (end - start));
}

const dB = (ratio: number): number => 20 * Math.log10(ratio);

describe('audio/resample', () => {
  // Measured 48 kHz -> 16 kHz: gain error ~1e-6 dB at 1 kHz for every quality, and
  // phase delay ~1e-12 samples: the converter has no time shift.
  for (const quality of ['best', 'medium', 'fastest'] as ResampleQuality[]) {
    it(`${quality}: a 1 kHz sine keeps its amplitude (0.001 dB) and its timing (0.001 samples)`, async () => {
      const y = await resample(sine(1000, 48000, 24000), 48000, 16000, quality);
      const fit = fitSine(y, 1000, 16000, 1000, 7000);
      expect(Math.abs(dB(fit.amplitude / 0.5))).to.be.below(0.001);
      expect(Math.abs(fit.delaySamples)).to.be.below(0.001);
    });
  }

  it('best: the passband is flat to 7 kHz of the 8 kHz band (measured -2e-6 dB)', async () => {
    const y = await resample(sine(7000, 48000, 24000), 48000, 16000, 'best');
    expect(Math.abs(dB(fitSine(y, 7000, 16000, 1000, 7000).amplitude / 0.5))).to.be.below(0.01);
  });

  // Stopband: what is left of a full-scale sine above the new Nyquist frequency.
  // libsamplerate documents 145 / 121 / 97 dB SNR for best / medium / fastest;
  // measured worst cases over these tones: -147, -119, -100 dB.
  const stopbandFloor: Record<ResampleQuality, number> = { best: -130, medium: -110, fastest: -90 };
  for (const quality of ['best', 'medium', 'fastest'] as ResampleQuality[]) {
    it(`${quality}: tones above 8 kHz are rejected by at least ${-stopbandFloor[quality]} dB going 48 kHz -> 16 kHz`, async () => {
      for (const frequency of [9000, 10000, 15000, 20000]) {
        const y = await resample(sine(frequency, 48000, 24000, 1), 48000, 16000, quality);
        const level = dB(rms(y, 1000, 7000) / Math.SQRT1_2);
        expect(level, `${frequency} Hz`).to.be.below(stopbandFloor[quality]);
      }
    });
  }

  it('upsampling 16 kHz -> 24 kHz reproduces a 1 kHz sine without images (residual below -120 dB)', async () => {
    const y = await resample(sine(1000, 16000, 8000), 16000, 24000);
    const ideal = sine(1000, 24000, y.length);
    let error = 0;
    for (let i = 1000; i < y.length - 1000; i++) error = Math.max(error, Math.abs(y[i] - ideal[i]));
    expect(dB(error / 0.5)).to.be.below(-120);
  });

  it('returns exactly round(length * to / from) samples', async () => {
    const ratios: Array<[number, number]> = [
      [44100, 16000],
      [16000, 24000],
      [8000, 16000],
      [22050, 16000],
      [48000, 16000],
      [16000, 44100],
    ];
    for (const [from, to] of ratios) {
      for (const length of [1, 2, 3, 999, 44101, 70001]) {
        const y = await resample(sine(440, from, length), from, to, 'fastest');
        expect(y.length, `${length} samples ${from} -> ${to}`).to.equal(Math.round((length * to) / from));
      }
    }
  });

  it('keeps an impulse in place, at the edges too: the peak lands within half a sample of where it belongs', async () => {
    const ratios: Array<[number, number]> = [
      [48000, 16000],
      [44100, 16000],
      [16000, 24000],
      [8000, 16000],
      [22050, 16000],
    ];
    for (const [from, to] of ratios) {
      // Near the end, the peak is only there if the converter's withheld look-ahead was flushed.
      for (const position of [2, 1000, 4321, 7997]) {
        const x = new Float32Array(8000);
        x[position] = 1;
        const y = await resample(x, from, to);
        let peak = 0;
        for (let i = 1; i < y.length; i++) if (Math.abs(y[i]) > Math.abs(y[peak])) peak = i;
        expect(Math.abs(peak - (position * to) / from), `${from} -> ${to}, impulse at ${position}`).to.be.at.most(0.5);
      }
    }
  });

  it('a long input, converted in chunks, has no seams (5 s at 48 kHz within 1e-6 of the ideal sine)', async () => {
    const y = await resample(sine(440, 48000, 5 * 48000), 48000, 16000);
    expect(y.length).to.equal(5 * 16000);
    const ideal = sine(440, 16000, y.length);
    let error = 0;
    for (let i = 1000; i < y.length - 1000; i++) error = Math.max(error, Math.abs(y[i] - ideal[i]));
    expect(error).to.be.below(1e-6);
  });

  it('concurrent calls give the same results as one at a time', async () => {
    const a = sine(300, 44100, 30000);
    const b = sine(900, 16000, 20000);
    const [aTogether, bTogether] = await Promise.all([resample(a, 44100, 16000), resample(b, 16000, 24000)]);
    expect(Array.from(aTogether)).to.deep.equal(Array.from(await resample(a, 44100, 16000)));
    expect(Array.from(bTogether)).to.deep.equal(Array.from(await resample(b, 16000, 24000)));
  });

  it('accepts rates that are not whole numbers', async () => {
    const y = await resample(sine(1000, 44100.5, 44100), 44100.5, 16000);
    expect(y.length).to.equal(Math.round((44100 * 16000) / 44100.5));
    expect(Math.abs(dB(fitSine(y, 1000, 16000, 1000, 15000).amplitude / 0.5))).to.be.below(0.001);
  });

  it('returns a copy when the rates are equal, and empty for empty input', async () => {
    const x = sine(440, 16000, 100);
    const y = await resample(x, 16000, 16000);
    expect(y).not.to.equal(x);
    expect(Array.from(y)).to.deep.equal(Array.from(x));
    y[0] = 42;
    expect(x[0]).to.equal(0);
    expect((await resample(new Float32Array(0), 48000, 16000)).length).to.equal(0);
  });

  it('rejects rates that are not positive and finite, unknown qualities, and ratios libsamplerate cannot do', async () => {
    for (const [from, to] of [
      [0, 16000],
      [-16000, 16000],
      [16000, Number.NaN],
      [Number.POSITIVE_INFINITY, 16000],
    ]) {
      const error = await resample(new Float32Array(10), from, to).catch((e: unknown) => e);
      expect(error, `${from} -> ${to}`).to.be.instanceOf(InputError);
      expect((error as Error).message).to.match(/^(fromRate|toRate): must be a positive, finite sample rate in Hz/);
    }
    const badQuality = await resample(new Float32Array(10), 16000, 8000, 'toString' as ResampleQuality).catch((e: unknown) => e);
    expect(badQuality).to.be.instanceOf(InputError);
    const tooFar = await resample(new Float32Array(10), 100, 48000).catch((e: unknown) => e);
    expect(tooFar).to.be.instanceOf(InputError);
    expect((tooFar as Error).message).to.match(/cannot convert 100 Hz to 48000 Hz/);
  });
});
