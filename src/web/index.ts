/**
 * simvq-audio/web: the codec in the browser on onnxruntime-web.
 *
 *   import { WebCodec } from 'simvq-audio/web';
 *   const codec = await WebCodec.load('/models/speech-16k-0.9kbps/');
 */
export { WebCodec, hasWebGpu, type WebCodecOptions, type CodecTokens } from './codec.js';
export { FrameDecoder, FrameEncoder } from '../runtime/streaming/frames.js';
export { bitsPerCode, decodeSvq, encodeSvq, type SvqFile, type SvqHeader } from '../tokens/svq-format.js';
export { AudioFileError, EngineError, InputError } from '../errors.js';
