/**
 * Evaluation: metrics (STOI, spectral distances, SI-SNR, code usage, bitrate),
 * learned MOS (UTMOS, DNSMOS), baseline codecs and the report an `eval` run writes.
 */
export { alignByCrossCorrelation, type Alignment } from './align.js';
export { boundaryJumpRatio } from './boundaries.js';
export { bitrateOfFile, setCodeUsage } from './codes.js';
export { listEvalUtterances, type EvalUtterance } from './data-spec.js';
export { multiResolutionStftDistance, multiScaleMelDistance, siSnr } from './distances.js';
export { DNSMOS_CALIBRATION, DNSMOS_WINDOW, DnsmosModel, UtmosModel, type DnsmosScores } from './mos.js';
export {
  METRICS_VERSION,
  runEvaluation,
  type EvalReport,
  type EvalRunOptions,
  type SystemSummary,
  type UtteranceScores,
} from './run.js';
export { StoiTooShortError, resampleOctave, stoi } from './stoi.js';
export {
  CODEC2_MODES,
  OPUS_BITRATES_KBPS,
  codec2System,
  loadModelSystems,
  opusSystem,
  parseBaselines,
  tokenizerSystem,
  type Codec2Mode,
  type EvalSystem,
  type RoundTrip,
  type TokenizerCodec,
} from './systems.js';
export { normalizeWords, pocketsphinx, wordErrors, type Recognizer } from './wer.js';
