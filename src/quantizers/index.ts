/**
 * Quantizers: SimVQ and the baselines behind one interface (./common.ts), the
 * nearest-code search and code-usage metrics. Internal helpers (argument checks,
 * layout reshapes) stay importable from their own modules.
 */
export {
  MAX_CODEBOOK_SIZE,
  MAX_CODE_DIM,
  commitmentAndCodebookLoss,
  stopGradient,
  straightThrough,
  type ForwardOptions,
  type NamedWeight,
  type NamedWeights,
  type Quantizer,
  type QuantizerOutput,
} from './common.js';
export { SimVQ, simvqBasis, type BasisInit, type SimVQConfig, type SimVQOptions } from './simvq.js';
export {
  EmaVectorQuantizer,
  VectorQuantizer,
  type CodebookInit,
  type EmaVectorQuantizerOptions,
  type VectorQuantizerOptions,
} from './vq.js';
export { FiniteScalarQuantizer, type FiniteScalarQuantizerOptions } from './fsq.js';
export {
  DEFAULT_BLOCK_ELEMENTS,
  DEFAULT_CODE_CHUNK,
  buildCodeIndex,
  buildSearchTable,
  disposeSearchTable,
  nearestCodes,
  rowsPerBlock,
  type CodeIndex,
  type SearchMethod,
  type SearchOptions,
  type SearchTable,
} from './search.js';
export { KdTree, MAX_KD_TREE_DIM } from './kdtree.js';
export { CodeUsageTracker, codeUsage, countCodes, usageFromCounts, type CodeUsage } from './metrics.js';
