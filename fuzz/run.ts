/**
 * npm run fuzz -- [--iterations N] [--seed S] [--cli-every K] [--keep DIR]
 *
 * Mutated WAV files, .svq files, JSON token files, token shards and model
 * manifests (./targets.ts) through the library readers, and every K-th of
 * the WAV and token cases also through the CLI (`simvq-audio encode` / `decode`). A case passes when
 * the input is accepted (the CLI exits 0 and writes its output) or refused
 * (an InputError of one line; the CLI exits 2, prints one line on stderr and
 * leaves no output file). A failure is anything else: another error or exit
 * code, a stack trace, a case that runs over 30 s (a hang), or a process over
 * 1 GiB resident.
 *
 * Seeded: case i of seed S is the same bytes on every run and machine, so a
 * failure reproduces with `--seed S` and is saved under --keep (default
 * fuzz-failures/). The library cases run in a worker thread that the main
 * thread watches, so a hang is caught and named. The last line printed is
 * one JSON object with the counts.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { mulberry32 } from '../src/random.js';
import { buildTargets, type Target } from './targets.js';

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** Every K-th case of a target with a command also runs through the CLI; 0: never. */
  cliEvery: number;
  keep: string;
  /** A line of progress now and then (the CLI entry prints them). */
  log?: (line: string) => void;
}

export interface FuzzFailure {
  target: string;
  iteration: number;
  seed: number;
  problem: string;
  /** Where the input was saved. */
  input: string;
}

export interface FuzzSummary {
  iterations: number;
  seed: number;
  accepted: number;
  refused: number;
  cliCases: number;
  failures: FuzzFailure[];
  byTarget: Record<string, { accepted: number; refused: number }>;
}

const CASE_TIMEOUT_MS = 30_000;
const MEMORY_LIMIT_BYTES = 1024 ** 3;

/** Interesting 32-bit values for size fields. */
const WORDS = [0, 1, 2, 3, 4, 8, 16, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** 1-4 byte-level mutations of `input`: bit flips, odd bytes, odd words, cuts, junk, repeats. */
export function mutateBytes(input: Uint8Array, random: () => number): Uint8Array {
  let bytes = Uint8Array.from(input);
  const pick = (n: number) => Math.floor(random() * n);
  const operations = 1 + pick(4);
  for (let op = 0; op < operations; op++) {
    const at = pick(Math.max(1, bytes.length));
    switch (pick(7)) {
      case 0:
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << pick(8));
        break;
      case 1:
        if (bytes.length > 0) bytes[at] = [0, 0xff, 0x7f, 0x80, 0x01][pick(5)]!;
        break;
      case 2: {
        // A size-like word, where the formats keep theirs (the first 64 bytes) or anywhere.
        const offset = random() < 0.7 ? pick(Math.min(64, Math.max(1, bytes.length - 3))) : at;
        if (offset + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(offset, WORDS[pick(WORDS.length)]! ^ (random() < 0.2 ? pick(16) : 0), random() < 0.8);
        break;
      }
      case 3:
        bytes = bytes.subarray(0, pick(bytes.length + 1));
        break;
      case 4:
        bytes = Uint8Array.from([...bytes, ...Array.from({ length: 1 + pick(64) }, () => pick(256))]);
        break;
      case 5: {
        const start = pick(Math.max(1, bytes.length));
        const piece = bytes.subarray(start, start + 1 + pick(32));
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...piece, ...bytes.subarray(at)]);
        break;
      }
      default:
        if (bytes.length > 1) bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + pick(16))]);
    }
  }
  return bytes;
}

/** Case `iteration` of `seed`: which target, and its bytes. */
function caseInput(targets: Target[], seed: number, iteration: number): { target: Target; bytes: Uint8Array } {
  const random = mulberry32((Math.imul(seed, 1_000_003) + iteration) >>> 0);
  const target = targets[Math.floor(random() * targets.length)]!;
  let bytes = target.seeds[Math.floor(random() * target.seeds.length)]!;
  if (target.mutateText !== undefined && random() < 0.6) {
    bytes = new TextEncoder().encode(target.mutateText(new TextDecoder().decode(bytes), random));
    if (random() < 0.5) return { target, bytes };
  }
  return { target, bytes: mutateBytes(bytes, random) };
}

type WorkerMessage =
  | { kind: 'start'; iteration: number; target: string }
  | { kind: 'done'; iteration: number; target: string; verdict: 'accepted' | 'refused' | 'failed'; problem?: string; rss: number }
  | { kind: 'ready'; targets: string[] }
  | { kind: 'finished' };

/** The worker: builds the targets once, then runs the cases it is told to. */
async function workerMain(): Promise<void> {
  const { seed, from, to } = workerData as { seed: number; from: number; to: number };
  const scratch = await mkdtemp(join(tmpdir(), 'simvq-fuzz-worker-'));
  const { targets, close } = await buildTargets(scratch);
  parentPort!.postMessage({ kind: 'ready', targets: targets.map((t) => t.name) } satisfies WorkerMessage);
  try {
    for (let iteration = from; iteration < to; iteration++) {
      const { target, bytes } = caseInput(targets, seed, iteration);
      parentPort!.postMessage({ kind: 'start', iteration, target: target.name } satisfies WorkerMessage);
      const dir = await mkdtemp(join(scratch, 'case-'));
      let message: WorkerMessage;
      try {
        const verdict = await target.check(bytes, dir);
        message = { kind: 'done', iteration, target: target.name, verdict, rss: process.memoryUsage().rss };
      } catch (error) {
        const problem = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
        message = { kind: 'done', iteration, target: target.name, verdict: 'failed', problem, rss: process.memoryUsage().rss };
      }
      await rm(dir, { recursive: true, force: true });
      parentPort!.postMessage(message);
    }
  } finally {
    await close();
    await rm(scratch, { recursive: true, force: true });
    parentPort!.postMessage({ kind: 'finished' } satisfies WorkerMessage);
  }
}

/** Runs `simvq-audio` on one mutated file; a problem (string) or null when it behaved. */
async function cliCase(target: Target, bytes: Uint8Array, dir: string): Promise<string | null> {
  const input = join(dir, target.fileName);
  const output = join(dir, target.name === 'wav' ? 'out.svq' : 'out.wav');
  await writeFile(input, bytes);
  const args = target.cli!(input, output);
  const child = spawn(process.execPath, [resolve('bin/simvq-audio.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let peak = 0;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.resume();
  // Resident memory of the command and of the process it starts again (src/relaunch.ts), sampled.
  const sampler = setInterval(() => {
    for (const pid of [child.pid, ...childrenOf(child.pid)]) peak = Math.max(peak, residentBytes(pid));
  }, 50);
  const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT_MS);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearInterval(sampler);
  clearTimeout(timer);
  const produced = existsSync(output);
  if (code === null) return `hung: killed after ${CASE_TIMEOUT_MS / 1000} s`;
  if (peak > MEMORY_LIMIT_BYTES) return `used ${(peak / 2 ** 20).toFixed(0)} MiB`;
  if (code === 0) return produced ? null : 'exit 0 but no output file';
  if (code !== 2) return `exit ${code}: ${stderr.trim()}`;
  const lines = stderr.trimEnd().split('\n');
  if (lines.length !== 1) return `exit 2 with ${lines.length} lines on stderr: ${stderr.trim()}`;
  if (produced) return 'exit 2 but an output file was left';
  return null;
}

function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number);
  } catch {
    return [];
  }
}

function residentBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Runs the fuzzer; resolves with the counts and every failure (none is a pass). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const log = options.log ?? (() => undefined);
  const summary: FuzzSummary = { iterations: options.iterations, seed: options.seed, accepted: 0, refused: 0, cliCases: 0, failures: [], byTarget: {} };
  const scratch = await mkdtemp(join(tmpdir(), 'simvq-fuzz-'));
  const save = async (target: string, iteration: number, bytes: Uint8Array, problem: string) => {
    await mkdir(options.keep, { recursive: true });
    const input = join(options.keep, `seed${options.seed}-case${iteration}-${target}.bin`);
    await writeFile(input, bytes);
    summary.failures.push({ target, iteration, seed: options.seed, problem, input });
    log(`FAILURE case ${iteration} (${target}): ${problem.split('\n')[0]} (input saved: ${input})`);
  };
  // The main thread rebuilds the same cases (for saving inputs and the CLI runs); the seeds are cheap.
  const { targets, close } = await buildTargets(join(scratch, 'main'));
  try {
    let next = 0;
    while (next < options.iterations) {
      // A worker runs the cases; when one hangs, it is stopped and a new worker takes the rest.
      const from = next;
      const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { seed: options.seed, from, to: options.iterations } });
      let current: { iteration: number; target: string } | null = null;
      let watchdog: NodeJS.Timeout | null = null;
      const arm = () => {
        if (watchdog !== null) clearTimeout(watchdog);
        watchdog = setTimeout(() => void worker.terminate(), CASE_TIMEOUT_MS);
      };
      const pending: Promise<void>[] = [];
      await new Promise<void>((done) => {
        worker.on('message', (message: WorkerMessage) => {
          if (message.kind === 'start') {
            current = { iteration: message.iteration, target: message.target };
            arm();
          } else if (message.kind === 'done') {
            current = null;
            next = message.iteration + 1;
            const counts = (summary.byTarget[message.target] ??= { accepted: 0, refused: 0 });
            const { bytes } = caseInput(targets, options.seed, message.iteration);
            if (message.verdict === 'failed') pending.push(save(message.target, message.iteration, bytes, message.problem ?? 'failed'));
            else {
              summary[message.verdict]++;
              counts[message.verdict]++;
            }
            if (message.rss > MEMORY_LIMIT_BYTES) pending.push(save(message.target, message.iteration, bytes, `the reader's process reached ${(message.rss / 2 ** 20).toFixed(0)} MiB`));
            if ((message.iteration + 1) % 500 === 0) log(`fuzz: ${message.iteration + 1}/${options.iterations} cases, ${summary.failures.length} failures`);
          }
        });
        worker.on('error', (error) => {
          if (current !== null) pending.push(save(current.target, current.iteration, caseInput(targets, options.seed, current.iteration).bytes, `worker error: ${error.message}`));
        });
        worker.on('exit', () => {
          if (watchdog !== null) clearTimeout(watchdog);
          if (current !== null) {
            // Stopped mid-case: a hang (or a crash of the thread); the next worker starts after it.
            pending.push(save(current.target, current.iteration, caseInput(targets, options.seed, current.iteration).bytes, `no answer within ${CASE_TIMEOUT_MS / 1000} s (hang) or the thread died`));
            next = current.iteration + 1;
          } else if (next === from) {
            next = options.iterations; // the worker could not even start; its error is recorded
          }
          done();
        });
      });
      await Promise.all(pending);
    }
    // The CLI: every K-th of the cases whose target has a command.
    if (options.cliEvery > 0) {
      let commandCases = 0;
      for (let iteration = 0; iteration < options.iterations; iteration++) {
        const { target, bytes } = caseInput(targets, options.seed, iteration);
        if (target.cli === undefined || commandCases++ % options.cliEvery !== 0) continue;
        const dir = await mkdtemp(join(scratch, 'cli-'));
        const problem = await cliCase(target, bytes, dir);
        summary.cliCases++;
        if (problem !== null) await save(`${target.name}-cli`, iteration, bytes, problem);
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await close();
    await rm(scratch, { recursive: true, force: true });
  }
  return summary;
}

function parseArgs(argv: string[]): FuzzOptions {
  const options: FuzzOptions = { iterations: 1000, seed: 1, cliEvery: 100, keep: 'fuzz-failures' };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? '';
    switch (argv[i]) {
      case '--iterations': options.iterations = Number(value()); break;
      case '--seed': options.seed = Number(value()); break;
      case '--cli-every': options.cliEvery = Number(value()); break;
      case '--keep': options.keep = value(); break;
      default: throw new Error(`unknown argument ${argv[i]}; usage: npm run fuzz -- [--iterations N] [--seed S] [--cli-every K] [--keep DIR]`);
    }
  }
  for (const [name, v] of [['--iterations', options.iterations], ['--seed', options.seed], ['--cli-every', options.cliEvery]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${name} must be a whole number >= 0`);
  }
  return options;
}

if (!isMainThread) {
  await workerMain();
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const summary = await runFuzz({ ...options, log: (line) => console.log(line) });
  for (const [name, counts] of Object.entries(summary.byTarget)) console.log(`${name.padEnd(16)} ${counts.accepted} accepted, ${counts.refused} refused`);
  console.log(`${summary.iterations} cases (seed ${summary.seed}), ${summary.cliCases} through the CLI: ${summary.failures.length} failures in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(JSON.stringify({ bench: 'fuzz', ...summary, failures: summary.failures.map(({ problem, ...rest }) => ({ ...rest, problem: problem.split('\n')[0] })) }));
  process.exitCode = summary.failures.length === 0 ? 0 : 1;
}
