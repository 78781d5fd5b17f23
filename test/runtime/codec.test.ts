/**
 * The Codec API on an exported tiny model: windowed encoding equals one run
 * over the whole input, both engines agree, resampling, batches, and what it
 * refuses.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { expect } from 'chai';

import { encodeWav, readWav, resample } from '../../src/audio/index.js';
import { initEngine } from '../../src/engine/index.js';
import { Codec, chooseEngine, type CodecTokens } from '../../src/runtime/codec.js';
import { exportTinyModel, tinyRuntimeConfig } from './fixtures.js';

describe('runtime: Codec', function () {
  this.timeout(120_000);
  let directory: string;
  let otherDirectory: string;
  let speech: Float32Array;
  let codec: Codec;

  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    const first = await exportTinyModel(tinyRuntimeConfig(), 3);
    const other = await exportTinyModel(tinyRuntimeConfig({ name: 'tiny-other' }), 4);
    first.model.dispose();
    other.model.dispose();
    directory = first.directory;
    otherDirectory = other.directory;
    speech = (await readWav('samples/speech-16k.wav')).samples;
    codec = await Codec.load(directory);
  });
  after(async () => {
    await codec.dispose();
    rmSync(dirname(directory), { recursive: true, force: true });
    rmSync(dirname(otherDirectory), { recursive: true, force: true });
  });

  it('loads on onnxruntime by default and says so; metadata from the manifest', () => {
    expect(codec.engine).to.equal('onnxruntime');
    expect([codec.modelId, codec.sampleRate, codec.hop, codec.frameRate, codec.codebookSize]).to.deep.equal(['tiny-runtime', 16000, 40, 400, 64]);
  });

  it('windowed encoding (7 new frames a run) gives the tokens of one run over the whole file', async () => {
    const whole = await Codec.load(directory, { encodeWindowFrames: 100_000 });
    const small = await Codec.load(directory, { encodeWindowFrames: 7 });
    try {
      const [a, b] = [await whole.encode(speech, 16000), await small.encode(speech, 16000)];
      expect(a.codes.length).to.equal(Math.ceil(speech.length / 40));
      expect(Array.from(b.codes)).to.deep.equal(Array.from(a.codes));
      // Decoding in windows too: within float rounding of one run.
      const [wholeDecoder, windowedDecoder] = [await Codec.load(directory, { decodeWindowFrames: 100_000 }), await Codec.load(directory, { decodeWindowFrames: 9 })];
      const [wholeAudio, windowed] = [await wholeDecoder.decode(a), await windowedDecoder.decode(a)];
      await wholeDecoder.dispose();
      await windowedDecoder.dispose();
      let worst = 0;
      for (let i = 0; i < wholeAudio.length; i++) worst = Math.max(worst, Math.abs(wholeAudio[i]! - windowed[i]!));
      expect(worst).to.be.below(1e-5);
      expect(windowed.length).to.equal(speech.length);
    } finally {
      await whole.dispose();
      await small.dispose();
    }
  });

  it('decodes to a WAV file window by window: the pieces are the audio of decode, the file its 16-bit encoding', async () => {
    const windowed = await Codec.load(directory, { decodeWindowFrames: 9 });
    try {
      const tokens = await windowed.encode(speech.subarray(0, 12_345), 16000);
      const audio = await windowed.decode(tokens);
      const pieces: Float32Array[] = [];
      for await (const piece of windowed.decodeChunks(tokens)) pieces.push(piece.slice());
      expect(pieces.length).to.be.above(10);
      const joined = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
      pieces.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
      expect(joined).to.deep.equal(audio);
      const path = join(dirname(directory), 'streamed.wav');
      expect(await windowed.decodeToWavFile(tokens, path)).to.deep.equal({ samples: 12_345 });
      expect(readFileSync(path).equals(Buffer.from(encodeWav(audio, 16000, 'pcm16')))).to.equal(true);
    } finally {
      await windowed.dispose();
    }
  });

  it('a WAV file read window by window gives the tokens of the buffer in memory', async () => {
    const path = join(dirname(directory), 'speech.wav');
    writeFileSync(path, encodeWav(speech, 16000, 'pcm16'));
    const fromFile = await codec.encodeWavFile(path);
    const fromBuffer = await codec.encode((await readWav(path)).samples, 16000);
    expect(Array.from(fromFile.codes)).to.deep.equal(Array.from(fromBuffer.codes));
    expect(fromFile.header).to.deep.equal(fromBuffer.header);
  });

  it('resamples other rates to the model rate with the project resampler', async () => {
    const at8k = await resample(speech, 16000, 8000);
    const tokens = await codec.encode(at8k, 8000);
    const expected = await codec.encode(await resample(at8k, 8000, 16000), 16000);
    expect(Array.from(tokens.codes)).to.deep.equal(Array.from(expected.codes));
    expect(tokens.header.originalLength).to.equal(Math.round(at8k.length * 2));
    expect((await codec.decode(tokens)).length).to.equal(tokens.header.originalLength);
  });

  it('the tfjs engine runs the same model: ≥ 99.9 % the same tokens, audio within 1e-4', async () => {
    const tfjs = await Codec.load(directory, { engine: 'tfjs' });
    try {
      expect(tfjs.engine).to.equal('tfjs');
      const clip = speech.subarray(0, 16000);
      const [a, b] = [await codec.encode(clip, 16000), await tfjs.encode(clip, 16000)];
      let same = 0;
      for (let i = 0; i < a.codes.length; i++) if (a.codes[i] === b.codes[i]) same++;
      expect(same / a.codes.length).to.be.at.least(0.999);
      const [x, y] = [await codec.decode(a), await tfjs.decode(a)];
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      expect(worst).to.be.at.most(1e-4);
    } finally {
      await tfjs.dispose();
    }
  });

  it('picks tfjs when onnxruntime cannot load, and says why', () => {
    expect(chooseEngine('auto', { ok: true }).engine).to.equal('onnxruntime');
    expect(chooseEngine('auto', { ok: false, reason: 'onnxruntime-node is not installed' })).to.deep.equal({ engine: 'tfjs', reason: 'onnxruntime-node is not installed; running the model on tfjs instead' });
    expect(() => chooseEngine('onnxruntime', { ok: false, reason: 'no binding' })).to.throw('engine: onnxruntime was requested but no binding');
  });

  it('batch variants equal one call per item', async () => {
    const items = [speech.subarray(0, 4000), speech.subarray(8000, 20000)];
    const batch = await codec.encodeBatch(items.map((samples) => ({ samples, sampleRate: 16000 })));
    for (const [i, samples] of items.entries()) expect(Array.from(batch[i]!.codes)).to.deep.equal(Array.from((await codec.encode(samples, 16000)).codes));
    const audio = await codec.decodeBatch(batch);
    expect(audio.map((a) => a.length)).to.deep.equal([4000, 12000]);
  });

  it('refuses tokens of another model, naming both, and bad samples', async () => {
    const other = await Codec.load(otherDirectory);
    try {
      const tokens = await other.encode(speech.subarray(0, 800), 16000);
      let message = '';
      await codec.decode(tokens, { source: 'a.svq' }).catch((error: Error) => (message = error.message));
      expect(message).to.match(/^a\.svq: tokens of model tiny-other \(hash [0-9a-f]{16}\) cannot be decoded by model tiny-runtime \(hash [0-9a-f]{16}\)$/);
    } finally {
      await other.dispose();
    }
    const fail = (promise: Promise<unknown>) => promise.then(() => '', (error: Error) => error.message);
    expect(await fail(codec.encode(new Float32Array(0), 16000))).to.equal('samples: no audio: 0 samples');
    expect(await fail(codec.encode(Float32Array.from([0, Number.NaN]), 16000, { source: 'x' }))).to.equal('x: sample 1 is NaN (NaN and infinities cannot be encoded)');
    const good = await codec.encode(speech.subarray(0, 400), 16000);
    good.codes[3] = 64;
    expect(await fail(codec.decode(good))).to.equal('tokens: code 64 at frame 3 is outside the codebook (K = 64)');
    // Not tokens at all, a header whose lengths disagree, absurd samples, a rate no resampler takes: typed, one line, named.
    expect(await fail(codec.decode(null as unknown as CodecTokens, { source: 'x.svq' }))).to.match(/^x\.svq: expected tokens as \{ header, codes/);
    const lying = await codec.encode(speech.subarray(0, 400), 16000);
    lying.header = { ...lying.header, originalLength: lying.header.originalLength * 3 };
    expect(await fail(codec.decode(lying, { source: 'y.svq' }))).to.match(/^y\.svq: inconsistent header: originalLength \d+ samples take \d+ frames/);
    expect(await fail(codec.encode(Float32Array.from([0, 1e30, 0.1]), 16000, { source: 'loud.wav' }))).to.match(/^loud\.wav: sample 1 is [\d.]+e\+30: audio is expected within ±1/);
    expect((await codec.encode(Float32Array.from({ length: 400 }, (_, i) => 1.5 * Math.sin(i / 5)), 16000)).codes.length).to.equal(400 / codec.hop);
    for (const rate of [1, 4e9]) {
      expect(await fail(codec.encode(speech.subarray(0, 4000), rate, { source: 'odd.wav' })), String(rate)).to.match(/^odd\.wav: cannot convert/);
    }
  });

  it('streams through the Codec: tokens equal encode, audio equals decode within 1e-4', async () => {
    const clip = speech.subarray(0, 16000 + 123);
    const tokens = await codec.encode(clip, 16000);
    const encoder = await codec.createEncodeStream();
    const streamed: number[] = [];
    encoder.on('data', (chunk: Uint32Array) => streamed.push(...chunk));
    // Uneven chunks, as a microphone would give them.
    for (let start = 0, size = 1; start < clip.length; start += size, size = (size * 7 + 3) % 997) encoder.write(clip.slice(start, start + size));
    await new Promise<void>((resolve, reject) => encoder.end(() => resolve()).on('error', reject));
    expect(streamed).to.deep.equal([...tokens.codes]);

    const decoded = await codec.decode(tokens);
    const decoder = await codec.createDecodeStream();
    const audio: number[] = [];
    decoder.on('data', (chunk: Float32Array) => audio.push(...chunk));
    for (let start = 0; start < tokens.codes.length; start += 5) decoder.write(tokens.codes.slice(start, start + 5));
    await new Promise<void>((resolve, reject) => decoder.end(() => resolve()).on('error', reject));
    // The stream gives whole frames; decode trims to the original length.
    expect(audio.length).to.equal(tokens.codes.length * codec.hop);
    let worst = 0;
    for (let i = 0; i < decoded.length; i++) worst = Math.max(worst, Math.abs(decoded[i]! - audio[i]!));
    expect(worst).to.be.below(1e-4);
  });

  it('refuses to stream a model that is not causal, saying why', async () => {
    const centred = await exportTinyModel(tinyRuntimeConfig({ causal: false, name: 'tiny-centred' }), 5);
    centred.model.dispose();
    const other = await Codec.load(centred.directory);
    try {
      const error = await other.createEncodeStream().catch((e: unknown) => e);
      expect(String(error)).to.include('causal');
    } finally {
      await other.dispose();
      rmSync(dirname(centred.directory), { recursive: true, force: true });
    }
  });
});
