/**
 * `simvq-audio data inspect SPEC`: what a dataset holds, in lines for people
 * and a final JSON line for scripts.
 */
import { readWav } from '../audio/index.js';
import { InputError } from '../errors.js';
import { loadDataset, summarize, type DatasetSummary } from './dataset.js';
import { mapLimit, type BadFile } from './utterance.js';

export interface InspectReport extends DatasetSummary {
  spec: string;
  /** The unusable files, one line each. */
  bad: BadFile[];
  /** Whether every file was decoded (--decode) or only its header read. */
  decoded: boolean;
}

/** Lists the dataset (and with `decode`, reads every sample); unusable files are in the report, not logged. */
export async function inspectDataset(spec: string, options: { decode: boolean }): Promise<InspectReport> {
  const dataset = await loadDataset(spec);
  const bad = [...dataset.badFiles];
  let utterances = dataset.utterances;
  if (options.decode) {
    // Two reads at once: decoding is CPU-bound, the overlap only hides the file reads.
    const readable = await mapLimit(utterances, 2, async (utterance) => {
      try {
        await readWav(utterance.path);
        return true;
      } catch (error) {
        const problem = error instanceof InputError ? error.problem : String(error);
        bad.push({ path: utterance.path, problem });
        return false;
      }
    });
    utterances = utterances.filter((_, index) => readable[index]);
  }
  return { spec, ...summarize(utterances, bad.length), bad, decoded: options.decode };
}

export function formatInspectReport(report: InspectReport): string {
  const rates = Object.entries(report.sample_rates)
    .map(([rate, count]) => `${rate} Hz × ${count}`)
    .join(', ');
  const lines = [
    `${report.spec}`,
    `  utterances   ${report.utterances} (${report.transcribed} with transcripts), ${report.min_seconds}-${report.max_seconds} s each`,
    `  speakers     ${report.speakers}`,
    `  hours        ${report.hours.toFixed(3)}`,
    `  sample rates ${rates === '' ? 'not probed' : rates}`,
    `  unreadable   ${report.bad_files}${report.decoded ? ' (every file decoded)' : ' (headers checked; --decode reads every sample)'}`,
    ...report.bad.slice(0, 20).map((bad) => `    ${bad.path}: ${bad.problem}`),
  ];
  if (report.bad.length > 20) lines.push(`    ... and ${report.bad.length - 20} more`);
  const { spec, utterances, speakers, hours, bad_files, sample_rates } = report;
  lines.push(JSON.stringify({ spec, utterances, speakers, hours, bad_files, sample_rates }));
  return lines.join('\n') + '\n';
}
