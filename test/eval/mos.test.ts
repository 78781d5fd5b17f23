import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { DNSMOS_WINDOW, DnsmosModel, UtmosModel } from '../../src/eval/mos.js';
import { CALIBRATED_BAK, CALIBRATED_OVRL, dnsmosLikeModel, utmosLikeModel } from './mos-models.js';

const sig = (x: number): number => -0.08397278 * x * x + 1.22083953 * x + 0.0052439;

describe('eval: UTMOS and DNSMOS on onnxruntime-node', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simvq-mos-'));
    await writeFile(join(dir, 'utmos.onnx'), utmosLikeModel());
    await writeFile(join(dir, 'renamed.onnx'), utmosLikeModel('audio', 'score'));
    await writeFile(join(dir, 'dnsmos.onnx'), dnsmosLikeModel());
    await writeFile(join(dir, 'text.onnx'), 'not a model');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('runs a model with the UTMOS signature on 16 kHz audio, resampling other rates', async () => {
    const model = await UtmosModel.load(join(dir, 'utmos.onnx'));
    try {
      const square = Float32Array.from({ length: 16_000 }, (_, i) => (i % 40 < 20 ? 0.5 : -0.5));
      expect(await model.score(square, 16_000)).to.be.closeTo(3, 1e-6);
      // A 200 Hz sine at 8 kHz keeps its mean |x| (2A/π) through the resampler.
      const sine = Float32Array.from({ length: 8000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 200 * i) / 8000));
      expect(await model.score(sine, 8000)).to.be.closeTo(1 + (4 * 2 * 0.5) / Math.PI, 2e-3);
    } finally {
      await model.dispose();
    }
  });

  it('names the file when the model is missing, not ONNX, or has the wrong input/output names', async () => {
    const failure = async (load: () => Promise<unknown>): Promise<string> => {
      try {
        await load();
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(await failure(() => UtmosModel.load(join(dir, 'none.onnx')))).to.equal(`${join(dir, 'none.onnx')}: UTMOS model: file not found`);
    expect(await failure(() => UtmosModel.load(join(dir, 'text.onnx')))).to.match(/text\.onnx: not an ONNX model onnxruntime can load/);
    expect(await failure(() => UtmosModel.load(join(dir, 'renamed.onnx')))).to.equal(
      `${join(dir, 'renamed.onnx')}: not a UTMOS model: expected input 'wave' and output 'mos', found inputs [audio] and outputs [score]`,
    );
    expect(await failure(() => DnsmosModel.load(join(dir, 'utmos.onnx')))).to.match(/utmos\.onnx: not a DNSMOS P\.835 model: expected input 'input_1'/);
  });

  it('scores DNSMOS over 9.01 s windows a second apart with the published calibration, repeating short audio', async () => {
    const model = await DnsmosModel.load(join(dir, 'dnsmos.onnx'));
    try {
      // 12 s where second s holds the constant s / 10: windows start at 0, 1 and 2 s.
      const audio = Float32Array.from({ length: 12 * 16_000 }, (_, i) => Math.floor(i / 16_000) / 10);
      const windowMean = (start: number): number => {
        let sum = 0;
        for (let s = start; s < start + 9; s++) sum += (s / 10) * 16_000;
        return (sum + ((start + 9) / 10) * 160) / DNSMOS_WINDOW;
      };
      const scores = await model.score(audio, 16_000);
      expect(scores.windows).to.equal(3);
      expect(scores.sig).to.be.closeTo((sig(windowMean(0)) + sig(windowMean(1)) + sig(windowMean(2))) / 3, 1e-4); // float32 sums in the model
      expect(scores.bak).to.be.closeTo(CALIBRATED_BAK, 1e-6);
      expect(scores.ovrl).to.be.closeTo(CALIBRATED_OVRL, 1e-6);
      // 4 s is doubled until it fills a window, to 16 s, as the reference scorer does: 7 windows.
      const short = await model.score(new Float32Array(64_000).fill(0.25), 16_000);
      expect(short.windows).to.equal(7);
      expect(short.sig).to.be.closeTo(sig(0.25), 1e-6);
    } finally {
      await model.dispose();
    }
  });
});
