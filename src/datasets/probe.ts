/**
 * WAV header probing: sample rate, channels and duration from a file's first
 * chunks and its size, without reading the audio. Listing a corpus of tens of
 * thousands of files needs durations (for filters and totals) long before any
 * sample is decoded; the full checks of readWav run when the audio is read.
 */
import { open, type FileHandle } from 'node:fs/promises';

import { decodeWav, type AudioClip } from '../audio/index.js';
import { AudioFileError } from '../errors.js';
import { describeFsError } from '../files.js';

export interface WavHeader {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Sample frames in the data chunk, as the header declares them. */
  frames: number;
  durationSeconds: number;
}

/** Chunk headers to walk before giving up on finding 'data' (metadata-heavy files have a handful). */
const MAX_CHUNKS = 64;

/** Where the pieces of a WAV file are, as its header says. */
interface HeaderLayout extends WavHeader {
  container: 'RIFF' | 'RIFX';
  /** The "fmt " chunk's body, kept to rebuild a WAV file around a range of frames. */
  fmtBody: Buffer;
  blockAlign: number;
  dataOffset: number;
}

/**
 * Read the RIFF/WAVE header of `path`. Throws AudioFileError (one line naming
 * the file) for a missing file, a non-WAV file, or a data chunk that claims
 * more bytes than the file holds (a truncated file).
 */
export async function probeWav(path: string): Promise<WavHeader> {
  const { sampleRate, channels, bitsPerSample, frames, durationSeconds } = await withFile(path, (handle) => scanHeader(handle, path));
  return { sampleRate, channels, bitsPerSample, frames, durationSeconds };
}

/**
 * A range of frames of a WAV file, mono, read without touching the rest of the
 * file: the header is scanned, `range` picks frames [start, end) knowing the
 * header, that byte range is read, and decodeWav decodes it (so every format
 * and value check of readWav applies to the range). The range is clipped to
 * the file.
 */
export async function readWavFrames(path: string, range: (header: WavHeader) => [number, number]): Promise<{ clip: AudioClip; header: WavHeader }> {
  return withFile(path, async (handle) => {
    const layout = await scanHeader(handle, path);
    const [start, end] = range(layout);
    const first = Math.max(0, Math.min(start, layout.frames));
    const last = Math.max(first, Math.min(end, layout.frames));
    const length = (last - first) * layout.blockAlign;
    const fmtSize = layout.fmtBody.length;
    // RIFF header, the original "fmt " chunk, then a data chunk holding just the range.
    const bytes = Buffer.alloc(12 + 8 + fmtSize + (fmtSize % 2) + 8 + length);
    const little = layout.container === 'RIFF';
    const u32 = (value: number, offset: number): void => {
      if (little) bytes.writeUInt32LE(value, offset);
      else bytes.writeUInt32BE(value, offset);
    };
    bytes.write(layout.container, 0, 'latin1');
    u32(bytes.length - 8, 4);
    bytes.write('WAVEfmt ', 8, 'latin1');
    u32(fmtSize, 16);
    layout.fmtBody.copy(bytes, 20);
    const dataHeader = 20 + fmtSize + (fmtSize % 2);
    bytes.write('data', dataHeader, 'latin1');
    u32(length, dataHeader + 4);
    const { bytesRead } = await handle.read(bytes, dataHeader + 8, length, layout.dataOffset + first * layout.blockAlign);
    if (bytesRead !== length) throw new AudioFileError(path, `truncated: the file ended while reading frames ${first}-${last}`);
    const { sampleRate, channels, bitsPerSample, frames, durationSeconds } = layout;
    return { clip: decodeWav(bytes, path), header: { sampleRate, channels, bitsPerSample, frames, durationSeconds } };
  });
}

async function withFile<T>(path: string, use: (handle: FileHandle) => Promise<T>): Promise<T> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new AudioFileError(path, describeFsError(error, 'read'));
  }
  try {
    return await use(handle);
  } catch (error) {
    if (error instanceof AudioFileError) throw error;
    throw new AudioFileError(path, describeFsError(error, 'read'));
  } finally {
    await handle.close();
  }
}

async function scanHeader(handle: FileHandle, path: string): Promise<HeaderLayout> {
  const size = (await handle.stat()).size;
  const read = async (position: number, length: number): Promise<Buffer> => {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  };
  const fail = (problem: string): AudioFileError => new AudioFileError(path, problem);
  const head = await read(0, 12);
  if (head.length === 0) throw fail('not a WAV file (the file is empty)');
  const container = head.toString('latin1', 0, 4);
  if (head.length < 12 || (container !== 'RIFF' && container !== 'RIFX') || head.toString('latin1', 8, 12) !== 'WAVE') {
    throw fail('not a WAV file (no RIFF/WAVE header)');
  }
  const littleEndian = container === 'RIFF';
  let position = 12;
  let format: { channels: number; sampleRate: number; bitsPerSample: number; blockAlign: number; body: Buffer } | null = null;
  for (let chunk = 0; chunk < MAX_CHUNKS && position + 8 <= size; chunk++) {
    const header = await read(position, 8);
    const id = header.toString('latin1', 0, 4);
    const length = littleEndian ? header.readUInt32LE(4) : header.readUInt32BE(4);
    if (id === 'fmt ') {
      const body = await read(position + 8, Math.min(length, 1024));
      if (body.length < 16 || body.length < Math.min(length, 1024)) throw fail('truncated: the file ends inside the "fmt " chunk');
      const u16 = (offset: number): number => (littleEndian ? body.readUInt16LE(offset) : body.readUInt16BE(offset));
      const u32 = (offset: number): number => (littleEndian ? body.readUInt32LE(offset) : body.readUInt32BE(offset));
      format = { channels: u16(2), sampleRate: u32(4), blockAlign: u16(12), bitsPerSample: u16(14), body };
      if (format.channels === 0 || format.sampleRate === 0 || format.blockAlign === 0) {
        throw fail('the "fmt " chunk declares 0 channels, a 0 Hz rate or 0-byte frames');
      }
    } else if (id === 'data') {
      if (format === null) throw fail('not a usable WAV file: the "data" chunk comes before any "fmt " chunk');
      const available = size - (position + 8);
      if (length > available) {
        throw fail(`truncated or lying header: the "data" chunk declares ${length} bytes but the file holds ${available} after it`);
      }
      if (length === 0) throw fail('no audio: the "data" chunk holds 0 samples');
      const frames = Math.floor(length / format.blockAlign);
      return {
        container,
        sampleRate: format.sampleRate,
        channels: format.channels,
        bitsPerSample: format.bitsPerSample,
        blockAlign: format.blockAlign,
        fmtBody: format.body,
        dataOffset: position + 8,
        frames,
        durationSeconds: frames / format.sampleRate,
      };
    }
    position += 8 + length + (length % 2);
  }
  throw fail('not a usable WAV file: no "data" chunk found');
}
