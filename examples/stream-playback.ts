/**
 * Example: stream a WAV file through encode → decode and play it as it comes.
 *
 *   npm run build && node dist/examples/stream-playback.js samples/speech-16k.wav
 *
 * The file is fed in chunks (--chunk samples, default five frames: 1,600 =
 * 100 ms at 16 kHz, which keeps the loop several times ahead of real time
 * where one-frame chunks pay a graph run's overhead each; paced in real time
 * with --realtime) through an EncodeStream and a
 * DecodeStream, and each decoded chunk is scheduled on a Web Audio context
 * (node-web-audio-api) as soon as it arrives. Without an audio device (a
 * server, CI) it writes the decoded audio to a 16-bit WAV file instead (--out,
 * default NAME.stream.wav in the working directory).
 *
 * Model: the default model (codec/pretrained/speech-16k-0.9kbps), or --model
 * NAME|DIR, a causal model directory: its encoder.stream.onnx and
 * decoder.stream.onnx. --preset NAME instead exports the step graphs of a
 * randomly initialised preset: the mechanics are the same, but untrained
 * weights decode to noise.
 */
import { basename } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { readWav, resample, writeWav } from '../src/audio/index.js';
import { hopLength, type CodecConfig } from '../src/codec/config.js';
import { loadCodecConfig } from '../src/codec/presets.js';
import { CodecModel } from '../src/codec/model.js';
import { initEngine } from '../src/engine/index.js';
import { InputError } from '../src/errors.js';
import { pathExists } from '../src/files.js';
import { readModelDirectory } from '../src/runtime/model-dir.js';
import { exportStreamingOnnx } from '../src/export/streaming.js';
import { StreamingDecoder, StreamingEncoder } from '../src/runtime/streaming/index.js';

export interface PlaybackOptions {
  input: string;
  /** A model directory or a name under codec/pretrained/; null for the default model. */
  model: string | null;
  /** Export this preset with random weights instead of loading a model. */
  preset: string | null;
  /** Samples per chunk written to the encoder; null: five frames (five hops). */
  chunk: number | null;
  /** Feed chunks at the speed of the audio (as a microphone would), not as fast as possible. */
  realtime: boolean;
  /** Where to write the decoded audio when there is no audio device (or always, with `forceWav`). */
  out: string;
  forceWav: boolean;
  /** Replace an existing output WAV. */
  force: boolean;
}

export interface PlaybackReport {
  sink: 'audio device' | 'wav';
  out: string | null;
  samples: number;
  tokens: number;
  /** Wall time from the first chunk written to the first decoded audio out. */
  firstAudioMs: number;
  /** Audio seconds per wall second of the whole pass (with --realtime, about 1). */
  speed: number;
  randomWeights: boolean;
}

/** The parts of node-web-audio-api the example uses (its own typings pull in the DOM library). */
interface AudioBufferLike {
  copyToChannel(source: Float32Array, channel: number): void;
  readonly duration: number;
}
interface AudioContextLike {
  readonly currentTime: number;
  readonly destination: unknown;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBufferLike;
  createBufferSource(): { buffer: AudioBufferLike | null; connect(node: unknown): void; start(when: number): void };
  close(): Promise<void>;
}
interface WebAudioModule {
  AudioContext: new (options: { sampleRate: number; latencyHint: string }) => AudioContextLike;
}

/** Plays PCM chunks back to back as they arrive: each is scheduled right after the previous one. */
class LivePlayer {
  private nextStart = 0;

  constructor(
    private readonly context: AudioContextLike,
    private readonly sampleRate: number,
  ) {}

  /** An audio context on the default output device, or null when there is none. */
  static async open(sampleRate: number): Promise<LivePlayer | null> {
    try {
      const module = (await import('node-web-audio-api' as string)) as WebAudioModule;
      return new LivePlayer(new module.AudioContext({ sampleRate, latencyHint: 'interactive' }), sampleRate);
    } catch {
      return null;
    }
  }

  play(chunk: Float32Array): void {
    const buffer = this.context.createBuffer(1, chunk.length, this.sampleRate);
    buffer.copyToChannel(chunk, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    // A little headroom the first time, then back to back: gaps only if decoding falls behind.
    this.nextStart = Math.max(this.nextStart, this.context.currentTime + 0.05);
    source.start(this.nextStart);
    this.nextStart += buffer.duration;
  }

  /** Waits for the scheduled audio to finish, then releases the device. */
  async finish(): Promise<void> {
    const remaining = this.nextStart - this.context.currentTime;
    if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining * 1000 + 100));
    await this.context.close();
  }
}

async function loadGraphs(options: PlaybackOptions): Promise<{ config: CodecConfig; encoder: Uint8Array | string; decoder: Uint8Array | string; randomWeights: boolean }> {
  if (options.preset === null) {
    const model = await readModelDirectory(options.model ?? undefined);
    const [encoder, decoder] = [model.graphPath('encoderStream'), model.graphPath('decoderStream')];
    if (encoder === null || decoder === null) throw new InputError(model.directory, 'has no streaming graphs: only a causal model streams');
    // Paths, not bytes: the graphs read codebook.f32 beside them.
    return { config: model.config, encoder, decoder, randomWeights: false };
  }
  await initEngine({ backend: 'wasm' });
  const config = await loadCodecConfig(options.preset);
  const model = new CodecModel(config, 0);
  try {
    return { config, ...exportStreamingOnnx(model), randomWeights: true };
  } finally {
    model.dispose();
  }
}

/** Streams `options.input` through encode → decode into the speakers, or a WAV file without them. */
export async function streamPlayback(options: PlaybackOptions): Promise<PlaybackReport> {
  const { config, encoder: encoderGraph, decoder: decoderGraph, randomWeights } = await loadGraphs(options);
  const hop = hopLength(config);
  const clip = await readWav(options.input);
  const samples = clip.sampleRate === config.sampleRate ? clip.samples : await resample(clip.samples, clip.sampleRate, config.sampleRate);
  const encoder = await StreamingEncoder.load(encoderGraph, { hop });
  const decoder = await StreamingDecoder.load(decoderGraph, { hop, codebookSize: config.quantizer.codebookSize });
  const player = options.forceWav ? null : await LivePlayer.open(config.sampleRate);
  // Before any work: an existing output is not overwritten without --force.
  if (player === null && !options.force && (await pathExists(options.out))) throw new InputError(options.out, 'exists; pass --force to overwrite');
  try {
    const chunk = options.chunk ?? 5 * hop;
    const chunkSeconds = chunk / config.sampleRate;
    const start = performance.now();
    async function* microphone(): AsyncGenerator<Float32Array> {
      for (let offset = 0, i = 0; offset < samples.length; offset += chunk, i++) {
        if (options.realtime) {
          const due = start + i * chunkSeconds * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        yield samples.subarray(offset, offset + chunk);
      }
    }
    const encodeStream = encoder.stream();
    let tokens = 0;
    encodeStream.on('data', (chunk: Uint32Array) => (tokens += chunk.length));
    const decoded: Float32Array[] = [];
    let firstAudioMs = -1;
    const speaker = new Writable({
      objectMode: true,
      write(chunk: Float32Array, _encoding, callback) {
        if (firstAudioMs < 0) firstAudioMs = performance.now() - start;
        decoded.push(chunk);
        player?.play(chunk);
        callback();
      },
    });
    await pipeline(Readable.from(microphone(), { objectMode: true }), encodeStream, decoder.stream(), speaker);
    const seconds = (performance.now() - start) / 1000;
    // The decoder gives whole hops; the input's length is what was written.
    const audio = new Float32Array(encodeStream.samplesIn);
    let offset = 0;
    for (const chunk of decoded) {
      audio.set(chunk.subarray(0, Math.max(0, audio.length - offset)), offset);
      offset += chunk.length;
    }
    let out: string | null = null;
    if (player === null) {
      await writeWav(options.out, audio, config.sampleRate, { format: 'pcm16', force: options.force });
      out = options.out;
    } else {
      await player.finish();
    }
    return { sink: player === null ? 'wav' : 'audio device', out, samples: audio.length, tokens, firstAudioMs, speed: samples.length / config.sampleRate / seconds, randomWeights };
  } finally {
    await encoder.release();
    await decoder.release();
  }
}

function parseArgs(argv: string[]): PlaybackOptions {
  const usage = 'usage: stream-playback <input.wav> [--model NAME|DIR | --preset NAME] [--chunk SAMPLES] [--realtime] [--out FILE.wav] [--wav] [--force]';
  let input: string | null = null;
  const options: Omit<PlaybackOptions, 'input' | 'out'> & { out: string | null } = {
    model: null, preset: null, chunk: null, realtime: false, out: null, forceWav: false, force: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new InputError(arg, `needs a value; ${usage}`);
      return v;
    };
    if (arg === '--model') options.model = value();
    else if (arg === '--preset') options.preset = value();
    else if (arg === '--chunk') options.chunk = Number(value());
    else if (arg === '--realtime') options.realtime = true;
    else if (arg === '--out') options.out = value();
    else if (arg === '--wav') options.forceWav = true;
    else if (arg === '--force') options.force = true;
    else if (arg.startsWith('--') || input !== null) throw new InputError(arg, `unknown argument; ${usage}`);
    else input = arg;
  }
  if (input === null) throw new InputError(null, usage);
  if (options.chunk !== null && !(Number.isInteger(options.chunk) && options.chunk >= 1)) throw new InputError('--chunk', 'must be a positive whole number of samples');
  return { ...options, input, out: options.out ?? basename(input).replace(/\.wav$/i, '') + '.stream.wav' };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const report = await streamPlayback(options);
  if (report.randomWeights) console.log(`note: ${options.preset} with random weights (--preset): the decoded audio is noise`);
  const where = report.sink === 'wav' ? `no audio device: wrote ${report.out}` : 'played on the default audio device';
  console.log(`${where}; ${report.tokens} tokens, ${report.samples} samples, first audio after ${report.firstAudioMs.toFixed(1)} ms, ${report.speed.toFixed(1)}x real time`);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(error instanceof InputError ? 2 : 1);
  });
}
