/**
 * ONNX export parity: the exported encoder and decoder against the tfjs
 * forward pass of the same weights, through the Codec API on onnxruntime.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { readWav } from '../../src/audio/index.js';
import { initEngine } from '../../src/engine/index.js';
import { Codec } from '../../src/runtime/codec.js';
import { readModelDirectory } from '../../src/runtime/model-dir.js';
import { exportTinyModel, tinyRuntimeConfig } from './fixtures.js';

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('runtime: ONNX export', function () {
  this.timeout(120_000);
  let speech: Float32Array;
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
    // 2 s of speech, a whole number of hops (40).
    speech = (await readWav('samples/speech-16k.wav')).samples.slice(0, 32000);
  });

  // 40,000 codes: the search runs in three blocks of the codebook, the last one partial.
  for (const variant of [{ causal: true, lstmLayers: 0 }, { causal: false, lstmLayers: 1 }, { causal: true, lstmLayers: 0, codebookSize: 40_000 }]) {
    it(`encoder and decoder graphs match tfjs: same tokens, audio within 1e-4 (causal ${variant.causal}, LSTM ${variant.lstmLayers}, K ${variant.codebookSize ?? 64})`, async () => {
      const { model, directory } = await exportTinyModel(tinyRuntimeConfig(variant));
      const codec = await Codec.load(directory, { engine: 'onnxruntime' });
      try {
        expect(codec.engine).to.equal('onnxruntime');
        const expectedCodes = tf.tidy(() => Array.from(model.encode(tf.tensor3d(speech, [1, 1, speech.length])).dataSync()));
        const tokens = await codec.encode(speech, 16000);
        expect(tokens.codes.length).to.equal(800);
        let same = 0;
        for (let i = 0; i < expectedCodes.length; i++) if (tokens.codes[i] === expectedCodes[i]) same++;
        expect(same / expectedCodes.length).to.be.at.least(0.999);
        expect(new Set(tokens.codes).size, 'a spread of codes, not one').to.be.above(8);
        if (variant.codebookSize !== undefined) expect(Math.max(...tokens.codes), 'codes from later blocks').to.be.above(16_384);
        const expectedAudio = tf.tidy(() => model.decode(tf.tensor2d(Int32Array.from(tokens.codes), [1, 800], 'int32')).dataSync() as Float32Array);
        const audio = await codec.decode(tokens);
        expect(maxAbsDifference(audio, expectedAudio)).to.be.at.most(1e-4);
      } finally {
        await codec.dispose();
        model.dispose();
        rmSync(dirname(directory), { recursive: true, force: true });
      }
    });
  }

  it('decoding uses C·W + b, not C: changing W changes the decoded audio of the same tokens', async () => {
    const { model, directory } = await exportTinyModel();
    const w = model.parameters.named().get('quantizer.0')!;
    w.assign(tf.tidy(() => w.mul(-1.5)));
    model.quantizer.codebook().dispose();
    const { writeModelDirectory } = await import('../../src/export/model-directory.js');
    const other = join(dirname(directory), 'other');
    await writeModelDirectory(model, other);
    const [a, b] = [await Codec.load(directory), await Codec.load(other)];
    try {
      const codes = Uint32Array.from({ length: 20 }, (_, i) => (i * 7) % 64);
      const decodeWith = (codec: Codec) => codec.decode({ header: { modelId: codec.modelId, modelHash: codec.modelHash, sampleRate: 16000, frameRate: 400, codebookSize: 64, frameCount: 20, originalLength: 800 }, codes });
      expect(maxAbsDifference(await decodeWith(a), await decodeWith(b))).to.be.above(1e-3);
      expect(a.modelHash).to.not.equal(b.modelHash);
    } finally {
      await a.dispose();
      await b.dispose();
      model.dispose();
      rmSync(dirname(directory), { recursive: true, force: true });
    }
  });

  it('writes the directory the manifest describes, with a hash that catches changed weights', async () => {
    const { model, directory } = await exportTinyModel();
    try {
      const read = await readModelDirectory(directory);
      expect(read.manifest).to.include({ format: 'simvq-audio-model', formatVersion: 1, modelId: 'tiny-runtime', sampleRate: 16000, hop: 40, frameRate: 400, codebookSize: 64, causal: true });
      expect(read.manifest.modelHash).to.match(/^[0-9a-f]{16}$/);
      // A causal model also gets its streaming step graphs (src/runtime/streaming).
      expect(read.manifest.graphs).to.deep.equal({ encoder: 'encoder.onnx', decoder: 'decoder.onnx', encoderStream: 'encoder.stream.onnx', decoderStream: 'decoder.stream.onnx' });
      // The weights change by one byte: the directory is refused, naming it and both hashes.
      const weights = join(directory, 'model.safetensors');
      const bytes = readFileSync(weights);
      bytes[bytes.length - 1] ^= 1;
      writeFileSync(weights, bytes);
      let message = '';
      await readModelDirectory(directory).catch((error: Error) => (message = error.message));
      expect(message).to.include(directory).and.include(read.manifest.modelHash).and.include('changed after export');
    } finally {
      model.dispose();
      rmSync(dirname(directory), { recursive: true, force: true });
    }
  });

  it('stores the codebook once, in codebook.f32, which all four graphs read; a missing or short one is named', async () => {
    const { model, directory } = await exportTinyModel();
    try {
      const read = await readModelDirectory(directory);
      expect(read.manifest.codebook).to.equal('codebook.f32');
      // The file holds C·W + b as the model computes it, float32 little-endian.
      const expected = tf.tidy(() => (model.quantizer as unknown as { codebook(): tf.Tensor2D }).codebook().dataSync() as Float32Array);
      const file = readFileSync(join(directory, 'codebook.f32'));
      expect(Array.from(new Float32Array(file.buffer, file.byteOffset, file.length / 4))).to.deep.equal(Array.from(expected));
      // Every graph refers to rows of that file instead of holding a copy.
      const { decodeModelProto } = await import('../../src/onnx/schema.js');
      for (const role of ['encoder', 'decoder', 'encoderStream', 'decoderStream']) {
        const graph = decodeModelProto(readFileSync(read.graphPath(role)!)).graph!;
        const external = (graph.initializer ?? []).filter((t) => t.data_location === 1);
        expect(external.length, role).to.be.at.least(1);
        for (const tensor of external) expect(tensor.external_data!.find((e) => e.key === 'location')!.value).to.equal('codebook.f32');
      }
      // And the codec runs from the directory: encode then decode.
      const codec = await Codec.load(directory);
      expect((await codec.decode(await codec.encode(speech, 16000))).length).to.be.above(0);
      await codec.dispose();
      const codebookPath = join(directory, 'codebook.f32');
      writeFileSync(codebookPath, file.subarray(0, file.length - 4));
      let message = '';
      await readModelDirectory(directory).catch((error: Error) => (message = error.message));
      expect(message).to.equal(`${codebookPath}: holds ${file.length - 4} bytes, but a 64 × 8 float32 codebook takes ${file.length}`);
      rmSync(codebookPath);
      await readModelDirectory(directory).catch((error: Error) => (message = error.message));
      expect(message).to.equal(`${codebookPath}: file not found (the graphs read the codebook from it)`);
    } finally {
      model.dispose();
      rmSync(dirname(directory), { recursive: true, force: true });
    }
  });

  it('takes extra graphs into the directory and the manifest; a centred model has no streaming graphs', async () => {
    const { model, directory } = await exportTinyModel(tinyRuntimeConfig({ causal: false }));
    try {
      const { writeModelDirectory, encoderGraphBytes } = await import('../../src/export/model-directory.js');
      const withExtra = join(dirname(directory), 'extra');
      await writeModelDirectory(model, withExtra, { extraGraphs: { encoderCopy: { file: 'encoder.copy.onnx', build: (m, manifest) => encoderGraphBytes(m, manifest) } } });
      const read = await readModelDirectory(withExtra);
      expect(read.manifest.graphs).to.deep.equal({ encoder: 'encoder.onnx', decoder: 'decoder.onnx', encoderCopy: 'encoder.copy.onnx' });
      expect(readFileSync(read.graphPath('encoderCopy')!).length).to.be.above(1000);
      expect(read.graphPath('encoderStream')).to.equal(null);
    } finally {
      model.dispose();
      rmSync(dirname(directory), { recursive: true, force: true });
    }
  });

  it('refuses to overwrite an existing directory without force', async () => {
    const { model, directory } = await exportTinyModel();
    try {
      const { writeModelDirectory } = await import('../../src/export/model-directory.js');
      let message = '';
      await writeModelDirectory(model, directory).catch((error: Error) => (message = error.message));
      expect(message).to.equal(`${directory}: exists; pass --force to replace it`);
      await writeModelDirectory(model, directory, { force: true, modelId: 'renamed' });
      expect((await readModelDirectory(directory)).manifest.modelId).to.equal('renamed');
    } finally {
      model.dispose();
      rmSync(dirname(directory), { recursive: true, force: true });
    }
  });
});
