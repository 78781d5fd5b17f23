/**
 * Named, seeded model parameters.
 *
 * A model owns one ParameterStore; each layer asks a ParameterScope for its
 * variables under a dotted name ("encoder.blocks.0.conv.weight"). The names are
 * what checkpoints and safetensors files hold, so they are stable across
 * processes, unlike tfjs's own variable names (which must be unique per process
 * and get a counter when a second model is built).
 *
 * Initial values come from one seeded generator in creation order, so building
 * the same model with the same seed gives bit-identical parameters everywhere.
 */
import * as tf from '@tensorflow/tfjs';

import { mulberry32 } from '../random.js';

export class ParameterStore {
  private readonly variables = new Map<string, tf.Variable>();
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = mulberry32(seed);
  }

  /** The root scope. */
  scope(prefix = ''): ParameterScope {
    return new ParameterScope(this, prefix);
  }

  /** Every parameter by its dotted name, in creation order. */
  named(): ReadonlyMap<string, tf.Variable> {
    return this.variables;
  }

  /** The trainable parameters by name: what an optimiser updates (running statistics are not). */
  trainableNamed(): ReadonlyMap<string, tf.Variable> {
    return new Map([...this.variables].filter(([, v]) => v.trainable));
  }

  /** The trainable parameters (all of them unless some were created frozen). */
  trainable(): tf.Variable[] {
    return [...this.variables.values()].filter((v) => v.trainable);
  }

  get parameterCount(): number {
    let count = 0;
    for (const v of this.variables.values()) count += v.size;
    return count;
  }

  /** Uniform in [−bound, bound], from the store's seeded generator. */
  uniform(size: number, bound: number): Float32Array {
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = (this.random() * 2 - 1) * bound;
    return values;
  }

  /** Registers a parameter under `name`; names are unique within a store. */
  add(name: string, initial: tf.Tensor, trainable = true): tf.Variable {
    if (this.variables.has(name)) throw new Error(`parameter ${name} is defined twice`);
    // tfjs variable names are process-global: let tfjs number them, keep ours in the map.
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.variables.set(name, variable);
    return variable;
  }

  /** Registers a variable made elsewhere (a quantizer's, say) under `name`. */
  adopt(name: string, variable: tf.Variable): void {
    if (this.variables.has(name)) throw new Error(`parameter ${name} is defined twice`);
    this.variables.set(name, variable);
  }

  /**
   * Replaces every parameter's value from `values` (by name), checking that the
   * set of names and every shape match exactly.
   */
  load(values: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, source: string): void {
    for (const name of values.keys()) {
      if (!this.variables.has(name)) throw new Error(`${source}: unexpected parameter ${name}`);
    }
    for (const [name, variable] of this.variables) {
      const found = values.get(name);
      if (found === undefined) throw new Error(`${source}: parameter ${name} is missing`);
      if (found.shape.length !== variable.shape.length || found.shape.some((d, i) => d !== variable.shape[i])) {
        throw new Error(`${source}: parameter ${name} has shape [${found.shape}], the model expects [${variable.shape}]`);
      }
    }
    tf.tidy(() => {
      for (const [name, variable] of this.variables) {
        const found = values.get(name)!;
        variable.assign(tf.tensor(found.data, variable.shape, 'float32'));
      }
    });
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

/** A view of a store under a name prefix; layers take one of these. */
export class ParameterScope {
  constructor(
    readonly store: ParameterStore,
    readonly prefix: string,
  ) {}

  child(name: string | number): ParameterScope {
    return new ParameterScope(this.store, this.qualified(String(name)));
  }

  qualified(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}.${name}`;
  }

  uniform(name: string, shape: number[], bound: number, trainable = true): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    return this.store.add(this.qualified(name), tf.tensor(this.store.uniform(size, bound), shape, 'float32'), trainable);
  }

  constant(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    return this.store.add(this.qualified(name), tf.fill(shape, value, 'float32'), trainable);
  }

  tensor(name: string, initial: tf.Tensor, trainable = true): tf.Variable {
    return this.store.add(this.qualified(name), initial, trainable);
  }
}
