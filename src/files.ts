/**
 * File-system helpers every writer in the package shares: atomic writes (temp
 * file + rename, so no reader ever sees half a file), no silent overwrites, and
 * one-line descriptions of fs errors for InputError messages.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { InputError } from './errors.js';

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw new InputError(path, describeFsError(error, 'check'));
  }
}

/**
 * Write `bytes` to `path` through a temporary file in the same directory (so the
 * final rename cannot cross file systems). Without `force`, the file is put in
 * place with link(), which fails if the name appeared meanwhile, instead of
 * rename(), which would silently replace it.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string, force: boolean): Promise<void> {
  await writeAtomically(path, force, (handle) => handle.writeFile(bytes));
}

/**
 * writeFileAtomic for output made piece by piece: `write` fills a temporary
 * file in the same directory, which replaces `path` only once complete (and
 * synced); a failure anywhere removes it.
 */
export async function writeAtomically(path: string, force: boolean, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  // Dot-prefixed so directory scans skip it; the name is cut to stay within NAME_MAX.
  const temporary = join(dirname(path), `.${basename(path).slice(0, 100)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (force) {
      await rename(temporary, path);
    } else {
      await linkNoClobber(temporary, path);
    }
  } catch (error) {
    await rm(temporary, { force: true });
    // File-system failures become one line naming the file; anything else (a bad
    // input found while writing, a bug) goes on as it is.
    if (error instanceof InputError || errorCode(error) === undefined) throw error;
    throw new InputError(path, describeFsError(error, 'write'));
  }
}

async function linkNoClobber(temporary: string, path: string): Promise<void> {
  try {
    await link(temporary, path);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') throw new InputError(path, 'exists; pass --force to overwrite');
    // File systems without hard links (FAT, some network mounts): check, then rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV') throw error;
    if (await pathExists(path)) throw new InputError(path, 'exists; pass --force to overwrite');
    await rename(temporary, path);
    return;
  }
  await unlink(temporary);
}

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

export function describeFsError(error: unknown, action: 'read' | 'write' | 'check'): string {
  switch (errorCode(error)) {
    case 'ENOENT':
      return action === 'read' ? 'file not found' : 'the directory does not exist';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ERR_FS_FILE_TOO_LARGE':
      return 'the file is too large to read into memory at once (over 2 GiB)';
    default: {
      const message = error instanceof Error ? error.message : String(error);
      return `cannot ${action} the file (${message.replace(/\s+/g, ' ').trim()})`;
    }
  }
}

const PACKAGE_NAME = 'simvq-audio';
let cachedRoot: { dir: string; version: string } | null = null;

function findPackage(): { dir: string; version: string } {
  if (cachedRoot !== null) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return (cachedRoot = { dir, version: pkg.version });
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${PACKAGE_NAME}'s package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The installed package's root directory (where package.json, codec/ and samples/ are). */
export function packageRoot(): string {
  return findPackage().dir;
}

/** This package's version, from its package.json. */
export function packageVersion(): string {
  return findPackage().version;
}
