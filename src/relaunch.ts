/**
 * Running Node as the engine wants it, by starting the command a second time.
 *
 * Two process-wide settings help the engine and can only be given when Node
 * starts, so an entry point that wants them runs itself again, once, with them:
 *
 *   - glibc's malloc, through GLIBC_TUNABLES (read by the dynamic loader).
 *     onnxruntime-node 1.30 copies every output of every run into a new, zeroed
 *     ArrayBuffer (its OrtValueToNapiValue), even when the output was
 *     preallocated on the wasm heap; a reference training step moves ~470 MB
 *     through that copy. glibc hands freed memory back to the kernel whenever
 *     more than twice its mmap threshold sits free at the top of the heap, so
 *     those buffers' pages fault in afresh: ~50 k page faults a step. With
 *     trimming off and a fixed 32 MiB mmap threshold the faults stop: training
 *     5.6 → 6.3 audio-s/s and conv forward 57 → 89 GFLOP/s in
 *     `node dist/bench/engine.js --rungs wasm+onnxruntime`, side by side.
 *   - V8's garbage collector on the main thread only (--single-threaded-gc).
 *     Those copies are garbage at once and set off ~25 collections a step,
 *     whose helper threads ran on the two cores onnxruntime's two threads were
 *     using: a reference training step took 1.06-1.17 s against 1.24-1.40 s
 *     with them, in four pairs of runs side by side.
 *
 * Only on Linux, where it was measured. SIMVQ_RELAUNCH=0 runs the command as
 * started. A trim threshold in the user's own GLIBC_TUNABLES is left as it is.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

/** Never trim the heap; serve blocks up to 32 MiB (glibc's ceiling for this setting) from it. */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';

/** Node options of the second start. */
export const NODE_OPTIONS_FOR_ENGINE: readonly string[] = ['--single-threaded-gc'];

/** Set in the second start's environment, so that it never starts a third. */
const MARKER = 'SIMVQ_RELAUNCHED';

/**
 * The file descriptor of a pipe from the first start, named in the second
 * start's environment: it closes when the first start dies, however it died.
 */
const PARENT_PIPE = 'SIMVQ_PARENT_PIPE_FD';

/**
 * How this process was started: 'relaunched' (with the settings above),
 * 'off' (SIMVQ_RELAUNCH=0), 'inspector' (under Node's inspector, whose port a
 * second start would fight over), 'direct' (Node's and glibc's defaults: a
 * program that imports the library, or a script run without the command) or
 * 'unsupported' (not Linux).
 */
export type LaunchMode = 'relaunched' | 'off' | 'inspector' | 'direct' | 'unsupported';

export function launchMode(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  execArgv: readonly string[] = process.execArgv,
): LaunchMode {
  if (env[MARKER] === '1') return 'relaunched';
  if (platform !== 'linux') return 'unsupported';
  if (env['SIMVQ_RELAUNCH'] === '0') return 'off';
  const inspected = [...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((option) => option.startsWith('--inspect'));
  return inspected ? 'inspector' : 'direct';
}

/** The environment of the second start: MALLOC_TUNABLES after any tunables already set, unless those set a trim threshold. */
export function relaunchEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const existing = env['GLIBC_TUNABLES'] ?? '';
  const userTrims = existing.split(':').some((setting) => setting.startsWith('glibc.malloc.trim_threshold='));
  const tunables = userTrims ? existing : existing === '' ? MALLOC_TUNABLES : `${existing}:${MALLOC_TUNABLES}`;
  return { ...env, GLIBC_TUNABLES: tunables, [MARKER]: '1', [PARENT_PIPE]: '3' };
}

/**
 * In the second start: when the first one dies (even by SIGKILL, which it
 * cannot pass on), its end of the pipe closes, and this process sends itself
 * SIGTERM, so the trainer checkpoints and anything else stops without
 * writing its output. The variable is removed first: processes this one starts
 * do not hold that pipe.
 */
function endWithParent(): void {
  const fd = Number(process.env[PARENT_PIPE]);
  delete process.env[PARENT_PIPE];
  if (!Number.isInteger(fd)) return;
  let socket: net.Socket;
  try {
    socket = new net.Socket({ fd, readable: true, writable: false });
  } catch {
    return; // not a pipe after all (a process started with the marker by hand)
  }
  const orphaned = () => process.kill(process.pid, 'SIGTERM');
  socket.on('end', orphaned).on('close', orphaned).on('error', orphaned);
  socket.resume();
  socket.unref(); // the watch must not keep the process alive
}

/** Node's options for the second start: this process's own, plus NODE_OPTIONS_FOR_ENGINE not already there. */
export function relaunchNodeOptions(execArgv: readonly string[] = process.execArgv): string[] {
  return [...execArgv, ...NODE_OPTIONS_FOR_ENGINE.filter((option) => !execArgv.includes(option))];
}

// SIGINT and SIGTERM, which the trainer turns into a checkpoint. Not SIGHUP: a handler for it
// would undo a `nohup`, and a closing terminal sends it to both processes anyway.
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Runs this same command (Node options, script and arguments) again in a child
 * with the settings above, sharing stdin, stdout and stderr, and ends this
 * process as the child ended: with its exit code, or by its signal. Signals
 * sent to this process are passed on, and the child ends when this process
 * dies, whatever killed it. Where launchMode() is not 'direct' it
 * resolves at once, relaunching nothing; otherwise it never resolves.
 */
export function relaunchForEngine(): Promise<void> {
  const mode = launchMode();
  if (mode === 'relaunched') endWithParent();
  if (mode !== 'direct') return Promise.resolve();
  return new Promise<void>(() => {
    // fd 3: a pipe the child watches, which closes when this process dies (see endWithParent).
    const child = spawn(process.execPath, [...relaunchNodeOptions(), ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      env: relaunchEnvironment(),
    });
    // A terminal's Ctrl-C reaches both processes; the child then sees SIGINT twice, which
    // the CLI treats as once (training checkpoints on the first and ignores the rest).
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    child.on('error', (error) => {
      process.stderr.write(`simvq-audio: could not start Node again (${error.message}); set SIMVQ_RELAUNCH=0 to run without it\n`);
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
