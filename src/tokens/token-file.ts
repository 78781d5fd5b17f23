/**
 * Token files as the CLI reads and writes them: `.svq` (./svq.ts), or JSON
 * `{ "header": {...}, "codes": [...] }` with the same header and the same
 * checks, or `.npy` codes alone (written, not read: it has no model header).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

import { InputError } from '../errors.js';
import { describeFsError } from '../files.js';
import { checkSvqHeader, decodeSvq, encodeNpy, encodeSvq, type SvqFile, type SvqHeader } from './svq.js';

export type TokenFormat = 'svq' | 'json' | 'npy';

/** Tokens as the chosen file format. */
export function tokenFileBytes(tokens: SvqFile, format: TokenFormat): Uint8Array | string {
  switch (format) {
    case 'svq':
      return encodeSvq(tokens);
    case 'npy':
      return encodeNpy(tokens.codes);
    case 'json':
      return JSON.stringify({ header: tokens.header, codes: Array.from(tokens.codes) }) + '\n';
  }
}

/** Reads a .svq file, or a .json file as `encode --format json` writes it. */
export async function readTokenFile(path: string): Promise<SvqFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(path, describeFsError(error, 'read'));
  }
  if (extname(path).toLowerCase() === '.npy') throw new InputError(path, 'a .npy file holds codes without the model header; decode reads .svq or .json token files');
  if (extname(path).toLowerCase() !== '.json') return decodeSvq(bytes, path);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InputError(path, 'not valid JSON');
  }
  const { header, codes } = (value ?? {}) as { header?: SvqHeader; codes?: unknown };
  if (typeof header !== 'object' || header === null || !Array.isArray(codes)) throw new InputError(path, 'not a token file: expected { "header": {...}, "codes": [...] }');
  // The same header checks as a .svq file's.
  checkSvqHeader(header, (problem) => new InputError(path, problem));
  if (codes.length !== header.frameCount) throw new InputError(path, `${codes.length} codes but the header says ${header.frameCount} frames`);
  const bad = codes.findIndex((c) => !Number.isInteger(c) || c < 0 || c > 0xffffffff);
  if (bad >= 0) throw new InputError(path, `code ${JSON.stringify(codes[bad])} at frame ${bad} is not a non-negative integer`);
  return { header, codes: Uint32Array.from(codes as number[]) };
}

