import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { loadCodecConfig } from '../../src/codec/presets.js';
import { CodecModel } from '../../src/codec/model.js';
import { initEngine } from '../../src/engine/index.js';
import { applyOverrides, parseRecipeRecords, quantizerBypassedAt, recipeTable, trainedModelSystem, validationCurve, type RecipeRecord } from '../../src/train/recipe.js';
import { tinyRuntimeConfig } from '../runtime/fixtures.js';

function record(variant: string, stoi: number | null, budget = 15): RecipeRecord {
  return {
    variant,
    description: '',
    base: 'speech-16k-0.9kbps',
    set: variant === 'control' ? {} : { 'training.learningRate': 0.0006 },
    budget_minutes: budget,
    train_minutes: budget,
    steps: 100,
    audio_hours_seen: 0.5,
    audio_s_per_s: 2,
    bitrate: 900,
    generator_parameters: 1,
    dev: { stoi, mel_distance: 3, stft_distance: 2, perplexity: 100, codes_used: 90, utterances: 33 },
    curve: [],
    data: 'd',
    dev_data: 'v',
    command: 'c',
    commit: 'x',
    date: 'now',
  };
}

describe('recipe comparisons', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });

  it('a variant sets dotted paths of the preset, optional fields too; an unknown field or a non-object parent fails', async () => {
    const base = await loadCodecConfig('speech-16k-0.9kbps');
    const config = applyOverrides(base, { name: 'hop-80', description: 'finer head', set: { 'decoder.upsample': 4, 'decoder.nFft': 320, 'training.learningRate': 0.0006 } });
    expect(config.name).to.equal('speech-16k-0.9kbps.hop-80');
    expect(config.decoder).to.include({ upsample: 4, nFft: 320 });
    expect(config.training.learningRate).to.equal(0.0006);
    expect(base.training.learningRate).to.equal(0.0002); // the base is not touched
    expect(() => applyOverrides(base, { name: 'typo', description: '', set: { 'training.learningrate': 1 } })).to.throw(/variant typo/);
    expect(() => applyOverrides(base, { name: 'deep', description: '', set: { 'latentDim.x': 1 } })).to.throw(/'latentDim\.x' is not a field/);
  });

  it('an autoencoder variant is scored without its quantizer while its quantizer has not started', async () => {
    const base = await loadCodecConfig('speech-16k-0.9kbps');
    const config = applyOverrides(base, { name: 'ae', description: '', set: { 'training.quantizerStartStep': 1000 } });
    expect(quantizerBypassedAt(config, 999)).to.equal(true);
    expect(quantizerBypassedAt(config, 1000)).to.equal(false);
    expect(quantizerBypassedAt(base, 0)).to.equal(false);
  });

  it('scores a long utterance in windows exactly as one pass over it (codes and audio)', async () => {
    const model = new CodecModel(tinyRuntimeConfig(), 4);
    const hop = model.hop;
    // 2,500 frames: three windows of the scorer's 1,000.
    const frames = 2500;
    const samples = Float32Array.from({ length: frames * hop }, (_, i) => 0.3 * Math.sin(i / 7) * Math.sin(i / 3000));
    const scored = await trainedModelSystem(model, { id: 'tiny', label: 'tiny', bypassQuantizer: false }).roundTrip(samples, 16000, '/nonexistent');
    const whole = tf.tidy(() => {
      const codes = model.encode(tf.tensor3d(samples, [1, 1, samples.length]));
      return { codes: Array.from(codes.dataSync()), audio: model.decode(codes).dataSync() as Float32Array };
    });
    expect(Array.from(scored.tokens!)).to.deep.equal(whole.codes);
    let worst = 0;
    for (let i = 0; i < whole.audio.length; i++) worst = Math.max(worst, Math.abs(scored.audio[i]! - whole.audio[i]!));
    expect(worst).to.be.below(1e-4);
    expect(scored.encodedBytes).to.equal(Math.ceil((frames * 6) / 8)); // K = 64: 6 bits a token
    const autoencoded = await trainedModelSystem(model, { id: 'tiny', label: 'tiny', bypassQuantizer: true }).roundTrip(samples.subarray(0, 100 * hop), 16000, '/nonexistent');
    expect(autoencoded.tokens).to.equal(undefined);
    expect(autoencoded.audio).to.have.length(100 * hop);
    model.dispose();
  });

  it('reads the validation curve against minutes, and tables the latest record of each variant, best STOI first', () => {
    const metrics = [
      JSON.stringify({ type: 'train', step: 10, train_seconds: 30 }),
      JSON.stringify({ type: 'validation', step: 20, stoi: 0.6, mel_distance: 3, train_seconds: 120 }),
      JSON.stringify({ type: 'validation', step: 5, stoi: 0.5, mel_distance: 4 }), // from before budgets: no time, left out
      JSON.stringify({ type: 'validation', step: 10, stoi: 0.55, mel_distance: 3.5, train_seconds: 60 }),
    ].join('\n');
    expect(validationCurve(metrics)).to.deep.equal([
      [1, 0.55, 3.5],
      [2, 0.6, 3],
    ]);
    const records = parseRecipeRecords([record('control', 0.5), record('lr-x3', 0.4), record('lr-x3', 0.7)].map((r) => JSON.stringify(r)).join('\n'));
    expect(records).to.have.length(2);
    const rows = recipeTable(records).trim().split('\n').slice(2);
    expect(rows[0]).to.match(/^\| 15 \| lr-x3 \| 0\.700 \|/);
    expect(rows[0]).to.include('`training.learningRate` = 0.0006');
    expect(rows[1]).to.match(/^\| 15 \| control \| 0\.500 \|.*nothing \(control\)/);
  });
});
