/**
 * safetensors files (https://huggingface.co/docs/safetensors), float32 only:
 * an 8-byte little-endian header length, a JSON header mapping each tensor name
 * to {dtype, shape, data_offsets} (plus an optional "__metadata__" object of
 * strings), then the raw little-endian data. Reading checks every offset, so a
 * truncated or hand-edited file fails with one line naming it.
 */
import { readFile } from 'node:fs/promises';

import { InputError } from '../errors.js';
import { describeFsError, writeFileAtomic } from '../files.js';

export interface NamedTensor {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** The header never needs more than this; larger means the file is not safetensors. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is not a tensor name');
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`safetensors: ${name} has ${data.length} values for shape [${shape}]`);
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the format recommends.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const { data } of tensors.values()) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (isLittleEndian()) {
      out.set(bytes, position);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(position + 4 * i, data[i]!, true);
    }
    position += data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsContents {
  const fail = (problem: string) => new InputError(source, `not a valid safetensors file: ${problem}`);
  if (bytes.length < 8) throw fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) throw fail(`header length ${headerLength} exceeds the file`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
  } catch {
    throw fail('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw fail('__metadata__ must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (dtype !== 'F32') throw fail(`tensor ${name} has dtype ${String(dtype)}; only F32 is supported`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`tensor ${name} has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o))) {
      throw fail(`tensor ${name} has bad data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin < 0 || end > dataLength || end - begin !== 4 * size) {
      throw fail(`tensor ${name} spans bytes [${begin}, ${end}) of ${dataLength}, needs ${4 * size}`);
    }
    spans.push([begin, end, name]);
    const data = new Float32Array(size);
    const dataView = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    for (let i = 0; i < size; i++) data[i] = dataView.getFloat32(4 * i, true);
    tensors.set(name, { shape: shape as number[], data });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw fail(`tensors ${spans[i - 1]![2]} and ${spans[i]![2]} overlap`);
  }
  return { tensors, metadata };
}

export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(path, describeFsError(error, 'read'));
  }
  return decodeSafetensors(bytes, path);
}

/** Writes atomically; replaces an existing file only with `force`. */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, NamedTensor>,
  options: { metadata?: Record<string, string>; force?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, options.metadata), options.force ?? false);
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
