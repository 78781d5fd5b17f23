import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wavefile from 'wavefile';
import { AudioFileError, InputError } from '../../src/errors.js';
import { decodeWav, encodeWav, readWav, writeWav, writeWavStream, type AudioClip } from '../../src/audio/index.js';
import { pcm16WavHeader, scanWavLayout } from '../../src/audio/wav.js';
import { asciiBytes, buildWav, floatBytes, pcmBytes } from './wav-fixtures.js';

const SOURCE = 'clip.wav';

function expectSamples(clip: AudioClip, expected: number[], tolerance = 0): void {
  expect(clip.samples).to.be.instanceOf(Float32Array);
  expect(clip.samples.length).to.equal(expected.length);
  expected.forEach((value, i) => expect(clip.samples[i], `sample ${i}`).to.be.closeTo(value, tolerance));
}

/** decodeWav must throw an AudioFileError: one line, naming the source, matching `pattern`. */
function expectRejected(bytes: Uint8Array, pattern: RegExp, options?: Parameters<typeof decodeWav>[2]): AudioFileError {
  let caught: unknown;
  try {
    decodeWav(bytes, SOURCE, options);
  } catch (error) {
    caught = error;
  }
  expect(caught, 'decodeWav should throw').to.be.instanceOf(AudioFileError);
  const error = caught as AudioFileError;
  expect(error.message.startsWith(`${SOURCE}: `), error.message).to.equal(true);
  expect(error.message).not.to.include('\n');
  expect(error.source).to.equal(SOURCE);
  expect(error.problem).to.match(pattern);
  return error;
}

describe('audio/wav: decoding', () => {
  it('reads 16-bit PCM with -32768 as -1 and keeps the header facts', () => {
    const clip = decodeWav(
      buildWav({ bitsPerSample: 16, sampleRate: 16000, data: pcmBytes([-32768, -16384, 0, 16384, 32767], 16) }),
      SOURCE,
    );
    expectSamples(clip, [-1, -0.5, 0, 0.5, 32767 / 32768]);
    expect(clip.sampleRate).to.equal(16000);
    expect(clip.channels).to.equal(1);
    expect(clip.bitDepth).to.equal('16');
    expect(clip.durationSeconds).to.equal(5 / 16000);
  });

  it('reads 8-bit PCM as unsigned with 128 as zero', () => {
    const clip = decodeWav(buildWav({ bitsPerSample: 8, data: Uint8Array.from([0, 64, 128, 255]) }), SOURCE);
    expectSamples(clip, [-1, -0.5, 0, 127 / 128]);
    expect(clip.bitDepth).to.equal('8');
  });

  it('reads 24-bit and 32-bit PCM at full scale', () => {
    const clip24 = decodeWav(buildWav({ bitsPerSample: 24, data: pcmBytes([-8388608, 4194304, -1, 8388607], 24) }), SOURCE);
    expectSamples(clip24, [-1, 0.5, -1 / 8388608, 8388607 / 8388608], 1e-9);
    expect(clip24.bitDepth).to.equal('24');
    const clip32 = decodeWav(
      buildWav({ bitsPerSample: 32, data: pcmBytes([-2147483648, 1073741824, -65536, 2147483647], 32) }),
      SOURCE,
    );
    expectSamples(clip32, [-1, 0.5, -65536 / 2147483648, 1], 1e-9);
    expect(clip32.bitDepth).to.equal('32');
  });

  it('reads 32- and 64-bit float exactly, including values beyond [-1, 1]', () => {
    const values = [0.25, -0.75, 1.5, -2, 1e-8];
    const clip32 = decodeWav(buildWav({ formatCode: 3, bitsPerSample: 32, data: floatBytes(values, 32) }), SOURCE);
    expectSamples(clip32, Array.from(Float32Array.from(values)));
    expect(clip32.bitDepth).to.equal('32f');
    const clip64 = decodeWav(buildWav({ formatCode: 3, bitsPerSample: 64, data: floatBytes(values, 64) }), SOURCE);
    expectSamples(clip64, Array.from(Float32Array.from(values)));
    expect(clip64.bitDepth).to.equal('64');
  });

  it('reads big-endian RIFX files', () => {
    const clip = decodeWav(
      buildWav({ container: 'RIFX', bitsPerSample: 16, data: pcmBytes([16384, -8192, 1], 16, true) }),
      SOURCE,
    );
    expectSamples(clip, [0.5, -0.25, 1 / 32768]);
  });

  it('reads RF64 files, taking the sizes from the ds64 chunk', () => {
    const clip = decodeWav(buildWav({ container: 'RF64', bitsPerSample: 16, data: pcmBytes([8192, -8192], 16) }), SOURCE);
    expectSamples(clip, [0.25, -0.25]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE float and PCM by their sub-format (wavefile reads the float one as integers)', () => {
    const floats = decodeWav(
      buildWav({ formatCode: 0xfffe, subFormatCode: 3, channels: 3, bitsPerSample: 32, data: floatBytes([0.3, 0.6, 0.9], 32) }),
      SOURCE,
    );
    expectSamples(floats, [0.6], 1e-7);
    expect(floats.bitDepth).to.equal('32f');
    expect(floats.channels).to.equal(3);
    const ints = decodeWav(
      buildWav({ formatCode: 0xfffe, subFormatCode: 1, bitsPerSample: 24, data: pcmBytes([4194304], 24) }),
      SOURCE,
    );
    expectSamples(ints, [0.5]);
  });

  it('averages the channels by default and picks one when asked', () => {
    // Two frames of stereo: (0.5, 0.25), (-0.5, 0).
    const bytes = buildWav({ channels: 2, bitsPerSample: 16, data: pcmBytes([16384, 8192, -16384, 0], 16) });
    expectSamples(decodeWav(bytes, SOURCE), [0.375, -0.25]);
    expectSamples(decodeWav(bytes, SOURCE, { channel: 'mix' }), [0.375, -0.25]);
    expectSamples(decodeWav(bytes, SOURCE, { channel: 0 }), [0.5, -0.5]);
    expectSamples(decodeWav(bytes, SOURCE, { channel: 1 }), [0.25, 0]);
    const clip = decodeWav(bytes, SOURCE);
    expect(clip.channels).to.equal(2);
    expect(clip.durationSeconds).to.equal(2 / 16000);
  });

  it('handles many channels and any sample rate', () => {
    const channels = 6;
    const frame = [1, 2, 3, 4, 5, 6].map((v) => v * 1000);
    const bytes = buildWav({ channels, sampleRate: 11025, bitsPerSample: 16, data: pcmBytes([...frame, ...frame], 16) });
    const clip = decodeWav(bytes, SOURCE, { channel: 5 });
    expectSamples(clip, [6000 / 32768, 6000 / 32768]);
    expect(clip.sampleRate).to.equal(11025);
    expect(decodeWav(buildWav({ sampleRate: 192000, bitsPerSample: 16, data: pcmBytes([0, 0], 16) }), SOURCE).durationSeconds).to.equal(
      2 / 192000,
    );
  });

  it('skips other chunks and does not count a pad byte as audio (wavefile does)', () => {
    const bytes = buildWav({
      bitsPerSample: 8,
      data: Uint8Array.from([128, 192, 64]), // odd length: a pad byte follows
      chunksBefore: [['LIST', asciiBytes('INFOISFT')]],
      chunksAfter: [['junk', asciiBytes('abc')]],
    });
    expectSamples(decodeWav(bytes, SOURCE), [0, 0.5, -0.5]);
  });

  it('accepts a file whose writer left out the final pad byte', () => {
    const complete = buildWav({ bitsPerSample: 8, data: Uint8Array.from([128, 255, 0]) });
    expectSamples(decodeWav(complete.subarray(0, complete.length - 1), SOURCE), [0, 127 / 128, -1]);
  });

  it('tolerates a damaged metadata chunk after the audio', () => {
    const bytes = buildWav({ bitsPerSample: 16, data: pcmBytes([16384], 16), chunksAfter: [['LIST', new Uint8Array(40)]] });
    // Cut the trailing LIST chunk short and make the RIFF size agree with the cut file.
    const cut = bytes.slice(0, bytes.length - 20);
    new DataView(cut.buffer).setUint32(4, cut.length - 8, true);
    expectSamples(decodeWav(cut, SOURCE), [0.5]);
  });

  it('reads what wavefile writes', () => {
    const writer = new wavefile.WaveFile();
    writer.fromScratch(2, 22050, '24', [
      [4194304, -8388608],
      [-4194304, 0],
    ]);
    const clip = decodeWav(writer.toBuffer(), SOURCE, { channel: 0 });
    expectSamples(clip, [0.5, -1]);
    expect(clip.sampleRate).to.equal(22050);
  });

  it('decodes a Buffer view with a non-zero byte offset', () => {
    const bytes = buildWav({ formatCode: 3, bitsPerSample: 32, data: floatBytes([0.5, -0.5], 32) });
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expectSamples(decodeWav(padded.subarray(3), SOURCE), [0.5, -0.5]);
  });
});

describe('audio/wav: bad input', () => {
  const valid = (): Uint8Array => buildWav({ bitsPerSample: 16, data: pcmBytes(Array.from({ length: 100 }, (_, i) => i * 100), 16) });

  it('rejects bytes that are not a WAV file', () => {
    const random = Uint8Array.from({ length: 256 }, (_, i) => (i * 97 + 13) & 0xff);
    expectRejected(random, /^not a WAV file \(starts with bytes 0d 6e cf 30/);
    expectRejected(asciiBytes('hello, this is a text file\n'), /^not a WAV file/);
    expectRejected(new Uint8Array(0), /^not a WAV file \(the file is empty\)/);
    expectRejected(asciiBytes('fLaC\0\0\0\x22'), /looks like FLAC/);
    expectRejected(asciiBytes('RIFF\x04\0\0\0AVI LIST'), /a RIFF file of type "AVI ", not "WAVE"/);
  });

  it('rejects a file cut inside the header', () => {
    const bytes = valid();
    expectRejected(bytes.subarray(0, 2), /^truncated/);
    expectRejected(bytes.subarray(0, 10), /^truncated/);
    expectRejected(bytes.subarray(0, 30), /^truncated or lying header/);
  });

  it('rejects a file cut inside the audio', () => {
    const bytes = valid();
    expectRejected(bytes.subarray(0, bytes.length - 50), /^truncated or lying header: the RIFF header declares 244 bytes but the file has 194/);
  });

  it('rejects a data chunk that claims more bytes than the file holds, even with a consistent RIFF size', () => {
    // wavefile would quietly return the 100 samples that are there.
    expectRejected(
      buildWav({ bitsPerSample: 16, data: pcmBytes(new Array(100).fill(0), 16), dataSize: 400 }),
      /^truncated or lying header: the "data" chunk at byte 36 declares 400 bytes but the file ends after 200/,
    );
  });

  it('rejects a RIFF size larger than the file', () => {
    expectRejected(
      buildWav({ bitsPerSample: 16, data: pcmBytes([1, 2], 16), riffSize: 1000 }),
      /RIFF header declares 1008 bytes but the file has 48/,
    );
  });

  it('rejects a data chunk that runs past the declared RIFF size', () => {
    expectRejected(buildWav({ bitsPerSample: 16, data: pcmBytes([1, 2, 3, 4], 16), riffSize: 40 }), /the RIFF chunk ends/);
  });

  it('rejects an inconsistent block align', () => {
    expectRejected(
      buildWav({ channels: 2, bitsPerSample: 16, blockAlign: 2, data: pcmBytes([1, 2], 16) }),
      /^inconsistent header: block align is 2 bytes but 2 channels of 16-bit samples take 4/,
    );
  });

  it('rejects a data chunk that is not a whole number of frames', () => {
    expectRejected(
      buildWav({ channels: 2, bitsPerSample: 16, data: pcmBytes([1, 2, 3], 16) }),
      /"data" chunk holds 6 bytes, not a whole number of 4-byte sample frames/,
    );
  });

  it('rejects a file with zero samples', () => {
    expectRejected(buildWav({ bitsPerSample: 16, data: new Uint8Array(0) }), /^no audio: the "data" chunk holds 0 samples$/);
    expectRejected(
      buildWav({ bitsPerSample: 16, data: pcmBytes([1, 2], 16), dataSize: 0 }),
      /holds 0 samples \(yet 4 bytes follow it/,
    );
    expectRejected(
      buildWav({ bitsPerSample: 16, data: new Uint8Array(0), chunksAfter: [['LIST', asciiBytes('INFO')]] }),
      /holds 0 samples$/,
    );
  });

  it('rejects NaN and infinite float samples, saying where the first one is', () => {
    const nan = expectRejected(
      buildWav({ formatCode: 3, channels: 2, sampleRate: 1000, bitsPerSample: 32, data: floatBytes([0, 0, 0.1, 0.2, 0.3, NaN], 32) }),
      /^1 sample is NaN or infinite \(first: NaN at 0\.002 s, frame 2, channel 1\)$/,
    );
    expect(nan).to.be.instanceOf(InputError);
    expectRejected(
      buildWav({ formatCode: 3, bitsPerSample: 64, data: floatBytes([Infinity, 0, -Infinity], 64) }),
      /^2 samples are NaN or infinite \(first: Infinity at 0\.000 s, frame 0, channel 0\)$/,
    );
  });

  it('rejects compressed and companded encodings by name', () => {
    const cases: Array<[number, RegExp]> = [
      [6, /^unsupported encoding: A-law \(WAV format code 0x0006\)/],
      [7, /^unsupported encoding: mu-law \(WAV format code 0x0007\)/],
      [0x11, /^unsupported encoding: IMA ADPCM \(WAV format code 0x0011\)/],
      [2, /^unsupported encoding: Microsoft ADPCM/],
      [0x1234, /^unsupported encoding: an unknown encoding \(WAV format code 0x1234\)/],
    ];
    for (const [formatCode, pattern] of cases) {
      expectRejected(buildWav({ formatCode, bitsPerSample: 8, data: new Uint8Array(4) }), pattern);
    }
    expectRejected(
      buildWav({ formatCode: 0xfffe, subFormatCode: 7, bitsPerSample: 8, data: new Uint8Array(4) }),
      /^unsupported encoding: mu-law/,
    );
  });

  it('rejects bit depths wavefile reads but we do not support, saying which', () => {
    expectRejected(
      buildWav({ bitsPerSample: 12, blockAlign: 2, data: new Uint8Array(4) }),
      /^unsupported sample format: 12-bit integer PCM \(supported: 8, 16, 24 and 32-bit integer PCM, 32 and 64-bit float\)/,
    );
    expectRejected(buildWav({ formatCode: 3, bitsPerSample: 16, data: new Uint8Array(4) }), /^unsupported sample format: 16-bit float/);
    expectRejected(
      buildWav({ formatCode: 0xfffe, subFormatCode: 1, breakGuid: true, bitsPerSample: 16, data: new Uint8Array(4) }),
      /non-standard sub-format GUID/,
    );
  });

  it('rejects missing or malformed format information', () => {
    expectRejected(buildWav({ bitsPerSample: 16, data: new Uint8Array(4), omitFmt: true }), /^not a usable WAV file: no "fmt " chunk$/);
    expectRejected(buildWav({ bitsPerSample: 16, data: new Uint8Array(4), omitData: true }), /^not a usable WAV file: no "data" chunk$/);
    expectRejected(buildWav({ bitsPerSample: 16, data: new Uint8Array(4), fmtSize: 12 }), /"fmt " chunk is 12 bytes, shorter than the 16/);
    expectRejected(buildWav({ channels: 0, bitsPerSample: 16, blockAlign: 0, data: new Uint8Array(4) }), /0 channels/);
    expectRejected(buildWav({ sampleRate: 0, bitsPerSample: 16, data: new Uint8Array(4) }), /sample rate is 0 Hz/);
  });

  it('rejects a channel that the file does not have', () => {
    const stereo = buildWav({ channels: 2, bitsPerSample: 16, data: pcmBytes([1, 2], 16) });
    expectRejected(stereo, /^channel 2 requested but the file has 2 channels \(use 0 to 1 or 'mix'\)$/, { channel: 2 });
    expectRejected(stereo, /^channel -1 requested/, { channel: -1 });
    expectRejected(stereo, /^channel 0\.5 requested/, { channel: 0.5 });
  });
});

describe('audio/wav: files', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'simvq-audio-wav-'));
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('readWav reads a file and names it in errors', async () => {
    const path = join(directory, 'speech.wav');
    await writeFile(path, buildWav({ bitsPerSample: 16, data: pcmBytes([16384], 16) }));
    expectSamples(await readWav(path), [0.5]);

    const textPath = join(directory, 'notes.wav');
    await writeFile(textPath, 'not audio at all');
    const error = await readWav(textPath).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(AudioFileError);
    expect((error as Error).message).to.match(new RegExp(`^${escape(textPath)}: not a WAV file`));
  });

  it('readWav reports a missing file and a directory in one line', async () => {
    const missing = join(directory, 'missing.wav');
    const notFound = await readWav(missing).catch((e: unknown) => e);
    expect(notFound).to.be.instanceOf(AudioFileError);
    expect((notFound as Error).message).to.equal(`${missing}: file not found`);
    const isDirectory = await readWav(directory).catch((e: unknown) => e);
    expect((isDirectory as Error).message).to.equal(`${directory}: is a directory, not a file`);
  });

  it('readWav passes the channel option through', async () => {
    const path = join(directory, 'stereo.wav');
    await writeFile(path, buildWav({ channels: 2, bitsPerSample: 16, data: pcmBytes([16384, -16384], 16) }));
    expectSamples(await readWav(path, { channel: 1 }), [-0.5]);
  });

  it('writeWav then readWav round-trips float32 bit for bit', async () => {
    const path = join(directory, 'out.wav');
    const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.37) * 1.2);
    await writeWav(path, samples, 24000, { format: 'float32' });
    const clip = await readWav(path);
    expect(clip.bitDepth).to.equal('32f');
    expect(clip.sampleRate).to.equal(24000);
    expect(Array.from(clip.samples)).to.deep.equal(Array.from(samples));
  });

  it('refuses to overwrite an existing file without force, and replaces it with force', async () => {
    const path = join(directory, 'out.wav');
    await writeFile(path, 'precious');
    const error = await writeWav(path, new Float32Array(4), 16000, { format: 'pcm16' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.equal(`${path}: exists; pass --force to overwrite`);
    expect(await readFile(path, 'utf8')).to.equal('precious');

    await writeWav(path, Float32Array.of(0.5), 16000, { format: 'pcm16', force: true });
    expectSamples(await readWav(path), [0.5]);
    expect(await readdir(directory)).to.deep.equal(['out.wav']);
  });

  it('leaves nothing behind when it cannot write', async () => {
    const path = join(directory, 'bad.wav');
    const nan = await writeWav(path, Float32Array.of(0, NaN), 16000, { format: 'float32' }).catch((e: unknown) => e);
    expect(nan).to.be.instanceOf(InputError);
    expect((nan as Error).message).to.match(new RegExp(`^${escape(path)}: cannot write sample 1: it is NaN`));
    expect(await readdir(directory)).to.deep.equal([]);

    const inMissingDirectory = join(directory, 'no', 'such', 'dir', 'x.wav');
    const missing = await writeWav(inMissingDirectory, new Float32Array(1), 16000, { format: 'pcm16' }).catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(InputError);
    expect((missing as Error).message).to.equal(`${inMissingDirectory}: the directory does not exist`);

    await mkdir(join(directory, 'taken.wav'));
    const onDirectory = await writeWav(join(directory, 'taken.wav'), new Float32Array(1), 16000, { format: 'pcm16', force: true }).catch(
      (e: unknown) => e,
    );
    expect(onDirectory).to.be.instanceOf(InputError);
    expect(await readdir(directory)).to.deep.equal(['taken.wav']);
  });
});

describe('audio/wav: encoding', () => {
  it('pcm16 is exact for samples on the 16-bit grid', () => {
    const grid = Float32Array.from([-32768, -12345, -1, 0, 1, 12345, 32767], (v) => v / 32768);
    const clip = decodeWav(encodeWav(grid, 16000, 'pcm16'), SOURCE);
    expect(clip.bitDepth).to.equal('16');
    expect(Array.from(clip.samples)).to.deep.equal(Array.from(grid));
  });

  it('pcm16 clips to [-1, 1] and rounds half away from zero', () => {
    const lsb = 1 / 32768;
    const input = Float32Array.from([1.5, -1.5, 1, -1, 0.5 * lsb, -0.5 * lsb, 0.49 * lsb, 2.5 * lsb, -2.5 * lsb]);
    const clip = decodeWav(encodeWav(input, 8000, 'pcm16'), SOURCE);
    const codes = Array.from(clip.samples, (v) => v * 32768);
    expect(codes).to.deep.equal([32767, -32768, 32767, -32768, 1, -1, 0, 3, -3]);
  });

  it('writes a canonical header that other readers accept', () => {
    const samples = Float32Array.from([0.5, -0.25, 0.125]);
    for (const [format, bitDepth, code] of [
      ['pcm16', '16', 1],
      ['float32', '32f', 3],
    ] as const) {
      const bytes = encodeWav(samples, 44100, format);
      const reader = new wavefile.WaveFile(bytes);
      expect(reader.bitDepth).to.equal(bitDepth);
      const fmt = reader.fmt as { audioFormat: number; numChannels: number; sampleRate: number };
      expect([fmt.audioFormat, fmt.numChannels, fmt.sampleRate]).to.deep.equal([code, 1, 44100]);
      const raw = Array.from(reader.getSamples(true));
      expect(raw).to.deep.equal(format === 'pcm16' ? [16384, -8192, 4096] : [0.5, -0.25, 0.125]);
    }
  });

  it('rejects what a WAV file cannot hold', () => {
    expect(() => encodeWav(Float32Array.of(Infinity), 16000, 'pcm16')).to.throw(InputError, /^cannot write sample 0: it is Infinity/);
    expect(() => encodeWav(new Float32Array(1), 0, 'pcm16')).to.throw(InputError, /^sampleRate: /);
    expect(() => encodeWav(new Float32Array(1), 22050.5, 'float32')).to.throw(InputError, /^sampleRate: /);
    expect(() => encodeWav(new Float32Array(1), 16000, 'mp3' as 'pcm16')).to.throw(InputError, /^format: /);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('audio/wav: streamed writing', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simvq-wav-stream-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  async function* piecesOf(samples: Float32Array, size: number): AsyncGenerator<Float32Array> {
    for (let i = 0; i < samples.length; i += size) yield samples.subarray(i, i + size);
  }

  it('writes, piece by piece, the bytes encodeWav writes at once', async () => {
    const samples = Float32Array.from({ length: 10_001 }, (_, i) => 1.2 * Math.sin(i / 9));
    const path = join(dir, 'pieces.wav');
    await writeWavStream(path, 16000, samples.length, piecesOf(samples, 777));
    expect(Buffer.from(await readFile(path)).equals(Buffer.from(encodeWav(samples, 16000, 'pcm16')))).to.equal(true);
    await writeWavStream(path, 16000, samples.length, piecesOf(samples, 777)).then(
      () => expect.fail('overwrote without force'),
      (error: Error) => expect(error.message).to.match(/exists; pass --force/),
    );
  });

  it('leaves nothing behind when the pieces fall short, run over, or fail', async () => {
    const samples = new Float32Array(1000);
    async function* failing(): AsyncGenerator<Float32Array> {
      yield samples.subarray(0, 10);
      throw new InputError('tokens.svq', 'code 99 at frame 3 is outside the codebook');
    }
    const cases: Array<[string, AsyncIterable<Float32Array>, RegExp]> = [
      ['short', piecesOf(samples.subarray(0, 900), 100), /900 samples came, 1000 were announced/],
      ['long', piecesOf(new Float32Array(1100), 100), /more than the 1000 samples announced/],
      ['failing', failing(), /tokens\.svq: code 99/],
    ];
    for (const [name, pieces, message] of cases) {
      const path = join(dir, `${name}.wav`);
      const error = await writeWavStream(path, 16000, 1000, pieces).then(() => null, (e: Error) => e);
      expect(error?.message, name).to.match(message);
    }
    expect((await readdir(dir)).filter((f) => !f.startsWith('pieces'))).to.deep.equal([]);
  });

  it('heads audio past 4 GiB as RF64, which the reader takes back with its 64-bit sizes', () => {
    const samples = 2 ** 31 + 12345; // 4 GiB and more of 16-bit samples
    const header = pcm16WavHeader(16000, samples);
    expect(header.toString('latin1', 0, 4)).to.equal('RF64');
    const layout = scanWavLayout({ size: header.length + samples * 2, read: (offset, length) => header.subarray(offset, offset + length) }, 'big.wav');
    expect(layout).to.include({ sampleRate: 16000, channels: 1, bitsPerSample: 16, dataOffset: header.length, dataLength: samples * 2 });
    expect(pcm16WavHeader(16000, 1000).toString('latin1', 0, 4)).to.equal('RIFF');
  });
});
