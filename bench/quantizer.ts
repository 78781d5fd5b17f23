/**
 * npm run bench:quantizer — SimVQ speed at d = 128, on the active engine rung.
 *
 *   quantize tokens/s     encode (nearest-code search) + decode (lookup), K = 4096 and 262,144
 *   step seconds          one training step: forward (search + loss) and backward, Adam on W, b
 *   load seconds          drawing C from its seed and building the effective codebook
 *   peak memory           the process's peak resident set (MiB) after each K, and the
 *                         search's working-memory bound (src/quantizers/search.ts)
 *
 * Each timing is the median of repeated runs (the machine is shared and noisy).
 * The last line printed is one JSON object with every figure.
 *
 * Flags: --quick (fewer repeats, smaller batches)   --rung NAME (engine rung; default auto)
 */
import os from 'node:os';

import * as tf from '@tensorflow/tfjs';

import { initEngine, type BackendName } from '../src/engine/index.js';
import { DEFAULT_BLOCK_ELEMENTS, SimVQ } from '../src/quantizers/index.js';
import { gaussianArray, mulberry32 } from '../src/random.js';
import { timeIt } from './timing.js';

const DIM = 128;

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

interface Figures {
  K: number;
  tokens: number;
  quantize_tokens_per_s: number;
  search_ns_per_token_code: number;
  step_s: number;
  step_tokens: number;
  load_s: number;
  peak_rss_mib: number;
  search_bound_mib: number;
}

function benchK(K: number, tokens: number, stepTokens: number, repeats: number): Figures {
  const loadStart = process.hrtime.bigint();
  const quantizer = new SimVQ({ codebookSize: K, dim: DIM, seed: 1 });
  tf.dispose(quantizer.decode(tf.tensor1d([0], 'int32'))); // builds the cached effective codebook
  const loadSeconds = Number(process.hrtime.bigint() - loadStart) / 1e9;
  // Latents of about the codes' own scale.
  const rand = mulberry32(2);
  const z = tf.tensor3d(gaussianArray(rand, tokens * DIM, 0.05), [1, DIM, tokens]);
  // encode + decode; the ids are read back (as a tokenizer would) so the work is really done.
  const quantize = timeIt(() => {
    const ids = quantizer.encode(z);
    const vectors = quantizer.decode(ids);
    vectors.dataSync();
    tf.dispose([ids, vectors]);
  }, repeats);
  const batch = tf.tensor3d(gaussianArray(rand, stepTokens * DIM, 0.05), [1, DIM, stepTokens]);
  const optimizer = tf.train.adam(1e-3);
  const step = timeIt(() => {
    const loss = optimizer.minimize(() => quantizer.forward(batch).loss, true, quantizer.trainableVariables);
    loss!.dataSync();
    loss!.dispose();
  }, repeats);
  // Search working memory, as documented in search.ts: table (+ its build-time readback), rows twice, one block, per-row state.
  const n = Math.max(tokens, stepTokens);
  const boundBytes = 4 * K * (DIM + 1) + 4 * K * DIM + 4 * n * DIM + 4 * n * (DIM + 1) + 4 * DEFAULT_BLOCK_ELEMENTS + 8 * n;
  tf.dispose([z, batch]);
  optimizer.dispose();
  quantizer.dispose();
  return {
    K,
    tokens,
    quantize_tokens_per_s: round(tokens / quantize, 1),
    search_ns_per_token_code: round((quantize * 1e9) / (tokens * K), 2),
    step_s: round(step, 3),
    step_tokens: stepTokens,
    load_s: round(loadSeconds, 2),
    peak_rss_mib: Math.round(peakRssMiB()),
    search_bound_mib: Math.round(boundBytes / 2 ** 20),
  };
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const rungIndex = argv.indexOf('--rung');
  const rung = rungIndex >= 0 ? (argv[rungIndex + 1] as BackendName) : undefined;
  const engine = await initEngine(rung ? { backend: rung } : {});
  const results: Figures[] = [];
  // Smaller batches at K = 262,144 keep each call near a second.
  const plans: Array<[number, number, number, number]> = quick
    ? [
        [4096, 1024, 1024, 2],
        [262_144, 128, 128, 1],
      ]
    : [
        [4096, 4096, 1024, 7],
        [262_144, 512, 512, 3],
      ];
  for (const [K, tokens, stepTokens, repeats] of plans) {
    const figures = benchK(K, tokens, stepTokens, repeats);
    results.push(figures);
    console.log(
      `K=${String(K).padStart(6)} d=${DIM}  quantize ${figures.quantize_tokens_per_s.toFixed(0).padStart(7)} tokens/s (${figures.search_ns_per_token_code} ns per token·code)  ` +
        `step ${figures.step_s.toFixed(3)} s / ${stepTokens} tokens  load ${figures.load_s} s  peak RSS ${figures.peak_rss_mib} MiB (search bound ${figures.search_bound_mib} MiB)`,
    );
  }
  console.log(
    JSON.stringify({
      bench: 'quantizer',
      machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node },
      backend: engine.backend,
      method: 'simvq',
      dim: DIM,
      results,
      quick,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
