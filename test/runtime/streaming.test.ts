/**
 * Streaming encode/decode: the step graphs run as Node streams give what the
 * whole-file model gives, for any chunking of the input: tokens equal, audio
 * within 1e-4. Tiny configs derived from the speech preset (same strides, hop
 * 320 and nFft 1280; few channels, K = 64) keep it fast; every weight, biases
 * included, is moved off its initial value so the graphs must carry them all.
 */
import { Readable } from 'node:stream';

import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { readWav } from '../../src/audio/index.js';
import { type CodecConfig, type SeanetEncoderConfig } from '../../src/codec/config.js';
import { loadCodecConfig } from '../../src/codec/presets.js';
import { CodecModel } from '../../src/codec/model.js';
import { initEngine } from '../../src/engine/index.js';
import { InputError } from '../../src/errors.js';
import { exportStreamingOnnx } from '../../src/export/streaming.js';
import {
  padToHop,
  StreamingDecoder,
  StreamingEncoder,
  type DecodeStream,
  type EncodeStream,
} from '../../src/runtime/streaming/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

/** The decoder, or 'stft-encoder' for the STFT encoder with the plain Vocos decoder. */
type DecoderKind = 'vocos' | 'vocos-upsampled' | 'seanet' | 'stft-encoder';

async function tinyConfig(decoder: DecoderKind, lstmLayers: number): Promise<CodecConfig> {
  const preset = await loadCodecConfig('speech-16k-0.9kbps');
  return {
    ...preset,
    name: `tiny-stream-${decoder}`,
    latentDim: 8,
    encoder:
      decoder === 'stft-encoder'
        ? { type: 'stft', hop: 320, nFft: 640, dim: 16, intermediateDim: 32, layers: 2, kernelSize: 3, latentNorm: preset.encoder.latentNorm }
        : { ...(preset.encoder as SeanetEncoderConfig), channels: 4, lstmLayers, latentNorm: lstmLayers > 0 ? 'layer' : preset.encoder.latentNorm },
    quantizer: { ...preset.quantizer, codebookSize: 64 },
    decoder: {
      vocos: { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 1280 },
      'stft-encoder': { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 1280 },
      // Four spectra a token, an inverse STFT at hop 80.
      'vocos-upsampled': { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 320, upsample: 4, upsampledLayers: 1 },
      seanet: { type: 'seanet', channels: 2, dilations: [1, 3], kernelSize: 7, residualKernelSize: 3, compress: 2, lstmLayers: 1 },
    }[decoder] as CodecConfig['decoder'],
  };
}

/** Moves every codec weight (not the quantizer's) off its initial value, biases included. */
function perturb(model: CodecModel, seed: number): void {
  const rand = mulberry32(seed);
  for (const [name, variable] of model.parameters.named()) {
    if (name.startsWith('quantizer')) continue;
    const noise = () => tf.tensor(randomArray(rand, variable.size), variable.shape).sub(0.5);
    variable.assign(tf.tidy(() => variable.mul(noise().mul(0.4).add(1)).add(noise().mul(0.01))));
  }
}

/** Chunk sizes for `total` items: runs of 1s, small, hop-sized and many-frame chunks, in random order. */
function randomChunks(total: number, seed: number, hop: number): number[] {
  const rand = mulberry32(seed);
  // Always some 1s, and at least one chunk of many frames.
  const sizes: number[] = [1, 1, Math.min(total - 2, 15 * hop)];
  let left = total - sizes.reduce((a, b) => a + b, 0);
  while (left > 0) {
    const kind = Math.floor(rand() * 5);
    const size = kind === 0 ? 1 : kind === 1 ? 1 + Math.floor(rand() * 7) : kind === 2 ? 1 + Math.floor(rand() * 2 * hop) : kind === 3 ? hop : 1 + Math.floor(rand() * 15 * hop);
    sizes.push(Math.min(size, left));
    left -= sizes[sizes.length - 1]!;
  }
  // Shuffled, so the 1s and the big chunk fall anywhere in the stream.
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!];
  }
  return sizes;
}

function chunked<T extends { subarray(start: number, end: number): T }>(values: T, sizes: number[]): T[] {
  const out: T[] = [];
  let start = 0;
  for (const size of sizes) {
    out.push(values.subarray(start, start + size));
    start += size;
  }
  return out;
}

/** Writes `chunks` through `stream` and gathers what comes out, in order. */
async function through<In, Out>(stream: EncodeStream | DecodeStream, chunks: In[]): Promise<Out[]> {
  const outputs: Out[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Out) => outputs.push(chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  Readable.from(chunks, { objectMode: true }).pipe(stream);
  await done;
  return outputs;
}

function concatFloat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

interface Fixture {
  model: CodecModel;
  encoder: StreamingEncoder;
  decoder: StreamingDecoder;
  audio: Float32Array;
  /** The whole-file model's tokens and audio for `audio` (zero-padded to whole hops). */
  tokens: number[];
  decoded: Float32Array;
}

async function fixture(decoderType: DecoderKind, lstmLayers: number, seed: number): Promise<Fixture> {
  const config = await tinyConfig(decoderType, lstmLayers);
  const model = new CodecModel(config, seed);
  perturb(model, seed + 1);
  // Exported before the whole-file run below: exporting must leave the model's weights alive.
  const graphs = exportStreamingOnnx(model);
  const encoder = await StreamingEncoder.load(graphs.encoder, { hop: model.hop });
  const decoder = await StreamingDecoder.load(graphs.decoder, { hop: model.hop, codebookSize: config.quantizer.codebookSize });
  // Speech, 40 hops and a partial one: the flush must pad the last frame as the whole-file encoder does.
  const speech = (await readWav('samples/speech-16k.wav')).samples;
  const audio = speech.slice(8000, 8000 + 40 * model.hop + 123);
  // Ending in digital silence, as many files do.
  audio.fill(0, 38 * model.hop);
  const padded = padToHop(audio, model.hop);
  const codes = tf.tidy(() => model.encode(tf.tensor3d(padded, [1, 1, padded.length])));
  const tokens = Array.from(codes.dataSync());
  const decodedTensor = model.decode(codes);
  const decoded = decodedTensor.dataSync() as Float32Array;
  tf.dispose([codes, decodedTensor]);
  return { model, encoder, decoder, audio, tokens, decoded };
}

describe('streaming encode/decode', function () {
  this.timeout(120_000);
  const variants = [['vocos', 0, 10], ['vocos-upsampled', 0, 30], ['stft-encoder', 0, 43], ['seanet', 1, 20]] as const;
  const fixtures: Fixture[] = [];
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    for (const [decoderType, lstmLayers, seed] of variants) fixtures.push(await fixture(decoderType, lstmLayers, seed));
  });
  after(async () => {
    for (const f of fixtures) {
      await f.encoder.release();
      await f.decoder.release();
      f.model.dispose();
    }
  });

  variants.forEach(([decoderType, lstmLayers, seed], variant) => {
    describe(`${decoderType} decoder, ${lstmLayers} encoder LSTM layer(s)`, () => {
      let f: Fixture;
      before(() => {
        f = fixtures[variant]!;
        // Not a vacuous comparison: the whole-file tokens vary frame to frame.
        expect(f.tokens).to.have.length(41);
        expect(new Set(f.tokens).size).to.be.at.least(8);
      });

      for (const [label, chunkSeed, maxFramesPerStep] of [['random chunks', 1, 50], ['random chunks, 3 frames a step', 2, 3]] as const) {
        it(`encodes ${label} to the whole-file tokens`, async () => {
          const sizes = randomChunks(f.audio.length, chunkSeed + seed, f.model.hop);
          expect(sizes).to.include(1);
          expect(Math.max(...sizes)).to.be.above(5 * f.model.hop);
          const out = await through<Float32Array, Uint32Array>(f.encoder.stream({ maxFramesPerStep }), chunked(f.audio, sizes));
          expect(out.every((c) => c instanceof Uint32Array)).to.equal(true);
          expect(out.flatMap((c) => Array.from(c))).to.deep.equal(f.tokens);
        });

        it(`decodes ${label} of tokens to the whole-file audio within 1e-4`, async () => {
          const sizes = randomChunks(f.tokens.length, chunkSeed + seed + 100, 4);
          expect(sizes).to.include(1);
          const out = await through<Uint32Array, Float32Array>(f.decoder.stream({ maxFramesPerStep }), chunked(Uint32Array.from(f.tokens), sizes));
          expect(maxAbsDifference(concatFloat(out), f.decoded)).to.be.below(1e-4);
        });
      }

      it('encodes one sample at a time, emitting each token as its frame completes', async () => {
        const stream = f.encoder.stream();
        const emitted: number[] = [];
        stream.on('data', (chunk: Uint32Array) => emitted.push(...chunk));
        const hop = f.model.hop;
        const write = (sample: Float32Array) => new Promise<void>((resolve, reject) => stream.write(sample, (error) => (error ? reject(error) : resolve())));
        for (let i = 0; i < 3 * hop; i++) {
          await write(f.audio.subarray(i, i + 1));
          await new Promise((resolve) => setImmediate(resolve));
          // After sample i, exactly the frames whose last sample has arrived are out.
          expect(emitted.length, `after sample ${i}`).to.equal(Math.floor((i + 1) / hop));
        }
        expect(emitted).to.deep.equal(f.tokens.slice(0, 3));
        stream.destroy();
      });
    });
  });

  it('decodes as it goes: each token gives its hop of samples at once', async () => {
    const f = fixtures[0]!;
    const stream = f.decoder.stream();
    const pieces: Float32Array[] = [];
    stream.on('data', (chunk: Float32Array) => pieces.push(chunk));
    for (let t = 0; t < 3; t++) {
      await new Promise<void>((resolve, reject) => stream.write(Uint32Array.of(f.tokens[t]!), (error) => (error ? reject(error) : resolve())));
      await new Promise((resolve) => setImmediate(resolve));
      expect(pieces.length).to.equal(t + 1);
      expect(pieces[t]!.length).to.equal(f.model.hop);
    }
    expect(maxAbsDifference(concatFloat(pieces), f.decoded.subarray(0, 3 * f.model.hop))).to.be.below(1e-4);
    stream.destroy();
  });

  it('refuses what it cannot stream: a non-causal codec, bad chunks, NaN samples, ids outside the codebook', async () => {
    const f = fixtures[0]!;
    const centred = new CodecModel({ ...(await tinyConfig('vocos', 0)), causal: false }, 1);
    expect(() => exportStreamingOnnx(centred)).to.throw(InputError, /only a causal codec can stream/);
    centred.dispose();
    const failure = async (stream: EncodeStream | DecodeStream, chunk: unknown) => {
      try {
        await through(stream, [chunk]);
      } catch (error) {
        return error;
      }
      return null;
    };
    expect(await failure(f.encoder.stream(), 'pcm')).to.be.instanceOf(InputError).with.property('message').match(/Float32Array/);
    expect(await failure(f.encoder.stream(), Float32Array.of(0, NaN))).to.be.instanceOf(InputError).with.property('message').match(/sample 1 is NaN/);
    expect(await failure(f.decoder.stream(), Uint32Array.of(3, 64))).to.be.instanceOf(InputError).with.property('message').match(/token 1 is 64, outside the codebook \[0, 64\)/);
    expect(await failure(f.decoder.stream(), [1.5])).to.be.instanceOf(InputError);
  });

  it('an empty stream gives no tokens, and a stream shorter than a hop gives one', async () => {
    const f = fixtures[0]!;
    expect(await through(f.encoder.stream(), [])).to.deep.equal([]);
    const short = f.audio.subarray(0, 100);
    const padded = padToHop(short, f.model.hop);
    const expected = tf.tidy(() => Array.from(f.model.encode(tf.tensor3d(padded, [1, 1, padded.length])).dataSync()));
    const out = await through<Float32Array, Uint32Array>(f.encoder.stream(), [short]);
    expect(out.flatMap((c) => Array.from(c))).to.deep.equal(expected);
  });
});

describe('examples/stream-playback', function () {
  this.timeout(60_000);

  it('writing a WAV (its path when there is no audio device), gives the whole-file round trip of the input', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeWav } = await import('../../src/audio/index.js');
    const { streamPlayback } = await import('../../examples/stream-playback.js');
    await initEngine({ backend: 'wasm+onnxruntime' });
    const dir = await mkdtemp(join(tmpdir(), 'stream-playback-'));
    try {
      const config = await tinyConfig('vocos', 0);
      const model = new CodecModel(config, 5);
      perturb(model, 6);
      const { writeModelDirectory } = await import('../../src/export/model-directory.js');
      await writeModelDirectory(model, join(dir, 'model'));
      const speech = (await readWav('samples/speech-16k.wav')).samples.slice(0, 7 * model.hop + 50);
      await writeWav(join(dir, 'in.wav'), speech, 16000, { format: 'float32' });
      const options = { input: join(dir, 'in.wav'), model: join(dir, 'model'), preset: null, chunk: 97, realtime: false, out: join(dir, 'out.wav'), forceWav: true, force: false };
      const report = await streamPlayback(options);
      expect([report.sink, report.tokens, report.samples, report.randomWeights]).to.deep.equal(['wav', 8, speech.length, false]);
      const padded = padToHop(speech, model.hop);
      const expected = tf.tidy(() => model.decode(model.encode(tf.tensor3d(padded, [1, 1, padded.length]))).dataSync() as Float32Array);
      const written = (await readWav(join(dir, 'out.wav'))).samples;
      // Written as 16-bit PCM: clipped to full scale, within half a step of the float audio.
      const clipped = expected.subarray(0, speech.length).map((v) => Math.min(32767 / 32768, Math.max(-1, v)));
      expect(maxAbsDifference(written, clipped)).to.be.below(1e-4);
      expect((await readWav(join(dir, 'out.wav'))).bitDepth).to.equal('16');
      // An existing output is kept unless forced.
      let refused: unknown = null;
      await streamPlayback(options).catch((error: unknown) => (refused = error));
      expect(refused).to.be.instanceOf(InputError).with.property('message').match(/exists/);
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
