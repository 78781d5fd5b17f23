/**
 * Experiment 1 of the quantizer study: the 2-D toy. Data and codes in the plane; plain VQ,
 * SimVQ and SimVQ with C trained, each trained on the same points with its own
 * loss and Adam; code positions before and after training, and utilisation.
 *
 * The data is an offset, sheared Gaussian cloud: a linear image of a Gaussian,
 * which SimVQ's codebook C·W + b can match exactly by learning W and b.
 *
 *   node dist/eval/simvq-toy.js   → eval/results/simvq-toy.{json,md,png}
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { initEngine } from '../src/engine/index.js';
import { writeFileAtomic } from '../src/files.js';
import { writeChartPng } from '../src/plot/index.js';
import { SimVQ, VectorQuantizer, codeUsage, type Quantizer } from '../src/quantizers/index.js';
import { gaussianArray, mulberry32 } from '../src/random.js';

const SETUP = { samples: 4096, codebookSize: 128, steps: 1000, learningRate: 1e-2, beta: 0.25, dataSeed: 11, seed: 1 };
type Method = 'vq' | 'simvq' | 'simvq-train-c';
const METHODS: Method[] = ['vq', 'simvq', 'simvq-train-c'];

function toyData(n: number, seed: number): Float32Array {
  const g = gaussianArray(mulberry32(seed), 2 * n);
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    data[2 * i] = 2 + 1.5 * g[2 * i]! + 0.5 * g[2 * i + 1]!;
    data[2 * i + 1] = -1 + 0.6 * g[2 * i + 1]!;
  }
  return data;
}

function make(method: Method): Quantizer {
  const common = { codebookSize: SETUP.codebookSize, dim: 2, seed: SETUP.seed, beta: SETUP.beta };
  return method === 'vq' ? new VectorQuantizer(common) : new SimVQ({ ...common, trainableBasis: method === 'simvq-train-c' });
}

interface Snapshot {
  codes: number[][];
  used: boolean[];
  utilization: number;
  perplexity: number;
  mse: number;
}

function snapshot(quantizer: Quantizer, data: tf.Tensor2D): Snapshot {
  const ids = quantizer.encode(data);
  const counts = new Float64Array(SETUP.codebookSize);
  for (const k of ids.dataSync()) counts[k]!++;
  const usage = codeUsage(ids, SETUP.codebookSize);
  const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(quantizer.decode(ids), data))).dataSync()[0]!);
  const codebook = quantizer.codebook();
  const codes = codebook.arraySync() as number[][];
  tf.dispose([ids, codebook]);
  return { codes, used: Array.from(counts, (c) => c > 0), utilization: usage.utilization, perplexity: usage.perplexity, mse };
}

async function main(): Promise<void> {
  await initEngine();
  const dir = join('eval', 'results');
  await mkdir(dir, { recursive: true });
  const values = toyData(SETUP.samples, SETUP.dataSeed);
  const data = tf.tensor2d(values, [SETUP.samples, 2]);
  const results: Array<{ method: Method; before: Snapshot; after: Snapshot }> = [];
  for (const method of METHODS) {
    const quantizer = make(method);
    const before = snapshot(quantizer, data);
    const optimizer = tf.train.adam(SETUP.learningRate);
    for (let step = 0; step < SETUP.steps; step++) optimizer.minimize(() => quantizer.forward(data).loss, false, quantizer.trainableVariables);
    const after = snapshot(quantizer, data);
    results.push({ method, before, after });
    console.log(`${method.padEnd(14)} utilisation ${(100 * before.utilization).toFixed(1)} % → ${(100 * after.utilization).toFixed(1)} %  mse ${before.mse.toFixed(4)} → ${after.mse.toFixed(4)}`);
    optimizer.dispose();
    quantizer.dispose();
  }
  data.dispose();
  await writeFileAtomic(join(dir, 'simvq-toy.json'), JSON.stringify({ setup: SETUP, results }, null, 1) + '\n', true);
  const table = [
    '# SimVQ 2-D toy',
    '',
    `${SETUP.samples} points of an offset, sheared Gaussian in the plane; K = ${SETUP.codebookSize} codes; ${SETUP.steps} full-batch Adam steps (lr ${SETUP.learningRate}), beta ${SETUP.beta}. ` +
      'Written by `node dist/eval/simvq-toy.js`; plot: simvq-toy.png.',
    '',
    '| method | utilisation before | utilisation after | perplexity after | mse before | mse after |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.method} | ${(100 * r.before.utilization).toFixed(1)} % | ${(100 * r.after.utilization).toFixed(1)} % | ${r.after.perplexity.toFixed(1)} | ${r.before.mse.toFixed(4)} | ${r.after.mse.toFixed(4)} |`),
    '',
  ];
  await writeFileAtomic(join(dir, 'simvq-toy.md'), table.join('\n'), true);
  // One panel per (stage, method): a sample of the data in grey, codes coloured by use.
  const points: Array<Record<string, string | number>> = [];
  const panelOrder: string[] = [];
  for (const r of results) {
    for (const stage of ['before', 'after'] as const) {
      const snap = r[stage];
      const panel = `${r.method}, ${stage}: ${(100 * snap.utilization).toFixed(0)} % used`;
      panelOrder.push(panel);
      for (let i = 0; i < 600; i++) points.push({ panel, x: values[2 * i]!, y: values[2 * i + 1]!, kind: 'data' });
      snap.codes.forEach(([x, y], k) => points.push({ panel, x: x!, y: y!, kind: snap.used[k] ? 'code, used' : 'code, unused' }));
    }
  }
  await writeChartPng(join(dir, 'simvq-toy.png'), {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: points },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panelOrder },
    columns: 2,
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'point', filled: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { domain: [-4, 8] } },
        y: { field: 'y', type: 'quantitative', scale: { domain: [-4, 2] } },
        color: { field: 'kind', type: 'nominal', scale: { domain: ['data', 'code, used', 'code, unused'], range: ['#c8c8c8', '#1f77b4', '#d62728'] } },
        size: { condition: { test: "datum.kind === 'data'", value: 6 }, value: 30 },
      },
    },
  });
  console.log(`wrote ${join(dir, 'simvq-toy.{json,md,png}')}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
