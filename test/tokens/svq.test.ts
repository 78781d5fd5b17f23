import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';

import { expect } from 'chai';

import { InputError } from '../../src/errors.js';
import { bitsPerCode, checkSvqHeader, crc32, decodeSvq, encodeNpy, encodeSvq, readSvq, writeSvq, type SvqHeader } from '../../src/tokens/svq.js';
import { mulberry32 } from '../helpers/random.js';

function header(codebookSize: number, frameCount: number): SvqHeader {
  return { modelId: 'speech-16k-0.9kbps', modelHash: 'abc123', sampleRate: 16000, frameRate: 50, codebookSize, frameCount, originalLength: frameCount * 320 - 17 };
}

function randomCodes(codebookSize: number, count: number, seed: number): Uint32Array {
  const rand = mulberry32(seed);
  return Uint32Array.from({ length: count }, () => Math.floor(rand() * codebookSize));
}

function problemOf(bytes: Uint8Array): string {
  try {
    decodeSvq(bytes, 'a.svq');
  } catch (error) {
    expect(error).to.be.instanceOf(InputError);
    return (error as Error).message;
  }
  return 'no error';
}

/** Rewrites the trailing checksum so a deliberate edit is not caught by it. */
function resealed(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

describe('.svq token files', () => {
  it('checksums as zlib does, so the format needs no Node module (the browser build writes .svq files too)', () => {
    const rand = mulberry32(3);
    for (const length of [0, 1, 7, 64, 1000]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(rand() * 256));
      expect(crc32(bytes), `${length} bytes`).to.equal(zlibCrc32(bytes));
    }
  });

  it('round-trips codes for codebooks from 2 to 2^32 entries', () => {
    for (const K of [2, 3, 1000, 4096, 262_144, 2 ** 20 + 1, 2 ** 32]) {
      const codes = randomCodes(K, 257, K);
      const back = decodeSvq(encodeSvq({ header: header(K, codes.length), codes }), 'x.svq');
      expect(Array.from(back.codes)).to.deep.equal(Array.from(codes));
      expect(back.header).to.deep.equal(header(K, codes.length));
    }
  });

  it('takes ceil(log2 K) bits a code, so the size is the bitrate plus a fixed header', () => {
    expect([2, 3, 4, 4096, 4097, 262_144].map(bitsPerCode)).to.deep.equal([1, 2, 2, 12, 13, 18]);
    const seconds = 60;
    const codes = randomCodes(262_144, 50 * seconds, 1);
    const bytes = encodeSvq({ header: header(262_144, codes.length), codes });
    const headerBytes = Buffer.byteLength(JSON.stringify(header(262_144, codes.length)));
    expect(bytes.length).to.equal(10 + headerBytes + (50 * seconds * 18) / 8 + 4);
    // 900 bit/s: a minute of speech in 6,750 bytes of codes.
    expect(((bytes.length - 14 - headerBytes) * 8) / seconds).to.equal(900);
  });

  it('refuses damaged files with one line naming the file', () => {
    const codes = randomCodes(4096, 100, 2);
    const good = encodeSvq({ header: header(4096, 100), codes });
    expect(problemOf(Buffer.from('RIFF....WAVEfmt '))).to.equal('a.svq: not a .svq token file (no SVQ signature)');
    expect(problemOf(good.subarray(0, good.length - 10))).to.match(/^a\.svq: truncated/);
    const flipped = good.slice();
    flipped[good.length - 20]! ^= 0x10;
    expect(problemOf(flipped)).to.equal('a.svq: checksum mismatch: the file is corrupt');
    const future = good.slice();
    future[4] = 2;
    expect(problemOf(resealed(future))).to.match(/format version 2; this simvq-audio reads version 1/);
    expect(problemOf(resealed(Uint8Array.from([...good.subarray(0, good.length - 4), 0, 0, 0, 0, 0])))).to.match(/1 unexpected bytes after the codes/);
  });

  it('refuses a header whose original length disagrees with its frame count, and one whose codebook size is not a number', () => {
    const codes = randomCodes(4096, 10, 3);
    expect(() => encodeSvq({ header: { ...header(4096, 10), originalLength: 320 * 30 }, codes })).to.throw(/inconsistent header: originalLength 9600 samples take 30 frames of 320, but frameCount is 10/);
    const fail = (problem: string) => new InputError('t.json', problem);
    expect(() => checkSvqHeader({ ...header(4096, 10), codebookSize: '4096' as unknown as number }, fail)).to.throw(InputError, /^t\.json: header field codebookSize must be an integer/);
    expect(() => checkSvqHeader(header(4096, 10), fail)).to.not.throw();
  });

  it('refuses a code outside a codebook that is not a power of two', () => {
    // K = 3 packs in 2 bits, which can also hold the value 3.
    const bytes = encodeSvq({ header: header(3, 4), codes: Uint32Array.from([0, 1, 2, 2]) });
    const edited = bytes.slice();
    edited[edited.length - 5] = 0xff; // the packed byte: four codes of value 3
    expect(problemOf(resealed(edited))).to.equal('a.svq: code 3 at frame 0 is outside the codebook (K = 3)');
    expect(() => encodeSvq({ header: header(3, 1), codes: Uint32Array.from([3]) })).to.throw(/code 3 at frame 0 is outside \[0, 3\)/);
  });

  it('writes atomically and keeps an existing file unless forced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simvq-svq-'));
    try {
      const file = join(dir, 'a.svq');
      const codes = randomCodes(4096, 10, 3);
      await writeSvq(file, { header: header(4096, 10), codes });
      expect(Array.from((await readSvq(file)).codes)).to.deep.equal(Array.from(codes));
      let message = '';
      await writeSvq(file, { header: header(4096, 10), codes }).catch((e: Error) => (message = e.message));
      expect(message).to.match(/a\.svq: exists; pass --force to overwrite/);
      await writeSvq(file, { header: header(4096, 10), codes }, { force: true });
      message = '';
      await readSvq(join(dir, 'missing.svq')).catch((e: Error) => (message = e.message));
      expect(message).to.match(/missing\.svq: file not found/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('writes .npy files NumPy reads back', async function () {
    const codes = randomCodes(262_144, 33, 4);
    const npy = encodeNpy(codes);
    expect((10 + new DataView(npy.buffer).getUint16(8, true)) % 64).to.equal(0);
    let numpy = true;
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    } catch {
      numpy = false;
    }
    if (!numpy) this.skip();
    const dir = await mkdtemp(join(tmpdir(), 'simvq-npy-'));
    try {
      const file = join(dir, 'codes.npy');
      await writeFile(file, npy);
      const printed = execFileSync('python3', ['-c', `import numpy; a = numpy.load(${JSON.stringify(file)}); print(a.dtype, a.shape, ",".join(map(str, a)))`], { encoding: 'utf8' });
      expect(printed.trim()).to.equal(`uint32 (33,) ${Array.from(codes).join(',')}`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
