/**
 * WAV header probing: sample rate, channels and duration from a file's first
 * chunks and its size, without reading the audio. Listing a corpus of tens of
 * thousands of files needs durations (for filters and totals) long before any
 * sample is decoded; the full checks of readWav run when the audio is read.
 */
import { open, type FileHandle } from 'node:fs/promises';

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

/**
 * Read the RIFF/WAVE header of `path`. Throws AudioFileError (one line naming
 * the file) for a missing file, a non-WAV file, or a data chunk that claims
 * more bytes than the file holds (a truncated file).
 */
export async function probeWav(path: string): Promise<WavHeader> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new AudioFileError(path, describeFsError(error, 'read'));
  }
  try {
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
    let format: { channels: number; sampleRate: number; bitsPerSample: number; blockAlign: number } | null = null;
    for (let chunk = 0; chunk < MAX_CHUNKS && position + 8 <= size; chunk++) {
      const header = await read(position, 8);
      const id = header.toString('latin1', 0, 4);
      const length = littleEndian ? header.readUInt32LE(4) : header.readUInt32BE(4);
      if (id === 'fmt ') {
        const body = await read(position + 8, 16);
        if (body.length < 16) throw fail('truncated: the file ends inside the "fmt " chunk');
        const u16 = (offset: number): number => (littleEndian ? body.readUInt16LE(offset) : body.readUInt16BE(offset));
        const u32 = (offset: number): number => (littleEndian ? body.readUInt32LE(offset) : body.readUInt32BE(offset));
        format = { channels: u16(2), sampleRate: u32(4), blockAlign: u16(12), bitsPerSample: u16(14) };
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
          sampleRate: format.sampleRate,
          channels: format.channels,
          bitsPerSample: format.bitsPerSample,
          frames,
          durationSeconds: frames / format.sampleRate,
        };
      }
      position += 8 + length + (length % 2);
    }
    throw fail('not a usable WAV file: no "data" chunk found');
  } catch (error) {
    if (error instanceof AudioFileError) throw error;
    throw new AudioFileError(path, describeFsError(error, 'read'));
  } finally {
    await handle.close();
  }
}
