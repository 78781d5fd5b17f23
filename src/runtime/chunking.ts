/**
 * Long inputs in bounded memory: run a causal model on windows of frames, each
 * with enough left context that its kept outputs equal those of one run over
 * the whole input.
 *
 * Why this is exact. In a causal stack every convolution is padded on the
 * left only and strided convolutions end their window on the last input
 * sample of their step (src/nn/layers.ts), so encoder frame f is a function of
 * samples [(f+1)·hop − R, (f+1)·hop) alone, R being the receptive field. A
 * window that starts c frames before the first frame it keeps, with
 * c·hop ≥ R − hop, holds all of those samples; the zeros its own padding adds
 * only reach frames it throws away. Windows start on multiples of the hop, so
 * every strided layer sees the same phase as in the whole-input run. Per-frame
 * operations (latent layer norm, the code search) do not mix frames. An LSTM
 * sees all of the past and a non-causal model sees the future, so those run
 * whole (contextFrames returns null).
 */
import { hopLength, type CodecConfig } from '../codec/config.js';

/**
 * Samples a causal encoder's frame depends on (SEANet, src/codec/seanet.ts:
 * input conv, residual units and a kernel-2s down-sampling conv per stride,
 * output conv; or the STFT encoder's window and blocks), or Infinity when an
 * LSTM carries the whole past.
 */
export function encoderReceptiveField(config: CodecConfig): number {
  const { encoder } = config;
  // The STFT encoder: one analysis window, then each block's depthwise kernel over whole frames.
  if (encoder.type === 'stft') return encoder.nFft + encoder.layers * (encoder.kernelSize - 1) * encoder.hop;
  if (encoder.lstmLayers > 0) return Infinity;
  let field = 1;
  let rate = 1; // input samples per step at the current layer
  const conv = (kernel: number, dilation: number, stride: number) => {
    field += (kernel - 1) * dilation * rate;
    rate *= stride;
  };
  conv(encoder.kernelSize, 1, 1);
  for (const stride of encoder.strides) {
    for (const dilation of encoder.dilations) conv(encoder.residualKernelSize, dilation, 1); // the 1×1 adds nothing
    conv(2 * stride, 1, stride);
  }
  conv(encoder.kernelSize, 1, 1);
  return field;
}

/** Left-context frames a chunked encoder run needs to equal the whole-input run; null when no amount suffices. */
export function encoderContextFrames(config: CodecConfig): number | null {
  if (!config.causal) return null;
  const field = encoderReceptiveField(config);
  if (!Number.isFinite(field)) return null;
  const hop = hopLength(config);
  return Math.max(0, Math.ceil((field - hop) / hop));
}

/**
 * Frames of tokens before a decoded frame that its samples depend on (causal
 * Vocos-style decoder: the embedding conv, the depthwise conv of every
 * ConvNeXt block, and the inverse STFT's overlap of nFft/hop frames; with an
 * upsampling head, the transposed conv's one earlier token and the finer
 * frames' blocks and overlap, in tokens), or null when the decoder is not
 * chunkable (non-causal, or a SEANet decoder, which is run whole).
 */
export function decoderContextFrames(config: CodecConfig): number | null {
  if (!config.causal || config.decoder.type !== 'vocos') return null;
  const { decoder } = config;
  const embedKernel = 7; // VocosDecoder's embedding convolution
  const upsample = decoder.upsample ?? 1;
  const headHop = hopLength(config) / upsample;
  const fineContext = (decoder.upsampledLayers ?? 0) * (decoder.kernelSize - 1) + Math.ceil(decoder.nFft / headHop) - 1;
  const upsampling = upsample > 1 ? 1 : 0;
  return embedKernel - 1 + decoder.layers * (decoder.kernelSize - 1) + upsampling + Math.ceil(fineContext / upsample);
}

/** One window: run the model on frames [start, end), keep its outputs for frames [keepFrom, end). */
export interface Window {
  start: number;
  keepFrom: number;
  end: number;
}

/**
 * Windows covering `frames` frames, each keeping up to `keepFrames` new ones
 * after `contextFrames` of context (fewer at the start). With a null context
 * (not chunkable) it is one window over everything.
 */
export function planWindows(frames: number, keepFrames: number, contextFrames: number | null): Window[] {
  if (!Number.isInteger(keepFrames) || keepFrames < 1) throw new Error(`planWindows: keepFrames must be a positive integer, got ${keepFrames}`);
  if (contextFrames === null || frames <= keepFrames) return frames === 0 ? [] : [{ start: 0, keepFrom: 0, end: frames }];
  const windows: Window[] = [];
  for (let keepFrom = 0; keepFrom < frames; keepFrom += keepFrames) {
    windows.push({ start: Math.max(0, keepFrom - contextFrames), keepFrom, end: Math.min(frames, keepFrom + keepFrames) });
  }
  return windows;
}
