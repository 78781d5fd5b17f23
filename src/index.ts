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
