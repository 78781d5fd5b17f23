/**
 * A small ONNX graph writer: collect inputs, initializers, nodes and outputs,
 * then serialise a ModelProto that onnxruntime can load.
 *
 * The builder checks what is cheap to check while the graph is assembled, so a
 * mistake fails at the line that made it rather than inside onnxruntime:
 * every tensor name is defined once (graph input, initializer or node output),
 * node inputs refer to names defined earlier (ONNX wants nodes in topological
 * order), INT attributes are integers, tensor data matches its dims and dtype,
 * and every graph output is produced by something. Operator semantics (does a
 * Conv accept these attributes?) are left to onnxruntime.
 */
import {
  ONNX_ATTRIBUTE_TYPE,
  ONNX_DATA_TYPE,
  encodeModelProto,
  type AttributeProtoJson,
  type NodeProtoJson,
  type TensorProtoJson,
  type ValueInfoProtoJson,
} from './schema.js';

export type OnnxDataType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool' | 'float64';
/** A dimension: a fixed size, or a string for a symbolic dimension (dim_param). */
export type Dim = number | string;
/**
 * An attribute value: a JS number is an INT (it must be an integer), a number
 * array is INTS, a string is STRING; FLOAT(S), STRINGS and TENSOR are tagged.
 */
export type AttributeValue =
  | number
  | number[]
  | string
  | { float: number }
  | { floats: number[] }
  | { strings: string[] }
  | { tensor: OnnxTensor };
/** Row-major tensor data. float16 is carried as raw bits in a Uint16Array; bool as 0/1 in a Uint8Array. */
export interface OnnxTensor {
  dataType: OnnxDataType;
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Float64Array | Uint16Array;
}
export interface NodeOptions {
  /** Node name; default `<opType>_<n>`. */
  name?: string;
  /** Operator domain; default '' (the standard ai.onnx domain). */
  domain?: string;
}
export interface ModelBytesOptions {
  /** Version of the default (ai.onnx) operator set; default 17. */
  opsetVersion?: number;
  /** Operator sets of other domains used by nodes, e.g. `{ 'com.microsoft': 1 }`. */
  opsetImports?: Record<string, number>;
  /** Default 'simvq-audio'. */
  producerName?: string;
  producerVersion?: string;
  /** Written to ModelProto.metadata_props. */
  metadata?: Record<string, string>;
  /** ONNX IR version; default 8. */
  irVersion?: number;
}

/** A graph that cannot be written as asked: a programming error in the caller. */
export class OnnxGraphError extends Error {
  override readonly name: string = 'OnnxGraphError';
}

type TypedArrayClass = { readonly name: string; readonly BYTES_PER_ELEMENT: number; new (length: number): OnnxTensor['data'] };
const ARRAY_CLASS: Record<OnnxDataType, TypedArrayClass> = {
  float32: Float32Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
  float64: Float64Array,
};
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

function fail(message: string): never {
  throw new OnnxGraphError(message);
}

function dataTypeCode(dataType: OnnxDataType, where: string): number {
  if (!Object.prototype.hasOwnProperty.call(ONNX_DATA_TYPE, dataType)) {
    fail(`${where}: unknown data type '${String(dataType)}' (expected one of ${Object.keys(ONNX_DATA_TYPE).join(', ')})`);
  }
  return ONNX_DATA_TYPE[dataType];
}

/** The tensor's elements as fixed-width little-endian bytes (a copy): raw_data, and external data files. */
export function littleEndianBytes(data: OnnxTensor['data']): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const width = data.BYTES_PER_ELEMENT;
  if (!HOST_LITTLE_ENDIAN && width > 1) {
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  }
  return bytes;
}

function toTensorProto(tensor: OnnxTensor, name: string | null, where: string): TensorProtoJson {
  const code = dataTypeCode(tensor.dataType, where);
  const arrayClass = ARRAY_CLASS[tensor.dataType];
  if (!(tensor.data instanceof arrayClass)) {
    fail(`${where}: data type '${tensor.dataType}' needs its data in a ${arrayClass.name}, got ${tensor.data?.constructor?.name ?? typeof tensor.data}`);
  }
  if (!Array.isArray(tensor.dims)) fail(`${where}: dims must be an array of sizes`);
  let count = 1;
  for (const d of tensor.dims) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`${where}: dims [${tensor.dims.join(', ')}] must be non-negative integers`);
    count *= d;
  }
  if (tensor.data.length !== count) {
    fail(`${where}: dims [${tensor.dims.join(', ')}] hold ${count} element(s) but the data has ${tensor.data.length}`);
  }
  if (tensor.dataType === 'bool' && (tensor.data as Uint8Array).some((v) => v > 1)) {
    fail(`${where}: bool data must be 0 or 1`);
  }
  const proto: TensorProtoJson = { dims: [...tensor.dims], data_type: code, raw_data: littleEndianBytes(tensor.data) };
  if (name !== null) proto.name = name;
  return proto;
}

function checkIntegers(values: unknown[], where: string): number[] {
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      fail(`${where}: ${String(v)} is not an integer (INT/INTS attributes take integers; use { float } / { floats } for FLOAT)`);
    }
  }
  return values as number[];
}

function toAttribute(name: string, value: AttributeValue, where: string): AttributeProtoJson {
  const at = `${where}, attribute '${name}'`;
  const T = ONNX_ATTRIBUTE_TYPE;
  if (typeof value === 'number') return { name, type: T.INT, i: checkIntegers([value], at)[0] };
  if (typeof value === 'string') return { name, type: T.STRING, s: utf8.encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: [...checkIntegers(value, at)] };
  if (typeof value === 'object' && value !== null) {
    if ('float' in value && typeof value.float === 'number') return { name, type: T.FLOAT, f: value.float };
    if ('floats' in value && Array.isArray(value.floats)) {
      if (value.floats.some((v) => typeof v !== 'number')) fail(`${at}: floats must all be numbers`);
      return { name, type: T.FLOATS, floats: [...value.floats] };
    }
    if ('strings' in value && Array.isArray(value.strings)) {
      if (value.strings.some((v) => typeof v !== 'string')) fail(`${at}: strings must all be strings`);
      return { name, type: T.STRINGS, strings: value.strings.map((v) => utf8.encode(v)) };
    }
    if ('tensor' in value && typeof value.tensor === 'object' && value.tensor !== null) {
      return { name, type: T.TENSOR, t: toTensorProto(value.tensor, null, at) };
    }
  }
  return fail(`${at}: unsupported value ${JSON.stringify(value)}`);
}

function toValueInfo(name: string, dataType: OnnxDataType, shape: Dim[] | null, where: string): ValueInfoProtoJson {
  const tensorType: NonNullable<NonNullable<ValueInfoProtoJson['type']>['tensor_type']> = {
    elem_type: dataTypeCode(dataType, where),
  };
  if (shape !== null) {
    if (!Array.isArray(shape)) fail(`${where}: shape must be an array of dims, or null for an unknown shape`);
    tensorType.shape = {
      dim: shape.map((d) => {
        if (typeof d === 'string' && d.length > 0) return { dim_param: d };
        if (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) return { dim_value: d };
        return fail(`${where}: dim ${JSON.stringify(d)} must be a non-negative integer or a non-empty symbolic name`);
      }),
    };
  }
  return { name, type: { tensor_type: tensorType } };
}

function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) fail(`${what} needs a non-empty name, got ${JSON.stringify(name)}`);
}

export class OnnxGraphBuilder {
  readonly name: string;
  private readonly inputs: ValueInfoProtoJson[] = [];
  private readonly outputs: ValueInfoProtoJson[] = [];
  private readonly valueInfos: ValueInfoProtoJson[] = [];
  private readonly initializers: TensorProtoJson[] = [];
  private readonly nodes: NodeProtoJson[] = [];
  /** Tensor name -> what defines it, for error messages. */
  private readonly defined = new Map<string, string>();
  /** Tensor names in use or handed out by uniqueName(). */
  private readonly reserved = new Set<string>();
  private readonly nodeNames = new Set<string>();

  constructor(name: string) {
    checkName(name, 'the graph');
    this.name = name;
  }

  /** True when `name` is already a graph input, initializer or node output. */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  /** A tensor name starting with `prefix` that nothing uses yet; it is reserved for the caller. */
  uniqueName(prefix: string): string {
    const base = prefix.length > 0 ? prefix : 't';
    let candidate = base;
    for (let n = 1; this.reserved.has(candidate); n++) candidate = `${base}_${n}`;
    this.reserved.add(candidate);
    return candidate;
  }

  addInput(name: string, dataType: OnnxDataType, shape: Dim[]): string {
    checkName(name, 'a graph input');
    const info = toValueInfo(name, dataType, shape, `graph input '${name}'`);
    this.define([name], 'a graph input');
    this.inputs.push(info);
    return name;
  }

  /** Declares a graph output; `shape` null leaves shape (and rank) unknown. It may be produced later. */
  addOutput(name: string, dataType: OnnxDataType, shape: Dim[] | null): string {
    checkName(name, 'a graph output');
    if (this.outputs.some((o) => o.name === name)) fail(`'${name}' is already a graph output`);
    this.outputs.push(toValueInfo(name, dataType, shape, `graph output '${name}'`));
    this.reserved.add(name);
    return name;
  }

  /** Optional type/shape annotation for an intermediate value (GraphProto.value_info). */
  addValueInfo(name: string, dataType: OnnxDataType, shape: Dim[] | null): void {
    checkName(name, 'a value_info entry');
    if (this.valueInfos.some((v) => v.name === name)) fail(`'${name}' already has a value_info entry`);
    this.valueInfos.push(toValueInfo(name, dataType, shape, `value_info '${name}'`));
  }

  addInitializer(name: string, tensor: OnnxTensor): string {
    checkName(name, 'an initializer');
    const proto = toTensorProto(tensor, name, `initializer '${name}'`);
    this.define([name], 'an initializer');
    this.initializers.push(proto);
    return name;
  }

  /**
   * An initializer whose data lives in a file beside the model (ONNX external
   * data): `location` is the file's name relative to the model file, and the
   * tensor's little-endian bytes start at `offset`. Several graphs can share
   * one file, e.g. a 32 MiB codebook. Such a model loads from its path only.
   */
  addExternalInitializer(name: string, tensor: { dataType: OnnxDataType; dims: number[]; location: string; offset: number }): string {
    checkName(name, 'an initializer');
    const where = `initializer '${name}'`;
    const code = dataTypeCode(tensor.dataType, where);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(tensor.location)) fail(`${where}: external data location must be a plain file name, got ${JSON.stringify(tensor.location)}`);
    if (!Number.isSafeInteger(tensor.offset) || tensor.offset < 0) fail(`${where}: external data offset must be a non-negative integer, got ${tensor.offset}`);
    let count = 1;
    for (const d of tensor.dims) {
      if (!Number.isSafeInteger(d) || d < 0) fail(`${where}: dims [${tensor.dims.join(', ')}] must be non-negative integers`);
      count *= d;
    }
    const length = count * ARRAY_CLASS[tensor.dataType].BYTES_PER_ELEMENT;
    this.define([name], 'an initializer');
    this.initializers.push({
      name,
      dims: [...tensor.dims],
      data_type: code,
      data_location: 1,
      external_data: [
        { key: 'location', value: tensor.location },
        { key: 'offset', value: String(tensor.offset) },
        { key: 'length', value: String(length) },
      ],
    });
    return name;
  }

  /**
   * Adds a constant as an initializer under a fresh name built from `prefix`
   * and returns that name, e.g. Reshape shapes or Slice starts:
   * `b.addConstant('shape', 'int64', [0, -1])`. `dims` defaults to a vector.
   */
  addConstant(prefix: string, dataType: 'int64' | 'int32' | 'float32' | 'float64',
    values: readonly number[] | readonly bigint[], dims?: number[]): string {
    const list: (number | bigint)[] = [...values];
    const where = `constant '${prefix}'`;
    let data: OnnxTensor['data'];
    if (dataType === 'int64') {
      data = BigInt64Array.from(list, (v) => (typeof v === 'bigint' ? v : BigInt(checkIntegers([v], where)[0])));
    } else {
      const nums = list.map(Number);
      if (dataType === 'int32') {
        if (checkIntegers(nums, where).some((v) => v !== (v | 0))) fail(`${where}: values out of int32 range`);
        data = Int32Array.from(nums);
      } else {
        data = dataType === 'float32' ? Float32Array.from(nums) : Float64Array.from(nums);
      }
    }
    return this.addInitializer(this.uniqueName(prefix), { dataType, dims: dims ?? [list.length], data });
  }

  /**
   * Appends a node. Inputs must already be defined ('' marks an omitted
   * optional input); outputs must be new names ('' marks an omitted optional output).
   */
  addNode(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {},
    options: NodeOptions = {}): void {
    checkName(opType, 'a node');
    const domain = options.domain === undefined || options.domain === 'ai.onnx' ? '' : options.domain;
    let nodeName = options.name;
    if (nodeName !== undefined) {
      checkName(nodeName, `a ${opType} node`);
      if (this.nodeNames.has(nodeName)) fail(`a node named '${nodeName}' already exists`);
    } else {
      let n = this.nodes.length;
      do nodeName = `${opType}_${n++}`; while (this.nodeNames.has(nodeName));
    }
    const where = `node '${nodeName}' (${opType})`;
    for (const input of inputs) {
      if (typeof input !== 'string') fail(`${where}: input names must be strings, got ${JSON.stringify(input)}`);
      if (input !== '' && !this.defined.has(input)) {
        fail(`${where}: input '${input}' is not defined yet (not a graph input, initializer or output of an earlier node)`);
      }
    }
    for (const output of outputs) {
      if (typeof output !== 'string') fail(`${where}: output names must be strings, got ${JSON.stringify(output)}`);
    }
    if (!outputs.some((o) => o !== '')) fail(`${where}: needs at least one named output`);
    const attribute = Object.entries(attributes).map(([key, value]) => toAttribute(key, value, where));
    this.define(outputs.filter((o) => o !== ''), `an output of ${where}`);
    this.nodeNames.add(nodeName);
    const node: NodeProtoJson = { input: [...inputs], output: [...outputs], name: nodeName, op_type: opType, attribute };
    if (domain !== '') node.domain = domain;
    this.nodes.push(node);
  }

  /** Serialises the graph as an ONNX ModelProto. The builder stays usable afterwards. */
  toModelBytes(options: ModelBytesOptions = {}): Uint8Array {
    const opsetVersion = options.opsetVersion ?? 17;
    const irVersion = options.irVersion ?? 8;
    if (!Number.isSafeInteger(opsetVersion) || opsetVersion < 1) fail(`opsetVersion must be a positive integer, got ${opsetVersion}`);
    if (!Number.isSafeInteger(irVersion) || irVersion < 3) fail(`irVersion must be an integer >= 3, got ${irVersion}`);
    if (this.outputs.length === 0) fail(`graph '${this.name}' has no outputs`);
    for (const output of this.outputs) {
      if (!this.defined.has(output.name as string)) {
        fail(`graph output '${output.name}' is not produced by any graph input, initializer or node`);
      }
    }
    const opsetImport = [{ domain: '', version: opsetVersion }];
    for (const [domain, version] of Object.entries(options.opsetImports ?? {})) {
      if (!Number.isSafeInteger(version) || version < 1) fail(`opset version for domain '${domain}' must be a positive integer`);
      if (domain === '' || domain === 'ai.onnx') fail(`set the default domain's version with opsetVersion, not opsetImports`);
      opsetImport.push({ domain, version });
    }
    for (const node of this.nodes) {
      if (node.domain !== undefined && !opsetImport.some((o) => o.domain === node.domain)) {
        fail(`node '${node.name}' uses domain '${node.domain}', which has no entry in opsetImports`);
      }
    }
    const metadata = Object.entries(options.metadata ?? {});
    for (const [key, value] of metadata) {
      if (typeof value !== 'string') fail(`metadata '${key}' must be a string, got ${typeof value}`);
    }
    return encodeModelProto({
      ir_version: irVersion,
      opset_import: opsetImport,
      producer_name: options.producerName ?? 'simvq-audio',
      ...(options.producerVersion !== undefined ? { producer_version: options.producerVersion } : {}),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
        value_info: this.valueInfos,
      },
      metadata_props: metadata.map(([key, value]) => ({ key, value })),
    });
  }

  /** Records `names` as defined by `by`, after checking that none is taken. */
  private define(names: string[], by: string): void {
    const seen = new Set<string>();
    for (const name of names) {
      const previous = this.defined.get(name) ?? (seen.has(name) ? by : undefined);
      if (previous !== undefined) fail(`tensor name '${name}' is already defined as ${previous}; it cannot also be ${by}`);
      seen.add(name);
    }
    for (const name of names) {
      this.defined.set(name, by);
      this.reserved.add(name);
    }
  }
}
