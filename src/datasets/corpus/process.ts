/**
 * Running the external programs of the recipes (synthesisers, sox, apt-get):
 * one promise per process, stderr kept for the error line, no shell involved
 * (texts go to the synthesisers as arguments or files, never through a shell).
 */
import { spawn } from 'node:child_process';

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runProcess(
  command: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program that exits without reading its stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a program and throws (with its last stderr line) unless it exits 0. */
export async function runChecked(command: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await runProcess(command, args, options);
  if (result.code !== 0) {
    const last = result.stderr.trim().split('\n').pop() ?? '';
    throw new Error(`${command} exited with ${String(result.code)}${last === '' ? '' : `: ${last}`}`);
  }
  return result.stdout;
}
