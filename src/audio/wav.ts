/**
 * WAV reading and writing.
 *
 * Reading checks the RIFF structure itself before any sample is decoded:
 * wavefile (which decodes the integer PCM samples) trusts chunk sizes, so on its
 * own it reads a file whose header lies about its size as a shorter file,
 * counts a data chunk's pad byte as audio, and takes WAVE_FORMAT_EXTENSIBLE
 * float files for integer PCM. Every problem surfaces as one AudioFileError line
 * naming the file.
 *
 * Float samples are read with DataView rather than wavefile, whose IEEE-754
 * unpacking measured ~0.8 us per sample (10 s of 48 kHz float audio: 0.4 s).
 */
import { readFile } from 'node:fs/promises';
import wavefile from 'wavefile';
import { AudioFileError, InputError } from '../errors.js';
import { describeFsError, pathExists, writeAtomically, writeFileAtomic } from '../files.js';

export interface AudioClip {
  /** Mono samples, nominally in [-1, 1] (float files may exceed it). */
  samples: Float32Array;
  sampleRate: number;
  /** Channels in the file (samples is always one channel). */
  channels: number;
  /** wavefile's bit depth code: '8', '16', '24', '32' (integer PCM), '32f', '64' (float). */
  bitDepth: string;
  durationSeconds: number;
}

export interface ReadWavOptions {
  /** 'mix' (default) averages all channels; a number picks one channel (0-based). */
  channel?: number | 'mix';
}

/** 'pcm16': 16-bit integer PCM, clipped to [-1, 1]; 'float32': IEEE float, lossless. */
export type WavFormat = 'pcm16' | 'float32';

export interface WriteWavOptions {
  format: WavFormat;
  /** Replace an existing file. Default false: an existing file is an error. */
  force?: boolean;
}

type SampleEncoding = 'pcm' | 'float';

/** What the RIFF scan established about a file; everything in it has been checked. */
export interface WavLayout {
  bigEndian: boolean;
  encoding: SampleEncoding;
  channels: number;
  sampleRate: number;
  /** Bits per sample as stored: 8, 16, 24, 32 (pcm) or 32, 64 (float). */
  bitsPerSample: number;
  dataOffset: number;
  dataLength: number;
}

/**
 * Random access to a WAV file's bytes, for the header scan: a file held in
 * memory, or one read a few bytes at a time (src/datasets/probe.ts), so a
 * header is judged the same way however the file is opened.
 */
export interface WavByteSource {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Uint8Array;
}

/** A WavByteSource over bytes in memory. */
export function memoryWavSource(bytes: Uint8Array): WavByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, Math.min(offset + length, bytes.length)) };
}

/** Sample frames in the data chunk a layout describes. */
export function layoutFrames(layout: WavLayout): number {
  return layout.dataLength / (layout.channels * (layout.bitsPerSample / 8));
}

/** The members of wavefile's WaveFile we use, with the types its declarations leave as `object`. */
interface WaveFileCodec {
  fromScratch(channels: number, sampleRate: number, bitDepth: string, samples: ArrayLike<number>, options?: object): void;
  toBuffer(): Uint8Array;
  getSamples(interleaved: boolean, OutputObject: Float32ArrayConstructor): Float32Array;
  data: { samples: Uint8Array };
}

function newWaveFile(): WaveFileCodec {
  return new wavefile.WaveFile() as unknown as WaveFileCodec;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Format codes people actually meet, so the error can say what the file is. */
const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG audio',
  0x0055: 'MP3',
  0x0161: 'WMA',
  0x1610: 'AAC',
  0xf1ac: 'FLAC',
};

/** Magic numbers of other audio containers, for a more useful "not a WAV file". */
const OTHER_FORMATS: Array<[string, string]> = [
  ['fLaC', 'FLAC'],
  ['OggS', 'Ogg'],
  ['ID3', 'MP3'],
  ['FORM', 'AIFF'],
  ['caff', 'CAF'],
  ['.snd', 'Sun/NeXT audio'],
];

/**
 * KSDATAFORMAT_SUBTYPE_PCM, _IEEE_FLOAT, ... are the GUIDs XXXXXXXX-0000-0010-8000-00AA00389B71
 * whose first field is the WAVE format code; these are their last 8 bytes.
 */
const SUBTYPE_GUID_TAIL = [0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/**
 * Decode a WAV file held in memory. `source` names it in error messages.
 * Integer PCM is scaled by 2^-(bits-1) (8-bit: offset 128, then /128), so -1 is
 * the most negative code and full-scale positive is just below 1.
 */
export function decodeWav(bytes: Uint8Array, source: string, options: ReadWavOptions = {}): AudioClip {
  const layout = scanWavLayout(memoryWavSource(bytes), source);
  return decodeWavData(bytes.subarray(layout.dataOffset, layout.dataOffset + layout.dataLength), layout, source, options);
}

/**
 * Decode whole sample frames of a file whose header `layout` describes (all of
 * its data chunk, or a range of it read on its own); the same checks and
 * scaling as decodeWav.
 */
export function decodeWavData(data: Uint8Array, layout: WavLayout, source: string, options: ReadWavOptions = {}): AudioClip {
  const { channels, sampleRate } = layout;
  const channel = options.channel ?? 'mix';
  if (channel !== 'mix' && !(Number.isInteger(channel) && channel >= 0 && channel < channels)) {
    throw new AudioFileError(
      source,
      `channel ${String(channel)} requested but the file has ${channels} channel${channels === 1 ? '' : 's'} (use 0 to ${channels - 1} or 'mix')`,
    );
  }
  const frameBytes = channels * (layout.bitsPerSample / 8);
  if (data.length % frameBytes !== 0) throw new Error(`decodeWavData: ${data.length} bytes are not whole ${frameBytes}-byte frames`);
  const frames = data.length / frameBytes;
  const samples = layout.encoding === 'float' ? decodeFloat(data, layout, frames, channel, source) : decodeInteger(data, layout, frames, channel);
  return {
    samples,
    sampleRate,
    channels,
    bitDepth: bitDepthCode(layout.encoding, layout.bitsPerSample),
    durationSeconds: frames / sampleRate,
  };
}

/** Read and decode a WAV file; see decodeWav. */
export async function readWav(path: string, options: ReadWavOptions = {}): Promise<AudioClip> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new AudioFileError(path, describeFsError(error, 'read'));
  }
  return decodeWav(bytes, path, options);
}

/**
 * A mono WAV file of `samples`. pcm16 maps [-1, 1] onto [-32768, 32767] (x * 32768,
 * rounded half away from zero, clipped), the inverse of how decodeWav reads it,
 * so 16-bit audio survives a decode/encode round trip bit for bit.
 */
export function encodeWav(samples: Float32Array, sampleRate: number, format: WavFormat): Uint8Array {
  return encodeMonoWav(samples, sampleRate, format, null);
}

/**
 * Write a mono WAV file atomically: the bytes go to a temporary file in the
 * same directory, which is renamed into place only once complete, so readers
 * never see a half-written file. An existing file is kept unless `force`.
 */
export async function writeWav(
  path: string,
  samples: Float32Array,
  sampleRate: number,
  options: WriteWavOptions,
): Promise<void> {
  if (!options.force && (await pathExists(path))) throw new InputError(path, 'exists; pass --force to overwrite');
  await writeFileAtomic(path, encodeMonoWav(samples, sampleRate, options.format, path), options.force ?? false);
}

/** Bytes of a WAV header before the samples: RIFF (44) or RF64 with its 'ds64' chunk (80). */
export function pcm16WavHeader(sampleRate: number, samples: number): Buffer {
  const dataBytes = samples * 2;
  // Past 4 GiB the 32-bit sizes cannot hold the length: RF64 (EBU Tech 3306), as sox and ffmpeg write it.
  const rf64 = 36 + dataBytes > 0xffffffff;
  const header = Buffer.alloc(rf64 ? 80 : 44);
  let at = 0;
  const text = (value: string) => (at += header.write(value, at, 'latin1'));
  const u16 = (value: number) => (at = header.writeUInt16LE(value, at));
  const u32 = (value: number) => (at = header.writeUInt32LE(value, at));
  const u64 = (value: number) => {
    u32(value % 2 ** 32);
    u32(Math.floor(value / 2 ** 32));
  };
  text(rf64 ? 'RF64' : 'RIFF');
  u32(rf64 ? 0xffffffff : 36 + dataBytes);
  text('WAVE');
  if (rf64) {
    text('ds64');
    u32(28);
    u64(header.length - 8 + dataBytes); // the RIFF size
    u64(dataBytes);
    u64(samples); // sample frames
    u32(0); // no table of other chunk sizes
  }
  text('fmt ');
  u32(16);
  u16(1); // PCM
  u16(1); // mono
  u32(sampleRate);
  u32(sampleRate * 2);
  u16(2);
  u16(16);
  text('data');
  u32(rf64 ? 0xffffffff : dataBytes);
  return header;
}

/**
 * Write mono 16-bit audio that arrives in pieces (a decoder's windows), in
 * bounded memory whatever its length: the header, made for `totalSamples`
 * (RF64 past 4 GiB), then each piece as it comes, into a temporary file that
 * replaces `path` only when all `totalSamples` were written. Scaling and
 * clipping as encodeWav's 'pcm16'.
 */
export async function writeWavStream(
  path: string,
  sampleRate: number,
  totalSamples: number,
  pieces: AsyncIterable<Float32Array>,
  options: { force?: boolean } = {},
): Promise<void> {
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate * 2 > 0xffffffff) {
    throw new InputError('sampleRate', `must be a whole number of Hz a WAV header can hold, got ${sampleRate}`);
  }
  if (!Number.isSafeInteger(totalSamples) || totalSamples < 0) throw new InputError('totalSamples', `must be a whole number >= 0, got ${totalSamples}`);
  if (!options.force && (await pathExists(path))) throw new InputError(path, 'exists; pass --force to overwrite');
  await writeAtomically(path, options.force ?? false, async (handle) => {
    await handle.write(pcm16WavHeader(sampleRate, totalSamples));
    let written = 0;
    for await (const piece of pieces) {
      if (written + piece.length > totalSamples) throw new Error(`writeWavStream: more than the ${totalSamples} samples announced`);
      const bytes = Buffer.alloc(piece.length * 2);
      for (let i = 0; i < piece.length; i++) {
        const value = piece[i]!;
        if (!Number.isFinite(value)) throw new InputError(path, `cannot write sample ${written + i}: it is ${value} (NaN and infinities have no WAV encoding we read back)`);
        const scaled = Math.min(32767, Math.max(-32768, value * 32768));
        bytes.writeInt16LE(Math.sign(scaled) * Math.round(Math.abs(scaled)), i * 2);
      }
      await handle.write(bytes);
      written += piece.length;
    }
    if (written !== totalSamples) throw new Error(`writeWavStream: ${written} samples came, ${totalSamples} were announced`);
  });
}

// ---------------------------------------------------------------------------
// Reading

/**
 * Walk the RIFF chunks and check every size and format field we rely on;
 * reads only chunk headers and the "fmt " body from `source`. RIFF, RIFX
 * (big-endian) and RF64 (sizes over 4 GiB in a leading 'ds64' chunk).
 */
export function scanWavLayout(source: WavByteSource, name: string): WavLayout {
  const fail = (problem: string): AudioFileError => new AudioFileError(name, problem);
  const fileLength = source.size;

  if (fileLength === 0) throw fail('not a WAV file (the file is empty)');
  const head = source.read(0, 36);
  const container = ascii(head, 0, 4);
  if (container !== 'RIFF' && container !== 'RIFX' && container !== 'RF64') {
    const truncatedMagic = fileLength < 4 && ['RIFF', 'RIFX', 'RF64'].some((id) => id.startsWith(container));
    if (truncatedMagic) throw fail(`truncated: the file ends after ${fileLength} bytes, inside the RIFF header`);
    throw fail(`not a WAV file (${describeMagic(head)})`);
  }
  if (fileLength < 12) throw fail(`truncated: the file ends after ${fileLength} bytes, inside the RIFF header`);
  if (ascii(head, 8, 4) !== 'WAVE') {
    throw fail(`not a WAV file (a ${container} file of type "${printable(ascii(head, 8, 4))}", not "WAVE")`);
  }
  const bigEndian = container === 'RIFX';
  const u16 = (bytes: Uint8Array, offset: number): number => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(offset, !bigEndian);
  const u32 = (bytes: Uint8Array, offset: number): number => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, !bigEndian);

  let riffSize = u32(head, 4);
  let rf64DataSize: number | null = null;
  if (container === 'RF64') {
    // RF64 keeps the real 64-bit sizes in a 'ds64' chunk that must come first.
    if (fileLength < 36 || ascii(head, 12, 4) !== 'ds64') throw fail("RF64 file without the 'ds64' chunk that holds its sizes");
    riffSize = u32(head, 20) + u32(head, 24) * 2 ** 32;
    rf64DataSize = u32(head, 28) + u32(head, 32) * 2 ** 32;
  }
  let riffEnd = 8 + riffSize;
  // Some writers count, but leave out, the pad byte after an odd-sized last chunk;
  // any other missing byte is caught below by the size of the chunk it belongs to.
  if (riffEnd === fileLength + 1) riffEnd = fileLength;
  if (riffEnd > fileLength) {
    throw fail(`truncated or lying header: the RIFF header declares ${riffEnd} bytes but the file has ${fileLength}`);
  }

  let fmt: { offset: number; size: number } | null = null;
  let data: { offset: number; size: number } | null = null;
  let chunksAfterData = 0;
  let position = 12;
  while (position + 8 <= riffEnd) {
    const chunkHeader = source.read(position, 8);
    const id = ascii(chunkHeader, 0, 4);
    let size = u32(chunkHeader, 4);
    if (id === 'data' && rf64DataSize !== null && size === 0xffffffff) size = rf64DataSize;
    const bodyStart = position + 8;
    const bodyEnd = bodyStart + size;
    if (bodyEnd > riffEnd) {
      // A damaged metadata chunk after the audio costs nothing; anything else is fatal.
      if (fmt !== null && data !== null) break;
      const where = bodyEnd > fileLength ? 'the file ends' : 'the RIFF chunk ends';
      throw fail(
        `truncated or lying header: the "${printable(id)}" chunk at byte ${position} declares ${size} bytes but ${where} after ${riffEnd - bodyStart}`,
      );
    }
    if (data !== null) chunksAfterData++;
    if (id === 'fmt ' && fmt === null) fmt = { offset: bodyStart, size };
    if (id === 'data' && data === null) data = { offset: bodyStart, size };
    position = bodyEnd + (size % 2);
  }
  if (fmt === null) throw fail(`not a usable WAV file: no "fmt " chunk${data === null ? ' and no "data" chunk' : ''}`);
  if (data === null) throw fail('not a usable WAV file: no "data" chunk');
  if (fmt.size < 16) throw fail(`the "fmt " chunk is ${fmt.size} bytes, shorter than the 16 a WAV format header needs`);

  const format = source.read(fmt.offset, Math.min(fmt.size, 40));
  let formatCode = u16(format, 0);
  const channels = u16(format, 2);
  const sampleRate = u32(format, 4);
  const blockAlign = u16(format, 12);
  const bitsPerSample = u16(format, 14);
  if (formatCode === WAVE_FORMAT_EXTENSIBLE) {
    if (fmt.size < 40) throw fail(`the "fmt " chunk is ${fmt.size} bytes, too short for WAVE_FORMAT_EXTENSIBLE (40)`);
    const guid = 24;
    const code = u32(format, guid);
    const standardGuid =
      code <= 0xffff && u16(format, guid + 4) === 0x0000 && u16(format, guid + 6) === 0x0010 &&
      SUBTYPE_GUID_TAIL.every((byte, i) => format[guid + 8 + i] === byte);
    if (!standardGuid) throw fail('unsupported encoding: WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format GUID');
    formatCode = code;
  }

  if (channels === 0) throw fail('the header says the file has 0 channels');
  if (sampleRate === 0) throw fail('the header says the sample rate is 0 Hz');
  const encoding = sampleEncoding(formatCode, bitsPerSample);
  if (typeof encoding !== 'string') throw fail(encoding.problem);
  const frameBytes = channels * (bitsPerSample / 8);
  if (blockAlign !== frameBytes) {
    throw fail(
      `inconsistent header: block align is ${blockAlign} bytes but ${channels} channel${channels === 1 ? '' : 's'} of ${bitsPerSample}-bit samples take ${frameBytes}`,
    );
  }
  if (data.size === 0) {
    // Encoders writing to a pipe cannot go back to fill in the size.
    const trailing = fileLength - data.offset;
    const streamed = trailing > 0 && chunksAfterData === 0;
    const hint = streamed ? ` (yet ${trailing} bytes follow it: a header written by a streaming encoder?)` : '';
    throw fail(`no audio: the "data" chunk holds 0 samples${hint}`);
  }
  if (data.size % frameBytes !== 0) {
    throw fail(`the "data" chunk holds ${data.size} bytes, not a whole number of ${frameBytes}-byte sample frames`);
  }
  return { bigEndian, encoding, channels, sampleRate, bitsPerSample, dataOffset: data.offset, dataLength: data.size };
}

function sampleEncoding(formatCode: number, bits: number): SampleEncoding | { problem: string } {
  const supported = 'supported: 8, 16, 24 and 32-bit integer PCM, 32 and 64-bit float';
  if (formatCode === WAVE_FORMAT_PCM) {
    if (bits === 8 || bits === 16 || bits === 24 || bits === 32) return 'pcm';
    return { problem: `unsupported sample format: ${bits}-bit integer PCM (${supported})` };
  }
  if (formatCode === WAVE_FORMAT_IEEE_FLOAT) {
    if (bits === 32 || bits === 64) return 'float';
    return { problem: `unsupported sample format: ${bits}-bit float (${supported})` };
  }
  const name = FORMAT_NAMES[formatCode] ?? 'an unknown encoding';
  const code = `0x${formatCode.toString(16).padStart(4, '0')}`;
  return { problem: `unsupported encoding: ${name} (WAV format code ${code}); convert it to PCM or float WAV first` };
}

function bitDepthCode(encoding: SampleEncoding, bits: number): string {
  if (encoding === 'pcm') return String(bits);
  return bits === 32 ? '32f' : '64';
}

function decodeInteger(data: Uint8Array, layout: WavLayout, frames: number, channel: number | 'mix'): Float32Array {
  // wavefile unpacks the samples of exactly the checked byte range: it gets a
  // header we build for the validated layout, then the data bytes.
  const codec = newWaveFile();
  const bitDepth = String(layout.bitsPerSample);
  // One channel and a nominal rate: the interleaved unpacking needs neither, and
  // wavefile would refuse some legal headers (byte rate over 2^32) otherwise.
  codec.fromScratch(1, 8000, bitDepth, [], { container: layout.bigEndian ? 'RIFX' : 'RIFF' });
  codec.data.samples = data;
  const interleaved = codec.getSamples(true, Float32Array);

  const unsigned = layout.bitsPerSample === 8;
  const offset = unsigned ? 128 : 0;
  const scale = 1 / 2 ** (layout.bitsPerSample - 1);
  return toMono(interleaved, frames, layout.channels, channel, (value) => (value - offset) * scale);
}

function decodeFloat(
  data: Uint8Array,
  layout: WavLayout,
  frames: number,
  channel: number | 'mix',
  source: string,
): Float32Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const littleEndian = !layout.bigEndian;
  const count = frames * layout.channels;
  const values = layout.bitsPerSample === 64 ? new Float64Array(count) : new Float32Array(count);
  let nonFinite = 0;
  let firstNonFinite = -1;
  for (let i = 0; i < count; i++) {
    const value = layout.bitsPerSample === 64 ? view.getFloat64(i * 8, littleEndian) : view.getFloat32(i * 4, littleEndian);
    if (!Number.isFinite(value)) {
      if (nonFinite === 0) firstNonFinite = i;
      nonFinite++;
    }
    values[i] = value;
  }
  if (nonFinite > 0) {
    const frame = Math.floor(firstNonFinite / layout.channels);
    const seconds = (frame / layout.sampleRate).toFixed(3);
    throw new AudioFileError(
      source,
      `${nonFinite} sample${nonFinite === 1 ? ' is' : 's are'} NaN or infinite (first: ${values[firstNonFinite]} at ${seconds} s, frame ${frame}, channel ${firstNonFinite % layout.channels})`,
    );
  }
  return toMono(values, frames, layout.channels, channel, (value) => value);
}

function toMono(
  interleaved: ArrayLike<number>,
  frames: number,
  channels: number,
  channel: number | 'mix',
  normalise: (value: number) => number,
): Float32Array {
  const mono = new Float32Array(frames);
  if (channel !== 'mix') {
    for (let i = 0; i < frames; i++) mono[i] = normalise(interleaved[i * channels + channel]);
  } else if (channels === 1) {
    for (let i = 0; i < frames; i++) mono[i] = normalise(interleaved[i]);
  } else {
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += normalise(interleaved[i * channels + c]);
      mono[i] = sum / channels;
    }
  }
  return mono;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function describeMagic(bytes: Uint8Array): string {
  const start = ascii(bytes, 0, 4);
  for (const [magic, name] of OTHER_FORMATS) {
    if (start.startsWith(magic)) return `looks like ${name}`;
  }
  if (bytes[0] === 0xff && bytes.length > 1 && (bytes[1] & 0xe0) === 0xe0) return 'looks like MP3';
  if (ascii(bytes, 4, 4) === 'ftyp') return 'looks like MP4/M4A';
  const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `starts with bytes ${hex}, not "RIFF"`;
}

// ---------------------------------------------------------------------------
// Writing

function encodeMonoWav(samples: Float32Array, sampleRate: number, format: WavFormat, source: string | null): Uint8Array {
  if (format !== 'pcm16' && format !== 'float32') {
    throw new InputError('format', `must be 'pcm16' or 'float32', got ${String(format)}`);
  }
  const bytesPerSample = format === 'pcm16' ? 2 : 4;
  // The header stores the rate and the byte rate as 32-bit integers.
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate * bytesPerSample > 0xffffffff) {
    throw new InputError('sampleRate', `must be a whole number of Hz a WAV header can hold, got ${sampleRate}`);
  }
  const dataLength = samples.length * bytesPerSample;
  if (dataLength > 0xffffffff - 36) {
    throw new InputError(source, `${samples.length} samples are too many for a WAV file (4 GiB at most)`);
  }
  const data = new Uint8Array(dataLength);
  const view = new DataView(data.buffer);
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i];
    if (!Number.isFinite(value)) {
      throw new InputError(source, `cannot write sample ${i}: it is ${value} (NaN and infinities have no WAV encoding we read back)`);
    }
    if (format === 'float32') {
      view.setFloat32(i * 4, value, true);
    } else {
      const scaled = Math.min(32767, Math.max(-32768, value * 32768));
      view.setInt16(i * 2, Math.sign(scaled) * Math.round(Math.abs(scaled)), true);
    }
  }
  // wavefile writes the container around the samples we packed (its own float
  // packing is ~50x slower than DataView).
  const wav = newWaveFile();
  wav.fromScratch(1, sampleRate, format === 'pcm16' ? '16' : '32f', []);
  wav.data.samples = data;
  return wav.toBuffer();
}
