import { expect } from 'chai';
import * as ort from 'onnxruntime-node';

import { decodeModelProto, OnnxGraphBuilder, OnnxGraphError } from '../../src/onnx/index.js';
import { mulberry32, randomArray } from '../helpers/random.js';

async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

function f32(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tol) {
      expect.fail(`element ${i}: ${actual[i]} vs expected ${expected[i]}`);
    }
  }
}

interface Conv1dSpec { stride: number; dilation: number; padBegin: number; padEnd: number; group: number }

/** Reference 1-D convolution. x [N, Ci, L], w [Co, Ci/group, K], b [Co] -> [N, Co, Lo]. */
function refConv1d(x: Float32Array, xd: number[], w: Float32Array, wd: number[], b: Float32Array, s: Conv1dSpec) {
  const [n, ci, l] = xd;
  const [co, cig, k] = wd;
  const cog = co / s.group;
  const lo = Math.floor((l + s.padBegin + s.padEnd - (s.dilation * (k - 1) + 1)) / s.stride) + 1;
  const y = new Float32Array(n * co * lo);
  for (let bi = 0; bi < n; bi++) {
    for (let oc = 0; oc < co; oc++) {
      const g = Math.floor(oc / cog);
      for (let t = 0; t < lo; t++) {
        let acc = b[oc];
        for (let icg = 0; icg < cig; icg++) {
          const ic = g * cig + icg;
          for (let j = 0; j < k; j++) {
            const pos = t * s.stride + j * s.dilation - s.padBegin;
            if (pos >= 0 && pos < l) acc += x[(bi * ci + ic) * l + pos] * w[(oc * cig + icg) * k + j];
          }
        }
        y[(bi * co + oc) * lo + t] = acc;
      }
    }
  }
  return { y, dims: [n, co, lo] };
}

/** Reference 1-D transposed convolution (group 1). x [N, Ci, L], w [Ci, Co, K] -> [N, Co, Lo]. */
function refConvTranspose1d(x: Float32Array, xd: number[], w: Float32Array, wd: number[],
  s: { stride: number; dilation: number; padBegin: number; padEnd: number; outputPadding: number }) {
  const [n, ci, l] = xd;
  const [, co, k] = wd;
  const lo = s.stride * (l - 1) + s.outputPadding + (k - 1) * s.dilation + 1 - s.padBegin - s.padEnd;
  const y = new Float32Array(n * co * lo);
  for (let bi = 0; bi < n; bi++) {
    for (let ic = 0; ic < ci; ic++) {
      for (let i = 0; i < l; i++) {
        for (let oc = 0; oc < co; oc++) {
          for (let j = 0; j < k; j++) {
            const t = i * s.stride + j * s.dilation - s.padBegin;
            if (t >= 0 && t < lo) y[(bi * co + oc) * lo + t] += x[(bi * ci + ic) * l + i] * w[(ic * co + oc) * k + j];
          }
        }
      }
    }
  }
  return { y, dims: [n, co, lo] };
}

function expectGraphError(fn: () => unknown, pattern: RegExp): void {
  expect(fn).to.throw(OnnxGraphError, pattern);
}

describe('onnx: OnnxGraphBuilder', function () {
  this.timeout(30_000);

  it('writes an Add of two symbolic-shape inputs that onnxruntime runs at several shapes', async () => {
    const g = new OnnxGraphBuilder('add');
    g.addInput('a', 'float32', ['B', 'T']);
    g.addInput('b', 'float32', ['B', 'T']);
    g.addOutput('c', 'float32', ['B', 'T']);
    g.addNode('Add', ['a', 'b'], ['c']);
    const bytes = g.toModelBytes();

    const session = await ort.InferenceSession.create(bytes);
    try {
      expect(session.inputMetadata).to.deep.equal([
        { name: 'a', isTensor: true, type: 'float32', shape: ['B', 'T'] },
        { name: 'b', isTensor: true, type: 'float32', shape: ['B', 'T'] },
      ]);
      for (const [bs, t] of [[1, 5], [3, 2]]) {
        const a = Float32Array.from({ length: bs * t }, (_, i) => i);
        const b = Float32Array.from({ length: bs * t }, (_, i) => 10 * i + 0.5);
        const out = (await session.run({ a: f32(a, [bs, t]), b: f32(b, [bs, t]) }))['c'] as ort.Tensor;
        expect(out.dims).to.deep.equal([bs, t]);
        expectClose(out.data as Float32Array, a.map((v, i) => v + b[i]));
      }
    } finally {
      await session.release();
    }
  });

  it('writes a grouped, strided, dilated, padded Conv with initializer weights that matches a JS reference', async () => {
    const rand = mulberry32(17);
    const spec: Conv1dSpec = { stride: 2, dilation: 2, padBegin: 3, padEnd: 1, group: 2 };
    const xd = [2, 4, 13];
    const wd = [6, 2, 3];
    const x = randomArray(rand, 2 * 4 * 13);
    const w = randomArray(rand, 6 * 2 * 3);
    const b = randomArray(rand, 6);

    const g = new OnnxGraphBuilder('conv');
    g.addInput('x', 'float32', ['N', 4, 'L']);
    g.addInitializer('w', { dataType: 'float32', dims: wd, data: w });
    g.addInitializer('b', { dataType: 'float32', dims: [6], data: b });
    g.addOutput('y', 'float32', ['N', 6, 'Lo']);
    g.addNode('Conv', ['x', 'w', 'b'], ['y'], {
      kernel_shape: [3],
      strides: [spec.stride],
      dilations: [spec.dilation],
      pads: [spec.padBegin, spec.padEnd],
      group: spec.group,
    });
    const out = (await runModel(g.toModelBytes(), { x: f32(x, xd) }))['y'];
    const ref = refConv1d(x, xd, w, wd, b, spec);
    expect(out.dims).to.deep.equal(ref.dims);
    expectClose(out.data as Float32Array, ref.y);
  });

  it('writes a ConvTranspose with output_padding that matches a JS reference', async () => {
    const rand = mulberry32(5);
    const spec = { stride: 3, dilation: 1, padBegin: 1, padEnd: 2, outputPadding: 2 };
    const xd = [1, 3, 7];
    const wd = [3, 2, 4];
    const x = randomArray(rand, 3 * 7);
    const w = randomArray(rand, 3 * 2 * 4);

    const g = new OnnxGraphBuilder('deconv');
    g.addInput('x', 'float32', [1, 3, 'L']);
    g.addInitializer('w', { dataType: 'float32', dims: wd, data: w });
    g.addOutput('y', 'float32', null);
    g.addNode('ConvTranspose', ['x', 'w'], ['y'], {
      strides: [spec.stride],
      pads: [spec.padBegin, spec.padEnd],
      output_padding: [spec.outputPadding],
    });
    const out = (await runModel(g.toModelBytes(), { x: f32(x, xd) }))['y'];
    const ref = refConvTranspose1d(x, xd, w, wd, spec);
    expect(ref.dims).to.deep.equal([1, 2, 3 * 6 + 2 + 4 - 3]);
    expect(out.dims).to.deep.equal(ref.dims);
    expectClose(out.data as Float32Array, ref.y);
  });

  it('writes Reshape / Transpose / Slice driven by int64 initializers', async () => {
    const g = new OnnxGraphBuilder('shapes');
    g.addInput('x', 'float32', [2, 12]);
    const shape = g.addConstant('shape', 'int64', [2, 3, 4]);
    g.addNode('Reshape', ['x', shape], ['r']); // [2, 3, 4]
    g.addNode('Transpose', ['r'], ['t'], { perm: [2, 0, 1] }); // [4, 2, 3]
    g.addInitializer('starts', { dataType: 'int64', dims: [2], data: new BigInt64Array([1n, -1n]) });
    const ends = g.addConstant('ends', 'int64', [3n, -4n]);
    const axes = g.addConstant('axes', 'int64', [0, 2]);
    const steps = g.addConstant('steps', 'int64', [1, -1]);
    g.addNode('Slice', ['t', 'starts', ends, axes, steps], ['y']); // [2, 2, 3], axis 2 reversed
    g.addOutput('y', 'float32', [2, 2, 3]);

    const x = Float32Array.from({ length: 24 }, (_, i) => i);
    const out = (await runModel(g.toModelBytes(), { x: f32(x, [2, 12]) }))['y'];
    const expected: number[] = [];
    for (let a = 1; a < 3; a++) {
      for (let b = 0; b < 2; b++) {
        for (let c = 2; c >= 0; c--) expected.push(x[b * 12 + c * 4 + a]); // t[a,b,c] = r[b,c,a]
      }
    }
    expect(out.dims).to.deep.equal([2, 2, 3]);
    expect(Array.from(out.data as Float32Array)).to.deep.equal(expected);
  });

  it('writes FLOAT, STRING and TENSOR attributes, plus float16 and bool tensors', async () => {
    const g = new OnnxGraphBuilder('attrs');
    g.addInput('x', 'float32', ['T']);
    g.addNode('Constant', [], ['offset'], {
      value: { tensor: { dataType: 'float32', dims: [], data: Float32Array.of(-2) } },
    });
    g.addNode('Add', ['x', 'offset'], ['shifted']);
    g.addNode('LeakyRelu', ['shifted'], ['leaky'], { alpha: { float: 0.25 } });
    g.addNode('Pad', ['leaky', g.addConstant('pads', 'int64', [2, 1])], ['padded'], { mode: 'reflect' });
    g.addNode('Cast', ['padded'], ['half'], { to: 10 /* FLOAT16 */ });
    g.addOutput('half', 'float16', ['Tp']);
    g.addInitializer('mask', { dataType: 'bool', dims: [2], data: Uint8Array.of(1, 0) });
    g.addInitializer('one_half', { dataType: 'float16', dims: [1], data: Uint16Array.of(0x3c00) });
    g.addNode('Identity', ['mask'], ['mask_out']);
    g.addNode('Identity', ['one_half'], ['one_half_out']);
    g.addOutput('mask_out', 'bool', [2]);
    g.addOutput('one_half_out', 'float16', [1]);

    const out = await runModel(g.toModelBytes(), { x: f32(Float32Array.of(0, 1, 2, 3, 6), [5]) });
    // x - 2 = [-2, -1, 0, 1, 4]; leaky = [-0.5, -0.25, 0, 1, 4]; reflect pad 2 left, 1 right.
    // float16 bits: 0 -> 0x0000, -0.25 -> 0xb400, -0.5 -> 0xb800, 1 -> 0x3c00, 4 -> 0x4400.
    expect(out['half'].type).to.equal('float16');
    expect(Array.from(out['half'].data as Uint16Array)).to.deep.equal(
      [0x0000, 0xb400, 0xb800, 0xb400, 0x0000, 0x3c00, 0x4400, 0x3c00]);
    expect(out['mask_out'].type).to.equal('bool');
    expect(Array.from(out['mask_out'].data as ArrayLike<unknown>, Number)).to.deep.equal([1, 0]);
    expect(Array.from(out['one_half_out'].data as Uint16Array)).to.deep.equal([0x3c00]);
  });

  it('round-trips model fields and metadata_props through its own schema decode', () => {
    const g = new OnnxGraphBuilder('meta');
    g.addInput('x', 'float32', ['B', 3]);
    g.addInitializer('w', { dataType: 'float32', dims: [2], data: Float32Array.of(1, -2.5) });
    g.addNode('Identity', ['x'], ['y'], { some_ints: [1, -2, 3], label: 'héllo' }, { name: 'copy' });
    g.addNode('Relu', ['w'], ['w_out'], {}, { domain: 'com.example' });
    g.addOutput('y', 'float32', ['B', 3]);
    g.addOutput('w_out', 'float32', null);
    const bytes = g.toModelBytes({
      opsetVersion: 18,
      opsetImports: { 'com.example': 2 },
      producerName: 'simvq-audio-test',
      producerVersion: '0.1.0',
      irVersion: 9,
      metadata: { codebook_size: '1024', note: 'ünïcode ✓' },
    });
    const model = decodeModelProto(bytes);
    expect(model.ir_version).to.equal(9);
    expect(model.producer_name).to.equal('simvq-audio-test');
    expect(model.producer_version).to.equal('0.1.0');
    expect(model.opset_import).to.deep.equal([{ domain: '', version: 18 }, { domain: 'com.example', version: 2 }]);
    expect(model.metadata_props).to.deep.equal([
      { key: 'codebook_size', value: '1024' },
      { key: 'note', value: 'ünïcode ✓' },
    ]);
    const graph = model.graph!;
    expect(graph.name).to.equal('meta');
    expect(graph.input![0].type!.tensor_type!.shape!.dim).to.deep.equal([{ dim_param: 'B' }, { dim_value: 3 }]);
    expect(graph.output![1].type!.tensor_type).to.deep.equal({ elem_type: 1 });
    const init = graph.initializer![0];
    expect(init).to.include({ name: 'w', data_type: 1 });
    expect(init.dims).to.deep.equal([2]);
    expect(Array.from(init.raw_data!)).to.deep.equal([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0]); // little-endian
    const [copy, relu] = graph.node!;
    expect(copy).to.include({ name: 'copy', op_type: 'Identity' });
    expect(copy.attribute![0]).to.deep.include({ name: 'some_ints', type: 7, ints: [1, -2, 3] });
    expect(new TextDecoder().decode(copy.attribute![1].s)).to.equal('héllo');
    expect(relu).to.include({ name: 'Relu_1', domain: 'com.example' });
  });

  it('hands out unique names', () => {
    const g = new OnnxGraphBuilder('names');
    g.addInput('x', 'float32', [1]);
    expect(g.uniqueName('x')).to.equal('x_1');
    expect(g.uniqueName('x')).to.equal('x_2');
    expect(g.uniqueName('tmp')).to.equal('tmp');
    expect(g.uniqueName('tmp')).to.equal('tmp_1');
    expect(g.addConstant('x', 'int64', [1])).to.equal('x_3');
    expect(g.has('x_3')).to.equal(true);
    expect(g.has('tmp')).to.equal(false);
  });

  describe('errors', () => {
    function base(): OnnxGraphBuilder {
      const g = new OnnxGraphBuilder('bad');
      g.addInput('x', 'float32', ['N']);
      return g;
    }

    it('rejects a tensor name defined twice', () => {
      const g = base();
      expectGraphError(() => g.addInput('x', 'float32', [1]), /'x' is already defined as a graph input/);
      expectGraphError(() => g.addNode('Relu', ['x'], ['x']), /'x' is already defined as a graph input; it cannot also be an output of node 'Relu_0'/);
      g.addNode('Relu', ['x'], ['y']);
      expectGraphError(() => g.addNode('Neg', ['x'], ['y']), /'y' is already defined as an output of node 'Relu_0'/);
      expectGraphError(() => g.addNode('Split', ['x'], ['p', 'p']), /'p' is already defined/);
      expectGraphError(() => g.addInitializer('y', { dataType: 'int64', dims: [], data: BigInt64Array.of(1n) }), /'y' is already defined/);
      g.addOutput('y', 'float32', ['N']);
      expectGraphError(() => g.addOutput('y', 'float32', ['N']), /'y' is already a graph output/);
      expectGraphError(() => g.addNode('Relu', ['y'], ['z'], {}, { name: 'Relu_0' }), /a node named 'Relu_0' already exists/);
    });

    it('leaves the graph unchanged when addNode fails', () => {
      const g = base();
      expectGraphError(() => g.addNode('LeakyRelu', ['x'], ['y'], { alpha: 0.5 }), /attribute 'alpha': 0.5 is not an integer.*\{ float \}/);
      expect(g.has('y')).to.equal(false);
      g.addNode('LeakyRelu', ['x'], ['y'], { alpha: { float: 0.5 } });
      expect(g.has('y')).to.equal(true);
    });

    it('rejects non-integer INT / INTS attributes and unsupported values', () => {
      const g = base();
      expectGraphError(() => g.addNode('Conv', ['x'], ['y'], { strides: [1, 1.5] }), /node 'Conv_0' \(Conv\), attribute 'strides': 1.5 is not an integer/);
      expectGraphError(() => g.addNode('Cast', ['x'], ['y'], { to: Number.NaN }), /attribute 'to': NaN is not an integer/);
      expectGraphError(() => g.addNode('Foo', ['x'], ['y'], { bad: { nope: 1 } as never }), /attribute 'bad': unsupported value/);
    });

    it('rejects tensor data that does not match its dims or data type', () => {
      const g = base();
      expectGraphError(() => g.addInitializer('w', { dataType: 'float32', dims: [2, 3], data: new Float32Array(5) }),
        /initializer 'w': dims \[2, 3\] hold 6 element\(s\) but the data has 5/);
      expectGraphError(() => g.addInitializer('w', { dataType: 'int64', dims: [2], data: new Int32Array(2) }),
        /data type 'int64' needs its data in a BigInt64Array, got Int32Array/);
      expectGraphError(() => g.addInitializer('w', { dataType: 'float32', dims: [-1], data: new Float32Array(1) }), /non-negative integers/);
      expectGraphError(() => g.addInitializer('w', { dataType: 'bool', dims: [1], data: Uint8Array.of(2) }), /bool data must be 0 or 1/);
      expectGraphError(() => g.addInitializer('w', { dataType: 'complex64' as never, dims: [1], data: new Float32Array(1) }), /unknown data type 'complex64'/);
      expectGraphError(() => g.addNode('Constant', [], ['c'], { value: { tensor: { dataType: 'float32', dims: [3], data: new Float32Array(2) } } }),
        /node 'Constant_0' \(Constant\), attribute 'value': dims \[3\] hold 3/);
      expectGraphError(() => g.addConstant('k', 'int64', [1.5]), /1.5 is not an integer/);
      expect(g.has('w')).to.equal(false);
    });

    it('rejects bad names, shapes and references', () => {
      const g = base();
      expectGraphError(() => new OnnxGraphBuilder(''), /needs a non-empty name/);
      expectGraphError(() => g.addInput('', 'float32', [1]), /needs a non-empty name/);
      expectGraphError(() => g.addInput('a', 'float32', [2.5]), /dim 2.5 must be a non-negative integer or a non-empty symbolic name/);
      expectGraphError(() => g.addInput('a', 'float32', ['']), /dim "" must be/);
      expectGraphError(() => g.addNode('Relu', ['nope'], ['y']), /input 'nope' is not defined yet/);
      expectGraphError(() => g.addNode('Relu', ['x'], []), /needs at least one named output/);
    });

    it('rejects an incomplete model at toModelBytes', () => {
      const g = base();
      expectGraphError(() => g.toModelBytes(), /graph 'bad' has no outputs/);
      g.addOutput('y', 'float32', ['N']);
      expectGraphError(() => g.toModelBytes(), /graph output 'y' is not produced/);
      g.addNode('Relu', ['x'], ['y'], {}, { domain: 'com.example' });
      expectGraphError(() => g.toModelBytes(), /uses domain 'com.example', which has no entry in opsetImports/);
      expectGraphError(() => g.toModelBytes({ opsetVersion: 0, opsetImports: { 'com.example': 1 } }), /opsetVersion must be a positive integer/);
      expectGraphError(() => g.toModelBytes({ opsetImports: { '': 18 } }), /with opsetVersion, not opsetImports/);
      expect(g.toModelBytes({ opsetImports: { 'com.example': 1 } })).to.be.instanceOf(Uint8Array);
    });
  });
});
