/**
 * npm run bench:streaming — streaming encode and decode of one preset
 * (default speech-16k-0.9kbps, randomly initialised: speed does not depend on
 * training), through the EncodeStream / DecodeStream of src/runtime/streaming.
 *
 *   per-frame ms      wall time of one 20 ms frame through a stream: writing one
 *                     hop of PCM until its token is out (encode), one token until
 *                     its hop of PCM is out (decode); median and p95 over a pass
 *                     of the sample, then the median over passes
 *   first output ms   a fresh stream: first complete hop written → first token
 *                     out (encode), first token → first PCM (decode), and first
 *                     hop → first PCM through both (end to end). The encoder also
 *                     waits for the hop itself (20 ms of audio): `algorithmic_latency_ms`.
 *   export / load s   writing the two step graphs, creating their sessions
 *
 * The machine is shared and noisy: every figure is a median over passes.
 * The last line printed is one JSON object with every figure.
 *
 * Flags: --preset NAME (default: the default model's, speech-16k-0.9kbps-stft)   --passes N (default 5)
 *        --model DIR   time a trained model directory's step graphs instead: the
 *                      encoder's pruned search costs more where trained latents
 *                      sit among many close codes
 */
import { DEFAULT_BENCH_PRESET } from './default-preset.js';
import { readWav } from '../src/audio/index.js';
import { hopLength, type CodecConfig } from '../src/codec/config.js';
import { loadCodecConfig } from '../src/codec/presets.js';
import { CodecModel } from '../src/codec/model.js';
import { initEngine } from '../src/engine/index.js';
import { onnxRuntimeThreads } from '../src/engine/ort/runtime.js';
import { InputError } from '../src/errors.js';
import { boundaryJumpRatio } from '../src/eval/boundaries.js';
import { readModelDirectory } from '../src/runtime/model-dir.js';
import { exportStreamingOnnx } from '../src/export/streaming.js';
import { StreamingDecoder, StreamingEncoder, type DecodeStream, type EncodeStream } from '../src/runtime/streaming/index.js';
import { median } from './timing.js';

export interface StreamingFigures {
  streaming_preset: string;
  streaming_frame_ms: number;
  streaming_encode_frame_ms_median: number;
  streaming_encode_frame_ms_p95: number;
  streaming_decode_frame_ms_median: number;
  streaming_decode_frame_ms_p95: number;
  streaming_encode_first_output_ms: number;
  streaming_decode_first_output_ms: number;
  streaming_end_to_end_first_output_ms: number;
  streaming_algorithmic_latency_ms: number;
  /**
   * Clicks at frame boundaries in the audio decoded one token at a time: mean
   * squared sample step at frame boundaries over that elsewhere (~1: none;
   * src/eval/boundaries.ts), and the same for the input for reference.
   */
  streaming_boundary_jump_ratio: number;
  streaming_boundary_jump_ratio_input: number;
  /** null when the graphs came from a model directory. */
  streaming_export_s: number | null;
  streaming_load_s: number;
  streaming_frames_per_pass: number;
  streaming_passes: number;
  streaming_threads: number;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Writes `chunk` and resolves with the first chunk the stream emits after it. */
function nextOutput<T>(stream: EncodeStream | DecodeStream, chunk: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    stream.once('data', resolve);
    stream.write(chunk, (error) => {
      if (error) reject(error);
    });
  });
}

/** Milliseconds each write of `chunks` takes until its output is out, and the outputs. */
async function perChunkMs<T>(stream: EncodeStream | DecodeStream, chunks: unknown[]): Promise<{ times: number[]; outputs: T[] }> {
  const times: number[] = [];
  const outputs: T[] = [];
  for (const chunk of chunks) {
    const start = nowMs();
    outputs.push(await nextOutput<T>(stream, chunk));
    times.push(nowMs() - start);
  }
  stream.destroy();
  return { times, outputs };
}

/**
 * The step graphs to time: a trained model directory's own (the pruned
 * search's cost depends on where trained latents fall among the codes), or
 * a preset's, exported from random weights.
 */
async function streamingGraphs(options: { preset?: string; modelDir?: string }): Promise<{ name: string; config: CodecConfig; encoder: Uint8Array | string; decoder: Uint8Array | string; exportSeconds: number | null }> {
  if (options.modelDir !== undefined) {
    const dir = await readModelDirectory(options.modelDir);
    const encoder = dir.graphPath('encoderStream');
    const decoder = dir.graphPath('decoderStream');
    if (encoder === null || decoder === null) throw new InputError(options.modelDir, 'has no streaming graphs (encoder.stream.onnx, decoder.stream.onnx): export a causal model');
    // Paths, not bytes: the graphs read codebook.f32 beside them.
    return { name: `${dir.manifest.modelId} (${options.modelDir})`, config: dir.config, encoder, decoder, exportSeconds: null };
  }
  const name = options.preset ?? DEFAULT_BENCH_PRESET;
  const config = await loadCodecConfig(name);
  const model = new CodecModel(config, 0);
  const start = nowMs();
  const graphs = exportStreamingOnnx(model);
  const exportSeconds = (nowMs() - start) / 1000;
  model.dispose();
  return { name, config, ...graphs, exportSeconds };
}

/**
 * Streaming figures for a preset with random weights, or for a model
 * directory; `passes` passes over `audio` (mono, the model's rate) for the
 * per-frame times.
 */
export async function measureStreaming(options: { preset?: string; modelDir?: string; passes?: number; audio: Float32Array }): Promise<StreamingFigures> {
  const passes = options.passes ?? 5;
  const { name: presetName, config, exportSeconds, ...graphs } = await streamingGraphs(options);
  const hop = hopLength(config);
  let start = nowMs();
  const encoder = await StreamingEncoder.load(graphs.encoder, { hop });
  const decoder = await StreamingDecoder.load(graphs.decoder, { hop, codebookSize: config.quantizer.codebookSize });
  const loadSeconds = (nowMs() - start) / 1000;
  try {
    const frames = Math.floor(options.audio.length / hop);
    const hops = Array.from({ length: frames }, (_, f) => options.audio.slice(f * hop, (f + 1) * hop));

    // First outputs, on fresh streams (the first run of a session is not warmed: measured first).
    const firstEncodeMs: number[] = [];
    const firstDecodeMs: number[] = [];
    const endToEndMs: number[] = [];
    for (let pass = 0; pass < passes; pass++) {
      const encode = encoder.stream();
      const decode = decoder.stream();
      const t0 = nowMs();
      const tokens = await nextOutput<Uint32Array>(encode, hops[0]);
      const t1 = nowMs();
      await nextOutput<Float32Array>(decode, tokens);
      const t2 = nowMs();
      firstEncodeMs.push(t1 - t0);
      firstDecodeMs.push(t2 - t1);
      endToEndMs.push(t2 - t0);
      encode.destroy();
      decode.destroy();
    }

    const encodeMedians: number[] = [];
    const encodeP95s: number[] = [];
    const decodeMedians: number[] = [];
    const decodeP95s: number[] = [];
    let tokens: Uint32Array[] = [];
    let boundaryRatio = NaN;
    for (let pass = 0; pass < passes; pass++) {
      const { times: encodeTimes } = await perChunkMs(encoder.stream(), hops);
      encodeMedians.push(median(encodeTimes));
      encodeP95s.push(percentile(encodeTimes, 95));
      if (pass === 0) {
        const stream = encoder.stream();
        tokens = [];
        for (const h of hops) tokens.push(await nextOutput<Uint32Array>(stream, h));
        stream.destroy();
      }
      const { times: decodeTimes, outputs } = await perChunkMs<Float32Array>(decoder.stream(), tokens);
      if (pass === 0) {
        const audio = new Float32Array(outputs.reduce((n, o) => n + o.length, 0));
        outputs.reduce((at, o) => (audio.set(o, at), at + o.length), 0);
        boundaryRatio = boundaryJumpRatio(audio, hop);
      }
      decodeMedians.push(median(decodeTimes));
      decodeP95s.push(percentile(decodeTimes, 95));
    }
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return {
      streaming_preset: presetName,
      streaming_frame_ms: (1000 * hop) / config.sampleRate,
      streaming_encode_frame_ms_median: round(median(encodeMedians)),
      streaming_encode_frame_ms_p95: round(median(encodeP95s)),
      streaming_decode_frame_ms_median: round(median(decodeMedians)),
      streaming_decode_frame_ms_p95: round(median(decodeP95s)),
      streaming_encode_first_output_ms: round(median(firstEncodeMs)),
      streaming_decode_first_output_ms: round(median(firstDecodeMs)),
      streaming_end_to_end_first_output_ms: round(median(endToEndMs)),
      streaming_algorithmic_latency_ms: (1000 * hop) / config.sampleRate,
      streaming_boundary_jump_ratio: round(boundaryRatio),
      streaming_boundary_jump_ratio_input: round(boundaryJumpRatio(options.audio.subarray(0, frames * hop), hop)),
      streaming_export_s: exportSeconds === null ? null : round(exportSeconds),
      streaming_load_s: round(loadSeconds),
      streaming_frames_per_pass: frames,
      streaming_passes: passes,
      streaming_threads: onnxRuntimeThreads(),
    };
  } finally {
    await encoder.release();
    await decoder.release();
  }
}

function parseArgs(argv: string[]): { preset: string; modelDir?: string; passes: number } {
  const args: { preset: string; modelDir?: string; passes: number } = { preset: DEFAULT_BENCH_PRESET, passes: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--preset') args.preset = argv[++i] ?? '';
    else if (argv[i] === '--model') args.modelDir = argv[++i] ?? '';
    else if (argv[i] === '--passes') args.passes = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(Number.isInteger(args.passes) && args.passes >= 1)) throw new Error('--passes must be a whole number >= 1');
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await initEngine({ backend: 'wasm' });
  const speech = (await readWav('samples/speech-16k.wav')).samples;
  const figures = await measureStreaming({ preset: args.preset, ...(args.modelDir === undefined ? {} : { modelDir: args.modelDir }), passes: args.passes, audio: speech });
  console.log(`${figures.streaming_preset}: ${figures.streaming_frames_per_pass} frames of ${figures.streaming_frame_ms} ms, ${figures.streaming_passes} passes, ${figures.streaming_threads} onnxruntime thread(s)`);
  console.log(`  encode per frame  median ${figures.streaming_encode_frame_ms_median} ms, p95 ${figures.streaming_encode_frame_ms_p95} ms`);
  console.log(`  decode per frame  median ${figures.streaming_decode_frame_ms_median} ms, p95 ${figures.streaming_decode_frame_ms_p95} ms`);
  console.log(`  first output      encode ${figures.streaming_encode_first_output_ms} ms, decode ${figures.streaming_decode_first_output_ms} ms, end to end ${figures.streaming_end_to_end_first_output_ms} ms (+ ${figures.streaming_algorithmic_latency_ms} ms waiting for the first hop)`);
  console.log(`  frame boundaries  step ratio ${figures.streaming_boundary_jump_ratio} in the streamed audio (${figures.streaming_boundary_jump_ratio_input} in the input; ~1: no clicks)`);
  console.log(`  ${figures.streaming_export_s === null ? '' : `export ${figures.streaming_export_s} s, `}session load ${figures.streaming_load_s} s`);
  console.log(JSON.stringify(figures));
}

// Run as a script, not when imported (bench:runtime imports measureStreaming).
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
