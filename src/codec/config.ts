/**
 * Codec configurations: the JSON presets in codec/presets/, their schema, and
 * what follows from them (hop, frame rate, bits per token, bitrate).
 *
 * A preset says everything needed to build and train a model; the bitrate is
 * never written down, it is computed: frame rate · ceil(log2 K).
 */
import { Ajv, type JSONSchemaType } from 'ajv';

import { InputError } from '../errors.js';

/** How latents are normalised before the quantizer (see SeanetEncoderConfig.latentNorm). */
export type LatentNorm = 'none' | 'layer' | 'batch' | 'whiten';

export interface SeanetEncoderConfig {
  /** Absent in older configs, which all mean this encoder. */
  type?: 'seanet';
  /** Channels after the input convolution; doubled by every downsampling block. */
  channels: number;
  /** Downsampling factors, first block first; their product is the hop. */
  strides: number[];
  /** Dilations of the residual units in each block (SoundStream/DAC: 1, 3, 9). */
  dilations: number[];
  /** Kernel of the input and output convolutions. */
  kernelSize: number;
  /** Kernel of the residual units' first convolution. */
  residualKernelSize: number;
  /** Residual units narrow to channels / compress (EnCodec: 2). */
  compress: number;
  /** LSTM layers at the bottleneck (EnCodec: 2); 0 for none. */
  lstmLayers: number;
  /**
   * Normalisation of the latents before the quantizer:
   * - 'none': the encoder's output as it is (the paper's setting);
   * - 'layer': each frame over its channels (zero mean, unit RMS, no learned
   *   scale), which fixes the latents' scale but keeps a direction shared by
   *   every frame;
   * - 'batch': each channel over batch and time (batch statistics in training,
   *   running averages at inference), which also removes that shared direction.
   *   Without it every speech-16k run collapsed to a few codes within ~100 steps;
   * - 'whiten': 'batch' plus decorrelation (IterNorm), so that the latents use
   *   every direction, not a few factors shared by all channels.
   */
  latentNorm: LatentNorm;
}

/**
 * An encoder that works on STFT frames at the token rate (src/codec/stft-encoder.ts):
 * log magnitudes of a causal analysis window ending on each token's last
 * sample, then ConvNeXt blocks. Nothing runs at the sample rate.
 */
export interface StftEncoderConfig {
  type: 'stft';
  /** Samples per token. */
  hop: number;
  /** Analysis window and FFT size (a Hann window), at least the hop. */
  nFft: number;
  /** Width of the ConvNeXt blocks. */
  dim: number;
  intermediateDim: number;
  layers: number;
  /** Depthwise kernel of each block, in tokens. */
  kernelSize: number;
  latentNorm: LatentNorm;
}

export type EncoderConfig = SeanetEncoderConfig | StftEncoderConfig;

export interface SeanetDecoderConfig {
  type: 'seanet';
  /** Channels of the last block; the first block has channels · 2^(blocks). */
  channels: number;
  dilations: number[];
  kernelSize: number;
  residualKernelSize: number;
  compress: number;
  lstmLayers: number;
}

export interface VocosDecoderConfig {
  type: 'vocos';
  /** Width of the ConvNeXt backbone. */
  dim: number;
  /** Hidden width of each ConvNeXt block's pointwise MLP. */
  intermediateDim: number;
  layers: number;
  /** Depthwise kernel of each ConvNeXt block. */
  kernelSize: number;
  /** FFT size of the inverse-STFT head; its hop is the codec's hop divided by `upsample`. */
  nFft: number;
  /**
   * Frames per token at the head (default 1): a causal transposed convolution
   * (kernel 2·upsample) multiplies the frame rate after the backbone, so the
   * inverse STFT runs at hop / upsample with a shorter window, and transients
   * are not smeared over one long window per token.
   */
  upsample?: number;
  /** ConvNeXt blocks after the upsampling, at the finer frame rate (default 0). */
  upsampledLayers?: number;
}

export type DecoderConfig = SeanetDecoderConfig | VocosDecoderConfig;

export interface QuantizerConfig {
  method: 'simvq' | 'simvq-train-c' | 'vq' | 'vq-ema';
  codebookSize: number;
  /** Weight of the commitment term β‖z − sg(q)‖² inside the quantizer loss. */
  beta: number;
  /** Seed of SimVQ's frozen random codebook C. */
  seed: number;
  /** SimVQ only: search and quantize on the unit sphere (see src/quantizers/simvq.ts). */
  normalized: boolean;
}

export interface LossWeights {
  mel: number;
  stft: number;
  waveform: number;
  quantizer: number;
  adversarial: number;
  featureMatching: number;
}

export interface TrainingConfig {
  batchSize: number;
  cropSeconds: number;
  learningRate: number;
  betas: [number, number];
  weightDecay: number;
  warmupSteps: number;
  totalSteps: number;
  maxGradNorm: number;
  lossWeights: LossWeights;
  /** Step at which the discriminators start (adversarial and feature-matching terms). */
  discriminatorStartStep: number;
  /**
   * Steps before this one train as a plain autoencoder: the decoder gets the
   * latents, not their codes (the codebook still trains). 0: quantize from the start.
   */
  quantizerStartStep: number;
  /** Which discriminators train against the generator: multi-period (HiFi-GAN) and/or multi-scale STFT (EnCodec). */
  discriminators: ('mpd' | 'msstftd')[];
  /** Weigh the mel bands in [lowHz, highHz] `gain` times the others (src/codec/losses.ts); default none. */
  melBandEmphasis?: { lowHz: number; highHz: number; gain: number };
  /**
   * Window lengths (samples) of the multi-scale mel loss, each with hop window/4 and
   * 5·window/32 mel bands as DAC's scales; default every power of two from 32 to
   * about 46 ms (src/codec/losses.ts defaultMelScales).
   */
  melWindows?: number[];
  /** Share of training crops band-limited to 4 kHz, as speech sampled at 8 kHz is; default 0. */
  narrowbandProbability?: number;
}

export interface CodecConfig {
  name: string;
  description: string;
  sampleRate: number;
  /** No look-ahead in the encoder; the decoder's only lag is the inverse STFT's overlap-add. */
  causal: boolean;
  /** Dimension d of the latents the quantizer sees. */
  latentDim: number;
  encoder: EncoderConfig;
  quantizer: QuantizerConfig;
  decoder: DecoderConfig;
  training: TrainingConfig;
}

const positiveInt = { type: 'integer', minimum: 1 } as const;
const intList = { type: 'array', items: positiveInt, minItems: 1 } as const;

const seanetDecoderSchema: JSONSchemaType<SeanetDecoderConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'channels', 'dilations', 'kernelSize', 'residualKernelSize', 'compress', 'lstmLayers'],
  properties: {
    type: { type: 'string', const: 'seanet' },
    channels: positiveInt,
    dilations: intList,
    kernelSize: positiveInt,
    residualKernelSize: positiveInt,
    compress: positiveInt,
    lstmLayers: { type: 'integer', minimum: 0 },
  },
};

const vocosDecoderSchema: JSONSchemaType<VocosDecoderConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'dim', 'intermediateDim', 'layers', 'kernelSize', 'nFft'],
  properties: {
    type: { type: 'string', const: 'vocos' },
    dim: positiveInt,
    intermediateDim: positiveInt,
    layers: positiveInt,
    kernelSize: positiveInt,
    nFft: positiveInt,
    upsample: { type: 'integer', minimum: 1, nullable: true },
    upsampledLayers: { type: 'integer', minimum: 0, nullable: true },
  },
};

const latentNormSchema = { type: 'string', enum: ['none', 'layer', 'batch', 'whiten'] } as const;

const seanetEncoderSchema: JSONSchemaType<SeanetEncoderConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['channels', 'strides', 'dilations', 'kernelSize', 'residualKernelSize', 'compress', 'lstmLayers', 'latentNorm'],
  properties: {
    type: { type: 'string', enum: ['seanet'], nullable: true },
    latentNorm: latentNormSchema,
    channels: positiveInt,
    strides: intList,
    dilations: intList,
    kernelSize: positiveInt,
    residualKernelSize: positiveInt,
    compress: positiveInt,
    lstmLayers: { type: 'integer', minimum: 0 },
  },
};

const stftEncoderSchema: JSONSchemaType<StftEncoderConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'hop', 'nFft', 'dim', 'intermediateDim', 'layers', 'kernelSize', 'latentNorm'],
  properties: {
    type: { type: 'string', const: 'stft' },
    hop: positiveInt,
    nFft: positiveInt,
    dim: positiveInt,
    intermediateDim: positiveInt,
    layers: positiveInt,
    kernelSize: positiveInt,
    latentNorm: latentNormSchema,
  },
};

const weight = { type: 'number', minimum: 0 } as const;

export const codecConfigSchema: JSONSchemaType<CodecConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'sampleRate', 'causal', 'latentDim', 'encoder', 'quantizer', 'decoder', 'training'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]*$' },
    description: { type: 'string' },
    sampleRate: { type: 'integer', minimum: 8000, maximum: 48000 },
    causal: { type: 'boolean' },
    latentDim: { type: 'integer', minimum: 1, maximum: 512 },
    encoder: {
      type: 'object',
      oneOf: [seanetEncoderSchema, stftEncoderSchema],
    } as unknown as JSONSchemaType<EncoderConfig>,
    quantizer: {
      type: 'object',
      additionalProperties: false,
      required: ['method', 'codebookSize', 'beta', 'seed', 'normalized'],
      properties: {
        normalized: { type: 'boolean' },
        method: { type: 'string', enum: ['simvq', 'simvq-train-c', 'vq', 'vq-ema'] },
        codebookSize: { type: 'integer', minimum: 2, maximum: 262144 },
        beta: weight,
        seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
      },
    },
    decoder: {
      type: 'object',
      required: ['type'],
      oneOf: [seanetDecoderSchema, vocosDecoderSchema],
    } as unknown as JSONSchemaType<DecoderConfig>,
    training: {
      type: 'object',
      additionalProperties: false,
      required: [
        'batchSize', 'cropSeconds', 'learningRate', 'betas', 'weightDecay', 'warmupSteps', 'totalSteps',
        'maxGradNorm', 'lossWeights', 'discriminatorStartStep', 'quantizerStartStep', 'discriminators',
      ],
      properties: {
        batchSize: positiveInt,
        cropSeconds: { type: 'number', exclusiveMinimum: 0 },
        learningRate: { type: 'number', exclusiveMinimum: 0 },
        betas: {
          type: 'array',
          minItems: 2,
          maxItems: 2,
          items: [
            { type: 'number', minimum: 0, exclusiveMaximum: 1 },
            { type: 'number', minimum: 0, exclusiveMaximum: 1 },
          ],
        },
        weightDecay: weight,
        warmupSteps: { type: 'integer', minimum: 0 },
        totalSteps: positiveInt,
        maxGradNorm: { type: 'number', exclusiveMinimum: 0 },
        lossWeights: {
          type: 'object',
          additionalProperties: false,
          required: ['mel', 'stft', 'waveform', 'quantizer', 'adversarial', 'featureMatching'],
          properties: {
            mel: weight,
            stft: weight,
            waveform: weight,
            quantizer: weight,
            adversarial: weight,
            featureMatching: weight,
          },
        },
        discriminatorStartStep: { type: 'integer', minimum: 0 },
        quantizerStartStep: { type: 'integer', minimum: 0 },
        discriminators: { type: 'array', items: { type: 'string', enum: ['mpd', 'msstftd'] }, uniqueItems: true },
        melWindows: { type: 'array', nullable: true, minItems: 1, uniqueItems: true, items: { type: 'integer', minimum: 32, multipleOf: 4 } },
        narrowbandProbability: { type: 'number', nullable: true, minimum: 0, maximum: 1 },
        melBandEmphasis: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          required: ['lowHz', 'highHz', 'gain'],
          properties: { lowHz: { type: 'number', minimum: 0 }, highHz: { type: 'number', exclusiveMinimum: 0 }, gain: { type: 'number', exclusiveMinimum: 0 } },
        },
      },
    },
  },
};

const validate = new Ajv({ allErrors: false }).compile(codecConfigSchema);

/** Checks a parsed JSON value against the schema and the rules a schema cannot say. */
export function parseCodecConfig(value: unknown, source: string): CodecConfig {
  if (!validate(value)) {
    const error = validate.errors?.[0];
    const where = error?.instancePath === '' || error?.instancePath === undefined ? 'the config' : error.instancePath.slice(1).replaceAll('/', '.');
    throw new InputError(source, `${where} ${error?.message ?? 'is invalid'}`);
  }
  const config = value;
  const fail = (problem: string) => new InputError(source, problem);
  const hop = hopLength(config);
  if (config.training.cropSeconds * config.sampleRate < hop) throw fail(`training.cropSeconds is shorter than one hop (${hop} samples)`);
  if (config.decoder.type === 'vocos') {
    const { nFft } = config.decoder;
    const upsample = config.decoder.upsample ?? 1;
    if (hop % upsample !== 0) throw fail(`decoder.upsample (${upsample}) must divide the hop (${hop})`);
    const headHop = hop / upsample;
    if (nFft % 2 !== 0 || nFft < headHop) throw fail(`decoder.nFft must be even and at least the head's hop (${headHop}), got ${nFft}`);
  }
  if (config.quantizer.normalized && !config.quantizer.method.startsWith('simvq')) throw fail('quantizer.normalized applies to SimVQ only');
  if (config.training.warmupSteps >= config.training.totalSteps) throw fail('training.warmupSteps must be below training.totalSteps');
  const { encoder } = config;
  if (encoder.type === 'stft') {
    if (encoder.nFft % 2 !== 0 || encoder.nFft < encoder.hop) throw fail(`encoder.nFft must be even and at least encoder.hop (${encoder.hop}), got ${encoder.nFft}`);
    if (config.decoder.type === 'seanet') throw fail('a SEANet decoder mirrors the strides of a SEANet encoder; with the STFT encoder use the Vocos decoder');
  } else if (encoder.channels % encoder.compress !== 0) {
    throw fail('encoder.channels must be divisible by encoder.compress');
  }
  return config;
}

/** Samples per token: the STFT encoder's hop, or the product of the SEANet encoder's strides. */
export function hopLength(config: CodecConfig): number {
  const { encoder } = config;
  return encoder.type === 'stft' ? encoder.hop : encoder.strides.reduce((a, b) => a * b, 1);
}

/** Tokens per second. */
export function frameRate(config: CodecConfig): number {
  return config.sampleRate / hopLength(config);
}

/** Bits one token takes in a .svq file: ceil(log2 K). */
export function bitsPerToken(config: CodecConfig): number {
  return Math.ceil(Math.log2(config.quantizer.codebookSize));
}

/** Bits per second of audio. */
export function bitrate(config: CodecConfig): number {
  return frameRate(config) * bitsPerToken(config);
}
