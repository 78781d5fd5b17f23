/**
 * Datasets: LibriTTS, folders and manifests named by data-spec strings, and the
 * batch pipeline that feeds training. The corpus recipes (src/datasets/corpus)
 * are reached through the CLI.
 */
export { parseDataSpec, type DataSpec } from './spec.js';
export {
  filterByDuration,
  loadDataset,
  speakerDisjointSplit,
  summarize,
  type Dataset,
  type DatasetSummary,
  type LoadDatasetOptions,
  type SpeakerSplit,
} from './dataset.js';
export { LIBRITTS_SUBSETS, parseSpeakersFile, type SpeakerInfo } from './libritts-layout.js';
export { probeWav, readWavFrames, type WavHeader } from './probe.js';
export { BatchLoader, type Batch, type BatchItem, type BatchLoaderOptions, type LoaderStats } from './pipeline.js';
export { loudnessGain } from './crop-reader.js';
export type { BadFile, Utterance } from './utterance.js';
