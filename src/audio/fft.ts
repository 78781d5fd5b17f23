/**
 * Discrete Fourier transforms of any length for the STFT.
 *
 * fft.js only does powers of two, but the frame sizes speech codecs use often
 * are not (hop 320 at 24 kHz gives nFft 1280). Other lengths go through
 * Bluestein's chirp-z algorithm, which rewrites a length-n DFT as a circular
 * convolution that fft.js computes at a power-of-two size >= 2n - 1.
 * Everything here is float64; callers round to float32 at the end.
 */
import FFT from 'fft.js';

/** A complex DFT of one length, on interleaved [re, im, re, im, ...] float64 buffers. */
interface ComplexDft {
  readonly size: number;
  /** out[k] = sum_t input[t] e^{-2 pi i k t / n}; out must not alias input. */
  forward(out: Float64Array, input: Float64Array): void;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 2 && (n & (n - 1)) === 0;
}

class RadixFourDft implements ComplexDft {
  private readonly fft: FFT;

  constructor(readonly size: number) {
    this.fft = new FFT(size);
  }

  forward(out: Float64Array, input: Float64Array): void {
    this.fft.transform(out, input);
  }
}

class BluesteinDft implements ComplexDft {
  private readonly convolutionSize: number;
  private readonly convolution: FFT;
  /** e^{-i pi t^2 / n}, interleaved, for t = 0..n-1. */
  private readonly chirp: Float64Array;
  /** Spectrum of the conjugate chirp laid out for a circular convolution. */
  private readonly kernelSpectrum: Float64Array;
  private readonly scratchA: Float64Array;
  private readonly scratchB: Float64Array;

  constructor(readonly size: number) {
    let convolutionSize = 2;
    while (convolutionSize < 2 * size - 1) convolutionSize *= 2;
    this.convolutionSize = convolutionSize;
    this.convolution = new FFT(convolutionSize);

    this.chirp = new Float64Array(2 * size);
    for (let t = 0; t < size; t++) {
      // t^2 mod 2n keeps the angle small, so it stays exact for long frames.
      const angle = (Math.PI * ((t * t) % (2 * size))) / size;
      this.chirp[2 * t] = Math.cos(angle);
      this.chirp[2 * t + 1] = -Math.sin(angle);
    }

    const kernel = new Float64Array(2 * convolutionSize);
    for (let t = 0; t < size; t++) {
      const re = this.chirp[2 * t];
      const im = -this.chirp[2 * t + 1];
      kernel[2 * t] = re;
      kernel[2 * t + 1] = im;
      if (t > 0) {
        kernel[2 * (convolutionSize - t)] = re;
        kernel[2 * (convolutionSize - t) + 1] = im;
      }
    }
    this.kernelSpectrum = new Float64Array(2 * convolutionSize);
    this.convolution.transform(this.kernelSpectrum, kernel);
    this.scratchA = new Float64Array(2 * convolutionSize);
    this.scratchB = new Float64Array(2 * convolutionSize);
  }

  forward(out: Float64Array, input: Float64Array): void {
    const { size, chirp, scratchA, scratchB, kernelSpectrum } = this;
    scratchA.fill(0);
    for (let t = 0; t < size; t++) {
      const xr = input[2 * t];
      const xi = input[2 * t + 1];
      const cr = chirp[2 * t];
      const ci = chirp[2 * t + 1];
      scratchA[2 * t] = xr * cr - xi * ci;
      scratchA[2 * t + 1] = xr * ci + xi * cr;
    }
    this.convolution.transform(scratchB, scratchA);
    for (let k = 0; k < this.convolutionSize; k++) {
      const ar = scratchB[2 * k];
      const ai = scratchB[2 * k + 1];
      const br = kernelSpectrum[2 * k];
      const bi = kernelSpectrum[2 * k + 1];
      scratchB[2 * k] = ar * br - ai * bi;
      scratchB[2 * k + 1] = ar * bi + ai * br;
    }
    this.convolution.inverseTransform(scratchA, scratchB);
    for (let k = 0; k < size; k++) {
      const yr = scratchA[2 * k];
      const yi = scratchA[2 * k + 1];
      const cr = chirp[2 * k];
      const ci = chirp[2 * k + 1];
      out[2 * k] = yr * cr - yi * ci;
      out[2 * k + 1] = yr * ci + yi * cr;
    }
  }
}

/**
 * The DFT of real frames of one length n: forward gives the n/2 + 1 non-negative
 * frequency bins (numpy.fft.rfft), inverse takes them back (numpy.fft.irfft,
 * which ignores the imaginary parts of the DC and Nyquist bins).
 */
export class RealDft {
  readonly size: number;
  /** floor(n / 2) + 1. */
  readonly bins: number;
  private readonly realFft: FFT | null;
  private readonly complexDft: ComplexDft;
  private readonly complexIn: Float64Array;
  private readonly complexOut: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2) {
      throw new RangeError(`DFT size must be an integer >= 2, got ${size}`);
    }
    this.size = size;
    this.bins = Math.floor(size / 2) + 1;
    const powerOfTwo = isPowerOfTwo(size);
    this.realFft = powerOfTwo ? new FFT(size) : null;
    this.complexDft = powerOfTwo ? new RadixFourDft(size) : new BluesteinDft(size);
    this.complexIn = new Float64Array(2 * size);
    this.complexOut = new Float64Array(2 * size);
  }

  /** Bins 0..bins-1 of the DFT of `frame` (length n) into re/im starting at `offset`. */
  forward(frame: Float64Array, re: Float32Array, im: Float32Array, offset: number): void {
    const { size, bins, complexOut } = this;
    if (this.realFft !== null) {
      // fft.js's real transform fills only the first half of `out`, which is all we need.
      this.realFft.realTransform(complexOut, frame);
    } else {
      const complexIn = this.complexIn;
      for (let t = 0; t < size; t++) {
        complexIn[2 * t] = frame[t];
        complexIn[2 * t + 1] = 0;
      }
      this.complexDft.forward(complexOut, complexIn);
    }
    for (let k = 0; k < bins; k++) {
      re[offset + k] = complexOut[2 * k];
      im[offset + k] = complexOut[2 * k + 1];
    }
  }

  /** The real frame (length n) whose one-sided spectrum is re/im[offset .. offset+bins). */
  inverse(re: Float32Array, im: Float32Array, offset: number, frame: Float64Array): void {
    const { size, bins, complexIn, complexOut } = this;
    // Inverse via the forward transform: x = conj(DFT(conj(X))) / n. The spectrum is
    // completed by Hermitian symmetry; only the real part of the result is kept.
    for (let k = 0; k < bins; k++) {
      complexIn[2 * k] = re[offset + k];
      complexIn[2 * k + 1] = -im[offset + k];
    }
    for (let k = bins; k < size; k++) {
      complexIn[2 * k] = re[offset + size - k];
      complexIn[2 * k + 1] = im[offset + size - k];
    }
    this.complexDft.forward(complexOut, complexIn);
    for (let t = 0; t < size; t++) frame[t] = complexOut[2 * t] / size;
  }
}
