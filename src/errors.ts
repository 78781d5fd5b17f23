/**
 * Typed errors for everything a user can get wrong.
 *
 * Every user-facing entry point answers bad input with one of these: a single
 * line that names the file (or the option) and the problem. The CLI maps
 * `InputError` to exit code 2; anything else is a bug and exits 1.
 */

/** Bad input: a file, option or value the user gave us that we cannot use. */
export class InputError extends Error {
  override readonly name: string = 'InputError';
  /** The file (or option name) the problem is about; null when there is none. */
  readonly source: string | null;
  /** The problem alone, without the source prefix. */
  readonly problem: string;

  constructor(source: string | null, problem: string) {
    super(source === null ? problem : `${source}: ${problem}`);
    this.source = source;
    this.problem = problem;
  }
}

/** An audio file that cannot be read or holds audio we refuse (NaN, zero samples, ...). */
export class AudioFileError extends InputError {
  override readonly name: string = 'AudioFileError';
}

/** A requested backend or engine feature that is not available on this machine. */
export class EngineError extends InputError {
  override readonly name: string = 'EngineError';
}
