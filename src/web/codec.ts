/**
 * The codec in the browser: a model directory served over HTTP, run by
 * onnxruntime-web (WebAssembly, or WebGPU when asked for and present).
 *
 *   const codec = await WebCodec.load('/models/speech-16k-0.9kbps/');
 *   const tokens = await codec.encode(samples);          // Float32Array at codec.sampleRate
 *   const audio = await codec.decode(tokens);            // tokens equal Node's Codec.encode
 *
 * The same files and graphs as in Node: model.json, config.json, encoder.onnx,
 * decoder.onnx, the streaming step graphs and the codebook they read as
 * external data. Whole inputs run in the windows Node uses
 * (src/runtime/windowed-codec.ts), streams frame by frame through the step
 * graphs (src/runtime/streaming/frames.ts), so tokens are the same bytes.
 * Nothing here imports tfjs or a Node module.
 */
import type * as OrtWeb from 'onnxruntime-web';

import { parseCodecConfig, type CodecConfig } from '../codec/config.js';
import { InputError } from '../errors.js';
import { decoderContextFrames, encoderContextFrames } from '../runtime/chunking.js';
import {
  checkManifest,
  checkManifestAgainstConfig,
  DECODER_INPUT,
  DECODER_OUTPUT,
  ENCODER_INPUT,
  ENCODER_OUTPUT,
  MANIFEST_FILE,
  STREAM_DECODER_ROLE,
  STREAM_ENCODER_ROLE,
  STREAM_NAMES,
  type ModelManifest,
} from '../runtime/model-manifest.js';
import { FrameDecoder, FrameEncoder } from '../runtime/streaming/frames.js';
import { StreamingSession } from '../runtime/streaming/session.js';
import { WindowedCodec, checkSamples, memoryReader, type CodecTokens, type WindowModel } from '../runtime/windowed-codec.js';

export type { CodecTokens } from '../runtime/windowed-codec.js';
export { FrameDecoder, FrameEncoder } from '../runtime/streaming/frames.js';

export interface WebCodecOptions {
  /**
   * Where onnxruntime-web finds its .wasm files (a URL prefix ending in '/');
   * default: beside its own module, as the bundler placed it.
   */
  wasmPaths?: string;
  /** Run on WebGPU where the browser has it ('auto'), always (true), or never (false, the default: WebAssembly). */
  webgpu?: boolean | 'auto';
  /** WebAssembly threads (default: onnxruntime-web's choice; threads need a cross-origin-isolated page). */
  threads?: number;
  /** New frames per encoder run (default 128) and per decoder run (default 1000), as in Node. */
  encodeWindowFrames?: number;
  decodeWindowFrames?: number;
  /** Replaces `fetch`, e.g. to report download progress. */
  fetch?: (url: string) => Promise<Response>;
}

type Session = OrtWeb.InferenceSession;
type OrtModule = typeof OrtWeb;

/**
 * onnxruntime-web's WebAssembly-only build, or its WebGPU build (which also
 * runs WebAssembly, with a larger binary); loaded on demand, so a page that
 * never asks for WebGPU never downloads it.
 */
async function loadOrt(webgpu: boolean): Promise<OrtModule> {
  return webgpu ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm');
}

/** Whether this browser offers WebGPU at all (a page can tell its user before loading anything). */
export function hasWebGpu(): boolean {
  const { navigator } = globalThis as { navigator?: object };
  return navigator !== undefined && 'gpu' in navigator;
}

export class WebCodec {
  private readonly core: WindowedCodec;

  private constructor(
    readonly manifest: ModelManifest,
    readonly config: CodecConfig,
    /** The execution provider the sessions run on. */
    readonly backend: 'wasm' | 'webgpu',
    private readonly graphs: GraphLoader,
    windows: WindowModel,
    options: WebCodecOptions,
  ) {
    this.core = new WindowedCodec(manifest, windows, {
      encodeWindowFrames: options.encodeWindowFrames ?? 128,
      decodeWindowFrames: options.decodeWindowFrames ?? 1000,
      encoderContext: encoderContextFrames(config),
      decoderContext: decoderContextFrames(config),
    });
  }

  /** Loads the model directory at `baseUrl` (its manifest, config and codebook; graphs open on first use). */
  static async load(baseUrl: string, options: WebCodecOptions = {}): Promise<WebCodec> {
    const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    const get = options.fetch ?? ((url: string) => fetch(url));
    const fetchBytes = async (file: string): Promise<Uint8Array> => {
      const url = base + file;
      let response: Response;
      try {
        response = await get(url);
      } catch (error) {
        throw new InputError(url, `cannot be fetched (${error instanceof Error ? error.message : String(error)})`);
      }
      if (!response.ok) throw new InputError(url, `cannot be fetched (HTTP ${response.status} ${response.statusText})`);
      return new Uint8Array(await response.arrayBuffer());
    };
    const parseJson = (bytes: Uint8Array, file: string): unknown => {
      try {
        return JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new InputError(base + file, 'not valid JSON');
      }
    };
    const manifest = checkManifest(parseJson(await fetchBytes(MANIFEST_FILE), MANIFEST_FILE), base + MANIFEST_FILE);
    const config = parseCodecConfig(parseJson(await fetchBytes(manifest.config), manifest.config), base + manifest.config);
    checkManifestAgainstConfig(manifest, config, base + MANIFEST_FILE);
    const codebook = manifest.codebook === undefined ? null : { path: manifest.codebook, data: await fetchBytes(manifest.codebook) };

    if (options.webgpu === true && !hasWebGpu()) throw new InputError('webgpu', 'this browser has no WebGPU (navigator.gpu is missing)');
    const webgpu = options.webgpu === true || (options.webgpu === 'auto' && hasWebGpu());
    const ort = await loadOrt(webgpu);
    if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
    if (options.threads !== undefined) ort.env.wasm.numThreads = options.threads;
    const graphs = new GraphLoader(ort, base, manifest, codebook, fetchBytes, webgpu ? 'webgpu' : 'wasm');
    return new WebCodec(manifest, config, graphs.backend, graphs, new WebWindowModel(graphs), options);
  }

  get modelId(): string {
    return this.manifest.modelId;
  }
  get modelHash(): string {
    return this.manifest.modelHash;
  }
  get sampleRate(): number {
    return this.manifest.sampleRate;
  }
  get frameRate(): number {
    return this.manifest.frameRate;
  }
  get hop(): number {
    return this.manifest.hop;
  }
  get codebookSize(): number {
    return this.manifest.codebookSize;
  }

  /** Mono samples at codec.sampleRate → tokens (resample first: an AudioContext at that rate does it). */
  async encode(samples: Float32Array, options: { source?: string } = {}): Promise<CodecTokens> {
    const source = options.source ?? 'samples';
    checkSamples(samples, source);
    return this.core.encode(memoryReader(samples), samples.length);
  }

  /** Tokens → audio at codec.sampleRate, trimmed to the original length. */
  async decode(tokens: CodecTokens, options: { source?: string } = {}): Promise<Float32Array> {
    return this.core.decodeAll(tokens, options.source ?? 'tokens');
  }

  /** A frame-by-frame encoder for live input (causal models): push samples, get each token as its frame completes. */
  async createFrameEncoder(options: { maxFramesPerStep?: number } = {}): Promise<FrameEncoder> {
    const session = await this.graphs.stepGraph(STREAM_ENCODER_ROLE, STREAM_NAMES.encoderInput, STREAM_NAMES.encoderOutput);
    return new FrameEncoder(session, this.hop, positive(options.maxFramesPerStep ?? 16, 'maxFramesPerStep'));
  }

  /** A frame-by-frame decoder: push tokens, get a hop of samples for each. */
  async createFrameDecoder(options: { maxFramesPerStep?: number } = {}): Promise<FrameDecoder> {
    const session = await this.graphs.stepGraph(STREAM_DECODER_ROLE, STREAM_NAMES.decoderInput, STREAM_NAMES.decoderOutput);
    return new FrameDecoder(session, this.hop, this.codebookSize, positive(options.maxFramesPerStep ?? 50, 'maxFramesPerStep'));
  }

  async dispose(): Promise<void> {
    await this.graphs.release();
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InputError(name, `must be a positive integer, got ${value}`);
  return value;
}

/** Opens each graph of the directory once, on first use, with the codebook as its external data. */
class GraphLoader {
  private readonly sessions = new Map<string, Promise<Session>>();
  private readonly steps = new Map<string, Promise<StreamingSession>>();

  constructor(
    readonly ort: OrtModule,
    private readonly base: string,
    private readonly manifest: ModelManifest,
    private readonly codebook: { path: string; data: Uint8Array } | null,
    private readonly fetchBytes: (file: string) => Promise<Uint8Array>,
    readonly backend: 'wasm' | 'webgpu',
  ) {}

  session(role: string): Promise<Session> {
    let session = this.sessions.get(role);
    if (session === undefined) {
      session = this.open(role);
      this.sessions.set(role, session);
    }
    return session;
  }

  stepGraph(role: string, input: string, output: string): Promise<StreamingSession> {
    let step = this.steps.get(role);
    if (step === undefined) {
      step = this.session(role).then((session) => StreamingSession.open(session, this.ort, this.base + (this.manifest.graphs[role] ?? role), input, output));
      this.steps.set(role, step);
    }
    return step;
  }

  private async open(role: string): Promise<Session> {
    const file = this.manifest.graphs[role];
    if (file === undefined) {
      throw new InputError(this.base, `model ${this.manifest.modelId} has no ${role} graph${role.endsWith('Stream') ? ': only a causal model streams' : ''}`);
    }
    const bytes = await this.fetchBytes(file);
    const options: OrtWeb.InferenceSession.SessionOptions = {
      executionProviders: [this.backend],
      graphOptimizationLevel: 'all',
      ...(this.codebook === null ? {} : { externalData: [this.codebook] }),
    };
    try {
      return await this.ort.InferenceSession.create(bytes, options);
    } catch (error) {
      throw new InputError(this.base + file, `not an ONNX graph onnxruntime-web can load (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  async release(): Promise<void> {
    for (const session of this.sessions.values()) await (await session.catch(() => null))?.release();
    this.sessions.clear();
    this.steps.clear();
  }
}

/** The whole-file graphs as a WindowModel. */
class WebWindowModel implements WindowModel {
  constructor(private readonly graphs: GraphLoader) {}

  async encodeWindow(audio: Float32Array): Promise<Uint32Array> {
    const session = await this.graphs.session('encoder');
    const result = await session.run({ [ENCODER_INPUT]: new this.graphs.ort.Tensor('float32', audio, [1, 1, audio.length]) });
    return Uint32Array.from(result[ENCODER_OUTPUT]!.data as BigInt64Array, (t) => Number(t));
  }

  async decodeWindow(codes: Uint32Array): Promise<Float32Array> {
    const session = await this.graphs.session('decoder');
    const ids = BigInt64Array.from(codes, (c) => BigInt(c));
    const result = await session.run({ [DECODER_INPUT]: new this.graphs.ort.Tensor('int64', ids, [1, codes.length]) });
    return result[DECODER_OUTPUT]!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.graphs.release();
  }
}
