/**
 * What the recipes need from Debian, and installing it: each requirement is a
 * program on PATH or a data file, with the package that provides it. Missing
 * ones are installed with apt-get (one `apt-get update`, then one
 * `apt-get install -y`), or, without permission to install, named exactly.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

import { InputError } from '../../errors.js';
import { runProcess } from './process.js';

export interface Requirement {
  /** A program name (looked up on PATH) or an absolute path to a data file or directory; with `isPresent`, a description. */
  what: string;
  debianPackage: string;
  /** How to tell that it is there, for what is neither a program nor a path (a format a program can read). */
  isPresent?: () => Promise<boolean>;
}

export async function isAvailable(requirement: Requirement): Promise<boolean> {
  if (requirement.isPresent !== undefined) return requirement.isPresent();
  if (requirement.what.startsWith('/')) return canAccess(requirement.what, constants.R_OK);
  for (const directory of (process.env['PATH'] ?? '').split(delimiter)) {
    if (directory !== '' && (await canAccess(join(directory, requirement.what), constants.X_OK))) return true;
  }
  return false;
}

async function canAccess(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

export async function missingRequirements(requirements: readonly Requirement[]): Promise<Requirement[]> {
  const missing: Requirement[] = [];
  for (const requirement of requirements) if (!(await isAvailable(requirement))) missing.push(requirement);
  return missing;
}

function describeMissing(missing: readonly Requirement[]): { what: string; packages: string[] } {
  const packages = [...new Set(missing.map((requirement) => requirement.debianPackage))].sort();
  return { what: missing.map((requirement) => requirement.what).join(', '), packages };
}

/**
 * Makes every requirement available, installing the missing ones when `install`
 * is true and we are root. Throws InputError naming what is missing otherwise.
 */
export async function ensureRequirements(
  requirements: readonly Requirement[],
  options: { install: boolean; log: (line: string) => void; source: string },
): Promise<void> {
  const missing = await missingRequirements(requirements);
  if (missing.length === 0) return;
  const { what, packages } = describeMissing(missing);
  const command = `apt-get install -y ${packages.join(' ')}`;
  if (!options.install) {
    throw new InputError(options.source, `missing ${what}; install the Debian packages with: ${command}`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new InputError(options.source, `missing ${what}; installing needs root: run ${command} as root, then rerun`);
  }
  if (!(await isAvailable({ what: 'apt-get', debianPackage: 'apt' }))) {
    throw new InputError(options.source, `missing ${what} (Debian packages ${packages.join(', ')}), and there is no apt-get to install them`);
  }
  options.log(`installing ${packages.join(' ')} (apt-get update, then ${command})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = await runProcess('apt-get', ['update', '-q'], { env });
  if (update.code !== 0) {
    throw new InputError(options.source, `apt-get update failed (${lastLine(update.stderr)}); install by hand: ${command}`);
  }
  const install = await runProcess('apt-get', ['install', '-y', '-q', ...packages], { env });
  if (install.code !== 0) {
    throw new InputError(options.source, `${command} failed (${lastLine(install.stderr)})`);
  }
  const still = await missingRequirements(requirements);
  if (still.length > 0) {
    throw new InputError(options.source, `still missing after ${command}: ${describeMissing(still).what}`);
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? 'no message';
}
