/**
 * WAV header probing: sample rate, channels and duration from a file's first
 * chunks and its size, without reading the audio. Listing a corpus of tens of
 * thousands of files needs durations (for filters and totals) long before any
 * sample is decoded. The header is judged by readWav's own scan; the checks
 * of the sample values run when the audio is read.
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

import { decodeWavData, layoutFrames, scanWavLayout, type AudioClip, type WavByteSource, type WavLayout } from '../audio/wav.js';
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

/**
 * Read the RIFF/WAVE header of `path`, with every check readWav makes of a
 * header (src/audio/wav.ts scanWavLayout: RIFF, RIFX and RF64, any number of
 * chunks, the format supported). Throws AudioFileError (one line naming the
 * file) for a missing file, a non-WAV file, an unsupported format, or a
 * header that claims more bytes than the file holds (a truncated file).
 */
export async function probeWav(path: string): Promise<WavHeader> {
  return withFile(path, async (handle) => headerOf(await scanFile(handle, path)));
}

/**
 * A range of frames of a WAV file, mono, read without touching the rest of the
 * file: the header is scanned, `range` picks frames [start, end) knowing the
 * header, that byte range is read and decoded as readWav decodes (so every
 * value check applies to the range). The range is clipped to the file.
 */
export async function readWavFrames(path: string, range: (header: WavHeader) => [number, number]): Promise<{ clip: AudioClip; header: WavHeader }> {
  return withFile(path, async (handle) => {
    const layout = await scanFile(handle, path);
    const header = headerOf(layout);
    const [start, end] = range(header);
    const first = Math.max(0, Math.min(start, header.frames));
    const last = Math.max(first, Math.min(end, header.frames));
    const frameBytes = layout.channels * (layout.bitsPerSample / 8);
    const length = (last - first) * frameBytes;
    const data = Buffer.alloc(length);
    const { bytesRead } = await handle.read(data, 0, length, layout.dataOffset + first * frameBytes);
    if (bytesRead !== length) throw new AudioFileError(path, `truncated: the file ended while reading frames ${first}-${last}`);
    return { clip: decodeWavData(data, layout, path), header };
  });
}

function headerOf(layout: WavLayout): WavHeader {
  const frames = layoutFrames(layout);
  return { sampleRate: layout.sampleRate, channels: layout.channels, bitsPerSample: layout.bitsPerSample, frames, durationSeconds: frames / layout.sampleRate };
}

/** The header scan over an open file, reading chunk headers a few bytes at a time. */
async function scanFile(handle: FileHandle, path: string): Promise<WavLayout> {
  const size = (await handle.stat()).size;
  const source: WavByteSource = {
    size,
    read: (offset, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      const bytesRead = readSync(handle.fd, buffer, 0, buffer.length, offset);
      return buffer.subarray(0, bytesRead);
    },
  };
  return scanWavLayout(source, path);
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
