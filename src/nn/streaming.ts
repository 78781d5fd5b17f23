/**
 * State carried between the steps of a streaming ONNX graph.
 *
 * A streaming step graph is a whole-file graph cut at frame boundaries: every
 * layer that looks back in time (a causal convolution's left padding, a
 * transposed convolution's overlap-add tail, an LSTM's h and c) keeps what it
 * needs from the previous step as a state tensor. The step graph takes
 * (new input, state_0..state_n) and returns (output, state_0'..state_n'); the
 * caller feeds each step's new states to the next step, and zeros to the first,
 * which is what the whole-file graph's zero padding means at t = 0. This is
 * how EnCodec's and Moshi/Mimi's streaming convolutions work (encodec/modules/
 * conv.py, moshi/modules/conv.py: a conv keeps its last (k−1)·d − (s−1) inputs).
 *
 * Names are fixed so a runtime can pair them without a side file:
 * input `state.<i>` ↔ output `state.<i>.next`, shapes in the graph's input
 * metadata (static), zeros at the start.
 */
import type { OnnxGraphBuilder } from '../onnx/index.js';

/** One carried state: its graph input (previous value) and shape. */
export interface StreamStateSpec {
  readonly input: string;
  readonly output: string;
  readonly dims: readonly number[];
}

/** The state input that holds a value from the previous step, and how to hand on the next one. */
export interface CarriedState {
  /** Graph input: this state's value after the previous step (zeros before the first). */
  readonly previous: string;
  /** Declares `next` (a tensor of the same shape) as this state's value for the following step. */
  carry(next: string): void;
}

/** The name a state's graph input has; its output is the same name + `.next`. */
export function stateInputName(index: number): string {
  return `state.${index}`;
}

export const NEXT_STATE_SUFFIX = '.next';

/** Collects a step graph's states as layers emit themselves. */
export class StreamStates {
  private readonly specs: StreamStateSpec[] = [];
  private readonly pending = new Set<string>();

  constructor(private readonly g: OnnxGraphBuilder) {}

  /** A new float32 state of static shape `dims` (batch 1). */
  add(dims: readonly number[]): CarriedState {
    const input = stateInputName(this.specs.length);
    const output = input + NEXT_STATE_SUFFIX;
    this.g.addInput(input, 'float32', [...dims]);
    this.g.addOutput(output, 'float32', [...dims]);
    this.specs.push({ input, output, dims: [...dims] });
    this.pending.add(input);
    return {
      previous: input,
      carry: (next: string) => {
        if (!this.pending.delete(input)) throw new Error(`state '${input}' was carried twice`);
        this.g.addNode('Identity', [next], [output]);
      },
    };
  }

  /** Every state declared so far; throws if one was never carried on. */
  finish(): readonly StreamStateSpec[] {
    if (this.pending.size > 0) throw new Error(`states never carried on: ${[...this.pending].join(', ')}`);
    return this.specs;
  }
}

/** Emits x[:, :, start:end] (negative bounds count from the end; `end` null = to the end). */
export function sliceTime(g: OnnxGraphBuilder, x: string, start: number, end: number | null): string {
  const output = g.uniqueName('slice');
  // INT64_MAX as "to the end", as ONNX's Slice documents.
  const endValue = end === null ? 9223372036854775807n : BigInt(end);
  g.addNode('Slice', [x, g.addConstant('start', 'int64', [BigInt(start)]), g.addConstant('end', 'int64', [endValue]), g.addConstant('axis', 'int64', [2])], [output]);
  return output;
}

/**
 * The streaming form of left context: prepends the last `length` time steps
 * of the previous step's input (zeros at first) to `x` [1, C, T] and carries
 * the last `length` steps of the result on. Returns `x` itself when `length` is 0.
 */
export function withLeftContext(g: OnnxGraphBuilder, states: StreamStates, x: string, channels: number, length: number): string {
  if (length === 0) return x;
  const state = states.add([1, channels, length]);
  const joined = g.uniqueName('concat');
  g.addNode('Concat', [state.previous, x], [joined], { axis: 2 });
  state.carry(sliceTime(g, joined, -length, null));
  return joined;
}

/**
 * The streaming form of a right overhang (transposed convolution, overlap-add):
 * `full` [1, C, T·stride + overhang] is this step's output before trimming; the
 * previous step's overhang (zeros at first) is added to its first `overhang`
 * samples, the first T·stride samples are returned and the last `overhang` carried on.
 */
export function withOverlapAdd(g: OnnxGraphBuilder, states: StreamStates, full: string, channels: number, overhang: number): string {
  if (overhang === 0) return full;
  const state = states.add([1, channels, overhang]);
  const head = g.uniqueName('add');
  g.addNode('Add', [sliceTime(g, full, 0, overhang), state.previous], [head]);
  const summed = g.uniqueName('concat');
  g.addNode('Concat', [head, sliceTime(g, full, overhang, null)], [summed], { axis: 2 });
  state.carry(sliceTime(g, summed, -overhang, null));
  return sliceTime(g, summed, 0, -overhang);
}
