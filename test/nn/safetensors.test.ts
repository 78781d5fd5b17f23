import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { InputError } from '../../src/errors.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from '../../src/nn/safetensors.js';

const tensors = new Map([
  ['encoder.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-20, -7]) }],
  ['bias', { shape: [1], data: Float32Array.from([42]) }],
]);

function problemOf(bytes: Uint8Array): string {
  try {
    decodeSafetensors(bytes, 'x.safetensors');
  } catch (error) {
    expect(error).to.be.instanceOf(InputError);
    return (error as Error).message;
  }
  return 'no error';
}

describe('safetensors', () => {
  it('round-trips tensors and metadata, data 8-byte aligned', () => {
    const bytes = encodeSafetensors(tensors, { step: '10' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).to.equal(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString());
    expect(header['encoder.weight']).to.deep.equal({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    const back = decodeSafetensors(bytes, 'x');
    expect(back.metadata).to.deep.equal({ step: '10' });
    expect([...back.tensors.keys()]).to.deep.equal(['encoder.weight', 'bias']);
    expect(Array.from(back.tensors.get('encoder.weight')!.data)).to.deep.equal(Array.from(tensors.get('encoder.weight')!.data));
  });

  it('refuses truncated, overlapping and non-float files with one line naming the file', () => {
    const bytes = encodeSafetensors(tensors);
    expect(problemOf(bytes.subarray(0, 5))).to.match(/^x\.safetensors: not a valid safetensors file: shorter than/);
    expect(problemOf(bytes.subarray(0, bytes.length - 4))).to.match(/spans bytes/);
    const header = (json: object) => {
      const text = Buffer.from(JSON.stringify(json));
      const out = new Uint8Array(8 + text.length + 8);
      new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
      out.set(text, 8);
      return out;
    };
    expect(problemOf(header({ a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }))).to.match(/a has dtype F16/);
    expect(problemOf(header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }))).to.match(/overlap/);
    expect(problemOf(Buffer.from('not a safetensors file at all'))).to.match(/header length/);
  });

  it('writes atomically and keeps an existing file without force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simvq-st-'));
    try {
      const file = join(dir, 'w.safetensors');
      await writeSafetensors(file, tensors);
      expect((await readSafetensors(file)).tensors.get('bias')!.data[0]).to.equal(42);
      let message = '';
      await writeSafetensors(file, tensors).catch((e: Error) => (message = e.message));
      expect(message).to.match(/exists; pass --force/);
      await writeFile(join(dir, 'bad.safetensors'), 'garbage');
      message = '';
      await readSafetensors(join(dir, 'bad.safetensors')).catch((e: Error) => (message = e.message));
      expect(message).to.match(/bad\.safetensors: not a valid safetensors file/);
      expect((await readFile(file)).length).to.equal(encodeSafetensors(tensors).length);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
