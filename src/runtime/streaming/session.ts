/**
 * A streaming step graph opened in onnxruntime (onnxruntime-node, or
 * onnxruntime-web in the browser), and the state one stream carries through it.
 *
 * The session is stateless and can serve many streams; each stream owns a
 * `StepState` (the graph's `state.<i>` tensors, zeros at the start) and hands
 * each step's `state.<i>.next` outputs back in as the next step's inputs.
 * No Node module here: Node opens the session in ./streams.ts (the project's
 * onnxruntime options), the browser in src/web/codec.ts.
 */

import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';

import { InputError } from '../../errors.js';
import { NEXT_STATE_SUFFIX } from '../../nn/streaming.js';
import type { OnnxRuntimeModule } from '../ort-types.js';

/** The graph's carried states, as the current values to feed. */
export type StepState = Record<string, OrtTensor>;

export class StreamingSession {
  private constructor(
    private readonly session: InferenceSession,
    private readonly ort: Pick<OnnxRuntimeModule, 'Tensor'>,
    /** State input name → its static shape. */
    private readonly stateShapes: ReadonlyMap<string, readonly number[]>,
    readonly inputName: string,
    readonly outputName: string,
  ) {}

  /**
   * Checks that an opened session is a step graph (`inputName` plus states with
   * fixed shapes, each with its `.next` output) and wraps it; `what` names it
   * in errors. A session that is not one is released.
   */
  static async open(session: InferenceSession, ort: Pick<OnnxRuntimeModule, 'Tensor'>, what: string, inputName: string, outputName: string): Promise<StreamingSession> {
    const stateShapes = new Map<string, readonly number[]>();
    for (const meta of session.inputMetadata) {
      if (meta.name === inputName) continue;
      const shape = meta.isTensor ? meta.shape : [];
      if (!meta.isTensor || !shape.every((d): d is number => typeof d === 'number') || !session.outputNames.includes(meta.name + NEXT_STATE_SUFFIX)) {
        await session.release();
        throw new InputError(what, `not a streaming step graph: input '${meta.name}' is neither '${inputName}' nor a state with a fixed shape and a '${meta.name}${NEXT_STATE_SUFFIX}' output`);
      }
      stateShapes.set(meta.name, shape as number[]);
    }
    if (!session.inputNames.includes(inputName) || !session.outputNames.includes(outputName)) {
      await session.release();
      throw new InputError(what, `not a streaming step graph: expected input '${inputName}' and output '${outputName}', found inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`);
    }
    return new StreamingSession(session, ort, stateShapes, inputName, outputName);
  }

  /** Zeros for every state: the start of a stream (the whole-file graph's zero padding). */
  initialState(): StepState {
    const state: StepState = {};
    for (const [name, shape] of this.stateShapes) state[name] = new this.ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    return state;
  }

  floatTensor(data: Float32Array, dims: readonly number[]): OrtTensor {
    return new this.ort.Tensor('float32', data, dims);
  }

  int64Tensor(data: BigInt64Array, dims: readonly number[]): OrtTensor {
    return new this.ort.Tensor('int64', data, dims);
  }

  /** One step: returns the graph's output and the state for the next step. */
  async step(input: OrtTensor, state: StepState): Promise<{ output: OrtTensor; state: StepState }> {
    const results = await this.session.run({ [this.inputName]: input, ...state });
    const next: StepState = {};
    for (const name of this.stateShapes.keys()) next[name] = results[name + NEXT_STATE_SUFFIX]!;
    return { output: results[this.outputName]!, state: next };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
