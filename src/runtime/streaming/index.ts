/** Streaming encode/decode of causal codecs: step graphs with carried state, run as Node streams. */
export { STREAM_NAMES } from '../model-dir.js';
export { StreamingSession, type StepState } from './session.js';
export {
  DEFAULT_ENCODER_MAX_FRAMES_PER_STEP,
  DEFAULT_MAX_FRAMES_PER_STEP,
  DecodeStream,
  EncodeStream,
  frameCount,
  padToHop,
  StreamingDecoder,
  StreamingEncoder,
  type StreamOptions,
} from './streams.js';
