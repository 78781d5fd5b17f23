/**
 * Data-spec strings, the one way every command names a dataset:
 *
 *   libritts:PATH[?subset=NAME[,NAME...]]   PATH is the LibriTTS root (it holds SPEAKERS.txt and the subsets)
 *   dir:PATH                                every WAV file below PATH, recursively
 *   manifest:PATH                           a .jsonl or .csv manifest (path, optional text, speaker, duration)
 */
import { resolve } from 'node:path';

import { InputError } from '../errors.js';

export type DataSpec =
  | { kind: 'libritts'; root: string; subsets: string[] | null; text: string }
  | { kind: 'dir'; root: string; text: string }
  | { kind: 'manifest'; path: string; format: 'jsonl' | 'csv'; text: string };

const USAGE = 'expected libritts:PATH[?subset=NAME,...], dir:PATH or manifest:PATH';

export function parseDataSpec(text: string): DataSpec {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (scheme !== 'libritts' && scheme !== 'dir' && scheme !== 'manifest') {
    throw new InputError(text === '' ? 'data spec' : text, `not a data spec (${USAGE})`);
  }
  let path = rest;
  let query: string | null = null;
  const question = rest.lastIndexOf('?');
  if (scheme === 'libritts' && question >= 0) {
    path = rest.slice(0, question);
    query = rest.slice(question + 1);
  }
  if (path === '') throw new InputError(text, `the path is empty (${USAGE})`);
  if (scheme === 'dir') return { kind: 'dir', root: resolve(path), text };
  if (scheme === 'manifest') {
    const lower = path.toLowerCase();
    const format = lower.endsWith('.jsonl') ? 'jsonl' : lower.endsWith('.csv') ? 'csv' : null;
    if (format === null) throw new InputError(text, 'a manifest must be a .jsonl or .csv file');
    return { kind: 'manifest', path: resolve(path), format, text };
  }
  let subsets: string[] | null = null;
  if (query !== null) {
    const params = new URLSearchParams(query);
    for (const key of params.keys()) {
      if (key !== 'subset') throw new InputError(text, `unknown option "${key}" (libritts specs take ?subset=NAME[,NAME...])`);
    }
    const value = params.get('subset') ?? '';
    subsets = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
    if (subsets.length === 0) throw new InputError(text, '?subset= names no subset');
    const odd = subsets.find((name) => name.includes('/') || name.startsWith('.'));
    if (odd !== undefined) throw new InputError(text, `"${odd}" is not a subset name`);
  }
  return { kind: 'libritts', root: resolve(path), subsets, text };
}
