/**
 * Progress of a long CLI job on stderr: a bar on a terminal (cli-progress),
 * a plain line every few seconds when stderr is piped to a file or another
 * program, nothing with --no-progress. Jobs count audio-seconds (or files);
 * speed is audio-seconds per wall-second, i.e. × real time.
 */
import cliProgress from 'cli-progress';

export interface JobProgressOptions {
  label: string;
  /** What the job counts to, in `unit`s. */
  total: number;
  /** 'audio-s' reads as audio-seconds (speed shown as × real time); anything else is a plain count. */
  unit: string;
  /** False for --no-progress. */
  enabled: boolean;
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a terminal. */
  lineEverySeconds?: number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class JobProgress {
  private readonly started = Date.now();
  private readonly stream: NodeJS.WriteStream;
  private readonly bar: cliProgress.SingleBar | null = null;
  private done = 0;
  private lastLine = Date.now();
  private linesWritten = 0;
  private finished = false;

  constructor(private readonly options: JobProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    if (options.enabled && this.stream.isTTY === true) {
      this.bar = new cliProgress.SingleBar(
        { format: `${options.label} {bar} {value}/{total} ${options.unit} | {speed} | ETA {eta_formatted} | {detail}`, stream: this.stream, hideCursor: true, etaBuffer: 20 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.round(options.total), 0, { speed: '', detail: '' });
    }
  }

  private speed(): string {
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    return this.options.unit === 'audio-s' ? `${rate.toFixed(1)}x real time` : `${rate.toFixed(1)} ${this.options.unit}/s`;
  }

  /** `amount` more done; `detail` names what is being worked on (a file). */
  advance(amount: number, detail = ''): void {
    if (!this.options.enabled || this.finished) return;
    this.done += amount;
    if (this.bar !== null) {
      this.bar.update(Math.round(this.done), { speed: this.speed(), detail });
      return;
    }
    if (Date.now() - this.lastLine >= (this.options.lineEverySeconds ?? 10) * 1000) this.writeLine();
  }

  private writeLine(): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const left = this.done > 0 ? (elapsed * (this.options.total - this.done)) / this.done : Number.POSITIVE_INFINITY;
    const percent = this.options.total > 0 ? (100 * this.done) / this.options.total : 100;
    this.stream.write(`${this.options.label}: ${Math.round(this.done)}/${Math.round(this.options.total)} ${this.options.unit} (${percent.toFixed(0)} %), ${this.speed()}, ETA ${clock(left)}\n`);
    this.lastLine = Date.now();
    this.linesWritten++;
  }

  /** Ends the bar; a piped job that has written lines ends with one more. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.bar !== null) this.bar.stop();
    else if (this.options.enabled && this.linesWritten > 0) this.writeLine();
  }
}
