/**
 * Experiment 2 of the quantizer study: codebook scaling. Utilisation and reconstruction error
 * vs K ∈ {1024 … 262,144} for plain VQ, SimVQ and SimVQ with C trained, on one
 * fixed latent data set (eval/latent-data.ts). Paper (arXiv:2411.02038): SimVQ
 * uses ~100 % of its codes at every K, plain VQ collapses at large K, and training
 * C as well brings the collapse back.
 *
 * Setup: the quantizer alone is trained on fixed latents (no encoder), with the
 * quantizer loss and Adam, all methods on the same seeded batches; then every
 * latent of the data set is quantized once: utilisation = share of the K codes
 * that some latent maps to, mse = mean squared error per element. The data set
 * holds 2^21 latents, 8 per code at the largest K. d = 4 so that an exact k-d tree
 * search (src/quantizers/kdtree.ts) makes the 262,144-code runs affordable on two
 * CPU cores: at d = 4 the matmul search costs ~2.3 ns per (latent, code) pair here,
 * ~20 minutes for one evaluation pass at K = 262,144.
 *
 * Resumable: each finished (method, K) row is written to the results file at
 * once, and rows already there (with the same setup) are skipped on a rerun.
 *
 *   node dist/eval/simvq-scaling.js [--quick] [--fresh] [--report-only]
 * writes eval/results/simvq-scaling.{json,md,png} (--quick: K ≤ 4096, fewer steps,
 * under eval/results/quick/; --report-only: the table and plot from the rows so far).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { initEngine } from '../src/engine/index.js';
import { writeFileAtomic, pathExists } from '../src/files.js';
import { writeChartPng } from '../src/plot/index.js';
import { SimVQ, VectorQuantizer, codeUsage, type Quantizer } from '../src/quantizers/index.js';
import { mulberry32 } from '../src/random.js';
import { gaussianMixture, type MixtureSpec } from './latent-data.js';

type Method = 'vq' | 'simvq' | 'simvq-train-c';
const METHODS: Method[] = ['vq', 'simvq', 'simvq-train-c'];

interface Setup {
  /** Bumped when the row fields change, so a resume does not mix old rows in. */
  rowVersion: number;
  data: MixtureSpec;
  codebookSizes: number[];
  steps: number;
  batch: number;
  learningRate: number;
  beta: number;
  seed: number;
}

interface Row {
  method: Method;
  K: number;
  utilization: number;
  mse: number;
  perplexity: number;
  usedCodes: number;
  /** Utilisation over the first quarter and half of the latents (2 and 4 per code at the largest K): how far it is limited by the sample count. */
  utilizationQuarterData: number;
  utilizationHalfData: number;
  trainSeconds: number;
  evalSeconds: number;
}

function setupFor(quick: boolean): Setup {
  return {
    rowVersion: 2,
    data: { samples: quick ? 1 << 16 : 1 << 21, dim: 4, components: 256, seed: 2024, meanStd: 1, scaleMin: 0.2, scaleMax: 0.6 },
    codebookSizes: quick ? [1024, 4096] : [1024, 4096, 16384, 65536, 262144],
    steps: quick ? 40 : 150,
    batch: 1024,
    learningRate: 1e-2,
    beta: 0.25,
    seed: 7,
  };
}

function makeQuantizer(method: Method, K: number, setup: Setup): Quantizer {
  const common = { codebookSize: K, dim: setup.data.dim, seed: setup.seed, beta: setup.beta, search: 'kd-tree' as const };
  if (method === 'vq') return new VectorQuantizer(common);
  return new SimVQ({ ...common, trainableBasis: method === 'simvq-train-c' });
}

function runRow(method: Method, K: number, setup: Setup, data: tf.Tensor2D): Row {
  const quantizer = makeQuantizer(method, K, setup);
  const optimizer = tf.train.adam(setup.learningRate);
  const n = data.shape[0];
  // Same batches for every method and K.
  const rand = mulberry32(setup.seed + 1);
  const start = performance.now();
  for (let step = 0; step < setup.steps; step++) {
    const ids = new Int32Array(setup.batch);
    for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(rand() * n);
    const batch = tf.tidy(() => tf.gather(data, tf.tensor1d(ids, 'int32')));
    optimizer.minimize(() => quantizer.forward(batch).loss, false, quantizer.trainableVariables);
    batch.dispose();
  }
  const trainSeconds = (performance.now() - start) / 1000;
  const evalStart = performance.now();
  const chunk = 1 << 16;
  const all = new Int32Array(n);
  let squaredError = 0;
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const rows = Math.min(chunk, n - r0);
    const part = tf.slice(data, [r0, 0], [rows, setup.data.dim]);
    const ids = quantizer.encode(part);
    const error = tf.tidy(() => tf.sum(tf.square(tf.sub(quantizer.decode(ids), part))));
    squaredError += error.dataSync()[0]!;
    all.set(ids.dataSync() as Int32Array, r0);
    tf.dispose([part, ids, error]);
  }
  const usage = codeUsage(all, K);
  const quarter = codeUsage(all.subarray(0, n >> 2), K).utilization;
  const half = codeUsage(all.subarray(0, n >> 1), K).utilization;
  const evalSeconds = (performance.now() - evalStart) / 1000;
  optimizer.dispose();
  quantizer.dispose();
  return {
    method,
    K,
    utilization: usage.utilization,
    mse: squaredError / (n * setup.data.dim),
    perplexity: usage.perplexity,
    usedCodes: usage.usedCodes,
    utilizationQuarterData: quarter,
    utilizationHalfData: half,
    trainSeconds: round(trainSeconds, 1),
    evalSeconds: round(evalSeconds, 1),
  };
}

function round(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const fresh = process.argv.includes('--fresh');
  const setup = setupFor(quick);
  const dir = quick ? join('eval', 'results', 'quick') : join('eval', 'results');
  await mkdir(dir, { recursive: true });
  const jsonPath = join(dir, 'simvq-scaling.json');
  const setupPath = join(dir, 'simvq-scaling.setup.json');
  let rows: Row[] = [];
  if (!fresh && (await pathExists(jsonPath)) && (await pathExists(setupPath))) {
    const previous = await readFile(setupPath, 'utf8');
    if (previous === JSON.stringify(setup, null, 2)) rows = JSON.parse(await readFile(jsonPath, 'utf8')) as Row[];
    else console.log('setup changed: starting over');
  }
  if (process.argv.includes('--report-only')) {
    if (rows.length === 0) throw new Error(`${jsonPath}: no rows for this setup to report`);
    await writeReport(dir, rows, setup);
    return;
  }
  await writeFileAtomic(setupPath, JSON.stringify(setup, null, 2), true);
  const engine = await initEngine();
  console.log(`backend ${engine.backend}; data ${setup.data.samples} × ${setup.data.dim}; ${setup.steps} steps of ${setup.batch}`);
  const data = tf.tensor2d(gaussianMixture(setup.data), [setup.data.samples, setup.data.dim]);
  const started = performance.now();
  for (const K of setup.codebookSizes) {
    for (const method of METHODS) {
      if (rows.some((r) => r.method === method && r.K === K)) continue;
      const row = runRow(method, K, setup, data);
      rows.push(row);
      console.log(`${method.padEnd(14)} K=${String(K).padStart(6)}  used ${(100 * row.utilization).toFixed(2).padStart(6)} %  mse ${row.mse.toExponential(3)}  ppl ${row.perplexity.toFixed(0)}  (${row.trainSeconds} s train, ${row.evalSeconds} s eval)`);
      await writeFileAtomic(jsonPath, JSON.stringify(rows, null, 2) + '\n', true);
    }
  }
  data.dispose();
  console.log(`run took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  await writeReport(dir, rows, setup);
}

async function writeReport(dir: string, rows: Row[], setup: Setup): Promise<void> {
  const sorted = [...rows].sort((a, b) => a.K - b.K || METHODS.indexOf(a.method) - METHODS.indexOf(b.method));
  const lines = [
    '# SimVQ codebook scaling',
    '',
    `Quantizer alone on fixed latents: a ${setup.data.components}-component Gaussian mixture, ${setup.data.samples.toLocaleString('en')} latents of d = ${setup.data.dim} (seed ${setup.data.seed}); ` +
      `${setup.steps} Adam steps (lr ${setup.learningRate}) of ${setup.batch} latents, beta ${setup.beta}; then every latent quantized once. Written by \`node dist/eval/simvq-scaling.js\`.`,
    '',
    '| method | K | utilisation | (on ¼ / ½ of the latents) | used codes | perplexity | mse | train s | eval s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...sorted.map(
      (r) =>
        `| ${r.method} | ${r.K} | ${(100 * r.utilization).toFixed(2)} % | ${(100 * r.utilizationQuarterData).toFixed(2)} / ${(100 * r.utilizationHalfData).toFixed(2)} % | ${r.usedCodes} | ${r.perplexity.toFixed(0)} | ${r.mse.toExponential(3)} | ${r.trainSeconds} | ${r.evalSeconds} |`,
    ),
    '',
  ];
  await writeFileAtomic(join(dir, 'simvq-scaling.md'), lines.join('\n'), true);
  const values = sorted.map((r) => ({ method: r.method, K: r.K, utilization: 100 * r.utilization, mse: r.mse }));
  const x = { field: 'K', type: 'quantitative' as const, scale: { type: 'log' as const, base: 2 }, title: 'codebook size K' };
  const color = { field: 'method', type: 'nominal' as const };
  await writeChartPng(join(dir, 'simvq-scaling.png'), {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    hconcat: [
      {
        title: 'codebook utilisation',
        width: 320,
        height: 240,
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'utilization', type: 'quantitative', title: 'codes used (%)', scale: { domain: [0, 100] } }, color },
      },
      {
        title: 'reconstruction error',
        width: 320,
        height: 240,
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'mse', type: 'quantitative', title: 'mse per element', scale: { type: 'log' } }, color },
      },
    ],
  });
  console.log(`wrote ${join(dir, 'simvq-scaling.{json,md,png}')}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
