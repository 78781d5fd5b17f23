import { expect } from 'chai';
import { InputError } from '../../src/errors.js';
import {
  hzToMel,
  logMelSpectrogram,
  melFilterbank,
  melToHz,
  powerSpectrogram,
  stft,
  type MelScale,
} from '../../src/audio/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

/** Row m of a row-major nMels x bins filterbank. */
function row(filters: Float32Array, bins: number, m: number): Float32Array {
  return filters.subarray(m * bins, (m + 1) * bins);
}

/** Band edges as librosa places them: nMels + 2 points equally spaced in mel. */
function bandEdges(nMels: number, fMin: number, fMax: number, scale: MelScale): number[] {
  const low = hzToMel(fMin, scale);
  const high = hzToMel(fMax, scale);
  return Array.from({ length: nMels + 2 }, (_, i) => melToHz(low + ((high - low) * i) / (nMels + 1), scale));
}

describe('audio/mel: scales', () => {
  it('htk: mel = 2595 log10(1 + f / 700), so 1 kHz is ~1000 mel and 700 Hz is 2595 log10 2', () => {
    expect(hzToMel(1000, 'htk')).to.be.closeTo(999.9855, 1e-4);
    expect(hzToMel(700, 'htk')).to.be.closeTo(2595 * Math.log10(2), 1e-9);
    expect(hzToMel(0, 'htk')).to.equal(0);
  });

  it('slaney: 3 mel per 200 Hz up to 1 kHz (15 mel), then 27 mel per factor 6.4', () => {
    expect(hzToMel(500)).to.be.closeTo(7.5, 1e-12);
    expect(hzToMel(1000)).to.be.closeTo(15, 1e-12);
    expect(hzToMel(6400)).to.be.closeTo(42, 1e-12);
    expect(hzToMel(6400 * 6.4)).to.be.closeTo(69, 1e-12);
    expect(melToHz(42)).to.be.closeTo(6400, 1e-9);
    expect(hzToMel(999.999)).to.be.closeTo(hzToMel(1000.001), 1e-4); // continuous at the knee
  });

  it('hzToMel and melToHz invert each other on both scales', () => {
    for (const scale of ['slaney', 'htk'] as MelScale[]) {
      for (const hz of [0, 20, 440, 999.5, 1000, 1000.5, 4000, 8000, 22050, 96000]) {
        expect(melToHz(hzToMel(hz, scale), scale), `${scale} ${hz} Hz`).to.be.closeTo(hz, 1e-9 * (1 + hz));
      }
    }
  });
});

describe('audio/mel: filterbank', () => {
  const sampleRate = 16000;
  const nFft = 2048;
  const bins = nFft / 2 + 1;
  const binHz = sampleRate / nFft;

  for (const scale of ['slaney', 'htk'] as MelScale[]) {
    it(`${scale}: each filter is a triangle over its band that peaks at its centre frequency`, () => {
      const nMels = 40;
      const filters = melFilterbank({ sampleRate, nFft, nMels, fMin: 50, fMax: 7600, scale, norm: null });
      expect(filters.length).to.equal(nMels * bins);
      const edges = bandEdges(nMels, 50, 7600, scale);
      for (let m = 0; m < nMels; m++) {
        const weights = row(filters, bins, m);
        const [lower, centre, upper] = [edges[m], edges[m + 1], edges[m + 2]];
        let peak = 0;
        for (let k = 0; k < bins; k++) if (weights[k] > weights[peak]) peak = k;
        // The peak is one of the two bins around the centre (the nearer one unless the slopes differ).
        expect(Math.abs(peak * binHz - centre), `filter ${m} peak`).to.be.below(binHz);
        let worst = 0;
        for (let k = 0; k < bins; k++) {
          const hz = k * binHz;
          const triangle = Math.max(0, Math.min((hz - lower) / (centre - lower), (upper - hz) / (upper - centre)));
          worst = Math.max(worst, Math.abs(weights[k] - triangle));
        }
        expect(worst, `filter ${m} against the triangle`).to.be.below(1e-6);
      }
    });
  }

  it('un-normalised filters sum to 1 between the first and last centre frequencies (a flat response)', () => {
    const nMels = 64;
    const filters = melFilterbank({ sampleRate, nFft, nMels, norm: null });
    const edges = bandEdges(nMels, 0, sampleRate / 2, 'slaney');
    let checked = 0;
    for (let k = 0; k < bins; k++) {
      const hz = k * binHz;
      if (hz < edges[1] || hz > edges[nMels]) continue;
      let sum = 0;
      for (let m = 0; m < nMels; m++) sum += filters[m * bins + k];
      expect(sum, `bin ${k}`).to.be.closeTo(1, 1e-5);
      checked++;
    }
    expect(checked).to.be.above(900);
  });

  it('slaney norm scales each triangle by 2 / bandwidth: unit area in Hz', () => {
    const nMels = 32;
    const plain = melFilterbank({ sampleRate, nFft: 8192, nMels, norm: null });
    const normed = melFilterbank({ sampleRate, nFft: 8192, nMels, norm: 'slaney' });
    const edges = bandEdges(nMels, 0, sampleRate / 2, 'slaney');
    const denseBins = 8192 / 2 + 1;
    const denseBinHz = sampleRate / 8192;
    for (let m = 0; m < nMels; m++) {
      const gain = 2 / (edges[m + 2] - edges[m]);
      let area = 0;
      let worst = 0;
      for (let k = 0; k < denseBins; k++) {
        const i = m * denseBins + k;
        worst = Math.max(worst, Math.abs(normed[i] - plain[i] * gain));
        area += normed[i] * denseBinHz;
      }
      expect(worst / gain, `filter ${m} scaling`).to.be.below(1e-6);
      expect(area, `filter ${m}`).to.be.closeTo(1, 0.02);
    }
  });

  it('defaults to librosa defaults: slaney scale, slaney norm, 0 Hz to Nyquist', () => {
    const explicit = melFilterbank({ sampleRate, nFft: 512, nMels: 40, fMin: 0, fMax: 8000, scale: 'slaney', norm: 'slaney' });
    expect(Array.from(melFilterbank({ sampleRate, nFft: 512, nMels: 40 }))).to.deep.equal(Array.from(explicit));
  });

  it('puts no weight outside fMin..fMax', () => {
    const filters = melFilterbank({ sampleRate, nFft, nMels: 20, fMin: 300, fMax: 3400 });
    for (let k = 0; k < bins; k++) {
      const hz = k * binHz;
      if (hz > 300 && hz < 3400) continue;
      for (let m = 0; m < 20; m++) expect(filters[m * bins + k], `filter ${m} at ${hz} Hz`).to.equal(0);
    }
  });

  it('rejects impossible settings', () => {
    expect(() => melFilterbank({ sampleRate: 0, nFft: 512, nMels: 40 })).to.throw(InputError, /^sampleRate: /);
    expect(() => melFilterbank({ sampleRate, nFft: 512, nMels: 0 })).to.throw(InputError, /^nMels: /);
    expect(() => melFilterbank({ sampleRate, nFft: 512, nMels: 40, fMin: 5000, fMax: 4000 })).to.throw(InputError, /fMin < fMax/);
  });
});

describe('audio/mel: log-mel spectrogram', () => {
  const sampleRate = 16000;
  const options = { sampleRate, nFft: 1024, hopLength: 256, nMels: 64 };

  it('puts a tone in the band around its frequency', () => {
    const edges = bandEdges(64, 0, sampleRate / 2, 'slaney');
    for (const frequency of [300, 1000, 2500, 6000]) {
      const x = Float32Array.from({ length: 8000 }, (_, n) => 0.5 * Math.sin((2 * Math.PI * frequency * n) / sampleRate));
      const { data, frames, nMels } = logMelSpectrogram(x, options);
      expect(nMels).to.equal(64);
      for (let t = 4; t < frames - 4; t++) {
        let loudest = 0;
        for (let m = 1; m < nMels; m++) if (data[t * nMels + m] > data[t * nMels + loudest]) loudest = m;
        expect(edges[loudest], `${frequency} Hz, frame ${t}`).to.be.below(frequency);
        expect(edges[loudest + 2], `${frequency} Hz, frame ${t}`).to.be.above(frequency);
      }
    }
  });

  it('is frame-major: silence then a tone gives floor frames then loud frames', () => {
    const x = new Float32Array(16000);
    for (let n = 8000; n < 16000; n++) x[n] = 0.5 * Math.sin((2 * Math.PI * 1000 * n) / sampleRate);
    const { data, frames, nMels } = logMelSpectrogram(x, options);
    expect(frames).to.equal(1 + Math.floor(16000 / 256));
    expect(data.length).to.equal(frames * nMels);
    const floor = Math.fround(Math.log(1e-5));
    const loudestOf = (t: number): number => Math.max(...data.subarray(t * nMels, (t + 1) * nMels));
    for (let t = 0; t < 25; t++) expect(loudestOf(t), `frame ${t}`).to.equal(floor);
    for (let t = 36; t < frames - 2; t++) expect(loudestOf(t), `frame ${t}`).to.be.above(0);
  });

  it('is the log of the filterbank applied to |X| (default) or |X|^2, clamped at logFloor', () => {
    const x = randomArray(mulberry32(5), 4000);
    const spec = stft(x, options);
    const power = powerSpectrogram(spec);
    const filters = melFilterbank({ sampleRate, nFft: 1024, nMels: 64 });
    const bins = spec.bins;
    for (const [exponent, logFloor] of [
      [1, 1e-5],
      [2, 0.5],
    ] as const) {
      const { data } = logMelSpectrogram(x, { ...options, power: exponent, logFloor });
      for (const t of [0, 5, spec.frames - 1]) {
        for (let m = 0; m < 64; m += 9) {
          let energy = 0;
          for (let k = 0; k < bins; k++) {
            const value = exponent === 1 ? Math.sqrt(power[t * bins + k]) : power[t * bins + k];
            energy += filters[m * bins + k] * value;
          }
          const expected = Math.log(Math.max(logFloor, energy));
          expect(data[t * 64 + m], `power ${exponent}, frame ${t}, band ${m}`).to.be.closeTo(expected, 1e-4);
        }
      }
    }
  });

  it('rejects a bad power or floor', () => {
    const x = new Float32Array(2048);
    expect(() => logMelSpectrogram(x, { ...options, power: 3 as 1 })).to.throw(InputError, /^power: must be 1 or 2/);
    expect(() => logMelSpectrogram(x, { ...options, logFloor: 0 })).to.throw(InputError, /^logFloor: /);
  });
});
