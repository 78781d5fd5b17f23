/**
 * Learned MOS predictors run on onnxruntime-node: UTMOS (UTMOS22 strong learner)
 * and DNSMOS P.835 (SIG/BAK/OVRL). The models are not shipped (licences and
 * size); the user passes a file, and without one nothing is scored, so a report
 * can never show a MOS that was not computed. Each loader checks the model's
 * input and output names against the published exports and names the file when
 * they differ, because a wrong model would otherwise score silently and wrongly.
 */
import { readFile } from 'node:fs/promises';

import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-common';

import { resample } from '../audio/index.js';
import { InputError } from '../errors.js';
import { describeFsError } from '../files.js';
import { createOrtSession, type OnnxRuntimeModule } from '../runtime/ort-session.js';

/** Both models take 16 kHz audio. */
export const MOS_SAMPLE_RATE = 16_000;

async function openSession(path: string, what: string): Promise<{ session: OrtSession; ort: OnnxRuntimeModule }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(path, `${what} model: ${describeFsError(error, 'read')}`);
  }
  // No spinning: the scoring loop's JavaScript needs the cores between runs.
  return createOrtSession(bytes, path, (reason) => `not an ONNX model onnxruntime can load as the ${what} model (${reason})`, { spinning: false });
}

function requireNames(path: string, what: string, session: OrtSession, inputs: string[], outputs: string[] | null): void {
  const missingInput = inputs.filter((name) => !session.inputNames.includes(name));
  const missingOutput = (outputs ?? []).filter((name) => !session.outputNames.includes(name));
  if (missingInput.length > 0 || missingOutput.length > 0) {
    throw new InputError(
      path,
      `not a ${what} model: expected input ${inputs.map((n) => `'${n}'`).join(', ')}` +
        (outputs === null ? '' : ` and output ${outputs.map((n) => `'${n}'`).join(', ')}`) +
        `, found inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`,
    );
  }
}

async function at16k(samples: Float32Array, sampleRate: number): Promise<Float32Array> {
  return sampleRate === MOS_SAMPLE_RATE ? samples : resample(samples, sampleRate, MOS_SAMPLE_RATE);
}

async function runOne(path: string, session: OrtSession, feeds: Record<string, OrtTensor>, output: string): Promise<Float32Array> {
  let result: OrtSession.ReturnType;
  try {
    result = await session.run(feeds);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(path, `the model failed to run (${message.split('\n')[0]})`);
  }
  const tensor = result[output];
  if (tensor === undefined || tensor.type !== 'float32') throw new InputError(path, `output '${output}' is not a float32 tensor`);
  return tensor.data as Float32Array;
}

/**
 * UTMOS22 strong learner (Saeki et al. 2022) exported to ONNX as the community
 * does from the SpeechMOS port: input `wave` float32 [batch, time] at 16 kHz,
 * output `mos` [batch], already on the 1-5 scale.
 */
export class UtmosModel {
  private constructor(
    readonly path: string,
    private readonly session: OrtSession,
    private readonly ort: OnnxRuntimeModule,
  ) {}

  static async load(path: string): Promise<UtmosModel> {
    const { session, ort } = await openSession(path, 'UTMOS');
    requireNames(path, 'UTMOS', session, ['wave'], ['mos']);
    return new UtmosModel(path, session, ort);
  }

  /** The predicted MOS of one utterance (any rate; resampled to 16 kHz). */
  async score(samples: Float32Array, sampleRate: number): Promise<number> {
    const wave = await at16k(samples, sampleRate);
    const mos = await runOne(this.path, this.session, { wave: new this.ort.Tensor('float32', wave, [1, wave.length]) }, 'mos');
    if (mos.length !== 1 || !Number.isFinite(mos[0])) {
      throw new InputError(this.path, `output 'mos' should be one finite score per utterance, got ${mos.length} values`);
    }
    return mos[0];
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export interface DnsmosScores {
  /** Speech quality (signal), background-noise quality and overall quality, 1-5 (ITU-T P.835). */
  sig: number;
  bak: number;
  ovrl: number;
  /** 9.01 s windows averaged. */
  windows: number;
}

/** DNSMOS's window: 9.01 s of 16 kHz audio, moved 1 s at a time. */
export const DNSMOS_WINDOW = 144_160;
const DNSMOS_HOP = 16_000;

/**
 * Calibration from raw network outputs to P.835 scores, non-personalised model:
 * the polynomials (highest power first) in Microsoft's reference scorer,
 * DNSMOS/dnsmos_local.py `get_polyfit_val` (github.com/microsoft/DNS-Challenge).
 */
export const DNSMOS_CALIBRATION = {
  sig: [-0.08397278, 1.22083953, 0.0052439],
  bak: [-0.13166888, 1.60915514, -0.39604546],
  ovrl: [-0.06766283, 1.11546468, 0.04602535],
} as const;

function polyval(coefficients: readonly number[], x: number): number {
  return coefficients.reduce((acc, c) => acc * x + c, 0);
}

/**
 * DNSMOS P.835 (Reddy et al. 2022), Microsoft's published `sig_bak_ovr.onnx`:
 * input `input_1` float32 [1, 144160], first output [1, 3] raw SIG, BAK, OVRL.
 * Scored as the reference scorer does: audio shorter than a window is repeated
 * until it fills one; each window's raw scores are calibrated, then averaged.
 */
export class DnsmosModel {
  private constructor(
    readonly path: string,
    private readonly session: OrtSession,
    private readonly ort: OnnxRuntimeModule,
  ) {}

  static async load(path: string): Promise<DnsmosModel> {
    const { session, ort } = await openSession(path, 'DNSMOS');
    requireNames(path, 'DNSMOS P.835', session, ['input_1'], null);
    if (session.outputNames.length === 0) throw new InputError(path, 'not a DNSMOS P.835 model: it has no output');
    return new DnsmosModel(path, session, ort);
  }

  async score(samples: Float32Array, sampleRate: number): Promise<DnsmosScores> {
    let audio = await at16k(samples, sampleRate);
    if (audio.length === 0) throw new InputError(this.path, 'cannot score empty audio');
    while (audio.length < DNSMOS_WINDOW) {
      const doubled = new Float32Array(audio.length * 2);
      doubled.set(audio);
      doubled.set(audio, audio.length);
      audio = doubled;
    }
    // The reference takes int(floor(seconds) - 9.01) + 1 windows, i.e. one per whole
    // second beyond nine (at least one), each starting on a whole second.
    const windows = Math.max(1, Math.floor(audio.length / DNSMOS_HOP) - 9);
    const output = this.session.outputNames[0];
    const totals = { sig: 0, bak: 0, ovrl: 0 };
    for (let w = 0; w < windows; w++) {
      const window = audio.slice(w * DNSMOS_HOP, w * DNSMOS_HOP + DNSMOS_WINDOW);
      const raw = await runOne(this.path, this.session, { input_1: new this.ort.Tensor('float32', window, [1, DNSMOS_WINDOW]) }, output);
      if (raw.length !== 3 || !raw.every(Number.isFinite)) {
        throw new InputError(this.path, `output '${output}' should hold 3 finite raw scores (SIG, BAK, OVRL), got ${raw.length} values`);
      }
      totals.sig += polyval(DNSMOS_CALIBRATION.sig, raw[0]);
      totals.bak += polyval(DNSMOS_CALIBRATION.bak, raw[1]);
      totals.ovrl += polyval(DNSMOS_CALIBRATION.ovrl, raw[2]);
    }
    return { sig: totals.sig / windows, bak: totals.bak / windows, ovrl: totals.ovrl / windows, windows };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
