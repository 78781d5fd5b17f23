/**
 * The dataset commands of the CLI: `data inspect`, `corpus build`, `corpus recorded`, `corpus devset`.
 * Loaded on use by main.ts, like info.ts.
 */
import { buildCorpus, DEFAULT_SUBSET, type CorpusReport } from '../datasets/corpus/build.js';
import { buildDevset } from '../datasets/corpus/devset.js';
import { buildRecordedSpeech } from '../datasets/corpus/recorded.js';
import { formatInspectReport, inspectDataset } from '../datasets/inspect.js';
import { InputError } from '../errors.js';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A number option as commander hands it over (a string), checked here so the error names the option. */
export function parseNumberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new InputError(name, `must be a number, got "${value}"`);
  return parsed;
}

export interface CorpusBuildCliOptions {
  out: string;
  hours?: string;
  jobs?: string;
  rate?: string;
  seed?: string;
  voices?: string;
  subset?: string;
  install: boolean;
}

export async function corpusBuildCommand(options: CorpusBuildCliOptions): Promise<void> {
  const report: CorpusReport = await buildCorpus({
    out: options.out,
    hours: parseNumberOption('--hours', options.hours, 20),
    jobs: parseNumberOption('--jobs', options.jobs, 2),
    sampleRate: parseNumberOption('--rate', options.rate, 16000),
    seed: parseNumberOption('--seed', options.seed, 1),
    ...(options.voices === undefined ? {} : { voices: options.voices.split(',').map((name) => name.trim()).filter((name) => name !== '') }),
    subset: options.subset ?? DEFAULT_SUBSET,
    install: options.install,
    log,
  });
  process.stdout.write(
    `${report.out}: ${report.hours} h, ${report.voices} voices, ${report.utterances} utterances (${report.synthesized} made now at ${report.speed} audio-s/s, ${report.failed} failed)\n`,
  );
  process.stdout.write(JSON.stringify(report) + '\n');
}

export async function dataInspectCommand(spec: string, options: { decode?: boolean }): Promise<void> {
  const report = await inspectDataset(spec, { decode: options.decode === true });
  process.stdout.write(formatInspectReport(report));
}

export async function corpusDevsetCommand(options: { out: string; install: boolean }): Promise<void> {
  const report = await buildDevset({ out: options.out, install: options.install, log });
  process.stdout.write(`${report.out}: ${report.hours} h, ${report.speakers} speakers, ${report.utterances} utterances of real speech (${report.failed} source files unusable); sources in SOURCES.tsv\n`);
  process.stdout.write(JSON.stringify(report) + '\n');
}

export interface CorpusRecordedCliOptions {
  out: string;
  languages: string;
  levels?: string;
  jobs?: string;
  rate?: string;
  install: boolean;
}

function listOption(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

export async function corpusRecordedCommand(options: CorpusRecordedCliOptions): Promise<void> {
  const report = await buildRecordedSpeech({
    out: options.out,
    languages: listOption(options.languages),
    ...(options.levels === undefined ? {} : { levels: listOption(options.levels) }),
    jobs: parseNumberOption('--jobs', options.jobs, 2),
    sampleRate: parseNumberOption('--rate', options.rate, 16000),
    install: options.install,
    log,
  });
  process.stdout.write(
    `${report.out}: ${report.hours} h, ${report.speakers} speakers, ${report.utterances} utterances of recorded speech (${report.converted} converted now, ${report.too_short} too short, ${report.duplicates} repeats, ${report.failed} failed); sources in recorded-sources.tsv\n`,
  );
  process.stdout.write(JSON.stringify(report) + '\n');
}
