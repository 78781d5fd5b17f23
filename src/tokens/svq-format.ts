/**
 * `.svq` token files: one utterance's codes, bit-packed so that the file's size
 * is the bitrate (plus a small header).
 *
 *   offset  size  field
 *   0       4     magic "SVQ" 0x00
 *   4       2     format version, little-endian (1)
 *   6       4     header length H in bytes, little-endian
 *   10      H     header: UTF-8 JSON (see SvqHeader)
 *   10+H    P     codes, ceil(log2 K) bits each, least significant bit first,
 *                 P = ceil(frames · bits / 8); unused bits of the last byte are 0
 *   10+H+P  4     CRC-32 (zlib's) of every byte before it, little-endian
 *
 * Reading checks the magic, the version, the header's fields, the length, every
 * code against K and the checksum, and names the file in one line when any fails.
 *
 * Bytes in, bytes out, nothing else: this module runs in Node and in the
 * browser alike; ./svq.ts reads and writes the files.
 */
import { InputError } from '../errors.js';

export const SVQ_MAGIC = Uint8Array.from([0x53, 0x56, 0x51, 0x00]);
export const SVQ_VERSION = 1;
const FIXED_BYTES = 4 + 2 + 4;
const CHECKSUM_BYTES = 4;

export interface SvqHeader {
  /** The model's name, e.g. "speech-16k-0.9kbps". */
  modelId: string;
  /** A hash of the model's weights and config: tokens decode only with the model that made them. */
  modelHash: string;
  /** Of the audio the model decodes to. */
  sampleRate: number;
  /** Tokens per second. */
  frameRate: number;
  codebookSize: number;
  frameCount: number;
  /** Samples of the original audio at sampleRate, so decoding can trim the last frame's padding. */
  originalLength: number;
}

export interface SvqFile {
  header: SvqHeader;
  codes: Uint32Array;
}

/** The reflected CRC-32 of zlib, PNG and Ethernet (polynomial 0xEDB88320), one byte at a time. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Bits per code: ceil(log2 K), at least 1. */
export function bitsPerCode(codebookSize: number): number {
  return Math.max(1, Math.ceil(Math.log2(codebookSize)));
}

/**
 * Checks every header field's type and range, and that the fields agree: the
 * frame count is what the original length takes at the header's hop (the last
 * frame padded), so a decoded file is as long as the header says.
 */
export function checkSvqHeader(header: SvqHeader, fail: (problem: string) => Error): void {
  const integer = (name: keyof SvqHeader, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const value = header[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw fail(`header field ${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    }
  };
  for (const name of ['modelId', 'modelHash'] as const) {
    if (typeof header[name] !== 'string' || header[name].length === 0) throw fail(`header field ${name} must be a non-empty string`);
  }
  integer('sampleRate', 1);
  integer('codebookSize', 2, 2 ** 32);
  integer('frameCount', 0);
  integer('originalLength', 0);
  if (typeof header.frameRate !== 'number' || !(header.frameRate > 0)) throw fail('header field frameRate must be a positive number');
  const hop = header.sampleRate / header.frameRate;
  if (!Number.isInteger(hop)) throw fail(`inconsistent header: sampleRate ${header.sampleRate} is not a whole number of frames at frameRate ${header.frameRate}`);
  const frames = Math.ceil(header.originalLength / hop);
  if (frames !== header.frameCount) {
    throw fail(`inconsistent header: originalLength ${header.originalLength} samples take ${frames} frames of ${hop}, but frameCount is ${header.frameCount}`);
  }
}

export function encodeSvq(file: SvqFile): Uint8Array {
  const { header, codes } = file;
  checkSvqHeader(header, (problem) => new Error(`encodeSvq: ${problem}`));
  if (codes.length !== header.frameCount) throw new Error(`encodeSvq: ${codes.length} codes for frameCount ${header.frameCount}`);
  const bits = bitsPerCode(header.codebookSize);
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const packedBytes = Math.ceil((codes.length * bits) / 8);
  const out = new Uint8Array(FIXED_BYTES + headerBytes.length + packedBytes + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(SVQ_MAGIC, 0);
  view.setUint16(4, SVQ_VERSION, true);
  view.setUint32(6, headerBytes.length, true);
  out.set(headerBytes, FIXED_BYTES);
  const packedStart = FIXED_BYTES + headerBytes.length;
  let bitPosition = 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code >= header.codebookSize) throw new Error(`encodeSvq: code ${code} at frame ${i} is outside [0, ${header.codebookSize})`);
    for (let b = 0; b < bits; b++, bitPosition++) {
      if ((code >>> b) & 1) out[packedStart + (bitPosition >> 3)]! |= 1 << (bitPosition & 7);
    }
  }
  view.setUint32(out.length - CHECKSUM_BYTES, crc32(out.subarray(0, out.length - CHECKSUM_BYTES)), true);
  return out;
}

export function decodeSvq(bytes: Uint8Array, source: string): SvqFile {
  const fail = (problem: string) => new InputError(source, problem);
  if (bytes.length < FIXED_BYTES + CHECKSUM_BYTES || !SVQ_MAGIC.every((b, i) => bytes[i] === b)) {
    throw fail('not a .svq token file (no SVQ signature)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== SVQ_VERSION) throw fail(`.svq format version ${version}; this simvq-audio reads version ${SVQ_VERSION}`);
  const headerLength = view.getUint32(6, true);
  if (FIXED_BYTES + headerLength + CHECKSUM_BYTES > bytes.length) throw fail('truncated: the header runs past the end of the file');
  let header: SvqHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(FIXED_BYTES, FIXED_BYTES + headerLength))) as SvqHeader;
  } catch {
    throw fail('the header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null) throw fail('the header is not a JSON object');
  checkSvqHeader(header, fail);
  const bits = bitsPerCode(header.codebookSize);
  const packedStart = FIXED_BYTES + headerLength;
  const packedBytes = Math.ceil((header.frameCount * bits) / 8);
  const expected = packedStart + packedBytes + CHECKSUM_BYTES;
  if (bytes.length < expected) throw fail(`truncated: ${bytes.length} bytes, the header promises ${expected}`);
  if (bytes.length > expected) throw fail(`${bytes.length - expected} unexpected bytes after the codes`);
  const stored = view.getUint32(bytes.length - CHECKSUM_BYTES, true);
  if (crc32(bytes.subarray(0, bytes.length - CHECKSUM_BYTES)) !== stored) throw fail('checksum mismatch: the file is corrupt');
  const codes = new Uint32Array(header.frameCount);
  let bitPosition = 0;
  for (let i = 0; i < codes.length; i++) {
    let code = 0;
    for (let b = 0; b < bits; b++, bitPosition++) {
      code |= ((bytes[packedStart + (bitPosition >> 3)]! >> (bitPosition & 7)) & 1) << b;
    }
    code >>>= 0;
    if (code >= header.codebookSize) throw fail(`code ${code} at frame ${i} is outside the codebook (K = ${header.codebookSize})`);
    codes[i] = code;
  }
  return { header, codes };
}

/**
 * The codes as a NumPy .npy file (format 1.0, little-endian uint32, shape
 * [frames]), for people who want plain arrays.
 */
export function encodeNpy(codes: Uint32Array): Uint8Array {
  let header = `{'descr': '<u4', 'fortran_order': False, 'shape': (${codes.length},), }`;
  // Magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + 4 * codes.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const data = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < codes.length; i++) data.setUint32(4 * i, codes[i]!, true);
  return out;
}
