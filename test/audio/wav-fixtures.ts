/**
 * WAV files built byte by byte for the tests, independently of wavefile and of
 * the reader under test, so any field can be made wrong on purpose.
 */

export interface WavSpec {
  container?: 'RIFF' | 'RIFX' | 'RF64';
  /** fmt audioFormat; 1 PCM, 3 float, 0xfffe extensible. Default 1. */
  formatCode?: number;
  /** With formatCode 0xfffe: the sub-format code written into the standard GUID. */
  subFormatCode?: number;
  /** With formatCode 0xfffe: replace the GUID's last byte, making it non-standard. */
  breakGuid?: boolean;
  channels?: number;
  sampleRate?: number;
  bitsPerSample: number;
  /** Default channels * bitsPerSample / 8. */
  blockAlign?: number;
  /** Length of the fmt chunk body: default 16, or 40 when extensible. */
  fmtSize?: number;
  data: Uint8Array;
  /** Declared data chunk size; default data.length. */
  dataSize?: number;
  /** Declared RIFF size; default the true size. */
  riffSize?: number;
  /** Extra chunks, placed before 'fmt ' or after 'data'. */
  chunksBefore?: Array<[string, Uint8Array]>;
  chunksAfter?: Array<[string, Uint8Array]>;
  omitFmt?: boolean;
  omitData?: boolean;
}

export function buildWav(spec: WavSpec): Uint8Array {
  const bigEndian = spec.container === 'RIFX';
  const channels = spec.channels ?? 1;
  const sampleRate = spec.sampleRate ?? 16000;
  const formatCode = spec.formatCode ?? 1;
  const extensible = formatCode === 0xfffe;
  const fmtSize = spec.fmtSize ?? (extensible ? 40 : 16);
  const blockAlign = spec.blockAlign ?? (channels * spec.bitsPerSample) / 8;

  const fmt = new Uint8Array(fmtSize);
  const fmtView = new DataView(fmt.buffer);
  const le = !bigEndian;
  const put16 = (offset: number, value: number): void => {
    if (offset + 2 <= fmtSize) fmtView.setUint16(offset, value, le);
  };
  const put32 = (offset: number, value: number): void => {
    if (offset + 4 <= fmtSize) fmtView.setUint32(offset, value, le);
  };
  put16(0, formatCode);
  put16(2, channels);
  put32(4, sampleRate);
  put32(8, sampleRate * blockAlign);
  put16(12, blockAlign);
  put16(14, spec.bitsPerSample);
  if (extensible) {
    put16(16, 22);
    put16(18, spec.bitsPerSample);
    put32(20, 0);
    put32(24, spec.subFormatCode ?? 1);
    put16(28, 0x0000);
    put16(30, 0x0010);
    fmt.set([0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, spec.breakGuid ? 0x00 : 0x71], 32);
  }

  const chunks: Array<[string, Uint8Array, number?]> = [];
  if (spec.container === 'RF64') chunks.push(['ds64', new Uint8Array(28)]);
  chunks.push(...(spec.chunksBefore ?? []));
  if (!spec.omitFmt) chunks.push(['fmt ', fmt]);
  if (!spec.omitData) chunks.push(['data', spec.data, spec.dataSize]);
  chunks.push(...(spec.chunksAfter ?? []));

  const parts: Uint8Array[] = [];
  for (const [id, body, declaredSize] of chunks) {
    const header = new Uint8Array(8);
    header.set(Array.from(id, (c) => c.charCodeAt(0)));
    const size = spec.container === 'RF64' && id === 'data' ? 0xffffffff : (declaredSize ?? body.length);
    new DataView(header.buffer).setUint32(4, size, le);
    parts.push(header, body);
    if (body.length % 2 === 1) parts.push(new Uint8Array(1));
  }
  const bodyLength = parts.reduce((sum, part) => sum + part.length, 0);
  const file = new Uint8Array(12 + bodyLength);
  const view = new DataView(file.buffer);
  file.set(Array.from(spec.container ?? 'RIFF', (c) => c.charCodeAt(0)), 0);
  view.setUint32(4, spec.container === 'RF64' ? 0xffffffff : (spec.riffSize ?? 4 + bodyLength), le);
  file.set(Array.from('WAVE', (c) => c.charCodeAt(0)), 8);
  let offset = 12;
  for (const part of parts) {
    file.set(part, offset);
    offset += part.length;
  }
  if (spec.container === 'RF64') {
    // ds64 body: RIFF size, data size, sample count (each low then high 32 bits).
    const riffSize = file.length - 8;
    view.setUint32(20, riffSize, true);
    view.setUint32(28, spec.dataSize ?? spec.data.length, true);
  }
  return file;
}

/** Signed integers packed as little- (or big-) endian two's complement of `bits`; 8-bit is unsigned. */
export function pcmBytes(values: number[], bits: 8 | 16 | 24 | 32, bigEndian = false): Uint8Array {
  const width = bits / 8;
  const out = new Uint8Array(values.length * width);
  values.forEach((value, i) => {
    const unsigned = bits === 8 ? value : value < 0 ? value + 2 ** bits : value;
    for (let b = 0; b < width; b++) {
      const byte = Math.floor(unsigned / 2 ** (8 * b)) & 0xff;
      out[i * width + (bigEndian ? width - 1 - b : b)] = byte;
    }
  });
  return out;
}

export function floatBytes(values: number[], bits: 32 | 64, bigEndian = false): Uint8Array {
  const width = bits / 8;
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => {
    if (bits === 32) view.setFloat32(i * width, value, !bigEndian);
    else view.setFloat64(i * width, value, !bigEndian);
  });
  return out;
}

export function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
