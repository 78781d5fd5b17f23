/**
 * One training step of the codec: the generator (encoder, quantizer, decoder)
 * against reconstruction, quantizer and — once they are on — adversarial and
 * feature-matching losses; then the discriminators against the hinge loss.
 *
 * The generator's output is computed once: the discriminator step reuses it as
 * a plain value (no gradient path back into the generator).
 */
import * as tf from '@tensorflow/tfjs';

import {
  featureMatchingLoss,
  hingeDiscriminatorLoss,
  hingeGeneratorLoss,
  melScalesForWindows,
  MultiPeriodDiscriminator,
  MultiScaleStftDiscriminator,
  ReconstructionLoss,
  type Discriminator,
} from '../codec/index.js';
import type { CodecConfig } from '../codec/config.js';
import type { CodecModel } from '../codec/model.js';
import { ParameterStore } from '../nn/parameters.js';
import { AdamW, warmupCosine } from './optimizer.js';

export interface StepMetrics {
  step: number;
  /** Weighted total of the generator's loss. */
  generatorLoss: number;
  /** Each unweighted term, by name (mel, stftConvergence, ..., quantizer, adversarial, featureMatching). */
  terms: Record<string, number>;
  discriminatorLoss: number | null;
  generatorGradNorm: number;
  discriminatorGradNorm: number | null;
  learningRate: number;
  /** False when the generator's gradients were not finite and the step was skipped. */
  applied: boolean;
  /** int32 codes of the batch, [B, F], for usage tracking. */
  codes: Int32Array;
}

/** The discriminators, in one store so one optimiser and one checkpoint file hold them. */
export class DiscriminatorSet {
  readonly parameters: ParameterStore;
  readonly members: Discriminator[];

  constructor(kinds: readonly ('mpd' | 'msstftd')[], seed: number) {
    this.parameters = new ParameterStore(seed);
    const root = this.parameters.scope();
    this.members = kinds.map((kind) =>
      kind === 'mpd' ? new MultiPeriodDiscriminator({}, root.child('mpd')) : new MultiScaleStftDiscriminator({}, root.child('msstftd')),
    );
  }

  dispose(): void {
    for (const d of this.members) d.dispose();
    this.parameters.dispose();
  }
}

export class GanStep {
  readonly generatorOptimizer: AdamW;
  readonly discriminatorOptimizer: AdamW;
  private readonly reconstruction: ReconstructionLoss;
  private readonly config: CodecConfig;

  constructor(
    readonly model: CodecModel,
    readonly discriminators: DiscriminatorSet,
  ) {
    this.config = model.config;
    const t = this.config.training;
    const schedule = warmupCosine({ peak: t.learningRate, warmupSteps: t.warmupSteps, totalSteps: t.totalSteps, final: t.learningRate / 10 });
    const common = { learningRate: schedule, beta1: t.betas[0], beta2: t.betas[1], weightDecay: t.weightDecay, maxGradNorm: t.maxGradNorm };
    this.generatorOptimizer = new AdamW(model.parameters.trainableNamed(), common);
    this.discriminatorOptimizer = new AdamW(discriminators.parameters.trainableNamed(), common);
    const w = t.lossWeights;
    this.reconstruction = new ReconstructionLoss({
      sampleRate: this.config.sampleRate,
      weights: { mel: w.mel, stftConvergence: w.stft, stftLogMagnitude: w.stft, waveform: w.waveform },
      ...(t.melBandEmphasis === undefined ? {} : { melBandEmphasis: t.melBandEmphasis }),
      ...(t.melWindows === undefined ? {} : { melScales: melScalesForWindows(t.melWindows) }),
    });
  }

  /** Whether the adversarial terms are on at this (1-based) step. */
  adversarialAt(step: number): boolean {
    const w = this.config.training.lossWeights;
    const t = this.config.training;
    return step > t.discriminatorStartStep && t.discriminators.length > 0 && w.adversarial + w.featureMatching > 0;
  }

  /** One step on a batch of audio [B, 1, T] (T a multiple of the hop). */
  run(audio: tf.Tensor3D): StepMetrics {
    const step = this.generatorOptimizer.step + 1;
    const adversarial = this.adversarialAt(step);
    const w = this.config.training.lossWeights;
    const kept: Record<string, tf.Scalar> = {};
    let fake: tf.Tensor3D | null = null;
    let codes: tf.Tensor | null = null;

    const generator = this.generatorOptimizer.minimize(() => {
      const out = this.model.forward(audio, { training: true, bypassQuantizer: step <= this.config.training.quantizerStartStep });
      const { terms, total: reconstructionTotal } = this.reconstruction.compute(out.reconstruction, audio);
      let total = reconstructionTotal.add(out.quantizerLoss.mul(w.quantizer)) as tf.Scalar;
      for (const [name, value] of Object.entries(terms)) kept[name] = tf.keep(value);
      kept['quantizer'] = tf.keep(out.quantizerLoss);
      if (adversarial) {
        let adversarialLoss: tf.Scalar = tf.scalar(0);
        let matching: tf.Scalar = tf.scalar(0);
        for (const d of this.discriminators.members) {
          const onFake = d.forward(out.reconstruction);
          const onReal = d.forward(audio);
          adversarialLoss = adversarialLoss.add(hingeGeneratorLoss(onFake.logits));
          matching = matching.add(featureMatchingLoss(onReal.features, onFake.features));
        }
        kept['adversarial'] = tf.keep(adversarialLoss);
        kept['featureMatching'] = tf.keep(matching);
        total = total.add(adversarialLoss.mul(w.adversarial)).add(matching.mul(w.featureMatching)) as tf.Scalar;
      }
      fake = tf.keep(out.reconstruction);
      codes = tf.keep(out.codes);
      return total;
    });

    let discriminatorLoss: number | null = null;
    let discriminatorGradNorm: number | null = null;
    if (adversarial && fake !== null && generator.applied) {
      const fakeAudio: tf.Tensor3D = fake;
      const report = this.discriminatorOptimizer.minimize(() => {
        let loss: tf.Scalar = tf.scalar(0);
        for (const d of this.discriminators.members) {
          loss = loss.add(hingeDiscriminatorLoss(d.forward(audio).logits, d.forward(fakeAudio).logits));
        }
        return loss;
      });
      discriminatorLoss = report.loss;
      discriminatorGradNorm = report.gradNorm;
    }

    const terms: Record<string, number> = {};
    for (const [name, value] of Object.entries(kept)) terms[name] = value.dataSync()[0]!;
    const codeValues = codes === null ? new Int32Array(0) : ((codes as tf.Tensor).dataSync() as Int32Array).slice();
    tf.dispose([...Object.values(kept), ...(fake === null ? [] : [fake]), ...(codes === null ? [] : [codes])]);
    return {
      step,
      generatorLoss: generator.loss,
      terms,
      discriminatorLoss,
      generatorGradNorm: generator.gradNorm,
      discriminatorGradNorm,
      learningRate: generator.learningRate,
      applied: generator.applied,
      codes: codeValues,
    };
  }
}
