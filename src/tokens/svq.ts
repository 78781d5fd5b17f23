/**
 * `.svq` token files on disk; the format itself (bytes in, bytes out, for Node
 * and the browser) is ./svq-format.ts.
 */
import { readFile } from 'node:fs/promises';

import { InputError } from '../errors.js';
import { describeFsError, writeFileAtomic } from '../files.js';
import { decodeSvq, encodeSvq, type SvqFile } from './svq-format.js';

export * from './svq-format.js';

export async function readSvq(path: string): Promise<SvqFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(path, describeFsError(error, 'read'));
  }
  return decodeSvq(bytes, path);
}

/** Writes atomically; an existing file is kept unless `force`. */
export async function writeSvq(path: string, file: SvqFile, options: { force?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, encodeSvq(file), options.force ?? false);
}
