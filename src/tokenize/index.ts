export { DEFAULT_SHARD_SECONDS, parseShardSelector, planShards, selectedShards, type PlannedUtterance, type ShardPlan, type ShardSelector } from './plan.js';
export {
  decodeShardIndex,
  shardBaseName,
  shardPaths,
  verifyShard,
  writeShard,
  type ManifestRecord,
  type ShardHeader,
  type ShardIndex,
  type ShardUtterance,
  type SkippedFile,
  type TokenModelIdentity,
} from './shard-format.js';
export { CORPUS_INDEX_FILE, CORPUS_MANIFEST_FILE, mergeShards, type CorpusIndex, type CorpusManifestRecord, type CorpusShardEntry } from './merge.js';
export { TokenCorpus, type WindowOptions } from './reader.js';
export { tokenize, type TokenizeOptions, type TokenizeSummary } from './run.js';
