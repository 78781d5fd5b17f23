/**
 * The training curve of a run, from its metrics.jsonl: validation STOI and mel
 * distance against step, with the codebook's perplexity and utilisation from
 * the training log. The trainer rewrites `curve.json` and `curve.png` after
 * every validation, and the model card publishes them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { InputError } from '../errors.js';
import { describeFsError, writeFileAtomic } from '../files.js';
import { writeChartPng, type ChartSpec } from '../plot/index.js';

export interface ValidationPoint {
  step: number;
  stoi: number;
  melDistance: number;
}

export interface CodeUsagePoint {
  step: number;
  /** Distinct codes over the log window / K. */
  utilization: number;
  perplexity: number;
}

export interface TrainingCurve {
  validation: ValidationPoint[];
  codeUsage: CodeUsagePoint[];
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Reads the curve from a run's metrics.jsonl. A resumed run may log a step
 * twice (the steps after the last checkpoint are redone): the later record wins.
 */
export async function readTrainingCurve(metricsPath: string): Promise<TrainingCurve> {
  let text: string;
  try {
    text = await readFile(metricsPath, 'utf8');
  } catch (error) {
    throw new InputError(metricsPath, describeFsError(error, 'read'));
  }
  const validation = new Map<number, ValidationPoint>();
  const codeUsage = new Map<number, CodeUsagePoint>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new InputError(metricsPath, `line ${i + 1} is not JSON`);
    }
    const step = record['step'];
    if (!finite(step)) continue;
    if (record['type'] === 'validation' && finite(record['stoi']) && finite(record['mel_distance'])) {
      validation.set(step, { step, stoi: record['stoi'], melDistance: record['mel_distance'] });
    } else if (record['type'] === 'train' && finite(record['utilization']) && finite(record['perplexity'])) {
      codeUsage.set(step, { step, utilization: record['utilization'], perplexity: record['perplexity'] });
    }
  }
  const byStep = <T extends { step: number }>(points: Map<number, T>) => [...points.values()].sort((a, b) => a.step - b.step);
  return { validation: byStep(validation), codeUsage: byStep(codeUsage) };
}

/** Three panels over one step axis: STOI, mel distance (validation), code perplexity (training windows). */
export function trainingCurveChart(curve: TrainingCurve, title: string): ChartSpec {
  const panel = (values: object[], field: string, label: string, scaleType: 'linear' | 'log' = 'linear') => ({
    width: 520,
    height: 140,
    data: { values },
    mark: { type: 'line' as const, point: values.length < 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative' as const, title: 'step' },
      y: { field, type: 'quantitative' as const, title: label, scale: scaleType === 'log' ? { type: 'log' as const } : { zero: false } },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    vconcat: [
      panel(curve.validation, 'stoi', 'validation STOI'),
      panel(curve.validation, 'melDistance', 'validation mel distance'),
      panel(curve.codeUsage.map((p) => ({ step: p.step, perplexity: Math.max(1, p.perplexity) })), 'perplexity', 'code perplexity (per log window)', 'log'),
    ],
  };
}

/** Writes `curve.json` and `curve.png` into the run directory; returns the curve. */
export async function writeTrainingCurve(runDirectory: string, title = 'training curve'): Promise<TrainingCurve> {
  const curve = await readTrainingCurve(join(runDirectory, 'metrics.jsonl'));
  await writeFileAtomic(join(runDirectory, 'curve.json'), JSON.stringify(curve, null, 1) + '\n', true);
  await writeChartPng(join(runDirectory, 'curve.png'), trainingCurveChart(curve, title));
  return curve;
}
