import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { initEngine } from '../../src/engine/index.js';
import { Conv1dLayer } from '../../src/nn/layers.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { AdamW } from '../../src/train/optimizer.js';

function build(seed: number) {
  const parameters = new ParameterStore(seed);
  const layer = new Conv1dLayer(parameters.scope('conv'), { inChannels: 2, outChannels: 3, kernelSize: 3, causal: true });
  const optimizer = new AdamW(parameters.named(), { learningRate: 0.01 });
  return { parameters, layer, optimizer };
}

function values(store: ParameterStore): number[] {
  return [...store.named().values()].flatMap((v) => Array.from(v.dataSync()));
}

describe('training checkpoints', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    await initEngine({ backend: 'wasm+onnxruntime' });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simvq-ckpt-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('restores parameters and optimiser state bit for bit, so training continues identically', async () => {
    const x = tf.randomNormal([2, 2, 16], 0, 1, 'float32', 3) as tf.Tensor3D;
    const a = build(1);
    const lossOf = (m: typeof a) => () => m.layer.apply(x).square().mean() as tf.Scalar;
    for (let i = 0; i < 3; i++) a.optimizer.minimize(lossOf(a));
    await saveCheckpoint(dir, { generator: { parameters: a.parameters, optimizer: a.optimizer } }, { step: 3, note: 'x' });
    for (let i = 0; i < 2; i++) a.optimizer.minimize(lossOf(a));

    const b = build(99); // other initial values: all must come from the checkpoint
    const found = await latestCheckpoint(dir);
    expect(found).to.equal(join(dir, 'checkpoints', 'step-00000003'));
    const state = await loadCheckpoint(found!, { generator: { parameters: b.parameters, optimizer: b.optimizer } });
    expect(state).to.deep.equal({ step: 3, note: 'x' });
    expect(b.optimizer.step).to.equal(3);
    for (let i = 0; i < 2; i++) b.optimizer.minimize(lossOf(b));
    expect(values(b.parameters)).to.deep.equal(values(a.parameters));
  });

  it('keeps the newest checkpoints and points latest at the last complete one', async () => {
    const a = build(1);
    const groups = { generator: { parameters: a.parameters, optimizer: a.optimizer } };
    for (const step of [10, 20, 30]) await saveCheckpoint(dir, groups, { step }, 2);
    expect((await readdir(join(dir, 'checkpoints'))).sort()).to.deep.equal(['latest', 'step-00000020', 'step-00000030']);
    expect((await readFile(join(dir, 'checkpoints', 'latest'), 'utf8')).trim()).to.equal('step-00000030');
    expect(await latestCheckpoint(join(dir, 'nothing-here'))).to.equal(null);
  });

  it('names the file when a checkpoint does not fit the model', async () => {
    const a = build(1);
    await saveCheckpoint(dir, { generator: { parameters: a.parameters, optimizer: a.optimizer } }, { step: 1 });
    const other = new ParameterStore(1);
    new Conv1dLayer(other.scope('conv'), { inChannels: 2, outChannels: 4, kernelSize: 3, causal: true });
    const checkpoint = (await latestCheckpoint(dir))!;
    let message = '';
    await loadCheckpoint(checkpoint, { generator: { parameters: other, optimizer: new AdamW(other.named(), { learningRate: 1 }) } }).catch((e: Error) => (message = e.message));
    expect(message).to.match(/generator\.safetensors: parameter conv\.weight_v has shape \[3,2,3\], the model expects \[4,2,3\]/);
    await writeFile(join(checkpoint, 'state.json'), '{');
    message = '';
    await loadCheckpoint(checkpoint, { generator: { parameters: a.parameters, optimizer: a.optimizer } }).catch((e: Error) => (message = e.message));
    expect(message).to.match(/state\.json: not valid JSON/);
  });
});
