/**
 * The engine benchmark's reference workload: a SEANet-style autoencoder as in
 * EnCodec (channels 32-64-128-256-512, strides 2-4-5-8, latent 64, mirrored
 * decoder with transposed convolutions, one residual unit per block, ELU),
 * ~5.9 M parameters, trained with L1 + log-spectral loss and Adam.
 *
 * It exists to measure the engine, not to be a codec: no weight norm, no
 * quantizer. The codec itself lives in src/ once it is built.
 */
import * as tf from '@tensorflow/tfjs';

import { conv1d, convTranspose1d } from '../src/engine/index.js';
import { mulberry32 } from '../src/random.js';

const CHANNELS = [32, 64, 128, 256] as const;
const STRIDES = [2, 4, 5, 8] as const;
const LATENT = 64;

interface Conv {
  w: tf.Variable<tf.Rank.R3>;
  b: tf.Variable<tf.Rank.R1>;
}

/** Convolution with its bias; 'same' padding unless told otherwise. */
function applyConv(layer: Conv, x: tf.Tensor3D, options: Parameters<typeof conv1d>[2] = { padding: 'same' }): tf.Tensor3D {
  return conv1d(x, layer.w, { ...options, bias: layer.b });
}

export class ReferenceSeanet {
  private readonly layers = new Map<string, Conv>();
  private readonly rand: () => number;

  constructor(seed = 1) {
    this.rand = mulberry32(seed);
    // Encoder
    this.conv('enc.in', 7, 1, CHANNELS[0]);
    CHANNELS.forEach((c, i) => {
      this.conv(`enc.${i}.res.a`, 3, c, c / 2);
      this.conv(`enc.${i}.res.b`, 1, c / 2, c);
      this.conv(`enc.${i}.down`, 2 * STRIDES[i]!, c, 2 * c);
    });
    this.conv('enc.out', 7, 2 * CHANNELS[3], LATENT);
    // Decoder, mirrored
    this.conv('dec.in', 7, LATENT, 2 * CHANNELS[3]);
    [...CHANNELS].reverse().forEach((c, j) => {
      const stride = [...STRIDES].reverse()[j]!;
      this.conv(`dec.${j}.up`, 2 * stride, 2 * c, c, 'transposed');
      this.conv(`dec.${j}.res.a`, 3, c, c / 2);
      this.conv(`dec.${j}.res.b`, 1, c / 2, c);
    });
    this.conv('dec.out', 7, CHANNELS[0], 1);
  }

  private conv(name: string, kernelSize: number, inChannels: number, outChannels: number, kind: 'conv' | 'transposed' = 'conv'): void {
    // He-style uniform init, seeded.
    const bound = Math.sqrt(3 / (kernelSize * inChannels));
    const values = new Float32Array(kernelSize * inChannels * outChannels);
    for (let i = 0; i < values.length; i++) values[i] = (this.rand() * 2 - 1) * bound;
    this.layers.set(name, {
      // conv: [Cout, Cin, K]; transposed: [Cin, Cout, K] (PyTorch's layouts).
      w: tf.variable(tf.tensor3d(values, kind === 'conv' ? [outChannels, inChannels, kernelSize] : [inChannels, outChannels, kernelSize]), true, name + '.w'),
      b: tf.variable(tf.zeros([outChannels]), true, name + '.b'),
    });
  }

  private layer(name: string): Conv {
    const found = this.layers.get(name);
    if (found === undefined) throw new Error(`no layer ${name}`);
    return found;
  }

  get variables(): tf.Variable[] {
    return [...this.layers.values()].flatMap((l) => [l.w, l.b]);
  }

  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  private residual(prefix: string, x: tf.Tensor3D): tf.Tensor3D {
    const h = applyConv(this.layer(`${prefix}.res.a`), tf.elu(x));
    return x.add(applyConv(this.layer(`${prefix}.res.b`), tf.elu(h)));
  }

  /** audio [B, 1, T] → reconstruction [B, 1, T]; T a multiple of the hop (320). */
  forward(audio: tf.Tensor3D): tf.Tensor3D {
    let h = applyConv(this.layer('enc.in'), audio);
    CHANNELS.forEach((_, i) => {
      const stride = STRIDES[i]!;
      h = this.residual(`enc.${i}`, h);
      // Kernel 2s, stride s, pads s in total: exactly T/s frames.
      h = applyConv(this.layer(`enc.${i}.down`), tf.elu(h), {
        stride,
        padding: [Math.ceil(stride / 2), Math.floor(stride / 2)],
      });
    });
    h = applyConv(this.layer('enc.out'), tf.elu(h));
    h = applyConv(this.layer('dec.in'), h);
    [...STRIDES].reverse().forEach((stride, j) => {
      const up = this.layer(`dec.${j}.up`);
      h = convTranspose1d(tf.elu(h), up.w, { stride, trim: [Math.ceil(stride / 2), Math.floor(stride / 2)], bias: up.b });
      h = this.residual(`dec.${j}`, h);
    });
    return applyConv(this.layer('dec.out'), tf.elu(h));
  }
}

/** Windowed Fourier basis as a conv filter [2·bins, 1, nFft]: the STFT as a strided convolution. */
export function fourierFilter(nFft: number): tf.Tensor3D {
  const bins = nFft / 2 + 1;
  const values = new Float32Array(2 * bins * nFft);
  for (let k = 0; k < bins; k++) {
    for (let n = 0; n < nFft; n++) {
      const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft);
      const phase = (2 * Math.PI * k * n) / nFft;
      values[k * nFft + n] = window * Math.cos(phase);
      values[(bins + k) * nFft + n] = -window * Math.sin(phase);
    }
  }
  return tf.tensor3d(values, [2 * bins, 1, nFft]);
}

/** L1 on the waveform plus L1 between log magnitudes (nFft 512, hop 128). */
export function reconstructionLoss(output: tf.Tensor3D, target: tf.Tensor3D, basis: tf.Tensor3D): tf.Scalar {
  const nFft = basis.shape[2];
  const bins = nFft / 2 + 1;
  const logMagnitude = (x: tf.Tensor3D) => {
    const spec = conv1d(x, basis, { stride: nFft / 4 });
    const [re, im] = tf.split(spec, [bins, bins], 1);
    return tf.log(re.square().add(im.square()).add(1e-7)).mul(0.5);
  };
  const waveL1 = output.sub(target).abs().mean();
  const spectralL1 = logMagnitude(output).sub(logMagnitude(target)).abs().mean();
  return waveL1.add(spectralL1) as tf.Scalar;
}
