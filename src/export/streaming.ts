/**
 * Streaming step graphs of a causal codec, as ONNX bytes.
 *
 *   encoder.stream.onnx   audio [1, 1, T] (T a multiple of the hop), state.0..n
 *                         → tokens int64 [T/hop], state.0..n.next
 *   decoder.stream.onnx   tokens int64 [1, F], state.0..n
 *                         → audio [1, 1, F·hop], state.0..n.next
 *
 * Each is the whole-file graph cut at frame boundaries (src/nn/streaming.ts):
 * run step after step from zero states, they give the whole-file results
 * (tokens equal, audio within float rounding). The encoder ends in the
 * quantizer's nearest-code search over the effective codebook (inline, or
 * rows of the model directory's codebook.f32: ./graph-codebook.ts), so a
 * step emits token ids; the decoder starts by looking them up in the same
 * codebook (C·W + b for SimVQ, unit rows when normalised; never C alone).
 */
import type { CodecModel } from '../codec/model.js';
import { InputError } from '../errors.js';
import { StreamStates } from '../nn/streaming.js';
import { OnnxGraphBuilder } from '../onnx/index.js';
import { STREAM_NAMES } from '../runtime/model-dir.js';
import { addCodebookRows, modelCodebook, type GraphCodebook } from './graph-codebook.js';
import { emitNearestCodeSearch, SEARCH_OPSET_IMPORTS, type SearchMethod } from './search-graph.js';

export { STREAM_NAMES };

function requireStreamable(model: CodecModel): void {
  if (!model.config.causal) {
    throw new InputError(model.config.name, 'only a causal codec can stream (its centred convolutions look ahead); use a causal preset such as speech-16k-0.9kbps');
  }
}

export interface StreamingExportOptions {
  /** The encoder's nearest-code search: 'pruned' (default, exact, faster) or 'exhaustive' (src/export/search-graph.ts). */
  search?: SearchMethod;
  /** The codebook as the graphs should hold it (default: read from the model, inline). */
  codebook?: GraphCodebook;
}

/** The streaming encoder step of a causal codec, as ONNX bytes (`encoder.stream.onnx`). */
export function exportStreamingEncoderOnnx(model: CodecModel, options: StreamingExportOptions = {}): Uint8Array {
  requireStreamable(model);
  const g = new OnnxGraphBuilder('simvq_stream_encoder');
  const states = new StreamStates(g);
  const audio = g.addInput(STREAM_NAMES.encoderInput, 'float32', [1, 1, 'samples']);
  const latents = model.exportStreamingEncoderOnnx(g, audio, states);
  const tokens = emitNearestCodeSearch(g, latents, {
    codebook: options.codebook ?? modelCodebook(model),
    normalized: model.config.quantizer.normalized,
    method: options.search ?? 'pruned',
  });
  g.addOutput(STREAM_NAMES.encoderOutput, 'int64', ['frames']);
  g.addNode('Identity', [tokens], [STREAM_NAMES.encoderOutput]);
  states.finish();
  return g.toModelBytes({ metadata: streamMetadata(model, 'encoder'), opsetImports: SEARCH_OPSET_IMPORTS });
}

/** The streaming decoder step of a causal codec, as ONNX bytes (`decoder.stream.onnx`). */
export function exportStreamingDecoderOnnx(model: CodecModel, options: Pick<StreamingExportOptions, 'codebook'> = {}): Uint8Array {
  requireStreamable(model);
  const g = new OnnxGraphBuilder('simvq_stream_decoder');
  const states = new StreamStates(g);
  const tokens = g.addInput(STREAM_NAMES.decoderInput, 'int64', [1, 'frames']);
  const codebook = addCodebookRows(g, 'codebook', options.codebook ?? modelCodebook(model));
  const rows = g.uniqueName('gather');
  g.addNode('Gather', [codebook, tokens], [rows], { axis: 0 });
  const latents = g.uniqueName('latents');
  g.addNode('Transpose', [rows], [latents], { perm: [0, 2, 1] });
  const audio = model.exportStreamingDecoderOnnx(g, latents, states);
  g.addOutput(STREAM_NAMES.decoderOutput, 'float32', [1, 1, 'samples']);
  g.addNode('Identity', [audio], [STREAM_NAMES.decoderOutput]);
  states.finish();
  // com.microsoft: the Vocos backbone's FastGelu.
  return g.toModelBytes({ metadata: streamMetadata(model, 'decoder'), opsetImports: { 'com.microsoft': 1 } });
}

/** Both step graphs: what the model directory stores as encoder.stream.onnx and decoder.stream.onnx. */
export function exportStreamingOnnx(model: CodecModel, options: StreamingExportOptions = {}): { encoder: Uint8Array; decoder: Uint8Array } {
  const codebook = options.codebook ?? modelCodebook(model);
  return { encoder: exportStreamingEncoderOnnx(model, { ...options, codebook }), decoder: exportStreamingDecoderOnnx(model, { codebook }) };
}

/** For people reading the file (e.g. in Netron); the runtime takes these from the codec config. */
function streamMetadata(model: CodecModel, part: 'encoder' | 'decoder'): Record<string, string> {
  return {
    'simvq.stream': part,
    'simvq.model': model.config.name,
    'simvq.sample_rate': String(model.config.sampleRate),
    'simvq.hop': String(model.hop),
    'simvq.codebook_size': String(model.config.quantizer.codebookSize),
  };
}
