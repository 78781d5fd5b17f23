/**
 * glibc's malloc, set up for the engine's traffic, by relaunching Node.
 *
 * onnxruntime-node 1.30 copies every output of every run into a new, zeroed
 * ArrayBuffer (its OrtValueToNapiValue), even when the output was preallocated
 * on the wasm heap. A reference training step moves ~470 MB through that copy.
 * glibc hands freed memory back to the kernel whenever more than twice its
 * mmap threshold sits free at the top of the heap, so those buffers' pages
 * fault in afresh: ~50 k page faults a step. With trimming off and a fixed
 * 32 MiB mmap threshold, freed memory is reused and the faults stop. Side by
 * side on this project's machine, `node dist/bench/engine.js --rungs
 * wasm+onnxruntime` gave training 5.6 → 6.3 audio-s/s and conv forward
 * 57 → 89 GFLOP/s.
 *
 * GLIBC_TUNABLES is read by the dynamic loader when a process starts, so an
 * entry point that wants it runs itself again, once, with it set. Elsewhere
 * (not Linux, SIMVQ_MALLOC_TUNING=0, or GLIBC_TUNABLES already choosing a trim
 * threshold) nothing is relaunched. On a C library other than glibc the
 * variable is ignored and the relaunch costs only a process start.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';

/** Never trim the heap; serve blocks up to 32 MiB (glibc's ceiling for this setting) from it. */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';

/**
 * How this process's allocator is set up: 'tuned' (MALLOC_TUNABLES in effect),
 * 'user' (GLIBC_TUNABLES sets a trim threshold of its own), 'off'
 * (SIMVQ_MALLOC_TUNING=0), 'default' (glibc's defaults: a program that imports
 * the library, or a script run without the CLI) or 'unsupported' (not Linux).
 */
export type MallocTuning = 'tuned' | 'user' | 'off' | 'default' | 'unsupported';

export function mallocTuning(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): MallocTuning {
  if (platform !== 'linux') return 'unsupported';
  const tunables = (env['GLIBC_TUNABLES'] ?? '').split(':');
  const ours = MALLOC_TUNABLES.split(':');
  if (ours.every((setting) => tunables.includes(setting))) return 'tuned';
  if (tunables.some((setting) => setting.startsWith('glibc.malloc.trim_threshold='))) return 'user';
  return env['SIMVQ_MALLOC_TUNING'] === '0' ? 'off' : 'default';
}

/** Whether this process should run itself again with MALLOC_TUNABLES. */
export function wantsMallocRelaunch(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  return mallocTuning(env, platform) === 'default';
}

/** The environment for the relaunched process: MALLOC_TUNABLES after any tunables already set. */
export function tunedEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const existing = env['GLIBC_TUNABLES'];
  return { ...env, GLIBC_TUNABLES: existing ? `${existing}:${MALLOC_TUNABLES}` : MALLOC_TUNABLES };
}

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs this same command (Node options, script and arguments) again in a child
 * with MALLOC_TUNABLES set, sharing stdin, stdout and stderr, and ends this
 * process as the child ended: with its exit code, or by its signal. Signals
 * sent to this process are passed on. Resolves to false at once, relaunching
 * nothing, where wantsMallocRelaunch() is false; otherwise never resolves.
 */
export function relaunchWithTunedMalloc(): Promise<boolean> {
  if (!wantsMallocRelaunch()) return Promise.resolve(false);
  return new Promise<boolean>(() => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: tunedEnvironment(),
    });
    // A terminal's Ctrl-C reaches both processes; the child then sees SIGINT twice, which
    // the CLI treats as once (training checkpoints on the first and ignores the rest).
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    child.on('error', (error) => {
      process.stderr.write(`simvq-audio: could not relaunch Node with tuned malloc (${error.message}); set SIMVQ_MALLOC_TUNING=0 to skip it\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      for (const forwarded of FORWARDED_SIGNALS) process.off(forwarded, forward);
      if (signal === null) process.exit(code ?? 1);
      // End by the same signal; where Node ignores it (SIGPIPE), exit as a shell reports it.
      process.kill(process.pid, signal);
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
  });
}
