/**
 * simvq-audio: speech to tokens and back.
 *
 * This entry point is what using a model needs (the Codec, its streams, token
 * files and corpora, model directories, WAV files, the evaluation's metrics)
 * and it never loads tfjs. Training, export, the compute engine, the
 * quantizers and the data pipeline are in 'simvq-audio/train'.
 */
export { AudioFileError, EngineError, InputError } from './errors.js';

// Running a model.
export { Codec, MAX_SAMPLE_MAGNITUDE, type CodecLoadOptions, type CodecTokens, type ProgressCallback, type RuntimeEngine } from './runtime/codec.js';
export { DecodeStream, EncodeStream, type StreamOptions } from './runtime/streaming/streams.js';
export { DEFAULT_MODEL_NAME, readModelDirectory, resolveModelDirectory, type ModelDirectory, type ModelGraphs, type ModelManifest } from './runtime/model-dir.js';

// Tokens: one file per utterance, and corpora of shards for language models.
export { bitsPerCode, checkSvqHeader, decodeSvq, encodeNpy, encodeSvq, readSvq, writeSvq, type SvqFile, type SvqHeader } from './tokens/svq.js';
export {
  TokenCorpus,
  mergeShards,
  tokenize,
  type CorpusIndex,
  type CorpusManifestRecord,
  type TokenizeOptions,
  type TokenizeSummary,
  type WindowOptions,
} from './tokenize/index.js';

// Audio files.
export { decodeWav, encodeWav, readWav, resample, writeWav, writeWavStream, type AudioClip, type ReadWavOptions, type WavFormat } from './audio/index.js';

// Measuring what a codec keeps.
export {
  alignByCrossCorrelation,
  codec2System,
  multiResolutionStftDistance,
  multiScaleMelDistance,
  opusSystem,
  pocketsphinx,
  runEvaluation,
  siSnr,
  stoi,
  wordErrors,
  type EvalReport,
  type EvalRunOptions,
  type EvalSystem,
} from './eval/index.js';
