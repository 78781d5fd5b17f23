import { expect } from 'chai';
import { InputError } from '../../src/errors.js';
import { hannWindow, istft, magnitude, powerSpectrogram, stft, type Spectrogram } from '../../src/audio/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Bins of frame t. */
function frameOf(spec: Spectrogram, t: number): { re: Float32Array; im: Float32Array } {
  return { re: spec.re.subarray(t * spec.bins, (t + 1) * spec.bins), im: spec.im.subarray(t * spec.bins, (t + 1) * spec.bins) };
}

/** The textbook O(n^2) DFT, bins 0..n/2. */
function directDft(frame: ArrayLike<number>): { re: Float64Array; im: Float64Array } {
  const n = frame.length;
  const bins = Math.floor(n / 2) + 1;
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  for (let k = 0; k < bins; k++) {
    for (let t = 0; t < n; t++) {
      const angle = (-2 * Math.PI * ((k * t) % n)) / n;
      re[k] += frame[t] * Math.cos(angle);
      im[k] += frame[t] * Math.sin(angle);
    }
  }
  return { re, im };
}

describe('audio/stft: windows', () => {
  it('hannWindow is periodic by default and symmetric on request', () => {
    const periodic = hannWindow(8);
    expect(Array.from(periodic)).to.deep.equal(Array.from(Float32Array.from([0, 0.5 - 0.5 * Math.SQRT1_2, 0.5, 0.5 + 0.5 * Math.SQRT1_2, 1, 0.5 + 0.5 * Math.SQRT1_2, 0.5, 0.5 - 0.5 * Math.SQRT1_2])));
    const symmetric = hannWindow(9, false);
    expect(symmetric[0]).to.equal(0);
    expect(symmetric[8]).to.equal(0);
    expect(symmetric[4]).to.equal(1);
    for (let n = 0; n < 9; n++) expect(symmetric[n]).to.equal(symmetric[8 - n]);
    expect(Array.from(hannWindow(1))).to.deep.equal([1]);
    expect(hannWindow(0).length).to.equal(0);
  });

  it('periodic Hann windows at hop nFft/4 overlap-add to a constant (so istft divides by 1.5)', () => {
    const w = hannWindow(16);
    for (let n = 0; n < 4; n++) expect(w[n] + w[n + 4] + w[n + 8] + w[n + 12]).to.be.closeTo(2, 1e-6);
  });
});

describe('audio/stft: analysis', () => {
  it('counts frames as torch.stft does', () => {
    const x = new Float32Array(1000);
    const centred = stft(x, { nFft: 256, hopLength: 64 });
    expect(centred.frames).to.equal(1 + Math.floor(1000 / 64));
    expect(centred.bins).to.equal(129);
    expect(centred.re.length).to.equal(centred.frames * 129);
    expect(stft(x, { nFft: 256, hopLength: 64, center: false }).frames).to.equal(1 + Math.floor((1000 - 256) / 64));
    expect(stft(x, { nFft: 255, hopLength: 64 }).bins).to.equal(128);
  });

  it('puts a cosine at an exact bin frequency in that bin, with the Hann leakage of half into each neighbour', () => {
    const nFft = 512;
    const bin = 40;
    const amplitude = 0.8;
    const x = Float32Array.from({ length: 4096 }, (_, n) => amplitude * Math.cos((2 * Math.PI * bin * n) / nFft + 0.3));
    const spec = stft(x, { nFft, hopLength: 128 });
    const mag = magnitude(spec);
    // Frames whose window lies inside the signal (no padding involved).
    for (let t = 2; t < spec.frames - 2; t++) {
      const row = mag.subarray(t * spec.bins, (t + 1) * spec.bins);
      let peak = 0;
      for (let k = 1; k < spec.bins; k++) if (row[k] > row[peak]) peak = k;
      expect(peak).to.equal(bin);
      // Sum of the periodic Hann window is nFft/2; a cosine puts amplitude/2 in its bin.
      expect(row[bin]).to.be.closeTo((amplitude * nFft) / 4, 1e-3);
      expect(row[bin - 1]).to.be.closeTo((amplitude * nFft) / 8, 1e-3);
      expect(row[bin + 1]).to.be.closeTo((amplitude * nFft) / 8, 1e-3);
      for (let k = 0; k < spec.bins; k++) {
        if (Math.abs(k - bin) > 1) expect(row[k], `frame ${t} bin ${k}`).to.be.below(1e-3);
      }
    }
  });

  it('satisfies Parseval for one rectangular-window frame (one-sided bins counted twice, DC and Nyquist once)', () => {
    for (const nFft of [256, 255, 1280]) {
      const x = randomArray(mulberry32(nFft), nFft);
      const spec = stft(x, { nFft, hopLength: nFft, center: false, window: new Float32Array(nFft).fill(1) });
      expect(spec.frames).to.equal(1);
      let timeEnergy = 0;
      for (const v of x) timeEnergy += v * v;
      let spectralEnergy = 0;
      for (let k = 0; k < spec.bins; k++) {
        const power = spec.re[k] ** 2 + spec.im[k] ** 2;
        const selfConjugate = k === 0 || (nFft % 2 === 0 && k === nFft / 2);
        spectralEnergy += selfConjugate ? power : 2 * power;
      }
      expect(spectralEnergy / nFft, `nFft ${nFft}`).to.be.closeTo(timeEnergy, 1e-5 * timeEnergy);
    }
  });

  it('matches a direct DFT for power-of-two and other frame sizes', () => {
    for (const nFft of [512, 1280, 1023, 400]) {
      const x = randomArray(mulberry32(nFft + 1), nFft);
      const window = hannWindow(nFft);
      const spec = stft(x, { nFft, hopLength: nFft, center: false });
      const expected = directDft(Array.from(x, (v, n) => v * window[n]));
      const scale = Math.sqrt(nFft);
      expect(maxAbsDifference(spec.re, expected.re) / scale, `re, nFft ${nFft}`).to.be.below(1e-6);
      expect(maxAbsDifference(spec.im, expected.im) / scale, `im, nFft ${nFft}`).to.be.below(1e-6);
    }
  });

  it('centres a shorter window in the frame and pads the signal by reflection or with zeros', () => {
    const x = randomArray(mulberry32(7), 300);
    const nFft = 64;
    const window = hannWindow(40);
    const framed = new Float32Array(nFft);
    framed.set(window, 12);
    const reflected = (i: number): number => x[Math.abs(i)];
    for (const padMode of ['reflect', 'constant'] as const) {
      const spec = stft(x, { nFft, hopLength: 16, winLength: 40, padMode });
      // Frame 1 starts 32 - 16 = 16 samples before the signal.
      const frame = Array.from({ length: nFft }, (_, n) => {
        const i = n - 16;
        const value = i >= 0 ? x[i] : padMode === 'reflect' ? reflected(i) : 0;
        return value * framed[n];
      });
      const expected = directDft(frame);
      const got = frameOf(spec, 1);
      expect(maxAbsDifference(got.re, expected.re), padMode).to.be.below(1e-5);
      expect(maxAbsDifference(got.im, expected.im), padMode).to.be.below(1e-5);
    }
  });

  it('reflect padding folds back and forth when the signal is shorter than the padding', () => {
    const x = Float32Array.of(1, 2, 3);
    const spec = stft(x, { nFft: 16, hopLength: 4, window: new Float32Array(16).fill(1) });
    // numpy.pad([1, 2, 3], 8, 'reflect') = 1 2 3 2 1 2 3 2 | 1 2 3 | 2 1 2 3 2 1 2 3
    const padded = [1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3];
    const expected = directDft(padded.slice(0, 16));
    expect(maxAbsDifference(frameOf(spec, 0).re, expected.re)).to.be.below(1e-5);
  });

  it('magnitude and power agree with each other and with the complex values', () => {
    const spec = stft(randomArray(mulberry32(3), 2048), { nFft: 256, hopLength: 64 });
    const mag = magnitude(spec);
    const power = powerSpectrogram(spec);
    for (let i = 0; i < mag.length; i += 7) {
      expect(mag[i]).to.be.closeTo(Math.hypot(spec.re[i], spec.im[i]), 1e-5 * (1 + mag[i]));
      expect(power[i]).to.be.closeTo(mag[i] * mag[i], 1e-4 * (1 + power[i]));
    }
  });
});

describe('audio/stft: synthesis', () => {
  const settings: Array<{ nFft: number; hopLength: number; winLength?: number }> = [
    { nFft: 512, hopLength: 128 },
    { nFft: 512, hopLength: 256 },
    { nFft: 1024, hopLength: 256 },
    { nFft: 1024, hopLength: 512 },
    { nFft: 1280, hopLength: 320 },
    { nFft: 512, hopLength: 100, winLength: 400 },
  ];
  for (const options of settings) {
    it(`istft(stft(x)) reconstructs noise to 1e-5 (nFft ${options.nFft}, hop ${options.hopLength}${options.winLength ? `, window ${options.winLength}` : ''})`, () => {
      const x = randomArray(mulberry32(options.nFft * 7 + options.hopLength), 12345);
      const y = istft(stft(x, options), { ...options, length: x.length });
      expect(maxAbsDifference(y, x)).to.be.below(1e-5);
    });
  }

  it('without length, returns what the frames cover: the input length when it is a multiple of the hop', () => {
    const x = randomArray(mulberry32(11), 4096);
    const y = istft(stft(x, { nFft: 512, hopLength: 128 }), { nFft: 512, hopLength: 128 });
    expect(y.length).to.equal(4096);
    expect(maxAbsDifference(y, x)).to.be.below(1e-5);
  });

  it('pads with zeros past the frames when asked for a longer output', () => {
    const x = randomArray(mulberry32(12), 1024);
    const y = istft(stft(x, { nFft: 256, hopLength: 64 }), { nFft: 256, hopLength: 64, length: 2000 });
    expect(y.length).to.equal(2000);
    expect(maxAbsDifference(y.subarray(0, 1024), x)).to.be.below(1e-5);
    expect(y.subarray(1024 + 128).every((v) => v === 0)).to.equal(true);
  });

  it('without center padding, reconstructs wherever the windows overlap and leaves the unreachable first sample at 0', () => {
    const x = randomArray(mulberry32(13), 2048);
    const options = { nFft: 256, hopLength: 64, center: false };
    const y = istft(stft(x, options), options);
    expect(y.length).to.equal(2048);
    expect(y[0]).to.equal(0);
    expect(maxAbsDifference(y.subarray(64, 1984), x.subarray(64, 1984))).to.be.below(1e-5);
  });
});

describe('audio/stft: bad options', () => {
  const x = new Float32Array(1000);
  it('rejects impossible sizes with an InputError naming the option', () => {
    expect(() => stft(x, { nFft: 256, hopLength: 0 })).to.throw(InputError, /^hopLength: must be an integer >= 1, got 0$/);
    expect(() => stft(x, { nFft: 1.5, hopLength: 1 })).to.throw(InputError, /^nFft: /);
    expect(() => stft(x, { nFft: 256, hopLength: 64, winLength: 300 })).to.throw(InputError, /^winLength: must be at most nFft = 256/);
    expect(() => stft(x, { nFft: 256, hopLength: 64, window: new Float32Array(100), winLength: 128 })).to.throw(
      InputError,
      /^window: has 100 values but winLength is 128$/,
    );
    expect(() => stft(new Float32Array(0), { nFft: 256, hopLength: 64 })).to.throw(InputError, /the signal is empty/);
    expect(() => stft(new Float32Array(100), { nFft: 256, hopLength: 64, center: false })).to.throw(InputError, /fewer than nFft/);
  });

  it('rejects a spectrogram that does not fit the settings', () => {
    const spec = stft(x, { nFft: 256, hopLength: 64 });
    expect(() => istft(spec, { nFft: 512, hopLength: 64 })).to.throw(InputError, /has 129 bins but nFft = 512 needs 257/);
    expect(() => istft({ ...spec, frames: spec.frames + 1 }, { nFft: 256, hopLength: 64 })).to.throw(InputError, /frames \* bins/);
  });
});
