/**
 * simvq-audio: the package entry point. Re-exports only; each module documents itself.
 */
export * from './errors.js';
export * from './audio/index.js';
export * from './engine/index.js';
export * from './quantizers/index.js';
export * from './eval/index.js';
export * from './datasets/index.js';
export * from './runtime/streaming/index.js';
export { Codec, chooseEngine, type CodecLoadOptions, type CodecTokens, type RuntimeEngine, type WindowModel } from './runtime/codec.js';
export {
  DEFAULT_MODEL_NAME,
  readModelDirectory,
  resolveModelDirectory,
  type ModelDirectory,
  type ModelGraphs,
  type ModelManifest,
} from './runtime/model-dir.js';
export { exportCheckpoint, writeModelDirectory, type ExportCheckpointOptions, type WriteModelOptions } from './runtime/export.js';
export { decoderContextFrames, encoderContextFrames, encoderReceptiveField, planWindows, type Window } from './runtime/chunking.js';
export { decodeSvq, encodeNpy, encodeSvq, readSvq, writeSvq, type SvqFile, type SvqHeader } from './tokens/svq.js';
export * from './tokenize/index.js';
