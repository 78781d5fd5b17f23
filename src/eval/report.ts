/**
 * The files an evaluation leaves in its output directory: report.json (all the
 * numbers), report.md (one table of bitrate against every metric, notes on
 * what was and was not computed, the plots) and the PNG plots themselves. A
 * metric that was not computed is written as null / "not computed", never as
 * a number.
 */
import { join } from 'node:path';

import { writeFileAtomic } from '../files.js';
import { writeChartPng, type ChartSpec } from '../plot/index.js';
import { spectrogramChart } from '../plot/spectrogram.js';
import type { EvalReport, SystemSummary } from './types.js';

export interface ReportPlotsInput {
  firstUtterance: string;
  /** Aligned decoded audio of the first utterance by system id, plus 'original'. */
  audio: Map<string, Float32Array>;
  sampleRate: number;
  /** Code counts over the set, per tokenizer. */
  usage: Array<{ label: string; counts: Float64Array }>;
}

export const PLOT_FILES = {
  quality: 'bitrate-vs-quality.png',
  spectrograms: 'spectrograms.png',
  codeUsage: 'code-usage.png',
} as const;

export async function writeReportFiles(out: string, report: EvalReport, plots: ReportPlotsInput): Promise<void> {
  const written = await writePlots(out, report, plots);
  await writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n', true);
  await writeFileAtomic(join(out, 'report.md'), markdown(report, written), true);
}

/** The baseline with the best mean STOI: the one our model has to beat. */
export function bestBaseline(report: EvalReport): SystemSummary | null {
  const baselines = report.systems.filter((s) => s.kind === 'baseline' && s.stoi !== null);
  return baselines.reduce<SystemSummary | null>((best, s) => (best === null || s.stoi! > best.stoi! ? s : best), null);
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}

function markdown(report: EvalReport, plots: { quality: boolean; spectrograms: string[]; codeUsage: boolean }): string {
  const seconds = report.utterances.reduce((t, u) => t + u.duration_s, 0);
  const rates = [...new Set(report.utterances.map((u) => u.sample_rate))].join(', ');
  const lines: string[] = [
    '# Evaluation report',
    '',
    `Data: \`${report.data}\`: ${report.utterances.length} utterances, ${seconds.toFixed(1)} s in all, at ${rates} Hz.`,
    '',
  ];
  if (report.skipped.length > 0) {
    lines.push(`Skipped (not scored): ${report.skipped.map((u) => `\`${u.path}\` (${u.problem})`).join('; ')}.`, '');
  }
  if (report.model_note !== null) lines.push(`> ${report.model_note}`, '');
  lines.push(`- ${report.utmos.note}`, `- ${report.dnsmos.note}`, `- ${report.asr.note}`, `- ${report.alignment}`, '');

  const hasMos = report.utmos.model !== null || report.dnsmos.model !== null;
  const hasCodes = report.systems.some((s) => s.codebook_size !== null);
  const hasWer = report.asr.recognizer !== null;
  const header = ['system', 'kbit/s (file)', 'kbit/s (nominal)', 'STOI ↑', ...(hasWer ? ['WER % ↓'] : []), 'mel dist ↓', 'STFT dist ↓', 'SI-SNR dB ↑'];
  if (report.utmos.model !== null) header.push('UTMOS ↑');
  if (report.dnsmos.model !== null) header.push('DNSMOS SIG/BAK/OVRL ↑');
  if (hasCodes) header.push('codes used', 'perplexity');
  header.push('delay ms', 'encode ×RT', 'decode ×RT');
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const s of report.systems) {
    const cells = [
      s.label,
      fixed(s.bitrate === null ? null : s.bitrate / 1000, 3),
      fixed(s.nominal_bitrate === null ? null : s.nominal_bitrate / 1000, 2),
      fixed(s.stoi, 3),
      ...(hasWer ? [fixed(s.wer === null ? null : 100 * s.wer, 1)] : []),
      fixed(s.mel_distance, 3),
      fixed(s.stft_distance, 3),
      fixed(s.si_snr, 2),
    ];
    if (report.utmos.model !== null) cells.push(fixed(s.utmos, 2));
    if (report.dnsmos.model !== null) {
      cells.push(s.dnsmos === null ? '—' : `${s.dnsmos.sig.toFixed(2)} / ${s.dnsmos.bak.toFixed(2)} / ${s.dnsmos.ovrl.toFixed(2)}`);
    }
    if (hasCodes) {
      cells.push(
        s.codes_used === null ? '—' : `${s.codes_used} / ${s.codebook_size} (${(100 * s.utilization!).toFixed(1)} %)`,
        fixed(s.perplexity, 1),
      );
    }
    cells.push(fixed(s.delay_ms, 1), fixed(s.rtf?.encode ?? null, 1), fixed(s.rtf?.decode ?? null, 1));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    'kbit/s (file) is the size of the encoded files over the audio duration, container overhead included',
    "(Ogg for Opus; Codec2's raw frames are padded to whole bytes, so 700C's 28-bit frames cost 32).",
    'STOI: classic STOI (Taal et al. 2011, as pystoi). Mel distance: DAC\'s multi-scale log-mel L1 summed over 7 scales.',
    'STFT distance: Parallel WaveGAN\'s multi-resolution spectral convergence + log-magnitude L1. ×RT: audio seconds per',
    'wall second, for the baselines including their tool\'s process start.',
  );
  if (hasMos || hasWer) lines.push('The Original row scores the source audio itself: the ceiling for the MOS and WER columns.');
  const tooShort = report.systems.filter((s) => s.kind !== 'original').some((s) => report.per_utterance[s.system].some((u) => u.stoi === null));
  if (tooShort) lines.push('Some utterances had under 384 ms of non-silent audio: STOI is not defined for them and they are left out of its mean.');
  lines.push('');

  lines.push('## Plots', '');
  if (plots.quality) lines.push(`![bitrate against quality](${PLOT_FILES.quality})`, '');
  if (plots.spectrograms.length > 0) {
    lines.push(
      `Log-mel spectrograms of \`${report.utterances[0].id}\`: ${plots.spectrograms.join(', ')}`,
      '(magma colours: black 80 dB below the loudest cell of the original, pale yellow at it).',
      '', `![spectrograms](${PLOT_FILES.spectrograms})`, '');
  }
  lines.push(plots.codeUsage ? `![code usage](${PLOT_FILES.codeUsage})` : 'No tokenizer was evaluated, so there is no code-usage histogram.', '');

  lines.push('## STOI per utterance', '');
  const scored = report.systems.filter((s) => s.kind !== 'original');
  lines.push(`| utterance | ${scored.map((s) => s.label).join(' | ')} |`, `|---|${scored.map(() => '---').join('|')}|`);
  report.utterances.forEach((u, i) => {
    lines.push(`| ${u.id} | ${scored.map((s) => fixed(report.per_utterance[s.system][i].stoi, 3)).join(' | ')} |`);
  });
  lines.push('', 'Every per-utterance figure (bitrate, delay, all metrics, speed) is in report.json.', '');
  return lines.join('\n');
}

async function writePlots(
  out: string,
  report: EvalReport,
  input: ReportPlotsInput,
): Promise<{ quality: boolean; spectrograms: string[]; codeUsage: boolean }> {
  const scored = report.systems.filter((s) => s.bitrate !== null && s.stoi !== null);
  let quality = false;
  if (scored.length > 0) {
    await writeChartPng(join(out, PLOT_FILES.quality), qualityChart(scored, report.utmos.model !== null));
    quality = true;
  }

  // Original, then our first model, then the best baseline.
  const panels: Array<{ id: string; label: string }> = [{ id: 'original', label: 'original' }];
  const ours = report.systems.find((s) => s.kind === 'model');
  if (ours !== undefined) panels.push({ id: ours.system, label: ours.label });
  const best = bestBaseline(report);
  if (best !== null) panels.push({ id: best.system, label: `${best.label} (best baseline by STOI)` });
  const present = panels.filter((p) => input.audio.has(p.id));
  if (present.length > 1) {
    await writeChartPng(join(out, PLOT_FILES.spectrograms), spectrogramChart(present, input.audio, input.sampleRate));
  }

  if (input.usage.length > 0) await writeChartPng(join(out, PLOT_FILES.codeUsage), codeUsageChart(input.usage));
  return { quality, spectrograms: present.length > 1 ? present.map((p) => p.label) : [], codeUsage: input.usage.length > 0 };
}

function qualityChart(systems: SystemSummary[], withUtmos: boolean): ChartSpec {
  const values = systems.map((s) => ({
    system: s.label,
    kind: s.kind,
    kbps: s.bitrate! / 1000,
    STOI: s.stoi,
    'mel distance': s.mel_distance,
    UTMOS: s.utmos,
  }));
  const panel = (metric: string, title: string): object => ({
    width: 320,
    height: 240,
    layer: [
      { mark: { type: 'point', filled: true, size: 80 } },
      { mark: { type: 'text', align: 'left', dx: 6, dy: -6, fontSize: 10 }, encoding: { text: { field: 'system' } } },
    ],
    encoding: {
      x: { field: 'kbps', type: 'quantitative', scale: { type: 'log' }, title: 'bitrate, kbit/s (measured, log scale)' },
      y: { field: metric, type: 'quantitative', scale: { zero: false }, title },
      color: { field: 'kind', type: 'nominal', title: null },
    },
  });
  const panels = [panel('STOI', 'STOI (higher is better)'), panel('mel distance', 'mel distance (lower is better)')];
  if (withUtmos) panels.push(panel('UTMOS', 'UTMOS (higher is better)'));
  return { data: { values }, hconcat: panels } as ChartSpec;
}

/** Codes ranked by how often they occur: a flat curve is an evenly used codebook, a cliff is collapse. */
function codeUsageChart(usage: ReportPlotsInput['usage']): ChartSpec {
  const values: Array<{ model: string; rank: number; count: number }> = [];
  for (const { label, counts } of usage) {
    const sorted = Array.from(counts).sort((a, b) => b - a);
    // At most ~1000 points per model: a large codebook is summarised by every k-th rank.
    const step = Math.max(1, Math.ceil(sorted.length / 1000));
    for (let rank = 0; rank < sorted.length; rank += step) values.push({ model: label, rank: rank + 1, count: sorted[rank] });
  }
  return {
    width: 480,
    height: 240,
    data: { values },
    mark: { type: 'area', line: true, opacity: 0.4 },
    encoding: {
      x: { field: 'rank', type: 'quantitative', title: 'code rank (most used first)' },
      y: { field: 'count', type: 'quantitative', title: 'occurrences over the set' },
      color: { field: 'model', type: 'nominal' },
    },
  } as ChartSpec;
}
