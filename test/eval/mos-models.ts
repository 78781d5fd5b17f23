/** Small ONNX models with the published UTMOS and DNSMOS signatures, whose outputs a test can compute. */
import { DNSMOS_WINDOW } from '../../src/eval/index.js';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';

/** UTMOS's signature (`wave` [batch, time] → `mos` [batch]); mos = 1 + 4 · mean |wave|. */
export function utmosLikeModel(inputName = 'wave', outputName = 'mos'): Uint8Array {
  const g = new OnnxGraphBuilder('utmos_test');
  g.addInput(inputName, 'float32', ['batch', 'time']);
  g.addNode('Abs', [inputName], ['magnitude']);
  g.addNode('ReduceMean', ['magnitude'], ['level'], { axes: [1], keepdims: 0 });
  g.addNode('Mul', ['level', g.addConstant('four', 'float32', [4], [])], ['scaled']);
  g.addNode('Add', ['scaled', g.addConstant('one', 'float32', [1], [])], [outputName]);
  g.addOutput(outputName, 'float32', ['batch']);
  return g.toModelBytes({ opsetVersion: 17 });
}

/** DNSMOS's signature (`input_1` [1, 144160] → [1, 3]): raw SIG = mean of the window, BAK 3.5, OVRL 4. */
export function dnsmosLikeModel(): Uint8Array {
  const g = new OnnxGraphBuilder('dnsmos_test');
  g.addInput('input_1', 'float32', [1, DNSMOS_WINDOW]);
  g.addNode('ReduceMean', ['input_1'], ['mean'], { axes: [1], keepdims: 1 }); // [1, 1]
  g.addNode('Concat', ['mean', g.addConstant('fixed', 'float32', [3.5, 4], [1, 2])], ['Identity:0'], { axis: 1 });
  g.addOutput('Identity:0', 'float32', [1, 3]);
  return g.toModelBytes({ opsetVersion: 17 });
}

/** The published BAK and OVRL calibrations at the fixed raw outputs 3.5 and 4. */
export const CALIBRATED_BAK = -0.13166888 * 3.5 ** 2 + 1.60915514 * 3.5 - 0.39604546;
export const CALIBRATED_OVRL = -0.06766283 * 16 + 1.11546468 * 4 + 0.04602535;
