/** Quantizers: SimVQ and the baselines, one interface (./common.ts), search and metrics. */
export * from './common.js';
export * from './search.js';
export * from './simvq.js';
export * from './vq.js';
export * from './metrics.js';
export * from './kdtree.js';
