/**
 * simvq-audio/train: making models. The compute engine (tfjs backends with
 * onnxruntime kernels), the quantizers, the codec and its config, the data
 * pipeline, the training loop, export to a model directory, and the recipe
 * comparison's pieces. Loads tfjs; running a model needs only 'simvq-audio'.
 */
export * from '../engine/index.js';
export * from '../quantizers/index.js';
export * from '../datasets/index.js';
export * from '../codec/index.js';
export { CodecModel, createQuantizer, type BottleneckQuantizer, type CodecForward } from '../codec/model.js';
export { frameRate, hopLength, parseCodecConfig, type CodecConfig } from '../codec/config.js';
export { loadCodecConfig, presetNames } from '../codec/presets.js';
export { train, type TrainOptions, type TrainSummary } from './trainer.js';
export { DiscriminatorSet, GanStep, type StepMetrics } from './gan-step.js';
export { AdamW, warmupCosine } from './optimizer.js';
export { applyOverrides, loadTrainedModel, recipeTable, type RecipeRecord, type RecipeVariant } from './recipe.js';
export { exportCheckpoint, writeModelDirectory, type ExportCheckpointOptions, type WriteModelOptions } from '../export/model-directory.js';
export { exportStreamingDecoderOnnx, exportStreamingEncoderOnnx, exportStreamingOnnx, type StreamingExportOptions } from '../export/streaming.js';
export { decoderContextFrames, encoderContextFrames, encoderReceptiveField, planWindows, type Window } from '../runtime/chunking.js';
