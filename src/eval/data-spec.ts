/**
 * Which WAV files `--data` names: the dataset loaders' specs, plus two forms
 * handy for evaluation sets (a list file, a single .wav). Nothing else in
 * eval/ knows how a spec is spelled.
 *
 * Accepted here: `libritts:PATH[?subset=...]` and `manifest:FILE` (through the
 * dataset loaders), `dir:PATH` or a plain directory (every .wav below it, sorted),
 * `list:FILE` (one WAV path per line, relative to the list's folder; blank
 * lines and lines starting with # skipped), or a single .wav file.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';

import { InputError } from '../errors.js';
import { describeFsError } from '../files.js';

export interface EvalUtterance {
  /** Unique within the set, stable across runs: the path relative to the spec's root, without .wav. */
  id: string;
  path: string;
  /** The transcript, where the set has one (LibriTTS .normalized.txt, a manifest's text): WER is scored against it. */
  text?: string | null;
}

/** A file of the set that cannot be scored, and why (one line). */
export interface SkippedUtterance extends EvalUtterance {
  problem: string;
}

/** The set's utterances, and the files its loader already refused (a bad header). */
export async function listEvalData(spec: string): Promise<{ utterances: EvalUtterance[]; skipped: SkippedUtterance[] }> {
  if (spec.startsWith('libritts:') || spec.startsWith('manifest:')) {
    // The dataset loaders' specs (src/datasets), with their ids.
    const { loadDataset } = await import('../datasets/index.js');
    const dataset = await loadDataset(spec, { log: (line) => process.stderr.write(`${line}\n`) });
    return {
      utterances: dataset.utterances.map((u) => ({ id: u.id, path: u.path, text: u.text })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      skipped: dataset.badFiles.map((bad) => ({ id: withoutWav(bad.path.split(/[\\/]/).pop() ?? bad.path), path: bad.path, problem: bad.problem })),
    };
  }
  return { utterances: await listEvalUtterances(spec), skipped: [] };
}

export async function listEvalUtterances(spec: string): Promise<EvalUtterance[]> {
  if (spec.startsWith('list:')) return fromList(spec.slice('list:'.length));
  if (spec.startsWith('libritts:') || spec.startsWith('manifest:')) return (await listEvalData(spec)).utterances;
  const path = spec.startsWith('dir:') ? spec.slice('dir:'.length) : spec;
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new InputError(path, `--data: ${describeFsError(error, 'read')}`);
  }
  if (isDirectory) {
    const files = await wavFilesUnder(path);
    if (files.length === 0) throw new InputError(path, '--data: no .wav files in this directory');
    return files.map((file) => ({ id: withoutWav(relative(path, file)), path: file }));
  }
  if (spec.startsWith('dir:')) throw new InputError(path, '--data: not a directory');
  if (!path.toLowerCase().endsWith('.wav')) {
    throw new InputError(path, "--data: expected a directory of WAV files, a .wav file, 'dir:PATH' or 'list:FILE'");
  }
  return [{ id: withoutWav(path.split(/[\\/]/).pop() ?? path), path }];
}

async function fromList(listPath: string): Promise<EvalUtterance[]> {
  let text: string;
  try {
    text = await readFile(listPath, 'utf8');
  } catch (error) {
    throw new InputError(listPath, `--data: ${describeFsError(error, 'read')}`);
  }
  const root = dirname(resolve(listPath));
  const paths = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => resolve(root, line));
  if (paths.length === 0) throw new InputError(listPath, '--data: the list names no files');
  const seen = new Set<string>();
  return paths.map((path) => {
    let id = withoutWav(relative(root, path));
    for (let n = 2; seen.has(id); n++) id = `${withoutWav(relative(root, path))}~${n}`;
    seen.add(id);
    return { id, path };
  });
}

async function wavFilesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.toLowerCase().endsWith('.wav') && !entry.name.startsWith('.'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function withoutWav(name: string): string {
  return name.replace(/\.wav$/i, '').split(/[\\/]/).join('/');
}
