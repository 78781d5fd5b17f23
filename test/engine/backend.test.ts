import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { EngineError } from '../../src/errors.js';
import { BACKEND_LADDER, initEngine } from '../../src/engine/index.js';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import { loadOnnxRuntime, ortFloatTensor, PINNED_ONNXRUNTIME_VERSION, SyncSession } from '../../src/engine/ort/runtime.js';

describe('engine: the backend ladder', function () {
  this.timeout(60_000);
  const savedEnv = process.env['SIMVQ_BACKEND'];
  afterEach(() => {
    if (savedEnv === undefined) delete process.env['SIMVQ_BACKEND'];
    else process.env['SIMVQ_BACKEND'] = savedEnv;
  });

  it('auto picks wasm+onnxruntime here and says why each rung above it was passed over', async () => {
    delete process.env['SIMVQ_BACKEND'];
    const report = await initEngine();
    expect(report.rungs.map((r) => r.name)).to.deep.equal([...BACKEND_LADDER]);
    expect(report.backend).to.equal('wasm+onnxruntime');
    expect(report.tfjsBackend).to.equal('wasm');
    expect(tf.getBackend()).to.equal('wasm');
    const gpu = report.rungs.find((r) => r.name === 'tfjs-node-gpu')!;
    expect(gpu.available).to.equal(false);
    expect(gpu.reason).to.match(/not installed/);
    for (const rung of report.rungs) expect(rung.reason, rung.name).to.be.a('string').and.not.be.empty;
    expect(report.rungs.filter((r) => r.chosen)).to.have.length(1);
    expect(report.threads.onnxruntimeIntraOp).to.be.at.least(1);
    expect(report.versions['onnxruntime-node']).to.equal(PINNED_ONNXRUNTIME_VERSION);
  });

  it('honours SIMVQ_BACKEND, and an explicit option over it', async () => {
    process.env['SIMVQ_BACKEND'] = 'cpu';
    expect((await initEngine()).backend).to.equal('cpu');
    expect(tf.getBackend()).to.equal('cpu');
    expect((await initEngine({ backend: 'wasm' })).backend).to.equal('wasm');
  });

  it('refuses an unknown backend with a one-line EngineError naming where it came from', async () => {
    process.env['SIMVQ_BACKEND'] = 'tpu';
    const error = await initEngine().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(EngineError);
    expect((error as Error).message).to.match(/^SIMVQ_BACKEND: unknown backend 'tpu'/);
    expect((error as Error).message).to.not.include('\n');
  });

  it('refuses a rung that is not installed, saying so', async () => {
    const error = await initEngine({ backend: 'tfjs-node-gpu' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(EngineError);
    expect((error as Error).message).to.match(/^--backend: backend tfjs-node-gpu is not available: not installed/);
  });
});

describe("engine: onnxruntime-node's synchronous binding (not public API, so pinned and guarded)", () => {
  it(`loads at exactly ${PINNED_ONNXRUNTIME_VERSION} and runs a graph synchronously into a preallocated output`, () => {
    expect(loadOnnxRuntime()).to.deep.equal({ ok: true });
    const g = new OnnxGraphBuilder('add');
    g.addInput('a', 'float32', ['N']);
    g.addInput('b', 'float32', ['N']);
    g.addOutput('c', 'float32', ['N']);
    g.addNode('Add', ['a', 'b'], ['c']);
    const session = new SyncSession(g.toModelBytes());
    const out = new Float32Array(3);
    const result = session.run(
      { a: ortFloatTensor(new Float32Array([1, 2, 3]), [3]), b: ortFloatTensor(new Float32Array([10, 20, 30]), [3]) },
      { c: ortFloatTensor(out, [3]) },
    );
    expect(result).to.not.be.instanceOf(Promise);
    expect(Array.from(out)).to.deep.equal([11, 22, 33]);
    session.dispose();
  });
});
