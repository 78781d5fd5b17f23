/**
 * Spectrogram heatmaps as small PNG images, for embedding in Vega-Lite charts
 * (an `image` mark over ordinary axes). Drawing 10,000s of `rect` marks took
 * Vega + resvg over 3 s per figure; one image per panel takes milliseconds.
 * The PNG writer is the minimal subset of the format (8-bit RGB, no filtering,
 * one zlib stream), which every decoder reads.
 */
import { deflateSync } from 'node:zlib';

/** matplotlib's "magma" sampled at nine evenly spaced points; interpolated linearly between. */
const MAGMA: ReadonlyArray<readonly [number, number, number]> = [
  [0x00, 0x00, 0x04],
  [0x1c, 0x10, 0x44],
  [0x4f, 0x12, 0x7b],
  [0x81, 0x25, 0x81],
  [0xb5, 0x36, 0x7a],
  [0xe5, 0x50, 0x64],
  [0xfb, 0x87, 0x61],
  [0xfe, 0xc2, 0x87],
  [0xfc, 0xfd, 0xbf],
];

function magma(fraction: number): [number, number, number] {
  const position = Math.max(0, Math.min(1, fraction)) * (MAGMA.length - 1);
  const i = Math.min(MAGMA.length - 2, Math.floor(position));
  const f = position - i;
  const [a, b] = [MAGMA[i], MAGMA[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) chunk[4 + i] = type.charCodeAt(i);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

/** An 8-bit RGB PNG of `width` × `height` pixels; `rgb` is row-major, top row first. */
export function encodeRgbPng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} RGB bytes, got ${rgb.length}`);
  const scanlines = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) scanlines.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1); // filter byte 0
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits per channel, RGB, deflate, no filter, no interlace
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(scanlines)),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    png.set(part, offset);
    offset += part.length;
  }
  return png;
}

/**
 * A frame-major matrix (value of row r in frame t at t * rows + r) as a PNG,
 * one pixel per cell, lowest row at the bottom, coloured with magma from
 * `floor` (black) to `ceiling` (pale yellow).
 */
export function heatmapPng(values: Float32Array, frames: number, rows: number, floor: number, ceiling: number): Uint8Array {
  const rgb = new Uint8Array(frames * rows * 3);
  for (let t = 0; t < frames; t++) {
    for (let r = 0; r < rows; r++) {
      const [red, green, blue] = magma((values[t * rows + r] - floor) / (ceiling - floor));
      const pixel = ((rows - 1 - r) * frames + t) * 3;
      rgb[pixel] = red;
      rgb[pixel + 1] = green;
      rgb[pixel + 2] = blue;
    }
  }
  return encodeRgbPng(frames, rows, rgb);
}
