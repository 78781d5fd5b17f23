/**
 * Shared by the runtime tests: a tiny causal codec config (hop 40, K = 64,
 * derived from the speech preset's shape) and exported model directories of it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';

import type { CodecConfig } from '../../src/codec/config.js';
import { CodecModel } from '../../src/codec/model.js';
import type { ParameterStore } from '../../src/nn/parameters.js';
import { writeModelDirectory } from '../../src/export/model-directory.js';
import { mulberry32, randomArray } from '../helpers/random.js';

export function tinyRuntimeConfig(overrides: { causal?: boolean; lstmLayers?: number; name?: string; codebookSize?: number } = {}): CodecConfig {
  return {
    name: overrides.name ?? 'tiny-runtime',
    description: 'runtime tests',
    sampleRate: 16000,
    causal: overrides.causal ?? true,
    latentDim: 8,
    encoder: { channels: 4, strides: [2, 4, 5], dilations: [1, 3], kernelSize: 7, residualKernelSize: 3, compress: 2, lstmLayers: overrides.lstmLayers ?? 0, latentNorm: 'whiten' },
    quantizer: { method: 'simvq', codebookSize: overrides.codebookSize ?? 64, beta: 0.25, seed: 0, normalized: true },
    decoder: { type: 'vocos', dim: 16, intermediateDim: 32, layers: 2, kernelSize: 7, nFft: 160 },
    training: {
      batchSize: 2, cropSeconds: 0.05, learningRate: 1e-3, betas: [0.5, 0.9], weightDecay: 0, warmupSteps: 0, totalSteps: 10,
      maxGradNorm: 1, discriminatorStartStep: 0, quantizerStartStep: 0, discriminators: ['mpd'],
      lossWeights: { mel: 1, stft: 0, waveform: 0, quantizer: 1, adversarial: 0, featureMatching: 0 },
    },
  };
}

/** Moves every parameter off its initial value, so an export that missed one would show. */
export function perturb(store: ParameterStore, seed = 9): void {
  const rand = mulberry32(seed);
  for (const variable of store.named().values()) {
    variable.assign(tf.tidy(() => variable.add(tf.tensor(randomArray(rand, variable.size), variable.shape).mul(0.2))));
  }
}

/** A perturbed tiny model and its exported directory (in a fresh temp folder). */
export async function exportTinyModel(config: CodecConfig = tinyRuntimeConfig(), seed = 3): Promise<{ model: CodecModel; directory: string }> {
  const model = new CodecModel(config, seed);
  perturb(model.parameters, seed + 100);
  const directory = join(mkdtempSync(join(tmpdir(), 'simvq-runtime-')), 'model');
  await writeModelDirectory(model, directory);
  return { model, directory };
}
