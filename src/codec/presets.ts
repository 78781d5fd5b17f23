/**
 * The shipped presets (codec/presets/*.json) and config files on disk; the
 * config's schema and arithmetic, which the browser build uses too, are
 * ./config.ts.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { InputError } from '../errors.js';
import { describeFsError, packageRoot } from '../files.js';
import { parseCodecConfig, type CodecConfig } from './config.js';

/** Where the presets live: codec/presets/ at the package root. */
export function presetDirectory(): string {
  return join(packageRoot(), 'codec', 'presets');
}

/** The names of the shipped presets. */
export async function presetNames(): Promise<string[]> {
  const files = await readdir(presetDirectory());
  return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
}

/** Loads a preset by name, or a config file by path (anything with a '/' or ending in .json). */
export async function loadCodecConfig(nameOrPath: string): Promise<CodecConfig> {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  const path = isPath ? nameOrPath : join(presetDirectory(), `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!isPath) {
      throw new InputError(nameOrPath, `no such preset; the presets are ${(await presetNames()).join(', ')}`);
    }
    throw new InputError(path, describeFsError(error, 'read'));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(path, `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseCodecConfig(value, path);
}
