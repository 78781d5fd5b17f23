/** `simvq-audio eval`: options to an evaluation run, and the one line printed at the end. */
import { join } from 'node:path';

import { runEvaluation } from '../eval/run.js';
import { loadModelSystems, parseBaselines } from '../eval/systems.js';
import { pocketsphinx } from '../eval/wer.js';
import { InputError } from '../errors.js';

export interface EvalCommandOptions {
  data: string;
  out: string;
  model?: string[];
  baselines?: string;
  utmos?: string;
  dnsmos?: string;
  force?: boolean;
  progress?: boolean;
  /** False for --no-wer. */
  wer?: boolean;
}

export async function evalCommand(options: EvalCommandOptions, version: string): Promise<string> {
  const models = await loadModelSystems(options.model ?? []);
  // Without --baselines every baseline runs; `--baselines none` leaves a model alone.
  const baselines = parseBaselines(options.baselines ?? 'codec2,opus');
  if (models.length === 0 && baselines.length === 0) {
    throw new InputError('--baselines', 'nothing to evaluate: no --model and --baselines none');
  }
  const systems = [...models, ...baselines];
  let report: Awaited<ReturnType<typeof runEvaluation>>;
  try {
    report = await runEvaluation({
      data: options.data,
      out: options.out,
      systems,
      modelNote: 'No --model was given and no default model is installed: this report covers the baselines alone.',
      force: options.force === true,
      progress: options.progress !== false,
      generatedBy: `simvq-audio ${version} eval`,
      ...(options.utmos === undefined ? {} : { utmos: options.utmos }),
      ...(options.dnsmos === undefined ? {} : { dnsmos: options.dnsmos }),
      ...(options.wer === false ? {} : { recognizer: pocketsphinx() }),
    });
  } finally {
    for (const system of systems) await system.close?.();
  }
  const scored = report.systems.filter((s) => s.kind !== 'original').length;
  return `evaluated ${scored} systems on ${report.utterances.length} utterances: ${join(options.out, 'report.md')}\n`;
}
